//! Pairs enter and exit events per thread and builds records.
//!
//! A thread is identified by what its return goes back to: the address
//! space (CR3 without PCID/PTI bits), the user stack pointer, and the user
//! instruction pointer. The enter trap sees them directly (rsp, rip after
//! the 2-byte trap instruction); the exit sees them in rcx/rsp (sysret),
//! edx/ecx (sysexit) or the iret frame. This survives blocking calls,
//! preemption and migration between vCPUs without any OS profile.

mod announce;
mod attrib;
mod build;
mod count;
pub mod early;
mod entersc;
#[cfg(test)]
mod exec_tests;
mod fast;
mod finish;
mod fork;
mod frame;
mod inflight;
mod lane;
mod namekeep;
mod pathcache;
#[cfg(test)]
mod pathcache_tests;
mod records;
mod scope;
mod select;
mod sigject;
mod signal;
mod state;
mod tally;
mod tamper;
#[cfg(test)]
mod test_os;

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use vstrace_core::fasthash::FastSet;

use vstrace_core::hooks::Hooks;
use vstrace_core::os::unknown_arg_names;
use vstrace_core::{
    ArgValue, Bitness, CallArgs, CallHints, CallInfo, Cpu, DecodeOptions, Direction, Event,
    Mechanism, NameOptions, Os, OsLayer, ProcInfo, Syscall, VirtMem,
};

use crate::filter::SyscallSet;
use crate::inject::{apply_pokes, rewrite_path, InjectAction, InjectRule, Injection, PathRewrite};
use crate::record::{CallState, Record};
use crate::{EngineConfig, EngineError, EngineStats};
use frame::{return_target, sp_of, user, RawArgs};
use records::{hook_error, Spare};
use scope::Scope;
use state::{lock, read, write, Counter, Forks, Stats};

/// EFER's long-mode-active bit: clear under a 32-bit kernel.
const EFER_LMA: u64 = 1 << 10;

/// Beyond this many calls in flight the oldest are reported unfinished:
/// a hostile or broken guest must not grow the map without bound.
const MAX_PENDING: usize = 1 << 16;

/// Every name `-yy`/`-Y` can ask for: what a recording reads (see
/// `Tracker::record_names`).
const ALL_NAMES: NameOptions = NameOptions {
    fd_path: true,
    fd_socket: true,
    fd_dev: true,
    fd_pidfd: true,
    pid_comm: true,
    pid_ns: true,
};

/// Masks PCID (bits 0-11), the PTI user/kernel PGD bit (12) and the
/// no-flush bit (63) from CR3.
pub fn cr3_key(cr3: u64) -> u64 {
    cr3 & 0x000f_ffff_ffff_e000
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ThreadKey {
    cr3: u64,
    sp: u64,
}

impl ThreadKey {
    /// The key of the thread making the call entered at `event`: its
    /// address space and its user stack pointer.
    fn at_enter(event: &Event) -> ThreadKey {
        ThreadKey {
            cr3: cr3_key(event.cr3),
            sp: sp_of(event.regs.rsp(), frame::code_bitness(event)),
        }
    }
}

struct Pending {
    /// User ip the call returns to, when the trap tells it.
    ret_ip: Option<u64>,
    /// The OS layer's identity of the calling thread (its task), when it
    /// can read one: a vfork child shares its parent's space and stack.
    thread: Option<u64>,
    info: CallInfo,
    bitness: Bitness,
    mechanism: Mechanism,
    raw: RawArgs,
    args: Vec<ArgValue>,
    vcpu: u32,
    cr3: u64,
    ts: u64,
    inject: Option<InjectAction>,
    /// `poke_exit=` items of the `--inject` rules hit at the enter.
    pokes_exit: Vec<crate::inject::Poke>,
    /// `delay_exit=` of the rules hit at the enter (microseconds).
    delay_exit_us: u64,
    modifications: Vec<vstrace_core::Modification>,
    hook: serde_json::Map<String, serde_json::Value>,
    order: u64,
    /// Some in-argument could not be read at enter (its page was not
    /// faulted in yet): decode it again at exit, after the kernel read it.
    retry: bool,
    /// The call returns to a context it restores (sigreturn), not to
    /// the instruction after the trap.
    returns_elsewhere: bool,
    /// Recorded (passes `-e trace=`), not only tracked for scoping.
    shown: bool,
    /// The launcher's exec (see [`Scope`]).
    root_exec: bool,
    /// An exec made by the armed launcher: the user's command.
    pre_scope: bool,
    /// An exec by a process that `--comm` does not pick: shown if the
    /// program it runs has one of those names (decided at the exit, when
    /// the kernel has renamed the task), as strace shows the execve of
    /// the command it starts.
    comm_exec: bool,
    /// Who made the call, read at enter.
    proc_info: Option<ProcInfo>,
    /// Path arguments that read differently at exit.
    changed: Vec<crate::record::ArgChange>,
    /// The user ip after the trap instruction (`-i`), when asked for.
    ip: Option<u64>,
    /// What the layer appends to the return value's text, read at the
    /// exit ([`vstrace_core::OsLayer::return_detail`]).
    ret_detail: Option<String>,
    /// The return value is printed in hex
    /// ([`vstrace_core::OsLayer::return_in_hex`]).
    ret_hex: bool,
    /// What the call's failing hooks said (see [`hook_error`]).
    error: Option<String>,
    /// `-y`: the fds named (arguments at enter, the result at exit).
    fds: Vec<vstrace_core::FdPath>,
    /// `-y`/`-Y`: what the return value names (`</etc/passwd>`).
    ret_name: Option<String>,
    /// Passes `-P` / `trace-fds=` (true without them).
    fd_pass: bool,
    /// `--caller`: who made the call, read at enter.
    caller: Option<vstrace_core::Caller>,
    /// `-k`: the user stack, read at enter.
    stack: Vec<vstrace_core::StackFrame>,
    /// `-e write=`/`-e read=`: the data dumped (written data read at
    /// enter, read data added at exit).
    io: Vec<crate::dump::IoItem>,
    /// Made to a 32-bit kernel (EFER.LMA clear): see [`Record::kernel32`].
    kernel32: bool,
    /// A fork whose child shares the caller's space (a thread, a vfork
    /// child): its child is not waited for (see
    /// [`vstrace_core::OsLayer::fork_shares_space`]).
    child_shares_space: bool,
    /// `-c` without `-w`: the thread's system CPU time at the enter.
    cpu_at_enter: Option<u64>,
    /// The system CPU time the call used, known at its exit.
    cpu_used: Option<u64>,
    /// `--inject=...:signal=`: what is left to do (see [`sigject`]).
    signal: Option<sigject::SignalInject>,
    /// The call's end is a signal delivery: its registers are the
    /// context saved in the frame.
    delivered: bool,
}

/// A clone/fork that returned in the parent and whose child has not been
/// seen yet.
struct RecentFork {
    cr3: u64,
    sp: u64,
    ip: Option<u64>,
    name: Cow<'static, str>,
    nr: u64,
    abi: &'static str,
    shown: bool,
    mechanism: Mechanism,
}

impl RecentFork {
    /// The fork call `p`, made on the stack at `sp` (the child returns
    /// to the same stack).
    fn of(p: &Pending, sp: u64) -> RecentFork {
        RecentFork {
            cr3: p.cr3,
            sp,
            ip: p.ret_ip,
            name: p.info.name.clone(),
            nr: p.info.nr,
            abi: p.info.abi,
            shown: p.shown,
            mechanism: p.mechanism,
        }
    }
}

/// How many parent-side fork returns are remembered while waiting for
/// their children's first run.
const MAX_RECENT_FORKS: usize = 64;

/// How many children that returned from fork but have not made a call yet
/// are remembered (see `Tracker::fresh_children`).
const MAX_FRESH_CHILDREN: usize = 256;

pub(crate) struct Tracker {
    /// `-p` pids (grown by `-f` with children) and `--comm` names; when
    /// either is set, calls are attributed before anything else.
    pids: RwLock<FastSet<u32>>,
    comms: Vec<String>,
    /// Either `-p` or `--comm` was given (the `-p` set only grows from
    /// its members, so this never changes).
    by_proc: bool,
    follow_forks: bool,
    /// [`EngineConfig::pair_by_thread`].
    pair_by_thread: bool,
    /// Each shown call's entry is announced to the sink (a record with
    /// [`Record::entry_only`]) for strace's split lines: text of a shared
    /// `-f` log, where strace prints a call's entry when it is made and
    /// ends it `<unfinished ...>` when another thread prints meanwhile
    /// (with `-e status=` and `-ff` it prints calls whole).
    announce_entries: bool,
    scope: Option<RwLock<Scope>>,
    /// Clones that returned in the parent only; address spaces whose
    /// fork child returned but made no call since (an interrupt taken
    /// right at the child's first user instruction (TCG delivers
    /// interrupts at block starts, and on SMP reschedule and TLB IPIs
    /// follow a fork) returns to the same ip and sp with rax still 0: it
    /// must not be taken for a sibling's first return); signal deliveries
    /// (address space, handler stack, handler ip) not followed by a call
    /// in that space yet (an interrupt taken at the handler's first
    /// instruction returns there with the same registers, and must not be
    /// taken for a second delivery).
    forks: Mutex<Forks>,
    os: Box<dyn OsLayer>,
    os_kind: Os,
    /// The user's hooks, run at enter and exit of the calls they name
    /// (locked: the engine runs events one at a time when there are any).
    hooks: Mutex<Hooks>,
    /// Any hook is registered (fixed at construction).
    has_hooks: bool,
    trace: SyscallSet,
    /// `--inject` rules (locked: they count the calls they see).
    injects: Mutex<Vec<InjectRule>>,
    /// Any `--inject` rule was given.
    has_injects: bool,
    rewrites: Vec<PathRewrite>,
    opts: DecodeOptions,
    /// `-e abbrev=SET` (calls outside it print unabbreviated).
    abbrev: Option<SyscallSet>,
    /// `-e verbose=SET` (calls outside it print structures as addresses).
    decoded: Option<SyscallSet>,
    /// [`EngineConfig::names`].
    names: NameOptions,
    /// [`EngineConfig::trace_fds`] and [`EngineConfig::trace_paths`].
    trace_fds: Vec<i64>,
    trace_paths: Vec<String>,
    /// [`EngineConfig::caller`].
    callers: bool,
    /// Recording (`--record`): the names `-y`/`-yy`/`-Y`/`-P` need are
    /// read for every shown call even when not printed, so that their
    /// kernel reads (file table, task list) are in the trace file and a
    /// replay can add those options after the fact.
    record_names: bool,
    /// Descriptor names are kept between calls (`-y`, or a recording's
    /// reads for it: see [`namekeep`]).
    keep_names: bool,
    names_kept: namekeep::NamesKept,
    /// [`EngineConfig::stack_trace`].
    stacks: bool,
    /// The calls in flight, sharded by thread (see [`inflight`]).
    pending: inflight::Inflight,
    /// Calls of the threads of a process killed by a signal (see
    /// [`Tracker::end_killed_calls`]): never to return, reported with
    /// the calls in flight at the end. Boxed as the calls in flight are
    /// (they move here from there).
    #[allow(clippy::vec_box)]
    ended_calls: Mutex<Vec<Box<Pending>>>,
    /// The next call's order number (oldest first when it matters).
    order: AtomicU64,
    /// Queueing calls of `signal=` in flight (see [`sigject`]): while
    /// there are none, enters need no check for them.
    signal_markers: std::sync::atomic::AtomicUsize,
    /// Records other than the events' own, waiting for the engine.
    extra: Mutex<Vec<Record>>,
    /// `extra` may hold records (checked without its lock).
    has_extra: AtomicBool,
    /// Buffers of written records (argument lists with their texts,
    /// return texts) kept for the next calls: decoding and rendering
    /// into them allocates nothing once warm (see [`Tracker::recycle`]).
    spare: std::sync::Arc<Mutex<Spare>>,
    /// `-i`: records carry the caller's instruction pointer.
    want_ip: bool,
    /// `-e write=` and `-e read=` (Linux guests only: the calls and
    /// structures are Linux's).
    dump_writes: crate::dump::FdSet,
    dump_reads: crate::dump::FdSet,
    stats: Stats,
    /// `-c` without `-C`: records are only counted, never printed, so
    /// no argument is decoded (see [`Tracker::decodes_args`]) and their
    /// return needs no text (see `Tracker::record`).
    count_only: bool,
    /// `-c`/`-C` without `-w`: the table's time is the calls' system CPU
    /// time ([`vstrace_core::OsLayer::thread_cpu_ns`]).
    cpu_time: bool,
    /// The system CPU time is read at shown calls' enters and exits: for
    /// `cpu_time`, and in a recording (so that a replay can show `-c`'s
    /// table, as strace shows it, after the fact).
    cpu_read: bool,
    /// The early-out's table and flags, shared with sources that check
    /// without the lock. Enabled (see [`Tracker::with_early_out`]) for a
    /// Linux guest (its layer names a call from its number and width
    /// alone, and observes nothing) without hooks, injections or rewrites
    /// (which may act on any call). The interest table is filled on first
    /// sight of a number, so the early-out asks the layer nothing in
    /// steady state.
    early: std::sync::Arc<early::EarlyOut>,
    /// Attributions by (address space, running task) (see [`attrib`]).
    attrib: attrib::AttribCaches,
    /// Plain calls under `-c` take the counting lane (see [`count`]).
    count_lane: bool,
    /// Shown calls in flight whose entry was not announced yet (see
    /// [`Tracker::announce`]).
    unannounced: announce::Unannounced,
    /// Bumped by every change of the scope (see `Tracker::scope_mut`).
    scope_gen: AtomicU64,
    /// ... and are paired and counted in their vCPU's lane (see [`lane`]).
    lanes_on: bool,
    /// `-c`'s table options (the lanes count a call's time as the table
    /// would).
    summary_opts: crate::output::SummaryOptions,
}

impl Tracker {
    /// Whether an exit event can still matter: a call is in flight, or a
    /// fork's child has not made its first return yet. When not, a source
    /// that pays for every trap (the gdb stub) may stop trapping exits.
    pub fn wants_exits(&self) -> bool {
        self.early.wants_exits()
    }

    /// Whether a call in flight was skipped or will have its return
    /// value set at exit (`--inject`, a hook's `skip`): a source that stops
    /// tracing must see that exit first, or the guest gets the skipped
    /// call's -ENOSYS / STATUS_INVALID_SYSTEM_SERVICE.
    pub fn awaits_injected_returns(&self) -> bool {
        self.pending
            .any(|_, p| p.inject.is_some() || !p.pokes_exit.is_empty() || p.delay_exit_us > 0)
    }

    /// Whether a fork's child may still make its first return (it comes
    /// back through the kernel's return-from-fork path, not the syscall
    /// path): a clone is in flight or returned in the parent only.
    pub fn awaits_child_return(&self) -> bool {
        // Recent forks again after the calls in flight: a fork's call
        // moves from the second to the first (see `take_at_return`), so
        // one of the three looks sees it.
        let recent = || self.early.recent_forks.load(Ordering::Acquire) > 0;
        recent() || self.pending.any(|_, p| p.info.fork) || recent()
    }

    /// Whether the layer is Linux's.
    pub fn is_linux(&self) -> bool {
        self.os_kind == Os::Linux
    }

    /// Whether records other than the event's own are waiting.
    pub fn has_extra(&self) -> bool {
        self.has_extra.load(Ordering::Acquire)
    }

    /// Takes the records other than the events' own, oldest first.
    pub fn take_extra(&self) -> Vec<Record> {
        let mut x = lock(&self.extra);
        self.has_extra.store(false, Ordering::Release);
        std::mem::take(&mut *x)
    }

    /// Whether the layer must see every event ([`OsLayer::observe`]),
    /// which needs it exclusively: any layer but Linux's, and Linux's
    /// with `--caller` (it observes nothing else). Without it, events
    /// may run through [`Tracker::on_event`] on several threads at once.
    pub fn observes(&self) -> bool {
        self.os_kind != Os::Linux || self.callers
    }

    /// Handles one event with the tracker to itself: the layer observes
    /// it first (see [`Tracker::observes`]).
    pub fn on_event_exclusive(
        &mut self,
        event: &Event,
        cpu: &mut dyn Cpu,
        now: u64,
    ) -> Option<Record> {
        match event.direction {
            Direction::Enter => self.os.observe(event, cpu.mem()),
            Direction::Exit => self.os.observe_exit(event),
        }
        self.on_event(event, cpu, now)
    }

    /// Handles one event, on any thread, while others handle theirs
    /// (the layer does not observe it: see [`Tracker::observes`]).
    pub fn on_event(&self, event: &Event, cpu: &mut dyn Cpu, now: u64) -> Option<Record> {
        attrib::next_event();
        match event.direction {
            Direction::Enter => {
                self.stats.add(event.vcpu, Counter::Enters, 1);
                self.on_enter(event, cpu, now)
            }
            Direction::Exit => {
                self.stats.add(event.vcpu, Counter::Exits, 1);
                self.on_exit(event, cpu, now)
            }
        }
    }

    fn on_enter(&self, event: &Event, cpu: &mut dyn Cpu, now: u64) -> Option<Record> {
        // What the scope and the attributions were before this enter
        // looked (a lane's ticket holds while they stay).
        let gens = (
            self.scope_gen.load(Ordering::Acquire),
            self.attrib.generation(),
        );
        // The queueing call of a `signal=` injection is vstrace's own.
        let key = ThreadKey::at_enter(event);
        if self.queueing_enter(key, cpu) {
            return None;
        }
        let mut info = self.os.identify(event, frame::call_nr(event));
        // A multiplexer (i386's socketcall, ipc) is shown, filtered and
        // decoded as the call it makes, with that call's arguments.
        let mut split_raw = None;
        if self.os.multiplexer(&info) {
            if let Some((sub, args)) = self.split_call(event, &info, cpu) {
                info = sub;
                split_raw = Some(args);
            }
        }
        if self.keep_names {
            self.names_kept.event(info.hints);
            if info.hints.has(CallHints::CHANGES_NAMES)
                && !info.fork
                && self.os.may_hide_fd_changes(&info)
            {
                // io_uring's asynchronous work, a seccomp supervisor's
                // ADDFD: descriptors may change where no call shows it.
                // (A thread with a table of its own is keyed apart.)
                self.names_kept.turn_off();
            }
        }
        if info.fork && self.early.paths.on() {
            self.clone_checked_for_paths(event, &info, cpu);
        }
        if info.noreturn && !info.ends_process && self.os.ends_last_thread(&info, event, cpu.mem())
        {
            info.ends_process = true;
        }
        // Cleared at the entry, and again when this enter is done with:
        // attributing the call itself (its record, -p/--comm) fills the
        // cache with what the call is about to change (a prctl rename),
        // which the next call must not take.
        let _reclear = attrib::changes_attribution(&info).then(|| {
            self.clear_attrib();
            attrib::ClearAtEnd(self)
        });
        let cr3 = cr3_key(event.cr3);
        self.made_call_in(cr3);
        let state = match &self.scope {
            None => Some(true),
            Some(s) => self.space_state(s, event.vcpu, cr3),
        };
        if info.ends_process && state.is_some() {
            // The address space dies with its process; its page tables may
            // be reused by any other process. A vfork child's exit leaves
            // its parent's space as it is.
            let who = match &self.scope {
                Some(_) if self.scope_by_process() => self.who(event, cpu.mem()),
                _ => None,
            };
            if let Some(s) = &self.scope {
                let mut s = self.scope_mut(s);
                if s.owned_by(cr3, who.as_ref().map(|w| w.pid)) {
                    s.leave(cr3);
                }
            }
        }
        // Out of scope, only the execs that lead to the command matter.
        let (root_exec, pre_scope) = match state {
            Some(true) => (false, false),
            Some(false) if info.exec => (false, true),
            None if info.exec && self.names_root(event, &info, cpu) => (true, false),
            _ => return None,
        };
        let in_scope = !root_exec && !pre_scope;
        // Looked up once (a set lookup by name): -P, the scope check and
        // the filter below all ask.
        let traced = self.trace.contains_call(&info.name, info.abi);
        let plain = self.counts_plainly(&info);
        // -P / trace-fds= before the caller is attributed: a call they
        // drop costs no task walk.
        let fd_first = if in_scope && traced {
            self.fd_filter_first(event, &info, split_raw.as_deref(), cpu)
        } else {
            None
        };
        if fd_first == Some(false) {
            return None;
        }
        let mut early_proc = None;
        let mut comm_exec = false;
        if in_scope && self.scope_by_process() {
            // A process's end and lifecycle calls make events whatever
            // the filter shows: they need the check as much as shown calls.
            let wanted = traced || info.ends_process || self.lifecycle(&info);
            // -c's lane without -f keeps no caller: the steady state's
            // check needs its pid alone (no copy of its command name).
            let lean = !self.follow_forks && !self.by_proc && plain;
            let admitted = wanted
                && lean
                && self
                    .scope
                    .as_ref()
                    .is_some_and(|s| self.pid_admitted(s, event, cpu.mem(), cr3));
            if wanted && !admitted {
                // The steady state changes nothing: checked under the
                // shared lock, the exclusive one only to change the scope.
                let (who, admitted) = match &self.scope {
                    Some(s) => self.who_admitted(s, event, cpu.mem(), cr3),
                    None => (self.who(event, cpu.mem()), true),
                };
                early_proc = who;
                if let (Some(s), Some(who)) = (&self.scope, &early_proc) {
                    if !admitted {
                        let mut s = self.scope_mut(s);
                        if !s.admits(cr3, who) {
                            // A freed space reused by a process outside
                            // the command's tree.
                            s.leave(cr3);
                            return None;
                        }
                    }
                }
            }
        }
        if in_scope && self.by_proc {
            let who = match early_proc.take() {
                Some(w) => Some(w),
                None => self.who(event, cpu.mem()),
            };
            let wanted = who.as_ref().is_some_and(|p| {
                if self.pid_traced(p.pid) {
                    return true;
                }
                let by_comm = self.comms.iter().any(|c| p.comm.as_deref() == Some(c));
                if by_comm {
                    // A process picked by its name stays traced when it
                    // renames itself (prctl PR_SET_NAME), as strace keeps
                    // tracing the process it started.
                    write(&self.pids).insert(p.pid);
                }
                by_comm
            });
            if !wanted {
                if !(info.exec && !self.comms.is_empty() && who.is_some()) {
                    return None;
                }
                comm_exec = true;
            }
            early_proc = who;
        }
        let shown = in_scope && !comm_exec && traced;
        let tid = early_proc.as_ref().map(|p| p.tid);
        let mut hit = Injection::default();
        // strace tampers only with the calls it traces (`-e trace=`).
        // As strace's -e inject=: a later rule naming the call replaces
        // the earlier ones for it (its fault, pokes and `when=`), so only
        // the last rule whose set has the call counts and applies.
        if self.has_injects && in_scope && shown {
            if let Some(rule) = lock(&self.injects)
                .iter_mut()
                .rev()
                .find(|r| r.set.contains(&info.name))
            {
                rule.check(&info.name, tid, &mut hit);
            }
        }
        if in_scope && info.ends_process && hit.action.is_none() {
            // strace's `+++ exited with N +++`, whatever `-e trace=` shows
            // (not when a fault is injected: the call is skipped, the
            // process goes on).
            self.exited(event, &info, cpu, now, early_proc.clone());
        } else if in_scope && info.noreturn && !info.returns_elsewhere && self.follow_forks {
            // A thread's own exit(2), not its process's last: with -f each
            // thread is one of strace's tracees, and its end a line.
            if hit.action.is_none() {
                self.thread_exited(event, &info, cpu, now, early_proc.clone());
            }
        }
        if !shown
            && !root_exec
            && !self.lifecycle(&info)
            && !self.hook_wants(&info.name, Direction::Enter)
            && !self.hook_wants(&info.name, Direction::Exit)
        {
            return None;
        }
        let ret_ip = frame::ret_ip_of(event);
        if shown && !root_exec && !pre_scope && !comm_exec && split_raw.is_none() && plain {
            // -c's lane: the caller as the general path would have it.
            let proc_info = match early_proc {
                Some(p) => Some(p),
                None if self.follow_forks => self.who(event, cpu.mem()),
                None => None,
            };
            self.count_enter(event, cpu, info, key, ret_ip, proc_info, now, gens);
            return None;
        }
        let mut inject = hit.action;
        let mut sc = entersc::EnterCpu::new(event, self.os_kind, cpu);
        // Names are for hooks (their by-name accessors and errors); skip
        // the allocations on the fast path when there are none.
        if self.has_hooks {
            let sc = sc.sc();
            sc.name = info.name.to_string();
            sc.arg_names = self
                .os
                .arg_names(&info)
                .unwrap_or_else(|| unknown_arg_names(info.nargs));
        }
        let nargs = info.nargs.min(sc.max_args());
        let split = split_raw.is_some();
        let mut raw = match split_raw {
            Some(r) => RawArgs::from_slice(&r),
            None => RawArgs::read(nargs, |i| sc.arg(i).unwrap_or(0)),
        };
        let mut shown = shown;
        let fd_pass = !(shown || pre_scope || comm_exec)
            || fd_first.unwrap_or_else(|| {
                !self.fd_filter_on() || self.fd_filter_passes(event, &info, &raw, sc.sc())
            });
        if shown && !fd_pass {
            // -P / trace-fds=: not shown, and not tampered with (strace
            // filters before it injects); still followed when scoping or
            // hooks need the call.
            shown = false;
            hit = Injection::default();
            inject = None;
            let hooked = self.hook_wants(&info.name, Direction::Enter)
                || self.hook_wants(&info.name, Direction::Exit);
            if !root_exec && !self.lifecycle(&info) && !hooked && hit.is_empty() {
                return None;
            }
        }

        if !self.rewrites.is_empty() && info.hints.has(CallHints::PATH_ARGS) {
            for idx in self.os.path_args(&info) {
                if idx <= raw.len() {
                    rewrite_path(self.os.as_ref(), sc.sc(), idx, &self.rewrites);
                }
            }
        }
        if self.hook_wants(&info.name, Direction::Enter) {
            // Hooks get the caller (a Python hook's `syscall.process`).
            let process = match &early_proc {
                Some(p) => Some(p.clone()),
                None => self.who(event, sc.cpu().mem()),
            };
            sc.sc().process = process;
        }
        let failures = if self.has_hooks {
            self.dispatch_hooks(&info.name, sc.sc())
        } else {
            Vec::new()
        };
        let error = hook_error(None, &failures);
        if inject.is_none() {
            inject = sc.take_skip().map(InjectAction::Retval);
        }
        if let Some(sig) = sc.take_signal() {
            // A hook's Syscall::signal: as `--inject=...:signal=`.
            hit.signal = hit.signal.or(Some(u64::from(sig)));
        }
        if inject.is_some() {
            // syscall=NAME: the kernel runs that pure call; else none.
            let nr = hit
                .substitute
                .as_deref()
                .and_then(|n| self.os.number_of_name(info.abi, n))
                .unwrap_or_else(|| self.os.invalid_nr(&info));
            let _ = sc.sc().set_number(nr);
        }
        // Arguments as the kernel will see them after hooks wrote them
        // (a sub-call's are in memory, not in the registers). Only hooks
        // and path rewrites write them (an injection, the number): read
        // again only then.
        let rewritten = self.has_hooks || !self.rewrites.is_empty();
        for (i, r) in raw.iter_mut().enumerate().filter(|_| !split && rewritten) {
            if let Ok(v) = sc.arg(i + 1) {
                *r = v;
            }
        }
        let end = self.user_end(event);
        // strace pokes after the fault and before decoding: the line
        // shows what the kernel reads.
        let error = if hit.acts_at(false) {
            self.tamper(sc.sc(), &info.name, &raw, tid, &hit, false, end, error)
        } else {
            error
        };
        let decode = self.decodes_call(&info);
        let opts = self.call_opts(&info);
        let mut args = if decode {
            self.decode_enter(&info, &raw, &mut self.user(event, sc.cpu().mem()), &opts)
        } else {
            Vec::new()
        };
        if decode && args.is_empty() && info.returns_elsewhere && self.pair_by_thread {
            if let Some(frame) =
                self.os
                    .frame_args(&info, event, &mut self.user(event, sc.cpu().mem()))
            {
                args = frame;
            }
        }
        if shown && decode && info.hints.has(CallHints::BY_FD) {
            let call = CallArgs {
                info: &info,
                raw: &raw,
                opts: &self.opts,
            };
            // What the descriptor is in the kernel (a netlink socket's
            // protocol) shapes some arguments.
            self.os
                .decode_by_fd(event, sc.cpu().mem(), end, call, None, &mut args);
        }
        let fds = if shown && self.names.any() {
            let call = CallArgs {
                info: &info,
                raw: &raw,
                opts: &opts,
            };
            self.name_call(event, sc.cpu().mem(), call, &self.names, &mut args, tid)
        } else {
            if shown && decode && self.record_names {
                let call = CallArgs {
                    info: &info,
                    raw: &raw,
                    opts: &opts,
                };
                // Read for the recording only; what is printed is
                // unchanged. Names the recording holds already are not
                // read again (only for a known thread: see `namekeep`).
                let mut scratch = args.clone();
                let named =
                    self.name_call(event, sc.cpu().mem(), call, &ALL_NAMES, &mut scratch, tid);
                self.record_targets(event, &info, &raw, sc.sc(), &named);
            }
            Vec::new()
        };
        let caller = if shown && self.callers {
            self.os.caller(event, sc.cpu().mem())
        } else {
            None
        };
        let stack = if shown && self.stacks {
            self.os.stack(event, sc.cpu().mem())
        } else {
            Vec::new()
        };
        let dumps = self.dumps();
        let io = if shown && decode && dumps.any() {
            dumps.at_enter(
                &info.name,
                &raw,
                event.bitness,
                &mut self.user(event, sc.cpu().mem()),
            )
        } else {
            Vec::new()
        };
        // signal=: loaded last, so that everything above read the call's
        // own registers.
        let mut signal = None;
        let mut error = error;
        let mut modifications = sc.take_modifications();
        if let Some(sig) = hit.signal {
            let ids = match &early_proc {
                Some(p) => Some((p.pid, p.tid)),
                None => self.who(event, sc.cpu().mem()).map(|w| (w.pid, w.tid)),
            };
            let faked = inject.is_some() && hit.substitute.is_none();
            let mods = &mut modifications;
            match self.signal_at_enter(sig, faked, event, sc.cpu(), info.abi, ids, mods) {
                Ok(s) => signal = Some(s),
                Err(e) => {
                    eprintln!("vstrace: {e}");
                    error = Some(match error {
                        Some(x) => format!("{x}; {e}"),
                        None => e,
                    });
                }
            }
        }
        let hook = sc.take_hook();
        // -c shows no process; execs and forks need theirs for the scope.
        // Forks, execs and waits the filter hides too: their process
        // events.
        let attribute_shown =
            (shown && decode) || info.exec || info.fork || (self.os.reaps(&info) && !shown);
        let proc_info = match early_proc {
            Some(p) => Some(p),
            None if attribute_shown || pre_scope || self.follow_forks => match sc.take_process() {
                // Already read for the hooks.
                Some(p) => Some(p),
                None => self.who(event, sc.cpu().mem()),
            },
            None => None,
        };
        let retry = args
            .iter()
            .any(|a| a.text.as_deref().is_some_and(|v| v.starts_with("0x")));
        let returns_elsewhere = info.returns_elsewhere;
        let thread = if self.pair_by_thread {
            self.running_task(event, sc.cpu().mem())
        } else {
            None
        };
        let child_shares_space = info.fork
            && self
                .os
                .fork_shares_space(&info, &raw, &mut self.user(event, sc.cpu().mem()));
        let pending = records::pending_in_place!(
            ret_ip: ret_ip,
            thread: thread,
            info: info,
            bitness: event.bitness,
            mechanism: event.mechanism,
            raw: raw,
            args: args,
            vcpu: event.vcpu,
            cr3: cr3_key(event.cr3),
            ts: now,
            inject: inject,
            pokes_exit: hit.pokes.into_iter().filter(|p| p.at_exit).collect(),
            delay_exit_us: hit.delay_exit_us,
            modifications: modifications,
            hook: hook,
            order: self.order.fetch_add(1, Ordering::Relaxed),
            retry: retry,
            returns_elsewhere: returns_elsewhere,
            shown: shown,
            root_exec: root_exec,
            pre_scope: pre_scope,
            comm_exec: comm_exec,
            proc_info: proc_info,
            changed: Vec::new(),
            ip: self.want_ip.then(|| self.user_ip(event)),
            ret_detail: None,
            ret_hex: false,
            error: error,
            fds: fds,
            ret_name: None,
            fd_pass: fd_pass,
            caller: caller,
            stack: stack,
            io: io,
            kernel32: event.bitness == Bitness::B32 && event.regs.efer & EFER_LMA == 0,
            child_shares_space: child_shares_space,
            cpu_used: None,
            signal: signal,
            delivered: false,
            cpu_at_enter: if self.cpu_read && shown {
                self.thread_cpu_ns(event, sc.cpu().mem())
            } else {
                None
            },
        );
        if self.os.never_returns(&pending.info, &pending.raw)
            && inject.is_none()
            && pending.pokes_exit.is_empty()
        {
            return shown.then(|| self.record(pending, CallState::NoReturn, None, None));
        }
        if self.announce_entries && pending.shown {
            // Announced only if another record comes before its end (see
            // `announce`).
            self.unannounced.note(event.vcpu, pending.order, key);
        }
        self.insert(key, pending);
        None
    }

    fn on_exit(&self, event: &Event, cpu: &mut dyn Cpu, now: u64) -> Option<Record> {
        let (ip, sp) = return_target(event, cpu)?;
        let key = ThreadKey {
            cr3: cr3_key(event.cr3),
            sp,
        };
        if self.lanes_on && self.lane_exit(event, cpu, key, ip, &|| now) {
            return None;
        }
        // Read only when the calls under the key need it (a fork's, or
        // several returning to this ip, one of which knows its thread):
        // see `sole_return`. (Not `thread_at`: this runs under the
        // shard's lock, which `thread_known` takes.)
        let taken = {
            let mut thread = || self.returning_thread(event, cpu);
            self.take_at_return(event.vcpu, key, ip, &mut thread, event.regs.rax())
        };
        let (pending, announced) = match taken {
            Some(p) => p,
            // A return to no call of its stack (an exec's new image, a
            // sigreturn, a fork child, a signal delivery): which thread
            // returns is read now, so that one process's exec does not end
            // another's exec in flight on this vCPU (two execs at once: a
            // program and a watchdog started beside it).
            None => {
                match self.take_elsewhere(event, None, || self.running_task(event, cpu.mem())) {
                    Some(p) => (p, false),
                    None => {
                        // A return of no call: a signal delivery or a fork
                        // child's first run may follow, both process events.
                        self.clear_attrib();
                        if self.keep_names {
                            // Of which call, unknown: it may have changed a name.
                            self.names_kept.start_over();
                        }
                        if let Some(rec) = self.signal(event, cpu, now, ip, sp) {
                            return rec;
                        }
                        self.stats.add(event.vcpu, Counter::UnmatchedExits, 1);
                        return self.child_return(event, cpu, ip, sp, now);
                    }
                }
            }
        };
        self.finish_call(pending, event, cpu, now, sp, announced)
    }

    /// The running thread's identity at a return to the stack `key`, for
    /// a signal delivery's look at the interrupted call: it is what tells
    /// a vfork child's return from its parent's. At a sysret or sysexit
    /// it is read whenever calls are paired by thread; at an iret (an
    /// interrupt's return, most often with no call in flight there) only
    /// when a call of a known thread is in flight on that stack (this
    /// takes the shard's lock). A plain return reads it only when the
    /// calls on its stack need it (see `on_exit`).
    fn thread_at(&self, key: ThreadKey, event: &Event, cpu: &mut dyn Cpu) -> Option<u64> {
        match event.mechanism {
            Mechanism::Sysret | Mechanism::Sysexit => self.returning_thread(event, cpu),
            _ if self.thread_known(key) => self.returning_thread(event, cpu),
            _ => None,
        }
    }

    /// The returning thread at `event`, when it can tell calls apart: at
    /// a sysret or sysexit only when calls are paired by thread (a
    /// recording made before that has no such read), at an iret always.
    /// Takes no lock of the engine's.
    fn returning_thread(&self, event: &Event, cpu: &mut dyn Cpu) -> Option<u64> {
        match event.mechanism {
            Mechanism::Sysret | Mechanism::Sysexit if !self.pair_by_thread => None,
            _ => self.running_task(event, cpu.mem()),
        }
    }

    /// The `-e write=`/`-e read=` sets, for a Linux guest (none else).
    fn dumps(&self) -> crate::dump::Dumps<'_> {
        static NONE: crate::dump::FdSet = crate::dump::FdSet {
            fds: Vec::new(),
            negated: false,
        };
        match self.os_kind {
            Os::Linux => crate::dump::Dumps {
                write: &self.dump_writes,
                read: &self.dump_reads,
            },
            _ => crate::dump::Dumps {
                write: &NONE,
                read: &NONE,
            },
        }
    }

    /// The decoding options for a call of `info`: `-e abbrev=` and `-e
    /// verbose=` may change them per call.
    fn call_opts(&self, info: &CallInfo) -> DecodeOptions {
        let mut o = self.opts;
        if self
            .abbrev
            .as_ref()
            .is_some_and(|s| !s.contains_call(&info.name, info.abi))
        {
            o.verbose = true;
        }
        if self
            .decoded
            .as_ref()
            .is_some_and(|s| !s.contains_call(&info.name, info.abi))
        {
            o.structs = false;
        }
        o
    }

    /// The arguments at enter, in hex when the layer has no prototype;
    /// decoded into a written record's list when one is spare.
    fn decode_enter(
        &self,
        info: &CallInfo,
        raw: &[u64],
        mem: &mut dyn VirtMem,
        opts: &DecodeOptions,
    ) -> Vec<ArgValue> {
        let call = CallArgs { info, raw, opts };
        let mut args = self.spare_args();
        if !self.os.decode_enter_into(call, mem, &mut args) {
            args = ArgValue::unknown(raw);
        }
        args
    }

    /// Calls still in flight, oldest first.
    pub fn drain_unfinished(&self, _now: u64) -> Vec<Record> {
        self.drain_pending(CallState::Unfinished)
    }

    /// The calls in flight when the tracer detached and left the VM
    /// running (see [`CallState::Detached`]), in order; the pairing state
    /// is cleared.
    pub fn drain_detached(&self) -> Vec<Record> {
        self.drain_pending(CallState::Detached)
    }

    /// The calls in flight, ended as `state`.
    fn drain_pending(&self, state: CallState) -> Vec<Record> {
        let mut all = self.pending.drain();
        self.early.inflight.store(0, Ordering::Release);
        all.append(&mut lock(&self.ended_calls));
        all.sort_by_key(|p| p.order);
        all.into_iter()
            .filter(|p| p.shown)
            .map(|p| self.record(p, state, None, None))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    //! Pairing, scoping and injection on synthetic events and memory.

    use vstrace_core::cpu::SnapshotCpu;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::{Reg, Regs, VirtMem};

    use super::*;
    use vstrace_linux::LinuxLayer;

    const CR3: u64 = 0x1234_5000;
    const RIP: u64 = 0x40_1000;

    struct Rig {
        t: Tracker,
        mem: SparseVirt,
        now: u64,
    }

    fn rig(cfg: EngineConfig) -> Rig {
        let mut mem = SparseVirt::new();
        mem.map_zeroed(0x7fff_0000, 0x10000);
        mem.map(0x60_0000, b"/etc/passwd\0/vstrace/cmd\0");
        Rig {
            t: Tracker::new(&cfg, Box::new(LinuxLayer::default()), Hooks::new()).unwrap(),
            mem,
            now: 0,
        }
    }

    fn regs(nr: u64, args: &[u64], sp: u64, cr3: u64) -> Regs {
        let mut r = Regs {
            cr3,
            cs: 0x33,
            ..Default::default()
        };
        r.set(Reg::Rax, nr);
        for (reg, v) in [Reg::Rdi, Reg::Rsi, Reg::Rdx, Reg::R10, Reg::R8, Reg::R9]
            .iter()
            .zip(args)
        {
            r.set(*reg, *v);
        }
        r.set(Reg::Rsp, sp);
        r.set(Reg::Rip, RIP);
        r
    }

    impl Rig {
        fn event(&mut self, ev: Event) -> (Option<Record>, Vec<Record>, Regs) {
            self.now += 10;
            let mut cpu = SnapshotCpu {
                regs: ev.regs.clone(),
                mem: &mut self.mem,
            };
            let r = self.t.on_event_exclusive(&ev, &mut cpu, self.now);
            let out = cpu.regs.clone();
            let extra = self.t.take_extra();
            (r, extra, out)
        }
        fn enter(&mut self, nr: u64, args: &[u64], sp: u64, cr3: u64) -> (Option<Record>, Regs) {
            let ev = Event::new(0, Mechanism::Syscall, Bitness::B64, regs(nr, args, sp, cr3));
            let (r, _, out) = self.event(ev);
            (r, out)
        }
        /// sysretq back to RIP+2 with `sp` and return value `rax`.
        fn sysret(&mut self, rax: u64, sp: u64, cr3: u64) -> (Option<Record>, Regs) {
            let r = super::test_os::sysret_regs(rax, RIP + 2, sp, cr3);
            let (rec, _, out) = self.event(Event::new(0, Mechanism::Sysret, Bitness::B64, r));
            (rec, out)
        }
        /// iretq with a frame at a kernel stack in memory.
        fn iret(
            &mut self,
            rax: u64,
            ip: u64,
            sp: u64,
            cr3: u64,
            zero_regs: bool,
        ) -> Option<Record> {
            self.iret_with(ip, sp, cr3, |r| {
                if !zero_regs {
                    r.set(Reg::Rbx, 1);
                }
                r.set(Reg::Rax, rax);
            })
            .0
        }
        /// iretq to `ip` and `sp` with the general registers `set` makes.
        fn iret_with(
            &mut self,
            ip: u64,
            sp: u64,
            cr3: u64,
            set: impl FnOnce(&mut Regs),
        ) -> (Option<Record>, Vec<Record>) {
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
            set(&mut r);
            r.set(Reg::Rsp, kstack);
            let (rec, extra, _) = self.event(Event::new(0, Mechanism::Iret, Bitness::B64, r));
            (rec, extra)
        }
    }

    #[test]
    fn enter_and_sysret_pair_into_one_decoded_record() {
        let mut r = rig(EngineConfig::default());
        assert!(r
            .enter(
                257,
                &[(-100i64) as u64, 0x60_0000, 0x80000, 0],
                0x7fff_1000,
                CR3
            )
            .0
            .is_none());
        let rec = r
            .sysret(3, 0x7fff_1000, CR3 | 0x801)
            .0
            .expect("record at exit");
        assert_eq!(rec.name, "openat");
        assert_eq!(rec.args[1].text.as_deref(), Some("\"/etc/passwd\""));
        assert_eq!(rec.args[2].text.as_deref(), Some("O_RDONLY|O_CLOEXEC"));
        assert_eq!(rec.ret, Some(3));
        assert_eq!(rec.state, CallState::Complete);
        assert_eq!((rec.ts_enter_ns, rec.ts_exit_ns), (10, Some(20)));
    }

    #[test]
    fn blocked_threads_pair_by_stack_not_by_order() {
        let mut r = rig(EngineConfig::default());
        r.enter(0, &[3, 0x7fff_2000, 10], 0x7fff_1000, CR3); // read, thread A
        r.enter(39, &[], 0x7fff_3000, CR3); // getpid, thread B
        let b = r.sysret(77, 0x7fff_3000, CR3).0.unwrap();
        assert_eq!((&*b.name, b.ret), ("getpid", Some(77)));
        // Thread A returns through iret (after a reschedule).
        let a = r.iret(0, RIP + 2, 0x7fff_1000, CR3, false).unwrap();
        assert_eq!((&*a.name, a.ret), ("read", Some(0)));
        // An interrupt return with no call in flight is not a record.
        assert!(r.iret(5, 0x40_2000, 0x7fff_1000, CR3, false).is_none());
        assert_eq!(r.t.stats().unmatched_exits, 1);
    }

    #[test]
    fn an_interrupt_inside_a_handler_is_not_a_second_delivery() {
        let mut r = rig(EngineConfig::default());
        let user_sp = 0x7fff_1000u64;
        r.enter(130, &[0x7fff_2000, 8], user_sp, CR3); // rt_sigsuspend
                                                       // The handler's frame: restorer, ucontext (the interrupted
                                                       // context: rip, rsp, -EINTR), the SIGCHLD siginfo.
        let frame = 0x7fff_4000u64;
        let uc = frame + 8;
        let mc = uc + 40;
        let info = uc + 304;
        let put = |r: &mut Rig, a: u64, v: u64| r.mem.write_virt(a, &v.to_le_bytes()).unwrap();
        put(&mut r, frame, 0x40_3000);
        put(&mut r, mc + 13 * 8, (-4i64) as u64);
        put(&mut r, mc + 15 * 8, user_sp);
        put(&mut r, mc + 16 * 8, RIP + 2);
        put(&mut r, info, 17); // si_signo=SIGCHLD, si_errno=0
        put(&mut r, info + 8, 1); // si_code=CLD_EXITED
        let deliver = |r: &mut Rig, ip: u64| {
            r.iret_with(ip, frame, CR3, |regs| {
                regs.set(Reg::Rdi, 17);
                regs.set(Reg::Rsi, info);
                regs.set(Reg::Rdx, uc);
            })
        };
        let (call, extra) = deliver(&mut r, 0x40_2000);
        assert_eq!(
            call.map(|c| c.name.to_string()).as_deref(),
            Some("rt_sigsuspend")
        );
        assert_eq!(extra.len(), 1);
        assert_eq!(&*extra[0].name, "SIGCHLD");
        // A timer interrupt after the handler's first instruction returns
        // into the same frame, registers untouched: no second line.
        let (again, extra) = deliver(&mut r, 0x40_2004);
        assert!(again.is_none() && extra.is_empty());
    }

    #[test]
    fn exit_group_is_no_return_and_unfinished_calls_drain() {
        let mut r = rig(EngineConfig::default());
        let rec = r.enter(231, &[7], 0x7fff_1000, CR3).0.unwrap();
        assert_eq!((&*rec.name, rec.state), ("exit_group", CallState::NoReturn));
        assert_eq!(rec.args[0].text.as_deref(), Some("7"));
        r.enter(61, &[u64::MAX, 0, 0, 0], 0x7fff_1000, CR3); // wait4 never returns
        let left = r.t.drain_unfinished(0);
        assert_eq!(left.len(), 1);
        assert_eq!(
            (&*left[0].name, left[0].state),
            ("wait4", CallState::Unfinished)
        );
        // A detach (the VM runs on) ends the calls in flight otherwise.
        r.enter(35, &[0x7fff_0000, 0], 0x7fff_1000, CR3); // nanosleep
        let left = r.t.drain_detached();
        assert_eq!(
            (&*left[0].name, left[0].state, left.len()),
            ("nanosleep", CallState::Detached, 1)
        );
        assert!(r.t.drain_unfinished(0).is_empty());
    }

    /// Calls left out by `-e trace=` but tracked (execs, clones, hooked
    /// calls) never become records, not even unfinished ones.
    #[test]
    fn filtered_calls_in_flight_are_never_recorded() {
        let cfg = EngineConfig {
            trace: Some("getpid".into()),
            ..Default::default()
        };
        let mut r = rig(cfg);
        r.enter(56, &[0x11, 0, 0, 0, 0], 0x7fff_1000, CR3); // clone, tracked
        r.enter(56, &[0x11, 0, 0, 0, 0], 0x7fff_1000, CR3); // its return was missed
        r.enter(39, &[], 0x7fff_2000, CR3); // getpid, never returns
        assert!(r.t.take_extra().is_empty());
        let left = r.t.drain_unfinished(0);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].name, "getpid");
    }

    /// A fork the filter leaves out still reaches the sink, hidden (for
    /// the process events and tree); a call it leaves out does not.
    #[test]
    fn filtered_forks_become_hidden_records() {
        let cfg = EngineConfig {
            trace: Some("getpid".into()),
            ..Default::default()
        };
        let mut r = rig(cfg);
        r.enter(56, &[0x11, 0, 0, 0, 0], 0x7fff_1000, CR3);
        let rec = r.sysret(88, 0x7fff_1000, CR3).0.expect("a hidden record");
        assert!(rec.hidden);
        assert_eq!((&*rec.name, rec.ret), ("clone", Some(88)));
        r.enter(110, &[], 0x7fff_1000, CR3); // getppid: left out
        assert!(r.sysret(1, 0x7fff_1000, CR3).0.is_none());
        r.enter(39, &[], 0x7fff_1000, CR3); // getpid: shown
        assert!(!r.sysret(87, 0x7fff_1000, CR3).0.unwrap().hidden);
    }

    /// A fork whose child gets a space of its own keeps returns coming
    /// until that child's first return; one whose child shares the
    /// caller's space (a thread, a vfork child: never matched to the
    /// parent's call by its space) leaves returns to the early-out at
    /// once, instead of for the rest of the run.
    #[test]
    fn only_forks_into_a_new_space_wait_for_their_child() {
        let cfg = EngineConfig {
            trace: Some("openat".into()),
            ..Default::default()
        };
        const SP: u64 = 0x7fff_1000;
        // clone3's struct clone_args: flags first.
        let args_at = 0x7fff_2000;
        let mut r = rig(cfg);
        let clone3 = |r: &mut Rig, flags: u64| {
            r.mem.map(args_at, &flags.to_le_bytes());
            r.enter(435, &[args_at, 88], SP, CR3);
            r.sysret(90, SP, CR3);
        };
        // pthread_create's clone, clone3's, vfork, posix_spawn's clone.
        r.enter(56, &[0x3d_0f00, 0, 0, 0, 0], SP, CR3);
        r.sysret(88, SP, CR3);
        assert!(!r.t.wants_exits(), "a thread's clone");
        clone3(&mut r, 0x3d_0f00);
        assert!(!r.t.wants_exits(), "a thread's clone3");
        r.enter(58, &[], SP, CR3);
        r.sysret(89, SP, CR3);
        assert!(!r.t.wants_exits(), "vfork");
        r.enter(56, &[0x4111, 0, 0, 0, 0], SP, CR3);
        r.sysret(91, SP, CR3);
        assert!(!r.t.wants_exits(), "CLONE_VM|CLONE_VFORK|SIGCHLD");
        // fork, and a fork by clone3: the child is awaited until its
        // first return, in its own space.
        r.enter(57, &[], SP, CR3);
        r.sysret(92, SP, CR3);
        assert!(r.t.wants_exits(), "fork");
        r.sysret(0, SP, CR3 + 0x10000);
        assert!(!r.t.wants_exits(), "the fork child returned");
        clone3(&mut r, 0x11);
        assert!(r.t.wants_exits(), "clone3 of a process");
        r.sysret(0, SP, CR3 + 0x20000);
        assert!(!r.t.wants_exits(), "its child returned");
    }

    #[test]
    fn inject_error_skips_the_call_and_sets_the_return() {
        let cfg = EngineConfig {
            inject: vec!["openat:error=ENOENT:when=2".into()],
            ..Default::default()
        };
        let mut r = rig(cfg);
        let (_, out) = r.enter(257, &[0, 0x60_0000, 0, 0], 0x7fff_1000, CR3);
        assert_eq!(out.rax(), 257, "first openat untouched");
        r.sysret(3, 0x7fff_1000, CR3);
        assert!(!r.t.awaits_injected_returns());
        let (_, out) = r.enter(257, &[0, 0x60_0000, 0, 0], 0x7fff_1000, CR3);
        assert_eq!(out.rax(), u64::MAX, "second openat skipped");
        // Its exit must be seen before a source stops tracing.
        assert!(r.t.awaits_injected_returns());
        let (rec, out) = r.sysret((-38i64) as u64, 0x7fff_1000, CR3);
        assert!(!r.t.awaits_injected_returns());
        assert_eq!(out.rax() as i64, -2);
        let rec = rec.unwrap();
        assert_eq!(rec.errno.as_deref(), Some("ENOENT"));
        assert_eq!(rec.modifications.len(), 2, "{:?}", rec.modifications);
    }

    /// strace's -e inject=: the last rule naming a call is the call's
    /// (qual_fault-exit_group: `all:error=ENOSYS` then
    /// `exit:error=1:when=2+` leaves the first exit alone).
    #[test]
    fn the_last_inject_rule_of_a_call_wins() {
        let cfg = EngineConfig {
            inject: vec![
                "all:error=ENOSYS".into(),
                "openat:error=EPERM:when=2+".into(),
            ],
            ..Default::default()
        };
        let mut r = rig(cfg);
        let (_, out) = r.enter(257, &[0, 0x60_0000, 0, 0], 0x7fff_1000, CR3);
        assert_eq!(
            out.rax(),
            257,
            "the first openat is the later rule's: untouched"
        );
        r.sysret(3, 0x7fff_1000, CR3);
        let (_, out) = r.enter(257, &[0, 0x60_0000, 0, 0], 0x7fff_1000, CR3);
        assert_eq!(out.rax(), u64::MAX, "the second is skipped");
        let (_, out) = r.sysret((-38i64) as u64, 0x7fff_1000, CR3);
        assert_eq!(out.rax() as i64, -1, "EPERM, not ENOSYS");
        // Another call is the first rule's.
        let (_, out) = r.enter(39, &[], 0x7fff_1000, CR3);
        assert_eq!(out.rax(), u64::MAX);
        let (_, out) = r.sysret((-38i64) as u64, 0x7fff_1000, CR3);
        assert_eq!(out.rax() as i64, -38);
    }

    /// An exit_group whose fault is injected ends nothing: no `+++
    /// exited +++` record before the call's own.
    #[test]
    fn an_injected_exit_group_ends_no_process() {
        let cfg = EngineConfig {
            inject: vec!["exit_group:error=ENOSYS".into()],
            ..Default::default()
        };
        let mut r = rig(cfg);
        let ev = |nr| {
            Event::new(
                0,
                Mechanism::Syscall,
                Bitness::B64,
                regs(nr, &[42], 0x7fff_1000, CR3),
            )
        };
        let (rec, extra, out) = r.event(ev(231));
        assert!(
            rec.is_none() && out.rax() == u64::MAX,
            "skipped, awaiting its return"
        );
        assert!(extra.is_empty(), "no exit record");
        let (rec, _) = r.sysret((-38i64) as u64, 0x7fff_1000, CR3);
        let rec = rec.unwrap();
        assert_eq!(
            (&*rec.name, rec.errno.as_deref()),
            ("exit_group", Some("ENOSYS"))
        );
        // Without the fault it ends the process.
        let mut r = rig(EngineConfig::default());
        let (_, extra, _) = r.event(ev(231));
        assert_eq!(extra.len(), 1);
    }

    /// strace's poke_enter=/poke_exit=: bytes written where an argument
    /// points, before the line is decoded; the call itself runs unless a
    /// fault is asked for too, and the line says ` (INJECTED: args)`.
    #[test]
    fn pokes_write_guest_memory_at_enter_and_exit() {
        let cfg = EngineConfig {
            inject: vec![
                "chdir:poke_enter=@arg1=2f746d7000".into(),
                "getcwd:poke_exit=@arg1=2f787900:when=2".into(),
            ],
            ..Default::default()
        };
        let mut r = rig(cfg);
        // chdir("/etc/passwd") becomes chdir("/tmp") before the kernel reads it.
        let (_, out) = r.enter(80, &[0x60_0000], 0x7fff_1000, CR3);
        assert_eq!(out.rax(), 80, "the call is not skipped");
        let mut buf = [0u8; 5];
        r.mem.read_virt(0x60_0000, &mut buf).unwrap();
        assert_eq!(&buf, b"/tmp\0");
        let rec = r.sysret(0, 0x7fff_1000, CR3).0.unwrap();
        assert_eq!(rec.args[0].text.as_deref(), Some("\"/tmp\""));
        let mut line = String::new();
        rec.to_text(&mut line);
        assert!(line.ends_with("= 0 (INJECTED: args)"), "{line}");
        let m = &rec.modifications[0];
        assert_eq!(
            (m.target.as_str(), m.location.as_str()),
            ("@arg1", "mem:0x600000")
        );
        assert_eq!(m.before_text.as_deref(), Some("2f6574632f"));
        assert_eq!(m.after_text.as_deref(), Some("2f746d7000"));
        // getcwd: the first call untouched, the second's buffer written at exit.
        let buf_at = 0x7fff_2000;
        r.enter(79, &[buf_at, 64], 0x7fff_1000, CR3);
        r.mem.write_virt(buf_at, b"/root\0").unwrap();
        let rec = r.sysret(6, 0x7fff_1000, CR3).0.unwrap();
        assert!(rec.modifications.is_empty());
        r.enter(79, &[buf_at, 64], 0x7fff_1000, CR3);
        assert!(r.t.awaits_injected_returns(), "the exit's poke is pending");
        r.mem.write_virt(buf_at, b"/root\0").unwrap();
        let rec = r.sysret(6, 0x7fff_1000, CR3).0.unwrap();
        let mut b = [0u8; 4];
        r.mem.read_virt(buf_at, &mut b).unwrap();
        assert_eq!(&b, b"/xy\0");
        assert_eq!(rec.modifications.len(), 1, "{:?}", rec.modifications);
        // Combined with a fault: both marks.
        let cfg = EngineConfig {
            inject: vec!["chdir:error=ENOENT:poke_enter=@arg1=41".into()],
            ..Default::default()
        };
        let mut r = rig(cfg);
        r.enter(80, &[0x60_0000], 0x7fff_1000, CR3);
        let rec = r.sysret((-38i64) as u64, 0x7fff_1000, CR3).0.unwrap();
        let mut line = String::new();
        rec.to_text(&mut line);
        assert!(line.ends_with(" (INJECTED: args, retval)"), "{line}");
        // A pointer to nothing: the call goes on, the failure is said.
        let cfg = EngineConfig {
            inject: vec!["chdir:poke_enter=@arg1=41".into()],
            ..Default::default()
        };
        let mut r = rig(cfg);
        r.enter(80, &[0x90_0000], 0x7fff_1000, CR3);
        let rec = r.sysret((-14i64) as u64, 0x7fff_1000, CR3).0.unwrap();
        assert!(rec.modifications.is_empty());
        assert!(
            rec.error
                .as_deref()
                .is_some_and(|e| e.contains("couldn't poke")),
            "{:?}",
            rec.error
        );
    }

    /// A trace set of one personality (`getcwd@64`, strace's
    /// trace_personality tests) keeps that personality's call from the
    /// early-out and drops the other's.
    #[test]
    fn early_out_reads_personality_sets() {
        let cfg = EngineConfig {
            trace: Some("getcwd@64".into()),
            ..Default::default()
        };
        let r = rig(cfg);
        assert!(!r.t.skip_enter(79, Bitness::B64, CR3));
        assert!(r.t.skip_enter(183, Bitness::B32, CR3));
    }

    /// The early-out drops exactly the enters the full path would drop
    /// without a trace: calls `-e trace=` leaves out, but never execs,
    /// forks or exits (scope bookkeeping), and never a shown call.
    #[test]
    fn early_out_drops_only_what_the_full_path_drops() {
        let cfg = EngineConfig {
            trace: Some("openat".into()),
            ..Default::default()
        };
        let mut r = rig(cfg);
        // read, write, getppid: left out.
        for nr in [0, 1, 110] {
            assert!(r.t.skip_enter(nr, Bitness::B64, CR3), "nr {nr}");
            assert!(r.enter(nr, &[0, 0, 0], 0x7fff_1000, CR3).0.is_none());
            assert!(!r.t.wants_exits(), "nr {nr} left a call in flight");
        }
        // openat (shown), clone, execve, exit_group, wait4: the full path.
        for nr in [257, 56, 59, 231, 61] {
            assert!(!r.t.skip_enter(nr, Bitness::B64, CR3), "nr {nr}");
        }
        // Of those, only openat reads nothing but its 4 register
        // arguments; the others' registers are all read. Left-out and
        // unseen calls have no argument count, nor has a 32-bit caller.
        let early = r.t.early();
        assert_eq!(early.enter_args(257, Bitness::B64), Some(4));
        for nr in [56, 59, 231, 61, 0, 2] {
            assert_eq!(early.enter_args(nr, Bitness::B64), None, "nr {nr}");
        }
        assert_eq!(early.enter_args(257, Bitness::B32), None);
        assert!(early.lazy_sysret());
        // -c reads no argument of a plain call.
        let cfg = EngineConfig {
            trace: Some("openat".into()),
            summary: true,
            ..Default::default()
        };
        let r2 = rig(cfg);
        assert!(!r2.t.skip_enter(257, Bitness::B64, CR3));
        assert_eq!(r2.t.early().enter_args(257, Bitness::B64), Some(0));
        // The same numbers in the 32-bit table are other calls: i386 3 is
        // read (dropped), 11 execve (kept); the high half of eax is ignored.
        assert!(r.t.skip_enter(0xdead_0000_0003, Bitness::B32, CR3));
        assert!(!r.t.skip_enter(11, Bitness::B32, CR3));
        // Huge numbers are not cached: the full path names them.
        assert!(!r.t.skip_enter(1 << 40, Bitness::B64, CR3));
        // A fork child that returned but made no call: the lock-free
        // check asks (the call must clear it), the locked one drops.
        let early = r.t.early();
        assert_eq!(early.check_enter(0, Bitness::B64), early::EnterCheck::Skip);
        {
            let mut f = r.t.forks();
            f.fresh_children.insert(cr3_key(CR3));
            r.t.forks_changed(&f);
        }
        assert_eq!(early.check_enter(0, Bitness::B64), early::EnterCheck::Ask);
        assert!(r.t.skip_enter(0, Bitness::B64, CR3));
        assert!(r.t.forks().fresh_children.is_empty());
        assert_eq!(early.check_enter(0, Bitness::B64), early::EnterCheck::Skip);
        // No call in flight: a sysret can match nothing.
        assert!(r.t.skip_sys_exit());
        assert!(early.skip_sys_exit());
        r.enter(257, &[0, 0x60_0000, 0, 0], 0x7fff_1000, CR3);
        assert!(!r.t.skip_sys_exit(), "openat in flight");
        assert!(!early.skip_sys_exit(), "openat in flight");
        assert_eq!(r.sysret(3, 0x7fff_1000, CR3).0.unwrap().name, "openat");
    }

    /// `-P` / `trace-fds=`: a call without a descriptor or path can
    /// never pass them, so the early-out drops it as a call the trace set
    /// leaves out; a call with one takes the full path, and one that does
    /// not match leaves nothing in flight.
    #[test]
    fn early_out_drops_calls_the_fd_filters_can_never_pass() {
        let by_fd = EngineConfig {
            trace_fds: vec![9],
            ..Default::default()
        };
        let by_path = EngineConfig {
            trace_paths: vec!["/nonexistent".into()],
            ..Default::default()
        };
        for cfg in [by_fd.clone(), by_path] {
            let mut r = rig(cfg);
            // getppid, getpid, socket.
            for nr in [110, 39, 41] {
                assert!(r.t.skip_enter(nr, Bitness::B64, CR3), "nr {nr}");
            }
            // read, write, openat, execve, exit_group.
            for nr in [0, 1, 257, 59, 231] {
                assert!(!r.t.skip_enter(nr, Bitness::B64, CR3), "nr {nr}");
            }
            assert!(r
                .enter(0, &[3, 0x7fff_1000, 1], 0x7fff_1000, CR3)
                .0
                .is_none());
            assert!(!r.t.wants_exits(), "a dropped read left a call in flight");
        }
        let mut r = rig(by_fd);
        r.enter(0, &[9, 0x7fff_1000, 1], 0x7fff_1000, CR3);
        assert_eq!(r.sysret(1, 0x7fff_1000, CR3).0.unwrap().name, "read");
    }

    /// `trace-fds=` alone: a call whose descriptors are register
    /// arguments is decided lock-free from those registers (read's fd,
    /// splice's two); with `-P`, or for a call whose descriptors are in
    /// memory (poll), the full path decides.
    #[test]
    fn trace_fds_alone_is_decided_from_registers() {
        let cfg = EngineConfig {
            trace_fds: vec![9],
            ..Default::default()
        };
        let r = rig(cfg);
        let early = r.t.early();
        // read, splice, poll: looked up once, under the lock.
        for nr in [0, 275, 7] {
            assert!(!r.t.skip_enter(nr, Bitness::B64, CR3));
        }
        assert_eq!(
            early.check_enter(0, Bitness::B64),
            early::EnterCheck::Fds(0b1)
        );
        assert_eq!(
            early.check_enter(275, Bitness::B64),
            early::EnterCheck::Fds(0b101)
        );
        assert_eq!(early.check_enter(7, Bitness::B64), early::EnterCheck::Full);
        let before = r.t.stats().enters;
        assert!(early.fds_pass(0b1, &[9, 0, 0, 0, 0, 0]));
        // The fd's low 32 bits, signed: 9 whatever the high half holds.
        assert!(early.fds_pass(0b1, &[0xffff_ffff_0000_0009, 0, 0, 0, 0, 0]));
        assert!(!early.fds_pass(0b1, &[3, 9, 0, 0, 0, 0]));
        assert!(early.fds_pass(0b101, &[3, 0, 9, 0, 0, 0]));
        assert_eq!(
            r.t.stats().enters,
            before + 1,
            "the dropped read is counted"
        );
        // -P as well: no register-only decision.
        let cfg = EngineConfig {
            trace_fds: vec![9],
            trace_paths: vec!["/nonexistent".into()],
            ..Default::default()
        };
        let r = rig(cfg);
        assert!(!r.t.skip_enter(0, Bitness::B64, CR3));
        assert_eq!(
            r.t.early().check_enter(0, Bitness::B64),
            early::EnterCheck::Paths(0b1)
        );
    }

    /// Hooks and injections may act on any call: no early-out.
    #[test]
    fn no_early_out_with_injections() {
        let cfg = EngineConfig {
            trace: Some("openat".into()),
            inject: vec!["getppid:error=EPERM".into()],
            ..Default::default()
        };
        let r = rig(cfg);
        assert!(!r.t.skip_enter(110, Bitness::B64, CR3));
    }

    /// `-c` decodes no argument, and its records count the same calls,
    /// errors and returns.
    #[test]
    fn summary_records_carry_no_decoded_arguments() {
        // (A status filter: the sink filters records, so the call ends as
        // one; plain `-c` counts it in its vCPU's lane.)
        let mut cfg = EngineConfig {
            summary: true,
            ..Default::default()
        };
        cfg.display.status = Some(crate::output::status::FAILED);
        let mut r = rig(cfg);
        r.enter(
            257,
            &[(-100i64) as u64, 0x60_0000, 0x80000, 0],
            0x7fff_1000,
            CR3,
        );
        let rec = r.sysret((-2i64) as u64, 0x7fff_1000, CR3).0.unwrap();
        assert_eq!(rec.name, "openat");
        assert!(rec.args.is_empty());
        assert_eq!((rec.ret, rec.errno.as_deref()), (Some(-2), Some("ENOENT")));
    }

    /// A rig scoped to the command launched by `/vstrace/cmd`, and the
    /// address of an argv naming it.
    fn scoped_rig() -> (Rig, u64) {
        let cfg = EngineConfig {
            follow_exec: Some("/vstrace/cmd".into()),
            ..Default::default()
        };
        let mut r = rig(cfg);
        let argv = 0x7fff_4000;
        let ptrs: Vec<u8> = [0x60_000cu64, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        r.mem.write_virt(argv, &ptrs).unwrap();
        (r, argv)
    }

    #[test]
    fn scope_follows_the_command_through_exec_and_fork() {
        let (mut r, argv) = scoped_rig();
        // Out of scope: nothing recorded.
        assert!(r.enter(39, &[], 0x7fff_1000, CR3).0.is_none());
        assert!(r.sysret(1, 0x7fff_1000, CR3).0.is_none());
        // The launcher exec (argv names /vstrace/cmd) arms the scope ...
        r.enter(59, &[0x60_000c, argv, 0], 0x7fff_1000, CR3);
        let launcher = 0x2000_0000;
        assert!(r.iret(0, 0x40_0000, 0x7fff_e000, launcher, true).is_none());
        assert!(
            r.enter(39, &[], 0x7fff_e000, launcher).0.is_none(),
            "launcher calls hidden"
        );
        // ... and its exec of the command starts the trace.
        r.enter(59, &[0x60_0000, argv, 0], 0x7fff_e000, launcher);
        let cmd = 0x3000_0000;
        let exec = r.iret(0, 0x40_0000, 0x7fff_d000, cmd, true).unwrap();
        assert_eq!((&*exec.name, exec.ret), ("execve", Some(0)));
        // fork: the parent returns the pid, the child's first return joins.
        r.enter(56, &[0x1200011, 0, 0, 0, 0], 0x7fff_c000, cmd);
        let parent = r.sysret(99, 0x7fff_c000, cmd).0.unwrap();
        assert_eq!(parent.ret, Some(99));
        let child = 0x4000_0000;
        let first = r.iret(0, RIP + 2, 0x7fff_c000, child, false).unwrap();
        assert_eq!(
            (&*first.name, first.state),
            ("clone", CallState::ChildReturn)
        );
        r.enter(39, &[], 0x7fff_c000, child);
        assert_eq!(r.sysret(100, 0x7fff_c000, child).0.unwrap().name, "getpid");
        // The child exits; its address space leaves the scope.
        assert!(r.enter(231, &[0], 0x7fff_c000, child).0.is_some());
        assert!(r.enter(39, &[], 0x7fff_c000, child).0.is_none());
    }

    /// Found by tests/smp_stress.rs on `--smp 2`: a parent forks several
    /// children from the same ip and sp; an interrupt taken at a child's
    /// first user instruction returns there again with rax 0, and was
    /// taken for a sibling's first return, so the last sibling was lost.
    #[test]
    fn interrupt_return_to_a_fresh_child_is_not_a_sibling() {
        let (mut r, argv) = scoped_rig();
        r.enter(59, &[0x60_000c, argv, 0], 0x7fff_1000, CR3);
        let launcher = 0x2000_0000;
        r.iret(0, 0x40_0000, 0x7fff_e000, launcher, true);
        r.enter(59, &[0x60_0000, argv, 0], 0x7fff_e000, launcher);
        let cmd = 0x3000_0000;
        r.iret(0, 0x40_0000, 0x7fff_d000, cmd, true).unwrap();
        let (a, b) = (0x4000_0000, 0x5000_0000);
        r.enter(56, &[0x1200011, 0, 0, 0, 0], 0x7fff_c000, cmd);
        r.sysret(101, 0x7fff_c000, cmd).0.unwrap();
        r.enter(56, &[0x1200011, 0, 0, 0, 0], 0x7fff_c000, cmd);
        r.sysret(102, 0x7fff_c000, cmd).0.unwrap();
        let first = r.iret(0, RIP + 2, 0x7fff_c000, a, false).unwrap();
        assert_eq!(first.state, CallState::ChildReturn);
        // The interrupt return in child a: no record, no fork consumed.
        assert!(r.iret(0, RIP + 2, 0x7fff_c000, a, false).is_none());
        let second = r.iret(0, RIP + 2, 0x7fff_c000, b, false).unwrap();
        assert_eq!((second.state, second.cr3), (CallState::ChildReturn, b));
        // Both children are traced.
        for child in [a, b] {
            r.enter(39, &[], 0x7fff_c000, child);
            assert_eq!(r.sysret(7, 0x7fff_c000, child).0.unwrap().name, "getpid");
        }
    }
}
