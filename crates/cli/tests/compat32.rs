//! 32-bit processes on the 64-bit Debian kernel: the same 6-argument call
//! through `int 0x80` and through the vDSO, which uses `sysenter` on an
//! Intel CPU model and compat `syscall` on an AMD one. Names come from the
//! i386 table and all six arguments (the sixth from [ebp] for sysenter,
//! from the stack for compat syscall) are decoded.

mod common;
use common::*;

fn check(vendor: &str, fast_mechanism: &str) {
    let bin = compat32();
    let trace = trace_path(&format!("compat32-{vendor}"));
    let add = format!("{}:/bin/compat32", bin.display());
    let cpu = format!("max,vendor={vendor},la57=off");
    let out = run(&[
        "--cpu",
        &cpu,
        "--add",
        &add,
        "--json",
        "-o",
        trace.to_str().unwrap(),
        "--",
        "/bin/compat32",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let g = stdout(&out);
    let recs = records(&trace);
    check_compat32_calls(&recs, &g, fast_mechanism);
}

#[test]
fn intel_cpu_vdso_uses_sysenter() {
    check("GenuineIntel", "sysenter");
}

#[test]
fn amd_cpu_vdso_uses_compat_syscall() {
    check("AuthenticAMD", "syscall");
}

/// A 32-bit process's socketcall and ipc on the 64-bit kernel: split into
/// their sub-calls by the same i386 decoding as on the i386 kernel, as the
/// guest's (64-bit) strace shows them.
#[test]
fn compat_socketcall_and_ipc_split_as_strace() {
    let strace = std::path::PathBuf::from("/usr/bin/strace");
    let (ours, theirs) = multiplexed_under_both(&[], &strace, "compat");
    assert!(
        theirs.iter().any(|l| l.contains("socketpair(")),
        "{theirs:#?}"
    );
    // vstrace marks a compat process's calls `[i386] ` (strace says it
    // once, in the notice the helper leaves out); the calls are compared.
    let ours: Vec<String> = ours
        .iter()
        .map(|l| match l.strip_prefix("[i386] ") {
            Some(call) => call.to_string(),
            None if l.starts_with("+++ ") => l.clone(),
            None => panic!("no [i386] mark: {l}"),
        })
        .collect();
    assert_eq!(ours, theirs, "vstrace (left) vs the guest's strace (right)");
}

/// i386 calls made with `int $0x80` from 64-bit code (what some programs
/// do to slip past tracers that watch only the 64-bit table): named from
/// the i386 table, arguments decoded at 32 bits, returns paired (the
/// return is an `iret` to 64-bit code), and the 64-bit calls around them
/// unaffected.
#[test]
fn int80_from_64_bit_code_is_an_i386_call() {
    let bin = build_prog("int80_64", &[]);
    let add = format!("{}:/bin/int80_64", bin.display());
    let out = run(&[
        "-e",
        "trace=getpid,access,close,getppid",
        "--add",
        &add,
        "--",
        "/bin/int80_64",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let g = stdout(&out);
    let got = |k: &str| -> String {
        let v = g
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")));
        v.unwrap_or_else(|| panic!("no {k}= in {g}")).to_string()
    };
    let (pid, ppid) = (got("getpid"), got("getppid"));
    assert_eq!(
        (got("access"), got("close")),
        ("0".into(), "-9".into()),
        "{g}"
    );
    let err = stderr(&out);
    let calls: Vec<String> = err
        .lines()
        .filter(|l| l.starts_with("[pid"))
        .map(|l| {
            let call = l.split_once("] ").map_or(l, |(_, c)| c);
            call.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .filter(|l| !l.starts_with("+++"))
        .collect();
    assert_eq!(
        calls,
        [
            format!("[i386] getpid() = {pid}"),
            "[i386] access(\"/init\", F_OK) = 0".to_string(),
            "[i386] close(-1) = -1 EBADF (Bad file descriptor)".to_string(),
            format!("getppid() = {ppid}"),
        ],
        "{err}"
    );
}
