//! The calls in flight: one list per thread key, bounded, with the
//! emptied lists kept for reuse (no allocation per call in steady state).
//! Taking a call back at its exit is where pairing decides which call a
//! return ends, so the order rules (oldest first, one thread never in two
//! calls with the same return ip) live here.

use vstrace_core::event::Event;
use vstrace_core::Reg;

use super::{cr3_key, Pending, ThreadKey, Tracker, MAX_PENDING, MAX_SPARE_SLOTS};
use crate::record::CallState;

impl Tracker {
    pub(super) fn insert(&mut self, key: ThreadKey, p: Pending) {
        if self.npending >= MAX_PENDING {
            self.evict_oldest();
        }
        let spare = &mut self.spare_slots;
        let slot = self
            .pending
            .entry(key)
            .or_insert_with(|| spare.pop().unwrap_or_default());
        // The same thread cannot be in two calls with the same return ip:
        // an older entry means its return was missed.
        if let Some(pos) = slot
            .iter()
            .position(|q| q.ret_ip == p.ret_ip && same_thread(q.thread, p.thread))
        {
            let old = slot.remove(pos);
            self.npending -= 1;
            // Calls tracked only for scoping or hooks are never recorded.
            if old.shown {
                let rec = self.record(old, CallState::Unfinished, None, None);
                self.extra.push(rec);
            }
        }
        let spare = &mut self.spare_slots;
        let slot = self
            .pending
            .entry(key)
            .or_insert_with(|| spare.pop().unwrap_or_default());
        slot.push(p);
        self.npending += 1;
    }

    pub(super) fn evict_oldest(&mut self) {
        let oldest = self
            .pending
            .iter()
            .flat_map(|(k, v)| v.iter().enumerate().map(move |(i, p)| (*k, i, p.order)))
            .min_by_key(|x| x.2);
        if let Some((k, i, _)) = oldest {
            if let Some(v) = self.pending.get_mut(&k) {
                let p = v.remove(i);
                if v.is_empty() {
                    self.drop_slot(k);
                }
                self.npending -= 1;
                if p.shown {
                    let rec = self.record(p, CallState::Unfinished, None, None);
                    self.extra.push(rec);
                }
            }
        }
    }

    /// Removes the emptied list of `key`, keeping it for reuse.
    pub(super) fn drop_slot(&mut self, key: ThreadKey) {
        if let Some(v) = self.pending.remove(&key) {
            if v.is_empty() && self.spare_slots.len() < MAX_SPARE_SLOTS {
                self.spare_slots.push(v);
            }
        }
    }

    pub(super) fn take(&mut self, key: ThreadKey, ip: u64, thread: Option<u64>) -> Option<Pending> {
        let slot = self.pending.get_mut(&key)?;
        let pos = slot
            .iter()
            .position(|p| p.ret_ip.is_none_or(|r| r == ip) && same_thread(p.thread, thread))?;
        let p = slot.remove(pos);
        if slot.is_empty() {
            self.drop_slot(key);
        }
        self.npending -= 1;
        Some(p)
    }

    /// Calls whose return does not come back to the trap's ip/sp:
    /// a successful execve returns to a new image with every general
    /// register but rsp and rip zeroed (ELF_PLAT_INIT); sigreturn returns
    /// to the context it restores, in the same address space and, as the
    /// thread was running there, on the same vCPU.
    pub(super) fn take_elsewhere(&mut self, event: &Event, thread: Option<u64>) -> Option<Pending> {
        let r = &event.regs;
        let zeroed = Reg::ALL
            .iter()
            .filter(|g| !matches!(g, Reg::Rsp | Reg::Rip | Reg::Rflags))
            .all(|g| r.get(*g) == 0);
        let cr3 = cr3_key(event.cr3);
        // The oldest matching call, not the first in the map's order: a
        // replay (another hash seed) must pick the same one.
        let (k, i, _) = self
            .pending
            .iter()
            .flat_map(|(k, v)| v.iter().enumerate().map(move |(i, p)| (k, i, p)))
            .filter(|(_, _, p)| {
                p.vcpu == event.vcpu
                    && same_thread(p.thread, thread)
                    && ((p.info.exec && zeroed) || (p.returns_elsewhere && p.cr3 == cr3))
            })
            .map(|(k, i, p)| (*k, i, p.order))
            .min_by_key(|x| x.2)?;
        let v = self.pending.get_mut(&k)?;
        let p = v.remove(i);
        if v.is_empty() {
            self.drop_slot(k);
        }
        self.npending -= 1;
        Some(p)
    }
}

/// Whether two thread identities may be the same thread: equal, or one
/// of them unknown (the layer could not read it at that trap).
fn same_thread(a: Option<u64>, b: Option<u64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}
