//! Shared helpers for the integration tests: the vstrace binary, the
//! guest test programs (built from guests/progs by gcc), runs and trace
//! parsing.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

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

/// Builds `guests/progs/NAME.c` with `gcc -static -O2` (plus `flags`) into
/// a fresh file in the test tmpdir.
pub fn build_prog(name: &str, flags: &[&str]) -> PathBuf {
    let out = tmp().join(format!("{name}-{}", std::process::id()));
    let st = Command::new("gcc")
        .args(flags)
        .args(["-static", "-O2", "-o"])
        .arg(&out)
        .arg(repo().join(format!("guests/progs/{name}.c")))
        .status()
        .expect("gcc runs");
    assert!(st.success(), "building guests/progs/{name}.c failed");
    out
}
