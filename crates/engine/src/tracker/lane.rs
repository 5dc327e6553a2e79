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

use std::sync::{Mutex, MutexGuard};

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

/// Call numbers whose counts a lane keeps by index (see [`LaneCpu::dense`]).
const DENSE_NRS: u64 = 512;

/// One vCPU's lane: its slot and its rows.
#[derive(Default)]
pub(super) struct LaneCpu {
    pub(super) open: Option<LaneCall>,
    rows: FastMap<(u8, u64), LaneRow>,
    /// The counts of the rows of calls numbered below [`DENSE_NRS`], at
    /// 2 × number + width: a call costs an index, not a hash lookup (a
    /// fiftieth of a `replay -c`). Their rows are in `rows` too, with no
    /// counts until [`LaneCpu::fold`].
    dense: Vec<Option<RowCounts>>,
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

/// The lanes of every vCPU.
pub(super) struct Lanes {
    cpus: Box<[Mutex<LaneCpu>]>,
}

impl Default for Lanes {
    fn default() -> Self {
        Lanes {
            cpus: (0..LANE_CPUS).map(|_| Mutex::default()).collect(),
        }
    }
}

impl Lanes {
    /// vCPU `vcpu`'s lane, locked.
    pub(super) fn cpu(&self, vcpu: u32) -> MutexGuard<'_, LaneCpu> {
        lock(&self.cpus[vcpu as usize % LANE_CPUS])
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

    /// Puts the lane's call `call` in flight in its vCPU's slot.
    pub(super) fn lane_enter(&self, call: LaneCall) {
        use std::sync::atomic::Ordering;
        if self.early.inflight.load(Ordering::Acquire) >= super::MAX_PENDING {
            self.evict_oldest();
        }
        let (key, ret_ip, thread) = (call.key, call.head.ret_ip, call.head.thread);
        // Calls in the shards (counted before this one moves the slot's
        // there).
        let in_shards = self.early.inflight.load(Ordering::Acquire) > self.pending.lanes_open();
        let stale_in_slot = self.pending.lane_put(call.head.vcpu, call);
        // A call of the same thread returning to the same ip already in
        // the shards is stale too, as the general path's insert finds it.
        let stale_in_shards = if in_shards {
            self.pending.take_stale(key, ret_ip, thread)
        } else {
            None
        };
        let stale = [stale_in_slot.map(LaneCall::into_pending), stale_in_shards];
        let gone = stale.iter().flatten().count();
        match gone {
            0 => {
                self.early.inflight.fetch_add(1, Ordering::AcqRel);
            }
            1 => {}
            n => {
                self.early.inflight.fetch_sub(n - 1, Ordering::AcqRel);
            }
        }
        for old in stale.into_iter().flatten() {
            if old.shown {
                let rec = self.record(old, crate::record::CallState::Unfinished, None, None);
                self.push_extra(rec);
            }
        }
    }
}

impl super::Tracker {
    /// `-c`'s lane at a return to `key` at `ip`: when the call in the
    /// vCPU's slot is the one it ends, counts the call in the vCPU's rows
    /// (true); else the general path pairs the return (false).
    pub(super) fn lane_exit(
        &self,
        event: &vstrace_core::event::Event,
        cpu: &mut dyn vstrace_core::Cpu,
        key: ThreadKey,
        ip: u64,
        now: u64,
    ) -> bool {
        use std::sync::atomic::Ordering;
        let mut lane = self.pending.lanes.cpu(event.vcpu);
        let Some(open) = lane.open.as_ref() else {
            return false;
        };
        // Which thread returns matters only against a call that knows its
        // own (the general path's `thread_at`).
        let thread = match open.head.thread {
            Some(_) => self.running_task(event, cpu.mem()),
            None => None,
        };
        let Some(call) = self.pending.lane_take(&mut lane, key, ip, thread) else {
            return false;
        };
        self.early.inflight.fetch_sub(1, Ordering::AcqRel);
        // Read whenever it was at the enter (a recording keeps it), as
        // `count_finish` reads it; the table takes it only for `cpu_time`.
        let cpu_used = call.cpu_at_enter.and_then(|at| {
            self.thread_cpu_ns(event, cpu.mem())
                .map(|n| n.saturating_sub(at))
        });
        let cpu_used = cpu_used.filter(|_| self.cpu_time);
        // Read at the call's own width, as `count_finish` reads it.
        let rax = cpu.regs().rax();
        let ret = match call.head.bitness {
            Bitness::B32 => rax as u32 as i32 as i64,
            Bitness::B64 => rax as i64,
        };
        let ret = self.os.record_return(ret);
        let error = self.os.error_name(&call.head.info, ret).is_some();
        // The time the summary would read from the call's record.
        let ns =
            crate::summary::call_ns(&self.summary_opts, true, call.head.ts, Some(now), cpu_used);
        lane.count(&call.head.info, error, ns);
        true
    }

    /// The rows every lane counted, emptied (see [`Lanes::take_rows`]).
    pub fn take_lane_rows(&self) -> Vec<(String, u64, RowCounts)> {
        self.pending.lanes.take_rows()
    }
}
