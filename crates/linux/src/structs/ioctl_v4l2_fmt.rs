//! The V4L2 structures with a union chosen by a buffer type, as strace
//! prints them: `struct v4l2_format` (pixel, multi-planar, overlay
//! window, VBI, sliced VBI, SDR and metadata formats, each under its
//! `fmt.NAME`), `struct v4l2_create_buffers` that holds one,
//! `struct v4l2_buffer`, and `struct v4l2_streamparm`.
//!
//! `v4l2_format`'s union holds a pointer (the window's clips), so it
//! starts at offset 8 on x86_64 and 4 on i386; the window's fields after
//! the pointer and `v4l2_buffer` (a `timeval` and a pointer) differ
//! between the ABIs too.

use vstrace_core::value::Name;
use vstrace_core::{ConstStyle, StructBuilder, Value};

use super::ioctl::read_v;
use super::ioctl_mtd::local_array;
use super::ioctl_v4l2::{exit_fields, flags, fourcc, fract, hex, rect, xval};
use super::time::{tv_at_v, Width};
use super::{Call, Fields};
use crate::proto::LinuxAbi;
use crate::xlat::{style, Table as T};

/// Size of `struct v4l2_format` and the offset of its union.
fn format_layout(abi: LinuxAbi) -> (usize, usize) {
    match abi {
        LinuxAbi::X86_64 => (208, 8),
        LinuxAbi::I386 => (204, 4),
    }
}

/// Size of `struct v4l2_create_buffers` for `abi`.
pub(super) fn create_buffers_size(abi: LinuxAbi) -> usize {
    match abi {
        LinuxAbi::X86_64 => 256,
        LinuxAbi::I386 => 248,
    }
}

/// The name of buffer type `ty`, if known.
fn type_name(c: &Call<'_, '_>, ty: u64) -> Option<&'static str> {
    T::V4l2BufTypes.xlat().lookup(c.abi, ty)
}

/// The format union at `o` for buffer type `ty`: its field name
/// (`fmt.pix`) and value; `None` for a type without one. The value is
/// `Err` when the window's clips could not be read (strace then stops).
fn format_union(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    o: usize,
    ty: u64,
) -> Option<(&'static str, Result<Value, Value>)> {
    let name = type_name(c, ty)?.strip_prefix("V4L2_BUF_TYPE_")?;
    Some(match name {
        "VIDEO_CAPTURE" | "VIDEO_OUTPUT" => ("fmt.pix", Ok(pix(c, f, o))),
        "VIDEO_CAPTURE_MPLANE" | "VIDEO_OUTPUT_MPLANE" => ("fmt.pix_mp", Ok(pix_mp(c, f, o))),
        "VIDEO_OVERLAY" | "VIDEO_OUTPUT_OVERLAY" => ("fmt.win", window(c, f, o)),
        "VBI_CAPTURE" | "VBI_OUTPUT" => ("fmt.vbi", Ok(vbi(c, f, o))),
        "SLICED_VBI_CAPTURE" | "SLICED_VBI_OUTPUT" => ("fmt.sliced", Ok(sliced(c, f, o))),
        "SDR_CAPTURE" | "SDR_OUTPUT" => {
            let mut s = StructBuilder::new();
            s.field("pixelformat", fourcc(c, f.u32(o), T::V4l2SdrFmts));
            if f.u32(o + 4) != 0 {
                s.dec("buffersize", f.u32(o + 4));
            }
            ("fmt.sdr", Ok(s.done()))
        }
        "META_CAPTURE" | "META_OUTPUT" => (
            "fmt.meta",
            Ok(StructBuilder::new()
                .field("dataformat", fourcc(c, f.u32(o), T::V4l2MetaFmts))
                .dec("buffersize", f.u32(o + 4))
                .done()),
        ),
        _ => return None,
    })
}

/// `struct v4l2_pix_format`.
fn pix(c: &Call<'_, '_>, f: &Fields<'_>, o: usize) -> Value {
    StructBuilder::new()
        .dec("width", f.u32(o))
        .dec("height", f.u32(o + 4))
        .field("pixelformat", fourcc(c, f.u32(o + 8), T::V4l2PixFmts))
        .field("field", xval(c, T::V4l2Fields, f.u32(o + 12)))
        .dec("bytesperline", f.u32(o + 16))
        .dec("sizeimage", f.u32(o + 20))
        .field("colorspace", xval(c, T::V4l2Colorspaces, f.u32(o + 24)))
        .done()
}

/// `struct v4l2_pix_format_mplane`: the planes in use (at most 8).
fn pix_mp(c: &Call<'_, '_>, f: &Fields<'_>, o: usize) -> Value {
    let planes = f.b.get(o + 180).copied().unwrap_or(0);
    StructBuilder::new()
        .dec("width", f.u32(o))
        .dec("height", f.u32(o + 4))
        .field("pixelformat", fourcc(c, f.u32(o + 8), T::V4l2PixFmts))
        .field("field", xval(c, T::V4l2Fields, f.u32(o + 12)))
        .field("colorspace", xval(c, T::V4l2Colorspaces, f.u32(o + 16)))
        .field(
            "plane_fmt",
            local_array(c, usize::from(planes).min(8), |i| {
                StructBuilder::new()
                    .dec("sizeimage", f.u32(o + 20 + 20 * i))
                    .dec("bytesperline", f.u32(o + 24 + 20 * i))
                    .done()
            }),
        )
        .dec("num_planes", planes)
        .done()
}

/// `struct v4l2_window`: the clip rectangles are read from the guest
/// (`Err` when they cannot be).
fn window(c: &mut Call<'_, '_>, f: &Fields<'_>, o: usize) -> Result<Value, Value> {
    let (count_at, bitmap_at, alpha_at, clip) = match c.abi {
        LinuxAbi::X86_64 => (32, 40, 48, 24),
        LinuxAbi::I386 => (28, 32, 36, 20),
    };
    let count = f.u32(o + count_at);
    let clips = c.array_v(f.ulong(o + 24), count, clip, |_, b| {
        let e = Fields::new(b, 8);
        StructBuilder::new().field("c", rect(&e, 0)).done()
    });
    // strace's print_array reports an empty or unreadable array as not
    // printed, and then shows nothing at the exit.
    let failed = match &clips {
        Value::Array { items, .. } => items
            .last()
            .is_none_or(|l| matches!(l, Value::Opaque(t) if t.starts_with("... /*"))),
        _ => true,
    };
    let mut s = StructBuilder::new();
    s.field("w", rect(f, o))
        .field("field", xval(c, T::V4l2Fields, f.u32(o + 16)))
        .field("chromakey", hex(f.u32(o + 20)))
        .field("clips", clips)
        .dec("clipcount", count)
        .field("bitmap", Value::ptr(f.ulong(o + bitmap_at)));
    let alpha = f.b.get(o + alpha_at).copied().unwrap_or(0);
    if alpha != 0 {
        s.field("global_alpha", hex(u64::from(alpha)));
    }
    if failed {
        Err(s.done())
    } else {
        Ok(s.done())
    }
}

/// `struct v4l2_vbi_format`.
fn vbi(c: &Call<'_, '_>, f: &Fields<'_>, o: usize) -> Value {
    StructBuilder::new()
        .dec("sampling_rate", f.u32(o))
        .dec("offset", f.u32(o + 4))
        .dec("samples_per_line", f.u32(o + 8))
        .field("sample_format", fourcc(c, f.u32(o + 12), T::V4l2PixFmts))
        .field(
            "start",
            local_array(c, 2, |i| Value::dec(f.i32(o + 16 + 4 * i))),
        )
        .field(
            "count",
            local_array(c, 2, |i| Value::dec(f.u32(o + 24 + 4 * i))),
        )
        .field("flags", flags(c, T::V4l2VbiFlags, f.u32(o + 32)))
        .done()
}

/// `struct v4l2_sliced_vbi_format`: the services of each line of both
/// fields, in hex.
fn sliced(c: &Call<'_, '_>, f: &Fields<'_>, o: usize) -> Value {
    StructBuilder::new()
        .field("service_set", flags(c, T::V4l2SlicedFlags, f.u16(o)))
        .field(
            "service_lines",
            local_array(c, 2, |i| {
                local_array(c, 24, |j| hex(f.u16(o + 2 + 48 * i + 2 * j)))
            }),
        )
        .dec("io_size", f.u32(o + 100))
        .done()
}

/// `VIDIOC_G_FMT` at the entry: the type asked about.
pub(super) fn format_type(c: &mut Call<'_, '_>, v: u64) -> Value {
    let (size, _) = format_layout(c.abi);
    read_v(c, v, size, |c, f| {
        StructBuilder::new()
            .field("type", xval(c, T::V4l2BufTypes, f.u32(0)))
            .done()
    })
}

/// `VIDIOC_G_FMT` at a successful exit: the format.
pub(super) fn format_get_out(c: &mut Call<'_, '_>, v: u64) -> Vec<(Name, Value)> {
    match format_exit(c, v) {
        Some((name, val)) => vec![(Name::Borrowed(name), val)],
        None => Vec::new(),
    }
}

/// The format the kernel wrote, at a successful exit.
fn format_exit(c: &mut Call<'_, '_>, v: u64) -> Option<(&'static str, Value)> {
    let (size, o) = format_layout(c.abi);
    if c.failed() || c.ret.is_none() {
        return None;
    }
    let b = c.fetch(v, size).ok()?;
    let f = Fields::new(&b, c.long_size());
    format_union(c, &f, o, f.u32(0)).map(|(n, r)| (n, r.unwrap_or_else(|e| e)))
}

/// `VIDIOC_S_FMT`/`VIDIOC_TRY_FMT` at the entry: the type and the
/// format asked for.
pub(super) fn format_in(c: &mut Call<'_, '_>, v: u64) -> Value {
    format_in_full(c, v).0
}

/// [`format_in`], and whether strace shows the exit too (the format
/// union was shown whole).
fn format_in_full(c: &mut Call<'_, '_>, v: u64) -> (Value, bool) {
    let (size, o) = format_layout(c.abi);
    let b = match c.fetch_v(v, size) {
        Ok(b) => b,
        Err(e) => return (e, false),
    };
    let f = Fields::new(&b, c.long_size());
    let ty = f.u32(0);
    let mut s = StructBuilder::new();
    s.field("type", xval(c, T::V4l2BufTypes, ty));
    let whole = match format_union(c, &f, o, ty) {
        Some((name, Ok(u))) => {
            s.field(name, u);
            true
        }
        Some((name, Err(u))) => {
            s.field(name, u);
            false
        }
        None => false,
    };
    (s.done(), whole)
}

/// `VIDIOC_S_FMT`/`VIDIOC_TRY_FMT` at a successful exit: the format
/// the driver chose (` => {fmt.pix={...}}`).
pub(super) fn format_set_out(c: &mut Call<'_, '_>, v: u64) -> Option<Value> {
    if !format_in_full(c, v).1 {
        return None;
    }
    let (name, val) = format_exit(c, v)?;
    Some(StructBuilder::new().field(name, val).done())
}

/// `struct v4l2_create_buffers`: the count, the memory and the format.
pub(super) fn create_buffers(c: &mut Call<'_, '_>, v: u64) -> Value {
    let size = create_buffers_size(c.abi);
    let fo = size - 32 - format_layout(c.abi).0;
    let b = match c.fetch_v(v, size) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, c.long_size());
    let ty = f.u32(fo);
    let mut fmt = StructBuilder::new();
    fmt.field("type", xval(c, T::V4l2BufTypes, ty));
    if let Some((name, u)) = format_union(c, &f, fo + format_layout(c.abi).1, ty) {
        fmt.field(name, u.unwrap_or_else(|e| e));
    }
    StructBuilder::new()
        .dec("count", f.u32(4))
        .field("memory", xval(c, T::V4l2Memories, f.u32(8)))
        .field("format", fmt.done())
        .done()
}

/// Size of `struct v4l2_buffer`, the offset of its timestamp and that
/// of its `memory` (the `m` union follows it, then `length`), and the
/// timestamp's fields.
fn buffer_layout(c: &Call<'_, '_>) -> (usize, usize, usize, Width) {
    // The size in the request's number picks i386's layout: the kernel
    // takes both the 64-bit time stamp (`VIDIOC_QUERYBUF`..., 76 bytes:
    // two 64-bit fields, 4-byte aligned) and the old `long` one (the
    // `_TIME32` requests, 68 bytes).
    let size_in_request = (c.raw[1] >> 16) & 0x3fff;
    match c.abi {
        LinuxAbi::X86_64 => (88, 24, 60, Width::Long(8)),
        LinuxAbi::I386 if size_in_request == 76 => (76, 20, 56, Width::Wide),
        LinuxAbi::I386 => (68, 20, 48, Width::Long(4)),
    }
}

/// `struct v4l2_buffer` at the entry: the type, and the index but for
/// `VIDIOC_DQBUF` (the kernel chooses it).
pub(super) fn buffer_in(c: &mut Call<'_, '_>, v: u64, with_index: bool) -> Value {
    let (size, _, _, _) = buffer_layout(c);
    read_v(c, v, size, |c, f| {
        let mut s = StructBuilder::new();
        s.field("type", xval(c, T::V4l2BufTypes, f.u32(4)));
        if with_index {
            s.dec("index", f.u32(0));
        }
        s.done()
    })
}

/// `struct v4l2_buffer` at a successful exit: the memory and where,
/// the lengths and flags (and for `VIDIOC_DQBUF` the index and the
/// time stamp), then `...`.
pub(super) fn buffer_out(c: &mut Call<'_, '_>, v: u64, dq: bool) -> Vec<(Name, Value)> {
    let (size, ts, mem, ts_width) = buffer_layout(c);
    let w = c.long_size();
    exit_fields(c, v, size, |c, f| {
        let mut out: Vec<(Name, Value)> = Vec::new();
        if dq {
            out.push(("index".into(), Value::dec(f.u32(0))));
        }
        let memory = f.u32(mem);
        out.push(("memory".into(), xval(c, T::V4l2Memories, memory)));
        match T::V4l2Memories.xlat().lookup(c.abi, memory) {
            Some("V4L2_MEMORY_MMAP") => out.push(("m.offset".into(), hex(f.u32(mem + 4)))),
            Some("V4L2_MEMORY_USERPTR") => {
                out.push(("m.userptr".into(), Value::ptr(f.ulong(mem + 4))))
            }
            _ => {}
        }
        let length = mem + 4 + w;
        out.push(("length".into(), Value::dec(f.u32(length))));
        out.push(("bytesused".into(), Value::dec(f.u32(8))));
        out.push(("flags".into(), buffer_flags(c, f.u32(12))));
        if dq {
            out.push(("timestamp".into(), tv_at_v(f.b, ts, ts_width, true)));
        }
        out.push(("".into(), Value::Opaque("...".into())));
        out
    })
}

/// A buffer's flags: the flag bits, then the time stamp type and
/// source (`V4L2_BUF_FLAG_MAPPED|V4L2_BUF_FLAG_TIMESTAMP_UNKNOWN|
/// V4L2_BUF_FLAG_TSTAMP_SRC_EOF`); the number in the raw style.
fn buffer_flags(c: &Call<'_, '_>, v: u64) -> Value {
    if style() == ConstStyle::Raw {
        return hex(v);
    }
    let mask = |name: &str| {
        T::V4l2BufFlagMasks
            .xlat()
            .value_of(c.abi, name)
            .unwrap_or(0)
    };
    let ts_type = v & mask("V4L2_BUF_FLAG_TIMESTAMP_MASK");
    let ts_src = v & mask("V4L2_BUF_FLAG_TSTAMP_SRC_MASK");
    let rest = v & !ts_type & !ts_src;
    let mut parts = Vec::new();
    if rest != 0 {
        parts.push(flags(c, T::V4l2BufFlags, rest).render());
    }
    parts.push(xval(c, T::V4l2BufFlagsTsType, ts_type).render());
    parts.push(xval(c, T::V4l2BufFlagsTsSrc, ts_src).render());
    Value::Opaque(parts.join("|"))
}

/// `struct v4l2_streamparm` (204 bytes) at the entry: the type, and for
/// `VIDIOC_S_PARM` of a video type the parameters.
pub(super) fn parm_in(c: &mut Call<'_, '_>, v: u64, get: bool) -> Value {
    read_v(c, v, 204, |c, f| {
        let ty = f.u32(0);
        let mut s = StructBuilder::new();
        s.field("type", xval(c, T::V4l2BufTypes, ty));
        if !get {
            if let Some((n, p)) = parm(c, f, ty) {
                s.field(n, p);
            }
        }
        s.done()
    })
}

/// The capture or output parameters of a video buffer type.
fn parm(c: &Call<'_, '_>, f: &Fields<'_>, ty: u64) -> Option<(&'static str, Value)> {
    let (name, mode, bufs) = match type_name(c, ty)? {
        "V4L2_BUF_TYPE_VIDEO_CAPTURE" => ("parm.capture", "capturemode", "readbuffers"),
        "V4L2_BUF_TYPE_VIDEO_OUTPUT" => ("parm.output", "outputmode", "writebuffers"),
        _ => return None,
    };
    Some((
        name,
        StructBuilder::new()
            .field(
                "capability",
                flags(c, T::V4l2StreamingCapabilities, f.u32(4)),
            )
            .field(mode, flags(c, T::V4l2CaptureModes, f.u32(8)))
            .field("timeperframe", fract(f, 12))
            .field("extendedmode", hex(f.u32(20)))
            .dec(bufs, f.u32(24))
            .done(),
    ))
}

/// `VIDIOC_G_PARM` at a successful exit: the parameters.
pub(super) fn parm_get_out(c: &mut Call<'_, '_>, v: u64) -> Vec<(Name, Value)> {
    exit_fields(c, v, 204, |c, f| {
        parm(c, f, f.u32(0))
            .map(|(n, p)| (Name::Borrowed(n), p))
            .into_iter()
            .collect()
    })
}

/// `VIDIOC_S_PARM` at a successful exit: the parameters the driver
/// chose (` => {parm.capture={...}}`).
pub(super) fn parm_set_out(c: &mut Call<'_, '_>, v: u64) -> Option<Value> {
    let fields = parm_get_out(c, v);
    if fields.is_empty() {
        return None;
    }
    Some(Value::Struct {
        fields,
        more: false,
    })
}
