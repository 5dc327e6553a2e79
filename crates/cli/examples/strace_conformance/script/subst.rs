//! Command substitution of the script's own shell commands: `$(for i in
//! $(seq 1 127); do echo A; done; echo Z)`, run by the model itself with
//! `echo` and `printf` writing into the substitution's text (a subshell:
//! its variables are not the script's afterwards); `echo`/`printf` into
//! a file of the test (`echo '...' > "$LOG".1`) keep the text for a
//! matcher; `seq` as a pure computation.

use super::lines::{logical_lines, split_statements};
use super::{split_redirs, Shell, Skip};

impl Shell<'_> {
    /// `$(CMDS)` of commands the model runs (a loop, `echo`, `printf`):
    /// what they print, trailing newlines removed; `None` when the text
    /// is not such a list (the caller says what it is).
    pub(super) fn own_output(&mut self, inner: &str, depth: usize) -> Result<Option<String>, Skip> {
        let first = inner.split_whitespace().next().unwrap_or("");
        if !matches!(first, "for" | "echo" | "printf") {
            return Ok(None);
        }
        // One statement a line, `do`/`then` on lines of their own, as
        // the model's blocks read them.
        let mut lines = Vec::new();
        for stmt in split_statements(inner) {
            let stmt = stmt.trim();
            match stmt.split_once(' ') {
                Some((kw @ ("do" | "then" | "else"), rest)) => {
                    lines.push(kw.to_string());
                    lines.push(rest.to_string());
                }
                _ if !stmt.is_empty() => lines.push(stmt.to_string()),
                _ => {}
            }
        }
        let lines = logical_lines(&lines.join("\n"));
        // A subshell: the script's variables as they were before it.
        let (vars, pos) = (self.vars.clone(), self.pos.clone());
        let outer = self.capture.replace(String::new());
        let r = self.block(&lines, depth);
        let text = std::mem::replace(&mut self.capture, outer).unwrap_or_default();
        (self.vars, self.pos) = (vars, pos);
        r?;
        Ok(Some(text.trim_end_matches('\n').to_string()))
    }

    /// `echo WORDS` / `printf FORMAT ARGS`: into the substitution being
    /// captured, or into a file of the test (`> FILE`, `>> FILE`) kept
    /// for a matcher of it.
    pub(super) fn print(&mut self, cmd: &str, words: &[String]) -> Result<i32, Skip> {
        let (argv, redirs) = split_redirs(words);
        let text = match cmd {
            "echo" => {
                if argv.first().is_some_and(|a| a.starts_with('-')) {
                    return Err(format!("echo {} not modelled", argv.join(" ")));
                }
                format!("{}\n", argv.join(" "))
            }
            _ => {
                let (fmt, args) = argv.split_first().ok_or("printf without a format")?;
                printf(fmt, args)?
            }
        };
        match redirs.as_slice() {
            [] => match self.capture.as_mut() {
                Some(c) => {
                    c.push_str(&text);
                    Ok(0)
                }
                None => Err(format!("{cmd} to the test's output not modelled")),
            },
            [r] if r.starts_with(">@") || r.starts_with(">>@") => {
                let append = r.starts_with(">>");
                let file = r.trim_start_matches('>').to_string();
                self.err_cuts.remove(&file);
                let t = self.texts.entry(file).or_default();
                if !append {
                    t.clear();
                }
                t.push_str(&text);
                Ok(0)
            }
            _ => Err(format!("{cmd} {} not modelled", redirs.join(" "))),
        }
    }
}

/// `seq [FIRST] LAST`: its numbers, a line each (a pure computation).
pub(super) fn seq(args: &[&str]) -> Option<String> {
    let n: Vec<i64> = args.iter().map(|a| a.parse().ok()).collect::<Option<_>>()?;
    let (first, last) = match n.as_slice() {
        [last] => (1, *last),
        [first, last] => (*first, *last),
        _ => return None,
    };
    if last - first > 100_000 {
        return None;
    }
    Some(
        (first..=last)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// sh's `printf FORMAT ARGS`: `%s %d %u %x %X %o %c %%` and the
/// backslash escapes of the format; the format used again while
/// arguments remain.
fn printf(fmt: &str, args: &[String]) -> Result<String, Skip> {
    let bad = || format!("printf {fmt} not modelled");
    let f: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut next = 0;
    loop {
        let mut used = false;
        let mut i = 0;
        while i < f.len() {
            match f[i] {
                '\\' => {
                    i += 1;
                    match f.get(i) {
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some('\\') => out.push('\\'),
                        Some(c) => {
                            out.push('\\');
                            out.push(*c);
                        }
                        None => out.push('\\'),
                    }
                }
                '%' => {
                    i += 1;
                    let conv = *f.get(i).ok_or_else(bad)?;
                    if conv == '%' {
                        out.push('%');
                        i += 1;
                        continue;
                    }
                    let arg = args.get(next).map_or("", String::as_str);
                    next += 1;
                    used = true;
                    let num = || -> Result<i64, Skip> {
                        if arg.is_empty() {
                            Ok(0)
                        } else {
                            arg.parse().map_err(|_| bad())
                        }
                    };
                    match conv {
                        's' => out.push_str(arg),
                        'c' => out.extend(arg.chars().next()),
                        'd' | 'i' => out.push_str(&num()?.to_string()),
                        'u' => out.push_str(&(num()? as u64).to_string()),
                        'x' => out.push_str(&format!("{:x}", num()?)),
                        'X' => out.push_str(&format!("{:X}", num()?)),
                        'o' => out.push_str(&format!("{:o}", num()?)),
                        _ => return Err(bad()),
                    }
                }
                c => out.push(c),
            }
            i += 1;
        }
        if !used || next >= args.len() {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Shell;
    use super::*;
    use std::path::Path;

    #[test]
    fn printf_and_seq() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            printf("\\\\\\\\xf%x", &a(&["10", "11"])).unwrap(),
            "\\\\xfa\\\\xfb"
        );
        assert_eq!(printf("%s=%d\\n", &a(&["a", "1"])).unwrap(), "a=1\n");
        assert_eq!(printf("x", &[]).unwrap(), "x");
        assert_eq!(seq(&["3"]).unwrap(), "1\n2\n3");
        assert_eq!(seq(&["0", "1"]).unwrap(), "0\n1");
    }

    /// scm_rights-fd.test's shapes: loops printing into a substitution,
    /// their variables the subshell's own.
    #[test]
    fn substitutions_of_the_scripts_commands() {
        let mut sh = Shell::new(Path::new("/nonexistent"), "foo", "x86_64");
        let text = "i=x\nfile=\"dir/$(for i in $(seq 1 3); do echo A; done; echo Z)\"\n\
                    sample=\"$(for i in $(seq 1 2); do printf '\\\\\\\\xf%x' $i; done)\"\n";
        sh.block(&logical_lines(text), 0).unwrap();
        assert_eq!(sh.var("file"), "dir/A\nA\nA\nZ");
        assert_eq!(sh.var("sample"), "\\\\xf1\\\\xf2");
        assert_eq!(sh.var("i"), "x");
        // echo into a file of the test: its text.
        let text = "echo 'a b' > \"$LOG\".1\necho c >> \"$LOG\".1\n";
        sh.block(&logical_lines(text), 0).unwrap();
        assert_eq!(sh.texts["@LOG.1"], "a b\nc\n");
        // echo to the script's own output is not modelled.
        assert!(sh.block(&logical_lines("echo hi\n"), 0).is_err());
    }
}
