//! The shell model's control flow: and-or lists (`A && B || C`, `! A`),
//! the `test`/`[` command, `if/elif/else/fi`, `while`/`until` loops with
//! `break`/`continue`, and functions the script defines (`name() { ... }`,
//! `local`, `return`).
//!
//! Commands other than `[`/`test` have no exit status of their own in the
//! model: they are taken to succeed, as they do when the test passes (a
//! traced run whose log differs is a failed match, judged by the comparer,
//! not a branch of the script). A condition the model cannot decide (a
//! test of a file the host would have written) makes the script skipped,
//! never guessed.

use super::{Flow, Shell, Skip};

/// Most iterations of one `while` loop (a script that loops until the
/// host's clock or a file says so cannot be modelled by repetition).
const MAX_ITERATIONS: usize = 64;

/// Most iterations of a loop that runs no traced program: a counter
/// building a word list (readv.test's `while [ $i -lt $rfd ]` up to the
/// guest's highest descriptor, 1023).
const MAX_COUNTING_ITERATIONS: usize = 4096;

impl Shell<'_> {
    /// Runs an and-or list (`A && B || C`): each command after `&&` only
    /// when the previous status is 0, after `||` only when it is not.
    /// Returns the list's status.
    pub(super) fn and_or(&mut self, stmt: &str, depth: usize) -> Result<i32, Skip> {
        let parts = split_and_or(stmt);
        let mut status = 0;
        for (k, (op, cmd)) in parts.iter().enumerate() {
            let run = match op {
                Op::First => true,
                Op::And => status == 0,
                Op::Or => status != 0,
            };
            if !run {
                continue;
            }
            // `cmd || skip_ MSG`: the message, for a check of strace's
            // log that decides whether the test applies (`grep -x`).
            self.skip_msg = match parts.get(k + 1) {
                Some((Op::Or, next)) if next.trim().starts_with("skip_") => Some(
                    next.trim()
                        .trim_start_matches("skip_")
                        .trim()
                        .trim_matches(|c| c == '\'' || c == '"')
                        .to_string(),
                ),
                _ => None,
            };
            self.on_status = super::checks::on_status(parts.get(k + 1), self.fail_block);
            let r = self.pipeline(cmd, depth);
            self.on_status = super::checks::OnStatus::Nothing;
            status = r?;
            self.last = (!std::mem::take(&mut self.traced)).then_some(status);
            if self.done || self.flow != Flow::Normal {
                break;
            }
        }
        Ok(status)
    }

    /// One command of an and-or list, with `!` negating its status.
    fn pipeline(&mut self, cmd: &str, depth: usize) -> Result<i32, Skip> {
        let cmd = cmd.trim();
        if let Some(rest) = cmd.strip_prefix("! ") {
            let s = self.pipeline(rest, depth)?;
            return Ok(i32::from(s == 0));
        }
        self.simple(cmd, depth)
    }

    /// `[ EXPR ]` / `test EXPR` on expanded words: true or false, or why
    /// the model cannot decide.
    pub(super) fn test_expr(&self, words: &[String]) -> Result<bool, Skip> {
        let mut w: Vec<&str> = words.iter().map(String::as_str).collect();
        if w.first() == Some(&"[") {
            if w.last() != Some(&"]") {
                return Err("a `[` without `]`".into());
            }
            w = w[1..w.len() - 1].to_vec();
        } else {
            w.remove(0);
        }
        let mut p = TestParser { w: &w, i: 0 };
        let v = p.or()?;
        if p.i != w.len() {
            return Err(format!("test {} not modelled", w.join(" ")));
        }
        Ok(v)
    }

    /// `if COND; then ...; [elif COND; then ...;] [else ...;] fi`
    /// starting at `lines[i]`; the index after its `fi`.
    pub(super) fn if_block(
        &mut self,
        lines: &[String],
        i: usize,
        depth: usize,
    ) -> Result<usize, Skip> {
        let end = super::matching(lines, i + 1, &["if "], "fi").ok_or("an `if` without `fi`")?;
        if lines[end].trim() != "fi" {
            return Err("commands after `fi` on its line not modelled".into());
        }
        // The arms: (condition, body lines); `else` has no condition.
        let mut arms: Vec<(Option<String>, Vec<String>)> = Vec::new();
        let mut nest = 0;
        let mut k = i;
        let mut pending_cond: Option<String> = None;
        while k < end {
            let l = lines[k].trim();
            let head = if nest == 0 {
                l.strip_prefix("if ")
                    .filter(|_| k == i)
                    .or_else(|| l.strip_prefix("elif "))
            } else {
                None
            };
            if let Some(c) = head {
                // `COND; then` or `COND` with `then` on the next line.
                let c = c.trim();
                match c.strip_suffix("then").map(str::trim_end) {
                    Some(c) => {
                        let c = c.strip_suffix(';').unwrap_or(c).to_string();
                        arms.push((Some(c), Vec::new()));
                    }
                    None => pending_cond = Some(c.to_string()),
                }
            } else if nest == 0 && l == "then" {
                let c = pending_cond.take().ok_or("a `then` without a condition")?;
                arms.push((Some(c), Vec::new()));
            } else if nest == 0 && l == "else" {
                arms.push((None, Vec::new()));
            } else {
                if l.starts_with("if ") && !l.ends_with("; fi") {
                    nest += 1;
                } else if l == "fi" || l.starts_with("fi;") || l.starts_with("fi ") {
                    nest -= 1;
                }
                arms.last_mut()
                    .ok_or("an `if` whose `then` is not modelled")?
                    .1
                    .push(lines[k].clone());
            }
            k += 1;
        }
        for (cond, body) in arms {
            let take = match cond {
                None => true,
                Some(c) => self.condition(&c, depth)? == 0,
            };
            if take {
                self.block(&body, depth)?;
                break;
            }
        }
        Ok(end + 1)
    }

    /// `while COND; do ... done` (or `until`) starting at `lines[i]`;
    /// the index after its `done`.
    pub(super) fn while_block(
        &mut self,
        lines: &[String],
        i: usize,
        depth: usize,
    ) -> Result<usize, Skip> {
        let l = lines[i].trim();
        let (until, head) = match l.strip_prefix("until ") {
            Some(h) => (true, h),
            None => (false, l.trim_start_matches("while ")),
        };
        let (cond, mut body_start) = match head.trim().strip_suffix("do") {
            Some(c) => (c.trim_end().trim_end_matches(';').to_string(), i + 1),
            None if lines.get(i + 1).map(|s| s.trim()) == Some("do") => {
                (head.trim().to_string(), i + 2)
            }
            None => return Err("a `while` loop's `do` not modelled".into()),
        };
        if cond.starts_with("read ") {
            return Err("a `while read` loop over a file not modelled".into());
        }
        let end = super::matching(lines, body_start, &["for ", "while ", "until "], "done")
            .ok_or("a `while` without `done`")?;
        if lines[end].trim() != "done" {
            return Err(format!("`{}` after a loop not modelled", lines[end].trim()));
        }
        body_start = body_start.min(end);
        let runs = |sh: &Self| sh.steps.len() + usize::from(sh.pending.is_some());
        let runs_before = runs(self);
        for n in 0..MAX_COUNTING_ITERATIONS {
            if n >= MAX_ITERATIONS && runs(self) != runs_before {
                break;
            }
            let s = self.condition(&cond, depth)?;
            if (s == 0) == until || self.done {
                return Ok(end + 1);
            }
            self.block(&lines[body_start..end], depth)?;
            match self.flow {
                Flow::Break => {
                    self.flow = Flow::Normal;
                    return Ok(end + 1);
                }
                Flow::Continue => self.flow = Flow::Normal,
                Flow::Return | Flow::Normal => {}
            }
            if self.done || self.flow == Flow::Return {
                return Ok(end + 1);
            }
        }
        Err("a `while` loop that the model does not end (it waits for the host)".into())
    }

    /// The status of a condition (an and-or list, maybe of several
    /// `;`-separated commands: the last one's).
    fn condition(&mut self, cond: &str, depth: usize) -> Result<i32, Skip> {
        let mut status = 0;
        for stmt in super::split_statements(cond) {
            if !stmt.trim().is_empty() {
                status = self.and_or(&stmt, depth)?;
            }
        }
        Ok(status)
    }

    /// Calls a function the script defined: its body with the arguments
    /// as positional parameters; `local` variables restored after it.
    pub(super) fn call(&mut self, name: &str, args: &[String], depth: usize) -> Result<i32, Skip> {
        let body = self.funcs.get(name).cloned().unwrap_or_default();
        if depth >= super::MAX_DEPTH * 4 {
            return Err("functions called too deep".into());
        }
        let saved = std::mem::replace(&mut self.pos, args.to_vec());
        self.locals.push(Vec::new());
        let r = self.block(&body, depth + 1);
        self.pos = saved;
        for (k, v) in self.locals.pop().unwrap_or_default().into_iter().rev() {
            match v {
                Some(v) => self.vars.insert(k, v),
                None => self.vars.remove(&k),
            };
        }
        if self.flow == Flow::Return {
            self.flow = Flow::Normal;
        }
        r.map(|()| self.ret)
    }

    /// `local NAME[=VALUE]...`: the old values saved for the function's end.
    pub(super) fn local(&mut self, args: &[String]) -> Result<(), Skip> {
        let Some(frame) = self.locals.last_mut() else {
            return Err("`local` outside a function".into());
        };
        for a in args {
            let (k, v) = a.split_once('=').unwrap_or((a, ""));
            frame.push((k.to_string(), self.vars.get(k).cloned()));
            self.vars.insert(k.to_string(), v.to_string());
        }
        Ok(())
    }
}

/// A function definition's head, `NAME()` or `NAME() {`: the name, and
/// whether the `{` is on the line.
pub(super) fn function_header(l: &str) -> Option<(&str, bool)> {
    let (name, rest) = l.split_once("()")?;
    let name = name.trim();
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match rest.trim() {
        "" if ok => Some((name, false)),
        "{" if ok => Some((name, true)),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Op {
    First,
    And,
    Or,
}

impl Op {
    /// The operator as the script writes it (none before the first).
    pub(super) fn text(self) -> &'static str {
        match self {
            Op::First => "",
            Op::And => "&&",
            Op::Or => "||",
        }
    }
}

/// Splits a statement at `&&`/`||` outside quotes.
pub(super) fn split_and_or(s: &str) -> Vec<(Op, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut op = Op::First;
    let (mut sq, mut dq) = (false, false);
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        match ch {
            '\\' if !sq => {
                cur.push(ch);
                if let Some(&n) = c.get(i + 1) {
                    cur.push(n);
                }
                i += 2;
                continue;
            }
            '\'' if !dq => sq = !sq,
            '"' if !sq => dq = !dq,
            '&' | '|' if !sq && !dq && c.get(i + 1) == Some(&ch) => {
                out.push((op, std::mem::take(&mut cur)));
                op = if ch == '&' { Op::And } else { Op::Or };
                i += 2;
                continue;
            }
            _ => {}
        }
        cur.push(ch);
        i += 1;
    }
    out.push((op, cur));
    out
}

/// A recursive-descent reader of `test`'s expression (`-o` binds looser
/// than `-a`, `!` tighter; parentheses).
struct TestParser<'w> {
    w: &'w [&'w str],
    i: usize,
}

impl<'w> TestParser<'w> {
    fn peek(&self, k: usize) -> Option<&'w str> {
        self.w.get(self.i + k).copied()
    }

    fn or(&mut self) -> Result<bool, Skip> {
        let mut v = self.and()?;
        while self.peek(0) == Some("-o") {
            self.i += 1;
            let r = self.and()?;
            v = v || r;
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<bool, Skip> {
        let mut v = self.not()?;
        while self.peek(0) == Some("-a") {
            self.i += 1;
            let r = self.not()?;
            v = v && r;
        }
        Ok(v)
    }

    fn not(&mut self) -> Result<bool, Skip> {
        // `!` as an operator, not as the left operand of `= !`.
        if self.peek(0) == Some("!") && !is_binary(self.peek(1)) {
            self.i += 1;
            return Ok(!self.not()?);
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<bool, Skip> {
        let a = self.peek(0).ok_or("an empty `test` expression")?;
        if a == "(" && !is_binary(self.peek(1)) {
            self.i += 1;
            let v = self.or()?;
            if self.peek(0) != Some(")") {
                return Err("a `(` without `)` in a test".into());
            }
            self.i += 1;
            return Ok(v);
        }
        if let (Some(op), Some(b)) = (self.peek(1), self.peek(2)) {
            if is_binary(Some(op)) {
                self.i += 3;
                return binary(a, op, b);
            }
        }
        if a.len() == 2 && a.starts_with('-') {
            if let Some(x) = self.peek(1) {
                self.i += 2;
                return unary(a, x);
            }
        }
        // A lone word: true when not empty.
        self.i += 1;
        Ok(!a.is_empty())
    }
}

fn is_binary(w: Option<&str>) -> bool {
    matches!(
        w,
        Some("=" | "==" | "!=" | "-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge")
    )
}

fn binary(a: &str, op: &str, b: &str) -> Result<bool, Skip> {
    let num = |s: &str| {
        s.trim()
            .parse::<i64>()
            .map_err(|_| format!("test: {s:?} is not a number in the model"))
    };
    Ok(match op {
        "=" | "==" => a == b,
        "!=" => a != b,
        _ => {
            let (x, y) = (num(a)?, num(b)?);
            match op {
                "-eq" => x == y,
                "-ne" => x != y,
                "-lt" => x < y,
                "-le" => x <= y,
                "-gt" => x > y,
                _ => x >= y,
            }
        }
    })
}

fn unary(op: &str, x: &str) -> Result<bool, Skip> {
    match op {
        "-z" => Ok(x.is_empty()),
        "-n" => Ok(!x.is_empty()),
        // The guest has procfs: what the scripts check of /proc/self
        // (`[ -d /proc/self/fd/ ]`) is there for the traced program.
        "-d" | "-e" | "-f" | "-r" if x.starts_with("/proc/self/") => Ok(true),
        // The empty path is no file on any host (`[ -x "$path_to_sed" ]`
        // after a `command -v` that found nothing).
        "-d" | "-e" | "-f" | "-r" | "-x" | "-s" if x.is_empty() => Ok(false),
        _ => Err(format!("test {op} {x} (a file of the host) not modelled")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn shell() -> Shell<'static> {
        Shell::new(Path::new("/nonexistent"), "foo", "x86_64")
    }

    /// readv.test's shape: a program's output in the guest, then a
    /// counting loop to it (more iterations than a loop that runs
    /// programs may have).
    #[test]
    fn guest_outputs_and_counting_loops() {
        let text = "wfd=\"$(../print_maxfd)\"\nrfd=\"$(($wfd - 1))\"\nrfds='!!!0'\ni=0\n\
                    while [ $i -lt $rfd ]; do\n\trfds=\"$rfds,$i\"\n\ti=$(($i + 1))\ndone\n\
                    run_strace_match_diff -a16 -eread=\"$rfds\" -ewrite=\"$wfd\"\n";
        let err = shell().run(text, vec![]).unwrap_err();
        assert_eq!(super::super::needed_output(&err), Some("../print_maxfd"));
        let outputs = [("../print_maxfd".to_string(), Ok("1023".to_string()))].into();
        let steps = shell().with_outputs(&outputs).run(text, vec![]).unwrap();
        let read = &steps[0].options[steps[0].options.len() - 2];
        assert!(read.starts_with("-eread=!!!0,0,1,2,") && read.ends_with(",1021"));
        assert_eq!(steps[0].options.last().unwrap(), "-ewrite=1023");
        // A program that failed in the guest: the test says so.
        let failed = [("../print_maxfd".to_string(), Err("exits 1".to_string()))].into();
        let err = shell().with_outputs(&failed).run(text, vec![]).unwrap_err();
        assert!(err.contains("exits 1"), "{err}");
        // A loop that runs a program each time still stops at 64.
        let forever = "i=0\nwhile [ $i -lt 100 ]; do\n\trun_strace ../foo\n\ti=$(($i + 1))\ndone\n";
        assert!(shell()
            .run(forever, vec![])
            .unwrap_err()
            .contains("does not end"));
    }

    fn t(s: &str) -> Result<bool, Skip> {
        let mut sh = shell();
        let w = sh.expand(s)?;
        sh.test_expr(&w)
    }

    #[test]
    fn test_command() {
        assert!(t("[ 2 -le 3 ]").unwrap());
        assert!(!t("[ x = y ]").unwrap());
        assert!(t("[ -z \"\" ]").unwrap());
        assert!(t("[ ! -n \"\" ]").unwrap());
        assert!(t("test a != b").unwrap());
        assert!(t("[ 1 -eq 2 -o x = x ]").unwrap());
        assert!(!t("[ 1 -eq 1 -a \\( x = y \\) ]").unwrap());
        assert!(t("[ ! = ! ]").unwrap());
        assert!(t("[ -d /proc/self/fd/ ]").unwrap());
        assert!(t("[ -f lock1 ]").is_err());
        assert!(t("[ x -lt 3 ]").is_err());
        assert!(t("[ x").is_err());
    }

    #[test]
    fn and_or_lists() {
        let mut sh = shell();
        assert_eq!(sh.and_or("[ 1 = 2 ] || x=1", 0).unwrap(), 0);
        assert_eq!(sh.var("x"), "1");
        assert_eq!(sh.and_or("[ 1 = 1 ] || y=1", 0).unwrap(), 0);
        assert_eq!(sh.var("y"), "");
        assert_eq!(sh.and_or("! [ 1 = 1 ] && z=1", 0).unwrap(), 1);
        assert_eq!(sh.var("z"), "");
        assert!(sh.and_or("[ a = b ] || skip_ 'no'", 0).is_err());
        assert_eq!(
            split_and_or("a '||' b || c"),
            [(Op::First, "a '||' b ".into()), (Op::Or, " c".into())]
        );
    }

    #[test]
    fn if_elif_else() {
        let text = "if [ \"$MIPS_ABI\" = o32 ]; then\n\ts=syscall\nelif [ 1 = 1 ]\nthen\n\
                    if [ 2 = 3 ]; then s=x; else t=y; fi\n\ts=mid\nelse\n\ts=none\nfi\n";
        let mut sh = shell();
        sh.block(&super::super::logical_lines(text), 0).unwrap();
        assert_eq!(sh.var("s"), "mid");
        assert_eq!(sh.var("t"), "y");
    }

    /// qual_inject-syntax.test's loop, on one line with what it sets up.
    #[test]
    fn one_line_loops() {
        let text = "zeroes=; i=0; while [ $i -lt 5 ]; do zeroes=\"0$zeroes\"; i=$(($i+1)); done\n";
        let mut sh = shell();
        sh.block(&super::super::logical_lines(text), 0).unwrap();
        assert_eq!(
            (sh.var("zeroes").as_str(), sh.var("i").as_str()),
            ("00000", "5")
        );
        assert!(super::super::lines::one_line_loop("a=1; b=2").is_none());
    }

    #[test]
    fn while_loops_and_functions() {
        let text = "f()\n{\n\tlocal a\n\ta=\"$1\"\n\tn=$((n + a))\n\t[ $n -lt 10 ] || return 1\n\
                    \tdone_f=1\n}\nn=0\ni=0\nwhile [ $i -lt 5 ]; do\n\ti=$((i + 1))\n\
                    \t[ $i != 2 ] || continue\n\tf $i\n\t[ $i -lt 4 ] || break\ndone\n";
        let mut sh = shell();
        sh.block(&super::super::logical_lines(text), 0).unwrap();
        // i = 1, 3, 4 added (2 skipped); the loop breaks at 4.
        assert_eq!((sh.var("n").as_str(), sh.var("i").as_str()), ("8", "4"));
        assert_eq!(sh.var("a"), "");
        assert_eq!(sh.var("done_f"), "1");
        assert_eq!(function_header("test_rval()"), Some(("test_rval", false)));
        assert_eq!(function_header("f() {"), Some(("f", true)));
        assert_eq!(function_header("x=$(f)"), None);
        let forever = "while :; do\n\tx=1\ndone\n";
        assert!(shell()
            .block(&super::super::logical_lines(forever), 0)
            .is_err());
    }
}
