//! The plugin's view of QEMU's register names: the shared snapshot table
//! ([`vstrace_core::gdbregs`], re-exported here) and the gdb register
//! numbers the write path uses.

pub use vstrace_core::gdbregs::*;
use vstrace_core::Reg;

/// The slot that holds a general register.
pub fn slot_for_reg(r: Reg) -> usize {
    r as usize
}

/// gdb register number of a general register in QEMU's x86_64 gdbstub
/// (rax=0, rbx=1, rcx=2, rdx=3, rsi=4, rdi=5, rbp=6, rsp=7, r8..r15=8..15,
/// rip=16, eflags=17): the same order as [`Reg`].
pub fn gdb_number(r: Reg) -> i32 {
    r as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gdb_numbers() {
        assert_eq!(gdb_number(Reg::Rax), 0);
        assert_eq!(gdb_number(Reg::Rdi), 5);
        assert_eq!(gdb_number(Reg::Rsp), 7);
        assert_eq!(gdb_number(Reg::R10), 10);
        assert_eq!(gdb_number(Reg::Rip), 16);
        assert_eq!(gdb_number(Reg::Rflags), 17);
    }

    #[test]
    fn slots_of_general_registers() {
        for r in Reg::ALL {
            assert_eq!(slot_for_reg(r), r as usize);
        }
    }
}
