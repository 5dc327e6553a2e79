//! Access to the trapping vCPU: what an event source lends the engine
//! while one event is being handled.

use crate::mem::{MemError, VirtMem};
use crate::regs::{Reg, Regs};

/// Error writing a register through an event source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuError {
    /// The source has no way to write registers (e.g. replay of a recorded trace).
    #[error("this event source cannot write registers: {0}")]
    WriteUnsupported(String),
    /// The source tried to write the register and the write failed.
    #[error("writing {reg:?} failed: {reason}")]
    WriteFailed {
        /// The register that was being written.
        reg: Reg,
        /// The source's explanation.
        reason: String,
    },
}

/// The vCPU that trapped, valid for the duration of one event.
///
/// Register writes take effect before the trapping instruction executes
/// (pre-trap semantics): the kernel sees the written value.
pub trait Cpu {
    /// The register snapshot taken at the trap, updated by `write_reg`.
    fn regs(&self) -> &Regs;
    /// Writes a general register (full 64-bit value).
    fn write_reg(&mut self, reg: Reg, value: u64) -> Result<(), CpuError>;
    /// Guest virtual memory in the trap's address space.
    fn mem(&mut self) -> &mut dyn VirtMem;
}

/// Convenience: a `Cpu` made of a register snapshot and a memory, for
/// replay and tests. Register writes update the snapshot.
pub struct SnapshotCpu<'m> {
    /// Registers at the trap; writes update them.
    pub regs: Regs,
    /// Guest virtual memory of the trap's address space.
    pub mem: &'m mut dyn VirtMem,
}

impl Cpu for SnapshotCpu<'_> {
    fn regs(&self) -> &Regs {
        &self.regs
    }
    fn write_reg(&mut self, reg: Reg, value: u64) -> Result<(), CpuError> {
        self.regs.set(reg, value);
        Ok(())
    }
    fn mem(&mut self) -> &mut dyn VirtMem {
        self.mem
    }
}

impl From<MemError> for CpuError {
    fn from(e: MemError) -> Self {
        CpuError::WriteUnsupported(e.to_string())
    }
}
