//! `--decode-pids=pidns` against the real thing: guests/progs/pidns.c
//! moves its children into a new PID namespace (`unshare(CLONE_NEWPID)`
//! and fork, what `unshare -p -f` does) where they ask for their ids and
//! signal themselves; it runs under the guest's own strace (Debian's,
//! added with `--add`) with `--decode-pids=pidns`, then with
//! `--decode-pids=comm,pidns`, each process to its own file (`-ff`),
//! while vstrace records the whole run. The recording is replayed by
//! vstrace with the same options, one file per process, and each of
//! strace's files must equal vstrace's file for the same pid exactly:
//! the guest's strace runs in the guest's initial namespace, which is
//! "strace's PID NS" for vstrace, so the comments must name the same
//! numbers.

mod common;
use common::*;

/// The calls compared: the pid-returning and pid-taking call the
/// program makes (its start-up calls are the decoders' business; so is
/// clone's argument list, which vstrace prints without strace's
/// `child_stack=`/`flags=` names today).
const CALLS: &str =
    "signal=none -e trace=getpid,getppid,gettid,getpgrp,getsid,setsid,kill,tkill,tgkill,\
                     wait4,sched_getscheduler,getpriority";

/// The option sets, strace's spelling for both tracers.
const SETS: &[&str] = &["--decode-pids=pidns", "--decode-pids=comm,pidns"];

/// `@@FILE PID` sections of the guest's output, for option set `i`: each
/// of strace's per-process files as (pid, lines).
fn strace_files(text: &str, i: usize) -> Vec<(String, Vec<String>)> {
    let sec = text
        .split(&format!("@@SET {i}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no output for set {i}: {text}"));
    let sec = sec.split("@@END").next().unwrap_or(sec);
    sec.split("@@FILE ")
        .skip(1)
        .map(|f| {
            let mut lines = f.lines();
            let pid = lines.next().unwrap_or("").trim().to_string();
            (
                pid,
                lines
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn pidns_translation_agrees_with_in_guest_strace() {
    let prog = build_prog("pidns", &[]);
    let add_prog = format!("{}:/bin/pidnsprog", prog.display());
    let add_strace = "/usr/bin/strace:/bin/strace".to_string();
    let mut script = String::new();
    for (i, set) in SETS.iter().enumerate() {
        script.push_str(&format!(
            "mkdir -p /tmp/s{i}; strace -ff -o /tmp/s{i}/t -e {CALLS} {set} /bin/pidnsprog; \
             echo @@SET {i}; for f in /tmp/s{i}/t.*; do echo \"@@FILE ${{f##*.}}\"; cat $f; done; \
             echo @@END; "
        ));
    }
    let rec = recording_path("strace-pidns");
    let text = record_script(&[], "pidnsprog", &[&add_strace, &add_prog], &rec, &script);
    for (i, set) in SETS.iter().enumerate() {
        let theirs = strace_files(&text, i);
        // The program, the namespace's init and its child.
        assert_eq!(theirs.len(), 3, "set {set}: strace's files: {theirs:#?}");
        assert!(
            theirs
                .iter()
                .flat_map(|(_, l)| l)
                .any(|l| l.contains(" in strace's PID NS */")),
            "set {set}: strace translated nothing: {theirs:#?}"
        );
        let base = tmp().join(format!("pidns-{i}-{}", std::process::id()));
        replay_per_process(&rec, "pidnsprog", &format!("-e {CALLS} {set}"), &base);
        for (pid, lines) in &theirs {
            let file = format!("{}.{pid}", base.display());
            let ours: Vec<String> = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("set {set}: {file}: {e}"))
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            assert_eq!(
                &ours, lines,
                "set {set}: pid {pid}: vstrace (left) vs the guest's strace (right)"
            );
        }
        // --comm took every run's program: one file for each.
        remove_per_process(&base);
    }
    let _ = std::fs::remove_file(&rec);
    let _ = std::fs::remove_file(&prog);
}
