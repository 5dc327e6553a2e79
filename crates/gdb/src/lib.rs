//! vstrace's gdb remote-protocol backend: traces a running QEMU VM (TCG or
//! KVM) through its gdbstub, with breakpoints on the kernel's system call
//! entry and return-to-user instructions, found automatically.

pub mod backend;
pub mod rsp;

pub use backend::{AttachOptions, Backend, BackendError, Discovery, EntryDiscovery, RunStats};
pub use rsp::{BpKind, Client, RspError, StopKind, StopReply};
