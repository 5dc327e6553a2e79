//! The processes a step with background programs (`-p $!`, see
//! `spec::Attach`) cuts its trace to, and what strace's files of them
//! would be.

use std::collections::BTreeSet;

use crate::{guest, options, spec};

/// The processes of a step with background programs that its lines
/// are cut to.
pub(super) struct Attached {
    /// The pids: the program's (if any), then the attached ones.
    pub pids: Vec<u32>,
    /// The step reads one process's `-ff` file (`$LOG.$pid`).
    pub one_file: bool,
    /// No other process may have lines (`-ff`: one file only).
    only: bool,
}

impl Attached {
    /// `None` for a step without background programs.
    pub fn of(step: &spec::Step, r: &guest::ProgResult) -> Option<Attached> {
        let a = &step.attach;
        if a.jobs.is_empty() {
            return None;
        }
        let bg = |k: usize| r.bg.get(k).copied().unwrap_or(0);
        let pids = match a.log_of {
            Some(k) => vec![bg(k)],
            None => (!step.prog.is_empty())
                .then_some(r.pid)
                .into_iter()
                .chain(
                    a.jobs
                        .iter()
                        .enumerate()
                        .filter(|(_, b)| b.traced)
                        .map(|(k, _)| bg(k)),
                )
                .collect(),
        };
        Some(Attached {
            pids,
            one_file: a.log_of.is_some(),
            only: a.only_log_of.is_some(),
        })
    }

    /// Whether strace's lines have their pid: with -f (not -ff), or
    /// when it traces several processes from the start.
    pub fn keep_pid(&self, m: &options::Mapped) -> bool {
        (m.follow && !m.separate) || (self.pids.len() > 1 && !self.one_file)
    }

    /// `-ff`'s check that only one process has a file: the failure
    /// when processes other than the step's have lines in `raw`.
    pub fn stray_files(&self, raw: &str) -> Option<String> {
        if !self.only {
            return None;
        }
        let others: BTreeSet<&str> = raw
            .lines()
            .filter_map(|l| l.strip_prefix("[pid ")?.split([']', '<']).next())
            .map(str::trim)
            .filter(|p| !self.pids.iter().any(|q| q.to_string() == *p))
            .collect();
        (!others.is_empty()).then(|| {
            format!(
                "too many output files: processes {} have lines too",
                others.into_iter().collect::<Vec<_>>().join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_attached_process_may_have_a_file() {
        let a = Attached {
            pids: vec![17],
            one_file: true,
            only: true,
        };
        assert_eq!(a.stray_files("[pid    17] exit_group(0) = ?\n"), None);
        assert_eq!(
            a.stray_files(
                "[pid    17] exit_group(0) = ?\n[pid    18<sleep>] +++ exited with 0 +++\n"
            ),
            Some("too many output files: processes 18 have lines too".into())
        );
    }
}
