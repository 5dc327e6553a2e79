//! `RTM_NEWSTATS`/`RTM_GETSTATS` attributes (after `struct
//! if_stats_msg`): the 64-bit link counters, the per-kind extended
//! statistics (a bridge's VLAN, multicast and STP counters, a bond's
//! 802.3ad counters), the offload counters and the per-family ones
//! (`AF_MPLS`'s `struct mpls_link_stats`), nested as the kernel's
//! `rtnl_fill_statsinfo` builds them and as strace's `rtnl_stats.c` shows
//! them.

use super::netlink::Nl;
use super::netlink_fields::{le, F};
use super::netlink_link::link_stats64;
use super::nlattr::{structure, Attrs, Kind as K, St};
use crate::xlat::Table as T;

/// A fixed structure followed by the rest of the data in hex (`{...},
/// "\x.."`): false when the data is shorter than the structure (hex
/// then).
fn with_tail(nl: &mut Nl<'_, '_>, addr: u64, len: u64, st: &St) -> bool {
    if !structure(nl, addr, len, st) {
        return false;
    }
    if len > st.size {
        nl.put(", ");
        nl.hex(addr.wrapping_add(st.size), len - st.size);
    }
    true
}

/// `struct bridge_vlan_xstats`: `pad2` only when set.
static BRIDGE_VLAN: St = St::new(
    40,
    &[
        F::U("rx_bytes", 0, 8),
        F::U("rx_packets", 8, 8),
        F::U("tx_bytes", 16, 8),
        F::U("tx_packets", 24, 8),
        F::U("vid", 32, 2),
        F::Flags("flags", 34, 2, T::NlBridgeVlanFlags),
        F::XNonZero("pad2", 36, 4),
    ],
);

/// A `__u64 [BR_MCAST_DIR_SIZE]` counter pair of `struct br_mcast_stats`:
/// `[[BR_MCAST_DIR_RX]=N, [BR_MCAST_DIR_TX]=N]`.
fn mcast_pair(nl: &mut Nl<'_, '_>, b: &[u8]) {
    nl.put("[");
    for k in 0..2u64 {
        if k > 0 {
            nl.put(", ");
        }
        nl.put("[");
        nl.xval_u(T::IfstatsXstatsBridgeMcastIndices, k);
        let s = format!("]={}", le(b, 8 * k as usize, 8));
        nl.put(&s);
    }
    nl.put("]");
}

/// `struct br_mcast_stats`: IGMP and MLD counters by direction.
static BRIDGE_MCAST: St = St::new(
    240,
    &[
        F::Fn("igmp_v1queries", 0, 16, mcast_pair),
        F::Fn("igmp_v2queries", 16, 16, mcast_pair),
        F::Fn("igmp_v3queries", 32, 16, mcast_pair),
        F::Fn("igmp_leaves", 48, 16, mcast_pair),
        F::Fn("igmp_v1reports", 64, 16, mcast_pair),
        F::Fn("igmp_v2reports", 80, 16, mcast_pair),
        F::Fn("igmp_v3reports", 96, 16, mcast_pair),
        F::U("igmp_parse_errors", 112, 8),
        F::Fn("mld_v1queries", 120, 16, mcast_pair),
        F::Fn("mld_v2queries", 136, 16, mcast_pair),
        F::Fn("mld_leaves", 152, 16, mcast_pair),
        F::Fn("mld_v1reports", 168, 16, mcast_pair),
        F::Fn("mld_v2reports", 184, 16, mcast_pair),
        F::U("mld_parse_errors", 200, 8),
        F::Fn("mcast_bytes", 208, 16, mcast_pair),
        F::Fn("mcast_packets", 224, 16, mcast_pair),
    ],
);

/// `struct bridge_stp_xstats`.
static BRIDGE_STP: St = St::new(
    48,
    &[
        F::U("transition_blk", 0, 8),
        F::U("transition_fwd", 8, 8),
        F::U("rx_bpdu", 16, 8),
        F::U("tx_bpdu", 24, 8),
        F::U("rx_tcn", 32, 8),
        F::U("tx_tcn", 40, 8),
    ],
);

/// `struct mpls_link_stats`.
static MPLS_LINK: St = St::new(
    72,
    &[
        F::U("rx_packets", 0, 8),
        F::U("tx_packets", 8, 8),
        F::U("rx_bytes", 16, 8),
        F::U("tx_bytes", 24, 8),
        F::U("rx_errors", 32, 8),
        F::U("tx_errors", 40, 8),
        F::U("rx_dropped", 48, 8),
        F::U("tx_dropped", 56, 8),
        F::U("rx_noroute", 64, 8),
    ],
);

fn bridge_vlan(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    with_tail(nl, addr, len, &BRIDGE_VLAN)
}

fn bridge_mcast(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    with_tail(nl, addr, len, &BRIDGE_MCAST)
}

fn bridge_stp(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    with_tail(nl, addr, len, &BRIDGE_STP)
}

fn mpls_link(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    with_tail(nl, addr, len, &MPLS_LINK)
}

/// `BRIDGE_XSTATS_*`.
static BRIDGE: Attrs = Attrs::new(
    T::IfstatsXstatsBridgeAttrs,
    &[
        K::Hex,                  // BRIDGE_XSTATS_UNSPEC
        K::Custom(bridge_vlan),  // BRIDGE_XSTATS_VLAN
        K::Custom(bridge_mcast), // BRIDGE_XSTATS_MCAST
        K::Hex,                  // BRIDGE_XSTATS_PAD
        K::Custom(bridge_stp),   // BRIDGE_XSTATS_STP
    ],
);

/// `BOND_3AD_STAT_*`: `__u64` counters.
static BOND_3AD: Attrs = Attrs::new(
    T::IfstatsXstatsBond3adAttrs,
    &[
        K::U64, // BOND_3AD_STAT_LACPDU_RX
        K::U64, // BOND_3AD_STAT_LACPDU_TX
        K::U64, // BOND_3AD_STAT_LACPDU_UNKNOWN_RX
        K::U64, // BOND_3AD_STAT_LACPDU_ILLEGAL_RX
        K::U64, // BOND_3AD_STAT_MARKER_RX
        K::U64, // BOND_3AD_STAT_MARKER_TX
        K::U64, // BOND_3AD_STAT_MARKER_RESP_RX
        K::U64, // BOND_3AD_STAT_MARKER_RESP_TX
        K::U64, // BOND_3AD_STAT_MARKER_UNKNOWN_RX
        K::Hex, // BOND_3AD_STAT_PAD
    ],
);

/// `BOND_XSTATS_*`.
static BOND: Attrs = Attrs::new(
    T::IfstatsXstatsBondAttrs,
    &[
        K::Hex,               // BOND_XSTATS_UNSPEC
        K::Nested(&BOND_3AD), // BOND_XSTATS_3AD
    ],
);

/// `LINK_XSTATS_TYPE_*`: the statistics of a link kind.
static XSTATS: Attrs = Attrs::new(
    T::IfstatsXstatsTypeAttrs,
    &[
        K::Hex,             // LINK_XSTATS_TYPE_UNSPEC
        K::Nested(&BRIDGE), // LINK_XSTATS_TYPE_BRIDGE
        K::Nested(&BOND),   // LINK_XSTATS_TYPE_BOND
    ],
);

/// `IFLA_OFFLOAD_XSTATS_*`.
static OFFLOAD: Attrs = Attrs::new(
    T::IfstatsOffloadAttrs,
    &[
        K::Hex,                  // IFLA_OFFLOAD_XSTATS_UNSPEC
        K::Custom(link_stats64), // IFLA_OFFLOAD_XSTATS_CPU_HIT
    ],
);

/// `MPLS_STATS_*` (`AF_MPLS` in `IFLA_STATS_AF_SPEC`).
static MPLS: Attrs = Attrs::new(
    T::IfstatsAfSpecMplsAttrs,
    &[
        K::Hex,               // MPLS_STATS_UNSPEC
        K::Custom(mpls_link), // MPLS_STATS_LINK
    ],
);

/// `AF_MPLS`: the one family with statistics of its own.
const AF_MPLS: usize = 28;

/// `IFLA_STATS_AF_SPEC`'s attributes: one per address family, typed by
/// the family (the others in hex).
static AF_SPEC_KINDS: [K; AF_MPLS + 1] = {
    let mut k = [K::Hex; AF_MPLS + 1];
    k[AF_MPLS] = K::Nested(&MPLS);
    k
};
static AF_SPEC: Attrs = Attrs::new(T::Addrfams, &AF_SPEC_KINDS);

/// `IFLA_STATS_*`: the attributes of a statistics message.
pub(crate) static STATS: Attrs = Attrs::new(
    T::IfstatsAttrs,
    &[
        K::Hex,                  // IFLA_STATS_UNSPEC
        K::Custom(link_stats64), // IFLA_STATS_LINK_64
        K::Nested(&XSTATS),      // IFLA_STATS_LINK_XSTATS
        K::Nested(&XSTATS),      // IFLA_STATS_LINK_XSTATS_SLAVE
        K::Nested(&OFFLOAD),     // IFLA_STATS_LINK_OFFLOAD_XSTATS
        K::Nested(&AF_SPEC),     // IFLA_STATS_AF_SPEC
    ],
);
