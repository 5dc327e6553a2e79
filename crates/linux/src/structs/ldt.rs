//! `struct user_desc` (set_thread_area, get_thread_area, modify_ldt), as
//! strace's `print_user_desc`: the whole descriptor when the kernel reads
//! it, the entry number at the entry and the rest at a successful exit
//! when the kernel writes it.

use vstrace_core::value::{Base, StructBuilder};
use vstrace_core::Value;

use super::ipc_ctl::id;
use super::{Call, Fields};

/// Size of `struct user_desc` (both ABIs).
pub(super) const USER_DESC: usize = 16;

/// strace's `PRINT_FIELD_0X` of a 32-bit field: `%#08x` (so `00000000`
/// for zero, `0x000012` for 0x12).
fn hex0x(v: u64) -> Value {
    Value::int(v, Base::Hex08)
}

/// The fields after `entry_number`.
fn rest(s: &mut StructBuilder, f: &Fields<'_>, long: usize) {
    let bits = f.u32(12);
    s.field("base_addr", hex0x(f.u32(4)))
        .field("limit", hex0x(f.u32(8)))
        .dec("seg_32bit", bits & 1)
        .dec("contents", (bits >> 1) & 3)
        .dec("read_exec_only", (bits >> 3) & 1)
        .dec("limit_in_pages", (bits >> 4) & 1)
        .dec("seg_not_present", (bits >> 5) & 1)
        .dec("useable", (bits >> 6) & 1);
    // `lm` exists for 64-bit processes only.
    if long == 8 {
        s.dec("lm", (bits >> 7) & 1);
    }
}

/// set_thread_area's descriptor, read whole at the entry.
pub(crate) fn user_desc(c: &mut Call<'_, '_>, va: u64) -> Value {
    let b = match c.fetch_v(va, USER_DESC) {
        Ok(b) => b,
        Err(v) => return v,
    };
    let f = Fields::new(&b, 4);
    let mut s = StructBuilder::new();
    s.field("entry_number", id(f.u32(0)));
    rest(&mut s, &f, c.long_size());
    s.done()
}

/// get_thread_area's descriptor: the entry number at the entry; at the
/// exit the whole descriptor, or `, ...` after a failure.
pub(crate) fn user_desc_get(c: &mut Call<'_, '_>, va: u64) -> Value {
    let entry = match c.fetch_v(va, 4) {
        Ok(b) => Fields::new(&b, 4).u32(0),
        Err(v) => return v,
    };
    let mut s = StructBuilder::new();
    s.field("entry_number", id(entry));
    if c.ret.is_none() || c.failed() || !c.opts.structs {
        return s.abbreviated();
    }
    match c.fetch(va, USER_DESC) {
        Ok(b) => {
            rest(&mut s, &Fields::new(&b, 4), c.long_size());
            s.done()
        }
        Err(_) => s.abbreviated(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::LinuxAbi;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::DecodeOptions;

    #[test]
    fn user_desc_whole_or_its_entry_number() {
        let mut m = SparseVirt::new();
        let mut b = Vec::new();
        for w in [u32::MAX, 0, 0x8b8a_8988, 0b1000_1011] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        m.map(0x1000, &b);
        let o = DecodeOptions::default();
        let mut c = Call {
            abi: LinuxAbi::X86_64,
            name: "set_thread_area",
            raw: [0x1000, 0, 0, 0, 0, 0],
            mem: &mut m,
            opts: &o,
            ret: None,
            entries: &[],
            index: 0,
        };
        assert_eq!(
            user_desc(&mut c, 0x1000).render(),
            "{entry_number=-1, base_addr=00000000, limit=0x8b8a8988, seg_32bit=1, \
             contents=1, read_exec_only=1, limit_in_pages=0, seg_not_present=0, \
             useable=0, lm=1}"
        );
        c.ret = Some(-38);
        assert_eq!(
            user_desc_get(&mut c, 0x1000).render(),
            "{entry_number=-1, ...}"
        );
        assert_eq!(user_desc_get(&mut c, 0x9000).render(), "0x9000");
    }
}
