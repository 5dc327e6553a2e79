//! getdents/getdents64's buffer in full (`-v`), as strace's `xgetdents`
//! prints it: each record's head (`d_ino`, `d_off`, `d_reclen`), its name
//! and its type (old `linux_dirent`: the type in the record's last byte
//! after the name; `linux_dirent64`: before it). Without `-v` the buffer
//! is its address and a count (`shape.rs`).

use vstrace_core::read;
use vstrace_core::{StructBuilder, Value};

use super::Ctx;
use crate::fmt;
use crate::xlat::{Radix, Table};

/// strace's bound on a printed `d_name`.
const D_NAME_LEN_MAX: u64 = 256;
/// Most records shown: a hostile length cannot make the walk unbounded
/// (`...` after them).
const MAX_RECORDS: usize = 4096;

impl Ctx<'_, '_> {
    /// The records of a buffer of `len` bytes at `va` (the call's return
    /// value): `[{d_ino=..., d_name="...", d_type=DT_DIR}, ...]`.
    pub(super) fn dirents_v(&mut self, va: u64, len: u64) -> Value {
        let wide = self.desc.name.ends_with("64");
        let w = self.abi.word_size();
        // offsetof(d_name): two longs and d_reclen; dirent64 two u64,
        // d_reclen and d_type.
        let header = if wide { 19 } else { 2 * w + 2 };
        let (mut addr, mut len) = (va, len);
        let mut items = Vec::new();
        let mut more = false;
        while len >= header {
            if items.len() == MAX_RECORDS {
                more = true;
                break;
            }
            let Ok(h) = read::read_struct(self.mem, addr, header as usize) else {
                if items.is_empty() {
                    return Value::ptr(addr);
                }
                more = true;
                break;
            };
            let word = |at: usize, n: usize| {
                h[at..at + n]
                    .iter()
                    .rev()
                    .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
            };
            let (ino, off, reclen_at) = if wide {
                (word(0, 8), word(8, 8), 16)
            } else {
                (
                    word(0, w as usize),
                    word(w as usize, w as usize),
                    2 * w as usize,
                )
            };
            let reclen = word(reclen_at, 2);
            let mut s = StructBuilder::new();
            s.field("d_ino", Value::dec(ino));
            s.field("d_off", Value::dec(off));
            s.field("d_reclen", Value::dec(reclen));
            // A record longer than what is left, or shorter than its head,
            // is cut to what can be shown (the kernel never writes one).
            let (rec, next_len) = if reclen > len {
                (len, 0)
            } else if reclen < header {
                (header, len - header)
            } else {
                (reclen, len - reclen)
            };
            let name_at = addr.wrapping_add(header);
            let abi = self.abi;
            let dtype = |v: u64| fmt::xval_v(abi, Table::DirentTypes, v, Radix::Dec);
            if wide {
                s.field("d_type", dtype(word(18, 1)));
                let n = (rec - header).min(D_NAME_LEN_MAX);
                if n > 0 {
                    let name = self.string(name_at, (n - 1) as usize);
                    s.field("d_name", name);
                }
            } else if rec > header {
                let name_type = rec - header;
                let n = (name_type - 1).min(D_NAME_LEN_MAX);
                if n > 0 {
                    let name = self.string(name_at, (n - 1) as usize);
                    s.field("d_name", name);
                }
                let t = read::read_struct(self.mem, name_at.wrapping_add(name_type - 1), 1);
                let t = match t.as_deref() {
                    Ok([b]) => dtype(u64::from(*b)),
                    _ => Value::ptr(name_at.wrapping_add(name_type - 1)),
                };
                s.field("d_type", t);
            }
            items.push(s.done());
            if next_len == 0 {
                break;
            }
            addr = addr.wrapping_add(rec);
            len = next_len;
        }
        Value::Array { items, more }
    }
}
