//! System V, POSIX and AIO queue structures: `struct sembuf` arrays
//! (semop, semtimedop), `struct mq_attr` (mq_open, mq_getsetattr) and the
//! `struct io_event`s io_getevents returns.

use super::{Call, Fields, StructKind};
use crate::consts::Names;
use crate::fmt;

/// `sem_flg` bits.
static SEM_FLAGS: Names = crate::xlat::tables::SEMOP_FLAGS_X86_64;

/// `mq_flags` bits.
static MQ_FLAGS: Names = crate::xlat::tables::MQ_ATTR_FLAGS_X86_64;

/// Size of `struct sembuf`.
const SEMBUF: usize = 6;

fn sembuf(b: &[u8]) -> String {
    let f = Fields::new(b, 4);
    format!(
        "{{sem_num={}, sem_op={}, sem_flg={}}}",
        f.u16(0),
        f.u16(2) as u16 as i16,
        super::resource::xflags(f.u16(4), SEM_FLAGS, "SEM_???")
    )
}

/// `struct mq_attr`: four longs (and four reserved).
fn mq_attr(c: &mut Call<'_, '_>, v: u64, named: bool) -> String {
    let n = c.long_size();
    // The whole structure with its four reserved longs, as strace reads
    // it: an attribute block that ends a page early is its address.
    let b = match c.fetch(v, 8 * n) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, n);
    let flags = f.ulong(0);
    let flags = if named {
        super::resource::xflags(flags, MQ_FLAGS, "O_???")
    } else if flags == 0 {
        "0".to_string()
    } else {
        format!("{flags:#x}")
    };
    format!(
        "{{mq_flags={flags}, mq_maxmsg={}, mq_msgsize={}, mq_curmsgs={}}}",
        f.long(n),
        f.long(2 * n),
        f.long(3 * n)
    )
}

/// Size of `struct io_event` (both ABIs).
const IO_EVENT: usize = 32;

fn io_event(b: &[u8]) -> String {
    let f = Fields::new(b, 8);
    let x = |v: u64| {
        if v == 0 {
            "0".to_string()
        } else {
            format!("{v:#x}")
        }
    };
    format!(
        "{{data={}, obj={}, res={}, res2={}}}",
        x(f.u64(0)),
        x(f.u64(8)),
        f.i64(16),
        f.i64(24)
    )
}

/// Decodes the IPC structures of [`super::decode`].
pub(crate) fn decode(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> String {
    match kind {
        StructKind::Sembufs(a) => {
            let n = c.arg(a) & 0xffff_ffff;
            c.array(v, n, SEMBUF, |_, b| sembuf(b))
        }
        StructKind::IoEvents => {
            let n = c.ret.unwrap_or(0).max(0) as u64;
            c.array(v, n, IO_EVENT, |_, b| io_event(b))
        }
        StructKind::IoEvent => match c.fetch(v, IO_EVENT) {
            Ok(b) => io_event(&b),
            Err(s) => s,
        },
        StructKind::MqAttr => mq_attr(c, v, false),
        StructKind::MqAttrFlags => mq_attr(c, v, true),
        _ => fmt::ptr(v),
    }
}
