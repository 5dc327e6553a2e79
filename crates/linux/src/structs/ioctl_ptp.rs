//! PTP hardware clock ioctls (type '=') as strace prints them: clock
//! capabilities, external timestamp and periodic output requests, pin
//! functions, and the system/device clock offset samples. A clock time
//! that is a date (a start time, a sample) gets strace's date comment
//! except in the raw (`-X raw`) style. The reserved words are shown only
//! when some are not zero. The `ptp_*` structures have one layout in
//! both ABIs (their 64-bit fields are naturally aligned).

use vstrace_core::style::style;
use vstrace_core::value::{Base, Name};
use vstrace_core::{ConstStyle, StructBuilder, Value};

use super::ioctl::{cstring_v, read_v, Kind};
use super::ioctl_mtd::local_array;
use super::time::date;
use super::{Call, Fields};
use crate::fmt;
use crate::xlat::{Radix, Table as T};

/// Samples of one offset measurement at most (`PTP_MAX_SAMPLES`).
const MAX_SAMPLES: u64 = 25;
/// Size of `struct ptp_clock_time`.
const TIME: usize = 16;
/// Size of `struct ptp_sys_offset`.
const SYS_OFFSET: usize = 832;
/// Size of `struct ptp_sys_offset_extended`.
const EXTENDED: usize = 1216;

/// The decoder of PTP request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::{InMoreV, InV, OutV, ValV};
    Some(match name {
        "PTP_CLOCK_GETCAPS" | "PTP_CLOCK_GETCAPS2" => OutV(caps),
        "PTP_EXTTS_REQUEST" => InV(|c, v| extts(c, v, false)),
        "PTP_EXTTS_REQUEST2" => InV(|c, v| extts(c, v, true)),
        "PTP_PEROUT_REQUEST" => InV(|c, v| perout(c, v, false)),
        "PTP_PEROUT_REQUEST2" => InV(|c, v| perout(c, v, true)),
        "PTP_ENABLE_PPS" | "PTP_ENABLE_PPS2" => ValV(|_, v| Value::int(v, Base::Hex)),
        "PTP_SYS_OFFSET" | "PTP_SYS_OFFSET2" => {
            InMoreV(|c, v| samples_in(c, v, SYS_OFFSET), sys_offset_out)
        }
        "PTP_SYS_OFFSET_EXTENDED" | "PTP_SYS_OFFSET_EXTENDED2" => {
            InMoreV(|c, v| samples_in(c, v, EXTENDED), extended_out)
        }
        "PTP_SYS_OFFSET_PRECISE" | "PTP_SYS_OFFSET_PRECISE2" => OutV(precise),
        "PTP_PIN_GETFUNC" => InMoreV(|c, v| pin_in(c, v, false), pin_out),
        "PTP_PIN_GETFUNC2" => InMoreV(|c, v| pin_in(c, v, true), pin_out),
        "PTP_PIN_SETFUNC" => InV(|c, v| pin_set(c, v, false)),
        "PTP_PIN_SETFUNC2" => InV(|c, v| pin_set(c, v, true)),
        _ => return None,
    })
}

/// A number in hex (`PRINT_FIELD_X`).
fn hex(v: u64) -> Value {
    Value::int(v, Base::Hex)
}

/// `rsv`: `n` reserved `u32` at `o`, in hex, when some is not zero.
fn rsv(b: &mut StructBuilder, c: &Call<'_, '_>, f: &Fields<'_>, o: usize, n: usize) {
    if (0..n).any(|i| f.u32(o + 4 * i) != 0) {
        b.field("rsv", local_array(c, n, |i| hex(f.u32(o + 4 * i))));
    }
}

/// `struct ptp_clock_time` at `o`; with its date as a comment when it
/// is a point in time (`date`), as strace's `print_ptp_clock_time`.
fn clock_time(f: &Fields<'_>, o: usize, is_date: bool) -> Value {
    let (sec, nsec, reserved) = (f.i64(o), f.u32(o + 8), f.u32(o + 12));
    let mut b = StructBuilder::new();
    b.dec("sec", sec).dec("nsec", nsec);
    if reserved != 0 {
        b.field("reserved", hex(reserved));
    }
    let v = b.done();
    match date(sec, nsec, 9) {
        Some(d) if is_date && style() != ConstStyle::Raw => Value::Commented {
            value: Box::new(v),
            comment: d,
        },
        _ => v,
    }
}

/// `struct ptp_clock_caps`.
fn caps(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 80, |c, f| {
        let mut b = StructBuilder::new();
        for (i, name) in [
            "max_adj",
            "n_alarm",
            "n_ext_ts",
            "n_per_out",
            "pps",
            "n_pins",
            "cross_timestamping",
            "adjust_phase",
        ]
        .into_iter()
        .enumerate()
        {
            b.dec(name, f.i32(4 * i));
        }
        rsv(&mut b, c, f, 32, 12);
        b.done()
    })
}

/// `struct ptp_extts_request` (`rsv` only in the second version).
fn extts(c: &mut Call<'_, '_>, v: u64, v2: bool) -> Value {
    read_v(c, v, 16, |c, f| {
        let mut b = StructBuilder::new();
        b.dec("index", f.u32(0)).field(
            "flags",
            fmt::xflags_v(c.abi, &[T::PtpExttsFlags], f.u32(4), true, false),
        );
        if v2 {
            rsv(&mut b, c, f, 8, 2);
        }
        b.done()
    })
}

/// `struct ptp_perout_request`: a phase or a start time, the period,
/// and the on time with a duty cycle (else the reserved words of the
/// second version).
fn perout(c: &mut Call<'_, '_>, v: u64, v2: bool) -> Value {
    read_v(c, v, 56, |c, f| {
        let flags = f.u32(36);
        let flag = |name: &str| {
            T::PtpPeroutFlags
                .xlat()
                .value_of(c.abi, name)
                .is_some_and(|bit| flags & bit != 0)
        };
        let mut b = StructBuilder::new();
        if flag("PTP_PEROUT_PHASE") {
            b.field("phase", clock_time(f, 0, false));
        } else {
            b.field("start", clock_time(f, 0, true));
        }
        b.field("period", clock_time(f, TIME, false))
            .dec("index", f.u32(32))
            .field(
                "flags",
                fmt::xflags_v(c.abi, &[T::PtpPeroutFlags], flags, true, false),
            );
        if flag("PTP_PEROUT_DUTY_CYCLE") {
            b.field("on", clock_time(f, 40, false));
        } else if v2 {
            rsv(&mut b, c, f, 40, 4);
        }
        b.done()
    })
}

/// The offset requests at the entry: the samples asked for (strace
/// reads the whole structure of `size` bytes).
fn samples_in(c: &mut Call<'_, '_>, v: u64, size: usize) -> Value {
    read_v(c, v, size, |c, f| {
        let mut b = StructBuilder::new();
        b.dec("n_samples", f.u32(0));
        rsv(&mut b, c, f, 4, 3);
        b.done()
    })
}

/// The samples the kernel wrote (`per` clock times each, `count` of
/// them), at a successful exit; nothing when they cannot be read
/// (strace adds an unnamed `???`).
fn samples_out(
    c: &mut Call<'_, '_>,
    v: u64,
    size: usize,
    count: impl Fn(u64) -> usize,
    one: fn(&Fields<'_>, usize) -> Value,
) -> Vec<(Name, Value)> {
    if c.failed() {
        return Vec::new();
    }
    match c.fetch(v, size) {
        Ok(b) => {
            let f = Fields::new(&b, 8);
            let n = count(f.u32(0).min(MAX_SAMPLES));
            vec![(Name::Borrowed("ts"), local_array(c, n, |i| one(&f, i)))]
        }
        Err(_) => Vec::new(),
    }
}

/// `PTP_SYS_OFFSET` at the exit: `2n+1` alternating system and device
/// times.
fn sys_offset_out(c: &mut Call<'_, '_>, v: u64) -> Vec<(Name, Value)> {
    samples_out(
        c,
        v,
        SYS_OFFSET,
        |n| 2 * n as usize + 1,
        |f, i| clock_time(f, 16 + TIME * i, true),
    )
}

/// `PTP_SYS_OFFSET_EXTENDED` at the exit: `n` triples of times.
fn extended_out(c: &mut Call<'_, '_>, v: u64) -> Vec<(Name, Value)> {
    samples_out(
        c,
        v,
        EXTENDED,
        |n| n as usize,
        |f, i| Value::Array {
            items: (0..3)
                .map(|k| clock_time(f, 16 + 3 * TIME * i + TIME * k, true))
                .collect(),
            more: false,
        },
    )
}

/// `struct ptp_sys_offset_precise`.
fn precise(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 64, |c, f| {
        let mut b = StructBuilder::new();
        b.field("device", clock_time(f, 0, true))
            .field("sys_realtime", clock_time(f, TIME, true))
            .field("sys_monoraw", clock_time(f, 2 * TIME, false));
        rsv(&mut b, c, f, 48, 4);
        b.done()
    })
}

/// `struct ptp_pin_desc` as a getter passes it: the index (and the
/// reserved words in the second version).
fn pin_in(c: &mut Call<'_, '_>, v: u64, v2: bool) -> Value {
    read_v(c, v, 96, |c, f| {
        let mut b = StructBuilder::new();
        b.dec("index", f.u32(64));
        if v2 {
            rsv(&mut b, c, f, 76, 5);
        }
        b.done()
    })
}

/// The pin's function, as `func=`.
fn pin_func(c: &Call<'_, '_>, f: &Fields<'_>) -> Value {
    fmt::xval_v(c.abi, T::PtpPinFuncs, f.u32(68), Radix::Hex)
}

/// A getter's pin at a successful exit: its name, function and channel.
fn pin_out(c: &mut Call<'_, '_>, v: u64) -> Vec<(Name, Value)> {
    if c.failed() {
        return Vec::new();
    }
    match c.fetch(v, 96) {
        Ok(b) => {
            let f = Fields::new(&b, 8);
            vec![
                (Name::Borrowed("name"), cstring_v(&b[..64])),
                (Name::Borrowed("func"), pin_func(c, &f)),
                (Name::Borrowed("chan"), Value::dec(f.u32(72))),
            ]
        }
        // strace adds `???` then; a structure has no unnamed field.
        Err(_) => Vec::new(),
    }
}

/// `struct ptp_pin_desc` as a setter passes it.
fn pin_set(c: &mut Call<'_, '_>, v: u64, v2: bool) -> Value {
    read_v(c, v, 96, |c, f| {
        let mut b = StructBuilder::new();
        b.dec("index", f.u32(64))
            .field("func", pin_func(c, f))
            .dec("chan", f.u32(72));
        if v2 {
            rsv(&mut b, c, f, 76, 5);
        }
        b.done()
    })
}

#[cfg(test)]
mod tests {
    use vstrace_core::testmem::SparseVirt;

    use super::super::ioctl::tests::{line, EBADF};

    fn words(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn extts_perout_and_pins() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &words(&[3141592653, 0xdeadbabe, 0xdeadc0de, 0]));
        assert_eq!(
            line(0x40103d0b, 0x1000, EBADF, &mut m),
            "ioctl(-1, PTP_EXTTS_REQUEST2, {index=3141592653, flags=PTP_RISING_EDGE|\
             PTP_FALLING_EDGE|PTP_STRICT_FLAGS|0xdeadbab0, rsv=[0xdeadc0de, 0]}) \
             = -1 EBADF (Bad file descriptor)"
        );
        let mut p = Vec::new();
        p.extend_from_slice(&0x123456789i64.to_le_bytes());
        p.extend_from_slice(&words(&[123456789, 0]));
        p.extend_from_slice(&0xabcdefi64.to_le_bytes());
        p.extend_from_slice(&words(&[0, 2345678901, 3141592653, 0]));
        p.resize(56, 0);
        m.map(0x2000, &p);
        assert_eq!(
            line(0x40383d03, 0x2000, EBADF, &mut m),
            "ioctl(-1, PTP_PEROUT_REQUEST, {start={sec=4886718345, nsec=123456789} \
             /* 2124-11-08T05:45:45.123456789+0000 */, period={sec=11259375, nsec=0, \
             reserved=0x8bd03835}, index=3141592653, flags=0}) = -1 EBADF (Bad file descriptor)"
        );
        let mut pin = b"pin".to_vec();
        pin.resize(64, 0);
        pin.extend_from_slice(&words(&[7, 1, 9, 0, 0, 0, 0, 0xdadfaced]));
        m.map(0x3000, &pin);
        assert_eq!(
            line(0xc0603d0f, 0x3000, 0, &mut m),
            "ioctl(-1, PTP_PIN_GETFUNC2, {index=7, rsv=[0, 0, 0, 0, 0xdadfaced], \
             name=\"pin\", func=PTP_PF_EXTTS, chan=9}) = 0"
        );
        assert_eq!(
            line(0xc0603d06, 0x3000, EBADF, &mut m),
            "ioctl(-1, PTP_PIN_GETFUNC, {index=7}) = -1 EBADF (Bad file descriptor)"
        );
    }

    #[test]
    fn offset_samples() {
        let mut m = SparseVirt::new();
        let mut b = words(&[1, 0, 0, 0]);
        for j in 0..51u32 {
            b.extend_from_slice(&(2345678901i64 + j as i64).to_le_bytes());
            b.extend_from_slice(&words(&[999999999, 0]));
        }
        m.map(0x1000, &b);
        let t = |s: i64, d: &str| format!("{{sec={s}, nsec=999999999}} /* {d} */");
        assert_eq!(
            line(0x43403d05, 0x1000, 0, &mut m),
            format!(
                "ioctl(-1, PTP_SYS_OFFSET, {{n_samples=1, ts=[{}, {}, {}]}}) = 0",
                t(2345678901, "2044-05-01T01:28:21.999999999+0000"),
                t(2345678902, "2044-05-01T01:28:22.999999999+0000"),
                t(2345678903, "2044-05-01T01:28:23.999999999+0000")
            )
        );
        assert_eq!(
            line(0x43403d05, 0x1000, EBADF, &mut m),
            "ioctl(-1, PTP_SYS_OFFSET, {n_samples=1}) = -1 EBADF (Bad file descriptor)"
        );
    }
}
