//! vstrace-launch: everything vstrace needs from QEMU on the host side.
//!
//! - [`launch`]: find a recent enough `qemu-system-x86_64` and a guest kernel,
//!   build the command line (TCG, serial ports, plugin, gdb stub) and supervise
//!   the run ([`launch::GuestRun`]).
//! - [`guest`]: the default guest, built in Rust: a `newc` cpio writer and an
//!   [`guest::InitramfsBuilder`] (busybox, the user's command, host binaries
//!   with their shared libraries).
//! - [`kernel`]: turn a bzImage (`vmlinuz`) into its ELF `vmlinux` for
//!   BTF/ksymtab based process attribution.
//! - [`arch`]: x86_64 or i386 guest, told from the kernel image.
//! - [`cache`]: the on-disk cache directory shared with `scripts/setup-host.sh`.
//! - [`usercmd`]: a user's own QEMU command line (`vstrace qemu`).
//! - [`wire`]: the framing between a listening plugin and `vstrace attach --plugin`.
//! - [`status`]: the typed status lines the plugin inside QEMU writes for
//!   the launcher (output errors, warnings).

#![forbid(unsafe_code)]

pub mod arch;
pub mod cache;
pub mod guest;
pub mod kernel;
pub mod launch;
pub mod status;
pub mod usercmd;
pub mod wire;

pub use arch::{arch_of_image, GuestArch};
pub use guest::{CpioWriter, GuestError, InitramfsBuilder};
pub use kernel::{extract_vmlinux, extract_vmlinux_cached, KernelError};
pub use launch::{
    cached_newer_kernels, find_kernel, is_multiboot, BootProtocol, GuestConfig, GuestOutcome,
    GuestRun, LaunchError, Machine, PluginSpec, Qemu, QemuVersion, SerialPort,
};
