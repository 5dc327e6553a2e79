//! `struct file_handle` of name_to_handle_at (value-result: the caller's
//! `handle_bytes` at the entry, what the kernel wrote at the exit) and
//! open_by_handle_at (read at the entry): `{handle_bytes=12,
//! handle_type=1, f_handle="\xb7..."}`.

use vstrace_core::value::{Base, Bytes, Escape};
use vstrace_core::{read, StructBuilder, Value};

use super::{Call, Fields};

/// `MAX_HANDLE_SZ`: the most handle bytes shown.
const MAX_HANDLE_SZ: u64 = 128;
/// `handle_bytes` and `handle_type`, before `f_handle`.
const HEADER: u64 = 8;
/// `EOVERFLOW`: the kernel still writes the size it needs.
const EOVERFLOW: i64 = 75;

/// The handle at `va` of the call in `c`.
pub(super) fn file_handle(c: &mut Call<'_, '_>, va: u64) -> Value {
    if c.name == "open_by_handle_at" {
        return whole(c, va);
    }
    let Some(ret) = c.ret else {
        // The entry: the size of the caller's buffer.
        return match c.fetch_v(va, 4) {
            Ok(b) => {
                let mut s = StructBuilder::new();
                s.dec("handle_bytes", Fields::new(&b, 4).u32(0));
                s.done()
            }
            Err(e) => e,
        };
    };
    let before = c
        .entry()
        .and_then(|t| t.strip_prefix("{handle_bytes="))
        .and_then(|t| t.strip_suffix('}'))
        .and_then(|t| t.parse::<u64>().ok());
    let Some(before) = before else {
        // Not read at the entry: the address stays.
        return Value::ptr(va);
    };
    let failed = (-4095..=-1).contains(&ret);
    let header = if failed && ret != -EOVERFLOW {
        None
    } else {
        read::read_struct(c.mem, va, HEADER as usize).ok()
    };
    let mut s = StructBuilder::new();
    let Some(h) = header else {
        s.dec("handle_bytes", before);
        return s.done();
    };
    let f = Fields::new(&h, 4);
    let now = f.u32(0);
    s.field(
        "handle_bytes",
        if now == before {
            Value::dec(now)
        } else {
            Value::Changed {
                before: Box::new(Value::dec(before)),
                after: Box::new(Value::dec(now)),
            }
        },
    );
    if !failed {
        s.field("handle_type", Value::int(f.i32(4), Base::Dec));
        s.field("f_handle", handle(c, va, now));
    }
    s.done()
}

/// open_by_handle_at's handle, read at the entry.
fn whole(c: &mut Call<'_, '_>, va: u64) -> Value {
    let h = match c.fetch_v(va, HEADER as usize) {
        Ok(h) => h,
        Err(e) => return e,
    };
    let f = Fields::new(&h, 4);
    let bytes = f.u32(0);
    let mut s = StructBuilder::new();
    s.dec("handle_bytes", bytes);
    s.field("handle_type", Value::int(f.i32(4), Base::Dec));
    s.field("f_handle", handle(c, va, bytes));
    s.done()
}

/// `f_handle`: up to [`MAX_HANDLE_SZ`] bytes in hex, `...` for more;
/// `???` when they cannot be read.
fn handle(c: &mut Call<'_, '_>, va: u64, bytes: u64) -> Value {
    let len = bytes.min(MAX_HANDLE_SZ);
    match read::read_struct(c.mem, va.wrapping_add(HEADER), len as usize) {
        Ok(b) => Value::Str(Bytes {
            bytes: b,
            truncated: bytes > len,
            escape: Escape::AllHex,
        }),
        Err(_) => Value::Opaque("???".into()),
    }
}
