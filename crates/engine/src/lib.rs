//! vstrace engine: turns events from any source into records.
//!
//! It pairs enter and exit per thread, names and decodes calls through an
//! OS layer ([`vstrace_core::OsLayer`], given to [`Engine::new`] by the
//! caller), applies filters, injections, path rewrites and hooks, and
//! writes records to a sink. It knows no OS: which layer a configuration
//! asks for is `vstrace-layers`' business. It runs where the events are:
//! inside the QEMU plugin, or in the CLI for the gdb and replay sources.
//!
//! No global lock: [`Engine::on_event`] takes `&self`, and the vCPU
//! threads of one VM run their events through it at the same time. The
//! tracker's state is split into short-held locks and atomics (calls in
//! flight sharded by thread, see `tracker::state`), so a vCPU waits for
//! another only when both touch the same part at the same instant.
//! Configurations that must see one event at a time run their events
//! one at a time (each under the engine's exclusive lock): hooks (Rust
//! or Python: they get a consistent engine and guest), injections and
//! path rewrites, a recording (its trace file is the sequence of
//! events), and a layer that observes every event (any but Linux's, and
//! Linux's with `--caller`). One thread's events (a replay, the gdb
//! source, one vCPU) give the same records, in the same order, either
//! way.

#![forbid(unsafe_code)]

pub mod dump;
pub mod filter;
pub mod flush;
pub mod inject;
pub mod output;
pub mod procs;
pub mod record;
pub mod replay;
pub mod sink;
pub mod summary;
mod tracker;
pub mod writer;

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use serde::{Deserialize, Serialize};
pub use vstrace_core::hooks::Hooks;
use vstrace_core::{Bitness, Cpu, Event, OsLayer};

pub use record::{CallState, Record, RetValue};
pub use sink::{Format, Sink};
pub use tracker::early::{EarlyOut, EnterCheck};

/// A sink that discards everything: a placeholder while the real one
/// moves between the engine and its writer thread.
fn null_sink() -> Sink {
    Sink::from_writer(Box::new(std::io::sink()), Format::Text, false)
}

/// Engine configuration, passed from the CLI to wherever the engine runs
/// (for the QEMU plugin: a JSON file named by the plugin's `config=` arg).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineConfig {
    /// `linux` or `windows`.
    pub os: String,
    /// Where records go: a file or FIFO path; stderr when absent.
    pub output: Option<String>,
    /// Text or JSON Lines.
    pub format: Format,
    /// `-c`: print a summary table instead of records.
    pub summary: bool,
    /// `-s`: maximum string length shown.
    pub strsize: usize,
    /// `-e trace=`: which calls are recorded.
    pub trace: Option<String>,
    /// `--inject` rules.
    pub inject: Vec<String>,
    /// `--rewrite-path=FROM=TO` rules.
    pub rewrite_path: Vec<String>,
    /// Scope tracing to the command started by the exec whose arguments
    /// contain this string, and its descendants (None: the whole guest).
    pub follow_exec: Option<String>,
    /// Windows guests: the version whose service numbers to use
    /// (`win10-22h2`, `19045`, `win7-sp1` ...); absent or `auto`: read
    /// from the guest's KUSER_SHARED_DATA.
    pub windows_version: Option<String>,
    /// Windows x86 guests: the KPCR address (default 0xffdff000).
    pub windows_kpcr32: Option<u64>,
    /// Windows guests: kernel offsets from a Volatility 3 symbol table
    /// (`--windows-profile`; a `vstrace_windows::isf::IsfOffsets` as
    /// JSON), carried unread as `linux_profile` is. Left out of trace
    /// files that have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows_profile: Option<Box<serde_json::value::RawValue>>,
    /// Linux guests: task_struct layout and per-cpu symbols from the
    /// kernel image (a `vstrace_linux::profile::LinuxProfile` as JSON),
    /// for pid/tid/comm/ppid in every record. The engine does not read
    /// it: it goes as is to whoever builds the OS layer and into trace
    /// files, so the engine needs no Linux types.
    pub linux_profile: Option<Box<serde_json::value::RawValue>>,
    /// `-p`: only these processes (thread group ids).
    pub pids: Vec<u32>,
    /// `--comm`: only processes with these names.
    pub comms: Vec<String>,
    /// `-f` with `-p`: processes forked by a traced process are traced.
    pub follow_forks: bool,
    /// `--record FILE`: also write a trace file (every event and the guest
    /// memory the engine read) for `vstrace replay`.
    pub record: Option<String>,
    /// Returns are paired with their calls by the OS layer's thread
    /// identity as well as by address space and stack (what tells a vfork
    /// child from its parent). On for every new run; a recording made
    /// before this setting existed has none, and replays as it was traced,
    /// without the thread reads it never recorded.
    #[serde(default)]
    pub pair_by_thread: bool,
    /// strace's output options (timestamps, `-T`, `-i`, `-n`, `-a`,
    /// status/signal/quiet filters, `-ff`, the summary's options).
    pub display: output::OutputOptions,
    /// `--hooks FILE.py`: Python hooks files (absolute paths), imported
    /// by whoever runs the engine (the plugin, or the CLI for attach and
    /// replay) into the engine's hooks. Left out of the JSON when empty,
    /// so configurations and recordings without hooks are unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub python_hooks: Vec<String>,
    /// `-y`/`-yy`/`--decode-fds=`, `-Y`/`--decode-pids=`: names added to
    /// fd and pid arguments and return values.
    #[serde(default)]
    pub names: vstrace_core::NameOptions,
    /// `-e trace-fds=`: only calls with one of these fds as an argument
    /// (with [`EngineConfig::trace_paths`]: either matches).
    #[serde(default)]
    pub trace_fds: Vec<i64>,
    /// `-P PATH`: only calls with one of these paths as a path argument or
    /// as what an fd argument names.
    #[serde(default)]
    pub trace_paths: Vec<String>,
    /// `--caller`: each record carries who made the call (return
    /// address, module, offset, function), and text shows it.
    #[serde(default)]
    pub caller: bool,
    /// `-k`/`--stack-trace`: each record carries the user stack at the
    /// call's enter, and text prints it as strace `-k` does. Left out of
    /// the JSON when off, so configurations and recordings without it
    /// are unchanged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stack_trace: bool,
    /// `--symbol-dir DIR`: host directories holding copies of guest
    /// files, read (when their build id matches) for `-k`'s symbols and
    /// unwind tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbol_dirs: Vec<String>,
}

impl EngineConfig {
    /// Absolute timestamps (`-t`) count from the host's clock now; a
    /// replay keeps the recorded start (already set).
    pub fn start_wall_clock(&mut self) {
        if self.display.wall_start_ns.is_none() {
            self.display.wall_start_ns = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_nanos() as u64);
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            os: "linux".into(),
            output: None,
            format: Format::Text,
            summary: false,
            strsize: 32,
            trace: None,
            inject: Vec::new(),
            rewrite_path: Vec::new(),
            follow_exec: None,
            windows_version: None,
            windows_kpcr32: None,
            windows_profile: None,
            linux_profile: None,
            pids: Vec::new(),
            comms: Vec::new(),
            follow_forks: false,
            record: None,
            pair_by_thread: true,
            display: output::OutputOptions::default(),
            python_hooks: Vec::new(),
            names: Default::default(),
            trace_fds: Vec::new(),
            trace_paths: Vec::new(),
            caller: false,
            stack_trace: false,
            symbol_dirs: Vec::new(),
        }
    }
}

/// The `-e raw=` and `-e signal=` sets of `cfg`, parsed with the names
/// `os` knows.
pub fn display_sets(
    cfg: &EngineConfig,
    os: &dyn OsLayer,
) -> Result<(Option<filter::SyscallSet>, Option<output::SignalSet>), EngineError> {
    let raw = match &cfg.display.raw {
        Some(spec) => Some(filter::SyscallSet::parse(spec, os)?),
        None => None,
    };
    let signals = match &cfg.display.signals {
        Some(spec) => Some(
            output::SignalSet::parse(spec, &|n| os.signal_name(n)).map_err(EngineError::Options)?,
        ),
        None => None,
    };
    Ok((raw, signals))
}

/// Engine error.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// `-e trace=` does not parse or names unknown calls.
    #[error(transparent)]
    Filter(#[from] filter::FilterError),
    /// An `--inject` or `--rewrite-path` rule does not parse.
    #[error(transparent)]
    Inject(#[from] inject::InjectError),
    /// The output could not be opened.
    #[error("output {path}: {source}")]
    Output {
        /// The output as configured.
        path: String,
        /// Why it could not be opened.
        source: std::io::Error,
    },
    /// An output option (`-e signal=`, `-e raw=`...) does not parse.
    #[error("{0}")]
    Options(String),
    /// The trace file (`--record`) could not be created.
    #[error("trace file {path}: {source}")]
    Record {
        /// The trace file as configured.
        path: String,
        /// Why it could not be created.
        source: std::io::Error,
    },
}

/// Counters the engine keeps about itself.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct EngineStats {
    /// Traps handled.
    pub events: u64,
    /// Of those, syscall enters.
    pub enters: u64,
    /// Of those, returns to user mode.
    pub exits: u64,
    /// Records written.
    pub records: u64,
    /// Returns that matched no call in flight (interrupt returns, or
    /// calls entered before tracing began).
    pub unmatched_exits: u64,
    /// Hook failures (errors and panics).
    pub decode_errors: u64,
    /// Records that could not be written.
    pub write_errors: u64,
}

/// Locks, recovering from a poisoned lock: a panic in one event (caught
/// at the source's boundary) must not stop tracing.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The tracker as the engine holds it (see the crate doc).
enum TrackerCell {
    /// Events of several threads run through it at once: no lock.
    Shared(tracker::Tracker),
    /// Events run one at a time, each with the tracker to itself.
    Exclusive(Mutex<tracker::Tracker>),
}

impl TrackerCell {
    /// Runs `f` on the tracker (locked when exclusive).
    fn with<T>(&self, f: impl FnOnce(&tracker::Tracker) -> T) -> T {
        match self {
            TrackerCell::Shared(t) => f(t),
            TrackerCell::Exclusive(m) => f(&lock(m)),
        }
    }
}

/// Where the engine's records go.
enum Output {
    /// Rendered and written on the event's thread (boxed: the sink and
    /// its options are large, the writer's handle is small; locked:
    /// events of several threads may write).
    Inline(Mutex<Box<Sink>>),
    /// Queued for the writer thread ([`Engine::write_in_background`]).
    Background(Box<writer::Writer>),
}

/// The engine. One per traced VM.
pub struct Engine {
    /// Whether this configuration changes the guest (injections,
    /// rewrites, hooks), so the source must be able to write.
    modifies: bool,
    /// The tracker, shared or taken by one event at a time (see the
    /// crate doc).
    tracker: TrackerCell,
    out: Output,
    start: Instant,
    /// Whether anything may see the records' times (see [`needs_clock`]):
    /// without it an event written in place reads no clock.
    clock: bool,
    recorder: Mutex<Option<replay::Recorder>>,
}

/// Whether a run writing to `sink` (made from the run's configuration)
/// may show or keep the engine's times: what the sink shows (JSON, the
/// summary, timestamps, relative times, durations) or a recording.
/// Plain text shows none, and its records, written in place in event
/// order, are ordered by nothing else: a clock read per event (the
/// vDSO's, a few tens of ns) then buys nothing.
fn needs_clock(sink: &Sink, recording: bool) -> bool {
    recording || sink.shows_time()
}

/// The display options the sink gets. Without -f strace follows only the
/// thread it started, so it never sees another thread's exec take the
/// leader's id: no superseded line. (The sink's copy only: a recording
/// keeps the choices made, and its replay with -f shows the line.)
fn sink_display(cfg: &EngineConfig) -> output::OutputOptions {
    let mut display = cfg.display.clone();
    if !cfg.follow_forks {
        display.quiet |= output::quiet::THREAD_EXECVE;
    }
    display
}

impl Engine {
    /// An engine for `cfg` decoding through `os` (the layer `cfg.os`
    /// names, built by `vstrace_layers::layer`), writing to `cfg.output`.
    pub fn new(cfg: EngineConfig, os: Box<dyn OsLayer>) -> Result<Engine, EngineError> {
        Self::with_hooks(cfg, os, Hooks::new())
    }

    /// An engine with user hooks (the Rust hooks API).
    pub fn with_hooks(
        cfg: EngineConfig,
        os: Box<dyn OsLayer>,
        hooks: Hooks,
    ) -> Result<Engine, EngineError> {
        let mut cfg = cfg;
        cfg.start_wall_clock();
        let (raw, signals) = display_sets(&cfg, os.as_ref())?;
        // -Y names the process in the line's prefix too.
        cfg.display.pid_comm |= cfg.names.pid_comm;
        let sink = Sink::open_with(
            cfg.output.as_deref(),
            cfg.format,
            cfg.summary,
            sink_display(&cfg),
            raw,
            signals,
        )?;
        Self::with_sink(cfg, os, hooks, sink)
    }

    /// An engine writing to `sink` (`cfg.output` is not opened).
    pub fn with_sink(
        cfg: EngineConfig,
        os: Box<dyn OsLayer>,
        hooks: Hooks,
        sink: Sink,
    ) -> Result<Engine, EngineError> {
        let recorder = match &cfg.record {
            Some(path) => Some(replay::Recorder::create(path, &cfg)?),
            None => None,
        };
        Self::assemble(cfg, os, hooks, sink, recorder)
    }

    /// An engine writing to `sink` and its `--record` trace file to
    /// `recording` (`cfg.output` and `cfg.record` are not opened): the
    /// dormant plugin streams both to its client.
    pub fn with_sink_and_recording(
        cfg: EngineConfig,
        os: Box<dyn OsLayer>,
        hooks: Hooks,
        sink: Sink,
        recording: Box<dyn std::io::Write + Send>,
    ) -> Result<Engine, EngineError> {
        let recorder =
            replay::Recorder::to_writer(recording, &cfg).map_err(|source| EngineError::Record {
                path: cfg.record.clone().unwrap_or_default(),
                source,
            })?;
        Self::assemble(cfg, os, hooks, sink, Some(recorder))
    }

    fn assemble(
        cfg: EngineConfig,
        os: Box<dyn OsLayer>,
        hooks: Hooks,
        sink: Sink,
        recorder: Option<replay::Recorder>,
    ) -> Result<Engine, EngineError> {
        let modifies = !cfg.inject.is_empty() || !cfg.rewrite_path.is_empty() || !hooks.is_empty();
        let clock = needs_clock(&sink, recorder.is_some());
        let tracker = tracker::Tracker::new(&cfg, os, hooks)?;
        if recorder.is_some() {
            // The trace file keeps every event.
            tracker.disable_early_out();
        }
        let tracker = if !modifies && recorder.is_none() && !tracker.observes() {
            TrackerCell::Shared(tracker)
        } else {
            TrackerCell::Exclusive(Mutex::new(tracker))
        };
        Ok(Engine {
            modifies,
            tracker,
            out: Output::Inline(Mutex::new(Box::new(sink))),
            start: Instant::now(),
            clock,
            recorder: Mutex::new(recorder),
        })
    }

    /// Checks a configuration's filters, inject and rewrite rules against
    /// the names `os` knows, without opening the output.
    pub fn validate(cfg: &EngineConfig, os: Box<dyn OsLayer>) -> Result<(), EngineError> {
        display_sets(cfg, os.as_ref())?;
        tracker::Tracker::new(cfg, os, Hooks::new()).map(|_| ())
    }

    /// Whether the configuration asks to change the guest.
    pub fn modifies(&self) -> bool {
        self.modifies
    }

    /// Handles one trap. Called on the vCPU thread that trapped; `cpu` is
    /// valid only during the call.
    pub fn on_event(&self, event: &Event, cpu: &mut dyn Cpu) {
        self.handle(event, cpu, None);
    }

    /// Handles one trap at engine time `now` (ns since the engine
    /// started): replay passes the recorded time. May run on several
    /// threads at once (see the crate doc).
    pub fn on_event_at(&self, event: &Event, cpu: &mut dyn Cpu, now: u64) {
        self.handle(event, cpu, Some(now));
    }

    /// Handles one trap at `at`, or at the time it is handled. With the
    /// writer thread the event is stamped by the writer, which orders the
    /// records of several vCPUs by that stamp (see [`writer`]); when
    /// events take turns (the exclusive tracker), the stamp is taken in
    /// their turn, so that turn order and time order agree.
    fn handle(&self, event: &Event, cpu: &mut dyn Cpu, at: Option<u64>) {
        let vcpu = event.vcpu;
        let stamp = |out: &Output| match (out, at) {
            (Output::Background(w), Some(now)) => {
                w.begin_at(vcpu, now);
                now
            }
            (Output::Background(w), None) => w.begin(vcpu),
            (Output::Inline(_), Some(now)) => now,
            (Output::Inline(_), None) if self.clock => self.elapsed_ns(),
            (Output::Inline(_), None) => 0,
        };
        let m = match &self.tracker {
            TrackerCell::Shared(t) => {
                // `-c`'s lane: most events make no record and need no
                // stamp (its clock read only when the count needs it).
                if let Output::Inline(_) = &self.out {
                    let clock = || at.unwrap_or_else(|| self.elapsed_ns());
                    if t.lane_event(event, cpu, &clock) {
                        if t.has_extra() {
                            self.emit_all(t, vcpu, clock(), &mut None);
                        }
                        return;
                    }
                }
                let now = stamp(&self.out);
                let mut rec = t.on_event(event, cpu, now);
                self.emit_all(t, vcpu, now, &mut rec);
                self.end(vcpu);
                return;
            }
            TrackerCell::Exclusive(m) => m,
        };
        let mut t = lock(m);
        let now = stamp(&self.out);
        let mut recorder = lock(&self.recorder);
        let mut rec = match recorder.as_mut().filter(|r| r.active()) {
            Some(r) => {
                let out = {
                    let mut rc = r.cpu(cpu);
                    t.on_event_exclusive(event, &mut rc, now)
                };
                r.write_event(now, event);
                out
            }
            None => t.on_event_exclusive(event, cpu, now),
        };
        drop(recorder);
        self.emit_all(&t, vcpu, now, &mut rec);
        self.end(vcpu);
    }

    /// The engine's time: ns since its start.
    fn elapsed_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Marks `vcpu` idle for the writer thread, if there is one: the
    /// records of its event are all pushed.
    fn end(&self, vcpu: u32) {
        if let Output::Background(w) = &self.out {
            w.end(vcpu);
        }
    }

    /// Writes the event's record `rec`, then the others it led to
    /// (`vcpu`: the thread's, which picks its output buffer; `now`: the
    /// event's stamp, which orders the records of several vCPUs).
    /// (`rec` by reference: a record is several hundred bytes, and most
    /// events have none, whose move would still copy them all.)
    fn emit_all(&self, t: &tracker::Tracker, vcpu: u32, now: u64, rec: &mut Option<Record>) {
        if rec.is_some() || t.has_extra() {
            // The entries of calls still in flight come before any other
            // record (see `tracker::announce`).
            for entry in t.announce() {
                self.emit(vcpu, now, entry);
            }
        }
        match &self.out {
            // Written in place, where it lies (not moved out of the
            // option: a record is several hundred bytes); its buffers go
            // back to the tracker.
            Output::Inline(s) => {
                if let Some(r) = rec.as_mut() {
                    lock(s).write_mut(r);
                    t.recycle(r);
                }
            }
            Output::Background(w) => {
                if let Some(r) = rec.take() {
                    w.push(vcpu, now, r);
                }
            }
        }
        if t.has_extra() {
            for rec in t.take_extra() {
                self.emit(vcpu, now, rec);
            }
        }
    }

    /// Writes `rec`, in place or through the writer thread.
    fn emit(&self, vcpu: u32, now: u64, rec: Record) {
        match &self.out {
            Output::Inline(s) => lock(s).write(rec),
            Output::Background(w) => w.push(vcpu, now, rec),
        }
    }

    /// Renders and writes records on a thread of their own from now on
    /// (see [`writer`]): for sources whose event thread is the guest's
    /// (the QEMU plugin's vCPU threads). The output is the same bytes.
    /// Stays in place if the thread cannot be started.
    pub fn write_in_background(&mut self) {
        let out = std::mem::replace(
            &mut self.out,
            Output::Inline(Mutex::new(Box::new(null_sink()))),
        );
        self.out = match out {
            Output::Inline(sink) => {
                let sink = sink.into_inner().unwrap_or_else(|p| p.into_inner());
                let recycle = Box::new(self.tracker.with(|t| t.recycler()));
                match writer::Writer::start_recycling(*sink, self.start, recycle) {
                    Ok(w) => Output::Background(Box::new(w)),
                    Err(sink) => Output::Inline(Mutex::new(sink)),
                }
            }
            bg => bg,
        };
    }

    /// The early-out a source asks before reading more than the call
    /// number, the caller's width and the address space of an enter:
    /// true when the call cannot lead to a record or to any bookkeeping
    /// (e.g. left out by `-e trace=`), and the source drops the event
    /// instead of calling [`Engine::on_event`]. Never while recording:
    /// the trace file keeps every event.
    pub fn skip_enter(&self, nr: u64, bitness: Bitness, cr3: u64) -> bool {
        self.tracker.with(|t| t.skip_enter(nr, bitness, cr3))
    }

    /// The early-out state a source checks on any thread without the
    /// engine's lock ([`EarlyOut::check_enter`],
    /// [`EarlyOut::skip_sys_exit`]); the engine keeps it current.
    pub fn early_out(&self) -> std::sync::Arc<EarlyOut> {
        self.tracker.with(|t| t.early())
    }

    /// The early-out for a sysret or sysexit, asked before reading any
    /// register: true when no call is in flight and no fork child is
    /// awaited, so the return can match nothing. (An iret may deliver a
    /// signal: it always goes to [`Engine::on_event`].) Never while
    /// recording.
    pub fn skip_sys_exit(&self) -> bool {
        self.tracker.with(|t| t.skip_sys_exit())
    }

    /// Whether anything may look at registers beyond those a Linux call's
    /// number, arguments, return, stack, address space and paging need:
    /// hooks, modifications, a recording (replays with any options), or
    /// another OS's layer. When false, a source may leave out r11-r15,
    /// rflags, ss and fs_base from syscall enters and sysret/sysexit
    /// returns (they read as 0).
    pub fn reads_all_registers(&self) -> bool {
        self.modifies || lock(&self.recorder).is_some() || !self.tracker.with(|t| t.is_linux())
    }

    /// Flushes everything (unfinished calls, summary) at the end.
    pub fn finish(&self) -> EngineStats {
        let now = self.elapsed_ns();
        self.finish_at(now)
    }

    /// [`Engine::finish`] at engine time `now`. After every event: the
    /// records of events still running would come after the summary.
    pub fn finish_at(&self, now: u64) -> EngineStats {
        self.finish_ending(now, false)
    }

    /// [`Engine::finish`] when the tracer detaches and the VM runs on:
    /// the calls in flight end `<detached ...>` (strace's detach,
    /// `-e status=detached`), not `<unfinished ...>`.
    pub fn finish_detached(&self) -> EngineStats {
        let now = self.elapsed_ns();
        self.finish_detached_at(now)
    }

    /// [`Engine::finish_detached`] at engine time `now` (a replay of a
    /// recording whose live run detached).
    pub fn finish_detached_at(&self, now: u64) -> EngineStats {
        self.finish_ending(now, true)
    }

    fn finish_ending(&self, now: u64, detached: bool) -> EngineStats {
        if let Some(r) = lock(&self.recorder).as_mut() {
            r.end(now, detached);
        }
        // The entries of the calls still in flight first, as any other
        // record's (see `tracker::announce`).
        let entries = self.tracker.with(|t| t.announce());
        for rec in entries {
            self.emit(0, now, rec);
        }
        let unfinished = self.tracker.with(|t| {
            if detached {
                t.drain_detached()
            } else {
                t.drain_unfinished(now)
            }
        });
        for rec in unfinished {
            // After every event: last in time order too.
            self.emit(0, now, rec);
        }
        // `-c`'s per-vCPU lanes counted apart: into the table first.
        let rows = self.tracker.with(|t| t.take_lane_rows());
        let (written, errors) = match &self.out {
            Output::Inline(s) => {
                let mut s = lock(s);
                s.merge_summary(&rows);
                s.finish();
                (s.written, s.errors)
            }
            Output::Background(w) => w.finish(|s| {
                s.merge_summary(&rows);
                s.finish();
                (s.written, s.errors)
            }),
        };
        let mut stats = self.tracker.with(|t| t.stats());
        stats.records = written;
        stats.write_errors = errors;
        stats
    }

    /// Whether exit events can matter now (see `Tracker::wants_exits`):
    /// false when no recorded or tracked call is in flight, e.g. between
    /// calls that `-e trace=` leaves out.
    pub fn wants_exits(&self) -> bool {
        self.tracker.with(|t| t.wants_exits())
    }

    /// Whether a call in flight still needs its exit to complete a
    /// modification (see `Tracker::awaits_injected_returns`): a source
    /// must not stop tracing before.
    pub fn awaits_injected_returns(&self) -> bool {
        self.tracker.with(|t| t.awaits_injected_returns())
    }

    /// Whether a fork's child may still make its first return (see
    /// `Tracker::awaits_child_return`).
    pub fn awaits_child_return(&self) -> bool {
        self.tracker.with(|t| t.awaits_child_return())
    }

    /// The first output error, if writing failed (disk full, closed pipe).
    pub fn output_error(&mut self) -> Option<&str> {
        match &mut self.out {
            Output::Inline(s) => s
                .get_mut()
                .unwrap_or_else(|p| p.into_inner())
                .first_error
                .as_deref(),
            // Known once the writer is finished ([`Engine::finish`]).
            Output::Background(w) => w.ended().and_then(|s| s.first_error.as_deref()),
        }
    }

    /// [`Engine::output_error`] and [`Engine::record_error`], copied,
    /// for a caller that holds the engine shared (the QEMU plugin, whose
    /// vCPU threads use it without a lock).
    pub fn errors(&self) -> (Option<String>, Option<String>) {
        let output = match &self.out {
            Output::Inline(s) => lock(s).first_error.clone(),
            Output::Background(w) => w.finish_error(),
        };
        let record = lock(&self.recorder)
            .as_ref()
            .and_then(|r| r.error().map(str::to_string));
        (output, record)
    }

    /// The first error writing the trace file (`--record`), if any: the
    /// recording stopped there, the frames before it are intact.
    pub fn record_error(&mut self) -> Option<&str> {
        self.recorder
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .and_then(|r| r.error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without -f the superseded line is left out (strace, following
    /// only its first thread, never sees the switch); with -f it is
    /// printed unless quieted, and the config itself is left as given.
    #[test]
    fn superseded_line_needs_follow_forks() {
        let mut cfg = EngineConfig::default();
        let quiet = |c: &EngineConfig| sink_display(c).quiet & output::quiet::THREAD_EXECVE;
        assert_ne!(quiet(&cfg), 0);
        assert_eq!(cfg.display.quiet, 0);
        cfg.follow_forks = true;
        assert_eq!(quiet(&cfg), 0);
        cfg.display.quiet = output::quiet::THREAD_EXECVE;
        assert_ne!(quiet(&cfg), 0);
    }
}
