//! The record: one merged syscall (enter + exit), the unit every sink
//! writes and every trace file replays to.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use vstrace_core::{ArgValue, Caller, FdPath, Modification};

use crate::output::OutputOptions;

mod ended;
pub(crate) mod json;

/// How the call ended, as far as the tracer saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Enter and exit seen.
    #[default]
    Complete,
    /// The call never returns (exit, exit_group, a successful execve is
    /// reported complete when its return is seen).
    NoReturn,
    /// Still in the kernel when tracing stopped.
    Unfinished,
    /// Still in the kernel when the tracer detached and left the VM
    /// running (`vstrace attach` ended by Ctrl-C or `--duration`):
    /// strace's `NAME(ARGS <detached ...>`, `-e status=detached`.
    Detached,
    /// A return seen without its enter: a new thread or process leaving
    /// clone/fork for the first time.
    ChildReturn,
    /// Not a call: a signal delivered to a handler (`name` is the signal,
    /// the one argument its siginfo), shown as strace shows it:
    /// `--- SIGALRM {si_signo=SIGALRM, si_code=SI_KERNEL} ---`.
    Signal,
    /// Not a call: the process ended (`ret` is its exit status, from
    /// the `exit_group` it called), strace's `+++ exited with N +++`.
    /// Text output only: in JSON the `exit_group` record carries it.
    Exited,
}

/// One syscall record. Optional fields are left out of the JSON when
/// absent (serde_with's `skip_serializing_none`: one rule instead of an
/// attribute on each).
#[serde_with::skip_serializing_none]
// Default: an empty record, so that constructors name only what they set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Sequence number in output order.
    pub seq: u64,
    /// The vCPU that trapped at enter.
    pub vcpu: u32,
    /// Nanoseconds since tracing started (host time), at enter and at
    /// exit; their difference is the call's duration.
    pub ts_enter_ns: u64,
    /// Absent when no exit was seen (unfinished, no-return calls).
    pub ts_exit_ns: Option<u64>,
    /// Process id, when the OS layer could attribute the call.
    pub pid: Option<u32>,
    /// Thread id, when attributed.
    pub tid: Option<u32>,
    /// Parent process id, when attributed.
    pub ppid: Option<u32>,
    /// Process name (`comm`, image name), when attributed.
    pub comm: Option<std::sync::Arc<str>>,
    /// Address space (CR3, PCID bits masked) of the caller.
    pub cr3: u64,
    /// The guest OS (`linux`, `windows`).
    pub os: Cow<'static, str>,
    /// ABI of the call: x86_64, i386, nt64, nt32.
    pub abi: Cow<'static, str>,
    /// The trap instruction (`syscall`, `sysenter`, `int80`, ...).
    pub mechanism: Cow<'static, str>,
    /// The service number.
    pub nr: u64,
    /// The call's name.
    pub name: Cow<'static, str>,
    /// The arguments, decoded as far as the OS layer could.
    pub args: Vec<ArgValue>,
    /// The return value (signed -errno on Linux, the NTSTATUS as an
    /// unsigned 32-bit value on Windows); absent without an exit.
    pub ret: Option<i64>,
    /// Decoded return value (e.g. `-1 ENOENT (No such file or directory)`).
    pub ret_text: Option<String>,
    /// The error's name (`ENOENT`, `STATUS_ACCESS_DENIED`) when it failed.
    pub errno: Option<String>,
    /// The return value's parts, typed: what `ret_text` renders beside
    /// the number (absent without an exit, with `-c`, and for a plain
    /// number).
    pub ret_value: Option<RetValue>,
    /// How the call ended.
    pub state: CallState,
    /// What vstrace changed (injections, rewrites, hook writes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modifications: Vec<Modification>,
    /// Data the hooks attached to the call.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub hook: serde_json::Map<String, serde_json::Value>,
    /// Path arguments the guest's memory held differently at the call's
    /// exit than at its entry (another thread rewrote the buffer while the
    /// call ran): which of the two the kernel read cannot be told from
    /// outside, so both are given (`args` has the entry's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<ArgChange>,
    /// The user instruction pointer after the trap instruction, when
    /// asked for (`-i`).
    #[serde(default)]
    pub ip: Option<u64>,
    /// What the call's hooks that failed said (a Python hook's exception,
    /// a Rust hook's error or panic); absent when every hook succeeded.
    /// The call was traced regardless.
    #[serde(default)]
    pub error: Option<String>,
    /// With `-y`: the descriptors among the arguments and the returned
    /// one, and what each names when the call was made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fds: Vec<FdPath>,
    /// With `--caller`: who made the call (user return address, module,
    /// offset, function).
    pub caller: Option<Caller>,
    /// With `-k`: the user stack at the call's enter, innermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack: Vec<vstrace_core::StackFrame>,
    /// With `-e read=`/`-e write=`: the data the call moved on those
    /// descriptors, printed as hex dumps after its line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub io: Vec<crate::dump::IoItem>,
    /// The kernel itself is 32-bit (not in long mode): its i386 calls are
    /// native, not of another personality, and text marks them not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kernel32: bool,
    /// `-c`/`-C` without `-w`: the system CPU time the calling thread
    /// used during the call, in nanoseconds, as the guest kernel accounts
    /// it (the column strace's table shows by default); absent when not
    /// asked for or not readable.
    pub cpu_ns: Option<u64>,
    /// A successful exec by a thread other than its process's leader:
    /// the thread id it returned with (the kernel gives the exec'ing
    /// thread the leader's id and ends the others). strace's `<pid changed
    /// to N ...>`, `+++ superseded by execve in pid M +++` and `<...
    /// execve resumed>` lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_tid: Option<u32>,
    /// A call that never returned because another thread of its process
    /// made a successful exec, which ends every other thread (the
    /// kernel's de_thread): that thread's id before the exec. The state
    /// is [`CallState::Unfinished`], with no return and no exit time.
    /// strace's `<... NAME resumed>) = ?` among the exec's lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by_exec: Option<u32>,
    /// A call that never returned because another thread of its process
    /// (this id) called exit_group, which ends every thread of the
    /// group in the kernel. The state is [`CallState::Unfinished`], with
    /// no return and no exit time. strace's `<... NAME resumed>) = ?`
    /// and the thread's `+++ exited with N +++` after the exit_group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by_exit: Option<u32>,
    /// With `ended_by_exit`: the group's exit status, which the thread's
    /// exit line shows. Text only.
    #[serde(skip)]
    pub exit_status: Option<i64>,
    /// With `ended_by_exec`: the first argument strace prints only at the
    /// exit ([`vstrace_core::OsLayer::first_exit_arg`]), which the call
    /// never reached: the text shows the arguments before it, then
    /// `<unfinished ...>`. Text only.
    #[serde(skip)]
    pub first_exit_arg: Option<usize>,
    /// On a successful exec's record: the records of the calls it ended
    /// in the process's other threads (each with `ended_by_exec`; they
    /// precede this one), whose ends strace prints between the exec's
    /// lines; on an exit_group's exit record (state
    /// [`CallState::Exited`]), those of the calls it ended (each with
    /// `ended_by_exit`), whose ends and threads' exits strace prints
    /// before the group's exit line. Text only: in JSON they are records
    /// of their own.
    #[serde(skip)]
    pub ended: Vec<Record>,
    /// Not a record: a call's entry, announced for text output as strace
    /// prints it when the call is made (`NAME(ARGS <unfinished ...>` if
    /// another thread prints before the call ends; see
    /// [`crate::sink`]). Never written itself.
    #[serde(skip)]
    pub entry_only: bool,
    /// Text only: the call's entry line was printed already (another
    /// thread printed while it ran), so its line is strace's `<...
    /// NAME resumed>` with the arguments left for the exit.
    #[serde(skip)]
    pub resumed: bool,
    /// Not shown: a fork or exec outside the `-e trace=` set (or `-P`),
    /// passed on only so that the process events and tree do not depend
    /// on the filter ([`crate::procs`]); the sink never prints it.
    #[serde(skip)]
    pub hidden: bool,
}

/// The typed parts of a return value (JSON: `ret_value`), so that a
/// consumer never parses `ret_text`: `-1 ENOENT (No such file or
/// directory)` is `{"error": "ENOENT", "message": "No such file or
/// directory"}`, `? ERESTARTSYS (...)` adds `"restart": true`, `3</etc/passwd>`
/// is `{"names": "/etc/passwd"}`, `0 (Timeout)` is `{"detail": "Timeout"}`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetValue {
    /// The error's name, when the call failed.
    pub error: Option<String>,
    /// The error's message (`No such file or directory`).
    pub message: Option<String>,
    /// A restart code (ERESTARTSYS..): the kernel restarts or converts
    /// the call; the program never sees this value.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restart: bool,
    /// Printed in hex (an address: mmap, brk).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hex: bool,
    /// What the returned descriptor or pid names (`-y`, `-Y`), without
    /// strace's angle brackets.
    pub names: Option<String>,
    /// strace's parenthesised decoration of the value (`Timeout`, a
    /// time, `out [4], left {...}`), without the parentheses.
    pub detail: Option<String>,
}

/// An argument that read differently at exit than at entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgChange {
    /// Its index in [`Record::args`] (0-based).
    pub arg: usize,
    /// Its text at exit.
    pub at_exit: String,
}

impl Record {
    /// strace-style text line (without the trailing newline), with the
    /// default options.
    pub fn to_text(&self, out: &mut String) {
        self.to_text_with(&Render::default(), &mut None, out)
    }

    /// strace-style text line with the output options of `how`; `last`
    /// is the previous line's time (for `-r`), updated.
    pub fn to_text_with(&self, how: &Render<'_>, last: &mut Option<u64>, out: &mut String) {
        use std::fmt::Write;
        // strace's -a column counts from the start of the line, pid and
        // timestamps included, in bytes (its curcol).
        let mut line_start = out.len();
        self.pid_prefix(self.tid.or(self.pid), how, out);
        if self.resumed && self.state == CallState::Complete {
            // strace stamps a `<... NAME resumed>` line at the return.
            how.opts.prefix(&self.at_exit(), last, out);
        } else {
            how.opts.prefix(self, last, out);
        }
        let align = |out: &mut String, line_start: usize| align(out, line_start, how);
        if self.state == CallState::Exited {
            if !self.ended.is_empty() && how.splits_lines() {
                // An exit_group's ends of the calls of the group's other
                // threads (`<... NAME resumed>) = ?` and their exits)
                // come first, as strace prints them.
                self.aftermath_first(line_start, how, last, out);
                self.pid_prefix(self.tid.or(self.pid), how, out);
                how.opts.prefix(self, last, out);
            }
            // A death by signal has no status, and strace's words
            // ("killed by SIGKILL") as its text.
            match (self.ret, &self.ret_text) {
                (None, Some(how)) => {
                    let _ = write!(out, "+++ {how} +++");
                }
                _ => {
                    let _ = write!(out, "+++ exited with {} +++", self.ret.unwrap_or(0));
                }
            }
            return;
        }
        if (self.abi == "i386" || self.abi == "nt32") && !self.kernel32 {
            // strace marks calls of another personality the same way.
            let _ = write!(out, "[{}] ", self.abi);
        }
        if self.state == CallState::Signal {
            let info = self.args.first().and_then(|a| a.text.as_deref());
            let _ = write!(out, "--- {} {} ---", self.name, info.unwrap_or("{}"));
            return;
        }
        if self.state == CallState::ChildReturn {
            // Aligned as strace aligns its `<... NAME resumed>` lines.
            let _ = write!(out, "<... {} resumed in child>", self.name);
            align(out, line_start);
            let _ = write!(out, "{}", self.ret.unwrap_or(0));
            return;
        }
        if self.entry_only {
            self.ended_text(false, how, line_start, last, out);
            return;
        }
        if self.state == CallState::Detached {
            self.detached_text(how, out);
            return;
        }
        if self.ended_by_something() && self.state == CallState::Unfinished {
            self.ended_text(!how.splits_lines(), how, line_start, last, out);
            return;
        }
        if self.resumed && self.state == CallState::Complete {
            line_start = self.resumed_head(line_start, how, last, out);
        } else {
            out.push_str(&self.name);
            out.push('(');
            self.write_args(self.args.len(), how, out);
            if self.state == CallState::Complete && !self.ended.is_empty() && how.splits_lines() {
                line_start = self.exec_ended_calls(how, last, out);
            } else if let (CallState::Complete, Some(new)) = (self.state, self.new_tid) {
                line_start = self.pid_changed(new, how, last, out);
            }
        }
        out.push(')');
        match self.state {
            CallState::Complete | CallState::ChildReturn => {
                align(out, line_start);
                match (&self.ret_text, self.ret) {
                    // strace -e raw=: the error number, or the value in hex.
                    (_, Some(r)) if how.raw && self.errno.is_some() => {
                        let _ = write!(out, "-1 (errno {})", r.unsigned_abs());
                    }
                    (_, Some(r)) if how.raw && r != 0 => {
                        let _ = write!(out, "{r:#x}");
                    }
                    (Some(t), _) if !how.raw => out.push_str(t),
                    _ => {
                        let _ = write!(out, "{}", self.ret.unwrap_or(0));
                    }
                }
            }
            CallState::NoReturn => {
                align(out, line_start);
                out.push('?');
            }
            CallState::Unfinished => out.push_str(" <unfinished ...>"),
            CallState::Signal | CallState::Exited | CallState::Detached => {}
        }
        // A skipped call whose return was set (`--inject`, a hook's
        // skip) reads as strace's injection: ` (INJECTED)`, the nr and
        // retval writes that did it left to the JSON record.
        let injected = self.modifications.iter().any(|m| m.target == "nr");
        // strace's marks for `poke_enter=`/`poke_exit=` and `delay_*=`.
        let poked = self.modifications.iter().any(crate::inject::is_poke);
        let delayed = self.modifications.iter().any(crate::inject::is_delay);
        match (injected, poked) {
            (true, true) => out.push_str(" (INJECTED: args, retval)"),
            (false, true) => out.push_str(" (INJECTED: args)"),
            (true, false) => out.push_str(" (INJECTED)"),
            (false, false) => {}
        }
        if delayed {
            out.push_str(" (DELAYED)");
        }
        for m in &self.modifications {
            if injected && matches!(m.target.as_str(), "nr" | "retval") {
                continue;
            }
            if crate::inject::is_poke(m)
                || crate::inject::is_delay(m)
                || crate::inject::is_signal(m)
            {
                continue;
            }
            match (&m.before_text, &m.after_text) {
                (Some(b), Some(a)) => {
                    let _ = write!(out, " (vstrace: {} {b} -> {a})", m.target);
                }
                _ => {
                    let _ = write!(
                        out,
                        " (vstrace: {} {:#x} -> {:#x} at {})",
                        m.target, m.before, m.after, m.location
                    );
                }
            }
        }
        if let Some(c) = &self.caller {
            caller_text(c, out);
        }
        if !self.hook.is_empty() {
            let _ = write!(
                out,
                " hook={}",
                serde_json::Value::Object(self.hook.clone())
            );
        }
        how.opts.duration(self, out);
        for f in &self.stack {
            out.push('\n');
            stack_text(f, out);
        }
    }
}

impl Record {
    /// The first `n` arguments, comma-separated, as text shows them.
    fn write_args(&self, n: usize, how: &Render<'_>, out: &mut String) {
        self.write_arg_range(0, n, how, out)
    }

    /// Arguments `from..to`, comma-separated, as text shows them.
    fn write_arg_range(&self, from: usize, to: usize, how: &Render<'_>, out: &mut String) {
        use std::fmt::Write;
        for (i, a) in self.args.iter().enumerate().take(to).skip(from) {
            if i > from {
                out.push_str(", ");
            }
            match &a.text {
                Some(v) if !how.raw => out.push_str(v),
                _ if a.raw == 0 && how.raw => out.push('0'),
                _ => {
                    let _ = write!(out, "{:#x}", a.raw);
                }
            }
            if let Some(c) = self.changed.iter().find(|c| c.arg == i) {
                let _ = write!(out, " /* changed during the call: {} at exit */", c.at_exit);
            }
        }
    }

    /// strace's `[pid N] ` (`-Y`: `[pid N<comm>] `), unless the line goes
    /// to the process's own file.
    pub(crate) fn pid_prefix(&self, tid: Option<u32>, how: &Render<'_>, out: &mut String) {
        match tid {
            Some(pid) if !how.own_file => {
                out.push_str("[pid ");
                vstrace_core::decimal::push_u64_right(out, pid.into(), 5);
                // -Y: strace's `[pid  1234<comm>] `.
                if let (true, Some(c)) = (how.opts.pid_comm, &self.comm) {
                    vstrace_core::value::comm_in_angle_brackets(c, out);
                }
                out.push_str("] ");
            }
            _ => {}
        }
    }

    /// An exec by a non-leader thread that returned as thread `new` (see
    /// [`Record::new_tid`]), as strace tells it: the call's line ends
    /// with `<pid changed to NEW ...>`, the leader's `+++ superseded by
    /// execve in pid OLD +++` follows (unless `--quiet=thread-execve`),
    /// and the call resumes under the new id. Returns where the resumed
    /// line starts (its `= ` column counts from there).
    fn pid_changed(
        &self,
        new: u32,
        how: &Render<'_>,
        last: &mut Option<u64>,
        out: &mut String,
    ) -> usize {
        use std::fmt::Write;
        let _ = write!(out, " <pid changed to {new} ...>");
        // The later lines are stamped at the return.
        let at_exit = self.at_exit();
        self.superseded(new, how, last, out);
        out.push('\n');
        let start = out.len();
        self.pid_prefix(Some(new), how, out);
        how.opts.prefix(&at_exit, last, out);
        let _ = write!(out, "<... {} resumed>", self.name);
        start
    }
}

/// One `-k` frame in strace's form: ` > /lib/x86_64-linux-gnu/libc.so.6(getppid+0x7) [0xd54f7]`
/// (module, function and offset in it, offset in the file), ` > PATH()
/// [0xoff]` without a function, and strace's line for a frame outside
/// any executable file (where strace's stack ends).
pub fn stack_text(f: &vstrace_core::StackFrame, out: &mut String) {
    use std::fmt::Write;
    match (&f.module, &f.symbol) {
        (Some(m), Some(s)) => {
            let _ = write!(out, " > {m}({s}) [{:#x}]", f.file_offset.unwrap_or(0));
        }
        (Some(m), None) => {
            let _ = write!(out, " > {m}() [{:#x}]", f.file_offset.unwrap_or(0));
        }
        (None, _) => {
            let _ = write!(out, " > unexpected_backtracing_error [{:#x}]", f.ip);
        }
    }
}

/// The widest `-a` column honoured.
pub const MAX_COLUMN: usize = 4096;

/// strace's tabto() before a result: ") " written by the caller up to the
/// `)`, then a space, spaces up to the `-a` column counted from
/// `line_start`, then "= ".
fn align(out: &mut String, line_start: usize, how: &Render<'_>) {
    out.push(' ');
    let col = out.len() - line_start;
    // Bounded: a trace file's configuration is hostile input.
    for _ in col..how.opts.column.min(MAX_COLUMN) {
        out.push(' ');
    }
    out.push_str("= ");
}

/// How a record becomes text: the output options, and whether this
/// record's call is in `-e raw=`.
#[derive(Debug, Clone, Copy)]
pub struct Render<'a> {
    /// The output options.
    pub opts: &'a OutputOptions,
    /// Arguments and return value undecoded, in hex (`-e raw=`).
    pub raw: bool,
    /// The line goes to its process's own file (`-ff`): no `[pid N]`.
    pub own_file: bool,
}

static DEFAULT_OPTIONS: std::sync::LazyLock<OutputOptions> =
    std::sync::LazyLock::new(OutputOptions::default);

impl Default for Render<'static> {
    fn default() -> Self {
        Render {
            opts: &DEFAULT_OPTIONS,
            raw: false,
            own_file: false,
        }
    }
}

/// `--caller` in text: ` /* caller libc.so.6(write+0x14) [0x114887] */`
/// (strace `-k`'s frame form; the module's file name, the function
/// when known, the offset from the module's base).
pub fn caller_text(c: &Caller, out: &mut String) {
    use std::fmt::Write;
    out.push_str(" /* caller ");
    match &c.module {
        // The file name: after the last `/`, or `\` in a Windows path.
        Some(m) if !m.contains('/') => out.push_str(m.rsplit('\\').next().unwrap_or(m)),
        Some(m) => out.push_str(m.rsplit('/').next().unwrap_or(m)),
        None => out.push('?'),
    }
    if let Some(s) = &c.symbol {
        let _ = write!(out, "({s})");
    }
    match c.offset {
        Some(o) => {
            let _ = write!(out, " [{o:#x}] */");
        }
        None => {
            let _ = write!(out, " [{:#x}] */", c.ip);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An argument shown as `text` (raw 1), for synthetic records.
    pub(crate) fn text_arg(text: &str) -> ArgValue {
        ArgValue {
            name: "a".into(),
            raw: 1,
            text: Some(text.into()),
            value: None,
        }
    }

    /// `r`'s text line(s) with `opts`, in a shared log or (`own_file`)
    /// its process's own file.
    pub(crate) fn render(r: &Record, opts: &OutputOptions, own_file: bool) -> String {
        let how = Render {
            opts,
            raw: false,
            own_file,
        };
        let mut s = String::new();
        r.to_text_with(&how, &mut None, &mut s);
        s
    }

    fn rec() -> Record {
        Record {
            ts_enter_ns: 1,
            ts_exit_ns: Some(2),
            pid: Some(42),
            tid: Some(42),
            comm: Some("cat".into()),
            cr3: 0x1000,
            os: "linux".into(),
            abi: "x86_64".into(),
            mechanism: "syscall".into(),
            nr: 257,
            name: "openat".into(),
            args: vec![
                ArgValue::with_text("dfd", (-100i64) as u64, Some("AT_FDCWD".into())),
                ArgValue::with_text("filename", 0x1234, Some("\"/x\"".into())),
            ],
            ret: Some(-2),
            ret_text: Some("-1 ENOENT (No such file or directory)".into()),
            errno: Some("ENOENT".into()),
            ..Default::default()
        }
    }

    #[test]
    fn text_is_strace_like() {
        let mut s = String::new();
        rec().to_text(&mut s);
        assert_eq!(
            s,
            "[pid    42] openat(AT_FDCWD, \"/x\")      = -1 ENOENT (No such file or directory)"
        );
    }

    /// A thread's exec that returned as its leader: three lines, as
    /// strace prints them, the superseded one left out by
    /// `--quiet=thread-execve`, the `= ` column counted on the last line.
    #[test]
    fn exec_by_a_thread_changes_its_pid() {
        let mut r = rec();
        r.tid = Some(43);
        r.name = "execveat".into();
        r.nr = 322;
        r.args.truncate(1);
        r.ret = Some(0);
        r.ret_text = Some("0".into());
        r.errno = None;
        r.new_tid = Some(42);
        let text = |opts: &OutputOptions| {
            let how = Render {
                opts,
                raw: false,
                own_file: false,
            };
            let mut s = String::new();
            r.to_text_with(&how, &mut None, &mut s);
            s
        };
        let d = OutputOptions::default();
        assert_eq!(
            text(&d),
            "[pid    43] execveat(AT_FDCWD <pid changed to 42 ...>\n\
             [pid    42] +++ superseded by execve in pid 43 +++\n\
             [pid    42] <... execveat resumed>)     = 0"
        );
        let quiet = OutputOptions {
            quiet: crate::output::quiet::THREAD_EXECVE,
            ..OutputOptions::default()
        };
        assert_eq!(
            text(&quiet),
            "[pid    43] execveat(AT_FDCWD <pid changed to 42 ...>\n\
             [pid    42] <... execveat resumed>)     = 0"
        );
    }

    /// strace's tabto(): the column counts the whole line (pid prefix and
    /// timestamps included); a line past it gets one space; unfinished
    /// calls, signals and exits are not padded; -a 0 pads nothing.
    #[test]
    fn alignment_is_straces() {
        let text = |opts: &OutputOptions, own_file: bool, r: &Record| render(r, opts, own_file);
        let d = OutputOptions::default();
        let mut r = rec();
        r.args.truncate(1);
        r.ret = Some(3);
        r.ret_text = None;
        r.errno = None;
        // "openat(AT_FDCWD) " is 17 bytes: 23 spaces to column 40.
        assert_eq!(text(&d, true, &r).find('='), Some(40));
        assert_eq!(text(&d, false, &r).find("= 3"), Some(40));
        let stamped = OutputOptions {
            timestamps: Some(crate::output::Timestamps {
                unix: true,
                digits: 6,
            }),
            ..Default::default()
        };
        // "1.000000 " counts too.
        assert_eq!(text(&stamped, true, &r).find('='), Some(40));
        let long = "x".repeat(60);
        r.args[0].text = Some(long.clone());
        assert!(text(&d, true, &r).ends_with(&format!("({long}) = 3")));
        let none = OutputOptions {
            column: 0,
            ..Default::default()
        };
        assert_eq!(
            text(&none, true, &rec()),
            "openat(AT_FDCWD, \"/x\") = -1 ENOENT (No such file or directory)"
        );
        r.args[0].text = Some("AT_FDCWD".into());
        r.state = CallState::Unfinished;
        assert_eq!(text(&d, true, &r), "openat(AT_FDCWD) <unfinished ...>");
        // strace's detach: the entry, its line left open, and the mark.
        r.state = CallState::Detached;
        assert_eq!(text(&d, true, &r), "openat(AT_FDCWD <detached ...>");
        r.first_exit_arg = Some(1);
        assert_eq!(text(&d, true, &r), "openat(AT_FDCWD,  <detached ...>");
        r.first_exit_arg = None;
        let only = |bits| OutputOptions {
            status: Some(bits),
            ..Default::default()
        };
        assert!(only(crate::output::status::DETACHED).status_shows(&r));
        assert!(!only(crate::output::status::UNFINISHED).status_shows(&r));
        r.state = CallState::NoReturn;
        assert_eq!(text(&d, true, &r).find("= ?"), Some(40));
        r.state = CallState::ChildReturn;
        r.ret = Some(0);
        let child = text(&d, true, &r);
        assert_eq!(
            (child.find("= 0"), child.trim_end_matches("= 0").trim_end()),
            (Some(40), "<... openat resumed in child>")
        );
        r.state = CallState::Exited;
        assert_eq!(text(&d, true, &r), "+++ exited with 0 +++");
    }

    #[test]
    fn json_round_trips() {
        let mut r = rec();
        let j = serde_json::to_string(&r).unwrap();
        assert!(
            j.contains(r#""text":"\"/x\"","value":{"text":"\"/x\""}"#),
            "{j}"
        );
        let back: Record = serde_json::from_str(&j).unwrap();
        // The typed values are written, not read back: the text is.
        for a in &mut r.args {
            a.value = None;
        }
        assert_eq!(r, back);
    }

    #[test]
    fn raw_ip_and_i386() {
        let opts = OutputOptions {
            instruction_pointer: true,
            ..Default::default()
        };
        let how = Render {
            opts: &opts,
            raw: true,
            own_file: false,
        };
        let mut r = rec();
        r.ip = Some(0x401000);
        let mut s = String::new();
        r.to_text_with(&how, &mut None, &mut s);
        assert_eq!(
            s,
            "[pid    42] [0000000000401000] openat(0xffffffffffffff9c, 0x1234) = -1 (errno 2)"
        );
        r.abi = "i386".into();
        r.ip = None;
        r.ret = Some(3);
        r.errno = None;
        s.clear();
        r.to_text_with(&how, &mut None, &mut s);
        assert_eq!(
            s,
            "[pid    42] [????????] [i386] openat(0xffffffffffffff9c, 0x1234) = 0x3"
        );
    }

    #[test]
    fn alignment_is_bounded() {
        let opts = OutputOptions {
            column: usize::MAX,
            ..Default::default()
        };
        let how = Render {
            opts: &opts,
            raw: false,
            own_file: true,
        };
        let mut s = String::new();
        rec().to_text_with(&how, &mut None, &mut s);
        assert_eq!(s.find('='), Some(MAX_COLUMN));
    }

    #[test]
    fn unfinished_and_noreturn() {
        let mut r = rec();
        r.state = CallState::Unfinished;
        let mut s = String::new();
        r.to_text(&mut s);
        assert!(s.ends_with("<unfinished ...>"), "{s}");
        r.state = CallState::NoReturn;
        s.clear();
        r.to_text(&mut s);
        assert!(s.ends_with(" = ?"), "{s}");
    }

    #[test]
    fn stack_lines_follow_the_call_as_strace_k_prints_them() {
        let mut r = rec();
        let f = |module: Option<&str>, symbol: Option<&str>| vstrace_core::StackFrame {
            ip: 0x7f00_0000_1007,
            module: module.map(Into::into),
            offset: Some(0x1007),
            symbol: symbol.map(Into::into),
            file_offset: Some(0x2007),
        };
        r.stack = vec![
            f(Some("/lib/libc.so.6"), Some("getppid+0x7")),
            f(Some("/bin/dash"), None),
            f(None, None),
        ];
        let mut s = String::new();
        r.to_text(&mut s);
        assert_eq!(
            s.lines().skip(1).collect::<Vec<_>>(),
            [
                " > /lib/libc.so.6(getppid+0x7) [0x2007]",
                " > /bin/dash() [0x2007]",
                " > unexpected_backtracing_error [0x7f0000001007]"
            ]
        );
        let j = serde_json::to_string(&r).unwrap();
        assert!(j.contains(r#""stack":[{"ip":139637976731655,"module":"/lib/libc.so.6","offset":4103,"symbol":"getppid+0x7","file_offset":8199}"#), "{j}");
        // Typed values are not read back from JSON (text only).
        for a in &mut r.args {
            a.value = None;
        }
        assert_eq!(serde_json::from_str::<Record>(&j).unwrap(), r);
        // Without a stack, no key.
        assert!(!serde_json::to_string(&rec()).unwrap().contains("stack"));
    }
}
