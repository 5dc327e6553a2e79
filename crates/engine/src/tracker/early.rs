//! The early-out's shared state: what a source may ask without the
//! engine's lock (see [`EarlyOut`]), kept up to date by the tracker.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;

use vstrace_core::Bitness;

use super::pathcache::PathCache;

/// Not looked up yet: the locked path names the call and fills the entry.
pub(super) const INTEREST_UNKNOWN: u8 = 0;
/// A call the enter path would drop (not shown, no exec, fork, exit or
/// sigreturn bookkeeping).
pub(super) const INTEREST_NONE: u8 = 1;
/// A call the full enter path must see, with every register.
pub(super) const INTEREST_FULL: u8 = 2;
/// A call the full enter path must see whose enter reads only its
/// register arguments (`INTEREST_ARGS + n` for `n` of them, up to
/// [`MAX_REG_ARGS`]), the stack pointer and the system state: a shown
/// call with no exec, fork, reap, process end, sigreturn or multiplexer
/// bookkeeping (see [`EarlyOut::enter_args`]).
pub(super) const INTEREST_ARGS: u8 = 3;
/// Most register arguments of a call.
pub(super) const MAX_REG_ARGS: usize = 6;
/// Call numbers the interest table covers; larger ones take the full path.
pub(super) const INTEREST_MAX_NR: u64 = 4096;

/// What the lock-free check says about an enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnterCheck {
    /// The call cannot matter: drop it (already counted).
    Skip,
    /// The full path must see it.
    Full,
    /// Ask the engine under its lock ([`crate::Engine::skip_enter`]):
    /// the call was never seen, or a fork child or signal handler entry
    /// waits for its space's next call.
    Ask,
    /// `trace-fds=` decides from registers alone: the call is dropped
    /// unless one of the register arguments of this mask (bit `k`:
    /// argument `k + 1`) is one of the descriptors
    /// ([`EarlyOut::fds_pass`]); a source that cannot read them from
    /// registers (an argument the trap's ABI passes on the stack) takes
    /// the full path.
    Fds(u8),
    /// `-P` decides from registers and its verdict cache: the call is
    /// dropped when every descriptor among the register arguments of
    /// this mask is known to name no path of `-P`
    /// ([`EarlyOut::paths_pass`], with the caller's CR3); a source that
    /// cannot read them from registers takes the full path.
    Paths(u8),
}

/// The early-out decisions a source can make on any vCPU thread without
/// the engine's lock: a table of the calls that cannot matter (filled by
/// the engine the first time it sees each number), whether anything waits
/// for a space's next call, and whether any return can match something.
/// Counts what it drops, for the engine's statistics.
pub struct EarlyOut {
    /// Whether enters may be dropped at all (see `Tracker::with_early_out`).
    pub(super) enabled: AtomicBool,
    /// [`INTEREST_UNKNOWN`] / [`INTEREST_NONE`] / [`INTEREST_FULL`] at
    /// `width * INTEREST_MAX_NR + nr` (width 0: 64-bit, 1: 32-bit).
    interest: Box<[AtomicU8]>,
    /// Fresh fork children or signal entries are waiting for a call.
    pub(super) fresh: AtomicBool,
    /// Calls in flight in the sharded map, not the lanes' (its count, kept here so that a
    /// source reads it without any lock, and so that it is a counter the
    /// vCPUs add to, never a flag one of them could overwrite with a
    /// stale value).
    pub(super) inflight: AtomicUsize,
    /// Which `-c` lanes hold a call (see [`super::lane::LaneFlags`]).
    pub(super) lanes: super::lane::LaneFlags,
    /// Which vCPUs' slots hold the general path's last call (see
    /// [`super::inflight`]).
    pub(super) slots: super::lane::LaneFlags,
    /// Parent-side fork returns whose child has not run yet.
    pub(super) recent_forks: AtomicU64,
    /// Enters (counter 0) and sysret/sysexit returns (1) dropped without
    /// the lock.
    pub(super) dropped: super::tally::Tally<2>,
    /// Per table entry: the register arguments `trace-fds=` matches the
    /// call by (bit `k`: argument `k + 1`), when that is all it matches
    /// by (0: not decided from registers).
    fd_masks: Box<[AtomicU8]>,
    /// `trace-fds=`'s descriptors, when it alone filters by descriptor
    /// (no `-P`): set once by the tracker.
    trace_fds: OnceLock<Vec<i64>>,
    /// `-P`'s verdict cache (see [`PathCache`]).
    pub(super) paths: PathCache,
}

impl Default for EarlyOut {
    fn default() -> Self {
        EarlyOut {
            enabled: AtomicBool::new(false),
            interest: (0..2 * INTEREST_MAX_NR)
                .map(|_| AtomicU8::new(INTEREST_UNKNOWN))
                .collect(),
            fresh: AtomicBool::new(false),
            inflight: AtomicUsize::new(0),
            lanes: Default::default(),
            slots: Default::default(),
            recent_forks: AtomicU64::new(0),
            dropped: Default::default(),
            fd_masks: (0..2 * INTEREST_MAX_NR).map(|_| AtomicU8::new(0)).collect(),
            trace_fds: OnceLock::new(),
            paths: PathCache::new(2 * INTEREST_MAX_NR as usize),
        }
    }
}

/// [`EarlyOut::dropped`]'s counters.
pub(super) const DROPPED_ENTERS: usize = 0;
pub(super) const DROPPED_EXITS: usize = 1;

/// The table index of call `nr` (the low 32 bits for 32-bit callers).
pub(super) fn slot(nr: u64, bitness: Bitness) -> Option<usize> {
    let (nr, w) = match bitness {
        Bitness::B32 => (nr & 0xffff_ffff, 1),
        Bitness::B64 => (nr, 0),
    };
    (nr < INTEREST_MAX_NR).then(|| (w * INTEREST_MAX_NR + nr) as usize)
}

impl EarlyOut {
    /// A call is in flight or a fork child is awaited: a return may
    /// match something. Read in the order calls move, without a lock
    /// (a source asks this at every return): a lane's or slot's call is
    /// counted in the shards before its flag clears, and a fork's
    /// recent entry is made before its call leaves the shards' count,
    /// so a call on its way is seen in the one place or the next.
    /// (Reading the count first let a return slip by while another
    /// vCPU moved its call from a slot to the shards: the call was
    /// then reported unfinished.)
    pub(super) fn wants_exits(&self) -> bool {
        self.lanes.any()
            || self.slots.any()
            || self.inflight.load(Ordering::Acquire) > 0
            || self.recent_forks.load(Ordering::Acquire) > 0
    }

    /// The table entry at `slot`.
    pub(super) fn interest(&self, slot: usize) -> u8 {
        self.interest
            .get(slot)
            .map_or(INTEREST_FULL, |a| a.load(Ordering::Relaxed))
    }

    /// Fills the table entry at `slot`.
    pub(super) fn set_interest(&self, slot: usize, v: u8) {
        if let Some(a) = self.interest.get(slot) {
            a.store(v, Ordering::Relaxed);
        }
    }

    /// Sets `trace-fds=`'s descriptors for [`EarlyOut::fds_pass`].
    pub(super) fn set_trace_fds(&self, fds: Vec<i64>) {
        let _ = self.trace_fds.set(fds);
    }

    /// Records that the call at `slot` is matched by `trace-fds=` through
    /// the register arguments of `mask` alone.
    pub(super) fn set_fd_mask(&self, slot: usize, mask: u8) {
        if let Some(a) = self.fd_masks.get(slot) {
            a.store(mask, Ordering::Relaxed);
        }
    }

    /// The lock-free check of an enter of call `nr` by a caller of width
    /// `bitness`: [`EnterCheck::Skip`] only when the engine under its
    /// lock would drop it without keeping anything.
    pub fn check_enter(&self, nr: u64, bitness: Bitness) -> EnterCheck {
        if !self.enabled.load(Ordering::Relaxed) {
            return EnterCheck::Full;
        }
        let paths = self.paths.on();
        let tracks = self.paths.tracks();
        let Some(i) = slot(nr, bitness) else {
            if tracks {
                self.paths.bump();
            }
            return EnterCheck::Full;
        };
        // Any call that may change a descriptor table starts -P's cache
        // (and -y's kept names) over, whatever happens to it next.
        if tracks && !self.paths.keeps(i) {
            self.paths.bump();
        }
        match self.interest(i) {
            v if v >= INTEREST_FULL => {
                let mask = self
                    .fd_masks
                    .get(i)
                    .map_or(0, |m| m.load(Ordering::Relaxed));
                let fresh = self.fresh.load(Ordering::Acquire);
                let by_path = if paths { self.paths.mask(i) } else { 0 };
                if mask != 0 && !fresh {
                    EnterCheck::Fds(mask)
                } else if by_path != 0 && !fresh {
                    EnterCheck::Paths(by_path)
                } else {
                    EnterCheck::Full
                }
            }
            INTEREST_NONE if !self.fresh.load(Ordering::Acquire) => {
                self.dropped.add(DROPPED_ENTERS, 1);
                EnterCheck::Skip
            }
            _ => EnterCheck::Ask,
        }
    }

    /// After [`EnterCheck::Fds`]: whether the call goes on (one of the
    /// register arguments `args` (in order, as the call's ABI passes
    /// them) that `mask` names is one of `trace-fds=`'s descriptors, as
    /// the filter reads a descriptor: its low 32 bits, signed). When not,
    /// the call is dropped and counted, as the full path would drop it.
    pub fn fds_pass(&self, mask: u8, args: &[u64; 6]) -> bool {
        let Some(fds) = self.trace_fds.get() else {
            return true;
        };
        let hit = args
            .iter()
            .enumerate()
            .filter(|(k, _)| mask & (1 << k) != 0)
            .any(|(_, &v)| fds.contains(&i64::from(v as u32 as i32)));
        if !hit {
            self.dropped.add(DROPPED_ENTERS, 1);
        }
        hit
    }

    /// After [`EnterCheck::Paths`]: whether the call goes on (one of the
    /// register arguments `args` that `mask` names is one of
    /// `trace-fds=`'s descriptors, or is not known to name no path of
    /// `-P` in address space `cr3`). When not, the call is dropped and
    /// counted, as the full path would drop it.
    pub fn paths_pass(&self, mask: u8, args: &[u64; 6], cr3: u64) -> bool {
        let fds = self.trace_fds.get();
        let hit = args
            .iter()
            .enumerate()
            .filter(|(k, _)| mask & (1 << k) != 0)
            .map(|(_, &v)| i64::from(v as u32 as i32))
            .any(|fd| {
                fds.is_some_and(|f| f.contains(&fd))
                    // (A negative descriptor names nothing.)
                    || fd >= 0 && !self.paths.known_not_to_match(cr3, fd)
            });
        if !hit {
            self.dropped.add(DROPPED_ENTERS, 1);
        }
        hit
    }

    /// Whether the enter of call `nr` by a caller of width `bitness` may
    /// change a descriptor table while `-P`'s cache is on: the source
    /// then calls [`EarlyOut::settle`] at the next return on that vCPU
    /// (the call's own return, or a later one if it blocked), since the
    /// change lands between the enter and the return.
    pub fn unsettles(&self, nr: u64, bitness: Bitness) -> bool {
        self.paths.tracks() && slot(nr, bitness).is_none_or(|i| !self.paths.keeps(i))
    }

    /// A return after [`EarlyOut::unsettles`]: `-P`'s cache starts over.
    pub fn settle(&self) {
        self.paths.bump();
    }

    /// How many register arguments the enter of call `nr` by a 64-bit
    /// caller reads, when that is all it reads of the general registers
    /// beyond rax, rsp and rip (see [`INTEREST_ARGS`]); None: every
    /// register may be read (the early-out is off: hooks, modifications,
    /// callers or stacks may look at any of them; a 32-bit caller, whose
    /// stack and frame registers double as arguments; a call not looked
    /// up yet or with bookkeeping of its own). A source may leave the
    /// other argument registers and rbx, rcx and rbp out of the enter's
    /// snapshot (they read as 0).
    pub fn enter_args(&self, nr: u64, bitness: Bitness) -> Option<usize> {
        if bitness != Bitness::B64 || !self.enabled.load(Ordering::Relaxed) {
            return None;
        }
        let v = self.interest(slot(nr, bitness)?);
        (v >= INTEREST_ARGS).then(|| usize::from(v - INTEREST_ARGS).min(MAX_REG_ARGS))
    }

    /// Whether a 64-bit sysret may be read without the registers no
    /// return looks at while the early-out is on (rbx, rdx, rsi, rdi,
    /// rbp, r8-r10: a return reads rax, rcx and rsp, the stack and
    /// system state; signal deliveries and exec returns come by iret,
    /// which is always read whole).
    pub fn lazy_sysret(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// The lock-free check of a sysret or sysexit: true (dropped, counted)
    /// when no call is in flight and no fork child is awaited.
    pub fn skip_sys_exit(&self) -> bool {
        if !self.enabled.load(Ordering::Relaxed) || self.wants_exits() {
            return false;
        }
        self.dropped.add(DROPPED_EXITS, 1);
        true
    }
}
