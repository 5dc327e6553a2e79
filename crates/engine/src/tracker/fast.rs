//! The tracker's side of the early-out (see [`super::early`]): which
//! calls cannot matter, what the lock-free checks may rely on, and the
//! counters of what they dropped.

use super::state::Counter;
use super::*;

impl Tracker {
    /// Decides once whether enters may be dropped early (see
    /// [`Tracker::early`]).
    pub(super) fn with_early_out(self) -> Tracker {
        let on = self.os_kind == Os::Linux
            && !self.has_hooks
            && !self.has_injects
            && self.rewrites.is_empty()
            // --caller's module maps are invalidated by the mmap family
            // of calls, which the early-out would not let the layer see.
            && !self.callers
            && !self.stacks;
        self.early.enabled.store(on, Ordering::Relaxed);
        // -P's verdict cache (see `pathcache`).
        self.early.paths.set_on(on && !self.trace_paths.is_empty());
        // -y's kept names (see `namekeep`) follow the same generation.
        self.early.paths.set_names(on && self.keep_names);
        // trace-fds= without -P: decided from the registers of the calls
        // whose descriptors are all register arguments.
        // (With -P as well: its lock-free check passes these.)
        if !self.trace_fds.is_empty() {
            self.early.set_trace_fds(self.trace_fds.clone());
        }
        self
    }

    /// The early-out state shared with lock-free checks.
    pub fn early(&self) -> std::sync::Arc<early::EarlyOut> {
        std::sync::Arc::clone(&self.early)
    }

    /// Turns the early-out off for good (the engine records every event).
    pub fn disable_early_out(&self) {
        self.early.enabled.store(false, Ordering::Relaxed);
        self.early.paths.set_on(false);
        // The tracker sees every call: its own count keeps names right.
        self.early.paths.set_names(false);
    }

    /// The engine's counters, with the events dropped without the lock.
    pub fn stats(&self) -> EngineStats {
        let mut s = self.stats.snapshot();
        let enters = self.early.dropped.sum(early::DROPPED_ENTERS);
        let exits = self.early.dropped.sum(early::DROPPED_EXITS);
        s.events += enters + exits;
        s.enters += enters;
        s.exits += exits;
        s.unmatched_exits += exits;
        s
    }

    /// Whether records carry decoded arguments: not for `-c`, which only
    /// counts calls, their errors and times (`-C` prints the calls as
    /// well: decoded); hooks see argument names.
    pub(super) fn decodes_args(&self) -> bool {
        !self.count_only || self.has_hooks
    }

    /// Whether no argument of a plain call is ever read: `-c` without
    /// `-C` counts calls by name and return, and neither a descriptor
    /// filter (`-P`, `trace-fds=`) nor `-y` looks at them (hooks turn the
    /// early-out off).
    fn reads_no_args(&self) -> bool {
        self.count_only
            && self.trace_fds.is_empty()
            && self.trace_paths.is_empty()
            && !self.names.any()
    }

    /// The early-out for an enter: true when the call `nr` of width
    /// `bitness` in address space `cr3` cannot lead to a record or to any
    /// bookkeeping ([`Tracker::on_event`] would return nothing and keep
    /// nothing), so the source can drop it before reading any other
    /// register or memory. Keeps what `on_event` keeps for such a call:
    /// the counters, and that a call was made in `cr3`.
    pub fn skip_enter(&self, nr: u64, bitness: Bitness, cr3: u64) -> bool {
        if !self.early.enabled.load(Ordering::Relaxed) {
            return false;
        }
        let Some(i) = early::slot(nr, bitness) else {
            return false;
        };
        if self.early.interest(i) == early::INTEREST_UNKNOWN {
            let nr = match bitness {
                Bitness::B32 => nr & 0xffff_ffff,
                Bitness::B64 => nr,
            };
            let ev = Event::new(0, Mechanism::Syscall, bitness, Default::default());
            let info = self.os.identify(&ev, nr);
            // -P / trace-fds= drop a call without a descriptor or path
            // whatever its arguments: as if the trace set left it out.
            // (By ABI: `getcwd@64` holds x86-64's getcwd, not i386's.)
            let shown =
                self.trace.contains_call(&info.name, info.abi) && self.fd_filter_may_pass(&info);
            let special = info.exec
                || info.fork
                || self.os.reaps(&info)
                || info.ends_process
                // A thread's exit may be its process's (the last thread).
                || info.noreturn
                || info.returns_elsewhere
                // What a multiplexer makes is known from its arguments.
                || self.os.multiplexer(&info)
                // The attribution cache must see it (prctl renames).
                || attrib::changes_attribution(&info);
            if shown && !special && !self.lifecycle(&info) {
                self.early.set_fd_mask(i, self.register_fd_mask(&info));
            }
            if self.early.paths.tracks() {
                self.path_cache_kind(i, &info, shown && !special && !self.lifecycle(&info));
            }
            let v = if special {
                early::INTEREST_FULL
            } else if shown && info.nargs <= early::MAX_REG_ARGS {
                // Only its arguments are read (see `EarlyOut::enter_args`),
                // and none when they are never looked at.
                let n = if self.reads_no_args() { 0 } else { info.nargs };
                early::INTEREST_ARGS + n as u8
            } else if shown {
                early::INTEREST_FULL
            } else {
                early::INTEREST_NONE
            };
            self.early.set_interest(i, v);
        }
        if self.early.interest(i) != early::INTEREST_NONE {
            return false;
        }
        self.stats.add(0, Counter::Enters, 1);
        self.made_call_in(cr3_key(cr3));
        true
    }

    /// The register arguments (bit `k`: argument `k + 1`) by which
    /// `trace-fds=` alone (no `-P`) matches call `info`, when every
    /// descriptor it is matched by is one of them; 0 otherwise (the full
    /// path decides).
    fn register_fd_mask(&self, info: &CallInfo) -> u8 {
        if !self.trace_paths.is_empty() || self.trace_fds.is_empty() {
            return 0;
        }
        register_mask(self.os.register_fd_targets(info))
    }

    /// `-P`'s verdict cache: what table entry `i`, call `info`, does to
    /// it (`plain`: a shown call without bookkeeping, which the lock-free
    /// check may decide). A call that may change descriptor tables unseen
    /// (by its name alone: clone's flags are read where it is made)
    /// turns the cache off for good.
    fn path_cache_kind(&self, i: usize, info: &CallInfo, plain: bool) {
        if !info.fork && self.os.may_hide_fd_changes(info) {
            self.early.paths.set_on(false);
            self.early.paths.set_names(false);
            self.names_kept.turn_off();
            return;
        }
        let keeps = self.os.keeps_fd_tables(info);
        let mask = if plain {
            register_mask(self.os.register_fd_only_targets(info))
        } else {
            0
        };
        self.early.paths.set_kind(i, keeps, mask);
    }

    /// A call was made in address space `cr3`: its fresh fork child and
    /// signal handler entries are no longer fresh.
    pub(super) fn made_call_in(&self, cr3: u64) {
        // Nothing fresh (the usual case): no lock.
        if !self.early.fresh.load(Ordering::Acquire) {
            return;
        }
        let mut f = self.forks();
        if !f.fresh_children.is_empty() {
            f.fresh_children.remove(&cr3);
        }
        if !f.fresh_signals.is_empty() {
            f.fresh_signals.retain(|s| s.0 != cr3);
        }
        self.forks_changed(&f);
    }

    /// The early-out for a sysret or sysexit (an iret may be a signal
    /// delivery): true when no call is in flight and no fork child is
    /// awaited, so the return can match nothing ([`Tracker::on_event`]
    /// would count it as unmatched and return nothing).
    pub fn skip_sys_exit(&self) -> bool {
        if !self.early.enabled.load(Ordering::Relaxed) || self.wants_exits() {
            return false;
        }
        self.stats.add(0, Counter::Exits, 1);
        self.stats.add(0, Counter::UnmatchedExits, 1);
        true
    }
}

/// The mask of register arguments `args` (1-based; bit `k`: argument
/// `k + 1`), 0 when there are none or one is past the registers (where
/// each is for the trap, a register or the stack, is the source's to
/// read: see `EnterCheck::Fds`).
fn register_mask(args: Option<Vec<usize>>) -> u8 {
    match args {
        Some(a) if !a.is_empty() && a.iter().all(|i| (1..=early::MAX_REG_ARGS).contains(i)) => {
            a.iter().fold(0u8, |m, i| m | 1 << (i - 1))
        }
        _ => 0,
    }
}
