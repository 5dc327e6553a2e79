//! fcntl's structure arguments: `struct flock` (`F_GETLK`, `F_SETLK`...,
//! the OFD locks, i386's `flock64` for the `*LK64` commands) and
//! `struct f_owner_ex` (`F_GETOWN_EX`, `F_SETOWN_EX`). fcntl's argument
//! shape by command is decoded elsewhere; [`fcntl_struct`] renders the
//! commands whose argument is a structure.

use vstrace_core::{DecodeOptions, VirtMem};

use super::{Call, Fields};
use crate::consts::Names;
use crate::proto::LinuxAbi;

/// `l_type` values. TODO: generated table.
static LOCK_TYPES: Names = &[(0, "F_RDLCK"), (1, "F_WRLCK"), (2, "F_UNLCK")];
/// `l_whence` values. TODO: generated table.
static WHENCE: Names = &[(0, "SEEK_SET"), (1, "SEEK_CUR"), (2, "SEEK_END")];
/// `f_owner_ex.type` values.
static OWNER_TYPES: Names = crate::xlat::tables::F_OWNER_TYPES_X86_64;

/// Commands whose argument is a `struct flock` (i386 `*LK64`: flock64),
/// and whether the kernel writes it back (`GETLK`).
fn lock_cmd(abi: LinuxAbi, cmd: u64) -> Option<(bool, bool)> {
    // (wide layout, get)
    match cmd {
        5 | 36 => Some((abi == LinuxAbi::X86_64 || cmd == 36, true)),
        6 | 7 => Some((abi == LinuxAbi::X86_64, false)),
        37 | 38 => Some((true, false)),
        12 if abi == LinuxAbi::I386 => Some((true, true)),
        13 | 14 if abi == LinuxAbi::I386 => Some((true, false)),
        _ => None,
    }
}

fn flock(c: &mut Call<'_, '_>, v: u64, wide: bool, get: bool) -> String {
    // x86-64 flock and i386 flock64: 64-bit start and length (at 8 and
    // 16 with x86-64's alignment, 4 and 12 on i386); i386 flock: longs.
    let (size, start, len, pid, w) = match (c.abi, wide) {
        (LinuxAbi::X86_64, _) => (32, 8, 16, 24, 8),
        (LinuxAbi::I386, true) => (24, 4, 12, 20, 8),
        (LinuxAbi::I386, false) => (16, 4, 8, 12, 4),
    };
    let b = match c.fetch(v, size) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, w);
    let mut s = format!(
        "{{l_type={}, l_whence={}, l_start={}, l_len={}",
        super::resource::xval(f.u16(0), LOCK_TYPES, "F_???"),
        super::resource::xval(f.u16(2), WHENCE, "SEEK_???"),
        f.long(start),
        f.long(len)
    );
    if get {
        s.push_str(&format!(", l_pid={}", f.i32(pid)));
    }
    s.push('}');
    s
}

/// fcntl's third argument for the commands that take a structure, `None`
/// for the others. `ret`: `None` at the entry; a `GETLK`'s lock and a
/// `GETOWN_EX`'s owner are shown at a successful exit only (the address
/// on failure), the others at the entry.
pub fn fcntl_struct(
    abi: LinuxAbi,
    cmd: u64,
    v: u64,
    mem: &mut dyn VirtMem,
    opts: &DecodeOptions,
    ret: Option<i64>,
) -> Option<String> {
    let cmd = cmd & 0xffff_ffff;
    let mut c = Call {
        abi,
        name: "fcntl",
        raw: [0; 6],
        mem,
        opts,
        ret,
        entries: &[],
        index: 0,
    };
    let get = matches!(cmd, 5 | 12 | 16 | 36);
    let known = lock_cmd(abi, cmd).is_some() || matches!(cmd, 15 | 16);
    if !known {
        return None;
    }
    if get && (ret.is_none() || c.failed()) {
        return Some(crate::fmt::ptr(v));
    }
    Some(match lock_cmd(abi, cmd) {
        Some((wide, get)) => flock(&mut c, v, wide, get),
        None => match c.fetch(v, 8) {
            Ok(b) => {
                let f = Fields::new(&b, 4);
                format!(
                    "{{type={}, pid={}}}",
                    super::resource::xval(f.u32(0), OWNER_TYPES, "F_OWNER_???"),
                    f.i32(4)
                )
            }
            Err(s) => s,
        },
    })
}
