//! The calling task in the kernel's memory: the running `task_struct`
//! (per-cpu `current_task`), read in the space that maps it (the trap's
//! own, or under PTI the kernel's half of the PGD pair), and what the
//! layer reads from it (attribution, memory areas).

use std::sync::atomic::Ordering;

use vstrace_core::mem::{InSpace, Space};
use vstrace_core::{Event, ProcInfo, VirtMem};

use super::{LinuxLayer, MAX_PPIDS};
use crate as lx;

/// PTI (Kernel page-table isolation): at a trap from user mode CR3 holds
/// the user half of an 8 KiB PGD pair (bit 12 set), which maps no
/// task_struct or per-cpu data; the kernel's PGD is the page below.
fn kernel_space_under_pti(event: &Event) -> Option<Space> {
    const PTI_USER_PGD: u64 = 1 << 12;
    let cur = Space::current(&event.regs)?;
    (cur.root & PTI_USER_PGD != 0).then(|| cur.with_root(cur.root & !PTI_USER_PGD))
}

/// [`LinuxLayer::pti`] once attribution needed the kernel's tables.
pub(super) const PTI_ON: u8 = 1;

impl LinuxLayer {
    /// Runs a read of the kernel's task data `f` in the space that maps
    /// it: the trap's own, or under PTI the kernel's half of the PGD pair.
    pub(super) fn in_task_space<T>(
        &self,
        event: &Event,
        mem: &mut dyn VirtMem,
        mut f: impl FnMut(&mut dyn VirtMem) -> Option<T>,
    ) -> Option<T> {
        let pti = self.pti.load(Ordering::Relaxed);
        let kernel = kernel_space_under_pti(event);
        // Known PTI guest: straight to the kernel's page tables; the trap's
        // own space is the fallback (kernel-mode traps, PTI off). Else the
        // other way round.
        if let (PTI_ON, Some(space)) = (pti, kernel) {
            return f(&mut InSpace { mem, space }).or_else(|| f(mem));
        }
        if let Some(p) = f(mem) {
            return Some(p);
        }
        let space = kernel?;
        let p = f(&mut InSpace { mem, space })?;
        self.pti.store(PTI_ON, Ordering::Relaxed);
        eprintln!(
            "vstrace: Linux page table isolation: tasks are read in the kernel's page tables \
             (CR3 {:#x})",
            space.root
        );
        Some(p)
    }

    /// The running task_struct's address, read through `mem`.
    pub(super) fn task_in(&self, event: &Event, mem: &mut dyn VirtMem) -> Option<u64> {
        let prof = self.profile.as_ref()?;
        let base = match prof.percpu_mode {
            // At a trap from user mode the kernel's per-cpu base is in
            // MSR_KERNEL_GS_BASE (swapgs has not run yet).
            lx::profile::PerCpuMode::GsOffset => lx::profile::runtime::percpu_base(&event.regs)?,
            // i386: FS still holds the user's segment; use the kernel's
            // __per_cpu_offset[cpu] (QEMU's vCPU index is Linux's CPU
            // number: both follow the firmware's CPU order).
            lx::profile::PerCpuMode::Linked => {
                let slide = self.slide32(prof, mem)?;
                lx::profile::runtime::percpu_base_linked(mem, prof, slide, event.vcpu).ok()?
            }
        };
        lx::profile::runtime::current_task(mem, prof, base).ok()
    }

    /// The calling task's memory areas, read in the kernel's tables.
    pub(super) fn areas(&self, event: &Event, mem: &mut dyn VirtMem) -> Option<Vec<lx::vma::Area>> {
        let prof = self.profile.as_ref()?;
        self.in_task_space(event, mem, |m| {
            let task = self.task_in(event, m)?;
            let mm = lx::vma::task_mm(m, prof, task)?;
            lx::vma::areas(m, prof, task, mm)
        })
    }

    /// Attribution through `mem` (the trap's own space or the kernel's).
    pub(super) fn attribute_in(&self, event: &Event, mem: &mut dyn VirtMem) -> Option<ProcInfo> {
        let prof = self.profile.as_ref()?;
        let task = self.task_in(event, mem)?;
        let ids = lx::profile::runtime::read_ids(mem, prof, task).ok()?;
        let key = (task, ids.tid, ids.pid, ids.parent);
        let mut ppids = self.ppids.lock().unwrap_or_else(|e| e.into_inner());
        let ppid = match ppids.get(&key) {
            Some(&pp) => Some(pp),
            None => {
                let pp = lx::profile::runtime::read_tgid(mem, prof, ids.parent).ok();
                if let Some(pp) = pp {
                    if ppids.len() >= MAX_PPIDS {
                        ppids.clear();
                    }
                    ppids.insert(key, pp);
                }
                pp
            }
        };
        let (pid, tid, comm) = (ids.pid, ids.tid, ids.comm);
        Some(ProcInfo {
            pid: pid as u32,
            tid: tid as u32,
            ppid: ppid.map(|p| p as u32),
            comm: Some(comm.into()),
        })
    }
}
