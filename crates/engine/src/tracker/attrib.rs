//! Attribution from a cache: who made a call (pid, tid, ppid, comm) is
//! read once per (address space, running task) and then taken from the
//! cache, so a call costs one guest read (the running task's address, which
//! pairing by thread reads anyway) instead of one per task field.
//!
//! What the cache keeps can change under it; it is cleared wholesale at
//! the calls that change it (exec, fork/clone, exit, exit_group, prctl,
//! the waits that reap children, at their entry and their return) and at
//! returns that end no call (a fork child's first return, a signal
//! delivery), and each entry is read again after [`MAX_USES`] uses, which
//! bounds what the cache cannot see (a comm written through
//! `/proc/PID/comm`, a parent killed outside the trace). Uses are counted
//! per call, so a replay hits and misses exactly where the live run did.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use vstrace_core::fasthash::FastMap;
use vstrace_core::{CallInfo, Event, ProcInfo, VirtMem};

use super::state::lock;
use super::{cr3_key, Tracker};

/// Uses of an entry before its task is read again.
pub(super) const MAX_USES: u32 = 64;
/// Entries kept before the cache starts over.
const MAX_ENTRIES: usize = 4096;

/// One vCPU's cached attributions; its lock is held for a lookup or an
/// insert, never across a guest read.
#[derive(Default)]
pub(super) struct AttribCache {
    map: FastMap<(u64, u64), (ProcInfo, u32)>,
    /// The scope's answer for this vCPU's last admitted caller (see
    /// `Tracker::scope_admitted`): (scope generation, space, pid).
    pub(super) admit_memo: Option<(u64, u64, u32)>,
}

impl AttribCache {
    /// `take` of the caller cached for `key` (address space, task), the
    /// use counted; None when there is none or it was used
    /// [`MAX_USES`] times (to be read again).
    fn use_entry<T>(&mut self, key: (u64, u64), take: impl FnOnce(&ProcInfo) -> T) -> Option<T> {
        let (p, uses) = self.map.get_mut(&key)?;
        if *uses >= MAX_USES {
            return None;
        }
        *uses += 1;
        Some(take(p))
    }
}

/// vCPUs with a cache of their own; more share them by number.
const CACHES: usize = 64;

/// The attribution caches, one per vCPU (by the event's vCPU number, not
/// the thread: a replay, which handles every vCPU's events on one thread,
/// hits and misses where the live run did). Per vCPU, so vCPUs looking
/// up their callers do not pass one lock's cache line back and forth; a
/// clear clears them all.
pub(super) struct AttribCaches {
    cpus: Box<[std::sync::Mutex<AttribCache>]>,
    /// Bumped by every clear: what was learnt from the caches before
    /// (a lane's ticket) is stale when it moved.
    generation: AtomicU64,
    /// Caches ever used: a clear (at every return that ends no call, an
    /// interrupt's) visits those only, not all [`CACHES`].
    used: super::state::HighWater,
}

impl Default for AttribCaches {
    fn default() -> Self {
        AttribCaches {
            cpus: (0..CACHES).map(|_| Default::default()).collect(),
            generation: AtomicU64::new(0),
            used: Default::default(),
        }
    }
}

impl AttribCaches {
    /// vCPU `vcpu`'s cache, locked.
    pub(super) fn of(&self, vcpu: u32) -> std::sync::MutexGuard<'_, AttribCache> {
        let i = vcpu as usize % CACHES;
        self.used.raise(i);
        lock(&self.cpus[i])
    }

    /// The number of clears so far.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Empties every vCPU's cache.
    fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        for c in self.cpus.iter().take(self.used.upto(CACHES)) {
            let mut c = lock(c);
            if !c.map.is_empty() {
                c.map.clear();
            }
        }
    }
}

std::thread_local! {
    /// The running task of the event this thread is handling
    /// (`Some(None)`: read, and the layer has none); reset at every
    /// event. Per thread, because each vCPU handles its own events at
    /// the same time as the others, one event at a time.
    static TASK: Cell<Option<Option<u64>>> = const { Cell::new(None) };
}

/// A new event on this thread: its running task is not read yet.
pub(super) fn next_event() {
    TASK.with(|t| t.set(None));
}

/// Whether `info` is a call that changes what attribution reads: a
/// task's identity (exec, clone), its existence (exit, a wait that reaps
/// it: its children are reparented) or its name (prctl PR_SET_NAME).
pub(super) fn changes_attribution(info: &CallInfo) -> bool {
    info.exec
        || info.fork
        || info.ends_process
        || info.noreturn
        || matches!(&*info.name, "prctl" | "wait4" | "waitid" | "waitpid")
}

/// Clears the attribution cache when dropped: the end of an enter of a
/// call that changes what it keeps (see [`changes_attribution`]).
pub(super) struct ClearAtEnd<'a>(pub(super) &'a Tracker);

impl Drop for ClearAtEnd<'_> {
    fn drop(&mut self) {
        self.0.clear_attrib();
    }
}

impl Tracker {
    /// The running task at `event` (the layer's thread identity), read
    /// once per event.
    pub(super) fn running_task(&self, event: &Event, mem: &mut dyn VirtMem) -> Option<u64> {
        if let Some(t) = TASK.with(Cell::get) {
            return t;
        }
        let t = self.os.current_thread(event, mem);
        TASK.with(|c| c.set(Some(t)));
        t
    }

    /// The running thread's system CPU time at `event`
    /// ([`vstrace_core::OsLayer::thread_cpu_ns`]), its task read once per
    /// event with the attribution's.
    pub(super) fn thread_cpu_ns(&self, event: &Event, mem: &mut dyn VirtMem) -> Option<u64> {
        let task = self.running_task(event, mem)?;
        self.os.thread_cpu_ns(event, task, mem)
    }

    /// Forgets every cached attribution (a process event happened).
    pub(super) fn clear_attrib(&self) {
        self.attrib.clear();
    }

    /// Forgets vCPU `vcpu`'s cached attribution of `task` in space `cr3`:
    /// its next call is attributed afresh.
    pub(super) fn forget_attrib(&self, vcpu: u32, cr3: u64, task: u64) {
        self.attrib.of(vcpu).map.remove(&(cr3, task));
    }

    /// Whether the caller at `event` is admitted by the scope `s`
    /// ([`Tracker::scope_admitted`]), for `-c`'s lean enter: its pid alone
    /// from the cache, without a copy of its command name (see
    /// [`Tracker::cached_admitted`]); otherwise the same reads, uses and
    /// answers through [`Tracker::who`].
    pub(super) fn pid_admitted(
        &self,
        s: &std::sync::RwLock<super::scope::Scope>,
        event: &Event,
        mem: &mut dyn VirtMem,
        cr3: u64,
    ) -> bool {
        if let Some((_, admitted)) = self.cached_admitted(s, event, mem, cr3, |_| ()) {
            return admitted;
        }
        match self.who(event, mem) {
            Some(p) => self.scope_admitted(s, event.vcpu, cr3, p.pid),
            None => false,
        }
    }

    /// [`Tracker::who`] and whether the scope `s` admits the caller
    /// ([`Tracker::scope_admitted`]) in space `cr3`: the steady state in
    /// one lock of the vCPU's caches (see [`Tracker::cached_admitted`]).
    pub(super) fn who_admitted(
        &self,
        s: &std::sync::RwLock<super::scope::Scope>,
        event: &Event,
        mem: &mut dyn VirtMem,
        cr3: u64,
    ) -> (Option<ProcInfo>, bool) {
        if let Some((p, admitted)) = self.cached_admitted(s, event, mem, cr3, ProcInfo::clone) {
            return (Some(p), admitted);
        }
        match self.who(event, mem) {
            Some(p) => {
                let admitted = self.scope_admitted(s, event.vcpu, cr3, p.pid);
                (Some(p), admitted)
            }
            None => (None, false),
        }
    }

    /// `take` of the caller at `event` when the vCPU's cache has it (a
    /// use counted as [`Tracker::who`] counts it), and whether the scope
    /// `s` admits it: in the steady state (admitted at this scope
    /// generation) both under one lock of the vCPU's caches, not one
    /// each (their atomic operations were a tenth of a `replay -c`).
    /// None when the cache has no usable entry: [`Tracker::who`] reads.
    fn cached_admitted<T>(
        &self,
        s: &std::sync::RwLock<super::scope::Scope>,
        event: &Event,
        mem: &mut dyn VirtMem,
        cr3: u64,
        take: impl FnOnce(&ProcInfo) -> T,
    ) -> Option<(T, bool)> {
        let task = self.running_task(event, mem)?;
        let key = (cr3_key(event.cr3), task);
        let gen = self.scope_gen.load(std::sync::atomic::Ordering::Acquire);
        let mut cache = self.attrib.of(event.vcpu);
        let (pid, got) = cache.use_entry(key, |p| (p.pid, take(p)))?;
        if cache.admit_memo == Some((gen, cr3, pid)) {
            return Some((got, true));
        }
        drop(cache);
        Some((got, self.scope_admitted(s, event.vcpu, cr3, pid)))
    }

    /// Who made the call at `event`: from the cache when its (address
    /// space, task) was attributed recently, else read through the layer.
    /// Without a thread identity (no OS profile) the layer is asked
    /// directly.
    pub(super) fn who(&self, event: &Event, mem: &mut dyn VirtMem) -> Option<ProcInfo> {
        let Some(task) = self.running_task(event, mem) else {
            return self.os.attribute(event, mem);
        };
        let key = (cr3_key(event.cr3), task);
        if let Some(p) = self.attrib.of(event.vcpu).use_entry(key, ProcInfo::clone) {
            return Some(p);
        }
        let p = self.os.attribute(event, mem);
        let mut cache = self.attrib.of(event.vcpu);
        match &p {
            Some(p) => {
                if cache.map.len() >= MAX_ENTRIES {
                    cache.map.clear();
                }
                cache.map.insert(key, (p.clone(), 1));
            }
            None => {
                cache.map.remove(&key);
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::EngineConfig;
    use vstrace_core::cpu::SnapshotCpu;
    use vstrace_core::hooks::Hooks;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::{Bitness, Mechanism, Reg, Regs};

    #[test]
    fn calls_that_change_attribution() {
        let plain = CallInfo::plain("x86_64", Bitness::B64, 0, "read", 3);
        assert!(!changes_attribution(&plain));
        let prctl = CallInfo::plain("x86_64", Bitness::B64, 157, "prctl", 5);
        assert!(changes_attribution(&prctl));
        let mut exec = plain.clone();
        exec.exec = true;
        assert!(changes_attribution(&exec));
        let mut fork = plain.clone();
        fork.fork = true;
        assert!(changes_attribution(&fork));
    }

    /// Attribution is read once per (space, task), again after MAX_USES
    /// calls, and after a call that changes it; each record carries the
    /// right pid.
    #[test]
    fn attribution_is_cached_per_space_and_task() {
        let (os, running, reads) = super::super::test_os::Scripted::new();
        // The running task and its pid (which is also its thread id).
        let task = |t: u64| running.lock().unwrap().0 = t;
        let pid = |p: u32| {
            let mut r = running.lock().unwrap();
            (r.1, r.2) = (p, p);
        };
        task(0xffff_8880_0000_1000);
        pid(100);
        let mut t = Tracker::new(&EngineConfig::default(), Box::new(os), Hooks::new()).unwrap();
        let mut mem = SparseVirt::new();
        let mut now = 0;
        // getppid (110) or prctl (157) in space `cr3`: the record's pid.
        let mut call = |t: &mut Tracker, nr: u64, cr3: u64| {
            let mut r = Regs {
                cr3,
                cs: 0x33,
                ..Default::default()
            };
            r.set(Reg::Rax, nr);
            r.set(Reg::Rsp, 0x7fff_0000);
            r.set(Reg::Rip, 0x40_1000);
            now += 10;
            let ev = Event::new(0, Mechanism::Syscall, Bitness::B64, r.clone());
            let mut cpu = SnapshotCpu {
                regs: r,
                mem: &mut mem,
            };
            assert!(t.on_event(&ev, &mut cpu, now).is_none());
            let mut r = Regs {
                cr3,
                cs: 0x10,
                ..Default::default()
            };
            r.set(Reg::Rcx, 0x40_1002);
            r.set(Reg::Rsp, 0x7fff_0000);
            now += 10;
            let ev = Event::new(0, Mechanism::Sysret, Bitness::B64, r.clone());
            let mut cpu = SnapshotCpu {
                regs: r,
                mem: &mut mem,
            };
            t.on_event(&ev, &mut cpu, now).and_then(|rec| rec.pid)
        };
        assert_eq!(call(&mut t, 110, 0x5000), Some(100));
        assert_eq!(reads.load(Ordering::Relaxed), 1);
        // Another process in the same space cannot be the same task...
        pid(200);
        for _ in 1..MAX_USES {
            assert_eq!(call(&mut t, 110, 0x5000), Some(100), "cached");
        }
        assert_eq!(reads.load(Ordering::Relaxed), 1);
        // ...but an entry is read again after MAX_USES calls.
        assert_eq!(call(&mut t, 110, 0x5000), Some(200));
        assert_eq!(reads.load(Ordering::Relaxed), 2);
        // Another task, or another space: read.
        task(0xffff_8880_0000_2000);
        pid(300);
        assert_eq!(call(&mut t, 110, 0x5000), Some(300));
        pid(400);
        assert_eq!(call(&mut t, 110, 0x6000), Some(400));
        assert_eq!(call(&mut t, 110, 0x6000), Some(400));
        assert_eq!(reads.load(Ordering::Relaxed), 4);
        // prctl may rename the task: read at its enter and after it.
        pid(500);
        assert_eq!(call(&mut t, 157, 0x6000), Some(500));
        assert_eq!(call(&mut t, 110, 0x6000), Some(500));
        assert_eq!(reads.load(Ordering::Relaxed), 6);
    }
}
