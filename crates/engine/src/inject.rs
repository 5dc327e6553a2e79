//! strace's `--inject=SET:error=E|retval=N[:when=EXPR]` rules and path
//! rewrites.

use crate::filter::{FilterError, SyscallSet};
use vstrace_core::{OsLayer, Syscall};

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
    /// What it does to them.
    pub action: InjectAction,
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
    /// Parses `SET:error=ENOENT[:when=2]` or `SET:retval=N[:when=...]`.
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
                _ => {
                    return Err(bad(format!(
                        "unsupported key {k:?} (error=, retval=, when=)"
                    )))
                }
            }
        }
        let action = action.ok_or_else(|| bad("needs error= or retval=".to_string()))?;
        Ok(InjectRule {
            set,
            action,
            when,
            seen: 0,
            seen_by_thread: Default::default(),
        })
    }

    /// Counts an invocation of `name` by thread `tid` (None: not known);
    /// returns the action if this one is hit.
    pub fn check(&mut self, name: &str, tid: Option<u32>) -> Option<InjectAction> {
        if !self.set.contains(name) {
            return None;
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
        self.when.hits(n).then_some(self.action)
    }
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
    fn error_and_retval_exclude_each_other() {
        let os = vstrace_linux::layer::LinuxLayer::new(None);
        let e = InjectRule::parse("getpid:error=ENOENT:retval=3", &os).unwrap_err();
        assert!(e.to_string().contains("exclude each other"), "{e}");
        assert!(InjectRule::parse("getpid:retval=3:error=ENOENT", &os).is_err());
        assert!(InjectRule::parse("getpid:retval=3:when=2", &os).is_ok());
    }
}
