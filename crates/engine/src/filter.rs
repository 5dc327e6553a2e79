//! strace's `-e trace=` set language: names, `%class`, `all`, `none`,
//! `!` negation, comma-separated. Also used for `--inject` sets.

use std::collections::HashSet;

use crate::os::OsLayer;

/// Error parsing a syscall set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("invalid system call '{0}'")]
    UnknownName(String),
    #[error("unknown syscall class '%{0}'")]
    UnknownClass(String),
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
        let mut all = false;
        for item in body.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "all" {
                all = true;
            } else if item == "none" {
            } else if let Some(class) = item.strip_prefix('%') {
                let members = os
                    .class_members(class)
                    .ok_or_else(|| FilterError::UnknownClass(class.to_string()))?;
                names.extend(members);
            } else if let Some(name) = item.strip_prefix('?') {
                names.insert(name.to_string());
            } else if known.contains(item) {
                names.insert(item.to_string());
            } else {
                return Err(FilterError::UnknownName(item.to_string()));
            }
        }
        if all {
            return Ok(SyscallSet {
                names: HashSet::new(),
                negated: !negated,
            });
        }
        Ok(SyscallSet { names, negated })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name) != self.negated
    }
}
