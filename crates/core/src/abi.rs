//! Where syscall arguments live: one data table keyed by
//! (OS, mechanism, bitness). Writes go where the kernel reads.
//!
//! Ground truth (1-based argument n):
//! - Linux x86-64 `syscall`: rdi, rsi, rdx, r10, r8, r9.
//! - Linux i386 `int 0x80`: ebx, ecx, edx, esi, edi, ebp.
//! - Linux i386 `sysenter` (vDSO): ebx, ecx, edx, esi, edi, `dword [ebp]`.
//! - Linux compat `syscall`: ebx, ebp, edx, esi, edi, `dword [esp]`.
//! - Windows x64 `syscall`: r10, rdx, r8, r9, qword [rsp + 8n].
//! - Windows x86 `sysenter`: dword [edx + 8 + 4(n-1)].
//! - Windows x86 `int 0x2e`: dword [edx + 4(n-1)].

use serde::{Deserialize, Serialize};

use crate::event::{Bitness, Mechanism};
use crate::regs::Reg;

/// Guest operating system family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    /// Linux: the i386 and x86-64 (including compat) syscall conventions.
    Linux,
    /// Windows NT: the x64 `syscall` and x86 `sysenter`/`int 0x2e` conventions.
    Windows,
}

impl Os {
    /// The lowercase name records and configurations use (`linux`,
    /// `windows`), the same as its serialized form.
    pub fn name(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::Windows => "windows",
        }
    }
}

/// Where one argument lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArgLocation {
    /// In a register, `width` bytes wide (4 or 8).
    Reg {
        /// The register (read at `width`: 32-bit conventions use its low half).
        reg: Reg,
        /// Bytes of the register that hold the argument (4 or 8).
        width: u8,
    },
    /// In guest memory at `base + offset`, `width` bytes wide.
    Mem {
        /// Register holding the base guest virtual address (a stack or
        /// argument-block pointer).
        base: Reg,
        /// Byte offset from the base register's value.
        offset: u64,
        /// Size of the slot in bytes (4 or 8).
        width: u8,
    },
}

/// How one (OS, mechanism, bitness) passes its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgPassing {
    /// Registers first, then (optionally) memory slots.
    Regs {
        /// Registers holding arguments 1..=`regs.len()`, in order.
        regs: &'static [Reg],
        /// Where argument `regs.len() + 1` onward live, if anywhere.
        rest: Option<MemSlots>,
        /// Maximum number of arguments (Linux: 6).
        max: usize,
    },
    /// All arguments in memory.
    Mem {
        /// Where argument 1 onward live.
        slots: MemSlots,
        /// Maximum number of arguments.
        max: usize,
    },
}

/// Memory slots: argument k (0-based within the slots) is at
/// `base + first + k * stride`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemSlots {
    /// Register holding the base address (a guest virtual address, e.g. the stack pointer).
    pub base: Reg,
    /// Byte offset of the first slot from the base register's value.
    pub first: u64,
    /// Bytes between consecutive slots (4 or 8).
    pub stride: u64,
}

/// One row of the argument table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbiRow {
    /// Guest OS whose convention this row describes.
    pub os: Os,
    /// Trapping instruction that uses this convention.
    pub mechanism: Mechanism,
    /// Width of the calling code (a 32-bit program under a 64-bit kernel uses the 32-bit rows).
    pub bitness: Bitness,
    /// Where arguments 1..=max live.
    pub passing: ArgPassing,
    /// Register holding the syscall number at entry.
    pub nr_reg: Reg,
    /// Register holding the return value at exit.
    pub ret_reg: Reg,
}

/// Windows syscalls have no fixed maximum; the largest NT service takes 17.
pub const WINDOWS_MAX_ARGS: usize = 20;

use Reg::*;

/// The argument table. Every cell is covered by unit tests.
pub static ABI_TABLE: &[AbiRow] = &[
    AbiRow {
        os: Os::Linux,
        mechanism: Mechanism::Syscall,
        bitness: Bitness::B64,
        passing: ArgPassing::Regs {
            regs: &[Rdi, Rsi, Rdx, R10, R8, R9],
            rest: None,
            max: 6,
        },
        nr_reg: Rax,
        ret_reg: Rax,
    },
    AbiRow {
        os: Os::Linux,
        mechanism: Mechanism::Int80,
        bitness: Bitness::B32,
        passing: ArgPassing::Regs {
            regs: &[Rbx, Rcx, Rdx, Rsi, Rdi, Rbp],
            rest: None,
            max: 6,
        },
        nr_reg: Rax,
        ret_reg: Rax,
    },
    AbiRow {
        os: Os::Linux,
        mechanism: Mechanism::Sysenter,
        bitness: Bitness::B32,
        // The vDSO's __kernel_vsyscall pushes ecx, edx, ebp and moves esp
        // into ebp: the sixth argument (the caller's ebp) is at [ebp].
        passing: ArgPassing::Regs {
            regs: &[Rbx, Rcx, Rdx, Rsi, Rdi],
            rest: Some(MemSlots {
                base: Rbp,
                first: 0,
                stride: 4,
            }),
            max: 6,
        },
        nr_reg: Rax,
        ret_reg: Rax,
    },
    AbiRow {
        os: Os::Linux,
        mechanism: Mechanism::Syscall,
        bitness: Bitness::B32,
        // `syscall` clobbers ecx, so the vDSO passes arg2 in ebp and arg6
        // on the stack at [esp].
        passing: ArgPassing::Regs {
            regs: &[Rbx, Rbp, Rdx, Rsi, Rdi],
            rest: Some(MemSlots {
                base: Rsp,
                first: 0,
                stride: 4,
            }),
            max: 6,
        },
        nr_reg: Rax,
        ret_reg: Rax,
    },
    AbiRow {
        os: Os::Windows,
        mechanism: Mechanism::Syscall,
        bitness: Bitness::B64,
        // r10, not rcx: `syscall` overwrites rcx with the return rip.
        // Stack argument n (n >= 5) is at rsp + 8n: rsp + 0x28 for n = 5,
        // past the return address and the 32-byte home area.
        passing: ArgPassing::Regs {
            regs: &[R10, Rdx, R8, R9],
            rest: Some(MemSlots {
                base: Rsp,
                first: 0x28,
                stride: 8,
            }),
            max: WINDOWS_MAX_ARGS,
        },
        nr_reg: Rax,
        ret_reg: Rax,
    },
    AbiRow {
        os: Os::Windows,
        mechanism: Mechanism::Sysenter,
        bitness: Bitness::B32,
        // KiFastSystemCall: `mov edx, esp; sysenter`, reached by `call` from
        // the ntdll stub: [edx] and [edx+4] are return addresses.
        passing: ArgPassing::Mem {
            slots: MemSlots {
                base: Rdx,
                first: 8,
                stride: 4,
            },
            max: WINDOWS_MAX_ARGS,
        },
        nr_reg: Rax,
        ret_reg: Rax,
    },
    AbiRow {
        os: Os::Windows,
        mechanism: Mechanism::Int2e,
        bitness: Bitness::B32,
        passing: ArgPassing::Mem {
            slots: MemSlots {
                base: Rdx,
                first: 0,
                stride: 4,
            },
            max: WINDOWS_MAX_ARGS,
        },
        nr_reg: Rax,
        ret_reg: Rax,
    },
];

/// Error looking up an argument location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AbiError {
    /// The table has no row for this OS, trapping instruction and bitness.
    #[error("no argument convention for {os:?} {mechanism:?} {bitness:?}")]
    NoRow {
        /// Guest OS that was asked for.
        os: Os,
        /// Trapping instruction that was asked for.
        mechanism: Mechanism,
        /// Code width that was asked for.
        bitness: Bitness,
    },
    /// The argument index is 0 or past the convention's maximum.
    #[error("argument index {index} out of range: arguments are 1..={max}")]
    OutOfRange {
        /// The 1-based index that was asked for.
        index: usize,
        /// The convention's largest valid index.
        max: usize,
    },
}

/// Finds the table row for an (OS, mechanism, bitness).
pub fn row(os: Os, mechanism: Mechanism, bitness: Bitness) -> Result<&'static AbiRow, AbiError> {
    ABI_TABLE
        .iter()
        .find(|r| r.os == os && r.mechanism == mechanism && r.bitness == bitness)
        .ok_or(AbiError::NoRow {
            os,
            mechanism,
            bitness,
        })
}

impl AbiRow {
    /// Maximum number of arguments.
    pub fn max_args(&self) -> usize {
        match self.passing {
            ArgPassing::Regs { max, .. } | ArgPassing::Mem { max, .. } => max,
        }
    }

    /// Location of 1-based argument `index`.
    pub fn location(&self, index: usize) -> Result<ArgLocation, AbiError> {
        let max = self.max_args();
        if index == 0 || index > max {
            return Err(AbiError::OutOfRange { index, max });
        }
        let width = self.bitness.bytes() as u8;
        let slot = |s: MemSlots, k: usize| ArgLocation::Mem {
            base: s.base,
            offset: s.first + s.stride * k as u64,
            width: s.stride as u8,
        };
        Ok(match self.passing {
            ArgPassing::Regs { regs, rest, .. } => {
                if index <= regs.len() {
                    ArgLocation::Reg {
                        reg: regs[index - 1],
                        width,
                    }
                } else {
                    match rest {
                        Some(s) => slot(s, index - 1 - regs.len()),
                        None => {
                            return Err(AbiError::OutOfRange {
                                index,
                                max: regs.len(),
                            })
                        }
                    }
                }
            }
            ArgPassing::Mem { slots, .. } => slot(slots, index - 1),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Where argument `n` lives, written independently of the table from
    /// the ground-truth list in DESIGN.md: `(register, None)` or
    /// `(base register, Some(offset))`.
    pub(crate) fn ground_truth(row: &AbiRow, n: usize) -> Option<(Reg, Option<u64>)> {
        let regs = |list: &[Reg]| list.get(n.checked_sub(1)?).map(|r| (*r, None));
        match (row.os, row.mechanism, row.bitness) {
            (Os::Linux, Mechanism::Syscall, Bitness::B64) => regs(&[Rdi, Rsi, Rdx, R10, R8, R9]),
            (Os::Linux, Mechanism::Int80, Bitness::B32) => regs(&[Rbx, Rcx, Rdx, Rsi, Rdi, Rbp]),
            (Os::Linux, Mechanism::Sysenter, Bitness::B32) => match n {
                6 => Some((Rbp, Some(0))),
                _ => regs(&[Rbx, Rcx, Rdx, Rsi, Rdi]),
            },
            (Os::Linux, Mechanism::Syscall, Bitness::B32) => match n {
                6 => Some((Rsp, Some(0))),
                _ => regs(&[Rbx, Rbp, Rdx, Rsi, Rdi]),
            },
            (Os::Windows, Mechanism::Syscall, Bitness::B64) => match n {
                5..=WINDOWS_MAX_ARGS => Some((Rsp, Some(8 * n as u64))),
                _ => regs(&[R10, Rdx, R8, R9]),
            },
            (Os::Windows, Mechanism::Sysenter, Bitness::B32) => match n {
                1..=WINDOWS_MAX_ARGS => Some((Rdx, Some(8 + 4 * (n as u64 - 1)))),
                _ => None,
            },
            (Os::Windows, Mechanism::Int2e, Bitness::B32) => match n {
                1..=WINDOWS_MAX_ARGS => Some((Rdx, Some(4 * (n as u64 - 1)))),
                _ => None,
            },
            _ => panic!("ground truth has no row for {row:?}"),
        }
    }

    pub(crate) fn expected_max(row: &AbiRow) -> usize {
        match row.os {
            Os::Linux => 6,
            Os::Windows => WINDOWS_MAX_ARGS,
        }
    }

    #[test]
    fn every_row_matches_ground_truth() {
        assert_eq!(ABI_TABLE.len(), 7);
        for row in ABI_TABLE {
            let max = expected_max(row);
            assert_eq!(row.max_args(), max, "{row:?}");
            let width = row.bitness.bytes() as u8;
            for n in 1..=max {
                let want = match ground_truth(row, n).unwrap() {
                    (reg, None) => ArgLocation::Reg { reg, width },
                    (base, Some(offset)) => ArgLocation::Mem {
                        base,
                        offset,
                        width,
                    },
                };
                assert_eq!(row.location(n).unwrap(), want, "{row:?} arg{n}");
            }
            for bad in [0, max + 1, usize::MAX] {
                assert!(
                    matches!(row.location(bad), Err(AbiError::OutOfRange { index, .. }) if index == bad),
                    "{row:?} arg{bad}"
                );
            }
        }
    }

    #[test]
    fn row_lookup() {
        for r in ABI_TABLE {
            assert_eq!(row(r.os, r.mechanism, r.bitness).unwrap(), r);
            // One row per key.
            let n = ABI_TABLE
                .iter()
                .filter(|x| (x.os, x.mechanism, x.bitness) == (r.os, r.mechanism, r.bitness))
                .count();
            assert_eq!(n, 1);
        }
        assert!(matches!(
            row(Os::Linux, Mechanism::Int2e, Bitness::B32),
            Err(AbiError::NoRow { .. })
        ));
        assert!(row(Os::Windows, Mechanism::Int80, Bitness::B32).is_err());
        assert!(row(Os::Linux, Mechanism::Sysret, Bitness::B64).is_err());
    }
}
