//! The shell model's direct invocations of strace: the scripts that run
//! `$STRACE` themselves, not through init.sh's `run_strace`, to check
//! its diagnostics on a bad option. They need no guest: the tracer fails
//! while parsing its command line, and the comparer runs it on the host
//! (run.rs). Modelled:
//! - `$STRACE ARGS 2> "$LOG" && fail` (the run must fail), then `grep
//!   [-F] TEXT < "$LOG" > /dev/null || fail` (its stderr has a line with
//!   TEXT), as qual_signal.test and qual_fault-syntax.test do;
//! - syntax.sh's functions, as init.sh's are (natively, the sourced file
//!   is not read): `check_e MSG ARGS` (the run fails and its stderr is
//!   exactly `$STRACE_EXE: MSG`), `check_e_using_grep RE ARGS` (a line
//!   matches `$STRACE_EXE: RE`) and `check_h MSGS ARGS` (each line of MSGS
//!   so prefixed, then `Try '$STRACE_EXE -h' for more information.`).
//!
//! Each becomes a step with [`Step::direct`] set. A direct invocation
//! whose success the script wants (strace tracing a program, `-o
//! /dev/full`) runs a program in the guest and is not modelled here.

use super::{checks::OnStatus, split_redirs, Shell, Skip};
use crate::spec::{Matcher, Step, Want};

/// What `$STRACE_EXE` expands to in the expected text; run.rs puts the
/// tracer's name in its place.
pub const TRACER: &str = "@STRACE";

/// The step of a direct invocation with argv `options`, judged with
/// `matcher` against `want`.
fn direct_step(options: Vec<String>, matcher: Matcher, want: String) -> Step {
    Step {
        prog: String::new(),
        prog_args: Vec::new(),
        redirections: Vec::new(),
        options,
        filters: Vec::new(),
        require: Vec::new(),
        matcher,
        want: Want::Text(want),
        of_stderr: true,
        optional: false,
        negative: false,
        status: 0,
        prep: Vec::new(),
        nonempty: false,
        direct: true,
        attach: Default::default(),
        exports: Vec::new(),
        on_path: false,
        wrapper: Vec::new(),
    }
}

impl Shell<'_> {
    /// `$STRACE ARGS 2> FILE` (the command word already expanded to
    /// [`TRACER`]); its status in the model is the failure the script
    /// wants. The step is made by the check of FILE that follows.
    pub(super) fn direct(&mut self, args: &[String]) -> Result<i32, Skip> {
        let what = || {
            format!(
                "a direct strace invocation ({}) not modelled",
                args.iter().take(6).cloned().collect::<Vec<_>>().join(" ")
            )
        };
        let (argv, redirs) = split_redirs(args);
        let err = match redirs.as_slice() {
            [r] => r.strip_prefix("2>").filter(|f| f.starts_with("@LOG")),
            _ => None,
        };
        // Only a run that must fail: one that must succeed traces a
        // program, in the guest.
        let (Some(err), OnStatus::FailIfTrue) = (err, self.on_status) else {
            return Err(what());
        };
        if self.direct_run.is_some() {
            return Err("a direct strace invocation whose stderr nothing checks".into());
        }
        self.direct_run = Some((
            err.to_string(),
            direct_step(argv, Matcher::Grep, String::new()),
        ));
        Ok(1)
    }

    /// `grep [-F] TEXT < FILE > /dev/null || fail` of the last direct
    /// invocation's stderr, if `args` read it: its step, with a
    /// pattern matching a line that has TEXT.
    pub(super) fn direct_grep(&mut self, args: &[String]) -> Option<Result<i32, Skip>> {
        let file = &self.direct_run.as_ref()?.0;
        let (argv, redirs) = split_redirs(args);
        if !redirs
            .iter()
            .any(|r| r.strip_prefix('<') == Some(file.as_str()))
        {
            return None;
        }
        let (_, mut step) = self.direct_run.take()?;
        let what = || format!("grep {} of strace's stderr not modelled", args.join(" "));
        if self.on_status != OnStatus::FailIfFalse
            || redirs
                .iter()
                .any(|r| r.starts_with('>') && r != ">/dev/null")
        {
            return Some(Err(what()));
        }
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let body = match argv.as_slice() {
            ["-F", text] => regex::escape(text),
            [re] if !re.starts_with('-') => super::bre_text(re),
            _ => return Some(Err(what())),
        };
        step.want = Want::Text(format!(".*{body}.*\n"));
        self.steps.push(step);
        Some(Ok(0))
    }

    /// syntax.sh's `check_e`, `check_e_using_grep`, `check_h` (see the
    /// module doc); `None` for other commands or where syntax.sh was not
    /// sourced.
    pub(super) fn syntax_check(&mut self, cmd: &str, args: &[String]) -> Option<Result<i32, Skip>> {
        if !self.syntax {
            return None;
        }
        let (pattern, argv) = match args.split_first() {
            Some((p, a)) => (p.clone(), a.to_vec()),
            None => return Some(Err(format!("{cmd} without a pattern"))),
        };
        let (matcher, want) = match cmd {
            "check_e" => (Matcher::Diff, format!("{TRACER}: {pattern}\n")),
            "check_e_using_grep" => (Matcher::Grep, format!("{TRACER}: {pattern}\n")),
            // `printf '%s\n' "$patterns" | while read -r pattern`: each
            // line, its blanks trimmed as `read` does.
            "check_h" => {
                let mut w: String = pattern
                    .lines()
                    .map(|l| format!("{TRACER}: {}\n", l.trim()))
                    .collect();
                w.push_str(&format!("Try '{TRACER} -h' for more information.\n"));
                (Matcher::Diff, w)
            }
            _ => return None,
        };
        self.steps.push(direct_step(argv, matcher, want));
        Some(Ok(0))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Shell;
    use crate::spec::{Matcher, Want};
    use std::path::Path;

    fn run(text: &str) -> Result<Vec<crate::spec::Step>, String> {
        Shell::new(Path::new("/nonexistent"), "foo", "x86_64").run(text, vec![])
    }

    /// qual_signal.test's loop: each run a step of its own.
    #[test]
    fn a_failing_run_and_a_grep_of_its_stderr() {
        let text = "fail_with() {\n\tdump_log_and_fail_with x\n}\n\
                    for arg in ' ' 9,chdir; do\n\
                    \t$STRACE -e signal=\"$arg\" true 2> \"$LOG\" &&\n\t\tfail_with \"$arg\"\n\
                    \tLC_ALL=C grep -F 'invalid signal' < \"$LOG\" > /dev/null ||\n\
                    \t\tfail_with \"$arg\"\ndone\n";
        let steps = run(text).unwrap();
        assert_eq!(steps.len(), 2);
        assert!(steps[0].direct);
        assert_eq!(steps[1].options, ["-e", "signal=9,chdir", "true"]);
        assert_eq!(steps[0].matcher, Matcher::Grep);
        let want = format!(".*{}.*\n", regex::escape("invalid signal"));
        assert!(matches!(&steps[0].want, Want::Text(t) if *t == want));
        // A run whose stderr nothing checks, or that must succeed.
        assert!(run("$STRACE -e signal=x true 2> \"$LOG\" && fail_ x\n").is_err());
        assert!(run("$STRACE -o /dev/full ../foo 2> \"$LOG\" || fail_ x\n").is_err());
    }

    /// syntax.sh's functions, natively.
    #[test]
    fn syntax_checks() {
        let text = ". \"${srcdir=.}/syntax.sh\"\n\
                    check_e \"invalid descriptor '!'\" -e \"read=1,!\"\n\
                    check_h 'must have PROG [ARGS] or -p PID'\n\
                    check_e_using_grep 'regcomp: \\+id: [[:alpha:]].+' -e trace='/+id'\n";
        let steps = run(text).unwrap();
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[0].options, ["-e", "read=1,!"]);
        assert!(
            matches!(&steps[0].want, Want::Text(t) if t == "@STRACE: invalid descriptor '!'\n")
        );
        assert!(matches!(&steps[1].want, Want::Text(t)
            if t == "@STRACE: must have PROG [ARGS] or -p PID\nTry '@STRACE -h' for more information.\n"));
        assert!(steps[1].options.is_empty());
        assert_eq!(steps[2].matcher, Matcher::Grep);
        // Without syntax.sh, check_e is an unknown command.
        assert!(run("check_e x -e read=\n").is_err());
    }
}
