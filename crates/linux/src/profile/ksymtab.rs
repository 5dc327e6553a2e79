//! The kernel's exported-symbol tables (`__ksymtab`, `__ksymtab_gpl`) read
//! from a vmlinux ELF, giving link-time addresses of exported symbols even
//! in a stripped kernel.
//!
//! Since 4.19 x86_64 kernels use position-relative entries
//! (`CONFIG_HAVE_ARCH_PREL32_RELOCATIONS`):
//! `struct kernel_symbol { int value_offset; int name_offset; int namespace_offset; }`
//! where each target is the address of the field plus its value. Older
//! layouts store absolute pointers (`{ value, name }` or
//! `{ value, name, namespace }`); the layout is picked by checking that every
//! name lands inside `__ksymtab_strings`.
//!
//! Per-cpu symbols (`EXPORT_PER_CPU_SYMBOL`) live in the zero-based
//! `.data..percpu` section: their "address" is an offset from a CPU's
//! per-cpu base (what the kernel's GS base points at).

use std::collections::HashMap;

use object::{Object, ObjectSection};

/// Longest symbol name read from `__ksymtab_strings`.
const MAX_NAME: usize = 512;

/// Errors reading the symbol tables.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KsymtabError {
    /// The kernel image could not be parsed as ELF (the parser's message).
    #[error("not a readable ELF file: {0}")]
    Elf(String),
    /// The image lacks this section (`__ksymtab`, `__ksymtab_strings`...).
    #[error("section {0} is missing")]
    MissingSection(&'static str),
    /// The section is present but occupies no bytes in the file (NOBITS).
    #[error("section {0} has no data in the file")]
    NoData(&'static str),
    /// `__ksymtab` entries match neither the absolute nor the PC-relative `kernel_symbol` layout.
    #[error("no known kernel_symbol layout matches __ksymtab")]
    UnknownLayout,
}

/// Entry layout of `__ksymtab`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 12-byte entries of relative `int` offsets.
    Prel32,
    /// 16-byte `{ value, name }` absolute pointers.
    Abs16,
    /// 24-byte `{ value, name, namespace }` absolute pointers.
    Abs24,
    /// 8-byte `{ value, name }` absolute 32-bit pointers (old i386).
    Abs8,
}

/// Exported symbols of a kernel image.
#[derive(Debug, Clone, Default)]
pub struct Ksymtab {
    syms: HashMap<String, u64>,
    /// Link address range of `.data..percpu`, if the image has one.
    pub percpu: Option<(u64, u64)>,
    /// Layout found in `__ksymtab`.
    pub layout: Option<Layout>,
}

/// One section's link address and file bytes.
struct Sec<'a> {
    addr: u64,
    data: &'a [u8],
    /// Address mask: 32-bit kernels wrap at 4 GiB.
    mask: u64,
}

impl Sec<'_> {
    fn at(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let off = usize::try_from(addr.checked_sub(self.addr)?).ok()?;
        self.data.get(off..off.checked_add(len)?)
    }
    fn i32_at(&self, addr: u64) -> Option<i32> {
        Some(i32::from_le_bytes(self.at(addr, 4)?.try_into().ok()?))
    }
    fn u64_at(&self, addr: u64) -> Option<u64> {
        Some(u64::from_le_bytes(self.at(addr, 8)?.try_into().ok()?))
    }
    fn cstr(&self, addr: u64) -> Option<&str> {
        let off = usize::try_from(addr.checked_sub(self.addr)?).ok()?;
        let rest = self.data.get(off..)?;
        let rest = &rest[..rest.len().min(MAX_NAME)];
        let end = rest.iter().position(|&c| c == 0)?;
        std::str::from_utf8(&rest[..end])
            .ok()
            .filter(|s| !s.is_empty())
    }
}

fn section<'a>(file: &object::File<'a>, name: &'static str) -> Result<Sec<'a>, KsymtabError> {
    let s = file
        .section_by_name(name)
        .ok_or(KsymtabError::MissingSection(name))?;
    let data = s.data().map_err(|_| KsymtabError::NoData(name))?;
    Ok(Sec {
        addr: s.address(),
        data,
        mask: if file.is_64() { u64::MAX } else { 0xffff_ffff },
    })
}

/// `(value, name address)` of entry `i` in `tab` for `layout`.
fn entry(tab: &Sec<'_>, layout: Layout, i: usize) -> Option<(u64, u64)> {
    let (size, _) = layout_size(layout);
    let at = tab.addr.checked_add((i.checked_mul(size)?) as u64)?;
    match layout {
        Layout::Prel32 => {
            // value = &field + offset, in wrapping 64-bit arithmetic (as the
            // kernel's offset_to_ptr): per-cpu offsets near zero come out
            // right from a field at 0xffffffff8....
            let v = at.wrapping_add(tab.i32_at(at)? as i64 as u64) & tab.mask;
            let name_field = at.checked_add(4)?;
            let n = name_field.wrapping_add(tab.i32_at(name_field)? as i64 as u64) & tab.mask;
            Some((v, n))
        }
        Layout::Abs16 | Layout::Abs24 => Some((tab.u64_at(at)?, tab.u64_at(at.checked_add(8)?)?)),
        Layout::Abs8 => Some((
            u64::from(u32::from_le_bytes(tab.at(at, 4)?.try_into().ok()?)),
            u64::from(u32::from_le_bytes(
                tab.at(at.checked_add(4)?, 4)?.try_into().ok()?,
            )),
        )),
    }
}

fn layout_size(layout: Layout) -> (usize, &'static str) {
    match layout {
        Layout::Prel32 => (12, "prel32"),
        Layout::Abs16 => (16, "abs16"),
        Layout::Abs24 => (24, "abs24"),
        Layout::Abs8 => (8, "abs8"),
    }
}

/// Whether every entry of `tab` names a string in `strings` under `layout`.
fn fits(tab: &Sec<'_>, strings: &Sec<'_>, layout: Layout) -> bool {
    let (size, _) = layout_size(layout);
    if tab.data.is_empty() || tab.data.len() % size != 0 {
        return false;
    }
    (0..tab.data.len() / size)
        .all(|i| entry(tab, layout, i).is_some_and(|(_, n)| strings.cstr(n).is_some()))
}

impl Ksymtab {
    /// Reads `__ksymtab` and `__ksymtab_gpl` (the latter optional) from a
    /// vmlinux ELF.
    pub fn from_elf(elf: &[u8]) -> Result<Ksymtab, KsymtabError> {
        let file = object::File::parse(elf).map_err(|e| KsymtabError::Elf(e.to_string()))?;
        let strings = section(&file, "__ksymtab_strings")?;
        let mut out = Ksymtab {
            percpu: file
                .section_by_name(".data..percpu")
                .map(|s| (s.address(), s.address().saturating_add(s.size()))),
            ..Ksymtab::default()
        };
        let main = section(&file, "__ksymtab")?;
        let layouts: &[Layout] = if file.is_64() {
            &[Layout::Prel32, Layout::Abs24, Layout::Abs16]
        } else {
            &[Layout::Prel32, Layout::Abs8]
        };
        let layout = layouts
            .iter()
            .copied()
            .find(|&l| fits(&main, &strings, l))
            .ok_or(KsymtabError::UnknownLayout)?;
        out.layout = Some(layout);
        let mut tabs = vec![main];
        if let Ok(gpl) = section(&file, "__ksymtab_gpl") {
            tabs.push(gpl);
        }
        for tab in &tabs {
            let n = tab.data.len() / layout_size(layout).0;
            for i in 0..n {
                let Some((value, name)) = entry(tab, layout, i) else {
                    continue;
                };
                if let Some(name) = strings.cstr(name) {
                    out.syms.entry(name.to_string()).or_insert(value);
                }
            }
        }
        Ok(out)
    }

    /// Link address of `name` (for per-cpu symbols: the per-cpu offset).
    pub fn get(&self, name: &str) -> Option<u64> {
        self.syms.get(name).copied()
    }

    /// Whether `addr` is inside `.data..percpu` (a per-cpu offset).
    pub fn is_percpu(&self, addr: u64) -> bool {
        self.percpu.is_some_and(|(lo, hi)| (lo..hi).contains(&addr))
    }

    /// Number of symbols read.
    pub fn len(&self) -> usize {
        self.syms.len()
    }

    /// Whether no symbols were read.
    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }

    /// Adds or replaces a symbol (for building tables by hand in tests or
    /// from another source such as `System.map`).
    pub fn insert(&mut self, name: &str, addr: u64) {
        self.syms.insert(name.to_string(), addr);
    }
}

/// The kernel banner (`"Linux version ..."`) from `.rodata`, if present.
pub fn banner(elf: &[u8]) -> Option<String> {
    let file = object::File::parse(elf).ok()?;
    let ro = file.section_by_name(".rodata")?.data().ok()?;
    const NEEDLE: &[u8] = b"Linux version ";
    let start = ro.windows(NEEDLE.len()).position(|w| w == NEEDLE)?;
    let rest = &ro[start..ro.len().min(start + 512)];
    let end = rest
        .iter()
        .position(|&c| c == 0 || c == b'\n')
        .unwrap_or(rest.len());
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sec(addr: u64, data: &[u8]) -> Sec<'_> {
        Sec {
            addr,
            data,
            mask: u64::MAX,
        }
    }

    #[test]
    fn prel32_entries_resolve_relative_to_their_field() {
        let tab_addr = 0xffff_ffff_8246_2390u64;
        let str_addr = 0xffff_ffff_8248_b400u64;
        let strings = b"\0init_task\0current_task\0";
        let mut tab = Vec::new();
        // init_task at a kernel address; current_task at per-cpu offset 0x1fbc0.
        for (i, (value, name_off)) in [(0xffff_ffff_82a1_4940u64, 1u64), (0x1fbc0, 11)]
            .into_iter()
            .enumerate()
        {
            let at = tab_addr + 12 * i as u64;
            tab.extend_from_slice(&(value.wrapping_sub(at) as i32).to_le_bytes());
            tab.extend_from_slice(
                &((str_addr + name_off).wrapping_sub(at + 4) as i32).to_le_bytes(),
            );
            tab.extend_from_slice(&0i32.to_le_bytes());
        }
        let (t, s) = (sec(tab_addr, &tab), sec(str_addr, strings));
        assert!(fits(&t, &s, Layout::Prel32));
        assert!(!fits(&t, &s, Layout::Abs24));
        assert_eq!(
            entry(&t, Layout::Prel32, 0),
            Some((0xffff_ffff_82a1_4940, str_addr + 1))
        );
        assert_eq!(entry(&t, Layout::Prel32, 1), Some((0x1fbc0, str_addr + 11)));
        assert_eq!(s.cstr(str_addr + 11), Some("current_task"));
        // Out of range entries and strings are None, not panics.
        assert_eq!(entry(&t, Layout::Prel32, 2), None);
        assert_eq!(entry(&t, Layout::Prel32, usize::MAX), None);
        assert_eq!(s.cstr(str_addr + 100), None);
        assert_eq!(s.cstr(0), None);
        assert_eq!(s.cstr(str_addr), None, "empty name");
        // Unterminated string.
        assert_eq!(sec(0, b"abc").cstr(0), None);
    }

    /// Found by fuzzing (kernel_image): a `__ksymtab` at the top of the
    /// address space overflowed computing its entries' name fields.
    #[test]
    fn a_table_at_the_top_of_the_address_space_is_not_an_overflow() {
        let data = [0u8; 24];
        let t = sec(u64::MAX - 3, &data);
        assert_eq!(entry(&t, Layout::Prel32, 0), None);
        let t = sec(u64::MAX - 7, &data);
        assert_eq!(entry(&t, Layout::Abs24, 0), None);
    }

    #[test]
    fn non_elf_input_is_an_error() {
        assert!(matches!(
            Ksymtab::from_elf(b"not an elf"),
            Err(KsymtabError::Elf(_))
        ));
        assert!(banner(b"").is_none());
    }
}
