//! Real-time clock ioctls (type 'p') as strace prints them: `struct
//! rtc_time` (abbreviated after `tm_year` unless `-v`), wake alarms, PLL
//! information, voltage-low flags and the `RTC_PARAM_*` parameters.

use super::ioctl::Kind;
use super::{Call, Fields};
use crate::fmt;
use crate::xlat::{self, Radix, Table as T};

/// The decoder of RTC request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::*;
    Some(match name {
        "RTC_ALM_READ" | "RTC_RD_TIME" => Out(rtc_time),
        "RTC_ALM_SET" | "RTC_SET_TIME" => In(rtc_time),
        "RTC_IRQP_SET" | "RTC_EPOCH_SET" => Value(|_, v| v.to_string()),
        "RTC_IRQP_READ" | "RTC_EPOCH_READ" => Out(|c, v| {
            let n = c.long_size();
            match c.fetch(v, n) {
                Ok(b) => format!("[{}]", Fields::new(&b, n).ulong(0)),
                Err(s) => s,
            }
        }),
        "RTC_WKALM_RD" => Out(wkalrm),
        "RTC_WKALM_SET" => In(wkalrm),
        "RTC_PLL_GET" => Out(pll_info),
        "RTC_PLL_SET" => In(pll_info),
        "RTC_VL_READ" => Out(|c, v| match c.fetch(v, 4) {
            Ok(b) => format!(
                "[{}]",
                xlat::flags(c.abi, T::RtcVlFlags, Fields::new(&b, 4).u32(0))
            ),
            Err(s) => s,
        }),
        "RTC_PARAM_SET" => In(|c, v| param(c, v, true, true)),
        "RTC_PARAM_GET" => InThen(|c, v| param(c, v, true, false), param_got),
        "RTC_AIE_ON" | "RTC_AIE_OFF" | "RTC_UIE_ON" | "RTC_UIE_OFF" | "RTC_PIE_ON"
        | "RTC_PIE_OFF" | "RTC_WIE_ON" | "RTC_WIE_OFF" | "RTC_VL_CLR" => NoArg,
        _ => return None,
    })
}

/// The fields of `struct rtc_time` (nine ints) in `b`.
fn time_fields(c: &Call<'_, '_>, b: &[u8]) -> String {
    let f = Fields::new(b, 4);
    let mut s = format!(
        "{{tm_sec={}, tm_min={}, tm_hour={}, tm_mday={}, tm_mon={}, tm_year={}",
        f.i32(0),
        f.i32(4),
        f.i32(8),
        f.i32(12),
        f.i32(16),
        f.i32(20)
    );
    if c.opts.verbose {
        s.push_str(&format!(
            ", tm_wday={}, tm_yday={}, tm_isdst={}}}",
            f.i32(24),
            f.i32(28),
            f.i32(32)
        ));
    } else {
        s.push_str(", ...}");
    }
    s
}

/// `struct rtc_time`.
fn rtc_time(c: &mut Call<'_, '_>, v: u64) -> String {
    match c.fetch(v, 36) {
        Ok(b) => time_fields(c, &b),
        Err(s) => s,
    }
}

/// `struct rtc_wkalrm`: two flag bytes, then a `struct rtc_time`.
fn wkalrm(c: &mut Call<'_, '_>, v: u64) -> String {
    match c.fetch(v, 40) {
        Ok(b) => format!(
            "{{enabled={}, pending={}, time={}}}",
            b[0],
            b[1],
            time_fields(c, &b[4..])
        ),
        Err(s) => s,
    }
}

/// `struct rtc_pll_info`: six ints and a `long`.
fn pll_info(c: &mut Call<'_, '_>, v: u64) -> String {
    let w = c.long_size();
    let clock = 24usize.next_multiple_of(w);
    match c.fetch(v, clock + w) {
        Ok(b) => {
            let f = Fields::new(&b, w);
            format!(
                "{{pll_ctrl={}, pll_value={}, pll_max={}, pll_min={}, pll_posmult={}, \
                 pll_negmult={}, pll_clock={}}}",
                f.i32(0),
                f.i32(4),
                f.i32(8),
                f.i32(12),
                f.i32(16),
                f.i32(20),
                f.long(clock)
            )
        }
        Err(s) => s,
    }
}

/// `sizeof(struct rtc_param)`: param, value, index, padding.
const PARAM_SIZE: usize = 24;

/// The value of `struct rtc_param` by its parameter.
fn param_value(c: &Call<'_, '_>, f: &Fields<'_>) -> String {
    let (p, u) = (f.u64(0), f.u64(8));
    match xlat::Table::RtcParams.xlat().lookup(c.abi, p) {
        Some("RTC_PARAM_FEATURES") => format!("uvalue={}", xlat::flags(c.abi, T::RtcFeatures, u)),
        Some("RTC_PARAM_CORRECTION") => format!("svalue={}", u as i64),
        Some("RTC_PARAM_BACKUP_SWITCH_MODE") => format!(
            "uvalue={}",
            xlat::xval(c.abi, T::RtcBackupSwitchModes, u, Radix::Hex)
        ),
        _ => format!("uvalue={}", fmt::hex0(u)),
    }
}

/// `struct rtc_param` at the entry: the parameter, its value for a set,
/// the index, and the padding when it is not zero.
fn param(c: &mut Call<'_, '_>, v: u64, entry: bool, set: bool) -> String {
    let b = match c.fetch(v, PARAM_SIZE) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, 8);
    let mut parts = Vec::new();
    if entry {
        parts.push(format!(
            "param={}",
            xlat::xval(c.abi, T::RtcParams, f.u64(0), Radix::Hex)
        ));
    }
    if entry == set {
        parts.push(param_value(c, &f));
    }
    if entry {
        parts.push(format!("index={}", f.u32(16)));
    }
    let pad = f.u32(20);
    if pad != 0 {
        parts.push(format!("__pad={pad:#x}"));
    }
    format!("{{{}}}", parts.join(", "))
}

/// RTC_PARAM_GET at the exit: the value the kernel wrote (the address
/// when the call failed), after an entry that showed the structure.
fn param_got(c: &mut Call<'_, '_>, v: u64, before: String) -> String {
    if !before.starts_with('{') {
        return before;
    }
    let after = if c.failed() {
        fmt::ptr(v)
    } else {
        param(c, v, false, false)
    };
    format!("{before} => {after}")
}
