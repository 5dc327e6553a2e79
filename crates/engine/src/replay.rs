//! Record and replay: the engine writes a trace file while it runs
//! (`--record`), and a trace file drives a fresh engine offline with the
//! recorded times, registers and guest memory, so the same configuration
//! produces byte-identical output without the guest.

use std::fs::File;
use std::io::Read;

use vstrace_core::{Cpu, Event};
use vstrace_trace::{Access, RecordingCpu, ReplayCpu, TraceError, TraceReader, TraceWriter};

use crate::flush::AutoFlush;
use crate::{Engine, EngineConfig, EngineError, EngineStats};

/// The engine's trace-file writer (`--record`).
pub(crate) struct Recorder {
    writer: TraceWriter<AutoFlush<File>>,
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
        let json = serde_json::to_vec(&stored_config(cfg)).map_err(|e| err(e.into()))?;
        let file = File::create(path).map_err(err)?;
        let mut writer = TraceWriter::new(AutoFlush::new(file), &json).map_err(err)?;
        writer.flush().map_err(err)?;
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

    pub(crate) fn end(&mut self, ts: u64) {
        if self.error.is_none() {
            if let Err(e) = self.writer.end(ts) {
                self.error = Some(e.to_string());
            }
        }
    }
}

/// Error opening a trace file for replay.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Trace(#[from] TraceError),
    #[error("the trace file's configuration is unreadable: {0}")]
    Config(String),
}

/// How a replay ended.
#[derive(Debug)]
pub struct ReplayOutcome {
    pub events: u64,
    /// The recording has its end marker (the live run finished cleanly).
    pub clean_end: bool,
    /// The first damage in the file; everything before it was replayed.
    pub damage: Option<TraceError>,
    pub stats: EngineStats,
}

/// A trace file opened for replay: header checked, configuration read.
pub struct Replay<R: Read> {
    reader: TraceReader<R>,
    /// The live run's configuration (output and recording cleared).
    pub config: EngineConfig,
}

impl<R: Read> Replay<R> {
    pub fn open(input: R) -> Result<Replay<R>, ReplayError> {
        let mut reader = TraceReader::new(input)?;
        let at = reader.offset();
        let config = match reader.next_record()? {
            Some(vstrace_trace::Record::Config(bytes)) => {
                serde_json::from_slice(&bytes).map_err(|e| ReplayError::Config(e.to_string()))?
            }
            _ => {
                return Err(TraceError {
                    offset: at,
                    kind: vstrace_trace::TraceErrorKind::NoConfig,
                }
                .into())
            }
        };
        Ok(Replay { reader, config })
    }

    /// Feeds every recorded event to `engine` at its recorded time, then
    /// finishes it at the recorded end (or the last event's time when the
    /// recording was cut short).
    pub fn run(mut self, engine: &mut Engine) -> ReplayOutcome {
        let mut events = 0;
        let mut last_ts = 0;
        let mut end = None;
        let damage = loop {
            match self.reader.next_record() {
                Ok(Some(vstrace_trace::Record::Event(ev))) => {
                    let mut cpu = ReplayCpu::new(ev.event.regs.clone(), &ev.accesses);
                    engine.on_event_at(&ev.event, &mut cpu, ev.ts);
                    last_ts = ev.ts;
                    events += 1;
                }
                Ok(Some(vstrace_trace::Record::End { ts })) => end = Some(ts),
                Ok(Some(vstrace_trace::Record::Config(_))) => {}
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        let stats = engine.finish_at(end.unwrap_or(last_ts));
        ReplayOutcome {
            events,
            clean_end: end.is_some() && damage.is_none(),
            damage,
            stats,
        }
    }
}
