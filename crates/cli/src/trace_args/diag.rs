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

/// A diagnostic in strace's wording; printed as `vstrace: {0}`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Diagnostic(pub String);

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
pub fn check(a: &TraceArgs) -> Result<(), Diagnostic> {
    for e in &a.expr {
        let Some((k, v)) = e.split_once('=') else {
            continue;
        };
        match k {
            "read" | "reads" | "r" | "write" | "writes" | "w" => fd_set(v)?,
            "signal" | "signals" | "s" => signal_set(v)?,
            _ => {}
        }
    }
    for v in a.strace.read.iter().chain(&a.strace.write) {
        fd_set(v)?;
    }
    for v in &a.strace.signal {
        signal_set(v)?;
    }
    Ok(())
}

/// A descriptor set (`read=`, `write=`): numbers 0 to `INT_MAX`.
pub fn fd_set(spec: &str) -> Result<(), Diagnostic> {
    tokens(spec, "descriptor", |t| uint_upto(t, i32::MAX as u64).is_some())
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
fn uint_upto(t: &str, max: u64) -> Option<u64> {
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

    fn msg(r: Result<(), Diagnostic>) -> String {
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
            assert!(msg(signal_set(spec)).starts_with("invalid signal '"), "{spec}");
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
}
