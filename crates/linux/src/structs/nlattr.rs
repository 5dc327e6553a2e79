//! Netlink attribute lists (`struct nlattr` / `struct rtattr`): each
//! attribute's `{nla_len=..., nla_type=...}` (the type named by the
//! list's table, with `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER`), then its
//! data by the decoder the list gives for its type: integers, strings,
//! addresses, flag sets, nested lists; anything else in hex.
//!
//! Lists end at their length, are cut after `-s` attributes unless `-v`,
//! and nest at most [`MAX_DEPTH`] deep; an unreadable attribute prints
//! as its address. Nothing here panics on guest input.

use super::netlink::Nl;
use super::netlink_fields::F;
use crate::xlat::Table as T;

/// `sizeof(struct nlattr)` (`NLA_HDRLEN`).
pub(crate) const NLA_HDRLEN: u64 = 4;
const NLA_F_NESTED: u16 = 0x8000;
const NLA_F_NET_BYTEORDER: u16 = 0x4000;
const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);
/// Deepest nesting decoded: hostile nesting must not recurse without
/// bound.
pub(crate) const MAX_DEPTH: u32 = 16;

/// How one attribute's data is shown.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// In hex (no decoder).
    Hex,
    /// A NUL-terminated string.
    Str,
    /// Unsigned integers of 1, 2, 4, 8 bytes.
    U8,
    /// See [`Kind::U8`].
    U16,
    /// See [`Kind::U8`].
    U32,
    /// See [`Kind::U8`].
    U64,
    /// A signed 32-bit integer.
    S32,
    /// An interface index (`u32`): `if_nametoindex("lo")`.
    Ifindex,
    /// A user or group id (`u32`; `-1` for `(uid_t) -1`).
    Uid,
    /// A value of a table, of at most 8 bytes (the table's comment
    /// when unknown).
    Xval(T),
    /// Flags of a table in a `u32` (shorter data: hex).
    Flags32(T),
    /// `u8` array (`[1, 2, 3]`).
    U8Array,
    /// `u32` array of socket memory counters (`SK_MEMINFO_*`).
    MemInfo,
    /// A decoder of its own: false when it could not decode (hex then).
    Custom(fn(&mut Nl<'_, '_>, u64, u64) -> bool),
    /// A nested attribute list (strace's `decode_nlattr` of the data).
    Nested(&'static Attrs),
    /// A fixed structure, then maybe attributes (see [`St`]).
    Struct(&'static St),
    /// An array of `u16` (`[1, 2]`).
    U16Array,
    /// Unsigned hex of 4 bytes (`0xdeadbeef`).
    X32,
    /// Unsigned hex of 2 bytes.
    X16,
    /// Unsigned hex of the data's own size, 1, 2, 4 or 8 bytes (strace's
    /// `decode_nla_xint`; other sizes in hex bytes).
    XInt,
    /// An array of integers of `size` bytes (signed when `signed`), each
    /// after its index named by the table (`[DEVCONF_MTU]=1280`).
    Indexed(u64, T, bool),
    /// Clock ticks of at most 8 bytes, with their seconds as a comment
    /// (`5700500 /* 57005.00 s */`).
    ClockT,
    /// A value of a table in exactly `n` bytes read whatever the length
    /// (strace's one-byte `umove` decoders), no more than 8.
    XvalN(T, u64),
    /// A value of a table in `n` bytes (shorter data: hex), no comment
    /// when unknown.
    XvalBareN(T, u64),
    /// An IPv4 (`2`) or IPv6 (`10`) address of that family, whatever the
    /// message's (strace's `decode_nla_in_addr`, `decode_nla_in6_addr`).
    Inet(u8),
    /// A big-endian `u16`: `htons(N)`.
    Be16,
    /// A big-endian `u64`: `htobe64(N)`.
    Be64,
    /// Flags of a table of at least `n` bytes (strace's
    /// `decode_nla_flags` with a size): the first `n` of them.
    FlagsN(T, u64),
}

/// A fixed structure as an attribute's data: shown field by field when
/// the data holds `min` bytes (`size` read when it holds them, else
/// `min`, and the fields past what was read left out), else in hex; the
/// attributes of `then` after it when the data is longer than its
/// aligned size.
pub(crate) struct St {
    /// The structure's full size.
    pub size: u64,
    /// The least size shown (`size` for most: strace's `len <
    /// sizeof(x)`).
    pub min: u64,
    /// Its fields (offsets from the structure's start).
    pub fields: &'static [F],
    /// Attributes that follow it in the same data.
    pub then: Option<&'static Attrs>,
}

impl St {
    /// A structure of `size` bytes, nothing after it.
    pub const fn new(size: u64, fields: &'static [F]) -> St {
        St {
            size,
            min: size,
            fields,
            then: None,
        }
    }
}

/// An attribute list's type names and decoders (by type).
pub(crate) struct Attrs {
    /// The table naming the types (`None`: numbers, no comment).
    pub table: Option<T>,
    /// Decoders by type (missing: hex).
    pub kinds: &'static [Kind],
}

impl Attrs {
    /// Types as numbers, data in hex.
    pub const NONE: Attrs = Attrs {
        table: None,
        kinds: &[],
    };

    /// A list named by `table`, decoded by `kinds`.
    pub const fn new(table: T, kinds: &'static [Kind]) -> Attrs {
        Attrs {
            table: Some(table),
            kinds,
        }
    }
}

/// The attribute list of `len` bytes at `addr`: one attribute, or
/// `[...]` of several.
pub(crate) fn list(nl: &mut Nl<'_, '_>, addr: u64, len: u64, attrs: &Attrs) {
    if nl.depth >= MAX_DEPTH {
        return nl.hex(addr, len);
    }
    nl.depth += 1;
    nl.walk(addr, len, NLA_HDRLEN, |nl, b, addr, len| {
        let nla_len = u16::from_le_bytes([b[0], b[1]]);
        let nla_type = u16::from_le_bytes([b[2], b[3]]);
        one(nl, nla_len, nla_type, addr, len, attrs);
    });
    nl.depth -= 1;
}

/// One attribute: its header, and `[header, data]` when it has data.
fn one(nl: &mut Nl<'_, '_>, nla_len: u16, nla_type: u16, addr: u64, len: u64, attrs: &Attrs) {
    let n = u64::from(nla_len).min(len);
    if n > NLA_HDRLEN {
        nl.put("[");
    }
    let s = format!("{{nla_len={nla_len}, nla_type=");
    nl.put(&s);
    if nla_type & NLA_F_NESTED != 0 {
        nl.put("NLA_F_NESTED|");
    }
    if nla_type & NLA_F_NET_BYTEORDER != 0 {
        nl.put("NLA_F_NET_BYTEORDER|");
    }
    let ty = nla_type & NLA_TYPE_MASK;
    match attrs.table {
        Some(t) => nl.xval(t, u64::from(ty)),
        None => {
            let s = if ty == 0 {
                "0".to_string()
            } else {
                format!("{ty:#x}")
            };
            nl.put(&s);
        }
    }
    nl.put("}");
    if n > NLA_HDRLEN {
        nl.put(", ");
        let (da, dl) = (addr.wrapping_add(NLA_HDRLEN), n - NLA_HDRLEN);
        let kind = attrs
            .kinds
            .get(usize::from(ty))
            .copied()
            .unwrap_or(Kind::Hex);
        if !data(nl, kind, da, dl) {
            nl.hex(da, dl);
        }
        nl.put("]");
    }
}

/// An integer of `size` bytes (little-endian) at `addr` when the data
/// holds one: `None` when too short (hex then), `Some(None)` when
/// unreadable (the address was printed).
fn int(nl: &mut Nl<'_, '_>, addr: u64, len: u64, size: u64) -> Option<Option<u64>> {
    if len < size {
        return None;
    }
    match nl.read(addr, size) {
        Some(b) => {
            let mut x = [0u8; 8];
            x[..b.len()].copy_from_slice(&b);
            Some(Some(u64::from_le_bytes(x)))
        }
        None => {
            nl.addr(addr);
            Some(None)
        }
    }
}

/// A value of at most 8 bytes (strace's `umoven_to_uint64`): the whole
/// data when it is no longer.
fn small(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> Option<Option<u64>> {
    if len > 8 {
        return None;
    }
    int(nl, addr, len, len)
}

/// Shows one attribute's data by `kind`; false when the data does not
/// fit it (shown in hex by the caller).
pub(crate) fn data(nl: &mut Nl<'_, '_>, kind: Kind, addr: u64, len: u64) -> bool {
    let num = |nl: &mut Nl<'_, '_>, size: u64, f: &dyn Fn(u64) -> String| -> bool {
        match int(nl, addr, len, size) {
            None => false,
            Some(None) => true,
            Some(Some(v)) => {
                let s = f(v);
                nl.put(&s);
                true
            }
        }
    };
    match kind {
        Kind::Hex => false,
        Kind::Str => {
            nl.cstr(addr, len);
            true
        }
        Kind::U8 => num(nl, 1, &|v| v.to_string()),
        Kind::U16 => num(nl, 2, &|v| v.to_string()),
        Kind::U32 => num(nl, 4, &|v| v.to_string()),
        Kind::U64 => num(nl, 8, &|v| v.to_string()),
        Kind::Ifindex => match int(nl, addr, len, 4) {
            None => false,
            Some(None) => true,
            Some(Some(v)) => {
                nl.ifindex(v as u32);
                true
            }
        },
        Kind::S32 => num(nl, 4, &|v| (v as u32 as i32).to_string()),
        Kind::Uid => num(nl, 4, &|v| {
            if v == u64::from(u32::MAX) {
                "-1".into()
            } else {
                v.to_string()
            }
        }),
        Kind::Xval(t) => match small(nl, addr, len) {
            None => false,
            Some(None) => true,
            Some(Some(v)) => {
                nl.xval(t, v);
                true
            }
        },
        Kind::Flags32(t) => match int(nl, addr, len, 4) {
            None => false,
            Some(None) => true,
            Some(Some(v)) => {
                nl.flags(&[t], v);
                true
            }
        },
        Kind::U8Array => {
            u_array(nl, addr, len, 1, None);
            true
        }
        Kind::MemInfo => {
            if len < 4 {
                return false;
            }
            u_array(nl, addr, len, 4, Some(T::NetlinkSkMeminfoIndices));
            true
        }
        Kind::Custom(f) => f(nl, addr, len),
        Kind::Nested(a) => {
            list(nl, addr, len, a);
            true
        }
        Kind::Struct(st) => structure(nl, addr, len, st),
        Kind::U16Array => {
            if len < 2 {
                return false;
            }
            u_array(nl, addr, len, 2, None);
            true
        }
        Kind::X32 => num(nl, 4, &fmt_x),
        Kind::Indexed(size, t, signed) => {
            if len < size {
                return false;
            }
            array(nl, addr, len, size, |nl, k, v| {
                nl.put("[");
                nl.xval_u(t, k);
                nl.put("]=");
                let sh = 64 - 8 * size.clamp(1, 8) as u32;
                let s = if signed {
                    (((v << sh) as i64) >> sh).to_string()
                } else {
                    v.to_string()
                };
                nl.put(&s);
            });
            true
        }
        Kind::X16 => num(nl, 2, &fmt_x),
        Kind::XInt if matches!(len, 1 | 2 | 4 | 8) => num(nl, len, &fmt_x),
        Kind::XInt => false,
        Kind::ClockT => match small(nl, addr, len) {
            None => false,
            Some(None) => true,
            Some(Some(v)) => {
                let s = clock_t(v);
                nl.put(&s);
                true
            }
        },
        Kind::XvalN(..) if len > 8 => false,
        Kind::XvalN(t, n) => match int(nl, addr, len, n) {
            None => false,
            Some(None) => true,
            Some(Some(v)) => {
                nl.xval(t, v);
                true
            }
        },
        Kind::XvalBareN(t, n) => match int(nl, addr, len, n) {
            None => false,
            Some(None) => true,
            Some(Some(v)) => {
                nl.xval_bare(t, v);
                true
            }
        },
        Kind::Inet(family) => {
            let size = if family == 10 { 16 } else { 4 };
            if len < size {
                return false;
            }
            match nl.read(addr, size) {
                Some(b) => nl.inet_addr(&b, family, ""),
                None => nl.addr(addr),
            }
            true
        }
        Kind::Be16 => num(nl, 2, &|v| format!("htons({})", (v as u16).swap_bytes())),
        Kind::Be64 => num(nl, 8, &|v| format!("htobe64({})", v.swap_bytes())),
        Kind::FlagsN(t, n) => {
            if len > 8 || len < n {
                return false;
            }
            match int(nl, addr, n, n) {
                None | Some(None) => true,
                Some(Some(v)) => {
                    nl.flags(&[t], v);
                    true
                }
            }
        }
    }
}

/// C's `%#x`: `0` for zero.
fn fmt_x(v: u64) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

/// Clock ticks as strace's `print_clock_t` (100 ticks a second, the
/// guest's `USER_HZ`): the number, and the seconds as a comment unless
/// `-X raw` or zero.
pub(crate) fn clock_t(v: u64) -> String {
    const HZ: u64 = 100;
    if v == 0 || vstrace_core::style::style() == vstrace_core::os::ConstStyle::Raw {
        return v.to_string();
    }
    format!("{v} /* {}.{:02} s */", v / HZ, v % HZ)
}

/// A structure that grew over kernel versions (strace's `min_size` /
/// `def_size` dance): the largest of `sizes` when the data holds it,
/// else exactly one of the smaller ones; its fields past the size read
/// left out. False when the data fits none (hex then).
pub(crate) fn versioned(
    nl: &mut Nl<'_, '_>,
    addr: u64,
    len: u64,
    sizes: &[u64],
    fields: &'static [F],
) -> bool {
    let max = sizes.iter().copied().max().unwrap_or(0);
    let size = if len >= max {
        max
    } else if sizes.contains(&len) {
        len
    } else {
        return false;
    };
    structure(nl, addr, len, &St::new(size, fields))
}

/// A fixed structure (see [`St`]): false when the data is too short
/// for it (hex then).
pub(crate) fn structure(nl: &mut Nl<'_, '_>, addr: u64, len: u64, st: &St) -> bool {
    if len < st.min {
        return false;
    }
    let size = if len >= st.size { st.size } else { st.min };
    match nl.read(addr, size) {
        Some(b) => {
            let fields: Vec<F> = st
                .fields
                .iter()
                .copied()
                .filter(|f| f.end() <= b.len())
                .collect();
            nl.put("{");
            nl.fields(&b, &fields);
            nl.put("}");
        }
        None => nl.addr(addr),
    }
    if let Some(then) = st.then {
        let off = (st.size + 3) & !3;
        if len > off {
            nl.put(", ");
            list(nl, addr.wrapping_add(off), len - off, then);
        }
    }
    true
}

/// An array of unsigned integers of `size` bytes (`len / size` of them,
/// `-s` of them unless `-v`), each prefixed with its index name from
/// `index` when given (`[SK_MEMINFO_RMEM_ALLOC]=0`).
pub(crate) fn u_array(nl: &mut Nl<'_, '_>, addr: u64, len: u64, size: u64, index: Option<T>) {
    array(nl, addr, len, size, |nl, k, v| {
        if let Some(t) = index {
            nl.put("[");
            nl.xval_u(t, k);
            nl.put("]=");
        }
        let s = v.to_string();
        nl.put(&s);
    });
}

/// strace's `print_array` over `len / size` little-endian integers of
/// `size` bytes at `addr`, each shown by `each` (with its index).
pub(crate) fn array(
    nl: &mut Nl<'_, '_>,
    addr: u64,
    len: u64,
    size: u64,
    mut each: impl FnMut(&mut Nl<'_, '_>, u64, u64),
) {
    let mut k = 0;
    array_of(nl, addr, len, size, |nl, b| {
        let v = super::netlink_fields::le(b, 0, b.len());
        each(nl, k, v);
        k += 1;
    });
}

/// strace's `print_array` over `len / size` elements of `size` bytes at
/// `addr`, each shown by `each` from its bytes: `-s` of them unless
/// `-v`, an unreadable first one as the array's address, a later one as
/// `... /* address */`.
pub(crate) fn array_of(
    nl: &mut Nl<'_, '_>,
    addr: u64,
    len: u64,
    size: u64,
    mut each: impl FnMut(&mut Nl<'_, '_>, &[u8]),
) {
    let count = len / size.max(1);
    if count == 0 {
        return nl.put("[]");
    }
    nl.put("[");
    for k in 0..count {
        if k > 0 {
            nl.put(", ");
        }
        if nl.cut(k) {
            nl.put("...");
            break;
        }
        let at = addr.wrapping_add(k * size);
        let Some(b) = nl.read(at, size) else {
            if k == 0 {
                // The whole array unreadable: its address alone.
                nl.out.truncate(nl.out.len() - 1);
                return nl.addr(addr);
            }
            nl.more_at(at);
            break;
        };
        each(nl, &b);
    }
    nl.put("]");
}
