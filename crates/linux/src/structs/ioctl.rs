//! ioctl's third argument, decoded by request as strace does.
//!
//! strace dispatches an ioctl on its request's type byte to a family
//! decoder (terminal, watchdog, random, inotify, filesystem...); each one
//! knows, per request, whether the argument is read by the kernel (shown
//! at the entry), written by it (shown at a successful exit, else its
//! address), a plain value, or not printed at all (`ioctl(3, FIFREEZE)`).
//! Requests a family does not decode print the argument in hex (`0` for
//! 0), as strace does. Requests are matched by their names in the
//! generated ioctl tables, so the numbers come from the kernel's headers.
//!
//! Guest memory is hostile: every structure is read whole and bounded, an
//! unreadable one prints as its address, and nothing here panics.

use vstrace_core::Value as V;

use super::{Call, Fields};
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{self, Radix, Table as T};

/// How a family decoder renders the argument of one request.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    /// Not printed (`ioctl(-1, WDIOC_KEEPALIVE)`).
    NoArg,
    /// The argument itself, rendered from its value (`INOTIFY_IOC_SETNEXTWD`).
    Value(fn(LinuxAbi, u64) -> String),
    /// A structure the kernel reads: rendered at the entry.
    In(fn(&mut Call<'_, '_>, u64) -> String),
    /// A structure the kernel writes: its address until a successful exit.
    Out(fn(&mut Call<'_, '_>, u64) -> String),
    /// Read at the entry; at the exit the second function makes the
    /// text from the entry's (` => {...}` for what the kernel wrote back,
    /// usually only when the call succeeded).
    InThen(
        fn(&mut Call<'_, '_>, u64) -> String,
        fn(&mut Call<'_, '_>, u64, String) -> String,
    ),
    /// Typed: the argument rendered from its value alone, at the entry.
    ValV(fn(&mut Call<'_, '_>, u64) -> V),
    /// Typed: a structure the kernel reads, rendered at the entry.
    InV(fn(&mut Call<'_, '_>, u64) -> V),
    /// Typed: a structure the kernel writes, its address until a
    /// successful exit.
    OutV(fn(&mut Call<'_, '_>, u64) -> V),
    /// Typed: what the kernel reads, shown at the entry; at a
    /// successful exit the second function gives what it wrote back,
    /// shown after ` => ` (`None`: nothing more is shown).
    InOutV(
        fn(&mut Call<'_, '_>, u64) -> V,
        fn(&mut Call<'_, '_>, u64) -> Option<V>,
    ),
    /// Typed: a structure the kernel reads (shown at the entry) and
    /// completes: at the exit the second function gives the fields
    /// strace adds after the entry's, in the same braces.
    InMoreV(
        fn(&mut Call<'_, '_>, u64) -> V,
        fn(&mut Call<'_, '_>, u64) -> Vec<(vstrace_core::value::Name, V)>,
    ),
    /// Typed: the first function gives what the entry shows; at the exit
    /// the second gives the whole value, for structures where what the
    /// kernel wrote shows inside the braces (`{entry_ct=1 => 0, ...}`).
    EntryExitV(
        fn(&mut Call<'_, '_>, u64) -> V,
        fn(&mut Call<'_, '_>, u64) -> V,
    ),
}

/// Decoders of one family of requests (a file per family).
type Family = fn(&str) -> Option<Kind>;

/// Families strace dispatches on the request's number rather than its
/// name (requests whose size or number carries a parameter).
const CODE_FAMILIES: &[fn(u32) -> Option<Kind>] = &[
    super::ioctl_evdev::kind_of_code,
    super::ioctl_seccomp::kind_of_code,
    super::ioctl_tee::kind_of_code,
];

/// The families beyond this file's.
const FAMILIES: &[Family] = &[
    super::ioctl_block::kind_of,
    super::ioctl_rtc::kind_of,
    super::ioctl_hdio::kind_of,
    super::ioctl_term::kind_of,
    super::ioctl_loop::kind_of,
    super::ioctl_mtd::kind_of,
    super::ioctl_ubi::kind_of,
    super::ioctl_perf::kind_of,
    super::ioctl_uffdio::kind_of,
    super::ioctl_seccomp::kind_of,
    super::ioctl_gpio::kind_of,
    super::ioctl_ptp::kind_of,
    super::ioctl_lirc::kind_of,
    super::ioctl_sock::kind_of,
    super::ioctl_scsi::kind_of,
    super::ioctl_kd::kind_of,
    super::ioctl_sg_io::kind_of,
    super::ioctl_v4l2::kind_of,
    super::ioctl_dm::kind_of,
    super::ioctl_tee::kind_of,
    super::ioctl_btrfs::kind_of,
];

/// The request types whose strace family decoder is modelled here in
/// full: a request of these types without a decoder prints in hex.
const FULL_FAMILIES: &[u8] = b"TWRIX>p\x12\x03L\xabMoO$\xb7\xaa!\xb4=i\x89KV\xfd\x94\xa4";

/// The decoder of request `name`, if strace has one.
fn kind_of(name: &str) -> Option<Kind> {
    use Kind::*;
    Some(match name {
        // Terminals (type 'T').
        "TIOCGWINSZ" => Out(winsize),
        "TIOCSWINSZ" => In(winsize),
        "TIOCMGET" => Out(modem),
        "TIOCMBIS" | "TIOCMBIC" | "TIOCMSET" => In(modem),
        "TIOCGPGRP" | "TIOCGSID" | "TIOCGETD" | "TIOCGSOFTCAR" | "TIOCGPTN" | "FIONREAD"
        | "TIOCOUTQ" | "TIOCGEXCL" | "TIOCGDEV" => Out(int),
        "TIOCSPGRP" | "TIOCSETD" | "FIONBIO" | "FIOASYNC" | "TIOCPKT" | "TIOCSSOFTCAR"
        | "TIOCSPTLCK" => In(int),
        "TCXONC" => Value(|abi, v| xlat::xval(abi, T::TcxoncOptions, v, Radix::Hex)),
        "TCFLSH" => Value(|abi, v| xlat::xval(abi, T::TcflshOptions, v, Radix::Hex)),
        "TCSBRK" | "TCSBRKP" | "TIOCSCTTY" => Value(dec),
        "TIOCSTI" => In(|c, v| c.quoted(v, 1)),
        "TIOCSBRK" | "TIOCCBRK" | "TIOCCONS" | "TIOCNOTTY" | "TIOCEXCL" | "TIOCNXCL"
        | "FIOCLEX" | "FIONCLEX" | "TIOCVHANGUP" | "TIOCSSERIAL" => NoArg,
        // Watchdogs ('W').
        "WDIOC_GETSTATUS"
        | "WDIOC_GETBOOTSTATUS"
        | "WDIOC_GETTEMP"
        | "WDIOC_GETTIMEOUT"
        | "WDIOC_GETPRETIMEOUT"
        | "WDIOC_GETTIMELEFT" => Out(int),
        "WDIOC_SETTIMEOUT" | "WDIOC_SETPRETIMEOUT" => In(int),
        "WDIOC_KEEPALIVE" => NoArg,
        // The random device ('R').
        "RNDGETENTCNT" => Out(int),
        "RNDADDTOENTCNT" => In(int),
        "RNDADDENTROPY" => In(rand_pool_info),
        "RNDZAPENTCNT" | "RNDCLEARPOOL" | "RNDRESEEDCRNG" => NoArg,
        // inotify ('I').
        "INOTIFY_IOC_SETNEXTWD" => Value(dec),
        // Filesystems ('X', 'f').
        "FITRIM" => In(fstrim_range),
        "FS_IOC_FSGETXATTR" => Out(|c, v| fsxattr(c, v, true)),
        "FS_IOC_FSSETXATTR" => In(|c, v| fsxattr(c, v, false)),
        "FIFREEZE" | "FITHAW" => NoArg,
        "FS_IOC_GETFLAGS" | "FS_IOC32_GETFLAGS" => Out(fs_flags),
        "FS_IOC_SETFLAGS" | "FS_IOC32_SETFLAGS" => In(fs_flags),
        "FS_IOC_FIEMAP" => InThen(fiemap_in, fiemap_out),
        // Counters ('>').
        "COUNTER_ADD_WATCH_IOCTL" => In(counter_watch),
        "COUNTER_ENABLE_EVENTS_IOCTL" | "COUNTER_DISABLE_EVENTS_IOCTL" => NoArg,
        _ => return FAMILIES.iter().find_map(|f| f(name)),
    })
}

/// The decoder of request `code` (the first of its names that has one).
fn lookup(abi: LinuxAbi, code: u32) -> Option<Kind> {
    CODE_FAMILIES
        .iter()
        .find_map(|f| f(code))
        .or_else(|| xlat::ioctl_names(abi, code).into_iter().find_map(kind_of))
}

/// The names strace prints for request `code`: a parameterised name
/// (`EVIOCGBIT(EV_KEY, 8)`) first, then the table's names; empty when
/// it has none (the caller prints `_IOC(...)`).
pub(crate) fn request_names(abi: LinuxAbi, code: u32) -> Vec<String> {
    let mut names: Vec<String> = super::ioctl_evdev::request_name(abi, code)
        .or_else(|| param_name(code))
        .into_iter()
        .collect();
    names.extend(xlat::ioctl_names(abi, code).into_iter().map(String::from));
    names
}

/// The parameterised names strace gives requests of other types than
/// evdev's: the sound mixer's `MIXER_READ(n)`/`MIXER_WRITE(n)`, HID and
/// input names with their buffer size, seccomp's misdirected
/// `SECCOMP_IOCTL_NOTIF_ID_VALID`.
fn param_name(code: u32) -> Option<String> {
    let (dir, ty, nr, size) = (
        code >> 30,
        (code >> 8) & 0xff,
        code & 0xff,
        (code >> 16) & 0x3fff,
    );
    let (read, write, rw) = (dir == 2, dir == 1, dir == 3);
    let name = match (ty as u8, nr) {
        (b'!', 2) if read && size == 8 => {
            return Some("SECCOMP_IOCTL_NOTIF_ID_VALID_WRONG_DIR".into())
        }
        (b'M', _) if write => return Some(format!("MIXER_WRITE({nr})")),
        (b'M', _) if read => return Some(format!("MIXER_READ({nr})")),
        (b'H', 0x04) if read => "HIDIOCGRAWNAME",
        (b'H', 0x05) if read => "HIDIOCGRAWPHYS",
        (b'H', 0x06) if read || rw => "HIDIOCSFEATURE",
        (b'H', 0x07) if rw => "HIDIOCGFEATURE",
        (b'H', 0x08) if read => "HIDIOCGRAWUNIQ",
        (b'H', 0x12) if read => "HIDIOCGPHYS",
        (b'U', 0x2c) if read => "UI_GET_SYSNAME",
        (b'j', 0x13) if read => "JSIOCGNAME",
        (b'k', 0) if write => "SPI_IOC_MESSAGE",
        _ => return None,
    };
    Some(format!("{name}({size})"))
}

/// The typed value of ioctl's third argument (raw value `v`): the typed
/// decoders' values, an address as a pointer, else the text.
pub(crate) fn value(c: &mut Call<'_, '_>, v: u64) -> V {
    let code = c.arg(1) as u32;
    match lookup(c.abi, code) {
        // At the exit, what the entry showed (with `-y` names) when the
        // value reads otherwise now.
        Some(Kind::ValV(f)) => entry_again(c, v, f),
        // What the entry showed (the memory may have changed since):
        // typed again when it reads the same.
        Some(Kind::InV(f)) => entry_again(c, v, f),
        Some(Kind::OutV(_)) if c.ret.is_none() || c.failed() => V::ptr(v),
        Some(Kind::OutV(f)) => f(c, v),
        Some(Kind::InOutV(f, _) | Kind::InMoreV(f, _) | Kind::EntryExitV(f, _))
            if c.ret.is_none() =>
        {
            f(c, v)
        }
        Some(Kind::EntryExitV(_, exit)) => exit(c, v),
        Some(Kind::InMoreV(f, more)) => match entry_again(c, v, f) {
            V::Struct {
                mut fields,
                more: m,
            } => {
                fields.extend(more(c, v));
                V::Struct { fields, more: m }
            }
            before => before,
        },
        Some(Kind::InOutV(f, then)) => {
            let before = entry_again(c, v, f);
            // Only a structure the entry could read gets its answer.
            if matches!(before, V::Ptr(_) | V::Null) || c.failed() {
                return before;
            }
            match then(c, v) {
                Some(after) => V::Changed {
                    before: Box::new(before),
                    after: Box::new(after),
                },
                _ => before,
            }
        }
        _ => {
            let text = decode(c, v);
            // An argument shown as its address is a pointer value.
            if v != 0 && text == format!("{v:#x}") {
                V::ptr(v)
            } else {
                V::Opaque(text)
            }
        }
    }
}

/// At the exit, the value the entry showed: decoded again when the
/// memory still reads the same, else the entry's text.
pub(super) fn entry_again(c: &mut Call<'_, '_>, v: u64, f: fn(&mut Call<'_, '_>, u64) -> V) -> V {
    match c.entry().map(str::to_string) {
        Some(t) => {
            let now = f(c, v);
            if now.render() == t {
                now
            } else {
                V::Opaque(t)
            }
        }
        None => f(c, v),
    }
}

/// Whether the third argument of request `code` is a descriptor (named
/// under `-y`). These requests are `_IO`, the same number in both ABIs.
pub(crate) fn arg_is_fd(code: u32) -> bool {
    xlat::ioctl_names(LinuxAbi::X86_64, code).iter().any(|n| {
        matches!(
            *n,
            "LOOP_SET_FD"
                | "LOOP_CHANGE_FD"
                | "NBD_SET_SOCK"
                | "PERF_EVENT_IOC_SET_OUTPUT"
                | "PERF_EVENT_IOC_SET_BPF"
        )
    })
}

/// Whether strace prints a third argument for request `code`. The
/// requests printed without one take no argument or an `int`, so their
/// number is the same in both ABIs.
pub fn shows_arg(code: u32) -> bool {
    !matches!(lookup(LinuxAbi::X86_64, code), Some(Kind::NoArg))
}

/// ioctl's third argument (raw value `v`; the request is argument 1).
pub(crate) fn decode(c: &mut Call<'_, '_>, v: u64) -> String {
    let code = c.arg(1) as u32;
    let Some(kind) = lookup(c.abi, code) else {
        return undecoded(c.abi, code, v);
    };
    let failed = c.failed();
    match kind {
        Kind::NoArg => String::new(),
        Kind::Value(f) => f(c.abi, v),
        Kind::In(f) => match c.entry() {
            Some(t) if c.ret.is_some() => t.to_string(),
            _ => f(c, v),
        },
        Kind::Out(_) if c.ret.is_none() || failed => fmt::ptr(v),
        Kind::Out(f) => f(c, v),
        Kind::InThen(f, _) if c.ret.is_none() => f(c, v),
        Kind::InThen(f, then) => {
            let before = match c.entry() {
                Some(t) => t.to_string(),
                None => f(c, v),
            };
            then(c, v, before)
        }
        Kind::ValV(_)
        | Kind::InV(_)
        | Kind::OutV(_)
        | Kind::InOutV(..)
        | Kind::InMoreV(..)
        | Kind::EntryExitV(..) => value(c, v).render(),
    }
}

/// A request without a decoder: in hex for the families modelled in
/// full (strace prints the number), else an address for requests that
/// pass a pointer (`NULL` for 0).
fn undecoded(abi: LinuxAbi, code: u32, v: u64) -> String {
    let ty = ((code >> 8) & 0xff) as u8;
    if FULL_FAMILIES.contains(&ty) || !xlat::ioctl_takes_pointer(abi, code) {
        fmt::hex0(v)
    } else {
        fmt::ptr(v)
    }
}

/// `len` bytes at `v` rendered by `f` (with `long` of the call's ABI);
/// NULL or the address when unreadable.
pub(super) fn read_v(
    c: &mut Call<'_, '_>,
    v: u64,
    len: usize,
    f: impl FnOnce(&Call<'_, '_>, &Fields<'_>) -> V,
) -> V {
    match c.fetch_v(v, len) {
        Ok(b) => {
            let w = c.long_size();
            f(c, &Fields::new(&b, w))
        }
        Err(e) => e,
    }
}

/// A fixed char array as strace's `PRINT_FIELD_CSTRING`: up to its NUL,
/// else all but the last byte and `...`.
pub(super) fn cstring_v(b: &[u8]) -> V {
    match b.iter().position(|&x| x == 0) {
        Some(end) => V::str(b[..end].to_vec(), false, 0),
        None => V::str(b[..b.len().saturating_sub(1)].to_vec(), true, 0),
    }
}

/// The argument as a signed int (`PRINT_VAL_D((int) arg)`).
fn dec(_: LinuxAbi, v: u64) -> String {
    (v as u32 as i32).to_string()
}

/// An `int` through a pointer: `[N]`.
pub(super) fn int(c: &mut Call<'_, '_>, v: u64) -> String {
    match c.fetch(v, 4) {
        Ok(b) => format!("[{}]", Fields::new(&b, 4).i32(0)),
        Err(s) => s,
    }
}

/// Modem lines through a pointer: `[TIOCM_DTR|TIOCM_RTS]`.
fn modem(c: &mut Call<'_, '_>, v: u64) -> String {
    flags_ptr(c, v, T::ModemFlags)
}

/// inode flags through a pointer: `[FS_APPEND_FL|...]`.
fn fs_flags(c: &mut Call<'_, '_>, v: u64) -> String {
    flags_ptr(c, v, T::FsIocFlags)
}

fn flags_ptr(c: &mut Call<'_, '_>, v: u64, t: T) -> String {
    match c.fetch(v, 4) {
        Ok(b) => format!("[{}]", xlat::flags(c.abi, t, Fields::new(&b, 4).u32(0))),
        Err(s) => s,
    }
}

/// `struct winsize`: four `unsigned short`.
fn winsize(c: &mut Call<'_, '_>, v: u64) -> String {
    match c.fetch(v, 8) {
        Ok(b) => {
            let f = Fields::new(&b, 4);
            format!(
                "{{ws_row={}, ws_col={}, ws_xpixel={}, ws_ypixel={}}}",
                f.u16(0),
                f.u16(2),
                f.u16(4),
                f.u16(6)
            )
        }
        Err(s) => s,
    }
}

/// `struct rand_pool_info`: counts, then `buf_size` bytes of entropy.
fn rand_pool_info(c: &mut Call<'_, '_>, v: u64) -> String {
    let b = match c.fetch(v, 8) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, 4);
    let size = f.i32(4);
    let buf = c.quoted(v.wrapping_add(8), size as u32 as u64);
    format!("{{entropy_count={}, buf_size={size}, buf={buf}}}", f.i32(0))
}

/// `struct fstrim_range`: start (hex), len, minlen.
fn fstrim_range(c: &mut Call<'_, '_>, v: u64) -> String {
    match c.fetch(v, 24) {
        Ok(b) => {
            let f = Fields::new(&b, 8);
            format!(
                "{{start={:#x}, len={}, minlen={}}}",
                f.u64(0),
                f.u64(8),
                f.u64(16)
            )
        }
        Err(s) => s,
    }
}

/// `struct fsxattr` (`fsx_nextents` only in what the kernel returns).
fn fsxattr(c: &mut Call<'_, '_>, v: u64, get: bool) -> String {
    let b = match c.fetch(v, 28) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, 4);
    let mut s = format!(
        "{{fsx_xflags={}, fsx_extsize={}",
        xlat::flags(c.abi, T::FsXflags, f.u32(0)),
        f.u32(4)
    );
    if get {
        s.push_str(&format!(", fsx_nextents={}", f.u32(8)));
    }
    s.push_str(&format!(
        ", fsx_projid={}, fsx_cowextsize={}}}",
        fmt::hex0(f.u32(12)),
        f.u32(16)
    ));
    s
}

/// Size of `struct fiemap` without its extents.
const FIEMAP_SIZE: usize = 32;
/// Size of one `struct fiemap_extent`.
const FIEMAP_EXTENT_SIZE: usize = 56;

/// `struct fiemap` as the caller fills it.
fn fiemap_in(c: &mut Call<'_, '_>, v: u64) -> String {
    match c.fetch(v, FIEMAP_SIZE) {
        Ok(b) => {
            let f = Fields::new(&b, 8);
            format!(
                "{{fm_start={}, fm_length={}, fm_flags={}, fm_extent_count={}}}",
                f.u64(0),
                f.u64(8),
                xlat::flags(c.abi, T::FiemapFlags, f.u32(16)),
                f.u32(24)
            )
        }
        Err(s) => s,
    }
}

/// `struct fiemap` as the kernel returns it (the extents abbreviated,
/// strace's default).
fn fiemap_out(c: &mut Call<'_, '_>, v: u64, before: String) -> String {
    if c.failed() {
        return before;
    }
    let Ok(b) = c.fetch(v, FIEMAP_SIZE) else {
        return before;
    };
    let f = Fields::new(&b, 8);
    let mapped = f.u32(20);
    // The extents in full with `-v` only (strace's `abbrev`).
    let extents = if c.opts.verbose {
        let at = v.wrapping_add(FIEMAP_SIZE as u64);
        let list = c.array(at, mapped, FIEMAP_EXTENT_SIZE, |c, e| {
            let e = Fields::new(e, 8);
            format!(
                "{{fe_logical={}, fe_physical={}, fe_length={}, fe_flags={}}}",
                e.u64(0),
                e.u64(8),
                e.u64(16),
                xlat::flags(c.abi, T::FiemapExtentFlags, e.u32(40))
            )
        });
        format!("fm_extents={list}")
    } else {
        "...".to_string()
    };
    format!(
        "{before} => {{fm_flags={}, fm_mapped_extents={mapped}, {extents}}}",
        xlat::flags(c.abi, T::FiemapFlags, f.u32(16)),
    )
}

/// `struct counter_watch`: a component, an event and a channel (bytes).
fn counter_watch(c: &mut Call<'_, '_>, v: u64) -> String {
    match c.fetch(v, 6) {
        Ok(b) => {
            let x = |t, n: u8| xlat::xval(c.abi, t, n as u64, Radix::Hex);
            format!(
                "{{component={{type={}, scope={}, parent={}, id={}}}, event={}, channel={}}}",
                x(T::CounterIoctlComponentTypes, b[0]),
                x(T::CounterIoctlScopes, b[1]),
                b[2],
                b[3],
                x(T::CounterIoctlEventTypes, b[4]),
                b[5]
            )
        }
        Err(s) => s,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use vstrace_core::testmem::SparseVirt;

    use super::*;
    use crate::decode::{decode_enter, decode_exit, format_call, format_return};
    use crate::proto::by_name;
    use crate::DecodeOptions;

    const X: LinuxAbi = LinuxAbi::X86_64;

    /// The line strace prints for `ioctl(-1, code, v)` returning `ret`.
    pub(in crate::structs) fn line(code: u32, v: u64, ret: i64, m: &mut SparseVirt) -> String {
        line_o(&DecodeOptions::default(), code, v, ret, m)
    }

    /// [`line`] with options `o` (`-v`, `-X`).
    pub(in crate::structs) fn line_o(
        o: &DecodeOptions,
        code: u32,
        v: u64,
        ret: i64,
        m: &mut SparseVirt,
    ) -> String {
        let d = by_name(X, "ioctl").unwrap();
        let raw = [u64::MAX, code as u64, v];
        xlat::with_style(o.const_style, || {
            let mut a = decode_enter(d, X, &raw, m, o);
            decode_exit(d, X, &raw, ret, m, o, &mut a);
            format_call(d, &a, Some(&format_return(d, X, ret)))
        })
    }

    pub(in crate::structs) const EBADF: i64 = -9;

    #[test]
    fn winsize_in_at_entry_out_at_success() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &[24, 0, 80, 0, 0, 0, 0, 0]);
        let ws = "{ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}";
        assert_eq!(
            line(0x5414, 0x1000, EBADF, &mut m),
            format!("ioctl(-1, TIOCSWINSZ, {ws}) = -1 EBADF (Bad file descriptor)")
        );
        assert_eq!(
            line(0x5413, 0x1000, EBADF, &mut m),
            "ioctl(-1, TIOCGWINSZ, 0x1000) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(0x5413, 0x1000, 0, &mut m),
            format!("ioctl(-1, TIOCGWINSZ, {ws}) = 0")
        );
        assert_eq!(
            line(0x5413, 0, 0, &mut m),
            "ioctl(-1, TIOCGWINSZ, NULL) = 0"
        );
        // Unmapped (or partly mapped) memory: the address.
        m.map(0x2ffc, &[0; 4]);
        assert_eq!(
            line(0x5414, 0x2ffc, 0, &mut m),
            "ioctl(-1, TIOCSWINSZ, 0x2ffc) = 0"
        );
    }

    #[test]
    fn ints_flags_values_and_no_argument() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &6u32.to_le_bytes());
        assert_eq!(
            line(0x5416, 0x1000, 0, &mut m),
            "ioctl(-1, TIOCMBIS, [TIOCM_DTR|TIOCM_RTS]) = 0"
        );
        assert_eq!(
            line(0xc0045706, 0x1000, 0, &mut m),
            "ioctl(-1, WDIOC_SETTIMEOUT, [6]) = 0"
        );
        assert_eq!(
            line(0x80045707, 0x1000, EBADF, &mut m),
            "ioctl(-1, WDIOC_GETTIMEOUT, 0x1000) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(0x40044900, 0xdeadbeefbadc0ded, 0, &mut m),
            "ioctl(-1, INOTIFY_IOC_SETNEXTWD, -1159983635) = 0"
        );
        assert_eq!(
            line(0x80045705, 0, 0, &mut m),
            "ioctl(-1, WDIOC_KEEPALIVE) = 0"
        );
        assert_eq!(line(0xc0045877, 1, 0, &mut m), "ioctl(-1, FIFREEZE) = 0");
        // A terminal request strace does not decode: hex, 0 for 0.
        assert_eq!(line(0x5409, 0, 0, &mut m), "ioctl(-1, TCSBRK, 0) = 0");
        assert_eq!(
            line(0x540b, 2, 0, &mut m),
            "ioctl(-1, TCFLSH, TCIOFLUSH) = 0"
        );
        assert!(!shows_arg(0x80045705));
        assert!(shows_arg(0x5413));
    }

    #[test]
    fn fiemap_counter_and_entropy() {
        let mut m = SparseVirt::new();
        let mut b = Vec::new();
        for v in [1u64, 2] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for v in [1u32, 3, 4, 0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        m.map(0x1000, &b);
        let entry = "{fm_start=1, fm_length=2, fm_flags=FIEMAP_FLAG_SYNC, fm_extent_count=4}";
        assert_eq!(
            line(0xc020660b, 0x1000, EBADF, &mut m),
            format!("ioctl(-1, FS_IOC_FIEMAP, {entry}) = -1 EBADF (Bad file descriptor)")
        );
        assert_eq!(
            line(0xc020660b, 0x1000, 0, &mut m),
            format!(
                "ioctl(-1, FS_IOC_FIEMAP, {entry} => {{fm_flags=FIEMAP_FLAG_SYNC, fm_mapped_extents=3, ...}}) = 0"
            )
        );
        m.map(0x2000, &[0, 1, 2, 3, 3, 5, 9, 9]);
        assert_eq!(
            line(0x40063e00, 0x2000, 0, &mut m),
            "ioctl(-1, COUNTER_ADD_WATCH_IOCTL, {component={type=COUNTER_COMPONENT_NONE, \
             scope=COUNTER_SCOPE_SIGNAL, parent=2, id=3}, event=COUNTER_EVENT_THRESHOLD, \
             channel=5}) = 0"
        );
        m.map(0x3000, &[3, 0, 0, 0, 2, 0, 0, 0, b'a', b'b']);
        assert_eq!(
            line(0x40085203, 0x3000, 0, &mut m),
            "ioctl(-1, RNDADDENTROPY, {entropy_count=3, buf_size=2, buf=\"ab\"}) = 0"
        );
    }

    #[test]
    fn block_requests() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &(1u64 << 40).to_le_bytes());
        // BLKGETSIZE64 _IOR(0x12, 114, size_t).
        assert_eq!(
            line(0x80081272, 0x1000, 0, &mut m),
            "ioctl(-1, BLKGETSIZE64, [1099511627776]) = 0"
        );
        assert_eq!(line(0x125f, 0, 0, &mut m), "ioctl(-1, BLKRRPART) = 0");
        // BLKPG: op, flags, datalen, then the partition it points to.
        let mut arg = Vec::new();
        for v in [1i32, 0, 152, 0] {
            arg.extend_from_slice(&v.to_le_bytes());
        }
        arg.extend_from_slice(&0x5000u64.to_le_bytes());
        // At the end of its page: 24 bytes and not one more.
        m.map(0x2fe8, &arg);
        let mut part = Vec::new();
        part.extend_from_slice(&2048i64.to_le_bytes());
        part.extend_from_slice(&4096i64.to_le_bytes());
        part.extend_from_slice(&1i32.to_le_bytes());
        let mut name = b"sda1".to_vec();
        name.resize(64, 0);
        part.extend_from_slice(&name);
        part.extend_from_slice(&[b'B'; 64]);
        m.map(0x5000, &part);
        assert_eq!(
            line(0x1269, 0x2fe8, EBADF, &mut m),
            format!(
                "ioctl(-1, BLKPG, {{op=BLKPG_ADD_PARTITION, flags=0, datalen=152, \
                 data={{start=2048, length=4096, pno=1, devname=\"sda1\", volname=\"{}\"...}}}}) \
                 = -1 EBADF (Bad file descriptor)",
                "B".repeat(63)
            )
        );
    }

    #[test]
    fn rtc_requests() {
        let mut m = SparseVirt::new();
        let t: Vec<u8> = (1..=9i32).flat_map(|x| x.to_le_bytes()).collect();
        m.map(0x1000, &t);
        assert_eq!(
            line(0x4024700a, 0x1000, EBADF, &mut m),
            "ioctl(-1, RTC_SET_TIME, {tm_sec=1, tm_min=2, tm_hour=3, tm_mday=4, tm_mon=5, \
             tm_year=6, ...}) = -1 EBADF (Bad file descriptor)"
        );
        let mut p = Vec::new();
        for v in [1u64, (-5i64) as u64] {
            p.extend_from_slice(&v.to_le_bytes());
        }
        p.extend_from_slice(&[7, 0, 0, 0, 0, 0, 0, 0]);
        m.map(0x2000, &p);
        assert_eq!(
            line(0x40187013, 0x2000, EBADF, &mut m),
            "ioctl(-1, RTC_PARAM_GET, {param=RTC_PARAM_CORRECTION, index=7} => 0x2000) \
             = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(0x40187013, 0x2000, 0, &mut m),
            "ioctl(-1, RTC_PARAM_GET, {param=RTC_PARAM_CORRECTION, index=7} => \
             {svalue=-5}) = 0"
        );
        assert_eq!(
            line(0x7004, 0, 0, &mut m),
            "ioctl(-1, PHN_NOT_OH or RTC_UIE_OFF) = 0"
        );
    }

    #[test]
    fn hdio_requests() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &[0xca, 255, 238, 0]);
        let cmd = "{command=ATA_CMD_WRITE, sector_number=255, feature=238, sector_count=0}";
        assert_eq!(
            line(0x31f, 0x1000, EBADF, &mut m),
            format!("ioctl(-1, HDIO_DRIVE_CMD, {cmd}) = -1 EBADF (Bad file descriptor)")
        );
        assert_eq!(
            line(0x31f, 0x1000, 0, &mut m),
            format!(
                "ioctl(-1, HDIO_DRIVE_CMD, {cmd} => {{status=0xca, error=255, nsector=238}}) = 0"
            )
        );
        assert_eq!(
            line(0x329, 0xfacefeedded2ffff, 0, &mut m),
            "ioctl(-1, HDIO_SET_NICE, 1 << IDE_NICE_DSC_OVERLAP|1 << IDE_NICE_ATAPI_OVERLAP|\
             1 << IDE_NICE_1|1 << IDE_NICE_0|1 << IDE_NICE_2|0xfacefeedded2ffe0) = 0"
        );
        m.map(
            0x2000,
            &[16, 63, 0x10, 0x27, 0, 0, 0, 0, 0x3f, 0, 0, 0, 0, 0, 0, 0],
        );
        assert_eq!(
            line(0x301, 0x2000, 0, &mut m),
            "ioctl(-1, HDIO_GETGEO, {heads=16, sectors=63, cylinders=10000, start=63}) = 0"
        );
    }
}
