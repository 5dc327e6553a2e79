//! Guest architecture: 64-bit (x86_64) or 32-bit (i386) kernels, told from
//! the kernel image itself, and the matching files in the cache.
//!
//! A bzImage says whether it has a 64-bit entry point in its setup header
//! (`xloadflags` at 0x236, bit 0 `XLF_KERNEL_64`, boot protocol >= 2.12);
//! an ELF vmlinux says it with its class byte. The i386 guest's kernel and
//! busybox live next to the x86_64 ones in the cache
//! (`vmlinuz-i386`, `busybox-i386`, put there by `scripts/setup-host.sh`).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The two x86 guest architectures vstrace boots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GuestArch {
    #[default]
    /// 64-bit x86 (the default): the cached Debian amd64 kernel.
    X86_64,
    /// 32-bit x86: the cached Debian i386 kernel and an i386 busybox.
    I386,
}

/// `XLF_KERNEL_64` in the setup header's `xloadflags`.
const XLF_KERNEL_64: u16 = 1;

impl GuestArch {
    /// Parses `x86_64` / `amd64` / `i386` / `i686` / `x86`.
    pub fn parse(s: &str) -> Option<GuestArch> {
        match s {
            "x86_64" | "amd64" | "x86-64" => Some(GuestArch::X86_64),
            "i386" | "i686" | "x86" | "ia32" => Some(GuestArch::I386),
            _ => None,
        }
    }

    /// The name `--arch` takes and messages show.
    pub fn as_str(self) -> &'static str {
        match self {
            GuestArch::X86_64 => "x86_64",
            GuestArch::I386 => "i386",
        }
    }

    /// The cached kernel for this architecture.
    pub fn cached_kernel(self) -> PathBuf {
        let dir = crate::cache::cache_dir();
        match self {
            GuestArch::X86_64 => dir.join("vmlinuz"),
            GuestArch::I386 => dir.join("vmlinuz-i386"),
        }
    }

    /// The static busybox for this architecture's guest: the host's for
    /// x86_64, the cached i386 one for i386.
    pub fn busybox(self) -> PathBuf {
        match self {
            GuestArch::X86_64 => PathBuf::from("/bin/busybox"),
            GuestArch::I386 => crate::cache::cache_dir().join("busybox-i386"),
        }
    }
}

/// The architecture of a kernel image's first bytes (a bzImage or an ELF
/// vmlinux), or `None` if they are neither.
pub fn arch_of_image_bytes(head: &[u8]) -> Option<GuestArch> {
    if head.starts_with(b"\x7fELF") {
        return match head.get(4)? {
            1 => Some(GuestArch::I386),
            2 => Some(GuestArch::X86_64),
            _ => None,
        };
    }
    if head.get(0x202..0x206)? != b"HdrS" {
        return None;
    }
    let version = u16::from_le_bytes(head.get(0x206..0x208)?.try_into().ok()?);
    if version < 0x020c {
        // Before xloadflags: only 32-bit kernels existed with bzImages
        // this old that we could boot anyway.
        return Some(GuestArch::I386);
    }
    let xl = u16::from_le_bytes(head.get(0x236..0x238)?.try_into().ok()?);
    Some(if xl & XLF_KERNEL_64 != 0 {
        GuestArch::X86_64
    } else {
        GuestArch::I386
    })
}

/// The architecture of the kernel image at `path`; `None` if it cannot be
/// read or is not a kernel image.
pub fn arch_of_image(path: &Path) -> Option<GuestArch> {
    let mut head = Vec::with_capacity(0x240);
    fs::File::open(path)
        .ok()?
        .take(0x240)
        .read_to_end(&mut head)
        .ok()?;
    arch_of_image_bytes(&head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bz(version: u16, xloadflags: u16) -> Vec<u8> {
        let mut h = vec![0u8; 0x240];
        h[0x202..0x206].copy_from_slice(b"HdrS");
        h[0x206..0x208].copy_from_slice(&version.to_le_bytes());
        h[0x236..0x238].copy_from_slice(&xloadflags.to_le_bytes());
        h
    }

    #[test]
    fn detects_from_headers() {
        assert_eq!(
            arch_of_image_bytes(&bz(0x020f, 0x7f)),
            Some(GuestArch::X86_64)
        );
        assert_eq!(
            arch_of_image_bytes(&bz(0x020f, 0x1c)),
            Some(GuestArch::I386)
        );
        assert_eq!(
            arch_of_image_bytes(&bz(0x020a, 0x7f)),
            Some(GuestArch::I386)
        );
        assert_eq!(
            arch_of_image_bytes(b"\x7fELF\x01\x01\x01"),
            Some(GuestArch::I386)
        );
        assert_eq!(
            arch_of_image_bytes(b"\x7fELF\x02\x01\x01"),
            Some(GuestArch::X86_64)
        );
        assert_eq!(arch_of_image_bytes(b"\x7fELF\x07"), None);
        assert_eq!(arch_of_image_bytes(b"\x7fELF"), None);
        assert_eq!(arch_of_image_bytes(&[0u8; 0x240]), None);
        assert_eq!(arch_of_image_bytes(&bz(0x020f, 1)[..0x230]), None);
        assert_eq!(arch_of_image_bytes(b""), None);
        assert_eq!(GuestArch::parse("i686"), Some(GuestArch::I386));
        assert_eq!(GuestArch::parse("arm"), None);
    }

    #[test]
    fn real_cached_kernels() {
        for arch in [GuestArch::X86_64, GuestArch::I386] {
            let k = arch.cached_kernel();
            if !k.is_file() {
                eprintln!("skipping {}: run scripts/setup-host.sh", k.display());
                continue;
            }
            assert_eq!(arch_of_image(&k), Some(arch), "{}", k.display());
        }
        assert_eq!(arch_of_image(Path::new("/nonexistent")), None);
    }
}
