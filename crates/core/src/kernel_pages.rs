//! Translations of the kernel half's large pages, kept across events.
//!
//! A [`crate::mem::WalkCache`] lives for one event because the guest may
//! change its page tables between events. The kernel's own reads of a
//! Linux tracer (the running task, its CPU time, its memory and file
//! tables) land mostly in the kernel half's large pages: the direct map
//! of RAM and the kernel image, mapped with 2 MiB and 1 GiB pages at
//! boot, the same in every address space and never moved to other
//! frames (splitting one into small pages for new permissions keeps its
//! frames). Keeping those translations saves a four-level walk per read.
//!
//! Small pages of those two linear maps are kept too: where the direct
//! map meets a hole in RAM (the top of RAM next to firmware tables, where
//! memblock puts the per-CPU areas and so `current_task`) or where
//! permissions split it, its 4 KiB pages map the same frames at the same
//! offset. A small page is kept only when its virtual-to-physical offset
//! is one a large page of the kernel half has shown: a linear map's.
//! vmalloc'd memory (stacks, module text, tables) lies outside both maps'
//! ranges, so its pages never have their offset, and is never kept; nor
//! is the user half.
//!
//! What could still change under a kept translation (a huge vmalloc
//! mapping freed and its range reused) is bounded: an entry serves
//! [`MAX_USES`] reads and is then walked again.

use crate::mem::{PagingMode, Translation};

/// Reads one kept translation serves before it is walked again.
pub const MAX_USES: u32 = 256;

/// Translations kept (a tracer touches the direct map and the image).
const ENTRIES: usize = 8;

/// Smallest page kept on its own: 2 MiB (4 MiB pages of 32-bit paging
/// are not kept: only long-mode tables are shared this way).
const LARGE: u64 = 2 << 20;

/// Linear maps remembered (the direct map and the kernel image).
const LINEAR: usize = 4;

/// Size of a small page.
const SMALL: u64 = 4096;

#[derive(Debug, Clone, Copy)]
struct Kept {
    mode: PagingMode,
    /// First virtual address of the page.
    page: u64,
    size: u64,
    /// First physical address of the page.
    pa: u64,
    uses: u32,
}

/// The kept translations of one vCPU (see the module doc).
#[derive(Debug, Default)]
pub struct KernelPages {
    entries: [Option<Kept>; ENTRIES],
    next: usize,
    /// Virtual-minus-physical offsets of the large pages seen, per mode:
    /// the linear maps whose small pages are kept too.
    linear: [Option<(PagingMode, u64)>; LINEAR],
    next_linear: usize,
}

/// Whether `va` lies in the kernel half of a long-mode space.
fn kernel_half(mode: PagingMode, va: u64) -> bool {
    matches!(mode, PagingMode::Long4 | PagingMode::Long5) && va >> 63 == 1
}

impl KernelPages {
    /// The physical address of `[va, va + len)` when a kept large page
    /// holds all of it (counting the use; an entry that has served
    /// [`MAX_USES`] reads is dropped instead, so the caller walks again).
    pub fn lookup(&mut self, mode: PagingMode, va: u64, len: usize) -> Option<u64> {
        if !kernel_half(mode, va) {
            return None;
        }
        for slot in self.entries.iter_mut() {
            let Some(k) = slot else { continue };
            let off = va.wrapping_sub(k.page);
            if k.mode != mode || off >= k.size {
                continue;
            }
            if k.uses >= MAX_USES {
                *slot = None;
                return None;
            }
            if off.checked_add(len as u64)? > k.size {
                return None;
            }
            k.uses += 1;
            return Some(k.pa + off);
        }
        None
    }

    /// Whether a translation of `va` in a space of `mode` would be kept
    /// (a kernel-half address of long mode; the page size decides then).
    pub fn keeps(&self, mode: PagingMode, va: u64) -> bool {
        kernel_half(mode, va)
    }

    /// Keeps the translation `t` of `va` walked in a space of `mode`, when
    /// it is a large page of the kernel half.
    pub fn offer(&mut self, mode: PagingMode, va: u64, t: &Translation) {
        if !kernel_half(mode, va) || !t.page_size.is_power_of_two() {
            return;
        }
        let page = va & !(t.page_size - 1);
        let pa = t.pa & !(t.page_size - 1);
        let offset = page.wrapping_sub(pa);
        if t.page_size >= LARGE {
            self.learn_linear(mode, offset);
        } else if t.page_size != SMALL || !self.linear.contains(&Some((mode, offset))) {
            return;
        }
        // Replaces a stale entry for the same page.
        let slot = self
            .entries
            .iter()
            .position(|e| e.is_some_and(|k| k.mode == mode && k.page == page))
            .unwrap_or_else(|| {
                let n = self.next;
                self.next = (self.next + 1) % ENTRIES;
                n
            });
        self.entries[slot] = Some(Kept {
            mode,
            page,
            size: t.page_size,
            pa,
            uses: 0,
        });
    }

    /// Remembers the offset of a linear map a large page belongs to.
    fn learn_linear(&mut self, mode: PagingMode, offset: u64) {
        if self.linear.contains(&Some((mode, offset))) {
            return;
        }
        self.linear[self.next_linear] = Some((mode, offset));
        self.next_linear = (self.next_linear + 1) % LINEAR;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(pa: u64, size: u64) -> Translation {
        Translation {
            pa,
            page_size: size,
            writable: true,
            user: false,
        }
    }

    const DIRECT: u64 = 0xffff_8880_0000_0000;

    #[test]
    fn large_kernel_pages_are_kept_and_expire() {
        let mut k = KernelPages::default();
        let m = PagingMode::Long4;
        assert_eq!(k.lookup(m, DIRECT + 0x1234, 8), None);
        k.offer(m, DIRECT + 0x1234, &t(0x1234, 1 << 30));
        assert_eq!(k.lookup(m, DIRECT + 0x5000, 8), Some(0x5000));
        // A read running past the page's end: walked.
        assert_eq!(k.lookup(m, DIRECT + (1 << 30) - 4, 8), None);
        // Another mode: not this entry.
        assert_eq!(k.lookup(PagingMode::Long5, DIRECT + 0x5000, 8), None);
        for _ in 1..MAX_USES {
            assert!(k.lookup(m, DIRECT + 0x40, 8).is_some());
        }
        // Served MAX_USES reads: dropped, walked again.
        assert_eq!(k.lookup(m, DIRECT + 0x40, 8), None);
        assert_eq!(k.lookup(m, DIRECT + 0x40, 8), None);
        k.offer(m, DIRECT + 0x40, &t(0x40, 1 << 30));
        assert_eq!(k.lookup(m, DIRECT + 0x40, 8), Some(0x40));
    }

    #[test]
    fn small_pages_and_the_user_half_are_not_kept() {
        let mut k = KernelPages::default();
        let m = PagingMode::Long4;
        k.offer(m, DIRECT + 0x1000, &t(0x9000, 4096));
        assert_eq!(k.lookup(m, DIRECT + 0x1000, 8), None);
        // Even at the direct map's offset before a large page showed it.
        k.offer(m, DIRECT + 0x1000, &t(0x1000, 4096));
        assert_eq!(k.lookup(m, DIRECT + 0x1000, 8), None);
        k.offer(m, 0x7f00_0000_0000, &t(0x20_0000, 2 << 20));
        assert_eq!(k.lookup(m, 0x7f00_0000_0000, 8), None);
        k.offer(PagingMode::Pae, 0xc000_0000, &t(0x20_0000, 2 << 20));
        assert_eq!(k.lookup(PagingMode::Pae, 0xc000_0000, 8), None);
        // A 2 MiB page of the kernel image.
        k.offer(m, 0xffff_ffff_8120_0010, &t(0x0120_0010, 2 << 20));
        assert_eq!(k.lookup(m, 0xffff_ffff_8120_0100, 4), Some(0x0120_0100));
    }

    #[test]
    fn small_pages_of_a_linear_map_are_kept() {
        let mut k = KernelPages::default();
        let m = PagingMode::Long4;
        // A 2 MiB page of the direct map shows its offset...
        k.offer(m, DIRECT + 0x20_0000, &t(0x20_0000, 2 << 20));
        // ...so a 4 KiB page at the same offset (the top of RAM, split
        // around firmware tables) is kept,
        k.offer(m, DIRECT + 0x7ffe_1b80, &t(0x7ffe_1b80, 4096));
        assert_eq!(k.lookup(m, DIRECT + 0x7ffe_1000, 8), Some(0x7ffe_1000));
        // within its page only,
        assert_eq!(k.lookup(m, DIRECT + 0x7ffe_0ff8, 8), None);
        assert_eq!(k.lookup(m, DIRECT + 0x7ffe_1ffc, 8), None);
        // and a vmalloc'd page, at no linear map's offset, is not.
        let vmalloc = 0xffff_c900_0001_2000;
        k.offer(m, vmalloc, &t(0x7ffe_1000, 4096));
        assert_eq!(k.lookup(m, vmalloc, 8), None);
        // Nor a small page at that offset in another mode.
        k.offer(PagingMode::Long5, DIRECT + 0x3000, &t(0x3000, 4096));
        assert_eq!(k.lookup(PagingMode::Long5, DIRECT + 0x3000, 8), None);
    }
}
