//! Socket addresses as strace prints them (`decode_sockaddr`): the family
//! by name, then its fields when the length covers the family's minimum
//! (`AF_UNIX` path bounded to its 108 bytes, abstract names with `@`,
//! `AF_INET`, `AF_INET6`, `AF_NETLINK`), else the raw `sa_data`; and the
//! in/out address lengths of accept, getsockname, recvfrom...
//! (`[110 => 24]`).

use super::{sockaddr_fam, Call, Fields, StructKind};
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{Radix, Table};
use vstrace_core::value::Name;
use vstrace_core::Value;

/// `sizeof(struct sockaddr_storage)`: the most strace reads.
const SOCKADDR_MAX: usize = 128;

/// A socket address from its bytes (`b.len()` is the length given).
pub(crate) fn format(b: &[u8]) -> String {
    value_abi(LinuxAbi::X86_64, b).render()
}

/// A socket address of `abi` from its bytes: the family, its fields as
/// text, and a descriptor field of their own (`AF_XDP`'s shared umem).
pub(crate) fn value_abi(abi: LinuxAbi, b: &[u8]) -> Value {
    let len = b.len();
    // As the kernel sees a short address: zeros past its length.
    let mut padded = b.to_vec();
    padded.resize(len.max(SOCKADDR_MAX + 1), 0);
    let family = Fields::new(&padded, 4).u16(0);
    let mut fields: Vec<(Name, Value)> = vec![(
        Name::Borrowed("sa_family"),
        fmt::xval_v(abi, Table::Addrfams, family, Radix::Hex),
    )];
    if len > 2 {
        let text = sockaddr_fam::fields(abi, family as u16, &padded, len)
            .unwrap_or_else(|| sockaddr_fam::raw(&padded, len));
        named_fields(&text, &mut fields);
        if len >= 16 {
            if let Some(fd) = sockaddr_fam::xdp_fd(&padded) {
                fields.push((
                    Name::Borrowed("sxdp_shared_umem_fd"),
                    Value::Fd { fd, path: None },
                ));
            }
        }
    }
    Value::Struct {
        fields,
        more: false,
    }
}

/// The family's fields of `text` (strace's `name=value, ...`) as named
/// fields, so that JSON has one key per field (`sin_addr`); the values
/// stay strace's text. A part without a name (`inet_pton(...)`, `...`)
/// stays with the field before it, so the rendering is `text` again.
fn named_fields(text: &str, fields: &mut Vec<(Name, Value)>) {
    let first = fields.len();
    for part in split_top(text) {
        let name = part
            .split_once('=')
            .map(|(n, _)| n)
            .filter(|n| !n.is_empty() && n.bytes().all(|c| c == b'_' || c.is_ascii_alphanumeric()));
        match (name, fields.len() > first) {
            (Some(n), _) => {
                let value = &part[n.len() + 1..];
                fields.push((Name::Owned(n.to_string()), Value::Opaque(value.to_string())));
            }
            (None, true) => {
                if let Some((_, Value::Opaque(t))) = fields.last_mut() {
                    t.push_str(", ");
                    t.push_str(part);
                }
            }
            (None, false) => fields.push((Name::Borrowed(""), Value::Opaque(part.to_string()))),
        }
    }
}

/// `text` split at the `, ` outside quotes, brackets and braces.
fn split_top(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut quoted, mut escaped, mut start) =
        (Vec::new(), 0i32, false, false, 0);
    let b = text.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => quoted = true,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 && b.get(i + 1) == Some(&b' ') => {
                parts.push(&text[start..i]);
                start = i + 2;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The socket address of `len` bytes at `va` (strace's
/// `decode_sockaddr`: the address when shorter than a family).
pub(crate) fn at_v(c: &mut Call<'_, '_>, va: u64, len: i64) -> Value {
    if va == 0 {
        return Value::Null;
    }
    if len < 2 {
        return Value::ptr(va);
    }
    match c.fetch_v(va, (len as usize).min(SOCKADDR_MAX)) {
        Ok(b) => value_abi(c.abi, &b),
        Err(v) => v,
    }
}

/// Text of [`at_v`].
pub(crate) fn at(c: &mut Call<'_, '_>, va: u64, len: i64) -> String {
    at_v(c, va, len).render()
}

/// `[N]` as an in/out length shows at the entry.
fn parse_len(text: Option<&str>) -> Option<i64> {
    text?.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

/// The typed socket addresses of [`super::value`].
pub(crate) fn value(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> Option<Value> {
    match kind {
        StructKind::Sockaddr(a) => {
            let len = c.arg(a) as u32 as i32 as i64;
            Some(at_v(c, v, len))
        }
        // Written by the kernel: as long as both the caller's buffer and
        // the kernel's address (strace shows no more than it offered).
        StructKind::SockaddrOut(a) => {
            let lp = c.arg(a);
            let Ok(b) = c.fetch(lp, 4) else {
                return Some(Value::ptr(v));
            };
            let kernel = Fields::new(&b, 4).i32(0);
            let len = match parse_len(c.entry_of(a as usize)) {
                Some(user) if user < kernel => user,
                _ => kernel,
            };
            Some(at_v(c, v, len))
        }
        _ => None,
    }
}

/// Decodes the socket address kinds of [`super::decode`].
pub(crate) fn decode(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> String {
    if let Some(x) = value(c, kind, v) {
        return x.render();
    }
    match kind {
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
    if !link_local {
        return id.to_string();
    }
    sockaddr_fam::ifindex(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_fields_are_named_and_render_as_before() {
        let mut b = vec![2, 0, 0, 9, 127, 0, 0, 1];
        b.resize(16, 0);
        let v = value_abi(LinuxAbi::X86_64, &b);
        let text = "{sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr(\"127.0.0.1\")}";
        assert_eq!(v.render(), text);
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["sa_family"], "AF_INET");
        assert_eq!(json["sin_addr"]["text"], "inet_addr(\"127.0.0.1\")");
        // A quoted `, ` and a part without a name stay in their field.
        let mut f = Vec::new();
        named_fields("sun_path=\"a, b=c\", x=f(1, 2), ...", &mut f);
        let names: Vec<&str> = f.iter().map(|(n, _)| n.as_ref()).collect();
        assert_eq!(names, ["sun_path", "x"]);
        assert_eq!(f[1].1.render(), "f(1, 2), ...");
    }
}
