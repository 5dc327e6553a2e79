//! Buffers of decoded values kept for reuse on the thread that decoded
//! them (a vCPU thread, the replay thread): an argument whose old value
//! is replaced gives its text and buffer bytes back here, and the next
//! decode on the same thread takes them, so decoding a call's plain
//! arguments allocates nothing once warm. Per thread, so no lock and no
//! sharing between vCPUs; bounded in count and in the size kept, so a
//! huge buffer once read is not held.

use std::cell::RefCell;

/// Buffers kept per kind and thread.
const MAX_KEPT: usize = 8;
/// Larger buffers are freed, not kept.
const MAX_CAPACITY: usize = 64 * 1024;

/// Argument entries kept (a list of another call's length gave them up).
const MAX_KEPT_ARGS: usize = 16;

#[derive(Default)]
struct Spare {
    bytes: Vec<Vec<u8>>,
    texts: Vec<String>,
    args: Vec<crate::os::ArgValue>,
}

thread_local! {
    static SPARE: RefCell<Spare> = RefCell::new(Spare::default());
}

/// `len` zero bytes, in a kept buffer when one is spare.
pub fn zeroed(len: usize) -> Vec<u8> {
    let kept = SPARE
        .try_with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.bytes.pop()))
        .ok()
        .flatten();
    match kept {
        Some(mut v) => {
            v.clear();
            v.resize(len, 0);
            v
        }
        None => vec![0; len],
    }
}

/// An empty string, with a kept buffer when one is spare.
pub fn text() -> String {
    let kept = SPARE
        .try_with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.texts.pop()))
        .ok()
        .flatten();
    let mut t = kept.unwrap_or_default();
    t.clear();
    t
}

/// Keeps `v`'s buffer for [`zeroed`] (or frees it).
pub fn give_bytes(v: Vec<u8>) {
    if v.capacity() == 0 || v.capacity() > MAX_CAPACITY {
        return;
    }
    let _ = SPARE.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            if s.bytes.len() < MAX_KEPT {
                s.bytes.push(v);
            }
        }
    });
}

/// Keeps `t`'s buffer for [`text`] (or frees it).
pub fn give_text(t: String) {
    if t.capacity() == 0 || t.capacity() > MAX_CAPACITY {
        return;
    }
    let _ = SPARE.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            if s.texts.len() < MAX_KEPT {
                s.texts.push(t);
            }
        }
    });
}

/// Gives back the buffers `v` owns at its top level (a buffer's bytes;
/// an opaque text), dropping the rest.
pub fn give_value(v: crate::Value) {
    match v {
        crate::Value::Str(b) => give_bytes(b.bytes),
        crate::Value::Opaque(t) => give_text(t),
        _ => {}
    }
}

/// Shortens the argument list `out` to `len` entries, keeping the ones
/// it drops for a longer list (lists move between calls of every length:
/// dropping them would allocate them again for the next longer one; see
/// [`new_arg`]).
pub fn truncate_args(out: &mut Vec<crate::os::ArgValue>, len: usize) {
    while out.len() > len {
        let Some(a) = out.pop() else { break };
        let _ = SPARE.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                if s.args.len() < MAX_KEPT_ARGS {
                    s.args.push(a);
                }
            }
        });
    }
}

/// The argument `name` = `raw` decoded to `value` (or not yet: `None`),
/// in an entry [`truncate_args`] kept when one is spare (see
/// [`crate::os::ArgValue::reset`]).
pub fn new_arg(
    name: &'static str,
    raw: u64,
    value: Option<crate::value::Value>,
) -> crate::os::ArgValue {
    let kept = SPARE
        .try_with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.args.pop()))
        .ok()
        .flatten();
    match (kept, value) {
        (Some(mut a), value) => {
            a.reset(name, raw, value);
            a
        }
        (None, Some(v)) => crate::os::ArgValue::typed(name, raw, v),
        (None, None) => crate::os::ArgValue::with_text(name, raw, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_buffers_come_back_zeroed_and_empty() {
        give_bytes(vec![7; 16]);
        assert_eq!(zeroed(4), vec![0; 4]);
        give_text("abc".to_string());
        assert_eq!(text(), "");
        // Too large to keep.
        give_bytes(vec![1; MAX_CAPACITY + 1]);
        assert_eq!(zeroed(3), vec![0; 3]);
    }
}
