//! What a call's record is built from at its two ends: its raw
//! arguments, read once at the enter, and where its exit returns to in
//! user mode (the key that pairs the exit with its enter).

use vstrace_core::mem::UserOnly;
use vstrace_core::read;
use vstrace_core::{Bitness, Cpu, Event, Mechanism, Reg, VirtMem};

/// Raw arguments kept inline: every Linux call has at most 6.
const RAW_INLINE: usize = 6;

/// A call's raw arguments, read once at enter: inline up to
/// [`RAW_INLINE`] (no allocation per call), on the heap beyond (NT calls
/// take up to 17).
#[derive(Clone)]
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

/// The user part of `mem`, below `end` ([`Tracker::user_end`]).
pub(super) fn user(mem: &mut dyn VirtMem, end: u64) -> UserOnly<'_> {
    UserOnly { mem, end }
}

/// `v` as a stack pointer of code of bitness `b`.
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
