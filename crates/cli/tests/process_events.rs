//! Process events (`--process-events`) and the process tree (`--tree`,
//! `-c`), live and replayed, checked against what the guest's processes
//! print of themselves (`guests/progs/proctree.c`: each prints its pid
//! and parent pid, the parent how wait saw each child end), on both test
//! kernels; and the NT-ABI guest's NtTerminateProcess.

mod common;
use common::*;

use std::collections::HashMap;

/// `KEY=N` values the program printed (`A pid=88 ppid=87` gives
/// `A.pid` and `A.ppid`; `A=88 exited=3` gives `A` and `A.exited`).
fn guest_view(out: &str) -> HashMap<String, i64> {
    let mut v = HashMap::new();
    for line in out.lines() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else { continue };
        let (who, rest) = match first.split_once('=') {
            Some((w, n)) => {
                if let Ok(n) = n.parse() {
                    v.insert(w.to_string(), n);
                }
                (w, words)
            }
            None => (first, words),
        };
        if who.len() != 1 {
            continue;
        }
        for kv in rest {
            if let Some((k, n)) = kv.split_once('=') {
                if let Ok(n) = n.parse() {
                    v.insert(format!("{who}.{k}"), n);
                }
            }
        }
    }
    v
}

fn events<'a>(recs: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    find(recs, |r| r["process_event"] == kind)
}

#[test]
fn fork_vfork_exec_exit_and_kill_events_and_the_tree_live_and_replayed() {
    let bin = build_prog("proctree", &[]);
    for k in test_kernels() {
        let live = trace_path("proc-events");
        let rec = recording_path("proc-events");
        let out = vstrace_run_on(&k)
            .arg("--add")
            .arg(format!("{}:/bin/proctree", bin.display()))
            .args(["--timeout", "300", "--json", "--process-events", "--tree"])
            .arg("-o")
            .arg(&live)
            .arg("--record")
            .arg(&rec)
            .args(["--", "/bin/proctree"])
            .output()
            .expect("vstrace runs");
        assert!(out.status.success(), "{k:?}: {}", stderr(&out));
        let g = guest_view(&stdout(&out));
        let pid = |w: &str| g[&format!("{w}.pid")];
        let (p, a, c, d) = (pid("P"), pid("A"), pid("C"), pid("D"));
        let b = g["B"];
        assert_eq!((g["A.ppid"], g["D.ppid"], g["C.ppid"]), (p, a, p), "{k:?}");
        assert_eq!((g["A"], g["C"], g["D"]), (a, c, d), "{k:?}");
        assert_eq!((g["A.exited"], g["D.exited"], g["B.exited"]), (3, 5, 0));
        assert_eq!(g["C.signal"], 9);

        let text = std::fs::read_to_string(&live).unwrap();
        let recs: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // Forks: parent -> child as the guest saw them, with the call.
        let forks: Vec<(i64, i64, String)> = events(&recs, "fork")
            .iter()
            .map(|e| {
                assert_eq!(e["thread"], false, "{e}");
                (
                    e["pid"].as_i64().unwrap(),
                    e["child"].as_i64().unwrap(),
                    e["call"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            forks,
            [
                (p, a, "clone".to_string()),
                (a, d, "clone".into()),
                (p, b, "vfork".into()),
                (p, c, "clone".into())
            ],
            "{k:?}"
        );
        let clone = events(&recs, "fork")[0];
        assert!(
            clone["flags"].as_str().unwrap().contains("SIGCHLD"),
            "{clone}"
        );
        // Execs: the command's own and the vfork child's.
        let execs: Vec<(i64, &str, Vec<&str>)> = events(&recs, "exec")
            .iter()
            .map(|e| {
                let argv = e["argv"].as_array().unwrap();
                (
                    e["pid"].as_i64().unwrap(),
                    e["path"].as_str().unwrap(),
                    argv.iter().map(|s| s.as_str().unwrap()).collect(),
                )
            })
            .collect();
        assert_eq!(
            execs,
            [
                (p, "/bin/proctree", vec!["/bin/proctree"]),
                (b, "/bin/true", vec!["/bin/true", "x"])
            ],
            "{k:?}"
        );
        // Exits: each status as wait saw it, the killed child's signal.
        let mut exits: Vec<(i64, String)> = events(&recs, "exit")
            .iter()
            .map(|e| {
                let how = match e["signal"].as_str() {
                    Some(s) => s.to_string(),
                    None => e["status"].to_string(),
                };
                (e["pid"].as_i64().unwrap(), how)
            })
            .collect();
        exits.sort();
        let mut want = vec![
            (p, "0".to_string()),
            (a, "3".into()),
            (d, "5".into()),
            (b, "0".into()),
            (c, "SIGKILL".into()),
        ];
        want.sort();
        assert_eq!(exits, want, "{k:?}");
        // The tree: the last line, each process under its parent.
        let tree = recs.last().unwrap()["process_tree"].as_array().unwrap();
        let parent: HashMap<i64, i64> = tree
            .iter()
            .map(|n| (n["pid"].as_i64().unwrap(), n["ppid"].as_i64().unwrap()))
            .collect();
        assert_eq!(parent.len(), 5, "{tree:?}");
        for (child, par) in [(a, p), (d, a), (b, p), (c, p)] {
            assert_eq!(parent[&child], par, "{k:?}: {tree:?}");
        }

        // The replay prints the same bytes, and the same tree as text
        // (the recording's format is JSON) and under -c.
        let replayed = replay(&rec, &["--json", "--process-events", "--tree"]);
        assert!(replayed.status.success(), "{}", stderr(&replayed));
        assert_eq!(stdout(&replayed), text, "{k:?}");
        let t = replay(&rec, &["--text", "--process-events", "--tree"]);
        let t = stdout(&t);
        let fork_line = format!("[pid {p:>5}] +++ forked child {b} by vfork() +++");
        assert!(t.contains(&fork_line), "{t}");
        let exec_line = format!("[pid {b:>5}] +++ exec \"/bin/true\" [\"/bin/true\", \"x\"] +++");
        assert!(t.contains(&exec_line), "{t}");
        let killed = format!("[pid {c:>5}] +++ killed by SIGKILL +++");
        assert_eq!(t.matches(&killed).count(), 1, "{t}");
        let tree_text = &t[t.find("process tree:\n").expect("a tree")..];
        for line in [
            format!("{p} "),
            format!("|- {a} proctree (clone); exited with 3"),
            format!("|  `- {d} proctree (clone); exited with 5"),
            format!("|- {b} proctree (vfork): exec /bin/true x; exited with 0"),
            format!("`- {c} proctree (clone); killed by SIGKILL"),
        ] {
            assert!(tree_text.contains(&line), "{line:?} in {tree_text}");
        }
        let s = replay(&rec, &["-c"]);
        let s = stdout(&s) + &stderr(&s);
        assert!(s.ends_with(tree_text), "-c: {s}\nwant {tree_text}");
        // A filter that shows none of the process calls loses no event
        // and no branch of the tree, and prints no hidden call.
        let filtered = replay(
            &rec,
            &["-e", "trace=getpid", "--json", "--process-events", "--tree"],
        );
        assert!(filtered.status.success(), "{}", stderr(&filtered));
        let frecs: Vec<serde_json::Value> = stdout(&filtered)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let calls: Vec<&str> = frecs.iter().filter_map(|r| r["name"].as_str()).collect();
        assert!(calls.iter().all(|&n| n == "getpid"), "{calls:?}");
        let strip = |v: &[serde_json::Value]| -> Vec<serde_json::Value> {
            v.iter()
                .filter(|r| r.get("process_event").is_some() || r.get("process_tree").is_some())
                .map(|r| {
                    let mut r = r.clone();
                    r.as_object_mut().unwrap().remove("seq");
                    r
                })
                .collect()
        };
        assert_eq!(strip(&frecs), strip(&recs), "{k:?}");
        // (Without the options the text stays strace's: the replay
        // fixtures test, whose recordings fork and exec, checks that.)
    }
}

#[test]
fn windows_process_end_and_tree() {
    let img = nt_abi_image("nt-abi-x64.bin");
    let trace = trace_path("proc-events-nt");
    let out = vstrace()
        .args(["run", "--os", "windows", "--windows-version", "win10-22h2"])
        .arg("--kernel")
        .arg(&img)
        .args(["--timeout", "120", "--json", "--process-events", "--tree"])
        .arg("-o")
        .arg(&trace)
        .output()
        .expect("vstrace runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&trace);
    let exits = events(&recs, "exit");
    assert_eq!(exits.len(), 1, "{recs:?}");
    let term = find(&recs, |r| name(r) == "NtTerminateProcess");
    assert_eq!(exits[0]["pid"], term[0]["pid"]);
    assert_eq!(exits[0]["status"], 0);
    let tree = find(&recs, |r| r["process_tree"].is_array());
    assert_eq!(tree[0]["process_tree"][0]["pid"], term[0]["pid"]);
    assert_eq!(tree[0]["process_tree"][0]["comm"], "ntabi-test.exe");
}

/// strace's text lines of threads, as `(thread, text)`: the thread as
/// the order its id first appears in (ids differ between the runs), the
/// text with its id prefix (`[pid  88] ` or an `-o` file's `88  `) cut
/// and runs of spaces (the `= ` column counts the prefix) made one.
fn thread_lines(out: &str) -> Vec<(usize, String)> {
    let mut ids: Vec<String> = Vec::new();
    let mut lines = Vec::new();
    for line in out.lines() {
        let (id, text) = match line.strip_prefix("[pid ") {
            Some(rest) => match rest.split_once("] ") {
                Some((id, text)) => (id.trim().to_string(), text),
                None => continue,
            },
            None => {
                let id: String = line.chars().take_while(char::is_ascii_digit).collect();
                if id.is_empty() {
                    continue;
                }
                (id.clone(), line[id.len()..].trim_start())
            }
        };
        let n = match ids.iter().position(|i| *i == id) {
            Some(n) => n,
            None => {
                ids.push(id);
                ids.len() - 1
            }
        };
        lines.push((n, text.split_whitespace().collect::<Vec<_>>().join(" ")));
    }
    lines
}

/// A process's exit_group while its second thread is blocked in read
/// (guests/progs/threadexit.c): vstrace's lines from the exit_group on
/// are the guest strace's: the read's end `<... read resumed>
/// <unfinished ...>) = ?` and the thread's `+++ exited with 3 +++`
/// before the process's, with a filter (the read's entry, which no other
/// line interrupted, is printed before the exit_group's) and without.
#[test]
fn exit_group_ends_the_other_threads_calls_as_strace_shows() {
    let bin = build_prog("threadexit", &["-pthread"]);
    let add = format!("{}:/bin/threadexit", bin.display());
    for filter in ["trace=read,exit_group", "trace=all"] {
        let reference = vstrace()
            .args(["run", "--timeout", "300", "--add", &add])
            .args(["--add", "/usr/bin/strace", "-e", "trace=none", "--"])
            .args(["sh", "-c"])
            .arg(format!(
                "strace -f -e {filter} -o /tmp/s.txt /bin/threadexit; cat /tmp/s.txt"
            ))
            .output()
            .expect("vstrace runs");
        assert!(reference.status.success(), "{}", stderr(&reference));
        let ours = vstrace()
            .args(["run", "--timeout", "300", "--add", &add, "-f", "-e", filter])
            .args(["--", "/bin/threadexit"])
            .output()
            .expect("vstrace runs");
        // (vstrace exits with the command's status.)
        assert!(
            stderr(&ours).contains("+++ guest command exited with 3 +++"),
            "{}",
            stderr(&ours)
        );
        let from_exit = |lines: Vec<(usize, String)>| -> Vec<(usize, String)> {
            let at = lines
                .iter()
                .position(|(_, t)| t.starts_with("exit_group("))
                .expect("an exit_group line");
            // From the read's entry when it is the line before.
            let at = match lines.get(at.wrapping_sub(1)) {
                Some((_, t)) if t.starts_with("read(") => at - 1,
                _ => at,
            };
            lines[at..].to_vec()
        };
        let want = from_exit(thread_lines(&stdout(&reference)));
        let got = from_exit(thread_lines(&stderr(&ours)));
        assert!(
            want.iter()
                .any(|(_, t)| t == "<... read resumed> <unfinished ...>) = ?"),
            "{filter}: the reference changed: {want:?}"
        );
        assert_eq!(got, want, "{filter}");
    }
}
