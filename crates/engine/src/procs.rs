//! Process events and the process tree, derived from the records.
//!
//! A fork/clone/vfork that returned a child, an exec that returned 0 and
//! a process's end (`+++ exited with N +++`, `+++ killed by SIG +++`; on
//! Windows `NtTerminateProcess(NtCurrentProcess(), status)`) are events
//! of their own ([`ProcessEvent`]): JSON records with a `process_event`
//! key, and with `--process-events` extra text lines. The tree
//! ([`ProcessTree`]) is built from the same events and printed at the
//! end (`--tree`, and `-c` when the run created a process).
//!
//! Everything comes from records, not from guest memory: a replay
//! rebuilds the same events from the same records, and a recording made
//! before this module existed replays to them too.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::record::{CallState, Record};

/// Most processes the tree keeps (later ones are counted, not shown).
pub const MAX_NODES: usize = 1 << 16;
/// Most execs kept per process.
const MAX_EXECS: usize = 16;
/// Deepest tree level drawn (deeper processes are drawn at this depth).
const MAX_DEPTH: usize = 64;
/// Most argv entries parsed from a record's text.
const MAX_ARGV: usize = 4096;

/// What happened to a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// `pid` created `child` (fork, vfork, clone, clone3).
    Fork,
    /// `pid` replaced its image (execve, execveat).
    Exec,
    /// `pid` ended: `status` (its exit status) or `signal`.
    Exit,
}

/// One process event. Fields that do not apply are left out of the JSON.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessEvent {
    /// Which event (the key that tells these JSON records from calls).
    pub process_event: EventKind,
    /// Sequence number in output order, shared with the call records.
    pub seq: u64,
    /// When it happened (ns since tracing started): the call's exit for
    /// fork and exec, the exit call's (or the reaping wait's) enter.
    pub ts_ns: u64,
    /// The process it happened to (the parent for a fork).
    pub pid: Option<u32>,
    /// The thread that made the call.
    pub tid: Option<u32>,
    /// The process's parent, when attributed.
    pub ppid: Option<u32>,
    /// The process's name when the call was made.
    pub comm: Option<String>,
    /// The call it comes from (`clone`, `vfork`, `execve`, `exit_group`,
    /// `wait4` for a child killed by a signal, `NtTerminateProcess`).
    pub call: String,
    /// Fork: the new process (or thread) id.
    pub child: Option<u32>,
    /// Fork: the child is a thread of `pid` (CLONE_THREAD), not a process.
    pub thread: Option<bool>,
    /// Fork: the clone flags as decoded (absent for fork and vfork,
    /// whose flags are implied).
    pub flags: Option<String>,
    /// Exec: the program's path.
    pub path: Option<String>,
    /// Exec: its arguments (as far as the trace's string limit kept them).
    pub argv: Option<Vec<String>>,
    /// Exit: the exit status.
    pub status: Option<i64>,
    /// Exit: the signal that killed it (`SIGKILL`).
    pub signal: Option<String>,
    /// Exit: the signal dumped core.
    pub core_dumped: Option<bool>,
    /// The text line's words between `+++ ` and ` +++` (not in JSON).
    #[serde(skip)]
    pub text: String,
}

impl ProcessEvent {
    fn new(kind: EventKind, r: &Record, call: &str) -> ProcessEvent {
        ProcessEvent {
            process_event: kind,
            seq: 0,
            ts_ns: r.ts_exit_ns.unwrap_or(r.ts_enter_ns),
            pid: r.pid,
            tid: r.tid,
            ppid: r.ppid,
            comm: r.comm.as_deref().map(str::to_string),
            call: call.to_string(),
            child: None,
            thread: None,
            flags: None,
            path: None,
            argv: None,
            status: None,
            signal: None,
            core_dumped: None,
            text: String::new(),
        }
    }

    /// The event `r` is, if any.
    pub fn of(r: &Record) -> Option<ProcessEvent> {
        let arg = |i: usize| r.args.get(i).and_then(|a| a.text.as_deref());
        match (r.state, r.name.as_ref()) {
            (CallState::Complete, "clone" | "clone3" | "fork" | "vfork") => {
                let child = u32::try_from(r.ret?).ok().filter(|&c| c > 0)?;
                if r.errno.is_some() {
                    return None;
                }
                let flags = match r.name.as_ref() {
                    "clone" => arg(0).map(str::to_string),
                    "clone3" => arg(0).and_then(clone3_flags),
                    _ => None,
                };
                let thread = flags
                    .as_deref()
                    .is_some_and(|f| f.split('|').any(|x| x == "CLONE_THREAD"));
                let mut e = ProcessEvent::new(EventKind::Fork, r, &r.name);
                let what = if thread { "new thread" } else { "forked child" };
                e.text = match &flags {
                    Some(f) => format!("{what} {child} by {}({f})", r.name),
                    None => format!("{what} {child} by {}()", r.name),
                };
                e.child = Some(child);
                e.thread = Some(thread);
                e.flags = flags;
                Some(e)
            }
            (CallState::Complete, "execve" | "execveat") if r.ret == Some(0) => {
                let first = usize::from(r.name == "execveat");
                let mut e = ProcessEvent::new(EventKind::Exec, r, &r.name);
                let (p, a) = (arg(first), arg(first + 1));
                e.path = p.and_then(|t| unquote(t).map(|(s, _)| s));
                e.argv = a.and_then(parse_argv);
                e.text = format!("exec {} {}", p.unwrap_or("?"), a.unwrap_or("?"));
                Some(e)
            }
            (CallState::Exited, _) => {
                let mut e = ProcessEvent::new(EventKind::Exit, r, &r.name);
                e.ts_ns = r.ts_enter_ns;
                match (r.ret, r.ret_text.as_deref()) {
                    (None, Some(how)) => {
                        let sig = how.strip_prefix("killed by ").unwrap_or(how);
                        let (sig, core) = match sig.strip_suffix(" (core dumped)") {
                            Some(s) => (s, true),
                            None => (sig, false),
                        };
                        e.signal = Some(sig.to_string());
                        e.core_dumped = Some(core);
                        e.text = how.to_string();
                    }
                    (ret, _) => {
                        e.status = Some(ret.unwrap_or(0));
                        e.text = format!("exited with {}", ret.unwrap_or(0));
                    }
                }
                Some(e)
            }
            (CallState::NoReturn | CallState::Complete, "NtTerminateProcess") => {
                // Only the current process's own end (NtCurrentProcess()).
                let width = if r.abi == "nt32" {
                    0xffff_ffff
                } else {
                    u64::MAX
                };
                let h = r.args.first()?.raw & width;
                if h != width {
                    return None;
                }
                let status = r.args.get(1).map_or(0, |a| a.raw & 0xffff_ffff);
                let mut e = ProcessEvent::new(EventKind::Exit, r, &r.name);
                e.ts_ns = r.ts_enter_ns;
                e.status = Some(status as i64);
                e.text = format!("exited with {status:#x}");
                Some(e)
            }
            _ => None,
        }
    }

    /// The text line (without newline): `[pid N] +++ ... +++`.
    pub fn to_text(&self, own_file: bool, out: &mut String) {
        if let (Some(pid), false) = (self.tid.or(self.pid), own_file) {
            let _ = write!(out, "[pid {pid:>5}] ");
        }
        let _ = write!(out, "+++ {} +++", self.text);
    }
}

/// `flags=...` out of clone3's decoded `struct clone_args`.
fn clone3_flags(t: &str) -> Option<String> {
    let rest = &t[t.find("flags=")? + "flags=".len()..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// A C-quoted string as the decoders print it (`"a\nb"`, `"abc"...`) at
/// the start of `t`: its bytes (lossy UTF-8) and the rest of `t` after
/// it (and its `...`). None if `t` does not start with a quote.
pub fn unquote(t: &str) -> Option<(String, &str)> {
    let b = t.as_bytes();
    if b.first() != Some(&b'"') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 1;
    loop {
        match *b.get(i)? {
            b'"' => break,
            b'\\' => {
                i += 1;
                let c = *b.get(i)?;
                match c {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'v' => out.push(0x0b),
                    b'f' => out.push(0x0c),
                    b'x' => {
                        let h = t.get(i + 1..i + 3)?;
                        out.push(u8::from_str_radix(h, 16).ok()?);
                        i += 2;
                    }
                    b'0'..=b'7' => {
                        let n = b[i..]
                            .iter()
                            .take(3)
                            .take_while(|d| (b'0'..=b'7').contains(d))
                            .count();
                        let v = u32::from_str_radix(&t[i..i + n], 8).ok()?;
                        out.push(v as u8);
                        i += n - 1;
                    }
                    other => out.push(other),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    let mut rest = &t[i + 1..];
    rest = rest.strip_prefix("...").unwrap_or(rest);
    Some((String::from_utf8_lossy(&out).into_owned(), rest))
}

/// An argv as the decoders print it: `["ls", "-l"]`, maybe ending in
/// `...` (more than the limit). None when `t` is no such array (NULL,
/// an address).
pub fn parse_argv(t: &str) -> Option<Vec<String>> {
    let mut rest = t.strip_prefix('[')?;
    let mut v = Vec::new();
    while v.len() < MAX_ARGV {
        rest = rest.trim_start_matches([',', ' ']);
        if rest.starts_with(']') || rest.starts_with("...") || rest.is_empty() {
            break;
        }
        let (s, r) = unquote(rest)?;
        v.push(s);
        rest = r;
    }
    Some(v)
}

/// One process in the tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Its id.
    pub pid: u32,
    /// Its parent: the process whose fork created it, else the parent
    /// its records name.
    pub ppid: Option<u32>,
    /// The call that created it (`clone`, `vfork`), when seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Its name the first time it was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    /// The programs it executed, in order (argv joined by spaces, or
    /// the path).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub execs: Vec<String>,
    /// Threads it created.
    #[serde(skip_serializing_if = "is_zero")]
    pub threads: u32,
    /// How it ended (`exited with 0`, `killed by SIGKILL`); absent if
    /// its end was not seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Whether a fork made it (else it was only seen making calls).
    #[serde(skip)]
    forked: bool,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// The processes of a run and who created whom.
#[derive(Debug, Clone, Default)]
pub struct ProcessTree {
    nodes: BTreeMap<u32, Node>,
    /// Processes created (forks that were not threads).
    created: u64,
    /// Processes left out because the tree was full.
    dropped: u64,
}

impl ProcessTree {
    fn node(&mut self, pid: u32) -> Option<&mut Node> {
        if !self.nodes.contains_key(&pid) {
            if self.nodes.len() >= MAX_NODES {
                self.dropped += 1;
                return None;
            }
            self.nodes.insert(
                pid,
                Node {
                    pid,
                    ..Node::default()
                },
            );
        }
        self.nodes.get_mut(&pid)
    }

    /// Notes who made the call `r` (pid, parent, name).
    pub fn note(&mut self, r: &Record) {
        let Some(pid) = r.pid else { return };
        // A killed child's record names the child; its comm is unknown.
        if let Some(n) = self.node(pid) {
            if n.ppid.is_none() && !n.forked {
                n.ppid = r.ppid;
            }
            if n.comm.is_none() {
                n.comm = r.comm.as_deref().map(str::to_string);
            }
        }
    }

    /// Adds the event `e`.
    pub fn add(&mut self, e: &ProcessEvent) {
        let Some(pid) = e.pid else { return };
        match e.process_event {
            EventKind::Fork if e.thread == Some(true) => {
                if let Some(n) = self.node(pid) {
                    n.threads = n.threads.saturating_add(1);
                }
            }
            EventKind::Fork => {
                let Some(child) = e.child else { return };
                self.created += 1;
                if let Some(n) = self.node(child) {
                    n.ppid = Some(pid);
                    n.forked = true;
                    n.created_by = Some(e.call.clone());
                }
            }
            EventKind::Exec => {
                if let Some(n) = self.node(pid) {
                    if n.execs.len() < MAX_EXECS {
                        let what = match (&e.argv, &e.path) {
                            (Some(a), _) if !a.is_empty() => a.join(" "),
                            (_, Some(p)) => p.clone(),
                            _ => "?".into(),
                        };
                        n.execs.push(what);
                    }
                }
            }
            EventKind::Exit => {
                if let Some(n) = self.node(pid) {
                    n.end = Some(e.text.clone());
                }
            }
        }
    }

    /// Processes known.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no process is known.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Processes created during the run (forks that were no threads).
    pub fn created(&self) -> u64 {
        self.created
    }

    /// The processes, by pid.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values()
    }

    /// The roots (processes whose parent is not in the tree), each
    /// followed by its descendants depth first: (depth, node, last
    /// child of its parent, for each ancestor level whether it was the
    /// last).
    fn walk(&self) -> Vec<(Vec<bool>, &Node)> {
        let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        let mut roots = Vec::new();
        for n in self.nodes.values() {
            match n.ppid.filter(|p| *p != n.pid && self.nodes.contains_key(p)) {
                Some(p) => children.entry(p).or_default().push(n.pid),
                None => roots.push(n.pid),
            }
        }
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut seen = std::collections::HashSet::new();
        // (pid, the "last" flags of its ancestors and itself)
        let mut stack: Vec<(u32, Vec<bool>)> = Vec::new();
        let nroots = roots.len();
        for (i, r) in roots.into_iter().enumerate().rev() {
            stack.push((r, vec![i + 1 == nroots]));
        }
        while let Some((pid, lasts)) = stack.pop() {
            if !seen.insert(pid) {
                continue;
            }
            let Some(n) = self.nodes.get(&pid) else {
                continue;
            };
            if let Some(kids) = children.get(&pid) {
                let k = kids.len();
                for (i, c) in kids.iter().enumerate().rev() {
                    let mut l = lasts.clone();
                    if l.len() < MAX_DEPTH {
                        l.push(i + 1 == k);
                    }
                    stack.push((*c, l));
                }
            }
            out.push((lasts, n));
        }
        // Parent links that loop (a reused pid) leave nodes unreached.
        for n in self.nodes.values() {
            if !seen.contains(&n.pid) {
                out.push((vec![true], n));
            }
        }
        out
    }

    /// The tree as text, pstree style (ASCII), one process a line:
    /// `88 workload (clone): /bin/workload child; exited with 7`.
    pub fn render(&self) -> String {
        let mut s = String::from("process tree:\n");
        for (lasts, n) in self.walk() {
            // The root level draws nothing; each level below a branch.
            for &last in lasts.iter().skip(1).take(lasts.len().saturating_sub(2)) {
                s.push_str(if last { "   " } else { "|  " });
            }
            if lasts.len() > 1 {
                s.push_str(if lasts[lasts.len() - 1] { "`- " } else { "|- " });
            }
            let _ = write!(s, "{}", n.pid);
            if let Some(c) = &n.comm {
                let _ = write!(s, " {c}");
            }
            if let Some(how) = &n.created_by {
                let _ = write!(s, " ({how})");
            } else if let (Some(p), 1) = (n.ppid, lasts.len()) {
                let _ = write!(s, " (parent {p})");
            }
            for (i, e) in n.execs.iter().enumerate() {
                s.push_str(if i == 0 { ": exec " } else { ", exec " });
                s.push_str(e);
            }
            if n.threads > 0 {
                let _ = write!(s, "; {} thread{}", n.threads, plural(n.threads));
            }
            if let Some(end) = &n.end {
                let _ = write!(s, "; {end}");
            }
            s.push('\n');
        }
        if self.dropped > 0 {
            let _ = writeln!(s, "({} more processes not shown)", self.dropped);
        }
        s
    }

    /// The tree as one JSON line: `{"process_tree": [node, ...]}`, in
    /// the text's order.
    pub fn to_json(&self) -> String {
        let nodes: Vec<&Node> = self.walk().into_iter().map(|(_, n)| n).collect();
        serde_json::json!({ "process_tree": nodes }).to_string()
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::ArgValue;

    fn rec(pid: u32, name: &str, state: CallState, ret: Option<i64>, args: &[&str]) -> Record {
        let mut r: Record = serde_json::from_str(&format!(
            r#"{{"seq":0,"vcpu":0,"ts_enter_ns":1000,"ts_exit_ns":3500,"pid":{pid},"tid":{pid},"cr3":0,"os":"linux","abi":"x86_64","mechanism":"syscall","nr":56,"name":"{name}","args":[],"state":"complete"}}"#
        ))
        .unwrap();
        r.state = state;
        r.ret = ret;
        r.ppid = Some(1);
        r.comm = Some("sh".into());
        r.args = args
            .iter()
            .map(|a| ArgValue {
                name: Default::default(),
                raw: 0,
                text: Some(a.to_string()),
                value: None,
            })
            .collect();
        r
    }

    #[test]
    fn unquotes_what_the_decoders_print() {
        assert_eq!(unquote(r#""a\nb\"c\\""#).unwrap().0, "a\nb\"c\\");
        assert_eq!(unquote(r#""\33[0m\0""#).unwrap().0, "\x1b[0m\0");
        assert_eq!(unquote(r#""\x41B"..., x"#).unwrap(), ("AB".into(), ", x"));
        assert_eq!(unquote("NULL"), None);
        assert_eq!(unquote(r#""open"#), None);
        assert_eq!(
            parse_argv(r#"["/bin/ls", "-l", "a b"]"#).unwrap(),
            ["/bin/ls", "-l", "a b"]
        );
        assert_eq!(parse_argv(r#"["x"...,  ...]"#).unwrap(), ["x"]);
        assert_eq!(parse_argv("[]").unwrap(), Vec::<String>::new());
        assert_eq!(parse_argv("0x1000"), None);
    }

    #[test]
    fn events_and_tree_from_records() {
        let clone = rec(
            10,
            "clone",
            CallState::Complete,
            Some(11),
            &["CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD", "0"],
        );
        let thread = rec(
            11,
            "clone3",
            CallState::Complete,
            Some(13),
            &[
                "{flags=CLONE_VM|CLONE_THREAD|CLONE_SIGHAND, exit_signal=0}",
                "88",
            ],
        );
        let vfork = rec(10, "vfork", CallState::Complete, Some(12), &[]);
        let exec = rec(
            12,
            "execve",
            CallState::Complete,
            Some(0),
            &[r#""/bin/true""#, r#"["true", "x"]"#, "0x7ff /* 1 var */"],
        );
        let failed = rec(10, "execve", CallState::Complete, Some(-2), &[r#""/x""#]);
        let mut exit = rec(12, "exit_group", CallState::Exited, Some(3), &[]);
        exit.args.clear();
        let mut killed = rec(11, "wait4", CallState::Exited, None, &[]);
        killed.ret_text = Some("killed by SIGSEGV (core dumped)".into());
        let mut t = ProcessTree::default();
        let mut texts = Vec::new();
        for r in [&clone, &thread, &vfork, &exec, &failed, &exit, &killed] {
            t.note(r);
            if let Some(e) = ProcessEvent::of(r) {
                t.add(&e);
                let mut s = String::new();
                e.to_text(false, &mut s);
                texts.push(s);
            }
        }
        assert_eq!(
            texts,
            [
                "[pid    10] +++ forked child 11 by clone(CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD) +++",
                "[pid    11] +++ new thread 13 by clone3(CLONE_VM|CLONE_THREAD|CLONE_SIGHAND) +++",
                "[pid    10] +++ forked child 12 by vfork() +++",
                "[pid    12] +++ exec \"/bin/true\" [\"true\", \"x\"] +++",
                "[pid    12] +++ exited with 3 +++",
                "[pid    11] +++ killed by SIGSEGV (core dumped) +++",
            ]
        );
        let e = ProcessEvent::of(&killed).unwrap();
        assert_eq!(e.signal.as_deref(), Some("SIGSEGV"));
        assert_eq!(e.core_dumped, Some(true));
        let e = ProcessEvent::of(&exec).unwrap();
        assert_eq!(e.path.as_deref(), Some("/bin/true"));
        assert_eq!(e.argv.as_deref(), Some(&["true".into(), "x".into()][..]));
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(j["process_event"], "exec");
        assert!(j.get("text").is_none() && j.get("child").is_none());
        assert_eq!(t.created(), 2);
        assert_eq!(
            t.render(),
            "process tree:\n\
             10 sh (parent 1)\n\
             |- 11 sh (clone); 1 thread; killed by SIGSEGV (core dumped)\n\
             `- 12 sh (vfork): exec true x; exited with 3\n"
        );
        let j: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        assert_eq!(j["process_tree"][2]["ppid"], 10);
        assert_eq!(j["process_tree"][2]["created_by"], "vfork");
    }

    /// What a sink writes for a fork, an exit and nothing else, with
    /// `opts`, in `format`, as a `-c` table or not.
    fn sink_output(
        opts: crate::output::OutputOptions,
        format: crate::Format,
        summary: bool,
    ) -> String {
        let p = std::env::temp_dir().join(format!(
            "vstrace-procs-{}-{format:?}-{summary}-{}-{}",
            std::process::id(),
            opts.process_events,
            opts.quiet
        ));
        let p = p.display().to_string();
        let mut s = crate::Sink::open_with(Some(&p), format, summary, opts, None, None).unwrap();
        s.write(rec(
            10,
            "clone",
            CallState::Complete,
            Some(11),
            &["SIGCHLD"],
        ));
        s.write(rec(11, "exit_group", CallState::Exited, Some(4), &[]));
        s.finish();
        drop(s);
        let out = std::fs::read_to_string(&p).unwrap();
        let _ = std::fs::remove_file(&p);
        out
    }

    #[test]
    fn sinks_print_events_and_the_tree_only_when_asked() {
        use crate::output::OutputOptions;
        use crate::Format;
        let plain = sink_output(OutputOptions::default(), Format::Text, false);
        assert_eq!(plain.lines().count(), 2, "{plain}");
        let ev = OutputOptions {
            process_events: true,
            ..Default::default()
        };
        let text = sink_output(ev.clone(), Format::Text, false);
        assert_eq!(
            text.lines().nth(1),
            Some("[pid    10] +++ forked child 11 by clone(SIGCHLD) +++")
        );
        assert_eq!(text.lines().count(), 3, "{text}");
        let json = sink_output(ev.clone(), Format::Json, false);
        let kinds: Vec<String> = json
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v.get("process_event")
                    .map_or(format!("call {}", v["seq"]), |k| {
                        format!("{k} {}", v["seq"])
                    })
            })
            .collect();
        // The exit line is text only; in JSON its event stands for it.
        assert_eq!(kinds, ["call 0", "\"fork\" 1", "\"exit\" 2"]);
        let quiet = OutputOptions {
            quiet: crate::output::quiet::EXIT,
            ..ev
        };
        assert_eq!(sink_output(quiet, Format::Json, false).lines().count(), 2);
        // -c: the table, then the tree (a process was created); no events.
        let c = sink_output(OutputOptions::default(), Format::Text, true);
        assert!(
            c.contains("total\n")
                && c.ends_with(
                    "process tree:\n10 sh (parent 1)\n`- 11 sh (clone); exited with 4\n"
                ),
            "{c}"
        );
    }

    #[test]
    fn windows_terminate_and_loops() {
        let mut r = rec(
            0x1f4,
            "NtTerminateProcess",
            CallState::NoReturn,
            None,
            &["", ""],
        );
        r.abi = "nt64".into();
        r.args[0].raw = u64::MAX;
        r.args[1].raw = 0xc000_0005;
        let e = ProcessEvent::of(&r).unwrap();
        assert_eq!(
            (e.process_event, e.status),
            (EventKind::Exit, Some(0xc000_0005))
        );
        r.args[0].raw = 0x1a4;
        assert!(ProcessEvent::of(&r).is_none());
        // Two processes naming each other as parent: both still drawn.
        let mut t = ProcessTree::default();
        let mut a = rec(5, "x", CallState::Complete, Some(0), &[]);
        a.ppid = Some(6);
        let mut b = rec(6, "x", CallState::Complete, Some(0), &[]);
        b.ppid = Some(5);
        t.note(&a);
        t.note(&b);
        assert_eq!(t.render().lines().count(), 3);
    }
}
