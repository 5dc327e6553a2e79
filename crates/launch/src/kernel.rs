//! Guest kernel images: bzImage (`vmlinuz`) to ELF `vmlinux`.
//!
//! The x86 boot protocol puts the compressed kernel at `payload_offset`
//! (setup header offset 0x248) for `payload_length` bytes (0x24c), both
//! relative to the protected-mode code that starts after the setup sectors.
//! The kernel build appends the decompressed size as a little-endian u32 to
//! the payload. Debian compresses with xz (with the x86 BCJ filter, which
//! liblzma handles); gzip and zstd are supported too.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Decompressed kernels larger than this are refused (hostile or corrupt input).
pub const MAX_VMLINUX_SIZE: u64 = 1 << 30;

/// Errors while extracting a kernel image.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("cannot read {path}: {source}")]
    /// The kernel image could not be read or the vmlinux written.
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    #[error("not a bzImage: {0}")]
    /// The file lacks a bzImage setup header (what is missing).
    NotBzImage(&'static str),
    #[error("unsupported kernel compression: {0}")]
    /// The payload uses a compression we do not decode (lz4, lzo, bzip2).
    UnsupportedCompression(&'static str),
    #[error("decompressing the {format} payload failed: {message}")]
    /// The payload is damaged or not what its magic says.
    Decompress {
        /// The payload's compression.
        format: &'static str,
        /// What the decompressor said.
        message: String,
    },
    #[error("decompressed kernel exceeds {MAX_VMLINUX_SIZE} bytes")]
    /// The payload would decompress beyond `MAX_VMLINUX_SIZE`: refused.
    TooLarge,
    #[error("decompressed payload is not an ELF file")]
    /// The decompressed payload is not the vmlinux ELF we need.
    NotElf,
}

/// Compression of a bzImage payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// xz (Debian's kernels).
    Xz,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

/// Location and format of the compressed kernel inside a bzImage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload {
    /// Absolute file offset of the compressed data.
    pub offset: usize,
    /// Length including the trailing 4-byte decompressed size.
    pub length: usize,
    /// How the payload is compressed.
    pub compression: Compression,
    /// Decompressed size recorded by the kernel build (last 4 bytes).
    pub decompressed_size: u32,
}

fn le32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Finds the compressed payload inside a bzImage.
pub fn find_payload(image: &[u8]) -> Result<Payload, KernelError> {
    if image.get(0x202..0x206) != Some(b"HdrS") {
        return Err(KernelError::NotBzImage("no HdrS setup header magic"));
    }
    let version = image
        .get(0x206..0x208)
        .map(|v| u16::from_le_bytes([v[0], v[1]]))
        .unwrap_or(0);
    if version < 0x0208 {
        return Err(KernelError::NotBzImage(
            "boot protocol < 2.08 has no payload fields",
        ));
    }
    let mut setup_sects = usize::from(image[0x1f1]);
    if setup_sects == 0 {
        setup_sects = 4;
    }
    let pm_start = (setup_sects + 1) * 512;
    let off = le32(image, 0x248).ok_or(KernelError::NotBzImage("truncated header"))? as usize;
    let len = le32(image, 0x24c).ok_or(KernelError::NotBzImage("truncated header"))? as usize;
    let start = pm_start
        .checked_add(off)
        .ok_or(KernelError::NotBzImage("payload offset overflow"))?;
    let end = start
        .checked_add(len)
        .ok_or(KernelError::NotBzImage("payload length overflow"))?;
    if len < 8 || end > image.len() {
        return Err(KernelError::NotBzImage("payload outside the file"));
    }
    let data = &image[start..end];
    let compression = if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Compression::Xz
    } else if data.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else if data.starts_with(b"BZh") {
        return Err(KernelError::UnsupportedCompression("bzip2"));
    } else if data.starts_with(&[0x02, 0x21, 0x4c, 0x18]) {
        return Err(KernelError::UnsupportedCompression("lz4"));
    } else if data.starts_with(&[0x89, b'L', b'Z', b'O']) {
        return Err(KernelError::UnsupportedCompression("lzo"));
    } else if data.starts_with(&[0x5d, 0, 0]) {
        return Err(KernelError::UnsupportedCompression("lzma"));
    } else {
        return Err(KernelError::UnsupportedCompression("unknown"));
    };
    let decompressed_size = le32(data, len - 4).unwrap_or(0);
    Ok(Payload {
        offset: start,
        length: len,
        compression,
        decompressed_size,
    })
}

fn read_bounded<R: Read>(
    reader: R,
    hint: u32,
    format: &'static str,
) -> Result<Vec<u8>, KernelError> {
    let cap = u64::from(hint).min(MAX_VMLINUX_SIZE) as usize;
    let mut out = Vec::with_capacity(cap);
    reader
        .take(MAX_VMLINUX_SIZE + 1)
        .read_to_end(&mut out)
        .map_err(|e| KernelError::Decompress {
            format,
            message: e.to_string(),
        })?;
    if out.len() as u64 > MAX_VMLINUX_SIZE {
        return Err(KernelError::TooLarge);
    }
    Ok(out)
}

/// Decompresses the kernel inside an in-memory bzImage.
pub fn vmlinux_from_bzimage(image: &[u8]) -> Result<Vec<u8>, KernelError> {
    let p = find_payload(image)?;
    // The trailing size word is not part of the compressed stream.
    let compressed = &image[p.offset..p.offset + p.length - 4];
    let out = match p.compression {
        Compression::Xz => read_bounded(
            xz2::read::XzDecoder::new(compressed),
            p.decompressed_size,
            "xz",
        )?,
        Compression::Gzip => read_bounded(
            flate2::read::GzDecoder::new(compressed),
            p.decompressed_size,
            "gzip",
        )?,
        Compression::Zstd => {
            let dec = ruzstd::decoding::StreamingDecoder::new(compressed).map_err(|e| {
                KernelError::Decompress {
                    format: "zstd",
                    message: e.to_string(),
                }
            })?;
            read_bounded(dec, p.decompressed_size, "zstd")?
        }
    };
    if !out.starts_with(b"\x7fELF") {
        return Err(KernelError::NotElf);
    }
    Ok(out)
}

/// Reads a bzImage and returns the ELF `vmlinux` inside it.
pub fn extract_vmlinux(path: impl AsRef<Path>) -> Result<Vec<u8>, KernelError> {
    let path = path.as_ref();
    let image = fs::read(path).map_err(|source| KernelError::Io {
        path: path.to_owned(),
        source,
    })?;
    vmlinux_from_bzimage(&image)
}

/// Cache key of a kernel image: canonical path, size, mtime and a sample of
/// its first and last 64 KiB. Hashing all of it costs ~0.25 s per launch in
/// debug builds; this is enough to notice a replaced image.
fn image_key(path: &Path) -> Result<String, KernelError> {
    use std::io::{Seek, SeekFrom};
    let io = |source| KernelError::Io {
        path: path.to_owned(),
        source,
    };
    let mut f = fs::File::open(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let canonical = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mut sample = format!("{}\0{}\0{mtime}\0", canonical.display(), meta.len()).into_bytes();
    let mut head = Vec::new();
    (&mut f).take(65536).read_to_end(&mut head).map_err(io)?;
    sample.extend_from_slice(&head);
    f.seek(SeekFrom::Start(meta.len().saturating_sub(65536)))
        .map_err(io)?;
    f.take(65536).read_to_end(&mut sample).map_err(io)?;
    Ok(crate::cache::content_key(&sample))
}

/// Like [`extract_vmlinux`] but caches the result as
/// `<cache>/vmlinux-<key>` and returns that path (decompressing takes
/// 0.5-3 s). The key changes when the image file changes.
pub fn extract_vmlinux_cached(path: impl AsRef<Path>) -> Result<PathBuf, KernelError> {
    let path = path.as_ref();
    let key = image_key(path)?;
    let dir = crate::cache::cache_dir();
    let out_path = dir.join(format!("vmlinux-{}", &key[..32]));
    if out_path.is_file() {
        return Ok(out_path);
    }
    let vmlinux = extract_vmlinux(path)?;
    crate::cache::write_atomic(&out_path, &vmlinux).map_err(|source| KernelError::Io {
        path: out_path.clone(),
        source,
    })?;
    Ok(out_path)
}

/// Xen ELF note type of the 32-bit PVH entry point (`XEN_ELFNOTE_PHYS32_ENTRY`).
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

/// Whether an ELF kernel has a PVH entry point, so QEMU can boot it directly
/// with `-kernel vmlinux` (no in-guest decompression, no KASLR).
pub fn has_pvh_entry(elf: &[u8]) -> bool {
    use object::read::elf::{FileHeader, ProgramHeader};
    type Hdr = object::elf::FileHeader64<object::Endianness>;
    let Ok(hdr) = Hdr::parse(elf) else {
        return false;
    };
    let Ok(endian) = hdr.endian() else {
        return false;
    };
    let Ok(phdrs) = hdr.program_headers(endian, elf) else {
        return false;
    };
    for ph in phdrs {
        let Ok(Some(mut notes)) = ph.notes(endian, elf) else {
            continue;
        };
        while let Ok(Some(note)) = notes.next() {
            if note.name() == b"Xen" && note.n_type(endian) == XEN_ELFNOTE_PHYS32_ENTRY {
                return true;
            }
        }
    }
    false
}

/// The cached `vmlinux` of `bzimage` if it can be booted through PVH, else
/// `None`. The answer is cached next to it (`.pvh` file) so later calls do
/// not parse the 60+ MiB ELF again.
pub fn pvh_vmlinux_cached(bzimage: impl AsRef<Path>) -> Result<Option<PathBuf>, KernelError> {
    let vmlinux = extract_vmlinux_cached(bzimage)?;
    let marker = vmlinux.with_extension("pvh");
    let pvh = match fs::read(&marker) {
        Ok(m) => m == b"1",
        Err(_) => {
            let data = fs::read(&vmlinux).map_err(|source| KernelError::Io {
                path: vmlinux.clone(),
                source,
            })?;
            let pvh = has_pvh_entry(&data);
            // Best effort: without the marker we just recompute next time.
            let _ = crate::cache::write_atomic(&marker, if pvh { b"1" } else { b"0" });
            pvh
        }
    };
    Ok(pvh.then_some(vmlinux))
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::{Object, ObjectSection};
    use std::io::Write;

    /// A fake bzImage around `payload` (setup_sects = 1).
    fn fake_bzimage(payload: &[u8], decompressed_len: u32) -> Vec<u8> {
        let mut img = vec![0u8; 1024];
        img[0x1f1] = 1;
        img[0x202..0x206].copy_from_slice(b"HdrS");
        img[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
        let off = 64u32; // relative to the protected-mode code at 1024
        let len = payload.len() as u32 + 4;
        img[0x248..0x24c].copy_from_slice(&off.to_le_bytes());
        img[0x24c..0x250].copy_from_slice(&len.to_le_bytes());
        img.extend_from_slice(&[0u8; 64]);
        img.extend_from_slice(payload);
        img.extend_from_slice(&decompressed_len.to_le_bytes());
        img.extend_from_slice(&[0u8; 100]);
        img
    }

    fn fake_elf() -> Vec<u8> {
        let mut v = b"\x7fELF".to_vec();
        v.extend((0..5000u32).map(|i| (i % 251) as u8));
        v
    }

    #[test]
    fn gzip_payload_roundtrip() {
        let elf = fake_elf();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&elf).unwrap();
        let gz = enc.finish().unwrap();
        let img = fake_bzimage(&gz, elf.len() as u32);
        let p = find_payload(&img).unwrap();
        assert_eq!(p.compression, Compression::Gzip);
        assert_eq!(p.offset, 1024 + 64);
        assert_eq!(p.decompressed_size, elf.len() as u32);
        assert_eq!(vmlinux_from_bzimage(&img).unwrap(), elf);
    }

    #[test]
    fn xz_payload_roundtrip() {
        let elf = fake_elf();
        let mut enc = xz2::write::XzEncoder::new(Vec::new(), 1);
        enc.write_all(&elf).unwrap();
        let xz = enc.finish().unwrap();
        let img = fake_bzimage(&xz, elf.len() as u32);
        assert_eq!(find_payload(&img).unwrap().compression, Compression::Xz);
        assert_eq!(vmlinux_from_bzimage(&img).unwrap(), elf);
    }

    #[test]
    fn zstd_payload_roundtrip() {
        let elf = fake_elf();
        let zst = ruzstd::encoding::compress_to_vec(
            &elf[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let img = fake_bzimage(&zst, elf.len() as u32);
        assert_eq!(find_payload(&img).unwrap().compression, Compression::Zstd);
        assert_eq!(vmlinux_from_bzimage(&img).unwrap(), elf);
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            vmlinux_from_bzimage(&[0u8; 100]),
            Err(KernelError::NotBzImage(_))
        ));
        let img = fake_bzimage(b"BZh91AY&SY", 10);
        assert!(matches!(
            vmlinux_from_bzimage(&img),
            Err(KernelError::UnsupportedCompression("bzip2"))
        ));
        // Payload length pointing past the end of the file.
        let mut img = fake_bzimage(&[0x1f, 0x8b, 0, 0, 0, 0], 10);
        img[0x24c..0x250].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            vmlinux_from_bzimage(&img),
            Err(KernelError::NotBzImage(_))
        ));
        // Valid gzip of something that is not ELF.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"not an elf").unwrap();
        let img = fake_bzimage(&enc.finish().unwrap(), 10);
        assert!(matches!(
            vmlinux_from_bzimage(&img),
            Err(KernelError::NotElf)
        ));
    }

    #[test]
    fn real_debian_kernel() {
        let path = crate::cache::cache_dir().join("vmlinuz");
        if !path.is_file() {
            eprintln!(
                "skipping: {} absent (run scripts/setup-host.sh)",
                path.display()
            );
            return;
        }
        let t = std::time::Instant::now();
        let image = fs::read(&path).unwrap();
        let p = find_payload(&image).unwrap();
        let vmlinux = extract_vmlinux(&path).unwrap();
        eprintln!(
            "{:?} payload, {} bytes vmlinux in {:?}",
            p.compression,
            vmlinux.len(),
            t.elapsed()
        );
        assert_eq!(vmlinux.len() as u32, p.decompressed_size);
        assert!(vmlinux.starts_with(b"\x7fELF"));
        let obj = object::File::parse(&*vmlinux).unwrap();
        assert_eq!(obj.architecture(), object::Architecture::X86_64);
        let btf = obj.section_by_name(".BTF").expect(".BTF section");
        assert!(btf.size() > 1_000_000, "BTF is {} bytes", btf.size());
        assert_eq!(&btf.data().unwrap()[..2], &0xeb9fu16.to_le_bytes());
        assert!(obj.section_by_name("__ksymtab_strings").is_some());
        assert!(has_pvh_entry(&vmlinux), "Debian kernels have CONFIG_PVH");
        assert!(!has_pvh_entry(&fake_elf()));
    }
}
