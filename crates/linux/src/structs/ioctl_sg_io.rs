//! `SG_IO` (SCSI generic and block SCSI) as strace prints it: the
//! request at the entry, the response the kernel completes at the exit
//! (even a failed call's, as strace reads it back), in the same braces.
//!
//! The structure's first `int` says which one it is: `'S'` for
//! `struct sg_io_hdr` (version 3, the caller's ABI layout: it holds
//! pointers), `'Q'` for `struct sg_io_v4` (fixed 64-bit fields);
//! another value prints as `[N]`. A data buffer is a byte string in hex,
//! or an iovec array when the structure gives an iovec count.

use vstrace_core::value::{Base, Name};
use vstrace_core::{StructBuilder, Value};

use super::ioctl::Kind;
use super::ioctl_kd::hex_string;
use super::{Call, Fields};
use crate::fmt;
use crate::xlat::{Radix, Table as T};

/// `interface_id` of a version 3 header.
const V3: u64 = b'S' as u64;
/// `guard` of a version 4 header.
const V4: u64 = b'Q' as u64;
/// Size of `struct sg_io_v4`.
const V4_SIZE: usize = 160;
/// `dxfer_direction` values that decide which buffers are shown.
const TO_DEV: i64 = -2;
const FROM_DEV: i64 = -3;
const TO_FROM_DEV: i64 = -4;

/// The decoder of `SG_IO`.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    (name == "SG_IO").then_some(Kind::EntryExitV(request, exit))
}

/// What the kernel answers: the fields strace adds, and what the device
/// wrote over the data sent (`dxferp=... => dxferp=...`).
type Response = (Option<Value>, Vec<(Name, Value)>);

/// The whole structure at the exit: the request as the entry showed it
/// and the response after it, in the same braces.
fn exit(c: &mut Call<'_, '_>, v: u64) -> Value {
    let now = request(c, v);
    let (changed, more) = match now {
        Value::Struct { .. } => response(c, v),
        _ => (None, Vec::new()),
    };
    match (now, c.entry().map(str::to_string)) {
        // The request reads as the entry showed it: typed.
        (
            Value::Struct {
                mut fields,
                more: m,
            },
            entry,
        ) if entry.is_none()
            || entry.as_deref()
                == Some(
                    &*Value::Struct {
                        fields: fields.clone(),
                        more: m,
                    }
                    .render(),
                ) =>
        {
            if let (Some(after), Some((_, last))) = (changed, fields.last_mut()) {
                *last = Value::Changed {
                    before: Box::new(last.clone()),
                    after: Box::new(after),
                };
            }
            fields.extend(more);
            Value::Struct { fields, more: m }
        }
        // The memory changed since the entry: its text, completed.
        (_, Some(t)) => match t.strip_suffix('}') {
            Some(body) if !more.is_empty() || changed.is_some() => {
                let mut out = body.to_string();
                if let Some(after) = changed {
                    out.push_str(" => ");
                    out.push_str(&after.render());
                }
                for (n, val) in more {
                    out.push_str(&format!(", {n}={}", val.render()));
                }
                out.push('}');
                Value::Opaque(out)
            }
            _ => Value::Opaque(t),
        },
        (now, None) => now,
    }
}

/// A number in hex (`PRINT_FIELD_X`).
fn hex(v: u64) -> Value {
    Value::int(v, Base::Hex)
}

/// Offsets of `struct sg_io_hdr` fields that follow pointers, for
/// `long` of `w` bytes: (`dxferp`, `usr_ptr`, `status`, size).
fn v3_layout(w: usize) -> (usize, usize, usize, usize) {
    let usr_ptr = (16 + 3 * w + 12).next_multiple_of(w);
    let status = usr_ptr + w;
    (16, usr_ptr, status, (status + 20).next_multiple_of(w))
}

/// The header's marker as strace shows it (`'S'`).
fn marker(m: u64) -> Value {
    Value::Opaque(format!("'{}'", m as u8 as char))
}

/// A data buffer of `len` bytes: bytes in hex, or `count` iovecs.
fn buffer(c: &mut Call<'_, '_>, addr: u64, len: u64, count: u64) -> Value {
    if count == 0 {
        hex_string(c, addr, len)
    } else {
        Value::Opaque(super::net::iovec(c, addr, count, Some(len)))
    }
}

/// The length of data the device wrote: the transfer length less the
/// residue, when the residue is a part of it.
fn din_len(len: u64, resid: i64) -> u64 {
    match u64::try_from(resid) {
        Ok(r) if r > 0 && r <= len => len - r,
        _ => len,
    }
}

/// `sg_io_hdr.dxfer_direction`: a negative `int`.
fn direction(c: &Call<'_, '_>, d: i64) -> Value {
    let table = T::SgIoDxferDirection;
    if table.xlat().lookup(c.abi, d as u64).is_some() {
        fmt::xval_v(c.abi, table, d as u64, Radix::Hex)
    } else {
        fmt::xval_v(c.abi, table, d as u32 as u64, Radix::Hex)
    }
}

/// The request at the entry.
fn request(c: &mut Call<'_, '_>, v: u64) -> Value {
    let id = match c.fetch_v(v, 4) {
        Ok(b) => Fields::new(&b, 4).u32(0),
        Err(e) => return e,
    };
    match id {
        V3 => v3_request(c, v),
        V4 => v4_request(c, v),
        _ => Value::boxed(Value::dec(id)),
    }
}

/// The structure after its marker, or the struct strace prints when it
/// cannot be read (`{interface_id='S', 0x...}`).
fn rest(
    c: &mut Call<'_, '_>,
    v: u64,
    size: usize,
    name: &'static str,
    id: u64,
) -> Result<Vec<u8>, Value> {
    match c.fetch(v.wrapping_add(4), size - 4) {
        Ok(b) => {
            let mut all = vec![0u8; 4];
            all.extend(b);
            Ok(all)
        }
        Err(_) => Err(StructBuilder::new()
            .field(name, marker(id))
            .field("", Value::ptr(v.wrapping_add(4)))
            .done()),
    }
}

/// `struct sg_io_hdr` at the entry.
fn v3_request(c: &mut Call<'_, '_>, v: u64) -> Value {
    let w = c.long_size();
    let (dxferp, _, _, size) = v3_layout(w);
    let b = match rest(c, v, size, "interface_id", V3) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, w);
    let dir = f.i32(4);
    let (cmd_len, iovecs, len) = (f.bytes(8, 1), f.u16(10), f.u32(12));
    let mut s = StructBuilder::new();
    s.field("interface_id", marker(V3))
        .field("dxfer_direction", direction(c, dir))
        .dec("cmd_len", cmd_len);
    let cmdp = buffer(c, f.ulong(dxferp + w), cmd_len, 0);
    s.field("cmdp", cmdp)
        .dec("mx_sb_len", f.bytes(9, 1))
        .dec("iovec_count", iovecs)
        .dec("dxfer_len", len)
        .dec("timeout", f.u32(dxferp + 3 * w))
        .field(
            "flags",
            fmt::xflags_v(
                c.abi,
                &[T::SgIoFlags],
                f.u32(dxferp + 3 * w + 4),
                true,
                false,
            ),
        );
    if dir == TO_DEV || dir == TO_FROM_DEV {
        let data = buffer(c, f.ulong(dxferp), len, iovecs);
        s.field("dxferp", data);
    }
    s.done()
}

/// `struct sg_io_v4` at the entry.
fn v4_request(c: &mut Call<'_, '_>, v: u64) -> Value {
    let b = match rest(c, v, V4_SIZE, "guard", V4) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    s.field("guard", marker(V4))
        .field(
            "protocol",
            fmt::xval_v(c.abi, T::BsgProtocol, f.u32(4), Radix::Hex),
        )
        .field(
            "subprotocol",
            fmt::xval_v(c.abi, T::BsgSubprotocol, f.u32(8), Radix::Hex),
        )
        .dec("request_len", f.u32(12));
    let req = buffer(c, f.u64(16), f.u32(12), 0);
    s.field("request", req).field("request_tag", hex(f.u64(24)));
    for (name, o) in [
        ("request_attr", 32),
        ("request_priority", 36),
        ("request_extra", 40),
        ("max_response_len", 44),
        ("dout_iovec_count", 56),
        ("dout_xfer_len", 60),
        ("din_iovec_count", 64),
        ("din_xfer_len", 68),
    ] {
        s.dec(name, f.u32(o));
    }
    let dout = buffer(c, f.u64(72), f.u32(60), f.u32(56));
    s.field("dout_xferp", dout)
        .dec("timeout", f.u32(88))
        .field(
            "flags",
            fmt::xflags_v(c.abi, &[T::BsgFlags], f.u32(92), true, false),
        )
        .field("usr_ptr", hex(f.u64(96)));
    s.done()
}

/// The response at the exit, read back whether or not the call
/// failed (nothing when it cannot be read).
fn response(c: &mut Call<'_, '_>, v: u64) -> Response {
    let id = match c.fetch(v, 4) {
        Ok(b) => Fields::new(&b, 4).u32(0),
        Err(_) => return (None, Vec::new()),
    };
    match id {
        V3 => v3_response(c, v),
        V4 => (None, v4_response(c, v)),
        _ => (None, Vec::new()),
    }
}

/// `struct sg_io_hdr` at the exit.
fn v3_response(c: &mut Call<'_, '_>, v: u64) -> Response {
    let w = c.long_size();
    let (dxferp, _, st, size) = v3_layout(w);
    let Ok(b) = c.fetch(v, size) else {
        return (None, Vec::new());
    };
    let mut changed = None;
    let f = Fields::new(&b, w);
    let dir = f.i32(4);
    let mut s: Vec<(Name, Value)> = Vec::new();
    let resid = f.i32(st + 8);
    if dir == FROM_DEV || dir == TO_FROM_DEV {
        let len = din_len(f.u32(12), resid);
        let data = |c: &mut Call<'_, '_>| buffer(c, f.ulong(dxferp), len, f.u16(10));
        if dir == FROM_DEV {
            s.push(("dxferp".into(), data(c)));
        } else if len != 0 {
            // What the device wrote over what was sent: strace's
            // ` => dxferp=...` after the entry's buffer.
            changed = Some(Value::Opaque(format!("dxferp={}", data(c).render())));
        }
    }
    let sb_len = f.bytes(st + 3, 1);
    let sbp = buffer(c, f.ulong(dxferp + 2 * w), sb_len, 0);
    s.extend([
        ("status".into(), hex(f.bytes(st, 1))),
        ("masked_status".into(), hex(f.bytes(st + 1, 1))),
        ("msg_status".into(), hex(f.bytes(st + 2, 1))),
        ("sb_len_wr".into(), Value::dec(sb_len)),
        ("sbp".into(), sbp),
        ("host_status".into(), hex(f.u16(st + 4))),
        ("driver_status".into(), hex(f.u16(st + 6))),
        ("resid".into(), Value::dec(resid)),
        ("duration".into(), Value::dec(f.u32(st + 12))),
        (
            "info".into(),
            fmt::xflags_v(c.abi, &[T::SgIoInfo], f.u32(st + 16), true, false),
        ),
    ]);
    (changed, s)
}

/// `struct sg_io_v4` at the exit.
fn v4_response(c: &mut Call<'_, '_>, v: u64) -> Vec<(Name, Value)> {
    let Ok(b) = c.fetch(v, V4_SIZE) else {
        return Vec::new();
    };
    let f = Fields::new(&b, 8);
    let response_len = f.u32(132);
    let resp = buffer(c, f.u64(48), response_len, 0);
    let din = buffer(c, f.u64(80), din_len(f.u32(68), f.i32(136)), f.u32(64));
    vec![
        ("response_len".into(), Value::dec(response_len)),
        ("response".into(), resp),
        ("din_xferp".into(), din),
        ("driver_status".into(), hex(f.u32(108))),
        ("transport_status".into(), hex(f.u32(112))),
        ("device_status".into(), hex(f.u32(116))),
        ("retry_delay".into(), Value::dec(f.u32(120))),
        (
            "info".into(),
            fmt::xflags_v(c.abi, &[T::SgIoInfo], f.u32(124), true, false),
        ),
        ("duration".into(), Value::dec(f.u32(128))),
        ("response_len".into(), Value::dec(response_len)),
        ("din_resid".into(), Value::dec(f.i32(136))),
        ("dout_resid".into(), Value::dec(f.i32(140))),
        ("generated_tag".into(), hex(f.u64(144))),
    ]
}
