//! Tracing options shared by `run` and `attach`: filter, output, format,
//! modifications and recording.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use vstrace_engine::{EngineConfig, Format};

#[derive(Args, Debug)]
pub struct TraceOpts {
    /// Filter expression, strace style: trace=NAME,%class,!NAME...
    #[arg(short = 'e', value_name = "EXPR")]
    pub expr: Vec<String>,
    /// Write the trace to FILE instead of stderr.
    #[arg(short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also record every event and the guest memory read into FILE, for
    /// `vstrace replay FILE`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Count time, calls and errors per syscall and print a summary.
    #[arg(short = 'c')]
    pub summary: bool,
    /// Maximum string size to print.
    #[arg(short = 's', value_name = "STRSIZE", default_value_t = 32)]
    pub strsize: usize,
    /// JSON Lines output: one merged record per call.
    #[arg(long)]
    pub json: bool,
    /// Fault injection, strace style: SET:error=ENOENT|retval=N[:when=FIRST[..LAST][+STEP]].
    #[arg(long, value_name = "SPEC")]
    pub inject: Vec<String>,
    /// Rewrite a path argument: FROM=TO.
    #[arg(long = "rewrite-path", value_name = "FROM=TO")]
    pub rewrite_path: Vec<String>,
}

impl TraceOpts {
    /// Sets the engine configuration's format, filter, modifications and
    /// recording from these options (the output is the caller's).
    pub fn apply(&self, cfg: &mut EngineConfig) -> Result<()> {
        cfg.format = if self.json {
            Format::Json
        } else {
            Format::Text
        };
        cfg.summary = self.summary;
        cfg.strsize = self.strsize;
        cfg.trace = trace_filter(&self.expr)?;
        cfg.inject = self.inject.clone();
        cfg.rewrite_path = self.rewrite_path.clone();
        cfg.record = record_path(self.record.as_deref())?;
        Ok(())
    }
}

/// The `trace=` set of `-e` expressions (the last one wins).
pub fn trace_filter(exprs: &[String]) -> Result<Option<String>> {
    let mut trace = None;
    for e in exprs {
        match e.split_once('=') {
            Some(("trace" | "t", v)) => trace = Some(v.to_string()),
            Some((k, _)) => bail!("-e {k}=...: only trace= is supported"),
            None => trace = Some(e.to_string()),
        }
    }
    Ok(trace)
}

/// The absolute path of `--record FILE` (the engine may run in another
/// process, with another working directory), checked to be writable.
pub fn record_path(p: Option<&Path>) -> Result<Option<String>> {
    let Some(p) = p else { return Ok(None) };
    let abs = std::path::absolute(p).with_context(|| format!("--record {}", p.display()))?;
    std::fs::File::create(&abs)
        .with_context(|| format!("cannot write the recording to {}", abs.display()))?;
    Ok(Some(abs.display().to_string()))
}
