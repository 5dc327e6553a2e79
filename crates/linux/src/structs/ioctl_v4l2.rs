//! Video4Linux2 ioctls (type 'V') as strace prints them: device
//! capabilities, formats and their descriptions, buffer requests and
//! buffers, stream parameters, standards, inputs, tuners, controls (a
//! control id by name, or as its class plus an offset), crop areas and
//! frame sizes and intervals. Pixel formats print as `v4l2_fourcc(...)`
//! with the format's name as a comment.
//!
//! Structures that hold a `long` or a pointer (`v4l2_format`'s window,
//! `v4l2_buffer`, `v4l2_standard`, `v4l2_input`, `v4l2_framebuffer`,
//! `v4l2_ext_controls`, `v4l2_create_buffers`) have their i386 layout
//! for 32-bit callers. The format union, buffers and stream parameters
//! are in [`super::ioctl_v4l2_fmt`].

use vstrace_core::value::{Base, Name};
use vstrace_core::{ConstStyle, StructBuilder, Value};

use super::ioctl::{cstring_v, read_v, Kind};
use super::ioctl_mtd::local_array;
use super::ioctl_v4l2_fmt as fmts;
use super::{Call, Fields};
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{style, Radix, Table as T};

/// The decoder of V4L2 request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::{EntryExitV, InMoreV, InOutV, InV, OutV};
    Some(match name {
        "VIDIOC_QUERYCAP" => OutV(capability),
        "VIDIOC_ENUM_FMT" => InMoreV(fmtdesc_in, fmtdesc_out),
        "VIDIOC_G_FMT" => InMoreV(fmts::format_type, fmts::format_get_out),
        "VIDIOC_S_FMT" | "VIDIOC_TRY_FMT" => InOutV(fmts::format_in, fmts::format_set_out),
        "VIDIOC_REQBUFS" => EntryExitV(reqbufs, reqbufs_out),
        "VIDIOC_QUERYBUF" | "VIDIOC_QBUF" => InMoreV(
            |c, v| fmts::buffer_in(c, v, true),
            |c, v| fmts::buffer_out(c, v, false),
        ),
        "VIDIOC_DQBUF" => InMoreV(
            |c, v| fmts::buffer_in(c, v, false),
            |c, v| fmts::buffer_out(c, v, true),
        ),
        "VIDIOC_G_FBUF" => OutV(framebuffer),
        "VIDIOC_S_FBUF" => InV(framebuffer),
        "VIDIOC_STREAMON" | "VIDIOC_STREAMOFF" => InV(buf_type_ptr),
        "VIDIOC_G_PARM" => InMoreV(|c, v| fmts::parm_in(c, v, true), fmts::parm_get_out),
        "VIDIOC_S_PARM" => InOutV(|c, v| fmts::parm_in(c, v, false), fmts::parm_set_out),
        "VIDIOC_G_STD" => OutV(std_id),
        "VIDIOC_S_STD" => InV(std_id),
        "VIDIOC_ENUMSTD" => InMoreV(|c, v| index(c, v, standard_size(c.abi)), standard_out),
        "VIDIOC_ENUMINPUT" => InMoreV(|c, v| index(c, v, input_size(c.abi)), input_out),
        "VIDIOC_G_CTRL" => InMoreV(|c, v| control(c, v, false), control_get_out),
        "VIDIOC_S_CTRL" => EntryExitV(|c, v| control(c, v, true), control_set_out),
        "VIDIOC_G_TUNER" => InMoreV(|c, v| index(c, v, 84), |c, v| tuner_out(c, v, true)),
        "VIDIOC_S_TUNER" => InOutV(tuner_in, |c, v| {
            tuner_after(c, v).map(|f| Value::Struct {
                fields: f,
                more: false,
            })
        }),
        "VIDIOC_QUERYCTRL" => EntryExitV(
            |c, v| queryctrl_in(c, v, 68),
            |c, v| queryctrl_out(c, v, false),
        ),
        "VIDIOC_QUERY_EXT_CTRL" => EntryExitV(
            |c, v| queryctrl_in(c, v, 232),
            |c, v| queryctrl_out(c, v, true),
        ),
        "VIDIOC_G_INPUT" => OutV(uint_ptr),
        "VIDIOC_S_INPUT" => InV(uint_ptr),
        "VIDIOC_CROPCAP" => InMoreV(|c, v| type_only(c, v, 44), cropcap_out),
        "VIDIOC_G_CROP" => InMoreV(|c, v| type_only(c, v, 20), crop_out),
        "VIDIOC_S_CROP" => InV(crop_in),
        "VIDIOC_S_EXT_CTRLS" | "VIDIOC_TRY_EXT_CTRLS" => {
            EntryExitV(|c, v| ext_controls_in(c, v, false), ext_controls_set_out)
        }
        "VIDIOC_G_EXT_CTRLS" => {
            EntryExitV(|c, v| ext_controls_in(c, v, true), ext_controls_get_out)
        }
        "VIDIOC_ENUM_FRAMESIZES" => InMoreV(frmsize_in, frmsize_out),
        "VIDIOC_ENUM_FRAMEINTERVALS" => InMoreV(frmival_in, frmival_out),
        "VIDIOC_CREATE_BUFS" => InV(fmts::create_buffers),
        _ => return None,
    })
}

/// What strace appends to the return of a successful
/// `VIDIOC_CREATE_BUFS`: `{index=N, count=N}`.
pub(super) fn return_detail(c: &mut Call<'_, '_>) -> Option<String> {
    let code = c.arg(1) as u32;
    if !crate::xlat::ioctl_names(c.abi, code).contains(&"VIDIOC_CREATE_BUFS") {
        return None;
    }
    let size = fmts::create_buffers_size(c.abi);
    let b = c.fetch(c.arg(2), size).ok()?;
    let f = Fields::new(&b, 4);
    Some(format!("{{index={}, count={}}}", f.u32(0), f.u32(4)))
}

/// A number in hex (`PRINT_FIELD_X`).
pub(super) fn hex(v: u64) -> Value {
    Value::int(v, Base::Hex)
}

/// A table value (`PRINT_FIELD_XVAL`).
pub(super) fn xval(c: &Call<'_, '_>, t: T, v: u64) -> Value {
    fmt::xval_v(c.abi, t, v, Radix::Hex)
}

/// A flag set (`PRINT_FIELD_FLAGS`).
pub(super) fn flags(c: &Call<'_, '_>, t: T, v: u64) -> Value {
    fmt::xflags_v(c.abi, &[t], v, true, false)
}

/// `numerator/denominator` (strace's `PRINT_FIELD_FRACT`).
pub(super) fn fract(f: &Fields<'_>, o: usize) -> Value {
    Value::Opaque(format!("{}/{}", f.u32(o), f.u32(o + 4)))
}

/// `struct v4l2_rect` at `o`.
pub(super) fn rect(f: &Fields<'_>, o: usize) -> Value {
    StructBuilder::new()
        .dec("left", f.i32(o))
        .dec("top", f.i32(o + 4))
        .dec("width", f.u32(o + 8))
        .dec("height", f.u32(o + 12))
        .done()
}

/// A pixel format: `v4l2_fourcc('Y', 'U', 'Y', 'V')` with the format's
/// name from `table` as a comment; the number in the raw style.
pub(super) fn fourcc(c: &Call<'_, '_>, v: u64, table: T) -> Value {
    if style() == ConstStyle::Raw {
        return hex(v);
    }
    let chars: Vec<String> = (0..4).map(|i| quoted_char((v >> (8 * i)) as u8)).collect();
    let text = Value::Opaque(format!("v4l2_fourcc({})", chars.join(", ")));
    match table.xlat().lookup(c.abi, v) {
        Some(name) => Value::Commented {
            value: Box::new(text),
            comment: name.to_string(),
        },
        None => text,
    }
}

/// One byte as a C character literal: printable as itself (`'` and `\`
/// escaped), anything else as `'\xNN'`.
fn quoted_char(b: u8) -> String {
    match b {
        b'\'' | b'\\' => format!("'\\{}'", b as char),
        b' '..=b'~' => format!("'{}'", b as char),
        _ => format!("'\\x{b:02x}'"),
    }
}

/// A control id: its name, else its class and the offset in it
/// (`V4L2_CTRL_CLASS_USER+0x10`), else the number with
/// `/* V4L2_CID_??? */`. With `next`, the query flags it carries
/// (`V4L2_CTRL_FLAG_NEXT_CTRL|...`) come first.
pub(super) fn cid(c: &Call<'_, '_>, id: u64, next: bool) -> Value {
    if style() == ConstStyle::Raw {
        return hex(id);
    }
    let mut id = id;
    let mut prefix = String::new();
    if next {
        let mask = T::V4l2ControlQueryFlags
            .xlat()
            .values(c.abi)
            .iter()
            .fold(0, |m, (v, _)| m | v);
        if id & mask != 0 {
            prefix = flags(c, T::V4l2ControlQueryFlags, id & mask).render() + "|";
            id &= !mask;
        }
    }
    let name: Option<Name> = match T::V4l2ControlIds.xlat().lookup(c.abi, id) {
        Some(n) => Some(Name::Borrowed(n)),
        None => T::V4l2ControlClasses
            .xlat()
            .values(c.abi)
            .iter()
            .filter(|(v, _)| *v <= id)
            .max_by_key(|(v, _)| *v)
            .filter(|(v, _)| id - v < 0x10000)
            .map(|(v, n)| Name::Owned(format!("{n}+{}", fmt::hex0(id - v)))),
    };
    let v = Value::Const(vstrace_core::value::Const {
        raw: i128::from(id),
        base: Base::Hex,
        comment: name.is_none().then_some(Name::Borrowed("V4L2_CID_???")),
        name,
    });
    if prefix.is_empty() {
        v
    } else {
        Value::Opaque(prefix + &v.render())
    }
}

/// A kernel version word as `KERNEL_VERSION(major, minor, patch)` (a
/// driver's, bpf's `kern_version`; the number in the raw style).
pub(super) fn kernel_version(v: u64) -> Value {
    Value::Const(vstrace_core::value::Const {
        raw: i128::from(v),
        base: Base::Hex,
        name: Some(Name::Owned(format!(
            "KERNEL_VERSION({}, {}, {})",
            v >> 16,
            (v >> 8) & 0xff,
            v & 0xff
        ))),
        comment: None,
    })
}

/// `struct v4l2_capability`.
fn capability(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 104, |c, f| {
        let b = &f.b;
        let mut s = StructBuilder::new();
        s.field("driver", cstring_v(&b[0..16]))
            .field("card", cstring_v(&b[16..48]))
            .field("bus_info", cstring_v(&b[48..80]))
            .field("version", kernel_version(f.u32(80)))
            .field(
                "capabilities",
                flags(c, T::V4l2DeviceCapabilitiesFlags, f.u32(84)),
            );
        if f.u32(88) != 0 {
            s.field(
                "device_caps",
                flags(c, T::V4l2DeviceCapabilitiesFlags, f.u32(88)),
            );
        }
        s.done()
    })
}

/// The index of a structure of `size` bytes that starts with it (strace
/// reads it whole).
fn index(c: &mut Call<'_, '_>, v: u64, size: usize) -> Value {
    read_v(c, v, size, |_, f| {
        StructBuilder::new().dec("index", f.u32(0)).done()
    })
}

/// Size of `struct v4l2_standard` (its `u64 id` aligns it to 8 bytes on
/// x86_64 only).
fn standard_size(abi: LinuxAbi) -> usize {
    match abi {
        LinuxAbi::X86_64 => 72,
        LinuxAbi::I386 => 64,
    }
}

/// Size of `struct v4l2_input`.
fn input_size(abi: LinuxAbi) -> usize {
    match abi {
        LinuxAbi::X86_64 => 80,
        LinuxAbi::I386 => 76,
    }
}

/// A structure of `size` bytes that starts with a buffer type.
fn type_only(c: &mut Call<'_, '_>, v: u64, size: usize) -> Value {
    read_v(c, v, size, |c, f| {
        StructBuilder::new()
            .field("type", xval(c, T::V4l2BufTypes, f.u32(0)))
            .done()
    })
}

/// At a successful exit, the structure of `size` bytes the kernel
/// filled, for `more` to give the fields strace adds.
pub(super) fn exit_fields(
    c: &mut Call<'_, '_>,
    v: u64,
    size: usize,
    more: impl FnOnce(&Call<'_, '_>, &Fields<'_>) -> Vec<(Name, Value)>,
) -> Vec<(Name, Value)> {
    if c.failed() || c.ret.is_none() {
        return Vec::new();
    }
    match c.fetch(v, size) {
        Ok(b) => {
            let w = c.long_size();
            more(c, &Fields::new(&b, w))
        }
        Err(_) => Vec::new(),
    }
}

/// `struct v4l2_fmtdesc` at the entry: which one and of which type.
fn fmtdesc_in(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 64, |c, f| {
        StructBuilder::new()
            .dec("index", f.u32(0))
            .field("type", xval(c, T::V4l2BufTypes, f.u32(4)))
            .done()
    })
}

/// `struct v4l2_fmtdesc` at the exit: the description.
fn fmtdesc_out(c: &mut Call<'_, '_>, v: u64) -> Vec<(Name, Value)> {
    exit_fields(c, v, 64, |c, f| {
        vec![
            (
                "flags".into(),
                flags(c, T::V4l2FormatDescriptionFlags, f.u32(8)),
            ),
            ("description".into(), cstring_v(&f.b[12..44])),
            ("pixelformat".into(), fourcc(c, f.u32(44), T::V4l2PixFmts)),
        ]
    })
}

/// `struct v4l2_requestbuffers` at the entry.
fn reqbufs(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 20, |c, f| {
        StructBuilder::new()
            .field("type", xval(c, T::V4l2BufTypes, f.u32(4)))
            .field("memory", xval(c, T::V4l2Memories, f.u32(8)))
            .dec("count", f.u32(0))
            .done()
    })
}

/// `VIDIOC_REQBUFS` at the exit: the count granted after the one asked
/// for (`count=4 => 2`).
fn reqbufs_out(c: &mut Call<'_, '_>, v: u64) -> Value {
    let before = reqbufs(c, v);
    let after = exit_fields(c, v, 20, |_, f| vec![("".into(), Value::dec(f.u32(0)))]);
    changed_last(before, after)
}

/// `before` with its last field shown as changed to the value of
/// `after` (strace's `count=4 => 2`), when there is one.
fn changed_last(before: Value, after: Vec<(Name, Value)>) -> Value {
    match (before, after.into_iter().next()) {
        (Value::Struct { mut fields, more }, Some((_, a))) => {
            if let Some((_, last)) = fields.last_mut() {
                *last = Value::Changed {
                    before: Box::new(last.clone()),
                    after: Box::new(a),
                };
            }
            Value::Struct { fields, more }
        }
        (b, _) => b,
    }
}

/// `struct v4l2_framebuffer`: the capabilities, flags and base address.
fn framebuffer(c: &mut Call<'_, '_>, v: u64) -> Value {
    let size = match c.abi {
        LinuxAbi::X86_64 => 48,
        LinuxAbi::I386 => 44,
    };
    read_v(c, v, size, |_, f| {
        StructBuilder::new()
            .field("capability", hex(f.u32(0)))
            .field("flags", hex(f.u32(4)))
            .field("base", Value::ptr(f.ulong(8)))
            .done()
    })
}

/// A buffer type through a pointer: `[V4L2_BUF_TYPE_VIDEO_CAPTURE]`.
fn buf_type_ptr(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 4, |c, f| {
        Value::boxed(xval(c, T::V4l2BufTypes, f.u32(0)))
    })
}

/// A video standard set through a pointer, in hex.
fn std_id(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 8, |_, f| Value::boxed(hex(f.u64(0))))
}

/// An unsigned int through a pointer.
fn uint_ptr(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 4, |_, f| Value::boxed(Value::dec(f.u32(0))))
}

/// `struct v4l2_standard` at the exit (its `u64 id` aligns the rest to
/// 8 bytes on x86_64 only).
fn standard_out(c: &mut Call<'_, '_>, v: u64) -> Vec<(Name, Value)> {
    let size = standard_size(c.abi);
    // After `u32 index` and `u64 id` (at 8 on x86_64, at 4 on i386).
    let name = match c.abi {
        LinuxAbi::X86_64 => 16,
        LinuxAbi::I386 => 12,
    };
    exit_fields(c, v, size, |_, f| {
        vec![
            ("name".into(), cstring_v(&f.b[name..name + 24])),
            ("frameperiod".into(), fract(f, name + 24)),
            ("framelines".into(), Value::dec(f.u32(name + 32))),
        ]
    })
}

/// `struct v4l2_input` at the exit.
fn input_out(c: &mut Call<'_, '_>, v: u64) -> Vec<(Name, Value)> {
    exit_fields(c, v, input_size(c.abi), |c, f| {
        vec![
            ("name".into(), cstring_v(&f.b[4..36])),
            ("type".into(), xval(c, T::V4l2InputTypes, f.u32(36))),
        ]
    })
}

/// `struct v4l2_control` at the entry (`value` only when it is set).
fn control(c: &mut Call<'_, '_>, v: u64, set: bool) -> Value {
    read_v(c, v, 8, |c, f| {
        let mut s = StructBuilder::new();
        s.field("id", cid(c, f.u32(0), false));
        if set {
            s.dec("value", f.i32(4));
        }
        s.done()
    })
}

/// `VIDIOC_G_CTRL` at the exit: the value.
fn control_get_out(c: &mut Call<'_, '_>, v: u64) -> Vec<(Name, Value)> {
    exit_fields(c, v, 8, |_, f| vec![("value".into(), Value::dec(f.i32(4)))])
}

/// `VIDIOC_S_CTRL` at the exit: the value the driver kept.
fn control_set_out(c: &mut Call<'_, '_>, v: u64) -> Value {
    let before = control(c, v, true);
    let after = exit_fields(c, v, 8, |_, f| vec![("".into(), Value::dec(f.i32(4)))]);
    changed_last(before, after)
}

/// `struct v4l2_tuner` (84 bytes): all but its index.
fn tuner_fields(c: &Call<'_, '_>, f: &Fields<'_>) -> Vec<(Name, Value)> {
    vec![
        ("name".into(), cstring_v(&f.b[4..36])),
        ("type".into(), xval(c, T::V4l2TunerTypes, f.u32(36))),
        (
            "capability".into(),
            flags(c, T::V4l2TunerCapabilities, f.u32(40)),
        ),
        ("rangelow".into(), Value::dec(f.u32(44))),
        ("rangehigh".into(), Value::dec(f.u32(48))),
        (
            "rxsubchans".into(),
            flags(c, T::V4l2TunerRxsubchanses, f.u32(52)),
        ),
        ("audmode".into(), xval(c, T::V4l2TunerAudmodes, f.u32(56))),
        ("signal".into(), Value::dec(f.i32(60))),
        ("afc".into(), Value::dec(f.i32(64))),
    ]
}

/// `VIDIOC_S_TUNER` at the entry: the whole tuner.
fn tuner_in(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 84, |c, f| {
        let mut s = StructBuilder::new();
        s.dec("index", f.u32(0));
        for (n, x) in tuner_fields(c, f) {
            s.field(n, x);
        }
        s.done()
    })
}

/// The tuner the kernel wrote back, at a successful exit.
fn tuner_out(c: &mut Call<'_, '_>, v: u64, _get: bool) -> Vec<(Name, Value)> {
    exit_fields(c, v, 84, tuner_fields)
}

/// [`tuner_out`] for ` => {...}`: `None` when nothing was read.
fn tuner_after(c: &mut Call<'_, '_>, v: u64) -> Option<Vec<(Name, Value)>> {
    let f = tuner_out(c, v, false);
    (!f.is_empty()).then_some(f)
}

/// `struct v4l2_queryctrl` / `v4l2_query_ext_ctrl` at the entry: the id
/// asked about, with its query flags.
fn queryctrl_in(c: &mut Call<'_, '_>, v: u64, size: usize) -> Value {
    read_v(c, v, size, |c, f| {
        StructBuilder::new()
            .field("id", cid(c, f.u32(0), true))
            .done()
    })
}

/// The control queries at the exit: the control found (its id shown
/// after the one asked about when the kernel changed it), its type and
/// name, and with `-v` its range, flags and (extended) dimensions.
fn queryctrl_out(c: &mut Call<'_, '_>, v: u64, ext: bool) -> Value {
    let size = if ext { 232 } else { 68 };
    let before = queryctrl_in(c, v, size);
    // What the entry showed of the id (the kernel may have replaced it).
    let asked = c
        .entry()
        .and_then(|t| t.strip_prefix("{id=")?.strip_suffix('}'))
        .map(str::to_string);
    if c.failed() {
        return match (c.entry(), &before) {
            (Some(t), b) if t != b.render() => Value::Opaque(t.to_string()),
            _ => before,
        };
    }
    let Ok(b) = c.fetch(v, size) else {
        return before;
    };
    let f = Fields::new(&b, 8);
    let now = cid(c, f.u32(0), true);
    let id = match asked {
        Some(a) if a != now.render() => Value::Changed {
            before: Box::new(Value::Opaque(a)),
            after: Box::new(cid(c, f.u32(0), false)),
        },
        _ => now,
    };
    let mut s = StructBuilder::new();
    s.field("id", id)
        .field("type", xval(c, T::V4l2ControlTypes, f.u32(4)))
        .field("name", cstring_v(&b[8..40]));
    if !c.opts.verbose {
        return s.abbreviated();
    }
    if ext {
        s.dec("minimum", f.i64(40))
            .dec("maximum", f.i64(48))
            .dec("step", f.u64(56))
            .dec("default_value", f.i64(64))
            .field("flags", flags(c, T::V4l2ControlFlags, f.u32(72)))
            .dec("elem_size", f.u32(76))
            .dec("elems", f.u32(80))
            .dec("nr_of_dims", f.u32(84));
        let dims = (f.u32(84) as usize).min(4);
        s.field(
            "dims",
            local_array(c, dims, |i| Value::dec(f.u32(88 + 4 * i))),
        );
        reserved(c, &mut s, &f, 104, 32);
    } else {
        s.dec("minimum", f.i32(40))
            .dec("maximum", f.i32(44))
            .dec("step", f.i32(48))
            .dec("default_value", f.i32(52))
            .field("flags", flags(c, T::V4l2ControlFlags, f.u32(56)));
        reserved(c, &mut s, &f, 60, 2);
    }
    s.done()
}

/// `reserved`: `n` words at `o`, in hex, when some is not zero.
fn reserved(c: &Call<'_, '_>, s: &mut StructBuilder, f: &Fields<'_>, o: usize, n: usize) {
    if (0..n).any(|i| f.u32(o + 4 * i) != 0) {
        s.field("reserved", local_array(c, n, |i| hex(f.u32(o + 4 * i))));
    }
}

/// `struct v4l2_cropcap` at the exit: the bounds, the default area and
/// the pixel aspect.
fn cropcap_out(c: &mut Call<'_, '_>, v: u64) -> Vec<(Name, Value)> {
    exit_fields(c, v, 44, |_, f| {
        vec![
            ("bounds".into(), rect(f, 4)),
            ("defrect".into(), rect(f, 20)),
            ("pixelaspect".into(), fract(f, 36)),
        ]
    })
}

/// `VIDIOC_G_CROP` at the exit: the area.
fn crop_out(c: &mut Call<'_, '_>, v: u64) -> Vec<(Name, Value)> {
    exit_fields(c, v, 20, |_, f| vec![("c".into(), rect(f, 4))])
}

/// `VIDIOC_S_CROP`: the type and the area.
fn crop_in(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 20, |c, f| {
        StructBuilder::new()
            .field("type", xval(c, T::V4l2BufTypes, f.u32(0)))
            .field("c", rect(f, 4))
            .done()
    })
}

/// Size of `struct v4l2_ext_controls` and the offset of its `controls`
/// pointer.
fn ext_layout(abi: LinuxAbi) -> (usize, usize) {
    match abi {
        LinuxAbi::X86_64 => (32, 24),
        LinuxAbi::I386 => (24, 20),
    }
}

/// The controls array of a `struct v4l2_ext_controls` (`count`
/// packed `struct v4l2_ext_control` of 20 bytes at `va`).
fn ext_control_array(c: &mut Call<'_, '_>, va: u64, count: u64) -> Value {
    let w = c.long_size();
    c.array_v(va, count, 20, |c, b| {
        let f = Fields::new(b, w);
        let size = f.u32(4);
        let mut s = StructBuilder::new();
        s.field("id", xval(c, T::V4l2ControlIds, f.u32(0)))
            .dec("size", size);
        if size > 0 {
            let at = f.ulong(12);
            s.field("string", Value::Opaque(c.quoted(at, size)));
        } else {
            s.dec("value", f.i32(12)).dec("value64", f.i64(12));
        }
        s.done()
    })
}

/// Whether an array value ended early (unreadable: its address, or
/// `... /* address */` after the elements read).
fn array_failed(v: &Value) -> bool {
    match v {
        Value::Array { items, .. } => items
            .last()
            .is_some_and(|l| matches!(l, Value::Opaque(t) if t.starts_with("... /*"))),
        _ => true,
    }
}

/// `struct v4l2_ext_controls` at the entry: the class and the count,
/// and for the set requests the controls.
fn ext_controls_in(c: &mut Call<'_, '_>, v: u64, get: bool) -> Value {
    let (size, at) = ext_layout(c.abi);
    let b = match c.fetch_v(v, size) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, c.long_size());
    let count = f.u32(4);
    let mut s = StructBuilder::new();
    s.field("ctrl_class", xval(c, T::V4l2ControlClasses, f.u32(0)))
        .dec("count", count);
    if count != 0 && !get {
        s.field("controls", ext_control_array(c, f.ulong(at), count));
    }
    s.done()
}

/// The set requests at the exit, failed or not, when the entry could
/// show the controls: the controls again and, after an error, the index
/// of the failing one (`{...} => {controls=[...], error_idx=1}`).
fn ext_controls_set_out(c: &mut Call<'_, '_>, v: u64) -> Value {
    let before = ext_controls_in(c, v, false);
    let done = match &before {
        Value::Struct { fields, .. } => match fields.get(2) {
            Some((_, arr)) => array_failed(arr),
            None => true,
        },
        _ => true,
    };
    if done {
        return before;
    }
    match ext_controls_exit(c, v) {
        Some(fields) => Value::Changed {
            before: Box::new(before),
            after: Box::new(Value::Struct {
                fields,
                more: false,
            }),
        },
        None => before,
    }
}

/// `VIDIOC_G_EXT_CTRLS` at the exit, failed or not: the controls and,
/// after an error, the index of the failing one.
fn ext_controls_get_out(c: &mut Call<'_, '_>, v: u64) -> Value {
    match ext_controls_in(c, v, true) {
        Value::Struct { mut fields, more } if fields.len() == 2 => {
            let count = match &fields[1].1 {
                Value::Int { value, .. } => *value,
                _ => 0,
            };
            if count != 0 {
                fields.extend(ext_controls_exit(c, v).unwrap_or_default());
            }
            Value::Struct { fields, more }
        }
        other => other,
    }
}

/// The fields strace shows of `struct v4l2_ext_controls` at the exit.
fn ext_controls_exit(c: &mut Call<'_, '_>, v: u64) -> Option<Vec<(Name, Value)>> {
    let (size, at) = ext_layout(c.abi);
    let b = c.fetch(v, size).ok()?;
    let f = Fields::new(&b, c.long_size());
    let mut out = vec![(
        Name::Borrowed("controls"),
        ext_control_array(c, f.ulong(at), f.u32(4)),
    )];
    if c.failed() {
        out.push(("error_idx".into(), Value::dec(f.u32(8))));
    }
    Some(out)
}

/// `struct v4l2_frmsizeenum` at the entry.
fn frmsize_in(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 44, |c, f| {
        StructBuilder::new()
            .dec("index", f.u32(0))
            .field("pixel_format", fourcc(c, f.u32(4), T::V4l2PixFmts))
            .done()
    })
}

/// `struct v4l2_frmsizeenum` at the exit: the type and its sizes.
fn frmsize_out(c: &mut Call<'_, '_>, v: u64) -> Vec<(Name, Value)> {
    exit_fields(c, v, 44, |c, f| {
        let ty = f.u32(8);
        let mut out = vec![("type".into(), xval(c, T::V4l2FramesizeTypes, ty))];
        match T::V4l2FramesizeTypes.xlat().lookup(c.abi, ty) {
            Some("V4L2_FRMSIZE_TYPE_DISCRETE") => out.push((
                "discrete".into(),
                StructBuilder::new()
                    .dec("width", f.u32(12))
                    .dec("height", f.u32(16))
                    .done(),
            )),
            Some("V4L2_FRMSIZE_TYPE_STEPWISE") => {
                let mut s = StructBuilder::new();
                for (i, n) in [
                    "min_width",
                    "max_width",
                    "step_width",
                    "min_height",
                    "max_height",
                    "step_height",
                ]
                .into_iter()
                .enumerate()
                {
                    s.dec(n, f.u32(12 + 4 * i));
                }
                out.push(("stepwise".into(), s.done()));
            }
            _ => {}
        }
        out
    })
}

/// `struct v4l2_frmivalenum` at the entry.
fn frmival_in(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 52, |c, f| {
        StructBuilder::new()
            .dec("index", f.u32(0))
            .field("pixel_format", fourcc(c, f.u32(4), T::V4l2PixFmts))
            .dec("width", f.u32(8))
            .dec("height", f.u32(12))
            .done()
    })
}

/// `struct v4l2_frmivalenum` at the exit: the type and its intervals
/// (strace shows the stepwise form for the continuous type too).
fn frmival_out(c: &mut Call<'_, '_>, v: u64) -> Vec<(Name, Value)> {
    exit_fields(c, v, 52, |c, f| {
        let ty = f.u32(16);
        let mut out = vec![("type".into(), xval(c, T::V4l2FrameintervalTypes, ty))];
        match T::V4l2FrameintervalTypes.xlat().lookup(c.abi, ty) {
            Some("V4L2_FRMIVAL_TYPE_DISCRETE") => out.push(("discrete".into(), fract(f, 20))),
            Some("V4L2_FRMIVAL_TYPE_STEPWISE" | "V4L2_FRMIVAL_TYPE_CONTINUOUS") => out.push((
                "stepwise".into(),
                StructBuilder::new()
                    .field("min", fract(f, 20))
                    .field("max", fract(f, 28))
                    .field("step", fract(f, 36))
                    .done(),
            )),
            _ => {}
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use vstrace_core::testmem::SparseVirt;

    use super::super::ioctl::tests::{line, EBADF};

    const E: &str = "= -1 EBADF (Bad file descriptor)";

    #[test]
    fn format_pix_and_window() {
        let mut m = SparseVirt::new();
        let mut b = vec![0u8; 208];
        b[0] = 2; // V4L2_BUF_TYPE_VIDEO_OUTPUT
        b[8] = 16; // width
        b[12] = 9; // height
        b[16..20].copy_from_slice(b"S508");
        b[20] = 1; // V4L2_FIELD_NONE
        b[32] = 7; // V4L2_COLORSPACE_JPEG
        m.map(0x1000, &b);
        assert_eq!(
            line(0xc0d05605, 0x1000, EBADF, &mut m),
            format!(
                "ioctl(-1, VIDIOC_S_FMT, {{type=V4L2_BUF_TYPE_VIDEO_OUTPUT, fmt.pix={{width=16, \
                 height=9, pixelformat=v4l2_fourcc('S', '5', '0', '8') /* V4L2_PIX_FMT_SPCA508 */, \
                 field=V4L2_FIELD_NONE, bytesperline=0, sizeimage=0, \
                 colorspace=V4L2_COLORSPACE_JPEG}}}}) {E}"
            )
        );
        // G_FMT shows the type at the entry, the format after success.
        assert_eq!(
            line(0xc0d05604, 0x1000, EBADF, &mut m),
            format!("ioctl(-1, VIDIOC_G_FMT, {{type=V4L2_BUF_TYPE_VIDEO_OUTPUT}}) {E}")
        );
        assert!(line(0xc0d05604, 0x1000, 0, &mut m).contains("OUTPUT, fmt.pix={width=16"));
        // An unknown type: no format; an unreadable one: the address.
        m.map(0x2000, &[0xb0, 0xb1, 0xb2, 0xb3]);
        m.map(0x2004, &[0; 204]);
        assert_eq!(
            line(0xc0d05605, 0x2000, EBADF, &mut m),
            format!("ioctl(-1, VIDIOC_S_FMT, {{type=0xb3b2b1b0 /* V4L2_BUF_TYPE_??? */}}) {E}")
        );
        assert_eq!(
            line(0xc0d05605, 0x9000, EBADF, &mut m),
            format!("ioctl(-1, VIDIOC_S_FMT, 0x9000) {E}")
        );
    }

    #[test]
    fn framebuffer() {
        let mut m = SparseVirt::new();
        m.map(0x1fd0, &[0xd0; 48]);
        assert_eq!(
            line(0x4030560b, 0x1fd0, EBADF, &mut m),
            format!(
                "ioctl(-1, VIDIOC_S_FBUF, {{capability=0xd0d0d0d0, flags=0xd0d0d0d0, \
                 base=0xd0d0d0d0d0d0d0d0}}) {E}"
            )
        );
    }

    #[test]
    fn control_ids() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &[0, 0, 0x98, 0, 0, 0, 0, 0]);
        assert_eq!(
            line(0xc008561c, 0x1000, EBADF, &mut m),
            format!("ioctl(-1, VIDIOC_S_CTRL, {{id=V4L2_CTRL_CLASS_USER+0, value=0}}) {E}")
        );
        assert_eq!(
            line(0xc008561c, 0x1000, 0, &mut m),
            "ioctl(-1, VIDIOC_S_CTRL, {id=V4L2_CTRL_CLASS_USER+0, value=0 => 0}) = 0"
        );
        m.map(0x2000, &[0xbc, 0xbd, 0xbe, 0xbf]);
        m.map(0x2004, &[0; 64]);
        assert_eq!(
            line(0xc0445624, 0x2000, EBADF, &mut m),
            format!(
                "ioctl(-1, VIDIOC_QUERYCTRL, {{id=V4L2_CTRL_FLAG_NEXT_CTRL|0x3fbebdbc \
                 /* V4L2_CID_??? */}}) {E}"
            )
        );
    }
}
