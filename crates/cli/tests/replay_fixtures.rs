//! Replay regression fixtures: recordings made by
//! `scripts/make-replay-fixtures.sh` (the Linux workload with an injected
//! error and a rewritten path, and the NT-ABI x64 guest) must replay to
//! the very bytes `vstrace replay` printed when they were made, as JSON
//! Lines, as text and as a `-c` summary. A refactoring that changes what
//! a recording decodes to fails here; an intended change of the output
//! regenerates the fixtures with that script.

mod common;

use common::{replay, repo, stderr};

fn check(name: &str, args: &[&str], expected_ext: &str) {
    let dir = repo().join("tests/fixtures/replay");
    let rec = dir.join(format!("{name}.vst"));
    let want = std::fs::read(dir.join(format!("{name}.{expected_ext}"))).expect("fixture");
    let out = replay(&rec, args);
    assert!(
        out.status.success(),
        "replay {name} {args:?} failed: {}",
        stderr(&out)
    );
    // The summary goes to stderr as strace's -c does; the trace to stdout.
    let mut got = out.stdout.clone();
    if expected_ext == "summary" {
        got.extend_from_slice(&out.stderr);
    }
    if got != want {
        let g = String::from_utf8_lossy(&got);
        let w = String::from_utf8_lossy(&want);
        let first = g
            .lines()
            .zip(w.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(g.lines().count().min(w.lines().count()));
        panic!(
            "replay of {name} with {args:?} differs from the fixture at line {}:\n got: {:?}\nwant: {:?}",
            first + 1,
            g.lines().nth(first),
            w.lines().nth(first)
        );
    }
}

#[test]
fn linux_recording_replays_to_the_same_json_text_and_summary() {
    check("linux-workload", &["--json"], "jsonl");
    check("linux-workload", &[], "txt");
    check("linux-workload", &["-c"], "summary");
}

#[test]
fn windows_recording_replays_to_the_same_json_text_and_summary() {
    check("nt-abi-x64", &["--json"], "jsonl");
    check("nt-abi-x64", &[], "txt");
    check("nt-abi-x64", &["-c"], "summary");
}
