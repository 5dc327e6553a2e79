//! Process semantics on real kernels and programs shaped like real ones:
//! every call paired with its own return (vfork, whose child runs on its
//! parent's stack in its parent's address space), no call lost, and no
//! record of a process outside the command's tree (address spaces are
//! freed and reused by the guest's other processes). Each test runs on
//! the Debian 6.1 kernel and on the newest kernel of bookworm-backports
//! that `scripts/setup-host.sh` caches.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::*;
use serde_json::Value;

/// Runs `prog` (built from guests/progs) with `args` in the guest under
/// `vstrace run --json` on `kernel`; returns the guest's stdout and the
/// records.
fn trace(kernel: &Option<PathBuf>, prog: &str, args: &[&str]) -> (String, Vec<Value>) {
    let bin = build_prog(prog, &[]);
    let t = trace_path(&format!("sem-{prog}"));
    let mut cmd = vstrace();
    cmd.arg("run")
        .arg("--add")
        .arg(format!("{}:/bin/{prog}", bin.display()));
    if let Some(k) = kernel {
        cmd.arg("--kernel").arg(k);
    }
    cmd.args(["--timeout", "300", "--json", "-o"])
        .arg(&t)
        .arg("--")
        .arg(format!("/bin/{prog}"))
        .args(args);
    let out = cmd.output().expect("vstrace runs");
    assert!(
        out.status.success(),
        "{prog} on {kernel:?}: {:?}\n{}",
        out.status,
        stderr(&out)
    );
    (stdout(&out), records(&t))
}

/// `key=a,b,c` from the guest's output.
fn guest_list(out: &str, key: &str) -> Vec<u32> {
    let at = out
        .find(key)
        .unwrap_or_else(|| panic!("{key} not in {out}"));
    out[at + key.len()..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or_else(|_| panic!("bad {key} in {out}")))
        .collect()
}

/// The scope checker: every record belongs to one of `tree`'s processes.
fn check_scope(recs: &[Value], tree: &BTreeSet<u32>, what: &str) {
    let outside: BTreeMap<(u64, String), usize> = recs
        .iter()
        .filter(|r| {
            !r["pid"]
                .as_u64()
                .is_some_and(|p| tree.contains(&(p as u32)))
        })
        .fold(BTreeMap::new(), |mut m, r| {
            let k = (
                r["pid"].as_u64().unwrap_or(0),
                r["comm"].as_str().unwrap_or("?").to_string(),
            );
            *m.entry(k).or_default() += 1;
            m
        });
    assert!(
        outside.is_empty(),
        "{what}: records of processes outside the command's tree {tree:?}: {outside:?}"
    );
}

/// Records of `pid` named `name`.
fn of<'a>(recs: &'a [Value], pid: u32, name: &str) -> Vec<&'a Value> {
    recs.iter()
        .filter(|r| r["pid"] == pid && r["name"] == name)
        .collect()
}

#[test]
fn vfork_returns_the_childs_pid_in_the_parent_and_loses_no_call() {
    for k in test_kernels() {
        let (out, recs) = trace(&k, "vfork", &["2000"]);
        let pid = guest_list(&out, "vfork pid=")[0];
        let kids = guest_list(&out, "kids=");
        let n = guest_list(&out, "getppid=")[0];
        assert_eq!((kids.len(), n), (2, 2000), "{out}");
        // Each vfork, in the parent, returns its child's pid.
        let vforks: Vec<i64> = of(&recs, pid, "vfork")
            .iter()
            .map(|r| {
                assert_eq!(r["state"], "complete", "{k:?}: {r}");
                r["ret"].as_i64().unwrap()
            })
            .collect();
        assert_eq!(
            vforks,
            kids.iter().map(|&k| i64::from(k)).collect::<Vec<_>>(),
            "{k:?}"
        );
        // The parent is traced after its children are gone: its own
        // count of getppid calls is vstrace's.
        let getppid = of(&recs, pid, "getppid");
        assert_eq!(getppid.len() as u64, u64::from(n), "{k:?}");
        assert!(getppid.iter().all(|r| r["state"] == "complete"));
        assert_eq!(of(&recs, pid, "wait4").len(), 2, "{k:?}");
        // The children: one exec, one _exit(7).
        assert_eq!(of(&recs, kids[0], "execve").len(), 1, "{k:?}");
        assert_eq!(of(&recs, kids[1], "exit_group").len(), 1, "{k:?}");
        let tree: BTreeSet<u32> = std::iter::once(pid).chain(kids).collect();
        check_scope(&recs, &tree, "vfork");
    }
}

#[test]
fn freed_address_spaces_reused_outside_the_command_are_not_traced() {
    for k in test_kernels() {
        // Children exec, are killed (no exit_group) or _exit; the guest's
        // shutdown runs after the command in whatever spaces are free.
        let (out, recs) = trace(&k, "execloop", &["30"]);
        let pid = guest_list(&out, "execloop pid=")[0];
        let kids = guest_list(&out, "kids=");
        assert_eq!(kids.len(), 30, "{out}");
        let tree: BTreeSet<u32> = std::iter::once(pid).chain(kids.iter().copied()).collect();
        check_scope(&recs, &tree, "execloop");
        // Nothing lost: every child's fork returned its pid in the parent
        // and every exec'ing child's execve is there.
        let forks: Vec<i64> = recs
            .iter()
            .filter(|r| r["pid"] == pid && matches!(r["name"].as_str(), Some("clone" | "fork")))
            .map(|r| r["ret"].as_i64().unwrap_or(-1))
            .collect();
        assert_eq!(
            forks,
            kids.iter().map(|&k| i64::from(k)).collect::<Vec<_>>(),
            "{k:?}"
        );
        for (i, kid) in kids.iter().enumerate() {
            assert_eq!(
                of(&recs, *kid, "execve").len(),
                usize::from(i % 3 == 0),
                "{k:?}: child {i} ({kid})"
            );
        }
    }
}

#[test]
fn nested_shells_leave_no_trace_of_the_guests_shutdown() {
    for k in test_kernels() {
        let t = trace_path("sem-nested");
        let mut cmd = vstrace_run_on(&k);
        let out = cmd
            .args(["--json", "-o"])
            .arg(&t)
            .args([
                "--",
                "sh",
                "-c",
                "sh -c 'cat /etc/hostname; echo pid=$$'; echo top=$$",
            ])
            .output()
            .expect("vstrace runs");
        assert!(out.status.success(), "{k:?}: {}", stderr(&out));
        let recs = records(&t);
        let o = stdout(&out);
        let tree: BTreeSet<u32> = [guest_list(&o, "pid=")[0], guest_list(&o, "top=")[0]]
            .into_iter()
            .chain(
                // The shells' own children (the cat, the echo's fork).
                recs.iter()
                    .filter(|r| matches!(r["name"].as_str(), Some("clone" | "fork" | "vfork")))
                    .filter_map(|r| r["ret"].as_u64().map(|p| p as u32)),
            )
            .collect();
        let comms: BTreeSet<&str> = recs.iter().filter_map(|r| r["comm"].as_str()).collect();
        for bad in ["poweroff", "sync", "init"] {
            assert!(!comms.contains(bad), "{k:?}: {bad} traced: {comms:?}");
        }
        check_scope(&recs, &tree, "nested shells");
        assert!(recs.iter().any(|r| r["comm"] == "cat"), "{k:?}");
    }
}

/// A dynamically linked program under the guest's own strace: the tracer
/// and the traced program map the same libc at different addresses, so
/// QEMU runs one translation of its code for both; and every call of the
/// traced program stops in ptrace at entry and exit. Each of its calls is
/// paired with its own result, the same sequence the guest's strace saw.
#[test]
fn a_dynamic_program_under_the_guests_strace_pairs_every_call() {
    for k in test_kernels() {
        let t = trace_path("sem-ptrace");
        let mut cmd = vstrace();
        cmd.arg("run")
            .args(["--add", "/usr/bin/strace", "--add", "/bin/ls:/bin/gls"]);
        if let Some(k) = &k {
            cmd.arg("--kernel").arg(k);
        }
        let out = cmd
            .args(["--timeout", "300", "--json", "-o"])
            .arg(&t)
            .args([
                "--",
                "sh",
                "-c",
                "strace -o /tmp/s.txt /bin/gls / >/dev/null && cat /tmp/s.txt",
            ])
            .output()
            .expect("vstrace runs");
        assert!(out.status.success(), "{k:?}: {}", stderr(&out));
        // The guest strace's view of gls after its exec: (name, result).
        // (name, result, error name): strace shows -1 and the name.
        let theirs: Vec<(String, i64, String)> = stdout(&out)
            .lines()
            .skip_while(|l| !l.starts_with("execve("))
            .skip(1)
            .filter_map(|l| {
                let name = l.split('(').next()?.to_string();
                let mut ret = l.rsplit_once(" = ")?.1.split_whitespace();
                let (v, e) = (ret.next()?, ret.next().unwrap_or(""));
                let v = if let Some(h) = v.strip_prefix("0x") {
                    i64::from_str_radix(h, 16).ok()?
                } else {
                    v.parse().ok()?
                };
                let e = if v == -1 {
                    e.to_string()
                } else {
                    String::new()
                };
                Some((name, v, e))
            })
            .collect();
        assert!(theirs.len() > 50, "{k:?}: {}", stdout(&out));
        let recs = records(&t);
        let gls: Vec<&Value> = recs.iter().filter(|r| r["comm"] == "gls").collect();
        let unfinished = gls.iter().filter(|r| r["state"] == "unfinished").count();
        assert_eq!(unfinished, 0, "{k:?}: calls of gls left unfinished");
        let ours: Vec<(String, i64, String)> = gls
            .iter()
            .filter(|r| r["state"] == "complete")
            .map(|r| {
                let ret = r["ret"].as_i64().unwrap();
                (
                    r["name"].as_str().unwrap().to_string(),
                    ret.max(-1),
                    r["errno"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        assert_eq!(ours, theirs, "{k:?}");
    }
}

/// Signal handlers interrupting calls, under the guest's own strace as the
/// reference (one run: both see the same program): a nanosleep a handler
/// interrupts (no SA_RESTART) and a read the kernel restarts
/// (SA_RESTART). Each call ends with what strace shows for it (`= ?
/// ERESTART_RESTARTBLOCK`, `= ? ERESTARTSYS`), the delivery is a line of
/// its own, and each rt_sigreturn gets its own result (the interrupted
/// context's -EINTR, or the restarted call's number).
#[test]
fn signal_deliveries_interrupted_calls_and_sigreturns_as_strace_shows_them() {
    for k in test_kernels() {
        signals_against_the_guests_strace(&k, &[]);
    }
}

/// The same program as a 32-bit (compat) process: the kernel builds ia32
/// frames (`sigframe_ia32` for these handlers without SA_SIGINFO, whose
/// return is `sigreturn`, not `rt_sigreturn`), compared with the guest's
/// strace in the same way.
#[test]
fn compat_signal_frames_as_strace_shows_them() {
    for k in test_kernels() {
        signals_against_the_guests_strace(&k, &["-m32"]);
    }
}

/// guests/progs/signals.c (built with `flags`) under the guest's strace and
/// under vstrace in one run on kernel `k`: the interrupted calls, the
/// deliveries and the sigreturns line by line.
fn signals_against_the_guests_strace(k: &Option<PathBuf>, flags: &[&str]) {
    {
        let bin = build_prog("signals", flags);
        let t = trace_path("sem-signals");
        let mut cmd = vstrace();
        cmd.arg("run")
            .args(["--add", "/usr/bin/strace", "--add"])
            .arg(format!("{}:/bin/signals", bin.display()));
        if let Some(k) = k {
            cmd.arg("--kernel").arg(k);
        }
        let out = cmd
            .args(["--timeout", "300", "-o"])
            .arg(&t)
            .args([
                "--",
                "sh",
                "-c",
                "strace -o /tmp/s.txt /bin/signals && cat /tmp/s.txt",
            ])
            .output()
            .expect("vstrace runs");
        assert!(out.status.success(), "{k:?}: {}", stderr(&out));
        let guest = stdout(&out);
        let pid = guest_list(&guest, "signals pid=")[0];
        let interesting = |l: &str| {
            [
                "clock_nanosleep(",
                "clock_nanosleep_time64(",
                "nanosleep(",
                "read(3",
                "rt_sigreturn(",
                "sigreturn(",
                "--- SIG",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        };
        let squeeze = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
        let theirs: Vec<String> = guest
            .lines()
            .filter(|l| interesting(l))
            .map(squeeze)
            .collect();
        let prefix = format!("[pid {pid:>5}] ");
        let text = std::fs::read_to_string(&t).unwrap();
        let ours: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            // vstrace tags the calls of a compat process with their ABI;
            // strace says it once ("runs in 32 bit mode").
            .map(|l| l.strip_prefix("[i386] ").unwrap_or(l))
            .filter(|l| interesting(l))
            .map(squeeze)
            .collect();
        assert_eq!(ours.len(), theirs.len(), "{k:?}:\n{ours:#?}\n{theirs:#?}");
        for (o, t) in ours.iter().zip(&theirs) {
            if let Some(sig) = t.strip_prefix("--- ") {
                // Without SA_SIGINFO the kernel leaves no siginfo in the
                // frame: the signal probe's, as strace shows it, or from
                // the frame alone the signal's number only.
                let name = sig.split_whitespace().next().unwrap();
                if has_signal_probe(k, vstrace_launch::GuestArch::X86_64) {
                    assert_eq!(o, t, "{k:?}");
                } else {
                    assert_eq!(o, &format!("--- {name} {{si_signo={name}}} ---"), "{k:?}");
                }
            } else if t.starts_with("rt_sigreturn") || t.starts_with("sigreturn") {
                assert_eq!(o, t, "{k:?}");
            } else {
                // The call and its result (the decoding of arguments such
                // as the timespec is another matter).
                let parts = |l: &str| {
                    let name = l.split('(').next().unwrap().to_string();
                    (name, l.rsplit_once(" = ").map(|x| x.1.to_string()))
                };
                assert_eq!(parts(o), parts(t), "{k:?}: {o} / {t}");
            }
        }
        assert!(
            theirs.iter().any(|l| l.contains("ERESTART_RESTARTBLOCK")),
            "{theirs:?}"
        );
        assert!(
            theirs.iter().any(|l| l.contains("ERESTARTSYS")),
            "{theirs:?}"
        );
    }
}

/// 5-level paging: `--cpu max` gives the guest LA57 (the bzImage is booted
/// then: the PVH entry would leave it 4-level), the guest says it runs
/// with it, and every record of the command is still attributed (the
/// page walker follows CR4.LA57; before, 0 records had a pid).
#[test]
fn five_level_paging_keeps_attribution() {
    for k in test_kernels() {
        let t = trace_path("sem-la57");
        let mut cmd = vstrace_run_on(&k);
        let out = cmd
            .args(["--cpu", "max", "--timeout", "300", "--json", "-o"])
            .arg(&t)
            .args([
                "--",
                "sh",
                "-c",
                "grep -c -w la57 /proc/cpuinfo; echo sh pid=$$",
            ])
            .output()
            .expect("vstrace runs");
        assert!(out.status.success(), "{k:?}: {}", stderr(&out));
        let guest = stdout(&out);
        assert!(
            guest.starts_with("1\n"),
            "{k:?}: no la57 in the guest: {guest}"
        );
        assert!(!stderr(&out).contains("attribution"), "{}", stderr(&out));
        let recs = records(&t);
        assert!(recs.len() > 20, "{k:?}: {}", recs.len());
        let unattributed = recs.iter().filter(|r| r["pid"].is_null()).count();
        assert_eq!(unattributed, 0, "{k:?}: of {}", recs.len());
        let sh = guest_list(&guest, "sh pid=")[0];
        assert!(
            recs.iter()
                .any(|r| r["pid"].as_u64() == Some(u64::from(sh))),
            "{k:?}: no record of the shell {sh}"
        );
    }
}

/// Pointer arguments into the kernel's half: the kernel answers EFAULT
/// without reading them, and vstrace reads them with the call's user
/// rights: they print as addresses, as strace prints them, never as the
/// kernel's bytes.
#[test]
fn kernel_addresses_in_user_calls_print_as_addresses() {
    let (out, recs) = trace(&None, "kaddr", &[]);
    let pid = guest_list(&out, "kaddr pid=")[0];
    assert!(out.contains("openat=-1/14 write=-1/14"), "{out}");
    let open = of(&recs, pid, "openat");
    let open = open.last().expect("the openat");
    assert_eq!(open["args"][1]["text"], "0xffffffff81000000", "{open}");
    assert_eq!(open["errno"], "EFAULT");
    let write = of(&recs, pid, "write");
    let write = write.first().expect("the write");
    assert_eq!(write["args"][1]["text"], "0xffffffff81000000", "{write}");
}

/// A second thread rewrites the path buffer while the first calls openat
/// (2 vCPUs): the path is read at the call's entry and again at its exit,
/// and when the two differ the record says so (text: a comment after the
/// argument; JSON: `changed` with the exit's value). Which of the two the
/// kernel read cannot be told from outside; a buffer flipped away and back
/// within the call goes unnoticed.
#[test]
fn paths_rewritten_during_the_call_are_flagged() {
    let bin = build_prog("pathrace", &["-pthread"]);
    let t = trace_path("sem-pathrace");
    let out = vstrace()
        .arg("run")
        .args(["--smp", "2", "--add"])
        .arg(format!("{}:/bin/pathrace", bin.display()))
        .args(["--timeout", "300", "--json", "-e", "trace=openat", "-o"])
        .arg(&t)
        .args(["--", "/bin/pathrace", "3000"])
        .output()
        .expect("vstrace runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let g = stdout(&out);
    let pid = guest_list(&g, "pathrace pid=")[0];
    let recs = records(&t);
    let opens: Vec<&Value> = recs
        .iter()
        .filter(|r| r["pid"] == pid && r["name"] == "openat")
        .filter(|r| r["args"][1]["text"].as_str().is_some_and(|p| p.len() == 15))
        .collect();
    assert_eq!(opens.len(), 3000, "every open traced");
    let hostname = "\"/etc/hostname\"";
    let mut flagged = 0;
    let mut silent = 0;
    for r in &opens {
        let entry = r["args"][1]["text"].as_str().unwrap();
        let opened = r["ret"].as_i64().unwrap() >= 0;
        let names_outcome = (entry == hostname) == opened;
        match r["changed"].as_array() {
            Some(c) => {
                flagged += 1;
                assert_eq!(c.len(), 1, "{r}");
                assert_eq!(c[0]["arg"], 1, "{r}");
                // (a copy caught half-way reads as a mix of the two)
                let exit = c[0]["at_exit"].as_str().unwrap();
                assert!(exit != entry && exit.len() == 15, "{r}");
            }
            None if !names_outcome => silent += 1,
            None => {}
        }
    }
    // Measured here: 1,262 of 3,000 flagged, 595 printed a path the
    // kernel did not open without a flag (flipped back before the exit).
    eprintln!("pathrace: {flagged} of 3000 flagged, {silent} wrong and unflagged; guest: {g}");
    assert!(
        flagged > 0,
        "no open was seen changing ({silent} silent mismatches)"
    );
}

/// Record/replay on both kernels, with what this file traces (vfork,
/// signal deliveries, interrupted calls): the replay prints the live
/// run's JSON to the byte.
#[test]
fn vfork_and_signal_recordings_replay_identically() {
    for k in test_kernels() {
        for prog in ["vfork", "signals"] {
            let bin = build_prog(prog, &[]);
            let live = trace_path(&format!("sem-rr-{prog}"));
            let rec = recording_path(&format!("sem-rr-{prog}"));
            let mut cmd = vstrace();
            cmd.arg("run")
                .arg("--add")
                .arg(format!("{}:/bin/{prog}", bin.display()));
            if let Some(k) = &k {
                cmd.arg("--kernel").arg(k);
            }
            let out = cmd
                .args(["--timeout", "300", "--json", "-o"])
                .arg(&live)
                .arg("--record")
                .arg(&rec)
                .args(["--", &format!("/bin/{prog}")])
                .output()
                .expect("vstrace runs");
            assert!(out.status.success(), "{k:?} {prog}: {}", stderr(&out));
            let replayed = replay(&rec, &["--json"]);
            assert!(replayed.status.success(), "{}", stderr(&replayed));
            let want = std::fs::read_to_string(&live).unwrap();
            assert!(
                want.contains("\"vfork\"") || want.contains("\"signal\""),
                "{k:?} {prog}"
            );
            assert_eq!(stdout(&replayed), want, "{k:?} {prog}");
        }
    }
}

/// A child killed by SIGKILL never returns to user mode; its death shows
/// where its parent's wait4 reaps it: `+++ killed by SIGKILL +++` under
/// the child's pid, as strace prints it (and `-qq` hides it, as strace's).
#[test]
fn a_child_killed_by_a_signal_gets_strace_s_killed_line() {
    for k in test_kernels() {
        for (quiet, want) in [(None, 1), (Some("-qq"), 0)] {
            let t = trace_path("sem-killed");
            let mut cmd = vstrace_run_on(&k);
            cmd.args(quiet);
            let out = cmd
                .args(["--timeout", "300", "-o"])
                .arg(&t)
                .args([
                    "--",
                    "sh",
                    "-c",
                    "sleep 10 & echo child=$!; kill -9 $!; wait; echo done",
                ])
                .output()
                .expect("vstrace runs");
            assert!(out.status.success(), "{k:?}: {}", stderr(&out));
            let child = guest_list(&stdout(&out), "child=")[0];
            let text = std::fs::read_to_string(&t).unwrap();
            let line = format!("[pid {child:>5}] +++ killed by SIGKILL +++");
            assert_eq!(
                text.lines().filter(|l| *l == line).count(),
                want,
                "{k:?} {quiet:?}:\n{text}"
            );
            assert!(
                !text.contains(&format!("[pid {child:>5}] +++ exited")),
                "{text}"
            );
        }
    }
}
