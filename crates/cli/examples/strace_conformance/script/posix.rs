//! POSIX regular expressions, as the test scripts write them for grep
//! and sed (basic ones; `grep -E`'s extended ones), as Rust regexes.

use super::Skip;

/// A POSIX basic regular expression (grep, sed) as a Rust regex.
pub fn bre(re: &str) -> Result<regex::Regex, Skip> {
    regex::Regex::new(&bre_text(re)).map_err(|e| format!("regex {re:?}: {e}"))
}

/// A POSIX basic regular expression as the text of a Rust regex.
pub(crate) fn bre_text(re: &str) -> String {
    let mut out = String::new();
    let mut c = re.chars().peekable();
    let mut in_class = false;
    while let Some(ch) = c.next() {
        if in_class {
            out.push(ch);
            if ch == ']' {
                in_class = false;
            } else if ch == '[' && c.peek() == Some(&':') {
                // [:class:]
                for d in c.by_ref() {
                    out.push(d);
                    if d == ']' {
                        break;
                    }
                }
            } else if ch == '\\' {
                out.push('\\');
            }
            continue;
        }
        match ch {
            '\\' => match c.next() {
                Some(d @ ('(' | ')' | '|' | '?' | '+' | '{' | '}')) => out.push(d),
                Some(d) if d.is_ascii_alphanumeric() => {
                    out.push('\\');
                    out.push(d);
                }
                Some(d) => out.push_str(&regex::escape(&d.to_string())),
                None => out.push_str("\\\\"),
            },
            '(' | ')' | '|' | '?' | '+' | '{' | '}' => {
                out.push_str(&regex::escape(&ch.to_string()))
            }
            '[' => {
                in_class = true;
                out.push('[');
                if c.peek() == Some(&'^') {
                    out.push(c.next().unwrap_or('^'));
                }
                if c.peek() == Some(&']') {
                    out.push_str("\\]");
                    c.next();
                }
            }
            _ => out.push(ch),
        }
    }
    out
}

/// A POSIX extended regular expression (grep -E) as a Rust regex.
pub fn ere(re: &str) -> Result<regex::Regex, Skip> {
    regex::Regex::new(re).map_err(|e| format!("regex {re:?}: {e}"))
}
