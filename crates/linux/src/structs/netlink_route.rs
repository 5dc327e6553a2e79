//! `NETLINK_ROUTE` messages: links (`struct ifinfomsg`), addresses
//! (`struct ifaddrmsg`) and routes (`struct rtmsg`) with their
//! attributes; the other route messages as `{family=AF_..., data=...}`
//! (their first byte is an address family).

use super::netlink::{Header, Nl};
use super::netlink_diag::{attrs_after, family_data};
use super::netlink_fields::{le, F};
use super::netlink_rtattrs as RT;
use super::nlattr::{Attrs, Kind};
use crate::xlat::Table as T;

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
        // RTM_GETNEIGH of AF_BRIDGE asks about links.
        0x1e if family == AF_BRIDGE => ifinfomsg(nl, family, addr, len),
        // RTM_{NEW,DEL,GET}NEIGH.
        0x1c..=0x1e => header(nl, family, addr, len, &NDMSG),
        // RTM_{NEW,DEL,GET}RULE.
        0x20..=0x22 => header(nl, family, addr, len, &FIB_RULE_HDR),
        // Queueing disciplines, classes, filters, chains.
        0x24..=0x26 | 0x28..=0x2a | 0x2c..=0x2e | 0x64..=0x66 => {
            header(nl, family, addr, len, &TCMSG)
        }
        // RTM_{NEW,DEL,GET}ACTION.
        0x30..=0x32 => header(nl, family, addr, len, &TCAMSG),
        // RTM_{NEW,GET,SET}NEIGHTBL.
        0x40 | 0x42 | 0x43 => header(nl, family, addr, len, &NDTMSG),
        // RTM_{NEW,DEL,GET}ADDRLABEL.
        0x48..=0x4a => header(nl, family, addr, len, &IFADDRLBLMSG),
        // RTM_GETDCB, RTM_SETDCB.
        0x4e | 0x4f => header(nl, family, addr, len, &DCBMSG),
        // RTM_{NEW,DEL,GET}NETCONF.
        0x50..=0x52 => header(nl, family, addr, len, &NETCONFMSG),
        // RTM_{NEW,DEL,GET}MDB.
        0x54..=0x56 => header(nl, family, addr, len, &BR_PORT_MSG),
        // RTM_{NEW,DEL,GET}NSID.
        0x58..=0x5a => header(nl, family, addr, len, &NSID),
        // RTM_NEWSTATS, RTM_GETSTATS.
        0x5c | 0x5e => header(nl, family, addr, len, &IF_STATS_MSG),
        // RTM_NEWCACHEREPORT: a multicast routing family or an address
        // family.
        0x60 => {
            nl.put("{rtgen_family=");
            // strace's printxvals over both tables: the first table's
            // comment when neither names it.
            let v = u64::from(family);
            if T::RtnlFamily.xlat().lookup(nl.abi, v).is_none()
                && T::Addrfams.xlat().lookup(nl.abi, v).is_some()
            {
                nl.xval(T::Addrfams, v);
            } else {
                nl.xval(T::RtnlFamily, v);
            }
            nl.put("}");
            if len > 4 {
                nl.put(", ");
                let (a, l) = (addr.wrapping_add(4), len - 4);
                match family {
                    // RTNL_FAMILY_IPMR, RTNL_FAMILY_IP6MR.
                    128 => super::nlattr::list(nl, a, l, &RT::IPMRA_CREPORT),
                    129 => super::nlattr::list(nl, a, l, &RT::IP6MRA_CREPORT),
                    _ => nl.hex(a, l),
                }
            }
        }
        // RTM_{NEW,DEL,GET}NEXTHOP.
        0x68..=0x6a => header(nl, family, addr, len, &NHMSG),
        _ => family_data(nl, family, addr, len),
    }
}

const AF_BRIDGE: u8 = 7;

/// A route message header: its family field's name, its size, the fields
/// after the family (`None`: the family alone is shown), its attributes.
struct Hdr {
    fam: &'static str,
    size: u64,
    fields: Option<&'static [F]>,
    attrs: &'static Attrs,
}

fn header(nl: &mut Nl<'_, '_>, family: u8, addr: u64, len: u64, h: &Hdr) {
    let shown = match h.fields {
        Some(fields) => nl.family_struct(h.fam, family, addr, len, h.size as usize, fields),
        None => {
            let s = format!("{{{}=", h.fam);
            nl.put(&s);
            nl.xval(T::Addrfams, u64::from(family));
            nl.put("}");
            true
        }
    };
    attrs_after(nl, shown, addr, len, h.size, h.attrs);
}

static NDMSG: Hdr = Hdr {
    fam: "ndm_family",
    size: 12,
    fields: Some(&[
        F::Ifindex("ndm_ifindex", 4),
        F::Flags("ndm_state", 8, 2, T::NeighborCacheEntryStates),
        F::Flags("ndm_flags", 10, 1, T::NeighborCacheEntryFlags),
        F::Xval("ndm_type", 11, 1, T::RoutingTypes),
    ]),
    attrs: &RT::NEIGH,
};

static FIB_RULE_HDR: Hdr = Hdr {
    fam: "family",
    size: 12,
    fields: Some(&[
        F::U("dst_len", 1, 1),
        F::U("src_len", 2, 1),
        F::Flags("tos", 3, 1, T::IpTypeOfServices),
        F::Xval("table", 4, 1, T::RoutingTableIds),
        F::Xval("action", 7, 1, T::FibRuleActions),
        F::Flags("flags", 8, 4, T::FibRuleFlags),
    ]),
    attrs: &RT::RULE,
};

static TCMSG: Hdr = Hdr {
    fam: "tcm_family",
    size: 20,
    fields: Some(&[
        F::Ifindex("tcm_ifindex", 4),
        F::U("tcm_handle", 8, 4),
        F::U("tcm_parent", 12, 4),
        F::U("tcm_info", 16, 4),
    ]),
    attrs: &RT::TC,
};

static TCAMSG: Hdr = Hdr {
    fam: "tca_family",
    size: 4,
    fields: None,
    attrs: &RT::TC_ACTION,
};

static NDTMSG: Hdr = Hdr {
    fam: "ndtm_family",
    size: 4,
    fields: None,
    attrs: &RT::NEIGHTBL,
};

static IFADDRLBLMSG: Hdr = Hdr {
    fam: "ifal_family",
    size: 12,
    fields: Some(&[
        F::U("ifal_prefixlen", 2, 1),
        F::U("ifal_flags", 3, 1),
        F::Ifindex("ifal_index", 4),
        F::U("ifal_seq", 8, 4),
    ]),
    attrs: &Attrs::new(T::RtnlAddrlabelAttrs, &[]),
};

static DCBMSG: Hdr = Hdr {
    fam: "dcb_family",
    size: 4,
    fields: Some(&[F::Xval("cmd", 1, 1, T::DcbCommands)]),
    attrs: &Attrs::new(T::RtnlDcbAttrs, &[]),
};

static NETCONFMSG: Hdr = Hdr {
    fam: "ncm_family",
    size: 1,
    fields: None,
    attrs: &Attrs::new(T::RtnlNetconfAttrs, &[]),
};

static BR_PORT_MSG: Hdr = Hdr {
    fam: "family",
    size: 8,
    fields: Some(&[F::Ifindex("ifindex", 4)]),
    attrs: &RT::MDB,
};

static NSID: Hdr = Hdr {
    fam: "rtgen_family",
    size: 1,
    fields: None,
    attrs: &Attrs::new(T::RtnlNsidAttrs, &[]),
};

static NHMSG: Hdr = Hdr {
    fam: "nh_family",
    size: 8,
    fields: Some(&[
        F::XvalBare("nh_scope", 1, 1, T::RoutingScopes),
        F::Xval("nh_protocol", 2, 1, T::RoutingProtocols),
        F::XNonZero("resvd", 3, 1),
        F::Flags("nh_flags", 4, 4, T::RouteNexthopFlags),
    ]),
    attrs: &RT::NEXTHOP,
};

fn ifinfomsg(nl: &mut Nl<'_, '_>, family: u8, addr: u64, len: u64) {
    const FIELDS: &[F] = &[
        F::Xval("ifi_type", 2, 2, T::ArpHardwareTypes),
        F::Ifindex("ifi_index", 4),
        F::Flags("ifi_flags", 8, 4, T::Iffflags),
        F::X("ifi_change", 12, 4),
    ];
    let shown = nl.family_struct("ifi_family", family, addr, len, 16, FIELDS);
    attrs_after(nl, shown, addr, len, 16, &super::netlink_link::LINK);
}

/// A hardware address: `XX:XX:...` (strace's `print_hwaddr`), at most
/// 32 bytes.
pub(crate) fn hwaddr(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    if len > 32 {
        return false;
    }
    match nl.read(addr, len) {
        Some(b) => nl.mac(&b),
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
            K::Hex,                     // IFA_UNSPEC
            K::Custom(address),         // IFA_ADDRESS
            K::Custom(address),         // IFA_LOCAL
            K::Str,                     // IFA_LABEL
            K::Custom(address),         // IFA_BROADCAST
            K::Custom(address),         // IFA_ANYCAST
            K::Custom(cacheinfo),       // IFA_CACHEINFO
            K::Custom(address),         // IFA_MULTICAST
            K::Flags32(T::Ifaddrflags), // IFA_FLAGS
            K::U32,                     // IFA_RT_PRIORITY
            K::S32,                     // IFA_TARGET_NETNSID
        ],
    );
    let shown = nl.family_struct("ifa_family", family, addr, len, 8, FIELDS);
    attrs_after(nl, shown, addr, len, 8, &ATTRS);
}

/// An address of the message's family (strace's `decode_inet_addr`):
/// `inet_addr("...")`, `inet_pton(AF_INET6, "...")`, else hex.
pub(crate) fn address(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    let family = nl.family;
    nl.inet_addr_at(addr, len, family, "");
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
    let shown = nl.family_struct("rtm_family", family, addr, len, 12, FIELDS);
    attrs_after(nl, shown, addr, len, 12, &RT::ROUTE);
}

static IF_STATS_MSG: Hdr = Hdr {
    fam: "family",
    size: 12,
    fields: Some(&[
        F::XNonZero("pad1", 1, 1),
        F::XNonZero("pad2", 2, 2),
        F::Ifindex("ifindex", 4),
        F::Flags("filter_mask", 8, 4, T::IfstatsAttrFlags),
    ]),
    attrs: &super::netlink_stats::STATS,
};
