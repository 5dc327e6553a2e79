//! Fixed netlink message headers shown field by field: the one-byte
//! address family most of them start with, then fields described as
//! data ([`F`]: integers, table values, flags, interface indexes, socket
//! cookies and ids), read in one piece (an unreadable rest prints as its
//! address, as strace does).

use super::netlink::Nl;
use crate::fmt;
use crate::xlat::Table as T;

/// One field of a fixed message header (after its one-byte family):
/// its name, offset and how it is shown.
#[derive(Clone, Copy)]
pub(crate) enum F {
    /// Unsigned decimal of 1, 2, 4 or 8 bytes.
    U(&'static str, usize, usize),
    /// Hex (`0` for zero).
    X(&'static str, usize, usize),
    /// A table value (the table's comment when unknown).
    Xval(&'static str, usize, usize, T),
    /// A table value, no comment when unknown.
    XvalBare(&'static str, usize, usize, T),
    /// A flag set.
    Flags(&'static str, usize, usize, T),
    /// An interface index (`u32`).
    Ifindex(&'static str, usize),
    /// Hex, shown only when not zero (reserved bytes).
    XNonZero(&'static str, usize, usize),
    /// A socket cookie: `[N, N]` of two `u32`.
    Cookie(&'static str, usize),
    /// A `struct inet_diag_sockid`, its addresses of the header's family
    /// (the first byte) or of the one given.
    Sockid(&'static str, usize, Option<u8>),
    /// Signed decimal of 1, 2, 4 or 8 bytes.
    S(&'static str, usize, usize),
    /// Hex zero-padded to the field's width (strace's `PRINT_FIELD_0X`).
    X0(&'static str, usize, usize),
    /// Bytes in `\x` escapes (`"\x61\x62"`).
    HexStr(&'static str, usize, usize),
    /// [`F::HexStr`], shown only when not all zero (padding).
    HexStrNonZero(&'static str, usize, usize),
    /// Shown by a function of its `n` bytes (nested structures,
    /// addresses).
    Fn(&'static str, usize, usize, fn(&mut Nl<'_, '_>, &[u8])),
}

impl F {
    /// The offset just past the field in its structure.
    pub(crate) fn end(&self) -> usize {
        match *self {
            F::U(_, o, n)
            | F::X(_, o, n)
            | F::Xval(_, o, n, _)
            | F::XvalBare(_, o, n, _)
            | F::Flags(_, o, n, _)
            | F::XNonZero(_, o, n)
            | F::S(_, o, n)
            | F::X0(_, o, n)
            | F::HexStr(_, o, n)
            | F::HexStrNonZero(_, o, n)
            | F::Fn(_, o, n, _) => o + n,
            F::Ifindex(_, o) => o + 4,
            F::Cookie(_, o) => o + 8,
            F::Sockid(_, o, _) => o + 48,
        }
    }
}

/// Little-endian unsigned integer of `n` bytes at `off` (0 out of range).
pub(crate) fn le(b: &[u8], off: usize, n: usize) -> u64 {
    let mut x = [0u8; 8];
    if let Some(s) = b.get(off..off.saturating_add(n)) {
        x[..n.min(8)].copy_from_slice(&s[..n.min(8)]);
    }
    u64::from_le_bytes(x)
}

impl Nl<'_, '_> {
    /// A message header starting with a one-byte address family (named
    /// `fam`): `{fam=AF_..., fields...}` when `len` holds `size` bytes,
    /// else `{fam=AF_..., ...}`; the rest unreadable: its address. True
    /// when the fields were shown (attributes may follow).
    pub(crate) fn family_struct(
        &mut self,
        fam: &str,
        family: u8,
        addr: u64,
        len: u64,
        size: usize,
        fields: &[F],
    ) -> bool {
        let s = format!("{{{fam}=");
        self.put(&s);
        self.xval(T::Addrfams, u64::from(family));
        self.put(", ");
        let mut shown = false;
        if len >= size as u64 {
            match self.read(addr.wrapping_add(1), size as u64 - 1) {
                Some(rest) => {
                    let mut b = vec![family];
                    b.extend_from_slice(&rest);
                    self.fields(&b, fields);
                    shown = true;
                }
                None => self.addr(addr.wrapping_add(1)),
            }
        } else {
            self.put("...");
        }
        self.put("}");
        shown
    }

    /// `fields` of the structure `b`, separated by `, `.
    pub(crate) fn fields(&mut self, b: &[u8], fields: &[F]) {
        let mut first = true;
        for f in fields {
            if let F::XNonZero(_, o, n) = *f {
                if le(b, o, n) == 0 {
                    continue;
                }
            }
            if let F::HexStrNonZero(_, o, n) = *f {
                if b.get(o..o + n).is_none_or(|x| x.iter().all(|&c| c == 0)) {
                    continue;
                }
            }
            if !first {
                self.put(", ");
            }
            first = false;
            self.field(b, *f);
        }
    }

    fn field(&mut self, b: &[u8], f: F) {
        let name = match f {
            F::U(n, ..)
            | F::X(n, ..)
            | F::XNonZero(n, ..)
            | F::Xval(n, ..)
            | F::XvalBare(n, ..)
            | F::Flags(n, ..)
            | F::Cookie(n, _)
            | F::Ifindex(n, _)
            | F::Sockid(n, ..)
            | F::S(n, ..)
            | F::X0(n, ..)
            | F::HexStr(n, ..)
            | F::HexStrNonZero(n, ..)
            | F::Fn(n, ..) => n,
        };
        self.put(name);
        self.put("=");
        match f {
            F::U(_, o, n) => {
                let s = le(b, o, n).to_string();
                self.put(&s);
            }
            F::X(_, o, n) | F::XNonZero(_, o, n) => {
                let v = le(b, o, n);
                let s = if v == 0 {
                    "0".into()
                } else {
                    format!("{v:#x}")
                };
                self.put(&s);
            }
            F::S(_, o, n) => {
                let v = le(b, o, n);
                let sh = 64 - 8 * n.clamp(1, 8) as u32;
                let s = (((v << sh) as i64) >> sh).to_string();
                self.put(&s);
            }
            F::X0(_, o, n) => {
                let s = format!("{:#0w$x}", le(b, o, n), w = 2 * n + 2);
                self.put(&s);
            }
            F::HexStr(_, o, n) | F::HexStrNonZero(_, o, n) => {
                let s = fmt::quote_hex(b.get(o..o + n).unwrap_or(&[]), false);
                self.put(&s);
            }
            F::Fn(_, o, n, f) => f(self, b.get(o..o + n).unwrap_or(&[])),
            F::Xval(_, o, n, t) => self.xval(t, le(b, o, n)),
            F::XvalBare(_, o, n, t) => self.xval_bare(t, le(b, o, n)),
            F::Flags(_, o, n, t) => self.flags(&[t], le(b, o, n)),
            F::Ifindex(_, o) => self.ifindex(le(b, o, 4) as u32),
            F::Cookie(_, o) => {
                let s = format!("[{}, {}]", le(b, o, 4), le(b, o + 4, 4));
                self.put(&s);
            }
            F::Sockid(_, o, fam) => {
                let family = fam.unwrap_or_else(|| b.first().copied().unwrap_or(0));
                self.sockid(b, o, family)
            }
        }
    }

    /// `struct inet_diag_sockid` at `o` of `b`, addresses of `family`.
    fn sockid(&mut self, b: &[u8], o: usize, family: u8) {
        let port = |v: u64| format!("htons({})", (v as u16).swap_bytes());
        let s = format!(
            "{{idiag_sport={}, idiag_dport={}, ",
            port(le(b, o, 2)),
            port(le(b, o + 2, 2))
        );
        self.put(&s);
        self.inet_addr(b.get(o + 4..o + 20).unwrap_or(&[]), family, "idiag_src");
        self.put(", ");
        self.inet_addr(b.get(o + 20..o + 36).unwrap_or(&[]), family, "idiag_dst");
        self.put(", idiag_if=");
        self.ifindex(le(b, o + 36, 4) as u32);
        let s = format!(
            ", idiag_cookie=[{}, {}]}}",
            le(b, o + 40, 4),
            le(b, o + 44, 4)
        );
        self.put(&s);
    }

    /// `name=`, or nothing for an empty name.
    fn field_name(&mut self, name: &str) {
        if !name.is_empty() {
            self.put(name);
            self.put("=");
        }
    }

    /// strace's `decode_inet_addr` with a field name (empty: none): the address of
    /// `family` in `len` bytes at `addr` (`name=inet_addr(...)`), in hex
    /// when not of `AF_INET`/`AF_INET6` or too short, its address when
    /// unreadable.
    pub(crate) fn inet_addr_at(&mut self, addr: u64, len: u64, family: u8, name: &str) {
        let size = match family {
            2 => 4,
            10 => 16,
            _ => 0,
        };
        match (size > 0 && len >= size).then(|| self.read(addr, size)) {
            Some(Some(x)) => self.inet_addr(&x, family, name),
            Some(None) => {
                self.field_name(name);
                self.addr(addr);
            }
            None => {
                self.field_name(name);
                self.hex(addr, len);
            }
        }
    }

    /// An address field of `family` (strace's `print_inet_addr`):
    /// `name=inet_addr("1.2.3.4")`, `inet_pton(AF_INET6, "::1", &name)`,
    /// or `name="\x.."` for other families; an empty `name`: the value
    /// alone (`inet_addr("1.2.3.4")`, `inet_pton(AF_INET6, "::1")`).
    pub(crate) fn inet_addr(&mut self, a: &[u8], family: u8, name: &str) {
        use vstrace_core::os::ConstStyle;
        const AF_INET: u8 = 2;
        const AF_INET6: u8 = 10;
        let text = match (family, a.len()) {
            (AF_INET, n) if n >= 4 => format!(
                "inet_addr(\"{}\")",
                std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3])
            ),
            (AF_INET6, 16) => {
                let mut x = [0u8; 16];
                x.copy_from_slice(a);
                format!("inet_pton(AF_INET6, \"{}\"", std::net::Ipv6Addr::from(x))
            }
            _ => {
                let s = format!("{name}={}", fmt::quote_hex(a, false));
                return self.put(s.trim_start_matches('='));
            }
        };
        let v6 = family == AF_INET6;
        let style = vstrace_core::style::style();
        // strace's print_inet_addr: the name first, but for an IPv6
        // address in the default style (`&name` at the end instead).
        if !name.is_empty() && (!v6 || style != ConstStyle::Abbrev) {
            self.put(name);
            self.put("=");
        }
        if style != ConstStyle::Abbrev {
            let s = fmt::quote_hex(a, false);
            self.put(&s);
        }
        if style == ConstStyle::Raw {
            return;
        }
        let close = if !v6 {
            String::new()
        } else if !name.is_empty() && style == ConstStyle::Abbrev {
            format!(", &{name})")
        } else {
            ")".to_string()
        };
        let s = if style == ConstStyle::Verbose {
            format!(" /* {text}{close} */")
        } else {
            format!("{text}{close}")
        };
        self.put(&s);
    }
}
