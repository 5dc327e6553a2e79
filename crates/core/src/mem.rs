//! Guest memory: physical access, x86 page walks, and virtual access in one
//! address space that crosses page boundaries.
//!
//! Every address comes from the guest and may be unmapped: errors carry the
//! faulting virtual address.

/// Error reading or writing guest memory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemError {
    /// No page maps this virtual address (the first unmapped byte).
    #[error("guest virtual address {0:#x} is not mapped")]
    Unmapped(u64),
    /// A physical address (from a page-table entry) outside the guest's RAM.
    #[error("guest physical address {0:#x} is outside guest RAM")]
    BadPhys(u64),
    /// The page or the event source refuses writes at this address.
    #[error("guest memory at {0:#x} is not writable through this source")]
    ReadOnly(u64),
    /// A single access longer than the source accepts ([`MAX_ACCESS`] for page walks).
    #[error("length {len} at {addr:#x} exceeds the cap of {cap} bytes")]
    TooLong {
        /// Guest virtual address where the access starts.
        addr: u64,
        /// Requested length in bytes.
        len: u64,
        /// Largest length accepted, in bytes.
        cap: u64,
    },
    /// Any other failure the event source reports, with its reason.
    #[error("guest memory access failed at {addr:#x}: {reason}")]
    Other {
        /// Guest address (virtual or physical, as the source reports it)
        /// where the access failed.
        addr: u64,
        /// The source's explanation.
        reason: String,
    },
    /// A read in another address space on a source without physical memory access.
    #[error("guest virtual address {0:#x}: this event source cannot read other address spaces")]
    NoOtherSpace(u64),
}

/// Guest virtual memory of one address space (the trapping vCPU's
/// current one), with reads in other spaces where the source can.
pub trait VirtMem {
    /// Fills `buf` from `addr`; all or nothing.
    fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError>;
    /// Writes `data` at `addr`; all or nothing where the source allows.
    fn write_virt(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError>;
    /// Fills `buf` from `addr` in the address space `space` instead of the
    /// current one: kernels that unmap themselves from user page tables
    /// (Windows KVA shadow, Linux PTI) keep their data only in the kernel
    /// space. Needs physical memory access; sources without it fail with
    /// [`MemError::NoOtherSpace`].
    fn read_virt_in(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let _ = (space, buf);
        Err(MemError::NoOtherSpace(addr))
    }
}

/// One x86 address space: its paging mode and the root of its tables (a
/// CR3 value; PCID and flag bits are ignored by the walk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Space {
    /// Paging mode, which decides the table format and walk depth.
    pub mode: PagingMode,
    /// Physical address of the top-level table: a CR3 value (PCID and flag bits are masked off by the walk).
    pub root: u64,
}

impl Space {
    /// Guest physical memory, untranslated: `read_virt_in(Space::PHYSICAL,
    /// pa, buf)` reads RAM at `pa` where the source can (a recording
    /// keeps such reads as it keeps any other).
    pub const PHYSICAL: Space = Space {
        mode: PagingMode::Physical,
        root: 0,
    };

    /// The trapping vCPU's own space (None: paging off or 5-level).
    pub fn current(regs: &crate::Regs) -> Option<Space> {
        PagingMode::from_regs(regs.cr0, regs.cr4, regs.efer).map(|mode| Space {
            mode,
            root: regs.cr3,
        })
    }

    /// The same paging mode rooted at `root`.
    pub fn with_root(self, root: u64) -> Space {
        Space { root, ..self }
    }

    /// The root without PCID / flag bits: what identifies the space.
    pub fn base(self) -> u64 {
        match self.mode {
            PagingMode::Long4 | PagingMode::Long5 => self.root & ADDR_MASK,
            PagingMode::Pae => self.root & 0xffff_ffe0,
            PagingMode::Legacy32 => self.root & 0xffff_f000,
            PagingMode::Physical => 0,
        }
    }

    /// Reads through a page walk over `phys`: how a source with physical
    /// access implements [`VirtMem::read_virt_in`].
    pub fn read(self, phys: &mut dyn PhysMem, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        GuestVirt {
            phys,
            mode: self.mode,
            cr3: self.root,
        }
        .read_virt(addr, buf)
    }
}

/// Reads in other address spaces through page walks over a physical
/// memory, remembering the last few translations. Meant to live for one
/// event: the guest may change its page tables between events.
#[derive(Debug, Default)]
pub struct WalkCache {
    /// (space base, mode, page-aligned va, translation of that va).
    entries: [Option<(u64, PagingMode, u64, Translation)>; WALK_CACHE],
    next: usize,
}

const WALK_CACHE: usize = 8;

impl WalkCache {
    /// The translation of `va` in `space`, from this event's cache or a
    /// walk (kept for the rest of the event).
    pub fn translate(
        &mut self,
        phys: &mut dyn PhysMem,
        space: Space,
        va: u64,
    ) -> Result<Translation, MemError> {
        let base = space.base();
        for (b, m, page, t) in self.entries.iter().flatten() {
            if *b == base && *m == space.mode && va & !(t.page_size - 1) == *page {
                return Ok(Translation {
                    pa: (t.pa & !(t.page_size - 1)) | (va & (t.page_size - 1)),
                    ..*t
                });
            }
        }
        let t = translate(phys, space.mode, space.root, va)?;
        self.entries[self.next] = Some((base, space.mode, va & !(t.page_size - 1), t));
        self.next = (self.next + 1) % WALK_CACHE;
        Ok(t)
    }

    /// Checks that the guest's own stores could write `len` bytes at
    /// `addr` in `space`: every page mapped and writable at every level of
    /// its walk; else the first unmapped or read-only address. A source
    /// that writes guest RAM by its physical address (as QEMU's debug and
    /// plugin writes do) must not write a page the guest maps read-only:
    /// such a page may be shared (a copy-on-write page after a fork, the
    /// kernel's zero page, a file's page in the page cache), and the
    /// bytes would appear in every process that maps it.
    pub fn check_writable(
        &mut self,
        phys: &mut dyn PhysMem,
        space: Space,
        addr: u64,
        len: usize,
    ) -> Result<(), MemError> {
        let mut done = 0usize;
        while done < len {
            let a = addr
                .checked_add(done as u64)
                .ok_or(MemError::Unmapped(u64::MAX))?;
            let t = self.translate(phys, space, a)?;
            if !t.writable {
                return Err(MemError::ReadOnly(a));
            }
            done += (t.page_size - (a & (t.page_size - 1))) as usize;
        }
        Ok(())
    }

    /// Fills `buf` from `addr` in `space`; all or nothing (every page is
    /// translated before any byte is read).
    pub fn read(
        &mut self,
        phys: &mut dyn PhysMem,
        space: Space,
        addr: u64,
        buf: &mut [u8],
    ) -> Result<(), MemError> {
        // Within one page (nearly every read): no list of pieces to
        // allocate; the same translation, the same error.
        if !buf.is_empty() && buf.len() as u64 <= MAX_ACCESS {
            let t = self.translate(phys, space, addr)?;
            let in_page = t.page_size - (addr & (t.page_size - 1));
            if buf.len() as u64 <= in_page {
                return phys.read_phys(t.pa, buf);
            }
        }
        let pieces = split_pieces(addr, buf.len(), |a| self.translate(phys, space, a))?;
        read_pieces(phys, pieces, buf)
    }
}

/// Another address space seen through a [`VirtMem`]'s
/// [`read_virt_in`](VirtMem::read_virt_in), read-only: what OS layers hand
/// their structure readers when the current space does not map the kernel.
pub struct InSpace<'a> {
    /// The memory whose `read_virt_in` does the reads.
    pub mem: &'a mut dyn VirtMem,
    /// The address space every read goes to.
    pub space: Space,
}

impl VirtMem for InSpace<'_> {
    fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.mem.read_virt_in(self.space, addr, buf)
    }
    fn write_virt(&mut self, addr: u64, _data: &[u8]) -> Result<(), MemError> {
        Err(MemError::ReadOnly(addr))
    }
    fn read_virt_in(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.mem.read_virt_in(space, addr, buf)
    }
}

/// The user part of an address space, below `end`: what a call made from
/// user mode can point at. The kernel checks a user pointer against its
/// user range and answers EFAULT for one in its own half; decoders of
/// user-mode calls read through this, so such a pointer prints as an
/// address (as strace prints it), never as the kernel's bytes.
pub struct UserOnly<'a> {
    /// The memory of the trap's address space.
    pub mem: &'a mut dyn VirtMem,
    /// First address that is not user space ([`user_space_end`]).
    pub end: u64,
}

impl UserOnly<'_> {
    fn check(&self, addr: u64, len: usize) -> Result<(), MemError> {
        if addr >= self.end || self.end - addr < len as u64 {
            return Err(MemError::Unmapped(addr));
        }
        Ok(())
    }
}

impl VirtMem for UserOnly<'_> {
    fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.check(addr, buf.len())?;
        self.mem.read_virt(addr, buf)
    }
    fn write_virt(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError> {
        self.check(addr, data.len())?;
        self.mem.write_virt(addr, data)
    }
    fn read_virt_in(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.check(addr, buf.len())?;
        self.mem.read_virt_in(space, addr, buf)
    }
}

/// The end of user space for a trap with these registers: in long mode
/// the lower half (every kernel address has bit 63 set, with 4- or
/// 5-level paging); for a 32-bit kernel the OS's split, `legacy_end`.
pub fn user_space_end(regs: &crate::Regs, legacy_end: u64) -> u64 {
    if regs.efer & crate::event::EFER_LMA != 0 {
        1 << 63
    } else {
        legacy_end
    }
}

/// Largest single virtual access [`GuestVirt`] accepts: a guest-supplied
/// length must never make the tracer allocate or walk without bound.
pub const MAX_ACCESS: u64 = 16 << 20;

/// Guest physical memory.
pub trait PhysMem {
    /// Fills `buf` from physical address `pa`.
    fn read_phys(&mut self, pa: u64, buf: &mut [u8]) -> Result<(), MemError>;
    /// Writes `data` at physical address `pa`.
    fn write_phys(&mut self, pa: u64, data: &[u8]) -> Result<(), MemError>;
}

/// Guest RAM as sorted `[start, end)` ranges: what physical reads made on
/// a guest page table's word are bounded to, so that they never reach
/// device memory (an emulator's physical accesses dispatch MMIO).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RamRanges {
    ranges: Vec<(u64, u64)>,
}

impl RamRanges {
    /// The ranges, empty ones dropped, sorted.
    pub fn new(mut ranges: Vec<(u64, u64)>) -> RamRanges {
        ranges.retain(|(s, e)| s < e);
        ranges.sort_unstable();
        RamRanges { ranges }
    }

    /// The `[start, end)` physical ranges, sorted, none empty.
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    /// Whether no RAM is known (then no physical read is allowed).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether `[pa, pa + len)` lies within one range.
    pub fn contains(&self, pa: u64, len: u64) -> bool {
        let Some(end) = pa.checked_add(len) else {
            return false;
        };
        self.ranges.iter().any(|&(s, e)| pa >= s && end <= e)
    }
}

/// x86 paging mode of an address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PagingMode {
    /// 32-bit paging, 4-byte entries, 4 KiB and 4 MiB (PSE) pages.
    Legacy32,
    /// PAE paging, 8-byte entries, 4 KiB and 2 MiB pages.
    Pae,
    /// 4-level long-mode paging, 4 KiB, 2 MiB and 1 GiB pages.
    Long4,
    /// 5-level long-mode paging (CR4.LA57): a PML5 above the PML4, 57-bit
    /// virtual addresses; the same page sizes.
    Long5,
    /// No translation: the address is guest-physical (a source's read
    /// of RAM the kernel does not map, such as an i386 kernel's highmem
    /// page tables; see [`Space::PHYSICAL`]).
    Physical,
}

const CR0_PG: u64 = 1 << 31;
const CR4_PAE: u64 = 1 << 5;
const CR4_LA57: u64 = 1 << 12;

impl PagingMode {
    /// The paging mode the CPU uses for these control registers, or `None`
    /// when paging is off (CR0.PG clear: virtual = physical).
    pub fn from_regs(cr0: u64, cr4: u64, efer: u64) -> Option<PagingMode> {
        if cr0 & CR0_PG == 0 {
            return None;
        }
        if efer & crate::event::EFER_LMA != 0 {
            if cr4 & CR4_LA57 != 0 {
                return Some(PagingMode::Long5);
            }
            Some(PagingMode::Long4)
        } else if cr4 & CR4_PAE != 0 {
            Some(PagingMode::Pae)
        } else {
            Some(PagingMode::Legacy32)
        }
    }
}

/// Result of a page walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    /// Physical address of `va`.
    pub pa: u64,
    /// Size of the page that maps `va` (4 KiB, 2 MiB, 4 MiB or 1 GiB).
    pub page_size: u64,
    /// Writable at every level (R/W bits ANDed).
    pub writable: bool,
    /// User-accessible at every level (U/S bits ANDed).
    pub user: bool,
}

const PTE_P: u64 = 1;
const PTE_RW: u64 = 1 << 1;
const PTE_US: u64 = 1 << 2;
const PTE_PS: u64 = 1 << 7;
/// Physical address bits 51..12 of an 8-byte entry (or of CR3).
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
const KIB4: u64 = 1 << 12;
const MIB2: u64 = 1 << 21;
const MIB4: u64 = 1 << 22;
const GIB1: u64 = 1 << 30;

/// Permission bits accumulated down a walk.
struct Walk {
    writable: bool,
    user: bool,
}

impl Walk {
    fn new() -> Walk {
        Walk {
            writable: true,
            user: true,
        }
    }
    fn add(&mut self, entry: u64) {
        self.writable &= entry & PTE_RW != 0;
        self.user &= entry & PTE_US != 0;
    }
    fn done(self, pa: u64, page_size: u64) -> Translation {
        Translation {
            pa,
            page_size,
            writable: self.writable,
            user: self.user,
        }
    }
}

fn entry64(phys: &mut dyn PhysMem, pa: u64) -> Result<u64, MemError> {
    let mut b = [0u8; 8];
    phys.read_phys(pa, &mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn entry32(phys: &mut dyn PhysMem, pa: u64) -> Result<u64, MemError> {
    let mut b = [0u8; 4];
    phys.read_phys(pa, &mut b)?;
    Ok(u32::from_le_bytes(b) as u64)
}

/// Translates `va` by walking the page tables rooted at `cr3`.
///
/// Non-present entries and non-canonical (or, in 32-bit modes, >4 GiB)
/// addresses give `MemError::Unmapped(va)`; a table outside guest RAM gives
/// the physical source's error. Large pages are honoured at every level
/// where the mode allows them (legacy 4 MiB pages assume CR4.PSE, which
/// every OS we trace enables).
pub fn translate(
    phys: &mut dyn PhysMem,
    mode: PagingMode,
    cr3: u64,
    va: u64,
) -> Result<Translation, MemError> {
    match walk(phys, mode, cr3, va)? {
        WalkEnd::Mapped(t) => Ok(t),
        WalkEnd::NotPresent { .. } => Err(MemError::Unmapped(va)),
    }
}

/// Where a page walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkEnd {
    /// A present leaf maps the address.
    Mapped(Translation),
    /// The walk stopped at a non-present entry: what an OS keeps there
    /// (nothing at all, or a swap or migration entry) tells why.
    NotPresent {
        /// The entry's raw value (4 bytes zero-extended in legacy mode).
        entry: u64,
        /// Bytes of address space the entry covers (4 KiB for a page
        /// table entry, 2 or 4 MiB for a directory's, up to 256 TiB for a
        /// PML5 entry), aligned at that size.
        span: u64,
    },
}

/// Walks the page tables rooted at `cr3` for `va`: the translation, or
/// the non-present entry the walk stopped at. Non-canonical (or, in
/// 32-bit modes, >4 GiB) addresses give `MemError::Unmapped(va)`, as do
/// tables outside guest RAM through the physical source's error.
pub fn walk(
    phys: &mut dyn PhysMem,
    mode: PagingMode,
    cr3: u64,
    va: u64,
) -> Result<WalkEnd, MemError> {
    let stop = |entry: u64, span: u64| Ok(WalkEnd::NotPresent { entry, span });
    let mut w = Walk::new();
    match mode {
        PagingMode::Physical => Ok(WalkEnd::Mapped(Translation {
            pa: va,
            page_size: KIB4,
            writable: true,
            user: true,
        })),
        PagingMode::Long4 | PagingMode::Long5 => {
            let five = mode == PagingMode::Long5;
            // Canonical: bits 63..47 (63..56 with 5 levels) all equal.
            let top = (va as i64) >> if five { 56 } else { 47 };
            if top != 0 && top != -1 {
                return Err(MemError::Unmapped(va));
            }
            // Low 12 bits are PCID (or PWT/PCD), bit 63 is no-flush.
            let mut table = cr3 & ADDR_MASK;
            if five {
                let e = entry64(phys, table + ((va >> 48) & 0x1ff) * 8)?;
                if e & PTE_P == 0 {
                    return stop(e, 1 << 48);
                }
                w.add(e);
                table = e & ADDR_MASK;
            }
            let e = entry64(phys, table + ((va >> 39) & 0x1ff) * 8)?;
            if e & PTE_P == 0 {
                return stop(e, 1 << 39);
            }
            w.add(e);
            let e = entry64(phys, (e & ADDR_MASK) + ((va >> 30) & 0x1ff) * 8)?;
            if e & PTE_P == 0 {
                return stop(e, GIB1);
            }
            w.add(e);
            if e & PTE_PS != 0 {
                let pa = (e & ADDR_MASK & !(GIB1 - 1)) | (va & (GIB1 - 1));
                return Ok(WalkEnd::Mapped(w.done(pa, GIB1)));
            }
            pd_pt64(phys, e & ADDR_MASK, va, w)
        }
        PagingMode::Pae => {
            if va > u32::MAX as u64 {
                return Err(MemError::Unmapped(va));
            }
            let pdpt = cr3 & 0xffff_ffe0;
            let e = entry64(phys, pdpt + ((va >> 30) & 3) * 8)?;
            if e & PTE_P == 0 {
                return stop(e, GIB1);
            }
            // PAE PDPTEs carry no R/W or U/S bits.
            pd_pt64(phys, e & ADDR_MASK, va, w)
        }
        PagingMode::Legacy32 => {
            if va > u32::MAX as u64 {
                return Err(MemError::Unmapped(va));
            }
            let pd = cr3 & 0xffff_f000;
            let e = entry32(phys, pd + (va >> 22) * 4)?;
            if e & PTE_P == 0 {
                return stop(e, MIB4);
            }
            w.add(e);
            if e & PTE_PS != 0 {
                // PSE-36: PDE bits 20..13 are physical address bits 39..32.
                let base = (e & 0xffc0_0000) | (((e >> 13) & 0xff) << 32);
                return Ok(WalkEnd::Mapped(w.done(base | (va & (MIB4 - 1)), MIB4)));
            }
            let e = entry32(phys, (e & 0xffff_f000) + ((va >> 12) & 0x3ff) * 4)?;
            if e & PTE_P == 0 {
                return stop(e, KIB4);
            }
            w.add(e);
            let pa = (e & 0xffff_f000) | (va & (KIB4 - 1));
            Ok(WalkEnd::Mapped(w.done(pa, KIB4)))
        }
    }
}

/// The page-directory and page-table levels shared by PAE and long mode.
fn pd_pt64(phys: &mut dyn PhysMem, pd: u64, va: u64, mut w: Walk) -> Result<WalkEnd, MemError> {
    let e = entry64(phys, pd + ((va >> 21) & 0x1ff) * 8)?;
    if e & PTE_P == 0 {
        return Ok(WalkEnd::NotPresent {
            entry: e,
            span: MIB2,
        });
    }
    w.add(e);
    if e & PTE_PS != 0 {
        let pa = (e & ADDR_MASK & !(MIB2 - 1)) | (va & (MIB2 - 1));
        return Ok(WalkEnd::Mapped(w.done(pa, MIB2)));
    }
    let e = entry64(phys, (e & ADDR_MASK) + ((va >> 12) & 0x1ff) * 8)?;
    if e & PTE_P == 0 {
        return Ok(WalkEnd::NotPresent {
            entry: e,
            span: KIB4,
        });
    }
    w.add(e);
    let pa = (e & ADDR_MASK) | (va & (KIB4 - 1));
    Ok(WalkEnd::Mapped(w.done(pa, KIB4)))
}

/// Guest virtual memory of the address space rooted at `cr3`, read and
/// written through page walks over a physical memory.
///
/// Accesses may cross pages (each page is translated on its own: adjacent
/// virtual pages need not be adjacent physically). Accesses are
/// all-or-nothing as far as translation goes: every page is translated
/// before any byte is copied. Writes ignore the guest's R/W bits, as a
/// debugger does.
pub struct GuestVirt<'a> {
    /// Physical memory the page tables and data are read from.
    pub phys: &'a mut dyn PhysMem,
    /// Paging mode of the address space.
    pub mode: PagingMode,
    /// CR3 of the address space (PCID and flag bits are ignored by the walk).
    pub cr3: u64,
}

impl GuestVirt<'_> {
    /// Translates `va` in this address space.
    pub fn translate(&mut self, va: u64) -> Result<Translation, MemError> {
        translate(self.phys, self.mode, self.cr3, va)
    }

    /// Splits `[va, va + len)` into physically contiguous pieces
    /// `(pa, len)`, translating every page first.
    fn pieces(&mut self, va: u64, len: usize) -> Result<Vec<(u64, usize)>, MemError> {
        let (phys, mode, cr3) = (&mut *self.phys, self.mode, self.cr3);
        split_pieces(va, len, |a| translate(phys, mode, cr3, a))
    }
}

/// Splits `[va, va + len)` into physically contiguous pieces `(pa, len)`
/// with `translate`, translating every page before any byte is touched
/// (accesses are all or nothing as far as translation goes). Fails past
/// [`MAX_ACCESS`] or the top of the address space.
fn split_pieces(
    va: u64,
    len: usize,
    mut translate: impl FnMut(u64) -> Result<Translation, MemError>,
) -> Result<Vec<(u64, usize)>, MemError> {
    if len as u64 > MAX_ACCESS {
        return Err(MemError::TooLong {
            addr: va,
            len: len as u64,
            cap: MAX_ACCESS,
        });
    }
    let mut out = Vec::with_capacity(2);
    let mut done = 0usize;
    while done < len {
        // Past the top of the address space: no page to map it.
        let addr = va
            .checked_add(done as u64)
            .ok_or(MemError::Unmapped(u64::MAX))?;
        let t = translate(addr)?;
        let in_page = t.page_size - (addr & (t.page_size - 1));
        let n = in_page.min((len - done) as u64) as usize;
        out.push((t.pa, n));
        done += n;
    }
    Ok(out)
}

/// Reads `pieces` (from [`split_pieces`]) of `phys` into `buf`, in order.
fn read_pieces(
    phys: &mut dyn PhysMem,
    pieces: Vec<(u64, usize)>,
    buf: &mut [u8],
) -> Result<(), MemError> {
    let mut off = 0;
    for (pa, n) in pieces {
        phys.read_phys(pa, &mut buf[off..off + n])?;
        off += n;
    }
    Ok(())
}

impl VirtMem for GuestVirt<'_> {
    fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let pieces = self.pieces(addr, buf.len())?;
        read_pieces(self.phys, pieces, buf)
    }

    fn write_virt(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError> {
        let pieces = self.pieces(addr, data.len())?;
        let mut off = 0;
        for (pa, n) in pieces {
            self.phys.write_phys(pa, &data[off..off + n])?;
            off += n;
        }
        Ok(())
    }
    fn read_virt_in(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        space.read(self.phys, addr, buf)
    }
}

/// Virtual memory with paging off (CR0.PG clear): virtual = physical.
pub struct Unpaged<'a> {
    /// Physical memory, addressed directly by virtual addresses.
    pub phys: &'a mut dyn PhysMem,
}

impl VirtMem for Unpaged<'_> {
    fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        if buf.len() as u64 > MAX_ACCESS {
            return Err(MemError::TooLong {
                addr,
                len: buf.len() as u64,
                cap: MAX_ACCESS,
            });
        }
        self.phys.read_phys(addr, buf)
    }
    fn write_virt(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError> {
        if data.len() as u64 > MAX_ACCESS {
            return Err(MemError::TooLong {
                addr,
                len: data.len() as u64,
                cap: MAX_ACCESS,
            });
        }
        self.phys.write_phys(addr, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testmem::{FlatPhys, PageSize, PageTableBuilder, PRESENT, USER, WRITABLE};

    const RAM: usize = 8 << 20;
    const TABLES: u64 = 0x1000;
    const RWU: u64 = PRESENT | WRITABLE | USER;

    fn builder(mode: PagingMode) -> PageTableBuilder {
        PageTableBuilder::new(mode, FlatPhys::new(RAM), TABLES).unwrap()
    }

    fn virt(b: &mut PageTableBuilder, cr3: u64) -> GuestVirt<'_> {
        let mode = b.mode;
        GuestVirt {
            phys: &mut b.phys,
            mode,
            cr3,
        }
    }

    /// A write is checked as the guest's own store would be: a read-only
    /// page anywhere in the range (a copy-on-write or zero page) refuses
    /// it, with the first such address; an unmapped one, with its own.
    #[test]
    fn writes_are_checked_against_the_guests_write_bits() {
        let mut b = builder(PagingMode::Long4);
        let base = 0x7fff_f000_0000u64;
        b.map(base, 0x20_0000, PageSize::K4, RWU).unwrap();
        b.map(base + 0x1000, 0x20_1000, PageSize::K4, PRESENT | USER)
            .unwrap();
        b.map(base + 0x2000, 0x20_2000, PageSize::K4, RWU).unwrap();
        let space = Space {
            mode: PagingMode::Long4,
            root: b.cr3(),
        };
        let mut w = WalkCache::default();
        let phys = &mut b.phys;
        assert_eq!(w.check_writable(phys, space, base + 0x10, 0x100), Ok(()));
        assert_eq!(w.check_writable(phys, space, base + 0x2ff0, 0x10), Ok(()));
        // Crossing into the read-only page.
        assert_eq!(
            w.check_writable(phys, space, base + 0xff8, 0x10),
            Err(MemError::ReadOnly(base + 0x1000))
        );
        assert_eq!(
            w.check_writable(phys, space, base + 0x1800, 1),
            Err(MemError::ReadOnly(base + 0x1800))
        );
        // Past the mapped pages.
        assert_eq!(
            w.check_writable(phys, space, base + 0x2ff8, 0x10),
            Err(MemError::Unmapped(base + 0x3000))
        );
        assert_eq!(w.check_writable(phys, space, base, 0), Ok(()));
    }

    /// The physical "space" reads RAM as it is, across pages.
    #[test]
    fn the_physical_space_is_untranslated() {
        let mut phys = FlatPhys::new(0x4000);
        phys.write_phys(0x1ffe, b"abcd").unwrap();
        let mut b = [0u8; 4];
        Space::PHYSICAL.read(&mut phys, 0x1ffe, &mut b).unwrap();
        assert_eq!(&b, b"abcd");
        let t = translate(&mut phys, PagingMode::Physical, 0x1234_5000, 0x2001).unwrap();
        assert_eq!((t.pa, t.page_size), (0x2001, 0x1000));
        assert!(Space::PHYSICAL.read(&mut phys, 0x3fff, &mut b).is_err());
    }

    #[test]
    fn reads_in_another_space_bypass_the_current_one() {
        // A kernel space mapping user and kernel pages, and a shadow user
        // space (its tables elsewhere in the same RAM) mapping only user.
        let (uva, kva) = (0x40_0000u64, 0xffff_f800_0000_1000u64);
        let mut k = builder(PagingMode::Long4);
        k.map(uva, 0x20_0000, PageSize::K4, RWU).unwrap();
        k.map(kva, 0x30_0000, PageSize::K4, PRESENT | WRITABLE)
            .unwrap();
        k.phys.write_phys(0x30_0010, b"kthread").unwrap();
        let kcr3 = k.cr3();
        let mut u = PageTableBuilder::new(PagingMode::Long4, k.phys, 0x10_0000).unwrap();
        u.map(uva, 0x20_0000, PageSize::K4, RWU).unwrap();
        let ucr3 = u.cr3();
        let mut cur = virt(&mut u, ucr3);
        let mut b = [0u8; 7];
        assert_eq!(
            cur.read_virt(kva + 0x10, &mut b),
            Err(MemError::Unmapped(kva + 0x10))
        );
        // PCID and no-flush bits in the root do not change the space.
        let ks = Space {
            mode: PagingMode::Long4,
            root: kcr3 | 2 | 1 << 63,
        };
        assert_eq!(ks.base(), kcr3);
        cur.read_virt_in(ks, kva + 0x10, &mut b).unwrap();
        assert_eq!(&b, b"kthread");
        let mut view = InSpace {
            mem: &mut cur,
            space: ks,
        };
        let mut b2 = [0u8; 7];
        view.read_virt(kva + 0x10, &mut b2).unwrap();
        assert_eq!(b2, b);
        assert_eq!(view.write_virt(kva, b"x"), Err(MemError::ReadOnly(kva)));
        // A source without physical access refuses.
        struct NoPhys;
        impl VirtMem for NoPhys {
            fn read_virt(&mut self, a: u64, _: &mut [u8]) -> Result<(), MemError> {
                Err(MemError::Unmapped(a))
            }
            fn write_virt(&mut self, a: u64, _: &[u8]) -> Result<(), MemError> {
                Err(MemError::Unmapped(a))
            }
        }
        assert_eq!(
            NoPhys.read_virt_in(ks, kva, &mut b),
            Err(MemError::NoOtherSpace(kva))
        );
        let regs = crate::Regs {
            cr0: 1 << 31 | 1,
            cr4: 0x20,
            efer: crate::event::EFER_LMA,
            cr3: ucr3,
            ..Default::default()
        };
        assert_eq!(
            Space::current(&regs),
            Some(Space {
                mode: PagingMode::Long4,
                root: ucr3
            })
        );
    }

    #[test]
    fn walk_cache_reads_like_a_walk_and_remembers_pages() {
        let mut b = builder(PagingMode::Long4);
        b.map(0x40_0000, 0x20_0000, PageSize::K4, RWU).unwrap();
        b.map(0x40_1000, 0x31_0000, PageSize::K4, RWU).unwrap();
        b.map(0x60_0000, 0x60_0000, PageSize::M2, RWU).unwrap();
        b.phys.write_phys(0x20_0ffe, b"ab").unwrap();
        b.phys.write_phys(0x31_0000, b"cd").unwrap();
        b.phys.write_phys(0x6f_0000, b"big").unwrap();
        let space = Space {
            mode: PagingMode::Long4,
            root: b.cr3(),
        };
        let mut c = WalkCache::default();
        let mut buf = [0u8; 4];
        // Across two pages that are not adjacent physically.
        c.read(&mut b.phys, space, 0x40_0ffe, &mut buf).unwrap();
        assert_eq!(&buf, b"abcd");
        let mut big = [0u8; 3];
        c.read(&mut b.phys, space, 0x6f_0000, &mut big).unwrap();
        assert_eq!(&big, b"big");
        // Cached: the tables can be wiped and the same pages still read
        // (which is why a cache lives for one event only).
        b.phys.ram[TABLES as usize..TABLES as usize + 0x1000].fill(0);
        c.read(&mut b.phys, space, 0x40_0ffe, &mut buf).unwrap();
        c.read(&mut b.phys, space, 0x60_0010, &mut big).unwrap();
        assert_eq!(
            WalkCache::default().read(&mut b.phys, space, 0x40_0ffe, &mut buf),
            Err(MemError::Unmapped(0x40_0ffe))
        );
        // Another space with the same va is not served from the cache.
        let other = space.with_root(0x50_0000);
        assert!(c.read(&mut b.phys, other, 0x40_0ffe, &mut buf).is_err());
        let mut huge = vec![0u8; MAX_ACCESS as usize + 1];
        assert!(matches!(
            c.read(&mut b.phys, space, 0x40_0000, &mut huge),
            Err(MemError::TooLong { .. })
        ));
    }

    #[test]
    fn paging_mode_from_regs() {
        let pg = 1 << 31;
        let lma = crate::event::EFER_LMA;
        assert_eq!(PagingMode::from_regs(0x11, 0x20, 0), None);
        assert_eq!(
            PagingMode::from_regs(pg | 1, 0, 0),
            Some(PagingMode::Legacy32)
        );
        assert_eq!(
            PagingMode::from_regs(pg | 1, 0x10, 0),
            Some(PagingMode::Legacy32)
        );
        assert_eq!(
            PagingMode::from_regs(pg | 1, 0x20, 0),
            Some(PagingMode::Pae)
        );
        assert_eq!(
            PagingMode::from_regs(pg | 1, 0x20, lma | 0x100),
            Some(PagingMode::Long4)
        );
        assert_eq!(
            PagingMode::from_regs(pg | 1, 0x20 | 0x1000, lma),
            Some(PagingMode::Long5)
        );
    }

    /// (mode, page size, va, pa) for every page size of every mode.
    fn cases() -> Vec<(PagingMode, PageSize, u64, u64)> {
        vec![
            (
                PagingMode::Long4,
                PageSize::K4,
                0x7fff_f7a3_5000,
                0x0012_3000,
            ),
            (
                PagingMode::Long4,
                PageSize::K4,
                0xffff_8880_0123_4000,
                0x0045_6000,
            ),
            (
                PagingMode::Long4,
                PageSize::M2,
                0xffff_ffff_8120_0000,
                0x0060_0000,
            ),
            (
                PagingMode::Long4,
                PageSize::G1,
                0x0000_7f80_4000_0000,
                0x0001_c000_0000,
            ),
            // 5-level: user and kernel addresses beyond 4-level's reach.
            (
                PagingMode::Long5,
                PageSize::K4,
                0x00ff_7fff_f7a3_5000,
                0x0012_3000,
            ),
            (
                PagingMode::Long5,
                PageSize::M2,
                0xff11_0000_0120_0000,
                0x0060_0000,
            ),
            (
                PagingMode::Long5,
                PageSize::G1,
                0xffff_ffff_c000_0000,
                0x0001_c000_0000,
            ),
            (PagingMode::Pae, PageSize::K4, 0xc012_3000, 0x0012_3000),
            (PagingMode::Pae, PageSize::K4, 0x0804_8000, 0x0045_6000),
            (PagingMode::Pae, PageSize::M2, 0x8060_0000, 0x0060_0000),
            (PagingMode::Legacy32, PageSize::K4, 0xc012_3000, 0x0012_3000),
            (PagingMode::Legacy32, PageSize::K4, 0x0804_8000, 0x0045_6000),
            (PagingMode::Legacy32, PageSize::M4, 0xc040_0000, 0x0040_0000),
            // PSE-36: a 4 MiB page above 4 GiB.
            (
                PagingMode::Legacy32,
                PageSize::M4,
                0x8000_0000,
                0x0012_0040_0000,
            ),
        ]
    }

    #[test]
    fn walks_every_mode_and_page_size() {
        for (mode, size, va, pa) in cases() {
            let mut b = builder(mode);
            b.map(va, pa, size, RWU).unwrap();
            let cr3 = b.cr3();
            for off in [0, 1, 0xabc, size.bytes() / 2 + 3, size.bytes() - 1] {
                let t = translate(&mut b.phys, mode, cr3, va + off).unwrap();
                assert_eq!(t.pa, pa + off, "{mode:?} {size:?} {va:#x}+{off:#x}");
                assert_eq!(t.page_size, size.bytes());
                assert!(t.writable && t.user);
            }
            // Just past the page: nothing mapped there (a page at the top
            // of the address space has its "past" wrap to 0).
            let past = va.wrapping_add(size.bytes());
            assert_eq!(
                translate(&mut b.phys, mode, cr3, past),
                Err(MemError::Unmapped(past))
            );
            assert_eq!(
                translate(&mut b.phys, mode, cr3, va - 1),
                Err(MemError::Unmapped(va - 1))
            );
            // Reads through the mapping land in the frame (when in RAM).
            if pa + 16 <= RAM as u64 {
                b.phys.write_phys(pa + 0x10, b"frame contents!!").unwrap();
                let mut buf = [0u8; 16];
                virt(&mut b, cr3).read_virt(va + 0x10, &mut buf).unwrap();
                assert_eq!(&buf, b"frame contents!!");
            } else {
                let mut buf = [0u8; 4];
                let e = virt(&mut b, cr3).read_virt(va, &mut buf).unwrap_err();
                assert!(matches!(e, MemError::BadPhys(_)), "{e:?}");
            }
        }
    }

    #[test]
    fn permissions_are_reported() {
        for (mode, size, va, pa) in cases() {
            let mut b = builder(mode);
            b.map(va, pa, size, PRESENT).unwrap();
            let t = b.virt().translate(va).unwrap();
            assert!(!t.writable && !t.user, "{mode:?} {size:?}");
            let mut b = builder(mode);
            b.map(va, pa, size, PRESENT | USER).unwrap();
            let t = b.virt().translate(va).unwrap();
            assert!(!t.writable && t.user, "{mode:?} {size:?}");
        }
    }

    /// Where a walk stops: the non-present entry's raw value and the
    /// span it covers, at every level of every mode.
    #[test]
    fn walks_report_the_entry_they_stop_at() {
        let stop = |mode, b: &mut PageTableBuilder, va| {
            let cr3 = b.cr3();
            match walk(&mut b.phys, mode, cr3, va).unwrap() {
                WalkEnd::NotPresent { entry, span } => (entry, span),
                WalkEnd::Mapped(t) => panic!("{mode:?} {va:#x} mapped at {t:?}"),
            }
        };
        for (mode, va, spans) in [
            (PagingMode::Long4, 0x7f00_0000_0000u64, (1u64 << 39, MIB2)),
            (PagingMode::Pae, 0x4000_0000, (GIB1, MIB2)),
            (PagingMode::Legacy32, 0x4000_0000, (MIB4, MIB4)),
        ] {
            let mut b = builder(mode);
            // Nothing at all: the top level's empty entry.
            assert_eq!(stop(mode, &mut b, va), (0, spans.0), "{mode:?}");
            // A leaf beside: the walk reaches the empty PTE next to it.
            b.map(va, 0x20_0000, PageSize::K4, RWU).unwrap();
            assert_eq!(stop(mode, &mut b, va + 0x1000), (0, KIB4), "{mode:?}");
            // A non-present, non-empty leaf (a swap entry's kind).
            b.map(va + 0x2000, 0x12_3000, PageSize::K4, 0).unwrap();
            assert_eq!(stop(mode, &mut b, va + 0x2000), (0x12_3000, KIB4));
            let cr3 = b.cr3();
            assert!(matches!(
                walk(&mut b.phys, mode, cr3, va + 5),
                Ok(WalkEnd::Mapped(t)) if t.pa == 0x20_0005
            ));
            // Another directory's empty entry (long mode: the PD's).
            if mode != PagingMode::Legacy32 {
                assert_eq!(stop(mode, &mut b, va + (8 << 20)), (0, spans.1));
            }
        }
        let mut b = builder(PagingMode::Long5);
        assert_eq!(
            stop(PagingMode::Long5, &mut b, 0x00ff_0000_0000_0000),
            (0, 1 << 48)
        );
    }

    #[test]
    fn pcid_bits_in_cr3_are_ignored() {
        let mut b = builder(PagingMode::Long4);
        let va = 0x7fff_0000_1000;
        b.map(va, 0x20_0000, PageSize::K4, RWU).unwrap();
        let cr3 = b.cr3();
        let plain = translate(&mut b.phys, PagingMode::Long4, cr3, va + 5).unwrap();
        for tagged in [cr3 | 0xfff, cr3 | 0x123, cr3 | (1 << 63) | 0x7] {
            assert_eq!(
                translate(&mut b.phys, PagingMode::Long4, tagged, va + 5).unwrap(),
                plain
            );
        }
        assert_eq!(plain.pa, 0x20_0005);
    }

    #[test]
    fn non_present_and_non_canonical_are_unmapped() {
        let mut b = builder(PagingMode::Long4);
        let va = 0x4000_0000;
        // A present table chain ending in a non-present leaf.
        b.map(va, 0x20_0000, PageSize::K4, WRITABLE | USER).unwrap();
        let cr3 = b.cr3();
        let mut v = virt(&mut b, cr3);
        assert_eq!(v.translate(va + 8), Err(MemError::Unmapped(va + 8)));
        for nc in [
            0x0000_8000_0000_0000u64,
            0xffff_7fff_ffff_f000,
            0x1234_0000_0000_0000,
        ] {
            assert_eq!(v.translate(nc), Err(MemError::Unmapped(nc)));
        }
        // 32-bit modes have nothing above 4 GiB.
        let mut b = builder(PagingMode::Pae);
        let cr3 = b.cr3();
        assert_eq!(
            translate(&mut b.phys, PagingMode::Pae, cr3, 1 << 32),
            Err(MemError::Unmapped(1 << 32))
        );
    }

    /// Two adjacent virtual pages backed by non-contiguous frames, in
    /// every mode: reads and writes that straddle them.
    #[test]
    fn straddling_accesses_split_per_page() {
        for (mode, va) in [
            (PagingMode::Long4, 0x7fff_ffff_e000u64),
            (PagingMode::Pae, 0xbfff_e000),
            (PagingMode::Legacy32, 0xbfff_e000),
        ] {
            let (f1, f2) = (0x30_0000u64, 0x10_5000u64);
            let mut b = builder(mode);
            b.map(va, f1, PageSize::K4, RWU).unwrap();
            b.map(va + 0x1000, f2, PageSize::K4, RWU).unwrap();
            b.phys.write_phys(f1 + 0xff8, b"ABCDEFGH").unwrap();
            b.phys.write_phys(f2, b"IJKLMNOP").unwrap();
            let cr3 = b.cr3();
            let mut v = virt(&mut b, cr3);
            let mut buf = [0u8; 16];
            v.read_virt(va + 0xff8, &mut buf).unwrap();
            assert_eq!(&buf, b"ABCDEFGHIJKLMNOP", "{mode:?}");

            v.write_virt(va + 0xffc, b"0123456789").unwrap();
            let mut p = [0u8; 10];
            b.phys.read_phys(f1 + 0xff8, &mut p[..8]).unwrap();
            assert_eq!(&p[..8], b"ABCD0123");
            b.phys.read_phys(f2, &mut p[..8]).unwrap();
            assert_eq!(&p[..8], b"456789OP");
            // Nothing leaked into the frame after f1.
            b.phys.read_phys(f1 + 0x1000, &mut p[..4]).unwrap();
            assert_eq!(&p[..4], &[0; 4]);

            // The third page is unmapped: the fault names its first byte
            // and a straddling write changes nothing (all or nothing).
            let mut v = virt(&mut b, cr3);
            let mut buf = [0u8; 16];
            let third = va + 0x2000;
            assert_eq!(
                v.read_virt(third - 8, &mut buf),
                Err(MemError::Unmapped(third))
            );
            assert_eq!(
                v.write_virt(third - 4, b"zzzzzzzz"),
                Err(MemError::Unmapped(third))
            );
            b.phys.read_phys(f2 + 0xffc, &mut p[..4]).unwrap();
            assert_eq!(&p[..4], &[0; 4]);
        }
    }

    #[test]
    fn large_page_reads_cross_into_small_pages() {
        let mut b = builder(PagingMode::Long4);
        let va = 0xffff_ffff_8000_0000u64;
        b.map(va, 0x40_0000, PageSize::M2, RWU).unwrap();
        b.map(va + 0x20_0000, 0x2000 * 100, PageSize::K4, RWU)
            .unwrap();
        b.phys.write_phys(0x40_0000 + 0x1f_fffe, b"xy").unwrap();
        b.phys.write_phys(0x2000 * 100, b"zw").unwrap();
        let cr3 = b.cr3();
        let mut buf = [0u8; 4];
        virt(&mut b, cr3)
            .read_virt(va + 0x1f_fffe, &mut buf)
            .unwrap();
        assert_eq!(&buf, b"xyzw");
    }

    #[test]
    fn accesses_are_capped_and_wrap_is_unmapped() {
        let mut b = builder(PagingMode::Long4);
        let cr3 = b.cr3();
        let mut v = virt(&mut b, cr3);
        let mut big = vec![0u8; MAX_ACCESS as usize + 1];
        assert!(matches!(
            v.read_virt(0, &mut big),
            Err(MemError::TooLong { .. })
        ));
        assert!(matches!(
            v.write_virt(0, &big),
            Err(MemError::TooLong { .. })
        ));
        let mut b = builder(PagingMode::Long4);
        b.map(0xffff_ffff_ffff_f000, 0x20_0000, PageSize::K4, RWU)
            .unwrap();
        let cr3 = b.cr3();
        let mut v = virt(&mut b, cr3);
        let mut buf = [0u8; 8];
        v.read_virt(0xffff_ffff_ffff_fff8, &mut buf).unwrap();
        assert!(v.read_virt(0xffff_ffff_ffff_fffc, &mut buf).is_err());
        // Empty accesses touch nothing.
        assert_eq!(v.read_virt(0x1234, &mut []), Ok(()));
    }

    #[test]
    fn tables_outside_ram_are_bad_phys() {
        let mut phys = FlatPhys::new(0x1000);
        assert_eq!(
            translate(&mut phys, PagingMode::Long4, 0x10_0000, 0x1000),
            Err(MemError::BadPhys(0x10_0000))
        );
    }

    #[test]
    fn unpaged_is_identity() {
        let mut phys = FlatPhys::new(0x2000);
        let mut v = Unpaged { phys: &mut phys };
        v.write_virt(0x1ffe, b"ok").unwrap();
        let mut b = [0u8; 2];
        v.read_virt(0x1ffe, &mut b).unwrap();
        assert_eq!(&b, b"ok");
        assert!(matches!(
            v.read_virt(0x1fff, &mut b),
            Err(MemError::BadPhys(0x2000))
        ));
    }
}
