//! vstrace core: everything above the event source and below the OS layers.
//!
//! An event source (QEMU plugin, gdb remote, replay) produces [`event::Event`]s
//! and gives access to the trapping vCPU through [`cpu::Cpu`]. The
//! [`syscall::Syscall`] object reads and writes arguments through the
//! [`abi`] table, guest memory goes through [`mem`] (page walks) and
//! [`read`] (bounded typed readers), and [`hooks`] dispatches user callbacks.
//! [`os`] is the seam to the OS layers: the [`os::OsLayer`] trait and the
//! call, process and argument types it speaks in; [`value`] the typed
//! argument values decoders build and records carry.

#![forbid(unsafe_code)]

pub mod abi;
pub mod cpu;
pub mod decimal;
pub mod event;
pub mod fasthash;
pub mod gdbregs;
pub mod hooks;
pub mod kernel_pages;
pub mod mem;
pub mod os;
pub mod read;
pub mod regs;
pub mod spare;
pub mod style;
pub mod syscall;
pub mod testmem;
pub mod value;
pub mod zerofill;

pub use abi::{ArgLocation, Os};
pub use cpu::{Cpu, ProbedSignal};
pub use event::{Bitness, Direction, Event, Mechanism};
pub use mem::{MemError, Space, VirtMem};
pub use os::{
    ArgValue, CallArgs, CallHints, CallInfo, Caller, ConstStyle, DecodeOptions, FdPath, KeptNames,
    NameOptions, OsLayer, ProcInfo, SignalDelivery, StackFrame,
};
pub use regs::{Reg, Regs};
pub use syscall::{Modification, Syscall, SyscallError};
pub use value::{StructBuilder, Value};
