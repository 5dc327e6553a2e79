//! strace's `-e trace=` set language: names, `%class`, `all`, `none`,
//! `!` negation, comma-separated. Also used for `--inject` sets.

use std::collections::HashSet;

use vstrace_core::OsLayer;

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
}

/// A set of syscall names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallSet {
    names: HashSet<String>,
    /// When true the set is the complement of `names`.
    negated: bool,
}

impl SyscallSet {
    /// Every call (no `-e trace=`).
    pub fn all() -> SyscallSet {
        SyscallSet {
            names: HashSet::new(),
            negated: true,
        }
    }

    /// Parses `[!]item[,item...]` where item is a name, `%class`, `all` or
    /// `none`. `?name` accepts names the layer does not know.
    pub fn parse(spec: &str, os: &dyn OsLayer) -> Result<SyscallSet, FilterError> {
        let spec = spec.trim();
        let (negated, body) = match spec.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, spec),
        };
        if body.is_empty() {
            return Err(FilterError::Empty);
        }
        let known: HashSet<String> = os.all_names().into_iter().collect();
        let mut names = HashSet::new();
        let mut removed = HashSet::new();
        let mut all = false;
        for item in body.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            // `a,!b`: items after the first may be subtracted one by one.
            let (target, item) = match item.strip_prefix('!') {
                Some(rest) => (&mut removed, rest),
                None => (&mut names, item),
            };
            if item == "all" {
                all = true;
            } else if item == "none" {
            } else if let Some(class) = item.strip_prefix('%') {
                let members = os
                    .class_members(class)
                    .ok_or_else(|| FilterError::UnknownClass(class.to_string()))?;
                target.extend(members);
            } else if let Some(name) = item.strip_prefix('?') {
                target.insert(name.to_string());
            } else if known.contains(item) {
                target.insert(item.to_string());
            } else {
                return Err(FilterError::UnknownName(item.to_string()));
            }
        }
        if all {
            // all minus the removed items (or, negated, only those).
            return Ok(SyscallSet {
                names: removed,
                negated: !negated,
            });
        }
        names.retain(|n| !removed.contains(n));
        Ok(SyscallSet { names, negated })
    }

    /// Whether the call named `name` is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name) != self.negated
    }
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
}
