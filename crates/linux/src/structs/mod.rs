//! Structures a call points to, decoded strace-style: time values,
//! resource limits and usage, poll/select sets, stat buffers, signal
//! stacks and events... one file per family.
//!
//! A prototype names a structure with one [`StructKind`] (the
//! `ArgType::Struct` of `data/prototypes.txt`); [`decode`] renders it from
//! guest memory with the call's ABI layout (x86-64, or i386 for 32-bit
//! callers: `long` and pointers of 4 bytes, `__kernel_timespec` of 16
//! bytes for the `*_time64` calls). Input structures are read at the
//! entry; output ones at the exit and only when the call succeeded (a
//! failed call shows the address, as strace does: the kernel wrote
//! nothing). [`return_detail`] gives what strace appends to a return
//! value (`Timeout`, `in [3], left {...}`, a time's date).
//!
//! Guest memory is hostile: every structure is read whole with a bounded
//! size (an unreadable one prints as its address), arrays are capped, and
//! nothing here panics.

mod aio;
mod bpf;
mod bpf_attr;
mod bpf_cmds;
mod bpf_query;
mod caps;
mod extensible;
mod fcntl;
mod file_handle;
mod futex;
mod io_uring;
mod io_uring_register;
pub(crate) mod ioctl;
mod ioctl_block;
mod ioctl_btrfs;
mod ioctl_btrfs_tree;
mod ioctl_dm;
mod ioctl_evdev;
mod ioctl_gpio;
mod ioctl_hdio;
mod ioctl_kd;
mod ioctl_lirc;
mod ioctl_loop;
mod ioctl_mtd;
mod ioctl_perf;
mod ioctl_ptp;
mod ioctl_rtc;
mod ioctl_scsi;
mod ioctl_seccomp;
mod ioctl_sg_io;
mod ioctl_sock;
mod ioctl_tee;
mod ioctl_term;
mod ioctl_ubi;
mod ioctl_uffdio;
mod ioctl_v4l2;
mod ioctl_v4l2_fmt;
mod ipc;
mod ipc_ctl;
mod kexec;
mod kind;
mod ldt;
mod net;
pub mod netlink;
mod netlink_crypto;
mod netlink_diag;
mod netlink_fields;
mod netlink_link;
mod netlink_route;
mod netlink_rtattrs;
mod netlink_stats;
mod nlattr;
mod numa;
mod perf_attr;
mod poll;
pub(crate) mod ptrace;
pub(crate) mod ptrace_regs;
mod quota;
mod resource;
mod scalars;
pub(crate) mod siginfo;
mod signal;
mod sockaddr;
mod sockaddr_fam;
mod sockopt;
mod stat;
mod time;

pub(crate) use bpf::seccomp_fprog;
pub use fcntl::fcntl_struct;
pub use kind::StructKind;
pub(crate) use quota::Shape as QuotaShape;
pub use resource::clock_t;
pub(crate) use scalars::kcmp_epoll_slot;
pub(crate) use sockaddr::scope_id;
use vstrace_core::value::Base;
use vstrace_core::{read, DecodeOptions, StructBuilder, Value, VirtMem};

use crate::fmt;
use crate::proto::{LinuxAbi, SyscallDesc};

/// Largest structure read in one piece (statx is 256 bytes; sets of 1024
/// descriptors are 128 bytes; cpu sets are capped at this size too).
const MAX_STRUCT: usize = 4096;

/// One call as a structure decoder sees it.
pub(crate) struct Call<'a, 'm> {
    /// The caller's ABI: which layouts apply.
    pub abi: LinuxAbi,
    /// The call's name (a few structures depend on it).
    pub name: &'a str,
    /// Raw arguments, truncated to the ABI's width.
    pub raw: [u64; 6],
    /// The caller's memory.
    pub mem: &'m mut dyn VirtMem,
    /// How much to show (`-v`, `-s`).
    pub opts: &'a DecodeOptions,
    /// The return value at the exit (sign-extended), `None` at the entry.
    pub ret: Option<i64>,
    /// At the exit, what each argument showed at the entry (empty at
    /// the entry).
    pub entries: &'a [Option<String>],
    /// The index of the argument being decoded.
    pub index: usize,
}

impl Call<'_, '_> {
    /// What argument `n` showed at the entry, at the exit.
    fn entry_of(&self, n: usize) -> Option<&str> {
        self.entries.get(n)?.as_deref()
    }

    /// What this argument showed at the entry, at the exit.
    fn entry(&self) -> Option<&str> {
        self.entry_of(self.index)
    }

    fn arg(&self, n: u8) -> u64 {
        self.raw.get(n as usize).copied().unwrap_or(0)
    }

    /// Whether the call returned an error.
    fn failed(&self) -> bool {
        self.ret.is_some_and(|r| (-4095..=-1).contains(&r))
    }

    /// Whether the call was interrupted by a signal (EINTR or a restart
    /// code): the calls that report a remaining time write it then.
    fn interrupted(&self) -> bool {
        self.ret
            .is_some_and(|r| r == -4 || (-516..=-512).contains(&r))
    }

    /// `len` bytes at `va`: `Err` with strace's text for what cannot be
    /// shown (`NULL`, or the address).
    fn fetch(&mut self, va: u64, len: usize) -> Result<Vec<u8>, String> {
        if va == 0 {
            return Err("NULL".into());
        }
        // fd_sets of strace's largest descriptor count are the biggest.
        if len > MAX_STRUCT.max(128 * 1024) {
            return Err(fmt::ptr(va));
        }
        read::read_struct(self.mem, va, len).map_err(|_| fmt::ptr(va))
    }

    /// [`Call::fetch`] with the typed value of what cannot be shown
    /// (`NULL`, or the address).
    fn fetch_v(&mut self, va: u64, len: usize) -> Result<Vec<u8>, Value> {
        if va == 0 {
            return Err(Value::Null);
        }
        self.fetch(va, len).map_err(|_| Value::ptr(va))
    }

    /// `len` bytes at `va` as a quoted string, at most `-s` of them
    /// (`...` after a cut); `NULL`, or the address when unreadable.
    fn quoted(&mut self, va: u64, len: u64) -> String {
        let max = len.min(self.opts.strsize as u64) as usize;
        match self.fetch(va, max) {
            Ok(d) => fmt::quote_x(&d, len > max as u64, self.opts.strings_in_hex),
            Err(s) => s,
        }
    }

    /// A string of up to `len` bytes at `va` ending at its NUL (strace's
    /// `printstr_ex(..., QUOTE_0_TERMINATED)`): at most `-s` bytes, `...`
    /// when no NUL ends it within them; `NULL`, or the address when the
    /// bytes before the NUL cannot be read.
    fn str0_v(&mut self, va: u64, len: u64) -> Value {
        if va == 0 {
            return Value::Null;
        }
        if len == 0 {
            return Value::str(Vec::new(), false, self.opts.strings_in_hex);
        }
        let max = len.min(self.opts.strsize as u64) as usize;
        match read::read_cstring(self.mem, va, max) {
            Ok(s) if s.fault.is_none() => {
                Value::str(s.bytes, s.truncated, self.opts.strings_in_hex)
            }
            _ => Value::ptr(va),
        }
    }

    /// The width of `long` for this call.
    fn long_size(&self) -> usize {
        self.abi.word_size() as usize
    }
}

/// Most elements of an array printed with `-v` (strace prints them all;
/// a hostile count must not make the trace unbounded): the kernel's
/// largest bounded array strace prints whole, a classic BPF program of
/// `BPF_MAXINSNS` instructions (a seccomp filter).
const MAX_ARRAY_VERBOSE: u64 = 4096;

impl Call<'_, '_> {
    /// strace's `print_array`: `count` elements of `size` bytes at `va`,
    /// each rendered by `one`; at most `-s` of them unless `-v` (then
    /// `...`); an unreadable first element shows the address, a later
    /// one `... /* address */`.
    fn array(
        &mut self,
        va: u64,
        count: u64,
        size: usize,
        mut one: impl FnMut(&mut Self, &[u8]) -> String,
    ) -> String {
        self.array_v(va, count, size, |c, b| Value::Opaque(one(c, b)))
            .render()
    }

    /// [`Call::array`], typed.
    fn array_v(
        &mut self,
        va: u64,
        count: u64,
        size: usize,
        one: impl FnMut(&mut Self, &[u8]) -> Value,
    ) -> Value {
        self.array_max_v(va, count, size, u64::MAX, one)
    }

    /// [`Call::array`] of which at most `max` elements are ever printed,
    /// even with `-v` (strace's printers of some arrays stop by
    /// themselves: an mmsghdr vector after `IOV_MAX`).
    fn array_max(
        &mut self,
        va: u64,
        count: u64,
        size: usize,
        max: u64,
        mut one: impl FnMut(&mut Self, &[u8]) -> String,
    ) -> String {
        self.array_max_v(va, count, size, max, |c, b| Value::Opaque(one(c, b)))
            .render()
    }

    /// [`Call::array_max`], typed.
    fn array_max_v(
        &mut self,
        va: u64,
        count: u64,
        size: usize,
        max: u64,
        mut one: impl FnMut(&mut Self, &[u8]) -> Value,
    ) -> Value {
        if va == 0 {
            return Value::Null;
        }
        let limit = if self.opts.verbose {
            MAX_ARRAY_VERBOSE
        } else {
            self.opts.strsize as u64
        }
        .min(max);
        // An array that wraps around the address space is not read.
        match count.checked_mul(size as u64) {
            Some(total) if va.checked_add(total).is_some() => {}
            _ => return Value::ptr(va),
        }
        let mut items = Vec::new();
        let mut more = false;
        for k in 0..count.min(limit.saturating_add(1)) {
            let at = va.wrapping_add(k.wrapping_mul(size as u64));
            // strace reads an element before it checks the `-s` limit: an
            // unreadable element past the limit still ends the array with
            // its address.
            match read::read_struct(self.mem, at, size) {
                Ok(_) if k >= limit => {
                    more = true;
                    break;
                }
                Ok(b) => items.push(one(self, &b)),
                Err(_) if k == 0 => return Value::ptr(va),
                Err(_) => {
                    items.push(Value::Opaque(format!("... /* {} */", fmt::ptr(at))));
                    break;
                }
            }
        }
        Value::Array { items, more }
    }
}

/// strace's `...` after the last element printed of an array cut at a
/// kernel limit (only after a complete array: an unreadable element
/// already ended it with `... /* address */`).
fn more_follows(s: String, cut: bool) -> String {
    match s.strip_suffix(']') {
        Some(body) if cut && !body.ends_with("*/") => format!("{body}, ...]"),
        _ => s,
    }
}

/// A reserved array field, shown only when some word is set, as `[0,
/// 0x..]` (strace's `IS_ARRAY_ZERO` then `print_xint_array_member`).
pub(crate) fn reserved(
    s: &mut StructBuilder,
    name: &'static str,
    words: impl Iterator<Item = u64>,
) {
    let items: Vec<Value> = words.map(|x| Value::int(x, Base::Hex)).collect();
    if items
        .iter()
        .any(|v| !matches!(v, Value::Int { value: 0, .. }))
    {
        s.field(name, Value::Array { items, more: false });
    }
}

/// Little-endian fields of a structure read from the guest; offsets out
/// of range read as 0 (the decoders read whole structures, so this only
/// guards against a layout mistake, never a panic).
pub(crate) struct Fields<'b> {
    b: &'b [u8],
    /// Width of `long` in the layout.
    long: usize,
}

impl<'b> Fields<'b> {
    pub(crate) fn new(b: &'b [u8], long: usize) -> Fields<'b> {
        Fields { b, long }
    }

    fn bytes(&self, off: usize, n: usize) -> u64 {
        let mut x = [0u8; 8];
        if let Some(s) = self.b.get(off..off.saturating_add(n)) {
            x[..n.min(8)].copy_from_slice(&s[..n.min(8)]);
        }
        u64::from_le_bytes(x)
    }

    pub(crate) fn u16(&self, off: usize) -> u64 {
        self.bytes(off, 2)
    }
    pub(crate) fn u32(&self, off: usize) -> u64 {
        self.bytes(off, 4)
    }
    fn i32(&self, off: usize) -> i64 {
        self.bytes(off, 4) as u32 as i32 as i64
    }
    fn u64(&self, off: usize) -> u64 {
        self.bytes(off, 8)
    }
    fn i64(&self, off: usize) -> i64 {
        self.bytes(off, 8) as i64
    }
    /// An unsigned `long` of the layout.
    pub(crate) fn ulong(&self, off: usize) -> u64 {
        self.bytes(off, self.long)
    }
    /// A signed `long` of the layout.
    fn long(&self, off: usize) -> i64 {
        match self.long {
            4 => self.i32(off),
            _ => self.i64(off),
        }
    }
    /// A NUL-terminated string in a fixed array, quoted (strace's
    /// `PRINT_FIELD_CSTRING`).
    /// (Text form kept for text-only decoders.)
    #[allow(dead_code)]
    fn cstring(&self, off: usize, n: usize) -> String {
        self.cstring_v(off, n).render()
    }

    /// [`Fields::cstring`], typed.
    fn cstring_v(&self, off: usize, n: usize) -> Value {
        let s = self.b.get(off..off.saturating_add(n)).unwrap_or(&[]);
        let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
        Value::str(s[..end].to_vec(), false, 0)
    }
}

/// The typed value of structure argument `i` (raw value `v`) of `c`:
/// the typed decoders, and the text of the others as
/// [`Value::Opaque`].
pub(crate) fn value(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> Value {
    if let Some(t) = time::value(c, kind, v) {
        return t;
    }
    if let Some(r) = resource::value(c, kind, v) {
        return r;
    }
    if let Some(r) = ipc_ctl::value(c, kind, v) {
        return r;
    }
    if let Some(n) = typed_value(c, kind, v) {
        return n;
    }
    if let Some(p) = poll::value(c, kind, v) {
        return p;
    }
    if let Some(a) = sockaddr::value(c, kind, v) {
        return a;
    }
    match kind {
        StructKind::OldDirent => return stat::old_dirent(c, v),
        StructKind::UserDesc => return ldt::user_desc(c, v),
        StructKind::UserDescGet => return ldt::user_desc_get(c, v),
        StructKind::UringParams => return io_uring::params(c, v),
        _ => {}
    }
    Value::Opaque(decode(c, kind, v))
}

/// Decodes structure argument `i` (raw value `v`) of `c`.
pub(crate) fn decode(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> String {
    use StructKind as K;
    // Output structures are read at the exit only; the engine shows their
    // address until then and when the call failed.
    match kind {
        K::Timespec
        | K::Timespec64
        | K::TimespecRem
        | K::Timespec64Rem
        | K::TimespecPair
        | K::Timespec64Pair
        | K::Timeval
        | K::TimevalPair
        | K::Timezone
        | K::Itimerval
        | K::Itimerspec
        | K::Itimerspec64
        | K::Utimbuf
        | K::TimeOut
        | K::Timex
        | K::Timex64 => time::decode(c, kind, v),
        K::WordPtr | K::UlongPtr => word(c, kind, v),
        K::Tms
        | K::Rlimit
        | K::Rlimit64
        | K::Rusage
        | K::Sysinfo
        | K::SysctlArgs
        | K::Utsname
        | K::OldUtsname
        | K::OldoldUtsname
        | K::SchedParam
        | K::SchedAttr(_)
        | K::CpuSet(_) => resource::decode(c, kind, v),
        K::Pollfds(_) | K::FdSet(_) | K::EpollEvent | K::EpollEvents | K::PselectSigmask => {
            poll::decode(c, kind, v)
        }
        K::Stat | K::Stat64 | K::OldStat | K::Statx | K::Statfs | K::Statfs64(_) => {
            stat::decode(c, kind, v)
        }
        K::OldDirent => stat::old_dirent(c, v).render(),
        K::Sockaddr(_) | K::SockaddrOut(_) | K::Socklen => sockaddr::decode(c, kind, v),
        K::Msghdr
        | K::MsghdrRecv
        | K::Mmsghdrs
        | K::MmsghdrsRecv
        | K::SockoptIn(_)
        | K::SockoptOut(_) => net::decode(c, kind, v),
        K::Sembufs(_) | K::IoEvent | K::IoEvents | K::MqAttr | K::MqAttrFlags => {
            ipc::decode(c, kind, v)
        }
        K::CapHeader | K::CapData => caps::decode(c, kind, v),
        K::IocbPtrs(_) | K::IocbHeader => aio::decode(c, kind, v),
        K::StackT | K::Siginfo | K::SiginfoOut | K::Sigevent => signal::decode(c, kind, v),
        K::SeccompArgs => bpf::seccomp_args(c, v),
        K::FutexWaitv(n) => {
            let count = c.arg(n) & 0xffff_ffff;
            futex::waiters(c, v, count)
        }
        K::MsqidBuf
        | K::ShmidBuf
        | K::SemidBuf
        | K::SemidBufIndirect
        | K::Msgbuf(_)
        | K::MsgbufOut(_) => ipc_ctl::value(c, kind, v).map_or_else(|| fmt::ptr(v), |x| x.render()),
        K::MpolMode
        | K::MpolModeInt
        | K::MpolModeOut
        | K::Nodemask(_)
        | K::PageAddrs(_)
        | K::IntArray(_)
        | K::PageStatus(_)
        | K::MincoreVec(_)
        | K::OpenHow(_)
        | K::MountAttr(_)
        | K::FileHandle
        | K::BpfAttr(_)
        | K::PerfEventAttr
        | K::UringRegisterArg(_)
        | K::LdtDesc(_)
        | K::KexecSegments(_)
        | K::CloneArgs(_)
        | K::Persona
        | K::MemfdFlags
        | K::StatxFlags
        | K::LandlockRuleset(_)
        | K::LandlockRule(_)
        | K::QuotaCmd
        | K::QuotaId(_)
        | K::QuotaData(_) => typed_value(c, kind, v).map_or_else(|| fmt::ptr(v), |x| x.render()),
        K::UserDesc => ldt::user_desc(c, v).render(),
        K::UserDescGet => ldt::user_desc_get(c, v).render(),
        K::UringParams => io_uring::params(c, v).render(),
    }
}

/// A descriptor field of a structure (an `int`: its low 32 bits, signed).
pub(super) fn fd(v: u64) -> Value {
    Value::Fd {
        fd: i64::from(v as u32 as i32),
        path: None,
    }
}

/// A seccomp filter program of `count` instructions at `v` (strace's
/// `print_seccomp_fprog`: the address without `-v`).
pub(crate) fn seccomp_filter(c: &mut Call<'_, '_>, v: u64, count: u64) -> String {
    bpf::seccomp_filter(c, v, count)
}

/// The typed values of the NUMA kinds ([`numa`]) and the extensible
/// structures ([`extensible`]).
fn typed_value(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> Option<Value> {
    use StructKind as K;
    Some(match kind {
        K::MpolMode => numa::mode(c, v),
        K::MpolModeInt => numa::mode(c, v & 0xffff_ffff),
        K::Persona => scalars::persona(c.abi, v, true),
        K::MemfdFlags => scalars::memfd_flags(c.abi, v),
        K::StatxFlags => scalars::statx_flags(c.abi, v),
        K::MpolModeOut => numa::mode_out(c, v),
        K::Nodemask(n) => {
            let maxnode = c.arg(n);
            numa::nodemask(c, v, maxnode)
        }
        K::PageAddrs(n) => {
            let count = c.arg(n);
            numa::pages(c, v, count)
        }
        K::IntArray(n) => {
            let count = c.arg(n);
            numa::ints(c, v, count)
        }
        K::PageStatus(n) => {
            let count = c.arg(n);
            numa::status(c, v, count)
        }
        K::MincoreVec(n) => {
            let len = c.arg(n);
            numa::mincore_vec(c, v, len)
        }
        K::OpenHow(n) => {
            let size = c.arg(n);
            extensible::open_how(c, v, size)
        }
        K::FileHandle => file_handle::file_handle(c, v),
        K::PerfEventAttr if c.ret.is_some() => perf_attr::attr_exit(c, v),
        K::PerfEventAttr => perf_attr::attr(c, v),
        K::MountAttr(n) => {
            let size = c.arg(n);
            extensible::mount_attr(c, v, size)
        }
        K::BpfAttr(n) => {
            let (cmd, size) = (c.arg(0), c.arg(n));
            bpf_attr::attr(c, v, cmd, size)
        }
        K::KexecSegments(n) => {
            let count = c.arg(n);
            kexec::segments(c, v, count)
        }
        K::LdtDesc(n) => {
            if c.arg(n) == ldt::USER_DESC as u64 {
                ldt::user_desc(c, v)
            } else {
                Value::ptr(v)
            }
        }
        K::UringRegisterArg(n) => {
            let (opcode, nr) = (c.arg(1), c.arg(n));
            io_uring_register::arg(c, v, opcode, nr)
        }
        K::LandlockRuleset(n) => {
            let size = c.arg(n);
            extensible::ruleset_attr(c, v, size)
        }
        K::LandlockRule(n) => {
            let ty = c.arg(n);
            extensible::rule_attr(c, v, ty)
        }
        K::CloneArgs(n) => {
            let size = c.arg(n);
            extensible::clone_args(c, v, size)
        }
        K::QuotaCmd => quota::qcmd(c.abi, v),
        K::QuotaId(n) => quota::id(c, n, v),
        K::QuotaData(n) => quota::data(c, n, v),
        _ => return None,
    })
}

/// How quotactl's command word `qcmd` shapes the id and the address
/// after it.
pub(crate) fn quota_shape(abi: LinuxAbi, qcmd: u64) -> quota::Shape {
    quota::shape(abi, qcmd)
}

/// A word the kernel writes through a pointer: `[0x...]` or `[N]`.
fn word(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> String {
    let n = c.long_size();
    match c.fetch(v, n) {
        Ok(b) => {
            let w = Fields::new(&b, n).ulong(0);
            match kind {
                StructKind::WordPtr => format!("[{}]", fmt::ptr(w)),
                _ => format!("[{w}]"),
            }
        }
        Err(s) => s,
    }
}

/// The calls [`return_detail`] may have a detail for: any other gets
/// None, whatever its arguments and result (the layer's
/// [`vstrace_core::CallHints::RETURN_DETAIL`]; a test holds the two
/// together).
pub const RETURN_DETAIL_CALLS: &[&str] = &[
    "_newselect",
    "adjtimex",
    "arch_prctl",
    "clock_adjtime",
    "clock_adjtime64",
    "fcntl",
    "fcntl64",
    "ioctl",
    "ioprio_get",
    "membarrier",
    "personality",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pselect6",
    "pselect6_time64",
    "recvmmsg",
    "recvmmsg_time64",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "sched_getscheduler",
    "select",
    "set_thread_area",
    "sgetmask",
    "signal",
    "ssetmask",
    "time",
];

/// The calls whose result [`return_in_hex`] may print in hex (the
/// layer's [`vstrace_core::CallHints::RETURN_IN_HEX`]).
pub const RETURN_IN_HEX_CALLS: &[&str] = &[
    "prctl",
    "arch_prctl",
    "fcntl",
    "fcntl64",
    "membarrier",
    "personality",
];

/// What strace appends in parentheses to the return value of a call that
/// returned `ret` (sign-extended), read from memory at the exit: `None`
/// for most calls.
pub fn return_detail(
    desc: &SyscallDesc,
    abi: LinuxAbi,
    raw: &[u64],
    ret: i64,
    mem: &mut dyn VirtMem,
    opts: &DecodeOptions,
) -> Option<String> {
    let mut r = [0u64; 6];
    for (d, s) in r.iter_mut().zip(raw) {
        *d = match abi {
            LinuxAbi::X86_64 => *s,
            LinuxAbi::I386 => *s & 0xffff_ffff,
        };
    }
    let ret = match abi {
        LinuxAbi::X86_64 => ret,
        LinuxAbi::I386 => ret as u32 as i32 as i64,
    };
    let mut c = Call {
        abi,
        name: desc.name,
        raw: r,
        mem,
        opts,
        ret: Some(ret),
        entries: &[],
        index: 0,
    };
    if c.failed() {
        return None;
    }
    // strace -e verbose=: outside the set, poll's revents and recvmmsg's
    // time left are not read.
    let read = matches!(
        desc.name,
        "poll" | "ppoll" | "ppoll_time64" | "recvmmsg" | "recvmmsg_time64"
    );
    if read && !opts.structs {
        return None;
    }
    match desc.name {
        "time" => time::date(ret, 0, 0),
        // The handler replaced, by its name when it has one.
        "signal" => {
            let word = match abi {
                LinuxAbi::X86_64 => ret as u64,
                LinuxAbi::I386 => ret as u64 & 0xffff_ffff,
            };
            fmt::sa_handler_name(abi, word).map(str::to_string)
        }
        // The mask before (ssetmask) or now (sgetmask), 4 bytes.
        "ssetmask" => Some(format!(
            "old mask {}",
            fmt::sigset_sized_v(ret as u32 as u64, 4).render()
        )),
        "sgetmask" => Some(format!(
            "mask {}",
            fmt::sigset_sized_v(ret as u32 as u64, 4).render()
        )),
        "poll" | "ppoll" | "ppoll_time64" => poll::poll_detail(&mut c, ret),
        "select" | "_newselect" | "pselect6" | "pselect6_time64" => {
            poll::select_detail(&mut c, ret)
        }
        "recvmmsg" | "recvmmsg_time64" => poll::left_detail(&mut c, 4),
        "fcntl" | "fcntl64" => crate::decode::fcntl_return(abi, c.arg(1), ret).1,
        "prctl" => crate::decode::prctl_return(abi, c.arg(0) & 0xffff_ffff, c.arg(1), ret).1,
        "arch_prctl" => crate::decode::arch_prctl_return(abi, c.arg(0), ret).1,
        // The signal taken.
        "rt_sigtimedwait" | "rt_sigtimedwait_time64" if ret > 0 => {
            crate::consts::signal_name(ret as u64)
        }
        // MEMBARRIER_CMD_QUERY: the commands supported.
        "membarrier" if c.arg(0) & 0xffff_ffff == 0 && ret > 0 => Some(
            fmt::xflags_v(
                abi,
                &[crate::xlat::Table::MembarrierCmds],
                ret as u64,
                false,
                false,
            )
            .render(),
        ),
        "ioprio_get" if crate::xlat::style() != vstrace_core::ConstStyle::Raw => {
            Some(crate::decode::ioprio(abi, ret as u64, false))
        }
        "adjtimex" => time::timex_state(&mut c, 0, ret),
        "sched_getscheduler" => resource::policy_name(ret),
        "personality" => scalars::return_detail(abi, ret),
        // The GDT entry the kernel chose (written back into user_desc).
        "set_thread_area" if opts.structs => {
            let at = c.arg(0);
            vstrace_core::read::read_u32(c.mem, at)
                .ok()
                .map(|n| format!("entry_number={n}"))
        }
        "clock_adjtime" | "clock_adjtime64" => time::timex_state(&mut c, 1, ret),
        "ioctl" => ioctl_perf::return_detail(&c, ret).or_else(|| ioctl_v4l2::return_detail(&mut c)),
        _ => None,
    }
}

/// Whether strace prints the successful return `ret` of this call in hex
/// (its `RVAL_HEX`: prctl's flag words, `0xff (SECBIT_...)`).
pub fn return_in_hex(desc: &SyscallDesc, abi: LinuxAbi, raw: &[u64], ret: i64) -> bool {
    let ret = match abi {
        LinuxAbi::X86_64 => ret,
        LinuxAbi::I386 => ret as u32 as i32 as i64,
    };
    if ret < 0 {
        return false;
    }
    match desc.name {
        "prctl" => {
            let option = raw.first().copied().unwrap_or(0) & 0xffff_ffff;
            let arg2 = raw.get(1).copied().unwrap_or(0);
            crate::decode::prctl_return(abi, option, arg2, ret).0
        }
        "arch_prctl" => {
            let code = raw.first().copied().unwrap_or(0);
            crate::decode::arch_prctl_return(abi, code, ret).0
        }
        "fcntl" | "fcntl64" => {
            let cmd = raw.get(1).copied().unwrap_or(0);
            crate::decode::fcntl_return(abi, cmd, ret).0
        }
        "membarrier" => raw.first().copied().unwrap_or(0) & 0xffff_ffff == 0,
        "personality" => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_families;
#[cfg(test)]
mod tests_hints;
