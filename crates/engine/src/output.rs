//! strace's output options (`-t/-tt/-ttt`, `-r`, `-T`, `-i`, `-n`, `-a`,
//! `-z/-Z`, `-e status=`, `-q`, `-e quiet=`, `-e signal=`, `-e raw=`,
//! `-ff`, `-A`, `--syscall-limit`, the `-c` table's options): what they
//! ask for, carried in [`crate::EngineConfig`] (and so in trace files,
//! where `vstrace replay` may change them), and the line prefix they add.
//!
//! Times are host times: the engine's clock when the trap was handled
//! (for absolute timestamps, the host's wall clock at engine start plus
//! that). They are what a guest-side strace would see up to the guest's
//! clock offset and TCG's slowdown, not the guest's own clock.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::record::{CallState, Record};

/// `-t`/`-tt`/`-ttt`/`--timestamps=FORMAT,PRECISION`: the absolute time at
/// the start of each line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamps {
    /// Seconds since the epoch (`-ttt`, `format:unix`) instead of the
    /// time of day (`HH:MM:SS`, UTC).
    pub unix: bool,
    /// Digits of the fraction of a second: 0 (s), 3 (ms), 6 (us), 9 (ns).
    pub digits: u8,
}

/// Which return statuses `-e status=` (`-z`, `-Z`) prints, as bits.
pub mod status {
    /// Returned without an error.
    pub const SUCCESSFUL: u8 = 1;
    /// Returned an error.
    pub const FAILED: u8 = 2;
    /// Never returned while traced (`exit_group(0) = ?`, `<unfinished ...>`).
    pub const UNFINISHED: u8 = 4;
    /// Return value unavailable (strace's `= ? <unavailable>`).
    pub const UNAVAILABLE: u8 = 8;
    /// The tracer detached during the call.
    pub const DETACHED: u8 = 16;
    /// Every status.
    pub const ALL: u8 = 31;
}

/// Which informational lines `-q`/`-e quiet=` suppress, as bits.
pub mod quiet {
    /// Attach/detach messages (`-q`).
    pub const ATTACH: u8 = 1;
    /// `+++ exited with N +++` / `+++ killed by SIG +++` (`-qq`).
    pub const EXIT: u8 = 2;
    /// Path resolution messages (`-P`).
    pub const PATH_RESOLUTION: u8 = 4;
    /// Personality change messages (`[ Process PID=N runs in 32 bit mode. ]`).
    pub const PERSONALITY: u8 = 8;
    /// Thread execve messages (`+++ superseded by execve in pid N +++`).
    pub const THREAD_EXECVE: u8 = 16;
    /// Every suppressible message (`-qqq`).
    pub const ALL: u8 = 31;
}

/// The `-c`/`-C` table's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SummaryOptions {
    /// `-C`: the table and the records (`-c` prints only the table).
    pub with_records: bool,
    /// `-S`: the sort key (time, min-time, max-time, avg-time, calls,
    /// errors, name, nothing).
    pub sort_by: String,
    /// `-U`: the columns shown, strace's names.
    pub columns: Vec<String>,
    /// `-O`: nanoseconds subtracted from each call's time as tracing
    /// overhead.
    pub overhead_ns: u64,
    /// `-w`: the table's time is the wall-clock time between a call's
    /// enter and exit (host time), not the system CPU time the guest
    /// kernel accounted to the thread during the call.
    pub wall_clock: bool,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        SummaryOptions {
            with_records: false,
            sort_by: "time".into(),
            columns: Vec::new(),
            overhead_ns: 0,
            wall_clock: false,
        }
    }
}

/// Every strace output option, with strace's defaults (among them `-a
/// 40`: results aligned to column 40).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutputOptions {
    /// Absolute timestamps (`-t`...), none by default.
    pub timestamps: Option<Timestamps>,
    /// `-r`: time since the previous line, with this many fraction digits.
    pub relative: Option<u8>,
    /// `-T`: time spent in the call, `<S.FRACTION>`, with this many
    /// fraction digits.
    pub syscall_times: Option<u8>,
    /// `-i`: the user instruction pointer after the trap instruction.
    pub instruction_pointer: bool,
    /// `-n`: the syscall number, `[NNNN] `.
    pub syscall_number: bool,
    /// `-a`: the column ` = RESULT` is aligned to, counted from the start
    /// of the line as strace counts it (the `[pid N] ` prefix and the
    /// timestamps included); 0: none. strace's default, 40.
    pub column: usize,
    /// `-e status=`: which statuses are printed (bits of [`status`]);
    /// all when absent.
    pub status: Option<u8>,
    /// `-q`/`-e quiet=`: suppressed messages (bits of [`quiet`]).
    pub quiet: u8,
    /// `-e signal=`: which signals' `--- SIG ---` and `+++ killed by +++`
    /// lines are printed (strace's set syntax); all when absent.
    pub signals: Option<String>,
    /// `-e raw=`: calls whose arguments print undecoded, in hex (a
    /// syscall set, as `-e trace=`).
    pub raw: Option<String>,
    /// `-Y`/`--decode-pids=comm`: the `[pid N<comm>]` prefix names the
    /// process's command, as strace's printleader does (set from the
    /// engine's name options).
    pub pid_comm: bool,
    /// `-x` (1), `-xx` (2), `--strings-in-hex=non-ascii-chars` (3): how
    /// strings escape bytes (0: octal, strace's default).
    pub strings_in_hex: u8,
    /// `-v` (strace's `-e abbrev=none`): structures and arrays
    /// unabbreviated, for every call.
    pub verbose: bool,
    /// `-e abbrev=SET`: the calls whose structures and arrays are
    /// abbreviated (the others print in full); every call when absent.
    pub abbrev: Option<String>,
    /// `-e verbose=SET`: the calls whose structures and arrays are read
    /// and decoded (the others show their addresses); every call when
    /// absent.
    pub decoded: Option<String>,
    /// `-X raw|abbrev|verbose`: how named constants and flags print.
    pub const_style: vstrace_core::ConstStyle,
    /// The host's wall clock (ns since the Unix epoch) at engine time 0,
    /// for absolute timestamps; recorded so a replay prints the same.
    pub wall_start_ns: Option<u64>,
    /// `-ff`: one output file per process, `OUTPUT.PID`.
    pub separate: bool,
    /// `-A`: append to the output file instead of truncating it.
    pub append: bool,
    /// `--syscall-limit=N`: stop recording after N calls.
    pub syscall_limit: Option<u64>,
    /// `-e read=`: descriptors whose data read is hex-dumped after the
    /// call (see [`crate::dump`]).
    pub dump_reads: crate::dump::FdSet,
    /// `-e write=`: descriptors whose data written is hex-dumped.
    pub dump_writes: crate::dump::FdSet,
    /// The summary table's options.
    pub summary: SummaryOptions,
    /// `--process-events`: fork and exec lines in text (`+++ forked
    /// child 88 by clone(...) +++`, `+++ exec "/bin/ls" [...] +++`), and
    /// fork, exec and exit records in JSON ([`crate::procs`]).
    pub process_events: bool,
    /// `--tree`: the process tree at the end of the run (`-c` prints it
    /// too when the run created a process).
    pub tree: bool,
}

/// strace's default `-a` column.
pub const DEFAULT_COLUMN: usize = 40;

impl Default for OutputOptions {
    fn default() -> Self {
        OutputOptions {
            timestamps: None,
            relative: None,
            syscall_times: None,
            instruction_pointer: false,
            syscall_number: false,
            column: DEFAULT_COLUMN,
            status: None,
            quiet: 0,
            signals: None,
            raw: None,
            pid_comm: false,
            strings_in_hex: 0,
            verbose: false,
            abbrev: None,
            decoded: None,
            const_style: Default::default(),
            wall_start_ns: None,
            separate: false,
            append: false,
            syscall_limit: None,
            dump_reads: Default::default(),
            dump_writes: Default::default(),
            summary: Default::default(),
            process_events: false,
            tree: false,
        }
    }
}

impl OutputOptions {
    /// Whether a record of this state and error passes `-e status=`.
    pub fn status_shows(&self, r: &Record) -> bool {
        let Some(set) = self.status else { return true };
        let bit = match r.state {
            CallState::Complete | CallState::ChildReturn if r.errno.is_some() => status::FAILED,
            CallState::Complete | CallState::ChildReturn => status::SUCCESSFUL,
            CallState::NoReturn | CallState::Unfinished => status::UNFINISHED,
            CallState::Detached => status::DETACHED,
            // Not calls: signal and exit lines are not filtered by status.
            CallState::Signal | CallState::Exited => return true,
        };
        set & bit != 0
    }

    /// Writes the line prefix the options ask for, after the pid: the
    /// timestamp, the relative time (`last` is the previous line's time,
    /// updated), the syscall number and the instruction pointer.
    pub fn prefix(&self, r: &Record, last: &mut Option<u64>, out: &mut String) {
        let now = r.ts_enter_ns;
        if let Some(t) = self.timestamps {
            let abs = self.wall_start_ns.unwrap_or(0).saturating_add(now);
            let secs = abs / 1_000_000_000;
            if t.unix {
                let _ = write!(out, "{secs}");
            } else {
                let day = secs % 86_400;
                let _ = write!(
                    out,
                    "{:02}:{:02}:{:02}",
                    day / 3600,
                    day / 60 % 60,
                    day % 60
                );
            }
            fraction(abs % 1_000_000_000, t.digits, out);
            out.push(' ');
        }
        if let Some(d) = self.relative {
            let delta = now.saturating_sub(last.unwrap_or(now));
            let open = if self.timestamps.is_some() { "(+" } else { "" };
            let _ = write!(out, "{open}{:6}", delta / 1_000_000_000);
            fraction(delta % 1_000_000_000, d, out);
            out.push_str(if self.timestamps.is_some() { ") " } else { " " });
        }
        *last = Some(now);
        // strace shows the last call's number on the exit line too (the
        // exit_group's); a signal line has no call of its own here.
        if self.syscall_number && r.state != CallState::Signal {
            let _ = write!(out, "[{:4}] ", r.nr);
        }
        if self.instruction_pointer {
            let wide = !matches!(r.abi.as_ref(), "i386" | "nt32");
            match r.ip {
                Some(ip) if wide => {
                    let _ = write!(out, "[{ip:016x}] ");
                }
                Some(ip) => {
                    let _ = write!(out, "[{:08x}] ", ip as u32);
                }
                None if wide => out.push_str("[????????????????] "),
                None => out.push_str("[????????] "),
            }
        }
    }

    /// ` <S.FRACTION>` after a completed call (`-T`).
    pub fn duration(&self, r: &Record, out: &mut String) {
        let Some(d) = self.syscall_times else { return };
        let Some(exit) = r.ts_exit_ns else { return };
        if r.state != CallState::Complete {
            return;
        }
        let ns = exit.saturating_sub(r.ts_enter_ns);
        let _ = write!(out, " <{}", ns / 1_000_000_000);
        fraction(ns % 1_000_000_000, d, out);
        out.push('>');
    }
}

/// A `-e signal=` set: `[!]SIG[,SIG...]`, names with or without `SIG`,
/// numbers, `all`, `none`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalSet {
    names: vstrace_core::fasthash::FastSet<String>,
    /// The set is the complement of `names`.
    negated: bool,
}

impl SignalSet {
    /// Parses a set; an unknown signal is an error, as in strace.
    /// `names` gives the OS's signal names by number
    /// ([`vstrace_core::OsLayer::signal_name`]).
    pub fn parse(spec: &str, names: &dyn Fn(u64) -> Option<String>) -> Result<SignalSet, String> {
        let spec = spec.trim();
        let (negated, body) = match spec.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, spec),
        };
        let known: Vec<String> = (1..=64).filter_map(names).collect();
        let mut set = vstrace_core::fasthash::FastSet::default();
        let mut all = false;
        for item in body.split(',').map(str::trim) {
            match item {
                "all" => all = true,
                "none" | "" => {}
                _ => {
                    let up = item.to_ascii_uppercase();
                    let name = match item.parse::<u64>() {
                        Ok(n) => names(n),
                        Err(_) if up.starts_with("SIG") => Some(up),
                        Err(_) => Some(format!("SIG{up}")),
                    }
                    .filter(|n| known.contains(n))
                    .ok_or_else(|| format!("invalid signal '{item}'"))?;
                    set.insert(name);
                }
            }
        }
        if all {
            return Ok(SignalSet {
                names: Default::default(),
                negated: !negated,
            });
        }
        Ok(SignalSet {
            names: set,
            negated,
        })
    }

    /// Whether the signal named `name` (`SIGALRM`) is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name) != self.negated
    }
}

/// `.FFF` with `digits` digits of `ns` nanoseconds (nothing for 0 digits).
fn fraction(ns: u64, digits: u8, out: &mut String) {
    if digits == 0 {
        return;
    }
    let digits = digits.min(9) as u32;
    let scaled = ns / 10u64.pow(9 - digits);
    let _ = write!(out, ".{scaled:0w$}", w = digits as usize);
}

/// A precision word (`s`, `ms`, `us`, `ns`) as fraction digits.
pub fn precision_digits(p: &str) -> Option<u8> {
    match p {
        "s" => Some(0),
        "ms" => Some(3),
        "us" => Some(6),
        "ns" => Some(9),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_and_precisions() {
        let mut s = String::new();
        fraction(123_456_789, 6, &mut s);
        fraction(5_000_000, 3, &mut s);
        fraction(7, 9, &mut s);
        fraction(7, 0, &mut s);
        assert_eq!(s, ".123456.005.000000007");
        assert_eq!(precision_digits("ms"), Some(3));
        assert_eq!(precision_digits("min"), None);
    }

    #[test]
    fn signal_sets() {
        let names = |n: u64| match n {
            10 => Some("SIGUSR1".to_string()),
            14 => Some("SIGALRM".to_string()),
            17 => Some("SIGCHLD".to_string()),
            18 => Some("SIGCONT".to_string()),
            _ => None,
        };
        let s = SignalSet::parse("none", &names).unwrap();
        assert!(!s.contains("SIGALRM"));
        let s = SignalSet::parse("!SIGCHLD,cont", &names).unwrap();
        assert!(!s.contains("SIGCHLD") && !s.contains("SIGCONT") && s.contains("SIGUSR1"));
        let s = SignalSet::parse("10,SIGALRM", &names).unwrap();
        assert!(s.contains("SIGUSR1") && s.contains("SIGALRM") && !s.contains("SIGCHLD"));
        assert!(SignalSet::parse("all", &names).unwrap().contains("SIGSEGV"));
        assert!(SignalSet::parse("SIGNOPE", &names).is_err());
        assert!(SignalSet::parse("99", &names).is_err());
    }
}
