//! strace's output options against the real thing: one guest program runs
//! under the guest's own strace once per option set, while vstrace
//! records the whole run; each set is then replayed by vstrace with the
//! same options for that very process (its comm and pid, the pid from the
//! program's stderr) and the lines are compared: exactly (the alignment
//! to strace's `-a` column too: each process's own file, `-ff`, has no
//! `[pid N] ` prefix, as the guest's strace -o for one process), except
//! the values of times (-tt, -T), whose format is checked. On the x86-64
//! kernel the guest's strace is the host's (Debian's, added with
//! `--add`); on the i386 (686) kernel it is a static 32-bit strace built
//! from the same source by scripts/strace-i386.sh, and the program is
//! built with -m32.

mod common;
use common::*;
use std::path::PathBuf;

/// The calls compared (glibc's start-up calls are left out: their
/// decoding is the decoders' tests' business).
const CALLS: &str = "trace=execve,getpid,chdir,getcwd,openat,write,close,exit_group,pipe,pipe2,\
                     read,readv,writev,ppoll,pidfd_open";

/// The option sets: strace's spelling, used for both tracers. /dev/null
/// is fd 3, the pipe's ends are 4 (read) and 5 (write).
const SETS: &[&str] = &[
    "",
    "-tt -T",
    "-n -i",
    "-x",
    "-xx",
    "-e status=failed -qq",
    "-z -a 20",
    "-a 0 -n",
    "-tt -a 60",
    "-ttt -r -q",
    "-e write=5 -e read=4",
    "-e write=all -e read=!4",
    "--write=2,5 --read=all",
    "-X raw",
    "-X verbose",
    "--const-print-style=abbrev",
    "-e verbose=none",
    "-e verbose=!readv,pipe2 -e abbrev=none",
];

/// The sets that need the kernel's structures (its BTF; the i386 kernel
/// has none: there, the profile made from its debug info by
/// scripts/i386-profile.sh): -P matching fds inside ppoll's array, pidfds
/// named `<pid:N>`, -Y's command names. (`-y` itself is compared in
/// context_linux.rs: here ppoll's array would differ, vstrace does not
/// name the fds inside structures yet.)
const SETS_KERNEL: &[&str] = &[
    "-P /dev/null",
    "--trace-path=/dev/null -P /nonexistent",
    "--decode-fds=pidfd",
    "-Y",
];

/// Whether the option set has the word `opt`.
fn has(set: &str, opt: &str) -> bool {
    set.split_whitespace().any(|w| w == opt)
}

/// Replaces the parts of a line that differ between tracers by nature
/// (times) with a marker, checking their format.
fn mask_times(line: &str, set: &str) -> String {
    let mut l = line.to_string();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if has(set, "-tt") {
        // HH:MM:SS.UUUUUU
        let (t, rest) = l.split_once(' ').unwrap_or_else(|| panic!("{line}"));
        let ok =
            t.len() == 15 && t.split([':', '.']).count() == 4 && t.split([':', '.']).all(digits);
        assert!(ok, "-tt timestamp {t:?} in {line:?}");
        l = format!("<tt> {rest}");
    }
    if has(set, "-ttt") {
        let (t, rest) = l.split_once(' ').unwrap_or_else(|| panic!("{line}"));
        let (s, us) = t.split_once('.').unwrap_or_else(|| panic!("{line}"));
        assert!(digits(s) && us.len() == 6 && digits(us), "-ttt {t:?}");
        l = format!("<ttt> {rest}");
    }
    if has(set, "-r") {
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
    if has(set, "-T") && l.ends_with('>') && !l.ends_with("...>") {
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

/// Whether `line` is one of strace's hex dump lines, which follow the
/// call's line with no pid of their own.
fn is_dump(line: &str) -> bool {
    line.starts_with(" | ") || line.starts_with(" * ") || line.starts_with(" = ")
}

/// A guest kernel and the strace and program built for it.
struct Guest {
    /// `vstrace run` arguments choosing the kernel.
    run_args: &'static [&'static str],
    strace: PathBuf,
    prog: PathBuf,
}

/// Runs every option set under the guest's strace in `g`, replays each
/// with vstrace and compares.
fn options_agree(g: &Guest, tag: &str, sets: &[&str]) {
    let add_prog = format!("{}:/bin/straceopts", g.prog.display());
    let add_strace = format!("{}:/bin/strace", g.strace.display());
    let mut script = String::new();
    for (i, set) in sets.iter().enumerate() {
        // Both tracers with their defaults (strace's -a 40 among them).
        script.push_str(&format!(
            "strace -o /tmp/s{i} -e {CALLS} {set} /bin/straceopts 2>/tmp/p{i}; \
             echo @@SET {i}; cat /tmp/p{i} /tmp/s{i}; "
        ));
    }
    let rec = recording_path(&format!("strace-options-{tag}"));
    let text = record_script(
        g.run_args,
        "straceopts",
        &[&add_strace, &add_prog],
        &rec,
        &script,
    );
    let mut sections = text.split("@@SET ").skip(1);
    for (i, set) in sets.iter().enumerate() {
        let sec = sections
            .next()
            .unwrap_or_else(|| panic!("{tag}: no output for set {i}: {text}"));
        let mut lines = sec.lines().skip(1);
        let pid = lines
            .next()
            .and_then(|l| l.strip_prefix("pid="))
            .unwrap_or_else(|| panic!("{tag}: no pid in set {i}: {sec}"))
            .to_string();
        let theirs: Vec<String> = lines
            .filter(|l| !l.is_empty())
            .map(|l| mask_times(l, set))
            .collect();
        // The program's calls only (its comm, from its exec on: before
        // it the process is strace's child), of this run (its pid), in
        // its own file (-ff): lines without `[pid N] `, as the guest's
        // strace -o prints them for one process, so that the alignment
        // compares exactly too.
        let base = tmp().join(format!("straceopts-{tag}-{i}-{}", std::process::id()));
        replay_per_process(&rec, "straceopts", &format!("-e {CALLS} {set}"), &base);
        let file = format!("{}.{pid}", base.display());
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{tag}: set {set:?}: {file}: {e}"));
        // --comm took every run's program: one file for each.
        remove_per_process(&base);
        // Its lines (from after its exec), and the dump lines that
        // follow them.
        let mut ours = Vec::new();
        let mut mine = false;
        for l in text.lines() {
            if is_dump(l) {
                if mine {
                    ours.push(l.to_string());
                }
            } else {
                mine = !l.contains("execve(");
                if mine {
                    ours.push(mask_times(l, set));
                }
            }
        }
        let mut theirs_kept = Vec::new();
        let mut kept = false;
        for l in theirs {
            if is_dump(&l) {
                if kept {
                    theirs_kept.push(l);
                }
            } else {
                kept = !l.contains("execve(");
                if kept {
                    theirs_kept.push(l);
                }
            }
        }
        assert!(
            !theirs_kept.is_empty(),
            "{tag}: set {set:?}: strace printed {theirs_kept:#?}"
        );
        if set.contains("write=") {
            assert!(
                theirs_kept.iter().any(|l| l.starts_with(" | 00000  ")),
                "{tag}: set {set:?}: strace dumped nothing: {theirs_kept:#?}"
            );
        }
        assert_eq!(
            ours, theirs_kept,
            "{tag}: set {set:?}: vstrace (left) vs the guest's strace (right)"
        );
    }
}

#[test]
fn options_agree_with_in_guest_strace() {
    let g = Guest {
        run_args: &[],
        strace: "/usr/bin/strace".into(),
        prog: build_prog("straceopts", &[]),
    };
    let sets: Vec<&str> = SETS.iter().chain(SETS_KERNEL).copied().collect();
    options_agree(&g, "x86_64", &sets);
}

#[test]
fn options_agree_with_in_guest_strace_on_the_i386_kernel() {
    let g = Guest {
        run_args: &["--arch", "i386"],
        strace: strace_i386(),
        prog: build_prog("straceopts", &["-m32"]),
    };
    i386_profile();
    let sets: Vec<&str> = SETS.iter().chain(SETS_KERNEL).copied().collect();
    options_agree(&g, "i386", &sets);
}

#[test]
fn options_without_meaning_outside_the_guest_are_refused_with_the_reason() {
    for (args, why) in [
        (&["run", "-u", "nobody", "--", "true"][..], "su USER"),
        (&["run", "--seccomp-bpf", "--", "true"], "seccomp"),
        (&["run", "-DDD", "--", "true"], "outside the guest"),
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
fn env_changes_the_run_commands_environment_and_is_refused_elsewhere() {
    // strace's -E: set, then remove, in order; the command is still found
    // with PATH=/ (looked up before the environment applies).
    let out = vstrace_run_on(&None)
        .args([
            "-q",
            "-e",
            "trace=execve",
            "-v",
            "-E",
            "VST_A=1 2",
            "-E",
            "VST_B=x",
        ])
        .args(["-E", "VST_B", "-E", "PATH=/", "--", "true"])
        .output()
        .expect("vstrace runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let execve = err
        .lines()
        .find(|l| l.contains("execve(\"/bin/true\""))
        .unwrap_or_else(|| panic!("no execve of true: {err}"));
    assert!(
        execve.contains("\"VST_A=1 2\"") && execve.contains("\"PATH=/\""),
        "{execve}"
    );
    assert!(!execve.contains("VST_B"), "{execve}");
    // A replay (and attach) starts no command.
    let rec = repo().join("tests/fixtures/replay/linux-workload.vst");
    let out = vstrace()
        .arg("replay")
        .arg(&rec)
        .args(["-E", "A=1"])
        .output()
        .expect("vstrace runs");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("-E: a replay cannot"),
        "{}",
        stderr(&out)
    );
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
    // No `[pid N] ` in a process's own file: column 40 from the name.
    assert_eq!(
        read(88),
        "exit_group(7)                           = ?\n+++ exited with 7 +++\n"
    );
    assert_eq!(
        read(87),
        "exit_group(0)                           = ?\n+++ exited with 0 +++\n"
    );
}

/// strace's poke injection (`-e inject=SET:poke_enter=`/`poke_exit=`),
/// live: the guest's strace pokes into one copy of the program while
/// vstrace, from outside, pokes into another copy (traced by its comm)
/// with the same rules; their lines must agree: the poked path is what
/// chdir reads (it succeeds into /tmp), the poked cwd what the caller
/// gets, both marked ` (INJECTED: args)`.
#[test]
fn pokes_agree_with_in_guest_strace() {
    let prog = build_prog("straceopts", &[]);
    let rules = [
        "chdir:poke_enter=@arg1=2f746d7000:when=1",
        "getcwd:poke_exit=@arg1=2e00",
    ];
    let calls = "trace=chdir,getcwd";
    let script = format!(
        "strace -o /tmp/s -e {calls} -e inject={} -e inject={} /bin/straceopts 2>/dev/null; \
         /bin/pokeopts 2>/dev/null; echo @@STRACE; cat /tmp/s",
        rules[0], rules[1]
    );
    let base = tmp().join(format!("pokeopts-{}", std::process::id()));
    let mut cmd = vstrace();
    cmd.args(["run", "--comm", "pokeopts", "--add"])
        .arg("/usr/bin/strace:/bin/strace")
        .arg("--add")
        .arg(format!("{}:/bin/straceopts", prog.display()))
        .arg("--add")
        .arg(format!("{}:/bin/pokeopts", prog.display()))
        .args(["-e", calls, "-ff", "-o"])
        .arg(&base);
    for r in rules {
        cmd.args(["--inject", r]);
    }
    let out = cmd
        .args(["--", "sh", "-c", &script])
        .output()
        .expect("vstrace runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out).replace('\r', "");
    let theirs: Vec<&str> = text
        .split_once("@@STRACE")
        .unwrap_or_else(|| panic!("no strace output: {text}"))
        .1
        .lines()
        .filter(|l| !l.is_empty())
        .collect();
    let stem = base.file_name().unwrap().to_string_lossy().to_string() + ".";
    let mut ours = String::new();
    for e in std::fs::read_dir(tmp()).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with(&stem) {
            ours.push_str(&std::fs::read_to_string(e.path()).unwrap());
            let _ = std::fs::remove_file(e.path());
        }
    }
    let ours: Vec<&str> = ours.lines().collect();
    assert!(
        theirs
            .iter()
            .any(|l| l.starts_with("chdir(\"/tmp\")") && l.ends_with("= 0 (INJECTED: args)")),
        "strace did not poke: {theirs:#?}"
    );
    assert_eq!(ours, theirs, "vstrace (left) vs the guest's strace (right)");
}

#[test]
fn a_bad_interruptible_value_gets_strace_s_diagnostic_in_the_spelling_given() {
    // strace's error_opt_arg: `invalid -I argument: '0'` or `invalid
    // --interruptible argument: ...`, then the -h line, status 1; before
    // any guest is looked for, in every command that takes -I.
    for (args, want) in [
        (
            &["run", "-I", "0", "--", "true"][..],
            "invalid -I argument: '0'",
        ),
        (&["run", "-I5", "--", "true"], "invalid -I argument: '5'"),
        (
            &["run", "-Inever_TSTP", "--", "true"],
            "invalid -I argument: 'never_TSTP'",
        ),
        (
            &["run", "--interruptible=sometimes", "--", "true"],
            "invalid --interruptible argument: 'sometimes'",
        ),
        (
            &["attach", "--gdb", "localhost:1", "-I", "-1"],
            "invalid -I argument: '-1'",
        ),
        (
            &["qemu", "-I", "3x", "--", "-M", "none"],
            "invalid -I argument: '3x'",
        ),
        (
            &["replay", "-I", "", "/nonexistent"],
            "invalid -I argument: ''",
        ),
    ] {
        let out = vstrace().args(args).output().expect("vstrace runs");
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!("vstrace: {want}\nTry 'vstrace -h' for more information.\n"),
            "{args:?}"
        );
    }
}

#[test]
fn interruptible_is_no_longer_refused() {
    // A good value passes the option checks: the run goes on to a guest
    // that is not there (no kernel), not to a refusal of -I.
    for v in [
        "1",
        "2",
        "3",
        "4",
        "anywhere",
        "always",
        "waiting",
        "never",
        "never_tstp",
    ] {
        for args in [
            vec!["replay", "-I", v, "/nonexistent"],
            vec!["replay", "--interruptible", v, "/nonexistent"],
        ] {
            let out = vstrace().args(&args).output().expect("vstrace runs");
            let err = stderr(&out);
            assert!(
                !err.contains("-I") && !err.contains("interruptible"),
                "{args:?}: {err}"
            );
            assert!(err.contains("/nonexistent"), "{args:?}: {err}");
        }
    }
}
