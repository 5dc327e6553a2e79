//! strace's `--inject=SET:error=E|retval=N[:poke_enter=@argN=HEX,...]
//! [:poke_exit=...][:delay_enter=T][:delay_exit=T][:when=EXPR]` rules and
//! path rewrites.

use crate::filter::{FilterError, SyscallSet};
use vstrace_core::{Modification, OsLayer, Syscall, VirtMem};

/// Error parsing an injection rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InjectError {
    /// The rule does not parse (`spec` as given, `reason` what is wrong).
    #[error("--inject {spec:?}: {reason}")]
    Bad {
        /// The rule as given on the command line.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The rule's syscall set names calls the OS does not have.
    #[error("--inject: {0}")]
    Set(#[from] FilterError),
    /// A `--rewrite-path` rule does not parse.
    #[error("--rewrite-path {spec:?}: expected FROM=TO with both paths non-empty")]
    BadRewrite {
        /// The rule as given on the command line.
        spec: String,
    },
}

/// What to do to a matching call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectAction {
    /// Skip the call and return `-errno` (Linux) / the status (Windows).
    Error(i64),
    /// Skip the call and return this value.
    Retval(i64),
}

/// Most bytes one `@argN=` item writes (strace's limit: 2048 hex digits).
pub const MAX_POKE_LEN: usize = 1024;

/// One `poke_enter=`/`poke_exit=` item, `@argN=HEXBYTES`: the bytes are
/// written to the guest memory argument N points to, at the call's enter
/// (before the kernel reads them and before they are decoded) or at its
/// exit (before the caller sees them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poke {
    /// The argument holding the pointer, 1..=7 as strace allows.
    pub arg: usize,
    /// The bytes written there (1..=[`MAX_POKE_LEN`]).
    pub data: Vec<u8>,
    /// Written at the exit (`poke_exit=`) rather than the enter.
    pub at_exit: bool,
}

impl Poke {
    /// Parses the list after `poke_enter=`/`poke_exit=`:
    /// `@argN=HEX[,@argM=HEX...]` (N in 1..=7, an even number of hex
    /// digits); an argument named twice is refused, as strace does.
    pub fn parse_list(s: &str, at_exit: bool) -> Result<Vec<Poke>, String> {
        let mut out: Vec<Poke> = Vec::new();
        if s.is_empty() {
            return Err("empty poke list".into());
        }
        for item in s.split(',') {
            let rest = item
                .strip_prefix("@arg")
                .ok_or_else(|| format!("poke item {item:?}: expected @argN=HEXBYTES"))?;
            let (n, hex) = rest
                .split_once('=')
                .ok_or_else(|| format!("poke item {item:?}: expected @argN=HEXBYTES"))?;
            let arg = match n.as_bytes() {
                [d @ b'1'..=b'7'] => usize::from(d - b'0'),
                _ => {
                    return Err(format!(
                        "poke item {item:?}: the argument must be @arg1..@arg7"
                    ))
                }
            };
            if hex.is_empty() || hex.len() % 2 != 0 || hex.len() > 2 * MAX_POKE_LEN {
                return Err(format!(
                    "poke item {item:?}: the data must be 1..{MAX_POKE_LEN} bytes as pairs of hex digits"
                ));
            }
            let data = (0..hex.len())
                .step_by(2)
                .map(|i| {
                    hex.get(i..i + 2)
                        .and_then(|b| u8::from_str_radix(b, 16).ok())
                        .ok_or_else(|| format!("poke item {item:?}: bad hex digits"))
                })
                .collect::<Result<Vec<u8>, String>>()?;
            if out.iter().any(|p| p.arg == arg) {
                return Err(format!("poke item {item:?}: @arg{arg} given twice"));
            }
            out.push(Poke { arg, data, at_exit });
        }
        Ok(out)
    }
}

/// What one hit of the rules does to a call (see [`InjectRule::check`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Injection {
    /// The fault or success value (`error=`, `retval=`), if any.
    pub action: Option<InjectAction>,
    /// The `poke_enter=` and `poke_exit=` items of the rules hit.
    pub pokes: Vec<Poke>,
    /// `delay_enter=`: microseconds the caller is held at the enter.
    pub delay_enter_us: u64,
    /// `delay_exit=`: microseconds the caller is held at the exit.
    pub delay_exit_us: u64,
    /// `syscall=NAME` of the rule whose fault is made: the call the
    /// kernel runs instead (a pure one), in place of an invalid number.
    pub substitute: Option<String>,
    /// `signal=`: the signal the caller gets when the call returns.
    pub signal: Option<u64>,
}

impl Injection {
    /// Whether the hit pokes or delays at the exit (`at_exit`) or at
    /// the enter.
    pub fn acts_at(&self, at_exit: bool) -> bool {
        let delay = if at_exit {
            self.delay_exit_us
        } else {
            self.delay_enter_us
        };
        self.pokes.iter().any(|p| p.at_exit == at_exit) || delay > 0
    }

    /// Whether the hit does anything.
    pub fn is_empty(&self) -> bool {
        self.action.is_none()
            && self.signal.is_none()
            && self.pokes.is_empty()
            && self.delay_enter_us == 0
            && self.delay_exit_us == 0
    }
}

/// Longest `delay_enter=`/`delay_exit=` accepted (strace's limit is
/// larger; a vCPU held longer than this stalls the whole guest).
const MAX_DELAY_US: u64 = 60_000_000;

/// strace's time specification for delays: `NUMBER[s|ms|us|ns]`,
/// microseconds without a unit.
fn parse_delay(v: &str) -> Option<u64> {
    let split = v
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().ok()?;
    let us = match unit {
        "" | "us" => n,
        "s" => n * 1e6,
        "ms" => n * 1e3,
        "ns" => n / 1e3,
        _ => return None,
    };
    (us.is_finite() && us >= 0.0 && us <= MAX_DELAY_US as f64).then_some(us as u64)
}

/// `when=FIRST[..LAST][+[STEP]]`: which matching invocations (1-based) are
/// affected. `2` is only the second; `2+` the second and every later one;
/// `2+3` the 2nd, 5th, 8th...; `2..4` the 2nd to 4th.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When {
    /// The first invocation affected (1-based).
    pub first: u64,
    /// The last invocation affected (`u64::MAX`: no end).
    pub last: u64,
    /// Every `step`-th invocation from `first` on.
    pub step: u64,
}

impl When {
    /// Every invocation (a rule without `when=`).
    pub const ALWAYS: When = When {
        first: 1,
        last: u64::MAX,
        step: 1,
    };

    /// Parses the text after `when=`; the error says what is wrong.
    pub fn parse(s: &str) -> Result<When, String> {
        let num = |t: &str| -> Result<u64, String> {
            let v: u64 = t
                .parse()
                .map_err(|_| format!("bad number {t:?} in when="))?;
            if v == 0 || v > 65535 {
                return Err(format!("when= values must be 1..65535, got {v}"));
            }
            Ok(v)
        };
        let (range, step) = match s.split_once('+') {
            Some((r, "")) => (r, Some(1)),
            Some((r, st)) => (r, Some(num(st)?)),
            None => (s, None),
        };
        let (first, last) = match range.split_once("..") {
            Some((a, b)) => (num(a)?, Some(num(b)?)),
            None => (num(range)?, None),
        };
        let when = match (last, step) {
            (Some(l), st) => When {
                first,
                last: l,
                step: st.unwrap_or(1),
            },
            (None, Some(st)) => When {
                first,
                last: u64::MAX,
                step: st,
            },
            (None, None) => When {
                first,
                last: first,
                step: 1,
            },
        };
        if when.last < when.first {
            return Err(format!("when={s}: last is before first"));
        }
        Ok(when)
    }

    /// Whether the n-th (1-based) matching invocation is affected.
    pub fn hits(&self, n: u64) -> bool {
        n >= self.first && n <= self.last && (n - self.first) % self.step == 0
    }
}

/// One parsed `--inject` rule with its invocation counter.
#[derive(Debug, Clone)]
pub struct InjectRule {
    /// The calls the rule applies to.
    pub set: SyscallSet,
    /// The fault it injects (`error=`/`retval=`), if any.
    pub action: Option<InjectAction>,
    /// Its `poke_enter=`/`poke_exit=` items.
    pub pokes: Vec<Poke>,
    /// `delay_enter=` in microseconds (0: none).
    pub delay_enter_us: u64,
    /// `delay_exit=` in microseconds (0: none).
    pub delay_exit_us: u64,
    /// `syscall=NAME`: the pure call run instead of the faulted one.
    pub substitute: Option<String>,
    /// `signal=SIG`: the signal delivered to the caller as the call
    /// returns (strace's; the guest sees a kernel-sent one, SI_KERNEL).
    pub signal: Option<u64>,
    /// Which of their invocations it affects.
    pub when: When,
    /// Matching invocations seen so far (what `when` counts) by threads
    /// the engine could not name.
    pub seen: u64,
    /// Matching invocations per thread id: strace counts `when=` per
    /// traced thread, so a rule hits each process's N-th call alike
    /// (used when the caller is attributed, as with `-p`/`--comm`).
    pub seen_by_thread: std::collections::HashMap<u32, u64>,
}

/// Most threads whose invocations a rule counts apart (bounded: thread
/// ids come from guest memory); the counts start over beyond it.
const MAX_COUNTED_THREADS: usize = 1 << 14;

impl InjectRule {
    /// Parses `SET:error=ENOENT[:when=2]`, `SET:retval=N[:when=...]`,
    /// `SET:poke_enter=@arg1=HEX[:poke_exit=@arg2=HEX]`,
    /// `SET:delay_enter=10ms` and their combinations (at least one of
    /// them; `error=` and `retval=` exclude each other).
    pub fn parse(spec: &str, os: &dyn OsLayer) -> Result<InjectRule, InjectError> {
        let bad = |reason: String| InjectError::Bad {
            spec: spec.to_string(),
            reason,
        };
        let mut parts = spec.split(':');
        let set_spec = parts.next().unwrap_or("");
        let set = SyscallSet::parse(set_spec, os)?;
        let mut action = None;
        let mut when = When::ALWAYS;
        let mut pokes: Vec<Poke> = Vec::new();
        let (mut delay_enter_us, mut delay_exit_us) = (0, 0);
        let mut substitute = None;
        let mut signal = None;
        for p in parts {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| bad(format!("expected key=value, got {p:?}")))?;
            match k {
                "error" => {
                    let v = os
                        .error_value(v)
                        .or_else(|| v.parse::<i64>().ok().map(|n| -n.abs()))
                        .ok_or_else(|| bad(format!("unknown error code {v:?}")))?;
                    if action.is_some() {
                        return Err(bad("error= and retval= exclude each other".into()));
                    }
                    action = Some(InjectAction::Error(v));
                }
                "retval" => {
                    let n = parse_int(v).ok_or_else(|| bad(format!("bad retval {v:?}")))?;
                    // As strace: one fault per rule.
                    if action.is_some() {
                        return Err(bad("error= and retval= exclude each other".into()));
                    }
                    action = Some(InjectAction::Retval(n));
                }
                "when" => when = When::parse(v).map_err(bad)?,
                "poke_enter" | "poke_exit" => {
                    let at_exit = k == "poke_exit";
                    if pokes.iter().any(|p| p.at_exit == at_exit) {
                        return Err(bad(format!("{k}= given twice")));
                    }
                    pokes.extend(Poke::parse_list(v, at_exit).map_err(bad)?);
                }
                "delay_enter" | "delay_exit" => {
                    let us = parse_delay(v).ok_or_else(|| {
                        bad(format!(
                            "bad {k}={v:?} (NUMBER[s|ms|us|ns], at most {} s)",
                            MAX_DELAY_US / 1_000_000
                        ))
                    })?;
                    if k == "delay_enter" {
                        delay_enter_us = us;
                    } else {
                        delay_exit_us = us;
                    }
                }
                "signal" => {
                    if signal.is_some() {
                        return Err(bad("signal= given twice".into()));
                    }
                    let n = os
                        .signal_number(v)
                        .ok_or_else(|| bad(format!("unknown signal {v:?}")))?;
                    signal = Some(n);
                }
                "syscall" => {
                    if substitute.is_some() {
                        return Err(bad("syscall= given twice".into()));
                    }
                    substitute = Some(pure_call(v, os).map_err(bad)?);
                }
                _ => {
                    return Err(bad(format!(
                        "unsupported key {k:?} (error=, retval=, signal=, syscall=, \
                         poke_enter=, poke_exit=, delay_enter=, delay_exit=, when=)"
                    )))
                }
            }
        }
        if action.is_none()
            && signal.is_none()
            && pokes.is_empty()
            && delay_enter_us == 0
            && delay_exit_us == 0
        {
            return Err(bad(
                "needs error=, retval=, signal=, poke_enter=, poke_exit=, delay_enter= or \
                 delay_exit="
                    .to_string(),
            ));
        }
        Ok(InjectRule {
            set,
            action,
            // As strace: without a fault to make, syscall= does nothing.
            substitute: substitute.filter(|_| action.is_some()),
            signal,
            pokes,
            delay_enter_us,
            delay_exit_us,
            when,
            seen: 0,
            seen_by_thread: Default::default(),
        })
    }

    /// Counts an invocation of `name` by thread `tid` (None: not known)
    /// and adds what the rule does to `hit` if this one is hit (the first
    /// rule's fault wins; pokes and delays add up).
    pub fn check(&mut self, name: &str, tid: Option<u32>, hit: &mut Injection) {
        if !self.set.contains(name) {
            return;
        }
        let n = match tid {
            Some(t) => {
                if self.seen_by_thread.len() >= MAX_COUNTED_THREADS
                    && !self.seen_by_thread.contains_key(&t)
                {
                    self.seen_by_thread.clear();
                }
                let c = self.seen_by_thread.entry(t).or_insert(0);
                *c += 1;
                *c
            }
            None => {
                self.seen += 1;
                self.seen
            }
        };
        if !self.when.hits(n) {
            return;
        }
        if hit.action.is_none() {
            hit.action = self.action;
            hit.substitute.clone_from(&self.substitute);
        }
        if hit.signal.is_none() {
            hit.signal = self.signal;
        }
        for p in &self.pokes {
            if !hit
                .pokes
                .iter()
                .any(|q| q.arg == p.arg && q.at_exit == p.at_exit)
            {
                hit.pokes.push(p.clone());
            }
        }
        hit.delay_enter_us = hit.delay_enter_us.max(self.delay_enter_us);
        hit.delay_exit_us = hit.delay_exit_us.max(self.delay_exit_us);
    }
}

/// `syscall=NAME`'s call, checked as strace checks it: known to every
/// ABI of the OS and free of side effects (`%pure`: getpid, gettid...),
/// so that running it instead of the faulted call changes nothing.
fn pure_call(name: &str, os: &dyn OsLayer) -> Result<String, String> {
    let pure = SyscallSet::parse("%pure", os).map_err(|e| format!("syscall={name}: {e}"))?;
    if !pure.contains(name) {
        return Err(format!(
            "syscall={name}: not a call without side effects (%pure)"
        ));
    }
    if ["x86_64", "i386"]
        .iter()
        .any(|abi| os.number_of_name(abi, name).is_none())
    {
        return Err(format!("syscall={name}: not a call of every ABI"));
    }
    Ok(name.to_string())
}

/// Guest pages are written one at a time, so that a buffer running into
/// an unmapped page gets its mapped head (strace's partial
/// `process_vm_writev`).
const PAGE: u64 = 4096;

/// Writes `data` at `addr` page by page up to the first page that cannot
/// be written; returns the bytes written and the bytes they replaced
/// (where they could be read first).
fn write_prefix(mem: &mut dyn VirtMem, addr: u64, data: &[u8]) -> (usize, Vec<u8>) {
    let mut done = 0usize;
    let mut before = Vec::with_capacity(data.len());
    while done < data.len() {
        let at = addr.wrapping_add(done as u64);
        let room = (PAGE - at % PAGE) as usize;
        let chunk = &data[done..(done + room).min(data.len())];
        let mut old = vec![0u8; chunk.len()];
        let readable = mem.read_virt(at, &mut old).is_ok();
        if mem.write_virt(at, chunk).is_err() {
            break;
        }
        if readable {
            before.extend_from_slice(&old);
        }
        done += chunk.len();
    }
    (done, before)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first 8 bytes of `b` as a little-endian number (a record's
/// `before`/`after`; the full bytes are in its texts).
fn head_u64(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = b.len().min(8);
    w[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(w)
}

/// Writes the `pokes` of one side of a call (`at_exit`) where its
/// arguments `raw` point, through `mem` (the caller's user memory: a
/// pointer into the kernel is refused there), as strace's `poke_tcb`:
/// each write is noted in `mods` (target `@argN`, the memory address,
/// the bytes before and after in hex); what could not be done is
/// returned as strace words it ("Failed to tamper with process N: ...").
pub fn apply_pokes(
    mem: &mut dyn VirtMem,
    call: &str,
    raw: &[u64],
    pid: Option<u32>,
    pokes: &[Poke],
    at_exit: bool,
    mods: &mut Vec<Modification>,
) -> Vec<String> {
    let who = pid.map_or_else(|| "?".to_string(), |p| p.to_string());
    let mut errors = Vec::new();
    for p in pokes.iter().filter(|p| p.at_exit == at_exit) {
        let Some(&addr) = raw.get(p.arg - 1) else {
            errors.push(format!(
                "Failed to tamper with process {who}: requested to tamper with argument #{}, \
                 but system call '{call}' has only {} arguments",
                p.arg,
                raw.len()
            ));
            continue;
        };
        let (n, before) = write_prefix(mem, addr, &p.data);
        if n == 0 {
            errors.push(format!(
                "Failed to tamper with process {who}: couldn't poke"
            ));
            continue;
        }
        let written = &p.data[..n];
        mods.push(Modification {
            target: format!("@arg{}", p.arg),
            location: format!("mem:{addr:#x}"),
            before: head_u64(&before),
            after: head_u64(written),
            before_text: (before.len() == n).then(|| hex(&before)),
            after_text: Some(hex(written)),
        });
    }
    errors
}

/// Whether modification `m` is a poke (strace's ` (INJECTED: args)`).
pub fn is_poke(m: &Modification) -> bool {
    m.target.starts_with("@arg")
}

/// Whether modification `m` is a `signal=` injection (strace marks
/// nothing: the signal's own line tells it).
pub fn is_signal(m: &Modification) -> bool {
    m.target == "signal"
}

/// Whether modification `m` is a delay (strace's ` (DELAYED)`).
pub fn is_delay(m: &Modification) -> bool {
    matches!(m.target.as_str(), "delay_enter" | "delay_exit")
}

fn parse_int(v: &str) -> Option<i64> {
    if let Some(h) = v.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok().map(|u| u as i64)
    } else {
        v.parse().ok()
    }
}

/// `--rewrite-path=FROM=TO`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PathRewrite {
    /// The path as the program names it, compared in full.
    pub from: String,
    /// The path the kernel is given instead.
    pub to: String,
}

impl PathRewrite {
    /// Parses `FROM=TO` (`--rewrite-path`); both sides must be non-empty.
    pub fn parse(spec: &str) -> Result<PathRewrite, InjectError> {
        match spec.split_once('=') {
            Some((f, t)) if !f.is_empty() && !t.is_empty() => Ok(PathRewrite {
                from: f.to_string(),
                to: t.to_string(),
            }),
            _ => Err(InjectError::BadRewrite {
                spec: spec.to_string(),
            }),
        }
    }
}

/// Rewrites path argument `idx` of `sc` if it names the `from` of one of
/// `rules` (the first that matches): the engine matches, the OS layer
/// says how a path argument is read and pointed elsewhere. A path that
/// cannot be read, or a failed write, leaves the call as it was.
pub fn rewrite_path(os: &dyn OsLayer, sc: &mut Syscall<'_>, idx: usize, rules: &[PathRewrite]) {
    let Some(path) = os.read_path(sc, idx) else {
        return;
    };
    if let Some(rule) = rules.iter().find(|r| r.from == path) {
        let _ = os.write_path(sc, idx, &path, &rule.to);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_forms() {
        let w = When::parse("2").unwrap();
        assert!(!w.hits(1) && w.hits(2) && !w.hits(3));
        let w = When::parse("2+").unwrap();
        assert!(!w.hits(1) && w.hits(2) && w.hits(3) && w.hits(100));
        let w = When::parse("2+3").unwrap();
        assert!(w.hits(2) && !w.hits(3) && w.hits(5) && w.hits(8) && !w.hits(9));
        let w = When::parse("2..4").unwrap();
        assert!(!w.hits(1) && w.hits(2) && w.hits(4) && !w.hits(5));
        let w = When::parse("1..10+3").unwrap();
        assert!(w.hits(1) && w.hits(4) && w.hits(10) && !w.hits(13));
        assert!(When::parse("0").is_err());
        assert!(When::parse("5..2").is_err());
        assert!(When::parse("x").is_err());
    }

    #[test]
    fn rewrite_parse() {
        assert_eq!(
            PathRewrite::parse("/etc/hostname=/tmp/other").unwrap(),
            PathRewrite {
                from: "/etc/hostname".into(),
                to: "/tmp/other".into()
            }
        );
        assert!(PathRewrite::parse("=x").is_err());
        let e = PathRewrite::parse("noequals").unwrap_err().to_string();
        assert!(e.starts_with("--rewrite-path \"noequals\""), "{e}");
    }

    #[test]
    fn pokes_parse_as_strace() {
        let os = vstrace_linux::layer::LinuxLayer::new(None);
        let r = InjectRule::parse(
            "chdir:poke_enter=@arg1=3f00,@arg2=ff:poke_exit=@arg1=00:when=2+",
            &os,
        )
        .unwrap();
        assert_eq!(r.action, None);
        assert_eq!(
            r.pokes,
            [
                Poke {
                    arg: 1,
                    data: vec![0x3f, 0],
                    at_exit: false
                },
                Poke {
                    arg: 2,
                    data: vec![0xff],
                    at_exit: false
                },
                Poke {
                    arg: 1,
                    data: vec![0],
                    at_exit: true
                },
            ]
        );
        for bad in [
            "chdir:poke_enter=@arg8=00",
            "chdir:poke_enter=@arg0=00",
            "chdir:poke_enter=@arg1=0",
            "chdir:poke_enter=@arg1=",
            "chdir:poke_enter=@arg1=zz",
            "chdir:poke_enter=arg1=00",
            "chdir:poke_enter=@arg1=00,@arg1=01",
            "chdir:poke_enter=@arg1=00:poke_enter=@arg2=00",
            "chdir:when=2",
            "chdir:signal=SIGNOPE",
            "chdir:signal=0",
            "chdir:signal=65",
            "chdir:signal=USR1:signal=USR2",
        ] {
            assert!(InjectRule::parse(bad, &os).is_err(), "{bad}");
        }
        for (spec, sig) in [
            ("chdir:signal=SIGUSR1", 10),
            ("chdir:signal=USR1", 10),
            ("chdir:signal=9", 9),
            ("chdir:error=EIO:signal=ALRM", 14),
        ] {
            assert_eq!(
                InjectRule::parse(spec, &os).unwrap().signal,
                Some(sig),
                "{spec}"
            );
        }
        let long = format!("chdir:poke_enter=@arg1={}", "00".repeat(MAX_POKE_LEN + 1));
        assert!(InjectRule::parse(&long, &os).is_err());
        let r = InjectRule::parse("chdir:delay_enter=1ms:delay_exit=2", &os).unwrap();
        assert_eq!((r.delay_enter_us, r.delay_exit_us), (1000, 2));
        assert!(InjectRule::parse("chdir:delay_enter=1h", &os).is_err());
    }

    #[test]
    fn pokes_write_up_to_the_first_unmapped_page() {
        use vstrace_core::testmem::SparseVirt;
        let mut mem = SparseVirt::new();
        mem.map(0x1000, &[0xaa; 0x1000]);
        let pokes = Poke::parse_list("@arg1=0102030405060708", false).unwrap();
        let mut mods = Vec::new();
        // Two bytes before the end of the mapped page: two written.
        let errs = apply_pokes(
            &mut mem,
            "chdir",
            &[0x1ffe],
            Some(7),
            &pokes,
            false,
            &mut mods,
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(mods[0].after_text.as_deref(), Some("0102"));
        assert_eq!(mods[0].before_text.as_deref(), Some("aaaa"));
        let mut b = [0u8; 2];
        mem.read_virt(0x1ffe, &mut b).unwrap();
        assert_eq!(b, [1, 2]);
        // Nothing mapped, and an argument the call does not have.
        let errs = apply_pokes(
            &mut mem,
            "chdir",
            &[0x5000],
            Some(7),
            &pokes,
            false,
            &mut mods,
        );
        assert_eq!(errs, ["Failed to tamper with process 7: couldn't poke"]);
        let two = Poke::parse_list("@arg2=00", false).unwrap();
        let errs = apply_pokes(
            &mut mem,
            "chdir",
            &[0x1000],
            Some(7),
            &two,
            false,
            &mut mods,
        );
        assert!(
            errs[0].ends_with("system call 'chdir' has only 1 arguments"),
            "{errs:?}"
        );
        // Exit pokes are not written at the enter.
        let exit = Poke::parse_list("@arg1=00", true).unwrap();
        let n = mods.len();
        apply_pokes(&mut mem, "chdir", &[0x1000], None, &exit, false, &mut mods);
        assert_eq!(mods.len(), n);
    }

    #[test]
    fn syscall_names_a_pure_call_run_instead() {
        let os = vstrace_linux::layer::LinuxLayer::new(None);
        let r = InjectRule::parse("chdir:retval=42:syscall=gettid", &os).unwrap();
        assert_eq!(r.substitute.as_deref(), Some("gettid"));
        let mut hit = Injection::default();
        let mut r = r;
        r.check("chdir", Some(7), &mut hit);
        assert_eq!(hit.action, Some(InjectAction::Retval(42)));
        assert_eq!(hit.substitute.as_deref(), Some("gettid"));
        assert_eq!(os.number_of_name("x86_64", "gettid"), Some(186));
        assert_eq!(os.number_of_name("i386", "gettid"), Some(224));
        // Only calls without side effects, once, and known.
        for bad in [
            "chdir:error=ENOENT:syscall=unlink",
            "chdir:error=ENOENT:syscall=gettid:syscall=getpid",
            "chdir:error=ENOENT:syscall=nosuchcall",
        ] {
            assert!(InjectRule::parse(bad, &os).is_err(), "{bad}");
        }
        // Without a fault to make it does nothing (as strace).
        let r = InjectRule::parse("chdir:delay_enter=1us:syscall=getpid", &os).unwrap();
        assert_eq!(r.substitute, None);
    }

    #[test]
    fn error_and_retval_exclude_each_other() {
        let os = vstrace_linux::layer::LinuxLayer::new(None);
        let e = InjectRule::parse("getpid:error=ENOENT:retval=3", &os).unwrap_err();
        assert!(e.to_string().contains("exclude each other"), "{e}");
        assert!(InjectRule::parse("getpid:retval=3:error=ENOENT", &os).is_err());
        assert!(InjectRule::parse("getpid:retval=3:when=2", &os).is_ok());
    }
}
