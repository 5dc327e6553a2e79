//! LIRC (infrared remote control) ioctls (type 'i') as strace prints
//! them: every request passes one `__u32` through a pointer, the
//! features as flags, the modes by name, the transmitter mask in hex
//! and the rest in decimal. Getters show it at a successful exit,
//! setters at the entry.

use vstrace_core::value::Base;
use vstrace_core::Value;

use super::ioctl::{read_v, Kind};
use crate::fmt;
use crate::xlat::{Radix, Table as T};

/// The decoder of LIRC request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::{InV, OutV};
    Some(match name {
        "LIRC_GET_FEATURES" => OutV(|c, v| {
            read_v(c, v, 4, |c, f| {
                Value::boxed(fmt::xflags_v(
                    c.abi,
                    &[T::LircFeatures],
                    f.u32(0),
                    true,
                    false,
                ))
            })
        }),
        "LIRC_GET_SEND_MODE" | "LIRC_GET_REC_MODE" => OutV(mode),
        "LIRC_SET_SEND_MODE" | "LIRC_SET_REC_MODE" => InV(mode),
        "LIRC_SET_TRANSMITTER_MASK" => InV(|c, v| {
            read_v(c, v, 4, |_, f| {
                Value::boxed(Value::int(f.u32(0), Base::Hex))
            })
        }),
        "LIRC_GET_REC_RESOLUTION"
        | "LIRC_GET_MIN_TIMEOUT"
        | "LIRC_GET_MAX_TIMEOUT"
        | "LIRC_GET_LENGTH"
        | "LIRC_GET_REC_TIMEOUT" => OutV(uint),
        "LIRC_SET_SEND_CARRIER"
        | "LIRC_SET_REC_CARRIER"
        | "LIRC_SET_SEND_DUTY_CYCLE"
        | "LIRC_SET_REC_TIMEOUT"
        | "LIRC_SET_REC_TIMEOUT_REPORTS"
        | "LIRC_SET_MEASURE_CARRIER_MODE"
        | "LIRC_SET_REC_CARRIER_RANGE"
        | "LIRC_SET_WIDEBAND_RECEIVER" => InV(uint),
        _ => return None,
    })
}

/// `[N]`: an unsigned int through the pointer.
fn uint(c: &mut super::Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 4, |_, f| Value::boxed(Value::dec(f.u32(0))))
}

/// `[LIRC_MODE_...]`: a mode through the pointer.
fn mode(c: &mut super::Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 4, |c, f| {
        Value::boxed(fmt::xval_v(c.abi, T::LircModes, f.u32(0), Radix::Hex))
    })
}
