//! The comparison of vstrace's trace with the lines a test program printed,
//! after the test script's own cuts of the log ([`apply_filters`]).
//!
//! Normalisations, the only ones (documented in the report too):
//! - whitespace runs become one space and lines are trimmed (strace pads
//!   to the `-a` column before ` = `; the comparison ignores alignment);
//! - vstrace's `[pid N] ` prefix is removed, or for tests run with `-f`
//!   becomes `N ` (strace -f -o prints the pid first);
//! - `\r` from the guest's console is dropped, empty lines are ignored.
//!
//! `+++ exited with N +++` / `+++ killed by SIG +++` and `--- SIG... ---`
//! lines are expected output like any other: they count in the exact
//! comparison and in the fraction of lines matched. A second verdict,
//! "calls", compares with those lines removed on both sides, so that the
//! decoding of calls can be measured apart from exit and signal reporting.

/// The verdict of one comparison.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The expected lines equal the trace's (after normalisation).
    pub exact: bool,
    /// Equal once `+++ ... +++` and `--- ... ---` lines are left out.
    pub calls: bool,
    /// Expected lines (normalised, non-empty).
    pub expected: usize,
    /// Expected lines found, in order, in the trace (longest common
    /// subsequence).
    pub matched: usize,
    /// A unified-style listing: ` ` common, `-` expected only, `+` vstrace
    /// only.
    pub diff: String,
}

/// init.sh's `match_awk`: `gawk -f PROGRAM` (with `AWKPATH` its
/// directory, for `@include "match.awk"`) reads the log's lines as strace
/// writes them (`lines`: vstrace's prefix made strace's, whitespace
/// kept); its exit status is the verdict, its output the diff. Without
/// gawk on the host the step is skipped (as init.sh's `check_gawk`
/// skips the test): the error is that reason.
pub fn awk(program: &std::path::Path, lines: &[String]) -> Result<Outcome, String> {
    let dir = program.parent().unwrap_or(std::path::Path::new("."));
    let mut gawk = std::process::Command::new("gawk");
    gawk.env("AWKPATH", dir).arg("-f").arg(program);
    let child =
        gawk_over(gawk, lines).map_err(|e| format!("match_awk needs gawk on the host: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("gawk -f {}: {e}", program.display()))?;
    let exact = out.status.success();
    let mut diff = String::new();
    if !exact {
        diff = format!(
            "# gawk -f {} exited with {:?}:\n{}{}# the log:\n",
            program.display(),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for l in lines {
            diff.push_str(&format!("+{l}\n"));
        }
    }
    Ok(Outcome {
        exact,
        calls: exact,
        expected: 1,
        matched: usize::from(exact),
        diff,
    })
}

/// The test script's cuts of the log (`own`: the step's raw lines,
/// `actual`: them normalised): the raw lines with their whitespace (for
/// grep patterns that match strace's padding) and the normalised lines,
/// both cut. An awk program reads strace's lines as written (its
/// patterns tell the stack frames' ` > ` from the calls): with one, the
/// normalised lines are those it printed.
pub fn cut(
    own: &[&str],
    keep_pid: bool,
    actual: Vec<String>,
    filters: &[crate::spec::LogFilter],
) -> (Vec<String>, Vec<String>) {
    let raw: Vec<String> = own
        .iter()
        .map(|l| unprefixed(l, keep_pid))
        .filter(|l| !l.trim().is_empty())
        .collect();
    let raw = apply_filters(raw, filters);
    let actual = match filters
        .iter()
        .any(|f| matches!(f, crate::spec::LogFilter::Awk(_)))
    {
        true => raw
            .iter()
            .map(|l| normalize(l, false))
            .filter(|l| !l.is_empty())
            .collect(),
        false => apply_filters(actual, filters),
    };
    (raw, actual)
}

/// `awk 'PROGRAM'` over `lines`: what the host's gawk prints (the
/// suite's awk programs use gawk's `gensub`). Without gawk, or when the
/// program fails, nothing: the cut log is empty and the step's matcher
/// fails with the log in its diff.
pub fn awk_filter(program: &str, lines: &[String]) -> Vec<String> {
    let mut gawk = std::process::Command::new("gawk");
    gawk.arg("--").arg(program);
    let Ok(child) = gawk_over(gawk, lines) else {
        return Vec::new();
    };
    match child.wait_with_output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// `gawk` (the command, its arguments and environment set) started with
/// its output piped and `lines` written to its input, one per line.
fn gawk_over(
    mut gawk: std::process::Command,
    lines: &[String],
) -> std::io::Result<std::process::Child> {
    use std::io::Write;
    let mut child = gawk
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    // A program that stops reading early closes the pipe: not an error.
    let _ = child
        .stdin
        .take()
        .map(|mut i| i.write_all(input.as_bytes()));
    Ok(child)
}

/// `grep -E -x -f FILE` as a check: some line (`lines`) matches some
/// pattern of FILE whole. One expected item, matched or not.
pub fn any_line(patterns: &[&str], lines: &[String]) -> Outcome {
    let res: Vec<regex::Regex> = patterns
        .iter()
        .filter_map(|p| regex::Regex::new(&format!("^(?:{p})$")).ok())
        .collect();
    let exact = !res.is_empty() && lines.iter().any(|l| res.iter().any(|re| re.is_match(l)));
    let mut diff = String::new();
    if !exact {
        diff.push_str("# no line matches any of the patterns:\n");
        for p in patterns {
            diff.push_str(&format!("-{p}\n"));
        }
        diff.push_str("# the cut log:\n");
        for l in lines {
            diff.push_str(&format!("+{l}\n"));
        }
    }
    Outcome {
        exact,
        calls: exact,
        expected: 1,
        matched: usize::from(exact),
        diff,
    }
}

/// One line normalised as documented above.
pub fn normalize(line: &str, follow: bool) -> String {
    let (pid, l) = split_pid(line);
    let mut out = match pid {
        Some(pid) if follow => format!("{pid} "),
        _ => String::new(),
    };
    for (i, w) in l.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// `line` with only vstrace's `[pid N] ` prefix removed (as
/// [`normalize`] does) and its own whitespace kept: what a `grep`
/// pattern of strace's sees (`[ ]{5}0\.0{6} execve`: `-r`'s padding).
pub fn unprefixed(line: &str, follow: bool) -> String {
    match split_pid(line) {
        (Some(pid), tail) => {
            let tail = tail.strip_prefix(' ').unwrap_or(tail);
            if follow {
                format!("{pid} {tail}")
            } else {
                tail.to_string()
            }
        }
        (None, l) => l.to_string(),
    }
}

/// Whether a line is one of strace's `-e read=`/`-e write=` dumps (` *
/// 3 bytes in buffer 0`, ` | 00000  30 31 ...  01 |`), which carry no
/// pid.
pub fn is_dump_line(line: &str) -> bool {
    let t = line.trim_start();
    (t.starts_with("* ") && t.contains(" bytes in buffer "))
        || t.starts_with("| ")
        || is_frame_line(line)
}

/// Whether a line is one of `-k`'s stack frames (` > /path(sym+0x..)
/// [0x...]`), which belong to the call line before them and carry no
/// pid.
pub fn is_frame_line(line: &str) -> bool {
    line.starts_with(" > ")
}

/// `line` without its `\r`, split into the pid of vstrace's `[pid N]`
/// prefix (when it has one) and the rest after the `]`.
fn split_pid(line: &str) -> (Option<&str>, &str) {
    let l = line.trim_end_matches('\r');
    match l.strip_prefix("[pid ").and_then(|r| r.split_once(']')) {
        Some((pid, tail)) => (Some(pid.trim()), tail),
        None => (None, l),
    }
}

/// Exit and signal lines (`+++ ... +++`, `--- ... ---`), with or without a
/// pid in front.
pub fn is_exit_or_signal(l: &str) -> bool {
    let body = match l.split_once(' ') {
        Some((p, rest)) if p.chars().all(|c| c.is_ascii_digit()) => rest,
        _ => l,
    };
    (body.starts_with("+++ ") && body.ends_with(" +++"))
        || (body.starts_with("--- ") && body.ends_with(" ---"))
}

/// Most cells of the LCS table; beyond it lines are matched greedily
/// (bounds memory on hostile or runaway output).
const MAX_CELLS: usize = 16_000_000;

/// Pairs of (expected index, actual index) in a longest common subsequence.
fn lcs(a: &[String], b: &[String]) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > MAX_CELLS {
        let mut pairs = Vec::new();
        let mut j = 0;
        for (i, x) in a.iter().enumerate() {
            if let Some(k) = b[j..].iter().position(|y| y == x) {
                pairs.push((i, j + k));
                j += k + 1;
            }
        }
        return pairs;
    }
    let w = m + 1;
    let mut t = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i * w + j] = if a[i] == b[j] {
                t[(i + 1) * w + j + 1] + 1
            } else {
                t[(i + 1) * w + j].max(t[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j, mut pairs) = (0, 0, Vec::new());
    while i < n && j < m {
        if a[i] == b[j] {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if t[(i + 1) * w + j] >= t[i * w + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

/// Compares normalised expected lines with normalised trace lines.
pub fn compare(expected: &[String], actual: &[String]) -> Outcome {
    let pairs = lcs(expected, actual);
    let mut diff = String::new();
    let (mut i, mut j) = (0, 0);
    for &(pi, pj) in pairs
        .iter()
        .chain(std::iter::once(&(expected.len(), actual.len())))
    {
        while i < pi {
            diff.push_str(&format!("-{}\n", expected[i]));
            i += 1;
        }
        while j < pj {
            diff.push_str(&format!("+{}\n", actual[j]));
            j += 1;
        }
        if pi < expected.len() {
            diff.push_str(&format!(" {}\n", expected[pi]));
            i += 1;
            j += 1;
        }
    }
    let calls = |v: &[String]| -> Vec<String> {
        v.iter()
            .filter(|l| !is_exit_or_signal(l))
            .cloned()
            .collect()
    };
    Outcome {
        exact: expected == actual,
        calls: calls(expected) == calls(actual),
        expected: expected.len(),
        matched: pairs.len(),
        diff,
    }
}

/// `sort -c [-n] [-r]` (C locale): whether the lines are in order, each
/// pair no further apart than equal. `numeric`: by the number the line
/// starts with (after blanks; none: 0), as `sort -n` reads it.
pub fn sorted(lines: &[String], numeric: bool, reverse: bool) -> Outcome {
    let key = |l: &str| -> f64 {
        let t = l.trim_start();
        let end = t
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && c == '-')))
            .map_or(t.len(), |(i, _)| i);
        t[..end].parse().unwrap_or(0.0)
    };
    let order = |a: &str, b: &str| {
        let o = if numeric {
            key(a).total_cmp(&key(b))
        } else {
            a.as_bytes().cmp(b.as_bytes())
        };
        if reverse {
            o.reverse()
        } else {
            o
        }
    };
    let bad = lines
        .windows(2)
        .position(|w| order(&w[0], &w[1]) == std::cmp::Ordering::Greater);
    let mut diff = String::new();
    if let Some(i) = bad {
        diff = format!(
            "# sort -c{}{}: out of order at line {}\n",
            if numeric { " -n" } else { "" },
            if reverse { " -r" } else { "" },
            i + 2
        );
        for l in lines {
            diff.push_str(&format!("+{l}\n"));
        }
    }
    Outcome {
        exact: bad.is_none(),
        calls: bad.is_none(),
        expected: lines.len(),
        matched: if bad.is_none() { lines.len() } else { 0 },
        diff,
    }
}

/// `match_grep`: every pattern (an extended regular expression, `!RE`
/// negated) must match a whole trace line (none, negated). A pattern
/// Rust's regex engine does not take is compared as a literal line.
pub fn grep(patterns: &[&str], actual: &[String], raw: &[String]) -> Outcome {
    let mut diff = String::new();
    let (mut matched, mut calls) = (0, true);
    for p in patterns {
        let (neg, body) = match p.strip_prefix('!') {
            Some(b) => (true, b),
            None => (false, *p),
        };
        let found = match regex::Regex::new(&format!("^(?:{body})$")) {
            Ok(re) => {
                actual
                    .iter()
                    .any(|l| re.is_match(l) || re.is_match(&normalize(l, false)))
                    || raw.iter().any(|l| re.is_match(l))
            }
            Err(_) => actual.iter().any(|l| l == &normalize(body, false)),
        };
        if found != neg {
            matched += 1;
            diff.push_str(&format!(" {p}\n"));
        } else {
            diff.push_str(&format!("-{p}\n"));
            if !is_exit_or_signal(body) {
                calls = false;
            }
        }
    }
    if matched < patterns.len() {
        diff.push_str("# the trace:\n");
        for l in actual {
            diff.push_str(&format!("+{l}\n"));
        }
    }
    Outcome {
        exact: matched == patterns.len(),
        calls,
        expected: patterns.len(),
        matched,
        diff,
    }
}

/// The test script's cuts of strace's log, applied to vstrace's trace.
pub fn apply_filters(mut v: Vec<String>, filters: &[crate::spec::LogFilter]) -> Vec<String> {
    use crate::spec::LogFilter as F;
    for f in filters {
        v = match f {
            F::StartAt(re) => match v.iter().position(|l| re.is_match(l)) {
                Some(i) => v.split_off(i),
                None => Vec::new(),
            },
            F::DropThrough(re) => match v.iter().position(|l| re.is_match(l)) {
                Some(i) => v.split_off(i + 1),
                None => Vec::new(),
            },
            F::DropLine(n) => {
                if *n >= 1 && *n <= v.len() {
                    v.remove(n - 1);
                }
                v
            }
            F::DropMatching(re) => v.into_iter().filter(|l| !re.is_match(l)).collect(),
            F::KeepMatching(re) => v.into_iter().filter(|l| re.is_match(l)).collect(),
            F::KeepContaining(s) => v.into_iter().filter(|l| l.contains(s.as_str())).collect(),
            F::DropPidsOfLastLines(n) => {
                let pids: Vec<String> = v
                    .iter()
                    .rev()
                    .take(*n)
                    .map(|l| l.split(' ').next().unwrap_or("").to_string())
                    .collect();
                v.into_iter()
                    .filter(|l| {
                        !pids.iter().any(|p| {
                            l.strip_prefix(p.as_str())
                                .is_some_and(|r| r.starts_with(' '))
                        })
                    })
                    .collect()
            }
            F::DropMatchingPids(re) => {
                let mut re = re.clone();
                while let Some(at) = re.find(crate::script::PID_OF_LAST) {
                    let rest = &re[at + crate::script::PID_OF_LAST.len()..];
                    let Some((n, tail)) = rest.split_once('@') else {
                        break;
                    };
                    let n: usize = n.parse().unwrap_or(0);
                    let pid = v
                        .len()
                        .checked_sub(n)
                        .and_then(|i| v.get(i))
                        .and_then(|l| l.split(' ').next())
                        .unwrap_or("")
                        .to_string();
                    re = format!("{}{}{}", &re[..at], regex::escape(&pid), tail);
                }
                match regex::Regex::new(&re) {
                    Ok(re) => v.into_iter().filter(|l| !re.is_match(l)).collect(),
                    Err(_) => v,
                }
            }
            F::Awk(program) => awk_filter(program, &v),
            F::SedSubst { addr, re, repl } => v
                .into_iter()
                .filter(|l| addr.as_ref().is_none_or(|a| a.is_match(l)) && re.is_match(l))
                .map(|l| re.replace(&l, repl.as_str()).into_owned())
                .collect(),
            F::Ranges(start, end) => {
                let mut out = Vec::new();
                let mut inside = false;
                for l in v {
                    if inside {
                        inside = !end.is_match(&l);
                        out.push(l);
                    } else if start.is_match(&l) {
                        inside = true;
                        out.push(l);
                    }
                }
                out
            }
            F::Uniq => {
                let mut out: Vec<String> = Vec::new();
                for l in v {
                    if out.last() != Some(&l) {
                        out.push(l);
                    }
                }
                out
            }
            F::JoinResumed => join_resumed(v),
        };
    }
    v
}

/// strace-log-merge's view of a `-f` log: each call whole on one line at
/// its start (`PID [TIME] CALL(ARGS <unfinished ...>` joined with the
/// same pid's `<... CALL resumed>REST`), as `-ff` writes a process's own
/// file; the lines stay in the order of their starts (the merge sorts
/// the files' lines by time).
pub fn join_resumed(v: Vec<String>) -> Vec<String> {
    const UNFINISHED: &str = " <unfinished ...>";
    // pid -> index in `out` of its unfinished line.
    let mut open: std::collections::BTreeMap<String, usize> = Default::default();
    let mut out: Vec<String> = Vec::with_capacity(v.len());
    for l in v {
        let pid = l.split(' ').next().unwrap_or("").to_string();
        let rest = l[pid.len()..].trim_start();
        // The body after an optional timestamp (`12:00:00.123456`).
        let body = match rest.split_once(' ') {
            Some((t, b))
                if t.chars()
                    .all(|c| c.is_ascii_digit() || c == ':' || c == '.') =>
            {
                b
            }
            _ => rest,
        };
        if let Some(after) = body.strip_prefix("<... ") {
            if let (Some(i), Some((_, tail))) = (open.remove(&pid), after.split_once(" resumed>")) {
                let head = out[i]
                    .strip_suffix(UNFINISHED)
                    .unwrap_or(&out[i])
                    .to_string();
                out[i] = format!("{head}{tail}");
                continue;
            }
        }
        if l.ends_with(UNFINISHED) {
            open.insert(pid, out.len());
        }
        out.push(l);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn dump_lines() {
        assert!(is_dump_line(" * 3 bytes in buffer 0"));
        assert!(is_dump_line(" | 00000  30 31 32  012 |"));
        assert!(is_dump_line(" > /w/stack-fcall(f3+0x9c) [0x188c]"));
        let cut = awk_filter(
            "/^[^ ]/ { print $1 }",
            &["chdir(\"\") = -1".into(), " > /w/x(f+0x1) [0x1]".into()],
        );
        if !cut.is_empty() {
            // (gawk on the host)
            assert_eq!(cut, ["chdir(\"\")"]);
        }
        assert!(any_line(&["^c.* f3", "x"], &["y".into(), "chdir f3".into()]).exact);
        assert!(!any_line(&["^c.* f3"], &["chdir f2".into()]).exact);
        assert!(!is_dump_line(
            "[pid 1] write(1, \"* 3 bytes in buffer\", 3) = 3"
        ));
        assert!(!is_dump_line("writev(1, [], 0) = 0"));
    }

    #[test]
    fn sort_c() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(sorted(&l(&["45\t1", "9\t9", "9\t0", "0"]), true, true).exact);
        assert!(!sorted(&l(&["4", "9"]), true, true).exact);
        assert!(sorted(&l(&["read", "readv", "write"]), false, false).exact);
        assert!(!sorted(&l(&["write", "read"]), false, false).exact);
    }

    use super::*;

    #[test]
    fn normalises_and_compares() {
        assert_eq!(
            normalize("[pid   12] foo(1,  2)    = 0\r", false),
            "foo(1, 2) = 0"
        );
        assert_eq!(normalize("[pid   12] foo() = 0", true), "12 foo() = 0");
        assert!(is_exit_or_signal("+++ exited with 0 +++"));
        assert!(is_exit_or_signal("12 --- SIGUSR1 {si_signo=SIGUSR1} ---"));
        assert!(!is_exit_or_signal("write(1, \"+++ x +++\", 9) = 9"));
        let e: Vec<String> = ["a() = 0", "b() = 1", "+++ exited with 0 +++"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let a: Vec<String> = ["a() = 0", "b() = 2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o = compare(&e, &a);
        assert!(!o.exact && !o.calls);
        assert_eq!((o.expected, o.matched), (3, 1));
        assert_eq!(
            o.diff,
            " a() = 0\n-b() = 1\n-+++ exited with 0 +++\n+b() = 2\n"
        );
        let o = compare(&e, &e[..2]);
        assert!(!o.exact && o.calls);
    }
}
