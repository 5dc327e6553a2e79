//! PE images mapped in guest memory: the headers and the export table of
//! ntdll and ntoskrnl, read the way a debugger reads them, and finding an
//! image's base from an address inside it.
//!
//! Guest memory is hostile: every count, RVA and string is bounded and
//! checked against the image size, every read can fail, and nothing here
//! panics or loops without a bound. A mapped image is read as mapped (RVA
//! = address - base), so sections are not needed.

use vstrace_core::mem::{MemError, VirtMem};
use vstrace_core::read;

/// Largest `e_lfanew` accepted (real images: 0x80..0x200).
const MAX_LFANEW: u32 = 0x1000;
/// Largest image accepted (ntoskrnl is ~11 MiB; room for growth).
pub const MAX_IMAGE_SIZE: u32 = 256 << 20;
/// Most exported names read (ntoskrnl exports ~3,000, ntdll ~2,500).
pub const MAX_EXPORTS: u32 = 0x4000;
/// Longest export name read.
const MAX_NAME: usize = 128;

/// Why an image could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeError {
    /// A read of guest memory failed.
    #[error("PE image: {0}")]
    Mem(#[from] MemError),
    /// A header field is not what a PE image has.
    #[error("PE image at {base:#x}: {what}")]
    Bad {
        /// The image base.
        base: u64,
        /// Which check failed.
        what: &'static str,
    },
}

/// What the headers of a mapped image say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeImage {
    /// Where the image is mapped (its DOS header).
    pub base: u64,
    /// IMAGE_FILE_HEADER.Machine (0x8664 AMD64, 0x14c i386).
    pub machine: u16,
    /// PE32+ (64-bit) rather than PE32.
    pub pe64: bool,
    /// IMAGE_FILE_HEADER.TimeDateStamp: with the size, what tells builds
    /// of a DLL apart.
    pub timestamp: u32,
    /// OptionalHeader.SizeOfImage.
    pub size_of_image: u32,
    /// The export directory's RVA (0: none).
    pub export_rva: u32,
    /// The export directory's size.
    pub export_size: u32,
}

/// One exported name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The exported name.
    pub name: String,
    /// Its address in guest memory (base + RVA).
    pub addr: u64,
}

fn bad(base: u64, what: &'static str) -> PeError {
    PeError::Bad { base, what }
}

impl PeImage {
    /// Reads and checks the headers of the image mapped at `base`.
    pub fn read(mem: &mut dyn VirtMem, base: u64) -> Result<PeImage, PeError> {
        if read::read_u16(mem, base)? != 0x5a4d {
            return Err(bad(base, "no MZ signature"));
        }
        let lfanew = read::read_u32(mem, base.wrapping_add(0x3c))?;
        if !(0x40..=MAX_LFANEW).contains(&lfanew) {
            return Err(bad(base, "e_lfanew out of range"));
        }
        let nt = base.wrapping_add(u64::from(lfanew));
        let hdr = read::read_struct(mem, nt, 24)?;
        if hdr[0..4] != *b"PE\0\0" {
            return Err(bad(base, "no PE signature"));
        }
        let machine = u16::from_le_bytes([hdr[4], hdr[5]]);
        let timestamp = u32::from_le_bytes([hdr[8], hdr[9], hdr[10], hdr[11]]);
        let opt_size = u16::from_le_bytes([hdr[20], hdr[21]]);
        let opt = read::read_struct(mem, nt.wrapping_add(24), usize::from(opt_size).min(0xf0))?;
        let u32_at = |o: usize| -> Option<u32> {
            opt.get(o..o + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let magic = opt
            .get(0..2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or(bad(base, "truncated optional header"))?;
        let (pe64, dirs) = match magic {
            0x20b => (true, 112),
            0x10b => (false, 96),
            _ => return Err(bad(base, "unknown optional header magic")),
        };
        let size_of_image = u32_at(56).ok_or(bad(base, "truncated optional header"))?;
        if size_of_image == 0 || size_of_image > MAX_IMAGE_SIZE {
            return Err(bad(base, "SizeOfImage out of range"));
        }
        let ndirs = u32_at(dirs - 4).ok_or(bad(base, "truncated optional header"))?;
        let (export_rva, export_size) = match (ndirs, u32_at(dirs), u32_at(dirs + 4)) {
            (1.., Some(rva), Some(size)) => (rva, size),
            _ => (0, 0),
        };
        Ok(PeImage {
            base,
            machine,
            pe64,
            timestamp,
            size_of_image,
            export_rva,
            export_size,
        })
    }

    /// Whether `rva..rva+len` lies inside the image.
    fn contains(&self, rva: u32, len: u32) -> bool {
        rva.checked_add(len)
            .is_some_and(|end| end <= self.size_of_image)
    }

    /// The image's exported names with their addresses (forwarders and
    /// names pointing outside the image left out), at most
    /// [`MAX_EXPORTS`].
    pub fn exports(&self, mem: &mut dyn VirtMem) -> Result<Vec<Export>, PeError> {
        let base = self.base;
        if self.export_rva == 0 || !self.contains(self.export_rva, 40) {
            return Err(bad(base, "no export directory"));
        }
        let dir = read::read_struct(mem, base.wrapping_add(u64::from(self.export_rva)), 40)?;
        let u = |o: usize| u32::from_le_bytes([dir[o], dir[o + 1], dir[o + 2], dir[o + 3]]);
        let (nfuncs, nnames) = (u(20), u(24));
        let (funcs, names, ords) = (u(28), u(32), u(36));
        if nfuncs > MAX_EXPORTS * 4 || !self.contains(funcs, nfuncs.saturating_mul(4)) {
            return Err(bad(base, "export address table out of the image"));
        }
        let nnames = nnames.min(MAX_EXPORTS);
        if !self.contains(names, nnames * 4) || !self.contains(ords, nnames * 2) {
            return Err(bad(base, "export name table out of the image"));
        }
        let at = |rva: u32| base.wrapping_add(u64::from(rva));
        let name_rvas = read::read_array_u32(mem, at(names), nnames as usize)?;
        let ord_bytes = read::read_struct(mem, at(ords), nnames as usize * 2)?;
        let fwd = self.export_rva..self.export_rva.saturating_add(self.export_size);
        let mut out = Vec::with_capacity(nnames as usize);
        for (i, &name_rva) in name_rvas.iter().enumerate() {
            let ord = u32::from(u16::from_le_bytes([ord_bytes[2 * i], ord_bytes[2 * i + 1]]));
            if ord >= nfuncs || !self.contains(name_rva, 1) {
                continue;
            }
            let Ok(func) = read::read_u32(mem, at(funcs + ord * 4)) else {
                continue;
            };
            if func == 0 || fwd.contains(&func) || !self.contains(func, 1) {
                continue;
            }
            let Ok(name) = read::read_cstring(mem, at(name_rva), MAX_NAME) else {
                continue;
            };
            let name = name.to_string_lossy();
            if name.is_empty() {
                continue;
            }
            out.push(Export {
                name,
                addr: at(func),
            });
        }
        Ok(out)
    }
}

/// The base of the PE image containing `addr`: the nearest page-aligned
/// address at or below it, at most `max_pages` pages down, whose headers
/// read as a PE image with an export table (unmapped pages are skipped).
pub fn image_base_below(mem: &mut dyn VirtMem, addr: u64, max_pages: u64) -> Option<PeImage> {
    let mut page = addr & !0xfff;
    for _ in 0..max_pages {
        let mut mz = [0u8; 2];
        if mem.read_virt(page, &mut mz).is_ok() && mz == *b"MZ" {
            if let Ok(img) = PeImage::read(mem, page) {
                let reaches = addr - page < u64::from(img.size_of_image);
                if img.export_rva != 0 && reaches {
                    return Some(img);
                }
            }
        }
        page = page.checked_sub(0x1000)?;
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use vstrace_core::testmem::SparseVirt;

    /// A minimal mapped image at `base` exporting `exports` (name, RVA),
    /// PE32+ or PE32, `size` bytes.
    pub(crate) fn image(exports: &[(&str, u32)], pe64: bool, size: u32) -> Vec<u8> {
        let mut img = vec![0u8; size as usize];
        img[0..2].copy_from_slice(b"MZ");
        img[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        img[0x80..0x84].copy_from_slice(b"PE\0\0");
        let machine: u16 = if pe64 { 0x8664 } else { 0x14c };
        img[0x84..0x86].copy_from_slice(&machine.to_le_bytes());
        img[0x88..0x8c].copy_from_slice(&0x1234_5678u32.to_le_bytes());
        let opt = 0x98;
        let (magic, dirs, optsize): (u16, usize, u16) = if pe64 {
            (0x20b, 112, 0xf0)
        } else {
            (0x10b, 96, 0xe0)
        };
        img[0x94..0x96].copy_from_slice(&optsize.to_le_bytes());
        img[opt..opt + 2].copy_from_slice(&magic.to_le_bytes());
        img[opt + 56..opt + 60].copy_from_slice(&size.to_le_bytes());
        img[opt + dirs - 4..opt + dirs].copy_from_slice(&16u32.to_le_bytes());
        let edir = 0x400usize;
        img[opt + dirs..opt + dirs + 4].copy_from_slice(&(edir as u32).to_le_bytes());
        img[opt + dirs + 4..opt + dirs + 8].copy_from_slice(&0x400u32.to_le_bytes());
        let n = exports.len() as u32;
        let (funcs, names, ords, strs) = (edir + 40, edir + 0x100, edir + 0x200, edir + 0x280);
        let put = |img: &mut Vec<u8>, o: usize, v: u32| {
            img[o..o + 4].copy_from_slice(&v.to_le_bytes());
        };
        put(&mut img, edir + 20, n);
        put(&mut img, edir + 24, n);
        put(&mut img, edir + 28, funcs as u32);
        put(&mut img, edir + 32, names as u32);
        put(&mut img, edir + 36, ords as u32);
        let mut s = strs;
        for (i, (name, rva)) in exports.iter().enumerate() {
            put(&mut img, funcs + 4 * i, *rva);
            put(&mut img, names + 4 * i, s as u32);
            img[ords + 2 * i..ords + 2 * i + 2].copy_from_slice(&(i as u16).to_le_bytes());
            img[s..s + name.len()].copy_from_slice(name.as_bytes());
            s += name.len() + 1;
        }
        img
    }

    #[test]
    fn reads_headers_and_exports() {
        for pe64 in [true, false] {
            let mut m = SparseVirt::new();
            let img = image(&[("NtClose", 0x1000), ("NtOpenFile", 0x1020)], pe64, 0x2000);
            m.map(0x7ff0_0000, &img);
            let pe = PeImage::read(&mut m, 0x7ff0_0000).unwrap();
            assert_eq!(
                (pe.pe64, pe.timestamp, pe.size_of_image),
                (pe64, 0x1234_5678, 0x2000)
            );
            let ex = pe.exports(&mut m).unwrap();
            assert_eq!(ex.len(), 2);
            assert_eq!(
                (ex[1].name.as_str(), ex[1].addr),
                ("NtOpenFile", 0x7ff0_1020)
            );
            let found = image_base_below(&mut m, 0x7ff0_1023, 16).unwrap();
            assert_eq!(found.base, 0x7ff0_0000);
            assert!(image_base_below(&mut m, 0x7ff0_1023, 1).is_none());
        }
    }

    #[test]
    fn hostile_images_are_errors() {
        let mut m = SparseVirt::new();
        assert!(PeImage::read(&mut m, 0x1000).is_err());
        // Truncated right after the PE signature.
        let img = image(&[("A", 0x1000)], true, 0x2000);
        m.map(0x10_0000, &img[..0x88]);
        assert!(PeImage::read(&mut m, 0x10_0000).is_err());
        // Name table pointing past SizeOfImage; an ordinal out of range.
        let mut img = image(&[("A", 0x1000), ("B", 0x1000)], true, 0x2000);
        img[0x400 + 32..0x400 + 36].copy_from_slice(&0x1ffcu32.to_le_bytes());
        m.map(0x20_0000, &img);
        let pe = PeImage::read(&mut m, 0x20_0000).unwrap();
        assert!(pe.exports(&mut m).is_err());
        let mut img = image(&[("A", 0x1000), ("B", 0x1000)], true, 0x2000);
        img[0x602..0x604].copy_from_slice(&9u16.to_le_bytes());
        m.map(0x30_0000, &img);
        let pe = PeImage::read(&mut m, 0x30_0000).unwrap();
        assert_eq!(pe.exports(&mut m).unwrap().len(), 1);
        // A huge SizeOfImage.
        let mut img = image(&[], true, 0x2000);
        img[0x98 + 56..0x98 + 60].copy_from_slice(&u32::MAX.to_le_bytes());
        m.map(0x40_0000, &img);
        assert!(PeImage::read(&mut m, 0x40_0000).is_err());
    }
}
