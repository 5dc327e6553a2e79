//! vstrace's gdb remote-protocol backend: traces a running QEMU VM (TCG or
//! KVM) through its gdbstub, with watchpoints or breakpoints on the
//! kernel's system call entry and breakpoints on its return paths, found
//! automatically.
//!
//! Layout: [`rsp`] speaks the protocol; [`target`] is the VM behind it
//! (registers, memory, breakpoints); [`discover`] reads kernel code for
//! the traps; [`backend`] attaches and finds them in the running VM;
//! `linux_frame` knows where a call's user registers are at each trap;
//! `trace` is the loop that turns stops into events; [`options`] holds
//! the session's choices.

#![forbid(unsafe_code)]

pub mod backend;
pub mod discover;
mod error;
mod linux_frame;
pub mod options;
pub mod ram;
pub mod rsp;
pub mod target;
mod trace;

pub use backend::Backend;
pub use discover::{AfterCall, AfterCallStep, Discovery, EntrySave};
pub use error::BackendError;
pub use linux_frame::{after_swapgs, entry_snapshot, pt_regs_snapshot};
pub use options::{AttachOptions, EntryDiscovery, EntryTrap, ExitTrap, ResumeBy, RunStats};
pub use rsp::{BpKind, Client, RspError, StopKind, StopReply};
pub use target::{qemu_x86_64_regs, Layout, Target};
