//! `vstrace attach`: a guest booted with QEMU's gdbstub (no plugin) is
//! traced from outside for a few seconds, then left running: its workload
//! must finish and the guest power off normally.

mod common;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use common::*;
use vstrace_qemu::SerialPort;

fn attach(addr: &str, args: &[&str]) -> Output {
    let out = vstrace()
        .args(["attach", "--gdb", addr, "-v"])
        .args(args)
        .output()
        .expect("vstrace runs");
    if std::env::var_os("VSTRACE_TEST_VERBOSE").is_some() {
        eprintln!("stdout:\n{}", stdout(&out));
    }
    eprintln!("attach stderr:\n{}", stderr(&out));
    out
}

#[test]
fn attach_traces_then_detaches() {
    let script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do \
                  cat /etc/hostname; sleep 0.3; done; echo done";
    let (mut run, addr) = boot_with_gdb("attach", script, &[]);
    let trace = trace_path("attach-gdb");
    let out = attach(
        &addr,
        &["--duration", "3", "--json", "-o", trace.to_str().unwrap()],
    );
    if !out.status.success() {
        let _ = run.kill();
        let console = String::from_utf8_lossy(&run.read_port(SerialPort::Console)).into_owned();
        panic!("vstrace attach failed; guest console:\n{console}");
    }
    let recs = records(&trace);
    assert!(!recs.is_empty(), "no records");
    let opens = find(&recs, |r| {
        name(r) == "openat" && arg(r, 1).contains("/etc/hostname")
    });
    assert!(
        !opens.is_empty(),
        "no openat(/etc/hostname) in {} records",
        recs.len()
    );
    for r in &opens {
        assert_eq!(r["state"], "complete", "{r}");
        assert!((0..64).contains(&ret(r)), "openat returned {}: {r}", ret(r));
        assert_eq!(r["mechanism"], "syscall");
    }
    // The file is copied out (busybox cat uses sendfile) and closed.
    assert!(
        !find(&recs, |r| (name(r) == "sendfile" || name(r) == "read")
            && ret(r) > 0)
        .is_empty()
    );
    assert!(!find(&recs, |r| name(r) == "close" && ret(r) == 0).is_empty());
    assert!(!find(&recs, |r| name(r) == "execve").is_empty());
    assert!(!find(&recs, |r| name(r) == "nanosleep"
        || name(r) == "clock_nanosleep")
    .is_empty());

    // Detached: the guest runs its workload to the end and powers off.
    let o = run.wait(Duration::from_secs(120)).expect("guest finishes");
    assert_eq!(o.exit_status, 0);
    let so = String::from_utf8_lossy(&o.stdout);
    assert!(so.contains("done"), "guest stdout: {so}");
    assert_eq!(so.matches('\n').count(), 21, "20 hostnames and done: {so}");
}

#[test]
fn attach_bad_address_fails_cleanly() {
    let out = vstrace()
        .args([
            "attach",
            "--gdb",
            "unix:/nonexistent/vstrace.sock",
            "--duration",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("attaching to unix:/nonexistent/vstrace.sock"));
    let out = vstrace()
        .args(["attach", "--gdb", "nonsense"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("HOST:PORT"), "{}", stderr(&out));
}

/// A static guest program printing its pid (getpid(2) each time) 40
/// times, 0.2 s apart.
fn getpid_loop() -> PathBuf {
    let src = tmp().join(format!("getpid-loop-{}.c", std::process::id()));
    let bin = tmp().join(format!("getpid-loop-{}", std::process::id()));
    std::fs::write(
        &src,
        "#include <stdio.h>\n#include <unistd.h>\n#include <sys/syscall.h>\n\
         int main(void) { for (int i = 0; i < 40; i++) { \
         printf(\"getpid=%ld\\n\", syscall(SYS_getpid)); fflush(stdout); usleep(200000); } \
         puts(\"done\"); return 0; }\n",
    )
    .unwrap();
    let st = std::process::Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("gcc runs");
    assert!(st.success(), "building the getpid loop failed");
    bin
}

#[test]
fn attach_injects_return_values() {
    let prog = getpid_loop();
    let (mut run, addr) = boot_with_gdb(
        "attach-inject",
        "/bin/getpid-loop",
        &[(&prog, "/bin/getpid-loop")],
    );
    let trace = trace_path("attach-inject");
    let out = attach(
        &addr,
        &[
            "--duration",
            "3",
            "--inject=getpid:retval=4242",
            "-e",
            "trace=getpid",
            "-o",
            trace.to_str().unwrap(),
        ],
    );
    if !out.status.success() {
        let _ = run.kill();
        panic!("vstrace attach failed");
    }
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(text.contains("getpid() = 4242"), "trace:\n{text}");
    let o = run.wait(Duration::from_secs(120)).expect("guest finishes");
    assert_eq!(o.exit_status, 0);
    let so = String::from_utf8_lossy(&o.stdout);
    let pids: Vec<&str> = so
        .lines()
        .filter_map(|l| l.strip_prefix("getpid="))
        .collect();
    assert_eq!(pids.len(), 40, "{so}");
    // Injected while attached, the real pid again after the detach.
    assert!(pids.contains(&"4242"), "{so}");
    assert_ne!(pids.last(), Some(&"4242"), "{so}");
    assert!(so.trim_end().ends_with("done"));
}

/// Per-event cost of the gdb backend beside the plugin, on the
/// syscall-heavy guests/progs/sysbench.c (run by scripts/bench-gdb.sh).
/// While attached the guest does nothing but system calls, so wall time
/// per stop is the backend's cost per event (the guest's own clock stops
/// while QEMU is stopped by the debugger, so it cannot measure this).
#[test]
#[ignore]
fn bench_gdb_vs_plugin() {
    let bin = tmp().join(format!("sysbench-{}", std::process::id()));
    let st = std::process::Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&bin)
        .arg(repo().join("guests/progs/sysbench.c"))
        .status()
        .unwrap();
    assert!(st.success());
    let rounds = std::env::var("BENCH_ROUNDS").unwrap_or_else(|_| "200000".into());
    let add = format!("{}:/bin/sysbench", bin.display());
    let guest_ns = |args: &[&str]| -> f64 {
        let o = vstrace()
            .args(["run", "--add", &add])
            .args(args)
            .args(["--", "/bin/sysbench", &rounds])
            .output()
            .unwrap();
        let s = stdout(&o);
        s.split("guest_ns=")
            .nth(1)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no guest time in {s:?} / {}", stderr(&o)))
    };
    let calls = 2.0 * rounds.parse::<f64>().unwrap();
    let base = guest_ns(&["--untraced"]);
    let plugin = guest_ns(&["-c", "-o", "/dev/null"]);
    let plugin_us = (plugin - base) / calls / 1e3;

    let (mut run, addr) = boot_with_gdb(
        "bench",
        &format!("/bin/sysbench {}", rounds.parse::<u64>().unwrap() * 10),
        &[(&bin, "/bin/sysbench")],
    );
    let out = attach(&addr, &["--duration", "5", "-c", "-o", "/dev/null"]);
    let _ = run.kill();
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.contains(" stops, "))
        .expect("stats line");
    let stops: f64 = line
        .split("gdb: ")
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    let exchanges: f64 = line
        .split(" records, ")
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    let gdb_us = 5e6 / stops;
    println!("| backend | cost per event (us) |\n|---|---|");
    println!("| QEMU TCG plugin (-c, guest clock) | {plugin_us:.2} |");
    println!(
        "| gdb stub (-c, host wall time, {stops} stops, {:.1} exchanges/stop) | {gdb_us:.1} |",
        exchanges / stops
    );
    println!(
        "untraced guest time per syscall: {:.3} us",
        base / calls / 1e3
    );
}
