//! The fields of the socket address families after `sa_family`, as
//! strace prints them in each `-X` style: `AF_INET`/`AF_INET6` (ports
//! and addresses as `htons()`/`inet_addr()`, or their bytes), `AF_IPX`,
//! `AF_X25`, `AF_NETLINK`, `AF_PACKET`, Bluetooth (HCI, SCO, RFCOMM,
//! L2CAP by length), `AF_RXRPC` (with its INET transport), IEEE 802.15.4,
//! `AF_ALG`, `AF_NFC`, `AF_VSOCK`, `AF_QIPCRTR`, `AF_XDP` and `AF_MCTP`.
//!
//! Each printer gets the address zero-padded past its length (as the
//! kernel sees a short address) and the length given; the caller has
//! checked the family's minimum length.

use std::net::{Ipv4Addr, Ipv6Addr};

use vstrace_core::value::{Base, Const, Name};
use vstrace_core::{ConstStyle, Value};

use super::Fields;
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::Table as T;

/// `sizeof(struct sockaddr_un)`.
const SOCKADDR_UN: usize = 110;

fn style() -> ConstStyle {
    vstrace_core::style::style()
}

/// A table value in hex (strace's `PRINT_FIELD_XVAL`); `comment` says
/// whether an unknown value gets the table's `/* X_??? */`.
fn xv(abi: LinuxAbi, t: T, v: u64, comment: bool) -> String {
    let x = t.xlat();
    let name = x.lookup(abi, v);
    Value::Const(Const {
        raw: i128::from(v),
        base: Base::Hex,
        name: name.map(Name::Borrowed),
        comment: (name.is_none() && comment).then_some(Name::Borrowed(x.dflt)),
    })
    .render()
}

/// A table value always as its number with the name in a comment
/// (strace's `PRINT_FIELD_XVAL_VERBOSE`), the number only with `-X raw`.
fn xv_verbose(abi: LinuxAbi, t: T, v: u64, comment: bool) -> String {
    let x = t.xlat();
    let name = x.lookup(abi, v);
    let comment = match name {
        Some(n) => Some(n),
        None if comment => Some(x.dflt),
        None => None,
    };
    Value::Const(Const {
        raw: i128::from(v),
        base: Base::Hex,
        name: None,
        comment: comment.map(Name::Borrowed),
    })
    .render()
}

/// A flag set in hex (strace's `PRINT_FIELD_FLAGS`).
fn flags(abi: LinuxAbi, t: T, v: u64) -> String {
    fmt::xflags_v(abi, &[t], v, true, false).render()
}

/// A flag set always in hex with the names in a comment
/// (`PRINT_FIELD_FLAGS_VERBOSE`): the number only with `-X raw`.
fn flags_verbose(abi: LinuxAbi, t: T, v: u64) -> String {
    if v == 0 || style() == ConstStyle::Raw {
        return fmt::hex0(v);
    }
    let mut names: Vec<String> = Vec::new();
    let mut left = v;
    for &(bits, name) in t.xlat().values(abi) {
        if bits != 0 && left & bits == bits {
            names.push(name.to_string());
            left &= !bits;
        }
    }
    if names.is_empty() {
        return format!("{} /* {} */", fmt::hex0(v), t.xlat().dflt);
    }
    if left != 0 {
        names.push(fmt::hex0(left));
    }
    format!("{} /* {} */", fmt::hex0(v), names.join("|"))
}

/// strace's `PRINT_VAL_0X`: `%#0Nx` with N twice the field's size
/// (`0x61`; zero as N zeros, as C prints it).
fn val0x(v: u64, size: usize) -> String {
    let w = size * 2;
    if v == 0 {
        "0".repeat(w)
    } else {
        format!("{v:#0w$x}")
    }
}

/// A network-order field as strace's `PRINT_FIELD_NET_PORT` and its
/// kin: the bytes in hex unless abbreviated, then `func(value)` (as a
/// comment when verbose, absent when raw).
fn net(bytes: &[u8], decoded: &str) -> String {
    match style() {
        ConstStyle::Abbrev => decoded.to_string(),
        ConstStyle::Raw => fmt::quote_hex(bytes, false),
        ConstStyle::Verbose => format!("{} /* {decoded} */", fmt::quote_hex(bytes, false)),
    }
}

/// An interface index: `if_nametoindex("lo")` for the loopback (index 1
/// in every network namespace), else the number.
pub(crate) fn ifindex(id: u64) -> String {
    if id != 1 {
        return id.to_string();
    }
    let name = "if_nametoindex(\"lo\")";
    match style() {
        ConstStyle::Abbrev => name.to_string(),
        ConstStyle::Raw => id.to_string(),
        ConstStyle::Verbose => format!("{id} /* {name} */"),
    }
}

/// A C string field of `size` bytes (strace's `QUOTE_0_TERMINATED |
/// QUOTE_EXPECT_TRAILING_0`): up to the NUL among its first `size - 1`
/// bytes, else those bytes and `...`.
fn cstring(b: &[u8], size: usize) -> String {
    let n = size.saturating_sub(1).min(b.len());
    match b[..n].iter().position(|&c| c == 0) {
        Some(end) => fmt::quote(&b[..end], false),
        None => fmt::quote(&b[..n], true),
    }
}

/// `xx:xx:...` (strace's `print_mac_addr`/`print_hwaddr`), its bytes
/// with `-X raw`, both with `-X verbose`.
fn hwaddr(b: &[u8]) -> String {
    let m: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    net(b, &m.join(":"))
}

/// `b[o..o+n]`, empty past the end (the buffers are padded; bounded
/// anyway).
fn sl(b: &[u8], o: usize, n: usize) -> &[u8] {
    b.get(o..o + n).unwrap_or(&[])
}

fn be16(b: &[u8], o: usize) -> u16 {
    u16::from_be_bytes([
        b.get(o).copied().unwrap_or(0),
        b.get(o + 1).copied().unwrap_or(0),
    ])
}

fn be32(b: &[u8], o: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(
        &sl(b, o, 4)
            .iter()
            .copied()
            .chain([0; 4])
            .take(4)
            .collect::<Vec<_>>(),
    );
    u32::from_be_bytes(a)
}

/// `sun_path`: bounded to the structure, abstract names with `@`.
pub(crate) fn un(b: &[u8], len: usize) -> String {
    let path = sl(b, 2, len.min(SOCKADDR_UN).saturating_sub(2));
    if path.first().is_some_and(|&c| c != 0) {
        let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
        format!("sun_path={}", fmt::quote(&path[..end], false))
    } else {
        format!(
            "sun_path=@{}",
            fmt::quote(path.get(1..).unwrap_or(&[]), false)
        )
    }
}

/// `sin_port=..., sin_addr=...` of a `sockaddr_in` at `b`.
pub(crate) fn inet(b: &[u8]) -> String {
    let a = sl(b, 4, 4);
    let ip = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
    format!(
        "sin_port={}, sin_addr={}",
        net(sl(b, 2, 2), &format!("htons({})", be16(b, 2))),
        net(a, &format!("inet_addr(\"{ip}\")"))
    )
}

/// The fields of a `sockaddr_in6` at `b` of `len` bytes (the scope id
/// only when the length covers it).
pub(crate) fn inet6(b: &[u8], len: usize) -> String {
    let mut a = [0u8; 16];
    a.copy_from_slice(sl(b, 8, 16));
    let ip = Ipv6Addr::from(a);
    let flow = be32(b, 4);
    let addr = match style() {
        ConstStyle::Abbrev => format!("inet_pton(AF_INET6, \"{ip}\", &sin6_addr)"),
        ConstStyle::Raw => format!("sin6_addr={}", fmt::quote_hex(&a, false)),
        ConstStyle::Verbose => format!(
            "sin6_addr={} /* inet_pton(AF_INET6, \"{ip}\") */",
            fmt::quote_hex(&a, false)
        ),
    };
    let mut s = format!(
        "sin6_port={}, sin6_flowinfo={}, {addr}",
        net(sl(b, 2, 2), &format!("htons({})", be16(b, 2))),
        net(sl(b, 4, 4), &format!("htonl({flow})"))
    );
    if len > 24 {
        let id = Fields::new(b, 4).u32(24);
        s.push_str(&format!(
            ", sin6_scope_id={}",
            super::sockaddr::scope_id(&a, id)
        ));
    }
    s
}

fn ipx(b: &[u8]) -> String {
    let node: Vec<String> = sl(b, 8, 6)
        .iter()
        .map(|&x| val0x(u64::from(x), 1))
        .collect();
    let mut s = format!(
        "sipx_port={}, sipx_network=htonl({}), sipx_node=[{}], sipx_type={}",
        net(sl(b, 2, 2), &format!("htons({})", be16(b, 2))),
        fmt::hex0(u64::from(be32(b, 4))),
        node.join(", "),
        val0x(u64::from(b[14]), 1)
    );
    if b[15] != 0 {
        s.push_str(&format!(", sipx_zero={:#x}", b[15]));
    }
    s
}

fn netlink(b: &[u8]) -> String {
    let f = Fields::new(b, 4);
    let pad = f.u16(2);
    let pad = if pad != 0 {
        format!("nl_pad={pad:#x}, ")
    } else {
        String::new()
    };
    format!("{pad}nl_pid={}, nl_groups={}", f.u32(4), val0x(f.u32(8), 4))
}

fn packet(abi: LinuxAbi, b: &[u8], len: usize) -> String {
    let f = Fields::new(b, 4);
    let proto = net(
        sl(b, 2, 2),
        &format!(
            "htons({})",
            vstrace_core::style::with_style(ConstStyle::Abbrev, || xv(
                abi,
                T::EthernetProtocols,
                u64::from(be16(b, 2)),
                true
            ))
        ),
    );
    let halen = usize::from(b[11]);
    let mut s = format!(
        "sll_protocol={proto}, sll_ifindex={}, sll_hatype={}, sll_pkttype={}, sll_halen={halen}",
        ifindex(f.u32(4)),
        xv(abi, T::ArpHardwareTypes, f.u16(8), true),
        xv(abi, T::AfPacketTypes, u64::from(b[10]), true),
    );
    if halen != 0 {
        let room = len.saturating_sub(12);
        let mut items: Vec<String> = Vec::new();
        for i in 0..halen {
            if i >= room || i >= 8 {
                items.push("...".into());
                break;
            }
            items.push(val0x(u64::from(b[12 + i]), 1));
        }
        s.push_str(&format!(", sll_addr=[{}]", items.join(", ")));
    }
    s
}

/// The raw data of an address no printer covers.
pub(crate) fn raw(b: &[u8], len: usize) -> String {
    format!(
        "sa_data={}",
        fmt::quote(sl(b, 2, len.saturating_sub(2)), false)
    )
}

/// Bluetooth addresses by length: HCI, SCO, RFCOMM, L2CAP.
fn bluetooth(abi: LinuxAbi, b: &[u8], len: usize) -> String {
    let f = Fields::new(b, 4);
    let le16 = |o: usize| f.u16(o);
    match len {
        4 | 6 => {
            let mut s = format!("hci_dev=htobs({})", le16(2));
            if len == 6 {
                s.push_str(&format!(
                    ", hci_channel={}",
                    xv(abi, T::HciChannels, le16(4), true)
                ));
            }
            s
        }
        8 => format!("sco_bdaddr={}", hwaddr(sl(b, 2, 6))),
        9 => format!("rc_bdaddr={}, rc_channel={}", hwaddr(sl(b, 2, 6)), b[8]),
        12 | 14 => {
            let mut s = format!(
                "l2_psm={}, l2_bdaddr={}, l2_cid={}",
                l2_num(abi, le16(2), T::BluetoothL2Psm),
                hwaddr(sl(b, 4, 6)),
                l2_num(abi, le16(10), T::BluetoothL2Cid)
            );
            if len == 14 {
                s.push_str(&format!(
                    ", l2_bdaddr_type={}",
                    xv(abi, T::BdaddrTypes, u64::from(b[12]), true)
                ));
            }
            s
        }
        _ => raw(b, len),
    }
}

/// An L2CAP PSM or CID: `htobs(NAME)`, the dynamic ranges as
/// `FIRST+N`, else the number with the unknown marker.
fn l2_num(abi: LinuxAbi, v: u64, t: T) -> String {
    let x = t.xlat();
    let name = x.lookup(abi, v).map(str::to_string);
    // The dynamic ranges: L2CAP_PSM_LE_DYN_START..=END and
    // L2CAP_PSM_DYN_START.., L2CAP_CID_DYN_START.. (first names of
    // the table that strace's ranges start from).
    let range = |start: &str, end: Option<&str>| -> Option<String> {
        let lo = x.values(abi).iter().find(|(_, n)| *n == start)?.0;
        let hi = match end {
            Some(e) => x.values(abi).iter().find(|(_, n)| *n == e)?.0,
            None => u64::MAX,
        };
        (lo..=hi)
            .contains(&v)
            .then(|| format!("{start}+{}", v - lo))
    };
    let named = name.or_else(|| match t {
        T::BluetoothL2Psm => range("L2CAP_PSM_LE_DYN_START", Some("L2CAP_PSM_LE_DYN_END"))
            .or_else(|| range("L2CAP_PSM_DYN_START", None)),
        _ => range("L2CAP_CID_DYN_START", None),
    });
    let inner = match (style(), named) {
        (ConstStyle::Raw, _) => fmt::hex0(v),
        (ConstStyle::Abbrev, Some(n)) => n,
        (ConstStyle::Verbose, Some(n)) => format!("{} /* {n} */", fmt::hex0(v)),
        (_, None) => format!("{} /* {} */", fmt::hex0(v), x.dflt),
    };
    format!("htobs({inner})")
}

fn rxrpc(abi: LinuxAbi, b: &[u8], len: usize) -> String {
    let f = Fields::new(b, 4);
    let tlen = f.u16(6) as usize;
    let family = f.u16(8);
    // The transport as far as both its length and the address go.
    let shown = tlen.min(len.saturating_sub(8));
    let rest = shown.saturating_sub(2);
    let tb = sl(b, 8, 28);
    let fam = |name: &str| format!("{name}={}", xv(abi, T::Addrfams, family, true));
    let tail = |s: &mut String| {
        if rest > 0 {
            s.push_str(&format!(", {}", fmt::quote(sl(b, 10, rest), false)));
        }
    };
    let transport = match family {
        2 => {
            let mut s = format!("sin={{{}", fam("sin_family"));
            if tlen >= 16 {
                s.push_str(&format!(", {}", inet(tb)));
            } else {
                tail(&mut s);
            }
            s + "}"
        }
        10 => {
            let mut s = format!("sin6={{{}", fam("sin6_family"));
            if tlen >= 24 {
                s.push_str(&format!(", {}", inet6(tb, shown)));
            } else {
                tail(&mut s);
            }
            s + "}"
        }
        _ => {
            let mut s = fam("family");
            tail(&mut s);
            s
        }
    };
    format!(
        "srx_service={}, transport_type={}, transport_len={tlen}, transport={{{transport}}}",
        xv_verbose(abi, T::RxrpcServices, f.u16(2), true),
        xv(abi, T::Socktypes, f.u16(4), true),
    )
}

fn ieee802154(abi: LinuxAbi, b: &[u8]) -> String {
    let f = Fields::new(b, 4);
    let kind = f.u32(4);
    let mut s = format!(
        "addr={{addr_type={}, pan_id={}",
        xv_verbose(abi, T::Ieee802154AddrTypes, kind, true),
        xv_verbose(abi, T::Ieee802154PanIds, f.u16(8), false)
    );
    match kind {
        0 => {}
        2 => s.push_str(&format!(
            ", short_addr={}",
            xv_verbose(abi, T::Ieee802154Addrs, f.u16(10), false)
        )),
        _ => s.push_str(&format!(", hwaddr={}", hwaddr(sl(b, 10, 8)))),
    }
    s + "}"
}

fn alg(abi: LinuxAbi, b: &[u8], len: usize) -> String {
    let f = Fields::new(b, 4);
    format!(
        "salg_type={}, salg_feat={}, salg_mask={}, salg_name={}",
        cstring(sl(b, 2, 14), 14),
        flags_verbose(abi, T::AlgSockaddrFlags, f.u32(16)),
        flags_verbose(abi, T::AlgSockaddrFlags, f.u32(20)),
        cstring(sl(b, 24, len.saturating_sub(24)), len.saturating_sub(24))
    )
}

fn nfc(abi: LinuxAbi, b: &[u8], len: usize) -> String {
    let f = Fields::new(b, 4);
    let mut s = format!(
        "dev_idx={}, target_idx={}, nfc_protocol={}",
        ifindex(f.u32(4)),
        fmt::hex0(f.u32(8)),
        xv(abi, T::NfcSockaddrProtocols, f.u32(12), true)
    );
    // sockaddr_nfc_llcp: 2 SAPs and a 63-byte name after the 16 bytes,
    // then the name's length, a size_t (aligned to its width).
    let wide = abi == LinuxAbi::X86_64;
    let (full, at) = if wide { (96, 88) } else { (88, 84) };
    if len < full {
        if len > 16 {
            s.push_str(", ...");
        }
        return s;
    }
    let snsz = if wide { f.u64(at) } else { f.u32(at) };
    s.push_str(&format!(
        ", dsap={}, ssap={}, service_name={}, service_name_len={snsz}",
        xv_verbose(abi, T::NfcSaps, u64::from(b[16]), false),
        xv_verbose(abi, T::NfcSaps, u64::from(b[17]), false),
        fmt::quote(sl(b, 18, snsz.min(63) as usize), false)
    ));
    s
}

fn vsock(abi: LinuxAbi, b: &[u8]) -> String {
    let f = Fields::new(b, 4);
    let mut s = String::new();
    if f.u16(2) != 0 {
        s.push_str(&format!("svm_reserved1={:#x}, ", f.u16(2)));
    }
    s.push_str(&format!(
        "svm_cid={}, svm_port={}, svm_flags={}",
        xv(abi, T::VsockCids, f.u32(8), false),
        xv(abi, T::VsockPorts, f.u32(4), false),
        flags(abi, T::VsockFlags, u64::from(b[12]))
    ));
    let zero = sl(b, 13, 3);
    if zero.iter().any(|&c| c != 0) {
        s.push_str(&format!(", svm_zero={}", fmt::quote_hex(zero, false)));
    }
    s
}

fn qrtr(abi: LinuxAbi, b: &[u8]) -> String {
    let f = Fields::new(b, 4);
    format!(
        "sq_node={}, sq_port={}",
        xv(abi, T::QipcrtrNodes, f.u32(4), false),
        xv(abi, T::QipcrtrPorts, f.u32(8), false)
    )
}

/// `AF_XDP`'s fields but a shared umem's descriptor (see [`xdp_fd`]).
fn xdp(abi: LinuxAbi, b: &[u8]) -> String {
    let f = Fields::new(b, 4);
    let fl = f.u16(2);
    let fd = f.u32(12);
    let mut s = format!(
        "sxdp_flags={}, sxdp_ifindex={}, sxdp_queue_id={}",
        flags(abi, T::XdpSockaddrFlags, fl),
        ifindex(f.u32(4)),
        f.u32(8)
    );
    if xdp_fd(b).is_none() && fd != 0 {
        s.push_str(&format!(", sxdp_shared_umem_fd={fd:#x}"));
    }
    s
}

/// The descriptor of the socket whose umem an `AF_XDP` address shares
/// (flag `XDP_SHARED_UMEM`), a field of its own so that `-y` names it.
pub(crate) fn xdp_fd(b: &[u8]) -> Option<i64> {
    let f = Fields::new(b, 4);
    let shared = T::XdpSockaddrFlags
        .xlat()
        .value_of(LinuxAbi::X86_64, "XDP_SHARED_UMEM")
        .unwrap_or(1);
    (f.u16(0) == 44 && f.u16(2) & shared != 0).then(|| f.i32(12))
}

fn mctp(abi: LinuxAbi, b: &[u8]) -> String {
    let f = Fields::new(b, 4);
    let mut s = String::new();
    if f.u16(2) != 0 {
        s.push_str(&format!("__smctp_pad0={:#x}, ", f.u16(2)));
    }
    s.push_str(&format!(
        "smctp_network={}, smctp_addr={{s_addr={}}}, smctp_type={}, smctp_tag={}",
        xv(abi, T::MctpNets, f.u32(4), false),
        xv(abi, T::MctpAddrs, u64::from(b[8]), false),
        fmt::hex0(u64::from(b[9])),
        fmt::hex0(u64::from(b[10]))
    ));
    if b[11] != 0 {
        s.push_str(&format!(", __smctp_pad1={:#x}", b[11]));
    }
    s
}

/// How an AX.25 callsign can be shown: by name, with its bytes too
/// (something in it is not a plain callsign), or by its bytes only (it
/// holds characters a name cannot carry).
fn ax25_style(call: &[u8]) -> Option<ConstStyle> {
    let mut odd = false;
    let (mut space, mut chars) = (false, false);
    for &b in &call[..6] {
        odd |= b & 1 != 0;
        let c = b >> 1;
        if c == b' ' {
            space = true;
        } else {
            chars = true;
        }
        odd |= !(c.is_ascii_digit() || c.is_ascii_uppercase() || c == b' ');
        odd |= c != b' ' && space;
        if !(b' '..=0x7e).contains(&c) || c == b'*' || c == b'/' {
            return Some(ConstStyle::Raw);
        }
    }
    odd |= call[6] & !0x1e != 0 || (!chars && call[6] != 0);
    odd.then_some(ConstStyle::Verbose)
}

/// A callsign as text: its letters (trailing spaces cut), `-` and the
/// SSID; `*` for an empty one.
fn ax25_name(call: &[u8]) -> String {
    let end = (0..6)
        .rev()
        .find(|&i| call[i] >> 1 != b' ')
        .map_or(0, |i| i + 1);
    let mut s: String = call[..end].iter().map(|&b| char::from(b >> 1)).collect();
    s.push_str(&format!("-{}", (call[6] >> 1) & 0xf));
    if s == "-0" {
        "*".into()
    } else {
        s
    }
}

fn ax25_addr(call: &[u8]) -> String {
    let st = ax25_style(call).unwrap_or_else(style);
    let bytes = format!("{{ax25_call={}}}", fmt::quote_hex(call, false));
    match st {
        ConstStyle::Raw => bytes,
        ConstStyle::Abbrev => ax25_name(call),
        ConstStyle::Verbose => format!("{bytes} /* {} */", ax25_name(call)),
    }
}

/// `sockaddr_ax25` (callsign, digipeater count), or the full form with
/// its digipeaters when it has some or the length goes past it.
fn ax25(b: &[u8], len: usize) -> String {
    const DIGI: usize = 7;
    const MAX_DIGIS: usize = 8;
    let ndigis = Fields::new(b, 4).u32(12) as i32;
    let full = ndigis != 0 || len > 16;
    let head = format!(
        "sax25_call={}, sax25_ndigis={ndigis}",
        ax25_addr(sl(b, 2, DIGI))
    );
    if !full {
        return head;
    }
    let mut s = format!("fsa_ax25={{{head}}}");
    let has = ((len - 16) / DIGI).min(MAX_DIGIS);
    let want = (ndigis.max(0) as usize).min(MAX_DIGIS);
    if want > 0 {
        let mut items: Vec<String> = (0..has.min(want))
            .map(|i| ax25_addr(sl(b, 16 + i * DIGI, DIGI)))
            .collect();
        if want > has {
            items.push("...".into());
        }
        s.push_str(&format!(", fsa_digipeater=[{}]", items.join(", ")));
    }
    if len > has * DIGI + 16 {
        s.push_str(", ...");
    }
    s
}

fn x25(b: &[u8]) -> String {
    format!("sx25_addr={{x25_addr={}}}", cstring(sl(b, 2, 16), 16))
}

/// A family's printer of the fields after `sa_family` (ABI, zero-padded
/// bytes, length).
type FamilyPrinter = fn(LinuxAbi, &[u8], usize) -> String;

/// The fields after `sa_family` of the address `b` (zero-padded to at
/// least 129 bytes) of `len` bytes, or `None` when its family has no
/// printer or the length is below the family's minimum.
pub(crate) fn fields(abi: LinuxAbi, family: u16, b: &[u8], len: usize) -> Option<String> {
    let nfc_min = 16;
    let (min, text): (usize, FamilyPrinter) = match family {
        1 => (3, |_, b, l| un(b, l)),
        2 => (16, |_, b, _| inet(b)),
        3 => (16, |_, b, l| ax25(b, l)),
        4 => (16, |_, b, _| ipx(b)),
        9 => (18, |_, b, _| x25(b)),
        10 => (24, |_, b, l| inet6(b, l)),
        16 => (12, |_, b, _| netlink(b)),
        17 => (20, packet),
        31 => (3, bluetooth),
        33 => (36, rxrpc),
        36 => (20, |a, b, _| ieee802154(a, b)),
        38 => (25, alg),
        39 => (nfc_min, nfc),
        40 => (16, |a, b, _| vsock(a, b)),
        42 => (12, |a, b, _| qrtr(a, b)),
        44 => (16, |a, b, _| xdp(a, b)),
        45 => (12, |a, b, _| mctp(a, b)),
        _ => return None,
    };
    (len >= min && b.len() >= 129).then(|| text(abi, b, len))
}
