//! The Syscall object: one trapped call, its arguments and return value,
//! readable and writable through the argument table.

use serde::{Deserialize, Serialize};

use crate::abi::{self, AbiError, AbiRow, ArgLocation, Os};
use crate::cpu::{Cpu, CpuError};
use crate::event::{Direction, Event};
use crate::mem::MemError;
use crate::regs::Reg;

/// Error from the Syscall API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyscallError {
    #[error(transparent)]
    Abi(#[from] AbiError),
    #[error(transparent)]
    Mem(#[from] MemError),
    #[error(transparent)]
    Cpu(#[from] CpuError),
    #[error("{what} is only available on {needed:?}, this is {actual:?}")]
    WrongDirection { what: &'static str, needed: Direction, actual: Direction },
}

/// What a write changed, kept in the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Modification {
    /// `arg1`..`argN`, `retval`, `nr`, or a memory description.
    pub target: String,
    /// Where the write landed: a register name or `mem:0x...`.
    pub location: String,
    pub before: u64,
    pub after: u64,
}

/// One trapped syscall event with access to its vCPU.
pub struct Syscall<'c> {
    pub event: Event,
    pub os: Os,
    row: Option<&'static AbiRow>,
    cpu: &'c mut dyn Cpu,
    /// Every write made through this object, in order.
    pub modifications: Vec<Modification>,
    /// Free-form data set by hooks; ends up in the record.
    pub hook: serde_json::Map<String, serde_json::Value>,
}

impl<'c> Syscall<'c> {
    /// Wraps an event. Exit events have no argument row; enter events
    /// whose (OS, mechanism, bitness) has no row report it on `arg`.
    pub fn new(event: Event, os: Os, cpu: &'c mut dyn Cpu) -> Syscall<'c> {
        let row = abi::row(os, event.mechanism, event.bitness).ok();
        Syscall { event, os, row, cpu, modifications: Vec::new(), hook: Default::default() }
    }

    fn row(&self) -> Result<&'static AbiRow, SyscallError> {
        self.row.ok_or(SyscallError::Abi(AbiError::NoRow {
            os: self.os,
            mechanism: self.event.mechanism,
            bitness: self.event.bitness,
        }))
    }

    fn need(&self, what: &'static str, needed: Direction) -> Result<(), SyscallError> {
        if self.event.direction != needed {
            return Err(SyscallError::WrongDirection { what, needed, actual: self.event.direction });
        }
        Ok(())
    }

    /// The raw syscall number register (eax/rax) at entry.
    pub fn number(&self) -> u64 {
        let v = self.cpu.regs().rax();
        match self.event.bitness {
            crate::event::Bitness::B32 => v & 0xffff_ffff,
            crate::event::Bitness::B64 => v,
        }
    }

    /// Where 1-based argument `index` lives.
    pub fn arg_location(&self, index: usize) -> Result<ArgLocation, SyscallError> {
        self.need("arguments", Direction::Enter)?;
        Ok(self.row()?.location(index)?)
    }

    /// Maximum number of arguments of this convention.
    pub fn max_args(&self) -> Result<usize, SyscallError> {
        Ok(self.row()?.max_args())
    }

    /// Reads 1-based argument `index`, zero-extended.
    pub fn arg(&mut self, index: usize) -> Result<u64, SyscallError> {
        match self.arg_location(index)? {
            ArgLocation::Reg { reg, width } => Ok(truncate(self.cpu.regs().get(reg), width)),
            ArgLocation::Mem { base, offset, width } => {
                let addr = self.mem_addr(base, offset);
                let mut buf = [0u8; 8];
                self.cpu.mem().read_virt(addr, &mut buf[..width as usize])?;
                Ok(u64::from_le_bytes(buf))
            }
        }
    }

    /// Reads arguments 1..=n (Nitro's `collect_args`).
    pub fn args(&mut self, n: usize) -> Result<Vec<u64>, SyscallError> {
        (1..=n).map(|i| self.arg(i)).collect()
    }

    /// Writes 1-based argument `index` where the kernel reads it.
    pub fn set_arg(&mut self, index: usize, value: u64) -> Result<(), SyscallError> {
        let before = self.arg(index)?;
        let loc = self.arg_location(index)?;
        let location = match loc {
            ArgLocation::Reg { reg, width } => {
                let v = truncate(value, width);
                self.cpu.write_reg(reg, v)?;
                reg.name(width == 8).to_string()
            }
            ArgLocation::Mem { base, offset, width } => {
                let addr = self.mem_addr(base, offset);
                let bytes = value.to_le_bytes();
                self.cpu.mem().write_virt(addr, &bytes[..width as usize])?;
                format!("mem:{addr:#x}")
            }
        };
        let width = match loc {
            ArgLocation::Reg { width, .. } | ArgLocation::Mem { width, .. } => width,
        };
        self.modifications.push(Modification {
            target: format!("arg{index}"),
            location,
            before,
            after: truncate(value, width),
        });
        Ok(())
    }

    /// The return value at exit, sign-extended from the call's width.
    pub fn return_value(&self) -> Result<i64, SyscallError> {
        self.need("the return value", Direction::Exit)?;
        let v = self.cpu.regs().rax();
        Ok(match self.event.bitness {
            crate::event::Bitness::B32 => v as u32 as i32 as i64,
            crate::event::Bitness::B64 => v as i64,
        })
    }

    /// Sets the return value at exit (before the return instruction runs).
    pub fn set_return_value(&mut self, value: i64) -> Result<(), SyscallError> {
        let before = self.return_value()? as u64;
        self.write_logged(Reg::Rax, value as u64, "retval", before)
    }

    /// Rewrites the syscall number at entry, e.g. to an invalid number so
    /// the call does not run.
    pub fn set_number(&mut self, nr: u64) -> Result<(), SyscallError> {
        self.need("the syscall number", Direction::Enter)?;
        let before = self.number();
        self.write_logged(Reg::Rax, nr, "nr", before)
    }

    fn write_logged(&mut self, reg: Reg, value: u64, target: &str, before: u64) -> Result<(), SyscallError> {
        let wide = self.event.bitness == crate::event::Bitness::B64;
        let v = if wide { value } else { value & 0xffff_ffff };
        self.cpu.write_reg(reg, v)?;
        self.modifications.push(Modification {
            target: target.to_string(),
            location: reg.name(wide).to_string(),
            before,
            after: v,
        });
        Ok(())
    }

    fn mem_addr(&self, base: Reg, offset: u64) -> u64 {
        let b = self.cpu.regs().get(base);
        match self.event.bitness {
            crate::event::Bitness::B32 => (b.wrapping_add(offset)) & 0xffff_ffff,
            crate::event::Bitness::B64 => b.wrapping_add(offset),
        }
    }

    /// The vCPU, for readers and typed decoders.
    pub fn cpu(&mut self) -> &mut dyn Cpu {
        self.cpu
    }
}

fn truncate(v: u64, width: u8) -> u64 {
    if width >= 8 {
        v
    } else {
        v & ((1u64 << (width as u32 * 8)) - 1)
    }
}
