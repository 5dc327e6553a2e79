//! The modules of a Windows process, from its own loader data (TEB ->
//! PEB -> Ldr -> InLoadOrderModuleList, 32- and 64-bit layouts), and
//! `--caller`: which module and exported function a call's user return
//! address is in ([`CallerCache`]).
//!
//! A 32-bit call (x86, or a WoW64 process's 32-bit code) is looked up in
//! the 32-bit loader data its fs-based TEB names; a 64-bit call in the
//! gs-based TEB's. Everything read is guest memory: every list walk is
//! bounded, every name length capped, and a failure gives no module
//! rather than an error.

use std::collections::HashMap;
use std::sync::Mutex;

use vstrace_core::mem::{MemError, VirtMem};
use vstrace_core::{read, Bitness, Caller, Event, Mechanism, Reg};

use crate::pe::PeImage;

/// Most modules walked on a loader list.
pub const MAX_MODULES: usize = 512;
/// Most address spaces whose modules are cached (the cache starts over).
const MAX_SPACES: usize = 256;
/// Most times one address space's list is read again because a return
/// address was in no module (a module loaded since): a hostile guest
/// must not make every call walk the list.
const MAX_REWALKS: u32 = 64;

/// One module on the loader list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Where it is mapped (DllBase).
    pub base: u64,
    /// SizeOfImage from the entry.
    pub size: u32,
    /// FullDllName (`C:\Windows\System32\ntdll.dll`), else BaseDllName.
    pub path: String,
    /// BaseDllName (`ntdll.dll`).
    pub name: String,
}

impl Module {
    fn contains(&self, addr: u64) -> bool {
        addr.wrapping_sub(self.base) < u64::from(self.size)
    }
}

/// Offsets of the user-mode loader structures.
struct LdrLayout {
    teb_peb: u64,
    peb_ldr: u64,
    ldr_in_load_order: u64,
    entry_dll_base: u64,
    entry_size_of_image: u64,
    entry_full_name: u64,
    entry_base_name: u64,
}

fn ldr_layout(b: Bitness) -> LdrLayout {
    match b {
        Bitness::B64 => LdrLayout {
            teb_peb: 0x60,
            peb_ldr: 0x18,
            ldr_in_load_order: 0x10,
            entry_dll_base: 0x30,
            entry_size_of_image: 0x40,
            entry_full_name: 0x48,
            entry_base_name: 0x58,
        },
        Bitness::B32 => LdrLayout {
            teb_peb: 0x30,
            peb_ldr: 0x0c,
            ldr_in_load_order: 0x0c,
            entry_dll_base: 0x18,
            entry_size_of_image: 0x20,
            entry_full_name: 0x24,
            entry_base_name: 0x2c,
        },
    }
}

/// Why a process's modules could not be listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModulesError {
    /// A read of guest memory failed.
    #[error("{0}")]
    Mem(#[from] MemError),
    /// The TEB, PEB or loader data pointer is NULL (a process too young).
    #[error("no {0}")]
    Null(&'static str),
}

/// The TEB of the thread making the call `event`: gs base for 64-bit
/// code, fs base for 32-bit code (as Windows sets them in user mode).
pub fn teb_of(event: &Event) -> u64 {
    match event.bitness {
        Bitness::B64 => event.regs.gs_base,
        Bitness::B32 => event.regs.fs_base,
    }
}

/// The modules on the InLoadOrderModuleList of the process whose TEB is
/// at `teb`, in list order (at most [`MAX_MODULES`]; a list that loops
/// without coming back to its head ends there). Entries whose names
/// cannot be read are kept with empty names.
pub fn loaded_modules(
    mem: &mut dyn VirtMem,
    teb: u64,
    b: Bitness,
) -> Result<Vec<Module>, ModulesError> {
    let l = ldr_layout(b);
    let nonnull = |v: u64, what| {
        if v == 0 {
            Err(ModulesError::Null(what))
        } else {
            Ok(v)
        }
    };
    nonnull(teb, "TEB")?;
    let peb = nonnull(read::read_ptr(mem, teb.wrapping_add(l.teb_peb), b)?, "PEB")?;
    let ldr = nonnull(
        read::read_ptr(mem, peb.wrapping_add(l.peb_ldr), b)?,
        "PEB.Ldr",
    )?;
    let head = ldr.wrapping_add(l.ldr_in_load_order);
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut entry = read::read_ptr(mem, head, b)?;
    while out.len() < MAX_MODULES && entry != head && entry != 0 && seen.insert(entry) {
        let text = |mem: &mut dyn VirtMem, off: u64| {
            read::read_unicode_string(mem, entry.wrapping_add(off), b)
                .map(|u| u.text)
                .unwrap_or_default()
        };
        let name = text(mem, l.entry_base_name);
        let full = text(mem, l.entry_full_name);
        let base = read::read_ptr(mem, entry.wrapping_add(l.entry_dll_base), b).unwrap_or(0);
        let size = read::read_u32(mem, entry.wrapping_add(l.entry_size_of_image)).unwrap_or(0);
        out.push(Module {
            base,
            size,
            path: if full.is_empty() { name.clone() } else { full },
            name,
        });
        entry = read::read_ptr(mem, entry, b)?;
    }
    Ok(out)
}

/// The module holding `addr`: of those containing it, the one mapped
/// highest (the innermost, should two entries overlap).
pub fn module_at(modules: &[Module], addr: u64) -> Option<&Module> {
    modules
        .iter()
        .filter(|m| m.base != 0 && m.contains(addr))
        .max_by_key(|m| m.base)
}

/// The user return address of the call trapped at `event`: after the
/// 2-byte `syscall`/`int 0x2e`; for `sysenter` (reached by `call` from a
/// stub, `mov edx, esp` before it) the return address at `[edx]`.
pub fn return_address(event: &Event, mem: &mut dyn VirtMem) -> Option<u64> {
    match event.mechanism {
        Mechanism::Sysenter => {
            let edx = event.regs.get(Reg::Rdx) & 0xffff_ffff;
            read::read_u32(mem, edx).ok().map(u64::from)
        }
        _ => {
            let ip = event.regs.rip().wrapping_add(2);
            Some(match event.bitness {
                Bitness::B32 => ip & 0xffff_ffff,
                Bitness::B64 => ip,
            })
        }
    }
}

/// What is cached about one address space.
#[derive(Default)]
struct Space {
    modules: Vec<Module>,
    /// Per module base: its exports sorted by address (empty when the
    /// image or its export table could not be read).
    exports: HashMap<u64, Vec<(u64, String)>>,
    rewalks: u32,
}

/// `--caller` for Windows: module lists and export tables, cached per
/// address space and bitness (a WoW64 process has two lists).
#[derive(Default)]
pub struct CallerCache {
    spaces: Mutex<HashMap<(u64, Bitness), Space>>,
}

impl CallerCache {
    /// Who made the call trapped at `event`: its return address, the
    /// module there and the exported function holding it (`NtOpenFile+0x14`).
    pub fn caller(&self, event: &Event, mem: &mut dyn VirtMem) -> Option<Caller> {
        let ip = return_address(event, mem)?;
        let key = (event.cr3 & 0x000f_ffff_ffff_e000, event.bitness);
        let mut spaces = self.spaces.lock().unwrap_or_else(|e| e.into_inner());
        if !spaces.contains_key(&key) && spaces.len() >= MAX_SPACES {
            spaces.clear();
        }
        let space = spaces.entry(key).or_default();
        let stale = module_at(&space.modules, ip).is_none();
        if space.modules.is_empty() || (stale && space.rewalks < MAX_REWALKS) {
            if !space.modules.is_empty() {
                space.rewalks += 1;
            }
            if let Ok(m) = loaded_modules(mem, teb_of(event), event.bitness) {
                space
                    .exports
                    .retain(|base, _| m.iter().any(|x| x.base == *base));
                space.modules = m;
            }
        }
        let Some(m) = module_at(&space.modules, ip).cloned() else {
            return Some(Caller {
                ip,
                module: None,
                offset: None,
                symbol: None,
            });
        };
        let exports = space
            .exports
            .entry(m.base)
            .or_insert_with(|| sorted_exports(mem, m.base));
        Some(Caller {
            ip,
            module: Some(m.path),
            offset: Some(ip - m.base),
            symbol: symbol_at(exports, ip),
        })
    }
}

/// The exports of the image at `base`, sorted by address (for one
/// address the alphabetically first name: `NtClose` before `ZwClose`).
fn sorted_exports(mem: &mut dyn VirtMem, base: u64) -> Vec<(u64, String)> {
    let Ok(img) = PeImage::read(mem, base) else {
        return Vec::new();
    };
    let mut v: Vec<(u64, String)> = img
        .exports(mem)
        .map(|e| e.into_iter().map(|e| (e.addr, e.name)).collect())
        .unwrap_or_default();
    v.sort();
    v.dedup_by_key(|e| e.0);
    v
}

/// `name+0xoff` of the export at or below `ip` (sorted `exports`).
fn symbol_at(exports: &[(u64, String)], ip: u64) -> Option<String> {
    let i = exports.partition_point(|e| e.0 <= ip).checked_sub(1)?;
    let (addr, name) = &exports[i];
    Some(format!("{name}+{:#x}", ip - addr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pe::tests::image;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::Regs;

    /// A UNICODE_STRING at `at` naming `s` (buffer at `buf`).
    fn us(m: &mut SparseVirt, b: Bitness, at: u64, buf: u64, s: &str) {
        let w: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mut v = (w.len() as u16).to_le_bytes().to_vec();
        v.extend_from_slice(&(w.len() as u16).to_le_bytes());
        match b {
            Bitness::B64 => {
                v.extend_from_slice(&[0; 4]);
                v.extend_from_slice(&buf.to_le_bytes());
            }
            Bitness::B32 => v.extend_from_slice(&(buf as u32).to_le_bytes()),
        }
        m.map(at, &v);
        m.map(buf, &w);
    }

    fn ptr(m: &mut SparseVirt, b: Bitness, at: u64, v: u64) {
        match b {
            Bitness::B64 => m.map(at, &v.to_le_bytes()),
            Bitness::B32 => m.map(at, &(v as u32).to_le_bytes()),
        }
    }

    const TEB: u64 = 0x7ff0_0000;
    const DLL: u64 = 0x7700_0000;

    /// A process with the program at 0x40_0000 and "ntdll" at DLL, in
    /// the layout of `b`; returns the memory.
    fn process(b: Bitness) -> SparseVirt {
        let l = ldr_layout(b);
        let mut m = SparseVirt::new();
        let (peb, ldr, e1, e2) = (0x7ff1_0000, 0x7ff2_0000, 0x7ff2_0100, 0x7ff2_0200);
        ptr(&mut m, b, TEB + l.teb_peb, peb);
        ptr(&mut m, b, peb + l.peb_ldr, ldr);
        let head = ldr + l.ldr_in_load_order;
        ptr(&mut m, b, head, e1);
        ptr(&mut m, b, e1, e2);
        ptr(&mut m, b, e2, head);
        for (e, base, size, name, full) in [
            (e1, 0x40_0000u64, 0x1000u32, "app.exe", "C:\\app\\app.exe"),
            (
                e2,
                DLL,
                0x2000,
                "ntdll.dll",
                "C:\\Windows\\System32\\ntdll.dll",
            ),
        ] {
            ptr(&mut m, b, e + l.entry_dll_base, base);
            m.map(e + l.entry_size_of_image, &size.to_le_bytes());
            us(&mut m, b, e + l.entry_base_name, e + 0x800, name);
            us(&mut m, b, e + l.entry_full_name, e + 0x900, full);
        }
        let img = image(
            &[
                ("NtClose", 0x1000),
                ("NtOpenFile", 0x1020),
                ("ZwClose", 0x1000),
            ],
            true,
            0x2000,
        );
        m.map(DLL, &img);
        m
    }

    #[test]
    fn modules_and_callers_in_both_layouts() {
        for b in [Bitness::B64, Bitness::B32] {
            let mut m = process(b);
            let mods = loaded_modules(&mut m, TEB, b).unwrap();
            let names: Vec<_> = mods
                .iter()
                .map(|m| (m.base, m.size, m.name.as_str()))
                .collect();
            assert_eq!(
                names,
                [(0x40_0000, 0x1000, "app.exe"), (DLL, 0x2000, "ntdll.dll")]
            );
            assert_eq!(mods[1].path, "C:\\Windows\\System32\\ntdll.dll");
            assert_eq!(module_at(&mods, DLL + 0x1fff).map(|m| m.base), Some(DLL));
            assert!(module_at(&mods, DLL + 0x2000).is_none());

            let mut regs = Regs {
                cr3: 0x1000,
                ..Default::default()
            };
            match b {
                Bitness::B64 => regs.gs_base = TEB,
                Bitness::B32 => regs.fs_base = TEB,
            }
            regs.set(Reg::Rip, DLL + 0x1032);
            let ev = Event::new(0, Mechanism::Syscall, b, regs.clone());
            let cache = CallerCache::default();
            let c = cache.caller(&ev, &mut m).unwrap();
            assert_eq!(c.ip, DLL + 0x1034);
            assert_eq!(
                c.module.as_deref(),
                Some("C:\\Windows\\System32\\ntdll.dll")
            );
            assert_eq!(
                (c.offset, c.symbol.as_deref()),
                (Some(0x1034), Some("NtOpenFile+0x14"))
            );
            // sysenter: the return address at [edx].
            regs.set(Reg::Rdx, 0x7ff3_0000);
            m.map(0x7ff3_0000, &((DLL + 0x100c) as u32).to_le_bytes());
            let ev = Event::new(0, Mechanism::Sysenter, Bitness::B32, regs.clone());
            if b == Bitness::B32 {
                let c = cache.caller(&ev, &mut m).unwrap();
                assert_eq!(c.symbol.as_deref(), Some("NtClose+0xc"));
            }
            // Outside every module: the address only.
            regs.set(Reg::Rip, 0x9000_0000);
            let ev = Event::new(0, Mechanism::Syscall, b, regs);
            let c = cache.caller(&ev, &mut m).unwrap();
            assert_eq!((c.module, c.symbol), (None, None));
        }
    }

    #[test]
    fn hostile_loader_lists_end() {
        let b = Bitness::B64;
        let l = ldr_layout(b);
        let mut m = process(b);
        // The second entry points back at the first: a loop without the head.
        ptr(&mut m, b, 0x7ff2_0200, 0x7ff2_0100);
        assert_eq!(loaded_modules(&mut m, TEB, b).unwrap().len(), 2);
        // An entry pointing at itself, names unreadable.
        ptr(&mut m, b, 0x7ff2_0100, 0x7ff2_0100);
        m.map(0x7ff2_0100 + l.entry_base_name, &[0xff; 16]);
        assert_eq!(loaded_modules(&mut m, TEB, b).unwrap().len(), 1);
        assert_eq!(loaded_modules(&mut m, 0, b), Err(ModulesError::Null("TEB")));
    }
}
