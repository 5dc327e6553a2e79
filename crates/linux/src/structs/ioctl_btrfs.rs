//! btrfs ioctls and the other requests of type 0x94 (clone, dedupe,
//! file system labels) as strace 6.1 prints them.
//!
//! Requests that take nothing print no argument; numbers and flags
//! through pointers print at the entry (`W`) or at a successful exit
//! (`R`); structures the kernel reads and completes (`RW`) print at the
//! entry and, when the call succeeds, what it wrote after ` => `.
//! Arrays the kernel returns (search results, space infos, inode
//! containers, clone sources, quota group ids) are abbreviated without
//! `-v`. Structures are read whole, at the size the request's number
//! gives (so the i386 layouts, whose `u64` alignment and pointers
//! differ, are read at their own size); only their pointer fields
//! move, and those are placed by the caller's pointer width. The tree,
//! inode, device and scrub requests are in [`super::ioctl_btrfs_tree`].

use vstrace_core::value::{Base, Flag, Name};
use vstrace_core::{StructBuilder, Value as V};

use super::ioctl::{cstring_v, Kind};
use super::ioctl_btrfs_tree as tree;
use super::{fd, Call, Fields};
use crate::fmt;
use crate::xlat::{Radix, Table as T};

/// `BTRFS_BALANCE_DATA`, `_SYSTEM`, `_METADATA`: which of the balance
/// arguments are in use.
const BALANCE_DATA: u64 = 1;
const BALANCE_SYSTEM: u64 = 2;
const BALANCE_METADATA: u64 = 4;
/// `BTRFS_SUBVOL_QGROUP_INHERIT`: a `btrfs_qgroup_inherit` is passed.
const SUBVOL_QGROUP_INHERIT: u64 = 4;
/// `BTRFS_FS_INFO_FLAG_*`: which optional fields `fs_info` fills.
const FS_INFO_CSUM: u64 = 1;
const FS_INFO_GENERATION: u64 = 2;
const FS_INFO_METADATA_UUID: u64 = 4;
/// `BTRFS_IOCTL_DEV_REPLACE_CMD_START` and `_STATUS`.
const REPLACE_START: u64 = 0;
const REPLACE_STATUS: u64 = 1;
/// `BTRFS_DEVICE_PATH_NAME_MAX + 1`: the size of a replace's device
/// name fields.
const REPLACE_NAME: usize = 1025;

/// The decoder of type-0x94 request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::*;
    Some(match name {
        // The transaction and sync requests take nothing; the old defrag
        // and balance requests are declared with an argument the kernel
        // never reads.
        "BTRFS_IOC_TRANS_START"
        | "BTRFS_IOC_TRANS_END"
        | "BTRFS_IOC_SYNC"
        | "BTRFS_IOC_SCRUB_CANCEL"
        | "BTRFS_IOC_QUOTA_RESCAN_WAIT"
        | "BTRFS_IOC_DEFRAG"
        | "BTRFS_IOC_BALANCE" => NoArg,
        "BTRFS_IOC_BALANCE_CTL" => {
            ValV(|c, v| fmt::xval_v(c.abi, T::BtrfsBalanceCtlCmds, v as u32 as u64, Radix::Hex))
        }
        "BTRFS_IOC_START_SYNC" => OutV(u64_ptr),
        "BTRFS_IOC_DEFAULT_SUBVOL" | "BTRFS_IOC_WAIT_SYNC" => InV(u64_ptr),
        "BTRFS_IOC_SUBVOL_GETFLAGS" => OutV(subvol_flags),
        "BTRFS_IOC_SUBVOL_SETFLAGS" => InV(subvol_flags),
        "BTRFS_IOC_BALANCE_V2" => InOutV(
            |c, v| balance(c, v, false),
            |c, v| Some(balance(c, v, true)),
        ),
        "BTRFS_IOC_BALANCE_PROGRESS" => OutV(|c, v| balance(c, v, true)),
        "BTRFS_IOC_DEFRAG_RANGE" => InV(defrag_range),
        "BTRFS_IOC_DEV_REPLACE" => InOutV(replace_in, |c, v| Some(replace_out(c, v))),
        "BTRFS_IOC_GET_FEATURES" => OutV(|c, v| features_array(c, v, &[])),
        "BTRFS_IOC_SET_FEATURES" => InV(|c, v| features_array(c, v, &["", ""])),
        "BTRFS_IOC_GET_SUPPORTED_FEATURES" => {
            OutV(|c, v| features_array(c, v, &["supported", "safe to set", "safe to clear"]))
        }
        "BTRFS_IOC_FS_INFO" => OutV(fs_info),
        "BTRFS_IOC_GET_DEV_STATS" => InOutV(
            |c, v| dev_stats(c, v, false),
            |c, v| Some(dev_stats(c, v, true)),
        ),
        "BTRFS_IOC_QGROUP_ASSIGN" => InV(|c, v| u64_fields(c, v, &["assign", "src", "dst"])),
        "BTRFS_IOC_QGROUP_CREATE" => InV(|c, v| u64_fields(c, v, &["create", "qgroupid"])),
        "BTRFS_IOC_QGROUP_LIMIT" => OutV(qgroup_limit_args),
        "BTRFS_IOC_QUOTA_CTL" => InV(|c, v| {
            let b = match c.fetch_v(v, req_size(c)) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let f = Fields::new(&b, 8);
            let cmd = fmt::xval_v(c.abi, T::BtrfsQgroupCtlCmds, f.u64(0), Radix::Hex);
            StructBuilder::new().field("cmd", cmd).done()
        }),
        "BTRFS_IOC_QUOTA_RESCAN" => InV(|c, v| u64_fields(c, v, &["flags"])),
        "BTRFS_IOC_QUOTA_RESCAN_STATUS" => OutV(|c, v| {
            let b = match c.fetch_v(v, req_size(c)) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let f = Fields::new(&b, 8);
            StructBuilder::new()
                .dec("flags", f.u64(0))
                .field("progress", objectid(c, f.u64(8)))
                .done()
        }),
        "BTRFS_IOC_SEND" => InV(send),
        "BTRFS_IOC_SNAP_CREATE"
        | "BTRFS_IOC_RESIZE"
        | "BTRFS_IOC_SCAN_DEV"
        | "BTRFS_IOC_FORGET_DEV"
        | "BTRFS_IOC_ADD_DEV"
        | "BTRFS_IOC_RM_DEV"
        | "BTRFS_IOC_SUBVOL_CREATE"
        | "BTRFS_IOC_SNAP_DESTROY"
        | "BTRFS_IOC_DEVICES_READY" => InV(vol_args),
        // Declared as written only, but the kernel returns a transid.
        "BTRFS_IOC_SNAP_CREATE_V2" | "BTRFS_IOC_SUBVOL_CREATE_V2" => {
            InOutV(vol_args_v2, |c, v| Some(transid(c, v)))
        }
        // The generic file requests sharing the type.
        "FICLONE" => ValV(|_, v| V::dec(v as u32 as i32)),
        "FICLONERANGE" => InV(clone_range),
        "FIDEDUPERANGE" => InOutV(|c, v| dedupe(c, v, false), dedupe_out),
        "FS_IOC_GETFSLABEL" => OutV(label),
        "FS_IOC_SETFSLABEL" => InV(label),
        _ => return tree::kind_of(name),
    })
}

/// The size of the request's argument (its number's size field): the
/// structure's size in the caller's ABI.
pub(super) fn req_size(c: &Call<'_, '_>) -> usize {
    ((c.arg(1) >> 16) & 0x3fff) as usize
}

/// A `u64` as strace's `PRINT_FIELD_U64`: `UINT64_MAX` by name.
pub(super) fn u64_max(v: u64) -> V {
    if v == u64::MAX {
        V::name("UINT64_MAX", v)
    } else {
        V::dec(v)
    }
}

/// A value of `table` named when it has a name, else in decimal
/// without a comment (strace's `printxval64_u` without a default).
fn xval_u(c: &Call<'_, '_>, table: T, v: u64) -> V {
    match fmt::xval_v(c.abi, table, v, Radix::Udec) {
        V::Const(mut k) => {
            k.comment = None;
            V::Const(k)
        }
        other => other,
    }
}

/// A tree object id (`btrfs_print_objectid`).
pub(super) fn objectid(c: &Call<'_, '_>, v: u64) -> V {
    xval_u(c, T::BtrfsTreeObjectids, v)
}

/// An item key type (`btrfs_print_key_type`).
pub(super) fn key_type(c: &Call<'_, '_>, v: u64) -> V {
    xval_u(c, T::BtrfsKeyTypes, v)
}

/// A device id (`PRINT_FIELD_DEV`): `makedev(...)` with the number in
/// hex under `-X raw` and `-X verbose`.
pub(super) fn dev(v: u64) -> V {
    V::Const(vstrace_core::value::Const {
        raw: i128::from(v),
        base: Base::Hex,
        name: Some(fmt::makedev(v).into()),
        comment: None,
    })
}

/// A flag set of `table`, with its default comment when nothing is
/// named.
pub(super) fn flags(c: &Call<'_, '_>, table: T, v: u64) -> V {
    fmt::xflags_v(c.abi, &[table], v, true, false)
}

/// [`flags`] with another default comment than the table's (a table
/// strace shares between fields of different names).
fn flags_dflt(c: &Call<'_, '_>, table: T, v: u64, dflt: &'static str) -> V {
    match flags(c, table, v) {
        V::Flags(mut parts) => {
            for p in &mut parts {
                // Only the table's unknown marker: under `-X verbose` the
                // comment holds the names.
                if let Flag::Bits {
                    comment: Some(k), ..
                } = p
                {
                    if *k == table.xlat().dflt {
                        *k = Name::Borrowed(dflt);
                    }
                }
            }
            V::Flags(parts)
        }
        other => other,
    }
}

/// `[N]`: a `u64` an argument points to.
fn u64_ptr(c: &mut Call<'_, '_>, v: u64) -> V {
    match c.fetch_v(v, 8) {
        Ok(b) => V::boxed(V::dec(Fields::new(&b, 8).u64(0))),
        Err(e) => e,
    }
}

/// A subvolume's flags through a pointer, shown without brackets as
/// strace does.
fn subvol_flags(c: &mut Call<'_, '_>, v: u64) -> V {
    match c.fetch_v(v, 8) {
        Ok(b) => flags(c, T::BtrfsSnapFlagsV2, Fields::new(&b, 8).u64(0)),
        Err(e) => e,
    }
}

/// A structure of `u64` fields named `names`, in decimal.
fn u64_fields(c: &mut Call<'_, '_>, v: u64, names: &[&'static str]) -> V {
    let b = match c.fetch_v(v, req_size(c)) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    for (i, n) in names.iter().enumerate() {
        s.dec(*n, f.u64(i * 8));
    }
    s.done()
}

/// `struct btrfs_balance_args` at `o`.
fn balance_args(c: &Call<'_, '_>, f: &Fields<'_>, o: usize) -> V {
    let profiles = f.u64(o);
    let mut s = StructBuilder::new();
    s.field(
        "profiles",
        flags_dflt(c, T::BtrfsSpaceInfoFlags, profiles, "BTRFS_BLOCK_GROUP_???"),
    )
    .field("usage", u64_max(f.u64(o + 8)))
    .field("devid", dev(f.u64(o + 16)));
    for (i, n) in ["pstart", "pend", "vstart", "vend", "target"]
        .iter()
        .enumerate()
    {
        s.field(*n, u64_max(f.u64(o + 24 + i * 8)));
    }
    s.field("flags", flags(c, T::BtrfsBalanceArgs, f.u64(o + 64)));
    s.done()
}

/// `struct btrfs_ioctl_balance_args`: the flags, the state (`out`: as
/// the kernel reports it), and the arguments of the chunk types in use.
fn balance(c: &mut Call<'_, '_>, v: u64, out: bool) -> V {
    let b = match c.fetch_v(v, req_size(c)) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let fl = f.u64(0);
    let mut s = StructBuilder::new();
    s.field("flags", flags(c, T::BtrfsBalanceFlags, fl));
    if out {
        s.field("state", flags(c, T::BtrfsBalanceState, f.u64(8)));
    }
    for (bit, name, o) in [
        (BALANCE_DATA, "data", 16),
        (BALANCE_METADATA, "meta", 152),
        (BALANCE_SYSTEM, "sys", 288),
    ] {
        if fl & bit != 0 {
            s.field(name, balance_args(c, &f, o));
        }
    }
    s.done()
}

/// `struct btrfs_ioctl_defrag_range_args`.
fn defrag_range(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match c.fetch_v(v, req_size(c)) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    StructBuilder::new()
        .dec("start", f.u64(0))
        .field("len", u64_max(f.u64(8)))
        .field("flags", flags(c, T::BtrfsDefragFlags, f.u64(16)))
        .dec("extent_thresh", f.u32(24))
        .field(
            "compress_type",
            fmt::xval_v(c.abi, T::BtrfsCompressTypes, f.u32(28), Radix::Hex),
        )
        .done()
}

/// `struct btrfs_ioctl_dev_replace_args` as the caller fills it: the
/// command, and a start's parameters.
fn replace_in(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match c.fetch_v(v, req_size(c)) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let cmd = f.u64(0);
    let mut s = StructBuilder::new();
    s.field(
        "cmd",
        fmt::xval_v(c.abi, T::BtrfsDevReplaceCmds, cmd, Radix::Hex),
    );
    if cmd == REPLACE_START && b.len() >= 32 + 2 * REPLACE_NAME {
        let name = |o: usize| cstring_v(&b[o..o + REPLACE_NAME]);
        let start = StructBuilder::new()
            .field("srcdevid", dev(f.u64(16)))
            .field(
                "cont_reading_from_srcdev_mode",
                fmt::xval_v(
                    c.abi,
                    T::BtrfsContReadingFromSrcdevMode,
                    f.u64(24),
                    Radix::Hex,
                ),
            )
            .field("srcdev_name", name(32))
            .field("tgtdev_name", name(32 + REPLACE_NAME))
            .done();
        s.field("start", start);
    }
    s.done()
}

/// A time in seconds with its date as a comment (none for 0).
pub(super) fn secs(v: u64) -> V {
    let n = V::dec(v);
    match super::time::date(v as i64, 0, 0) {
        Some(d) => V::Commented {
            value: Box::new(n),
            comment: d,
        },
        None => n,
    }
}

/// `struct btrfs_ioctl_dev_replace_args` as the kernel completes it:
/// the result, and a status request's progress.
fn replace_out(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match c.fetch_v(v, req_size(c)) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    s.field(
        "result",
        fmt::xval_v(c.abi, T::BtrfsDevReplaceResults, f.u64(8), Radix::Hex),
    );
    if f.u64(0) == REPLACE_STATUS {
        let progress = f.u64(24);
        let p = if progress <= 1000 {
            V::Commented {
                value: Box::new(V::dec(progress)),
                comment: format!("{}.{}%", progress / 10, progress % 10),
            }
        } else {
            V::dec(progress)
        };
        let status = StructBuilder::new()
            .field(
                "replace_state",
                fmt::xval_v(c.abi, T::BtrfsDevReplaceState, f.u64(16), Radix::Hex),
            )
            .field("progress_1000", p)
            .field("time_started", secs(f.u64(32)))
            .field("time_stopped", secs(f.u64(40)))
            .dec("num_write_errors", f.u64(48))
            .dec("num_uncorrectable_read_errors", f.u64(56))
            .done();
        s.field("status", status);
    }
    s.done()
}

/// The compat features: strace's table of them is empty (the kernel
/// defines none), so any bit is unknown.
fn compat_flags(v: u64) -> V {
    let parts = if v == 0 {
        Vec::new()
    } else {
        vec![Flag::Bits {
            bits: v,
            comment: Some(Name::Borrowed("BTRFS_FEATURE_COMPAT_???")),
        }]
    };
    vstrace_core::style::style_flags(v, V::Flags(parts))
}

/// `struct btrfs_ioctl_feature_flags` at `o`.
fn features(c: &Call<'_, '_>, f: &Fields<'_>, o: usize) -> V {
    StructBuilder::new()
        .field("compat_flags", compat_flags(f.u64(o)))
        .field(
            "compat_ro_flags",
            flags(c, T::BtrfsFeaturesCompatRo, f.u64(o + 8)),
        )
        .field(
            "incompat_flags",
            flags(c, T::BtrfsFeaturesIncompat, f.u64(o + 16)),
        )
        .done()
}

/// Feature sets: one alone (`notes` empty), else an array of them,
/// each with its note as a comment when it has one.
fn features_array(c: &mut Call<'_, '_>, v: u64, notes: &[&str]) -> V {
    let n = notes.len().max(1);
    let b = match c.fetch_v(v, 24 * n) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    if notes.is_empty() {
        return features(c, &f, 0);
    }
    let items = notes
        .iter()
        .enumerate()
        .map(|(i, note)| {
            let one = features(c, &f, i * 24);
            if note.is_empty() {
                one
            } else {
                V::Commented {
                    value: Box::new(one),
                    comment: note.to_string(),
                }
            }
        })
        .collect();
    V::Array { items, more: false }
}

/// `struct btrfs_ioctl_fs_info_args`: the optional fields as its flags
/// say.
fn fs_info(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match c.fetch_v(v, req_size(c)) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let fl = f.u64(48);
    let mut s = StructBuilder::new();
    s.dec("max_id", f.u64(0))
        .dec("num_devices", f.u64(8))
        .field("fsid", super::ioctl_tee::uuid(&b[16..32]))
        .dec("nodesize", f.u32(32))
        .dec("sectorsize", f.u32(36))
        .dec("clone_alignment", f.u32(40));
    if fl & FS_INFO_CSUM != 0 {
        s.field(
            "csum_type",
            fmt::xval_v(c.abi, T::BtrfsCsumTypes, f.u16(44), Radix::Hex),
        )
        .dec("csum_size", f.u16(46));
    }
    s.field("flags", flags(c, T::BtrfsFsInfoFlags, fl));
    if fl & FS_INFO_GENERATION != 0 {
        s.dec("generation", f.u64(56));
    }
    if fl & FS_INFO_METADATA_UUID != 0 {
        s.field("metadata_uuid", super::ioctl_tee::uuid(&b[64..80]));
    }
    s.done()
}

/// `BTRFS_DEV_STAT_VALUES_MAX`: the statistics the structure holds.
const DEV_STAT_VALUES: u64 = 5;

/// `struct btrfs_ioctl_get_dev_stats`: the device, count and flags at
/// the entry; the count, flags and statistics by name at the exit.
fn dev_stats(c: &mut Call<'_, '_>, v: u64, out: bool) -> V {
    let b = match c.fetch_v(v, req_size(c)) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let n = f.u64(8);
    let mut s = StructBuilder::new();
    if !out {
        s.field("devid", dev(f.u64(0)));
    }
    s.dec("nr_items", n)
        .field("flags", flags(c, T::BtrfsDevStatsFlags, f.u64(16)));
    if !out {
        return s.done();
    }
    // The kernel's count is checked against the array the structure
    // holds: what is past it is `...`.
    let items = (0..n.min(DEV_STAT_VALUES))
        .map(|i| {
            V::Opaque(format!(
                "[{}]={}",
                xval_u(c, T::BtrfsDevStatsValues, i).render(),
                f.u64(24 + i as usize * 8)
            ))
        })
        .collect();
    // The statistics print as an array without a field name.
    s.field(
        "",
        V::Array {
            items,
            more: n > DEV_STAT_VALUES,
        },
    )
    .done()
}

/// `struct btrfs_qgroup_limit` at `o`.
pub(super) fn qgroup_limit(c: &Call<'_, '_>, f: &Fields<'_>, o: usize) -> V {
    let mut s = StructBuilder::new();
    s.field("flags", flags(c, T::BtrfsQgroupLimitFlags, f.u64(o)));
    for (i, n) in ["max_rfer", "max_excl", "rsv_rfer", "rsv_excl"]
        .iter()
        .enumerate()
    {
        s.dec(*n, f.u64(o + 8 + i * 8));
    }
    s.done()
}

/// `struct btrfs_ioctl_qgroup_limit_args`.
fn qgroup_limit_args(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match c.fetch_v(v, req_size(c)) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    StructBuilder::new()
        .dec("qgroupid", f.u64(0))
        .field("lim", qgroup_limit(c, &f, 8))
        .done()
}

/// `struct btrfs_ioctl_send_args`: the pointer to the clone sources
/// and the fields after it are placed by the caller's pointer width.
fn send(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match c.fetch_v(v, req_size(c)) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let w = c.long_size();
    let f = Fields::new(&b, w);
    let count = f.u64(8);
    let sources = f.ulong(16);
    let after = 16 + w;
    let list = if c.opts.verbose {
        c.array_v(sources, count, 8, |c, e| {
            objectid(c, Fields::new(e, 8).u64(0))
        })
    } else {
        V::ptr(sources)
    };
    StructBuilder::new()
        .field("send_fd", fd(f.u64(0)))
        .dec("clone_sources_count", count)
        .field("clone_sources", list)
        .field("parent_root", objectid(c, f.u64(after)))
        .field("flags", flags(c, T::BtrfsSendFlags, f.u64(after + 8)))
        .done()
}

/// `struct btrfs_ioctl_vol_args`: a descriptor and a name.
fn vol_args(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match c.fetch_v(v, req_size(c)) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    StructBuilder::new()
        .field("fd", fd(f.u64(0)))
        .field("name", cstring_v(&b[8.min(b.len())..]))
        .done()
}

/// Offset of `btrfs_ioctl_vol_args_v2.name`.
const V2_NAME: usize = 56;

/// `struct btrfs_ioctl_vol_args_v2` as the caller fills it: with
/// `BTRFS_SUBVOL_QGROUP_INHERIT`, the quota groups to inherit.
fn vol_args_v2(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match c.fetch_v(v, req_size(c)) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let w = c.long_size();
    let f = Fields::new(&b, w);
    let fl = f.u64(16);
    let mut s = StructBuilder::new();
    s.field("fd", fd(f.u64(0)))
        .field("flags", flags(c, T::BtrfsSnapFlagsV2, fl));
    if fl & SUBVOL_QGROUP_INHERIT != 0 {
        s.dec("size", f.u64(24));
        let inherit = qgroup_inherit(c, f.ulong(32));
        s.field("qgroup_inherit", inherit);
    }
    s.field("name", cstring_v(&b[V2_NAME.min(b.len())..]));
    s.done()
}

/// Size of `struct btrfs_qgroup_inherit` without its ids.
const INHERIT: usize = 72;

/// `struct btrfs_qgroup_inherit` at `v`, its ids with `-v` only.
fn qgroup_inherit(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match c.fetch_v(v, INHERIT) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let n = f.u64(8);
    let mut s = StructBuilder::new();
    s.field("flags", flags(c, T::BtrfsQgroupInheritFlags, f.u64(0)))
        .dec("num_qgroups", n)
        .dec("num_ref_copies", f.u64(16))
        .dec("num_excl_copies", f.u64(24))
        .field("lim", qgroup_limit(c, &f, 32));
    if !c.opts.verbose {
        return s.abbreviated();
    }
    let ids = c.array_v(v.wrapping_add(INHERIT as u64), n, 8, |_, e| {
        V::dec(Fields::new(e, 8).u64(0))
    });
    s.field("qgroups", ids).done()
}

/// At a successful exit of a subvolume's creation: its transid.
fn transid(c: &mut Call<'_, '_>, v: u64) -> V {
    match c.fetch_v(v, req_size(c)) {
        Ok(b) => StructBuilder::new()
            .dec("transid", Fields::new(&b, 8).u64(8))
            .done(),
        Err(e) => e,
    }
}

/// `struct file_clone_range`.
fn clone_range(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match c.fetch_v(v, 32) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    StructBuilder::new()
        .field("src_fd", fd(f.u64(0)))
        .dec("src_offset", f.u64(8))
        .dec("src_length", f.u64(16))
        .dec("dest_offset", f.u64(24))
        .done()
}

/// Size of `struct file_dedupe_range` and of one destination.
const DEDUPE: usize = 24;
const DEDUPE_INFO: usize = 32;
/// Destinations shown without `-v` (strace's own limit).
const DEDUPE_ABBREV: u64 = 2;

/// `struct file_dedupe_range`: the source and destinations as the
/// caller fills them, or (`out`) the destinations' results.
fn dedupe(c: &mut Call<'_, '_>, v: u64, out: bool) -> V {
    let b = match c.fetch_v(v, DEDUPE) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let count = f.u16(16);
    let mut s = StructBuilder::new();
    if !out {
        s.dec("src_offset", f.u64(0))
            .dec("src_length", f.u64(8))
            .dec("dest_count", count);
    }
    let limit = if c.opts.verbose {
        u64::MAX
    } else {
        DEDUPE_ABBREV
    };
    let info = c.array_max_v(
        v.wrapping_add(DEDUPE as u64),
        count,
        DEDUPE_INFO,
        limit,
        |_, e| {
            let e = Fields::new(e, 8);
            let mut s = StructBuilder::new();
            if out {
                s.dec("bytes_deduped", e.u64(16)).dec("status", e.i32(24));
            } else {
                s.field("dest_fd", fd(e.u64(0)))
                    .dec("dest_offset", e.u64(8));
            }
            s.done()
        },
    );
    s.field("info", info).done()
}

/// At a successful exit of a dedupe: the destinations' results, when
/// the entry could show some (strace stops at the entry when the array
/// was empty or unreadable).
fn dedupe_out(c: &mut Call<'_, '_>, v: u64) -> Option<V> {
    let shown = match dedupe(c, v, false) {
        V::Struct { fields, .. } => fields
            .iter()
            .any(|(n, x)| n == "info" && matches!(x, V::Array { items, .. } if !items.is_empty())),
        _ => false,
    };
    shown.then(|| dedupe(c, v, true))
}

/// A file system label (`FSLABEL_MAX` bytes, up to its NUL).
fn label(c: &mut Call<'_, '_>, v: u64) -> V {
    match c.fetch_v(v, 256) {
        Ok(b) => cstring_v(&b),
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests;
