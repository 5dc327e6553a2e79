//! Socket option values (setsockopt's and getsockopt's `optval`), by
//! level and option as strace prints them: `SO_LINGER`'s `struct linger`,
//! `SO_PEERCRED`'s `struct ucred`, `SO_ERROR` as an errno name, the int
//! options as `[N]`, `ip_mreq`/`ipv6_mreq`, `PACKET_*_RING`'s
//! `tpacket_req`, `packet_mreq`, `PACKET_STATISTICS`, `ICMP_FILTER`'s bit
//! set, netlink's group lists; anything else as an int when it is 4 bytes
//! long, else its bytes.
//!
//! Option names are matched through the generated xlat tables (the
//! numbers come from the kernel's headers). A value the kernel writes is
//! shown as long as the length it returned; one it reads, as long as the
//! caller's length, and as an address when that is too short for the
//! option's structure.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Call, Fields};
use crate::consts;
use crate::fmt;
use crate::xlat::{self, Radix, Table as T};

/// Option levels (`SOL_*`, from the kernel's socket.h).
const SOL_IP: u64 = 0;
const SOL_SOCKET: u64 = 1;
const SOL_IPV6: u64 = 41;
const SOL_RAW: u64 = 255;
const SOL_PACKET: u64 = 263;
const SOL_NETLINK: u64 = 270;

/// Most option bytes read.
const MAX_OPTLEN: usize = 256;

/// The name of option `name` at `level` as the call prints it (`set`:
/// setsockopt's names first), from the generated tables.
fn opt_name(c: &Call<'_, '_>, level: u64, name: u64, set: bool) -> Option<&'static str> {
    let tables: &[T] = match level {
        SOL_SOCKET if set => &[T::SockOptions, T::SetsockOptions],
        SOL_SOCKET => &[T::SockOptions, T::GetsockOptions],
        SOL_IP if set => &[T::SockIpOptions, T::SetsockIpOptions],
        SOL_IP => &[T::SockIpOptions, T::GetsockIpOptions],
        SOL_IPV6 if set => &[T::SockIpv6Options, T::SetsockIpv6Options],
        SOL_IPV6 => &[T::SockIpv6Options, T::GetsockIpv6Options],
        SOL_RAW => &[T::SockRawOptions],
        SOL_PACKET => &[T::SockPacketOptions],
        _ => return None,
    };
    tables.iter().find_map(|t| t.xlat().lookup(c.abi, name))
}

/// `SO_TXREHASH`'s value: `[SOCK_TXREHASH_ENABLED]`; a value shorter
/// than an int is an address at the entry, its bytes at the exit.
fn txrehash(c: &mut Call<'_, '_>, v: u64, len: i64, get: bool) -> String {
    if len < 4 {
        return if get {
            hex(c, v, len.max(0) as usize)
        } else {
            fmt::ptr(v)
        };
    }
    match c.fetch(v, 4) {
        Ok(b) => format!(
            "[{}]",
            xlat::xval(
                c.abi,
                T::SockoptTxrehashVals,
                Fields::new(&b, 4).u32(0),
                Radix::Dec
            )
        ),
        Err(s) => s,
    }
}

/// The `SOL_SOCKET` options whose value is an int.
fn int_like(name: &str) -> bool {
    matches!(
        name,
        "SO_DEBUG"
            | "SO_REUSEADDR"
            | "SO_DONTROUTE"
            | "SO_BROADCAST"
            | "SO_SNDBUF"
            | "SO_RCVBUF"
            | "SO_KEEPALIVE"
            | "SO_OOBINLINE"
            | "SO_NO_CHECK"
            | "SO_PRIORITY"
            | "SO_BSDCOMPAT"
            | "SO_REUSEPORT"
            | "SO_PASSCRED"
            | "SO_RCVLOWAT"
            | "SO_SNDLOWAT"
            | "SO_DETACH_FILTER"
            | "SO_TIMESTAMP_OLD"
            | "SO_ACCEPTCONN"
            | "SO_SNDBUFFORCE"
            | "SO_RCVBUFFORCE"
            | "SO_PASSSEC"
            | "SO_TIMESTAMPNS_OLD"
            | "SO_MARK"
            | "SO_TIMESTAMPING_OLD"
            | "SO_RXQ_OVFL"
            | "SO_WIFI_STATUS"
            | "SO_PEEK_OFF"
            | "SO_NOFCS"
            | "SO_LOCK_FILTER"
            | "SO_SELECT_ERR_QUEUE"
            | "SO_BUSY_POLL"
            | "SO_INCOMING_CPU"
            | "SO_CNX_ADVICE"
            | "SO_INCOMING_NAPI_ID"
            | "SO_ZEROCOPY"
            | "SO_TIMESTAMP_NEW"
            | "SO_TIMESTAMPNS_NEW"
            | "SO_TIMESTAMPING_NEW"
            | "SO_DETACH_REUSEPORT_BPF"
            | "SO_PREFER_BUSY_POLL"
            | "SO_BUSY_POLL_BUDGET"
            | "SO_RESERVE_MEM"
            | "SO_RCVMARK"
    )
}

/// An int through a pointer: `[N]` (`NULL`, or the address).
fn int(c: &mut Call<'_, '_>, v: u64) -> String {
    match c.fetch(v, 4) {
        Ok(b) => format!("[{}]", Fields::new(&b, 4).i32(0)),
        Err(s) => s,
    }
}

/// `len` bytes as a quoted string, at most `-s` of them.
fn bytes(c: &mut Call<'_, '_>, v: u64, len: i64) -> String {
    if len < 0 {
        return fmt::ptr(v);
    }
    c.quoted(v, len as u64)
}

/// `len` bytes in hex (`"\x01\x02"`), for a partial value.
fn hex(c: &mut Call<'_, '_>, v: u64, len: usize) -> String {
    match c.fetch(v, len.min(MAX_OPTLEN)) {
        Ok(b) => fmt::quote_hex(&b, false),
        Err(s) => s,
    }
}

/// An interface index: loopback is always index 1 in a network
/// namespace (the kernel's `LOOPBACK_IFINDEX`); other names are the
/// guest's and unknown here.
pub(super) fn ifindex(i: u64) -> String {
    if i == 1 {
        "if_nametoindex(\"lo\")".into()
    } else {
        i.to_string()
    }
}

/// setsockopt's value: `len` bytes at `v` the kernel reads.
pub(super) fn set_value(c: &mut Call<'_, '_>, v: u64, len: i64) -> String {
    let level = c.arg(1) & 0xffff_ffff;
    let name = c.arg(2) & 0xffff_ffff;
    if v != 0 {
        if let Some(s) = set_known(c, v, len, level, name) {
            return s;
        }
    }
    if len == 4 {
        int(c, v)
    } else {
        bytes(c, v, len)
    }
}

fn set_known(c: &mut Call<'_, '_>, v: u64, len: i64, level: u64, name: u64) -> Option<String> {
    if level == SOL_NETLINK {
        return Some(if len < 4 { fmt::ptr(v) } else { int(c, v) });
    }
    let opt = opt_name(c, level, name, true)?;
    let need = |c: &mut Call<'_, '_>, size: i64, f: fn(&mut Call<'_, '_>, &[u8]) -> String| {
        if len < size {
            return fmt::ptr(v);
        }
        match c.fetch(v, size as usize) {
            Ok(b) => f(c, &b),
            Err(s) => s,
        }
    };
    // Structures strace shows only for their exact size.
    let exact = |c: &mut Call<'_, '_>, size: i64, f: fn(&mut Call<'_, '_>, &[u8]) -> String| {
        if len != size {
            return fmt::ptr(v);
        }
        match c.fetch(v, size as usize) {
            Ok(b) => f(c, &b),
            Err(_) => fmt::ptr(v),
        }
    };
    Some(match (level, opt) {
        (SOL_SOCKET, "SO_LINGER") => need(c, 8, |_, b| {
            let f = Fields::new(b, 4);
            format!("{{l_onoff={}, l_linger={}}}", f.i32(0), f.i32(4))
        }),
        (SOL_SOCKET, "SO_ATTACH_FILTER" | "SO_ATTACH_REUSEPORT_CBPF") => {
            let size = 2 * c.long_size() as i64;
            if len != size {
                fmt::ptr(v)
            } else {
                super::bpf::sock_fprog(c, v)
            }
        }
        (SOL_SOCKET, "SO_TXREHASH") => txrehash(c, v, len, false),
        (SOL_SOCKET, o) if int_like(o) => {
            if len < 4 {
                fmt::ptr(v)
            } else {
                int(c, v)
            }
        }
        (SOL_IP, "IP_ADD_MEMBERSHIP" | "IP_DROP_MEMBERSHIP") => need(c, 8, |_, b| {
            format!(
                "{{imr_multiaddr=inet_addr(\"{}\"), imr_interface=inet_addr(\"{}\")}}",
                Ipv4Addr::new(b[0], b[1], b[2], b[3]),
                Ipv4Addr::new(b[4], b[5], b[6], b[7])
            )
        }),
        (
            SOL_IPV6,
            "IPV6_ADD_MEMBERSHIP"
            | "IPV6_DROP_MEMBERSHIP"
            | "IPV6_JOIN_ANYCAST"
            | "IPV6_LEAVE_ANYCAST",
        ) => need(c, 20, |_, b| {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[..16]);
            format!(
                "{{inet_pton(AF_INET6, \"{}\", &ipv6mr_multiaddr), ipv6mr_interface={}}}",
                Ipv6Addr::from(a),
                ifindex(Fields::new(b, 4).u32(16))
            )
        }),
        // struct group_req: the interface, then a sockaddr_storage
        // aligned as the caller's pointers.
        (SOL_IP | SOL_IPV6, "MCAST_JOIN_GROUP" | "MCAST_LEAVE_GROUP") => {
            if c.long_size() == 4 {
                need(c, 132, group_req::<4>)
            } else {
                need(c, 136, group_req::<8>)
            }
        }
        (SOL_PACKET, "PACKET_RX_RING" | "PACKET_TX_RING") => exact(c, 16, |_, b| {
            let f = Fields::new(b, 4);
            format!(
                "{{tp_block_size={}, tp_block_nr={}, tp_frame_size={}, tp_frame_nr={}}}",
                f.u32(0),
                f.u32(4),
                f.u32(8),
                f.u32(12)
            )
        }),
        (SOL_PACKET, "PACKET_ADD_MEMBERSHIP" | "PACKET_DROP_MEMBERSHIP") => {
            exact(c, 16, packet_mreq)
        }
        (SOL_RAW, "ICMP_FILTER") => icmp_filter(c, v, len),
        _ => return None,
    })
}

/// `struct group_req` whose `gr_group` is at `OFF`:
/// `{gr_interface=..., gr_group={sa_family=...}}`.
fn group_req<const OFF: usize>(_: &mut Call<'_, '_>, b: &[u8]) -> String {
    let group = b.get(OFF..OFF + 128).unwrap_or_default();
    format!(
        "{{gr_interface={}, gr_group={}}}",
        ifindex(Fields::new(b, 4).u32(0)),
        super::sockaddr::format(group)
    )
}

/// `struct packet_mreq`: interface, type, address length and address.
fn packet_mreq(c: &mut Call<'_, '_>, b: &[u8]) -> String {
    let f = Fields::new(b, 4);
    let alen = f.u16(6) as usize;
    let addr = b.get(8..8 + alen.min(8)).unwrap_or(&[]);
    // strace's print_mac_addr: `xx:xx:..`; in `\x` escapes with -X raw,
    // both with -X verbose.
    let mac: Vec<String> = addr.iter().map(|x| format!("{x:02x}")).collect();
    let mac = mac.join(":");
    let mac = match vstrace_core::style::style() {
        vstrace_core::ConstStyle::Abbrev => mac,
        vstrace_core::ConstStyle::Raw => fmt::quote_hex(addr, false),
        vstrace_core::ConstStyle::Verbose => format!("{} /* {mac} */", fmt::quote_hex(addr, false)),
    };
    format!(
        "{{mr_ifindex={}, mr_type={}, mr_alen={alen}, mr_address={mac}}}",
        ifindex(f.u32(0)),
        xlat::xval(c.abi, T::PacketMreqType, f.u16(4), Radix::Hex),
    )
}

/// `struct icmp_filter`: the ICMP types filtered out, as a bit set;
/// `~[...]` lists the types let through when more than half are set.
fn icmp_filter(c: &mut Call<'_, '_>, v: u64, len: i64) -> String {
    if len <= 0 {
        return fmt::ptr(v);
    }
    let n = len.min(4) as usize;
    let b = match c.fetch(v, n) {
        Ok(b) => b,
        Err(s) => return s,
    };
    // Bytes beyond the length read as set, as the kernel's default.
    let mut x = [0xffu8; 4];
    x[..n].copy_from_slice(&b);
    let mut data = u32::from_le_bytes(x);
    let mut s = String::new();
    if data.count_ones() > 16 {
        data = !data;
        s.push('~');
    }
    let names: Vec<String> = (0..32)
        .filter(|i| data & (1 << i) != 0)
        .map(|i| xlat::xval(c.abi, T::IcmpFilterFlags, i, Radix::Hex))
        .collect();
    s.push('[');
    s.push_str(&names.join(" "));
    s.push(']');
    s
}

/// getsockopt's value at a successful exit: `rlen` bytes the kernel
/// wrote into a buffer of `ulen`.
pub(super) fn get_value(c: &mut Call<'_, '_>, v: u64, ulen: i64, rlen: i64) -> String {
    if ulen <= 0 || rlen <= 0 {
        return fmt::ptr(v);
    }
    let level = c.arg(1) & 0xffff_ffff;
    let name = c.arg(2) & 0xffff_ffff;
    if v != 0 {
        if let Some(s) = get_known(c, v, ulen, rlen, level, name) {
            return s;
        }
    }
    if rlen == 4 {
        int(c, v)
    } else {
        bytes(c, v, rlen)
    }
}

/// Fields of 4 bytes each, as many as `len` covers; a partial last one
/// in hex (strace's `MAYBE_PRINT_FIELD_LEN`).
fn partial(c: &mut Call<'_, '_>, v: u64, len: i64, names: &[&str], signed: &[bool]) -> String {
    let size = 4 * names.len();
    let n = (len as usize).min(size);
    let b = match c.fetch(v, n) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, 4);
    let parts: Vec<String> = names
        .iter()
        .enumerate()
        .take(n.div_ceil(4))
        .map(|(k, name)| {
            let field = &b[k * 4..(k * 4 + 4).min(n)];
            if field.len() < 4 {
                format!("{name}={}", fmt::quote_hex(field, false))
            } else if signed[k] {
                format!("{name}={}", f.i32(k * 4))
            } else {
                format!("{name}={}", f.u32(k * 4))
            }
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

fn get_known(
    c: &mut Call<'_, '_>,
    v: u64,
    ulen: i64,
    rlen: i64,
    level: u64,
    name: u64,
) -> Option<String> {
    if level == SOL_NETLINK {
        let list =
            T::SockNetlinkOptions.xlat().lookup(c.abi, name) == Some("NETLINK_LIST_MEMBERSHIPS");
        if !list {
            return Some(int(c, v));
        }
        let count = (ulen.min(rlen) / 4) as u64;
        return Some(c.array(v, count, 4, |_, b| Fields::new(b, 4).u32(0).to_string()));
    }
    let opt = opt_name(c, level, name, false)?;
    Some(match (level, opt) {
        (SOL_SOCKET, "SO_LINGER") => partial(c, v, rlen, &["l_onoff", "l_linger"], &[true, true]),
        (SOL_SOCKET, "SO_PEERCRED") => {
            partial(c, v, rlen, &["pid", "uid", "gid"], &[true, false, false])
        }
        (SOL_SOCKET, "SO_TXREHASH") => txrehash(c, v, rlen, true),
        (SOL_SOCKET, "SO_ATTACH_FILTER" | "SO_GET_FILTER") => {
            if rlen > u16::MAX as i64 {
                fmt::ptr(v)
            } else {
                super::bpf::filters(c, v, rlen as u64)
            }
        }
        (SOL_SOCKET, "SO_ERROR") => {
            if rlen < 4 {
                return Some(hex(c, v, rlen as usize));
            }
            match c.fetch(v, 4) {
                Ok(b) => {
                    let e = Fields::new(&b, 4).u32(0);
                    match consts::errno_name(e as i64) {
                        Some(n) => format!("[{n}]"),
                        None => format!("[{e}]"),
                    }
                }
                Err(s) => s,
            }
        }
        (SOL_SOCKET, o) if int_like(o) => {
            if rlen >= 4 {
                int(c, v)
            } else {
                hex(c, v, rlen as usize)
            }
        }
        (SOL_PACKET, "PACKET_STATISTICS") => partial(
            c,
            v,
            rlen,
            &["tp_packets", "tp_drops", "tp_freeze_q_cnt"],
            &[false, false, false],
        ),
        (SOL_RAW, "ICMP_FILTER") => icmp_filter(c, v, rlen),
        _ => return None,
    })
}
