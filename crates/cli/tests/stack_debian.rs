//! `-k` and `--caller` on the Debian bookworm guest (systemd, Debian's
//! kernel and libc; scripts/debian-image.sh), traced with `vstrace qemu`:
//! the test programs (guests/progs/stack.c: dynamic through libc's PLT,
//! a dlopen'ed library, code in anonymous memory, a library file mapped
//! by hand where that code was, a signal handler; and the static build) run from a second
//! disk, once under the guest's own `strace -k` and once plain. Each of
//! vstrace's stacks must match the guest strace's for the same call,
//! frame by frame (module, function, offsets), and a replay with `-k` of
//! the recording must print the same text.

#[macro_use]
mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The marker calls of stack.c.
const CALLS: &str = "getppid,getuid,getgid,getegid,getsid";

fn gcc(args: &[&str], out: &Path, src: &str) {
    let st = Command::new("gcc")
        .args(["-O2", "-fno-inline", "-fno-optimize-sibling-calls"])
        .args(args)
        .arg("-o")
        .arg(out)
        .arg(repo().join("guests/progs").join(src))
        .status()
        .expect("gcc runs");
    assert!(st.success(), "gcc {src} failed");
}

/// The payload directory (programs and the guest's `run` script) and
/// its ext4 disk image.
fn payload(dir: &Path) -> (PathBuf, PathBuf) {
    let p = dir.join("payload");
    std::fs::create_dir_all(&p).unwrap();
    gcc(
        &["-shared", "-fPIC"],
        &p.join("libstackdl.so"),
        "stacklib.c",
    );
    gcc(&[], &p.join("stack_dyn"), "stack.c");
    gcc(&["-static", "-DSTATIC"], &p.join("stack_static"), "stack.c");
    let run = p.join("run");
    std::fs::write(
        &run,
        format!(
            "#!/bin/bash\n\
             cd /payload\n\
             for p in stack_dyn stack_static; do\n\
             echo \"== $p strace\"\n\
             strace -qq -k -e trace={CALLS} -o /tmp/$p.k ./$p /payload/libstackdl.so\n\
             echo \"== $p k\"\n\
             cat /tmp/$p.k\n\
             echo \"== $p plain\"\n\
             ./$p /payload/libstackdl.so\n\
             done\n\
             echo '== payload done'\n"
        ),
    )
    .unwrap();
    Command::new("chmod").arg("755").arg(&run).status().unwrap();
    let img = dir.join("payload.img");
    let st = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(&p)
        .arg(&img)
        .arg("32M")
        .status()
        .expect("mkfs.ext4 runs");
    assert!(st.success(), "mkfs.ext4 -d failed");
    (p, img)
}

/// The guest strace's stacks of calls in `text` (its -o file): (call,
/// frames). strace -k prints a stack under a signal's `--- SIG... ---`
/// line too (where the signal was delivered): skipped.
fn strace_stacks(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for l in text.lines() {
        if let Some(f) = l.strip_prefix(" > ") {
            if let Some(last) = out.last_mut() {
                last.1.push(format!(" > {f}"));
            }
        } else if l.starts_with("--- ") {
            out.push((String::new(), Vec::new()));
        } else if let Some(i) = l.find('(') {
            out.push((l[..i].to_string(), Vec::new()));
        }
    }
    out.retain(|(call, _)| !call.is_empty());
    out
}

/// vstrace's stack of record `r` in strace's text.
fn frames(r: &Value) -> Vec<String> {
    r["stack"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|f| match (f["module"].as_str(), f["symbol"].as_str()) {
                    (Some(m), Some(s)) => format!(
                        " > {m}({s}) [{:#x}]",
                        f["file_offset"].as_u64().unwrap_or(0)
                    ),
                    (Some(m), None) => {
                        format!(" > {m}() [{:#x}]", f["file_offset"].as_u64().unwrap_or(0))
                    }
                    _ => format!(
                        " > unexpected_backtracing_error [{:#x}]",
                        f["ip"].as_u64().unwrap_or(0)
                    ),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A frame line with an absolute address (anonymous memory: placed
/// anew by each run's ASLR) reduced to the address's page offset.
fn norm(frames: &[String]) -> Vec<String> {
    frames
        .iter()
        .map(
            |l| match l.strip_prefix(" > unexpected_backtracing_error [0x") {
                Some(a) => {
                    let v = u64::from_str_radix(a.trim_end_matches(']'), 16).unwrap_or(0);
                    format!(" > unexpected_backtracing_error [page+{:#x}]", v & 0xfff)
                }
                None => l.clone(),
            },
        )
        .collect()
}

/// The lines of `log` after `== NAME` up to the next `== ` line.
fn section<'a>(log: &'a str, name: &str) -> &'a str {
    let head = format!("== {name}\n");
    let Some(i) = log.find(&head) else {
        panic!("no section {name} in:\n{log}");
    };
    let rest = &log[i + head.len()..];
    &rest[..rest.find("\n== ").map(|j| j + 1).unwrap_or(rest.len())]
}

#[test]
fn stacks_and_callers_match_the_guest_s_own_strace_k() {
    let dir = tmp().join(format!("stack-debian-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (payload_dir, payload_img) = payload(&dir);
    let log = dir.join("ttyS1.log");
    let text = dir.join("trace.txt");
    let rec = dir.join("trace.vst");
    let trace = format!("trace={CALLS}");
    let args: Vec<&std::ffi::OsStr> = vec![
        "-k".as_ref(),
        "--caller".as_ref(),
        "-e".as_ref(),
        trace.as_ref(),
        "-o".as_ref(),
        text.as_os_str(),
        "--record".as_ref(),
        rec.as_os_str(),
        "--symbol-dir".as_ref(),
        payload_dir.as_os_str(),
    ];
    let guest = debian_payload_run(&args, &payload_img, &log, None);

    // The replay with -k prints the live text byte for byte.
    let replayed = dir.join("replay.txt");
    let out = replay(&rec, &["-k", "-o", replayed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let live = std::fs::read_to_string(&text).unwrap();
    assert_eq!(std::fs::read_to_string(&replayed).unwrap(), live);
    assert!(live.contains(" > /payload/stack_dyn(main+"), "{live}");
    let json = dir.join("replay.json");
    let out = replay(&rec, &["--json", "-o", json.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&json);

    for prog in ["stack_dyn", "stack_static"] {
        let plain = section(&guest, &format!("{prog} plain"));
        let pid = num_after(plain, "pid=", 10);
        let theirs = strace_stacks(section(&guest, &format!("{prog} k")));
        let ours: Vec<&Value> = recs
            .iter()
            .filter(|r| r["pid"] == pid && CALLS.split(',').any(|c| c == name(r)))
            .collect();
        let want = if prog == "stack_dyn" { 5 } else { 3 };
        assert_eq!(theirs.len(), want, "{prog}: guest strace: {theirs:?}");
        assert_eq!(ours.len(), want, "{prog}: vstrace: {ours:?}");
        for ((call, st), r) in theirs.iter().zip(&ours) {
            assert_eq!(call, name(r), "{prog}");
            let (mine, st) = (norm(&frames(r)), norm(st));
            if prog == "stack_dyn" {
                assert_eq!(mine, st, "{prog} {call}: vstrace vs strace -k");
            } else {
                // The guest's strace (libunwind) finds no unwind table in
                // a static program (linked without .eh_frame_hdr) and
                // stops after the first frame; vstrace reads .eh_frame.
                assert!(mine.starts_with(&st), "{prog} {call}: {mine:?} vs {st:?}");
            }
        }
        // Callers: the module of each call's return address.
        let module = |r: &Value| r["caller"]["module"].as_str().map(str::to_string);
        let by = |c: &str| ours.iter().find(|r| name(r) == c).copied().unwrap();
        let libc = module(by("getppid")).unwrap_or_default();
        if prog == "stack_dyn" {
            assert!(libc.ends_with("/libc.so.6"), "{libc}");
            assert!(module(by("getuid")).unwrap().ends_with("/libc.so.6"));
            assert_eq!(module(by("getegid")).unwrap(), "/payload/libstackdl.so");
            // The dlopen'ed library's frames, under libc's getuid.
            let f = frames(by("getuid"));
            assert!(f[1].contains("/payload/libstackdl.so(inner+"), "{f:?}");
            assert!(f[2].contains("/payload/libstackdl.so(lib_call+"), "{f:?}");
        } else {
            assert_eq!(libc, "/payload/stack_static");
            let f = frames(by("getppid"));
            assert!(f.iter().any(|l| l.contains("(main+")), "{f:?}");
            assert!(f.last().unwrap().contains("(_start+"), "{f:?}");
        }
        // A call in a signal handler: the stack goes on past the
        // kernel's signal frame into the code it interrupted (raise,
        // called by signalled, called by main).
        let f = frames(by("getsid"));
        let at = |s: &str| f.iter().position(|l| l.contains(s));
        let (h, sg, m) = (at("(on_usr1+"), at("(signalled+"), at("(main+"));
        assert!(
            h.is_some() && h < sg && sg < m && f.len() > m.unwrap() + 1,
            "{f:?}"
        );
        // Anonymous code: no module, strace's error line, and the
        // mapping that replaced it (same address) is seen as the file.
        let anon = by("getgid");
        assert_eq!(module(anon), None, "{anon}");
        assert!(frames(anon)[0].starts_with(" > unexpected_backtracing_error"));
    }
}

/// `strace_stacks` reads strace's -k output.
#[test]
fn strace_k_output_is_parsed() {
    let s = "getppid()                               = 1\n > /a(f+0x1) [0x10]\n > /b() [0x20]\n--- SIGUSR1 {si_signo=SIGUSR1} ---\n > /c(g+0x2) [0x30]\ngetgid() = 0\n > unexpected_backtracing_error [0x7f]\n";
    let v = strace_stacks(s);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].0, "getppid");
    assert_eq!(v[0].1, [" > /a(f+0x1) [0x10]", " > /b() [0x20]"]);
    assert_eq!(v[1].1, [" > unexpected_backtracing_error [0x7f]"]);
}
