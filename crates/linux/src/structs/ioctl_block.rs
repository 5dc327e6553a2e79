//! Block device ioctls (type 0x12) as strace prints them: sizes and
//! counts through pointers of their C types, `BLKDISCARD`'s range, the
//! partition request `BLKPG` and `BLKTRACESETUP`'s trace setup.

use super::ioctl::{int, Kind};
use super::{Call, Fields};
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{self, Radix, Table as T};

/// The decoder of block request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::*;
    Some(match name {
        "BLKRASET" | "BLKFRASET" => Value(|_, v| v.to_string()),
        "BLKSECTGET" | "BLKROTATIONAL" => Out(|c, v| num(c, v, 2, false)),
        "BLKROGET" | "BLKBSZGET" | "BLKSSZGET" | "BLKALIGNOFF" => Out(int),
        "BLKROSET" | "BLKBSZSET" => In(int),
        "BLKPBSZGET" | "BLKIOMIN" | "BLKIOOPT" | "BLKDISCARDZEROES" | "BLKGETZONESZ"
        | "BLKGETNRZONES" => Out(|c, v| num(c, v, 4, false)),
        "BLKRAGET" | "BLKFRAGET" => Out(|c, v| {
            let n = c.long_size();
            num(c, v, n, true)
        }),
        "BLKGETSIZE" => Out(|c, v| {
            let n = c.long_size();
            num(c, v, n, false)
        }),
        "BLKGETSIZE64" | "BLKGETDISKSEQ" => Out(|c, v| num(c, v, 8, false)),
        "BLKDISCARD" | "BLKSECDISCARD" | "BLKZEROOUT" => In(range),
        "BLKPG" => In(blkpg),
        "BLKTRACESETUP" => InThen(trace_setup, trace_name),
        "BLKRRPART" | "BLKFLSBUF" | "BLKTRACESTART" | "BLKTRACESTOP" | "BLKTRACETEARDOWN" => NoArg,
        _ => return None,
    })
}

/// An integer of `size` bytes through a pointer: `[N]`.
fn num(c: &mut Call<'_, '_>, v: u64, size: usize, signed: bool) -> String {
    match c.fetch(v, size) {
        Ok(b) => {
            let u = Fields::new(&b, size).bytes(0, size);
            if signed && size == 4 {
                format!("[{}]", u as u32 as i32)
            } else if signed {
                format!("[{}]", u as i64)
            } else {
                format!("[{u}]")
            }
        }
        Err(s) => s,
    }
}

/// A pair of `uint64_t`: `[start, length]`.
fn range(c: &mut Call<'_, '_>, v: u64) -> String {
    match c.fetch(v, 16) {
        Ok(b) => {
            let f = Fields::new(&b, 8);
            format!("[{}, {}]", f.u64(0), f.u64(8))
        }
        Err(s) => s,
    }
}

/// A fixed char array strace prints with `PRINT_FIELD_CSTRING`: up to
/// its NUL, else all but the last byte followed by `...`.
fn cstring(b: &[u8]) -> String {
    match b.iter().position(|&x| x == 0) {
        Some(end) => fmt::quote(&b[..end], false),
        None => fmt::quote(&b[..b.len().saturating_sub(1)], true),
    }
}

/// `struct blkpg_ioctl_arg` and the partition its `data` points to.
fn blkpg(c: &mut Call<'_, '_>, v: u64) -> String {
    let w = c.long_size();
    // Three ints, then `data` aligned to a pointer.
    let data_at = 12usize.next_multiple_of(w);
    let b = match c.fetch(v, data_at + w) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, w);
    let data = f.ulong(data_at);
    // struct blkpg_partition: two long longs, an int, two char[64].
    let part = match c.fetch(data, 8 + 8 + 4 + 64 + 64) {
        Ok(p) => {
            let g = Fields::new(&p, 8);
            format!(
                "{{start={}, length={}, pno={}, devname={}, volname={}}}",
                g.i64(0),
                g.i64(8),
                g.i32(16),
                cstring(&p[20..84]),
                cstring(&p[84..148])
            )
        }
        Err(s) => s,
    };
    format!(
        "{{op={}, flags={}, datalen={}, data={part}}}",
        xlat::xval(c.abi, T::BlkpgOps, f.u32(0), Radix::Hex),
        f.i32(4),
        f.i32(8)
    )
}

/// Offsets in `struct blk_user_trace_setup` (name, act_mask, buf_size,
/// buf_nr, start_lba, end_lba, pid; size): `__u64` is 4-byte aligned in
/// the i386 ABI.
fn trace_layout(abi: LinuxAbi) -> [usize; 8] {
    match abi {
        LinuxAbi::X86_64 => [0, 32, 36, 40, 48, 56, 64, 72],
        LinuxAbi::I386 => [0, 32, 36, 40, 44, 52, 60, 64],
    }
}

/// `struct blk_user_trace_setup` as the caller fills it.
fn trace_setup(c: &mut Call<'_, '_>, v: u64) -> String {
    let o = trace_layout(c.abi);
    match c.fetch(v, o[7]) {
        Ok(b) => {
            let f = Fields::new(&b, 8);
            format!(
                "{{act_mask={}, buf_size={}, buf_nr={}, start_lba={}, end_lba={}, pid={}}}",
                f.u16(o[1]),
                f.u32(o[2]),
                f.u32(o[3]),
                f.u64(o[4]),
                f.u64(o[5]),
                f.u32(o[6])
            )
        }
        Err(s) => s,
    }
}

/// At a successful exit: the trace's name the kernel filled in.
fn trace_name(c: &mut Call<'_, '_>, v: u64, before: String) -> String {
    let Some(open) = before.strip_suffix('}').filter(|_| !c.failed()) else {
        return before;
    };
    match c.fetch(v, 32) {
        Ok(b) => format!("{open}, name={}}}", cstring(&b)),
        Err(_) => before,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cstrings_as_strace_cuts_them() {
        assert_eq!(cstring(b"sda1\0\0\0\0"), "\"sda1\"");
        assert_eq!(cstring(b"AAAA"), "\"AAA\"...");
    }
}
