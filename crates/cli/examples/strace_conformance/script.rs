//! A small model of the shell that strace's test scripts are written in:
//! enough of `sh` (words, quotes, `$VAR`/`${VAR=...}`/`"$@"` expansion,
//! `$((...))`, `for` loops over words, `case`, `set --`, `shift`,
//! assignments, sourcing the shared scripts; control.rs: and-or lists,
//! `[`/`test`, `if`, `while`, functions; host.rs: the host commands that
//! are harmless in the model and files made for the program; subst.rs:
//! `$(...)` of the script's own loops, `echo`/`printf`; written.rs:
//! files the script writes, here-documents, strace's output piped;
//! `$(../PROG)` from the program's output in a guest, see
//! [`NEEDS_GUEST_OUTPUT`]) and of init.sh's functions (`run_prog`,
//! `run_strace`, `run_strace_match_diff`/`_grep`, `match_diff`,
//! `match_grep`; progset.rs: `test_trace_expr`, `test_prog_set`,
//! `test_pidns`; direct.rs: `$STRACE` run directly for its diagnostics
//! on bad options, syntax.sh's `check_e`/`check_h`) and of
//! the filters they put between strace's log and the
//! comparison (`grep -v`, `grep -F`, `sed -n '/RE/,$p'`, `sed '0,/RE/d'`,
//! `sed Nd`, `uniq`, `sed -r -n 's/RE/REPL/p'`; posix.rs: their regular
//! expressions) to turn a test script into the steps the comparer
//! runs. Anything else in a script makes the test skipped with that
//! command named: a test is never counted on a part of its script.

// (`#[path]`: this file is also included by the CI test, from tests/.)
#[path = "script/background.rs"]
mod background;
#[path = "script/checks.rs"]
mod checks;
#[path = "script/control.rs"]
mod control;
#[path = "script/debuglog.rs"]
mod debuglog;
#[path = "script/direct.rs"]
mod direct;
#[path = "script/expand.rs"]
mod expand;
#[path = "script/host.rs"]
mod host;
#[path = "script/inline_awk.rs"]
mod inline_awk;
#[path = "script/lines.rs"]
mod lines;
#[path = "script/matchers.rs"]
mod matchers;
#[path = "script/path_prog.rs"]
mod path_prog;
#[path = "script/pidns.rs"]
mod pidns;
#[path = "script/posix.rs"]
mod posix;
#[path = "script/progset.rs"]
mod progset;
#[path = "script/subst.rs"]
mod subst;
#[path = "script/wrapper.rs"]
mod wrapper;
#[path = "script/written.rs"]
mod written;

use std::collections::BTreeMap;
use std::path::Path;

use crate::spec::{LogFilter, Matcher, Step, Want};
pub use direct::TRACER;
use lines::{case_arm, logical_lines, matching, matching_brace, split_statements};
use posix::bre_text;
pub use posix::{bre, ere};

/// Most statements interpreted per test (loops are unrolled).
const MAX_STATEMENTS: usize = 20_000;
/// Deepest nesting of sourced scripts.
const MAX_DEPTH: usize = 4;

/// The shared scripts that only check strace itself or the host (ptrace
/// features, the tampering support of the running kernel, whether the
/// host's seccomp takes strace's filter): a tracer outside the guest has
/// nothing to check there.
const CHECK_ONLY: &[&str] = &[
    "init.sh",
    "scno_tampering.sh",
    "PTRACE_SEIZE.sh",
    "filter_seccomp.sh",
];

/// Why a script cannot be modelled.
pub type Skip = String;

/// The start of the skip reason of a script whose `$(../PROG ARGS)` the
/// model needs the guest's output of; the command follows, then `)`.
/// The comparer runs such commands in a guest and models the test again
/// with their outputs (run.rs).
pub const NEEDS_GUEST_OUTPUT: &str = "needs the guest's output of $(";

/// The command of a [`NEEDS_GUEST_OUTPUT`] skip reason.
pub fn needed_output(skip: &str) -> Option<&str> {
    skip.strip_prefix(NEEDS_GUEST_OUTPUT)?.strip_suffix(')')
}

/// The interpreter's state for one test.
pub struct Shell<'a> {
    tests: &'a Path,
    name: String,
    vars: BTreeMap<String, String>,
    pos: Vec<String>,
    /// The `run_strace` whose log is being filtered and matched.
    pending: Option<Step>,
    /// The last matched `run_strace`, when it sent strace's stderr to
    /// `$LOG.err` (a later `match_grep "$LOG.err" FILE` checks that).
    stderr_run: Option<Step>,
    /// Whether the pending run's log was already cut by a filter into
    /// `$OUT` (a later `match_diff "$LOG"` compares the uncut log).
    steps: Vec<Step>,
    done: bool,
    count: usize,
    /// The `|| skip_ MSG` of the statement being run.
    skip_msg: Option<String>,
    /// The functions the script defined: their bodies' lines.
    funcs: BTreeMap<String, Vec<String>>,
    /// Per function call being run, its `local` variables' old values.
    locals: Vec<Vec<(String, Option<String>)>>,
    /// A `break`, `continue` or `return` leaving the blocks it is in.
    flow: Flow,
    /// The status of the last `return`.
    ret: i32,
    /// Files the script renamed (`mv "$LOG" "$LOG.0"`): new name, old.
    renamed: BTreeMap<String, String>,
    /// Variables the script exported (in the traced program's
    /// environment).
    exported: Vec<String>,
    /// Commands the script checked the host has (`check_prog`): traced
    /// from the guest's path (path_prog.rs).
    on_path: std::collections::BTreeSet<String>,
    /// `$?`: the last command's status; `None` after a traced run (the
    /// program's exit status, known only once it has run).
    last: Option<i32>,
    /// The command being run is a traced run (for [`Shell::last`]).
    traced: bool,
    /// Runs whose outputs a later run's are appended to (`>> "$EXP"`),
    /// matched with it.
    appended: Vec<Step>,
    /// The pending run's log was cut by a filter into `$OUT`.
    cut: bool,
    /// What the script does on the status of the command being run
    /// (`grep ... || fail`, `grep ... && fail`).
    on_status: checks::OnStatus,
    /// A `|| { ... fail ... }` block follows the and-or list being run.
    fail_block: bool,
    /// The pending run was judged by a check of its log (`grep ... ||
    /// fail`), so it needs no matcher after it.
    checked: bool,
    /// The pending run's log was read by a command other than a matcher
    /// (a filter, `grep -q`): a run left without a matcher then is not
    /// one that only has to succeed.
    read_log: bool,
    /// The file strace's stderr went to in the pending (or last matched)
    /// run (`2> "$OUT"-err`), with that run.
    err_file: Option<(String, Step)>,
    /// The files the program's descriptors 3 and up went to in that run
    /// (`3> "$EXP"-err`: what it writes there is what strace is expected
    /// to print on its stderr; in the guest, the program's stderr).
    prog_err_files: Vec<String>,
    /// Files the script wrote itself (`grep RE "$srcdir/F" > "$EXP"`):
    /// name, text (see written.rs).
    texts: BTreeMap<String, String>,
    /// The script's commands on files of its work directory so far
    /// (`touch`, `mkdir`, `rm -f`): each run's [`Step::prep`].
    prep: Vec<Vec<String>>,
    /// What programs of the suite printed in the guest (`$(../PROG)`).
    outputs: crate::spec::GuestOutputs,
    /// strace's stderr cut into files (see written.rs): file, the step.
    err_cuts: BTreeMap<String, Step>,
    /// The text `echo`/`printf` print into the command substitution being
    /// run (subst.rs).
    capture: Option<String>,
    /// Programs started in the background since the last run, with their
    /// number (`$!`, background.rs).
    bg_live: Vec<(usize, crate::spec::BgJob)>,
    /// Programs started in the background so far.
    bg_count: usize,
    /// Background program number -> its index in the step of the run
    /// that took it.
    bg_index: BTreeMap<usize, usize>,
    /// Files of the test background programs write (`@EXP`) -> the guest
    /// files whose concatenation it holds.
    bg_files: BTreeMap<String, Vec<String>>,
    /// `$LOG` holds strace's `-d` log of a run of nothing (debuglog.rs).
    debug_log: bool,
    /// A direct strace invocation waiting for the check of its stderr:
    /// the file, the step (direct.rs).
    direct_run: Option<(String, Step)>,
    /// syntax.sh was sourced: its check functions are modelled.
    syntax: bool,
}

/// How the blocks being run are left.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Flow {
    Normal,
    Break,
    Continue,
    Return,
}

impl<'a> Shell<'a> {
    /// A shell for test `name` whose scripts live in `tests`, on an
    /// `arch` guest (`x86_64` or `i386`).
    pub fn new(tests: &'a Path, name: &str, arch: &str) -> Self {
        let mut vars = BTreeMap::new();
        for (k, v) in [
            ("NAME", name),
            ("srcdir", "."),
            ("LOG", "@LOG"),
            ("OUT", "@OUT"),
            ("EXP", "@EXP"),
            ("STRACE", "@STRACE"),
            ("STRACE_EXE", "@STRACE"),
            ("STRACE_ARCH", arch),
            ("STRACE_NATIVE_ARCH", arch),
            ("SIZEOF_LONG", if arch == "i386" { "4" } else { "8" }),
            ("ME_", name),
            (
                "SIZEOF_KERNEL_LONG_T",
                if arch == "i386" { "4" } else { "8" },
            ),
            ("MIPS_ABI", ""),
            // init.sh's default.
            ("TIMEOUT_DURATION", "1500"),
            ("SLEEP_A_BIT", "sleep 0.01"),
            // The shell's pid ($$), a pid of the host.
            ("$", "1"),
        ] {
            vars.insert(k.to_string(), v.to_string());
        }
        Shell {
            tests,
            name: name.to_string(),
            vars,
            pos: Vec::new(),
            pending: None,
            stderr_run: None,
            steps: Vec::new(),
            done: false,
            count: 0,
            skip_msg: None,
            funcs: BTreeMap::new(),
            locals: Vec::new(),
            flow: Flow::Normal,
            ret: 0,
            renamed: BTreeMap::new(),
            exported: Vec::new(),
            on_path: Default::default(),
            last: Some(0),
            traced: false,
            appended: Vec::new(),
            cut: false,
            on_status: checks::OnStatus::Nothing,
            fail_block: false,
            checked: false,
            read_log: false,
            err_file: None,
            prog_err_files: Vec::new(),
            texts: BTreeMap::new(),
            prep: Vec::new(),
            outputs: Default::default(),
            err_cuts: BTreeMap::new(),
            capture: None,
            bg_live: Vec::new(),
            bg_count: 0,
            bg_index: BTreeMap::new(),
            bg_files: BTreeMap::new(),
            debug_log: false,
            direct_run: None,
            syntax: false,
        }
    }

    /// The shell, knowing what programs of the suite print in the guest.
    pub fn with_outputs(mut self, outputs: &crate::spec::GuestOutputs) -> Self {
        self.outputs = outputs.clone();
        self
    }

    /// Interprets `text` with positional arguments `pos`; the steps, or
    /// why the script is not modelled.
    pub fn run(mut self, text: &str, pos: Vec<String>) -> Result<Vec<Step>, Skip> {
        self.pos = pos;
        self.block(&logical_lines(text), 0)?;
        self.unmatched_run()?;
        if let Some((_, s)) = &self.direct_run {
            return Err(format!(
                "a direct strace invocation ({}) whose stderr nothing checks",
                s.options.join(" ")
            ));
        }
        if self.steps.is_empty() {
            // Every strace invocation is a step or a reason not to model
            // the script: none at all is a test of strace's own code
            // (its tables, its trie, its seccomp filter) run as a
            // program, with no trace to compare.
            return Err(
                "not applicable: the script runs no tracer (a check of strace's \
                        own code, no trace to compare)"
                    .into(),
            );
        }
        Ok(self.steps)
    }

    /// Runs logical lines: compound commands (`for`, `while`, `if`,
    /// `case`, function definitions) and and-or lists of commands.
    fn block(&mut self, lines: &[String], depth: usize) -> Result<(), Skip> {
        let mut i = 0;
        while i < lines.len() && !self.done && self.flow == Flow::Normal {
            let l = lines[i].trim();
            i += 1;
            if let Some((name, brace)) = control::function_header(l) {
                // NAME() {, or NAME() then `{` on the next line.
                let open = if brace { i } else { i + 1 };
                if !brace && lines.get(i).map(|s| s.trim()) != Some("{") {
                    return Err(format!("function {name}'s body not modelled"));
                }
                let end = matching_brace(lines, open).ok_or("an unclosed function body")?;
                if lines[end].trim() != "}" {
                    return Err(format!("redirections of function {name} not modelled"));
                }
                self.funcs
                    .insert(name.to_string(), lines[open..end].to_vec());
                i = end + 1;
                continue;
            }
            if l.starts_with("if ") && l.ends_with("; fi") {
                // `if A; then B; fi` on one line: as lines.
                let mut parts = Vec::new();
                for p in split_statements(l) {
                    let p = p.trim();
                    if let Some(rest) = p.strip_prefix("else ") {
                        parts.push("else".to_string());
                        parts.push(rest.to_string());
                        continue;
                    }
                    match p.strip_prefix("then ") {
                        Some(rest) => parts.push(rest.to_string()),
                        None if p.starts_with("if ") || p.starts_with("elif ") => {
                            parts.push(format!("{p}; then"));
                        }
                        None if p == "then" => {}
                        None => parts.push(p.to_string()),
                    }
                }
                self.if_block(&parts, 0, depth)?;
                continue;
            }
            if l.starts_with("if ") {
                i = self.if_block(lines, i - 1, depth)?;
                continue;
            }
            if let Some(loop_lines) = lines::one_line_loop(l) {
                self.block(&loop_lines, depth)?;
                continue;
            }
            if l.starts_with("while ") || l.starts_with("until ") {
                i = self.while_block(lines, i - 1, depth)?;
                continue;
            }
            if let Some(head) = l.strip_prefix("for ") {
                // for VAR in WORDS; do  ... done
                // `for VAR; do`: over "$@".
                let (var, rest) = match head.split_once(" in ") {
                    Some((v, r)) => (v, r.to_string()),
                    None => match head.split_once(';') {
                        Some((v, r)) => (v, format!("\"$@\";{r}")),
                        None => return Err("a `for` without `in`".into()),
                    },
                };
                let rest = rest.as_str();
                let words_text = rest
                    .trim_end_matches("; do")
                    .trim_end_matches(";do")
                    .trim_end_matches(';');
                let mut body_start = i;
                if !rest.ends_with("do") {
                    if lines.get(i).map(|s| s.trim()) != Some("do") {
                        return Err("a `for` loop's `do` not modelled".into());
                    }
                    body_start += 1;
                }
                let end = matching(lines, body_start, &["for ", "while ", "until "], "done")
                    .ok_or("a `for` without `done`")?;
                let words = self.expand(words_text)?;
                for w in words {
                    self.vars.insert(var.trim().to_string(), w);
                    self.block(&lines[body_start..end], depth)?;
                    match self.flow {
                        Flow::Break => {
                            self.flow = Flow::Normal;
                            break;
                        }
                        Flow::Continue => self.flow = Flow::Normal,
                        _ => {}
                    }
                    if self.done || self.flow == Flow::Return {
                        break;
                    }
                }
                i = end + 1;
                continue;
            }
            if let Some(head) = l.strip_prefix("case ") {
                // case WORD in PATTERN[|PATTERN]) COMMANDS ;; ... esac
                let word = head
                    .strip_suffix(" in")
                    .ok_or("a `case` without `in` on its line")?;
                let word = self.expand(word)?.join(" ");
                let end =
                    matching(lines, i, &["case "], "esac").ok_or("a `case` without `esac`")?;
                if let Some(body) = case_arm(&lines[i..end], &word) {
                    self.block(&body, depth)?;
                }
                i = end + 1;
                continue;
            }
            if let Some(left) = l.strip_suffix("|| {") {
                // `CMD || { ... }`: the block runs when CMD fails; in the
                // model commands succeed (the traced run decides), so
                // only CMD runs: a direct strace run, or the untraced
                // run of the program that may exit 1.
                let end = matching_brace(lines, i).ok_or("an unclosed `{` block")?;
                if lines[end].trim() != "}" {
                    return Err("redirections of a `{` block not modelled".into());
                }
                let fails = lines[i..end].iter().any(|l| l.contains("fail"));
                for stmt in split_statements(left) {
                    self.fail_block = fails;
                    let status = self.and_or(&stmt, depth);
                    self.fail_block = false;
                    if status? != 0 {
                        self.block(&lines[i..end], depth)?;
                    }
                }
                i = end + 1;
                continue;
            }
            for stmt in split_statements(l) {
                self.statement(&stmt, depth)?;
                if self.done || self.flow != Flow::Normal {
                    break;
                }
            }
        }
        Ok(())
    }

    fn statement(&mut self, stmt: &str, depth: usize) -> Result<(), Skip> {
        self.count += 1;
        if self.count > MAX_STATEMENTS {
            return Err("the script runs over the interpreter's statement limit".into());
        }
        let stmt = stmt.trim();
        if stmt.is_empty() {
            return Ok(());
        }
        let first = stmt.split_whitespace().next().unwrap_or("");
        for kw in [
            "case", "while", "until", "elif", "else", "fi", "esac", "then", "do", "done",
        ] {
            if first == kw {
                return Err(format!("shell `{kw}` in the script not modelled"));
            }
        }
        if let Some(cmd) = stmt.strip_suffix('&').filter(|_| !stmt.ends_with("&&")) {
            return self.background(cmd);
        }
        if stmt.starts_with('(') || stmt.starts_with('{') {
            return Err("a subshell or `{` group not modelled".into());
        }
        self.and_or(stmt, depth).map(|_| ())
    }

    /// A simple command of an and-or list: assignments, then the
    /// command; its status.
    fn simple(&mut self, stmt: &str, depth: usize) -> Result<i32, Skip> {
        let words = self.expand(stmt)?;
        let Some(cmd) = words.first().cloned() else {
            return Ok(0);
        };
        // VAR=value (alone) or as a prefix (LC_ALL=C grep ...).
        if let Some((k, v)) = cmd.split_once('=') {
            if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                if words.len() == 1 {
                    self.vars.insert(k.to_string(), v.to_string());
                    return Ok(0);
                }
                return self.command(&words[1..], depth);
            }
        }
        if words.iter().any(|w| w.contains(checks::STATUS)) {
            return match cmd.as_str() {
                "[" | "test" => self.status_check(&words),
                _ => Err(format!(
                    "the traced program's exit status ($?) in `{}` not modelled",
                    words.join(" ")
                )),
            };
        }
        if let Some(s) = self.nonempty_check(&words) {
            return Ok(s);
        }
        if let Some(s) = self.debug_grep(&words) {
            return s;
        }
        if let Some(s) = self
            .debug_run(&words)
            .or_else(|| self.background_wait(&words))
            .or_else(|| self.only_log_check(&words))
            .or_else(|| self.background_cat(&words))
        {
            return Ok(s);
        }
        if cmd == "[" || cmd == "test" {
            return self.test_expr(&words).map(|t| i32::from(!t));
        }
        if self.funcs.contains_key(&cmd) {
            let (argv, _) = split_redirs(&words[1..]);
            return self.call(&cmd, &argv, depth);
        }
        self.command(&words, depth)
    }

    fn command(&mut self, words: &[String], depth: usize) -> Result<i32, Skip> {
        if let Some(s) = self.host_command(words)? {
            return Ok(s);
        }
        let cmd = words[0].as_str();
        let args = &words[1..];
        match cmd {
            ":" | "true" | "check_gawk" | "require_min_nproc" => Ok(0),
            "check_prog" => {
                self.check_prog(args);
                Ok(0)
            }
            "false" => Ok(1),
            // init.sh's check that the host kernel lets strace change a
            // call's number (scno_tampering.sh's, as a function): a check
            // of strace's host, nothing to check outside the guest.
            "require_min_kernel_version_or_skip" | "check_scno_tampering" => Ok(0),
            "exit" => {
                self.done = true;
                Ok(0)
            }
            "return" => {
                self.ret = args.first().and_then(|a| a.parse().ok()).unwrap_or(0);
                self.flow = Flow::Return;
                Ok(self.ret)
            }
            "break" => {
                self.flow = Flow::Break;
                Ok(0)
            }
            "continue" => {
                self.flow = Flow::Continue;
                Ok(0)
            }
            "local" => self.local(args).map(|()| 0),
            "shift" => {
                let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1);
                self.pos.drain(..n.min(self.pos.len()));
                Ok(0)
            }
            "set" if args.first().map(String::as_str) == Some("--") => {
                self.pos = args[1..].to_vec();
                Ok(0)
            }
            // Globbing on or off: the model expands no globs.
            "set" if matches!(args, [f] if f == "+f" || f == "-f") => Ok(0),
            "." | "source" => self.source(args, depth).map(|()| 0),
            // `eval WORDS`: the words joined, run as a command again.
            "eval" => {
                let status = self.and_or(&args.join(" "), depth)?;
                // A traced run's status stays the program's ($?).
                self.traced |= self.last.is_none();
                Ok(status)
            }
            "run_prog" | "run_prog_skip_if_failed" | "try_run_prog" => {
                let (argv, _) = split_redirs(args);
                let argv = if argv.is_empty() {
                    vec![format!("../{}", self.var("NAME"))]
                } else {
                    argv
                };
                if !argv[0].starts_with("../") && !self.on_path(&argv[0]) {
                    return Err(format!(
                        "{cmd} {} (a host command) not modelled",
                        argv.join(" ")
                    ));
                }
                self.vars.insert("args".into(), argv.join(" "));
                Ok(0)
            }
            "run_strace" => self.run_strace(args).map(|()| 0),
            // init.sh's `run_strace -ff -tt ARGS` then strace-log-merge of
            // the per-process logs into `$LOG`: a `-f` log whose calls are
            // whole (each process's own file has no interleaving).
            "run_strace_merge" => {
                let mut a = vec!["-ff".to_string(), "-tt".to_string()];
                a.extend(args.iter().cloned());
                self.run_strace(&a)?;
                if let Some(p) = self.pending.as_mut() {
                    p.filters.push(LogFilter::JoinResumed);
                }
                Ok(0)
            }
            "run_strace_match_diff" | "run_strace_match_grep" => {
                let grep = cmd.ends_with("grep");
                self.match_test(args, grep).map(|()| 0)
            }
            "grep" if self.on_status != checks::OnStatus::Nothing => self
                .grep_file_check(args)
                .or_else(|| self.direct_grep(args))
                .unwrap_or_else(|| self.grep_check(args)),
            "awk" | "gawk" => self.awk_filter(cmd, args),
            "grep" | "sed" | "uniq" => self.filter(cmd, args).map(|()| 0),
            "match_diff" | "match_grep" => {
                let args: Vec<String> = args.iter().map(|a| self.file(a)).collect();
                self.matcher(cmd == "match_grep", &args).map(|()| 0)
            }
            "match_awk" => self.match_awk(args).map(|()| 0),
            "echo" | "printf" => self.print(cmd, args),
            "sort" => self.sort_check(args),
            "skip_" | "framework_skip_" => Err(format!("the script skips: {}", args.join(" "))),
            "fail_" | "dump_log_and_fail_with" => Err(format!(
                "the script fails in the model ({}): its condition is the host's",
                args.join(" ")
            )),
            "test_pidns" => self.test_pidns(args).map(|()| 0),
            "test_trace_expr" | "test_prog_set" | "test_pure_prog_set" => {
                self.prog_set(cmd, args).map(|()| 0)
            }
            direct::TRACER => self.direct(args),
            other => self
                .syntax_check(other, args)
                .unwrap_or_else(|| Err(format!("the script's command `{other}` not modelled"))),
        }
    }

    fn source(&mut self, args: &[String], depth: usize) -> Result<(), Skip> {
        let path = args.first().ok_or("`.` without a file")?;
        let file = path.rsplit('/').next().unwrap_or(path);
        if CHECK_ONLY.contains(&file) {
            return Ok(());
        }
        // Its functions are modelled (direct.rs); it sources init.sh.
        if file == "syntax.sh" {
            self.syntax = true;
            return Ok(());
        }
        if depth >= MAX_DEPTH {
            return Err("scripts sourced too deep".into());
        }
        if let Some(model) = crate::spec::modelled_script(file) {
            return Err(format!("{file} is modelled on its own ({model})"));
        }
        let text = std::fs::read_to_string(self.tests.join(file))
            .map_err(|e| format!("sourced script {file}: {e}"))?;
        self.block(&logical_lines(&text), depth + 1)
    }

    /// `run_strace OPTIONS... ../PROG ARGS... [> "$EXP"]`.
    fn run_strace(&mut self, args: &[String]) -> Result<(), Skip> {
        self.traced = true;
        let wrapper = self.strace_wrapper()?;
        // strace's environment, which the program inherits: the guest's
        // run of it gets the same variables.
        let exports = self
            .exported
            .iter()
            .filter(|k| self.vars.contains_key(*k))
            .map(|k| format!("{k}={}", self.var(k)))
            .collect();
        let (mut argv, redirs) = split_redirs(args);
        let jobs = self.take_background(&mut argv)?;
        // With `-p` only (no command), strace traces the attached
        // programs alone.
        let at = match self.prog_at(&argv) {
            Some(at) => at,
            None if jobs.iter().any(|j| j.traced) => argv.len(),
            None => return Err("run_strace without a ../PROG".into()),
        };
        // The program's stdout now in a file the script wrote before.
        for r in redirs.iter().filter(|r| r.starts_with('>')) {
            self.texts.remove(r.trim_start_matches('>'));
        }
        let want = match redirs.iter().find(|r| r.starts_with('>')) {
            Some(r) if r == ">@EXP" => Want::Stdout,
            Some(r) if r == ">>@EXP" && self.pending.is_some() && self.cut => {
                // `run_strace ... >> "$EXP"` after a run cut into `$OUT`:
                // the two runs' outputs are compared as one (`FILTER
                // >> "$OUT"; match_diff`), here each part with its own
                // (equal halves make equal wholes; a part that differs
                // fails either way).
                let first = self.pending.take().unwrap_or_else(|| unreachable!());
                self.appended.push(first);
                Want::Stdout
            }
            Some(r) if r.starts_with(">>") => {
                return Err("run_strace appending to the expected output (>>) not modelled".into())
            }
            Some(r) if r.starts_with(">@EXP") => Want::Stdout,
            _ => Want::File(self.tests.join(format!("{}.expected", self.var("NAME")))),
        };
        // A run before this one that nothing matched.
        self.unmatched_run()?;
        let prog = argv
            .get(at)
            .map_or("", |p| p.trim_start_matches("../"))
            .to_string();
        let to_log_err = redirs.iter().any(|r| r == "2>@LOG.err");
        // strace's stderr sent to a file of the test (`2> "$OUT"-err`),
        // and the program's descriptors 3 and up sent to files (`3>
        // "$EXP"-err`): the descriptor is opened for the program as its
        // stderr (`3>&2`), whose text the guest run keeps.
        let err_file = redirs
            .iter()
            .find_map(|r| r.strip_prefix("2>").filter(|f| f.starts_with('@')))
            .filter(|f| *f != "@LOG.err")
            .map(str::to_string);
        let mut prog_err_files = Vec::new();
        let mut fd_to_stderr = Vec::new();
        for r in &redirs {
            let digits: String = r.chars().take_while(|c| c.is_ascii_digit()).collect();
            let fd = digits.parse::<u32>().unwrap_or(0);
            if let Some(f) = r[digits.len()..].strip_prefix('>') {
                if fd >= 3 && f.starts_with('@') {
                    prog_err_files.push(f.to_string());
                    fd_to_stderr.push(format!("{fd}>&2"));
                }
            }
        }
        self.prog_err_files = prog_err_files;
        // Descriptors the test opens for strace and so for the program
        // (`7> /dev/null`: the fd an injected return names; `< /dev/full`:
        // the stdin whose path `-y` prints).
        // A run whose descriptors the script set up for the program (one
        // closed, or a file it made): strace's descriptors are the
        // program's, all of them given to it in the guest.
        let for_program = redirs.iter().any(|r| self.for_program(r));
        if for_program && matches!(want, Want::Stdout) {
            return Err("a run whose stdout is the expected output and a descriptor set up for the program not modelled".into());
        }
        let inherited = redirs
            .iter()
            .filter(|r| {
                if for_program {
                    return true;
                }
                let digits: String = r.chars().take_while(|c| c.is_ascii_digit()).collect();
                let stdin =
                    (digits.is_empty() || digits == "0") && r[digits.len()..].starts_with('<');
                let standard = stdin || digits.parse::<u32>().is_ok_and(|fd| fd >= 3);
                (standard && !r.contains('@')) || self.for_program(r)
            })
            .cloned()
            .chain(fd_to_stderr)
            .collect();
        self.cut = false;
        self.checked = false;
        self.read_log = false;
        let mut inherited: Vec<String> = inherited;
        let mut attach = crate::spec::Attach {
            jobs,
            ..Default::default()
        };
        // The program's stdout into a file background programs write
        // too: the guest's file, collected after all of them ended.
        if let Some(f) = redirs
            .iter()
            .find(|r| r.starts_with('>'))
            .and_then(|r| r.trim_start_matches('>').strip_prefix('@'))
            .filter(|f| !attach.jobs.is_empty() && self.bg_files.contains_key(&format!("@{f}")))
        {
            let op = if redirs.iter().any(|r| r.starts_with(">>")) {
                ">>"
            } else {
                ">"
            };
            inherited.push(format!("{op}{f}"));
            attach.collect = self.bg_files[&format!("@{f}")].clone();
        }
        self.pending = Some(Step {
            prog,
            prog_args: argv.get(at + 1..).unwrap_or_default().to_vec(),
            redirections: inherited,
            options: argv[..at].to_vec(),
            filters: Vec::new(),
            require: Vec::new(),
            matcher: Matcher::Diff,
            want,
            of_stderr: to_log_err,
            optional: false,
            negative: false,
            status: 0,
            prep: self.prep.clone(),
            nonempty: false,
            attach,
            exports,
            on_path: argv.get(at).is_some_and(|w| !w.starts_with("../")),
            wrapper,
            direct: false,
        });
        self.err_file = err_file.zip(self.pending.clone());
        Ok(())
    }

    /// init.sh's `run_strace_match_diff`/`_grep ARGS`.
    fn match_test(&mut self, args: &[String], grep: bool) -> Result<(), Skip> {
        let mut s = crate::spec::match_diff_step(&self.var("NAME"), args.to_vec(), true)?;
        if grep {
            s.matcher = Matcher::Grep;
        }
        self.steps.push(s);
        Ok(())
    }

    /// A filter from `$LOG` (or the previous `$OUT`) into `$OUT`.
    fn filter(&mut self, cmd: &str, args: &[String]) -> Result<(), Skip> {
        self.read_log = self.pending.is_some();
        let (argv, redirs) = split_redirs(args);
        let reads_log =
            redirs.iter().any(|r| r == "<@LOG" || r == "<@OUT") || argv.iter().any(|a| a == "@LOG");
        let writes = redirs.iter().find(|r| r.starts_with('>'));
        if let Some(w) = writes {
            self.texts.remove(w.trim_start_matches('>'));
        }
        let Some(p) = self.pending.as_mut() else {
            return Err(format!("{cmd} outside a run_strace's log not modelled"));
        };
        if !reads_log {
            return Err(format!("{cmd} {} not modelled", argv.join(" ")));
        }
        if writes.is_none_or(|w| w == ">/dev/null") {
            // `grep -x RE "$LOG" > /dev/null || skip_ MSG`: the test
            // applies only if the log has such a line.
            if let (Some(msg), "grep", ["-x", re]) = (
                self.skip_msg.clone(),
                cmd,
                argv.iter()
                    .map(String::as_str)
                    .filter(|a| *a != "@LOG")
                    .collect::<Vec<_>>()
                    .as_slice(),
            ) {
                let re = bre(&format!("^{re}$"))?;
                p.require.push((re, msg));
            }
            return Ok(());
        }
        if writes
            .is_some_and(|w| w.starts_with(">>") && (w != ">>@OUT" || self.appended.is_empty()))
        {
            return Err(format!("{cmd} appending (>>) not modelled"));
        }
        let mut argv: Vec<&str> = argv
            .iter()
            .map(String::as_str)
            .filter(|a| *a != "@LOG")
            .collect();
        // `FILTER "$LOG" | uniq > "$OUT"`: the filter, then uniq.
        let then_uniq = argv.ends_with(&["|", "uniq"]);
        if then_uniq {
            argv.truncate(argv.len() - 2);
        }
        let f = match (cmd, argv.as_slice()) {
            ("uniq", []) => LogFilter::Uniq,
            ("grep", ["-v", re]) => LogFilter::DropMatching(bre(re)?),
            ("grep", ["-E", "-v", re] | ["-v", "-E", re] | ["-Ev", re])
                if re.contains(PID_OF_LAST) =>
            {
                LogFilter::DropMatchingPids(re.to_string())
            }
            ("grep", ["-E", "-v", re] | ["-v", "-E", re] | ["-Ev", re]) => {
                LogFilter::DropMatching(ere(re)?)
            }
            ("grep", ["-F", s]) => LogFilter::KeepContaining(s.to_string()),
            ("grep", [re]) => LogFilter::KeepMatching(bre(re)?),
            ("sed", ["-r", "-n", "-e", e] | ["-n", "-r", "-e", e] | ["-rn" | "-nr", "-e", e])
            | ("sed", ["-r", "-n", e] | ["-n", "-r", e] | ["-rn" | "-nr", e]) => {
                checks::sed_subst(e)?
            }
            ("sed", ["-n", script]) => {
                match script.strip_suffix(",$p").or(script.strip_suffix(",\\$p")) {
                    Some(addr) => LogFilter::StartAt(bre(slashes(addr)?)?),
                    None => return Err(format!("sed -n '{script}' not modelled")),
                }
            }
            ("sed", [script]) if script.strip_suffix('d').is_some_and(is_number) => {
                let n = script.trim_end_matches('d').parse().unwrap_or(1);
                LogFilter::DropLine(n)
            }
            ("sed", [script]) => {
                match script.strip_prefix("0,").and_then(|s| s.strip_suffix('d')) {
                    Some(addr) => LogFilter::DropThrough(bre(slashes(addr)?)?),
                    None => return Err(format!("sed '{script}' not modelled")),
                }
            }
            _ => return Err(format!("{cmd} {} not modelled", argv.join(" "))),
        };
        p.filters.push(f);
        if then_uniq {
            p.filters.push(LogFilter::Uniq);
        }
        self.cut = true;
        Ok(())
    }
}

/// Joins `>` `FILE` / `<` `FILE` pairs into one word and marks
/// redirections: `>@EXP`, `<@LOG`, `2>/dev/null`.
pub(super) fn join_redirections(words: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut it = words.into_iter().peekable();
    while let Some(w) = it.next() {
        let op = w.trim_start_matches(|c: char| c.is_ascii_digit());
        if matches!(op, ">" | ">>" | "<" | "2>" | "<&" | ">&") {
            let t = it.next().unwrap_or_default();
            out.push(format!("{w}{t}"));
        } else {
            out.push(w);
        }
    }
    out
}

/// Splits words into the command's own and its redirections.
fn split_redirs(words: &[String]) -> (Vec<String>, Vec<String>) {
    words.iter().cloned().partition(|w| {
        let op = w.trim_start_matches(|c: char| c.is_ascii_digit());
        !(op.starts_with('>') || op.starts_with('<'))
    })
}

/// The text between the slashes of a sed address `/RE/`.
/// The placeholder for `$(tail -n N $LOG | head -n 1 | cut -d' ' -f1)`
/// (the pid starting the log's Nth line from the end), `@PID_OF_LAST N@`.
pub const PID_OF_LAST: &str = "@PID_OF_LAST ";

/// N of `tail -n N $LOG | head -n 1 | cut -d' ' -f1` (with the quotes
/// of the script: `-d' '`), the pidns tests' way to find the pids of the
/// namespace's parent and init.
pub(super) fn last_line_pid(cmd: &str) -> Option<usize> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    match words.as_slice() {
        ["tail", "-n", n, "$LOG", "|", "head", "-n", "1", "|", "cut", "-d'", "'", "-f1"] => {
            n.parse().ok().filter(|&n| n > 0 && n < 100)
        }
        ["tail", "-n", "1", "$LOG", "|", "cut", "-d'", "'", "-f1"] => Some(1),
        _ => None,
    }
}

/// Whether a filter stands for a rewrite of `$LOG` itself (what
/// run_strace_merge leaves there), kept when the uncut log is matched.
fn rewrites_log(f: &LogFilter) -> bool {
    matches!(f, LogFilter::JoinResumed)
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

fn slashes(addr: &str) -> Result<&str, Skip> {
    addr.strip_prefix('/')
        .and_then(|a| a.strip_suffix('/'))
        .ok_or_else(|| format!("sed address {addr} not modelled"))
}

#[cfg(test)]
mod tests {
    use super::lines::glob;
    use super::*;

    fn shell() -> Shell<'static> {
        Shell::new(Path::new("/nonexistent"), "foo", "x86_64")
    }

    #[test]
    fn expands_like_sh() {
        let mut s = shell();
        s.pos = vec!["-a1".into(), "x y".into()];
        assert_eq!(
            s.expand(r#"run "$@" $args"#).unwrap(),
            ["run", "-a1", "x y"]
        );
        assert_eq!(s.expand("a ${N=3} $N").unwrap(), ["a", "3", "3"]);
        assert_eq!(
            s.expand(r#"x "${1:---q}" $((0x10))"#).unwrap(),
            ["x", "-a1", "16"]
        );
        assert_eq!(
            s.expand(r#"grep -v '^a(' < "$LOG" > "$OUT""#).unwrap(),
            ["grep", "-v", "^a(", "<@LOG", ">@OUT"]
        );
        s.pos.clear();
        assert_eq!(s.expand(r#"run "$@" x"#).unwrap(), ["run", "x"]);
        s.vars.insert("i".into(), "error=EPERM".into());
        assert_eq!(s.expand("${i#error=}").unwrap(), ["EPERM"]);
    }

    /// `poke-range.test`: the log against the program's output, then
    /// strace's stderr against the suite's patterns (a step of its own);
    /// a pattern file the program writes is not modelled.
    #[test]
    fn stderr_greps_become_steps() {
        let text = "#!/bin/sh\n. \"${srcdir=.}/init.sh\"\nrun_prog ../chdir > /dev/null\n\
                    run_strace -a10 -e trace=chdir -einject=chdir:poke_enter=@arg2=00 \\\n\
                    $args >\"$EXP\" 2>\"$LOG.err\"\n\
                    match_diff \"$LOG\" \"$EXP\"\n\
                    match_grep \"$LOG.err\" \"$srcdir/foo.expected\"\n";
        let steps = shell().run(text, vec![]).unwrap();
        assert_eq!(steps.len(), 2);
        assert!(!steps[0].of_stderr && steps[1].of_stderr);
        assert_eq!(steps[1].prog, "chdir");
        assert_eq!(steps[1].matcher, Matcher::Grep);
        assert!(matches!(&steps[1].want, Want::File(f) if f.ends_with("foo.expected")));
        let own = text.replace("\"$srcdir/foo.expected\"", "\"$EXP.err\"");
        assert!(shell().run(&own, vec![]).is_err());
        // Without 2>"$LOG.err", nothing to match.
        let none = text.replace(" 2>\"$LOG.err\"", "");
        assert!(shell().run(&none, vec![]).is_err());
    }

    /// qual_inject-signal-syscall.test's shape: `$NAME` overridden to
    /// the program it shares, whose expected output and program the
    /// default match_diff takes.
    #[test]
    fn an_overridden_name_picks_the_program_and_its_expected_output() {
        let text = "name_override=chdir\n\
                    [ -z \"${name_override-}\" ] || NAME=\"$name_override\"\n\
                    run_strace -a12 -echdir ../$NAME\nmatch_diff\n";
        let steps = shell().run(text, vec![]).unwrap();
        assert_eq!(steps[0].prog, "chdir");
        assert!(matches!(&steps[0].want, Want::File(f) if f.ends_with("chdir.expected")));
    }

    /// uname.test's shape: a second run appended to the first's
    /// expected output and cut log, both matched at once.
    #[test]
    fn appended_runs_are_matched_each() {
        let text = "run_strace -v -euname $args > \"$EXP\"\nuniq < \"$LOG\" > \"$OUT\"\n\
                    run_prog \"../$NAME\" abbrev > /dev/null\n\
                    run_strace -euname $args >> \"$EXP\"\nuniq < \"$LOG\" >> \"$OUT\"\n\
                    match_diff \"$OUT\" \"$EXP\"\n";
        let steps = shell()
            .run(&format!("run_prog > /dev/null\n{text}"), vec![])
            .unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].options, ["-v", "-euname"]);
        assert_eq!(
            (steps[1].prog_args.as_slice(), steps[1].filters.len()),
            (&["abbrev".to_string()][..], 1)
        );
        // Appending to a log not cut first is not modelled.
        let uncut = "run_strace -euname ../foo > \"$EXP\"\nrun_strace -euname ../foo >> \"$EXP\"\n\
                     match_diff \"$LOG\" \"$EXP\"\n";
        assert!(shell().run(uncut, vec![]).is_err());
    }

    #[test]
    fn case_runs_the_first_matching_arm() {
        let lines: Vec<String> = [
            "alpha|ia64) syscall=umount ;;",
            "*)",
            "syscall=umount2",
            ";;",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(case_arm(&lines, "ia64").unwrap(), ["syscall=umount"]);
        assert_eq!(case_arm(&lines, "x86_64").unwrap(), ["syscall=umount2"]);
        assert!(glob("mips:%creds", "mips:%creds"));
        assert!(glob("x86*", "x86_64") && !glob("x86?", "x86_64"));
        let mut sh = shell();
        let text = "case \"$STRACE_ARCH\" in\n\talpha) s=a ;;\n\t*) s=b ;;\nesac\n";
        sh.block(&logical_lines(text), 0).unwrap();
        assert_eq!(sh.var("s"), "b");
    }

    #[test]
    fn scripts_become_steps() {
        let text = "#!/bin/sh\n. \"${srcdir=.}/init.sh\"\nrun_prog > /dev/null\n\
                    run_strace -a30 -elseek $args > \"$EXP\"\n\
                    grep -v '^lseek([0-9]' < \"$LOG\" > \"$OUT\"\nmatch_diff \"$OUT\" \"$EXP\"\n";
        let steps = shell().run(text, vec![]).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].options, ["-a30", "-elseek"]);
        assert_eq!(steps[0].prog, "foo");
        assert!(matches!(steps[0].want, Want::Stdout));
        let text =
            "for r in 0 2; do\nrun_strace -e inject=ioctl:retval=$r ../foo 256 $r > \"$EXP.$r\"\n\
                    match_diff \"$LOG\" \"$EXP.$r\"\ndone\n";
        let steps = shell().run(text, vec![]).unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[1].prog_args, ["256", "2"]);
        assert!(shell().run("if true; then x; fi\n", vec![]).is_err());
        assert!(bre("^ioctl([012][,<]").unwrap().is_match("ioctl(1, TCGETS"));
        assert!(bre("^a\\(b\\|c\\) *= 0").unwrap().is_match("ac = 0"));
    }
}
