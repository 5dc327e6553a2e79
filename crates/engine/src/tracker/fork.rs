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
        &mut self,
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
        if self.fresh_children.contains(&cr3) {
            // An interrupt return to a child that already joined.
            return None;
        }
        // The parent usually returns first; otherwise its call is in flight.
        let fork = if let Some(i) = self
            .recent_forks
            .iter()
            .position(|f| f.sp == sp && f.cr3 != cr3 && f.ip.is_none_or(|r| r == ip))
        {
            self.recent_forks.remove(i)?
        } else {
            // The oldest such call, not the first in the map's order: a
            // replay (another hash seed) must pick the same one.
            let p = self
                .pending
                .iter()
                .filter(|(k, _)| k.sp == sp && k.cr3 != cr3)
                .flat_map(|(_, v)| v.iter())
                .filter(|p| p.info.fork && p.ret_ip == Some(ip))
                .min_by_key(|p| p.order)?;
            RecentFork::of(p, sp)
        };
        if self
            .scope
            .as_ref()
            .is_some_and(|s| s.spaces.get(&fork.cr3) != Some(&true))
        {
            return None;
        }
        let (name, nr, abi, shown, mech) =
            (fork.name, fork.nr, fork.abi, fork.shown, fork.mechanism);
        if self.fresh_children.len() >= MAX_FRESH_CHILDREN {
            self.fresh_children.clear();
        }
        self.fresh_children.insert(cr3);
        let by_process = self.scope.as_ref().is_some_and(|s| s.by_process);
        let mut who = None;
        if by_process || shown {
            who = self.os.attribute(event, cpu.mem());
        }
        if let Some(s) = &mut self.scope {
            // A new process in a new space: whatever owned that page-table
            // root before is gone.
            s.owners.remove(&cr3);
            s.join(cr3, who.as_ref().map(|w| w.pid));
        }
        if !shown {
            return None;
        }
        if !self.pids.is_empty() || !self.comms.is_empty() {
            let Some(w) = &who else { return None };
            let via_parent = self.follow_forks && w.ppid.is_some_and(|p| self.pids.contains(&p));
            if via_parent {
                self.pids.insert(w.pid);
            }
            let by_comm = self.comms.iter().any(|c| w.comm.as_deref() == Some(c));
            if !self.pids.contains(&w.pid) && !by_comm {
                return None;
            }
        }
        let mut r = self.instant_record(event, now, who);
        r.ts_exit_ns = Some(now);
        r.abi = abi.to_string();
        r.mechanism = mech.name().to_string();
        r.nr = nr;
        r.name = name;
        r.ret = Some(0);
        r.ret_text = Some("0".into());
        r.state = CallState::ChildReturn;
        Some(r)
    }
}
