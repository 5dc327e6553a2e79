//! The shell model's reading of a script's text: logical lines
//! (comments dropped, continuations joined), statements split at `;`,
//! the extent of compound commands (`for`/`while` ... `done`, `if` ...
//! `fi`, `{` ... `}`), and `case` arms with their glob patterns.

/// The script as logical lines: comments dropped, `\` continuations and
/// lines ending in `||`/`&&`/`|` joined.
pub(super) fn logical_lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for raw in text.lines() {
        let l = raw.trim();
        if cur.is_empty() && (l.starts_with('#') || l.is_empty()) {
            continue;
        }
        if let Some(s) = l.strip_suffix('\\') {
            cur.push_str(s);
            cur.push(' ');
            continue;
        }
        cur.push_str(l);
        if l.ends_with("||") || l.ends_with("&&") || l.ends_with('|') && !l.ends_with("||") {
            cur.push(' ');
            continue;
        }
        out.push(std::mem::take(&mut cur));
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The index of the line closing a block opened before `from` (`done`
/// for loops), counting nested openers.
pub(super) fn matching(
    lines: &[String],
    from: usize,
    openers: &[&str],
    close: &str,
) -> Option<usize> {
    let mut depth = 0;
    for (i, l) in lines.iter().enumerate().skip(from) {
        let l = l.trim();
        // (An opener closed on its own line, `if A; then B; fi`, nests
        // nothing.)
        if openers.iter().any(|o| l.starts_with(o)) && !l.ends_with(&format!("; {close}")) {
            depth += 1;
        } else if l == close
            || l.starts_with(&format!("{close};"))
            || l.starts_with(&format!("{close} "))
        {
            if depth == 0 {
                return Some(i);
            }
            depth -= 1;
        }
    }
    None
}

/// The commands of the first arm of a `case` (its lines between `in`
/// and `esac`) whose pattern matches `word`; `None` when none does.
pub(super) fn case_arm(lines: &[String], word: &str) -> Option<Vec<String>> {
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim();
        i += 1;
        let Some((pats, rest)) = l.split_once(')') else {
            continue;
        };
        let hit = pats
            .trim_start_matches('(')
            .split('|')
            .any(|p| glob(p.trim().trim_matches(|c| c == '"' || c == '\''), word));
        // The arm's commands: up to the line ending in `;;`.
        let mut body = Vec::new();
        let mut cur = rest.trim().to_string();
        loop {
            let last = cur.trim_end().ends_with(";;");
            let cmd = cur.trim_end().trim_end_matches(";;").trim().to_string();
            if !cmd.is_empty() {
                body.push(cmd);
            }
            if last || i >= lines.len() {
                break;
            }
            cur = lines[i].trim().to_string();
            i += 1;
        }
        if hit {
            return Some(body);
        }
    }
    None
}

/// Whether `s` matches the shell pattern `p` (`*` and `?`; other
/// characters literally).
pub(super) fn glob(p: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (p.chars().collect(), s.chars().collect());
    // Iterative matching with backtracking to the last `*`.
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The `}` closing a `{` opened on the line before `from`.
pub(super) fn matching_brace(lines: &[String], from: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, l) in lines.iter().enumerate().skip(from) {
        let l = l.trim();
        if l.ends_with('{') {
            depth += 1;
        } else if l == "}" || l.starts_with("} ") {
            if depth == 0 {
                return Some(i);
            }
            depth -= 1;
        }
    }
    None
}

/// Splits a logical line at `;` outside quotes (not `;;`).
pub(super) fn split_statements(l: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut sq, mut dq) = (false, false);
    let mut prev = ' ';
    for ch in l.chars() {
        match ch {
            '\'' if !dq => sq = !sq,
            '"' if !sq && prev != '\\' => dq = !dq,
            ';' if !sq && !dq => {
                out.push(std::mem::take(&mut cur));
                prev = ch;
                continue;
            }
            _ => {}
        }
        cur.push(ch);
        prev = ch;
    }
    out.push(cur);
    out
}
