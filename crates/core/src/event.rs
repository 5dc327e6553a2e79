//! The event model: one trap seen by an event source.

use serde::{Deserialize, Serialize};

use crate::regs::Regs;

/// Entering or leaving the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Enter,
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

    pub fn direction(self) -> Direction {
        match self {
            Mechanism::Syscall | Mechanism::Sysenter | Mechanism::Int80 | Mechanism::Int2e => {
                Direction::Enter
            }
            Mechanism::Sysret | Mechanism::Sysexit | Mechanism::Iret => Direction::Exit,
        }
    }
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
    #[serde(rename = "32")]
    B32,
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
    pub vcpu: u32,
    pub direction: Direction,
    pub mechanism: Mechanism,
    pub bitness: Bitness,
    pub regs: Regs,
    /// CR3 of the address space the trap happened in.
    pub cr3: u64,
}

impl Event {
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
