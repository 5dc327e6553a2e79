//! x86 register snapshot taken at a trap, and register names used by the
//! argument table and by writes.

use serde::{Deserialize, Serialize};

/// A register that an argument can live in or that a write can target.
/// 32-bit views (ebx, ...) are the same registers read at 32-bit width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reg {
    /// RAX: syscall number at entry, return value at exit.
    Rax,
    /// RBX: first argument of Linux i386 calls.
    Rbx,
    /// RCX: return address saved by `syscall`; second argument of Linux i386 calls.
    Rcx,
    /// RDX: third Linux argument; points at the arguments of Windows x86 calls.
    Rdx,
    /// RSI: second Linux x86-64 argument.
    Rsi,
    /// RDI: first Linux x86-64 argument.
    Rdi,
    /// RBP: frame pointer; sixth Linux i386 argument.
    Rbp,
    /// RSP: stack pointer; Windows x64 stack arguments are relative to it.
    Rsp,
    /// R8: fifth Linux x86-64 argument, third Windows x64 argument.
    R8,
    /// R9: sixth Linux x86-64 argument, fourth Windows x64 argument.
    R9,
    /// R10: fourth Linux x86-64 argument, first Windows x64 argument.
    R10,
    /// R11: RFLAGS saved by `syscall`.
    R11,
    /// R12 (callee-saved, no syscall role).
    R12,
    /// R13 (callee-saved, no syscall role).
    R13,
    /// R14 (callee-saved, no syscall role).
    R14,
    /// R15 (callee-saved, no syscall role).
    R15,
    /// RIP: address of the trapping instruction.
    Rip,
    /// RFLAGS.
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
    /// CS selector; its RPL bits give the privilege level.
    pub cs: u16,
    /// SS selector.
    pub ss: u16,
    /// FS segment base (a guest virtual address: the thread pointer of Linux x86-64 user code, the TEB of Windows x86 user code).
    pub fs_base: u64,
    /// GS segment base (a guest virtual address: the TEB in Windows x64 user mode, per-cpu data in the kernel).
    pub gs_base: u64,
    /// MSR_KERNEL_GS_BASE: the kernel's per-cpu base while in user mode.
    pub k_gs_base: u64,
    /// CR0: PG says whether paging is on.
    pub cr0: u64,
    /// CR3: root of the current address space's page tables, with PCID bits.
    pub cr3: u64,
    /// CR4: PAE, PSE, LA57 and PCIDE, which decide the page-walk format.
    pub cr4: u64,
    /// IA32_EFER: LMA says long mode is active.
    pub efer: u64,
}

impl Regs {
    /// Full 64-bit value of register `r`.
    pub fn get(&self, r: Reg) -> u64 {
        self.gpr[r as usize]
    }
    /// Sets register `r` to the full 64-bit value `v`.
    pub fn set(&mut self, r: Reg, v: u64) {
        self.gpr[r as usize] = v;
    }
    /// RAX (the syscall number at entry, the return value at exit).
    pub fn rax(&self) -> u64 {
        self.get(Reg::Rax)
    }
    /// RIP (the address of the trapping instruction).
    pub fn rip(&self) -> u64 {
        self.get(Reg::Rip)
    }
    /// RSP (the stack pointer).
    pub fn rsp(&self) -> u64 {
        self.get(Reg::Rsp)
    }
    /// Current privilege level from CS's RPL bits.
    pub fn cpl(&self) -> u8 {
        (self.cs & 3) as u8
    }
}
