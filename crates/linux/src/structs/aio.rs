//! Linux AIO control blocks: `struct iocb` (io_submit's array of
//! pointers to them, io_cancel's one), as strace prints them by opcode.

use super::{Call, Fields, StructKind};
use crate::consts::Names;
use crate::fmt;

/// `aio_lio_opcode` values. TODO: generated table.
static AIO_CMDS: Names = &[
    (0, "IOCB_CMD_PREAD"),
    (1, "IOCB_CMD_PWRITE"),
    (2, "IOCB_CMD_FSYNC"),
    (3, "IOCB_CMD_FDSYNC"),
    (5, "IOCB_CMD_POLL"),
    (6, "IOCB_CMD_NOOP"),
    (7, "IOCB_CMD_PREADV"),
    (8, "IOCB_CMD_PWRITEV"),
];

/// `aio_rw_flags` bits (`RWF_*`).
static RWF_FLAGS: Names = crate::xlat::tables::RWF_FLAGS_X86_64;

/// `aio_flags` bits. TODO: generated table.
static IOCB_FLAGS: Names = &[(0x1, "IOCB_FLAG_RESFD"), (0x2, "IOCB_FLAG_IOPRIO")];

/// I/O priority classes.
static IOPRIO_CLASSES: Names = crate::xlat::tables::IOPRIO_CLASS_X86_64;

/// Size of `struct iocb` (both ABIs).
const IOCB: usize = 64;

/// `0` or hex (strace's `PRINT_FIELD_X`).
fn x(v: u64) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

/// The fields every iocb shows, up to the descriptor.
fn header(b: &[u8]) -> Vec<String> {
    let f = Fields::new(b, 8);
    let mut p = vec![format!("aio_data={}", x(f.u64(0)))];
    if f.u32(8) != 0 {
        p.push(format!("aio_key={}", f.u32(8)));
    }
    if f.u32(12) != 0 {
        let flags = super::resource::xflags(f.u32(12), RWF_FLAGS, "RWF_???");
        p.push(format!("aio_rw_flags={flags}"));
    }
    let op = f.u16(16);
    let name = crate::consts::lookup(AIO_CMDS, op)
        .map_or_else(|| format!("{op} /* IOCB_CMD_??? */"), str::to_string);
    p.push(format!("aio_lio_opcode={name}"));
    let prio = f.u16(18);
    if f.u32(56) & 2 != 0 {
        // IOCB_FLAG_IOPRIO: a class and its data.
        let class = super::resource::xval(prio >> 13, IOPRIO_CLASSES, "IOPRIO_CLASS_???");
        p.push(format!(
            "aio_reqprio=IOPRIO_PRIO_VALUE({class}, {})",
            prio & 0x1fff
        ));
    } else if prio != 0 {
        p.push(format!("aio_reqprio={}", prio as u16 as i16));
    }
    p.push(format!("aio_fildes={}", f.i32(20)));
    p
}

/// The flags and result descriptor after the data fields.
fn common_flags(f: &Fields<'_>, p: &mut Vec<String>) {
    let flags = f.u32(56);
    if flags != 0 {
        p.push(format!(
            "aio_flags={}",
            super::resource::xflags(flags, IOCB_FLAGS, "IOCB_FLAG_???")
        ));
    }
    if flags & 1 != 0 {
        p.push(format!("aio_resfd={}", f.i32(60)));
    } else if f.u32(60) != 0 {
        p.push(format!("aio_resfd={}", x(f.u32(60))));
    }
}

/// A whole iocb, its data fields by opcode.
fn iocb(c: &mut Call<'_, '_>, b: &[u8]) -> String {
    let f = Fields::new(b, 8);
    let mut p = header(b);
    let (op, buf, nbytes) = (f.u16(16), f.u64(24), f.u64(32));
    // The kernel rejects sizes that do not fit the caller's size_t.
    let valid =
        (nbytes as i64) >= 0 && (c.long_size() == 8 || (buf >> 32 == 0 && nbytes >> 32 == 0));
    match op {
        0 | 1 => {
            if op == 1 && valid {
                let data = c.quoted(buf, nbytes);
                p.push(format!("aio_buf={data}"));
            } else {
                p.push(format!("aio_buf={}", x(buf)));
            }
            p.push(format!("aio_nbytes={nbytes}"));
            p.push(format!("aio_offset={}", f.i64(40)));
            common_flags(&f, &mut p);
        }
        7 | 8 => {
            if valid {
                let n = c.long_size();
                let strings = op == 8;
                let iov = c.array(buf, nbytes, 2 * n, |c, e| {
                    let g = Fields::new(e, n);
                    let (base, len) = (g.ulong(0), g.ulong(n));
                    let data = if strings {
                        c.quoted(base, len)
                    } else {
                        fmt::ptr(base)
                    };
                    format!("{{iov_base={data}, iov_len={len}}}")
                });
                p.push(format!("aio_buf={iov}"));
            } else {
                p.push(format!("aio_buf={}", x(buf)));
                p.push(format!("aio_nbytes={nbytes}"));
            }
            p.push(format!("aio_offset={}", f.i64(40)));
            common_flags(&f, &mut p);
        }
        5 => {
            p.push(format!(
                "aio_buf={}",
                super::resource::xflags(buf, super::poll::POLL_FLAGS, "POLL???")
            ));
            common_flags(&f, &mut p);
        }
        _ => {}
    }
    format!("{{{}}}", p.join(", "))
}

/// Decodes the AIO structures of [`super::decode`].
pub(crate) fn decode(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> String {
    match kind {
        // io_submit: `nr` pointers to iocbs.
        StructKind::IocbPtrs(a) => {
            let n = c.long_size();
            // A negative count (a long): the kernel reads nothing.
            let nr = c.arg(a);
            if (n == 8 && (nr as i64) < 0) || (n == 4 && (nr as u32 as i32) < 0) {
                return fmt::ptr(v);
            }
            c.array(v, nr, n, |c, p| {
                let at = Fields::new(p, n).ulong(0);
                match c.fetch(at, IOCB) {
                    Ok(b) => iocb(c, &b),
                    Err(s) => s,
                }
            })
        }
        // io_cancel: the header identifies the request.
        StructKind::IocbHeader => match c.fetch(v, IOCB) {
            Ok(b) => format!("{{{}}}", header(&b).join(", ")),
            Err(s) => s,
        },
        _ => fmt::ptr(v),
    }
}
