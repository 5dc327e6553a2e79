//! x86 register snapshot taken at a trap, and register names used by the
//! argument table and by writes.

use serde::{Deserialize, Serialize};

/// A register that an argument can live in or that a write can target.
/// 32-bit views (ebx, ...) are the same registers read at 32-bit width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reg {
    Rax,
    Rbx,
    Rcx,
    Rdx,
    Rsi,
    Rdi,
    Rbp,
    Rsp,
    R8,
    R9,
    R10,
    R11,
    R12,
    R13,
    R14,
    R15,
    Rip,
    Rflags,
}

impl Reg {
    /// All general registers in snapshot order.
    pub const ALL: [Reg; 18] = [
        Reg::Rax,
        Reg::Rbx,
        Reg::Rcx,
        Reg::Rdx,
        Reg::Rsi,
        Reg::Rdi,
        Reg::Rbp,
        Reg::Rsp,
        Reg::R8,
        Reg::R9,
        Reg::R10,
        Reg::R11,
        Reg::R12,
        Reg::R13,
        Reg::R14,
        Reg::R15,
        Reg::Rip,
        Reg::Rflags,
    ];

    /// The register's name at the given width (`rbx`/`ebx`).
    pub fn name(self, wide: bool) -> &'static str {
        const W: [&str; 18] = [
            "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
            "r12", "r13", "r14", "r15", "rip", "rflags",
        ];
        const N: [&str; 18] = [
            "eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", "r8d", "r9d", "r10d", "r11d",
            "r12d", "r13d", "r14d", "r15d", "eip", "eflags",
        ];
        if wide {
            W[self as usize]
        } else {
            N[self as usize]
        }
    }
}

/// Register snapshot of one vCPU at a trap (before the trapping instruction
/// executes). Segment state needed for bitness is kept with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Regs {
    /// General registers indexed by `Reg as usize`.
    pub gpr: [u64; 18],
    pub cs: u16,
    pub ss: u16,
    pub fs_base: u64,
    pub gs_base: u64,
    /// MSR_KERNEL_GS_BASE: the kernel's per-cpu base while in user mode.
    pub k_gs_base: u64,
    pub cr0: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub efer: u64,
}

impl Regs {
    pub fn get(&self, r: Reg) -> u64 {
        self.gpr[r as usize]
    }
    pub fn set(&mut self, r: Reg, v: u64) {
        self.gpr[r as usize] = v;
    }
    pub fn rax(&self) -> u64 {
        self.get(Reg::Rax)
    }
    pub fn rip(&self) -> u64 {
        self.get(Reg::Rip)
    }
    pub fn rsp(&self) -> u64 {
        self.get(Reg::Rsp)
    }
    /// Current privilege level from CS's RPL bits.
    pub fn cpl(&self) -> u8 {
        (self.cs & 3) as u8
    }
}
