//! What `-k` needs of one loaded ELF module: its functions (in strace's
//! order, for strace's names) and its `.eh_frame` unwind tables, read
//! from guest memory or, when a host file carries the same build id,
//! from that file (complete: `.symtab` too, and no page the guest never
//! touched is missing).
//!
//! Addresses are link-time virtual addresses; a [`Module`] is shared by
//! every process that maps the same file (cached by path and build id)
//! and used with each mapping's load bias. Guest memory and host files
//! are hostile: every size is bounded ([`MAX_EH_FRAME`], [`MAX_FDES`],
//! [`MAX_FILE`], [`crate::modmap::MAX_SYMS`]), and an unreadable page
//! gives less information, never a panic.

use std::path::{Path, PathBuf};

use object::{Object, ObjectSymbol};
use vstrace_core::VirtMem;

use crate::modmap::{MAX_STRTAB, MAX_SYMS};

/// Largest `.eh_frame` read from guest memory (libc's is 150 KiB).
pub const MAX_EH_FRAME: u64 = 8 << 20;
/// Most entries of an `.eh_frame_hdr` search table used.
pub const MAX_FDES: u64 = 1 << 20;
/// Largest host file read for a module.
pub const MAX_FILE: u64 = 512 << 20;
/// Most program headers read.
const MAX_PHDRS: u64 = 64;
/// Most dynamic entries scanned.
const MAX_DYN: u64 = 512;
/// Page size of the reads of large guest regions (a page the guest never
/// touched is unmapped and leaves a hole).
const PAGE: u64 = 4096;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_NOTE: u32 = 4;
const PT_GNU_EH_FRAME: u32 = 0x6474_e550;

/// One program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phdr {
    /// `p_type`.
    pub kind: u32,
    /// `p_offset`.
    pub offset: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`.
    pub memsz: u64,
}

/// An ELF image's header as loaded: its class, type and program headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// ELFCLASS64 (else ELFCLASS32: 4-byte addresses, 32-bit tables).
    pub is64: bool,
    /// `e_type` (2 ET_EXEC, 3 ET_DYN).
    pub e_type: u16,
    /// The program headers (at most 64).
    pub phdrs: Vec<Phdr>,
}

impl Header {
    /// Parses an ELF64 or ELF32 little-endian header and its program
    /// headers; `read(offset, buf)` reads the image's first bytes (the
    /// headers lie in the first loaded page).
    pub fn parse(read: &mut dyn FnMut(u64, &mut [u8]) -> bool) -> Option<Header> {
        let mut h = [0u8; 64];
        // An ELF32 header is 52 bytes: a tiny image may end before 64.
        if !read(0, &mut h) && !read(0, &mut h[..52]) {
            return None;
        }
        if &h[..4] != b"\x7fELF" || !(1..=2).contains(&h[4]) || h[5] != 1 {
            return None;
        }
        let is64 = h[4] == 2;
        let u16at = |o: usize| u64::from(u16::from_le_bytes([h[o], h[o + 1]]));
        let e_type = u16::from_le_bytes([h[16], h[17]]);
        // (e_phoff, e_phentsize, e_phnum) and the entry's size.
        let (phoff, phentsize, phnum, min) = if is64 {
            let off = u64::from_le_bytes(h[32..40].try_into().ok()?);
            (off, u16at(54), u16at(56), 56)
        } else {
            let off = u64::from(u32::from_le_bytes(h[28..32].try_into().ok()?));
            (off, u16at(42), u16at(44), 32)
        };
        if phentsize < min || phnum > MAX_PHDRS || phoff > PAGE {
            return None;
        }
        let mut raw = vec![0u8; (phnum * phentsize) as usize];
        if !read(phoff, &mut raw) {
            return None;
        }
        let phdrs = raw
            .chunks_exact(phentsize as usize)
            .map(|p| {
                let w = |o: usize| u32::from_le_bytes(p[o..o + 4].try_into().unwrap_or([0; 4]));
                let q = |o: usize| u64::from_le_bytes(p[o..o + 8].try_into().unwrap_or([0; 8]));
                if is64 {
                    Phdr {
                        kind: w(0),
                        offset: q(8),
                        vaddr: q(16),
                        filesz: q(32),
                        memsz: q(40),
                    }
                } else {
                    Phdr {
                        kind: w(0),
                        offset: u64::from(w(4)),
                        vaddr: u64::from(w(8)),
                        filesz: u64::from(w(16)),
                        memsz: u64::from(w(20)),
                    }
                }
            })
            .collect();
        Some(Header {
            is64,
            e_type,
            phdrs,
        })
    }

    /// The lowest loaded address (page-aligned): a module mapped at base
    /// `b` has load bias `b - first_vaddr` (0 for a fixed executable).
    pub fn first_vaddr(&self) -> u64 {
        self.phdrs
            .iter()
            .filter(|p| p.kind == PT_LOAD)
            .map(|p| p.vaddr & !(PAGE - 1))
            .min()
            .unwrap_or(0)
    }

    /// The size of the loaded image (first to last loaded byte): how far
    /// from a symbol strace still names an address after it.
    pub fn span(&self) -> u64 {
        let end = self
            .phdrs
            .iter()
            .filter(|p| p.kind == PT_LOAD)
            .map(|p| p.vaddr.saturating_add(p.memsz))
            .max()
            .unwrap_or(0);
        end.saturating_sub(self.first_vaddr())
    }

    fn find(&self, kind: u32) -> impl Iterator<Item = &Phdr> {
        self.phdrs.iter().filter(move |p| p.kind == kind)
    }

    /// The loaded segment holding link-time address `v`.
    fn load_of(&self, v: u64) -> Option<&Phdr> {
        self.find(PT_LOAD)
            .find(|p| v >= p.vaddr && v < p.vaddr.saturating_add(p.memsz))
    }
}

/// A module's bytes by link-time virtual address.
pub trait Image {
    /// Reads `buf.len()` bytes at link-time address `vaddr`; false when
    /// any of them cannot be read.
    fn read(&mut self, vaddr: u64, buf: &mut [u8]) -> bool;
}

/// A module in guest memory, loaded with bias `bias`.
pub struct GuestImage<'a> {
    /// The trap's address space.
    pub mem: &'a mut dyn VirtMem,
    /// Runtime address minus link-time address.
    pub bias: u64,
}

impl Image for GuestImage<'_> {
    fn read(&mut self, vaddr: u64, buf: &mut [u8]) -> bool {
        self.mem
            .read_virt(vaddr.wrapping_add(self.bias), buf)
            .is_ok()
    }
}

/// A module's file on the host, read through its loaded segments.
pub struct FileImage<'a> {
    /// The whole file.
    pub data: &'a [u8],
    /// Its header.
    pub header: &'a Header,
}

impl Image for FileImage<'_> {
    fn read(&mut self, vaddr: u64, buf: &mut [u8]) -> bool {
        let Some(p) = self.header.load_of(vaddr) else {
            return false;
        };
        let rel = vaddr - p.vaddr;
        if rel.saturating_add(buf.len() as u64) > p.filesz {
            return false;
        }
        let Some(off) = p.offset.checked_add(rel) else {
            return false;
        };
        match self
            .data
            .get(off as usize..(off as usize).saturating_add(buf.len()))
        {
            Some(s) => {
                buf.copy_from_slice(s);
                true
            }
            None => false,
        }
    }
}

/// The GNU build id from the image's notes.
pub fn build_id(img: &mut dyn Image, h: &Header) -> Option<Vec<u8>> {
    for p in h.find(PT_NOTE) {
        let len = p.filesz.min(PAGE) as usize;
        let mut raw = vec![0u8; len];
        if !img.read(p.vaddr, &mut raw) {
            continue;
        }
        let mut at = 0usize;
        while at + 12 <= raw.len() {
            let w = |o: usize| u32::from_le_bytes(raw[o..o + 4].try_into().unwrap_or([0; 4]));
            let (namesz, descsz, ty) = (w(at) as usize, w(at + 4) as usize, w(at + 8));
            let name_at = at + 12;
            let desc_at = name_at + namesz.div_ceil(4) * 4;
            let end = desc_at.saturating_add(descsz.div_ceil(4) * 4);
            if end > raw.len() || namesz > 64 {
                break;
            }
            if ty == 3 && raw.get(name_at..name_at + namesz) == Some(b"GNU\0") {
                return raw.get(desc_at..desc_at + descsz).map(<[u8]>::to_vec);
            }
            at = end;
        }
    }
    None
}

/// One function symbol, in the order of its table (strace's names pick
/// the first of several at one address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncSym {
    /// `st_value` (link-time).
    pub value: u64,
    /// The name.
    pub name: String,
}

/// A module's `STT_FUNC` symbols (`.dynsym`, then `.symtab` when read
/// from a host file), sorted by address with the table order kept among
/// equal addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FuncSyms {
    syms: Vec<FuncSym>,
    span: u64,
}

impl FuncSyms {
    /// Sorts `syms` (stably) for lookups; `span` is the image size.
    pub fn new(mut syms: Vec<FuncSym>, span: u64) -> FuncSyms {
        syms.sort_by_key(|s| s.value);
        FuncSyms { syms, span }
    }

    /// strace's name for link-time address `rel` (libunwind's rule): the
    /// nearest function at or below it, whatever its size, the first in
    /// table order of those at that address, within the image.
    pub fn nearest(&self, rel: u64) -> Option<(&str, u64)> {
        let i = self.syms.partition_point(|s| s.value <= rel);
        let v = self.syms.get(i.checked_sub(1)?)?.value;
        let j = self.syms.partition_point(|s| s.value < v);
        let off = rel - v;
        (off < self.span || self.span == 0).then(|| (self.syms[j].name.as_str(), off))
    }

    /// How many symbols.
    pub fn len(&self) -> usize {
        self.syms.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }
}

/// One `.dynsym` entry as read: value, size, type and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSym {
    /// `st_value` (link-time).
    pub value: u64,
    /// `st_size`.
    pub size: u64,
    /// `ST_TYPE(st_info)` (2 STT_FUNC, 10 STT_GNU_IFUNC).
    pub kind: u8,
    /// The name (non-empty).
    pub name: String,
}

/// The defined symbols of the image's dynamic symbol table, in table
/// order, found through its dynamic section (section headers are not
/// loaded). `bias` tells link-time from relocated dynamic entries (the
/// loader rewrites them in place).
pub fn dynsym(img: &mut dyn Image, h: &Header, bias: u64) -> Option<Vec<RawSym>> {
    let dynamic = h.find(PT_DYNAMIC).next()?.vaddr;
    // Elf64_Dyn is two 8-byte words, Elf32_Dyn two 4-byte words;
    // Elf64_Sym 24 bytes, Elf32_Sym 16.
    let (word, sym_size) = if h.is64 { (8u64, 24u64) } else { (4, 16) };
    let (mut symtab, mut strtab, mut strsz, mut hash) = (0u64, 0u64, 0u64, 0u64);
    let mut e = [0u8; 16];
    let e = &mut e[..2 * word as usize];
    for i in 0..MAX_DYN {
        if !img.read(dynamic.wrapping_add(i * 2 * word), e) {
            return None;
        }
        let (tag, val) = e.split_at(word as usize);
        let (tag, val) = (le_word(tag), le_word(val));
        match tag {
            0 => break,
            4 => hash = val,
            5 => strtab = val,
            6 => symtab = val,
            10 => strsz = val,
            _ => {}
        }
    }
    let link = |v: u64| match bias {
        0 => v,
        b if v >= b => v - b,
        _ => v,
    };
    let (symtab, strtab, hash) = (link(symtab), link(strtab), link(hash));
    if symtab == 0 || strtab == 0 {
        return None;
    }
    // DT_HASH's nchain is the count; with DT_GNU_HASH only, .dynsym is
    // followed by .dynstr in every common layout.
    let count = match hash {
        0 if strtab > symtab => (strtab - symtab) / sym_size,
        0 => return None,
        hv => {
            let mut n = [0u8; 4];
            if !img.read(hv.wrapping_add(4), &mut n) {
                return None;
            }
            u64::from(u32::from_le_bytes(n))
        }
    }
    .min(MAX_SYMS);
    let mut strs = vec![0u8; strsz.min(MAX_STRTAB) as usize];
    let mut raw = vec![0u8; (count * sym_size) as usize];
    if !img.read(strtab, &mut strs) || !img.read(symtab, &mut raw) {
        return None;
    }
    let mut out = Vec::new();
    for s in raw.chunks_exact(sym_size as usize) {
        let name = u32::from_le_bytes(s[0..4].try_into().ok()?) as usize;
        // (st_info, st_shndx, st_value, st_size) of each class.
        let (info, shndx, value, size) = if h.is64 {
            (
                s[4],
                u16::from_le_bytes([s[6], s[7]]),
                le_word(&s[8..16]),
                le_word(&s[16..24]),
            )
        } else {
            (
                s[12],
                u16::from_le_bytes([s[14], s[15]]),
                le_word(&s[4..8]),
                le_word(&s[8..12]),
            )
        };
        if shndx == 0 {
            continue;
        }
        let Some(tail) = strs.get(name..) else {
            continue;
        };
        let end = tail.iter().position(|&c| c == 0).unwrap_or(0);
        if end == 0 {
            continue;
        }
        out.push(RawSym {
            value,
            size,
            kind: info & 0xf,
            name: String::from_utf8_lossy(&tail[..end]).into_owned(),
        });
    }
    Some(out)
}

/// A little-endian word of 4 or 8 bytes (0 for another length).
fn le_word(b: &[u8]) -> u64 {
    match b.len() {
        8 => u64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
        4 => u64::from(u32::from_le_bytes(b.try_into().unwrap_or([0; 4]))),
        _ => 0,
    }
}

/// A module's `.eh_frame` and the search table of its `.eh_frame_hdr`,
/// at link-time addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EhFrame {
    /// Address of `.eh_frame_hdr`.
    pub hdr: u64,
    /// Address of `.eh_frame`.
    pub frame: u64,
    /// `.eh_frame`'s bytes (bounded; holes zeroed).
    pub bytes: Vec<u8>,
    /// Which image pages of `bytes` were read, the first being the page
    /// holding `frame` (all for a host file).
    pub pages: Vec<bool>,
    /// (function start, FDE address), sorted by start.
    pub table: Vec<(u64, u64)>,
    /// The module's address size (4 for ELF32, else 8): absolute
    /// pointers in its entries have this many bytes.
    pub address_size: u8,
}

impl EhFrame {
    /// The FDE for link-time address `pc`: its offset in [`Self::bytes`],
    /// when it and its CIE lie in pages that were read.
    pub fn fde_offset(&self, pc: u64) -> Option<usize> {
        let i = self.table.partition_point(|e| e.0 <= pc).checked_sub(1)?;
        let off = usize::try_from(self.table[i].1.checked_sub(self.frame)?).ok()?;
        self.whole_entry(off)?;
        let cie_ptr = u32::from_le_bytes(self.bytes.get(off + 4..off + 8)?.try_into().ok()?);
        let cie = (off + 4).checked_sub(cie_ptr as usize)?;
        self.whole_entry(cie)?;
        Some(off)
    }

    /// Whether the CIE/FDE at `off` (a 32-bit length, then its body)
    /// lies in read pages.
    fn whole_entry(&self, off: usize) -> Option<()> {
        let len = u32::from_le_bytes(self.bytes.get(off..off + 4)?.try_into().ok()?) as usize;
        let end = off.checked_add(4)?.checked_add(len)?;
        if len == 0 || len == 0xffff_ffff || end > self.bytes.len() {
            return None;
        }
        // Image pages counted from the one holding `frame`.
        let first = (self.frame % PAGE) as usize;
        let pg = |o: usize| (first + o) / PAGE as usize;
        (pg(off)..=pg(end - 1))
            .all(|p| self.pages.get(p).copied().unwrap_or(false))
            .then_some(())
    }
}

/// Reads `len` bytes at `vaddr` page by page: the bytes (holes zeroed)
/// and which pages of the image were read, the first being the page
/// holding `vaddr` (one unreadable page marks only itself).
fn read_pages(img: &mut dyn Image, vaddr: u64, len: u64) -> (Vec<u8>, Vec<bool>) {
    let mut bytes = vec![0u8; len as usize];
    let mut pages = Vec::new();
    let mut at = 0u64;
    while at < len {
        // Chunks end on page boundaries of the image.
        let n = (PAGE - (vaddr.wrapping_add(at) % PAGE)).min(len - at);
        let chunk = &mut bytes[at as usize..(at + n) as usize];
        pages.push(img.read(vaddr.wrapping_add(at), chunk));
        at += n;
    }
    (bytes, pages)
}

/// Reads the `.eh_frame_hdr` named by `PT_GNU_EH_FRAME` and the
/// `.eh_frame` it points to (up to the end of its segment). Only GNU's
/// encodings are read: a pc-relative 4-byte frame pointer, a 4-byte
/// count and a table of 4-byte hdr-relative pairs.
pub fn eh_frame(img: &mut dyn Image, h: &Header) -> Option<EhFrame> {
    let hdr = h.find(PT_GNU_EH_FRAME).next()?.vaddr;
    let mut head = [0u8; 12];
    if !img.read(hdr, &mut head) || head[0] != 1 {
        return None;
    }
    let (ptr_enc, count_enc, table_enc) = (head[1], head[2], head[3]);
    if ptr_enc != 0x1b || count_enc != 0x03 || table_enc != 0x3b {
        return None;
    }
    let rel = i64::from(i32::from_le_bytes(head[4..8].try_into().ok()?));
    let frame = hdr.wrapping_add(4).wrapping_add(rel as u64);
    let count = u64::from(u32::from_le_bytes(head[8..12].try_into().ok()?)).min(MAX_FDES);
    let (raw, ok) = read_pages(img, hdr + 12, count * 8);
    if !ok.iter().all(|&b| b) {
        return None;
    }
    let mut table: Vec<(u64, u64)> = raw
        .chunks_exact(8)
        .map(|c| {
            let f =
                |o: usize| i64::from(i32::from_le_bytes(c[o..o + 4].try_into().unwrap_or([0; 4])));
            (hdr.wrapping_add(f(0) as u64), hdr.wrapping_add(f(4) as u64))
        })
        .collect();
    table.sort_unstable();
    let seg = h.load_of(frame)?;
    let len = (seg.vaddr + seg.memsz.min(seg.filesz))
        .saturating_sub(frame)
        .min(MAX_EH_FRAME);
    let (bytes, pages) = read_pages(img, frame, len);
    Some(EhFrame {
        hdr,
        frame,
        bytes,
        pages,
        table,
        address_size: if h.is64 { 8 } else { 4 },
    })
}

/// An `.eh_frame` at `frame` without a search table (static programs
/// are linked without `.eh_frame_hdr`): the table built by reading every
/// entry (bounded by [`MAX_FDES`]); `address_size` is the module's (4
/// or 8).
pub fn eh_frame_scanned(frame: u64, bytes: &[u8], address_size: u8) -> Option<EhFrame> {
    use gimli::UnwindSection;
    if bytes.len() as u64 > MAX_EH_FRAME {
        return None;
    }
    let mut sec = gimli::EhFrame::new(bytes, gimli::LittleEndian);
    sec.set_address_size(address_size);
    let bases = gimli::BaseAddresses::default().set_eh_frame(frame);
    let mut entries = sec.entries(&bases);
    let mut table = Vec::new();
    while let Ok(Some(e)) = entries.next() {
        if table.len() as u64 >= MAX_FDES {
            break;
        }
        if let gimli::CieOrFde::Fde(p) = e {
            let off = p.offset();
            if let Ok(fde) = p.parse(gimli::EhFrame::cie_from_offset) {
                table.push((fde.initial_address(), frame.wrapping_add(off as u64)));
            }
        }
    }
    table.sort_unstable();
    Some(EhFrame {
        hdr: 0,
        frame,
        bytes: bytes.to_vec(),
        pages: vec![true; bytes.len().div_ceil(PAGE as usize) + 1],
        table,
        address_size,
    })
}

/// What unwinding and naming need of one module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Module {
    /// The lowest loaded link-time address (the bias is the mapping's
    /// base minus this).
    pub first_vaddr: u64,
    /// Functions, strace's order.
    pub syms: FuncSyms,
    /// Unwind tables, when found.
    pub eh: Option<EhFrame>,
    /// Read from a host file with the module's build id (else from guest
    /// memory).
    pub from_host: bool,
}

/// A module's identity as mapped: its header, load bias and build id,
/// read from guest memory at its base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The ELF and program headers.
    pub header: Header,
    /// Runtime minus link-time addresses.
    pub bias: u64,
    /// The GNU build id, when its note could be read.
    pub build_id: Option<Vec<u8>>,
}

/// Reads the headers and build id of the module mapped at `base`.
pub fn probe(mem: &mut dyn VirtMem, base: u64) -> Option<Probe> {
    let header = Header::parse(&mut |off, buf| mem.read_virt(base.wrapping_add(off), buf).is_ok())?;
    let bias = base.wrapping_sub(header.first_vaddr());
    let build_id = build_id(&mut GuestImage { mem, bias }, &header);
    Some(Probe {
        header,
        bias,
        build_id,
    })
}

/// The module `p` found in guest memory: symbols and unwind tables from
/// a host file with its build id when one is found (`path` on the
/// host, then under each of `dirs` by path and by file name), else
/// from guest memory.
pub fn load(mem: &mut dyn VirtMem, p: &Probe, path: Option<&str>, dirs: &[PathBuf]) -> Module {
    if let (Some(id), Some(path)) = (&p.build_id, path) {
        if let Some(m) = host_candidates(path, dirs).find_map(|f| from_file(&f, id)) {
            return m;
        }
    }
    let h = &p.header;
    let mut img = GuestImage { mem, bias: p.bias };
    let funcs = functions(dynsym(&mut img, h, p.bias));
    Module {
        first_vaddr: h.first_vaddr(),
        syms: FuncSyms::new(funcs, h.span()),
        eh: eh_frame(&mut img, h),
        from_host: false,
    }
}

/// The `STT_FUNC` entries of a dynamic symbol table (libunwind names
/// frames with those only).
fn functions(syms: Option<Vec<RawSym>>) -> Vec<FuncSym> {
    syms.unwrap_or_default()
        .into_iter()
        .filter(|s| s.kind == 2)
        .map(|s| FuncSym {
            value: s.value,
            name: s.name,
        })
        .collect()
}

/// The module in a host copy of `path` (where [`load`] looks) whose
/// bytes at `file_offset` are the guest's `code`: for a mapping whose
/// headers the guest never touched (a file mapped again by hand), so no
/// build id can be read; the page the guest runs from proves the copy.
pub fn load_matching(
    path: &str,
    dirs: &[PathBuf],
    file_offset: u64,
    code: &[u8],
) -> Option<Module> {
    if code.is_empty() {
        return None;
    }
    host_candidates(path, dirs).find_map(|f| {
        let data = read_host(&f)?;
        let at = usize::try_from(file_offset).ok()?;
        if data.get(at..at.checked_add(code.len())?)? != code {
            return None;
        }
        from_any(&data, None)
    })
}

/// The host files that may be the guest's `path`.
fn host_candidates<'a>(path: &'a str, dirs: &'a [PathBuf]) -> impl Iterator<Item = PathBuf> + 'a {
    let rel = path.trim_start_matches('/');
    let name = Path::new(path).file_name().map(PathBuf::from);
    std::iter::once(PathBuf::from(path)).chain(dirs.iter().flat_map(move |d| {
        [Some(d.join(rel)), name.as_ref().map(|n| d.join(n))]
            .into_iter()
            .flatten()
    }))
}

/// The module in host file `f`, when its build id is `id`.
pub fn from_file(f: &Path, id: &[u8]) -> Option<Module> {
    from_bytes(&read_host(f)?, id)
}

/// Host file `f`'s bytes, when a regular file of at most [`MAX_FILE`].
fn read_host(f: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::metadata(f).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    std::fs::read(f).ok()
}

/// The module in the ELF file `data` (ELF64 or ELF32), when its build
/// id is `id`.
pub fn from_bytes(data: &[u8], id: &[u8]) -> Option<Module> {
    from_any(data, Some(id))
}

/// [`from_bytes`], with no build id to check when `id` is `None`.
fn from_any(data: &[u8], id: Option<&[u8]>) -> Option<Module> {
    use object::read::elf::{ElfFile32, ElfFile64};
    if let Ok(f) = ElfFile64::<object::LittleEndian>::parse(data) {
        return from_elf(&f, data, id);
    }
    from_elf(
        &ElfFile32::<object::LittleEndian>::parse(data).ok()?,
        data,
        id,
    )
}

/// [`from_any`] for one ELF class.
fn from_elf<E>(
    file: &object::read::elf::ElfFile<'_, E>,
    data: &[u8],
    id: Option<&[u8]>,
) -> Option<Module>
where
    E: object::read::elf::FileHeader<Endian = object::LittleEndian>,
{
    use object::read::elf::Sym as _;
    if let Some(id) = id {
        if file.build_id().ok()?? != id {
            return None;
        }
    }
    let h = Header::parse(&mut |off, buf| match data
        .get(off as usize..(off as usize).saturating_add(buf.len()))
    {
        Some(s) => {
            buf.copy_from_slice(s);
            true
        }
        None => false,
    })?;
    let mut funcs = Vec::new();
    for s in file.dynamic_symbols().chain(file.symbols()) {
        if funcs.len() as u64 >= 2 * MAX_SYMS {
            break;
        }
        // Defined STT_FUNC only (libunwind's rule), not STT_GNU_IFUNC.
        if s.is_undefined() || s.elf_symbol().st_type() != object::elf::STT_FUNC {
            continue;
        }
        if let Ok(name) = s.name() {
            if !name.is_empty() {
                funcs.push(FuncSym {
                    value: s.address(),
                    name: name.to_string(),
                });
            }
        }
    }
    if funcs.is_empty() {
        // No section headers (or no symbol section): the dynamic
        // section's table, as in guest memory.
        funcs = functions(dynsym(&mut FileImage { data, header: &h }, &h, 0));
    }
    let eh = eh_frame(&mut FileImage { data, header: &h }, &h).or_else(|| {
        let s = object::Object::section_by_name(file, ".eh_frame")?;
        let bytes = object::ObjectSection::data(&s).ok()?;
        let size = if h.is64 { 8 } else { 4 };
        eh_frame_scanned(object::ObjectSection::address(&s), bytes, size)
    });
    Some(Module {
        first_vaddr: h.first_vaddr(),
        syms: FuncSyms::new(funcs, h.span()),
        eh,
        from_host: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testelf::{self, at};
    use vstrace_core::testmem::SparseVirt;

    const BASE: u64 = 0x7f12_0000_0000;

    fn guest() -> SparseVirt {
        let mut m = SparseVirt::new();
        m.map(BASE, &testelf::image());
        m
    }

    #[test]
    fn guest_memory_and_host_file_give_the_same_module() {
        let mut m = guest();
        let p = probe(&mut m, BASE).unwrap();
        assert_eq!(p.bias, BASE);
        assert_eq!(p.build_id.as_deref(), Some(&testelf::BUILD_ID[..]));
        let g = load(&mut m, &p, None, &[]);
        assert!(!g.from_host);
        assert_eq!(g.syms.nearest(at::LEAF + 5), Some(("leaf", 5)));
        assert_eq!(g.syms.nearest(at::OUTER + 0x7f0), Some(("outer", 0x7f0)));
        assert_eq!(g.syms.nearest(at::LEAF - 1), None);
        let eh = g.eh.as_ref().unwrap();
        assert_eq!(eh.table.len(), 4);
        assert!(eh.fde_offset(at::OUTER + 3).is_some());
        let h = from_bytes(&testelf::image(), &testelf::BUILD_ID).unwrap();
        assert!(h.from_host);
        assert_eq!(h.eh, g.eh);
        assert_eq!(h.syms, g.syms);
        // Another build id: not this file.
        assert!(from_bytes(&testelf::image(), b"other").is_none());
    }

    #[test]
    fn unread_pages_of_the_tables_give_no_entry() {
        // Only the first page (headers, tables' start) is mapped.
        let mut m = SparseVirt::new();
        m.map(BASE, &testelf::image()[..0x600]);
        let p = probe(&mut m, BASE).unwrap();
        let g = load(&mut m, &p, None, &[]);
        assert!(g.eh.is_none());
    }

    #[test]
    fn hostile_images_never_panic() {
        let img = testelf::image();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..3000 {
            let mut b = img.clone();
            for _ in 0..1 + next() % 8 {
                let i = (next() % 0x800) as usize;
                b[i] = next() as u8;
            }
            let mut m = SparseVirt::new();
            m.map(BASE, &b);
            if let Some(p) = probe(&mut m, BASE) {
                let g = load(&mut m, &p, None, &[]);
                let _ = g.syms.nearest(at::OUTER);
                if let Some(eh) = &g.eh {
                    let _ = eh.fde_offset(at::OUTER + 2);
                }
            }
            let _ = from_bytes(&b, &testelf::BUILD_ID);
        }
    }

    #[test]
    fn an_elf32_image_from_memory_and_from_a_file() {
        let base = 0x5655_0000u64;
        let mut m = SparseVirt::new();
        m.map(base, &testelf::image32());
        let p = probe(&mut m, base).unwrap();
        assert!(!p.header.is64);
        assert_eq!(p.header.phdrs.len(), 4);
        assert_eq!(p.bias, base);
        assert_eq!(p.build_id.as_deref(), Some(&testelf::BUILD_ID[..]));
        let g = load(&mut m, &p, None, &[]);
        assert_eq!(g.syms.len(), 2);
        assert_eq!(g.syms.nearest(at::OUTER + 3), Some(("outer", 3)));
        let eh = g.eh.as_ref().unwrap();
        assert_eq!((eh.table.len(), eh.address_size), (4, 4));
        assert!(eh.fde_offset(at::LEAF).is_some());
        let h = from_bytes(&testelf::image32(), &testelf::BUILD_ID).unwrap();
        assert_eq!((h.eh, h.syms), (g.eh, g.syms));
        // The dynamic symbols as `--caller` reads them.
        let t = crate::modmap::read_dynsym(&mut m, base).unwrap();
        assert_eq!(t.lookup(base + at::LEAF + 4), Some(("leaf", 4)));
    }

    #[test]
    fn hostile_elf32_images_never_panic() {
        let img = testelf::image32();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..3000 {
            let mut b = img.clone();
            for _ in 0..1 + x % 8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b[(x % 0x800) as usize] = (x >> 32) as u8;
            }
            let mut m = SparseVirt::new();
            m.map(0x5655_0000, &b);
            if let Some(p) = probe(&mut m, 0x5655_0000) {
                let g = load(&mut m, &p, None, &[]);
                let _ = g.syms.nearest(at::OUTER);
            }
            let _ = crate::modmap::read_dynsym(&mut m, 0x5655_0000);
            let _ = from_bytes(&b, &testelf::BUILD_ID);
        }
    }

    #[test]
    fn an_unread_later_page_hides_no_entry_of_the_first() {
        // The vDSO's .eh_frame segment runs into a page the process never
        // touched: the entries on the first page are still used.
        let base = 0xf7f0_0000u64;
        let mut m = SparseVirt::new();
        m.map(base, &testelf::image32()[..0x1000]);
        let p = probe(&mut m, base).unwrap();
        let g = load(&mut m, &p, None, &[]);
        let eh = g.eh.as_ref().unwrap();
        assert_eq!(eh.pages, [true, false]);
        assert!(eh.fde_offset(at::LEAF + 5).is_some());
    }
}
