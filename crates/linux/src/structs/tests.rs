//! Unit tests of the structure decoders, on synthetic guest memory with
//! the byte layouts of both ABIs, as strace prints them.

use vstrace_core::testmem::SparseVirt;

use crate::decode::{decode_enter, decode_exit, format_call, format_return};
use crate::proto::{by_name, LinuxAbi};
use crate::structs::return_detail;
use crate::DecodeOptions;

const X: LinuxAbi = LinuxAbi::X86_64;
const I: LinuxAbi = LinuxAbi::I386;

fn le64(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn le32(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The whole line strace would print, with its return detail.
fn line_opts(
    abi: LinuxAbi,
    name: &str,
    raw: &[u64],
    ret: i64,
    m: &mut SparseVirt,
    o: &DecodeOptions,
) -> String {
    let d = by_name(abi, name).unwrap();
    let mut a = decode_enter(d, abi, raw, m, o);
    decode_exit(d, abi, raw, ret, m, o, &mut a);
    let mut r = format_return(d, abi, ret);
    if let Some(x) = return_detail(d, abi, raw, ret, m, o) {
        r.text = format!("{} ({x})", r.text);
    }
    format_call(d, &a, Some(&r))
}

fn line(abi: LinuxAbi, name: &str, raw: &[u64], ret: i64, m: &mut SparseVirt) -> String {
    line_opts(abi, name, raw, ret, m, &DecodeOptions::default())
}

/// Argument `i` and the return text (with its detail) of a call, for
/// calls whose other arguments are named constants (decoded elsewhere).
fn arg_ret(
    abi: LinuxAbi,
    name: &str,
    raw: &[u64],
    ret: i64,
    m: &mut SparseVirt,
    i: usize,
) -> (String, String) {
    let o = DecodeOptions::default();
    let d = by_name(abi, name).unwrap();
    let mut a = decode_enter(d, abi, raw, m, &o);
    decode_exit(d, abi, raw, ret, m, &o, &mut a);
    let mut r = format_return(d, abi, ret).text;
    if let Some(x) = return_detail(d, abi, raw, ret, m, &o) {
        r = format!("{r} ({x})");
    }
    (a[i].text.clone().unwrap_or_default(), r)
}

fn pair(a: &str, r: &str) -> (String, String) {
    (a.to_string(), r.to_string())
}

#[test]
fn timespecs_of_both_abis() {
    let mut m = SparseVirt::new();
    m.map(0x1000, &le64(&[0, 789985]));
    assert_eq!(
        line(X, "nanosleep", &[0x1000, 0], 0, &mut m),
        "nanosleep({tv_sec=0, tv_nsec=789985}, NULL) = 0"
    );
    // Out of range values as strace prints them: seconds signed,
    // nanoseconds unsigned.
    m.map(0x2000, &le64(&[-1, -1]));
    assert_eq!(
        arg_ret(X, "clock_settime", &[3, 0x2000], -22, &mut m, 1),
        pair(
            "{tv_sec=-1, tv_nsec=18446744073709551615}",
            "-1 EINVAL (Invalid argument)"
        )
    );
    // Output: at a successful exit only.
    assert_eq!(
        arg_ret(X, "clock_gettime", &[0, 0x1000], 0, &mut m, 1),
        pair("{tv_sec=0, tv_nsec=789985}", "0")
    );
    assert_eq!(
        arg_ret(X, "clock_gettime", &[0, 0x1000], -14, &mut m, 1),
        pair("0x1000", "-1 EFAULT (Bad address)")
    );
    // i386: old_timespec32, nanoseconds zero-extended from 32 bits.
    m.map(0x3000, &le32(&[-1, -1]));
    assert_eq!(
        line(I, "nanosleep", &[0x3000, 0], -22, &mut m),
        "nanosleep({tv_sec=-1, tv_nsec=4294967295}, NULL) = -1 EINVAL (Invalid argument)"
    );
    // i386 *_time64: __kernel_timespec.
    assert_eq!(
        arg_ret(I, "clock_gettime64", &[1, 0x1000], 0, &mut m, 1),
        pair("{tv_sec=0, tv_nsec=789985}", "0")
    );
    // Straddling into an unmapped page: the address.
    m.map(0x4ff8, &[0u8; 8]);
    assert_eq!(
        line(X, "nanosleep", &[0x4ff8, 0], 0, &mut m),
        "nanosleep(0x4ff8, NULL) = 0"
    );
}

#[test]
fn remaining_time_only_when_interrupted() {
    let mut m = SparseVirt::new();
    m.map(0x1000, &le64(&[0, 999_999_999, 0, 887_798_976]));
    assert_eq!(
        line(X, "nanosleep", &[0x1000, 0x1010], 0, &mut m),
        "nanosleep({tv_sec=0, tv_nsec=999999999}, 0x1010) = 0"
    );
    let s = line(X, "nanosleep", &[0x1000, 0x1010], -516, &mut m);
    assert!(
        s.starts_with(
            "nanosleep({tv_sec=0, tv_nsec=999999999}, {tv_sec=0, tv_nsec=887798976}) = ?"
        ),
        "{s}"
    );
    let (a, _) = arg_ret(X, "clock_nanosleep", &[0, 0, 0x1000, 0x1010], -4, &mut m, 3);
    assert_eq!(a, "{tv_sec=0, tv_nsec=887798976}");
}

#[test]
fn timevals_itimers_and_dates() {
    let mut m = SparseVirt::new();
    m.map(0x1000, &le64(&[1796288200, 245995]));
    m.map(0x2000, &le32(&[0, 0]));
    assert_eq!(
        line(X, "gettimeofday", &[0x1000, 0x2000], 0, &mut m),
        "gettimeofday({tv_sec=1796288200, tv_usec=245995}, {tz_minuteswest=0, tz_dsttime=0}) = 0"
    );
    m.map(0x3000, &le64(&[789985, 789986, 789987, 789988]));
    assert_eq!(
        arg_ret(X, "setitimer", &[0, 0x3000, 0], 0, &mut m, 1).0,
        "{it_interval={tv_sec=789985, tv_usec=789986}, it_value={tv_sec=789987, tv_usec=789988}}"
    );
    assert_eq!(
        line(X, "timer_gettime", &[0, 0x3000], 0, &mut m),
        "timer_gettime(0, {it_interval={tv_sec=789985, tv_nsec=789986}, it_value={tv_sec=789987, tv_nsec=789988}}) = 0"
    );
    // i386 itimerval: four 32-bit fields.
    m.map(0x4000, &le32(&[1, 2, 3, 4]));
    assert_eq!(
        arg_ret(I, "getitimer", &[0, 0x4000], 0, &mut m, 1).0,
        "{it_interval={tv_sec=1, tv_usec=2}, it_value={tv_sec=3, tv_usec=4}}"
    );
    // utimes: dates in comments only for valid values.
    m.map(0x5000, &le64(&[1492358607, 345678, 1492356078, 1_000_001]));
    m.map(0x6000, b"f\0");
    assert_eq!(
        line(X, "utimes", &[0x6000, 0x5000], -2, &mut m),
        "utimes(\"f\", [{tv_sec=1492358607, tv_usec=345678} /* 2017-04-16T16:03:27.345678+0000 */, {tv_sec=1492356078, tv_usec=1000001}]) = -1 ENOENT (No such file or directory)"
    );
    // utimensat: UTIME_NOW / UTIME_OMIT by name, nanosecond dates.
    m.map(0x7000, &le64(&[1492358706, 123456789, 0, (1 << 30) - 2]));
    let (s, _) = arg_ret(
        X,
        "utimensat",
        &[(-100i64) as u64, 0x6000, 0x7000, 0x100],
        -2,
        &mut m,
        2,
    );
    assert_eq!(
        s,
        "[{tv_sec=1492358706, tv_nsec=123456789} /* 2017-04-16T16:05:06.123456789+0000 */, UTIME_OMIT]"
    );
    // A year outside struct tm: no date.
    m.map(0x7000, &le64(&[-3819351491602432273, 0, 0, 0]));
    let (s, _) = arg_ret(
        X,
        "utimensat",
        &[(-100i64) as u64, 0x6000, 0x7000, 0],
        -2,
        &mut m,
        2,
    );
    assert_eq!(
        s,
        "[{tv_sec=-3819351491602432273, tv_nsec=0}, {tv_sec=0, tv_nsec=0}]"
    );
    m.map(0x8000, &le64(&[1492350678, 1492350678]));
    assert_eq!(
        line(X, "utime", &[0x6000, 0x8000], -2, &mut m),
        "utime(\"f\", {actime=1492350678 /* 2017-04-16T13:51:18+0000 */, modtime=1492350678 /* 2017-04-16T13:51:18+0000 */}) = -1 ENOENT (No such file or directory)"
    );
    // Dates before the epoch and across leap years.
    assert_eq!(
        super::time::date(-10843, 135, 9).as_deref(),
        Some("1969-12-31T20:59:17.000000135+0000")
    );
    assert_eq!(
        super::time::date(951782400, 0, 0).as_deref(),
        Some("2000-02-29T00:00:00+0000")
    );
    assert_eq!(super::time::date(0, 0, 0), None);
    assert_eq!(super::time::date(5, 1_000_000, 6), None);
    // On a 32-bit kernel strace is an i386 build: no date past its
    // 32-bit time_t (the x86-64 one converts it).
    assert!(super::time::date(4_886_718_345, 0, 0).is_some());
    crate::tracer::with_kernel_long(4, || {
        assert_eq!(super::time::date(4_886_718_345, 123, 9), None);
        assert_eq!(
            super::time::date(951782400, 0, 0).as_deref(),
            Some("2000-02-29T00:00:00+0000")
        );
    });
}

#[test]
fn time_return_has_its_date() {
    let mut m = SparseVirt::new();
    assert_eq!(
        line(X, "time", &[0], 1796288204, &mut m),
        "time(NULL) = 1796288204 (2026-12-03T08:56:44+0000)"
    );
    m.map(0x1000, &1796288204i64.to_le_bytes());
    assert_eq!(
        line(X, "time", &[0x1000], 1796288204, &mut m),
        "time([1796288204 /* 2026-12-03T08:56:44+0000 */]) = 1796288204 (2026-12-03T08:56:44+0000)"
    );
    assert_eq!(
        line(X, "time", &[0x1ffc], -14, &mut m),
        "time(0x1ffc) = -1 EFAULT (Bad address)"
    );
}

#[test]
fn tms_rlimit_rusage_sysinfo() {
    let mut m = SparseVirt::new();
    m.map(0x1000, &le64(&[35, 55, 59, 1234]));
    assert_eq!(
        line(X, "times", &[0x1000], 1717957557, &mut m),
        "times({tms_utime=35 /* 0.35 s */, tms_stime=55 /* 0.55 s */, tms_cutime=59 /* 0.59 s */, tms_cstime=1234 /* 12.34 s */}) = 1717957557"
    );
    m.map(0x2000, &le64(&[8192 * 1024, -1]));
    assert_eq!(
        arg_ret(X, "getrlimit", &[3, 0x2000], 0, &mut m, 1).0,
        "{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}"
    );
    // i386 getrlimit: 32-bit limits; prlimit64: 64-bit in both ABIs.
    m.map(0x3000, &le32(&[1024, -1]));
    assert_eq!(
        arg_ret(I, "ugetrlimit", &[7, 0x3000], 0, &mut m, 1).0,
        "{rlim_cur=1024, rlim_max=RLIM_INFINITY}"
    );
    assert_eq!(
        arg_ret(I, "prlimit64", &[0, 3, 0x2000, 0], 0, &mut m, 2).0,
        "{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}"
    );
    let mut ru = le64(&[0, 6742, 1, 2]);
    ru.extend(le64(&[1640, 0, 0, 0, 93, 0, 0, 0, 0, 0, 0, 0, 0, 4]));
    m.map(0x4000, &ru);
    assert_eq!(
        arg_ret(X, "getrusage", &[0, 0x4000], 0, &mut m, 1).0,
        "{ru_utime={tv_sec=0, tv_usec=6742}, ru_stime={tv_sec=1, tv_usec=2}, ...}"
    );
    let v = DecodeOptions {
        verbose: true,
        ..Default::default()
    };
    let s = line_opts(X, "getrusage", &[0, 0x4000], 0, &mut m, &v);
    assert!(
        s.ends_with("ru_maxrss=1640, ru_ixrss=0, ru_idrss=0, ru_isrss=0, ru_minflt=93, ru_majflt=0, ru_nswap=0, ru_inblock=0, ru_oublock=0, ru_msgsnd=0, ru_msgrcv=0, ru_nsignals=0, ru_nvcsw=0, ru_nivcsw=4}) = 0"),
        "{s}"
    );
    // sysinfo, x86-64 layout (112 bytes).
    let mut si = le64(&[4, 0, 0, 0, 1007353856, 903659520, 34807808, 0, 0, 0]);
    si.extend(57u16.to_le_bytes());
    si.extend([0u8; 6]);
    si.extend(le64(&[0, 0]));
    si.extend(1u32.to_le_bytes());
    si.extend([0u8; 4]);
    m.map(0x5000, &si);
    assert_eq!(
        line(X, "sysinfo", &[0x5000], 0, &mut m),
        "sysinfo({uptime=4, loads=[0, 0, 0], totalram=1007353856, freeram=903659520, sharedram=34807808, bufferram=0, totalswap=0, freeswap=0, procs=57, totalhigh=0, freehigh=0, mem_unit=1}) = 0"
    );
    // i386 sysinfo: 64 bytes, 32-bit longs.
    let mut si32 = le32(&[7, 1, 2, 3, 100, 50, 0, 0, 0, 0]);
    si32.extend(3u16.to_le_bytes());
    si32.extend([0u8; 2]);
    si32.extend(le32(&[0, 0, 4096]));
    si32.extend([0u8; 8]);
    m.map(0x6000, &si32);
    assert_eq!(
        line(I, "sysinfo", &[0x6000], 0, &mut m),
        "sysinfo({uptime=7, loads=[1, 2, 3], totalram=100, freeram=50, sharedram=0, bufferram=0, totalswap=0, freeswap=0, procs=3, totalhigh=0, freehigh=0, mem_unit=4096}) = 0"
    );
}

#[test]
fn utsname_abbreviated_and_full() {
    let mut m = SparseVirt::new();
    let mut u = vec![0u8; 6 * 65];
    for (k, s) in ["Linux", "vm", "6.1.0", "#1 SMP", "x86_64", "(none)"]
        .iter()
        .enumerate()
    {
        u[k * 65..k * 65 + s.len()].copy_from_slice(s.as_bytes());
    }
    m.map(0x1000, &u);
    assert_eq!(
        line(X, "uname", &[0x1000], 0, &mut m),
        "uname({sysname=\"Linux\", nodename=\"vm\", ...}) = 0"
    );
    let v = DecodeOptions {
        verbose: true,
        ..Default::default()
    };
    assert_eq!(
        line_opts(X, "uname", &[0x1000], 0, &mut m, &v),
        "uname({sysname=\"Linux\", nodename=\"vm\", release=\"6.1.0\", version=\"#1 SMP\", machine=\"x86_64\", domainname=\"(none)\"}) = 0"
    );
    assert_eq!(
        line(X, "uname", &[0x1000], -14, &mut m),
        "uname(0x1000) = -1 EFAULT (Bad address)"
    );
}

#[test]
fn sched_structures() {
    let mut m = SparseVirt::new();
    m.map(0x1000, &0i32.to_le_bytes());
    assert_eq!(
        line(X, "sched_getparam", &[286, 0x1000], 0, &mut m),
        "sched_getparam(286, [0]) = 0"
    );
    m.map(0x2000, &[1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        line(X, "sched_getaffinity", &[266, 128, 0x2000], 8, &mut m),
        "sched_getaffinity(266, 128, [0]) = 8"
    );
    m.map(0x2000, &[0x3, 0x80]);
    assert_eq!(
        line(X, "sched_setaffinity", &[0, 2, 0x2000], 0, &mut m),
        "sched_setaffinity(0, 2, [0 1 15]) = 0"
    );
    assert_eq!(
        line(X, "sched_setaffinity", &[0, 0, 0x2000], -22, &mut m),
        "sched_setaffinity(0, 0, []) = -1 EINVAL (Invalid argument)"
    );
    let mut attr = vec![0u8; 56];
    attr[0..4].copy_from_slice(&56u32.to_le_bytes());
    attr[8..16].copy_from_slice(&1u64.to_le_bytes());
    m.map(0x3000, &attr);
    assert_eq!(
        line(X, "sched_setattr", &[0, 0x3000, 0], 0, &mut m),
        "sched_setattr(0, {size=56, sched_policy=SCHED_OTHER, sched_flags=SCHED_FLAG_RESET_ON_FORK, sched_nice=0, sched_priority=0, sched_runtime=0, sched_deadline=0, sched_period=0, sched_util_min=0, sched_util_max=0}, 0) = 0"
    );
    attr[0..4].copy_from_slice(&48u32.to_le_bytes());
    attr[4..8].copy_from_slice(&0xca7f_acedu32.to_le_bytes());
    attr[8..16].copy_from_slice(&0x80u64.to_le_bytes());
    m.map(0x3000, &attr);
    assert_eq!(
        line(X, "sched_getattr", &[0, 0x3000, 48, 0], 0, &mut m),
        "sched_getattr(0, {size=48, sched_policy=0xca7faced /* SCHED_??? */, sched_flags=0x80 /* SCHED_FLAG_??? */, sched_nice=0, sched_priority=0, sched_runtime=0, sched_deadline=0, sched_period=0}, 48, 0) = 0"
    );
}

#[test]
fn poll_with_revents_and_timeout() {
    let mut m = SparseVirt::new();
    let mut fds = Vec::new();
    for (fd, ev, rev) in [
        (3i32, 0x1u16 | 0x2 | 0x40 | 0x80, 0u16),
        (4, 0x4 | 0x100 | 0x200, 0x104),
        (-1, 1, 0),
    ] {
        fds.extend(fd.to_le_bytes());
        fds.extend(ev.to_le_bytes());
        fds.extend(rev.to_le_bytes());
    }
    m.map(0x1000, &fds);
    m.map(0x2000, &le64(&[42, 999_999_999]));
    assert_eq!(
        line(X, "ppoll", &[0x1000, 3, 0x2000, 0, 8], 1, &mut m),
        "ppoll([{fd=3, events=POLLIN|POLLPRI|POLLRDNORM|POLLRDBAND}, {fd=4, events=POLLOUT|POLLWRNORM|POLLWRBAND}, {fd=-1}], 3, {tv_sec=42, tv_nsec=999999999}, NULL, 8) = 1 ([{fd=4, revents=POLLOUT|POLLWRNORM}], left {tv_sec=42, tv_nsec=999999999})"
    );
    assert_eq!(
        line(X, "poll", &[0x1000, 1, 0], 0, &mut m),
        "poll([{fd=3, events=POLLIN|POLLPRI|POLLRDNORM|POLLRDBAND}], 1, 0) = 0 (Timeout)"
    );
    // The descriptors are typed, for -y to name them like arguments.
    let d = by_name(X, "poll").unwrap();
    let a = decode_enter(d, X, &[0x1000, 3, 0], &mut m, &DecodeOptions::default());
    let mut fds_seen = Vec::new();
    if let Some(vstrace_core::Value::Array { items, .. }) = &a[0].value {
        for it in items {
            if let vstrace_core::Value::Struct { fields, .. } = it {
                if let Some((_, vstrace_core::Value::Fd { fd, .. })) = fields.first() {
                    fds_seen.push(*fd);
                }
            }
        }
    }
    assert_eq!(fds_seen, [3, 4, -1]);
    // -s 2: two elements, then "...".
    let o = DecodeOptions {
        strsize: 2,
        ..Default::default()
    };
    let s = line_opts(X, "poll", &[0x1000, 3, 0], -4, &mut m, &o);
    assert!(s.starts_with("poll([{fd=3, events=POLLIN|POLLPRI|POLLRDNORM|POLLRDBAND}, {fd=4, events=POLLOUT|POLLWRNORM|POLLWRBAND}, ...], 3, 0) = -1 EINTR"), "{s}");
    // An array running into an unmapped page.
    m.map(0x3ff8, &fds[..8]);
    let s = line(X, "poll", &[0x3ff8, 2, 0], -14, &mut m);
    assert!(
        s.starts_with(
            "poll([{fd=3, events=POLLIN|POLLPRI|POLLRDNORM|POLLRDBAND}, ... /* 0x4000 */], 2, 0)"
        ),
        "{s}"
    );
}

#[test]
fn select_sets_and_details() {
    let mut m = SparseVirt::new();
    m.map(0x1000, &[0x18, 0, 0, 0, 0, 0, 0, 0]);
    m.map(0x2000, &le64(&[0, 123]));
    // Entry sets; at the exit the kernel left only fd 4 in the set.
    let d = by_name(X, "select").unwrap();
    let raw = [5, 0x1000, 0, 0, 0x2000];
    let o = DecodeOptions::default();
    let mut a = decode_enter(d, X, &raw, &mut m, &o);
    m.map(0x1000, &[0x10]);
    decode_exit(d, X, &raw, 1, &mut m, &o, &mut a);
    let detail = return_detail(d, X, &raw, 1, &mut m, &o);
    assert_eq!(a[1].text.as_deref(), Some("[3 4]"));
    assert_eq!(a[4].text.as_deref(), Some("{tv_sec=0, tv_usec=123}"));
    assert_eq!(
        detail.as_deref(),
        Some("in [4], left {tv_sec=0, tv_usec=123}")
    );
    assert_eq!(
        line(X, "select", &[0, 0, 0, 0, 0x2000], 0, &mut m),
        "select(0, NULL, NULL, NULL, {tv_sec=0, tv_usec=123}) = 0 (Timeout)"
    );
    // pselect6: timespec and the sigmask pair.
    m.map(0x3000, &[1, 0, 1, 0, 0, 0, 0, 0]);
    m.map(0x4000, &le64(&[0x3000, 8]));
    assert_eq!(
        line(X, "pselect6", &[1025, 0x1000, 0, 0, 0x2000, 0x4000], 0, &mut m),
        "pselect6(1025, [4], NULL, NULL, {tv_sec=0, tv_nsec=123}, {sigmask=[HUP CHLD], sigsetsize=8}) = 0 (Timeout)"
    );
    assert_eq!(
        line(
            X,
            "pselect6",
            &[u32::MAX as u64, 0, 0x4aa2e0, 0, 0, 0],
            -22,
            &mut m
        ),
        "pselect6(-1, NULL, 0x4aa2e0, NULL, NULL, NULL) = -1 EINVAL (Invalid argument)"
    );
    // i386 _newselect: 32-bit timeval, sets in 4-byte words.
    m.map(0x5000, &le32(&[1, 2]));
    assert_eq!(
        line(I, "_newselect", &[2, 0x1000, 0, 0, 0x5000], 0, &mut m),
        "_newselect(2, [], NULL, NULL, {tv_sec=1, tv_usec=2}) = 0 (Timeout)"
    );
}

#[test]
fn epoll_events() {
    let mut m = SparseVirt::new();
    let mut ev = 1u32.to_le_bytes().to_vec();
    ev.extend(u64::MAX.to_le_bytes());
    m.map(0x1000, &ev);
    assert_eq!(
        arg_ret(
            X,
            "epoll_ctl",
            &[u32::MAX as u64, 1, 0xffff_fffe, 0x1000],
            -9,
            &mut m,
            3
        )
        .0,
        "{events=EPOLLIN, data={u32=4294967295, u64=18446744073709551615}}"
    );
    // EPOLL_CTL_DEL: the event is not read.
    assert_eq!(
        arg_ret(X, "epoll_ctl", &[3, 2, 4, 0x1000], -9, &mut m, 3).0,
        "0x1000"
    );
    assert_eq!(
        line(I, "epoll_wait", &[3, 0x1000, 4, 0], 1, &mut m),
        "epoll_wait(3, [{events=EPOLLIN, data={u32=4294967295, u64=18446744073709551615}}], 4, 0) = 1"
    );
}

#[test]
fn signal_structures() {
    let mut m = SparseVirt::new();
    m.map(0x1000, &le64(&[0x7f00_0000, 2, 8192]));
    assert_eq!(
        line(X, "sigaltstack", &[0x1000, 0], 0, &mut m),
        "sigaltstack({ss_sp=0x7f000000, ss_flags=SS_DISABLE, ss_size=8192}, NULL) = 0"
    );
    m.map(0x2000, &le32(&[0x0800_0000, 1, 4096]));
    assert_eq!(
        line(I, "sigaltstack", &[0, 0x2000], 0, &mut m),
        "sigaltstack(NULL, {ss_sp=0x8000000, ss_flags=SS_ONSTACK, ss_size=4096}) = 0"
    );
    // sigevent: value shown only when not NULL, thread fields by notify.
    let mut sev = vec![0u8; 64];
    sev[0..8].copy_from_slice(&0xdead_beef_badc_0dedu64.to_le_bytes());
    sev[8..12].copy_from_slice(&14u32.to_le_bytes());
    sev[12..16].copy_from_slice(&2u32.to_le_bytes());
    sev[16..24].copy_from_slice(&0xdead_beef_badc_0dedu64.to_le_bytes());
    sev[24..32].copy_from_slice(&0xcafe_f00d_face_feedu64.to_le_bytes());
    m.map(0x3000, &sev);
    m.map(0x4000, &[0u8; 4]);
    assert_eq!(
        line(X, "timer_create", &[0, 0x3000, 0x4000], 0, &mut m),
        "timer_create(CLOCK_REALTIME, {sigev_value={sival_int=-1159983635, sival_ptr=0xdeadbeefbadc0ded}, sigev_signo=SIGALRM, sigev_notify=SIGEV_THREAD, sigev_notify_function=0xdeadbeefbadc0ded, sigev_notify_attributes=0xcafef00dfacefeed}, [0]) = 0"
    );
    let mut sev = vec![0u8; 64];
    sev[12..16].copy_from_slice(&1u32.to_le_bytes());
    m.map(0x3000, &sev);
    assert_eq!(
        line(X, "timer_create", &[1, 0x3000, 0x4000], 0, &mut m),
        "timer_create(CLOCK_MONOTONIC, {sigev_signo=0, sigev_notify=SIGEV_NONE}, [0]) = 0"
    );
    // waitid with nothing to report: an all-zero siginfo.
    m.map_zeroed(0x5000, 128);
    assert_eq!(
        arg_ret(X, "waitid", &[1, 200, 0x5000, 5, 0], 0, &mut m, 2).0,
        "{}"
    );
    // A siginfo the kernel reads, at the entry.
    let mut si = vec![0u8; 128];
    si[0..4].copy_from_slice(&10u32.to_le_bytes());
    si[8..12].copy_from_slice(&(-1i32).to_le_bytes());
    si[16..20].copy_from_slice(&456u32.to_le_bytes());
    si[24..32].copy_from_slice(&0xdead_beef_badc_0dedu64.to_le_bytes());
    m.map(0x6000, &si);
    assert_eq!(
        line(X, "rt_sigqueueinfo", &[456, 10, 0x6000], 0, &mut m),
        "rt_sigqueueinfo(456, SIGUSR1, {si_signo=SIGUSR1, si_code=SI_QUEUE, si_pid=456, si_uid=0, si_int=-1159983635, si_ptr=0xdeadbeefbadc0ded}) = 0"
    );
}

#[test]
fn hostile_memory_prints_addresses() {
    // Every structure kind of every call, over junk and over page edges:
    // no panic, and an unreadable structure is its address.
    let mut m = SparseVirt::new();
    let junk: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    m.map(0x1000, &junk);
    let o = DecodeOptions {
        verbose: true,
        ..Default::default()
    };
    for abi in [X, I] {
        for d in crate::proto::all(abi) {
            if !d
                .args
                .iter()
                .any(|a| matches!(a.ty, crate::ArgType::Struct(_)))
            {
                continue;
            }
            for base in [0x1000u64, 0x2ff0, 0x2fff, 0xdead_0000, u64::MAX - 7] {
                let raw = [base, base, base, base, base, base];
                for ret in [-4i64, -516, -14, 0, 1, 3, i64::MAX, i64::MIN] {
                    let _ = line_opts(abi, d.name, &raw, ret, &mut m, &o);
                }
                let counts = [base, 0xffff_ffff, 1 << 20, base, base, base];
                let _ = line_opts(abi, d.name, &counts, 5, &mut m, &o);
            }
            let s = line(abi, d.name, &[0xdead_0000; 6], 0, &mut m);
            assert!(!s.contains("tv_sec"), "{s}");
        }
    }
}

#[test]
fn stat_family_abbreviated_and_full() {
    let mut m = SparseVirt::new();
    // x86-64 struct stat of /dev/full: a character device shows st_rdev.
    let mut st = vec![0u8; 144];
    st[0..8].copy_from_slice(&5u64.to_le_bytes());
    st[8..16].copy_from_slice(&7u64.to_le_bytes());
    st[16..24].copy_from_slice(&1u64.to_le_bytes());
    st[24..28].copy_from_slice(&0o20666u32.to_le_bytes());
    st[40..48].copy_from_slice(&0x107u64.to_le_bytes());
    st[56..64].copy_from_slice(&4096u64.to_le_bytes());
    st[72..80].copy_from_slice(&1796288234i64.to_le_bytes());
    st[80..88].copy_from_slice(&855999995u64.to_le_bytes());
    m.map(0x1000, &st);
    assert_eq!(
        arg_ret(X, "fstat", &[3, 0x1000], 0, &mut m, 1).0,
        "{st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x7), ...}"
    );
    let v = DecodeOptions {
        verbose: true,
        ..Default::default()
    };
    let s = line_opts(X, "fstat", &[3, 0x1000], 0, &mut m, &v);
    assert!(
        s.starts_with("fstat(3, {st_dev=makedev(0, 0x5), st_ino=7, st_mode=S_IFCHR|0666, st_nlink=1, st_uid=0, st_gid=0, st_blksize=4096, st_blocks=0, st_rdev=makedev(0x1, 0x7), st_atime=1796288234 /* 2026-12-03T08:57:14.855999995+0000 */, st_atime_nsec=855999995, st_mtime=0, st_mtime_nsec=0, st_ctime=0, st_ctime_nsec=0}) = 0"),
        "{s}"
    );
    // i386 struct stat (16-bit mode) and stat64, with setuid bits.
    let mut st32 = vec![0u8; 64];
    st32[8..10].copy_from_slice(&0o104755u16.to_le_bytes());
    st32[20..24].copy_from_slice(&1234u32.to_le_bytes());
    m.map(0x2000, &st32);
    assert_eq!(
        arg_ret(I, "fstat", &[3, 0x2000], 0, &mut m, 1).0,
        "{st_mode=S_IFREG|S_ISUID|0755, st_size=1234, ...}"
    );
    let mut st64 = vec![0u8; 96];
    st64[16..20].copy_from_slice(&0o40700u32.to_le_bytes());
    st64[44..52].copy_from_slice(&43147718418u64.to_le_bytes());
    m.map(0x3000, &st64);
    assert_eq!(
        arg_ret(I, "fstat64", &[3, 0x3000], 0, &mut m, 1).0,
        "{st_mode=S_IFDIR|0700, st_size=43147718418, ...}"
    );
    assert_eq!(super::stat::symbolic_mode(0o7), "007");
    assert_eq!(super::stat::symbolic_mode(0o170644), "0170644");
}

#[test]
fn statfs_of_both_abis() {
    let mut m = SparseVirt::new();
    let mut sf = le64(&[0x9fa0, 4096, 0, 0, 0, 0, 0]);
    sf.extend(le32(&[0, 0]));
    sf.extend(le64(&[255, 4096, 0x1020, 0, 0, 0, 0]));
    m.map(0x1000, &sf);
    m.map(0x2000, b".\0");
    assert_eq!(
        line(X, "statfs", &[0x2000, 0x1000], 0, &mut m),
        "statfs(\".\", {f_type=PROC_SUPER_MAGIC, f_bsize=4096, f_blocks=0, f_bfree=0, f_bavail=0, f_files=0, f_ffree=0, f_fsid={val=[0, 0]}, f_namelen=255, f_frsize=4096, f_flags=ST_VALID|ST_RELATIME}) = 0"
    );
    // i386 statfs64: 84 bytes, 64-bit counts, no ST_VALID: no f_flags.
    let mut sf64 = le32(&[0x0102_1994, 4096]);
    sf64.extend(le64(&[117790, 109406, 109406, 117790, 117420]));
    sf64.extend(le32(&[0xdf6ff0d, 0x2924738a, 255, 4096, 0, 0, 0, 0, 0]));
    m.map(0x3000, &sf64);
    assert_eq!(
        line(I, "statfs64", &[0x2000, 84, 0x3000], 0, &mut m),
        "statfs64(\".\", 84, {f_type=TMPFS_MAGIC, f_bsize=4096, f_blocks=117790, f_bfree=109406, f_bavail=109406, f_files=117790, f_ffree=117420, f_fsid={val=[0xdf6ff0d, 0x2924738a]}, f_namelen=255, f_frsize=4096}) = 0"
    );
}

#[test]
fn control_data_is_cut_at_the_kernels_optmem_max() {
    // An i386 SCM_RIGHTS message of 20480 bytes (all -1 descriptors).
    let mut m = SparseVirt::new();
    let mut ctl = le32(&[20480, 1, 1]);
    ctl.resize(20480, 0xff);
    m.map(0x10000, &ctl);
    m.map(0x1000, &le32(&[0, 0, 0, 0, 0x10000, 20480, 0]));
    let text = |m: &mut SparseVirt| arg_ret(I, "sendmsg", &[1, 0x1000, 0], -9, m, 1).0;
    // A 64-bit kernel's optmem_max (20480) reads it whole...
    let whole = text(&mut m);
    assert!(
        whole.ends_with("...]}], msg_controllen=20480, msg_flags=0}"),
        "{whole}"
    );
    // ...a 32-bit kernel's (10240) only part: strace says more follows.
    let cut = crate::tracer::with_kernel_long(4, || text(&mut m));
    assert!(
        cut.ends_with("...]}, ...], msg_controllen=20480, msg_flags=0}"),
        "{cut}"
    );
}

#[test]
fn messages_and_control_data() {
    let mut m = SparseVirt::new();
    // sendmsg: name NULL, two iovecs, SCM_RIGHTS control message.
    m.map(0x5000, b"01234567");
    let mut iov = le64(&[0x5000, 3, 0x5003, 5]);
    iov.resize(32, 0);
    m.map(0x2000, &iov);
    let mut ctl = 24u64.to_le_bytes().to_vec();
    ctl.extend(le32(&[1, 1, 3, 4]));
    m.map(0x3000, &ctl);
    let mut hdr = le64(&[0, 0, 0x2000, 2, 0x3000, 24]);
    hdr.extend(le32(&[0, 0]));
    m.map(0x1000, &hdr);
    assert_eq!(
        arg_ret(X, "sendmsg", &[1, 0x1000, 0], 8, &mut m, 1).0,
        "{msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"012\", iov_len=3}, {iov_base=\"34567\", iov_len=5}], msg_iovlen=2, msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[3, 4]}], msg_controllen=24, msg_flags=0}"
    );
    // recvmsg: the name length offered at entry and the one returned.
    let mut sun = vec![1u8, 0];
    sun.extend(b"sock");
    m.map(0x4000, &sun);
    let mut rh = le64(&[0x4000, 110, 0x2000, 1, 0, 0]);
    rh.extend(le32(&[0, 0]));
    m.map(0x6000, &rh);
    let d = by_name(X, "recvmsg").unwrap();
    let o = DecodeOptions::default();
    let raw = [3, 0x6000, 0x40];
    let mut a = decode_enter(d, X, &raw, &mut m, &o);
    assert_eq!(a[1].text.as_deref(), Some("{msg_namelen=110}"));
    m.map(0x6008, &6u32.to_le_bytes());
    decode_exit(d, X, &raw, 2, &mut m, &o, &mut a);
    assert_eq!(
        a[1].text.as_deref(),
        Some("{msg_name={sa_family=AF_UNIX, sun_path=\"sock\"}, msg_namelen=110 => 6, msg_iov=[{iov_base=\"01\", iov_len=3}], msg_iovlen=1, msg_controllen=0, msg_flags=0}")
    );
    // A failed recvmsg shows the length offered.
    let mut a = decode_enter(d, X, &raw, &mut m, &o);
    decode_exit(d, X, &raw, -14, &mut m, &o, &mut a);
    assert_eq!(a[1].text.as_deref(), Some("{msg_namelen=6}"));
    // recvmmsg: as many as received, msg_len bounding the data; the
    // time left as the return detail.
    let mut mm = le64(&[0, 0, 0x2000, 1, 0, 0]);
    mm.extend(le32(&[0, 0, 2, 0]));
    m.map(0x7000, &mm);
    m.map(0x8000, &le64(&[0, 11917650]));
    assert_eq!(
        arg_ret(X, "recvmmsg", &[3, 0x7000, 1, 0, 0x8000], 1, &mut m, 1),
        pair(
            "[{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"01\", iov_len=3}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=2}]",
            "1 (left {tv_sec=0, tv_nsec=11917650})"
        )
    );
    // sendmmsg failing on the second element: no lengths, the address.
    m.map(0x9fc0, &mm);
    assert_eq!(
        arg_ret(X, "sendmmsg", &[3, 0x9fc0, 2, 0], -9, &mut m, 1).0,
        "[{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"012\", iov_len=3}], msg_iovlen=1, msg_controllen=0, msg_flags=0}}, ... /* 0xa000 */]"
    );
    // i386 msghdr: 28 bytes of 32-bit fields.
    let mut iov32 = le32(&[0x5000, 2]);
    iov32.resize(8, 0);
    m.map(0xb100, &iov32);
    m.map(0xb000, &le32(&[0, 0, 0xb100, 1, 0, 0, 0]));
    assert_eq!(
        arg_ret(I, "sendmsg", &[1, 0xb000, 0], 2, &mut m, 1).0,
        "{msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"01\", iov_len=2}], msg_iovlen=1, msg_controllen=0, msg_flags=0}"
    );
}

#[test]
fn timex_and_robust_list() {
    let mut m = SparseVirt::new();
    let mut tx = vec![0u8; 208];
    let put =
        |tx: &mut Vec<u8>, k: usize, v: i64| tx[k * 8..k * 8 + 8].copy_from_slice(&v.to_le_bytes());
    put(&mut tx, 3, 16000000);
    put(&mut tx, 4, 16000000);
    put(&mut tx, 5, 0x40);
    put(&mut tx, 6, 2);
    put(&mut tx, 7, 1);
    put(&mut tx, 8, 32768000);
    put(&mut tx, 9, 1796288598);
    put(&mut tx, 10, 933);
    put(&mut tx, 11, 10000);
    m.map(0x1000, &tx);
    assert_eq!(
        line(X, "adjtimex", &[0x1000], 5, &mut m),
        "adjtimex({modes=0, offset=0, freq=0, maxerror=16000000, esterror=16000000, status=STA_UNSYNC, constant=2, precision=1, tolerance=32768000, time={tv_sec=1796288598, tv_usec=933}, tick=10000, ppsfreq=0, jitter=0, shift=0, stabil=0, jitcnt=0, calcnt=0, errcnt=0, stbcnt=0, tai=0}) = 5 (TIME_ERROR)"
    );
    assert_eq!(
        line(X, "adjtimex", &[0x1000], -1, &mut m),
        "adjtimex(0x1000) = -1 EPERM (Operation not permitted)"
    );
    // i386 clock_adjtime64 reads the 64-bit layout.
    assert!(
        line(I, "clock_adjtime64", &[0, 0x1000], 5, &mut m).ends_with("tai=0}) = 5 (TIME_ERROR)")
    );
    m.map(0x2000, &le64(&[0x11e40660, 24]));
    assert_eq!(
        line(X, "get_robust_list", &[266, 0x2000, 0x2008], 0, &mut m),
        "get_robust_list(266, [0x11e40660], [24]) = 0"
    );
}

#[test]
fn call_specific_rules() {
    let mut m = SparseVirt::new();
    // clock_nanosleep with TIMER_ABSTIME: the kernel writes no remainder.
    m.map(0x1000, &le64(&[1, 2, 3, 4]));
    let (a, _) = arg_ret(
        X,
        "clock_nanosleep",
        &[0, 1, 0x1000, 0x1010],
        -514,
        &mut m,
        3,
    );
    assert_eq!(a, "0x1010");
    // wait4 that reaped nothing: no rusage.
    m.map_zeroed(0x2000, 144);
    assert_eq!(
        arg_ret(X, "wait4", &[5, 0, 1, 0x2000], 0, &mut m, 3).0,
        "0x2000"
    );
    assert!(arg_ret(X, "wait4", &[5, 0, 1, 0x2000], 5, &mut m, 3)
        .0
        .starts_with("{ru_utime="));
    // sched_setattr refused with E2BIG: the size the kernel wants.
    m.map(0x3000, &1u32.to_le_bytes());
    let d = by_name(X, "sched_setattr").unwrap();
    let o = DecodeOptions::default();
    let raw = [0, 0x3000, 0];
    let mut a = decode_enter(d, X, &raw, &mut m, &o);
    assert_eq!(a[1].text.as_deref(), Some("{size=1}"));
    m.map(0x3000, &56u32.to_le_bytes());
    decode_exit(d, X, &raw, -7, &mut m, &o, &mut a);
    assert_eq!(a[1].text.as_deref(), Some("{size=1} => {size=56}"));
    // sched_getscheduler names the policy it returns.
    assert_eq!(
        line(X, "sched_getscheduler", &[312], 0, &mut m),
        "sched_getscheduler(312) = 0 (SCHED_OTHER)"
    );
    // semop: sembuf arrays, the tail into an unmapped page.
    let sb: Vec<u8> = [0xface_u16, 0xf00d, 0xbeef]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    m.map(0x4ffa, &sb);
    assert_eq!(
        arg_ret(X, "semop", &[1, 0x4ffa, 2], -14, &mut m, 1).0,
        "[{sem_num=64206, sem_op=-4083, sem_flg=SEM_UNDO|IPC_NOWAIT|0xa6ef}, ... /* 0x5000 */]"
    );
    // mq_attr: hex flags for mq_open, named for mq_getsetattr.
    m.map(0x6000, &le64(&[0x800, 10, 8192, 0]));
    assert_eq!(
        arg_ret(X, "mq_getsetattr", &[3, 0x6000, 0], 0, &mut m, 1).0,
        "{mq_flags=O_NONBLOCK, mq_maxmsg=10, mq_msgsize=8192, mq_curmsgs=0}"
    );
    assert_eq!(
        arg_ret(X, "mq_open", &[0, 0x40, 0o600, 0x6000], -14, &mut m, 3).0,
        "{mq_flags=0x800, mq_maxmsg=10, mq_msgsize=8192, mq_curmsgs=0}"
    );
    // select with strace's largest descriptor count: 128 KiB sets.
    let mut big = vec![0u8; 128 * 1024];
    big[0] = 0x18;
    m.map(0x10_0000, &big);
    assert_eq!(
        arg_ret(
            X,
            "select",
            &[0x7fff_ffff, 0x10_0000, 0, 0, 0],
            0,
            &mut m,
            1
        ),
        pair("[3 4]", "0 (Timeout)")
    );
}

#[test]
fn socket_addresses_and_lengths() {
    let mut m = SparseVirt::new();
    // accept: the caller offers 16 bytes, the kernel's address is 24.
    let mut sun = vec![1u8, 0];
    sun.extend(b"accept.socket.connect\0");
    m.map(0x1000, &sun);
    m.map(0x2000, &16u32.to_le_bytes());
    let d = by_name(X, "accept").unwrap();
    let o = DecodeOptions::default();
    let raw = [3, 0x1000, 0x2000];
    let mut a = decode_enter(d, X, &raw, &mut m, &o);
    assert_eq!(a[2].text.as_deref(), Some("[16]"));
    m.map(0x2000, &24u32.to_le_bytes());
    decode_exit(d, X, &raw, 5, &mut m, &o, &mut a);
    assert_eq!(
        a[1].text.as_deref(),
        Some("{sa_family=AF_UNIX, sun_path=\"accept.socket.\"}")
    );
    assert_eq!(a[2].text.as_deref(), Some("[16 => 24]"));
    // Failed: the address and the length offered.
    let mut a = decode_enter(d, X, &raw, &mut m, &o);
    decode_exit(d, X, &raw, -22, &mut m, &o, &mut a);
    assert_eq!(a[1].text.as_deref(), Some("0x1000"));
    assert_eq!(a[2].text.as_deref(), Some("[24]"));
    // AF_UNIX paths stop at sizeof(sockaddr_un); abstract names keep
    // their NULs; AF_INET shorter than sockaddr_in is raw data.
    let mut long = vec![1u8, 0];
    long.extend([b'0'; 127]);
    m.map(0x3000, &long);
    let (t, _) = arg_ret(X, "connect", &[3, 0x3000, 129], -9, &mut m, 1);
    assert_eq!(
        t,
        format!("{{sa_family=AF_UNIX, sun_path=\"{}\"}}", "0".repeat(108))
    );
    m.map(0x4000, &[1, 0, 0, b'a', 0, b'b']);
    assert_eq!(
        arg_ret(X, "bind", &[3, 0x4000, 6], 0, &mut m, 1).0,
        "{sa_family=AF_UNIX, sun_path=@\"a\\0b\"}"
    );
    m.map(0x5000, &[2, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(
        arg_ret(X, "connect", &[3, 0x5000, 12], -9, &mut m, 1).0,
        "{sa_family=AF_INET, sa_data=\"\\0\\0\\0\\0\\0\\0\\377\\377\\377\\377\"}"
    );
    assert_eq!(
        arg_ret(X, "connect", &[3, 0x5000, 2], -9, &mut m, 1).0,
        "{sa_family=AF_INET}"
    );
}

#[test]
fn socket_option_values() {
    let mut m = SparseVirt::new();
    m.map(0x1000, &le32(&[-15, -42]));
    assert_eq!(
        arg_ret(X, "setsockopt", &[3, 1, 13, 0x1000, 9], 0, &mut m, 3).0,
        "{l_onoff=-15, l_linger=-42}"
    );
    assert_eq!(
        arg_ret(X, "setsockopt", &[3, 1, 13, 0x1000, 4], -22, &mut m, 3).0,
        "0x1000"
    );
    assert_eq!(
        arg_ret(X, "setsockopt", &[3, 1, 1, 0x1000, 5], 0, &mut m, 3).0,
        "[-15]"
    );
    // An int option shorter than an int: the address (strace's net.c).
    assert_eq!(
        arg_ret(X, "setsockopt", &[3, 1, 1, 0x1000, 3], 0, &mut m, 3).0,
        "0x1000"
    );
    // getsockopt: as far as the kernel says it wrote, the length in/out.
    m.map(0x2000, &le32(&[1, -1754156833]));
    m.map(0x3000, &9u32.to_le_bytes());
    let d = by_name(X, "getsockopt").unwrap();
    let o = DecodeOptions::default();
    let raw = [3, 1, 13, 0x2000, 0x3000];
    let mut a = decode_enter(d, X, &raw, &mut m, &o);
    m.map(0x3000, &8u32.to_le_bytes());
    decode_exit(d, X, &raw, 0, &mut m, &o, &mut a);
    assert_eq!(
        a[3].text.as_deref(),
        Some("{l_onoff=1, l_linger=-1754156833}")
    );
    assert_eq!(a[4].text.as_deref(), Some("[9 => 8]"));
    m.map(0x3000, &7u32.to_le_bytes());
    assert_eq!(
        arg_ret(X, "getsockopt", &raw, 0, &mut m, 3).0,
        "{l_onoff=1, l_linger=\"\\xdf\\xb0\\x71\"}"
    );
    m.map(0x3000, &3u32.to_le_bytes());
    assert_eq!(
        arg_ret(X, "getsockopt", &[3, 1, 1, 0x2000, 0x3000], 0, &mut m, 3).0,
        "\"\\x01\\x00\\x00\""
    );
    m.map(0x3000, &4u32.to_le_bytes());
    assert_eq!(
        arg_ret(X, "getsockopt", &[3, 1, 1, 0x2000, 0x3000], 0, &mut m, 3).0,
        "[1]"
    );
}

#[test]
fn recvmmsg_name_lengths() {
    let mut m = SparseVirt::new();
    m.map(0x5000, b"0");
    m.map(0x2000, &le64(&[0x5000, 1]));
    let mut v = Vec::new();
    for (name, len) in [(0x4000u64, 1u32), (0x4000, 2)] {
        let mut h = le64(&[name as i64]);
        h.extend(len.to_le_bytes());
        h.extend([0u8; 4]);
        h.extend(le64(&[0x2000, 1, 0, 0]));
        h.extend([0u8; 8]);
        h.extend(1u32.to_le_bytes());
        h.extend([0u8; 4]);
        v.extend(h);
    }
    m.map(0x1000, &v);
    m.map(0x4000, &[1, 0, b'x', 0]);
    let d = by_name(X, "recvmmsg").unwrap();
    let o = DecodeOptions::default();
    let raw = [3, 0x1000, 2, 0, 0];
    let mut a = decode_enter(d, X, &raw, &mut m, &o);
    assert_eq!(
        a[1].text.as_deref(),
        Some("[{msg_hdr={msg_namelen=1}}, {msg_hdr={msg_namelen=2}}]")
    );
    // The kernel wrote 4-byte names.
    m.map(0x1008, &4u32.to_le_bytes());
    m.map(0x1048, &4u32.to_le_bytes());
    decode_exit(d, X, &raw, 2, &mut m, &o, &mut a);
    let t = a[1].text.clone().unwrap();
    assert!(
        t.starts_with("[{msg_hdr={msg_name=0x4000, msg_namelen=1 => 4,"),
        "{t}"
    );
    assert!(
        t.contains("{msg_hdr={msg_name={sa_family=AF_UNIX}, msg_namelen=2 => 4,"),
        "{t}"
    );
}

#[test]
fn i386_siginfo() {
    let mut m = SparseVirt::new();
    // SIGCHLD, CLD_EXITED, pid 479, uid 0, status 42, clocks 1 and 2.
    m.map(0x1000, &le32(&[17, 0, 1, 479, 0, 42, 1, 2]));
    m.map_zeroed(0x1020, 96);
    assert_eq!(
        arg_ret(I, "waitid", &[1, 479, 0x1000, 4, 0], 0, &mut m, 2).0,
        "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=479, si_uid=0, si_status=42, si_utime=1 /* 0.01 s */, si_stime=2 /* 0.02 s */}"
    );
    // SI_QUEUE with a 32-bit sigval.
    m.map(0x1000, &le32(&[10, 0, -1, 456, 0, -1159983635, 0, 0]));
    assert_eq!(
        arg_ret(I, "rt_sigqueueinfo", &[456, 10, 0x1000], 0, &mut m, 2).0,
        "{si_signo=SIGUSR1, si_code=SI_QUEUE, si_pid=456, si_uid=0, si_int=-1159983635, si_ptr=0xbadc0ded}"
    );
}

#[test]
fn statx_by_its_mask() {
    let mut m = SparseVirt::new();
    let mut b = vec![0u8; 256];
    b[0..4].copy_from_slice(&0x1fffu32.to_le_bytes());
    b[4..8].copy_from_slice(&4096u32.to_le_bytes());
    b[16..20].copy_from_slice(&1u32.to_le_bytes());
    b[28..30].copy_from_slice(&0o20666u16.to_le_bytes());
    b[32..40].copy_from_slice(&7u64.to_le_bytes());
    b[56..64].copy_from_slice(&0x20_3070u64.to_le_bytes());
    b[64..72].copy_from_slice(&1796288234i64.to_le_bytes());
    b[72..76].copy_from_slice(&855999995u32.to_le_bytes());
    b[144..152].copy_from_slice(&0x1du64.to_le_bytes());
    m.map(0x1000, &b);
    assert_eq!(
        arg_ret(X, "statx", &[(-100i64) as u64, 0, 0, 0xfff, 0x1000], 0, &mut m, 4).0,
        "{stx_mask=STATX_ALL|STATX_MNT_ID, stx_attributes=0, stx_mode=S_IFCHR|0666, stx_size=0, ...}"
    );
    let v = DecodeOptions {
        verbose: true,
        ..Default::default()
    };
    let s = line_opts(
        I,
        "statx",
        &[(-100i64) as u64, 0, 0, 0xfff, 0x1000],
        0,
        &mut m,
        &v,
    );
    assert!(
        s.contains("stx_mask=STATX_ALL|STATX_MNT_ID, stx_blksize=4096, stx_attributes=0, stx_nlink=1, stx_uid=0, stx_gid=0, stx_mode=S_IFCHR|0666, stx_ino=7, stx_size=0, stx_blocks=0, stx_attributes_mask=STATX_ATTR_IMMUTABLE|STATX_ATTR_APPEND|STATX_ATTR_NODUMP|STATX_ATTR_AUTOMOUNT|STATX_ATTR_MOUNT_ROOT|STATX_ATTR_DAX, stx_atime={tv_sec=1796288234, tv_nsec=855999995} /* 2026-12-03T08:57:14.855999995+0000 */, stx_btime={tv_sec=0, tv_nsec=0}"),
        "{s}"
    );
    assert!(s.contains("stx_mnt_id=0x1d}) = 0"), "{s}");
}

#[test]
fn fcntl_locks_and_owners() {
    use super::fcntl_struct;
    let mut m = SparseVirt::new();
    let o = DecodeOptions::default();
    let mut fl = vec![0u8; 32];
    fl[8..16].copy_from_slice(&0i64.to_le_bytes());
    fl[16..24].copy_from_slice(&4096i64.to_le_bytes());
    m.map(0x1000, &fl);
    assert_eq!(
        fcntl_struct(X, 6, 0x1000, &mut m, &o, None).as_deref(),
        Some("{l_type=F_RDLCK, l_whence=SEEK_SET, l_start=0, l_len=4096}")
    );
    fl[0] = 2;
    m.map(0x1000, &fl);
    assert_eq!(
        fcntl_struct(X, 5, 0x1000, &mut m, &o, Some(0)).as_deref(),
        Some("{l_type=F_UNLCK, l_whence=SEEK_SET, l_start=0, l_len=4096, l_pid=0}")
    );
    assert_eq!(
        fcntl_struct(X, 5, 0x1000, &mut m, &o, None).as_deref(),
        Some("0x1000")
    );
    // i386 flock64 for F_SETLK64 (13): 64-bit start at 4.
    let mut f64 = vec![0u8; 24];
    f64[4..12].copy_from_slice(&(-2379362051860529427i64).to_le_bytes());
    m.map(0x2000, &f64);
    assert_eq!(
        fcntl_struct(I, 13, 0x2000, &mut m, &o, None).as_deref(),
        Some("{l_type=F_RDLCK, l_whence=SEEK_SET, l_start=-2379362051860529427, l_len=0}")
    );
    m.map(0x3000, &le32(&[0, 301]));
    assert_eq!(
        fcntl_struct(X, 15, 0x3000, &mut m, &o, None).as_deref(),
        Some("{type=F_OWNER_TID, pid=301}")
    );
    assert_eq!(fcntl_struct(X, 1, 0x3000, &mut m, &o, None), None);
}

#[test]
fn capabilities() {
    let mut m = SparseVirt::new();
    m.map(0x1000, &le32(&[0x2008_0522, 0]));
    // effective: DAC_OVERRIDE and WAKE_ALARM (bit 35), permitted:
    // DAC_READ_SEARCH and BLOCK_SUSPEND (bit 36).
    m.map(0x2000, &le32(&[1 << 1, 1 << 2, 0, 1 << 3, 1 << 4, 0]));
    assert_eq!(
        line(X, "capset", &[0x1000, 0x2000], -1, &mut m),
        "capset({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=1<<CAP_DAC_OVERRIDE|1<<CAP_WAKE_ALARM, permitted=1<<CAP_DAC_READ_SEARCH|1<<CAP_BLOCK_SUSPEND, inheritable=0}) = -1 EPERM (Operation not permitted)"
    );
    m.map(0x2000, &le32(&[-1, -1, 0, -1, -1, 0]));
    let s = line(X, "capget", &[0x1000, 0x2000], 0, &mut m);
    assert!(s.contains("effective=1<<CAP_CHOWN|"), "{s}");
    assert!(
        s.contains("1<<CAP_CHECKPOINT_RESTORE|0xfffffe00, permitted="),
        "{s}"
    );
    m.map(0x1000, &le32(&[0xbadc0ded_u32 as i32, -1576685468]));
    assert_eq!(
        arg_ret(X, "capset", &[0x1000, 0x2000], -22, &mut m, 0).0,
        "{version=0xbadc0ded /* _LINUX_CAPABILITY_VERSION_??? */, pid=-1576685468}"
    );
}

#[test]
fn aio_events_and_context() {
    let mut m = SparseVirt::new();
    m.map(0x1000, &le64(&[0x7f0d_f28d_0000]));
    assert_eq!(
        line(X, "io_setup", &[2, 0x1000], 0, &mut m),
        "io_setup(2, [0x7f0df28d0000]) = 0"
    );
    let mut ev = le64(&[0xfeed_face_1111_1111_u64 as i64, 0x7f0d_f28c_0f80, 4096, 0]);
    ev.extend(le64(&[0, 0, -5, 0]));
    m.map(0x2000, &ev);
    assert_eq!(
        arg_ret(X, "io_getevents", &[0x7f0d_f28d_0000, 2, 3, 0x2000, 0], 2, &mut m, 3).0,
        "[{data=0xfeedface11111111, obj=0x7f0df28c0f80, res=4096, res2=0}, {data=0, obj=0, res=-5, res2=0}]"
    );
}

#[test]
fn aio_control_blocks() {
    let mut m = SparseVirt::new();
    let mut cb = vec![0u8; 64];
    cb[0..8].copy_from_slice(&0xfeed_face_1111_1111u64.to_le_bytes());
    cb[18..20].copy_from_slice(&11u16.to_le_bytes());
    cb[24..32].copy_from_slice(&0x5000u64.to_le_bytes());
    cb[32..40].copy_from_slice(&4096u64.to_le_bytes());
    cb[40..48].copy_from_slice(&7i64.to_le_bytes());
    m.map(0x1000, &cb);
    let mut w = cb.clone();
    w[16] = 1;
    w[32..40].copy_from_slice(&3u64.to_le_bytes());
    m.map(0x1100, &w);
    m.map(0x5000, b"abc");
    m.map(0x2000, &le64(&[0x1000, 0x1100]));
    assert_eq!(
        arg_ret(X, "io_submit", &[0x7f00, 2, 0x2000], 2, &mut m, 2).0,
        "[{aio_data=0xfeedface11111111, aio_lio_opcode=IOCB_CMD_PREAD, aio_reqprio=11, aio_fildes=0, aio_buf=0x5000, aio_nbytes=4096, aio_offset=7}, {aio_data=0xfeedface11111111, aio_lio_opcode=IOCB_CMD_PWRITE, aio_reqprio=11, aio_fildes=0, aio_buf=\"abc\", aio_nbytes=3, aio_offset=7}]"
    );
    let mut h = vec![0u8; 64];
    h[16..18].copy_from_slice(&61453u16.to_le_bytes());
    h[20..24].copy_from_slice(&(-42i32).to_le_bytes());
    m.map(0x3000, &h);
    assert_eq!(
        arg_ret(X, "io_cancel", &[0x7f00, 0x3000, 0x4000], -22, &mut m, 1).0,
        "{aio_data=0, aio_lio_opcode=61453 /* IOCB_CMD_??? */, aio_fildes=-42}"
    );
}

#[test]
fn aio_priorities_and_negative_counts() {
    let mut m = SparseVirt::new();
    let mut cb = vec![0u8; 64];
    cb[16] = 1;
    cb[18..20].copy_from_slice(&((5u16 << 13) | 7919).to_le_bytes());
    cb[56..60].copy_from_slice(&2u32.to_le_bytes());
    m.map(0x1000, &cb);
    m.map(0x2000, &le64(&[0x1000]));
    let (t, _) = arg_ret(X, "io_submit", &[1, 1, 0x2000], -9, &mut m, 2);
    assert!(
        t.contains("aio_reqprio=IOPRIO_PRIO_VALUE(0x5 /* IOPRIO_CLASS_??? */, 7919)"),
        "{t}"
    );
    assert_eq!(
        arg_ret(X, "io_submit", &[1, u64::MAX, 0x2000], -22, &mut m, 2).0,
        "0x2000"
    );
}
