//! Attribute decoders of `NETLINK_ROUTE` link messages (`struct
//! ifinfomsg`, `IFLA_*`): statistics structures of every kernel size
//! (`rtnl_link_stats`, `rtnl_link_stats64`), `rtnl_link_ifmap`, and the
//! nested lists strace decodes (`IFLA_XDP_*`, `IFLA_PORT_*`,
//! `IFLA_VF_PORT_*`, `IFLA_PROTO_DOWN_REASON_*`, `IFLA_PROP_LIST`).

use super::netlink::Nl;
use super::netlink_fields::F;
use super::nlattr::{versioned, Attrs, Kind as K, St};
use crate::xlat::Table as T;

/// The fields of `struct rtnl_link_stats` / `rtnl_link_stats64` of
/// `n`-byte counters.
macro_rules! link_stats {
    ($n:expr) => {
        &[
            F::U("rx_packets", 0, $n),
            F::U("tx_packets", $n, $n),
            F::U("rx_bytes", 2 * $n, $n),
            F::U("tx_bytes", 3 * $n, $n),
            F::U("rx_errors", 4 * $n, $n),
            F::U("tx_errors", 5 * $n, $n),
            F::U("rx_dropped", 6 * $n, $n),
            F::U("tx_dropped", 7 * $n, $n),
            F::U("multicast", 8 * $n, $n),
            F::U("collisions", 9 * $n, $n),
            F::U("rx_length_errors", 10 * $n, $n),
            F::U("rx_over_errors", 11 * $n, $n),
            F::U("rx_crc_errors", 12 * $n, $n),
            F::U("rx_frame_errors", 13 * $n, $n),
            F::U("rx_fifo_errors", 14 * $n, $n),
            F::U("rx_missed_errors", 15 * $n, $n),
            F::U("tx_aborted_errors", 16 * $n, $n),
            F::U("tx_carrier_errors", 17 * $n, $n),
            F::U("tx_fifo_errors", 18 * $n, $n),
            F::U("tx_heartbeat_errors", 19 * $n, $n),
            F::U("tx_window_errors", 20 * $n, $n),
            F::U("rx_compressed", 21 * $n, $n),
            F::U("tx_compressed", 22 * $n, $n),
            F::U("rx_nohandler", 23 * $n, $n),
            F::U("rx_otherhost_dropped", 24 * $n, $n),
        ]
    };
}

/// `struct rtnl_link_stats`: 23 counters, then `rx_nohandler`.
fn link_stats(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    static FIELDS: &[F] = link_stats!(4);
    versioned(nl, addr, len, &[92, 96], FIELDS)
}

/// `struct rtnl_link_stats64`: 23 counters, then `rx_nohandler`, then
/// `rx_otherhost_dropped`.
pub(crate) fn link_stats64(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    static FIELDS: &[F] = link_stats!(8);
    versioned(nl, addr, len, &[184, 192, 200], FIELDS)
}

/// `struct rtnl_link_ifmap` up to `port`.
static IFMAP: St = St::new(
    28,
    &[
        F::X("mem_start", 0, 8),
        F::X("mem_end", 8, 8),
        F::X("base_addr", 16, 8),
        F::U("irq", 24, 2),
        F::U("dma", 26, 1),
        F::U("port", 27, 1),
    ],
);

/// `struct ifla_port_vsi`.
static PORT_VSI: St = St::new(
    8,
    &[
        F::U("vsi_mgr_id", 0, 1),
        F::HexStr("vsi_type_id", 1, 3),
        F::U("vsi_type_version", 4, 1),
        F::HexStrNonZero("pad", 5, 3),
    ],
);

static PORT: Attrs = Attrs::new(
    T::RtnlIflaPortAttrs,
    &[
        K::Hex,               // IFLA_PORT_UNSPEC
        K::U32,               // IFLA_PORT_VF
        K::Str,               // IFLA_PORT_PROFILE
        K::Struct(&PORT_VSI), // IFLA_PORT_VSI_TYPE
        K::Hex,               // IFLA_PORT_INSTANCE_UUID
        K::Hex,               // IFLA_PORT_HOST_UUID
        K::U8,                // IFLA_PORT_REQUEST
        K::U16,               // IFLA_PORT_RESPONSE
    ],
);

static VF_PORTS: Attrs = Attrs::new(
    T::RtnlIflaVfPortAttrs,
    &[
        K::Hex,           // IFLA_VF_PORT_UNSPEC
        K::Nested(&PORT), // IFLA_VF_PORT
    ],
);

static XDP: Attrs = Attrs::new(
    T::RtnlIflaXdpAttrs,
    &[
        K::Hex,                                  // IFLA_XDP_UNSPEC
        K::S32,                                  // IFLA_XDP_FD
        K::XvalN(T::RtnlIflaXdpAttachedMode, 1), // IFLA_XDP_ATTACHED
        K::Flags32(T::XdpFlags),                 // IFLA_XDP_FLAGS
        K::U32,                                  // IFLA_XDP_PROG_ID
        K::U32,                                  // IFLA_XDP_DRV_PROG_ID
        K::U32,                                  // IFLA_XDP_SKB_PROG_ID
        K::U32,                                  // IFLA_XDP_HW_PROG_ID
        K::S32,                                  // IFLA_XDP_EXPECTED_FD
    ],
);

static PROTO_DOWN_REASON: Attrs = Attrs::new(
    T::RtnlIflaProtoDownReasonAttrs,
    &[
        K::Hex, // IFLA_PROTO_DOWN_REASON_UNSPEC
        K::X32, // IFLA_PROTO_DOWN_REASON_MASK
        K::X32, // IFLA_PROTO_DOWN_REASON_VALUE
    ],
);

/// `IFLA_PROP_LIST` holds link attributes of which only
/// `IFLA_ALT_IFNAME` (53) is decoded.
const fn prop_list_kinds() -> [K; 54] {
    let mut k = [K::Hex; 54];
    k[53] = K::Str;
    k
}

static PROP_LIST_KINDS: [K; 54] = prop_list_kinds();

static PROP_LIST: Attrs = Attrs::new(T::RtnlLinkAttrs, &PROP_LIST_KINDS);

/// `struct ifla_bridge_id`: `{prio=[1, 2], addr=..:..}`.
fn bridge_id(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    if len < 8 {
        return false;
    }
    let Some(b) = nl.read(addr, 8) else {
        nl.addr(addr);
        return true;
    };
    let s = format!("{{prio=[{}, {}], addr=", b[0], b[1]);
    nl.put(&s);
    nl.mac(&b[2..8]);
    nl.put("}");
    true
}

/// Bridge port attributes (`IFLA_PROTINFO` of `AF_BRIDGE`, a bridge
/// slave's `IFLA_INFO_SLAVE_DATA`).
pub(crate) static BRPORT: Attrs = Attrs::new(
    T::RtnlIflaBrportAttrs,
    &[
        K::Hex,               // IFLA_BRPORT_UNSPEC
        K::U8,                // IFLA_BRPORT_STATE
        K::U16,               // IFLA_BRPORT_PRIORITY
        K::U32,               // IFLA_BRPORT_COST
        K::U8,                // IFLA_BRPORT_MODE
        K::U8,                // IFLA_BRPORT_GUARD
        K::U8,                // IFLA_BRPORT_PROTECT
        K::U8,                // IFLA_BRPORT_FAST_LEAVE
        K::U8,                // IFLA_BRPORT_LEARNING
        K::U8,                // IFLA_BRPORT_UNICAST_FLOOD
        K::U8,                // IFLA_BRPORT_PROXYARP
        K::U8,                // IFLA_BRPORT_LEARNING_SYNC
        K::U8,                // IFLA_BRPORT_PROXYARP_WIFI
        K::Custom(bridge_id), // IFLA_BRPORT_ROOT_ID
        K::Custom(bridge_id), // IFLA_BRPORT_BRIDGE_ID
        K::U16,               // IFLA_BRPORT_DESIGNATED_PORT
        K::U16,               // IFLA_BRPORT_DESIGNATED_COST
        K::U16,               // IFLA_BRPORT_ID
        K::U16,               // IFLA_BRPORT_NO
        K::U8,                // IFLA_BRPORT_TOPOLOGY_CHANGE_ACK
        K::U8,                // IFLA_BRPORT_CONFIG_PENDING
        K::ClockT,            // IFLA_BRPORT_MESSAGE_AGE_TIMER
        K::ClockT,            // IFLA_BRPORT_FORWARD_DELAY_TIMER
        K::ClockT,            // IFLA_BRPORT_HOLD_TIMER
        K::Hex,               // IFLA_BRPORT_FLUSH
        K::U8,                // IFLA_BRPORT_MULTICAST_ROUTER
        K::Hex,               // IFLA_BRPORT_PAD
        K::U8,                // IFLA_BRPORT_MCAST_FLOOD
        K::U8,                // IFLA_BRPORT_MCAST_TO_UCAST
        K::U8,                // IFLA_BRPORT_VLAN_TUNNEL
        K::U8,                // IFLA_BRPORT_BCAST_FLOOD
        K::X16,               // IFLA_BRPORT_GROUP_FWD_MASK
        K::U8,                // IFLA_BRPORT_NEIGH_SUPPRESS
        K::U8,                // IFLA_BRPORT_ISOLATED
        K::Ifindex,           // IFLA_BRPORT_BACKUP_PORT
        K::U8,                // IFLA_BRPORT_MRP_RING_OPEN
        K::U8,                // IFLA_BRPORT_MRP_IN_OPEN
        K::U32,               // IFLA_BRPORT_MCAST_EHT_HOSTS_LIMIT
        K::U32,               // IFLA_BRPORT_MCAST_EHT_HOSTS_CNT
        K::U8,                // IFLA_BRPORT_LOCKED
    ],
);

/// `struct ifla_cacheinfo`.
static IFLA_CACHEINFO: St = St::new(
    16,
    &[
        F::U("max_reasm_len", 0, 4),
        F::U("tstamp", 4, 4),
        F::U("reachable_time", 8, 4),
        F::U("retrans_time", 12, 4),
    ],
);

/// `IFLA_INET6_*` attributes (`IFLA_PROTINFO` of `AF_INET6`, and
/// `IFLA_AF_SPEC`'s `AF_INET6`).
pub(crate) static INET6: Attrs = Attrs::new(
    T::RtnlIflaAfSpecInet6Attrs,
    &[
        K::Hex,                                      // IFLA_INET6_UNSPEC
        K::FlagsN(T::Inet6IfFlags, 4),               // IFLA_INET6_FLAGS
        K::Indexed(4, T::Inet6DevconfIndices, true), // IFLA_INET6_CONF
        K::Indexed(8, T::SnmpIpStats, false),        // IFLA_INET6_STATS
        K::Hex,                                      // IFLA_INET6_MCAST
        K::Struct(&IFLA_CACHEINFO),                  // IFLA_INET6_CACHEINFO
        K::Indexed(8, T::SnmpIcmp6Stats, false),     // IFLA_INET6_ICMP6STATS
        K::Inet(10),                                 // IFLA_INET6_TOKEN
        K::XvalN(T::In6AddrGenMode, 1),              // IFLA_INET6_ADDR_GEN_MODE
        K::U32,                                      // IFLA_INET6_RA_MTU
    ],
);

/// `IFLA_PROTINFO` by the message's family: bridge port attributes for
/// `AF_BRIDGE`, `IFLA_INET6_*` for `AF_INET6`, else hex.
fn protinfo(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    match nl.family {
        7 => super::nlattr::list(nl, addr, len, &BRPORT),
        10 => super::nlattr::list(nl, addr, len, &INET6),
        _ => nl.hex(addr, len),
    }
    true
}

/// A hardware address field: `xx:xx:...` of all its bytes.
fn mac(nl: &mut Nl<'_, '_>, b: &[u8]) {
    nl.mac(b);
}

/// A big-endian ethernet protocol field: `htons(ETH_P_IP)`.
fn eth_proto(nl: &mut Nl<'_, '_>, b: &[u8]) {
    let v = u16::from_be_bytes([
        b.first().copied().unwrap_or(0),
        b.get(1).copied().unwrap_or(0),
    ]);
    nl.put("htons(");
    nl.xval(T::EthernetProtocols, u64::from(v));
    nl.put(")");
}

/// `struct ifla_vf_*` of a `vf` and one or two `u32` settings.
macro_rules! vf_struct {
    ($size:expr, $($f:expr),*) => {
        St::new($size, &[F::U("vf", 0, 4), $($f),*])
    };
}

static VF_MAC: St = vf_struct!(36, F::Fn("mac", 4, 32, mac));
static VF_VLAN: St = vf_struct!(12, F::U("vlan", 4, 4), F::U("qos", 8, 4));
static VF_TX_RATE: St = vf_struct!(8, F::U("rate", 4, 4));
static VF_SETTING: St = vf_struct!(8, F::U("setting", 4, 4));
static VF_LINK_STATE: St = vf_struct!(8, F::Xval("link_state", 4, 4, T::RtnlIflaVfLinkStates));
static VF_RATE: St = vf_struct!(12, F::U("min_tx_rate", 4, 4), F::U("max_tx_rate", 8, 4));
static VF_VLAN_INFO: St = vf_struct!(
    16,
    F::U("vlan", 4, 4),
    F::U("qos", 8, 4),
    F::Fn("vlan_proto", 12, 2, eth_proto)
);
static VF_BROADCAST: St = St::new(32, &[F::Fn("broadcast", 0, 32, mac)]);

/// `struct ifla_vf_guid`: packed (12 bytes) or with its `guid` aligned
/// (16 bytes); any other size in hex.
fn vf_guid(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    static PACKED: St = vf_struct!(12, F::X("guid", 4, 8));
    static ALIGNED: St = vf_struct!(16, F::X("guid", 8, 8));
    match len {
        12 => super::nlattr::structure(nl, addr, len, &PACKED),
        16 => super::nlattr::structure(nl, addr, len, &ALIGNED),
        _ => false,
    }
}

static VF_STATS: Attrs = Attrs::new(
    T::RtnlIflaVfStatsAttrs,
    &[
        K::U64, // IFLA_VF_STATS_RX_PACKETS
        K::U64, // IFLA_VF_STATS_TX_PACKETS
        K::U64, // IFLA_VF_STATS_RX_BYTES
        K::U64, // IFLA_VF_STATS_TX_BYTES
        K::U64, // IFLA_VF_STATS_BROADCAST
        K::U64, // IFLA_VF_STATS_MULTICAST
        K::Hex, // IFLA_VF_STATS_PAD
        K::U64, // IFLA_VF_STATS_RX_DROPPED
        K::U64, // IFLA_VF_STATS_TX_DROPPED
    ],
);

static VF_VLAN_LIST: Attrs = Attrs::new(
    T::RtnlIflaVfVlanListAttrs,
    &[
        K::Hex,                   // IFLA_VF_VLAN_INFO_UNSPEC
        K::Struct(&VF_VLAN_INFO), // IFLA_VF_VLAN_INFO
    ],
);

static VF_INFO: Attrs = Attrs::new(
    T::RtnlIflaVfInfoAttrs,
    &[
        K::Hex,                    // IFLA_VF_UNSPEC
        K::Struct(&VF_MAC),        // IFLA_VF_MAC
        K::Struct(&VF_VLAN),       // IFLA_VF_VLAN
        K::Struct(&VF_TX_RATE),    // IFLA_VF_TX_RATE
        K::Struct(&VF_SETTING),    // IFLA_VF_SPOOFCHK
        K::Struct(&VF_LINK_STATE), // IFLA_VF_LINK_STATE
        K::Struct(&VF_RATE),       // IFLA_VF_RATE
        K::Struct(&VF_SETTING),    // IFLA_VF_RSS_QUERY_EN
        K::Nested(&VF_STATS),      // IFLA_VF_STATS
        K::Struct(&VF_SETTING),    // IFLA_VF_TRUST
        K::Custom(vf_guid),        // IFLA_VF_IB_NODE_GUID
        K::Custom(vf_guid),        // IFLA_VF_IB_PORT_GUID
        K::Nested(&VF_VLAN_LIST),  // IFLA_VF_VLAN_LIST
        K::Struct(&VF_BROADCAST),  // IFLA_VF_BROADCAST
    ],
);

static VFINFO_LIST: Attrs = Attrs::new(
    T::RtnlIflaVfinfoListAttrs,
    &[
        K::Hex,              // IFLA_VF_INFO_UNSPEC
        K::Nested(&VF_INFO), // IFLA_VF_INFO
    ],
);

/// A link kind as strace keeps it (`update_ctx_str`): the string up to
/// its NUL when the data is shorter than `IFNAMSIZ`, else empty.
fn kind_of(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> Vec<u8> {
    const IFNAMSIZ: u64 = 16;
    if len >= IFNAMSIZ {
        return Vec::new();
    }
    match nl.read(addr, len) {
        Some(b) => b.split(|&c| c == 0).next().unwrap_or(&[]).to_vec(),
        None => Vec::new(),
    }
}

/// `IFLA_INFO_KIND`: remembered for `IFLA_INFO_DATA`.
fn info_kind(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    nl.link_kind = kind_of(nl, addr, len);
    nl.cstr0(addr, len);
    true
}

/// `IFLA_INFO_SLAVE_KIND`: remembered for `IFLA_INFO_SLAVE_DATA`.
fn info_slave_kind(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    nl.slave_kind = kind_of(nl, addr, len);
    nl.cstr0(addr, len);
    true
}

static TUN: Attrs = Attrs::new(
    T::RtnlIflaInfoDataTunAttrs,
    &[
        K::Hex,                         // IFLA_TUN_UNSPEC
        K::Uid,                         // IFLA_TUN_OWNER
        K::Uid,                         // IFLA_TUN_GROUP
        K::XvalN(T::TunDeviceTypes, 1), // IFLA_TUN_TYPE
        K::U8,                          // IFLA_TUN_PI
        K::U8,                          // IFLA_TUN_VNET_HDR
        K::U8,                          // IFLA_TUN_PERSIST
        K::U8,                          // IFLA_TUN_MULTI_QUEUE
        K::U32,                         // IFLA_TUN_NUM_QUEUES
        K::U32,                         // IFLA_TUN_NUM_DISABLED_QUEUES
    ],
);

/// `struct br_boolopt_multi` (`IFLA_BR_MULTI_BOOLOPT`).
static BR_BOOLOPT_MULTI: St = St::new(
    8,
    &[
        F::Flags("optval", 0, 4, T::RtnlIflaBrBooloptFlags),
        F::Flags("optmask", 4, 4, T::RtnlIflaBrBooloptFlags),
    ],
);

/// A bridge's multicast querier state (`IFLA_BR_MCAST_QUERIER_STATE`).
static BR_MCAST_QUERIER: Attrs = Attrs::new(
    T::RtnlIflaBrMcastQuerierAttrs,
    &[
        K::Hex,      // BRIDGE_QUERIER_UNSPEC
        K::Inet(2),  // BRIDGE_QUERIER_IP_ADDRESS
        K::Ifindex,  // BRIDGE_QUERIER_IP_PORT
        K::ClockT,   // BRIDGE_QUERIER_IP_OTHER_TIMER
        K::Hex,      // BRIDGE_QUERIER_PAD
        K::Inet(10), // BRIDGE_QUERIER_IPV6_ADDRESS
        K::Ifindex,  // BRIDGE_QUERIER_IPV6_PORT
        K::ClockT,   // BRIDGE_QUERIER_IPV6_OTHER_TIMER
    ],
);

/// A bridge's attributes (`IFLA_INFO_DATA` of kind `bridge`).
static BRIDGE: Attrs = Attrs::new(
    T::RtnlIflaInfoDataBridgeAttrs,
    &[
        K::Hex,                                  // IFLA_BR_UNSPEC
        K::ClockT,                               // IFLA_BR_FORWARD_DELAY
        K::ClockT,                               // IFLA_BR_HELLO_TIME
        K::ClockT,                               // IFLA_BR_MAX_AGE
        K::ClockT,                               // IFLA_BR_AGEING_TIME
        K::U32,                                  // IFLA_BR_STP_STATE
        K::U16,                                  // IFLA_BR_PRIORITY
        K::U8,                                   // IFLA_BR_VLAN_FILTERING
        K::Custom(vlan_protocol),                // IFLA_BR_VLAN_PROTOCOL
        K::X16,                                  // IFLA_BR_GROUP_FWD_MASK
        K::Custom(bridge_id),                    // IFLA_BR_ROOT_ID
        K::Custom(bridge_id),                    // IFLA_BR_BRIDGE_ID
        K::U16,                                  // IFLA_BR_ROOT_PORT
        K::U32,                                  // IFLA_BR_ROOT_PATH_COST
        K::U8,                                   // IFLA_BR_TOPOLOGY_CHANGE
        K::U8,                                   // IFLA_BR_TOPOLOGY_CHANGE_DETECTED
        K::ClockT,                               // IFLA_BR_HELLO_TIMER
        K::ClockT,                               // IFLA_BR_TCN_TIMER
        K::ClockT,                               // IFLA_BR_TOPOLOGY_CHANGE_TIMER
        K::ClockT,                               // IFLA_BR_GC_TIMER
        K::Custom(super::netlink_route::hwaddr), // IFLA_BR_GROUP_ADDR
        K::Hex,                                  // IFLA_BR_FDB_FLUSH
        K::U8,                                   // IFLA_BR_MCAST_ROUTER
        K::U8,                                   // IFLA_BR_MCAST_SNOOPING
        K::U8,                                   // IFLA_BR_MCAST_QUERY_USE_IFADDR
        K::U8,                                   // IFLA_BR_MCAST_QUERIER
        K::U32,                                  // IFLA_BR_MCAST_HASH_ELASTICITY
        K::U32,                                  // IFLA_BR_MCAST_HASH_MAX
        K::U32,                                  // IFLA_BR_MCAST_LAST_MEMBER_CNT
        K::U32,                                  // IFLA_BR_MCAST_STARTUP_QUERY_CNT
        K::ClockT,                               // IFLA_BR_MCAST_LAST_MEMBER_INTVL
        K::ClockT,                               // IFLA_BR_MCAST_MEMBERSHIP_INTVL
        K::ClockT,                               // IFLA_BR_MCAST_QUERIER_INTVL
        K::ClockT,                               // IFLA_BR_MCAST_QUERY_INTVL
        K::ClockT,                               // IFLA_BR_MCAST_QUERY_RESPONSE_INTVL
        K::ClockT,                               // IFLA_BR_MCAST_STARTUP_QUERY_INTVL
        K::U8,                                   // IFLA_BR_NF_CALL_IPTABLES
        K::U8,                                   // IFLA_BR_NF_CALL_IP6TABLES
        K::U8,                                   // IFLA_BR_NF_CALL_ARPTABLES
        K::U16,                                  // IFLA_BR_VLAN_DEFAULT_PVID
        K::Hex,                                  // IFLA_BR_PAD
        K::U8,                                   // IFLA_BR_VLAN_STATS_ENABLED
        K::U8,                                   // IFLA_BR_MCAST_STATS_ENABLED
        K::U8,                                   // IFLA_BR_MCAST_IGMP_VERSION
        K::U8,                                   // IFLA_BR_MCAST_MLD_VERSION
        K::U8,                                   // IFLA_BR_VLAN_STATS_PER_PORT
        K::Struct(&BR_BOOLOPT_MULTI),            // IFLA_BR_MULTI_BOOLOPT
        K::Nested(&BR_MCAST_QUERIER),            // IFLA_BR_MCAST_QUERIER_STATE
    ],
);

/// `IFLA_BR_VLAN_PROTOCOL`: a big-endian ethernet protocol of 2 bytes
/// (`htons(ETH_P_8021Q)`), shorter data in hex.
fn vlan_protocol(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    if len < 2 {
        return false;
    }
    match nl.read(addr, 2) {
        Some(b) => eth_proto(nl, &b),
        None => nl.addr(addr),
    }
    true
}

/// `IFLA_INFO_DATA` by the link's kind (`tun`, `bridge`; others in hex).
fn info_data(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    let attrs = match nl.link_kind.as_slice() {
        b"tun" => &TUN,
        b"bridge" => &BRIDGE,
        _ => return false,
    };
    super::nlattr::list(nl, addr, len, attrs);
    true
}

/// `IFLA_INFO_XSTATS` by the link's kind (`can`'s device statistics).
fn info_xstats(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    static CAN: St = St::new(
        24,
        &[
            F::U("bus_error", 0, 4),
            F::U("error_warning", 4, 4),
            F::U("error_passive", 8, 4),
            F::U("bus_off", 12, 4),
            F::U("arbitration_lost", 16, 4),
            F::U("restarts", 20, 4),
        ],
    );
    match nl.link_kind.as_slice() {
        b"can" => super::nlattr::structure(nl, addr, len, &CAN),
        _ => false,
    }
}

/// `IFLA_INFO_SLAVE_DATA` by the slave kind (a bridge's port
/// attributes).
fn info_slave_data(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    match nl.slave_kind.as_slice() {
        b"bridge" => {
            super::nlattr::list(nl, addr, len, &BRPORT);
            true
        }
        _ => false,
    }
}

static LINKINFO_ATTRS: Attrs = Attrs::new(
    T::RtnlIflaInfoAttrs,
    &[
        K::Hex,                     // IFLA_INFO_UNSPEC
        K::Custom(info_kind),       // IFLA_INFO_KIND
        K::Custom(info_data),       // IFLA_INFO_DATA
        K::Custom(info_xstats),     // IFLA_INFO_XSTATS
        K::Custom(info_slave_kind), // IFLA_INFO_SLAVE_KIND
        K::Custom(info_slave_data), // IFLA_INFO_SLAVE_DATA
    ],
);

/// `IFLA_LINKINFO`: its kinds start empty for each list.
fn linkinfo(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    nl.link_kind.clear();
    nl.slave_kind.clear();
    super::nlattr::list(nl, addr, len, &LINKINFO_ATTRS);
    true
}

/// `struct ifinfomsg`'s attributes.
pub(crate) static LINK: Attrs = Attrs::new(
    T::RtnlLinkAttrs,
    &[
        K::Hex,                                  // IFLA_UNSPEC
        K::Custom(super::netlink_route::hwaddr), // IFLA_ADDRESS
        K::Custom(super::netlink_route::hwaddr), // IFLA_BROADCAST
        K::Str,                                  // IFLA_IFNAME
        K::U32,                                  // IFLA_MTU
        K::U32,                                  // IFLA_LINK
        K::Str,                                  // IFLA_QDISC
        K::Custom(link_stats),                   // IFLA_STATS
        K::Hex,                                  // IFLA_COST
        K::Hex,                                  // IFLA_PRIORITY
        K::U32,                                  // IFLA_MASTER
        K::Hex,                                  // IFLA_WIRELESS
        K::Custom(protinfo),                     // IFLA_PROTINFO
        K::U32,                                  // IFLA_TXQLEN
        K::Struct(&IFMAP),                       // IFLA_MAP
        K::U32,                                  // IFLA_WEIGHT
        K::U8,                                   // IFLA_OPERSTATE
        K::U8,                                   // IFLA_LINKMODE
        K::Custom(linkinfo),                     // IFLA_LINKINFO
        K::U32,                                  // IFLA_NET_NS_PID
        K::Str,                                  // IFLA_IFALIAS
        K::U32,                                  // IFLA_NUM_VF
        K::Nested(&VFINFO_LIST),                 // IFLA_VFINFO_LIST
        K::Custom(link_stats64),                 // IFLA_STATS64
        K::Nested(&VF_PORTS),                    // IFLA_VF_PORTS
        K::Nested(&PORT),                        // IFLA_PORT_SELF
        K::Hex,                                  // IFLA_AF_SPEC
        K::U32,                                  // IFLA_GROUP
        K::S32,                                  // IFLA_NET_NS_FD
        K::FlagsN(T::RtnlIflaExtFilterFlags, 4), // IFLA_EXT_MASK
        K::U32,                                  // IFLA_PROMISCUITY
        K::U32,                                  // IFLA_NUM_TX_QUEUES
        K::U32,                                  // IFLA_NUM_RX_QUEUES
        K::U8,                                   // IFLA_CARRIER
        K::Hex,                                  // IFLA_PHYS_PORT_ID
        K::U32,                                  // IFLA_CARRIER_CHANGES
        K::Hex,                                  // IFLA_PHYS_SWITCH_ID
        K::S32,                                  // IFLA_LINK_NETNSID
        K::Str,                                  // IFLA_PHYS_PORT_NAME
        K::U8,                                   // IFLA_PROTO_DOWN
        K::U32,                                  // IFLA_GSO_MAX_SEGS
        K::U32,                                  // IFLA_GSO_MAX_SIZE
        K::Hex,                                  // IFLA_PAD
        K::Nested(&XDP),                         // IFLA_XDP
        K::XvalN(T::RtnlIflaEvents, 4),          // IFLA_EVENT
        K::S32,                                  // IFLA_NEW_NETNSID
        K::S32,                                  // IFLA_IF_NETNSID
        K::U32,                                  // IFLA_CARRIER_UP_COUNT
        K::U32,                                  // IFLA_CARRIER_DOWN_COUNT
        K::Ifindex,                              // IFLA_NEW_IFINDEX
        K::U32,                                  // IFLA_MIN_MTU
        K::U32,                                  // IFLA_MAX_MTU
        K::Nested(&PROP_LIST),                   // IFLA_PROP_LIST
        K::Str,                                  // IFLA_ALT_IFNAME
        K::Custom(super::netlink_route::hwaddr), // IFLA_PERM_ADDRESS
        K::Nested(&PROTO_DOWN_REASON),           // IFLA_PROTO_DOWN_REASON
        K::Str,                                  // IFLA_PARENT_DEV_NAME
        K::Str,                                  // IFLA_PARENT_DEV_BUS_NAME
        K::U32,                                  // IFLA_GRO_MAX_SIZE
        K::U32,                                  // IFLA_TSO_MAX_SIZE
        K::U32,                                  // IFLA_TSO_MAX_SEGS
        K::U32,                                  // IFLA_ALLMULTI
    ],
);
