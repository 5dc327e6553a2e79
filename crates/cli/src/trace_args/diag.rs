//! strace's own diagnostics for bad qualifiers, checked before anything
//! else runs (no QEMU, kernel or guest is looked for first): strace's
//! test suite checks the exact wording (`strace: invalid descriptor
//! '1,!'`, `invalid signal 'SIG'`), so a script that passes a bad set
//! gets the same one line from vstrace, `vstrace: MESSAGE`, and the
//! status strace exits with (1, [`crate::exit::ERROR`]).
//!
//! Only what strace itself rejects is rejected here, with strace's rules
//! (its `qualify_tokens`): what it accepts is left to the qualifiers'
//! own parsing (`parse_exprs`, the engine), which may still refuse
//! something vstrace does not do, in its own words.

use super::TraceArgs;
use vstrace_linux::proto::LinuxAbi;

/// A diagnostic in strace's wording; printed as `vstrace: {0}`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Diagnostic(pub String);

/// A diagnostic strace follows with `Try 'strace -h' for more
/// information.` (its `error_msg_and_help`): printed so too.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct WithHelp(pub String);

/// What [`check`] finds: a diagnostic, with or without the help line.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// `vstrace: MESSAGE`.
    #[error(transparent)]
    Plain(#[from] Diagnostic),
    /// `vstrace: MESSAGE`, then the line pointing at `-h`.
    #[error(transparent)]
    Help(#[from] WithHelp),
}

/// The highest signal number strace takes in a set (its `signame`
/// table's size).
const MAX_SIGNAL: u32 = 255;

/// The Linux signals with names (x86), by number; 32 and up are the
/// real-time ones, `RTMIN` and `RT_N` in strace's naming.
const SIGNALS: &[&str] = &[
    "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// Checks the qualifiers strace validates as number sets: `-e
/// read=`/`write=` (and `--read`/`--write`), `-e signal=` (and
/// `--signal`), in the order strace would meet the first bad one for
/// the suite's scripts (each gives one).
pub fn check(a: &TraceArgs) -> Result<(), Refusal> {
    a.strace.interruptible()?;
    // Call sets, signals and injections are Linux's (a Windows guest's
    // calls have other names): checked for Linux guests only.
    let linux = a.os == "linux";
    for e in a.expr.iter().filter(|e| linux || !is_linux_only(e)) {
        // A bare expression is `trace=`.
        let (k, v) = e.split_once('=').unwrap_or(("trace", e));
        match k {
            "trace" | "t" | "abbrev" | "a" | "verbose" | "v" | "raw" | "x" => syscall_set(v)?,
            "read" | "reads" | "r" | "write" | "writes" | "w" => fd_set(v)?,
            "signal" | "signals" | "s" => signal_set(v)?,
            "inject" => inject_spec(v, false)?,
            "fault" => inject_spec(v, true)?,
            _ => {}
        }
    }
    for v in [
        &a.trace_long,
        &a.strace.abbrev,
        &a.strace.verbose_set,
        &a.strace.raw,
    ]
    .into_iter()
    .flatten()
    .filter(|_| linux)
    {
        syscall_set(v)?;
    }
    for v in a.strace.read.iter().chain(&a.strace.write) {
        fd_set(v)?;
    }
    for v in a.strace.signal.iter().filter(|_| linux) {
        signal_set(v)?;
    }
    for v in a.inject.iter().filter(|_| linux) {
        inject_spec(v, false)?;
    }
    for v in a.fault_long.iter().filter(|_| linux) {
        inject_spec(v, true)?;
    }
    Ok(())
}

/// Whether `-e EXPR` is one of the Linux-only qualifiers (see [`check`]).
fn is_linux_only(e: &str) -> bool {
    let k = e.split_once('=').map_or("trace", |(k, _)| k);
    !matches!(k, "read" | "reads" | "r" | "write" | "writes" | "w")
}

/// A descriptor set (`read=`, `write=`): numbers 0 to `INT_MAX`.
pub fn fd_set(spec: &str) -> Result<(), Diagnostic> {
    tokens(spec, "descriptor", |t| {
        uint_upto(t, i32::MAX as u64).is_some()
    })
}

/// A signal set: numbers 0 to 255, or names with or without `SIG`, in
/// any case.
pub fn signal_set(spec: &str) -> Result<(), Diagnostic> {
    tokens(spec, "signal", |t| signal_number(t).is_some())
}

/// strace's `sigstr_to_uint`: a number up to 255 (when the token starts
/// with a digit) or a signal's name.
pub fn signal_number(t: &str) -> Option<u32> {
    if t.starts_with(|c: char| c.is_ascii_digit()) {
        return uint_upto(t, u64::from(MAX_SIGNAL)).map(|n| n as u32);
    }
    let name = match t.get(..3) {
        Some(p) if p.eq_ignore_ascii_case("SIG") => &t[3..],
        _ => t,
    };
    if let Some(n) = SIGNALS
        .iter()
        .position(|s| !s.is_empty() && s.eq_ignore_ascii_case(name))
    {
        return Some(n as u32);
    }
    // Real-time signals: RTMIN is 32 as strace names it; RT_N is 32+N.
    if name.eq_ignore_ascii_case("RTMIN") {
        return Some(32);
    }
    let n = name
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("RT_"))
        .map(|_| &name[3..])
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))?;
    let n: u32 = n.parse().ok()?;
    (32 + n <= MAX_SIGNAL && n >= 1).then_some(32 + n)
}

/// The personalities of x86-64 strace, by their `@` designators, with
/// the table of each (x32's names and numbers are x86-64's, as far as a
/// set's validity goes).
const PERSONALITIES: &[(&str, LinuxAbi)] = &[
    ("64", LinuxAbi::X86_64),
    ("32", LinuxAbi::I386),
    ("x32", LinuxAbi::X86_64),
];

/// strace's class names (any case), `%`-prefixed and legacy.
const CLASSES: &[&str] = &[
    "%desc", "%file", "%memory", "%process", "%creds", "%signal", "%ipc", "%net", "%network",
    "%stat", "%lstat", "%fstat", "%%stat", "%statfs", "%fstatfs", "%%statfs", "%pure", "%clock",
    "all", "desc", "file", "memory", "process", "signal", "ipc", "network",
];

/// A set of calls (`trace=`, `abbrev=`, `verbose=`, `raw=`, an
/// injection's): strace's `qualify_syscall_tokens`. Each token is a
/// number, `/REGEX`, a class or a name, optionally `@64`/`@32`/`@x32`
/// for one personality, and valid if some personality has it; leading
/// `?`s make a token that matches nothing valid.
pub fn syscall_set(spec: &str) -> Result<(), Refusal> {
    let s = spec.trim_start_matches('!');
    if s == "none" || s == "all" {
        return Ok(());
    }
    let mut any = false;
    // As strace: `!` inverts the whole set only where it starts, and
    // `none`/`all` are whole sets, not tokens (`1,!chdir`, `1,none`:
    // `invalid system call '!chdir'`). The engine's filter would take
    // `a,!b` as "a without b"; the command line keeps to strace's words.
    for t in s.split(',').filter(|t| !t.is_empty()) {
        if t.starts_with('!') || t == "none" || !syscall_token(t)? {
            return Err(Diagnostic(format!("invalid system call '{t}'")).into());
        }
        any = true;
    }
    if !any {
        return Err(Diagnostic(format!("invalid system call '{spec}'")).into());
    }
    Ok(())
}

/// strace's `qualify_syscall`: whether the token names a call.
fn syscall_token(token: &str) -> Result<bool, Refusal> {
    let t = token.trim_start_matches('?');
    let optional = t.len() != token.len();
    let (name, abis): (&str, Vec<LinuxAbi>) = match t.rfind('@') {
        None => (t, PERSONALITIES.iter().map(|p| p.1).collect()),
        Some(at) => match PERSONALITIES.iter().find(|p| p.0 == &t[at + 1..]) {
            Some(p) => (&t[..at], vec![p.1]),
            None => {
                return Err(WithHelp(format!(
                    "incorrect personality designator '{}' in qualification '{t}'",
                    &t[at + 1..]
                ))
                .into())
            }
        },
    };
    let mut found = false;
    for abi in abis {
        found |= in_personality(name, abi)?;
    }
    Ok(found || optional)
}

/// Whether `name` (a number, `/REGEX`, a class or a name) has a call in
/// `abi`'s table.
fn in_personality(name: &str, abi: LinuxAbi) -> Result<bool, Diagnostic> {
    use vstrace_linux::proto;
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok(uint_upto(name, i32::MAX as u64).is_some_and(|nr| {
            proto::syscall(abi, nr).is_some() && !vstrace_linux::subcall::is_subcall(abi, nr)
        }));
    }
    if let Some(re) = name.strip_prefix('/') {
        // strace's regcomp error: `regcomp: PATTERN: REASON` (here the
        // regex crate's reason, its last line).
        let r = regex::Regex::new(re).map_err(|e| {
            let why = e.to_string();
            let why = why.lines().last().unwrap_or("").trim();
            let why = why.strip_prefix("error: ").unwrap_or(why);
            Diagnostic(format!("regcomp: {re}: {why}"))
        })?;
        return Ok(proto::all(abi).any(|d| r.is_match(d.name)));
    }
    if CLASSES.iter().any(|c| c.eq_ignore_ascii_case(name)) {
        return Ok(true);
    }
    // i386's socketcall and ipc sub-calls have names of their own.
    Ok(proto::by_name(abi, name).is_some() || proto::subcall_by_name(abi, name).is_some())
}

/// The calls strace lets `syscall=` of an injection name: pure ones (no
/// side effects), in every personality of x86-64 strace.
const PURE: &[&str] = &[
    "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getpgrp",
];

/// Which of an injection's actions and modifiers were given (each at
/// most once).
#[derive(Default)]
struct Given {
    when: bool,
    syscall: bool,
    error_or_retval: bool,
    signal: bool,
    poke_enter: bool,
    poke_exit: bool,
    delay_enter: bool,
    delay_exit: bool,
}

/// An injection (`-e inject=`, `--inject`; `fault`: `-e fault=`, which
/// takes only `error=` and `when=`): strace's `qualify_inject_common`.
/// A bad `:TOKEN` is `invalid inject argument 'SPEC'`; the call set
/// before the first `:` is then checked as a set of calls (see
/// [`syscall_set`]); an injection without an action is invalid too
/// (a fault's default action is ENOSYS).
pub fn inject_spec(spec: &str, fault: bool) -> Result<(), Refusal> {
    let what = if fault { "fault" } else { "inject" };
    let bad = || Diagnostic(format!("invalid {what} argument '{spec}'"));
    // strtok: empty tokens are skipped; an empty spec or one starting
    // with `:` has an empty call set.
    let (name, rest) = match spec.starts_with(':') || spec.is_empty() {
        true => ("", ""),
        false => spec.split_once(':').unwrap_or((spec, "")),
    };
    let mut g = Given::default();
    for t in rest.split(':').filter(|t| !t.is_empty()) {
        if !inject_token(t, fault, &mut g) {
            return Err(bad().into());
        }
    }
    syscall_set(name)?;
    let action = g.error_or_retval
        || g.signal
        || g.delay_enter
        || g.delay_exit
        || g.poke_enter
        || g.poke_exit;
    if !action && !fault {
        return Err(bad().into());
    }
    Ok(())
}

/// One `:TOKEN` of an injection: whether strace's `parse_inject_token`
/// takes it (`g`: what was given before).
fn inject_token(t: &str, fault: bool, g: &mut Given) -> bool {
    let once = |flag: &mut bool| !std::mem::replace(flag, true);
    if let Some(v) = t.strip_prefix("when=") {
        g.when = true;
        return when(v);
    }
    if let Some(v) = t.strip_prefix("syscall=") {
        return once(&mut g.syscall) && PURE.contains(&v);
    }
    if let Some(v) = t.strip_prefix("error=") {
        let n = uint_upto(v, 4095)
            .map(|n| n as i64)
            .or_else(|| vstrace_linux::consts::errno_by_name(v));
        return once(&mut g.error_or_retval) && n.is_some_and(|n| n >= 1);
    }
    if fault {
        return false;
    }
    if let Some(v) = t.strip_prefix("retval=") {
        return once(&mut g.error_or_retval) && strtoull(v).is_some();
    }
    if let Some(v) = t.strip_prefix("signal=") {
        return once(&mut g.signal) && signal_number(v).is_some_and(|n| (1..=64).contains(&n));
    }
    if let Some(v) = t.strip_prefix("poke_enter=") {
        return once(&mut g.poke_enter) && poke(v);
    }
    if let Some(v) = t.strip_prefix("poke_exit=") {
        return once(&mut g.poke_exit) && poke(v);
    }
    if let Some(v) = t.strip_prefix("delay_enter=") {
        return once(&mut g.delay_enter) && delay(v);
    }
    if let Some(v) = t.strip_prefix("delay_exit=") {
        return once(&mut g.delay_exit) && delay(v);
    }
    false
}

/// `when=FIRST[..LAST][+[STEP]]`: FIRST 1 to 65535, LAST from FIRST to
/// 65534, STEP 1 to 65535.
fn when(v: &str) -> bool {
    let Some((first, rest)) = uint_prefix(v, 0xffff, "+.") else {
        return false;
    };
    if first < 1 {
        return false;
    }
    let rest = match rest.strip_prefix('.') {
        Some(r) => {
            let Some(r) = r.strip_prefix('.') else {
                return false;
            };
            match uint_prefix(r, 0xffff, "+") {
                Some((last, rest)) if last >= first && last != 0xffff => rest,
                _ => return false,
            }
        }
        None => rest,
    };
    match rest.strip_prefix('+') {
        Some("") | None => true,
        Some(step) => uint_upto(step, 0xffff).is_some_and(|s| s >= 1),
    }
}

/// `poke_enter=`/`poke_exit=`: `@argN=HEX` (N 1 to 7, an even number of
/// hex digits, 2 to 2048), comma-separated, each argument once.
fn poke(v: &str) -> bool {
    let mut seen = [false; 8];
    let mut any = false;
    for t in v.split(',').filter(|t| !t.is_empty()) {
        let Some(r) = t.strip_prefix("@arg") else {
            return false;
        };
        let b = r.as_bytes();
        if b.len() < 2 || !(b'1'..=b'7').contains(&b[0]) || b[1] != b'=' {
            return false;
        }
        let hex = &r[2..];
        let n = usize::from(b[0] - b'0');
        if hex.is_empty()
            || hex.len() % 2 != 0
            || hex.len() > 2048
            || !hex.bytes().all(|c| c.is_ascii_hexdigit())
            || std::mem::replace(&mut seen[n], true)
        {
            return false;
        }
        any = true;
    }
    any
}

/// `delay_enter=`/`delay_exit=`: a non-negative time, `NUMBER[s|ms|us|ns]`.
fn delay(v: &str) -> bool {
    let end = v
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-')))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(end);
    matches!(unit, "" | "s" | "ms" | "us" | "ns")
        && num.parse::<f64>().is_ok_and(|n| n >= 0.0 && n.is_finite())
}

/// `strtoull(v, &end, 0)` of the whole word, without overflow (a
/// negative number wraps, as strtoull's does).
fn strtoull(v: &str) -> Option<u64> {
    let d = v.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, d) = match d.as_bytes().first() {
        Some(b'-') => (true, &d[1..]),
        Some(b'+') => (false, &d[1..]),
        _ => (false, d),
    };
    let (radix, digits) = if let Some(h) = d.strip_prefix("0x").or(d.strip_prefix("0X")) {
        (16, h)
    } else if d.len() > 1 && d.starts_with('0') {
        (8, &d[1..])
    } else {
        (10, d)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let n = u64::from_str_radix(digits, radix).ok()?;
    Some(if neg { n.wrapping_neg() } else { n })
}

/// strace's `string_to_uint_ex`: a decimal number up to `max` at the
/// start of `v`, followed by the end or one of `accept`; the number and
/// what follows it.
fn uint_prefix<'a>(v: &'a str, max: u64, accept: &str) -> Option<(u64, &'a str)> {
    let end = v
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '+' || c == '-'))))
        .map_or(v.len(), |(i, _)| i);
    let (num, rest) = v.split_at(end);
    if rest.chars().next().is_some_and(|c| !accept.contains(c)) {
        return None;
    }
    uint_upto(num, max).map(|n| (n, rest))
}

/// strace's `qualify_tokens`: leading `!`s invert, `none`/`all` alone
/// are the empty and full sets, else comma-separated tokens (empty ones
/// skipped, as `strtok` does) each of which `ok` must take. A bad token
/// is named; a set without tokens names the whole spec.
fn tokens(spec: &str, what: &str, ok: impl Fn(&str) -> bool) -> Result<(), Diagnostic> {
    let s = spec.trim_start_matches('!');
    if s == "none" || s == "all" {
        return Ok(());
    }
    let mut any = false;
    for t in s.split(',').filter(|t| !t.is_empty()) {
        if !ok(t) {
            return Err(Diagnostic(format!("invalid {what} '{t}'")));
        }
        any = true;
    }
    if !any {
        return Err(Diagnostic(format!("invalid {what} '{spec}'")));
    }
    Ok(())
}

/// strace's `string_to_uint_upto`: a whole decimal number (after
/// `strtoll`'s leading blanks and sign) from 0 to `max`.
pub(crate) fn uint_upto(t: &str, max: u64) -> Option<u64> {
    let d = t.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, d) = match d.as_bytes().first() {
        Some(b'-') => (true, &d[1..]),
        Some(b'+') => (false, &d[1..]),
        _ => (false, d),
    };
    if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Past i64 strtoll sets ERANGE: invalid either way.
    let v: i64 = d.parse().ok()?;
    if neg && v != 0 {
        return None;
    }
    u64::try_from(v).ok().filter(|v| *v <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg<E: std::fmt::Display>(r: Result<(), E>) -> String {
        r.err().map(|d| d.to_string()).unwrap_or_default()
    }

    /// filtering_fd-syntax.test's cases.
    #[test]
    fn descriptor_sets_as_strace() {
        for (spec, bad) in [
            ("", ""),
            (",", ","),
            ("!", "!"),
            ("!,,", "!,,"),
            ("-1", "-1"),
            ("1,not_fd", "not_fd"),
            ("2147483648,1", "2147483648"),
            ("!4294967296", "4294967296"),
            ("1,!", "!"),
            ("1,all", "all"),
            ("1,!none", "!none"),
        ] {
            assert_eq!(
                msg(fd_set(spec)),
                format!("invalid descriptor '{bad}'"),
                "{spec}"
            );
        }
        for ok in ["1", "0,2147483647", "!1,2", "none", "!all", "!!none", ",1,"] {
            assert!(fd_set(ok).is_ok(), "{ok}");
        }
    }

    /// qual_signal.test's cases.
    #[test]
    fn signal_sets_as_strace() {
        for spec in [
            " ",
            "invalid_signal_name",
            "SIG",
            "-1",
            "256",
            "1-1",
            "1,2,4,8,16,32,64,128,256,512,1024",
            "9,chdir",
        ] {
            assert!(
                msg(signal_set(spec)).starts_with("invalid signal '"),
                "{spec}"
            );
        }
        assert_eq!(msg(signal_set("9,chdir")), "invalid signal 'chdir'");
        for ok in [
            "",
            "none",
            "!all",
            "CHLD",
            "sigalrm",
            "4,CHLD,11,ALRM,9",
            "!SIGINT,15",
            "255",
            "RTMIN",
            "SIGRT_3",
        ] {
            // An empty set is strace's error too ("invalid signal ''").
            if ok.is_empty() {
                assert_eq!(msg(signal_set(ok)), "invalid signal ''");
                continue;
            }
            assert!(signal_set(ok).is_ok(), "{ok}");
        }
    }

    /// qual_fault-syntax.test's and qual_inject-syntax.test's cases (a
    /// few), and what the suite's passing tests inject.
    #[test]
    fn injections_as_strace() {
        for (spec, fault) in [
            ("chdir:42", true),
            ("chdir:error=", true),
            ("chdir:error=invalid_error_name", true),
            ("chdir:error=4096", true),
            ("chdir:when=0", true),
            ("chdir:when=4-", true),
            ("chdir:when=9+1+", true),
            ("chdir:when=1+65536", true),
            ("chdir:retval=0", true),
            ("chdir:syscall=chdir", true),
            ("chdir:when=10.", true),
            ("chdir:when=24..23", true),
            ("chdir:when=27..65535", true),
            ("chdir:when=25..26+0", true),
            ("chdir", false),
            ("chdir:retval=0b", false),
            ("chdir:retval=0x10000000000000000", false),
            ("chdir:signal=129", false),
            ("chdir:retval=0:error=1", false),
            ("chdir:delay_enter=-1", false),
            ("chdir:poke_enter=@arg8=", false),
            ("chdir:poke_enter=@arg1=000", false),
            ("chdir:poke_enter=@arg1=nothex", false),
            ("chdir:poke_enter=@arg1=00,@arg1=00", false),
            ("chdir:syscall=gettid:syscall=gettid", false),
        ] {
            let what = if fault { "fault" } else { "inject" };
            assert_eq!(
                msg(inject_spec(spec, fault)),
                format!("invalid {what} argument '{spec}'")
            );
        }
        for ok in [
            "chdir:error=ENOENT",
            "chdir:retval=42:when=2..4+2",
            "chdir:signal=SIGUSR1",
            "chdir:error=EPERM:when=3+",
            "chdir:delay_enter=1ms:delay_exit=2",
            "chdir:poke_enter=@arg1=5374726163652100",
            "gettid:retval=1:syscall=getpid",
            "%file:error=ENOENT",
            "chdir:retval=-1",
        ] {
            assert_eq!(msg(inject_spec(ok, false)), "", "{ok}");
        }
        assert!(inject_spec("chdir", true).is_ok());
        assert_eq!(msg(inject_spec("-1:", false)), "invalid system call '-1'");
        assert_eq!(msg(inject_spec(":::", true)), "invalid system call ''");
    }

    /// filtering_syscall-syntax.test's cases (a few).
    #[test]
    fn call_sets_as_strace() {
        for (spec, bad) in [
            ("", ""),
            ("!,", "!,"),
            ("-1", "-1"),
            ("1,invalid_syscall_name", "invalid_syscall_name"),
            ("0x", "0x"),
            ("32767", "32767"),
            ("2147483648", "2147483648"),
            ("415", "415"),
            ("501", "501"),
            ("/non_syscall", "/non_syscall"),
            ("%", "%"),
            ("%not_a_class", "%not_a_class"),
            ("-1@64", "-1@64"),
            ("?32767,nonsense", "nonsense"),
            ("!%desc@64,nonsense", "nonsense"),
        ] {
            assert_eq!(
                msg(syscall_set(spec)),
                format!("invalid system call '{bad}'"),
                "{spec}"
            );
        }
        for ok in [
            "chdir",
            "1",
            "!%file",
            "?invalid",
            "all",
            "!none",
            "%desc@64",
            "chdir@32",
            "/^ch",
            "%NET",
            "file",
            "send",
            "?/non_syscall",
        ] {
            assert_eq!(msg(syscall_set(ok)), "", "{ok}");
        }
        // strace's words for what only the engine's filter would take.
        for (bad, token) in [
            ("%file,!mkdir", "!mkdir"),
            ("1,none", "none"),
            ("1,!chdir", "!chdir"),
        ] {
            assert_eq!(
                msg(syscall_set(bad)),
                format!("invalid system call '{token}'")
            );
        }
        assert!(msg(syscall_set("/+id")).starts_with("regcomp: +id: "));
        assert!(matches!(syscall_set("chdir@y"), Err(Refusal::Help(_))));
    }
}
