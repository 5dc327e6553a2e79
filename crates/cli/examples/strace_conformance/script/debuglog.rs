//! strace's `-d` log of a run of nothing, read by a script to learn what
//! its host's ptrace offers (int_0x80.test):
//!
//! ```sh
//! $STRACE -d -enone / > /dev/null 2> "$LOG"
//! grep -x "[^:]*strace: PTRACE_GET_SYSCALL_INFO works" "$LOG" > /dev/null ||
//!         skip_ 'PTRACE_GET_SYSCALL_INFO does not work'
//! ```
//!
//! A tracer outside the guest has each call's number, arguments and
//! return whatever the guest's ptrace offers: the modelled log says what
//! strace's says on a host where the call info works, and a `grep` of it
//! is answered from those lines. Any other use of such a log stays not
//! modelled.

use super::{checks::grep_args, split_redirs, Shell, Skip};

/// The lines of strace's `-d` log the model knows of.
const DEBUG_LOG: &[&str] = &["strace: PTRACE_GET_SYSCALL_INFO works"];

impl Shell<'_> {
    /// `$STRACE -d ... 2> "$LOG"` (strace's stdout dropped): the log is
    /// the modelled one; `None` for another invocation.
    pub(super) fn debug_run(&mut self, words: &[String]) -> Option<i32> {
        let (argv, redirs) = split_redirs(words);
        let debug = argv.first().is_some_and(|c| c == "@STRACE")
            && argv[1..].iter().any(|a| a == "-d")
            && redirs.iter().any(|r| r == "2>@LOG");
        if !debug {
            return None;
        }
        self.debug_log = true;
        Some(0)
    }

    /// `grep [-x] RE "$LOG"` of the modelled `-d` log: its status.
    pub(super) fn debug_grep(&mut self, words: &[String]) -> Option<Result<i32, Skip>> {
        if !self.debug_log || self.pending.is_some() {
            return None;
        }
        let (argv, _) = split_redirs(words);
        let w: Vec<&str> = argv.iter().map(String::as_str).collect();
        let at = w.iter().position(|a| *a == "grep")?;
        let [args @ .., "@LOG"] = &w[at + 1..] else {
            return None;
        };
        let (invert, re) = grep_args(args)?;
        let re = match regex::Regex::new(&re) {
            Ok(re) => re,
            Err(e) => return Some(Err(format!("regex {re:?}: {e}"))),
        };
        let found = DEBUG_LOG.iter().any(|l| re.is_match(l) != invert);
        Some(Ok(i32::from(!found)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_info_works_outside_the_guest() {
        let text = "$STRACE -d -enone / > /dev/null 2> \"$LOG\"\n\
                    grep -x \"[^:]*strace: PTRACE_GET_SYSCALL_INFO works\" \"$LOG\" > /dev/null ||\n\
                    \tskip_ 'PTRACE_GET_SYSCALL_INFO does not work'\n\
                    run_strace_match_diff -a11 -e trace=getgid32\n";
        let sh = Shell::new(std::path::Path::new("/nonexistent"), "int_0x80", "x86_64");
        let steps = sh.run(text, Vec::new()).unwrap();
        assert_eq!(steps.len(), 1);
        let text = "$STRACE -d -enone / > /dev/null 2> \"$LOG\"\n\
                    grep -x \"[^:]*strace: PTRACE_GET_SYSCALL_INFO does not work\" \"$LOG\" ||\n\
                    \tskip_ 'works'\nrun_strace_match_diff -a11\n";
        let sh = Shell::new(std::path::Path::new("/nonexistent"), "x", "x86_64");
        assert!(sh.run(text, Vec::new()).unwrap_err().contains("works"));
    }
}
