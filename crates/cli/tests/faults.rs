//! Faults with nothing lost: the guest kernel panics or triple-faults,
//! QEMU is killed, the output pipe closes, the disk fills up, Ctrl-C
//! comes during boot or mid-trace. After each, the JSON Lines trace
//! written so far parses completely (last line included) and the exit
//! status says what happened (see `vstrace --help`).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A guest command that keeps making system calls.
const BUSY: &str = "echo started; while true; do cat /etc/hostname > /dev/null; done";

/// Parses a JSON Lines trace: every line, the last one included, must be
/// a whole record.
fn whole_json_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("trace file");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "the last line is incomplete: {:?}",
        &text[text.len().saturating_sub(200)..]
    );
    json_lines(&text)
}

fn has_write(recs: &[serde_json::Value], text: &str) -> bool {
    recs.iter()
        .any(|r| name(r) == "write" && arg(r, 1).contains(text))
}

fn spawn(args: &[&str], cmd: &str) -> Child {
    vstrace()
        .arg("run")
        .args(args)
        .args(["--", "sh", "-c", cmd])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vstrace runs")
}

/// Starts the busy guest with a JSON trace and a recording, and waits
/// until it runs: (vstrace, trace, recording).
fn busy_recorded(name: &str) -> (Child, PathBuf, PathBuf) {
    let trace = trace_path(name);
    let rec = recording_path(name);
    let mut child = spawn(
        &[
            "--json",
            "-o",
            trace.to_str().unwrap(),
            "--record",
            rec.to_str().unwrap(),
        ],
        BUSY,
    );
    let (line, rest) = first_line(&mut child);
    assert_eq!(line, "started\n");
    // Keep reading the guest's output so it never blocks vstrace.
    std::thread::spawn(move || std::io::copy(&mut { rest }, &mut std::io::sink()));
    (child, trace, rec)
}

/// Waits for the guest's first output line.
fn first_line(child: &mut Child) -> (String, impl Read) {
    let mut r = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    (line, r)
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on a process this test started.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

fn finish(child: Child) -> Output {
    let out = child.wait_with_output().unwrap();
    eprintln!("vstrace stderr:\n{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "vstrace panicked");
    out
}

#[test]
fn kernel_panic_keeps_a_whole_json_trace() {
    let trace = trace_path("fault-panic");
    let out = run(&[
        "--json",
        "-o",
        trace.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "echo before; echo c > /proc/sysrq-trigger",
    ]);
    assert_eq!(out.status.code(), Some(70), "{}", stderr(&out));
    assert!(stderr(&out).contains("guest kernel panicked"));
    assert!(has_write(&whole_json_lines(&trace), "before"));
}

/// The guest's console tail shown on a panic passes no terminal control
/// sequence of the guest's to the host terminal (a title change, a
/// screen clear): they come out escaped, as trace strings are.
#[test]
fn console_tail_on_panic_is_escaped() {
    let out = run(&[
        "-o",
        "/dev/null",
        "--",
        "sh",
        "-c",
        r#"printf '\033]0;owned\007\033[2Jmarker\n' > /dev/console; echo c > /proc/sysrq-trigger"#,
    ]);
    assert_eq!(out.status.code(), Some(70), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("guest kernel panicked"), "{err}");
    assert!(
        err.contains(r"\33]0;owned\7\33[2Jmarker"),
        "the escape sequences are shown escaped: {err}"
    );
    assert!(
        !err.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "no raw control character reaches the terminal: {err:?}"
    );
}

#[test]
fn triple_fault_and_reboot_are_reported() {
    // reboot=t: the kernel resets the machine by a triple fault.
    for (append, how) in [
        (Some("reboot=t"), "triple-faulted"),
        (None, "reset itself (reboot)"),
    ] {
        let trace = trace_path("fault-reset");
        let mut args = vec!["--json", "-o", trace.to_str().unwrap()];
        if let Some(a) = append {
            args.extend(["--append", a]);
        }
        args.extend([
            "--",
            "sh",
            "-c",
            "echo before; echo b > /proc/sysrq-trigger; sleep 10",
        ]);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(71), "{}", stderr(&out));
        assert!(stderr(&out).contains(how), "{}", stderr(&out));
        let recs = whole_json_lines(&trace);
        assert!(has_write(&recs, "before"));
        // The write to sysrq-trigger never returned.
        assert_eq!(recs.last().unwrap()["state"], "unfinished");
    }
}

/// QEMU's pid: vstrace's only child.
fn qemu_child(vstrace_pid: u32) -> u32 {
    let start = Instant::now();
    loop {
        let children =
            std::fs::read_to_string(format!("/proc/{vstrace_pid}/task/{vstrace_pid}/children"))
                .unwrap_or_default();
        if let Some(p) = children.split_whitespace().next() {
            return p.parse().unwrap();
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no QEMU child");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn qemu_killed_keeps_a_whole_json_trace() {
    let (child, trace, rec) = busy_recorded("fault-kill");
    std::thread::sleep(Duration::from_millis(700));
    signal(qemu_child(child.id()), libc::SIGKILL);
    let out = finish(child);
    assert_eq!(out.status.code(), Some(72), "{}", stderr(&out));
    assert!(stderr(&out).contains("QEMU died"), "{}", stderr(&out));
    let recs = whole_json_lines(&trace);
    assert!(has_write(&recs, "started"));
    assert!(
        find(&recs, |r| name(r) == "openat"
            && arg(r, 1).contains("hostname"))
        .len()
            > 3,
        "the busy loop's calls up to the kill are in the trace"
    );
    // The recording has no end marker; replay says so and replays it all.
    let out = replay(&rec, &["--json"]);
    assert!(
        matches!(out.status.code(), Some(0) | Some(65)),
        "{}",
        stderr(&out)
    );
    // Its records are the live trace's: both files were flushed up to
    // 50 ms before the kill, each on its own, so either may go further;
    // where the recording stops first, the calls in flight there are
    // reported unfinished.
    let replayed: Vec<serde_json::Value> = json_lines(&String::from_utf8_lossy(&out.stdout));
    let same = replayed
        .iter()
        .zip(&recs)
        .take_while(|(a, b)| a == b)
        .count();
    eprintln!(
        "live {} records, replayed {} ({same} identical)",
        recs.len(),
        replayed.len()
    );
    assert!(same * 2 > recs.len(), "most of the live records replay");
    for r in replayed.iter().take(recs.len()).skip(same) {
        assert_eq!(r["state"], "unfinished", "{r}");
    }
}

#[test]
fn closed_output_pipe_stops_cleanly() {
    // The guest's output goes to a reader that leaves after one line.
    let trace = trace_path("fault-pipe");
    let mut child = spawn(
        &["--json", "-o", trace.to_str().unwrap()],
        "echo started; while true; do echo tick; sleep 0.05; done",
    );
    let (line, rest) = first_line(&mut child);
    assert_eq!(line, "started\n");
    drop(rest);
    let out = finish(child);
    assert_eq!(out.status.code(), Some(141), "status 141: output closed");
    let recs = whole_json_lines(&trace);
    assert!(has_write(&recs, "started"));

    // The trace on stderr, read by a reader that leaves after one line.
    let mut child = vstrace()
        .args(["run", "--", "sh", "-c", BUSY])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    assert!(first.contains("execve("), "{first}");
    drop(err);
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(141), "status 141: output closed");
}

/// A 64 KiB tmpfs mounted for the test (unmounted on drop), or None
/// where mounting is not allowed.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount() -> Option<SmallDisk> {
        let dir = tmp().join(format!("small-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn disk_full_keeps_whole_lines_and_says_so() {
    // /dev/full: every write fails.
    let out = run(&["--json", "-o", "/dev/full", "--", "/bin/workload"]);
    assert_eq!(out.status.code(), Some(74), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("No space left on device"),
        "{}",
        stderr(&out)
    );
    // A small disk that fills up mid-trace, first with the JSON trace,
    // then with the recording.
    const CATS: &str =
        "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do cat /etc/hostname; done";
    let disk = SmallDisk::mount().expect("mounting a 64 KiB tmpfs (tests run as root)");
    let trace = disk.0.join("trace.json");
    let out = run(&[
        "--json",
        "-o",
        trace.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        CATS,
    ]);
    assert_eq!(out.status.code(), Some(74), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("No space left on device"),
        "{}",
        stderr(&out)
    );
    let recs = whole_json_lines(&trace);
    assert!(recs.len() > 10, "the records before the disk filled up");
    std::fs::remove_file(&trace).unwrap();

    let live = trace_path("fault-disk-live");
    let rec = disk.0.join("trace.vst");
    let out = run(&[
        "--json",
        "-o",
        live.to_str().unwrap(),
        "--record",
        rec.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        CATS,
    ]);
    assert_eq!(out.status.code(), Some(74), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("writing the recording failed"),
        "{}",
        stderr(&out)
    );
    // The recording's frames before the full disk replay, then the damage
    // is reported.
    let out = replay(&rec, &["--json"]);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(stderr(&out).contains("truncated"), "{}", stderr(&out));
}

#[test]
fn ctrl_c_during_boot_and_mid_trace() {
    // During vstrace's own setup (kernel profile, initramfs), before or
    // just as QEMU starts: it must not be left running.
    let trace = trace_path("fault-int-setup");
    let child = spawn(&["--json", "-o", trace.to_str().unwrap()], BUSY);
    std::thread::sleep(Duration::from_millis(150));
    let started = Instant::now();
    signal(child.id(), libc::SIGINT);
    let out = finish(child);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "stopped promptly"
    );
    whole_json_lines(&trace);

    // During the kernel's boot: nothing traced yet, a valid (empty) trace.
    let trace = trace_path("fault-int-boot");
    let child = spawn(&["--json", "-o", trace.to_str().unwrap()], BUSY);
    std::thread::sleep(Duration::from_millis(1200));
    signal(child.id(), libc::SIGINT);
    let out = finish(child);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"));
    assert!(!stdout(&out).contains("started"), "stopped during boot");
    whole_json_lines(&trace);

    // Mid-trace, while the guest makes calls as fast as it can; with a
    // recording whose replay is identical to the live trace.
    let (child, trace, rec) = busy_recorded("fault-int-busy");
    std::thread::sleep(Duration::from_millis(500));
    signal(child.id(), libc::SIGINT);
    let out = finish(child);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let recs = whole_json_lines(&trace);
    assert!(recs.len() > 20, "{} records", recs.len());
    let out = replay(&rec, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        out.stdout == std::fs::read(&trace).unwrap(),
        "replay of the interrupted run differs"
    );
}

#[test]
fn timeout_stops_the_guest_and_keeps_the_trace() {
    let trace = trace_path("fault-timeout");
    // Long enough for the guest to boot and print even when the other
    // fault tests boot theirs at the same time on a loaded 2-core runner
    // (12 s was not: the boot alone took longer there).
    let out = run(&[
        "--timeout",
        "25",
        "--json",
        "-o",
        trace.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "echo before; sleep 60",
    ]);
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    assert!(stderr(&out).contains("did not finish within 25 s"));
    let recs = whole_json_lines(&trace);
    assert!(has_write(&recs, "before"));
    // The plugin flushed at QEMU's exit: the sleep is reported in flight.
    assert_eq!(recs.last().unwrap()["state"], "unfinished");
}

#[test]
fn qemu_killed_under_attach_keeps_a_whole_json_trace() {
    let script = "while true; do cat /etc/hostname > /dev/null; sleep 0.1; done";
    let (mut guest, addr) = boot_with_gdb("fault-attach", script, &[]);
    let trace = trace_path("fault-attach");
    let child = vstrace()
        .args(["attach", "--gdb", &addr, "--json", "-o"])
        .arg(&trace)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until records arrive, then kill the VM under the tracer.
    let start = Instant::now();
    while std::fs::metadata(&trace).map(|m| m.len()).unwrap_or(0) < 2000 {
        assert!(start.elapsed() < Duration::from_secs(90), "no records");
        std::thread::sleep(Duration::from_millis(100));
    }
    guest.kill().unwrap();
    let out = finish(child);
    assert_eq!(out.status.code(), Some(72), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the VM went away"),
        "{}",
        stderr(&out)
    );
    let recs = whole_json_lines(&trace);
    assert!(!recs.is_empty());
}

#[test]
fn closed_output_pipe_under_attach_detaches() {
    let script = "echo started; while true; do cat /etc/hostname > /dev/null; sleep 0.1; done";
    let (mut guest, addr) = boot_with_gdb("fault-attach-pipe", script, &[]);
    let mut child = vstrace()
        .args(["attach", "--gdb", &addr])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    assert!(first.contains('('), "a trace line: {first}");
    drop(err);
    let start = Instant::now();
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(141), "status 141: output closed");
    assert!(start.elapsed() < Duration::from_secs(30));
    // Detached: the VM still runs its loop.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        guest.wait(Duration::from_millis(100)).is_err(),
        "VM left running"
    );
    let _ = guest.kill();
}

/// A recording that cannot be written from its first byte (`/dev/full`):
/// status 74, as for any failed recording, and one clear error line.
#[test]
fn record_to_a_full_device_is_a_write_failure() {
    let out = run(&["--record", "/dev/full", "-o", "/dev/null", "--", "true"]);
    assert_eq!(out.status.code(), Some(74), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("writing the recording failed"),
        "{}",
        stderr(&out)
    );
}
