//! The shell model's checks of strace's log written inline in a script
//! rather than with init.sh's `match_grep`: `grep [-x] [-E] RE "$LOG" >
//! /dev/null || fail` (the log must have such a line) and `grep RE
//! "$LOG" > /dev/null && fail` (it must have none), also through a
//! `grep -v`/`grep` pipeline (`grep -v -x P "$LOG" | grep RE && fail`:
//! no line but P's matches RE). Each becomes a step of its own, judged
//! as `match_grep` judges a pattern (`!RE`: matching no line). Also the
//! check of a traced run's exit status (`rc=$?; [ $rc -eq 42 ] || fail`):
//! the status the run's step wants; `[ -s "$OUT" ] || fail` (the cut log has
//! a line) and `sort -c [-n] [-r] "$OUT" || fail` (its lines are in
//! order) of a log cut by `sed -r -n 's/RE/REPL/p'`.

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

impl Shell<'_> {
    /// `[ -s FILE ] || fail` of the pending run's cut log: the step
    /// wants a line in it. `None` when `words` is not that.
    pub(super) fn nonempty_check(&mut self, words: &[String]) -> Option<i32> {
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let ["[", "-s", f, "]"] = w.as_slice() else {
            return None;
        };
        let cut_log = *f == "@OUT" && self.cut;
        if !cut_log || self.on_status != OnStatus::FailIfFalse {
            return None;
        }
        self.pending.as_mut()?.nonempty = true;
        Some(0)
    }

    /// `sort -c [-n] [-r] "$OUT" || fail`: a step judging the order of
    /// the pending run's cut log.
    pub(super) fn sort_check(&mut self, args: &[String]) -> Result<i32, Skip> {
        let what = || format!("sort {} not modelled", args.join(" "));
        if self.on_status != OnStatus::FailIfFalse || !self.cut {
            return Err(what());
        }
        let (mut check, mut numeric, mut reverse, mut file) = (false, false, false, None);
        for a in args {
            match a.as_str() {
                f if !f.starts_with('-') && file.is_none() => file = Some(f),
                o if o.starts_with('-') && o.len() > 1 => {
                    for c in o[1..].chars() {
                        match c {
                            'c' => check = true,
                            'n' => numeric = true,
                            'r' => reverse = true,
                            _ => return Err(what()),
                        }
                    }
                }
                _ => return Err(what()),
            }
        }
        if !check || file != Some("@OUT") {
            return Err(what());
        }
        let mut p = self.pending.take().ok_or_else(what)?;
        p.matcher = Matcher::Sorted { numeric, reverse };
        p.want = Want::Text(String::new());
        p.of_stderr = false;
        self.steps.push(p);
        Ok(0)
    }
}

/// `[/ADDR/ ]s/RE/REPL/p` of `sed -r -n` (extended regular expressions;
/// GNU sed's `\t` in REPL) as a filter.
pub(super) fn sed_subst(script: &str) -> Result<LogFilter, Skip> {
    let what = || format!("sed -r -n '{script}' not modelled");
    let parts = split_unescaped(script.trim(), '/');
    let (addr, cmd) = match parts.as_slice() {
        [empty, addr, rest @ ..] if empty.is_empty() => {
            (Some(addr.clone()), rest.join("/").trim_start().to_string())
        }
        _ => (None, script.trim().to_string()),
    };
    let parts = split_unescaped(&cmd, '/');
    let [s, re, repl, flags] = parts.as_slice() else {
        return Err(what());
    };
    if s != "s" || flags != "p" {
        return Err(what());
    }
    let mut r = String::new();
    let mut c = repl.chars();
    while let Some(ch) = c.next() {
        match ch {
            '\\' => match c.next() {
                Some(d @ '0'..='9') => r.push_str(&format!("${{{d}}}")),
                Some('t') => r.push('\t'),
                Some('n') => r.push('\n'),
                Some(d) => r.push(d),
                None => r.push('\\'),
            },
            '&' => r.push_str("${0}"),
            '$' => r.push_str("$$"),
            ch => r.push(ch),
        }
    }
    Ok(LogFilter::SedSubst {
        addr: addr.map(|a| regex(&a)).transpose()?,
        re: regex(re)?,
        repl: r,
    })
}

/// `s` split at each `sep` not escaped by a backslash (the escapes of
/// other characters kept: a regex's).
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut c = s.chars();
    while let Some(ch) = c.next() {
        let cur = out.len() - 1;
        match ch {
            '\\' => match c.next() {
                Some(d) if d == sep => out[cur].push(d),
                Some(d) => {
                    out[cur].push('\\');
                    out[cur].push(d);
                }
                None => {}
            },
            ch if ch == sep => out.push(String::new()),
            ch => out[cur].push(ch),
        }
    }
    out
}

/// A grep stage's options and pattern: whether it inverts (`-v`) and the
/// pattern as the text of a Rust regex (`-x`: anchored; BRE unless
/// `-E`).
pub(super) fn grep_args(words: &[&str]) -> Option<(bool, String)> {
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

    /// strace-S.test's shape: the summary cut by `sed -r -n`, checked
    /// not empty and sorted.
    #[test]
    fn sorted_summaries() {
        let text = "test_c()\n{\n\tlocal sortby sortopts sedexpr\n\tsortby=\"$1\"; shift\n\
                    \tsortopts=\"$1\"; shift\n\tsedexpr=\"$1\"; shift\n\
                    \trun_strace -c -w $sortby ../readv > /dev/null\n\
                    \tsed -r -n -e \"$sedexpr\" < \"$LOG\" > \"$OUT\"\n\
                    \t[ -s \"$OUT\" ] ||\n\t\tfail_ empty\n\
                    \tLC_ALL=C sort -c $sortopts \"$OUT\" || {\n\t\techo x\n\t\tfail_ unsorted\n\t}\n}\n\
                    c='[[:space:]]+([^[:space:]]+)'\n\
                    test_c '-S calls' '-n -r' '/^[[:space:]]+[0-9]/ s/^'\"$c$c$c$c\"'[[:space:]].*/\\4/p'\n";
        let sh = Shell::new(Path::new("/nonexistent"), "foo", "x86_64");
        let steps = sh.run(text, vec![]).unwrap();
        assert_eq!(steps.len(), 1);
        let s = &steps[0];
        assert_eq!(s.options, ["-c", "-w", "-S", "calls"]);
        assert!(s.nonempty);
        assert_eq!(
            s.matcher,
            Matcher::Sorted {
                numeric: true,
                reverse: true
            }
        );
        let LogFilter::SedSubst { addr, re, repl } = &s.filters[0] else {
            panic!("{:?}", s.filters)
        };
        let line = " 45.45    0.000010           2         4           writev";
        assert!(addr.as_ref().unwrap().is_match(line));
        assert_eq!(re.replace(line, repl.as_str()), "4");
        let LogFilter::SedSubst { re, repl, .. } =
            sed_subst(r"s/^[[:space:]]+([0-9]+)[.,]([0-9]+)[[:space:]].*/\1\t\2/p").unwrap()
        else {
            panic!()
        };
        assert_eq!(re.replace(line, repl.as_str()), "45\t45");
        assert!(sed_subst("s/a/b/g").is_err());
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
