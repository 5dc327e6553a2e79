//! Netlink messages, decoded strace-style from a socket buffer: the
//! `struct nlmsghdr` of each message (type and flags named by the
//! socket's protocol), then its payload: `NLMSG_ERROR`'s `struct
//! nlmsgerr` with the quoted request and its extended-ack attributes,
//! `NLMSG_DONE`'s integer, and the protocol's own message (route,
//! sock_diag, netfilter, selinux...; see [`super::netlink_route`] and
//! [`super::netlink_diag`]); anything else in hex.
//!
//! How the protocol is known: strace asks the kernel (`/proc`) what the
//! descriptor is. vstrace does the same from outside the guest: the
//! descriptor's `struct file` → `struct socket` → `struct sock`
//! (`skc_family`, `sk_protocol`) through the kernel's BTF
//! ([`crate::files::socket_protocol`]), whatever created the descriptor
//! (socket, accept, dup, inheritance). Those kernel reads are made when
//! the call is decoded, so a recording keeps them and its replay decodes
//! the same; without a kernel profile (no BTF) the buffer stays a string.
//!
//! Guest memory is hostile: every piece is read with a bounded size at
//! its own address (an unreadable one prints as that address, as strace
//! does), message and attribute lists end at the buffer's length and are
//! cut after `-s` elements unless `-v`, and nested attributes are
//! bounded in depth. Nothing here panics.

use vstrace_core::value::{Base, Const, Name};
use vstrace_core::{read, DecodeOptions, Value, VirtMem};

use super::netlink_fields::le;
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{Radix, Table as T};

/// `sizeof(struct nlmsghdr)` (`NLMSG_HDRLEN`).
pub(crate) const NLMSG_HDRLEN: u64 = 16;
/// Message types below this are netlink's own control messages.
const NLMSG_MIN_TYPE: u16 = 0x10;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// `NLM_F_REQUEST`: a request (sock_diag decodes requests and answers
/// differently).
pub(crate) const NLM_F_REQUEST: u16 = 1;
/// `NLM_F_CAPPED` of an `NLMSG_ERROR`: the quoted request is its header
/// only.
const NLM_F_CAPPED: u16 = 0x100;
/// Largest piece read at once: strings are cut at `-s` first; larger
/// structures do not exist in these protocols.
const MAX_READ: u64 = 1 << 16;

/// `AF_NETLINK`.
pub const AF_NETLINK: u16 = 16;

/// Netlink protocols with decoders of their own.
pub(crate) mod proto {
    /// `NETLINK_ROUTE`.
    pub const ROUTE: u16 = 0;
    /// `NETLINK_SOCK_DIAG`.
    pub const SOCK_DIAG: u16 = 4;
    /// `NETLINK_SELINUX`.
    pub const SELINUX: u16 = 7;
    /// `NETLINK_AUDIT`.
    pub const AUDIT: u16 = 9;
    /// `NETLINK_NETFILTER`.
    pub const NETFILTER: u16 = 12;
    /// `NETLINK_XFRM`.
    pub const XFRM: u16 = 6;
    /// `NETLINK_KOBJECT_UEVENT`.
    pub const KOBJECT_UEVENT: u16 = 15;
    /// `NETLINK_GENERIC`.
    pub const GENERIC: u16 = 16;
    /// `NETLINK_CRYPTO`.
    pub const CRYPTO: u16 = 21;
}

/// The calls [`sockbuf`] may find a buffer in (the layer's
/// [`vstrace_core::CallHints::BY_FD`]).
pub const SOCKBUF_CALLS: &[&str] = &["sendto", "send", "recvfrom", "recv"];

/// The socket buffer of a call that strace decodes by the socket's
/// protocol: (argument index, address, length). sendto/send at the
/// entry, with the length argument; recvfrom/recv at a successful exit,
/// with the smaller of the return value and the buffer's size.
pub fn sockbuf(
    name: &str,
    abi: LinuxAbi,
    raw: &[u64],
    ret: Option<i64>,
) -> Option<(usize, u64, u64)> {
    let w = |v: u64| match abi {
        LinuxAbi::X86_64 => v,
        LinuxAbi::I386 => v & 0xffff_ffff,
    };
    let addr = w(*raw.get(1)?);
    let len = w(*raw.get(2)?);
    match (name, ret) {
        ("sendto" | "send", None) => Some((1, addr, len)),
        ("recvfrom" | "recv", Some(r)) if r >= 0 => Some((1, addr, len.min(r as u64))),
        _ => None,
    }
}

/// One buffer being decoded: the caller's memory, its ABI and options,
/// the socket's protocol, and the text built so far.
pub(crate) struct Nl<'a, 'm> {
    /// The caller's memory (user space only).
    pub mem: &'m mut dyn VirtMem,
    /// The caller's ABI (constants of both ABIs are the same here).
    pub abi: LinuxAbi,
    /// `-s`, `-v`.
    pub opts: &'a DecodeOptions,
    /// The socket's netlink protocol (`NETLINK_ROUTE`...).
    pub proto: u16,
    /// The text so far.
    pub out: String,
    /// Nesting depth of attribute lists (bounded: hostile nesting).
    pub depth: u32,
    /// The address family of the message being decoded (its attributes'
    /// addresses are of this family).
    pub family: u8,
    /// Messages and attributes left to show: a hostile length with
    /// nested lists must not make the text unbounded, even with `-v`.
    pub budget: u32,
    /// Interface names by index, from the kernel (see [`decode_named`]).
    pub ifnames: &'a [(u32, String)],
    /// Interface indexes shown without a name (a second pass may name
    /// them).
    pub wanted: Vec<u32>,
    /// The `IFLA_INFO_KIND` of the link info being decoded (its
    /// `IFLA_INFO_DATA` is decoded by it), at most `IFNAMSIZ` bytes.
    pub link_kind: Vec<u8>,
    /// The `IFLA_INFO_SLAVE_KIND`, for `IFLA_INFO_SLAVE_DATA`.
    pub slave_kind: Vec<u8>,
}

/// Most messages and attributes shown for one buffer (strace shows all
/// with `-v`; past this, `...`).
const MAX_ELEMENTS: u32 = 4096;

/// Decodes `len` bytes at `addr` sent to or received from a netlink
/// socket of protocol `proto`: `None` when strace shows them otherwise
/// (a kobject uevent is a plain string). Interface indexes as numbers.
pub fn decode(
    mem: &mut dyn VirtMem,
    abi: LinuxAbi,
    opts: &DecodeOptions,
    proto: u16,
    addr: u64,
    len: u64,
) -> Option<Value> {
    decode_named(mem, abi, opts, proto, addr, len, &[]).0
}

/// [`decode`] with the names of interfaces by index (`ifnames`, read
/// from the kernel by the caller); also returns the indexes shown that
/// `ifnames` did not name, for the caller to look up and decode again.
pub fn decode_named(
    mem: &mut dyn VirtMem,
    abi: LinuxAbi,
    opts: &DecodeOptions,
    proto: u16,
    addr: u64,
    len: u64,
    ifnames: &[(u32, String)],
) -> (Option<Value>, Vec<u32>) {
    let mut nl = Nl {
        mem,
        abi,
        opts,
        proto,
        out: String::new(),
        depth: 0,
        family: 0,
        budget: MAX_ELEMENTS,
        ifnames,
        wanted: Vec::new(),
        link_kind: Vec::new(),
        slave_kind: Vec::new(),
    };
    if proto == self::proto::KOBJECT_UEVENT {
        // Not netlink messages: udev's header, else a plain string.
        if !nl.uevent(addr, len) {
            return (None, Vec::new());
        }
    } else {
        nl.messages(addr, len);
    }
    let mut wanted = nl.wanted;
    wanted.sort_unstable();
    wanted.dedup();
    (Some(Value::Opaque(nl.out)), wanted)
}

impl Nl<'_, '_> {
    /// `len` bytes at `addr`, `None` when any of them is unreadable.
    pub(crate) fn read(&mut self, addr: u64, len: u64) -> Option<Vec<u8>> {
        if len > MAX_READ {
            return None;
        }
        read::read_struct(self.mem, addr, len as usize).ok()
    }

    /// Appends `s`.
    pub(crate) fn put(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// An address (`NULL`, `0x...`).
    pub(crate) fn addr(&mut self, addr: u64) {
        let s = fmt::ptr(addr);
        self.put(&s);
    }

    /// `... /* 0x... */`: a list element that could not be read.
    pub(crate) fn more_at(&mut self, addr: u64) {
        let s = format!("... /* {} */", fmt::ptr(addr));
        self.put(&s);
    }

    /// Whether lists are cut after `-s` elements (no `-v`).
    pub(crate) fn abbrev(&self) -> bool {
        !self.opts.verbose
    }

    /// Whether list element `elt` is cut: past `-s` without `-v`, or
    /// past the buffer's budget. Counts the element shown.
    pub(crate) fn cut(&mut self, elt: u64) -> bool {
        if (self.abbrev() && elt == self.opts.strsize as u64) || self.budget == 0 {
            return true;
        }
        self.budget -= 1;
        false
    }

    /// strace's `printstr_ex(..., QUOTE_FORCE_HEX)`: the first `-s`
    /// bytes in `\x` escapes (`...` after a cut), or the address.
    pub(crate) fn hex(&mut self, addr: u64, len: u64) {
        if addr == 0 {
            return self.put("NULL");
        }
        let n = len.min(self.opts.strsize as u64);
        match self.read(addr, n) {
            Some(b) => {
                let s = fmt::quote_hex(&b, n < len);
                self.put(&s);
            }
            None => self.addr(addr),
        }
    }

    /// strace's `printstr_ex(..., QUOTE_OMIT_TRAILING_0 |
    /// QUOTE_EXPECT_TRAILING_0)`: the first `-s` of `len` bytes, a NUL
    /// ending them left out, NULs inside shown (`\0`); no NUL at their
    /// end: `...`. `-x` applies.
    pub(crate) fn cstr(&mut self, addr: u64, len: u64) {
        if addr == 0 {
            return self.put("NULL");
        }
        let max = self.opts.strsize as u64;
        let n = len.min(max + 1);
        let Some(b) = self.read(addr, n) else {
            return self.addr(addr);
        };
        let text = &b[..n.min(max) as usize];
        let (text, ended) = match text.split_last() {
            Some((0, rest)) => (rest, true),
            _ => (text, false),
        };
        let s = fmt::quote_x(text, !ended && len > 0, self.opts.strings_in_hex);
        self.put(&s);
    }

    /// strace's `printstr_ex(..., QUOTE_0_TERMINATED)`: a string ending
    /// at its first NUL within the first `-s` of `len` bytes (none:
    /// `...`).
    pub(crate) fn cstr0(&mut self, addr: u64, len: u64) {
        if addr == 0 {
            return self.put("NULL");
        }
        let max = self.opts.strsize;
        let n = len.min(max as u64 + 1);
        let Some(b) = self.read(addr, n) else {
            return self.addr(addr);
        };
        let (text, cut) = match b.iter().position(|&c| c == 0) {
            Some(z) if z < max => (&b[..z], false),
            _ => (&b[..max.min(b.len())], true),
        };
        let s = fmt::quote_x(text, cut, self.opts.strings_in_hex);
        self.put(&s);
    }

    /// strace's `printstrn`: `len` bytes quoted (`-s` of them).
    pub(crate) fn strn(&mut self, addr: u64, len: u64) {
        let n = len.min(self.opts.strsize as u64);
        match self.read(addr, n) {
            Some(b) => {
                let s = fmt::quote_x(&b, n < len, self.opts.strings_in_hex);
                self.put(&s);
            }
            None => self.addr(addr),
        }
    }

    /// udev's `struct udev_monitor_netlink_header` (prefix `libudev`)
    /// and the properties after it; false when the buffer is no such
    /// message (a plain string then).
    fn uevent(&mut self, addr: u64, len: u64) -> bool {
        const SIZE: u64 = 40;
        if addr == 0 || len < SIZE {
            return false;
        }
        let Some(b) = self.read(addr, SIZE) else {
            return false;
        };
        if &b[..8] != b"libudev\0" {
            return false;
        }
        let be = |o: usize| {
            let v = u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
            // C's `%#x`: no prefix for zero.
            if v == 0 {
                "htonl(0)".to_string()
            } else {
                format!("htonl({v:#x})")
            }
        };
        let u = |o: usize| le(&b, o, 4);
        if len > SIZE {
            self.put("[");
        }
        let s = format!(
            "{{prefix=\"libudev\", magic={}, header_size={}, properties_off={}, \
             properties_len={}, filter_subsystem_hash={}, filter_devtype_hash={}, \
             filter_tag_bloom_hi={}, filter_tag_bloom_lo={}}}",
            be(8),
            u(12),
            u(16),
            u(20),
            be(24),
            be(28),
            be(32),
            be(36)
        );
        self.put(&s);
        if len > SIZE {
            self.put(", ");
            self.strn(addr.wrapping_add(SIZE), len - SIZE);
            self.put("]");
        }
        true
    }

    /// An interface index as strace's `print_ifindex`:
    /// `if_nametoindex("lo")` when it names an interface, else the number
    /// (noted in [`Nl::wanted`]).
    pub(crate) fn ifindex(&mut self, index: u32) {
        use vstrace_core::os::ConstStyle;
        let name = self
            .ifnames
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, n)| n.clone());
        if name.is_none() && index != 0 && !self.wanted.contains(&index) && self.wanted.len() < 64 {
            self.wanted.push(index);
        }
        let s = match (name, vstrace_core::style::style()) {
            (Some(n), ConstStyle::Abbrev) => {
                format!("if_nametoindex({})", fmt::quote(n.as_bytes(), false))
            }
            (Some(n), ConstStyle::Verbose) => {
                format!(
                    "{index} /* if_nametoindex({}) */",
                    fmt::quote(n.as_bytes(), false)
                )
            }
            _ => index.to_string(),
        };
        self.put(&s);
    }

    /// A table value (`printxval`): the name, or hex with the table's
    /// comment.
    pub(crate) fn xval(&mut self, table: T, v: u64) {
        let s = fmt::xval_v(self.abi, table, v, Radix::Hex).render();
        self.put(&s);
    }

    /// A table value in unsigned decimal (strace's `XLAT_STYLE_FMT_U`:
    /// array indexes).
    pub(crate) fn xval_u(&mut self, table: T, v: u64) {
        let s = fmt::xval_v(self.abi, table, v, Radix::Udec).render();
        self.put(&s);
    }

    /// Bytes shown as strace's `print_mac_addr`: `xx:xx:..`, in `\x`
    /// escapes with `-X raw`, both with `-X verbose`; more than 32 bytes
    /// in escapes only.
    pub(crate) fn mac(&mut self, b: &[u8]) {
        use vstrace_core::os::ConstStyle;
        let style = vstrace_core::style::style();
        let long = b.len() > 32;
        if style != ConstStyle::Abbrev || long {
            let s = fmt::quote_hex(b, false);
            self.put(&s);
        }
        if style == ConstStyle::Raw || long {
            return;
        }
        let m: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
        let m = m.join(":");
        if style == ConstStyle::Verbose {
            let s = format!(" /* {m} */");
            self.put(&s);
        } else {
            self.put(&m);
        }
    }

    /// A table value without a comment when unknown (strace's `printxval`
    /// with a NULL default).
    pub(crate) fn xval_bare(&mut self, table: T, v: u64) {
        let name = table.xlat().lookup(self.abi, v);
        let c = Value::Const(Const {
            raw: i128::from(v),
            base: Base::Hex,
            name: name.map(Name::Borrowed),
            comment: None,
        });
        self.put(&c.render());
    }

    /// A flag set (`printflags`) from one or two tables.
    pub(crate) fn flags(&mut self, tables: &[T], v: u64) {
        // strace's printflags names a zero value by a table's zero entry
        // (`NUD_NONE`).
        let s = fmt::xflags_v(self.abi, tables, v, true, true).render();
        self.put(&s);
    }

    /// The message list: each message, `[...]` when there are several,
    /// cut after `-s` of them unless `-v`.
    fn messages(&mut self, addr: u64, len: u64) {
        self.walk(addr, len, NLMSG_HDRLEN, |nl, b, addr, len| {
            let h = Header::parse(b);
            nl.message(&h, addr, len);
        });
    }

    /// strace's walk over a list of length-prefixed records (messages,
    /// attributes) of `len` bytes at `addr`, each with a header of
    /// `hdr` bytes (the length first): `one` shows a record from its
    /// header bytes, address and the bytes left. One record alone,
    /// several in `[...]`; the bytes left after the last (fewer than a
    /// header) in hex; an unreadable header as its address (`... /*
    /// address */` in a list); cut after `-s` records unless `-v`.
    pub(crate) fn walk(
        &mut self,
        mut addr: u64,
        mut len: u64,
        hdr: u64,
        mut one: impl FnMut(&mut Self, &[u8], u64, u64),
    ) {
        let mut is_array = false;
        let mut elt = 0u64;
        loop {
            if len < hdr {
                self.hex(addr, len);
                break;
            }
            let Some(b) = self.read(addr, hdr) else {
                if is_array {
                    self.more_at(addr);
                } else {
                    self.addr(addr);
                }
                break;
            };
            if self.cut(elt) {
                self.put("...");
                break;
            }
            // The record's own length, read before it is shown.
            let rec = le(&b, 0, if hdr == NLMSG_HDRLEN { 4 } else { 2 });
            let aligned = (rec + 3) & !3;
            let mut next = None;
            if rec >= hdr {
                let next_len = len.saturating_sub(aligned);
                if next_len > 0 && addr.checked_add(aligned).is_some() {
                    next = Some((addr.wrapping_add(aligned), next_len));
                }
            }
            if !is_array && next.is_some() {
                self.put("[");
                is_array = true;
            }
            one(self, &b, addr, len);
            let Some((a, l)) = next else {
                break;
            };
            self.put(", ");
            addr = a;
            len = l;
            elt += 1;
        }
        if is_array {
            self.put("]");
        }
    }

    /// One message: its header, and `[header, payload]` when its length
    /// (bounded by the buffer's) leaves a payload.
    fn message(&mut self, h: &Header, addr: u64, len: u64) {
        let n = u64::from(h.len).min(len);
        if n > NLMSG_HDRLEN {
            self.put("[");
        }
        self.header(h);
        if n > NLMSG_HDRLEN {
            self.put(", ");
            self.payload(h, addr.wrapping_add(NLMSG_HDRLEN), n - NLMSG_HDRLEN);
            self.put("]");
        }
    }

    /// `{nlmsg_len=..., nlmsg_type=..., nlmsg_flags=..., nlmsg_seq=...,
    /// nlmsg_pid=...}`.
    fn header(&mut self, h: &Header) {
        let s = format!("{{nlmsg_len={}, nlmsg_type=", h.len);
        self.put(&s);
        self.msg_type(h.ty);
        self.put(", nlmsg_flags=");
        self.msg_flags(h.flags, h.ty);
        let s = format!(", nlmsg_seq={}, nlmsg_pid={}}}", h.seq, h.pid as i32);
        self.put(&s);
    }

    /// The message type: netlink's own below `NLMSG_MIN_TYPE`, else the
    /// protocol's (netfilter's as `SUBSYS<<8|TYPE`).
    fn msg_type(&mut self, ty: u16) {
        let v = u64::from(ty);
        if ty < NLMSG_MIN_TYPE {
            return self.xval(T::NetlinkTypes, v);
        }
        let table = match self.proto {
            proto::AUDIT => T::NlAuditTypes,
            proto::CRYPTO => T::NlCryptoTypes,
            proto::ROUTE => T::NlRouteTypes,
            proto::SELINUX => T::NlSelinuxTypes,
            proto::SOCK_DIAG => T::NlSockDiagTypes,
            proto::XFRM => T::NlXfrmTypes,
            proto::NETFILTER => return self.netfilter_type(ty),
            // strace names generic families by asking the kernel for
            // them (its own socket); from outside, the number, but for
            // the controller's fixed id.
            proto::GENERIC => {
                // GENL_ID_CTRL, the one id the kernel fixes.
                let s = if ty == 0x10 {
                    "nlctrl".to_string()
                } else {
                    format!("{v:#x} /* GENERIC_FAMILY_??? */")
                };
                return self.put(&s);
            }
            _ => T::NetlinkTypes,
        };
        self.xval(table, v);
    }

    /// `NFNL_SUBSYS_CTNETLINK<<8|IPCTNL_MSG_CT_NEW`.
    fn netfilter_type(&mut self, ty: u16) {
        if let Some(name) = T::NlNetfilterMsgTypes
            .xlat()
            .lookup(self.abi, u64::from(ty))
        {
            return self.put(name);
        }
        let (subsys, msg) = (u64::from(ty >> 8), u64::from(ty & 0xff));
        self.xval(T::NlNetfilterSubsysIds, subsys);
        self.put("<<8|");
        match nf_msg_table(subsys) {
            Some(t) => self.xval(t, msg),
            None => {
                let s = format!("{msg:#x}");
                self.put(&s);
            }
        }
    }

    /// The flags: the common ones, then those of the message's kind
    /// (get, new, delete, ack) as the protocol says.
    fn msg_flags(&mut self, flags: u16, ty: u16) {
        let kind = if ty < NLMSG_MIN_TYPE {
            (ty == NLMSG_ERROR).then_some(T::NetlinkAckFlags)
        } else {
            match self.proto {
                proto::CRYPTO => crypto_flags(ty),
                proto::NETFILTER => netfilter_flags(ty),
                proto::ROUTE => route_flags(ty),
                proto::SOCK_DIAG => Some(T::NetlinkGetFlags),
                proto::XFRM => xfrm_flags(ty),
                _ => None,
            }
        };
        match kind {
            Some(k) => self.flags(&[T::NetlinkFlags, k], u64::from(flags)),
            None => self.flags(&[T::NetlinkFlags], u64::from(flags)),
        }
    }

    /// A message's payload of `len` bytes at `addr`.
    fn payload(&mut self, h: &Header, addr: u64, len: u64) {
        if h.ty == NLMSG_ERROR {
            return self.nlmsgerr(addr, len, h.flags & NLM_F_CAPPED != 0);
        }
        if (h.ty >= NLMSG_MIN_TYPE || h.ty == NLMSG_DONE) && self.protocol_payload(h, addr, len) {
            return;
        }
        if h.ty == NLMSG_DONE && len == 4 {
            match self.read(addr, 4) {
                Some(b) => {
                    let s = i32::from_le_bytes([b[0], b[1], b[2], b[3]]).to_string();
                    self.put(&s);
                }
                None => self.addr(addr),
            }
            return;
        }
        self.hex(addr, len);
    }

    /// The protocol's decoder of a payload; false when it has none for
    /// this message (shown in hex then).
    fn protocol_payload(&mut self, h: &Header, addr: u64, len: u64) -> bool {
        if h.ty == NLMSG_DONE {
            // No protocol decodes NLMSG_DONE differently (yet).
            return false;
        }
        match self.proto {
            proto::ROUTE => {
                super::netlink_route::decode(self, h, addr, len);
                true
            }
            proto::SOCK_DIAG => {
                super::netlink_diag::decode(self, h, addr, len);
                true
            }
            proto::NETFILTER => {
                self.netfilter(h, addr, len);
                true
            }
            proto::SELINUX => self.selinux(h, addr, len),
            proto::CRYPTO => super::netlink_crypto::decode(self, h, addr, len),
            _ => false,
        }
    }

    /// `struct nlmsgerr`: the error, the request it answers (its header,
    /// or all of it unless capped), then extended-ack attributes.
    fn nlmsgerr(&mut self, mut addr: u64, mut len: u64, capped: bool) {
        const SIZE: u64 = 4 + NLMSG_HDRLEN;
        if len < SIZE {
            return self.hex(addr, len);
        }
        let Some(b) = self.read(addr, SIZE) else {
            return self.addr(addr);
        };
        let error = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let msg = Header::parse(&b[4..]);
        addr = addr.wrapping_add(4);
        len -= 4;
        let msg_len = u64::from(msg.len).max(NLMSG_HDRLEN);
        let payload = len.min(if capped { NLMSG_HDRLEN } else { msg_len });
        if len > payload {
            self.put("[");
        }
        self.put("{error=");
        self.errno(error);
        self.put(", msg=");
        self.message(&msg, addr, payload);
        self.put("}");
        if len > payload {
            self.put(", ");
            super::nlattr::list(
                self,
                addr.wrapping_add(payload),
                len - payload,
                &super::nlattr::Attrs::new(T::NlmsgerrAttrs, &NLMSGERR_ATTRS),
            );
            self.put("]");
        }
    }

    /// An error code as strace's `PRINT_FIELD_ERR_D`: `-EACCES`, or the
    /// number.
    pub(crate) fn errno(&mut self, e: i32) {
        let named = (e < 0)
            .then(|| crate::consts::errno_name(-i64::from(e)))
            .flatten();
        let s = match (named, vstrace_core::style::style()) {
            (Some(n), vstrace_core::os::ConstStyle::Abbrev) => format!("-{n}"),
            (Some(n), vstrace_core::os::ConstStyle::Verbose) => format!("{e} /* -{n} */"),
            _ => e.to_string(),
        };
        self.put(&s);
    }

    /// `struct nfgenmsg` and the attributes after it.
    fn netfilter(&mut self, h: &Header, addr: u64, len: u64) {
        const NFGENMSG: u64 = 4;
        const SUBSYS_NFTABLES: u16 = 10;
        if len < NFGENMSG {
            return self.hex(addr, len);
        }
        let Some(b) = self.read(addr, NFGENMSG) else {
            return self.addr(addr);
        };
        let subsys = h.ty >> 8;
        let raw_res = u16::from_le_bytes([b[2], b[3]]);
        let res = u16::from_be_bytes([b[2], b[3]]);
        self.put("{nfgen_family=");
        self.xval(T::Addrfams, u64::from(b[0]));
        self.put(", version=");
        self.xval(T::NetfilterVersions, u64::from(b[1]));
        self.put(", res_id=");
        if subsys == SUBSYS_NFTABLES && res == SUBSYS_NFTABLES {
            self.put("htons(NFNL_SUBSYS_NFTABLES)");
        } else if subsys == SUBSYS_NFTABLES && raw_res == SUBSYS_NFTABLES {
            self.put("NFNL_SUBSYS_NFTABLES");
        } else {
            let s = format!("htons({res})");
            self.put(&s);
        }
        self.put("}");
        if len > NFGENMSG {
            self.put(", ");
            // NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END.
            if (0x10..=0x11).contains(&h.ty) || h.ty < NLMSG_MIN_TYPE {
                self.hex(addr.wrapping_add(NFGENMSG), len - NFGENMSG);
            } else {
                super::nlattr::list(
                    self,
                    addr.wrapping_add(NFGENMSG),
                    len - NFGENMSG,
                    &super::nlattr::Attrs::NONE,
                );
            }
        }
    }

    /// SELinux's two messages: `{val=...}` and `{seqno=...}`.
    fn selinux(&mut self, h: &Header, addr: u64, len: u64) -> bool {
        // SELNL_MSG_SETENFORCE, SELNL_MSG_POLICYLOAD.
        let field = match h.ty {
            0x10 => "val",
            0x11 => "seqno",
            _ => return false,
        };
        if len < 4 {
            self.hex(addr, len);
            return true;
        }
        match self.read(addr, 4) {
            Some(b) => {
                let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                let s = if field == "val" {
                    format!("{{val={}}}", v as i32)
                } else {
                    format!("{{seqno={v}}}")
                };
                self.put(&s);
            }
            None => self.addr(addr),
        }
        true
    }
}

/// Extended-ack attributes of `NLMSG_ERROR`: the message, the offset of
/// the offending attribute, the cookie (bytes).
static NLMSGERR_ATTRS: [super::nlattr::Kind; 4] = {
    use super::nlattr::Kind as K;
    [K::Hex, K::Str, K::U32, K::U8Array]
};

/// A parsed `struct nlmsghdr`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    /// `nlmsg_len`.
    pub len: u32,
    /// `nlmsg_type`.
    pub ty: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// `nlmsg_pid`.
    pub pid: u32,
}

impl Header {
    fn parse(b: &[u8]) -> Header {
        let u32_at = |o: usize| {
            let mut x = [0u8; 4];
            if let Some(s) = b.get(o..o + 4) {
                x.copy_from_slice(s);
            }
            u32::from_le_bytes(x)
        };
        let w = u32_at(4);
        Header {
            len: u32_at(0),
            ty: w as u16,
            flags: (w >> 16) as u16,
            seq: u32_at(8),
            pid: u32_at(12),
        }
    }
}

/// The message-type table of netfilter subsystem `subsys`.
fn nf_msg_table(subsys: u64) -> Option<T> {
    Some(match subsys {
        1 => T::NfCtnetlinkMsgTypes,
        2 => T::NfCtnetlinkExpMsgTypes,
        3 => T::NfQueueMsgTypes,
        4 => T::NfUlogMsgTypes,
        5 => T::NfOsfMsgTypes,
        6 => T::NfIpsetMsgTypes,
        7 => T::NfAcctMsgTypes,
        8 => T::NfCttimeoutMsgTypes,
        9 => T::NfCthelperMsgTypes,
        10 => T::NfNftablesMsgTypes,
        11 => T::NfNftCompatMsgTypes,
        12 => T::NfHookMsgTypes,
        _ => return None,
    })
}

/// The flag kinds of the message kinds (`NLM_F_ROOT` for gets,
/// `NLM_F_CREATE` for news, `NLM_F_NONREC` for deletes).
const NEW: Option<T> = Some(T::NetlinkNewFlags);
const GET: Option<T> = Some(T::NetlinkGetFlags);
const DEL: Option<T> = Some(T::NetlinkDeleteFlags);

/// Route messages come in fours: new, delete, get, set.
fn route_flags(ty: u16) -> Option<T> {
    // RTM_DELACTION takes the get flags.
    if ty == 0x31 {
        return GET;
    }
    match ty & 3 {
        0 => NEW,
        1 => DEL,
        2 => GET,
        _ => None,
    }
}

fn crypto_flags(ty: u16) -> Option<T> {
    match ty {
        0x10 => NEW,
        0x11 | 0x14 => DEL,
        0x13 => GET,
        _ => None,
    }
}

fn xfrm_flags(ty: u16) -> Option<T> {
    match ty {
        // NEWSA, NEWPOLICY, NEWAE, NEWSADINFO, NEWSPDINFO.
        0x10 | 0x13 | 0x1e | 0x22 | 0x24 => NEW,
        // DELSA, DELPOLICY.
        0x11 | 0x14 => DEL,
        // GETSA, GETPOLICY, GETAE, GETSADINFO, GETSPDINFO.
        0x12 | 0x15 | 0x1f | 0x23 | 0x25 => GET,
        _ => None,
    }
}

/// Netfilter: by subsystem and message.
fn netfilter_flags(ty: u16) -> Option<T> {
    let (subsys, msg) = (ty >> 8, ty & 0xff);
    match (subsys, msg) {
        // ctnetlink: NEW, GET, DELETE, GET_CTRZERO, GET_STATS_CPU,
        // GET_STATS, GET_DYING, GET_UNCONFIRMED.
        (1, 0) => NEW,
        (1, 1 | 3 | 4 | 5 | 6 | 7) => GET,
        (1, 2) => DEL,
        // ctnetlink_exp: NEW, GET, DELETE, GET_STATS_CPU.
        (2, 0) => NEW,
        (2, 1 | 3) => GET,
        (2, 2) => DEL,
        // acct: NEW, GET, GET_CTRZERO, DEL.
        (7, 0) => NEW,
        (7, 1 | 2) => GET,
        (7, 3) => DEL,
        // cttimeout: NEW, GET, DELETE.
        (8, 0) => NEW,
        (8, 1) => GET,
        (8, 2) => DEL,
        // cthelper: NEW, GET, DEL.
        (9, 0) => NEW,
        (9, 1) => GET,
        (9, 2) => DEL,
        // nftables: NEWTABLE, NEWCHAIN, NEWRULE, NEWSET, NEWSETELEM,
        // NEWGEN, NEWOBJ, NEWFLOWTABLE; the gets; the deletes.
        (10, 0 | 3 | 6 | 9 | 12 | 15 | 18 | 22) => NEW,
        (10, 1 | 4 | 7 | 10 | 13 | 16 | 19 | 21 | 23) => GET,
        (10, 2 | 5 | 8 | 11 | 14 | 20 | 24) => DEL,
        // nft_compat GET, hook GET.
        (11, 0) | (12, 0) => GET,
        _ => None,
    }
}

#[cfg(test)]
#[path = "netlink_tests.rs"]
mod tests;
