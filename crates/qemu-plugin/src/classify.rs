//! Translation-time classification of trap instructions from their bytes.
//!
//! QEMU hands the plugin each translated instruction's bytes, already cut
//! at instruction boundaries by its decoder. A REX byte (0x40..0x4f) can
//! therefore only appear inside one instruction's bytes when it was decoded
//! as a prefix (64-bit code): in 32-bit code 0x48 is `dec eax`, a separate
//! instruction. So the bytes alone tell the operand size.

use vstrace_core::Mechanism;

/// A trap instruction, with what its encoding says about operand size.
/// Packed with the instruction address into the exec callback userdata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// `0f 05`
    Syscall = 1,
    /// `0f 34`
    Sysenter = 2,
    /// `cd 80`
    Int80 = 3,
    /// `cd 2e`
    Int2e = 4,
    /// `0f 07` without REX.W: returns to 32-bit compat code.
    Sysret32 = 5,
    /// `48 0f 07`: returns to 64-bit code.
    Sysret64 = 6,
    /// `0f 35` without REX.W: returns to 32-bit code.
    Sysexit32 = 7,
    /// `48 0f 35`: returns to 64-bit code.
    Sysexit64 = 8,
    /// `66 cf`: 16-bit frame.
    Iret16 = 9,
    /// `cf`: 32-bit frame (iretd; also in 64-bit code without REX.W).
    Iret32 = 10,
    /// `48 cf`: iretq, 64-bit frame.
    Iret64 = 11,
}

impl Kind {
    const ALL: [Kind; 11] = [
        Kind::Syscall,
        Kind::Sysenter,
        Kind::Int80,
        Kind::Int2e,
        Kind::Sysret32,
        Kind::Sysret64,
        Kind::Sysexit32,
        Kind::Sysexit64,
        Kind::Iret16,
        Kind::Iret32,
        Kind::Iret64,
    ];

    /// The mechanism reported in events.
    pub fn mechanism(self) -> Mechanism {
        match self {
            Kind::Syscall => Mechanism::Syscall,
            Kind::Sysenter => Mechanism::Sysenter,
            Kind::Int80 => Mechanism::Int80,
            Kind::Int2e => Mechanism::Int2e,
            Kind::Sysret32 | Kind::Sysret64 => Mechanism::Sysret,
            Kind::Sysexit32 | Kind::Sysexit64 => Mechanism::Sysexit,
            Kind::Iret16 | Kind::Iret32 | Kind::Iret64 => Mechanism::Iret,
        }
    }
}

/// Bits of a virtual address kept in the userdata: 57, enough for 5-level
/// paging; canonical addresses are sign-extended from bit 56 (with 4-level
/// paging bits 47..63 are all equal, so this is exact there too).
const VADDR_BITS: u32 = 57;
const VADDR_MASK: u64 = (1 << VADDR_BITS) - 1;

/// Packs a trap instruction's kind and virtual address into the exec
/// callback's userdata (an integer, no allocation). The address is needed
/// because under TCG `rip` read from a mid-block callback still holds the
/// start of the translation block, not the trapping instruction.
pub fn pack(kind: Kind, vaddr: u64) -> u64 {
    ((kind as u64) << VADDR_BITS) | (vaddr & VADDR_MASK)
}

/// Inverse of [`pack`]; `None` for a value we did not produce.
pub fn unpack(v: u64) -> Option<(Kind, u64)> {
    let code = v >> VADDR_BITS;
    let kind = Kind::ALL.iter().copied().find(|k| *k as u64 == code)?;
    let shift = 64 - VADDR_BITS;
    let vaddr = (((v & VADDR_MASK) << shift) as i64 >> shift) as u64;
    Some((kind, vaddr))
}

/// Guest page size: mappings of one physical page at different virtual
/// addresses keep the offset within the page.
const PAGE: u64 = 4096;

/// The trapping instruction's real address, from `insn_vaddr` (its address
/// when its translation block was made) and `rip` (read at the callback:
/// the start of the block, or an instruction of the block before the trap
/// where TCG last synced it).
///
/// QEMU's x86 system emulation makes position-independent translation
/// blocks (`CF_PCREL`), looked up by physical address: a block translated
/// for one process's mapping of a shared library runs for every other
/// process mapping the same page elsewhere (ASLR), and `insn_vaddr` is
/// then another process's address. A block spans less than a page of
/// code, so the real address is the one at most a page after `rip` with
/// `insn_vaddr`'s page offset. That candidate is used only when `is_trap`
/// (reading the guest's code there) confirms it; otherwise `insn_vaddr`,
/// which is exact for blocks that are not shared.
pub fn real_pc(insn_vaddr: u64, rip: u64, is_trap: impl FnOnce(u64) -> bool) -> u64 {
    let d = insn_vaddr.wrapping_sub(rip);
    if d < PAGE {
        return insn_vaddr;
    }
    let cand = rip.wrapping_add(d & (PAGE - 1));
    if is_trap(cand) {
        cand
    } else {
        insn_vaddr
    }
}

/// How many bytes of code to read at `addr` to classify an instruction
/// there without crossing into the next page (which may be unmapped).
pub fn code_len_at(addr: u64) -> usize {
    (PAGE - (addr & (PAGE - 1))).min(MAX_INSN as u64) as usize
}

/// Longest x86 instruction; QEMU never hands more.
pub const MAX_INSN: usize = 15;

fn is_legacy_prefix(b: u8) -> bool {
    matches!(
        b,
        0x66 | 0x67 | 0xf0 | 0xf2 | 0xf3 | 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65
    )
}

/// Classifies one instruction's bytes. `None` for everything that is not a
/// trap instruction (the overwhelmingly common case: no callback).
pub fn classify(bytes: &[u8]) -> Option<Kind> {
    let bytes = &bytes[..bytes.len().min(MAX_INSN)];
    let mut i = 0;
    let mut opsize16 = false;
    while i < bytes.len() && is_legacy_prefix(bytes[i]) {
        opsize16 |= bytes[i] == 0x66;
        i += 1;
    }
    let mut rex_w = false;
    // REX must be the last prefix; a REX followed by a legacy prefix is
    // ignored by the CPU, and QEMU's decoder would not hand us such bytes
    // for one of our opcodes anyway.
    if i < bytes.len() && (0x40..=0x4f).contains(&bytes[i]) {
        rex_w = bytes[i] & 0x08 != 0;
        i += 1;
    }
    let op = &bytes[i..];
    match op {
        [0x0f, 0x05, ..] => Some(Kind::Syscall),
        [0x0f, 0x34, ..] => Some(Kind::Sysenter),
        [0xcd, 0x80, ..] => Some(Kind::Int80),
        [0xcd, 0x2e, ..] => Some(Kind::Int2e),
        [0x0f, 0x07, ..] => Some(if rex_w {
            Kind::Sysret64
        } else {
            Kind::Sysret32
        }),
        [0x0f, 0x35, ..] => Some(if rex_w {
            Kind::Sysexit64
        } else {
            Kind::Sysexit32
        }),
        [0xcf, ..] => Some(if rex_w {
            Kind::Iret64
        } else if opsize16 {
            Kind::Iret16
        } else {
            Kind::Iret32
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enter_instructions() {
        assert_eq!(classify(&[0x0f, 0x05]), Some(Kind::Syscall));
        assert_eq!(classify(&[0x0f, 0x34]), Some(Kind::Sysenter));
        assert_eq!(classify(&[0xcd, 0x80]), Some(Kind::Int80));
        assert_eq!(classify(&[0xcd, 0x2e]), Some(Kind::Int2e));
    }

    #[test]
    fn other_interrupts_and_lookalikes_are_ignored() {
        assert_eq!(classify(&[0xcd, 0x03]), None);
        assert_eq!(classify(&[0xcc]), None);
        assert_eq!(classify(&[0x0f, 0x01, 0xf8]), None); // swapgs
        assert_eq!(classify(&[0x0f]), None);
        assert_eq!(classify(&[]), None);
        assert_eq!(classify(&[0x66, 0x66]), None);
        assert_eq!(classify(&[0x48]), None);
        assert_eq!(classify(&[0x48, 0x89, 0xc7]), None); // mov rdi, rax
                                                         // Opcode bytes appearing after another opcode are not opcodes.
        assert_eq!(classify(&[0x90, 0x0f, 0x05]), None);
    }

    #[test]
    fn exits_take_operand_size_from_rex_w() {
        assert_eq!(classify(&[0x48, 0x0f, 0x07]), Some(Kind::Sysret64));
        assert_eq!(classify(&[0x0f, 0x07]), Some(Kind::Sysret32));
        assert_eq!(classify(&[0x41, 0x0f, 0x07]), Some(Kind::Sysret32));
        assert_eq!(classify(&[0x4c, 0x0f, 0x07]), Some(Kind::Sysret64));
        assert_eq!(classify(&[0x48, 0x0f, 0x35]), Some(Kind::Sysexit64));
        assert_eq!(classify(&[0x0f, 0x35]), Some(Kind::Sysexit32));
        assert_eq!(classify(&[0x48, 0xcf]), Some(Kind::Iret64));
        assert_eq!(classify(&[0xcf]), Some(Kind::Iret32));
        assert_eq!(classify(&[0x66, 0xcf]), Some(Kind::Iret16));
        // REX.W wins over 0x66.
        assert_eq!(classify(&[0x66, 0x48, 0xcf]), Some(Kind::Iret64));
    }

    #[test]
    fn legacy_prefixes_are_skipped() {
        assert_eq!(classify(&[0x3e, 0x0f, 0x05]), Some(Kind::Syscall));
        assert_eq!(
            classify(&[0xf3, 0x2e, 0x48, 0x0f, 0x07]),
            Some(Kind::Sysret64)
        );
        assert_eq!(classify(&[0x64, 0xcd, 0x80]), Some(Kind::Int80));
    }

    #[test]
    fn overlong_input_is_bounded() {
        let mut v = vec![0x66u8; 100];
        v.extend_from_slice(&[0x0f, 0x05]);
        // More prefixes than an instruction can hold: not a syscall.
        assert_eq!(classify(&v), None);
        let mut v = vec![0x66u8; 13];
        v.extend_from_slice(&[0x0f, 0x05]);
        assert_eq!(classify(&v), Some(Kind::Syscall));
    }

    #[test]
    fn real_pc_of_blocks_shared_between_mappings() {
        let never = |_| panic!("no code read for an unshared block");
        // Unshared block: rip is the block's start (or a synced
        // instruction) a little before the trap.
        assert_eq!(real_pc(0x7f00_1234, 0x7f00_1200, never), 0x7f00_1234);
        assert_eq!(real_pc(0x7f00_1234, 0x7f00_1234, never), 0x7f00_1234);
        // A block translated for another process's mapping of the same
        // library page, 0x5000_0000 lower: the real address keeps the
        // page offset and lies just after rip.
        let other = 0x7f00_1234 - 0x5000_0000;
        assert_eq!(
            real_pc(other, 0x7f00_1200, |a| a == 0x7f00_1234),
            0x7f00_1234
        );
        // ... and the block crossing a page boundary after rip.
        assert_eq!(
            real_pc(other + 0x1000, 0x7f00_1ff0, |a| a == 0x7f00_2234),
            0x7f00_2234
        );
        // Higher too.
        assert_eq!(
            real_pc(0x7f80_0010, 0x7f00_0ff8, |a| a == 0x7f00_1010),
            0x7f00_1010
        );
        // The guest's code does not confirm it: the translation's address.
        assert_eq!(real_pc(other, 0x7f00_1200, |_| false), other);
        assert_eq!(code_len_at(0x1ffe), 2);
        assert_eq!(code_len_at(0x1000), MAX_INSN);
    }

    #[test]
    fn udata_round_trip() {
        let addrs = [
            0u64,
            0x47_cbb5,
            0x7fff_ffff_fffe,
            0xffff_ffff_b180_0227,
            0xffff_8000_0000_0000,
            0xff00_0000_0000_0000, // 5-level kernel half
            0x00ff_ffff_ffff_ffff, // 5-level user top
            0xffff_ffff,
        ];
        for k in Kind::ALL {
            for a in addrs {
                let v = pack(k, a);
                assert_ne!(v, 0);
                assert_eq!(unpack(v), Some((k, a)), "{k:?} {a:#x}");
            }
        }
        assert_eq!(unpack(0), None);
        assert_eq!(unpack(12 << 57), None);
        assert_eq!(unpack(u64::MAX), None);
        assert_eq!(Kind::Iret16.mechanism(), Mechanism::Iret);
        assert_eq!(Kind::Sysret32.mechanism(), Mechanism::Sysret);
        assert_eq!(Kind::Int2e.mechanism(), Mechanism::Int2e);
    }
}
