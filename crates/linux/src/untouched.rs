//! Whether a user page that is not present reads as zeros: the answer
//! for [`vstrace_core::OsLayer::untouched_zero_end`].
//!
//! strace reads a tracee with `process_vm_readv`, which faults pages in:
//! a page of an anonymous private area the process never touched reads
//! as zeros (the kernel maps its zero page). Read from outside, the same
//! page has no translation. It reads as zeros here when, as for the
//! kernel's fault handler, the address lies in an area of the calling
//! process's `mm` that is
//! - anonymous: no file, and no `vm_ops` where the layout says
//!   (`vma_is_anonymous`; special mappings such as the vDSO have ops),
//! - private (not `VM_SHARED` / `VM_MAYSHARE`), not `VM_IO`,
//!   `VM_PFNMAP` or `VM_MIXEDMAP`, and readable (`VM_READ`),
//!
//! and the page-table entry the walk stops at is none (`pte_none` and its
//! upper-level kin: zero but for the accessed and dirty bits some CPUs
//! set on non-present entries). Any other non-present entry (swap,
//! migration, PROT_NONE) means the page has contents elsewhere: the
//! failure stands.
//!
//! The tables are read from the kernel's direct map (`mm->pgd` is its
//! address of the PGD whose physical address is in CR3), through the
//! same memory as every other read of the event: a recording holds them.
//! Everything read is hostile: bounded walks (a few levels, the VMA walk's
//! own bounds), failed reads answer "no".

use vstrace_core::mem::{walk, MemError, PagingMode, PhysMem, Space, WalkEnd};
use vstrace_core::VirtMem;

use crate::profile::runtime::kernel_ptr as kptr;
use crate::profile::LinuxProfile;
use crate::vma;

/// `vm_flags` bits (include/linux/mm.h; the same values since 2.6).
const VM_READ: u64 = 0x1;
const VM_SHARED: u64 = 0x8;
const VM_MAYSHARE: u64 = 0x80;
const VM_PFNMAP: u64 = 0x400;
const VM_IO: u64 = 0x4000;
const VM_MIXEDMAP: u64 = 0x1000_0000;

/// `_PAGE_ACCESSED | _PAGE_DIRTY`: what `pte_none` ignores
/// (`_PAGE_KNL_ERRATUM_MASK`: Knights Landing sets them on non-present
/// entries).
const ERRATUM_BITS: u64 = (1 << 5) | (1 << 6);

/// The direct map's alignment at least (x86_64's `page_offset_base` is
/// randomized in 1 GiB steps, i386's `PAGE_OFFSET` a multiple of 256 MiB).
const DIRECT_MAP_ALIGN: u64 = 4 << 20;

/// The most low memory a 32-bit kernel maps (the 3G/1G split less the
/// default 128 MiB vmalloc reserve): above it, offset + pa is no longer
/// the direct map.
const LOWMEM_32: u64 = 896 << 20;

/// Under PTI CR3 holds the user half of an 8 KiB PGD pair; `mm->pgd` is
/// the kernel half, the page below.
const PTI_USER_PGD: u64 = 1 << 12;

/// The end of the range from `addr` that reads as zeros for `task` (see
/// the module doc), or None. `cr3` and `mode`: the trap's page tables
/// (the calling task's own); `mem` maps the kernel.
pub fn zero_end(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    cr3: u64,
    mode: PagingMode,
    addr: u64,
) -> Option<u64> {
    let mm = vma::task_mm(mem, prof, task)?;
    let area = vma::vma_at(mem, prof, mm, addr)?;
    if !zero_fill_area(&area) {
        return None;
    }
    let pgd = kptr(mem, prof, mm.wrapping_add(prof.mm_pgd?))?;
    let offset = direct_map_offset(prof, pgd, Space { mode, root: cr3 })?;
    let mut phys = DirectMap { mem, offset, prof };
    match walk(&mut phys, mode, pgd - offset, addr).ok()? {
        WalkEnd::NotPresent { entry, span } if entry & !ERRATUM_BITS == 0 => {
            let region_end = (addr | (span - 1)).saturating_add(1);
            Some(region_end.min(area.end))
        }
        _ => None,
    }
}

/// Whether a never-touched page of `a` is one the kernel fills with
/// zeros on a read fault.
fn zero_fill_area(a: &vma::Vma) -> bool {
    a.file == 0
        && a.ops.unwrap_or(0) == 0
        && a.flags & VM_READ != 0
        && a.flags & (VM_SHARED | VM_MAYSHARE | VM_IO | VM_PFNMAP | VM_MIXEDMAP) == 0
}

/// Where the direct map starts, from `mm->pgd` (its address there) and
/// the trap's CR3 (the same table's physical address, or under PTI the
/// page above it). None unless that gives an aligned kernel address.
fn direct_map_offset(prof: &LinuxProfile, pgd: u64, cur: Space) -> Option<u64> {
    let base = cur.base();
    [base, base & !PTI_USER_PGD]
        .into_iter()
        .map(|pa| pgd.wrapping_sub(pa))
        .find(|&off| off % DIRECT_MAP_ALIGN == 0 && off >= prof.kernel_min && off <= pgd)
}

/// Guest physical memory read through the kernel's direct map: what the
/// page walk reads the tables with.
struct DirectMap<'a> {
    mem: &'a mut dyn VirtMem,
    offset: u64,
    prof: &'a LinuxProfile,
}

impl PhysMem for DirectMap<'_> {
    /// A 32-bit kernel maps only its low memory (at most 896 MiB) and
    /// may keep page tables in high memory (`CONFIG_HIGHPTE`), which it
    /// maps only while it uses them: its tables are read physically where
    /// the source can, through the direct map otherwise. A 64-bit kernel
    /// maps all RAM: the direct map first.
    fn read_phys(&mut self, pa: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let narrow = self.prof.pointer_size == 4;
        if narrow && self.mem.read_virt_in(Space::PHYSICAL, pa, buf).is_ok() {
            return Ok(());
        }
        let va = self
            .offset
            .checked_add(pa)
            .filter(|&va| !narrow || (va <= u64::from(u32::MAX) && pa < LOWMEM_32))
            .ok_or(MemError::BadPhys(pa))?;
        match self.mem.read_virt(va, buf) {
            Err(_) if !narrow => self.mem.read_virt_in(Space::PHYSICAL, pa, buf),
            r => r,
        }
    }
    fn write_phys(&mut self, pa: u64, _data: &[u8]) -> Result<(), MemError> {
        Err(MemError::ReadOnly(pa))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::testmem::{FlatPhys, PageSize, PageTableBuilder, SparseVirt, PRESENT, USER};

    /// The direct map (1 GiB aligned, as KASLR places it).
    const DIRECT: u64 = 0xffff_8880_0000_0000;
    /// Kernel structures: the task, its mm, the maple leaf, the areas
    /// (above the page tables' physical range in the direct map).
    const K: u64 = DIRECT + 0x200_0000;
    const TASK: u64 = K;
    const MM: u64 = K + 0x1000;
    const LEAF: u64 = K + 0x2000;
    const TABLES: u64 = 0x1000;
    const RW: u64 = VM_READ | 0x2;

    /// Anonymous, 16 pages, partly touched.
    const ANON: u64 = 0x7f00_0000_0000;
    /// File-backed, 4 pages, none touched.
    const FILE: u64 = 0x7f00_0010_0000;
    /// Anonymous and shared.
    const SHARED: u64 = 0x7f00_0020_0000;
    /// Anonymous, write-only (no VM_READ).
    const NOREAD: u64 = 0x7f00_0030_0000;
    /// Anonymous with ops (a special mapping).
    const SPECIAL: u64 = 0x7f00_0040_0000;
    /// Anonymous, 4 MiB: no page table below its first 2 MiB.
    const BIG: u64 = 0x7f00_0080_0000;

    fn prof() -> LinuxProfile {
        let mut p = crate::profile::layouts::synthetic_profile();
        p.mm_pgd = Some(0x50);
        p.mm = Some(crate::vma::tests::mm_layout());
        p
    }

    /// (start, end, flags, file, ops) of each area.
    fn areas() -> Vec<(u64, u64, u64, u64, u64)> {
        vec![
            (ANON, ANON + 0x10000, RW, 0, 0),
            (FILE, FILE + 0x4000, RW, K + 0x9000, K + 0xa000),
            (SHARED, SHARED + 0x4000, RW | VM_SHARED | VM_MAYSHARE, 0, 0),
            (NOREAD, NOREAD + 0x4000, 0x2, 0, 0),
            (SPECIAL, SPECIAL + 0x2000, RW, 0, K + 0xa000),
            (BIG, BIG + 0x40_0000, RW, 0, 0),
        ]
    }

    /// The kernel's view of a process: its task, mm, areas, and page
    /// tables in the direct map. Returns (memory, CR3).
    /// `direct_all`: the direct map shows every table; else only the
    /// PGD, the others being readable physically alone (an i386 kernel's
    /// highmem page tables).
    fn world(p: &LinuxProfile, direct_all: bool) -> (SparseVirt, u64) {
        let l = p.mm.clone().unwrap();
        let mut b =
            PageTableBuilder::new(PagingMode::Long4, FlatPhys::new(0x40_0000), TABLES).unwrap();
        // ANON: page 0 touched, page 1 never (an empty PTE beside it),
        // page 2 swapped out (a non-present, non-zero entry).
        b.map(ANON, 0x30_0000, PageSize::K4, PRESENT | USER)
            .unwrap();
        b.map(ANON + 0x2000, 0x12_3000, PageSize::K4, 0).unwrap();
        // FILE, SHARED, NOREAD, SPECIAL: a present page beside each, so
        // their tables exist and the entries asked about are empty.
        for a in [FILE, SHARED, NOREAD, SPECIAL] {
            b.map(a + 0x1000, 0x31_0000, PageSize::K4, PRESENT | USER)
                .unwrap();
        }
        // BIG: a page in its second 2 MiB only.
        b.map(BIG + 0x20_0000, 0x32_0000, PageSize::K4, PRESENT | USER)
            .unwrap();
        let cr3 = b.cr3();
        let mut mem = SparseVirt::new();
        if direct_all {
            mem.map(DIRECT, &b.phys.ram[..0x40_000]);
        } else {
            let pgd = (cr3 & !0xfff) as usize;
            mem.map(DIRECT + pgd as u64, &b.phys.ram[pgd..pgd + 0x1000]);
            mem.space_mut(0).map(0, &b.phys.ram[..0x40_000]);
        }
        mem.map_zeroed(TASK, 0x100);
        mem.map(TASK + p.task.mm.unwrap(), &MM.to_le_bytes());
        mem.map_zeroed(MM, 0x100);
        mem.map(MM + 0x50, &(DIRECT + cr3).to_le_bytes());
        mem.map(MM + l.mt_root.unwrap(), &(LEAF | 0xe).to_le_bytes());
        mem.map_zeroed(LEAF, 0x100);
        for (i, (start, end, flags, file, ops)) in areas().into_iter().enumerate() {
            let v = K + 0x4000 + i as u64 * 0x100;
            mem.map_zeroed(v, 0x100);
            for (off, val) in [
                (l.vm_start, start),
                (l.vm_end, end),
                (l.vm_mm, MM),
                (l.vm_flags, flags),
                (l.vm_file, file),
                (l.vm_ops.unwrap(), ops),
            ] {
                mem.map(v + off, &val.to_le_bytes());
            }
            mem.map(LEAF + l.range_slot + 8 * i as u64, &v.to_le_bytes());
        }
        (mem, cr3)
    }

    fn ask(mem: &mut SparseVirt, p: &LinuxProfile, cr3: u64, addr: u64) -> Option<u64> {
        zero_end(mem, p, TASK, cr3, PagingMode::Long4, addr)
    }

    #[test]
    fn a_never_touched_anonymous_page_reads_as_zeros() {
        let p = prof();
        let (mut mem, cr3) = world(&p, true);
        // The empty PTE: this page only.
        assert_eq!(ask(&mut mem, &p, cr3, ANON + 0x1008), Some(ANON + 0x2000));
        // Past the page table's mapped neighbours: empty entries too.
        assert_eq!(ask(&mut mem, &p, cr3, ANON + 0x5000), Some(ANON + 0x6000));
        // An empty PMD: its 2 MiB, clipped to the area.
        assert_eq!(ask(&mut mem, &p, cr3, BIG + 0x1000), Some(BIG + 0x20_0000));
        // PCID bits and PTI's user half of the PGD pair: the same tables.
        for tagged in [cr3 | 0x5, cr3 | PTI_USER_PGD] {
            assert_eq!(
                ask(&mut mem, &p, tagged, ANON + 0x1008),
                Some(ANON + 0x2000)
            );
        }
    }

    /// Tables the direct map does not show (high memory) are read
    /// physically: the same answers.
    #[test]
    fn tables_outside_the_direct_map_are_read_physically() {
        let p = prof();
        let (mut mem, cr3) = world(&p, false);
        assert_eq!(ask(&mut mem, &p, cr3, ANON + 0x1008), Some(ANON + 0x2000));
        assert_eq!(ask(&mut mem, &p, cr3, BIG + 0x1000), Some(BIG + 0x20_0000));
        assert_eq!(ask(&mut mem, &p, cr3, ANON + 0x2000), None);
    }

    #[test]
    fn a_swapped_out_page_stays_a_failure() {
        let p = prof();
        let (mut mem, cr3) = world(&p, true);
        // Not present but not empty: the contents are elsewhere.
        assert_eq!(ask(&mut mem, &p, cr3, ANON + 0x2000), None);
        // Present: the read failed for another reason.
        assert_eq!(ask(&mut mem, &p, cr3, ANON), None);
    }

    #[test]
    fn file_backed_shared_unreadable_and_special_areas_stay_failures() {
        let p = prof();
        let (mut mem, cr3) = world(&p, true);
        for a in [FILE, SHARED, NOREAD, SPECIAL] {
            assert_eq!(ask(&mut mem, &p, cr3, a), None, "{a:#x}");
        }
        // Outside every area (between two, and past the last).
        assert_eq!(ask(&mut mem, &p, cr3, ANON + 0x10000), None);
        assert_eq!(ask(&mut mem, &p, cr3, BIG + 0x40_0000), None);
        // Without the ops offset the special mapping looks anonymous; a
        // file still counts.
        let mut q = p.clone();
        q.mm.as_mut().unwrap().vm_ops = None;
        assert_eq!(ask(&mut mem, &q, cr3, SPECIAL), Some(SPECIAL + 0x1000));
        assert_eq!(ask(&mut mem, &q, cr3, FILE), None);
    }

    #[test]
    fn hostile_or_missing_structures_answer_no() {
        let p = prof();
        let (mem0, cr3) = world(&p, true);
        // CR3 that is not mm->pgd's table: no aligned direct map.
        let mut mem = mem0.clone();
        assert_eq!(ask(&mut mem, &p, cr3 + 0x3000, ANON + 0x1000), None);
        // mm->pgd not a kernel pointer.
        mem.map(MM + 0x50, &0x1234u64.to_le_bytes());
        assert_eq!(ask(&mut mem, &p, cr3, ANON + 0x1000), None);
        // The tables gone from the direct map: reads fail, no answer.
        let mut mem = mem0.clone();
        mem.unmap(DIRECT + cr3);
        assert_eq!(ask(&mut mem, &p, cr3, ANON + 0x1000), None);
        // A PGD entry pointing outside RAM, a loop of tables: bounded.
        let mut mem = mem0.clone();
        let pgd_slot = DIRECT + cr3 + ((ANON >> 39) & 0x1ff) * 8;
        mem.map(pgd_slot, &(cr3 | 0x7).to_le_bytes());
        let _ = ask(&mut mem, &p, cr3, ANON + 0x1000);
        mem.map(pgd_slot, &(0xffff_f000u64 << 20 | 0x7).to_le_bytes());
        assert_eq!(ask(&mut mem, &p, cr3, ANON + 0x1000), None);
        // No mm layout or no pgd offset: nothing read.
        let mut q = p.clone();
        q.mm_pgd = None;
        assert_eq!(ask(&mut mem0.clone(), &q, cr3, ANON + 0x1000), None);
        // Another mm's area is not this one's.
        let mut mem = mem0;
        mem.map(
            K + 0x4000 + p.mm.as_ref().unwrap().vm_mm,
            &1u64.to_le_bytes(),
        );
        assert_eq!(ask(&mut mem, &p, cr3, ANON + 0x1000), None);
    }
}
