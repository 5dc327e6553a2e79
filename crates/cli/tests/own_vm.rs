//! Tracing a VM from its own QEMU command line: `vstrace qemu -- QEMU
//! ARGS...` and the dormant plugin (`-plugin ...,listen=unix:PATH`) with
//! `vstrace attach --plugin`. The guest is the Debian kernel with the
//! busybox initramfs, booted by a command line written here as a user
//! would (disk and network devices the guest ignores included), on QEMU
//! 10.0 and 11.1.

#[macro_use]
mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use vstrace_launch::{find_kernel, InitramfsBuilder};

/// A user's QEMU command line booting the guest running `script`, with
/// the command's stdout and stderr on serial files in `dir` (the console
/// on QEMU's stdio, as -nographic does), an isa-debug-exit device for a
/// chosen exit status, a disk and a user-mode network.
struct UserVm {
    program: PathBuf,
    args: Vec<String>,
    dir: PathBuf,
}

impl UserVm {
    fn new(label: &str, qemu: Option<&Path>, script: &str, extra: &[&str]) -> UserVm {
        let dir = tmp().join(format!("{}-{}", per_qemu(label, qemu), std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut b = InitramfsBuilder::new();
        b.shell(script);
        b.add_file(workload(), "/bin/workload", 0o755).unwrap();
        let initrd = b.write_cached().unwrap();
        let kernel = find_kernel(None).unwrap();
        let disk = dir.join("disk.img");
        std::fs::write(&disk, vec![0u8; 1 << 20]).unwrap();
        let f = |n: &str| format!("file:{}", dir.join(n).display());
        let mut args: Vec<String> = [
            "-kernel",
            kernel.to_str().unwrap(),
            "-initrd",
            initrd.to_str().unwrap(),
            "-append",
            "console=ttyS0 quiet no_timer_check panic=-1 8250.nr_uarts=4 rdinit=/init",
            "-m",
            "512M",
            "-smp",
            "2",
            "-nographic",
            "-no-reboot",
            "-serial",
            "mon:stdio",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(["-serial".into(), f("stdout.log")]);
        args.extend(["-serial".into(), f("stderr.log")]);
        args.extend(["-serial".into(), f("control.log")]);
        args.extend(
            [
                "-drive",
                &format!("file={},format=raw,if=virtio", disk.display()),
                "-netdev",
                "user,id=n0",
                "-device",
                "virtio-net-pci,netdev=n0,romfile=",
                "-device",
                "isa-debug-exit,iobase=0xf4,iosize=0x04",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        args.extend(extra.iter().map(|s| s.to_string()));
        let program = qemu
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("qemu-system-x86_64"));
        UserVm { program, args, dir }
    }

    fn guest_stdout(&self) -> String {
        std::fs::read_to_string(self.dir.join("stdout.log")).unwrap_or_default()
    }

    fn control(&self) -> String {
        std::fs::read_to_string(self.dir.join("control.log")).unwrap_or_default()
    }

    /// The last lines of the guest's console (`console.log`, where a test
    /// sends QEMU's standard output), of its ttyS1 and of QEMU's standard
    /// error (`qemu.err`: the plugin's messages), for a failure's message:
    /// what the guest was doing when it stopped making progress.
    fn logs_tail(&self) -> String {
        let tail = |name: &str| {
            let text = std::fs::read(self.dir.join(name)).unwrap_or_default();
            let text = String::from_utf8_lossy(&text);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        };
        format!(
            "--- console (last 40 lines)\n{}\n--- ttyS1 (last 40 lines)\n{}\n--- QEMU's stderr (last 40 lines)\n{}",
            tail("console.log"),
            tail("stdout.log"),
            tail("qemu.err")
        )
    }
}

/// Waits for `child` at most `limit`, killing it after.
fn wait_limited(child: &mut Child, limit: Duration) -> ExitStatus {
    wait_until(child, limit).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("did not finish within {limit:?}");
    })
}

/// `child`'s status once it ends within `limit`; None, still running, if
/// it does not.
fn wait_until(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return Some(st);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `vstrace qemu OPTS -- VM`, its stderr piped.
fn spawn_vstrace_qemu(vm: &UserVm, opts: &[&str], stdout: Stdio) -> Child {
    vstrace()
        .arg("qemu")
        .args(opts)
        .arg("--")
        .arg(&vm.program)
        .args(&vm.args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("vstrace runs")
}

/// Runs `vstrace qemu OPTS -- VM` to its end.
fn vstrace_qemu(vm: &UserVm, opts: &[&str]) -> Output {
    let mut child = spawn_vstrace_qemu(vm, opts, Stdio::piped());
    let (mut so, mut se) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let t1 = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut so, &mut v).ok();
        v
    });
    let t2 = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut se, &mut v).ok();
        v
    });
    let status = wait_limited(&mut child, Duration::from_secs(400));
    let out = Output {
        status,
        stdout: t1.join().unwrap(),
        stderr: t2.join().unwrap(),
    };
    if std::env::var_os("VSTRACE_TEST_VERBOSE").is_some() {
        eprintln!("stdout:\n{}\nstderr:\n{}", stdout(&out), stderr(&out));
    }
    out
}

/// The number after `key` in `text`.
fn num(text: &str, key: &str) -> i64 {
    num_after(text, key, 10)
}

on_both_qemus!(
    own_command_line_is_traced_with_attribution_injection_and_exit_status,
    own_command_line_is_traced_with_attribution_injection_and_exit_status_on_qemu_11,
    own_command_line_on
);

/// A Python hooks file that marks each connect's record with what the
/// hook saw at its exit (no change to the guest): `--hooks` runs inside
/// the plugin for `vstrace qemu` and for a dormant plugin's client.
fn marking_hooks(dir: &Path) -> PathBuf {
    let p = dir.join("mark_hooks.py");
    std::fs::write(
        &p,
        "def exit_connect(syscall):\n    syscall.hook = {'seen_by': 'python', 'ret': syscall.return_value}\n",
    )
    .unwrap();
    p
}

/// Every connect record carries the marking hook's data, its return -13.
fn marked_by_hooks(recs: &[serde_json::Value]) {
    let conns = find(recs, |r| name(r) == "connect" && r["state"] == "complete");
    assert!(!conns.is_empty());
    for c in conns {
        assert_eq!(c["hook"]["seen_by"], "python", "{c}");
        assert_eq!(c["hook"]["ret"], -13, "{c}");
    }
}

fn own_command_line_on(qemu: Option<&Path>) {
    // isa-debug-exit: QEMU exits with (3 << 1) | 1 = 7.
    let vm = UserVm::new(
        "ownvm",
        qemu,
        "/bin/workload; printf '\\003' | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null; \
         echo still-running",
        &[],
    );
    let trace = trace_path(&per_qemu("ownvm", qemu));
    let hooks = marking_hooks(&vm.dir);
    let out = vstrace_qemu(
        &vm,
        &[
            "--json",
            "-o",
            trace.to_str().unwrap(),
            "--inject",
            "connect:error=EACCES",
            "--hooks",
            hooks.to_str().unwrap(),
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(7), "QEMU's status:\n{err}");
    // The console went to QEMU's stdio, unchanged.
    assert!(
        stdout(&out).contains("VSTRACE_CMD_START") || vm.control().contains("VSTRACE_CMD_START"),
        "{err}"
    );
    let g = vm.guest_stdout();
    // The injection reached the guest: both connects fail with EACCES.
    assert_eq!(num(&g, "connect inet r=-1 errno="), 13, "{g}");
    assert_eq!(num(&g, "connect unix r=-1 errno="), 13, "{g}");

    let recs = records(&trace);
    assert!(recs.len() > 100, "too few records: {}", recs.len());
    let pid = num(&g, "workload pid=");
    let child = num(&g, "child pid=");
    let w = find(&recs, |r| {
        name(r) == "write" && arg(r, 1).starts_with("\"workload pid=")
    });
    assert_eq!(w.len(), 1, "{g}");
    assert_eq!(w[0]["pid"], pid);
    assert_eq!(w[0]["comm"], "workload");
    let child_exit = find(&recs, |r| name(r) == "exit_group" && arg(r, 0) == "7");
    assert_eq!(child_exit[0]["pid"], child);
    assert_eq!(child_exit[0]["ppid"], pid);
    let conns = find(&recs, |r| name(r) == "connect");
    assert_eq!(conns.len(), 2);
    assert!(conns.iter().all(|c| c["errno"] == "EACCES"), "{conns:?}");
    marked_by_hooks(&recs);
    // The whole guest is traced: init's shell and busybox too.
    assert!(recs.iter().any(|r| r["comm"] == "dd"));
    // The guest ended through the debug-exit device, not by powering off.
    assert!(!g.contains("still-running"));
}

#[test]
fn kvm_and_a_second_plugin_are_refused_before_qemu_starts() {
    for bad in [
        &["-enable-kvm"][..],
        &["-accel", "kvm"],
        &["--accel", "kvm"],
        &["-machine", "q35,accel=kvm"],
    ] {
        let out = vstrace()
            .args(["qemu", "--", "qemu-system-x86_64", "-m", "64"])
            .args(bad)
            .output()
            .unwrap();
        let e = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{bad:?}: {e}");
        assert_eq!(e.lines().count(), 1, "one line: {e}");
        assert!(
            e.contains("need TCG") && e.contains("vstrace attach"),
            "{e}"
        );
    }
    let out = vstrace()
        .args(["qemu", "--", "qemu-system-x86_64", "-plugin", "/x/lib.so"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already has -plugin /x/lib.so"));
}

#[test]
fn interrupting_vstrace_qemu_ends_qemu_and_keeps_the_trace() {
    let vm = UserVm::new(
        "ownvm-int",
        None,
        "while true; do /bin/workload >/dev/null; done",
        &[],
    );
    let trace = trace_path("ownvm-int");
    let mut child = spawn_vstrace_qemu(
        &vm,
        &["--profile-from-memory", "-o", trace.to_str().unwrap()],
        Stdio::null(),
    );
    wait_for(
        || vm.control().contains("VSTRACE_CMD_START"),
        "the guest's start",
    );
    wait_for(
        || std::fs::read_to_string(&trace).is_ok_and(|t| t.contains("workload")),
        "workload records",
    );
    signal(child.id(), "INT");
    let st = wait_limited(&mut child, Duration::from_secs(60));
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(st.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    let t = std::fs::read_to_string(&trace).unwrap();
    assert!(t.ends_with('\n') && t.lines().count() > 50);
    // pid/comm from the kernel found in guest memory, not from -kernel.
    assert!(
        err.contains("kernel BTF and symbols found in guest memory"),
        "{err}"
    );
    assert!(
        t.lines().filter(|l| l.starts_with("[pid ")).count() > 50,
        "{t}"
    );
}

/// Polls `cond` for at most two minutes.
fn wait_for(cond: impl Fn() -> bool, what: &str) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `kill -SIG pid`.
fn signal(pid: u32, sig: &str) {
    let st = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(st.success());
}

/// The plugin built next to the vstrace binary.
fn plugin_path() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_vstrace"))
        .parent()
        .unwrap()
        .join("libvstrace_plugin.so")
}

/// `vstrace attach --plugin ENDPOINT ARGS...`, started.
fn attach_plugin(endpoint: &str, args: &[&str]) -> Child {
    vstrace()
        .args(["attach", "--plugin", endpoint])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vstrace runs")
}

/// Waits for a started attach and returns its output.
fn finish(c: Child) -> Output {
    finish_or(c, Duration::from_secs(120), String::new)
}

/// [`finish`] within `limit`, with `context()` in the failure's message.
fn finish_or(mut c: Child, limit: Duration, context: impl FnOnce() -> String) -> Output {
    let Some(st) = wait_until(&mut c, limit) else {
        // The context first, as it was (a killed client detaches).
        let context = context();
        let _ = c.kill();
        let _ = c.wait();
        let mut err = Vec::new();
        std::io::Read::read_to_end(c.stderr.as_mut().unwrap(), &mut err).unwrap();
        panic!(
            "did not finish within {limit:?}\n--- its stderr\n{}\n{context}",
            String::from_utf8_lossy(&err),
        );
    };
    let mut o = Output {
        status: st,
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    std::io::Read::read_to_end(c.stdout.as_mut().unwrap(), &mut o.stdout).unwrap();
    std::io::Read::read_to_end(c.stderr.as_mut().unwrap(), &mut o.stderr).unwrap();
    o
}

on_both_qemus!(
    dormant_plugin_attach_detach_attach_again_one_client_at_a_time,
    dormant_plugin_attach_detach_attach_again_one_client_at_a_time_on_qemu_11,
    dormant_plugin_on
);

fn dormant_plugin_on(qemu: Option<&Path>) {
    use std::os::unix::fs::PermissionsExt;
    let label = per_qemu("dormant", qemu);
    let sock = tmp().join(format!("{label}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    let plugin = format!(
        "{},listen=unix:{},machine=pc,ram_mib=512",
        plugin_path().display(),
        sock.display()
    );
    // Every workload run prints its connect's errno: 101 (ENETUNREACH: no lo)
    // untraced, 13 (EACCES) while a client injects it.
    let vm = UserVm::new(
        "dormant",
        qemu,
        "while true; do /bin/workload | grep 'connect inet'; sleep 0.1; done",
        &["-accel", "tcg", "-plugin", &plugin],
    );
    let mut q = std::process::Command::new(&vm.program)
        .args(&vm.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("QEMU starts");
    let kill_qemu = scopeguard(q.id());
    wait_for(
        || vm.control().contains("VSTRACE_CMD_START"),
        "the guest's start",
    );
    wait_for(|| vm.guest_stdout().contains("errno=101"), "untraced runs");
    let ep = format!("unix:{}", sock.display());
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "socket mode");
    let kernel = find_kernel(None).unwrap();
    let kernel = kernel.to_str().unwrap();

    // First client: JSON records, an injection, Python hooks, --duration.
    let t1 = trace_path(&format!("{label}-1"));
    let dormant_hooks = marking_hooks(&vm.dir);
    let r1 = recording_path(&format!("{label}-1"));
    let first = attach_plugin(
        &ep,
        &[
            "--record",
            r1.to_str().unwrap(),
            "--kernel",
            kernel,
            "--json",
            "-o",
            t1.to_str().unwrap(),
            "--inject",
            "connect:error=EACCES",
            "--hooks",
            dormant_hooks.to_str().unwrap(),
            "--duration",
            "6",
        ],
    );
    wait_for(
        || std::fs::read_to_string(&t1).is_ok_and(|t| t.contains("\"connect\"")),
        "the first client's records",
    );
    // A second client meanwhile: refused, clearly, in one line.
    let second = finish(attach_plugin(&ep, &["--duration", "1"]));
    let e2 = stderr(&second);
    assert_eq!(second.status.code(), Some(1), "{e2}");
    assert!(e2.contains("another vstrace is attached"), "{e2}");
    assert_eq!(e2.lines().count(), 1, "one line: {e2}");
    let first = finish(first);
    if first.status.code() != Some(0) {
        // QEMU's side of the story.
        let _ = q.kill();
        let mut qerr = String::new();
        let _ = std::io::Read::read_to_string(q.stderr.as_mut().unwrap(), &mut qerr);
        let n = std::fs::read_to_string(&t1)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        panic!(
            "first client: {} ({n} records)\nQEMU: {qerr}",
            stderr(&first)
        );
    }
    marked_by_hooks(&records(&t1));
    // The recording, written by the client, replays to the same trace
    // (with the same hooks, which run read-only in a replay).
    let rep = replay(&r1, &["--hooks", dormant_hooks.to_str().unwrap()]);
    assert_eq!(rep.status.code(), Some(0), "{}", stderr(&rep));
    let (live, replayed) = (std::fs::read_to_string(&t1).unwrap(), stdout(&rep));
    // The same records; two calls that end at the same event (two vCPUs'
    // execs, one exit timestamp) may come out in either order, so the
    // records are compared sorted (known: the order of records finished
    // by one event is not yet deterministic across runs).
    let sorted = |t: &str| {
        let mut v: Vec<String> = t
            .lines()
            .map(|l| {
                let mut r: serde_json::Value = serde_json::from_str(l).unwrap();
                check_record(&r);
                r["seq"] = 0.into();
                r.to_string()
            })
            .collect();
        v.sort();
        v.join("\n")
    };
    let (live, replayed) = (sorted(&live), sorted(&replayed));
    let diff = live.lines().zip(replayed.lines()).position(|(a, b)| a != b);
    assert!(
        diff.is_none() && live.lines().count() == replayed.lines().count(),
        "replay of the recording differs at line {diff:?} of {}/{}: {:?}",
        live.lines().count(),
        replayed.lines().count(),
        diff.map(|i| (live.lines().nth(i), replayed.lines().nth(i)))
    );
    let recs = records(&t1);
    let conns = find(&recs, |r| name(r) == "connect");
    assert!(!conns.is_empty());
    assert!(conns.iter().all(|c| c["errno"] == "EACCES"), "{conns:?}");
    let wl = find(&recs, |r| r["comm"] == "workload");
    assert!(!wl.is_empty(), "attribution");
    assert!(wl.iter().all(|r| r["pid"].as_u64().is_some_and(|p| p > 1)));
    // The guest saw it, and sees the untouched call again once detached.
    let g = vm.guest_stdout();
    let at = g.find("errno=13").expect("injection seen by the guest");
    wait_for(
        || vm.guest_stdout()[at..].contains("errno=101"),
        "untraced runs after the detach",
    );

    // Hostile bytes on the socket: that client is dropped, nothing else.
    {
        use std::io::{Read, Write};
        let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
        s.write_all(b"$qSupported#37\xff\xff\xff\xff").unwrap();
        let mut reply = Vec::new();
        let _ = s.read_to_end(&mut reply);
        assert!(String::from_utf8_lossy(&reply).contains("not a vstrace plugin frame"));
    }
    // A client killed while attached: the plugin goes dormant again.
    let t3 = trace_path(&format!("{label}-3"));
    let mut third = attach_plugin(&ep, &["-o", t3.to_str().unwrap()]);
    wait_for(
        || std::fs::read_to_string(&t3).is_ok_and(|t| t.contains("connect(")),
        "the third client's records",
    );
    third.kill().unwrap();
    let _ = third.wait();

    // Attach again: text output, a filter.
    let t4 = trace_path(&format!("{label}-4"));
    let again = finish(attach_plugin(
        &ep,
        &[
            "-e",
            "trace=connect",
            // strace's output options reach the plugin's sink.
            "-T",
            "-o",
            t4.to_str().unwrap(),
            "--duration",
            "4",
        ],
    ));
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    // No --kernel: the plugin found the kernel's profile in guest memory.
    assert!(
        stderr(&again).contains("kernel BTF and symbols found in guest memory"),
        "{}",
        stderr(&again)
    );
    let t = std::fs::read_to_string(&t4).unwrap();
    assert!(t.lines().count() >= 2, "{t}");
    // Calls other than connect are filtered out; signals and exits are
    // shown, as strace does.
    assert!(
        t.lines().all(|l| {
            let call = l.split_once("] ").map_or(l, |(_, c)| c);
            l.starts_with("[pid ")
                && (call.starts_with("connect(")
                    || call.starts_with("--- SIG")
                    || call.starts_with("+++ exited with "))
        }),
        "{t}"
    );
    assert!(t.contains("ENETUNREACH"), "{t}");
    // -T: each finished call ends with its duration, `<0.000123>`.
    let timed = |l: &str| {
        l.rsplit_once(" <").is_some_and(|(_, d)| {
            d.strip_suffix('>').is_some_and(|d| {
                d.len() == 8 && d.as_bytes()[1] == b'.' && d.parse::<f64>().is_ok()
            })
        })
    };
    assert!(
        t.lines()
            .filter(|l| l.contains("connect(") && l.contains(" = "))
            .all(timed),
        "{t}"
    );

    // A detach leaves the VM running: the calls in flight then (the
    // guest shell's wait4, sleep's nanosleep) end as strace's do,
    // `NAME(ARGS <detached ...>`, the only status `-e status=detached`
    // shows.
    let t5 = trace_path(&format!("{label}-5"));
    let detach = finish(attach_plugin(
        &ep,
        &[
            "-e",
            "trace=wait4,nanosleep,clock_nanosleep",
            "-e",
            "status=detached",
            "-o",
            t5.to_str().unwrap(),
            "--duration",
            "3",
        ],
    ));
    assert_eq!(detach.status.code(), Some(0), "{}", stderr(&detach));
    let t = std::fs::read_to_string(&t5).unwrap();
    let calls: Vec<&str> = t
        .lines()
        .filter(|l| !l.contains("+++ ") && !l.contains("--- SIG"))
        .collect();
    assert!(!calls.is_empty(), "no call in flight at the detach: {t}");
    assert!(
        calls
            .iter()
            .all(|l| l.ends_with(" <detached ...>") && !l.contains(" = ")),
        "{t}"
    );

    drop(kill_qemu);
    let _ = q.wait();
    assert!(!sock.exists(), "socket removed when QEMU exits");
}

/// Ends QEMU (SIGTERM) when dropped, even if the test fails.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.0.to_string())
            .status();
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn scopeguard(pid: u32) -> KillOnDrop {
    KillOnDrop(pid)
}

/// The Debian bookworm image of scripts/debian-image.sh (debootstrap,
/// systemd, the distribution kernel and its initramfs-tools initrd), built
/// by that script on first use and cached (both QEMU variants share it: a
/// lock keeps two tests from building it at once).
fn debian_image() -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let d = vstrace_launch::cache::cache_dir().join("debian-bookworm");
    if !d.join("disk.qcow2").is_file() {
        let st = std::process::Command::new("bash")
            .arg(repo().join("scripts/debian-image.sh"))
            .stdin(Stdio::null())
            .status()
            .expect("bash runs");
        assert!(
            st.success(),
            "scripts/debian-image.sh failed (it needs root)"
        );
    }
    assert!(
        d.join("disk.qcow2").is_file(),
        "no image in {}",
        d.display()
    );
    d
}

on_both_qemus!(
    debian_disk_image_boots_with_systemd_traced_with_attribution_and_a_path_rewrite,
    debian_disk_image_boots_with_systemd_traced_with_attribution_and_a_path_rewrite_on_qemu_11,
    debian_image_on
);

/// The user's command line for the Debian image: its kernel and
/// initrd, the disk (snapshot: the image stays as built), a user-mode
/// network, 1 GiB and 2 vCPUs, the console on stdio and the workload's
/// output on the second serial port (`stdout.log` in the VM's dir);
/// `extra` is appended.
fn debian_vm(img: &Path, label: &str, qemu: Option<&Path>, extra: &[String]) -> UserVm {
    let dir = tmp().join(format!("{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let p = |n: &str| img.join(n).display().to_string();
    let out_log = dir.join("stdout.log");
    let mut args: Vec<String> = vec![
        "-kernel".into(),
        p("vmlinuz"),
        "-initrd".into(),
        p("initrd.img"),
        "-append".into(),
        "root=/dev/vda rw console=ttyS0 quiet no_timer_check".into(),
        "-drive".into(),
        format!("file={},if=virtio,format=qcow2", p("disk.qcow2")),
        // The image stays as built.
        "-snapshot".into(),
        "-netdev".into(),
        "user,id=n0".into(),
        "-device".into(),
        "virtio-net-pci,netdev=n0,romfile=".into(),
        "-m".into(),
        "1G".into(),
        "-smp".into(),
        "2".into(),
        "-nographic".into(),
        "-no-reboot".into(),
        "-serial".into(),
        "mon:stdio".into(),
        "-serial".into(),
        format!("file:{}", out_log.display()),
    ];
    args.extend_from_slice(extra);
    UserVm {
        program: qemu
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("qemu-system-x86_64")),
        args,
        dir,
    }
}

fn debian_image_on(qemu: Option<&Path>) {
    let img = debian_image();
    let label = per_qemu("debian", qemu);
    let vm = debian_vm(&img, &label, qemu, &[]);
    let trace = trace_path(&label);
    let out = vstrace_qemu(
        &vm,
        &[
            "--json",
            "-o",
            trace.to_str().unwrap(),
            // Not an injection on a call systemd needs to boot.
            "--rewrite-path",
            "/etc/hostname=/etc/os-release",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let g = vm.guest_stdout();
    // The rewrite reached the guest: the workload's cat printed os-release.
    assert!(g.contains("Debian GNU/Linux 12"), "{g}");
    assert!(g.contains("workload done"), "{g}");
    let pid = num(&g, "workload pid=");

    let recs = records(&trace);
    assert!(recs.len() > 1000, "too few records: {}", recs.len());
    // systemd itself, its services and the workload, each with its pid.
    let init = find(&recs, |r| r["comm"] == "systemd" && r["pid"] == 1);
    assert!(!init.is_empty(), "no record of systemd as pid 1");
    for svc in ["systemd-journal", "systemd-udevd"] {
        let s = find(&recs, |r| r["comm"] == svc);
        assert!(!s.is_empty(), "no record of {svc}");
        assert!(s.iter().all(|r| r["pid"].as_u64().is_some_and(|p| p > 1)));
    }
    // journald is one process: all its records under one pid.
    let journald: std::collections::BTreeSet<u64> = find(&recs, |r| r["comm"] == "systemd-journal")
        .iter()
        .filter_map(|r| r["pid"].as_u64())
        .collect();
    assert_eq!(journald.len(), 1, "journald's pids: {journald:?}");
    let conns = find(&recs, |r| {
        name(r) == "connect" && r["pid"] == pid && arg(r, 1).contains("127.0.0.1")
    });
    assert_eq!(conns.len(), 1, "the workload's connect");
    assert_eq!(conns[0]["comm"], "vstrace-workloa");
    let host = find(&recs, |r| {
        name(r) == "openat"
            && r["comm"] == "cat"
            && r["ppid"] == pid
            && serde_json::to_string(r).unwrap().contains("/etc/hostname")
    });
    assert_eq!(host.len(), 1, "cat /etc/hostname");
    assert!(
        serde_json::to_string(host[0])
            .unwrap()
            .contains("/etc/os-release"),
        "the rewrite in the record: {}",
        host[0]
    );
}

on_both_qemus!(
    debian_disk_image_with_the_dormant_plugin_attach_detach_attach_with_a_rewrite,
    debian_disk_image_with_the_dormant_plugin_attach_detach_attach_with_a_rewrite_on_qemu_11,
    debian_dormant_on
);

/// Polls `cond` for at most `secs` seconds (a systemd boot under TCG on a
/// loaded host takes a while).
fn wait_long(cond: impl Fn() -> bool, what: &str, secs: u64) {
    wait_long_or(cond, what, secs, String::new);
}

/// [`wait_long`] with `context()` (taken at the timeout) in the failure's
/// message.
fn wait_long_or(cond: impl Fn() -> bool, what: &str, secs: u64, context: impl Fn() -> String) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}{}",
            match context() {
                c if c.is_empty() => c,
                c => format!("\n{c}"),
            }
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The Debian image booted by the user's own QEMU command line with the
/// dormant plugin in it: a first client attaches during the boot (the
/// kernel profile found in guest memory) and detaches on Ctrl-C once
/// systemd's services have made calls; a second attaches with `--kernel`
/// and a path rewrite until the workload powers the VM off, and the
/// guest prints what the rewrite made it read.
fn debian_dormant_on(qemu: Option<&Path>) {
    let img = debian_image();
    let label = per_qemu("debian-dormant", qemu);
    let sock = tmp().join(format!("{label}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    let plugin = format!(
        "{},listen=unix:{},machine=pc,ram_mib=1024",
        plugin_path().display(),
        sock.display()
    );
    let mut vm = debian_vm(&img, &label, qemu, &["-plugin".into(), plugin]);
    // For a failure's message: where the vCPUs are.
    let monitor = vm.dir.join("monitor.sock");
    vm.args.extend([
        "-monitor".into(),
        format!("unix:{},server=on,wait=off", monitor.display()),
        // The vCPU threads named (`CPU 0/TCG`) in /proc.
        "-name".into(),
        "debian,debug-threads=on".into(),
    ]);
    // The guest's console (ttyS0, on QEMU's stdout) is kept for a
    // failure's message.
    let console = std::fs::File::create(vm.dir.join("console.log")).unwrap();
    let mut q = std::process::Command::new(&vm.program)
        .args(&vm.args)
        .stdin(Stdio::null())
        .stdout(console)
        .stderr(std::fs::File::create(vm.dir.join("qemu.err")).unwrap())
        .spawn()
        .expect("QEMU starts");
    let kill_qemu = scopeguard(q.id());
    let qemu_pid = q.id();
    let stuck = || format!("{}\n{}", vm.logs_tail(), qemu_state(qemu_pid, &monitor));
    wait_for(|| sock.exists(), "the plugin's socket");
    let ep = format!("unix:{}", sock.display());

    // First client, from the boot on: systemd and its services.
    let t1 = trace_path(&format!("{label}-1"));
    let first = attach_plugin(&ep, &["--json", "-o", t1.to_str().unwrap()]);
    let journald = |t: &str| t.contains("\"comm\":\"systemd-journal\"");
    wait_long(
        || std::fs::read_to_string(&t1).is_ok_and(|t| journald(&t)),
        "systemd-journald's calls",
        600,
    );
    signal(first.id(), "INT");
    let first = finish(first);
    let e1 = stderr(&first);
    // Ctrl-C: detached, exit 130 as strace's.
    assert_eq!(first.status.code(), Some(130), "{e1}");
    assert!(
        e1.contains("kernel BTF and symbols found in guest memory"),
        "{e1}"
    );
    let recs = records(&t1);
    assert!(!find(&recs, |r| r["comm"] == "systemd" && r["pid"] == 1).is_empty());
    // journald is one process (pid > 1), its calls all under that pid.
    let j = find(&recs, |r| r["comm"] == "systemd-journal");
    let pids: std::collections::BTreeSet<u64> =
        j.iter().filter_map(|r| r["pid"].as_u64()).collect();
    assert_eq!(pids.len(), 1, "journald's pids: {pids:?}");
    assert!(pids.iter().all(|p| *p > 1));
    assert_eq!(j.len(), j.iter().filter(|r| r["pid"].is_u64()).count());

    // Second client: the kernel's image for the profile, a path rewrite,
    // until the workload powers the VM off.
    let t2 = trace_path(&format!("{label}-2"));
    let kernel = img.join("vmlinuz");
    let second = attach_plugin(
        &ep,
        &[
            "--kernel",
            kernel.to_str().unwrap(),
            "--json",
            "-o",
            t2.to_str().unwrap(),
            "--rewrite-path",
            "/etc/hostname=/etc/os-release",
        ],
    );
    wait_long_or(
        || vm.guest_stdout().contains("workload done"),
        "the workload",
        600,
        stuck,
    );
    // The workload's unit powers the VM off, which ends the client. The
    // power-off may wait for systemd's stop timeout of a unit (90 s by
    // default) on a loaded host.
    let second = finish_or(second, Duration::from_secs(300), stuck);
    let e2 = stderr(&second);
    assert_eq!(second.status.code(), Some(0), "{e2}");
    let g = vm.guest_stdout();
    // The rewrite reached the guest: the workload's cat printed os-release.
    assert!(g.contains("Debian GNU/Linux 12"), "{g}");
    let pid = num(&g, "workload pid=");
    let recs = records(&t2);
    let mine = find(&recs, |r| r["pid"] == pid);
    assert!(!mine.is_empty(), "no record of the workload (pid {pid})");
    // Its comm: "systemd" right after the fork, systemd's "(workload)"
    // before the exec, the script's name after.
    let comms: std::collections::BTreeSet<&str> =
        mine.iter().filter_map(|r| r["comm"].as_str()).collect();
    assert!(comms.contains("vstrace-workloa"), "{comms:?}");
    assert!(
        comms
            .iter()
            .all(|c| ["vstrace-workloa", "systemd", "(workload)"].contains(c)),
        "{comms:?}"
    );
    let host = rewritten_cats(&recs, pid);
    assert_eq!(host.len(), 1, "cat /etc/hostname, rewritten");
    let _ = q.wait();
    drop(kill_qemu);
    assert!(!sock.exists(), "socket removed when QEMU exits");
}

/// What QEMU `pid` is doing, for a failure's message: each thread's
/// name, state and kernel wait channel (a vCPU thread asleep in a futex
/// waits for a lock; one running is in the guest), and the vCPUs' state
/// and registers from its human monitor at `monitor`.
fn qemu_state(pid: u32, monitor: &Path) -> String {
    use std::io::{Read, Write};
    let mut out = String::from("--- QEMU's threads (name state wait-channel)\n");
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    for t in tasks.flatten() {
        let p = t.path();
        let read = |f: &str| std::fs::read_to_string(p.join(f)).unwrap_or_default();
        let stat = read("stat");
        // The state is the field after the parenthesised name.
        let state = stat.rsplit(") ").next().and_then(|r| r.split(' ').next());
        out.push_str(&format!(
            "{} {} {}\n",
            read("comm").trim(),
            state.unwrap_or("?"),
            read("wchan").trim()
        ));
    }
    out.push_str("--- QEMU's monitor\n");
    if let Ok(mut m) = std::os::unix::net::UnixStream::connect(monitor) {
        let _ = m.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = m.write_all(b"info cpus\ninfo registers -a\n");
        let mut text = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = m.read(&mut buf) {
            if n == 0 || text.len() > 64 << 10 {
                break;
            }
            text.extend_from_slice(&buf[..n]);
        }
        // The vCPUs' states and their general registers (not the echo
        // of the commands, nor the FPU and vector registers).
        let keep = [
            "* CPU", "  CPU", "CPU#", "RAX=", "RSI=", "R8 =", "R12=", "RIP=", "CR0=",
        ];
        for line in String::from_utf8_lossy(&text).lines() {
            if keep.iter().any(|k| line.starts_with(k)) {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// The `openat` records of a `cat` child of `pid` whose path the rewrite
/// /etc/hostname=/etc/os-release changed.
fn rewritten_cats(recs: &[serde_json::Value], pid: i64) -> Vec<&serde_json::Value> {
    find(recs, |r| {
        name(r) == "openat"
            && r["comm"] == "cat"
            && r["ppid"] == pid
            && serde_json::to_string(r)
                .unwrap()
                .contains("/etc/os-release")
    })
}

on_both_qemus!(
    debian_disk_image_serial_console_login_traced_with_attribution_and_a_path_rewrite,
    debian_disk_image_serial_console_login_traced_with_attribution_and_a_path_rewrite_on_qemu_11,
    debian_login_on
);

/// The Debian image under `vstrace qemu`, its workload typed at a serial
/// console login as a user would: a payload disk (`run`: a long sleep)
/// keeps the image's workload unit from powering the VM off; the test
/// waits for systemd's getty on ttyS0 (QEMU's stdio), logs in as root
/// (no password in this image), and types a command line that prints the
/// shell's pid and `cat`s /etc/hostname to the second serial port, then
/// powers off. The trace has the login chain (agetty, login, the shell
/// under login) and the shell's `cat` with the path rewrite the guest saw.
fn debian_login_on(qemu: Option<&Path>) {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    let img = debian_image();
    let label = per_qemu("debian-login", qemu);
    let payload = tmp().join(format!("{label}-payload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&payload);
    std::fs::create_dir_all(payload.join("fs")).unwrap();
    let run = payload.join("fs/run");
    std::fs::write(&run, "#!/bin/sh\nexec sleep 3600\n").unwrap();
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let disk = payload.join("payload.img");
    let st = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(payload.join("fs"))
        .arg(&disk)
        .arg("8M")
        .status()
        .expect("mkfs.ext4 runs");
    assert!(st.success(), "mkfs.ext4 -d");
    let vm = debian_vm(
        &img,
        &label,
        qemu,
        &[
            "-drive".into(),
            format!("file={},if=virtio,format=raw", disk.display()),
        ],
    );
    let trace = trace_path(&label);
    let mut child = vstrace()
        .arg("qemu")
        .args([
            "--json",
            "-o",
            trace.to_str().unwrap(),
            "--rewrite-path",
            "/etc/hostname=/etc/os-release",
            "--",
        ])
        .arg(&vm.program)
        .args(&vm.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vstrace runs");
    let kill = scopeguard(child.id());
    let console = Arc::new(Mutex::new(String::new()));
    let mut so = child.stdout.take().unwrap();
    let reader = {
        let console = console.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = so.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]);
                console.lock().unwrap().push_str(&text);
            }
        })
    };
    let mut se = child.stderr.take().unwrap();
    let errs = std::thread::spawn(move || {
        let mut v = String::new();
        let _ = se.read_to_string(&mut v);
        v
    });
    let seen = |what: &str| console.lock().unwrap().contains(what);
    let mut stdin = child.stdin.take().unwrap();
    // The getty's prompt is `HOSTNAME login: `; the hostname is not
    // vstrace-debian here: systemd read /etc/hostname through the rewrite.
    wait_long(
        || seen(" login: "),
        "the serial console's login prompt",
        600,
    );
    let before = console.lock().unwrap().len();
    stdin.write_all(b"root\n").unwrap();
    let after = |what: &str| console.lock().unwrap()[before..].contains(what);
    wait_long(
        || after("root@") || after("Password:"),
        "the root shell's prompt",
        300,
    );
    if !after("root@") {
        // A login that asks anyway: the password is empty.
        stdin.write_all(b"\n").unwrap();
        wait_long(|| after("root@"), "the root shell's prompt", 300);
    }
    stdin
        .write_all(
            b"echo \"login shell pid=$$\" >/dev/ttyS1; cat /etc/hostname >/dev/ttyS1; \
              systemctl poweroff\n",
        )
        .unwrap();
    let status = wait_limited(&mut child, Duration::from_secs(600));
    drop(kill);
    let _ = reader.join();
    let err = errs.join().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    let g = vm.guest_stdout();
    // The rewrite reached the guest: the shell's cat printed os-release.
    assert!(g.contains("Debian GNU/Linux 12"), "{g}");
    let pid = num(&g, "login shell pid=");
    let recs = records(&trace);
    // The login chain: systemd's getty, login, the shell under login.
    assert!(
        !find(&recs, |r| r["comm"] == "agetty").is_empty(),
        "no record of agetty"
    );
    let login: std::collections::BTreeSet<u64> = find(&recs, |r| r["comm"] == "login")
        .iter()
        .filter_map(|r| r["pid"].as_u64())
        .collect();
    assert!(!login.is_empty(), "no record of login");
    let shell = find(&recs, |r| r["pid"] == pid && r["comm"] == "bash");
    assert!(
        !shell.is_empty(),
        "no record of the login shell (pid {pid})"
    );
    assert!(
        shell
            .iter()
            .any(|r| r["ppid"].as_u64().is_some_and(|p| login.contains(&p))),
        "the shell's parent is not login ({login:?}): {}",
        shell[0]
    );
    let host = rewritten_cats(&recs, pid);
    assert_eq!(host.len(), 1, "the shell's cat /etc/hostname, rewritten");
    let _ = std::fs::remove_dir_all(&payload);
}
