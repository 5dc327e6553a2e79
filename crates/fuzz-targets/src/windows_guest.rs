//! The `windows_guest` target: what the Windows layer reads from a guest
//! it has no table or profile for, over hostile memory. PE headers and
//! export tables (truncated, pointing anywhere), the loader lists to
//! ntdll, win32u and their stubs, the module list and `--caller`'s
//! lookups, the IDT and system-call-path scans to the kernel image, its
//! accessors,
//! the ActiveProcessLinks walk (loops, lists that never close), the stub
//! and accessor decoders on raw bytes, and Volatility symbol tables.
//!
//! Input: `sel: u8` (bit 0: 32-bit), `addr: u64` (an image base, or the
//! System process variable), `ptr: u64` (a TEB, or a KPCR), `len: u16`
//! and that many raw bytes (code and ISF JSON), then a [`FuzzMem`].

use vstrace_core::Bitness;
use vstrace_core::{Event, Mechanism, Reg, Regs};
use vstrace_windows::code::{accessor_result, stub_service_number};
use vstrace_windows::kernel_offsets::{
    derive, kernel_image, kernel_image_from_entry, walk_processes,
};
use vstrace_windows::modules::{loaded_modules, CallerCache};
use vstrace_windows::ntdll::{find_ntdll, find_win32u, service_names};
use vstrace_windows::pe::{image_base_below, PeImage};
use vstrace_windows::profile::PROFILES;

use crate::fuzzmem::FuzzMem;
use crate::input::{Cursor, Encoder};
use crate::seeds::Seed;

/// Runs one input (see the module doc); a panic is a finding.
pub fn windows_guest(data: &[u8]) {
    let mut c = Cursor::new(data);
    let sel = c.u8();
    let b = if sel & 1 == 0 {
        Bitness::B64
    } else {
        Bitness::B32
    };
    let addr = c.u64();
    let ptr = c.u64();
    let len = c.u16() as usize;
    let raw = c.bytes(len);
    let mut mem = FuzzMem::decode(&mut c);
    let _ = stub_service_number(raw, addr, b);
    let _ = accessor_result(raw, addr, b);
    let _ = vstrace_windows::isf::parse(raw, "fuzz");
    if let Ok(img) = PeImage::read(&mut mem, addr) {
        let _ = img.exports(&mut mem);
        let _ = derive(&mut mem, &img, b);
    }
    let _ = image_base_below(&mut mem, addr, 64);
    let _ = service_names(&mut mem, addr, b);
    if let Ok(base) = find_ntdll(&mut mem, ptr, b) {
        let _ = service_names(&mut mem, base, b);
    }
    if let Ok(base) = find_win32u(&mut mem, ptr, b) {
        let _ = service_names(&mut mem, base, b);
    }
    let _ = loaded_modules(&mut mem, ptr, b);
    // --caller: a trap at `addr` (sysenter: its return at [edx = addr])
    // in the process whose TEB is `ptr`.
    let mut regs = Regs {
        fs_base: ptr,
        gs_base: ptr,
        ..Regs::default()
    };
    regs.set(Reg::Rip, addr);
    regs.set(Reg::Rdx, addr);
    let mech = if sel & 2 == 0 {
        Mechanism::Syscall
    } else {
        Mechanism::Sysenter
    };
    let _ = CallerCache::default().caller(&Event::new(0, mech, b, regs), &mut mem);
    if let Ok(img) = kernel_image_from_entry(&mut mem, addr) {
        let _ = derive(&mut mem, &img, b);
    }
    if let Ok(img) = kernel_image(&mut mem, ptr, b) {
        if let Ok(d) = derive(&mut mem, &img, b) {
            let range = img.base..img.base.saturating_add(u64::from(img.size_of_image));
            let _ = walk_processes(&mut mem, &d.profile, d.initial_system_process, range);
        }
    }
    let p = &PROFILES[usize::from(sel >> 1) % PROFILES.len()];
    let _ = walk_processes(&mut mem, p, addr, 0..0);
}

// ---- seeds ----

const KIMG: u64 = 0xffff_f800_0010_0000;
const KPCR: u64 = 0xffff_f780_0000_0000;
const IDT: u64 = 0xffff_f780_0001_0000;
const SYS: u64 = 0xffff_a000_0000_0000;
const P2: u64 = 0xffff_a000_0001_0000;
const TEB: u64 = 0x7ff0_0000;
const NTDLL: u64 = 0x7ffa_0000;

fn put(v: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(d) = v.get_mut(at..at + bytes.len()) {
        d.copy_from_slice(bytes);
    }
}

/// A PE32+ image of `size` bytes exporting `exports` (name, RVA, code).
fn pe(exports: &[(&str, u32, &[u8])], size: u32) -> Vec<u8> {
    let mut img = vec![0u8; size as usize];
    put(&mut img, 0, b"MZ");
    put(&mut img, 0x3c, &0x80u32.to_le_bytes());
    put(&mut img, 0x80, b"PE\0\0");
    put(&mut img, 0x84, &0x8664u16.to_le_bytes());
    put(&mut img, 0x94, &0xf0u16.to_le_bytes());
    put(&mut img, 0x98, &0x20bu16.to_le_bytes());
    put(&mut img, 0x98 + 56, &size.to_le_bytes());
    put(&mut img, 0x98 + 108, &16u32.to_le_bytes());
    put(&mut img, 0x98 + 112, &0x400u32.to_le_bytes());
    put(&mut img, 0x98 + 116, &0x400u32.to_le_bytes());
    let n = exports.len() as u32;
    let (funcs, names, ords, mut s) = (0x428usize, 0x500usize, 0x600usize, 0x680usize);
    put(&mut img, 0x400 + 20, &n.to_le_bytes());
    put(&mut img, 0x400 + 24, &n.to_le_bytes());
    put(&mut img, 0x400 + 28, &(funcs as u32).to_le_bytes());
    put(&mut img, 0x400 + 32, &(names as u32).to_le_bytes());
    put(&mut img, 0x400 + 36, &(ords as u32).to_le_bytes());
    for (i, (name, rva, code)) in exports.iter().enumerate() {
        put(&mut img, funcs + 4 * i, &rva.to_le_bytes());
        put(&mut img, names + 4 * i, &(s as u32).to_le_bytes());
        put(&mut img, ords + 2 * i, &(i as u16).to_le_bytes());
        put(&mut img, s, name.as_bytes());
        s += name.len() + 1;
        put(&mut img, *rva as usize, code);
    }
    img
}

fn mov_rcx(op: u8, d: u32) -> Vec<u8> {
    let mut v = vec![0x48, op, 0x81];
    v.extend_from_slice(&d.to_le_bytes());
    v.push(0xc3);
    v
}

fn stub(n: u32) -> Vec<u8> {
    let mut s = vec![0x4c, 0x8b, 0xd1, 0xb8];
    s.extend_from_slice(&n.to_le_bytes());
    s.extend_from_slice(&[0x0f, 0x05, 0xc3]);
    s
}

/// The regions of an x64 guest: kernel image, KPCR and IDT, System and
/// one process on the list (`looped`: the second points at itself), and
/// a process's TEB, PEB, loader list and ntdll.
fn guest(looped: bool) -> Vec<(u64, Vec<u8>)> {
    let cur = [
        0x65, 0x48, 0x8b, 0x04, 0x25, 0x88, 1, 0, 0, 0x48, 0x8b, 0x80, 0xb8, 0, 0, 0, 0xc3,
    ];
    let kernel = pe(
        &[
            ("IoGetCurrentProcess", 0x1000, &cur),
            ("PsGetProcessId", 0x1020, &mov_rcx(0x8b, 0x440)),
            ("PsGetProcessImageFileName", 0x1040, &mov_rcx(0x8d, 0x5a8)),
            (
                "PsGetProcessInheritedFromUniqueProcessId",
                0x1060,
                &mov_rcx(0x8b, 0x540),
            ),
            ("PsGetThreadProcessId", 0x1080, &mov_rcx(0x8b, 0x478)),
            ("PsInitialSystemProcess", 0x1800, &SYS.to_le_bytes()),
        ],
        0x2000,
    );
    let h = KIMG + 0x1100;
    let mut gate = vec![0u8; 16];
    put(&mut gate, 0, &(h as u16).to_le_bytes());
    put(&mut gate, 6, &((h >> 16) as u16).to_le_bytes());
    put(&mut gate, 8, &((h >> 32) as u32).to_le_bytes());
    let head = KIMG + 0x1f00;
    let mut sys = vec![0u8; 0x600];
    put(&mut sys, 0x440, &4u64.to_le_bytes());
    put(&mut sys, 0x448, &(P2 + 0x448).to_le_bytes());
    put(&mut sys, 0x450, &head.to_le_bytes());
    put(&mut sys, 0x5a8, b"System\0");
    let mut p2 = vec![0u8; 0x600];
    put(&mut p2, 0x440, &0x1f4u64.to_le_bytes());
    let next = if looped { P2 + 0x448 } else { head };
    put(&mut p2, 0x448, &next.to_le_bytes());
    put(&mut p2, 0x450, &(SYS + 0x448).to_le_bytes());
    put(&mut p2, 0x5a8, b"app.exe\0");
    let mut kernel = kernel;
    put(&mut kernel, 0x1f00, &(SYS + 0x448).to_le_bytes());
    put(&mut kernel, 0x1f08, &(P2 + 0x448).to_le_bytes());
    // TEB -> PEB -> Ldr -> [ntdll] -> head.
    let (peb, ldr, ent, name) = (TEB + 0x1000, TEB + 0x2000, TEB + 0x2100, TEB + 0x2200);
    let mut teb = vec![0u8; 0x3000];
    put(&mut teb, 0x60, &peb.to_le_bytes());
    put(&mut teb, 0x1018, &ldr.to_le_bytes());
    put(&mut teb, 0x2010, &ent.to_le_bytes());
    put(&mut teb, 0x2100, &(ldr + 0x10).to_le_bytes());
    put(&mut teb, 0x2130, &NTDLL.to_le_bytes());
    let w: Vec<u8> = "ntdll.dll"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    put(&mut teb, 0x2158, &(w.len() as u16).to_le_bytes());
    put(&mut teb, 0x215a, &(w.len() as u16).to_le_bytes());
    put(&mut teb, 0x2160, &name.to_le_bytes());
    put(&mut teb, 0x2200, &w);
    let ntdll = pe(
        &[
            ("NtClose", 0x1000, &stub(0xf)),
            ("NtGetTickCount", 0x1040, &[0xb8, 0x10, 0, 0, 0, 0xc3]),
            ("ZwOpenFile", 0x1020, &stub(0x33)),
        ],
        0x2000,
    );
    vec![
        (KIMG, kernel),
        (KPCR + 0x38, IDT.to_le_bytes().to_vec()),
        (IDT, gate),
        (SYS, sys),
        (P2, p2),
        (TEB, teb),
        (NTDLL, ntdll),
    ]
}

fn input(sel: u8, addr: u64, ptr: u64, raw: &[u8], regions: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut e = Encoder::new();
    e.u8(sel)
        .u64(addr)
        .u64(ptr)
        .u16(raw.len() as u16)
        .bytes(raw);
    FuzzMem::encode(&mut e, regions, None);
    e.out
}

/// Seeds: the whole guest (kernel by KPCR, ntdll by TEB), its process
/// list closed and looped, truncated and out-of-image export tables,
/// stubs and accessors as raw bytes, and a symbol table.
pub fn seeds() -> Vec<Seed> {
    let g = guest(false);
    let mut truncated = g.clone();
    truncated[0].1.truncate(0x90);
    let mut anywhere = g.clone();
    put(
        &mut anywhere[6].1,
        0x400 + 32,
        &0xffff_fff0u32.to_le_bytes(),
    );
    put(&mut anywhere[6].1, 0x428, &0x7fff_0000u32.to_le_bytes());
    let isf = br#"{"base_types":{"pointer":{"size":8}},"user_types":{"_KPCR":{"fields":{"Prcb":{"offset":384}}},"_KPRCB":{"fields":{"CurrentThread":{"offset":8}}},"_KTHREAD":{"fields":{"ApcState":{"offset":152}}},"_KAPC_STATE":{"fields":{"Process":{"offset":32}}},"_ETHREAD":{"fields":{"Cid":{"offset":1144}}},"_EPROCESS":{"fields":{"UniqueProcessId":{"offset":1088},"InheritedFromUniqueProcessId":{"offset":1344},"ImageFileName":{"offset":1448}}}}}"#;
    vec![
        ("guest-kpcr".into(), input(0, KIMG, KPCR, &stub(0x33), &g)),
        (
            "guest-teb".into(),
            input(2, NTDLL, TEB, &mov_rcx(0x8b, 0x440), &g),
        ),
        (
            "list-looped".into(),
            input(2, KIMG + 0x1800, KPCR, &[], &guest(true)),
        ),
        ("pe-truncated".into(), input(0, KIMG, KPCR, &[], &truncated)),
        (
            "exports-anywhere".into(),
            input(0, NTDLL, TEB, &[], &anywhere),
        ),
        ("isf".into(), input(1, 0, 0, isf, &[])),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::testmem::SparseVirt;

    fn mem(regions: &[(u64, Vec<u8>)]) -> SparseVirt {
        let mut m = SparseVirt::new();
        for (a, b) in regions {
            m.map(*a, b);
        }
        m
    }

    /// The seeds reach the end of every reader: names and offsets come
    /// out of the well-formed guest, and its looped list is refused.
    #[test]
    fn seeds_reach_the_readers() {
        let mut m = mem(&guest(false));
        let base = find_ntdll(&mut m, TEB, Bitness::B64).unwrap();
        let names = service_names(&mut m, base, Bitness::B64).unwrap();
        assert_eq!(names.by_number.len(), 2);
        let img = kernel_image(&mut m, KPCR, Bitness::B64).unwrap();
        let d = derive(&mut m, &img, Bitness::B64).unwrap();
        let range = img.base..img.base + u64::from(img.size_of_image);
        let procs = walk_processes(&mut m, &d.profile, d.initial_system_process, range.clone());
        assert_eq!(procs.unwrap(), [SYS, P2]);
        let mut m = mem(&guest(true));
        assert!(walk_processes(&mut m, &d.profile, d.initial_system_process, range).is_err());
        for (_, s) in seeds() {
            windows_guest(&s);
        }
    }
}
