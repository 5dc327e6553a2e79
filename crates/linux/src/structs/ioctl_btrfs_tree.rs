//! The btrfs ioctls that read the file system's trees, inodes and
//! devices, as strace 6.1 prints them: tree searches (the key at the
//! entry, the item headers found at the exit), inode lookups and the
//! inode containers the kernel fills (`BTRFS_IOC_INO_PATHS`,
//! `BTRFS_IOC_LOGICAL_INO`), space infos, scrubs, device infos and the
//! received-subvolume marks. Each prints what the caller set at the
//! entry and, after a successful call, what the kernel wrote after
//! ` => `. Arrays the kernel returns are abbreviated without `-v`; the
//! search results are walked by the lengths the kernel wrote, each
//! checked against the buffer, at most `-s` of them.

use vstrace_core::{StructBuilder, Value as V};

use super::ioctl::{cstring_v, Kind};
use super::ioctl_btrfs::{dev, flags, key_type, objectid, req_size, u64_max};
use super::ioctl_tee::uuid;
use super::{Call, Fields};
use crate::xlat::Table as T;

/// `sizeof(struct btrfs_ioctl_search_key)`.
const KEY: usize = 104;
/// `sizeof(struct btrfs_ioctl_search_header)`.
const HEADER: u64 = 32;
/// The fixed buffer of `struct btrfs_ioctl_search_args`.
const SEARCH_BUF: u64 = 4096 - KEY as u64;
/// `BTRFS_FIRST_FREE_OBJECTID` and `BTRFS_LAST_FREE_OBJECTID`: a
/// search key's default bounds, left out without `-v`.
const FIRST_FREE: u64 = 256;
const LAST_FREE: u64 = (-256i64) as u64;
/// `EOVERFLOW`: a v2 search whose buffer is too small gets the size it
/// needs.
const EOVERFLOW: i64 = -75;

/// The decoder of btrfs request `name` of this file, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::*;
    Some(match name {
        "BTRFS_IOC_TREE_SEARCH" => {
            InOutV(|c, v| search(c, v, false), |c, v| Some(search(c, v, true)))
        }
        "BTRFS_IOC_TREE_SEARCH_V2" => EntryExitV(|c, v| search_v2(c, v, false), search_v2_out),
        "BTRFS_IOC_INO_LOOKUP" => InOutV(ino_lookup_in, |c, v| Some(ino_lookup_out(c, v))),
        "BTRFS_IOC_INO_PATHS" => InOutV(ino_paths_in, |c, v| Some(ino_paths_out(c, v))),
        "BTRFS_IOC_LOGICAL_INO" => InOutV(logical_ino_in, |c, v| Some(logical_ino_out(c, v))),
        "BTRFS_IOC_SPACE_INFO" => InOutV(space_in, |c, v| Some(space_out(c, v))),
        "BTRFS_IOC_SCRUB" => InOutV(|c, v| scrub_in(c, v, true), |c, v| Some(scrub_out(c, v))),
        "BTRFS_IOC_SCRUB_PROGRESS" => {
            InOutV(|c, v| scrub_in(c, v, false), |c, v| Some(scrub_out(c, v)))
        }
        "BTRFS_IOC_DEV_INFO" => InOutV(dev_info_in, |c, v| Some(dev_info_out(c, v))),
        "BTRFS_IOC_SET_RECEIVED_SUBVOL" => InOutV(received_in, |c, v| Some(received_out(c, v))),
        _ => return None,
    })
}

/// The structure at `v`, read whole at the request's size.
fn read(c: &mut Call<'_, '_>, v: u64) -> Result<Vec<u8>, V> {
    let n = req_size(c);
    c.fetch_v(v, n)
}

/// `struct btrfs_ioctl_search_key` at the start of `f`: at the entry
/// what to search (the default object id bounds only with `-v`), at the
/// exit the number of items found.
fn search_key(c: &Call<'_, '_>, f: &Fields<'_>, exiting: bool) -> V {
    let mut s = StructBuilder::new();
    if exiting {
        return s.dec("nr_items", f.u32(64)).done();
    }
    s.field("tree_id", objectid(c, f.u64(0)));
    let (min, max) = (f.u64(8), f.u64(16));
    if min != FIRST_FREE || c.opts.verbose {
        s.field("min_objectid", objectid(c, min));
    }
    if max != LAST_FREE || c.opts.verbose {
        s.field("max_objectid", objectid(c, max));
    }
    for (i, n) in ["min_offset", "max_offset", "min_transid", "max_transid"]
        .iter()
        .enumerate()
    {
        s.field(*n, u64_max(f.u64(24 + i * 8)));
    }
    s.field("min_type", key_type(c, f.u32(56)))
        .field("max_type", key_type(c, f.u32(60)))
        .dec("nr_items", f.u32(64))
        .done()
}

/// The item headers the kernel wrote in the `size` bytes at `at`: each
/// followed by its item, so walked by the lengths, never past the
/// buffer nor past `-s` items.
fn search_buf(c: &mut Call<'_, '_>, at: u64, size: u64, items: u64) -> V {
    let mut out = Vec::new();
    let mut off: u64 = 0;
    let mut more = false;
    for i in 0..items {
        let addr = at.wrapping_add(off);
        if addr < at || off.saturating_add(HEADER) > size || i > c.opts.strsize as u64 {
            more = true;
            break;
        }
        let Ok(b) = c.fetch(addr, HEADER as usize) else {
            out.push(V::Opaque(format!("... /* {addr:#x} */")));
            break;
        };
        let f = Fields::new(&b, 8);
        out.push(
            StructBuilder::new()
                .dec("transid", f.u64(0))
                .field("objectid", objectid(c, f.u64(8)))
                .dec("offset", f.u64(16))
                .field("type", key_type(c, f.u32(24)))
                .dec("len", f.u32(28))
                .done(),
        );
        off = off.saturating_add(HEADER + f.u32(28));
    }
    V::Array { items: out, more }
}

/// `struct btrfs_ioctl_search_args`: the key, and at the exit the
/// results in the fixed buffer.
fn search(c: &mut Call<'_, '_>, v: u64, exiting: bool) -> V {
    // strace reads the key alone.
    let b = match c.fetch_v(v, KEY) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    s.field("key", search_key(c, &f, exiting));
    if !exiting {
        return s.done();
    }
    if !c.opts.verbose {
        return s.abbreviated();
    }
    let buf = search_buf(c, v.wrapping_add(KEY as u64), SEARCH_BUF, f.u32(64));
    s.field("buf", buf).done()
}

/// `struct btrfs_ioctl_search_args_v2`: the key and the buffer's size,
/// and at the exit the results in the buffer after them.
fn search_v2(c: &mut Call<'_, '_>, v: u64, exiting: bool) -> V {
    let b = match read(c, v) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let size = f.u64(KEY);
    let mut s = StructBuilder::new();
    s.field("key", search_key(c, &f, exiting))
        .dec("buf_size", size);
    if !exiting {
        return s.done();
    }
    if !c.opts.verbose {
        return s.abbreviated();
    }
    let buf = search_buf(c, v.wrapping_add(KEY as u64 + 8), size, f.u32(64));
    s.field("buf", buf).done()
}

/// `BTRFS_IOC_TREE_SEARCH_V2` at the exit: the results, or with
/// `EOVERFLOW` the buffer size the kernel asks for.
fn search_v2_out(c: &mut Call<'_, '_>, v: u64) -> V {
    let before = super::ioctl::entry_again(c, v, |c, v| search_v2(c, v, false));
    if matches!(before, V::Ptr(_) | V::Null) {
        return before;
    }
    let after = if c.ret == Some(EOVERFLOW) {
        match read(c, v) {
            Ok(b) => StructBuilder::new()
                .dec("buf_size", Fields::new(&b, 8).u64(KEY))
                .done(),
            Err(e) => e,
        }
    } else if c.failed() {
        return before;
    } else {
        search_v2(c, v, true)
    };
    V::Changed {
        before: Box::new(before),
        after: Box::new(after),
    }
}

/// `struct btrfs_ioctl_ino_lookup_args` as the caller fills it.
fn ino_lookup_in(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match read(c, v) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    StructBuilder::new()
        .field("treeid", objectid(c, f.u64(0)))
        .field("objectid", objectid(c, f.u64(8)))
        .done()
}

/// `BTRFS_IOC_INO_LOOKUP` at the exit: the path found, and the tree
/// the kernel chose when the caller left it to it (a tree id of 0 at
/// the entry, which no table names in any style).
fn ino_lookup_out(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match read(c, v) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let chosen = c.entry().is_some_and(|t| t.starts_with("{treeid=0,"));
    let mut s = StructBuilder::new();
    if chosen {
        s.field("treeid", objectid(c, f.u64(0)));
    }
    s.field("name", cstring_v(&b[16.min(b.len())..])).done()
}

/// `struct btrfs_data_container`'s header at `v` (left open when
/// `Ok`, for the values).
fn container(c: &mut Call<'_, '_>, v: u64) -> Result<StructBuilder, V> {
    let b = c.fetch_v(v, 16)?;
    let f = Fields::new(&b, 4);
    let mut s = StructBuilder::new();
    s.dec("bytes_left", f.u32(0))
        .dec("bytes_missing", f.u32(4))
        .dec("elem_cnt", f.u32(8))
        .dec("elem_missed", f.u32(12));
    Ok(s)
}

/// `struct btrfs_ioctl_ino_path_args` as the caller fills it.
fn ino_paths_in(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match read(c, v) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    StructBuilder::new()
        .dec("inum", f.u64(0))
        .dec("size", f.u64(8))
        .field("fspath", V::ptr(f.u64(48)))
        .done()
}

/// `BTRFS_IOC_INO_PATHS` at the exit: the paths container, the paths
/// (each at its offset from the values) with `-v` only.
fn ino_paths_out(c: &mut Call<'_, '_>, v: u64) -> V {
    // The paths: offsets from the values' start.
    container_out(c, v, "fspath", |c, vals, cnt| {
        c.array_v(vals, cnt, 8, |c, e| {
            let p = vals.wrapping_add(Fields::new(e, 8).u64(0));
            c.str0_v(p, 4096)
        })
    })
}

/// `struct btrfs_ioctl_logical_ino_args` as the caller fills it.
fn logical_ino_in(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match read(c, v) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    s.dec("logical", f.u64(0)).dec("size", f.u64(8));
    super::reserved(&mut s, "reserved", (0..3).map(|i| f.u64(16 + i * 8)));
    s.field("flags", flags(c, T::BtrfsLogicalInoArgsFlags, f.u64(40)))
        .field("inodes", V::ptr(f.u64(48)))
        .done()
}

/// `BTRFS_IOC_LOGICAL_INO` at the exit: the inodes container, its
/// (inode, offset, root) triples with `-v` only.
fn logical_ino_out(c: &mut Call<'_, '_>, v: u64) -> V {
    container_out(c, v, "inodes", |c, vals, cnt| {
        c.array_v(vals, cnt / 3, 24, |_, e| {
            let e = Fields::new(e, 8);
            StructBuilder::new()
                .dec("inum", e.u64(0))
                .dec("offset", e.u64(8))
                .dec("root", e.u64(16))
                .done()
        })
    })
}

/// An ioctl's argument at the exit whose field `name` (at offset 48)
/// points to a `struct btrfs_data_container`: the container, and its
/// values with `-v` only, by `values(call, address of the values,
/// elem_cnt)`.
fn container_out(
    c: &mut Call<'_, '_>,
    v: u64,
    name: &'static str,
    values: impl FnOnce(&mut Call<'_, '_>, u64, u64) -> V,
) -> V {
    let b = match read(c, v) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let at = Fields::new(&b, 8).u64(48);
    let inner = match container(c, at) {
        Err(e) => e,
        Ok(mut s) if !c.opts.verbose => s.abbreviated(),
        Ok(mut s) => {
            let cnt = Fields::new(&c.fetch(at, 16).unwrap_or_default(), 4).u32(8);
            let vals = values(c, at.wrapping_add(16), cnt);
            s.field("val", vals).done()
        }
    };
    StructBuilder::new().field(name, inner).done()
}

/// `struct btrfs_ioctl_space_args` as the caller fills it.
fn space_in(c: &mut Call<'_, '_>, v: u64) -> V {
    match read(c, v) {
        Ok(b) => StructBuilder::new()
            .dec("space_slots", Fields::new(&b, 8).u64(0))
            .done(),
        Err(e) => e,
    }
}

/// `BTRFS_IOC_SPACE_INFO` at the exit: the number of spaces, and (when
/// the caller gave room for them) the spaces, with `-v` only.
fn space_out(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match read(c, v) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let total = f.u64(8);
    let mut s = StructBuilder::new();
    s.dec("total_spaces", total);
    if f.u64(0) == 0 && total != 0 {
        return s.done();
    }
    if !c.opts.verbose {
        return s.abbreviated();
    }
    let spaces = c.array_v(v.wrapping_add(16), total, 24, |c, e| {
        let e = Fields::new(e, 8);
        StructBuilder::new()
            .field("flags", flags(c, T::BtrfsSpaceInfoFlags, e.u64(0)))
            .dec("total_bytes", e.u64(8))
            .dec("used_bytes", e.u64(16))
            .done()
    });
    s.field("spaces", spaces).done()
}

/// `struct btrfs_ioctl_scrub_args` as the caller fills it (`range`:
/// the range and flags of a scrub to start).
fn scrub_in(c: &mut Call<'_, '_>, v: u64, range: bool) -> V {
    let b = match read(c, v) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    s.field("devid", dev(f.u64(0)));
    if range {
        s.dec("start", f.u64(8))
            .field("end", u64_max(f.u64(16)))
            .field("flags", flags(c, T::BtrfsScrubFlags, f.u64(24)));
    }
    s.done()
}

/// The fields of `struct btrfs_scrub_progress`, in order.
const SCRUB_PROGRESS: [&str; 15] = [
    "data_extents_scrubbed",
    "tree_extents_scrubbed",
    "data_bytes_scrubbed",
    "tree_bytes_scrubbed",
    "read_errors",
    "csum_errors",
    "verify_errors",
    "no_csum",
    "csum_discards",
    "super_errors",
    "malloc_errors",
    "uncorrectable_errors",
    "corrected_errors",
    "last_physical",
    "unverified_errors",
];

/// A scrub at the exit: its progress.
fn scrub_out(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match read(c, v) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut p = StructBuilder::new();
    for (i, n) in SCRUB_PROGRESS.iter().enumerate() {
        p.dec(*n, f.u64(32 + i * 8));
    }
    StructBuilder::new().field("progress", p.done()).done()
}

/// Offset of `btrfs_ioctl_dev_info_args.path` (`BTRFS_DEVICE_PATH_NAME_MAX`
/// bytes at the end of its 4096).
const DEV_PATH: usize = 4096 - 1024;

/// `struct btrfs_ioctl_dev_info_args` as the caller fills it: the
/// device, and its UUID when one is given.
fn dev_info_in(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match read(c, v) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    s.field("devid", dev(f.u64(0)));
    if b.len() >= 24 && b[8..24].iter().any(|&x| x != 0) {
        s.field("uuid", uuid(&b[8..24]));
    }
    s.done()
}

/// `BTRFS_IOC_DEV_INFO` at the exit: the device's UUID, sizes and path.
fn dev_info_out(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match read(c, v) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    if b.len() >= 24 && b[8..24].iter().any(|&x| x != 0) {
        s.field("uuid", uuid(&b[8..24]));
    }
    s.dec("bytes_used", f.u64(24))
        .dec("total_bytes", f.u64(32))
        .field("path", cstring_v(&b[DEV_PATH.min(b.len())..]))
        .done()
}

/// The size of `struct btrfs_ioctl_timespec` in the caller's ABI (a
/// `u64` and a `u32`, padded to the `u64`'s alignment: 4 on i386).
fn timespec_size(c: &Call<'_, '_>) -> usize {
    if c.long_size() == 4 {
        12
    } else {
        16
    }
}

/// A `struct btrfs_ioctl_timespec` at `o`, with its date.
fn timespec(f: &Fields<'_>, o: usize) -> V {
    let (sec, nsec) = (f.u64(o), f.u32(o + 8));
    let t = StructBuilder::new()
        .dec("sec", sec)
        .dec("nsec", nsec)
        .done();
    match super::time::date(sec as i64, nsec, 9) {
        Some(d) => V::Commented {
            value: Box::new(t),
            comment: d,
        },
        None => t,
    }
}

/// `struct btrfs_ioctl_received_subvol_args` as the caller fills it.
fn received_in(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match read(c, v) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let ts = timespec_size(c);
    StructBuilder::new()
        .field("uuid", uuid(&b[..16.min(b.len())]))
        .dec("stransid", f.u64(16))
        .field("stime", timespec(&f, 32))
        .dec("flags", f.u64(32 + 2 * ts))
        .done()
}

/// `BTRFS_IOC_SET_RECEIVED_SUBVOL` at the exit: the kernel's transid
/// and time.
fn received_out(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match read(c, v) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let ts = timespec_size(c);
    StructBuilder::new()
        .dec("rtransid", f.u64(24))
        .field("rtime", timespec(&f, 32 + ts))
        .done()
}
