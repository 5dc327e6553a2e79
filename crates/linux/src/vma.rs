//! A process's memory areas read from outside: `task->mm` → the VMA tree
//! (the maple tree `mm_mt` of 6.1+, or the `mmap`/`vm_next` list before)
//! → each `vm_area_struct`'s range, file offset and file path.
//!
//! The tree is hostile memory that may change under the walk: node and
//! area pointers must be kernel addresses, each area must name the walked
//! `mm` as its own, the walk visits at most [`MAX_NODES`] nodes to a depth
//! of [`MAX_DEPTH`] and keeps at most [`MAX_AREAS`] areas; anything else
//! ends that branch, never the process.

use vstrace_core::VirtMem;

use crate::files::{self, FdDetail};
use crate::profile::layouts::MmLayout;
use crate::profile::runtime::{kernel_ptr as kptr, read_ptr};
use crate::profile::LinuxProfile;

/// Most tree nodes (or list elements) visited for one map.
pub const MAX_NODES: usize = 4096;
/// Deepest maple tree walked (a 64-bit tree holds far more than any
/// process's areas at depth 8).
pub const MAX_DEPTH: usize = 12;
/// Most areas kept (`vm.max_map_count` defaults to 65530; more than any
/// process traced here).
pub const MAX_AREAS: usize = 8192;

/// Maple node types (`enum maple_type`): leaves hold the entries.
const MAPLE_LEAF_64: u64 = 1;
const MAPLE_RANGE_64: u64 = 2;
const MAPLE_ARANGE_64: u64 = 3;

/// One mapped area of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    /// First address.
    pub start: u64,
    /// First address past the end.
    pub end: u64,
    /// Offset in the file, in bytes (`vm_pgoff` pages).
    pub file_offset: u64,
    /// The mapped file's path, for file-backed areas.
    pub path: Option<String>,
    /// The `struct file *` (areas of one module share it, or its inode).
    pub file: u64,
    /// The file's `struct inode *` (0: none or unreadable): the same for
    /// every mapping of one file, whichever `open` made it (a library
    /// mapped again by hand, a forked child's areas).
    pub inode: u64,
    /// `VM_EXEC`: the area is mapped executable (strace names stack
    /// frames only in executable file mappings).
    pub exec: bool,
}

/// `vm_flags` bit of an executable mapping.
const VM_EXEC: u64 = 0x4;

/// The `mm_struct` of `task` (`None` for kernel threads).
pub fn task_mm(mem: &mut dyn VirtMem, prof: &LinuxProfile, task: u64) -> Option<u64> {
    kptr(mem, prof, task.wrapping_add(prof.task.mm?))
}

/// The areas of `mm` (the memory of `task`, whose root paths are seen
/// from), sorted by address.
pub fn areas(mem: &mut dyn VirtMem, prof: &LinuxProfile, task: u64, mm: u64) -> Option<Vec<Area>> {
    let l = prof.mm.as_ref()?;
    let vmas = vma_pointers(mem, prof, l, mm)?;
    let mut out: Vec<Area> = Vec::new();
    let mut paths: Vec<(u64, Option<String>, u64)> = Vec::new();
    for vma in vmas {
        let Some(a) = area(mem, prof, l, task, mm, vma, &mut paths) else {
            continue;
        };
        out.push(a);
    }
    out.sort_by_key(|a| a.start);
    out.dedup_by_key(|a| a.start);
    Some(out)
}

/// The `vm_area_struct` pointers of `mm`, unchecked, in tree (or list)
/// order.
fn vma_pointers(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    l: &MmLayout,
    mm: u64,
) -> Option<Vec<u64>> {
    let mut vmas = Vec::new();
    let mut budget = MAX_NODES;
    if let Some(root) = l.mt_root {
        let entry = read_ptr(mem, prof, mm.wrapping_add(root)).ok()?;
        walk_maple(mem, prof, l, entry, 0, &mut budget, &mut vmas);
    } else {
        let mut v = kptr(mem, prof, mm.wrapping_add(l.mmap?));
        while let Some(vma) = v {
            if budget == 0 || vmas.len() >= MAX_AREAS {
                break;
            }
            budget -= 1;
            vmas.push(vma);
            v = kptr(mem, prof, vma.wrapping_add(l.vm_next?));
        }
    }
    Some(vmas)
}

/// What the kernel keeps about one area beyond its range: enough to tell
/// how a page of it nobody touched yet would read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vma {
    /// First address.
    pub start: u64,
    /// First address past the end.
    pub end: u64,
    /// `vm_flags`.
    pub flags: u64,
    /// The `struct file *` (0: no file).
    pub file: u64,
    /// The `vm_operations_struct *` (None: the layout does not say).
    pub ops: Option<u64>,
}

/// The area of `mm` holding `addr` (only its own: `vm_mm` is checked),
/// without its file's name: no path walk.
pub fn vma_at(mem: &mut dyn VirtMem, prof: &LinuxProfile, mm: u64, addr: u64) -> Option<Vma> {
    let l = prof.mm.as_ref()?;
    let word =
        |mem: &mut dyn VirtMem, vma: u64, off: u64| read_ptr(mem, prof, vma.wrapping_add(off)).ok();
    for vma in vma_pointers(mem, prof, l, mm)? {
        let (Some(start), Some(end)) = (word(mem, vma, l.vm_start), word(mem, vma, l.vm_end))
        else {
            continue;
        };
        if !(start..end).contains(&addr) || word(mem, vma, l.vm_mm) != Some(mm) {
            continue;
        }
        return Some(Vma {
            start,
            end,
            flags: word(mem, vma, l.vm_flags)?,
            file: word(mem, vma, l.vm_file)?,
            ops: match l.vm_ops {
                Some(off) => Some(word(mem, vma, off)?),
                None => None,
            },
        });
    }
    None
}

/// Reads one `vm_area_struct`, checked to belong to `mm`; `paths`
/// remembers the files already named in this map, with their inodes.
fn area(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    l: &MmLayout,
    task: u64,
    mm: u64,
    vma: u64,
    paths: &mut Vec<(u64, Option<String>, u64)>,
) -> Option<Area> {
    let word = |mem: &mut dyn VirtMem, off: u64| read_ptr(mem, prof, vma.wrapping_add(off)).ok();
    let start = word(mem, l.vm_start)?;
    let end = word(mem, l.vm_end)?;
    if start >= end || word(mem, l.vm_mm)? != mm {
        return None;
    }
    let pgoff = word(mem, l.vm_pgoff)?;
    let flags = word(mem, l.vm_flags).unwrap_or(0);
    let file = kptr(mem, prof, vma.wrapping_add(l.vm_file)).unwrap_or(0);
    let (path, inode) = if file == 0 {
        (None, 0)
    } else if let Some((_, p, i)) = paths.iter().find(|(f, ..)| *f == file) {
        (p.clone(), *i)
    } else {
        let p = files::file_name(mem, prof, task, file, FdDetail::default());
        let i = prof
            .files
            .as_ref()
            .and_then(|l| kptr(mem, prof, file.wrapping_add(l.file_inode)))
            .unwrap_or(0);
        if paths.len() < MAX_AREAS {
            paths.push((file, p.clone(), i));
        }
        (p, i)
    };
    Some(Area {
        start,
        end,
        file_offset: pgoff.wrapping_mul(4096),
        path,
        file,
        inode,
        exec: flags & VM_EXEC != 0,
    })
}

/// Collects the entries (VMA pointers) of the maple subtree `entry`.
fn walk_maple(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    l: &MmLayout,
    entry: u64,
    depth: usize,
    budget: &mut usize,
    out: &mut Vec<u64>,
) {
    if *budget == 0 || depth > MAX_DEPTH || out.len() >= MAX_AREAS {
        return;
    }
    *budget -= 1;
    let psize = prof.pointer_size.clamp(4, 8);
    // The root is a node when it is an internal entry (xa_is_node: low
    // bits 10, MAPLE_ROOT_NODE); a tree of one entry holds it in the root
    // itself. Below the root every slot of a non-leaf is an encoded node
    // (node | type << 3 | MAPLE_ENODE_NULL).
    if depth == 0 && (entry & 3 != 2 || entry <= 4096) {
        if entry >= prof.kernel_min && entry % psize == 0 {
            out.push(entry);
        }
        return;
    }
    let node = entry & !0xff;
    if node < prof.kernel_min {
        return;
    }
    let ty = (entry >> 3) & 0xf;
    // MAPLE_RANGE64_SLOTS / MAPLE_ARANGE64_SLOTS: 16 / 10 with 8-byte
    // pointers, 32 / 21 with 4-byte ones (a node is 256 bytes either way).
    let (slot_off, nslots) = match (ty, psize) {
        (MAPLE_LEAF_64 | MAPLE_RANGE_64, 8) => (l.range_slot, 16),
        (MAPLE_ARANGE_64, 8) => (l.arange_slot, 10),
        (MAPLE_LEAF_64 | MAPLE_RANGE_64, _) => (l.range_slot, 32),
        (MAPLE_ARANGE_64, _) => (l.arange_slot, 21),
        _ => return,
    };
    let mut raw = [0u8; 128];
    let Some(buf) = raw.get_mut(..nslots * psize as usize) else {
        return;
    };
    if mem.read_virt(node.wrapping_add(slot_off), buf).is_err() {
        return;
    }
    let slots: Vec<u64> = buf
        .chunks_exact(psize as usize)
        .map(|c| match *c {
            [a, b, c, d] => u64::from(u32::from_le_bytes([a, b, c, d])),
            _ => u64::from_le_bytes(c.try_into().unwrap_or([0; 8])),
        })
        .collect();
    for s in slots {
        if s == 0 {
            continue;
        }
        if ty == MAPLE_LEAF_64 {
            if s >= prof.kernel_min && s % psize == 0 && out.len() < MAX_AREAS && !out.contains(&s)
            {
                out.push(s);
            }
        } else {
            walk_maple(mem, prof, l, s, depth + 1, budget, out);
        }
    }
}

/// The area holding `addr` in a sorted map.
pub fn find(areas: &[Area], addr: u64) -> Option<&Area> {
    find_index(areas, addr).map(|i| &areas[i])
}

/// The index of the area holding `addr` in a sorted map.
pub fn find_index(areas: &[Area], addr: u64) -> Option<usize> {
    let i = areas.partition_point(|a| a.start <= addr).checked_sub(1)?;
    (addr < areas.get(i)?.end).then_some(i)
}

/// Where the module mapped in `a` starts: the lowest address of the
/// areas mapping the same file that map its first page (the ELF load
/// base), else `a`'s own start minus its file offset.
pub fn module_base(areas: &[Area], a: &Area) -> u64 {
    areas
        .iter()
        .filter(|b| {
            b.file_offset == 0 && b.path.is_some() && b.path == a.path && b.start <= a.start
        })
        .map(|b| b.start)
        .max()
        .unwrap_or(a.start.wrapping_sub(a.file_offset))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use vstrace_core::testmem::SparseVirt;

    const K: u64 = 0xffff_8880_0200_0000;

    fn prof() -> LinuxProfile {
        let mut p = crate::profile::layouts::synthetic_profile();
        p.mm = Some(mm_layout());
        p
    }

    /// The memory map's layout of the synthetic trees here (6.1's
    /// `vm_area_struct`, maple nodes), shared with the other walkers'
    /// tests.
    pub(crate) fn mm_layout() -> MmLayout {
        MmLayout {
            mt_root: Some(0x8),
            mmap: None,
            vm_next: None,
            vm_start: 0,
            vm_end: 8,
            vm_mm: 16,
            vm_pgoff: 104,
            vm_file: 112,
            vm_flags: 32,
            vm_ops: Some(96),
            range_pivot: 8,
            range_slot: 128,
            arange_pivot: 8,
            arange_slot: 80,
        }
    }

    /// An mm whose maple root is an arange node over two leaves holding
    /// three areas (anonymous: no file).
    fn world(p: &LinuxProfile) -> (SparseVirt, u64, u64) {
        let l = p.mm.clone().unwrap();
        let mut mem = SparseVirt::new();
        let mm = K;
        mem.map_zeroed(mm, 0x100);
        let vma = |mem: &mut SparseVirt, i: u64, start: u64, end: u64| {
            let v = K + 0x1000 + i * 0x100;
            mem.map_zeroed(v, 0x100);
            mem.map(v + l.vm_start, &start.to_le_bytes());
            mem.map(v + l.vm_end, &end.to_le_bytes());
            mem.map(v + l.vm_mm, &mm.to_le_bytes());
            v
        };
        let a = vma(&mut mem, 0, 0x40_0000, 0x40_1000);
        let b = vma(&mut mem, 1, 0x7f00_0000, 0x7f00_2000);
        let c = vma(&mut mem, 2, 0x7fff_0000, 0x7fff_1000);
        let leaf1 = K + 0x4000;
        let leaf2 = K + 0x4100;
        let top = K + 0x4200;
        for n in [leaf1, leaf2, top] {
            mem.map_zeroed(n, 0x100);
        }
        mem.map(leaf1 + l.range_slot, &a.to_le_bytes());
        mem.map(leaf1 + l.range_slot + 16, &b.to_le_bytes());
        mem.map(leaf2 + l.range_slot + 8, &c.to_le_bytes());
        let enc = |n: u64, ty: u64| n | (ty << 3) | 4;
        mem.map(
            top + l.arange_slot,
            &enc(leaf1, MAPLE_LEAF_64).to_le_bytes(),
        );
        mem.map(
            top + l.arange_slot + 8,
            &enc(leaf2, MAPLE_LEAF_64).to_le_bytes(),
        );
        mem.map(mm + 8, &(enc(top, MAPLE_ARANGE_64) | 2).to_le_bytes());
        (mem, mm, top)
    }

    #[test]
    fn maple_tree_areas_sorted_and_found() {
        let p = prof();
        let (mut mem, mm, _) = world(&p);
        let v = areas(&mut mem, &p, 0, mm).unwrap();
        let starts: Vec<u64> = v.iter().map(|a| a.start).collect();
        assert_eq!(starts, [0x40_0000, 0x7f00_0000, 0x7fff_0000]);
        assert_eq!(find(&v, 0x7f00_1fff).map(|a| a.start), Some(0x7f00_0000));
        assert_eq!(find(&v, 0x7f00_2000), None);
        assert_eq!(find(&v, 0x10), None);
    }

    #[test]
    fn a_tree_pointing_at_itself_ends() {
        let p = prof();
        let l = p.mm.clone().unwrap();
        let (mut mem, mm, top) = world(&p);
        // The top node's third slot points back at the top node.
        let enc = top | (MAPLE_ARANGE_64 << 3) | 4;
        mem.map(top + l.arange_slot + 16, &enc.to_le_bytes());
        let v = areas(&mut mem, &p, 0, mm).unwrap();
        assert_eq!(v.len(), 3);
        // Areas of another mm are left out.
        mem.map(K + 0x1000 + l.vm_mm, &1u64.to_le_bytes());
        assert_eq!(areas(&mut mem, &p, 0, mm).unwrap().len(), 2);
    }
}
