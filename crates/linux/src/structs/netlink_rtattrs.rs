//! Attribute decoders of `NETLINK_ROUTE` messages other than links:
//! traffic control (`TCA_*`, `TCA_STATS_*`, `TCA_STAB_*`, `TCA_ACT_*`),
//! multicast databases (`MDBA_*`), neighbour tables (`NDTA_*`,
//! `NDTPA_*`), neighbours (`NDA_*`), rules (`FRA_*`) and routes
//! (`RTA_*`, `RTAX_*`): which attribute holds an integer, a structure
//! (field by field, as strace's `decode_*` of it) or a nested list.
//! Structures shorter than their size print in hex, unreadable ones as
//! their address (see [`super::nlattr::structure`]).

use super::netlink::Nl;
use super::netlink_fields::{le, F};
use super::nlattr::{Attrs, Kind as K, St};
use crate::xlat::Table as T;

/// `struct tc_stats` up to `backlog` (its padding is not read).
static TC_STATS: St = St::new(
    36,
    &[
        F::U("bytes", 0, 8),
        F::U("packets", 8, 4),
        F::U("drops", 12, 4),
        F::U("overlimits", 16, 4),
        F::U("bps", 20, 4),
        F::U("pps", 24, 4),
        F::U("qlen", 28, 4),
        F::U("backlog", 32, 4),
    ],
);

/// `struct tc_estimator`.
static TC_ESTIMATOR: St = St::new(2, &[F::S("interval", 0, 1), F::U("ewma_log", 1, 1)]);

/// `struct gnet_stats_basic` up to `packets`.
static GNET_BASIC: St = St::new(12, &[F::U("bytes", 0, 8), F::U("packets", 8, 4)]);

/// `struct gnet_stats_rate_est`.
static GNET_RATE_EST: St = St::new(8, &[F::U("bps", 0, 4), F::U("pps", 4, 4)]);

/// `struct gnet_stats_queue`.
static GNET_QUEUE: St = St::new(
    20,
    &[
        F::U("qlen", 0, 4),
        F::U("backlog", 4, 4),
        F::U("drops", 8, 4),
        F::U("requeues", 12, 4),
        F::U("overlimits", 16, 4),
    ],
);

/// `struct gnet_stats_rate_est64`.
static GNET_RATE_EST64: St = St::new(16, &[F::U("bps", 0, 8), F::U("pps", 8, 8)]);

/// `TCA_STATS2` and `TCA_ACT_STATS`: `TCA_STATS_*` attributes.
pub(crate) static TCA_STATS: Attrs = Attrs::new(
    T::RtnlTcaStatsAttrs,
    &[
        K::Hex,                      // TCA_STATS_UNSPEC
        K::Struct(&GNET_BASIC),      // TCA_STATS_BASIC
        K::Struct(&GNET_RATE_EST),   // TCA_STATS_RATE_EST
        K::Struct(&GNET_QUEUE),      // TCA_STATS_QUEUE
        K::Hex,                      // TCA_STATS_APP
        K::Struct(&GNET_RATE_EST64), // TCA_STATS_RATE_EST64
        K::Hex,                      // TCA_STATS_PAD
        K::Struct(&GNET_BASIC),      // TCA_STATS_BASIC_HW
        K::U64,                      // TCA_STATS_PKT64
    ],
);

/// `struct tc_sizespec`.
static TC_SIZESPEC: St = St::new(
    24,
    &[
        F::U("cell_log", 0, 1),
        F::U("size_log", 1, 1),
        F::S("cell_align", 2, 2),
        F::S("overhead", 4, 4),
        F::U("linklayer", 8, 4),
        F::U("mpu", 12, 4),
        F::U("mtu", 16, 4),
        F::U("tsize", 20, 4),
    ],
);

static TCA_STAB: Attrs = Attrs::new(
    T::RtnlTcaStabAttrs,
    &[
        K::Hex,                  // TCA_STAB_UNSPEC
        K::Struct(&TC_SIZESPEC), // TCA_STAB_BASE
        K::U16Array,             // TCA_STAB_DATA
    ],
);

/// `struct tcmsg`'s attributes.
pub(crate) static TC: Attrs = Attrs::new(
    T::RtnlTcAttrs,
    &[
        K::Hex,                   // TCA_UNSPEC
        K::Str,                   // TCA_KIND
        K::Hex,                   // TCA_OPTIONS
        K::Struct(&TC_STATS),     // TCA_STATS
        K::Hex,                   // TCA_XSTATS
        K::Struct(&TC_ESTIMATOR), // TCA_RATE
        K::U32,                   // TCA_FCNT
        K::Nested(&TCA_STATS),    // TCA_STATS2
        K::Nested(&TCA_STAB),     // TCA_STAB
        K::Hex,                   // TCA_PAD
        K::Hex,                   // TCA_DUMP_INVISIBLE
        K::U32,                   // TCA_CHAIN
        K::U8,                    // TCA_HW_OFFLOAD
        K::U32,                   // TCA_INGRESS_BLOCK
        K::U32,                   // TCA_EGRESS_BLOCK
        K::U32,                   // TCA_DUMP_FLAGS
    ],
);

/// `struct tcamsg`'s attributes.
pub(crate) static TC_ACTION: Attrs = Attrs::new(
    T::RtnlTcActionAttrs,
    &[
        K::Hex,                             // TCA_ACT_UNSPEC
        K::Str,                             // TCA_ACT_KIND
        K::Hex,                             // TCA_ACT_OPTIONS
        K::U32,                             // TCA_ACT_INDEX
        K::Nested(&TCA_STATS),              // TCA_ACT_STATS
        K::Hex,                             // TCA_ACT_PAD
        K::Hex,                             // TCA_ACT_COOKIE
        K::FlagsN(T::RtnlTcaActFlags, 4),   // TCA_ACT_FLAGS
        K::FlagsN(T::RtnlTcaActHwStats, 4), // TCA_ACT_HW_STATS
        K::FlagsN(T::RtnlTcaActHwStats, 4), // TCA_ACT_USED_HW_STATS
        K::U32,                             // TCA_ACT_IN_HW_COUNT
    ],
);

/// `struct br_mdb_entry`'s address: `{u=..., proto=htons(AF_...)}`.
fn mdb_addr(nl: &mut Nl<'_, '_>, b: &[u8]) {
    let proto = u16::from_be_bytes([
        b.get(16).copied().unwrap_or(0),
        b.get(17).copied().unwrap_or(0),
    ]);
    nl.put("{");
    nl.inet_addr(b.get(..16).unwrap_or(&[]), proto as u8, "u");
    nl.put(", proto=htons(");
    nl.xval(T::Addrfams, u64::from(proto));
    nl.put(")}");
}

static MDB_EATTR: Attrs = Attrs::new(
    T::RtnlMdbaMdbEattrAttrs,
    &[
        K::Hex,    // MDBA_MDB_EATTR_UNSPEC
        K::ClockT, // MDBA_MDB_EATTR_TIMER
    ],
);

/// `struct br_mdb_entry`, then `MDBA_MDB_EATTR_*` attributes.
static MDB_ENTRY_INFO: St = St {
    size: 28,
    min: 28,
    fields: &[
        F::Ifindex("ifindex", 0),
        F::Xval("state", 4, 1, T::MdbStates),
        F::Flags("flags", 5, 1, T::MdbFlags),
        F::U("vid", 6, 2),
        F::Fn("addr", 8, 18, mdb_addr),
    ],
    then: Some(&MDB_EATTR),
};

static MDB_ENTRY: Attrs = Attrs::new(
    T::RtnlMdbaMdbEntryAttrs,
    &[
        K::Hex,                     // MDBA_MDB_ENTRY_UNSPEC
        K::Struct(&MDB_ENTRY_INFO), // MDBA_MDB_ENTRY_INFO
    ],
);

static MDB_MDB: Attrs = Attrs::new(
    T::RtnlMdbaMdbAttrs,
    &[
        K::Hex,                // MDBA_MDB_UNSPEC
        K::Nested(&MDB_ENTRY), // MDBA_MDB_ENTRY
    ],
);

static MDB_ROUTER_PATTR: Attrs = Attrs::new(
    T::RtnlMdbaRouterPattrAttrs,
    &[
        K::Hex,                               // MDBA_ROUTER_PATTR_UNSPEC
        K::ClockT,                            // MDBA_ROUTER_PATTR_TIMER
        K::XvalN(T::MulticastRouterTypes, 1), // MDBA_ROUTER_PATTR_TYPE
        K::ClockT,                            // MDBA_ROUTER_PATTR_INET_TIMER
        K::ClockT,                            // MDBA_ROUTER_PATTR_INET6_TIMER
    ],
);

/// `MDBA_ROUTER_PORT`: an interface index, then `MDBA_ROUTER_PATTR_*`.
fn mdb_router_port(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    if len < 4 {
        return false;
    }
    match nl.read(addr, 4) {
        Some(b) => nl.ifindex(le(&b, 0, 4) as u32),
        None => nl.addr(addr),
    }
    if len > 4 {
        nl.put(", ");
        super::nlattr::list(nl, addr.wrapping_add(4), len - 4, &MDB_ROUTER_PATTR);
    }
    true
}

static MDB_ROUTER: Attrs = Attrs::new(
    T::RtnlMdbaRouterAttrs,
    &[
        K::Hex,                     // MDBA_ROUTER_UNSPEC
        K::Custom(mdb_router_port), // MDBA_ROUTER_PORT
    ],
);

/// `struct br_port_msg`'s attributes.
pub(crate) static MDB: Attrs = Attrs::new(
    T::RtnlMdbAttrs,
    &[
        K::Hex,                 // MDBA_UNSPEC
        K::Nested(&MDB_MDB),    // MDBA_MDB
        K::Nested(&MDB_ROUTER), // MDBA_ROUTER
    ],
);

/// `struct ndt_config`.
static NDT_CONFIG: St = St::new(
    32,
    &[
        F::U("ndtc_key_len", 0, 2),
        F::U("ndtc_entry_size", 2, 2),
        F::U("ndtc_entries", 4, 4),
        F::U("ndtc_last_flush", 8, 4),
        F::U("ndtc_last_rand", 12, 4),
        F::U("ndtc_hash_rnd", 16, 4),
        F::X0("ndtc_hash_mask", 20, 4),
        F::U("ndtc_hash_chain_gc", 24, 4),
        F::U("ndtc_proxy_qlen", 28, 4),
    ],
);

/// `struct ndt_stats`: its older size (without `ndts_table_fulls`) is
/// shown only when the data is exactly that long.
fn ndt_stats(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    const FIELDS: &[F] = &[
        F::U("ndts_allocs", 0, 8),
        F::U("ndts_destroys", 8, 8),
        F::U("ndts_hash_grows", 16, 8),
        F::U("ndts_res_failed", 24, 8),
        F::U("ndts_lookups", 32, 8),
        F::U("ndts_hits", 40, 8),
        F::U("ndts_rcv_probes_mcast", 48, 8),
        F::U("ndts_rcv_probes_ucast", 56, 8),
        F::U("ndts_periodic_gc_runs", 64, 8),
        F::U("ndts_forced_gc_runs", 72, 8),
        F::U("ndts_table_fulls", 80, 8),
    ];
    static FULL: St = St::new(88, FIELDS);
    static OLD: St = St::new(80, FIELDS);
    match len {
        88.. => super::nlattr::structure(nl, addr, len, &FULL),
        80 => super::nlattr::structure(nl, addr, len, &OLD),
        _ => false,
    }
}

static NDT_PARMS: Attrs = Attrs::new(
    T::RtnlNeightblParmsAttrs,
    &[
        K::Hex,     // NDTPA_UNSPEC
        K::Ifindex, // NDTPA_IFINDEX
        K::U32,     // NDTPA_REFCNT
        K::U64,     // NDTPA_REACHABLE_TIME
        K::U64,     // NDTPA_BASE_REACHABLE_TIME
        K::U64,     // NDTPA_RETRANS_TIME
        K::U64,     // NDTPA_GC_STALETIME
        K::U64,     // NDTPA_DELAY_PROBE_TIME
        K::U32,     // NDTPA_QUEUE_LEN
        K::U32,     // NDTPA_APP_PROBES
        K::U32,     // NDTPA_UCAST_PROBES
        K::U32,     // NDTPA_MCAST_PROBES
        K::U64,     // NDTPA_ANYCAST_DELAY
        K::U64,     // NDTPA_PROXY_DELAY
        K::U32,     // NDTPA_PROXY_QLEN
        K::U64,     // NDTPA_LOCKTIME
        K::U32,     // NDTPA_QUEUE_LENBYTES
        K::U32,     // NDTPA_MCAST_REPROBES
        K::Hex,     // NDTPA_PAD
        K::U64,     // NDTPA_INTERVAL_PROBE_TIME_MS
    ],
);

/// `struct ndtmsg`'s attributes.
pub(crate) static NEIGHTBL: Attrs = Attrs::new(
    T::RtnlNeightblAttrs,
    &[
        K::Hex,                 // NDTA_UNSPEC
        K::Str,                 // NDTA_NAME
        K::U32,                 // NDTA_THRESH1
        K::U32,                 // NDTA_THRESH2
        K::U32,                 // NDTA_THRESH3
        K::Struct(&NDT_CONFIG), // NDTA_CONFIG
        K::Nested(&NDT_PARMS),  // NDTA_PARMS
        K::Custom(ndt_stats),   // NDTA_STATS
        K::U64,                 // NDTA_GC_INTERVAL
    ],
);

/// A port range (`struct fib_rule_port_range`).
static PORT_RANGE: St = St::new(4, &[F::U("start", 0, 2), F::U("end", 2, 2)]);

/// `struct fib_rule_uid_range`.
static UID_RANGE: St = St::new(8, &[F::U("start", 0, 4), F::U("end", 4, 4)]);

/// `struct fib_rule_hdr`'s attributes.
pub(crate) static RULE: Attrs = Attrs::new(
    T::RtnlRuleAttrs,
    &[
        K::Hex,                                   // FRA_UNSPEC
        K::Custom(super::netlink_route::address), // FRA_DST
        K::Custom(super::netlink_route::address), // FRA_SRC
        K::Str,                                   // FRA_IIFNAME
        K::U32,                                   // FRA_GOTO
        K::Hex,                                   // FRA_UNUSED2
        K::U32,                                   // FRA_PRIORITY
        K::Hex,                                   // FRA_UNUSED3
        K::Hex,                                   // FRA_UNUSED4
        K::Hex,                                   // FRA_UNUSED5
        K::U32,                                   // FRA_FWMARK
        K::U32,                                   // FRA_FLOW
        K::Be64,                                  // FRA_TUN_ID
        K::U32,                                   // FRA_SUPPRESS_IFGROUP
        K::U32,                                   // FRA_SUPPRESS_PREFIXLEN
        K::XvalBareN(T::RoutingTableIds, 4),      // FRA_TABLE
        K::U32,                                   // FRA_FWMASK
        K::Str,                                   // FRA_OIFNAME
        K::Hex,                                   // FRA_PAD
        K::U8,                                    // FRA_L3MDEV
        K::Struct(&UID_RANGE),                    // FRA_UID_RANGE
        K::XvalN(T::RoutingProtocols, 1),         // FRA_PROTOCOL
        K::Xval(T::InetProtocols),                // FRA_IP_PROTO
        K::Struct(&PORT_RANGE),                   // FRA_SPORT_RANGE
        K::Struct(&PORT_RANGE),                   // FRA_DPORT_RANGE
    ],
);

/// `struct nda_cacheinfo`.
static NDA_CACHEINFO: St = St::new(
    16,
    &[
        F::U("ndm_confirmed", 0, 4),
        F::U("ndm_used", 4, 4),
        F::U("ndm_updated", 8, 4),
        F::U("ndm_refcnt", 12, 4),
    ],
);

/// `struct ndmsg`'s attributes.
pub(crate) static NEIGH: Attrs = Attrs::new(
    T::RtnlNeighAttrs,
    &[
        K::Hex,                                      // NDA_UNSPEC
        K::Custom(super::netlink_route::address),    // NDA_DST
        K::Custom(super::netlink_route::hwaddr),     // NDA_LLADDR
        K::Struct(&NDA_CACHEINFO),                   // NDA_CACHEINFO
        K::U32,                                      // NDA_PROBES
        K::U16,                                      // NDA_VLAN
        K::Be16,                                     // NDA_PORT
        K::U32,                                      // NDA_VNI
        K::Ifindex,                                  // NDA_IFINDEX
        K::Ifindex,                                  // NDA_MASTER
        K::U32,                                      // NDA_LINK_NETNSID
        K::U32,                                      // NDA_SRC_VNI
        K::Xval(T::InetProtocols),                   // NDA_PROTOCOL
        K::U32,                                      // NDA_NH_ID
        K::Nested(&NDA_FDB_EXT),                     // NDA_FDB_EXT_ATTRS
        K::FlagsN(T::NeighborCacheEntryExtFlags, 4), // NDA_FLAGS_EXT
        K::FlagsN(T::NeighborCacheEntryStates, 2),   // NDA_NDM_STATE_MASK
        K::FlagsN(T::NeighborCacheEntryFlags, 1),    // NDA_NDM_FLAGS_MASK
    ],
);

static NDA_FDB_EXT: Attrs = Attrs::new(
    T::RtnlNeighFdbExtAttrs,
    &[
        K::Hex,                          // NFEA_UNSPEC
        K::FlagsN(T::FdbNotifyFlags, 1), // NFEA_ACTIVITY_NOTIFY
    ],
);

static RTA_METRICS: Attrs = Attrs::new(
    T::RtnlRtaMetricsAttrs,
    &[
        K::Hex, // RTAX_UNSPEC
        K::U32, // RTAX_LOCK
        K::U32, // RTAX_MTU
        K::U32, // RTAX_WINDOW
        K::U32, // RTAX_RTT
        K::U32, // RTAX_RTTVAR
        K::U32, // RTAX_SSTHRESH
        K::U32, // RTAX_CWND
        K::U32, // RTAX_ADVMSS
        K::U32, // RTAX_REORDERING
        K::U32, // RTAX_HOPLIMIT
        K::U32, // RTAX_INITCWND
        K::U32, // RTAX_FEATURES
        K::U32, // RTAX_RTO_MIN
        K::U32, // RTAX_INITRWND
        K::U32, // RTAX_QUICKACK
        K::Str, // RTAX_CC_ALGO
    ],
);

/// `struct rta_cacheinfo`.
static RTA_CACHEINFO: St = St::new(
    32,
    &[
        F::U("rta_clntref", 0, 4),
        F::U("rta_lastuse", 4, 4),
        F::U("rta_expires", 8, 4),
        F::U("rta_error", 12, 4),
        F::U("rta_used", 16, 4),
        F::X("rta_id", 20, 4),
        F::U("rta_ts", 24, 4),
        F::U("rta_tsage", 28, 4),
    ],
);

/// `struct rta_mfc_stats`.
static RTA_MFC_STATS: St = St::new(
    24,
    &[
        F::U("mfcs_packets", 0, 8),
        F::U("mfcs_bytes", 8, 8),
        F::U("mfcs_wrong_if", 16, 8),
    ],
);

/// `struct rtvia`: its family, then an address of that family.
fn rtvia(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    if len < 2 {
        return false;
    }
    let Some(b) = nl.read(addr, 2) else {
        nl.addr(addr);
        return true;
    };
    let family = le(&b, 0, 2);
    nl.put("{rtvia_family=");
    nl.xval(T::Addrfams, family);
    if len > 2 {
        nl.put(", ");
        let fam = u8::try_from(family).unwrap_or(0);
        nl.inet_addr_at(addr.wrapping_add(2), len - 2, fam, "rtvia_addr");
    }
    nl.put("}");
    true
}

/// `RTA_MULTIPATH`: `struct rtnexthop`s, each followed by `RTA_*`
/// attributes of its own length.
fn multipath(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    const SIZE: u64 = 8;
    if len < SIZE {
        return false;
    }
    let (mut cur, mut left) = (addr, len);
    let mut is_array = false;
    loop {
        let Some(b) = nl.read(cur, SIZE) else {
            nl.addr(cur);
            break;
        };
        let nh_len = le(&b, 0, 2);
        let rtnh_len = left.min(nh_len);
        if cur == addr && nh_len < len {
            nl.put("[");
            is_array = true;
        }
        if cur != addr {
            nl.put(", ");
        }
        // No `-s` cut (strace has none here); the buffer's budget bounds
        // a hostile list.
        if nl.budget == 0 {
            nl.put("...");
            break;
        }
        nl.budget -= 1;
        if rtnh_len > SIZE {
            nl.put("[");
        }
        nl.put("{");
        nl.fields(
            &b,
            &[
                F::U("rtnh_len", 0, 2),
                F::Flags("rtnh_flags", 2, 1, T::RouteNexthopFlags),
                F::U("rtnh_hops", 3, 1),
                F::Ifindex("rtnh_ifindex", 4),
            ],
        );
        nl.put("}");
        if rtnh_len > SIZE {
            nl.put(", ");
            super::nlattr::list(nl, cur.wrapping_add(SIZE), rtnh_len - SIZE, &ROUTE);
            nl.put("]");
        }
        let step = (rtnh_len + 3) & !3;
        if step >= left || step == 0 {
            break;
        }
        cur = cur.wrapping_add(step);
        left -= step;
    }
    if is_array {
        nl.put("]");
    }
    true
}

/// `struct rtmsg`'s attributes.
pub(crate) static ROUTE: Attrs = Attrs::new(
    T::RtnlRouteAttrs,
    &[
        K::Hex,                                   // RTA_UNSPEC
        K::Custom(super::netlink_route::address), // RTA_DST
        K::Custom(super::netlink_route::address), // RTA_SRC
        K::Ifindex,                               // RTA_IIF
        K::Ifindex,                               // RTA_OIF
        K::Custom(super::netlink_route::address), // RTA_GATEWAY
        K::U32,                                   // RTA_PRIORITY
        K::Custom(super::netlink_route::address), // RTA_PREFSRC
        K::Nested(&RTA_METRICS),                  // RTA_METRICS
        K::Custom(multipath),                     // RTA_MULTIPATH
        K::U32,                                   // RTA_PROTOINFO
        K::U32,                                   // RTA_FLOW
        K::Struct(&RTA_CACHEINFO),                // RTA_CACHEINFO
        K::Hex,                                   // RTA_SESSION
        K::U32,                                   // RTA_MP_ALGO
        K::XvalBareN(T::RoutingTableIds, 4),      // RTA_TABLE
        K::U32,                                   // RTA_MARK
        K::Struct(&RTA_MFC_STATS),                // RTA_MFC_STATS
        K::Custom(rtvia),                         // RTA_VIA
        K::Custom(super::netlink_route::address), // RTA_NEWDST
        K::U8,                                    // RTA_PREF
        K::XvalN(T::LwtunnelEncapTypes, 2),       // RTA_ENCAP_TYPE
        K::Hex,                                   // RTA_ENCAP
        K::U64,                                   // RTA_EXPIRES
        K::Hex,                                   // RTA_PAD
        K::U32,                                   // RTA_UID
        K::U8,                                    // RTA_TTL_PROPAGATE
        K::U8,                                    // RTA_IP_PROTO
        K::U16,                                   // RTA_SPORT
        K::U16,                                   // RTA_DPORT
    ],
);

/// `struct nexthop_grp`s (reserved fields only when set).
fn nh_groups(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    if len < 8 {
        return false;
    }
    super::nlattr::array_of(nl, addr, len, 8, |nl, b| {
        nl.put("{");
        nl.fields(
            b,
            &[
                F::U("id", 0, 4),
                F::U("weight", 4, 1),
                F::XNonZero("resvd1", 5, 1),
                F::XNonZero("resvd2", 6, 2),
            ],
        );
        nl.put("}");
    });
    true
}

static NHA_RES_GROUP: Attrs = Attrs::new(
    T::RtnlNhaResGroupAttrs,
    &[
        K::Hex,    // NHA_RES_GROUP_PAD
        K::U16,    // NHA_RES_GROUP_BUCKETS
        K::ClockT, // NHA_RES_GROUP_IDLE_TIMER
        K::ClockT, // NHA_RES_GROUP_UNBALANCED_TIMER
        K::ClockT, // NHA_RES_GROUP_UNBALANCED_TIME
    ],
);

static NHA_RES_BUCKET: Attrs = Attrs::new(
    T::RtnlNhaResBucketAttrs,
    &[
        K::Hex,    // NHA_RES_BUCKET_PAD
        K::U16,    // NHA_RES_BUCKET_INDEX
        K::ClockT, // NHA_RES_BUCKET_IDLE_TIME
        K::U32,    // NHA_RES_BUCKET_NH_ID
    ],
);

/// `struct nhmsg`'s attributes.
pub(crate) static NEXTHOP: Attrs = Attrs::new(
    T::RtnlNexthopAttrs,
    &[
        K::Hex,                                   // NHA_UNSPEC
        K::U32,                                   // NHA_ID
        K::Custom(nh_groups),                     // NHA_GROUP
        K::XvalN(T::RtnlNexthopGrpTypes, 2),      // NHA_GROUP_TYPE
        K::U32,                                   // NHA_BLACKHOLE
        K::Ifindex,                               // NHA_OIF
        K::Custom(super::netlink_route::address), // NHA_GATEWAY
        K::XvalN(T::LwtunnelEncapTypes, 2),       // NHA_ENCAP_TYPE
        K::Hex,                                   // NHA_ENCAP
        K::U32,                                   // NHA_GROUPS
        K::Ifindex,                               // NHA_MASTER
        K::U32,                                   // NHA_FDB
        K::Nested(&NHA_RES_GROUP),                // NHA_RES_GROUP
        K::Nested(&NHA_RES_BUCKET),               // NHA_RES_BUCKET
    ],
);

/// `RTM_NEWCACHEREPORT` attributes of `RTNL_FAMILY_IPMR`.
pub(crate) static IPMRA_CREPORT: Attrs = Attrs::new(
    T::RtnlIpmraCreportAttr,
    &[
        K::Hex,                            // IPMRA_CREPORT_UNSPEC
        K::XvalN(T::RtnlIpmraMsgTypes, 1), // IPMRA_CREPORT_MSGTYPE
        K::U32,                            // IPMRA_CREPORT_VIF_ID
        K::Inet(2),                        // IPMRA_CREPORT_SRC_ADDR
        K::Inet(2),                        // IPMRA_CREPORT_DST_ADDR
        K::Hex,                            // IPMRA_CREPORT_PKT
        K::U32,                            // IPMRA_CREPORT_TABLE
    ],
);

/// `RTM_NEWCACHEREPORT` attributes of `RTNL_FAMILY_IP6MR`.
pub(crate) static IP6MRA_CREPORT: Attrs = Attrs::new(
    T::RtnlIp6mraCreportAttr,
    &[
        K::Hex,                             // IP6MRA_CREPORT_UNSPEC
        K::XvalN(T::RtnlIp6mraMsgTypes, 1), // IP6MRA_CREPORT_MSGTYPE
        K::U32,                             // IP6MRA_CREPORT_MIF_ID
        K::Inet(10),                        // IP6MRA_CREPORT_SRC_ADDR
        K::Inet(10),                        // IP6MRA_CREPORT_DST_ADDR
        K::Hex,                             // IP6MRA_CREPORT_PKT
    ],
);
