//! strace's output options against the real thing: one guest program runs
//! under the guest's own strace (Debian's, added with `--add`) once per
//! option set, while vstrace records the whole run; each set is then
//! replayed by vstrace with the same options for that very process (its
//! comm and pid, the pid from the program's stderr) and the lines are compared: exactly,
//! except the values of times (-tt, -T), whose format is checked. The
//! guest's strace cannot run on the i386 guest (the host's strace is an
//! x86-64 program), so this runs on the x86-64 kernel only.

mod common;
use common::*;

/// The calls compared (glibc's start-up calls and openat are left out:
/// their decoding is the decoders' tests' business; vstrace prints
/// openat's mode without O_CREAT, strace does not).
const CALLS: &str = "trace=execve,getpid,chdir,write,close,exit_group";

/// The option sets: strace's spelling, used for both tracers.
const SETS: &[&str] = &[
    "",
    "-tt -T",
    "-n -i",
    "-x",
    "-xx",
    "-e status=failed -qq",
    "-z -a 20",
    "-ttt -r -q",
];

/// Replaces the parts of a line that differ between tracers by nature
/// (times) with a marker, checking their format.
fn mask_times(line: &str, set: &str) -> String {
    let mut l = line.to_string();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if set.contains("-tt ") || set.ends_with("-tt") {
        // HH:MM:SS.UUUUUU
        let (t, rest) = l.split_once(' ').unwrap_or_else(|| panic!("{line}"));
        let ok =
            t.len() == 15 && t.split([':', '.']).count() == 4 && t.split([':', '.']).all(digits);
        assert!(ok, "-tt timestamp {t:?} in {line:?}");
        l = format!("<tt> {rest}");
    }
    if set.contains("-ttt") {
        let (t, rest) = l.split_once(' ').unwrap_or_else(|| panic!("{line}"));
        let (s, us) = t.split_once('.').unwrap_or_else(|| panic!("{line}"));
        assert!(digits(s) && us.len() == 6 && digits(us), "-ttt {t:?}");
        l = format!("<ttt> {rest}");
    }
    if set.contains("-r") {
        // strace: "(+     0.000123) " after an absolute timestamp.
        let (head, rest) = l.split_once("(+").unwrap_or_else(|| panic!("{line}"));
        let (r, tail) = rest.split_once(") ").unwrap_or_else(|| panic!("{line}"));
        let (s, us) = r.trim().split_once('.').unwrap_or_else(|| panic!("{line}"));
        assert!(
            r.len() == 13 && digits(s) && us.len() == 6 && digits(us),
            "-r {r:?}"
        );
        l = format!("{head}(+<r>) {tail}");
    }
    if set.contains("-T") && l.ends_with('>') && !l.ends_with("...>") {
        let (head, t) = l.rsplit_once(" <").unwrap_or_else(|| panic!("{line}"));
        let (s, us) = t
            .trim_end_matches('>')
            .split_once('.')
            .unwrap_or_else(|| panic!("{line}"));
        assert!(digits(s) && us.len() == 6 && digits(us), "-T {t:?}");
        l = format!("{head} <T>");
    }
    l
}

#[test]
fn options_agree_with_in_guest_strace() {
    let prog = build_prog("straceopts", &[]);
    let add = format!("{}:/bin/straceopts", prog.display());
    let mut script = String::new();
    for (i, set) in SETS.iter().enumerate() {
        // strace's default column is 40; vstrace's output is unaligned
        // unless asked: both get it explicitly.
        let a = if set.contains("-a ") { "" } else { "-a 40" };
        script.push_str(&format!(
            "strace -o /tmp/s{i} {a} -e {CALLS} {set} /bin/straceopts 2>/tmp/p{i}; \
             echo @@SET {i}; cat /tmp/p{i} /tmp/s{i}; "
        ));
    }
    let rec = recording_path("strace-options");
    let out = run(&[
        "--add",
        "/usr/bin/strace",
        "--add",
        &add,
        "--record",
        rec.to_str().unwrap(),
        "-o",
        "/dev/null",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out).replace('\r', "");
    let mut sections = text.split("@@SET ").skip(1);
    for (i, set) in SETS.iter().enumerate() {
        let sec = sections
            .next()
            .unwrap_or_else(|| panic!("no output for set {i}: {text}"));
        let mut lines = sec.lines().skip(1);
        let pid = lines
            .next()
            .and_then(|l| l.strip_prefix("pid="))
            .unwrap_or_else(|| panic!("no pid in set {i}: {sec}"))
            .to_string();
        let theirs: Vec<String> = lines
            .filter(|l| !l.is_empty())
            .map(|l| mask_times(l, set))
            .collect();
        let a = if set.contains("-a ") { "" } else { "-a 40" };
        // The program's calls only (its comm, from its exec on), of this
        // run (its pid).
        let args: Vec<String> = format!("--text --comm straceopts {a} -e {CALLS} {set}")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = replay(&rec, &args);
        assert!(r.status.success(), "replay {args:?}: {}", stderr(&r));
        let tag = format!("[pid {pid:>5}] ");
        let ours: Vec<String> = stdout(&r)
            .lines()
            .filter_map(|l| l.strip_prefix(&tag))
            .filter(|l| !l.contains("execve("))
            .map(|l| mask_times(l, set))
            .collect();
        let theirs: Vec<String> = theirs
            .into_iter()
            .filter(|l| !l.contains("execve("))
            .collect();
        assert!(
            !theirs.is_empty(),
            "set {set:?}: strace printed {theirs:#?}"
        );
        assert_eq!(
            ours, theirs,
            "set {set:?}: vstrace (left) vs the guest's strace (right)"
        );
    }
}

#[test]
fn options_without_meaning_outside_the_guest_are_refused_with_the_reason() {
    for (args, why) in [
        (&["run", "-u", "nobody", "--", "true"][..], "su USER"),
        (&["run", "-E", "A=1", "--", "true"], "env VAR=VAL"),
        (&["run", "--seccomp-bpf", "--", "true"], "seccomp"),
        (&["run", "-DDD", "--", "true"], "outside the guest"),
        (&["run", "-I", "2", "--", "true"], "tracer signals"),
        (&["run", "-b", "execve", "--", "true"], "detach"),
        (&["run", "-d", "--", "true"], "inside QEMU"),
        (&["run", "-e", "kvm=vcpu", "--", "true"], "KVM"),
    ] {
        let out = vstrace().args(args).output().expect("vstrace runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(why), "{args:?}: {err}");
    }
}

#[test]
fn replay_writes_a_file_per_process_with_ff() {
    let rec = repo().join("tests/fixtures/replay/linux-workload.vst");
    let base = tmp().join(format!("ff-{}", std::process::id()));
    let out = replay(
        &rec,
        &[
            "-ff",
            "-o",
            base.to_str().unwrap(),
            "-e",
            "trace=exit_group",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let read = |pid: u32| std::fs::read_to_string(format!("{}.{pid}", base.display())).unwrap();
    assert_eq!(read(88), "exit_group(7) = ?\n+++ exited with 7 +++\n");
    assert_eq!(read(87), "exit_group(0) = ?\n+++ exited with 0 +++\n");
}
