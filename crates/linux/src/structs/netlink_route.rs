//! `NETLINK_ROUTE` messages: links (`struct ifinfomsg`), addresses
//! (`struct ifaddrmsg`) and routes (`struct rtmsg`) with their
//! attributes; the other route messages as `{family=AF_..., data=...}`
//! (their first byte is an address family).

use super::netlink::{le, Header, Nl, F};
use super::netlink_diag::{attrs_after, family_data};
use super::nlattr::{Attrs, Kind};
use crate::xlat::Table as T;

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// A route message of `len` bytes at `addr`.
pub(crate) fn decode(nl: &mut Nl<'_, '_>, h: &Header, addr: u64, len: u64) {
    let Some(b) = nl.read(addr, 1) else {
        return nl.addr(addr);
    };
    let family = b[0];
    nl.family = family;
    match h.ty {
        // RTM_{NEW,DEL,GET,SET}LINK.
        0x10..=0x13 => ifinfomsg(nl, family, addr, len),
        // RTM_{NEW,DEL,GET}ADDR, RTM_GETMULTICAST, RTM_GETANYCAST.
        0x14..=0x16 | 0x3a | 0x3e => ifaddrmsg(nl, family, addr, len),
        // RTM_{NEW,DEL,GET}ROUTE.
        0x18..=0x1a => rtmsg(nl, family, addr, len),
        _ => family_data(nl, family, addr, len),
    }
}

fn ifinfomsg(nl: &mut Nl<'_, '_>, family: u8, addr: u64, len: u64) {
    const FIELDS: &[F] = &[
        F::Xval("ifi_type", 2, 2, T::ArpHardwareTypes),
        F::Ifindex("ifi_index", 4),
        F::Flags("ifi_flags", 8, 4, T::Iffflags),
        F::X("ifi_change", 12, 4),
    ];
    use Kind as K;
    static ATTRS: Attrs = Attrs::new(
        T::RtnlLinkAttrs,
        &[
            K::Hex,            // IFLA_UNSPEC
            K::Custom(hwaddr), // IFLA_ADDRESS
            K::Custom(hwaddr), // IFLA_BROADCAST
            K::Str,            // IFLA_IFNAME
            K::U32,            // IFLA_MTU
            K::U32,            // IFLA_LINK
            K::Str,            // IFLA_QDISC
            K::Hex,            // IFLA_STATS
            K::Hex,            // IFLA_COST
            K::Hex,            // IFLA_PRIORITY
            K::U32,            // IFLA_MASTER
            K::Hex,            // IFLA_WIRELESS
            K::Hex,            // IFLA_PROTINFO
            K::U32,            // IFLA_TXQLEN
            K::Hex,            // IFLA_MAP
            K::U32,            // IFLA_WEIGHT
            K::U8,             // IFLA_OPERSTATE
            K::U8,             // IFLA_LINKMODE
            K::Hex,            // IFLA_LINKINFO
            K::U32,            // IFLA_NET_NS_PID
            K::Str,            // IFLA_IFALIAS
            K::U32,            // IFLA_NUM_VF
            K::Hex,            // IFLA_VFINFO_LIST
            K::Hex,            // IFLA_STATS64
            K::Hex,            // IFLA_VF_PORTS
            K::Hex,            // IFLA_PORT_SELF
            K::Hex,            // IFLA_AF_SPEC
            K::U32,            // IFLA_GROUP
            K::Hex,            // IFLA_NET_NS_FD
            K::Hex,            // IFLA_EXT_MASK
            K::U32,            // IFLA_PROMISCUITY
            K::U32,            // IFLA_NUM_TX_QUEUES
            K::U32,            // IFLA_NUM_RX_QUEUES
            K::U8,             // IFLA_CARRIER
            K::Hex,            // IFLA_PHYS_PORT_ID
            K::U32,            // IFLA_CARRIER_CHANGES
            K::Hex,            // IFLA_PHYS_SWITCH_ID
            K::S32,            // IFLA_LINK_NETNSID
            K::Str,            // IFLA_PHYS_PORT_NAME
            K::U8,             // IFLA_PROTO_DOWN
            K::U32,            // IFLA_GSO_MAX_SEGS
            K::U32,            // IFLA_GSO_MAX_SIZE
            K::Hex,            // IFLA_PAD
            K::Hex,            // IFLA_XDP
            K::Hex,            // IFLA_EVENT
            K::S32,            // IFLA_NEW_NETNSID
            K::S32,            // IFLA_IF_NETNSID
            K::U32,            // IFLA_CARRIER_UP_COUNT
            K::U32,            // IFLA_CARRIER_DOWN_COUNT
            K::Hex,            // IFLA_NEW_IFINDEX
            K::U32,            // IFLA_MIN_MTU
            K::U32,            // IFLA_MAX_MTU
            K::Hex,            // IFLA_PROP_LIST
            K::Str,            // IFLA_ALT_IFNAME
            K::Custom(hwaddr), // IFLA_PERM_ADDRESS
            K::Hex,            // IFLA_PROTO_DOWN_REASON
            K::Str,            // IFLA_PARENT_DEV_NAME
            K::Str,            // IFLA_PARENT_DEV_BUS_NAME
            K::U32,            // IFLA_GRO_MAX_SIZE
            K::U32,            // IFLA_TSO_MAX_SIZE
            K::U32,            // IFLA_TSO_MAX_SEGS
            K::U32,            // IFLA_ALLMULTI
        ],
    );
    let shown = nl.family_struct("ifi_family", family, addr, len, 16, FIELDS);
    attrs_after(nl, shown, addr, len, 16, &ATTRS);
}

/// A hardware address: `XX:XX:...` (strace's `print_hwaddr`), at most
/// 32 bytes.
fn hwaddr(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    if len > 32 {
        return false;
    }
    match nl.read(addr, len) {
        Some(b) => {
            let s: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
            nl.put(&s.join(":"));
        }
        None => nl.addr(addr),
    }
    true
}

fn ifaddrmsg(nl: &mut Nl<'_, '_>, family: u8, addr: u64, len: u64) {
    const FIELDS: &[F] = &[
        F::U("ifa_prefixlen", 1, 1),
        F::Flags("ifa_flags", 2, 1, T::Ifaddrflags),
        F::XvalBare("ifa_scope", 3, 1, T::RoutingScopes),
        F::Ifindex("ifa_index", 4),
    ];
    use Kind as K;
    static ATTRS: Attrs = Attrs::new(
        T::RtnlAddrAttrs,
        &[
            K::Hex,                   // IFA_UNSPEC
            K::Custom(address),       // IFA_ADDRESS
            K::Custom(address),       // IFA_LOCAL
            K::Str,                   // IFA_LABEL
            K::Custom(address),       // IFA_BROADCAST
            K::Custom(address),       // IFA_ANYCAST
            K::Custom(cacheinfo),     // IFA_CACHEINFO
            K::Custom(address),       // IFA_MULTICAST
            K::Flags(T::Ifaddrflags), // IFA_FLAGS
            K::U32,                   // IFA_RT_PRIORITY
            K::S32,                   // IFA_TARGET_NETNSID
        ],
    );
    let shown = nl.family_struct("ifa_family", family, addr, len, 8, FIELDS);
    attrs_after(nl, shown, addr, len, 8, &ATTRS);
}

/// An address of the message's family (strace's `decode_inet_addr`):
/// `inet_addr("...")`, `inet_pton(AF_INET6, "...")`, else hex.
fn address(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    let size = match nl.family {
        AF_INET => 4,
        AF_INET6 => 16,
        _ => 0,
    };
    if size == 0 || len < size {
        nl.hex(addr, len);
        return true;
    }
    let Some(b) = nl.read(addr, size) else {
        nl.addr(addr);
        return true;
    };
    let s = if size == 4 {
        format!(
            "inet_addr(\"{}\")",
            std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3])
        )
    } else {
        let mut a = [0u8; 16];
        a.copy_from_slice(&b);
        format!("inet_pton(AF_INET6, \"{}\")", std::net::Ipv6Addr::from(a))
    };
    nl.put(&s);
    true
}

/// `struct ifa_cacheinfo`.
fn cacheinfo(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    if len < 16 {
        return false;
    }
    match nl.read(addr, 16) {
        Some(b) => {
            let s = format!(
                "{{ifa_prefered={}, ifa_valid={}, cstamp={}, tstamp={}}}",
                le(&b, 0, 4),
                le(&b, 4, 4),
                le(&b, 8, 4),
                le(&b, 12, 4)
            );
            nl.put(&s);
        }
        None => nl.addr(addr),
    }
    true
}

fn rtmsg(nl: &mut Nl<'_, '_>, family: u8, addr: u64, len: u64) {
    const FIELDS: &[F] = &[
        F::U("rtm_dst_len", 1, 1),
        F::U("rtm_src_len", 2, 1),
        F::Flags("rtm_tos", 3, 1, T::IpTypeOfServices),
        F::XvalBare("rtm_table", 4, 1, T::RoutingTableIds),
        F::Xval("rtm_protocol", 5, 1, T::RoutingProtocols),
        F::XvalBare("rtm_scope", 6, 1, T::RoutingScopes),
        F::Xval("rtm_type", 7, 1, T::RoutingTypes),
        F::Flags("rtm_flags", 8, 4, T::RoutingFlags),
    ];
    use Kind as K;
    static ATTRS: Attrs = Attrs::new(
        T::RtnlRouteAttrs,
        &[
            K::Hex,             // RTA_UNSPEC
            K::Custom(address), // RTA_DST
            K::Custom(address), // RTA_SRC
            K::Ifindex,         // RTA_IIF
            K::Ifindex,         // RTA_OIF
            K::Custom(address), // RTA_GATEWAY
            K::U32,             // RTA_PRIORITY
            K::Custom(address), // RTA_PREFSRC
            K::Hex,             // RTA_METRICS
            K::Hex,             // RTA_MULTIPATH
            K::U32,             // RTA_PROTOINFO
            K::U32,             // RTA_FLOW
            K::Hex,             // RTA_CACHEINFO
            K::Hex,             // RTA_SESSION
            K::U32,             // RTA_MP_ALGO
            K::Hex,             // RTA_TABLE
            K::U32,             // RTA_MARK
            K::Hex,             // RTA_MFC_STATS
            K::Hex,             // RTA_VIA
            K::Custom(address), // RTA_NEWDST
            K::U8,              // RTA_PREF
            K::Hex,             // RTA_ENCAP_TYPE
            K::Hex,             // RTA_ENCAP
            K::U64,             // RTA_EXPIRES
            K::Hex,             // RTA_PAD
            K::U32,             // RTA_UID
            K::U8,              // RTA_TTL_PROPAGATE
            K::U8,              // RTA_IP_PROTO
            K::U16,             // RTA_SPORT
            K::U16,             // RTA_DPORT
        ],
    );
    let shown = nl.family_struct("rtm_family", family, addr, len, 12, FIELDS);
    attrs_after(nl, shown, addr, len, 12, &ATTRS);
}
