//! Sinks: strace-like text, JSON Lines, or the `-c` summary, written to a
//! file, FIFO, stdout or stderr in whole lines, flushed in the background
//! (see [`crate::flush`]) so that a killed tracer loses at most the last
//! 50 ms of records and never leaves half a line.

use std::fs::{File, OpenOptions};
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::flush::AutoFlush;
use crate::record::Record;
use crate::summary::Summary;
use crate::EngineError;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// strace-like lines ([`Record::to_text`]).
    Text,
    /// JSON Lines, one [`Record`] object per line.
    Json,
}

/// The output name that means this process's stdout (written without
/// reopening, so a shell's `>>` keeps appending).
pub const STDOUT: &str = "/dev/stdout";

/// Where records go.
pub struct Sink {
    out: AutoFlush<Box<dyn Write + Send>>,
    format: Format,
    summary: Option<Summary>,
    line: String,
    seq: u64,
    /// Records written (or counted into the summary).
    pub written: u64,
    /// Records that could not be written.
    pub errors: u64,
    /// The first write error, as text (later ones are only counted).
    pub first_error: Option<String>,
}

impl Sink {
    /// A sink writing `format` to `path`: stderr when absent or `-`,
    /// stdout for [`STDOUT`], else the file (created or truncated);
    /// with `summary`, a `-c` table at [`Sink::finish`] instead.
    pub fn open(path: Option<&str>, format: Format, summary: bool) -> Result<Sink, EngineError> {
        let out: Box<dyn Write + Send> = match path {
            None | Some("-") => Box::new(std::io::stderr()),
            Some(STDOUT) => Box::new(std::io::stdout()),
            Some(p) => {
                let f: File = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(p)
                    .map_err(|source| EngineError::Output {
                        path: p.to_string(),
                        source,
                    })?;
                Box::new(f)
            }
        };
        Ok(Self::from_writer(out, format, summary))
    }

    /// A sink writing to `out` (see [`Sink::open`]).
    pub fn from_writer(out: Box<dyn Write + Send>, format: Format, summary: bool) -> Sink {
        Sink {
            out: AutoFlush::new(out),
            format,
            summary: summary.then(Summary::default),
            line: String::with_capacity(512),
            seq: 0,
            written: 0,
            errors: 0,
            first_error: None,
        }
    }

    /// Numbers `rec` in output order and writes it (or adds it to the
    /// summary); a failed write is counted, never fatal.
    pub fn write(&mut self, mut rec: Record) {
        rec.seq = self.seq;
        self.seq += 1;
        if let Some(s) = &mut self.summary {
            s.add(&rec);
            return;
        }
        self.line.clear();
        match self.format {
            Format::Text => rec.to_text(&mut self.line),
            Format::Json => match serde_json::to_string(&rec) {
                Ok(j) => self.line.push_str(&j),
                Err(e) => {
                    self.fail(format!("serializing a record: {e}"));
                    return;
                }
            },
        }
        self.line.push('\n');
        self.emit();
    }

    fn emit(&mut self) {
        if self.first_error.is_some() {
            self.errors += 1;
            return;
        }
        if let Err(e) = self.out.write_all(self.line.as_bytes()) {
            self.fail(e.to_string());
            return;
        }
        self.written += 1;
    }

    fn fail(&mut self, msg: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(msg);
        }
    }

    /// Writes the summary if any and flushes.
    pub fn finish(&mut self) {
        if let Some(s) = self.summary.take() {
            self.line = s.render();
            self.emit();
        }
        if self.first_error.is_none() {
            if let Err(e) = self.out.flush() {
                self.fail(e.to_string());
            }
        }
    }
}
