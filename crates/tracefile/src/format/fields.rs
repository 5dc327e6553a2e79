//! The register fields of an event as the format codes them: the 27
//! values ([`NFIELDS`]) a register mask bit stands for, in the order of
//! the bits, and back.

use vstrace_core::Regs;

use super::{TraceErrorKind, NFIELDS};

/// The register fields of `r`, in the order of their mask bits.
pub(super) fn fields(r: &Regs) -> [u64; NFIELDS] {
    let mut f = [0u64; NFIELDS];
    f[..18].copy_from_slice(&r.gpr);
    f[18] = r.cs as u64;
    f[19] = r.ss as u64;
    f[20] = r.fs_base;
    f[21] = r.gs_base;
    f[22] = r.k_gs_base;
    f[23] = r.cr0;
    f[24] = r.cr3;
    f[25] = r.cr4;
    f[26] = r.efer;
    f
}

/// Sets `r` to the register fields `f` (the inverse of [`fields`]).
pub(super) fn set_regs_from(f: &[u64; NFIELDS], r: &mut Regs) -> Result<(), TraceErrorKind> {
    r.gpr.copy_from_slice(&f[..18]);
    r.cs = seg(f[18])?;
    r.ss = seg(f[19])?;
    r.fs_base = f[20];
    r.gs_base = f[21];
    r.k_gs_base = f[22];
    r.cr0 = f[23];
    r.cr3 = f[24];
    r.cr4 = f[25];
    r.efer = f[26];
    Ok(())
}

fn seg(v: u64) -> Result<u16, TraceErrorKind> {
    u16::try_from(v).map_err(|_| TraceErrorKind::Malformed("segment > 16 bits"))
}
