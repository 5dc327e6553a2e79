//! What a call's record is built from at its two ends: its raw
//! arguments, read once at the enter, and where its exit returns to in
//! user mode (the key that pairs the exit with its enter); the ip a call
//! reports, where user space ends for its decoders, and the call a
//! multiplexer makes, read from the caller's registers and memory.

use vstrace_core::mem::user_space_end;
use vstrace_core::read;
use vstrace_core::zerofill::{ZeroFilled, ZeroPages};
use vstrace_core::{Bitness, CallInfo, Cpu, Event, Mechanism, Os, OsLayer, Reg, Syscall, VirtMem};

/// Raw arguments kept inline: every Linux call has at most 6.
const RAW_INLINE: usize = 6;

/// A call's raw arguments, read once at enter: inline up to
/// [`RAW_INLINE`] (no allocation per call), on the heap beyond (NT calls
/// take up to 17).
#[derive(Clone, Default)]
pub(crate) struct RawArgs {
    n: usize,
    inline: [u64; RAW_INLINE],
    heap: Vec<u64>,
}

impl RawArgs {
    /// Arguments 1..=`nargs`, each from `arg(i)`.
    pub(crate) fn read(nargs: usize, mut arg: impl FnMut(usize) -> u64) -> RawArgs {
        let mut r = RawArgs {
            n: nargs,
            inline: [0; RAW_INLINE],
            heap: Vec::new(),
        };
        if nargs <= RAW_INLINE {
            for (i, v) in r.inline[..nargs].iter_mut().enumerate() {
                *v = arg(i + 1);
            }
        } else {
            r.heap = (1..=nargs).map(arg).collect();
        }
        r
    }

    /// The arguments in `args` (a split call's, already read).
    pub(crate) fn from_slice(args: &[u64]) -> RawArgs {
        RawArgs::read(args.len(), |i| args[i - 1])
    }
}

impl std::ops::Deref for RawArgs {
    type Target = [u64];
    fn deref(&self) -> &[u64] {
        if self.n <= RAW_INLINE {
            &self.inline[..self.n]
        } else {
            &self.heap
        }
    }
}

impl std::ops::DerefMut for RawArgs {
    fn deref_mut(&mut self) -> &mut [u64] {
        if self.n <= RAW_INLINE {
            &mut self.inline[..self.n]
        } else {
            &mut self.heap
        }
    }
}

/// The OS layer's answer for the trap `event`'s never-touched pages
/// (see [`OsLayer::untouched_zero_end`]).
pub(super) struct LayerPages<'a> {
    os: &'a dyn OsLayer,
    event: &'a Event,
}

impl ZeroPages for LayerPages<'_> {
    fn zero_end(&self, mem: &mut dyn VirtMem, addr: u64) -> Option<u64> {
        self.os.untouched_zero_end(self.event, mem, addr)
    }
}

/// A call's user memory as its decoders read it.
pub(super) type UserMem<'a> = ZeroFilled<'a, LayerPages<'a>>;

/// The user part of `mem`, below `end` ([`Tracker::user_end`]), read
/// as is: for writes (pokes), where a page never touched stays a fault.
pub(super) fn user(mem: &mut dyn VirtMem, end: u64) -> UserMem<'_> {
    ZeroFilled::new(mem, end, None)
}

/// `v` as a stack pointer of code of bitness `b`.
/// The width of the code that made the trap `event`: its bitness, but
/// for an `int 0x80` from 64-bit code, whose event has the i386 ABI's
/// width (see [`Mechanism::call_bitness`]) while its stack and ip are
/// 64-bit (the return, an `iret` to that code, is paired by them).
pub(super) fn code_bitness(event: &Event) -> Bitness {
    let long_code = vstrace_core::gdbregs::bitness(event.regs.efer, event.regs.cs) == Bitness::B64;
    if event.mechanism == Mechanism::Int80 && long_code {
        Bitness::B64
    } else {
        event.bitness
    }
}

/// The number of the call entered at `event`: rax, its low half for a
/// 32-bit caller.
pub(super) fn call_nr(event: &Event) -> u64 {
    match event.bitness {
        Bitness::B32 => event.regs.rax() & 0xffff_ffff,
        Bitness::B64 => event.regs.rax(),
    }
}

/// Where the call entered at `event` returns: after the 2-byte trap
/// instruction, except for sysenter, whose return address the kernel
/// chooses, and the 32-bit vDSO's fast paths (sysenter, compat
/// syscall), which return to a landing pad the kernel picks
/// (do_fast_syscall_32), not to the instruction after the trap.
pub(super) fn ret_ip_of(event: &Event) -> Option<u64> {
    match (event.mechanism, event.bitness) {
        (Mechanism::Sysenter, _) | (Mechanism::Syscall, Bitness::B32) => None,
        _ => Some(sp_of(event.regs.rip().wrapping_add(2), code_bitness(event))),
    }
}

pub(super) fn sp_of(v: u64, b: Bitness) -> u64 {
    match b {
        Bitness::B32 => v & 0xffff_ffff,
        Bitness::B64 => v,
    }
}

/// Where an exit returns to in user mode: (ip, sp).
pub(super) fn return_target(event: &Event, cpu: &mut dyn Cpu) -> Option<(u64, u64)> {
    let r = &event.regs;
    match event.mechanism {
        Mechanism::Sysret => {
            // sysretq returns to rcx with the user rsp already loaded;
            // sysretl (compat) to ecx/esp.
            // The source reports the bitness of the code returned to.
            if event.bitness == Bitness::B64 {
                Some((r.get(Reg::Rcx), r.rsp()))
            } else {
                Some((r.get(Reg::Rcx) & 0xffff_ffff, r.rsp() & 0xffff_ffff))
            }
        }
        Mechanism::Sysexit => Some((r.get(Reg::Rdx) & 0xffff_ffff, r.get(Reg::Rcx) & 0xffff_ffff)),
        Mechanism::Iret => {
            // The frame's slot size is the kernel's (iretq in long mode),
            // whatever mode the user code returned to runs in.
            let sp = r.rsp();
            let mem = cpu.mem();
            let wide = r.efer & vstrace_core::event::EFER_LMA != 0;
            if wide {
                let ip = read::read_u64(mem, sp).ok()?;
                let usp = read::read_u64(mem, sp.wrapping_add(24)).ok()?;
                Some((sp_of(ip, event.bitness), sp_of(usp, event.bitness)))
            } else {
                let ip = read::read_u32(mem, sp).ok()? as u64;
                let usp = read::read_u32(mem, sp.wrapping_add(12)).ok()? as u64;
                Some((ip, usp))
            }
        }
        _ => None,
    }
}

/// The user-mode side of a trap, as the tracker sees it.
impl super::Tracker {
    /// The call the multiplexer `info` makes (see
    /// [`OsLayer::split_call`]), from its register arguments and the
    /// caller's memory below the end of user space.
    pub(super) fn split_call(
        &self,
        event: &Event,
        info: &CallInfo,
        cpu: &mut dyn Cpu,
    ) -> Option<(CallInfo, Vec<u64>)> {
        let mut sc = Syscall::new(event.clone(), self.os_kind, cpu);
        let nargs = info.nargs.min(sc.max_args().unwrap_or(0));
        let regs: Vec<u64> = (1..=nargs).map(|i| sc.arg(i).unwrap_or(0)).collect();
        self.os
            .split_call(info, &regs, &mut self.user(event, sc.cpu().mem()))
    }

    /// The user ip a call reports (`-i`): after the trap instruction;
    /// for Linux's 32-bit vDSO fast paths (`sysenter`, compat `syscall`)
    /// the kernel's landing pad after the `int $0x80` that follows the
    /// trap, as the kernel (and so strace) reports it.
    pub(super) fn user_ip(&self, event: &Event) -> u64 {
        let fast32 = matches!(
            (event.mechanism, event.bitness),
            (Mechanism::Sysenter, _) | (Mechanism::Syscall, Bitness::B32)
        );
        let len = if fast32 && self.os_kind == Os::Linux {
            4
        } else {
            2
        };
        sp_of(event.regs.rip().wrapping_add(len), code_bitness(event))
    }

    /// The user part of `mem` for the trap `event` (below
    /// [`Tracker::user_end`]), as the call's decoders read it: a page the
    /// calling process never touched reads as zeros where the OS layer
    /// says it would (strace's own reads fault such pages in), every
    /// other fault stands.
    pub(super) fn user<'a>(&'a self, event: &'a Event, mem: &'a mut dyn VirtMem) -> UserMem<'a> {
        let pages = LayerPages {
            os: &*self.os,
            event,
        };
        ZeroFilled::new(mem, self.user_end(event), Some(pages))
    }

    /// Where user space ends for the trap `event`: decoders of its call's
    /// arguments read below it only (see [`vstrace_core::mem::UserOnly`]).
    pub(super) fn user_end(&self, event: &Event) -> u64 {
        user_space_end(&event.regs, self.os.user_space_end_32())
    }
}
