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
mod caps;
mod extensible;
mod fcntl;
mod file_handle;
mod futex;
mod io_uring;
mod io_uring_register;
pub(crate) mod ioctl;
mod ioctl_block;
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
mod ioctl_term;
mod ioctl_ubi;
mod ioctl_uffdio;
mod ioctl_v4l2;
mod ioctl_v4l2_fmt;
mod ipc;
mod ipc_ctl;
mod ldt;
mod net;
pub mod netlink;
mod netlink_diag;
mod netlink_fields;
mod netlink_link;
mod netlink_route;
mod netlink_rtattrs;
mod nlattr;
mod numa;
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
pub(crate) use quota::Shape as QuotaShape;
pub use resource::clock_t;
pub(crate) use scalars::kcmp_epoll_slot;
use serde::{Deserialize, Serialize};
pub(crate) use sockaddr::scope_id;
use vstrace_core::{read, DecodeOptions, Value, VirtMem};

use crate::fmt;
use crate::proto::{LinuxAbi, SyscallDesc};

/// Largest structure read in one piece (statx is 256 bytes; sets of 1024
/// descriptors are 128 bytes; cpu sets are capped at this size too).
const MAX_STRUCT: usize = 4096;

/// A structure argument, by layout and meaning. Parameters are 0-based
/// argument indexes (a count or a size), as in the other argument types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StructKind {
    /// `struct timespec` of the ABI (`old_timespec32` for i386 callers).
    Timespec,
    /// `struct __kernel_timespec` (64-bit fields in both ABIs: `*_time64`).
    Timespec64,
    /// nanosleep's remaining time: shown only when a signal interrupted
    /// the call (the kernel writes it then), else the address.
    TimespecRem,
    /// `struct __kernel_timespec` remaining time (`clock_nanosleep_time64`).
    Timespec64Rem,
    /// `struct timespec[2]` of utimensat (`UTIME_NOW`, `UTIME_OMIT`).
    TimespecPair,
    /// `struct __kernel_timespec[2]` (utimensat_time64).
    Timespec64Pair,
    /// `struct timeval` of the ABI.
    Timeval,
    /// `struct timeval[2]` (utimes, futimesat).
    TimevalPair,
    /// `struct timezone`.
    Timezone,
    /// `struct itimerval`.
    Itimerval,
    /// `struct itimerspec` of the ABI.
    Itimerspec,
    /// `struct __kernel_itimerspec` (`*_time64`).
    Itimerspec64,
    /// `struct utimbuf` (utime).
    Utimbuf,
    /// `time_t *` written by time(2), with its date.
    TimeOut,
    /// `struct timex` (adjtimex, clock_adjtime), shown at the exit.
    Timex,
    /// `struct __kernel_timex` (64-bit fields: i386 clock_adjtime64).
    Timex64,
    /// A pointer-sized value the kernel writes, shown as `[0x...]`
    /// (get_robust_list's head).
    WordPtr,
    /// A `size_t` the kernel writes, shown as `[N]`.
    UlongPtr,
    /// `struct tms` (times).
    Tms,
    /// `struct rlimit` of the ABI (32-bit limits for i386 callers).
    Rlimit,
    /// `struct rlimit64` (prlimit64, both ABIs).
    Rlimit64,
    /// `struct rusage`.
    Rusage,
    /// `struct sysinfo`.
    Sysinfo,
    /// `struct __sysctl_args` (_sysctl).
    SysctlArgs,
    /// `struct new_utsname` (uname).
    Utsname,
    /// `struct old_utsname` (i386 olduname: no domainname).
    OldUtsname,
    /// `struct oldold_utsname` (i386 oldolduname: 9-byte fields).
    OldoldUtsname,
    /// `struct sched_param`: `[priority]`.
    SchedParam,
    /// `struct sched_attr`, its size in the structure (sched_setattr) or
    /// in this argument (sched_getattr).
    SchedAttr(Option<u8>),
    /// A cpu set (`[0 1]`), its size in bytes in this argument; at the
    /// exit the return value is the size the kernel wrote.
    CpuSet(u8),
    /// `struct pollfd[]`, the count in this argument.
    Pollfds(u8),
    /// `fd_set`, the number of descriptors in this argument.
    FdSet(u8),
    /// `struct epoll_event` (epoll_ctl).
    EpollEvent,
    /// `struct epoll_event[]` written by epoll_wait, as many as returned.
    EpollEvents,
    /// pselect6's `{sigmask=..., sigsetsize=...}` pair.
    PselectSigmask,
    /// `struct stat` of the ABI.
    Stat,
    /// i386 `struct stat64`.
    Stat64,
    /// i386 `struct __old_kernel_stat` (oldstat, oldfstat, oldlstat).
    OldStat,
    /// `struct statx`.
    Statx,
    /// `struct statfs` of the ABI.
    Statfs,
    /// `struct statfs64` (i386 layout; its size in this argument).
    Statfs64(u8),
    /// A socket address the kernel reads, its length in this argument.
    Sockaddr(u8),
    /// A socket address the kernel writes, its length's pointer in this
    /// argument (in/out: shown no longer than the caller's buffer).
    SockaddrOut(u8),
    /// An in/out `socklen_t *`: `[110]` at the entry, `[110 => 24]`.
    Socklen,
    /// setsockopt's value, its length in this argument.
    SockoptIn(u8),
    /// getsockopt's value, its length's pointer in this argument.
    SockoptOut(u8),
    /// `struct msghdr` the kernel reads (sendmsg).
    Msghdr,
    /// `struct msghdr` of recvmsg: the name length at the entry, the
    /// message at a successful exit (`msg_namelen=110 => 36`).
    MsghdrRecv,
    /// `struct mmsghdr[]` of sendmmsg (count in the third argument),
    /// shown at the exit with the lengths sent.
    Mmsghdrs,
    /// `struct mmsghdr[]` of recvmmsg, as many as received.
    MmsghdrsRecv,
    /// `struct sembuf[]` (semop, semtimedop), the count in this argument.
    Sembufs(u8),
    /// io_submit's array of `struct iocb *`, the count in this argument.
    IocbPtrs(u8),
    /// io_cancel's `struct iocb` (its identifying header).
    IocbHeader,
    /// One `struct io_event` the kernel writes (io_cancel).
    IoEvent,
    /// `struct io_event[]` written by io_getevents, as many as returned.
    IoEvents,
    /// `struct mq_attr` with `mq_flags` in hex (mq_open).
    MqAttr,
    /// `struct mq_attr` with `mq_flags` by name (mq_getsetattr).
    MqAttrFlags,
    /// `cap_user_header_t` (capget, capset).
    CapHeader,
    /// `cap_user_data_t`, its size from the header's version (argument 0).
    CapData,
    /// `stack_t` (sigaltstack).
    StackT,
    /// `siginfo_t` the kernel reads (rt_sigqueueinfo).
    Siginfo,
    /// `siginfo_t` the kernel writes (waitid, rt_sigtimedwait): shown at
    /// a successful exit.
    SiginfoOut,
    /// `struct sigevent` (timer_create, mq_notify).
    Sigevent,
    /// seccomp(2)'s third argument, by operation (a filter program, an
    /// action, the notification sizes).
    SeccompArgs,
    /// futex_waitv's `struct futex_waitv[]`, the count in this argument.
    FutexWaitv(u8),
    /// msgctl's buffer, by command (`struct msqid_ds`, `struct msginfo`).
    MsqidBuf,
    /// shmctl's buffer, by command (`struct shmid_ds`, `shminfo`,
    /// `shm_info`).
    ShmidBuf,
    /// semctl's fourth argument, by command (`struct semid_ds`,
    /// `struct seminfo`, else the address).
    SemidBuf,
    /// The same through i386's ipc multiplexer, which passes the union by
    /// address (read by [`crate::subcall::split`]): a structure as
    /// [`StructKind::SemidBuf`] shows it, an address in brackets.
    SemidBufIndirect,
    /// msgsnd's `struct msgbuf`, the text's length in this argument.
    Msgbuf(u8),
    /// msgrcv's `struct msgbuf`, shown at the exit, the buffer's text size
    /// in this argument.
    MsgbufOut(u8),
    /// `struct user_desc` the kernel reads (set_thread_area).
    UserDesc,
    /// `struct user_desc` of get_thread_area: the entry number at the
    /// entry, the descriptor at a successful exit.
    UserDescGet,
    /// io_uring_setup's `struct io_uring_params`: the caller's part at
    /// the entry, the rings the kernel set up at a successful exit.
    UringParams,
    /// A NUMA policy mode with its mode flags (a number, not a pointer:
    /// mbind, set_mempolicy).
    MpolMode,
    /// A NUMA policy mode passed as an `int` (set_mempolicy): the low 32
    /// bits.
    MpolModeInt,
    /// get_mempolicy's `int *` policy mode the kernel writes.
    MpolModeOut,
    /// A node mask, its size in bits (`maxnode`) in this argument.
    Nodemask(u8),
    /// move_pages' array of page addresses, the count in this argument.
    PageAddrs(u8),
    /// An array of `int` the kernel reads, the count in this argument.
    IntArray(u8),
    /// move_pages' `int status[]` the kernel writes (nodes, or negated
    /// errors by name), the count in this argument.
    PageStatus(u8),
    /// mincore's vector the kernel writes, the length in bytes of the
    /// range in this argument.
    MincoreVec(u8),
    /// openat2's `struct open_how`, its size in this argument.
    OpenHow(u8),
    /// mount_setattr's `struct mount_attr`, its size in this argument.
    MountAttr(u8),
    /// `struct file_handle` (name_to_handle_at, open_by_handle_at).
    FileHandle,
    /// bpf(2)'s `union bpf_attr` by command (the first argument), its
    /// size in this argument.
    BpfAttr(u8),
    /// io_uring_register's argument by opcode (the second argument), its
    /// `nr_args` in this argument.
    UringRegisterArg(u8),
    /// clone3's `struct clone_args`, its size in this argument (in/out:
    /// what the kernel wrote through its pointers at the exit).
    CloneArgs(u8),
    /// personality(2)'s persona (a number, not a pointer).
    Persona,
    /// memfd_create's flags (a number, not a pointer).
    MemfdFlags,
    /// statx's flags (a number, not a pointer).
    StatxFlags,
    /// `struct landlock_ruleset_attr`, its size in this argument.
    LandlockRuleset(u8),
    /// landlock_add_rule's rule, its type in this argument.
    LandlockRule(u8),
    /// quotactl's command word (a number: `QCMD(Q_SYNC, USRQUOTA)`).
    QuotaCmd,
    /// quotactl's id, the command in this argument (a number: a quota
    /// format for `Q_QUOTAON`).
    QuotaId(u8),
    /// quotactl's address, by the command in this argument (a structure,
    /// a path, a format or flags).
    QuotaData(u8),
}

impl StructKind {
    /// The kind named `name` in `data/prototypes.txt` (`param`: the text
    /// in parentheses, `argN`).
    pub(crate) fn parse(name: &str, param: Option<&str>) -> Option<StructKind> {
        let arg = |p: Option<&str>| -> Option<u8> {
            let n: u8 = p?.strip_prefix("arg")?.parse().ok()?;
            (n < 6).then_some(n)
        };
        use StructKind as K;
        Some(match (name, param) {
            ("sched_attr", None) => K::SchedAttr(None),
            ("sched_attr", p) => K::SchedAttr(Some(arg(p)?)),
            ("cpu_set", p) => K::CpuSet(arg(p)?),
            ("pollfds", p) => K::Pollfds(arg(p)?),
            ("fd_set", p) => K::FdSet(arg(p)?),
            ("statfs64", p) => K::Statfs64(arg(p)?),
            ("sembufs", p) => K::Sembufs(arg(p)?),
            ("iocb_ptrs", p) => K::IocbPtrs(arg(p)?),
            ("saddr", p) => K::Sockaddr(arg(p)?),
            ("sockopt_in", p) => K::SockoptIn(arg(p)?),
            ("sockopt_out", p) => K::SockoptOut(arg(p)?),
            ("saddr_out", p) => K::SockaddrOut(arg(p)?),
            ("futex_waitv", p) => K::FutexWaitv(arg(p)?),
            ("msgbuf", p) => K::Msgbuf(arg(p)?),
            ("nodemask", p) => K::Nodemask(arg(p)?),
            ("page_addrs", p) => K::PageAddrs(arg(p)?),
            ("int_array", p) => K::IntArray(arg(p)?),
            ("page_status", p) => K::PageStatus(arg(p)?),
            ("mincore_vec", p) => K::MincoreVec(arg(p)?),
            ("open_how", p) => K::OpenHow(arg(p)?),
            ("mount_attr", p) => K::MountAttr(arg(p)?),
            ("bpf_attr", p) => K::BpfAttr(arg(p)?),
            ("uring_register_arg", p) => K::UringRegisterArg(arg(p)?),
            ("clone_args", p) => K::CloneArgs(arg(p)?),
            ("landlock_ruleset", p) => K::LandlockRuleset(arg(p)?),
            ("landlock_rule", p) => K::LandlockRule(arg(p)?),
            ("msgbuf_out", p) => K::MsgbufOut(arg(p)?),
            ("quota_id", p) => K::QuotaId(arg(p)?),
            ("quota_data", p) => K::QuotaData(arg(p)?),
            (_, Some(_)) => return None,
            ("stat", None) => K::Stat,
            ("stat64", None) => K::Stat64,
            ("old_stat", None) => K::OldStat,
            ("statx", None) => K::Statx,
            ("statfs", None) => K::Statfs,
            ("timespec", None) => K::Timespec,
            ("timespec64", None) => K::Timespec64,
            ("timespec_rem", None) => K::TimespecRem,
            ("timespec64_rem", None) => K::Timespec64Rem,
            ("timespec_pair", None) => K::TimespecPair,
            ("timespec64_pair", None) => K::Timespec64Pair,
            ("timeval", None) => K::Timeval,
            ("timeval_pair", None) => K::TimevalPair,
            ("timezone", None) => K::Timezone,
            ("itimerval", None) => K::Itimerval,
            ("itimerspec", None) => K::Itimerspec,
            ("itimerspec64", None) => K::Itimerspec64,
            ("utimbuf", None) => K::Utimbuf,
            ("time_out", None) => K::TimeOut,
            ("timex", None) => K::Timex,
            ("timex64", None) => K::Timex64,
            ("word_ptr", None) => K::WordPtr,
            ("ulong_ptr", None) => K::UlongPtr,
            ("tms", None) => K::Tms,
            ("rlimit", None) => K::Rlimit,
            ("rlimit64", None) => K::Rlimit64,
            ("rusage", None) => K::Rusage,
            ("sysinfo", None) => K::Sysinfo,
            ("sysctl_args", None) => K::SysctlArgs,
            ("utsname", None) => K::Utsname,
            ("old_utsname", None) => K::OldUtsname,
            ("oldold_utsname", None) => K::OldoldUtsname,
            ("sched_param", None) => K::SchedParam,
            ("epoll_event", None) => K::EpollEvent,
            ("epoll_events", None) => K::EpollEvents,
            ("pselect_sigmask", None) => K::PselectSigmask,
            ("socklen", None) => K::Socklen,
            ("msghdr", None) => K::Msghdr,
            ("msghdr_recv", None) => K::MsghdrRecv,
            ("mmsghdrs", None) => K::Mmsghdrs,
            ("mmsghdrs_recv", None) => K::MmsghdrsRecv,
            ("io_events", None) => K::IoEvents,
            ("io_event", None) => K::IoEvent,
            ("iocb_header", None) => K::IocbHeader,
            ("mq_attr", None) => K::MqAttr,
            ("mq_attr_flags", None) => K::MqAttrFlags,
            ("cap_header", None) => K::CapHeader,
            ("cap_data", None) => K::CapData,
            ("stack_t", None) => K::StackT,
            ("siginfo", None) => K::Siginfo,
            ("siginfo_out", None) => K::SiginfoOut,
            ("sigevent", None) => K::Sigevent,
            ("seccomp_args", None) => K::SeccompArgs,
            ("msqid_buf", None) => K::MsqidBuf,
            ("shmid_buf", None) => K::ShmidBuf,
            ("semid_buf", None) => K::SemidBuf,
            ("user_desc", None) => K::UserDesc,
            ("user_desc_get", None) => K::UserDescGet,
            ("uring_params", None) => K::UringParams,
            ("mpol_mode", None) => K::MpolMode,
            ("mpol_mode_out", None) => K::MpolModeOut,
            ("mpol_mode_int", None) => K::MpolModeInt,
            ("persona", None) => K::Persona,
            ("file_handle", None) => K::FileHandle,
            ("memfd_flags", None) => K::MemfdFlags,
            ("statx_flags", None) => K::StatxFlags,
            ("quota_cmd", None) => K::QuotaCmd,
            _ => return None,
        })
    }

    /// Whether an in/out argument of this kind is decoded again at the
    /// exit of a call with raw arguments `raw` (the kernel may have
    /// written it); when not, the entry's value stands.
    pub(crate) fn decoded_at_exit(self, raw: &[u64]) -> bool {
        match self {
            StructKind::UringRegisterArg(_) => {
                io_uring_register::written_back(raw.get(1).copied().unwrap_or(0))
            }
            _ => true,
        }
    }

    /// The argument index this kind refers to, if any (checked against
    /// the prototype's length when the data is parsed).
    pub(crate) fn referenced_arg(self) -> Option<u8> {
        match self {
            StructKind::SchedAttr(n) => n,
            StructKind::CpuSet(n)
            | StructKind::Pollfds(n)
            | StructKind::FdSet(n)
            | StructKind::FutexWaitv(n)
            | StructKind::Msgbuf(n)
            | StructKind::MsgbufOut(n)
            | StructKind::Nodemask(n)
            | StructKind::PageAddrs(n)
            | StructKind::IntArray(n)
            | StructKind::PageStatus(n)
            | StructKind::MincoreVec(n)
            | StructKind::OpenHow(n)
            | StructKind::MountAttr(n)
            | StructKind::BpfAttr(n)
            | StructKind::UringRegisterArg(n)
            | StructKind::CloneArgs(n)
            | StructKind::LandlockRuleset(n)
            | StructKind::LandlockRule(n)
            | StructKind::QuotaId(n)
            | StructKind::QuotaData(n) => Some(n),
            _ => None,
        }
    }
}

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
            Ok(d) => fmt::quote(&d, len > max as u64),
            Err(s) => s,
        }
    }

    /// The width of `long` for this call.
    fn long_size(&self) -> usize {
        self.abi.word_size() as usize
    }
}

/// Most elements of an array printed with `-v` (strace prints them all;
/// a hostile count must not make the trace unbounded).
const MAX_ARRAY_VERBOSE: u64 = 1024;

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
        mut one: impl FnMut(&mut Self, &[u8]) -> Value,
    ) -> Value {
        if va == 0 {
            return Value::Null;
        }
        let limit = if self.opts.verbose {
            MAX_ARRAY_VERBOSE
        } else {
            self.opts.strsize as u64
        };
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

/// Little-endian fields of a structure read from the guest; offsets out
/// of range read as 0 (the decoders read whole structures, so this only
/// guards against a layout mistake, never a panic).
pub(crate) struct Fields<'b> {
    b: &'b [u8],
    /// Width of `long` in the layout.
    long: usize,
}

impl<'b> Fields<'b> {
    fn new(b: &'b [u8], long: usize) -> Fields<'b> {
        Fields { b, long }
    }

    fn bytes(&self, off: usize, n: usize) -> u64 {
        let mut x = [0u8; 8];
        if let Some(s) = self.b.get(off..off.saturating_add(n)) {
            x[..n.min(8)].copy_from_slice(&s[..n.min(8)]);
        }
        u64::from_le_bytes(x)
    }

    fn u16(&self, off: usize) -> u64 {
        self.bytes(off, 2)
    }
    fn u32(&self, off: usize) -> u64 {
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
    fn ulong(&self, off: usize) -> u64 {
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
        | K::UringRegisterArg(_)
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
        K::MountAttr(n) => {
            let size = c.arg(n);
            extensible::mount_attr(c, v, size)
        }
        K::BpfAttr(n) => {
            let (cmd, size) = (c.arg(0), c.arg(n));
            bpf_attr::attr(c, v, cmd, size)
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
