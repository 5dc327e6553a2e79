//! `NETLINK_SOCK_DIAG` messages: the requests and answers of the socket
//! families the kernel reports on (`unix_diag_req`/`unix_diag_msg`,
//! `inet_diag_req_v2` and the older `inet_diag_req`, `inet_diag_msg`,
//! `netlink_diag_req`/`netlink_diag_msg`), by the first byte's family
//! and whether the message is a request, with their attributes; other
//! families as `{family=AF_..., data="\x.."}`.

use super::netlink::{Header, Nl, NLM_F_REQUEST};
use super::netlink_fields::{le, F};
use super::nlattr::{self, Attrs, Kind, St};
use crate::xlat::Table as T;

const AF_UNIX: u8 = 1;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const AF_NETLINK: u8 = 16;
const AF_PACKET: u8 = 17;
const AF_SMC: u8 = 43;
/// `TCPDIAG_GETSOCK`, `DCCPDIAG_GETSOCK`: requests in the older
/// `struct inet_diag_req` layout.
const TCPDIAG_GETSOCK: u16 = 18;
const DCCPDIAG_GETSOCK: u16 = 19;
/// `NDIAG_PROTO_ALL`.
const NDIAG_PROTO_ALL: u64 = 0xff;

/// A sock_diag message of `len` bytes at `addr`.
pub(crate) fn decode(nl: &mut Nl<'_, '_>, h: &Header, addr: u64, len: u64) {
    let Some(b) = nl.read(addr, 1) else {
        return nl.addr(addr);
    };
    let family = b[0];
    let request = h.flags & NLM_F_REQUEST != 0;
    if len > 1 {
        match (family, request) {
            (AF_UNIX, true) => return unix_req(nl, addr, len),
            (AF_UNIX, false) => return unix_msg(nl, addr, len),
            (AF_INET | AF_INET6, true) => return inet_req(nl, h, family, addr, len),
            (AF_INET | AF_INET6, false) => return inet_msg(nl, family, addr, len),
            (AF_NETLINK, true) => return netlink_req(nl, addr, len),
            (AF_NETLINK, false) => return netlink_msg(nl, addr, len),
            (AF_PACKET, true) => return packet_req(nl, addr, len),
            (AF_PACKET, false) => return packet_msg(nl, addr, len),
            (AF_SMC, true) => return smc_req(nl, addr, len),
            (AF_SMC, false) => return smc_msg(nl, addr, len),
            _ => {}
        }
    }
    family_data(nl, family, addr, len);
}

/// `{family=AF_..., data="\x.."}`: a message of a family without a
/// decoder (shared with route messages).
pub(crate) fn family_data(nl: &mut Nl<'_, '_>, family: u8, addr: u64, len: u64) {
    nl.put("{family=");
    nl.xval(T::Addrfams, u64::from(family));
    if len > 1 {
        nl.put(", data=");
        nl.hex(addr.wrapping_add(1), len - 1);
    }
    nl.put("}");
}

/// Attributes after a header of `size` bytes, when there are some.
pub(crate) fn attrs_after(
    nl: &mut Nl<'_, '_>,
    shown: bool,
    addr: u64,
    len: u64,
    size: u64,
    attrs: &Attrs,
) {
    let off = (size + 3) & !3;
    if shown && len > off {
        nl.put(", ");
        nlattr::list(nl, addr.wrapping_add(off), len - off, attrs);
    }
}

fn unix_req(nl: &mut Nl<'_, '_>, addr: u64, len: u64) {
    const FIELDS: &[F] = &[
        F::U("sdiag_protocol", 1, 1),
        F::Flags("udiag_states", 4, 4, T::TcpStateFlags),
        F::U("udiag_ino", 8, 4),
        F::Flags("udiag_show", 12, 4, T::UnixDiagShow),
        F::Cookie("udiag_cookie", 16),
    ];
    nl.family_struct("sdiag_family", AF_UNIX, addr, len, 24, FIELDS);
}

fn unix_msg(nl: &mut Nl<'_, '_>, addr: u64, len: u64) {
    const FIELDS: &[F] = &[
        F::Xval("udiag_type", 1, 1, T::Socktypes),
        F::Xval("udiag_state", 2, 1, T::TcpStates),
        F::U("udiag_ino", 4, 4),
        F::Cookie("udiag_cookie", 8),
    ];
    static ATTRS: Attrs = Attrs::new(
        T::UnixDiagAttrs,
        &[
            Kind::Str,
            Kind::Custom(unix_vfs),
            Kind::U32,
            Kind::Custom(u32_list),
            Kind::Custom(unix_rqlen),
            Kind::MemInfo,
            Kind::U8,
            Kind::Uid,
        ],
    );
    let shown = nl.family_struct("udiag_family", AF_UNIX, addr, len, 16, FIELDS);
    attrs_after(nl, shown, addr, len, 16, &ATTRS);
}

/// A fixed structure of `size` bytes shown by `fields` (false when the
/// data is shorter: hex then).
fn plain_struct(nl: &mut Nl<'_, '_>, addr: u64, len: u64, size: u64, fields: &[F]) -> bool {
    if len < size {
        return false;
    }
    match nl.read(addr, size) {
        Some(b) => {
            nl.put("{");
            nl.fields(&b, fields);
            nl.put("}");
        }
        None => nl.addr(addr),
    }
    true
}

fn unix_vfs(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    if len < 8 {
        return false;
    }
    match nl.read(addr, 8) {
        Some(b) => {
            // struct unix_diag_vfs: the inode first, then the device.
            let dev = le(&b, 4, 4);
            // strace splits it as the C library's major()/minor() do.
            let major = (dev >> 8) & 0xfff;
            let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
            let x = |v: u64| {
                if v == 0 {
                    "0".to_string()
                } else {
                    format!("{v:#x}")
                }
            };
            let s = format!(
                "{{udiag_vfs_dev=makedev({}, {}), udiag_vfs_ino={}}}",
                x(major),
                x(minor),
                le(&b, 0, 4)
            );
            nl.put(&s);
        }
        None => nl.addr(addr),
    }
    true
}

fn unix_rqlen(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    plain_struct(
        nl,
        addr,
        len,
        8,
        &[F::U("udiag_rqueue", 0, 4), F::U("udiag_wqueue", 4, 4)],
    )
}

/// `u32` values as an array.
fn u32_list(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    if len < 4 {
        return false;
    }
    nlattr::u_array(nl, addr, len, 4, None);
    true
}

/// `struct inet_diag_bc_op`'s fields.
const BC_OP: &[F] = &[
    F::Xval("code", 0, 1, T::InetDiagBytecodes),
    F::U("yes", 1, 1),
    F::U("no", 2, 2),
];

/// `INET_DIAG_REQ_BYTECODE`: an operation, then the data its code
/// takes.
fn bc_op(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    if len < 4 {
        return false;
    }
    let Some(b) = nl.read(addr, 4) else {
        nl.addr(addr);
        return true;
    };
    nl.put("{");
    nl.fields(&b, BC_OP);
    nl.put("}");
    if len > 4 {
        nl.put(", ");
        bc_data(nl, addr.wrapping_add(4), len - 4, b[0]);
    }
    true
}

/// The data after a bytecode operation, by its code (strace's
/// `decode_bytecode_data`); too short for it: hex.
fn bc_data(nl: &mut Nl<'_, '_>, addr: u64, len: u64, code: u8) {
    // INET_DIAG_BC_S_COND, D_COND, DEV_COND, S_GE, S_LE, D_GE, D_LE,
    // MARK_COND.
    let size = match code {
        7 | 8 => 8,
        9 => 4,
        2..=5 => 4,
        10 => 8,
        _ => return nl.hex(addr, len),
    };
    if len < size {
        return nl.hex(addr, len);
    }
    let Some(b) = nl.read(addr, size) else {
        return nl.addr(addr);
    };
    match code {
        7 | 8 => {
            // struct inet_diag_hostcond, then an address of its family.
            nl.put("{family=");
            nl.xval(T::Addrfams, u64::from(b[0]));
            let s = format!(", prefix_len={}, port={}", b[1], le(&b, 4, 4));
            nl.put(&s);
            if len > size {
                nl.put(", ");
                nl.inet_addr_at(addr.wrapping_add(size), len - size, b[0], "addr");
            }
            nl.put("}");
        }
        9 => nl.ifindex(le(&b, 0, 4) as u32),
        10 => {
            let s = format!("{{mark={}, mask={}}}", le(&b, 0, 4), le(&b, 4, 4));
            nl.put(&s);
        }
        _ => {
            nl.put("{");
            nl.fields(&b, BC_OP);
            nl.put("}");
        }
    }
}

fn inet_req(nl: &mut Nl<'_, '_>, h: &Header, family: u8, addr: u64, len: u64) {
    static ATTRS: Attrs = Attrs::new(
        T::InetDiagReqAttrs,
        &[
            Kind::Hex,
            Kind::Custom(bc_op),
            Kind::Hex,
            Kind::Xval(T::InetProtocols),
        ],
    );
    if h.ty == TCPDIAG_GETSOCK || h.ty == DCCPDIAG_GETSOCK {
        const FIELDS: &[F] = &[
            F::U("idiag_src_len", 1, 1),
            F::U("idiag_dst_len", 2, 1),
            F::Flags("idiag_ext", 3, 1, T::InetDiagExtendedFlags),
            F::Sockid("id", 4, None),
            F::Flags("idiag_states", 52, 4, T::TcpStateFlags),
            F::U("idiag_dbs", 56, 4),
        ];
        let shown = nl.family_struct("idiag_family", family, addr, len, 60, FIELDS);
        return attrs_after(
            nl,
            shown,
            addr,
            len,
            60,
            &Attrs::new(T::InetDiagReqAttrs, &[]),
        );
    }
    const FIELDS: &[F] = &[
        F::Xval("sdiag_protocol", 1, 1, T::InetProtocols),
        F::Flags("idiag_ext", 2, 1, T::InetDiagExtendedFlags),
        F::Flags("idiag_states", 4, 4, T::TcpStateFlags),
        F::Sockid("id", 8, None),
    ];
    let shown = nl.family_struct("sdiag_family", family, addr, len, 56, FIELDS);
    attrs_after(nl, shown, addr, len, 56, &ATTRS);
}

fn inet_msg(nl: &mut Nl<'_, '_>, family: u8, addr: u64, len: u64) {
    const FIELDS: &[F] = &[
        F::Xval("idiag_state", 1, 1, T::TcpStates),
        F::U("idiag_timer", 2, 1),
        F::U("idiag_retrans", 3, 1),
        F::Sockid("id", 4, None),
        F::U("idiag_expires", 52, 4),
        F::U("idiag_rqueue", 56, 4),
        F::U("idiag_wqueue", 60, 4),
        F::U("idiag_uid", 64, 4),
        F::U("idiag_inode", 68, 4),
    ];
    static ATTRS: Attrs = Attrs::new(
        T::InetDiagAttrs,
        &[
            Kind::Hex,                     // INET_DIAG_NONE
            Kind::Custom(inet_meminfo),    // INET_DIAG_MEMINFO
            Kind::Hex,                     // INET_DIAG_INFO
            Kind::Struct(&TCPVEGAS_INFO),  // INET_DIAG_VEGASINFO
            Kind::Str,                     // INET_DIAG_CONG
            Kind::U8,                      // INET_DIAG_TOS
            Kind::U8,                      // INET_DIAG_TCLASS
            Kind::MemInfo,                 // INET_DIAG_SKMEMINFO
            Kind::Custom(shutdown),        // INET_DIAG_SHUTDOWN
            Kind::Struct(&TCP_DCTCP_INFO), // INET_DIAG_DCTCPINFO
            Kind::Xval(T::InetProtocols),  // INET_DIAG_PROTOCOL
            Kind::U8,                      // INET_DIAG_SKV6ONLY
            Kind::Custom(sockaddrs),       // INET_DIAG_LOCALS
            Kind::Custom(sockaddrs),       // INET_DIAG_PEERS
            Kind::Hex,                     // INET_DIAG_PAD
            Kind::U32,                     // INET_DIAG_MARK
            Kind::Struct(&TCP_BBR_INFO),   // INET_DIAG_BBRINFO
            Kind::U32,                     // INET_DIAG_CLASS_ID
            Kind::Custom(md5sigs),         // INET_DIAG_MD5SIG
            Kind::Nested(&ULP_INFO),       // INET_DIAG_ULP_INFO
            Kind::Nested(&BPF_STORAGES),   // INET_DIAG_SK_BPF_STORAGES
            Kind::U64,                     // INET_DIAG_CGROUP_ID
            Kind::Custom(sockopt),         // INET_DIAG_SOCKOPT
        ],
    );
    let shown = nl.family_struct("idiag_family", family, addr, len, 72, FIELDS);
    attrs_after(nl, shown, addr, len, 72, &ATTRS);
}

/// `struct tcpvegas_info` (`INET_DIAG_VEGASINFO`).
static TCPVEGAS_INFO: St = St::new(
    16,
    &[
        F::U("tcpv_enabled", 0, 4),
        F::U("tcpv_rttcnt", 4, 4),
        F::U("tcpv_rtt", 8, 4),
        F::U("tcpv_minrtt", 12, 4),
    ],
);

/// `struct tcp_dctcp_info` (`INET_DIAG_DCTCPINFO`).
static TCP_DCTCP_INFO: St = St::new(
    16,
    &[
        F::U("dctcp_enabled", 0, 2),
        F::U("dctcp_ce_state", 2, 2),
        F::U("dctcp_alpha", 4, 4),
        F::U("dctcp_ab_ecn", 8, 4),
        F::U("dctcp_ab_tot", 12, 4),
    ],
);

/// `struct tcp_bbr_info` (`INET_DIAG_BBRINFO`).
static TCP_BBR_INFO: St = St::new(
    20,
    &[
        F::X("bbr_bw_lo", 0, 4),
        F::X("bbr_bw_hi", 4, 4),
        F::U("bbr_min_rtt", 8, 4),
        F::U("bbr_pacing_gain", 12, 4),
        F::U("bbr_cwnd_gain", 16, 4),
    ],
);

/// TLS's upper-layer protocol information (`INET_ULP_INFO_TLS`).
static ULP_TLS: Attrs = Attrs::new(
    T::InetDiagUlpInfoTlsAttrs,
    &[
        Kind::Hex,                          // TLS_INFO_UNSPEC
        Kind::XvalN(T::TlsInfoVersions, 2), // TLS_INFO_VERSION
        Kind::XvalN(T::TlsInfoCiphers, 2),  // TLS_INFO_CIPHER
        Kind::XvalN(T::TlsInfoConfigs, 2),  // TLS_INFO_TXCONF
        Kind::XvalN(T::TlsInfoConfigs, 2),  // TLS_INFO_RXCONF
    ],
);

/// An MPTCP subflow's information (`INET_ULP_INFO_MPTCP`).
static ULP_MPTCP: Attrs = Attrs::new(
    T::InetDiagUlpInfoMptcpAttrs,
    &[
        Kind::Hex,                             // MPTCP_SUBFLOW_ATTR_UNSPEC
        Kind::X32,                             // MPTCP_SUBFLOW_ATTR_TOKEN_REM
        Kind::X32,                             // MPTCP_SUBFLOW_ATTR_TOKEN_LOC
        Kind::U32,                             // MPTCP_SUBFLOW_ATTR_RELWRITE_SEQ
        Kind::U64,                             // MPTCP_SUBFLOW_ATTR_MAP_SEQ
        Kind::U32,                             // MPTCP_SUBFLOW_ATTR_MAP_SFSEQ
        Kind::U32,                             // MPTCP_SUBFLOW_ATTR_SSN_OFFSET
        Kind::U16,                             // MPTCP_SUBFLOW_ATTR_MAP_DATALEN
        Kind::FlagsN(T::MptcpSubflowFlags, 4), // MPTCP_SUBFLOW_ATTR_FLAGS
        Kind::U8,                              // MPTCP_SUBFLOW_ATTR_ID_REM
        Kind::U8,                              // MPTCP_SUBFLOW_ATTR_ID_LOC
    ],
);

/// `INET_DIAG_ULP_INFO`: the upper-layer protocol's name and its own
/// attributes (each ULP has attribute types of its own, as strace
/// relies on).
static ULP_INFO: Attrs = Attrs::new(
    T::InetDiagUlpInfoAttrs,
    &[
        Kind::Hex,                // INET_ULP_INFO_UNSPEC
        Kind::Str,                // INET_ULP_INFO_NAME
        Kind::Nested(&ULP_TLS),   // INET_ULP_INFO_TLS
        Kind::Nested(&ULP_MPTCP), // INET_ULP_INFO_MPTCP
    ],
);

/// One socket-local BPF storage (`SK_DIAG_BPF_STORAGE`).
static BPF_STORAGE: Attrs = Attrs::new(
    T::InetDiagBpfStorageAttrs,
    &[
        Kind::Hex,  // SK_DIAG_BPF_STORAGE_NONE
        Kind::Hex,  // SK_DIAG_BPF_STORAGE_PAD
        Kind::U32,  // SK_DIAG_BPF_STORAGE_MAP_ID
        Kind::XInt, // SK_DIAG_BPF_STORAGE_MAP_VALUE
    ],
);

/// `INET_DIAG_SK_BPF_STORAGES`.
static BPF_STORAGES: Attrs = Attrs::new(
    T::InetDiagBpfStoragesAttrs,
    &[
        Kind::Hex,                  // SK_DIAG_BPF_STORAGE_REP_NONE
        Kind::Nested(&BPF_STORAGE), // SK_DIAG_BPF_STORAGE
    ],
);

/// `INET_DIAG_SOCKOPT`: `struct inet_diag_sockopt`'s bit fields (the
/// zero ones left out unless `-v`), then any non-zero bytes after its
/// two as strace's `print_nonzero_bytes` (`/* bytes 2..3 */ "\x.."`).
fn sockopt(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    const BITS: [&str; 11] = [
        "recverr",
        "is_icsk",
        "freebind",
        "hdrincl",
        "mc_loop",
        "transparent",
        "mc_all",
        "nodefrag",
        "bind_address_no_port",
        "recverr_rfc4884",
        "defer_connect",
    ];
    if len < 2 {
        return false;
    }
    let Some(b) = nl.read(addr, 2) else {
        nl.addr(addr);
        return true;
    };
    let v = u16::from_le_bytes([b[0], b[1]]);
    let mut parts = Vec::new();
    for (i, name) in BITS.iter().enumerate() {
        let bit = (v >> i) & 1;
        if !nl.abbrev() || bit != 0 {
            parts.push(format!("{name}={bit}"));
        }
    }
    let unused = v >> 11;
    if !nl.abbrev() || unused != 0 {
        parts.push(format!("unused={unused:#x} /* bits 3..8 */"));
    }
    let s = format!("{{{}}}", parts.join(", "));
    nl.put(&s);
    // The bytes past the structure, up to a page, when any is not zero.
    let total = len.min(4096);
    if total > 2 {
        let rest = addr.wrapping_add(2);
        match nl.read(rest, total - 2) {
            Some(r) if r.iter().all(|&c| c == 0) => {}
            Some(r) => {
                let n = r.len().min(nl.opts.strsize);
                let s = format!(
                    ", /* bytes 2..{} */ {}",
                    total - 1,
                    crate::fmt::quote_hex(&r[..n], n < r.len())
                );
                nl.put(&s);
            }
            None => nl.put(", ???"),
        }
    }
    true
}

/// `INET_DIAG_LOCALS`, `INET_DIAG_PEERS` (SCTP): an array of
/// `sockaddr_storage`s, each shown as a socket address of its 128 bytes;
/// less than one in hex.
fn sockaddrs(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    const SIZE: u64 = 128;
    if len < SIZE {
        return false;
    }
    nlattr::array_of(nl, addr, len, SIZE, |nl, b| {
        let s = super::sockaddr::value_abi(nl.abi, b).render();
        nl.put(&s);
    });
    true
}

/// `INET_DIAG_MD5SIG`: an array of `struct tcp_diag_md5sig` (family,
/// prefix length, key length, an address of the family, the key bytes
/// up to the key length); less than one in hex.
fn md5sigs(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    const SIZE: u64 = 100;
    if len < SIZE {
        return false;
    }
    nlattr::array_of(nl, addr, len, SIZE, |nl, b| {
        let family = b[0];
        let keylen = usize::from(u16::from_le_bytes([b[2], b[3]]));
        nl.put("{tcpm_family=");
        nl.xval(T::Addrfams, u64::from(family));
        let s = format!(", tcpm_prefixlen={}, tcpm_keylen={keylen}, ", b[1]);
        nl.put(&s);
        nl.inet_addr(&b[4..20], family, "tcpm_addr");
        let key = &b[20..20 + keylen.min(80)];
        let s = format!(", tcpm_key={}}}", crate::fmt::quote_hex(key, false));
        nl.put(&s);
    });
    true
}

/// `INET_DIAG_SHUTDOWN`: one byte of `RCV_SHUTDOWN|SEND_SHUTDOWN`, the
/// number first whatever `-X` says (`0x3 /* RCV_SHUTDOWN|SEND_SHUTDOWN
/// */`, `0x4 /* ???_SHUTDOWN */`, `0`; `-X raw`: the number): strace's
/// decoder forces that style, the names not being part of the uapi.
fn shutdown(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    use vstrace_core::os::ConstStyle;
    let style = match crate::xlat::style() {
        ConstStyle::Raw => ConstStyle::Raw,
        _ => ConstStyle::Verbose,
    };
    crate::xlat::with_style(style, || {
        nlattr::data(nl, Kind::FlagsN(T::SockShutdownFlags, 1), addr, len)
    })
}

fn inet_meminfo(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    plain_struct(
        nl,
        addr,
        len,
        16,
        &[
            F::U("idiag_rmem", 0, 4),
            F::U("idiag_wmem", 4, 4),
            F::U("idiag_fmem", 8, 4),
            F::U("idiag_tmem", 12, 4),
        ],
    )
}

fn netlink_req(nl: &mut Nl<'_, '_>, addr: u64, len: u64) {
    const FIELDS: &[F] = &[
        F::U("ndiag_ino", 4, 4),
        F::Flags("ndiag_show", 8, 4, T::NetlinkDiagShow),
        F::Cookie("ndiag_cookie", 12),
    ];
    nl.put("{sdiag_family=");
    nl.xval(T::Addrfams, u64::from(AF_NETLINK));
    nl.put(", ");
    if len >= 20 {
        match nl.read(addr.wrapping_add(1), 19) {
            Some(rest) => {
                let mut b = vec![AF_NETLINK];
                b.extend_from_slice(&rest);
                nl.put("sdiag_protocol=");
                let p = u64::from(b[1]);
                if p == NDIAG_PROTO_ALL {
                    nl.put("NDIAG_PROTO_ALL");
                } else {
                    nl.xval(T::NetlinkProtocols, p);
                }
                nl.put(", ");
                nl.fields(&b, FIELDS);
            }
            None => nl.addr(addr.wrapping_add(1)),
        }
    } else {
        nl.put("...");
    }
    nl.put("}");
}

fn netlink_msg(nl: &mut Nl<'_, '_>, addr: u64, len: u64) {
    const FIELDS: &[F] = &[
        F::Xval("ndiag_type", 1, 1, T::Socktypes),
        F::Xval("ndiag_protocol", 2, 1, T::NetlinkProtocols),
        F::Xval("ndiag_state", 3, 1, T::NetlinkStates),
        F::U("ndiag_portid", 4, 4),
        F::U("ndiag_dst_portid", 8, 4),
        F::U("ndiag_dst_group", 12, 4),
        F::U("ndiag_ino", 16, 4),
        F::Cookie("ndiag_cookie", 20),
    ];
    static ATTRS: Attrs = Attrs::new(
        T::NetlinkDiagAttrs,
        &[
            Kind::MemInfo,
            Kind::Custom(groups),
            Kind::Custom(ring),
            Kind::Custom(ring),
            Kind::Flags32(T::NetlinkSocketFlags),
        ],
    );
    let shown = nl.family_struct("ndiag_family", AF_NETLINK, addr, len, 28, FIELDS);
    attrs_after(nl, shown, addr, len, 28, &ATTRS);
}

/// Multicast group bits, in words of the caller's `long`.
fn groups(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    let w = nl.abi.word_size();
    if len / w == 0 {
        return false;
    }
    nlattr::array(nl, addr, len, w, |nl, _, v| {
        // C's `%#0*x` with the word's width: zero has no `0x`.
        let width = 2 * w as usize;
        let s = if v == 0 {
            "0".repeat(width)
        } else {
            format!("{v:#0width$x}")
        };
        nl.put(&s);
    });
    true
}

fn ring(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    plain_struct(
        nl,
        addr,
        len,
        16,
        &[
            F::U("ndr_block_size", 0, 4),
            F::U("ndr_block_nr", 4, 4),
            F::U("ndr_frame_size", 8, 4),
            F::U("ndr_frame_nr", 12, 4),
        ],
    )
}

fn packet_req(nl: &mut Nl<'_, '_>, addr: u64, len: u64) {
    const FIELDS: &[F] = &[
        F::X("sdiag_protocol", 1, 1),
        F::U("pdiag_ino", 4, 4),
        F::Flags("pdiag_show", 8, 4, T::PacketDiagShow),
        F::Cookie("pdiag_cookie", 12),
    ];
    nl.family_struct("sdiag_family", AF_PACKET, addr, len, 20, FIELDS);
}

fn packet_msg(nl: &mut Nl<'_, '_>, addr: u64, len: u64) {
    const FIELDS: &[F] = &[
        F::Xval("pdiag_type", 1, 1, T::Socktypes),
        F::Xval("pdiag_num", 2, 2, T::EthernetProtocols),
        F::U("pdiag_ino", 4, 4),
        F::Cookie("pdiag_cookie", 8),
    ];
    use super::nlattr::{Kind as K, St};
    static INFO: St = St::new(
        24,
        &[
            F::Ifindex("pdi_index", 0),
            F::Xval("pdi_version", 4, 4, T::AfPacketVersions),
            F::U("pdi_reserve", 8, 4),
            F::U("pdi_copy_thresh", 12, 4),
            F::U("pdi_tstamp", 16, 4),
            F::Flags("pdi_flags", 20, 4, T::PacketDiagInfoFlags),
        ],
    );
    static RING: St = St::new(
        28,
        &[
            F::U("pdr_block_size", 0, 4),
            F::U("pdr_block_nr", 4, 4),
            F::U("pdr_frame_size", 8, 4),
            F::U("pdr_frame_nr", 12, 4),
            F::U("pdr_retire_tmo", 16, 4),
            F::U("pdr_sizeof_priv", 20, 4),
            F::U("pdr_features", 24, 4),
        ],
    );
    static ATTRS: Attrs = Attrs::new(
        T::PacketDiagAttrs,
        &[
            K::Struct(&INFO),       // PACKET_DIAG_INFO
            K::Custom(mclist),      // PACKET_DIAG_MCLIST
            K::Struct(&RING),       // PACKET_DIAG_RX_RING
            K::Struct(&RING),       // PACKET_DIAG_TX_RING
            K::U32,                 // PACKET_DIAG_FANOUT
            K::Uid,                 // PACKET_DIAG_UID
            K::MemInfo,             // PACKET_DIAG_MEMINFO
            K::Custom(sock_filter), // PACKET_DIAG_FILTER
        ],
    );
    let shown = nl.family_struct("pdiag_family", AF_PACKET, addr, len, 16, FIELDS);
    attrs_after(nl, shown, addr, len, 16, &ATTRS);
}

/// `PACKET_DIAG_MCLIST`: an array of `struct packet_diag_mclist`, each
/// address cut at its length.
fn mclist(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    const SIZE: u64 = 44;
    if len < SIZE {
        return false;
    }
    super::nlattr::array_of(nl, addr, len, SIZE, |nl, b| {
        let alen = (le(b, 10, 2) as usize).min(32);
        nl.put("{");
        nl.fields(
            b,
            &[
                F::Ifindex("pdmc_index", 0),
                F::U("pdmc_count", 4, 4),
                F::U("pdmc_type", 8, 2),
                F::U("pdmc_alen", 10, 2),
                F::HexStr("pdmc_addr", 12, alen),
            ],
        );
        nl.put("}");
    });
    true
}

/// `PACKET_DIAG_FILTER`: socket filter instructions.
fn sock_filter(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    let n = len / 8;
    if n == 0 || n > u64::from(u16::MAX) {
        return false;
    }
    let abi = nl.abi;
    super::nlattr::array_of(nl, addr, n * 8, 8, |nl, b| {
        let s = super::bpf::sock_insn(abi, b);
        nl.put(&s);
    });
    true
}

/// `struct smc_diag_cursor`.
fn smc_cursor(nl: &mut Nl<'_, '_>, b: &[u8]) {
    let s = format!(
        "{{reserved={}, wrap={}, count={}}}",
        le(b, 0, 2),
        le(b, 2, 2),
        le(b, 4, 4)
    );
    nl.put(&s);
}

/// A NUL-terminated string in a fixed array (strace's
/// `PRINT_FIELD_CSTRING`): up to its NUL, `...` when it has none.
fn fixed_cstr(nl: &mut Nl<'_, '_>, b: &[u8]) {
    let (text, cut) = match b.iter().position(|&c| c == 0) {
        Some(z) => (&b[..z], false),
        None => (b, true),
    };
    let s = crate::fmt::quote_x(text, cut, nl.opts.strings_in_hex);
    nl.put(&s);
}

/// `lnk[1]` of `struct smc_diag_lgrinfo`: one `struct smc_diag_linkinfo`.
fn smc_links(nl: &mut Nl<'_, '_>, b: &[u8]) {
    if b.len() < 146 {
        return;
    }
    let s = format!("[{{link_id={}, ibname=", b[0]);
    nl.put(&s);
    fixed_cstr(nl, &b[1..65]);
    let s = format!(", ibport={}, gid=", b[65]);
    nl.put(&s);
    fixed_cstr(nl, &b[66..106]);
    nl.put(", peer_gid=");
    fixed_cstr(nl, &b[106..146]);
    nl.put("}]");
}

/// An SMC decline code, always with its name as a comment (strace's
/// `PRINT_FIELD_XVAL_VERBOSE`: the codes come from a kernel-internal
/// header).
fn smc_decl(nl: &mut Nl<'_, '_>, b: &[u8]) {
    let v = le(b, 0, 4);
    let table = T::SmcDeclCodes.xlat();
    let name = table.lookup(nl.abi, v).unwrap_or(table.dflt);
    let s = if v == 0 {
        format!("0 /* {name} */")
    } else {
        format!("{v:#x} /* {name} */")
    };
    nl.put(&s);
}

fn smc_req(nl: &mut Nl<'_, '_>, addr: u64, len: u64) {
    const FIELDS: &[F] = &[
        F::Flags("diag_ext", 3, 1, T::SmcDiagExtendedFlags),
        // The SMC handler keeps AF_INET socket addresses.
        F::Sockid("id", 4, Some(AF_INET)),
    ];
    nl.family_struct("diag_family", AF_SMC, addr, len, 52, FIELDS);
}

fn smc_msg(nl: &mut Nl<'_, '_>, addr: u64, len: u64) {
    const FIELDS: &[F] = &[
        F::Xval("diag_state", 1, 1, T::SmcStates),
        F::Xval("diag_fallback", 2, 1, T::SmcDiagMode),
        F::U("diag_shutdown", 3, 1),
        F::Sockid("id", 4, Some(AF_INET)),
        F::U("diag_uid", 52, 4),
        F::U("diag_inode", 56, 8),
    ];
    use super::nlattr::{Kind as K, St};
    static CONNINFO: St = St::new(
        76,
        &[
            F::U("token", 0, 4),
            F::U("sndbuf_size", 4, 4),
            F::U("rmbe_size", 8, 4),
            F::U("peer_rmbe_size", 12, 4),
            F::Fn("rx_prod", 16, 8, smc_cursor),
            F::Fn("rx_cons", 24, 8, smc_cursor),
            F::Fn("tx_prod", 32, 8, smc_cursor),
            F::Fn("tx_cons", 40, 8, smc_cursor),
            F::X0("rx_prod_flags", 48, 1),
            F::X0("rx_conn_state_flags", 49, 1),
            F::X0("tx_prod_flags", 50, 1),
            F::X0("tx_conn_state_flags", 51, 1),
            F::Fn("tx_prep", 52, 8, smc_cursor),
            F::Fn("tx_sent", 60, 8, smc_cursor),
            F::Fn("tx_fin", 68, 8, smc_cursor),
        ],
    );
    static LGRINFO: St = St::new(
        147,
        &[
            F::Fn("lnk", 0, 146, smc_links),
            F::Xval("role", 146, 1, T::SmcLinkGroupRoles),
        ],
    );
    static DMBINFO: St = St::new(
        40,
        &[
            F::U("linkid", 0, 4),
            F::X("peer_gid", 8, 8),
            F::X("my_gid", 16, 8),
            F::X("token", 24, 8),
            F::X("peer_token", 32, 8),
        ],
    );
    static FALLBACK: St = St::new(
        8,
        &[
            F::Fn("reason", 0, 4, smc_decl),
            F::Fn("peer_diagnosis", 4, 4, smc_decl),
        ],
    );
    static ATTRS: Attrs = Attrs::new(
        T::SmcDiagAttrs,
        &[
            K::Hex,                             // SMC_DIAG_NONE
            K::Struct(&CONNINFO),               // SMC_DIAG_CONNINFO
            K::Struct(&LGRINFO),                // SMC_DIAG_LGRINFO
            K::FlagsN(T::SockShutdownFlags, 1), // SMC_DIAG_SHUTDOWN
            K::Struct(&DMBINFO),                // SMC_DIAG_DMBINFO
            K::Struct(&FALLBACK),               // SMC_DIAG_FALLBACK
        ],
    );
    let shown = nl.family_struct("diag_family", AF_SMC, addr, len, 64, FIELDS);
    attrs_after(nl, shown, addr, len, 64, &ATTRS);
}
