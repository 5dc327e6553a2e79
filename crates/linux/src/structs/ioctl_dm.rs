//! Device-mapper ioctls (type 0xfd) as strace 6.1 prints them: the
//! `struct dm_ioctl` header (its fields by request, none past an ABI
//! version or a `data_size` strace does not accept), then the payload
//! the request carries after `data_start` (target specifications, a
//! target message, a string; at a successful exit the dependencies,
//! device and target lists) in the same brackets. Payloads are walked
//! by the offsets the caller (or the kernel) wrote, each checked against
//! `data_size` (`??? /* misplaced struct dm_target_spec */`), at most
//! `-s` of them; without `-v` a payload is `...`. `struct dm_ioctl` and
//! the payload structures are of fixed-size fields, the same for i386.
//! At a successful exit strace shows the header again after ` => `.

use vstrace_core::value::{Base, Name};
use vstrace_core::{read, StructBuilder, Value as V};

use super::ioctl::{cstring_v, Kind};
use super::{Call, Fields};
use crate::fmt;
use crate::xlat::{self, Table as T};

/// `offsetof(struct dm_ioctl, data)`: the header strace reads.
const HEADER: usize = 305;
/// `DM_VERSION_MAJOR`: the only ABI strace decodes.
const VERSION_MAJOR: u64 = 4;
/// `sizeof(struct dm_target_spec)`.
const TARGET_SPEC: u32 = 40;
/// `offsetof(struct dm_target_deps, dev)`.
const DEPS_DEV: u32 = 8;
/// `offsetof(struct dm_name_list, name)`.
const NAME_LIST_NAME: u32 = 12;
/// `offsetof(struct dm_target_versions, name)`.
const VERSIONS_NAME: u32 = 16;
/// `offsetof(struct dm_target_msg, message)`.
const MSG_MESSAGE: u32 = 8;
/// `DM_SUSPEND_FLAG`: a suspend rather than a resume (no event number).
const SUSPEND_FLAG: u64 = 2;
/// `DM_DATA_OUT_FLAG`: a target message answered with a string.
const DATA_OUT_FLAG: u64 = 0x10000;

/// The decoder of device-mapper request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    matches!(
        name,
        "DM_VERSION"
            | "DM_REMOVE_ALL"
            | "DM_LIST_DEVICES"
            | "DM_DEV_CREATE"
            | "DM_DEV_REMOVE"
            | "DM_DEV_RENAME"
            | "DM_DEV_SUSPEND"
            | "DM_DEV_STATUS"
            | "DM_DEV_WAIT"
            | "DM_TABLE_LOAD"
            | "DM_TABLE_CLEAR"
            | "DM_TABLE_DEPS"
            | "DM_TABLE_STATUS"
            | "DM_LIST_VERSIONS"
            | "DM_TARGET_MSG"
            | "DM_DEV_SET_GEOMETRY"
            | "DM_DEV_ARM_POLL"
    )
    .then_some(Kind::InOutV(
        |c, v| dm(c, v, false),
        |c, v| Some(dm(c, v, true)),
    ))
}

/// The request's name (this family's requests have one name each).
fn request(c: &Call<'_, '_>) -> &'static str {
    xlat::ioctl_names(c.abi, c.arg(1) as u32)
        .into_iter()
        .find(|n| n.starts_with("DM_"))
        .unwrap_or("")
}

/// What is printed after the header, in the same brackets.
#[derive(Default)]
struct Payload {
    items: Vec<V>,
    more: bool,
}

impl Payload {
    /// strace's `??? /* misplaced struct ... */`.
    fn misplaced(&mut self, what: &str) {
        self.items.push(V::Commented {
            value: Box::new(V::Opaque("???".into())),
            comment: format!("misplaced {what}"),
        });
    }
}

/// The header at `v` and its payload, at the entry or (`exiting`) at a
/// successful exit.
fn dm(c: &mut Call<'_, '_>, v: u64, exiting: bool) -> V {
    // An unreadable header is left to the generic printing: the number.
    let b = match c.fetch_v(v, HEADER) {
        Ok(b) => b,
        Err(_) if v == 0 => return V::int(0, Base::Hex),
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    // strace leaves a header shorter than its own size field alone.
    if f.u32(12) < 12 {
        return V::ptr(v);
    }
    let code = request(c);
    let mut p = Payload::default();
    if let Some(h) = header(c, &f, code, exiting, &mut p, v) {
        p.items.insert(0, h);
    }
    V::Array {
        items: p.items,
        more: p.more,
    }
}

/// The header's fields (the payload, when the header is one strace
/// decodes, into `p`).
fn header(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    code: &str,
    exiting: bool,
    p: &mut Payload,
    v: u64,
) -> Option<V> {
    let mut s = StructBuilder::new();
    let version = V::Array {
        items: (0..3).map(|i| V::dec(f.u32(i * 4))).collect(),
        more: false,
    };
    if f.u32(0) != VERSION_MAJOR {
        s.field(
            "version",
            V::Commented {
                value: Box::new(version),
                comment: "unsupported device mapper ABI version".into(),
            },
        );
        return Some(s.done());
    }
    s.field("version", version);
    let data_size = f.u32(12);
    if data_size < HEADER as u64 {
        s.field(
            "data_size",
            V::Commented {
                value: Box::new(V::dec(data_size)),
                comment: "data_size too small".into(),
            },
        );
        return Some(s.done());
    }
    s.dec("data_size", data_size);
    let has_params = !matches!(
        code,
        "DM_VERSION"
            | "DM_REMOVE_ALL"
            | "DM_DEV_CREATE"
            | "DM_DEV_REMOVE"
            | "DM_DEV_SUSPEND"
            | "DM_DEV_STATUS"
            | "DM_TABLE_CLEAR"
            | "DM_DEV_ARM_POLL"
    );
    if has_params {
        s.dec("data_start", f.u32(16));
    }
    if !matches!(
        code,
        "DM_REMOVE_ALL" | "DM_LIST_DEVICES" | "DM_LIST_VERSIONS"
    ) {
        if f.u64(40) != 0 {
            s.field("dev", V::Opaque(fmt::makedev(f.u64(40))));
        }
        if f.b[48] != 0 {
            s.field("name", cstring_v(&f.b[48..176]));
        }
        if f.b[176] != 0 {
            s.field("uuid", cstring_v(&f.b[176..305]));
        }
    }
    let flags = f.u32(28);
    if !exiting {
        match code {
            "DM_TABLE_LOAD" => {
                s.dec("target_count", f.u32(20));
            }
            "DM_DEV_SUSPEND" if flags & SUSPEND_FLAG != 0 => {}
            "DM_DEV_SUSPEND" | "DM_DEV_RENAME" | "DM_DEV_REMOVE" | "DM_DEV_WAIT" => {
                s.dec("event_nr", f.u32(32));
            }
            _ => {}
        }
    } else if matches!(
        code,
        "DM_DEV_CREATE"
            | "DM_DEV_RENAME"
            | "DM_DEV_SUSPEND"
            | "DM_DEV_STATUS"
            | "DM_DEV_WAIT"
            | "DM_TABLE_LOAD"
            | "DM_TABLE_CLEAR"
            | "DM_TABLE_DEPS"
            | "DM_TABLE_STATUS"
            | "DM_TARGET_MSG"
    ) {
        s.dec("target_count", f.u32(20))
            .dec("open_count", f.u32(24))
            .dec("event_nr", f.u32(32));
    }
    s.field(
        "flags",
        fmt::xflags_v(c.abi, &[T::DmFlags], flags, true, false),
    );
    let d = Data {
        v,
        start: f.u32(16) as u32,
        size: data_size as u32,
        count: f.u32(20) as u32,
        exiting,
    };
    match code {
        "DM_DEV_WAIT" | "DM_TABLE_STATUS" if exiting => target_specs(c, &d, p),
        "DM_TABLE_LOAD" if !exiting => target_specs(c, &d, p),
        "DM_TABLE_DEPS" if exiting => deps(c, &d, p),
        "DM_LIST_DEVICES" if exiting => name_list(c, &d, p),
        "DM_LIST_VERSIONS" if exiting => target_versions(c, &d, p),
        "DM_TARGET_MSG" if !exiting => target_msg(c, &d, p),
        "DM_TARGET_MSG" if flags & DATA_OUT_FLAG != 0 => string(c, &d, p),
        "DM_DEV_RENAME" | "DM_DEV_SET_GEOMETRY" if !exiting => string(c, &d, p),
        _ => {}
    }
    Some(s.done())
}

/// Where the payload is: the header's address, `data_start`,
/// `data_size`, `target_count`.
struct Data {
    v: u64,
    start: u32,
    size: u32,
    count: u32,
    exiting: bool,
}

/// The string of up to `len` bytes at `va` (strace's `printstr_ex` with
/// `QUOTE_0_TERMINATED`).
fn str0(c: &mut Call<'_, '_>, va: u64, len: u32) -> V {
    c.str0_v(va, u64::from(len))
}

/// The target specifications after `data_start` (`target_count` of
/// them, each followed by its parameter string; `next` is relative to
/// the previous one at the entry, to `data_start` at the exit).
fn target_specs(c: &mut Call<'_, '_>, d: &Data, p: &mut Payload) {
    if !c.opts.verbose {
        p.more = d.count != 0;
        return;
    }
    let (mut offset, mut end) = (d.start, 0u32);
    for i in 0..d.count {
        if i != 0 && offset <= end {
            return p.misplaced("struct dm_target_spec");
        }
        end = offset.wrapping_add(TARGET_SPEC);
        if end <= offset || end > d.size {
            return p.misplaced("struct dm_target_spec");
        }
        if i as usize >= c.opts.strsize {
            p.more = true;
            return;
        }
        let at = d.v.wrapping_add(u64::from(offset));
        let b = match read::read_struct(c.mem, at, TARGET_SPEC as usize) {
            Ok(b) => b,
            Err(_) => return p.items.push(V::ptr(at)),
        };
        let f = Fields::new(&b, 8);
        let mut s = StructBuilder::new();
        s.dec("sector_start", f.u64(0)).dec("length", f.u64(8));
        if d.exiting {
            s.dec("status", f.i32(16));
        }
        let string = str0(c, d.v.wrapping_add(u64::from(end)), d.size - end);
        s.field("target_type", cstring_v(&b[24..40]))
            .field("string", string);
        p.items.push(s.done());
        let next = f.u32(20) as u32;
        offset = if d.exiting {
            d.start.wrapping_add(next)
        } else {
            offset.wrapping_add(next)
        };
    }
}

/// The fixed head (`len` bytes) of a payload that is one `what`
/// structure at `data_start`, and where the head ends: `None` when there
/// is no payload, without `-v` (`...`), when the head does not fit the
/// data (`??? /* misplaced what */`) or cannot be read (its address).
fn payload_head(
    c: &mut Call<'_, '_>,
    d: &Data,
    p: &mut Payload,
    len: u32,
    what: &str,
) -> Option<(Vec<u8>, u32)> {
    if d.start == d.size {
        return None;
    }
    if !c.opts.verbose {
        p.more = true;
        return None;
    }
    let end = d.start.wrapping_add(len);
    if end <= d.start || end > d.size {
        p.misplaced(what);
        return None;
    }
    let at = d.v.wrapping_add(u64::from(d.start));
    match read::read_struct(c.mem, at, len as usize) {
        Ok(b) => Some((b, end)),
        Err(_) => {
            p.items.push(V::ptr(at));
            None
        }
    }
}

/// `DM_TABLE_DEPS`' answer: the count and the devices.
fn deps(c: &mut Call<'_, '_>, d: &Data, p: &mut Payload) {
    let Some((b, end)) = payload_head(c, d, p, DEPS_DEV, "struct dm_target_deps") else {
        return;
    };
    let count = Fields::new(&b, 8).u32(0);
    if count > u64::from((d.size - end) / 8) {
        return p.misplaced("struct dm_target_deps");
    }
    let devs = c.array_v(d.v.wrapping_add(u64::from(end)), count, 8, |_, b| {
        V::Opaque(fmt::makedev(Fields::new(b, 8).u64(0)))
    });
    let mut s = StructBuilder::new();
    s.dec("count", count).field("deps", devs);
    p.items.push(s.done());
}

/// Walks a chained list of entries (`next` relative to the entry, 0 at
/// the last) of `head` bytes before their name, at most `-s` of them;
/// `one` prints an entry from its head and the offset of its name.
fn chain(
    c: &mut Call<'_, '_>,
    d: &Data,
    p: &mut Payload,
    head: u32,
    what: &str,
    next_at: usize,
    mut one: impl FnMut(&mut Call<'_, '_>, &Fields<'_>, u32) -> V,
) {
    if d.start == d.size {
        return;
    }
    if !c.opts.verbose {
        p.more = true;
        return;
    }
    let (mut offset, mut end) = (d.start, 0u32);
    for count in 0usize.. {
        if count != 0 && offset <= end {
            return p.misplaced(what);
        }
        end = offset.wrapping_add(head);
        if end <= offset || end > d.size {
            return p.misplaced(what);
        }
        if count >= c.opts.strsize {
            p.more = true;
            return;
        }
        let at = d.v.wrapping_add(u64::from(offset));
        let b = match read::read_struct(c.mem, at, head as usize) {
            Ok(b) => b,
            Err(_) => return p.items.push(V::ptr(at)),
        };
        let f = Fields::new(&b, 8);
        p.items.push(one(c, &f, end));
        let next = f.u32(next_at) as u32;
        if next == 0 {
            return;
        }
        offset = offset.wrapping_add(next);
    }
}

/// `DM_LIST_DEVICES`' answer: devices and their names.
fn name_list(c: &mut Call<'_, '_>, d: &Data, p: &mut Payload) {
    let (v, size) = (d.v, d.size);
    chain(
        c,
        d,
        p,
        NAME_LIST_NAME,
        "struct dm_name_list",
        8,
        |c, f, end| {
            let name = str0(c, v.wrapping_add(u64::from(end)), size - end);
            let mut s = StructBuilder::new();
            s.field("dev", V::Opaque(fmt::makedev(f.u64(0))))
                .field("name", name);
            s.done()
        },
    );
}

/// `DM_LIST_VERSIONS`' answer: targets and their versions.
fn target_versions(c: &mut Call<'_, '_>, d: &Data, p: &mut Payload) {
    let (v, size) = (d.v, d.size);
    chain(
        c,
        d,
        p,
        VERSIONS_NAME,
        "struct dm_target_versions",
        0,
        |c, f, end| {
            let name = str0(c, v.wrapping_add(u64::from(end)), size - end);
            let mut s = StructBuilder::new();
            s.field("name", name).field(
                "version",
                V::Array {
                    items: (1..4).map(|i| V::dec(f.u32(i * 4))).collect(),
                    more: false,
                },
            );
            s.done()
        },
    );
}

/// `DM_TARGET_MSG`'s message: the sector and the text.
fn target_msg(c: &mut Call<'_, '_>, d: &Data, p: &mut Payload) {
    let Some((b, end)) = payload_head(c, d, p, MSG_MESSAGE, "struct dm_target_msg") else {
        return;
    };
    let sector = Fields::new(&b, 8).u64(0);
    let message = str0(c, d.v.wrapping_add(u64::from(end)), d.size - end);
    let mut s = StructBuilder::new();
    s.dec("sector", sector).field("message", message);
    p.items.push(s.done());
}

/// A string at `data_start` (a new name, a geometry, a message's answer).
fn string(c: &mut Call<'_, '_>, d: &Data, p: &mut Payload) {
    if !c.opts.verbose {
        p.more = true;
        return;
    }
    if d.start > d.size {
        return p.misplaced("string");
    }
    let text = str0(c, d.v.wrapping_add(u64::from(d.start)), d.size - d.start);
    let mut s = StructBuilder::new();
    s.field(Name::Borrowed("string"), text);
    p.items.push(s.done());
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode_enter, decode_exit, format_call, format_return};
    use crate::proto::LinuxAbi::{self, I386, X86_64};
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::DecodeOptions;

    const DM_TABLE_LOAD: u64 = 0xc138_fd09;
    const DM_DEV_RENAME: u64 = 0xc138_fd05;

    fn line(abi: LinuxAbi, m: &mut SparseVirt, code: u64, ret: i64, verbose: bool) -> String {
        let o = DecodeOptions {
            verbose,
            ..Default::default()
        };
        let d = crate::proto::by_name(abi, "ioctl").unwrap();
        let raw = [3, code, 0x1000, 0, 0, 0];
        let mut a = decode_enter(d, abi, &raw, m, &o);
        decode_exit(d, abi, &raw, ret, m, &o, &mut a);
        format_call(d, &a, Some(&format_return(d, abi, ret)))
    }

    /// A version 4 header of `data_size`, `data_start`, `target_count`.
    fn header(size: u32, start: u32, count: u32) -> Vec<u8> {
        let mut b = vec![0u8; 305];
        for (i, x) in [4u32, 1, 2, size, start, count].iter().enumerate() {
            b[i * 4..i * 4 + 4].copy_from_slice(&x.to_le_bytes());
        }
        b[48..51].copy_from_slice(b"nnn");
        b
    }

    #[test]
    fn table_load_walks_its_target_specs() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &header(400, 312, 2));
        let mut spec = vec![0u8; 40];
        spec[0] = 16;
        spec[8] = 32;
        spec[20] = 48;
        spec[24..27].copy_from_slice(b"tgt");
        m.map(0x1000 + 312, &spec);
        m.map(0x1000 + 352, b"par\0");
        let l = line(X86_64, &mut m, DM_TABLE_LOAD, -9, true);
        assert!(
            l.contains(
                "[{version=[4, 1, 2], data_size=400, data_start=312, name=\"nnn\", target_count=2, flags=0}, \
                 {sector_start=16, length=32, target_type=\"tgt\", string=\"par\"}, \
                 {sector_start=0, length=0, target_type=\"\", string=\"\"}]"
            ),
            "{l}"
        );
        let l = line(I386, &mut m, DM_TABLE_LOAD, -9, false);
        assert!(l.contains("target_count=2, flags=0}, ...])"), "{l}");
    }

    #[test]
    fn misplaced_payloads_and_bad_headers() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &header(312, 0xffff_fff8, 1));
        let l = line(X86_64, &mut m, DM_TABLE_LOAD, -9, true);
        assert!(
            l.contains("flags=0}, ??? /* misplaced struct dm_target_spec */])"),
            "{l}"
        );
        m.map(0x1000, &header(312, 4000, 0));
        let l = line(X86_64, &mut m, DM_DEV_RENAME, -9, true);
        assert!(
            l.contains("event_nr=0, flags=0}, ??? /* misplaced string */])"),
            "{l}"
        );
        m.map(0x1000, &header(14, 0, 0));
        let l = line(X86_64, &mut m, DM_DEV_RENAME, -9, true);
        assert!(
            l.contains("[{version=[4, 1, 2], data_size=14 /* data_size too small */}]"),
            "{l}"
        );
        m.map(0x1000, &[5]);
        let l = line(X86_64, &mut m, DM_DEV_RENAME, -9, true);
        assert!(
            l.contains("[{version=[5, 1, 2] /* unsupported device mapper ABI version */}]"),
            "{l}"
        );
        let mut e = SparseVirt::new();
        let l = line(X86_64, &mut e, DM_DEV_RENAME, -9, true);
        assert!(l.contains("DM_DEV_RENAME, 0x1000)"), "{l}");
    }

    #[test]
    fn successful_exit_shows_the_header_again() {
        let mut m = SparseVirt::new();
        let mut b = header(305, 305, 0);
        b[24] = 1;
        m.map(0x1000, &b);
        let l = line(X86_64, &mut m, 0xc138_fd07, 0, false);
        assert!(
            l.contains(
                "DM_DEV_STATUS, [{version=[4, 1, 2], data_size=305, name=\"nnn\", flags=0}] => \
                 [{version=[4, 1, 2], data_size=305, name=\"nnn\", target_count=0, open_count=1, event_nr=0, flags=0}])"
            ),
            "{l}"
        );
    }
}
