//! kexec_load(2)'s segments: an array of `struct kexec_segment` (the
//! caller's words: buffer, its size, the destination, its size), shown
//! when there are at most `KEXEC_SEGMENT_MAX` of them (the address
//! otherwise, as strace).

use vstrace_core::{StructBuilder, Value};

use super::{Call, Fields};

/// `KEXEC_SEGMENT_MAX`: the kernel takes no more.
const SEGMENT_MAX: u64 = 16;

/// `count` segments at `va`.
pub(super) fn segments(c: &mut Call<'_, '_>, va: u64, count: u64) -> Value {
    if count > SEGMENT_MAX {
        return Value::ptr(va);
    }
    let n = c.long_size();
    c.array_v(va, count, 4 * n, |_, b| {
        let f = Fields::new(b, n);
        let mut s = StructBuilder::new();
        s.field("buf", Value::ptr(f.ulong(0)));
        s.dec("bufsz", f.ulong(n));
        s.field("mem", Value::ptr(f.ulong(2 * n)));
        s.dec("memsz", f.ulong(3 * n));
        s.done()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::LinuxAbi;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::DecodeOptions;

    #[test]
    fn segments_of_the_callers_width() {
        let words: Vec<u8> = [0u64, 10, 0x9000, 4096]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        let mut m = SparseVirt::new();
        m.map(0x1000, &words);
        let o = DecodeOptions::default();
        let mut c = Call {
            abi: LinuxAbi::X86_64,
            name: "kexec_load",
            raw: [0, 1, 0x1000, 0, 0, 0],
            mem: &mut m,
            opts: &o,
            ret: None,
            entries: &[],
            index: 2,
        };
        assert_eq!(
            segments(&mut c, 0x1000, 1).render(),
            "[{buf=NULL, bufsz=10, mem=0x9000, memsz=4096}]"
        );
        assert_eq!(segments(&mut c, 0x1000, 17).render(), "0x1000");
        c.abi = LinuxAbi::I386;
        assert_eq!(
            segments(&mut c, 0x1000, 2).render(),
            "[{buf=NULL, bufsz=0, mem=0xa, memsz=0}, {buf=0x9000, bufsz=0, mem=0x1000, memsz=0}]"
        );
    }
}
