//! KVA shadow, Windows' Meltdown mitigation: while user code runs, CR3
//! holds a user page table that maps the KPCR's shadow page (what the
//! entry stubs read before switching) but not KTHREAD or EPROCESS. A trap
//! at `syscall`/`sysret` sees that user CR3, so attribution must read the
//! kernel's structures in the kernel's own space, whose root the kernel
//! keeps in KPRCB.KernelDirectoryTableBase (x64 KiSystemCall64Shadow:
//! `mov rsp, gs:[X]; mov cr3, rsp`).
//!
//! The field's KPCR offset changes between builds, so the profile's value
//! is only a hint: every candidate is validated against the guest (the
//! value read back through the space it names must be itself, and the
//! KPCR -> KTHREAD -> EPROCESS walk must succeed there), and without a hint
//! the KPCR is searched (x64: page-aligned offsets, where every build puts
//! its shadow page; x86: every aligned word of the KPRCB). A guest cannot
//! make the search unbounded: the region is fixed and read a page at a
//! time.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use vstrace_core::mem::{InSpace, PagingMode};
use vstrace_core::read;
use vstrace_core::{Bitness, Event, Space, VirtMem};

use crate::profile::{current_thread_info, KernelProfile, ThreadInfo};
use crate::structs::ptr_size;

/// The kernel space found from the KPCR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelSpace {
    /// KPCR offset of Prcb.KernelDirectoryTableBase.
    pub kpcr_offset: u64,
    /// The kernel address space (the DirectoryTableBase found there, in the current paging mode).
    pub space: Space,
}

/// x64: KPCR offsets searched (page starts from the KPRCB's tail).
const X64_FIRST: u64 = 0x5000;
const X64_END: u64 = 0xd000;
/// x86: the KPRCB (KPCR+0x120) up to this KPCR offset, word by word.
const X86_FIRST: u64 = 0x120;
const X86_END: u64 = 0x6000;
const PAGE: u64 = 0x1000;

/// Whether `v` can be the root of a kernel space other than `current`.
fn plausible(v: u64, current: Space) -> bool {
    if v == 0 {
        return false;
    }
    let ok = match current.mode {
        // Bits 52..62 are reserved in CR3 (63 is PCID's no-flush).
        PagingMode::Long4 | PagingMode::Long5 => v & 0x7ff0_0000_0000_0000 == 0,
        PagingMode::Pae => v <= u32::MAX as u64 && v & 0x1f == 0,
        PagingMode::Legacy32 => v <= u32::MAX as u64 && v & 0xfff == 0,
        // No table at all: nothing is a CR3.
        PagingMode::Physical => false,
    };
    let s = current.with_root(v);
    ok && s.base() != 0 && s.base() != current.base()
}

/// Validates candidate `off` (its value `v` read in the current space):
/// the thread walk in the space `v` names, or None.
fn validate(
    mem: &mut dyn VirtMem,
    profile: &KernelProfile,
    kpcr: u64,
    current: Space,
    off: u64,
    v: u64,
) -> Option<(KernelSpace, ThreadInfo)> {
    if !plausible(v, current) {
        return None;
    }
    let space = current.with_root(v);
    let b = profile.bitness();
    let mut k = InSpace { mem, space };
    // The KPCR is the same memory in both spaces: the field read through
    // the space it names is itself.
    if read::read_ptr(&mut k, kpcr.wrapping_add(off), b).ok()? != v {
        return None;
    }
    let t = current_thread_info(&mut k, profile, kpcr).ok()?;
    Some((
        KernelSpace {
            kpcr_offset: off,
            space,
        },
        t,
    ))
}

/// Finds the kernel's space from the KPCR at `kpcr` (mapped in `current`,
/// the trapping vCPU's user space) and walks the current thread there.
/// `known` is an offset that worked before (tried first).
pub fn find_kernel_space(
    mem: &mut dyn VirtMem,
    profile: &KernelProfile,
    kpcr: u64,
    current: Space,
    known: Option<u64>,
) -> Option<(KernelSpace, ThreadInfo)> {
    if kpcr == 0 {
        return None;
    }
    let b = profile.bitness();
    // The profile's offset unless it is the one just tried.
    let hint = profile.kpcr_kernel_dtb.filter(|h| known != Some(*h));
    let tried = [known, hint];
    for off in tried.into_iter().flatten() {
        if let Ok(v) = read::read_ptr(mem, kpcr.wrapping_add(off), b) {
            if let Some(found) = validate(mem, profile, kpcr, current, off, v) {
                return Some(found);
            }
        }
    }
    let (first, end, step) = match b {
        Bitness::B64 => (X64_FIRST, X64_END, PAGE),
        Bitness::B32 => (X86_FIRST, X86_END, 4),
    };
    let w = ptr_size(b);
    let mut page = vec![0u8; PAGE as usize];
    let mut page_off = first & !(PAGE - 1);
    while page_off < end {
        let base = kpcr.wrapping_add(page_off);
        // The KPCR pages the user space does not map hold nothing the
        // entry stubs read: skip them.
        if mem.read_virt(base, &mut page).is_ok() {
            let mut off = page_off.max(first);
            while off + w <= (page_off + PAGE).min(end) {
                let at = (off - page_off) as usize;
                let v = match b {
                    Bitness::B64 => u64::from_le_bytes(page[at..at + 8].try_into().ok()?),
                    Bitness::B32 => u32::from_le_bytes(page[at..at + 4].try_into().ok()?) as u64,
                };
                if !tried.contains(&Some(off)) {
                    if let Some(found) = validate(mem, profile, kpcr, current, off, v) {
                        return Some(found);
                    }
                }
                off += step;
            }
        }
        page_off += PAGE;
    }
    None
}

/// Kernel spaces the KPCR at `kpcr` may name, without a profile to walk
/// threads with (for reading a kernel whose offsets are not known yet):
/// each KPCR word (searched as [`find_kernel_space`] does) that is a
/// plausible root and reads back as itself through the space it names,
/// with its KPCR offset; at most `max` of them.
pub fn kernel_space_candidates(
    mem: &mut dyn VirtMem,
    kpcr: u64,
    b: Bitness,
    current: Space,
    max: usize,
) -> Vec<KernelSpace> {
    let mut out = Vec::new();
    if kpcr == 0 {
        return out;
    }
    let (first, end, step) = match b {
        Bitness::B64 => (X64_FIRST, X64_END, PAGE),
        Bitness::B32 => (X86_FIRST, X86_END, 4),
    };
    let w = ptr_size(b) as usize;
    let mut page = vec![0u8; PAGE as usize];
    let mut page_off = first & !(PAGE - 1);
    while page_off < end && out.len() < max {
        if mem
            .read_virt(kpcr.wrapping_add(page_off), &mut page)
            .is_ok()
        {
            let mut off = page_off.max(first);
            while off + w as u64 <= (page_off + PAGE).min(end) && out.len() < max {
                let at = (off - page_off) as usize;
                let mut v = [0u8; 8];
                v[..w].copy_from_slice(&page[at..at + w]);
                let v = u64::from_le_bytes(v);
                if plausible(v, current) {
                    let space = current.with_root(v);
                    let mut k = InSpace { mem, space };
                    if read::read_ptr(&mut k, kpcr.wrapping_add(off), b).ok() == Some(v) {
                        out.push(KernelSpace {
                            kpcr_offset: off,
                            space,
                        });
                    }
                }
                off += step;
            }
        }
        page_off += PAGE;
    }
    out
}

/// Searches of the KPCR for the kernel space before giving up.
const SHADOW_SEARCHES: u32 = 16;

/// What attribution learnt about KVA shadow for one bitness: the KPCR
/// offset of KernelDirectoryTableBase once found, and how many searches
/// found nothing (bounded: a KPCR that is unreadable for another reason
/// must not cost a search per event forever). Atomics: the layer
/// attributes through `&self`.
#[derive(Debug, Default)]
pub struct ShadowSearch {
    /// KPCR offset + 1 (0: not found yet).
    offset: AtomicU64,
    /// Searches that found nothing, up to [`SHADOW_SEARCHES`].
    misses: AtomicU32,
}

impl ShadowSearch {
    /// The thread that trapped, when the current (user) space does not
    /// map it: walks in the kernel's space, found from the KPCR at `kpcr`
    /// (the offset learnt before is tried first). Says once on stderr
    /// where the kernel's space was found.
    pub fn thread_info(
        &self,
        event: &Event,
        mem: &mut dyn VirtMem,
        profile: &KernelProfile,
        kpcr: u64,
    ) -> Option<ThreadInfo> {
        let known = self.offset.load(Ordering::Relaxed).checked_sub(1);
        if known.is_none() && self.misses.load(Ordering::Relaxed) >= SHADOW_SEARCHES {
            return None;
        }
        let current = Space::current(&event.regs)?;
        match find_kernel_space(mem, profile, kpcr, current, known) {
            Some((k, t)) => {
                if known != Some(k.kpcr_offset) {
                    self.offset.store(k.kpcr_offset + 1, Ordering::Relaxed);
                    eprintln!(
                        "vstrace: Windows KVA shadow: kernel CR3 {:#x} from KPCR+{:#x}; \
                         processes are read in the kernel's space",
                        k.space.root, k.kpcr_offset
                    );
                }
                Some(t)
            }
            None => {
                if known.is_none() {
                    self.misses.fetch_add(1, Ordering::Relaxed);
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::PROFILES;
    use vstrace_core::testmem::SparseVirt;

    const KDTB: u64 = 0x1ad000;
    const UDTB: u64 = 0x2be000;

    fn put(m: &mut SparseVirt, at: u64, v: u64, b: Bitness) {
        match b {
            Bitness::B32 => m.map(at, &(v as u32).to_le_bytes()),
            Bitness::B64 => m.map(at, &v.to_le_bytes()),
        }
    }

    /// A shadowed guest: the kernel space (root KDTB) holds the KPCR,
    /// KTHREAD and EPROCESS; the user space (the SparseVirt itself) maps
    /// only the KPCR page holding KernelDirectoryTableBase at `off`.
    fn shadowed(p: &KernelProfile, off: u64, kdtb_value: u64) -> (SparseVirt, u64, Space) {
        let b = p.bitness();
        let (kpcr, thread, process, mode) = match b {
            Bitness::B64 => (
                0xffff_f800_0000_0000u64,
                0xffff_a000_0000_1000u64,
                0xffff_a000_0001_0000u64,
                PagingMode::Long4,
            ),
            Bitness::B32 => (0xffdf_f000, 0x8600_1000, 0x8601_0000, PagingMode::Pae),
        };
        let mut m = SparseVirt::new();
        let shadow_page = kpcr + (off & !(PAGE - 1));
        m.map_zeroed(shadow_page, 0x1000);
        put(&mut m, kpcr + off, kdtb_value, b);
        let k = m.space_mut(KDTB);
        k.map_zeroed(kpcr, 0xd000);
        k.map_zeroed(thread, 0x1000);
        k.map_zeroed(process, 0x1000);
        put(k, kpcr + off, kdtb_value, b);
        put(k, kpcr + p.kpcr_current_thread, thread, b);
        put(k, thread + p.kthread_process, process, b);
        put(k, thread + p.ethread_cid + ptr_size(b), 0x5678, b);
        put(k, process + p.eprocess_unique_process_id, 0x1234, b);
        put(
            k,
            process + p.eprocess_inherited_from_unique_process_id,
            4,
            b,
        );
        k.map(process + p.eprocess_image_file_name, b"shadowed.exe\0");
        (m, kpcr, Space { mode, root: UDTB })
    }

    #[test]
    fn the_hint_is_validated_and_used() {
        let p = &PROFILES[1]; // Windows 10 22H2: KPCR+0x9000
                              // PCID 2 and the no-flush bit, as Windows' kernel CR3 values carry.
        let (mut m, kpcr, cur) = shadowed(p, 0x9000, KDTB | 2);
        assert!(
            current_thread_info(&mut m, p, kpcr).is_err(),
            "the user space does not map KTHREAD"
        );
        let (k, t) = find_kernel_space(&mut m, p, kpcr, cur, None).unwrap();
        assert_eq!(k.kpcr_offset, 0x9000);
        assert_eq!(k.space.base(), KDTB);
        assert_eq!((t.pid, t.tid, t.ppid), (0x1234, 0x5678, 4));
        assert_eq!(t.image_name, "shadowed.exe");
    }

    #[test]
    fn a_wrong_or_missing_hint_falls_back_to_the_search() {
        let p = &PROFILES[1];
        // This build keeps the field at 0xb000, not where the profile says.
        let (mut m, kpcr, cur) = shadowed(p, 0xb000, KDTB);
        let (k, _) = find_kernel_space(&mut m, p, kpcr, cur, Some(0x7000)).unwrap();
        assert_eq!(k.kpcr_offset, 0xb000);
        // x86 (no hint in the profile): found word by word.
        let p86 = &PROFILES[3];
        let (mut m, kpcr, cur) = shadowed(p86, 0x5050, KDTB);
        let (k, t) = find_kernel_space(&mut m, p86, kpcr, cur, None).unwrap();
        assert_eq!((k.kpcr_offset, t.pid), (0x5050, 0x1234));
    }

    #[test]
    fn values_that_do_not_name_the_kernel_space_are_refused() {
        let p = &PROFILES[1];
        // The slot holds the user space's own root, a reserved-bit value,
        // or a root whose space does not map the KPCR: nothing is found.
        for bad in [UDTB, 0x7ff0_0000_0000_0000 | KDTB, 0x3cf000, 0] {
            let (mut m, kpcr, cur) = shadowed(p, 0x9000, bad);
            assert_eq!(
                find_kernel_space(&mut m, p, kpcr, cur, None),
                None,
                "{bad:#x}"
            );
        }
        // The right space but a broken walk there (CurrentThread NULL).
        let (mut m, kpcr, cur) = shadowed(p, 0x9000, KDTB);
        put(
            m.space_mut(KDTB),
            kpcr + p.kpcr_current_thread,
            0,
            Bitness::B64,
        );
        assert_eq!(find_kernel_space(&mut m, p, kpcr, cur, None), None);
        assert_eq!(find_kernel_space(&mut m, p, 0, cur, None), None);
    }
}
