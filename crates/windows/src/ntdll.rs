//! System service names from the guest's own ntdll: found on the
//! process's loader lists ([`crate::modules`]),
//! its export table read from guest memory, and each `Nt*`/`Zw*` stub's
//! service number decoded from its code ([`crate::code`]). Any build
//! works, with no table; the j00ru tables ([`crate::versions`]) become
//! the fallback and a cross-check ([`disagreements`]).

use std::collections::BTreeMap;

use vstrace_core::mem::{MemError, VirtMem};
use vstrace_core::Bitness;

use crate::code::stub_service_number;
use crate::modules::{loaded_modules, ModulesError};
use crate::pe::{PeError, PeImage};
use crate::versions::{Arch, WindowsVersion};

/// Bytes of a stub decoded (real stubs are 24 bytes on x64, 15 on x86).
const STUB_BYTES: usize = 32;

/// Why the guest's ntdll gave no names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NtdllError {
    /// A read of guest memory failed.
    #[error("ntdll: {0}")]
    Mem(#[from] MemError),
    /// The TEB, PEB or loader data pointer is NULL (a process too young).
    #[error("ntdll: no {0}")]
    Null(&'static str),
    /// The loader list does not hold the module (within its bound).
    #[error("ntdll: {0} is not on the loader list")]
    NotLoaded(&'static str),
    /// Its image could not be read.
    #[error("ntdll: {0}")]
    Pe(#[from] PeError),
    /// No export decoded as a system call stub.
    #[error("ntdll at {0:#x}: no system call stubs")]
    NoStubs(u64),
}

/// The service numbers of one ntdll image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNames {
    /// Where the image is mapped.
    pub base: u64,
    /// Its PE TimeDateStamp (with `size_of_image`: which build it is).
    pub timestamp: u32,
    /// Its SizeOfImage.
    pub size_of_image: u32,
    /// Service number -> `Nt*` name (Zw* exports folded into Nt*).
    pub by_number: BTreeMap<u32, String>,
}

/// ntdll's base in the process whose TEB is at `teb`: the module named
/// `ntdll.dll` on the PEB's InLoadOrderModuleList.
pub fn find_ntdll(mem: &mut dyn VirtMem, teb: u64, b: Bitness) -> Result<u64, NtdllError> {
    find_module(mem, teb, b, "ntdll.dll")
}

/// win32u's base (the win32k service stubs, Windows 10 and later) in the
/// process whose TEB is at `teb`; processes with no GUI may not load it.
pub fn find_win32u(mem: &mut dyn VirtMem, teb: u64, b: Bitness) -> Result<u64, NtdllError> {
    find_module(mem, teb, b, "win32u.dll")
}

/// The base of the module named `name` on the process's loader list.
fn find_module(
    mem: &mut dyn VirtMem,
    teb: u64,
    b: Bitness,
    name: &'static str,
) -> Result<u64, NtdllError> {
    let modules = loaded_modules(mem, teb, b).map_err(|e| match e {
        ModulesError::Mem(m) => NtdllError::Mem(m),
        ModulesError::Null(what) => NtdllError::Null(what),
    })?;
    let m = modules
        .iter()
        .find(|m| m.name.eq_ignore_ascii_case(name))
        .ok_or(NtdllError::NotLoaded(name))?;
    if m.base == 0 {
        return Err(NtdllError::Null("DllBase"));
    }
    Ok(m.base)
}

/// Reads the export table of the ntdll (or win32u) mapped at `base` and
/// the service number of every `Nt*`/`Zw*` export that is a system call
/// stub (win32u's `NtUser*`/`NtGdi*` stubs load table-1 numbers,
/// 0x1000 + n, which are kept as they are).
pub fn service_names(
    mem: &mut dyn VirtMem,
    base: u64,
    b: Bitness,
) -> Result<ServiceNames, NtdllError> {
    let img = PeImage::read(mem, base)?;
    let mut by_number = BTreeMap::new();
    for e in img.exports(mem)? {
        let name = match e.name.strip_prefix("Zw") {
            Some(rest) => format!("Nt{rest}"),
            None if e.name.starts_with("Nt") => e.name,
            None => continue,
        };
        let mut code = [0u8; STUB_BYTES];
        if mem.read_virt(e.addr, &mut code).is_err() {
            continue;
        }
        if let Some(n) = stub_service_number(&code, e.addr, b) {
            by_number.entry(n).or_insert(name);
        }
    }
    if by_number.is_empty() {
        return Err(NtdllError::NoStubs(base));
    }
    Ok(ServiceNames {
        base,
        timestamp: img.timestamp,
        size_of_image: img.size_of_image,
        by_number,
    })
}

/// One service whose number differs between the guest's ntdll and a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    /// The service.
    pub name: String,
    /// Its number in the guest's ntdll.
    pub guest: u32,
    /// Its number in the table.
    pub table: u32,
}

/// The services of `names` that `version`'s table numbers differently
/// (services the table does not have are not disagreements); the second
/// value counts the services both know.
pub fn disagreements(names: &ServiceNames, version: &WindowsVersion) -> (Vec<Disagreement>, usize) {
    let mut out = Vec::new();
    let mut both = 0;
    for (&n, name) in &names.by_number {
        if let Some(t) = version.service_number(name) {
            both += 1;
            if t != n {
                out.push(Disagreement {
                    name: name.clone(),
                    guest: n,
                    table: t,
                });
            }
        }
    }
    (out, both)
}

/// The architecture whose tables serve calls of bitness `b`.
pub fn arch_of(b: Bitness) -> Arch {
    match b {
        Bitness::B64 => Arch::X64,
        Bitness::B32 => Arch::X86,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pe::tests::image;
    use crate::versions::version_by_name;
    use vstrace_core::testmem::SparseVirt;

    /// An x64 process: TEB, PEB, Ldr with the exe and ntdll, and an
    /// ntdll image with two stubs and a non-stub Nt* export.
    fn process(ssn_open: u32) -> (SparseVirt, u64) {
        let mut m = SparseVirt::new();
        let (teb, peb, ldr, e1, e2, ntdll) = (
            0x7ff0_0000u64,
            0x7ff1_0000u64,
            0x7ff2_0000u64,
            0x7ff2_0100u64,
            0x7ff2_0200u64,
            0x7ffa_0000u64,
        );
        m.map(teb + 0x60, &peb.to_le_bytes());
        m.map(peb + 0x18, &ldr.to_le_bytes());
        let head = ldr + 0x10;
        m.map(head, &e1.to_le_bytes());
        m.map(e1, &e2.to_le_bytes());
        m.map(e2, &head.to_le_bytes());
        let us = |m: &mut SparseVirt, at: u64, buf: u64, s: &str| {
            let w: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
            let mut v = (w.len() as u16).to_le_bytes().to_vec();
            v.extend_from_slice(&(w.len() as u16).to_le_bytes());
            v.extend_from_slice(&[0; 4]);
            v.extend_from_slice(&buf.to_le_bytes());
            m.map(at, &v);
            m.map(buf, &w);
        };
        us(&mut m, e1 + 0x58, 0x7ff3_0000, "app.exe");
        us(&mut m, e2 + 0x58, 0x7ff3_0100, "NTDLL.DLL");
        m.map(e2 + 0x30, &ntdll.to_le_bytes());
        let mut img = image(
            &[
                ("NtClose", 0x1000),
                ("NtGetTickCount", 0x1040),
                ("ZwOpenFile", 0x1020),
            ],
            true,
            0x2000,
        );
        let stub = |n: u32| {
            let mut s = vec![0x4c, 0x8b, 0xd1, 0xb8];
            s.extend_from_slice(&n.to_le_bytes());
            s.extend_from_slice(&[0x0f, 0x05, 0xc3]);
            s
        };
        img[0x1000..0x100b].copy_from_slice(&stub(0xf));
        img[0x1020..0x102b].copy_from_slice(&stub(ssn_open));
        img[0x1040..0x1046].copy_from_slice(&[0xb8, 0x10, 0, 0, 0, 0xc3]);
        m.map(ntdll, &img);
        (m, teb)
    }

    #[test]
    fn names_from_the_guest_ntdll() {
        let (mut m, teb) = process(0x33);
        let base = find_ntdll(&mut m, teb, Bitness::B64).unwrap();
        assert_eq!(base, 0x7ffa_0000);
        let names = service_names(&mut m, base, Bitness::B64).unwrap();
        let got: Vec<_> = names
            .by_number
            .iter()
            .map(|(n, s)| (*n, s.as_str()))
            .collect();
        assert_eq!(got, [(0xf, "NtClose"), (0x33, "NtOpenFile")]);
        let v = version_by_name(Arch::X64, "win10-22h2").unwrap();
        assert_eq!(disagreements(&names, v), (vec![], 2));
        let (mut m, teb) = process(0x121);
        let base = find_ntdll(&mut m, teb, Bitness::B64).unwrap();
        let names = service_names(&mut m, base, Bitness::B64).unwrap();
        let (d, both) = disagreements(&names, v);
        assert_eq!((d.len(), both), (1, 2));
        assert_eq!((d[0].guest, d[0].table), (0x121, 0x33));
    }

    #[test]
    fn win32k_names_from_win32u() {
        let (mut m, teb) = process(0x33);
        assert_eq!(
            find_win32u(&mut m, teb, Bitness::B64),
            Err(NtdllError::NotLoaded("win32u.dll"))
        );
        // The second module is win32u instead, with a table-1 stub.
        let w: Vec<u8> = "win32u.dll"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut us = (w.len() as u16).to_le_bytes().to_vec();
        us.extend_from_slice(&(w.len() as u16).to_le_bytes());
        us.extend_from_slice(&[0; 4]);
        us.extend_from_slice(&0x7ff3_0100u64.to_le_bytes());
        m.map(0x7ff2_0200 + 0x58, &us);
        m.map(0x7ff3_0100, &w);
        let mut stub = vec![0x4c, 0x8b, 0xd1, 0xb8];
        stub.extend_from_slice(&0x100au32.to_le_bytes());
        stub.extend_from_slice(&[0x0f, 0x05, 0xc3]);
        m.map(0x7ffa_1020, &stub);
        let base = find_win32u(&mut m, teb, Bitness::B64).unwrap();
        assert_eq!(
            find_ntdll(&mut m, teb, Bitness::B64),
            Err(NtdllError::NotLoaded("ntdll.dll"))
        );
        let names = service_names(&mut m, base, Bitness::B64).unwrap();
        assert_eq!(
            names.by_number.get(&0x100a).map(String::as_str),
            Some("NtOpenFile")
        );
    }

    #[test]
    fn hostile_loader_lists() {
        let (mut m, teb) = process(0x33);
        assert_eq!(
            find_ntdll(&mut m, 0, Bitness::B64),
            Err(NtdllError::Null("TEB"))
        );
        // A list that loops without coming back to its head.
        m.map(0x7ff2_0200, &0x7ff2_0100u64.to_le_bytes());
        assert_eq!(
            find_ntdll(&mut m, teb, Bitness::B64).ok(),
            Some(0x7ffa_0000)
        );
        m.map(0x7ff2_0100 + 0x58, &[0u8; 16]);
        m.map(0x7ff2_0200 + 0x58, &[0u8; 16]);
        assert_eq!(
            find_ntdll(&mut m, teb, Bitness::B64),
            Err(NtdllError::NotLoaded("ntdll.dll"))
        );
    }
}
