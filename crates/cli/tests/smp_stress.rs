//! SMP guests under MTTCG (`--smp 2`, `--smp 4`): four workers make
//! thousands of calls in parallel on several vCPUs; per pid and per call
//! name the trace's counts must equal the workers' own counters, every
//! call must be a complete enter/exit pair, and every record must carry
//! the pid of the worker that made it.

mod common;
use common::*;

use std::collections::{BTreeMap, HashSet};

/// Call names the workers count.
const COUNTED: [&str; 7] = [
    "getpid", "getppid", "write", "read", "openat", "close", "pipe2",
];

/// `worker I pid=P name=N ...` lines: pid -> name -> count.
fn guest_counters(out: &str) -> BTreeMap<u64, BTreeMap<String, u64>> {
    let mut m = BTreeMap::new();
    for line in out.lines().filter(|l| l.starts_with("worker ")) {
        let mut pid = None;
        let mut counts = BTreeMap::new();
        for kv in line.split_whitespace().skip(2) {
            let (k, v) = kv.split_once('=').expect("key=value");
            let v: u64 = v.parse().expect("number");
            if k == "pid" {
                pid = Some(v);
            } else {
                counts.insert(k.to_string(), v);
            }
        }
        m.insert(pid.expect("pid="), counts);
    }
    m
}

fn check(smp: u32, base: u32) {
    let bin = build_prog("smp_stress", &[]);
    let trace = trace_path(&format!("smp{smp}"));
    let add = format!("{}:/bin/smp_stress", bin.display());
    let smp_s = smp.to_string();
    let base_s = base.to_string();
    let out = run(&[
        "--smp",
        &smp_s,
        "--add",
        &add,
        "--json",
        "-o",
        trace.to_str().unwrap(),
        "--timeout",
        "240",
        "--",
        "/bin/smp_stress",
        &base_s,
    ]);
    let g = stdout(&out);
    assert!(out.status.success(), "{g}\n{}", stderr(&out));
    assert!(g.contains("smp_stress done failed=0"), "{g}");
    let want = guest_counters(&g);
    assert_eq!(want.len(), 4, "four worker reports: {g}");

    let recs = records(&trace);
    // The parent of each worker, from the clone that returned its pid.
    let parent_of: BTreeMap<u64, u64> = recs
        .iter()
        .filter(|r| name(r) == "clone" && r["state"] == "complete")
        .filter_map(|r| Some((r["ret"].as_u64()?, r["pid"].as_u64()?)))
        .collect();
    let mut got: BTreeMap<u64, BTreeMap<String, u64>> = BTreeMap::new();
    let mut vcpus = HashSet::new();
    let mut vcpus_of_workers = HashSet::new();
    for r in &recs {
        let n = name(r);
        vcpus.insert(r["vcpu"].as_u64().unwrap());
        // No lost or mismatched pairs: only process exits never return,
        // and a fork's child side is the only other half record.
        match r["state"].as_str().unwrap() {
            "complete" => {}
            "no_return" => assert!(matches!(n, "exit_group" | "exit"), "{r}"),
            "child_return" => assert!(matches!(n, "clone" | "fork" | "vfork"), "{r}"),
            s => panic!("{s} record: {r}"),
        }
        let pid = r["pid"].as_u64().unwrap_or_else(|| panic!("no pid: {r}"));
        assert_eq!(r["tid"], r["pid"], "single-threaded processes: {r}");
        if !want.contains_key(&pid) {
            continue;
        }
        vcpus_of_workers.insert(r["vcpu"].as_u64().unwrap());
        assert_eq!(r["comm"], "smp_stress", "{r}");
        if COUNTED.contains(&n) {
            assert_eq!(r["state"], "complete", "{r}");
            *got.entry(pid)
                .or_default()
                .entry(n.to_string())
                .or_default() += 1;
        }
        // getpid's and getppid's returns are the worker's own pid and its
        // parent's: the record is attributed to the process that made the
        // call, whichever vCPU it ran on.
        assert_eq!(r["ppid"].as_u64(), parent_of.get(&pid).copied(), "{r}");
        if n == "getpid" {
            assert_eq!(r["ret"].as_u64(), Some(pid), "{r}");
        }
        if n == "getppid" {
            assert_eq!(r["ret"], r["ppid"], "{r}");
        }
    }
    for (pid, counts) in &want {
        let g = got.get(pid).cloned().unwrap_or_default();
        for name in COUNTED {
            assert_eq!(
                g.get(name).copied().unwrap_or(0),
                counts[name],
                "pid {pid}: {name} count differs (trace {g:?}, guest {counts:?})"
            );
        }
    }
    // Several vCPUs, one time order: a call's record is written when it
    // returns, and the writer merges the vCPUs' records by that time.
    let returns: Vec<u64> = recs
        .iter()
        .filter(|r| r["state"] == "complete")
        .map(|r| r["ts_exit_ns"].as_u64().unwrap())
        .collect();
    if let Some(w) = returns.windows(2).position(|w| w[0] > w[1]) {
        panic!(
            "records out of time order: a return at {} ns written before one at {} ns",
            returns[w],
            returns[w + 1]
        );
    }
    let total: u64 = want.values().flat_map(|c| c.values()).sum();
    assert!(total > 4 * base as u64, "the workers made {total} calls");
    assert!(
        vcpus_of_workers.len() > 1,
        "workers' calls came from vcpus {vcpus_of_workers:?} only"
    );
    assert!(vcpus.iter().all(|&v| v < smp as u64), "{vcpus:?}");
    eprintln!(
        "smp {smp}: {} records, {total} counted worker calls, vcpus {vcpus_of_workers:?}",
        recs.len()
    );
}

#[test]
fn smp4_parallel_workers_lose_no_call() {
    check(4, 800);
}

#[test]
fn smp2_parallel_workers_lose_no_call() {
    check(2, 500);
}
