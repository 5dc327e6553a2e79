//! Number arguments strace prints with rules of their own: personality's
//! persona word (the execution domain `PER_*` by name, then the flags,
//! each part in the `-X` style: `PER_BSD|SHORT_INODE`, raw
//! `0x6|0x1000000`; the same for the previous persona the call returns,
//! `= 0x6 (PER_BSD)`), and memfd_create's flags with their huge page
//! size (`MFD_HUGETLB|30<<MFD_HUGE_SHIFT`); and kcmp's one small
//! structure argument, `struct kcmp_epoll_slot`; statx's flags (its
//! synchronisation type, then the `AT_*` flags).

use vstrace_core::value::Flag;
use vstrace_core::Value;

use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{Radix, Table};

/// `PER_MASK`: the execution domain's bits.
const PER_MASK: u64 = 0xff;

/// The persona `v` (strace's personality decoder): `0xffffffff` (a
/// query) in hex, else the domain and the flags.
pub(crate) fn persona(abi: LinuxAbi, v: u64, query_hex: bool) -> Value {
    let v = v & 0xffff_ffff;
    if query_hex && v == 0xffff_ffff {
        return Value::int(v, vstrace_core::value::Base::Hex);
    }
    let domain = fmt::xval_v(abi, Table::PersonalityTypes, v & PER_MASK, Radix::Hex);
    let rest = v & !PER_MASK;
    if rest == 0 {
        return domain;
    }
    let flags = fmt::xflags_v(abi, &[Table::PersonalityFlags], rest, false, false);
    Value::Flags(vec![
        Flag::Text(domain.render()),
        Flag::Text(flags.render()),
    ])
}

/// `MFD_HUGE_SHIFT`: where memfd_create's huge page size starts.
const MFD_HUGE_SHIFT: u64 = 26;
/// `MFD_HUGE_MASK`: the huge page size's bits (after the shift).
const MFD_HUGE_MASK: u64 = 0x3f;

/// memfd_create's flags: the `MFD_*` names, then the huge page size as
/// `N<<MFD_HUGE_SHIFT`; `0` alone when none is set.
pub(crate) fn memfd_flags(abi: LinuxAbi, v: u64) -> Value {
    let v = v & 0xffff_ffff;
    let huge = v & (MFD_HUGE_MASK << MFD_HUGE_SHIFT);
    let flags = v & !huge;
    if v == 0 {
        return Value::int(0, vstrace_core::value::Base::Hex);
    }
    let mut parts = Vec::new();
    if flags != 0 || huge == 0 {
        let named = vstrace_core::style::with_style(vstrace_core::ConstStyle::Abbrev, || {
            fmt::xflags_v(abi, &[Table::MemfdCreateFlags], flags, true, false)
        });
        if let Value::Flags(p) = named {
            parts.extend(p);
        }
    }
    if huge != 0 {
        parts.push(Flag::Text(format!(
            "{}<<MFD_HUGE_SHIFT",
            huge >> MFD_HUGE_SHIFT
        )));
    }
    vstrace_core::style::style_flags(v, Value::Flags(parts))
}

/// `AT_STATX_SYNC_TYPE`: statx's synchronisation type bits.
const AT_STATX_SYNC_TYPE: u64 = 0x6000;

/// statx's flags: the synchronisation type by name (`AT_STATX_SYNC_AS_STAT`
/// for none), then the other `AT_*` flags, each part in the `-X` style.
pub(crate) fn statx_flags(abi: LinuxAbi, v: u64) -> Value {
    let v = v & 0xffff_ffff;
    let sync = fmt::xflags_v(
        abi,
        &[Table::AtStatxSyncTypes],
        v & AT_STATX_SYNC_TYPE,
        true,
        true,
    );
    let rest = v & !AT_STATX_SYNC_TYPE;
    if rest == 0 {
        return sync;
    }
    let flags = fmt::xflags_v(abi, &[Table::AtFlags], rest, false, false);
    Value::Flags(vec![Flag::Text(sync.render()), Flag::Text(flags.render())])
}

/// kcmp's `struct kcmp_epoll_slot` (KCMP_EPOLL_TFD's second index):
/// `{efd=3, tfd=4, toff=0}`, the address when unreadable.
pub(crate) fn kcmp_epoll_slot(mem: &mut dyn vstrace_core::VirtMem, v: u64) -> Value {
    if v == 0 {
        return Value::Null;
    }
    let Ok(b) = vstrace_core::read::read_struct(mem, v, 12) else {
        return Value::ptr(v);
    };
    let u = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let fd = |x: u32| Value::Fd {
        fd: i64::from(x as i32),
        path: None,
    };
    let mut s = vstrace_core::StructBuilder::new();
    s.field("efd", fd(u(0)))
        .field("tfd", fd(u(4)))
        .field("toff", Value::dec(u(8)));
    s.done()
}

/// What strace appends to a successful personality(2): the previous
/// persona, `(PER_LINUX|ADDR_NO_RANDOMIZE)`.
pub(crate) fn return_detail(abi: LinuxAbi, ret: i64) -> Option<String> {
    Some(persona(abi, ret as u64, false).render())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::ConstStyle;

    #[test]
    fn domain_then_flags_each_in_the_style() {
        let a = LinuxAbi::X86_64;
        assert_eq!(persona(a, 0xffff_ffff, true).render(), "0xffffffff");
        assert_eq!(
            persona(a, 0x700_0006, true).render(),
            "PER_BSD|SHORT_INODE|WHOLE_SECONDS|STICKY_TIMEOUTS"
        );
        assert_eq!(
            persona(a, 0x1_001f, true).render(),
            "0x1f /* PER_??? */|0x10000"
        );
        let raw = vstrace_core::style::with_style(ConstStyle::Raw, || {
            persona(a, 0x700_0000, true).render()
        });
        assert_eq!(raw, "0|0x7000000");
        let v = vstrace_core::style::with_style(ConstStyle::Verbose, || {
            persona(a, 0x701_0006, true).render()
        });
        assert_eq!(
            v,
            "0x6 /* PER_BSD */|0x7010000 /* SHORT_INODE|WHOLE_SECONDS|STICKY_TIMEOUTS|0x10000 */"
        );
    }

    #[test]
    fn memfd_flags_with_the_huge_page_size() {
        let a = LinuxAbi::X86_64;
        assert_eq!(memfd_flags(a, 0).render(), "0");
        assert_eq!(memfd_flags(a, 0x7800_0000).render(), "30<<MFD_HUGE_SHIFT");
        assert_eq!(
            memfd_flags(a, 0xffff_ffff).render(),
            "MFD_CLOEXEC|MFD_ALLOW_SEALING|MFD_HUGETLB|0x3fffff8|63<<MFD_HUGE_SHIFT"
        );
        let v = vstrace_core::style::with_style(ConstStyle::Verbose, || {
            memfd_flags(a, 0x7800_0000).render()
        });
        assert_eq!(v, "0x78000000 /* 30<<MFD_HUGE_SHIFT */");
    }
}
