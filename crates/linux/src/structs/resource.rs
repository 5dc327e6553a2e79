//! Process resources and identity: `struct tms`, `struct rlimit` (32-bit
//! for i386 callers) and `rlimit64`, `struct rusage`, `struct sysinfo`,
//! the utsname structures, `sched_param`, `sched_attr` and cpu sets.

use vstrace_core::value::Base;
use vstrace_core::{StructBuilder, Value};

use super::time::{tv_at_v, Width};
use super::{Call, Fields, StructKind, MAX_STRUCT};
use crate::consts::Names;
use crate::fmt;

/// Scheduling policies (`SCHED_*`).
static SCHED_POLICIES: Names = crate::xlat::tables::SCHEDULERS_X86_64;

/// `sched_attr.sched_flags` bits.
static SCHED_FLAGS: Names = crate::xlat::tables::SCHED_FLAGS_X86_64;

/// Clock ticks per second of `clock_t` values (the kernel's USER_HZ,
/// 100 on x86).
const USER_HZ: u64 = 100;

/// A value of a table by name, or in hex with strace's `/* X_??? */`.
pub(crate) fn xval(v: u64, names: Names, unknown: &str) -> String {
    match crate::consts::lookup(names, v) {
        Some(n) => n.to_string(),
        None => format!("{v:#x} /* {unknown} */"),
    }
}

/// Flag bits by name; bits of no name in hex, with strace's
/// `/* X_??? */` when no bit has a name.
pub(crate) fn xflags(v: u64, names: Names, unknown: &str) -> String {
    let text = fmt::flags(v, names, "0");
    // -X raw: every value is hex, none is unknown (strace adds no comment).
    let raw = vstrace_core::style::style() == vstrace_core::ConstStyle::Raw;
    // -X verbose names the bits in a comment of its own.
    if v != 0 && text.starts_with("0x") && !raw && !text.contains("/*") {
        format!("{text} /* {unknown} */")
    } else {
        text
    }
}

/// A `clock_t` with its seconds in a comment: `35 /* 0.35 s */`.
pub fn clock_t_v(v: u64) -> Value {
    // -X raw: strace leaves the seconds comment out.
    if v == 0 || vstrace_core::style::style() == vstrace_core::ConstStyle::Raw {
        return Value::dec(v);
    }
    Value::Commented {
        value: Box::new(Value::dec(v)),
        comment: format!("{}.{:02} s", v / USER_HZ, v % USER_HZ),
    }
}

/// Text of [`clock_t_v`].
pub fn clock_t(v: u64) -> String {
    clock_t_v(v).render()
}

/// A resource limit: `RLIM64_INFINITY`, `8192*1024`, or the number.
fn rlim(v: u64, wide: bool) -> Value {
    let inf = if wide { u64::MAX } else { u64::from(u32::MAX) };
    if v == inf {
        let name = if wide {
            "RLIM64_INFINITY"
        } else {
            "RLIM_INFINITY"
        };
        Value::name(name, v)
    } else {
        Value::int(v, Base::Kilo)
    }
}

/// The 14 counters of `struct rusage` after its two timevals.
const RUSAGE_COUNTERS: [&str; 14] = [
    "ru_maxrss",
    "ru_ixrss",
    "ru_idrss",
    "ru_isrss",
    "ru_minflt",
    "ru_majflt",
    "ru_nswap",
    "ru_inblock",
    "ru_oublock",
    "ru_msgsnd",
    "ru_msgrcv",
    "ru_nsignals",
    "ru_nvcsw",
    "ru_nivcsw",
];

/// sched_getscheduler's result: the policy's name.
pub(crate) fn policy_name(ret: i64) -> Option<String> {
    crate::consts::lookup(SCHED_POLICIES, ret as u64).map(str::to_string)
}

fn rusage(c: &mut Call<'_, '_>, v: u64) -> Value {
    // wait4 fills it only when a child was reaped (a positive result).
    if c.name == "wait4" && c.ret == Some(0) {
        return Value::ptr(v);
    }
    let n = c.long_size();
    let w = Width::Long(n);
    let b = match c.fetch_v(v, 2 * w.pair() + 14 * n) {
        Ok(b) => b,
        Err(v) => return v,
    };
    let mut s = StructBuilder::new();
    s.field("ru_utime", tv_at_v(&b, 0, w, true))
        .field("ru_stime", tv_at_v(&b, w.pair(), w, true));
    if c.opts.verbose {
        let f = Fields::new(&b, n);
        for (k, name) in RUSAGE_COUNTERS.iter().enumerate() {
            s.dec(*name, f.ulong(2 * w.pair() + k * n));
        }
        s.done()
    } else {
        s.abbreviated()
    }
}

fn sysinfo(c: &mut Call<'_, '_>, v: u64) -> Value {
    let n = c.long_size();
    // uptime, loads[3], six sizes, procs (u16) and its padding, two more
    // sizes, mem_unit (u32), and the padding to 64 bytes on i386.
    let procs_off = 10 * n;
    let high_off = procs_off + n.max(4);
    let size = high_off + 2 * n + 4;
    let b = match c.fetch_v(v, size) {
        Ok(b) => b,
        Err(v) => return v,
    };
    let f = Fields::new(&b, n);
    let u = |k: usize| f.ulong(k * n);
    let mut s = StructBuilder::new();
    s.dec("uptime", f.long(0)).field(
        "loads",
        Value::Array {
            items: vec![Value::dec(u(1)), Value::dec(u(2)), Value::dec(u(3))],
            more: false,
        },
    );
    for (k, name) in [
        "totalram",
        "freeram",
        "sharedram",
        "bufferram",
        "totalswap",
        "freeswap",
    ]
    .into_iter()
    .enumerate()
    {
        s.dec(name, u(4 + k));
    }
    s.dec("procs", f.u16(procs_off))
        .dec("totalhigh", f.ulong(high_off))
        .dec("freehigh", f.ulong(high_off + n))
        .dec("mem_unit", f.u32(high_off + 2 * n))
        .done()
}

/// `struct __sysctl_args`: the pointers and lengths _sysctl was given
/// (the kernel reads the whole structure, reserved words included).
fn sysctl_args(c: &mut Call<'_, '_>, v: u64) -> Value {
    let n = c.long_size();
    // name, nlen (an int padded to a long), oldval, oldlenp, newval,
    // newlen, then __unused[4].
    let b = match c.fetch_v(v, 10 * n) {
        Ok(b) => b,
        Err(v) => return v,
    };
    let f = Fields::new(&b, n);
    StructBuilder::new()
        .field("name", Value::ptr(f.ulong(0)))
        .dec("nlen", f.i32(n))
        .field("oldval", Value::ptr(f.ulong(2 * n)))
        .field("oldlenp", Value::ptr(f.ulong(3 * n)))
        .field("newval", Value::ptr(f.ulong(4 * n)))
        .dec("newlen", f.ulong(5 * n))
        .done()
}

/// utsname with `fields` strings of `len` bytes each (6 x 65, 5 x 65 or
/// 5 x 9); abbreviated to sysname and nodename unless `-v`.
fn utsname(c: &mut Call<'_, '_>, v: u64, fields: usize, len: usize) -> Value {
    const NAMES: [&str; 6] = [
        "sysname",
        "nodename",
        "release",
        "version",
        "machine",
        "domainname",
    ];
    let b = match c.fetch_v(v, fields * len) {
        Ok(b) => b,
        Err(v) => return v,
    };
    let f = Fields::new(&b, 8);
    let shown = if c.opts.verbose { fields } else { 2 };
    let mut s = StructBuilder::new();
    for (k, name) in NAMES.iter().take(shown).enumerate() {
        s.field(*name, f.cstring_v(k * len, len));
    }
    if shown < fields {
        s.abbreviated()
    } else {
        s.done()
    }
}

/// sched_setattr's attribute: at the entry; at an E2BIG exit, the entry
/// text and the size the kernel wants (`{size=1} => {size=56}`).
fn sched_setattr(c: &mut Call<'_, '_>, v: u64) -> String {
    const E2BIG: i64 = -7;
    match (c.ret, c.entry().map(str::to_string)) {
        (None, _) | (Some(_), None) => sched_attr(c, v, None),
        (Some(E2BIG), Some(e)) => match c.fetch(v, 4) {
            Ok(b) => format!("{e} => {{size={}}}", Fields::new(&b, 4).u32(0)),
            Err(_) => e.to_string(),
        },
        (Some(_), Some(e)) => e.to_string(),
    }
}

fn sched_attr(c: &mut Call<'_, '_>, v: u64, usize_arg: Option<u8>) -> String {
    const MIN: u64 = 48;
    const VER1: u64 = 56;
    // The size field as the caller wrote it (sched_setattr).
    let mut given = 0;
    let (size, usize, set) = match usize_arg {
        // sched_getattr: the kernel wrote `size` bytes, saying how many.
        Some(a) => {
            let want = c.arg(a).min(VER1) as usize;
            let b = match c.fetch(v, want.max(4)) {
                Ok(b) => b,
                Err(s) => return s,
            };
            let size = Fields::new(&b, 8).u32(0);
            (size, size, false)
        }
        None => {
            let b = match c.fetch(v, 4) {
                Ok(b) => b,
                Err(s) => return s,
            };
            given = Fields::new(&b, 8).u32(0);
            let usize = if given == 0 { MIN } else { given };
            (usize.min(VER1), usize, true)
        }
    };
    let b = if size >= MIN {
        match c.fetch(v, size as usize) {
            Ok(b) => b,
            Err(s) => return s,
        }
    } else {
        Vec::new()
    };
    let f = Fields::new(&b, 8);
    let mut s = format!("{{size={}", if set { given } else { size });
    if size >= MIN {
        let policy = f.u32(4);
        let flags = f.u64(8);
        let keep = flags & 0x18 != 0;
        if !set || (policy as i32) < 0 || !keep {
            s.push_str(&format!(
                ", sched_policy={}",
                xval(policy, SCHED_POLICIES, "SCHED_???")
            ));
        }
        s.push_str(&format!(
            ", sched_flags={}",
            xflags(flags, SCHED_FLAGS, "SCHED_FLAG_???")
        ));
        if !set || flags & 0x10 == 0 {
            s.push_str(&format!(
                ", sched_nice={}, sched_priority={}, sched_runtime={}, sched_deadline={}, sched_period={}",
                f.i32(16),
                f.u32(20),
                f.u64(24),
                f.u64(32),
                f.u64(40)
            ));
        }
        if size >= VER1 {
            s.push_str(&format!(
                ", sched_util_min={}, sched_util_max={}",
                f.u32(48),
                f.u32(52)
            ));
        }
    }
    if usize > size {
        s.push_str(", ...");
    }
    s.push('}');
    s
}

/// A cpu set of `len` bytes: the cpus whose bit is set, `[0 1]`.
pub(super) fn cpu_set(c: &mut Call<'_, '_>, v: u64, len: u64) -> String {
    if v == 0 {
        return "NULL".into();
    }
    if len == 0 {
        return "[]".into();
    }
    let shown = len.min(MAX_STRUCT as u64) as usize;
    let b = match c.fetch(v, shown) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let mut cpus: Vec<String> = b
        .iter()
        .enumerate()
        .flat_map(|(k, byte)| {
            (0..8)
                .filter(move |i| byte & (1 << i) != 0)
                .map(move |i| k * 8 + i)
        })
        .map(|i| i.to_string())
        .collect();
    if (shown as u64) < len {
        cpus.push("...".into());
    }
    format!("[{}]", cpus.join(" "))
}

/// Decodes the resource structures of [`super::decode`].
pub(crate) fn decode(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> String {
    use StructKind as K;
    match kind {
        K::SchedAttr(None) => sched_setattr(c, v),
        K::SchedAttr(a) => sched_attr(c, v, a),
        K::CpuSet(a) => {
            // At the exit the return value is the size the kernel wrote.
            let len = match c.ret {
                Some(r) if c.name == "sched_getaffinity" => r.max(0) as u64,
                _ => c.arg(a) & 0xffff_ffff,
            };
            cpu_set(c, v, len)
        }
        // The typed ones.
        _ => value(c, kind, v).map_or_else(|| fmt::ptr(v), |t| t.render()),
    }
}

/// The typed resource structures (see [`super::value`]); `None` for
/// the others.
pub(crate) fn value(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> Option<Value> {
    use StructKind as K;
    let n = c.long_size();
    Some(match kind {
        K::Tms => match c.fetch_v(v, 4 * n) {
            Ok(b) => {
                let f = Fields::new(&b, n);
                // clock_t is a signed long, shown as unsigned 64-bit.
                let t = |k: usize| clock_t_v(f.long(k * n) as u64);
                StructBuilder::new()
                    .field("tms_utime", t(0))
                    .field("tms_stime", t(1))
                    .field("tms_cutime", t(2))
                    .field("tms_cstime", t(3))
                    .done()
            }
            Err(v) => v,
        },
        K::Rlimit | K::Rlimit64 => {
            let wide = kind == K::Rlimit64 || n == 8;
            let w = if wide { 8 } else { 4 };
            match c.fetch_v(v, 2 * w) {
                Ok(b) => {
                    let f = Fields::new(&b, w);
                    StructBuilder::new()
                        .field("rlim_cur", rlim(f.ulong(0), wide))
                        .field("rlim_max", rlim(f.ulong(w), wide))
                        .done()
                }
                Err(v) => v,
            }
        }
        K::Rusage => rusage(c, v),
        K::Sysinfo => sysinfo(c, v),
        K::SysctlArgs => sysctl_args(c, v),
        K::Utsname => utsname(c, v, 6, 65),
        K::OldUtsname => utsname(c, v, 5, 65),
        K::OldoldUtsname => utsname(c, v, 5, 9),
        K::SchedParam => match c.fetch_v(v, 4) {
            Ok(b) => Value::boxed(Value::dec(Fields::new(&b, 4).i32(0))),
            Err(v) => v,
        },
        _ => return None,
    })
}
