//! Sinks: strace-like text, JSON Lines, or the `-c` summary, written to a
//! file, FIFO, stdout or stderr in whole lines, flushed in the background
//! (see [`crate::flush`]) so that a killed tracer loses at most the last
//! 50 ms of records and never leaves half a line. The output options
//! ([`OutputOptions`]) that select lines (`-e status=`, `-e signal=`,
//! `-qq`, `--syscall-limit`) and split them (`-ff`) apply here.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::filter::SyscallSet;
use crate::flush::AutoFlush;
use crate::output::{quiet, OutputOptions, SignalSet};
use crate::procs::{EventKind, ProcessEvent, ProcessTree};
use crate::record::{CallState, Record, Render};
use crate::summary::Summary;
use crate::EngineError;

mod lines;

/// Most per-process files `-ff` keeps open at once (the oldest is closed
/// and reopened for appending when needed again).
const MAX_OPEN_SPLIT: usize = 64;

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
    /// A JSON line's bytes before they join `line`: reused, so that
    /// serializing a record allocates nothing once it has grown.
    json: Vec<u8>,
    seq: u64,
    /// Records written (or counted into the summary).
    pub written: u64,
    /// Records that could not be written.
    pub errors: u64,
    /// The first write error, as text (later ones are only counted).
    pub first_error: Option<String>,
    opts: OutputOptions,
    raw: Option<SyscallSet>,
    signals: Option<SignalSet>,
    /// The previous line's time, for `-r`.
    last_ts: Option<u64>,
    /// Calls written so far, for `--syscall-limit`.
    calls: u64,
    /// `-ff`: the output path the per-process files are named after.
    split_base: Option<String>,
    /// `-ff`: the open per-process files, with their last use.
    split: HashMap<u32, (u64, File)>,
    /// `-ff`: the processes that have a file (a file closed to bound the
    /// open ones is appended to when reopened, not truncated).
    split_seen: HashSet<u32>,
    /// `-o |COMMAND`: the command reading the trace, waited for when the
    /// sink is dropped.
    child: Option<std::process::Child>,
    /// The processes seen, for `--tree` and `-c`.
    tree: ProcessTree,
    /// strace's split lines in a shared text log. Boxed, and None only
    /// while its `next` runs: taken out and put back around each record
    /// (it holds one), a pointer moved rather than a record copied twice.
    lines: Option<Box<lines::Lines>>,
}

impl Sink {
    /// A sink writing `format` to `path`: stderr when absent or `-`,
    /// stdout for [`STDOUT`], else the file (created or truncated);
    /// with `summary`, a `-c` table at [`Sink::finish`] instead.
    pub fn open(path: Option<&str>, format: Format, summary: bool) -> Result<Sink, EngineError> {
        Self::open_with(path, format, summary, OutputOptions::default(), None, None)
    }

    /// [`Sink::open`] with strace's output options; `raw` and `signals`
    /// are the parsed `-e raw=` and `-e signal=` sets. With `-A` the file is appended to; with `-ff` each
    /// process's lines go to `PATH.PID` (and `path` itself gets nothing).
    pub fn open_with(
        path: Option<&str>,
        format: Format,
        summary: bool,
        opts: OutputOptions,
        raw: Option<SyscallSet>,
        signals: Option<SignalSet>,
    ) -> Result<Sink, EngineError> {
        let split_base = match path {
            Some(p) if opts.separate && p != "-" && p != STDOUT && !is_pipe(p) => {
                Some(p.to_string())
            }
            _ => None,
        };
        let mut child = None;
        let out: Box<dyn Write + Send> = match path {
            None | Some("-") => Box::new(std::io::stderr()),
            Some(STDOUT) => Box::new(std::io::stdout()),
            // -ff: the summary (if any) goes to stderr, as strace's does.
            Some(_) if split_base.is_some() => Box::new(std::io::stderr()),
            Some(p) if is_pipe(p) => {
                let (stdin, c) = spawn_pipe(&p[1..])?;
                child = Some(c);
                Box::new(stdin)
            }
            Some(p) => Box::new(open_file(p, opts.append)?),
        };
        crate::summary::validate(&opts.summary).map_err(EngineError::Options)?;
        let mut sink = Self::from_writer(out, format, summary);
        sink.summary = summary.then(|| Summary::with_options(opts.summary.clone()));
        sink.opts = opts;
        sink.raw = raw;
        sink.signals = signals;
        sink.split_base = split_base;
        sink.child = child;
        Ok(sink)
    }

    /// The same sink with strace's output options (see [`Sink::open_with`];
    /// `-ff` and `-A` are the writer's business here).
    pub fn with_options(
        mut self,
        opts: OutputOptions,
        raw: Option<SyscallSet>,
        signals: Option<SignalSet>,
    ) -> Sink {
        self.opts = opts;
        self.raw = raw;
        self.signals = signals;
        self
    }

    /// Whether what this sink writes may show the records' times: JSON,
    /// the summary, timestamps, relative times or durations.
    pub fn shows_time(&self) -> bool {
        self.format != Format::Text
            || self.summary.is_some()
            || self.opts.timestamps.is_some()
            || self.opts.relative.is_some()
            || self.opts.syscall_times.is_some()
    }

    /// A sink writing to `out` (see [`Sink::open`]).
    pub fn from_writer(out: Box<dyn Write + Send>, format: Format, summary: bool) -> Sink {
        Sink {
            out: AutoFlush::new(out),
            format,
            summary: summary.then(Summary::default),
            line: String::with_capacity(512),
            json: Vec::with_capacity(1024),
            seq: 0,
            written: 0,
            errors: 0,
            first_error: None,
            opts: OutputOptions::default(),
            raw: None,
            signals: None,
            last_ts: None,
            calls: 0,
            split_base: None,
            split: HashMap::new(),
            split_seen: HashSet::new(),
            child: None,
            tree: ProcessTree::default(),
            lines: Some(Box::default()),
        }
    }

    /// Adds counts kept apart from the records (`-c`'s per-vCPU lanes:
    /// name, number, counts) to the summary, if there is one.
    pub fn merge_summary(&mut self, rows: &[(String, u64, crate::summary::RowCounts)]) {
        if let Some(s) = &mut self.summary {
            for (name, nr, c) in rows {
                s.merge_counts(name, *nr, c);
            }
        }
    }

    /// Whether `rec` is printed at all under the output options.
    fn selects(&self, rec: &Record) -> bool {
        match rec.state {
            CallState::Exited => self.opts.quiet & quiet::EXIT == 0,
            CallState::Signal => self.signals.as_ref().is_none_or(|s| s.contains(&rec.name)),
            _ => self.opts.status_shows(rec),
        }
    }

    /// Numbers `rec` in output order and writes it (or adds it to the
    /// summary); a failed write is counted, never fatal.
    pub fn write(&mut self, mut rec: Record) {
        self.write_mut(&mut rec);
    }

    /// [`Sink::write`] leaving the record with the caller (no move of
    /// it): its buffers (argument list and texts) serve the next calls.
    pub fn write_mut(&mut self, rec: &mut Record) {
        if rec.entry_only || self.keeps_lines() {
            if !self.keeps_lines() {
                return;
            }
            let shown = !rec.hidden && self.selects(rec);
            let mut lines = self.lines.take().unwrap_or_default();
            let next = lines.next(rec, shown, &mut |o| self.write_entry(o));
            self.lines = Some(lines);
            match next {
                lines::Next::Write => {}
                lines::Next::Done => return,
                lines::Next::Whole => {
                    self.write_whole_ended(rec);
                    return;
                }
            }
        }
        let event = self.process_event(rec);
        if rec.hidden {
            self.write_aftermath(rec);
        } else {
            self.write_record(rec);
        }
        if let Some(e) = event {
            self.write_event(e);
        }
    }

    /// The process event `rec` is, noted in the tree (which is kept only
    /// when it may be printed).
    fn process_event(&mut self, rec: &Record) -> Option<ProcessEvent> {
        let wanted = self.opts.process_events || self.opts.tree || self.summary.is_some();
        if !wanted {
            return None;
        }
        self.tree.note(rec);
        let e = ProcessEvent::of(rec)?;
        self.tree.add(&e);
        Some(e)
    }

    /// `--process-events`: the event's line (text: fork and exec only,
    /// the exit's `+++` line is the record's own; JSON: every event).
    fn write_event(&mut self, mut e: ProcessEvent) {
        if !self.opts.process_events || (self.summary.is_some() && !self.opts.summary.with_records)
        {
            return;
        }
        if e.process_event == EventKind::Exit
            && (self.format == Format::Text || self.opts.quiet & quiet::EXIT != 0)
        {
            return;
        }
        e.seq = self.seq;
        self.seq += 1;
        self.line.clear();
        let own_file = self.split_base.is_some() && e.pid.is_some();
        match self.format {
            Format::Text => e.to_text(own_file, &mut self.line),
            Format::Json => match json_line(&mut self.json, &mut self.line, |b| {
                serde_json::to_writer(b, &e)
            }) {
                Ok(()) => {}
                Err(err) => {
                    self.fail(format!("serializing a process event: {err}"));
                    return;
                }
            },
        }
        self.end_line(e.pid);
    }

    fn write_record(&mut self, rec: &mut Record) {
        let is_call = !matches!(rec.state, CallState::Signal | CallState::Exited);
        if is_call {
            if self.opts.syscall_limit.is_some_and(|n| self.calls >= n) {
                return;
            }
            self.calls += 1;
        }
        if !self.selects(rec) {
            self.write_aftermath(rec);
            return;
        }
        if let Some(s) = &mut self.summary {
            s.add(rec);
            // -c: the table only; -C: the records too.
            if !self.opts.summary.with_records {
                return;
            }
        }
        // The exit line is text only: in JSON the exit_group record
        // carries the status.
        if rec.state == CallState::Exited && self.format == Format::Json {
            return;
        }
        rec.seq = self.seq;
        self.seq += 1;
        self.line.clear();
        match self.format {
            Format::Text => {
                let raw = is_call
                    && self
                        .raw
                        .as_ref()
                        .is_some_and(|s| s.contains_call(&rec.name, &rec.abi));
                let how = Render {
                    opts: &self.opts,
                    raw,
                    own_file: self.split_base.is_some() && rec.pid.is_some(),
                };
                rec.to_text_with(&how, &mut self.last_ts, &mut self.line);
                if !rec.io.is_empty() {
                    // strace's dump lines follow the call's line.
                    self.line.push('\n');
                    crate::dump::render(&rec.io, rec.tid.or(rec.pid), &mut self.line);
                    self.line.pop();
                }
            }
            Format::Json => match json_line(&mut self.json, &mut self.line, |b| {
                // By hand (the same bytes as serde's: see `record::json`).
                crate::record::json::write_record(rec, b)
            }) {
                Ok(()) => {}
                Err(e) => {
                    self.fail(format!("serializing a record: {e}"));
                    return;
                }
            },
        }
        self.end_line(rec.pid);
    }

    /// Whether strace's split lines are kept ([`lines`]): text in one
    /// shared log, calls printed as they are made (no `-e status=`, which
    /// makes strace print each call whole), records printed (not `-c`).
    fn keeps_lines(&self) -> bool {
        self.format == Format::Text
            && self.split_base.is_none()
            && self
                .opts
                .status
                .is_none_or(|s| s == crate::output::status::ALL)
            && (self.summary.is_none() || self.opts.summary.with_records)
    }

    /// An announced entry's line, `NAME(ARGS <unfinished ...>`: another
    /// thread printed before the call's end.
    fn write_entry(&mut self, entry: &Record) {
        self.seq += 1;
        self.line.clear();
        let how = Render {
            opts: &self.opts,
            raw: self
                .raw
                .as_ref()
                .is_some_and(|s| s.contains_call(&entry.name, &entry.abi)),
            own_file: false,
        };
        entry.to_text_with(&how, &mut self.last_ts, &mut self.line);
        self.end_line(entry.pid);
    }

    /// A call an exec ended that continues its own open line: whole.
    fn write_whole_ended(&mut self, rec: &Record) {
        self.seq += 1;
        self.line.clear();
        let how = Render {
            opts: &self.opts,
            raw: false,
            own_file: false,
        };
        rec.ended_whole_text(&how, &mut self.last_ts, &mut self.line);
        self.end_line(rec.pid);
    }

    /// The lines of a successful exec that strace prints even when the
    /// exec's own line is not (hidden by `-e trace=`, `-e status=`): the
    /// superseded leader's, the ends of the calls it ended
    /// ([`Record::exec_aftermath`]). Text only: in JSON the records tell
    /// it.
    fn write_aftermath(&mut self, rec: &Record) {
        if rec.new_tid.is_none() && rec.ended.is_empty() {
            return;
        }
        if self.format != Format::Text || self.summary.is_some() && !self.opts.summary.with_records
        {
            return;
        }
        self.line.clear();
        let how = Render {
            opts: &self.opts,
            raw: false,
            own_file: self.split_base.is_some() && rec.pid.is_some(),
        };
        rec.exec_aftermath(&how, &mut self.last_ts, &mut self.line);
        if !self.line.is_empty() {
            self.end_line(rec.pid);
        }
    }

    /// Ends the line and writes it: to `pid`'s own file with `-ff`.
    fn end_line(&mut self, pid: Option<u32>) {
        self.line.push('\n');
        match (&self.split_base, pid) {
            (Some(_), Some(pid)) => self.emit_split(pid),
            _ => self.emit(),
        }
    }

    /// `-ff`: writes the line to the process's own file, `BASE.PID`.
    fn emit_split(&mut self, pid: u32) {
        if self.first_error.is_some() {
            self.errors += 1;
            return;
        }
        let Some(base) = &self.split_base else { return };
        if !self.split.contains_key(&pid) {
            if self.split.len() >= MAX_OPEN_SPLIT {
                if let Some(old) = self.split.iter().min_by_key(|e| e.1 .0).map(|e| *e.0) {
                    self.split.remove(&old);
                }
            }
            // Reopened after eviction, or -A: append; else a new file.
            let path = format!("{base}.{pid}");
            let append = self.opts.append || !self.split_seen.insert(pid);
            match open_file(&path, append) {
                Ok(f) => {
                    self.split.insert(pid, (self.seq, f));
                }
                Err(e) => {
                    self.fail(e.to_string());
                    return;
                }
            }
        }
        let seq = self.seq;
        let Some((used, f)) = self.split.get_mut(&pid) else {
            return;
        };
        *used = seq;
        match f.write_all(self.line.as_bytes()) {
            Ok(()) => self.written += 1,
            Err(e) => self.fail(e.to_string()),
        }
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
    ///
    /// (`-ff` files are written unbuffered, line by line: nothing to
    /// flush.)
    pub fn finish(&mut self) {
        let summary = self.summary.is_some();
        if let Some(s) = self.summary.take() {
            self.line = s.render();
            self.emit();
        }
        // --tree; -c too once the run created a process.
        if self.opts.tree || (summary && self.tree.created() > 0) {
            self.line = match self.format {
                Format::Json if !summary => self.tree.to_json() + "\n",
                _ => self.tree.render(),
            };
            self.emit();
        }
        if self.first_error.is_none() {
            if let Err(e) = self.out.flush() {
                self.fail(e.to_string());
            }
        }
    }
}

/// Appends a JSON value to `line`: what `write` writes into `buf`
/// (cleared first, its capacity kept from one line to the next).
fn json_line(
    buf: &mut Vec<u8>,
    line: &mut String,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), serde_json::Error>,
) -> Result<(), serde_json::Error> {
    buf.clear();
    write(buf)?;
    // JSON is written from UTF-8 only: this never fails.
    match std::str::from_utf8(buf) {
        Ok(s) => line.push_str(s),
        Err(e) => return Err(serde::ser::Error::custom(e)),
    }
    Ok(())
}

/// Opens an output file: created, and truncated unless `append` (`-A`).
fn open_file(p: &str, append: bool) -> Result<File, EngineError> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .append(append)
        .truncate(!append)
        .open(p)
        .map_err(|source| EngineError::Output {
            path: p.to_string(),
            source,
        })
}

/// Whether an output names a command to pipe the trace into: strace's
/// `-o |COMMAND` and `-o !COMMAND`.
pub fn is_pipe(path: &str) -> bool {
    path.len() > 1 && (path.starts_with('|') || path.starts_with('!'))
}

/// Starts `sh -c cmd` reading the trace on its standard input.
fn spawn_pipe(cmd: &str) -> Result<(std::process::ChildStdin, std::process::Child), EngineError> {
    let err = |source| EngineError::Output {
        path: format!("|{cmd}"),
        source,
    };
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(err)?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| err(std::io::Error::other("no pipe to the command")))?;
    Ok((stdin, child))
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // Close the pipe (the command sees the end of the trace), then
            // wait for the command, as strace does.
            let _ = self.out.flush();
            self.out = AutoFlush::new(Box::new(std::io::sink()));
            let _ = c.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::status;

    fn rec(pid: u32, name: &str, state: &str, ret: i64, errno: Option<&str>) -> Record {
        let mut r: Record = serde_json::from_str(&format!(
            r#"{{"seq":0,"vcpu":0,"ts_enter_ns":1000,"ts_exit_ns":3500,"pid":{pid},"tid":{pid},"cr3":0,"os":"linux","abi":"x86_64","mechanism":"syscall","nr":80,"name":"{name}","args":[],"ret":{ret},"state":"{state}"}}"#
        ))
        .unwrap();
        r.errno = errno.map(str::to_string);
        r.ret_text = Some(match errno {
            Some(e) => format!("-1 {e} (x)"),
            None => ret.to_string(),
        });
        r
    }

    fn tmp(name: &str) -> String {
        let d = std::env::temp_dir().join(format!("vstrace-sink-{}-{name}", std::process::id()));
        d.display().to_string()
    }

    fn lines(opts: OutputOptions, recs: Vec<Record>) -> String {
        let p = tmp("lines");
        let mut s = Sink::open_with(Some(&p), Format::Text, false, opts, None, None).unwrap();
        for r in recs {
            s.write(r);
        }
        s.finish();
        drop(s);
        let out = std::fs::read_to_string(&p).unwrap();
        let _ = std::fs::remove_file(&p);
        out
    }

    fn sample() -> Vec<Record> {
        vec![
            rec(7, "chdir", "complete", 0, None),
            rec(7, "chdir", "complete", -2, Some("ENOENT")),
            rec(7, "exit_group", "no_return", 0, None),
            rec(7, "exit_group", "exited", 3, None),
        ]
    }

    #[test]
    fn status_quiet_limit_and_times() {
        let all = lines(OutputOptions::default(), sample());
        assert_eq!(
            all,
            "[pid     7] chdir()                     = 0\n\
             [pid     7] chdir()                     = -1 ENOENT (x)\n\
             [pid     7] exit_group()                = ?\n\
             [pid     7] +++ exited with 3 +++\n"
        );
        let failed = OutputOptions {
            status: Some(status::FAILED),
            quiet: crate::output::quiet::EXIT,
            ..Default::default()
        };
        assert_eq!(
            lines(failed, sample()),
            "[pid     7] chdir()                     = -1 ENOENT (x)\n"
        );
        let limited = OutputOptions {
            syscall_limit: Some(1),
            syscall_times: Some(6),
            syscall_number: true,
            column: 30,
            ..Default::default()
        };
        assert_eq!(
            lines(limited, sample()),
            "[pid     7] [  80] chdir()    = 0 <0.000002>\n[pid     7] [  80] +++ exited with 3 +++\n"
        );
        let stamped = OutputOptions {
            timestamps: Some(crate::output::Timestamps {
                unix: true,
                digits: 3,
            }),
            wall_start_ns: Some(5_000_000_000),
            relative: Some(6),
            ..Default::default()
        };
        assert!(lines(stamped, sample())
            .starts_with("[pid     7] 5.000 (+     0.000000) chdir() = 0\n"));
    }

    #[test]
    fn files_per_process_append_and_pipes() {
        let base = tmp("ff");
        let opts = OutputOptions {
            separate: true,
            ..Default::default()
        };
        let mut s = Sink::open_with(Some(&base), Format::Text, false, opts, None, None).unwrap();
        s.write(rec(7, "chdir", "complete", 0, None));
        s.write(rec(8, "getpid", "complete", 8, None));
        s.finish();
        drop(s);
        let f7 = std::fs::read_to_string(format!("{base}.7")).unwrap();
        let f8 = std::fs::read_to_string(format!("{base}.8")).unwrap();
        assert_eq!(
            (f7.as_str(), f8.as_str()),
            (
                "chdir()                                 = 0\n",
                "getpid()                                = 8\n"
            )
        );
        // -A appends to what is there.
        let opts = OutputOptions {
            separate: true,
            append: true,
            ..Default::default()
        };
        let mut s = Sink::open_with(Some(&base), Format::Text, false, opts, None, None).unwrap();
        s.write(rec(7, "getpid", "complete", 7, None));
        drop(s);
        let f7 = std::fs::read_to_string(format!("{base}.7")).unwrap();
        assert_eq!(f7.lines().count(), 2);
        for pid in [7, 8] {
            let _ = std::fs::remove_file(format!("{base}.{pid}"));
        }
        // -o '|cmd': the command reads the trace.
        let out = tmp("pipe");
        let spec = format!("|cat > {out}");
        let mut s = Sink::open_with(
            Some(&spec),
            Format::Text,
            false,
            OutputOptions::default(),
            None,
            None,
        )
        .unwrap();
        s.write(rec(7, "chdir", "complete", 0, None));
        s.finish();
        drop(s);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "[pid     7] chdir()                     = 0\n"
        );
        let _ = std::fs::remove_file(&out);
        assert!(is_pipe("!x") && !is_pipe("|") && !is_pipe("a|b"));
    }
}
