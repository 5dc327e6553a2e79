//! NUMA memory policy calls (mbind, set_mempolicy, get_mempolicy,
//! migrate_pages, move_pages): the policy mode with its mode flags, node
//! masks as arrays of words, and move_pages' page, node and status
//! arrays, typed as strace prints them; and mincore's page vector.

use vstrace_core::value::{Base, Const, Flag, Name};
use vstrace_core::{ConstStyle, Value};

use super::Call;
use crate::fmt;
use crate::xlat::{Radix, Table};

/// The mode flags the kernel ORs into a policy mode
/// (`MPOL_F_STATIC_NODES|MPOL_F_RELATIVE_NODES|MPOL_F_NUMA_BALANCING`).
const MODE_FLAGS: u64 = (1 << 15) | (1 << 14) | (1 << 13);

/// A policy mode argument (strace's `print_mode`): the mode by name, its
/// flags after it (`MPOL_PREFERRED|MPOL_F_RELATIVE_NODES`); an unknown
/// mode with flags is a flag set, without flags a table value.
pub(super) fn mode(c: &Call<'_, '_>, v: u64) -> Value {
    let flags = v & MODE_FLAGS;
    if flags == 0 {
        return fmt::xval_v(c.abi, Table::MpolModes, v, Radix::Hex);
    }
    let Some(name) = Table::MpolModes.xlat().lookup(c.abi, v & !MODE_FLAGS) else {
        return fmt::xflags_v(c.abi, &[Table::MpolModeFlags], v, true, false);
    };
    let mut parts = vec![Flag::Name(Name::Borrowed(name))];
    let named = vstrace_core::style::with_style(ConstStyle::Abbrev, || {
        fmt::xflags_v(c.abi, &[Table::MpolModeFlags], flags, false, false)
    });
    if let Value::Flags(p) = named {
        parts.extend(p);
    }
    vstrace_core::style::style_flags(v, Value::Flags(parts))
}

/// get_mempolicy's `int *mode`, written by the kernel: `[MPOL_BIND]`.
pub(super) fn mode_out(c: &mut Call<'_, '_>, v: u64) -> Value {
    match c.fetch_v(v, 4) {
        Ok(b) => {
            let mode = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            Value::boxed(fmt::xval_v(
                c.abi,
                Table::MpolModes,
                mode.into(),
                Radix::Hex,
            ))
        }
        Err(e) => e,
    }
}

/// A node mask of `maxnode` bits (strace's `print_nodemask`): the words
/// as `%#0*lx` (16 digits, 8 for i386 callers), or the address when the
/// count overflows.
pub(super) fn nodemask(c: &mut Call<'_, '_>, v: u64, maxnode: u64) -> Value {
    let word = c.long_size() as u64;
    let bits = 8 * word;
    let nmemb = maxnode.wrapping_add(bits - 2) / bits;
    if nmemb < maxnode / bits || (maxnode != 0 && nmemb == 0) {
        return Value::ptr(v);
    }
    let base = if word == 8 { Base::Hex016 } else { Base::Hex08 };
    c.array_v(v, nmemb, word as usize, |_, b| {
        let mut x = [0u8; 8];
        x[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
        Value::int(u64::from_le_bytes(x), base)
    })
}

/// move_pages' `void *pages[]`: addresses.
pub(super) fn pages(c: &mut Call<'_, '_>, v: u64, count: u64) -> Value {
    let word = c.long_size();
    c.array_v(v, count, word, |_, b| {
        let mut x = [0u8; 8];
        x[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
        Value::ptr(u64::from_le_bytes(x))
    })
}

/// move_pages' `int nodes[]`.
pub(super) fn ints(c: &mut Call<'_, '_>, v: u64, count: u64) -> Value {
    c.array_v(v, count, 4, |_, b| Value::dec(le_i32(b)))
}

/// move_pages' `int status[]`, written by the kernel: a node, or a
/// negated error by name (`-EFAULT`; strace's `print_err`), at the
/// exit. A failed call's array is its address, but an empty one is `[]`
/// (strace reads no element of it).
pub(super) fn status(c: &mut Call<'_, '_>, v: u64, count: u64) -> Value {
    if c.ret.is_none() || (c.failed() && count != 0) {
        return Value::ptr(v);
    }
    c.array_v(v, count, 4, |_, b| {
        let s = le_i32(b);
        match (s < 0)
            .then(|| crate::consts::errno_name(-i64::from(s)))
            .flatten()
        {
            Some(n) => Value::Const(Const {
                raw: s.into(),
                base: Base::Dec,
                name: Some(Name::Owned(format!("-{n}"))),
                comment: None,
            }),
            None => Value::dec(s),
        }
    })
}

/// mincore's vector, written by the kernel: a byte a page of the
/// `len` bytes, each shown as its residency bit (`[1, 0, 1]`).
pub(super) fn mincore_vec(c: &mut Call<'_, '_>, v: u64, len: u64) -> Value {
    const PAGE: u64 = 4096;
    let count = len / PAGE + u64::from(len % PAGE != 0);
    c.array_v(v, count, 1, |_, b| {
        Value::dec(b.first().copied().unwrap_or(0) & 1)
    })
}

fn le_i32(b: &[u8]) -> i32 {
    let mut x = [0u8; 4];
    x[..b.len().min(4)].copy_from_slice(&b[..b.len().min(4)]);
    i32::from_le_bytes(x)
}
