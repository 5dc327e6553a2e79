//! The measurement: every selected test's program run in a guest (in
//! batches), its trace replayed with its options and compared with what it
//! printed. A test is:
//! - passed: exact match (exit and signal lines included);
//! - failed: it ran and its trace differs (`calls_ok` marks the failed ones
//!   whose syscall lines all match, exit/signal lines aside);
//! - skipped: not run, with the reason (no static build, test script not
//!   modelled, the program itself exited non-zero or 77 in the guest,
//!   timed out).
//!
//! Tests with fault injection (`-e inject=`) get a guest run each, with
//! `vstrace run --comm PROG --inject SPEC`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::{compare, guest, options, spec};

// (`#[path]`: this file is also included by the CI test, from tests/.)
#[path = "run/attach.rs"]
mod attach;
#[path = "run/direct.rs"]
mod direct;

/// What to measure and where.
pub struct Config {
    /// The strace source tree (tests/gen_tests.in).
    pub src: PathBuf,
    /// The configured build tree (tests/PROG, build-skipped.tsv).
    pub build: PathBuf,
    /// The strace source package version (for the report).
    pub version: String,
    /// The vstrace binary.
    pub vstrace: PathBuf,
    /// Output directory (report, diffs, batches).
    pub out: PathBuf,
    /// The test-name-prefix -> family map.
    pub families: PathBuf,
    /// Only these tests, if set.
    pub only: Option<BTreeSet<String>>,
    /// Programs per guest run.
    pub batch: usize,
    /// The guest's architecture: `x86_64`, or `i386` (the 686 kernel and
    /// programs built with -m32).
    pub arch: String,
}

/// One test's result.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// See the module doc.
    pub name: String,
    /// See the module doc.
    pub family: String,
    /// See the module doc.
    pub status: &'static str,
    /// See the module doc.
    pub reason: String,
    /// See the module doc.
    pub options: Vec<String>,
    /// See the module doc.
    pub unsupported: Vec<String>,
    /// See the module doc.
    pub calls_ok: bool,
    /// See the module doc.
    pub expected: usize,
    /// See the module doc.
    pub matched: usize,
}

impl TestResult {
    fn new(t: &spec::Test, family: &str, unsupported: Vec<String>) -> Self {
        TestResult {
            name: t.name.clone(),
            family: family.to_string(),
            status: "skipped",
            reason: String::new(),
            options: t.options(),
            unsupported,
            calls_ok: false,
            expected: 0,
            matched: 0,
        }
    }

    /// The test as a report entry.
    pub fn json(&self) -> Value {
        json!({
            "name": self.name, "family": self.family, "status": self.status,
            "reason": self.reason, "options": self.options,
            "unsupported_options": self.unsupported, "calls_match": self.calls_ok,
            "expected_lines": self.expected, "matched_lines": self.matched,
        })
    }
}

/// Skip reasons from the guest's view of the program, which is to exit
/// with `status` (see [`spec::Step::status`]).
fn prog_skip(r: &guest::ProgResult, status: i32) -> Option<String> {
    let err = String::from_utf8_lossy(&r.stderr);
    let first = err.lines().next().unwrap_or("").trim();
    match r.rc {
        rc if rc == status => None,
        77 => Some(format!(
            "the program skips itself in the guest (77): {first}"
        )),
        137 => Some(format!("killed after {} s (timeout)", guest::PROG_TIMEOUT)),
        rc => Some(format!(
            "the program fails in the guest (exit {rc}): {first}"
        )),
    }
    .or_else(|| {
        r.too_big.map(|n| {
            format!(
                "expected output of {n} bytes, over the {} bytes moved from the guest",
                guest::MAX_GZ_STDOUT
            )
        })
    })
}

/// What one step of a test gave.
#[derive(Debug, Default, Clone)]
struct StepOutcome {
    /// Why the step did not run (the program skipped or failed).
    skip: Option<String>,
    /// The skip is the program's own (it exited 77 or failed in the
    /// guest, or was not built): what init.sh's `try_run_prog || continue`
    /// passes over.
    prog_skip: bool,
    /// A step of an optional program (`Step::optional`) that skipped:
    /// left out of the verdict.
    dropped: bool,
    /// The step for the diff's header (`../PROG`, and for a negative step
    /// that strace prints nothing of it).
    label: String,
    /// Why it failed without a comparison (the replay failed).
    error: Option<String>,
    exact: bool,
    calls: bool,
    expected: usize,
    matched: usize,
    unsupported: Vec<String>,
    /// The diff, with its header.
    diff: String,
}

/// The expected lines of a step: the program's stdout or a file of the
/// suite.
fn want_text(step: &spec::Step, r: &guest::ProgResult) -> Result<String> {
    Ok(match &step.want {
        spec::Want::Stdout => String::from_utf8_lossy(&r.stdout).into_owned(),
        spec::Want::File(p) => String::from_utf8_lossy(
            &std::fs::read(p).with_context(|| format!("the expected output {}", p.display()))?,
        )
        .into_owned(),
        spec::Want::Text(t) => t.clone(),
        spec::Want::ProgStderr => String::from_utf8_lossy(&r.stderr).into_owned(),
        spec::Want::Clock { unix, digits, exit } => {
            spec::clock_patterns(*unix, *digits, *exit, r.window.0, r.window.1)
        }
    })
}

/// Compares one step's trace with what it must print.
fn judge(
    args: &Config,
    step: &spec::Step,
    m: &options::Mapped,
    rec: &Path,
    r: &guest::ProgResult,
) -> Result<StepOutcome> {
    let mut o = StepOutcome::default();
    if step.status != 0 && r.rc != step.status && !matches!(r.rc, 77 | 137) {
        // The script's own check of the exit status: a failure, not the
        // program's skip.
        o.error = Some(format!(
            "the traced run exits {}, not {} as the script wants",
            r.rc, step.status
        ));
        return Ok(o);
    }
    if let Some(reason) = prog_skip(r, step.status) {
        o.skip = Some(reason);
        o.prog_skip = true;
        return Ok(o);
    }
    // With `-p`, the attached programs' processes too (see
    // attached_pids), each by its name.
    let attached = attach::Attached::of(step, r);
    let comms = guest::comms(&step.prog, &step.attach);
    let comm = comms.first().cloned().unwrap_or_default();
    let strsize = m.strsize.unwrap_or(32);
    // An option vstrace refuses is listed as unsupported and left out;
    // the test runs with the rest (it usually fails then, which is what
    // the measurement must show).
    let mut pass = m.pass.clone();
    if m.follow {
        // strace -f: the program's children too, whatever they rename
        // themselves to (--comm alone picks processes by their comm).
        pass.insert(0, "-f".to_string());
    }
    for c in comms.iter().skip(1) {
        pass.extend(["--comm".to_string(), c.clone()]);
    }
    if m.stack {
        // The guest's programs are not on the host at their guest paths:
        // the build's copies give the frames their symbols, as a user
        // would give them.
        pass.push("--symbol-dir".to_string());
        pass.push(args.build.join("tests").display().to_string());
    }
    let raw = loop {
        if step.of_stderr {
            // The tracer's own messages (a failed tamper's): vstrace's
            // stderr of the live run, less the lines about the batch's
            // other processes.
            let text = std::fs::read_to_string(rec.with_file_name("stderr")).unwrap_or_default();
            let own = format!("process {}:", r.pid);
            break text
                .lines()
                .filter(|l| !l.contains("process ") || l.contains(&own))
                .map(|l| format!("{l}\n"))
                .collect::<String>();
        }
        match guest::replay(&args.vstrace, rec, &comm, strsize, &pass) {
            Ok(raw) => break raw,
            Err(e) => {
                let opt = refused_option(&e, m);
                if options::outside_guest(&opt) {
                    // Refused by design, with its reason: not a gap.
                    let why = e.lines().find(|l| l.contains(&opt)).unwrap_or(&e);
                    o.skip = Some(format!("no meaning outside the guest: {}", why.trim()));
                    return Ok(o);
                }
                o.unsupported.push(opt.clone());
                match without_option(&pass, &opt) {
                    Some(rest) if o.unsupported.len() < 8 => pass = rest,
                    _ => {
                        o.error = Some(e);
                        return Ok(o);
                    }
                }
            }
        }
    };
    // `[pid   144]`, or with -Y `[pid   144<comm>]` (the program's
    // command after its pid, as strace's prefix has it).
    let pid_tags: Vec<String> = match &attached {
        Some(a) => a.pids.iter().map(|p| format!("[pid {p:>5}")).collect(),
        None => vec![format!("[pid {:>5}", r.pid)],
    };
    let ours = |l: &str| {
        pid_tags.iter().any(|tag| {
            l.strip_prefix(tag.as_str())
                .is_some_and(|t| t.starts_with(']') || t.starts_with('<'))
        })
    };
    // Whether strace's lines have their pid: with -f (not -ff), or
    // when it traces several processes from the start.
    let keep_pid = match &attached {
        Some(a) => a.keep_pid(m),
        None => m.follow,
    };
    if let Some(e) = attached.as_ref().and_then(|a| a.stray_files(&raw)) {
        o.error = Some(e);
        return Ok(o);
    }
    let follow_all = m.follow && attached.as_ref().is_none_or(|a| !a.one_file);
    // The program's lines: a `-e read=`/`write=` dump line (` * N bytes
    // in buffer K`, ` | 00000 ...`, printed without a pid) is the
    // process's whose line came before it.
    let mut last_ours = true;
    let own: Vec<&str> = raw
        .lines()
        .filter(|l| {
            if follow_all {
                return true;
            }
            if l.starts_with("[pid ") {
                last_ours = ours(l);
                return last_ours;
            }
            !compare::is_dump_line(l) || last_ours
        })
        .collect();
    let actual: Vec<String> = own
        .iter()
        .map(|l| compare::normalize(l, keep_pid))
        .filter(|l| !l.is_empty())
        .collect();
    // `grep -x RE "$LOG" > /dev/null || skip_ MSG`: the script's own
    // condition for the test to apply.
    for (re, msg) in &step.require {
        if !actual.iter().any(|l| re.is_match(l)) {
            o.skip = Some(format!("the test script skips: {msg}"));
            return Ok(o);
        }
    }
    let (raw_lines, actual) = compare::cut(&own, keep_pid, actual, &step.filters);
    // A test whose expected output cannot be read fails alone (the
    // model named a file the suite does not have): the run goes on.
    let want = match want_text(step, r) {
        Ok(w) => w,
        Err(e) => {
            o.error = Some(format!("{e:#}"));
            return Ok(o);
        }
    };
    if step.nonempty && raw_lines.is_empty() {
        o.error = Some("the cut log is empty (the script's `[ -s FILE ] || fail`)".into());
        return Ok(o);
    }
    let c = match step.matcher {
        spec::Matcher::Diff => {
            let expected: Vec<String> = want
                .lines()
                .map(|l| compare::normalize(l, false))
                .filter(|l| !l.is_empty())
                .collect();
            compare::compare(&expected, &actual)
        }
        spec::Matcher::Grep => {
            let patterns: Vec<&str> = want.lines().filter(|l| !l.is_empty()).collect();
            compare::grep(&patterns, &actual, &raw_lines)
        }
        spec::Matcher::AnyLine => {
            let patterns: Vec<&str> = want.lines().filter(|l| !l.is_empty()).collect();
            compare::any_line(&patterns, &raw_lines)
        }
        spec::Matcher::Awk => match &step.want {
            spec::Want::File(program) => match compare::awk(program, &raw_lines) {
                Ok(c) => c,
                Err(e) => {
                    o.skip = Some(e);
                    return Ok(o);
                }
            },
            w => {
                o.error = Some(format!("match_awk without a program ({w:?})"));
                return Ok(o);
            }
        },
        // `sort -c`: whitespace kept (the script's sed keeps what it
        // cuts, tabs and all).
        spec::Matcher::Sorted { numeric, reverse } => compare::sorted(&raw_lines, numeric, reverse),
        // The run completed (the program exited 0, or the step would
        // have been skipped above, and the replay succeeded): all the
        // test asks.
        spec::Matcher::Ran => compare::Outcome {
            exact: true,
            calls: true,
            expected: 0,
            matched: 0,
            diff: String::new(),
        },
    };
    o.exact = c.exact;
    o.calls = c.calls;
    o.expected = c.expected;
    o.matched = c.matched;
    if !c.exact {
        o.diff = format!(
            "# vstrace replay --comm {comm} -s {strsize} {} ({:?})\n# unsupported: {:?}\n{}",
            pass.join(" "),
            step.matcher,
            o.unsupported,
            c.diff
        );
    }
    Ok(o)
}

/// A test's verdict from its steps' outcomes (all must match; the
/// optional programs that skipped themselves are passed over, as
/// init.sh's `try_run_prog || continue` does).
fn verdict(args: &Config, all: &[StepOutcome], res: &mut TestResult) -> Result<()> {
    for o in all {
        for u in &o.unsupported {
            if !res.unsupported.contains(u) {
                res.unsupported.push(u.clone());
            }
        }
    }
    let outs: Vec<(usize, &StepOutcome)> =
        all.iter().enumerate().filter(|(_, o)| !o.dropped).collect();
    let dropped = all.len() - outs.len();
    let first_drop = || {
        all.iter()
            .find_map(|o| {
                o.dropped
                    .then(|| format!("{}: {}", o.label, o.skip.clone().unwrap_or_default()))
            })
            .unwrap_or_default()
    };
    if outs.is_empty() {
        res.reason = format!(
            "every program of the set skips itself in the guest (e.g. {})",
            first_drop()
        );
        return Ok(());
    }
    if let Some(s) = outs.iter().find_map(|(_, o)| o.skip.clone()) {
        res.reason = s;
        return Ok(());
    }
    if let Some(e) = outs.iter().find_map(|(_, o)| o.error.clone()) {
        res.status = "failed";
        res.reason = e;
        return Ok(());
    }
    let exact = outs.iter().all(|(_, o)| o.exact);
    res.status = if exact { "passed" } else { "failed" };
    res.calls_ok = outs.iter().all(|(_, o)| o.calls);
    res.expected = outs.iter().map(|(_, o)| o.expected).sum();
    res.matched = outs.iter().map(|(_, o)| o.matched).sum();
    if dropped > 0 {
        // Said for a passed test too: what its verdict is made of.
        res.reason = format!(
            "{} of {} programs compared; {dropped} passed over as try_run_prog does (e.g. {})",
            outs.len(),
            all.len(),
            first_drop()
        );
    }
    if !exact {
        let dir = args.out.join("diffs");
        std::fs::create_dir_all(&dir)?;
        let mut text = format!("# {}\n", res.name);
        for (k, o) in outs.iter().filter(|(_, o)| !o.exact) {
            text.push_str(&format!("# step {}: {}\n{}", k + 1, o.label, o.diff));
        }
        std::fs::write(dir.join(format!("{}.diff", res.name)), text)?;
    }
    Ok(())
}

/// Records a step's outcome; the test's verdict once all its steps have
/// one.
fn settle(
    args: &Config,
    mapped: &BTreeMap<String, (String, usize, spec::Step, options::Mapped)>,
    outcomes: &mut BTreeMap<String, Vec<Option<StepOutcome>>>,
    results: &mut BTreeMap<String, TestResult>,
    id: &str,
    mut o: StepOutcome,
) -> Result<()> {
    let (test, k, step, _) = &mapped[id];
    o.dropped = step.optional && o.prog_skip;
    o.label = if step.direct {
        std::mem::take(&mut o.label)
    } else if step.negative {
        format!(
            "../{} (negative set: strace prints no line of it)",
            step.prog
        )
    } else {
        format!("../{} {}", step.prog, step.prog_args.join(" "))
    };
    let slots = outcomes.get_mut(test).expect("every job has a test");
    slots[*k] = Some(o);
    if slots.iter().all(Option::is_some) {
        let outs: Vec<StepOutcome> = slots.drain(..).flatten().collect();
        let res = results.get_mut(test).expect("every test has a result");
        verdict(args, &outs, res)?;
    }
    Ok(())
}

/// A program run with no arguments, redirections or faults: what a
/// negative step of test_trace_expr (`../PROG` traced) is judged on.
fn plain(j: &guest::Job) -> bool {
    j.args.is_empty()
        && j.redirections.is_empty()
        && j.inject.is_empty()
        && j.env.is_empty()
        && j.wrapper.is_empty()
}

/// The options of a negative step without its one `-e trace=` set, when
/// its set can be joined with others' (no `!`, which a union would
/// turn around; no `-f`): the key of the steps judged by one replay.
fn union_key(m: &options::Mapped) -> Option<Vec<String>> {
    let [t] = m.trace.as_slice() else { return None };
    if t.is_empty() || t.contains('!') || m.follow || !m.inject.is_empty() {
        return None;
    }
    let is_trace = |v: &str| match v.split_once('=') {
        None => true,
        Some((q, _)) => q == "trace" || q == "t",
    };
    let mut key = Vec::new();
    let mut i = 0;
    while i < m.pass.len() {
        let w = &m.pass[i];
        if w == "-e" && m.pass.get(i + 1).is_some_and(|v| is_trace(v)) {
            i += 2;
            continue;
        }
        if !w.starts_with("--trace=") {
            key.push(w.clone());
        }
        i += 1;
    }
    Some(key)
}

/// The negative steps of one program (each: strace prints nothing of
/// its plain run with the test's options), judged on a plain run's
/// recording. The steps whose options differ only in their `-e trace=`
/// set are replayed once with the union of their sets (`-e
/// trace=A,B,...`, what a comma means in strace's expression): no line
/// then means no line for each. Any line (or a replay error) sends each
/// step of the group to a replay of its own, so a failure names its test
/// and program exactly as a replay per step would. ~28 tests x ~800
/// programs: this keeps it to ~2 replays per program.
fn judge_negatives(
    args: &Config,
    steps: &[(&spec::Step, &options::Mapped)],
    rec: &Path,
    r: &guest::ProgResult,
) -> Result<Vec<StepOutcome>> {
    let mut outs: Vec<Option<StepOutcome>> = vec![None; steps.len()];
    let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
    for (i, (_, m)) in steps.iter().enumerate() {
        if let Some(key) = union_key(m) {
            groups.entry(key).or_default().push(i);
        }
    }
    if prog_skip(r, 0).is_none() {
        for (key, idx) in groups.iter().filter(|(_, v)| v.len() > 1) {
            let sets: Vec<&str> = idx.iter().map(|&i| steps[i].1.trace[0].as_str()).collect();
            let mut m = steps[idx[0]].1.clone();
            m.trace = vec![sets.join(",")];
            m.pass = key.clone();
            m.pass
                .extend(["-e".to_string(), format!("trace={}", m.trace[0])]);
            let o = judge(args, steps[idx[0]].0, &m, rec, r)?;
            if o.exact && o.skip.is_none() && o.error.is_none() && o.unsupported.is_empty() {
                for &i in idx {
                    outs[i] = Some(o.clone());
                }
            }
        }
    }
    steps
        .iter()
        .zip(outs)
        .map(|((s, m), o)| match o {
            Some(o) => Ok(o),
            None => judge(args, s, m, rec, r),
        })
        .collect()
}

/// The option a failed replay refused, from its error message: clap's
/// "unexpected argument 'X'", vstrace's "error: OPT: why", or a filter
/// the engine did not accept (`-e trace=`).
pub fn refused_option(err: &str, m: &options::Mapped) -> String {
    if let Some(rest) = err.split("unexpected argument '").nth(1) {
        if let Some((opt, _)) = rest.split_once('\'') {
            return opt.to_string();
        }
    }
    if err.contains("invalid replay options") {
        return format!("-e trace={}", m.trace.join(","));
    }
    match err.split("error: ").last().and_then(|r| r.split_once(':')) {
        Some((opt, _)) if opt.starts_with('-') => opt.to_string(),
        _ => err.to_string(),
    }
}

/// `pass` without the option `opt` names (as [`refused_option`] gives it:
/// `-X`, `-y/--decode-fds`, `-e verbose=none`, `--trace-path=x`), with its
/// value; None when it is not found there.
fn without_option(pass: &[String], opt: &str) -> Option<Vec<String>> {
    let spellings: Vec<&str> = opt.split('/').collect();
    let matches = |w: &str| {
        spellings.iter().any(|s| {
            let s = s.split(' ').next().unwrap_or(s);
            w == s || w.starts_with(&format!("{s}="))
        })
    };
    let mut out = Vec::with_capacity(pass.len());
    let mut found = false;
    let mut i = 0;
    while i < pass.len() {
        let w = pass[i].as_str();
        // `-e QUAL=...`: the pair goes when the qualifier is the one named.
        if w == "-e" {
            if let Some(v) = pass.get(i + 1) {
                let q = v.split('=').next().unwrap_or("");
                if opt.starts_with("-e ") && opt[3..].split('=').next() == Some(q) {
                    found = true;
                    i += 2;
                    continue;
                }
            }
        }
        if matches(w) && !w.starts_with("-e") {
            found = true;
            // A short option's value is the next word.
            let takes_value = w.len() == 2 && pass.get(i + 1).is_some_and(|n| !n.starts_with('-'));
            i += if takes_value { 2 } else { 1 };
            continue;
        }
        out.push(pass[i].clone());
        i += 1;
    }
    found.then_some(out)
}

/// The job name of step `k` of test `name` with `n` steps.
fn step_id(name: &str, k: usize, n: usize) -> String {
    if n == 1 {
        name.to_string()
    } else {
        format!("{name}+{k}")
    }
}

/// Runs the selected tests; results by test name.
pub fn run(args: &Config) -> Result<BTreeMap<String, TestResult>> {
    let families = spec::Families::load(&args.families)?;
    let progs = args.build.join("tests");
    let selected = |mut tests: Vec<spec::Test>| {
        if let Some(only) = &args.only {
            tests.retain(|t| only.contains(&t.name));
        }
        tests
    };
    let mut tests = selected(spec::load(&args.src, &args.arch)?);
    // Scripts that use what a program of the suite prints in the guest
    // (`$(../print_maxfd)`): those commands run in a guest first, then
    // the scripts are modelled again with their outputs (a few rounds,
    // for an output that depends on another).
    let mut outputs = spec::GuestOutputs::new();
    for round in 1..=3 {
        let needed: BTreeSet<String> = tests
            .iter()
            .filter_map(|t| t.skip.as_deref().and_then(crate::script::needed_output))
            .filter(|c| !outputs.contains_key(*c))
            .map(str::to_string)
            .collect();
        if needed.is_empty() {
            break;
        }
        eprintln!(
            "strace-conformance: the guest's outputs of {} commands (round {round})",
            needed.len()
        );
        let dir = args.out.join("batches").join(format!("outputs-{round}"));
        outputs.extend(guest::program_outputs(
            &args.vstrace,
            &progs,
            &dir,
            &needed,
            &args.arch,
        )?);
        tests = selected(spec::load_with(&args.src, &args.arch, &outputs)?);
    }
    if !outputs.is_empty() {
        // Added to what earlier runs found (a subset run needs only its
        // own; --list shows them all).
        std::fs::create_dir_all(&args.out)?;
        let path = args.out.join(spec::OUTPUTS_FILE);
        let mut all = spec::load_outputs(&path);
        all.extend(outputs);
        spec::save_outputs(&path, &all)?;
    }
    let build_skips: BTreeMap<String, String> =
        std::fs::read_to_string(args.build.join("build-skipped.tsv"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    let _ = std::fs::remove_dir_all(args.out.join("diffs"));
    std::fs::create_dir_all(&args.out)?;

    let mut results: BTreeMap<String, TestResult> = BTreeMap::new();
    let mut jobs = Vec::new();
    // Job id -> (test, step index, step, mapped options).
    let mut mapped = BTreeMap::new();
    // Test -> its steps' outcomes, filled as their runs come back.
    let mut outcomes: BTreeMap<String, Vec<Option<StepOutcome>>> = BTreeMap::new();
    // Program -> the negative steps waiting for a plain run of it.
    let mut waiting: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Steps of optional programs not built: (job id, why).
    let mut unbuilt = Vec::new();
    // Direct invocations of the tracer, run on the host (run/direct.rs).
    let mut direct_ids = Vec::new();
    for t in &tests {
        // A direct invocation's argv is the tracer's whole command line,
        // bad options included on purpose: nothing to map.
        let maps: Vec<options::Mapped> = t
            .steps
            .iter()
            .map(|s| match s.direct {
                true => options::Mapped::default(),
                false => options::map(&s.options),
            })
            .collect();
        let mut unsupported = t.unsupported.clone();
        for m in &maps {
            unsupported.extend(m.unsupported.iter().cloned());
        }
        let mut r = TestResult::new(t, families.of(&t.name), unsupported);
        // An optional program not built is passed over (see below).
        let missing = t
            .steps
            .iter()
            .filter(|s| !s.optional && !s.direct)
            .find_map(|s| s.progs().into_iter().find(|p| !progs.join(p).is_file()));
        if let Some(s) = &t.skip {
            r.reason = s.clone();
        } else if let Some(p) = missing {
            r.reason = build_skips
                .get(&p)
                .cloned()
                .unwrap_or_else(|| format!("program {p} not built"));
        } else {
            let n = t.steps.len();
            outcomes.insert(t.name.clone(), (0..n).map(|_| None).collect());
            for (k, (s, m)) in t.steps.iter().zip(maps).enumerate() {
                let id = step_id(&t.name, k, n);
                mapped.insert(id.clone(), (t.name.clone(), k, s.clone(), m.clone()));
                if s.direct {
                    direct_ids.push(id);
                    continue;
                }
                if let Some(p) = s.progs().into_iter().find(|p| !progs.join(p).is_file()) {
                    let why = build_skips
                        .get(&p)
                        .cloned()
                        .unwrap_or_else(|| format!("program {p} not built"));
                    unbuilt.push((id, why));
                    continue;
                }
                if s.negative {
                    waiting.entry(s.prog.clone()).or_default().push(id);
                    continue;
                }
                jobs.push(guest::Job {
                    test: id.clone(),
                    prog: s.prog.clone(),
                    args: s.prog_args.clone(),
                    redirections: s.redirections.clone(),
                    strsize: m.strsize.unwrap_or(32),
                    follow: m.follow,
                    stream_wide: m.stream_wide(),
                    verbose: m.verbose,
                    stack: m.stack,
                    inject: m.inject.clone(),
                    trace: m.trace.clone(),
                    // The program strace runs under goes into the guest too.
                    locks: spec::locked_files(&args.src.join("tests"), &s.prog)
                        .into_iter()
                        .chain(
                            s.wrapper
                                .first()
                                .map(|w| w.trim_start_matches("../").into()),
                        )
                        .collect(),
                    prep: s.prep.clone(),
                    attach: s.attach.clone(),
                    env: s.exports.iter().chain(&m.env).cloned().collect(),
                    on_path: s.on_path,
                    wrapper: s.wrapper.clone(),
                });
            }
        }
        results.insert(t.name.clone(), r);
    }
    for id in direct_ids {
        let o = direct::judge(&args.vstrace, &mapped[&id].2)?;
        settle(args, &mapped, &mut outcomes, &mut results, &id, o)?;
    }
    for (id, why) in unbuilt {
        let o = StepOutcome {
            skip: Some(why),
            prog_skip: true,
            ..Default::default()
        };
        settle(args, &mapped, &mut outcomes, &mut results, &id, o)?;
    }
    // The negative steps' programs: judged on the first plain run of each
    // in the measurement (a test's own `../PROG` run), or on one added
    // for them.
    let have: BTreeSet<String> = jobs
        .iter()
        .filter(|j| plain(j))
        .map(|j| j.prog.clone())
        .collect();
    for prog in waiting.keys().filter(|p| !have.contains(*p)) {
        jobs.push(guest::Job::plain(
            format!("{prog}.plain"),
            prog.clone(),
            Vec::new(),
        ));
    }

    // Guest runs; steps not reached because a run stopped early get one
    // more run in later batches.
    let mut pending = guest::batches(jobs, args.batch);
    let mut retried = BTreeSet::new();
    // Steps whose live run vstrace refused (their outcome), waiting for a
    // plain run of their program: the script's own `run_prog` comes
    // first and skips the test where the program skips itself (a call
    // of another architecture, which strace refuses to inject as well).
    let mut refused: BTreeMap<String, StepOutcome> = BTreeMap::new();
    let mut n = 0;
    while let Some(batch) = pending.pop() {
        n += 1;
        let dir = args.out.join("batches").join(n.to_string());
        eprintln!("strace-conformance: batch {n}: {} programs", batch.len());
        let t0 = std::time::Instant::now();
        let run = guest::run_batch(&args.vstrace, &progs, &dir, &batch, &args.arch)?;
        let t1 = std::time::Instant::now();
        let mut again = Vec::new();
        for j in &batch {
            let got: std::result::Result<&guest::ProgResult, StepOutcome> = match run
                .results
                .get(&j.test)
            {
                Some(r) => Ok(r),
                // The guest never ran the script: vstrace refused the run
                // (e.g. an --inject spec it does not accept).
                // A guest that ran nothing (a boot that failed under
                // load: "IO-APIC + timer doesn't work") gets one more try.
                None if run.results.is_empty()
                    && run.interrupted.is_none()
                    && retried.insert(j.test.clone()) =>
                {
                    again.push(j.clone());
                    continue;
                }
                None if run.results.is_empty() && run.interrupted.is_none() => {
                    let refusal = refused_options(run.status, run.error.as_deref());
                    let o = StepOutcome {
                        error: Some(format!(
                            "vstrace run failed (status {:?}): {}",
                            run.status,
                            run.error.as_deref().unwrap_or("see the batch's stderr")
                        )),
                        // Unsupported only when vstrace refused the spec; a
                        // run that failed otherwise (a guest that did not
                        // boot twice on a loaded machine) is a failure of
                        // its own, not a missing option.
                        unsupported: if refusal {
                            j.inject.iter().map(|s| format!("-e inject={s}")).collect()
                        } else {
                            Vec::new()
                        },
                        ..Default::default()
                    };
                    if refusal && !j.inject.is_empty() && !refused.contains_key(&j.test) {
                        let mut probe = j.clone();
                        probe.inject.clear();
                        probe.trace.clear();
                        refused.insert(j.test.clone(), o);
                        again.push(probe);
                        continue;
                    }
                    Err(o)
                }
                None if run.interrupted.as_deref() == Some(j.test.as_str()) => Err(StepOutcome {
                    error: Some(format!(
                        "the guest run stopped in this test (vstrace status {:?}, see {})",
                        run.status,
                        dir.display()
                    )),
                    ..Default::default()
                }),
                None if retried.insert(j.test.clone()) => {
                    again.push(j.clone());
                    continue;
                }
                None => Err(StepOutcome {
                    skip: Some("not reached: the guest runs stopped early twice".into()),
                    ..Default::default()
                }),
            };
            // A refused step's plain run: the test skips where the
            // program skips itself, else the refusal stands.
            let own = match (refused.remove(&j.test), &got) {
                (Some(o), Ok(r)) => Err(match prog_skip(r, 0) {
                    Some(s) => StepOutcome {
                        skip: Some(s),
                        prog_skip: true,
                        ..Default::default()
                    },
                    None => o,
                }),
                (Some(o), Err(_)) => Err(o),
                (None, got) => got.clone(),
            };
            // The job's own step (an added plain run has none).
            if let Some((_, _, step, m)) = mapped.get(&j.test) {
                let out = match own {
                    Ok(r) => judge(args, step, m, &run.recording, r)?,
                    Err(ref o) => o.clone(),
                };
                settle(args, &mapped, &mut outcomes, &mut results, &j.test, out)?;
            }
            // The negative steps waiting for this program's plain run.
            if plain(j) {
                if let Some(ids) = waiting.remove(&j.prog) {
                    let steps: Vec<(&spec::Step, &options::Mapped)> = ids
                        .iter()
                        .map(|id| (&mapped[id].2, &mapped[id].3))
                        .collect();
                    let outs = match got {
                        Ok(r) => judge_negatives(args, &steps, &run.recording, r)?,
                        Err(ref o) => vec![o.clone(); ids.len()],
                    };
                    for (id, o) in ids.iter().zip(outs) {
                        settle(args, &mapped, &mut outcomes, &mut results, id, o)?;
                    }
                }
            }
        }
        // The split of the time, for whoever weighs the measurement's cost.
        eprintln!(
            "strace-conformance: batch {n}: guest run {:.0} s, replays {:.0} s",
            (t1 - t0).as_secs_f64(),
            t1.elapsed().as_secs_f64()
        );
        if !again.is_empty() {
            pending.extend(guest::batches(again, args.batch));
        }
        // Recordings are large; keep them only for batches with failures.
        if run.interrupted.is_none()
            && std::env::var_os("KEEP_RECORDINGS").is_none()
            && std::env::var_os("REUSE_RECORDINGS").is_none()
        {
            let _ = std::fs::remove_file(&run.recording);
        }
    }

    Ok(results)
}

/// Whether vstrace refused the run's options before any guest started:
/// a usage error (status 2: an option the command line does not know),
/// `invalid tracing options: ...` as its first error line, or strace's
/// own diagnostic of a bad qualifier (`vstrace: invalid system call
/// 'kern_features'`, status 1).
fn refused_options(status: Option<i32>, error: Option<&str>) -> bool {
    status == Some(2)
        || error.is_some_and(|e| {
            e.contains("invalid tracing options")
                || (status == Some(1) && e.starts_with("vstrace: invalid "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refusal_makes_an_inject_spec_unsupported() {
        let refusal =
            "vstrace: error: invalid tracing options: --inject \"x:bogus=1\": unsupported key";
        assert!(refused_options(Some(1), Some(refusal)));
        assert!(refused_options(
            Some(2),
            Some("error: unexpected argument '--x' found")
        ));
        // A guest that did not boot is not an option vstrace lacks.
        assert!(!refused_options(
            Some(70),
            Some("vstrace: error: the guest kernel panicked")
        ));
        assert!(!refused_options(Some(1), None));
        // strace's diagnostic of a bad qualifier, before any guest.
        assert!(refused_options(
            Some(1),
            Some("vstrace: invalid system call 'kern_features'")
        ));
    }

    #[test]
    fn merged_logs_have_whole_calls() {
        let v: Vec<String> = [
            "10 12:00:00.000001 accept(0,  <unfinished ...>",
            "11 12:00:00.000002 connect(1, {sa_family=AF_UNIX}, 19) = 0",
            "10 12:00:00.000003 <... accept resumed>{sa_family=AF_UNIX}, [19]) = 1",
            "11 12:00:00.000004 +++ exited with 0 +++",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            compare::join_resumed(v),
            [
                "10 12:00:00.000001 accept(0, {sa_family=AF_UNIX}, [19]) = 1",
                "11 12:00:00.000002 connect(1, {sa_family=AF_UNIX}, 19) = 0",
                "11 12:00:00.000004 +++ exited with 0 +++",
            ]
        );
    }

    /// Negative steps that differ only in their trace set share a replay;
    /// a negated set or several sets do not.
    #[test]
    fn union_keys() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = options::map(&w(&["-qq", "-esignal=none", "-e%stat", "-v", "-P", "x"]));
        let b = options::map(&w(&[
            "-qq",
            "-esignal=none",
            "-e",
            "trace=/^stat",
            "-v",
            "-P",
            "x",
        ]));
        let c = options::map(&w(&["-qq", "-esignal=none", "--trace=getcwd@64"]));
        assert_eq!(union_key(&a), union_key(&b));
        assert_eq!(
            union_key(&a).unwrap(),
            w(&["-q", "-q", "-e", "signal=none", "-v", "-P", "x"])
        );
        assert_eq!(
            union_key(&c).unwrap(),
            w(&["-q", "-q", "-e", "signal=none"])
        );
        assert!(union_key(&options::map(&w(&["-e", "trace=!open"]))).is_none());
        assert!(union_key(&options::map(&w(&["-eopen", "-eclose"]))).is_none());
    }

    #[test]
    fn refused_options_are_left_out() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let pass = w(&[
            "-a",
            "30",
            "--trace-path=x",
            "-e",
            "verbose=none",
            "-X",
            "raw",
            "-y",
            "-y",
        ]);
        assert_eq!(
            without_option(&pass, "-P/--trace-path").unwrap(),
            w(&["-a", "30", "-e", "verbose=none", "-X", "raw", "-y", "-y"])
        );
        assert_eq!(
            without_option(&pass, "-e verbose=none").unwrap(),
            w(&["-a", "30", "--trace-path=x", "-X", "raw", "-y", "-y"])
        );
        assert_eq!(
            without_option(&pass, "-X raw").unwrap(),
            w(&[
                "-a",
                "30",
                "--trace-path=x",
                "-e",
                "verbose=none",
                "-y",
                "-y"
            ])
        );
        assert_eq!(
            without_option(&pass, "-y/--decode-fds").unwrap().len(),
            pass.len() - 2
        );
        assert!(without_option(&pass, "-k").is_none());
        let m = options::Mapped::default();
        assert_eq!(
            refused_option(
                "vstrace replay failed (exit status: 2): vstrace: error: -X raw: not supported",
                &m
            ),
            "-X raw"
        );
        assert_eq!(
            refused_option("failed: error: unexpected argument '--foo' found", &m),
            "--foo"
        );
    }
}
