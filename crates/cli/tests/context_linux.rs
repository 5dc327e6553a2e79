//! Who made the call, on real kernels: fd names (`-y`), pid names
//! (`-Y`), and the `-P` / `-e trace-fds=` filters, read from outside
//! through the kernel's structures, compared with what the guest's own
//! strace prints for the same program. Each test runs on the Debian 6.1
//! kernel and on the newest cached bookworm-backports kernel.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

/// `vstrace run --json OPTS -- sh -c SCRIPT` with guests/progs/context.c
/// as /bin/ctx (and the guest's strace when `strace`); the guest's
/// stdout and the records.
fn run_ctx(
    kernel: &Option<PathBuf>,
    name: &str,
    opts: &[&str],
    strace: bool,
    script: &str,
) -> (String, Vec<Value>) {
    let bin = build_prog("context", &[]);
    let t = trace_path(name);
    let mut cmd = vstrace();
    cmd.arg("run")
        .arg("--add")
        .arg(format!("{}:/bin/ctx", bin.display()));
    if strace {
        cmd.args(["--add", "/usr/bin/strace"]);
    }
    if let Some(k) = kernel {
        cmd.arg("--kernel").arg(k);
    }
    let out = cmd
        .args(["--timeout", "300", "--json", "-o"])
        .arg(&t)
        .args(opts)
        .args(["--", "sh", "-c", script])
        .output()
        .expect("vstrace runs");
    assert!(
        out.status.success(),
        "{name} on {kernel:?}: {:?}\n{}",
        out.status,
        stderr(&out)
    );
    (stdout(&out), records(&t))
}

/// The `N<...>` and `AT_FDCWD<...>` names in a line of strace text, in
/// order (nested brackets, as in `4<pipe:[12]>`, kept whole).
fn names_in(line: &str) -> Vec<String> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'<' && i > 0 && (b[i - 1].is_ascii_digit() || line[..i].ends_with("AT_FDCWD")) {
            let start = line[..i]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |p| p + 1);
            let mut depth = 0;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'<' => depth += 1,
                    b'>' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            out.push(line[start..=j.min(b.len() - 1)].to_string());
            i = j;
        }
        i += 1;
    }
    out
}

/// A record as strace text: `name(args) = ret`.
fn text_of(r: &Value) -> String {
    let args: Vec<String> = r["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["text"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    format!(
        "{}({}) = {}",
        name(r),
        args.join(", "),
        r["ret_text"].as_str().unwrap_or("?")
    )
}

/// (call, names) of each call that names something; wait4 is left out
/// (the guest's strace splits it around the child's exit).
fn named_calls<'a>(lines: impl Iterator<Item = String> + 'a) -> Vec<(String, Vec<String>)> {
    lines
        .filter(|l| !l.starts_with("wait4("))
        .filter_map(|l| {
            let n = names_in(&l);
            let call = l.split('(').next()?.to_string();
            (!n.is_empty()).then_some((call, n))
        })
        .collect()
}

/// `-y -Y`: every fd and pid name vstrace prints for the program's calls
/// is the one the guest's own `strace -y -Y` prints for the same call
/// (files on the root and on /tmp's tmpfs, a directory fd, AT_FDCWD's
/// working directory, dup, a pipe, a socket pair, /dev/null, kill's and
/// getppid's pid, fork's child), and JSON carries the fds.
#[test]
fn fd_and_pid_names_match_the_guests_strace() {
    for k in test_kernels() {
        let (out, recs) = run_ctx(
            &k,
            "ctx-y",
            &["-y", "-Y"],
            true,
            "strace -y -Y -o /tmp/s.txt /bin/ctx >/dev/null && cat /tmp/s.txt",
        );
        check_names(&format!("{k:?}"), &out, &recs);
    }
}

/// The guest's `strace -y -Y` output `out` (after its program's execve)
/// against the JSON records `recs` of the same run (see
/// [`fd_and_pid_names_match_the_guests_strace`]); `k` names the kernel.
fn check_names(k: &str, out: &str, recs: &[Value]) {
    let theirs = named_calls(
        out.lines()
            .skip_while(|l| !l.starts_with("execve("))
            .skip(1)
            .filter(|l| !l.starts_with("---") && !l.starts_with("+++"))
            .map(str::to_string),
    );
    let ctx: Vec<&Value> = recs
        .iter()
        .filter(|r| r["comm"] == "ctx" && r["state"] == "complete" && name(r) != "execve")
        .collect();
    let pid = ctx.first().map(|r| r["pid"].clone());
    let ours = named_calls(
        ctx.iter()
            .filter(|r| r["pid"] == pid.clone().unwrap())
            .map(|r| text_of(r)),
    );
    assert!(theirs.len() >= 15, "{k}: {out}");
    assert_eq!(ours, theirs, "{k}");
    // The names a test can know without the guest's strace.
    let flat: Vec<String> = ours.iter().flat_map(|c| c.1.clone()).collect();
    for want in [
        "</bin/busybox>",
        "</tmp/ctx>",
        "</tmp/ctx/f.txt>",
        "<pipe:[",
        "<socket:[",
    ] {
        assert!(
            flat.iter().any(|n| n.contains(want)),
            "{k}: no {want} in {flat:?}"
        );
    }
    assert!(flat.iter().any(|n| n == "1</dev/null>"), "{k}: {flat:?}");
    // JSON: the fds and what they name, without text options.
    let openat = ctx
        .iter()
        .find(|r| name(r) == "openat" && arg(r, 1) == "\"f.txt\"")
        .expect("openat f.txt");
    let fds = openat["fds"].as_array().expect("fds");
    let paths: Vec<&str> = fds.iter().filter_map(|f| f["path"].as_str()).collect();
    assert_eq!(paths, ["/tmp/ctx", "/tmp/ctx/f.txt"], "{k}: {openat}");
}

/// The same on the i386 (686) kernel, which has no BTF: fd and pid names
/// come from the profile made from its debug info (scripts/i386-profile.sh),
/// against the guest's own 32-bit strace.
#[test]
fn fd_and_pid_names_match_the_guests_strace_on_the_i386_kernel() {
    i386_profile();
    let bin = build_prog("context", &["-m32"]);
    let t = trace_path("ctx-y-i386");
    let out = vstrace()
        .args(["run", "--arch", "i386", "--add"])
        .arg(format!("{}:/bin/ctx", bin.display()))
        .arg("--add")
        .arg(format!("{}:/bin/strace", strace_i386().display()))
        .args(["--timeout", "300", "--json", "-o"])
        .arg(&t)
        .args(["-y", "-Y", "--", "sh", "-c"])
        .arg("strace -y -Y -o /tmp/s.txt /bin/ctx >/dev/null && cat /tmp/s.txt")
        .output()
        .expect("vstrace runs");
    assert!(out.status.success(), "{:?}\n{}", out.status, stderr(&out));
    check_names("i386", &stdout(&out), &records(&t));
}

/// `-P PATH` shows only the calls that name the path or an fd open on
/// it; `-e trace-fds=N` only calls with fd N; both before decoding.
#[test]
fn trace_path_and_trace_fds_select_calls() {
    for k in test_kernels() {
        let (_, recs) = run_ctx(&k, "ctx-P", &["-P", "/tmp/ctx/f.txt"], false, "/bin/ctx");
        let calls: Vec<String> = recs.iter().map(|r| name(r).to_string()).collect();
        assert_eq!(
            calls,
            ["write", "dup", "fsync", "close", "close"],
            "{k:?}: {recs:?}"
        );
        let (_, recs) = run_ctx(&k, "ctx-fds", &["-e", "trace-fds=5"], false, "/bin/ctx");
        let ctx: Vec<String> = recs
            .iter()
            .filter(|r| r["comm"] == "ctx")
            .map(|r| format!("{}({})", name(r), arg(r, 0)))
            .collect();
        // fd 5: f.txt (written, dup'ed, closed), then the pipe's read end.
        assert_eq!(
            ctx,
            ["write(5)", "dup(5)", "close(5)", "read(5)"],
            "{k:?}: {recs:?}"
        );
    }
}

/// `-P` on descriptors that change what they name (guests/progs/fdswap.c:
/// dup2 over a descriptor, close and a new open at the same number, a
/// rename): vstrace caches, per descriptor, that it names another file,
/// and must still show exactly the calls the guest's own `strace -P`
/// shows, live (the cache works in the plugin's early path).
#[test]
fn trace_path_follows_descriptors_that_change() {
    let bin = build_prog("fdswap", &[]);
    for kernel in kernel_args() {
        fdswap_agrees("fdswap-P", &bin, Path::new("/usr/bin/strace"), &kernel);
    }
}

/// `vstrace run`'s arguments for each test kernel.
fn kernel_args() -> Vec<Vec<String>> {
    test_kernels()
        .iter()
        .map(|k| {
            k.iter()
                .flat_map(|k| ["--kernel".to_string(), k.display().to_string()])
                .collect()
        })
        .collect()
}

/// The same on the i386 (686) kernel, with a 32-bit program and strace.
#[test]
fn trace_path_follows_descriptors_that_change_on_the_i386_kernel() {
    i386_profile();
    let bin = build_prog("fdswap", &["-m32"]);
    let arch = ["--arch".into(), "i386".into()];
    fdswap_agrees("fdswap-P-i386", &bin, &strace_i386(), &arch);
}

/// `-yy` on descriptors that change what they name: vstrace keeps a
/// thread's descriptor names between calls (and forgets them at every
/// call that may change one, including those the early-out drops), and
/// must still name every call's descriptor as the guest's own
/// `strace -yy` does, live.
#[test]
fn names_follow_descriptors_that_change() {
    let bin = build_prog("fdswap", &[]);
    for kernel in kernel_args() {
        names_agree("fdswap-yy", &bin, Path::new("/usr/bin/strace"), &kernel);
    }
}

/// The same on the i386 (686) kernel, with a 32-bit program and strace.
#[test]
fn names_follow_descriptors_that_change_on_the_i386_kernel() {
    i386_profile();
    let bin = build_prog("fdswap", &["-m32"]);
    let arch = ["--arch".into(), "i386".into()];
    names_agree("fdswap-yy-i386", &bin, &strace_i386(), &arch);
}

/// fdswap under `-yy` as under the guest's `strace -yy` (see
/// [`fdswap_agrees`]), then as the traced command itself: no other call
/// of the trace is in flight there, so the calls the filter leaves out
/// (the open, the rename) and their returns are dropped before the
/// engine, and only the lock-free checks see them.
fn names_agree(tag: &str, bin: &Path, strace: &Path, run_args: &[String]) {
    let opts = "-yy -e trace=write,close,fsync,dup2";
    let want = fdswap_agrees_with(tag, bin, strace, run_args, opts);
    let t = trace_path(&format!("{tag}-root"));
    let out = vstrace()
        .arg("run")
        .args(run_args)
        .arg("--add")
        .arg(format!("{}:/bin/fdswap", bin.display()))
        .args(["--timeout", "300", "--json", "-o"])
        .arg(&t)
        .args(opts.split(' '))
        .args(["--", "/bin/fdswap"])
        .output()
        .expect("vstrace runs");
    assert!(out.status.success(), "{run_args:?}: {}", stderr(&out));
    let got: Vec<String> = records(&t).iter().map(call_head).collect();
    // All but the last write, to stdout: the console here, /dev/null
    // under strace.
    let n = want.len() - 1;
    assert_eq!(got.get(..n), want.get(..n), "{run_args:?}");
}

/// Runs fdswap under the guest's `strace -P`, then alone, with vstrace
/// `-P` tracing both live: vstrace shows each run's calls as strace did.
fn fdswap_agrees(tag: &str, bin: &Path, strace: &Path, run_args: &[String]) {
    fdswap_agrees_with(tag, bin, strace, run_args, "-P /tmp/fdswap/p");
}

/// [`fdswap_agrees`] with the options `opts` for both tracers; returns
/// what strace showed (each call as its name and first argument).
fn fdswap_agrees_with(
    tag: &str,
    bin: &Path,
    strace: &Path,
    run_args: &[String],
    opts: &str,
) -> Vec<String> {
    let t = trace_path(tag);
    let out = vstrace()
        .arg("run")
        .args(run_args)
        .arg("--add")
        .arg(format!("{}:/bin/fdswap", bin.display()))
        .arg("--add")
        .arg(format!("{}:/bin/strace", strace.display()))
        .args(["--timeout", "300", "--json", "-o"])
        .arg(&t)
        .args(opts.split(' '))
        .args(["--", "sh", "-c"])
        .arg(format!(
            "strace {opts} -o /tmp/s.txt /bin/fdswap >/dev/null && rm -r /tmp/fdswap \
             && /bin/fdswap >/dev/null && cat /tmp/s.txt"
        ))
        .output()
        .expect("vstrace runs");
    assert!(
        out.status.success(),
        "{run_args:?}: {:?}\n{}",
        out.status,
        stderr(&out)
    );
    // Each call as its name and first argument.
    let want = call_heads(&stdout(&out));
    assert!(
        want.len() >= 10,
        "{run_args:?}: the guest's strace showed {want:?}"
    );
    // Both runs of the program: under the guest's strace, then alone.
    let got: Vec<String> = records(&t)
        .iter()
        .filter(|r| r["comm"] == "fdswap")
        .map(call_head)
        .collect();
    let twice: Vec<String> = want.iter().chain(&want).cloned().collect();
    assert_eq!(got, twice, "{run_args:?}");
    want
}

/// guests/progs/context.c linked dynamically (against the host's libc,
/// which `--add` carries into the guest with the program). Built once
/// per test binary: two tests use it at once, and one compiling over the
/// file while the other packs it would give that guest a partial program.
fn dynamic_ctx() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(build_dynamic_ctx).clone()
}

fn build_dynamic_ctx() -> PathBuf {
    let out = tmp().join(format!("context-dyn-{}", std::process::id()));
    let st = std::process::Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(repo().join("guests/progs/context.c"))
        .status()
        .expect("gcc runs");
    assert!(st.success(), "building the dynamic context.c failed");
    out
}

/// `vstrace run --caller --json -- /bin/ctx` with `bin` as /bin/ctx.
fn callers(kernel: &Option<PathBuf>, bin: &std::path::Path, name: &str) -> Vec<Value> {
    let t = trace_path(name);
    let mut cmd = vstrace();
    cmd.arg("run")
        .arg("--add")
        .arg(format!("{}:/bin/ctx", bin.display()));
    if let Some(k) = kernel {
        cmd.arg("--kernel").arg(k);
    }
    let out = cmd
        .args(["--timeout", "300", "--caller", "--json", "-o"])
        .arg(&t)
        .args(["--", "/bin/ctx"])
        .output()
        .expect("vstrace runs");
    assert!(
        out.status.success(),
        "{name} on {kernel:?}: {}",
        stderr(&out)
    );
    records(&t)
}

/// `--caller`: a dynamic program's calls before libc is loaded come from
/// the dynamic loader, its libc wrappers' from libc.so.6 at the wrapper
/// of the same name (from libc's .dynsym, read in guest memory); after
/// the loader's mmaps the map is read again (they are not stale). A
/// static program's calls come from the program itself.
#[test]
fn caller_modules_and_functions() {
    let dynamic = dynamic_ctx();
    let fixed = build_prog("context", &[]);
    for k in test_kernels() {
        let recs = callers(&k, &dynamic, "ctx-caller");
        let ctx: Vec<&Value> = recs
            .iter()
            .filter(|r| r["comm"] == "ctx" && name(r) != "execve")
            .collect();
        let module = |r: &Value| r["caller"]["module"].as_str().unwrap_or("").to_string();
        let first = ctx.first().expect("calls of ctx");
        assert!(
            module(first).ends_with("/ld-linux-x86-64.so.2"),
            "{k:?}: {first}"
        );
        for (call, wrapper) in [
            ("mkdir", "mkdir+"),
            ("write", "write+"),
            ("dup", "dup+"),
            ("fsync", "fsync+"),
            ("socketpair", "socketpair+"),
            ("kill", "kill+"),
            ("getppid", "getppid+"),
        ] {
            let r = ctx
                .iter()
                .find(|r| name(r) == call)
                .unwrap_or_else(|| panic!("{k:?}: no {call}"));
            assert!(module(r).ends_with("/libc.so.6"), "{k:?}: {r}");
            let sym = r["caller"]["symbol"].as_str().unwrap_or("");
            assert!(sym.starts_with(wrapper), "{k:?}: {call} from {sym}: {r}");
            let ip = r["caller"]["ip"].as_u64().unwrap();
            let off = r["caller"]["offset"].as_u64().unwrap();
            assert!(off < ip && off < 1 << 24, "{k:?}: {r}");
        }
        let recs = callers(&k, &fixed, "ctx-caller-static");
        let own: Vec<&Value> = recs
            .iter()
            .filter(|r| r["comm"] == "ctx" && name(r) != "execve")
            .filter(|r| r["state"] != "child_return")
            .collect();
        assert!(own.len() > 20, "{k:?}");
        for r in own {
            assert_eq!(module(r), "/bin/ctx", "{k:?}: {r}");
        }
    }
}

/// A recording made with `-yy -Y --caller` replays to the same records:
/// the file-table, task-list, VMA and symbol reads are in the trace file.
#[test]
fn context_recordings_replay_identically() {
    let dynamic = dynamic_ctx();
    for k in test_kernels() {
        let live = trace_path("ctx-rr");
        let rec = recording_path("ctx-rr");
        let mut cmd = vstrace();
        cmd.arg("run")
            .arg("--add")
            .arg(format!("{}:/bin/ctx", dynamic.display()));
        if let Some(k) = &k {
            cmd.arg("--kernel").arg(k);
        }
        let out = cmd
            .args(["--timeout", "300", "-yy", "-Y", "--caller", "--json", "-o"])
            .arg(&live)
            .arg("--record")
            .arg(&rec)
            .args(["--", "/bin/ctx"])
            .output()
            .expect("vstrace runs");
        assert!(out.status.success(), "{k:?}: {}", stderr(&out));
        let replayed = replay(&rec, &["--json"]);
        assert!(replayed.status.success(), "{}", stderr(&replayed));
        let want = std::fs::read_to_string(&live).unwrap();
        assert!(
            want.contains("\"caller\"") && want.contains("<pipe:["),
            "{k:?}: {want}"
        );
        assert_eq!(stdout(&replayed), want, "{k:?}");
    }
}
