//! Unit tests of the netlink decoders on synthetic guest memory, against
//! the lines strace's own tests expect.

use vstrace_core::testmem::SparseVirt;
use vstrace_core::DecodeOptions;

use super::{decode, proto, sockbuf};
use crate::proto::LinuxAbi;

const X: LinuxAbi = LinuxAbi::X86_64;
/// Where test buffers end: the page after it is unmapped.
const END: u64 = 0x10_1000;

fn hdr(len: u32, ty: u16, flags: u16, seq: u32, pid: u32) -> Vec<u8> {
    let mut v = len.to_le_bytes().to_vec();
    v.extend(ty.to_le_bytes());
    v.extend(flags.to_le_bytes());
    v.extend(seq.to_le_bytes());
    v.extend(pid.to_le_bytes());
    v
}

fn nla(len: u16, ty: u16) -> Vec<u8> {
    let mut v = len.to_le_bytes().to_vec();
    v.extend(ty.to_le_bytes());
    v
}

/// Memory holding `bytes` right before an unmapped page, and their
/// address.
fn mem(bytes: &[u8]) -> (SparseVirt, u64) {
    let mut m = SparseVirt::new();
    let at = END - bytes.len() as u64;
    m.map(at, bytes);
    (m, at)
}

fn run_opts(p: u16, bytes: &[u8], len: u64, o: &DecodeOptions) -> String {
    let (mut m, at) = mem(bytes);
    decode(&mut m, X, o, p, at, len).unwrap().render()
}

fn run(p: u16, bytes: &[u8]) -> String {
    run_opts(p, bytes, bytes.len() as u64, &DecodeOptions::default())
}

#[test]
fn messages_headers_and_raw_payloads() {
    let mut one = hdr(20, 1, 0x301, 0, 0);
    one.extend(b"abcd");
    let h = "{nlmsg_len=20, nlmsg_type=NLMSG_NOOP, nlmsg_flags=NLM_F_REQUEST|0x300, \
             nlmsg_seq=0, nlmsg_pid=0}";
    assert_eq!(
        run(proto::SOCK_DIAG, &one),
        format!("[{h}, \"\\x61\\x62\\x63\\x64\"]")
    );
    // A header alone; a length under the header's (no payload shown).
    assert_eq!(
        run(proto::SOCK_DIAG, &one[..16]).replace("=20", "=X"),
        h.replace("=20", "=X")
    );
    // Two messages (the first padded to 4 bytes).
    let mut two = one.clone();
    two.extend(&one);
    assert_eq!(
        run(proto::SOCK_DIAG, &two),
        format!("[[{h}, \"\\x61\\x62\\x63\\x64\"], [{h}, \"\\x61\\x62\\x63\\x64\"]]")
    );
    // The second header unreadable: its address in a comment.
    let (mut m, at) = mem(&one);
    let v = decode(
        &mut m,
        X,
        &DecodeOptions::default(),
        proto::SOCK_DIAG,
        at,
        40,
    )
    .unwrap()
    .render();
    assert_eq!(
        v,
        format!("[[{h}, \"\\x61\\x62\\x63\\x64\"], ... /* {END:#x} */]")
    );
    // Fewer bytes than a header: hex.
    assert_eq!(run(proto::ROUTE, b"abcd"), "\"\\x61\\x62\\x63\\x64\"");
    // Unreadable at all: the address.
    let mut m = SparseVirt::new();
    let v = decode(&mut m, X, &DecodeOptions::default(), proto::ROUTE, END, 16).unwrap();
    assert_eq!(v.render(), format!("{END:#x}"));
}

#[test]
fn many_messages_are_cut_at_the_string_limit() {
    let mut b = Vec::new();
    for i in 0..33 {
        b.extend(hdr(16, 1, 0x301, i, 0));
    }
    let v = run(proto::SOCK_DIAG, &b);
    assert!(v.ends_with("nlmsg_seq=31, nlmsg_pid=0}, ...]"), "{v}");
    let o = DecodeOptions {
        verbose: true,
        ..Default::default()
    };
    let v = run_opts(proto::SOCK_DIAG, &b, b.len() as u64, &o);
    assert!(v.ends_with("nlmsg_seq=32, nlmsg_pid=0}]"), "{v}");
}

#[test]
fn errors_done_and_extended_acks() {
    // NLMSG_ERROR quoting a request with a payload.
    let mut b = hdr(16 + 4 + 20, 2, 1, 0, 0);
    b.extend((-13i32).to_le_bytes());
    b.extend(hdr(20, 1, 0x301, 421, 12345));
    b.extend(b"abcd");
    assert_eq!(
        run(proto::SOCK_DIAG, &b),
        "[{nlmsg_len=40, nlmsg_type=NLMSG_ERROR, nlmsg_flags=NLM_F_REQUEST, nlmsg_seq=0, \
         nlmsg_pid=0}, {error=-EACCES, msg=[{nlmsg_len=20, nlmsg_type=NLMSG_NOOP, \
         nlmsg_flags=NLM_F_REQUEST|0x300, nlmsg_seq=421, nlmsg_pid=12345}, \
         \"\\x61\\x62\\x63\\x64\"]}]"
    );
    // Capped, with an extended-ack message attribute.
    let mut b = hdr(16 + 20 + 8, 2, 0x100, 0, 0);
    b.extend(0i32.to_le_bytes());
    b.extend(hdr(16, 0x12, 1, 0, 0));
    b.extend(nla(8, 1));
    b.extend(b"err\0");
    assert_eq!(
        run(proto::ROUTE, &b),
        "[{nlmsg_len=44, nlmsg_type=NLMSG_ERROR, nlmsg_flags=NLM_F_CAPPED, nlmsg_seq=0, \
         nlmsg_pid=0}, [{error=0, msg={nlmsg_len=16, nlmsg_type=RTM_GETLINK, \
         nlmsg_flags=NLM_F_REQUEST, nlmsg_seq=0, nlmsg_pid=0}}, \
         [{nla_len=8, nla_type=NLMSGERR_ATTR_MSG}, \"err\"]]]"
    );
    // NLMSG_DONE with an integer.
    let mut b = hdr(20, 3, 2, 0, 0);
    b.extend(0xfacefeed_u32.to_le_bytes());
    assert_eq!(
        run(proto::ROUTE, &b),
        "[{nlmsg_len=20, nlmsg_type=NLMSG_DONE, nlmsg_flags=NLM_F_MULTI, nlmsg_seq=0, \
         nlmsg_pid=0}, -87097619]"
    );
}

#[test]
fn route_and_sock_diag_requests() {
    // RTM_GETLINK dump of ifinfomsg with an IFLA_IFNAME attribute.
    let mut b = hdr(16 + 16 + 8, 0x12, 0x301, 0, 0);
    b.extend([0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    b.extend(nla(7, 3));
    b.extend(b"lo\0\0");
    assert_eq!(
        run(proto::ROUTE, &b),
        "[{nlmsg_len=40, nlmsg_type=RTM_GETLINK, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP, \
         nlmsg_seq=0, nlmsg_pid=0}, {ifi_family=AF_UNSPEC, ifi_type=ARPHRD_ETHER, \
         ifi_index=1, ifi_flags=IFF_UP, ifi_change=0}, [{nla_len=7, nla_type=IFLA_IFNAME}, \
         \"lo\"]]"
    );
    // SOCK_DIAG_BY_FAMILY for AF_UNIX.
    let mut b = hdr(16 + 24, 20, 0x301, 0, 0);
    b.extend([1, 0, 0, 0]);
    b.extend(u32::MAX.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend(1u32.to_le_bytes());
    b.extend([0xff; 8]);
    let v = run(proto::SOCK_DIAG, &b);
    assert!(
        v.contains("{sdiag_family=AF_UNIX, sdiag_protocol=0, udiag_states=1<<TCP_ESTABLISHED|"),
        "{v}"
    );
    assert!(
        v.ends_with(
            "udiag_ino=0, udiag_show=UDIAG_SHOW_NAME, udiag_cookie=[4294967295, 4294967295]}]"
        ),
        "{v}"
    );
    assert!(v.contains("nlmsg_type=SOCK_DIAG_BY_FAMILY, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP"));
    // Too short for the request: `...`.
    let mut b = hdr(16 + 4, 20, 1, 0, 0);
    b.extend([1, 2, 3, 4]);
    assert!(run(proto::SOCK_DIAG, &b).ends_with("{sdiag_family=AF_UNIX, ...}]"));
}

#[test]
fn hostile_attributes_end() {
    // Nested attributes claiming more than the buffer, nested deeply.
    let mut b = hdr(16 + 16 + 4 * 40, 0x10, 0, 0, 0);
    b.extend([0u8; 16]);
    for _ in 0..40 {
        b.extend(nla(0xffff, 0x8000 | 26));
    }
    let v = run(proto::ROUTE, &b);
    assert!(v.contains("nla_type=NLA_F_NESTED|IFLA_AF_SPEC"), "{v}");
    // Zero-length attributes stop the list.
    let mut b = hdr(16 + 16 + 8, 0x10, 0, 0, 0);
    b.extend([0u8; 16]);
    b.extend([0u8; 8]);
    let v = run(proto::ROUTE, &b);
    assert!(v.ends_with("{nla_len=0, nla_type=IFLA_UNSPEC}]"), "{v}");
}

#[test]
fn which_calls_carry_messages() {
    assert_eq!(
        sockbuf("sendto", X, &[3, 0x1000, 20, 0, 0, 0], None),
        Some((1, 0x1000, 20))
    );
    assert_eq!(
        sockbuf("sendto", X, &[3, 0x1000, 20, 0, 0, 0], Some(20)),
        None
    );
    assert_eq!(
        sockbuf("recvfrom", X, &[3, 0x1000, 200, 0, 0, 0], Some(40)),
        Some((1, 0x1000, 40))
    );
    assert_eq!(
        sockbuf("recvfrom", X, &[3, 0x1000, 200, 0, 0, 0], Some(-11)),
        None
    );
    assert_eq!(sockbuf("write", X, &[3, 0x1000, 200], None), None);
}

#[test]
fn inet_packet_and_smc_diag() {
    let mut req = vec![2u8, 6, 8, 0];
    req.extend(0x80u32.to_le_bytes());
    req.extend(52730u16.to_be_bytes());
    req.extend(44510u16.to_be_bytes());
    let addr = [12u8, 34, 56, 78, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    req.extend(addr);
    req.extend(addr);
    req.extend(7u32.to_le_bytes());
    req.extend(0xdeadbeef_u32.to_le_bytes());
    req.extend(0xbadc0ded_u32.to_le_bytes());
    let mut b = hdr(16 + 56, 20, 1, 0, 0);
    b.extend(&req);
    let id = "id={idiag_sport=htons(52730), idiag_dport=htons(44510), \
              idiag_src=inet_addr(\"12.34.56.78\"), idiag_dst=inet_addr(\"12.34.56.78\"), \
              idiag_if=7, idiag_cookie=[3735928559, 3134983661]}";
    assert!(
        run(proto::SOCK_DIAG, &b).ends_with(&format!(
            "{{sdiag_family=AF_INET, sdiag_protocol=IPPROTO_TCP, \
             idiag_ext=1<<(INET_DIAG_CONG-1), idiag_states=1<<TCP_CLOSE, {id}}}]"
        )),
        "{}",
        run(proto::SOCK_DIAG, &b)
    );
    // SMC: the same socket id after a flag byte, always AF_INET.
    let mut b = hdr(16 + 52, 20, 1, 0, 0);
    b.extend([43u8, 0, 0, 1]);
    b.extend(&req[8..]);
    assert!(run(proto::SOCK_DIAG, &b).ends_with(&format!(
        "{{diag_family=AF_SMC, diag_ext=1<<(SMC_DIAG_CONNINFO-1), {id}}}]"
    )));
    // A packet socket answer.
    let mut b = hdr(16 + 16, 20, 0, 0, 0);
    b.extend([17u8, 1]);
    b.extend(0x9100u16.to_le_bytes());
    b.extend(0xfacefeed_u32.to_le_bytes());
    b.extend(0xdeadbeef_u32.to_le_bytes());
    b.extend(0xbadc0ded_u32.to_le_bytes());
    assert!(run(proto::SOCK_DIAG, &b).ends_with(
        "{pdiag_family=AF_PACKET, pdiag_type=SOCK_STREAM, pdiag_num=ETH_P_QINQ1, \
         pdiag_ino=4207869677, pdiag_cookie=[3735928559, 3134983661]}]"
    ));
}

#[test]
fn udev_messages_and_generic_controller() {
    let mut b = b"libudev\0".to_vec();
    b.extend(0xfeedcafe_u32.to_be_bytes());
    b.extend(40u32.to_le_bytes());
    b.extend(40u32.to_le_bytes());
    b.extend(3u32.to_le_bytes());
    b.extend(0xc370b302_u32.to_be_bytes());
    b.extend(0x10800000_u32.to_be_bytes());
    b.extend(0x2000400_u32.to_be_bytes());
    b.extend(0u32.to_be_bytes());
    b.extend(b"A=1");
    assert_eq!(
        run(proto::KOBJECT_UEVENT, &b),
        "[{prefix=\"libudev\", magic=htonl(0xfeedcafe), header_size=40, properties_off=40, \
         properties_len=3, filter_subsystem_hash=htonl(0xc370b302), \
         filter_devtype_hash=htonl(0x10800000), filter_tag_bloom_hi=htonl(0x2000400), \
         filter_tag_bloom_lo=htonl(0)}, \"A=1\"]"
    );
    // Not udev's: left to the string decoder.
    let (mut m, at) = mem(b"add@/devices/x\0");
    assert!(decode(
        &mut m,
        X,
        &DecodeOptions::default(),
        proto::KOBJECT_UEVENT,
        at,
        15
    )
    .is_none());
    let mut b = hdr(20, 0x10, 0x301, 0, 0);
    b.extend([3, 0, 0, 0]);
    assert!(run(proto::GENERIC, &b)
        .starts_with("[{nlmsg_len=20, nlmsg_type=nlctrl, nlmsg_flags=NLM_F_REQUEST|0x300"));
}

#[test]
fn interface_indexes_named_from_the_kernel() {
    let mut b = hdr(32, 0x10, 1, 0, 0);
    b.extend([7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let o = DecodeOptions::default();
    let (mut m, at) = mem(&b);
    let (v, wanted) = super::decode_named(&mut m, X, &o, proto::ROUTE, at, 32, &[]);
    assert!(v.unwrap().render().contains("ifi_index=1,"));
    assert_eq!(wanted, vec![1]);
    let names = [(1, "lo".to_string())];
    let (v, wanted) = super::decode_named(&mut m, X, &o, proto::ROUTE, at, 32, &names);
    assert!(v
        .unwrap()
        .render()
        .contains("ifi_index=if_nametoindex(\"lo\"),"));
    assert!(wanted.is_empty());
}

#[test]
fn random_buffers_never_panic_and_stay_bounded() {
    // A fixed pseudo-random sequence: lengths and types that point past
    // the buffer, nest, and claim huge sizes.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let o = DecodeOptions {
        verbose: true,
        ..Default::default()
    };
    for round in 0..300 {
        let n = (next() % 600) as usize;
        let b: Vec<u8> = (0..n).map(|_| next() as u8).collect();
        let p = [0, 4, 7, 9, 12, 15, 16, 21, 6][round % 9];
        let len = if round % 3 == 0 { next() } else { n as u64 };
        let (mut m, at) = mem(&b);
        // None: a uevent that is no udev message (a string elsewhere).
        if let Some(v) = decode(&mut m, X, &o, p, at, len) {
            let t = v.render();
            assert!(t.len() < 4 << 20, "{} bytes", t.len());
        }
    }
}

/// A `RTM_GETQDISC` dump request (`struct tcmsg` of `lo`'s index 1)
/// carrying `attrs`.
fn tc_request(attrs: &[u8]) -> Vec<u8> {
    let len = 16 + 20 + attrs.len() as u32;
    let mut v = hdr(len, 0x26, 0x300, 0, 0);
    v.push(1); // AF_UNIX
    v.extend([0, 0, 0]);
    v.extend(1u32.to_le_bytes());
    v.extend([0; 12]);
    v.extend(attrs);
    v
}

#[test]
fn route_attributes_nest_and_show_structures() {
    let head = "{nlmsg_len=N, nlmsg_type=RTM_GETQDISC, nlmsg_flags=NLM_F_DUMP, \
                nlmsg_seq=0, nlmsg_pid=0}, {tcm_family=AF_UNIX, tcm_ifindex=1, \
                tcm_handle=0, tcm_parent=0, tcm_info=0}";
    let norm = |s: String| {
        let i = s.find("nlmsg_len=").unwrap() + 10;
        let j = i + s[i..].find(',').unwrap();
        format!("{}N{}", &s[..i], &s[j..])
    };
    // TCA_STATS2 { TCA_STATS_RATE_EST {bps, pps} }.
    let mut a = nla(16, 7);
    a.extend(nla(12, 2));
    a.extend(7u32.to_le_bytes());
    a.extend(9u32.to_le_bytes());
    assert_eq!(
        norm(run(proto::ROUTE, &tc_request(&a))),
        format!(
            "[{head}, [{{nla_len=16, nla_type=TCA_STATS2}}, [{{nla_len=12, \
             nla_type=TCA_STATS_RATE_EST}}, {{bps=7, pps=9}}]]]"
        )
    );
    // Too short for the structure: hex; TCA_RATE's signed interval.
    let mut a = nla(6, 5);
    a.extend([0xcd, 0xab]);
    assert!(run(proto::ROUTE, &tc_request(&a)).ends_with("{interval=-51, ewma_log=171}]]"));
    let mut a = nla(7, 5);
    a.extend([0xcd, 0xab, 1]);
    assert!(run(proto::ROUTE, &tc_request(&a)).contains("TCA_RATE}, {interval=-51"));
    let mut a = nla(36, 3);
    a.extend([0x61; 32]);
    assert!(run(proto::ROUTE, &tc_request(&a)).contains("TCA_STATS}, \"\\x61"));
}

#[test]
fn hostile_nesting_is_bounded() {
    // 200 levels of TCA_STATS2 → TCA_STATS_BASIC... each nested list
    // holding the next: decoding stops nesting at MAX_DEPTH.
    let depth = 200usize;
    let mut a = Vec::new();
    for k in 0..depth {
        let len = (4 * (depth - k)) as u16;
        a.extend(nla(len, 7 | 0x8000));
    }
    let s = run(proto::ROUTE, &tc_request(&a));
    assert!(s.matches("nla_len=").count() <= super::super::nlattr::MAX_DEPTH as usize + 1);
    // A nexthop list whose lengths are zero ends.
    let mut rt = hdr(16 + 12 + 12, 0x1a, 0x300, 0, 0);
    rt.extend([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    rt.extend(nla(12, 9));
    rt.extend([0; 8]);
    let s = run(proto::ROUTE, &rt);
    assert!(s.contains("RTA_MULTIPATH}, [{rtnh_len=0"), "{s}");
}

#[test]
fn clock_ticks_show_seconds() {
    assert_eq!(
        super::super::nlattr::clock_t(5700500),
        "5700500 /* 57005.00 s */"
    );
    assert_eq!(super::super::nlattr::clock_t(99), "99 /* 0.99 s */");
    assert_eq!(super::super::nlattr::clock_t(0), "0");
}

/// An `RTM_GETSTATS` dump request of `if_stats_msg` for ifindex 1 with
/// the attributes `a`.
fn stats_request(a: &[u8]) -> Vec<u8> {
    let mut b = hdr(16 + 12 + a.len() as u32, 0x5e, 0x300, 0, 0);
    b.extend([0, 0, 0, 0]);
    b.extend(1u32.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend(a);
    b
}

#[test]
fn stats_attributes_nest_by_kind_and_family() {
    let tail = |s: String| s[s.find("filter_mask=0}, ").unwrap() + 16..].to_string();
    // IFLA_STATS_LINK_XSTATS { LINK_XSTATS_TYPE_BRIDGE { BRIDGE_XSTATS_VLAN
    // {...}, 4 more bytes } }.
    let mut a = nla(4 + 4 + 4 + 44, 2);
    a.extend(nla(4 + 4 + 44, 1));
    a.extend(nla(4 + 44, 1));
    for v in [1u64, 2, 3, 4] {
        a.extend(v.to_le_bytes());
    }
    a.extend(7u16.to_le_bytes());
    a.extend(0x42u16.to_le_bytes());
    a.extend(0xbadc0dedu32.to_le_bytes());
    a.extend(b"abcd");
    assert_eq!(
        tail(run(proto::ROUTE, &stats_request(&a))),
        "[{nla_len=56, nla_type=IFLA_STATS_LINK_XSTATS}, [{nla_len=52, \
         nla_type=LINK_XSTATS_TYPE_BRIDGE}, [{nla_len=48, nla_type=BRIDGE_XSTATS_VLAN}, \
         {rx_bytes=1, rx_packets=2, tx_bytes=3, tx_packets=4, vid=7, \
         flags=BRIDGE_VLAN_INFO_PVID|BRIDGE_VLAN_INFO_ONLY_OPTS, pad2=0xbadc0ded}, \
         \"\\x61\\x62\\x63\\x64\"]]]]"
    );
    // IFLA_STATS_AF_SPEC { AF_MPLS { MPLS_STATS_LINK {...} } }; another
    // family's data in hex.
    let mut a = nla(4 + 4 + 4 + 72, 5);
    a.extend(nla(4 + 4 + 72, 28));
    a.extend(nla(4 + 72, 1));
    for v in 0..9u64 {
        a.extend(v.to_le_bytes());
    }
    assert_eq!(
        tail(run(proto::ROUTE, &stats_request(&a))),
        "[{nla_len=84, nla_type=IFLA_STATS_AF_SPEC}, [{nla_len=80, nla_type=AF_MPLS}, \
         [{nla_len=76, nla_type=MPLS_STATS_LINK}, {rx_packets=0, tx_packets=1, \
         rx_bytes=2, tx_bytes=3, rx_errors=4, tx_errors=5, rx_dropped=6, \
         tx_dropped=7, rx_noroute=8}]]]]"
    );
    let mut a = nla(4 + 4 + 4 + 4, 5);
    a.extend(nla(12, 2));
    a.extend(nla(8, 1));
    a.extend(b"wxyz");
    assert!(tail(run(proto::ROUTE, &stats_request(&a)))
        .contains("nla_type=AF_INET}, \"\\x08\\x00\\x01\\x00\\x77"));
    // A bridge's multicast counters by direction; too short: hex.
    let mut a = nla(4 + 4 + 4 + 240, 2);
    a.extend(nla(4 + 4 + 240, 1));
    a.extend(nla(4 + 240, 2));
    a.extend([0u8; 240]);
    let s = tail(run(proto::ROUTE, &stats_request(&a)));
    assert!(s.contains(
        "nla_type=BRIDGE_XSTATS_MCAST}, {igmp_v1queries=[[BR_MCAST_DIR_RX]=0, \
         [BR_MCAST_DIR_TX]=0], "
    ));
    assert!(s.contains("igmp_parse_errors=0, mld_v1queries="));
    let mut a = nla(4 + 4 + 4 + 8, 2);
    a.extend(nla(4 + 4 + 8, 1));
    a.extend(nla(4 + 8, 4));
    a.extend([0x61u8; 8]);
    assert!(tail(run(proto::ROUTE, &stats_request(&a)))
        .contains("nla_type=BRIDGE_XSTATS_STP}, \"\\x61"));
}

#[test]
fn bridge_link_data_by_kind() {
    // RTM_GETLINK, ifinfomsg, IFLA_LINKINFO { IFLA_INFO_KIND "bridge",
    // IFLA_INFO_DATA { MULTI_BOOLOPT, VLAN_PROTOCOL, PRIORITY, ROOT_ID } }.
    let mut data = nla(12, 46);
    data.extend(1u32.to_le_bytes());
    data.extend(0x8000_0002u32.to_le_bytes());
    data.extend(nla(6, 8));
    data.extend([0x88, 0xc7, 0, 0]);
    data.extend(nla(6, 6));
    data.extend([0xed, 0xde, 0, 0]);
    data.extend(nla(12, 10));
    data.extend([0xbe, 0xef, 0xfa, 0xce, 0xde, 0xc0, 0xde, 0xad]);
    let mut info = nla(11, 1);
    info.extend(b"bridge\0\0");
    info.extend(nla(4 + data.len() as u16, 2));
    info.extend(&data);
    let mut attrs = nla(4 + info.len() as u16, 18);
    attrs.extend(&info);
    let mut msg = hdr(16 + 16 + attrs.len() as u32, 18, 0x301, 0, 0);
    msg.extend([0u8; 16]);
    msg.extend(&attrs);
    let out = run(proto::ROUTE, &msg);
    assert!(
        out.contains(
            "[{nla_len=12, nla_type=IFLA_BR_MULTI_BOOLOPT}, \
             {optval=1<<BR_BOOLOPT_NO_LL_LEARN, \
             optmask=1<<BR_BOOLOPT_MCAST_VLAN_SNOOPING|0x80000000}]"
        ),
        "{out}"
    );
    assert!(
        out.contains("IFLA_BR_VLAN_PROTOCOL}, htons(ETH_P_PREAUTH)]"),
        "{out}"
    );
    assert!(out.contains("IFLA_BR_PRIORITY}, 57069]"), "{out}");
    assert!(
        out.contains("IFLA_BR_ROOT_ID}, {prio=[190, 239], addr=fa:ce:de:c0:de:ad}]"),
        "{out}"
    );
}

#[test]
fn crypto_algorithms_and_their_reports() {
    // CRYPTO_MSG_NEWALG with a crypto_user_alg whose names fill their
    // buffers or end early, then a hash report and a larval name.
    let mut alg = vec![0u8; 208];
    alg[..4].copy_from_slice(b"abcd");
    alg[64..128].fill(b'x');
    alg[128..132].copy_from_slice(b"dcba");
    alg[192..196].copy_from_slice(&0xabcd_fabcu32.to_le_bytes());
    alg[200..204].copy_from_slice(&3u32.to_le_bytes());
    let mut hash = nla(4 + 72, 3);
    let mut report = vec![0u8; 72];
    report[..4].copy_from_slice(b"efgh");
    report[64..68].copy_from_slice(&16u32.to_le_bytes());
    report[68..72].copy_from_slice(&32u32.to_le_bytes());
    hash.extend(report);
    let mut b = hdr(16 + 208 + 76, 0x10, 1, 0, 0);
    b.extend(&alg);
    b.extend(&hash);
    let v = run(proto::CRYPTO, &b);
    let xs = "x".repeat(63);
    assert_eq!(
        v,
        format!(
            "[{{nlmsg_len=300, nlmsg_type=CRYPTO_MSG_NEWALG, nlmsg_flags=NLM_F_REQUEST, \
             nlmsg_seq=0, nlmsg_pid=0}}, {{cru_name=\"abcd\", cru_driver_name=\"{xs}\"..., \
             cru_module_name=\"dcba\", cru_type=0xabcdfabc, cru_mask=0, cru_refcnt=3, \
             cru_flags=0}}, [{{nla_len=76, nla_type=CRYPTOCFGA_REPORT_HASH}}, \
             {{type=\"efgh\", blocksize=16, digestsize=32}}]]"
        )
    );
    // A short payload is a string; a short report too.
    let mut b = hdr(20, 0x13, 1, 0, 0);
    b.extend(b"wxyz");
    assert!(
        run(proto::CRYPTO, &b).ends_with("}, \"wxyz\"]"),
        "{}",
        run(proto::CRYPTO, &b)
    );
    let mut b = hdr(16 + 208 + 8, 0x13, 1, 0, 0);
    b.extend(&alg);
    b.extend(nla(8, 2));
    b.extend(b"des\0");
    assert!(
        run(proto::CRYPTO, &b).ends_with("nla_type=CRYPTOCFGA_REPORT_LARVAL}, {type=\"des\"}]]")
    );
    // A message cut by the unmapped page: its address.
    let mut b = hdr(16 + 208, 0x10, 1, 0, 0);
    b.extend(&alg[..100]);
    let (mut m, at) = mem(&b);
    let v = decode(&mut m, X, &DecodeOptions::default(), proto::CRYPTO, at, 224)
        .unwrap()
        .render();
    assert!(v.ends_with(&format!("}}, {:#x}]", at + 16)), "{v}");
}
