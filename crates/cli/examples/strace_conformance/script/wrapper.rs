//! strace run under another program of the suite (`STRACE="../set_sigblock
//! 1 $sig $STRACE"`): the program changes its own state, then execs the
//! rest of its command line (strace), whose tracee inherits that state.
//! Outside the guest there is no strace to inherit it: the program runs
//! in the guest in front of the traced program and execs it, which
//! gives the tracee the same state only where fork and exec keep it for
//! strace's child too. So only programs whose state is such are
//! modelled, each with what it does ([`EXEC_WRAPPERS`]); others
//! (`block_reset_raise_run`: a pending signal, which strace's fork does
//! not pass on; `run_expect_termsig`: judges how strace itself ends)
//! keep the test unmodelled.

use super::{Shell, Skip};

/// The suite's programs that set state kept across fork and exec, then
/// exec their remaining arguments: name, what they set.
const EXEC_WRAPPERS: &[(&str, &str)] = &[
    // sigprocmask: the mask is inherited by fork and kept by execve.
    ("set_sigblock", "blocks or unblocks a signal"),
    // signal(SIG_IGN/SIG_DFL): ignored dispositions survive fork and
    // execve (handlers would not; these are none).
    ("set_sigign", "ignores a signal or restores its default"),
];

impl Shell<'_> {
    /// The program (argv) strace runs under, from `$STRACE`: none for
    /// strace itself, the words before `@STRACE` for an
    /// [`EXEC_WRAPPERS`] program.
    pub(super) fn strace_wrapper(&self) -> Result<Vec<String>, Skip> {
        let strace = self.var("STRACE");
        let words: Vec<String> = strace.split_whitespace().map(str::to_string).collect();
        match words.split_last() {
            Some((last, [])) if last == "@STRACE" => Ok(Vec::new()),
            Some((last, prefix)) if last == "@STRACE" && is_exec_wrapper(&prefix[0]) => {
                Ok(prefix.to_vec())
            }
            _ => Err(format!(
                "strace run under another program ({strace}) not modelled"
            )),
        }
    }
}

fn is_exec_wrapper(prog: &str) -> bool {
    prog.strip_prefix("../")
        .is_some_and(|p| EXEC_WRAPPERS.iter().any(|(w, _)| *w == p))
}

#[cfg(test)]
mod tests {
    use super::super::Shell;

    fn steps(text: &str) -> Result<Vec<crate::spec::Step>, String> {
        Shell::new(std::path::Path::new("/nonexistent"), "t", "x86_64").run(text, Vec::new())
    }

    #[test]
    fn strace_under_a_program_that_execs_it() {
        let s = steps(
            "saved=\"$STRACE\"\nSTRACE=\"../set_sigblock 1 2 $saved\"\n\
             run_strace -enone ../check_sigblock 1 2\n",
        )
        .unwrap();
        assert_eq!(s[0].wrapper, ["../set_sigblock", "1", "2"]);
        assert_eq!(s[0].prog, "check_sigblock");
        // A pending signal is not passed on by strace's fork.
        let e = steps(
            "STRACE=\"../block_reset_raise_run 1 $STRACE\"\nrun_strace -echdir ../umovestr\n",
        )
        .unwrap_err();
        assert!(e.contains("under another program"), "{e}");
    }
}
