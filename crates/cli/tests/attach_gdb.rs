//! `vstrace attach`: a guest booted with QEMU's gdbstub (no plugin) is
//! traced from outside for a few seconds, then left running: its workload
//! must finish and the guest power off normally.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use vstrace_launch::{cached_newer_kernels, find_kernel, GuestConfig, GuestRun, SerialPort};

fn attach(addr: &str, args: &[&str]) -> Output {
    let out = vstrace()
        .args(["attach", "--gdb", addr, "-d"])
        .args(args)
        .output()
        .expect("vstrace runs");
    if std::env::var_os("VSTRACE_TEST_VERBOSE").is_some() {
        eprintln!("stdout:\n{}", stdout(&out));
    }
    eprintln!("attach stderr:\n{}", stderr(&out));
    out
}

/// `vstrace attach` for 3 s, JSON records into `trace`, with `extra`.
fn attach_json(addr: &str, trace: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["--duration", "3", "--json", "-o", trace.to_str().unwrap()];
    args.extend_from_slice(extra);
    attach(addr, &args)
}

/// Fails the test, guest killed and its console shown, unless `out` (a
/// `vstrace attach`) succeeded.
fn require_success(out: &Output, run: &mut GuestRun) {
    if !out.status.success() {
        let _ = run.kill();
        let console = String::from_utf8_lossy(&run.read_port(SerialPort::Console)).into_owned();
        panic!(
            "vstrace attach failed ({:?}):\n{}\nguest console:\n{console}",
            out.status,
            stderr(out)
        );
    }
}

#[test]
fn attach_traces_then_detaches() {
    let script = "for i in $(seq 1 60); do \
                  cat /etc/hostname; sleep 0.3; done; echo done";
    let (mut run, addr) = boot_with_gdb("attach", script, &[]);
    wait_for_stdout(&run, "\n");
    let trace = trace_path("attach-gdb");
    let out = attach(
        &addr,
        // Discovery by single-stepping (the fallback), not by signature;
        // the entry trapped by a breakpoint, not the watchpoint.
        &[
            "--discover",
            "step",
            "--entry-trap",
            "breakpoint",
            "--duration",
            "5",
            "--json",
            "-o",
            trace.to_str().unwrap(),
        ],
    );
    require_success(&out, &mut run);
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
        assert_eq!(r["mechanism"], "syscall");
        if r["state"] == "unfinished" || r["state"] == "detached" {
            // Detaching ends a call still in flight as strace's
            // `<unfinished ...>` (or `<detached ...>`) does; only the
            // thread's last call can be.
            let later = find(&recs, |o| {
                o["tid"] == r["tid"] && o["ts_enter_ns"].as_u64() > r["ts_enter_ns"].as_u64()
            });
            assert!(later.is_empty(), "unfinished before {later:?}: {r}");
            continue;
        }
        assert_eq!(r["state"], "complete", "{r}");
        assert!((0..64).contains(&ret(r)), "openat returned {}: {r}", ret(r));
    }
    assert!(
        opens.iter().any(|r| r["state"] == "complete"),
        "no complete openat(/etc/hostname)"
    );
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
    assert_eq!(so.matches('\n').count(), 61, "60 hostnames and done: {so}");
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

/// A static guest program printing its pid and parent pid (getpid(2) and
/// getppid(2) each time) 40 times, 0.2 s apart. Built once per test
/// binary: its tests run at once, and one compiling over the file while
/// another packs it into its guest gave that guest an empty program (the
/// shell runs it as an empty script: no output, status 0).
fn getpid_loop() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(build_getpid_loop).clone()
}

fn build_getpid_loop() -> PathBuf {
    let src = tmp().join(format!("getpid-loop-{}.c", std::process::id()));
    let bin = tmp().join(format!("getpid-loop-{}", std::process::id()));
    std::fs::write(
        &src,
        "#include <stdio.h>\n#include <unistd.h>\n#include <sys/syscall.h>\n\
         int main(void) { for (int i = 0; i < 40; i++) { \
         printf(\"getpid=%ld\\n\", syscall(SYS_getpid)); \
         printf(\"getppid=%ld\\n\", syscall(SYS_getppid)); fflush(stdout); usleep(200000); } \
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

/// Boots a guest running the getpid loop, with a gdbstub, and waits until
/// the loop runs: attaching while its shell starts it would see the shell's
/// own getpid/getppid (ash reads both at startup), and under load the
/// whole window could pass before the loop starts.
fn boot_loop(name: &str) -> (GuestRun, String) {
    let prog = getpid_loop();
    let (run, addr) = boot_with_gdb(name, "/bin/getpid-loop", &[(&prog, "/bin/getpid-loop")]);
    wait_for_stdout(&run, "getpid=");
    (run, addr)
}

/// Waits until the guest's stdout contains `what`. The bound is wide: a
/// 2-vCPU TCG guest boots on a 2-core machine beside another test's
/// guest. On a timeout the guest's console tail tells where it stood.
fn wait_for_stdout(run: &GuestRun, what: &str) {
    let t = Instant::now();
    while !String::from_utf8_lossy(&run.read_port(SerialPort::Stdout)).contains(what) {
        if t.elapsed() > Duration::from_secs(150) {
            let console = run.read_port(SerialPort::Console);
            let console = String::from_utf8_lossy(&console);
            let tail: Vec<&str> = console.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "the guest never printed {what:?}; stdout: {:?}; console tail:\n{}",
                String::from_utf8_lossy(&run.read_port(SerialPort::Stdout)),
                tail.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for the getpid loop to finish and returns the values it printed
/// after `key=`: 4242 (injected) while attached, the real value again after
/// the detach.
fn loop_values(run: &mut GuestRun, key: &str) -> Vec<String> {
    let o = run.wait(Duration::from_secs(120)).expect("guest finishes");
    assert_eq!(o.exit_status, 0);
    let so = String::from_utf8_lossy(&o.stdout);
    let prefix = format!("{key}=");
    let v: Vec<String> = so
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(str::to_string)
        .collect();
    assert_eq!(v.len(), 40, "{so}");
    assert!(v.iter().any(|x| x == "4242"), "{so}");
    assert_ne!(v.last().map(String::as_str), Some("4242"), "{so}");
    assert!(so.trim_end().ends_with("done"), "{so}");
    v
}

#[test]
fn attach_injects_return_values() {
    let (mut run, addr) = boot_loop("attach-inject");
    let trace = trace_path("attach-inject");
    let out = attach(
        &addr,
        &[
            "--duration",
            "3",
            // Returns trapped at sysretq/iretq (the registers are written),
            // not after the handler call (pt_regs in memory is written).
            "--exits",
            "return-paths",
            "--inject=getpid:retval=4242",
            "-e",
            "trace=getpid",
            "-o",
            trace.to_str().unwrap(),
        ],
    );
    require_success(&out, &mut run);
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(has_call(&text, "getpid()", "4242"), "trace:\n{text}");
    loop_values(&mut run, "getpid");
}

/// With the guest's kernel image, records carry pid/comm, and `--comm`
/// keeps one program's calls out of the whole guest's.
#[test]
fn attach_filters_by_comm() {
    let out = check_comm_filter("attach-comm", &[]);
    assert!(!stderr(&out).contains("page table isolation"));
    // Entries and returns by watchpoints (no TCG flush per stop).
    let e = stderr(&out);
    assert!(e.contains("entries by watchpoint"), "{e}");
    assert!(
        e.contains("returns trapped by write watchpoints on pt_regs->ax"),
        "{e}"
    );
}

/// The same under page-table isolation (`pti=on`): the entry stops happen
/// on the user half of the PGD pair, so tasks are read in the kernel's
/// half through the stub's physical memory mode.
#[test]
fn attach_filters_by_comm_under_pti() {
    let out = check_comm_filter("attach-comm-pti", &["pti=on"]);
    assert!(
        stderr(&out).contains("Linux page table isolation"),
        "{}",
        stderr(&out)
    );
}

fn check_comm_filter(label: &str, append: &[&str]) -> Output {
    let prog = getpid_loop();
    let (mut run, addr) = boot_with_gdb_cfg(
        label,
        "/bin/getpid-loop & while true; do cat /etc/hostname >/dev/null; sleep 0.2; done",
        &[(&prog, "/bin/getpid-loop")],
        |gc| gc.append.extend(append.iter().map(|a| a.to_string())),
    );
    wait_for_stdout(&run, "getpid=");
    let kernel = find_kernel(None).expect("guest kernel");
    let trace = trace_path(label);
    let out = attach(
        &addr,
        &[
            "--duration",
            "3",
            "--kernel",
            kernel.to_str().unwrap(),
            "--comm",
            "getpid-loop",
            "--json",
            "-o",
            trace.to_str().unwrap(),
        ],
    );
    let _ = run.kill();
    assert!(out.status.success());
    let recs = records(&trace);
    let getpids = find(&recs, |r| name(r) == "getpid");
    assert!(!getpids.is_empty(), "no getpid in {} records", recs.len());
    for r in &recs {
        assert_eq!(r["comm"], "getpid-loop", "{r}");
    }
    // The pid the guest program printed is the one in the records.
    let so = String::from_utf8_lossy(&run.read_port(SerialPort::Stdout)).into_owned();
    let printed: i64 = so
        .lines()
        .find_map(|l| l.strip_prefix("getpid="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no getpid= line in {so:?}"));
    for r in &getpids {
        assert_eq!(r["pid"].as_i64(), Some(printed), "{r}");
        // The call in flight when the session ended has no return
        // (`detached`: the session left the VM running; `unfinished`).
        if r["state"] == "complete" {
            assert_eq!(ret(r), printed, "{r}");
        }
    }
    out
}

/// The example crate's Rust hooks (examples/hook-plugin/src/hooks.rs), the
/// very functions its QEMU plugin runs, run by `vstrace-example-attach` on
/// a VM traced through its gdbstub: getppid() is skipped and returns 4242.
#[test]
fn attach_runs_rust_hooks() {
    let (mut run, addr) = boot_loop("attach-hooks");
    let bin = Path::new(env!("CARGO_BIN_EXE_vstrace"))
        .parent()
        .unwrap()
        .join("vstrace-example-attach");
    assert!(bin.is_file(), "{} not built", bin.display());
    let trace = trace_path("attach-hooks");
    let out = std::process::Command::new(&bin)
        .args(["attach", "--gdb", &addr, "--duration", "3", "--json"])
        .args(["-e", "trace=getppid", "-o", trace.to_str().unwrap()])
        .output()
        .unwrap();
    eprintln!("attach stderr:\n{}", stderr(&out));
    require_success(&out, &mut run);
    let recs = records(&trace);
    assert!(!recs.is_empty());
    // Calls whose return is changed are let finish before the detach:
    // every one is complete.
    for r in &recs {
        assert_eq!(name(r), "getppid");
        assert_eq!(r["state"], "complete", "{r}");
        assert_eq!(ret(r), 4242, "{r}");
        assert_eq!(r["hook"]["faked"], true, "{r}");
    }
    // The guest saw as many faked values as the trace recorded.
    let p = loop_values(&mut run, "getppid");
    assert_eq!(p.iter().filter(|v| *v == "4242").count(), recs.len());
}

/// A Python hooks file (`--hooks`) run by `vstrace attach` itself, in
/// the CLI process: getppid() is skipped and returns 4242, the caller's
/// name is in the hook data.
#[test]
fn attach_runs_python_hooks() {
    let (mut run, addr) = boot_loop("attach-py-hooks");
    let hooks = tmp().join(format!("attach-hooks-{}.py", std::process::id()));
    std::fs::write(
        &hooks,
        "def enter_getppid(syscall):\n    syscall.skip(4242)\n    syscall.hook = {'faked': True, 'comm': syscall.process.name}\n",
    )
    .unwrap();
    let trace = trace_path("attach-py-hooks");
    let out = attach_json(
        &addr,
        &trace,
        &["--hooks", hooks.to_str().unwrap(), "-e", "trace=getppid"],
    );
    require_success(&out, &mut run);
    let recs = records(&trace);
    assert!(!recs.is_empty());
    for r in &recs {
        assert_eq!(r["state"], "complete", "{r}");
        assert_eq!(ret(r), 4242, "{r}");
        assert_eq!(r["hook"]["faked"], true, "{r}");
        assert_eq!(r["hook"]["comm"], "getpid-loop", "{r}");
    }
    let p = loop_values(&mut run, "getppid");
    assert_eq!(p.iter().filter(|v| *v == "4242").count(), recs.len());
}

/// An argument rewritten through the gdb stub: while attached, the guest's
/// `cat /etc/hostname` opens /proc/version instead (the path is written
/// below the user stack, the register repointed at the watchpoint entry
/// stop); after the detach it reads its hostname again.
#[test]
fn attach_rewrites_a_path_argument() {
    let script = "for i in $(seq 1 60); do cat /etc/hostname; sleep 0.2; done; echo done";
    let (mut run, addr) = boot_with_gdb("attach-rewrite", script, &[]);
    wait_for_stdout(&run, "vstrace\n");
    let trace = trace_path("attach-rewrite");
    let out = attach_json(
        &addr,
        &trace,
        &[
            "-e",
            "trace=openat",
            "--rewrite-path=/etc/hostname=/proc/version",
        ],
    );
    require_success(&out, &mut run);
    let recs = records(&trace);
    let rewritten = find(&recs, |r| {
        name(r) == "openat" && r["modifications"].as_array().is_some_and(|m| !m.is_empty())
    });
    assert!(!rewritten.is_empty(), "{recs:?}");
    for r in &rewritten {
        assert!(arg(r, 1).contains("/proc/version"), "{r}");
        if r["state"] == "complete" {
            assert!(ret(r) >= 0, "the new path opens: {r}");
        }
    }
    let o = run.wait(Duration::from_secs(120)).expect("guest finishes");
    assert_eq!(o.exit_status, 0);
    let so = String::from_utf8_lossy(&o.stdout);
    assert!(so.contains("Linux version"), "{so}");
    let lines: Vec<&str> = so.lines().collect();
    assert_eq!(lines.last(), Some(&"done"), "{so}");
    assert_eq!(
        lines.get(lines.len().wrapping_sub(2)),
        Some(&"vstrace"),
        "after the detach the real file: {so}"
    );
}

/// Several vCPUs: QEMU 10.0 aborts on watchpoint hits under multi-threaded
/// TCG, so the backend traps with breakpoints there; calls are traced and
/// the guest finishes after the detach.
#[test]
fn attach_smp_guest_uses_breakpoints() {
    // The shell's own `read < file` opens the file in a handful of calls
    // (a cat makes dozens before its openat): a slow, loaded run still
    // sees some in its window.
    let script = "for j in 1 2; do (for i in $(seq 1 80); do read x < /etc/hostname; cat /etc/hostname; sleep 0.2; done) & done; wait; echo done";
    let (mut run, addr) = boot_with_gdb_cfg("attach-smp", script, &[], |gc| gc.smp = 2);
    wait_for_stdout(&run, "vstrace\n");
    let trace = trace_path("attach-smp");
    // 8 s: a breakpoint stop costs several ms on an SMP guest (more on a
    // loaded machine), and each cat makes dozens of calls before openat.
    let out = attach(
        &addr,
        &[
            "--duration",
            "8",
            "--json",
            "-o",
            trace.to_str().unwrap(),
            "-e",
            "trace=openat",
        ],
    );
    require_success(&out, &mut run);
    let e = stderr(&out);
    assert!(e.contains("no entry watchpoint: several vCPUs"), "{e}");
    assert!(e.contains("entries by breakpoint"), "{e}");
    let recs = records(&trace);
    // Breakpoint stops are slow on an SMP guest (each flushes TCG's code
    // for every vCPU): a few calls.
    assert!(
        !find(&recs, |r| arg(r, 1).contains("/etc/hostname")).is_empty(),
        "{recs:?}"
    );
    let o = run.wait(Duration::from_secs(120)).expect("guest finishes");
    assert_eq!(o.exit_status, 0);
    assert!(String::from_utf8_lossy(&o.stdout)
        .trim_end()
        .ends_with("done"));
}

/// Ctrl-C (SIGINT) while attached: vstrace removes its breakpoints,
/// detaches, flushes the trace and exits with 130; the guest goes on.
#[test]
fn attach_ctrl_c_detaches() {
    let (mut run, addr) = boot_loop("attach-sigint");
    let trace = trace_path("attach-sigint");
    let child = vstrace()
        .args(["attach", "--gdb", &addr, "--json", "-e", "trace=getpid"])
        .args(["--inject=getpid:retval=4242", "-o", trace.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first records, then interrupt.
    let start = Instant::now();
    while std::fs::read_to_string(&trace).map_or(0, |t| t.lines().count()) < 3 {
        assert!(start.elapsed() < Duration::from_secs(60), "no records");
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: kill(2) on the child we spawned, with a valid signal.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    eprintln!("attach stderr:\n{}", stderr(&out));
    assert_eq!(out.status.code(), Some(130));
    let recs = records(&trace);
    assert!(recs.len() >= 3);
    assert!(recs.iter().all(|r| name(r) == "getpid" && ret(r) == 4242));
    let o = run.wait(Duration::from_secs(120)).expect("guest finishes");
    assert_eq!(o.exit_status, 0);
    let so = String::from_utf8_lossy(&o.stdout);
    let pids: Vec<&str> = so
        .lines()
        .filter_map(|l| l.strip_prefix("getpid="))
        .collect();
    assert_eq!(pids.len(), 40, "{so}");
    assert_ne!(pids.last(), Some(&"4242"), "{so}");
    assert!(so.trim_end().ends_with("done"));
}

/// The NT-ABI test guest images, built by guests/nt-abi/build.sh.
fn nt_abi_images(name: &str) -> PathBuf {
    let dir = tmp().join(format!("nt-abi-{name}-{}", std::process::id()));
    let st = std::process::Command::new("sh")
        .arg(repo().join("guests/nt-abi/build.sh"))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(st.success(), "guests/nt-abi/build.sh failed");
    dir
}

/// The KVA-shadow flavour: the gdb stops happen on the user CR3 (the
/// entry stub has not switched yet), so attribution reads the kernel's
/// space through the stub's physical memory mode, within the RAM QEMU's
/// memory map lists.
#[test]
fn attach_windows_abi_guest_with_kva_shadow() {
    let (mut run, out, recs) = attach_nt("shadow", "nt-abi-x64-shadow-loop.bin", &[]);
    assert!(
        stderr(&out).contains("KVA shadow: kernel CR3 0x180000 from KPCR+0x9000"),
        "{}",
        stderr(&out)
    );
    assert!(recs.len() > 20, "{} records", recs.len());
    for r in &recs {
        assert_eq!(
            (&r["pid"], &r["tid"]),
            (&0x7a8.into(), &0x7ac.into()),
            "{r}"
        );
        assert_eq!(r["comm"], "ntabi-test.exe", "{r}");
        assert_eq!(r["cr3"], 0x186000, "the user CR3: {r}");
    }
    let o = run.wait(Duration::from_secs(120)).expect("guest finishes");
    assert_eq!(o.exit_status, 0);
}

/// Boots NT-ABI `image` with a gdbstub and attaches for 2 s with
/// `--os windows` (the version read from KUSER_SHARED_DATA) and `extra`.
fn attach_nt(
    label: &str,
    image: &str,
    extra: &[&str],
) -> (GuestRun, Output, Vec<serde_json::Value>) {
    let dir = nt_abi_images(label);
    let (mut run, addr) = boot_gdb(
        &format!("attach-nt-{label}"),
        GuestConfig::multiboot(dir.join(image)),
    );
    let trace = trace_path(&format!("attach-nt-{label}"));
    let mut args = vec!["--os", "windows", "--duration", "2", "--json", "-o"];
    args.push(trace.to_str().unwrap());
    args.extend_from_slice(extra);
    let out = attach(&addr, &args);
    require_success(&out, &mut run);
    let recs = records(&trace);
    (run, out, recs)
}

/// A Windows-ABI guest attached through its gdbstub: the NT-ABI test guest
/// (guests/nt-abi, not Windows: a small kernel speaking the Windows 10
/// 22H2 x64 syscall ABI with real KPCR/KTHREAD/EPROCESS layouts) in its
/// long-running build. The entry (KiSystemCall64-style `swapgs; mov
/// gs:[10h], rsp`) is found by signature, the `swapgs; sysretq` return by
/// scanning; calls are named from the 22H2 table (detected from
/// KUSER_SHARED_DATA), decoded (stack
/// arguments included) and attributed through the KPCR; an injected
/// NTSTATUS reaches the guest; after the detach it finishes on its own.
#[test]
fn attach_windows_abi_guest() {
    let (mut run, _, recs) = attach_nt(
        "plain",
        "nt-abi-x64-loop.bin",
        &["--inject=NtClose:error=STATUS_ACCESS_DENIED"],
    );
    let opens = find(&recs, |r| name(r) == "NtOpenFile");
    assert!(!opens.is_empty(), "no NtOpenFile in {} records", recs.len());
    for r in &recs {
        assert_eq!(r["os"], "windows", "{r}");
        assert_eq!(r["pid"], 0x7a8, "{r}");
        assert_eq!(r["comm"], "ntabi-test.exe", "{r}");
    }
    assert!(
        opens.iter().any(|r| arg(r, 2).contains("hello.txt")),
        "{opens:?}"
    );
    // NtCreateFile's 11 arguments: 7 from the stack.
    let create = find(&recs, |r| name(r) == "NtCreateFile");
    let c = create.first().expect("an NtCreateFile");
    assert_eq!(c["args"].as_array().unwrap().len(), 11, "{c}");
    assert!(arg(c, 7).contains("FILE_OVERWRITE_IF"), "{c}");
    let closes = find(&recs, |r| name(r) == "NtClose" && r["state"] == "complete");
    assert!(!closes.is_empty());
    for r in &closes {
        assert_eq!(r["ret"], 0xc000_0022u32, "{r}");
    }
    let o = run.wait(Duration::from_secs(120)).expect("guest finishes");
    assert_eq!(o.exit_status, 0);
    let so = String::from_utf8_lossy(&o.stdout);
    // The guest saw the injected status while attached, the real one after.
    let statuses: Vec<&str> = so
        .lines()
        .filter_map(|l| l.strip_prefix("U NtClose status="))
        .collect();
    assert_eq!(statuses.len(), 100, "{so}");
    assert!(statuses.contains(&"0xc0000022"), "{so}");
    assert_eq!(statuses.last(), Some(&"0xc0000008"), "{so}");
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
    wait_for_stdout(&run, "getpid=");
    let trace = trace_path("attach-scan");
    let out = attach_json(&addr, &trace, &["-e", "trace=getpid"]);
    require_success(&out, &mut run);
    let err = stderr(&out);
    assert!(err.contains("kernel BTF at 0xffffffff"), "{err}");
    assert!(err.contains("profile checked: current task pid"), "{err}");
    assert!(!err.contains("no process attribution"), "{err}");
    let (recs, pid) = check_attributed_getpids(&mut run, &trace);
    for r in &recs {
        assert!(r["ppid"].as_i64().is_some_and(|p| p > 0 && p < pid), "{r}");
    }
}

/// After an attach with `-e trace=getpid` to the getpid loop: waits for the
/// guest to finish (it must, detached) and checks that every record in
/// `trace` is the loop's getpid with the pid it printed as result, pid,
/// tid and its comm. Returns the records and the pid.
fn check_attributed_getpids(run: &mut GuestRun, trace: &Path) -> (Vec<serde_json::Value>, i64) {
    let recs = records(trace);
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
        // The call in flight when the session ended has no return
        // (`detached` or `unfinished`).
        if r["state"] == "complete" {
            assert_eq!(ret(r), pid, "{r}");
        }
        assert_eq!(r["pid"].as_i64(), Some(pid), "{r}");
        assert_eq!(r["tid"].as_i64(), Some(pid), "{r}");
        assert_eq!(r["comm"], "getpid-loop", "{r}");
    }
    // Detached: the loop ran to its end.
    let loops = so.lines().filter(|l| l.starts_with("getpid=")).count();
    assert_eq!(loops, 40, "{so}");
    assert!(so.trim_end().ends_with("done"), "{so}");
    (recs, pid)
}

/// Debian's newest kernel (bookworm-backports: 6.12 when written), cached
/// by scripts/setup-host.sh as vmlinuz-MAJOR.MINOR.
fn newer_kernel() -> PathBuf {
    cached_newer_kernels().pop().map(|(_, p)| p).expect(
        "no newer guest kernel (vmlinuz-MAJOR.MINOR) in the cache: run scripts/setup-host.sh",
    )
}

/// The newer kernel's entry code differs from 6.1's (`endbr64`, the user
/// rsp saved with a rip-relative `%gs:` store, no-op or `verw` padding
/// between `swapgs` and `sysretq`): discovery decodes it; with the kernel
/// image, records carry pid/comm; after the detach the guest finishes.
#[test]
fn attach_newer_kernel_with_its_image() {
    check_newer_kernel("attach-new-image", true);
}

/// The same without the image: the profile comes from the kernel's BTF in
/// guest memory (bzImage boot, KASLR on). 6.12 exports neither
/// `current_task` nor `pcpu_hot` but their alias `const_pcpu_hot`.
#[test]
fn attach_newer_kernel_without_its_image() {
    check_newer_kernel("attach-new-scan", false);
}

fn check_newer_kernel(label: &str, with_image: bool) {
    let kernel = newer_kernel();
    let prog = getpid_loop();
    let (mut run, addr) = boot_with_gdb_cfg(
        label,
        "/bin/getpid-loop",
        &[(&prog, "/bin/getpid-loop")],
        |gc| {
            gc.kernel = kernel.clone();
            // The PVH vmlinux has no KASLR, like the profile's addresses;
            // the bzImage without the image makes memory the only source.
            gc.pvh = with_image;
        },
    );
    wait_for_stdout(&run, "getpid=");
    let trace = trace_path(label);
    let mut extra = vec!["-e", "trace=getpid"];
    if with_image {
        extra.extend(["--kernel", kernel.to_str().unwrap()]);
    }
    let out = attach_json(&addr, &trace, &extra);
    require_success(&out, &mut run);
    let err = stderr(&out);
    assert!(err.contains("discovery took"), "{err}");
    // Found by decoding the code near the IDT handlers, not by the
    // single-stepping fallback.
    assert!(!err.contains("stepping a user syscall"), "{err}");
    // The rip-relative per-cpu save and stack-top load were decoded:
    // entries and returns by watchpoints.
    assert!(err.contains("entries by watchpoint"), "{err}");
    assert!(
        err.contains("returns trapped by write watchpoints on pt_regs->ax"),
        "{err}"
    );
    assert!(!err.contains("no process attribution"), "{err}");
    assert!(!err.contains("warning"), "{err}");
    if !with_image {
        assert!(err.contains("kernel BTF at 0xffffffff"), "{err}");
    }
    check_attributed_getpids(&mut run, &trace);
}

/// On the newer kernel, the return paths decoded after the entry (the
/// `swapgs` before `sysretq`, and before the `iretq` past the user-mode
/// assertion) trap every return, and the entry found by single-stepping a
/// user `syscall` traps by breakpoint: a cat loop's openat calls complete
/// with their descriptors.
#[test]
fn attach_newer_kernel_return_paths_and_stepping() {
    let script = "for i in $(seq 1 60); do cat /etc/hostname; sleep 0.2; done; echo done";
    let (mut run, addr) = boot_with_gdb_cfg("attach-new-paths", script, &[], |gc| {
        gc.kernel = newer_kernel()
    });
    wait_for_stdout(&run, "vstrace\n");
    let trace = trace_path("attach-new-paths");
    let out = attach_json(
        &addr,
        &trace,
        &[
            "--discover",
            "step",
            "--entry-trap",
            "breakpoint",
            "--exits",
            "return-paths",
            "-e",
            "trace=openat,execve",
        ],
    );
    require_success(&out, &mut run);
    let recs = records(&trace);
    let opens = find(&recs, |r| arg(r, 1).contains("/etc/hostname"));
    assert!(!opens.is_empty(), "{recs:?}");
    for r in opens.iter().filter(|r| r["state"] == "complete") {
        assert!((0..64).contains(&ret(r)), "{r}");
        assert_eq!(r["mechanism"], "syscall", "{r}");
    }
    assert!(opens.iter().any(|r| r["state"] == "complete"), "{opens:?}");
    let o = run.wait(Duration::from_secs(120)).expect("guest finishes");
    assert_eq!(o.exit_status, 0);
    assert!(String::from_utf8_lossy(&o.stdout)
        .trim_end()
        .ends_with("done"));
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
    // The stats line: "entries by ...; N stops, E events (S enter, ...),
    // R records, M gdb exchanges, ...".
    let measure = |args: &[&str]| -> (f64, f64, f64) {
        let out = attach(&addr, args);
        let err = stderr(&out);
        let line = err
            .lines()
            .find(|l| l.contains(" stops, "))
            .expect("stats line")
            .to_string();
        let num = |after: &str| -> f64 {
            line.split(after)
                .nth(1)
                .and_then(|l| l.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no number after {after:?} in {line}"))
        };
        (num("; "), num("events ("), num(" records, "))
    };
    const SECS: f64 = 5.0;
    let runs = [
        ("-c (every call), watchpoints (default)", vec!["-c"]),
        ("-e trace=openat, watchpoint", vec!["-e", "trace=openat"]),
        (
            "-c, breakpoints (instruction emulated)",
            vec!["-c", "--entry-trap", "breakpoint"],
        ),
        (
            "-e trace=openat, breakpoint",
            vec!["-e", "trace=openat", "--entry-trap", "breakpoint"],
        ),
        (
            "-c, breakpoints, remove/step/reinsert (plain debugger)",
            vec!["-c", "--entry-trap", "breakpoint", "--resume-by", "step"],
        ),
    ];
    let mut rows = Vec::new();
    for (what, extra) in &runs {
        let mut args = vec!["--duration", "5", "-o", "/dev/null"];
        args.extend(extra.iter().copied());
        rows.push((*what, measure(&args)));
    }
    let _ = run.kill();
    println!("| backend | stops per syscall | cost per stop (us) | cost per syscall (us) | exchanges per stop |");
    println!("|---|---|---|---|---|");
    println!("| QEMU TCG plugin (-c, guest clock) | - | - | {plugin_us:.2} | - |");
    for (what, (stops, enters, exchanges)) in rows {
        let per_stop = SECS * 1e6 / stops;
        println!(
            "| gdb stub, {what} (host wall time, {stops} stops) | {:.1} | {per_stop:.0} | {:.0} | {:.1} |",
            stops / enters,
            SECS * 1e6 / enters,
            exchanges / stops
        );
    }
    println!(
        "untraced guest time per syscall: {:.3} us",
        base / calls / 1e3
    );
}
