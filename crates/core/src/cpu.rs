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
    /// What a kernel probe saw of the signal being delivered on this vCPU
    /// since its previous return to user mode, if the source has such a
    /// probe (the QEMU plugin's at Linux's `signal_setup_done`) and it
    /// fired: the kernel's own siginfo, which a handler without
    /// SA_SIGINFO does not get in its frame. Only meaningful at a return
    /// to user mode; `None` by default.
    fn probed_signal(&mut self) -> Option<ProbedSignal> {
        None
    }
}

/// A signal's kernel-side siginfo as a probe read it while the kernel set
/// up the delivery (see [`Cpu::probed_signal`]). Raw guest bytes: the OS
/// layer decodes them, and checks them against the frame it finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbedSignal {
    /// The signal number the kernel was delivering.
    pub signo: u32,
    /// The kernel's siginfo, as laid out in guest memory (on Linux the
    /// `kernel_siginfo`: 48 bytes on x86-64, 32 on i386).
    pub info: Vec<u8>,
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
