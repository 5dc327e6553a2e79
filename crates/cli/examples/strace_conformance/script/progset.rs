//! init.sh's program-set functions: `test_prog_set COMMON_ARGS` (each
//! line `PROG PROG_ARGS` of `$NAME.in`: `run_strace PROG_ARGS COMMON_ARGS
//! ../PROG > "$EXP"; match_diff`), `test_trace_expr SUBTRAHEND_RE
//! COMMON_ARGS` (that, then every program of pure_executables.list that
//! is neither in `$NAME.in` nor matches the regex, run with `-qq
//! -esignal=none COMMON_ARGS`, of which strace must print nothing:
//! `--expfile /dev/null`) and `test_pure_prog_set [--expfile FILE]
//! COMMON_ARGS < LIST` under both. Every program runs with no arguments
//! and stdin from /dev/null after `try_run_prog ../PROG || continue`: a
//! program that skips itself drops its step only (`Step::optional`). The
//! negative set's ~800 steps are not guest runs of their own: each is
//! judged on the recording of the program's plain run (`Step::negative`,
//! see run.rs). Also init.sh's `test_pidns`, the program traced in a PID
//! namespace of its own.

use super::{split_redirs, Shell, Skip};
use crate::spec::{Matcher, Step, Want};

impl Shell<'_> {
    /// `test_trace_expr`, `test_prog_set` or `test_pure_prog_set` with
    /// `args`: their steps added to the test's.
    pub(super) fn prog_set(&mut self, cmd: &str, args: &[String]) -> Result<(), Skip> {
        if !self.exported.is_empty() {
            return Err(format!(
                "variables exported into the traced programs' environment ({}) not modelled",
                self.exported.join(" ")
            ));
        }
        let (argv, redirs) = split_redirs(args);
        let name = self.var("NAME");
        let own_list = || format!("{name}.in");
        match cmd {
            "test_trace_expr" => {
                let (re, common) = argv
                    .split_first()
                    .ok_or("test_trace_expr without a subtrahend regex")?;
                let positive = self.read_list(&own_list())?;
                self.add_set(&positive, common, false)?;
                let all = self.read_list("pure_executables.list")?;
                let negative = subtract(&all, &positive, re)?;
                let mut common_neg = vec!["-qq".to_string(), "-esignal=none".to_string()];
                common_neg.extend(common.iter().cloned());
                self.add_set(&negative, &common_neg, true)
            }
            "test_prog_set" => {
                let positive = self.read_list(&own_list())?;
                self.add_set(&positive, &argv, false)
            }
            _ => {
                // test_pure_prog_set [--expfile FILE] COMMON_ARGS < LIST.
                let list = redirs
                    .iter()
                    .find_map(|r| r.strip_prefix('<'))
                    .ok_or("test_pure_prog_set without its list on stdin not modelled")?;
                let file = list.rsplit('/').next().unwrap_or(list).to_string();
                let (negative, common) = match argv.as_slice() {
                    [e, f, rest @ ..] if e == "--expfile" && f == "/dev/null" => (true, rest),
                    [e, ..] if e == "--expfile" => {
                        return Err(
                            "test_pure_prog_set --expfile FILE (not /dev/null) not modelled".into(),
                        )
                    }
                    _ => (false, argv.as_slice()),
                };
                let lines = self.read_list(&file)?;
                self.add_set(&lines, common, negative)
            }
        }
    }

    /// The `PROG PROG_ARGS` lines of a list of the suite, as `while read
    /// -r t prog_args` reads them (`#` lines skipped).
    fn read_list(&self, file: &str) -> Result<Vec<(String, String)>, Skip> {
        let text = std::fs::read_to_string(self.tests.join(file))
            .map_err(|e| format!("program list {file}: {e}"))?;
        Ok(parse_list(&text))
    }

    /// One step per program of `lines`, each with its own options then
    /// `common`.
    fn add_set(
        &mut self,
        lines: &[(String, String)],
        common: &[String],
        negative: bool,
    ) -> Result<(), Skip> {
        for (prog, prog_args) in lines {
            if prog.contains('/') {
                return Err(format!("program {prog} outside the tests directory"));
            }
            // `run_strace $prog_args "$@" "../$t"`: $prog_args split.
            let mut options: Vec<String> =
                prog_args.split_whitespace().map(str::to_string).collect();
            options.extend(common.iter().cloned());
            self.steps.push(Step {
                prog: prog.clone(),
                prog_args: Vec::new(),
                redirections: Vec::new(),
                options,
                filters: Vec::new(),
                require: Vec::new(),
                matcher: Matcher::Diff,
                want: if negative {
                    Want::Text(String::new())
                } else {
                    Want::Stdout
                },
                of_stderr: false,
                optional: true,
                negative,
                status: 0,
                prep: Vec::new(),
                nonempty: false,
                attach: Default::default(),
                exports: Vec::new(),
                on_path: false,
                wrapper: Vec::new(),
                direct: false,
            });
        }
        Ok(())
    }
}

/// `while read -r t prog_args`: the first field and the rest, lines
/// starting with `#` (and empty ones) skipped.
fn parse_list(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.is_empty() || l.starts_with('#') {
                return None;
            }
            let (t, rest) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            Some((t.to_string(), rest.trim().to_string()))
        })
        .collect()
}

/// init.sh's `prog_set_subtract`: the programs of `all` whose names are
/// not in `sub` and do not match `re` (`grep -E -v -x -e
/// "$re|$(names of sub joined by |)"`: the names are regexes too).
fn subtract(
    all: &[(String, String)],
    sub: &[(String, String)],
    re: &str,
) -> Result<Vec<(String, String)>, Skip> {
    let mut alts = vec![re.to_string()];
    alts.extend(sub.iter().map(|(t, _)| t.clone()));
    // `tr -s '\n' '|'` ends the list with a `|`: an empty alternative,
    // which with -x matches only an empty line (none in the list).
    let pat = format!("^(?:{})$", alts.join("|"));
    let pat = regex::Regex::new(&pat).map_err(|e| format!("prog_set_subtract regex: {e}"))?;
    Ok(all
        .iter()
        .filter(|(t, _)| !pat.is_match(t))
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("progset-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("pure_executables.list"),
            "stat\nfstat\ntimes\ntimes-fail\nchdir\nstatfs\n",
        )
        .unwrap();
        std::fs::write(d.join("trace_stat.in"), "# c\nstat\t-a30\nstatfs -a17 -v\n").unwrap();
        d
    }

    /// trace_stat.gen.test's shape: the `.in` programs with their own
    /// options then the common ones, the rest of pure_executables.list
    /// (less the subtrahend) with `-qq -esignal=none` and nothing
    /// expected.
    #[test]
    fn trace_expr_sets() {
        let d = dir();
        let sh = Shell::new(Path::new(&d), "trace_stat", "x86_64");
        let text = "test_trace_expr 'times|times-.*' -e%stat -P /dev/full\n";
        let steps = sh.run(text, vec![]).unwrap();
        let progs: Vec<(&str, bool)> = steps
            .iter()
            .map(|s| (s.prog.as_str(), s.negative))
            .collect();
        assert_eq!(
            progs,
            [
                ("stat", false),
                ("statfs", false),
                ("fstat", true),
                ("chdir", true)
            ]
        );
        assert!(steps.iter().all(|s| s.optional && s.prog_args.is_empty()));
        assert_eq!(
            steps[1].options,
            ["-a17", "-v", "-e%stat", "-P", "/dev/full"]
        );
        assert_eq!(steps[1].want, Want::Stdout);
        assert_eq!(
            steps[2].options,
            ["-qq", "-esignal=none", "-e%stat", "-P", "/dev/full"]
        );
        assert_eq!(steps[2].want, Want::Text(String::new()));
        // test_prog_set: the positive set alone.
        let sh = Shell::new(Path::new(&d), "trace_stat", "x86_64");
        let steps = sh.run("test_prog_set -f\n", vec![]).unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].options, ["-a30", "-f"]);
        // An empty subtrahend regex: only the .in names are taken out.
        let neg = subtract(
            &parse_list("times\nstat\nstatx\n"),
            &parse_list("stat -a1\n"),
            "",
        )
        .unwrap();
        assert_eq!(
            neg,
            [("times".into(), "".into()), ("statx".into(), "".into())]
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
