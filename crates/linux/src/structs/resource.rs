//! Process resources and identity: `struct tms`, `struct rlimit` (32-bit
//! for i386 callers) and `rlimit64`, `struct rusage`, `struct sysinfo`,
//! the utsname structures, `sched_param`, `sched_attr` and cpu sets.

use super::time::{tv_at, Width};
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
    if v != 0 && text.starts_with("0x") {
        format!("{text} /* {unknown} */")
    } else {
        text
    }
}

/// A `clock_t` with its seconds in a comment: `35 /* 0.35 s */`.
pub fn clock_t(v: u64) -> String {
    if v == 0 || crate::xlat::style() == vstrace_core::ConstStyle::Raw {
        return v.to_string();
    }
    format!("{v} /* {}.{:02} s */", v / USER_HZ, v % USER_HZ)
}

/// A resource limit: `RLIM64_INFINITY`, `8192*1024`, or the number.
fn rlim(v: u64, wide: bool) -> String {
    let inf = if wide { u64::MAX } else { u64::from(u32::MAX) };
    let named = if v == inf {
        Some(
            if wide {
                "RLIM64_INFINITY"
            } else {
                "RLIM_INFINITY"
            }
            .to_string(),
        )
    } else if v > 1024 && v % 1024 == 0 {
        Some(format!("{}*1024", v / 1024))
    } else {
        None
    };
    let num = || v.to_string();
    crate::xlat::styled(num, named, num)
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

fn rusage(c: &mut Call<'_, '_>, v: u64) -> String {
    // wait4 fills it only when a child was reaped (a positive result).
    if c.name == "wait4" && c.ret == Some(0) {
        return fmt::ptr(v);
    }
    let n = c.long_size();
    let w = Width::Long(n);
    let b = match c.fetch(v, 2 * w.pair() + 14 * n) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let mut s = format!(
        "{{ru_utime={}, ru_stime={}",
        tv_at(&b, 0, w, true),
        tv_at(&b, w.pair(), w, true)
    );
    if c.opts.verbose {
        let f = Fields::new(&b, n);
        for (k, name) in RUSAGE_COUNTERS.iter().enumerate() {
            s.push_str(&format!(", {name}={}", f.ulong(2 * w.pair() + k * n)));
        }
    } else {
        s.push_str(", ...");
    }
    s.push('}');
    s
}

fn sysinfo(c: &mut Call<'_, '_>, v: u64) -> String {
    let n = c.long_size();
    // uptime, loads[3], six sizes, procs (u16) and its padding, two more
    // sizes, mem_unit (u32), and the padding to 64 bytes on i386.
    let procs_off = 10 * n;
    let high_off = procs_off + n.max(4);
    let size = high_off + 2 * n + 4;
    let b = match c.fetch(v, size) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, n);
    let u = |k: usize| f.ulong(k * n);
    format!(
        "{{uptime={}, loads=[{}, {}, {}], totalram={}, freeram={}, sharedram={}, bufferram={}, \
         totalswap={}, freeswap={}, procs={}, totalhigh={}, freehigh={}, mem_unit={}}}",
        f.long(0),
        u(1),
        u(2),
        u(3),
        u(4),
        u(5),
        u(6),
        u(7),
        u(8),
        u(9),
        f.u16(procs_off),
        f.ulong(high_off),
        f.ulong(high_off + n),
        f.u32(high_off + 2 * n)
    )
}

/// utsname with `fields` strings of `len` bytes each (6 x 65, 5 x 65 or
/// 5 x 9); abbreviated to sysname and nodename unless `-v`.
fn utsname(c: &mut Call<'_, '_>, v: u64, fields: usize, len: usize) -> String {
    const NAMES: [&str; 6] = [
        "sysname",
        "nodename",
        "release",
        "version",
        "machine",
        "domainname",
    ];
    let b = match c.fetch(v, fields * len) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, 8);
    let shown = if c.opts.verbose { fields } else { 2 };
    let mut parts: Vec<String> = NAMES
        .iter()
        .take(shown)
        .enumerate()
        .map(|(k, name)| format!("{name}={}", f.cstring(k * len, len)))
        .collect();
    if shown < fields {
        parts.push("...".into());
    }
    format!("{{{}}}", parts.join(", "))
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
fn cpu_set(c: &mut Call<'_, '_>, v: u64, len: u64) -> String {
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
    let n = c.long_size();
    match kind {
        K::Tms => match c.fetch(v, 4 * n) {
            Ok(b) => {
                let f = Fields::new(&b, n);
                // clock_t is a signed long, shown as unsigned 64-bit.
                let t = |k: usize| clock_t(f.long(k * n) as u64);
                format!(
                    "{{tms_utime={}, tms_stime={}, tms_cutime={}, tms_cstime={}}}",
                    t(0),
                    t(1),
                    t(2),
                    t(3)
                )
            }
            Err(s) => s,
        },
        K::Rlimit | K::Rlimit64 => {
            let wide = kind == K::Rlimit64 || n == 8;
            let w = if wide { 8 } else { 4 };
            match c.fetch(v, 2 * w) {
                Ok(b) => {
                    let f = Fields::new(&b, w);
                    format!(
                        "{{rlim_cur={}, rlim_max={}}}",
                        rlim(f.ulong(0), wide),
                        rlim(f.ulong(w), wide)
                    )
                }
                Err(s) => s,
            }
        }
        K::Rusage => rusage(c, v),
        K::Sysinfo => sysinfo(c, v),
        K::Utsname => utsname(c, v, 6, 65),
        K::OldUtsname => utsname(c, v, 5, 65),
        K::OldoldUtsname => utsname(c, v, 5, 9),
        K::SchedParam => match c.fetch(v, 4) {
            Ok(b) => format!("[{}]", Fields::new(&b, 4).i32(0)),
            Err(s) => s,
        },
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
        _ => fmt::ptr(v),
    }
}
