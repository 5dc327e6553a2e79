//! Capabilities: capget/capset's header (`{version=..., pid=...}`) and
//! data (`{effective=1<<CAP_CHOWN|..., permitted=..., inheritable=...}`,
//! two 32-bit words each for versions 2 and 3).

use super::{Call, Fields, StructKind};
use crate::consts::Names;
use crate::fmt;

/// `_LINUX_CAPABILITY_VERSION_*`.
static CAP_VERSIONS: Names = crate::xlat::tables::CAP_VERSION_X86_64;

/// Capability names by bit number. TODO: generated table.
const CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// One 32-bit word of a capability set (`word` 0: bits 0-31, 1: 32-63):
/// `1<<CAP_X|...` then unknown bits in hex; `0` for none.
fn cap_word(v: u64, word: usize) -> String {
    let mut parts: Vec<String> = (0..32)
        .filter(|b| v & (1 << b) != 0)
        .filter_map(|b| CAPS.get(word * 32 + b).map(|n| format!("1<<{n}")))
        .collect();
    let known: u64 = (0..32)
        .filter(|b| CAPS.get(word * 32 + b).is_some())
        .map(|b| 1u64 << b)
        .sum();
    if v & !known != 0 {
        parts.push(format!("{:#x}", v & !known));
    }
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join("|")
    }
}

/// A capability set from its low and high words, as strace's
/// `print_cap_bits`.
fn cap_bits(lo: u64, hi: u64) -> String {
    match (lo, hi) {
        (_, 0) => cap_word(lo, 0),
        (0, _) => cap_word(hi, 1),
        _ => format!("{}|{}", cap_word(lo, 0), cap_word(hi, 1)),
    }
}

/// The header's version at argument 0, when readable.
fn version(c: &mut Call<'_, '_>) -> Option<u64> {
    let b = c.fetch(c.arg(0), 8).ok()?;
    Some(Fields::new(&b, 4).u32(0))
}

/// Decodes the capability structures of [`super::decode`].
pub(crate) fn decode(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> String {
    match kind {
        StructKind::CapHeader => match c.fetch(v, 8) {
            Ok(b) => {
                let f = Fields::new(&b, 4);
                format!(
                    "{{version={}, pid={}}}",
                    super::resource::xval(f.u32(0), CAP_VERSIONS, "_LINUX_CAPABILITY_VERSION_???"),
                    f.i32(4)
                )
            }
            Err(s) => s,
        },
        StructKind::CapData => {
            // An unknown version: the kernel reads no data (strace shows
            // the address).
            let Some(ver) =
                version(c).filter(|v| crate::consts::lookup(CAP_VERSIONS, *v).is_some())
            else {
                return fmt::ptr(v);
            };
            let words = if matches!(ver, 0x2007_1026 | 0x2008_0522) {
                2
            } else {
                1
            };
            match c.fetch(v, 12 * words) {
                Ok(b) => {
                    let f = Fields::new(&b, 4);
                    let hi = |k: usize| if words == 2 { f.u32(12 + 4 * k) } else { 0 };
                    format!(
                        "{{effective={}, permitted={}, inheritable={}}}",
                        cap_bits(f.u32(0), hi(0)),
                        cap_bits(f.u32(4), hi(1)),
                        cap_bits(f.u32(8), hi(2))
                    )
                }
                Err(s) => s,
            }
        }
        _ => fmt::ptr(v),
    }
}
