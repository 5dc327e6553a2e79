//! The report: a table per family and the totals (text and JSON), the
//! unsupported options and skip reasons counted, the list of passing tests,
//! and the regression check against a committed list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, Result};
use serde_json::json;

use crate::options;
use crate::run::{Config, TestResult};

/// Writes report.json, report.txt and passing.txt; prints the table.
pub fn write(args: &Config, results: &BTreeMap<String, TestResult>) -> Result<()> {
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
        let keys: BTreeSet<String> = r
            .unsupported
            .iter()
            .map(|o| options::option_key(o))
            .collect();
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
         calls = syscall lines identical, exit/signal lines aside (passed ones included); fraction = mean share of expected lines matched, over run tests)\n\
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
            if ran > 0 {
                100.0 * r.frac_sum / ran as f64
            } else {
                0.0
            }
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
        let key: String = r
            .reason
            .split(':')
            .next()
            .unwrap_or("")
            .chars()
            .take(70)
            .collect();
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
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_string_pretty(&doc)?,
    )?;
    let mut passing =
        String::from("# test  level (exact: identical output; calls: syscall lines identical)\n");
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
pub fn check_passing(check: &Path, results: &BTreeMap<String, TestResult>) -> Result<()> {
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
    eprintln!(
        "strace-conformance: {checked} known-passing tests checked, {} regressed",
        bad.len()
    );
    if !bad.is_empty() {
        bail!("regressions:\n{}", bad.join("\n"));
    }
    Ok(())
}
