//! vstrace's exit statuses: what happened, for scripts. Without a fault,
//! `run` exits with the guest command's status (like strace) and
//! `attach`/`replay` with 0.

/// An error before or while starting (bad option, QEMU not found, ...).
pub const ERROR: u8 = 1;
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
  2      usage error
  65     replay: the trace file is damaged (records before the damage are output)
  70     the guest kernel panicked
  71     the guest reset itself (triple fault or reboot)
  72     QEMU died (killed by a signal or crashed; attach: the VM went away)
  74     writing the trace or the recording failed (e.g. disk full)
  124    --timeout expired
  130    interrupted (Ctrl-C)
  141    the trace's output pipe was closed
In every case the trace written so far ends with a complete line.";

/// Reports an output failure and picks its status: a closed pipe is the
/// reader's choice (quiet, 141), anything else is an error (74).
pub fn output_failed(err: &str) -> u8 {
    if is_broken_pipe(err) {
        OUTPUT_CLOSED
    } else {
        say!("vstrace: error: writing the trace failed: {err}");
        OUTPUT_FAILED
    }
}

/// Whether an error message is EPIPE's.
pub fn is_broken_pipe(err: &str) -> bool {
    err.contains("Broken pipe") || err.contains("os error 32")
}
