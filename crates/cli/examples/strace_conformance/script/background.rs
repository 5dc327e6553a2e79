//! Programs a test script runs in the background for strace to attach to
//! (attach-p-cmd.test, strace-ff.test, strace-p-Y-p.test...):
//!
//! ```sh
//! ../set_ptracer_any ../PROG >> "$EXP" &
//! tracee_pid=$!
//! while ! [ -s "$EXP" ]; do kill -0 $tracee_pid 2> /dev/null || fail_ '...'; done
//! run_strace -a30 -echdir -p $tracee_pid ../CMD > "$EXP"
//! match_diff "$LOG" "$EXP"
//! ```
//!
//! `CMD &` becomes a [`BgJob`] and `$!` a placeholder (`@BG1`) naming it;
//! the wait for its file is one the guest makes (the model takes `[ -s
//! F ]` of a job's file as true, so the loop ends); the next `run_strace`
//! takes the jobs started since the last one into its step, with `-p
//! @BGn` marking the ones strace attaches to (the guest runs them all, in
//! the script's order, before the traced command). strace waits for
//! every process it traces, so the guest collects the files after all of
//! them ended. A command run in the background that is no program of the
//! suite (strace itself, killed by the script: status-detached.test)
//! stays not modelled.

use super::{split_redirs, Shell, Skip};
use crate::spec::{BgJob, Want};

/// The `$!` placeholder of the `n`th job the script started (from 1).
fn placeholder(n: usize) -> String {
    format!("@BG{n}")
}

/// The job number of a `$!` placeholder.
fn job_number(w: &str) -> Option<usize> {
    w.strip_prefix("@BG")?.parse().ok()
}

/// A redirection's target as the guest sees it: a file of the test
/// (`@EXP`) is a file of that name in the work directory.
fn guest_redirection(r: &str) -> Result<String, Skip> {
    let digits: String = r.chars().take_while(|c| c.is_ascii_digit()).collect();
    let op_len = r[digits.len()..]
        .chars()
        .take_while(|c| matches!(c, '>' | '<' | '&'))
        .count();
    let (op, target) = r[digits.len()..].split_at(op_len);
    if target == "/dev/null" || target.starts_with('&') || op.ends_with('&') {
        return Ok(r.to_string());
    }
    match target.strip_prefix('@') {
        Some(f)
            if f.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') =>
        {
            Ok(format!("{digits}{op}{f}"))
        }
        _ => Err(format!(
            "a background program's redirection {r} not modelled"
        )),
    }
}

impl Shell<'_> {
    /// `CMD ARGS... &`: a program of the suite started in the
    /// background; `$!` names it.
    pub(super) fn background(&mut self, stmt: &str) -> Result<(), Skip> {
        let words = self.expand(stmt)?;
        let (mut argv, mut redirs) = split_redirs(&words);
        // `../set_ptracer_any sh -c "exec ../PROG >> $EXP"`: the program
        // with its own redirections after the outer ones (they win).
        if let [wrapper, sh, c, inner] = &argv[..] {
            if let Some(cmd) = (sh == "sh" && c == "-c")
                .then(|| inner.strip_prefix("exec "))
                .flatten()
            {
                let (inner_argv, inner_redirs) =
                    split_redirs(&super::join_redirections(crate::spec::shell_words(cmd)));
                argv = std::iter::once(wrapper.clone()).chain(inner_argv).collect();
                redirs.extend(inner_redirs);
            }
        }
        let Some(first) = argv.first() else {
            return Err("an empty command run in the background".into());
        };
        if first == "@STRACE" {
            return Err(
                "strace run in the background and stopped by the script (a detach \
                        mid-run) not modelled: each guest run is recorded whole"
                    .into(),
            );
        }
        if !first.starts_with("../") {
            return Err(format!(
                "a command run in the background ({first}) not modelled"
            ));
        }
        let redirections = redirs
            .iter()
            .map(|r| guest_redirection(r))
            .collect::<Result<Vec<_>, _>>()?;
        let job = BgJob {
            argv,
            redirections,
            wait_file: None,
            traced: false,
        };
        if job.traced_prog().is_none() {
            return Err("set_ptracer_any without a program".into());
        }
        // The files it writes: what the script reads of them later is
        // what the guest collects (see Attach::collect).
        for r in &job.redirections {
            if let Some((_, f)) = r.split_once('>') {
                let f = f.trim_start_matches('>');
                if f != "/dev/null" && !f.starts_with('&') {
                    self.bg_files.insert(format!("@{f}"), vec![f.to_string()]);
                }
            }
        }
        self.bg_count += 1;
        self.bg_live.push((self.bg_count, job));
        self.vars.insert("!".into(), placeholder(self.bg_count));
        Ok(())
    }

    /// `[ -s F ]` of a file a background program writes: the guest waits
    /// for it before it goes on (the script's wait loop), so it is
    /// non-empty here.
    pub(super) fn background_wait(&mut self, words: &[String]) -> Option<i32> {
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let ["[", "-s", f, "]"] = w.as_slice() else {
            return None;
        };
        let name = f.strip_prefix('@')?;
        let (_, job) = self.bg_live.iter_mut().rev().find(|(_, j)| {
            j.redirections
                .iter()
                .any(|r| r.ends_with(&format!(">{name}")))
        })?;
        job.wait_file = Some(name.to_string());
        Some(0)
    }

    /// The background jobs a `run_strace` with these options attaches
    /// to: they move into its step (the `-p @BGn` words renamed to their
    /// index there, from 1); an error for a `-p` naming no job.
    pub(super) fn take_background(&mut self, options: &mut [String]) -> Result<Vec<BgJob>, Skip> {
        let mut jobs: Vec<BgJob> = Vec::new();
        let live = std::mem::take(&mut self.bg_live);
        self.bg_index.clear();
        for (k, (n, job)) in live.into_iter().enumerate() {
            self.bg_index.insert(n, k);
            jobs.push(job);
        }
        let mut i = 0;
        while i < options.len() {
            let o = options[i].as_str();
            let value = match o {
                "-p" | "--attach" => i + 1,
                _ if o.starts_with("-p") || o.starts_with("--attach=") => i,
                _ => {
                    i += 1;
                    continue;
                }
            };
            let Some(v) = options.get(value) else { break };
            let word = v
                .trim_start_matches("--attach=")
                .trim_start_matches("-p")
                .to_string();
            let k = job_number(&word)
                .and_then(|n| self.bg_index.get(&n).copied())
                .ok_or_else(|| format!("-p {word} (no program the script started) not modelled"))?;
            jobs[k].traced = true;
            options[value] = v.replace(&word, &placeholder(k + 1));
            i = value + 1;
        }
        Ok(jobs)
    }

    /// `match_diff "$LOG.$pid"`: the `-ff` file of one attached process;
    /// the log's name without it, and the job's index in the step.
    pub(super) fn log_of_job(&self, f: &str) -> Option<usize> {
        let n = job_number(f.strip_prefix("@LOG.")?)?;
        self.bg_index.get(&n).copied()
    }

    /// `[ "$LOG.$pid" = "$*" ]` after `set -- "$LOG".*` (`-ff`: the
    /// files strace wrote are one per process): the check that the
    /// job's process is the only one traced, made on the last step.
    pub(super) fn only_log_check(&mut self, words: &[String]) -> Option<i32> {
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let ["[", a, "=", b, "]"] = w.as_slice() else {
            return None;
        };
        let one = match (*a, *b) {
            (x, "@LOG.*") | ("@LOG.*", x) => x,
            _ => return None,
        };
        let k = self.log_of_job(one)?;
        self.steps.last_mut()?.attach.only_log_of = Some(k);
        Some(0)
    }

    /// `cat "$OUT" >> "$EXP"` of files background programs wrote: the
    /// expected output is their concatenation.
    pub(super) fn background_cat(&mut self, words: &[String]) -> Option<i32> {
        let (argv, redirs) = split_redirs(words);
        let ["cat", from] = argv.iter().map(String::as_str).collect::<Vec<_>>()[..] else {
            return None;
        };
        let [to] = &redirs[..] else { return None };
        let to = to.strip_prefix(">>")?;
        let add = self.bg_files.get(from)?.clone();
        self.bg_files.get_mut(to)?.extend(add);
        Some(0)
    }

    /// The expected output of a match against `f`, when background
    /// programs wrote it: the guest collects their files.
    pub(super) fn background_want(&self, f: &str) -> Option<(Want, Vec<String>)> {
        let parts = self.bg_files.get(f)?;
        Some((Want::Stdout, parts.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Matcher;

    fn shell() -> Shell<'static> {
        Shell::new(
            std::path::Path::new("/nonexistent"),
            "attach-p-cmd",
            "x86_64",
        )
    }

    #[test]
    fn a_program_attached_with_p_and_a_command() {
        let text = "../set_ptracer_any ../attach-p-cmd-p >> \"$EXP\" &\ntracee_pid=$!\n\
                    while ! [ -s \"$EXP\" ]; do\n\tkill -0 $tracee_pid 2> /dev/null ||\n\
                    \t\tfail_ 'set_ptracer_any failed'\ndone\n\
                    run_strace -a30 -echdir -p $tracee_pid ../attach-p-cmd-cmd > \"$EXP\"\n\
                    match_diff \"$LOG\" \"$EXP\"\n";
        let steps = shell().run(text, Vec::new()).unwrap();
        assert_eq!(steps.len(), 1);
        let s = &steps[0];
        assert_eq!(s.prog, "attach-p-cmd-cmd");
        assert_eq!(s.options, ["-a30", "-echdir", "-p", "@BG1"]);
        assert_eq!(s.want, Want::Stdout);
        assert_eq!(s.matcher, Matcher::Diff);
        assert_eq!(s.redirections, [">EXP"]);
        assert_eq!(s.attach.collect, ["EXP"]);
        let j = &s.attach.jobs[0];
        assert!(j.traced);
        assert_eq!(j.wait_file.as_deref(), Some("EXP"));
        assert_eq!(j.redirections, [">>EXP"]);
        assert_eq!(j.traced_prog(), Some("attach-p-cmd-p"));
    }

    #[test]
    fn only_attached_processes_and_their_files() {
        let text = "../set_ptracer_any ../sleep 3 > \"$OUT\" &\ntracee_pid=$!\n\
                    while ! [ -s \"$OUT\" ]; do\n\tkill -0 $tracee_pid 2> /dev/null || fail_ x\ndone\n\
                    run_strace -a14 -eexit_group -ff -p $tracee_pid\n\
                    match_diff \"$LOG.$tracee_pid\"\nset +f\nset -- \"$LOG\".*\n\
                    [ \"$LOG.$tracee_pid\" = \"$*\" ] ||\n\tfail_ \"too many output files: $*\"\n";
        let steps = shell().run(text, Vec::new()).unwrap();
        let s = &steps[0];
        assert_eq!(s.prog, "");
        assert_eq!(s.attach.log_of, Some(0));
        assert_eq!(s.attach.only_log_of, Some(0));
        assert!(matches!(s.want, Want::File(_)));
    }

    #[test]
    fn two_programs_and_their_concatenated_files() {
        let text = "run_tracee()\n{\n\tlocal file\n\tfile=\"$1\"; shift\n\
                    \t../set_ptracer_any $@ > /dev/null 3> \"$file\" &\n\tpid=$!\n\
                    \twhile ! [ -s \"$file\" ]; do\n\t\tkill -0 $pid 2> /dev/null || fail_ x\n\tdone\n}\n\
                    run_tracee \"$EXP\" ../strace-p1-Y-p 2\npid1=$pid\n\
                    run_tracee \"$OUT\" ../strace-p-Y-p2 3\npid2=$pid\n\
                    run_strace -enone -p \"$pid1\" -Y -p \"$pid2\"\n\
                    cat \"$OUT\" >> \"$EXP\"\ngrep -F +++ \"$LOG\" > \"$OUT\"\n\
                    match_diff \"$OUT\" \"$EXP\"\n";
        let steps = shell().run(text, Vec::new()).unwrap();
        let s = &steps[0];
        assert_eq!(s.options, ["-enone", "-p", "@BG1", "-Y", "-p", "@BG2"]);
        assert_eq!(s.attach.jobs.len(), 2);
        assert!(s.attach.jobs.iter().all(|j| j.traced));
        assert_eq!(s.attach.collect, ["EXP", "OUT"]);
        assert_eq!(s.want, Want::Stdout);
        assert_eq!(s.attach.jobs[1].redirections, [">/dev/null", "3>OUT"]);
    }

    #[test]
    fn a_program_exec_d_by_sh_c() {
        let text = "../set_ptracer_any sh -c \"exec ../attach-f-p >> $EXP\" > /dev/null &\n\
                    tracee_pid=$!\nwhile ! [ -s \"$EXP\" ]; do\n\tkill -0 $tracee_pid || fail_ x\ndone\n\
                    run_strace -a32 -f -echdir -p $tracee_pid ../attach-f-p-cmd > \"$EXP\"\n\
                    match_diff \"$LOG\" \"$EXP\"\n";
        let steps = shell().run(text, Vec::new()).unwrap();
        let j = &steps[0].attach.jobs[0];
        assert_eq!(j.argv, ["../set_ptracer_any", "../attach-f-p"]);
        assert_eq!(j.redirections, [">/dev/null", ">>EXP"]);
        assert_eq!(j.wait_file.as_deref(), Some("EXP"));
    }

    #[test]
    fn strace_itself_in_the_background_is_not_modelled() {
        let text = "$STRACE -o \"$LOG\" -I2 -e status=detached ../sleep 2 &\npid=$!\n";
        assert!(shell().run(text, Vec::new()).is_err());
    }
}
