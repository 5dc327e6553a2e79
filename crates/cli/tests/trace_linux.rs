//! Boots the Debian kernel under QEMU TCG with the vstrace plugin, runs the
//! scripted workload (guests/progs/workload.c) and checks the trace:
//! names, decoded paths and flags, return values, the fork + exec, and the
//! output formats and filters.

#[macro_use]
mod common;
use common::*;

/// The number after `key` in the guest program's output.
fn guest_num(out: &str, key: &str) -> i64 {
    let i = out
        .find(key)
        .unwrap_or_else(|| panic!("{key} not in guest output:\n{out}"));
    let rest = &out[i + key.len()..];
    let end = rest
        .find(|c: char| c != '-' && !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().unwrap()
}

on_both_qemus!(
    workload_trace_has_the_calls_with_decoded_arguments,
    workload_trace_has_the_calls_with_decoded_arguments_on_qemu_11,
    workload_trace_has_the_calls_with_decoded_arguments_on
);

fn workload_trace_has_the_calls_with_decoded_arguments_on(qemu: Option<&std::path::Path>) {
    let trace = trace_path(&per_qemu("workload", qemu));
    let out = run_on(
        qemu,
        &[
            "--json",
            "-o",
            trace.to_str().unwrap(),
            "--",
            "/bin/workload",
        ],
    );
    assert!(out.status.success(), "vstrace failed: {}", stderr(&out));
    let gout = stdout(&out);
    let recs = records(&trace);
    assert!(recs.len() > 50, "too few records: {}", recs.len());

    // The trace starts at the command's exec (not the guest's init).
    assert_eq!(name(&recs[0]), "execve");
    assert_eq!(arg(&recs[0], 0), "\"/bin/workload\"");
    assert!(recs.iter().all(|r| !arg(r, 0).contains("/sbin/poweroff")));

    let fd = guest_num(&gout, "open a.txt fd=");
    let create = find(&recs, |r| {
        name(r) == "openat" && arg(r, 1) == "\"/tmp/vst/a.txt\""
    });
    assert_eq!(create.len(), 2, "two opens of a.txt");
    assert_eq!(arg(create[0], 0), "AT_FDCWD");
    assert_eq!(arg(create[0], 2), "O_WRONLY|O_CREAT|O_TRUNC");
    assert_eq!(arg(create[0], 3), "0640");
    assert_eq!(ret(create[0]), fd);
    assert_eq!(arg(create[1], 2), "O_RDONLY");

    let w = find(&recs, |r| {
        name(r) == "write" && arg(r, 1) == "\"hello vstrace\\n\""
    });
    assert_eq!(w.len(), 1);
    assert_eq!(ret(w[0]), 14);
    let rd = find(&recs, |r| {
        name(r) == "read" && arg(r, 1) == "\"hello vstrace\\n\""
    });
    assert_eq!(rd.len(), 1, "read buffer decoded at exit");
    assert_eq!(ret(rd[0]), 14);

    let ren = find(&recs, |r| name(r).starts_with("rename"));
    assert_eq!(ren.len(), 1);
    let ren_text = serde_json::to_string(ren[0]).unwrap();
    assert!(ren_text.contains("/tmp/vst/a.txt") && ren_text.contains("/tmp/vst/b.txt"));
    assert_eq!(ret(ren[0]), 0);
    let un = find(&recs, |r| name(r).starts_with("unlink"));
    assert!(serde_json::to_string(un[0])
        .unwrap()
        .contains("/tmp/vst/b.txt"));

    let missing = find(&recs, |r| arg(r, 1) == "\"/nonexistent/file\"");
    assert_eq!(missing.len(), 1);
    assert_eq!(ret(missing[0]), -2);
    assert_eq!(missing[0]["errno"], "ENOENT");
    assert!(missing[0]["ret_text"]
        .as_str()
        .unwrap()
        .starts_with("-1 ENOENT"));

    let wv = find(&recs, |r| name(r) == "writev");
    assert_eq!(
        arg(wv[0], 1),
        "[{iov_base=\"writev-\", iov_len=7}, {iov_base=\"ok\\n\", iov_len=3}]"
    );
    let mm = find(&recs, |r| name(r) == "mmap" && arg(r, 1) == "8192");
    assert_eq!(arg(mm[0], 2), "PROT_READ|PROT_WRITE");
    assert_eq!(arg(mm[0], 3), "MAP_PRIVATE|MAP_ANONYMOUS");

    let socks = find(&recs, |r| name(r) == "socket");
    assert_eq!(arg(socks[0], 0), "AF_INET");
    assert_eq!(arg(socks[1], 0), "AF_UNIX");
    let conns = find(&recs, |r| name(r) == "connect");
    assert_eq!(
        arg(conns[0], 1),
        "{sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr(\"127.0.0.1\")}"
    );
    assert_eq!(ret(conns[0]), -guest_num(&gout, "connect inet r=-1 errno="));
    assert_eq!(
        arg(conns[1], 1),
        "{sa_family=AF_UNIX, sun_path=\"/tmp/vst/sock\"}"
    );
    assert_eq!(conns[1]["errno"], "ENOENT");

    let pipe = find(&recs, |r| name(r).starts_with("pipe"));
    assert!(
        arg(pipe[0], 0).starts_with('['),
        "pipe fds decoded: {}",
        arg(pipe[0], 0)
    );

    // fork + exec: the parent's clone returns the child's pid, the child
    // is followed into its exec, and wait4 reaps it.
    let child = guest_num(&gout, "child pid=");
    let clones = find(&recs, |r| name(r) == "clone" && r["state"] == "complete");
    assert_eq!(ret(clones[0]), child);
    assert!(recs
        .iter()
        .any(|r| name(r) == "clone" && r["state"] == "child_return"));
    let execs = find(&recs, |r| {
        name(r) == "execve" && arg(r, 1) == "[\"/bin/workload\", \"child\"]"
    });
    assert_eq!(execs.len(), 1, "child exec with argv");
    assert_eq!(ret(execs[0]), 0);
    assert!(
        find(&recs, |r| name(r) == "exit_group" && arg(r, 0) == "7")[0]["state"] == "no_return"
    );
    let waits = find(&recs, |r| name(r) == "wait4");
    assert_eq!(ret(waits[0]), child);
    assert!(
        arg(waits[0], 1).contains("WEXITSTATUS(s) == 7"),
        "{}",
        arg(waits[0], 1)
    );
    let getpid = find(&recs, |r| name(r) == "getpid");
    assert_eq!(ret(getpid.last().unwrap()), guest_num(&gout, "getpid="));

    // Every record has the fields the JSON format promises.
    for r in &recs {
        for k in [
            "seq",
            "vcpu",
            "ts_enter_ns",
            "cr3",
            "abi",
            "mechanism",
            "nr",
            "name",
            "args",
            "state",
        ] {
            assert!(r.get(k).is_some(), "{k} missing in {r}");
        }
    }
}

/// A six-argument call on the x86-64 `syscall` path, every argument
/// distinct: mmap(hint, 4096, PROT_READ, MAP_SHARED, fd, 4096).
#[test]
fn six_argument_mmap_is_decoded_in_full() {
    let out = run(&["--json", "-e", "trace=mmap", "--", "/bin/workload", "mmap6"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let std = stdout(&out);
    let fd = guest_num(&std, "mmap6 fd=");
    let addr = std
        .split("addr=0x")
        .nth(1)
        .and_then(|a| u64::from_str_radix(a.trim(), 16).ok())
        .unwrap_or_else(|| panic!("no address in {std}"));
    let recs: Vec<serde_json::Value> = stderr(&out)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .inspect(check_record)
        .collect();
    let m = find(&recs, |r| name(r) == "mmap" && arg(r, 1) == "4096");
    let m = m.last().unwrap_or_else(|| panic!("no mmap in {recs:?}"));
    assert_eq!(arg(m, 0), "0x5a5a0000", "{m}");
    assert_eq!(arg(m, 2), "PROT_READ", "{m}");
    assert_eq!(arg(m, 3), "MAP_SHARED", "{m}");
    assert_eq!(arg(m, 4), fd.to_string(), "{m}");
    assert_eq!(m["args"][5]["raw"], 4096, "{m}");
    assert_eq!(m["abi"], "x86_64");
    assert_eq!(m["mechanism"], "syscall");
    assert_eq!(ret(m) as u64, addr, "{m}");
}

#[test]
fn text_output_filters_and_summary() {
    // Default text output goes to stderr, the guest's stdout to stdout.
    let out = run(&["-e", "trace=%file", "--", "/bin/workload"]);
    assert!(out.status.success());
    let err = stderr(&out);
    let std = stdout(&out);
    assert!(std.contains("open a.txt fd=3"), "{std}");
    assert!(
        has_call(
            &err,
            "openat(AT_FDCWD, \"/tmp/vst/a.txt\", O_WRONLY|O_CREAT|O_TRUNC, 0640)",
            "3"
        ),
        "{err}"
    );
    assert!(err.contains("= -1 ENOENT (No such file or directory)"));
    assert!(!err.contains("socket("), "network calls filtered out");
    assert!(err.contains("mkdir("), "mkdir is %file");
    assert!(!err.contains("write(1,"), "write is not %file");
    assert!(err.contains("+++ guest command exited with 0 +++"));

    // -c: a summary table instead of records.
    let out = run(&["-c", "--", "/bin/workload"]);
    let err = stderr(&out);
    assert!(
        err.contains("% time     seconds  usecs/call     calls    errors syscall"),
        "{err}"
    );
    let openat = err
        .lines()
        .find(|l| l.ends_with(" openat"))
        .expect("openat row");
    let cols: Vec<&str> = openat.split_whitespace().collect();
    assert_eq!(cols[3], "3", "openat calls: {openat}");
    assert_eq!(cols[4], "1", "openat errors: {openat}");

    // -s limits strings.
    let out = run(&["-s", "5", "-e", "trace=write", "--", "/bin/workload"]);
    assert!(
        has_call(&stderr(&out), "write(3, \"hello\"..., 14)", "14"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn guest_exit_status_is_reported() {
    let out = run(&["-e", "trace=none", "--", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("+++ guest command exited with 3 +++"));
}

#[test]
fn bad_input_gives_clear_errors() {
    let out = vstrace()
        .args(["run", "-e", "trace=nosuchcall", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("invalid system call 'nosuchcall'"),
        "{}",
        stderr(&out)
    );
    let out = vstrace()
        .args(["run", "--kernel", "/nonexistent/vmlinuz", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).to_lowercase().contains("kernel"),
        "{}",
        stderr(&out)
    );
    let out = vstrace()
        .args(["run", "--qemu", "/nonexistent/qemu", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = vstrace()
        .args(["run", "--inject", "openat:bogus=1", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // strace's words for a bad injection (its --inject's too).
    assert_eq!(
        stderr(&out),
        "vstrace: invalid inject argument 'openat:bogus=1'\n"
    );
    let out = vstrace().args(["run", "--smp"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn busybox_applet_command_is_traced_from_its_exec() {
    // `ls` is a busybox applet the shell would run in-process; the guest
    // execs it for real so the trace starts at the command.
    let out = run(&["--", "ls", "/"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("vstrace"), "{}", stdout(&out));
    let err = stderr(&out);
    let first = err.lines().next().unwrap_or("");
    assert!(
        first.contains("] execve(\"/bin/ls\", [\"/bin/ls\", \"/\"]"),
        "{err}"
    );
    assert!(err.contains("getdents64("), "{err}");
    assert!(
        !err.contains("poweroff"),
        "the guest's shutdown is not traced: {err}"
    );
}

#[test]
fn guest_kernel_panic_is_reported_and_the_trace_kept() {
    let out = run(&[
        "-e",
        "trace=write",
        "--",
        "sh",
        "-c",
        "echo before; echo c > /proc/sysrq-trigger",
    ]);
    assert_eq!(out.status.code(), Some(70), "exit status 70: kernel panic");
    let err = stderr(&out);
    assert!(err.contains("guest kernel panicked"), "{err}");
    assert!(has_call(&err, "write(1, \"before\\n\", 7)", "7"), "{err}");
}

#[test]
fn ctrl_c_stops_qemu_and_flushes_the_trace() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let trace = trace_path("ctrl-c");
    let add = format!("{}:/bin/workload", workload().display());
    let mut child = vstrace()
        .args(["run", "--add", &add, "-o", trace.to_str().unwrap(), "--"])
        .args(["sh", "-c", "echo started; sleep 60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "started");
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: kill(2) on the child we spawned.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(
        has_call(&text, "write(1, \"started\\n\", 8)", "8"),
        "{text}"
    );
    let last = text.lines().last().unwrap_or("");
    assert!(
        last.contains("<unfinished ...>"),
        "the sleep is in flight: {text}"
    );
}

/// Starts `vstrace run -I WHEN -o TRACE -- sh -c 'echo started; ...'` in a
/// process group of its own (so that a test can signal the whole group,
/// as a terminal's Ctrl-C does, without reaching the test runner) and
/// waits for the command's first line.
fn spawn_interruptible(when: &str, trace: &std::path::Path, script: &str) -> std::process::Child {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let add = format!("{}:/bin/workload", workload().display());
    let mut child = vstrace()
        .args(["run", when, "--add", &add, "-o", trace.to_str().unwrap()])
        .args(["--", "sh", "-c", script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert_eq!(first, "started\n");
    // The rest of the guest's output, read on after the first line.
    child.stdout = None;
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut rest);
        rest
    });
    child
}

fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2) on the child we spawned (or its process group).
    unsafe {
        libc::kill(pid, sig);
    }
}

#[test]
fn interruptible_never_ignores_fatal_signals_until_the_command_ends() {
    // -I3 (strace's never): SIGTERM, SIGINT, SIGHUP, SIGQUIT to vstrace
    // and a Ctrl-C to its whole process group end neither vstrace nor its
    // QEMU: the command runs to its end and the trace has all of it.
    let trace = trace_path("interruptible-never");
    let mut child = spawn_interruptible("-I3", &trace, "echo started; sleep 3; echo done");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = child.id() as i32;
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT] {
        kill(pid, sig);
    }
    kill(-pid, libc::SIGINT);
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(has_call(&text, "write(1, \"done\\n\", 5)", "5"), "{text}");
    assert!(text.contains("+++ exited with 0 +++"), "{text}");
}

#[test]
fn interruptible_anywhere_and_its_long_spelling_end_on_sigterm() {
    // -I1 (and --interruptible=anywhere): a SIGTERM ends the run at once,
    // as by default, with the trace so far kept.
    for (name, when) in [("1", "-I1"), ("anywhere", "--interruptible=anywhere")] {
        let trace = trace_path(&format!("interruptible-{name}"));
        let mut child = spawn_interruptible(when, &trace, "echo started; sleep 60");
        std::thread::sleep(std::time::Duration::from_millis(300));
        kill(child.id() as i32, libc::SIGTERM);
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(130), "{when}: {err}");
        assert!(err.contains("interrupted"), "{when}: {err}");
        let text = std::fs::read_to_string(&trace).unwrap();
        assert!(
            has_call(&text, "write(1, \"started\\n\", 8)", "8"),
            "{when}: {text}"
        );
    }
}
