//! Socket messages: `struct msghdr` (sendmsg, recvmsg) with its name,
//! iovec and control messages (`SCM_RIGHTS`, `SCM_CREDENTIALS`...), and
//! `struct mmsghdr` vectors (sendmmsg, recvmmsg).

use super::{Call, Fields, StructKind};
use crate::consts::Names;
use crate::fmt;

/// Socket levels of control messages. TODO: generated table.
static SOCKET_LEVELS: Names = &[
    (0, "SOL_IP"),
    (1, "SOL_SOCKET"),
    (6, "SOL_TCP"),
    (17, "SOL_UDP"),
    (41, "SOL_IPV6"),
    (58, "SOL_ICMPV6"),
    (132, "SOL_SCTP"),
    (136, "SOL_UDPLITE"),
    (255, "SOL_RAW"),
];

/// `SOL_SOCKET` control message types. TODO: generated table.
static SCM_TYPES: Names = &[
    (1, "SCM_RIGHTS"),
    (2, "SCM_CREDENTIALS"),
    (3, "SCM_SECURITY"),
    (29, "SO_TIMESTAMP_OLD"),
    (35, "SO_TIMESTAMPNS_OLD"),
    (37, "SO_TIMESTAMPING_OLD"),
    (41, "SO_WIFI_STATUS"),
    (61, "SO_TXTIME"),
    (63, "SO_TIMESTAMP_NEW"),
    (64, "SO_TIMESTAMPNS_NEW"),
    (65, "SO_TIMESTAMPING_NEW"),
];

/// `SOL_IP` control message types (strace's `ip_cmsg_types`).
static IP_CMSG_TYPES: Names = &[
    (1, "IP_TOS"),
    (2, "IP_TTL"),
    (3, "SCM_SECURITY"),
    (6, "IP_RECVOPTS"),
    (7, "IP_RETOPTS"),
    (8, "IP_PKTINFO"),
    (11, "IP_RECVERR"),
    (20, "IP_ORIGDSTADDR"),
    (23, "IP_CHECKSUM"),
];

/// An array of a control message's elements as strace's
/// `print_local_array_ex` prints it: at most `limit` elements (`-s`,
/// none with `-v`), then `...`.
fn local_array(items: impl Iterator<Item = String>, limit: Option<usize>) -> String {
    let mut out = Vec::new();
    for (k, it) in items.enumerate() {
        if limit.is_some_and(|l| k >= l) {
            out.push("...".to_string());
            break;
        }
        out.push(it);
    }
    format!("[{}]", out.join(", "))
}

/// An IPv4 address in network order as strace prints a field of one.
fn inet_addr(b: &[u8]) -> String {
    format!("inet_addr(\"{}.{}.{}.{}\")", b[0], b[1], b[2], b[3])
}

/// The data of a `SOL_IP` control message (strace's `cmsg_ip_printers`,
/// each with its least length).
fn ip_cmsg_data(ty: u64, data: &[u8], limit: Option<usize>) -> Option<String> {
    let f = Fields::new(data, 4);
    let u32s = || (0..data.len() / 4).map(|k| Fields::new(data, 4).u32(k * 4).to_string());
    match ty {
        // struct in_pktinfo.
        8 if data.len() >= 12 => Some(format!(
            "{{ipi_ifindex={}, ipi_spec_dst={}, ipi_addr={}}}",
            super::sockaddr_fam::ifindex(f.u32(0)),
            inet_addr(&data[4..8]),
            inet_addr(&data[8..12])
        )),
        2 | 23 if data.len() >= 4 => Some(local_array(u32s(), limit)),
        1 | 6 | 7 if !data.is_empty() => Some(local_array(
            // `%#x`: a zero is `0`.
            data.iter().map(|&b| {
                if b == 0 {
                    "0".into()
                } else {
                    format!("{b:#x}")
                }
            }),
            limit,
        )),
        // struct sock_ee, then the offender's sockaddr_in.
        11 if data.len() >= 32 => Some(format!(
            "{{ee_errno={}, ee_origin={}, ee_type={}, ee_code={}, ee_info={}, ee_data={}, \
             offender={}}}",
            f.u32(0),
            data[4],
            data[5],
            data[6],
            f.u32(8),
            f.u32(12),
            super::sockaddr::format(&data[16..32])
        )),
        20 if !data.is_empty() => Some(super::sockaddr::format(&data[..data.len().min(128)])),
        3 if !data.is_empty() => Some(fmt::quote(data, false)),
        _ => None,
    }
}

/// `MSG_*` flags (of `msg_flags`), as the argument decoders name them.
fn msg_flags(v: u64) -> String {
    fmt::flags(v, crate::consts::MSG_FLAGS, "0")
}

/// A parsed `struct msghdr` of either ABI.
struct Msghdr {
    name: u64,
    namelen: u32,
    iov: u64,
    iovlen: u64,
    control: u64,
    controllen: u64,
    flags: u64,
}

/// Size of `struct msghdr` for a `long` of `n` bytes.
fn msghdr_size(n: usize) -> usize {
    7 * n
}

fn parse(b: &[u8], n: usize) -> Msghdr {
    let f = Fields::new(b, n);
    Msghdr {
        name: f.ulong(0),
        namelen: f.u32(n) as u32,
        iov: f.ulong(2 * n),
        iovlen: f.ulong(3 * n),
        control: f.ulong(4 * n),
        controllen: f.ulong(5 * n),
        flags: f.u32(6 * n),
    }
}

/// `[{iov_base="...", iov_len=N}, ...]`, data shown up to `limit` bytes
/// in all (`None`: no limit), each at most `-s` bytes.
pub(super) fn iovec(c: &mut Call<'_, '_>, va: u64, count: u64, limit: Option<u64>) -> String {
    let n = c.long_size();
    let mut left = limit;
    c.array(va, count, 2 * n, |c, b| {
        let f = Fields::new(b, n);
        let (base, len) = (f.ulong(0), f.ulong(n));
        let show = match left {
            Some(l) => {
                let d = len.min(l);
                left = Some(l - d);
                d
            }
            None => len,
        };
        let data = c.quoted(base, show);
        format!("{{iov_base={data}, iov_len={len}}}")
    })
}

/// The data of one control message (`n`: the caller's `long` size).
fn cmsg_data(level: u64, ty: u64, data: &[u8], n: usize, limit: Option<usize>) -> Option<String> {
    use super::time::{tv_at, Width};
    if level == 0 {
        return ip_cmsg_data(ty, data, limit);
    }
    if level != 1 {
        return None;
    }
    let f = Fields::new(data, 4);
    // strace prints the data of these types when there is any: `???`
    // when it is shorter than the structure(s).
    let time = |w: Width, usec: bool| {
        (!data.is_empty()).then(|| {
            if data.len() >= w.pair() {
                tv_at(data, 0, w, usec)
            } else {
                "???".to_string()
            }
        })
    };
    // SO_TIMESTAMPING_*: three timespecs.
    let three = |w: Width| {
        (!data.is_empty()).then(|| {
            if data.len() >= 3 * w.pair() {
                let t: Vec<String> = (0..3)
                    .map(|k| tv_at(data, k * w.pair(), w, false))
                    .collect();
                format!("[{}]", t.join(", "))
            } else {
                "???".to_string()
            }
        })
    };
    match ty {
        // SO_TIMESTAMP{,NS}_{OLD,NEW}: the ABI's timeval/timespec, or
        // the 64-bit ones.
        29 => time(Width::Long(n), true),
        35 => time(Width::Long(n), false),
        37 => three(Width::Long(n)),
        63 => time(Width::Wide, true),
        64 => time(Width::Wide, false),
        65 => three(Width::Wide),
        1 if data.len() >= 4 => Some(local_array(
            (0..data.len() / 4).map(|k| f.i32(k * 4).to_string()),
            limit,
        )),
        2 if data.len() >= 12 => Some(format!(
            "{{pid={}, uid={}, gid={}}}",
            f.i32(0),
            f.u32(4),
            f.u32(8)
        )),
        3 if !data.is_empty() => Some(fmt::quote(data, false)),
        _ => None,
    }
}

/// `msg_control=[{cmsg_len=..., cmsg_level=..., cmsg_type=..., cmsg_data=...}]`.
fn control(c: &mut Call<'_, '_>, va: u64, in_len: u64) -> String {
    let n = c.long_size();
    // cmsghdr: cmsg_len (size_t), cmsg_level (int), cmsg_type (int).
    let hdr = n + 8;
    // strace reads at most the kernel's optmem_max (10240 on a 32-bit
    // kernel, 20480 on a 64-bit one, whatever the caller's ABI).
    let len = in_len.min(crate::tracer::optmem_max()) as usize;
    if len < hdr {
        return fmt::ptr(va);
    }
    let b = match c.fetch(va, len) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let mut parts = Vec::new();
    let mut at = 0usize;
    let mut buf_len = len;
    // Each message advances by at least one header: bounded by len.
    while buf_len >= hdr {
        let f = Fields::new(&b[at..], n);
        let cmsg_len = f.ulong(0);
        let level = f.u32(n);
        let ty = f.u32(n + 4);
        let l = (cmsg_len as usize).min(buf_len);
        let data = if l > hdr {
            &b[at + hdr..at + l]
        } else {
            &[][..]
        };
        let mut s = format!(
            "{{cmsg_len={cmsg_len}, cmsg_level={}, cmsg_type=",
            super::resource::xval(level, SOCKET_LEVELS, "SOL_???")
        );
        if level == 1 {
            s.push_str(&super::resource::xval(ty, SCM_TYPES, "SCM_???"));
        } else if level == 0 {
            s.push_str(&super::resource::xval(ty, IP_CMSG_TYPES, "IP_???"));
        } else {
            s.push_str(&format!("{ty:#x}"));
        }
        let limit = (!c.opts.verbose).then_some(c.opts.strsize);
        if let Some(d) = cmsg_data(level, ty, data, n, limit) {
            s.push_str(&format!(", cmsg_data={d}"));
        }
        s.push('}');
        parts.push(s);
        if l < hdr {
            buf_len -= hdr;
            break;
        }
        let adv = (cmsg_len as usize).saturating_add(n - 1) & !(n - 1);
        if adv >= buf_len {
            buf_len = 0;
            break;
        }
        at += adv;
        buf_len -= adv;
    }
    if buf_len > 0 {
        parts.push(format!(
            "... /* {} */",
            fmt::ptr(va.wrapping_add((len - buf_len) as u64))
        ));
    } else if (len as u64) < in_len {
        parts.push("...".into());
    }
    format!("[{}]", parts.join(", "))
}

/// A msghdr's fields, strace-style; `user_namelen`: the name length the
/// caller gave (recvmsg), shown as `110 => 36` when the kernel changed it.
fn render(
    c: &mut Call<'_, '_>,
    m: &Msghdr,
    user_namelen: Option<i64>,
    data: Option<u64>,
) -> String {
    let kernel = m.namelen as i32 as i64;
    let shown = match user_namelen {
        Some(u) if kernel > u => u,
        _ => kernel,
    };
    let name = super::sockaddr::at(c, m.name, shown);
    let namelen = match user_namelen {
        Some(u) if u != kernel => format!("{u} => {kernel}"),
        _ => kernel.to_string(),
    };
    let iov = iovec(c, m.iov, m.iovlen, data);
    let mut s = format!(
        "{{msg_name={name}, msg_namelen={namelen}, msg_iov={iov}, msg_iovlen={}",
        m.iovlen
    );
    if m.controllen != 0 {
        let ctl = control(c, m.control, m.controllen);
        s.push_str(&format!(", msg_control={ctl}"));
    }
    s.push_str(&format!(
        ", msg_controllen={}, msg_flags={}}}",
        m.controllen,
        msg_flags(m.flags)
    ));
    s
}

fn msghdr(c: &mut Call<'_, '_>, v: u64, user_namelen: Option<i64>, data: Option<u64>) -> String {
    let n = c.long_size();
    match c.fetch(v, msghdr_size(n)) {
        Ok(b) => {
            let m = parse(&b, n);
            render(c, &m, user_namelen, data)
        }
        Err(s) => s,
    }
}

/// The name length recvmsg's entry text recorded (`{msg_namelen=N}`).
fn entry_namelen(entry: Option<&str>) -> Option<i64> {
    entry?
        .strip_prefix("{msg_namelen=")?
        .strip_suffix('}')?
        .parse()
        .ok()
}

/// An mmsghdr vector: `count` elements, `msg_len` shown for the first
/// `with_len` of them.
fn mmsgvec(c: &mut Call<'_, '_>, v: u64, count: u64, with_len: u64, recv: bool) -> String {
    let n = c.long_size();
    let size = msghdr_size(n) + n;
    // recvmmsg: the name lengths offered, as the entry text recorded them.
    let offered: Vec<i64> = match c.entry() {
        Some(e) if recv => e
            .split("msg_namelen=")
            .skip(1)
            .filter_map(|t| t.split('}').next()?.parse().ok())
            .collect(),
        _ => Vec::new(),
    };
    let mut k = 0u64;
    // strace's mmsghdr printer stops after IOV_MAX (1024) elements.
    c.array_max(v, count, size, 1024, |c, b| {
        let m = parse(b, n);
        let data = if recv {
            Some(Fields::new(b, n).u32(msghdr_size(n)))
        } else {
            None
        };
        let user = offered.get(k as usize).copied();
        let hdr = render(c, &m, user, data);
        let mut s = format!("{{msg_hdr={hdr}");
        if k < with_len {
            s.push_str(&format!(
                ", msg_len={}",
                Fields::new(b, n).u32(msghdr_size(n))
            ));
        }
        k += 1;
        s.push('}');
        s
    })
}

/// Decodes the message structures of [`super::decode`].
pub(crate) fn decode(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> String {
    match kind {
        StructKind::Msghdr => msghdr(c, v, None, None),
        StructKind::MsghdrRecv => match c.ret {
            // At the entry: the name length the caller offers (also what
            // strace shows when the call fails).
            None => {
                let n = c.long_size();
                match c.fetch(v, msghdr_size(n)) {
                    Ok(b) => format!("{{msg_namelen={}}}", parse(&b, n).namelen as i32),
                    Err(s) => s,
                }
            }
            Some(_) if c.failed() => c.entry().map_or_else(|| fmt::ptr(v), str::to_string),
            Some(r) => {
                let user = entry_namelen(c.entry());
                msghdr(c, v, user, Some(r.max(0) as u64))
            }
        },
        StructKind::SockoptIn(a) => {
            let len = c.arg(a) as u32 as i32 as i64;
            super::sockopt::set_value(c, v, len)
        }
        // Shown as long as the kernel says it wrote (no longer than the
        // caller's buffer, its length shown at the entry as `[N]`).
        StructKind::SockoptOut(a) => {
            let Ok(b) = c.fetch(c.arg(a), 4) else {
                return fmt::ptr(v);
            };
            let rlen = Fields::new(&b, 4).i32(0);
            let ulen = c
                .entry_of(a as usize)
                .and_then(|t| t.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
                .unwrap_or(rlen);
            super::sockopt::get_value(c, v, ulen, rlen)
        }
        StructKind::Mmsghdrs => match c.ret {
            None => fmt::ptr(v),
            Some(r) => {
                let with_len = if c.failed() { 0 } else { r.max(0) as u64 };
                let count = c.arg(2) & 0xffff_ffff;
                mmsgvec(c, v, count, with_len, false)
            }
        },
        StructKind::MmsghdrsRecv => match c.ret {
            // At the entry: the name lengths offered (what the exit
            // compares with).
            None => {
                let n = c.long_size();
                let count = c.arg(2) & 0xffff_ffff;
                c.array(v, count, msghdr_size(n) + n, |_, b| {
                    format!("{{msg_hdr={{msg_namelen={}}}}}", parse(b, n).namelen as i32)
                })
            }
            Some(r) if !c.failed() => {
                let count = (r.max(0) as u64).min(c.arg(2) & 0xffff_ffff);
                mmsgvec(c, v, count, count, true)
            }
            _ => fmt::ptr(v),
        },
        _ => fmt::ptr(v),
    }
}
