//! quotactl(2) and quotactl_fd(2) as strace prints them: the command as
//! `QCMD(Q_GETQUOTA, USRQUOTA)`, then the id and the address by command
//! (none for `Q_SYNC`, a quota format and a path for `Q_QUOTAON`, the
//! address alone for `Q_GETINFO`...), and the structures the address
//! points to: `struct if_dqblk`, `if_nextdqblk`, `if_dqinfo`, XFS's
//! `fs_disk_quota`, `fs_quota_stat` (with its i386 layout) and
//! `fs_quota_statv`. What the kernel reads is shown at the entry, what it
//! writes at a successful exit. Command numbers and flag names come from
//! the generated tables.

use vstrace_core::value::Base;
use vstrace_core::{read, ConstStyle, StructBuilder, Value};

use super::{Call, Fields};
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{self, Radix, Table as T};

/// The kernel's `PATH_MAX`: the longest path read.
const PATH_MAX: usize = 4096;

/// `sizeof(struct if_dqblk)` (packed: no tail padding in either ABI).
const DQBLK: usize = 68;
/// `sizeof(struct if_nextdqblk)`.
const NEXTDQBLK: usize = 72;
/// `sizeof(struct if_dqinfo)`.
const DQINFO: usize = 24;
/// `sizeof(struct fs_disk_quota)`.
const DISK_QUOTA: usize = 112;
/// `sizeof(struct fs_quota_statv)`.
const QUOTA_STATV: usize = 160;

/// How a quota command shapes the arguments after the special file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Neither the id nor the address (`Q_SYNC`, `Q_QUOTAOFF`).
    Nothing,
    /// The address alone (`Q_GETFMT`, `Q_GETINFO`, `Q_XGETQSTAT`...).
    AddrOnly,
    /// The id and the address.
    Both,
}

/// The command part of a `QCMD(cmd, type)` word, by name (`""` when the
/// table has none).
fn command(abi: LinuxAbi, qcmd: u64) -> &'static str {
    let cmd = (qcmd & 0xffff_ffff) >> 8;
    T::Quotacmds.xlat().lookup(abi, cmd).unwrap_or("")
}

/// Which arguments the command `qcmd` shows.
pub(crate) fn shape(abi: LinuxAbi, qcmd: u64) -> Shape {
    match command(abi, qcmd) {
        "Q_QUOTAOFF" | "Q_SYNC" | "Q_XQUOTASYNC" => Shape::Nothing,
        "Q_GETFMT" | "Q_GETINFO" | "Q_SETINFO" | "Q_XGETQSTAT" | "Q_XGETQSTATV" | "Q_XQUOTAON"
        | "Q_XQUOTAOFF" | "Q_XQUOTARM" => Shape::AddrOnly,
        _ => Shape::Both,
    }
}

/// A table's name for `v`, or the number in hex with the table's
/// unknown-value comment, whatever the `-X` style (strace names the parts
/// of `QCMD()` in its abbreviated style always).
fn part(abi: LinuxAbi, t: T, v: u64) -> String {
    match t.xlat().lookup(abi, v) {
        Some(n) => n.to_string(),
        None => format!("{} /* {} */", fmt::hex0(v), t.xlat().dflt),
    }
}

/// The command word: `QCMD(Q_GETQUOTA, USRQUOTA)`, the number with
/// `-X raw`, both with `-X verbose`.
pub(super) fn qcmd(abi: LinuxAbi, v: u64) -> Value {
    let v = v & 0xffff_ffff;
    let num = Value::int(v, Base::Dec);
    let text = format!(
        "QCMD({}, {})",
        part(abi, T::Quotacmds, v >> 8),
        part(abi, T::Quotatypes, v & 0xff)
    );
    match xlat::style() {
        ConstStyle::Raw => num,
        ConstStyle::Verbose => Value::Commented {
            value: Box::new(num),
            comment: text,
        },
        ConstStyle::Abbrev => Value::Opaque(text),
    }
}

/// strace's `printuid`: `-1`, or the id unsigned.
fn uid(v: u64) -> Value {
    match v & 0xffff_ffff {
        0xffff_ffff => Value::dec(-1),
        id => Value::dec(id),
    }
}

/// The id argument, the command in argument `cmd`: a quota format for
/// `Q_QUOTAON`, else a user, group or project id.
pub(super) fn id(c: &mut Call<'_, '_>, cmd: u8, v: u64) -> Value {
    let abi = c.abi;
    if command(abi, c.arg(cmd)) == "Q_QUOTAON" {
        return fmt::xval_v(abi, T::QuotaFormats, v & 0xffff_ffff, Radix::Hex);
    }
    uid(v)
}

/// A path the kernel reads (`Q_QUOTAON`'s quota file): quoted, `NULL`,
/// or the address when it cannot be read.
fn path(c: &mut Call<'_, '_>, va: u64) -> Value {
    if va == 0 {
        return Value::Null;
    }
    match read::read_cstring(c.mem, va, PATH_MAX) {
        Ok(s) if s.fault.is_none() => Value::str(s.bytes, s.truncated, c.opts.strings_in_hex),
        _ => Value::ptr(va),
    }
}

/// Whether the kernel writes through the address for the command (shown
/// at the exit), rather than reads it (shown at the entry).
fn writes(name: &str) -> bool {
    matches!(
        name,
        "Q_GETQUOTA"
            | "Q_GETNEXTQUOTA"
            | "Q_XGETQUOTA"
            | "Q_XGETNEXTQUOTA"
            | "Q_GETFMT"
            | "Q_GETINFO"
            | "Q_XGETQSTAT"
            | "Q_XGETQSTATV"
    )
}

/// The address argument, the command in argument `cmd`.
pub(super) fn data(c: &mut Call<'_, '_>, cmd: u8, v: u64) -> Value {
    let name = command(c.abi, c.arg(cmd));
    match c.ret {
        // What the kernel writes: at a successful exit.
        None if writes(name) => Value::ptr(v),
        Some(_) if writes(name) && c.failed() => Value::ptr(v),
        Some(_) if !writes(name) => {
            // What the kernel read: as the entry showed it (the guest may
            // have changed the memory since).
            let now = data_of(c, name, v);
            match c.entry() {
                Some(e) if e != now.render() => Value::Opaque(e.to_string()),
                _ => now,
            }
        }
        _ => data_of(c, name, v),
    }
}

/// What the address points to for command `name`.
fn data_of(c: &mut Call<'_, '_>, name: &str, v: u64) -> Value {
    if name == "Q_QUOTAON" {
        return path(c, v);
    }
    if !c.opts.structs {
        return Value::ptr(v);
    }
    let abi = c.abi;
    match name {
        "Q_GETQUOTA" | "Q_SETQUOTA" => dqblk(c, v, false),
        "Q_GETNEXTQUOTA" => dqblk(c, v, true),
        "Q_XGETQUOTA" | "Q_XGETNEXTQUOTA" | "Q_XSETQLIM" => disk_quota(c, v),
        "Q_GETFMT" => match c.fetch_v(v, 4) {
            Ok(b) => Value::boxed(fmt::xval_v(
                abi,
                T::QuotaFormats,
                Fields::new(&b, 4).u32(0),
                Radix::Hex,
            )),
            Err(e) => e,
        },
        "Q_GETINFO" | "Q_SETINFO" => dqinfo(c, v),
        "Q_XGETQSTAT" => quota_stat(c, v),
        "Q_XGETQSTATV" => quota_statv(c, v),
        "Q_XQUOTAON" | "Q_XQUOTAOFF" | "Q_XQUOTARM" => {
            let t = if name == "Q_XQUOTARM" {
                T::XfsDqblkFlags
            } else {
                T::XfsQuotaFlags
            };
            match c.fetch_v(v, 4) {
                Ok(b) => Value::boxed(flags(abi, t, Fields::new(&b, 4).u32(0))),
                Err(e) => e,
            }
        }
        _ => Value::ptr(v),
    }
}

/// A flag set with the table's unknown-value comment.
fn flags(abi: LinuxAbi, t: T, v: u64) -> Value {
    fmt::xflags_v(abi, &[t], v, true, false)
}

/// `struct if_dqblk`, or `struct if_nextdqblk` (`next`: with its id).
fn dqblk(c: &mut Call<'_, '_>, v: u64, next: bool) -> Value {
    let b = match c.fetch_v(v, if next { NEXTDQBLK } else { DQBLK }) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    for (k, name) in [
        "dqb_bhardlimit",
        "dqb_bsoftlimit",
        "dqb_curspace",
        "dqb_ihardlimit",
        "dqb_isoftlimit",
        "dqb_curinodes",
    ]
    .into_iter()
    .enumerate()
    {
        s.dec(name, f.u64(8 * k));
    }
    if !c.opts.verbose {
        if next {
            s.dec("dqb_id", f.u32(68));
        }
        return s.abbreviated();
    }
    s.dec("dqb_btime", f.u64(48));
    s.dec("dqb_itime", f.u64(56));
    s.field("dqb_valid", flags(c.abi, T::IfDqblkValid, f.u32(64)));
    if next {
        s.dec("dqb_id", f.u32(68));
    }
    s.done()
}

/// `struct if_dqinfo`.
fn dqinfo(c: &mut Call<'_, '_>, v: u64) -> Value {
    let b = match c.fetch_v(v, DQINFO) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    s.dec("dqi_bgrace", f.u64(0));
    s.dec("dqi_igrace", f.u64(8));
    s.field("dqi_flags", flags(c.abi, T::IfDqinfoFlags, f.u32(16)));
    s.field("dqi_valid", flags(c.abi, T::IfDqinfoValid, f.u32(20)));
    s.done()
}

/// XFS's `struct fs_disk_quota`.
fn disk_quota(c: &mut Call<'_, '_>, v: u64) -> Value {
    let b = match c.fetch_v(v, DISK_QUOTA) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    s.dec("d_version", f.bytes(0, 1) as u8 as i8);
    s.field("d_flags", flags(c.abi, T::XfsDqblkFlags, f.bytes(1, 1)));
    s.field("d_fieldmask", Value::int(f.u16(2), Base::Hex));
    s.dec("d_id", f.u32(4));
    for (k, name) in [
        "d_blk_hardlimit",
        "d_blk_softlimit",
        "d_ino_hardlimit",
        "d_ino_softlimit",
        "d_bcount",
        "d_icount",
    ]
    .into_iter()
    .enumerate()
    {
        s.dec(name, f.u64(8 + 8 * k));
    }
    if !c.opts.verbose {
        return s.abbreviated();
    }
    s.dec("d_itimer", f.i32(56));
    s.dec("d_btimer", f.i32(60));
    s.dec("d_iwarns", f.u16(64));
    s.dec("d_bwarns", f.u16(66));
    s.dec("d_rtb_hardlimit", f.u64(72));
    s.dec("d_rtb_softlimit", f.u64(80));
    s.dec("d_rtbcount", f.u64(88));
    s.dec("d_rtbtimer", f.i32(96));
    s.dec("d_rtbwarns", f.u16(100));
    s.done()
}

/// `struct fs_qfilestat` / `fs_qfilestatv` at `off`.
fn filestat(f: &Fields<'_>, off: usize) -> Value {
    let mut s = StructBuilder::new();
    s.dec("qfs_ino", f.u64(off));
    s.dec("qfs_nblks", f.u64(off + 8));
    s.dec("qfs_nextents", f.u32(off + 16));
    s.done()
}

/// XFS's time and warning limits of `fs_quota_stat(v)`, from `off`.
fn limits(s: &mut StructBuilder, f: &Fields<'_>, off: usize) {
    s.dec("qs_btimelimit", f.i32(off));
    s.dec("qs_itimelimit", f.i32(off + 4));
    s.dec("qs_rtbtimelimit", f.i32(off + 8));
    s.dec("qs_bwarnlimit", f.u16(off + 12));
    s.dec("qs_iwarnlimit", f.u16(off + 14));
}

/// An XFS quota state of `size` bytes: the version, then (with `-v`) the
/// flags and what `body` adds.
fn xfs_stat(
    c: &mut Call<'_, '_>,
    v: u64,
    size: usize,
    body: impl FnOnce(&Fields<'_>, &mut StructBuilder),
) -> Value {
    let b = match c.fetch_v(v, size) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    s.dec("qs_version", f.bytes(0, 1) as u8 as i8);
    if !c.opts.verbose {
        return s.abbreviated();
    }
    s.field("qs_flags", flags(c.abi, T::XfsQuotaFlags, f.u16(2)));
    body(&f, &mut s);
    s.done()
}

/// XFS's `struct fs_quota_stat`: its `fs_qfilestat` members are 24 bytes
/// on x86-64 and 20 on i386 (a `__u64` aligns to 4 there), which moves
/// every field after them.
fn quota_stat(c: &mut Call<'_, '_>, v: u64) -> Value {
    let (qfs, size) = match c.abi {
        LinuxAbi::X86_64 => (24, 80),
        LinuxAbi::I386 => (20, 68),
    };
    xfs_stat(c, v, size, |f, s| {
        s.field("qs_uquota", filestat(f, 8));
        s.field("qs_gquota", filestat(f, 8 + qfs));
        let rest = 8 + 2 * qfs;
        s.dec("qs_incoredqs", f.u32(rest));
        limits(s, f, rest + 4);
    })
}

/// XFS's `struct fs_quota_statv` (the same layout in both ABIs).
fn quota_statv(c: &mut Call<'_, '_>, v: u64) -> Value {
    xfs_stat(c, v, QUOTA_STATV, |f, s| {
        s.dec("qs_incoredqs", f.u32(4));
        s.field("qs_uquota", filestat(f, 8));
        s.field("qs_gquota", filestat(f, 32));
        s.field("qs_pquota", filestat(f, 56));
        limits(s, f, 80);
    })
}
