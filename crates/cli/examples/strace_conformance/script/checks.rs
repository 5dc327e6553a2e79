//! The shell model's checks of strace's log written inline in a script
//! rather than with init.sh's `match_grep`: `grep [-x] [-E] RE "$LOG" >
//! /dev/null || fail` (the log must have such a line) and `grep RE
//! "$LOG" > /dev/null && fail` (it must have none), also through a
//! `grep -v`/`grep` pipeline (`grep -v -x P "$LOG" | grep RE && fail`:
//! no line but P's matches RE). Each becomes a step of its own, judged
//! as `match_grep` judges a pattern (`!RE`: matching no line). Also the
//! check of a traced run's exit status (`rc=$?; [ $rc -eq 42 ] || fail`):
//! the status the run's step wants.

use super::control::Op;
use super::{bre_text, rewrites_log, Shell, Skip};
use crate::spec::{LogFilter, Matcher, Want};

/// What the script does with the status of the command being run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum OnStatus {
    /// Nothing the model knows of.
    Nothing,
    /// `CMD || fail`: the test fails when CMD does.
    FailIfFalse,
    /// `CMD && fail`: the test fails when CMD succeeds.
    FailIfTrue,
}

/// The script's reaction to a command's status, from the and-or list's
/// next part (and whether a `|| { ... fail ... }` block follows the
/// list).
pub(super) fn on_status(next: Option<&(Op, String)>, fail_block: bool) -> OnStatus {
    let fails = |c: &str| {
        let c = c.trim();
        c.starts_with("fail_") || c.starts_with("dump_log_and_fail_with")
    };
    match next {
        Some((Op::Or, c)) if fails(c) => OnStatus::FailIfFalse,
        Some((Op::And, c)) if fails(c) => OnStatus::FailIfTrue,
        None if fail_block => OnStatus::FailIfFalse,
        _ => OnStatus::Nothing,
    }
}

impl Shell<'_> {
    /// `grep ... "$LOG" > /dev/null` whose status decides whether the
    /// test fails: a step matching the pending run's uncut log. Its
    /// status in the model is the passing one.
    pub(super) fn grep_check(&mut self, args: &[String]) -> Result<i32, Skip> {
        let fail_if_found = self.on_status == OnStatus::FailIfTrue;
        let what = || format!("grep {} as a check not modelled", args.join(" "));
        let mut p = self.pending.clone().ok_or_else(what)?;
        let words: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .filter(|w| *w != ">/dev/null")
            .collect();
        if !words.contains(&"@LOG") {
            return Err(what());
        }
        let stages: Vec<Vec<&str>> = words
            .split(|w| *w == "|")
            .map(|s| {
                // `LC_ALL=C grep`: the later stages' command words.
                let assignment = |w: &&str| {
                    w.split_once('=').is_some_and(|(k, _)| {
                        !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    })
                };
                let mut s: Vec<&str> = s.iter().copied().skip_while(assignment).collect();
                if s.first() == Some(&"grep") {
                    s.remove(0);
                }
                s.retain(|w| *w != "@LOG");
                s
            })
            .collect();
        p.filters.retain(rewrites_log);
        let (last, cuts) = stages.split_last().ok_or_else(what)?;
        for s in cuts {
            match grep_args(s).ok_or_else(what)? {
                (true, re) => p.filters.push(LogFilter::DropMatching(regex(&re)?)),
                (false, re) => p.filters.push(LogFilter::KeepMatching(regex(&re)?)),
            }
        }
        let (invert, re) = grep_args(last).ok_or_else(what)?;
        if invert {
            return Err(what());
        }
        // match_grep's patterns match whole lines.
        let pattern = re.trim_start_matches('^').trim_end_matches('$');
        let pattern = if re.starts_with('^') {
            pattern.to_string()
        } else {
            format!(".*{pattern}")
        };
        let pattern = if re.ends_with('$') {
            pattern
        } else {
            format!("{pattern}.*")
        };
        let neg = if fail_if_found { "!" } else { "" };
        p.want = Want::Text(format!("{neg}{pattern}\n"));
        p.matcher = Matcher::Grep;
        p.of_stderr = false;
        self.steps.push(p);
        self.checked = true;
        Ok(i32::from(fail_if_found))
    }
}

/// The placeholder `$?` expands to after a traced run: its exit status,
/// known only once the program has run in the guest (a check of it,
/// [`Shell::status_check`], becomes the step's wanted status).
pub(super) const STATUS: &str = "@STATUS";

impl Shell<'_> {
    /// `[ $? -eq N ] || fail` (also `=`, and `-ne`/`!=` with `&& fail`)
    /// of the pending traced run's status: the status its step wants; its
    /// status in the model is the passing one. Any other use of that
    /// status is not modelled.
    pub(super) fn status_check(&mut self, words: &[String]) -> Result<i32, Skip> {
        let what = || {
            format!(
                "the traced program's exit status ($?) in `{}` not modelled",
                words.join(" ")
            )
        };
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let (op, n) = match w.as_slice() {
            ["[", a, op, b, "]"] | ["test", a, op, b] if *a == STATUS => (*op, *b),
            ["[", a, op, b, "]"] | ["test", a, op, b] if *b == STATUS => (*op, *a),
            _ => return Err(what()),
        };
        let n: i32 = n.parse().map_err(|_| what())?;
        let equal = match op {
            "-eq" | "=" => true,
            "-ne" | "!=" => false,
            _ => return Err(what()),
        };
        let wants = match (self.on_status, equal) {
            (OnStatus::FailIfFalse, true) | (OnStatus::FailIfTrue, false) => n,
            _ => return Err(what()),
        };
        let p = self.pending.as_mut().ok_or_else(what)?;
        p.status = wants;
        Ok(i32::from(!equal))
    }
}

/// A grep stage's options and pattern: whether it inverts (`-v`) and the
/// pattern as the text of a Rust regex (`-x`: anchored; BRE unless
/// `-E`).
fn grep_args(words: &[&str]) -> Option<(bool, String)> {
    let (mut invert, mut whole, mut ere) = (false, false, false);
    let mut pattern = None;
    let mut it = words.iter();
    while let Some(w) = it.next() {
        match *w {
            "-e" => pattern = Some(it.next()?.to_string()),
            w if w.starts_with('-') && w.len() > 1 && pattern.is_none() => {
                for c in w[1..].chars() {
                    match c {
                        'v' => invert = true,
                        'x' => whole = true,
                        'E' => ere = true,
                        'q' => {}
                        _ => return None,
                    }
                }
            }
            w if pattern.is_none() => pattern = Some(w.to_string()),
            _ => return None,
        }
    }
    let p = pattern?;
    let text = if ere { p } else { bre_text(&p) };
    Some((invert, if whole { format!("^(?:{text})$") } else { text }))
}

fn regex(text: &str) -> Result<regex::Regex, Skip> {
    regex::Regex::new(text).map_err(|e| format!("regex {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// qual_syscall.test's shapes.
    #[test]
    fn inline_checks_become_steps() {
        let text = "check()\n{\n\trun_strace \"$@\" ../umovestr\n\
                    \tLC_ALL=C grep -x \"$1\" \"$LOG\" > /dev/null || {\n\
                    \t\tprintf '%s\\n' x\n\t\tdump_log_and_fail_with mismatch\n\t}\n}\n\
                    check 'execve(.*) = 0' -e execve\n\
                    LC_ALL=C grep -v -x 'execve(.*' \"$LOG\" |\n\
                    LC_ALL=C grep '^[[:alnum:]_]*(' > /dev/null &&\n\
                    \tdump_log_and_fail_with unexpected\n";
        let sh = Shell::new(Path::new("/nonexistent"), "foo", "x86_64");
        let steps = sh.run(text, vec![]).unwrap();
        assert_eq!(steps.len(), 2);
        let Want::Text(t) = &steps[0].want else {
            panic!("patterns")
        };
        assert_eq!(t, "(?:execve\\(.*\\) = 0)\n");
        let Want::Text(t) = &steps[1].want else {
            panic!("patterns")
        };
        assert!(t.starts_with("![[:alnum:]_]*\\(.*"), "{t}");
        assert_eq!(steps[1].filters.len(), 1);
        assert_eq!(steps[1].matcher, Matcher::Grep);
        // A grep whose status nothing depends on is not a check.
        let plain = "run_strace ../foo\ngrep -c x \"$LOG\" > /dev/null\n";
        let sh = Shell::new(Path::new("/nonexistent"), "foo", "x86_64");
        assert!(sh.run(plain, vec![]).is_err());
    }

    /// qual_fault-exit_group.test's shape: the status of a direct strace
    /// run checked, then its log matched.
    #[test]
    fn exit_status_checks_set_the_wanted_status() {
        let text = "test_with()
{
	> \"$LOG\" || fail_ x
	$STRACE -o \"$LOG\" \"$@\"
                    	rc=$?
	[ $rc -eq 42 ] ||
		dump_log_and_fail_with \"failed $rc\"
                    	match_diff
}
test_with -eexit ../answer
";
        let sh = Shell::new(Path::new("/nonexistent"), "foo", "x86_64");
        let steps = sh.run(text, vec![]).unwrap();
        assert_eq!((steps.len(), steps[0].status), (1, 42));
        assert_eq!(steps[0].prog, "answer");
        let ne = "run_strace ../foo
[ $? -ne 3 ] && fail_ x
match_diff
";
        let sh = Shell::new(Path::new("/nonexistent"), "foo", "x86_64");
        assert_eq!(sh.run(ne, vec![]).unwrap()[0].status, 3);
        // Other uses of the status are not modelled.
        for bad in ["[ $? -gt 1 ] || fail_ x", "[ $? -eq 1 ]", "x=$?; echo $x"] {
            let text = format!("run_strace ../foo\n{bad}\nmatch_diff\n");
            let sh = Shell::new(Path::new("/nonexistent"), "foo", "x86_64");
            assert!(
                sh.run(&text, vec![]).unwrap_err().contains("exit status"),
                "{bad}"
            );
        }
    }
}
