//! `--linux-profile FILE.json.xz`: process attribution from a Volatility 3
//! symbol table instead of the kernel's BTF. The table is written for the
//! cached Debian kernel by scripts/btf2isf.py (its own BTF and ksymtab
//! reader, in Python); the runs ignore the kernel's BTF (VSTRACE_NO_BTF=1).

mod common;
use common::*;

use std::process::Output;

/// `vstrace run` of the workload with the kernel's BTF ignored.
fn run_without_btf(args: &[&str]) -> Output {
    let add = format!("{}:/bin/workload", workload().display());
    vstrace()
        .env("VSTRACE_NO_BTF", "1")
        .arg("run")
        .arg("--add")
        .arg(add)
        .args(args)
        .output()
        .expect("vstrace runs")
}

/// The default guest kernel's symbol table, written by scripts/btf2isf.py.
fn isf_of_the_default_kernel() -> std::path::PathBuf {
    let kernel = vstrace_launch::cache::cache_dir().join("vmlinuz");
    let vmlinux = vstrace_launch::extract_vmlinux_cached(&kernel).expect("the cached vmlinux");
    let out = tmp().join(format!("linux-isf-{}.json.xz", std::process::id()));
    let st = std::process::Command::new("python3")
        .arg(repo().join("scripts/btf2isf.py"))
        .arg(&vmlinux)
        .arg(&out)
        .status()
        .expect("python3 runs");
    assert!(st.success(), "scripts/btf2isf.py");
    out
}

#[test]
fn attribution_from_a_volatility_symbol_table_without_btf() {
    let isf = isf_of_the_default_kernel();

    // Control: with BTF ignored and no table, no record is attributed.
    let t0 = trace_path("isf-none");
    let out = run_without_btf(&["--json", "-o", t0.to_str().unwrap(), "--", "/bin/workload"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("VSTRACE_NO_BTF"), "{}", stderr(&out));
    let recs = records(&t0);
    assert!(!recs.is_empty());
    assert!(recs
        .iter()
        .all(|r| r["pid"].is_null() && r["comm"].is_null()));

    // With the table: every record attributed as the guest sees it.
    let t1 = trace_path("isf");
    let out = run_without_btf(&[
        "--linux-profile",
        isf.to_str().unwrap(),
        "--json",
        "-o",
        t1.to_str().unwrap(),
        "--",
        "/bin/workload",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let g = stdout(&out);
    let (pid, child) = (
        num_after(&g, "workload pid=", 10),
        num_after(&g, "child pid=", 10),
    );
    let recs = records(&t1);
    assert!(recs.len() > 20, "{} records", recs.len());
    for r in &recs {
        assert!(
            r["pid"].is_u64() && r["tid"].is_u64() && r["comm"].is_string(),
            "unattributed: {r}"
        );
    }
    let first_write = find(&recs, |r| {
        name(r) == "write" && arg(r, 1).starts_with("\"workload pid=")
    });
    assert_eq!(first_write[0]["pid"], pid);
    assert_eq!(first_write[0]["comm"], "workload");
    let child_exit = find(&recs, |r| name(r) == "exit_group" && arg(r, 0) == "7");
    assert_eq!(child_exit[0]["pid"], child);
    assert_eq!(child_exit[0]["ppid"], pid);
    assert!(recs[1..]
        .iter()
        .filter(|r| r["pid"] == pid)
        .all(|r| r["comm"] == "workload"));
    for r in find(&recs, |r| name(r) == "getpid") {
        assert_eq!(r["ret"], r["pid"]);
    }
    let _ = std::fs::remove_file(&isf);
}

#[test]
fn hostile_symbol_tables_are_one_line_errors() {
    let dir = tmp().join(format!("linux-isf-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        ("notjson.json", b"{\"user_types\": ", "not JSON"),
        ("empty.json", b"{}", "not a Volatility 3 symbol table"),
        (
            "notask.json",
            br#"{"user_types": {}, "symbols": {"init_task": {"address": 18446744071600000000},
                "current_task": {"address": 129984}}}"#,
            "task_struct",
        ),
        (
            "truncated.json.xz",
            b"\xfd7zXZ\0\0\x04\xe6\xd6\xb4F",
            "truncated.json.xz",
        ),
    ];
    for (file, text, want) in cases {
        let p = dir.join(file);
        std::fs::write(&p, text).unwrap();
        let out = vstrace()
            .args(["run", "--linux-profile"])
            .arg(&p)
            .args(["--", "/bin/true"])
            .output()
            .expect("vstrace runs");
        let e = stderr(&out);
        assert!(!out.status.success(), "{file}: {e}");
        assert!(e.contains(want) && e.contains(file), "{file}: {e}");
        assert_eq!(e.trim_end().lines().count(), 1, "{file}: one line: {e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
