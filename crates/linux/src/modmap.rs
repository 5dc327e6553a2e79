//! Module maps and symbols for the caller of a call: each address
//! space's file-backed areas ([`crate::vma`]), cached until a call that
//! changes the map (mmap, munmap, mprotect, mremap, execve, exit_group)
//! returns, and each module's exported functions read from its ELF
//! dynamic symbol table in guest memory, cached across maps (a map is
//! read again after every mmap; its modules' tables are not).
//!
//! The ELF image is hostile: the header, program headers, dynamic
//! section and tables are read with bounded sizes ([`MAX_SYMS`],
//! [`MAX_STRTAB`]), and a value that points nowhere gives no symbol.

use std::collections::HashMap;
use std::sync::Arc;

use vstrace_core::VirtMem;

use crate::vma::Area;

/// Most symbols read from one module's `.dynsym`.
pub const MAX_SYMS: u64 = 1 << 16;
/// Largest `.dynstr` read.
pub const MAX_STRTAB: u64 = 1 << 20;
/// Most address spaces whose maps are cached (all dropped when full).
pub const MAX_MAPS: usize = 256;

/// One exported function: start (relative to the module's load bias),
/// size and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sym {
    /// `st_value`.
    pub value: u64,
    /// `st_size`.
    pub size: u64,
    /// The name from `.dynstr`.
    pub name: String,
}

/// A module's functions, sorted by address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SymTab {
    /// Sorted by `value`.
    pub syms: Vec<Sym>,
    /// What symbol values are relative to (the load base of a shared
    /// object, 0 for a fixed-address executable).
    pub bias: u64,
}

impl SymTab {
    /// The function holding `addr` and the offset into it.
    pub fn lookup(&self, addr: u64) -> Option<(&str, u64)> {
        let rel = addr.checked_sub(self.bias)?;
        let i = self.syms.partition_point(|s| s.value <= rel);
        let s = self.syms.get(i.checked_sub(1)?)?;
        (rel < s.value.saturating_add(s.size.max(1))).then(|| (s.name.as_str(), rel - s.value))
    }
}

/// One address space's map and the symbol tables read so far.
#[derive(Debug, Default)]
pub struct ModMap {
    /// Its areas, sorted.
    pub areas: Vec<Area>,
    /// The load base of each area's module ([`crate::vma::module_base`]),
    /// computed once with the map.
    pub bases: Vec<u64>,
    /// Symbol tables by module load base (`None`: unreadable).
    pub syms: HashMap<u64, Option<Arc<SymTab>>>,
    /// `-k`: each module's unwind tables and functions, with its load
    /// bias, by module load base (`None`: no ELF image there).
    pub modules: HashMap<u64, Option<(Arc<crate::elfmod::Module>, u64)>>,
}

/// The cache of [`ModMap`]s by address space, with the spaces whose map
/// a call may have changed since.
#[derive(Debug, Default)]
pub struct MapCache {
    /// Maps by address space (CR3 key).
    pub maps: HashMap<u64, ModMap>,
    /// Spaces in which a map-changing call was entered: their map is
    /// dropped at the next enter there (the call has returned by then).
    pub dirty: std::collections::HashSet<u64>,
    /// `-k`: modules by path and build id, shared by every map that
    /// maps them (kept when maps are dropped; cleared when full).
    pub modules: HashMap<(String, Vec<u8>), Arc<crate::elfmod::Module>>,
    /// `-k`: the same modules by path and `struct inode *`: a forked
    /// child's areas share the parent's file, but not its page-table
    /// entries, and a file mapped again (a library mmap'ed by hand)
    /// has entries only for the pages touched since, so a module's
    /// headers may be unreadable where its code runs.
    pub by_file: HashMap<(String, u64), Arc<crate::elfmod::Module>>,
    /// `-k`: the call frame interpreter's reusable state.
    pub unwinder: crate::unwind::Unwinder,
    /// `--caller`: symbol tables by module (path, `struct file *`, load
    /// base), shared by every map that maps the same file at the same
    /// place (kept when maps are dropped; cleared when full).
    pub syms: HashMap<(String, u64, u64), Arc<SymTab>>,
}

impl ModMap {
    /// The map of `areas`, with their modules' bases.
    pub fn new(areas: Vec<Area>) -> ModMap {
        let bases = areas
            .iter()
            .map(|a| crate::vma::module_base(&areas, a))
            .collect();
        ModMap {
            areas,
            bases,
            syms: HashMap::new(),
            modules: HashMap::new(),
        }
    }
}

impl MapCache {
    /// Notes the enter of syscall `name` in `space`.
    pub fn on_enter(&mut self, space: u64, name: &str) {
        if !self.dirty.is_empty() && self.dirty.remove(&space) {
            self.maps.remove(&space);
        }
        if changes_map(name) {
            if self.dirty.len() >= MAX_MAPS {
                self.dirty.clear();
                self.maps.clear();
            }
            self.dirty.insert(space);
        }
    }
}

/// Whether a call changes the caller's memory map, as far as modules
/// go: not `brk`, which moves only the end of the heap, an anonymous
/// area that names no module (a stale heap bound gives the same answer:
/// none), and which malloc calls often enough that reading the map again
/// after each would cost every traced call.
pub fn changes_map(name: &str) -> bool {
    matches!(
        name,
        "mmap"
            | "mmap2"
            | "munmap"
            | "mprotect"
            | "mremap"
            | "execve"
            | "execveat"
            | "exit_group"
            | "pkey_mprotect"
            | "shmat"
            | "shmdt"
    )
}

/// Reads the exported functions of the ELF module loaded at `base`
/// through its dynamic section (the section headers are not mapped).
pub fn read_dynsym(mem: &mut dyn VirtMem, base: u64) -> Option<SymTab> {
    let h = crate::elfmod::Header::parse(&mut |off, buf| {
        mem.read_virt(base.wrapping_add(off), buf).is_ok()
    })?;
    // ET_DYN images are loaded at base; ET_EXEC at their link addresses.
    let bias = if h.e_type == 3 { base } else { 0 };
    let mut img = crate::elfmod::GuestImage { mem, bias };
    let mut syms: Vec<Sym> = crate::elfmod::dynsym(&mut img, &h, bias)?
        .into_iter()
        // Defined functions (STT_FUNC, STT_GNU_IFUNC) only.
        .filter(|s| (s.kind == 2 || s.kind == 10) && s.value != 0)
        .map(|s| Sym {
            value: s.value,
            size: s.size,
            name: s.name,
        })
        .collect();
    // Aliases share an address: keep the shortest name of each (`write`
    // rather than `__write`), which is what a reader recognises.
    syms.sort_by(|a, b| {
        (a.value, a.name.starts_with('_'), a.name.len()).cmp(&(
            b.value,
            b.name.starts_with('_'),
            b.name.len(),
        ))
    });
    syms.dedup_by_key(|s| s.value);
    Some(SymTab { syms, bias })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::testmem::SparseVirt;

    /// A minimal ET_DYN image at `base`: header, one PT_DYNAMIC, a
    /// dynamic section with DT_SYMTAB/DT_STRTAB/DT_STRSZ (link-time
    /// values), two functions.
    fn image(base: u64) -> SparseVirt {
        let mut m = SparseVirt::new();
        m.map_zeroed(base, 0x3000);
        let mut h = [0u8; 64];
        h[..6].copy_from_slice(b"\x7fELF\x02\x01");
        h[16] = 3;
        h[32..40].copy_from_slice(&64u64.to_le_bytes());
        h[54] = 56;
        h[56] = 1;
        m.map(base, &h);
        let mut ph = [0u8; 56];
        ph[0] = 2;
        ph[16..24].copy_from_slice(&0x1000u64.to_le_bytes());
        m.map(base + 64, &ph);
        let dynv: [(u64, u64); 4] = [(6, 0x2000), (5, 0x2000 + 3 * 24), (10, 32), (0, 0)];
        for (i, (t, v)) in dynv.iter().enumerate() {
            m.map(base + 0x1000 + i as u64 * 16, &t.to_le_bytes());
            m.map(base + 0x1008 + i as u64 * 16, &v.to_le_bytes());
        }
        let sym = |name: u32, value: u64, size: u64| {
            let mut s = [0u8; 24];
            s[0..4].copy_from_slice(&name.to_le_bytes());
            s[4] = 0x12;
            s[6] = 12;
            s[8..16].copy_from_slice(&value.to_le_bytes());
            s[16..24].copy_from_slice(&size.to_le_bytes());
            s
        };
        m.map(base + 0x2000 + 24, &sym(1, 0x500, 0x40));
        m.map(base + 0x2000 + 48, &sym(7, 0x600, 0x10));
        m.map(base + 0x2000 + 72, b"\0write\0getpid\0");
        m
    }

    #[test]
    fn dynsym_from_memory() {
        let base = 0x7f00_0000_0000;
        let mut m = image(base);
        let t = read_dynsym(&mut m, base).unwrap();
        assert_eq!(t.syms.len(), 2);
        assert_eq!(t.lookup(base + 0x514), Some(("write", 0x14)));
        assert_eq!(t.lookup(base + 0x600), Some(("getpid", 0)));
        assert_eq!(t.lookup(base + 0x700), None);
        assert_eq!(t.lookup(base + 0x10), None);
        // Not an ELF image, or nothing mapped.
        assert!(read_dynsym(&mut m, base + 0x1000).is_none());
        assert!(read_dynsym(&mut m, 0x1000).is_none());
    }

    #[test]
    fn maps_are_dropped_after_a_changing_call() {
        let mut c = MapCache::default();
        c.maps.insert(1, ModMap::default());
        c.on_enter(1, "mmap");
        assert!(c.maps.contains_key(&1), "the mmap's own caller uses it");
        c.on_enter(1, "write");
        assert!(!c.maps.contains_key(&1));
        c.maps.insert(1, ModMap::default());
        c.on_enter(1, "write");
        assert!(c.maps.contains_key(&1));
        // brk moves only the heap (anonymous): the map stays.
        c.on_enter(1, "brk");
        c.on_enter(1, "write");
        assert!(c.maps.contains_key(&1));
    }
}
