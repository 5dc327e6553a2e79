//! strace's test suite as a specification for vstrace's decoding: runs
//! strace's test programs (built by scripts/strace-conformance.sh) in
//! guests under vstrace and compares each test's trace with the lines the
//! program printed. See scripts/strace-conformance.sh for the whole flow,
//! spec.rs for what a test asks, options.rs for the option mapping,
//! compare.rs for the normalisations, guest.rs for the guest runs.
//!
//! A test is:
//! - passed: exact match (exit and signal lines included);
//! - failed: it ran and its trace differs (the "calls" column counts the
//!   failed ones whose syscall lines all match, exit/signal lines aside);
//! - skipped: not run, with the reason (no static build, test script not
//!   modelled, needs fault injection, the program itself exited non-zero
//!   or 77 in the guest, timed out).

mod compare;
mod guest;
mod options;
mod spec;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// Command-line arguments.
struct Args {
    src: PathBuf,
    build: PathBuf,
    version: String,
    vstrace: PathBuf,
    out: PathBuf,
    families: PathBuf,
    only: Option<BTreeSet<String>>,
    batch: usize,
    check: Option<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut a = std::env::args().skip(1);
    let mut src = None;
    let mut build = None;
    let mut version = String::from("unknown");
    let mut vstrace = PathBuf::from("target/release/vstrace");
    let mut out = PathBuf::from("target/conformance");
    let mut families = PathBuf::from("scripts/strace-conformance-families.txt");
    let mut only: Option<BTreeSet<String>> = None;
    let mut batch = 40;
    let mut check = None;
    while let Some(k) = a.next() {
        let mut v = || a.next().with_context(|| format!("{k} needs a value"));
        match k.as_str() {
            "--src" => src = Some(PathBuf::from(v()?)),
            "--build" => build = Some(PathBuf::from(v()?)),
            "--version" => version = v()?,
            "--vstrace" => vstrace = PathBuf::from(v()?),
            "--out" => out = PathBuf::from(v()?),
            "--families" => families = PathBuf::from(v()?),
            "--only" => {
                only.get_or_insert_with(BTreeSet::new)
                    .extend(v()?.split(',').map(str::to_string));
            }
            "--only-file" => {
                let text = std::fs::read_to_string(v()?)?;
                only.get_or_insert_with(BTreeSet::new).extend(
                    text.lines()
                        .filter(|l| !l.starts_with('#'))
                        .filter_map(|l| l.split_whitespace().next())
                        .map(str::to_string),
                );
            }
            "--batch" => batch = v()?.parse().context("--batch N")?,
            "--check" => check = Some(PathBuf::from(v()?)),
            _ => bail!("unknown argument {k}"),
        }
    }
    Ok(Args {
        src: src.context("--src DIR (the strace source tree)")?,
        build: build.context("--build DIR (the configured build tree)")?,
        version,
        vstrace,
        out,
        families,
        only,
        batch: batch.max(1),
        check,
    })
}

/// One test's result.
#[derive(Debug, Clone)]
struct TestResult {
    name: String,
    family: String,
    status: &'static str,
    reason: String,
    options: Vec<String>,
    unsupported: Vec<String>,
    calls_ok: bool,
    expected: usize,
    matched: usize,
}

impl TestResult {
    fn new(t: &spec::Test, family: &str, m: &options::Mapped) -> Self {
        TestResult {
            name: t.name.clone(),
            family: family.to_string(),
            status: "skipped",
            reason: String::new(),
            options: t.options.clone(),
            unsupported: m.unsupported.clone(),
            calls_ok: false,
            expected: 0,
            matched: 0,
        }
    }

    fn json(&self) -> Value {
        json!({
            "name": self.name, "family": self.family, "status": self.status,
            "reason": self.reason, "options": self.options,
            "unsupported_options": self.unsupported, "calls_match": self.calls_ok,
            "expected_lines": self.expected, "matched_lines": self.matched,
        })
    }
}

/// Skip reasons from the guest's view of the program.
fn prog_skip(r: &guest::ProgResult) -> Option<String> {
    let err = String::from_utf8_lossy(&r.stderr);
    let first = err.lines().next().unwrap_or("").trim();
    match r.rc {
        0 => None,
        77 => Some(format!("the program skips itself in the guest (77): {first}")),
        137 => Some(format!("killed after {} s (timeout)", guest::PROG_TIMEOUT)),
        rc => Some(format!("the program fails in the guest (exit {rc}): {first}")),
    }
}

/// Compares one test's trace with the program's output.
fn judge(
    args: &Args,
    t: &spec::Test,
    m: &options::Mapped,
    rec: &Path,
    r: &guest::ProgResult,
    res: &mut TestResult,
) -> Result<()> {
    if let Some(reason) = prog_skip(r) {
        res.reason = reason;
        return Ok(());
    }
    let comm = guest::comm_of(&t.prog);
    let raw = match guest::replay(&args.vstrace, rec, &comm, &m.trace, m.strsize) {
        Ok(raw) => raw,
        Err(e) => {
            // The filter itself is not accepted: an unsupported option.
            res.status = "failed";
            res.reason = e;
            res.unsupported.push(format!("-e trace={}", m.trace.join(",")));
            return Ok(());
        }
    };
    let pid_tag = format!("[pid {:>5}]", r.pid);
    let mut actual: Vec<String> = raw
        .lines()
        .filter(|l| m.follow || !l.starts_with("[pid ") || l.starts_with(&pid_tag))
        .map(|l| compare::normalize(l, m.follow))
        .filter(|l| !l.is_empty())
        .collect();
    actual = apply_filters(actual, &t.filters);
    let expected: Vec<String> = String::from_utf8_lossy(&r.stdout)
        .lines()
        .map(|l| compare::normalize(l, false))
        .filter(|l| !l.is_empty())
        .collect();
    let o = compare::compare(&expected, &actual);
    res.status = if o.exact { "passed" } else { "failed" };
    res.calls_ok = o.calls;
    res.expected = o.expected;
    res.matched = o.matched;
    if !o.exact {
        let dir = args.out.join("diffs");
        std::fs::create_dir_all(&dir)?;
        let head = format!(
            "# {}: vstrace replay --comm {comm} -e trace={} -s {:?}\n# unsupported: {:?}\n",
            t.name,
            m.trace.join(","),
            m.strsize,
            res.unsupported
        );
        std::fs::write(dir.join(format!("{}.diff", t.name)), head + &o.diff)?;
    }
    Ok(())
}

/// The test script's cuts of strace's log, applied to vstrace's trace.
fn apply_filters(mut v: Vec<String>, filters: &[spec::LogFilter]) -> Vec<String> {
    for f in filters {
        v = match f {
            spec::LogFilter::StartAt(mark) => match v.iter().position(|l| l.contains(mark.as_str())) {
                Some(i) => v.split_off(i),
                None => Vec::new(),
            },
            spec::LogFilter::DropThrough { prefix, contains } => {
                match v.iter().position(|l| l.starts_with(prefix.as_str()) && l.contains(contains.as_str())) {
                    Some(i) => v.split_off(i + 1),
                    None => v,
                }
            }
            spec::LogFilter::DropStdioIoctls => v
                .into_iter()
                .filter(|l| {
                    let b = l.as_bytes();
                    !(l.starts_with("ioctl(")
                        && b.len() > 7
                        && matches!(b[6], b'0'..=b'2')
                        && matches!(b[7], b',' | b'<'))
                })
                .collect(),
            spec::LogFilter::Uniq => {
                let mut out: Vec<String> = Vec::new();
                for l in v {
                    if out.last() != Some(&l) {
                        out.push(l);
                    }
                }
                out
            }
        };
    }
    v
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let families = spec::Families::load(&args.families)?;
    let mut tests = spec::load(&args.src)?;
    if let Some(only) = &args.only {
        tests.retain(|t| only.contains(&t.name));
    }
    let progs = args.build.join("tests");
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
    let mut mapped = BTreeMap::new();
    for t in &tests {
        let m = options::map(&t.options);
        let mut r = TestResult::new(t, families.of(&t.name), &m);
        if let Some(s) = &t.skip {
            r.reason = s.clone();
        } else if !progs.join(&t.prog).is_file() {
            r.reason = build_skips
                .get(&t.prog)
                .cloned()
                .unwrap_or_else(|| format!("program {} not built", t.prog));
        } else if !m.inject.is_empty() {
            r.reason = format!(
                "fault injection (-e inject={}) needs a guest run of its own: not run by the batch runner",
                m.inject.join(",")
            );
        } else {
            jobs.push(guest::Job {
                test: t.name.clone(),
                prog: t.prog.clone(),
                args: t.prog_args.clone(),
                redirections: t.redirections.clone(),
                strsize: m.strsize.unwrap_or(32),
            });
        }
        mapped.insert(t.name.clone(), (t.clone(), m));
        results.insert(t.name.clone(), r);
    }

    // Guest runs; tests not reached because a run stopped early get one
    // more run in later batches.
    let mut pending = guest::batches(jobs, args.batch);
    let mut retried = BTreeSet::new();
    let mut n = 0;
    while let Some(batch) = pending.pop() {
        n += 1;
        let dir = args.out.join("batches").join(n.to_string());
        eprintln!("strace-conformance: batch {n}: {} programs", batch.len());
        let run = guest::run_batch(&args.vstrace, &progs, &dir, &batch)?;
        let mut again = Vec::new();
        for j in &batch {
            let (t, m) = &mapped[&j.test];
            let res = results.get_mut(&j.test).expect("every job has a result");
            match run.results.get(&j.test) {
                Some(r) => judge(&args, t, m, &run.recording, r, res)?,
                None if run.interrupted.as_deref() == Some(j.test.as_str()) => {
                    res.status = "failed";
                    res.reason = format!(
                        "the guest run stopped in this test (vstrace status {:?}, see {})",
                        run.status,
                        dir.display()
                    );
                }
                None if retried.insert(j.test.clone()) => again.push(j.clone()),
                None => res.reason = "not reached: the guest runs stopped early twice".into(),
            }
        }
        if !again.is_empty() {
            pending.extend(guest::batches(again, args.batch));
        }
        // Recordings are large; keep them only for batches with failures.
        if run.interrupted.is_none() && std::env::var_os("KEEP_RECORDINGS").is_none() {
            let _ = std::fs::remove_file(&run.recording);
        }
    }

    report(&args, &results)?;
    if let Some(check) = &args.check {
        return check_passing(check, &results);
    }
    Ok(())
}

/// Writes report.json, report.txt and passing.txt; prints the table.
fn report(args: &Args, results: &BTreeMap<String, TestResult>) -> Result<()> {
    #[derive(Default)]
    struct Row {
        tests: usize,
        passed: usize,
        calls: usize,
        failed: usize,
        skipped: usize,
        frac_sum: f64,
    }
    let mut fam: BTreeMap<String, Row> = BTreeMap::new();
    let mut total = Row::default();
    let mut unsupported: BTreeMap<String, usize> = BTreeMap::new();
    for r in results.values() {
        for row in [fam.entry(r.family.clone()).or_default(), &mut total] {
            row.tests += 1;
            match r.status {
                "passed" => row.passed += 1,
                "failed" => row.failed += 1,
                _ => row.skipped += 1,
            }
            if r.calls_ok {
                row.calls += 1;
            }
            if r.status != "skipped" && r.expected > 0 {
                row.frac_sum += r.matched as f64 / r.expected as f64;
            } else if r.status == "passed" {
                row.frac_sum += 1.0;
            }
        }
        let keys: BTreeSet<String> = r.unsupported.iter().map(|o| options::option_key(o)).collect();
        for k in keys {
            *unsupported.entry(k).or_default() += 1;
        }
    }
    let row_json = |name: &str, r: &Row| {
        let ran = r.passed + r.failed;
        json!({
            "family": name, "tests": r.tests, "passed": r.passed, "failed": r.failed,
            "skipped": r.skipped, "calls_match": r.calls,
            "pass_rate": if ran > 0 { r.passed as f64 / ran as f64 } else { 0.0 },
            "mean_fraction_matched": if ran > 0 { r.frac_sum / ran as f64 } else { 0.0 },
        })
    };
    let mut text = format!(
        "strace {} test suite under vstrace (passed = identical output incl. exit/signal lines; \
         calls = syscall lines identical; fraction = mean share of expected lines matched, over run tests)\n\
         {:<10} {:>6} {:>6} {:>6} {:>7} {:>6} {:>9}\n",
        args.version, "family", "tests", "passed", "failed", "skipped", "calls", "fraction"
    );
    let line = |name: &str, r: &Row| {
        let ran = r.passed + r.failed;
        format!(
            "{:<10} {:>6} {:>6} {:>6} {:>7} {:>6} {:>8.1}%\n",
            name,
            r.tests,
            r.passed,
            r.failed,
            r.skipped,
            r.calls,
            if ran > 0 { 100.0 * r.frac_sum / ran as f64 } else { 0.0 }
        )
    };
    for (name, r) in &fam {
        text.push_str(&line(name, r));
    }
    text.push_str(&line("TOTAL", &total));
    text.push_str("\nunsupported options (tests using them):\n");
    let mut u: Vec<_> = unsupported.iter().collect();
    u.sort_by_key(|(k, n)| (std::cmp::Reverse(**n), (*k).clone()));
    for (k, n) in &u {
        text.push_str(&format!("  {k:<20} {n}\n"));
    }
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for r in results.values().filter(|r| r.status == "skipped") {
        let key: String = r.reason.split(':').next().unwrap_or("").chars().take(70).collect();
        *reasons.entry(key).or_default() += 1;
    }
    text.push_str("\nskip reasons:\n");
    for (k, n) in &reasons {
        text.push_str(&format!("  {n:>5}  {k}\n"));
    }
    print!("{text}");
    std::fs::write(args.out.join("report.txt"), &text)?;
    let doc = json!({
        "strace_version": args.version,
        "normalisations": [
            "whitespace runs collapsed to one space, lines trimmed (alignment ignored)",
            "vstrace's [pid N] prefix removed (tests with -f: replaced by 'N ')",
            "empty lines and carriage returns ignored",
            "the test script's own cuts of the log (sed/grep/uniq lines of the shared scripts) applied to vstrace's trace"
        ],
        "exit_and_signal_lines": "compared like any other expected line; calls_match leaves them out on both sides",
        "totals": row_json("TOTAL", &total),
        "families": fam.iter().map(|(k, r)| row_json(k, r)).collect::<Vec<_>>(),
        "unsupported_options": unsupported,
        "skip_reasons": reasons,
        "tests": results.values().map(TestResult::json).collect::<Vec<_>>(),
    });
    std::fs::write(args.out.join("report.json"), serde_json::to_string_pretty(&doc)?)?;
    let mut passing = String::from("# test  level (exact: identical output; calls: syscall lines identical)\n");
    for r in results.values() {
        if r.status == "passed" {
            passing.push_str(&format!("{} exact\n", r.name));
        } else if r.calls_ok {
            passing.push_str(&format!("{} calls\n", r.name));
        }
    }
    std::fs::write(args.out.join("passing.txt"), passing)?;
    Ok(())
}

/// Fails if a test listed in `check` (`NAME exact|calls`) and run now does
/// not reach its level.
fn check_passing(check: &Path, results: &BTreeMap<String, TestResult>) -> Result<()> {
    let text = std::fs::read_to_string(check)?;
    let mut bad = Vec::new();
    let mut checked = 0;
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let mut w = l.split_whitespace();
        let (Some(name), level) = (w.next(), w.next().unwrap_or("exact")) else {
            continue;
        };
        let Some(r) = results.get(name) else { continue };
        checked += 1;
        let ok = match level {
            "calls" => r.status == "passed" || r.calls_ok,
            _ => r.status == "passed",
        };
        if !ok {
            bad.push(format!("{name} ({level}): {} {}", r.status, r.reason));
        }
    }
    eprintln!("strace-conformance: {checked} known-passing tests checked, {} regressed", bad.len());
    if !bad.is_empty() {
        bail!("regressions:\n{}", bad.join("\n"));
    }
    Ok(())
}
