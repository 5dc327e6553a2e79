//! Guest memory: physical access, x86 page walks, and virtual access in one
//! address space that crosses page boundaries.
//!
//! Every address comes from the guest and may be unmapped: errors carry the
//! faulting virtual address.

/// Error reading or writing guest memory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemError {
    #[error("guest virtual address {0:#x} is not mapped")]
    Unmapped(u64),
    #[error("guest physical address {0:#x} is outside guest RAM")]
    BadPhys(u64),
    #[error("guest memory at {0:#x} is not writable through this source")]
    ReadOnly(u64),
    #[error("length {len} at {addr:#x} exceeds the cap of {cap} bytes")]
    TooLong { addr: u64, len: u64, cap: u64 },
    #[error("guest memory access failed at {addr:#x}: {reason}")]
    Other { addr: u64, reason: String },
}

/// Guest virtual memory of one address space.
pub trait VirtMem {
    /// Fills `buf` from `addr`; all or nothing.
    fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError>;
    /// Writes `data` at `addr`; all or nothing where the source allows.
    fn write_virt(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError>;
}
