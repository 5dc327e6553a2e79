//! The 32-bit guest: Debian's i386 (686) kernel with an i386 busybox,
//! booted by `vstrace run --arch i386`. `sysenter` (through the vDSO's
//! `__kernel_vsyscall`) and `int 0x80` are the native mechanisms there;
//! both carry the same 6-argument call (arg6 from [ebp] for sysenter).
//! The kernel has no BTF: pid/comm come from the layout inferred from
//! `init_task`, checked here against the guest program's own getpid().

mod common;
use common::*;

#[test]
fn i386_kernel_sysenter_and_int80_with_attribution() {
    let kernel = vstrace_launch::cache::cache_dir().join("vmlinuz-i386");
    assert!(
        kernel.is_file()
            && vstrace_launch::cache::cache_dir()
                .join("busybox-i386")
                .is_file(),
        "no i386 guest in {}: run scripts/setup-host.sh",
        vstrace_launch::cache::cache_dir().display()
    );
    let bin = compat32();
    let trace = trace_path("i386-kernel");
    let add = format!("{}:/bin/compat32", bin.display());
    let t = std::time::Instant::now();
    let out = vstrace()
        .args(["run", "--arch", "i386", "--add", &add, "--json", "-o"])
        .arg(&trace)
        .args(["--comm", "compat32", "--", "/bin/compat32"])
        .output()
        .expect("vstrace runs");
    eprintln!("i386 guest run: {:?}", t.elapsed());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("no process attribution"),
        "{}",
        stderr(&out)
    );
    let g = stdout(&out);
    let (pid, ppid) = (num_after(&g, "pid=", 10), num_after(&g, "ppid=", 10));
    let recs = records(&trace);
    assert!(!recs.is_empty());
    // --comm keeps only the program: every record is attributed to it.
    for r in &recs {
        assert_eq!(r["comm"], "compat32", "{r}");
        assert_eq!(r["pid"].as_i64(), Some(pid), "{r}");
        assert_eq!(r["tid"].as_i64(), Some(pid), "{r}");
        assert_eq!(r["ppid"].as_i64(), Some(ppid), "{r}");
        assert_eq!(r["abi"], "i386", "{r}");
    }
    let getpid = find(&recs, |r| name(r) == "getpid");
    assert_eq!(getpid.len(), 1);
    assert_eq!(ret(getpid[0]), pid);
    assert_eq!(getpid[0]["mechanism"], "sysenter");

    check_compat32_calls(&recs, &g, "sysenter");
    assert_eq!(name(recs.last().unwrap()), "exit_group");
}

#[test]
fn unknown_or_contradicting_arch_is_a_clear_error() {
    let out = vstrace()
        .args(["run", "--arch", "sparc", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--arch sparc"), "{}", stderr(&out));
    // The image's own header decides; a contradicting --arch is refused
    // before anything boots.
    let k = vstrace_launch::cache::cache_dir().join("vmlinuz-i386");
    let out = vstrace()
        .args(["run", "--arch", "x86_64", "--kernel"])
        .arg(&k)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is an i386 kernel"),
        "{}",
        stderr(&out)
    );
}

/// Two vCPUs: each CPU's current task is found through its own
/// `__per_cpu_offset` entry. Every record of the whole guest is
/// attributed, every getpid returns the pid it is attributed to, and the
/// programs' own pids show up under their name.
#[test]
fn i386_smp_attribution_on_both_cpus() {
    let add = format!("{}:/bin/compat32", compat32().display());
    let trace = trace_path("i386-smp");
    let out = vstrace()
        .args([
            "run", "--arch", "i386", "--smp", "2", "--all", "--add", &add,
        ])
        .args(["--json", "-o"])
        .arg(&trace)
        .args(["--", "sh", "-c", "for i in 1 2 3 4; do /bin/compat32; done"])
        .output()
        .expect("vstrace runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&trace);
    let mut per_cpu = [0usize; 2];
    for r in &recs {
        let pid = r["pid"]
            .as_i64()
            .unwrap_or_else(|| panic!("unattributed: {r}"));
        assert!(r["comm"].as_str().is_some_and(|c| !c.is_empty()), "{r}");
        if name(r) == "getpid" {
            assert_eq!(ret(r), pid, "{r}");
        }
        per_cpu[r["vcpu"].as_u64().unwrap() as usize] += 1;
    }
    assert!(
        per_cpu.iter().all(|&n| n > 0),
        "records per vCPU: {per_cpu:?}"
    );
    let g = stdout(&out);
    let pids: Vec<i64> = g
        .lines()
        .filter_map(|l| l.strip_prefix("pid="))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 4, "{g}");
    for pid in pids {
        let mine = find(&recs, |r| {
            r["pid"].as_i64() == Some(pid) && name(r) == "mmap2"
        });
        assert_eq!(mine.len(), 2, "pid {pid}");
        assert!(mine.iter().all(|r| r["comm"] == "compat32"));
    }
}

/// Signal handlers on the i386 kernel (no strace runs there): the kernel
/// builds `sigframe_ia32` frames for these handlers without SA_SIGINFO.
/// The interrupted sleep and the restarted read end as strace shows them,
/// each delivery is a line, and each `sigreturn` has its own result: the
/// interrupted context's EINTR, then the restarted read's number (3).
#[test]
fn i386_kernel_signal_frames() {
    let bin = build_prog("signals", &["-m32"]);
    let t = trace_path("i386-signals");
    let out = vstrace()
        .args(["run", "--arch", "i386", "--timeout", "300", "--add"])
        .arg(format!("{}:/bin/signals", bin.display()))
        .args(["--comm", "signals", "-o"])
        .arg(&t)
        .args(["--", "/bin/signals"])
        .output()
        .expect("vstrace runs");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("sleep=-1/EINTR read=1/x"),
        "{}",
        stdout(&out)
    );
    let text = std::fs::read_to_string(&t).unwrap();
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let at_all = |pats: &[&str]| {
        lines
            .iter()
            .position(|l| pats.iter().all(|p| l.contains(p)))
            .unwrap_or_else(|| panic!("no {pats:?} in:\n{text}"))
    };
    let at = |pat: &str| at_all(&[pat]);
    let sleep = at("= ? ERESTART_RESTARTBLOCK (Interrupted by signal)");
    assert!(lines[sleep].contains("nanosleep"), "{}", lines[sleep]);
    // The kernel's siginfo through the signal probe, else (no
    // System.map) the number only: the old frame has none.
    let sig1 = if has_signal_probe(&None, vstrace_launch::GuestArch::I386) {
        at("--- SIGALRM {si_signo=SIGALRM, si_code=SI_KERNEL} ---")
    } else {
        at("--- SIGALRM {si_signo=SIGALRM} ---")
    };
    let ret1 = at("sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)");
    let read = at_all(&["read(3, ", "= ? ERESTARTSYS"]);
    assert!(sleep < sig1 && sig1 < ret1 && ret1 < read, "{text}");
    let ret2 = at("sigreturn({mask=[]}) = 3");
    assert!(read < ret2, "{text}");
    assert_eq!(
        lines.iter().filter(|l| l.contains("--- SIGALRM")).count(),
        2,
        "{text}"
    );
}

/// i386's multiplexers as the guest's own 32-bit strace shows them: the
/// program's socket and System V IPC calls go through socketcall(2) and
/// ipc(2); strace prints each as the call it makes (`socket(...)`,
/// `send(...)`, `semtimedop(...)`, shmat's attached address as its result) and
/// `-e trace=%network,%ipc` selects them. vstrace's replay of the same
/// process prints the same lines.
#[test]
fn i386_kernel_socketcall_and_ipc_split_as_strace() {
    let (ours, theirs) = multiplexed_under_both(
        &["--arch", "i386", "--timeout", "300"],
        &strace_i386(),
        "i386",
    );
    // The split happened (no multiplexer line) and every kind is there.
    for call in [
        "socketpair(",
        "send(",
        "recv(",
        "getsockopt(",
        "bind(",
        "semtimedop(",
        "semctl(",
        "shmat(",
    ] {
        assert!(
            theirs.iter().any(|l| l.starts_with(call)),
            "{call}: {theirs:#?}"
        );
    }
    assert!(!ours
        .iter()
        .any(|l| l.starts_with("socketcall(") || l.starts_with("ipc(")));
    assert_eq!(ours, theirs, "vstrace (left) vs the guest's strace (right)");
}
