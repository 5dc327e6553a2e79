//! Windows OS layer adapter: maps the engine's [`OsLayer`] onto
//! `vstrace-windows` (per-build service tables, Nt* prototypes, typed
//! decoders, NTSTATUS, KPCR/EPROCESS attribution).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use vstrace_core::{Bitness, Event, Reg, Space, Syscall, VirtMem};
use vstrace_windows::{self as win, Arch, KernelProfile, Prototype, WindowsVersion};

use crate::inject::PathRewrite;
use crate::os::{CallInfo, DecodeOpts, OsLayer, ProcInfo};
use crate::record::ArgRecord;

/// Where the x86 kernel keeps its KPCR on real Windows (fs:0 in kernel
/// mode); in user mode fs points at the TEB, so the address is needed.
pub const DEFAULT_KPCR_X86: u64 = 0xffdf_f000;

/// The Windows layer for one guest version.
pub struct WindowsLayer {
    x64: Option<&'static WindowsVersion>,
    x86: Option<&'static WindowsVersion>,
    kpcr_x86: u64,
    /// `auto`: the version is read from the guest (KUSER_SHARED_DATA) at
    /// the first call of each bitness; failed attempts so far.
    detect: Option<[u32; 2]>,
    /// Per bitness: KVA shadow state (see [`ShadowState`]).
    shadow: [ShadowState; 2],
}

/// What attribution learnt about KVA shadow for one bitness: the KPCR
/// offset of KernelDirectoryTableBase once found, and how many searches
/// found nothing (bounded: a KPCR that is unreadable for another reason
/// must not cost a search per event forever).
#[derive(Default)]
struct ShadowState {
    /// KPCR offset + 1 (0: not found yet).
    offset: AtomicU64,
    misses: AtomicU32,
}

/// Searches of the KPCR for the kernel space before giving up.
const SHADOW_SEARCHES: u32 = 16;

/// The version name that asks for detection.
pub const AUTO: &str = "auto";
/// Attempts at reading KUSER_SHARED_DATA before falling back to
/// [`FALLBACK_X64`] / [`FALLBACK_X86`].
const DETECT_ATTEMPTS: u32 = 16;
pub const FALLBACK_X64: &str = "win10-22h2";
pub const FALLBACK_X86: &str = "win7-sp1";

/// Error choosing the Windows version.
#[derive(Debug, thiserror::Error)]
#[error("Windows version {name:?}: {reason}")]
pub struct VersionChoiceError {
    pub name: String,
    pub reason: String,
}

impl WindowsLayer {
    /// Resolves `version` (e.g. `win10-22h2`, `19045`, `win7-sp1`) for
    /// both architectures; it must name a version of at least one.
    /// `auto` detects the version from the guest.
    pub fn new(version: &str, kpcr_x86: Option<u64>) -> Result<WindowsLayer, VersionChoiceError> {
        if version.eq_ignore_ascii_case(AUTO) {
            return Ok(WindowsLayer {
                x64: None,
                x86: None,
                kpcr_x86: kpcr_x86.unwrap_or(DEFAULT_KPCR_X86),
                detect: Some([0, 0]),
                shadow: Default::default(),
            });
        }
        let x64 = win::version_by_name(Arch::X64, version);
        let x86 = win::version_by_name(Arch::X86, version);
        if let (Err(a), Err(_)) = (&x64, &x86) {
            return Err(VersionChoiceError {
                name: version.into(),
                reason: a.to_string(),
            });
        }
        Ok(WindowsLayer {
            x64: x64.ok(),
            x86: x86.ok(),
            kpcr_x86: kpcr_x86.unwrap_or(DEFAULT_KPCR_X86),
            detect: None,
            shadow: Default::default(),
        })
    }

    /// The versions in use, per bitness (None: not known yet or no table).
    pub fn versions(
        &self,
    ) -> (
        Option<&'static WindowsVersion>,
        Option<&'static WindowsVersion>,
    ) {
        (self.x64, self.x86)
    }

    fn version(&self, b: Bitness) -> Option<&'static WindowsVersion> {
        match b {
            Bitness::B64 => self.x64,
            Bitness::B32 => self.x86,
        }
    }

    fn profile(&self, b: Bitness) -> Option<&'static KernelProfile> {
        win::profile_for(self.version(b)?)
    }
}

fn bitness_of(tag: &str) -> Bitness {
    if tag == "nt32" {
        Bitness::B32
    } else {
        Bitness::B64
    }
}

fn proto(info: &CallInfo) -> Option<&'static Prototype> {
    win::prototype(&info.name)
}

fn opts(o: &DecodeOpts) -> win::DecodeOptions {
    win::DecodeOptions {
        max_string: o.strsize.max(64),
        ..Default::default()
    }
}

/// Arguments shown for calls without a prototype: the register ones.
const UNKNOWN_ARGS: usize = 4;

impl OsLayer for WindowsLayer {
    fn os_name(&self) -> &'static str {
        "windows"
    }

    fn observe(&mut self, event: &Event, mem: &mut dyn VirtMem) {
        let Some(attempts) = &mut self.detect else {
            return;
        };
        let (slot, arch, fallback) = match event.bitness {
            Bitness::B64 => (0, Arch::X64, FALLBACK_X64),
            Bitness::B32 => (1, Arch::X86, FALLBACK_X86),
        };
        let known = match event.bitness {
            Bitness::B64 => &mut self.x64,
            Bitness::B32 => &mut self.x86,
        };
        if known.is_some() {
            return;
        }
        match win::kuser::detect_version(arch, mem) {
            Ok(v) => {
                eprintln!(
                    "vstrace: Windows {:?} guest: {} (NT {}.{} build {}, from KUSER_SHARED_DATA)",
                    arch, v.id, v.nt_version.0, v.nt_version.1, v.build
                );
                *known = Some(v);
            }
            Err(e) => {
                attempts[slot] += 1;
                if attempts[slot] >= DETECT_ATTEMPTS {
                    eprintln!(
                        "vstrace: warning: Windows version not detected ({e}); using {fallback} (--windows-version)"
                    );
                    *known = win::version_by_name(arch, fallback).ok();
                }
            }
        }
    }

    fn identify(&self, event: &Event, nr: u64) -> CallInfo {
        let b = event.bitness;
        let (abi, arch) = match b {
            Bitness::B64 => ("nt64", Arch::X64),
            Bitness::B32 => ("nt32", Arch::X86),
        };
        let eax = nr as u32;
        let name = self
            .version(b)
            .and_then(|v| win::lookup(arch, v, eax))
            .map(str::to_string)
            .unwrap_or_else(|| format!("NtService_{eax:#x}"));
        let nargs = win::prototype(&name).map_or(UNKNOWN_ARGS, |p| p.args.len());
        // Whether NtTerminateProcess/NtTerminateThread return depends on
        // their handle: see `never_returns`.
        let noreturn = false;
        CallInfo {
            abi,
            nr: eax as u64,
            name,
            nargs,
            noreturn,
            exec: false,
            id: 0,
        }
    }

    fn never_returns(&self, info: &CallInfo, raw: &[u64]) -> bool {
        // The current process / thread pseudo-handles, at the caller's
        // width (NtCurrentProcess() = -1, NtCurrentThread() = -2).
        let width = if info.abi == "nt32" {
            0xffff_ffff
        } else {
            u64::MAX
        };
        let h = raw.first().map(|h| h & width);
        match info.name.as_str() {
            "NtTerminateProcess" => h == Some(width),
            // A NULL thread handle means the calling thread too.
            "NtTerminateThread" => h == Some(width - 1) || h == Some(0),
            _ => info.noreturn,
        }
    }

    fn all_names(&self) -> Vec<String> {
        win::prototypes()
            .iter()
            .map(|p| p.name.to_string())
            .collect()
    }

    fn class_members(&self, class: &str) -> Option<Vec<String>> {
        // Coarse classes by name, the NT way.
        let pick = |f: &dyn Fn(&str) -> bool| {
            Some(
                win::prototypes()
                    .iter()
                    .map(|p| p.name)
                    .filter(|n| f(n))
                    .map(str::to_string)
                    .collect(),
            )
        };
        match class {
            "file" => pick(&|n| n.contains("File") || n.contains("Directory")),
            "registry" => pick(&|n| n.contains("Key")),
            "process" => pick(&|n| n.contains("Process") || n.contains("Thread")),
            "memory" => pick(&|n| n.contains("VirtualMemory") || n.contains("Section")),
            _ => None,
        }
    }

    fn decode_enter(
        &self,
        info: &CallInfo,
        raw: &[u64],
        mem: &mut dyn VirtMem,
        o: &DecodeOpts,
    ) -> Vec<ArgRecord> {
        match proto(info) {
            Some(p) => win::decode_enter(p, bitness_of(info.abi), raw, mem, &opts(o))
                .into_iter()
                .map(|a| ArgRecord {
                    name: a.name.to_string(),
                    raw: a.raw,
                    value: a.text,
                })
                .collect(),
            None => raw
                .iter()
                .enumerate()
                .map(|(i, r)| ArgRecord {
                    name: format!("arg{}", i + 1),
                    raw: *r,
                    value: Some(format!("{r:#x}")),
                })
                .collect(),
        }
    }

    fn decode_exit(
        &self,
        info: &CallInfo,
        raw: &[u64],
        ret: i64,
        mem: &mut dyn VirtMem,
        o: &DecodeOpts,
        args: &mut [ArgRecord],
    ) {
        let Some(p) = proto(info) else { return };
        let mut vals: Vec<win::ArgValue> = p
            .args
            .iter()
            .zip(args.iter())
            .map(|(spec, a)| win::ArgValue {
                name: spec.name,
                raw: a.raw,
                text: a.value.clone(),
            })
            .collect();
        win::decode_exit(
            p,
            bitness_of(info.abi),
            raw,
            ret as u32,
            mem,
            &opts(o),
            &mut vals,
        );
        for (a, v) in args.iter_mut().zip(vals) {
            a.value = v.text;
        }
    }

    /// NTSTATUS is 32 bits on both ABIs: the same unsigned value (e.g.
    /// 0xc0000034) whether eax was read sign-extended (nt32) or not.
    fn record_return(&self, ret: i64) -> i64 {
        ret as u32 as i64
    }

    fn format_return(&self, _info: &CallInfo, ret: i64) -> (String, Option<String>) {
        let st = ret as u32;
        let err = (!win::nt_success(st))
            .then(|| win::ntstatus_name(st).map(str::to_string))
            .flatten();
        (win::format_status(st), err)
    }

    fn error_value(&self, name: &str) -> Option<i64> {
        win::ntstatus::ntstatus_by_name(name).map(|s| s as i64)
    }

    fn invalid_nr(&self, _info: &CallInfo) -> u64 {
        // Service 0xfff of table 0 exists in no release: the kernel fails
        // it with STATUS_INVALID_SYSTEM_SERVICE without side effects.
        0xfff
    }

    fn arg_names(&self, info: &CallInfo) -> Vec<String> {
        match proto(info) {
            Some(p) => p.args.iter().map(|a| a.name.to_string()).collect(),
            None => (1..=info.nargs).map(|i| format!("arg{i}")).collect(),
        }
    }

    fn path_args(&self, info: &CallInfo) -> Vec<usize> {
        proto(info)
            .map(|p| {
                p.args
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| matches!(a.kind, win::ArgKind::ObjectAttributes))
                    .map(|(i, _)| i + 1)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn rewrite_path(&self, sc: &mut Syscall<'_>, idx: usize, rules: &[PathRewrite]) {
        let b = sc.event.bitness;
        let Ok(oa_ptr) = sc.arg(idx) else { return };
        let mem = sc.cpu().mem();
        let Ok(oa) = win::structs::read_object_attributes(mem, oa_ptr, b) else {
            return;
        };
        let Ok(us) = vstrace_core::read::read_unicode_string(mem, oa.object_name, b) else {
            return;
        };
        if us.is_hostile() {
            return;
        }
        let Some(rule) = rules.iter().find(|r| r.from == us.text) else {
            return;
        };
        let _ = rewrite_object_name(sc, idx, oa_ptr, &us.text, &rule.to);
    }

    fn attribute(&self, event: &Event, mem: &mut dyn VirtMem) -> Option<ProcInfo> {
        let b = event.bitness;
        let profile = self.profile(b)?;
        // x64: the kernel's GS base sits in IA32_KERNEL_GS_BASE while the
        // CPU runs user code (before swapgs).
        let kpcr = match b {
            Bitness::B64 => event.regs.k_gs_base,
            Bitness::B32 => self.kpcr_x86,
        };
        let t = match win::current_thread_info(mem, profile, kpcr) {
            Ok(t) => t,
            Err(_) => self.attribute_shadowed(event, mem, profile, kpcr)?,
        };
        Some(ProcInfo {
            pid: t.pid as u32,
            tid: t.tid as u32,
            ppid: Some(t.ppid as u32),
            comm: Some(t.image_name),
        })
    }
}

impl WindowsLayer {
    /// Attribution when the current (user) space does not map the thread:
    /// KVA shadow. Walks in the kernel's space, found from the KPCR.
    fn attribute_shadowed(
        &self,
        event: &Event,
        mem: &mut dyn VirtMem,
        profile: &KernelProfile,
        kpcr: u64,
    ) -> Option<win::ThreadInfo> {
        let st = &self.shadow[match event.bitness {
            Bitness::B64 => 0,
            Bitness::B32 => 1,
        }];
        let known = st.offset.load(Ordering::Relaxed).checked_sub(1);
        if known.is_none() && st.misses.load(Ordering::Relaxed) >= SHADOW_SEARCHES {
            return None;
        }
        let current = Space::current(&event.regs)?;
        match win::shadow::find_kernel_space(mem, profile, kpcr, current, known) {
            Some((k, t)) => {
                if known != Some(k.kpcr_offset) {
                    st.offset.store(k.kpcr_offset + 1, Ordering::Relaxed);
                    eprintln!(
                        "vstrace: Windows KVA shadow: kernel CR3 {:#x} from KPCR+{:#x}; \
                         processes are read in the kernel's space",
                        k.space.root, k.kpcr_offset
                    );
                }
                Some(t)
            }
            None => {
                if known.is_none() {
                    st.misses.fetch_add(1, Ordering::Relaxed);
                }
                None
            }
        }
    }
}

/// Copies the OBJECT_ATTRIBUTES with a new ObjectName (UNICODE_STRING and
/// UTF-16 buffer) below the caller's stack, and points argument `idx` at
/// the copy: the caller's structures are left untouched.
fn rewrite_object_name(
    sc: &mut Syscall<'_>,
    idx: usize,
    oa_ptr: u64,
    from: &str,
    to: &str,
) -> Option<()> {
    let b = sc.event.bitness;
    let wide = b == Bitness::B64;
    let oa_size = win::structs::ObjectAttributes::size(b) as usize;
    let mut oa = vstrace_core::read::read_struct(sc.cpu().mem(), oa_ptr, oa_size).ok()?;
    let utf16: Vec<u8> = to.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    let len = u16::try_from(utf16.len()).ok()?;
    // Layout below sp (and below the x64 stack arguments' red zone of
    // home space): [OA][UNICODE_STRING][buffer], 16-byte aligned.
    let us_size = if wide { 16 } else { 8 };
    let total = (oa_size + us_size + utf16.len() + 2) as u64;
    let sp = sc.cpu().regs().get(Reg::Rsp);
    let mut base = sp.wrapping_sub(0x400 + total) & !15;
    if !wide {
        base &= 0xffff_ffff;
    }
    let us_addr = base + oa_size as u64;
    let buf_addr = us_addr + us_size as u64;
    let mut us = Vec::with_capacity(us_size);
    us.extend_from_slice(&len.to_le_bytes());
    us.extend_from_slice(&(len + 2).to_le_bytes());
    if wide {
        us.extend_from_slice(&[0; 4]);
        us.extend_from_slice(&buf_addr.to_le_bytes());
        oa[16..24].copy_from_slice(&us_addr.to_le_bytes());
    } else {
        us.extend_from_slice(&(buf_addr as u32).to_le_bytes());
        oa[8..12].copy_from_slice(&(us_addr as u32).to_le_bytes());
    }
    let mut blob = oa;
    blob.extend_from_slice(&us);
    blob.extend_from_slice(&utf16);
    blob.extend_from_slice(&[0, 0]);
    sc.cpu().mem().write_virt(base, &blob).ok()?;
    sc.set_arg(idx, base).ok()?;
    if let Some(m) = sc.modifications.last_mut() {
        m.before_text = Some(format!("ObjectName={from:?}"));
        m.after_text = Some(format!("ObjectName={to:?}"));
    }
    Some(())
}

#[cfg(test)]
mod tests {
    //! The Windows adapter through the engine on a synthetic x64 NtOpenFile
    //! (Windows 10 22H2 numbers and offsets).

    use vstrace_core::cpu::SnapshotCpu;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::{Mechanism, Regs};

    use super::WindowsLayer;
    use crate::os::{CallInfo, OsLayer};
    use crate::{Engine, EngineConfig, Format};

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    #[test]
    fn terminate_current_process_or_thread_never_returns() {
        let l = WindowsLayer::new("win10-22h2", None).unwrap();
        let info = |name: &str, abi| CallInfo {
            abi,
            nr: 0,
            name: name.into(),
            nargs: 2,
            noreturn: false,
            exec: false,
            id: 0,
        };
        let p64 = info("NtTerminateProcess", "nt64");
        assert!(l.never_returns(&p64, &[u64::MAX, 0]));
        assert!(!l.never_returns(&p64, &[0x1a4, 0]));
        assert!(!l.never_returns(&p64, &[0, 0]));
        let p32 = info("NtTerminateProcess", "nt32");
        assert!(l.never_returns(&p32, &[0xffff_ffff, 0]));
        let t64 = info("NtTerminateThread", "nt64");
        assert!(l.never_returns(&t64, &[u64::MAX - 1, 0]));
        assert!(l.never_returns(&t64, &[0, 0]));
        assert!(!l.never_returns(&t64, &[0x88, 0]));
        assert!(!l.never_returns(&info("NtClose", "nt64"), &[u64::MAX]));
        assert!(!l.never_returns(&p64, &[]));
    }

    #[test]
    fn nt_open_file_decoded_attributed_and_rewritten() {
        let mut mem = SparseVirt::new();
        let (stack, oa, us, buf) = (
            0x7000_0000u64,
            0x5000_0000u64,
            0x5000_0100u64,
            0x5000_0200u64,
        );
        mem.map_zeroed(stack - 0x2000, 0x4000);
        mem.map_zeroed(oa, 0x1000);
        // OBJECT_ATTRIBUTES (64-bit): Length, RootDirectory, ObjectName, Attributes.
        let name = utf16("\\??\\C:\\x.txt");
        let mut o = vec![0u8; 48];
        o[0..4].copy_from_slice(&48u32.to_le_bytes());
        o[16..24].copy_from_slice(&us.to_le_bytes());
        o[24..28].copy_from_slice(&0x40u32.to_le_bytes());
        vstrace_core::VirtMem::write_virt(&mut mem, oa, &o).unwrap();
        let mut u = Vec::new();
        u.extend_from_slice(&(name.len() as u16).to_le_bytes());
        u.extend_from_slice(&(name.len() as u16).to_le_bytes());
        u.extend_from_slice(&[0; 4]);
        u.extend_from_slice(&buf.to_le_bytes());
        vstrace_core::VirtMem::write_virt(&mut mem, us, &u).unwrap();
        vstrace_core::VirtMem::write_virt(&mut mem, buf, &name).unwrap();
        // Stack args 5 and 6 (ShareAccess, OpenOptions) at rsp+0x28/0x30.
        vstrace_core::VirtMem::write_virt(&mut mem, stack + 0x28, &7u64.to_le_bytes()).unwrap();
        vstrace_core::VirtMem::write_virt(&mut mem, stack + 0x30, &0x20u64.to_le_bytes()).unwrap();
        // KPCR -> KTHREAD -> EPROCESS at the Win10 22H2 offsets.
        let (kpcr, thread, process) = (
            0xffff_f000_0000_0000u64,
            0xffff_f000_0001_0000u64,
            0xffff_f000_0002_0000u64,
        );
        mem.map_zeroed(kpcr, 0x1000);
        mem.map_zeroed(thread, 0x1000);
        mem.map_zeroed(process, 0x1000);
        let w = |m: &mut SparseVirt, a: u64, v: &[u8]| {
            vstrace_core::VirtMem::write_virt(m, a, v).unwrap()
        };
        w(&mut mem, kpcr + 0x188, &thread.to_le_bytes());
        w(&mut mem, thread + 0xb8, &process.to_le_bytes());
        w(&mut mem, thread + 0x478 + 8, &0x5678u64.to_le_bytes());
        w(&mut mem, process + 0x440, &0x1234u64.to_le_bytes());
        w(&mut mem, process + 0x540, &4u64.to_le_bytes());
        w(&mut mem, process + 0x5a8, b"vstrace-nt.exe\0");

        let out = std::env::temp_dir().join(format!("vstrace-win-{}.jsonl", std::process::id()));
        let cfg = EngineConfig {
            os: "windows".into(),
            windows_version: Some("win10-22h2".into()),
            output: Some(out.display().to_string()),
            format: Format::Json,
            rewrite_path: vec!["\\??\\C:\\x.txt=\\??\\C:\\y.txt".into()],
            ..Default::default()
        };
        let mut e = Engine::new(cfg).unwrap();
        let mut r = Regs {
            cs: 0x33,
            k_gs_base: kpcr,
            cr3: 0x1000,
            ..Default::default()
        };
        r.set(vstrace_core::Reg::Rax, 0x33); // NtOpenFile on 19045
        r.set(vstrace_core::Reg::R10, 0x5000_0800); // FileHandle (out)
        r.set(vstrace_core::Reg::Rcx, 0xdead); // clobbered by syscall
        r.set(vstrace_core::Reg::Rdx, 0x120089);
        r.set(vstrace_core::Reg::R8, oa);
        r.set(vstrace_core::Reg::R9, 0x5000_0900);
        r.set(vstrace_core::Reg::Rsp, stack);
        r.set(vstrace_core::Reg::Rip, 0x7ff0_0000);
        let ev =
            vstrace_core::Event::new(0, Mechanism::Syscall, vstrace_core::Bitness::B64, r.clone());
        let mut cpu = SnapshotCpu {
            regs: r,
            mem: &mut mem,
        };
        e.on_event(&ev, &mut cpu);
        let new_oa = cpu.regs.get(vstrace_core::Reg::R8);
        assert_ne!(new_oa, oa, "ObjectAttributes repointed to a copy");
        let mut x = Regs {
            cs: 0x10,
            cr3: 0x1000,
            ..Default::default()
        };
        x.set(vstrace_core::Reg::Rax, 0xc000_0034);
        x.set(vstrace_core::Reg::Rcx, 0x7ff0_0002);
        x.set(vstrace_core::Reg::Rsp, stack);
        let ev =
            vstrace_core::Event::new(0, Mechanism::Sysret, vstrace_core::Bitness::B64, x.clone());
        let mut cpu = SnapshotCpu {
            regs: x,
            mem: &mut mem,
        };
        e.on_event(&ev, &mut cpu);
        e.finish();
        let text = std::fs::read_to_string(&out).unwrap();
        let rec: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(rec["name"], "NtOpenFile");
        assert_eq!(rec["abi"], "nt64");
        assert_eq!(
            (
                rec["pid"].as_u64(),
                rec["tid"].as_u64(),
                rec["ppid"].as_u64()
            ),
            (Some(0x1234), Some(0x5678), Some(4))
        );
        assert_eq!(rec["comm"], "vstrace-nt.exe");
        let args = rec["args"].as_array().unwrap();
        let val = |i: usize| args[i]["value"].as_str().unwrap_or("").to_string();
        assert!(
            val(1).contains("FILE_READ_DATA") || val(1).contains("FILE_GENERIC_READ"),
            "{}",
            val(1)
        );
        assert!(
            val(2).contains("y.txt"),
            "the kernel sees the new name: {}",
            val(2)
        );
        assert!(
            val(4).contains("FILE_SHARE_READ"),
            "5th arg from the stack: {}",
            val(4)
        );
        assert!(
            val(5).contains("FILE_SYNCHRONOUS_IO_NONALERT"),
            "6th arg: {}",
            val(5)
        );
        assert_eq!(rec["errno"], "STATUS_OBJECT_NAME_NOT_FOUND");
        assert_eq!(
            rec["ret"], 0xc000_0034u64,
            "NTSTATUS as an unsigned 32-bit value"
        );
        let m = &rec["modifications"][0];
        assert_eq!(m["target"], "arg3");
        assert!(m["before_text"].as_str().unwrap().contains("x.txt"));
        let _ = std::fs::remove_file(&out);
    }
}
