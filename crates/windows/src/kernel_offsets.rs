//! Kernel structure offsets from the guest kernel's own code, for builds
//! no built-in [`KernelProfile`] knows.
//!
//! 1. The kernel image: the nearest PE image at or below an address in
//!    ntoskrnl's code. Such addresses: the system call path (LSTAR's
//!    target, KiSystemCall64[Shadow], or its `sysretq`/`sysexit`/`iret`
//!    that the trace sees at every return: [`kernel_image_from_entry`]),
//!    else the IDT's gates (KPCR.IdtBase, KPCR+0x38 on x64 and x86
//!    alike, the x86 system service gate 0x2e among them:
//!    [`kernel_image`]).
//! 2. Its export table, and the small exported accessors decoded
//!    symbolically ([`crate::code`]): `PsGetProcessId` -> UniqueProcessId,
//!    `PsGetProcessImageFileName` -> ImageFileName,
//!    `PsGetProcessInheritedFromUniqueProcessId` -> the parent,
//!    `PsGetThreadProcessId`/`PsGetThreadId` -> Cid,
//!    `IoGetCurrentProcess` -> KPCR current thread and ApcState.Process
//!    (else `PsGetCurrentThread`/`KeGetCurrentThread` and
//!    `IoThreadToProcess`), `PsGetProcessPeb` -> Peb ([`derive`]).
//! 3. A check that they describe this kernel ([`walk_processes`]):
//!    `*PsInitialSystemProcess` has pid 4 and is named "System", and its
//!    ActiveProcessLinks (right after UniqueProcessId in every release)
//!    closes back on it within a bound, every entry but the list head a
//!    process with a plausible pid.

use std::collections::{HashMap, HashSet};

use vstrace_core::mem::{MemError, VirtMem};
use vstrace_core::{read, Bitness};

use crate::code::{accessor_result, address_in_arg, field_of_arg, kpcr_chain, kpcr_field};
use crate::pe::{image_base_below, PeError, PeImage};
use crate::profile::KernelProfile;
use crate::structs::ptr_size;
use crate::versions::Arch;

/// KPCR.IdtBase (x64) / KPCR.IDT (x86).
const KPCR_IDT: u64 = 0x38;
/// IDT vectors whose handlers are looked at: divide error, the x86
/// system service gate, breakpoint, page fault.
const VECTORS: [u64; 4] = [0, 0x2e, 3, 0xe];
/// How far below a handler the image base is looked for (64 MiB).
const MAX_SCAN_PAGES: u64 = 0x4000;
/// Most entries walked on ActiveProcessLinks.
pub const MAX_PROCESSES: usize = 8192;
/// Bytes of an accessor decoded.
const ACCESSOR_BYTES: usize = 64;

/// Why no offsets came from the kernel's code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OffsetError {
    /// A read of guest memory failed.
    #[error("kernel offsets: {0}")]
    Mem(#[from] MemError),
    /// The kernel image could not be read.
    #[error("kernel offsets: {0}")]
    Pe(#[from] PeError),
    /// No IDT gate led to a PE image.
    #[error("kernel offsets: no kernel image found from the IDT at {0:#x}")]
    NoImage(u64),
    /// No PE image holds this address of the system call path.
    #[error("kernel offsets: no kernel image holds the system call path at {0:#x}")]
    NoImageAt(u64),
    /// An accessor is not exported or not in a shape that was understood.
    #[error("kernel offsets: {0} not exported or not understood")]
    Accessor(&'static str),
    /// Two accessors contradict each other.
    #[error("kernel offsets: {0}")]
    Inconsistent(&'static str),
    /// The process list check failed.
    #[error("kernel offsets: the process list check failed: {0}")]
    Walk(String),
}

/// The kernel image, from the handlers of the IDT that KPCR names.
pub fn kernel_image(mem: &mut dyn VirtMem, kpcr: u64, b: Bitness) -> Result<PeImage, OffsetError> {
    let idt = read::read_ptr(mem, kpcr.wrapping_add(KPCR_IDT), b)?;
    for v in VECTORS {
        let handler = match b {
            Bitness::B64 => {
                let Ok(g) = read::read_struct(mem, idt.wrapping_add(v * 16), 16) else {
                    continue;
                };
                let w = |o: usize| u64::from(u16::from_le_bytes([g[o], g[o + 1]]));
                let hi = u64::from(u32::from_le_bytes([g[8], g[9], g[10], g[11]]));
                w(0) | (w(6) << 16) | (hi << 32)
            }
            Bitness::B32 => {
                let Ok(g) = read::read_struct(mem, idt.wrapping_add(v * 8), 8) else {
                    continue;
                };
                u64::from(u16::from_le_bytes([g[0], g[1]]))
                    | (u64::from(u16::from_le_bytes([g[6], g[7]])) << 16)
            }
        };
        if handler == 0 {
            continue;
        }
        if let Some(img) = image_base_below(mem, handler, MAX_SCAN_PAGES) {
            return Ok(img);
        }
    }
    Err(OffsetError::NoImage(idt))
}

/// The kernel image holding `addr`, an address on the system call path
/// (the `syscall` entry MSR_LSTAR names, or the kernel's return
/// instruction): the nearest PE image with an export table at or below
/// it that reaches it.
pub fn kernel_image_from_entry(mem: &mut dyn VirtMem, addr: u64) -> Result<PeImage, OffsetError> {
    image_base_below(mem, addr, MAX_SCAN_PAGES).ok_or(OffsetError::NoImageAt(addr))
}

/// Offsets read from the kernel's accessors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Derived {
    /// The attribution offsets (name, build and shadow hint left for the
    /// caller).
    pub profile: KernelProfile,
    /// EPROCESS.Peb, from `PsGetProcessPeb` (if exported).
    pub eprocess_peb: Option<u64>,
    /// Where the exported `PsInitialSystemProcess` variable is.
    pub initial_system_process: u64,
}

/// Decodes the accessors of the kernel image `img`.
pub fn derive(mem: &mut dyn VirtMem, img: &PeImage, b: Bitness) -> Result<Derived, OffsetError> {
    let exports: HashMap<String, u64> = img
        .exports(mem)?
        .into_iter()
        .map(|e| (e.name, e.addr))
        .collect();
    let mut run = |name: &str| {
        let addr = *exports.get(name)?;
        let mut code = vec![0u8; ACCESSOR_BYTES];
        // The last function of an image may end close to a page edge.
        if mem.read_virt(addr, &mut code).is_err() {
            code.truncate(16);
            mem.read_virt(addr, &mut code).ok()?;
        }
        accessor_result(&code, addr, b)
    };
    let need = |v: Option<u64>, what| v.ok_or(OffsetError::Accessor(what));
    let pid = need(
        run("PsGetProcessId").as_ref().and_then(field_of_arg),
        "PsGetProcessId",
    )?;
    let image = need(
        run("PsGetProcessImageFileName")
            .as_ref()
            .and_then(address_in_arg),
        "PsGetProcessImageFileName",
    )?;
    let ppid = need(
        run("PsGetProcessInheritedFromUniqueProcessId")
            .as_ref()
            .and_then(field_of_arg),
        "PsGetProcessInheritedFromUniqueProcessId",
    )?;
    let psz = ptr_size(b);
    let cid_from_pid = run("PsGetThreadProcessId").as_ref().and_then(field_of_arg);
    let cid_from_tid = run("PsGetThreadId")
        .as_ref()
        .and_then(field_of_arg)
        .and_then(|t| t.checked_sub(psz));
    let cid = match (cid_from_pid, cid_from_tid) {
        (Some(a), Some(b)) if a != b => {
            return Err(OffsetError::Inconsistent(
                "PsGetThreadId and PsGetThreadProcessId",
            ))
        }
        (a, b) => need(a.or(b), "PsGetThreadProcessId")?,
    };
    let current = ["IoGetCurrentProcess", "PsGetCurrentProcess"]
        .iter()
        .find_map(|n| run(n).as_ref().and_then(kpcr_chain));
    let thread_accessor = ["PsGetCurrentThread", "KeGetCurrentThread"]
        .iter()
        .find_map(|n| run(n).as_ref().and_then(kpcr_field));
    let kpcr_current_thread = need(
        current.map(|c| c.0).or(thread_accessor),
        "PsGetCurrentThread",
    )?;
    let kthread_process = need(
        current
            .map(|c| c.1)
            .or_else(|| run("IoThreadToProcess").as_ref().and_then(field_of_arg)),
        "IoGetCurrentProcess",
    )?;
    let eprocess_peb = run("PsGetProcessPeb").as_ref().and_then(field_of_arg);
    let initial_system_process = need(
        exports.get("PsInitialSystemProcess").copied(),
        "PsInitialSystemProcess",
    )?;
    Ok(Derived {
        profile: KernelProfile {
            name: "read from the guest kernel's accessors",
            arch: match b {
                Bitness::B64 => Arch::X64,
                Bitness::B32 => Arch::X86,
            },
            build: 0,
            kpcr_current_thread,
            kthread_process,
            eprocess_unique_process_id: pid,
            eprocess_inherited_from_unique_process_id: ppid,
            eprocess_image_file_name: image,
            ethread_cid: cid,
            kpcr_kernel_dtb: None,
        },
        eprocess_peb,
        initial_system_process,
    })
}

/// EPROCESS.ImageFileName at `process` (at most 15 bytes).
pub fn image_name(
    mem: &mut dyn VirtMem,
    process: u64,
    p: &KernelProfile,
) -> Result<String, MemError> {
    let mut name = [0u8; 15];
    mem.read_virt(process.wrapping_add(p.eprocess_image_file_name), &mut name)?;
    let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
    Ok(String::from_utf8_lossy(&name[..end]).into_owned())
}

/// Checks `p` against the kernel's process list from the System process
/// `*initial_system_process`; returns the processes' EPROCESS addresses,
/// System first. The one entry inside the kernel image `kernel`
/// (PsActiveProcessHead, in its data) is the list head; every other
/// entry must be a process with a plausible pid.
pub fn walk_processes(
    mem: &mut dyn VirtMem,
    p: &KernelProfile,
    initial_system_process: u64,
    kernel: std::ops::Range<u64>,
) -> Result<Vec<u64>, OffsetError> {
    let b = p.bitness();
    let psz = ptr_size(b);
    let fail = |s: String| OffsetError::Walk(s);
    let system = read::read_ptr(mem, initial_system_process, b)?;
    let pid_at = |mem: &mut dyn VirtMem, e: u64| {
        read::read_ptr(mem, e.wrapping_add(p.eprocess_unique_process_id), b)
    };
    let pid = pid_at(mem, system)?;
    let name = image_name(mem, system, p)?;
    if pid != 4 || name != "System" {
        return Err(fail(format!(
            "PsInitialSystemProcess is pid {pid} {name:?}, not 4 \"System\""
        )));
    }
    let links = p.eprocess_unique_process_id + psz;
    let start = system.wrapping_add(links);
    let mut seen = HashSet::new();
    let mut out = vec![system];
    let mut heads = 0;
    let mut cur = read::read_ptr(mem, start, b)?;
    while cur != start {
        if out.len() + heads >= MAX_PROCESSES {
            return Err(fail(format!("more than {MAX_PROCESSES} entries")));
        }
        if !seen.insert(cur) {
            return Err(fail(format!(
                "a loop at {cur:#x} that does not close on System"
            )));
        }
        let e = cur.wrapping_sub(links);
        if kernel.contains(&cur) {
            // PsActiveProcessHead, in the kernel's data: not a process.
            heads += 1;
            if heads > 1 {
                return Err(fail("two list heads in the kernel image".into()));
            }
        } else {
            let pid = pid_at(mem, e)?;
            if pid == 0 || pid % 4 != 0 || pid > u64::from(u32::MAX) {
                return Err(fail(format!("the entry at {e:#x} has pid {pid:#x}")));
            }
            out.push(e);
        }
        let next = read::read_ptr(mem, cur, b)?;
        if read::read_ptr(mem, next.wrapping_add(psz), b)? != cur {
            return Err(fail(format!(
                "the list is broken at {cur:#x} (Flink->Blink)"
            )));
        }
        cur = next;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pe::tests::image;
    use vstrace_core::testmem::SparseVirt;

    const KIMG: u64 = 0xffff_f800_0010_0000;
    const KPCR: u64 = 0xffff_f780_0000_0000;
    const IDT: u64 = 0xffff_f780_0001_0000;
    const SYS: u64 = 0xffff_a000_0000_0000;
    const P2: u64 = 0xffff_a000_0001_0000;
    const HEAD: u64 = KIMG + 0x1f00;

    fn le(v: u64) -> [u8; 8] {
        v.to_le_bytes()
    }

    /// An x64 kernel with the accessors at `pid`/`image`.. offsets, and
    /// System + one process on the list.
    fn kernel(pid: u64, image_off: u64) -> SparseVirt {
        let names = [
            ("IoGetCurrentProcess", 0x1000),
            ("PsGetProcessId", 0x1020),
            ("PsGetProcessImageFileName", 0x1040),
            ("PsGetProcessInheritedFromUniqueProcessId", 0x1060),
            ("PsGetThreadProcessId", 0x1080),
            ("PsInitialSystemProcess", 0x1800),
        ];
        let mut img = image(&names, true, 0x2000);
        let mov = |reg_rm: u8, d: u64| {
            let mut v = vec![0x48, 0x8b, reg_rm];
            v.extend_from_slice(&(d as u32).to_le_bytes());
            v.push(0xc3);
            v
        };
        let code = [
            0x65, 0x48, 0x8b, 0x04, 0x25, 0x88, 1, 0, 0, 0x48, 0x8b, 0x80, 0xb8, 0, 0, 0, 0xc3,
        ];
        img[0x1000..0x1011].copy_from_slice(&code);
        img[0x1020..0x1028].copy_from_slice(&mov(0x81, pid));
        let mut lea = mov(0x81, image_off);
        lea[1] = 0x8d;
        img[0x1040..0x1048].copy_from_slice(&lea);
        img[0x1060..0x1068].copy_from_slice(&mov(0x81, 0x540));
        img[0x1080..0x1088].copy_from_slice(&mov(0x81, 0x478));
        img[0x1800..0x1808].copy_from_slice(&le(SYS));
        let mut m = SparseVirt::new();
        m.map(KIMG, &img);
        // IDT gate 0 -> KIMG + 0x1100.
        let h = KIMG + 0x1100;
        let mut gate = [0u8; 16];
        gate[0..2].copy_from_slice(&(h as u16).to_le_bytes());
        gate[6..8].copy_from_slice(&((h >> 16) as u16).to_le_bytes());
        gate[8..12].copy_from_slice(&((h >> 32) as u32).to_le_bytes());
        m.map(IDT, &gate);
        m.map(KPCR + 0x38, &le(IDT));
        for (e, id, name) in [(SYS, 4u64, &b"System\0"[..]), (P2, 0x1f4, b"app.exe\0")] {
            m.map_zeroed(e, 0x1000);
            m.map(e + pid, &le(id));
            m.map(e + image_off, name);
        }
        // HEAD -> SYS -> P2 -> HEAD
        let l = pid + 8;
        let link = |m: &mut SparseVirt, a: u64, b: u64| {
            m.map(a, &le(b));
            m.map(b + 8, &le(a));
        };
        link(&mut m, HEAD, SYS + l);
        link(&mut m, SYS + l, P2 + l);
        link(&mut m, P2 + l, HEAD);
        m
    }

    #[test]
    fn offsets_from_accessors_and_the_process_list() {
        for (pid, image_off) in [(0x440, 0x5a8), (0x1d0, 0x6a0)] {
            let mut m = kernel(pid, image_off);
            let img = kernel_image(&mut m, KPCR, Bitness::B64).unwrap();
            assert_eq!(img.base, KIMG);
            // From an address on the system call path alike.
            let by_path = kernel_image_from_entry(&mut m, KIMG + 0x1234).unwrap();
            assert_eq!(by_path.base, KIMG);
            assert!(kernel_image_from_entry(&mut m, KIMG + 0x2000).is_err());
            assert!(kernel_image_from_entry(&mut m, 0x1000).is_err());
            let d = derive(&mut m, &img, Bitness::B64).unwrap();
            let p = d.profile;
            assert_eq!(
                (p.eprocess_unique_process_id, p.eprocess_image_file_name),
                (pid, image_off)
            );
            assert_eq!((p.kpcr_current_thread, p.kthread_process), (0x188, 0xb8));
            assert_eq!(p.ethread_cid, 0x478);
            assert_eq!(
                walk_processes(&mut m, &p, d.initial_system_process, KIMG..KIMG + 0x2000).unwrap(),
                [SYS, P2]
            );
        }
    }

    #[test]
    fn hostile_process_lists_fail_cleanly() {
        let mut m = kernel(0x440, 0x5a8);
        let img = kernel_image(&mut m, KPCR, Bitness::B64).unwrap();
        let d = derive(&mut m, &img, Bitness::B64).unwrap();
        // P2 points back at itself: a loop that never reaches System.
        m.map(P2 + 0x448, &le(P2 + 0x448));
        assert!(walk_processes(
            &mut m,
            &d.profile,
            d.initial_system_process,
            KIMG..KIMG + 0x2000
        )
        .is_err());
        // Wrong offsets: System is not pid 4.
        let mut wrong = d.profile;
        wrong.eprocess_unique_process_id = 0x450;
        assert!(walk_processes(
            &mut m,
            &wrong,
            d.initial_system_process,
            KIMG..KIMG + 0x2000
        )
        .is_err());
        // No IDT.
        assert!(kernel_image(&mut m, 0x1000, Bitness::B64).is_err());
    }
}
