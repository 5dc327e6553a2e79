//! Records built from a call in flight (complete, unfinished, no return)
//! and records of instants that are no call of their own (a fork child's
//! first return, a signal delivery, a process's exit).

use super::*;
use std::fmt::Write as _;

impl Tracker {
    /// Whether the arguments of `info` are decoded: every call's unless
    /// `-c` counts only; under `-c` still forks' and execs', whose flags,
    /// path and argv the process tree shows ([`crate::procs`]).
    pub(super) fn decodes_call(&self, info: &CallInfo) -> bool {
        self.decodes_args() || info.fork || info.exec
    }

    /// A record of one instant that is no call of its own (a fork child's
    /// first return, a signal delivery), by `who`, for the caller to name.
    pub(super) fn instant_record(&self, event: &Event, now: u64, who: Option<ProcInfo>) -> Record {
        Record {
            vcpu: event.vcpu,
            ts_enter_ns: now,
            pid: who.as_ref().map(|w| w.pid),
            tid: who.as_ref().map(|w| w.tid),
            ppid: who.as_ref().and_then(|w| w.ppid),
            comm: who.and_then(|w| w.comm),
            cr3: cr3_key(event.cr3),
            os: Cow::Borrowed(self.os_kind.name()),
            mechanism: Cow::Borrowed(event.mechanism.name()),
            // A 32-bit kernel's records carry no `[i386]` mark (signals too).
            kernel32: event.bitness == Bitness::B32 && event.regs.efer & EFER_LMA == 0,
            ..Default::default()
        }
    }

    /// The `+++ killed by SIGKILL +++` record of `child`, which the call
    /// `p` (its parent's wait) reaped: strace prints it when the child
    /// dies; from outside, the parent's wait is where it shows.
    pub(super) fn killed(
        &self,
        event: &Event,
        p: &Pending,
        child: u32,
        how: String,
        now: u64,
    ) -> Record {
        let who = ProcInfo {
            pid: child,
            tid: child,
            ppid: p.proc_info.as_ref().map(|i| i.pid),
            comm: None,
        };
        let mut r = self.instant_record(event, now, Some(who));
        r.abi = Cow::Borrowed(p.info.abi);
        r.name = p.info.name.clone();
        r.nr = p.info.nr;
        r.ret_text = Some(how);
        r.state = CallState::Exited;
        r
    }

    /// The `+++ exited with N +++` record of a process ending with the
    /// call `info` (exit_group), queued after the call's own record.
    pub(super) fn exited(
        &self,
        event: &Event,
        info: &CallInfo,
        cpu: &mut dyn Cpu,
        now: u64,
        who: Option<ProcInfo>,
    ) {
        let who = who.or_else(|| self.os.attribute(event, cpu.mem()));
        let mut sc = Syscall::new(event.clone(), self.os_kind, cpu);
        let status = sc.arg(1).unwrap_or(0) & 0xff;
        // The group's other threads end with it (not a thread's own
        // exit: its process goes on).
        let ended = match &who {
            Some(w) if info.ends_process => self.end_group_calls(w.pid, w.tid, status as i64),
            _ => Vec::new(),
        };
        for e in &ended {
            self.push_extra(e.clone());
        }
        let mut r = self.instant_record(event, now, who);
        r.ended = ended;
        r.abi = Cow::Borrowed(info.abi);
        r.name = info.name.clone();
        r.nr = info.nr;
        r.ret = Some(status as i64);
        r.state = CallState::Exited;
        self.push_extra(r);
    }

    /// The `+++ exited with N +++` record of a thread other than its
    /// process's leader ending with exit(2) while others live on. The
    /// leader's own is not one: the kernel reports a leader's end only
    /// once its whole group is gone (or an exec of another thread
    /// supersedes it).
    pub(super) fn thread_exited(
        &self,
        event: &Event,
        info: &CallInfo,
        cpu: &mut dyn Cpu,
        now: u64,
        who: Option<ProcInfo>,
    ) {
        let who = who.or_else(|| self.os.attribute(event, cpu.mem()));
        if who.as_ref().is_some_and(|w| w.tid != w.pid) {
            self.exited(event, info, cpu, now, who);
        }
    }

    /// Whether `info` makes process events (fork, exec, a wait that may
    /// reap a killed child): followed whatever `-e trace=` shows.
    pub(super) fn lifecycle(&self, info: &CallInfo) -> bool {
        info.exec || info.fork || self.os.reaps(info)
    }

    /// The record of a call the filter hides, when it makes a process
    /// event (a fork or exec): passed to the sink hidden, never printed.
    pub(super) fn hidden_record(&self, p: Box<Pending>, ret: i64, now: u64) -> Option<Record> {
        if !(p.info.fork || p.info.exec) || p.root_exec {
            recycle_pending(p);
            return None;
        }
        let ret = self.os.record_return(ret);
        let mut r = self.record(p, CallState::Complete, Some(ret), Some(now));
        r.hidden = true;
        Some(r)
    }

    /// The announcement of shown call `p`'s entry (see
    /// [`Tracker::announce_entries`]): what strace prints when the call is
    /// made, for the sink to print if another thread's line comes before
    /// the call's end.
    pub(super) fn entry_record(&self, p: &Pending) -> Record {
        let who = p.proc_info.as_ref();
        Record {
            vcpu: p.vcpu,
            ts_enter_ns: p.ts,
            pid: who.map(|i| i.pid),
            tid: who.map(|i| i.tid),
            ppid: who.and_then(|i| i.ppid),
            comm: who.and_then(|i| i.comm.clone()),
            cr3: p.cr3,
            os: Cow::Borrowed(self.os_kind.name()),
            abi: Cow::Borrowed(p.info.abi),
            mechanism: Cow::Borrowed(p.mechanism.name()),
            nr: p.info.nr,
            name: p.info.name.clone(),
            args: p.args.clone(),
            state: CallState::Unfinished,
            ip: p.ip,
            kernel32: p.kernel32,
            first_exit_arg: self.os.first_exit_arg(&p.info),
            entry_only: true,
            ..Record::default()
        }
    }

    pub(super) fn record(
        &self,
        mut p: Box<Pending>,
        state: CallState,
        ret: Option<i64>,
        exit_ts: Option<u64>,
    ) -> Record {
        let (ret_text, errno, ret_value) = match ret {
            // -c counts errors and prints no return: no text to render.
            Some(r) if self.count_only => (None, self.os.error_name(&p.info, r), None),
            Some(r) => {
                let mut t = self.spare_text();
                let e = self.os.format_return_into(&p.info, r, &mut t);
                let hex = p.ret_hex && e.is_none() && r > 0;
                if hex {
                    t.clear();
                    let _ = write!(t, "{r:#x}");
                }
                if let Some(n) = &p.ret_name {
                    t.push_str(n);
                }
                if let Some(d) = &p.ret_detail {
                    t.push_str(" (");
                    t.push_str(d);
                    t.push(')');
                }
                // A plain number (nearly every return) has nothing beyond
                // `ret`: no value to build and compare with the default.
                let plain = e.is_none() && !hex && p.ret_name.is_none() && p.ret_detail.is_none();
                if plain {
                    (Some(t), e, None)
                } else {
                    let v = crate::record::RetValue {
                        message: e.as_ref().and_then(|_| self.os.error_message(&p.info, r)),
                        // The restart codes print as `?`, not as `-1`.
                        restart: e.is_some() && t.starts_with('?'),
                        error: e.clone(),
                        hex,
                        names: p.ret_name.as_deref().map(|n| {
                            let n = n.strip_prefix('<').unwrap_or(n);
                            n.strip_suffix('>').unwrap_or(n).to_string()
                        }),
                        detail: p.ret_detail.clone(),
                    };
                    // (Not the default: an error, hex, names or a detail.)
                    (Some(t), e, Some(v))
                }
            }
            None => (None, None, None),
        };
        let proc_info = p.proc_info.take();
        // A split line's end shows the arguments left for the exit; a
        // detached call's line, only those of its entry (strace's).
        let first_exit_arg = if self.announce_entries || state == CallState::Detached {
            self.os.first_exit_arg(&p.info)
        } else {
            None
        };
        // What the record takes from the call, taken before its box goes
        // back for reuse: the record is then built in the caller's slot
        // (the last expression), not built here and copied (a record is
        // several hundred bytes, and this runs once per call).
        let name = std::mem::replace(&mut p.info.name, Cow::Borrowed(""));
        let args = std::mem::take(&mut p.args);
        let modifications = std::mem::take(&mut p.modifications);
        let hook = std::mem::take(&mut p.hook);
        let changed = std::mem::take(&mut p.changed);
        let error = p.error.take();
        let fds = std::mem::take(&mut p.fds);
        let caller = p.caller.take();
        let stack = std::mem::take(&mut p.stack);
        let io = std::mem::take(&mut p.io);
        let (vcpu, ts, cr3, abi, nr) = (p.vcpu, p.ts, p.cr3, p.info.abi, p.info.nr);
        let (mechanism, ip, kernel32) = (p.mechanism, p.ip, p.kernel32);
        let cpu_ns = p.cpu_used.filter(|_| self.cpu_time);
        recycle_pending(p);
        Record {
            seq: 0,
            vcpu,
            ts_enter_ns: ts,
            ts_exit_ns: exit_ts,
            pid: proc_info.as_ref().map(|i| i.pid),
            tid: proc_info.as_ref().map(|i| i.tid),
            ppid: proc_info.as_ref().and_then(|i| i.ppid),
            comm: proc_info.and_then(|i| i.comm),
            cr3,
            os: Cow::Borrowed(self.os_kind.name()),
            abi: Cow::Borrowed(abi),
            mechanism: Cow::Borrowed(mechanism.name()),
            nr,
            name,
            args,
            ret,
            ret_text,
            errno,
            ret_value,
            state,
            modifications,
            hook,
            changed,
            ip,
            error,
            fds,
            caller,
            stack,
            io,
            kernel32,
            cpu_ns,
            new_tid: None,
            ended_by_exec: None,
            ended_by_exit: None,
            exit_status: None,
            first_exit_arg,
            ended: Vec::new(),
            entry_only: false,
            resumed: false,
            hidden: false,
        }
    }
}

/// The record's `error`: what failing hooks said (`hook: message`), the
/// enter's first, joined with `; `; `None` when every hook succeeded.
pub(super) fn hook_error(
    before: Option<String>,
    failures: &[vstrace_core::hooks::HookFailure],
) -> Option<String> {
    if failures.is_empty() {
        return before;
    }
    let mut parts: Vec<String> = before.into_iter().collect();
    parts.extend(failures.iter().map(|f| {
        if f.panicked {
            format!("{} panicked: {}", f.hook, f.message)
        } else {
            format!("{}: {}", f.hook, f.message)
        }
    }));
    (!parts.is_empty()).then(|| parts.join("; "))
}

std::thread_local! {
    /// Emptied calls in flight kept per thread for the next calls, at
    /// most [`LOCAL_MAX`]: a call in flight is large (its arguments,
    /// hooks' data, names, stack...), so it lives in a box that moves by
    /// pointer from the enter to the record, and the box is reused, not
    /// allocated per call. Per thread: the vCPU that ends a call keeps
    /// its box for its next enter, with no lock.
    #[allow(clippy::vec_box)]
    static SPARE_PENDING: std::cell::RefCell<Vec<Box<Pending>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

impl Pending {
    /// A call in flight with nothing decoded, attributed, injected or
    /// kept beyond what its pairing and its record's head need, not shown
    /// (`-c`'s lane and `signal=`'s marker start from it): the call of
    /// head `h` (see [`BareHead::of`]), from a 32-bit kernel if
    /// `kernel32`.
    pub(super) fn bare(h: BareHead, kernel32: bool) -> Pending {
        Pending {
            ret_ip: h.ret_ip,
            thread: h.thread,
            info: h.info,
            bitness: h.bitness,
            mechanism: h.mechanism,
            raw: RawArgs::default(),
            args: Vec::new(),
            vcpu: h.vcpu,
            cr3: h.cr3,
            ts: h.ts,
            inject: None,
            pokes_exit: Vec::new(),
            delay_exit_us: 0,
            modifications: Vec::new(),
            hook: Default::default(),
            order: h.order,
            retry: false,
            returns_elsewhere: false,
            shown: false,
            root_exec: false,
            pre_scope: false,
            comm_exec: false,
            proc_info: None,
            changed: Vec::new(),
            ip: None,
            ret_detail: None,
            ret_hex: false,
            error: None,
            fds: Vec::new(),
            ret_name: None,
            fd_pass: true,
            caller: None,
            stack: Vec::new(),
            io: Vec::new(),
            kernel32,
            child_shares_space: false,
            cpu_at_enter: None,
            cpu_used: None,
            signal: None,
            delivered: false,
        }
    }
}

/// A kept box (see [`boxed_pending`]), its last call's fields still in
/// it, for [`pending_in_place!`] to overwrite.
pub(super) fn spare_pending() -> Option<Box<Pending>> {
    SPARE_PENDING.with(|s| s.borrow_mut().pop())
}

/// A call in flight of the fields given (`field: value`, every field of
/// [`Pending`]), written straight into a kept box when there is one:
/// not built and then copied into it, the old call's fields dropped as
/// they are overwritten (a call in flight is several hundred bytes, and
/// this is every traced call's enter). The pattern in the kept box's arm
/// lists the fields, so one left out fails to compile there as in the
/// other arm.
macro_rules! pending_in_place {
    ($($field:ident : $value:expr),* $(,)?) => {
        match $crate::tracker::records::spare_pending() {
            Some(mut b) => {
                let Pending { $($field: _),* } = &*b;
                $( b.$field = $value; )*
                b
            }
            #[allow(clippy::redundant_field_names)]
            None => Box::new(Pending { $($field: $value),* }),
        }
    };
}
pub(super) use pending_in_place;

/// `p` in a box, a kept one when there is one.
pub(super) fn boxed_pending(p: Pending) -> Box<Pending> {
    match spare_pending() {
        Some(mut b) => {
            *b = p;
            b
        }
        None => Box::new(p),
    }
}

/// Keeps the box of a call whose record took what it held (see
/// [`boxed_pending`]).
pub(super) fn recycle_pending(p: Box<Pending>) {
    SPARE_PENDING.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < LOCAL_MAX {
            s.push(p);
        }
    });
}

/// Keeps `rec`'s argument list and return text for the next calls (see
/// [`Tracker::recycle`]): in this thread's own pool, whose surplus moves
/// to `spare`, the tracker's, in batches (the writer thread only gives
/// buffers back; the vCPU threads take them). One thread writing its own
/// records (one vCPU) takes no lock at all.
fn recycle_into(spare: &Mutex<Spare>, rec: &mut Record) {
    let args = std::mem::take(&mut rec.args);
    let text = rec.ret_text.take();
    LOCAL_SPARE.with(|l| {
        let mut l = l.borrow_mut();
        if args.capacity() > 0 {
            l.args.push(args);
        }
        if let Some(t) = text.filter(|t| t.capacity() > 0) {
            l.texts.push(t);
        }
        if l.args.len() > LOCAL_MAX || l.texts.len() > LOCAL_MAX {
            let mut s = lock(spare);
            move_some(&mut l.args, &mut s.args, LOCAL_MAX / 2, MAX_SPARE);
            move_some(&mut l.texts, &mut s.texts, LOCAL_MAX / 2, MAX_SPARE);
        }
    });
}

/// Moves up to `n` buffers from `from` to `to`, which keeps at most
/// `cap` (the rest are dropped).
fn move_some<T>(from: &mut Vec<T>, to: &mut Vec<T>, n: usize, cap: usize) {
    let n = n.min(from.len());
    let keep = n.min(cap.saturating_sub(to.len()));
    let start = from.len() - n;
    to.extend(from.drain(start..start + keep));
    from.truncate(start);
}

/// Written records' buffers kept per kind, at most [`MAX_SPARE`] each.
#[derive(Default)]
pub(super) struct Spare {
    args: Vec<Vec<ArgValue>>,
    texts: Vec<String>,
}

/// Enough for the records of the writer thread's batches (it gives back
/// a batch's buffers, while the vCPUs take one record's at a time, and
/// buffers dropped on one thread and made on another cost the allocator
/// its slow paths); more would only hold memory.
const MAX_SPARE: usize = 4096;

/// A thread's own pool of buffers: beyond this many, half move to the
/// tracker's pool, and an empty pool takes half this many from it.
const LOCAL_MAX: usize = 64;

thread_local! {
    /// This thread's buffers (see [`recycle_into`]).
    static LOCAL_SPARE: std::cell::RefCell<Spare> = std::cell::RefCell::new(Spare::default());
}

impl Tracker {
    /// Keeps `rec`'s argument list (with the entries' text buffers) and
    /// return text for the next calls ([`Tracker::spare_args`],
    /// [`Tracker::spare_text`]); the rest of it is dropped.
    pub(crate) fn recycle(&self, rec: &mut Record) {
        recycle_into(&self.spare, rec);
    }

    /// [`Tracker::recycle`] for a thread that writes records away from
    /// the tracker (the writer thread: without it, every record of a
    /// run with several vCPUs would allocate its buffers anew).
    pub(crate) fn recycler(&self) -> impl Fn(&mut Record) + Send + 'static {
        let spare = std::sync::Arc::clone(&self.spare);
        move |rec: &mut Record| recycle_into(&spare, rec)
    }

    /// A written record's argument list, or a new empty one: the layer
    /// decodes into it ([`vstrace_core::OsLayer::decode_enter_into`]).
    pub(super) fn spare_args(&self) -> Vec<ArgValue> {
        LOCAL_SPARE.with(|l| {
            let mut l = l.borrow_mut();
            if l.args.is_empty() {
                let mut s = lock(&self.spare);
                move_some(&mut s.args, &mut l.args, LOCAL_MAX / 2, usize::MAX);
            }
            l.args.pop().unwrap_or_default()
        })
    }

    /// An empty string with a written record's return text's buffer.
    pub(super) fn spare_text(&self) -> String {
        let mut t = LOCAL_SPARE.with(|l| {
            let mut l = l.borrow_mut();
            if l.texts.is_empty() {
                let mut s = lock(&self.spare);
                move_some(&mut s.texts, &mut l.texts, LOCAL_MAX / 2, usize::MAX);
            }
            l.texts.pop().unwrap_or_default()
        });
        t.clear();
        t
    }
}

/// Whether `event` comes from a 32-bit kernel (an i386 call without long
/// mode).
pub(super) fn kernel32(event: &Event) -> bool {
    event.bitness == Bitness::B32 && event.regs.efer & EFER_LMA == 0
}

impl BareHead {
    /// The head of call `info` entered at `event` at engine time `ts`
    /// (its width, trap, vCPU and space; see [`Pending::bare`]).
    #[inline(always)]
    pub(super) fn of(
        info: CallInfo,
        event: &Event,
        order: u64,
        ret_ip: Option<u64>,
        thread: Option<u64>,
        ts: u64,
    ) -> BareHead {
        BareHead {
            info,
            bitness: event.bitness,
            mechanism: event.mechanism,
            vcpu: event.vcpu,
            cr3: cr3_key(event.cr3),
            order,
            ret_ip,
            thread,
            ts,
        }
    }
}

/// The head of a bare call in flight (see [`Pending::bare`]).
pub(super) struct BareHead {
    pub(super) info: CallInfo,
    pub(super) bitness: Bitness,
    pub(super) mechanism: Mechanism,
    pub(super) vcpu: u32,
    pub(super) cr3: u64,
    pub(super) order: u64,
    pub(super) ret_ip: Option<u64>,
    pub(super) thread: Option<u64>,
    pub(super) ts: u64,
}
