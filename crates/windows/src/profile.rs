//! Process attribution: which process and thread made a system call.
//!
//! Two ways, both bounded reads over guest memory:
//! - kernel side: KPCR -> KPRCB.CurrentThread -> KTHREAD ApcState.Process
//!   -> EPROCESS fields, with per-build offsets ([`KernelProfile`]); needs
//!   the kernel's KPCR base (x64: IA32_KERNEL_GS_BASE while the CPU is in
//!   user mode, GS base once `swapgs` ran; x86: the FS base in kernel mode).
//! - user side: the TEB (x64: GS base in user mode; x86: FS base) holds
//!   ClientId at a fixed offset in every release; the caller can forge it,
//!   so it is for display, not for trust.
//!
//! Offsets are public kernel type layouts (Vergilius project, ntdiff).
//! Windows 10 22H2 values are cross-checked with several public tools;
//! the Windows 11 23H2 ETHREAD.Cid value is the least certain one.

use serde::{Deserialize, Serialize};
use vstrace_core::read;
use vstrace_core::{Bitness, VirtMem};

use crate::structs::{ptr_size, DecodeError};
use crate::versions::{Arch, WindowsVersion};

/// Offsets of one kernel build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelProfile {
    /// Human-readable build name (`Windows 10 22H2 x64`), or where the
    /// offsets came from; not read back from JSON (empty there).
    #[serde(skip_deserializing)]
    pub name: &'static str,
    /// Kernel architecture these offsets are for.
    pub arch: Arch,
    /// Windows build number (`19045`).
    pub build: u32,
    /// KPCR -> KPRCB.CurrentThread (x64 `gs:[0x188]`, x86 `fs:[0x124]`).
    pub kpcr_current_thread: u64,
    /// KTHREAD -> ApcState.Process (the process whose address space runs).
    pub kthread_process: u64,
    /// EPROCESS -> UniqueProcessId (the pid, pointer-sized).
    pub eprocess_unique_process_id: u64,
    /// EPROCESS -> InheritedFromUniqueProcessId (the parent's pid, pointer-sized).
    pub eprocess_inherited_from_unique_process_id: u64,
    /// `UCHAR ImageFileName[15]`.
    pub eprocess_image_file_name: u64,
    /// ETHREAD -> Cid (CLIENT_ID: UniqueProcess, UniqueThread).
    pub ethread_cid: u64,
    /// KPCR -> Prcb.KernelDirectoryTableBase, the kernel CR3 under KVA
    /// shadow (x64 KiSystemCall64Shadow reads it at `gs:[this]` before its
    /// `mov cr3`). A hint: [`crate::shadow`] validates it and searches the
    /// KPCR when it is absent or wrong.
    pub kpcr_kernel_dtb: Option<u64>,
}

impl KernelProfile {
    /// Width of kernel pointers for this build (64 on x64, 32 on x86).
    pub fn bitness(&self) -> Bitness {
        match self.arch {
            Arch::X64 => Bitness::B64,
            Arch::X86 => Bitness::B32,
        }
    }
}

/// Known kernel profiles.
pub static PROFILES: &[KernelProfile] = &[
    KernelProfile {
        name: "Windows 7 SP1 x64",
        arch: Arch::X64,
        build: 7601,
        kpcr_current_thread: 0x188,
        kthread_process: 0x70,
        eprocess_unique_process_id: 0x180,
        eprocess_inherited_from_unique_process_id: 0x290,
        eprocess_image_file_name: 0x2e0,
        ethread_cid: 0x3b0,
        // The 2018 backport's layout is not public: found by the search.
        kpcr_kernel_dtb: None,
    },
    KernelProfile {
        name: "Windows 10 22H2 x64",
        arch: Arch::X64,
        build: 19045,
        kpcr_current_thread: 0x188,
        kthread_process: 0xb8,
        eprocess_unique_process_id: 0x440,
        eprocess_inherited_from_unique_process_id: 0x540,
        eprocess_image_file_name: 0x5a8,
        ethread_cid: 0x478,
        // KPRCB (KPCR+0x180) + 0x8e80.
        kpcr_kernel_dtb: Some(0x9000),
    },
    KernelProfile {
        name: "Windows 11 23H2 x64",
        arch: Arch::X64,
        build: 22631,
        kpcr_current_thread: 0x188,
        kthread_process: 0xb8,
        eprocess_unique_process_id: 0x440,
        eprocess_inherited_from_unique_process_id: 0x540,
        eprocess_image_file_name: 0x5a8,
        ethread_cid: 0x4c8,
        // KPRCB + 0x9e80 (gs:[0xa000] in its KiSystemCall64Shadow).
        kpcr_kernel_dtb: Some(0xa000),
    },
    KernelProfile {
        name: "Windows 7 SP1 x86",
        arch: Arch::X86,
        build: 7601,
        kpcr_current_thread: 0x124,
        kthread_process: 0x50,
        eprocess_unique_process_id: 0xb4,
        eprocess_inherited_from_unique_process_id: 0x140,
        eprocess_image_file_name: 0x16c,
        ethread_cid: 0x22c,
        kpcr_kernel_dtb: None,
    },
];

/// The profile for a version (same architecture and build), if known.
pub fn profile_for(version: &WindowsVersion) -> Option<&'static KernelProfile> {
    PROFILES
        .iter()
        .find(|p| p.arch == version.arch && p.build == version.build)
}

/// The running thread and its process, as the kernel sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadInfo {
    /// KTHREAD/ETHREAD address.
    pub thread: u64,
    /// KPROCESS/EPROCESS address.
    pub process: u64,
    /// Process id (EPROCESS.UniqueProcessId).
    pub pid: u64,
    /// Thread id (ETHREAD.Cid.UniqueThread).
    pub tid: u64,
    /// Parent process id (EPROCESS.InheritedFromUniqueProcessId; the parent may have exited since).
    pub ppid: u64,
    /// EPROCESS.ImageFileName (at most 15 bytes, lossy).
    pub image_name: String,
}

/// Walks KPCR -> current thread -> process with `profile`'s offsets.
pub fn current_thread_info(
    mem: &mut dyn VirtMem,
    profile: &KernelProfile,
    kpcr: u64,
) -> Result<ThreadInfo, DecodeError> {
    let b = profile.bitness();
    if kpcr == 0 {
        return Err(DecodeError::Null("KPCR"));
    }
    let thread = read::read_ptr(mem, kpcr.wrapping_add(profile.kpcr_current_thread), b)?;
    if thread == 0 {
        return Err(DecodeError::Null("KPRCB.CurrentThread"));
    }
    let process = read::read_ptr(mem, thread.wrapping_add(profile.kthread_process), b)?;
    if process == 0 {
        return Err(DecodeError::Null("KTHREAD.ApcState.Process"));
    }
    let cid = thread.wrapping_add(profile.ethread_cid);
    let tid = read::read_ptr(mem, cid.wrapping_add(ptr_size(b)), b)?;
    let pid = read::read_ptr(
        mem,
        process.wrapping_add(profile.eprocess_unique_process_id),
        b,
    )?;
    let ppid = read::read_ptr(
        mem,
        process.wrapping_add(profile.eprocess_inherited_from_unique_process_id),
        b,
    )?;
    let mut name = [0u8; 15];
    mem.read_virt(
        process.wrapping_add(profile.eprocess_image_file_name),
        &mut name,
    )?;
    let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
    Ok(ThreadInfo {
        thread,
        process,
        pid,
        tid,
        ppid,
        image_name: String::from_utf8_lossy(&name[..end]).into_owned(),
    })
}

/// TEB.ClientId (UniqueProcess, UniqueThread): at 0x40 (64-bit TEB) or
/// 0x20 (32-bit TEB) in every Windows release.
pub fn teb_client_id(
    mem: &mut dyn VirtMem,
    teb: u64,
    b: Bitness,
) -> Result<(u64, u64), DecodeError> {
    if teb == 0 {
        return Err(DecodeError::Null("TEB"));
    }
    let off = match b {
        Bitness::B64 => 0x40,
        Bitness::B32 => 0x20,
    };
    let c = crate::structs::read_client_id(mem, teb.wrapping_add(off), b)?;
    Ok((c.unique_process, c.unique_thread))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::versions::version_by_name;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::MemError;

    fn put(m: &mut SparseVirt, at: u64, v: u64, b: Bitness) {
        match b {
            Bitness::B32 => m.map(at, &(v as u32).to_le_bytes()),
            Bitness::B64 => m.map(at, &v.to_le_bytes()),
        }
    }

    /// Builds KPCR, ETHREAD and EPROCESS images laid out per `p`.
    fn guest(p: &KernelProfile) -> (SparseVirt, u64) {
        let b = p.bitness();
        let (kpcr, thread, process) = match b {
            Bitness::B64 => (
                0xffff_f800_0000_0000u64,
                0xffff_a000_0000_1000u64,
                0xffff_a000_0001_0000u64,
            ),
            Bitness::B32 => (0xffdf_f000, 0x8600_1000, 0x8601_0000),
        };
        let mut m = SparseVirt::new();
        m.map_zeroed(kpcr, 0x1000);
        m.map_zeroed(thread, 0x1000);
        m.map_zeroed(process, 0x1000);
        put(&mut m, kpcr + p.kpcr_current_thread, thread, b);
        put(&mut m, thread + p.kthread_process, process, b);
        put(&mut m, thread + p.ethread_cid, 1234, b);
        put(&mut m, thread + p.ethread_cid + ptr_size(b), 5678, b);
        put(&mut m, process + p.eprocess_unique_process_id, 1234, b);
        put(
            &mut m,
            process + p.eprocess_inherited_from_unique_process_id,
            4,
            b,
        );
        m.map(process + p.eprocess_image_file_name, b"notepad.exe\0");
        (m, kpcr)
    }

    #[test]
    fn walks_every_profile() {
        for p in PROFILES {
            let (mut m, kpcr) = guest(p);
            let t = current_thread_info(&mut m, p, kpcr).unwrap();
            assert_eq!((t.pid, t.tid, t.ppid), (1234, 5678, 4), "{}", p.name);
            assert_eq!(t.image_name, "notepad.exe");
        }
    }

    #[test]
    fn hostile_walks_fail_cleanly() {
        let p = &PROFILES[1];
        let (mut m, kpcr) = guest(p);
        assert_eq!(
            current_thread_info(&mut m, p, 0),
            Err(DecodeError::Null("KPCR"))
        );
        // CurrentThread NULL.
        put(&mut m, kpcr + p.kpcr_current_thread, 0, Bitness::B64);
        assert_eq!(
            current_thread_info(&mut m, p, kpcr),
            Err(DecodeError::Null("KPRCB.CurrentThread"))
        );
        // CurrentThread pointing to unmapped memory.
        put(&mut m, kpcr + p.kpcr_current_thread, 0x1000, Bitness::B64);
        assert!(matches!(
            current_thread_info(&mut m, p, kpcr),
            Err(DecodeError::Mem(MemError::Unmapped(_)))
        ));
        // A 15-byte name with no terminator.
        let (mut m, kpcr) = guest(p);
        let t = current_thread_info(&mut m, p, kpcr).unwrap();
        m.map(
            t.process + p.eprocess_image_file_name,
            b"AAAAAAAAAAAAAAAAAAAA",
        );
        let t = current_thread_info(&mut m, p, kpcr).unwrap();
        assert_eq!(t.image_name.len(), 15);
    }

    #[test]
    fn profile_selection() {
        let v = version_by_name(Arch::X64, "win10-22h2").unwrap();
        assert_eq!(profile_for(v).unwrap().name, "Windows 10 22H2 x64");
        let v = version_by_name(Arch::X86, "win7-sp1").unwrap();
        assert_eq!(profile_for(v).unwrap().ethread_cid, 0x22c);
        let v = version_by_name(Arch::X64, "win8.1").unwrap();
        assert!(profile_for(v).is_none());
    }

    #[test]
    fn teb_ids() {
        let mut m = SparseVirt::new();
        let mut v = 0x10u64.to_le_bytes().to_vec();
        v.extend_from_slice(&0x20u64.to_le_bytes());
        m.map(0x7ff0_0040, &v);
        assert_eq!(
            teb_client_id(&mut m, 0x7ff0_0000, Bitness::B64).unwrap(),
            (0x10, 0x20)
        );
        m.map(0x7ffd_f020, &[0x30, 0, 0, 0, 0x34, 0, 0, 0]);
        assert_eq!(
            teb_client_id(&mut m, 0x7ffd_f000, Bitness::B32).unwrap(),
            (0x30, 0x34)
        );
        assert!(teb_client_id(&mut m, 0, Bitness::B32).is_err());
    }
}
