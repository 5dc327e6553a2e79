//! vstrace-windows: the Windows OS layer.
//!
//! - [`versions`]: system service numbers to names for every Windows
//!   release of the j00ru/windows-syscalls table (nt and win32k, x64 and
//!   x86), generated into `data/` by `scripts/gen-windows-tables.py`.
//! - [`proto`]: prototypes of the most used Nt* services (argument names,
//!   C types, direction, decoder kind).
//! - [`decode`]: argument decoding at enter and exit over guest memory.
//! - [`structs`]: UNICODE_STRING, OBJECT_ATTRIBUTES, IO_STATUS_BLOCK,
//!   CLIENT_ID, LARGE_INTEGER readers in 32- and 64-bit layouts.
//! - [`access`], [`flags`], [`ntstatus`]: symbolic names of access masks,
//!   flag words, enumerations and NTSTATUS codes.
//! - [`profile`]: which process/thread made a call (KPCR walk with
//!   per-build offsets, or the TEB's ClientId).
//! - [`shadow`]: the kernel's own address space under KVA shadow.
//! - [`pe`], [`code`], [`ntdll`], [`kernel_offsets`]: names and offsets
//!   from the guest itself, for any build: service numbers from its
//!   ntdll's stubs, structure offsets from its kernel's exported
//!   accessors (both PE images read from guest memory, code decoded with
//!   iced-x86); [`isf`]: offsets from a Volatility 3 symbol table.
//! - [`modules`]: a process's modules from its PEB loader list, and the
//!   calling module and function for `--caller`.
//! - [`layer`]: [`WindowsLayer`], the [`vstrace_core::OsLayer`] the engine
//!   traces Windows guests with.
//! - [`hooks`]: ready-made Rust hooks (the seed's NtOpenFile/NtCreateFile
//!   `{object_name, access}` hook).

#![forbid(unsafe_code)]

pub mod access;
pub mod code;
pub mod decode;
pub mod flags;
pub mod hooks;
pub mod isf;
pub mod kernel_offsets;
pub mod kuser;
pub mod layer;
pub mod learn;
pub mod modules;
pub mod ntdll;
pub mod ntstatus;
pub mod pe;
pub mod profile;
pub mod proto;
pub mod shadow;
pub mod structs;
pub mod versions;

pub use access::{access_mask_rights, ObjectType};
pub use decode::{decode_enter, decode_exit, format_call, ArgValue, DecodeOptions};
pub use layer::WindowsLayer;
pub use ntstatus::{format_status, nt_success, ntstatus_name, Severity};
pub use profile::{current_thread_info, profile_for, teb_client_id, KernelProfile, ThreadInfo};
pub use proto::{prototype, prototypes, ArgKind, ArgSpec, Dir, Prototype, Render};
pub use structs::{object_attributes_name, DecodeError, Limits};
pub use versions::{
    lookup, version_by_name, versions, Arch, ServiceTable, VersionError, WindowsVersion,
};
