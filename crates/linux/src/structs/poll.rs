//! Waiting on descriptors: `struct pollfd` arrays, `fd_set`s, epoll
//! events, pselect6's signal-mask pair, and what strace appends to their
//! return values (`Timeout`, `[{fd=3, revents=POLLIN}]`,
//! `in [3], left {...}`).

use super::time::{tv, Width};
use super::{Call, Fields, StructKind};
use crate::consts::Names;
use crate::fmt;
use vstrace_core::{StructBuilder, Value};

/// Most `pollfd`s read at a poll's exit (every one is read to find the
/// ones the kernel set, within this cap).
const MAX_POLL_SCAN: u64 = 65_536;

/// `poll` event bits (x86 values).
pub(crate) static POLL_FLAGS: Names = crate::xlat::tables::POLLFLAGS_X86_64;

/// `epoll` event bits.
static EPOLL_EVENTS: Names = crate::xlat::tables::EPOLLEVENTS_X86_64;

/// `EPOLL_CTL_DEL`: epoll_ctl ignores its event then.
const EPOLL_CTL_DEL: u64 = 2;

/// Size of `struct pollfd`.
const POLLFD: usize = 8;
/// Size of `struct epoll_event` (packed on x86-64, 4-aligned on i386).
const EPOLL_EVENT: usize = 12;
/// Most descriptors select reads (strace's bound).
const MAX_NFDS: i64 = 1024 * 1024;
/// The largest fd_set read: `MAX_NFDS` bits.
const MAX_FDSET: usize = (MAX_NFDS / 8) as usize;

/// One `struct pollfd` as strace prints it at the entry; its descriptor
/// typed, so that `-y` names it (`{fd=3</dev/null>, events=POLLIN}`).
fn pollfd(b: &[u8]) -> Value {
    let f = Fields::new(b, 4);
    let fd = f.i32(0);
    let mut s = StructBuilder::new();
    s.field("fd", Value::Fd { fd, path: None });
    // A negative descriptor is ignored by the kernel: strace shows no events.
    if fd >= 0 {
        let ev = super::resource::xflags(f.u16(4), POLL_FLAGS, "POLL???");
        s.field("events", Value::Opaque(ev));
    }
    s.done()
}

/// The typed values of [`decode`]'s kinds that carry descriptors (poll's
/// array), `None` for the others.
pub(crate) fn value(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> Option<Value> {
    match kind {
        StructKind::Pollfds(a) => {
            let n = c.arg(a) & 0xffff_ffff;
            Some(c.array_v(v, n, POLLFD, |_, b| pollfd(b)))
        }
        _ => None,
    }
}

fn epoll_event(b: &[u8]) -> String {
    let f = Fields::new(b, 4);
    format!(
        "{{events={}, data={{u32={}, u64={}}}}}",
        super::resource::xflags(f.u32(0), EPOLL_EVENTS, "EPOLL???"),
        f.u32(4),
        f.u64(4)
    )
}

/// Bytes of an fd_set covering `nfds` descriptors, as the kernel reads
/// it (whole longs).
fn fdset_size(c: &Call<'_, '_>, nfds: i64) -> usize {
    let w = c.long_size();
    let n = nfds.clamp(0, MAX_NFDS) as usize;
    (n.div_ceil(8) + w - 1) & !(w - 1)
}

/// The descriptors below `nfds` set in `b`.
fn set_bits(b: &[u8], nfds: i64) -> impl Iterator<Item = usize> + '_ {
    let n = nfds.clamp(0, MAX_NFDS) as usize;
    (0..n.min(b.len() * 8)).filter(move |i| b[i / 8] & (1 << (i % 8)) != 0)
}

fn fd_set(c: &mut Call<'_, '_>, v: u64, nfds: i64) -> String {
    let size = fdset_size(c, nfds);
    if size == 0 || size > MAX_FDSET {
        return fmt::ptr(v);
    }
    match c.fetch(v, size) {
        Ok(b) => {
            let fds: Vec<String> = set_bits(&b, nfds).map(|i| i.to_string()).collect();
            format!("[{}]", fds.join(" "))
        }
        Err(s) => s,
    }
}

/// pselect6's sixth argument: `{sigmask=[...], sigsetsize=8}`.
fn pselect_sigmask(c: &mut Call<'_, '_>, v: u64) -> String {
    let n = c.long_size();
    let b = match c.fetch(v, 2 * n) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, n);
    let (set, len) = (f.ulong(0), f.ulong(n));
    let mask = if set == 0 {
        "NULL".to_string()
    } else if len < n as u64 || len > 8 {
        fmt::ptr(set)
    } else {
        match c.fetch(set, len as usize) {
            Ok(m) => fmt::sigset(Fields::new(&m, 8).bytes(0, len as usize)),
            Err(s) => s,
        }
    };
    format!("{{sigmask={mask}, sigsetsize={len}}}")
}

/// Decodes the structures of [`super::decode`] for poll, select, epoll.
pub(crate) fn decode(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> String {
    use StructKind as K;
    match kind {
        K::Pollfds(_) => value(c, kind, v).map_or_else(|| fmt::ptr(v), |x| x.render()),
        K::FdSet(a) => {
            let nfds = c.arg(a) as u32 as i32 as i64;
            fd_set(c, v, nfds)
        }
        K::EpollEvent if c.name == "epoll_ctl" && c.arg(1) & 0xffff_ffff == EPOLL_CTL_DEL => {
            fmt::ptr(v)
        }
        K::EpollEvent => match c.fetch(v, EPOLL_EVENT) {
            Ok(b) => epoll_event(&b),
            Err(s) => s,
        },
        K::EpollEvents => {
            let n = c.ret.unwrap_or(0).max(0) as u64;
            c.array(v, n, EPOLL_EVENT, |_, b| epoll_event(b))
        }
        K::PselectSigmask => pselect_sigmask(c, v),
        _ => fmt::ptr(v),
    }
}

/// `left {...}`: the time left in the timeout argument `i` at the exit
/// (recvmmsg).
pub(crate) fn left_detail(c: &mut Call<'_, '_>, i: u8) -> Option<String> {
    let ts = c.arg(i);
    if ts == 0 {
        return None;
    }
    let w = Width::of(c, c.name.ends_with("_time64"));
    Some(format!("left {}", tv(c, ts, w, false)))
}

/// The timeout argument of a poll or select call and its layout.
fn timeout_of(c: &Call<'_, '_>) -> Option<(u64, Width, bool)> {
    let wide = c.name.ends_with("_time64");
    match c.name {
        "ppoll" | "ppoll_time64" => Some((c.arg(2), Width::of(c, wide), false)),
        "pselect6" | "pselect6_time64" => Some((c.arg(4), Width::of(c, wide), false)),
        "select" | "_newselect" => Some((c.arg(4), Width::of(c, false), true)),
        _ => None,
    }
}

/// poll/ppoll: `Timeout`, or the descriptors with events and the time
/// left.
pub(crate) fn poll_detail(c: &mut Call<'_, '_>, ret: i64) -> Option<String> {
    if ret == 0 {
        return Some("Timeout".into());
    }
    let va = c.arg(0);
    let n = c.arg(1) & 0xffff_ffff;
    if va == 0 || n == 0 {
        return None;
    }
    let limit = if c.opts.verbose {
        super::MAX_ARRAY_VERBOSE
    } else {
        c.opts.strsize as u64
    };
    let mut parts = Vec::new();
    let mut printed = 0u64;
    // Bounded: every element is read (the kernel wrote all of them), but
    // no more than a cap of them.
    for k in 0..n.min(MAX_POLL_SCAN) {
        let at = va.wrapping_add(k * POLLFD as u64);
        let Ok(b) = c.fetch(at, POLLFD) else {
            parts.push(fmt::ptr(at));
            break;
        };
        let f = Fields::new(&b, 4);
        let revents = f.u16(6);
        if revents == 0 {
            continue;
        }
        if printed >= limit {
            parts.push("...".into());
            break;
        }
        parts.push(format!(
            "{{fd={}, revents={}}}",
            f.i32(0),
            fmt::flags(revents, POLL_FLAGS, "0")
        ));
        printed += 1;
    }
    let mut s = String::new();
    if !parts.is_empty() {
        s = format!("[{}]", parts.join(", "));
    }
    if let Some((ts, w, usec)) = timeout_of(c) {
        if ts != 0 {
            let left = tv(c, ts, w, usec).render();
            s.push_str(if s.is_empty() { "left " } else { ", left " });
            s.push_str(&left);
        }
    }
    (!s.is_empty()).then_some(s)
}

/// select/pselect6: `Timeout`, or the ready descriptors by set and the
/// time left (strace's text, including its quirks: a `]` after every set
/// read once something was printed).
pub(crate) fn select_detail(c: &mut Call<'_, '_>, ret: i64) -> Option<String> {
    if ret == 0 {
        return Some("Timeout".into());
    }
    let nfds = c.arg(0) as u32 as i32 as i64;
    let size = fdset_size(c, nfds);
    let mut ready = ret;
    let mut s = String::new();
    let mut sep = "";
    for (i, name) in ["in", "out", "except"].iter().enumerate() {
        if ready <= 0 {
            break;
        }
        let va = c.arg(i as u8 + 1);
        if va == 0 || size == 0 || size > MAX_FDSET {
            continue;
        }
        let Ok(b) = c.fetch(va, size) else { continue };
        let mut first = true;
        for fd in set_bits(&b, nfds) {
            if first {
                s.push_str(&format!("{sep}{name} [{fd}"));
                first = false;
                sep = ", ";
            } else {
                s.push_str(&format!(" {fd}"));
            }
            ready -= 1;
            if ready == 0 {
                break;
            }
        }
        if !s.is_empty() {
            s.push(']');
        }
    }
    if let Some((ts, w, usec)) = timeout_of(c) {
        if ts != 0 {
            let left = tv(c, ts, w, usec);
            s.push_str(&format!("{sep}left {left}"));
        }
    }
    Some(s)
}
