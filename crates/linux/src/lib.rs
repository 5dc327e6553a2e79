//! vstrace-linux: the Linux OS layer for x86 guests.
//!
//! - [`syscall`] / [`by_name`] / [`all`]: the x86-64 and i386 syscall
//!   tables (generated from the kernel's `syscall_*.tbl` by
//!   `scripts/gen-linux-tables.py`) with a prototype for every call.
//! - [`decode_enter`] / [`decode_exit`] / [`format_return`]: strace-like
//!   text for arguments and return values, read from hostile guest memory
//!   through [`vstrace_core::VirtMem`] without ever panicking.
//! - [`classes`] / [`class_members`]: strace's `%file`, `%process`, ...
//!   filter classes.
//! - [`errno_name`], [`errno_message`], [`signal_name`]: constants.
//! - [`layer`]: [`LinuxLayer`], the [`vstrace_core::OsLayer`] the engine
//!   traces Linux guests with.
//! - [`signal`]: signal deliveries read from the frame the kernel builds
//!   on the user stack, and strace's siginfo text.
//! - [`structs`]: structures a call points to (time values, limits,
//!   poll/select sets, signal stacks...) and return-value details.
//! - [`profile`]: kernel profiles from the guest's vmlinux (BTF + exported
//!   symbols) and the current process at a trap.
//! - [`subcall`]: i386's socketcall and ipc split into the sub-calls
//!   strace shows.
//! - [`tracer`]: what the strace of the traced kernel's width prints
//!   differently (its `time_t`, the kernel's `optmem_max`).
//! - [`stack`], [`unwind`], [`elfmod`]: `-k`'s user stacks, unwound from
//!   outside with each module's `.eh_frame` (guest memory or a host file
//!   with the same build id), named as strace names frames; [`testelf`]:
//!   a synthetic module for their tests and fuzz seeds.

#![forbid(unsafe_code)]

pub mod consts;
pub mod decode;
pub mod elfmod;
pub mod files;
pub mod fmt;
pub mod layer;
pub mod modmap;
mod naming;
pub mod pathtrace;
pub mod pidns;
pub mod profile;
pub mod proto;
pub mod signal;
pub mod stack;
pub mod structs;
pub mod subcall;
pub mod tasks;
pub mod testelf;
pub mod tracer;
pub mod untouched;
pub mod unwind;
pub mod vma;
pub mod xlat;

pub use consts::{errno_by_name, errno_message, errno_name, signal_by_name, signal_name};
pub use decode::{
    clipped_errno, decode_enter, decode_enter_into, decode_exit, error_of, exit_decodes_nothing,
    format_call, format_return, format_return_into, invalid_nr, ArgValue, DecodeOptions,
    ReturnValue,
};
pub use layer::LinuxLayer;
pub use proto::{
    all, by_name, class_members, class_members_abi, classes, data_errors, syscall, ArgDesc,
    ArgType, Classes, Dir, LenFrom, LinuxAbi, RetKind, SyscallDesc,
};
