//! Python hooks (`--hooks FILE.py`) end to end, on real QEMU and real
//! guests: the seed's NtCreateFile example verbatim on the NT-ABI guest
//! (x64 and x86) against the Rust hook of the example plugin, the same in
//! replay; on Linux a rewritten path and faked return values as the guest
//! program saw them; a hook raising on every call; a hooks file that does
//! not import.

#[macro_use]
mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

/// The seed's example, verbatim (and the same function on NtOpenFile).
fn seed_file() -> PathBuf {
    repo().join("examples/python/seed_hooks.py")
}

/// Writes a hooks file for one test.
fn hooks_file(name: &str, text: &str) -> PathBuf {
    let p = tmp().join(format!("{name}-{}.py", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

/// Boots the NT-ABI guest with `extra`; returns the run and its trace.
fn nt_run(file: &str, version: &str, trace: &Path, extra: &[&str]) -> Output {
    let out = vstrace()
        .args(["run", "--os", "windows", "--windows-version", version])
        .arg("--kernel")
        .arg(nt_abi_image(file))
        .args(["--timeout", "60", "--json", "-o"])
        .arg(trace)
        .args(extra)
        .output()
        .expect("vstrace runs");
    assert!(out.status.success(), "{}", stderr(&out));
    out
}

/// (name, hook) of the records that carry hook data.
fn hooked(recs: &[Value]) -> Vec<(String, Value)> {
    recs.iter()
        .filter(|r| r.get("hook").is_some())
        .map(|r| (name(r).to_string(), r["hook"].clone()))
        .collect()
}

fn seed_example(file: &str, version: &str) {
    let tag = file.trim_end_matches(".bin");
    let seed = seed_file();
    let trace = trace_path(&format!("py-{tag}"));
    let rec = recording_path(&format!("py-{tag}"));
    nt_run(
        file,
        version,
        &trace,
        &[
            "--hooks",
            seed.to_str().unwrap(),
            "--record",
            rec.to_str().unwrap(),
        ],
    );
    let py = hooked(&records(&trace));
    let expect = |n: &str, on: &str, access: &[&str]| {
        (
            n.to_string(),
            serde_json::json!({"object_name": format!(r"\??\C:\vstrace\{on}"), "access": access}),
        )
    };
    assert_eq!(
        py,
        [
            expect("NtOpenFile", "missing.txt", &["FILE_GENERIC_READ"]),
            expect("NtOpenFile", "hello.txt", &["FILE_GENERIC_READ"]),
            expect("NtCreateFile", "log.txt", &["SYNCHRONIZE", "GENERIC_WRITE"]),
        ],
        "{file}"
    );
    // The Rust hook of today (vstrace_windows::hooks::file_open, in the
    // example plugin) gives the same data on the same calls.
    let bin = Path::new(env!("CARGO_BIN_EXE_vstrace"));
    let plugin = bin.parent().unwrap().join("libvstrace_example_hooks.so");
    assert!(plugin.is_file(), "build the workspace first");
    let rust_trace = trace_path(&format!("py-rust-{tag}"));
    let rust_rec = recording_path(&format!("py-rust-{tag}"));
    nt_run(
        file,
        version,
        &rust_trace,
        &[
            "--plugin",
            plugin.to_str().unwrap(),
            "--record",
            rust_rec.to_str().unwrap(),
        ],
    );
    assert_eq!(py, hooked(&records(&rust_trace)), "{file}");
    // The Python file on the Rust hook's recording: the same data again.
    let out = replay(&rust_rec, &["--hooks", seed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        out.stdout == std::fs::read(&rust_trace).unwrap(),
        "replay differs:\n{}",
        stdout(&out)
    );

    // Replayed with the same file: the same trace, byte for byte.
    let out = replay(&rec, &["--hooks", seed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        out.stdout == std::fs::read(&trace).unwrap(),
        "replay differs:\n{}",
        stdout(&out)
    );
    // Without --hooks the replay has no hook data: the hooks ran again.
    let out = replay(&rec, &[]);
    assert!(!stdout(&out).contains("\"hook\""));
    for p in [&trace, &rust_trace, &rec, &rust_rec] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn seed_example_verbatim_on_nt_abi_x64_and_in_replay() {
    seed_example("nt-abi-x64.bin", "win10-22h2");
}

#[test]
fn seed_example_verbatim_on_nt_abi_x86_and_in_replay() {
    seed_example("nt-abi-x86.bin", "win7-sp1");
}

/// A write in a replay raises vstrace.ReadOnlyError, counted and noted on
/// the record; the replay goes on.
#[test]
fn replay_is_read_only() {
    let trace = trace_path("py-ro");
    let rec = recording_path("py-ro");
    nt_run(
        "nt-abi-x64.bin",
        "win10-22h2",
        &trace,
        &["--record", rec.to_str().unwrap()],
    );
    let h = hooks_file(
        "ro",
        "def enter_NtClose(syscall):\n    syscall.set_arg(1, 0)\n",
    );
    let out = replay(&rec, &["--hooks", h.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let recs: Vec<Value> = json_lines(&stdout(&out));
    assert_eq!(recs.len(), records(&trace).len());
    let closes = find(&recs, |r| name(r) == "NtClose");
    assert_eq!(closes.len(), 2);
    for c in &closes {
        let e = c["error"].as_str().unwrap();
        assert!(
            e.contains("ReadOnlyError: replay is read-only: set_arg"),
            "{e}"
        );
        assert!(c.get("modifications").is_none());
    }
    let err = stderr(&out);
    assert_eq!(err.matches("Traceback").count(), 1, "{err}");
    assert!(
        err.contains("python hooks raised 2 exceptions: enter_NtClose ReadOnlyError x2"),
        "{err}"
    );
}

on_both_qemus!(
    python_hooks_rewrite_a_path_and_fake_returns,
    python_hooks_rewrite_a_path_and_fake_returns_on_qemu_11,
    python_hooks_rewrite_a_path_and_fake_returns_on
);

/// `cat /etc/hostname` reads /etc/other (the path rewritten at enter),
/// the shell's getppid returns 4242 (set at exit) and getpid is skipped
/// with 4243: the guest printed all three.
fn python_hooks_rewrite_a_path_and_fake_returns_on(qemu: Option<&Path>) {
    let other = tmp().join(per_qemu("py-other-file", qemu));
    std::fs::write(&other, "the other file\n").unwrap();
    let add = format!("{}:/etc/other", other.display());
    let h = hooks_file(
        &per_qemu("modify", qemu),
        r#"
from vstrace import SyscallError

def enter_openat(syscall):
    i = syscall.arg_names.index('filename') + 1
    if syscall.arg_string(i) == '/etc/hostname':
        syscall.set_arg_string(i, '/etc/other')
        syscall.hook = {'redirected': True}
        print('redirected', syscall.process.name)

def exit_openat(syscall):
    # Decoded arguments as the text output shows them, at exit.
    if syscall.hook.get('redirected'):
        syscall.hook['args'] = syscall.args_text
        # ... and as typed values: the path a str, the flags a list.
        syscall.hook['values'] = syscall.args_value
        syscall.hook['fd'] = syscall.return_value

def exit_getppid(syscall):
    syscall.set_return_value(4242)

def enter_getpid(syscall):
    syscall.skip(4243)
    try:
        syscall.return_value
    except SyscallError as e:
        syscall.hook = {'at_enter': str(e)}
"#,
    );
    let trace = trace_path(&per_qemu("py-modify", qemu));
    let out = run_on(
        qemu,
        &[
            "--add",
            &add,
            "--hooks",
            h.to_str().unwrap(),
            "--json",
            "-o",
            trace.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "cat /etc/hostname; echo ppid=$PPID; /bin/workload opens",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let g = stdout(&out);
    assert!(g.starts_with("the other file\n"), "{g}");
    assert!(g.contains("ppid=4242"), "{g}");
    assert!(g.contains("getpid=4243"), "{g}");
    // A hook's print() reaches the user's stderr, not the guest's stdout.
    assert!(
        stderr(&out).contains("vstrace: hook: redirected cat\n"),
        "{}",
        stderr(&out)
    );
    assert!(!g.contains("redirected"), "{g}");
    let recs = records(&trace);
    let opens = find(&recs, |r| r["hook"]["redirected"] == true);
    assert_eq!(opens.len(), 1);
    let o = opens[0];
    assert_eq!(arg(o, 1), "\"/etc/other\"");
    assert_eq!(o["hook"]["args"][1], "\"/etc/other\"");
    assert_eq!(o["hook"]["values"][1], "/etc/other", "{o}");
    assert_eq!(o["hook"]["values"][2][0], "O_RDONLY", "{o}");
    let values: Vec<&Value> = o["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["value"])
        .collect();
    assert_eq!(
        o["hook"]["values"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        values,
        "{o}"
    );
    assert_eq!(o["hook"]["fd"], 3);
    let m = &o["modifications"][0];
    assert_eq!(
        (m["before_text"].as_str(), m["after_text"].as_str()),
        (Some("\"/etc/hostname\""), Some("\"/etc/other\""))
    );
    let ppid = find(&recs, |r| name(r) == "getppid");
    assert!(ppid
        .iter()
        .all(|r| r["ret"] == 4242 && r["modifications"][0]["target"] == "retval"));
    let pid = find(&recs, |r| name(r) == "getpid");
    assert!(!pid.is_empty());
    for r in pid {
        assert_eq!(r["ret"], 4243);
        assert!(
            r["hook"]["at_enter"]
                .as_str()
                .unwrap()
                .contains("only available on Exit"),
            "{r}"
        );
    }
    assert!(recs.iter().all(|r| r.get("error").is_none()));
}

/// Hooks that raise on every call: the trace is complete (as many
/// records as without hooks), each record notes the error, each
/// traceback is printed once and the exceptions are counted.
#[test]
fn a_hook_raising_on_every_call_never_stops_tracing() {
    let h = hooks_file(
        "raising",
        "def enter_any(syscall):\n    1 / 0\n\ndef exit_any(syscall):\n    {}['missing']\n",
    );
    let base = trace_path("py-raise-base");
    let trace = trace_path("py-raise");
    let cmd = ["--", "/bin/workload", "opens"];
    let mut args = vec!["--json", "-o", base.to_str().unwrap()];
    args.extend(cmd);
    let plain = run(&args);
    assert!(plain.status.success(), "{}", stderr(&plain));
    let mut args = vec![
        "--hooks",
        h.to_str().unwrap(),
        "--json",
        "-o",
        trace.to_str().unwrap(),
    ];
    args.extend(cmd);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    // The guest ran the same (pids may differ from run to run).
    let masked = |o: &Output| {
        let t = stdout(o);
        let mut m = String::new();
        for c in t.chars() {
            if !c.is_ascii_digit() {
                m.push(c);
            } else if !m.ends_with('#') {
                m.push('#');
            }
        }
        m
    };
    assert_eq!(masked(&out), masked(&plain));
    let recs = records(&trace);
    let names = |rs: &[Value]| rs.iter().map(|r| name(r).to_string()).collect::<Vec<_>>();
    assert_eq!(names(&recs), names(&records(&base)));
    for r in &recs {
        let e = r["error"].as_str().unwrap_or_default();
        assert!(
            e.contains("ZeroDivisionError: division by zero (python enter_any)"),
            "{r}"
        );
        if r["state"] == "complete" {
            assert!(e.contains("KeyError: 'missing' (python exit_any)"), "{r}");
        }
    }
    let err = stderr(&out);
    assert_eq!(err.matches("Traceback").count(), 2, "{err}");
    assert!(
        err.contains("vstrace: python hook enter_any raised ZeroDivisionError"),
        "{err}"
    );
    // Counted: at least one per record (calls outside the traced command
    // run the hooks too).
    let line = err
        .lines()
        .find(|l| l.starts_with("vstrace: python hooks raised "))
        .unwrap_or_else(|| panic!("no count in {err}"));
    let n: usize = line["vstrace: python hooks raised ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(n >= 2 * recs.len() - 1, "{line}: {} records", recs.len());
    assert!(line.contains("enter_any ZeroDivisionError x"), "{line}");
    assert!(line.contains("exit_any KeyError x"), "{line}");
}

/// A hooks file that does not import (or defines no hook) stops vstrace
/// before the guest starts, with the Python error and status 2.
#[test]
fn a_hooks_file_that_fails_to_import_stops_before_the_guest() {
    let broken = hooks_file(
        "broken",
        "def enter_openat(syscall):\n    pass\nimport no_such_module_here\n",
    );
    let out = run(&["--hooks", broken.to_str().unwrap(), "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("ModuleNotFoundError: No module named 'no_such_module_here'"),
        "{err}"
    );
    assert!(err.contains("line 3"), "{err}");
    assert!(!err.contains("Linux version"), "the guest never booted");
    let syntax = hooks_file("syntax", "def enter_openat(syscall)\n    pass\n");
    let out = run(&["--hooks", syntax.to_str().unwrap(), "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("SyntaxError"), "{}", stderr(&out));
    let none = hooks_file("none", "def on_openat(syscall):\n    pass\n");
    let out = run(&["--hooks", none.to_str().unwrap(), "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("defines no hook function"),
        "{}",
        stderr(&out)
    );
    let out = run(&["--hooks", "/nonexistent/hooks.py", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no such file"), "{}", stderr(&out));
}

/// `syscall.signal(sig)`: at the exit the call ran and the signal
/// follows; at the enter with `skip` the call is denied, then the signal
/// (guests/progs/sigject.c prints what its SIGUSR1 handler saw).
#[test]
fn python_hooks_send_signals() {
    let prog = build_prog("sigject", &[]);
    let add = format!("{}:/bin/sigject", prog.display());
    let h = hooks_file(
        "signal",
        r#"
def enter_chdir(syscall):
    if syscall.arg_string(1) == '/nonexistent':
        syscall.skip(-13)
        syscall.signal(10)

def exit_chdir(syscall):
    if syscall.return_value == 0:
        syscall.signal(10)
"#,
    );
    let out = run(&[
        "--add",
        &add,
        "--hooks",
        h.to_str().unwrap(),
        "-e",
        "trace=chdir",
        "--",
        "/bin/sigject",
        "i",
    ]);
    let (g, e) = (stdout(&out), stderr(&out));
    assert!(out.status.success(), "{e}");
    assert!(g.contains("chdir1=0 got=10 code=128"), "{g}");
    assert!(g.contains("chdir2=0 got=10 code=128"), "{g}");
    assert!(g.contains("blocked=0 got=0\nunblocked got=10"), "{g}");
    // Denied with EACCES, then the signal.
    assert!(g.contains("last=-1 got=10"), "{g}");
    assert!(e.contains("chdir(\"/nonexistent\")"), "{e}");
    assert!(e.contains("EACCES"), "{e}");
}
