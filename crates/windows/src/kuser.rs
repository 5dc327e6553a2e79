//! Detecting the guest's Windows version from KUSER_SHARED_DATA, the page
//! the kernel maps read-only at the same user address (0x7ffe0000) in
//! every process, on x86 and x64 alike: NtMajorVersion and NtMinorVersion
//! (there since NT 4) and NtBuildNumber (Windows 10 and later); and
//! [`VersionChoice`], the tables a trace uses per bitness: named by the
//! user, or detected here at the first calls with a fallback.

use vstrace_core::mem::{MemError, VirtMem};
use vstrace_core::Bitness;

use crate::versions::{version_by_name, versions, Arch, WindowsVersion};

/// KUSER_SHARED_DATA's user-mode address.
pub const KUSER_SHARED_DATA: u64 = 0x7ffe_0000;
/// `ULONG NtBuildNumber` (10.0+; reserved, zero, before).
pub const KUSER_NT_BUILD_NUMBER: u64 = 0x260;
/// `ULONG NtMajorVersion`.
pub const KUSER_NT_MAJOR_VERSION: u64 = 0x26c;
/// `ULONG NtMinorVersion`.
pub const KUSER_NT_MINOR_VERSION: u64 = 0x270;

/// Why no version could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectError {
    /// The page is not mapped in the trapping process (yet).
    #[error("KUSER_SHARED_DATA is not readable: {0}")]
    Unreadable(MemError),
    /// The kernel's version matches no release with tables.
    #[error("no {arch:?} service table for NT {major}.{minor} build {build}")]
    Unknown {
        /// The architecture whose tables were looked for.
        arch: Arch,
        /// NtMajorVersion as read.
        major: u32,
        /// NtMinorVersion as read.
        minor: u32,
        /// NtBuildNumber as read (0 before 10.0).
        build: u32,
    },
}

/// What KUSER_SHARED_DATA says about the running kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelVersion {
    /// NtMajorVersion (6 for Vista to 8.1, 10 for 10 and 11).
    pub major: u32,
    /// NtMinorVersion.
    pub minor: u32,
    /// 0 when the field does not exist (before 10.0).
    pub build: u32,
}

/// Reads the version fields of KUSER_SHARED_DATA in the address space of
/// `mem` (the trapping process's).
pub fn read_kernel_version(mem: &mut dyn VirtMem) -> Result<KernelVersion, DetectError> {
    let mut u32_at = |off: u64| -> Result<u32, DetectError> {
        let mut b = [0u8; 4];
        mem.read_virt(KUSER_SHARED_DATA + off, &mut b)
            .map_err(DetectError::Unreadable)?;
        Ok(u32::from_le_bytes(b))
    };
    Ok(KernelVersion {
        major: u32_at(KUSER_NT_MAJOR_VERSION)?,
        minor: u32_at(KUSER_NT_MINOR_VERSION)?,
        build: u32_at(KUSER_NT_BUILD_NUMBER)?,
    })
}

/// The version whose tables serve kernel `k` on `arch`: the same build
/// when the table has it, else the newest earlier build of the same NT
/// major.minor (service numbers change little within one), else, without
/// a build number (before 10.0), the newest release of that major.minor.
pub fn version_for(arch: Arch, k: KernelVersion) -> Option<&'static WindowsVersion> {
    let same_nt = || {
        versions(arch)
            .iter()
            .filter(move |v| v.nt_version == (k.major, k.minor))
    };
    if let Some(v) = same_nt().find(|v| v.build == k.build) {
        return Some(v);
    }
    let earlier = same_nt()
        .filter(|v| k.build == 0 || v.build <= k.build)
        .max_by_key(|v| v.build);
    earlier.or_else(|| {
        // A build older than every release we know of that major.minor.
        same_nt().min_by_key(|v| v.build)
    })
}

/// Reads KUSER_SHARED_DATA and picks the matching version.
pub fn detect_version(
    arch: Arch,
    mem: &mut dyn VirtMem,
) -> Result<&'static WindowsVersion, DetectError> {
    let k = read_kernel_version(mem)?;
    version_for(arch, k).ok_or(DetectError::Unknown {
        arch,
        major: k.major,
        minor: k.minor,
        build: k.build,
    })
}

/// The version name that asks for detection.
pub const AUTO: &str = "auto";
/// The x64 tables used when detection keeps failing.
pub const FALLBACK_X64: &str = "win10-22h2";
/// The x86 tables used when detection keeps failing.
pub const FALLBACK_X86: &str = "win7-sp1";
/// Attempts at reading KUSER_SHARED_DATA before falling back to
/// [`FALLBACK_X64`] / [`FALLBACK_X86`].
const DETECT_ATTEMPTS: u32 = 16;

/// Error choosing the Windows version.
#[derive(Debug, thiserror::Error)]
#[error("Windows version {name:?}: {reason}")]
pub struct VersionChoiceError {
    /// The version as given (`--windows-version`).
    pub name: String,
    /// Why it names no known release.
    pub reason: String,
}

/// Which service tables serve the guest, per bitness: named up front, or
/// detected from KUSER_SHARED_DATA at the first calls of each bitness,
/// with a fallback ([`FALLBACK_X64`], [`FALLBACK_X86`]) once detection
/// failed a few times.
#[derive(Debug, Clone)]
pub struct VersionChoice {
    x64: Option<&'static WindowsVersion>,
    x86: Option<&'static WindowsVersion>,
    /// `auto`: failed detection attempts so far, per bitness (x64, x86);
    /// `None`: the version was named.
    detect: Option<[u32; 2]>,
}

impl VersionChoice {
    /// Resolves `version` (e.g. `win10-22h2`, `19045`, `win7-sp1`) for
    /// both architectures; it must name a version of at least one.
    /// [`AUTO`] (any case) detects the version from the guest.
    pub fn new(version: &str) -> Result<VersionChoice, VersionChoiceError> {
        if version.eq_ignore_ascii_case(AUTO) {
            return Ok(VersionChoice {
                x64: None,
                x86: None,
                detect: Some([0, 0]),
            });
        }
        let x64 = version_by_name(Arch::X64, version);
        let x86 = version_by_name(Arch::X86, version);
        if let (Err(a), Err(_)) = (&x64, &x86) {
            return Err(VersionChoiceError {
                name: version.into(),
                reason: a.to_string(),
            });
        }
        Ok(VersionChoice {
            x64: x64.ok(),
            x86: x86.ok(),
            detect: None,
        })
    }

    /// The version serving calls of bitness `b`, once known.
    pub fn get(&self, b: Bitness) -> Option<&'static WindowsVersion> {
        match b {
            Bitness::B64 => self.x64,
            Bitness::B32 => self.x86,
        }
    }

    /// Called at every enter with the trapping process's memory: while
    /// detecting and the version of bitness `b` is not known, reads
    /// KUSER_SHARED_DATA (saying on stderr what it found, or which
    /// fallback it took).
    pub fn observe(&mut self, b: Bitness, mem: &mut dyn VirtMem) {
        let Some(attempts) = &mut self.detect else {
            return;
        };
        let (slot, arch, fallback, known) = match b {
            Bitness::B64 => (0, Arch::X64, FALLBACK_X64, &mut self.x64),
            Bitness::B32 => (1, Arch::X86, FALLBACK_X86, &mut self.x86),
        };
        if known.is_some() {
            return;
        }
        match detect_version(arch, mem) {
            Ok(v) => {
                eprintln!(
                    "vstrace: Windows {:?} guest: {} (NT {}.{} build {}, from KUSER_SHARED_DATA)",
                    arch, v.id, v.nt_version.0, v.nt_version.1, v.build
                );
                *known = Some(v);
            }
            Err(e) => {
                attempts[slot] += 1;
                if attempts[slot] >= DETECT_ATTEMPTS {
                    eprintln!(
                        "vstrace: warning: Windows version not detected ({e}); using {fallback} (--windows-version)"
                    );
                    *known = version_by_name(arch, fallback).ok();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::testmem::SparseVirt;

    fn kuser(major: u32, minor: u32, build: u32) -> SparseVirt {
        let mut m = SparseVirt::new();
        let mut page = vec![0u8; 0x1000];
        page[0x26c..0x270].copy_from_slice(&major.to_le_bytes());
        page[0x270..0x274].copy_from_slice(&minor.to_le_bytes());
        page[0x260..0x264].copy_from_slice(&build.to_le_bytes());
        m.map(KUSER_SHARED_DATA, &page);
        m
    }

    #[test]
    fn builds_pick_their_tables() {
        let v = detect_version(Arch::X64, &mut kuser(10, 0, 19045)).unwrap();
        assert_eq!(v.slug, "win10-22h2");
        // A cumulative-update build between two releases: the earlier one.
        let v = detect_version(Arch::X64, &mut kuser(10, 0, 19046)).unwrap();
        assert_eq!(v.build, 19045);
        // Before 10.0 there is no build field: the newest 6.1 (7 SP1).
        let v = detect_version(Arch::X86, &mut kuser(6, 1, 0)).unwrap();
        assert_eq!(v.nt_version, (6, 1));
        assert_eq!(v.slug, "win7-sp1");
    }

    #[test]
    fn hostile_or_missing_pages_are_errors() {
        assert!(matches!(
            detect_version(Arch::X64, &mut SparseVirt::new()),
            Err(DetectError::Unreadable(_))
        ));
        assert!(matches!(
            detect_version(Arch::X64, &mut kuser(0xffff_ffff, 7, 1)),
            Err(DetectError::Unknown { .. })
        ));
        assert!(detect_version(Arch::X86, &mut kuser(0, 0, 0)).is_err());
    }
}
