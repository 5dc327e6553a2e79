//! futex_waitv's array of `struct futex_waitv` (value, address, flags,
//! a reserved word shown only when set), as strace prints it.

use super::{Call, Fields};
use crate::fmt;
use crate::xlat::{self, Table as T};

/// The kernel's `FUTEX_WAITV_MAX`: most waiters printed.
const WAITV_MAX: u64 = 128;
/// `sizeof(struct futex_waitv)`.
const WAITV_SIZE: usize = 24;

/// `count` waiters at `v`: `[{val=0x1, uaddr=0x..., flags=FUTEX_32}]`.
pub(super) fn waiters(c: &mut Call<'_, '_>, v: u64, count: u64) -> String {
    let abi = c.abi;
    let s = c.array(v, count.min(WAITV_MAX), WAITV_SIZE, |_, b| {
        let f = Fields::new(b, 8);
        let mut s = format!(
            "{{val={}, uaddr={}, flags={}",
            fmt::hex0(f.u64(0)),
            fmt::ptr(f.u64(8)),
            xlat::flags(abi, T::FutexWaiterFlags, f.u32(16))
        );
        let reserved = f.u32(20);
        if reserved != 0 {
            s.push_str(&format!(", __reserved={reserved:#x}"));
        }
        s.push('}');
        s
    });
    super::more_follows(s, count > WAITV_MAX)
}

#[cfg(test)]
mod tests {
    use vstrace_core::testmem::SparseVirt;

    use crate::decode::{decode_enter, decode_exit, format_call, format_return};
    use crate::proto::{by_name, LinuxAbi};
    use crate::DecodeOptions;

    const X: LinuxAbi = LinuxAbi::X86_64;

    #[test]
    fn waiters_as_strace_prints_them() {
        let mut m = SparseVirt::new();
        let mut b = Vec::new();
        b.extend_from_slice(&u64::MAX.to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        b.extend_from_slice(&1u64.to_le_bytes());
        b.extend_from_slice(&0x1ffcu64.to_le_bytes());
        b.extend_from_slice(&0x82u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        m.map(0x1fd0, &b);
        let d = by_name(X, "futex_waitv").unwrap();
        let o = DecodeOptions::default();
        let line = |raw: [u64; 5], m: &mut SparseVirt| {
            let mut a = decode_enter(d, X, &raw, m, &o);
            decode_exit(d, X, &raw, -22, m, &o, &mut a);
            format_call(d, &a, Some(&format_return(d, X, -22)))
        };
        assert_eq!(
            line([0x1fd0, 2, 0, 0, 1], &mut m),
            "futex_waitv([{val=0xffffffffffffffff, uaddr=NULL, \
             flags=FUTEX_32|FUTEX_PRIVATE_FLAG|0xffffff7d, __reserved=0xffffffff}, \
             {val=0x1, uaddr=0x1ffc, flags=FUTEX_32|FUTEX_PRIVATE_FLAG}], 2, 0, NULL, \
             CLOCK_MONOTONIC) = -1 EINVAL (Invalid argument)"
        );
        // The third waiter is past the mapped page.
        assert_eq!(
            line([0x1fe8, 2, 0, 0, 0xffff_ffff], &mut m),
            "futex_waitv([{val=0x1, uaddr=0x1ffc, flags=FUTEX_32|FUTEX_PRIVATE_FLAG}, \
             ... /* 0x2000 */], 2, 0, NULL, 0xffffffff /* CLOCK_??? */) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            line([0x1fe8, 0, 1, 0, 0], &mut m),
            "futex_waitv([], 0, 0x1, NULL, CLOCK_REALTIME) = -1 EINVAL (Invalid argument)"
        );
    }
}
