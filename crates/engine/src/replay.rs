//! Record and replay: the engine writes a trace file while it runs
//! (`--record`), and a trace file drives a fresh engine offline with the
//! recorded times, registers and guest memory, so the same configuration
//! produces byte-identical output without the guest.

use std::fs::File;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};

use vstrace_core::{Cpu, Direction, Event, Mechanism, OsLayer};
use vstrace_tracefile::{
    Access, EventRecord, Next, ReadHistory, RecordingCpu, ReplayCpu, TraceError, TraceReader,
    TraceWriter,
};

use crate::flush::AutoFlush;
use crate::{Engine, EngineConfig, EngineError, EngineStats};

/// The engine's trace-file writer (`--record`).
pub(crate) struct Recorder {
    writer: TraceWriter<AutoFlush<Box<dyn std::io::Write + Send>>>,
    log: Vec<Access>,
    error: Option<String>,
}

/// The configuration as stored in a trace file: what the engine needs to
/// decode again, not where this run wrote.
fn stored_config(cfg: &EngineConfig) -> EngineConfig {
    EngineConfig {
        output: None,
        record: None,
        ..cfg.clone()
    }
}

impl Recorder {
    pub(crate) fn create(path: &str, cfg: &EngineConfig) -> Result<Recorder, EngineError> {
        let err = |source| EngineError::Record {
            path: path.to_string(),
            source,
        };
        let file = File::create(path).map_err(err)?;
        Self::to_writer(Box::new(file), cfg).map_err(err)
    }

    /// A recorder writing the trace file to `out` (a socket's frames for
    /// a client that writes the file itself).
    pub(crate) fn to_writer(
        out: Box<dyn std::io::Write + Send>,
        cfg: &EngineConfig,
    ) -> std::io::Result<Recorder> {
        let json = serde_json::to_vec(&stored_config(cfg))?;
        let mut writer = TraceWriter::new(AutoFlush::new(out), &json)?;
        writer.flush()?;
        Ok(Recorder {
            writer,
            log: Vec::with_capacity(64),
            error: None,
        })
    }

    /// Still recording (no write error so far).
    pub(crate) fn active(&self) -> bool {
        self.error.is_none()
    }

    pub(crate) fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// A recording view of `cpu` for one event; the accesses land in the
    /// recorder's log until [`Recorder::write_event`].
    pub(crate) fn cpu<'a>(&'a mut self, cpu: &'a mut dyn Cpu) -> RecordingCpu<'a> {
        self.log.clear();
        RecordingCpu::new(cpu, &mut self.log)
    }

    pub(crate) fn write_event(&mut self, ts: u64, event: &Event) {
        if let Err(e) = self.writer.event(ts, event, &self.log) {
            self.error = Some(e.to_string());
        }
    }

    pub(crate) fn end(&mut self, ts: u64, detached: bool) {
        if self.error.is_none() {
            let r = if detached {
                self.writer.end_detached(ts)
            } else {
                self.writer.end(ts)
            };
            if let Err(e) = r {
                self.error = Some(e.to_string());
            }
        }
    }
}

/// Error opening a trace file for replay.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file is not a trace file, or has no configuration frame.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// The configuration frame is not an engine configuration.
    #[error("the trace file's configuration is unreadable: {0}")]
    Config(String),
}

/// How a replay ended.
#[derive(Debug)]
pub struct ReplayOutcome {
    /// Events fed to the engine.
    pub events: u64,
    /// The recording has its end marker (the live run finished cleanly).
    pub clean_end: bool,
    /// The first damage in the file; everything before it was replayed.
    pub damage: Option<TraceError>,
    /// The engine's counters at the end.
    pub stats: EngineStats,
}

/// A trace file opened for replay: header checked, configuration read.
pub struct Replay<R: Read> {
    reader: TraceReader<R>,
    /// The live run's configuration (output and recording cleared).
    pub config: EngineConfig,
}

impl<R: Read> Replay<R> {
    /// Opens a trace file for replay (`vstrace replay`): checks the
    /// header and reads the recorded configuration, which a new
    /// [`Engine`] is then built from and [`Replay::run`] drives.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use vstrace_core::{Bitness, Event, Mechanism, Reg, Regs};
    /// use vstrace_engine::replay::Replay;
    /// use vstrace_engine::{Engine, EngineConfig, Format, Hooks, Sink};
    /// use vstrace_tracefile::{Access, TraceWriter};
    ///
    /// // A recording of one Linux x86-64 `openat(AT_FDCWD, "/etc/hostname",
    /// // O_RDONLY) = 3`: the configuration, the enter and exit traps, and
    /// // the guest page the path was read from.
    /// let config = serde_json::to_vec(&EngineConfig::default())?;
    /// // 64-bit user code (CS 0x33) in long mode (EFER.LMA).
    /// let mut regs = Regs { cs: 0x33, efer: 0xd01, ..Regs::default() };
    /// regs.set(Reg::Rax, 257);
    /// regs.set(Reg::Rdi, -100i64 as u64);
    /// regs.set(Reg::Rsi, 0x1000);
    /// regs.set(Reg::Rsp, 0x7fff_0000);
    /// regs.set(Reg::Rip, 0x40_1000); // the `syscall` instruction
    /// let mut page = vec![0u8; 4096];
    /// page[..14].copy_from_slice(b"/etc/hostname\0");
    /// let path = Access::Read { space: None, addr: 0x1000, len: 4096, result: Ok(page) };
    /// let mut file = Vec::new();
    /// let mut w = TraceWriter::new(&mut file, &config)?;
    /// w.event(1_000, &Event::new(0, Mechanism::Syscall, Bitness::B64, regs.clone()), &[path])?;
    /// regs.set(Reg::Rax, 3);
    /// regs.set(Reg::Rcx, 0x40_1002); // sysret returns after it: the exit pairs with the enter
    /// w.event(2_000, &Event::new(0, Mechanism::Sysret, Bitness::B64, regs), &[])?;
    /// w.end(3_000)?;
    /// drop(w);
    ///
    /// // Replay it with a hook: hooks see the recorded registers and memory.
    /// let replay = Replay::open(file.as_slice())?;
    /// assert_eq!(replay.config.os, "linux");
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let mut hooks = Hooks::new();
    /// let log = seen.clone();
    /// hooks.on_enter("openat", move |sc| {
    ///     log.lock().unwrap().push(sc.arg_string(2, 256)?);
    ///     Ok(())
    /// });
    /// let log = seen.clone();
    /// hooks.on_exit("openat", move |sc| {
    ///     log.lock().unwrap().push(format!("= {}", sc.return_value()?));
    ///     Ok(())
    /// });
    /// let sink = Sink::from_writer(Box::new(std::io::sink()), Format::Json, false);
    /// // The OS layer the recording names (vstrace_layers::layer does this
    /// // from the configuration; the engine itself knows no OS).
    /// let os = Box::new(vstrace_linux::layer::LinuxLayer::new(None));
    /// let mut engine = Engine::with_sink(replay.config.clone(), os, hooks, sink)?;
    /// let outcome = replay.run(&mut engine);
    ///
    /// assert_eq!(outcome.events, 2);
    /// assert!(outcome.clean_end && outcome.damage.is_none());
    /// assert_eq!(outcome.stats.records, 1); // one openat record, enter and exit paired
    /// assert_eq!(outcome.stats.unmatched_exits, 0);
    /// assert_eq!(*seen.lock().unwrap(), ["/etc/hostname", "= 3"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(input: R) -> Result<Replay<R>, ReplayError> {
        Self::from_reader(TraceReader::new(input)?)
    }

    /// [`Replay::open`] for a reader made elsewhere (a mapped file's,
    /// [`TraceReader::from_bytes`]): reads the recorded configuration.
    pub fn from_reader(mut reader: TraceReader<R>) -> Result<Replay<R>, ReplayError> {
        let at = reader.offset();
        let config = match reader.next_record()? {
            Some(vstrace_tracefile::Record::Config(bytes)) => {
                serde_json::from_slice(&bytes).map_err(|e| ReplayError::Config(e.to_string()))?
            }
            _ => {
                return Err(TraceError {
                    offset: at,
                    kind: vstrace_tracefile::TraceErrorKind::NoConfig,
                }
                .into())
            }
        };
        Ok(Replay { reader, config })
    }

    /// Feeds every recorded event to `engine` at its recorded time, then
    /// finishes it at the recorded end (or the last event's time when the
    /// recording was cut short).
    pub fn run(self, engine: &mut Engine) -> ReplayOutcome {
        self.run_until(engine, &AtomicBool::new(false))
    }

    /// [`Replay::run`] that stops early, finishing the engine as at a
    /// cut, once `stop` is set (Ctrl-C).
    pub fn run_until(mut self, engine: &mut Engine, stop: &AtomicBool) -> ReplayOutcome {
        let mut events = 0;
        let mut last_ts = 0;
        let mut end = None;
        let mut history = ReadHistory::default();
        // One event slot for the whole replay: its buffers are reused.
        let mut ev = EventRecord::empty();
        let damage = loop {
            if stop.load(Ordering::Relaxed) {
                break None;
            }
            // The accesses of most events stay coded in the reader until
            // the engine asks for them (a replay asks for few of them).
            match self.reader.next_lazy_into(&mut ev) {
                Ok(Some(Next::Event)) => {
                    let log = self.reader.log(&ev);
                    // The same early-out as a live source: the calls the
                    // filter leaves out cost no decoding here either.
                    if !skip(engine, &ev.event) {
                        let regs = std::borrow::Cow::Borrowed(&ev.event.regs);
                        let mut cpu =
                            ReplayCpu::borrowing(regs, log).with_history(&history, ev.event.cr3);
                        engine.on_event_at(&ev.event, &mut cpu, ev.ts);
                    }
                    history.add_log(ev.event.cr3, log);
                    last_ts = ev.ts;
                    events += 1;
                }
                Ok(Some(Next::End { ts, detached })) => end = Some((ts, detached)),
                Ok(Some(Next::Config(_))) => {}
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        // A live run that detached ends its calls in flight the same way.
        let stats = match end {
            Some((ts, true)) => engine.finish_detached_at(ts),
            Some((ts, false)) => engine.finish_at(ts),
            None => engine.finish_at(last_ts),
        };
        ReplayOutcome {
            events,
            clean_end: end.is_some() && damage.is_none(),
            damage,
            stats,
        }
    }
}

/// Whether the engine's early-out drops `event` (see
/// [`Engine::skip_enter`], [`Engine::skip_sys_exit`]).
fn skip(engine: &mut Engine, event: &Event) -> bool {
    match event.mechanism {
        Mechanism::Sysret | Mechanism::Sysexit => engine.skip_sys_exit(),
        _ if event.direction == Direction::Enter => {
            engine.skip_enter(event.regs.rax(), event.bitness, event.cr3)
        }
        _ => false,
    }
}

/// Replays a whole trace held in memory, from untrusted bytes, into
/// nowhere: the header, every frame, the recorded configuration and the
/// engine's decoding of the recorded registers and memory are exercised,
/// and nothing is written outside this process (the recorded output and
/// recording paths are ignored). Checksums are not verified, so mutated
/// input reaches the decoders. `layer` builds the OS layer the recorded
/// configuration names (`vstrace_layers::layer`; `None`: replay nothing).
/// The fuzzing entry point for replay; returns the number of events
/// replayed.
pub fn fuzz_replay(data: &[u8], layer: &dyn Fn(&EngineConfig) -> Option<Box<dyn OsLayer>>) -> u64 {
    let Ok(reader) = TraceReader::new(data) else {
        return 0;
    };
    let Ok(rep) = Replay::from_reader(reader.without_checksums()) else {
        return 0;
    };
    let cfg = EngineConfig {
        output: None,
        record: None,
        ..rep.config.clone()
    };
    let sink = crate::Sink::from_writer(Box::new(std::io::sink()), cfg.format, cfg.summary);
    let Some(os) = layer(&cfg) else {
        return 0;
    };
    let Ok(mut engine) = Engine::with_sink(cfg, os, crate::Hooks::new(), sink) else {
        return 0;
    };
    rep.run(&mut engine).events
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::cpu::SnapshotCpu;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::{Bitness, Mechanism, Reg, Regs};
    use vstrace_linux::LinuxLayer;

    fn linux() -> Box<dyn OsLayer> {
        Box::new(LinuxLayer::default())
    }

    /// The layers these tests know: Linux only (a mutated configuration
    /// naming another OS replays nothing).
    fn layer(cfg: &EngineConfig) -> Option<Box<dyn OsLayer>> {
        (cfg.os == "linux").then(linux)
    }

    /// Records a synthetic openat enter/exit through a real engine into a
    /// trace file, then replays it: same JSON, and hostile variants of the
    /// file never panic.
    #[test]
    fn engine_round_trip_and_hostile_replays() {
        let dir = std::env::temp_dir().join(format!("vstrace-replay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (live, rec, replayed) = (dir.join("live"), dir.join("rec"), dir.join("rep"));
        let cfg = EngineConfig {
            format: crate::Format::Json,
            output: Some(live.display().to_string()),
            record: Some(rec.display().to_string()),
            ..EngineConfig::default()
        };
        let mut mem = SparseVirt::new();
        mem.map(0x1000, b"/etc/hostname\0");
        let mut regs = Regs {
            cs: 0x33,
            cr3: 0x5000,
            efer: 0xd01,
            ..Regs::default()
        };
        regs.set(Reg::Rax, 257);
        regs.set(Reg::Rdi, (-100i64) as u64);
        regs.set(Reg::Rsi, 0x1000);
        regs.set(Reg::Rsp, 0x7fff_0000);
        regs.set(Reg::Rip, 0x40_1000);
        let e = Engine::new(cfg, linux()).unwrap();
        let enter = Event::new(0, Mechanism::Syscall, Bitness::B64, regs.clone());
        e.on_event_at(
            &enter,
            &mut SnapshotCpu {
                regs: regs.clone(),
                mem: &mut mem,
            },
            10,
        );
        regs.set(Reg::Rax, 3);
        regs.set(Reg::Rcx, 0x40_1002);
        let exit = Event::new(0, Mechanism::Sysret, Bitness::B64, regs.clone());
        e.on_event_at(
            &exit,
            &mut SnapshotCpu {
                regs,
                mem: &mut mem,
            },
            20,
        );
        e.finish_at(30);
        drop(e);
        let want = std::fs::read_to_string(&live).unwrap();
        assert!(want.contains("/etc/hostname"), "{want}");

        let rep = Replay::open(std::fs::File::open(&rec).unwrap()).unwrap();
        let mut cfg = rep.config.clone();
        cfg.output = Some(replayed.display().to_string());
        let mut e = Engine::new(cfg, linux()).unwrap();
        let out = rep.run(&mut e);
        drop(e);
        assert_eq!(out.events, 2);
        assert!(out.clean_end && out.damage.is_none());
        assert_eq!(std::fs::read_to_string(&replayed).unwrap(), want);

        let bytes = std::fs::read(&rec).unwrap();
        // Stopped before the first event: nothing replayed, a clean finish.
        let rep = Replay::open(&bytes[..]).unwrap();
        let sink = crate::Sink::from_writer(Box::new(std::io::sink()), crate::Format::Json, false);
        let mut e =
            Engine::with_sink(rep.config.clone(), linux(), crate::Hooks::new(), sink).unwrap();
        let out = rep.run_until(&mut e, &AtomicBool::new(true));
        assert_eq!((out.events, out.clean_end), (0, false));
        assert_eq!(fuzz_replay(&bytes, &layer), 2);
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0xff;
            fuzz_replay(&b, &layer);
            fuzz_replay(&bytes[..i], &layer);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
