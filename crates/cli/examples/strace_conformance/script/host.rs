//! The shell model's commands of the host that a test script runs around
//! strace: those harmless in the model (`kill -0 $$` and `date` checked
//! by `run_prog_skip_if_failed`, `$(date +%s)`), files of the test itself
//! (`> "$LOG"`, `rm -f "$LOG".*`, `mv "$LOG" "$LOG.0"`), `export`, `diff`
//! of the expected output and the log (init.sh's `match_diff` without
//! the function), and `$STRACE -o "$LOG" ...` run directly (what
//! init.sh's `run_strace` does).

use super::lines::HEREDOC;
use super::{split_redirs, Shell, Skip};

impl Shell<'_> {
    /// A host command the model knows, with its status; `None` when
    /// `words` is not one (the caller goes on with the test framework's).
    pub(super) fn host_command(&mut self, words: &[String]) -> Result<Option<i32>, Skip> {
        let (argv, redirs) = split_redirs(words);
        let Some(cmd) = argv.first().map(String::as_str) else {
            // Only redirections (`> "$LOG"`): a file of the test made
            // empty, as run_strace does before each run anyway.
            for r in &redirs {
                let target = r.trim_start_matches(|c: char| c.is_ascii_digit() || c == '>');
                if !own_file(target) {
                    return Err(format!("writing {target} not modelled"));
                }
                // Its text is now none (`> "$EXP-err"`: nothing expected).
                self.texts.insert(target.to_string(), String::new());
                self.err_cuts.remove(target);
            }
            return Ok(Some(0));
        };
        let args = &argv[1..];
        match cmd {
            "run_prog_skip_if_failed" if harmless(args) => Ok(Some(0)),
            "export" => {
                for a in args {
                    let k = match a.split_once('=') {
                        Some((k, v)) => {
                            self.vars.insert(k.to_string(), v.to_string());
                            k
                        }
                        None => a.as_str(),
                    };
                    self.exported.push(k.to_string());
                }
                Ok(Some(0))
            }
            "rm" => {
                let files: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
                for f in &files {
                    if !own_file(f) {
                        return Err(format!("rm {f} (not a file of the test) not modelled"));
                    }
                }
                // Of files made for the program: made no more.
                if files.iter().any(|f| self.made(f)) {
                    self.prep.push(argv.to_vec());
                }
                Ok(Some(0))
            }
            // Files and directories made for the program in the test's
            // work directory: made again in the guest's before each run.
            "touch" | "mkdir" if !redirs.is_empty() => {
                Err(format!("{cmd} with redirections not modelled"))
            }
            "touch" | "mkdir" => {
                let names: Vec<&String> = args.iter().filter(|a| *a != "--").collect();
                for f in &names {
                    if f.starts_with('-') || !own_path(f) {
                        return Err(format!("{cmd} {f} not modelled"));
                    }
                }
                self.prep.push(argv.to_vec());
                Ok(Some(0))
            }
            "cat" if args.is_empty() && redirs.iter().any(|r| r.starts_with(HEREDOC)) => {
                self.here_document(&redirs).map(Some)
            }
            // `cat FILE >&2`: the test's own file shown in the test's
            // log, for whoever reads a failure.
            "cat" if redirs == [">&2"] && args.iter().all(|f| own_file(f)) => Ok(Some(0)),
            "mv" => match args {
                [from, to] if own_file(from) && own_file(to) => {
                    let from = self.file(from);
                    self.renamed.insert(to.clone(), from);
                    Ok(Some(0))
                }
                _ => Err(format!("mv {} not modelled", args.join(" "))),
            },
            "diff" => {
                // `diff [-u] [--] EXPECTED OUTPUT`: match_diff OUTPUT
                // EXPECTED (a difference is the test's failure).
                let files: Vec<String> = args
                    .iter()
                    .filter(|a| !a.starts_with('-'))
                    .map(|a| self.file(a))
                    .collect();
                match files.as_slice() {
                    [exp, out] if self.pending.is_some() => {
                        self.matcher(false, &[out.clone(), exp.clone()])?;
                        Ok(Some(0))
                    }
                    _ => Err(format!("diff {} not modelled", args.join(" "))),
                }
            }
            // The host's pause between commands (`$SLEEP_A_BIT`): the
            // guest run is over before the log is read.
            "sleep" if args.iter().all(|a| a.parse::<f64>().is_ok()) => Ok(Some(0)),
            "grep" => match self.grep_stderr_file(cmd, &words[1..])? {
                Some(s) => Ok(Some(s)),
                None => self.grep_suite_file(cmd, &words[1..]),
            },
            "@STRACE" => {
                if let [o, pipe, rest @ ..] = args {
                    if let Some(pipe) = pipe.strip_prefix('|').filter(|_| o == "-o") {
                        let mut a = rest.to_vec();
                        a.extend(redirs);
                        return self.piped_output(pipe, &a, 0).map(Some);
                    }
                }
                // `$STRACE -o "$LOG" ARGS`: init.sh's run_strace.
                let rest = match args {
                    [o, log, rest @ ..] if o == "-o" && log == "@LOG" => rest,
                    [o, rest @ ..] if o == "--output=@LOG" || o == "-o@LOG" => rest,
                    _ => return Ok(None),
                };
                if rest.iter().any(|a| a == "@STRACE") {
                    return Err("strace tracing strace not modelled".into());
                }
                let mut a = rest.to_vec();
                a.extend(redirs);
                self.run_strace(&a)?;
                Ok(Some(0))
            }
            _ if cmd.starts_with("../")
                && redirs
                    .iter()
                    .all(|r| r.ends_with("/dev/null") || self.for_program(r) || own_output(r)) =>
            {
                // The program run untraced, its output dropped (or sent
                // to files made for it): the traced run that follows
                // decides.
                Ok(Some(0))
            }
            _ => Ok(None),
        }
    }

    /// Whether the script made `f` for the program (`touch`, `mkdir`).
    pub(super) fn made(&self, f: &str) -> bool {
        self.prep
            .iter()
            .any(|c| matches!(c[0].as_str(), "touch" | "mkdir") && c[1..].iter().any(|a| a == f))
    }

    /// Whether a redirection gives the program a descriptor the script
    /// set up for it: one closed (`<&-`, `2>&-`) or a file it made
    /// (`< "$LOG.fd0"` after `touch "$LOG.fd0"`). strace's descriptors
    /// are the program's, so the guest run applies them to the program.
    pub(super) fn for_program(&self, r: &str) -> bool {
        let op = r.trim_start_matches(|c: char| c.is_ascii_digit());
        let target = op.trim_start_matches(['<', '>']);
        target == "&-" || self.made(target)
    }

    /// A file name as the script's renames leave it (`mv A B`: B is A).
    pub(super) fn file(&self, f: &str) -> String {
        let mut f = f.to_string();
        while let Some(old) = self.renamed.get(&f) {
            f = old.clone();
        }
        f
    }

    /// `$(CMD)` of a host command the model knows: its output.
    pub(super) fn host_output(&self, cmd: &str) -> Option<String> {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        match words.as_slice() {
            ["date", "+%s"] => Some(now.to_string()),
            ["date", "+%Y"] => Some(year_of(now).to_string()),
            ["seq", rest @ ..] => super::subst::seq(rest),
            // A host tool's path (`path_to_sed="$(command -v sed)"`): what
            // a script checks with it is strace's host (its tools, its own
            // /proc/self/maps), which has nothing to check outside the
            // guest. The model locates no host tool: the answer is
            // `command -v`'s for a tool not found, so the script's branch
            // on a found one is not taken (a script that needs the tool
            // skips itself, saying so).
            ["command", "-v", _] => Some(String::new()),
            // The guest's vCPUs: guest.rs boots each batch with `vstrace
            // run`'s default of one.
            ["nproc"] => Some("1".into()),
            // init.sh's function: the guest runs the arch's native
            // personality.
            ["print_current_personality_designator"] => Some(
                if self.var("SIZEOF_LONG") == "4" {
                    "32"
                } else {
                    "64"
                }
                .into(),
            ),
            // The getcwd number the trace_personality_number_* tests
            // trace by (the script's answer for the guest's arch).
            [cmd] if cmd.ends_with("/print_scno_getcwd.sh") => Some(
                if self.var("STRACE_ARCH") == "i386" {
                    "183"
                } else {
                    "79"
                }
                .into(),
            ),
            _ => None,
        }
    }
}

/// Host commands that `run_prog_skip_if_failed` checks and that succeed
/// on any host the suite runs on: `kill -0 $$` (signalling the shell
/// itself), `date +%s`/`date +%Y`.
fn harmless(args: &[String]) -> bool {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    matches!(a.as_slice(), ["kill", "-0", _] | ["date", "+%s" | "+%Y"])
}

/// Whether a file is the test's own (`$LOG`, `$OUT`, `$EXP` and names
/// derived from them, or a name in its work directory).
fn own_file(f: &str) -> bool {
    f.starts_with('@') || !f.is_empty() && !f.contains('/') && !f.starts_with('-')
}

/// Whether a redirection is an output to a file of the test (`>
/// "$LOG.fd1"`, `2> "$OUT"`).
fn own_output(r: &str) -> bool {
    let op = r.trim_start_matches(|c: char| c.is_ascii_digit());
    op.strip_prefix(">>")
        .or(op.strip_prefix('>'))
        .is_some_and(|t| !t.starts_with('&') && own_file(t))
}

/// Whether a path is in the test's work directory: its own files, or
/// names under a directory of it (`dir/FILE`), never leaving it.
fn own_path(f: &str) -> bool {
    !f.is_empty()
        && !f.starts_with('/')
        && f.split('/').all(|c| !c.is_empty() && c != ".." && c != ".")
}

/// The calendar year (UTC) of a time in seconds since the epoch.
fn year_of(secs: u64) -> i64 {
    // Howard Hinnant's civil_from_days.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn years() {
        assert_eq!(year_of(0), 1970);
        assert_eq!(year_of(1_796_278_010), 2026);
        assert_eq!(year_of(951_782_400), 2000); // 2000-02-29
        assert_eq!(year_of(978_307_199), 2000); // 2000-12-31T23:59:59
    }

    /// syslog-success.test's shape: the log renamed, then matched.
    #[test]
    fn files_of_the_test() {
        let text = "for i in 0 23; do\n\
                    run_strace -a35 -e trace=syslog ../syslog-success \"${i}\" > \"$EXP.$i\"\n\
                    mv \"$LOG\" \"$LOG.$i\"\n\
                    match_diff \"$LOG.$i\" \"$EXP.$i\"\ndone\n\
                    > \"$OUT\"\nrm -f -- \"$LOG\".[0-9]*\n";
        let sh = Shell::new(Path::new("/nonexistent"), "foo", "x86_64");
        let steps = sh.run(text, vec![]).unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[1].prog_args, ["23"]);
        let bad = "rm -f /etc/x\nrun_strace ../foo\nmatch_diff\n";
        let sh = Shell::new(Path::new("/nonexistent"), "foo", "x86_64");
        assert!(sh.run(bad, vec![]).is_err());
    }

    /// redirect-fds.test's shape: files made for the program, its
    /// descriptors closed or sent to them through `eval`, the run
    /// without a matcher (it must exit 0).
    #[test]
    fn descriptors_set_up_for_the_program() {
        let text = "fd0=\"$LOG.fd0\"\nfd1=\"$LOG.fd1\"\ncheck_fd()\n{\n\
                    \tlocal a1 a2\n\ta1=\"$1\"\n\ta2=\"$2\"\n\trm -f \"$LOG\" \"$fd0\" \"$fd1\"\n\ttouch \"$LOG\" \"$fd0\" || framework_skip_ x\n\
                    \tset -- \"\\\"../$NAME\\\"\" \"\\\"$1\\\"\" \"\\\"$2\\\"\"\n\
                    \teval \"$@\" \"<${a1:-&-}\" \">${a2:-&-}\" || fail_ x\n\
                    \tset -- \"$STRACE\" -o\"$LOG\" -echdir \"$@\"\n\
                    \teval \"$@\" \"<${a1:-&-}\" \">${a2:-&-}\" || dump_log_and_fail_with x\n}\n\
                    check_fd \"$fd0\" \"$fd1\"\ncheck_fd '' \"$fd1\"\n";
        let sh = Shell::new(Path::new("/nonexistent"), "foo", "x86_64");
        let steps = sh.run(text, vec![]).unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].prog_args, ["@LOG.fd0", "@LOG.fd1"]);
        assert_eq!(steps[0].redirections, ["<@LOG.fd0", ">@LOG.fd1"]);
        assert_eq!(steps[1].prog_args, ["", "@LOG.fd1"]);
        assert_eq!(steps[1].redirections, ["<&-", ">@LOG.fd1"]);
        assert_eq!(steps[1].options, ["-echdir"]);
        assert_eq!(steps[0].matcher, crate::spec::Matcher::Ran);
        assert_eq!(steps[0].prep, [["touch", "@LOG", "@LOG.fd0"]]);
        assert_eq!(steps[1].prep.len(), 3, "touch, rm -f, touch");
        // Files outside the work directory are not the model's to make.
        let bad = "touch /tmp/x\nrun_strace ../foo\nmatch_diff\n";
        let sh = Shell::new(Path::new("/nonexistent"), "foo", "x86_64");
        assert!(sh.run(bad, vec![]).is_err());
    }

    /// The threads-execve.test shape: host checks, a direct strace run,
    /// the log cut by `sed 1d` and compared by `diff && exit 0`.
    #[test]
    fn host_checks_and_direct_runs() {
        let text = "run_prog_skip_if_failed date +%s > /dev/null\ns0=\"$(date +%s)\"\n\
                    run_prog_skip_if_failed kill -0 $$\n\
                    set -- -a21 -f ../foo\nwhile :; do\n\
                    > \"$LOG\" || fail_ 'no log'\n\
                    $STRACE -o \"$LOG\" \"$@\" > \"$EXP\" || {\n\tcat < \"$LOG\" >&2\n}\n\
                    sed 1d < \"$LOG\" > \"$OUT\"\ndiff -- \"$EXP\" \"$OUT\" && exit 0\n\
                    s1=\"$(date +%s)\"\ndone\n";
        let sh = Shell::new(Path::new("/nonexistent"), "foo", "x86_64");
        let steps = sh.run(text, vec![]).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].options, ["-a21", "-f"]);
        assert_eq!(steps[0].filters.len(), 1);
        // The traced program's exit status is known to the model only
        // as the status its step wants (checks.rs).
        let rc = "run_strace ../foo\nrc=$?\n[ $rc -gt 0 ] || fail_ x\nmatch_diff\n";
        let sh = Shell::new(Path::new("/nonexistent"), "foo", "x86_64");
        assert!(sh.run(rc, vec![]).unwrap_err().contains("exit status"));
        let rc = "[ 1 = 2 ] || x=$?\nrun_strace ../foo\nmatch_diff\n";
        let mut sh = Shell::new(Path::new("/nonexistent"), "foo", "x86_64");
        sh.block(&super::super::logical_lines(rc), 0).unwrap();
        assert_eq!(sh.var("x"), "1");
    }
}
