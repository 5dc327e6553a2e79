//! The Windows OS layer: [`OsLayer`] over this crate's per-build service
//! tables, Nt* prototypes, typed decoders, NTSTATUS names and
//! KPCR/EPROCESS attribution; `%class` filters guessed from service
//! names; path rewriting through a copied OBJECT_ATTRIBUTES.

use vstrace_core::{
    ArgValue, Bitness, CallArgs, CallInfo, Event, Os, OsLayer, ProcInfo, Reg, Syscall, VirtMem,
};

use crate::isf::IsfOffsets;
use crate::kuser::{VersionChoice, VersionChoiceError};
use crate::learn::{Context, Learned};
use crate::shadow::ShadowSearch;
use crate::{self as win, Arch, KernelProfile, Prototype, WindowsVersion};

/// Where the x86 kernel keeps its KPCR on real Windows (fs:0 in kernel
/// mode); in user mode fs points at the TEB, so the address is needed.
pub const DEFAULT_KPCR_X86: u64 = 0xffdf_f000;

/// The Windows layer: the service tables of the guest's version (named
/// or detected), and what attribution learnt about the guest.
pub struct WindowsLayer {
    /// Which tables serve each bitness (see [`VersionChoice`]).
    versions: VersionChoice,
    /// The x86 KPCR's address (x64 reads it from the GS base).
    kpcr_x86: u64,
    /// Per bitness (x64, x86): the KVA shadow search (see [`ShadowSearch`]).
    shadow: [ShadowSearch; 2],
    /// Per bitness (x64, x86): names and offsets read from the guest.
    learned: [Learned; 2],
    /// Offsets from a symbol table (`--windows-profile`): they win over
    /// the guest's code and the built-in profiles.
    isf: Option<KernelProfile>,
    /// The symbol table's RVA of PsInitialSystemProcess, if it has one.
    isf_system: Option<u64>,
    /// `--caller`: module lists and exports per address space.
    callers: crate::modules::CallerCache,
}

fn slot(b: Bitness) -> usize {
    match b {
        Bitness::B64 => 0,
        Bitness::B32 => 1,
    }
}

impl WindowsLayer {
    /// Resolves `version` (e.g. `win10-22h2`, `19045`, `win7-sp1`) for
    /// both architectures; it must name a version of at least one.
    /// `auto` detects the version from the guest. `kpcr_x86` is the x86
    /// KPCR's address ([`DEFAULT_KPCR_X86`] when absent).
    pub fn new(version: &str, kpcr_x86: Option<u64>) -> Result<WindowsLayer, VersionChoiceError> {
        Ok(WindowsLayer {
            versions: VersionChoice::new(version)?,
            kpcr_x86: kpcr_x86.unwrap_or(DEFAULT_KPCR_X86),
            shadow: Default::default(),
            learned: Default::default(),
            isf: None,
            isf_system: None,
            callers: Default::default(),
        })
    }

    /// Uses `offsets` (from a Volatility 3 symbol table) for attribution
    /// of calls of their architecture's bitness.
    pub fn with_isf(mut self, offsets: &IsfOffsets) -> WindowsLayer {
        eprintln!(
            "vstrace: Windows {} offsets from {} ({})",
            offsets.offsets.arch.name(),
            offsets.source,
            crate::learn::describe_offsets(&offsets.profile())
        );
        self.isf = Some(offsets.profile());
        self.isf_system = offsets.initial_system_process;
        self
    }

    /// What was read from the guest itself for calls of bitness `b`.
    pub fn learned(&self, b: Bitness) -> &Learned {
        &self.learned[slot(b)]
    }

    /// The versions in use, per bitness (x64, x86; None: not known yet
    /// or no table).
    pub fn versions(
        &self,
    ) -> (
        Option<&'static WindowsVersion>,
        Option<&'static WindowsVersion>,
    ) {
        (
            self.versions.get(Bitness::B64),
            self.versions.get(Bitness::B32),
        )
    }

    fn version(&self, b: Bitness) -> Option<&'static WindowsVersion> {
        self.versions.get(b)
    }

    fn builtin_profile(&self, b: Bitness) -> Option<&'static KernelProfile> {
        win::profile_for(self.version(b)?)
    }

    /// The offsets attribution uses: the symbol table's, else the ones
    /// read from the guest kernel's code, else the built-in profile of
    /// the guest's version.
    fn profile(&self, b: Bitness) -> Option<KernelProfile> {
        self.isf
            .filter(|p| p.bitness() == b)
            .or_else(|| self.learned[slot(b)].kernel().copied())
            .or_else(|| self.builtin_profile(b).copied())
    }

    fn kpcr(&self, event: &Event) -> u64 {
        // x64: the kernel's GS base sits in IA32_KERNEL_GS_BASE while the
        // CPU runs user code (before swapgs).
        match event.bitness {
            Bitness::B64 => event.regs.k_gs_base,
            Bitness::B32 => self.kpcr_x86,
        }
    }
}

fn proto(info: &CallInfo) -> Option<&'static Prototype> {
    win::prototype(&info.name)
}

/// Arguments shown for calls without a prototype: the register ones.
const UNKNOWN_ARGS: usize = 4;

impl OsLayer for WindowsLayer {
    fn os(&self) -> Os {
        Os::Windows
    }

    fn observe(&mut self, event: &Event, mem: &mut dyn VirtMem) {
        let b = event.bitness;
        self.versions.observe(b, mem);
        let cx = Context {
            version: self.version(b),
            builtin: self.builtin_profile(b),
            isf: self.isf.as_ref().filter(|p| p.bitness() == b),
            isf_system: self.isf_system,
            kpcr: self.kpcr(event),
        };
        self.learned[slot(b)].observe(event, mem, &cx);
    }

    fn identify(&self, event: &Event, nr: u64) -> CallInfo {
        let b = event.bitness;
        let (abi, arch) = match b {
            Bitness::B64 => ("nt64", Arch::X64),
            Bitness::B32 => ("nt32", Arch::X86),
        };
        let eax = nr as u32;
        // The guest's own ntdll first; the j00ru table for what it lacks.
        let name = self.learned[slot(b)]
            .name(eax)
            .or_else(|| self.version(b).and_then(|v| win::lookup(arch, v, eax)))
            .map(str::to_string)
            .unwrap_or_else(|| format!("NtService_{eax:#x}"));
        let nargs = win::prototype(&name).map_or(UNKNOWN_ARGS, |p| p.args.len());
        // Whether NtTerminateProcess/NtTerminateThread return depends on
        // their handle: see `never_returns`. No NT service returns twice
        // (a new process starts at its entry point, not after a fork).
        CallInfo::plain(abi, b, eax as u64, name, nargs)
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
        match &*info.name {
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

    fn decode_enter(&self, c: CallArgs<'_>, mem: &mut dyn VirtMem) -> Option<Vec<ArgValue>> {
        let p = proto(c.info)?;
        // (-X: the flag renderers read the style set here.)
        vstrace_core::style::with_style(c.opts.const_style, || {
            Some(win::decode_enter(p, c.info.bitness, c.raw, mem, c.opts))
        })
    }

    /// NTSTATUS is 32 bits: the low half of `ret` decides which outputs
    /// were written.
    fn decode_exit(&self, c: CallArgs<'_>, ret: i64, mem: &mut dyn VirtMem, args: &mut [ArgValue]) {
        let Some(p) = proto(c.info) else { return };
        vstrace_core::style::with_style(c.opts.const_style, || {
            win::decode_exit(p, c.info.bitness, c.raw, ret as u32, mem, c.opts, args)
        });
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

    fn arg_names(&self, info: &CallInfo) -> Option<Vec<String>> {
        let names = proto(info)?.args.iter().map(|a| a.name.to_string());
        Some(names.collect())
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

    /// NT paths are the ObjectName UNICODE_STRING of an OBJECT_ATTRIBUTES.
    fn read_path(&self, sc: &mut Syscall<'_>, idx: usize) -> Option<String> {
        let b = sc.event.bitness;
        let oa_ptr = sc.arg(idx).ok()?;
        let mem = sc.cpu().mem();
        let oa = win::structs::read_object_attributes(mem, oa_ptr, b).ok()?;
        let us = vstrace_core::read::read_unicode_string(mem, oa.object_name, b).ok()?;
        (!us.is_hostile()).then_some(us.text)
    }

    /// A copy of the OBJECT_ATTRIBUTES, with a new ObjectName naming
    /// `to`, below the caller's stack; the argument points at the copy.
    fn write_path(&self, sc: &mut Syscall<'_>, idx: usize, from: &str, to: &str) -> Option<()> {
        let oa_ptr = sc.arg(idx).ok()?;
        rewrite_object_name(sc, idx, oa_ptr, from, to)
    }

    fn observe_exit(&mut self, event: &Event) {
        self.learned[slot(event.bitness)].observe_exit(event);
    }

    fn caller(&self, event: &Event, mem: &mut dyn VirtMem) -> Option<vstrace_core::Caller> {
        self.callers.caller(event, mem)
    }

    fn attribute(&self, event: &Event, mem: &mut dyn VirtMem) -> Option<ProcInfo> {
        let b = event.bitness;
        let profile = self.profile(b)?;
        let kpcr = self.kpcr(event);
        let t = match win::current_thread_info(mem, &profile, kpcr) {
            Ok(t) => t,
            Err(_) => self.shadow[slot(b)].thread_info(event, mem, &profile, kpcr)?,
        };
        Some(ProcInfo {
            pid: t.pid as u32,
            tid: t.tid as u32,
            ppid: Some(t.ppid as u32),
            comm: Some(t.image_name.into()),
        })
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
    use super::WindowsLayer;
    use vstrace_core::{Bitness, CallInfo, OsLayer};

    #[test]
    fn terminate_current_process_or_thread_never_returns() {
        let l = WindowsLayer::new("win10-22h2", None).unwrap();
        let info = |name: &str, abi, b| CallInfo::plain(abi, b, 0, name.to_string(), 2);
        let p64 = info("NtTerminateProcess", "nt64", Bitness::B64);
        assert!(l.never_returns(&p64, &[u64::MAX, 0]));
        assert!(!l.never_returns(&p64, &[0x1a4, 0]));
        assert!(!l.never_returns(&p64, &[0, 0]));
        let p32 = info("NtTerminateProcess", "nt32", Bitness::B32);
        assert!(l.never_returns(&p32, &[0xffff_ffff, 0]));
        let t64 = info("NtTerminateThread", "nt64", Bitness::B64);
        assert!(l.never_returns(&t64, &[u64::MAX - 1, 0]));
        assert!(l.never_returns(&t64, &[0, 0]));
        assert!(!l.never_returns(&t64, &[0x88, 0]));
        assert!(!l.never_returns(&info("NtClose", "nt64", Bitness::B64), &[u64::MAX]));
        assert!(!l.never_returns(&p64, &[]));
    }
}
