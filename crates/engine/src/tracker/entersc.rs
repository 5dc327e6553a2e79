//! The enter's [`Syscall`], made only when something acts through one: a
//! hook, an injection (fault, pokes, delay, signal), a path rewrite,
//! `-P`'s path reads, a recording's reads of the call's targets. A plain
//! traced call's enter reads its arguments and guest memory straight
//! from the vCPU: no copy of the event, no empty write log and hook data
//! made and dropped, on the path every traced call takes.

use vstrace_core::cpu::Cpu;
use vstrace_core::os::ProcInfo;
use vstrace_core::syscall::read_arg;
use vstrace_core::{Event, Modification, Os, Syscall, SyscallError};

/// A call's enter, as a [`Syscall`] once one is asked for.
pub(super) struct EnterCpu<'e, 'c> {
    event: &'e Event,
    os: Os,
    state: State<'c>,
}

enum State<'c> {
    /// No Syscall yet: reads go to the vCPU.
    Plain(&'c mut dyn Cpu),
    /// Made: every read and write goes through it (boxed: made only
    /// for the calls something acts on, and the plain state stays small).
    Made(Box<Syscall<'c>>),
    /// Only inside [`EnterCpu::sc`], while the Syscall is being made.
    Making,
}

impl<'e, 'c> EnterCpu<'e, 'c> {
    pub(super) fn new(event: &'e Event, os: Os, cpu: &'c mut dyn Cpu) -> Self {
        EnterCpu {
            event,
            os,
            state: State::Plain(cpu),
        }
    }

    /// The call's Syscall, made now if it was not yet.
    pub(super) fn sc(&mut self) -> &mut Syscall<'c> {
        if let State::Plain(_) = self.state {
            if let State::Plain(cpu) = std::mem::replace(&mut self.state, State::Making) {
                self.state = State::Made(Box::new(Syscall::new(self.event.clone(), self.os, cpu)));
            }
        }
        match &mut self.state {
            State::Made(sc) => sc,
            State::Plain(_) | State::Making => unreachable!("the Syscall was made just above"),
        }
    }

    /// The vCPU (through the Syscall once there is one).
    pub(super) fn cpu(&mut self) -> &mut dyn Cpu {
        match &mut self.state {
            State::Plain(cpu) => &mut **cpu,
            State::Made(sc) => sc.cpu(),
            State::Making => unreachable!("only inside EnterCpu::sc"),
        }
    }

    /// 1-based argument `index`, as [`Syscall::arg`] reads it.
    pub(super) fn arg(&mut self, index: usize) -> Result<u64, SyscallError> {
        match &mut self.state {
            State::Made(sc) => sc.arg(index),
            State::Plain(cpu) => read_arg(self.os, self.event, &mut **cpu, index),
            State::Making => unreachable!("only inside EnterCpu::sc"),
        }
    }

    /// How many arguments the call's convention has (0 without one).
    pub(super) fn max_args(&self) -> usize {
        vstrace_core::abi::row(self.os, self.event.mechanism, self.event.bitness)
            .map(|r| r.max_args())
            .unwrap_or(0)
    }

    fn made(&mut self) -> Option<&mut Syscall<'c>> {
        match &mut self.state {
            State::Made(sc) => Some(&mut **sc),
            State::Plain(_) | State::Making => None,
        }
    }

    /// What a hook asked the call to return instead of running.
    pub(super) fn take_skip(&mut self) -> Option<i64> {
        self.made().and_then(Syscall::take_skip)
    }

    /// The signal a hook asked the caller to get.
    pub(super) fn take_signal(&mut self) -> Option<u32> {
        self.made().and_then(Syscall::take_signal)
    }

    /// The writes made through the Syscall, in order.
    pub(super) fn take_modifications(&mut self) -> Vec<Modification> {
        self.made()
            .map(|sc| std::mem::take(&mut sc.modifications))
            .unwrap_or_default()
    }

    /// What the hooks set for the record.
    pub(super) fn take_hook(&mut self) -> serde_json::Map<String, serde_json::Value> {
        self.made()
            .map(|sc| std::mem::take(&mut sc.hook))
            .unwrap_or_default()
    }

    /// The caller, when it was read for the hooks.
    pub(super) fn take_process(&mut self) -> Option<ProcInfo> {
        self.made().and_then(|sc| sc.process.take())
    }
}

#[cfg(test)]
mod tests {
    use vstrace_core::cpu::SnapshotCpu;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::{Bitness, Mechanism, Reg, Regs};

    use super::*;

    fn enter(regs: &Regs) -> Event {
        Event::new(0, Mechanism::Sysenter, Bitness::B32, regs.clone())
    }

    /// Arguments read alike before and after the Syscall is made, a
    /// stack-passed one included (i386 sysenter's sixth, at ebp).
    #[test]
    fn reads_the_same_arguments_plain_and_made() {
        let mut regs = Regs::default();
        regs.set(Reg::Rbx, 3);
        regs.set(Reg::Rbp, 0x1000);
        let mut mem = SparseVirt::new();
        mem.map(0x1000, &7u32.to_le_bytes());
        let event = enter(&regs);
        let mut cpu = SnapshotCpu {
            regs,
            mem: &mut mem,
        };
        let mut e = EnterCpu::new(&event, Os::Linux, &mut cpu);
        let plain: Vec<u64> = (1..=6).map(|i| e.arg(i).unwrap_or(u64::MAX)).collect();
        assert_eq!(e.take_modifications(), Vec::new());
        assert_eq!(e.take_skip(), None);
        e.sc().skip(-1).expect("skip at enter");
        let made: Vec<u64> = (1..=6).map(|i| e.arg(i).unwrap_or(u64::MAX)).collect();
        assert_eq!(plain, made);
        assert_eq!((plain[0], plain[5]), (3, 7));
        assert_eq!(e.take_skip(), Some(-1));
        assert_eq!(e.max_args(), 6);
    }
}
