//! `-c`'s lane: a plain call that is only counted (no argument, no return
//! text, no hook, rule or name that could look at it) goes from its enter
//! to its record without the general path's work, which decodes, runs
//! hooks, reads names and keeps a modifiable `Syscall` per event. The
//! summary needs a call's name, its error or not, and its time; the
//! record built here carries exactly that, and the sink counts it as it
//! counts any other (issue 18: "`-c` reads only the number, the return
//! value and the time").
//!
//! Calls that make process events (fork, exec, exit, waits), calls that
//! return elsewhere (sigreturn) or never, and multiplexers stay on the
//! general path: the process tree and the scope need what it reads.

use super::*;

impl Tracker {
    /// Decides once whether `-c`'s lane is open (see
    /// [`Tracker::count_lane_enabled`]).
    pub(super) fn with_count_lane(mut self) -> Tracker {
        self.count_lane = self.count_lane_enabled();
        self
    }

    /// Whether calls may take the lane at all (fixed at construction): a
    /// Linux guest under `-c` without `-C`, with nothing that reads or
    /// changes arguments, names or returns.
    pub(super) fn count_lane_enabled(&self) -> bool {
        self.count_only
            && self.os_kind == Os::Linux
            && !self.has_hooks
            && !self.has_injects
            && self.rewrites.is_empty()
            && self.trace_fds.is_empty()
            && self.trace_paths.is_empty()
            && !self.names.any()
            && !self.callers
            && !self.stacks
            && !self.want_ip
            && !self.record_names
            && !self.dumps().any()
    }

    /// Whether the call `info`, shown by the filter, is a plain one for
    /// the lane (see the module doc).
    pub(super) fn counts_plainly(&self, info: &CallInfo) -> bool {
        self.count_lane
            && !info.exec
            && !info.fork
            && !info.noreturn
            && !info.ends_process
            && !info.returns_elsewhere
            && !self.os.reaps(info)
            && !self.os.multiplexer(info)
            && !attrib::changes_attribution(info)
    }

    /// The lane's enter: the call in flight with only what its count and
    /// its pairing need (`key`, `ret_ip` and `thread` as the general path
    /// reads them; the caller as the scope check read it, `gens` the
    /// generations it was read in).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn count_enter(
        &self,
        event: &Event,
        cpu: &mut dyn Cpu,
        info: CallInfo,
        key: ThreadKey,
        ret_ip: Option<u64>,
        proc_info: Option<ProcInfo>,
        now: u64,
        gens: (u64, u64),
    ) {
        let (thread, cpu_at_enter) = self.count_reads(event, cpu);
        let order = self.order.fetch_add(1, Ordering::Relaxed);
        // Without a caller to carry, the vCPU's own lane (see [`lane`]).
        if self.lanes_on && proc_info.is_none() {
            let call = lane::LaneCall {
                key,
                head: records::BareHead::of(info, event, order, ret_ip, thread, now),
                kernel32: records::kernel32(event),
                cpu_at_enter,
            };
            // The caller was admitted as of `gens` (the scope's and the
            // attributions' generations at the enter's start).
            self.lane_enter(call, lane::Admit::Issue(gens));
            return;
        }
        let pending = records::boxed_pending(Pending {
            shown: true,
            proc_info,
            cpu_at_enter,
            ..Pending::bare(
                records::BareHead::of(info, event, order, ret_ip, thread, now),
                records::kernel32(event),
            )
        });
        self.insert(key, pending);
    }

    /// What a counted call's enter reads of its caller: its thread (when
    /// calls are paired by thread) and its system CPU time so far (when
    /// the table or a recording needs it).
    pub(super) fn count_reads(
        &self,
        event: &Event,
        cpu: &mut dyn Cpu,
    ) -> (Option<u64>, Option<u64>) {
        let thread = if self.pair_by_thread {
            self.running_task(event, cpu.mem())
        } else {
            None
        };
        let cpu_at_enter = if self.cpu_read {
            self.thread_cpu_ns(event, cpu.mem())
        } else {
            None
        };
        (thread, cpu_at_enter)
    }

    /// The system CPU time the returning thread used since its account
    /// read `at_enter` at the call's enter: the growth of the account
    /// (None when it was not read then or cannot be read now). `task`:
    /// the call's thread as its enter read it (the thread returning now),
    /// else the running one is read.
    pub(super) fn cpu_used_since(
        &self,
        at_enter: Option<u64>,
        task: Option<u64>,
        event: &Event,
        cpu: &mut dyn Cpu,
    ) -> Option<u64> {
        let at_enter = at_enter?;
        let now = match task {
            Some(t) => self.os.thread_cpu_ns(event, t, cpu.mem()),
            None => self.thread_cpu_ns(event, cpu.mem()),
        };
        now.map(|now| now.saturating_sub(at_enter))
    }

    /// The return value of a counted call of width `bitness`, as its
    /// record keeps it: read at the call's own width, as
    /// `Syscall::return_value` reads it for the general path.
    pub(super) fn call_return(&self, bitness: Bitness, cpu: &mut dyn Cpu) -> i64 {
        let ret = vstrace_core::syscall::return_at_width(cpu.regs().rax(), bitness);
        self.os.record_return(ret)
    }

    /// Whether the call in flight `p` took the lane at its enter (and so
    /// may end through [`Tracker::count_finish`]).
    pub(super) fn took_count_lane(&self, p: &Pending) -> bool {
        self.count_lane
            && p.shown
            && p.inject.is_none()
            && p.pokes_exit.is_empty()
            && p.delay_exit_us == 0
            && !p.root_exec
            && !p.pre_scope
            && !p.comm_exec
            && self.counts_plainly(&p.info)
    }

    /// The lane's exit: the call's time and return, and its record for
    /// the summary.
    pub(super) fn count_finish(
        &self,
        mut p: Box<Pending>,
        event: &Event,
        cpu: &mut dyn Cpu,
        now: u64,
    ) -> Record {
        p.cpu_used = self.cpu_used_since(p.cpu_at_enter, p.thread, event, cpu);
        let ret = self.call_return(p.bitness, cpu);
        self.record(p, CallState::Complete, Some(ret), Some(now))
    }
}

#[cfg(test)]
mod tests {
    //! The lane's records against the general path's, on synthetic events.

    use vstrace_core::cpu::SnapshotCpu;
    use vstrace_core::hooks::Hooks;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::{Reg, Regs};
    use vstrace_linux::LinuxLayer;

    use super::*;
    use crate::output::status;

    const CR3: u64 = 0x1234_5000;
    const RIP: u64 = 0x40_1000;
    const SP: u64 = 0x7fff_1000;

    /// A 64-bit syscall enter of call `nr` with first argument `arg`.
    fn enter_regs(nr: u64, arg: u64) -> Regs {
        let mut r = Regs {
            cr3: CR3,
            cs: 0x33,
            ..Default::default()
        };
        r.set(Reg::Rax, nr);
        r.set(Reg::Rdi, arg);
        r.set(Reg::Rsp, SP);
        r.set(Reg::Rip, RIP);
        r
    }

    /// Its sysret, returning `ret`.
    fn exit_regs(ret: u64) -> Regs {
        let mut r = Regs {
            cr3: CR3,
            cs: 0x10,
            ..Default::default()
        };
        r.set(Reg::Rax, ret);
        r.set(Reg::Rcx, RIP + 2);
        r.set(Reg::Rsp, SP);
        r
    }

    /// What a tracker made of some calls: whether `-c`'s lane was open,
    /// its records, and the rows its per-vCPU lanes counted.
    type Made = (
        bool,
        Vec<Record>,
        Vec<(String, u64, crate::summary::RowCounts)>,
    );

    /// getppid (110) and a failing close(-1) (3), each entered and
    /// returned by sysret, through a tracker for `cfg`; `exit_vcpu`: the
    /// vCPU the returns come back on (the enters are on vCPU 0).
    fn two_calls_on(cfg: &EngineConfig, exit_vcpu: u32) -> Made {
        let mut t = Tracker::new(cfg, Box::new(LinuxLayer::default()), Hooks::new()).unwrap();
        let mut mem = SparseVirt::new();
        let mut now = 0;
        let mut out = Vec::new();
        for (nr, arg, ret) in [(110u64, 0u64, 42u64), (3, u64::MAX, (-9i64) as u64)] {
            let (enter, exit) = (enter_regs(nr, arg), exit_regs(ret));
            for (m, regs, vcpu) in [
                (Mechanism::Syscall, enter, 0),
                (Mechanism::Sysret, exit, exit_vcpu),
            ] {
                now += 10;
                let ev = Event::new(vcpu, m, Bitness::B64, regs.clone());
                let mut cpu = SnapshotCpu {
                    regs,
                    mem: &mut mem,
                };
                out.extend(t.on_event_exclusive(&ev, &mut cpu, now));
            }
        }
        let mut rows = t.take_lane_rows();
        rows.sort_by_key(|r| r.1);
        (t.count_lane, out, rows)
    }

    /// `rounds` getppid calls (enter and sysret on vCPU 0, at times 10
    /// apart) through a tracker for `cfg`, each event offered to the
    /// lane alone first (as the engine does) when `lane_first`: the rows
    /// counted and the events the lane handled alone.
    fn getppids(cfg: &EngineConfig, rounds: u64, lane_first: bool) -> (Made, (u64, u64)) {
        let t = Tracker::new(cfg, Box::new(LinuxLayer::default()), Hooks::new()).unwrap();
        let mut mem = SparseVirt::new();
        let mut out = Vec::new();
        // The enters and the returns the lane handled alone.
        let mut alone = (0, 0);
        for i in 0..rounds {
            let (enter, exit) = (enter_regs(110, 0), exit_regs(42));
            for (k, (m, regs)) in [(Mechanism::Syscall, enter), (Mechanism::Sysret, exit)]
                .into_iter()
                .enumerate()
            {
                let now = 20 * i + 10 * k as u64 + 10;
                let ev = Event::new(0, m, Bitness::B64, regs.clone());
                let mut cpu = SnapshotCpu {
                    regs,
                    mem: &mut mem,
                };
                if lane_first && t.lane_event(&ev, &mut cpu, &|| now) {
                    match k {
                        0 => alone.0 += 1,
                        _ => alone.1 += 1,
                    }
                    continue;
                }
                out.extend(t.on_event(&ev, &mut cpu, now));
            }
        }
        let stats = t.stats();
        assert_eq!((stats.enters, stats.exits), (rounds, rounds));
        let mut rows = t.take_lane_rows();
        rows.sort_by_key(|r| r.1);
        ((t.count_lane, out, rows), alone)
    }

    #[test]
    fn the_lanes_own_path_counts_what_the_general_path_counts() {
        let counted = counted();
        let ((_, recs, general), none) = getppids(&counted, 5, false);
        let ((_, lane_recs, alone), (enters, exits)) = getppids(&counted, 5, true);
        assert_eq!(none, (0, 0));
        assert!(recs.is_empty() && lane_recs.is_empty());
        // Without a scope, every enter and return is the lane's own.
        assert_eq!((enters, exits), (5, 5));
        assert_eq!(alone.len(), 1);
        assert_eq!(
            (alone[0].2.calls, alone[0].2.ns),
            (general[0].2.calls, general[0].2.ns)
        );
        assert_eq!(alone[0].2.calls, 5);
    }

    #[test]
    fn a_ticket_holds_only_as_long_as_the_scope_and_attributions_it_was_issued_in() {
        let counted = counted();
        let t = Tracker::new(&counted, Box::new(LinuxLayer::default()), Hooks::new()).unwrap();
        let call = || {
            let ev = Event::new(0, Mechanism::Syscall, Bitness::B64, enter_regs(110, 0));
            let info = t.os.identify(&ev, 110);
            lane::LaneCall {
                key: ThreadKey { cr3: CR3, sp: SP },
                head: records::BareHead::of(info, &ev, 0, Some(RIP + 2), None, 0),
                kernel32: false,
                cpu_at_enter: None,
            }
        };
        let gens = |t: &Tracker| (t.scope_gen.load(Ordering::Acquire), t.attrib.generation());
        // No ticket yet: the general path's.
        assert!(!t.lane_enter(call(), lane::Admit::Ticket(gens(&t))));
        assert!(t.lane_enter(call(), lane::Admit::Issue(gens(&t))));
        assert!(t.lane_enter(call(), lane::Admit::Ticket(gens(&t))));
        // A process event (the attributions cleared) voids it.
        t.clear_attrib();
        assert!(!t.lane_enter(call(), lane::Admit::Ticket(gens(&t))));
        assert!(t.lane_enter(call(), lane::Admit::Issue(gens(&t))));
        // So does any change of the scope.
        t.scope_gen.fetch_add(1, Ordering::AcqRel);
        assert!(!t.lane_enter(call(), lane::Admit::Ticket(gens(&t))));
        // And it is used up after as many calls as a cached attribution.
        assert!(t.lane_enter(call(), lane::Admit::Issue(gens(&t))));
        for _ in 0..attrib::MAX_USES {
            assert!(t.lane_enter(call(), lane::Admit::Ticket(gens(&t))));
        }
        assert!(!t.lane_enter(call(), lane::Admit::Ticket(gens(&t))));
    }

    /// `-c`'s configuration.
    fn counted() -> EngineConfig {
        EngineConfig {
            summary: true,
            ..EngineConfig::default()
        }
    }

    fn two_calls(cfg: &EngineConfig) -> Made {
        two_calls_on(cfg, 0)
    }

    /// `-c` with a status filter: the sink filters records, so the lane's
    /// calls end as records (not in the per-vCPU lanes' rows).
    fn counted_as_records() -> EngineConfig {
        let mut cfg = counted();
        cfg.display.status = Some(status::SUCCESSFUL | status::FAILED);
        cfg
    }

    #[test]
    fn counted_calls_take_the_lane_and_carry_what_the_summary_reads() {
        let (lane, recs, rows) = two_calls(&counted_as_records());
        assert!(lane);
        assert!(rows.is_empty());
        let (general_lane, general, _) = two_calls(&EngineConfig::default());
        assert!(!general_lane);
        assert_eq!(recs.len(), 2);
        for (r, g) in recs.iter().zip(&general) {
            assert_eq!(r.name, g.name);
            assert_eq!(r.nr, g.nr);
            assert_eq!(r.ret, g.ret);
            assert_eq!(r.errno, g.errno);
            assert_eq!(r.state, CallState::Complete);
            assert_eq!((r.ts_enter_ns, r.ts_exit_ns), (g.ts_enter_ns, g.ts_exit_ns));
            // Nothing decoded for a count.
            assert!(r.args.is_empty() && r.ret_text.is_none());
        }
        assert_eq!(recs[1].errno.as_deref(), Some("EBADF"));
    }

    #[test]
    fn plain_counts_stay_in_the_vcpu_lane_as_the_summary_would_count_them() {
        let counted = counted();
        let (lane, recs, rows) = two_calls(&counted);
        assert!(lane);
        assert!(recs.is_empty(), "no record for a plain count");
        let (_, recs, _) = two_calls(&counted_as_records());
        let mut table = crate::summary::Summary::default();
        for r in &recs {
            table.add(r);
        }
        let mut merged = crate::summary::Summary::default();
        for (name, nr, c) in &rows {
            merged.merge_counts(name, *nr, c);
        }
        assert_eq!(merged.render(), table.render());
        let names: Vec<_> = rows
            .iter()
            .map(|r| (r.0.as_str(), r.2.calls, r.2.errors))
            .collect();
        assert_eq!(names, [("close", 1, 1), ("getppid", 1, 0)]);
        // The guest's CPU account is unreadable here: the wall time.
        assert_eq!(rows[1].2.ns, 10);
    }

    #[test]
    fn a_call_returning_on_another_vcpu_ends_through_the_shared_map() {
        let counted = counted();
        // Entered in vCPU 0's lane, returned on vCPU 1: the return finds
        // the call after the lanes moved their calls to the shared map.
        let (_, recs, rows) = two_calls_on(&counted, 1);
        assert!(rows.is_empty());
        let got: Vec<_> = recs
            .iter()
            .map(|r| (r.name.as_ref(), r.errno.clone()))
            .collect();
        assert_eq!(
            got,
            [("getppid", None), ("close", Some("EBADF".to_string()))]
        );
    }

    #[test]
    fn hooks_rules_and_names_close_the_lane() {
        let with = |f: fn(&mut EngineConfig)| {
            let mut c = counted();
            f(&mut c);
            two_calls(&c).0
        };
        assert!(!with(|c| c.inject = vec!["getppid:error=EPERM".into()]));
        assert!(!with(|c| c.trace_fds = vec![3]));
        assert!(!with(|c| c.display.summary.with_records = true));
        assert!(!with(|c| c.names.fd_path = true));
    }
}
