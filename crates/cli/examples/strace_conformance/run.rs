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

use anyhow::Result;
use serde_json::{json, Value};

use crate::{compare, guest, options, spec};

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

/// Skip reasons from the guest's view of the program.
fn prog_skip(r: &guest::ProgResult) -> Option<String> {
    let err = String::from_utf8_lossy(&r.stderr);
    let first = err.lines().next().unwrap_or("").trim();
    match r.rc {
        0 => None,
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
                guest::MAX_STDOUT
            )
        })
    })
}

/// Compares one test's trace with the program's output.
fn judge(
    args: &Config,
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
    // An option vstrace refuses is listed as unsupported and left out;
    // the test runs with the rest (it usually fails then, which is what
    // the measurement must show).
    let mut pass = m.pass.clone();
    let raw = loop {
        match guest::replay(&args.vstrace, rec, &comm, &pass) {
            Ok(raw) => break raw,
            Err(e) => {
                let opt = refused_option(&e, m);
                res.unsupported.push(opt.clone());
                match without_option(&pass, &opt) {
                    Some(rest) if res.unsupported.len() < 8 => pass = rest,
                    _ => {
                        res.status = "failed";
                        res.reason = e;
                        return Ok(());
                    }
                }
            }
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
            "# {}: vstrace replay --comm {comm} {}\n# unsupported: {:?}\n",
            t.name,
            pass.join(" "),
            res.unsupported
        );
        std::fs::write(dir.join(format!("{}.diff", t.name)), head + &o.diff)?;
    }
    Ok(())
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

/// The test script's cuts of strace's log, applied to vstrace's trace.
fn apply_filters(mut v: Vec<String>, filters: &[spec::LogFilter]) -> Vec<String> {
    for f in filters {
        v = match f {
            spec::LogFilter::StartAt(mark) => {
                match v.iter().position(|l| l.contains(mark.as_str())) {
                    Some(i) => v.split_off(i),
                    None => Vec::new(),
                }
            }
            spec::LogFilter::DropThrough { prefix, contains } => {
                match v
                    .iter()
                    .position(|l| l.starts_with(prefix.as_str()) && l.contains(contains.as_str()))
                {
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

/// Runs the selected tests; results by test name.
pub fn run(args: &Config) -> Result<BTreeMap<String, TestResult>> {
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
        // A test whose script is not modelled has words for that script,
        // not strace options: nothing to map or to list.
        let m = if t.skip.is_some() {
            options::Mapped::default()
        } else {
            options::map(&t.options)
        };
        let mut r = TestResult::new(t, families.of(&t.name), &m);
        if let Some(s) = &t.skip {
            r.reason = s.clone();
        } else if !progs.join(&t.prog).is_file() {
            r.reason = build_skips
                .get(&t.prog)
                .cloned()
                .unwrap_or_else(|| format!("program {} not built", t.prog));
        } else {
            jobs.push(guest::Job {
                test: t.name.clone(),
                prog: t.prog.clone(),
                args: t.prog_args.clone(),
                redirections: t.redirections.clone(),
                strsize: m.strsize.unwrap_or(32),
                inject: m.inject.clone(),
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
                Some(r) => judge(args, t, m, &run.recording, r, res)?,
                // The guest never ran the script: vstrace refused the run
                // (e.g. an --inject spec it does not accept).
                None if run.results.is_empty() && run.interrupted.is_none() => {
                    res.status = "failed";
                    res.reason = format!(
                        "vstrace run failed (status {:?}): {}",
                        run.status,
                        run.error.as_deref().unwrap_or("see the batch's stderr")
                    );
                    for spec in &j.inject {
                        res.unsupported.push(format!("-e inject={spec}"));
                    }
                }
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

    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

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
