//! vstrace's exit statuses: what happened, for scripts. Without a fault,
//! `run` exits with the guest command's status (like strace) and
//! `attach`/`replay` with 0.

/// An error before or while starting (bad option, QEMU not found, ...).
pub const ERROR: u8 = 1;
/// A usage error: a bad command line (clap's own status), or a `--hooks`
/// file that fails to import (found before the guest starts).
pub const USAGE: u8 = 2;
/// The trace file given to `replay` is damaged (the records before the
/// damage were written).
pub const TRACE_DAMAGED: u8 = 65;
/// The guest kernel panicked.
pub const KERNEL_PANIC: u8 = 70;
/// The guest reset itself (triple fault or reboot) before the command
/// finished.
pub const GUEST_RESET: u8 = 71;
/// QEMU died (killed by a signal, or crashed); for attach, the VM went
/// away.
pub const QEMU_DIED: u8 = 72;
/// Writing the trace or the recording failed (disk full, I/O error).
pub const OUTPUT_FAILED: u8 = 74;
/// `--timeout` expired; QEMU was stopped.
pub const TIMEOUT: u8 = 124;
/// Interrupted (Ctrl-C, SIGINT/SIGTERM/SIGHUP).
pub const INTERRUPTED: u8 = 130;
/// The trace's reader went away (closed pipe).
pub const OUTPUT_CLOSED: u8 = 141;

/// The statuses as the CLI help shows them.
pub const HELP: &str = "Exit status:
  0-255  run: the guest command's exit status (attach, replay: 0)
  1      error (bad option, QEMU or kernel not found, ...)
  2      usage error (also: a --hooks file that fails to import)
  65     replay: the trace file is damaged (records before the damage are output)
  70     the guest kernel panicked
  71     the guest reset itself (triple fault or reboot)
  72     QEMU died (killed by a signal or crashed; attach: the VM went away)
  74     writing the trace or the recording failed (e.g. disk full)
  124    --timeout expired
  130    interrupted (Ctrl-C)
  141    the trace's output pipe was closed
In every case the trace written so far ends with a complete line.";

/// Why vstrace stopped the guest before it finished on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Ctrl-C (SIGINT, SIGTERM, SIGHUP).
    Interrupted,
    /// The reader of the guest's output or of the trace went away.
    OutputClosed,
    /// `--timeout` expired.
    Timeout,
}

/// How the guest (and QEMU with it) ended, when vstrace did not stop it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestEnd {
    /// The guest command exited with this status (128+n for signal n).
    Exited(i32),
    /// The guest triple-faulted or rebooted before the command finished.
    Reset,
    /// The guest kernel panicked.
    KernelPanic,
    /// The launcher's backstop timeout stopped QEMU.
    Timeout,
    /// QEMU was killed by a signal or crashed.
    QemuDied,
    /// The guest never ran: QEMU refused the plugin because the plugin
    /// could not set up its output (the output failure says why).
    NotStarted,
}

/// What went wrong writing the trace or the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFailure {
    /// The trace's reader closed the pipe (EPIPE): the reader's choice.
    Closed,
    /// Writing the trace or the recording failed (disk full, I/O error).
    Failed,
}

/// Everything the exit status of `vstrace run` depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunEnd {
    /// Set when vstrace stopped the guest itself.
    pub stopped: Option<Stopped>,
    /// How the guest ended (meaningless when `stopped` is set).
    pub guest: GuestEnd,
    /// The first output failure, if any.
    pub output: Option<OutputFailure>,
}

/// The exit status of `vstrace run`, the one place that decides it: a
/// stop by vstrace says the most, then a fault of the guest or QEMU, then
/// a failed output, then the guest command's own status.
pub fn run_status(end: &RunEnd) -> u8 {
    match end.stopped {
        Some(Stopped::Interrupted) => return INTERRUPTED,
        Some(Stopped::OutputClosed) => return OUTPUT_CLOSED,
        Some(Stopped::Timeout) => return TIMEOUT,
        None => {}
    }
    let guest = match end.guest {
        GuestEnd::Reset => return GUEST_RESET,
        GuestEnd::KernelPanic => return KERNEL_PANIC,
        GuestEnd::Timeout => return TIMEOUT,
        GuestEnd::QemuDied => return QEMU_DIED,
        GuestEnd::NotStarted => 1,
        GuestEnd::Exited(status) => status.clamp(0, 255) as u8,
    };
    match end.output {
        Some(OutputFailure::Closed) => OUTPUT_CLOSED,
        Some(OutputFailure::Failed) => OUTPUT_FAILED,
        None => guest,
    }
}

/// What a failed trace output means, said to the user: a closed pipe
/// (EPIPE) is the reader's choice and quiet; anything else is an error.
/// The one place that tells the two apart, for every command.
pub fn output_failure(errno: Option<i32>, message: &str) -> OutputFailure {
    if errno == Some(libc::EPIPE) {
        OutputFailure::Closed
    } else {
        say!("vstrace: error: writing the trace failed: {message}");
        OutputFailure::Failed
    }
}

/// The exit status of an output failure of an in-process engine (`attach`,
/// `replay`), whose error is the engine's text (errno read from it).
pub fn output_failed(err: &str) -> u8 {
    match output_failure(vstrace_launch::status::errno_of_message(err), err) {
        OutputFailure::Closed => OUTPUT_CLOSED,
        OutputFailure::Failed => OUTPUT_FAILED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_status_precedence() {
        let end = |stopped, guest, output| RunEnd {
            stopped,
            guest,
            output,
        };
        use GuestEnd::*;
        assert_eq!(run_status(&end(None, Exited(3), None)), 3);
        assert_eq!(run_status(&end(None, Exited(300), None)), 255);
        assert_eq!(run_status(&end(None, Exited(-1), None)), 0);
        assert_eq!(
            run_status(&end(None, Exited(0), Some(OutputFailure::Failed))),
            OUTPUT_FAILED
        );
        assert_eq!(
            run_status(&end(None, Exited(0), Some(OutputFailure::Closed))),
            OUTPUT_CLOSED
        );
        // A fault says more than a failed output.
        assert_eq!(
            run_status(&end(None, KernelPanic, Some(OutputFailure::Failed))),
            KERNEL_PANIC
        );
        assert_eq!(run_status(&end(None, Reset, None)), GUEST_RESET);
        assert_eq!(run_status(&end(None, QemuDied, None)), QEMU_DIED);
        assert_eq!(run_status(&end(None, Timeout, None)), TIMEOUT);
        // A recording that cannot be written stops QEMU from starting.
        assert_eq!(
            run_status(&end(None, NotStarted, Some(OutputFailure::Failed))),
            OUTPUT_FAILED
        );
        // A stop by vstrace says the most.
        for (s, want) in [
            (Stopped::Interrupted, INTERRUPTED),
            (Stopped::OutputClosed, OUTPUT_CLOSED),
            (Stopped::Timeout, TIMEOUT),
        ] {
            assert_eq!(
                run_status(&end(Some(s), QemuDied, Some(OutputFailure::Failed))),
                want
            );
        }
    }

    #[test]
    fn closed_pipe_is_told_from_failure_by_errno() {
        let text = |e| std::io::Error::from_raw_os_error(e).to_string();
        assert_eq!(output_failed(&text(libc::EPIPE)), OUTPUT_CLOSED);
        assert_eq!(output_failed(&text(libc::ENOSPC)), OUTPUT_FAILED);
        assert_eq!(output_failed("serializing a record: bad"), OUTPUT_FAILED);
        assert_eq!(
            output_failure(Some(libc::EPIPE), "x"),
            OutputFailure::Closed
        );
        assert_eq!(output_failure(None, "x"), OutputFailure::Failed);
    }
}
