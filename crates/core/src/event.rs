//! The event model: one trap seen by an event source.

use serde::{Deserialize, Serialize};

use crate::regs::Regs;

/// Entering or leaving the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// A call entering the kernel: the arguments are readable.
    Enter,
    /// The kernel returning to user mode: the return value is readable.
    Exit,
}

/// The instruction that trapped. Enter mechanisms carry the call's
/// arguments; exit mechanisms carry its return value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    /// `syscall` (0f 05), 64-bit or compat mode.
    Syscall,
    /// `sysenter` (0f 34).
    Sysenter,
    /// `int 0x80` (cd 80), Linux i386 ABI.
    Int80,
    /// `int 0x2e` (cd 2e), Windows x86 ABI.
    Int2e,
    /// `sysret` (0f 07, with or without REX.W).
    Sysret,
    /// `sysexit` (0f 35, with or without REX.W).
    Sysexit,
    /// `iret`/`iretq` returning to user mode.
    Iret,
}

impl Mechanism {
    /// Every mechanism, in declaration order: `ALL[m.index()] == m`.
    pub const ALL: [Mechanism; 7] = [
        Mechanism::Syscall,
        Mechanism::Sysenter,
        Mechanism::Int80,
        Mechanism::Int2e,
        Mechanism::Sysret,
        Mechanism::Sysexit,
        Mechanism::Iret,
    ];

    /// Position in [`Mechanism::ALL`] (stable: trace files store it).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether this mechanism enters the kernel or returns from it.
    pub fn direction(self) -> Direction {
        match self {
            Mechanism::Syscall | Mechanism::Sysenter | Mechanism::Int80 | Mechanism::Int2e => {
                Direction::Enter
            }
            Mechanism::Sysret | Mechanism::Sysexit | Mechanism::Iret => Direction::Exit,
        }
    }
    /// The width of the call ABI this trap enters with, from code of
    /// width `code`: Linux's `int 0x80` is always the i386 ABI (the
    /// kernel's `entry_INT80_compat` takes the i386 table and the low
    /// halves of ebx..ebp), also from 64-bit code; every other trap is
    /// its code's.
    pub fn call_bitness(self, code: Bitness) -> Bitness {
        match self {
            Mechanism::Int80 => Bitness::B32,
            _ => code,
        }
    }

    /// Lower-case name used in records and trace files (`syscall`, `int80`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Syscall => "syscall",
            Mechanism::Sysenter => "sysenter",
            Mechanism::Int80 => "int80",
            Mechanism::Int2e => "int2e",
            Mechanism::Sysret => "sysret",
            Mechanism::Sysexit => "sysexit",
            Mechanism::Iret => "iret",
        }
    }
}

/// Width of the code that made the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Bitness {
    /// 32-bit code (i386, or a compat-mode process under a 64-bit kernel).
    #[serde(rename = "32")]
    B32,
    /// 64-bit (long mode) code.
    #[serde(rename = "64")]
    B64,
}

/// EFER.LMA: long mode active.
pub const EFER_LMA: u64 = 1 << 10;

impl Bitness {
    /// Bitness of the code segment, as the CPU decides it: in long mode
    /// (EFER.LMA) CS.L selects 64-bit code, otherwise the segment is a
    /// legacy/compat one and CS.D picks 32 over 16 bits (16-bit code is
    /// reported as 32: no syscall ABI uses it).
    pub fn from_cs(efer: u64, cs_l: bool, _cs_d: bool) -> Bitness {
        if efer & EFER_LMA != 0 && cs_l {
            Bitness::B64
        } else {
            Bitness::B32
        }
    }

    /// Reads L and D from a raw 8-byte GDT/LDT code descriptor.
    pub fn from_descriptor(efer: u64, descriptor: u64) -> Bitness {
        let l = descriptor & (1 << 53) != 0;
        let d = descriptor & (1 << 54) != 0;
        Bitness::from_cs(efer, l, d)
    }

    /// Width in bytes of a pointer/register argument.
    pub fn bytes(self) -> u64 {
        match self {
            Bitness::B32 => 4,
            Bitness::B64 => 8,
        }
    }
}

/// One trap, as reported by an event source, before the trapping
/// instruction executes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Index of the vCPU that trapped (0-based, as the event source numbers them).
    pub vcpu: u32,
    /// Enter or exit, derived from `mechanism`.
    pub direction: Direction,
    /// The instruction that trapped.
    pub mechanism: Mechanism,
    /// Width of the calling code; selects the argument convention.
    pub bitness: Bitness,
    /// Registers at the trap, before the trapping instruction executes.
    pub regs: Regs,
    /// CR3 of the address space the trap happened in.
    pub cr3: u64,
}

impl Event {
    /// An event for `mechanism` on vCPU `vcpu`; the direction follows from the mechanism and the CR3 is taken from `regs`.
    pub fn new(vcpu: u32, mechanism: Mechanism, bitness: Bitness, regs: Regs) -> Event {
        let cr3 = regs.cr3;
        Event {
            vcpu,
            direction: mechanism.direction(),
            mechanism,
            bitness,
            regs,
            cr3,
        }
    }
}
