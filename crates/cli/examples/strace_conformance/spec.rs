//! What each strace test asks for, read from strace's own test suite:
//! `tests/gen_tests.in` (one line per generated test, turned into the
//! script `gen_tests.sh` writes for it) and the hand-written `*.test`
//! scripts. Each script is interpreted by script.rs into steps (a traced
//! program run, its options, the cuts of strace's log and the matcher);
//! three shared scripts whose shell goes beyond that model (`case`,
//! `if`, arithmetic on retvals) are modelled here from their text:
//! getuid.test, prctl-success.sh, mmap.test. A script that cannot be
//! modelled makes its test "skipped" with the command named, never passed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::script::{bre, Shell, Skip};

/// How strace's log is cut before it is compared, as the test script does
/// (applied to vstrace's normalised lines).
#[derive(Debug, Clone)]
pub enum LogFilter {
    /// `sed -n '/RE/,$p'`: from the first line matching.
    StartAt(Regex),
    /// `sed '0,/RE/d'`: drop everything up to and including the first
    /// line matching (everything when none does).
    DropThrough(Regex),
    /// `grep -v RE`.
    DropMatching(Regex),
    /// `grep RE`.
    KeepMatching(Regex),
    /// `grep -F STRING`.
    KeepContaining(String),
    /// `sed Nd`: the Nth line (from 1) dropped.
    DropLine(usize),
    /// init.sh's `run_strace_merge` (`-ff -tt` and strace-log-merge):
    /// each call whole on one line, at its start.
    JoinResumed,
    /// `uniq`: repeated adjacent lines once.
    Uniq,
    /// test_pidns's `grep -E -v "^($parent_pid|$init_pid) "`: drop the
    /// lines of the processes whose pids start the log's last N lines.
    DropPidsOfLastLines(usize),
    /// `grep -E -v RE` where RE holds [`crate::script::PID_OF_LAST`]
    /// placeholders: each becomes the pid starting the log's Nth line
    /// from the end before RE is compiled.
    DropMatchingPids(String),
    /// `sed -n '/START/,/END/p'`: every range from a line matching START
    /// through the next line matching END (or the end).
    Ranges(Regex, Regex),
    /// `awk 'PROGRAM'`: the lines gawk's PROGRAM prints reading the
    /// log's lines (with strace's whitespace: the stack frames' ` > `).
    Awk(String),
    /// `sed -r -n 's/RE/REPL/p'` (or `/ADDR/ s/RE/REPL/p`): the lines
    /// (matching ADDR) where RE matches, with their match replaced by
    /// REPL (in the regex crate's syntax: `${1}`); the others dropped.
    SedSubst {
        /// The address a line must match first.
        addr: Option<Regex>,
        /// What is replaced.
        re: Regex,
        /// By what.
        repl: String,
    },
}

/// How the cut log is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Matcher {
    /// `match_diff`: identical lines.
    Diff,
    /// `match_grep`: every expected line is an extended regular
    /// expression matching a whole log line (`!RE`: matching none).
    Grep,
    /// `grep -E -x -f FILE < "$OUT" || fail`: some line of the cut log
    /// matches some pattern (an extended regular expression, the whole
    /// line) of the step's [`Want::File`].
    AnyLine,
    /// init.sh's `match_awk`: the gawk program (the step's
    /// [`Want::File`]) reads the log and its exit status is the verdict.
    Awk,
    /// `sort -c [-n] [-r] "$OUT"`: the cut log's lines are in that order
    /// (`numeric`: by their leading number; `reverse`: descending).
    Sorted {
        /// `-n`.
        numeric: bool,
        /// `-r`.
        reverse: bool,
    },
    /// A `run_strace` that nothing matches after it: the test asks only
    /// that strace's run succeeds (init.sh's `run_strace` fails the test
    /// when strace exits non-zero, so the program exits 0 and the trace
    /// is complete).
    Ran,
}

/// Where the expected lines come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Want {
    /// The traced program's stdout (`run_strace ... > "$EXP"`).
    Stdout,
    /// A file of the test suite (`NAME.expected`).
    File(PathBuf),
    /// Lines the script itself gives (a check's pattern).
    Text(String),
    /// What the traced program wrote on its stderr: a descriptor the
    /// script sent to a file for strace's expected messages (`3>
    /// "$EXP"-err`) is the program's stderr in the guest (`3>&2`).
    ProgStderr,
    /// strace-t.test, strace-tt.test, strace-ttt.test: `../sleep 0`'s
    /// execve line (and with `exit`, its exit line) stamped with a time
    /// within the run, as the scripts bracket the run with the host's
    /// `date +%s`: the time of day (`HH:MM:SS`, UTC) or, with `unix`,
    /// seconds since the epoch, then `digits` of a fraction (none: no
    /// fraction).
    Clock {
        /// Seconds since the epoch instead of the time of day.
        unix: bool,
        /// Digits of the fraction of a second.
        digits: Option<u8>,
        /// The `+++ exited with 0 +++` line is stamped and expected too.
        exit: bool,
    },
}

/// One traced run of a test and its comparison.
#[derive(Debug, Clone)]
pub struct Step {
    /// The program run (`../PROG` from `NAME.dir`).
    pub prog: String,
    /// Program arguments.
    pub prog_args: Vec<String>,
    /// Redirections the test applies to the program (`9>>/dev/full`).
    pub redirections: Vec<String>,
    /// strace's options, as the test passes them.
    pub options: Vec<String>,
    /// Cuts applied to strace's log before the comparison.
    pub filters: Vec<LogFilter>,
    /// Lines the log must have for the test to apply (`grep -x RE "$LOG"
    /// || skip_ MSG`): the regex and the skip message.
    pub require: Vec<(Regex, String)>,
    /// How the lines are compared.
    pub matcher: Matcher,
    /// What they are compared with.
    pub want: Want,
    /// The lines compared are the tracer's own stderr, not its log
    /// (`run_strace ... 2>"$LOG.err"; match_grep "$LOG.err" FILE`: strace's
    /// messages, such as a failed tamper's).
    pub of_stderr: bool,
    /// init.sh's `try_run_prog ../PROG || continue` (test_pure_prog_set):
    /// a program that skips itself (77) or fails in the guest drops this
    /// step only, not the test.
    pub optional: bool,
    /// A step of test_trace_expr's negative set: no line expected of the
    /// program's plain run (`../PROG`, no arguments), judged on the
    /// recording of any plain run of it in the measurement (see run.rs)
    /// rather than a guest run of its own.
    pub negative: bool,
    /// The exit status the script wants of the traced run (`rc=$?; [ $rc
    /// -eq 42 ] || fail`): strace exits with the program's status, so
    /// the program's in the guest. 0 unless the script checks another.
    pub status: i32,
    /// Commands the script ran on files of its work directory before the
    /// run (`touch F`, `mkdir D`, `rm -f F`), run again in the guest's
    /// work directory of the program before it starts (argv each).
    pub prep: Vec<Vec<String>>,
    /// The cut log must have a line (`[ -s "$OUT" ] || fail`).
    pub nonempty: bool,
    /// A direct invocation of the tracer on the host, no guest (`$STRACE
    /// ARGS 2> "$LOG" && fail`: strace's diagnostics on a bad option,
    /// script/direct.rs): `options` is its whole argv, `prog` empty; it
    /// must exit non-zero, and its stderr is what `matcher` compares
    /// with `want`, where `@STRACE` stands for the tracer's name.
    pub direct: bool,
    /// Variables the script exported before the run (`export VAR=VAL`):
    /// strace's environment, so the program's, as `VAR=VAL`.
    pub exports: Vec<String>,
    /// The program is a command of the guest's path (`true`), not one of
    /// the suite's (script/path_prog.rs).
    pub on_path: bool,
    /// The suite's program strace runs under (`../set_sigblock 1 2`),
    /// which execs the traced program in the guest (script/wrapper.rs).
    pub wrapper: Vec<String>,
    /// Programs the script started in the background before the run,
    /// the ones strace attaches to with `-p` (see [`Attach`]).
    pub attach: Attach,
}

impl Step {
    /// See [`progs_of`] (a command of the guest's path is none of the
    /// suite's).
    pub fn progs(&self) -> Vec<String> {
        progs_of(if self.on_path { "" } else { &self.prog }, &self.attach)
    }
}

/// The programs of the suite a run of `prog` (none if empty: `-p`
/// only) with background programs `attach` runs.
pub fn progs_of(prog: &str, attach: &Attach) -> Vec<String> {
    let own = (!prog.is_empty()).then(|| prog.to_string());
    own.into_iter()
        .chain(attach.jobs.iter().flat_map(BgJob::progs))
        .collect()
}

/// A program a test script runs in the background (`../set_ptracer_any
/// ../PROG >> "$EXP" &`), for strace to attach to with `-p $!`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BgJob {
    /// Its words, `../PROG ARGS` (a program of the suite).
    pub argv: Vec<String>,
    /// Its redirections, files of the test's work directory in the
    /// guest (`>>EXP`, `3>OUT`, `>/dev/null`).
    pub redirections: Vec<String>,
    /// The file the script waits to be non-empty before it goes on
    /// (`while ! [ -s "$EXP" ]; do kill -0 $pid || fail_; done`): the
    /// program is running, past what it writes there, when strace
    /// attaches.
    pub wait_file: Option<String>,
    /// strace attaches to it (`-p` names it).
    pub traced: bool,
}

impl BgJob {
    /// The program whose process strace attaches to: the one
    /// `set_ptracer_any` (which lets any tracer attach, then execs its
    /// arguments) runs, else the first word.
    pub fn traced_prog(&self) -> Option<&str> {
        let mut w = self.argv.iter().map(|a| a.trim_start_matches("../"));
        let first = w.next()?;
        if first == "set_ptracer_any" {
            w.next()
        } else {
            Some(first)
        }
    }

    /// The programs of the suite it runs (put in the guest).
    pub fn progs(&self) -> Vec<String> {
        self.argv
            .iter()
            .filter_map(|a| a.strip_prefix("../"))
            .map(str::to_string)
            .collect()
    }
}

/// What a run with `-p` needs beyond its program: the background
/// programs, and what the script reads of the run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attach {
    /// The programs started in the background, in the script's order.
    pub jobs: Vec<BgJob>,
    /// Files of the work directory whose concatenation is the expected
    /// output (`> "$EXP"` written by the programs, `cat "$OUT" >>
    /// "$EXP"`), empty for the traced program's stdout as usual.
    pub collect: Vec<String>,
    /// `match_diff "$LOG.$pid"` (`-ff`): only that job's process's
    /// lines, as its own file has them.
    pub log_of: Option<usize>,
    /// `set -- "$LOG".*; [ "$LOG.$pid" = "$*" ] || fail_`: that job's
    /// process is the only one with lines (one file per process).
    pub only_log_of: Option<usize>,
}

/// One test of the suite, as far as the comparer understands it.
#[derive(Debug, Clone)]
pub struct Test {
    /// The test's name (`NAME.gen.test` or `NAME.test`).
    pub name: String,
    /// Its traced runs, in the script's order (all must match).
    pub steps: Vec<Step>,
    /// Why the test cannot be run by this comparer (not modelled), if so.
    pub skip: Option<String>,
    /// Options the script needs that vstrace refuses (listed in the
    /// report even when the test is skipped for them).
    pub unsupported: Vec<String>,
}

impl Test {
    /// The options of all steps (for the report).
    pub fn options(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for s in &self.steps {
            for o in &s.options {
                if !v.contains(o) {
                    v.push(o.clone());
                }
            }
        }
        v
    }

    /// The programs the test runs (the CI subset builds only those).
    #[allow(dead_code)]
    pub fn progs(&self) -> Vec<String> {
        let mut v: Vec<String> = self.steps.iter().flat_map(Step::progs).collect();
        if v.is_empty() {
            v.push(self.name.clone());
        }
        // The program whose output in the guest the script waits for
        // (`$(../print_maxfd)`): run before the test is modelled again.
        if let Some(cmd) = self.skip.as_deref().and_then(crate::script::needed_output) {
            let prog = cmd.split_whitespace().next().unwrap_or("");
            v.push(prog.trim_start_matches("../").to_string());
        }
        v.dedup();
        v
    }
}

/// Splits a shell word list the way `sh` does for the generated test
/// (single and double quotes, backslashes; no expansion).
pub fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    cur.push(d);
                }
            }
            '"' => {
                in_word = true;
                while let Some(d) = chars.next() {
                    match d {
                        '"' => break,
                        '\\' => {
                            if let Some(&e) = chars.peek() {
                                if matches!(e, '"' | '\\' | '$' | '`') {
                                    cur.push(e);
                                    chars.next();
                                    continue;
                                }
                            }
                            cur.push('\\');
                        }
                        _ => cur.push(d),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(d) = chars.next() {
                    cur.push(d);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// True if `w` is a shell redirection like `9>>/dev/full` or `3<file`.
fn is_redirection(w: &str) -> bool {
    let digits = w.chars().take_while(|c| c.is_ascii_digit()).count();
    matches!(w[digits..].chars().next(), Some('>' | '<'))
}

/// True if the options already select syscalls (`run_strace_match_diff`
/// adds `-e trace=NAME` only when they do not).
fn has_trace(opts: &[String]) -> bool {
    let joined = opts.join(" ");
    joined.contains("-e trace=") || joined.contains("-etrace=") || joined.contains("--trace=")
}

/// The step of init.sh's `run_strace_match_diff ARGS` (and its QUIRK
/// arguments) for test `name`.
pub fn match_diff_step(name: &str, args: Vec<String>, add_trace: bool) -> Result<Step, Skip> {
    let mut t = Step {
        prog: name.to_string(),
        prog_args: Vec::new(),
        redirections: Vec::new(),
        options: Vec::new(),
        filters: Vec::new(),
        require: Vec::new(),
        matcher: Matcher::Diff,
        want: Want::Stdout,
        of_stderr: false,
        optional: false,
        negative: false,
        status: 0,
        prep: Vec::new(),
        nonempty: false,
        attach: Attach::default(),
        exports: Vec::new(),
        on_path: false,
        wrapper: Vec::new(),
        direct: false,
    };
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        if a.ends_with(';') {
            return Err("shell commands in the test's line not modelled".into());
        }
        if let Some(s) = a.strip_prefix("QUIRK:START-OF-TEST-OUTPUT:") {
            let re = Regex::new(&regex::escape(s)).map_err(|e| e.to_string())?;
            t.filters.push(LogFilter::StartAt(re));
        } else if let Some(s) = a.strip_prefix("QUIRK:START-OF-TEST-OUTPUT-REGEX:") {
            t.filters.push(LogFilter::StartAt(bre(s)?));
        } else if let Some(s) = a.strip_prefix("QUIRK:PROG-ARGS:") {
            t.prog_args.extend(shell_words(s));
        } else if is_redirection(&a) {
            // `< /dev/null`: the operator and its target as one.
            let op_only = a.trim_start_matches(|c: char| c.is_ascii_digit());
            if matches!(op_only, "<" | ">" | ">>") {
                t.redirections
                    .push(format!("{a}{}", args.next().unwrap_or_default()));
            } else {
                t.redirections.push(a);
            }
        } else {
            t.options.push(a);
        }
    }
    if add_trace && !has_trace(&t.options) {
        t.options.insert(0, format!("-e trace={name}"));
    }
    Ok(t)
}

/// The shared scripts modelled in Rust below (their shell goes beyond
/// script.rs), with what they do.
pub fn modelled_script(file: &str) -> Option<&'static str> {
    match file {
        "getuid.test" => Some("-qq -a9 -eNAME or -e%creds, then uniq"),
        "prctl-success.sh" => Some("one injected run per retval, log cut at the marker"),
        "mmap.test" => Some("mmap and its family from the PROT_NONE mmap on"),
        "strace-t.test" | "strace-tt.test" | "strace-ttt.test" => {
            Some("../sleep 0 with the options and -eexecve, stamped within the run")
        }
        _ => None,
    }
}

/// The steps of the scripts [`modelled_script`] names.
fn modelled_steps(name: &str, arch: &str, file: &str, args: &[String]) -> Result<Vec<Step>, Skip> {
    let mut step = match_diff_step(name, Vec::new(), false)?;
    match file {
        "getuid.test" => {
            let syscall = match name.strip_suffix("-creds") {
                Some(base) => {
                    step.prog = base.to_string();
                    "%creds".to_string()
                }
                None => name.to_string(),
            };
            step.options = vec!["-qq".into(), "-a9".into(), format!("-e{syscall}")];
            step.filters.push(LogFilter::Uniq);
            Ok(vec![step])
        }
        "prctl-success.sh" => {
            let mut retvals = "42".to_string();
            let mut call = "prctl";
            let mut rest = args;
            while let Some(a) = rest.first() {
                if let Some(v) = a.strip_prefix("ARCH_PRCTL_INJECT_RETVALS=") {
                    (retvals, call) = (v.to_string(), "arch_prctl");
                } else if let Some(v) = a.strip_prefix("PRCTL_INJECT_RETVALS=") {
                    (retvals, call) = (v.to_string(), "prctl");
                } else {
                    break;
                }
                rest = &rest[1..];
            }
            let marker = if call == "prctl" {
                r"prctl(0xffffffff\( \/\* PR_??? \*\/\)\?, 0xfffffffe, 0xfffffffd, 0xfffffffc, 0xfffffffb)"
            } else {
                r"arch_prctl(0xffffffff\( \/\* ARCH_??? \*\/\)\?, 0xfffffffe)"
            };
            let mut steps = Vec::new();
            for i in retvals.split_whitespace() {
                let (inj, ret, matched) = match i.strip_prefix("error=") {
                    None => {
                        let n = parse_num(i).ok_or(format!("retval {i} not modelled"))?;
                        (format!("retval={n}"), i.to_string(), n.to_string())
                    }
                    Some(e) => (i.to_string(), "-1".to_string(), format!("-1 {e}")),
                };
                let mut s = step.clone();
                s.options = vec!["-a80".into()];
                s.options.extend(rest.iter().cloned());
                s.options.push(format!("-e trace={call}"));
                s.options.push(format!("-e inject={call}:{inj}:when=256+"));
                s.prog_args = vec!["256".into(), ret];
                s.filters.push(LogFilter::DropThrough(bre(&format!(
                    "^{marker}  *= {matched} "
                ))?));
                steps.push(s);
            }
            Ok(steps)
        }
        "mmap.test" => {
            // x86: mmap (mmap2 is the i386 one; the test program names
            // the call it makes as its first argument).
            let xlat: Vec<String> = args.first().map(|x| format!("-X{x}")).into_iter().collect();
            let align = args.get(1).cloned().unwrap_or_else(|| "20".into());
            let mmap = if arch == "i386" { "mmap2" } else { "mmap" };
            step.options = vec![
                format!("-a{align}"),
                format!("-e{mmap},madvise,mlockall,mprotect,mremap,msync,munmap"),
            ];
            step.options.extend(xlat);
            step.prog_args = vec![mmap.into()];
            step.filters.push(LogFilter::StartAt(bre(&format!(
                r"^{mmap}(NULL, 0, \(0 \/\* PROT_NONE \*\/\|0\|PROT_NONE\),"
            ))?));
            Ok(vec![step])
        }
        "strace-t.test" | "strace-tt.test" | "strace-ttt.test" => {
            // `precision="${1:-6}"; [ x0 = "x$#" ] || shift;
            // opts="${*:--tt}"` (strace-t.test: no precision).
            let t = file == "strace-t.test";
            let (digits, opts) = match (t, args.split_first()) {
                (true, _) => (None, args),
                (false, None) => (Some(6), args),
                (false, Some((p, rest))) => {
                    let p = p
                        .parse::<u8>()
                        .map_err(|_| format!("precision {p} not modelled"))?;
                    (Some(p).filter(|p| *p > 0), rest)
                }
            };
            let default = match file {
                "strace-t.test" => "-t",
                "strace-tt.test" => "-tt",
                _ => "-ttt",
            };
            step.prog = "sleep".into();
            step.prog_args = vec!["0".into()];
            step.options = if opts.is_empty() {
                vec![default.into()]
            } else {
                opts.to_vec()
            };
            step.options.push("-eexecve".into());
            step.matcher = Matcher::Grep;
            step.want = Want::Clock {
                unix: file == "strace-ttt.test",
                digits,
                exit: t,
            };
            Ok(vec![step])
        }
        _ => Err(format!("test script {file} not modelled by the comparer")),
    }
}

/// The lines a [`Want::Clock`] step expects of a run between the host
/// times `s0` and `s1` (seconds since the epoch), as the strace-t*.test
/// scripts write them: every second of the run as an alternative.
pub fn clock_patterns(unix: bool, digits: Option<u8>, exit: bool, s0: u64, s1: u64) -> String {
    let secs: Vec<String> = (s0..=s1.max(s0))
        .map(|s| {
            if unix {
                s.to_string()
            } else {
                let d = s % 86_400;
                format!("{:02}:{:02}:{:02}", d / 3600, d / 60 % 60, d % 60)
            }
        })
        .collect();
    let t = format!("({})", secs.join("|"));
    let frac = digits.map_or(String::new(), |d| format!("\\.[[:digit:]]{{{d}}}"));
    let mut out = format!(
        "{t}{frac} execve\\(\"\\.\\./sleep\", \\[\"\\.\\./sleep\", \"0\"\\], \
         0x[[:xdigit:]]* /\\* [[:digit:]]+ vars \\*/\\) = 0\n"
    );
    if exit {
        out.push_str(&format!("{t}{frac} \\+\\+\\+ exited with 0 \\+\\+\\+\n"));
    }
    out
}

/// An integer as the scripts' `$((i))` reads it.
fn parse_num(s: &str) -> Option<i64> {
    match s.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// What the model knows of the guest the tests run on.
struct Env<'a> {
    /// `x86_64` or `i386`.
    arch: &'a str,
    /// What programs print in it (see [`GuestOutputs`]).
    outputs: &'a GuestOutputs,
}

/// A test from its script text (`pos`: the positional arguments).
fn interpret(tests: &Path, name: &str, env: &Env, text: &str, pos: Vec<String>) -> Test {
    let mut t = Test {
        name: name.to_string(),
        steps: Vec::new(),
        skip: None,
        unsupported: Vec::new(),
    };
    match Shell::new(tests, name, env.arch)
        .with_outputs(env.outputs)
        .run(text, pos)
    {
        Ok(steps) => t.steps = steps,
        Err(why) => {
            t.skip = Some(why);
        }
    }
    t
}

/// The files of strace's build tree a program opens by name beside
/// itself: init.sh's suite locks a sibling program
/// (`lock_file_by_dirname(argv[0], "bpf-obj_get_info_by_fd")`, so that
/// the variants of one test do not run at once), which must be there in
/// the guest as in the build tree. Follows `#include "OTHER.c"` (a
/// variant's source includes its base).
pub fn locked_files(tests: &Path, prog: &str) -> Vec<String> {
    let lock = Regex::new(r#"lock_file_by_dirname\([^,]+,\s*"([^"/]+)"\)"#).expect("regex");
    let include = Regex::new(r#"#\s*include\s+"([^"/]+\.c)""#).expect("regex");
    let mut out = Vec::new();
    let mut todo = vec![format!("{prog}.c")];
    let mut seen = BTreeSet::new();
    while let Some(f) = todo.pop() {
        if !seen.insert(f.clone()) || seen.len() > 8 {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(tests.join(&f)) else {
            continue;
        };
        out.extend(lock.captures_iter(&text).map(|c| c[1].to_string()));
        todo.extend(include.captures_iter(&text).map(|c| c[1].to_string()));
    }
    out.sort();
    out.dedup();
    out
}

/// Reads `tests/gen_tests.in` (each line as the script gen_tests.sh makes
/// of it) and the hand-written `*.test` files, so that every test of the
/// suite is accounted for.
pub fn load(src: &Path, arch: &str) -> std::io::Result<Vec<Test>> {
    load_with(src, arch, &GuestOutputs::new())
}

/// What programs of the suite print in the guest, by command line
/// (`../print_maxfd`): stdout with its trailing newlines removed, as `$(...)`
/// gives it, or why it is not known (the program failed there). A script's
/// `$(../PROG ARGS)` is modelled once the comparer has run the command in a
/// guest (run.rs); until then the test is skipped with
/// [`crate::script::NEEDS_GUEST_OUTPUT`] and the command.
pub type GuestOutputs = std::collections::BTreeMap<String, Result<String, String>>;

/// The file of the report's directory keeping the last run's
/// [`GuestOutputs`] (for `--list`).
pub const OUTPUTS_FILE: &str = "guest-outputs.json";

/// Writes [`GuestOutputs`] as JSON (`{"CMD": {"ok": OUT} | {"err": WHY}}`).
pub fn save_outputs(path: &Path, outputs: &GuestOutputs) -> std::io::Result<()> {
    let map: serde_json::Map<String, serde_json::Value> = outputs
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Ok(o) => serde_json::json!({ "ok": o }),
                Err(e) => serde_json::json!({ "err": e }),
            };
            (k.clone(), v)
        })
        .collect();
    std::fs::write(path, serde_json::Value::Object(map).to_string())
}

/// Reads what [`save_outputs`] wrote (nothing when there is no file).
pub fn load_outputs(path: &Path) -> GuestOutputs {
    let Ok(text) = std::fs::read_to_string(path) else {
        return GuestOutputs::new();
    };
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&text) else {
        return GuestOutputs::new();
    };
    map.into_iter()
        .filter_map(|(k, v)| {
            let s = |f: &str| v.get(f).and_then(|x| x.as_str()).map(str::to_string);
            let v = match (s("ok"), s("err")) {
                (Some(o), _) => Ok(o),
                (None, Some(e)) => Err(e),
                _ => return None,
            };
            Some((k, v))
        })
        .collect()
}

/// [`load`], with what the guest printed for the scripts' `$(../PROG)`.
pub fn load_with(src: &Path, arch: &str, outputs: &GuestOutputs) -> std::io::Result<Vec<Test>> {
    let env = &Env { arch, outputs };
    let tests = src.join("tests");
    let text = std::fs::read_to_string(tests.join("gen_tests.in"))?;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.split_once(char::is_whitespace) {
            Some((n, r)) => (n, r.trim()),
            None => (line, ""),
        };
        seen.insert(name.to_string());
        let words = shell_words(rest);
        let t = match words.first().map(String::as_str) {
            Some(w) if w.starts_with('+') && modelled_script(&w[1..]).is_some() => {
                let mut t = interpret(&tests, name, env, "", Vec::new());
                t.skip = None;
                match modelled_steps(name, arch, &w[1..], &words[1..]) {
                    Ok(s) => t.steps = s,
                    Err(e) => t.skip = Some(e),
                }
                t
            }
            Some(w) if w.starts_with('+') => {
                // `set -- ARGS; . SCRIPT`, the arguments as the shell
                // splits the .in line.
                let script = format!(". \"${{srcdir=.}}/{}\"\n", &w[1..]);
                let pos = words[1..].to_vec();
                let args_text = rest.split_once(char::is_whitespace).map_or("", |(_, a)| a);
                if args_text.contains("$(") {
                    // gen_tests.sh's `set -- ARGS`: the shell expands
                    // them (`"$(${srcdir=.}/print_scno_getcwd.sh)"`).
                    let text = format!("set -- {args_text}\n{script}");
                    interpret(&tests, name, env, &text, Vec::new())
                } else if pos.iter().any(|a| a.ends_with(';')) {
                    skipped(name, "shell commands in the test's line not modelled")
                } else {
                    interpret(&tests, name, env, &script, pos)
                }
            }
            Some(w) if w.starts_with("-einject=") || w.starts_with("--inject=") => {
                let script = format!(
                    "run_strace {rest} \"../{name}\" > \"$EXP\"\nmatch_diff \"$LOG\" \"$EXP\"\n"
                );
                interpret(&tests, name, env, &script, Vec::new())
            }
            None => interpret(&tests, name, env, "run_strace_match_diff\n", Vec::new()),
            Some(w) if w.starts_with('-') => interpret(
                &tests,
                name,
                env,
                &format!("run_strace_match_diff {rest}\n"),
                Vec::new(),
            ),
            Some(_) => interpret(&tests, name, env, &format!("{rest}\n"), Vec::new()),
        };
        out.push(t);
    }
    // Hand-written tests: the `*.test` of Makefile.am's DECODER_TESTS,
    // MISC_TESTS and STACKTRACE_TESTS (the suite's TESTS besides the
    // generated ones).
    let am = std::fs::read_to_string(tests.join("Makefile.am"))?;
    let mut hand = hand_tests(&am);
    hand.retain(|n| !seen.contains(n));
    hand.dedup();
    hand.sort();
    for n in hand {
        let file = format!("{n}.test");
        if modelled_script(&file).is_some() {
            let mut t = skipped(&n, "");
            match modelled_steps(&n, arch, &file, &[]) {
                Ok(s) => (t.steps, t.skip) = (s, None),
                Err(e) => t.skip = Some(e),
            }
            out.push(t);
            continue;
        }
        let text = std::fs::read_to_string(tests.join(file))?;
        out.push(interpret(&tests, &n, env, &text, Vec::new()));
    }
    Ok(out)
}

/// The tests Makefile.am lists in DECODER_TESTS, MISC_TESTS and
/// STACKTRACE_TESTS (names without `.test`).
fn hand_tests(am: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for l in am.lines() {
        let t = l.trim();
        if ["DECODER_TESTS", "MISC_TESTS", "STACKTRACE_TESTS"]
            .iter()
            .any(|v| t.starts_with(&format!("{v} =")))
        {
            inside = true;
        }
        if inside {
            out.extend(
                t.split_whitespace()
                    .filter_map(|w| w.strip_suffix(".test"))
                    .map(str::to_string),
            );
            inside = t.ends_with('\\');
        }
    }
    out.sort();
    out
}

/// A test skipped for `why`.
fn skipped(name: &str, why: &str) -> Test {
    Test {
        name: name.to_string(),
        steps: Vec::new(),
        skip: Some(why.to_string()),
        unsupported: Vec::new(),
    }
}

/// Maps test names to families by the longest matching prefix of
/// `scripts/strace-conformance-families.txt`.
pub struct Families(Vec<(String, String)>);

impl Families {
    /// Reads the `PREFIX FAMILY` lines (`#` comments).
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let mut v: Vec<(String, String)> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some((w.next()?.to_string(), w.next()?.to_string()))
            })
            .collect();
        v.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        Ok(Families(v))
    }

    /// The family of a test, "other" if no prefix matches.
    pub fn of(&self, test: &str) -> &str {
        self.0
            .iter()
            .find(|(p, _)| test.starts_with(p.as_str()))
            .map(|(_, f)| f.as_str())
            .unwrap_or("other")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_quirks() {
        let w = shell_words(r#"-a20 "QUIRK:PROG-ARGS:256 42" -e 'trace=a b' x\ y"#);
        assert_eq!(
            w,
            ["-a20", "QUIRK:PROG-ARGS:256 42", "-e", "trace=a b", "x y"]
        );
        let t = match_diff_step("foo", w.clone(), true).unwrap();
        assert_eq!(t.prog_args, ["256", "42"]);
        assert_eq!(t.options, ["-a20", "-e", "trace=a b", "x y"]);
        let t = match_diff_step("foo", w[..2].to_vec(), true).unwrap();
        assert_eq!(t.options, ["-e trace=foo", "-a20"]);
        let t = match_diff_step("s", shell_words("-e trace=s 9>>/dev/full"), true).unwrap();
        assert_eq!(t.options, ["-e", "trace=s"]);
        assert_eq!(t.redirections, ["9>>/dev/full"]);
        let t = match_diff_step("s", shell_words("-a1 < /dev/null"), true).unwrap();
        assert_eq!(t.redirections, ["</dev/null"]);
        assert!(match_diff_step("s", shell_words("-y; exec"), true).is_err());
    }

    #[test]
    fn prctl_success_steps() {
        let args = shell_words(r#"PRCTL_INJECT_RETVALS="0 error=EPERM" -a20"#);
        let s = modelled_steps("prctl-x-success", "x86_64", "prctl-success.sh", &args).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].prog_args, ["256", "-1"]);
        assert!(s[1]
            .options
            .contains(&"-e inject=prctl:error=EPERM:when=256+".to_string()));
        let LogFilter::DropThrough(re) = &s[0].filters[0] else {
            panic!("a cut")
        };
        assert!(re.is_match(
            "prctl(0xffffffff /* PR_??? */, 0xfffffffe, 0xfffffffd, 0xfffffffc, 0xfffffffb) = 0 (x)"
        ));
    }

    #[test]
    fn timestamp_scripts_expect_a_time_within_the_run() {
        let args = shell_words("3 --timestamps=unix,ms");
        let s = modelled_steps(
            "strace--timestamps-unix-ms",
            "x86_64",
            "strace-ttt.test",
            &args,
        )
        .unwrap();
        assert_eq!(s[0].options, ["--timestamps=unix,ms", "-eexecve"]);
        assert_eq!((s[0].prog.as_str(), s[0].matcher), ("sleep", Matcher::Grep));
        let Want::Clock { unix, digits, exit } = s[0].want else {
            panic!("a clock")
        };
        let p = clock_patterns(unix, digits, exit, 1_796_278_010, 1_796_278_011);
        let re = Regex::new(&format!("^(?:{})$", p.lines().next().unwrap())).unwrap();
        let line = r#"execve("../sleep", ["../sleep", "0"], 0x7ffd1234 /* 6 vars */) = 0"#;
        assert!(re.is_match(&format!("1796278011.123 {line}")));
        assert!(!re.is_match(&format!("1796278012.123 {line}")));
        assert!(!re.is_match(&format!("1796278011.12 {line}")));
        // strace-t.test: the time of day (UTC), the exit line stamped too.
        let s = modelled_steps("strace-t", "x86_64", "strace-t.test", &[]).unwrap();
        assert_eq!(s[0].options, ["-t", "-eexecve"]);
        let Want::Clock { unix, digits, exit } = s[0].want else {
            panic!("a clock")
        };
        let p = clock_patterns(unix, digits, exit, 1_796_278_010, 1_796_278_010);
        let lines: Vec<&str> = p.lines().collect();
        assert_eq!(lines.len(), 2);
        let re = Regex::new(&format!("^(?:{})$", lines[1])).unwrap();
        assert!(re.is_match("06:06:50 +++ exited with 0 +++"));
        // strace-tt.test with no arguments: -tt, microseconds.
        let s = modelled_steps("strace-tt", "x86_64", "strace-tt.test", &[]).unwrap();
        assert_eq!(s[0].options, ["-tt", "-eexecve"]);
        assert!(matches!(
            s[0].want,
            Want::Clock {
                unix: false,
                digits: Some(6),
                exit: false
            }
        ));
    }
}
