//! `-c`'s per-vCPU lane: a plain counted call (see [`super::count`])
//! that enters and returns on the same vCPU, with nothing in between that
//! looks at the calls in flight, is paired in its vCPU's own slot and
//! counted in its vCPU's own table of rows. It makes no record, takes no
//! shared lock and touches no shared map: the summary's rows are merged
//! into the sink's table when the run ends (issue 18: "`-c` reads only the
//! number, the return value and the time", "no global lock").
//!
//! The slot holds one call: the last one entered on the vCPU. Every path
//! that looks at the calls in flight (an exit that is not the slot's
//! call, a process event, the end) first moves the slots' calls into the
//! sharded map ([`super::inflight`]), where they are exactly what the
//! general path would have put there: so a call that blocks, migrates
//! to another vCPU, or is interrupted by a signal ends as it always did.
//! A new call entered on a vCPU whose slot is taken moves the older one
//! there too.
//!
//! Only when the summary's sink counts every call as it comes (no
//! `-e status=` other than all, no `--syscall-limit`, no `-f`/`-p`
//! whose records carry the caller): what the lane drops is then exactly
//! what the sink would have read.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard};

use vstrace_core::cpu::Cpu;
use vstrace_core::event::{Direction, Event, Mechanism};
use vstrace_core::fasthash::FastMap;
use vstrace_core::os::CallInfo;
use vstrace_core::Bitness;

use super::records::BareHead;
use super::{Pending, ThreadKey};
use crate::summary::RowCounts;

/// vCPUs with a lane of their own; higher ones share them by number (a
/// shared slot is still right: an enter on one moves the other's call to
/// the shared map, an exit checks its call's key).
const LANE_CPUS: usize = 256;

/// Which lanes hold a call, readable without any lock: by the early-out
/// (a return may end a lane's call) and by every look at the calls in
/// flight (which moves the lanes' calls into the shared map first). A
/// lane's flag is written under its lock, by a plain store: a call
/// entering and leaving its lane writes no shared counter.
pub(super) struct LaneFlags {
    open: Box<[AtomicBool]>,
    /// Lanes ever used: the flags past it are all clear.
    used: super::state::HighWater,
}

impl Default for LaneFlags {
    fn default() -> Self {
        LaneFlags {
            open: (0..LANE_CPUS).map(|_| AtomicBool::new(false)).collect(),
            used: Default::default(),
        }
    }
}

impl LaneFlags {
    /// Marks lane `idx` holding a call or not (under its lock).
    pub(super) fn set(&self, idx: usize, open: bool) {
        if open {
            self.used.raise(idx);
        }
        if let Some(f) = self.open.get(idx) {
            f.store(open, Ordering::Release);
        }
    }

    /// The lanes that hold a call (without their locks: a call entering
    /// meanwhile may be missed, as it would be a moment later).
    pub(super) fn open(&self) -> impl Iterator<Item = usize> + '_ {
        let used = self.used.upto(LANE_CPUS);
        (0..used).filter(|i| self.open[*i].load(Ordering::Acquire))
    }

    /// Whether no lane was ever used (no `-c` lane: every look at the
    /// calls in flight asks, one load).
    #[inline]
    pub(super) fn never_used(&self) -> bool {
        self.used.upto(1) == 0
    }

    /// Whether any lane holds a call.
    pub(super) fn any(&self) -> bool {
        self.open().next().is_some()
    }
}

/// A call in a lane's slot: the head of the general path's bare call in
/// flight (see [`Pending::bare`]), its thread key and what `-c`'s
/// count reads, without the call's box.
pub(super) struct LaneCall {
    pub(super) key: ThreadKey,
    pub(super) head: BareHead,
    pub(super) kernel32: bool,
    pub(super) cpu_at_enter: Option<u64>,
}

impl LaneCall {
    /// The general path's call in flight for this one (shown, as the
    /// lane's calls all are).
    pub(super) fn into_pending(self) -> Box<Pending> {
        super::records::boxed_pending(Pending {
            shown: true,
            cpu_at_enter: self.cpu_at_enter,
            ..Pending::bare(self.head, self.kernel32)
        })
    }

    /// Whether a return of thread `thread` to `key` at `ip` ends this
    /// call, by the general path's rule (`take_announcing`).
    pub(super) fn ends_at(&self, key: ThreadKey, ip: u64, thread: Option<u64>) -> bool {
        self.key == key
            && self.head.ret_ip.is_none_or(|r| r == ip)
            && same_thread(self.head.thread, thread)
    }
}

/// One row of a lane's table, keyed by the call's width and number.
struct LaneRow {
    name: std::borrow::Cow<'static, str>,
    nr: u64,
    counts: RowCounts,
}

/// A lane, locked, with its index (its flag's).
pub(super) struct LaneGuard<'a> {
    pub(super) idx: usize,
    lane: MutexGuard<'a, LaneCpu>,
}

impl std::ops::Deref for LaneGuard<'_> {
    type Target = LaneCpu;
    fn deref(&self) -> &LaneCpu {
        &self.lane
    }
}

impl std::ops::DerefMut for LaneGuard<'_> {
    fn deref_mut(&mut self) -> &mut LaneCpu {
        &mut self.lane
    }
}

/// Call numbers whose counts a lane keeps by index (see [`LaneCpu::dense`]).
const DENSE_NRS: u64 = 512;

/// One vCPU's lane: its slot, its rows and its ticket.
#[derive(Default)]
pub(super) struct LaneCpu {
    pub(super) open: Option<LaneCall>,
    /// The general path's last call entered on this vCPU, with its key
    /// (see [`super::inflight`]'s slots).
    pub(super) general: Option<(ThreadKey, Box<Pending>)>,
    rows: FastMap<(u8, u64), LaneRow>,
    ticket: Option<Ticket>,
    /// The counts of the rows of calls numbered below [`DENSE_NRS`], at
    /// 2 × number + width: a call costs an index, not a hash lookup (a
    /// fiftieth of a `replay -c`). Their rows are in `rows` too, with no
    /// counts until [`LaneCpu::fold`].
    dense: Vec<Option<RowCounts>>,
}

/// How a call entering a lane was admitted.
pub(super) enum Admit {
    /// By the vCPU's ticket, which must still hold as of these
    /// generations (the scope's, the attributions'); the lane's own
    /// enter.
    Ticket((u64, u64)),
    /// Without a scope to ask; the lane's own enter.
    Unscoped,
    /// By the general path's enter, which issues the vCPU's ticket as of
    /// these generations.
    Issue((u64, u64)),
}

/// What the general path last found of a plain call's caller on this
/// vCPU: its space was traced and, where the scope follows processes,
/// its task admitted, as of the scope's and the attribution cache's
/// generations. A call of the same task in the same space, while
/// neither generation moved, is admitted as the general path would
/// admit it (every change of the scope bumps the one; every process
/// event clears the attribution cache and bumps the other), so
/// the lane's own enter takes it without asking again.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Ticket {
    scope_gen: u64,
    attrib_gen: u64,
    cr3: u64,
    /// The caller's task (None where the scope does not follow
    /// processes).
    task: Option<u64>,
    /// Calls taken on it: after [`super::attrib::MAX_USES`] the general
    /// path attributes the caller again, as its cache would.
    uses: u32,
}

impl LaneCpu {
    /// Counts a call of `info` that ended: `error` when it failed, `ns`
    /// its time as the summary reads it.
    pub(super) fn count(&mut self, info: &CallInfo, error: bool, ns: u64) {
        let key = (bitness_key(info.bitness), info.nr);
        let at = (info.nr < DENSE_NRS).then(|| 2 * info.nr as usize + key.0 as usize);
        if let Some(c) = at
            .and_then(|i| self.dense.get_mut(i))
            .and_then(Option::as_mut)
        {
            c.add(error, ns);
            return;
        }
        let row = self.rows.entry(key).or_insert_with(|| LaneRow {
            name: info.name.clone(),
            nr: info.nr,
            counts: RowCounts::default(),
        });
        match at {
            Some(i) => {
                if self.dense.is_empty() {
                    self.dense = vec![None; 2 * DENSE_NRS as usize];
                }
                let mut c = RowCounts::default();
                c.add(error, ns);
                if let Some(d) = self.dense.get_mut(i) {
                    *d = Some(c);
                }
            }
            None => row.counts.add(error, ns),
        }
    }

    /// Moves the counts kept by index into their rows.
    fn fold(&mut self) {
        for (i, d) in self.dense.iter_mut().enumerate() {
            if let Some(c) = d.take() {
                let key = ((i % 2) as u8, (i / 2) as u64);
                if let Some(row) = self.rows.get_mut(&key) {
                    row.counts.merge(&c);
                }
            }
        }
    }
}

fn bitness_key(b: Bitness) -> u8 {
    match b {
        Bitness::B32 => 0,
        Bitness::B64 => 1,
    }
}

/// Call numbers below this have their place in [`Lanes::plain`]; the
/// others always take the general path's enter.
const PLAIN_NRS: usize = 1024;

/// [`Lanes::plain`]'s entries: not yet known, plain, not plain.
const PLAIN_UNKNOWN: u8 = 0;
const PLAIN_YES: u8 = 1;
const PLAIN_NO: u8 = 2;

/// The lanes of every vCPU.
pub(super) struct Lanes {
    cpus: Box<[Mutex<LaneCpu>]>,
    /// Per width and call number: whether the call is plain for the lane
    /// and shown by the filter (see `Tracker::plain_call`), learnt at
    /// the number's first sight.
    plain: Box<[AtomicU8]>,
}

impl Default for Lanes {
    fn default() -> Self {
        Lanes {
            cpus: (0..LANE_CPUS).map(|_| Mutex::default()).collect(),
            plain: (0..2 * PLAIN_NRS)
                .map(|_| AtomicU8::new(PLAIN_UNKNOWN))
                .collect(),
        }
    }
}

impl Lanes {
    /// vCPU `vcpu`'s lane, locked, and its index.
    pub(super) fn cpu(&self, vcpu: u32) -> LaneGuard<'_> {
        let idx = vcpu as usize % LANE_CPUS;
        LaneGuard {
            idx,
            lane: lock(&self.cpus[idx]),
        }
    }

    /// Lane `idx`, locked.
    pub(super) fn at(&self, idx: usize) -> LaneGuard<'_> {
        LaneGuard {
            idx,
            lane: lock(&self.cpus[idx % LANE_CPUS]),
        }
    }

    /// Every lane, one at a time.
    pub(super) fn each(&self) -> impl Iterator<Item = MutexGuard<'_, LaneCpu>> {
        self.cpus.iter().map(lock)
    }

    /// The rows every lane counted, emptied: (name, number, counts), to
    /// be merged into the summary.
    pub(super) fn take_rows(&self) -> Vec<(String, u64, RowCounts)> {
        let mut out = Vec::new();
        for mut c in self.each() {
            c.fold();
            out.extend(
                c.rows
                    .drain()
                    .map(|(_, r)| (r.name.into_owned(), r.nr, r.counts)),
            );
        }
        out
    }
}

fn lock(m: &Mutex<LaneCpu>) -> MutexGuard<'_, LaneCpu> {
    // A panic in one event (caught at the source's boundary) leaves the
    // lane's counts worth keeping.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The general path's rule for two calls' threads: the same when either
/// is unknown.
pub(super) fn same_thread(a: Option<u64>, b: Option<u64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

impl super::Tracker {
    /// Whether `-c`'s calls may be paired and counted in the vCPUs' lanes
    /// (fixed at construction; see the module doc).
    pub(super) fn lane_enabled(&self, cfg: &crate::EngineConfig) -> bool {
        self.count_lane
            && !self.follow_forks
            && !self.by_proc
            && cfg
                .display
                .status
                .is_none_or(|s| s == crate::output::status::ALL)
            && cfg.display.syscall_limit.is_none()
    }

    /// Handles `event` in its vCPU's lane alone when it can: an enter of
    /// a plain call whose caller the vCPU's ticket admits, a return that
    /// ends the call in the vCPU's slot. True when it did (nothing more
    /// to do: the event makes no record); false when the general path
    /// ([`super::Tracker::on_event`]) must handle it, nothing it reads
    /// having changed (a call order number may go unused; a used-up
    /// ticket's caller is forgotten, to be attributed again). `clock`
    /// gives the engine's time; it is read only when the count needs it
    /// (at a return, only for the wall-clock time).
    pub fn lane_event(&self, event: &Event, cpu: &mut dyn Cpu, clock: &dyn Fn() -> u64) -> bool {
        if !self.lanes_on {
            return false;
        }
        super::attrib::next_event();
        let (done, counter) = match event.direction {
            Direction::Enter => (
                self.lane_fast_enter(event, cpu, clock),
                super::Counter::Enters,
            ),
            // An iret's return target is in memory, and it is most often
            // an interrupt's return: the general path reads it once and
            // tries the lane itself.
            Direction::Exit if event.mechanism == Mechanism::Iret => return false,
            // A sysret's or sysexit's is in its registers.
            Direction::Exit => (
                super::frame::return_target(event, cpu).is_some_and(|(ip, sp)| {
                    let key = ThreadKey {
                        cr3: super::cr3_key(event.cr3),
                        sp,
                    };
                    self.lane_exit(event, cpu, key, ip, clock)
                }),
                super::Counter::Exits,
            ),
        };
        if done {
            self.stats.add(event.vcpu, counter, 1);
        }
        done
    }

    /// The call `nr` of `event`'s width when it is plain for the lane
    /// ([`super::Tracker::counts_plainly`]) and shown by the filter: what
    /// the general path's enter would put in the lane, had its caller
    /// been admitted. Learnt per number at its first sight; numbers past
    /// the table's are left to the general path.
    fn plain_call(&self, event: &Event, nr: u64) -> Option<CallInfo> {
        let idx = usize::try_from(nr).ok().filter(|n| *n < PLAIN_NRS)?
            + PLAIN_NRS * usize::from(bitness_key(event.bitness));
        let slot = &self.pending.lanes.plain[idx];
        match slot.load(Ordering::Relaxed) {
            PLAIN_NO => return None,
            PLAIN_YES => return Some(self.os.identify(event, nr)),
            _ => {}
        }
        let info = self.os.identify(event, nr);
        let plain = self.counts_plainly(&info)
            && !self.lifecycle(&info)
            && self.trace.contains_call(&info.name, info.abi);
        slot.store(if plain { PLAIN_YES } else { PLAIN_NO }, Ordering::Relaxed);
        plain.then_some(info)
    }

    /// The lane's own enter (see [`super::Tracker::lane_event`]): the
    /// general path's enter of a plain call, less what the ticket
    /// answers (the space's state and the caller's admission) and the
    /// checks that only other calls need.
    fn lane_fast_enter(&self, event: &Event, cpu: &mut dyn Cpu, clock: &dyn Fn() -> u64) -> bool {
        // A `signal=` marker's queueing call, and fresh forks' or
        // signals' first calls, are the general path's.
        if self.signal_markers.load(Ordering::Relaxed) != 0
            || self.early.fresh.load(Ordering::Acquire)
        {
            return false;
        }
        let nr = super::frame::call_nr(event);
        let Some(info) = self.plain_call(event, nr) else {
            return false;
        };
        let admit = match self.scope {
            Some(_) => Admit::Ticket((
                self.scope_gen.load(Ordering::Acquire),
                self.attrib.generation(),
            )),
            None => Admit::Unscoped,
        };
        let (thread, cpu_at_enter) = self.count_reads(event, cpu);
        let key = ThreadKey::at_enter(event);
        let order = self.order.fetch_add(1, Ordering::Relaxed);
        let call = LaneCall {
            key,
            head: BareHead::of(
                info,
                event,
                order,
                super::frame::ret_ip_of(event),
                thread,
                clock(),
            ),
            kernel32: super::records::kernel32(event),
            cpu_at_enter,
        };
        self.lane_enter(call, admit)
    }

    /// Puts the lane's call `call` in flight in its vCPU's slot, as
    /// `admit` says its caller was admitted: false (nothing done) when
    /// the vCPU's ticket does not hold for it.
    #[inline(always)]
    pub(super) fn lane_enter(&self, call: LaneCall, admit: Admit) -> bool {
        if self.early.inflight.load(Ordering::Acquire) >= super::MAX_PENDING {
            self.evict_oldest();
        }
        let (key, ret_ip, thread) = (call.key, call.head.ret_ip, call.head.thread);
        let task = thread.filter(|_| self.scope_by_process());
        // Calls in the shards (counted before this one moves the slot's
        // there).
        let in_shards = self.early.inflight.load(Ordering::Acquire) > 0;
        let (stale_in_shards, stale_in_slot) = {
            let mut lane = self.pending.lanes.cpu(call.head.vcpu);
            match admit {
                Admit::Ticket(gens) => {
                    let Some(t) = lane.ticket.as_mut() else {
                        return false;
                    };
                    if (t.scope_gen, t.attrib_gen, t.cr3, t.task) != (gens.0, gens.1, key.cr3, task)
                    {
                        return false;
                    }
                    if t.uses >= super::attrib::MAX_USES {
                        // Attributed again by the general path, as its
                        // cache's entry would be after as many uses.
                        lane.ticket = None;
                        drop(lane);
                        if let Some(task) = task {
                            self.forget_attrib(call.head.vcpu, key.cr3, task);
                        }
                        return false;
                    }
                    t.uses += 1;
                }
                Admit::Unscoped => {}
                Admit::Issue((scope_gen, attrib_gen)) => {
                    lane.ticket = Some(Ticket {
                        scope_gen,
                        attrib_gen,
                        cr3: key.cr3,
                        task,
                        uses: 0,
                    });
                }
            }
            // A call of the same thread returning to the same ip already
            // in the shards is stale too, as the general path's insert
            // finds it: looked for before this call is in the lane (a
            // spill by another vCPU could move it to the shards at once,
            // where it would find itself).
            let in_shards = if in_shards {
                self.pending.take_stale(key, ret_ip, thread)
            } else {
                None
            };
            (in_shards, self.pending.lane_put(&mut lane, call))
        };
        self.stale(stale_in_shards);
        self.stale(stale_in_slot.map(LaneCall::into_pending));
        true
    }

    /// `-c`'s lane at a return to `key` at `ip`: when the call in the
    /// vCPU's slot is the one it ends, counts the call in the vCPU's rows
    /// (true); else the general path pairs the return (false).
    pub(super) fn lane_exit(
        &self,
        event: &Event,
        cpu: &mut dyn Cpu,
        key: ThreadKey,
        ip: u64,
        clock: &dyn Fn() -> u64,
    ) -> bool {
        let mut lane = self.pending.lanes.cpu(event.vcpu);
        let Some(open) = lane.open.as_ref() else {
            return false;
        };
        // Which thread returns matters only against a call that knows its
        // own and that another thread may return to the same stack and
        // ip after (a fork's: never a lane's; see `sole_return`).
        let thread = match open.head.thread {
            Some(_) if open.head.info.fork => self.running_task(event, cpu.mem()),
            _ => None,
        };
        let Some(call) = self.pending.lane_take(&mut lane, key, ip, thread) else {
            return false;
        };
        // Read whenever it was at the enter (a recording keeps it), as
        // `count_finish` reads it, in the task the enter read (the same
        // thread returns); the table takes it only for `cpu_time`.
        let cpu_used = self
            .cpu_used_since(call.cpu_at_enter, call.head.thread, event, cpu)
            .filter(|_| self.cpu_time);
        let ret = self.call_return(call.head.bitness, cpu);
        let error = self.os.error_name(&call.head.info, ret).is_some();
        // The time the summary would read from the call's record (the
        // return's time matters only for the wall clock's).
        let exit_ts = match cpu_used {
            Some(_) if !self.summary_opts.wall_clock => call.head.ts,
            _ => clock(),
        };
        let ns = crate::summary::call_ns(
            &self.summary_opts,
            true,
            call.head.ts,
            Some(exit_ts),
            cpu_used,
        );
        lane.count(&call.head.info, error, ns);
        true
    }

    /// The rows every lane counted, emptied (see [`Lanes::take_rows`]).
    pub fn take_lane_rows(&self) -> Vec<(String, u64, RowCounts)> {
        self.pending.lanes.take_rows()
    }
}
