//! `-k`: a user stack unwound from outside the guest, one frame at a
//! time, with the call frame information of each module's `.eh_frame`
//! ([`crate::elfmod`], parsed with `gimli`), and frame pointers where a
//! module has no entry for the address. 64-bit processes unwind with
//! 8-byte words and x86-64's DWARF registers, 32-bit ones (compat or on
//! an i386 kernel) with 4-byte words and i386's (esp 4, ebp 5, eip 8).
//!
//! The stack is hostile memory: the walk stops after [`MAX_FRAMES`]
//! frames, when the stack pointer does not move up, when it leaves the
//! [`MAX_STACK_BYTES`] above where it started, at a zero return address,
//! and at any unreadable word or rule it does not know. It never panics.

use gimli::{
    BaseAddresses, CfaRule, EhFrameOffset, EndianSlice, EvaluationResult, LittleEndian, Location,
    RegisterRule, UnwindContext, UnwindSection, X86, X86_64,
};
use vstrace_core::VirtMem;

use crate::elfmod::Module;

/// Most frames of one stack (strace's limit).
pub const MAX_FRAMES: usize = 256;
/// Most bytes of stack walked above the call's stack pointer.
pub const MAX_STACK_BYTES: u64 = 8 << 20;

/// The instruction set of the unwound process: its word size and its
/// DWARF register numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Arch {
    /// 64-bit code: 8-byte words, x86-64 registers.
    #[default]
    X86_64,
    /// 32-bit code: 4-byte words, i386 registers.
    I386,
}

impl Arch {
    /// Bytes of a stack word (and of a return address).
    pub fn word(self) -> u64 {
        match self {
            Arch::X86_64 => 8,
            Arch::I386 => 4,
        }
    }

    /// The DWARF numbers of (return address, stack pointer, frame
    /// pointer).
    fn dwarf(self) -> (gimli::Register, gimli::Register, gimli::Register) {
        match self {
            Arch::X86_64 => (X86_64::RA, X86_64::RSP, X86_64::RBP),
            Arch::I386 => (X86::RA, X86::ESP, X86::EBP),
        }
    }
}

/// Reads one stack word of `arch` at `va`.
pub fn read_word(mem: &mut dyn VirtMem, arch: Arch, va: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    let n = arch.word() as usize;
    mem.read_virt(va, &mut b[..n]).ok()?;
    Some(u64::from_le_bytes(b))
}

/// The registers an unwind step needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Regs {
    /// Instruction pointer: the trap's return address in the first
    /// frame, a return address in the others.
    pub ip: u64,
    /// Stack pointer.
    pub sp: u64,
    /// Frame pointer.
    pub bp: u64,
    /// The process's instruction set.
    pub arch: Arch,
}

/// Reusable state of the call frame interpreter.
pub struct Unwinder {
    ctx: Box<UnwindContext<usize>>,
}

impl Default for Unwinder {
    fn default() -> Self {
        Unwinder {
            ctx: Box::new(UnwindContext::new()),
        }
    }
}

impl std::fmt::Debug for Unwinder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Unwinder")
    }
}

/// One unwind step's result: the caller's registers, and whether the
/// frame stepped over was a signal trampoline (the kernel's
/// `rt_sigframe`), whose "caller" is the interrupted code: its ip is
/// where it was interrupted, not a return address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The caller's (or the interrupted code's) registers.
    pub regs: Regs,
    /// The next frame's ip is exact (it follows a signal frame).
    pub exact: bool,
}

/// Most operations one CFI expression may run (they are tiny: glibc's
/// signal trampoline and PLT entries take a handful).
const MAX_EXPR_STEPS: u32 = 256;

impl Unwinder {
    /// The caller's registers of the frame `r` (`exact`: its ip is not a
    /// return address: the innermost frame, or the one a signal
    /// interrupted), in the module `module` loaded with bias `bias`;
    /// `None` at the end of the stack or when it cannot be unwound
    /// further. `top` is the first frame's stack pointer.
    pub fn step(
        &mut self,
        mem: &mut dyn VirtMem,
        module: Option<(&Module, u64)>,
        r: Regs,
        exact: bool,
        top: u64,
    ) -> Option<Step> {
        // A return address is after the call: look up the call itself.
        let pc = if exact { r.ip } else { r.ip.wrapping_sub(1) };
        let fde = module.and_then(|(m, bias)| {
            let eh = m.eh.as_ref()?;
            Some((eh, bias, eh.fde_offset(pc.wrapping_sub(bias))?))
        });
        let next = match fde {
            Some((eh, bias, off)) => self.cfi_step(mem, eh, bias, off, pc, r)?,
            None => Step {
                regs: frame_pointer_step(mem, r)?,
                exact: false,
            },
        };
        let n = next.regs;
        let moved = n.sp > r.sp && n.sp.wrapping_sub(top) <= MAX_STACK_BYTES;
        (moved && n.ip != 0).then_some(next)
    }

    fn cfi_step(
        &mut self,
        mem: &mut dyn VirtMem,
        eh: &crate::elfmod::EhFrame,
        bias: u64,
        off: usize,
        pc: u64,
        r: Regs,
    ) -> Option<Step> {
        let mut sec = gimli::EhFrame::new(&eh.bytes, LittleEndian);
        if eh.address_size != 0 {
            sec.set_address_size(eh.address_size);
        }
        let arch = r.arch;
        let (ra, _, bp_reg) = arch.dwarf();
        let bases = BaseAddresses::default()
            .set_eh_frame(eh.frame.wrapping_add(bias))
            .set_eh_frame_hdr(eh.hdr.wrapping_add(bias));
        let fde = sec
            .fde_from_offset(&bases, EhFrameOffset(off), gimli::EhFrame::cie_from_offset)
            .ok()?;
        let enc = fde.cie().encoding();
        let row = fde
            .unwind_info_for_address(&sec, &bases, &mut self.ctx, pc)
            .ok()?;
        let cfa = match row.cfa() {
            CfaRule::RegisterAndOffset { register, offset } => {
                reg(r, *register)?.wrapping_add(*offset as u64)
            }
            // DW_CFA_def_cfa_expression (signal trampolines, PLT entries):
            // the expression's value is the CFA.
            CfaRule::Expression(e) => eval(mem, e.get(&sec).ok()?, enc, r, None)?,
        };
        let mut restore = |rule: RegisterRule<usize>, same: Option<u64>| -> Option<u64> {
            match rule {
                RegisterRule::Offset(o) => read_word(mem, arch, cfa.wrapping_add(o as u64)),
                RegisterRule::ValOffset(o) => Some(cfa.wrapping_add(o as u64)),
                RegisterRule::Undefined | RegisterRule::SameValue => same,
                RegisterRule::Register(n) => reg(r, n),
                // DW_CFA_expression: the register is saved at the address
                // the expression computes from the CFA.
                RegisterRule::Expression(e) => {
                    let at = eval(mem, e.get(&sec).ok()?, enc, r, Some(cfa))?;
                    read_word(mem, arch, at)
                }
                RegisterRule::ValExpression(e) => eval(mem, e.get(&sec).ok()?, enc, r, Some(cfa)),
                _ => None,
            }
        };
        // An undefined return address ends the stack (`_start`).
        let ip = restore(row.register(ra), None)?;
        let bp = restore(row.register(bp_reg), Some(r.bp))?;
        let m = mask(arch);
        Some(Step {
            regs: Regs {
                ip: ip & m,
                sp: cfa & m,
                bp: bp & m,
                arch,
            },
            // glibc's `__restore_rt` has CFI with the "S" augmentation.
            exact: fde.is_signal_trampoline(),
        })
    }
}

/// The value of the DWARF expression `e` over the registers `r` and
/// memory (`init`: the CFA, pushed first for a register rule): the
/// address (or value) of its single piece. Bounded, never panics.
fn eval(
    mem: &mut dyn VirtMem,
    e: gimli::Expression<EndianSlice<'_, LittleEndian>>,
    enc: gimli::Encoding,
    r: Regs,
    init: Option<u64>,
) -> Option<u64> {
    let mut ev = e.evaluation(enc);
    ev.set_max_iterations(MAX_EXPR_STEPS);
    if let Some(v) = init {
        ev.set_initial_value(v);
    }
    let mut res = ev.evaluate().ok()?;
    loop {
        res = match res {
            EvaluationResult::Complete => break,
            EvaluationResult::RequiresMemory { address, size, .. } => {
                let mut b = [0u8; 8];
                let n = usize::from(size).min(8);
                mem.read_virt(address, &mut b[..n]).ok()?;
                ev.resume_with_memory(gimli::Value::Generic(u64::from_le_bytes(b)))
                    .ok()?
            }
            EvaluationResult::RequiresRegister { register, .. } => {
                let v = match register {
                    n if n == r.arch.dwarf().0 => r.ip,
                    n => reg(r, n)?,
                };
                ev.resume_with_register(gimli::Value::Generic(v)).ok()?
            }
            _ => return None,
        };
    }
    match ev.as_result() {
        [p] => match p.location {
            Location::Address { address } => Some(address),
            Location::Value { value } => value.to_u64(!0).ok(),
            _ => None,
        },
        _ => None,
    }
}

/// The value of DWARF register `n` in `r` (only the stack and frame
/// pointers define a CFA in practice).
fn reg(r: Regs, n: gimli::Register) -> Option<u64> {
    let (_, sp, bp) = r.arch.dwarf();
    match n {
        n if n == sp => Some(r.sp),
        n if n == bp => Some(r.bp),
        _ => None,
    }
}

/// The mask of an address of `arch` (32-bit arithmetic wraps at 4 GiB).
fn mask(arch: Arch) -> u64 {
    match arch {
        Arch::X86_64 => u64::MAX,
        Arch::I386 => u64::from(u32::MAX),
    }
}

/// One step through a frame-pointer chain: `[bp]` is the caller's bp,
/// `[bp + word]` the return address.
fn frame_pointer_step(mem: &mut dyn VirtMem, r: Regs) -> Option<Regs> {
    let w = r.arch.word();
    if r.bp < r.sp || r.bp - r.sp > MAX_STACK_BYTES || r.bp % w != 0 {
        return None;
    }
    Some(Regs {
        ip: read_word(mem, r.arch, r.bp.wrapping_add(w))?,
        sp: r.bp.wrapping_add(2 * w),
        bp: read_word(mem, r.arch, r.bp)?,
        arch: r.arch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::testmem::SparseVirt;

    #[test]
    fn frame_pointers_are_followed_and_bounded() {
        let mut m = SparseVirt::new();
        let sp = 0x7ffe_0000_0000u64;
        m.map_zeroed(sp, 0x1000);
        // Frame at sp+0x100: caller bp sp+0x200, return 0x401234.
        m.map(sp + 0x100, &(sp + 0x200).to_le_bytes());
        m.map(sp + 0x108, &0x40_1234u64.to_le_bytes());
        // The next frame points back down: the walk must stop.
        m.map(sp + 0x200, &(sp + 0x100).to_le_bytes());
        m.map(sp + 0x208, &0x40_5678u64.to_le_bytes());
        let mut u = Unwinder::default();
        let r = Regs {
            ip: 0x40_1000,
            sp,
            bp: sp + 0x100,
            arch: Arch::X86_64,
        };
        let n = u.step(&mut m, None, r, true, sp).unwrap().regs;
        assert_eq!(n.ip, 0x40_1234);
        assert_eq!(n.sp, sp + 0x110);
        let n2 = u.step(&mut m, None, n, false, sp).unwrap().regs;
        assert_eq!(n2.ip, 0x40_5678);
        // bp now below sp: no further step.
        assert!(u.step(&mut m, None, n2, false, sp).is_none());
        // Unmapped stack: none.
        let bad = Regs { bp: 0x1000, ..r };
        assert!(u.step(&mut m, None, bad, true, sp).is_none());
    }

    #[test]
    fn a_32_bit_frame_pointer_chain_uses_4_byte_words() {
        let mut m = SparseVirt::new();
        let sp = 0xffd0_0000u64;
        m.map_zeroed(sp, 0x1000);
        m.map(sp + 0x100, &0xffd0_0200u32.to_le_bytes());
        m.map(sp + 0x104, &0x0804_1234u32.to_le_bytes());
        let r = Regs {
            ip: 0x0804_1000,
            sp,
            bp: sp + 0x100,
            arch: Arch::I386,
        };
        let n = Unwinder::default()
            .step(&mut m, None, r, true, sp)
            .unwrap()
            .regs;
        assert_eq!((n.ip, n.sp, n.bp), (0x0804_1234, sp + 0x108, 0xffd0_0200));
        // A misaligned frame pointer ends the walk.
        let bad = Regs {
            bp: sp + 0x102,
            ..r
        };
        assert!(Unwinder::default()
            .step(&mut m, None, bad, true, sp)
            .is_none());
    }
}
