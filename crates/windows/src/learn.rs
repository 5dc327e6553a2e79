//! What the Windows layer learns from the guest itself, per bitness:
//! service names from its ntdll ([`crate::ntdll`]) and kernel offsets
//! from its kernel's accessors ([`crate::kernel_offsets`]), each tried at
//! the first enters until it works or a bound of attempts is spent, then
//! kept: ntdll is one image per boot (every process maps the same
//! KnownDlls section) and the kernel does not change under a trace.
//! Cross-checks against the j00ru tables and the built-in profiles, and
//! what was found, are one line each on stderr.

use vstrace_core::mem::{InSpace, VirtMem};
use vstrace_core::{Bitness, Event, Space};

use crate::kernel_offsets::{
    derive, kernel_image, kernel_image_from_entry, walk_processes, OffsetError,
};
use crate::kuser::read_kernel_version;
use crate::ntdll::{arch_of, disagreements, find_ntdll, find_win32u, service_names, ServiceNames};
use crate::profile::KernelProfile;
use crate::shadow::kernel_space_candidates;
use crate::versions::WindowsVersion;

/// Enters at which ntdll is looked for before giving up (a process may
/// trap before its loader lists exist).
const NAME_ATTEMPTS: u32 = 32;
/// win32k (table 1) calls at which win32u is looked for before giving up.
const SHADOW_ATTEMPTS: u32 = 32;
/// Enters at which the kernel's offsets are tried before giving up.
const KERNEL_ATTEMPTS: u32 = 8;

/// Progress of one kind of knowledge.
#[derive(Debug, Clone, Default)]
enum Progress<T> {
    /// Still trying; failed attempts so far.
    Trying(u32),
    /// Found.
    Known(T),
    /// Given up.
    #[default]
    GaveUp,
}

impl<T> Progress<T> {
    fn known(&self) -> Option<&T> {
        match self {
            Progress::Known(t) => Some(t),
            _ => None,
        }
    }
}

/// What was learnt about the guest for calls of one bitness.
#[derive(Debug, Clone)]
pub struct Learned {
    names: Progress<ServiceNames>,
    /// win32k (shadow table) numbers from the guest's win32u, looked
    /// for at win32k calls only (a process without a GUI has none).
    shadow_names: Progress<ServiceNames>,
    kernel: Progress<KernelProfile>,
    /// An address on the kernel's system call path (its return
    /// instruction, seen at an exit), while the kernel is not known.
    syscall_path: Option<u64>,
}

impl Default for Learned {
    fn default() -> Self {
        Learned {
            names: Progress::Trying(0),
            shadow_names: Progress::Trying(0),
            kernel: Progress::Trying(0),
            syscall_path: None,
        }
    }
}

/// What the layer knows when it observes an enter, for the cross-checks.
pub struct Context<'a> {
    /// The service tables in use (named or detected), if any yet.
    pub version: Option<&'static WindowsVersion>,
    /// The built-in profile of the guest's build, if any.
    pub builtin: Option<&'static KernelProfile>,
    /// Offsets from `--windows-profile`, if given.
    pub isf: Option<&'a KernelProfile>,
    /// The symbol table's RVA of PsInitialSystemProcess, if it has one.
    pub isf_system: Option<u64>,
    /// The KPCR's address for this bitness.
    pub kpcr: u64,
}

fn bit_name(b: Bitness) -> &'static str {
    match b {
        Bitness::B64 => "x64",
        Bitness::B32 => "x86",
    }
}

impl Learned {
    /// The `Nt*` name of service `nr` in the guest's ntdll, once read.
    pub fn name(&self, nr: u32) -> Option<&str> {
        let names = if nr >> 12 & 3 == 1 {
            &self.shadow_names
        } else {
            &self.names
        };
        names.known()?.by_number.get(&nr).map(String::as_str)
    }

    /// The guest's win32u service numbers (win32k table), once read.
    pub fn shadow_names(&self) -> Option<&ServiceNames> {
        self.shadow_names.known()
    }

    /// The guest's ntdll service numbers, once read.
    pub fn names(&self) -> Option<&ServiceNames> {
        self.names.known()
    }

    /// Offsets read from the guest kernel's code and checked on its
    /// process list, once found.
    pub fn kernel(&self) -> Option<&KernelProfile> {
        self.kernel.known()
    }

    /// At a return to user mode of `event`'s bitness: while the kernel is
    /// not known, where its return instruction (`sysretq` in
    /// KiSystemCall64, `sysexit`, `iret`) is: an address in ntoskrnl's
    /// code, as MSR_LSTAR's target is (no backend reads that MSR: QEMU's
    /// gdbstub and plugin API do not expose it).
    pub fn observe_exit(&mut self, event: &Event) {
        if self.syscall_path.is_none() && matches!(self.kernel, Progress::Trying(_)) {
            let rip = event.regs.rip();
            if rip != 0 {
                self.syscall_path = Some(rip);
            }
        }
    }

    /// At an enter of `event`'s bitness: one more attempt at what is not
    /// known yet.
    pub fn observe(&mut self, event: &Event, mem: &mut dyn VirtMem, cx: &Context<'_>) {
        let b = event.bitness;
        if let Progress::Trying(n) = self.names {
            let teb = match b {
                Bitness::B64 => event.regs.gs_base,
                Bitness::B32 => event.regs.fs_base,
            };
            let found = find_ntdll(mem, teb, b).and_then(|base| service_names(mem, base, b));
            self.names = match found {
                Ok(names) => {
                    report_names(b, &names, mem, cx, "ntdll");
                    Progress::Known(names)
                }
                Err(_) if n + 1 < NAME_ATTEMPTS => Progress::Trying(n + 1),
                Err(e) => {
                    // Said only when no table names the calls either.
                    if cx.version.is_none() {
                        eprintln!("vstrace: note: Windows {} guest: {e}", bit_name(b));
                    }
                    Progress::GaveUp
                }
            };
        }
        let win32k = (event.regs.rax() as u32) >> 12 & 3 == 1;
        if let (Progress::Trying(n), true) = (&self.shadow_names, win32k) {
            let n = *n;
            let teb = match b {
                Bitness::B64 => event.regs.gs_base,
                Bitness::B32 => event.regs.fs_base,
            };
            let found = find_win32u(mem, teb, b).and_then(|base| service_names(mem, base, b));
            self.shadow_names = match found {
                Ok(mut names) => {
                    // Only table-1 numbers are win32k's.
                    names.by_number.retain(|nr, _| nr >> 12 & 3 == 1);
                    report_names(b, &names, mem, cx, "win32u");
                    Progress::Known(names)
                }
                Err(_) if n + 1 < SHADOW_ATTEMPTS => Progress::Trying(n + 1),
                Err(e) => {
                    if cx.version.is_none() {
                        eprintln!("vstrace: note: Windows {} guest: win32u: {e}", bit_name(b));
                    }
                    Progress::GaveUp
                }
            };
        }
        if let Progress::Trying(n) = self.kernel {
            let isf = cx.isf.zip(cx.isf_system);
            let path = self.syscall_path;
            self.kernel = match offsets_from_kernel_any_space(event, mem, cx.kpcr, path, isf) {
                Ok(f) => {
                    report_offsets(b, &f, cx);
                    report_isf_check(b, f.isf_check);
                    Progress::Known(f.profile)
                }
                Err(_) if n + 1 < KERNEL_ATTEMPTS => Progress::Trying(n + 1),
                Err(e) => {
                    // Said only when no other offsets attribute calls.
                    if cx.builtin.is_none() && cx.isf.is_none() {
                        eprintln!("vstrace: note: Windows {} guest: {e}", bit_name(b));
                    }
                    Progress::GaveUp
                }
            };
        }
    }
}

/// Where the kernel image was found from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KernelRoute {
    /// The system call path (the kernel's return instruction).
    SyscallPath,
    /// The IDT's gates.
    Idt,
}

/// Most kernel spaces tried under KVA shadow.
const MAX_SPACES: usize = 4;

/// [`offsets_from_kernel`] in the trapping space, or, when that does not
/// map the KPCR's first page (KVA shadow), in the kernel spaces the KPCR
/// names; the profile then carries the KPCR offset of the kernel's root
/// for attribution's shadow search.
fn offsets_from_kernel_any_space(
    event: &Event,
    mem: &mut dyn VirtMem,
    kpcr: u64,
    path: Option<u64>,
    isf: Option<(&KernelProfile, u64)>,
) -> Result<Found, OffsetError> {
    let b = event.bitness;
    let err = match offsets_from_kernel(mem, kpcr, path, b, isf) {
        Err(e @ OffsetError::Mem(_)) => e,
        other => return other,
    };
    let Some(current) = Space::current(&event.regs) else {
        return Err(err);
    };
    for k in kernel_space_candidates(mem, kpcr, b, current, MAX_SPACES) {
        let mut ks = InSpace {
            mem: &mut *mem,
            space: k.space,
        };
        if let Ok(mut f) = offsets_from_kernel(&mut ks, kpcr, path, b, isf) {
            f.profile.kpcr_kernel_dtb = Some(k.kpcr_offset);
            return Ok(f);
        }
    }
    Err(err)
}

/// What the kernel's code gave.
struct Found {
    /// The offsets, checked.
    profile: KernelProfile,
    /// The kernel image's base.
    base: u64,
    /// How the image was found.
    route: KernelRoute,
    /// Processes on the list.
    processes: usize,
    /// The symbol table's offsets on the list from its own
    /// PsInitialSystemProcess, when it has that symbol.
    isf_check: Option<Result<usize, OffsetError>>,
}

/// Offsets from the kernel image found from the system call path `path`
/// (when seen), else from `kpcr`'s IDT, checked on its process list,
/// and `isf` (a symbol table's offsets and PsInitialSystemProcess RVA)
/// checked there too.
fn offsets_from_kernel(
    mem: &mut dyn VirtMem,
    kpcr: u64,
    path: Option<u64>,
    b: Bitness,
    isf: Option<(&KernelProfile, u64)>,
) -> Result<Found, OffsetError> {
    let by_path = path.map(|a| kernel_image_from_entry(mem, a));
    let (img, route) = match by_path {
        Some(Ok(img)) => (img, KernelRoute::SyscallPath),
        _ if kpcr == 0 => {
            return Err(by_path
                .and_then(Result::err)
                .unwrap_or(OffsetError::NoImage(0)))
        }
        _ => (kernel_image(mem, kpcr, b)?, KernelRoute::Idt),
    };
    let d = derive(mem, &img, b)?;
    let image = img.base..img.base.saturating_add(u64::from(img.size_of_image));
    let procs = walk_processes(mem, &d.profile, d.initial_system_process, image.clone())?;
    let isf_check = isf
        .map(|(p, rva)| walk_processes(mem, p, img.base.wrapping_add(rva), image).map(|v| v.len()));
    Ok(Found {
        profile: d.profile,
        base: img.base,
        route,
        processes: procs.len(),
        isf_check,
    })
}

fn report_isf_check(b: Bitness, check: Option<Result<usize, OffsetError>>) {
    match check {
        None => {}
        Some(Ok(n)) => eprintln!(
            "vstrace: Windows {} guest: the --windows-profile offsets checked on {n} processes from its PsInitialSystemProcess",
            bit_name(b)
        ),
        Some(Err(e)) => eprintln!(
            "vstrace: warning: the --windows-profile offsets and its PsInitialSystemProcess: {e}"
        ),
    }
}

/// Whether `v`'s table is the guest's own build (not the nearest one).
fn exact_build(v: &WindowsVersion, mem: &mut dyn VirtMem) -> bool {
    read_kernel_version(mem)
        .is_ok_and(|k| k.build == v.build || (k.build == 0 && v.nt_version == (k.major, k.minor)))
}

/// One line on the service numbers read from `dll` (`ntdll`, `win32u`),
/// with the cross-check against the j00ru table of the guest's build.
fn report_names(
    b: Bitness,
    names: &ServiceNames,
    mem: &mut dyn VirtMem,
    cx: &Context<'_>,
    dll: &str,
) {
    let kind = if dll == "win32u" { "win32k " } else { "" };
    let what = format!(
        "{} {kind}service numbers from its {dll} at {:#x} (timestamp {:#x})",
        names.by_number.len(),
        names.base,
        names.timestamp
    );
    let table = cx
        .version
        .filter(|v| v.arch == arch_of(b) && exact_build(v, mem));
    let Some(v) = table else {
        eprintln!("vstrace: Windows {} guest: {what}", bit_name(b));
        return;
    };
    let (d, both) = disagreements(names, v);
    match d.first() {
        None => eprintln!(
            "vstrace: Windows {} guest: {what}, agreeing with the j00ru table of {} on all {both}",
            bit_name(b),
            v.describe()
        ),
        Some(first) => eprintln!(
            "vstrace: warning: the guest's {dll} disagrees with the j00ru table of {} on {} of {both} services ({}: {dll} {:#x}, table {:#x}); the guest's numbers win",
            v.describe(),
            d.len(),
            first.name,
            first.guest,
            first.table
        ),
    }
}

/// The attribution offsets of `p` as text, for messages.
pub fn describe_offsets(p: &KernelProfile) -> String {
    format!(
        "KPCR thread {:#x}, KTHREAD process {:#x}, Cid {:#x}, pid {:#x}, ppid {:#x}, image {:#x}",
        p.kpcr_current_thread,
        p.kthread_process,
        p.ethread_cid,
        p.eprocess_unique_process_id,
        p.eprocess_inherited_from_unique_process_id,
        p.eprocess_image_file_name
    )
}

/// Whether two profiles agree on every offset attribution reads.
pub fn same_offsets(a: &KernelProfile, b: &KernelProfile) -> bool {
    (
        a.kpcr_current_thread,
        a.kthread_process,
        a.ethread_cid,
        a.eprocess_unique_process_id,
        a.eprocess_inherited_from_unique_process_id,
        a.eprocess_image_file_name,
    ) == (
        b.kpcr_current_thread,
        b.kthread_process,
        b.ethread_cid,
        b.eprocess_unique_process_id,
        b.eprocess_inherited_from_unique_process_id,
        b.eprocess_image_file_name,
    )
}

fn report_offsets(b: Bitness, f: &Found, cx: &Context<'_>) {
    let p = &f.profile;
    let route = match f.route {
        KernelRoute::SyscallPath => " (found from the system call path)",
        KernelRoute::Idt => "",
    };
    eprintln!(
        "vstrace: Windows {} guest: kernel image at {:#x}{route}; offsets from its accessors ({}), checked on {} processes from PsInitialSystemProcess",
        bit_name(b),
        f.base,
        describe_offsets(p),
        f.processes
    );
    if let Some(builtin) = cx.builtin.filter(|q| !same_offsets(p, q)) {
        eprintln!(
            "vstrace: warning: the built-in offsets of {} ({}) differ from the kernel's own; using the kernel's",
            builtin.name,
            describe_offsets(builtin)
        );
    }
    if let Some(isf) = cx.isf.filter(|q| !same_offsets(p, q)) {
        eprintln!(
            "vstrace: warning: the --windows-profile offsets ({}) differ from the kernel's own; using the profile's",
            describe_offsets(isf)
        );
    }
}
