//! `--inject=SET:signal=SIG`: the caller gets SIG as the call returns, as
//! with strace, which restarts its tracee from the syscall-exit stop with
//! the signal (the kernel queues it as sent by the kernel, SI_KERNEL).
//!
//! From outside the guest the caller queues the signal itself: the thread
//! is made to run `rt_tgsigqueueinfo(tgid, tid, SIG, &info)` with
//! `si_code=SI_KERNEL` (a thread may send itself any code), the siginfo
//! written below the user stack's red zone, and what that changed is put
//! back when it returns:
//! - a call that is faked anyway (`error=`/`retval=` without `syscall=`)
//!   is replaced by the queueing call at its enter: one call, any trap;
//! - a call that runs (or whose `syscall=` substitute runs) is followed
//!   by it: at the call's return (sysret, or iret for `int 0x80` and the
//!   kernel's slow returns) the return ip is rewound onto the trap
//!   instruction with the queueing call's number and arguments in the
//!   registers, and a marker in flight under the thread's key waits for
//!   that call's return to give back the call's result and arguments. A
//!   return by sysexit (the 32-bit sysenter path: the return ip and stack
//!   travel in edx and ecx, which the queueing call needs for its
//!   arguments) cannot be rewound; the call's record says so.
//!
//! The signal is delivered as the queueing call returns: the kernel
//! returns into the handler with the interrupted context saved in the
//! signal frame, so the restores go to the frame (the handler's
//! sigreturn loads them), and the stack bytes under the siginfo are left
//! alone (the frame was built over them; below the red zone they are
//! free by the ABI). The queueing call itself is never traced.

use vstrace_core::abi::{row, ArgLocation};
use vstrace_core::{Bitness, Cpu, Event, Mechanism, Modification, Os, Reg};

use super::{Pending, ThreadKey, Tracker};

/// Bytes of `siginfo_t` written for the queueing call.
const SIGINFO_LEN: u64 = 128;
/// The x86-64 ABI's red zone under the stack pointer, which leaf code
/// uses without moving it.
const RED_ZONE: u64 = 128;

/// What a call hit by `signal=` still has to do.
pub(super) enum SignalInject {
    /// Queue the signal when the call returns (it runs first).
    After(u64),
    /// The call was replaced by the queueing call: restore at its exit.
    Restore(Restore),
    /// This call in flight is the queueing call run after the call's
    /// return: restore the call's result and registers at its exit.
    Marker(Restore),
}

/// What the queueing call changed, to be put back.
pub(super) struct Restore {
    /// The call's own result (a marker's), given back as the return.
    ret: Option<u64>,
    /// Registers as they were.
    regs: Vec<(Reg, u64)>,
    /// Arguments of the queueing call written at its enter, not at the
    /// return that rewinds to it: the return instruction takes its ip
    /// (and stack) from them (sysret: rcx, r11; sysexit: edx, ecx).
    fixup: Vec<(Reg, u64)>,
    /// The stack bytes the siginfo overwrote, and where.
    mem: Option<(u64, Vec<u8>)>,
}

/// The registers of the queueing call's four arguments for a call made
/// by `mechanism` at `bitness`.
fn arg_regs(mechanism: Mechanism, bitness: Bitness) -> Option<[Reg; 4]> {
    let r = row(Os::Linux, mechanism, bitness).ok()?;
    let reg = |k| match r.location(k).ok()? {
        ArgLocation::Reg { reg, .. } => Some(reg),
        ArgLocation::Mem { .. } => None,
    };
    Some([reg(1)?, reg(2)?, reg(3)?, reg(4)?])
}

/// Where the siginfo goes: 16-byte aligned, below the red zone (64-bit
/// code) of stack pointer `sp`.
fn info_slot(sp: u64, bitness: Bitness) -> u64 {
    match bitness {
        Bitness::B64 => sp.wrapping_sub(RED_ZONE + SIGINFO_LEN) & !15,
        Bitness::B32 => (sp & 0xffff_ffff).wrapping_sub(2 * SIGINFO_LEN) & !15,
    }
}

impl Tracker {
    /// Loads the queueing call of signal `sig` by thread `tid` of
    /// process `tgid` into the registers of `cpu` (a call made by
    /// `mechanism` at `bitness` with stack pointer `sp`), its siginfo on
    /// the stack; returns what to restore, noting the change in `mods`.
    /// Arguments in `defer`'s registers are left for the enter.
    #[allow(clippy::too_many_arguments)]
    fn load_queueing_call(
        &self,
        cpu: &mut dyn Cpu,
        mechanism: Mechanism,
        bitness: Bitness,
        abi: &str,
        sp: u64,
        sig: u64,
        (tgid, tid): (u32, u32),
        defer: &[Reg],
        mods: &mut Vec<Modification>,
    ) -> Result<Restore, String> {
        let (nr, info) = self
            .os
            .self_signal(abi, sig)
            .ok_or("signal=: the guest's ABI has no rt_tgsigqueueinfo")?;
        let regs = arg_regs(mechanism, bitness).ok_or("signal=: arguments not in registers")?;
        let slot = info_slot(sp, bitness);
        let mut saved = vec![0u8; info.len()];
        cpu.mem()
            .read_virt(slot, &mut saved)
            .map_err(|e| format!("signal=: the stack below {sp:#x} does not read: {e}"))?;
        cpu.mem()
            .write_virt(slot, &info)
            .map_err(|e| format!("signal=: the stack below {sp:#x} is not writable: {e}"))?;
        let mut restore = Restore {
            ret: None,
            regs: Vec::with_capacity(5),
            fixup: Vec::new(),
            mem: Some((slot, saved)),
        };
        let values = [u64::from(tgid), u64::from(tid), sig, slot];
        for (reg, v) in std::iter::once((Reg::Rax, nr)).chain(regs.into_iter().zip(values)) {
            restore.regs.push((reg, cpu.regs().get(reg)));
            if defer.contains(&reg) {
                restore.fixup.push((reg, v));
                continue;
            }
            if let Err(e) = cpu.write_reg(reg, v) {
                self.restore_live(cpu, &restore, true);
                return Err(format!("signal=: {e}"));
            }
        }
        mods.push(Modification {
            target: "signal".into(),
            location: "rt_tgsigqueueinfo".into(),
            before: 0,
            after: sig,
            before_text: None,
            after_text: self.os.signal_name(sig),
        });
        Ok(restore)
    }

    /// Puts back what `r` saved in the registers of `cpu` and, with
    /// `stack`, the stack bytes (not at a delivery, whose frame was built
    /// over them).
    fn restore_live(&self, cpu: &mut dyn Cpu, r: &Restore, stack: bool) {
        for &(reg, v) in &r.regs {
            let _ = cpu.write_reg(reg, v);
        }
        if let Some(ret) = r.ret {
            let _ = cpu.write_reg(Reg::Rax, ret);
        }
        if let (true, Some((addr, bytes))) = (stack, &r.mem) {
            let _ = cpu.mem().write_virt(*addr, bytes);
        }
    }

    /// At the enter of a call hit by `signal=SIG` with its fault made
    /// (`faked`, no `syscall=`): replaces the call by the queueing call
    /// (caller `ids`: tgid, tid). Otherwise the signal waits for the
    /// return. Errors (the caller unknown, the stack unwritable) leave
    /// the call as it was and are told in its record.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn signal_at_enter(
        &self,
        sig: u64,
        faked: bool,
        event: &Event,
        cpu: &mut dyn Cpu,
        abi: &str,
        ids: Option<(u32, u32)>,
        mods: &mut Vec<Modification>,
    ) -> Result<SignalInject, String> {
        if !faked {
            return Ok(SignalInject::After(sig));
        }
        let ids = ids.ok_or("signal=: the calling thread is not known")?;
        let sp = event.regs.rsp();
        let mut r = self.load_queueing_call(
            cpu,
            event.mechanism,
            event.bitness,
            abi,
            sp,
            sig,
            ids,
            &[],
            mods,
        )?;
        // The number's register carries the fault's result at the exit.
        r.regs.retain(|(reg, _)| *reg != Reg::Rax);
        Ok(SignalInject::Restore(r))
    }

    /// At the exit of a call that carried `SignalInject::Restore`: the
    /// queueing call's arguments and stack back (its result is the
    /// fault's, set already). `delivered`: the exit is the signal's
    /// delivery, and `cpu` the saved context.
    pub(super) fn signal_restore(&self, cpu: &mut dyn Cpu, r: &Restore, delivered: bool) {
        self.restore_live(cpu, r, !delivered);
    }

    /// At the return of call `p` hit by `signal=SIG`: rewinds the caller
    /// onto its trap instruction with the queueing call loaded, and puts
    /// the marker that restores the call's result in flight under `key`.
    /// `ret_raw`: the return register as the call leaves it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn signal_after(
        &self,
        sig: u64,
        p: &Pending,
        event: &Event,
        cpu: &mut dyn Cpu,
        key: ThreadKey,
        delivered: bool,
        mods: &mut Vec<Modification>,
    ) -> Result<(), String> {
        if delivered {
            return Err("signal=: not injected, the call returned into a signal handler".into());
        }
        let ids = p
            .proc_info
            .as_ref()
            .map(|w| (w.pid, w.tid))
            .or_else(|| self.who(event, cpu.mem()).map(|w| (w.pid, w.tid)))
            .ok_or("signal=: the calling thread is not known")?;
        // Where the return lands, which registers the return instruction
        // takes it from (the queueing call's arguments there wait for its
        // enter), and where to move it back 2 bytes onto the trap.
        enum Rewind {
            Reg(Reg),
            Frame(u64, usize),
        }
        let (ret_ip, consumed, rewind) = match event.mechanism {
            Mechanism::Sysret => (
                event.regs.get(Reg::Rcx),
                &[Reg::Rcx, Reg::R11][..],
                Rewind::Reg(Reg::Rcx),
            ),
            Mechanism::Sysexit => (
                event.regs.get(Reg::Rdx) & 0xffff_ffff,
                &[Reg::Rcx, Reg::Rdx][..],
                Rewind::Reg(Reg::Rdx),
            ),
            Mechanism::Iret => {
                // The iret frame at the kernel's stack pointer starts with
                // the ip, in the kernel's word size.
                let at = event.regs.rsp();
                let n = if event.regs.efer & super::EFER_LMA != 0 {
                    8
                } else {
                    4
                };
                let mut b = [0u8; 8];
                cpu.mem()
                    .read_virt(at, &mut b[..n])
                    .map_err(|e| format!("signal=: the return frame does not read: {e}"))?;
                (u64::from_le_bytes(b), &[][..], Rewind::Frame(at, n))
            }
            _ => return Err("signal=: not injected, this return cannot be rewound".into()),
        };
        let trap = ret_ip.wrapping_sub(2);
        let mut insn = [0u8; 2];
        let mechanism = match cpu.mem().read_virt(trap, &mut insn) {
            Ok(()) if insn == [0x0f, 0x05] => Mechanism::Syscall,
            Ok(()) if insn == [0xcd, 0x80] => Mechanism::Int80,
            _ => return Err("signal=: no trap instruction before the return ip".into()),
        };
        let ret = cpu.regs().get(Reg::Rax);
        // The key's stack pointer is the user one the call returns to.
        let mut restore = self.load_queueing_call(
            cpu, mechanism, p.bitness, p.info.abi, key.sp, sig, ids, consumed, mods,
        )?;
        let rewound = match rewind {
            Rewind::Reg(r) => cpu.write_reg(r, trap).map_err(|e| e.to_string()),
            Rewind::Frame(at, n) => cpu
                .mem()
                .write_virt(at, &trap.to_le_bytes()[..n])
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = rewound {
            self.restore_live(cpu, &restore, true);
            return Err(format!("signal=: the return ip is not writable: {e}"));
        }
        // rax is given back as the call's result, not as it was before.
        restore.regs.retain(|(r, _)| *r != Reg::Rax);
        restore.ret = Some(ret);
        let marker = self.signal_marker(p, event, mechanism, restore);
        self.insert(key, marker);
        self.signal_markers
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// The marker in flight for the queueing call run after `p`: shown
    /// nowhere, paired as `p` was (same thread, same return ip).
    fn signal_marker(
        &self,
        p: &Pending,
        event: &Event,
        mechanism: Mechanism,
        restore: Restore,
    ) -> Box<Pending> {
        super::records::boxed_pending(Pending {
            bitness: p.bitness,
            mechanism,
            vcpu: p.vcpu,
            cr3: p.cr3,
            signal: Some(SignalInject::Marker(restore)),
            ..Pending::bare(
                super::records::BareHead::of(
                    p.info.clone(),
                    event,
                    self.order
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                    p.ret_ip,
                    p.thread,
                    p.ts,
                ),
                p.kernel32,
            )
        })
    }

    /// At a marker's exit (the queueing call returned, or the signal is
    /// being delivered with `cpu` the saved context): the call's result
    /// and registers back.
    pub(super) fn signal_marker_exit(&self, cpu: &mut dyn Cpu, r: &Restore, delivered: bool) {
        self.signal_markers
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        self.restore_live(cpu, r, !delivered);
    }

    /// Whether the enter with stack key `key` is the queueing call of a
    /// marker in flight: it is not traced, and gets the arguments its
    /// rewinding return could not carry.
    pub(super) fn queueing_enter(&self, key: ThreadKey, cpu: &mut dyn Cpu) -> bool {
        if self
            .signal_markers
            .load(std::sync::atomic::Ordering::Relaxed)
            == 0
        {
            return false;
        }
        let fixup = self.pending.find_under(key, |p| match &p.signal {
            Some(SignalInject::Marker(r)) => Some(r.fixup.clone()),
            _ => None,
        });
        let Some(fixup) = fixup else {
            return false;
        };
        for (reg, v) in fixup {
            let _ = cpu.write_reg(reg, v);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_siginfo_goes_below_the_red_zone_aligned() {
        assert_eq!(info_slot(0x7fff_1008, Bitness::B64), 0x7fff_1008 - 256 - 8);
        assert_eq!(info_slot(0x7fff_1000, Bitness::B64) % 16, 0);
        assert_eq!(info_slot(0xffff_d00c, Bitness::B32), 0xffff_d00c - 256 - 12);
    }

    #[test]
    fn the_queueing_call_takes_the_trap_s_argument_registers() {
        assert_eq!(
            arg_regs(Mechanism::Syscall, Bitness::B64),
            Some([Reg::Rdi, Reg::Rsi, Reg::Rdx, Reg::R10])
        );
        assert_eq!(
            arg_regs(Mechanism::Int80, Bitness::B32),
            Some([Reg::Rbx, Reg::Rcx, Reg::Rdx, Reg::Rsi])
        );
    }
}
