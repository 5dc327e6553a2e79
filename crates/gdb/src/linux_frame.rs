//! Where a Linux x86-64 system call's user registers live at each stop
//! (the vCPU's registers at the entry, the kernel's `struct pt_regs` after
//! the call into the C handler), the [`Cpu`] lent to the engine over them,
//! the emulation of the instructions the backend steps over by writing
//! registers, and the `pt_regs->ax` write watchpoints that trap returns.

use std::time::{Duration, Instant};

use vstrace_core::cpu::CpuError;
use vstrace_core::gdbregs::decode_le;
use vstrace_core::mem::VirtMem;
use vstrace_core::{Cpu, Reg, Regs};

use crate::discover::{AfterCall, AfterCallStep};
use crate::error::BackendError;
use crate::target::Target;

/// Linux's (and Windows x64's) 64-bit user code and data selectors.
pub(crate) const USER_CS64: u16 = 0x33;
pub(crate) const USER_SS: u16 = 0x2b;

/// Where the registers of an event live while the vCPU is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frame {
    /// In the vCPU's registers (the `sysretq`/`iretq` paths).
    Live,
    /// In the registers, at the `syscall` entry: the snapshot's rip and
    /// rflags live in rcx and r11.
    Entry,
    /// As [`Frame::Entry`], just after the entry saved rsp to this per-cpu
    /// slot (a watchpoint stop): the kernel takes the user rsp from there.
    EntrySaved(u64),
    /// In the kernel's `struct pt_regs` at this address (after the call to
    /// the C handler): the kernel restores the user registers from it.
    PtRegs(u64),
}

/// Offsets of the general registers in x86-64 Linux's `struct pt_regs`.
pub(crate) fn pt_regs_offset(reg: Reg) -> u64 {
    8 * match reg {
        Reg::R15 => 0,
        Reg::R14 => 1,
        Reg::R13 => 2,
        Reg::R12 => 3,
        Reg::Rbp => 4,
        Reg::Rbx => 5,
        Reg::R11 => 6,
        Reg::R10 => 7,
        Reg::R9 => 8,
        Reg::R8 => 9,
        Reg::Rax => 10,
        Reg::Rcx => 11,
        Reg::Rdx => 12,
        Reg::Rsi => 13,
        Reg::Rdi => 14,
        Reg::Rip => 16,
        Reg::Rflags => 18,
        Reg::Rsp => 19,
    }
}

/// Where orig_ax (the system call number) is in pt_regs.
pub(crate) const PT_REGS_ORIG_AX: usize = 15 * 8;
/// `struct pt_regs` size: 15 registers, orig_ax and the 5-slot iret frame.
pub(crate) const PT_REGS_SIZE: usize = 21 * 8;
/// Where the iret frame (ip, cs, flags, sp, ss) starts in pt_regs.
const PT_REGS_FRAME: u64 = 16 * 8;

/// The exit snapshot at the return from the C syscall handler: the user
/// registers as the kernel will restore them, from `pt_regs` (read at the
/// kernel's rsp), shaped like an `iretq` stop (rsp at the frame, which the
/// engine reads for the return address and stack) with the user GS base.
pub fn pt_regs_snapshot(r: &Regs, pt: &[u8; PT_REGS_SIZE]) -> Regs {
    let q = |off: u64| decode_le(&pt[off as usize..off as usize + 8]);
    let mut u = r.clone();
    for reg in Reg::ALL {
        if !matches!(reg, Reg::Rsp | Reg::Rip) {
            u.set(reg, q(pt_regs_offset(reg)));
        }
    }
    u.set(Reg::Rsp, r.rsp().wrapping_add(PT_REGS_FRAME));
    u.cs = q(PT_REGS_FRAME + 8) as u16;
    u.ss = q(PT_REGS_FRAME + 32) as u16;
    std::mem::swap(&mut u.gs_base, &mut u.k_gs_base);
    u
}

/// A stopped vCPU lent to the engine for one event.
pub(crate) struct GdbCpu<'t> {
    /// The VM, for register and memory accesses.
    pub(crate) target: &'t mut Target,
    /// The event's snapshot (the user-mode view).
    pub(crate) regs: Regs,
    /// Where writes to the snapshot must go for the kernel to see them.
    pub(crate) frame: Frame,
}

impl Cpu for GdbCpu<'_> {
    fn regs(&self) -> &Regs {
        &self.regs
    }

    fn write_reg(&mut self, reg: Reg, value: u64) -> Result<(), CpuError> {
        let failed = |e: String| CpuError::WriteFailed { reg, reason: e };
        // The kernel reads the registers after we resume: a write here has
        // pre-trap semantics.
        match self.frame {
            Frame::PtRegs(at) => {
                let a = at.wrapping_add(pt_regs_offset(reg));
                self.target
                    .write_virt(a, &value.to_le_bytes())
                    .map_err(|e| failed(e.to_string()))?;
            }
            Frame::Entry | Frame::EntrySaved(_) | Frame::Live => {
                let entry = self.frame != Frame::Live;
                let (target_reg, raw) = match (entry, reg) {
                    (true, Reg::Rip) => (Reg::Rcx, value.wrapping_add(2)),
                    (true, Reg::Rflags) => (Reg::R11, value),
                    _ => (reg, value),
                };
                if let (Frame::EntrySaved(slot), Reg::Rsp) = (self.frame, reg) {
                    self.target
                        .write_virt(slot, &value.to_le_bytes())
                        .map_err(|e| failed(e.to_string()))?;
                }
                self.target
                    .write_reg(target_reg, raw)
                    .map_err(|e| failed(e.to_string()))?;
                if target_reg != reg {
                    self.regs.set(target_reg, raw);
                }
            }
        }
        self.regs.set(reg, value);
        Ok(())
    }

    fn mem(&mut self) -> &mut dyn VirtMem {
        self.target
    }
}

/// Performs the instruction at an [`AfterCall`] breakpoint (see
/// [`AfterCallStep`]) so the vCPU resumes past it.
pub(crate) fn emulate_after_call(
    t: &mut Target,
    r: &Regs,
    ac: &AfterCall,
) -> Result<(), BackendError> {
    let (len, write) = match ac.step {
        AfterCallStep::Skip(n) => (u64::from(n), None),
        AfterCallStep::MovRcx(d) => {
            let mut v = [0u8; 8];
            t.read_virt(r.rsp().wrapping_add(u64::from(d)), &mut v)
                .map_err(|e| BackendError::Discovery(format!("reading pt_regs: {e}")))?;
            (5, Some((Reg::Rcx, u64::from_le_bytes(v))))
        }
        AfterCallStep::TestAl => (2, Some((Reg::Rflags, test_al_flags(r)))),
    };
    if let Some((reg, v)) = write {
        t.write_reg(reg, v)?;
    }
    t.write_reg(Reg::Rip, r.rip().wrapping_add(len))?;
    t.invalidate();
    Ok(())
}

/// rflags after `test %al, %al`: CF = OF = 0, ZF, SF and PF from al (AF is
/// undefined and kept).
fn test_al_flags(r: &Regs) -> u64 {
    const CF: u64 = 1;
    const PF: u64 = 1 << 2;
    const ZF: u64 = 1 << 6;
    const SF: u64 = 1 << 7;
    const OF: u64 = 1 << 11;
    let al = (r.rax() & 0xff) as u8;
    let mut f = r.get(Reg::Rflags) & !(CF | PF | ZF | SF | OF);
    if al == 0 {
        f |= ZF;
    }
    if al & 0x80 != 0 {
        f |= SF;
    }
    if al.count_ones() % 2 == 0 {
        f |= PF;
    }
    f
}

/// The event snapshot at the entry breakpoint: the user-mode state just
/// before the `syscall` instruction (rip = rcx - 2, rflags = r11).
pub fn entry_snapshot(mut r: Regs) -> Regs {
    let user_rip = r.get(Reg::Rcx).wrapping_sub(2);
    let user_flags = r.get(Reg::R11);
    r.set(Reg::Rip, user_rip);
    r.set(Reg::Rflags, user_flags);
    r.cs = USER_CS64;
    r.ss = USER_SS;
    r
}

pub(crate) fn is_user_addr(a: u64) -> bool {
    a < 0x0000_8000_0000_0000
}

/// The state just after the `swapgs` at `r.rip()`: what the plugin sees at
/// the `sysretq`/`iretq` that follows (user GS base loaded).
pub fn after_swapgs(r: &Regs) -> Regs {
    let mut u = r.clone();
    std::mem::swap(&mut u.gs_base, &mut u.k_gs_base);
    u.set(Reg::Rip, r.rip().wrapping_add(3));
    u
}

/// Most pt_regs->ax watchpoints in place at once (calls in flight); past
/// it a call's return is not trapped.
const MAX_AX_WATCHES: usize = 64;

/// Linux x86-64 `exit` and `exit_group`: they never return, so their
/// pt_regs->ax is not watched (the stack may be freed and reused).
const NR_EXIT: u64 = 60;
const NR_EXIT_GROUP: u64 = 231;

/// A pt_regs->ax watch older than this is handed to the after-call
/// breakpoint.
const AX_WATCH_AGE: Duration = Duration::from_secs(30);

/// At a watchpoint entry stop: the address of the call's pt_regs->ax, from
/// the kernel stack top in the per-cpu slot `top` (pt_regs sits right
/// below it).
fn ax_slot(t: &mut Target, top: u64) -> Option<u64> {
    let r = t.regs().ok()?;
    let mut b = [0u8; 8];
    // At this stop the kernel GS base is active.
    t.read_virt(r.gs_base.wrapping_add(top), &mut b).ok()?;
    Some(
        u64::from_le_bytes(b)
            .wrapping_sub(PT_REGS_SIZE as u64)
            .wrapping_add(pt_regs_offset(Reg::Rax)),
    )
}

/// The returns trapped by write watchpoints on each call's `pt_regs->ax`
/// (armed at its entry, removed at its return), and the calls whose return
/// falls to the after-call breakpoint instead.
#[derive(Debug, Default)]
pub(crate) struct AxWatches {
    /// The ax slots watched, one per call in flight, with the call's
    /// number (what the kernel puts in pt_regs->orig_ax) and when the
    /// watch was set.
    slots: Vec<(u64, u64, Instant)>,
    /// The ax slots of calls whose return needs the after-call breakpoint
    /// (skipped calls, watches expired): it is in place while this is not
    /// empty.
    bp_calls: Vec<u64>,
}

impl AxWatches {
    /// Whether `slot` is watched.
    pub(crate) fn watches(&self, slot: u64) -> bool {
        self.slots.iter().any(|(s, _, _)| *s == slot)
    }

    /// Whether some call's return needs the after-call breakpoint.
    pub(crate) fn needs_breakpoint(&self) -> bool {
        !self.bp_calls.is_empty()
    }

    /// Removes the watch at `slot`, if set; returns its call's number.
    pub(crate) fn unwatch(
        &mut self,
        t: &mut Target,
        slot: u64,
    ) -> Result<Option<u64>, BackendError> {
        let Some(i) = self.slots.iter().position(|(a, _, _)| *a == slot) else {
            return Ok(None);
        };
        let (_, nr, _) = self.slots.remove(i);
        t.remove_bp(slot)?;
        Ok(Some(nr))
    }

    /// At the after-call breakpoint, rsp at pt_regs: the call is done, its
    /// watch and its claim on the breakpoint dropped.
    pub(crate) fn returned(&mut self, t: &mut Target, pt_regs: u64) -> Result<(), BackendError> {
        let slot = pt_regs.wrapping_add(pt_regs_offset(Reg::Rax));
        self.unwatch(t, slot)?;
        if let Some(i) = self.bp_calls.iter().position(|&a| a == slot) {
            self.bp_calls.remove(i);
        }
        Ok(())
    }

    /// At a watchpoint entry stop (`top`: the per-cpu slot of the kernel
    /// stack top): watches the call's return when `wants` (a skipped call,
    /// number -1, gets no return value written: the breakpoint takes it),
    /// and hands calls in flight for long to the breakpoint (their task
    /// may have died in the call, leaving a watch on a stack that gets
    /// reused).
    pub(crate) fn at_entry(
        &mut self,
        t: &mut Target,
        top: u64,
        wants: bool,
    ) -> Result<(), BackendError> {
        if wants {
            if t.regs()?.rax() == u64::MAX {
                if let Some(slot) = ax_slot(t, top) {
                    self.bp_calls.push(slot);
                }
            } else {
                self.watch(t, top)?;
            }
        }
        let now = Instant::now();
        while let Some(i) = self
            .slots
            .iter()
            .position(|(_, _, armed)| now.duration_since(*armed) > AX_WATCH_AGE)
        {
            let (slot, _, _) = self.slots.remove(i);
            t.remove_bp(slot)?;
            self.bp_calls.push(slot);
        }
        if self.bp_calls.len() > MAX_AX_WATCHES {
            self.bp_calls.remove(0);
        }
        Ok(())
    }

    /// At a watchpoint entry stop: watches the call's pt_regs->ax.
    fn watch(&mut self, t: &mut Target, top: u64) -> Result<(), BackendError> {
        // The registers as the kernel will see them (after any rewrite).
        let r = t.regs()?;
        if matches!(r.rax(), NR_EXIT | NR_EXIT_GROUP) || self.slots.len() >= MAX_AX_WATCHES {
            return Ok(());
        }
        let Some(slot) = ax_slot(t, top) else {
            return Ok(());
        };
        if !self.watches(slot) && t.insert_watch(slot)? {
            self.slots.push((slot, r.rax(), Instant::now()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::event::EFER_LMA;
    use vstrace_core::gdbregs::bitness;
    use vstrace_core::Bitness;

    #[test]
    fn pt_regs_exit_snapshot() {
        let mut pt = [0u8; PT_REGS_SIZE];
        let mut put = |i: usize, v: u64| pt[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        put(10, (-2i64) as u64); // ax
        put(11, 0x40_1002); // cx
        put(14, 7); // di
        put(15, 39); // orig_ax
        put(16, 0x40_1002); // ip
        put(17, 0x33); // cs
        put(18, 0x246); // flags
        put(19, 0x7ffd_0000); // sp
        put(20, 0x2b); // ss
        let mut r = Regs::default();
        r.set(Reg::Rsp, 0xffff_c900_0000_3f58);
        r.set(Reg::Rip, 0xffff_ffff_81c0_0126);
        r.set(Reg::Rax, 0x1234); // the handler's own return: not the call's
        r.gs_base = 0xffff_8880_1fc0_0000;
        r.k_gs_base = 0x7f00_0000_0000;
        let u = pt_regs_snapshot(&r, &pt);
        assert_eq!(u.rax(), (-2i64) as u64);
        assert_eq!(u.get(Reg::Rdi), 7);
        assert_eq!(u.get(Reg::Rflags), 0x246);
        assert_eq!((u.cs, u.ss), (0x33, 0x2b));
        assert_eq!(u.rsp(), 0xffff_c900_0000_3f58 + 128);
        assert_eq!(u.gs_base, 0x7f00_0000_0000);
        assert_eq!(pt_regs_offset(Reg::Rax), 80);
        assert_eq!(pt_regs_offset(Reg::Rip), 128);
    }

    #[test]
    fn after_swapgs_state() {
        let mut r = Regs::default();
        r.set(Reg::Rip, 0x1000);
        r.gs_base = 0xaaaa;
        r.k_gs_base = 0xbbbb;
        let u = after_swapgs(&r);
        assert_eq!((u.rip(), u.gs_base, u.k_gs_base), (0x1003, 0xbbbb, 0xaaaa));
    }

    #[test]
    fn entry_snapshot_is_the_user_state() {
        let mut r = Regs::default();
        r.set(Reg::Rip, 0xffff_ffff_8160_0000);
        r.set(Reg::Rcx, 0x40_1002);
        r.set(Reg::R11, 0x246);
        r.set(Reg::Rax, 39);
        r.cs = 0x10;
        let u = entry_snapshot(r);
        assert_eq!(u.rip(), 0x40_1000);
        assert_eq!(u.get(Reg::Rflags), 0x246);
        assert_eq!(u.cpl(), 3);
        assert_eq!(u.rax(), 39);
        assert_eq!(bitness(EFER_LMA, u.cs), Bitness::B64);
        assert_eq!(bitness(EFER_LMA, 0x23), Bitness::B32);
        assert_eq!(bitness(0, 0x33), Bitness::B32);
    }

    #[test]
    fn test_al_sets_the_flags() {
        let mut r = Regs::default();
        r.set(Reg::Rflags, 0x246 | 1 | (1 << 11)); // ZF PF IF, CF OF set
        r.set(Reg::Rax, 0x100); // al = 0
        assert_eq!(test_al_flags(&r), 0x246);
        r.set(Reg::Rax, 0x81); // SF, even parity
        assert_eq!(test_al_flags(&r), 0x202 | 0x80 | 0x4);
        r.set(Reg::Rax, 1); // odd parity
        assert_eq!(test_al_flags(&r), 0x202);
    }
}
