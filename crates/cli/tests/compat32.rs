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
    let mmaps = find(&recs, |r| name(r) == "mmap2");
    assert_eq!(mmaps.len(), 2, "{recs:#?}");

    let fast = mmaps[0];
    assert_eq!(fast["abi"], "i386");
    assert_eq!(fast["mechanism"], fast_mechanism);
    assert_eq!(
        args6(fast),
        [
            "0",
            "8192",
            "PROT_READ|PROT_WRITE",
            "MAP_PRIVATE|MAP_ANONYMOUS",
            "-1",
            "0x3"
        ]
    );
    // 32-bit returns are sign-extended in `ret`; addresses compare as u32.
    assert_eq!(ret(fast) as u32 as i64, num_after(&g, "vdso mmap2=", 16));

    let slow = mmaps[1];
    assert_eq!(slow["mechanism"], "int80");
    assert_eq!(
        args6(slow),
        [
            "0",
            "12288",
            "PROT_READ",
            "MAP_PRIVATE|MAP_ANONYMOUS",
            "-1",
            "0x5"
        ]
    );
    assert_eq!(ret(slow) as u32 as i64, num_after(&g, "int80 mmap2=", 16));

    let open = find(&recs, |r| arg(r, 1) == "\"/init\"");
    assert_eq!(name(open[0]), "openat");
    assert_eq!(open[0]["mechanism"], fast_mechanism);
    assert_eq!(ret(open[0]), 3);
}

#[test]
fn intel_cpu_vdso_uses_sysenter() {
    check("GenuineIntel", "sysenter");
}

#[test]
fn amd_cpu_vdso_uses_compat_syscall() {
    check("AuthenticAMD", "syscall");
}
