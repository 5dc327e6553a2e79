//! GPIO character-device ioctls (type 0xb4) as strace prints them: chip
//! and line information, line handle and event requests (v1), line
//! requests, configurations and values (v2). Requests that both read and
//! write their structure show what the caller passed at the entry and
//! what the kernel returned after ` => ` at a successful exit.
//!
//! Every structure has the same layout in both ABIs (the v2 ones use
//! `__aligned_u64`), so one set of offsets serves x86-64 and i386.

use vstrace_core::value::Base;
use vstrace_core::{StructBuilder, Value};

use super::ioctl::{cstring_v, read_v, Kind};
use super::ioctl_mtd::local_array;
use super::{Call, Fields};
use crate::fmt;
use crate::xlat::Table as T;

/// Most lines of one v1 handle request (`GPIOHANDLES_MAX`).
const HANDLES_MAX: usize = 64;
/// Most lines of one v2 request (`GPIO_V2_LINES_MAX`).
const LINES_MAX: usize = 64;
/// Most attributes of a v2 line or configuration
/// (`GPIO_V2_LINE_NUM_ATTRS_MAX`).
const ATTRS_MAX: usize = 10;

/// The decoder of GPIO request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::{InOutV, InV, OutV};
    Some(match name {
        "GPIO_GET_CHIPINFO_IOCTL" => OutV(chip_info),
        "GPIO_GET_LINEINFO_UNWATCH_IOCTL" => InV(|c, v| {
            read_v(c, v, 4, |_, f| {
                StructBuilder::new().dec("offset", f.u32(0)).done()
            })
        }),
        "GPIO_GET_LINEINFO_IOCTL" | "GPIO_GET_LINEINFO_WATCH_IOCTL" => InOutV(
            |c, v| {
                read_v(c, v, 72, |_, f| {
                    StructBuilder::new().dec("line_offset", f.u32(0)).done()
                })
            },
            line_info,
        ),
        "GPIO_GET_LINEHANDLE_IOCTL" => InOutV(handle_request, |c, v| fd_at(c, v, 360)),
        "GPIO_GET_LINEEVENT_IOCTL" => InOutV(event_request, |c, v| fd_at(c, v, 44)),
        "GPIOHANDLE_GET_LINE_VALUES_IOCTL" => OutV(handle_data),
        "GPIOHANDLE_SET_LINE_VALUES_IOCTL" => InV(handle_data),
        "GPIOHANDLE_SET_CONFIG_IOCTL" => InV(handle_config),
        "GPIO_V2_GET_LINEINFO_IOCTL" | "GPIO_V2_GET_LINEINFO_WATCH_IOCTL" => InOutV(
            |c, v| {
                read_v(c, v, 256, |_, f| {
                    StructBuilder::new().dec("offset", f.u32(64)).done()
                })
            },
            v2_line_info,
        ),
        "GPIO_V2_GET_LINE_IOCTL" => InOutV(v2_line_request, |c, v| fd_at(c, v, 588)),
        "GPIO_V2_LINE_SET_CONFIG_IOCTL" => {
            InV(|c, v| read_v(c, v, 272, |c, f| v2_line_config(c, f, 0)))
        }
        "GPIO_V2_LINE_GET_VALUES_IOCTL" => InOutV(
            |c, v| {
                read_v(c, v, 16, |_, f| {
                    StructBuilder::new().field("mask", hex(f.u64(8))).done()
                })
            },
            |c, v| {
                Some(read_v(c, v, 16, |_, f| {
                    StructBuilder::new().field("bits", hex(f.u64(0))).done()
                }))
            },
        ),
        "GPIO_V2_LINE_SET_VALUES_IOCTL" => InV(|c, v| {
            read_v(c, v, 16, |_, f| {
                StructBuilder::new()
                    .field("bits", hex(f.u64(0)))
                    .field("mask", hex(f.u64(8)))
                    .done()
            })
        }),
        _ => return None,
    })
}

/// A number in hex (`PRINT_FIELD_X`).
fn hex(v: u64) -> Value {
    Value::int(v, Base::Hex)
}

/// A flag field of table `t` (strace's `printflags64`).
fn flags(c: &Call<'_, '_>, t: T, v: u64) -> Value {
    fmt::xflags_v(c.abi, &[t], v, true, false)
}

/// A fixed `char[n]` field at `o`.
fn cstr(f: &Fields<'_>, o: usize, n: usize) -> Value {
    cstring_v(f.b.get(o..o + n).unwrap_or(&[]))
}

/// The first `count` (at most `cap`) `__u32` of the array at `o`
/// (strace's `PRINT_FIELD_ARRAY_UPTO`).
fn u32s(c: &Call<'_, '_>, f: &Fields<'_>, o: usize, count: u64, cap: usize) -> Value {
    let n = count.min(cap as u64) as usize;
    local_array(c, n, |i| Value::dec(f.u32(o + 4 * i)))
}

/// The first `count` (at most `cap`) `__u8` of the array at `o`.
fn u8s(c: &Call<'_, '_>, f: &Fields<'_>, o: usize, count: u64, cap: usize) -> Value {
    let n = count.min(cap as u64) as usize;
    local_array(c, n, |i| Value::dec(f.bytes(o + i, 1)))
}

/// A `__u32` padding array of `n` at `o`, in hex, shown only when some
/// element is not zero.
fn padding(b: &mut StructBuilder, c: &Call<'_, '_>, f: &Fields<'_>, o: usize, n: usize) {
    if (0..n).any(|i| f.u32(o + 4 * i) != 0) {
        b.field("padding", local_array(c, n, |i| hex(f.u32(o + 4 * i))));
    }
}

/// `{fd=N}`: the descriptor the kernel returned at offset `o`.
fn fd_at(c: &mut Call<'_, '_>, v: u64, o: u64) -> Option<Value> {
    Some(read_v(c, v.wrapping_add(o), 4, |_, f| {
        StructBuilder::new()
            .field(
                "fd",
                Value::Fd {
                    fd: f.i32(0),
                    path: None,
                },
            )
            .done()
    }))
}

/// `struct gpiochip_info`.
fn chip_info(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 68, |_, f| {
        StructBuilder::new()
            .field("name", cstr(f, 0, 32))
            .field("label", cstr(f, 32, 32))
            .dec("lines", f.u32(64))
            .done()
    })
}

/// `struct gpioline_info` as the kernel fills it.
fn line_info(c: &mut Call<'_, '_>, v: u64) -> Option<Value> {
    Some(read_v(c, v, 72, |c, f| {
        StructBuilder::new()
            .field("flags", flags(c, T::GpioLineFlags, f.u32(4)))
            .field("name", cstr(f, 8, 32))
            .field("consumer", cstr(f, 40, 32))
            .done()
    }))
}

/// `struct gpiohandle_request` as the caller fills it.
fn handle_request(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 364, |c, f| {
        let lines = f.u32(356);
        StructBuilder::new()
            .dec("lines", lines)
            .field("lineoffsets", u32s(c, f, 0, lines, HANDLES_MAX))
            .field("flags", flags(c, T::GpioHandleFlags, f.u32(256)))
            .field("default_values", u8s(c, f, 260, lines, HANDLES_MAX))
            .field("consumer_label", cstr(f, 324, 32))
            .done()
    })
}

/// `struct gpioevent_request` as the caller fills it.
fn event_request(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 48, |c, f| {
        StructBuilder::new()
            .dec("lineoffset", f.u32(0))
            .field("handleflags", flags(c, T::GpioHandleFlags, f.u32(4)))
            .field("eventflags", flags(c, T::GpioEventFlags, f.u32(8)))
            .field("consumer_label", cstr(f, 12, 32))
            .done()
    })
}

/// `struct gpiohandle_data`: 64 line values.
fn handle_data(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 64, |c, f| {
        StructBuilder::new()
            .field("values", u8s(c, f, 0, HANDLES_MAX as u64, HANDLES_MAX))
            .done()
    })
}

/// `struct gpiohandle_config`.
fn handle_config(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 84, |c, f| {
        StructBuilder::new()
            .field("flags", flags(c, T::GpioHandleFlags, f.u32(0)))
            .field(
                "default_values",
                u8s(c, f, 4, HANDLES_MAX as u64, HANDLES_MAX),
            )
            .done()
    })
}

/// The fields of `struct gpio_v2_line_attribute` at `o` as strace
/// prints them: by its id, or raw (`id`, `padding`, `data`) for an
/// unknown id or a padding in use.
fn v2_attr_fields(c: &Call<'_, '_>, f: &Fields<'_>, o: usize) -> (bool, StructBuilder) {
    let (id, pad, data) = (f.u32(o), f.u32(o + 4), f.u64(o + 8));
    let mut b = StructBuilder::new();
    let known = pad == 0 && (1..=3).contains(&id);
    if known {
        match T::GpioV2LineAttrIds.xlat().lookup(c.abi, id) {
            Some("GPIO_V2_LINE_ATTR_ID_FLAGS") => {
                b.field("flags", flags(c, T::GpioV2LineFlags, data));
            }
            Some("GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES") => {
                b.field("values", hex(data));
            }
            _ => {
                b.dec("debounce_period_us", f.u32(o + 8));
            }
        }
        return (true, b);
    }
    b.dec("id", id);
    if pad != 0 {
        b.field("padding", hex(pad));
    }
    b.field("data", hex(data));
    (false, b)
}

/// `struct gpio_v2_line_config` at `o`.
fn v2_line_config(c: &Call<'_, '_>, f: &Fields<'_>, o: usize) -> Value {
    let n = f.u32(o + 8);
    let mut b = StructBuilder::new();
    b.field("flags", flags(c, T::GpioV2LineFlags, f.u64(o)))
        .dec("num_attrs", n);
    padding(&mut b, c, f, o + 12, 5);
    if n != 0 {
        let count = (n as usize).min(ATTRS_MAX);
        let attrs = local_array(c, count, |i| {
            let at = o + 32 + 24 * i;
            let (known, mut a) = v2_attr_fields(c, f, at);
            let mut e = StructBuilder::new();
            if known {
                // A known attribute's one field stands in the element.
                if let Value::Struct { fields, .. } = a.done() {
                    for (k, x) in fields {
                        e.field(k, x);
                    }
                }
            } else {
                e.field("attr", a.done());
            }
            e.field("mask", hex(f.u64(at + 16))).done()
        });
        b.field("attrs", attrs);
    }
    b.done()
}

/// `struct gpio_v2_line_info` as the kernel fills it.
fn v2_line_info(c: &mut Call<'_, '_>, v: u64) -> Option<Value> {
    Some(read_v(c, v, 256, |c, f| {
        let n = f.u32(68);
        let mut b = StructBuilder::new();
        b.field("name", cstr(f, 0, 32))
            .field("consumer", cstr(f, 32, 32))
            .field("flags", flags(c, T::GpioV2LineFlags, f.u64(72)))
            .dec("num_attrs", n);
        if n != 0 {
            let count = (n as usize).min(ATTRS_MAX);
            let attrs = local_array(c, count, |i| v2_attr_fields(c, f, 80 + 16 * i).1.done());
            b.field("attrs", attrs);
        }
        padding(&mut b, c, f, 240, 4);
        b.done()
    }))
}

/// `struct gpio_v2_line_request` as the caller fills it.
fn v2_line_request(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 592, |c, f| {
        let n = f.u32(560);
        let mut b = StructBuilder::new();
        b.dec("num_lines", n)
            .field("offsets", u32s(c, f, 0, n, LINES_MAX))
            .field("consumer", cstr(f, 256, 32))
            .field("config", v2_line_config(c, f, 288));
        let events = f.u32(564);
        if events != 0 {
            b.dec("event_buffer_size", events);
        }
        padding(&mut b, c, f, 568, 5);
        b.done()
    })
}

#[cfg(test)]
mod tests {
    use vstrace_core::testmem::SparseVirt;

    use super::super::ioctl::tests::{line, EBADF};

    #[test]
    fn chip_and_line_info() {
        let mut m = SparseVirt::new();
        let mut b = b"chip name".to_vec();
        b.resize(32, 0);
        b.extend_from_slice(b"chip label");
        b.resize(64, 0);
        b.extend_from_slice(&0xcau32.to_le_bytes());
        m.map(0x1000, &b);
        assert_eq!(
            line(0x8044b401, 0x1000, 0, &mut m),
            "ioctl(-1, GPIO_GET_CHIPINFO_IOCTL, {name=\"chip name\", label=\"chip label\", \
             lines=202}) = 0"
        );
        assert_eq!(
            line(0x8044b401, 0x1000, EBADF, &mut m),
            "ioctl(-1, GPIO_GET_CHIPINFO_IOCTL, 0x1000) = -1 EBADF (Bad file descriptor)"
        );
        let mut l = Vec::new();
        l.extend_from_slice(&0x32u32.to_le_bytes());
        l.extend_from_slice(&0x800cu32.to_le_bytes());
        let mut name = b"line name".to_vec();
        name.resize(32, 0);
        l.extend_from_slice(&name);
        let mut cons = b"line consumer".to_vec();
        cons.resize(32, 0);
        l.extend_from_slice(&cons);
        m.map(0x2000, &l);
        assert_eq!(
            line(0xc048b402, 0x2000, 0, &mut m),
            "ioctl(-1, GPIO_GET_LINEINFO_IOCTL, {line_offset=50} => \
             {flags=GPIOLINE_FLAG_ACTIVE_LOW|GPIOLINE_FLAG_OPEN_DRAIN|0x8000, \
             name=\"line name\", consumer=\"line consumer\"}) = 0"
        );
        assert_eq!(
            line(0xc048b402, 0x2000, EBADF, &mut m),
            "ioctl(-1, GPIO_GET_LINEINFO_IOCTL, {line_offset=50}) = -1 EBADF (Bad file descriptor)"
        );
        // Hostile: the structure runs off its page.
        m.map(0x3ffc, &[0; 4]);
        assert_eq!(
            line(0xc048b402, 0x3ffc, 0, &mut m),
            "ioctl(-1, GPIO_GET_LINEINFO_IOCTL, 0x3ffc) = 0"
        );
    }

    #[test]
    fn v2_line_request_and_attributes() {
        let mut m = SparseVirt::new();
        let mut b = vec![0u8; 592];
        b[0..4].copy_from_slice(&7u32.to_le_bytes());
        b[256..259].copy_from_slice(b"foo");
        // config: flags, num_attrs 2, attrs: debounce, unknown id 9.
        b[288..296].copy_from_slice(&0x102u64.to_le_bytes());
        b[296..300].copy_from_slice(&2u32.to_le_bytes());
        b[320..324].copy_from_slice(&3u32.to_le_bytes());
        b[328..332].copy_from_slice(&10u32.to_le_bytes());
        b[336..344].copy_from_slice(&1u64.to_le_bytes());
        b[344..348].copy_from_slice(&9u32.to_le_bytes());
        b[352..360].copy_from_slice(&0xabu64.to_le_bytes());
        b[360..368].copy_from_slice(&2u64.to_le_bytes());
        b[560..564].copy_from_slice(&1u32.to_le_bytes());
        b[588..592].copy_from_slice(&5i32.to_le_bytes());
        m.map(0x1000, &b);
        assert_eq!(
            line(0xc250b407, 0x1000, 0, &mut m),
            "ioctl(-1, GPIO_V2_GET_LINE_IOCTL, {num_lines=1, offsets=[7], consumer=\"foo\", \
             config={flags=GPIO_V2_LINE_FLAG_ACTIVE_LOW|GPIO_V2_LINE_FLAG_BIAS_PULL_UP, \
             num_attrs=2, attrs=[{debounce_period_us=10, mask=0x1}, \
             {attr={id=9, data=0xab}, mask=0x2}]}} => {fd=5}) = 0"
        );
    }
}
