//! Signal deliveries in the trace: the return into a handler ends the call
//! it interrupted and is a record of its own (see
//! [`vstrace_core::OsLayer::signal_delivery`]).

use vstrace_core::{ArgValue, Bitness, Cpu, Event, Mechanism, Os, Reg};

use super::state::read;
use super::{cr3_key, ThreadKey, Tracker};
use crate::record::{CallState, Record};

/// The registers a call's end may change (its result, its arguments)
/// that a delivery's frame saves.
const SAVED_REGS: [Reg; 10] = [
    Reg::Rax,
    Reg::Rdi,
    Reg::Rsi,
    Reg::Rdx,
    Reg::R10,
    Reg::R8,
    Reg::R9,
    Reg::Rbx,
    Reg::Rcx,
    Reg::Rbp,
];

/// Most handler entries remembered while waiting for their thread's next
/// call (the set is cleared when full).
const MAX_FRESH_SIGNALS: usize = 256;

impl Tracker {
    /// A return to user mode entering a signal handler (the OS layer
    /// recognises it; the engine's callers see it as an exit with no call
    /// of its own): the call it interrupted, if any, ends with what the
    /// kernel saved for it, and the delivery is a record of its own.
    /// `None` when the return is no delivery; `Some(record)` (the
    /// interrupted call's record, or the signal's) when it is.
    pub(super) fn signal(
        &self,
        event: &Event,
        cpu: &mut dyn Cpu,
        now: u64,
        ip: u64,
        sp: u64,
    ) -> Option<Option<Record>> {
        if !self.pair_by_thread || event.mechanism != Mechanism::Iret {
            return None;
        }
        let d = self.os.signal_delivery(event, ip, sp, cpu)?;
        let cr3 = cr3_key(event.cr3);
        // The same frame again before any call: an interrupt return into
        // the handler, not a delivery. The frame is known by its stack
        // pointer, not the ip: an interrupt after the handler's first
        // instructions (which leave the stack and the argument registers
        // as the kernel set them) returns to a later ip in the same frame.
        {
            let mut f = self.forks();
            if !f.fresh_signals.insert((cr3, sp)) {
                return Some(None);
            }
            if f.fresh_signals.len() > MAX_FRESH_SIGNALS {
                f.fresh_signals.clear();
            }
            self.forks_changed(&f);
        }
        let traced = match &self.scope {
            None => true,
            Some(s) => read(s).spaces.get(&cr3) == Some(&true),
        };
        if !traced {
            return Some(None);
        }
        // The call in flight in the interrupted context: it returned to
        // the resumed ip, or is rewound onto its trap instruction (2 bytes
        // before its return ip) to run again.
        let key = ThreadKey {
            cr3,
            sp: d.resume_sp,
        };
        let thread = self.thread_at(key, event, cpu);
        // A call whose return ip the trap did not tell (sysenter) matches
        // any ip: it was rewound if the resumed ip is a trap instruction
        // (the vDSO's `int $0x80` right before the sysenter landing pad).
        let found = match self.take(key, d.resume_ip, thread) {
            Some(p) => {
                let rewound = p.ret_ip.is_none() && at_trap(cpu, d.resume_ip);
                Some((p, rewound))
            }
            None => self
                .take(key, d.resume_ip.wrapping_add(2), thread)
                .map(|p| (p, true)),
        };
        let mut first = None;
        if let Some((p, restarted)) = found {
            // -EINTR in the saved context: the kernel turned a restart code
            // into EINTR because a handler runs. The call then ends with
            // that code, as a tracer in the guest sees it at the call's
            // exit (out-arguments are not decoded, as for any error).
            // (The layer sign-extends a 32-bit frame's eax.)
            let eintr = d.saved_ret as i64 == -4;
            let shown = if restarted || eintr {
                self.os.interrupted_return(&p.info, &p.raw, restarted)
            } else {
                None
            };
            let mut ev = event.clone();
            let ret = shown.as_ref().map_or(d.saved_ret, |(v, _, _)| *v as u64);
            ev.regs.set(Reg::Rax, ret);
            // The call's end is seen through the saved context: hooks read
            // its result there, and what they (or an injection) write goes
            // to the frame, which the handler's sigreturn loads.
            let mut saved = vstrace_core::cpu::SnapshotCpu {
                regs: ev.regs.clone(),
                mem: cpu.mem(),
            };
            let mut p = p;
            p.delivered = true;
            first = self.finish_call(p, &ev, &mut saved, now, d.resume_sp, false);
            let written = saved.regs;
            for reg in SAVED_REGS {
                let v = written.get(reg);
                if v == ev.regs.get(reg) {
                    continue;
                }
                if let Some((addr, width)) = self.os.saved_reg(&d, reg) {
                    let _ = cpu.mem().write_virt(addr, &v.to_le_bytes()[..width.min(8)]);
                }
            }
            if let (Some((_, text, name)), Some(r)) = (shown, first.as_mut()) {
                r.ret_text = Some(text);
                r.errno = Some(name);
            }
        }
        let who = self.os.attribute(event, cpu.mem());
        if self.by_proc {
            let wanted = who.as_ref().is_some_and(|w| {
                self.pid_traced(w.pid) || self.comms.iter().any(|c| w.comm.as_deref() == Some(c))
            });
            if !wanted {
                return Some(first);
            }
        }
        let mut sig = self.instant_record(event, now, who);
        sig.abi = std::borrow::Cow::Borrowed(abi_tag(event.bitness, self.os_kind));
        sig.nr = u64::from(d.signo);
        sig.name = d.name.into();
        let mut info = d.info;
        if self.names.pid_ns {
            self.os
                .name_siginfo(event, cpu.mem(), &self.names, &mut info);
        } else if self.record_names {
            // Read for the recording only (see `record_names`).
            let mut scratch = info.clone();
            self.os
                .name_siginfo(event, cpu.mem(), &super::ALL_NAMES, &mut scratch);
        }
        // The typed value is the siginfo as read (pid namespaces name
        // pids in the text only).
        sig.args = vec![ArgValue {
            name: "siginfo".into(),
            raw: d.info_addr,
            text: Some(info),
            value: Some(d.info_value),
        }];
        sig.state = CallState::Signal;
        match first {
            Some(call) => {
                self.push_extra(sig);
                Some(Some(call))
            }
            None => Some(Some(sig)),
        }
    }
}

/// The ABI tag records carry for a trap of this bitness (signal records,
/// which have no call to take it from).
fn abi_tag(b: Bitness, os: Os) -> &'static str {
    match (os, b) {
        (Os::Windows, Bitness::B64) => "nt64",
        (Os::Windows, Bitness::B32) => "nt32",
        (_, Bitness::B64) => "x86_64",
        (_, Bitness::B32) => "i386",
    }
}

/// Whether the instruction at user address `ip` is a system-call trap
/// (`int 0x80`, `int 0x2e`, `syscall`, `sysenter`): where the kernel
/// rewinds a call it restarts.
fn at_trap(cpu: &mut dyn Cpu, ip: u64) -> bool {
    let mut b = [0u8; 2];
    cpu.mem().read_virt(ip, &mut b).is_ok()
        && matches!(b, [0xcd, 0x80] | [0xcd, 0x2e] | [0x0f, 0x05] | [0x0f, 0x34])
}
