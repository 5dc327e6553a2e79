//! Extensible structures, whose size the caller passes beside them
//! (`struct open_how` of openat2, `struct clone_args` of clone3): the
//! fields of the size the decoder knows, then strace's rendering of the
//! caller's larger tail (`/* bytes 24..31 */ "\x80..."` when it holds
//! nonzero bytes, `???` when it cannot be read).

use vstrace_core::value::{Base, Bytes, Escape, Name};
use vstrace_core::{read, StructBuilder, Value};

use super::{Call, Fields};
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::Table;

/// The guest's page size: strace reads a tail up to it at most.
const PAGE: u64 = 4096;

/// `O_CREAT`: openat2's mode is shown with it.
const O_CREAT: u64 = 0o100;
/// `__O_TMPFILE` (O_TMPFILE without O_DIRECTORY).
const O_TMPFILE_BIT: u64 = 0o20000000;

/// `sizeof(struct open_how)`.
const OPEN_HOW_SIZE: u64 = 24;

/// `offsetofend(struct clone_args, tls)`: the smallest clone_args.
const CLONE_ARGS_MIN: u64 = 64;
/// `sizeof(struct clone_args)` (up to `cgroup`).
const CLONE_ARGS_SIZE: u64 = 88;
/// `offsetof(struct clone_args, cgroup)`.
const CLONE_ARGS_CGROUP: u64 = 80;
/// Most `set_tid` entries the kernel takes.
const MAX_SET_TID: u64 = 32;

const CLONE_PIDFD: u64 = 0x1000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_CHILD_SETTID: u64 = 0x1000000;
const CLONE_INTO_CGROUP: u64 = 0x200000000;

/// strace's `print_nonzero_bytes`: the bytes `start..end` of the
/// structure at `va` as a nameless field, when any of them is not zero
/// (`???` when they cannot be read); `None` when all are zero.
pub(super) fn tail(c: &mut Call<'_, '_>, va: u64, start: u64, end: u64) -> Option<(Name, Value)> {
    if start >= end {
        return None;
    }
    let len = (end - start) as usize;
    let Ok(b) = read::read_struct(c.mem, va.wrapping_add(start), len) else {
        return Some((Name::Borrowed(""), Value::Opaque("???".into())));
    };
    if b.iter().all(|&x| x == 0) {
        return None;
    }
    let show = len.min(c.opts.strsize);
    Some((
        Name::Owned(format!("/* bytes {}..{} */", start, end - 1)),
        Value::Str(Bytes {
            bytes: b[..show].to_vec(),
            truncated: show < len,
            escape: Escape::AllHex,
        }),
    ))
}

/// A 64-bit address field: `NULL` or hex.
fn addr64(v: u64) -> Value {
    Value::ptr(v)
}

/// openat2's `struct open_how`, its size in argument `size` (strace's
/// `print_open_how`): the address when the size is under the
/// structure's.
pub(super) fn open_how(c: &mut Call<'_, '_>, v: u64, size: u64) -> Value {
    if size < OPEN_HOW_SIZE {
        return Value::ptr(v);
    }
    let b = match c.fetch_v(v, OPEN_HOW_SIZE as usize) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let (flags, mode, resolve) = (f.u64(0), f.u64(8), f.u64(16));
    let mut s = StructBuilder::new();
    s.field("flags", fmt::open_flags_v(flags));
    if flags & (O_CREAT | O_TMPFILE_BIT) != 0 || mode != 0 {
        s.field("mode", Value::int(mode, Base::Oct03));
    }
    s.field(
        "resolve",
        fmt::xflags_v(c.abi, &[Table::OpenResolveFlags], resolve, true, false),
    );
    if let Some((n, t)) = tail(c, v, OPEN_HOW_SIZE, size.min(PAGE)) {
        s.field(n, t);
    }
    s.done()
}

/// `MOUNT_ATTR_SIZE_VER0`: the first `struct mount_attr`.
const MOUNT_ATTR_SIZE: u64 = 32;
/// `MOUNT_ATTR_IDMAP`: `userns_fd` is a descriptor only with it.
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// mount_setattr's `struct mount_attr`, its size in argument `size`
/// (strace's `print_mount_attr`): the address when the size is under the
/// first version's; the user namespace as a descriptor only when an
/// attribute asks for an ID mapping (a number otherwise, as the kernel
/// ignores it then).
pub(super) fn mount_attr(c: &mut Call<'_, '_>, v: u64, size: u64) -> Value {
    if size < MOUNT_ATTR_SIZE {
        return Value::ptr(v);
    }
    let b = match c.fetch_v(v, MOUNT_ATTR_SIZE as usize) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let (set, clr, userns) = (f.u64(0), f.u64(8), f.u64(24));
    let attrs = |x: u64| fmt::xflags_v(c.abi, &[Table::MountAttrAttr], x, true, false);
    let mut s = StructBuilder::new();
    s.field("attr_set", attrs(set));
    s.field("attr_clr", attrs(clr));
    s.field(
        "propagation",
        fmt::xval_v(
            c.abi,
            Table::MountAttrPropagation,
            f.u64(16),
            crate::xlat::Radix::Hex,
        ),
    );
    let fd = userns <= i32::MAX as u64 && (set | clr) & MOUNT_ATTR_IDMAP != 0;
    s.field(
        "userns_fd",
        if fd {
            Value::Fd {
                fd: userns as i64,
                path: None,
            }
        } else {
            Value::int(userns, Base::Dec)
        },
    );
    if let Some((n, t)) = tail(c, v, MOUNT_ATTR_SIZE, size.min(PAGE)) {
        s.field(n, t);
    }
    s.done()
}

/// clone3's `struct clone_args`, its size in argument `size` (strace's
/// `clone3` decoder): at the entry the fields its flags use; at a
/// successful exit `{...} => {parent_tid=[tid]}` with what the kernel
/// wrote (the pidfd, the parent's tid, a nonzero tail).
pub(super) fn clone_args(c: &mut Call<'_, '_>, v: u64, size: u64) -> Value {
    let fetch = size.min(CLONE_ARGS_SIZE);
    if fetch < CLONE_ARGS_MIN {
        return Value::ptr(v);
    }
    let mut b = match c.fetch_v(v, fetch as usize) {
        Ok(b) => b,
        Err(e) => return e,
    };
    b.resize(CLONE_ARGS_SIZE as usize, 0);
    let before = clone_args_entry(c, v, &b, size, fetch);
    let Some(ret) = c.ret else {
        return before;
    };
    if (-4095..=-1).contains(&ret) {
        return before;
    }
    let f = Fields::new(&b, 8);
    let flags = f.u64(0);
    let mut after = StructBuilder::new();
    let mut any = false;
    if flags & CLONE_PIDFD != 0 {
        after.field("pidfd", int_at(c, f.u64(8)));
        any = true;
    }
    if flags & CLONE_PARENT_SETTID != 0 {
        after.field("parent_tid", int_at(c, f.u64(24)));
        any = true;
    }
    if size > fetch {
        if let Some((n, t)) = tail(c, v, fetch, size.min(PAGE)) {
            after.field(n, t);
            any = true;
        }
    }
    if !any {
        return before;
    }
    Value::Changed {
        before: Box::new(before),
        after: Box::new(after.done()),
    }
}

/// An `int` the kernel wrote at `va`: `[N]`, `NULL`, or the address.
fn int_at(c: &mut Call<'_, '_>, va: u64) -> Value {
    match c.fetch_v(va, 4) {
        Ok(b) => Value::boxed(Value::dec(Fields::new(&b, 8).i32(0))),
        Err(e) => e,
    }
}

/// The entry form of clone_args (`b`: the fields, zero-padded to the
/// known size).
fn clone_args_entry(c: &mut Call<'_, '_>, v: u64, b: &[u8], size: u64, fetch: u64) -> Value {
    let f = Fields::new(b, 8);
    let flags = f.u64(0);
    let mut s = StructBuilder::new();
    s.field(
        "flags",
        fmt::xflags_v(
            c.abi,
            &[Table::CloneFlags, Table::Clone3Flags],
            flags,
            true,
            false,
        ),
    );
    if flags & CLONE_PIDFD != 0 {
        s.field("pidfd", addr64(f.u64(8)));
    }
    if flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID) != 0 {
        s.field("child_tid", addr64(f.u64(16)));
    }
    if flags & CLONE_PARENT_SETTID != 0 {
        s.field("parent_tid", addr64(f.u64(24)));
    }
    let sig = f.u64(32);
    s.field(
        "exit_signal",
        if sig < i32::MAX as u64 {
            fmt::signal_v(sig)
        } else {
            Value::dec(sig)
        },
    );
    s.field("stack", addr64(f.u64(40)));
    s.field("stack_size", Value::int(f.u64(48), Base::Hex));
    if flags & CLONE_SETTLS != 0 {
        let tls = f.u64(56);
        let t = match c.abi {
            LinuxAbi::I386 => super::ldt::user_desc(c, tls),
            LinuxAbi::X86_64 => addr64(tls),
        };
        s.field("tls", t);
    }
    let (set_tid, set_tid_size) = (f.u64(64), f.u64(72));
    if set_tid != 0 || set_tid_size != 0 {
        let t = if set_tid == 0 || set_tid_size == 0 || set_tid_size > MAX_SET_TID {
            addr64(set_tid)
        } else {
            c.array_v(set_tid, set_tid_size, 4, |_, e| {
                Value::dec(Fields::new(e, 8).i32(0))
            })
        };
        s.field("set_tid", t);
        s.field("set_tid_size", Value::dec(set_tid_size));
    }
    let cgroup = f.u64(80);
    if fetch > CLONE_ARGS_CGROUP && (cgroup != 0 || flags & CLONE_INTO_CGROUP != 0) {
        s.field("cgroup", Value::dec(cgroup));
    }
    if size > fetch {
        if let Some((n, t)) = tail(c, v, fetch, size.min(PAGE)) {
            s.field(n, t);
        }
    }
    s.done()
}

/// `offsetofend(struct landlock_ruleset_attr, handled_access_fs)`.
const RULESET_ATTR_MIN: u64 = 8;
/// `LANDLOCK_RULE_PATH_BENEATH`.
const RULE_PATH_BENEATH: u64 = 1;

/// landlock_create_ruleset's `struct landlock_ruleset_attr`, its size in
/// argument `size`: the access rights, `...` for a larger structure.
pub(super) fn ruleset_attr(c: &mut Call<'_, '_>, v: u64, size: u64) -> Value {
    if size < RULESET_ATTR_MIN {
        return Value::ptr(v);
    }
    let b = match c.fetch_v(v, RULESET_ATTR_MIN as usize) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let mut s = StructBuilder::new();
    s.field(
        "handled_access_fs",
        fs_access(c.abi, Fields::new(&b, 8).u64(0)),
    );
    if size > RULESET_ATTR_MIN {
        s.abbreviated()
    } else {
        s.done()
    }
}

/// landlock_add_rule's rule: `struct landlock_path_beneath_attr`
/// (packed: a 64-bit access mask, then the parent fd) for
/// `LANDLOCK_RULE_PATH_BENEATH` (the type in argument `ty`), the address
/// for other types.
pub(super) fn rule_attr(c: &mut Call<'_, '_>, v: u64, ty: u64) -> Value {
    if ty & 0xffff_ffff != RULE_PATH_BENEATH {
        return Value::ptr(v);
    }
    let b = match c.fetch_v(v, 12) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    s.field("allowed_access", fs_access(c.abi, f.u64(0)));
    s.field(
        "parent_fd",
        Value::Fd {
            fd: f.i32(8),
            path: None,
        },
    );
    s.done()
}

/// `LANDLOCK_ACCESS_FS_*` rights.
fn fs_access(abi: LinuxAbi, v: u64) -> Value {
    fmt::xflags_v(abi, &[Table::LandlockRulesetAccessFs], v, true, false)
}
