//! strace's output and filtering options, with strace's spellings, shared
//! by `run`, `attach` and `replay` (which can change them after the
//! fact): `-t/-tt/-ttt`, `--timestamps`, `-r`, `-T`, `-i`, `-n`, `-a`,
//! `-v`, `-x/-xx`, `-X`, `-z/-Z`, `-q/-qq/-qqq`, the `-e` qualifiers
//! other than `trace=`, `-A`, `--output-separately`, `--syscall-limit`
//! and the summary's `-C/-S/-U/-w/-O`; `-I` (which signals end
//! vstrace, see [`crate::signal`]); and the strace options that have
//! no meaning outside the guest, refused with the reason.

use super::diag::{Refusal, WithHelp};
use crate::signal::Interruptible;
use anyhow::{bail, Result};
use clap::{ArgAction, Args};
use vstrace_core::ConstStyle;
use vstrace_engine::dump::FdSet;
use vstrace_engine::output::{precision_digits, quiet, status, OutputOptions, Timestamps};

/// A usage error: printed as clap prints its own, exit status 2.
pub fn usage(msg: impl std::fmt::Display) -> anyhow::Error {
    clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("{msg}\n")).into()
}

/// strace's output options (see the module doc). Every field is "not
/// given" by default, so that a replay keeps the recorded choice.
#[derive(Args, Debug, Clone, Default)]
pub struct StraceOpts {
    /// Absolute timestamps: -t (seconds), -tt (microseconds), -ttt (Unix
    /// time, microseconds). Host time, UTC.
    #[arg(short = 't', action = ArgAction::Count)]
    pub t: u8,
    /// Absolute timestamps: [format:]none|time|unix[,[precision:]s|ms|us|ns]
    /// (strace's --absolute-timestamps).
    #[arg(long = "timestamps", visible_alias = "absolute-timestamps", value_name = "FORMAT,PRECISION",
          num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub timestamps: Vec<String>,
    /// Time since the previous line (microseconds).
    #[arg(short = 'r')]
    pub r: bool,
    /// Time since the previous line, with this precision (s, ms, us, ns).
    #[arg(long = "relative-timestamps", value_name = "PRECISION", num_args = 0..=1,
          require_equals = true, default_missing_value = "us")]
    pub relative: Option<String>,
    /// Time spent in each call, <S.USECS> at the end of its line.
    #[arg(short = 'T')]
    pub big_t: bool,
    /// Time spent in each call, with this precision (s, ms, us, ns).
    #[arg(long = "syscall-times", value_name = "PRECISION", num_args = 0..=1,
          require_equals = true, default_missing_value = "us")]
    pub syscall_times: Option<String>,
    /// The user instruction pointer after the trap instruction.
    #[arg(short = 'i', long = "instruction-pointer")]
    pub ip: bool,
    /// The syscall number before each call.
    #[arg(short = 'n', long = "syscall-number")]
    pub nr: bool,
    /// Align results (` = ...`) to this column, counted from the start
    /// of the line (default 40, as strace; 0: no alignment).
    #[arg(short = 'a', long = "columns", value_name = "COLUMN")]
    pub column: Option<usize>,
    /// Print structures and environments unabbreviated.
    #[arg(short = 'v', long = "no-abbrev")]
    pub verbose: bool,
    /// -x: strings with non-ASCII bytes in hex; -xx: every string in hex.
    #[arg(short = 'x', action = ArgAction::Count)]
    pub x: u8,
    /// Strings in hex: all (-xx), non-ascii (-x), non-ascii-chars (hex
    /// escapes instead of octal), none.
    #[arg(long = "strings-in-hex", value_name = "WHICH", num_args = 0..=1,
          require_equals = true, default_missing_value = "all")]
    pub strings_in_hex: Option<String>,
    /// How named constants and flags print: abbrev (names, the default),
    /// raw (numbers), verbose (numbers with the names in a comment).
    #[arg(short = 'X', long = "const-print-style", value_name = "FORMAT")]
    pub xlat: Option<String>,
    /// Print only calls that returned without an error.
    #[arg(short = 'z', long = "successful-only")]
    pub z: bool,
    /// Print only calls that returned an error.
    #[arg(short = 'Z', long = "failed-only")]
    pub big_z: bool,
    /// Print only calls with these statuses: successful, failed,
    /// unfinished, unavailable, detached (= -e status=SET).
    #[arg(long = "status", value_name = "SET")]
    pub status: Vec<String>,
    /// -q: no attach/detach messages; -qq: no exit lines either; -qqq:
    /// nothing suppressible.
    #[arg(short = 'q', action = ArgAction::Count)]
    pub q: u8,
    /// Suppress these messages: attach, exit, path-resolution,
    /// personality, thread-execve (= -e quiet=SET).
    #[arg(long = "quiet", visible_alias = "silent", value_name = "SET")]
    pub quiet: Vec<String>,
    /// Print only these signals (= -e signal=SET).
    #[arg(long = "signal", visible_alias = "signals", value_name = "SET")]
    pub signal: Vec<String>,
    /// Abbreviate structures and arrays for the calls in SET only (= -e
    /// abbrev=; -v is none).
    #[arg(long = "abbrev", value_name = "SET")]
    pub abbrev: Vec<String>,
    /// Decode structures for the calls in SET only; the others show
    /// their addresses (= -e verbose=).
    #[arg(long = "verbose", value_name = "SET")]
    pub verbose_set: Vec<String>,
    /// Print the calls in SET undecoded, in hex (= -e raw=SET).
    #[arg(long = "raw", value_name = "SET")]
    pub raw: Vec<String>,
    /// Hex-dump the data read from these descriptors (= -e read=SET).
    #[arg(long = "read", value_name = "SET")]
    pub read: Vec<String>,
    /// Hex-dump the data written to these descriptors (= -e write=SET).
    #[arg(long = "write", value_name = "SET")]
    pub write: Vec<String>,
    /// -E VAR=VAL sets, -E VAR removes a variable of the guest command's
    /// environment (`vstrace run` only: the one that starts the command).
    #[arg(short = 'E', long = "env", value_name = "VAR[=VAL]")]
    pub env: Vec<String>,
    /// With -o: append to the file instead of truncating it.
    #[arg(short = 'A', long = "output-append-mode")]
    pub append_output: bool,
    /// With -o FILE: one file per process, FILE.PID (as -ff).
    #[arg(long = "output-separately")]
    pub separately: bool,
    /// Stop recording after this many calls (the guest runs on).
    #[arg(long = "syscall-limit", value_name = "N")]
    pub syscall_limit: Option<u64>,
    /// Process events: fork and exec lines in text (`+++ forked child
    /// 88 by clone(...) +++`), fork/exec/exit records in JSON.
    #[arg(long = "process-events")]
    pub process_events: bool,
    /// Print the process tree (who created whom, what each executed, how
    /// it ended) at the end of the run; -c prints it when the run created
    /// a process.
    #[arg(long = "tree")]
    pub tree: bool,
    /// Like -c, and print the records too.
    #[arg(short = 'C', long = "summary")]
    pub summary_with_records: bool,
    /// Sort the summary by: time, min-time, max-time, avg-time, calls,
    /// errors, name, nothing.
    #[arg(short = 'S', long = "summary-sort-by", value_name = "SORTBY")]
    pub sort_by: Option<String>,
    /// The summary's columns: time-percent, total-time, min-time,
    /// max-time, avg-time, calls, errors, name.
    #[arg(short = 'U', long = "summary-columns", value_name = "COLUMNS")]
    pub columns: Option<String>,
    /// Summarise wall-clock latency (vstrace always does: host time
    /// between a call's enter and exit).
    #[arg(short = 'w', long = "summary-wall-clock")]
    pub wall: bool,
    /// Subtract this overhead from each call's time in the summary:
    /// NUMBER[s|ms|us|ns], microseconds by default.
    #[arg(
        short = 'O',
        long = "summary-syscall-overhead",
        value_name = "OVERHEAD"
    )]
    pub overhead: Option<String>,
    /// Which signals end vstrace: 1/anywhere, 2/waiting (the default):
    /// SIGINT, SIGTERM, SIGHUP end the trace cleanly; 3/never: SIGHUP,
    /// SIGINT, SIGQUIT, SIGPIPE, SIGTERM are ignored, and `run` starts
    /// QEMU out of the terminal's reach (the trace ends with the command,
    /// --duration/--timeout or another signal); 4/never_tstp: SIGTSTP
    /// (^Z) too.
    #[arg(
        short = 'I',
        value_name = "WHEN",
        allow_hyphen_values = true,
        overrides_with = "interruptible_long"
    )]
    pub interruptible: Option<String>,
    /// The same as -I WHEN.
    // A separate option so that a bad value is reported in the spelling
    // given, as strace does.
    #[arg(
        long = "interruptible",
        value_name = "WHEN",
        allow_hyphen_values = true,
        overrides_with = "interruptible"
    )]
    pub interruptible_long: Option<String>,
    #[command(flatten)]
    refused: Refused,
}

/// strace options vstrace does not take, each refused with its reason
/// (hidden from the help; the README's option table lists them).
#[derive(Args, Debug, Clone, Default)]
struct Refused {
    #[arg(short = 'u', long = "user", hide = true)]
    user: Option<String>,
    #[arg(long = "seccomp-bpf", hide = true)]
    seccomp_bpf: bool,
    #[arg(short = 'D', action = ArgAction::Count, hide = true)]
    daemonize: u8,
    #[arg(long = "daemonize", num_args = 0..=1, require_equals = true,
          default_missing_value = "grandchild", hide = true)]
    daemonize_long: Option<String>,
    #[arg(short = 'b', long = "detach-on", hide = true)]
    detach_on: Option<String>,
    #[arg(long = "secontext", num_args = 0..=1, require_equals = true,
          default_missing_value = "", hide = true)]
    secontext: Option<String>,
    #[arg(long = "kvm", hide = true)]
    kvm: Option<String>,
    #[arg(long = "tips", num_args = 0..=1, require_equals = true,
          default_missing_value = "", hide = true)]
    tips: Option<String>,
}

/// Why the guest-side or not-yet-provided strace options are refused.
const NOT_IN_GUEST: &str =
    "strace runs the command itself; vstrace traces it from outside the guest";

impl Refused {
    fn check(&self) -> Result<()> {
        let why = if self.user.is_some() {
            Some(("-u", "the command runs in the guest as the guest's init runs it; use `su USER -c CMD` in the command"))
        } else if self.seccomp_bpf {
            Some(("--seccomp-bpf", "vstrace does not stop the guest per call through ptrace, so there is no stop for seccomp to save"))
        } else if self.daemonize > 0 || self.daemonize_long.is_some() {
            Some(("-D", NOT_IN_GUEST))
        } else if self.detach_on.is_some() {
            Some(("-b", "vstrace does not attach to processes, so it cannot detach from one at execve; use -p/--comm to choose processes"))
        } else if self.secontext.is_some() {
            Some((
                "--secontext",
                "not supported: SELinux contexts are not read from the guest",
            ))
        } else if self.kvm.is_some() {
            Some((
                "--kvm",
                "vstrace traces the guest's own calls, not a KVM host's vcpu exits",
            ))
        } else if self.tips.is_some() {
            Some(("--tips", "not supported: vstrace has no tips"))
        } else {
            None
        };
        match why {
            Some((opt, why)) => Err(usage(format!("{opt}: {why}"))),
            None => Ok(()),
        }
    }
}

/// The `-e` expressions split by qualifier (strace's names and aliases).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Exprs {
    /// `trace=` (the last one wins, as in strace).
    pub trace: Option<String>,
    /// `inject=` and `fault=` (as `--inject` specs).
    pub inject: Vec<String>,
    /// `status=`.
    pub status: Vec<String>,
    /// `quiet=`.
    pub quiet: Vec<String>,
    /// `signal=`.
    pub signal: Vec<String>,
    /// `abbrev=`.
    pub abbrev: Vec<String>,
    /// `verbose=`.
    pub verbose: Vec<String>,
    /// `raw=`.
    pub raw: Vec<String>,
    /// `read=`.
    pub read: Vec<String>,
    /// `write=`.
    pub write: Vec<String>,
}

/// Splits `-e` expressions by qualifier; a bare expression is `trace=`.
pub fn parse_exprs(exprs: &[String]) -> Result<Exprs> {
    let mut x = Exprs::default();
    for e in exprs {
        let (k, v) = match e.split_once('=') {
            Some((k, v)) => (k, v.to_string()),
            None => ("trace", e.to_string()),
        };
        match k {
            "trace" | "t" => x.trace = Some(v),
            "inject" => x.inject.push(v),
            // fault=SET[:error=E]: inject with ENOSYS unless an error is named.
            "fault" => x.inject.push(if v.contains(":error=") {
                v
            } else {
                format!("{v}:error=ENOSYS")
            }),
            "status" => x.status.push(v),
            "quiet" | "silent" | "silence" | "q" => x.quiet.push(v),
            "signal" | "signals" | "s" => x.signal.push(v),
            "abbrev" | "a" => x.abbrev.push(v),
            "verbose" | "v" => x.verbose.push(v),
            "raw" | "x" => x.raw.push(v),
            "read" | "reads" | "r" => x.read.push(v),
            "write" | "writes" | "w" => x.write.push(v),
            // Read by TraceArgs::trace_fds and TraceArgs::names.
            "trace-fds" | "trace-fd" | "fd" | "fds" | "decode-fds" | "decode-fd"
            | "decode-pids" | "decode-pid" => {}
            "kvm" => {
                return Err(usage(
                    "-e kvm=: vstrace traces the guest's own calls, not a KVM host's vcpu exits",
                ))
            }
            _ => bail!(usage(format!("-e {k}=...: invalid qualifier"))),
        }
    }
    Ok(x)
}

/// Parses a `[!]item,item` set of the names `known` into bits; `all`
/// and `none` are understood.
fn bit_set(what: &str, spec: &str, known: &[(&str, u8)], all_bits: u8) -> Result<u8> {
    let (neg, body) = match spec.strip_prefix('!') {
        Some(r) => (true, r),
        None => (false, spec),
    };
    let mut bits = 0u8;
    for item in body.split(',').map(str::trim) {
        bits |= match item {
            "all" => all_bits,
            "none" | "" => 0,
            _ => known
                .iter()
                .find(|k| k.0 == item)
                .map(|k| k.1)
                .ok_or_else(|| usage(format!("invalid {what} '{item}'")))?,
        };
    }
    Ok(if neg { all_bits & !bits } else { bits })
}

const STATUSES: &[(&str, u8)] = &[
    ("successful", status::SUCCESSFUL),
    ("failed", status::FAILED),
    ("unfinished", status::UNFINISHED),
    ("unavailable", status::UNAVAILABLE),
    ("detached", status::DETACHED),
];

const QUIET: &[(&str, u8)] = &[
    ("attach", quiet::ATTACH),
    ("exit", quiet::EXIT),
    ("exits", quiet::EXIT),
    ("path-resolution", quiet::PATH_RESOLUTION),
    ("personality", quiet::PERSONALITY),
    ("thread-execve", quiet::THREAD_EXECVE),
    ("superseded", quiet::THREAD_EXECVE),
];

/// A precision word or a usage error naming the option.
fn digits(opt: &str, p: &str) -> Result<u8> {
    precision_digits(p)
        .ok_or_else(|| usage(format!("{opt}={p}: the precision is one of s, ms, us, ns")))
}

/// `NUMBER[s|ms|us|ns]` (microseconds by default) in nanoseconds.
fn overhead_ns(s: &str) -> Result<u64> {
    // strtod's number (`4.5e-1s`, `+8e8ns`): no unit has an `e`.
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-')))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(end);
    let v: f64 = num
        .parse()
        .map_err(|_| usage(format!("-O {s}: expected NUMBER[s|ms|us|ns]")))?;
    let scale = match unit {
        "" | "us" => 1e3,
        "s" => 1e9,
        "ms" => 1e6,
        "ns" => 1.0,
        _ => return Err(usage(format!("-O {s}: the unit is one of s, ms, us, ns"))),
    };
    Ok((v * scale) as u64)
}

impl StraceOpts {
    /// The `-I`/`--interruptible` level (the last one given; 2 when none
    /// is), or strace's diagnostic for a bad value.
    pub fn interruptible(&self) -> Result<Interruptible, Refusal> {
        let (opt, arg) = match (&self.interruptible, &self.interruptible_long) {
            (Some(a), _) => ("-I", a),
            (None, Some(a)) => ("--interruptible", a),
            (None, None) => return Ok(Interruptible::default()),
        };
        Interruptible::parse(arg)
            .ok_or_else(|| WithHelp(format!("invalid {opt} argument: '{arg}'")).into())
    }

    /// Refuses `-E` where vstrace does not start the command (`why`).
    pub fn refuse_env(&self, why: &str) -> Result<()> {
        match self.env.is_empty() {
            true => Ok(()),
            false => Err(usage(format!("-E: {why}"))),
        }
    }

    /// Applies the options given (and the `-e` qualifiers of `x`) to `d`;
    /// options not given leave `d` as it was (a replay's recorded
    /// choice). `output` is the `-o` target and `follow` the `-f` count.
    pub fn apply(
        &self,
        x: &Exprs,
        follow: u8,
        has_output: bool,
        d: &mut OutputOptions,
    ) -> Result<()> {
        self.refused.check()?;
        match self.t {
            0 => {}
            1 => {
                d.timestamps = Some(Timestamps {
                    unix: false,
                    digits: 0,
                })
            }
            2 => {
                d.timestamps = Some(Timestamps {
                    unix: false,
                    digits: 6,
                })
            }
            _ => {
                d.timestamps = Some(Timestamps {
                    unix: true,
                    digits: 6,
                })
            }
        }
        for spec in &self.timestamps {
            let mut t = d.timestamps.unwrap_or(Timestamps {
                unix: false,
                digits: 0,
            });
            let mut off = false;
            for item in spec.split(',').filter(|s| !s.is_empty()) {
                let item = item
                    .strip_prefix("format:")
                    .or_else(|| item.strip_prefix("precision:"))
                    .unwrap_or(item);
                match item {
                    "none" => off = true,
                    "time" => t.unix = false,
                    "unix" => t.unix = true,
                    p => t.digits = digits("--timestamps", p)?,
                }
            }
            d.timestamps = (!off).then_some(t);
        }
        if self.r {
            d.relative = Some(6);
        }
        if let Some(p) = &self.relative {
            d.relative = Some(digits("--relative-timestamps", p)?);
        }
        if self.big_t {
            d.syscall_times = Some(6);
        }
        if let Some(p) = &self.syscall_times {
            d.syscall_times = Some(digits("--syscall-times", p)?);
        }
        d.instruction_pointer |= self.ip;
        d.syscall_number |= self.nr;
        if let Some(c) = self.column {
            d.column = c;
        }
        // -v is strace's -e abbrev=none; each -e abbrev=/verbose=
        // replaces the set (the last wins, as in strace); "all" keeps
        // the default, "none" is the global switch.
        if self.verbose {
            (d.verbose, d.abbrev) = (true, None);
        }
        for a in x.abbrev.iter().chain(&self.abbrev) {
            (d.verbose, d.abbrev) = match a.trim() {
                "all" | "!none" => (false, None),
                "none" | "!all" => (true, None),
                set => (false, Some(set.to_string())),
            };
        }
        for v in x.verbose.iter().chain(&self.verbose_set) {
            d.decoded = match v.trim() {
                "all" | "!none" => None,
                set => Some(set.to_string()),
            };
        }
        if self.x > 0 {
            d.strings_in_hex = self.x.min(2);
        }
        if let Some(w) = &self.strings_in_hex {
            d.strings_in_hex = match w.as_str() {
                "none" => 0,
                "non-ascii" => 1,
                "all" => 2,
                "non-ascii-chars" => 3,
                _ => bail!(usage(format!(
                    "--strings-in-hex={w}: one of all, non-ascii, non-ascii-chars, none"
                ))),
            };
        }
        match self.xlat.as_deref() {
            None => {}
            Some("abbrev") => d.const_style = ConstStyle::Abbrev,
            Some("raw") => d.const_style = ConstStyle::Raw,
            Some("verbose") => d.const_style = ConstStyle::Verbose,
            Some(s) => bail!(usage(format!("-X {s}: one of raw, abbrev, verbose"))),
        }
        if self.z {
            d.status = Some(status::SUCCESSFUL);
        }
        if self.big_z {
            d.status = Some(status::FAILED);
        }
        for s in x.status.iter().chain(&self.status) {
            d.status = Some(bit_set("status", s, STATUSES, status::ALL)?);
        }
        if self.q > 0 {
            d.quiet = match self.q {
                1 => quiet::ATTACH | quiet::PERSONALITY,
                2 => quiet::ATTACH | quiet::PERSONALITY | quiet::EXIT,
                _ => quiet::ALL,
            };
        }
        for q in x.quiet.iter().chain(&self.quiet) {
            d.quiet = bit_set("quiet message", q, QUIET, quiet::ALL)?;
        }
        // (Checked against the OS layer's signal names by the engine.)
        if let Some(s) = x.signal.iter().chain(&self.signal).last() {
            d.signals = Some(s.clone());
        }
        if let Some(r) = x.raw.iter().chain(&self.raw).last() {
            d.raw = Some(r.clone());
        }
        // Each -e read=/write= replaces the set, as in strace.
        for (sets, opt, d) in [
            (x.read.iter().chain(&self.read), "read", &mut d.dump_reads),
            (
                x.write.iter().chain(&self.write),
                "write",
                &mut d.dump_writes,
            ),
        ] {
            for s in sets {
                *d = FdSet::parse(s).map_err(|e| usage(format!("-e {opt}={s}: {e}")))?;
            }
        }
        d.append |= self.append_output;
        if (follow >= 2 || self.separately) && has_output {
            d.separate = true;
        }
        if let Some(n) = self.syscall_limit {
            d.syscall_limit = Some(n);
        }
        if self.summary_with_records {
            d.summary.with_records = true;
        }
        d.process_events |= self.process_events;
        d.tree |= self.tree;
        if let Some(s) = &self.sort_by {
            d.summary.sort_by = s.clone();
        }
        if let Some(c) = &self.columns {
            d.summary.columns = c.split(',').map(str::to_string).collect();
        }
        d.summary.wall_clock |= self.wall;
        if let Some(o) = &self.overhead {
            d.summary.overhead_ns = overhead_ns(o)?;
        }
        vstrace_engine::summary::validate(&d.summary).map_err(usage)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct T {
        #[command(flatten)]
        o: StraceOpts,
        #[arg(short = 'e')]
        e: Vec<String>,
        #[arg(short = 'f', action = ArgAction::Count)]
        f: u8,
    }

    fn opts(args: &[&str]) -> Result<OutputOptions> {
        let t = T::try_parse_from(std::iter::once("x").chain(args.iter().copied()))?;
        let x = parse_exprs(&t.e)?;
        let mut d = OutputOptions::default();
        t.o.apply(&x, t.f, true, &mut d)?;
        Ok(d)
    }

    #[test]
    fn strace_spellings() {
        let d = opts(&["-tt", "-T", "-i", "-n", "-a30", "-xx", "-qq", "-v"]).unwrap();
        assert_eq!(
            d.timestamps,
            Some(Timestamps {
                unix: false,
                digits: 6
            })
        );
        assert_eq!(d.syscall_times, Some(6));
        assert!(d.instruction_pointer && d.syscall_number && d.verbose);
        assert_eq!((d.column, d.strings_in_hex), (30, 2));
        assert_eq!(d.quiet & quiet::EXIT, quiet::EXIT);
        let d = opts(&["--timestamps=unix,ms", "-r", "--syscall-times=ns"]).unwrap();
        assert_eq!(
            d.timestamps,
            Some(Timestamps {
                unix: true,
                digits: 3
            })
        );
        assert_eq!((d.relative, d.syscall_times), (Some(6), Some(9)));
        let d = opts(&[
            "--absolute-timestamps=format:time",
            "--absolute-timestamps=precision:ns",
        ])
        .unwrap();
        assert_eq!(d.timestamps.map(|t| (t.unix, t.digits)), Some((false, 9)));
        let d = opts(&["-e", "status=!failed", "-esignal=none", "-equiet=exit"]).unwrap();
        assert_eq!(d.status, Some(status::ALL & !status::FAILED));
        assert_eq!(d.signals.as_deref(), Some("none"));
        assert_eq!(d.quiet, quiet::EXIT);
        let d = opts(&["-Z", "-ff", "-S", "calls", "-U", "name,calls", "-O", "2ms"]).unwrap();
        assert_eq!(d.status, Some(status::FAILED));
        assert!(d.separate);
        assert_eq!(d.summary.overhead_ns, 2_000_000);
        // strtod's numbers, as strace reads them.
        assert_eq!(overhead_ns("4.5e2ms").unwrap(), 450_000_000);
        assert_eq!(overhead_ns("4.5e-1s").unwrap(), 450_000_000);
        assert_eq!(overhead_ns("456789012ns").unwrap(), 456_789_012);
        assert!(overhead_ns("1h").is_err());
        let d = opts(&["--strings-in-hex=non-ascii-chars", "-e", "raw=read"]).unwrap();
        assert_eq!(d.strings_in_hex, 3);
        assert_eq!(d.raw.as_deref(), Some("read"));
        // The last abbrev=/verbose= wins; -v is abbrev=none.
        let d = opts(&["-v", "-e", "abbrev=read,write", "--verbose=!pipe"]).unwrap();
        assert!(!d.verbose);
        assert_eq!(d.abbrev.as_deref(), Some("read,write"));
        assert_eq!(d.decoded.as_deref(), Some("!pipe"));
        let d = opts(&["-e", "abbrev=read", "-e", "a=none", "-e", "v=all"]).unwrap();
        assert!(d.verbose && d.abbrev.is_none() && d.decoded.is_none());
        assert_eq!(opts(&[]).unwrap().column, 40);
    }

    #[test]
    fn refusals_say_why() {
        for (args, word) in [
            (&["-u", "nobody"][..], "su USER"),
            (&["--seccomp-bpf"], "seccomp"),
            (&["-DD"], "outside"),
            (&["-X", "terse"], "abbrev"),
            (&["-e", "status=nope"], "invalid status"),
            (&["-S", "bogus"], "bogus"),
            (&["--timestamps=min"], "precision"),
        ] {
            let e = opts(args).unwrap_err();
            assert!(e.downcast_ref::<clap::Error>().is_some(), "{args:?}: {e}");
            assert!(e.to_string().contains(word), "{args:?}: {e}");
        }
    }
}
