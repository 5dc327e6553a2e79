//! The choices of an attach session (how the entry is found, how entries
//! and returns are trapped, how a stopped vCPU is moved past a breakpoint)
//! and the counters a session reports.

use std::time::Duration;

/// How the system call entry is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EntryDiscovery {
    /// The entry found by decoding the code near the IDT handlers (see
    /// [`crate::discover::entry_candidates`]), confirmed by a breakpoint
    /// hit; single-stepping a user `syscall` when that fails.
    #[default]
    Auto,
    /// Only the decoded and confirmed entry (the CLI's `--discover
    /// signature`).
    Signature,
    /// Only single-stepping a user `syscall` (needs no knowledge of the
    /// entry's code; waits for an interrupt or fault in user mode).
    Step,
}

/// Where system call returns are trapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExitTrap {
    /// At the return of the entry's call to the C handler when it is
    /// recognised (only system calls stop there), else at the return paths.
    #[default]
    Auto,
    /// At the `swapgs` before `sysretq` and `iretq` (every return to user
    /// mode, page faults and interrupts included).
    ReturnPaths,
}

/// How system call entries stop the vCPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EntryTrap {
    /// A write watchpoint on the slot of the entry's user stack pointer
    /// save, when the entry has one, the guest has one vCPU and the stub
    /// takes it; else a breakpoint. QEMU's gdbstub flushes all of TCG's translated code at
    /// every breakpoint stop, not at watchpoint stops.
    #[default]
    Auto,
    /// Only the watchpoint (an error when it cannot be set).
    Watch,
    /// A breakpoint on the entry's `swapgs`.
    Breakpoint,
}

/// How a vCPU stopped on a breakpoint is moved past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResumeBy {
    /// The backend performs the instruction under the breakpoint (a
    /// `swapgs`, or the no-op / move / test after the handler call) by
    /// writing registers: one stop per event.
    #[default]
    Emulating,
    /// Remove the breakpoint, single-step, reinsert it: what a plain
    /// debugger does, two stops per event and, under QEMU TCG, two
    /// flushes of all translated code. Kept as the baseline for the
    /// benchmark.
    Stepping,
}

/// Options of an attach session.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    /// How to resume past a breakpoint.
    pub resume: ResumeBy,
    /// How to find the system call entry.
    pub entry: EntryDiscovery,
    /// Where returns are trapped.
    pub exits: ExitTrap,
    /// How entries are trapped.
    pub entry_trap: EntryTrap,
    /// Linux guests with watchpoint entries: trap each call's return by a
    /// write watchpoint on its `pt_regs->ax` (armed at its entry, removed
    /// at its return) instead of the breakpoint after the handler call.
    pub exit_watch: bool,
    /// Give up discovery after this long.
    pub discovery_timeout: Duration,
    /// Progress messages on stderr.
    pub verbose: bool,
}

impl Default for AttachOptions {
    fn default() -> Self {
        AttachOptions {
            resume: ResumeBy::Emulating,
            entry: EntryDiscovery::Auto,
            exits: ExitTrap::Auto,
            entry_trap: EntryTrap::Auto,
            exit_watch: false,
            discovery_timeout: Duration::from_secs(60),
            verbose: false,
        }
    }
}

/// Counters of a tracing session.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    /// Breakpoint and watchpoint stops handled.
    pub stops: u64,
    /// Whether entries were trapped by watchpoints.
    pub entry_watch: bool,
    /// Events given to the engine.
    pub events: u64,
    /// Of which system call entries.
    pub enters: u64,
    /// Of which system call returns.
    pub exits: u64,
    /// `iretq` stops returning to the kernel (not reported).
    pub kernel_irets: u64,
    /// gdb request/reply exchanges during tracing.
    pub exchanges: u64,
    /// Times the return-path breakpoints were inserted or removed (they
    /// are armed only while a call is in flight).
    pub exit_toggles: u64,
    /// Time spent from resuming the VM to its next stop (guest execution
    /// plus QEMU's resume and stop), the rest being ours.
    pub running: Duration,
    /// Wall time of the whole session.
    pub elapsed: Duration,
}
