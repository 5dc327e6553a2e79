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

use vstrace_core::fasthash::FastMap;
use vstrace_core::{CallInfo, Event, ProcInfo, VirtMem};

use super::{cr3_key, Tracker};

/// Uses of an entry before its task is read again.
pub(super) const MAX_USES: u32 = 64;
/// Entries kept before the cache starts over.
const MAX_ENTRIES: usize = 4096;

/// The cached attributions, and this event's running task once read.
#[derive(Default)]
pub(super) struct AttribCache {
    map: FastMap<(u64, u64), (ProcInfo, u32)>,
    /// The running task of the event being handled (`Some(None)`: read,
    /// and the layer has none); reset at every event.
    task: Option<Option<u64>>,
}

impl AttribCache {
    /// Forgets everything (a process event happened).
    pub(super) fn clear(&mut self) {
        self.map.clear();
    }

    /// A new event: its running task is not read yet.
    pub(super) fn next_event(&mut self) {
        self.task = None;
    }
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

impl Tracker {
    /// The running task at `event` (the layer's thread identity), read
    /// once per event.
    pub(super) fn running_task(&mut self, event: &Event, mem: &mut dyn VirtMem) -> Option<u64> {
        if let Some(t) = self.attrib.task {
            return t;
        }
        let t = self.os.current_thread(event, mem);
        self.attrib.task = Some(t);
        t
    }

    /// Who made the call at `event`: from the cache when its (address
    /// space, task) was attributed recently, else read through the layer.
    /// Without a thread identity (no OS profile) the layer is asked
    /// directly.
    pub(super) fn who(&mut self, event: &Event, mem: &mut dyn VirtMem) -> Option<ProcInfo> {
        let Some(task) = self.running_task(event, mem) else {
            return self.os.attribute(event, mem);
        };
        let key = (cr3_key(event.cr3), task);
        if let Some((p, uses)) = self.attrib.map.get_mut(&key) {
            if *uses < MAX_USES {
                *uses += 1;
                return Some(p.clone());
            }
        }
        let p = self.os.attribute(event, mem);
        match &p {
            Some(p) => {
                if self.attrib.map.len() >= MAX_ENTRIES {
                    self.attrib.map.clear();
                }
                self.attrib.map.insert(key, (p.clone(), 1));
            }
            None => {
                self.attrib.map.remove(&key);
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::Bitness;

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
}
