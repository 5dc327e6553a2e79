//! Socket ioctls (type 0x89, the `SIOC*` and `FIO*OWN` requests) as
//! strace prints them: `struct ifreq` by request (the interface name,
//! then the one union member the request uses), `struct ifconf` with
//! its length before and after and the interfaces the kernel listed,
//! bridge names, owner pids. Requests strace knows but does not decode
//! show their argument as an address.
//!
//! `struct ifreq` is 40 bytes on x86-64 and 32 on i386 (its union holds
//! `struct ifmap`, whose first two fields are `unsigned long`); the
//! pointer in `struct ifconf` is a `long` too.

use vstrace_core::value::{Base, Name};
use vstrace_core::{StructBuilder, Value};

use super::ioctl::{cstring_v, int, read_v, Kind};
use super::{sockaddr, sockopt, Call, Fields};
use crate::fmt;
use crate::xlat::{Radix, Table as T};

/// `IFNAMSIZ`: the interface name's array.
const IFNAMSIZ: usize = 16;
/// Size of `struct sockaddr` in the union.
const SOCKADDR: usize = 16;

/// `sizeof(struct ifreq)` in the call's ABI: the name and a union whose
/// largest members are a `struct sockaddr` and a `struct ifmap` (two
/// `unsigned long`, an `unsigned short` and three bytes, padded to a
/// `long`): 40 bytes on x86-64, 32 on i386.
fn ifreq_size(c: &Call<'_, '_>) -> usize {
    let w = c.long_size();
    IFNAMSIZ + SOCKADDR.max((2 * w + 5).next_multiple_of(w))
}

/// The decoder of socket request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::{EntryExitV, In, InMoreV, InV, Out, ValV};
    Some(match name {
        "SIOCGIFCONF" => EntryExitV(ifconf_in, ifconf_out),
        "SIOCBRADDBR" | "SIOCBRDELBR" => In(bridge_name),
        "FIOGETOWN" | "SIOCATMARK" | "SIOCGIFENCAP" | "SIOCGPGRP" | "SIOCOUTQNSD" => Out(int),
        "FIOSETOWN" | "SIOCSIFENCAP" | "SIOCSPGRP" => In(int),
        "SIOCBRADDIF" | "SIOCBRDELIF" => InV(|c, v| {
            read_v(c, v, ifreq_size(c), |_, f| {
                StructBuilder::new()
                    .field(
                        "ifr_ifindex",
                        Value::Opaque(sockopt::ifindex(f.i32(IFNAMSIZ) as u32 as u64)),
                    )
                    .done()
            })
        }),
        "SIOCADDMULTI" | "SIOCDELMULTI" | "SIOCSIFADDR" | "SIOCSIFBRDADDR" | "SIOCSIFDSTADDR"
        | "SIOCSIFFLAGS" | "SIOCSIFHWADDR" | "SIOCSIFHWBROADCAST" | "SIOCSIFMAP"
        | "SIOCSIFMETRIC" | "SIOCSIFMTU" | "SIOCSIFNAME" | "SIOCSIFNETMASK" | "SIOCSIFSLAVE"
        | "SIOCSIFTXQLEN" => InV(set_ifreq),
        "SIOCGIFADDR" | "SIOCGIFBRDADDR" | "SIOCGIFDSTADDR" | "SIOCGIFFLAGS" | "SIOCGIFHWADDR"
        | "SIOCGIFINDEX" | "SIOCGIFMAP" | "SIOCGIFMETRIC" | "SIOCGIFMTU" | "SIOCGIFNAME"
        | "SIOCGIFNETMASK" | "SIOCGIFSLAVE" | "SIOCGIFTXQLEN" => {
            InMoreV(get_ifreq_in, get_ifreq_out)
        }
        "SIOCADDDLCI"
        | "SIOCADDRT"
        | "SIOCBONDCHANGEACTIVE"
        | "SIOCBONDENSLAVE"
        | "SIOCBONDINFOQUERY"
        | "SIOCBONDRELEASE"
        | "SIOCBONDSETHWADDR"
        | "SIOCBONDSLAVEINFOQUERY"
        | "SIOCDARP"
        | "SIOCDELDLCI"
        | "SIOCDELRT"
        | "SIOCDIFADDR"
        | "SIOCDRARP"
        | "SIOCETHTOOL"
        | "SIOCGARP"
        | "SIOCGHWTSTAMP"
        | "SIOCGIFBR"
        | "SIOCGIFCOUNT"
        | "SIOCGIFMEM"
        | "SIOCGIFPFLAGS"
        | "SIOCGIFVLAN"
        | "SIOCGMIIPHY"
        | "SIOCGMIIREG"
        | "SIOCGRARP"
        | "SIOCGSKNS"
        | "SIOCGSTAMP_OLD"
        | "SIOCGSTAMP_NEW"
        | "SIOCGSTAMPNS_OLD"
        | "SIOCGSTAMPNS_NEW"
        | "SIOCRTMSG"
        | "SIOCSARP"
        | "SIOCSHWTSTAMP"
        | "SIOCSIFBR"
        | "SIOCSIFLINK"
        | "SIOCSIFMEM"
        | "SIOCSIFPFLAGS"
        | "SIOCSIFVLAN"
        | "SIOCSMIIREG"
        | "SIOCSRARP"
        | "SIOCWANDEV" => ValV(|_, v| Value::ptr(v)),
        _ => return None,
    })
}

/// A bridge name: at most `IFNAMSIZ` bytes up to a NUL, `...` when it
/// has none there.
fn bridge_name(c: &mut Call<'_, '_>, v: u64) -> String {
    let max = IFNAMSIZ.min(c.opts.strsize);
    match c.fetch(v, max) {
        Ok(b) => match b.iter().position(|&x| x == 0) {
            Some(end) => fmt::quote(&b[..end], false),
            None => fmt::quote(&b, true),
        },
        // A name that ends before an unreadable page.
        Err(s) => match vstrace_core::read::read_cstring(c.mem, v, max) {
            Ok(r) if r.fault.is_none() && !r.truncated => fmt::quote(&r.bytes, false),
            _ => s,
        },
    }
}

/// `ifr_hwaddr`: the hardware type and its address bytes (as many as
/// the type's address has: six for Ethernet, else all 14).
fn hwaddr(c: &Call<'_, '_>, f: &Fields<'_>, o: usize) -> Value {
    let family = f.u16(o);
    let len = match T::ArpHardwareTypes.xlat().lookup(c.abi, family) {
        Some("ARPHRD_ETHER" | "ARPHRD_EETHER" | "ARPHRD_IEEE802") => 6,
        _ => 14,
    };
    let data = f.b.get(o + 2..o + 2 + len).unwrap_or(&[]);
    StructBuilder::new()
        .field(
            "sa_family",
            fmt::xval_v(c.abi, T::ArpHardwareTypes, family, Radix::Hex),
        )
        .field("sa_data", Value::Opaque(mac(data)))
        .done()
}

/// Bytes as strace's `print_hwaddr`: `xx:xx:...`, in `\x` escapes with
/// `-X raw`, both with `-X verbose`.
fn mac(b: &[u8]) -> String {
    use vstrace_core::ConstStyle;
    let style = vstrace_core::style::style();
    let m: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    let m = m.join(":");
    match style {
        ConstStyle::Abbrev => m,
        ConstStyle::Raw => fmt::quote_hex(b, false),
        ConstStyle::Verbose => format!("{} /* {m} */", fmt::quote_hex(b, false)),
    }
}

/// The union member request `name` uses, at offset 16 of `f`.
fn member(c: &Call<'_, '_>, name: &str, f: &Fields<'_>) -> Option<(&'static str, Value)> {
    let u = IFNAMSIZ;
    let sa =
        |f: &Fields<'_>| Value::Opaque(sockaddr::format(f.b.get(u..u + SOCKADDR).unwrap_or(&[])));
    let w = c.long_size();
    let hex = |v: u64| Value::int(v, Base::Hex);
    Some(match name {
        "SIOCSIFADDR" | "SIOCGIFADDR" => ("ifr_addr", sa(f)),
        "SIOCSIFDSTADDR" | "SIOCGIFDSTADDR" => ("ifr_dstaddr", sa(f)),
        "SIOCSIFBRDADDR" | "SIOCGIFBRDADDR" => ("ifr_broadaddr", sa(f)),
        "SIOCSIFNETMASK" | "SIOCGIFNETMASK" => ("ifr_netmask", sa(f)),
        "SIOCADDMULTI" | "SIOCDELMULTI" | "SIOCGIFHWADDR" | "SIOCSIFHWADDR"
        | "SIOCSIFHWBROADCAST" => ("ifr_hwaddr", hwaddr(c, f, u)),
        "SIOCSIFFLAGS" | "SIOCGIFFLAGS" => (
            "ifr_flags",
            fmt::xflags_v(c.abi, &[T::Iffflags], f.u16(u), true, false),
        ),
        "SIOCGIFINDEX" => ("ifr_ifindex", Value::dec(f.i32(u))),
        "SIOCSIFMETRIC" | "SIOCGIFMETRIC" => ("ifr_metric", Value::dec(f.i32(u))),
        "SIOCSIFMTU" | "SIOCGIFMTU" => ("ifr_mtu", Value::dec(f.i32(u))),
        "SIOCSIFTXQLEN" | "SIOCGIFTXQLEN" => ("ifr_qlen", Value::dec(f.i32(u))),
        "SIOCSIFSLAVE" | "SIOCGIFSLAVE" => ("ifr_slave", cstr(f, u)),
        "SIOCSIFNAME" => ("ifr_newname", cstr(f, u)),
        "SIOCGIFNAME" => ("ifr_name", cstr(f, 0)),
        "SIOCSIFMAP" | "SIOCGIFMAP" => (
            "ifr_map",
            StructBuilder::new()
                .field("mem_start", hex(f.ulong(u)))
                .field("mem_end", hex(f.ulong(u + w)))
                .field("base_addr", hex(f.u16(u + 2 * w)))
                .field("irq", hex(f.bytes(u + 2 * w + 2, 1)))
                .field("dma", hex(f.bytes(u + 2 * w + 3, 1)))
                .field("port", hex(f.bytes(u + 2 * w + 4, 1)))
                .done(),
        ),
        _ => return None,
    })
}

/// A name array of `IFNAMSIZ` at `o`.
fn cstr(f: &Fields<'_>, o: usize) -> Value {
    cstring_v(f.b.get(o..o + IFNAMSIZ).unwrap_or(&[]))
}

/// The request's name (the first of the ABI's names for its number).
fn request(c: &Call<'_, '_>) -> &'static str {
    crate::xlat::ioctl_names(c.abi, c.arg(1) as u32)
        .into_iter()
        .next()
        .unwrap_or("")
}

/// A setter's `struct ifreq`: the interface name and the member.
fn set_ifreq(c: &mut Call<'_, '_>, v: u64) -> Value {
    let name = request(c);
    read_v(c, v, ifreq_size(c), |c, f| {
        let mut b = StructBuilder::new();
        b.field("ifr_name", cstr(f, 0));
        if let Some((k, x)) = member(c, name, f) {
            b.field(k, x);
        }
        b.done()
    })
}

/// A getter's `struct ifreq` at the entry: the interface it names (by
/// index for `SIOCGIFNAME`).
fn get_ifreq_in(c: &mut Call<'_, '_>, v: u64) -> Value {
    let name = request(c);
    read_v(c, v, ifreq_size(c), |_, f| {
        let mut b = StructBuilder::new();
        if name == "SIOCGIFNAME" {
            b.dec("ifr_ifindex", f.i32(IFNAMSIZ));
        } else {
            b.field("ifr_name", cstr(f, 0));
        }
        b.done()
    })
}

/// A getter's answer at a successful exit: the member.
fn get_ifreq_out(c: &mut Call<'_, '_>, v: u64) -> Vec<(Name, Value)> {
    if c.failed() {
        return Vec::new();
    }
    let name = request(c);
    let size = ifreq_size(c);
    match c.fetch(v, size) {
        Ok(b) => {
            let f = Fields::new(&b, c.long_size());
            member(c, name, &f)
                .map(|(k, x)| vec![(Name::Borrowed(k), x)])
                .unwrap_or_default()
        }
        Err(_) => Vec::new(),
    }
}

/// `ifc_len` as strace prints it: with `/* N * sizeof(struct ifreq) */`
/// when it is a whole number of them.
fn ifc_len(c: &Call<'_, '_>, len: i32) -> Value {
    let size = ifreq_size(c) as u32;
    let n = len as u32 / size;
    if len > 0 && n * size == len as u32 {
        Value::Commented {
            value: Box::new(Value::dec(len)),
            comment: format!("{n} * sizeof(struct ifreq)"),
        }
    } else {
        Value::dec(len)
    }
}

/// `(ifc_len, ifc_buf)` of the `struct ifconf` at `v`.
fn read_ifconf(c: &mut Call<'_, '_>, v: u64) -> Result<(i32, u64), Value> {
    let w = c.long_size();
    let b = c.fetch_v(v, 2 * w)?;
    let f = Fields::new(&b, w);
    Ok((f.i32(0) as i32, f.ulong(w)))
}

/// `struct ifconf` at the entry: the length given with a buffer (none
/// without one: the kernel then only says how much room it needs).
fn ifconf_in(c: &mut Call<'_, '_>, v: u64) -> Value {
    match read_ifconf(c, v) {
        Ok((len, buf)) if buf != 0 => StructBuilder::new()
            .field("ifc_len", ifc_len(c, len))
            .done(),
        Ok(_) => StructBuilder::new().done(),
        Err(e) => e,
    }
}

/// `struct ifconf` at the exit: the length the kernel returned (after
/// the one given, when it changed), then the interfaces it listed (or
/// the buffer's address).
fn ifconf_out(c: &mut Call<'_, '_>, v: u64) -> Value {
    let entry = match c.entry() {
        Some(t) => t.to_string(),
        None => ifconf_in(c, v).render(),
    };
    if !entry.starts_with('{') {
        return Value::Opaque(entry);
    }
    // The length the entry showed (only with a buffer).
    let given: Option<i32> = entry
        .strip_prefix("{ifc_len=")
        .and_then(|t| t.split([' ', '}']).next())
        .and_then(|n| n.parse().ok());
    let Ok((len, buf)) = read_ifconf(c, v) else {
        return Value::Opaque(entry);
    };
    let mut s = StructBuilder::new();
    match given {
        Some(g) if g != len => s.field(
            "ifc_len",
            Value::Changed {
                before: Box::new(ifc_len(c, g)),
                after: Box::new(ifc_len(c, len)),
            },
        ),
        _ => s.field("ifc_len", ifc_len(c, len)),
    };
    let list = if given.is_none() || c.failed() {
        Value::ptr(buf)
    } else {
        let size = ifreq_size(c);
        let count = (len as u32 / size as u32) as u64;
        c.array_v(buf, count, size, |_, e| {
            let f = Fields::new(e, 8);
            StructBuilder::new()
                .field("ifr_name", cstr(&f, 0))
                .field(
                    "ifr_addr",
                    Value::Opaque(sockaddr::format(
                        e.get(IFNAMSIZ..IFNAMSIZ + SOCKADDR).unwrap_or(&[]),
                    )),
                )
                .done()
        })
    };
    s.field("ifc_buf", list).done()
}

#[cfg(test)]
mod tests {
    use vstrace_core::testmem::SparseVirt;

    use super::super::ioctl::tests::{line, EBADF};

    fn ifreq(name: &[u8], rest: &[u8]) -> Vec<u8> {
        let mut b = name.to_vec();
        b.resize(16, 0);
        b.extend_from_slice(rest);
        b.resize(40, 0);
        b
    }

    #[test]
    fn ifreq_setters_and_getters() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &ifreq(b"eth0", &1500i32.to_le_bytes()));
        assert_eq!(
            line(0x8922, 0x1000, EBADF, &mut m),
            "ioctl(-1, SIOCSIFMTU, {ifr_name=\"eth0\", ifr_mtu=1500}) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(0x8921, 0x1000, 0, &mut m),
            "ioctl(-1, SIOCGIFMTU, {ifr_name=\"eth0\", ifr_mtu=1500}) = 0"
        );
        assert_eq!(
            line(0x8921, 0x1000, EBADF, &mut m),
            "ioctl(-1, SIOCGIFMTU, {ifr_name=\"eth0\"}) = -1 EBADF (Bad file descriptor)"
        );
        let mut hw = vec![1, 0];
        hw.extend_from_slice(&[0x92, 0x93, 0x94, 0x95, 0x96, 0x97]);
        m.map(0x2000, &ifreq(b"0123456789abcdefXX", &hw));
        assert_eq!(
            line(0x8924, 0x2000, EBADF, &mut m),
            "ioctl(-1, SIOCSIFHWADDR, {ifr_name=\"0123456789abcde\"..., ifr_hwaddr=\
             {sa_family=ARPHRD_ETHER, sa_data=92:93:94:95:96:97}}) = -1 EBADF (Bad file descriptor)"
        );
        m.map(0x3000, b"br0\0");
        assert_eq!(
            line(0x89a0, 0x3000, EBADF, &mut m),
            "ioctl(-1, SIOCBRADDBR, \"br0\") = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(0x8906, 0, EBADF, &mut m),
            "ioctl(-1, SIOCGSTAMP_OLD, NULL) = -1 EBADF (Bad file descriptor)"
        );
    }

    #[test]
    fn ifconf_lengths_and_list() {
        let mut m = SparseVirt::new();
        let mut b = 80u32.to_le_bytes().to_vec();
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&0x2000u64.to_le_bytes());
        m.map(0x1000, &b);
        m.map(0x2000, &[0; 80]);
        // The kernel lists nothing: the length changes to 0.
        let mut after = vec![0u8; 8];
        after.extend_from_slice(&0x2000u64.to_le_bytes());
        let d = crate::proto::by_name(crate::proto::LinuxAbi::X86_64, "ioctl").unwrap();
        let o = crate::DecodeOptions::default();
        let raw = [u64::MAX, 0x8912, 0x1000];
        let mut a =
            crate::decode::decode_enter(d, crate::proto::LinuxAbi::X86_64, &raw, &mut m, &o);
        m.map(0x1000, &after);
        crate::decode::decode_exit(
            d,
            crate::proto::LinuxAbi::X86_64,
            &raw,
            0,
            &mut m,
            &o,
            &mut a,
        );
        assert_eq!(
            a[2].text.as_deref(),
            Some("{ifc_len=80 /* 2 * sizeof(struct ifreq) */ => 0, ifc_buf=[]}")
        );
        let mut null = 0u32.to_le_bytes().to_vec();
        null.resize(16, 0);
        m.map(0x3000, &null);
        assert_eq!(
            line(0x8912, 0x3000, 0, &mut m),
            "ioctl(-1, SIOCGIFCONF, {ifc_len=0, ifc_buf=NULL}) = 0"
        );
    }
}
