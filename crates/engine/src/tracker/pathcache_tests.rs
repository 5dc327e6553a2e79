//! Tests of `-P`'s verdict cache through the tracker, on synthetic
//! events: what fills it, what the lock-free check then drops, and what
//! starts it over or turns it off.

use super::early::EnterCheck;
use super::test_os::{FdTable, Scripted};
use super::*;
use crate::EngineConfig;
use vstrace_core::cpu::SnapshotCpu;
use vstrace_core::hooks::Hooks;
use vstrace_core::testmem::SparseVirt;
use vstrace_core::{Mechanism, Reg, Regs};

const CR3: u64 = 0x1234_5000;
const SP: u64 = 0x7fff_1000;
// x86-64 numbers.
const READ: u64 = 0;
const CLOSE: u64 = 3;
const CLONE: u64 = 56;
const IO_URING_SETUP: u64 = 425;

struct Rig {
    t: Tracker,
    mem: SparseVirt,
    fds: FdTable,
}

impl Rig {
    /// `-P /tmp/p`, with fd 3 open on /tmp/a and fd 4 on /tmp/p.
    fn new() -> Rig {
        let cfg = EngineConfig {
            trace_paths: vec!["/tmp/p".into()],
            ..Default::default()
        };
        let (os, fds) = Scripted::with_fds();
        *fds.lock().unwrap() = vec![(3, "/tmp/a".into()), (4, "/tmp/p".into())];
        let mut mem = SparseVirt::new();
        mem.map_zeroed(0x7fff_0000, 0x10000);
        Rig {
            t: Tracker::new(&cfg, Box::new(os), Hooks::new()).unwrap(),
            mem,
            fds,
        }
    }

    /// What a source does for an enter: the lock-free check first (the
    /// table entry looked up under the lock when unknown), then the full
    /// path unless dropped. True when the call went on to the full path
    /// and is in flight (shown).
    fn enter(&mut self, nr: u64, args: &[u64]) -> bool {
        let early = self.t.early();
        let dropped = match early.check_enter(nr, Bitness::B64) {
            EnterCheck::Skip => true,
            EnterCheck::Ask => self.t.skip_enter(nr, Bitness::B64, CR3),
            EnterCheck::Paths(mask) => {
                let mut a = [0; 6];
                a[..args.len()].copy_from_slice(args);
                !early.paths_pass(mask, &a, CR3)
            }
            EnterCheck::Fds(_) | EnterCheck::Full => false,
        };
        if dropped {
            return false;
        }
        let mut r = Regs {
            cr3: CR3,
            cs: 0x33,
            ..Default::default()
        };
        r.set(Reg::Rax, nr);
        for (reg, v) in [Reg::Rdi, Reg::Rsi, Reg::Rdx].iter().zip(args) {
            r.set(*reg, *v);
        }
        r.set(Reg::Rsp, SP);
        r.set(Reg::Rip, 0x40_1000);
        let ev = Event::new(0, Mechanism::Syscall, Bitness::B64, r);
        let mut cpu = SnapshotCpu {
            regs: ev.regs.clone(),
            mem: &mut self.mem,
        };
        let _ = self.t.on_event_exclusive(&ev, &mut cpu, 1);
        let shown = self.t.wants_exits();
        self.t.drain_unfinished(2);
        shown
    }
}

#[test]
fn reads_of_other_files_are_dropped_lock_free_once_seen() {
    let mut r = Rig::new();
    let early = r.t.early();
    assert!(!r.enter(READ, &[3, SP, 1]), "fd 3 is /tmp/a");
    assert_eq!(early.check_enter(READ, Bitness::B64), EnterCheck::Paths(1));
    let dropped = r.t.stats().enters;
    assert!(!early.paths_pass(1, &[3, 0, 0, 0, 0, 0], CR3), "known");
    assert_eq!(r.t.stats().enters, dropped + 1, "counted");
    // Not looked at yet, or in another address space: the full path.
    assert!(early.paths_pass(1, &[5, 0, 0, 0, 0, 0], CR3));
    assert!(early.paths_pass(1, &[3, 0, 0, 0, 0, 0], CR3 + 0x2000));
    // fd 4 names the path: shown, and never kept.
    assert!(r.enter(READ, &[4, SP, 1]));
    assert!(r.enter(READ, &[4, SP, 1]));
    // A negative descriptor names nothing.
    assert!(!early.paths_pass(1, &[u64::MAX, 0, 0, 0, 0, 0], CR3));
}

#[test]
fn any_call_that_may_change_a_table_starts_the_cache_over() {
    let mut r = Rig::new();
    let early = r.t.early();
    assert!(!r.enter(READ, &[3, SP, 1]));
    assert!(!early.unsettles(READ, Bitness::B64));
    // close(3) and a new open on /tmp/p at 3: the next read shows.
    assert!(!r.enter(CLOSE, &[3]));
    assert!(early.unsettles(CLOSE, Bitness::B64));
    r.fds.lock().unwrap()[0].1 = "/tmp/p".into();
    assert!(early.paths_pass(1, &[3, 0, 0, 0, 0, 0], CR3));
    assert!(r.enter(READ, &[3, SP, 1]));
    // A return after such a call starts it over as well (a dup2 lands
    // between its enter and its return).
    r.fds.lock().unwrap()[0].1 = "/tmp/a".into();
    assert!(!r.enter(READ, &[3, SP, 1]));
    assert!(!early.paths_pass(1, &[3, 0, 0, 0, 0, 0], CR3));
    early.settle();
    assert!(early.paths_pass(1, &[3, 0, 0, 0, 0, 0], CR3));
}

#[test]
fn calls_that_hide_table_changes_turn_the_cache_off() {
    let mut r = Rig::new();
    let early = r.t.early();
    // A thread (CLONE_VM|CLONE_FILES|...) keeps it on.
    r.enter(CLONE, &[0x3d0f00, 0x7000_0000]);
    assert!(!r.enter(READ, &[3, SP, 1]));
    assert_eq!(early.check_enter(READ, Bitness::B64), EnterCheck::Paths(1));
    // A thread with a table of its own turns it off.
    r.enter(CLONE, &[0x100 | 0x800 | 0x10000, 0x7000_0000]);
    assert_eq!(early.check_enter(READ, Bitness::B64), EnterCheck::Full);
    // So does io_uring, by its name alone.
    let mut r = Rig::new();
    let early = r.t.early();
    assert!(!r.enter(READ, &[3, SP, 1]));
    r.enter(IO_URING_SETUP, &[8, 0x7fff_2000]);
    assert_eq!(early.check_enter(READ, Bitness::B64), EnterCheck::Full);
    assert!(!r.enter(READ, &[3, SP, 1]), "still filtered, the long way");
}
