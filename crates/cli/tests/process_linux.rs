//! Who made each call, read from the guest kernel (task_struct layout from
//! the kernel image's BTF, current task from the per-cpu area), checked
//! against the guest's own view; and the process filters -p, -f, --comm.

mod common;
use common::*;

fn guest_num(out: &str, key: &str) -> u64 {
    let i = out
        .find(key)
        .unwrap_or_else(|| panic!("{key} not in {out}"));
    let rest = &out[i + key.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().unwrap()
}

#[test]
fn records_carry_pid_tid_comm_ppid_as_the_guest_sees_them() {
    let out = check_attribution("attribution", &[]);
    assert!(!stderr(&out).contains("page table isolation"));
}

/// With page-table isolation forced on (`pti=on`; the guest's CPU model
/// would not need it), user-mode traps run on the user half of each PGD
/// pair, which maps no task_struct: attribution reads the kernel's half,
/// and every check above still holds.
#[test]
fn attribution_under_page_table_isolation() {
    // The guest kernel really isolates (its CPU feature flag).
    let flag = run(&[
        "--append",
        "pti=on",
        "-e",
        "trace=none",
        "--",
        "/bin/sh",
        "-c",
        "grep -c -w pti /proc/cpuinfo",
    ]);
    assert_eq!(stdout(&flag).trim(), "1", "{}", stderr(&flag));
    let out = check_attribution("attribution-pti", &["--append", "pti=on"]);
    assert!(
        stderr(&out)
            .contains("Linux page table isolation: tasks are read in the kernel's page tables"),
        "{}",
        stderr(&out)
    );
}

/// Runs the workload with `extra` options and checks every record's
/// attribution against what the guest printed.
fn check_attribution(label: &str, extra: &[&str]) -> std::process::Output {
    let trace = trace_path(label);
    let mut args = vec!["--json", "-o", trace.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend(["--", "/bin/workload"]);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let g = stdout(&out);
    let (pid, child) = (guest_num(&g, "workload pid="), guest_num(&g, "child pid="));
    let recs = records(&trace);
    // Every record of the command is attributed.
    for r in &recs {
        assert!(
            r["pid"].is_u64() && r["comm"].is_string(),
            "unattributed: {r}"
        );
    }
    let first_write = find(&recs, |r| {
        name(r) == "write" && arg(r, 1).starts_with("\"workload pid=")
    });
    assert_eq!(first_write[0]["pid"], pid);
    assert_eq!(first_write[0]["tid"], pid);
    assert_eq!(first_write[0]["comm"], "workload");
    let child_exit = find(&recs, |r| name(r) == "exit_group" && arg(r, 0) == "7");
    assert_eq!(child_exit[0]["pid"], child);
    assert_eq!(
        child_exit[0]["ppid"], pid,
        "the child's parent is the workload"
    );
    // exec updates comm: before the command's exec the shell's name.
    assert_eq!(recs[0]["name"], "execve");
    assert_ne!(recs[0]["comm"], "workload");
    assert!(recs[1..]
        .iter()
        .filter(|r| r["pid"] == pid)
        .all(|r| r["comm"] == "workload"));
    // getpid's return agrees with the attribution.
    for r in find(&recs, |r| name(r) == "getpid") {
        assert_eq!(r["ret"], r["pid"]);
    }
    out
}

#[test]
fn filter_by_pid_with_and_without_follow() {
    // pid 1 is the guest's init: without -f only its own calls, with -f
    // everything it forks (the command included).
    let t1 = trace_path("pid1");
    let out = run(&[
        "-p",
        "1",
        "--json",
        "-o",
        t1.to_str().unwrap(),
        "--",
        "/bin/workload",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&t1);
    assert!(!recs.is_empty());
    assert!(recs.iter().all(|r| r["pid"] == 1), "only pid 1");
    assert!(
        find(&recs, |r| name(r) == "wait4").len() >= 2,
        "init waits for its children"
    );

    let t2 = trace_path("pid1f");
    let out = run(&[
        "-p",
        "1",
        "-f",
        "--json",
        "-o",
        t2.to_str().unwrap(),
        "--",
        "/bin/workload",
    ]);
    assert!(out.status.success());
    let pid = guest_num(&stdout(&out), "workload pid=");
    let recs = records(&t2);
    assert!(recs.iter().any(|r| r["pid"] == 1));
    assert!(
        recs.iter()
            .any(|r| r["pid"] == pid && r["comm"] == "workload"),
        "followed into the command"
    );
}

#[test]
fn filter_by_comm() {
    let t = trace_path("comm");
    let out = run(&[
        "--comm",
        "workload",
        "--json",
        "-o",
        t.to_str().unwrap(),
        "--",
        "/bin/workload",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&t);
    assert!(recs.len() > 40);
    assert!(recs.iter().all(|r| r["comm"] == "workload"));
    let pids: std::collections::BTreeSet<u64> =
        recs.iter().filter_map(|r| r["pid"].as_u64()).collect();
    assert_eq!(pids.len(), 2, "the workload and its exec'd child: {pids:?}");
}
