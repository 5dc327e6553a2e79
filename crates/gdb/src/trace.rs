//! The trace loop of an attached session: resume the VM, classify each
//! stop (system call entry, `pt_regs->ax` write, return of the call into
//! the C handler, `sysretq` or `iretq` path), turn it into an [`Event`] for
//! the engine with one handler per kind, move the vCPU past the trap, and
//! arm the return traps only while a return can matter (each stop costs
//! QEMU TCG a flush of all translated code, and a KVM guest a VM exit and
//! a pause of every vCPU).

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use vstrace_core::gdbregs::{bitness, decode_le};
use vstrace_core::mem::VirtMem;
use vstrace_core::{Bitness, Event, Mechanism, Reg, Regs};
use vstrace_engine::Engine;

use crate::discover::{AfterCall, Discovery, EntrySave};
use crate::error::BackendError;
use crate::linux_frame::{
    after_swapgs, emulate_after_call, entry_snapshot, is_user_addr, pt_regs_offset,
    pt_regs_snapshot, AxWatches, Frame, GdbCpu, PT_REGS_ORIG_AX, PT_REGS_SIZE,
};
use crate::options::{AttachOptions, EntryTrap, ResumeBy, RunStats};
use crate::rsp::StopReply;
use crate::target::Target;

/// Enters in a row that needed no exit before the return paths are
/// disarmed.
const IDLE_ENTERS: u32 = 8;

/// Traces until `stop` is set or `duration` passes (the breakpoints stay
/// in place: the caller detaches).
pub(crate) fn run(
    t: &mut Target,
    opts: &AttachOptions,
    d: &Discovery,
    engine: &mut Engine,
    stop: &AtomicBool,
    duration: Option<Duration>,
) -> Result<RunStats, BackendError> {
    let start = Instant::now();
    let deadline = duration.map(|du| start + du);
    let ex0 = t.client().exchanges;
    let mut session = Session::new(t, opts, d)?;
    while session.next(engine, stop, deadline)? {}
    let mut st = session.st;
    st.exchanges = t.client().exchanges - ex0;
    st.elapsed = start.elapsed();
    Ok(st)
}

/// One stop of the VM, classified by its address and the watchpoint that
/// fired.
struct Stop {
    /// The stopped vCPU's registers.
    regs: Regs,
    /// Its number (from the stop reply's thread).
    vcpu: u32,
    /// At the entry trap: after the per-cpu save with the watchpoint, on
    /// the `swapgs` with the breakpoint.
    at_entry: bool,
    /// A write to this watched `pt_regs->ax`: the entry's own push of
    /// -ENOSYS (rip still in the entry code) or the return value.
    ax_hit: Option<u64>,
    /// At the return of the entry's call into the C handler.
    after_call: Option<AfterCall>,
}

/// The state of a tracing session.
struct Session<'a> {
    /// The VM.
    t: &'a mut Target,
    /// The session's options.
    opts: &'a AttachOptions,
    /// Where the traps go.
    d: &'a Discovery,
    /// How entries are trapped.
    entry: EntryArm,
    /// Returns by watchpoints on each call's pt_regs->ax (Linux, with
    /// watchpoint entries and the handler call recognised: no breakpoint
    /// stop, hence no TCG flush, on the common path): the per-cpu slot of
    /// the kernel stack top and the after-call address.
    ax_watch: Option<(u64, u64)>,
    /// The breakpoints that trap returns while an exit matters.
    exit_bps: Vec<u64>,
    /// The breakpoints that trap fork children's first returns (the iret
    /// path, when the after-call trap sees every other return).
    child_bps: Vec<u64>,
    /// The ax watches of calls in flight.
    watches: AxWatches,
    /// Whether `exit_bps` are in place.
    exits_armed: bool,
    /// Whether `child_bps` are in place.
    child_armed: bool,
    /// Enters in a row that needed no exit.
    idle_enters: u32,
    /// Once asked to stop, calls whose return we change (injections,
    /// skips) are let finish first, with no new enters, until this time at
    /// most: detaching before their exit would leave the guest with a
    /// skipped call's error instead of the value we promised.
    drain_until: Option<Instant>,
    /// The counters so far.
    st: RunStats,
    /// Developer aid (`VSTRACE_GDB_DUMP`): the first stops, raw.
    dump: bool,
}

impl<'a> Session<'a> {
    /// Arms the entry trap and decides how returns are trapped.
    fn new(
        t: &'a mut Target,
        opts: &'a AttachOptions,
        d: &'a Discovery,
    ) -> Result<Session<'a>, BackendError> {
        let entry = arm_entry(t, d, opts.entry_trap, opts.verbose)?;
        if opts.verbose {
            match entry.watch {
                Some(w) => eprintln!(
                    "vstrace: gdb: entries trapped by write watchpoints at {:x?} (gs:{:#x})",
                    entry.traps, w.disp
                ),
                None => eprintln!(
                    "vstrace: gdb: entries trapped by a breakpoint at {:#x}",
                    d.entry_swapgs
                ),
            }
        }
        // With the after-call trap, the iret path is needed only for fork
        // children's first returns.
        let ax_watch = match (opts.exit_watch, entry.watch, d.stack_top, d.after_call) {
            (true, Some(_), Some(top), Some(ac)) => Some((top, ac.addr)),
            _ => None,
        };
        let (exit_bps, child_bps): (Vec<u64>, Vec<u64>) = match (&d.after_call, ax_watch) {
            (Some(_), Some(_)) => (Vec::new(), d.iret.clone()),
            (Some(ac), None) => (vec![ac.addr], d.iret.clone()),
            (None, _) => (
                d.sysret.iter().chain(&d.iret).copied().collect(),
                Vec::new(),
            ),
        };
        if opts.verbose && ax_watch.is_some() {
            eprintln!("vstrace: gdb: returns trapped by write watchpoints on pt_regs->ax");
        }
        let st = RunStats {
            entry_watch: entry.watch.is_some(),
            ..Default::default()
        };
        Ok(Session {
            t,
            opts,
            d,
            entry,
            ax_watch,
            exit_bps,
            child_bps,
            watches: AxWatches::default(),
            exits_armed: false,
            child_armed: false,
            idle_enters: 0,
            drain_until: None,
            st,
            dump: std::env::var_os("VSTRACE_GDB_DUMP").is_some(),
        })
    }

    /// Resumes the VM and handles its next stop; `false` ends the session.
    fn next(
        &mut self,
        engine: &mut Engine,
        stop: &AtomicBool,
        deadline: Option<Instant>,
    ) -> Result<bool, BackendError> {
        let resumed = Instant::now();
        self.t.resume()?;
        let (s, interrupted) = match self.drain_until {
            None => self.t.wait(deadline, Some(stop))?,
            Some(d) => self.t.wait(Some(d), None)?,
        };
        self.st.running += resumed.elapsed();
        let stop = self.classify(&s)?;
        let rip = stop.regs.rip();
        if let (Some(_), Some((_, call_ret))) = (stop.ax_hit, self.ax_watch) {
            if (self.d.entry..call_ret).contains(&rip) {
                // The entry's own write of -ENOSYS: not a return.
                self.st.stops += 1;
                return Ok(true);
            }
        }
        let trapped = stop.at_entry
            || stop.ax_hit.is_some()
            || stop.after_call.is_some()
            || self.d.sysret.contains(&rip)
            || self.d.iret.contains(&rip);
        if !trapped {
            return if interrupted {
                self.begin_drain(engine)
            } else {
                Ok(true)
            };
        }
        self.st.stops += 1;
        if self.dump && self.st.stops <= 12 {
            let r = &stop.regs;
            eprintln!(
                "vstrace: gdb: stop {} {s:?} rip {rip:#x} cs {:#x} gs {:#x} kgs {:#x} rcx {:#x} rax {:#x}",
                self.st.stops,
                r.cs,
                r.gs_base,
                r.k_gs_base,
                r.get(Reg::Rcx),
                r.rax()
            );
        }
        // With ax watches, the after-call breakpoint is in place only for
        // the calls that need it; a call it sees is done.
        if let (Some(_), Some(_)) = (stop.after_call, self.ax_watch) {
            self.watches.returned(self.t, stop.regs.rsp())?;
        }
        let ev = if stop.at_entry {
            self.on_entry(&stop)
        } else if let Some(slot) = stop.ax_hit {
            self.on_ax_write(&stop, slot)?
        } else if stop.after_call.is_some() {
            self.on_after_call(&stop)
        } else if self.d.sysret.contains(&rip) {
            Some(on_sysret(&stop))
        } else {
            self.on_iret(&stop)
        };
        if let Some((event, frame)) = ev {
            self.deliver(engine, &event, frame);
        }
        self.resume_past(&stop)?;
        if self.drain_until.is_some() {
            return Ok(!interrupted && engine.awaits_injected_returns());
        }
        // A trace nobody can receive (closed pipe, full disk) ends the
        // session, the VM left running.
        if engine.output_error().is_some() {
            return Ok(false);
        }
        if interrupted {
            return self.begin_drain(engine);
        }
        self.rearm(&stop, engine)?;
        Ok(true)
    }

    /// Reads the stopped vCPU and says which trap it is at.
    fn classify(&mut self, s: &StopReply) -> Result<Stop, BackendError> {
        let regs = self.t.regs()?;
        let rip = regs.rip();
        // With the watchpoint the vCPU stops after the save, swapgs done;
        // with the breakpoint, on the swapgs.
        let at_entry = match self.entry.watch {
            Some(w) => rip == w.after,
            None => rip == self.d.entry_swapgs,
        };
        let ax_hit = s
            .info
            .iter()
            .find(|(k, _)| k == "watch")
            .and_then(|(_, v)| u64::from_str_radix(v, 16).ok())
            .filter(|&a| self.watches.watches(a));
        Ok(Stop {
            vcpu: s.vcpu(),
            at_entry,
            ax_hit,
            after_call: self.d.after_call.filter(|ac| ac.addr == rip),
            regs,
        })
    }

    /// At the entry trap: the user-mode `syscall` trap.
    fn on_entry(&self, stop: &Stop) -> Option<(Event, Frame)> {
        let r = &stop.regs;
        // A `syscall` from kernel mode cannot happen; rcx in the kernel
        // half means this is not a user call.
        if !is_user_addr(r.get(Reg::Rcx)) {
            return None;
        }
        let (before_swapgs, frame) = match self.entry.watch {
            Some(w) => {
                let mut u = r.clone();
                std::mem::swap(&mut u.gs_base, &mut u.k_gs_base);
                let slot = r.gs_base.wrapping_add(w.disp);
                (u, Frame::EntrySaved(slot))
            }
            None => (r.clone(), Frame::Entry),
        };
        let e = Event::new(
            stop.vcpu,
            Mechanism::Syscall,
            Bitness::B64,
            entry_snapshot(before_swapgs),
        );
        Some((e, frame))
    }

    /// At a write to a watched `pt_regs->ax`: the call's return, from its
    /// pt_regs.
    fn on_ax_write(
        &mut self,
        stop: &Stop,
        slot: u64,
    ) -> Result<Option<(Event, Frame)>, BackendError> {
        let nr = self.watches.unwatch(self.t, slot)?;
        let at = slot.wrapping_sub(pt_regs_offset(Reg::Rax));
        let mut pt = [0u8; PT_REGS_SIZE];
        if self.t.read_virt(at, &mut pt).is_err() {
            return Ok(None);
        }
        // Not this call's frame (its task died in the call and the stack
        // was reused): a stale watch, dropped.
        if Some(decode_le(&pt[PT_REGS_ORIG_AX..PT_REGS_ORIG_AX + 8])) != nr {
            return Ok(None);
        }
        // Shaped like the after-call stop: rsp at pt_regs.
        let mut k = stop.regs.clone();
        k.set(Reg::Rsp, at);
        Ok(pt_regs_event(stop.vcpu, &k, &pt))
    }

    /// At the return of the call into the C handler: the call's return,
    /// from the pt_regs at rsp.
    fn on_after_call(&mut self, stop: &Stop) -> Option<(Event, Frame)> {
        let mut pt = [0u8; PT_REGS_SIZE];
        self.t.read_virt(stop.regs.rsp(), &mut pt).ok()?;
        pt_regs_event(stop.vcpu, &stop.regs, &pt)
    }

    /// At the `swapgs` of the iret path: a return to user mode when the
    /// frame at rsp says so (the path also returns to the kernel).
    fn on_iret(&mut self, stop: &Stop) -> Option<(Event, Frame)> {
        let r = &stop.regs;
        let mut cs = [0u8; 2];
        let ok = self.t.read_virt(r.rsp().wrapping_add(8), &mut cs).is_ok();
        let cs = u16::from_le_bytes(cs);
        if ok && cs & 3 == 3 {
            let b = bitness(r.efer, cs);
            Some((
                Event::new(stop.vcpu, Mechanism::Iret, b, after_swapgs(r)),
                Frame::Live,
            ))
        } else {
            self.st.kernel_irets += 1;
            None
        }
    }

    /// Gives an event to the engine, the stopped vCPU lent to it.
    fn deliver(&mut self, engine: &mut Engine, event: &Event, frame: Frame) {
        self.st.events += 1;
        match event.mechanism {
            Mechanism::Syscall => self.st.enters += 1,
            _ => self.st.exits += 1,
        }
        let mut cpu = GdbCpu {
            target: self.t,
            regs: event.regs.clone(),
            frame,
        };
        engine.on_event(event, &mut cpu);
    }

    /// Moves the vCPU past its trap. A watchpoint stop is past its
    /// instruction already; under a breakpoint the backend performs the
    /// instruction itself (a `swapgs`, or the no-op / move / test after
    /// the handler call): QEMU would stop on it again, and single-stepping
    /// flushes TCG's translated code.
    fn resume_past(&mut self, stop: &Stop) -> Result<(), BackendError> {
        if (stop.at_entry && self.entry.watch.is_some()) || stop.ax_hit.is_some() {
            return Ok(());
        }
        match (&stop.after_call, self.opts.resume) {
            (Some(ac), ResumeBy::Emulating) => emulate_after_call(self.t, &stop.regs, ac),
            (None, ResumeBy::Emulating) => self.t.emulate_swapgs(&stop.regs),
            (_, ResumeBy::Stepping) => {
                // What a plain debugger does (the baseline to compare
                // with): lift the breakpoint, step over it, put it back.
                let rip = stop.regs.rip();
                self.t.remove_bp(rip)?;
                self.t.step()?;
                self.t.insert_bp(rip)
            }
        }
    }

    /// Puts in place or lifts the return traps after a handled stop: at
    /// once when an exit matters; only after a run of enters that needed
    /// none, so that tracing every call does not toggle at every call.
    fn rearm(&mut self, stop: &Stop, engine: &Engine) -> Result<(), BackendError> {
        let wants = engine.wants_exits();
        if stop.at_entry {
            self.idle_enters = if wants { 0 } else { self.idle_enters + 1 };
            if let Some((top, _)) = self.ax_watch {
                self.watches.at_entry(self.t, top, wants)?;
            }
        }
        if let Some((_, call_ret)) = self.ax_watch {
            let armed = self.t.has_bp(call_ret);
            if self.watches.needs_breakpoint() != armed {
                if armed {
                    self.t.remove_bp(call_ret)?;
                } else {
                    self.t.insert_bp(call_ret)?;
                }
            }
        }
        if (wants && !self.exits_armed)
            || (self.exits_armed && !wants && self.idle_enters >= IDLE_ENTERS)
        {
            self.exits_armed = !self.exits_armed;
            self.st.exit_toggles += 1;
            self.t.set_bps(&self.exit_bps, self.exits_armed)?;
        }
        let children = !self.child_bps.is_empty() && engine.awaits_child_return();
        if children != self.child_armed {
            self.child_armed = children;
            self.st.exit_toggles += 1;
            self.t.set_bps(&self.child_bps, self.child_armed)?;
        }
        Ok(())
    }

    /// At a stop request: when a changed call is in flight, stops trapping
    /// enters, traps exits, and starts the drain (returns `true`: keep
    /// going).
    fn begin_drain(&mut self, engine: &Engine) -> Result<bool, BackendError> {
        if self.drain_until.is_some() || !engine.awaits_injected_returns() {
            return Ok(false);
        }
        for &a in &self.entry.traps {
            self.t.remove_bp(a)?;
        }
        // Idempotent: breakpoints already in place are not inserted twice.
        for &a in &self.exit_bps {
            if !self.t.has_bp(a) {
                self.t.insert_bp(a)?;
            }
        }
        self.drain_until = Some(Instant::now() + DRAIN_TIME);
        Ok(true)
    }
}

/// At the `swapgs` before `sysretq`: the returning user registers.
fn on_sysret(stop: &Stop) -> (Event, Frame) {
    let e = Event::new(
        stop.vcpu,
        Mechanism::Sysret,
        Bitness::B64,
        after_swapgs(&stop.regs),
    );
    (e, Frame::Live)
}

/// The return event from a call's `pt_regs` (`k`: the registers with rsp
/// at it), when it returns to user mode.
fn pt_regs_event(vcpu: u32, k: &Regs, pt: &[u8; PT_REGS_SIZE]) -> Option<(Event, Frame)> {
    let u = pt_regs_snapshot(k, pt);
    let b = bitness(k.efer, u.cs);
    (u.cs & 3 == 3).then(|| {
        (
            Event::new(vcpu, Mechanism::Iret, b, u),
            Frame::PtRegs(k.rsp()),
        )
    })
}

/// How entries are trapped for a session.
struct EntryArm {
    /// Addresses of the breakpoint or watchpoints in place.
    traps: Vec<u64>,
    /// Set when watchpoints are used.
    watch: Option<EntrySave>,
}

/// Puts the entry trap in place: a write watchpoint on the vCPU's save
/// slot when possible (and wanted), else the breakpoint on the `swapgs`.
fn arm_entry(
    t: &mut Target,
    d: &Discovery,
    mode: EntryTrap,
    verbose: bool,
) -> Result<EntryArm, BackendError> {
    if mode == EntryTrap::Breakpoint {
        t.insert_bp(d.entry_swapgs)?;
        return Ok(EntryArm {
            traps: vec![d.entry_swapgs],
            watch: None,
        });
    }
    let refused = match (d.entry_save, t.kernel_gs_bases()?.as_slice()) {
        (None, _) => "the entry does not save rsp with mov %rsp, %gs:disp32".to_string(),
        // QEMU 10.0 under MTTCG (several vCPUs on several threads) aborts
        // on a watchpoint hit taken with its big lock held
        // (`bql_lock_impl: assertion failed`, seen here): never risk the
        // user's VM, watchpoints on single-vCPU guests only.
        (Some(_), bases) if bases.len() > 1 => {
            "several vCPUs (QEMU aborts on watchpoints under multi-threaded TCG)".to_string()
        }
        // A vCPU that never ran has no per-cpu base yet.
        (Some(_), [] | [0]) => "no kernel GS base yet".to_string(),
        (Some(save), &[base, ..]) => {
            let slot = base.wrapping_add(save.disp);
            if t.insert_watch(slot)? {
                return Ok(EntryArm {
                    traps: vec![slot],
                    watch: Some(save),
                });
            }
            format!("the stub refused a write watchpoint at {slot:#x}")
        }
    };
    if mode == EntryTrap::Watch {
        return Err(BackendError::Discovery(format!(
            "--entry-trap watch: {refused}"
        )));
    }
    if verbose {
        eprintln!("vstrace: gdb: no entry watchpoint: {refused}");
    }
    t.insert_bp(d.entry_swapgs)?;
    Ok(EntryArm {
        traps: vec![d.entry_swapgs],
        watch: None,
    })
}

/// How long a stopping session waits for the exits of calls it changes.
const DRAIN_TIME: Duration = Duration::from_secs(2);
