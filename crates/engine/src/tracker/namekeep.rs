//! The descriptor names a recording already holds. A live run with
//! `--record` reads, for every shown call, the names `-y`/`-yy`/`-P`
//! would show (see `Tracker::record_names`): some thirty kernel reads
//! per descriptor (file table, file, mount, the dentries up to the
//! root), three quarters of a read/write loop's recording. A thread's
//! descriptor whose name was read since the last call that may change
//! any name ([`CallHints::CHANGES_NAMES`], at its enter and at its
//! return, in any process) is not read again: a replay that adds `-y`
//! afterwards walks the same kernel structures and finds them in the
//! replay's history of earlier reads, which nothing changed since.
//!
//! A return the engine pairs with no call (an interrupt's, or a call's
//! it dropped at the enter) starts over too: which call returns is not
//! known there.
//!
//! Calls that may change descriptor tables where no call shows it
//! (io_uring's asynchronous work, a seccomp supervisor's `ADDFD`,
//! `close_range`, `unshare`: the layer's `may_hide_fd_changes`) turn the
//! names off for good.
//!
//! Only path names are kept: a socket's name can change without a call
//! that changes tables (a netlink socket binds itself on its first
//! write). Keys are threads (by thread id), not address spaces: two
//! threads of one space may hold tables of their own. Every
//! [`EXPIRE`] events everything is read again anyway, so that a
//! replay's bounded history (it starts over after a million distinct
//! reads) holds what it needs.

use vstrace_core::fasthash::FastMap;
use vstrace_core::{CallHints, FdPath};

use super::cr3_key;

/// Events after which every kept name is read again.
const EXPIRE: u32 = 4096;
/// Kept names beyond which the map starts over (a guest with many
/// threads and descriptors must not grow it without bound).
const MAX_KEPT: usize = 1 << 14;

/// Names read per (address space, thread, descriptor), valid in the
/// generation they were read in.
#[derive(Default)]
pub(super) struct NamesKept {
    /// Bumped by every call that may change a name.
    gen: u64,
    /// Events since the last bump.
    events: u32,
    /// Turned off for good (see the module doc).
    off: bool,
    kept: FastMap<(u64, u32, i64), u64>,
}

impl NamesKept {
    /// One event of a call with `hints` (the enter or the return; any
    /// call of the guest, shown or not).
    pub(super) fn event(&mut self, hints: CallHints) {
        self.events += 1;
        if hints.has(CallHints::CHANGES_NAMES) || self.events >= EXPIRE {
            self.start_over();
        }
    }

    /// Forgets every name (a call may have changed one).
    pub(super) fn start_over(&mut self) {
        self.gen += 1;
        self.events = 0;
        if self.kept.len() >= MAX_KEPT {
            self.kept.clear();
        }
    }

    /// Keeps no name from now on: descriptors may change unseen.
    pub(super) fn turn_off(&mut self) {
        self.off = true;
        self.kept.clear();
    }

    /// Whether descriptor `fd` of thread `tid` in space `cr3` was named
    /// since nothing could change its name.
    pub(super) fn knows(&self, cr3: u64, tid: u32, fd: i64) -> bool {
        !self.off && self.kept.get(&(cr3_key(cr3), tid, fd)) == Some(&self.gen)
    }

    /// Keeps the path names among `named` (read now for thread `tid` in
    /// space `cr3`).
    pub(super) fn learn(&mut self, cr3: u64, tid: u32, named: &[FdPath]) {
        if self.off {
            return;
        }
        for n in named.iter().filter(|n| n.path.starts_with('/')) {
            self.kept.insert((cr3_key(cr3), tid, n.fd), self.gen);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(fd: i64, p: &str) -> FdPath {
        FdPath {
            fd,
            path: p.into(),
            deleted: false,
        }
    }

    const CR3: u64 = 0x1234_5000;

    #[test]
    fn a_name_is_kept_until_a_call_may_change_one() {
        let mut k = NamesKept::default();
        k.learn(CR3, 7, &[path(3, "/dev/null"), path(4, "socket:[99]")]);
        assert!(k.knows(CR3, 7, 3));
        assert!(k.knows(CR3 | 0x3, 7, 3), "PCID bits aside");
        assert!(!k.knows(CR3, 7, 4), "sockets are read every time");
        assert!(!k.knows(CR3, 8, 3), "another thread's table");
        assert!(!k.knows(CR3 + 0x2000, 7, 3), "another space");
        k.event(CallHints::NONE);
        assert!(k.knows(CR3, 7, 3), "a call that changes no name");
        k.event(CallHints::CHANGES_NAMES);
        assert!(!k.knows(CR3, 7, 3), "a dup2, a rename...");
        k.learn(CR3, 7, &[path(3, "/dev/zero")]);
        assert!(k.knows(CR3, 7, 3));
        k.event(CallHints::ALL);
        assert!(!k.knows(CR3, 7, 3), "a call the layer knows nothing of");
    }

    #[test]
    fn turned_off_it_keeps_nothing() {
        let mut k = NamesKept::default();
        k.learn(CR3, 1, &[path(3, "/a")]);
        k.turn_off();
        assert!(!k.knows(CR3, 1, 3));
        k.learn(CR3, 1, &[path(3, "/a")]);
        k.event(CallHints::NONE);
        assert!(!k.knows(CR3, 1, 3), "for good");
    }

    #[test]
    fn names_expire() {
        let mut k = NamesKept::default();
        k.learn(CR3, 1, &[path(3, "/a")]);
        for _ in 0..EXPIRE - 1 {
            k.event(CallHints::NONE);
        }
        assert!(k.knows(CR3, 1, 3));
        k.event(CallHints::NONE);
        assert!(!k.knows(CR3, 1, 3), "read again after {EXPIRE} events");
    }

    #[test]
    fn the_map_stays_bounded() {
        let mut k = NamesKept::default();
        for fd in 0..MAX_KEPT as i64 + 10 {
            k.learn(CR3, 1, &[path(fd, "/a")]);
        }
        k.start_over();
        assert!(k.kept.is_empty());
    }
}
