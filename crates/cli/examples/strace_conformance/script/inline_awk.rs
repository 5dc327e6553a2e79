//! The shell model's inline awk program over strace's log and the check
//! of its output against a file of patterns: `awk 'PROGRAM' "$LOG" >
//! "$OUT"` (a cut of the log: [`LogFilter::Awk`], run by the comparer
//! with the host's gawk, as the suite's hosts run awk programs that use
//! gawk's `gensub`) and `grep -E -x -f FILE < "$OUT" > /dev/null || fail`
//! (the test passes when some line of the cut log matches some pattern
//! of FILE: [`Matcher::AnyLine`]).

use super::{Shell, Skip};
use crate::spec::{LogFilter, Matcher, Want};

impl Shell<'_> {
    /// `awk 'PROGRAM' "$LOG" > "$OUT"` after a traced run.
    pub(super) fn awk_filter(&mut self, cmd: &str, args: &[String]) -> Result<i32, Skip> {
        let what = || format!("{cmd} {} not modelled", args.join(" "));
        let (argv, redirs) = super::split_redirs(args);
        let [program, log] = argv.as_slice() else {
            return Err(what());
        };
        if log != "@LOG" || program.starts_with('-') || redirs != [">@OUT".to_string()] {
            return Err(what());
        }
        let p = self
            .pending
            .as_mut()
            .ok_or_else(|| format!("{cmd} outside a run_strace's log not modelled"))?;
        p.filters.push(LogFilter::Awk(program.clone()));
        self.read_log = true;
        self.cut = true;
        self.texts.remove("@OUT");
        Ok(0)
    }

    /// `grep -E -x -f FILE < "$OUT" > /dev/null` whose failure fails the
    /// test: the pending run's cut log judged by the patterns of FILE (a
    /// file of the suite); `None` when `args` are not that.
    pub(super) fn grep_file_check(&mut self, args: &[String]) -> Option<Result<i32, Skip>> {
        let words: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .filter(|w| *w != ">/dev/null")
            .collect();
        let file = match words.as_slice() {
            ["-E", "-x", "-f", f, "<@OUT"] | ["-x", "-E", "-f", f, "<@OUT"] => *f,
            ["-Ex" | "-xE", "-f", f, "<@OUT"] => *f,
            _ => return None,
        };
        if self.on_status != super::checks::OnStatus::FailIfFalse {
            return Some(Err(format!(
                "grep {} whose status does not fail the test not modelled",
                args.join(" ")
            )));
        }
        if file.starts_with('@') || !self.cut {
            return Some(Err(format!(
                "grep -f {file} (not a file of the suite, or not of a cut log) not modelled"
            )));
        }
        let Some(mut p) = self.pending.clone() else {
            return Some(Err("grep -f without a run_strace before it".into()));
        };
        p.want = Want::File(self.tests.join(file.trim_start_matches("./")));
        p.matcher = Matcher::AnyLine;
        p.of_stderr = false;
        self.steps.push(p);
        self.checked = true;
        Some(Ok(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn steps(text: &str) -> Result<Vec<crate::spec::Step>, Skip> {
        Shell::new(Path::new("/t"), "foo", "x86_64").run(text, vec![])
    }

    #[test]
    fn an_inline_awk_cut_judged_by_a_file_of_patterns() {
        let s = steps(
            "run_prog ../stack-fcall\nrun_strace -e chdir -k $args\n\
             expected=\"$srcdir/$NAME.expected\"\n\
             awk '\n/^[^ ]/ {\n\tprint $1\n}' \"$LOG\" > \"$OUT\"\n\
             LC_ALL=C grep -E -x -f \"$expected\" < \"$OUT\" > /dev/null || {\n\
             \tdump_log_and_fail_with \"$STRACE $args output mismatch\"\n}\n",
        )
        .unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].matcher, Matcher::AnyLine);
        assert_eq!(s[0].want, Want::File("/t/foo.expected".into()));
        let LogFilter::Awk(prog) = &s[0].filters[0] else {
            panic!("{:?}", s[0].filters)
        };
        assert_eq!(prog, "\n/^[^ ]/ {\n\tprint $1\n}");
    }
}
