//! init.sh's `test_pidns`: the PID-namespace tests' one traced run (see
//! [`Shell::test_pidns`]); moved out of script.rs, which holds the
//! interpreter itself.

use super::posix::bre;
use super::{Shell, Skip};
use crate::spec::{LogFilter, Matcher, Step, Want};

impl Shell<'_> {
    /// init.sh's `test_pidns ARGS`: the program (which moves its children
    /// into a new PID namespace itself, `pidns_test_init`) traced with
    /// `--decode-pids=pidns --status=!unavailable -f ARGS`, the lines of
    /// the namespace's parent and init process (the pids of the log's
    /// last two lines) dropped, cut at the `QUIRK:START-OF-TEST-OUTPUT`
    /// ranges, and compared with its stdout. init.sh then runs the same
    /// with strace itself in a nested namespace (`unshare -Urpf
    /// $STRACE`): a tracer outside the guest has no namespace of its own
    /// (its "strace's PID NS" is always the guest's initial one), so that
    /// second run has no counterpart here and is not modelled.
    pub(super) fn test_pidns(&mut self, args: &[String]) -> Result<(), Skip> {
        let mut options: Vec<String> = ["--decode-pids=pidns", "--status=!unavailable", "-f"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut prog_args = Vec::new();
        let mut start = None;
        for a in args {
            if let Some(s) = a.strip_prefix("QUIRK:START-OF-TEST-OUTPUT:") {
                start = Some(regex::Regex::new(&regex::escape(s)).map_err(|e| e.to_string())?);
            } else if let Some(s) = a.strip_prefix("QUIRK:START-OF-TEST-OUTPUT-REGEX:") {
                start = Some(bre(s)?);
            } else if let Some(s) = a.strip_prefix("QUIRK:PROG-ARGS:") {
                prog_args = crate::spec::shell_words(s);
            } else {
                options.push(a.clone());
            }
        }
        let mut filters = vec![LogFilter::DropPidsOfLastLines(2)];
        if let Some(start) = start {
            filters.push(LogFilter::Ranges(
                start,
                bre("^[1-9][0-9]* .*+++ exited with 0 +++$")?,
            ));
        }
        self.steps.push(Step {
            prog: self.name.clone(),
            prog_args,
            redirections: Vec::new(),
            options,
            filters,
            require: Vec::new(),
            matcher: Matcher::Diff,
            want: Want::Stdout,
            of_stderr: false,
            optional: false,
            negative: false,
            status: 0,
            prep: Vec::new(),
            nonempty: false,
            exports: Vec::new(),
            on_path: false,
            wrapper: Vec::new(),
            attach: Default::default(),
            direct: false,
        });
        Ok(())
    }
}
