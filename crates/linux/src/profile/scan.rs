//! Building a [`LinuxProfile`] from a running guest's memory, without the
//! kernel image file: attaching to an unknown VM.
//!
//! From a known kernel text address (the system call entry the gdb
//! backend discovers) the scan reads forward, chunk by chunk, skipping
//! unreadable chunks (the kernel unmaps the gap between `.text` and
//! `.rodata`), until it finds a `.BTF` header: magic 0xeb9f, version 1,
//! a 24-byte header, types first and strings right after them (as the
//! kernel's own BTF is laid out), sizes within bounds. The blob must parse
//! and describe `struct task_struct`. `__ksymtab` and `__ksymtab_strings`
//! sit a few hundred KiB before `.BTF` in every x86 layout since 4.19, so
//! the symbols are searched in the readable memory kept from just before
//! it: each wanted name as `"\0name\0"`, then the PREL32 `kernel_symbol`
//! entry (`{ int value_offset; int name_offset; int namespace_offset; }`)
//! whose name field resolves to it, accepted only when a neighbouring
//! entry also names a valid identifier.
//!
//! Everything read is guest-controlled: the window, each chunk, the BTF
//! blob and the number of candidates are bounded; no guest value sizes an
//! allocation beyond [`ScanLimits`].
//!
//! Addresses found are runtime addresses (the KASLR slide is already in
//! them), so the profile describes the running kernel with slide 0.

use std::collections::VecDeque;

use vstrace_core::VirtMem;

use super::btf::{Btf, BtfError};
use super::ksymtab::{Ksymtab, Layout};
use super::{LinuxProfile, ProfileError};

/// Bounds of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanLimits {
    /// Bytes scanned forward from the start address for the BTF header.
    pub window: u64,
    /// Largest BTF blob accepted (Debian's 6.1 x86_64 BTF is 4.2 MiB).
    pub max_btf: u64,
    /// Readable memory kept before the BTF header for the symbol search.
    pub ksymtab_window: u64,
    /// Size of one read.
    pub chunk: u64,
}

impl Default for ScanLimits {
    fn default() -> Self {
        ScanLimits {
            window: 96 << 20,
            max_btf: 32 << 20,
            ksymtab_window: 8 << 20,
            chunk: 64 << 10,
        }
    }
}

/// What a scan found and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanReport {
    /// Runtime address and length of the BTF blob.
    pub btf_addr: u64,
    /// Length of the BTF blob in bytes.
    pub btf_len: u64,
    /// The exported symbols found, with their runtime values.
    pub symbols: Vec<(String, u64)>,
    /// Bytes read and chunks that could not be read.
    pub bytes_read: u64,
    /// Number of chunks whose read failed and were skipped.
    pub unreadable_chunks: u64,
}

/// Errors of a scan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// No BTF magic with a valid header was found in the scanned window.
    #[error("no kernel BTF within {window:#x} bytes after {start:#x} ({read:#x} bytes readable)")]
    NoBtf {
        /// Guest virtual address where the scan started.
        start: u64,
        /// Bytes scanned from `start`.
        window: u64,
        /// Bytes of the window that could be read.
        read: u64,
    },
    /// A BTF header was found but the blob did not read or parse.
    #[error("the BTF at {addr:#x} cannot be read or parsed: {why}")]
    BadBtf {
        /// Guest virtual address of the BTF header.
        addr: u64,
        /// What failed.
        why: String,
    },
    /// A symbol the profile needs was not found in the exported-symbol strings.
    #[error("exported symbol {0} not found before the BTF")]
    MissingSymbol(&'static str),
    /// The profile could not be built from what was found.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The BTF found lacks a type or member the profile needs.
    #[error(transparent)]
    Btf(#[from] BtfError),
    /// The scan limits given are unusable (the chunk size must be 4 KiB to 1 MiB).
    #[error("bad scan limits: {0}")]
    BadLimits(&'static str),
    /// The profile read from memory failed the check against the running kernel (what failed).
    #[error("the profile found does not fit the running kernel: {0}")]
    Unverified(String),
}

/// Checks a profile found in memory against the running kernel: the
/// current task (through the per-cpu base) must read, and following its
/// parents must reach the `init_task` found, at slide 0 since the
/// addresses are runtime ones. Returns the current process.
pub fn verify_live(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    percpu_base: u64,
) -> Result<super::ProcInfo, ScanError> {
    let cur = super::runtime::current_process(mem, prof, percpu_base)
        .map_err(|e| ScanError::Unverified(format!("current task: {e}")))?;
    match super::runtime::kaslr_slide(mem, prof, percpu_base) {
        Some(0) => Ok(cur),
        Some(s) => Err(ScanError::Unverified(format!(
            "init_task is {s:#x} bytes away from the root of the task tree"
        ))),
        None => Err(ScanError::Unverified(
            "the current task's parents do not lead to init_task".into(),
        )),
    }
}

/// Names looked up in `__ksymtab`.
/// `const_pcpu_hot` is 6.x's exported alias of `pcpu_hot` (Debian's 6.12
/// exports neither `current_task` nor `pcpu_hot`).
const WANTED: [&str; 5] = [
    "init_task",
    "current_task",
    "pcpu_hot",
    "const_pcpu_hot",
    "__per_cpu_offset",
];
/// Candidate string addresses kept per name.
const MAX_CANDIDATES: usize = 16;
/// Longest exported name accepted when checking a neighbour entry.
const MAX_NAME: usize = 128;

/// BTF header: `(type_len, str_len)` if the 24 bytes look like the
/// kernel's own `.BTF` (little-endian, version 1, no flags).
fn btf_header(h: &[u8; 24], max: u64) -> Option<(u64, u64)> {
    let u32_at = |o: usize| u32::from_le_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]) as u64;
    if h[0..4] != [0x9f, 0xeb, 1, 0] || u32_at(4) != 24 || u32_at(8) != 0 {
        return None;
    }
    let (type_len, str_off, str_len) = (u32_at(12), u32_at(16), u32_at(20));
    let ok =
        str_off == type_len && type_len >= 12 && str_len >= 2 && 24 + type_len + str_len <= max;
    ok.then_some((type_len, str_len))
}

/// A run of readable, contiguous memory.
struct Segment {
    addr: u64,
    data: Vec<u8>,
}

/// Readable memory before the current scan position, trimmed to a budget.
#[derive(Default)]
struct Kept {
    segs: VecDeque<Segment>,
    bytes: u64,
}

impl Kept {
    fn push(&mut self, addr: u64, data: &[u8], budget: u64) {
        match self.segs.back_mut() {
            Some(s) if s.addr.wrapping_add(s.data.len() as u64) == addr => {
                s.data.extend_from_slice(data)
            }
            _ => self.segs.push_back(Segment {
                addr,
                data: data.to_vec(),
            }),
        }
        self.bytes += data.len() as u64;
        while self.bytes > budget {
            let Some(front) = self.segs.front_mut() else {
                break;
            };
            let excess = (self.bytes - budget) as usize;
            if excess >= front.data.len() {
                self.bytes -= front.data.len() as u64;
                self.segs.pop_front();
            } else {
                front.data.drain(..excess);
                front.addr = front.addr.wrapping_add(excess as u64);
                self.bytes -= excess as u64;
            }
        }
    }

    fn bytes_at(&self, addr: u64, len: usize) -> Option<&[u8]> {
        self.segs.iter().find_map(|s| {
            let off = usize::try_from(addr.checked_sub(s.addr)?).ok()?;
            s.data.get(off..off.checked_add(len)?)
        })
    }

    fn i32_at(&self, addr: u64) -> Option<i32> {
        Some(i32::from_le_bytes(self.bytes_at(addr, 4)?.try_into().ok()?))
    }

    /// The identifier starting at `addr`, if it is NUL-preceded and
    /// NUL-terminated (how `__ksymtab_strings` stores names).
    fn name_at(&self, addr: u64) -> Option<&str> {
        let seg = self
            .segs
            .iter()
            .find(|s| addr > s.addr && addr - s.addr < s.data.len() as u64)?;
        let off = (addr - seg.addr) as usize;
        if seg.data[off - 1] != 0 {
            return None;
        }
        let rest = &seg.data[off..seg.data.len().min(off + MAX_NAME + 1)];
        let end = rest.iter().position(|&c| c == 0)?;
        let name = std::str::from_utf8(&rest[..end]).ok()?;
        let ident = !name.is_empty()
            && name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.');
        ident.then_some(name)
    }

    /// Addresses of `"\0name\0"` (the name's first byte), at most
    /// [`MAX_CANDIDATES`].
    fn find_strings(&self, name: &str) -> Vec<u64> {
        let pat: Vec<u8> = [&[0u8][..], name.as_bytes(), &[0u8][..]].concat();
        let mut out = Vec::new();
        for s in &self.segs {
            for (i, w) in s.data.windows(pat.len()).enumerate() {
                if w == pat.as_slice() {
                    out.push(s.addr.wrapping_add(i as u64 + 1));
                    if out.len() >= MAX_CANDIDATES {
                        return out;
                    }
                }
            }
        }
        out
    }

    /// The PREL32 entry `(entry address, value)` whose name field points
    /// at one of `targets`, checked by a neighbour entry.
    fn find_entry(&self, targets: &[u64]) -> Option<(u64, u64)> {
        let resolve = |field: u64| -> Option<u64> {
            Some(field.wrapping_add(self.i32_at(field)? as i64 as u64))
        };
        let names_ok = |entry: u64| resolve(entry + 4).and_then(|n| self.name_at(n)).is_some();
        for s in &self.segs {
            let first = s.addr.wrapping_add(3) & !3;
            let end = s.addr.wrapping_add(s.data.len() as u64);
            let mut p = first;
            while p.wrapping_add(4) <= end && p >= s.addr {
                let off = (p - s.addr) as usize;
                let v = i32::from_le_bytes(s.data[off..off + 4].try_into().ok()?);
                let t = p.wrapping_add(v as i64 as u64);
                if targets.contains(&t) {
                    let entry = p.wrapping_sub(4);
                    if names_ok(entry.wrapping_sub(12)) || names_ok(entry.wrapping_add(12)) {
                        if let Some(value) = resolve(entry) {
                            return Some((entry, value));
                        }
                    }
                }
                p = p.wrapping_add(4);
            }
        }
        None
    }
}

/// Granule of the fallback reads when a whole chunk is not readable.
const PAGE: usize = 4096;

/// Reads the chunk at `addr` into `buf`; if that fails, its readable
/// pages from the start (a chunk that ends where a mapping ends). The
/// number of bytes read, `None` if not even the first page is readable.
fn read_chunk(mem: &mut dyn VirtMem, addr: u64, buf: &mut [u8]) -> Option<usize> {
    if mem.read_virt(addr, buf).is_ok() {
        return Some(buf.len());
    }
    let mut n = 0;
    while n < buf.len() {
        let end = (n + PAGE).min(buf.len());
        if mem
            .read_virt(addr.wrapping_add(n as u64), &mut buf[n..end])
            .is_err()
        {
            break;
        }
        n = end;
    }
    (n > 0).then_some(n)
}

/// Finds the kernel's BTF and exported symbols in memory from `start` (a
/// kernel text address such as the system call entry) and builds the same
/// profile as [`LinuxProfile::from_vmlinux`] would from the image (with
/// runtime addresses). x86_64 kernels with PREL32 ksymtabs (>= 4.19).
pub fn profile_from_memory(
    mem: &mut dyn VirtMem,
    start: u64,
    limits: &ScanLimits,
) -> Result<(LinuxProfile, ScanReport), ScanError> {
    if limits.chunk < 4096 || limits.chunk > (1 << 20) || limits.chunk % 4 != 0 {
        return Err(ScanError::BadLimits("chunk must be 4 KiB .. 1 MiB"));
    }
    let chunk = limits.chunk;
    let base = start & !(chunk - 1);
    let mut kept = Kept::default();
    let mut buf = vec![0u8; chunk as usize];
    let (mut read, mut unreadable) = (0u64, 0u64);
    let mut found = None;
    let mut off = 0u64;
    'scan: while off < limits.window {
        let addr = base.wrapping_add(off);
        off += chunk;
        if addr < base {
            break; // wrapped past the top of the address space
        }
        let Some(n) = read_chunk(mem, addr, &mut buf) else {
            unreadable += 1;
            continue;
        };
        read += n as u64;
        let buf = &buf[..n];
        for i in (0..buf.len()).step_by(4) {
            if buf[i] != 0x9f || buf.get(i + 1) != Some(&0xeb) {
                continue;
            }
            let mut h = [0u8; 24];
            let at = addr.wrapping_add(i as u64);
            if mem.read_virt(at, &mut h).is_ok() {
                if let Some(lens) = btf_header(&h, limits.max_btf) {
                    // Keep what precedes the header for the symbol search.
                    kept.push(addr, &buf[..i], limits.ksymtab_window);
                    found = Some((at, lens));
                    break 'scan;
                }
            }
        }
        kept.push(addr, buf, limits.ksymtab_window);
        if n < chunk as usize {
            // The rest of the chunk is unmapped; the next chunk starts
            // a new segment.
            kept.push(addr.wrapping_add(chunk), &[], limits.ksymtab_window);
        }
    }
    let Some((btf_addr, (type_len, str_len))) = found else {
        return Err(ScanError::NoBtf {
            start,
            window: limits.window,
            read,
        });
    };
    let btf_len = 24 + type_len + str_len;
    let mut blob = vec![0u8; btf_len as usize];
    for (i, part) in blob.chunks_mut(chunk as usize).enumerate() {
        let a = btf_addr.wrapping_add(i as u64 * chunk);
        mem.read_virt(a, part).map_err(|e| ScanError::BadBtf {
            addr: btf_addr,
            why: e.to_string(),
        })?;
    }
    read += btf_len;
    let btf = Btf::parse(&blob).map_err(|e| ScanError::BadBtf {
        addr: btf_addr,
        why: e.to_string(),
    })?;
    drop(blob);

    let mut syms = Ksymtab::default();
    syms.layout = Some(Layout::Prel32);
    let mut symbols = Vec::new();
    for name in WANTED {
        let targets = kept.find_strings(name);
        if let Some((_, value)) = kept.find_entry(&targets) {
            syms.insert(name, value);
            symbols.push((name.to_string(), value));
        }
    }
    for required in ["init_task"] {
        if syms.get(required).is_none() {
            return Err(ScanError::MissingSymbol(required));
        }
    }
    let mut prof = LinuxProfile::from_parts(&btf, &syms)?;
    prof.banner = banner(&kept);
    Ok((
        prof,
        ScanReport {
            btf_addr,
            btf_len,
            symbols,
            bytes_read: read,
            unreadable_chunks: unreadable,
        },
    ))
}

/// `"Linux version ..."` from the kept memory (`.rodata`), if there.
fn banner(kept: &Kept) -> Option<String> {
    const NEEDLE: &[u8] = b"Linux version ";
    kept.segs.iter().find_map(|s| {
        let i = s.data.windows(NEEDLE.len()).position(|w| w == NEEDLE)?;
        let rest = &s.data[i..s.data.len().min(i + 256)];
        let end = rest.iter().position(|&c| c == 0 || c == b'\n')?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::test_vmlinux;
    use object::{Object, ObjectSection};
    use vstrace_core::MemError;

    /// Page-granular test memory: the vmlinux's allocated sections mapped
    /// at their link address plus a slide (the .text/.rodata gap stays
    /// unmapped, as in a running kernel), or raw byte runs.
    #[derive(Default)]
    struct Image {
        pages: std::collections::BTreeMap<u64, Box<[u8; 4096]>>,
        reads: u64,
    }

    impl Image {
        fn map(&mut self, addr: u64, data: &[u8]) {
            let mut i = 0usize;
            while i < data.len() {
                let a = addr + i as u64;
                let (page, off) = (a & !4095, (a & 4095) as usize);
                let n = (4096 - off).min(data.len() - i);
                let p = self
                    .pages
                    .entry(page)
                    .or_insert_with(|| Box::new([0; 4096]));
                p[off..off + n].copy_from_slice(&data[i..i + n]);
                i += n;
            }
        }
    }

    impl VirtMem for Image {
        fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
            self.reads += 1;
            let mut i = 0usize;
            while i < buf.len() {
                let a = addr.wrapping_add(i as u64);
                let (page, off) = (a & !4095, (a & 4095) as usize);
                let n = (4096 - off).min(buf.len() - i);
                let p = self.pages.get(&page).ok_or(MemError::Unmapped(a))?;
                buf[i..i + n].copy_from_slice(&p[off..off + n]);
                i += n;
            }
            Ok(())
        }
        fn write_virt(&mut self, addr: u64, _: &[u8]) -> Result<(), MemError> {
            Err(MemError::ReadOnly(addr))
        }
    }

    fn image(elf: &[u8], slide: u64) -> Image {
        let file = object::File::parse(elf).unwrap();
        let mut img = Image::default();
        for s in file.sections() {
            let name = s.name().unwrap_or("");
            if s.address() >> 63 == 1 && name != ".bss" && name != ".brk" {
                if let Ok(d) = s.data() {
                    img.map(s.address() + slide, d);
                }
            }
        }
        img
    }

    fn raw(addr: u64, data: &[u8]) -> Image {
        let mut img = Image::default();
        img.map(addr, data);
        img
    }

    #[test]
    fn real_kernel_found_in_memory_matches_the_file_profile() {
        let Some(elf) = test_vmlinux() else {
            eprintln!("SKIP: no x86_64 vmlinux");
            return;
        };
        let want = LinuxProfile::from_vmlinux(&elf).unwrap();
        let file = object::File::parse(&*elf).unwrap();
        let text = file.section_by_name(".text").unwrap();
        let slide = 0x1e40_0000u64;
        let mut mem = image(&elf, slide);
        // At boot, KASLR relocation leaves PREL32 fields alone except
        // those pointing at (zero-based) per-cpu symbols, which get the
        // slide subtracted (relocs32neg): do the same here.
        for name in ["__ksymtab", "__ksymtab_gpl"] {
            let sec = file.section_by_name(name).unwrap();
            let data = sec.data().unwrap();
            for (i, e) in data.chunks_exact(12).enumerate() {
                let at = sec.address() + 12 * i as u64;
                let off = i32::from_le_bytes(e[..4].try_into().unwrap());
                if at.wrapping_add(off as i64 as u64) < 1 << 24 {
                    let fixed = (off as i64 - slide as i64) as i32;
                    mem.map(at + slide, &fixed.to_le_bytes());
                }
            }
        }
        // Somewhere late in .text, as the syscall entry is.
        let start = text.address() + text.size() - 0x20_0000 + slide + 0x123;
        let t = std::time::Instant::now();
        let (p, report) = profile_from_memory(&mut mem, start, &ScanLimits::default()).unwrap();
        eprintln!("{report:x?} in {:?}, {} reads", t.elapsed(), mem.reads);
        let btf = file.section_by_name(".BTF").unwrap();
        assert_eq!(report.btf_addr, btf.address() + slide);
        assert_eq!(report.btf_len, btf.size());
        assert_eq!(p.task, want.task);
        assert_eq!(
            p.current_task, want.current_task,
            "per-cpu offsets are not slid"
        );
        assert_eq!(p.init_task, want.init_task + slide);
        assert_eq!(p.per_cpu_offset, want.per_cpu_offset.map(|a| a + slide));
        assert_eq!(p.mm_pgd, want.mm_pgd);
        assert_eq!(p.banner, want.banner);
        assert!(
            report.unreadable_chunks > 0,
            "the .text/.rodata gap was crossed"
        );
    }

    #[test]
    fn nothing_found_in_empty_or_random_memory() {
        let mut mem = Image::default();
        let lim = ScanLimits {
            window: 4 << 20,
            ..ScanLimits::default()
        };
        assert!(matches!(
            profile_from_memory(&mut mem, 0xffff_ffff_8100_0000, &lim),
            Err(ScanError::NoBtf { read: 0, .. })
        ));
        assert_eq!(mem.reads, 128, "two reads per chunk, bounded by the window");
        // Pseudo-random bytes with many 0xeb9f magics sprinkled in.
        let mut x = 0x1234_5678u32;
        let mut data: Vec<u8> = (0..(2 << 20))
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        for i in (0..data.len() - 24).step_by(4096) {
            data[i..i + 4].copy_from_slice(&[0x9f, 0xeb, 1, 0]);
        }
        let mut mem = raw(0xffff_ffff_8100_0000, &data);
        assert!(matches!(
            profile_from_memory(&mut mem, 0xffff_ffff_8100_0000, &lim),
            Err(ScanError::NoBtf { .. })
        ));
        assert!(matches!(
            profile_from_memory(&mut mem, 0, &ScanLimits { chunk: 3, ..lim }),
            Err(ScanError::BadLimits(_))
        ));
    }

    #[test]
    fn hostile_btf_and_symbols_are_errors() {
        // A plausible header whose blob runs into unmapped memory.
        let base = 0xffff_ffff_8200_0000u64;
        let mut data = vec![0u8; 64 << 10];
        let mut h = vec![0x9f, 0xeb, 1, 0];
        for v in [24u32, 0, 0x10_0000, 0x10_0000, 0x100] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        data[0x100..0x118].copy_from_slice(&h);
        let mut mem = raw(base, &data);
        let lim = ScanLimits::default();
        assert!(matches!(
            profile_from_memory(&mut mem, base, &lim),
            Err(ScanError::BadBtf { .. })
        ));
        // Lengths over the limit are not a header at all.
        let mut big = data.clone();
        big[0x100 + 12..0x100 + 16].copy_from_slice(&u32::MAX.to_le_bytes());
        big[0x100 + 16..0x100 + 20].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut mem = raw(base, &big);
        let small = ScanLimits {
            window: 1 << 20,
            ..lim
        };
        assert!(matches!(
            profile_from_memory(&mut mem, base, &small),
            Err(ScanError::NoBtf { .. })
        ));
        // A real BTF blob (synthetic) but no ksymtab before it.
        let (b, _) = crate::profile::btf::tests::sample();
        let blob = b.blob();
        let mut d = vec![0u8; 0x1000];
        d.extend_from_slice(&blob);
        d.resize(d.len() + 0x1000, 0);
        let mut mem = raw(base, &d);
        assert_eq!(
            profile_from_memory(&mut mem, base, &small).map(|_| ()),
            Err(ScanError::MissingSymbol("init_task"))
        );
    }

    #[test]
    fn verification_needs_a_live_task_tree() {
        let Some(elf) = test_vmlinux() else {
            eprintln!("SKIP: no x86_64 vmlinux");
            return;
        };
        let p = LinuxProfile::from_vmlinux(&elf).unwrap();
        // The static image: the boot CPU's current_task slot (per-cpu
        // offset from base 0 is not a kernel address) and an empty memory.
        let mut mem = image(&elf, 0);
        assert!(matches!(
            verify_live(&mut mem, &p, 0),
            Err(ScanError::Unverified(_))
        ));
        // A per-cpu area whose current task is init_task itself: verified.
        let base = 0xffff_8880_3fc0_0000u64;
        mem.map(base + p.current_task.offset, &p.init_task.to_le_bytes());
        let cur = verify_live(&mut mem, &p, base).unwrap();
        assert_eq!((cur.pid, cur.comm.as_str()), (0, "swapper"));
        // The same tree with init_task claimed 2 MiB off: refused.
        let mut off = p.clone();
        off.init_task += 0x20_0000;
        assert!(matches!(
            verify_live(&mut mem, &off, base),
            Err(ScanError::Unverified(_))
        ));
    }

    #[test]
    fn kept_memory_is_bounded_and_names_checked() {
        let mut k = Kept::default();
        k.push(0x1000, &[1u8; 100], 64);
        k.push(0x1064, &[2u8; 100], 64);
        assert_eq!(k.bytes, 64);
        assert_eq!(k.segs.len(), 1);
        assert_eq!(k.segs[0].addr, 0x1000 + 200 - 64);
        k.push(0x9000, b"\0init_task\0x\0", 64);
        assert_eq!(k.find_strings("init_task"), vec![0x9001]);
        assert_eq!(k.name_at(0x9001), Some("init_task"));
        assert_eq!(k.name_at(0x9002), None, "not NUL-preceded");
        assert_eq!(k.name_at(0x9000), None);
        assert_eq!(k.name_at(0), None);
        assert_eq!(k.find_entry(&[0x9001]), None);
    }
}
