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
            "console=ttyS0 quiet panic=-1 8250.nr_uarts=4 rdinit=/init",
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
}

/// Waits for `child` at most `limit`, killing it after.
fn wait_limited(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `vstrace qemu OPTS -- VM` to its end.
fn vstrace_qemu(vm: &UserVm, opts: &[&str]) -> Output {
    let mut child = vstrace()
        .arg("qemu")
        .args(opts)
        .arg("--")
        .arg(&vm.program)
        .args(&vm.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vstrace runs");
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
    let out = vstrace_qemu(
        &vm,
        &[
            "--json",
            "-o",
            trace.to_str().unwrap(),
            "--inject",
            "connect:error=EACCES",
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
