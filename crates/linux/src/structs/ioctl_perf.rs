//! perf event (type '$') and namespace (type 0xb7) ioctls as strace
//! prints them: perf's group flags, periods, output and BPF descriptors,
//! filters and BPF program queries; the namespace requests take no
//! argument but the owner's uid, and `NS_GET_NSTYPE` returns a
//! namespace type strace names after the return value.

use vstrace_core::{read, Value};

use super::ioctl::Kind;
use super::{Call, Fields};
use crate::fmt;
use crate::xlat::Table as T;

/// The decoder of perf or nsfs request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::{InThen, InV, NoArg, OutV, ValV};
    Some(match name {
        "PERF_EVENT_IOC_ENABLE" | "PERF_EVENT_IOC_DISABLE" | "PERF_EVENT_IOC_RESET" => {
            // strace prints them as an `unsigned int`.
            ValV(|c, v| fmt::xflags_v(c.abi, &[T::PerfIoctlFlags], v & 0xffff_ffff, true, false))
        }
        "PERF_EVENT_IOC_REFRESH" => ValV(|_, v| Value::dec(v as u32 as i32)),
        "PERF_EVENT_IOC_PERIOD" => InV(u64_ptr),
        "PERF_EVENT_IOC_ID" => OutV(u64_ptr),
        "PERF_EVENT_IOC_SET_OUTPUT" | "PERF_EVENT_IOC_SET_BPF" => ValV(|_, v| Value::Fd {
            fd: i64::from(v as u32 as i32),
            path: None,
        }),
        "PERF_EVENT_IOC_PAUSE_OUTPUT" => ValV(|_, v| Value::dec(v)),
        "PERF_EVENT_IOC_SET_FILTER" => InV(filter),
        "PERF_EVENT_IOC_QUERY_BPF" => InThen(query_bpf, query_bpf_out),
        "PERF_EVENT_IOC_MODIFY_ATTRIBUTES" => InV(super::perf_attr::attr),
        "NS_GET_USERNS" | "NS_GET_PARENT" | "NS_GET_NSTYPE" => NoArg,
        "NS_GET_OWNER_UID" => OutV(|c, v| match c.fetch_v(v, 4) {
            Ok(b) => Value::boxed(Value::dec(Fields::new(&b, 4).u32(0))),
            Err(e) => e,
        }),
        _ => return None,
    })
}

/// A `__u64` through a pointer: `[N]`.
fn u64_ptr(c: &mut Call<'_, '_>, v: u64) -> Value {
    match c.fetch_v(v, 8) {
        Ok(b) => Value::boxed(Value::dec(Fields::new(&b, 8).u64(0))),
        Err(e) => e,
    }
}

/// A NUL-terminated filter string, at most `-s` bytes of it.
fn filter(c: &mut Call<'_, '_>, v: u64) -> Value {
    if v == 0 {
        return Value::Null;
    }
    let max = c.opts.strsize;
    match read::read_cstring(c.mem, v, max) {
        Ok(s) if s.fault.is_none() => {
            // Exactly `max` bytes and then the NUL is not cut.
            let cut = s.truncated
                && !matches!(
                    read::read_struct(c.mem, v.wrapping_add(max as u64), 1).as_deref(),
                    Ok([0])
                );
            Value::str(s.bytes, cut, c.opts.strings_in_hex)
        }
        _ => Value::ptr(v),
    }
}

/// `struct perf_event_query_bpf` at the entry: the room for ids, the
/// structure left open for what the kernel answers.
fn query_bpf(c: &mut Call<'_, '_>, v: u64) -> String {
    match c.fetch(v, 4) {
        Ok(b) => format!("{{ids_len={}, ", Fields::new(&b, 4).u32(0)),
        Err(s) => s,
    }
}

/// At the exit: the program count and ids, or `...` when the call
/// failed.
fn query_bpf_out(c: &mut Call<'_, '_>, v: u64, before: String) -> String {
    if !before.starts_with('{') || before.ends_with('}') {
        return before;
    }
    let count = match c.fetch(v.wrapping_add(4), 4) {
        Ok(b) if !c.failed() => Fields::new(&b, 4).u32(0),
        _ => return format!("{before}...}}"),
    };
    let ids = c.array(v.wrapping_add(8), count, 4, |_, e| {
        Fields::new(e, 4).u32(0).to_string()
    });
    format!("{before}prog_cnt={count}, ids={ids}}}")
}

/// What strace appends to an ioctl's return value: the namespace type
/// `NS_GET_NSTYPE` returned.
pub(super) fn return_detail(c: &Call<'_, '_>, ret: i64) -> Option<String> {
    let code = c.arg(1) as u32;
    if !crate::xlat::ioctl_names(c.abi, code).contains(&"NS_GET_NSTYPE") {
        return None;
    }
    T::SetnsTypes
        .xlat()
        .lookup(c.abi, ret as u64)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use vstrace_core::testmem::SparseVirt;

    use super::super::ioctl::tests::{line, EBADF};

    #[test]
    fn perf_requests() {
        let mut m = SparseVirt::new();
        let e = "= -1 EBADF (Bad file descriptor)";
        // PERF_EVENT_IOC_ENABLE _IO('$', 0).
        assert_eq!(
            line(0x2400, 0xdeadbeefbadc0ded, EBADF, &mut m),
            format!("ioctl(-1, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP|0xbadc0dec) {e}")
        );
        m.map(0x1000, b"ab\0");
        // PERF_EVENT_IOC_SET_FILTER _IOW('$', 6, char *).
        assert_eq!(
            line(0x40082406, 0x1000, EBADF, &mut m),
            format!("ioctl(-1, PERF_EVENT_IOC_SET_FILTER, \"ab\") {e}")
        );
        m.map(0x2000, &[3, 0, 0, 0, 0, 0, 0, 0]);
        // PERF_EVENT_IOC_QUERY_BPF _IOWR('$', 10, struct perf_event_query_bpf *).
        assert_eq!(
            line(0xc008240a, 0x2000, EBADF, &mut m),
            format!("ioctl(-1, PERF_EVENT_IOC_QUERY_BPF, {{ids_len=3, ...}}) {e}")
        );
    }
}
