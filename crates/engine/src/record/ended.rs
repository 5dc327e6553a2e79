//! The calls a successful exec or an exit_group ended in its process's
//! other threads (see [`Record::ended_by_exec`], [`Record::ended_by_exit`])
//! and the exec's own lines around them, as
//! strace prints them: in a shared log a call that other lines interrupt
//! is split into `NAME(ARGS <unfinished ...>` and `<... NAME resumed>) =
//! ?`, the latter between the exec's lines; where strace stages each
//! call's output and prints it whole (`-e status=`, `-ff`), the call is one
//! line, `NAME(ARGS) = ?`.

use std::fmt::Write;

use super::{align, Record, Render};
use crate::output::{quiet, status};

impl Render<'_> {
    /// Whether a call that other lines interrupt is split into its
    /// `<unfinished ...>` and `<... resumed>` lines, as strace does in a
    /// shared log. With `-e status=` strace stages each call's output and
    /// prints it whole, and a `-ff` file has no other thread's lines.
    pub fn splits_lines(&self) -> bool {
        !self.own_file && self.opts.status.is_none_or(|s| s == status::ALL)
    }
}

impl Record {
    /// Whether the call never returned because another thread's exec
    /// or exit_group ended its thread ([`Record::ended_by_exec`],
    /// [`Record::ended_by_exit`]).
    pub fn ended_by_something(&self) -> bool {
        self.ended_by_exec.is_some() || self.ended_by_exit.is_some()
    }

    /// The record's stamp at its return (at its enter without one), for
    /// the lines written there.
    pub(super) fn at_exit(&self) -> Record {
        Record {
            ts_enter_ns: self.ts_exit_ns.unwrap_or(self.ts_enter_ns),
            nr: self.nr,
            abi: self.abi.clone(),
            ip: self.ip,
            state: self.state,
            ..Record::default()
        }
    }

    /// The arguments strace printed at the call's entry: all of them, or
    /// those before the first one it prints at the exit, then the
    /// separator it had already written (`nanosleep({...}, `). Returns
    /// whether the call had arguments left for its exit.
    fn entry_args(&self, how: &Render<'_>, out: &mut String) -> bool {
        match self.first_exit_arg {
            Some(k) => {
                self.write_args(k, how, out);
                if k > 0 {
                    out.push_str(", ");
                }
                true
            }
            None => {
                self.write_args(self.args.len(), how, out);
                false
            }
        }
    }

    /// The text of a call an exec ended, after its line's prefix: its
    /// entry, `NAME(ARGS <unfinished ...>`, when lines are split (its end
    /// is among the exec's lines, [`Record::exec_ended_calls`]); else the
    /// whole call as strace's staged output shows it, `NAME(ARGS) = ?`
    /// (`NAME(ARGS,  <unfinished ...>) = ?` when arguments were left for
    /// the exit), and the thread's exit.
    pub(super) fn ended_text(
        &self,
        whole: bool,
        how: &Render<'_>,
        line_start: usize,
        last: &mut Option<u64>,
        out: &mut String,
    ) {
        out.push_str(&self.name);
        out.push('(');
        let exit_part = self.entry_args(how, out);
        if !whole {
            out.push_str(" <unfinished ...>");
            return;
        }
        if exit_part {
            out.push_str(" <unfinished ...>");
        }
        out.push(')');
        align(out, line_start, how);
        out.push('?');
        self.thread_exited(self.ts_enter_ns, how, last, out);
    }

    /// The text of a call the tracer detached from, after its line's
    /// prefix: its entry, and strace's mark, `NAME(ARGS <detached ...>`
    /// (`NAME(ARGS,  <detached ...>` when arguments were left for the
    /// exit).
    pub(super) fn detached_text(&self, how: &Render<'_>, out: &mut String) {
        out.push_str(&self.name);
        out.push('(');
        self.entry_args(how, out);
        out.push_str(" <detached ...>");
    }

    /// The whole line of a call an exec ended (`NAME(ARGS) = ?`, see
    /// [`Record::ended_by_exec`]) even where lines are split: strace
    /// continues the call's own line when nothing else was printed since
    /// its entry.
    pub fn ended_whole_text(&self, how: &Render<'_>, last: &mut Option<u64>, out: &mut String) {
        let line_start = out.len();
        self.pid_prefix(self.tid.or(self.pid), how, out);
        how.opts.prefix(self, last, out);
        if (self.abi == "i386" || self.abi == "nt32") && !self.kernel32 {
            let _ = write!(out, "[{}] ", self.abi);
        }
        self.ended_text(true, how, line_start, last, out);
    }

    /// The head of a call's line whose entry was printed already (see
    /// [`Record::resumed`]): `<... NAME resumed>` and the arguments left
    /// for the exit. An exec's starts with the ends of the calls it ended
    /// and the superseded leader's line, and resumes under the id it
    /// returned with (strace: its line was ended, so no `<pid changed to
    /// N ...>`). Returns where the resumed line starts.
    pub(super) fn resumed_head(
        &self,
        line_start: usize,
        how: &Render<'_>,
        last: &mut Option<u64>,
        out: &mut String,
    ) -> usize {
        if self.new_tid.is_some() || !self.ended.is_empty() {
            let start = self.aftermath_first(line_start, how, last, out);
            self.pid_prefix(self.new_tid.or(self.tid).or(self.pid), how, out);
            how.opts.prefix(&self.at_exit(), last, out);
            if (self.abi == "i386" || self.abi == "nt32") && !self.kernel32 {
                let _ = write!(out, "[{}] ", self.abi);
            }
            let _ = write!(out, "<... {} resumed>", self.name);
            return start;
        }
        let _ = write!(out, "<... {} resumed>", self.name);
        if let Some(k) = self.first_exit_arg {
            self.write_arg_range(k, self.args.len(), how, out);
        }
        line_start
    }

    /// Puts the aftermath's lines ([`Record::exec_aftermath`]), each
    /// ended, where the line begun at `line_start` was; returns where the
    /// record's own line starts again.
    pub(super) fn aftermath_first(
        &self,
        line_start: usize,
        how: &Render<'_>,
        last: &mut Option<u64>,
        out: &mut String,
    ) -> usize {
        out.truncate(line_start);
        let mut s = String::new();
        self.exec_aftermath(how, last, &mut s);
        if !s.is_empty() {
            out.push_str(&s);
            out.push('\n');
        }
        out.len()
    }

    /// The exec's lines when it ended calls of other threads and lines
    /// are split: its own line left `<unfinished ...>`, each ended call's
    /// `<... NAME resumed>) = ?`, the superseded leader's line (an exec by
    /// a thread other than the leader), and the exec's `<... NAME
    /// resumed>` under the id it returned with. Returns where that last
    /// line starts (its `= ` column counts from there).
    pub(super) fn exec_ended_calls(
        &self,
        how: &Render<'_>,
        last: &mut Option<u64>,
        out: &mut String,
    ) -> usize {
        out.push_str(" <unfinished ...>");
        let at_exit = self.at_exit();
        for e in &self.ended {
            out.push('\n');
            e.resumed_end(at_exit.ts_enter_ns, how, last, out);
        }
        if let Some(new) = self.new_tid {
            self.superseded(new, how, last, out);
        }
        out.push('\n');
        let start = out.len();
        self.pid_prefix(self.new_tid.or(self.tid).or(self.pid), how, out);
        how.opts.prefix(&at_exit, last, out);
        if (self.abi == "i386" || self.abi == "nt32") && !self.kernel32 {
            let _ = write!(out, "[{}] ", self.abi);
        }
        let _ = write!(out, "<... {} resumed>", self.name);
        start
    }

    /// An ended call's last line, stamped `ts`: `<... NAME resumed>) =
    /// ?` (`<... NAME resumed> <unfinished ...>) = ?` when arguments were
    /// left for the exit), and its thread's exit.
    fn resumed_end(&self, ts: u64, how: &Render<'_>, last: &mut Option<u64>, out: &mut String) {
        let start = out.len();
        self.pid_prefix(self.tid.or(self.pid), how, out);
        let mut at = self.at_exit();
        at.ts_enter_ns = ts;
        how.opts.prefix(&at, last, out);
        if (self.abi == "i386" || self.abi == "nt32") && !self.kernel32 {
            let _ = write!(out, "[{}] ", self.abi);
        }
        let _ = write!(out, "<... {} resumed>", self.name);
        if self.first_exit_arg.is_some() {
            out.push_str(" <unfinished ...>");
        }
        out.push(')');
        align(out, start, how);
        out.push('?');
        self.thread_exited(ts, how, last, out);
    }

    /// A new line with `+++ exited with N +++` of the ended call's
    /// thread when it is not its process's leader (unless `-qq`): the
    /// exec's end of the other threads is a group exit with status 0, an
    /// exit_group's has the group's status. The leader is not reported:
    /// the exec'ing thread takes its id; the exit_group's own exit line
    /// is the process's.
    fn thread_exited(&self, ts: u64, how: &Render<'_>, last: &mut Option<u64>, out: &mut String) {
        let (Some(tid), Some(pid)) = (self.tid, self.pid) else {
            return;
        };
        if tid == pid || how.opts.quiet & quiet::EXIT != 0 {
            return;
        }
        out.push('\n');
        self.pid_prefix(Some(tid), how, out);
        let mut at = self.at_exit();
        at.ts_enter_ns = ts;
        how.opts.prefix(&at, last, out);
        let _ = write!(out, "+++ exited with {} +++", self.exit_status.unwrap_or(0));
    }

    /// A new line with the leader's `+++ superseded by execve in pid OLD
    /// +++` under id `new`, unless `--quiet=thread-execve`.
    pub(super) fn superseded(
        &self,
        new: u32,
        how: &Render<'_>,
        last: &mut Option<u64>,
        out: &mut String,
    ) {
        if how.opts.quiet & quiet::THREAD_EXECVE != 0 {
            return;
        }
        let old = self.tid.or(self.pid).unwrap_or(0);
        out.push('\n');
        self.pid_prefix(Some(new), how, out);
        how.opts.prefix(&self.at_exit(), last, out);
        let _ = write!(out, "+++ superseded by execve in pid {old} +++");
    }

    /// What a successful exec's record shows beyond its own call, for
    /// when the record itself is not printed (`-e trace=` or `-e status=`
    /// leaves it out): the ends of the calls it ended when lines are
    /// split, and the superseded leader's line; strace prints these
    /// whatever those filters say. Empty when there are none. The same
    /// for an exit_group's exit record (`-qq`): the ends of the calls it
    /// ended.
    pub fn exec_aftermath(&self, how: &Render<'_>, last: &mut Option<u64>, out: &mut String) {
        let mut s = String::new();
        if how.splits_lines() {
            let ts = self.at_exit().ts_enter_ns;
            for e in &self.ended {
                s.push('\n');
                e.resumed_end(ts, how, last, &mut s);
            }
        }
        if let Some(new) = self.new_tid {
            self.superseded(new, how, last, &mut s);
        }
        out.push_str(s.strip_prefix('\n').unwrap_or(&s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::OutputOptions;
    use crate::record::tests::{render as text, text_arg as arg};
    use crate::record::CallState;

    /// The leader's nanosleep (its remaining time printed at the exit)
    /// that thread 43's exec ended.
    fn sleep(tid: u32) -> Record {
        Record {
            pid: Some(42),
            tid: Some(tid),
            abi: "x86_64".into(),
            name: "nanosleep".into(),
            args: vec![arg("{tv_sec=123, tv_nsec=0}"), arg("NULL")],
            state: CallState::Unfinished,
            ended_by_exec: Some(43),
            first_exit_arg: Some(1),
            ..Record::default()
        }
    }

    fn exec(ended: Vec<Record>) -> Record {
        Record {
            pid: Some(42),
            tid: Some(43),
            abi: "x86_64".into(),
            name: "execve".into(),
            args: vec![arg("\"/bin/x\"")],
            ret: Some(0),
            ret_text: Some("0".into()),
            new_tid: Some(42),
            ended,
            ..Record::default()
        }
    }

    fn opts(column: usize, quiet: u8, status: Option<u8>) -> OutputOptions {
        OutputOptions {
            column,
            quiet,
            status,
            ..OutputOptions::default()
        }
    }

    /// In a shared log: the ended call's entry, then the exec's lines
    /// with the call's end between them, as strace prints them.
    #[test]
    fn split_in_a_shared_log() {
        let d = opts(21, 0, None);
        let s = sleep(42);
        assert_eq!(
            text(&s, &d, false),
            "[pid    42] nanosleep({tv_sec=123, tv_nsec=0},  <unfinished ...>"
        );
        let mut sig = s.clone();
        sig.name = "rt_sigsuspend".into();
        sig.args = vec![arg("[]"), arg("8")];
        sig.first_exit_arg = None;
        assert_eq!(
            text(&sig, &d, false),
            "[pid    42] rt_sigsuspend([], 8 <unfinished ...>"
        );
        assert_eq!(
            text(&exec(vec![s.clone()]), &d, false),
            "[pid    43] execve(\"/bin/x\" <unfinished ...>\n\
             [pid    42] <... nanosleep resumed> <unfinished ...>) = ?\n\
             [pid    42] +++ superseded by execve in pid 43 +++\n\
             [pid    42] <... execve resumed>) = 0"
        );
        // --quiet=thread-execve; an rt_sigsuspend had nothing left.
        let q = opts(21, quiet::THREAD_EXECVE, Some(status::ALL));
        assert_eq!(
            text(&exec(vec![sig]), &q, false),
            "[pid    43] execve(\"/bin/x\" <unfinished ...>\n\
             [pid    42] <... rt_sigsuspend resumed>) = ?\n\
             [pid    42] <... execve resumed>) = 0"
        );
        // Another thread than the leader exits too (unless -qq).
        let other = sleep(44);
        let mut e = exec(vec![other.clone()]);
        e.new_tid = None;
        e.tid = Some(42);
        assert_eq!(
            text(&e, &opts(0, 0, None), false),
            "[pid    42] execve(\"/bin/x\" <unfinished ...>\n\
             [pid    44] <... nanosleep resumed> <unfinished ...>) = ?\n\
             [pid    44] +++ exited with 0 +++\n\
             [pid    42] <... execve resumed>) = 0"
        );
        assert!(!text(&e, &opts(0, quiet::EXIT, None), false).contains("exited"));
    }

    /// With `-e status=` (and in `-ff` files) strace prints each call
    /// whole: the ended call is one line, the exec keeps its `<pid
    /// changed to N ...>` form.
    #[test]
    fn whole_when_staged() {
        let st = opts(14, 0, Some(status::UNFINISHED));
        let s = sleep(42);
        assert_eq!(
            text(&s, &st, false),
            "[pid    42] nanosleep({tv_sec=123, tv_nsec=0},  <unfinished ...>) = ?"
        );
        let mut sig = s.clone();
        sig.first_exit_arg = None;
        sig.args.truncate(1);
        assert_eq!(
            text(&sig, &st, true),
            "nanosleep({tv_sec=123, tv_nsec=0}) = ?"
        );
        assert_eq!(
            text(&exec(vec![s]), &st, false),
            "[pid    43] execve(\"/bin/x\" <pid changed to 42 ...>\n\
             [pid    42] +++ superseded by execve in pid 43 +++\n\
             [pid    42] <... execve resumed>) = 0"
        );
        assert_eq!(
            text(&sleep(44), &st, false),
            "[pid    44] nanosleep({tv_sec=123, tv_nsec=0},  <unfinished ...>) = ?\n\
             [pid    44] +++ exited with 0 +++"
        );
    }

    /// An exec whose own line is not printed still shows what strace
    /// prints whatever the filters: the ended calls' ends (split lines
    /// only) and the superseded leader.
    #[test]
    fn aftermath_without_the_exec_line() {
        let after = |o: &OutputOptions, r: &Record| {
            let how = Render {
                opts: o,
                raw: false,
                own_file: false,
            };
            let mut s = String::new();
            r.exec_aftermath(&how, &mut None, &mut s);
            s
        };
        let e = exec(vec![sleep(42)]);
        assert_eq!(
            after(&opts(0, 0, None), &e),
            "[pid    42] <... nanosleep resumed> <unfinished ...>) = ?\n\
             [pid    42] +++ superseded by execve in pid 43 +++"
        );
        assert_eq!(
            after(&opts(0, 0, Some(0)), &e),
            "[pid    42] +++ superseded by execve in pid 43 +++"
        );
        assert_eq!(after(&opts(0, quiet::THREAD_EXECVE, Some(0)), &e), "");
        let mut plain = exec(Vec::new());
        plain.new_tid = None;
        assert_eq!(after(&opts(0, 0, None), &plain), "");
    }

    /// A call an exit_group of thread 42 (status 3) ended in thread 44:
    /// in a shared log its end and the thread's exit come before the
    /// group's exit line, as strace prints them; staged (`-e status=`,
    /// `-ff`), the call is one line with its thread's exit.
    #[test]
    fn ended_by_an_exit_group() {
        let mut read = sleep(44);
        read.ended_by_exec = None;
        read.ended_by_exit = Some(42);
        read.exit_status = Some(3);
        let exit = Record {
            pid: Some(42),
            tid: Some(42),
            abi: "x86_64".into(),
            name: "exit_group".into(),
            ret: Some(3),
            state: CallState::Exited,
            ended: vec![read.clone()],
            ..Record::default()
        };
        let d = opts(0, 0, None);
        assert_eq!(
            text(&exit, &d, false),
            "[pid    44] <... nanosleep resumed> <unfinished ...>) = ?\n\
             [pid    44] +++ exited with 3 +++\n\
             [pid    42] +++ exited with 3 +++"
        );
        assert_eq!(
            text(&read, &opts(0, 0, Some(status::UNFINISHED)), false),
            "[pid    44] nanosleep({tv_sec=123, tv_nsec=0},  <unfinished ...>) = ?\n\
             [pid    44] +++ exited with 3 +++"
        );
        // Staged: the group's exit line alone.
        assert_eq!(
            text(&exit, &opts(0, 0, Some(status::UNFINISHED)), false),
            "[pid    42] +++ exited with 3 +++"
        );
    }
}
