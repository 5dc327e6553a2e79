//! Record and replay: a live run (`run` and `attach`) with `--record` and
//! its offline `vstrace replay` give byte-identical output; filters and
//! formats given at replay time apply; damaged recordings give a clear
//! error, a non-zero status and every record before the damage.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use common::*;

/// One live JSON run of the workload with `--record`, shared by the tests
/// of this file: (live JSON trace, recording).
fn recording() -> &'static (PathBuf, PathBuf) {
    static R: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    R.get_or_init(|| {
        let live = trace_path("rr-live");
        let rec = recording_path("rr");
        let out = run(&[
            "--json",
            "-o",
            live.to_str().unwrap(),
            "--record",
            rec.to_str().unwrap(),
            "--",
            "/bin/workload",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("writev-ok"), "{}", stdout(&out));
        (live, rec)
    })
}

fn lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    json_lines(&String::from_utf8_lossy(bytes))
}

#[test]
fn live_run_and_its_replay_are_byte_identical() {
    let (live, rec) = recording();
    let replayed = trace_path("rr-replayed");
    let out = replay(rec, &["--json", "-o", replayed.to_str().unwrap(), "-d"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let want = std::fs::read(live).unwrap();
    assert!(records(live).len() > 40, "the live run traced the workload");
    assert!(
        std::fs::read(&replayed).unwrap() == want,
        "replay differs from the live run: diff {} {}",
        live.display(),
        replayed.display()
    );
    // The recorded format is the default; stdout is the default output.
    let out = replay(rec, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout == want, "replay to stdout differs");
    // Size: the report line, and a bound that keeps recordings compact.
    let err = stderr(&out);
    let out = replay(rec, &["-d", "-o", "/dev/null"]);
    let err = format!("{err}{}", stderr(&out));
    let per: f64 = err
        .split(" bytes per event")
        .next()
        .and_then(|s| s.rsplit('(').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no size report in {err}"));
    eprintln!("recording: {err}");
    assert!(per > 8.0 && per < 400.0, "{per} bytes per event");
}

#[test]
fn filters_and_formats_apply_at_replay() {
    let (live, rec) = recording();
    let out = replay(rec, &["-e", "trace=openat,write", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got = lines(&out.stdout);
    let mut want: Vec<serde_json::Value> = records(live)
        .into_iter()
        .filter(|r| name(r) == "openat" || name(r) == "write")
        .collect();
    for (i, r) in want.iter_mut().enumerate() {
        r["seq"] = serde_json::json!(i);
    }
    assert!(want.len() > 5);
    assert_eq!(got, want);
    // Text at replay time, strace-like (-qq: without the exit lines).
    let pid = find(&records(live), |r| name(r) == "rename")[0]["pid"]
        .as_u64()
        .unwrap();
    let out = replay(rec, &["--text", "-e", "trace=rename", "-qq"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim_end(),
        format!("[pid {pid:>5}] rename(\"/tmp/vst/a.txt\", \"/tmp/vst/b.txt\") = 0")
    );
    // Without -qq, strace's `+++ exited with N +++` lines, whatever
    // -e trace= shows.
    let out = replay(rec, &["--text", "-e", "trace=rename"]);
    assert!(
        stdout(&out).contains(&format!("[pid {pid:>5}] +++ exited with 0 +++")),
        "{}",
        stdout(&out)
    );
    // A summary from the recording.
    let out = replay(rec, &["-c"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("openat"), "{}", stdout(&out));
}

/// Checks a replay of a damaged recording: status 65, an error naming
/// `what` and an offset, and its records are the live run's up to the
/// damage (calls in flight there reported unfinished).
fn check_damaged(live: &Path, damaged: &Path, what: &str) {
    let out = replay(damaged, &["--json"]);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("damaged at byte") && err.contains(what),
        "{err}"
    );
    let got = lines(&out.stdout);
    let want = records(live);
    assert!(!got.is_empty(), "the records before the damage are output");
    let same = got.iter().zip(&want).take_while(|(g, w)| g == w).count();
    assert!(same > 0, "{err}");
    for r in &got[same..] {
        assert_eq!(r["state"], "unfinished", "{r}");
    }
}

/// The offset of a payload byte in the middle of the frame that holds
/// offset `near` (after the 12-byte header, each frame is a kind byte, a
/// u32 length, a u32 CRC and the payload): flipping it is a checksum
/// failure and cutting there a torn frame, whatever the recording's
/// frame boundaries (a flipped length byte reads as a truncation).
fn payload_byte(bytes: &[u8], near: usize) -> usize {
    let mut pos = 12;
    loop {
        let len = u32::from_le_bytes(bytes[pos + 1..pos + 5].try_into().unwrap()) as usize;
        let next = pos + 9 + len;
        if next > near && len > 1 {
            return pos + 9 + len / 2;
        }
        pos = next;
    }
}

#[test]
fn truncated_and_corrupted_recordings_keep_the_records_before_the_damage() {
    let (live, rec) = recording();
    let bytes = std::fs::read(rec).unwrap();
    // Most of a recording is the guest's boot scripts; the workload's
    // calls are in the last quarter: damage them in the middle.
    let at = payload_byte(&bytes, bytes.len() - bytes.len() / 8);
    let cut = tmp().join(format!("rr-truncated-{}.vst", std::process::id()));
    std::fs::write(&cut, &bytes[..at]).unwrap();
    check_damaged(live, &cut, "truncated");

    let mut bad = bytes.clone();
    bad[at] ^= 0x5a;
    let corrupt = tmp().join(format!("rr-corrupt-{}.vst", std::process::id()));
    std::fs::write(&corrupt, &bad).unwrap();
    check_damaged(live, &corrupt, "corrupted");

    // Not a recording at all (a JSON trace, an empty file, random bytes,
    // a header cut short): status 65 with one clear line; a missing file:
    // status 1.
    let out = replay(live, &[]);
    assert_eq!(out.status.code(), Some(65));
    assert!(
        stderr(&out).contains("not a vstrace trace file"),
        "{}",
        stderr(&out)
    );
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    for (name, data) in [
        ("empty", &b""[..]),
        ("random", &random[..]),
        ("header", &bytes[..10]),
    ] {
        let f = tmp().join(format!("rr-{name}-{}.vst", std::process::id()));
        std::fs::write(&f, data).unwrap();
        let out = replay(&f, &[]);
        assert_eq!(out.status.code(), Some(65), "{name}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{name}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
    }
    let out = replay(Path::new("/nonexistent/x.vst"), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/nonexistent/x.vst"));
}

#[test]
fn modifications_replay_as_recorded_outcomes() {
    let live = trace_path("rr-inject-live");
    let rec = recording_path("rr-inject");
    let out = run(&[
        "--inject=getpid:retval=4242",
        "-e",
        "trace=getpid,openat",
        "-o",
        live.to_str().unwrap(),
        "--record",
        rec.to_str().unwrap(),
        "--",
        "/bin/workload",
        "opens",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("getpid=4242"), "{}", stdout(&out));
    let text = std::fs::read_to_string(&live).unwrap();
    assert!(has_call(&text, "getpid()", "4242 (INJECTED)"), "{text}");
    let out = replay(&rec, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), text);
}

#[test]
fn attach_recording_replays_identically() {
    let script =
        "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do cat /etc/hostname; sleep 0.3; done";
    let (mut run, addr) = boot_with_gdb("rr-attach", script, &[]);
    let live = trace_path("rr-attach-live");
    let rec = recording_path("rr-attach");
    let out = vstrace()
        .args(["attach", "--gdb", &addr, "--duration", "3", "--json", "-o"])
        .arg(&live)
        .arg("--record")
        .arg(&rec)
        .output()
        .unwrap();
    let _ = run.wait(Duration::from_secs(60));
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&live);
    assert!(recs.len() > 10, "{} records", recs.len());
    let out = replay(&rec, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        out.stdout == std::fs::read(&live).unwrap(),
        "replay differs"
    );
}

/// A recording made without `-y` names descriptors at replay as the
/// guest's own `strace -yy` did, while the same descriptor numbers change
/// what they name (guests/progs/fdswap.c: dup2 over one, a close and a new
/// open at the same number, a rename of an open file) between writes
/// to them. The live run keeps the names its recording holds per thread
/// and descriptor and reads them again only after a call that may change
/// one; a name kept across such a call would show the old file here.
#[test]
fn names_added_at_replay_follow_descriptors_that_change() {
    let bin = build_prog("fdswap", &[]);
    let rec = recording_path("rr-fdswap");
    let out = vstrace()
        .arg("run")
        .arg("--add")
        .arg(format!("{}:/bin/fdswap", bin.display()))
        .args(["--add", "/usr/bin/strace:/bin/strace"])
        .args(["--timeout", "300", "-o", "/dev/null", "--record"])
        .arg(&rec)
        .args(["--", "sh", "-c"])
        .arg(
            "strace -yy -e trace=write,fsync,close -o /tmp/s.txt /bin/fdswap >/dev/null \
             && rm -r /tmp/fdswap && /bin/fdswap >/dev/null && cat /tmp/s.txt",
        )
        .output()
        .expect("vstrace runs");
    assert!(out.status.success(), "{:?}\n{}", out.status, stderr(&out));
    // Each call as its name and first argument, named.
    let want = call_heads(&stdout(&out));
    assert!(
        want.iter()
            .any(|c| c.starts_with("write(") && c.contains("</tmp/fdswap/a>"))
            && want.len() >= 15,
        "the guest's strace showed {want:?}"
    );
    let out = replay(&rec, &["-yy", "-e", "trace=write,fsync,close", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got: Vec<String> = json_lines(&stdout(&out))
        .iter()
        .filter(|r| r["comm"] == "fdswap")
        .map(call_head)
        .collect();
    // Both runs of the program: under the guest's strace, then alone.
    let twice: Vec<String> = want.iter().chain(&want).cloned().collect();
    assert_eq!(got, twice);
}
