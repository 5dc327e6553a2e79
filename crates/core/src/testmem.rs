//! Synthetic guest memory for tests and fuzzing (public: the OS crates'
//! tests use it too).
//!
//! - [`FlatPhys`]: a byte buffer as guest physical RAM.
//! - [`PageTableBuilder`]: builds real x86 page tables inside a `FlatPhys`
//!   for every paging mode, so [`crate::mem::GuestVirt`] walks them as it
//!   walks a real guest's.
//! - [`SparseVirt`]: a virtual memory made of individually mapped 4 KiB
//!   pages, for decoder tests that don't care about page tables.

use std::collections::BTreeMap;

use crate::mem::{GuestVirt, MemError, PagingMode, PhysMem, Space, VirtMem, MAX_ACCESS};

/// Guest physical RAM `[0, len)` as a byte buffer. Accesses that reach
/// past the end fail with `BadPhys` and change nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlatPhys {
    /// The RAM bytes; physical address `pa` is `ram[pa]`.
    pub ram: Vec<u8>,
}

impl FlatPhys {
    /// `size` bytes of zeroed RAM.
    pub fn new(size: usize) -> FlatPhys {
        FlatPhys { ram: vec![0; size] }
    }

    fn range(&self, pa: u64, len: usize) -> Result<std::ops::Range<usize>, MemError> {
        let end = pa.checked_add(len as u64).ok_or(MemError::BadPhys(pa))?;
        if end > self.ram.len() as u64 {
            // Report the first byte outside RAM.
            return Err(MemError::BadPhys(pa.max(self.ram.len() as u64)));
        }
        Ok(pa as usize..end as usize)
    }
}

impl PhysMem for FlatPhys {
    fn read_phys(&mut self, pa: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let r = self.range(pa, buf.len())?;
        buf.copy_from_slice(&self.ram[r]);
        Ok(())
    }
    fn write_phys(&mut self, pa: u64, data: &[u8]) -> Result<(), MemError> {
        let r = self.range(pa, data.len())?;
        self.ram[r].copy_from_slice(data);
        Ok(())
    }
}

/// Page-table entry bits accepted by [`PageTableBuilder::map`].
pub const PRESENT: u64 = 1;
/// Page-table entry R/W bit: writes allowed.
pub const WRITABLE: u64 = 1 << 1;
/// Page-table entry U/S bit: user mode may access.
pub const USER: u64 = 1 << 2;
const PS: u64 = 1 << 7;

/// Size of a page mapped by [`PageTableBuilder::map`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSize {
    /// 4 KiB: every paging mode.
    K4,
    /// 2 MiB: long mode and PAE.
    M2,
    /// 4 MiB: legacy 32-bit paging (PSE).
    M4,
    /// 1 GiB: long mode.
    G1,
}

impl PageSize {
    /// The page size in bytes.
    pub fn bytes(self) -> u64 {
        match self {
            PageSize::K4 => 1 << 12,
            PageSize::M2 => 1 << 21,
            PageSize::M4 => 1 << 22,
            PageSize::G1 => 1 << 30,
        }
    }
}

fn build_err(addr: u64, reason: &str) -> MemError {
    MemError::Other {
        addr,
        reason: reason.to_string(),
    }
}

/// Builds page tables in a [`FlatPhys`]. Tables are bump-allocated from
/// `table_base` upward (4 KiB each, zeroed); keep data frames out of that
/// region.
#[derive(Debug, Clone)]
pub struct PageTableBuilder {
    /// The physical memory holding the tables (and whatever data the test puts there).
    pub phys: FlatPhys,
    /// Paging mode of the tables being built.
    pub mode: PagingMode,
    root: u64,
    next: u64,
}

impl PageTableBuilder {
    /// Allocates the root table at `table_base` (4 KiB aligned).
    pub fn new(mode: PagingMode, phys: FlatPhys, table_base: u64) -> Result<Self, MemError> {
        if table_base & 0xfff != 0 {
            return Err(build_err(table_base, "table base not 4 KiB aligned"));
        }
        let mut b = PageTableBuilder {
            phys,
            mode,
            root: 0,
            next: table_base,
        };
        b.root = b.alloc()?;
        Ok(b)
    }

    /// CR3 for this address space (no PCID bits; OR them in to test).
    pub fn cr3(&self) -> u64 {
        self.root
    }

    /// The address space as a [`VirtMem`] (CR3 without PCID bits).
    pub fn virt(&mut self) -> GuestVirt<'_> {
        GuestVirt {
            phys: &mut self.phys,
            mode: self.mode,
            cr3: self.root,
        }
    }

    fn alloc(&mut self) -> Result<u64, MemError> {
        let pa = self.next;
        self.phys.write_phys(pa, &[0u8; 4096])?;
        self.next += 4096;
        Ok(pa)
    }

    fn entry_size(&self) -> u64 {
        if self.mode == PagingMode::Legacy32 {
            4
        } else {
            8
        }
    }

    fn read_entry(&mut self, pa: u64) -> Result<u64, MemError> {
        let mut b = [0u8; 8];
        let n = self.entry_size() as usize;
        self.phys.read_phys(pa, &mut b[..n])?;
        Ok(u64::from_le_bytes(b))
    }

    fn write_entry(&mut self, pa: u64, e: u64) -> Result<(), MemError> {
        let n = self.entry_size() as usize;
        self.phys.write_phys(pa, &e.to_le_bytes()[..n])
    }

    /// Follows (or creates) the next-level table from the entry at
    /// `entry_pa`. `dir_flags` are the bits set on a created entry.
    fn descend(&mut self, entry_pa: u64, dir_flags: u64) -> Result<u64, MemError> {
        let e = self.read_entry(entry_pa)?;
        if e & PRESENT != 0 {
            if e & PS != 0 {
                return Err(build_err(entry_pa, "a large page already maps this range"));
            }
            let mask = if self.entry_size() == 4 {
                0xffff_f000
            } else {
                0x000f_ffff_ffff_f000
            };
            return Ok(e & mask);
        }
        let t = self.alloc()?;
        self.write_entry(entry_pa, t | dir_flags)?;
        Ok(t)
    }

    /// Maps the page of `size` at `va` to the frame at `pa` with `flags`
    /// (a combination of [`PRESENT`], [`WRITABLE`], [`USER`]; leave out
    /// `PRESENT` to write a non-present leaf). Directory entries created on
    /// the way are present, writable and user, so the leaf decides.
    pub fn map(&mut self, va: u64, pa: u64, size: PageSize, flags: u64) -> Result<(), MemError> {
        let sz = size.bytes();
        if va & (sz - 1) != 0 || pa & (sz - 1) != 0 {
            return Err(build_err(va, "va or pa not aligned to the page size"));
        }
        let flags = flags & (PRESENT | WRITABLE | USER);
        let dir = PRESENT | WRITABLE | USER;
        match (self.mode, size) {
            (PagingMode::Long4 | PagingMode::Long5, PageSize::K4 | PageSize::M2 | PageSize::G1) => {
                let five = self.mode == PagingMode::Long5;
                let top = (va as i64) >> if five { 56 } else { 47 };
                if top != 0 && top != -1 {
                    return Err(build_err(va, "non-canonical address"));
                }
                let pml4 = if five {
                    self.descend(self.root + ((va >> 48) & 0x1ff) * 8, dir)?
                } else {
                    self.root
                };
                let pdpt = self.descend(pml4 + ((va >> 39) & 0x1ff) * 8, dir)?;
                let pdpte = pdpt + ((va >> 30) & 0x1ff) * 8;
                if size == PageSize::G1 {
                    return self.write_entry(pdpte, pa | flags | PS);
                }
                let pd = self.descend(pdpte, dir)?;
                self.map_pd_pt64(pd, va, pa, size, flags)
            }
            (PagingMode::Pae, PageSize::K4 | PageSize::M2) => {
                if va > u32::MAX as u64 {
                    return Err(build_err(va, "address above 4 GiB"));
                }
                // PDPTEs have only P (R/W and U/S are reserved there).
                let pd = self.descend(self.root + ((va >> 30) & 3) * 8, PRESENT)?;
                self.map_pd_pt64(pd, va, pa, size, flags)
            }
            (PagingMode::Legacy32, PageSize::K4 | PageSize::M4) => {
                if va > u32::MAX as u64
                    || pa >= 1 << 40
                    || (size == PageSize::K4 && pa > u32::MAX as u64)
                {
                    return Err(build_err(va, "address out of range for 32-bit paging"));
                }
                let pde = self.root + (va >> 22) * 4;
                if size == PageSize::M4 {
                    // PSE-36: physical bits 39..32 go in PDE bits 20..13.
                    let e = (pa & 0xffc0_0000) | (((pa >> 32) & 0xff) << 13) | flags | PS;
                    return self.write_entry(pde, e);
                }
                let pt = self.descend(pde, dir)?;
                self.write_entry(pt + ((va >> 12) & 0x3ff) * 4, pa | flags)
            }
            _ => Err(build_err(va, "page size not supported in this paging mode")),
        }
    }

    fn map_pd_pt64(
        &mut self,
        pd: u64,
        va: u64,
        pa: u64,
        size: PageSize,
        flags: u64,
    ) -> Result<(), MemError> {
        let pde = pd + ((va >> 21) & 0x1ff) * 8;
        if size == PageSize::M2 {
            return self.write_entry(pde, pa | flags | PS);
        }
        let pt = self.descend(pde, PRESENT | WRITABLE | USER)?;
        self.write_entry(pt + ((va >> 12) & 0x1ff) * 8, pa | flags)
    }
}

const PAGE: u64 = 4096;

/// A virtual memory made of mapped 4 KiB pages. Unmapped accesses fail
/// with the first unmapped address and change nothing; pages mapped
/// read-only refuse writes with `ReadOnly`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SparseVirt {
    pages: BTreeMap<u64, (Box<[u8; 4096]>, bool)>,
    /// Other address spaces by [`Space::base`], for
    /// [`VirtMem::read_virt_in`] (a kernel-only space under KVA shadow/PTI).
    spaces: BTreeMap<u64, SparseVirt>,
}

impl SparseVirt {
    /// An empty memory: every access fails with `Unmapped`.
    pub fn new() -> SparseVirt {
        SparseVirt::default()
    }

    /// Maps (zero-filled if new) every page covering `[va, va + bytes.len())`
    /// as writable and copies `bytes` in.
    pub fn map(&mut self, va: u64, bytes: &[u8]) {
        self.map_with(va, bytes, true);
    }

    /// Like [`SparseVirt::map`], but writes to these pages fail.
    pub fn map_readonly(&mut self, va: u64, bytes: &[u8]) {
        self.map_with(va, bytes, false);
    }

    /// Maps `len` zero bytes at `va`.
    pub fn map_zeroed(&mut self, va: u64, len: usize) {
        self.map(va, &vec![0; len]);
    }

    fn map_with(&mut self, va: u64, bytes: &[u8], writable: bool) {
        // A page at a time (addresses wrap at the top, as before).
        let mut off = 0usize;
        while off < bytes.len() {
            let a = va.wrapping_add(off as u64);
            let in_page = (a & (PAGE - 1)) as usize;
            let n = (PAGE as usize - in_page).min(bytes.len() - off);
            let page = self
                .pages
                .entry(a & !(PAGE - 1))
                .or_insert_with(|| (Box::new([0; 4096]), writable));
            page.1 = writable;
            page.0[in_page..in_page + n].copy_from_slice(&bytes[off..off + n]);
            off += n;
        }
    }

    /// The address space whose root is `base` (PCID/flag bits clear),
    /// created empty on first use: what [`VirtMem::read_virt_in`] reads.
    pub fn space_mut(&mut self, base: u64) -> &mut SparseVirt {
        self.spaces.entry(base).or_default()
    }

    /// Unmaps the page containing `va`.
    pub fn unmap(&mut self, va: u64) {
        self.pages.remove(&(va & !(PAGE - 1)));
    }

    /// Whether the page containing `va` is mapped.
    pub fn is_mapped(&self, va: u64) -> bool {
        self.pages.contains_key(&(va & !(PAGE - 1)))
    }

    /// Checks the whole range first (all or nothing).
    fn check(&self, va: u64, len: usize, write: bool) -> Result<(), MemError> {
        if len as u64 > MAX_ACCESS {
            return Err(MemError::TooLong {
                addr: va,
                len: len as u64,
                cap: MAX_ACCESS,
            });
        }
        let mut a = va;
        let mut left = len as u64;
        while left > 0 {
            match self.pages.get(&(a & !(PAGE - 1))) {
                None => return Err(MemError::Unmapped(a)),
                Some((_, false)) if write => return Err(MemError::ReadOnly(a)),
                Some(_) => {}
            }
            let n = (PAGE - (a & (PAGE - 1))).min(left);
            left -= n;
            // Wrapping past the top of the address space is unmapped.
            a = match a.checked_add(n) {
                Some(x) => x,
                None if left == 0 => break,
                None => return Err(MemError::Unmapped(u64::MAX)),
            };
        }
        Ok(())
    }
}

impl VirtMem for SparseVirt {
    fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.check(addr, buf.len(), false)?;
        let mut off = 0usize;
        while off < buf.len() {
            let a = addr.wrapping_add(off as u64);
            let (page, _) = self
                .pages
                .get(&(a & !(PAGE - 1)))
                .ok_or(MemError::Unmapped(a))?;
            let in_page = (a & (PAGE - 1)) as usize;
            let n = (PAGE as usize - in_page).min(buf.len() - off);
            buf[off..off + n].copy_from_slice(&page[in_page..in_page + n]);
            off += n;
        }
        Ok(())
    }
    fn write_virt(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError> {
        self.check(addr, data.len(), true)?;
        let mut off = 0usize;
        while off < data.len() {
            let a = addr.wrapping_add(off as u64);
            let (page, _) = self
                .pages
                .get_mut(&(a & !(PAGE - 1)))
                .ok_or(MemError::Unmapped(a))?;
            let in_page = (a & (PAGE - 1)) as usize;
            let n = (PAGE as usize - in_page).min(data.len() - off);
            page[in_page..in_page + n].copy_from_slice(&data[off..off + n]);
            off += n;
        }
        Ok(())
    }
    fn read_virt_in(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        match self.spaces.get_mut(&space.base()) {
            Some(m) => m.read_virt(addr, buf),
            None => Err(MemError::Unmapped(addr)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_phys_bounds() {
        let mut p = FlatPhys::new(0x100);
        p.write_phys(0xfe, b"ab").unwrap();
        let mut b = [0u8; 2];
        p.read_phys(0xfe, &mut b).unwrap();
        assert_eq!(&b, b"ab");
        assert_eq!(p.read_phys(0xff, &mut b), Err(MemError::BadPhys(0x100)));
        assert_eq!(p.write_phys(0x200, b"x"), Err(MemError::BadPhys(0x200)));
        assert_eq!(
            p.read_phys(u64::MAX, &mut b),
            Err(MemError::BadPhys(u64::MAX))
        );
        assert_eq!(&p.ram[0xfe..], b"ab");
    }

    #[test]
    fn builder_rejects_bad_requests() {
        let b = |m| PageTableBuilder::new(m, FlatPhys::new(1 << 20), 0x1000).unwrap();
        let all = PRESENT | WRITABLE | USER;
        assert!(b(PagingMode::Pae)
            .map(0x4000_0000, 0, PageSize::G1, all)
            .is_err());
        assert!(b(PagingMode::Legacy32)
            .map(0, 0, PageSize::M2, all)
            .is_err());
        assert!(b(PagingMode::Long4).map(0, 0, PageSize::M4, all).is_err());
        assert!(b(PagingMode::Long4)
            .map(0x1000, 0, PageSize::M2, all)
            .is_err());
        assert!(b(PagingMode::Long4)
            .map(1 << 47, 0, PageSize::K4, all)
            .is_err());
        let mut l = b(PagingMode::Long4);
        l.map(0x20_0000, 0x20_0000, PageSize::M2, all).unwrap();
        assert!(l.map(0x20_1000, 0x1000, PageSize::K4, all).is_err());
        assert!(PageTableBuilder::new(PagingMode::Long4, FlatPhys::new(0x1000), 0x1000).is_err());
        assert!(PageTableBuilder::new(PagingMode::Long4, FlatPhys::new(0x1000), 0x10).is_err());
    }

    #[test]
    fn sparse_virt() {
        let mut m = SparseVirt::new();
        m.map(0x1ffe, b"abcd"); // two pages
        assert!(m.is_mapped(0x1000) && m.is_mapped(0x2fff) && !m.is_mapped(0x3000));
        let mut b = [0u8; 4];
        m.read_virt(0x1ffe, &mut b).unwrap();
        assert_eq!(&b, b"abcd");
        assert_eq!(m.read_virt(0x2ffe, &mut b), Err(MemError::Unmapped(0x3000)));
        assert_eq!(m.read_virt(0x0ffe, &mut b), Err(MemError::Unmapped(0x0ffe)));
        m.write_virt(0x1fff, b"XY").unwrap();
        m.read_virt(0x1ffe, &mut b).unwrap();
        assert_eq!(&b, b"aXYd");
        // All or nothing: a write that runs off the mapping changes nothing.
        assert!(m.write_virt(0x2ffe, b"1234").is_err());
        m.read_virt(0x2ffe, &mut b[..2]).unwrap();
        assert_eq!(&b[..2], &[0, 0]);
        m.map_readonly(0x5000, b"ro");
        assert_eq!(m.write_virt(0x4fff, b"zz"), Err(MemError::Unmapped(0x4fff)));
        assert_eq!(m.write_virt(0x5000, b"zz"), Err(MemError::ReadOnly(0x5000)));
        m.unmap(0x2000);
        assert_eq!(
            m.read_virt(0x1fff, &mut b[..2]),
            Err(MemError::Unmapped(0x2000))
        );
        // The top of the address space does not wrap.
        m.map(u64::MAX - 1, b"hi");
        m.read_virt(u64::MAX - 1, &mut b[..2]).unwrap();
        assert_eq!(
            m.read_virt(u64::MAX - 1, &mut b[..3]),
            Err(MemError::Unmapped(u64::MAX))
        );
    }
}
