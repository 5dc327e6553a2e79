//! [`StructKind`]: which structure an argument of
//! `data/prototypes.txt` points to, as the prototype names it, and which
//! other argument (a count, a size, a command) its decoder reads.

use serde::{Deserialize, Serialize};

use super::bpf_attr;
use super::io_uring_register;

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
    /// i386 readdir's `struct old_linux_dirent`, read at the exit.
    OldDirent,
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
    /// `struct perf_event_attr` (perf_event_open): read at the entry,
    /// printed again at the exit with the size the kernel wrote back
    /// after `E2BIG`.
    PerfEventAttr,
    /// io_uring_register's argument by opcode (the second argument), its
    /// `nr_args` in this argument.
    UringRegisterArg(u8),
    /// modify_ldt's `struct user_desc` when the byte count in this
    /// argument is its size (else the address).
    LdtDesc(u8),
    /// kexec_load's segments, their count in this argument.
    KexecSegments(u8),
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
            ("perf_event_attr", None) => K::PerfEventAttr,
            ("uring_register_arg", p) => K::UringRegisterArg(arg(p)?),
            ("ldt_desc", p) => K::LdtDesc(arg(p)?),
            ("kexec_segments", p) => K::KexecSegments(arg(p)?),
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
            ("old_dirent", None) => K::OldDirent,
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
            StructKind::BpfAttr(_) => bpf_attr::decoded_at_exit(raw.first().copied().unwrap_or(0)),
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
            | StructKind::LdtDesc(n)
            | StructKind::KexecSegments(n)
            | StructKind::CloneArgs(n)
            | StructKind::LandlockRuleset(n)
            | StructKind::LandlockRule(n)
            | StructKind::QuotaId(n)
            | StructKind::QuotaData(n) => Some(n),
            _ => None,
        }
    }
}
