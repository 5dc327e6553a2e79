//! io_uring_setup(2)'s `struct io_uring_params`: the setup flags, the
//! SQ thread's cpu and idle time, the work queue to attach and any
//! reserved words the caller set, read at the entry; the ring sizes,
//! the features and the ring offsets the kernel wrote, appended at a
//! successful exit (strace shows nothing more after a failure).

use vstrace_core::value::{Base, StructBuilder};
use vstrace_core::Value;

use super::{Call, Fields};
use crate::fmt;
use crate::xlat::Table as T;

/// `sizeof(struct io_uring_params)`.
const SIZE: usize = 120;
/// Where `sq_off` (`struct io_sqring_offsets`) starts.
const SQ_OFF: usize = 40;
/// Where `cq_off` (`struct io_cqring_offsets`) starts.
const CQ_OFF: usize = 80;

/// One ring's offsets: seven u32 fields, then `resv1` (u32) and a u64
/// shown only when not zero.
fn offsets(f: &Fields<'_>, at: usize, names: [&'static str; 7]) -> Value {
    let mut s = StructBuilder::new();
    for (i, n) in names.iter().enumerate() {
        s.dec(*n, f.u32(at + 4 * i));
    }
    if f.u32(at + 28) != 0 {
        s.field("resv1", Value::int(f.u32(at + 28), Base::Hex));
    }
    if f.u64(at + 32) != 0 {
        s.field("resv2", Value::int(f.u64(at + 32), Base::Hex));
    }
    s.done()
}

/// The parameters the kernel reads (strace's entry part).
fn entry_fields(c: &Call<'_, '_>, f: &Fields<'_>, s: &mut StructBuilder) {
    let flags = f.u32(8);
    s.field(
        "flags",
        fmt::xflags_v(c.abi, &[T::UringSetupFlags], flags, true, false),
    );
    s.field("sq_thread_cpu", Value::int(f.u32(12), Base::Hex));
    s.dec("sq_thread_idle", f.u32(16));
    let attach_wq = T::UringSetupFlags
        .xlat()
        .value_of(c.abi, "IORING_SETUP_ATTACH_WQ")
        .unwrap_or(0);
    if attach_wq != 0 && flags & attach_wq != 0 {
        s.field(
            "wq_fd",
            Value::Fd {
                fd: f.i32(24),
                path: None,
            },
        );
    }
    let resv: Vec<u64> = (0..3).map(|i| f.u32(28 + 4 * i)).collect();
    if resv.iter().any(|&r| r != 0) {
        s.field(
            "resv",
            Value::Array {
                items: resv.into_iter().map(|r| Value::int(r, Base::Hex)).collect(),
                more: false,
            },
        );
    }
}

/// `struct io_uring_params` at `va`: the caller's part at the entry; at
/// a successful exit, that and what the kernel wrote back.
pub(crate) fn params(c: &mut Call<'_, '_>, va: u64) -> Value {
    let b = match c.fetch_v(va, SIZE) {
        Ok(b) => b,
        Err(v) => return v,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    entry_fields(c, &f, &mut s);
    if c.ret.is_none() || c.failed() {
        return s.done();
    }
    s.dec("sq_entries", f.u32(0));
    s.dec("cq_entries", f.u32(4));
    s.field(
        "features",
        fmt::xflags_v(c.abi, &[T::UringSetupFeatures], f.u32(20), true, false),
    );
    s.field(
        "sq_off",
        offsets(
            &f,
            SQ_OFF,
            [
                "head",
                "tail",
                "ring_mask",
                "ring_entries",
                "flags",
                "dropped",
                "array",
            ],
        ),
    );
    s.field(
        "cq_off",
        offsets(
            &f,
            CQ_OFF,
            [
                "head",
                "tail",
                "ring_mask",
                "ring_entries",
                "overflow",
                "cqes",
                "flags",
            ],
        ),
    );
    s.done()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::LinuxAbi;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::DecodeOptions;

    fn render(mem: &mut SparseVirt, ret: Option<i64>) -> String {
        let o = DecodeOptions::default();
        let mut c = Call {
            abi: LinuxAbi::X86_64,
            name: "io_uring_setup",
            raw: [2, 0x1000, 0, 0, 0, 0],
            mem,
            opts: &o,
            ret,
            entries: &[],
            index: 1,
        };
        params(&mut c, 0x1000).render()
    }

    #[test]
    fn params_at_the_entry_and_after_success() {
        let mut b = vec![0u8; SIZE];
        b[0..4].copy_from_slice(&2u32.to_le_bytes());
        b[4..8].copy_from_slice(&4u32.to_le_bytes());
        b[20..24].copy_from_slice(&1u32.to_le_bytes()); // IORING_FEAT_SINGLE_MMAP
        b[44..48].copy_from_slice(&64u32.to_le_bytes()); // sq_off.tail
        let mut m = SparseVirt::new();
        m.map(0x1000, &b);
        assert_eq!(
            render(&mut m, None),
            "{flags=0, sq_thread_cpu=0, sq_thread_idle=0}"
        );
        assert_eq!(
            render(&mut m, Some(4)),
            "{flags=0, sq_thread_cpu=0, sq_thread_idle=0, sq_entries=2, cq_entries=4, \
             features=IORING_FEAT_SINGLE_MMAP, sq_off={head=0, tail=64, ring_mask=0, \
             ring_entries=0, flags=0, dropped=0, array=0}, cq_off={head=0, tail=0, \
             ring_mask=0, ring_entries=0, overflow=0, cqes=0, flags=0}}"
        );
        assert_eq!(
            render(&mut m, Some(-22)),
            "{flags=0, sq_thread_cpu=0, sq_thread_idle=0}"
        );
        // Attach to a work queue: its descriptor; reserved words in hex.
        b[8..12].copy_from_slice(&0x20u32.to_le_bytes());
        b[24..28].copy_from_slice(&3u32.to_le_bytes());
        b[32..36].copy_from_slice(&0xa3a2a1a0u32.to_le_bytes());
        m.map(0x1000, &b);
        assert_eq!(
            render(&mut m, None),
            "{flags=IORING_SETUP_ATTACH_WQ, sq_thread_cpu=0, sq_thread_idle=0, wq_fd=3, \
             resv=[0, 0xa3a2a1a0, 0]}"
        );
        // Unreadable: the address.
        let mut m = SparseVirt::new();
        assert_eq!(render(&mut m, None), "0x1000");
    }
}
