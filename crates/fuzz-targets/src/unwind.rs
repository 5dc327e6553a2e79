//! The `linux_unwind` target: `-k`'s stack walk (module headers, build
//! id, `.dynsym`, `.eh_frame_hdr` and `.eh_frame` read from guest memory,
//! the call frame interpreter, frame pointers) and the host-file parser,
//! over a hostile module image and stack.
//!
//! Format: ip offset `u16` (from the module's base), sp `u64`, bp `u64`,
//! then memory ([`FuzzMem`]); the module is mapped, executable, at
//! [`BASE`] over [`vstrace_linux::testelf::at::END`] bytes, and the same
//! bytes are parsed as a host file.

use vstrace_core::VirtMem;
use vstrace_linux::modmap::{MapCache, ModMap};
use vstrace_linux::testelf::{self, at};
use vstrace_linux::unwind::Regs;
use vstrace_linux::vma::Area;
use vstrace_linux::{elfmod, stack};

use crate::fuzzmem::FuzzMem;
use crate::input::{Cursor, Encoder};
use crate::seeds::Seed;

/// Where the module is mapped.
pub const BASE: u64 = 0x7f12_0000_0000;
/// The seeds' stack pointer.
const SP: u64 = 0x7ffd_0000_0100;

/// Walks the stack the input describes: the frames, the memory and
/// the ip.
fn walk_input(data: &[u8]) -> (Vec<vstrace_core::StackFrame>, FuzzMem, u64) {
    let mut c = Cursor::new(data);
    let ip = BASE + u64::from(c.u16());
    let (sp, bp) = (c.u64(), c.u64());
    let mut mem = FuzzMem::decode(&mut c);
    let mut cache = MapCache::default();
    let area = Area {
        start: BASE,
        end: BASE + at::END,
        file_offset: 0,
        path: Some("/fuzz/lib.so".into()),
        file: 1,
        exec: true,
    };
    cache.maps.insert(1, ModMap::new(vec![area]));
    let frames = stack::walk(&mut mem, &mut cache, 1, Regs { ip, sp, bp }, &[]);
    (frames, mem, ip)
}

/// See the module doc for the format.
pub fn linux_unwind(data: &[u8]) {
    let (frames, mut mem, ip) = walk_input(data);
    assert!(frames.len() <= vstrace_linux::unwind::MAX_FRAMES);
    let mut file = vec![0u8; at::END as usize];
    if mem.read_virt(BASE, &mut file).is_ok() {
        if let Some(m) = elfmod::from_bytes(&file, &testelf::BUILD_ID) {
            let _ = m.syms.nearest(ip - BASE);
        }
    }
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
            let (f, _, _) = walk_input(&seed);
            assert_eq!(f.len(), 3, "{name}: {f:?}");
            assert_eq!(f[1].symbol.as_deref(), Some("outer+0x10"), "{name}");
        }
    }
}
