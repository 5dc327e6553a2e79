//! File status: `struct stat` of both ABIs and i386's `stat64` and
//! `__old_kernel_stat`
//! (abbreviated `{st_mode=..., st_size=..., ...}`, in full with `-v`),
//! and `struct statfs` / `statfs64`.

use super::time::date;
use super::{Call, Fields, StructKind};
use crate::consts::{self, Names};
use crate::fmt;
use crate::proto::LinuxAbi;
use vstrace_core::value::StructBuilder;
use vstrace_core::Value;

/// Filesystem magic numbers (`f_type`). TODO: generated table.
static FS_MAGIC: Names = &[
    (0x137d, "EXT_SUPER_MAGIC"),
    (0x1cd1, "DEVPTS_SUPER_MAGIC"),
    (0x4d44, "MSDOS_SUPER_MAGIC"),
    (0x6969, "NFS_SUPER_MAGIC"),
    (0x9fa0, "PROC_SUPER_MAGIC"),
    (0xef53, "EXT2_SUPER_MAGIC"),
    (0x0027_e0eb, "CGROUP_SUPER_MAGIC"),
    (0x0102_1994, "TMPFS_MAGIC"),
    (0x0904_1934, "ANON_INODE_FS_MAGIC"),
    (0x4249_4e4d, "BINFMTFS_MAGIC"),
    (0x5049_5045, "PIPEFS_MAGIC"),
    (0x534f_434b, "SOCKFS_MAGIC"),
    (0x5846_5342, "XFS_SUPER_MAGIC"),
    (0x6265_6572, "SYSFS_MAGIC"),
    (0x6367_7270, "CGROUP2_SUPER_MAGIC"),
    (0x6462_6720, "DEBUGFS_MAGIC"),
    (0x6e73_6673, "NSFS_MAGIC"),
    (0x7363_6673, "SECURITYFS_MAGIC"),
    (0x7472_6163, "TRACEFS_MAGIC"),
    (0x794c_7630, "OVERLAYFS_SUPER_MAGIC"),
    (0x8584_58f6, "RAMFS_MAGIC"),
    (0x9123_683e, "BTRFS_SUPER_MAGIC"),
    (0xcafe_4a11, "BPF_FS_MAGIC"),
    (0xf97c_ff8c, "SELINUX_MAGIC"),
    (0xfe53_4d42, "SMB2_SUPER_MAGIC"),
    (0xff53_4d42, "CIFS_SUPER_MAGIC"),
];

/// `f_flags` bits (`ST_*`). TODO: generated table.
static ST_FLAGS: Names = &[
    (0x1, "ST_RDONLY"),
    (0x2, "ST_NOSUID"),
    (0x4, "ST_NODEV"),
    (0x8, "ST_NOEXEC"),
    (0x10, "ST_SYNCHRONOUS"),
    (0x20, "ST_VALID"),
    (0x40, "ST_MANDLOCK"),
    (0x80, "ST_WRITE"),
    (0x100, "ST_APPEND"),
    (0x200, "ST_IMMUTABLE"),
    (0x400, "ST_NOATIME"),
    (0x800, "ST_NODIRATIME"),
    (0x1000, "ST_RELATIME"),
    (0x2000, "ST_NOSYMFOLLOW"),
];

/// `stx_mask` bits (`STATX_*`).
static STATX_MASKS: Names = crate::xlat::tables::STATX_MASKS_X86_64;

/// `stx_attributes` bits (`STATX_ATTR_*`). TODO: generated table.
static STATX_ATTRS: Names = &[
    (0x4, "STATX_ATTR_COMPRESSED"),
    (0x10, "STATX_ATTR_IMMUTABLE"),
    (0x20, "STATX_ATTR_APPEND"),
    (0x40, "STATX_ATTR_NODUMP"),
    (0x800, "STATX_ATTR_ENCRYPTED"),
    (0x1000, "STATX_ATTR_AUTOMOUNT"),
    (0x2000, "STATX_ATTR_MOUNT_ROOT"),
    (0x10_0000, "STATX_ATTR_VERITY"),
    (0x20_0000, "STATX_ATTR_DAX"),
];

/// `ST_VALID`: strace shows `f_flags` only when the kernel set it.
const ST_VALID: u64 = 0x20;

/// A mode as strace's `print_symbolic_mode_t` writes it:
/// `S_IFREG|S_ISUID|0755`, or octal when the type has no name.
pub(crate) fn symbolic_mode(mode: u64) -> String {
    let ty = mode & 0o170000;
    let name = if ty == 0 {
        Some("")
    } else {
        consts::lookup(consts::S_IFMT, ty)
    };
    let Some(name) = name else {
        return oct03(mode);
    };
    let mut s = String::from(name);
    if !name.is_empty() {
        s.push('|');
    }
    for (bit, n) in [
        (0o4000, "S_ISUID|"),
        (0o2000, "S_ISGID|"),
        (0o1000, "S_ISVTX|"),
    ] {
        if mode & bit != 0 {
            s.push_str(n);
        }
    }
    s.push_str(&oct03(mode & 0o777));
    s
}

/// C's `%#03o`: a leading 0, at least three digits (`000`, `007`, `0644`).
fn oct03(v: u64) -> String {
    let s = if v == 0 {
        "0".to_string()
    } else {
        format!("0{v:o}")
    };
    format!("{s:0>3}")
}

/// A field strace prints by `-X` style: `num` with `-X raw`, `num` and
/// the decoding in a comment with `-X verbose`, the decoding otherwise
/// (the number alone when the decoding is the number: a mode without a
/// known type).
fn styled(num: String, decoded: String) -> String {
    use vstrace_core::ConstStyle;
    match crate::xlat::style() {
        _ if decoded == num => num,
        ConstStyle::Raw => num,
        ConstStyle::Verbose => format!("{num} /* {decoded} */"),
        ConstStyle::Abbrev => decoded,
    }
}

/// [`symbolic_mode`] as the `-X` style shows it (raw: octal).
fn styled_mode(mode: u64) -> String {
    styled(oct03(mode), symbolic_mode(mode))
}

/// [`makedev`] as the `-X` style shows it (raw: the number in hex).
fn styled_dev(dev: u64) -> String {
    styled(hex0(dev), makedev(dev))
}

/// `makedev(0x1, 0x7)` from a kernel `dev_t` (the glibc encoding).
pub(crate) fn makedev(dev: u64) -> String {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    format!("makedev({}, {})", hex0(major), hex0(minor))
}

/// `0` or `0x...` (strace's `PRINT_VAL_X`).
fn hex0(v: u64) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

/// The fields of a stat buffer, widened.
struct St {
    dev: u64,
    ino: u64,
    mode: u64,
    nlink: u64,
    uid: u64,
    gid: u64,
    rdev: u64,
    size: u64,
    blksize: u64,
    blocks: u64,
    /// (seconds, nanoseconds) of atime, mtime, ctime.
    times: [(i64, u64); 3],
}

/// i386's `struct __old_kernel_stat`: 16-bit ids, numbers and devices,
/// 4-byte size and times (seconds only, signed as `time_t`), no block
/// fields (strace shows them as 0).
fn old_stat(c: &mut Call<'_, '_>, v: u64) -> String {
    let b = match c.fetch(v, 32) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, 4);
    let h = |k: usize| f.bytes(2 * k, 2);
    let time = |k: usize| (f.i32(20 + 4 * k), 0);
    let st = St {
        dev: h(0),
        ino: h(1),
        mode: h(2),
        nlink: h(3),
        uid: h(4),
        gid: h(5),
        rdev: h(6),
        size: f.bytes(16, 4),
        blksize: 0,
        blocks: 0,
        times: [time(0), time(1), time(2)],
    };
    render_times(&st, c.opts.verbose, false)
}

fn render(st: &St, verbose: bool) -> String {
    render_times(st, verbose, true)
}

/// [`render`]; `nsec`: the times have `_nsec` fields.
fn render_times(st: &St, verbose: bool, with_nsec: bool) -> String {
    let mut p = Vec::new();
    if verbose {
        p.push(format!("st_dev={}", styled_dev(st.dev)));
        p.push(format!("st_ino={}", st.ino));
    }
    p.push(format!("st_mode={}", styled_mode(st.mode)));
    if verbose {
        p.push(format!("st_nlink={}", st.nlink));
        p.push(format!("st_uid={}", st.uid));
        p.push(format!("st_gid={}", st.gid));
        p.push(format!("st_blksize={}", st.blksize));
        p.push(format!("st_blocks={}", st.blocks));
    }
    match st.mode & 0o170000 {
        0o020000 | 0o060000 => p.push(format!("st_rdev={}", styled_dev(st.rdev))),
        _ => p.push(format!("st_size={}", st.size)),
    }
    if verbose {
        for (name, (sec, nsec)) in ["st_atime", "st_mtime", "st_ctime"].iter().zip(st.times) {
            let mut f = format!("{name}={sec}");
            if let Some(d) = date(sec, nsec, 9) {
                f.push_str(&format!(" /* {d} */"));
            }
            p.push(f);
            if with_nsec {
                p.push(format!("{name}_nsec={nsec}"));
            }
        }
    } else {
        p.push("...".into());
    }
    format!("{{{}}}", p.join(", "))
}

fn stat(c: &mut Call<'_, '_>, v: u64, stat64: bool) -> String {
    // (size, dev, ino, mode, nlink, uid, gid, rdev, size, blksize,
    // blocks, atime) offsets and widths per layout.
    let (len, l): (usize, [(usize, usize); 11]) = match (stat64, c.abi) {
        (false, LinuxAbi::X86_64) => (
            144,
            [
                (0, 8),
                (8, 8),
                (24, 4),
                (16, 8),
                (28, 4),
                (32, 4),
                (40, 8),
                (48, 8),
                (56, 8),
                (64, 8),
                (72, 8),
            ],
        ),
        (false, LinuxAbi::I386) => (
            64,
            [
                (0, 4),
                (4, 4),
                (8, 2),
                (10, 2),
                (12, 2),
                (14, 2),
                (16, 4),
                (20, 4),
                (24, 4),
                (28, 4),
                (32, 4),
            ],
        ),
        (true, _) => (
            96,
            [
                (0, 8),
                (88, 8),
                (16, 4),
                (20, 4),
                (24, 4),
                (28, 4),
                (32, 8),
                (44, 8),
                (52, 4),
                (56, 8),
                (64, 4),
            ],
        ),
    };
    let b = match c.fetch(v, len) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, 8);
    let g = |k: usize| f.bytes(l[k].0, l[k].1);
    // Times: (sec, nsec) pairs of the time field's width.
    let (t0, tw) = l[10];
    let time = |k: usize| {
        let off = t0 + 2 * k * tw;
        let sec = if tw == 8 { f.i64(off) } else { f.i32(off) };
        (sec, f.bytes(off + tw, tw))
    };
    let st = St {
        dev: g(0),
        ino: g(1),
        mode: g(2),
        nlink: g(3),
        uid: g(4),
        gid: g(5),
        rdev: g(6),
        size: g(7),
        blksize: g(8),
        blocks: g(9),
        times: [time(0), time(1), time(2)],
    };
    render(&st, c.opts.verbose)
}

fn statfs(c: &mut Call<'_, '_>, v: u64, wide: bool) -> String {
    let n = c.long_size();
    // statfs: every field a long; statfs64 (i386, 4-aligned): type and
    // bsize 32-bit, counts 64-bit, then 32-bit fields. On x86-64 both
    // are the long layout.
    let (len, counts, w) = if wide && n == 4 {
        (84, 8, 8)
    } else {
        (15 * n, 2 * n, n)
    };
    let b = match c.fetch(v, len) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, n);
    let cnt = |k: usize| f.bytes(counts + k * w, w);
    let after = counts + 5 * w;
    let fsid = format!(
        "{{val=[{}, {}]}}",
        hex0(f.u32(after)),
        hex0(f.u32(after + 4))
    );
    let tail = |k: usize| f.ulong(after + 8 + k * n);
    let ty = f.ulong(0);
    let mut s = format!(
        "{{f_type={}, f_bsize={}, f_blocks={}, f_bfree={}, f_bavail={}, f_files={}, f_ffree={}, \
         f_fsid={fsid}, f_namelen={}, f_frsize={}",
        fmt::enum_or_hex(ty, FS_MAGIC),
        f.ulong(n),
        cnt(0),
        cnt(1),
        cnt(2),
        cnt(3),
        cnt(4),
        tail(0),
        tail(1)
    );
    let flags = tail(2);
    if flags & ST_VALID != 0 {
        s.push_str(&format!(", f_flags={}", fmt::flags(flags, ST_FLAGS, "0")));
    }
    s.push('}');
    s
}

/// A uid or gid as strace's `PRINT_FIELD_ID` shows it (`-1` for all ones).
fn id(v: u64) -> String {
    if v == u64::from(u32::MAX) {
        "-1".into()
    } else {
        v.to_string()
    }
}

/// `struct statx` (256 bytes, one layout for both ABIs): the fields its
/// mask says are valid; abbreviated unless `-v`.
fn statx(c: &mut Call<'_, '_>, v: u64) -> String {
    let b = match c.fetch(v, 256) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, 8);
    let mask = f.u32(0);
    let full = c.opts.verbose;
    let has = |bit: u64| mask & bit != 0;
    let flags = super::resource::xflags;
    let mut p = vec![format!(
        "stx_mask={}",
        flags(mask, STATX_MASKS, "STATX_???")
    )];
    if full {
        p.push(format!("stx_blksize={}", f.u32(4)));
    }
    p.push(format!(
        "stx_attributes={}",
        flags(f.u64(8), STATX_ATTRS, "STATX_ATTR_???")
    ));
    if full {
        if has(0x4) {
            p.push(format!("stx_nlink={}", f.u32(16)));
        }
        if has(0x8) {
            p.push(format!("stx_uid={}", id(f.u32(20))));
        }
        if has(0x10) {
            p.push(format!("stx_gid={}", id(f.u32(24))));
        }
    }
    if has(0x1 | 0x2) {
        p.push(format!("stx_mode={}", styled_mode(f.u16(28))));
    }
    if full && has(0x100) {
        p.push(format!("stx_ino={}", f.u64(32)));
    }
    if has(0x200) {
        p.push(format!("stx_size={}", f.u64(40)));
    }
    if full {
        if has(0x400) {
            p.push(format!("stx_blocks={}", f.u64(48)));
        }
        p.push(format!(
            "stx_attributes_mask={}",
            flags(f.u64(56), STATX_ATTRS, "STATX_ATTR_???")
        ));
        for (bit, name, off) in [
            (0x20, "stx_atime", 64),
            (0x800, "stx_btime", 80),
            (0x80, "stx_ctime", 96),
            (0x40, "stx_mtime", 112),
        ] {
            if has(bit) {
                let (sec, nsec) = (f.i64(off), f.u32(off + 8));
                let mut t = format!("{name}={{tv_sec={sec}, tv_nsec={nsec}}}");
                if let Some(d) = date(sec, nsec, 9) {
                    t.push_str(&format!(" /* {d} */"));
                }
                p.push(t);
            }
        }
        p.push(format!("stx_rdev_major={}", f.u32(128)));
        p.push(format!("stx_rdev_minor={}", f.u32(132)));
        p.push(format!("stx_dev_major={}", f.u32(136)));
        p.push(format!("stx_dev_minor={}", f.u32(140)));
        if has(0x1000) {
            p.push(format!("stx_mnt_id={}", hex0(f.u64(144))));
        }
        if has(0x2000) {
            p.push(format!("stx_dio_mem_align={}", f.u32(152)));
            p.push(format!("stx_dio_offset_align={}", f.u32(156)));
        }
    } else {
        p.push("...".into());
    }
    format!("{{{}}}", p.join(", "))
}

/// i386 readdir's `struct old_linux_dirent` (inode, offset, name
/// length, name), as strace shows it: `d_reclen` is the name's length,
/// the name a path of at most that many bytes (`...` when no NUL ends
/// it there). The address at the end of the directory (0 returned) or
/// when the call failed.
pub(crate) fn old_dirent(c: &mut Call<'_, '_>, v: u64) -> Value {
    if c.failed() || c.ret == Some(0) {
        return Value::ptr(v);
    }
    let w = c.long_size();
    let head = 2 * w + 2;
    let b = match c.fetch_v(v, head) {
        Ok(b) => b,
        Err(a) => return a,
    };
    let f = Fields::new(&b, w);
    let reclen = f.u16(2 * w);
    // strace's printpathn: one byte more than the name's bound, to see
    // whether a NUL ends it there.
    let n = (reclen as usize).min(256);
    let name_at = v.wrapping_add(head as u64);
    let name = match c.fetch(name_at, n + 1) {
        Ok(mut s) => {
            let nul = s.iter().position(|&ch| ch == 0);
            s.truncate(nul.unwrap_or(n));
            Value::str(s, nul.is_none(), c.opts.strings_in_hex)
        }
        Err(_) => Value::ptr(name_at),
    };
    StructBuilder::new()
        .dec("d_ino", f.ulong(0))
        .dec("d_off", f.ulong(w))
        .dec("d_reclen", reclen)
        .field("d_name", name)
        .done()
}

/// Decodes the file status structures of [`super::decode`].
pub(crate) fn decode(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> String {
    match kind {
        StructKind::Stat => stat(c, v, false),
        StructKind::Stat64 => stat(c, v, true),
        StructKind::OldStat => old_stat(c, v),
        StructKind::Statx => statx(c, v),
        StructKind::Statfs => statfs(c, v, false),
        StructKind::Statfs64(_) => statfs(c, v, true),
        _ => fmt::ptr(v),
    }
}
