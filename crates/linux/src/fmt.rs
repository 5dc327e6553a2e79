//! strace-style values: quoted strings with escapes, flag sets with an
//! unknown-bits remainder, enumerations with a numeric fallback.
//!
//! Each notation has a typed builder (`*_v`, returning a
//! [`Value`] whose [`Value::render`] is the strace text and whose JSON is
//! the plain value) and a text adapter of the old name that renders it,
//! so decoders written against the text API keep working. A new decoder
//! should build its value with the `*_v` functions and
//! [`vstrace_core::StructBuilder`].

use vstrace_core::value::{quote_into, Base, Bytes, Const, Escape, Flag, Name};
use vstrace_core::Value;

use crate::consts::{self, Names};
use crate::xlat::{Radix, Table};

/// Quotes `bytes` the way strace does: `"..."` with C escapes for `"`,
/// `\`, `\t`, `\n`, `\v`, `\f`, `\r`, and octal escapes (`\0`, `\177`,
/// three digits when an octal digit follows) for every other byte outside
/// printable ASCII. `truncated` appends `...` after the closing quote.
pub fn quote(bytes: &[u8], truncated: bool) -> String {
    quote_x(bytes, truncated, 0)
}

/// Like [`quote`] but every byte as `\xNN`, as strace prints random or
/// binary buffers (getrandom).
pub fn quote_hex(bytes: &[u8], truncated: bool) -> String {
    let mut s = String::new();
    quote_into(bytes, truncated, true, false, &mut s);
    s
}

/// Like [`quote`] with strace's `-x` levels (see
/// `vstrace_core::DecodeOptions::strings_in_hex`): 0 as [`quote`], 1 the
/// whole string in hex when any byte is neither printable ASCII nor one
/// of `\t\n\v\f\r`, 2 every string in hex, 3 hex escapes instead of
/// octal ones.
pub fn quote_x(bytes: &[u8], truncated: bool, xflag: u8) -> String {
    Value::str(bytes.to_vec(), truncated, xflag).render()
}

/// Bytes shown with every byte in hex (getrandom's buffer), typed.
pub fn hex_bytes_v(bytes: Vec<u8>, truncated: bool) -> Value {
    Value::Str(Bytes {
        bytes,
        truncated,
        escape: Escape::AllHex,
    })
}

/// A guest address: `NULL` or `0x...`.
pub fn ptr(v: u64) -> String {
    Value::ptr(v).render()
}

/// The named bits of `v` from `names` (a name covering several bits only
/// when all are set), then the unknown remainder; `zero` stands for 0
/// (`"0"`: nothing, rendered `0`).
pub fn flags_v(v: u64, names: Names, zero: &str) -> Value {
    vstrace_core::style::style_flags(v, flags_abbrev_v(v, names, zero))
}

/// [`flags_v`] with names whatever the `-X` style (a part of a larger set).
fn flags_abbrev_v(v: u64, names: Names, zero: &str) -> Value {
    let mut parts: Vec<Flag> = Vec::new();
    let mut left = v;
    for &(bits, name) in names {
        if bits != 0 && left & bits == bits {
            parts.push(Flag::Name(Name::Borrowed(name)));
            left &= !bits;
        }
    }
    if left != 0 {
        parts.push(Flag::Bits {
            bits: left,
            comment: None,
        });
    }
    if parts.is_empty() && zero != "0" {
        parts.push(Flag::Name(Name::Owned(zero.to_string())));
    }
    Value::Flags(parts)
}

/// `A|B|0x...`: every named bit set present in `v` (a name may cover
/// several bits; it is printed only when all of them are set), then the
/// unknown remainder in hex. `zero` is printed when `v` is 0.
pub fn flags(v: u64, names: Names, zero: &str) -> String {
    flags_v(v, names, zero).render()
}

/// An enumeration value by name, or its number in `base` (no comment).
pub fn enum_v(v: u64, names: Names, base: Base) -> Value {
    Value::Const(Const {
        raw: i128::from(v),
        base,
        name: consts::lookup(names, v).map(Name::Borrowed),
        comment: None,
    })
}

/// An enumeration value by name, or its decimal value.
pub fn enum_or_dec(v: u64, names: Names) -> String {
    enum_v(v, names, Base::Dec).render()
}

/// An enumeration value by name, or its hex value.
pub fn enum_or_hex(v: u64, names: Names) -> String {
    enum_v(v, names, Base::Hex).render()
}

/// A mode in octal with a leading zero (`0644`; `0` for zero).
pub fn octal(v: u64) -> String {
    Value::int(v, Base::Oct).render()
}

/// A mode as strace's `%#03o`: `000`, `004`, `0644`.
pub fn octal03(v: u64) -> String {
    Value::int(v, Base::Oct03).render()
}

/// `0` or `0x...` (strace's `PRINT_VAL_X`).
pub fn hex0(v: u64) -> String {
    Value::int(v, Base::Hex).render()
}

/// A signal handler as strace prints one: `SIG_DFL`, `SIG_IGN`,
/// `SIG_ERR` (-1 at the caller's width), else its address.
pub fn sa_handler_v(abi: crate::proto::LinuxAbi, v: u64) -> Value {
    match sa_handler_name(abi, v) {
        Some(n) => Value::name(n, if n == "SIG_ERR" { -1 } else { i128::from(v) }),
        None => Value::Ptr(v),
    }
}

/// The name strace gives a signal handler value, if it has one.
pub fn sa_handler_name(abi: crate::proto::LinuxAbi, v: u64) -> Option<&'static str> {
    let err = match abi {
        crate::proto::LinuxAbi::X86_64 => u64::MAX,
        crate::proto::LinuxAbi::I386 => u64::from(u32::MAX),
    };
    match v {
        0 => Some("SIG_DFL"),
        1 => Some("SIG_IGN"),
        _ if v == err => Some("SIG_ERR"),
        _ => None,
    }
}

/// i386 ipc's call word as strace prints it: `42<<16|SEMCTL` (the
/// version only when set), the call by its name when it has one, else
/// in unsigned decimal.
pub fn ipc_call_v(abi: crate::proto::LinuxAbi, v: u64) -> Value {
    let version = (v >> 16) & 0xffff;
    // strace's printxval_u with no default: an unknown call is a bare
    // number.
    let call = match Table::Ipccalls.xlat().lookup(abi, v & 0xffff) {
        Some(_) => xval_v(abi, Table::Ipccalls, v & 0xffff, Radix::Udec),
        None => Value::dec(v & 0xffff),
    };
    if version == 0 {
        return call;
    }
    Value::Opaque(format!("{version}<<16|{}", call.render()))
}

/// A table value (strace's `printxval`): the name, or the number in
/// `radix` with the table's `/* X_??? */` comment (none for
/// [`Radix::DecBare`]).
pub fn xval_v(abi: crate::proto::LinuxAbi, table: Table, v: u64, radix: Radix) -> Value {
    let x = table.xlat();
    let (raw, base) = match radix {
        Radix::Hex => (i128::from(v), Base::Hex),
        Radix::Udec => (i128::from(v), Base::Dec),
        Radix::Dec | Radix::DecBare => (i128::from(v as u32 as i32), Base::Dec),
    };
    let name = x.lookup(abi, v);
    Value::Const(Const {
        raw,
        base,
        name: name.map(Name::Borrowed),
        comment: match (name, radix) {
            (Some(_), _) | (None, Radix::DecBare) => None,
            (None, _) => Some(Name::Borrowed(x.dflt)),
        },
    })
}

/// strace's verbose form of a table value: the number with the name (or
/// the unknown marker) as a comment.
pub fn xval_verbose_v(abi: crate::proto::LinuxAbi, table: Table, v: u64) -> Value {
    let x = table.xlat();
    let name = x.lookup(abi, v);
    Value::Const(Const {
        raw: i128::from(v as u32 as i32),
        base: Base::Dec,
        name: name.map(Name::Borrowed),
        comment: Some(Name::Borrowed(name.unwrap_or(x.dflt))),
    })
}

/// A flag set from one or more tables (strace's `printflags`): the named
/// bits, then the leftover ones; when nothing has a name, the bits with
/// the first table's `/* X_??? */` comment if `comment`. `first_zero`
/// lets the first table name a zero value (`O_RDONLY`).
pub fn xflags_v(
    abi: crate::proto::LinuxAbi,
    tables: &[Table],
    v: u64,
    comment: bool,
    first_zero: bool,
) -> Value {
    let mut parts: Vec<Flag> = Vec::new();
    let mut left = v;
    'tables: for t in tables {
        for &(bits, name) in t.xlat().values(abi) {
            let zero = first_zero && left == 0 && parts.is_empty() && bits == 0;
            if zero || (bits != 0 && left & bits == bits) {
                parts.push(Flag::Name(Name::Borrowed(name)));
                left &= !bits;
            }
            if first_zero && left == 0 && !parts.is_empty() {
                break 'tables;
            }
        }
    }
    if left != 0 {
        parts.push(Flag::Bits {
            bits: left,
            comment: match (parts.is_empty(), comment, tables.first()) {
                (true, true, Some(t)) => Some(Name::Borrowed(t.xlat().dflt)),
                _ => None,
            },
        });
    }
    vstrace_core::style::style_flags(v, Value::Flags(parts))
}

/// A mode with its file type, as strace's `print_symbolic_mode_t`:
/// `S_IFREG|0644`, `S_IFCHR|S_ISUID|0600`, or the octal number when the
/// type is unknown or absent.
pub fn symbolic_mode_v(abi: crate::proto::LinuxAbi, mode: u64) -> Value {
    let ifmt = mode & 0o170000;
    let name = if ifmt == 0 {
        Some("")
    } else {
        Table::Modetypes.xlat().lookup(abi, ifmt)
    };
    let Some(name) = name else {
        return Value::int(mode, Base::Oct03);
    };
    let mut parts = Vec::new();
    if !name.is_empty() {
        parts.push(Flag::Name(Name::Borrowed(name)));
    }
    for (bit, n) in [
        (0o4000, "S_ISUID"),
        (0o2000, "S_ISGID"),
        (0o1000, "S_ISVTX"),
    ] {
        if mode & bit != 0 {
            parts.push(Flag::Name(Name::Borrowed(n)));
        }
    }
    parts.push(Flag::Text(octal03(mode & 0o777)));
    Value::Flags(parts)
}

/// Text of [`symbolic_mode_v`].
pub fn symbolic_mode(abi: crate::proto::LinuxAbi, mode: u64) -> String {
    symbolic_mode_v(abi, mode).render()
}

/// A socket option name by its level, as strace's getsockopt/setsockopt
/// (`SO_DEBUG` at `SOL_SOCKET`, `IP_RECVERR` at `SOL_IP`; the number for
/// levels without a table).
pub fn sockopt_name_v(abi: crate::proto::LinuxAbi, level: u64, name: u64, set: bool) -> Value {
    let tables: &[Table] = match level {
        1 if set => &[Table::SockOptions, Table::SetsockOptions],
        1 => &[Table::SockOptions, Table::GetsockOptions],
        0 if set => &[Table::SockIpOptions, Table::SetsockIpOptions],
        0 => &[Table::SockIpOptions, Table::GetsockIpOptions],
        41 if set => &[Table::SockIpv6Options, Table::SetsockIpv6Options],
        41 => &[Table::SockIpv6Options, Table::GetsockIpv6Options],
        6 => &[Table::SockTcpOptions],
        17 => &[Table::SockUdpOptions],
        255 => &[Table::SockRawOptions],
        263 => &[Table::SockPacketOptions],
        270 => &[Table::SockNetlinkOptions],
        _ => return Value::dec(name),
    };
    for t in tables {
        if let Some(n) = t.xlat().lookup(abi, name) {
            // -X raw prints an option name's number in hex.
            return Value::Const(Const {
                raw: i128::from(name),
                base: Base::Hex,
                name: Some(n.into()),
                comment: None,
            });
        }
    }
    xval_v(abi, tables[0], name, Radix::Hex)
}

/// Text of [`sockopt_name_v`].
pub fn sockopt_name(abi: crate::proto::LinuxAbi, level: u64, name: u64, set: bool) -> String {
    sockopt_name_v(abi, level, name, set).render()
}

/// A device number as `makedev(0x1, 0x3)` (glibc's major/minor split).
pub fn makedev(dev: u64) -> String {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    // glibc's minor(): 32 bits.
    let minor = (dev & 0xff) | ((dev >> 12) & 0xffff_ff00);
    format!("makedev({}, {})", hex0(major), hex0(minor))
}

/// A clock id as strace's `printclockname`: `CLOCK_MONOTONIC`, or
/// `0x10 /* CLOCK_??? */`; negative ids are per-process CPU clocks,
/// shown as the signed number.
pub fn clockid_v(abi: crate::proto::LinuxAbi, v: u64) -> Value {
    if (v as u32 as i32) < 0 {
        return Value::dec(v as u32 as i32);
    }
    xval_v(abi, Table::Clocknames, v, Radix::Hex)
}

/// Text of [`clockid_v`].
pub fn clockid(abi: crate::proto::LinuxAbi, v: u64) -> String {
    clockid_v(abi, v).render()
}

/// The parts of a flag set, for appending to another set.
fn parts(v: Value) -> Vec<Flag> {
    match v {
        Value::Flags(p) => p,
        other => vec![Flag::Text(other.render())],
    }
}

/// `open`-style flags: the access mode first (always printed), then the
/// other flags, then unknown bits (`O_RDONLY|O_CLOEXEC`, `O_RDONLY|0x800000`).
pub fn open_flags_v(v: u64) -> Value {
    vstrace_core::style::style_flags(v, open_flags_abbrev_v(v))
}

/// [`open_flags_v`] with names whatever the `-X` style.
fn open_flags_abbrev_v(v: u64) -> Value {
    let acc = v & 3;
    let mut p = vec![match consts::lookup(consts::OPEN_ACCMODE, acc) {
        Some(n) => Flag::Name(Name::Borrowed(n)),
        // Access mode 3 is an invalid combination: print it raw.
        None => Flag::Bits {
            bits: acc,
            comment: None,
        },
    }];
    let rest = v & !3;
    if rest != 0 {
        p.extend(parts(flags_abbrev_v(rest, consts::OPEN_FLAGS, "0")));
    }
    Value::Flags(p)
}

/// Text of [`open_flags_v`].
pub fn open_flags(v: u64) -> String {
    open_flags_v(v).render()
}

/// `MAP_PRIVATE|MAP_ANONYMOUS`, as strace's `print_mmap_flags`: the
/// mapping type (`0xf /* MAP_??? */` when unknown), the flags with their
/// unknown bits in hex, then a huge page size as `21<<MAP_HUGE_SHIFT`.
pub fn mmap_flags_v(v: u64) -> Value {
    vstrace_core::style::style_flags(v, mmap_flags_abbrev_v(v))
}

/// [`mmap_flags_v`] with names whatever the `-X` style.
fn mmap_flags_abbrev_v(v: u64) -> Value {
    let ty = v & 0xf;
    let mut p = vec![match consts::lookup(consts::MAP_TYPE, ty) {
        Some(n) => Flag::Name(Name::Borrowed(n)),
        None => Flag::Bits {
            bits: ty,
            comment: Some(Name::Borrowed("MAP_???")),
        },
    }];
    let huge_mask = 0x3f << 26;
    let huge = v & huge_mask;
    let rest = v & !0xf & !huge_mask;
    if rest != 0 {
        p.extend(parts(flags_abbrev_v(rest, consts::MAP_FLAGS, "0")));
    }
    if huge != 0 {
        p.push(Flag::Text(format!("{}<<MAP_HUGE_SHIFT", huge >> 26)));
    }
    Value::Flags(p)
}

/// Text of [`mmap_flags_v`].
pub fn mmap_flags(v: u64) -> String {
    mmap_flags_v(v).render()
}

/// Clone flags, the low byte being the exit signal (`...|SIGCHLD`).
pub fn clone_flags_v(v: u64) -> Value {
    vstrace_core::style::style_flags(v, clone_flags_abbrev_v(v))
}

/// [`clone_flags_v`] with names whatever the `-X` style.
fn clone_flags_abbrev_v(v: u64) -> Value {
    let sig = v & 0xff;
    let rest = v & !0xff;
    let mut p = Vec::new();
    if rest != 0 {
        p.extend(parts(flags_abbrev_v(rest, consts::CLONE_FLAGS, "0")));
    }
    if sig != 0 {
        p.push(match consts::signal_name(sig) {
            Some(n) => Flag::Name(Name::Owned(n)),
            None => Flag::Bits {
                bits: sig,
                comment: None,
            },
        });
    }
    Value::Flags(p)
}

/// Text of [`clone_flags_v`].
pub fn clone_flags(v: u64) -> String {
    clone_flags_v(v).render()
}

/// A signal number: `SIGTERM`, or the (signed) decimal value when unknown.
pub fn signal_v(v: u64) -> Value {
    let n = v as u32 as i32;
    match consts::signal_name(v) {
        Some(name) => Value::name(name, n),
        None => Value::dec(n),
    }
}

/// Text of [`signal_v`].
pub fn signal(v: u64) -> String {
    signal_v(v).render()
}

/// A 64-bit signal mask as strace prints it: `[INT TERM]`, or
/// `~[KILL STOP]` when more than half the signals are set.
pub fn sigset_v(mask: u64) -> Value {
    let names = |m: u64| -> Vec<Name> {
        (0..64u64)
            .filter(|i| m & (1 << i) != 0)
            .map(|i| {
                let n = consts::signal_name(i + 1).unwrap_or_else(|| (i + 1).to_string());
                let n = n.strip_prefix("SIG").map(str::to_string).unwrap_or(n);
                // -X: `1` or `1 /* HUP */`, as strace's sprintsigmask_n.
                Name::Owned(match vstrace_core::style::style() {
                    vstrace_core::ConstStyle::Raw => (i + 1).to_string(),
                    vstrace_core::ConstStyle::Verbose => format!("{} /* {n} */", i + 1),
                    vstrace_core::ConstStyle::Abbrev => n,
                })
            })
            .collect()
    };
    let complement = mask.count_ones() > 32;
    Value::SigSet {
        names: names(if complement { !mask } else { mask }),
        complement,
    }
}

/// A signal set of `bytes` bytes (1 to 7: a size argument smaller than
/// the kernel's 8, i386's 4), as strace's `sprintsigmask_n` shows it: in
/// its whole 32-bit words, complemented (`~[...]`) when two thirds or more
/// of their bits are set.
pub fn sigset_sized_v(mask: u64, bytes: u64) -> Value {
    let words = bytes.clamp(1, 8).div_ceil(4);
    let bits = words * 32;
    let all = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mask = mask & all;
    if u64::from(mask.count_ones()) >= bits * 2 / 3 {
        match sigset_v(!mask & all) {
            Value::SigSet { names, .. } => Value::SigSet {
                names,
                complement: true,
            },
            v => v,
        }
    } else {
        match sigset_v(mask) {
            Value::SigSet { names, .. } => Value::SigSet {
                names,
                complement: false,
            },
            v => v,
        }
    }
}

/// Text of [`sigset_v`].
pub fn sigset(mask: u64) -> String {
    sigset_v(mask).render()
}

/// A file mode as `S_IFREG|0644`.
pub fn st_mode_v(mode: u64) -> Value {
    let ty = mode & 0o170000;
    let perm = mode & 0o7777;
    match consts::lookup(consts::S_IFMT, ty) {
        Some(n) => Value::Flags(vec![Flag::Name(Name::Borrowed(n)), Flag::Text(octal(perm))]),
        None => Value::int(mode, Base::Oct),
    }
}

/// Text of [`st_mode_v`].
pub fn st_mode(mode: u64) -> String {
    st_mode_v(mode).render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes() {
        assert_eq!(quote(b"/etc/passwd", false), "\"/etc/passwd\"");
        assert_eq!(quote(b"hello\n", true), "\"hello\\n\"...");
        assert_eq!(quote(b"a\tb\"c\\", false), "\"a\\tb\\\"c\\\\\"");
        // strace's octal escapes: shortest form, three digits before a digit.
        assert_eq!(quote(&[0, 0x7f, 0xff, b'x'], false), "\"\\0\\177\\377x\"");
        assert_eq!(
            quote(&[0x7f, b'E', 2, 0, b'1'], false),
            "\"\\177E\\2\\0001\""
        );
        assert_eq!(quote_hex(b"0a", false), "\"\\x30\\x61\"");
        assert_eq!(quote(b"", false), "\"\"");
    }

    #[test]
    fn open_flags_known_and_unknown() {
        assert_eq!(open_flags(0), "O_RDONLY");
        assert_eq!(open_flags(0o2000000), "O_RDONLY|O_CLOEXEC");
        assert_eq!(open_flags(0o1 | 0o100 | 0o1000), "O_WRONLY|O_CREAT|O_TRUNC");
        assert_eq!(open_flags(0x800000), "O_RDONLY|0x800000");
        assert_eq!(open_flags(0o4010002), "O_RDWR|O_SYNC");
        assert_eq!(open_flags(0o10002), "O_RDWR|O_DSYNC");
        assert_eq!(open_flags(0o20200000), "O_RDONLY|O_TMPFILE");
        assert_eq!(open_flags(3), "O_ACCMODE");
    }

    #[test]
    fn flag_sets() {
        assert_eq!(flags(3, consts::PROT, "PROT_NONE"), "PROT_READ|PROT_WRITE");
        assert_eq!(flags(0, consts::PROT, "PROT_NONE"), "PROT_NONE");
        assert_eq!(flags(0x81, consts::PROT, "PROT_NONE"), "PROT_READ|0x80");
        assert_eq!(mmap_flags(0x22), "MAP_PRIVATE|MAP_ANONYMOUS");
        assert_eq!(mmap_flags(0x812), "MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE");
        assert_eq!(mmap_flags(0x8000_0001), "MAP_SHARED|32<<MAP_HUGE_SHIFT");
        assert_eq!(mmap_flags(0x2000f), "0xf /* MAP_??? */|MAP_STACK");
        assert_eq!(mmap_flags(0), "MAP_FILE");
        assert_eq!(
            clone_flags(0x01200011),
            "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"
        );
        assert_eq!(
            clone_flags(0x3d0f00),
            "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID"
        );
        assert_eq!(clone_flags(0), "0");
        assert_eq!(octal(0o644), "0644");
        assert_eq!(octal(0), "0");
        assert_eq!(st_mode(0o100644), "S_IFREG|0644");
    }

    #[test]
    fn sigsets() {
        assert_eq!(sigset(0), "[]");
        assert_eq!(sigset((1 << 1) | (1 << 14)), "[INT TERM]");
        assert_eq!(sigset(!((1 << 8) | (1 << 18))), "~[KILL STOP]");
    }
}
