//! Commands of the guest's own path that a script runs under strace
//! (`check_prog true; run_prog true; run_strace ... true`): a command
//! the script checked the host has (`check_prog CMD`) and then traces is
//! run in the guest as the guest has it (busybox's), found on the
//! guest's path before the run's environment changes, as strace finds
//! it on its own `PATH` before `-E` applies (strace-E-override traces
//! `true` with `--env=PATH=/`). Only commands checked first: a script
//! that runs an unchecked host command stays unmodelled.

use super::Shell;

/// strace's short options that take their argument as the next word
/// (the word after them is no program).
const WITH_ARG: &[&str] = &[
    "-a", "-b", "-e", "-E", "-I", "-o", "-O", "-p", "-P", "-s", "-S", "-u", "-U", "-X",
];

impl Shell<'_> {
    /// `check_prog CMD...`: the commands are on the host's (and so the
    /// guest's) path from now on.
    pub(super) fn check_prog(&mut self, args: &[String]) {
        self.on_path.extend(args.iter().cloned());
    }

    /// Whether `cmd` is a checked command of the path (no `../PROG`).
    pub(super) fn on_path(&self, cmd: &str) -> bool {
        !cmd.contains('/') && self.on_path.contains(cmd)
    }

    /// Where the traced program is in `run_strace`'s words: the first
    /// `../PROG`, else the first checked command that is no option's
    /// argument.
    pub(super) fn prog_at(&self, argv: &[String]) -> Option<usize> {
        if let Some(at) = argv.iter().position(|w| w.starts_with("../")) {
            return Some(at);
        }
        let mut i = 0;
        while i < argv.len() {
            let w = argv[i].as_str();
            if WITH_ARG.contains(&w) {
                i += 2;
                continue;
            }
            if !w.starts_with('-') {
                return self.on_path(w).then_some(i);
            }
            i += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::Shell;

    fn steps(text: &str) -> Result<Vec<crate::spec::Step>, String> {
        Shell::new(std::path::Path::new("/nonexistent"), "t", "x86_64").run(text, Vec::new())
    }

    #[test]
    fn checked_commands_run_from_the_guests_path() {
        let s = steps(
            "check_prog true\nrun_prog true\n\
             run_strace --quiet=all -e trace=none --env=PATH=/ $args\n",
        )
        .unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].prog, "true");
        assert!(s[0].on_path);
        assert_eq!(s[0].options[1..], ["-e", "trace=none", "--env=PATH=/"]);
        // Not checked: a host command the model does not run.
        assert!(steps("run_prog true\n").is_err());
        assert!(steps("run_strace -e trace=none true\n").is_err());
    }
}
