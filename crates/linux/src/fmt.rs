//! strace-style text: quoted strings with escapes, flag sets with an
//! unknown-bits remainder, enumerations with a numeric fallback.

use std::fmt::Write;

use crate::consts::{self, Names};

/// Quotes `bytes` the way strace does: `"..."` with C escapes for `"`,
/// `\`, `\t`, `\n`, `\v`, `\f`, `\r`, and octal escapes (`\0`, `\177`,
/// three digits when an octal digit follows) for every other byte outside
/// printable ASCII. `truncated` appends `...` after the closing quote.
pub fn quote(bytes: &[u8], truncated: bool) -> String {
    quote_style(bytes, truncated, false)
}

/// Like [`quote`] but every byte as `\xNN`, as strace prints random or
/// binary buffers (getrandom).
pub fn quote_hex(bytes: &[u8], truncated: bool) -> String {
    quote_style(bytes, truncated, true)
}

/// Like [`quote`] with strace's `-x` levels (see
/// `vstrace_core::DecodeOptions::strings_in_hex`): 0 as [`quote`], 1 the
/// whole string in hex when any byte is neither printable ASCII nor one
/// of `\t\n\v\f\r`, 2 every string in hex, 3 hex escapes instead of
/// octal ones.
pub fn quote_x(bytes: &[u8], truncated: bool, xflag: u8) -> String {
    let hex = match xflag {
        2 => true,
        1 => bytes
            .iter()
            .any(|&c| c > 0x7e || (c < b' ' && !(9..=13).contains(&c))),
        _ => false,
    };
    quote_escapes(bytes, truncated, hex, xflag == 3)
}

fn quote_style(bytes: &[u8], truncated: bool, hex: bool) -> String {
    quote_escapes(bytes, truncated, hex, false)
}

fn quote_escapes(bytes: &[u8], truncated: bool, hex: bool, hex_escapes: bool) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for (i, &b) in bytes.iter().enumerate() {
        if hex {
            let _ = write!(s, "\\x{b:02x}");
            continue;
        }
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            0x0b => s.push_str("\\v"),
            0x0c => s.push_str("\\f"),
            b'\r' => s.push_str("\\r"),
            0x20..=0x7e => s.push(b as char),
            _ if hex_escapes => {
                let _ = write!(s, "\\x{b:02x}");
            }
            _ => {
                let next_is_octal = bytes.get(i + 1).is_some_and(|n| (b'0'..=b'7').contains(n));
                if next_is_octal {
                    let _ = write!(s, "\\{b:03o}");
                } else {
                    let _ = write!(s, "\\{b:o}");
                }
            }
        }
    }
    s.push('"');
    if truncated {
        s.push_str("...");
    }
    s
}

/// A guest address: `NULL` or `0x...`.
pub fn ptr(v: u64) -> String {
    if v == 0 {
        "NULL".to_string()
    } else {
        format!("{v:#x}")
    }
}

/// `A|B|0x...`: every named bit set present in `v` (a name may cover
/// several bits; it is printed only when all of them are set), then the
/// unknown remainder in hex. `zero` is printed when `v` is 0.
pub fn flags(v: u64, names: Names, zero: &str) -> String {
    let text = flags_abbrev(v, names, zero);
    // A zero value's text is a name unless it is the number.
    let named = (v != 0 && text.as_bytes().first().is_some_and(|b| !b.is_ascii_digit()))
        || (v == 0 && text != "0");
    crate::xlat::styled(|| hex0(v), named.then(|| text.clone()), || text)
}

/// [`flags`] in strace's default (abbreviated) style.
fn flags_abbrev(v: u64, names: Names, zero: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut left = v;
    for &(bits, name) in names {
        if bits != 0 && left & bits == bits {
            parts.push(name.to_string());
            left &= !bits;
        }
    }
    if left != 0 {
        parts.push(format!("{left:#x}"));
    }
    if parts.is_empty() {
        zero.to_string()
    } else {
        parts.join("|")
    }
}

/// An enumeration value by name, or its decimal value.
pub fn enum_or_dec(v: u64, names: Names) -> String {
    let name = consts::lookup(names, v).map(str::to_string);
    crate::xlat::styled(|| v.to_string(), name, || v.to_string())
}

/// An enumeration value by name, or its hex value.
pub fn enum_or_hex(v: u64, names: Names) -> String {
    let name = consts::lookup(names, v).map(str::to_string);
    crate::xlat::styled(|| hex0(v), name, || format!("{v:#x}"))
}

/// A mode in octal with a leading zero (`0644`; `0` for zero).
pub fn octal(v: u64) -> String {
    if v == 0 {
        "0".to_string()
    } else {
        format!("0{v:o}")
    }
}

/// A mode as strace's `%#03o`: `000`, `004`, `0644`.
pub fn octal03(v: u64) -> String {
    let s = if v == 0 {
        "0".to_string()
    } else {
        format!("0{v:o}")
    };
    format!("{s:0>3}")
}

/// `0` or `0x...` (strace's `PRINT_VAL_X`).
pub fn hex0(v: u64) -> String {
    if v == 0 {
        "0".to_string()
    } else {
        format!("{v:#x}")
    }
}

/// A mode with its file type, as strace's `print_symbolic_mode_t`:
/// `S_IFREG|0644`, `S_IFCHR|S_ISUID|0600`, or the octal number when the
/// type is unknown or absent.
pub fn symbolic_mode(abi: crate::proto::LinuxAbi, mode: u64) -> String {
    let ifmt = mode & 0o170000;
    let name = if ifmt == 0 {
        Some("")
    } else {
        crate::xlat::Table::Modetypes.xlat().lookup(abi, ifmt)
    };
    let Some(name) = name else {
        return octal03(mode);
    };
    let mut s = String::new();
    if !name.is_empty() {
        s.push_str(name);
        s.push('|');
    }
    for (bit, n) in [
        (0o4000, "S_ISUID|"),
        (0o2000, "S_ISGID|"),
        (0o1000, "S_ISVTX|"),
    ] {
        if mode & bit != 0 {
            s.push_str(n);
        }
    }
    s.push_str(&octal03(mode & 0o777));
    s
}

/// A socket option name by its level, as strace's getsockopt/setsockopt
/// (`SO_DEBUG` at `SOL_SOCKET`, `IP_RECVERR` at `SOL_IP`; the number for
/// levels without a table).
pub fn sockopt_name(abi: crate::proto::LinuxAbi, level: u64, name: u64, set: bool) -> String {
    use crate::xlat::{xval, Radix, Table};
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
        _ => return name.to_string(),
    };
    for t in tables {
        if let Some(n) = t.xlat().lookup(abi, name) {
            return n.to_string();
        }
    }
    xval(abi, tables[0], name, Radix::Hex)
}

/// A device number as `makedev(0x1, 0x3)` (glibc's major/minor split).
pub fn makedev(dev: u64) -> String {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    format!("makedev({}, {})", hex0(major), hex0(minor))
}

/// A clock id as strace's `printclockname`: `CLOCK_MONOTONIC`, or
/// `0x10 /* CLOCK_??? */`; negative ids are per-process CPU clocks,
/// shown as the signed number.
pub fn clockid(abi: crate::proto::LinuxAbi, v: u64) -> String {
    if (v as u32 as i32) < 0 {
        return (v as u32 as i32).to_string();
    }
    crate::xlat::xval(
        abi,
        crate::xlat::Table::Clocknames,
        v,
        crate::xlat::Radix::Hex,
    )
}

/// `open`-style flags: the access mode first (always printed), then the
/// other flags, then unknown bits (`O_RDONLY|O_CLOEXEC`, `O_RDONLY|0x800000`).
pub fn open_flags(v: u64) -> String {
    crate::xlat::styled(|| hex0(v), Some(open_flags_abbrev(v)), String::new)
}

/// [`open_flags`] in strace's default (abbreviated) style.
fn open_flags_abbrev(v: u64) -> String {
    let acc = v & 3;
    let mut s = match consts::lookup(consts::OPEN_ACCMODE, acc) {
        Some(n) => n.to_string(),
        // Access mode 3 is an invalid combination: print it raw.
        None => format!("{acc:#x}"),
    };
    let rest = v & !3;
    if rest != 0 {
        s.push('|');
        s.push_str(&flags_abbrev(rest, consts::OPEN_FLAGS, "0"));
    }
    s
}

/// `MAP_PRIVATE|MAP_ANONYMOUS`, as strace's `print_mmap_flags`: the
/// mapping type (`0xf /* MAP_??? */` when unknown), the flags with their
/// unknown bits in hex, then a huge page size as `21<<MAP_HUGE_SHIFT`.
pub fn mmap_flags(v: u64) -> String {
    crate::xlat::styled(|| hex0(v), Some(mmap_flags_abbrev(v)), String::new)
}

/// [`mmap_flags`] in strace's default (abbreviated) style.
fn mmap_flags_abbrev(v: u64) -> String {
    let ty = v & 0xf;
    let mut s = match consts::lookup(consts::MAP_TYPE, ty) {
        Some(n) => n.to_string(),
        None => format!("{} /* MAP_??? */", hex0(ty)),
    };
    let huge_mask = 0x3f << 26;
    let huge = v & huge_mask;
    let rest = v & !0xf & !huge_mask;
    if rest != 0 {
        s.push('|');
        s.push_str(&flags_abbrev(rest, consts::MAP_FLAGS, "0"));
    }
    if huge != 0 {
        s.push_str(&format!("|{}<<MAP_HUGE_SHIFT", huge >> 26));
    }
    s
}

/// Clone flags, the low byte being the exit signal (`...|SIGCHLD`).
pub fn clone_flags(v: u64) -> String {
    let text = clone_flags_abbrev(v);
    let named = (v != 0).then(|| text.clone());
    crate::xlat::styled(|| hex0(v), named, || text)
}

/// [`clone_flags`] in strace's default (abbreviated) style.
fn clone_flags_abbrev(v: u64) -> String {
    let sig = v & 0xff;
    let rest = v & !0xff;
    let mut parts = Vec::new();
    if rest != 0 {
        parts.push(flags_abbrev(rest, consts::CLONE_FLAGS, "0"));
    }
    if sig != 0 {
        parts.push(consts::signal_name(sig).unwrap_or_else(|| format!("{sig:#x}")));
    }
    if parts.is_empty() {
        "0".to_string()
    } else {
        parts.join("|")
    }
}

/// A signal number: `SIGTERM`, or the decimal value when unknown.
pub fn signal(v: u64) -> String {
    let num = || (v as u32 as i32).to_string();
    crate::xlat::styled(num, consts::signal_name(v), num)
}

/// A 64-bit signal mask as strace prints it: `[INT TERM]`, or
/// `~[KILL STOP]` when more than half the signals are set.
pub fn sigset(mask: u64) -> String {
    let names = |m: u64| -> Vec<String> {
        (0..64u64)
            .filter(|i| m & (1 << i) != 0)
            .map(|i| {
                let name = consts::signal_name(i + 1)
                    .map(|n| n.strip_prefix("SIG").map(str::to_string).unwrap_or(n));
                // -X: `1 /* HUP */` or `1`, as strace's sprintsigmask_n.
                let num = || (i + 1).to_string();
                crate::xlat::styled(num, name, num)
            })
            .collect()
    };
    if mask.count_ones() > 32 {
        format!("~[{}]", names(!mask).join(" "))
    } else {
        format!("[{}]", names(mask).join(" "))
    }
}

/// A file mode as `S_IFREG|0644`.
pub fn st_mode(mode: u64) -> String {
    let ty = mode & 0o170000;
    let perm = mode & 0o7777;
    match consts::lookup(consts::S_IFMT, ty) {
        Some(n) => format!("{n}|{}", octal(perm)),
        None => octal(mode),
    }
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
