//! Argument shape per call, as strace prints it: how many arguments a
//! call shows (an `open` mode only with `O_CREAT`/`O_TMPFILE`, `fcntl`'s
//! third argument only for commands that take one, `prctl`'s by option)
//! and how the option-dependent arguments are rendered.

use super::prctl::prctl_nargs;
use super::Ctx;
use crate::fmt;
use crate::proto::{ArgType, LinuxAbi, SyscallDesc};
use crate::structs::{QuotaShape, StructKind};
use crate::xlat::{self, Radix, Table};
use vstrace_core::Value;

const O_CREAT: u64 = 0o100;
const O_TMPFILE_BIT: u64 = 0o20000000;

fn mremap_flag(name: &str) -> u64 {
    Table::MremapFlags
        .xlat()
        .value_of(crate::proto::LinuxAbi::X86_64, name)
        .unwrap_or(0)
}

fn fcntl_cmd(name: &str) -> u64 {
    Table::Fcntlcmds
        .xlat()
        .value_of(crate::proto::LinuxAbi::X86_64, name)
        .unwrap_or(u64::MAX)
}

/// The indexes of `desc`'s arguments that are shown: the first
/// [`shown_args`], less quotactl's id for the commands that take none
/// but an address (`Q_GETFMT`, `Q_XQUOTAON`...).
pub(super) fn shown(desc: &SyscallDesc, abi: LinuxAbi, raw: &[u64; 6]) -> Shown {
    let mut out = Shown::default();
    for i in 0..shown_args(desc, abi, raw) {
        let keep = match desc.args[i].ty {
            ArgType::Struct(StructKind::QuotaId(c)) => {
                crate::structs::quota_shape(abi, raw[c as usize]) != QuotaShape::AddrOnly
            }
            ArgType::Unshown => false,
            _ => true,
        };
        if keep && out.n < out.idx.len() {
            out.idx[out.n] = i;
            out.n += 1;
        }
    }
    out
}

/// The shown argument indexes ([`shown`]), inline: computed at every
/// enter and exit, so no allocation (a call has at most 6 arguments).
#[derive(Default, Clone, Copy)]
pub(super) struct Shown {
    idx: [usize; 6],
    n: usize,
}

impl std::ops::Deref for Shown {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        &self.idx[..self.n]
    }
}

/// How many of `desc`'s arguments are shown, given the raw values (the
/// arguments after them are left out, as strace leaves them out).
pub(super) fn shown_args(desc: &SyscallDesc, abi: LinuxAbi, raw: &[u64; 6]) -> usize {
    let n = desc.args.len();
    for (i, a) in desc.args.iter().enumerate() {
        match a.ty {
            ArgType::OpenMode(f) => {
                let flags = raw.get(f as usize).copied().unwrap_or(0);
                if flags & (O_CREAT | O_TMPFILE_BIT) == 0 {
                    return i;
                }
            }
            ArgType::MknodDev(m) => {
                let mode = raw.get(m as usize).copied().unwrap_or(0) & 0o170000;
                if mode != 0o020000 && mode != 0o060000 {
                    return i;
                }
            }
            // syslog actions that ignore the buffer and the length.
            ArgType::XlatVerbose(Table::SyslogActionType)
                if matches!(raw[i] & 0xffff_ffff, 0 | 1 | 5 | 6 | 7 | 9 | 10) =>
            {
                return i + 1;
            }
            // readdir's count is always 1: strace shows it only when not.
            ArgType::Uint if desc.name == "readdir" && i == 2 && raw[2] & 0xffff_ffff == 1 => {
                return i;
            }
            // membarrier's cpu id only with MEMBARRIER_CMD_FLAG_CPU.
            ArgType::Int if desc.name == "membarrier" && i == 2 && raw[1] & 1 == 0 => {
                return i;
            }
            ArgType::RebootArg if raw[i.saturating_sub(1)] & 0xffff_ffff != 0xa1b2_c3d4 => {
                return i;
            }
            ArgType::FcntlArg => {
                let cmd = raw[1] & 0xffff_ffff;
                let none = ["F_GETFD", "F_GETFL", "F_GETOWN", "F_GETSIG", "F_GETLEASE"]
                    .iter()
                    .chain(&["F_GET_SEALS", "F_GETPIPE_SZ"])
                    .any(|c| fcntl_cmd(c) == cmd);
                if none {
                    return i;
                }
            }
            // Requests strace prints without their argument (FIFREEZE).
            ArgType::IoctlArg if !crate::structs::ioctl::shows_arg(raw[1] as u32) => return i,
            // mremap's new address only with MREMAP_MAYMOVE|MREMAP_FIXED.
            ArgType::MremapFlags | ArgType::Flags(Table::MremapFlags) => {
                let both = mremap_flag("MREMAP_MAYMOVE") | mremap_flag("MREMAP_FIXED");
                if raw[i] & both != both {
                    return (i + 1).min(n);
                }
            }
            // kcmp's indexes: two fds for KCMP_FILE and KCMP_EPOLL_TFD,
            // none for the types that compare whole resources.
            ArgType::Xlat(Table::KcmpTypes) if i == 2 => {
                let t = raw[i] & 0xffff_ffff;
                let kcmp = |name: &str| {
                    Table::KcmpTypes
                        .xlat()
                        .value_of(crate::proto::LinuxAbi::X86_64, name)
                };
                let whole = ["KCMP_FILES", "KCMP_FS", "KCMP_IO", "KCMP_SIGHAND"]
                    .iter()
                    .chain(&["KCMP_SYSVSEM", "KCMP_VM"])
                    .any(|c| kcmp(c) == Some(t));
                if whole {
                    return i + 1;
                }
            }
            // quotactl's commands without an id or an address.
            ArgType::Struct(StructKind::QuotaId(c))
                if crate::structs::quota_shape(abi, raw[c as usize]) == QuotaShape::Nothing =>
            {
                return i;
            }
            ArgType::Prctl => return (i + 1 + prctl_nargs(raw[i] & 0xffff_ffff, raw)).min(n),
            ArgType::FutexArg(1) => return (i + futex_nargs(raw[1] & 127)).min(n),
            ArgType::PtraceArg(1) => return (i + super::ptrace::nargs(abi, raw)).min(n),
            ArgType::ArchPrctlArg => return (i + super::arch_prctl::nargs(abi, raw)).min(n),
            ArgType::KeyctlArg(1) => return (i + super::keyctl::nargs(abi, raw)).min(n),
            _ => {}
        }
    }
    n
}

// futex commands (uapi linux/futex.h).
const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_FD: u64 = 2;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_LOCK_PI: u64 = 6;
const FUTEX_UNLOCK_PI: u64 = 7;
const FUTEX_TRYLOCK_PI: u64 = 8;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_WAIT_REQUEUE_PI: u64 = 11;
const FUTEX_CMP_REQUEUE_PI: u64 = 12;
const FUTEX_LOCK_PI2: u64 = 13;

/// Arguments strace prints after `futex`'s operation, by command.
fn futex_nargs(cmd: u64) -> usize {
    match cmd {
        FUTEX_UNLOCK_PI | FUTEX_TRYLOCK_PI => 0,
        FUTEX_WAKE | FUTEX_FD | FUTEX_LOCK_PI | FUTEX_LOCK_PI2 => 1,
        FUTEX_WAIT | FUTEX_WAKE_BITSET => 2,
        FUTEX_WAIT_BITSET | FUTEX_REQUEUE | FUTEX_WAIT_REQUEUE_PI => 3,
        _ => 4,
    }
}

/// `FUTEX_WAKE_OP`'s encoded operation, as strace spells it out.
fn futex_wake_op(abi: crate::proto::LinuxAbi, v: u64) -> String {
    let mut s = String::new();
    if (v >> 28) & 8 != 0 {
        s.push_str("FUTEX_OP_OPARG_SHIFT<<28|");
    }
    let op = (v >> 28) & 7;
    match Table::Futexwakeops.xlat().lookup(abi, op) {
        Some(n) => s.push_str(&format!("{n}<<28")),
        None => s.push_str(&format!("{op:#x}<<28 /* FUTEX_OP_??? */")),
    }
    s.push_str(&format!("|{}<<12|", fmt::hex0((v >> 12) & 0xfff)));
    let cmp = (v >> 24) & 0xf;
    match Table::Futexwakecmps.xlat().lookup(abi, cmp) {
        Some(n) => s.push_str(&format!("{n}<<24")),
        None => s.push_str(&format!("{cmp:#x}<<24 /* FUTEX_OP_CMP_??? */")),
    }
    s.push_str(&format!("|{}", fmt::hex0(v & 0xfff)));
    s
}

/// What strace shows of fcntl's successful return `ret` for command
/// `cmd`: whether the number is in hex, and the text in parentheses
/// after it (`0x1 (flags FD_CLOEXEC)`, `0x2 (F_UNLCK)`, `1 (SIGHUP)`).
/// The decodings are left out with `-X raw`.
pub(crate) fn fcntl_return(abi: LinuxAbi, cmd: u64, ret: i64) -> (bool, Option<String>) {
    use vstrace_core::ConstStyle;
    let cmd = cmd & 0xffff_ffff;
    let is = |names: &[&str]| names.iter().any(|n| fcntl_cmd(n) == cmd);
    let raw = xlat::style() == ConstStyle::Raw;
    let r = ret as u64;
    let abbrev = |f: &dyn Fn() -> String| xlat::with_style(ConstStyle::Abbrev, f);
    if is(&["F_GETFD", "F_GET_SEALS"]) {
        if ret == 0 {
            return (false, None);
        }
        let (prefix, t) = if is(&["F_GETFD"]) {
            ("flags", Table::Fdflags)
        } else {
            ("seals", Table::FSeals)
        };
        let text = abbrev(&|| fmt::xflags_v(abi, &[t], r, false, false).render());
        return (true, (!raw).then(|| format!("{prefix} {text}")));
    }
    if is(&["F_GETFL"]) {
        let text = abbrev(&|| fmt::open_flags(r));
        return (true, (!raw).then(|| format!("flags {text}")));
    }
    if is(&["F_GETLEASE"]) {
        let name = Table::Lockfcmds.xlat().lookup(abi, r).map(str::to_string);
        return (true, name.filter(|_| !raw));
    }
    if is(&["F_GETSIG"]) && ret != 0 {
        return (false, crate::consts::signal_name(r).filter(|_| !raw));
    }
    (false, None)
}

/// An I/O priority as strace's `IOPRIO_PRIO_VALUE(class, data)` (the
/// class the top bits of the 32-bit value, the data the low 13). As an
/// argument (`arg`): `-X raw` the signed number, `-X verbose` the number
/// and the decoding in a comment; as a return value's decoding the
/// macro form in both those styles, the class named as the style says.
pub(crate) fn ioprio(abi: LinuxAbi, v: u64, arg: bool) -> String {
    use vstrace_core::ConstStyle;
    let v = v & 0xffff_ffff;
    let style = xlat::style();
    let number = (v as u32 as i32).to_string();
    if arg && style == ConstStyle::Raw {
        return number;
    }
    let class = xlat::xval(abi, Table::IoprioClass, v >> 13, Radix::Hex);
    let text = format!("IOPRIO_PRIO_VALUE({class}, {})", v & 0x1fff);
    if arg && style == ConstStyle::Verbose {
        format!("{number} /* {text} */")
    } else {
        text
    }
}

impl Ctx<'_, '_> {
    /// `futex`'s argument `k` after the operation, by command (strace
    /// prints them in its own order: `FUTEX_LOCK_PI` shows the timeout
    /// second, the bitset commands show `val3` after the timeout).
    pub(super) fn futex_arg(&mut self, k: u8) -> String {
        let abi = self.abi;
        let cmd = self.raw[1] & 127;
        let val = self.raw[2] & 0xffff_ffff;
        let timeout = self.raw[3];
        let val2 = self.raw[3] & 0xffff_ffff;
        let uaddr2 = self.raw[4];
        let val3 = self.raw[5] & 0xffff_ffff;
        let bitset = |v: u64| {
            Table::Futexbitset
                .xlat()
                .lookup(abi, v)
                .map(str::to_string)
                .unwrap_or_else(|| fmt::hex0(v))
        };
        // The timeout the kernel reads: a `struct timespec` of the ABI
        // (`__kernel_timespec` for futex_time64).
        let kind = if self.desc.name.ends_with("_time64") {
            crate::structs::StructKind::Timespec64
        } else {
            crate::structs::StructKind::Timespec
        };
        match (cmd, k) {
            (FUTEX_LOCK_PI | FUTEX_LOCK_PI2, 1)
            | (FUTEX_WAIT | FUTEX_WAIT_BITSET | FUTEX_WAIT_REQUEUE_PI, 2) => {
                crate::structs::decode(&mut self.struct_call(3), kind, timeout)
            }
            (FUTEX_WAIT_BITSET, 3) => bitset(val3),
            (FUTEX_WAKE_BITSET, 2) => bitset(val3),
            (FUTEX_REQUEUE | FUTEX_CMP_REQUEUE | FUTEX_CMP_REQUEUE_PI | FUTEX_WAKE_OP, 2) => {
                val2.to_string()
            }
            (FUTEX_CMP_REQUEUE | FUTEX_CMP_REQUEUE_PI, 4) => val3.to_string(),
            (FUTEX_WAKE_OP, 4) => futex_wake_op(abi, val3),
            (_, 1) => val.to_string(),
            (_, 2) => fmt::ptr(timeout),
            (_, 3) => fmt::ptr(uaddr2),
            _ => fmt::hex0(val3),
        }
    }

    /// The call-specific small decoders (devices, syslog, kexec, group
    /// lists, swapon, seccomp, word results, System V IPC).
    pub(super) fn shaped(&mut self, ty: ArgType, v: u64) -> String {
        match ty {
            ArgType::Dev => fmt::makedev(v & 0xffff_ffff),
            ArgType::DirentsOut => match self.ret {
                // -v: the records; not when the kernel claims more bytes
                // than the buffer holds.
                Some(r) if r >= 0 && self.opts.verbose => {
                    if r as u64 > self.raw[2] & 0xffff_ffff {
                        fmt::ptr(v)
                    } else {
                        self.dirents_v(v, r as u64).render()
                    }
                }
                Some(r) if r >= 0 => self.dirents(v, r as u64),
                _ => fmt::ptr(v),
            },
            ArgType::RebootArg => self.string_n(v, 255),
            ArgType::XlatVerbose(t) => xlat::xval_verbose(self.abi, t, v & 0xffff_ffff),
            ArgType::SyslogLen if self.raw[0] & 0xffff_ffff == 8 => {
                xlat::xval_verbose(self.abi, Table::SyslogConsoleLevels, v & 0xffff_ffff)
            }
            ArgType::SyslogLen => (v as u32 as i32).to_string(),
            ArgType::KexecFlags => {
                let arch = xlat::xval(
                    self.abi,
                    Table::KexecArchValues,
                    v & 0xffff_0000,
                    Radix::Hex,
                );
                match v & !0xffff_0000 {
                    0 => arch,
                    rest => format!(
                        "{arch}|{}",
                        xlat::flags(self.abi, Table::KexecLoadFlags, rest)
                    ),
                }
            }
            ArgType::GidsIn(n) => {
                let count = self.arg(n) & 0xffff_ffff;
                self.gids(v, count)
            }
            ArgType::GidsOut => match self.ret {
                Some(r) if r >= 0 => self.gids(v, r as u64),
                _ => fmt::ptr(v),
            },
            ArgType::SwapFlags => {
                let v = v & 0xffff_ffff;
                let (flags, prio) = (v & !0x7fff, v & 0x7fff);
                if flags == 0 {
                    prio.to_string()
                } else {
                    format!("{}|{prio}", xlat::flags(self.abi, Table::SwapFlags, flags))
                }
            }
            ArgType::SeccompFlags if self.raw[0] & 0xffff_ffff == 1 => {
                xlat::flags(self.abi, Table::SeccompFilterFlags, v & 0xffff_ffff)
            }
            ArgType::SeccompFlags => fmt::hex0(v & 0xffff_ffff),
            ArgType::HexPtrOut | ArgType::UlongPtrOut => match self.ret {
                Some(r) if r >= 0 && v != 0 => match self.read_word(v) {
                    Some(w) if ty == ArgType::HexPtrOut => format!("[{}]", fmt::hex0(w)),
                    Some(w) => format!("[{w}]"),
                    None => fmt::ptr(v),
                },
                _ => fmt::ptr(v),
            },
            // A key in hex; IPC_PRIVATE (0) by name, `0 /* IPC_PRIVATE */`
            // with -X verbose, `0` with -X raw.
            ArgType::IpcKey => match Table::IpcPrivate.xlat().lookup(self.abi, v & 0xffff_ffff) {
                Some(n) => Value::name(n, v & 0xffff_ffff).render(),
                None => fmt::hex0(v & 0xffff_ffff),
            },
            // shmget: a huge page size as strace's `21<<SHM_HUGE_SHIFT`
            // (the same 6 bits at 26 as mmap's MAP_HUGE_SHIFT).
            ArgType::IpcFlags(t @ Table::ShmResourceFlags) => {
                let v = v & 0xffff_ffff;
                let huge = v & (0x3f << 26);
                let rest = v & !0o777 & !huge;
                let mut parts = Vec::new();
                if rest != 0 || huge == 0 {
                    parts.push(xlat::flags_plain(self.abi, t, rest));
                }
                if huge != 0 {
                    // `21<<SHM_HUGE_SHIFT`, `21<<26` (-X raw),
                    // `21<<26 /* SHM_HUGE_SHIFT */` (-X verbose).
                    let shift = Value::name("SHM_HUGE_SHIFT", 26).render();
                    parts.push(format!("{}<<{shift}", huge >> 26));
                }
                if rest != 0 || huge != 0 {
                    parts.push(fmt::octal03(v & 0o777));
                    parts.join("|")
                } else {
                    // strace prints flags 0 as nothing before the mode.
                    fmt::octal03(v & 0o777)
                }
            }
            ArgType::IpcFlags(t) => {
                let v = v & 0xffff_ffff;
                let mode = fmt::octal03(v & 0o777);
                match v & !0o777 {
                    0 => mode,
                    rest => {
                        let names = xlat::flags_plain(self.abi, t, rest);
                        // strace prints no `|` when no name matched, but
                        // always with -X raw and -X verbose.
                        let glued = xlat::style() == vstrace_core::ConstStyle::Abbrev
                            && names.starts_with("0x");
                        let sep = if glued { "" } else { "|" };
                        format!("{names}{sep}{mode}")
                    }
                }
            }
            ArgType::IpcCmd(t) => {
                let v = v & 0xffff_ffff;
                let cmd = xlat::xval(self.abi, t, v & !0x100, Radix::Hex);
                if v & 0x100 != 0 {
                    let ipc64 = Value::Const(vstrace_core::value::Const {
                        raw: 0x100,
                        base: vstrace_core::value::Base::Hex,
                        name: Some("IPC_64".into()),
                        comment: None,
                    });
                    format!("{}|{cmd}", ipc64.render())
                } else {
                    cmd
                }
            }
            _ => fmt::hex0(v),
        }
    }

    /// A `gid_t` array as strace's `print_groups`: `[0, 1]`, `[]` for
    /// none, at most `strsize` elements then `...`; 16-bit ids for the
    /// i386 calls without the `32` suffix.
    fn gids(&mut self, va: u64, count: u64) -> String {
        // NGROUPS_MAX: a larger count is not a list the kernel accepts.
        if count > 65536 {
            return fmt::ptr(va);
        }
        // print_array: NULL before an empty list.
        if va == 0 {
            return "NULL".into();
        }
        if count == 0 {
            return "[]".into();
        }
        let size = if self.abi == LinuxAbi::I386 && !self.desc.name.ends_with("32") {
            2
        } else {
            4
        };
        // strace's print_array: each element is read before the `-s`
        // limit is checked; an unreadable one ends the list with `...`
        // and its address (the first one: the list's address).
        let limit = self.opts.strsize as u64;
        let mut parts: Vec<String> = Vec::new();
        for k in 0..count.min(limit + 1) {
            let at = va.wrapping_add(k * size as u64);
            let c = match vstrace_core::read::read_struct(self.mem, at, size) {
                Ok(_) if k >= limit => {
                    parts.push("...".into());
                    break;
                }
                Ok(c) => c,
                Err(_) if k == 0 => return fmt::ptr(va),
                Err(_) => {
                    parts.push(format!("... /* {} */", fmt::ptr(at)));
                    break;
                }
            };
            let g = if size == 2 {
                u16::from_le_bytes([c[0], c[1]]) as u32
            } else {
                u32::from_le_bytes([c[0], c[1], c[2], c[3]])
            };
            parts.push(if (size == 2 && g == 0xffff) || g == u32::MAX {
                "-1".to_string()
            } else {
                g.to_string()
            });
        }
        format!("[{}]", parts.join(", "))
    }

    /// `0x4aa2e0 /* 3 entries */`: the entries of a `getdents` buffer of
    /// `len` bytes, counted by their record lengths (at most 64 KiB read;
    /// a zero length ends the walk).
    fn dirents(&mut self, va: u64, len: u64) -> String {
        // d_reclen: after two longs in linux_dirent, two u64 in dirent64.
        let reclen_at = if self.desc.name.ends_with("64") {
            16
        } else {
            2 * self.abi.word_size() as usize
        };
        let len = len.min(64 * 1024) as usize;
        let Ok(b) = vstrace_core::read::read_struct(self.mem, va, len) else {
            return fmt::ptr(va);
        };
        let (mut off, mut n) = (0usize, 0u32);
        while off + reclen_at + 2 <= b.len() {
            let rec = u16::from_le_bytes([b[off + reclen_at], b[off + reclen_at + 1]]) as usize;
            if rec == 0 || off + rec > b.len() {
                break;
            }
            n += 1;
            off += rec;
        }
        let entries = if n == 1 { "entry" } else { "entries" };
        format!("{} /* {n} {entries} */", fmt::ptr(va))
    }

    /// `fcntl`'s third argument, by command: the lock and owner
    /// structures as [`crate::structs::fcntl_struct`] shows them (a
    /// `GETLK`'s at the exit: the argument is decoded at both ends).
    pub(super) fn fcntl_arg(&mut self) -> String {
        let abi = self.abi;
        let cmd = self.raw[1] & 0xffff_ffff;
        let v = self.raw[2];
        // i386's fcntl (unlike fcntl64) takes no `*LK64` command: strace
        // prints its argument as it prints any command it does not decode.
        let lk64_in_fcntl =
            abi == LinuxAbi::I386 && self.desc.name == "fcntl" && (12..=14).contains(&cmd);
        if !lk64_in_fcntl {
            if let Some(s) =
                crate::structs::fcntl_struct(abi, cmd, v, self.mem, self.opts, self.ret)
            {
                return s;
            }
        }
        let is = |names: &[&str]| names.iter().any(|n| fcntl_cmd(n) == cmd);
        if is(&["F_SETFD"]) {
            xlat::flags(abi, Table::Fdflags, v & 0xffff_ffff)
        } else if is(&["F_SETOWN", "F_SETPIPE_SZ", "F_DUPFD", "F_DUPFD_CLOEXEC"]) {
            (v as u32 as i32).to_string()
        } else if is(&["F_SETFL"]) {
            fmt::open_flags(v & 0xffff_ffff)
        } else if is(&["F_NOTIFY"]) {
            xlat::flags(abi, Table::Notifyflags, v & 0xffff_ffff)
        } else if is(&["F_SETLEASE"]) {
            xlat::xval(abi, Table::Lockfcmds, v, Radix::Hex)
        } else if is(&["F_ADD_SEALS"]) {
            xlat::flags(abi, Table::FSeals, v)
        } else if is(&["F_SETSIG"]) {
            fmt::signal(v & 0xffff_ffff)
        } else if is(&[
            "F_SETLK",
            "F_SETLKW",
            "F_GETLK",
            "F_OFD_SETLK",
            "F_OFD_SETLKW",
            "F_OFD_GETLK",
            "F_SETOWN_EX",
            "F_GETOWN_EX",
        ]) {
            fmt::ptr(v)
        } else if v == 0 {
            "0".into()
        } else {
            format!("{v:#x}")
        }
    }

    /// A NUL-terminated string of at most `max` bytes, `...` only when no
    /// NUL came within them (strace's `QUOTE_0_TERMINATED`).
    /// `mount`'s argument `k` (2: type, 3: flags, 4: data) as strace's
    /// decoder shapes it: the old `MS_MGC_VAL` magic in the upper half
    /// named apart; the type's address with `MS_REMOUNT`, the type's and
    /// the data's with the bind/move/propagation flags (the kernel
    /// ignores them then).
    pub(super) fn mount_arg(&mut self, k: u8) -> Value {
        const MS_MGC_VAL: u64 = 0xc0ed_0000;
        const MS_MGC_MSK: u64 = 0xffff_0000;
        const MS_REMOUNT: u64 = 32;
        // MS_BIND | MS_MOVE | MS_UNBINDABLE | MS_PRIVATE | MS_SLAVE | MS_SHARED
        const IGNORE_DATA: u64 = 4096 | 8192 | (1 << 17) | (1 << 18) | (1 << 19) | (1 << 20);
        let mut flags = self.raw[3];
        let magic = flags & MS_MGC_MSK == MS_MGC_VAL;
        if magic {
            flags &= !MS_MGC_MSK;
        }
        let ignore_data = flags & MS_REMOUNT == 0 && flags & IGNORE_DATA != 0;
        let ignore_type = flags & MS_REMOUNT != 0 || ignore_data;
        let v = self.raw[k as usize];
        match k {
            2 if ignore_type => Value::ptr(v),
            4 if ignore_data => Value::ptr(v),
            2 | 4 => self.string(v, self.opts.strsize),
            _ => {
                let named = fmt::xflags_v(self.abi, &[Table::MountFlags], flags, true, true);
                if !magic {
                    return named;
                }
                // The magic is a value of its own, styled apart from the
                // flags: `0xc0ed0000 /* MS_MGC_VAL */|0xf /* MS_RDONLY|... */`.
                use vstrace_core::value::Flag;
                let magic = match xlat::style() {
                    vstrace_core::ConstStyle::Abbrev => Flag::Name("MS_MGC_VAL".into()),
                    vstrace_core::ConstStyle::Raw => Flag::Bits {
                        bits: MS_MGC_VAL,
                        comment: None,
                    },
                    vstrace_core::ConstStyle::Verbose => Flag::Bits {
                        bits: MS_MGC_VAL,
                        comment: Some("MS_MGC_VAL".into()),
                    },
                };
                let mut parts = vec![magic];
                if flags != 0 {
                    match named {
                        Value::Flags(p) => parts.extend(p),
                        other => parts.push(Flag::Text(other.render())),
                    }
                }
                Value::Flags(parts)
            }
        }
    }

    pub(super) fn string_n(&mut self, va: u64, max: usize) -> String {
        if va == 0 {
            return "NULL".into();
        }
        match vstrace_core::read::read_cstring(self.mem, va, max) {
            Ok(s) if s.fault.is_none() => fmt::quote(&s.bytes, s.truncated),
            _ => fmt::ptr(va),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode_enter, decode_exit, format_call, format_return, DecodeOptions};
    use crate::proto::{by_name, LinuxAbi};
    use vstrace_core::testmem::SparseVirt;

    const X: LinuxAbi = LinuxAbi::X86_64;
    const I: LinuxAbi = LinuxAbi::I386;

    fn line(abi: LinuxAbi, name: &str, raw: &[u64], ret: i64, mem: &mut SparseVirt) -> String {
        let d = by_name(abi, name).unwrap();
        let o = DecodeOptions::default();
        let mut a = decode_enter(d, abi, raw, mem, &o);
        decode_exit(d, abi, raw, ret, mem, &o, &mut a);
        // The return as the engine renders it: in hex where strace uses
        // hex, then the detail in parentheses.
        let mut r = format_return(d, abi, ret);
        if ret > 0 && crate::structs::return_in_hex(d, abi, raw, ret) {
            r.text = format!("{ret:#x}");
        }
        if let Some(x) = crate::structs::return_detail(d, abi, raw, ret, mem, &o) {
            r.text = format!("{} ({x})", r.text);
        }
        format_call(d, &a, Some(&r))
    }

    #[test]
    fn flags_and_constants_by_table() {
        let mut m = SparseVirt::new();
        m.map_zeroed(0x1000, 8);
        assert_eq!(
            line(X, "pipe2", &[0, 0o4000], -14, &mut m),
            "pipe2(NULL, O_NONBLOCK) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            line(X, "dup3", &[7, 7, 1], -22, &mut m),
            "dup3(7, 7, 0x1 /* O_??? */) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            line(X, "eventfd2", &[0, 0o2004001], 3, &mut m),
            "eventfd2(0, EFD_SEMAPHORE|EFD_CLOEXEC|EFD_NONBLOCK) = 3"
        );
        assert_eq!(
            line(X, "madvise", &[0, 4096, 0], 0, &mut m),
            "madvise(NULL, 4096, MADV_NORMAL) = 0"
        );
        assert_eq!(
            line(X, "shutdown", &[u64::MAX, 2], -9, &mut m),
            "shutdown(-1, SHUT_RDWR) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(X, "getrlimit", &[16, 0], -22, &mut m),
            "getrlimit(0x10 /* RLIMIT_??? */, NULL) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            line(I, "ugetrlimit", &[3, 0], -14, &mut m),
            "ugetrlimit(RLIMIT_STACK, NULL) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            line(X, "futex", &[0x1000, 129, 1, 0, 0, 0], 0, &mut m),
            "futex(0x1000, FUTEX_WAKE_PRIVATE, 1) = 0"
        );
        assert_eq!(
            line(X, "futex", &[0x1000, 0x189, 1, 0, 0, 0xffff_ffff], 0, &mut m),
            "futex(0x1000, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 1, NULL, FUTEX_BITSET_MATCH_ANY) = 0"
        );
        assert_eq!(
            line(X, "futex", &[0x1000, 5, 1, 2, 0x2000, 0x0400_1001], 0, &mut m),
            "futex(0x1000, FUTEX_WAKE_OP, 1, 2, 0x2000, FUTEX_OP_SET<<28|0x1<<12|FUTEX_OP_CMP_GT<<24|0x1) = 0"
        );
        assert_eq!(
            line(X, "flock", &[u64::MAX, 1], -9, &mut m),
            "flock(-1, LOCK_SH) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(X, "getsockopt", &[3, 1, 1, 0, 0], -14, &mut m),
            "getsockopt(3, SOL_SOCKET, SO_DEBUG, NULL, NULL) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            line(X, "setsockopt", &[u64::MAX, 263, 0xffff_ffff, 0, 0], -9, &mut m),
            "setsockopt(-1, SOL_PACKET, 0xffffffff /* PACKET_??? */, NULL, 0) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(X, "ptrace", &[0x4206, 1, 0, 0], -3, &mut m),
            "ptrace(PTRACE_SEIZE, 1, NULL, 0) = -1 ESRCH (No such process)"
        );
        assert_eq!(
            line(X, "ptrace", &[16, 341, 7, 7], -1, &mut m),
            "ptrace(PTRACE_ATTACH, 341) = -1 EPERM (Operation not permitted)"
        );
        assert_eq!(
            line(X, "ptrace", &[0, 7, 7, 7], 0, &mut m),
            "ptrace(PTRACE_TRACEME) = 0"
        );
        assert_eq!(
            line(X, "ptrace", &[0xdeadbeeffffffeed, 341, 0, 0], -3, &mut m),
            "ptrace(0xdeadbeeffffffeed /* PTRACE_??? */, 341, NULL, NULL) = -1 ESRCH (No such process)"
        );
        assert_eq!(
            line(X, "ptrace", &[7, 341, 0, 9], -3, &mut m),
            "ptrace(PTRACE_CONT, 341, NULL, SIGKILL) = -1 ESRCH (No such process)"
        );
        assert_eq!(
            line(X, "ioctl", &[u64::MAX, 0xc020660b, 0x10], -9, &mut m),
            "ioctl(-1, FS_IOC_FIEMAP, 0x10) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(X, "ioctl", &[u64::MAX, 0x5413, 0], -9, &mut m),
            "ioctl(-1, TIOCGWINSZ, NULL) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(X, "ioctl", &[u64::MAX, 0x305, 0], -9, &mut m),
            "ioctl(-1, HDIO_GET_QDMA, 0) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(X, "ioctl", &[u64::MAX, 0x4b00, 0xdeadbeefbadc0ded], -9, &mut m),
            "ioctl(-1, _IOC(_IOC_NONE, 0x4b, 0, 0), 0xdeadbeefbadc0ded) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(X, "fanotify_init", &[0xffff_ffff_0000_0000, 0], 3, &mut m),
            "fanotify_init(FAN_CLASS_NOTIF, O_RDONLY) = 3"
        );
        assert_eq!(
            line(X, "close_range", &[0xffff_fffe, 0xffff_ffff, 0x0def_aced_0000_0001], -22, &mut m),
            "close_range(4294967294, 4294967295, 0x1 /* CLOSE_RANGE_??? */) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            line(X, "kill", &[1, 0xcafef00d], -22, &mut m),
            "kill(1, -889262067) = -1 EINVAL (Invalid argument)"
        );
    }

    #[test]
    fn small_decoders() {
        let mut m = SparseVirt::new();
        m.map(0x1000, b"s\0");
        assert_eq!(
            line(X, "ustat", &[0xfacefeedffffffff, 0], -22, &mut m),
            "ustat(makedev(0xfff, 0xfffff), NULL) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            line(X, "swapon", &[0x1000, 42], -2, &mut m),
            "swapon(\"s\", 42) = -1 ENOENT (No such file or directory)"
        );
        assert_eq!(
            line(X, "swapon", &[0x1000, 0x8000 | 3], 0, &mut m),
            "swapon(\"s\", SWAP_FLAG_PREFER|3) = 0"
        );
        assert_eq!(
            line(X, "seccomp", &[3, 0xdeadbeefdeadbeef, 0], -22, &mut m),
            "seccomp(SECCOMP_GET_NOTIF_SIZES, 0xdeadbeef, NULL) = -1 EINVAL (Invalid argument)"
        );
        m.map(0x2000, &0x11e4_0660u64.to_le_bytes());
        m.map(0x3000, &24u64.to_le_bytes());
        assert_eq!(
            line(X, "get_robust_list", &[266, 0x2000, 0x3000], 0, &mut m),
            "get_robust_list(266, [0x11e40660], [24]) = 0"
        );
        // A set size the kernel refuses: the address, not the set.
        m.map(0x4000, &[0xff; 16]);
        assert_eq!(
            line(X, "rt_sigprocmask", &[2, 0x4000, 0, 16], -22, &mut m),
            "rt_sigprocmask(SIG_SETMASK, 0x4000, NULL, 16) = -1 EINVAL (Invalid argument)"
        );
        m.map(0x6000, &[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(
            line(X, "rt_sigpending", &[0x6000, 4], 0, &mut m),
            "rt_sigpending([], 4) = 0"
        );
        // MSG_TRUNC: the return value is larger than the buffer.
        m.map(0x5000 - 1, b"A");
        assert_eq!(
            line(X, "recvfrom", &[3, 0x4fff, 1, 0x20, 0, 0], 2, &mut m),
            "recvfrom(3, \"A\", 1, MSG_TRUNC, NULL, NULL) = 2"
        );
    }

    #[test]
    fn reboot_and_kexec() {
        let mut m = SparseVirt::new();
        assert_eq!(
            line(X, "reboot", &[0, 0, 0, 0], -22, &mut m),
            "reboot(0 /* LINUX_REBOOT_MAGIC_??? */, 0 /* LINUX_REBOOT_MAGIC_??? */, LINUX_REBOOT_CMD_CAD_OFF) = -1 EINVAL (Invalid argument)"
        );
        m.map(0x1000, b"now\0");
        assert_eq!(
            line(X, "reboot", &[0xfee1_dead, 0x2812_1969, 0xa1b2_c3d4, 0x1000], -1, &mut m),
            "reboot(LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_RESTART2, \"now\") = -1 EPERM (Operation not permitted)"
        );
        assert_eq!(
            line(X, "kexec_load", &[0, 0, 0, 0xbadc_0ded_da7a_1054], -22, &mut m),
            "kexec_load(NULL, 0, NULL, 0xda7a0000 /* KEXEC_ARCH_??? */|0xbadc0ded00001054 /* KEXEC_??? */) = -1 EINVAL (Invalid argument)"
        );
    }

    #[test]
    fn syslog_by_action() {
        let mut m = SparseVirt::new();
        assert_eq!(
            line(X, "syslog", &[0, 0xfacefeed, u64::MAX], 0, &mut m),
            "syslog(0 /* SYSLOG_ACTION_CLOSE */) = 0"
        );
        assert_eq!(
            line(X, "syslog", &[8, 0, 3], 0, &mut m),
            "syslog(8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, NULL, 3 /* LOGLEVEL_ERR */) = 0"
        );
        assert_eq!(
            line(X, "syslog", &[0xdead, 0, 3], -22, &mut m),
            "syslog(57005 /* SYSLOG_ACTION_??? */, NULL, 3) = -1 EINVAL (Invalid argument)"
        );
        // An action that does not read: the buffer's address, even when
        // the call returns 0 (an injected success).
        m.map(0x1000, b"abc");
        assert_eq!(
            line(X, "syslog", &[0xfeed_beef, 0x1000, 64], 0, &mut m),
            "syslog(-17973521 /* SYSLOG_ACTION_??? */, 0x1000, 64) = 0"
        );
        assert_eq!(
            line(X, "syslog", &[3, 0x1000, 64], 3, &mut m),
            "syslog(3 /* SYSLOG_ACTION_READ_ALL */, \"abc\", 64) = 3"
        );
    }

    #[test]
    fn directory_entries_are_counted() {
        let mut m = SparseVirt::new();
        let mut buf = vec![0u8; 72];
        for (off, rec) in [(0usize, 24u16), (24, 24), (48, 24)] {
            buf[off + 16..off + 18].copy_from_slice(&rec.to_le_bytes());
        }
        m.map(0x1000, &buf);
        assert_eq!(
            line(X, "getdents64", &[3, 0x1000, 8192], 72, &mut m),
            "getdents64(3, 0x1000 /* 3 entries */, 8192) = 72"
        );
        assert_eq!(
            line(X, "getdents", &[3, 0x1000, 8192], 0, &mut m),
            "getdents(3, 0x1000 /* 0 entries */, 8192) = 0"
        );
        // A zero record length stops the walk (no endless loop).
        m.map(0x2000, &[0u8; 64]);
        assert_eq!(
            line(X, "getdents64", &[3, 0x2000, 64], 64, &mut m),
            "getdents64(3, 0x2000 /* 0 entries */, 64) = 64"
        );
    }

    #[test]
    fn results_as_strace_bounds_them() {
        let mut m = SparseVirt::new();
        // The address the kernel wrote, up to the buffer's size (2).
        let mut sun = vec![1u8, 0];
        sun.extend([b'A'; 30]);
        m.map(0x1000, &sun);
        m.map(0x2000, &2u32.to_le_bytes());
        let d = by_name(X, "accept").unwrap();
        let o = DecodeOptions::default();
        let raw = [3, 0x1000, 0x2000];
        let mut a = decode_enter(d, X, &raw, &mut m, &o);
        m.map(0x2000, &24u32.to_le_bytes());
        decode_exit(d, X, &raw, 5, &mut m, &o, &mut a);
        assert_eq!(a[1].text.as_deref(), Some("{sa_family=AF_UNIX}"));
        assert_eq!(a[2].text.as_deref(), Some("[2 => 24]"));
        // A failed read: the buffers' addresses; none: [].
        let mut iov = Vec::new();
        iov.extend(0x5000u64.to_le_bytes());
        iov.extend(8u64.to_le_bytes());
        m.map(0x3000, &iov);
        assert_eq!(
            line(X, "preadv", &[0, 0x3000, 1, u64::MAX], -22, &mut m),
            "preadv(0, [{iov_base=0x5000, iov_len=8}], 1, -1) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            line(X, "preadv", &[0, 0x3000, 0, 0], 0, &mut m),
            "preadv(0, [], 0, 0) = 0"
        );
        assert_eq!(line(X, "umask", &[0o26], 0o6, &mut m), "umask(026) = 006");
        assert_eq!(
            line(X, "memfd_secret", &[0xde97face], -38, &mut m),
            "memfd_secret(0xde97face) = -1 ENOSYS (Function not implemented)"
        );
        assert_eq!(
            line(X, "sendfile", &[4, 5, 0, 9], 9, &mut m),
            "sendfile(4, 5, NULL, 9) = 9"
        );
        assert_eq!(
            line(X, "prctl", &[54, 0xcaff, 1, 2, 3], -22, &mut m),
            "prctl(PR_PAC_RESET_KEYS, PR_PAC_APIAKEY|PR_PAC_APIBKEY|PR_PAC_APDAKEY|PR_PAC_APDBKEY|PR_PAC_APGAKEY|0xcae0, 0x1, 0x2, 0x3) = -1 EINVAL (Invalid argument)"
        );
    }

    #[test]
    fn group_lists() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(
            line(X, "getgroups", &[0, 0x1000], 0, &mut m),
            "getgroups(0, []) = 0"
        );
        assert_eq!(
            line(X, "getgroups", &[2, 0x1000], 2, &mut m),
            "getgroups(2, [0, -1]) = 2"
        );
        assert_eq!(
            line(X, "setgroups", &[1, 0x1000], 0, &mut m),
            "setgroups(1, [0]) = 0"
        );
        assert_eq!(
            line(I, "setgroups", &[2, 0x1000], 0, &mut m),
            "setgroups(2, [0, 0]) = 0"
        );
        assert_eq!(
            line(X, "setgroups", &[1, 0x9000], -14, &mut m),
            "setgroups(1, 0x9000) = -1 EFAULT (Bad address)"
        );
    }

    #[test]
    fn system_v_ipc() {
        let mut m = SparseVirt::new();
        assert_eq!(
            line(X, "msgget", &[0, 0o1600], 3, &mut m),
            "msgget(IPC_PRIVATE, IPC_CREAT|0600) = 3"
        );
        assert_eq!(
            line(X, "semget", &[0x1234, 1, 0o600], 3, &mut m),
            "semget(0x1234, 1, 0600) = 3"
        );
        assert_eq!(
            line(X, "shmctl", &[3, 0x102, 0], 0, &mut m),
            "shmctl(3, IPC_64|IPC_STAT, NULL) = 0"
        );
        assert_eq!(
            line(X, "msgctl", &[3, 0, 0], 0, &mut m),
            "msgctl(3, IPC_RMID, NULL) = 0"
        );
    }

    #[test]
    fn modes_and_devices() {
        let mut m = SparseVirt::new();
        m.map(0x1000, b"f\0");
        assert_eq!(
            line(X, "mkdir", &[0x1000, 0xffff_0000], 0, &mut m),
            "mkdir(\"f\", 000) = 0"
        );
        assert_eq!(
            line(X, "chmod", &[0x1000, 4], 0, &mut m),
            "chmod(\"f\", 004) = 0"
        );
        assert_eq!(
            line(X, "mknod", &[0x1000, 0o10600, 5], 0, &mut m),
            "mknod(\"f\", S_IFIFO|0600) = 0"
        );
        assert_eq!(
            line(X, "mknod", &[0x1000, 0o20024, 0x107], 0, &mut m),
            "mknod(\"f\", S_IFCHR|024, makedev(0x1, 0x7)) = 0"
        );
        assert_eq!(
            line(X, "mknod", &[0x1000, 0xffff, 0], -22, &mut m),
            "mknod(\"f\", 0177777) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            line(X, "open", &[0x1000, 0o101, 0o600], 3, &mut m),
            "open(\"f\", O_WRONLY|O_CREAT, 0600) = 3"
        );
        assert_eq!(
            line(X, "open", &[0x1000, 0, 0o600], 3, &mut m),
            "open(\"f\", O_RDONLY) = 3"
        );
    }

    #[test]
    fn mremap_and_kcmp_shapes() {
        let mut m = SparseVirt::new();
        assert_eq!(
            line(X, "mremap", &[0x1000, 8192, 4096, 0, 0], 0x1000, &mut m),
            "mremap(0x1000, 8192, 4096, 0) = 0x1000"
        );
        assert_eq!(
            line(
                X,
                "mremap",
                &[0x1000, 8192, 4096, 3, 0x5000],
                0x5000,
                &mut m
            ),
            "mremap(0x1000, 8192, 4096, MREMAP_MAYMOVE|MREMAP_FIXED, 0x5000) = 0x5000"
        );
        assert_eq!(
            line(X, "kcmp", &[1, 2, 0, 3, 4], 0, &mut m),
            "kcmp(1, 2, KCMP_FILE, 3, 4) = 0"
        );
        assert_eq!(
            line(X, "kcmp", &[1, 2, 2, 3, 4], 0, &mut m),
            "kcmp(1, 2, KCMP_FILES) = 0"
        );
    }

    #[test]
    fn fcntl_and_prctl_by_command() {
        let mut m = SparseVirt::new();
        assert_eq!(
            line(X, "fcntl", &[3, 1, 0xdead], 1, &mut m),
            "fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)"
        );
        assert_eq!(
            line(X, "fcntl", &[3, 2, 1], 0, &mut m),
            "fcntl(3, F_SETFD, FD_CLOEXEC) = 0"
        );
        assert_eq!(
            line(X, "fcntl", &[3, 4, 0o4000], 0, &mut m),
            "fcntl(3, F_SETFL, O_RDONLY|O_NONBLOCK) = 0"
        );
        m.map(0x1000, b"0123456789abcdefg\0");
        m.map(0x2000, b"short\0");
        m.map(0x3000, &9u32.to_le_bytes());
        assert_eq!(
            line(X, "prctl", &[15, 0x1000, 7, 7, 7], 0, &mut m),
            "prctl(PR_SET_NAME, \"0123456789abcde\"...) = 0"
        );
        assert_eq!(
            line(X, "prctl", &[15, 0x2000, 7, 7, 7], 0, &mut m),
            "prctl(PR_SET_NAME, \"short\") = 0"
        );
        assert_eq!(
            line(X, "prctl", &[15, 0, 0, 0, 0], -14, &mut m),
            "prctl(PR_SET_NAME, NULL) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            line(X, "prctl", &[16, 0x2000, 0, 0, 0], 0, &mut m),
            "prctl(PR_GET_NAME, \"short\") = 0"
        );
        assert_eq!(
            line(X, "prctl", &[7, 1, 2, 3, 4], 0, &mut m),
            "prctl(PR_GET_KEEPCAPS) = 0"
        );
        assert_eq!(
            line(X, "prctl", &[2, 0x3000, 0, 0, 0], 0, &mut m),
            "prctl(PR_GET_PDEATHSIG, [SIGKILL]) = 0"
        );
        assert_eq!(
            line(X, "prctl", &[4, 3, 0, 0, 0], -22, &mut m),
            "prctl(PR_SET_DUMPABLE, 0x3 /* SUID_DUMP_??? */) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            line(X, "prctl", &[23, 21, 0, 0, 0], 1, &mut m),
            "prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) = 1"
        );
        assert_eq!(
            line(X, "prctl", &[0xdead, 1, 0, 3, 0xff], -22, &mut m),
            "prctl(0xdead /* PR_??? */, 0x1, 0, 0x3, 0xff) = -1 EINVAL (Invalid argument)"
        );
    }

    #[test]
    fn value_result_lengths_and_strings() {
        let mut m = SparseVirt::new();
        let mut sun = vec![1u8, 0];
        sun.extend(b"s\0");
        m.map(0x1000, &sun);
        m.map(0x2000, &4u32.to_le_bytes());
        let d = by_name(X, "accept").unwrap();
        let o = DecodeOptions::default();
        let raw = [3, 0x1000, 0x2000];
        let mut a = decode_enter(d, X, &raw, &mut m, &o);
        m.map(0x2000, &110u32.to_le_bytes());
        decode_exit(d, X, &raw, 4, &mut m, &o, &mut a);
        assert_eq!(a[2].text.as_deref(), Some("[4 => 110]"));
        // A string of exactly -s bytes has no `...`; one byte more has.
        let exact = [b'a'; 32];
        m.map(0x3000, &[&exact[..], b"\0"].concat());
        m.map(0x4000, &[&exact[..], b"b\0"].concat());
        let s = line(X, "init_module", &[0, 0, 0x3000], -8, &mut m);
        assert!(
            s.ends_with(&format!(
                "\"{}\") = -1 ENOEXEC (Exec format error)",
                "a".repeat(32)
            )),
            "{s}"
        );
        let s = line(X, "init_module", &[0, 0, 0x4000], -8, &mut m);
        assert!(s.contains("\"..."), "{s}");
        // sendfile's offset before and after.
        m.map(0x6000, &0u64.to_le_bytes());
        let d = by_name(X, "sendfile").unwrap();
        let raw = [4, 5, 0x6000, 100];
        let mut a = decode_enter(d, X, &raw, &mut m, &o);
        m.map(0x6000, &35499u64.to_le_bytes());
        decode_exit(d, X, &raw, 35499, &mut m, &o, &mut a);
        assert_eq!(a[2].text.as_deref(), Some("[0] => [35499]"));
        // 64-bit offsets behind pointers.
        m.map(0x5000, &(-5i64).to_le_bytes());
        assert_eq!(
            line(X, "copy_file_range", &[1, 0x5000, 2, 0, 9, 0], -9, &mut m),
            "copy_file_range(1, [-5], 2, NULL, 9, 0) = -1 EBADF (Bad file descriptor)"
        );
    }

    #[test]
    fn shapes_of_the_conformance_fixes() {
        let mut m = SparseVirt::new();
        // prctl: vector lengths, tagged-address control, VMA names.
        assert_eq!(
            line(X, "prctl", &[50, 0x600ff, 0, 0, 0], -22, &mut m),
            "prctl(PR_SVE_SET_VL, PR_SVE_SET_VL_ONEXEC|PR_SVE_VL_INHERIT|0xff) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            line(X, "prctl", &[55, 0xd, 1, 2, 3], -22, &mut m),
            "prctl(PR_SET_TAGGED_ADDR_CTRL, PR_TAGGED_ADDR_ENABLE|PR_MTE_TCF_ASYNC|0x1<<PR_MTE_TAG_SHIFT, 0x1, 0x2, 0x3) = -1 EINVAL (Invalid argument)"
        );
        m.map(0x1000, b"anon\0");
        assert_eq!(
            line(X, "prctl", &[0x53564d41, 0, 0x2000, 1, 0x1000], -22, &mut m),
            "prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0x2000, 1, \"anon\") = -1 EINVAL (Invalid argument)"
        );
        // mount: the data as a string, the type's address on remount.
        m.map(0x3000, b"src\0tgt\0ext4\0opts\0");
        assert_eq!(
            line(X, "mount", &[0x3000, 0x3004, 0x3008, 32, 0x300d], -2, &mut m),
            "mount(\"src\", \"tgt\", 0x3008, MS_REMOUNT, \"opts\") = -1 ENOENT (No such file or directory)"
        );
        // xattr values: the trailing NUL left out, too long: the address.
        m.map(0x4000, b"foo\0bar\0");
        assert_eq!(
            line(X, "fsetxattr", &[3, 0x3004, 0x4000, 8, 1], 0, &mut m),
            "fsetxattr(3, \"tgt\", \"foo\\0bar\", 8, XATTR_CREATE) = 0"
        );
        assert_eq!(
            line(X, "fsetxattr", &[3, 0x3004, 0x4000, 65537, 1], -7, &mut m),
            "fsetxattr(3, \"tgt\", 0x4000, 65537, XATTR_CREATE) = -1 E2BIG (Argument list too long)"
        );
        // membarrier's cpu id only with MEMBARRIER_CMD_FLAG_CPU.
        assert_eq!(
            line(X, "membarrier", &[0, 0, 5], 0, &mut m),
            "membarrier(MEMBARRIER_CMD_QUERY, 0) = 0"
        );
        // kcmp's indexes of a non-fd type in hex.
        assert_eq!(
            line(X, "kcmp", &[1, 2, 0xda7a_dead, 0xdec0ded3dec0ded4, 0], -1, &mut m),
            "kcmp(1, 2, 0xda7adead /* KCMP_??? */, 0xdec0ded3dec0ded4, 0) = -1 EPERM (Operation not permitted)"
        );
    }

    #[test]
    fn prctl_returns_in_hex_with_their_names() {
        let (hex, detail) = super::super::prctl::prctl_return(X, 27, 0, 0x3);
        assert!(hex);
        assert_eq!(
            detail.as_deref(),
            Some("SECBIT_NOROOT|SECBIT_NOROOT_LOCKED")
        );
        // No name matched: no decoding.
        assert_eq!(
            super::super::prctl::prctl_return(X, 27, 0, 0x100),
            (true, None)
        );
        assert_eq!(
            super::super::prctl::prctl_return(X, 3, 0, 0),
            (false, Some("SUID_DUMP_DISABLE".to_string()))
        );
    }

    #[test]
    fn prctl_options_by_subcommand() {
        let mut m = SparseVirt::new();
        m.map(0x3000, &0xdead_c0de_badc_0dedu64.to_le_bytes());
        // PR_CAP_AMBIENT: a capability for RAISE/LOWER/IS_SET only.
        assert_eq!(
            line(X, "prctl", &[47, 1, 13, 0, 0], 0, &mut m),
            "prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0) = 0"
        );
        assert_eq!(
            line(X, "prctl", &[47, 4, 0, 0, 0], 0, &mut m),
            "prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) = 0"
        );
        // PR_SCHED_CORE_GET: the cookie at a successful exit.
        assert_eq!(
            line(X, "prctl", &[62, 0, 5, 1, 0x3000], 0, &mut m),
            "prctl(PR_SCHED_CORE, PR_SCHED_CORE_GET, 5, 0x1 /* PIDTYPE_TGID */, [0xdeadc0debadc0ded]) = 0"
        );
        assert_eq!(
            line(X, "prctl", &[62, 0, 5, 1, 0x3000], -3, &mut m),
            "prctl(PR_SCHED_CORE, PR_SCHED_CORE_GET, 5, 0x1 /* PIDTYPE_TGID */, 0x3000) = -1 ESRCH (No such process)"
        );
        // PR_SET_PTRACER_ANY by style.
        let ptracer = |m: &mut SparseVirt| line(X, "prctl", &[0x5961_6d61, u64::MAX], 0, m);
        assert_eq!(
            ptracer(&mut m),
            "prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY) = 0"
        );
        let raw = crate::xlat::with_style(vstrace_core::ConstStyle::Raw, || ptracer(&mut m));
        assert_eq!(raw, "prctl(0x59616d61, -1) = 0");
        // PR_GET_SPECULATION_CTRL: the state as flags, in hex.
        assert_eq!(
            line(X, "prctl", &[52, 0], 0, &mut m),
            "prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS) = 0 (PR_SPEC_NOT_AFFECTED)"
        );
        assert_eq!(
            line(X, "prctl", &[52, 0], 3, &mut m),
            "prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS) = 0x3 (PR_SPEC_PRCTL|PR_SPEC_ENABLE)"
        );
        assert_eq!(
            line(X, "prctl", &[52, 7], 3, &mut m),
            "prctl(PR_GET_SPECULATION_CTRL, 0x7 /* PR_SPEC_??? */) = 3"
        );
    }

    #[test]
    fn arch_prctl_by_code() {
        let mut m = SparseVirt::new();
        m.map(0x3000, &0x21fu64.to_le_bytes());
        m.map(0x4000, &0x7f00_0000_1000u64.to_le_bytes());
        assert_eq!(
            line(X, "arch_prctl", &[0x1004, 0x4000], 0, &mut m),
            "arch_prctl(ARCH_GET_GS, [0x7f0000001000]) = 0"
        );
        assert_eq!(
            line(X, "arch_prctl", &[0x1004, 0], -14, &mut m),
            "arch_prctl(ARCH_GET_GS, NULL) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            line(X, "arch_prctl", &[0x1004, 0x4000], -14, &mut m),
            "arch_prctl(ARCH_GET_GS, 0x4000) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            line(X, "arch_prctl", &[0x1011, 0xdead], 1, &mut m),
            "arch_prctl(ARCH_GET_CPUID) = 1"
        );
        assert_eq!(
            line(X, "arch_prctl", &[0x1021, 0x3000], 0, &mut m),
            "arch_prctl(ARCH_GET_XCOMP_SUPP, [0x21f /* XFEATURE_MASK_FPSSE|XFEATURE_MASK_YMM|XFEATURE_MASK_BNDREGS|XFEATURE_MASK_BNDCSR|XFEATURE_MASK_PKRU */]) = 0"
        );
        // Unreadable: the address.
        assert_eq!(
            line(X, "arch_prctl", &[0x1021, 0x9000], 0, &mut m),
            "arch_prctl(ARCH_GET_XCOMP_SUPP, 0x9000) = 0"
        );
        assert_eq!(
            line(X, "arch_prctl", &[0x1023, 0x12], -95, &mut m),
            "arch_prctl(ARCH_REQ_XCOMP_PERM, 0x12 /* XFEATURE_XTILE_DATA */) = -1 EOPNOTSUPP (Operation not supported)"
        );
        assert_eq!(
            line(X, "arch_prctl", &[0x1023, 0xb], -95, &mut m),
            "arch_prctl(ARCH_REQ_XCOMP_PERM, 0xb /* XFEATURE_??? */) = -1 EOPNOTSUPP (Operation not supported)"
        );
        assert_eq!(
            line(X, "arch_prctl", &[0x1023, 0x12], 0x60000, &mut m),
            "arch_prctl(ARCH_REQ_XCOMP_PERM, 0x12 /* XFEATURE_XTILE_DATA */) = 0x60000 (XFEATURE_MASK_XTILE)"
        );
        assert_eq!(
            line(X, "arch_prctl", &[0x1002, 0], 0, &mut m),
            "arch_prctl(ARCH_SET_FS, 0) = 0"
        );
        let raw = crate::xlat::with_style(vstrace_core::ConstStyle::Raw, || {
            line(X, "arch_prctl", &[0x1021, 0x3000], 0, &mut m)
        });
        assert_eq!(raw, "arch_prctl(0x1021, [0x21f]) = 0");
    }
}
