//! Linux kernel profiles built from the guest's own kernel image: who made
//! a system call (pid, tid, parent, command name) without any profile file
//! from the user.
//!
//! [`LinuxProfile::from_vmlinux`] reads the vmlinux ELF: structure layouts
//! come from its `.BTF` section ([`btf`]), the addresses of `init_task` and
//! the per-cpu `current_task` from its exported-symbol tables
//! ([`ksymtab`]). The profile is plain data (serde) so it can be handed to
//! the QEMU plugin in its JSON configuration. [`runtime`] then reads the
//! current task from guest memory at each trap.
//!
//! Kernels built without BTF (Debian's i386 kernels) get a task layout
//! inferred from `init_task`'s static initialiser instead ([`infer`]);
//! [`LinuxProfile::layout_source`] says which. 32-bit kernels have 4-byte
//! pointers and per-cpu symbols at their link addresses inside
//! `.data..percpu`, reached through `__per_cpu_offset[cpu]`
//! ([`PerCpuMode::Linked`]).
//!
//! All addresses in a profile are link-time addresses: with KASLR the
//! kernel's runtime addresses are shifted by a slide that
//! [`runtime::kaslr_slide`] recovers from guest memory. Per-cpu offsets are
//! not slid (they are relative to the per-cpu area).

pub mod btf;
pub mod dwarf;
pub mod infer;
pub mod isf;
pub mod ksymtab;
pub mod layouts;
pub mod runtime;
pub mod scan;
pub mod sysmap;

use serde::{Deserialize, Serialize};

use btf::{Btf, BtfError};
use ksymtab::{Ksymtab, KsymtabError};
use object::{Object, ObjectSection};

pub use runtime::{
    current_process, current_task, kaslr_slide, percpu_base, read_task, ProcError, ProcInfo,
    MAX_PARENTS,
};

/// Format version of [`LinuxProfile`], bumped on incompatible changes.
pub const PROFILE_VERSION: u32 = 1;

/// Errors building a profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// The kernel image could not be parsed as ELF (the parser's message).
    #[error("not a readable ELF file: {0}")]
    Elf(String),
    /// The image has no `.BTF` section, and the profile needs one.
    #[error("the kernel image has no .BTF section (CONFIG_DEBUG_INFO_BTF off?)")]
    NoBtf,
    /// Without BTF, the `task_struct` offsets could not be inferred from `init_task`.
    #[error("no BTF, and inferring the task layout failed: {0}")]
    Infer(#[from] infer::InferError),
    /// The BTF section is malformed or lacks a struct or member the profile needs.
    #[error("BTF: {0}")]
    Btf(#[from] BtfError),
    /// The exported-symbol tables could not be read.
    #[error("exported symbols: {0}")]
    Ksymtab(#[from] KsymtabError),
    /// A symbol the profile needs (e.g. `init_task`) is not exported.
    #[error("symbol {0} not found in the kernel's exported symbols")]
    MissingSymbol(&'static str),
    /// A `--linux-profile` symbol table could not be read or lacks what
    /// the profile needs (the message names the file and the member).
    #[error("--linux-profile {0}")]
    Isf(String),
    /// A symbol was found but its value fails a sanity check.
    #[error("symbol {name} at {addr:#x} is not where expected: {why}")]
    BadSymbol {
        /// The symbol's name.
        name: &'static str,
        /// Its value (a kernel virtual address).
        addr: u64,
        /// The check that failed.
        why: &'static str,
    },
}

/// A per-cpu variable: its offset from a CPU's per-cpu base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerCpuSym {
    /// How it was found: `"current_task"` (< 6.2 and >= 6.15) or
    /// `"pcpu_hot.current_task"` (6.2 .. 6.14).
    pub name: String,
    /// Offset from the per-cpu base (the kernel's GS base on x86_64).
    pub offset: u64,
}

/// How per-cpu variables are addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PerCpuMode {
    /// x86_64: per-cpu symbols are offsets from the per-cpu base, which is
    /// the kernel's GS base (an absolute address).
    #[default]
    GsOffset,
    /// i386: per-cpu symbols are link addresses in `.data..percpu`; a
    /// CPU's copy is at `symbol + slide + __per_cpu_offset[cpu]` (what the
    /// kernel's FS segment base holds).
    Linked,
}

fn default_psize() -> u64 {
    8
}
/// The lowest x86_64 kernel address: the start of the upper half with
/// 5-level paging (with 4 levels, addresses below 0xffff_8000_0000_0000
/// there are not canonical, and reading them fails anyway).
pub(crate) fn default_kernel_min() -> u64 {
    0xff00_0000_0000_0000
}
fn default_source() -> String {
    "btf".into()
}

/// Byte offsets in `struct task_struct`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskLayout {
    /// `sizeof(struct task_struct)`.
    pub size: u64,
    /// `pid_t pid`: the thread id.
    pub pid: u64,
    /// `pid_t tgid`: the process id.
    pub tgid: u64,
    /// `char comm[TASK_COMM_LEN]`.
    pub comm: u64,
    /// Length of `comm` (16).
    pub comm_len: u64,
    /// `struct task_struct *real_parent`.
    pub real_parent: u64,
    /// `struct task_struct *parent` (the ptracer when traced).
    pub parent: Option<u64>,
    /// `struct task_struct *group_leader`.
    pub group_leader: Option<u64>,
    /// `struct mm_struct *mm` (NULL for kernel threads).
    pub mm: Option<u64>,
    /// `unsigned int flags` (PF_*).
    pub flags: Option<u64>,
    /// `struct list_head tasks`.
    pub tasks: Option<u64>,
    /// `u64 stime`: the system CPU time the task has used, in
    /// nanoseconds, as the kernel accounts it (`-c`'s time column).
    #[serde(default)]
    pub stime: Option<u64>,
}

/// Everything process attribution needs about one kernel build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinuxProfile {
    /// [`PROFILE_VERSION`] of the writer.
    pub version: u32,
    /// `"Linux version ..."` from the image, for humans and sanity checks.
    pub banner: Option<String>,
    /// The per-cpu pointer to the running task.
    pub current_task: PerCpuSym,
    /// Link address of `init_task` (pid 0, `swapper/0`).
    pub init_task: u64,
    /// Link address of the `__per_cpu_offset` array, when exported.
    pub per_cpu_offset: Option<u64>,
    /// Link address of `.text` (`_text`), for reference.
    pub text_base: Option<u64>,
    /// `struct task_struct` layout.
    pub task: TaskLayout,
    /// `offsetof(struct mm_struct, pgd)`, when known.
    pub mm_pgd: Option<u64>,
    /// Size of a kernel pointer: 8 (x86_64) or 4 (i386).
    #[serde(default = "default_psize")]
    pub pointer_size: u64,
    /// Lowest kernel address (task_structs, per-cpu areas are above it):
    /// the x86_64 upper half, or i386's `PAGE_OFFSET` rounded down.
    #[serde(default = "default_kernel_min")]
    pub kernel_min: u64,
    /// How per-cpu variables are addressed.
    #[serde(default)]
    pub percpu_mode: PerCpuMode,
    /// Where the task layout came from: `"btf"`, or `"init_task"`
    /// (inferred, see [`infer`]).
    #[serde(default = "default_source")]
    pub layout_source: String,
    /// The file table's layout (`-y` fd paths), when BTF has it.
    #[serde(default)]
    pub files: Option<layouts::FilesLayout>,
    /// The memory map's layout (caller module, stacks), when BTF has it.
    #[serde(default)]
    pub mm: Option<layouts::MmLayout>,
    /// The pid structures' layout (`--decode-pids=pidns`), when BTF has
    /// it.
    #[serde(default)]
    pub pids: Option<layouts::PidsLayout>,
    /// Where a kernel probe reads the siginfo of a signal being delivered
    /// (see [`sysmap`]), when the kernel's `System.map` was given.
    #[serde(default)]
    pub signal_probe: Option<sysmap::SignalProbe>,
}

impl LinuxProfile {
    /// Builds a profile from a vmlinux ELF (e.g. the output of
    /// `vstrace_launch::kernel::extract_vmlinux`).
    pub fn from_vmlinux(elf: &[u8]) -> Result<LinuxProfile, ProfileError> {
        let file = object::File::parse(elf).map_err(|e| ProfileError::Elf(e.to_string()))?;
        let syms = Ksymtab::from_elf(elf)?;
        let text_base = file.section_by_name(".text").map(|s| s.address());
        let mut prof = match file.section_by_name(".BTF").and_then(|s| s.data().ok()) {
            Some(btf_data) => {
                let btf = Btf::parse(btf_data)?;
                LinuxProfile::from_parts(&btf, &syms)?
            }
            None if !file.is_64() => {
                let init = syms
                    .get("init_task")
                    .ok_or(ProfileError::MissingSymbol("init_task"))?;
                let bytes =
                    image_bytes(&file, init, infer::SCAN_LEN).ok_or(ProfileError::BadSymbol {
                        name: "init_task",
                        addr: init,
                        why: "not inside a section with data",
                    })?;
                let sp = syms.get("__stack_chk_fail").is_some();
                let task = infer::task_layout(bytes, init, 4, sp)?;
                let kmin = text_base.unwrap_or(0xc000_0000) & 0xf000_0000;
                LinuxProfile::from_symbols_32(&syms, task, kmin)?
            }
            None => return Err(ProfileError::NoBtf),
        };
        prof.banner = ksymtab::banner(elf);
        prof.text_base = text_base;
        Ok(prof)
    }

    /// A 32-bit profile from the exported symbols and an (inferred) task
    /// layout. `kernel_min` bounds kernel addresses from below.
    pub fn from_symbols_32(
        syms: &Ksymtab,
        task: TaskLayout,
        kernel_min: u64,
    ) -> Result<LinuxProfile, ProfileError> {
        let sym = |name: &'static str| syms.get(name).ok_or(ProfileError::MissingSymbol(name));
        let init_task = sym("init_task")?;
        let current = sym("current_task")?;
        let per_cpu_offset = sym("__per_cpu_offset")?;
        for (name, addr) in [
            ("init_task", init_task),
            ("current_task", current),
            ("__per_cpu_offset", per_cpu_offset),
        ] {
            if addr < kernel_min || addr > u64::from(u32::MAX) {
                return Err(ProfileError::BadSymbol {
                    name,
                    addr,
                    why: "not a 32-bit kernel address",
                });
            }
        }
        if syms.percpu.is_some() && !syms.is_percpu(current) {
            return Err(ProfileError::BadSymbol {
                name: "current_task",
                addr: current,
                why: "not inside the per-cpu section",
            });
        }
        Ok(LinuxProfile {
            version: PROFILE_VERSION,
            banner: None,
            current_task: PerCpuSym {
                name: "current_task".into(),
                offset: current,
            },
            init_task,
            per_cpu_offset: Some(per_cpu_offset),
            text_base: None,
            task,
            mm_pgd: None,
            pointer_size: 4,
            kernel_min,
            percpu_mode: PerCpuMode::Linked,
            layout_source: "init_task".into(),
            files: None,
            mm: None,
            pids: None,
            signal_probe: None,
        })
    }

    /// Builds a profile from already parsed BTF and symbols.
    pub fn from_parts(btf: &Btf, syms: &Ksymtab) -> Result<LinuxProfile, ProfileError> {
        let init_task = init_task_64(syms)?;
        let current_task = current_task_sym(btf, syms)?;
        let off = |path: &str| btf.member_offset("task_struct", path);
        let opt = |path: &str| off(path).ok();
        let ts = btf
            .find_struct("task_struct")
            .ok_or_else(|| BtfError::NoStruct("task_struct".into()))?;
        let comm_ty = btf.member(ts, "comm")?.type_id;
        let task = TaskLayout {
            size: btf.size_of(ts)?,
            pid: off("pid")?,
            tgid: off("tgid")?,
            comm: off("comm")?,
            comm_len: btf.size_of(comm_ty)?,
            real_parent: off("real_parent")?,
            parent: opt("parent"),
            group_leader: opt("group_leader"),
            mm: opt("mm"),
            flags: opt("flags"),
            tasks: opt("tasks"),
            stime: opt("stime"),
        };
        Ok(LinuxProfile {
            version: PROFILE_VERSION,
            banner: None,
            current_task,
            init_task,
            per_cpu_offset: syms.get("__per_cpu_offset"),
            text_base: None,
            task,
            mm_pgd: btf.member_offset("mm_struct", "pgd").ok(),
            pointer_size: 8,
            kernel_min: default_kernel_min(),
            percpu_mode: PerCpuMode::GsOffset,
            layout_source: default_source(),
            files: layouts::FilesLayout::from_btf(btf).ok(),
            mm: layouts::MmLayout::from_btf(btf).ok(),
            pids: layouts::PidsLayout::from_btf(btf).ok(),
            signal_probe: None,
        })
    }

    /// The profile as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A profile from JSON.
    pub fn from_json(s: &str) -> Result<LinuxProfile, serde_json::Error> {
        serde_json::from_str(s)
    }
}

/// The `.BTF` of a vmlinux image, when it has a readable one.
pub fn image_btf(elf: &[u8]) -> Option<Btf> {
    let file = object::File::parse(elf).ok()?;
    let data = file.section_by_name(".BTF")?.data().ok()?;
    Btf::parse(data).ok()
}

/// The GNU build id of an ELF file (hex), which a kernel image and its
/// debug-info vmlinux share: what names a cached profile table.
pub fn build_id(elf: &[u8]) -> Option<String> {
    let file = object::File::parse(elf).ok()?;
    let id = file.build_id().ok()??;
    Some(id.iter().map(|b| format!("{b:02x}")).collect())
}

/// The link address of `init_task`, which on x86_64 is in the kernel half.
pub(crate) fn init_task_64(syms: &Ksymtab) -> Result<u64, ProfileError> {
    let init_task = syms
        .get("init_task")
        .ok_or(ProfileError::MissingSymbol("init_task"))?;
    if init_task >> 63 == 0 {
        return Err(ProfileError::BadSymbol {
            name: "init_task",
            addr: init_task,
            why: "not a kernel-half address",
        });
    }
    Ok(init_task)
}

/// Up to `len` bytes of the image at link address `addr` (fewer at the end
/// of the section holding it).
fn image_bytes<'a>(file: &object::File<'a>, addr: u64, len: usize) -> Option<&'a [u8]> {
    let s = file.sections().find(|s| {
        s.size() > 0 && (s.address()..s.address().saturating_add(s.size())).contains(&addr)
    })?;
    let data = s.data().ok()?;
    let off = usize::try_from(addr - s.address()).ok()?;
    let rest = data.get(off..)?;
    Some(&rest[..rest.len().min(len)])
}

/// `current_task` (exported per-cpu symbol before 6.2 and again from 6.15)
/// or `pcpu_hot` + `offsetof(struct pcpu_hot, current_task)` (6.2 .. 6.14).
fn current_task_sym(btf: &Btf, syms: &Ksymtab) -> Result<PerCpuSym, ProfileError> {
    let mut btf_err = None;
    let r = current_task_with(syms, |s, p| match btf.member_offset(s, p) {
        Ok(o) => Some(o),
        Err(e) => {
            btf_err = Some(e);
            None
        }
    });
    match (r, btf_err) {
        (Err(ProfileError::MissingSymbol(_)), Some(e)) => Err(e.into()),
        (r, _) => r,
    }
}

/// [`current_task_sym`] with member offsets from any source.
pub(crate) fn current_task_with(
    syms: &Ksymtab,
    mut member: impl FnMut(&str, &str) -> Option<u64>,
) -> Result<PerCpuSym, ProfileError> {
    let check = |name: &'static str, addr: u64| {
        // Without a .data..percpu section (synthetic tables) accept small
        // offsets only: the per-cpu area is well under 16 MiB.
        let ok = match syms.percpu {
            Some(_) => syms.is_percpu(addr),
            None => addr < 1 << 24,
        };
        if ok {
            Ok(addr)
        } else {
            Err(ProfileError::BadSymbol {
                name,
                addr,
                why: "not inside the per-cpu section",
            })
        }
    };
    if let Some(a) = syms.get("current_task") {
        return Ok(PerCpuSym {
            name: "current_task".into(),
            offset: check("current_task", a)?,
        });
    }
    // 6.x kernels keep it in `pcpu_hot`, exported as such or (6.12 on)
    // only as its alias `const_pcpu_hot`, the same per-cpu address.
    let hot = [
        ("pcpu_hot", syms.get("pcpu_hot")),
        ("const_pcpu_hot", syms.get("const_pcpu_hot")),
    ]
    .into_iter()
    .find_map(|(n, a)| Some((n, a?)));
    if let Some((name, a)) = hot {
        let base = check(name, a)?;
        let m = member("pcpu_hot", "current_task")
            .ok_or(ProfileError::MissingSymbol("pcpu_hot.current_task"))?;
        return Ok(PerCpuSym {
            name: "pcpu_hot.current_task".into(),
            offset: base.checked_add(m).ok_or(ProfileError::BadSymbol {
                name,
                addr: base,
                why: "pcpu_hot.current_task overflows",
            })?,
        });
    }
    Err(ProfileError::MissingSymbol("current_task"))
}

/// A vmlinux of ELF class `class` (2: 64-bit, 1: 32-bit) to test
/// against: `$env` if set, else extracted (once, cached) from the kernel
/// scripts/setup-host.sh put in the cache (`vmlinuz`, `vmlinuz-i386`).
#[cfg(test)]
fn cached_vmlinux(class: u8, env: &str) -> Option<Vec<u8>> {
    let path = match std::env::var_os(env) {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let image = vstrace_launch::cache::cache_dir().join(if class == 1 {
                "vmlinuz-i386"
            } else {
                "vmlinuz"
            });
            vstrace_launch::extract_vmlinux_cached(&image).ok()?
        }
    };
    std::fs::read(path)
        .ok()
        .filter(|d| d.starts_with(b"\x7fELF") && d.get(4) == Some(&class))
}

/// The x86_64 Debian vmlinux (`$VSTRACE_VMLINUX` or the cache).
#[cfg(test)]
pub(crate) fn test_vmlinux() -> Option<Vec<u8>> {
    cached_vmlinux(2, "VSTRACE_VMLINUX")
}

/// The i386 Debian vmlinux (`$VSTRACE_VMLINUX32` or the cache, once
/// `vmlinuz-i386` has been extracted there).
#[cfg(test)]
pub(crate) fn test_vmlinux32() -> Option<Vec<u8>> {
    cached_vmlinux(1, "VSTRACE_VMLINUX32")
}

#[cfg(test)]
mod tests {
    use super::*;
    use btf::tests::sample;

    #[test]
    fn from_parts_on_synthetic_btf() {
        let (b, _) = sample();
        let btf = Btf::parse(&b.blob()).unwrap();
        let mut syms = Ksymtab::default();
        assert_eq!(
            LinuxProfile::from_parts(&btf, &syms),
            Err(ProfileError::MissingSymbol("init_task"))
        );
        syms.insert("init_task", 0x1234);
        assert!(matches!(
            LinuxProfile::from_parts(&btf, &syms),
            Err(ProfileError::BadSymbol { .. })
        ));
        syms.insert("init_task", 0xffff_ffff_8200_0000);
        assert_eq!(
            LinuxProfile::from_parts(&btf, &syms),
            Err(ProfileError::MissingSymbol("current_task"))
        );
        syms.insert("current_task", 0xffff_ffff_8100_0000);
        assert!(matches!(
            LinuxProfile::from_parts(&btf, &syms),
            Err(ProfileError::BadSymbol {
                name: "current_task",
                ..
            })
        ));
        syms.insert("current_task", 0x1fbc0);
        let p = LinuxProfile::from_parts(&btf, &syms).unwrap();
        assert_eq!(p.current_task.offset, 0x1fbc0);
        assert_eq!(
            (p.task.pid, p.task.tgid, p.task.real_parent, p.task.comm),
            (12, 16, 24, 32)
        );
        assert_eq!(p.task.comm_len, 16);
        assert_eq!(p.task.flags, Some(0));
        assert_eq!(p.task.mm, None);
        let back = LinuxProfile::from_json(&p.to_json()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn pcpu_hot_is_used_on_newer_kernels() {
        let (mut b, _) = sample();
        let (ptr, int) = (7, 1);
        b.composite(
            false,
            "pcpu_hot",
            64,
            &[("cpu_number", int, 0, 0), ("current_task", ptr, 64, 0)],
        );
        let btf = Btf::parse(&b.blob()).unwrap();
        let mut syms = Ksymtab::default();
        syms.insert("init_task", 0xffff_ffff_8200_0000);
        syms.insert("pcpu_hot", 0x32000);
        let p = LinuxProfile::from_parts(&btf, &syms).unwrap();
        assert_eq!(p.current_task.offset, 0x32008);
        assert_eq!(p.current_task.name, "pcpu_hot.current_task");
    }

    #[test]
    fn hostile_elf_input_is_an_error() {
        assert!(matches!(
            LinuxProfile::from_vmlinux(b""),
            Err(ProfileError::Elf(_))
        ));
        assert!(LinuxProfile::from_vmlinux(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]).is_err());
    }

    #[test]
    fn inferred_layout_matches_btf_on_the_x86_64_kernel() {
        let Some(elf) = test_vmlinux() else {
            eprintln!("SKIP: no x86_64 vmlinux");
            return;
        };
        let p = LinuxProfile::from_vmlinux(&elf).unwrap();
        let file = object::File::parse(&*elf).unwrap();
        let syms = Ksymtab::from_elf(&elf).unwrap();
        let bytes = image_bytes(&file, p.init_task, infer::SCAN_LEN).unwrap();
        let sp = syms.get("__stack_chk_fail").is_some();
        let l = infer::task_layout(bytes, p.init_task, 8, sp).unwrap();
        let t = &p.task;
        assert_eq!(
            (
                l.pid,
                l.tgid,
                l.real_parent,
                l.parent,
                l.group_leader,
                l.comm,
                l.flags
            ),
            (
                t.pid,
                t.tgid,
                t.real_parent,
                t.parent,
                t.group_leader,
                t.comm,
                t.flags
            )
        );
    }

    #[test]
    fn real_debian_i386_kernel_profile() {
        let Some(elf) = test_vmlinux32() else {
            eprintln!("SKIP: no i386 vmlinux (run vstrace run --arch i386 once, or set VSTRACE_VMLINUX32)");
            return;
        };
        let file = object::File::parse(&*elf).unwrap();
        assert!(!file.is_64());
        assert!(
            file.section_by_name(".BTF").is_none(),
            "686 kernels have no BTF"
        );
        let syms = Ksymtab::from_elf(&elf).unwrap();
        assert_eq!(syms.layout, Some(ksymtab::Layout::Prel32));
        assert!(syms.len() > 10_000, "only {} symbols", syms.len());
        let p = LinuxProfile::from_vmlinux(&elf).unwrap();
        eprintln!("{}", serde_json::to_string_pretty(&p).unwrap());
        assert_eq!(p.layout_source, "init_task");
        assert_eq!((p.pointer_size, p.percpu_mode), (4, PerCpuMode::Linked));
        assert_eq!(p.kernel_min, 0xc000_0000);
        assert!(p.init_task > 0xc100_0000 && p.init_task < 0xffff_ffff);
        assert!(syms.is_percpu(p.current_task.offset));
        let t = &p.task;
        assert_eq!(t.tgid, t.pid + 4);
        assert_eq!(t.parent, Some(t.real_parent + 4));
        assert!(t.comm > t.real_parent && t.flags.is_some());
        let at = |addr: u64, len: usize| image_bytes(&file, addr, len).unwrap().to_vec();
        let u32_at = |addr: u64| u32::from_le_bytes(at(addr, 4).try_into().unwrap()) as u64;
        assert_eq!(&at(p.init_task + t.comm, 8), b"swapper\0");
        assert_eq!(u32_at(p.init_task + t.real_parent), p.init_task);
        // The static (boot CPU) copy of current_task is &init_task.
        assert_eq!(u32_at(p.current_task.offset), p.init_task);
        assert!(LinuxProfile::from_json(&p.to_json()).unwrap() == p);
    }

    #[test]
    fn real_debian_kernel_profile() {
        let Some(elf) = test_vmlinux() else {
            eprintln!("SKIP: no vmlinux (set VSTRACE_VMLINUX or run the qemu kernel extraction)");
            return;
        };
        let syms = Ksymtab::from_elf(&elf).unwrap();
        assert_eq!(syms.layout, Some(ksymtab::Layout::Prel32));
        assert!(syms.len() > 10_000, "only {} symbols", syms.len());
        // Well-known exports land in .text.
        let file = object::File::parse(&*elf).unwrap();
        let text = file.section_by_name(".text").unwrap();
        let in_text = |a: u64| (text.address()..text.address() + text.size()).contains(&a);
        for f in [
            "printk",
            "_printk",
            "kmalloc_trace",
            "__kmalloc",
            "schedule",
        ] {
            if let Some(a) = syms.get(f) {
                assert!(in_text(a), "{f} at {a:#x}");
            }
        }
        assert!(syms.get("schedule").is_some());

        let p = LinuxProfile::from_vmlinux(&elf).unwrap();
        eprintln!("{}", serde_json::to_string_pretty(&p).unwrap());
        let t = &p.task;
        assert_eq!(t.tgid, t.pid + 4, "pid_t pid; pid_t tgid; adjacent");
        assert_eq!(t.comm_len, 16);
        assert!(
            t.comm > t.tgid && t.comm + 16 <= t.size,
            "comm at {:#x}",
            t.comm
        );
        assert!(t.real_parent > t.tgid && t.real_parent < t.comm);
        assert_eq!(t.real_parent % 8, 0);
        assert_eq!(t.parent, Some(t.real_parent + 8));
        assert!(
            t.size > 0x1000 && t.size < 0x4000,
            "task_struct size {:#x}",
            t.size
        );
        assert!(t.mm.is_some() && t.flags.is_some() && p.mm_pgd.is_some());
        assert!(p.init_task >= 0xffff_ffff_8000_0000);
        assert!(syms.is_percpu(p.current_task.offset));
        assert!(p.per_cpu_offset.is_some_and(|a| a >= 0xffff_ffff_8000_0000));
        assert!(p
            .banner
            .as_deref()
            .is_some_and(|b| b.starts_with("Linux version ")));

        // Cross-check symbols and offsets against the image's static data:
        // init_task is { .pid = 0, .comm = "swapper", .real_parent =
        // &init_task }, and the boot CPU's current_task starts as &init_task.
        let at = |addr: u64, len: usize| -> Vec<u8> {
            let s = file
                .sections()
                .find(|s| s.size() > 0 && (s.address()..s.address() + s.size()).contains(&addr))
                .unwrap_or_else(|| panic!("no section holds {addr:#x}"));
            let off = (addr - s.address()) as usize;
            s.data().unwrap()[off..off + len].to_vec()
        };
        let u64_at = |addr: u64| u64::from_le_bytes(at(addr, 8).try_into().unwrap());
        assert_eq!(&at(p.init_task + t.comm, 8), b"swapper\0");
        assert_eq!(at(p.init_task + t.pid, 8), [0; 8], "pid and tgid 0");
        assert_eq!(u64_at(p.init_task + t.real_parent), p.init_task);
        assert_eq!(u64_at(p.init_task + t.parent.unwrap()), p.init_task);
        assert_eq!(u64_at(p.init_task + t.group_leader.unwrap()), p.init_task);
        assert_eq!(u64_at(p.current_task.offset), p.init_task);
    }
}
