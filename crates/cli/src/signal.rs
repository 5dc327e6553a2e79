//! Signals: which ones interrupt vstrace (strace's `-I`), and sending
//! SIGTERM to the QEMU vstrace started. The CLI's uses of `unsafe` are
//! here, each a single libc call.
//!
//! strace's `-I` says which signals interrupt strace itself; vstrace's
//! counterpart is which signals end vstrace (and the QEMU that `vstrace
//! run` starts, which would otherwise share the terminal's process group
//! and so get its Ctrl-C too). 1 and 2 keep vstrace's default: a fatal
//! signal (SIGHUP, SIGINT, SIGTERM) ends the trace cleanly. 3 and 4
//! ignore strace's fatal set (SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM;
//! 4 SIGTSTP too) and start `run`'s QEMU in a process group of its own:
//! the trace then ends only with the guest command, a time limit or a
//! signal outside the set.
#![allow(unsafe_code)]

use std::os::unix::process::CommandExt;
use std::process::Command;

/// strace's `-I` levels (its `INTR_*`), by their numbers 1 to 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interruptible {
    /// 1, `anywhere` (or `always`): no signal is blocked.
    Anywhere,
    /// 2, `waiting`: strace blocks fatal signals only while it decodes a
    /// call; vstrace has no such window, so it is 1 (strace's default,
    /// and vstrace's).
    #[default]
    Waiting,
    /// 3, `never`: the fatal signals never interrupt.
    Never,
    /// 4, `never_tstp`: nor does SIGTSTP (^Z).
    NeverTstp,
}

impl Interruptible {
    /// strace's `parse_interruptible_arg`: a name, or a number 1 to 4
    /// read as `string_to_uint_upto` reads it (what `strtoll` takes:
    /// leading blanks and a sign, then decimal digits only). `None` for
    /// anything else (0 included), which strace reports as `invalid -I
    /// argument: 'ARG'`.
    pub fn parse(arg: &str) -> Option<Self> {
        let by_name = match arg {
            "anywhere" | "always" => Some(Self::Anywhere),
            "waiting" => Some(Self::Waiting),
            "never" => Some(Self::Never),
            "never_tstp" => Some(Self::NeverTstp),
            _ => None,
        };
        by_name.or_else(|| match crate::trace_args::diag::uint_upto(arg, 4)? {
            1 => Some(Self::Anywhere),
            2 => Some(Self::Waiting),
            3 => Some(Self::Never),
            4 => Some(Self::NeverTstp),
            _ => None,
        })
    }

    /// Whether the fatal signals end vstrace (1 and 2).
    pub fn fatal_signals_interrupt(self) -> bool {
        matches!(self, Self::Anywhere | Self::Waiting)
    }
}

/// strace's fatal signals, those `-I 3` blocks.
const FATAL: [libc::c_int; 5] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGPIPE,
    libc::SIGTERM,
];

/// Sets up which signals end vstrace: with 1 and 2, `on_interrupt` runs
/// on SIGINT, SIGTERM or SIGHUP (the caller ends the trace cleanly);
/// with 3 and 4 the fatal signals (and SIGTSTP with 4) are ignored, so
/// `on_interrupt` never runs.
pub fn install(
    when: Interruptible,
    on_interrupt: impl FnMut() + Send + 'static,
) -> Result<(), ctrlc::Error> {
    if when.fatal_signals_interrupt() {
        return ctrlc::set_handler(on_interrupt);
    }
    let mut ignored = FATAL.to_vec();
    if when == Interruptible::NeverTstp {
        ignored.push(libc::SIGTSTP);
    }
    for sig in ignored {
        // SAFETY: signal(2) with SIG_IGN installs no code of ours and
        // touches no memory; every number is a valid, catchable signal.
        unsafe {
            libc::signal(sig, libc::SIG_IGN);
        }
    }
    Ok(())
}

/// Prepares the QEMU command of `vstrace run` for `when`: with 3 and 4,
/// QEMU runs in a process group of its own, so a terminal's Ctrl-C (sent
/// to the foreground group) reaches neither it nor vstrace (QEMU installs
/// its own SIGINT/SIGTERM handlers, so an inherited "ignore" would not
/// last). As it then outlives vstrace's group, it is sent SIGTERM (a
/// clean exit, the plugin flushing its output) if vstrace dies.
pub fn prepare_qemu(when: Interruptible, cmd: &mut Command) {
    if when.fatal_signals_interrupt() {
        return;
    }
    cmd.process_group(0);
    // SAFETY: the closure runs in the forked child before exec; prctl(2)
    // is async-signal-safe, allocates nothing and takes plain integers.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong);
            Ok(())
        });
    }
}

/// Sends SIGTERM to `pid`, which lets QEMU exit cleanly (the plugin's
/// exit callback flushes the trace). A pid that is gone is not an error:
/// QEMU may have exited on its own meanwhile.
pub fn terminate(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid <= 0 {
        // 0 and negative pids name process groups: never ours to signal.
        return;
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of ours;
    // the pid is a single process (checked above) and SIGTERM a valid
    // signal.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

#[cfg(test)]
mod tests {
    use super::Interruptible::{self, *};

    #[test]
    fn names_and_numbers_are_strace_s() {
        for (arg, want) in [
            ("1", Anywhere),
            ("anywhere", Anywhere),
            ("always", Anywhere),
            ("2", Waiting),
            ("waiting", Waiting),
            ("3", Never),
            ("never", Never),
            ("4", NeverTstp),
            ("never_tstp", NeverTstp),
            // strtoll's leading blanks, sign and zeros.
            (" 3", Never),
            ("+4", NeverTstp),
            ("03", Never),
        ] {
            assert_eq!(Interruptible::parse(arg), Some(want), "{arg:?}");
        }
    }

    #[test]
    fn anything_else_is_invalid() {
        for arg in [
            "",
            "0",
            "5",
            "-1",
            "3 ",
            "3x",
            "0x3",
            "NEVER",
            "never ",
            "tstp",
            " ",
            "+",
            "99999999999999999999",
        ] {
            assert_eq!(Interruptible::parse(arg), None, "{arg:?}");
        }
    }

    #[test]
    fn only_1_and_2_let_fatal_signals_interrupt() {
        assert!(Anywhere.fatal_signals_interrupt());
        assert!(Waiting.fatal_signals_interrupt());
        assert!(!Never.fatal_signals_interrupt());
        assert!(!NeverTstp.fatal_signals_interrupt());
        assert_eq!(Interruptible::default(), Waiting);
    }
}
