//! Files a test script writes itself, outside strace's log: the expected
//! output cut from a file of the suite (`grep chdir
//! "$srcdir/umovestr.expected" > "$EXP"`), kept as text for the matcher
//! that names it; and strace's output piped to a shell command (`$STRACE
//! -o "|cat > $LOG && grep RE < $LOG > $OUT" ARGS`), whose commands are
//! the model's own once the log is written where the script reads it;
//! strace's stderr cut by `grep` into a file (`grep "invalid syscall"
//! "$LOG-err-all" > "$LOG-err"`) and matched; files made empty (`>
//! "$EXP-err"`); here-documents (`cat > "$EXP" << __EOF__`).

use super::control::split_and_or;
use super::lines::HEREDOC;
use super::{bre, split_redirs, Shell, Skip};
use crate::spec::{LogFilter, Matcher, Want};

impl Shell<'_> {
    /// `grep [-v] RE FILE > "$EXP"` of a file of the suite: the lines it
    /// keeps, as the text of the script's file. `None` when the command
    /// is not one (the caller goes on with the log's filters).
    pub(super) fn grep_suite_file(
        &mut self,
        cmd: &str,
        args: &[String],
    ) -> Result<Option<i32>, Skip> {
        let (argv, redirs) = split_redirs(args);
        let [out] = redirs.as_slice() else {
            return Ok(None);
        };
        let Some(target) = out.strip_prefix('>').filter(|t| t.starts_with("@EXP")) else {
            return Ok(None);
        };
        let (invert, re, file) = match argv.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["-v", re, file] => (true, re, file),
            [re, file] => (false, re, file),
            _ => return Ok(None),
        };
        if cmd != "grep" || file.starts_with('@') || file.starts_with('-') {
            return Ok(None);
        }
        // `$srcdir/F` is `./F`: the suite's tests directory.
        let name = file.trim_start_matches("./");
        if name.contains('/') {
            return Err(format!(
                "grep of {file} (not a file of the suite) not modelled"
            ));
        }
        let text = std::fs::read_to_string(self.tests.join(name))
            .map_err(|e| format!("the suite's file {name}: {e}"))?;
        let re = bre(re)?;
        let kept: String = text
            .lines()
            .filter(|l| re.is_match(l) != invert)
            .map(|l| format!("{l}\n"))
            .collect();
        self.texts.insert(target.to_string(), kept);
        Ok(Some(0))
    }

    /// `grep [-v] RE ERR > FILE` of the file the pending (or last
    /// matched) run sent strace's stderr to (`2> "$LOG-err-all"`): that
    /// stderr cut, kept for the matcher of FILE (a step of its own, as
    /// [`Shell::prog_written_stderr`]'s).
    pub(super) fn grep_stderr_file(
        &mut self,
        cmd: &str,
        args: &[String],
    ) -> Result<Option<i32>, Skip> {
        let (argv, redirs) = split_redirs(args);
        let Some((err, run)) = self.err_file.clone() else {
            return Ok(None);
        };
        let (invert, re, file) = match argv.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["-v", re, file] => (true, re, file),
            [re, file] => (false, re, file),
            _ => return Ok(None),
        };
        if cmd != "grep" || file != err {
            return Ok(None);
        }
        let [out] = redirs.as_slice() else {
            return Err(format!(
                "grep of strace's stderr ({file}) not into a file not modelled"
            ));
        };
        let Some(target) = out.strip_prefix('>').filter(|t| t.starts_with('@')) else {
            return Err(format!("grep of strace's stderr into {out} not modelled"));
        };
        let mut p = run;
        let re = bre(re)?;
        p.filters = vec![if invert {
            LogFilter::DropMatching(re)
        } else {
            LogFilter::KeepMatching(re)
        }];
        p.require.clear();
        p.of_stderr = true;
        self.texts.remove(target);
        self.err_cuts.insert(target.to_string(), p);
        Ok(Some(0))
    }

    /// `match_diff FILE EXP` of strace's stderr cut into FILE
    /// ([`Shell::grep_stderr_file`]): a step against the text the script
    /// wrote into EXP or what the program wrote on a descriptor sent
    /// there. `None` when FILE is not such a cut.
    pub(super) fn stderr_cut_matcher(
        &mut self,
        grep: bool,
        args: &[String],
    ) -> Option<Result<(), Skip>> {
        let mut p = self.err_cuts.get(args.first()?)?.clone();
        p.want = match args.get(1) {
            Some(e) if self.texts.contains_key(e) => Want::Text(self.texts[e].clone()),
            Some(e) if self.prog_err_files.contains(e) => Want::ProgStderr,
            _ => {
                return Some(Err(format!(
                    "strace's stderr cut into {} matched with {} not modelled",
                    args[0],
                    args.get(1).map_or("its default", String::as_str)
                )))
            }
        };
        p.matcher = if grep { Matcher::Grep } else { Matcher::Diff };
        self.steps.push(p);
        Some(Ok(()))
    }

    /// `cat > FILE << DELIM` (a [`HEREDOC`] word): the body, expanded
    /// unless its delimiter was quoted, as FILE's text.
    pub(super) fn here_document(&mut self, redirs: &[String]) -> Result<i32, Skip> {
        let mut target = None;
        let mut body = None;
        for r in redirs {
            if let Some(doc) = r.strip_prefix(HEREDOC) {
                let (mode, hex) = doc.split_once(':').ok_or("a malformed here-document")?;
                let bytes: Vec<u8> = (0..hex.len() / 2)
                    .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                    .collect();
                let text = String::from_utf8_lossy(&bytes).into_owned();
                body = Some(if mode == "q" {
                    text
                } else {
                    self.expand_document(&text)?
                });
            } else if let Some(t) = r.strip_prefix('>').filter(|t| t.starts_with('@')) {
                target = Some(t.to_string());
            } else {
                return Err(format!("a here-document with {r} not modelled"));
            }
        }
        let (Some(target), Some(body)) = (target, body) else {
            return Err("a here-document not into a file of the test not modelled".into());
        };
        self.err_cuts.remove(&target);
        self.texts.insert(target, body);
        Ok(0)
    }

    /// A here-document's body expanded as sh does: `$...` expansions,
    /// `\` escaping only `$`, `` ` ``, `\` and a newline; quotes are
    /// text.
    fn expand_document(&mut self, text: &str) -> Result<String, Skip> {
        let c: Vec<char> = text.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while i < c.len() {
            match c[i] {
                '\\' if matches!(c.get(i + 1), Some('$' | '`' | '\\')) => {
                    out.push(c[i + 1]);
                    i += 2;
                }
                '\\' if c.get(i + 1) == Some(&'\n') => i += 2,
                '$' => {
                    let (vals, n) = self.dollar(&c[i..], true)?;
                    out.push_str(&vals.join(" "));
                    i += n;
                }
                '`' => return Err("command substitution (backquotes) not modelled".into()),
                ch => {
                    out.push(ch);
                    i += 1;
                }
            }
        }
        Ok(out)
    }

    /// `$STRACE -o "|CMD" ARGS`: strace's output is CMD's stdin. CMD must
    /// first write it to the log (`cat > "$LOG"`); its other commands
    /// then run as the script's, on that log (a filter into `$OUT`).
    pub(super) fn piped_output(
        &mut self,
        pipe: &str,
        rest: &[String],
        depth: usize,
    ) -> Result<i32, Skip> {
        let parts = split_and_or(pipe);
        let first = parts.first().map(|(_, c)| self.expand(c)).transpose()?;
        if first.as_deref() != Some(&["cat".to_string(), ">@LOG".to_string()][..]) {
            return Err(format!(
                "strace's output piped to `{pipe}` (not first `cat > $LOG`) not modelled"
            ));
        }
        self.run_strace(rest)?;
        // The rest of the pipe's and-or list: after `cat` (status 0), as
        // the script's own commands.
        let tail: Vec<String> = parts[1..]
            .iter()
            .map(|(op, c)| format!("{} {c}", op.text()))
            .collect();
        if tail.is_empty() {
            return Ok(0);
        }
        self.and_or(&format!("true {}", tail.join(" ")), depth)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Shell;
    use crate::spec::{Matcher, Want};

    /// opipe.test's shape: the expected lines cut from a file of the
    /// suite, the log written by strace's output pipe and cut by its grep.
    #[test]
    fn piped_output_and_suite_files() {
        let dir = std::env::temp_dir().join(format!("vsc-written-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("u.expected"), "chdir(\"x\") = -1\nwrite(1) = 1\n").unwrap();
        let text = "grep chdir $srcdir/u.expected > \"$EXP\"\nrun_prog ../foo\n\
                    $STRACE -o \"|cat > $LOG && $SLEEP_A_BIT && grep chdir < $LOG > $OUT\" \
                    -e chdir $args ||\n\tdump_log_and_fail_with failed\n\
                    match_diff \"$OUT\" \"$EXP\"\n";
        let sh = Shell::new(&dir, "foo", "x86_64");
        let steps = sh.run(text, vec![]).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].options, ["-e", "chdir"]);
        assert_eq!(steps[0].filters.len(), 1);
        assert!(matches!(&steps[0].want, Want::Text(t) if t == "chdir(\"x\") = -1\n"));
        // A pipe that does not write the log first is not modelled.
        let other = text.replace("|cat > $LOG &&", "|grep x > $LOG &&");
        let sh = Shell::new(&dir, "foo", "x86_64");
        assert!(sh.run(&other, vec![]).unwrap_err().contains("piped"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// scm_rights-fd.test's and first_exec_failure.test's shapes: here-
    /// documents, expanded unless the delimiter is quoted, as the
    /// expected patterns; backslashes escape only `$`, `` ` `` and `\`.
    #[test]
    fn here_documents() {
        let text = "n='[1-9]+'\nrun_strace -e%network ../foo\n\
                    cat > \"$EXP\" << __EOF__\n\
                    sendmsg\\\\(3, \\$n=$n \"q\" 'q'\\\\)\n  # kept\n__EOF__\n\
                    match_grep \"$LOG\" \"$EXP\"\n\
                    run_strace -e%network ../foo\ncat > \"$EXP\" <<'EOF'\n$n \\\\\nEOF\n\
                    match_grep \"$LOG\" \"$EXP\"\n";
        let steps = Shell::new(std::path::Path::new("/t"), "foo", "x86_64")
            .run(text, vec![])
            .unwrap();
        assert_eq!(
            steps[0].want,
            Want::Text("sendmsg\\(3, $n=[1-9]+ \"q\" 'q'\\)\n  # kept\n".into())
        );
        assert_eq!(steps[1].want, Want::Text("$n \\\\\n".into()));
    }

    /// nsyscalls-d.test's shape without -d: strace's stderr cut by grep,
    /// matched with a file made empty.
    #[test]
    fn straces_stderr_cut_into_a_file() {
        let text = "run_strace -e trace=none ../foo x 9 2> \"$LOG-err-all\" > \"$EXP\" \
                    9> \"$EXP-err\"\n[ -n \"$debug_flag\" ] || > \"$EXP-err\"\n\
                    grep \"invalid syscall\" \"$LOG-err-all\" > \"$LOG-err\"\n\
                    match_diff \"$LOG\" \"$EXP\"\nmatch_diff \"$LOG-err\" \"$EXP-err\"\n";
        let steps = Shell::new(std::path::Path::new("/t"), "foo", "x86_64")
            .run(text, vec![])
            .unwrap();
        assert_eq!(steps.len(), 2);
        assert!(!steps[0].of_stderr && steps[1].of_stderr);
        assert_eq!(
            (steps[1].filters.len(), steps[1].matcher),
            (1, Matcher::Diff)
        );
        assert_eq!(steps[1].want, Want::Text(String::new()));
        // With the expected messages left as the program wrote them.
        let d = text.replace("[ -n \"$debug_flag\" ] || > \"$EXP-err\"\n", "");
        let steps = Shell::new(std::path::Path::new("/t"), "foo", "x86_64")
            .run(&d, vec![])
            .unwrap();
        assert_eq!(steps[1].want, Want::ProgStderr);
    }
}
