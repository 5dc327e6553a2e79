//! `vstrace replay`: decode a trace file written by `run --record` or
//! `attach --record` offline, with the same engine, filters and formats,
//! without the guest or its kernel image.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use vstrace_engine::replay::{Replay, ReplayError};
use vstrace_engine::{Engine, Format};
use vstrace_tracefile::TraceReader;

use crate::exit;
use crate::trace_args::strace::usage;
use crate::trace_args::{all_exprs, parse_exprs, StraceOpts};

#[derive(Args, Debug)]
#[command(after_help = crate::exit::HELP, args_override_self = true)]
pub struct ReplayArgs {
    /// The trace file (`vstrace run/attach --record FILE`).
    file: PathBuf,
    /// Qualifying expression, strace style: trace=, status=, signal=,
    /// quiet=, abbrev=, verbose=, raw= (default: the recorded ones). A
    /// replay shows at most what the recording decoded: calls the live
    /// filter left out have no memory.
    #[arg(short = 'e', value_name = "EXPR")]
    expr: Vec<String>,
    /// Trace only these calls (= -e trace=SET).
    #[arg(long = "trace", value_name = "SET")]
    trace_long: Vec<String>,
    /// Write the trace to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Count time, calls and errors per syscall and print a summary.
    #[arg(short = 'c', long = "summary-only")]
    summary: bool,
    /// Maximum string size to print (default: the recorded one).
    #[arg(short = 's', long = "string-limit", value_name = "STRSIZE")]
    strsize: Option<usize>,
    /// JSON Lines output (default: the recorded format).
    #[arg(long, conflicts_with = "text")]
    json: bool,
    /// strace-like text output (default: the recorded format).
    #[arg(long)]
    text: bool,
    /// Only these processes (thread group ids); replaces the recorded -p.
    #[arg(short = 'p', value_name = "PID")]
    pids: Vec<u32>,
    /// Only processes with this name; replaces the recorded --comm.
    #[arg(long = "comm", value_name = "NAME")]
    comms: Vec<String>,
    /// With -p: also the children the traced processes fork. -ff with -o
    /// FILE: one file per process, FILE.PID.
    #[arg(short = 'f', long = "follow-forks", action = clap::ArgAction::Count)]
    follow_forks: u8,
    /// Print the number of events and bytes per event on stderr (the
    /// replay's own debug output, strace's -d).
    #[arg(short = 'd', long = "debug")]
    debug: bool,
    /// strace's output options (default: the recorded ones).
    #[command(flatten)]
    strace: StraceOpts,
    /// Python hooks file (repeatable), run read-only on the recorded
    /// calls: reads come from the recording, writes raise. The live run's
    /// hooks are not run again.
    #[arg(long = "hooks", value_name = "FILE.py")]
    hooks: Vec<PathBuf>,
    /// Print each call's user stack, as strace -k does (default: as
    /// recorded; the stack's memory is in the recording only when it was
    /// made with -k).
    #[arg(short = 'k', long = "stack-trace", visible_alias = "stack-traces")]
    stack_trace: bool,
    /// With -k: a host directory holding copies of guest files for the
    /// frames' symbols and unwind tables (as `vstrace run --symbol-dir`),
    /// added to the recorded ones. Repeatable.
    #[arg(long = "symbol-dir", value_name = "DIR")]
    symbol_dirs: Vec<PathBuf>,
    /// Print paths of fd arguments (-y); -yy adds socket and device
    /// details. From the file-table reads a recording keeps for every
    /// call (recordings made before it show fds without names).
    #[arg(short = 'y', action = clap::ArgAction::Count)]
    decode_fds_level: u8,
    /// What to print for fds: path, socket, dev, pidfd, all, none.
    #[arg(long = "decode-fds", value_name = "SET", num_args = 0..=1,
          require_equals = true, default_missing_value = "path")]
    decode_fds: Option<String>,
    /// Print the command name after pids (-Y, --decode-pids=comm).
    #[arg(short = 'Y')]
    decode_pids_comm: bool,
    /// What to print for pids: comm, pidns (the guest's initial-namespace
    /// number of a pid seen under another), all, none.
    #[arg(long = "decode-pids", value_name = "SET")]
    decode_pids: Option<String>,
    /// strace's older spelling of `--decode-pids=pidns`.
    #[arg(long = "pidns-translation")]
    pidns_translation: bool,
    /// Show only calls that access PATH (a path argument, or an fd
    /// argument naming it); repeatable. Replaces the recorded set.
    #[arg(short = 'P', long = "trace-path", value_name = "PATH")]
    trace_paths: Vec<String>,
    /// Refused with its reason (a replay cannot change what the guest
    /// did): accepted as `run` spells it, so that the error says why.
    #[arg(long, value_name = "SPEC")]
    inject: Vec<String>,
    /// Refused with its reason, as `--inject`.
    #[arg(long = "rewrite-path", value_name = "FROM=TO")]
    rewrite_path: Vec<String>,
}

pub fn replay(a: ReplayArgs) -> Result<u8> {
    // strace's diagnostic for a bad -I, before the file is looked at.
    let intr = a.strace.interruptible()?;
    let f = File::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
    // A regular file is mapped and decoded in place; anything else (a
    // pipe, a device) or a file that does not map is read in chunks.
    // A file that opens but is no readable recording (empty, random, a
    // damaged header or configuration) is a damaged trace file: status 65,
    // as damage further in is.
    let reader = match crate::mapped::map(&f) {
        Some(m) => TraceReader::from_bytes(Box::new(m)),
        None => TraceReader::new(Box::new(BufReader::with_capacity(1 << 16, f)) as Box<dyn Read>),
    };
    let rep = match reader
        .map_err(ReplayError::from)
        .and_then(Replay::from_reader)
    {
        Ok(r) => r,
        Err(e) => {
            say!("vstrace: error: {}: {e}", a.file.display());
            return Ok(exit::TRACE_DAMAGED);
        }
    };
    let mut cfg = rep.config.clone();
    let x = parse_exprs(&all_exprs(&a.expr, &a.trace_long))?;
    if x.trace.is_some() {
        if let Some(t) = &rep.config.trace {
            say!(
                "vstrace: note: recorded with -e trace={t}: calls it left out were not decoded live, their pointed-to memory is not in the recording"
            );
        }
        cfg.trace = x.trace.clone();
    }
    if !x.inject.is_empty() || !a.inject.is_empty() {
        return Err(usage(
            "-e inject=/fault=/--inject: a replay cannot change what the guest did; inject in a live run",
        ));
    }
    if !a.rewrite_path.is_empty() {
        return Err(usage(
            "--rewrite-path: a replay cannot change what the guest did; rewrite in a live run",
        ));
    }
    a.strace
        .refuse_env("a replay cannot change what the guest did; set it in a live run")?;
    a.strace
        .apply(&x, a.follow_forks, a.output.is_some(), &mut cfg.display)?;
    cfg.summary |= cfg.display.summary.with_records;
    if a.json {
        cfg.format = Format::Json;
    } else if a.text {
        cfg.format = Format::Text;
    }
    cfg.summary |= a.summary;
    // -y/-Y/-P/trace-fds=: given ones replace the recorded ones.
    let mut names = crate::trace_args::name_options(
        a.decode_fds_level,
        a.decode_fds.as_deref(),
        a.decode_pids_comm,
        a.decode_pids.as_deref(),
        &a.expr,
    )?;
    names.pid_ns |= a.pidns_translation;
    let names_given = a.decode_fds_level > 0
        || a.decode_pids_comm
        || a.pidns_translation
        || a.decode_fds.is_some()
        || a.decode_pids.is_some()
        || names != Default::default();
    if names_given {
        cfg.names = names;
    }
    if !a.trace_paths.is_empty() {
        cfg.trace_paths = a.trace_paths.clone();
    }
    let fds = crate::trace_args::trace_fds(&a.expr)?;
    if !fds.is_empty() {
        cfg.trace_fds = fds;
    }
    if let Some(s) = a.strsize {
        cfg.strsize = s;
    }
    if !a.pids.is_empty() || !a.comms.is_empty() {
        if rep.config.pids.is_empty() && rep.config.comms.is_empty() {
            say!(
                "vstrace: note: recorded without -p/--comm: only calls the live run showed were attributed to processes"
            );
        }
        cfg.pids = a.pids.clone();
        cfg.comms = a.comms.clone();
        cfg.follow_forks = a.follow_forks > 0;
        cfg.follow_exec = None;
    }
    cfg.output = Some(match &a.output {
        Some(p) if crate::trace_args::is_pipe(p) => p.display().to_string(),
        Some(p) => std::path::absolute(p)
            .with_context(|| format!("-o {}", p.display()))?
            .display()
            .to_string(),
        None => vstrace_engine::sink::STDOUT.to_string(),
    });
    if a.stack_trace && !rep.config.stack_trace {
        say!(
            "vstrace: note: recorded without -k: the stacks' memory is not in the recording, frames stop where it is missing"
        );
    }
    cfg.stack_trace |= a.stack_trace;
    for d in &a.symbol_dirs {
        let d = std::path::absolute(d)
            .with_context(|| format!("--symbol-dir {}", d.display()))?
            .display()
            .to_string();
        if !cfg.symbol_dirs.contains(&d) {
            cfg.symbol_dirs.push(d);
        }
    }
    cfg.record = None;
    cfg.python_hooks = crate::python::hooks_paths(&a.hooks)?;
    let hooks = crate::python::add(
        vstrace_engine::Hooks::new(),
        &cfg.python_hooks,
        crate::python::Mode::ReadOnly,
    )?;
    let os = vstrace_layers::layer(&cfg).context("invalid replay options")?;
    let mut engine = Engine::with_hooks(cfg, os, hooks).context("invalid replay options")?;
    // Ctrl-C ends the replay between events, so the output keeps whole
    // lines.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let s = stop.clone();
        crate::signal::install(intr, move || s.store(true, Ordering::SeqCst))
            .context("installing the Ctrl-C handler")?;
    }
    let out = rep.run_until(&mut engine, &stop);
    crate::python::report();
    if a.debug {
        let size = std::fs::metadata(&a.file).map(|m| m.len()).unwrap_or(0);
        say!(
            "vstrace: replayed {} events, {} records from {size} bytes ({:.1} bytes per event)",
            out.events,
            out.stats.records,
            size as f64 / out.events.max(1) as f64
        );
    }
    if let Some(err) = engine.output_error() {
        return Ok(exit::output_failed(err));
    }
    if stop.load(Ordering::SeqCst) {
        say!("vstrace: interrupted after {} events", out.events);
        return Ok(exit::INTERRUPTED);
    }
    if let Some(d) = &out.damage {
        say!(
            "vstrace: error: {}: {d}; the {} events before it were replayed",
            a.file.display(),
            out.events
        );
        return Ok(exit::TRACE_DAMAGED);
    }
    if !out.clean_end {
        say!(
            "vstrace: warning: {}: the recording has no end marker (the traced run was cut short)",
            a.file.display()
        );
    }
    Ok(0)
}
