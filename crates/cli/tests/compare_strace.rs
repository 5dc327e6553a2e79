//! vstrace against a real peer: the same workload runs in the guest under
//! the guest's own `strace -f` (Debian's strace and its libraries copied
//! into the initramfs) while vstrace traces from outside. For the workload
//! process, the sequence of syscall names, the decoded path arguments and
//! the return values must agree.

mod common;
use common::*;

/// One call as strace printed it: name, first quoted argument, return.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    name: String,
    path: Option<String>,
    ret: String,
}

/// Parses `strace -f -o` output for one pid, joining `<unfinished ...>`
/// and `<... NAME resumed>` halves.
fn parse_strace(text: &str, pid: i64) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut pending: Option<String> = None;
    for line in text.lines() {
        let Some((p, rest)) = line.split_once(' ') else {
            continue;
        };
        if p.trim().parse::<i64>().ok() != Some(pid) {
            continue;
        }
        let rest = rest.trim_start();
        if rest.starts_with("+++") || rest.starts_with("---") {
            continue;
        }
        let full = if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            pending = Some(head.to_string());
            continue;
        } else if rest.starts_with("<... ") {
            let tail = rest.split_once("resumed>").map(|x| x.1).unwrap_or("");
            format!("{}{}", pending.take().unwrap_or_default(), tail)
        } else {
            rest.to_string()
        };
        let Some(open) = full.find('(') else { continue };
        let name = full[..open].to_string();
        // strace pads before ` = RET` to a column.
        let ret = match full.rsplit_once(" = ") {
            Some((_, r)) => r.split_whitespace().next().unwrap_or("").to_string(),
            None => "?".to_string(),
        };
        calls.push(Call {
            name,
            path: first_quoted(&full[open..]),
            ret,
        });
    }
    calls
}

fn first_quoted(s: &str) -> Option<String> {
    let start = s.find('"')?;
    let end = s[start + 1..].find('"')?;
    Some(s[start..start + end + 2].to_string())
}

#[test]
fn vstrace_agrees_with_in_guest_strace() {
    let trace = trace_path("compare");
    let out = run(&[
        "--add",
        "/usr/bin/strace",
        "--json",
        "-o",
        trace.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "strace -f -o /tmp/strace.out /bin/workload >/dev/null; cat /tmp/strace.out",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let strace_text = stdout(&out);
    let pid = strace_text
        .lines()
        .find_map(|l| {
            let (p, rest) = l.split_once(' ')?;
            rest.contains("\"workload pid=")
                .then(|| p.trim().parse::<i64>().ok())?
        })
        .expect("the workload's first write in strace's output");
    let theirs: Vec<Call> = parse_strace(&strace_text, pid)
        .into_iter()
        .skip_while(|c| c.name != "execve")
        .skip(1)
        .collect();

    // vstrace's records of the same process: its address space after the
    // exec, found by the same first write.
    let recs = records(&trace);
    let cr3 = recs
        .iter()
        .find(|r| name(r) == "write" && arg(r, 1).starts_with("\"workload pid="))
        .map(|r| r["cr3"].clone())
        .expect("the workload's first write in vstrace's trace");
    let ours: Vec<Call> = recs
        .iter()
        .filter(|r| r["cr3"] == cr3 && r["state"] != "child_return")
        .map(|r| {
            let text = r["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["text"].as_str().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(", ");
            let ret = match r["state"].as_str() {
                Some("no_return") => "?".to_string(),
                _ => {
                    let t = r["ret_text"].as_str().unwrap_or("");
                    t.split_whitespace().next().unwrap_or("").to_string()
                }
            };
            Call {
                name: name(r).to_string(),
                path: first_quoted(&text),
                ret,
            }
        })
        .collect();

    assert!(theirs.len() > 30, "strace saw too little: {theirs:#?}");
    let n = theirs.len().min(ours.len());
    for i in 0..n {
        let (a, b) = (&theirs[i], &ours[i]);
        assert_eq!(a.name, b.name, "call #{i}: strace {a:?} vs vstrace {b:?}");
        assert_eq!(
            a.ret, b.ret,
            "call #{i} return: strace {a:?} vs vstrace {b:?}"
        );
        if let (Some(pa), Some(pb)) = (&a.path, &b.path) {
            // strace abbreviates buffers at 32 chars like vstrace; compare
            // the common prefix of the first quoted argument.
            let k = pa.len().min(pb.len());
            assert_eq!(
                pa[..k],
                pb[..k],
                "call #{i} string: strace {a:?} vs vstrace {b:?}"
            );
        }
    }
    assert_eq!(
        theirs.len(),
        ours.len(),
        "same number of calls\nstrace: {theirs:#?}\nvstrace: {ours:#?}"
    );
}
