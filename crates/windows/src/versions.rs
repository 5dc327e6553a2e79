//! Windows versions and their system service tables (nt and win32k, x64 and
//! x86), generated from j00ru/windows-syscalls by
//! `scripts/gen-windows-tables.py` into `crates/windows/data/`.
//!
//! A Windows system service number in eax selects a table with bits 12-13
//! (0 = ntoskrnl, 1 = win32k) and a service with bits 0-11; lookups are two
//! array indexings.

use serde::{Deserialize, Serialize};

/// Architecture of the Windows kernel (not of the calling process: WOW64
/// processes make 64-bit system calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Arch {
    /// 64-bit kernel (`syscall`; 32-bit WOW64 processes also end up here).
    X64,
    /// 32-bit kernel (`sysenter` or `int 0x2e`).
    X86,
}

impl Arch {
    /// Short lower-case name (`x64`, `x86`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::X64 => "x64",
            Arch::X86 => "x86",
        }
    }
}

/// Which service table a system service number selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ServiceTable {
    /// KeServiceDescriptorTable (ntoskrnl, Nt* calls).
    Nt,
    /// The shadow table (win32k, NtUser*/NtGdi* calls).
    Win32k,
}

/// One Windows release as a column of the source table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowsVersion {
    /// Kernel architecture of this column.
    pub arch: Arch,
    /// Display name, e.g. "Windows 10 22H2".
    pub id: &'static str,
    /// Column header of the source CSV, e.g. "Windows 10 (22H2)".
    pub label: &'static str,
    /// Short name, e.g. "win10-22h2".
    pub slug: &'static str,
    /// Build number (several releases can share one, e.g. 3790, 26100).
    pub build: u32,
    /// NT major.minor (10.0, 6.1 ...).
    pub nt_version: (u32, u32),
    /// Normalized names accepted by [`version_by_name`].
    #[serde(skip)]
    aliases: &'static [&'static str],
    #[serde(skip)]
    nt_table: u16,
    #[serde(skip)]
    win32k_table: u16,
}

const NO_TABLE: u16 = 0xffff;

mod gen_x64 {
    //! Generated x64 tables.
    use super::{Arch, WindowsVersion};
    include!("../data/syscalls_x64.rs");
}
mod gen_x86 {
    //! Generated x86 tables.
    use super::{Arch, WindowsVersion};
    include!("../data/syscalls_x86.rs");
}

struct ArchData {
    names: &'static [&'static str],
    tables: &'static [&'static [u16]],
    versions: &'static [WindowsVersion],
}

fn data(arch: Arch) -> ArchData {
    match arch {
        Arch::X64 => ArchData {
            names: &gen_x64::X64_NAMES,
            tables: &gen_x64::X64_TABLES,
            versions: &gen_x64::X64_VERSIONS,
        },
        Arch::X86 => ArchData {
            names: &gen_x86::X86_NAMES,
            tables: &gen_x86::X86_TABLES,
            versions: &gen_x86::X86_VERSIONS,
        },
    }
}

impl WindowsVersion {
    /// "Windows 10 22H2 (x64, build 19045)".
    pub fn describe(&self) -> String {
        format!("{} ({}, build {})", self.id, self.arch.name(), self.build)
    }

    fn table(&self, t: ServiceTable) -> Option<&'static [u16]> {
        let idx = match t {
            ServiceTable::Nt => self.nt_table,
            ServiceTable::Win32k => self.win32k_table,
        };
        if idx == NO_TABLE {
            return None;
        }
        data(self.arch).tables.get(usize::from(idx)).copied()
    }

    /// Number of services in a table of this version (0 if absent).
    pub fn table_len(&self, t: ServiceTable) -> usize {
        self.table(t).map_or(0, <[u16]>::len)
    }

    /// Service number of a call by name, in this version (linear scan: for
    /// setup and tests, not for the per-event path).
    pub fn service_number(&self, name: &str) -> Option<u32> {
        let names = data(self.arch).names;
        for (t, base) in [(ServiceTable::Nt, 0u32), (ServiceTable::Win32k, 0x1000)] {
            if let Some(tab) = self.table(t) {
                if let Some(i) = tab
                    .iter()
                    .position(|&n| n != NO_TABLE && names.get(usize::from(n)) == Some(&name))
                {
                    return Some(base | i as u32);
                }
            }
        }
        None
    }

    fn same_tables(&self, other: &WindowsVersion) -> bool {
        self.arch == other.arch
            && self.nt_table == other.nt_table
            && self.win32k_table == other.win32k_table
    }
}

/// All versions with tables for `arch`, oldest first.
pub fn versions(arch: Arch) -> &'static [WindowsVersion] {
    data(arch).versions
}

/// Splits a service number into its table and service index; `None` for
/// table bits 2 and 3 (unused by Windows).
pub fn split_service(eax: u32) -> Option<(ServiceTable, u32)> {
    let svc = eax & 0xfff;
    match (eax >> 12) & 3 {
        0 => Some((ServiceTable::Nt, svc)),
        1 => Some((ServiceTable::Win32k, svc)),
        _ => None,
    }
}

/// Name of system service `eax` in `version`. `arch` must match the
/// version's (a version of the other architecture is looked up by id).
pub fn lookup(arch: Arch, version: &WindowsVersion, eax: u32) -> Option<&'static str> {
    let version = if version.arch == arch {
        version
    } else {
        versions(arch).iter().find(|v| v.label == version.label)?
    };
    let (t, svc) = split_service(eax)?;
    let idx = *version.table(t)?.get(svc as usize)?;
    if idx == NO_TABLE {
        return None;
    }
    data(arch).names.get(usize::from(idx)).copied()
}

/// Why [`version_by_name`] did not pick one version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// No version matches the name given.
    #[error("unknown Windows version {0:?} (try e.g. win10-22h2, win7-sp1, 10.0.19045, 19045)")]
    Unknown(String),
    /// The name matches several versions with different tables.
    #[error("ambiguous Windows version {input:?}: could be {}", candidates.join(", "))]
    Ambiguous {
        /// The name as given.
        input: String,
        /// Ids (display names) of the versions it matches.
        candidates: Vec<String>,
    },
}

/// Lower-case, drop separators and a leading "microsoft"/"windows"/"win".
/// Must match `normalize()` in scripts/gen-windows-tables.py.
fn normalize(s: &str) -> String {
    let mut n: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '_' | '(' | ')' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    for prefix in ["microsoft", "windows", "win"] {
        if let Some(rest) = n.strip_prefix(prefix) {
            n = rest.to_string();
        }
    }
    n
}

/// Parses "19045", "10.0.19045" or "10.0.19045.3803" into
/// (optional major.minor, build).
fn parse_build(s: &str) -> Option<(Option<(u32, u32)>, u32)> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let num = |p: &str| p.parse::<u32>().ok();
    match parts.as_slice() {
        [b] => Some((None, num(b)?)),
        [ma, mi, b] | [ma, mi, b, _] => Some((Some((num(ma)?, num(mi)?)), num(b)?)),
        _ => None,
    }
}

/// Picks one version from candidates; several are fine when they share
/// the same tables (e.g. build 26100 client and server).
fn pick(
    input: &str,
    cands: Vec<&'static WindowsVersion>,
) -> Result<Option<&'static WindowsVersion>, VersionError> {
    match cands.first() {
        None => Ok(None),
        Some(first) if cands.iter().all(|c| c.same_tables(first)) => Ok(Some(first)),
        Some(_) => Err(VersionError::Ambiguous {
            input: input.to_string(),
            candidates: cands.iter().map(|c| c.id.to_string()).collect(),
        }),
    }
}

/// Finds a version of `arch` by name: a slug ("win10-22h2"), the display
/// name or CSV label ("Windows 10 22H2"), a version ("10.0.19045") or a
/// build number ("19045"); case-insensitive, separators ignored, a unique
/// prefix is enough ("win10-22" but not "win10").
pub fn version_by_name(arch: Arch, s: &str) -> Result<&'static WindowsVersion, VersionError> {
    let all = versions(arch);
    let input = s.trim();
    if let Some((nt, build)) = parse_build(input) {
        let cands: Vec<_> = all
            .iter()
            .filter(|v| v.build == build && nt.is_none_or(|nt| nt == v.nt_version))
            .collect();
        if let Some(v) = pick(input, cands)? {
            return Ok(v);
        }
    }
    let n = normalize(input);
    if n.is_empty() {
        return Err(VersionError::Unknown(input.to_string()));
    }
    let exact: Vec<_> = all
        .iter()
        .filter(|v| v.aliases.iter().any(|a| *a == n))
        .collect();
    if let Some(v) = pick(input, exact)? {
        return Ok(v);
    }
    let prefix: Vec<_> = all
        .iter()
        .filter(|v| v.aliases.iter().any(|a| a.starts_with(&n)))
        .collect();
    pick(input, prefix)?.ok_or_else(|| VersionError::Unknown(input.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(arch: Arch, s: &str) -> &'static WindowsVersion {
        version_by_name(arch, s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn version_lists() {
        assert_eq!(versions(Arch::X64).len(), 35);
        assert_eq!(versions(Arch::X86).len(), 46);
        assert_eq!(versions(Arch::X64)[0].id, "Windows XP SP1");
        assert_eq!(versions(Arch::X86)[0].id, "Windows NT 3.1");
        // NT 3.x has no win32k table.
        assert_eq!(versions(Arch::X86)[0].table_len(ServiceTable::Win32k), 0);
        for arch in [Arch::X64, Arch::X86] {
            for ver in versions(arch) {
                assert!(ver.table_len(ServiceTable::Nt) > 100, "{}", ver.id);
                assert!(ver.build >= 528);
                // Every version resolves from its own slug and id.
                assert_eq!(v(arch, ver.slug).label, ver.label);
                assert_eq!(v(arch, ver.id).label, ver.label);
                assert_eq!(v(arch, ver.label).label, ver.label);
            }
        }
    }

    #[test]
    fn nt_lookups() {
        let w10 = v(Arch::X64, "win10-22h2");
        assert_eq!(lookup(Arch::X64, w10, 0x55), Some("NtCreateFile"));
        assert_eq!(lookup(Arch::X64, w10, 0x0f), Some("NtClose"));
        assert_eq!(
            lookup(Arch::X64, w10, 0x18),
            Some("NtAllocateVirtualMemory")
        );
        let w7 = v(Arch::X64, "win7-sp1");
        assert_eq!(lookup(Arch::X64, w7, 0x52), Some("NtCreateFile"));
        let w7_32 = v(Arch::X86, "win7-sp1");
        assert_eq!(lookup(Arch::X86, w7_32, 0x42), Some("NtCreateFile"));
        let xp = v(Arch::X86, "xp-sp3");
        assert_eq!(lookup(Arch::X86, xp, 0x25), Some("NtCreateFile"));
        let w10_32 = v(Arch::X86, "win10-22h2");
        assert_eq!(lookup(Arch::X86, w10_32, 0x178), Some("NtCreateFile"));
        // Out of range and unused table bits.
        assert_eq!(lookup(Arch::X64, w10, 0xfff), None);
        assert_eq!(lookup(Arch::X64, w10, 0x2055), None);
        assert_eq!(lookup(Arch::X64, w10, 0x3055), None);
        // High bits above the table selector are ignored.
        assert_eq!(lookup(Arch::X64, w10, 0xdead_0055), Some("NtCreateFile"));
        // Cross-arch: a x86 version passed with Arch::X64 maps by label.
        assert_eq!(lookup(Arch::X64, w10_32, 0x55), Some("NtCreateFile"));
        // Round trip through service_number for every Nt name of a version.
        for ver in [w10, w7, xp, w10_32] {
            for svc in 0..ver.table_len(ServiceTable::Nt) as u32 {
                if let Some(name) = lookup(ver.arch, ver, svc) {
                    assert_eq!(ver.service_number(name), Some(svc), "{name}");
                }
            }
        }
    }

    #[test]
    fn win32k_lookups() {
        let w10 = v(Arch::X64, "win10-22h2");
        // Check against the first win32k service of this version.
        let first = lookup(Arch::X64, w10, 0x1000).expect("win32k service 0");
        assert!(first.starts_with("Nt"), "{first}");
        assert_eq!(w10.service_number(first), Some(0x1000));
        assert!(w10.table_len(ServiceTable::Win32k) > 1000);
        let w7 = v(Arch::X86, "win7-sp1");
        assert!(lookup(Arch::X86, w7, 0x1000).is_some());
        assert_eq!(lookup(Arch::X86, w7, 0x1fff), None);
    }

    #[test]
    fn version_parsing() {
        assert_eq!(v(Arch::X64, "win10-22h2").build, 19045);
        assert_eq!(v(Arch::X64, "WIN10-22H2").build, 19045);
        assert_eq!(v(Arch::X64, "Windows 10 (22H2)").build, 19045);
        assert_eq!(v(Arch::X64, "windows 10 22h2").build, 19045);
        assert_eq!(v(Arch::X64, "10.0.19045").id, "Windows 10 22H2");
        assert_eq!(v(Arch::X64, "10.0.19045.3803").id, "Windows 10 22H2");
        assert_eq!(v(Arch::X64, "19045").id, "Windows 10 22H2");
        assert_eq!(v(Arch::X64, "7601").id, "Windows 7 SP1");
        assert_eq!(v(Arch::X64, "6.1.7601").id, "Windows 7 SP1");
        assert_eq!(v(Arch::X64, "win11-23h2").build, 22631);
        assert_eq!(v(Arch::X64, "server2022").build, 20348);
        assert_eq!(v(Arch::X64, "Windows Server 2025").build, 26100);
        assert_eq!(v(Arch::X86, "win8.1").build, 9600);
        assert_eq!(v(Arch::X86, "win8").build, 9200);
        assert_eq!(v(Arch::X86, "nt4-sp6").build, 1381);
        assert_eq!(v(Arch::X86, "xp-sp2").build, 2600);
        assert_eq!(v(Arch::X64, "xp-sp2").build, 3790);
        assert_eq!(v(Arch::X86, "vista-sp2").build, 6002);
        // Unique prefix.
        assert_eq!(v(Arch::X64, "win10-22").build, 19045);
        // Ambiguous and unknown.
        assert!(matches!(
            version_by_name(Arch::X64, "win10"),
            Err(VersionError::Ambiguous { .. })
        ));
        assert!(matches!(
            version_by_name(Arch::X64, "win11"),
            Err(VersionError::Ambiguous { .. })
        ));
        // Win7 SP0 and SP1 x64 share their tables: either is a fine answer.
        assert!(v(Arch::X64, "win7").id.starts_with("Windows 7"));
        assert!(matches!(
            version_by_name(Arch::X64, "win95"),
            Err(VersionError::Unknown(_))
        ));
        assert!(version_by_name(Arch::X64, "").is_err());
        assert!(version_by_name(Arch::X64, "12345").is_err());
        // Wrong major.minor for the build.
        assert!(version_by_name(Arch::X64, "6.1.19045").is_err());
        // Windows 11 does not exist for x86.
        assert!(version_by_name(Arch::X86, "win11-23h2").is_err());
    }

    #[test]
    fn shared_build_resolution() {
        // 26100: 11 24H2 and Server 2025; either pick when tables agree,
        // an ambiguity error otherwise. Both outcomes name a 26100 build.
        match version_by_name(Arch::X64, "26100") {
            Ok(ver) => assert_eq!(ver.build, 26100),
            Err(VersionError::Ambiguous { candidates, .. }) => assert_eq!(candidates.len(), 2),
            Err(e) => panic!("{e}"),
        }
    }
}
