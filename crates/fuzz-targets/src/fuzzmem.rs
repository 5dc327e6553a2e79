//! A guest virtual memory whose contents come from the fuzz input.
//!
//! Format (see [`FuzzMem::decode`]): a count of regions, each
//! `addr: u64, len: u16, bytes`, then an optional *fill*: the rest of the
//! input, mirrored at every address not covered by a region's pages
//! (`fill[addr % len]`), so that any pointer the fuzzer invents lands on
//! data it controls, and lists and strings can loop. Without a fill,
//! addresses outside the regions are unmapped. Pages whose number is
//! `HOLE_MOD - 1` modulo `HOLE_MOD` are always unmapped, so that reads
//! fault part-way through as well.

use vstrace_core::mem::{MemError, VirtMem, MAX_ACCESS};
use vstrace_core::testmem::SparseVirt;

use crate::input::{Cursor, Encoder};

/// Most regions read from one input.
const MAX_REGIONS: usize = 32;
const PAGE: u64 = 4096;
/// Every `HOLE_MOD`-th page of the fill is a hole.
const HOLE_MOD: u64 = 61;

/// Regions of bytes at chosen addresses, over an optional mirrored fill.
#[derive(Debug, Clone, Default)]
pub struct FuzzMem {
    /// The regions, on whole zero-filled pages as in a real guest (later
    /// regions overwrite earlier ones where they share a page).
    pages: SparseVirt,
    fill: Vec<u8>,
}

impl FuzzMem {
    /// Reads a memory description from `c` (see the module doc).
    pub fn decode(c: &mut Cursor<'_>) -> FuzzMem {
        let n = (c.u8() as usize) % (MAX_REGIONS + 1);
        let mut pages = SparseVirt::new();
        for _ in 0..n {
            let addr = c.u64();
            let len = c.u16() as usize;
            pages.map(addr, c.bytes(len));
        }
        let fill = if c.bool() {
            c.rest().to_vec()
        } else {
            Vec::new()
        };
        FuzzMem { pages, fill }
    }

    /// Writes regions and a fill in [`FuzzMem::decode`]'s format.
    pub fn encode(e: &mut Encoder, regions: &[(u64, Vec<u8>)], fill: Option<&[u8]>) {
        e.u8(regions.len().min(MAX_REGIONS) as u8);
        for (addr, bytes) in regions.iter().take(MAX_REGIONS) {
            let len = bytes.len().min(u16::MAX as usize);
            e.u64(*addr).u16(len as u16).bytes(&bytes[..len]);
        }
        match fill {
            Some(f) => e.u8(1).bytes(f),
            None => e.u8(0),
        };
    }

    fn fill_byte(&self, a: u64) -> Option<u8> {
        if self.fill.is_empty() || (a >> 12) % HOLE_MOD == HOLE_MOD - 1 {
            return None;
        }
        Some(self.fill[(a % self.fill.len() as u64) as usize])
    }
}

fn check_len(addr: u64, len: usize) -> Result<(), MemError> {
    if len as u64 > MAX_ACCESS {
        return Err(MemError::TooLong {
            addr,
            len: len as u64,
            cap: MAX_ACCESS,
        });
    }
    Ok(())
}

impl VirtMem for FuzzMem {
    fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        check_len(addr, buf.len())?;
        let mut off = 0usize;
        while off < buf.len() {
            let a = addr.wrapping_add(off as u64);
            let n = ((PAGE - (a & (PAGE - 1))) as usize).min(buf.len() - off);
            let chunk = &mut buf[off..off + n];
            if self.pages.is_mapped(a) {
                self.pages.read_virt(a, chunk)?;
            } else {
                // One page: a hole or mirrored fill throughout.
                self.fill_byte(a).ok_or(MemError::Unmapped(a))?;
                let len = self.fill.len();
                let mut i = (a % len as u64) as usize;
                for b in chunk.iter_mut() {
                    *b = self.fill[i];
                    i += 1;
                    if i == len {
                        i = 0;
                    }
                }
            }
            off += n;
        }
        Ok(())
    }

    fn write_virt(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError> {
        // Writes land in the regions' pages only: the fill is read-only
        // (it is shared by every address).
        self.pages.write_virt(addr, data)
    }

    /// Every other address space holds the same contents: the fuzzer then
    /// reaches the code that validates and walks a second space.
    fn read_virt_in(
        &mut self,
        _space: vstrace_core::Space,
        addr: u64,
        buf: &mut [u8],
    ) -> Result<(), MemError> {
        self.read_virt(addr, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_fill_and_holes() {
        let mut e = Encoder::new();
        FuzzMem::encode(&mut e, &[(0x1000, b"abc".to_vec())], Some(b"xy"));
        let mut m = FuzzMem::decode(&mut Cursor::new(&e.out));
        let mut b = [0u8; 4];
        m.read_virt(0x1000, &mut b).unwrap();
        assert_eq!(&b, b"abc\0", "the region's page is zero-filled");
        m.read_virt(0x1ffe, &mut b).unwrap();
        assert_eq!(&b, b"\0\0xy", "then the fill");
        let hole = (HOLE_MOD - 1) << 12;
        assert_eq!(m.read_virt(hole, &mut b), Err(MemError::Unmapped(hole)));
        m.write_virt(0x1001, b"Z").unwrap();
        assert!(m.write_virt(0x1fff, b"ZZ").is_err(), "not into the fill");
        let mut e = Encoder::new();
        FuzzMem::encode(&mut e, &[], None);
        let mut m = FuzzMem::decode(&mut Cursor::new(&e.out));
        assert!(m.read_virt(0, &mut b).is_err());
    }
}
