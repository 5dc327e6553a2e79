//! `vstrace attach`: a guest booted with QEMU's gdbstub (no plugin) is
//! traced from outside for a few seconds, then left running: its workload
//! must finish and the guest power off normally.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::*;
use vstrace_qemu::guest::START_MARKER;
use vstrace_qemu::{find_kernel, GuestConfig, GuestRun, InitramfsBuilder, Qemu, SerialPort};

/// Boots the Debian guest running `script`, with a gdbstub on a Unix
/// socket, and waits until the script has started.
fn boot_with_gdb(name: &str, script: &str, add: &[(&Path, &str)]) -> (GuestRun, String) {
    boot_with_gdb_cfg(name, script, add, |_| {})
}

/// [`boot_with_gdb`] with a say in the guest configuration.
fn boot_with_gdb_cfg(
    name: &str,
    script: &str,
    add: &[(&Path, &str)],
    tweak: impl FnOnce(&mut GuestConfig),
) -> (GuestRun, String) {
    let qemu = Qemu::find().expect("QEMU");
    let kernel = find_kernel(None).expect("guest kernel");
    let mut b = InitramfsBuilder::new();
    b.shell(script);
    for (host, guest) in add {
        b.add_file(host, guest, 0o755).expect("add file");
    }
    let initrd = b.write_cached().expect("initramfs");
    let sock: PathBuf = tmp().join(format!("{name}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    let mut gc = GuestConfig::new(kernel, initrd);
    gc.gdb = Some(format!("unix:{},server=on,wait=off", sock.display()));
    tweak(&mut gc);
    let run = qemu.spawn(&gc).expect("QEMU starts");
    let start = Instant::now();
    while !String::from_utf8_lossy(&run.read_port(SerialPort::Control)).contains(START_MARKER) {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "guest did not start its command"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (run, format!("unix:{}", sock.display()))
}

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

#[test]
fn attach_without_kernel_finds_btf_in_memory() {
    let prog = getpid_loop();
    // Boot the bzImage (not the PVH vmlinux): KASLR moves the kernel, so
    // the addresses must come from memory, not from any file.
    let (mut run, addr) = boot_with_gdb_cfg(
        "attach-scan",
        "/bin/getpid-loop",
        &[(&prog, "/bin/getpid-loop")],
        |gc| gc.pvh = false,
    );
    // Attach once the program runs (not while its shell starts it).
    let t = Instant::now();
    while !String::from_utf8_lossy(&run.read_port(SerialPort::Stdout)).contains("getpid=") {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the program did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let trace = trace_path("attach-scan");
    let out = attach(
        &addr,
        &[
            "--duration",
            "3",
            "--json",
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
    let err = stderr(&out);
    assert!(err.contains("kernel BTF at 0xffffffff"), "{err}");
    assert!(err.contains("profile checked: current task pid"), "{err}");
    assert!(!err.contains("no process attribution"), "{err}");
    let recs = records(&trace);
    let o = run.wait(Duration::from_secs(120)).expect("guest finishes");
    assert_eq!(o.exit_status, 0);
    let so = String::from_utf8_lossy(&o.stdout);
    let pid: i64 = so
        .lines()
        .find_map(|l| l.strip_prefix("getpid="))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {so}"));
    assert!(
        recs.len() >= 3,
        "{} getpid records while attached",
        recs.len()
    );
    for r in &recs {
        assert_eq!(name(r), "getpid");
        assert_eq!(ret(r), pid, "{r}");
        assert_eq!(r["pid"].as_i64(), Some(pid), "{r}");
        assert_eq!(r["tid"].as_i64(), Some(pid), "{r}");
        assert_eq!(r["comm"], "getpid-loop", "{r}");
        assert!(r["ppid"].as_i64().is_some_and(|p| p > 0 && p < pid), "{r}");
    }
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
