//! The shell model's judges of a run: `match_diff` and `match_grep` of
//! its log or of strace's stderr, init.sh's `match_awk` (a gawk program as the
//! matcher), a run nothing matches (it only has to succeed), and strace's
//! stderr compared with what the program wrote on a descriptor of its own
//! (`2> "$OUT"-err 3> "$EXP"-err`, clone_ptrace.test).

use super::{rewrites_log, Shell, Skip};
use crate::spec::{Matcher, Step, Want};

impl Shell<'_> {
    /// `match_diff [OUT [EXP]]` / `match_grep [LOG [EXP]]`.
    pub(super) fn matcher(&mut self, grep: bool, args: &[String]) -> Result<(), Skip> {
        if self.pending.is_none() && args.first().is_some_and(|a| a == "@LOG.err") {
            return self.stderr_matcher(grep, args);
        }
        if let Some(r) = self.stderr_cut_matcher(grep, args) {
            return r;
        }
        if let Some(s) = self.prog_written_stderr(grep, args) {
            self.steps.push(s);
            return Ok(());
        }
        let mut p = self.pending.take().ok_or_else(|| match args {
            [out, exp, ..] => {
                format!("a match of {out} with {exp} (not the log of a run_strace) not modelled")
            }
            _ => "match_diff/match_grep without a run_strace before it".to_string(),
        })?;
        // Its log is matched here; its stderr, if kept, by a later
        // matcher of `$LOG.err`.
        self.stderr_run = p.of_stderr.then(|| p.clone());
        p.of_stderr = false;
        if args.first().is_some_and(|a| a == "@LOG") {
            // The uncut log.
            p.filters.retain(rewrites_log);
        }
        if let Some(k) = args.first().and_then(|a| self.log_of_job(a)) {
            // `-ff`'s file of one attached process.
            p.filters.retain(rewrites_log);
            p.attach.log_of = Some(k);
        }
        // A file background programs wrote: the guest collects it.
        let bg_want = args
            .get(1)
            .and_then(|e| self.background_want(e))
            .filter(|_| !p.attach.jobs.is_empty());
        match args.get(1).map(String::as_str) {
            _ if bg_want.is_some() => {
                if let Some((want, parts)) = bg_want {
                    p.want = want;
                    p.attach.collect = parts;
                }
            }
            None => {
                if args.is_empty() {
                    p.filters.retain(rewrites_log);
                }
                if matches!(p.want, Want::Stdout) && args.is_empty() {
                    p.want = Want::File(self.tests.join(format!("{}.expected", self.var("NAME"))));
                }
            }
            Some(e) if self.texts.contains_key(e) => {
                p.want = Want::Text(self.texts[e].clone());
            }
            Some(e) if e.starts_with("@EXP") => {}
            Some(f) => p.want = Want::File(self.tests.join(f.trim_start_matches("./"))),
        }
        p.matcher = if grep { Matcher::Grep } else { Matcher::Diff };
        for mut a in std::mem::take(&mut self.appended) {
            if grep || !self.cut {
                return Err("a match of appended runs' outputs not modelled".into());
            }
            a.matcher = Matcher::Diff;
            self.steps.push(a);
        }
        self.steps.push(p);
        Ok(())
    }

    /// `match_grep "$LOG.err" FILE`: the last run's stderr (strace's own
    /// messages) against the patterns of a file of the suite. The run is
    /// made again for it (a step of its own).
    pub(super) fn stderr_matcher(&mut self, grep: bool, args: &[String]) -> Result<(), Skip> {
        let mut p = self
            .stderr_run
            .take()
            .ok_or("a match of $LOG.err without a run_strace writing it")?;
        if !grep {
            return Err("match_diff of strace's stderr not modelled".into());
        }
        match args.get(1).map(String::as_str) {
            Some(f) if !f.starts_with('@') && !f.contains("$") => {
                p.want = Want::File(self.tests.join(f.trim_start_matches("./")));
            }
            _ => {
                return Err(
                    "strace's stderr matched with a file the program writes not modelled".into(),
                )
            }
        }
        p.of_stderr = true;
        p.filters.clear();
        p.require.clear();
        p.matcher = Matcher::Grep;
        self.steps.push(p);
        Ok(())
    }

    /// A run that no matcher judged, when the next run starts or the
    /// script ends: init.sh's `run_strace` fails the test if strace
    /// fails, so the run must succeed ([`Matcher::Ran`]). One whose log
    /// a command read (`grep -q ... "$LOG" && exit 0`) is not modelled:
    /// its verdict is that command's.
    pub(super) fn unmatched_run(&mut self) -> Result<(), Skip> {
        let Some(mut p) = self.pending.take().filter(|_| !self.checked) else {
            return Ok(());
        };
        if self.read_log || self.cut {
            return Err(format!(
                "a run_strace of ../{} without match_diff/match_grep after it",
                p.prog
            ));
        }
        p.matcher = Matcher::Ran;
        p.want = Want::Text(String::new());
        p.of_stderr = false;
        self.steps.push(p);
        Ok(())
    }

    /// init.sh's `match_awk [OUTPUT [PROGRAM [MESSAGE]]]`: the gawk
    /// program (default `$srcdir/$NAME.awk`) run on the pending run's log.
    pub(super) fn match_awk(&mut self, args: &[String]) -> Result<(), Skip> {
        if args.first().is_some_and(|a| a != "@LOG") {
            return Err(format!("match_awk of {} not modelled", args[0]));
        }
        let mut p = self
            .pending
            .take()
            .ok_or("match_awk without a run_strace before it")?;
        let program = match args.get(1) {
            Some(f) if !f.starts_with('@') => f.trim_start_matches("./").to_string(),
            Some(f) => return Err(format!("match_awk with the program {f} not modelled")),
            None => format!("{}.awk", self.var("NAME")),
        };
        p.filters.retain(rewrites_log);
        p.want = Want::File(self.tests.join(program));
        p.matcher = Matcher::Awk;
        p.of_stderr = false;
        self.steps.push(p);
        Ok(())
    }

    /// `match_diff "$OUT"-err "$EXP"-err`: strace's stderr of the last run
    /// (`2> "$OUT"-err`) against what the program wrote on a descriptor
    /// of its own (`3> "$EXP"-err`). The run is made again for it (a step
    /// of its own): the tracer's stderr lines about the program against
    /// the program's stderr in the guest (see [`Want::ProgStderr`]).
    pub(super) fn prog_written_stderr(&self, grep: bool, args: &[String]) -> Option<Step> {
        let [out, exp] = args else { return None };
        let (file, run) = self.err_file.as_ref()?;
        if file != out || !self.prog_err_files.contains(exp) {
            return None;
        }
        let mut p = run.clone();
        p.want = Want::ProgStderr;
        p.of_stderr = true;
        p.filters.clear();
        p.require.clear();
        p.matcher = if grep { Matcher::Grep } else { Matcher::Diff };
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn steps(text: &str) -> Result<Vec<Step>, Skip> {
        Shell::new(Path::new("/t"), "foo", "x86_64").run(text, vec![])
    }

    #[test]
    fn match_awk_judges_the_log_with_the_tests_program() {
        let s =
            steps("run_prog\nrun_strace -a 19 -e trace=capget $args\nmatch_awk\nexit 0\n").unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].matcher, Matcher::Awk);
        assert_eq!(s[0].want, Want::File(Path::new("/t/foo.awk").to_path_buf()));
        assert!(steps("run_strace ../foo\nmatch_awk \"$OUT\"\n").is_err());
    }

    #[test]
    fn a_run_nothing_matches_only_has_to_succeed() {
        let s = steps("run_prog > /dev/null\nrun_strace -f -e trace=getpid $args\n").unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].matcher, Matcher::Ran);
        // Two unmatched runs: both must succeed.
        let s = steps("run_strace -I1 ../foo\nrun_strace -I2 ../foo\n").unwrap();
        assert_eq!(s.len(), 2);
        // A run whose log a command reads is judged by that command.
        assert!(steps("run_strace ../foo\ngrep -q X \"$LOG\" && exit 0\n").is_err());
        // strace under another program is not modelled.
        assert!(steps("STRACE=\"../wrap $STRACE\"\nrun_strace ../foo\n").is_err());
    }

    /// clone_ptrace.test's shape.
    #[test]
    fn straces_stderr_against_a_descriptor_of_the_program() {
        let text = "run_prog > /dev/null 3>&1\nargs=\"-e trace=none -q $args\"\n\
                    > \"$LOG\" || fail_ x\n\
                    $STRACE -o \"$LOG\" $args > \"$EXP\" 2> \"$OUT\"-err 3> \"$EXP\"-err || {\n\
                    \tcat \"$OUT\"-err \"$LOG\" >&2\n\tfail_ y\n}\n\
                    cat \"$OUT\"-err >&2\nmatch_diff \"$LOG\" \"$EXP\"\n\
                    match_diff \"$OUT\"-err \"$EXP\"-err\n";
        let s = steps(text).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].redirections, ["3>&2"]);
        assert_eq!((s[0].want.clone(), s[0].of_stderr), (Want::Stdout, false));
        assert_eq!(
            (s[1].want.clone(), s[1].of_stderr),
            (Want::ProgStderr, true)
        );
        assert_eq!(s[1].options, ["-e", "trace=none", "-q"]);
    }

    /// `"${ret}"> FILE`: the quoted digits are the program's argument.
    #[test]
    fn quoted_digits_before_a_redirection_are_an_argument() {
        let text = "ret=8\nrun_strace -a26 ../foo 256 \"${ret}\"> \"$EXP.${ret}\"\n\
                    match_diff \"$LOG\" \"$EXP.${ret}\"\n";
        let s = steps(text).unwrap();
        assert_eq!(s[0].prog_args, ["256", "8"]);
        assert_eq!(s[0].want, Want::Stdout);
        assert!(s[0].redirections.is_empty());
    }
}
