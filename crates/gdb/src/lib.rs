//! vstrace's gdb remote-protocol backend: traces a running QEMU VM (TCG or
//! KVM) through its gdbstub, with watchpoints or breakpoints on the
//! kernel's system call entry and breakpoints on its return paths, found
//! automatically.

#![forbid(unsafe_code)]

pub mod backend;
pub mod ram;
pub mod rsp;

pub use backend::{
    AfterCall, AfterCallStep, AttachOptions, Backend, BackendError, Discovery, EntryDiscovery,
    EntrySave, EntryTrap, ExitTrap, ResumeBy, RunStats,
};
pub use rsp::{BpKind, Client, RspError, StopKind, StopReply};
