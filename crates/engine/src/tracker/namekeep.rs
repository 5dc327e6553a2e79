//! Descriptor names kept between calls. `-y`/`-yy` name every
//! descriptor a shown call takes, and a live run with `--record` reads
//! those names for every shown call even without them (so that a replay
//! can add them: see `Tracker::record_names`): some thirty kernel reads
//! per descriptor (file table, file, mount, the dentries up to the
//! root). A thread's descriptor named since the last call that may
//! change any name is not read again: its name is the one read then.
//!
//! Forgotten ("started over") by every call that may change a name, in
//! any process ([`CallHints::CHANGES_NAMES`]: any call but those known
//! to keep descriptor tables), at its enter and at its return: the
//! tracker counts the calls it sees; calls the early-out drops without
//! the tracker are counted by the lock-free checks in the generation of
//! `-P`'s verdict cache ([`super::pathcache::PathCache`], which tracks
//! for names too while they are kept), so a name is valid while both
//! generations stand. A return the tracker pairs with no call (an
//! interrupt's, or a call's it dropped at the enter) starts over too:
//! which call returns is not known there. A name read while another
//! vCPU's call changed things is kept only if no generation moved
//! during the read.
//!
//! Calls that may change descriptor tables where no call shows it
//! (io_uring's asynchronous work, a seccomp supervisor's `ADDFD`,
//! `close_range`, `unshare`: the layer's `may_hide_fd_changes`) turn the
//! names off for good, as they turn `-P`'s verdicts off.
//!
//! Only path names are kept (the layer decides: a socket's name can
//! change without a call that changes tables). Keys are threads (by
//! thread id), not address spaces: two threads of one space may hold
//! tables of their own. For a recording, a replay that adds `-y`
//! afterwards walks the same kernel structures where the live run kept
//! a name, and finds them in the replay's history of earlier reads,
//! which nothing changed since; every [`EXPIRE`] events the names are
//! read again anyway, so that the replay's bounded history (it starts
//! over after a million distinct reads) holds what it needs.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use vstrace_core::event::Event;
use vstrace_core::fasthash::FastMap;
use vstrace_core::mem::VirtMem;
use vstrace_core::{ArgValue, CallArgs, CallHints, FdPath, KeptNames, NameOptions};

use super::cr3_key;
use super::pathcache::PathCache;
use super::state::lock;
use super::Tracker;

/// Events after which every kept name is read again.
const EXPIRE: u32 = 4096;
/// Kept names beyond which the map starts over (a guest with many
/// threads and descriptors must not grow it without bound).
const MAX_KEPT: usize = 1 << 14;

/// The generations a name was read in: the tracker's and the lock-free
/// checks'.
type Gens = (u64, u64);

/// Kept names by (address space, thread, descriptor).
type Names = FastMap<(u64, u32, i64), (Gens, String)>;

/// Shards of the kept names, by thread: vCPUs naming calls of
/// different threads take different locks.
const SHARDS: usize = 16;

/// Names read per (address space, thread, descriptor), valid in the
/// generations they were read in.
pub(super) struct NamesKept {
    /// Bumped by every call the tracker sees that may change a name.
    gen: AtomicU64,
    /// Names expire (a recording's: see the module doc); a live run
    /// without one counts no event (a counter every vCPU would write).
    expire: bool,
    /// Events since the last bump (approximate across vCPUs: it only
    /// bounds how long a name lives).
    events: AtomicU32,
    /// Turned off for good (see the module doc).
    off: AtomicBool,
    kept: Box<[Mutex<Names>]>,
}

impl NamesKept {
    /// Kept names, expiring every [`EXPIRE`] events when `expire`.
    pub(super) fn new(expire: bool) -> NamesKept {
        NamesKept {
            gen: AtomicU64::new(0),
            expire,
            events: AtomicU32::new(0),
            off: AtomicBool::new(false),
            kept: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    /// One event of a call with `hints` (the enter or the return; any
    /// call of the guest the tracker sees, shown or not).
    pub(super) fn event(&self, hints: CallHints) {
        let expired = self.expire && self.events.fetch_add(1, Ordering::Relaxed) + 1 >= EXPIRE;
        if hints.has(CallHints::CHANGES_NAMES) || expired {
            self.start_over();
        }
    }

    /// Forgets every name (a call may have changed one).
    pub(super) fn start_over(&self) {
        self.gen.fetch_add(1, Ordering::AcqRel);
        self.events.store(0, Ordering::Relaxed);
    }

    /// Keeps no name from now on: descriptors may change unseen.
    pub(super) fn turn_off(&self) {
        self.off.store(true, Ordering::Release);
        for shard in &self.kept {
            lock(shard).clear();
        }
    }

    /// The names of thread `tid` in space `cr3` for one call; `checks`:
    /// the lock-free checks' generation. Held until dropped.
    pub(super) fn thread<'a>(
        &'a self,
        cr3: u64,
        tid: u32,
        checks: &'a PathCache,
    ) -> ThreadNames<'a> {
        // Generations first: a start-over after them shows at each use.
        let at = (self.gen.load(Ordering::Acquire), checks.generation());
        ThreadNames {
            keeper: self,
            checks,
            map: lock(&self.kept[tid as usize % SHARDS]),
            space: cr3_key(cr3),
            tid,
            at,
        }
    }
}

impl Tracker {
    /// The layer's names for the arguments of a call of thread `tid`
    /// (None: not known), from the thread's kept names where names are
    /// kept.
    pub(super) fn name_call(
        &self,
        event: &Event,
        mem: &mut dyn VirtMem,
        call: CallArgs<'_>,
        names: &NameOptions,
        args: &mut [ArgValue],
        tid: Option<u32>,
    ) -> Vec<FdPath> {
        match tid.filter(|_| self.keep_names) {
            Some(t) => {
                let mut kept = self.names_kept.thread(event.cr3, t, &self.early.paths);
                self.os
                    .name_args_kept(event, mem, call, names, args, &mut kept)
            }
            None => self.os.name_args(event, mem, call, names, args),
        }
    }
}

/// One thread's kept names while a call is named (see
/// [`NamesKept::thread`]): what the layer asks and gives.
pub(super) struct ThreadNames<'a> {
    keeper: &'a NamesKept,
    checks: &'a PathCache,
    map: std::sync::MutexGuard<'a, Names>,
    space: u64,
    tid: u32,
    /// The generations as the call's naming began.
    at: Gens,
}

impl ThreadNames<'_> {
    /// Whether names taken now are still valid: nothing started over
    /// since the naming began (checked again at each use: another vCPU's
    /// call may start over meanwhile, and a name read across that is not
    /// kept).
    fn current(&self) -> bool {
        !self.keeper.off.load(Ordering::Acquire)
            && self.keeper.gen.load(Ordering::Acquire) == self.at.0
            && self.checks.generation() == self.at.1
    }
}

impl KeptNames for ThreadNames<'_> {
    fn name(&self, fd: i64) -> Option<&str> {
        if !self.current() {
            return None;
        }
        match self.map.get(&(self.space, self.tid, fd)) {
            Some((g, n)) if *g == self.at => Some(n.as_str()),
            _ => None,
        }
    }

    fn keep(&mut self, fd: i64, name: &str) {
        if !self.current() {
            return;
        }
        if self.map.len() >= MAX_KEPT / SHARDS {
            self.map.clear();
        }
        let at = self.at;
        match self.map.get_mut(&(self.space, self.tid, fd)) {
            Some(e) => {
                e.0 = at;
                e.1.clear();
                e.1.push_str(name);
            }
            None => {
                self.map
                    .insert((self.space, self.tid, fd), (at, name.to_string()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CR3: u64 = 0x1234_5000;

    /// Names `fd` of thread `tid` for one call: the kept name, or
    /// `read` (kept).
    fn name(k: &NamesKept, p: &PathCache, tid: u32, fd: i64, read: &str) -> (String, bool) {
        let mut t = k.thread(CR3, tid, p);
        match t.name(fd) {
            Some(n) => (n.to_string(), true),
            None => {
                t.keep(fd, read);
                (read.to_string(), false)
            }
        }
    }

    #[test]
    fn a_name_is_kept_until_a_call_may_change_one() {
        let (k, p) = (NamesKept::new(true), PathCache::new(8));
        assert_eq!(name(&k, &p, 7, 3, "/dev/null"), ("/dev/null".into(), false));
        assert_eq!(name(&k, &p, 7, 3, "/x"), ("/dev/null".into(), true));
        assert!(!name(&k, &p, 8, 3, "/x").1, "another thread's table");
        assert!(
            k.thread(CR3 + 0x2000, 7, &p).name(3).is_none(),
            "another space"
        );
        assert!(
            k.thread(CR3 | 0x3, 7, &p).name(3).is_some(),
            "PCID bits aside"
        );
        k.event(CallHints::NONE);
        assert!(name(&k, &p, 7, 3, "/x").1, "a call that changes no name");
        k.event(CallHints::CHANGES_NAMES);
        assert_eq!(name(&k, &p, 7, 3, "/dev/zero"), ("/dev/zero".into(), false));
        assert_eq!(name(&k, &p, 7, 3, "/x"), ("/dev/zero".into(), true));
        k.event(CallHints::ALL);
        assert!(
            !name(&k, &p, 7, 3, "/x").1,
            "a call the layer knows nothing of"
        );
        k.start_over();
        assert!(!name(&k, &p, 7, 3, "/x").1, "a return of no known call");
    }

    #[test]
    fn the_lock_free_checks_start_over_too() {
        let (k, p) = (NamesKept::new(true), PathCache::new(8));
        name(&k, &p, 1, 3, "/a");
        assert!(name(&k, &p, 1, 3, "/b").1);
        p.bump();
        assert!(!name(&k, &p, 1, 3, "/b").1, "a call the early-out dropped");
    }

    #[test]
    fn a_name_read_across_a_start_over_is_not_kept() {
        let (k, p) = (NamesKept::new(true), PathCache::new(8));
        {
            let mut t = k.thread(CR3, 1, &p);
            // Another vCPU's dup2 while this call's name is read.
            p.bump();
            t.keep(3, "/old");
            assert!(t.name(3).is_none());
        }
        assert!(!name(&k, &p, 1, 3, "/new").1);
        assert!(name(&k, &p, 1, 3, "/x").1);
    }

    #[test]
    fn turned_off_it_keeps_nothing() {
        let (k, p) = (NamesKept::new(true), PathCache::new(8));
        name(&k, &p, 1, 3, "/a");
        k.turn_off();
        assert!(!name(&k, &p, 1, 3, "/a").1);
        assert!(!name(&k, &p, 1, 3, "/a").1, "for good");
    }

    #[test]
    fn names_of_a_live_run_without_a_recording_do_not_expire() {
        let (k, p) = (NamesKept::new(false), PathCache::new(8));
        name(&k, &p, 1, 3, "/a");
        for _ in 0..2 * EXPIRE {
            k.event(CallHints::NONE);
        }
        assert!(name(&k, &p, 1, 3, "/b").1);
    }

    #[test]
    fn names_expire() {
        let (k, p) = (NamesKept::new(true), PathCache::new(8));
        name(&k, &p, 1, 3, "/a");
        for _ in 0..EXPIRE - 1 {
            k.event(CallHints::NONE);
        }
        assert!(name(&k, &p, 1, 3, "/b").1);
        k.event(CallHints::NONE);
        assert!(
            !name(&k, &p, 1, 3, "/b").1,
            "read again after {EXPIRE} events"
        );
    }

    #[test]
    fn the_map_stays_bounded() {
        let (k, p) = (NamesKept::new(true), PathCache::new(8));
        for fd in 0..MAX_KEPT as i64 + 10 {
            name(&k, &p, 1, fd, "/a");
        }
        assert!(k.kept.iter().map(|s| lock(s).len()).sum::<usize>() <= MAX_KEPT);
    }
}
