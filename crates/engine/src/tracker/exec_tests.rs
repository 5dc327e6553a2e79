//! Tests of a successful exec in a process of several threads, on
//! synthetic events: the calls in flight in the other threads end with
//! it (the kernel kills those threads), as records of their own before
//! the exec's; and which thread a return to a shared stack belongs to
//! (a vfork child's).

use super::test_os::{Running, Scripted};
use super::*;
use crate::EngineConfig;
use vstrace_core::cpu::SnapshotCpu;
use vstrace_core::hooks::Hooks;
use vstrace_core::testmem::SparseVirt;
use vstrace_core::{Mechanism, Reg, Regs};

const CR3: u64 = 0x1234_5000;
const RIP: u64 = 0x40_1000;

struct Rig {
    t: Tracker,
    mem: SparseVirt,
    thread: Running,
    now: u64,
}

impl Rig {
    fn new() -> Rig {
        let cfg = EngineConfig {
            follow_forks: true,
            ..Default::default()
        };
        let (os, thread, _) = Scripted::new();
        let mut mem = SparseVirt::new();
        mem.map_zeroed(0x7fff_0000, 0x10000);
        mem.map(0x60_0000, b"/bin/x\0");
        // struct timespec {123, 0} for nanosleep.
        let ts: Vec<u8> = [123u64, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
        mem.map(0x61_0000, &ts);
        Rig {
            t: Tracker::new(&cfg, Box::new(os), Hooks::new()).unwrap(),
            mem,
            thread,
            now: 0,
        }
    }

    /// Makes thread `tid` of process `pid` (task `tid * 0x1000`) the
    /// running one.
    fn on(&mut self, pid: u32, tid: u32) {
        *self.thread.lock().unwrap() = (u64::from(tid) * 0x1000, pid, tid);
    }

    fn event(&mut self, ev: Event) -> Vec<Record> {
        self.now += 10;
        let mut cpu = SnapshotCpu {
            regs: ev.regs.clone(),
            mem: &mut self.mem,
        };
        let r = self.t.on_event_exclusive(&ev, &mut cpu, self.now);
        // Entry announcements (text of a -f log) aside: the records.
        r.into_iter()
            .chain(self.t.take_extra())
            .filter(|r| !r.entry_only)
            .collect()
    }

    fn enter(&mut self, nr: u64, args: &[u64], sp: u64, cr3: u64) -> Vec<Record> {
        let mut r = Regs {
            cr3,
            cs: 0x33,
            ..Default::default()
        };
        r.set(Reg::Rax, nr);
        for (reg, v) in [Reg::Rdi, Reg::Rsi, Reg::Rdx, Reg::R10].iter().zip(args) {
            r.set(*reg, *v);
        }
        r.set(Reg::Rsp, sp);
        r.set(Reg::Rip, RIP);
        self.event(Event::new(0, Mechanism::Syscall, Bitness::B64, r))
    }

    /// sysretq back to RIP+2 with `sp` and return value `rax`.
    fn sysret(&mut self, rax: u64, sp: u64, cr3: u64) -> Vec<Record> {
        let r = super::test_os::sysret_regs(rax, RIP + 2, sp, cr3);
        self.event(Event::new(0, Mechanism::Sysret, Bitness::B64, r))
    }

    /// A new image's first return (iretq, general registers zeroed) in
    /// address space `cr3`.
    fn exec_return(&mut self, cr3: u64) -> Vec<Record> {
        self.iret(0x40_0000, 0x7fff_e000, cr3, 0)
    }

    /// An iretq to user `ip` and `sp` in address space `cr3`, rax `rax`
    /// (the other general registers zeroed).
    fn iret(&mut self, ip: u64, sp: u64, cr3: u64, rax: u64) -> Vec<Record> {
        let kstack = 0x7fff_8000;
        let frame: Vec<u8> = [ip, 0x33, 0x202, sp, 0x2b]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        self.mem.write_virt(kstack, &frame).unwrap();
        let mut r = Regs {
            cr3,
            cs: 0x10,
            efer: vstrace_core::event::EFER_LMA,
            ..Default::default()
        };
        r.set(Reg::Rsp, kstack);
        r.set(Reg::Rax, rax);
        self.event(Event::new(0, Mechanism::Iret, Bitness::B64, r))
    }
}

/// A thread's exec ends the leader's nanosleep and another thread's
/// read: their records (unfinished, `ended_by_exec`, oldest first) come
/// before the exec's, which lists them for its text; a vfork-like call
/// of another process in the same space keeps going.
#[test]
fn an_exec_ends_the_calls_of_the_other_threads() {
    let mut r = Rig::new();
    r.on(100, 100);
    assert!(r.enter(35, &[0x61_0000, 0], 0x7fff_1000, CR3).is_empty());
    r.on(100, 102);
    assert!(r
        .enter(0, &[3, 0x7fff_5000, 16], 0x7fff_3000, CR3)
        .is_empty());
    // Another process sharing the space (a vfork parent) waits.
    r.on(200, 200);
    assert!(r
        .enter(61, &[u64::MAX, 0, 0, 0], 0x7fff_4000, CR3)
        .is_empty());
    r.on(100, 101);
    assert!(r.enter(59, &[0x60_0000, 0, 0], 0x7fff_2000, CR3).is_empty());
    // The exec returns as the leader: the same task, the leader's id.
    *r.thread.lock().unwrap() = (101 * 0x1000, 100, 100);
    let out = r.exec_return(0x2000_0000);
    let names: Vec<_> = out.iter().map(|x| (&*x.name, x.state)).collect();
    assert_eq!(
        names,
        [
            ("nanosleep", CallState::Unfinished),
            ("read", CallState::Unfinished),
            ("execve", CallState::Complete)
        ]
    );
    let (sleep, read, exec) = (&out[0], &out[1], &out[2]);
    assert_eq!((sleep.tid, sleep.ended_by_exec), (Some(100), Some(101)));
    assert_eq!((read.tid, read.ended_by_exec), (Some(102), Some(101)));
    assert!(sleep.ret.is_none() && sleep.ts_exit_ns.is_none());
    // nanosleep prints its remaining time at the exit, read its buffer.
    assert_eq!(
        (sleep.first_exit_arg, read.first_exit_arg),
        (Some(1), Some(1))
    );
    assert_eq!(
        (exec.tid, exec.new_tid, exec.ret),
        (Some(101), Some(100), Some(0))
    );
    assert_eq!(exec.ended, [sleep.clone(), read.clone()]);
    // JSON: the ended calls say so; the exec's copy of them is text only.
    let j = serde_json::to_string(sleep).unwrap();
    assert!(
        j.contains(r#""state":"unfinished","ended_by_exec":101"#),
        "{j}"
    );
    assert!(!serde_json::to_string(exec).unwrap().contains("ended"));
    // The other process's wait is still in flight; nothing else is.
    let left = r.t.drain_unfinished(0);
    assert_eq!(left.len(), 1);
    assert_eq!((&*left[0].name, left[0].pid), ("wait4", Some(200)));
}

/// An exec in a process with no other call in flight ends nothing; a
/// failed exec ends nothing either.
#[test]
fn an_exec_alone_or_failing_ends_nothing() {
    let mut r = Rig::new();
    r.on(100, 100);
    r.enter(35, &[0x61_0000, 0], 0x7fff_1000, CR3);
    r.on(100, 101);
    r.enter(59, &[0x60_0000, 0, 0], 0x7fff_2000, CR3);
    // ENOENT: back to the caller by sysretq.
    let mut regs = Regs {
        cr3: CR3,
        cs: 0x10,
        ..Default::default()
    };
    regs.set(Reg::Rax, (-2i64) as u64);
    regs.set(Reg::Rcx, RIP + 2);
    regs.set(Reg::Rsp, 0x7fff_2000);
    let out = r.event(Event::new(0, Mechanism::Sysret, Bitness::B64, regs));
    assert_eq!(out.len(), 1);
    assert!(out[0].ended.is_empty() && out[0].errno.is_some());
    // The leader alone execs: its own call is the only one.
    r.on(100, 100);
    let left = r.t.drain_unfinished(0);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].name, "nanosleep");
    r.enter(59, &[0x60_0000, 0, 0], 0x7fff_1000, CR3);
    let out = r.exec_return(0x2000_0000);
    assert_eq!(out.len(), 1);
    assert!(out[0].ended.is_empty() && out[0].new_tid.is_none());
}

/// A process's exit_group ends the calls in flight of its other threads
/// (they never return): they leave the calls in flight at once, so the
/// early-out again drops returns, and become records after the
/// exit_group's (unfinished, `ended_by_exit`), which its exit record
/// lists for strace's `<... read resumed>) = ?` and the thread's exit
/// line; another process's call in the same space (a vfork parent)
/// stays in flight.
#[test]
fn an_exit_group_ends_the_calls_of_the_other_threads() {
    let mut r = Rig::new();
    r.on(100, 101);
    assert!(r
        .enter(0, &[3, 0x7fff_5000, 16], 0x7fff_3000, CR3)
        .is_empty());
    r.on(200, 200);
    assert!(r
        .enter(61, &[u64::MAX, 0, 0, 0], 0x7fff_4000, CR3)
        .is_empty());
    r.on(100, 100);
    assert!(r.t.wants_exits());
    let out = r.enter(231, &[3], 0x7fff_1000, CR3);
    let names: Vec<_> = out.iter().map(|x| (&*x.name, x.state)).collect();
    assert_eq!(
        names,
        [
            ("exit_group", CallState::NoReturn),
            ("read", CallState::Unfinished),
            ("exit_group", CallState::Exited)
        ]
    );
    let (read, exit) = (&out[1], &out[2]);
    assert_eq!(
        (read.tid, read.ended_by_exit, read.exit_status),
        (Some(101), Some(100), Some(3))
    );
    assert!(read.ret.is_none() && read.ts_exit_ns.is_none());
    assert_eq!(read.first_exit_arg, Some(1));
    assert_eq!((exit.ret, &exit.ended), (Some(3), &vec![read.clone()]));
    let j = serde_json::to_string(read).unwrap();
    assert!(j.contains(r#""ended_by_exit":100"#), "{j}");
    // Only the vfork parent's wait4 is in flight.
    assert_eq!(r.t.early.inflight.load(Ordering::Relaxed), 1);
    let left = r.t.drain_unfinished(0);
    let left: Vec<_> = left.iter().map(|x| (&*x.name, x.tid)).collect();
    assert_eq!(left, [("wait4", Some(200))]);
    assert!(!r.t.wants_exits());
}

/// A process killed by a signal makes no call: its death shows when its
/// parent reaps it. The calls its threads had in flight then leave the
/// calls in flight (reported at the end, as before).
#[test]
fn a_child_reaped_killed_ends_its_calls() {
    let mut r = Rig::new();
    const CHILD: u64 = 0x2000_0000;
    r.on(300, 300);
    assert!(r
        .enter(0, &[3, 0x7fff_5000, 16], 0x7fff_3000, CHILD)
        .is_empty());
    r.on(100, 100);
    // wait4(-1, &status, 0, NULL): status 9, killed by SIGKILL.
    r.mem.write_virt(0x7fff_6000, &9u32.to_le_bytes()).unwrap();
    assert!(r
        .enter(61, &[u64::MAX, 0x7fff_6000, 0, 0], 0x7fff_1000, CR3)
        .is_empty());
    let out = r.sysret(300, 0x7fff_1000, CR3);
    let names: Vec<_> = out.iter().map(|x| (&*x.name, x.state)).collect();
    assert!(names.contains(&("wait4", CallState::Complete)), "{names:?}");
    assert_eq!(r.t.early.inflight.load(Ordering::Relaxed), 0);
    let left = r.t.drain_unfinished(0);
    let left: Vec<_> = left.iter().map(|x| (&*x.name, x.tid)).collect();
    assert_eq!(left, [("read", Some(300))]);
}

/// A vfork child returns to its parent's stack and ip: while the
/// parent's vfork is in flight the returning thread tells them apart
/// (its child's first return is not the vfork's), the child's own call
/// pairs with its return, and the parent's vfork with its own once the
/// child is gone.
#[test]
fn a_vfork_child_returns_on_its_parents_stack() {
    const SP: u64 = 0x7fff_1000;
    let mut r = Rig::new();
    r.on(100, 100);
    assert!(r.enter(58, &[], SP, CR3).is_empty());
    r.on(101, 101);
    let out = r.sysret(0, SP, CR3);
    assert!(
        out.iter()
            .all(|x| !(x.name == "vfork" && x.state == CallState::Complete)),
        "the child's first return ended its parent's vfork: {out:?}"
    );
    // An interrupt's return to the child there: told apart the same way
    // (the returning thread is read under the calls' lock).
    let out = r.iret(RIP + 2, SP, CR3, 5);
    assert!(
        out.iter().all(|x| x.name != "vfork"),
        "an interrupt's return ended the parent's vfork: {out:?}"
    );
    assert!(r.enter(39, &[], SP, CR3).is_empty());
    let out = r.sysret(101, SP, CR3);
    let getpid: Vec<_> = out.iter().filter(|x| x.name == "getpid").collect();
    assert_eq!(getpid.len(), 1, "{out:?}");
    assert_eq!((getpid[0].pid, getpid[0].ret), (Some(101), Some(101)));
    r.enter(231, &[0], SP, CR3);
    r.on(100, 100);
    let out = r.sysret(101, SP, CR3);
    let vfork: Vec<_> = out.iter().filter(|x| x.name == "vfork").collect();
    assert_eq!(vfork.len(), 1, "{out:?}");
    assert_eq!(
        (vfork[0].pid, vfork[0].ret, vfork[0].state),
        (Some(100), Some(101), CallState::Complete)
    );
}
