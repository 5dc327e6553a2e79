//! The `linux_unwind` target: `-k`'s stack walk (module headers, build
//! id, `.dynsym`, `.eh_frame_hdr` and `.eh_frame` read from guest memory,
//! the call frame interpreter, frame pointers) and the host-file parser,
//! over a hostile module image and stack.
//!
//! Format: ip offset `u16` (from the module's base), sp `u64`, bp `u64`,
//! then memory ([`FuzzMem`]); the module is mapped, executable, at
//! [`BASE`] over [`vstrace_linux::testelf::at::END`] bytes, and the same
//! bytes are parsed as a host file.
//!
//! The `linux_unwind32` target: the same for a 32-bit process (an ELF32
//! module at [`BASE32`], 4-byte stack words, i386 registers), with a
//! second copy of the module mapped without a file at [`VDSO32`] (the
//! vDSO a 32-bit call enters through), and the caller's address.

use vstrace_core::VirtMem;
use vstrace_linux::modmap::{MapCache, ModMap};
use vstrace_linux::testelf::{self, at};
use vstrace_linux::unwind::{Arch, Regs};
use vstrace_linux::vma::Area;
use vstrace_linux::{elfmod, stack};

use crate::fuzzmem::FuzzMem;
use crate::input::{Cursor, Encoder};
use crate::seeds::Seed;

/// Where the module is mapped.
pub const BASE: u64 = 0x7f12_0000_0000;
/// Where the 32-bit module is mapped (from a file).
pub const BASE32: u64 = 0x5655_0000;
/// Where its copy is mapped as the vDSO (no file).
pub const VDSO32: u64 = 0xf7f0_0000;
/// The seeds' stack pointer.
const SP: u64 = 0x7ffd_0000_0100;
/// The 32-bit seeds' stack pointer.
const SP32: u64 = 0xffd0_0100;

/// One module area of the fuzzed map.
fn area(start: u64, path: Option<&str>) -> Area {
    Area {
        start,
        end: start + at::END,
        file_offset: 0,
        path: path.map(str::to_string),
        file: u64::from(path.is_some()),
        inode: u64::from(path.is_some()),
        exec: true,
    }
}

/// Walks the stack the input describes for `arch`: the frames, the
/// memory, the ip and the caller's address.
fn walk_input(data: &[u8], arch: Arch) -> (Vec<vstrace_core::StackFrame>, FuzzMem, u64, u64) {
    let mut c = Cursor::new(data);
    let off = u64::from(c.u16());
    let (sp, bp) = (c.u64(), c.u64());
    let mut mem = FuzzMem::decode(&mut c);
    let mut cache = MapCache::default();
    let (ip, areas) = match arch {
        Arch::X86_64 => (BASE + off, vec![area(BASE, Some("/fuzz/lib.so"))]),
        // The ip's offset's top bit picks the vDSO's copy.
        Arch::I386 => {
            let at = if off & 0x8000 != 0 { VDSO32 } else { BASE32 };
            let areas = vec![area(BASE32, Some("/fuzz/lib32.so")), area(VDSO32, None)];
            (at + (off & 0x7fff), areas)
        }
    };
    cache.maps.insert(1, ModMap::new(areas));
    let r = Regs { ip, sp, bp, arch };
    let frames = stack::walk(&mut mem, &mut cache, 1, r, &[]);
    let caller = stack::caller_ip(&mut mem, &mut cache, 1, r, &[]);
    (frames, mem, ip, caller)
}

/// The fuzzed module's bytes parsed as a host file.
fn host_file(mem: &mut FuzzMem, base: u64, ip: u64) {
    let mut file = vec![0u8; at::END as usize];
    if mem.read_virt(base, &mut file).is_ok() {
        if let Some(m) = elfmod::from_bytes(&file, &testelf::BUILD_ID) {
            let _ = m.syms.nearest(ip.wrapping_sub(base));
        }
    }
}

/// See the module doc for the format.
pub fn linux_unwind(data: &[u8]) {
    let (frames, mut mem, ip, _) = walk_input(data, Arch::X86_64);
    assert!(frames.len() <= vstrace_linux::unwind::MAX_FRAMES);
    host_file(&mut mem, BASE, ip);
}

/// See the module doc: the 32-bit walk, the caller through the vDSO and
/// the ELF32 host-file parser.
pub fn linux_unwind32(data: &[u8]) {
    let (frames, mut mem, ip, _) = walk_input(data, Arch::I386);
    assert!(frames.len() <= vstrace_linux::unwind::MAX_FRAMES);
    assert!(frames.iter().all(|f| f.ip <= u64::from(u32::MAX)));
    host_file(&mut mem, BASE32, ip);
    let _ = vstrace_linux::modmap::read_dynsym(&mut mem, BASE32);
}

/// Seeds of `linux_unwind32`: `leaf` of the vDSO's copy (as
/// `__kernel_vsyscall`) returning into the file's `outer`, which returns
/// outside any file; and the same with a fill under it.
pub fn linux_unwind32_seeds() -> Vec<Seed> {
    let mut stack = vec![0u8; 0x100];
    stack[..4].copy_from_slice(&((BASE32 + at::OUTER + 0x10) as u32).to_le_bytes());
    stack[4..8].copy_from_slice(&((SP32 + 0x300) as u32).to_le_bytes());
    stack[8..12].copy_from_slice(&0x0804_1000u32.to_le_bytes());
    let img = testelf::image32();
    let regions = [(BASE32, img.clone()), (VDSO32, img), (SP32, stack)];
    let mut out = Vec::new();
    for (name, fill) in [
        ("unwind32", None),
        ("unwind32-fill", Some(vec![0x41u8; 64])),
    ] {
        let mut e = Encoder::new();
        e.u16((0x8000 | (at::LEAF + 5)) as u16)
            .u64(SP32)
            .u64(SP32 + 0x200);
        FuzzMem::encode(&mut e, &regions, fill.as_deref());
        out.push((name.to_string(), e.out));
    }
    out
}

/// Seeds: the synthetic module with `leaf` called from `outer` (two
/// frames, then a return address outside any file), and the same with a
/// fill under it so every pointer lands on fuzzed bytes.
pub fn linux_unwind_seeds() -> Vec<Seed> {
    let mut stack = vec![0u8; 0x100];
    stack[..8].copy_from_slice(&(BASE + at::OUTER + 0x10).to_le_bytes());
    stack[8..16].copy_from_slice(&(SP + 0x300).to_le_bytes());
    stack[16..24].copy_from_slice(&0x40_1000u64.to_le_bytes());
    let regions = [(BASE, testelf::image()), (SP, stack)];
    let mut out = Vec::new();
    for (name, fill) in [("unwind", None), ("unwind-fill", Some(vec![0x41u8; 64]))] {
        let mut e = Encoder::new();
        e.u16((at::LEAF + 5) as u16).u64(SP).u64(SP + 0x200);
        FuzzMem::encode(&mut e, &regions, fill.as_deref());
        out.push((name.to_string(), e.out));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds reach the second frame (the crate's tests run every
    /// target over its seeds' mutations).
    #[test]
    fn the_seeds_unwind_two_frames() {
        for (name, seed) in linux_unwind_seeds() {
            let (f, _, _, _) = walk_input(&seed, Arch::X86_64);
            assert_eq!(f.len(), 3, "{name}: {f:?}");
            assert_eq!(f[1].symbol.as_deref(), Some("outer+0x10"), "{name}");
        }
    }

    /// The 32-bit seeds go through the vDSO copy into the file's
    /// `outer`, which is the caller.
    #[test]
    fn the_32_bit_seeds_unwind_through_the_vdso() {
        for (name, seed) in linux_unwind32_seeds() {
            let (f, _, _, caller) = walk_input(&seed, Arch::I386);
            assert_eq!(f.len(), 3, "{name}: {f:?}");
            assert_eq!(f[0].module.as_deref(), Some("[vdso]"), "{name}");
            assert_eq!(f[1].symbol.as_deref(), Some("outer+0x10"), "{name}");
            assert_eq!(caller, BASE32 + at::OUTER + 0x10, "{name}");
        }
    }
}
