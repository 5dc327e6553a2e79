//! The register snapshot as QEMU's gdb interfaces name it (the plugin
//! register API and the gdbstub share the x86_64 gdb XML,
//! `i386-64bit.xml`): which named register feeds which field of a
//! [`crate::Regs`], how their raw bytes decode, and how the code bitness
//! follows from them. Used by both event sources that talk to QEMU.
//!
//! Names: rax..r15, rip, eflags, cs, ss, ds, es, fs, gs, fs_base, gs_base,
//! k_gs_base, cr0, cr2, cr3, cr4, cr8, efer, then x87/SSE registers we
//! don't read. qemu-system-x86_64 keeps this register set when it runs a
//! 32-bit (i386) kernel, so the same names serve both guests.

use crate::event::EFER_LMA;
use crate::{Bitness, Reg, Regs};

/// Slot of CS (the selector, zero-extended). Snapshot slots `0..18` are
/// `Reg as usize` (rax..r15, rip, rflags); from this one on they hold the
/// system state the engine needs.
pub const SLOT_CS: usize = 18;
/// Slot of SS (the selector, zero-extended).
pub const SLOT_SS: usize = 19;
/// Slot of the FS segment base (a guest virtual address).
pub const SLOT_FS_BASE: usize = 20;
/// Slot of the GS segment base (a guest virtual address).
pub const SLOT_GS_BASE: usize = 21;
/// Slot of MSR_KERNEL_GS_BASE (the value `swapgs` exchanges with GS base).
pub const SLOT_K_GS_BASE: usize = 22;
/// Slot of CR0 (paging enable, protection).
pub const SLOT_CR0: usize = 23;
/// Slot of CR3 (page-table root and PCID).
pub const SLOT_CR3: usize = 24;
/// Slot of CR4 (PAE, PSE, LA57 and other paging controls).
pub const SLOT_CR4: usize = 25;
/// Slot of IA32_EFER (LMA: long mode active).
pub const SLOT_EFER: usize = 26;
/// Number of slots.
pub const NSLOTS: usize = 27;

/// gdb name of each slot.
pub const SLOT_NAMES: [&str; NSLOTS] = [
    "rax",
    "rbx",
    "rcx",
    "rdx",
    "rsi",
    "rdi",
    "rbp",
    "rsp",
    "r8",
    "r9",
    "r10",
    "r11",
    "r12",
    "r13",
    "r14",
    "r15",
    "rip",
    "eflags",
    "cs",
    "ss",
    "fs_base",
    "gs_base",
    "k_gs_base",
    "cr0",
    "cr3",
    "cr4",
    "efer",
];

/// The slot a gdb register name fills, if any.
pub fn slot_for_name(name: &str) -> Option<usize> {
    SLOT_NAMES.iter().position(|n| *n == name)
}

/// Decodes a register value as QEMU's gdbstub returns it: little-endian,
/// 4 or 8 bytes (segment selectors and eflags are 4). Longer values are
/// truncated to their low 8 bytes; an empty one reads 0.
pub fn decode_le(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(b)
}

/// Stores a decoded value in its snapshot slot.
pub fn store(regs: &mut Regs, slot: usize, v: u64) {
    match slot {
        s if s < Reg::ALL.len() => regs.gpr[s] = v,
        SLOT_CS => regs.cs = v as u16,
        SLOT_SS => regs.ss = v as u16,
        SLOT_FS_BASE => regs.fs_base = v,
        SLOT_GS_BASE => regs.gs_base = v,
        SLOT_K_GS_BASE => regs.k_gs_base = v,
        SLOT_CR0 => regs.cr0 = v,
        SLOT_CR3 => regs.cr3 = v,
        SLOT_CR4 => regs.cr4 = v,
        SLOT_EFER => regs.efer = v,
        _ => {}
    }
}

/// The 32-bit user code selector of both Linux (`__USER32_CS`, GDT index 4)
/// and Windows x64 (`KGDT64_R3_CMCODE`), RPL 3.
pub const COMPAT_USER_CS: u16 = 0x23;

/// Bitness of the code running with selector `cs`.
///
/// QEMU's plugin API exposes the CS selector but not the cached descriptor
/// (CS.L / CS.D), so in long mode we go by the selector convention that
/// SYSRET imposes: SYSRET loads CS from `STAR[63:48]` (+16 for 64-bit
/// returns), so an OS keeps its 32-bit user code segment exactly 16 bytes
/// (2 GDT slots) below its 64-bit one. Linux (0x23 / 0x33) and Windows x64
/// (0x23 / 0x33) both use GDT index 4 for compat code and index 6 for
/// 64-bit code. So: EFER.LMA clear -> 32-bit; in long mode the selector with
/// index 4 (any RPL, TI=GDT) is compat (32-bit), everything else is 64-bit.
/// Kernel code (0x10 on both) is 64-bit.
pub fn bitness(efer: u64, cs: u16) -> Bitness {
    if efer & EFER_LMA == 0 {
        return Bitness::B32;
    }
    if cs & !3 == COMPAT_USER_CS & !3 {
        Bitness::B32
    } else {
        Bitness::B64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_slots() {
        assert_eq!(slot_for_name("rax"), Some(0));
        assert_eq!(slot_for_name("r10"), Some(Reg::R10 as usize));
        assert_eq!(slot_for_name("eflags"), Some(Reg::Rflags as usize));
        assert_eq!(slot_for_name("rip"), Some(Reg::Rip as usize));
        assert_eq!(slot_for_name("efer"), Some(SLOT_EFER));
        assert_eq!(slot_for_name("k_gs_base"), Some(SLOT_K_GS_BASE));
        assert_eq!(slot_for_name("xmm0"), None);
        assert_eq!(slot_for_name("cr2"), None);
        // Our slot order for GPRs is Reg's order, and the gdb names agree
        // with Reg's own names (except eflags/rflags).
        for r in Reg::ALL {
            if r != Reg::Rflags {
                assert_eq!(SLOT_NAMES[r as usize], r.name(true));
            }
        }
    }

    #[test]
    fn decode_and_store() {
        assert_eq!(decode_le(&[0x33, 0, 0, 0]), 0x33);
        assert_eq!(decode_le(&[1, 2, 3, 4, 5, 6, 7, 8]), 0x0807_0605_0403_0201);
        assert_eq!(
            decode_le(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
            0x0807_0605_0403_0201
        );
        assert_eq!(decode_le(&[]), 0);
        let mut r = Regs::default();
        store(&mut r, SLOT_CS, 0x1_0033);
        store(&mut r, SLOT_CR3, 0x1234_5000);
        store(&mut r, Reg::R10 as usize, 7);
        store(&mut r, 99, 1);
        assert_eq!(r.cs, 0x33);
        assert_eq!(r.cr3, 0x1234_5000);
        assert_eq!(r.get(Reg::R10), 7);
    }

    #[test]
    fn bitness_convention() {
        let lma = EFER_LMA | 0x500;
        assert_eq!(bitness(lma, 0x33), Bitness::B64);
        assert_eq!(bitness(lma, 0x23), Bitness::B32);
        assert_eq!(bitness(lma, 0x20), Bitness::B32);
        assert_eq!(bitness(lma, 0x10), Bitness::B64);
        assert_eq!(bitness(0, 0x33), Bitness::B32);
        assert_eq!(bitness(0, 0x1b), Bitness::B32);
        // An LDT selector with index 4 is not the GDT compat slot.
        assert_eq!(bitness(lma, 0x27), Bitness::B64);
        // A legacy (non-long-mode) i386 kernel under qemu-system-x86_64:
        // EFER.LMA is clear, so its user (0x73) and kernel (0x60) code and
        // even selector 0x33 are all 32-bit.
        for cs in [0x73, 0x60, 0x33, 0x23] {
            assert_eq!(bitness(0x800, cs), Bitness::B32);
        }
    }
}
