//! Argument and return-value decoders producing strace-like text.
//!
//! Arguments the kernel reads are decoded at syscall enter; arguments it
//! writes are decoded at exit (their text is `None` until then). Guest
//! memory is hostile: every read is bounded (`strsize`, `PATH_MAX`,
//! element caps), every loop has a fixed limit, and anything that cannot
//! be read is printed as its address, as strace does. Nothing here
//! panics on guest input.

use std::fmt::Write;

use serde::Serialize;
use vstrace_core::read;
use vstrace_core::value::{Base, Bytes, Escape, Flag};
pub use vstrace_core::{ArgValue, DecodeOptions};
use vstrace_core::{Value, VirtMem};

use crate::consts;
use crate::fmt;
use crate::proto::{ArgType, Dir, LenFrom, LinuxAbi, RetKind, SyscallDesc};
use crate::xlat::{self, Radix, Table as T};

mod arch_prctl;
mod compound;
mod dirents;
pub(crate) mod fsconfig;
#[cfg(test)]
mod i386_tests;
mod keyctl;
mod prctl;
mod ptrace;
mod shape;

pub(crate) use arch_prctl::arch_prctl_return;
pub use compound::{format_sockaddr, wait_status};
pub(crate) use prctl::prctl_return;
pub(crate) use shape::{fcntl_return, ioprio};

/// Longest path printed (the kernel's `PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// Most array elements (argv strings, iovecs) printed before `...`.
pub const MAX_ELEMENTS: usize = 32;
/// Most iovec elements shown with `-v` (strace shows them all; a hostile
/// count must not make the trace unbounded).
const MAX_IOV_VERBOSE: u64 = 1024;
/// Most environment entries counted for `envp`.
pub const MAX_ENV_COUNT: usize = 4096;
/// Largest socket address read (`sizeof(struct sockaddr_storage)`).
const SOCKADDR_MAX: usize = 128;
/// `sizeof(((struct sockaddr_un *) 0)->sun_path)`.
const SUN_PATH_MAX: usize = 108;

/// A formatted return value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReturnValue {
    /// The value, sign-extended from 32 bits for i386.
    pub value: i64,
    /// `3`, `0x7f12...`, `-1 ENOENT (No such file or directory)`, `?`.
    pub text: String,
    /// The errno name when the call failed.
    pub errno: Option<&'static str>,
}

/// The positive errno if `ret` (as returned in rax/eax) is an error.
pub fn error_of(abi: LinuxAbi, ret: i64) -> Option<i64> {
    let v = normalize_ret(abi, ret);
    // Lazily: -i64::MIN overflows.
    (-4095..=-1).contains(&v).then(|| -v)
}

/// The system-call number that makes the kernel fail a call with
/// `ENOSYS` without running anything (used to skip a call).
pub fn invalid_nr(abi: LinuxAbi) -> u64 {
    match abi {
        LinuxAbi::X86_64 => u64::MAX,
        LinuxAbi::I386 => u32::MAX as u64,
    }
}

fn normalize_ret(abi: LinuxAbi, ret: i64) -> i64 {
    match abi {
        LinuxAbi::X86_64 => ret,
        LinuxAbi::I386 => ret as u32 as i32 as i64,
    }
}

fn word(abi: LinuxAbi, v: u64) -> u64 {
    match abi {
        LinuxAbi::X86_64 => v,
        LinuxAbi::I386 => v & 0xffff_ffff,
    }
}

/// Everything a decoder needs about the call.
struct Ctx<'a, 'm> {
    abi: LinuxAbi,
    desc: &'a SyscallDesc,
    /// Raw arguments, truncated to the ABI's width; missing ones are 0.
    raw: [u64; 6],
    mem: &'m mut dyn VirtMem,
    opts: &'a DecodeOptions,
    /// The return value, at exit.
    ret: Option<i64>,
    /// At exit, the texts the arguments had at entry (structure decoders
    /// show what the kernel changed: `[5 => 4]`); empty at entry.
    entries: Vec<Option<String>>,
    /// Value-result lengths (`[N]` arguments) as they were at entry: a
    /// socket address the kernel wrote is shown up to the smaller of the
    /// buffer's size and the length it returned, as strace does.
    entry_len: [Option<u64>; 6],
}

/// Decodes the arguments at syscall enter. Output arguments get `None`.
pub fn decode_enter(
    desc: &SyscallDesc,
    abi: LinuxAbi,
    raw: &[u64],
    mem: &mut dyn VirtMem,
    opts: &DecodeOptions,
) -> Vec<ArgValue> {
    let mut out = Vec::new();
    decode_enter_into(desc, abi, raw, mem, opts, &mut out);
    out
}

/// [`decode_enter`] into `out`, reusing its entries (their text buffers)
/// and its capacity: the engine hands back the argument list of a
/// written record, so decoding a call allocates nothing for its plain
/// arguments once warm.
pub fn decode_enter_into(
    desc: &SyscallDesc,
    abi: LinuxAbi,
    raw: &[u64],
    mem: &mut dyn VirtMem,
    opts: &DecodeOptions,
    out: &mut Vec<ArgValue>,
) {
    let mut ctx = Ctx::new(desc, abi, raw, mem, opts, None);
    // Arguments strace leaves out (an open mode without O_CREAT, fcntl's
    // argument for F_GETFD, quotactl's id for Q_GETFMT...) are not in the
    // list.
    let shown = shape::shown(desc, abi, &ctx.raw);
    vstrace_core::spare::truncate_args(out, shown.len());
    for (k, &i) in shown.iter().enumerate() {
        let a = desc.args[i];
        let value = match a.dir {
            Dir::Out => None,
            Dir::In | Dir::InOut => Some(ctx.value(i)),
        };
        match out.get_mut(k) {
            Some(slot) => slot.reset(a.name, ctx.raw[i], value),
            None => out.push(vstrace_core::spare::new_arg(a.name, ctx.raw[i], value)),
        }
    }
}

/// Whether [`decode_exit`] leaves `args` (a call of `desc`, decoded at
/// its entry) as they are: every argument is an input and every entry
/// was read (an unreadable one is read again at the exit). The common
/// exit (getppid, write, close) then costs no decoding context.
pub fn exit_decodes_nothing(desc: &SyscallDesc, args: &[ArgValue]) -> bool {
    desc.args.iter().all(|a| a.dir == Dir::In) && args.iter().all(|a| a.text.is_some())
}

/// Decodes the output arguments at syscall exit, filling `args` (as
/// returned by [`decode_enter`]; extra or missing entries are ignored).
pub fn decode_exit(
    desc: &SyscallDesc,
    abi: LinuxAbi,
    raw: &[u64],
    ret: i64,
    mem: &mut dyn VirtMem,
    opts: &DecodeOptions,
    args: &mut [ArgValue],
) {
    if exit_decodes_nothing(desc, args) {
        return;
    }
    let ret = normalize_ret(abi, ret);
    let failed = (-4095..=-1).contains(&ret);
    let mut ctx = Ctx::new(desc, abi, raw, mem, opts, Some(ret));
    // Only the structure decoders (`struct_call`) read the entry texts:
    // other calls copy none at every exit.
    let reads_entries = desc.args.iter().any(|a| {
        matches!(
            a.ty,
            ArgType::Struct(_) | ArgType::IoctlArg | ArgType::FutexArg(_) | ArgType::PtraceArg(_)
        )
    });
    // The argument index of each entry of `args` (a left-out argument in
    // the middle shifts the ones after it).
    let shown = shape::shown(desc, abi, &ctx.raw);
    if reads_entries {
        ctx.entries = vec![None; desc.args.len()];
        for (k, a) in args.iter().enumerate() {
            if let Some(e) = shown.get(k).and_then(|&i| ctx.entries.get_mut(i)) {
                *e = a.text.clone();
            }
        }
    }
    for (k, a) in args.iter().enumerate() {
        if let Some(l) = shown.get(k).and_then(|&i| ctx.entry_len.get_mut(i)) {
            *l = a
                .text
                .as_deref()
                .and_then(|t| t.strip_prefix('[')?.strip_suffix(']')?.parse().ok());
        }
    }
    for (k, &i) in shown.iter().enumerate() {
        let a = &desc.args[i];
        let Some(slot) = args.get_mut(k) else { break };
        match a.dir {
            Dir::In => {
                if slot.text.is_none() {
                    slot.set(ctx.value(i));
                }
            }
            // The kernel wrote nothing on failure: show the address.
            // (iovec arrays still show their buffers' addresses).
            Dir::Out if failed && !matches!(a.ty, ArgType::IovecOut(_)) => {
                slot.set(Value::ptr(ctx.raw[i]))
            }
            // A value-result length (`socklen_t *`): strace shows
            // `[in => out]` when the kernel changed it, the entry value
            // when the call failed.
            Dir::InOut if a.ty == ArgType::IntPtr => {
                if failed && slot.text.is_some() {
                    continue;
                }
                let now = ctx.value(i);
                let changed = match (slot.value.take(), &now) {
                    (Some(before), now) if before.render() != now.render() => {
                        changed_in_brackets(before, now.clone())
                    }
                    _ => None,
                };
                slot.set(changed.unwrap_or(now));
            }
            // sendfile's offset: `[before] => [after]` when data moved.
            Dir::InOut if matches!(a.ty, ArgType::U64Ptr | ArgType::OffPtr) => {
                if failed || ret == 0 || slot.text.is_none() || ctx.raw[i] == 0 {
                    continue;
                }
                let now = ctx.value(i);
                let before = slot
                    .value
                    .take()
                    .unwrap_or_else(|| Value::Opaque(slot.text.clone().unwrap_or_default()));
                slot.set(Value::Changed {
                    before: Box::new(before),
                    after: Box::new(now),
                });
            }
            // An argument the kernel does not write for this call
            // (io_uring_register's but for a probe): as at the entry.
            Dir::InOut
                if slot.text.is_some()
                    && matches!(a.ty, ArgType::Struct(k) if !k.decoded_at_exit(&ctx.raw)) => {}
            Dir::Out | Dir::InOut => slot.set(ctx.value(i)),
        }
    }
}

/// Whether an argument of type `ty` is a structure, array or number
/// read from memory (strace's `umove_or_printaddr`/`tfetch_mem`, which
/// `-e verbose=` turns off); strings and buffers are not.
fn fetched(ty: ArgType) -> bool {
    matches!(
        ty,
        ArgType::I64Ptr
            | ArgType::U64Ptr
            | ArgType::OffPtr
            | ArgType::IntPtr
            | ArgType::GidsIn(_)
            | ArgType::GidsOut
            | ArgType::HexPtrOut
            | ArgType::UlongPtrOut
            | ArgType::Uid16PtrOut
            | ArgType::Sigaction
            | ArgType::OldSigaction
            | ArgType::Sigset
            | ArgType::OldSigset
            | ArgType::Sockaddr(_)
            | ArgType::SockaddrOut(_)
            | ArgType::IovecIn(_)
            | ArgType::IovecOut(_)
            | ArgType::Argv
            | ArgType::Envp
            | ArgType::PipeFds
            | ArgType::StatOut
            | ArgType::StatxOut
            | ArgType::WaitStatus
            | ArgType::DirentsOut
            | ArgType::Struct(_)
    ) && !matches!(
        ty,
        ArgType::Struct(
            crate::structs::StructKind::MpolMode
                | crate::structs::StructKind::MpolModeInt
                | crate::structs::StructKind::Persona
                | crate::structs::StructKind::MemfdFlags
                | crate::structs::StructKind::StatxFlags
                | crate::structs::StructKind::QuotaCmd
                | crate::structs::StructKind::QuotaId(_)
                | crate::structs::StructKind::QuotaData(_)
        )
    )
}

/// strace's `QUOTE_OMIT_TRAILING_0` on a buffer [`Ctx::buffer`] read: a
/// NUL ending the bytes shown is not printed (nor `...` after it).
fn omit_trailing_nul(v: &mut Value) {
    if let Value::Str(s) = v {
        if s.bytes.last() == Some(&0) {
            s.bytes.pop();
            s.truncated = false;
        }
    }
}

/// `[in => out]` for a value-result `[in]` that became `[out]`.
fn changed_in_brackets(before: Value, now: Value) -> Option<Value> {
    let one = |v: Value| match v {
        Value::Array { mut items, more } if items.len() == 1 && !more => items.pop(),
        _ => None,
    };
    Some(Value::boxed(Value::Changed {
        before: Box::new(one(before)?),
        after: Box::new(one(now)?),
    }))
}

/// The error of a call whose `int` result the kernel clips to 32 bits
/// (x86-64's modify_ldt: `-ENOSYS` comes back as 0xffffffda): strace
/// reads a clipped -4095..-1 as that error and prints the number as it
/// came, then the error. `None` for every other call and value.
pub fn clipped_errno(desc: &SyscallDesc, abi: LinuxAbi, value: i64) -> Option<i64> {
    let clipped = abi == LinuxAbi::X86_64
        && desc.name == "modify_ldt"
        && (0xffff_f000..=0xffff_ffff).contains(&value);
    clipped.then(|| -i64::from(value as u32 as i32))
}

/// The calls strace marks as never failing (`NF` in its syscall tables):
/// it does not read their -4095..-1 as an error, so an injected
/// `retval=-2` prints as the number (`geteuid() = 18446744073709551614`).
/// (vstrace cannot tell such a value from an injected `error=`, which
/// strace would print as the error: no test injects errors into these.)
fn never_fails(desc: &SyscallDesc) -> bool {
    matches!(
        desc.name,
        "getegid"
            | "getegid32"
            | "geteuid"
            | "geteuid32"
            | "getgid"
            | "getgid32"
            | "getpgrp"
            | "getpid"
            | "getppid"
            | "gettid"
            | "getuid"
            | "getuid32"
            | "personality"
            | "setfsgid"
            | "setfsgid32"
            | "setfsuid"
            | "setfsuid32"
            | "umask"
    )
}

/// Formats a return value (`ret` as found in rax/eax: `-errno` on error).
pub fn format_return(desc: &SyscallDesc, abi: LinuxAbi, ret: i64) -> ReturnValue {
    let mut text = String::new();
    let errno = format_return_into(desc, abi, ret, &mut text);
    ReturnValue {
        value: normalize_ret(abi, ret),
        text,
        errno,
    }
}

/// [`format_return`]'s text appended to `out` (a reused buffer: a
/// successful return's number allocates nothing); returns the errno
/// name when the call failed.
pub fn format_return_into(
    desc: &SyscallDesc,
    abi: LinuxAbi,
    ret: i64,
    out: &mut String,
) -> Option<&'static str> {
    let value = normalize_ret(abi, ret);
    if let Some(e) = clipped_errno(desc, abi, value) {
        let errno = consts::errno_name(e);
        let _ = match (errno, consts::errno_message(e)) {
            (Some(n), Some(m)) => write!(out, "{value} {n} ({m})"),
            _ => write!(out, "{value} (errno {e})"),
        };
        return errno;
    }
    if (-4095..=-1).contains(&value) && !never_fails(desc) {
        let e = -value;
        let errno = consts::errno_name(e);
        let _ = match (errno, consts::errno_message(e)) {
            // Restart codes never reach the program: strace shows "?".
            (Some(n), Some(m)) if (512..=516).contains(&e) => write!(out, "? {n} ({m})"),
            (Some(n), Some(m)) => write!(out, "-1 {n} ({m})"),
            _ => write!(out, "-1 (errno {e})"),
        };
        return errno;
    }
    let unsigned = word(abi, value as u64);
    let _ = match desc.ret {
        RetKind::Long | RetKind::Fd | RetKind::Pid => {
            vstrace_core::decimal::push_i64(out, value);
            Ok(())
        }
        RetKind::Ulong | RetKind::Uid | RetKind::Gid => {
            vstrace_core::decimal::push_u64(out, unsigned);
            Ok(())
        }
        // C's `%#lx`: zero without the prefix.
        RetKind::Hex if unsigned == 0 => write!(out, "0"),
        RetKind::Hex => write!(out, "{unsigned:#x}"),
        RetKind::Octal => {
            Value::int(unsigned, Base::Oct03).render_into(out);
            Ok(())
        }
        RetKind::None => {
            out.push('?');
            Ok(())
        }
    };
    None
}

/// One strace-like line: `name(arg, ...) = ret`. Arguments not decoded
/// yet print as their raw value; without a return value the line ends
/// with ` <unfinished ...>`.
pub fn format_call(desc: &SyscallDesc, args: &[ArgValue], ret: Option<&ReturnValue>) -> String {
    let mut s = String::new();
    s.push_str(desc.name);
    s.push('(');
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        match &a.text {
            Some(t) => s.push_str(t),
            None => s.push_str(&fmt::ptr(a.raw)),
        }
    }
    s.push(')');
    match ret {
        Some(r) => {
            let _ = write!(s, " = {}", r.text);
        }
        None => s.push_str(" <unfinished ...>"),
    }
    s
}

impl<'a, 'm> Ctx<'a, 'm> {
    fn new(
        desc: &'a SyscallDesc,
        abi: LinuxAbi,
        raw: &[u64],
        mem: &'m mut dyn VirtMem,
        opts: &'a DecodeOptions,
        ret: Option<i64>,
    ) -> Self {
        // One value per argument: i386's 64-bit register pairs joined.
        let logical = crate::proto::logical_args(desc, raw);
        let mut r = [0u64; 6];
        for (i, (d, s)) in r.iter_mut().zip(logical.iter()).enumerate() {
            let pair = desc.args.get(i).is_some_and(|a| a.ty.is_pair());
            *d = if pair { *s } else { word(abi, *s) };
        }
        Ctx {
            abi,
            desc,
            raw: r,
            mem,
            opts,
            ret,
            entries: Vec::new(),
            entry_len: [None; 6],
        }
    }

    fn ptr_size(&self) -> u64 {
        self.abi.word_size()
    }

    fn signed(&self, v: u64) -> i64 {
        match self.abi {
            LinuxAbi::X86_64 => v as i64,
            LinuxAbi::I386 => v as u32 as i32 as i64,
        }
    }

    fn arg(&self, n: u8) -> u64 {
        self.raw.get(n as usize).copied().unwrap_or(0)
    }

    fn read_word(&mut self, va: u64) -> Option<u64> {
        read::read_ptr(self.mem, va, self.abi.bitness()).ok()
    }

    fn read_i32(&mut self, va: u64) -> Option<i32> {
        read::read_u32(self.mem, va).ok().map(|v| v as i32)
    }

    /// A NUL-terminated string of at most `max` bytes; the address when
    /// it cannot be read up to its end or the limit.
    fn string(&mut self, va: u64, max: usize) -> Value {
        if va == 0 {
            return Value::Null;
        }
        match read::read_cstring(self.mem, va, max) {
            Ok(s) if s.fault.is_none() => {
                // strace reads one byte more than it prints (umovestr of
                // `max + 1`): a string of exactly `max` bytes ends with its
                // NUL there and is not truncated (no `...`); when that byte
                // cannot be read, strace's read failed and it prints the
                // address. The byte is read on its own so that the reads
                // of shorter strings stay the same (recorded traces replay
                // them).
                let cut = if s.truncated {
                    match read::read_struct(self.mem, va.wrapping_add(max as u64), 1).as_deref() {
                        Ok([0]) => false,
                        Ok(_) => true,
                        Err(_) => return Value::ptr(va),
                    }
                } else {
                    false
                };
                Value::str(s.bytes, cut, self.opts.strings_in_hex)
            }
            _ => Value::ptr(va),
        }
    }

    /// A NUL-terminated string read with a length bound (strace's
    /// `printstr_ex` with a length and `QUOTE_0_TERMINATED`): `...` when
    /// no NUL came within the `max` bytes, even right after them (unlike
    /// [`Ctx::string`], whose bound is `-s`'s look-ahead).
    fn string_max(&mut self, va: u64, max: usize) -> Value {
        if va == 0 {
            return Value::Null;
        }
        match read::read_cstring(self.mem, va, max) {
            Ok(s) if s.fault.is_none() => {
                Value::str(s.bytes, s.truncated, self.opts.strings_in_hex)
            }
            _ => Value::ptr(va),
        }
    }

    /// `len` bytes at `va`, at most `strsize` of them printed.
    fn buffer(&mut self, va: u64, len: u64) -> Value {
        if va == 0 {
            return Value::Null;
        }
        let show = len.min(self.opts.strsize as u64) as usize;
        // strace's printstr reads one byte past `-s` (its quoting looks
        // ahead): a longer buffer whose `-s`+1 bytes are not all readable
        // is its address.
        let fetch = len.min(self.opts.strsize as u64 + 1) as usize;
        match read::read_struct(self.mem, va, fetch) {
            // strace shows random bytes in hex.
            Ok(mut b) => Value::Str(Bytes {
                bytes: {
                    b.truncate(show);
                    b
                },
                truncated: len > show as u64,
                escape: if self.desc.name == "getrandom" {
                    Escape::AllHex
                } else {
                    Escape::Level(self.opts.strings_in_hex)
                },
            }),
            Err(_) => Value::ptr(va),
        }
    }

    /// The typed value of argument `i`; decoders not converted yet give
    /// their text ([`Value::Opaque`], from [`Ctx::decode`]).
    fn value(&mut self, i: usize) -> Value {
        let v = self.raw[i];
        let ty = match self.desc.args[i].ty {
            ArgType::FsconfigArg(k) => match fsconfig::shape(k, &self.raw) {
                fsconfig::Shape::As(t) => t,
                fsconfig::Shape::Blob => return self.fsconfig_blob(v),
            },
            t => t,
        };
        if ty == ArgType::PtraceArg(3) {
            if let Some(s) = self.ptrace_siginfo() {
                return s;
            }
        }
        let w32 = v & 0xffff_ffff;
        if !self.opts.structs && fetched(ty) {
            // strace -e verbose=: outside the set, what its tfetch_mem
            // would read prints as the address.
            return Value::ptr(v);
        }
        match ty {
            ArgType::Int | ArgType::Pid => Value::dec(v as u32 as i32),
            // kcmp's indexes are descriptors for KCMP_FILE (0) and
            // KCMP_EPOLL_TFD (7) only; other types' are shown in hex.
            // KCMP_EPOLL_TFD's second index points to a kcmp_epoll_slot.
            ArgType::Fd if self.desc.name == "kcmp" && i == 4 && self.raw[2] & 0xffff_ffff == 7 => {
                if self.opts.structs {
                    crate::structs::kcmp_epoll_slot(self.mem, v)
                } else {
                    Value::ptr(v)
                }
            }
            ArgType::Fd
                if self.desc.name == "kcmp"
                    && i >= 3
                    && !matches!(self.raw[2] & 0xffff_ffff, 0 | 7) =>
            {
                Value::int(v, Base::Hex)
            }
            ArgType::Fd => Value::Fd {
                fd: i64::from(v as u32 as i32),
                path: None,
            },
            ArgType::Uint => Value::dec(v as u32),
            ArgType::Uid16 => match v & 0xffff {
                0xffff => Value::dec(-1),
                id => Value::dec(id),
            },
            ArgType::Uid16PtrOut => match read::read_u16(self.mem, v) {
                Ok(id) => Value::boxed(Value::dec(id)),
                Err(_) => Value::ptr(v),
            },
            ArgType::PageOffset => Value::int(w32 << 12, Base::Hex),
            ArgType::LoHi64 | ArgType::HiLo64 | ArgType::PosPair => Value::dec(v as i64),
            ArgType::LoHiU64 => Value::dec(v),
            ArgType::LoHiFlags64(t) => fmt::xflags_v(self.abi, &[t], v, true, true),
            ArgType::Long => Value::dec(self.signed(v)),
            ArgType::Ulong => Value::dec(v),
            ArgType::Uid | ArgType::Gid => {
                if v as u32 == u32::MAX {
                    Value::dec(-1)
                } else {
                    Value::dec(v as u32)
                }
            }
            ArgType::Hex => Value::int(v, Base::Hex),
            ArgType::Ptr | ArgType::TimePtr => Value::ptr(v),
            ArgType::Xlat(t) => fmt::xval_v(self.abi, t, w32, Radix::Hex),
            ArgType::XlatD(t) => fmt::xval_v(self.abi, t, w32, Radix::Dec),
            ArgType::XlatDn(t) => fmt::xval_v(self.abi, t, w32, Radix::DecBare),
            ArgType::XlatLong(t) => fmt::xval_v(self.abi, t, v, Radix::Hex),
            ArgType::IpcCall => fmt::ipc_call_v(self.abi, w32),
            ArgType::OldSigmaskVal => fmt::sigset_sized_v(w32, 4),
            ArgType::SaHandler => fmt::sa_handler_v(self.abi, v),
            ArgType::Unshown => Value::int(v, Base::Hex),
            ArgType::Flags(t) => fmt::xflags_v(self.abi, &[t], w32, true, true),
            ArgType::FlagsLong(t) => fmt::xflags_v(self.abi, &[t], v, true, true),
            ArgType::FlagsPlain(t) => fmt::xflags_v(self.abi, &[t], w32, false, true),
            ArgType::Umode | ArgType::OpenMode(_) => Value::int(v & 0xffff, Base::Oct03),
            ArgType::SymMode => fmt::symbolic_mode_v(self.abi, v & 0xffff),
            ArgType::I64Ptr | ArgType::U64Ptr => match read::read_u64(self.mem, v) {
                _ if v == 0 => Value::Null,
                Ok(n) if ty == ArgType::I64Ptr => Value::boxed(Value::dec(n as i64)),
                Ok(n) => Value::boxed(Value::dec(n)),
                Err(_) => Value::ptr(v),
            },
            ArgType::OffPtr => match read::read_ptr(self.mem, v, self.abi.bitness()) {
                _ if v == 0 => Value::Null,
                Ok(n) => Value::boxed(Value::dec(n)),
                Err(_) => Value::ptr(v),
            },
            ArgType::HexInt | ArgType::HexUint => Value::int(w32, Base::Hex),
            ArgType::Prctl | ArgType::PrctlOption => {
                fmt::xval_v(self.abi, T::PrctlOptions, w32, Radix::Hex)
            }
            ArgType::SockLevel => fmt::xval_v(self.abi, T::Socketlayers, w32, Radix::Hex),
            ArgType::SockOptName(level) => fmt::sockopt_name_v(
                self.abi,
                self.arg(level) & 0xffff_ffff,
                w32,
                self.desc.name == "setsockopt",
            ),
            ArgType::IoctlCode | ArgType::IoctlReq => {
                let names = crate::structs::ioctl::request_names(self.abi, v as u32);
                let name = if names.is_empty() {
                    xlat::ioctl_request(self.abi, v as u32)
                } else {
                    names.join(" or ")
                };
                // -X raw prints the request in hex, verbose the number
                // and its name (or `_IOC(...)`) in a comment.
                Value::Const(vstrace_core::value::Const {
                    raw: i128::from(v as u32),
                    base: Base::Hex,
                    name: Some(name.into()),
                    comment: None,
                })
            }
            ArgType::IoctlArg => {
                let val = crate::structs::ioctl::value(&mut self.struct_call(i), v);
                // Outside -e verbose=, what was read from memory (a
                // structure or an array) is its address; numbers stay.
                if v != 0 && !self.opts.structs && val.render().starts_with(['{', '[']) {
                    Value::ptr(v)
                } else {
                    val
                }
            }
            ArgType::Dirfd => {
                let fd = v as u32 as i32;
                if fd == consts::AT_FDCWD {
                    Value::name("AT_FDCWD", fd)
                } else if fd == -1 && self.desc.name == "fanotify_mark" {
                    // FAN_NOFD: the mark is on the path alone.
                    Value::name("FAN_NOFD", fd)
                } else {
                    Value::Fd {
                        fd: i64::from(fd),
                        path: None,
                    }
                }
            }
            // strace's printpath: at most PATH_MAX - 1 bytes, `...` when no NUL
            // ends them.
            ArgType::Path | ArgType::Name => self.string(v, PATH_MAX - 1),
            ArgType::Str => self.string(v, self.opts.strsize),
            ArgType::StrOut => match self.ret {
                Some(r) if r >= 0 => self.string(v, PATH_MAX),
                _ => Value::ptr(v),
            },
            ArgType::BufIn(n) => {
                let len = self.arg(n);
                match self.desc.name {
                    // A name longer than the kernel's 64-byte field is
                    // refused unread: strace shows its address.
                    "sethostname" | "setdomainname" if len & 0xffff_ffff > 64 => Value::ptr(v),
                    _ => self.buffer(v, len),
                }
            }
            ArgType::BufOut(from) => {
                let len = match from {
                    // What the kernel wrote: the return value, but never
                    // more than the buffer's size (MSG_TRUNC returns the
                    // datagram's full length).
                    LenFrom::Ret => self.ret.filter(|r| *r >= 0).map(|r| {
                        let size = self.desc.args.get(i + 1).filter(|a| a.ty == ArgType::Ulong);
                        match size {
                            Some(_) => (r as u64).min(self.raw[i + 1]),
                            None => r as u64,
                        }
                    }),
                    LenFrom::Arg(n) => Some(self.arg(n)),
                };
                // syslog fills the buffer only for the READ actions
                // (READ, READ_ALL, READ_CLEAR): strace shows the
                // others' (and unknown actions') buffer as an address.
                let unread =
                    self.desc.name == "syslog" && !matches!(self.raw[0] & 0xffff_ffff, 2..=4);
                match len {
                    Some(len) if self.ret.is_some() && !unread => self.buffer(v, len),
                    _ => Value::ptr(v),
                }
            }
            ArgType::OpenFlags => fmt::open_flags_v(w32),
            ArgType::Mode => Value::int(w32, Base::Oct),
            ArgType::AccessMode => fmt::xflags_v(self.abi, &[T::AccessModes], w32, true, true),
            ArgType::AtFlags => fmt::xflags_v(self.abi, &[T::AtFlags], w32, true, true),
            ArgType::MmapProt => fmt::xflags_v(self.abi, &[T::MmapProt], w32, true, true),
            ArgType::MmapFlags => fmt::mmap_flags_v(w32),
            ArgType::MremapFlags => fmt::xflags_v(self.abi, &[T::MremapFlags], w32, true, true),
            ArgType::CloneFlags => fmt::clone_flags_v(v),
            ArgType::Signal => fmt::signal_v(w32),
            ArgType::Sigaction => self.sigaction(v, false),
            ArgType::OldSigaction => self.sigaction(v, true),
            ArgType::Sigset => match self.sigset_size() {
                // strace shows the set only for a size the kernel accepts.
                Some(n) if n > 8 || n < self.sigset_min() => Value::ptr(v),
                _ => self.sigset(v),
            },
            ArgType::OldSigset => match read::read_u32(self.mem, v) {
                _ if v == 0 => Value::Null,
                Ok(m) => fmt::sigset_sized_v(u64::from(m), 4),
                Err(_) => Value::ptr(v),
            },
            ArgType::SigprocmaskHow => fmt::xval_v(self.abi, T::Sigprocmaskcmds, w32, Radix::Hex),
            ArgType::SockFamily => fmt::xval_v(self.abi, T::Addrfams, w32, Radix::Hex),
            ArgType::SockType => {
                let base = w32 & 0xf;
                let mut parts = Vec::new();
                if base != 0 {
                    parts.push(match consts::lookup(consts::SOCK_TYPES, base) {
                        Some(n) => Flag::Name(n.into()),
                        None => Flag::Text(base.to_string()),
                    });
                }
                if w32 & !0xf != 0 {
                    if let Value::Flags(p) = fmt::flags_v(w32 & !0xf, consts::SOCK_TYPE_FLAGS, "0")
                    {
                        parts.extend(p);
                    }
                }
                Value::Flags(parts)
            }
            ArgType::SockProto => {
                let family = self
                    .desc
                    .args
                    .iter()
                    .position(|a| a.ty == ArgType::SockFamily)
                    .map(|j| self.raw[j]);
                match family {
                    Some(2) | Some(10) => fmt::enum_v(w32, consts::IP_PROTOCOLS, Base::Dec),
                    // AF_NETLINK: NETLINK_ROUTE...
                    Some(16) => fmt::xval_v(self.abi, T::NetlinkProtocols, w32, Radix::Hex),
                    _ => Value::dec(v as u32 as i32),
                }
            }
            ArgType::MsgFlags => fmt::xflags_v(self.abi, &[T::MsgFlags], w32, true, true),
            ArgType::IovecIn(n) => {
                let count = self.arg(n);
                self.iovec(v, count, None, false)
            }
            ArgType::XattrVal(from) => {
                let len = match from {
                    LenFrom::Arg(n) => Some(self.arg(n)),
                    LenFrom::Ret => self.ret.filter(|r| *r >= 0).map(|r| r as u64),
                };
                match len {
                    // XATTR_SIZE_MAX: the kernel refuses longer values.
                    Some(len) if len <= 65536 => {
                        let mut b = self.buffer(v, len);
                        omit_trailing_nul(&mut b);
                        b
                    }
                    _ => Value::ptr(v),
                }
            }
            ArgType::StrMax(n) => self.string_max(v, self.opts.strsize.min(n as usize)),
            ArgType::MountArg(k) => self.mount_arg(k),
            ArgType::Ioprio => Value::Opaque(shape::ioprio(self.abi, w32, true)),
            ArgType::XattrList(n) => match self.ret {
                Some(r) if r >= 0 && self.arg(n) != 0 => self.buffer(v, r as u64),
                _ => Value::ptr(v),
            },
            ArgType::IovecAddr(n) => {
                let count = self.arg(n);
                self.iovec(v, count, None, true)
            }
            ArgType::IovecOut(n) => {
                let count = self.arg(n);
                match self.ret {
                    Some(r) if r >= 0 => self.iovec(v, count, Some(r as u64), false),
                    // Nothing was read: the buffers' addresses.
                    Some(_) => self.iovec(v, count, None, false),
                    None => Value::ptr(v),
                }
            }
            ArgType::Argv => self.string_array(v),
            ArgType::Envp if self.opts.verbose => self.string_array(v),
            ArgType::Envp => self.env_count(v),
            ArgType::FcntlCmd => fmt::xval_v(self.abi, T::Fcntlcmds, w32, Radix::Hex),
            ArgType::ArchPrctlCode => fmt::xval_v(self.abi, T::Archvals, w32, Radix::Hex),
            ArgType::GrndFlags => fmt::xflags_v(self.abi, &[T::GetrandomFlags], w32, true, true),
            ArgType::Whence => fmt::xval_v(self.abi, T::WhenceCodes, w32, Radix::Hex),
            ArgType::WaitOptions => fmt::xflags_v(self.abi, &[T::Wait4Options], w32, true, true),
            ArgType::PipeFds => {
                if v == 0 || self.ret.is_none() {
                    return Value::ptr(v);
                }
                match (self.read_i32(v), self.read_i32(v.wrapping_add(4))) {
                    (Some(a), Some(b)) => Value::Array {
                        items: [a, b]
                            .map(|fd| Value::Fd {
                                fd: i64::from(fd),
                                path: None,
                            })
                            .into(),
                        more: false,
                    },
                    _ => Value::ptr(v),
                }
            }
            ArgType::StatOut | ArgType::Stat64Out | ArgType::StatxOut => {
                if self.ret.is_none() {
                    Value::ptr(v)
                } else {
                    self.stat(ty, v)
                }
            }
            ArgType::IntPtr => {
                if v == 0 {
                    return Value::Null;
                }
                match self.read_i32(v) {
                    Some(n) => Value::boxed(Value::dec(n)),
                    None => Value::ptr(v),
                }
            }
            ArgType::Clockid => fmt::clockid_v(self.abi, w32),
            ArgType::Struct(k) => crate::structs::value(&mut self.struct_call(i), k, v),
            ArgType::ArchPrctlArg => self.arch_prctl_arg(),
            ArgType::KeyctlArg(k) => self.keyctl_arg(k),
            _ => Value::Opaque(self.decode(i)),
        }
    }

    /// The strace text of argument `i` for the types whose decoders give
    /// text only; every other type is its [`Ctx::value`] rendered. (A
    /// new type gets an arm in [`Ctx::value`]; a text-only arm here works
    /// too and shows as opaque in JSON.)
    fn decode(&mut self, i: usize) -> String {
        let ty = self.desc.args[i].ty;
        let v = self.raw[i];
        match ty {
            ArgType::MknodDev(_) => fmt::makedev(v & 0xffff_ffff),
            ArgType::FanInitFlags => {
                let v = v & 0xffff_ffff;
                let class = xlat::xval(self.abi, xlat::Table::FanClasses, v & 0xc, Radix::Hex);
                match v & !0xc {
                    0 => class,
                    rest => format!(
                        "{class}|{}",
                        xlat::flags(self.abi, xlat::Table::FanInitFlags, rest)
                    ),
                }
            }
            ArgType::PrctlArg(k) => self.prctl_arg(k),
            ArgType::FutexArg(k) => self.futex_arg(k),
            ArgType::PtraceArg(k) => self.ptrace_arg(k),
            ArgType::Dev
            | ArgType::DirentsOut
            | ArgType::RebootArg
            | ArgType::XlatVerbose(_)
            | ArgType::SyslogLen
            | ArgType::KexecFlags
            | ArgType::GidsIn(_)
            | ArgType::GidsOut
            | ArgType::SwapFlags
            | ArgType::SeccompFlags
            | ArgType::HexPtrOut
            | ArgType::UlongPtrOut
            | ArgType::IpcKey
            | ArgType::IpcFlags(_)
            | ArgType::IpcCmd(_) => self.shaped(ty, v),
            ArgType::FcntlArg => self.fcntl_arg(),
            ArgType::Sockaddr(n) => {
                let len = self.arg(n) as u32 as usize;
                self.sockaddr(v, len)
            }
            ArgType::SockaddrOut(n) => {
                let lenp = self.arg(n);
                match (self.ret, lenp) {
                    (Some(r), lp) if r >= 0 && lp != 0 => match self.read_i32(lp) {
                        Some(len) if len >= 0 => {
                            let size = self.entry_len[n as usize].unwrap_or(len as u64);
                            self.sockaddr(v, (len as u64).min(size) as usize)
                        }
                        _ => fmt::ptr(v),
                    },
                    _ => fmt::ptr(v),
                }
            }
            ArgType::WaitStatus => match self.ret {
                Some(r) if r > 0 && v != 0 => match self.read_i32(v) {
                    Some(s) => format!("[{}]", wait_status(s)),
                    None => fmt::ptr(v),
                },
                _ => fmt::ptr(v),
            },
            ArgType::Int
            | ArgType::Fd
            | ArgType::Pid
            | ArgType::Uint
            | ArgType::Long
            | ArgType::Ulong
            | ArgType::Uid
            | ArgType::Gid
            | ArgType::Hex
            | ArgType::Ptr
            | ArgType::TimePtr
            | ArgType::Xlat(_)
            | ArgType::XlatD(_)
            | ArgType::XlatDn(_)
            | ArgType::XlatLong(_)
            | ArgType::IpcCall
            | ArgType::OldSigmaskVal
            | ArgType::SaHandler
            | ArgType::Unshown
            | ArgType::Flags(_)
            | ArgType::FlagsLong(_)
            | ArgType::FlagsPlain(_)
            | ArgType::Umode
            | ArgType::SymMode
            | ArgType::I64Ptr
            | ArgType::U64Ptr
            | ArgType::OffPtr
            | ArgType::OpenMode(_)
            | ArgType::HexInt
            | ArgType::HexUint
            | ArgType::Prctl
            | ArgType::SockLevel
            | ArgType::SockOptName(_)
            | ArgType::IoctlCode
            | ArgType::IoctlArg
            | ArgType::Dirfd
            | ArgType::Path
            | ArgType::Name
            | ArgType::Str
            | ArgType::StrOut
            | ArgType::BufIn(_)
            | ArgType::BufOut(_)
            | ArgType::OpenFlags
            | ArgType::Mode
            | ArgType::AccessMode
            | ArgType::AtFlags
            | ArgType::MmapProt
            | ArgType::MmapFlags
            | ArgType::MremapFlags
            | ArgType::CloneFlags
            | ArgType::Signal
            | ArgType::Sigaction
            | ArgType::OldSigaction
            | ArgType::Sigset
            | ArgType::OldSigset
            | ArgType::SigprocmaskHow
            | ArgType::SockFamily
            | ArgType::SockType
            | ArgType::SockProto
            | ArgType::MsgFlags
            | ArgType::IovecIn(_)
            | ArgType::IovecOut(_)
            | ArgType::IovecAddr(_)
            | ArgType::XattrVal(_)
            | ArgType::XattrList(_)
            | ArgType::StrMax(_)
            | ArgType::MountArg(_)
            | ArgType::FsconfigArg(_)
            | ArgType::Ioprio
            | ArgType::Argv
            | ArgType::Envp
            | ArgType::FcntlCmd
            | ArgType::ArchPrctlCode
            | ArgType::PrctlOption
            | ArgType::GrndFlags
            | ArgType::IoctlReq
            | ArgType::Whence
            | ArgType::WaitOptions
            | ArgType::PipeFds
            | ArgType::StatOut
            | ArgType::Stat64Out
            | ArgType::StatxOut
            | ArgType::IntPtr
            | ArgType::Clockid
            | ArgType::Uid16
            | ArgType::Uid16PtrOut
            | ArgType::PageOffset
            | ArgType::LoHi64
            | ArgType::LoHiU64
            | ArgType::PosPair
            | ArgType::HiLo64
            | ArgType::LoHiFlags64(_)
            | ArgType::ArchPrctlArg
            | ArgType::KeyctlArg(_)
            | ArgType::Struct(_) => self.value(i).render(),
        }
    }

    /// Argument `i` as the structure decoders see the call.
    fn struct_call(&mut self, i: usize) -> crate::structs::Call<'_, '_> {
        crate::structs::Call {
            abi: self.abi,
            name: self.desc.name,
            raw: self.raw,
            mem: &mut *self.mem,
            opts: self.opts,
            ret: self.ret,
            entries: &self.entries,
            index: i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing (linux_decode): `then_some(-v)` negated every
    /// return value, and -i64::MIN overflows (a panic in debug builds).
    #[test]
    fn error_of_the_most_negative_return_is_none() {
        assert_eq!(error_of(LinuxAbi::X86_64, i64::MIN), None);
        assert_eq!(error_of(LinuxAbi::X86_64, -2), Some(2));
        assert_eq!(error_of(LinuxAbi::I386, i64::MIN), None);
    }
    use crate::proto::by_name;
    use vstrace_core::testmem::SparseVirt;

    /// The exit's early-out holds exactly when the full decoding changes
    /// nothing: only inputs, all read at the entry.
    #[test]
    fn an_exit_of_inputs_read_at_the_entry_decodes_nothing() {
        let mut mem = SparseVirt::new();
        mem.map(0x1000, b"hi");
        let opts = DecodeOptions::default();
        for (name, raw, ret) in [
            ("write", vec![1u64, 0x1000, 2], 2i64),
            ("getppid", vec![], 1),
            ("read", vec![0, 0x1000, 2], 2),
            ("write", vec![1, 0x9000, 2], -14),
        ] {
            let d = by_name(LinuxAbi::X86_64, name).unwrap();
            let args = decode_enter(d, LinuxAbi::X86_64, &raw, &mut mem, &opts);
            let mut full = args.clone();
            decode_exit(d, LinuxAbi::X86_64, &raw, ret, &mut mem, &opts, &mut full);
            let nothing = exit_decodes_nothing(d, &args);
            assert_eq!(nothing, name != "read", "{name}");
            if nothing {
                assert_eq!(full, args, "{name}");
            }
        }
    }

    const X: LinuxAbi = LinuxAbi::X86_64;
    const I: LinuxAbi = LinuxAbi::I386;

    fn opts() -> DecodeOptions {
        DecodeOptions::default()
    }

    fn enter(abi: LinuxAbi, name: &str, raw: &[u64], mem: &mut SparseVirt) -> Vec<ArgValue> {
        let d = by_name(abi, name).unwrap();
        decode_enter(d, abi, raw, mem, &opts())
    }

    fn texts(v: &[ArgValue]) -> Vec<Option<&str>> {
        v.iter().map(|a| a.text.as_deref()).collect()
    }

    fn line(abi: LinuxAbi, name: &str, raw: &[u64], ret: i64, mem: &mut SparseVirt) -> String {
        let d = by_name(abi, name).unwrap();
        let mut a = decode_enter(d, abi, raw, mem, &opts());
        decode_exit(d, abi, raw, ret, mem, &opts(), &mut a);
        format_call(d, &a, Some(&format_return(d, abi, ret)))
    }

    #[test]
    fn openat_enter() {
        let mut m = SparseVirt::new();
        m.map(0x1000, b"/etc/passwd\0");
        let v = enter(
            X,
            "openat",
            &[(-100i64) as u64, 0x1000, 0o2000000, 0],
            &mut m,
        );
        assert_eq!(
            texts(&v),
            vec![
                Some("AT_FDCWD"),
                Some("\"/etc/passwd\""),
                Some("O_RDONLY|O_CLOEXEC"),
            ]
        );
        // The mode is shown only with O_CREAT or O_TMPFILE, as strace does.
        let v = enter(X, "openat", &[3, 0x1000, 0o101, 0o644], &mut m);
        assert_eq!(v[3].text.as_deref(), Some("0644"));
        let v = enter(X, "open", &[0x1000, 0o20200000, 4], &mut m);
        assert_eq!(v[2].text.as_deref(), Some("004"));
        assert_eq!(v[1].name, "flags");
        let v = enter(X, "openat", &[3, 0x1000, 0o2000000, 0], &mut m);
        assert_eq!(v[1].name, "filename");
        assert_eq!(v[1].raw, 0x1000);
    }

    #[test]
    fn i386_truncates_registers() {
        let mut m = SparseVirt::new();
        m.map(0x1000, b"/tmp/x\0");
        // Garbage in the upper halves must be ignored for a 32-bit ABI.
        let v = enter(
            I,
            "open",
            &[0xdead_0000_0000_1000, 0xffff_0000_0000_0241, 0x1_0000_01a4],
            &mut m,
        );
        assert_eq!(
            texts(&v),
            vec![
                Some("\"/tmp/x\""),
                Some("O_WRONLY|O_CREAT|O_TRUNC"),
                Some("0644")
            ]
        );
        assert_eq!(v[0].raw, 0x1000);
        let d = by_name(I, "open").unwrap();
        assert_eq!(
            format_return(d, I, 0xffff_fffe).text,
            "-1 ENOENT (No such file or directory)"
        );
        assert_eq!(format_return(d, I, 3).text, "3");
    }

    #[test]
    fn hostile_strings() {
        let mut m = SparseVirt::new();
        // Unmapped pointer.
        let v = enter(X, "open", &[0xdead_0000, 0, 0], &mut m);
        assert_eq!(v[0].text.as_deref(), Some("0xdead0000"));
        // NULL.
        let v = enter(X, "open", &[0, 0, 0], &mut m);
        assert_eq!(v[0].text.as_deref(), Some("NULL"));
        // Unterminated string running into an unmapped page: the address.
        m.map(0x3000 - 5, b"abcde");
        let v = enter(X, "open", &[0x3000 - 5, 0, 0], &mut m);
        assert_eq!(v[0].text.as_deref(), Some("0x2ffb"));
        // A string ending exactly at a page end reads fine.
        m.map(0x5000 - 4, b"abc\0");
        let v = enter(X, "open", &[0x5000 - 4, 0, 0], &mut m);
        assert_eq!(v[0].text.as_deref(), Some("\"abc\""));
        // Longer than strsize (for str args): cut with "...".
        let long = [b'a'; 100];
        m.map(0x8000, &long);
        m.map(0x8000 + 100, b"\0");
        let v = enter(X, "memfd_create", &[0x8000, 0], &mut m);
        assert_eq!(
            v[0].text.as_deref(),
            Some(&*format!("\"{}\"...", "a".repeat(32)))
        );
        // Paths are printed whole (up to PATH_MAX).
        let v = enter(X, "open", &[0x8000, 0, 0], &mut m);
        assert_eq!(
            v[0].text.as_deref(),
            Some(&*format!("\"{}\"", "a".repeat(100)))
        );
        // Escapes.
        m.map(0x9000, b"a\nb\x01\0");
        let v = enter(X, "open", &[0x9000, 0, 0], &mut m);
        assert_eq!(v[0].text.as_deref(), Some("\"a\\nb\\1\""));
    }

    #[test]
    fn write_and_read_buffers() {
        let mut m = SparseVirt::new();
        m.map(0x1000, b"hello\n");
        assert_eq!(
            line(X, "write", &[1, 0x1000, 6], 6, &mut m),
            "write(1, \"hello\\n\", 6) = 6"
        );
        // Huge length: only strsize bytes read and shown.
        m.map(0x2000, &[b'x'; 64]);
        let v = enter(X, "write", &[1, 0x2000, u64::MAX], &mut m);
        assert_eq!(
            v[1].text.as_deref(),
            Some(&*format!("\"{}\"...", "x".repeat(32)))
        );
        // Huge length on an unmapped buffer: the address, no allocation.
        let v = enter(X, "write", &[1, 0x7000_0000, 1 << 40], &mut m);
        assert_eq!(v[1].text.as_deref(), Some("0x70000000"));
        // read: output buffer is None at enter, filled at exit up to ret.
        m.map(0x3000, b"root:x:0:0");
        let d = by_name(X, "read").unwrap();
        let raw = [3, 0x3000, 4096];
        let mut a = decode_enter(d, X, &raw, &mut m, &opts());
        assert_eq!(a[1].text, None);
        decode_exit(d, X, &raw, 4, &mut m, &opts(), &mut a);
        assert_eq!(a[1].text.as_deref(), Some("\"root\""));
        // Failed read: the address.
        let mut a = decode_enter(d, X, &raw, &mut m, &opts());
        decode_exit(d, X, &raw, -9, &mut m, &opts(), &mut a);
        assert_eq!(a[1].text.as_deref(), Some("0x3000"));
        assert_eq!(
            format_call(d, &a, Some(&format_return(d, X, -9))),
            "read(3, 0x3000, 4096) = -1 EBADF (Bad file descriptor)"
        );
    }

    #[test]
    fn mmap_and_flags() {
        let mut m = SparseVirt::new();
        let s = line(
            X,
            "mmap",
            &[0, 8192, 3, 0x22, u32::MAX as u64, 0],
            0x7f12_3456_0000,
            &mut m,
        );
        assert_eq!(
            s,
            "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1234560000"
        );
        let s = line(
            I,
            "mmap2",
            &[0, 4096, 5, 0x8000_0002, 3, 0],
            0xb7f0_0000,
            &mut m,
        );
        assert_eq!(
            s,
            "mmap2(NULL, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE|32<<MAP_HUGE_SHIFT, 3, 0) = 0xb7f00000"
        );
        let d = by_name(X, "mmap").unwrap();
        assert_eq!(
            format_return(d, X, -12).text,
            "-1 ENOMEM (Cannot allocate memory)"
        );
        assert_eq!(format_return(d, X, -12).errno, Some("ENOMEM"));
    }

    #[test]
    fn sockaddrs() {
        let mut m = SparseVirt::new();
        let mut sin = vec![2, 0, 0, 80, 127, 0, 0, 1];
        sin.extend([0u8; 8]);
        m.map(0x1000, &sin);
        assert_eq!(
            line(X, "connect", &[3, 0x1000, 16], 0, &mut m),
            "connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = 0"
        );
        let mut sun = vec![1, 0];
        sun.extend(b"/tmp/s\0");
        m.map(0x2000, &sun);
        let v = enter(X, "bind", &[3, 0x2000, 110], &mut m);
        // 110 bytes run past what is mapped on this page? No: page is mapped.
        assert_eq!(
            v[1].text.as_deref(),
            Some("{sa_family=AF_UNIX, sun_path=\"/tmp/s\"}")
        );
        let mut s6 = vec![10, 0, 0x01, 0xbb, 0, 0, 0, 0];
        s6.extend(std::net::Ipv6Addr::LOCALHOST.octets());
        s6.extend([0, 0, 0, 0]);
        m.map(0x3000, &s6);
        let v = enter(X, "connect", &[3, 0x3000, 28], &mut m);
        assert_eq!(
            v[1].text.as_deref(),
            Some("{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, \"::1\", &sin6_addr), sin6_scope_id=0}")
        );
        // Hostile: unmapped, absurd length, too short.
        let v = enter(X, "connect", &[3, 0x9999_0000, 16], &mut m);
        assert_eq!(v[1].text.as_deref(), Some("0x99990000"));
        // A negative length (as the kernel's int): the address, as strace.
        let v = enter(X, "connect", &[3, 0x1000, u32::MAX as u64], &mut m);
        assert_eq!(v[1].text.as_deref(), Some("0x1000"));
        let v = enter(X, "connect", &[3, 0x1000, 1], &mut m);
        assert_eq!(v[1].text.as_deref(), Some("0x1000"));
        // accept: address written at exit, length from *addrlen.
        m.map(0x4000, &16u32.to_le_bytes());
        let d = by_name(X, "accept").unwrap();
        let raw = [3, 0x1000, 0x4000];
        let mut a = decode_enter(d, X, &raw, &mut m, &opts());
        assert_eq!(a[1].text, None);
        assert_eq!(a[2].text.as_deref(), Some("[16]"));
        decode_exit(d, X, &raw, 4, &mut m, &opts(), &mut a);
        assert!(a[1].text.as_deref().unwrap().contains("127.0.0.1"));
    }

    #[test]
    fn socket_args() {
        let mut m = SparseVirt::new();
        assert_eq!(
            line(X, "socket", &[2, 1 | 0o2000000, 6], 3, &mut m),
            "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 3"
        );
        assert_eq!(
            line(X, "socket", &[16, 3, 0], 3, &mut m),
            "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) = 3"
        );
        m.map(0x1000, b"ping");
        assert_eq!(
            line(X, "sendto", &[3, 0x1000, 4, 0x4040, 0, 0], 4, &mut m),
            "sendto(3, \"ping\", 4, MSG_DONTWAIT|MSG_NOSIGNAL, NULL, 0) = 4"
        );
    }

    #[test]
    fn iovecs_64_and_32() {
        let mut m = SparseVirt::new();
        m.map(0x5000, b"abcdef");
        let mut iov = Vec::new();
        for (b, l) in [(0x5000u64, 3u64), (0x5003, 3)] {
            iov.extend(b.to_le_bytes());
            iov.extend(l.to_le_bytes());
        }
        m.map(0x1000, &iov);
        assert_eq!(
            line(X, "writev", &[1, 0x1000, 2], 6, &mut m),
            "writev(1, [{iov_base=\"abc\", iov_len=3}, {iov_base=\"def\", iov_len=3}], 2) = 6"
        );
        let mut iov32 = Vec::new();
        for (b, l) in [(0x5000u32, 3u32), (0x5003, 3)] {
            iov32.extend(b.to_le_bytes());
            iov32.extend(l.to_le_bytes());
        }
        m.map(0x2000, &iov32);
        // readv: data shown only up to the bytes returned.
        assert_eq!(
            line(I, "readv", &[0, 0x2000, 2], 4, &mut m),
            "readv(0, [{iov_base=\"abc\", iov_len=3}, {iov_base=\"d\", iov_len=3}], 2) = 4"
        );
        // Absurd count over an array that ends at an unmapped page: the
        // elements read, then strace's `... /* address */` where the
        // array runs into the unmapped page.
        m.map(0x8000 - 32, &iov);
        let v = enter(X, "writev", &[1, 0x8000 - 32, u64::MAX], &mut m);
        assert_eq!(
            v[1].text.as_deref(),
            Some(
                "[{iov_base=\"abc\", iov_len=3}, {iov_base=\"def\", iov_len=3}, ... /* 0x8000 */]"
            )
        );
        // An unreadable first element: the array's address.
        let v = enter(X, "writev", &[1, 0x8000, 2], &mut m);
        assert_eq!(v[1].text.as_deref(), Some("0x8000"));
        let v = enter(X, "writev", &[1, 0x8000 - 32, 2], &mut m);
        assert!(v[1]
            .text
            .as_deref()
            .unwrap()
            .starts_with("[{iov_base=\"abc\""));
        // Element pointing nowhere: that element is an address.
        let mut bad = Vec::new();
        bad.extend(0xdead_0000u64.to_le_bytes());
        bad.extend(5u64.to_le_bytes());
        m.map(0x3000, &bad);
        let v = enter(X, "writev", &[1, 0x3000, 1], &mut m);
        assert_eq!(
            v[1].text.as_deref(),
            Some("[{iov_base=0xdead0000, iov_len=5}]")
        );
    }

    fn put_strings(m: &mut SparseVirt, base: u64, strs: &[&str], abi: LinuxAbi) -> u64 {
        // Strings at base + 0x100.., pointer array at base.
        let w = abi.word_size() as usize;
        let mut at = base + 0x100;
        let mut arr = Vec::new();
        for s in strs {
            let mut b = s.as_bytes().to_vec();
            b.push(0);
            m.map(at, &b);
            arr.extend(&at.to_le_bytes()[..w]);
            at += b.len() as u64;
        }
        arr.extend(&[0u8; 8][..w]);
        m.map(base, &arr);
        base
    }

    #[test]
    fn execve_argv_envp() {
        let mut m = SparseVirt::new();
        let argv = put_strings(&mut m, 0x10000, &["ls", "-l"], X);
        let envp = put_strings(&mut m, 0x20000, &["A=1", "B=2", "C=3"], X);
        let v = enter(X, "execve", &[0x30000, argv, envp], &mut m);
        assert_eq!(v[1].text.as_deref(), Some("[\"ls\", \"-l\"]"));
        assert_eq!(v[2].text.as_deref(), Some("0x20000 /* 3 vars */"));
        let d = by_name(X, "execve").unwrap();
        let verbose = DecodeOptions {
            verbose: true,
            ..Default::default()
        };
        let v = decode_enter(d, X, &[0, argv, envp], &mut m, &verbose);
        assert_eq!(v[2].text.as_deref(), Some("[\"A=1\", \"B=2\", \"C=3\"]"));
        // A memory that serves word reads only (a replay of a -v run,
        // which read the array word by word): still counted.
        struct Words<'a>(&'a mut SparseVirt);
        impl VirtMem for Words<'_> {
            fn read_virt(
                &mut self,
                addr: u64,
                buf: &mut [u8],
            ) -> Result<(), vstrace_core::MemError> {
                if buf.len() > 8 && (0x20000..0x21000).contains(&addr) {
                    return Err(vstrace_core::MemError::Unmapped(addr));
                }
                self.0.read_virt(addr, buf)
            }
            fn write_virt(&mut self, addr: u64, data: &[u8]) -> Result<(), vstrace_core::MemError> {
                self.0.write_virt(addr, data)
            }
        }
        let v = decode_enter(
            d,
            X,
            &[0, argv, envp],
            &mut Words(&mut m),
            &DecodeOptions::default(),
        );
        assert_eq!(v[2].text.as_deref(), Some("0x20000 /* 3 vars */"));
        // 32-bit pointer arrays.
        let argv32 = put_strings(&mut m, 0x40000, &["sh", "-c", "true"], I);
        let v = enter(I, "execve", &[0, argv32, 0], &mut m);
        assert_eq!(v[1].text.as_deref(), Some("[\"sh\", \"-c\", \"true\"]"));
        assert_eq!(v[2].text.as_deref(), Some("NULL"));
        // Unterminated pointer array ending at an unmapped page.
        let p = 0x50000 - 8;
        m.map(0x50000 - 0x100, b"x\0");
        m.map(p, &(0x50000u64 - 0x100).to_le_bytes());
        let v = enter(X, "execve", &[0, p, p], &mut m);
        assert_eq!(v[1].text.as_deref(), Some("[\"x\", ... /* 0x50000 */]"));
        assert_eq!(
            v[2].text.as_deref(),
            Some("0x4fff8 /* 1 var, unterminated */")
        );
        // An array that never ends (every slot non-NULL): bounded.
        let loop_page: Vec<u8> = std::iter::repeat_n(0x60000u64.to_le_bytes(), 512)
            .flatten()
            .collect();
        m.map(0x60000, &loop_page);
        m.map(0x61000, &loop_page);
        m.map(0x62000, &loop_page);
        let v = enter(X, "execve", &[0, 0x60000, 0x60000], &mut m);
        assert!(v[1].text.as_deref().unwrap().ends_with(", ...]"));
        assert!(v[2]
            .text
            .as_deref()
            .unwrap()
            .ends_with(" vars, unterminated */"));
        // Unmapped argv.
        let v = enter(X, "execve", &[0, 0x7777_0000, 0], &mut m);
        assert_eq!(v[1].text.as_deref(), Some("0x77770000"));
    }

    #[test]
    fn clone_and_signals() {
        let mut m = SparseVirt::new();
        let v = enter(X, "clone", &[0x01200011, 0, 0, 0x7f00, 0], &mut m);
        assert_eq!(
            v[0].text.as_deref(),
            Some("CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD")
        );
        assert_eq!(
            line(X, "kill", &[42, 15], 0, &mut m),
            "kill(42, SIGTERM) = 0"
        );
        // rt_sigaction with a 64-bit struct.
        let mut sa = Vec::new();
        sa.extend(1u64.to_le_bytes()); // SIG_IGN
        sa.extend(0x1400_0000u64.to_le_bytes()); // SA_RESTORER|SA_RESTART
        sa.extend(0x7f00_1234u64.to_le_bytes());
        sa.extend((1u64 << 16).to_le_bytes()); // CHLD
        m.map(0x1000, &sa);
        let d = by_name(X, "rt_sigaction").unwrap();
        let raw = [17, 0x1000, 0x2000, 8];
        let mut a = decode_enter(d, X, &raw, &mut m, &opts());
        assert_eq!(
            a[1].text.as_deref(),
            Some("{sa_handler=SIG_IGN, sa_mask=[CHLD], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7f001234}")
        );
        assert_eq!(a[2].text, None);
        // oact unmapped at exit: address, no panic.
        decode_exit(d, X, &raw, 0, &mut m, &opts(), &mut a);
        assert_eq!(a[2].text.as_deref(), Some("0x2000"));
        // i386 rt_sigaction: 32-bit fields, 64-bit mask.
        let mut sa32 = Vec::new();
        sa32.extend(0x0804_8000u32.to_le_bytes());
        sa32.extend(4u32.to_le_bytes());
        sa32.extend(0u32.to_le_bytes());
        sa32.extend((1u64 << 1).to_le_bytes());
        m.map(0x3000, &sa32);
        let v = enter(I, "rt_sigaction", &[2, 0x3000, 0, 8], &mut m);
        assert_eq!(
            v[1].text.as_deref(),
            Some("{sa_handler=0x8048000, sa_mask=[INT], sa_flags=SA_SIGINFO}")
        );
        m.map(0x4000, &(1u64 << 9 | 1 << 1).to_le_bytes());
        let v = enter(X, "rt_sigprocmask", &[0, 0x4000, 0, 8], &mut m);
        assert_eq!(v[0].text.as_deref(), Some("SIG_BLOCK"));
        assert_eq!(v[1].text.as_deref(), Some("[INT USR1]"));
    }

    #[test]
    fn pipe_wait_stat_exit() {
        let mut m = SparseVirt::new();
        m.map_zeroed(0x1000, 8);
        let d = by_name(X, "pipe2").unwrap();
        let raw = [0x1000, 0o2000000];
        let mut a = decode_enter(d, X, &raw, &mut m, &opts());
        assert_eq!(a[0].text, None);
        m.map(0x1000, &[3, 0, 0, 0, 4, 0, 0, 0]);
        decode_exit(d, X, &raw, 0, &mut m, &opts(), &mut a);
        assert_eq!(a[0].text.as_deref(), Some("[3, 4]"));

        m.map(0x2000, &(9i32 << 8).to_le_bytes());
        assert_eq!(
            line(X, "wait4", &[u64::MAX, 0x2000, 0, 0], 77, &mut m),
            "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 9}], 0, NULL) = 77"
        );
        m.map(0x2000, &9i32.to_le_bytes());
        assert!(line(X, "wait4", &[u64::MAX, 0x2000, 1, 0], 77, &mut m)
            .contains("WTERMSIG(s) == SIGKILL"));

        let mut st = vec![0u8; 144];
        st[24..28].copy_from_slice(&0o100644u32.to_le_bytes());
        st[48..56].copy_from_slice(&1234u64.to_le_bytes());
        m.map(0x3000, &st);
        m.map(0x4000, b"/etc/passwd\0");
        assert_eq!(
            line(X, "newfstatat", &[(-100i64) as u64, 0x4000, 0x3000, 0x100], 0, &mut m),
            "newfstatat(AT_FDCWD, \"/etc/passwd\", {st_mode=S_IFREG|0644, st_size=1234, ...}, AT_SYMLINK_NOFOLLOW) = 0"
        );
        assert_eq!(
            line(X, "stat", &[0x4000, 0x3000], -2, &mut m),
            "stat(\"/etc/passwd\", 0x3000) = -1 ENOENT (No such file or directory)"
        );
        // stat buffer straddling into an unmapped page.
        assert_eq!(
            line(X, "fstat", &[3, 0x4fc0], 0, &mut m),
            "fstat(3, 0x4fc0) = 0"
        );
        let d = by_name(X, "exit_group").unwrap();
        assert_eq!(format_return(d, X, 0).text, "?");
    }

    #[test]
    fn misc_types() {
        let mut m = SparseVirt::new();
        assert_eq!(
            line(X, "lseek", &[3, (-5i64) as u64, 2], 10, &mut m),
            "lseek(3, -5, SEEK_END) = 10"
        );
        assert_eq!(
            line(X, "access", &[0, 6], -2, &mut m),
            "access(NULL, R_OK|W_OK) = -1 ENOENT (No such file or directory)"
        );
        assert_eq!(
            line(X, "fcntl", &[3, 1030, 0], 4, &mut m),
            "fcntl(3, F_DUPFD_CLOEXEC, 0) = 4"
        );
        assert_eq!(
            line(X, "ioctl", &[1, 0x5413, 0x7ffc], 0, &mut m),
            "ioctl(1, TIOCGWINSZ, 0x7ffc) = 0"
        );
        assert_eq!(
            line(X, "ioctl", &[1, 0xc0de, 0], -25, &mut m),
            "ioctl(1, _IOC(_IOC_NONE, 0xc0, 0xde, 0), 0) = -1 ENOTTY (Inappropriate ioctl for device)"
        );
        assert_eq!(line(X, "umask", &[0o22], 0o77, &mut m), "umask(022) = 077");
        assert_eq!(
            line(X, "setuid", &[u32::MAX as u64], -1, &mut m),
            "setuid(-1) = -1 EPERM (Operation not permitted)"
        );
        assert_eq!(
            line(X, "clock_gettime", &[1, 0x1000], 0, &mut m),
            "clock_gettime(CLOCK_MONOTONIC, 0x1000) = 0"
        );
        let d = by_name(X, "read").unwrap();
        let r = format_return(d, X, -512);
        assert_eq!(
            r.text,
            "? ERESTARTSYS (To be restarted if SA_RESTART is set)"
        );
        assert_eq!(format_return(d, X, -4000).text, "-1 (errno 4000)");
        assert_eq!(format_return(d, X, -4096).text, "-4096");
        // A call that never fails: -2 is a number, not ENOENT.
        let euid = by_name(X, "geteuid").unwrap();
        let r = format_return(euid, X, -2);
        assert_eq!((r.text.as_str(), r.errno), ("18446744073709551614", None));
        assert_eq!(error_of(X, -2), Some(2));
        assert_eq!(error_of(I, 0xffff_fffe), Some(2));
        assert_eq!(error_of(X, 0xffff_fffe), None);
        m.map(0x1000, b"/root\0");
        assert_eq!(
            line(X, "getcwd", &[0x1000, 4096], 6, &mut m),
            "getcwd(\"/root\", 4096) = 6"
        );
    }

    #[test]
    fn every_syscall_decodes_garbage_without_panicking() {
        // Fill a few pages with pointer-like junk and decode every call of
        // both ABIs with hostile registers, at enter and exit.
        let mut m = SparseVirt::new();
        let junk: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        m.map(0x1000, &junk);
        let patterns: [[u64; 6]; 4] = [
            [0x1000, 0x1ff0, u64::MAX, 0x1008, 7, 0xffff_ffff],
            [u64::MAX; 6],
            [0; 6],
            [0x1ffc, 0x1000, 1 << 40, 0x1ff8, 0x1000, 0x1001],
        ];
        for abi in [X, I] {
            for d in crate::proto::all(abi) {
                for raw in &patterns {
                    for ret in [-14i64, 0, 5, 1 << 33, -1] {
                        let mut a = decode_enter(d, abi, raw, &mut m, &opts());
                        decode_exit(d, abi, raw, ret, &mut m, &opts(), &mut a);
                        assert!(a.iter().all(|x| x.text.is_some()), "{}", d.name);
                        let _ = format_call(d, &a, Some(&format_return(d, abi, ret)));
                    }
                }
            }
        }
    }
}
