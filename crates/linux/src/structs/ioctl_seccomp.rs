//! seccomp user-notification ioctls (type '!') as strace prints them:
//! the notification received (what the kernel wrote, after what the
//! caller passed when that was not all zero), the response sent, id
//! checks and descriptors added to the target.

use vstrace_core::value::Base;
use vstrace_core::{StructBuilder, Value};

use super::ioctl::Kind;
use super::{Call, Fields};
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{Radix, Table as T};

/// The decoder of seccomp request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::{InThen, InV};
    Some(match name {
        "SECCOMP_IOCTL_NOTIF_RECV" => InThen(notif_in, notif_out),
        "SECCOMP_IOCTL_NOTIF_SEND" => InV(resp),
        "SECCOMP_IOCTL_NOTIF_ID_VALID" => InV(id),
        "SECCOMP_IOCTL_NOTIF_ADDFD" => InV(addfd),
        _ => return None,
    })
}

/// The decoder of the misdirected `_IOR('!', 2, __u64)` strace names
/// `SECCOMP_IOCTL_NOTIF_ID_VALID_WRONG_DIR` (no table has it).
pub(super) fn kind_of_code(code: u32) -> Option<Kind> {
    (code == 0x8008_2102).then_some(Kind::InV(id))
}

/// Size of `struct seccomp_notif`.
const NOTIF: usize = 80;

/// A `__u64` through a pointer, in hex.
fn id(c: &mut Call<'_, '_>, v: u64) -> Value {
    match c.fetch_v(v, 8) {
        Ok(b) => Value::boxed(Value::int(Fields::new(&b, 8).u64(0), Base::Hex)),
        Err(e) => e,
    }
}

/// `struct seccomp_notif` in `b`.
fn notif(abi: LinuxAbi, b: &[u8]) -> Value {
    let f = Fields::new(b, 8);
    let arch = f.u32(20);
    let nr = f.u32(16);
    let arch_name = T::AuditArch.xlat().lookup(abi, arch);
    let table = match arch_name {
        Some("AUDIT_ARCH_X86_64") => Some(LinuxAbi::X86_64),
        Some("AUDIT_ARCH_I386") => Some(LinuxAbi::I386),
        _ => None,
    };
    let nr_v = match table.and_then(|t| crate::proto::syscall(t, nr)) {
        Some(d) => Value::name(format!("__NR_{}", d.name), nr),
        None => Value::dec(nr),
    };
    let args = (0..6)
        .map(|i| Value::int(f.u64(32 + 8 * i), Base::Hex))
        .collect();
    let data = StructBuilder::new()
        .field("nr", nr_v)
        .field("arch", fmt::xval_v(abi, T::AuditArch, arch, Radix::Hex))
        .field("instruction_pointer", Value::ptr(f.u64(24)))
        .field(
            "args",
            Value::Array {
                items: args,
                more: false,
            },
        )
        .done();
    StructBuilder::new()
        .field("id", Value::int(f.u64(0), Base::Hex))
        .dec("pid", f.u32(8))
        .field("flags", Value::int(f.u32(12), Base::Hex))
        .field("data", data)
        .done()
}

/// `SECCOMP_IOCTL_NOTIF_RECV` at the entry: the structure unless it is
/// all zero (then only the exit shows it).
fn notif_in(c: &mut Call<'_, '_>, v: u64) -> String {
    match c.fetch(v, NOTIF) {
        Ok(b) if b.iter().all(|&x| x == 0) => String::new(),
        Ok(b) => notif(c.abi, &b).render(),
        Err(s) => s,
    }
}

/// At the exit: what the kernel wrote (its address when the call
/// failed), after the entry's structure.
fn notif_out(c: &mut Call<'_, '_>, v: u64, before: String) -> String {
    if !before.is_empty() && !before.starts_with('{') {
        return before;
    }
    let after = match c.fetch(v, NOTIF) {
        Ok(b) if !c.failed() => notif(c.abi, &b).render(),
        _ => fmt::ptr(v),
    };
    if before.is_empty() {
        after
    } else {
        format!("{before} => {after}")
    }
}

/// `struct seccomp_notif_resp`.
fn resp(c: &mut Call<'_, '_>, v: u64) -> Value {
    let b = match c.fetch_v(v, 24) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let err = f.i32(16);
    let error = match crate::consts::errno_name(-err) {
        Some(n) if err < 0 => Value::name(format!("-{n}"), err),
        _ => Value::dec(err),
    };
    StructBuilder::new()
        .field("id", Value::int(f.u64(0), Base::Hex))
        .dec("val", f.i64(8))
        .field("error", error)
        .field(
            "flags",
            fmt::xflags_v(c.abi, &[T::SeccompIoctlRespFlags], f.u32(20), true, false),
        )
        .done()
}

/// `struct seccomp_notif_addfd`.
fn addfd(c: &mut Call<'_, '_>, v: u64) -> Value {
    let b = match c.fetch_v(v, 24) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    StructBuilder::new()
        .field("id", Value::int(f.u64(0), Base::Hex))
        .field(
            "flags",
            fmt::xflags_v(c.abi, &[T::SeccompIoctlAddfdFlags], f.u32(8), true, false),
        )
        .field(
            "srcfd",
            Value::Fd {
                fd: f.i32(12),
                path: None,
            },
        )
        .dec("newfd", f.i32(16))
        .field(
            "newfd_flags",
            fmt::xflags_v(c.abi, &[T::OpenModeFlags], f.u32(20), true, false),
        )
        .done()
}

#[cfg(test)]
mod tests {
    use vstrace_core::testmem::SparseVirt;

    use super::super::ioctl::tests::{line, EBADF};

    #[test]
    fn seccomp_requests() {
        let mut m = SparseVirt::new();
        let e = "= -1 EBADF (Bad file descriptor)";
        let mut r = vec![0u8; 24];
        r[16..20].copy_from_slice(&(-63i32).to_le_bytes());
        r[20] = 1;
        m.map(0x1000, &r);
        // SECCOMP_IOCTL_NOTIF_SEND _IOWR('!', 1, struct seccomp_notif_resp).
        assert_eq!(
            line(0xc0182101, 0x1000, EBADF, &mut m),
            format!(
                "ioctl(-1, SECCOMP_IOCTL_NOTIF_SEND, {{id=0, val=0, error=-ENOSR, \
                 flags=SECCOMP_USER_NOTIF_FLAG_CONTINUE}}) {e}"
            )
        );
        assert_eq!(
            line(0x80082102, 0x1000, EBADF, &mut m),
            format!("ioctl(-1, SECCOMP_IOCTL_NOTIF_ID_VALID_WRONG_DIR, [0]) {e}")
        );
        // NOTIF_RECV with an all-zero structure: only the exit shows it.
        m.map(0x2000, &[0; 80]);
        assert_eq!(
            line(0xc0502100, 0x2000, EBADF, &mut m),
            format!("ioctl(-1, SECCOMP_IOCTL_NOTIF_RECV, 0x2000) {e}")
        );
    }
}
