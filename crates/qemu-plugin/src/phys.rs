//! Guest physical memory reads, so the engine can read address spaces
//! other than the trapping vCPU's (kernels that unmap themselves from user
//! page tables: Windows KVA shadow, Linux PTI).
//!
//! Reads go through plugin API v5's `qemu_plugin_read_memory_hwaddr`
//! (QEMU >= 10.1) or, on API v4 (QEMU 9.2..10.0), the exported internal
//! `cpu_physical_memory_rw(hwaddr, void *, hwaddr, bool)`, both looked up
//! with `dlsym` like [`crate::writes`]. Both dispatch to device models for
//! MMIO addresses, and the addresses come from guest page tables: every
//! read is therefore bounded to the guest's RAM ([`ram_for_machine`], from the
//! launcher's `machine=` / `ram_mib=` plugin arguments); without a map no
//! physical read is made.

use std::ffi::{c_int, c_void};

use qemu_plugin_sys as sys;
use vstrace_core::mem::{PhysMem, RamRanges};
use vstrace_core::MemError;

use crate::ffi::ByteArray;
use crate::writes::{lookup, INTERNAL_API};

type ReadHwaddrV5 = unsafe extern "C" fn(u64, *mut sys::GByteArray, usize) -> c_int;
type PhysRw = unsafe extern "C" fn(u64, *mut c_void, u64, bool);

const LEGACY_HOLE: (u64, u64) = (0xa_0000, 0x10_0000);
const GIB4: u64 = 1 << 32;

/// Where the guest's RAM sits in its physical address space, for a
/// `machine` (`q35` or `pc`) with `ram_mib` MiB: QEMU's PC memory map, low
/// RAM below the legacy VGA/BIOS hole, RAM up to the 32-bit PCI hole, the
/// rest above 4 GiB.
pub fn ram_for_machine(machine: &str, ram_mib: u64) -> Result<RamRanges, String> {
    let ram = ram_mib
        .checked_mul(1 << 20)
        .filter(|r| *r > LEGACY_HOLE.1)
        .ok_or_else(|| format!("ram_mib={ram_mib} out of range"))?;
    // Below-4G RAM ends where QEMU's machine code puts the PCI hole.
    let lowmem = match machine {
        "q35" if ram >= 0xb000_0000 => 0x8000_0000,
        "q35" => ram,
        "pc" if ram >= 0xe000_0000 => 0xc000_0000,
        "pc" => ram,
        _ => return Err(format!("machine {machine:?}: expected q35 or pc")),
    };
    let mut ranges = vec![(0, LEGACY_HOLE.0), (LEGACY_HOLE.1, lowmem)];
    if ram > lowmem {
        ranges.push((GIB4, GIB4 + (ram - lowmem)));
    }
    Ok(RamRanges::new(ranges))
}

/// How physical memory is read in this QEMU.
#[derive(Clone, Copy)]
pub enum PhysReader {
    V5(ReadHwaddrV5),
    Internal(PhysRw),
    Unsupported(&'static str),
}

impl std::fmt::Debug for PhysReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

impl PhysReader {
    /// Picks the reader for a QEMU reporting plugin API level `api_cur`.
    pub fn detect(api_cur: c_int) -> PhysReader {
        if let Some(f) = lookup(c"qemu_plugin_read_memory_hwaddr") {
            // SAFETY: the v5 API declares qemu_plugin_read_memory_hwaddr(
            // uint64_t, GByteArray *, size_t) returning an enum (0 = OK).
            return PhysReader::V5(unsafe { std::mem::transmute::<*mut c_void, ReadHwaddrV5>(f) });
        }
        if api_cur != INTERNAL_API {
            return PhysReader::Unsupported(
                "this QEMU has neither qemu_plugin_read_memory_hwaddr (QEMU >= 10.1) nor \
                 known internals",
            );
        }
        match lookup(c"cpu_physical_memory_rw") {
            Some(f) => {
                // SAFETY: QEMU 9.2..10.0 export cpu_physical_memory_rw(hwaddr,
                // void *, hwaddr, bool) with this C signature.
                let rw = unsafe { std::mem::transmute::<*mut c_void, PhysRw>(f) };
                PhysReader::Internal(rw)
            }
            None => PhysReader::Unsupported("QEMU 10.0 without the cpu_physical_memory_rw symbol"),
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            PhysReader::V5(_) => "plugin API v5 (qemu_plugin_read_memory_hwaddr)",
            PhysReader::Internal(_) => "QEMU 10.0 internals (cpu_physical_memory_rw)",
            PhysReader::Unsupported(why) => why,
        }
    }
}

/// Guest RAM as a [`PhysMem`], for one event (vCPU callback context).
pub struct QemuPhys<'a> {
    pub reader: PhysReader,
    pub ram: Option<&'a RamRanges>,
    pub scratch: &'a mut ByteArray,
}

impl PhysMem for QemuPhys<'_> {
    fn read_phys(&mut self, pa: u64, buf: &mut [u8]) -> Result<(), MemError> {
        if buf.is_empty() {
            return Ok(());
        }
        let Some(ram) = self.ram else {
            return Err(MemError::Other {
                addr: pa,
                reason: "no RAM map (plugin arguments machine= and ram_mib=): physical reads off"
                    .into(),
            });
        };
        if !ram.contains(pa, buf.len() as u64) {
            return Err(MemError::BadPhys(pa));
        }
        match self.reader {
            PhysReader::V5(f) => {
                // SAFETY: vCPU callback context; valid GByteArray that QEMU
                // resizes to `len` on success.
                let r = unsafe { f(pa, self.scratch.as_ptr(), buf.len()) };
                let got = self.scratch.as_slice();
                if r != 0 || got.len() < buf.len() {
                    return Err(MemError::BadPhys(pa));
                }
                buf.copy_from_slice(&got[..buf.len()]);
                Ok(())
            }
            PhysReader::Internal(f) => {
                if crate::direct::DirectRam::get(ram).is_some_and(|d| d.read(pa, buf)) {
                    return Ok(());
                }
                // SAFETY: `buf` is valid for `len` bytes that QEMU writes on
                // a read; the range is guest RAM (checked above).
                unsafe { f(pa, buf.as_mut_ptr().cast(), buf.len() as u64, false) };
                Ok(())
            }
            PhysReader::Unsupported(why) => Err(MemError::Other {
                addr: pa,
                reason: why.into(),
            }),
        }
    }

    fn write_phys(&mut self, pa: u64, _data: &[u8]) -> Result<(), MemError> {
        Err(MemError::ReadOnly(pa))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_maps_follow_qemu_pc_layouts() {
        let m = ram_for_machine("q35", 512).unwrap();
        assert!(m.contains(0, 0x1000));
        assert!(m.contains(0x9_f000, 0x1000));
        assert!(!m.contains(0x9_fff8, 16), "crosses into the VGA hole");
        assert!(!m.contains(0xb_8000, 8), "VGA memory");
        assert!(!m.contains(0xf_0000, 8), "BIOS");
        assert!(m.contains(0x10_0000, 8));
        assert!(m.contains(0x1fff_fff8, 8));
        assert!(!m.contains(0x2000_0000, 1), "past RAM");
        assert!(!m.contains(0xfee0_0000, 4), "local APIC");
        assert!(!m.contains(u64::MAX, 2), "wraps");
        // 4 GiB on q35: 2 GiB low, 2 GiB above 4 GiB.
        let m = ram_for_machine("q35", 4096).unwrap();
        assert!(m.contains(0x7fff_f000, 0x1000));
        assert!(!m.contains(0x8000_0000, 1));
        assert!(m.contains(GIB4, 8) && m.contains(GIB4 + 0x7fff_fff8, 8));
        assert!(!m.contains(GIB4 + 0x8000_0000, 1));
        // pc: 3.5 GiB and more keeps 3 GiB low.
        let m = ram_for_machine("pc", 4096).unwrap();
        assert!(m.contains(0xbfff_f000, 8) && !m.contains(0xc000_0000, 1));
        assert!(m.contains(GIB4 + 0x3fff_fff8, 8));
        assert!(ram_for_machine("virt", 512).is_err());
        assert!(ram_for_machine("q35", 0).is_err());
        assert!(ram_for_machine("q35", u64::MAX).is_err());
    }
}
