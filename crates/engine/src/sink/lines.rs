//! strace's split lines in a shared text log: strace prints a call's
//! entry when the call is made and its result when it returns; when
//! another thread prints in between, the entry's line is ended with
//! `<unfinished ...>` and the call's end comes later as `<... NAME
//! resumed>`. The tracker announces each shown call's entry (a record
//! with [`Record::entry_only`]); the sink keeps the last one as the open
//! line, prints it when another thread's line comes first, and marks the
//! call's record [`Record::resumed`] then.

use vstrace_core::fasthash::FastSet;

use crate::record::{CallState, Record};

/// The state of the shared log's lines.
#[derive(Default)]
pub(super) struct Lines {
    /// The entry whose line strace would have open: printed only if
    /// another thread prints before its call ends.
    open: Option<Record>,
    /// Threads whose call in flight had its entry printed (looked up
    /// twice per shown call: the fast hash, never iterated).
    printed: FastSet<Option<u32>>,
    /// Threads whose call an exec ended and which was printed whole (its
    /// line was still open): no end of theirs among the exec's lines.
    whole: FastSet<Option<u32>>,
}

/// What the sink does with a record after [`Lines::next`].
pub(super) enum Next {
    /// Write it as usual (it may have been marked resumed).
    Write,
    /// Nothing more: an announcement, or an ended call whose end is among
    /// its exec's lines.
    Done,
    /// An ended call that continues its own open line: written whole.
    Whole,
}

impl Lines {
    /// Takes `rec` (one the sink prints, `shown`, or not) in output order;
    /// `emit` writes an interrupted entry's line (before `rec`'s own).
    pub(super) fn next(
        &mut self,
        rec: &mut Record,
        shown: bool,
        emit: &mut dyn FnMut(&Record),
    ) -> Next {
        let t = rec.tid.or(rec.pid);
        if rec.entry_only {
            self.interrupt(t, emit);
            self.printed.remove(&t);
            self.open = Some(std::mem::take(rec));
            return Next::Done;
        }
        let exec_lines = rec.new_tid.is_some() || !rec.ended.is_empty();
        if exec_lines && !self.whole.is_empty() {
            let whole = &mut self.whole;
            rec.ended.retain(|e| !whole.remove(&e.tid.or(e.pid)));
        }
        if !shown {
            // An exec's lines that are printed whatever the filters.
            if exec_lines {
                self.interrupt(t, emit);
            }
            return Next::Write;
        }
        if rec.ended_by_something() && rec.state == CallState::Unfinished {
            if self.open.as_ref().is_some_and(|o| o.tid.or(o.pid) == t) {
                self.open = None;
                self.whole.insert(t);
                return Next::Whole;
            }
            self.interrupt(t, emit);
            if self.printed.remove(&t) {
                return Next::Done;
            }
            return Next::Write;
        }
        if rec.state == CallState::Detached && self.printed.remove(&t) {
            // Its entry's line was ended `<unfinished ...>` already:
            // strace marks only a line still open at the detach, and
            // prints nothing that would end another.
            return Next::Done;
        }
        if self.open.as_ref().is_some_and(|o| o.tid.or(o.pid) == t) {
            self.open = None;
        } else {
            self.interrupt(t, emit);
        }
        // (Nearly always empty: one thread, or no line interrupted.)
        if rec.state == CallState::Complete && !self.printed.is_empty() && self.printed.remove(&t) {
            rec.resumed = true;
        }
        Next::Write
    }

    /// Another thread than `t` prints: the open line, if any, ends
    /// `<unfinished ...>`.
    fn interrupt(&mut self, t: Option<u32>, emit: &mut dyn FnMut(&Record)) {
        if self.open.as_ref().is_some_and(|o| o.tid.or(o.pid) != t) {
            if let Some(o) = self.open.take() {
                emit(&o);
                self.printed.insert(o.tid.or(o.pid));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::output::{status, OutputOptions};
    use crate::record::tests::text_arg as arg;
    use crate::record::{CallState, Record};
    use crate::sink::{Format, Sink};

    /// Call `name(args)` of thread `tid` (process 42) returning `ret`.
    fn call(
        tid: u32,
        name: &str,
        args: &[&str],
        ret: Option<i64>,
        exit_arg: Option<usize>,
    ) -> Record {
        Record {
            pid: Some(42),
            tid: Some(tid),
            abi: "x86_64".into(),
            name: name.to_string().into(),
            args: args.iter().map(|a| arg(a)).collect(),
            ret,
            ret_text: ret.map(|r| r.to_string()),
            state: if ret.is_some() {
                CallState::Complete
            } else {
                CallState::Unfinished
            },
            first_exit_arg: exit_arg,
            ..Record::default()
        }
    }

    fn entry(r: &Record) -> Record {
        Record {
            entry_only: true,
            ret: None,
            ret_text: None,
            state: CallState::Unfinished,
            ..r.clone()
        }
    }

    fn text(opts: OutputOptions, recs: Vec<Record>) -> String {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        struct W(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for W {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut s = Sink::from_writer(Box::new(W(buf.clone())), Format::Text, false)
            .with_options(opts, None, None);
        for r in recs {
            s.write(r);
        }
        s.finish();
        drop(s);
        let out = buf.lock().unwrap().clone();
        String::from_utf8(out).unwrap()
    }

    fn opts() -> OutputOptions {
        OutputOptions {
            column: 0,
            ..OutputOptions::default()
        }
    }

    /// A call another thread's line interrupts is split as strace splits
    /// it (the arguments left for the exit after `resumed>`); one nothing
    /// interrupts is whole.
    #[test]
    fn interrupted_calls_are_split() {
        let read = call(43, "read", &["3", "\"ab\"", "10"], Some(2), Some(1));
        let pid = call(44, "getpid", &[], Some(42), None);
        let recs = vec![
            entry(&read),
            entry(&pid),
            pid.clone(),
            read.clone(),
            entry(&pid),
            pid.clone(),
        ];
        assert_eq!(
            text(opts(), recs.clone()),
            "[pid    43] read(3,  <unfinished ...>\n\
             [pid    44] getpid() = 42\n\
             [pid    43] <... read resumed>\"ab\", 10) = 2\n\
             [pid    44] getpid() = 42\n"
        );
        // -e status=: strace prints each call whole.
        let st = OutputOptions {
            status: Some(status::SUCCESSFUL),
            ..opts()
        };
        assert_eq!(
            text(st, recs),
            "[pid    44] getpid() = 42\n\
             [pid    43] read(3, \"ab\", 10) = 2\n\
             [pid    44] getpid() = 42\n"
        );
    }

    /// At a detach, strace marks the line still open (`<detached ...>`);
    /// a call whose line another thread ended already gets nothing more.
    #[test]
    fn a_detach_ends_only_the_open_line() {
        let sleep = call(
            43,
            "nanosleep",
            &["{tv_sec=2, tv_nsec=0}", "NULL"],
            None,
            Some(1),
        );
        let wait = call(44, "wait4", &["-1", "NULL", "0", "NULL"], None, Some(1));
        let gone = |r: &Record| Record {
            state: CallState::Detached,
            ..r.clone()
        };
        let recs = vec![entry(&wait), entry(&sleep), gone(&wait), gone(&sleep)];
        assert_eq!(
            text(opts(), recs),
            "[pid    44] wait4(-1,  <unfinished ...>\n\
             [pid    43] nanosleep({tv_sec=2, tv_nsec=0},  <detached ...>\n"
        );
    }

    /// threads-execve's shape: the leader's nanosleep is interrupted by
    /// the thread's lines, the exec ends it; the leader's line between
    /// the exec's, as strace prints them.
    #[test]
    fn an_exec_ends_the_leaders_call() {
        let sleep = call(
            42,
            "nanosleep",
            &["{tv_sec=123, tv_nsec=0}", "NULL"],
            None,
            Some(1),
        );
        let short = call(
            43,
            "nanosleep",
            &["{tv_sec=0, tv_nsec=1}", "NULL"],
            Some(0),
            Some(1),
        );
        let mut exec = call(43, "execve", &["\"/x\""], Some(0), None);
        exec.new_tid = Some(42);
        let mut ended = sleep.clone();
        ended.ended_by_exec = Some(43);
        exec.ended = vec![ended.clone()];
        let recs = vec![
            entry(&sleep),
            entry(&short),
            short.clone(),
            entry(&exec),
            ended.clone(),
            exec.clone(),
        ];
        assert_eq!(
            text(opts(), recs),
            "[pid    42] nanosleep({tv_sec=123, tv_nsec=0},  <unfinished ...>\n\
             [pid    43] nanosleep({tv_sec=0, tv_nsec=1}, NULL) = 0\n\
             [pid    43] execve(\"/x\" <unfinished ...>\n\
             [pid    42] <... nanosleep resumed> <unfinished ...>) = ?\n\
             [pid    42] +++ superseded by execve in pid 43 +++\n\
             [pid    42] <... execve resumed>) = 0\n"
        );
        // The leader entered its call after the exec's entry: its own line
        // is still open when the exec ends it, and continues whole.
        let recs = vec![entry(&exec), entry(&sleep), ended, exec];
        assert_eq!(
            text(opts(), recs),
            "[pid    43] execve(\"/x\" <unfinished ...>\n\
             [pid    42] nanosleep({tv_sec=123, tv_nsec=0},  <unfinished ...>) = ?\n\
             [pid    42] +++ superseded by execve in pid 43 +++\n\
             [pid    42] <... execve resumed>) = 0\n"
        );
    }
}
