//! strace's `-e trace=` set language: names, `%class` (the OS layer's
//! classes, and on Linux strace's fixed `%stat`-like and `%pure` sets),
//! `/regex`, `all`, `none`, `?` (no error when nothing matches), the
//! `@64`/`@32`/`@x32` personality suffixes, `!` negation, comma-separated.
//! Also used for `--inject` and `-e raw=` sets.

use std::collections::HashSet;

use vstrace_core::fasthash::FastSet;

use vstrace_core::{Os, OsLayer};

/// strace's classes that are fixed lists of Linux calls rather than
/// properties of its syscall table (`%stat`...).
const LINUX_FIXED: &[(&str, &[&str])] = &[
    ("stat", &["stat", "stat64", "oldstat"]),
    ("lstat", &["lstat", "lstat64", "oldlstat"]),
    (
        "fstat",
        &[
            "fstat",
            "fstat64",
            "fstatat64",
            "newfstatat",
            "oldfstat",
            "statx",
        ],
    ),
    ("statfs", &["statfs", "statfs64"]),
    ("fstatfs", &["fstatfs", "fstatfs64"]),
    (
        "pure",
        &[
            "getegid",
            "getegid32",
            "geteuid",
            "geteuid32",
            "getgid",
            "getgid32",
            "getpgrp",
            "getpid",
            "getppid",
            "gettid",
            "getuid",
            "getuid32",
        ],
    ),
];

/// strace's union classes: the classes they join, and calls of their own.
const LINUX_UNIONS: &[(&str, &[&str], &[&str])] = &[
    ("%stat", &["stat", "lstat", "fstat"], &[]),
    ("%statfs", &["statfs", "fstatfs"], &["ustat"]),
];

/// A personality suffix: which ABI a name applies to.
fn personality(suffix: &str) -> Option<&'static str> {
    match suffix {
        "64" => Some("x86_64"),
        "32" => Some("i386"),
        // vstrace decodes no x32 calls: such an item matches nothing.
        "x32" => Some("x32"),
        _ => None,
    }
}

/// Error parsing a syscall set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// A name the OS layer does not know (`?name` accepts it anyway).
    #[error("invalid system call '{0}'")]
    UnknownName(String),
    /// A `%class` the OS layer does not have.
    #[error("unknown syscall class '%{0}'")]
    UnknownClass(String),
    /// Nothing between the commas.
    #[error("empty syscall set")]
    Empty,
    /// A `/regex` that does not compile.
    #[error("invalid regular expression '/{0}': {1}")]
    Regex(String, String),
}

/// The classes strace still accepts without their `%` (`-e trace=file`).
const LEGACY_CLASSES: &[&str] = &[
    "desc", "file", "memory", "process", "signal", "ipc", "network",
];

/// A set of syscall names, some of them for one ABI only (`name@64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallSet {
    names: FastSet<String>,
    /// (name, ABI) pairs from `@64`/`@32`/`@x32` items.
    abi_names: FastSet<(String, &'static str)>,
    /// When true the set is the complement of the above.
    negated: bool,
}

impl SyscallSet {
    /// Every call (no `-e trace=`).
    pub fn all() -> SyscallSet {
        SyscallSet {
            names: FastSet::default(),
            abi_names: FastSet::default(),
            negated: true,
        }
    }

    /// Parses `[!]item[,item...]` where item is `[?]`, then a name,
    /// `%class`, `/regex`, `all` or `none`, then an optional `@64`,
    /// `@32` or `@x32`. `?` accepts names, classes and regexes that match
    /// nothing.
    pub fn parse(spec: &str, os: &dyn OsLayer) -> Result<SyscallSet, FilterError> {
        let spec = spec.trim();
        let (negated, body) = match spec.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, spec),
        };
        if body.is_empty() {
            return Err(FilterError::Empty);
        }
        let known: Vec<String> = os.all_names();
        let known_set: HashSet<&str> = known.iter().map(String::as_str).collect();
        let mut names = FastSet::default();
        let mut abi_names = FastSet::default();
        let mut removed = FastSet::default();
        let mut removed_abi = FastSet::default();
        let mut all = false;
        for item in body.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            // `a,!b`: items after the first may be subtracted one by one.
            let (minus, item) = match item.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, item),
            };
            let (optional, item) = match item.strip_prefix('?') {
                Some(rest) => (true, rest),
                None => (false, item),
            };
            // A personality suffix (not inside a regex's own '@').
            let (item, abi) = match item.rsplit_once('@') {
                Some((i, suf)) if !i.is_empty() => match personality(suf) {
                    Some(a) => (i, Some(a)),
                    None if optional => continue,
                    None => return Err(FilterError::UnknownName(format!("{i}@{suf}"))),
                },
                _ => (item, None),
            };
            let members: Vec<String> = if item == "all" {
                if abi.is_none() {
                    if minus {
                        return Err(FilterError::UnknownName("!all".into()));
                    }
                    all = true;
                    continue;
                }
                known.clone()
            } else if item == "none" {
                Vec::new()
            } else if let Some(class) = item.strip_prefix('%') {
                match class_members(os, class) {
                    Some(m) => m,
                    None if optional => Vec::new(),
                    None => return Err(FilterError::UnknownClass(class.to_string())),
                }
            } else if let Some(m) = LEGACY_CLASSES
                .contains(&item)
                .then(|| class_members(os, item))
                .flatten()
            {
                // strace's class names of old, without `%`, looked up
                // before syscall names as strace does (`-e ipc`).
                m
            } else if let Some(re) = item.strip_prefix('/') {
                let re = regex::Regex::new(re)
                    .map_err(|e| FilterError::Regex(re.to_string(), e.to_string()))?;
                let m: Vec<String> = known.iter().filter(|n| re.is_match(n)).cloned().collect();
                if m.is_empty() && !optional {
                    return Err(FilterError::UnknownName(format!("/{}", re.as_str())));
                }
                m
            } else if let (Ok(nr), None) = (item.parse::<u64>(), abi) {
                // A number: that call of every personality that has one,
                // as strace reads it (x86-64's 42 is connect, i386's pipe).
                let mut by_abi = Vec::new();
                for a in ["x86_64", "i386"] {
                    if let Some(n) = os.name_of_number(a, nr) {
                        by_abi.push((n, a));
                    }
                }
                if by_abi.is_empty() && !optional {
                    return Err(FilterError::UnknownName(item.to_string()));
                }
                if minus {
                    removed_abi.extend(by_abi);
                } else {
                    abi_names.extend(by_abi);
                }
                continue;
            } else if let (Ok(nr), Some(a)) = (item.parse::<u64>(), abi) {
                // `79@64`: the call of that number in that personality
                // (strace's trace_personality_number tests). x32 numbers
                // are valid to strace but vstrace decodes no x32 call:
                // such an item matches nothing, as `getpid@x32` does.
                let n = os.name_of_number(a, nr);
                if n.is_none() && a != "x32" && !optional {
                    return Err(FilterError::UnknownName(format!("{item}@{a}")));
                }
                n.into_iter().collect()
            } else if known_set.contains(item) || optional {
                vec![item.to_string()]
            } else {
                return Err(FilterError::UnknownName(item.to_string()));
            };
            match (abi, minus) {
                (None, false) => names.extend(members),
                (None, true) => removed.extend(members),
                (Some(a), false) => abi_names.extend(members.into_iter().map(|m| (m, a))),
                (Some(a), true) => removed_abi.extend(members.into_iter().map(|m| (m, a))),
            }
        }
        if all {
            // all minus the removed items (or, negated, only those).
            return Ok(SyscallSet {
                names: removed,
                abi_names: removed_abi,
                negated: !negated,
            });
        }
        names.retain(|n| !removed.contains(n));
        abi_names.retain(|p| !removed.contains(&p.0) && !removed_abi.contains(p));
        Ok(SyscallSet {
            names,
            abi_names,
            negated,
        })
    }

    /// Whether the call named `name` is in the set (whatever its ABI).
    pub fn contains(&self, name: &str) -> bool {
        unnumbered(name) || self.names.contains(name) != self.negated
    }

    /// Whether the call named `name` of ABI `abi` (a record's `abi`) is
    /// in the set.
    pub fn contains_call(&self, name: &str, abi: &str) -> bool {
        if unnumbered(name) {
            return true;
        }
        let found = self.names.contains(name)
            || (!self.abi_names.is_empty()
                && self.abi_names.iter().any(|(n, a)| n == name && *a == abi));
        found != self.negated
    }
}

/// Whether `name` is the OS layer's name of a number outside its table
/// (`syscall_0x1c3`): no set can name such a call, and strace traces it
/// whatever `-e trace=` says (its flags are the default ones, with
/// `raw`), so every set holds it.
fn unnumbered(name: &str) -> bool {
    name.strip_prefix("syscall_0x")
        .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The calls of a class: the OS layer's, else (Linux) strace's fixed
/// lists; `%net` is `%network`.
fn class_members(os: &dyn OsLayer, class: &str) -> Option<Vec<String>> {
    let class = if class == "net" { "network" } else { class };
    if let Some(m) = os.class_members(class) {
        return Some(m);
    }
    if os.os() != Os::Linux {
        return None;
    }
    let fixed = |c: &str| LINUX_FIXED.iter().find(|f| f.0 == c).map(|f| f.1);
    if let Some(m) = fixed(class) {
        return Some(m.iter().map(|s| s.to_string()).collect());
    }
    let (_, parts, own) = LINUX_UNIONS.iter().find(|u| u.0 == class)?;
    let joined = parts.iter().filter_map(|p| fixed(p)).flatten();
    Some(joined.chain(own.iter()).map(|s| s.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_linux::LinuxLayer;

    #[test]
    fn sets() {
        let os = LinuxLayer::default();
        let s = SyscallSet::parse("open,close", &os).unwrap();
        assert!(s.contains("open") && s.contains("close") && !s.contains("read"));
        let s = SyscallSet::parse("!open,close", &os).unwrap();
        assert!(!s.contains("open") && !s.contains("close") && s.contains("read"));
        let s = SyscallSet::parse("%file,!mkdir", &os).unwrap();
        assert!(s.contains("openat") && !s.contains("mkdir") && !s.contains("write"));
        let s = SyscallSet::parse("all,!write", &os).unwrap();
        assert!(s.contains("read") && !s.contains("write"));
        let s = SyscallSet::parse("none", &os).unwrap();
        assert!(!s.contains("read"));
        // A number names the call of that number in each personality.
        let s = SyscallSet::parse("42", &os).unwrap();
        assert!(s.contains_call("connect", "x86_64") && s.contains_call("pipe", "i386"));
        assert!(!s.contains_call("pipe", "x86_64") && !s.contains_call("connect", "i386"));
        let s = SyscallSet::parse("!42", &os).unwrap();
        assert!(!s.contains_call("connect", "x86_64") && s.contains_call("read", "x86_64"));
        assert!(SyscallSet::parse("100000", &os).is_err());
        assert!(SyscallSet::parse("%network", &os)
            .unwrap()
            .contains("connect"));
        assert_eq!(
            SyscallSet::parse("nosuch", &os),
            Err(FilterError::UnknownName("nosuch".into()))
        );
        assert_eq!(
            SyscallSet::parse("%nosuch", &os),
            Err(FilterError::UnknownClass("nosuch".into()))
        );
        assert!(SyscallSet::parse("?nosuch", &os)
            .unwrap()
            .contains("nosuch"));
        assert_eq!(SyscallSet::parse("", &os), Err(FilterError::Empty));
    }

    #[test]
    fn strace_language() {
        let os = LinuxLayer::default();
        let s = SyscallSet::parse("%stat", &os).unwrap();
        assert!(s.contains("stat") && !s.contains("fstat"));
        let s = SyscallSet::parse("%%stat,%pure", &os).unwrap();
        assert!(s.contains("newfstatat") && s.contains("lstat") && s.contains("getpid"));
        assert!(!s.contains("open"));
        let s = SyscallSet::parse("%%statfs,%net", &os).unwrap();
        assert!(s.contains("ustat") && s.contains("fstatfs") && s.contains("connect"));
        let s = SyscallSet::parse("/^get.*id$", &os).unwrap();
        assert!(s.contains("getpid") && s.contains("getuid") && !s.contains("getcwd"));
        assert!(SyscallSet::parse("/^nomatch$", &os).is_err());
        assert!(SyscallSet::parse("?/^nomatch$,?%nosuch,?nosuch@99", &os).is_ok());
        assert!(matches!(
            SyscallSet::parse("/(", &os),
            Err(FilterError::Regex(..))
        ));
        let s = SyscallSet::parse("getpid@64,read@32", &os).unwrap();
        assert!(s.contains_call("getpid", "x86_64") && !s.contains_call("getpid", "i386"));
        // A number outside the table is in every set, as strace traces it.
        assert!(s.contains_call("syscall_0x1c3", "x86_64") && s.contains("syscall_0x1c3"));
        assert!(s.contains_call("read", "i386") && !s.contains_call("read", "x86_64"));
        let s = SyscallSet::parse("!getpid@32", &os).unwrap();
        assert!(s.contains_call("getpid", "x86_64") && !s.contains_call("getpid", "i386"));
        let s = SyscallSet::parse("all@64", &os).unwrap();
        assert!(s.contains_call("write", "x86_64") && !s.contains_call("write", "i386"));
        // A number with a personality: that personality's call only.
        let s = SyscallSet::parse("79@64", &os).unwrap();
        assert!(s.contains_call("getcwd", "x86_64") && !s.contains_call("getcwd", "i386"));
        let s = SyscallSet::parse("183@32", &os).unwrap();
        assert!(s.contains_call("getcwd", "i386") && !s.contains_call("getcwd", "x86_64"));
        assert!(!SyscallSet::parse("79@x32", &os)
            .unwrap()
            .contains_call("getcwd", "x86_64"));
        assert!(SyscallSet::parse("100000@64", &os).is_err());
        assert!(!SyscallSet::parse("getpid@x32", &os)
            .unwrap()
            .contains_call("getpid", "x86_64"));
    }
}
