//! userfaultfd ioctls (type 0xaa) as strace prints them: the API
//! handshake (the features the kernel granted shown after ` => ` when
//! they changed, and the requests it allows), range registration, page
//! copies and zero pages with the length the kernel reports, wake-ups.
//! The structures are read at the entry and completed at a successful
//! exit, so the entry's text is left open and closed at the exit.

use super::ioctl::Kind;
use super::{Call, Fields};
use crate::fmt;
use crate::xlat::{self, Table as T};

/// The decoder of userfaultfd request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::{In, InThen};
    Some(match name {
        "UFFDIO_API" => InThen(api_in, api_out),
        "UFFDIO_COPY" => InThen(copy_in, |c, v, b| close(c, v, b, 24, "copy")),
        "UFFDIO_REGISTER" => InThen(
            |c, v| range_mode(c, v, T::UffdRegisterModeFlags),
            register_out,
        ),
        "UFFDIO_ZEROPAGE" => InThen(
            |c, v| range_mode(c, v, T::UffdZeropageFlags),
            |c, v, b| close(c, v, b, 16, "zeropage"),
        ),
        "UFFDIO_UNREGISTER" | "UFFDIO_WAKE" => In(|c, v| match c.fetch(v, 16) {
            Ok(b) => range(&Fields::new(&b, 8), 0),
            Err(s) => s,
        }),
        _ => return None,
    })
}

/// `struct uffdio_range` at `o`.
fn range(f: &Fields<'_>, o: usize) -> String {
    format!(
        "{{start={}, len={}}}",
        fmt::hex0(f.u64(o)),
        fmt::hex0(f.u64(o + 8))
    )
}

/// `struct uffdio_api` as the caller fills it (left open).
fn api_in(c: &mut Call<'_, '_>, v: u64) -> String {
    match c.fetch(v, 24) {
        Ok(b) => {
            let f = Fields::new(&b, 8);
            format!(
                "{{api={}, features={}",
                fmt::hex0(f.u64(0)),
                xlat::flags(c.abi, T::UffdApiFeatures, f.u64(8))
            )
        }
        Err(s) => s,
    }
}

/// Whether `before` is an entry's structure left open for the exit.
fn open(before: &str) -> bool {
    before.starts_with('{') && !before.ends_with('}')
}

/// `UFFDIO_API` at the exit: the features granted when they differ
/// from those asked for, and the requests allowed.
fn api_out(c: &mut Call<'_, '_>, v: u64, before: String) -> String {
    if !open(&before) {
        return before;
    }
    let rest = match c.fetch(v, 24) {
        Ok(b) if !c.failed() => {
            let f = Fields::new(&b, 8);
            let features = xlat::flags(c.abi, T::UffdApiFeatures, f.u64(8));
            let changed = !before.ends_with(&format!("features={features}"));
            let mut s = String::new();
            if changed {
                s.push_str(&format!(" => features={features}"));
            }
            s.push_str(&format!(
                ", ioctls={}",
                xlat::flags(c.abi, T::UffdApiFlags, f.u64(16))
            ));
            s
        }
        _ => String::new(),
    };
    format!("{before}{rest}}}")
}

/// `struct uffdio_copy` as the caller fills it (left open).
fn copy_in(c: &mut Call<'_, '_>, v: u64) -> String {
    match c.fetch(v, 40) {
        Ok(b) => {
            let f = Fields::new(&b, 8);
            format!(
                "{{dst={}, src={}, len={}, mode={}",
                fmt::hex0(f.u64(0)),
                fmt::hex0(f.u64(8)),
                fmt::hex0(f.u64(16)),
                xlat::flags(c.abi, T::UffdCopyFlags, f.u64(24))
            )
        }
        Err(s) => s,
    }
}

/// At a successful exit: the `__s64` result the kernel wrote after the
/// `__u64 mode` at `o` (`copy`, `zeropage`); the structure closed.
fn close(c: &mut Call<'_, '_>, v: u64, before: String, o: usize, name: &str) -> String {
    if !open(&before) {
        return before;
    }
    let rest = match c.fetch(v.wrapping_add(o as u64 + 8), 8) {
        Ok(b) if !c.failed() => format!(", {name}={}", fmt::hex0(Fields::new(&b, 8).u64(0))),
        _ => String::new(),
    };
    format!("{before}{rest}}}")
}

/// `struct uffdio_register` or `struct uffdio_zeropage` as the caller
/// fills it: a range and a mode of table `t` (left open).
fn range_mode(c: &mut Call<'_, '_>, v: u64, t: T) -> String {
    match c.fetch(v, 32) {
        Ok(b) => {
            let f = Fields::new(&b, 8);
            format!(
                "{{range={}, mode={}",
                range(&f, 0),
                xlat::flags(c.abi, t, f.u64(16))
            )
        }
        Err(s) => s,
    }
}

/// `UFFDIO_REGISTER` at the exit: the requests the range allows.
fn register_out(c: &mut Call<'_, '_>, v: u64, before: String) -> String {
    if !open(&before) {
        return before;
    }
    let rest = match c.fetch(v, 32) {
        Ok(b) if !c.failed() => format!(
            ", ioctls={}",
            xlat::flags(c.abi, T::UffdRegisterIoctlFlags, Fields::new(&b, 8).u64(24))
        ),
        _ => String::new(),
    };
    format!("{before}{rest}}}")
}

#[cfg(test)]
mod tests {
    use vstrace_core::testmem::SparseVirt;

    use super::super::ioctl::tests::{line, EBADF};

    #[test]
    fn uffdio_requests() {
        let mut m = SparseVirt::new();
        let mut b = vec![0u8; 40];
        b[1] = 0x10; // dst 0x1000
        b[9] = 0x20; // src 0x2000
        b[17] = 0x10; // len 0x1000
        b[24] = 1; // UFFDIO_COPY_MODE_DONTWAKE
        b[33] = 0x10; // copy 0x1000
        m.map(0x1000, &b);
        // UFFDIO_COPY _IOWR(0xaa, 3, struct uffdio_copy).
        assert_eq!(
            line(0xc028aa03, 0x1000, 0, &mut m),
            "ioctl(-1, UFFDIO_COPY, {dst=0x1000, src=0x2000, len=0x1000, \
             mode=UFFDIO_COPY_MODE_DONTWAKE, copy=0x1000}) = 0"
        );
        assert_eq!(
            line(0xc028aa03, 0x1000, EBADF, &mut m),
            "ioctl(-1, UFFDIO_COPY, {dst=0x1000, src=0x2000, len=0x1000, \
             mode=UFFDIO_COPY_MODE_DONTWAKE}) = -1 EBADF (Bad file descriptor)"
        );
        // UFFDIO_WAKE _IOR(0xaa, 2, struct uffdio_range).
        assert_eq!(
            line(0x8010aa02, 0x1000, 0, &mut m),
            "ioctl(-1, UFFDIO_WAKE, {start=0x1000, len=0x2000}) = 0"
        );
    }
}
