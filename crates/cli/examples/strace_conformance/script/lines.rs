//! The shell model's reading of a script's text: logical lines
//! (comments dropped, continuations joined), statements split at `;`,
//! the extent of compound commands (`for`/`while` ... `done`, `if` ...
//! `fi`, `{` ... `}`), and `case` arms with their glob patterns.

/// The script as logical lines: comments dropped, `\` continuations and
/// lines ending in `||`/`&&`/`|` joined, a single-quoted word spanning
/// lines kept whole (its newlines and whitespace as written).
pub(super) fn logical_lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let raws: Vec<&str> = text.lines().collect();
    let mut k = 0;
    while k < raws.len() {
        let raw = raws[k];
        k += 1;
        // Inside a single-quoted word that spans lines (an inline awk
        // program): the line is the word's, as it is.
        if open_single_quote(&cur) {
            cur.push('\n');
            cur.push_str(raw);
            if open_single_quote(&cur) {
                continue;
            }
            let l = raw.trim();
            if l.ends_with('\\') {
                cur.truncate(cur.trim_end().len() - 1);
                cur.push(' ');
                continue;
            }
            if l.ends_with("||") || l.ends_with("&&") || l.ends_with('|') {
                cur.push(' ');
                continue;
            }
            out.push(std::mem::take(&mut cur));
            continue;
        }
        let with_doc;
        let l = match here_document(raw.trim(), &raws[k..]) {
            Some((line, n)) => {
                k += n;
                with_doc = line;
                with_doc.as_str()
            }
            None => raw.trim(),
        };
        if cur.is_empty() && (l.starts_with('#') || l.is_empty()) {
            continue;
        }
        if let Some(s) = l.strip_suffix('\\') {
            cur.push_str(s);
            cur.push(' ');
            continue;
        }
        cur.push_str(l);
        if open_single_quote(&cur) {
            continue;
        }
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

/// Whether `s` ends inside a single-quoted word: its quotes counted
/// outside double quotes, backslash escapes and a comment (`# it's`).
fn open_single_quote(s: &str) -> bool {
    let (mut single, mut double, mut escaped, mut word_start) = (false, false, false, true);
    for c in s.chars() {
        if single {
            single = c != '\'';
            continue;
        }
        if escaped {
            escaped = false;
            word_start = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => double = !double,
            '\'' if !double => single = true,
            '#' if !double && word_start => return false,
            _ => {}
        }
        word_start = !double && (c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')'));
    }
    single
}

/// The word a here-document becomes in its command's line (see
/// [`here_document`]): `<<@HEREDOC:MODE:HEX`, MODE `q` when the
/// delimiter is quoted (the body is not expanded), `u` else; HEX the
/// body's bytes.
pub(super) const HEREDOC: &str = "<<@HEREDOC:";

/// A line with a here-document (`cat > "$EXP" << __EOF__`) and the raw
/// lines after it: the line with the operator and delimiter replaced by
/// the body as one [`HEREDOC`] word (kept whole: no comment dropped, no
/// line trimmed), and how many lines the body and delimiter took.
fn here_document(l: &str, rest: &[&str]) -> Option<(String, usize)> {
    let (mut sq, mut dq) = (false, false);
    let c: Vec<char> = l.chars().collect();
    let at = (0..c.len()).find(|&i| {
        match c[i] {
            '\'' if !dq => sq = !sq,
            '"' if !sq => dq = !dq,
            _ => {}
        }
        !sq && !dq && c[i..].starts_with(&['<', '<']) && c.get(i + 2) != Some(&'<')
    })?;
    let mut i = at + 2;
    let tabs = c.get(i) == Some(&'-');
    i += usize::from(tabs);
    while c.get(i).is_some_and(|x| x.is_whitespace()) {
        i += 1;
    }
    let start = i;
    while i < c.len() && !c[i].is_whitespace() && !matches!(c[i], ';' | '>' | '<' | '|' | '&') {
        i += 1;
    }
    let word: String = c[start..i].iter().collect();
    let quoted = word.contains(['\'', '"', '\\']);
    let delim: String = word
        .chars()
        .filter(|x| !matches!(x, '\'' | '"' | '\\'))
        .collect();
    if delim.is_empty() {
        return None;
    }
    let end = rest.iter().position(|r| {
        let r = if tabs { r.trim_start_matches('\t') } else { r };
        r == delim
    })?;
    let mut body = String::new();
    for r in &rest[..end] {
        body.push_str(if tabs { r.trim_start_matches('\t') } else { r });
        body.push('\n');
    }
    let hex: String = body.bytes().map(|b| format!("{b:02x}")).collect();
    let mode = if quoted { 'q' } else { 'u' };
    let before: String = c[..at].iter().collect();
    let after: String = c[i..].iter().collect();
    Some((format!("{before}{HEREDOC}{mode}:{hex}{after}"), end + 1))
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
/// A loop written on one line with the statements around it (`i=0;
/// while [ $i -lt 9 ]; do x=$x.; i=$((i + 1)); done`), as lines of its
/// own (`while COND; do`, the body's statements, `done`) for the block
/// interpreter; `None` for any other line.
pub(super) fn one_line_loop(l: &str) -> Option<Vec<String>> {
    let parts = split_statements(l);
    let is_loop = |p: &str| p.starts_with("while ") || p.starts_with("until ");
    if parts.len() < 3 || !parts.iter().any(|p| is_loop(p.trim())) {
        return None;
    }
    if parts.last().map(|p| p.trim()) != Some("done") {
        return None;
    }
    let mut lines = Vec::new();
    let mut k = 0;
    while k < parts.len() {
        let p = parts[k].trim();
        match parts.get(k + 1).map(|n| n.trim()) {
            Some(n) if is_loop(p) && n.starts_with("do ") => {
                lines.push(format!("{p}; do"));
                lines.push(n["do ".len()..].trim().to_string());
                k += 2;
                continue;
            }
            _ if is_loop(p) => return None,
            _ => lines.push(p.to_string()),
        }
        k += 1;
    }
    Some(lines)
}

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
