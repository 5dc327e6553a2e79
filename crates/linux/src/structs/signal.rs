//! Signal structures taken as arguments: `stack_t` (sigaltstack),
//! `siginfo_t` (rt_sigqueueinfo, waitid, rt_sigtimedwait) and
//! `struct sigevent` (timer_create, mq_notify).

use super::{Call, Fields, StructKind};
use crate::consts::Names;
use crate::fmt;

/// `ss_flags` bits. TODO: generated table.
static SS_FLAGS: Names = &[
    (1, "SS_ONSTACK"),
    (2, "SS_DISABLE"),
    (1 << 31, "SS_AUTODISARM"),
];

/// `sigev_notify` values. TODO: generated table.
static SIGEV_NOTIFY: Names = &[
    (0, "SIGEV_SIGNAL"),
    (1, "SIGEV_NONE"),
    (2, "SIGEV_THREAD"),
    (4, "SIGEV_THREAD_ID"),
];

/// The part of `struct sigevent` strace reads (its own
/// `struct_sigevent`): the value, signo, notify and the thread union's
/// two words, `3 * long + 8` bytes (32 on x86-64, 20 on i386); the
/// kernel's 64-byte padding is not read, so an event at the end of a
/// page still shows.
fn sigevent_size(long: usize) -> usize {
    3 * long + 8
}

fn stack_t(c: &mut Call<'_, '_>, v: u64) -> String {
    let n = c.long_size();
    // ss_sp, ss_flags (int, padded to a long), ss_size.
    let b = match c.fetch(v, 3 * n) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, n);
    format!(
        "{{ss_sp={}, ss_flags={}, ss_size={}}}",
        fmt::ptr(f.ulong(0)),
        super::resource::xflags(f.u32(n), SS_FLAGS, "SS_???"),
        f.ulong(2 * n)
    )
}

fn siginfo(c: &mut Call<'_, '_>, v: u64) -> String {
    // Read whole first: an unreadable siginfo is its address.
    let b = match c.fetch(v, super::siginfo::SIZE) {
        Ok(b) => b,
        Err(s) => return s,
    };
    // Nothing was waiting (waitid with WNOHANG): the kernel zeroes it, and
    // the decoder shows `{}`.
    super::siginfo::siginfo_v(c.abi, &b).render()
}

fn sigevent(c: &mut Call<'_, '_>, v: u64) -> String {
    let n = c.long_size();
    let b = match c.fetch(v, sigevent_size(n)) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, n);
    // sigev_value (a pointer-sized union), signo, notify, then the union
    // of the thread id and the thread function and attributes.
    let value = f.ulong(0);
    let signo = f.u32(n);
    let notify = f.u32(n + 4);
    let un = n + 8;
    let mut parts = Vec::new();
    if value != 0 {
        parts.push(format!(
            "sigev_value={{sival_int={}, sival_ptr={}}}",
            f.i32(0),
            fmt::ptr(value)
        ));
    }
    match notify {
        0 | 2 | 4 => parts.push(format!("sigev_signo={}", fmt::signal(signo))),
        _ => parts.push(format!("sigev_signo={signo}")),
    }
    parts.push(format!(
        "sigev_notify={}",
        super::resource::xval(notify, SIGEV_NOTIFY, "SIGEV_???")
    ));
    match notify {
        4 => parts.push(format!("sigev_notify_thread_id={}", f.i32(un))),
        2 => {
            parts.push(format!("sigev_notify_function={}", fmt::ptr(f.ulong(un))));
            parts.push(format!(
                "sigev_notify_attributes={}",
                fmt::ptr(f.ulong(un + n))
            ));
        }
        _ => {}
    }
    format!("{{{}}}", parts.join(", "))
}

/// Decodes the signal structures of [`super::decode`].
pub(crate) fn decode(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> String {
    match kind {
        StructKind::StackT => stack_t(c, v),
        StructKind::Siginfo | StructKind::SiginfoOut => siginfo(c, v),
        StructKind::Sigevent => sigevent(c, v),
        _ => fmt::ptr(v),
    }
}
