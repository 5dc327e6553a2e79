//! The tracker's mutable state, shared by the vCPU threads: each part
//! behind its own short-held lock (or in atomics), so that events on
//! several vCPUs run through the tracker at once instead of queueing for
//! one engine lock. No lock here is held while another is taken, nor
//! across a guest read or a hook, so they cannot deadlock, and a slow
//! decode on one vCPU never holds up another.
//!
//! The counters are atomics; the calls in flight are sharded
//! ([`super::inflight`]); the fork and signal bookkeeping, the scope, the
//! `-p` set, the attribution cache and the records waiting to be written
//! each have their own lock. Hooks and injection rules are behind a lock
//! too, but a configuration with either runs its events one at a time
//! (see `Engine`), so hooks always see one consistent engine.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use vstrace_core::fasthash::FastSet;
use vstrace_core::hooks::HookFailure;
use vstrace_core::{Direction, Syscall};

use super::{RecentFork, Tracker, MAX_RECENT_FORKS};
use crate::record::Record;
use crate::EngineStats;

/// Locks, recovering from a poisoned lock: a panic in one event (caught
/// at the source's boundary) must not stop tracing on the other vCPUs.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// [`lock`] for reading a read-mostly value.
pub(super) fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|p| p.into_inner())
}

/// [`lock`] for changing a read-mostly value.
pub(super) fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|p| p.into_inner())
}

/// How many of a per-vCPU array's entries were ever used (1 + the
/// highest index seen): a look across the array reads only those.
#[derive(Default)]
pub(super) struct HighWater(std::sync::atomic::AtomicUsize);

impl HighWater {
    /// Notes entry `i` used (a locked operation only the first time).
    pub(super) fn raise(&self, i: usize) {
        if self.0.load(Ordering::Acquire) <= i {
            self.0.fetch_max(i + 1, Ordering::AcqRel);
        }
    }

    /// The entries used, at most `cap`.
    pub(super) fn upto(&self, cap: usize) -> usize {
        self.0.load(Ordering::Acquire).min(cap)
    }
}

/// A counter of [`Stats`].
#[derive(Clone, Copy)]
pub(super) enum Counter {
    Enters,
    Exits,
    UnmatchedExits,
    DecodeErrors,
}

/// [`EngineStats`] as counters any thread adds to (see [`super::tally`]).
/// (No count of events: every event is an enter or an exit, and one add
/// per event less is measurable at replay's rate.)
#[derive(Default)]
pub(super) struct Stats {
    tally: super::tally::Tally<4>,
}

impl Stats {
    /// Adds `n` to counter `c` (`_vcpu`: the event's, which the counts do
    /// not need).
    pub(super) fn add(&self, _vcpu: u32, c: Counter, n: u64) {
        self.tally.add(c as usize, n);
    }

    /// The counts so far (records and write errors are the sink's).
    pub(super) fn snapshot(&self) -> EngineStats {
        let sum = |c: Counter| self.tally.sum(c as usize);
        EngineStats {
            events: sum(Counter::Enters) + sum(Counter::Exits),
            enters: sum(Counter::Enters),
            exits: sum(Counter::Exits),
            unmatched_exits: sum(Counter::UnmatchedExits),
            decode_errors: sum(Counter::DecodeErrors),
            ..Default::default()
        }
    }
}

/// Fork and signal bookkeeping (see the fields of the same names that
/// `Tracker` documents), under one lock: they change together, rarely.
#[derive(Default)]
pub(super) struct Forks {
    /// Clones that returned in the parent, their child not seen yet.
    pub(super) recent: VecDeque<RecentFork>,
    /// Address spaces whose fork child returned but made no call since.
    pub(super) fresh_children: FastSet<u64>,
    /// Signal deliveries not followed by a call in their space yet.
    pub(super) fresh_signals: FastSet<(u64, u64)>,
}

impl Tracker {
    /// The fork bookkeeping, locked. Callers publish what the lock-free
    /// early-out reads with [`Tracker::forks_changed`] before unlocking.
    pub(super) fn forks(&self) -> MutexGuard<'_, Forks> {
        lock(&self.forks)
    }

    /// Publishes, while `f` is still locked, what the early-out reads of
    /// it: whether a fresh child or signal makes an enter worth asking
    /// about, and how many parent-side forks await their child.
    pub(super) fn forks_changed(&self, f: &Forks) {
        self.early.fresh.store(
            !f.fresh_children.is_empty() || !f.fresh_signals.is_empty(),
            Ordering::Release,
        );
        self.early
            .recent_forks
            .store(f.recent.len() as u64, Ordering::Release);
    }

    /// Remembers a clone that returned in the parent.
    pub(super) fn push_recent_fork(&self, fork: RecentFork) {
        let mut f = self.forks();
        if f.recent.len() >= MAX_RECENT_FORKS {
            f.recent.pop_front();
        }
        f.recent.push_back(fork);
        self.forks_changed(&f);
    }

    /// Queues a record other than the event's own (an unfinished call
    /// pushed out, an exit or kill line, a signal after its call).
    pub(super) fn push_extra(&self, r: Record) {
        let mut x = lock(&self.extra);
        x.push(r);
        self.has_extra.store(true, Ordering::Release);
    }

    /// Whether a hook wants call `name` in direction `d`.
    pub(super) fn hook_wants(&self, name: &str, d: Direction) -> bool {
        self.has_hooks && lock(&self.hooks).wants(name, d)
    }

    /// Runs the hooks for call `name` (none registered: nothing, no
    /// lock), counting their failures.
    pub(super) fn dispatch_hooks(&self, name: &str, sc: &mut Syscall<'_>) -> Vec<HookFailure> {
        if !self.has_hooks {
            return Vec::new();
        }
        let failures = lock(&self.hooks).dispatch(name, sc);
        self.stats
            .add(sc.event.vcpu, Counter::DecodeErrors, failures.len() as u64);
        failures
    }

    /// Whether the scope follows processes, not only address spaces
    /// (`Scope::by_process`, fixed at construction: read without the
    /// scope's lock).
    pub(super) fn scope_by_process(&self) -> bool {
        self.scope.is_some() && self.pair_by_thread
    }

    /// Whether `pid` is in the `-p` set.
    pub(super) fn pid_traced(&self, pid: u32) -> bool {
        read(&self.pids).contains(&pid)
    }
}
