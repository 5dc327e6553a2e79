//! Time structures: timespec and timeval (the ABI's own, and the 64-bit
//! `__kernel_timespec` of the `*_time64` calls), timezone, itimerval,
//! itimerspec, utimbuf, the utimes/utimensat pairs, time(2)'s `time_t`,
//! and the dates strace prints beside some of them (always UTC here: the
//! guest's time zone is not known from outside).

use std::fmt::Write;

use vstrace_core::{StructBuilder, Value};

use super::{Call, Fields, StructKind};
use crate::fmt;

/// `UTIME_NOW` and `UTIME_OMIT` (utimensat's special nanosecond values).
const UTIME_NOW: u64 = (1 << 30) - 1;
const UTIME_OMIT: u64 = (1 << 30) - 2;

/// `struct timex` `modes` bits. TODO: generated table.
static ADJ_MODES: crate::consts::Names = &[
    (0xa001, "ADJ_OFFSET_SS_READ"),
    (0x8001, "ADJ_OFFSET_SINGLESHOT"),
    (0x0001, "ADJ_OFFSET"),
    (0x0002, "ADJ_FREQUENCY"),
    (0x0004, "ADJ_MAXERROR"),
    (0x0008, "ADJ_ESTERROR"),
    (0x0010, "ADJ_STATUS"),
    (0x0020, "ADJ_TIMECONST"),
    (0x0080, "ADJ_TAI"),
    (0x0100, "ADJ_SETOFFSET"),
    (0x1000, "ADJ_MICRO"),
    (0x2000, "ADJ_NANO"),
    (0x4000, "ADJ_TICK"),
];

/// `struct timex` `status` bits. TODO: generated table.
static STA_FLAGS: crate::consts::Names = &[
    (0x0001, "STA_PLL"),
    (0x0002, "STA_PPSFREQ"),
    (0x0004, "STA_PPSTIME"),
    (0x0008, "STA_FLL"),
    (0x0010, "STA_INS"),
    (0x0020, "STA_DEL"),
    (0x0040, "STA_UNSYNC"),
    (0x0080, "STA_FREQHOLD"),
    (0x0100, "STA_PPSSIGNAL"),
    (0x0200, "STA_PPSJITTER"),
    (0x0400, "STA_PPSWANDER"),
    (0x0800, "STA_PPSERROR"),
    (0x1000, "STA_CLOCKERR"),
    (0x2000, "STA_NANO"),
    (0x4000, "STA_MODE"),
    (0x8000, "STA_CLK"),
];

/// adjtimex's clock states (its return value). TODO: generated table.
static TIME_STATES: crate::consts::Names = &[
    (0, "TIME_OK"),
    (1, "TIME_INS"),
    (2, "TIME_DEL"),
    (3, "TIME_OOP"),
    (4, "TIME_WAIT"),
    (5, "TIME_ERROR"),
];

/// Size of `struct timex` for a `long` of `n` bytes (21 longs, the
/// kernel's padding after them: 208 bytes on x86-64, 128 on i386).
fn timex_size(n: usize) -> usize {
    if n == 8 {
        208
    } else {
        128
    }
}

/// `struct timex` (adjtimex, clock_adjtime): every field, in order; the
/// int fields are padded to a long.
fn timex(c: &mut Call<'_, '_>, v: u64, wide: bool) -> String {
    let n = if wide { 8 } else { c.long_size() };
    let b = match c.fetch(v, timex_size(n)) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, n);
    let d = |k: usize| f.long(k * n);
    let i = |k: usize| f.i32(k * n);
    let flags = super::resource::xflags;
    format!(
        "{{modes={}, offset={}, freq={}, maxerror={}, esterror={}, status={}, constant={}, \
         precision={}, tolerance={}, time={{tv_sec={}, tv_usec={}}}, tick={}, ppsfreq={}, \
         jitter={}, shift={}, stabil={}, jitcnt={}, calcnt={}, errcnt={}, stbcnt={}, tai={}}}",
        flags(f.u32(0), ADJ_MODES, "ADJ_???"),
        d(1),
        d(2),
        d(3),
        d(4),
        flags(f.u32(5 * n), STA_FLAGS, "STA_???"),
        d(6),
        d(7),
        d(8),
        d(9),
        f.ulong(10 * n),
        d(11),
        d(12),
        d(13),
        i(14),
        d(15),
        d(16),
        d(17),
        d(18),
        d(19),
        i(20)
    )
}

/// adjtimex/clock_adjtime: the clock state the call returned, when its
/// structure could be read (as strace, which prints it only then).
pub(crate) fn timex_state(c: &mut Call<'_, '_>, i: u8, ret: i64) -> Option<String> {
    let n = if c.name.ends_with("64") {
        8
    } else {
        c.long_size()
    };
    c.fetch(c.arg(i), timex_size(n)).ok()?;
    crate::consts::lookup(TIME_STATES, ret as u64).map(str::to_string)
}

/// Field widths of a time layout.
#[derive(Clone, Copy)]
pub(crate) enum Width {
    /// Both fields are `long` of the ABI (4 bytes for i386 callers).
    Long(usize),
    /// Both fields are 64-bit (`__kernel_timespec`).
    Wide,
}

impl Width {
    /// The layout for `c`'s ABI, or the 64-bit one.
    pub(crate) fn of(c: &Call<'_, '_>, wide: bool) -> Width {
        if wide {
            Width::Wide
        } else {
            Width::Long(c.long_size())
        }
    }

    /// Size of one field.
    pub(crate) fn field(self) -> usize {
        match self {
            Width::Long(n) => n,
            Width::Wide => 8,
        }
    }

    /// Size of a two-field value (`timespec`, `timeval`).
    pub(crate) fn pair(self) -> usize {
        2 * self.field()
    }

    /// (seconds signed, sub-second part zero-extended from its width), as
    /// strace prints them.
    pub(crate) fn read(self, b: &[u8], off: usize) -> (i64, u64) {
        let n = self.field();
        let f = Fields::new(b, n);
        (f.long(off), f.ulong(off + n))
    }
}

/// `{tv_sec=S, tv_nsec=N}` (`part` is `tv_nsec` or `tv_usec`).
pub(crate) fn two_v(sec: i64, frac: u64, part: &'static str) -> Value {
    StructBuilder::new()
        .dec("tv_sec", sec)
        .dec(part, frac)
        .done()
}

/// A timespec (`usec`: a timeval) at `off` of `b`.
pub(crate) fn tv_at_v(b: &[u8], off: usize, w: Width, usec: bool) -> Value {
    let (s, f) = w.read(b, off);
    two_v(s, f, if usec { "tv_usec" } else { "tv_nsec" })
}

/// Text of [`tv_at_v`].
pub(crate) fn tv_at(b: &[u8], off: usize, w: Width, usec: bool) -> String {
    tv_at_v(b, off, w, usec).render()
}

/// A timespec (`usec`: a timeval) at `va`, or its address.
pub(crate) fn tv(c: &mut Call<'_, '_>, va: u64, w: Width, usec: bool) -> Value {
    match c.fetch_v(va, w.pair()) {
        Ok(b) => tv_at_v(&b, 0, w, usec),
        Err(v) => v,
    }
}

/// strace's date of a time: `2026-12-03T06:06:50+0000`, with `.part`
/// (`width` digits) when `part` is not 0; `None` for the epoch itself, a
/// sub-second part over its range (`width` 0: none allowed) or a year
/// outside C's `struct tm`.
pub(crate) fn date(sec: i64, part: u64, width: usize) -> Option<String> {
    let max = match width {
        0 => 0,
        6 => 999_999,
        _ => 999_999_999,
    };
    if (sec == 0 && part == 0) || part > max {
        return None;
    }
    // An i386 strace (the one a 32-bit kernel runs) converts only what
    // fits its 32-bit time_t.
    if !crate::tracer::fits_time_t(sec) {
        return None;
    }
    let days = sec.div_euclid(86_400);
    let secs = sec.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // localtime() fails when the year does not fit tm_year (an int).
    if !(i32::MIN as i64 + 1900..=i32::MAX as i64).contains(&y) {
        return None;
    }
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if part > 0 {
        let _ = write!(s, ".{part:0width$}");
    }
    s.push_str("+0000");
    Some(s)
}

/// (year, month, day) of a day count from 1970-01-01 in the proleptic
/// Gregorian calendar (Howard Hinnant's algorithm, in 64-bit integers:
/// no overflow for any `i64 / 86400`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A time value followed by its date in a comment, when it has one.
fn with_date(text: String, sec: i64, part: u64, width: usize) -> String {
    match date(sec, part, width) {
        Some(d) => format!("{text} /* {d} */"),
        None => text,
    }
}

/// `[{...}, {...}]`: the access and modification times of utimes,
/// futimesat (`usec`) and utimensat.
fn pair(c: &mut Call<'_, '_>, va: u64, w: Width, usec: bool) -> String {
    let b = match c.fetch(va, 2 * w.pair()) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let mut parts = Vec::with_capacity(2);
    for k in 0..2 {
        let off = k * w.pair();
        let (sec, frac) = w.read(&b, off);
        let text = tv_at(&b, off, w, usec);
        if !usec && (frac == UTIME_NOW || frac == UTIME_OMIT) {
            let name = if frac == UTIME_NOW {
                "UTIME_NOW"
            } else {
                "UTIME_OMIT"
            };
            // -X raw prints the structure, -X verbose the structure and
            // the name in a comment.
            parts.push(match crate::xlat::style() {
                vstrace_core::ConstStyle::Raw => text,
                vstrace_core::ConstStyle::Verbose => format!("{text} /* {name} */"),
                vstrace_core::ConstStyle::Abbrev => name.to_string(),
            });
        } else {
            parts.push(with_date(text, sec, frac, if usec { 6 } else { 9 }));
        }
    }
    format!("[{}]", parts.join(", "))
}

/// `{it_interval={...}, it_value={...}}`.
fn itimer(c: &mut Call<'_, '_>, va: u64, w: Width, usec: bool) -> Value {
    match c.fetch_v(va, 2 * w.pair()) {
        Ok(b) => StructBuilder::new()
            .field("it_interval", tv_at_v(&b, 0, w, usec))
            .field("it_value", tv_at_v(&b, w.pair(), w, usec))
            .done(),
        Err(v) => v,
    }
}

/// The typed time structures (see [`super::value`]); `None` for the
/// others.
pub(crate) fn value(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> Option<Value> {
    use StructKind as K;
    let native = Width::of(c, false);
    Some(match kind {
        K::Timespec => tv(c, v, native, false),
        K::Timespec64 => tv(c, v, Width::Wide, false),
        // Written by the kernel only when a signal interrupted the sleep.
        // clock_nanosleep writes it only for a relative sleep (flags 0).
        K::TimespecRem | K::Timespec64Rem => {
            if c.interrupted() && !(c.name.starts_with("clock_nanosleep") && c.arg(1) != 0) {
                tv(c, v, Width::of(c, kind == K::Timespec64Rem), false)
            } else {
                Value::ptr(v)
            }
        }
        K::Timeval => tv(c, v, native, true),
        K::Timezone => match c.fetch_v(v, 8) {
            Ok(b) => {
                let f = Fields::new(&b, 4);
                StructBuilder::new()
                    .dec("tz_minuteswest", f.i32(0))
                    .dec("tz_dsttime", f.i32(4))
                    .done()
            }
            Err(v) => v,
        },
        K::Itimerval => itimer(c, v, native, true),
        K::Itimerspec => itimer(c, v, native, false),
        K::Itimerspec64 => itimer(c, v, Width::Wide, false),
        _ => return None,
    })
}

/// Decodes the time structures of [`super::decode`].
pub(crate) fn decode(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> String {
    use StructKind as K;
    let native = Width::of(c, false);
    match kind {
        K::TimespecPair => pair(c, v, native, false),
        K::Timespec64Pair => pair(c, v, Width::Wide, false),
        K::TimevalPair => pair(c, v, native, true),
        K::Utimbuf => {
            let n = c.long_size();
            match c.fetch(v, 2 * n) {
                Ok(b) => {
                    let f = Fields::new(&b, n);
                    let (a, m) = (f.long(0), f.long(n));
                    format!(
                        "{{actime={}, modtime={}}}",
                        with_date(a.to_string(), a, 0, 0),
                        with_date(m.to_string(), m, 0, 0)
                    )
                }
                Err(s) => s,
            }
        }
        K::Timex => timex(c, v, false),
        K::Timex64 => timex(c, v, true),
        K::TimeOut => {
            let n = c.long_size();
            match c.fetch(v, n) {
                Ok(b) => {
                    let t = Fields::new(&b, n).long(0);
                    format!("[{}]", with_date(t.to_string(), t, 0, 0))
                }
                Err(s) => s,
            }
        }
        // The typed ones.
        _ => value(c, kind, v).map_or_else(|| fmt::ptr(v), |t| t.render()),
    }
}
