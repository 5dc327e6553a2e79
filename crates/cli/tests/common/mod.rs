//! Shared helpers for the integration tests: the vstrace binary, the
//! guest test programs (built from guests/progs by gcc), runs and trace
//! parsing.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use vstrace_qemu::guest::START_MARKER;
use vstrace_qemu::{find_kernel, GuestConfig, GuestRun, InitramfsBuilder, Qemu, SerialPort};

pub fn vstrace() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vstrace"))
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// The static workload program, built once per test binary.
pub fn workload() -> &'static Path {
    static W: OnceLock<PathBuf> = OnceLock::new();
    W.get_or_init(|| {
        let out = tmp().join(format!("workload-{}", std::process::id()));
        let st = Command::new("gcc")
            .args(["-static", "-O2", "-o"])
            .arg(&out)
            .arg(repo().join("guests/progs/workload.c"))
            .status()
            .expect("gcc runs");
        assert!(st.success(), "building guests/progs/workload.c failed");
        out
    })
}

/// Runs vstrace with `args`, adding the workload as /bin/workload.
pub fn run(args: &[&str]) -> Output {
    let add = format!("{}:/bin/workload", workload().display());
    let out = vstrace()
        .arg("run")
        .arg("--add")
        .arg(add)
        .args(args)
        .output()
        .expect("vstrace runs");
    if std::env::var_os("VSTRACE_TEST_VERBOSE").is_some() {
        eprintln!("stdout:\n{}", String::from_utf8_lossy(&out.stdout));
        eprintln!("stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    out
}

/// A fresh path for a trace file.
pub fn trace_path(name: &str) -> PathBuf {
    tmp().join(format!("{name}-{}.out", std::process::id()))
}

/// A fresh path for a recording (`--record`).
pub fn recording_path(name: &str) -> PathBuf {
    tmp().join(format!("{name}-{}.vst", std::process::id()))
}

/// `vstrace replay REC ARGS...`.
pub fn replay(rec: &Path, args: &[&str]) -> Output {
    let out = vstrace()
        .arg("replay")
        .arg(rec)
        .args(args)
        .output()
        .expect("vstrace runs");
    if std::env::var_os("VSTRACE_TEST_VERBOSE").is_some() {
        eprintln!("replay stderr:\n{}", stderr(&out));
    }
    out
}

/// Parses a JSON Lines trace.
pub fn records(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("trace file");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

pub fn name(r: &serde_json::Value) -> &str {
    r["name"].as_str().unwrap_or("")
}

/// Decoded text of argument `i` (0-based).
pub fn arg(r: &serde_json::Value, i: usize) -> String {
    r["args"][i]["value"].as_str().unwrap_or("").to_string()
}

pub fn ret(r: &serde_json::Value) -> i64 {
    r["ret"].as_i64().unwrap_or(i64::MIN)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The records matching `pred`, in order.
pub fn find(
    recs: &[serde_json::Value],
    pred: impl Fn(&serde_json::Value) -> bool,
) -> Vec<&serde_json::Value> {
    recs.iter().filter(|r| pred(r)).collect()
}

/// Boots the Debian guest running `script`, with a gdbstub on a Unix
/// socket, and waits until the script has started.
pub fn boot_with_gdb(name: &str, script: &str, add: &[(&Path, &str)]) -> (GuestRun, String) {
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
