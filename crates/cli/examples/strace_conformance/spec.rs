//! What each strace test asks for, read from strace's own test suite:
//! `tests/gen_tests.in` (one line per generated test: name, then either
//! strace options for `run_strace_match_diff`, options starting with
//! `-einject=` for `scno_tampering.sh`, `+script args` sourcing a shared
//! test script, or a shell command) and the shared scripts it names.
//!
//! Shared scripts are modelled here by what they do to strace's options and
//! to strace's log before the comparison (their `grep -v`/`sed` lines); a
//! script that is not modelled makes its tests "skipped" with that reason,
//! never passed. Hand-written `*.test` files (not generated) are listed as
//! skipped too, so the totals cover the whole suite.

use std::collections::BTreeSet;
use std::path::Path;

/// How strace's log is cut before it is compared, as the test script does.
#[derive(Debug, Clone, PartialEq)]
pub enum LogFilter {
    /// `sed -n '/MARK/,$p'`: from the first line containing the mark.
    StartAt(String),
    /// `sed '0,/^PREFIX...SUFFIX/d'`: drop everything up to and including
    /// the first line that starts with the prefix and contains the rest.
    DropThrough { prefix: String, contains: String },
    /// `grep -v '^ioctl([012][,<]'`: drop the ioctls on fds 0-2 (libc's).
    DropStdioIoctls,
    /// `uniq`: repeated adjacent lines once.
    Uniq,
}

/// One test of the suite, as far as the comparer understands it.
#[derive(Debug, Clone)]
pub struct Test {
    /// The test's name (`NAME.gen.test` or `NAME.test`).
    pub name: String,
    /// The program run (`../PROG` from `NAME.dir`).
    pub prog: String,
    /// Program arguments (`QUIRK:PROG-ARGS:`).
    pub prog_args: Vec<String>,
    /// Redirections the test applies to the program (`9>>/dev/full`).
    pub redirections: Vec<String>,
    /// strace's options, as the test passes them.
    pub options: Vec<String>,
    /// Cuts applied to strace's log before the comparison.
    pub filters: Vec<LogFilter>,
    /// Why the test cannot be run by this comparer (not modelled), if so.
    pub skip: Option<String>,
}

/// Splits a shell word list the way `sh` does for the generated test
/// (single and double quotes, backslashes; no expansion).
pub fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    cur.push(d);
                }
            }
            '"' => {
                in_word = true;
                while let Some(d) = chars.next() {
                    match d {
                        '"' => break,
                        '\\' => {
                            if let Some(&e) = chars.peek() {
                                if matches!(e, '"' | '\\' | '$' | '`') {
                                    cur.push(e);
                                    chars.next();
                                    continue;
                                }
                            }
                            cur.push('\\');
                        }
                        _ => cur.push(d),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(d) = chars.next() {
                    cur.push(d);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// True if `w` is a shell redirection like `9>>/dev/full` or `3<file`.
fn is_redirection(w: &str) -> bool {
    let digits = w.chars().take_while(|c| c.is_ascii_digit()).count();
    matches!(w[digits..].chars().next(), Some('>' | '<'))
}

/// True if the options already select syscalls (`run_strace_match_diff`
/// adds `-e trace=NAME` only when they do not).
fn has_trace(opts: &[String]) -> bool {
    let joined = opts.join(" ");
    joined.contains("-e trace=") || joined.contains("-etrace=") || joined.contains("--trace=")
}

/// The test for `run_strace_match_diff ARGS` (and the QUIRK arguments).
fn match_diff_test(name: &str, args: Vec<String>, add_trace: bool) -> Test {
    let mut t = Test {
        name: name.to_string(),
        prog: name.to_string(),
        prog_args: Vec::new(),
        redirections: Vec::new(),
        options: Vec::new(),
        filters: Vec::new(),
        skip: None,
    };
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        if a.ends_with(';') {
            t.skip = Some("shell commands in the test's line not modelled".into());
        }
        if let Some(s) = a.strip_prefix("QUIRK:START-OF-TEST-OUTPUT:") {
            t.filters.push(LogFilter::StartAt(s.to_string()));
        } else if a.starts_with("QUIRK:START-OF-TEST-OUTPUT-REGEX:") {
            t.skip = Some("QUIRK:START-OF-TEST-OUTPUT-REGEX (a regex cut) not modelled".into());
        } else if let Some(s) = a.strip_prefix("QUIRK:PROG-ARGS:") {
            t.prog_args.extend(shell_words(s));
        } else if is_redirection(&a) {
            // `< /dev/null`: the operator and its target as one.
            let op_only = a.trim_start_matches(|c: char| c.is_ascii_digit());
            if matches!(op_only, "<" | ">" | ">>") {
                t.redirections
                    .push(format!("{a}{}", args.next().unwrap_or_default()));
            } else {
                t.redirections.push(a);
            }
        } else {
            t.options.push(a);
        }
    }
    if add_trace && !has_trace(&t.options) {
        t.options.insert(0, format!("-e trace={name}"));
    }
    t
}

/// The test of a `+script args` line, modelled from the script's text.
fn script_test(name: &str, script: &str, args: Vec<String>) -> Test {
    let mut t = match_diff_test(name, Vec::new(), false);
    let mut opts: Vec<String> = Vec::new();
    let mut filters = Vec::new();
    match script {
        "ioctl.test" => {
            opts.extend(["-a16".into(), "-eioctl".into()]);
            filters.push(LogFilter::DropStdioIoctls);
        }
        "prctl.sh" | "arch_prctl.sh" => {
            let (call, tail) = if script == "prctl.sh" {
                ("prctl", "0xfffffffe, 0xfffffffd, 0xfffffffc, 0xfffffffb)")
            } else {
                ("arch_prctl", "0xfffffffe)")
            };
            opts.push(format!("-e{call}"));
            filters.push(LogFilter::DropThrough {
                prefix: format!("{call}(0xffffffff"),
                contains: format!("{tail} = -1 "),
            });
        }
        "faccessat.test" | "faccessat2.test" => {
            let call = script.trim_end_matches(".test");
            let align = if call == "faccessat" { "-a23" } else { "-a27" };
            opts.extend([align.to_string(), format!("--trace={call}")]);
            filters.push(LogFilter::StartAt(format!("{call}(-1, NULL,")));
        }
        "getuid.test" => {
            let syscall = match name.strip_suffix("-creds") {
                Some(base) => {
                    t.prog = base.to_string();
                    "%creds".to_string()
                }
                None => name.to_string(),
            };
            opts.extend(["-qq".into(), "-a9".into(), format!("-e{syscall}")]);
            filters.push(LogFilter::Uniq);
        }
        "netlink_sock_diag.test" => {
            opts.push("-e trace=sendto".into());
        }
        "fadvise64.test" => {
            opts.push("-e trace=fadvise64".into());
        }
        other => {
            t.skip = Some(format!("test script {other} not modelled by the comparer"));
        }
    }
    if args.iter().any(|a| a.ends_with(';')) {
        t.skip = Some("shell commands in the test's line not modelled".into());
    }
    // The script's own options come first, then "$@" from the .in line.
    opts.extend(args);
    t.options = opts;
    t.filters = filters;
    t
}

/// Reads `tests/gen_tests.in` and lists the hand-written `*.test` files, so
/// that every test of the suite is accounted for.
pub fn load(src: &Path) -> std::io::Result<Vec<Test>> {
    let tests = src.join("tests");
    let text = std::fs::read_to_string(tests.join("gen_tests.in"))?;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.split_once(char::is_whitespace) {
            Some((n, r)) => (n, r.trim()),
            None => (line, ""),
        };
        seen.insert(name.to_string());
        let words = shell_words(rest);
        let t = match words.first().map(String::as_str) {
            None => match_diff_test(name, Vec::new(), true),
            Some(w) if w.starts_with('+') => script_test(name, &w[1..], words[1..].to_vec()),
            Some(w) if w.starts_with("-einject=") || w.starts_with("--inject=") => {
                // scno_tampering.sh: run_strace ARGS ../NAME, no trace= added.
                match_diff_test(name, words, false)
            }
            Some(w) if w.starts_with('-') => match_diff_test(name, words, true),
            Some(_) => {
                let mut t = match_diff_test(name, Vec::new(), false);
                t.skip = Some(format!(
                    "custom test command not modelled: {}",
                    rest.chars().take(60).collect::<String>()
                ));
                t
            }
        };
        out.push(t);
    }
    // Hand-written tests: NAME.test that gen_tests.in does not generate.
    let mut hand = Vec::new();
    for e in std::fs::read_dir(&tests)? {
        let e = e?;
        let f = e.file_name().to_string_lossy().into_owned();
        if let Some(n) = f.strip_suffix(".test") {
            if !n.ends_with(".gen") && !seen.contains(n) && !is_shared_script(n) {
                hand.push(n.to_string());
            }
        }
    }
    hand.sort();
    for n in hand {
        let mut t = match_diff_test(&n, Vec::new(), false);
        t.skip = Some("hand-written test script not modelled by the comparer".into());
        out.push(t);
    }
    Ok(out)
}

/// The `.test` files that are only sourced by generated tests (`+X.test`).
fn is_shared_script(n: &str) -> bool {
    matches!(
        n,
        "ioctl"
            | "netlink_sock_diag"
            | "getuid"
            | "faccessat"
            | "faccessat2"
            | "mmap"
            | "ioctl_evdev-success"
            | "net-yy-netlink"
            | "net-yy-inet"
            | "execve"
            | "personality"
            | "ipc_msgbuf"
            | "umovestr_cached"
            | "fadvise64"
    )
}

/// Maps test names to families by the longest matching prefix of
/// `scripts/strace-conformance-families.txt`.
pub struct Families(Vec<(String, String)>);

impl Families {
    /// Reads the `PREFIX FAMILY` lines (`#` comments).
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let mut v: Vec<(String, String)> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some((w.next()?.to_string(), w.next()?.to_string()))
            })
            .collect();
        v.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        Ok(Families(v))
    }

    /// The family of a test, "other" if no prefix matches.
    pub fn of(&self, test: &str) -> &str {
        self.0
            .iter()
            .find(|(p, _)| test.starts_with(p.as_str()))
            .map(|(_, f)| f.as_str())
            .unwrap_or("other")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_quirks() {
        let w = shell_words(r#"-a20 "QUIRK:PROG-ARGS:256 42" -e 'trace=a b' x\ y"#);
        assert_eq!(
            w,
            ["-a20", "QUIRK:PROG-ARGS:256 42", "-e", "trace=a b", "x y"]
        );
        let t = match_diff_test("foo", w.clone(), true);
        assert_eq!(t.prog_args, ["256", "42"]);
        assert_eq!(t.options, ["-a20", "-e", "trace=a b", "x y"]);
        let t = match_diff_test("foo", w[..2].to_vec(), true);
        assert_eq!(t.options, ["-e trace=foo", "-a20"]);
        let t = match_diff_test("s", shell_words("-e trace=s 9>>/dev/full"), true);
        assert_eq!(t.options, ["-e", "trace=s"]);
        assert_eq!(t.redirections, ["9>>/dev/full"]);
        let t = match_diff_test("s", shell_words("-a1 < /dev/null"), true);
        assert_eq!(t.redirections, ["</dev/null"]);
        assert!(match_diff_test("s", shell_words("-y; exec"), true)
            .skip
            .is_some());
    }
}
