//! Reading the current process from guest memory with a [`LinuxProfile`].
//!
//! On x86_64 the kernel keeps `current_task` (or `pcpu_hot.current_task`)
//! in its per-cpu area, whose base is the kernel's GS base. Which MSR holds
//! it depends on where the CPU is relative to `swapgs`:
//!
//! - at a system-call trap from user mode (the `syscall`/`int 0x80`/
//!   `sysenter` instruction, before the kernel's entry `swapgs`), and at the
//!   exits (`sysret`/`iret` back to user mode, after the exit `swapgs`), GS
//!   base is the user's and **MSR_KERNEL_GS_BASE** ([`Regs::k_gs_base`])
//!   holds the kernel's per-cpu base;
//! - inside the kernel (between the two `swapgs`), GS base itself is the
//!   per-cpu base.
//!
//! [`percpu_base`] picks the right one from a register snapshot.
//!
//! On i386 ([`PerCpuMode::Linked`]) the kernel's per-cpu base is its FS
//! segment base, which at the traps still holds the user's FS (the entry
//! code loads `__KERNEL_PERCPU` after the trap, the exit code restores the
//! user's before `sysexit`/`iret`). So the base is read from the kernel's
//! own `__per_cpu_offset[cpu]` ([`percpu_base_linked`]), which needs the
//! KASLR slide first: [`find_slide_32`] probes for `init_task` (the task
//! named `swapper` that is its own parent) at each 2 MiB step. All reads
//! are bounded: `comm` is 16 bytes, parent walks stop after
//! [`MAX_PARENTS`] steps.

use vstrace_core::read::{read_u32, read_u64};
use vstrace_core::{MemError, Regs, VirtMem};

use super::{LinuxProfile, PerCpuMode};

/// Longest `real_parent` chain followed (deeper process trees are not
/// expected; a loop in hostile memory ends here).
pub const MAX_PARENTS: usize = 64;
/// `PF_KTHREAD` in `task_struct.flags`.
const PF_KTHREAD: u32 = 0x0020_0000;
/// KASLR moves the kernel by whole pages at least.
const SLIDE_ALIGN: u64 = 0x1000;
/// Step of the i386 slide probe: x86 KASLR granularity is
/// `CONFIG_PHYSICAL_ALIGN`, 2 MiB or a multiple (Debian i386: 16 MiB).
pub const SLIDE_STEP_32: u64 = 0x20_0000;
/// Most probes on each side of the link address (512 MiB either way,
/// i386's `KERNEL_IMAGE_SIZE`).
pub const SLIDE_PROBES_32: u64 = 256;
/// Most CPUs indexed in `__per_cpu_offset` (i386 `NR_CPUS` is at most 512).
pub const MAX_CPUS_32: u32 = 512;

/// Errors reading the current process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcError {
    /// Guest memory on the way to the task could not be read.
    #[error(transparent)]
    Mem(#[from] MemError),
    /// The per-cpu base (GS base or `__per_cpu_offset[cpu]`) is not a kernel address.
    #[error("per-cpu base {0:#x} is not a kernel address")]
    BadPerCpuBase(u64),
    /// A task pointer (`current_task`, a parent or group-leader link) is not a kernel address.
    #[error("task pointer {0:#x} is not a kernel address")]
    BadTask(u64),
    /// The cpu index is past the end of `__per_cpu_offset`.
    #[error("cpu {0} is beyond __per_cpu_offset")]
    BadCpu(u32),
    /// The per-cpu base must come from `__per_cpu_offset`, and the profile did not find that symbol.
    #[error("the profile has no __per_cpu_offset")]
    NoPerCpuOffset,
}

/// The process (thread) that was running.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcInfo {
    /// Address of its `task_struct`.
    pub task: u64,
    /// Process id (`task->tgid`).
    pub pid: i32,
    /// Thread id (`task->pid`).
    pub tid: i32,
    /// Parent's process id (`task->real_parent->tgid`).
    pub ppid: i32,
    /// `task->comm`, up to 16 bytes, lossy UTF-8.
    pub comm: String,
    /// Whether it is a kernel thread (`PF_KTHREAD`), when the profile
    /// knows `flags`.
    pub kernel_thread: Option<bool>,
}

/// A kernel-half address: Linux x86_64 puts every task_struct and the
/// per-cpu areas in the upper half.
fn is_kernel(addr: u64) -> bool {
    // The upper half with 5-level paging (LA57: the direct map and per-cpu
    // areas lie at 0xff11... and above) or 4.
    addr >= 0xff00_0000_0000_0000
}

/// A kernel address for this profile's kernel (upper half on x86_64,
/// above `PAGE_OFFSET` and below 4 GiB on i386).
fn is_kernel_for(prof: &LinuxProfile, addr: u64) -> bool {
    addr >= prof.kernel_min && (prof.pointer_size == 8 || addr <= u64::from(u32::MAX))
}

/// A kernel pointer (or `unsigned long`) of the profile's size.
pub(crate) fn read_ptr(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    va: u64,
) -> Result<u64, MemError> {
    if prof.pointer_size == 4 {
        read_u32(mem, va).map(u64::from)
    } else {
        read_u64(mem, va)
    }
}

/// A pointer at `va` to a kernel object: of the profile's size, inside
/// its kernel range and aligned to a pointer (what every structure the
/// walkers follow is); None otherwise.
pub(crate) fn kernel_ptr(mem: &mut dyn VirtMem, prof: &LinuxProfile, va: u64) -> Option<u64> {
    let p = read_ptr(mem, prof, va).ok()?;
    (is_kernel_for(prof, p) && p % prof.pointer_size.max(1) == 0).then_some(p)
}

/// i386: the per-cpu base of `cpu` for [`current_task`]:
/// `__per_cpu_offset[cpu] + slide` (per-cpu symbols are link addresses).
pub fn percpu_base_linked(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    slide: i64,
    cpu: u32,
) -> Result<u64, ProcError> {
    if cpu >= MAX_CPUS_32 {
        return Err(ProcError::BadCpu(cpu));
    }
    let arr = prof.per_cpu_offset.ok_or(ProcError::NoPerCpuOffset)?;
    let slot = arr
        .wrapping_add(slide as u64)
        .wrapping_add(u64::from(cpu) * prof.pointer_size);
    let off = read_ptr(mem, prof, slot)?;
    Ok(off.wrapping_add(slide as u64) & 0xffff_ffff)
}

/// Whether the kernel's `init_task` is at `init`: named `swapper...` and
/// its own parent.
fn is_init_task(mem: &mut dyn VirtMem, prof: &LinuxProfile, init: u64) -> bool {
    let parent = read_ptr(mem, prof, field(init, prof.task.real_parent));
    parent.is_ok_and(|p| p == init)
        && read_comm(mem, prof, init).is_ok_and(|c| c.starts_with("swapper"))
}

/// i386: the KASLR slide, found by probing for `init_task` at its link
/// address moved by 0, +2 MiB, -2 MiB, +4 MiB... (at most
/// 2 × [`SLIDE_PROBES_32`] + 1 probes of a few bytes each). `None` if it
/// is nowhere in range.
pub fn find_slide_32(mem: &mut dyn VirtMem, prof: &LinuxProfile) -> Option<i64> {
    for k in 0..=SLIDE_PROBES_32 as i64 {
        for slide in [k, -k] {
            if k == 0 && slide < 0 {
                continue;
            }
            let slide = slide * SLIDE_STEP_32 as i64;
            let init = prof.init_task.wrapping_add(slide as u64);
            if is_kernel_for(prof, init) && is_init_task(mem, prof, init) {
                return Some(slide);
            }
        }
    }
    None
}

/// The kernel's per-cpu base for a register snapshot: `k_gs_base` when the
/// CPU is in user mode (CPL 3), else whichever of `gs_base`/`k_gs_base` is
/// a kernel address (GS base first: inside the kernel after `swapgs`).
/// `None` if neither looks like a kernel address.
pub fn percpu_base(regs: &Regs) -> Option<u64> {
    if regs.cs & 3 == 3 {
        return Some(regs.k_gs_base).filter(|&b| is_kernel(b));
    }
    [regs.gs_base, regs.k_gs_base]
        .into_iter()
        .find(|&b| is_kernel(b))
}

/// Address of the running `task_struct`: `*(percpu_base + current_task)`.
pub fn current_task(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    percpu_base: u64,
) -> Result<u64, ProcError> {
    let slot = percpu_base.wrapping_add(prof.current_task.offset);
    let ok = match prof.percpu_mode {
        PerCpuMode::GsOffset => is_kernel(percpu_base),
        PerCpuMode::Linked => is_kernel_for(prof, slot),
    };
    if !ok {
        return Err(ProcError::BadPerCpuBase(percpu_base));
    }
    let task = read_ptr(mem, prof, slot)?;
    if !is_kernel_for(prof, task) {
        return Err(ProcError::BadTask(task));
    }
    Ok(task)
}

fn field(task: u64, off: u64) -> u64 {
    task.wrapping_add(off)
}

fn read_i32(mem: &mut dyn VirtMem, va: u64) -> Result<i32, MemError> {
    read_u32(mem, va).map(|v| v as i32)
}

fn read_comm(mem: &mut dyn VirtMem, prof: &LinuxProfile, task: u64) -> Result<String, MemError> {
    let mut buf = [0u8; 16];
    let n = (prof.task.comm_len as usize).clamp(1, 16);
    mem.read_virt(field(task, prof.task.comm), &mut buf[..n])?;
    let end = buf[..n].iter().position(|&c| c == 0).unwrap_or(n);
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

fn real_parent(mem: &mut dyn VirtMem, prof: &LinuxProfile, task: u64) -> Result<u64, ProcError> {
    let p = read_ptr(mem, prof, field(task, prof.task.real_parent))?;
    if !is_kernel_for(prof, p) {
        return Err(ProcError::BadTask(p));
    }
    Ok(p)
}

/// What changes or must be checked at every event: the task's thread
/// id, process id, real parent's task pointer and command name. The
/// parent's pid is [`read_tgid`] of that pointer; while a task lives with
/// the same parent pointer, that pid does not change (a parent's death
/// reparents its children).
pub struct TaskIds {
    /// Thread id (the task's `pid`).
    pub tid: i32,
    /// Process id (the task's `tgid`).
    pub pid: i32,
    /// The real parent's `task_struct` (a kernel virtual address).
    pub parent: u64,
    /// The task's command name (`comm`, at most 16 bytes, lossy UTF-8).
    pub comm: String,
}

/// Reads [`TaskIds`] of the task at `task`.
pub fn read_ids(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
) -> Result<TaskIds, ProcError> {
    if !is_kernel_for(prof, task) {
        return Err(ProcError::BadTask(task));
    }
    Ok(TaskIds {
        tid: read_i32(mem, field(task, prof.task.pid))?,
        pid: read_i32(mem, field(task, prof.task.tgid))?,
        parent: real_parent(mem, prof, task)?,
        comm: read_comm(mem, prof, task)?,
    })
}

/// The process id (`tgid`) of the task at `task`.
pub fn read_tgid(mem: &mut dyn VirtMem, prof: &LinuxProfile, task: u64) -> Result<i32, ProcError> {
    if !is_kernel_for(prof, task) {
        return Err(ProcError::BadTask(task));
    }
    Ok(read_i32(mem, field(task, prof.task.tgid))?)
}

/// Reads the identity of the task at `task`.
pub fn read_task(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
) -> Result<ProcInfo, ProcError> {
    if !is_kernel_for(prof, task) {
        return Err(ProcError::BadTask(task));
    }
    let t = &prof.task;
    let tid = read_i32(mem, field(task, t.pid))?;
    let pid = read_i32(mem, field(task, t.tgid))?;
    let comm = read_comm(mem, prof, task)?;
    let parent = real_parent(mem, prof, task)?;
    let ppid = read_i32(mem, field(parent, t.tgid))?;
    let kernel_thread = match t.flags {
        Some(off) => Some(read_u32(mem, field(task, off))? & PF_KTHREAD != 0),
        None => None,
    };
    Ok(ProcInfo {
        task,
        pid,
        tid,
        ppid,
        comm,
        kernel_thread,
    })
}

/// The process running on the CPU whose kernel per-cpu base is
/// `percpu_base` (see [`percpu_base`]: `Regs::k_gs_base` at a trap from
/// user mode or at a return to it).
pub fn current_process(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    percpu_base: u64,
) -> Result<ProcInfo, ProcError> {
    let task = current_task(mem, prof, percpu_base)?;
    read_task(mem, prof, task)
}

/// The KASLR slide (runtime minus link address of the kernel image), found
/// by walking `real_parent` from the current task up to `init_task`, the
/// only task that is its own parent. The result is checked: page-aligned,
/// and the task found is named `swapper...`. `Some(0)` without KASLR.
pub fn kaslr_slide(mem: &mut dyn VirtMem, prof: &LinuxProfile, percpu_base: u64) -> Option<i64> {
    let mut t = current_task(mem, prof, percpu_base).ok()?;
    for _ in 0..MAX_PARENTS {
        let p = real_parent(mem, prof, t).ok()?;
        if p == t {
            let slide = t.wrapping_sub(prof.init_task) as i64;
            let named = read_comm(mem, prof, t).ok()?.starts_with("swapper");
            return (named && slide.unsigned_abs() % SLIDE_ALIGN == 0).then_some(slide);
        }
        t = p;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{test_vmlinux, PerCpuSym, TaskLayout};
    use vstrace_core::testmem::SparseVirt;

    const PERCPU: u64 = 0xffff_8880_3fc0_0000;

    /// The real Debian profile when the vmlinux is around, else a plausible
    /// hand-made one (so the test always runs).
    fn profile() -> LinuxProfile {
        if let Some(elf) = test_vmlinux() {
            return LinuxProfile::from_vmlinux(&elf).unwrap();
        }
        eprintln!("no vmlinux: using a hand-made profile");
        LinuxProfile {
            version: 1,
            banner: None,
            current_task: PerCpuSym {
                name: "current_task".into(),
                offset: 0x1fbc0,
            },
            init_task: 0xffff_ffff_82a1_4940,
            per_cpu_offset: None,
            text_base: None,
            task: TaskLayout {
                size: 0x2600,
                pid: 0x598,
                tgid: 0x59c,
                comm: 0x758,
                comm_len: 16,
                real_parent: 0x5a8,
                parent: Some(0x5b0),
                group_leader: None,
                mm: Some(0x470),
                flags: Some(0x2c),
                tasks: None,
                stime: None,
            },
            mm_pgd: None,
            pointer_size: 8,
            kernel_min: 0xffff_8000_0000_0000,
            percpu_mode: PerCpuMode::GsOffset,
            layout_source: "btf".into(),
            files: None,
            mm: None,
            pids: None,
            signal_probe: None,
        }
    }

    struct Task {
        addr: u64,
        pid: i32,
        tgid: i32,
        parent: u64,
        comm: &'static [u8],
        flags: u32,
    }

    fn put(mem: &mut SparseVirt, p: &LinuxProfile, t: &Task) {
        let l = &p.task;
        mem.map_zeroed(t.addr, l.size as usize);
        mem.map(t.addr + l.pid, &t.pid.to_le_bytes());
        mem.map(t.addr + l.tgid, &t.tgid.to_le_bytes());
        mem.map(t.addr + l.real_parent, &t.parent.to_le_bytes());
        mem.map(t.addr + l.comm, t.comm);
        if let Some(f) = l.flags {
            mem.map(t.addr + f, &t.flags.to_le_bytes());
        }
    }

    /// swapper/0 (init_task) <- systemd (1) <- bash (200) <- thread 301 of 300.
    fn world(p: &LinuxProfile, slide: u64) -> (SparseVirt, u64) {
        let mut mem = SparseVirt::new();
        let init = p.init_task.wrapping_add(slide);
        let (systemd, bash, thr) = (
            0xffff_8880_0100_0000u64,
            0xffff_8880_0200_0000u64,
            0xffff_8880_0300_0000u64,
        );
        for t in [
            Task {
                addr: init,
                pid: 0,
                tgid: 0,
                parent: init,
                comm: b"swapper/0\0",
                flags: PF_KTHREAD,
            },
            Task {
                addr: systemd,
                pid: 1,
                tgid: 1,
                parent: init,
                comm: b"systemd\0",
                flags: 0,
            },
            Task {
                addr: bash,
                pid: 200,
                tgid: 200,
                parent: systemd,
                comm: b"bash\0",
                flags: 0,
            },
            // Exactly 16 bytes, no NUL: still bounded.
            Task {
                addr: thr,
                pid: 301,
                tgid: 300,
                parent: bash,
                comm: b"0123456789abcdef",
                flags: 0x40,
            },
        ] {
            put(&mut mem, p, &t);
        }
        mem.map(PERCPU + p.current_task.offset, &thr.to_le_bytes());
        (mem, thr)
    }

    #[test]
    fn current_process_reads_the_task_chain() {
        let p = profile();
        let (mut mem, thr) = world(&p, 0);
        let info = current_process(&mut mem, &p, PERCPU).unwrap();
        assert_eq!(
            info,
            ProcInfo {
                task: thr,
                pid: 300,
                tid: 301,
                ppid: 200,
                comm: "0123456789abcdef".into(),
                kernel_thread: Some(false),
            }
        );
        let ids = read_ids(&mut mem, &p, thr).unwrap();
        assert_eq!((ids.tid, ids.pid), (301, 300));
        assert_eq!(ids.comm, "0123456789abcdef");
        assert_eq!(read_tgid(&mut mem, &p, ids.parent).unwrap(), 200);
        assert!(matches!(
            read_ids(&mut mem, &p, 0),
            Err(ProcError::BadTask(0))
        ));
        assert!(matches!(
            read_tgid(&mut mem, &p, 7),
            Err(ProcError::BadTask(7))
        ));
        let init = read_task(&mut mem, &p, p.init_task).unwrap();
        assert_eq!(
            (init.pid, init.ppid, init.comm.as_str()),
            (0, 0, "swapper/0")
        );
        assert_eq!(init.kernel_thread, Some(true));
        assert_eq!(kaslr_slide(&mut mem, &p, PERCPU), Some(0));
    }

    #[test]
    fn kaslr_slide_is_recovered() {
        let p = profile();
        for slide in [0x1e00_0000u64, 0x3ce0_0000, (-0x20_0000i64) as u64] {
            let (mut mem, _) = world(&p, slide);
            assert_eq!(kaslr_slide(&mut mem, &p, PERCPU), Some(slide as i64));
            assert_eq!(current_process(&mut mem, &p, PERCPU).unwrap().pid, 300);
        }
        // Not page-aligned: refused.
        let (mut mem, _) = world(&p, 0x10);
        assert_eq!(kaslr_slide(&mut mem, &p, PERCPU), None);
    }

    #[test]
    fn hostile_memory_is_bounded() {
        let p = profile();
        let (mut mem, thr) = world(&p, 0);
        // A parent loop that never reaches a self-parent: bash <-> thread.
        let bash = 0xffff_8880_0200_0000u64;
        mem.map(bash + p.task.real_parent, &thr.to_le_bytes());
        assert_eq!(kaslr_slide(&mut mem, &p, PERCPU), None);
        // ppid still reads (one step only).
        assert_eq!(current_process(&mut mem, &p, PERCPU).unwrap().ppid, 200);
        // A self-parent that is not swapper: refused.
        mem.map(bash + p.task.real_parent, &bash.to_le_bytes());
        assert_eq!(kaslr_slide(&mut mem, &p, PERCPU), None);
        // User-half or null task pointers, unmapped per-cpu areas.
        mem.map(PERCPU + p.current_task.offset, &0u64.to_le_bytes());
        assert_eq!(
            current_process(&mut mem, &p, PERCPU),
            Err(ProcError::BadTask(0))
        );
        mem.map(
            PERCPU + p.current_task.offset,
            &0x7fff_0000u64.to_le_bytes(),
        );
        assert_eq!(
            current_process(&mut mem, &p, PERCPU),
            Err(ProcError::BadTask(0x7fff_0000))
        );
        assert_eq!(
            current_process(&mut mem, &p, 0),
            Err(ProcError::BadPerCpuBase(0))
        );
        assert!(matches!(
            current_process(&mut mem, &p, PERCPU + 0x100_0000),
            Err(ProcError::Mem(MemError::Unmapped(_)))
        ));
        // Task pointing into unmapped memory.
        mem.map(
            PERCPU + p.current_task.offset,
            &0xffff_8880_0900_0000u64.to_le_bytes(),
        );
        assert!(matches!(
            current_process(&mut mem, &p, PERCPU),
            Err(ProcError::Mem(_))
        ));
        assert_eq!(kaslr_slide(&mut mem, &p, PERCPU), None);
        // A hostile profile: comm_len 0 or huge is clamped; offsets wrap.
        let mut hp = p.clone();
        hp.task.comm_len = u64::MAX;
        hp.task.pid = u64::MAX;
        assert!(read_task(&mut mem, &hp, thr).is_err());
        hp.task.pid = p.task.pid;
        assert_eq!(
            read_task(&mut mem, &hp, thr).unwrap().comm,
            "0123456789abcdef"
        );
    }

    /// A 32-bit kernel (the real i386 profile when extracted, else a
    /// hand-made one) slid by `slide`: init_task, __per_cpu_offset[0..2]
    /// and CPU 1's current_task pointing at a user task.
    fn world32(slide: u64) -> (LinuxProfile, SparseVirt, u64) {
        let p = crate::profile::test_vmlinux32()
            .map(|elf| LinuxProfile::from_vmlinux(&elf).unwrap())
            .unwrap_or_else(|| {
                let mut p = profile();
                p.init_task = 0xc1c5_2a40;
                p.current_task.offset = 0xc1e6_1d44;
                p.per_cpu_offset = Some(0xc1cf_0a60);
                p.task.real_parent = 0x2fc;
                p.task.pid = 0x2f0;
                p.task.tgid = 0x2f4;
                p.task.comm = 0x4a8;
                p.task.flags = Some(0x1c);
                p.pointer_size = 4;
                p.kernel_min = 0xc000_0000;
                p.percpu_mode = PerCpuMode::Linked;
                p
            });
        let mut mem = SparseVirt::new();
        let l = p.task.clone();
        let init = p.init_task + slide;
        let task = 0xdf40_0000u64;
        for (addr, pid, parent, comm) in [
            (init, 0u32, init, &b"swapper/0\0"[..]),
            (task, 77, init, b"prog\0"),
        ] {
            mem.map_zeroed(addr, 0x800);
            mem.map(addr + l.pid, &pid.to_le_bytes());
            mem.map(addr + l.tgid, &pid.to_le_bytes());
            mem.map(addr + l.real_parent, &(parent as u32).to_le_bytes());
            mem.map(addr + l.comm, comm);
        }
        // CPU 1's per-cpu copy lives 0x1e00_0000 above the (slid) static one.
        let pco = 0x1e00_0000u32;
        let arr = p.per_cpu_offset.unwrap() + slide;
        mem.map(arr, &[0u32.to_le_bytes(), pco.to_le_bytes()].concat());
        let slot = p.current_task.offset + slide + u64::from(pco);
        mem.map(slot, &(task as u32).to_le_bytes());
        (p, mem, task)
    }

    #[test]
    fn i386_slide_and_per_cpu_offset() {
        for slide in [0u64, 0x0200_0000, 0x1000_0000] {
            let (p, mut mem, task) = world32(slide);
            assert_eq!(find_slide_32(&mut mem, &p), Some(slide as i64));
            let base = percpu_base_linked(&mut mem, &p, slide as i64, 1).unwrap();
            let info = current_process(&mut mem, &p, base).unwrap();
            assert_eq!((info.task, info.pid, info.ppid), (task, 77, 0));
            assert_eq!(info.comm, "prog");
        }
    }

    #[test]
    fn i386_hostile_memory_is_bounded() {
        let (p, mut mem, _) = world32(0x0200_0000);
        // No slide where init_task is missing or not its own parent.
        let mut empty = SparseVirt::new();
        assert_eq!(find_slide_32(&mut empty, &p), None);
        let init = p.init_task + 0x0200_0000;
        mem.map(init + p.task.real_parent, &0xc100_0000u32.to_le_bytes());
        assert_eq!(find_slide_32(&mut mem, &p), None);
        // CPU numbers past the array, unmapped entries, a garbage offset.
        assert_eq!(
            percpu_base_linked(&mut mem, &p, 0x0200_0000, MAX_CPUS_32),
            Err(ProcError::BadCpu(MAX_CPUS_32))
        );
        let mut far = p.clone();
        far.per_cpu_offset = Some(0xd000_0000);
        assert!(matches!(
            percpu_base_linked(&mut mem, &far, 0, 1),
            Err(ProcError::Mem(_))
        ));
        let base = percpu_base_linked(&mut mem, &p, 0x0200_0000, 0).unwrap();
        assert!(matches!(
            current_process(&mut mem, &p, base),
            Err(ProcError::Mem(_))
        ));
        // A per-cpu slot below PAGE_OFFSET is refused before any read.
        assert!(matches!(
            current_process(&mut mem, &p, 0x8000_0000),
            Err(ProcError::BadPerCpuBase(_))
        ));
        let mut np = p.clone();
        np.per_cpu_offset = None;
        assert_eq!(
            percpu_base_linked(&mut mem, &np, 0, 0),
            Err(ProcError::NoPerCpuOffset)
        );
    }

    #[test]
    fn percpu_base_follows_swapgs() {
        let kern = 0xffff_8880_3fc0_0000;
        let user = 0x7f12_3456_7000;
        let mut r = Regs {
            cs: 0x33,
            gs_base: user,
            k_gs_base: kern,
            ..Regs::default()
        };
        assert_eq!(percpu_base(&r), Some(kern));
        // In user mode with a bogus k_gs_base: nothing.
        r.k_gs_base = 0;
        assert_eq!(percpu_base(&r), None);
        // In the kernel after swapgs: GS base is the kernel's.
        r = Regs {
            cs: 0x10,
            gs_base: kern,
            k_gs_base: user,
            ..Regs::default()
        };
        assert_eq!(percpu_base(&r), Some(kern));
        // In the kernel before swapgs (entry instruction): still found.
        r.gs_base = 0;
        r.k_gs_base = kern;
        assert_eq!(percpu_base(&r), Some(kern));
    }
}
