//! Socket addresses as strace prints them (`decode_sockaddr`): the family
//! by name, then its fields when the length covers the family's minimum
//! (`AF_UNIX` path bounded to its 108 bytes, abstract names with `@`,
//! `AF_INET`, `AF_INET6`, `AF_NETLINK`), else the raw `sa_data`; and the
//! in/out address lengths of accept, getsockname, recvfrom...
//! (`[110 => 24]`).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Call, Fields, StructKind};
use crate::consts;
use crate::fmt;

/// `sizeof(struct sockaddr_storage)`: the most strace reads.
const SOCKADDR_MAX: usize = 128;
/// `sizeof(struct sockaddr_un)`.
const SOCKADDR_UN: usize = 110;

/// A socket address from its bytes (`b.len()` is the length given).
pub(crate) fn format(b: &[u8]) -> String {
    let f = Fields::new(b, 4);
    let family = f.u16(0);
    let mut s = format!(
        "{{sa_family={}",
        super::resource::xval(family, consts::ADDRESS_FAMILIES, "AF_???")
    );
    let len = b.len();
    if len > 2 {
        s.push_str(", ");
        let be16 = |o: usize| u16::from_be_bytes([b[o], b[o + 1]]);
        match family {
            1 => {
                let path = &b[2..len.min(SOCKADDR_UN)];
                if path.first().is_some_and(|&c| c != 0) {
                    let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
                    s.push_str(&format!("sun_path={}", fmt::quote(&path[..end], false)));
                } else {
                    s.push_str(&format!("sun_path=@{}", fmt::quote(&path[1..], false)));
                }
            }
            2 if len >= 16 => {
                let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
                s.push_str(&format!(
                    "sin_port=htons({}), sin_addr=inet_addr(\"{ip}\")",
                    be16(2)
                ));
            }
            10 if len >= 24 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&b[8..24]);
                let flow = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                s.push_str(&format!(
                    "sin6_port=htons({}), sin6_flowinfo=htonl({flow}), inet_pton(AF_INET6, \"{}\", &sin6_addr)",
                    be16(2),
                    Ipv6Addr::from(a)
                ));
                if len >= 28 {
                    s.push_str(&format!(", sin6_scope_id={}", scope_id(&a, f.u32(24))));
                }
            }
            16 if len >= 12 => {
                s.push_str(&format!("nl_pid={}, nl_groups={:08x}", f.u32(4), f.u32(8)));
            }
            _ => s.push_str(&format!("sa_data={}", fmt::quote(&b[2..], false))),
        }
    }
    s.push('}');
    s
}

/// The socket address of `len` bytes at `va` (strace's
/// `decode_sockaddr`: the address when shorter than a family).
pub(crate) fn at(c: &mut Call<'_, '_>, va: u64, len: i64) -> String {
    if va == 0 {
        return "NULL".into();
    }
    if len < 2 {
        return fmt::ptr(va);
    }
    match c.fetch(va, (len as usize).min(SOCKADDR_MAX)) {
        Ok(b) => format(&b),
        Err(s) => s,
    }
}

/// `[N]` as an in/out length shows at the entry.
fn parse_len(text: Option<&str>) -> Option<i64> {
    text?.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

/// Decodes the socket address kinds of [`super::decode`].
pub(crate) fn decode(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> String {
    match kind {
        StructKind::Sockaddr(a) => {
            let len = c.arg(a) as u32 as i32 as i64;
            at(c, v, len)
        }
        // Written by the kernel: as long as both the caller's buffer and
        // the kernel's address (strace shows no more than it offered).
        StructKind::SockaddrOut(a) => {
            let lp = c.arg(a);
            let Ok(b) = c.fetch(lp, 4) else {
                return fmt::ptr(v);
            };
            let kernel = Fields::new(&b, 4).i32(0);
            let len = match parse_len(c.entry_of(a as usize)) {
                Some(user) if user < kernel => user,
                _ => kernel,
            };
            at(c, v, len)
        }
        StructKind::Socklen => {
            let now = match c.fetch(v, 4) {
                Ok(b) => Fields::new(&b, 4).i32(0),
                Err(s) => return c.entry().map_or(s, str::to_string),
            };
            let before = parse_len(c.entry());
            match (c.ret, before) {
                (Some(_), Some(_)) if c.failed() => format!("[{}]", before.unwrap_or(now)),
                (Some(_), Some(b)) if b != now => format!("[{b} => {now}]"),
                _ => format!("[{now}]"),
            }
        }
        _ => fmt::ptr(v),
    }
}

/// An IPv6 address's scope id as strace prints it: for a link-local
/// unicast (`fe80::/10`) or multicast (`ff02::/16`-like) address the
/// interface (`if_nametoindex("lo")` for the loopback, index 1 in every
/// Linux network namespace), otherwise the number.
pub(crate) fn scope_id(a: &[u8; 16], id: u64) -> String {
    let link_local = (a[0] == 0xfe && a[1] & 0xc0 == 0x80) || (a[0] == 0xff && a[1] & 0x0f == 0x02);
    if !link_local || id != 1 {
        return id.to_string();
    }
    let name = "if_nametoindex(\"lo\")";
    match vstrace_core::style::style() {
        vstrace_core::ConstStyle::Abbrev => name.to_string(),
        vstrace_core::ConstStyle::Raw => id.to_string(),
        vstrace_core::ConstStyle::Verbose => format!("{id} /* {name} */"),
    }
}
