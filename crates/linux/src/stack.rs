//! `-k`: a process's user stack as strace prints it, walked over its
//! module map ([`crate::modmap`]) with each module's unwind tables and
//! symbols ([`crate::elfmod`], cached by path and build id) and the
//! unwinder of [`crate::unwind`].
//!
//! strace names a frame only in an executable file mapping and ends the
//! stack at the first other one (`unexpected_backtracing_error`); so
//! does this walk, so that the two stacks can be compared frame by frame.
//! One exception, for 32-bit processes (which strace does not unwind):
//! their calls enter through the vDSO's `__kernel_vsyscall`, whose frame
//! is named `[vdso]` and unwound with the vDSO's own tables.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use vstrace_core::{StackFrame, VirtMem};

use crate::elfmod::{self, Module};
use crate::modmap::{MapCache, ModMap};
use crate::unwind::{Arch, Regs, Unwinder, MAX_FRAMES};

/// The name of the vDSO's frames (as `/proc/PID/maps` names its area).
pub const VDSO: &str = "[vdso]";

/// Whether the executable anonymous area `a` is the vDSO: an ELF image
/// the kernel mapped (no file). Only 32-bit walks ask: their calls go
/// through it; a 64-bit stack ends there as strace's does.
pub fn is_vdso(mem: &mut dyn VirtMem, a: &crate::vma::Area) -> bool {
    let mut magic = [0u8; 4];
    a.path.is_none() && mem.read_virt(a.start, &mut magic).is_ok() && &magic == b"\x7fELF"
}

/// Most modules kept across maps (the cache is cleared when full).
pub const MAX_MODULES: usize = 256;

/// The stack of the call whose registers are `regs`, in the address
/// space whose map is `cache.maps[space]` (absent: no frame).
pub fn walk(
    mem: &mut dyn VirtMem,
    cache: &mut MapCache,
    space: u64,
    regs: Regs,
    dirs: &[PathBuf],
) -> Vec<StackFrame> {
    let MapCache {
        maps,
        modules,
        by_file,
        unwinder,
        ..
    } = cache;
    let Some(map) = maps.get_mut(&space) else {
        return Vec::new();
    };
    let mut shared = Shared { modules, by_file };
    walk_map(mem, map, &mut shared, unwinder, regs, dirs)
}

fn walk_map(
    mem: &mut dyn VirtMem,
    map: &mut ModMap,
    shared: &mut Shared<'_>,
    unwinder: &mut Unwinder,
    mut r: Regs,
    dirs: &[PathBuf],
) -> Vec<StackFrame> {
    let top = r.sp;
    let mut out = Vec::new();
    // The first frame's ip is the call's own address, as is the ip of a
    // frame a signal interrupted (after a signal frame).
    let mut first = true;
    for _ in 0..MAX_FRAMES {
        let Some(i) = crate::vma::find_index(&map.areas, r.ip).filter(|&i| {
            let a = &map.areas[i];
            a.exec && (a.path.is_some() || (r.arch == Arch::I386 && is_vdso(mem, a)))
        }) else {
            out.push(StackFrame {
                ip: r.ip,
                module: None,
                offset: None,
                symbol: None,
                file_offset: None,
            });
            break;
        };
        let area = &map.areas[i];
        let base = map.bases.get(i).copied().unwrap_or(area.start);
        // A 32-bit call enters through the vDSO's __kernel_vsyscall: its
        // frame is named as /proc/PID/maps names the area, and its own
        // unwind table leads to the libc function that called it.
        let vdso = area.path.is_none();
        let path = area.path.clone().or_else(|| Some(VDSO.to_string()));
        let file_offset = r.ip.wrapping_sub(area.start).wrapping_add(area.file_offset);
        let code = CodeAt {
            ip: r.ip,
            area_start: area.start,
            area_end: area.end,
            area_offset: area.file_offset,
        };
        let inode = area.inode;
        let module = map
            .modules
            .entry(base)
            .or_insert_with(|| {
                let p = path.as_deref().filter(|_| !vdso);
                module_at(mem, shared, base, p, inode, Some(code), dirs)
            })
            .clone();
        // The call's own address names the first frame; a return
        // address is looked up at the call before it (libunwind's rule).
        let back = u64::from(!first);
        let symbol = module.as_ref().and_then(|(m, bias)| {
            let (name, off) = m
                .syms
                .nearest(r.ip.wrapping_sub(back).wrapping_sub(*bias))?;
            Some(format!("{name}+{:#x}", off + back))
        });
        out.push(StackFrame {
            ip: r.ip,
            module: path,
            offset: Some(r.ip.wrapping_sub(base)),
            symbol,
            file_offset: Some(file_offset),
        });
        let m = module.as_ref().map(|(m, bias)| (m.as_ref(), *bias));
        match unwinder.step(mem, m, r, first, top) {
            Some(next) => {
                r = next.regs;
                first = next.exact;
            }
            None => break,
        }
    }
    out
}

/// Where a call of a process of `arch` made by `mechanism` at `rip`
/// returns to in user mode (the first frame's ip, as a tracer reads it
/// at the call's stop): after the 2-byte `syscall` or `int $0x80`; for a
/// 32-bit `sysenter` or compat `syscall` (made in the vDSO's
/// `__kernel_vsyscall`), the kernel's landing pad after the `int $0x80`
/// that follows them there.
pub fn return_point(arch: Arch, mechanism: vstrace_core::Mechanism, rip: u64) -> u64 {
    use vstrace_core::Mechanism::{Syscall, Sysenter};
    match (arch, mechanism) {
        (Arch::I386, Sysenter | Syscall) => rip.wrapping_add(4) & u64::from(u32::MAX),
        (Arch::I386, _) => rip.wrapping_add(2) & u64::from(u32::MAX),
        (Arch::X86_64, _) => rip.wrapping_add(2),
    }
}

/// The caller of a 32-bit call whose first frame is `r`: `r.ip`, or,
/// when that is in the vDSO, where its `__kernel_vsyscall` returns to
/// (unwound with the vDSO's own tables), which is the libc function a
/// user sees as the caller. `r.ip` when the map or tables are missing.
pub fn caller_ip(
    mem: &mut dyn VirtMem,
    cache: &mut MapCache,
    space: u64,
    r: Regs,
    dirs: &[PathBuf],
) -> u64 {
    let MapCache {
        maps,
        modules,
        by_file,
        unwinder,
        ..
    } = cache;
    let Some(map) = maps.get_mut(&space) else {
        return r.ip;
    };
    let Some(i) = crate::vma::find_index(&map.areas, r.ip)
        .filter(|&i| map.areas[i].exec && is_vdso(mem, &map.areas[i]))
    else {
        return r.ip;
    };
    let base = map.bases.get(i).copied().unwrap_or(map.areas[i].start);
    let mut shared = Shared { modules, by_file };
    let module = map
        .modules
        .entry(base)
        .or_insert_with(|| module_at(mem, &mut shared, base, None, 0, None, dirs))
        .clone();
    let m = module.as_ref().map(|(m, bias)| (m.as_ref(), *bias));
    unwinder
        .step(mem, m, r, true, r.sp)
        .map_or(r.ip, |s| s.regs.ip)
}

/// The run's module caches (see [`MapCache::modules`] and
/// [`MapCache::by_file`]).
struct Shared<'a> {
    modules: &'a mut HashMap<(String, Vec<u8>), Arc<Module>>,
    by_file: &'a mut HashMap<(String, u64), Arc<Module>>,
}

/// Where a frame's code runs in its file-backed area.
#[derive(Debug, Clone, Copy)]
struct CodeAt {
    ip: u64,
    area_start: u64,
    area_end: u64,
    /// The area's offset in its file.
    area_offset: u64,
}

impl CodeAt {
    /// The page of code at `ip` (readable: the guest runs it) and its
    /// offset in the file.
    fn page(&self, mem: &mut dyn VirtMem) -> Option<(u64, Vec<u8>)> {
        let start = (self.ip & !0xfff).max(self.area_start);
        let end = ((self.ip | 0xfff).wrapping_add(1)).min(self.area_end);
        let mut buf = vec![0; usize::try_from(end.checked_sub(start)?).ok()?.min(4096)];
        mem.read_virt(start, &mut buf).ok()?;
        let off = start
            .wrapping_sub(self.area_start)
            .checked_add(self.area_offset)?;
        Some((off, buf))
    }
}

/// The module mapped at `base` (from the file with `inode`), from the
/// shared caches when its build id, or else its file, is known; else
/// read (and cached when it has a build id).
fn module_at(
    mem: &mut dyn VirtMem,
    shared: &mut Shared<'_>,
    base: u64,
    path: Option<&str>,
    inode: u64,
    code: Option<CodeAt>,
    dirs: &[PathBuf],
) -> Option<(Arc<Module>, u64)> {
    let fkey = path.filter(|_| inode != 0).map(|p| (p.to_string(), inode));
    let Some(p) = elfmod::probe(mem, base) else {
        // Headers not readable here (a forked child's untouched pages, a
        // file mapped again whose first page nobody read): the module
        // another mapping of the same file gave, else a host copy whose
        // bytes are the code running here.
        let m = match fkey.as_ref().and_then(|k| shared.by_file.get(k).cloned()) {
            Some(m) => m,
            None => {
                let (off, page) = code?.page(mem)?;
                let m = Arc::new(elfmod::load_matching(path?, dirs, off, &page)?);
                if let Some(k) = fkey {
                    remember(shared.by_file, k, &m);
                }
                m
            }
        };
        let bias = base.wrapping_sub(m.first_vaddr);
        return Some((m, bias));
    };
    let key = match (&p.build_id, path) {
        (Some(id), Some(path)) => Some((path.to_string(), id.clone())),
        _ => None,
    };
    let m = match key.as_ref().and_then(|k| shared.modules.get(k)) {
        Some(m) => Arc::clone(m),
        None => {
            let m = Arc::new(elfmod::load(mem, &p, path, dirs));
            if let Some(k) = key {
                remember(shared.modules, k, &m);
            }
            m
        }
    };
    if let (Some(k), true) = (fkey, p.build_id.is_some()) {
        remember(shared.by_file, k, &m);
    }
    Some((m, p.bias))
}

/// Caches module `m` under `k` in one of the run's module caches, which
/// start over when full (bounded: keys come from guest memory).
fn remember<K: std::hash::Hash + Eq>(cache: &mut HashMap<K, Arc<Module>>, k: K, m: &Arc<Module>) {
    if cache.len() >= MAX_MODULES {
        cache.clear();
    }
    cache.insert(k, Arc::clone(m));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testelf::{self, at};
    use crate::vma::Area;
    use vstrace_core::testmem::SparseVirt;

    const BASE: u64 = 0x7f12_0000_0000;
    const SP: u64 = 0x7ffd_0000_0100;

    /// `outer` pushed rbp and called `leaf`, which made the call; outer
    /// returns to 0x401000, in no mapped file.
    fn world() -> (SparseVirt, MapCache) {
        let mut m = SparseVirt::new();
        m.map(BASE, &testelf::image());
        m.map_zeroed(SP - 0x100, 0x1000);
        m.map(SP, &(BASE + at::OUTER + 0x10).to_le_bytes());
        m.map(SP + 8, &0x7ffd_0000_0400u64.to_le_bytes());
        m.map(SP + 16, &0x40_1000u64.to_le_bytes());
        let mut c = MapCache::default();
        let area = Area {
            start: BASE,
            end: BASE + at::END,
            file_offset: 0,
            path: Some("/lib/libt.so".into()),
            file: 1,
            inode: 1,
            exec: true,
        };
        c.maps.insert(1, ModMap::new(vec![area]));
        (m, c)
    }

    fn text(f: &StackFrame) -> String {
        let mut s = String::new();
        match (&f.module, &f.symbol) {
            (Some(m), Some(y)) => s.push_str(&format!("{m}({y}) [{:#x}]", f.file_offset.unwrap())),
            (Some(m), None) => s.push_str(&format!("{m}() [{:#x}]", f.file_offset.unwrap())),
            (None, _) => s.push_str(&format!("? [{:#x}]", f.ip)),
        }
        s
    }

    #[test]
    fn stack_through_two_frames_ends_outside_any_file() {
        let (mut m, mut c) = world();
        let r = Regs {
            ip: BASE + at::LEAF + 5,
            sp: SP,
            bp: 0x7ffd_0000_0300,
            arch: crate::unwind::Arch::X86_64,
        };
        let v: Vec<String> = walk(&mut m, &mut c, 1, r, &[]).iter().map(text).collect();
        assert_eq!(
            v,
            [
                "/lib/libt.so(leaf+0x5) [0x1005]",
                "/lib/libt.so(outer+0x10) [0x1110]",
                "? [0x401000]"
            ]
        );
        // The module is shared by path and build id across maps.
        assert_eq!(c.modules.len(), 1);
        // No map for the space: no frames.
        assert!(walk(&mut m, &mut c, 2, r, &[]).is_empty());
    }

    #[test]
    fn a_signal_frame_leads_to_the_interrupted_code() {
        let (mut m, mut c) = world();
        // The handler (leaf) returns into the trampoline; above its
        // return address, the kernel's ucontext: the interrupted rsp
        // (+160), rip (+168, one byte into outer: after its push), rbp
        // (+120).
        let uc = SP + 8;
        let interrupted_sp = SP + 0x400;
        m.map(SP, &(BASE + at::SIGTRAMP).to_le_bytes());
        m.map(uc + 120, &0x7ffd_0000_0900u64.to_le_bytes());
        m.map(uc + 160, &interrupted_sp.to_le_bytes());
        m.map(uc + 168, &(BASE + at::OUTER + 1).to_le_bytes());
        // outer's frame after its push: [sp] = the saved rbp (a decoy
        // address in the module), [sp + 8] = its return address. Only
        // the exact pc (not a return address's pc - 1) reads the latter.
        m.map(interrupted_sp, &(BASE + at::LEAF + 0x10).to_le_bytes());
        m.map(interrupted_sp + 8, &0x40_2000u64.to_le_bytes());
        let r = Regs {
            ip: BASE + at::LEAF + 5,
            sp: SP,
            bp: 0,
            arch: crate::unwind::Arch::X86_64,
        };
        let v = walk(&mut m, &mut c, 1, r, &[]);
        through_the_signal_frame(&v, BASE, 0x40_2000);
    }

    /// `v` went from leaf (in the module at `base`) through the signal
    /// trampoline into outer, interrupted after its first byte (named at
    /// its own address), and on to `last`.
    fn through_the_signal_frame(v: &[StackFrame], base: u64, last: u64) {
        let ips: Vec<u64> = v.iter().map(|f| f.ip).collect();
        let want = [
            base + at::LEAF + 5,
            base + at::SIGTRAMP,
            base + at::OUTER + 1,
            last,
        ];
        assert_eq!(ips, want, "{v:?}");
        assert_eq!(v[2].symbol.as_deref(), Some("outer+0x1"));
    }

    #[test]
    fn a_cfa_expression_is_evaluated() {
        let (mut m, mut c) = world();
        // In the PLT entry before its byte 11: CFA = rsp + 8; from it on
        // (a push made): rsp + 16.
        for (off, ra_at) in [(0u64, SP), (11, SP + 8)] {
            m.map(ra_at, &0x40_3000u64.to_le_bytes());
            let r = Regs {
                ip: BASE + at::PLT + off,
                sp: SP,
                bp: 0,
                arch: crate::unwind::Arch::X86_64,
            };
            let v = walk(&mut m, &mut c, 1, r, &[]);
            assert_eq!(v.len(), 2, "{off}: {v:?}");
            assert_eq!(v[1].ip, 0x40_3000, "{off}");
            m.map(ra_at, &0u64.to_le_bytes());
        }
    }

    #[test]
    fn a_stack_pointing_at_itself_ends() {
        let (mut m, mut c) = world();
        // leaf's return address is leaf itself, and outer's frame loops.
        m.map(SP, &(BASE + at::LEAF + 5).to_le_bytes());
        let r = Regs {
            ip: BASE + at::LEAF + 5,
            sp: SP,
            bp: 0,
            arch: crate::unwind::Arch::X86_64,
        };
        let v = walk(&mut m, &mut c, 1, r, &[]);
        assert!(v.len() <= crate::unwind::MAX_FRAMES);
        // Each step moves the stack pointer up: the walk ends when the
        // mapped stack does.
        assert!(v.len() < 0x1000 / 8 + 2, "{}", v.len());
    }

    #[test]
    fn a_forked_child_with_unread_headers_uses_its_parent_s_module() {
        let (mut m, mut c) = world();
        let r = Regs {
            ip: BASE + at::LEAF + 5,
            sp: SP,
            bp: 0,
            arch: crate::unwind::Arch::X86_64,
        };
        assert_eq!(walk(&mut m, &mut c, 1, r, &[]).len(), 3);
        // The child's space: the same file mapped, its pages untouched
        // (only the stack is readable).
        let mut child = SparseVirt::new();
        child.map_zeroed(SP - 0x100, 0x1000);
        child.map(SP, &(BASE + at::OUTER + 0x10).to_le_bytes());
        child.map(SP + 16, &0x40_1000u64.to_le_bytes());
        let map = c.maps[&1].areas.clone();
        c.maps.insert(2, ModMap::new(map));
        let v = walk(&mut child, &mut c, 2, r, &[]);
        assert_eq!(v.len(), 3, "{v:?}");
        assert_eq!(v[1].symbol.as_deref(), Some("outer+0x10"));
    }

    #[test]
    fn a_file_mapped_again_with_unread_headers_uses_a_matching_host_copy() {
        let (_, mut c) = world();
        let r = Regs {
            ip: BASE + at::LEAF + 5,
            sp: SP,
            bp: 0,
            arch: crate::unwind::Arch::X86_64,
        };
        // Only the page the call runs from (and the stack) is readable:
        // no header, no build id.
        let img = testelf::image();
        let page = (at::LEAF & !0xfff) as usize;
        let mut m = SparseVirt::new();
        m.map(BASE + page as u64, &img[page..img.len().min(page + 0x1000)]);
        m.map_zeroed(SP - 0x100, 0x1000);
        m.map(SP, &(BASE + at::OUTER + 0x10).to_le_bytes());
        m.map(SP + 16, &0x40_1000u64.to_le_bytes());
        let dir = std::env::temp_dir().join(format!("vstrace-stack-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("lib")).unwrap();
        // A host copy whose code differs proves nothing: no symbols.
        let mut other = img.clone();
        other[at::LEAF as usize] ^= 0xff;
        std::fs::write(dir.join("lib/libt.so"), &other).unwrap();
        let v = walk(&mut m, &mut c, 1, r, std::slice::from_ref(&dir));
        assert_eq!(v[0].symbol, None, "{v:?}");
        // The same bytes: its symbols and unwind tables.
        c.maps.get_mut(&1).unwrap().modules.clear();
        std::fs::write(dir.join("lib/libt.so"), &img).unwrap();
        let v = walk(&mut m, &mut c, 1, r, std::slice::from_ref(&dir));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(v[0].symbol.as_deref(), Some("leaf+0x5"), "{v:?}");
        assert_eq!(v[1].symbol.as_deref(), Some("outer+0x10"), "{v:?}");
        // Cached by file for the next mapping of it.
        assert_eq!(c.by_file.len(), 1);
    }

    const BASE32: u64 = 0x5655_0000;
    const VDSO32: u64 = 0xf7f0_0000;
    const SP32: u64 = 0xffd0_0100;

    fn regs32(ip: u64, bp: u64) -> Regs {
        Regs {
            ip,
            sp: SP32,
            bp,
            arch: Arch::I386,
        }
    }

    /// The i386 image at [`BASE32`] (a file) and at [`VDSO32`] (an
    /// anonymous executable area: the vDSO), a 32-bit stack at [`SP32`].
    fn world32() -> (SparseVirt, MapCache) {
        let mut m = SparseVirt::new();
        m.map(BASE32, &testelf::image32());
        m.map(VDSO32, &testelf::image32());
        m.map_zeroed(SP32 - 0x100, 0x1000);
        let mut c = MapCache::default();
        let area = |start: u64, path: Option<&str>| Area {
            start,
            end: start + at::END,
            file_offset: 0,
            path: path.map(str::to_string),
            file: u64::from(path.is_some()),
            inode: u64::from(path.is_some()),
            exec: true,
        };
        let areas = vec![area(BASE32, Some("/lib/libt32.so")), area(VDSO32, None)];
        c.maps.insert(1, ModMap::new(areas));
        (m, c)
    }

    fn put32(m: &mut SparseVirt, at: u64, v: u64) {
        m.map(at, &(v as u32).to_le_bytes());
    }

    #[test]
    fn a_32_bit_stack_unwinds_with_4_byte_words() {
        let (mut m, mut c) = world32();
        // leaf returns into outer (after its push of ebp): [SP] the
        // return address, [SP + 4] the saved ebp, [SP + 8] outer's
        // return address (in no file).
        put32(&mut m, SP32, BASE32 + at::OUTER + 0x10);
        put32(&mut m, SP32 + 4, 0xffd0_0400);
        put32(&mut m, SP32 + 8, 0x0804_1000);
        let r = regs32(BASE32 + at::LEAF + 5, 0xffd0_0300);
        let v: Vec<String> = walk(&mut m, &mut c, 1, r, &[]).iter().map(text).collect();
        assert_eq!(
            v,
            [
                "/lib/libt32.so(leaf+0x5) [0x1005]",
                "/lib/libt32.so(outer+0x10) [0x1110]",
                "? [0x8041000]"
            ]
        );
        // Without an FDE (ip outside any): the frame pointer chain, in
        // 4-byte words: [ebp] the caller's ebp, [ebp + 4] its return.
        let bp = SP32 + 0x20;
        put32(&mut m, bp, SP32 + 0x40);
        put32(&mut m, bp + 4, BASE32 + at::OUTER + 0x20);
        let r = regs32(BASE32 + 0x900, bp);
        let v = walk(&mut m, &mut c, 1, r, &[]);
        // (outer's own CFI then finds a zero return address: the end.)
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(v[1].symbol.as_deref(), Some("outer+0x20"));
    }

    #[test]
    fn a_32_bit_call_through_the_vdso_names_it_and_its_caller() {
        let (mut m, mut c) = world32();
        // __kernel_vsyscall (leaf of the vDSO image) returns into outer.
        put32(&mut m, SP32, BASE32 + at::OUTER + 0x10);
        put32(&mut m, SP32 + 8, 0x0804_1000);
        let r = regs32(VDSO32 + at::LEAF + 5, 0);
        let v: Vec<String> = walk(&mut m, &mut c, 1, r, &[]).iter().map(text).collect();
        assert_eq!(
            v,
            [
                "[vdso](leaf+0x5) [0x1005]",
                "/lib/libt32.so(outer+0x10) [0x1110]",
                "? [0x8041000]"
            ]
        );
        assert_eq!(
            caller_ip(&mut m, &mut c, 1, r, &[]),
            BASE32 + at::OUTER + 0x10
        );
        // A call made in the program itself (int $0x80): its own address.
        let own = regs32(BASE32 + at::LEAF + 5, 0);
        assert_eq!(caller_ip(&mut m, &mut c, 1, own, &[]), own.ip);
        // A 64-bit stack ends at an anonymous area, as strace's does.
        let r64 = Regs {
            arch: Arch::X86_64,
            ..r
        };
        let v = walk(&mut m, &mut c, 1, r64, &[]);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].module, None);
    }

    #[test]
    fn a_32_bit_signal_frame_and_plt_entry() {
        let (mut m, mut c) = world32();
        // The handler (leaf) returns into __restore; above the return
        // address, the signal number and the sigcontext: esp at +32,
        // eip at +60, ebp at +28 from the restorer's esp.
        let isp = SP32 + 0x400;
        put32(&mut m, SP32, BASE32 + at::SIGTRAMP);
        put32(&mut m, SP32 + 4 + 28, 0xffd0_0900);
        put32(&mut m, SP32 + 4 + 32, isp);
        put32(&mut m, SP32 + 4 + 60, BASE32 + at::OUTER + 1);
        put32(&mut m, isp, BASE32 + at::LEAF + 0x10);
        put32(&mut m, isp + 4, 0x0804_2000);
        let v = walk(&mut m, &mut c, 1, regs32(BASE32 + at::LEAF + 5, 0), &[]);
        through_the_signal_frame(&v, BASE32, 0x0804_2000);
        // The PLT entry's CFA expression: esp + 4, from byte 11 esp + 8.
        for (off, ra_at) in [(0u64, SP32), (11, SP32 + 4)] {
            put32(&mut m, ra_at, 0x0804_3000);
            let v = walk(&mut m, &mut c, 1, regs32(BASE32 + at::PLT + off, 0), &[]);
            assert_eq!(v.len(), 2, "{off}: {v:?}");
            assert_eq!(v[1].ip, 0x0804_3000, "{off}");
            put32(&mut m, ra_at, 0);
        }
    }

    #[test]
    fn return_points_of_each_mechanism() {
        use vstrace_core::Mechanism::{Int80, Syscall, Sysenter};
        assert_eq!(return_point(Arch::X86_64, Syscall, 0x7f00), 0x7f02);
        assert_eq!(return_point(Arch::I386, Int80, 0x0804_1000), 0x0804_1002);
        // sysenter and compat syscall return to the vDSO's landing pad,
        // after the int $0x80 that follows them.
        assert_eq!(return_point(Arch::I386, Sysenter, 0xf7f0_0578), 0xf7f0_057c);
        assert_eq!(return_point(Arch::I386, Syscall, 0xffff_fffe), 2);
    }
}
