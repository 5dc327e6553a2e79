//! The shell model's word expansion: quotes, `$VAR`, `${VAR...}`
//! operators, `$((...))` arithmetic and `"$@"`, splitting a statement
//! into words as `sh` does.

use super::{join_redirections, last_line_pid, Shell, Skip, PID_OF_LAST};

impl Shell<'_> {
    /// Expands and splits a statement into words as `sh` does.
    pub(super) fn expand(&mut self, s: &str) -> Result<Vec<String>, Skip> {
        let mut words: Vec<String> = Vec::new();
        let mut cur = String::new();
        let mut in_word = false;
        // The word being built has a quoted or expanded part: digits of
        // it before `>` are an argument, not a descriptor (`"${ret}">
        // FILE`: sh's IO_NUMBER is only a plain token of digits).
        let mut tainted = false;
        let c: Vec<char> = s.chars().collect();
        let mut i = 0;
        while i < c.len() {
            match c[i] {
                '\'' => {
                    in_word = true;
                    tainted = true;
                    i += 1;
                    while i < c.len() && c[i] != '\'' {
                        cur.push(c[i]);
                        i += 1;
                    }
                    i += 1;
                }
                '"' if !in_word && c[i..].starts_with(&['"', '$', '@', '"']) => {
                    // "$@" alone: one word per positional argument, none
                    // when there are none.
                    words.extend(self.pos.iter().cloned());
                    i += 4;
                }
                '"' => {
                    in_word = true;
                    tainted = true;
                    i += 1;
                    while i < c.len() && c[i] != '"' {
                        if c[i] == '\\'
                            && i + 1 < c.len()
                            && matches!(c[i + 1], '"' | '\\' | '$' | '`')
                        {
                            cur.push(c[i + 1]);
                            i += 2;
                        } else if c[i] == '$' {
                            let (vals, n) = self.dollar(&c[i..], true)?;
                            i += n;
                            // "$@": one word per positional argument.
                            let mut it = vals.into_iter();
                            if let Some(first) = it.next() {
                                cur.push_str(&first);
                                for v in it {
                                    words.push(std::mem::take(&mut cur));
                                    cur.push_str(&v);
                                }
                            }
                        } else if c[i] == '`' {
                            return Err("command substitution (backquotes) not modelled".into());
                        } else {
                            cur.push(c[i]);
                            i += 1;
                        }
                    }
                    i += 1;
                }
                '\\' => {
                    in_word = true;
                    tainted = true;
                    if i + 1 < c.len() {
                        cur.push(c[i + 1]);
                    }
                    i += 2;
                }
                '$' => {
                    let (vals, n) = self.dollar(&c[i..], false)?;
                    i += n;
                    tainted = true;
                    // Unquoted: the value is split into words.
                    let joined = vals.join(" ");
                    let mut parts = joined.split_whitespace().peekable();
                    if joined.starts_with(char::is_whitespace) && in_word {
                        words.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                    while let Some(p) = parts.next() {
                        cur.push_str(p);
                        in_word = true;
                        if parts.peek().is_some() {
                            words.push(std::mem::take(&mut cur));
                        }
                    }
                    if joined.ends_with(char::is_whitespace) && in_word {
                        words.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                }
                '`' => return Err("command substitution (backquotes) not modelled".into()),
                ch if ch.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                    tainted = false;
                    i += 1;
                }
                '>' | '<'
                    if in_word
                        && (tainted
                            || !cur
                                .chars()
                                .all(|d| d.is_ascii_digit() || d == '>' || d == '<')) =>
                {
                    // A redirection right after a word: the word ends
                    // there (`foo>FILE`, `"8">FILE`).
                    words.push(std::mem::take(&mut cur));
                    tainted = false;
                    cur.push(c[i]);
                    i += 1;
                }
                ch => {
                    in_word = true;
                    cur.push(ch);
                    i += 1;
                }
            }
        }
        if in_word {
            words.push(cur);
        }
        Ok(join_redirections(words))
    }

    /// One `$...` expansion at the start of `c`: its values (several
    /// only for `$@`) and how many characters it took.
    pub(super) fn dollar(
        &mut self,
        c: &[char],
        quoted: bool,
    ) -> Result<(Vec<String>, usize), Skip> {
        let _ = quoted;
        let one = |s: String, n: usize| Ok((vec![s], n));
        match c.get(1) {
            Some('@') => Ok((self.pos.clone(), 2)),
            Some('*') => one(self.pos.join(" "), 2),
            Some('#') => one(self.pos.len().to_string(), 2),
            Some('?') => match self.last {
                Some(s) => one(s.to_string(), 2),
                // A placeholder only a check of it may use
                // (Shell::status_check).
                None if self.pending.is_some() => one(super::checks::STATUS.into(), 2),
                None => Err("the traced program's exit status ($?) not modelled".into()),
            },
            Some('$') => one(self.var("$"), 2),
            // The last program started in the background (background.rs).
            Some('!') => one(self.var("!"), 2),
            Some(d) if d.is_ascii_digit() => {
                let n = d.to_digit(10).unwrap_or(0) as usize;
                let v = if n == 0 {
                    self.name.clone()
                } else {
                    self.pos.get(n - 1).cloned().unwrap_or_default()
                };
                one(v, 2)
            }
            Some('(') if c.get(2) == Some(&'(') => {
                let end = find(c, "))").ok_or("unclosed $((")?;
                let inner: String = c[3..end].iter().collect();
                let v = self.expand(&inner)?.join(" ");
                let n = self
                    .arith(v.trim())
                    .ok_or(format!("$(({inner})) not modelled"))?;
                one(n.to_string(), end + 2)
            }
            Some('(') => {
                let end = closing_paren(c, 1).ok_or("unclosed $(")?;
                let inner: String = c[2..end].iter().collect();
                if let Some(n) = last_line_pid(&inner) {
                    // Known only once the log is there: a placeholder the
                    // filter fills in (LogFilter::DropMatchingPids).
                    return one(format!("{PID_OF_LAST}{n}@"), end + 1);
                }
                // `$(seq 0 $((procs - 1)))`: its bounds expanded first (a
                // pure computation on the script's variables).
                let host = match inner.trim().starts_with("seq ") {
                    true => self.expand(&inner)?.join(" "),
                    false => inner.trim().to_string(),
                };
                if let Some(v) = self.host_output(&host) {
                    return one(v, end + 1);
                }
                if inner.trim().starts_with("../") {
                    return one(self.guest_output(&inner)?, end + 1);
                }
                match inner.trim().strip_prefix("echo ") {
                    Some(rest) => one(self.expand(rest)?.join(" "), end + 1),
                    None => match self.own_output(inner.trim(), 0)? {
                        Some(v) => one(v, end + 1),
                        None => Err(format!("command substitution $({inner}) not modelled")),
                    },
                }
            }
            Some('{') => {
                let end = c.iter().position(|&x| x == '}').ok_or("unclosed ${")?;
                let inner: String = c[2..end].iter().collect();
                let v = self.brace(&inner)?;
                if inner == "@" {
                    return Ok((self.pos.clone(), end + 1));
                }
                one(v, end + 1)
            }
            Some(ch) if ch.is_ascii_alphabetic() || *ch == '_' => {
                let n = c[1..]
                    .iter()
                    .take_while(|x| x.is_ascii_alphanumeric() || **x == '_')
                    .count();
                let k: String = c[1..1 + n].iter().collect();
                one(self.var(&k), 1 + n)
            }
            _ => one("$".into(), 1),
        }
    }

    /// `$(../PROG ARGS)`: what the program printed in the guest, once
    /// the comparer has run it there (else the test waits for that, with
    /// [`super::NEEDS_GUEST_OUTPUT`]).
    fn guest_output(&mut self, cmd: &str) -> Result<String, Skip> {
        let words = self.expand(cmd)?;
        if words
            .iter()
            .any(|w| w.starts_with(['<', '>', '|', '&', '@']))
        {
            return Err(format!("command substitution $({cmd}) not modelled"));
        }
        let key = words.join(" ");
        match self.outputs.get(&key) {
            Some(Ok(out)) => Ok(out.clone()),
            Some(Err(why)) => Err(format!("$({key}) in the guest: {why}")),
            None => Err(format!("{}{key})", super::NEEDS_GUEST_OUTPUT)),
        }
    }

    pub(super) fn var(&self, k: &str) -> String {
        if let Ok(n) = k.parse::<usize>() {
            return match n {
                0 => self.name.clone(),
                n => self.pos.get(n - 1).cloned().unwrap_or_default(),
            };
        }
        match k {
            "@" | "*" => self.pos.join(" "),
            "#" => self.pos.len().to_string(),
            _ => self.vars.get(k).cloned().unwrap_or_default(),
        }
    }

    pub(super) fn is_set(&self, k: &str) -> bool {
        match k.parse::<usize>() {
            Ok(n) => n >= 1 && n <= self.pos.len(),
            Err(_) => matches!(k, "@" | "*") && !self.pos.is_empty() || self.vars.contains_key(k),
        }
    }

    /// `${VAR}`, `${VAR=D}`, `${VAR:=D}`, `${VAR-D}`, `${VAR:-D}`,
    /// `${VAR#PREFIX}`.
    pub(super) fn brace(&mut self, inner: &str) -> Result<String, Skip> {
        let name_len = match inner.chars().next() {
            Some('@' | '*' | '#') => 1,
            _ => inner
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .count(),
        };
        let (k, op) = inner.split_at(name_len);
        let set = self.is_set(k);
        let nonempty = set && !self.var(k).is_empty();
        let default = |s: &mut Self, d: &str| s.expand(d).map(|w| w.join(" "));
        Ok(match op {
            "" => self.var(k),
            _ if op.starts_with(":=") || op.starts_with('=') => {
                let colon = op.starts_with(':');
                let d = &op[if colon { 2 } else { 1 }..];
                if (colon && !nonempty) || (!colon && !set) {
                    let v = default(self, d)?;
                    self.vars.insert(k.to_string(), v.clone());
                    v
                } else {
                    self.var(k)
                }
            }
            _ if op.starts_with(":-") || op.starts_with('-') => {
                let colon = op.starts_with(':');
                let d = &op[if colon { 2 } else { 1 }..];
                if (colon && !nonempty) || (!colon && !set) {
                    default(self, d)?
                } else {
                    self.var(k)
                }
            }
            _ if op.starts_with('#') && !op.starts_with("##") => {
                let p = default(self, &op[1..])?;
                let v = self.var(k);
                v.strip_prefix(p.as_str()).map(str::to_string).unwrap_or(v)
            }
            _ => return Err(format!("${{{inner}}} not modelled")),
        })
    }
}

impl Shell<'_> {
    /// `$((EXPR))` of expanded text: integers, variable names, `+ - * /
    /// %`, comparisons, unary `-` and `!`, parentheses (sh's precedence).
    fn arith(&self, s: &str) -> Option<i64> {
        let toks = arith_tokens(s)?;
        let mut i = 0;
        let v = self.arith_binary(&toks, &mut i, 0)?;
        (i == toks.len()).then_some(v)
    }

    fn arith_binary(&self, t: &[String], i: &mut usize, min: u8) -> Option<i64> {
        let mut v = self.arith_unary(t, i)?;
        while let Some(op) = t.get(*i) {
            let prec = match op.as_str() {
                "*" | "/" | "%" => 4,
                "+" | "-" => 3,
                "<" | "<=" | ">" | ">=" => 2,
                "==" | "!=" => 1,
                _ => return None,
            };
            if prec < min.max(1) {
                break;
            }
            let op = op.clone();
            *i += 1;
            let r = self.arith_binary(t, i, prec + 1)?;
            v = match op.as_str() {
                "*" => v.wrapping_mul(r),
                "/" => v.checked_div(r)?,
                "%" => v.checked_rem(r)?,
                "+" => v.wrapping_add(r),
                "-" => v.wrapping_sub(r),
                "<" => i64::from(v < r),
                "<=" => i64::from(v <= r),
                ">" => i64::from(v > r),
                ">=" => i64::from(v >= r),
                "==" => i64::from(v == r),
                _ => i64::from(v != r),
            };
        }
        Some(v)
    }

    fn arith_unary(&self, t: &[String], i: &mut usize) -> Option<i64> {
        let tok = t.get(*i)?.clone();
        *i += 1;
        match tok.as_str() {
            "-" => Some(self.arith_unary(t, i)?.wrapping_neg()),
            "+" => self.arith_unary(t, i),
            "!" => Some(i64::from(self.arith_unary(t, i)? == 0)),
            "(" => {
                let v = self.arith_binary(t, i, 0)?;
                (t.get(*i)? == ")").then(|| *i += 1)?;
                Some(v)
            }
            w if w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') => {
                // A variable's value (empty: 0).
                let v = self.var(w);
                if v.trim().is_empty() {
                    Some(0)
                } else {
                    parse_int(v.trim())
                }
            }
            w => parse_int(w),
        }
    }
}

/// The tokens of an arithmetic expression.
fn arith_tokens(s: &str) -> Option<Vec<String>> {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch.is_ascii_alphanumeric() || ch == '_' {
            let n = c[i..]
                .iter()
                .take_while(|x| x.is_ascii_alphanumeric() || **x == '_')
                .count();
            out.push(c[i..i + n].iter().collect());
            i += n;
        } else if matches!(ch, '<' | '>' | '=' | '!') && c.get(i + 1) == Some(&'=') {
            out.push(format!("{ch}="));
            i += 2;
        } else if "+-*/%()<>!".contains(ch) {
            out.push(ch.to_string());
            i += 1;
        } else {
            return None;
        }
    }
    Some(out)
}

/// An integer as sh's arithmetic reads it (decimal, 0x hex, sign).
fn parse_int(s: &str) -> Option<i64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = match s.strip_prefix("0x").or(s.strip_prefix("0X")) {
        Some(h) => i64::from_str_radix(h, 16).ok()?,
        None => s.parse().ok()?,
    };
    Some(if neg { -v } else { v })
}

/// The index of the `)` closing the `(` at `open`, counting nested
/// parentheses outside quotes (`$(for i in $(seq 1 3); do ...)`).
fn closing_paren(c: &[char], open: usize) -> Option<usize> {
    let (mut depth, mut sq, mut dq) = (0usize, false, false);
    let mut i = open;
    while i < c.len() {
        match c[i] {
            '\\' if !sq => i += 1,
            '\'' if !dq => sq = !sq,
            '"' if !sq => dq = !dq,
            '(' if !sq && !dq => depth += 1,
            ')' if !sq && !dq => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn find(c: &[char], pat: &str) -> Option<usize> {
    let p: Vec<char> = pat.chars().collect();
    (0..c.len()).find(|&i| c[i..].starts_with(&p))
}
