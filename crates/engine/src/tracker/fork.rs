//! A fork child's first return: it leaves the parent's clone with no call
//! of its own in flight, and is matched to the parent's call by its return
//! ip and stack pointer in a new address space.

use super::*;

impl Tracker {
    /// A first return to user mode with no call in flight: a fork child
    /// leaving the parent's clone (same return ip and stack pointer, a new
    /// address space, rax 0). It joins the scope and is recorded like
    /// strace's `<... clone resumed>` in the child.
    pub(super) fn child_return(
        &self,
        event: &Event,
        cpu: &mut dyn Cpu,
        ip: u64,
        sp: u64,
        now: u64,
    ) -> Option<Record> {
        if event.regs.rax() != 0 {
            return None;
        }
        let cr3 = cr3_key(event.cr3);
        // The parent usually returns first; otherwise its call is in
        // flight. It moves from flight to the recent forks (under the
        // call's shard lock, see `take_at_return`) while this runs on
        // another vCPU: looking at the recent forks again after the
        // calls in flight finds it in one of the two.
        let fork = match self.recent_fork_of(cr3, ip, sp)? {
            Some(f) => f,
            // The oldest such call, not the first in the map's order: a
            // replay (another hash seed) must pick the same one.
            None => match self.pending.oldest_with(
                |k, p| k.sp == sp && k.cr3 != cr3 && p.info.fork && p.ret_ip == Some(ip),
                |p| RecentFork::of(p, sp),
            ) {
                Some(f) => f,
                None => self.recent_fork_of(cr3, ip, sp)??,
            },
        };
        if self
            .scope
            .as_ref()
            .is_some_and(|s| read(s).spaces.get(&fork.cr3) != Some(&true))
        {
            return None;
        }
        let (name, nr, abi, shown, mech) =
            (fork.name, fork.nr, fork.abi, fork.shown, fork.mechanism);
        {
            let mut f = self.forks();
            if f.fresh_children.len() >= MAX_FRESH_CHILDREN {
                f.fresh_children.clear();
            }
            f.fresh_children.insert(cr3);
            self.forks_changed(&f);
        }
        let by_process = self.scope_by_process();
        let mut who = None;
        if by_process || shown {
            who = self.os.attribute(event, cpu.mem());
        }
        if let Some(s) = &self.scope {
            let mut s = self.scope_mut(s);
            // A new process in a new space: whatever owned that page-table
            // root before is gone.
            s.owners.remove(&cr3);
            s.join(cr3, who.as_ref().map(|w| w.pid));
        }
        if !shown {
            return None;
        }
        if self.by_proc {
            let Some(w) = &who else { return None };
            let via_parent = self.follow_forks && w.ppid.is_some_and(|p| self.pid_traced(p));
            if via_parent {
                write(&self.pids).insert(w.pid);
            }
            let by_comm = self.comms.iter().any(|c| w.comm.as_deref() == Some(c));
            if !self.pid_traced(w.pid) && !by_comm {
                return None;
            }
        }
        let mut r = self.instant_record(event, now, who);
        r.ts_exit_ns = Some(now);
        r.abi = Cow::Borrowed(abi);
        r.mechanism = Cow::Borrowed(mech.name());
        r.nr = nr;
        r.name = name;
        r.ret = Some(0);
        r.ret_text = Some("0".into());
        r.state = CallState::ChildReturn;
        Some(r)
    }

    /// Takes the recent fork whose child returns to `ip` on stack `sp` in
    /// the new space `cr3`. `None`: `cr3` is a child that already joined
    /// (an interrupt return, not a first run); `Some(None)`: no such fork.
    fn recent_fork_of(&self, cr3: u64, ip: u64, sp: u64) -> Option<Option<RecentFork>> {
        let mut f = self.forks();
        if f.fresh_children.contains(&cr3) {
            return None;
        }
        let i = f
            .recent
            .iter()
            .position(|f| f.sp == sp && f.cr3 != cr3 && f.ip.is_none_or(|r| r == ip));
        let recent = i.and_then(|i| f.recent.remove(i));
        self.forks_changed(&f);
        Some(recent)
    }
}
