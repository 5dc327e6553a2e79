//! The calls in flight: one list per thread key, bounded, with the
//! emptied lists kept for reuse (no allocation per call in steady state).
//! Taking a call back at its exit is where pairing decides which call a
//! return ends, so the order rules (oldest first, one thread never in two
//! calls with the same return ip) live here.
//!
//! The map is sharded by the thread key's hash, each shard behind its own
//! lock, so vCPUs entering and leaving calls of different threads do not
//! wait for each other: a call may enter on one vCPU and return on
//! another (a blocked call migrates), which rules out per-vCPU maps, but
//! both ends compute the same key and so find the same shard. The few
//! paths that look across threads (an exec's or sigreturn's return, a
//! fork child's first run, eviction, the end) visit the shards one at a
//! time and choose by the calls' order numbers, so what they pick does
//! not depend on how the keys are spread.
//!
//! `-c`'s per-vCPU lanes ([`super::lane`]) keep their calls in flight
//! beside the shards; every look at the shards first moves those calls
//! into them ([`Inflight::spill`]), so that the paths that look see every
//! call in flight as before.
//!
//! The general path does the same with its last call per vCPU: an enter
//! puts its call in its vCPU's slot (moving the call the slot held to the
//! shards), and a return on that vCPU that ends the slot's call takes it
//! from there: a call that enters and returns on one vCPU, nearly every
//! call, costs no hash, no shard lock and no shared count. A return to
//! that stack and ip ends the slot's call whichever thread makes it (as
//! [`sole_return`] decides it) when no fork call is in flight: two
//! threads return to one stack only as a vfork-like child and its parent,
//! whose fork call is in flight. So fork calls never go to a slot, the
//! shards count theirs ([`Inflight::forks`]), and while one is in flight
//! every return looks in the shards. An enter reports the same thread's
//! stale call (its return was missed) found in its own slot or in the
//! shards, not one left in another vCPU's slot (reported when that slot
//! is next looked at or filled), as `-c`'s lanes do.
//!
//! Calls are boxed in the lists (clippy's `vec_box` notwithstanding): a
//! call in flight is large and moves from its enter through these lists
//! to its record; by pointer it moves once (see `records::boxed_pending`).
#![allow(clippy::vec_box)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use vstrace_core::event::Event;
use vstrace_core::fasthash::FastMap;
use vstrace_core::Reg;

use super::early::EarlyOut;
use super::lane::{same_thread, LaneCall, Lanes};
use super::{cr3_key, Pending, RecentFork, ThreadKey, Tracker, MAX_PENDING};
use crate::record::CallState;

/// Shards of the map: a power of two, enough that two or a few busy
/// vCPUs rarely meet in one.
const SHARDS: usize = 64;

/// Emptied per-thread lists kept for reuse, per shard.
const MAX_SPARE_SLOTS: usize = 8;

/// Emptied lists a shard's map keeps under their keys before it sweeps
/// them out (see [`Shard::emptied`]).
const MAX_EMPTIED: usize = 8;

#[derive(Default)]
struct Shard {
    calls: FastMap<ThreadKey, Vec<Box<Pending>>>,
    /// Emptied per-thread lists kept for the next thread key (a fresh
    /// list is an allocation per call).
    spare: Vec<Vec<Box<Pending>>>,
    /// Lists a return emptied and left in `calls` under their keys: the
    /// thread's next call, nearly always on the same stack, finds its
    /// list there (a lookup, where removing and inserting the key again
    /// cost two map updates per call). Bounded by [`MAX_EMPTIED`].
    emptied: usize,
}

impl Shard {
    /// A return left `key`'s list empty: kept under its key, until too
    /// many are, when every empty list moves to the spares.
    fn left_empty(&mut self) {
        self.emptied += 1;
        if self.emptied > MAX_EMPTIED {
            let spare = &mut self.spare;
            self.calls.retain(|_, v| {
                if !v.is_empty() {
                    return true;
                }
                if spare.len() < MAX_SPARE_SLOTS {
                    spare.push(std::mem::take(v));
                }
                false
            });
            self.emptied = 0;
        }
    }

    /// `key`'s list, made (from a spare) if it has none; counted out of
    /// [`Shard::emptied`] when it was one of them (only then: a count
    /// that a new key's list lowered would let the empty lists of keys
    /// used once, a thread each, pile up unswept).
    fn list(&mut self, key: ThreadKey) -> &mut Vec<Box<Pending>> {
        let Shard {
            calls,
            spare,
            emptied,
        } = self;
        match calls.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => {
                let list = e.into_mut();
                if list.is_empty() {
                    *emptied = emptied.saturating_sub(1);
                }
                list
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(spare.pop().unwrap_or_default())
            }
        }
    }

    /// Removes `key`'s list when it is empty, keeping it for reuse.
    fn drop_if_empty(&mut self, key: ThreadKey) {
        if self.calls.get(&key).is_some_and(Vec::is_empty) {
            if let Some(v) = self.calls.remove(&key) {
                self.keep_spare(v);
            }
        }
    }

    /// Keeps an emptied list for reuse (up to [`MAX_SPARE_SLOTS`]).
    fn keep_spare(&mut self, list: Vec<Box<Pending>>) {
        if self.spare.len() < MAX_SPARE_SLOTS {
            self.spare.push(list);
        }
    }
}

/// The sharded map of calls in flight (see the module doc). Its count
/// lives in the early-out state ([`super::early::EarlyOut::inflight`]),
/// which sources read without any lock.
pub(super) struct Inflight {
    shards: Box<[Mutex<Shard>]>,
    /// `-c`'s per-vCPU lanes (see the module doc).
    pub(super) lanes: Lanes,
    /// The early-out's state: the shards' count of calls in flight
    /// ([`EarlyOut::inflight`], which the lanes' and the slots' calls are
    /// not in) and which lanes and slots hold a call
    /// ([`EarlyOut::lanes`], [`EarlyOut::slots`]).
    early: Arc<EarlyOut>,
    /// Fork calls in the shards (the only place they are in flight): a
    /// return takes a slot's call without looking at the shards only
    /// when there are none (see the module doc).
    forks: AtomicUsize,
}

impl Inflight {
    /// An empty map, counted in `early`.
    pub(super) fn new(early: Arc<EarlyOut>) -> Inflight {
        Inflight {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            lanes: Lanes::default(),
            early,
            forks: AtomicUsize::new(0),
        }
    }
}

fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // A panic in one event (caught at the source's boundary) leaves the
    // other threads' calls worth pairing.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inflight {
    /// `key`'s shard, after the lanes' calls moved into the shards.
    fn shard(&self, key: ThreadKey) -> MutexGuard<'_, Shard> {
        self.spill();
        self.shard_only(key)
    }

    /// `key`'s shard, as it is.
    fn shard_only(&self, key: ThreadKey) -> MutexGuard<'_, Shard> {
        let h = (key.cr3 >> 12 ^ key.sp.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        lock(&self.shards[(h >> 58) as usize % SHARDS])
    }

    /// Moves every lane's call into the shards, where the general path
    /// looks (each lane locked while its call moves: a look never finds
    /// the call in neither place).
    #[inline]
    pub(super) fn spill(&self) {
        if !(self.early.lanes.never_used() && self.early.slots.never_used()) {
            self.spill_lanes();
        }
    }

    /// [`Inflight::spill`]'s work, when a lane was ever used. Each call
    /// is counted in the shards before its lane's or slot's flag clears:
    /// the early-out, which reads the flags and then the count with no
    /// lock ([`EarlyOut::wants_exits`]), must never see the call in
    /// neither place.
    fn spill_lanes(&self) {
        for idx in self.early.lanes.open() {
            let mut lane = self.lanes.at(idx);
            if let Some(call) = lane.open.take() {
                self.push_spilled(call);
                self.early.lanes.set(idx, false);
            }
        }
        for idx in self.early.slots.open() {
            let mut lane = self.lanes.at(idx);
            if let Some((key, call)) = lane.general.take() {
                self.push_shard(key, call);
                self.early.slots.set(idx, false);
            }
        }
    }

    /// Files a lane's call in its shard (and so in the shards' count).
    fn push_spilled(&self, call: LaneCall) {
        self.push_shard(call.key, call.into_pending());
    }

    /// Files call `p` of `key` in its shard, counted (the only way into
    /// the shards). Its list stays in the calls' order (a slot's call
    /// moves there after later calls of its key may have): the first
    /// call a look finds is the oldest, as when every call went there at
    /// its enter.
    fn push_shard(&self, key: ThreadKey, p: Box<Pending>) {
        self.early.inflight.fetch_add(1, Ordering::AcqRel);
        if p.info.fork {
            self.forks.fetch_add(1, Ordering::AcqRel);
        }
        let mut s = self.shard_only(key);
        let list = s.list(key);
        let at = list.partition_point(|q| q.order < p.order);
        list.insert(at, p);
    }

    /// Uncounts call `p`, taken out of the shards.
    fn gone(&self, p: &Pending) {
        self.early.inflight.fetch_sub(1, Ordering::AcqRel);
        if p.info.fork {
            self.forks.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Puts call `p` (no fork) of `key` in its vCPU's slot. The call the
    /// slot held, if any, moves to the shards, unless it is stale (the
    /// same thread's call returning to the same ip: its return was
    /// missed), which is given back.
    fn slot_put(&self, key: ThreadKey, p: Box<Pending>) -> Option<Box<Pending>> {
        let mut lane = self.lanes.cpu(p.vcpu);
        let stale = match lane.general.take() {
            None => {
                self.early.slots.set(lane.idx, true);
                None
            }
            Some((k, old))
                if k == key && old.ret_ip == p.ret_ip && same_thread(old.thread, p.thread) =>
            {
                Some(old)
            }
            Some((k, old)) => {
                self.push_shard(k, old);
                None
            }
        };
        lane.general = Some((key, p));
        stale
    }

    /// Takes the call in vCPU `vcpu`'s slot when a return to `key` at
    /// `ip` ends it whichever thread returns: no fork call is in flight
    /// (see the module doc).
    #[inline]
    fn slot_take(&self, vcpu: u32, key: ThreadKey, ip: u64) -> Option<Box<Pending>> {
        if self.forks.load(Ordering::Acquire) != 0 {
            return None;
        }
        let mut lane = self.lanes.cpu(vcpu);
        let (k, p) = lane.general.as_ref()?;
        if *k != key || p.ret_ip.is_some_and(|r| r != ip) {
            return None;
        }
        self.early.slots.set(lane.idx, false);
        lane.general.take().map(|(_, p)| p)
    }

    /// Puts `call` in its vCPU's lane slot `lane`. The call the slot held, if
    /// any, moves to the shards, unless it is stale (the same thread's
    /// call returning to the same ip: its return was missed), which is
    /// given back.
    #[inline(always)]
    pub(super) fn lane_put(
        &self,
        lane: &mut super::lane::LaneGuard<'_>,
        call: LaneCall,
    ) -> Option<LaneCall> {
        let stale = match lane.open.take() {
            None => {
                self.early.lanes.set(lane.idx, true);
                None
            }
            Some(old)
                if old.key == call.key
                    && old.head.ret_ip == call.head.ret_ip
                    && same_thread(old.head.thread, call.head.thread) =>
            {
                Some(old)
            }
            Some(old) => {
                self.push_spilled(old);
                None
            }
        };
        lane.open = Some(call);
        stale
    }

    /// Takes the call in vCPU `vcpu`'s lane slot if a return of thread
    /// `thread` to `key` at `ip` ends it.
    pub(super) fn lane_take(
        &self,
        lane: &mut super::lane::LaneGuard<'_>,
        key: ThreadKey,
        ip: u64,
        thread: Option<u64>,
    ) -> Option<LaneCall> {
        if !lane.open.as_ref()?.ends_at(key, ip, thread) {
            return None;
        }
        self.early.lanes.set(lane.idx, false);
        lane.open.take()
    }

    /// Takes from the shards (not the lanes or slots) a call of thread
    /// `thread` under `key` returning to `ret_ip`: one that a new call of
    /// the same thread there makes stale (uncounted).
    pub(super) fn take_stale(
        &self,
        key: ThreadKey,
        ret_ip: Option<u64>,
        thread: Option<u64>,
    ) -> Option<Box<Pending>> {
        let mut s = self.shard_only(key);
        let v = s.calls.get_mut(&key)?;
        let pos = v
            .iter()
            .position(|q| q.ret_ip == ret_ip && same_thread(q.thread, thread))?;
        let p = v.remove(pos);
        s.drop_if_empty(key);
        drop(s);
        self.gone(&p);
        Some(p)
    }

    /// Whether any call in flight satisfies `f`.
    pub(super) fn any(&self, f: impl Fn(&ThreadKey, &Pending) -> bool) -> bool {
        self.spill();
        // (A return that ends no call, an interrupt's, asks this: with
        // every call in a slot, no shard is locked.)
        if self.early.inflight.load(Ordering::Acquire) == 0 {
            return false;
        }
        self.shards
            .iter()
            .any(|s| lock(s).calls.iter().any(|(k, v)| v.iter().any(|p| f(k, p))))
    }

    /// The first `Some` that `f` gives for a call in flight under `key`.
    pub(super) fn find_under<T>(
        &self,
        key: ThreadKey,
        f: impl Fn(&Pending) -> Option<T>,
    ) -> Option<T> {
        self.shard(key)
            .calls
            .get(&key)
            .and_then(|v| v.iter().find_map(|p| f(p)))
    }

    /// The order number of the oldest call satisfying `f`, with its key.
    fn oldest(&self, f: impl Fn(&ThreadKey, &Pending) -> bool) -> Option<(ThreadKey, u64)> {
        self.spill();
        if self.early.inflight.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.shards
            .iter()
            .filter_map(|s| {
                lock(s)
                    .calls
                    .iter()
                    .flat_map(|(k, v)| v.iter().map(move |p| (*k, p)))
                    .filter(|(k, p)| f(k, p))
                    .map(|(k, p)| (k, p.order))
                    .min_by_key(|x| x.1)
            })
            .min_by_key(|x| x.1)
    }

    /// Takes the call numbered `order` under `key` (None if another
    /// thread took it meanwhile), uncounted.
    fn take_order(&self, key: ThreadKey, order: u64) -> Option<Box<Pending>> {
        let mut s = self.shard(key);
        let v = s.calls.get_mut(&key)?;
        let pos = v.iter().position(|p| p.order == order)?;
        let p = v.remove(pos);
        s.drop_if_empty(key);
        drop(s);
        self.gone(&p);
        Some(p)
    }

    /// A copy of what `f` reads from the oldest call satisfying `pred`.
    pub(super) fn oldest_with<T>(
        &self,
        pred: impl Fn(&ThreadKey, &Pending) -> bool,
        f: impl FnOnce(&Pending) -> T,
    ) -> Option<T> {
        let (key, order) = self.oldest(&pred)?;
        let s = self.shard(key);
        let p = s.calls.get(&key)?.iter().find(|p| p.order == order)?;
        Some(f(p))
    }

    /// Takes every call satisfying `f`, uncounted.
    fn take_where(&self, f: impl Fn(&Pending) -> bool) -> Vec<Box<Pending>> {
        self.spill();
        let mut all = Vec::new();
        for s in self.shards.iter() {
            let mut s = lock(s);
            let keys: Vec<ThreadKey> = s
                .calls
                .iter()
                .filter(|(_, v)| v.iter().any(|p| f(p)))
                .map(|(k, _)| *k)
                .collect();
            for k in keys {
                if let Some(v) = s.calls.get_mut(&k) {
                    let (take, keep) = std::mem::take(v).into_iter().partition(|p| f(p));
                    *v = keep;
                    all.extend::<Vec<_>>(take);
                }
                s.drop_if_empty(k);
            }
        }
        for p in &all {
            self.gone(p);
        }
        all
    }

    /// Every call in flight, emptying the map.
    pub(super) fn drain(&self) -> Vec<Box<Pending>> {
        self.spill();
        let mut all = Vec::new();
        for s in self.shards.iter() {
            let mut s = lock(s);
            all.extend(s.calls.drain().flat_map(|(_, v)| v));
            s.emptied = 0;
        }
        self.forks.store(0, Ordering::Release);
        all
    }
}

impl Tracker {
    /// Adds call `p` of thread `key`: in its vCPU's slot, a fork's in the
    /// shards (see the module doc). A call of the same thread returning
    /// to the same ip is stale (its return was missed): it is reported
    /// unfinished.
    pub(super) fn insert(&self, key: ThreadKey, p: Box<Pending>) {
        if self.early.inflight.load(Ordering::Acquire) >= MAX_PENDING {
            self.evict_oldest();
        }
        let (ret_ip, thread) = (p.ret_ip, p.thread);
        if p.info.fork {
            self.pending.spill();
            let old = self.pending.take_stale(key, ret_ip, thread);
            self.pending.push_shard(key, p);
            self.stale(old);
        } else {
            // The shards first, before the call is in its slot: another
            // vCPU may move the slot's call to the shards at any moment,
            // and a look after that would find the call itself there (its
            // own thread, key and ip) and end it as stale.
            let in_shard = if self.early.inflight.load(Ordering::Acquire) > 0 {
                self.pending.take_stale(key, ret_ip, thread)
            } else {
                None
            };
            let in_slot = self.pending.slot_put(key, p);
            self.stale(in_shard);
            self.stale(in_slot);
        }
    }

    /// Reports a stale call (see [`Tracker::insert`]) unfinished when it
    /// is shown.
    #[inline]
    pub(super) fn stale(&self, old: Option<Box<Pending>>) {
        match old {
            Some(old) if old.shown => {
                let rec = self.record(old, CallState::Unfinished, None, None);
                self.push_extra(rec);
            }
            Some(old) => super::records::recycle_pending(old),
            None => {}
        }
    }

    /// Reports the oldest call in flight unfinished, making room.
    pub(super) fn evict_oldest(&self) {
        let Some((key, order)) = self.pending.oldest(|_, _| true) else {
            return;
        };
        if let Some(p) = self.pending.take_order(key, order) {
            if p.shown {
                let rec = self.record(p, CallState::Unfinished, None, None);
                self.push_extra(rec);
            }
        }
    }

    /// Whether a call of a known thread (read by the OS layer) is in
    /// flight on stack `key`.
    pub(super) fn thread_known(&self, key: ThreadKey) -> bool {
        self.pending
            .shard(key)
            .calls
            .get(&key)
            .is_some_and(|v| knows_a_thread(v))
    }

    /// Takes the oldest call of thread `key` that returns to `ip`.
    pub(super) fn take(
        &self,
        key: ThreadKey,
        ip: u64,
        thread: Option<u64>,
    ) -> Option<Box<Pending>> {
        self.take_announcing(key, ip, &mut || thread, None)
    }

    /// [`Tracker::take`] at a call's own return, whose kernel return
    /// value is `rax`. A fork that made a child is remembered for that
    /// child (a [`RecentFork`]) before the shard is unlocked: the child
    /// may make its first return on another vCPU at once, and it looks
    /// for its parent's call in flight, then among the recent forks, so
    /// the call must be in one of the two at every moment (a gap between
    /// them lost every call of a child under `--smp 4`). Returns the call
    /// and whether it was so remembered.
    /// `thread` reads the returning thread, only when the calls under
    /// `key` need it to tell whose return this is (see [`sole_return`]);
    /// it runs under the shard's lock, so it must take none of the
    /// engine's locks. The return is on vCPU `vcpu`: the call in its
    /// slot, when the return ends it, is taken first (see the module doc).
    pub(super) fn take_at_return(
        &self,
        vcpu: u32,
        key: ThreadKey,
        ip: u64,
        thread: &mut dyn FnMut() -> Option<u64>,
        rax: u64,
    ) -> Option<(Box<Pending>, bool)> {
        if let Some(p) = self.pending.slot_take(vcpu, key, ip) {
            return Some((p, false));
        }
        let mut announced = false;
        let p = self.take_announcing(key, ip, thread, Some((rax, &mut announced)))?;
        Some((p, announced))
    }

    fn take_announcing(
        &self,
        key: ThreadKey,
        ip: u64,
        thread: &mut dyn FnMut() -> Option<u64>,
        announce: Option<(u64, &mut bool)>,
    ) -> Option<Box<Pending>> {
        let mut s = self.pending.shard(key);
        let s = &mut *s;
        let slot = s.calls.get_mut(&key)?;
        let pos = match sole_return(slot, ip) {
            Some(pos) => pos,
            None => {
                // Only a call that knows its thread can tell it from
                // another's. (Read under the shard's lock: `thread` reads
                // guest memory and takes no lock of the engine's.)
                let thread = if knows_a_thread(slot) { thread() } else { None };
                slot.iter().position(|p| {
                    p.ret_ip.is_none_or(|r| r == ip) && same_thread(p.thread, thread)
                })?
            }
        };
        let p = slot.remove(pos);
        if let Some((rax, announced)) = announce {
            // The kernel's own return, at the call's width: a child
            // exists whatever a hook or injection makes the parent see.
            let ret = vstrace_core::syscall::return_at_width(rax, p.bitness);
            if p.info.fork && ret > 0 && !p.child_shares_space {
                self.push_recent_fork(RecentFork::of(&p, key.sp));
                *announced = true;
            }
        }
        if slot.is_empty() {
            s.left_empty();
        }
        self.pending.gone(&p);
        Some(p)
    }

    /// A call that returns somewhere else than its trap: a successful
    /// exec (the new image starts with zeroed registers) or a sigreturn
    /// (to the context it restores), made on this vCPU by this thread.
    /// `thread`: the returning thread when known; else `read_thread`
    /// reads it, only when such a call is in flight (two processes'
    /// execs in flight on one vCPU are told apart by it).
    pub(super) fn take_elsewhere(
        &self,
        event: &Event,
        thread: Option<u64>,
        read_thread: impl FnOnce() -> Option<u64>,
    ) -> Option<Box<Pending>> {
        let r = &event.regs;
        let zeroed = Reg::ALL
            .iter()
            .filter(|g| !matches!(g, Reg::Rsp | Reg::Rip | Reg::Rflags))
            .all(|g| r.get(*g) == 0);
        let cr3 = cr3_key(event.cr3);
        let candidate = |p: &Pending| {
            p.vcpu == event.vcpu
                && ((p.info.exec && zeroed) || (p.returns_elsewhere && p.cr3 == cr3))
        };
        if !self.pending.any(|_, p| candidate(p)) {
            return None;
        }
        let thread = thread.or_else(read_thread);
        let (key, order) = self
            .pending
            .oldest(|_, p| candidate(p) && same_thread(p.thread, thread))?;
        self.pending.take_order(key, order)
    }
}

/// Whether one of `calls` knows its thread (read by the OS layer at its
/// enter): only such a call can be told from another thread's.
fn knows_a_thread(calls: &[Box<Pending>]) -> bool {
    calls.iter().any(|p| p.thread.is_some())
}

/// The call of `calls` (those under one key: an address space and a
/// user stack) that a return to `ip` ends whichever thread makes it: the
/// only one that returns there, when it is no fork. Two threads return
/// to one stack only when one is a fork's child that shares it (vfork,
/// `CLONE_VM` on the caller's stack), while its parent's fork call is in
/// flight there: that call, or any second call returning to `ip`, needs
/// the returning thread (None then).
fn sole_return(calls: &[Box<Pending>], ip: u64) -> Option<usize> {
    let mut returning = calls
        .iter()
        .enumerate()
        .filter(|(_, p)| p.ret_ip.is_none_or(|r| r == ip));
    match (returning.next(), returning.next()) {
        (Some((i, p)), None) if !p.info.fork => Some(i),
        _ => None,
    }
}

impl Tracker {
    /// The calls in flight of process `pid`'s threads other than `tid`
    /// (all of them when `tid` is None), taken out, oldest first.
    fn take_process_calls(&self, pid: u32, tid: Option<u32>) -> Vec<Box<Pending>> {
        let mut taken = self.pending.take_where(|p| {
            p.proc_info
                .as_ref()
                .is_some_and(|i| i.pid == pid && Some(i.tid) != tid)
        });
        taken.sort_by_key(|p| p.order);
        taken
    }

    /// At process `pid`'s exit_group by its thread `tid`, which exits
    /// with `status`: the calls in flight in the process's other threads
    /// never return (the kernel ends those threads in the kernel). They
    /// leave the calls in flight, where they kept every later return of
    /// the guest on the engine's path and could pair with a call of a
    /// process that reuses the address space; the shown ones become
    /// records (unfinished, with [`crate::record::Record::ended_by_exit`]),
    /// oldest first, for strace's `<... NAME resumed>) = ?` and the
    /// threads' exits after the exit_group. Calls whose process was not
    /// read (no `proc_info`) stay.
    pub(super) fn end_group_calls(
        &self,
        pid: u32,
        tid: u32,
        status: i64,
    ) -> Vec<crate::record::Record> {
        let mut out = Vec::new();
        for p in self.take_process_calls(pid, Some(tid)) {
            if !p.shown {
                super::records::recycle_pending(p);
                continue;
            }
            self.announce_ended(&p);
            let first_exit_arg = self.os.first_exit_arg(&p.info);
            let mut r = self.record(p, CallState::Unfinished, None, None);
            r.ended_by_exit = Some(tid);
            r.exit_status = Some(status);
            r.first_exit_arg = first_exit_arg;
            out.push(r);
        }
        out
    }

    /// When process `pid`'s parent reaps it killed by a signal (it made
    /// no call to say it ends): its threads' calls in flight never
    /// return. They leave the calls in flight (see
    /// [`Tracker::end_group_calls`]) and are reported at the end, as
    /// before.
    pub(super) fn end_killed_calls(&self, pid: u32) {
        let ended = self.take_process_calls(pid, None);
        if ended.is_empty() {
            return;
        }
        let mut kept = crate::lock(&self.ended_calls);
        for p in ended {
            if p.shown {
                kept.push(p);
            } else {
                super::records::recycle_pending(p);
            }
        }
    }

    /// After a successful exec by thread `tid` of process `pid`: the calls
    /// in flight in the process's other threads, which the exec ended (the
    /// kernel kills every other thread; a vfork parent waiting on the
    /// exec'ing child is another process and keeps its call), taken out,
    /// oldest first: the shown ones become records (unfinished, with
    /// [`crate::record::Record::ended_by_exec`]), the others are dropped.
    pub(super) fn end_other_threads(&self, pid: u32, tid: u32) -> Vec<crate::record::Record> {
        let ended = self.take_process_calls(pid, Some(tid));
        let mut out = Vec::new();
        for p in ended {
            if !p.shown {
                super::records::recycle_pending(p);
                continue;
            }
            let first_exit_arg = self.os.first_exit_arg(&p.info);
            let mut r = self.record(p, CallState::Unfinished, None, None);
            r.ended_by_exec = Some(tid);
            r.first_exit_arg = first_exit_arg;
            out.push(r);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::event::{Event, Mechanism};
    use vstrace_core::os::CallInfo;
    use vstrace_core::{Bitness, Regs};

    fn call(order: u64) -> Box<Pending> {
        let info = CallInfo::plain("x86_64", Bitness::B64, 0, "read", 3);
        let event = Event::new(0, Mechanism::Syscall, Bitness::B64, Regs::default());
        let head = super::super::records::BareHead::of(info, &event, order, Some(0x40), None, 0);
        Box::new(Pending::bare(head, false))
    }

    /// Lists emptied under keys used once (a thread each) are swept: the
    /// map does not grow with every key it ever saw.
    #[test]
    fn emptied_lists_of_keys_used_once_are_swept() {
        let mut s = Shard::default();
        for i in 0..1000u64 {
            let key = ThreadKey { cr3: 1, sp: i };
            s.list(key).push(call(i));
            s.calls.get_mut(&key).unwrap().pop();
            s.left_empty();
            assert!(s.calls.len() <= MAX_EMPTIED + 1, "{} at {i}", s.calls.len());
        }
        // A key used again finds its list and counts it out.
        let key = ThreadKey { cr3: 1, sp: 999 };
        let before = s.emptied;
        if s.calls.contains_key(&key) {
            s.list(key).push(call(1000));
            assert_eq!(s.emptied, before - 1);
        }
    }
}
