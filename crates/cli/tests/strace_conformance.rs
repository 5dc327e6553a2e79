//! Regression guard on strace's own test suite: a fixed subset of strace's
//! tests (crates/cli/tests/data/strace-conformance-ci.txt, spread over the
//! syscall families) runs through the same machinery as the full
//! measurement (scripts/strace-conformance.sh: Debian's strace source
//! fetched and its test programs built statically; the comparer of
//! crates/cli/examples/strace_conformance, whose modules are compiled into
//! this test), and every test of the subset that the last full run found
//! passing (crates/cli/tests/data/strace-conformance-passing.txt, written
//! by that run) must still pass at the same level. The i386 guard does
//! the same with the programs built with `-m32` on the i386 (686)
//! kernel's guest: every test of
//! crates/cli/tests/data/strace-conformance-i386-ci.txt (measured passing
//! there) must still pass.

#[allow(dead_code)]
#[path = "../examples/strace_conformance/compare.rs"]
mod compare;
#[allow(dead_code)]
#[path = "../examples/strace_conformance/guest.rs"]
mod guest;
#[allow(dead_code)]
#[path = "../examples/strace_conformance/options.rs"]
mod options;
#[allow(dead_code)]
#[path = "../examples/strace_conformance/report.rs"]
mod report;
#[allow(dead_code)]
#[path = "../examples/strace_conformance/run.rs"]
mod run;
#[allow(dead_code)]
#[path = "../examples/strace_conformance/script.rs"]
mod script;

#[path = "../examples/strace_conformance/spec.rs"]
mod spec;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs scripts/strace-conformance.sh with `args` and `flag` and returns its
/// `KEY=VALUE` lines' value for `key`.
fn script(flag: &str, args: &[&str], env: Option<(&str, &Path)>, key: &str) -> String {
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("scripts/strace-conformance.sh"))
        .args(args)
        .arg(flag);
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "strace-conformance.sh {flag} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in {text}"))
        .to_string()
}

/// The test names of a data file (`NAME ...` lines, `#` comments).
fn names(file: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Builds the programs of `subset` for `arch` (unless a full build is
/// cached), runs them through the comparer and writes its report into a
/// fresh directory; the results and that directory.
fn run_subset(
    arch: &str,
    subset: &BTreeSet<String>,
) -> (std::collections::BTreeMap<String, run::TestResult>, PathBuf) {
    let src = PathBuf::from(script("--fetch-only", &[], None, "SRC"));
    let tests = spec::load(&src, arch).expect("strace's tests/gen_tests.in");
    let progs: BTreeSet<String> = tests
        .iter()
        .filter(|t| subset.contains(&t.name))
        .flat_map(|t| t.progs())
        .collect();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("conformance-{arch}-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let list = tmp.join("programs.txt");
    std::fs::write(
        &list,
        progs.iter().map(|p| format!("{p}\n")).collect::<String>(),
    )
    .unwrap();
    let build = PathBuf::from(script(
        "--build-only",
        &["--arch", arch],
        Some(("STRACE_CONFORMANCE_PROGRAMS", &list)),
        "BUILD",
    ));
    let version = script("--fetch-only", &[], None, "VERSION");

    let cfg = run::Config {
        src,
        build,
        version,
        vstrace: PathBuf::from(env!("CARGO_BIN_EXE_vstrace")),
        out: tmp.clone(),
        families: repo().join("scripts/strace-conformance-families.txt"),
        only: Some(subset.clone()),
        batch: 40,
        arch: arch.into(),
    };
    let results = run::run(&cfg).expect("the conformance run");
    report::write(&cfg, &results).expect("the report");
    assert_eq!(
        results.len(),
        subset.len(),
        "every listed test is in the suite"
    );
    (results, tmp)
}

#[test]
fn strace_suite_subset_still_passes() {
    let data = repo().join("crates/cli/tests/data");
    let subset = names(&data.join("strace-conformance-ci.txt"));
    assert!(
        subset.len() >= 150,
        "the CI subset lists {} tests",
        subset.len()
    );
    let (results, tmp) = run_subset("x86_64", &subset);
    let ran = results.values().filter(|r| r.status != "skipped").count();
    assert!(
        ran >= 100,
        "only {ran} of the subset ran; see {}",
        tmp.display()
    );
    report::check_passing(&data.join("strace-conformance-passing.txt"), &results)
        .unwrap_or_else(|e| panic!("{e:#}\n(diffs in {})", tmp.join("diffs").display()));
}

/// The i386 guard: the programs built with `-m32` on the i386 (686)
/// kernel's guest (its profile from the kernel's debug info, made once by
/// the committed script). Every test of the list (measured passing on
/// i386, spread over the families, small enough for one or two guest
/// boots) must pass at its level.
#[test]
fn strace_suite_i386_subset_still_passes() {
    let data = repo().join("crates/cli/tests/data");
    let file = data.join("strace-conformance-i386-ci.txt");
    let subset = names(&file);
    let status = Command::new(repo().join("scripts/i386-profile.sh"))
        .env("VSTRACE_BIN", env!("CARGO_BIN_EXE_vstrace"))
        .status()
        .expect("scripts/i386-profile.sh runs");
    assert!(status.success(), "scripts/i386-profile.sh failed");
    let (results, tmp) = run_subset("i386", &subset);
    let ran = results.values().filter(|r| r.status != "skipped").count();
    assert_eq!(ran, subset.len(), "a test of the i386 subset was skipped");
    report::check_passing(&file, &results)
        .unwrap_or_else(|e| panic!("{e:#}\n(diffs in {})", tmp.join("diffs").display()));
}
