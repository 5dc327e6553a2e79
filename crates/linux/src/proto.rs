//! Syscall tables and prototypes, loaded once from the crate's data files.
//!
//! `data/syscall_{64,32}.tsv` (number → name) are generated from the
//! kernel's `syscall_{64,32}.tbl` by `scripts/gen-linux-tables.py`;
//! `data/prototypes.txt` gives every name its arguments (shared by both
//! ABIs, with `i386:` variants where the i386 entry point differs). Both
//! are parsed on first use into per-ABI tables indexed by number (O(1)
//! lookup). A malformed data file is a build-time bug: the unit tests
//! parse everything, and parsing skips what it cannot read rather than
//! panicking at run time.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::xlat::Table as XlatTable;
use parse::{parse_protos, Protos};

mod parse;

const TABLE_64: &str = include_str!("../data/syscall_64.tsv");
const TABLE_32: &str = include_str!("../data/syscall_32.tsv");
const PROTOTYPES: &str = include_str!("../data/prototypes.txt");

/// The Linux system-call ABI of a traced call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinuxAbi {
    /// Native 64-bit `syscall` ABI.
    X86_64,
    /// 32-bit `int 0x80` / `sysenter` / compat `syscall` ABI.
    I386,
}

impl LinuxAbi {
    /// Width of `long` and of pointers, in bytes.
    pub fn word_size(self) -> u64 {
        match self {
            LinuxAbi::X86_64 => 8,
            LinuxAbi::I386 => 4,
        }
    }

    /// The matching core bitness.
    pub fn bitness(self) -> vstrace_core::Bitness {
        match self {
            LinuxAbi::X86_64 => vstrace_core::Bitness::B64,
            LinuxAbi::I386 => vstrace_core::Bitness::B32,
        }
    }

    /// The ABI used by code of this bitness.
    pub fn from_bitness(b: vstrace_core::Bitness) -> LinuxAbi {
        match b {
            vstrace_core::Bitness::B64 => LinuxAbi::X86_64,
            vstrace_core::Bitness::B32 => LinuxAbi::I386,
        }
    }
}

/// Where a length comes from for an output buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LenFrom {
    /// The return value (bytes read).
    Ret,
    /// Argument at this 0-based index.
    Arg(u8),
}

/// How an argument is decoded. Parameters are 0-based argument indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ArgType {
    /// C `int` (32-bit signed in both ABIs).
    Int,
    /// C `unsigned int`.
    Uint,
    /// C `long` (signed, word-sized).
    Long,
    /// C `unsigned long` / `size_t`.
    Ulong,
    /// A number shown in hex (addresses, flags without a table).
    Hex,
    /// A pointer not followed: `NULL` or hex.
    Ptr,
    /// A 32-bit named constant from a generated table; unknown values as
    /// hex with the table's comment (`0x10 /* RLIMIT_??? */`).
    Xlat(XlatTable),
    /// Like [`ArgType::Xlat`], unknown values in signed decimal.
    XlatD(XlatTable),
    /// Like [`ArgType::XlatD`] without the comment (strace's
    /// `printxval_d` with no default: keyring serial numbers).
    XlatDn(XlatTable),
    /// A word-sized named constant (`long` arguments: ptrace requests).
    XlatLong(XlatTable),
    /// An old-style (4-byte) signal mask passed by value (ssetmask).
    OldSigmaskVal,
    /// A signal handler: `SIG_DFL`, `SIG_IGN`, `SIG_ERR` or its address.
    SaHandler,
    /// An argument strace never prints (i386 sigsuspend's two words
    /// before the mask): kept for its position, left out of the line.
    Unshown,
    /// i386 ipc's first argument: `VERSION<<16|CALL`, the call named
    /// when known (an ipc line shows only a call it could not split).
    IpcCall,
    /// A 32-bit flag set from a generated table (`EFD_CLOEXEC|0x10`).
    Flags(XlatTable),
    /// A 32-bit flag set whose unknown bits strace prints without a
    /// comment (`0xde97face`).
    FlagsPlain(XlatTable),
    /// A word-sized flag set (`unsigned long` flags: perf_event_open).
    FlagsLong(XlatTable),
    /// A `umode_t` printed in octal as strace does (`000`, `0644`):
    /// truncated to 16 bits.
    Umode,
    /// A mode with its file type (`S_IFREG|0644`; `mknod`).
    SymMode,
    /// An `int` shown in hex (`0xffffffff`: rseq flags, futex_waitv flags).
    HexInt,
    /// An `unsigned int` flag word shown in hex without a table.
    HexUint,
    /// An `open`-family mode, printed only when the flags argument (the
    /// index) has `O_CREAT` or `O_TMPFILE`; otherwise the argument is
    /// left out.
    OpenMode(u8),
    /// A pointer to a 64-bit signed number (`loff_t *`), shown as `[n]`.
    I64Ptr,
    /// A pointer to a 64-bit unsigned number, shown as `[n]`.
    U64Ptr,
    /// A pointer to an `off_t`, the ABI's long (i386's sendfile), shown
    /// as `[n]` unsigned, as [`ArgType::U64Ptr`].
    OffPtr,
    /// `fanotify_init` flags: the notification class, then the flags.
    FanInitFlags,
    /// `mknod`'s device (`makedev(0x1, 0x3)`), shown only when the mode
    /// argument (the index) is a character or block device.
    MknodDev(u8),
    /// `prctl`'s option; the following arguments are shaped by it.
    Prctl,
    /// A `prctl` argument after the option: shown as the option needs
    /// (a string, a signal, a number) or left out.
    PrctlArg(u8),
    /// keyctl's argument N (1-4: arg2..arg5), by its command.
    KeyctlArg(u8),
    /// arch_prctl's second argument: shown as the code needs (the word
    /// the kernel stores, a component mask or number) or left out.
    ArchPrctlArg,
    /// A `futex` argument after the operation (1-based, 1..=4: the
    /// registers of val, timeout/val2, uaddr2, val3), shown as the
    /// operation needs or left out.
    FutexArg(u8),
    /// A group list the kernel reads, count in the argument (`setgroups`).
    GidsIn(u8),
    /// A group list the kernel writes, count in the return value.
    GidsOut,
    /// `reboot`'s argument string, shown only for
    /// `LINUX_REBOOT_CMD_RESTART2` (the command in the previous argument).
    RebootArg,
    /// A named constant in strace's verbose style: the signed number, then
    /// the name in a comment (`0 /* SYSLOG_ACTION_CLOSE */`).
    XlatVerbose(XlatTable),
    /// `syslog`'s length: a console level for
    /// `SYSLOG_ACTION_CONSOLE_LEVEL`, a number otherwise.
    SyslogLen,
    /// `kexec_load` flags: the architecture, then the `KEXEC_*` flags.
    KexecFlags,
    /// A directory entry buffer the kernel fills (`getdents`,
    /// `getdents64`): its address and `/* N entries */`.
    DirentsOut,
    /// A device number as `makedev(0x1, 0x3)` (`ustat`).
    Dev,
    /// `swapon` flags: `SWAP_FLAG_*` names, then the priority in decimal.
    SwapFlags,
    /// `seccomp` flags: named for `SECCOMP_SET_MODE_FILTER`, hex otherwise.
    SeccompFlags,
    /// A pointer to a word the kernel writes, shown as `[0x...]` at exit.
    HexPtrOut,
    /// A pointer to a `size_t`/`unsigned long` the kernel writes, `[n]`.
    UlongPtrOut,
    /// A System V IPC key: `IPC_PRIVATE` or hex.
    IpcKey,
    /// System V IPC `*get` flags: the table's names, then the permission
    /// bits in octal (`IPC_CREAT|IPC_EXCL|0600`).
    IpcFlags(XlatTable),
    /// A System V IPC `*ctl` command, with `IPC_64|` when that bit is set.
    IpcCmd(XlatTable),
    /// A `ptrace` argument after the request (1: pid, 2: addr, 3: data),
    /// shown as the request needs or left out.
    PtraceArg(u8),
    /// `fcntl`'s argument: left out for commands without one, else an
    /// fd flag set, open flags, a signal or a number.
    FcntlArg,
    /// A socket option level (`SOL_SOCKET`).
    SockLevel,
    /// A socket option name, by the level in the previous argument.
    SockOptName(u8),
    /// An `ioctl` request as strace names it (`TCGETS`, or `_IOC(...)`).
    IoctlCode,
    /// `ioctl`'s argument: a pointer (`NULL`, `0x7ffc...`) for a known
    /// request that passes a structure, else the number in hex.
    IoctlArg,
    /// A file descriptor.
    Fd,
    /// A directory fd for `*at` calls (`AT_FDCWD`).
    Dirfd,
    /// A path read from the guest (up to `PATH_MAX`).
    Path,
    /// A name read as a path (up to `PATH_MAX`, the address when it is
    /// not terminated before unreadable memory: strace's `printpath`)
    /// that names no file (POSIX message queues): no `%file` class, no
    /// path filter.
    Name,
    /// A string read from the guest (up to `strsize`).
    Str,
    /// A string the kernel writes (shown at exit).
    StrOut,
    /// A buffer the kernel reads, length in an argument (shown at enter).
    BufIn(u8),
    /// A buffer the kernel writes (shown at exit).
    BufOut(LenFrom),
    /// `open` flags: the access mode, then the `O_*` bits.
    OpenFlags,
    /// A file mode in octal.
    Mode,
    /// `access` mode bits (`R_OK|W_OK`, or `F_OK`).
    AccessMode,
    /// `AT_*` flag bits.
    AtFlags,
    /// `mmap`/`mprotect` protection bits.
    MmapProt,
    /// `mmap` flags: the mapping type, then the `MAP_*` bits.
    MmapFlags,
    /// `mremap` flag bits.
    MremapFlags,
    /// `clone` flags, with the exit signal in the low byte.
    CloneFlags,
    /// A signal number, shown by name (`SIGTERM`).
    Signal,
    /// `struct sigaction` (kernel layout, `rt_sigaction`).
    Sigaction,
    /// i386 `struct old_sigaction` (`sigaction`).
    OldSigaction,
    /// A pointer to a 64-bit signal set.
    Sigset,
    /// A pointer to i386's 4-byte `old_sigset_t` (sigprocmask,
    /// sigpending).
    OldSigset,
    /// `rt_sigprocmask` `how` (`SIG_BLOCK`...).
    SigprocmaskHow,
    /// A socket address the kernel reads, length in an argument.
    Sockaddr(u8),
    /// A socket address the kernel writes; the argument is a
    /// `socklen_t *` giving its length.
    SockaddrOut(u8),
    /// A socket address family (`AF_INET`...).
    SockFamily,
    /// A socket type with its flags (`SOCK_STREAM|SOCK_CLOEXEC`).
    SockType,
    /// A socket protocol, named for IP families (from the call's `SockFamily` argument).
    SockProto,
    /// `MSG_*` flag bits.
    MsgFlags,
    /// An iovec array the kernel reads, count in an argument.
    IovecIn(u8),
    /// An iovec array the kernel fills (data shown up to the return value).
    IovecOut(u8),
    /// An extended attribute's value (strace's `print_xattr_val`): its
    /// length in an argument (set) or the return value (get), a trailing
    /// NUL left out, the address when longer than `XATTR_SIZE_MAX`.
    XattrVal(LenFrom),
    /// An extended attribute name list the kernel fills, its size in
    /// this argument: the address when the size is 0 or the call failed.
    XattrList(u8),
    /// An I/O priority (`IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4)`).
    Ioprio,
    /// A string of at most this many bytes (strace's `printstr_ex` with a
    /// length: memfd_create's name), at most `-s` of them shown.
    StrMax(u16),
    /// A `mount` argument after the target (2: the filesystem type, 3:
    /// the flags, 4: the data), shaped by the flags as strace does
    /// (`MS_MGC_VAL|`, the address of what `MS_REMOUNT`/`MS_BIND`... make
    /// the kernel ignore).
    MountArg(u8),
    /// An `fsconfig` argument after the command (2: the key, 3: the
    /// value, 4: the auxiliary number), shaped by the command
    /// ([`crate::decode::fsconfig`]).
    FsconfigArg(u8),
    /// An iovec array shown with its buffers' addresses only (another
    /// process's memory: process_vm_readv's remote vector).
    IovecAddr(u8),
    /// `execve` argv: string array.
    Argv,
    /// `execve` envp: shown as a count.
    Envp,
    /// An `fcntl` command (`F_GETFL`...).
    FcntlCmd,
    /// arch_prctl code (ARCH_SET_FS ...).
    ArchPrctlCode,
    /// prctl option (PR_SET_NAME ...).
    PrctlOption,
    /// getrandom flags (GRND_NONBLOCK ...).
    GrndFlags,
    /// An `ioctl` request, named where known, else hex.
    IoctlReq,
    /// An `lseek` origin (`SEEK_SET`...).
    Whence,
    /// `wait4`/`waitid` option bits.
    WaitOptions,
    /// `int *` status written by `wait4`/`waitpid`.
    WaitStatus,
    /// `int[2]` written by `pipe`/`socketpair`.
    PipeFds,
    /// `struct stat` of the ABI (`stat`, `fstat`, `newfstatat`...).
    StatOut,
    /// i386 `struct stat64`.
    Stat64Out,
    /// `struct statx`.
    StatxOut,
    /// `int *` shown as `[n]`.
    IntPtr,
    /// A process or thread id (signed 32-bit: 0 and negatives select groups).
    Pid,
    /// A user id; `-1` (all ones) means "unchanged".
    Uid,
    /// A group id; `-1` (all ones) means "unchanged".
    Gid,
    /// A pointer to a time structure, shown as an address.
    TimePtr,
    /// A clock id (`CLOCK_MONOTONIC`...).
    Clockid,
    // Structures (structs/ module)
    /// A structure the call points to, decoded by [`crate::structs`].
    Struct(crate::structs::StructKind),
    /// A 16-bit user or group id (i386's `*16` calls: chown, setuid,
    /// setresgid...): the low 16 bits, `-1` for 0xffff, as strace prints.
    Uid16,
    /// A pointer to a 16-bit id the kernel writes (getresuid16): `[0]`.
    Uid16PtrOut,
    /// mmap2's offset in 4096-byte pages: shown in bytes, in hex.
    PageOffset,
    /// A 64-bit signed number the i386 ABI passes in two registers, low
    /// word first (`loff_t` arguments: pread64's offset): one argument,
    /// one decimal number, as strace shows it ([`logical_args`]).
    LoHi64,
    /// Like [`ArgType::LoHi64`], unsigned (truncate64's length).
    LoHiU64,
    /// Like [`ArgType::LoHi64`], high word first (`_llseek`'s offset).
    HiLo64,
    /// A 64-bit flag set in two registers, low word first
    /// (fanotify_mark's mask).
    LoHiFlags64(XlatTable),
    /// An offset the kernel takes as two native words, low word first
    /// (preadv2's `pos_l`, `pos_h`): on a 64-bit ABI the low word is the
    /// whole signed offset and the high one, which strace does not show,
    /// is left out.
    PosPair,
}

impl ArgType {
    /// Direction implied by the type when the prototype gives none.
    pub fn default_dir(self) -> Dir {
        match self {
            ArgType::StrOut
            | ArgType::BufOut(_)
            | ArgType::SockaddrOut(_)
            | ArgType::IovecOut(_)
            | ArgType::XattrVal(LenFrom::Ret)
            | ArgType::XattrList(_)
            | ArgType::WaitStatus
            | ArgType::PipeFds
            | ArgType::StatOut
            | ArgType::Stat64Out
            | ArgType::StatxOut
            | ArgType::HexPtrOut
            | ArgType::UlongPtrOut
            | ArgType::Uid16PtrOut
            | ArgType::GidsOut
            | ArgType::DirentsOut => Dir::Out,
            // Some prctl options return through their argument.
            ArgType::PrctlArg(_) | ArgType::KeyctlArg(_) | ArgType::ArchPrctlArg => Dir::InOut,
            _ => Dir::In,
        }
    }

    /// Whether the i386 ABI passes this argument in two registers.
    pub fn is_pair(self) -> bool {
        matches!(
            self,
            ArgType::LoHi64
                | ArgType::LoHiU64
                | ArgType::HiLo64
                | ArgType::LoHiFlags64(_)
                | ArgType::PosPair
        )
    }

    /// The argument index this type refers to, if any.
    fn referenced_arg(self) -> Option<u8> {
        match self {
            ArgType::BufIn(n)
            | ArgType::BufOut(LenFrom::Arg(n))
            | ArgType::Sockaddr(n)
            | ArgType::SockaddrOut(n)
            | ArgType::IovecIn(n)
            | ArgType::IovecOut(n)
            | ArgType::IovecAddr(n)
            | ArgType::XattrVal(LenFrom::Arg(n))
            | ArgType::XattrList(n)
            | ArgType::GidsIn(n) => Some(n),
            ArgType::Struct(k) => k.referenced_arg(),
            _ => None,
        }
    }
}

/// When an argument is meaningful: read by the kernel (decoded at enter),
/// written by it (decoded at exit), or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// Read by the kernel: decoded at enter.
    In,
    /// Written by the kernel: decoded at exit.
    Out,
    /// Read and written: decoded at enter and again at exit.
    InOut,
}

/// How the return value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetKind {
    /// Signed decimal.
    Long,
    /// Unsigned decimal.
    Ulong,
    /// A file descriptor (signed decimal; negative means an error).
    Fd,
    /// A process or thread id.
    Pid,
    /// A user id.
    Uid,
    /// A group id.
    Gid,
    /// An address (`mmap`, `brk`).
    Hex,
    /// Octal (`umask`).
    Octal,
    /// The call does not return (`exit`): shown as `?`.
    None,
}

/// One argument of a prototype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgDesc {
    /// The argument's name in the man page prototype (`pathname`, `count`); what hooks use with `arg_named`.
    pub name: &'static str,
    /// How the value is decoded.
    pub ty: ArgType,
    /// When the value is decoded (enter, exit or both).
    pub dir: Dir,
}

/// strace-like filter classes, as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Classes(pub u16);

impl Classes {
    /// `%file`: calls that take a file name.
    pub const FILE: Classes = Classes(1 << 0);
    /// `%process`: process lifecycle (fork, exec, exit, wait).
    pub const PROCESS: Classes = Classes(1 << 1);
    /// `%network`: socket calls.
    pub const NETWORK: Classes = Classes(1 << 2);
    /// `%signal`: signal handling.
    pub const SIGNAL: Classes = Classes(1 << 3);
    /// `%ipc`: System V IPC.
    pub const IPC: Classes = Classes(1 << 4);
    /// `%desc`: calls that take a file descriptor.
    pub const DESC: Classes = Classes(1 << 5);
    /// `%memory`: memory mapping.
    pub const MEMORY: Classes = Classes(1 << 6);
    /// `%creds`: user/group ids and capabilities.
    pub const CREDS: Classes = Classes(1 << 7);
    /// `%clock`: clocks and time.
    pub const CLOCK: Classes = Classes(1 << 8);

    /// Every class with its strace name (without the `%`).
    pub const ALL: [(Classes, &'static str); 9] = [
        (Classes::FILE, "file"),
        (Classes::PROCESS, "process"),
        (Classes::NETWORK, "network"),
        (Classes::SIGNAL, "signal"),
        (Classes::IPC, "ipc"),
        (Classes::DESC, "desc"),
        (Classes::MEMORY, "memory"),
        (Classes::CREDS, "creds"),
        (Classes::CLOCK, "clock"),
    ];

    /// Whether every class in `other` is in this set (false for the empty set).
    pub fn contains(self, other: Classes) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// The class named `name` (`"file"` or `"%file"`).
    pub fn from_name(name: &str) -> Option<Classes> {
        let n = name.strip_prefix('%').unwrap_or(name);
        Classes::ALL.iter().find(|(_, s)| *s == n).map(|(c, _)| *c)
    }

    /// Names of the classes in this set (without `%`).
    pub fn names(self) -> Vec<&'static str> {
        Classes::ALL
            .iter()
            .filter(|(c, _)| self.contains(*c))
            .map(|(_, s)| *s)
            .collect()
    }
}

impl std::ops::BitOr for Classes {
    type Output = Classes;
    fn bitor(self, rhs: Classes) -> Classes {
        Classes(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Classes {
    fn bitor_assign(&mut self, rhs: Classes) {
        self.0 |= rhs.0;
    }
}

/// One system call of one ABI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyscallDesc {
    /// Syscall number in this ABI's table.
    pub nr: u64,
    /// Kernel name of the call (`openat`).
    pub name: &'static str,
    /// The arguments in order (argument 1 first).
    pub args: Vec<ArgDesc>,
    /// How the return value is shown.
    pub ret: RetKind,
    /// The strace classes the call belongs to.
    pub classes: Classes,
    /// Where `-P` / `trace-fds=` match it (worked out once here: the
    /// filter asks for every call it sees).
    #[serde(skip)]
    pub(crate) trace_shape: crate::pathtrace::Shape,
}

impl SyscallDesc {
    /// Whether the call belongs to `class`.
    pub fn in_class(&self, class: Classes) -> bool {
        self.classes.contains(class)
    }

    /// The call does not return to the caller (`exit`, `exit_group`).
    pub fn is_noreturn(&self) -> bool {
        self.ret == RetKind::None
    }

    /// The call replaces the process image on success (`execve`,
    /// `execveat`): its exit comes from a new program.
    pub fn is_exec(&self) -> bool {
        self.args.iter().any(|a| a.ty == ArgType::Argv)
    }

    /// How many registers the arguments take (a 64-bit pair, two).
    pub fn regs(&self) -> usize {
        self.args
            .iter()
            .map(|a| 1 + usize::from(a.ty.is_pair()))
            .sum()
    }

    /// The register (0-based) of argument `i`.
    pub fn reg_of(&self, i: usize) -> usize {
        self.args
            .iter()
            .take(i)
            .map(|a| 1 + usize::from(a.ty.is_pair()))
            .sum()
    }

    /// Indexes of the arguments that are guest paths (for path filters).
    pub fn path_args(&self) -> Vec<usize> {
        self.args
            .iter()
            .enumerate()
            .filter(|(_, a)| a.ty == ArgType::Path)
            .map(|(i, _)| i)
            .collect()
    }
}

/// One ABI's table.
pub(crate) struct Table {
    pub descs: Vec<SyscallDesc>,
    /// Index into `descs` by number.
    by_nr: Vec<Option<u32>>,
    by_name: HashMap<&'static str, u32>,
    /// Names in the number table without a prototype (should be empty).
    pub missing: Vec<&'static str>,
}

fn parse_table(text: &'static str) -> Vec<(u64, &'static str)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (nr, name) = l.split_once('\t')?;
            Some((nr.trim().parse().ok()?, name.trim()))
        })
        .collect()
}

fn build_table(abi: LinuxAbi, protos: &Protos) -> Table {
    let text = match abi {
        LinuxAbi::X86_64 => TABLE_64,
        LinuxAbi::I386 => TABLE_32,
    };
    let mut t = Table {
        descs: Vec::new(),
        by_nr: Vec::new(),
        by_name: HashMap::new(),
        missing: Vec::new(),
    };
    for (nr, name) in parse_table(text) {
        let proto = match abi {
            LinuxAbi::I386 => protos.i386.get(name).or_else(|| protos.shared.get(name)),
            LinuxAbi::X86_64 => protos.shared.get(name),
        };
        let (args, ret, classes) = match proto {
            Some(p) => (p.args.clone(), p.ret, p.classes),
            None => {
                t.missing.push(name);
                // Unknown shape: six raw hex arguments.
                let args = ["a0", "a1", "a2", "a3", "a4", "a5"]
                    .iter()
                    .map(|n| ArgDesc {
                        name: n,
                        ty: ArgType::Hex,
                        dir: Dir::In,
                    })
                    .collect();
                (args, RetKind::Long, Classes::default())
            }
        };
        // Numbers are small (< 1024) in the generated tables; refuse
        // anything absurd rather than allocating for it.
        let Ok(idx) = usize::try_from(nr) else {
            continue;
        };
        if idx > 4096 {
            continue;
        }
        if t.by_nr.len() <= idx {
            t.by_nr.resize(idx + 1, None);
        }
        let di = t.descs.len() as u32;
        t.by_nr[idx] = Some(di);
        t.by_name.insert(name, di);
        let mut d = SyscallDesc {
            nr,
            name,
            args,
            ret,
            classes,
            trace_shape: crate::pathtrace::Shape::None,
        };
        d.trace_shape = crate::pathtrace::shape_of(&d, abi);
        t.descs.push(d);
    }
    t
}

struct Tables {
    x86_64: Table,
    i386: Table,
    /// i386's socketcall and ipc sub-calls, by strace's numbers (see
    /// [`crate::subcall`]): not in the kernel's table.
    subcalls: Vec<SyscallDesc>,
    proto_errors: Vec<String>,
}

/// The descriptions of i386's sub-calls: the i386 prototype of each name
/// (`send`, `recv` have only that), else the shared one.
fn build_subcalls(protos: &Protos, errors: &mut Vec<String>) -> Vec<SyscallDesc> {
    crate::subcall::all()
        .filter_map(|(nr, name)| {
            // A block call is the direct call of its name, whose i386
            // prototype is the one-pointer form.
            let p = if crate::subcall::is_block_call(nr) {
                protos.shared.get(name)
            } else {
                protos.i386.get(name).or_else(|| protos.shared.get(name))
            };
            if p.is_none() {
                errors.push(format!("i386: no prototype for the sub-call {name}"));
            }
            let p = p?;
            let mut args = p.args.clone();
            if name == "semctl" {
                // ipc passes semctl's union by address: strace shows
                // the structure it points to, or the address in brackets.
                if let Some(a) = args.get_mut(3) {
                    a.ty = ArgType::Struct(crate::structs::StructKind::SemidBufIndirect);
                }
            }
            let mut d = SyscallDesc {
                nr,
                name,
                args,
                ret: p.ret,
                classes: p.classes,
                trace_shape: crate::pathtrace::Shape::None,
            };
            d.trace_shape = crate::pathtrace::shape_of(&d, LinuxAbi::I386);
            Some(d)
        })
        .collect()
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let protos = parse_protos();
        let mut errors = protos.errors.clone();
        let subcalls = build_subcalls(&protos, &mut errors);
        Tables {
            x86_64: build_table(LinuxAbi::X86_64, &protos),
            i386: build_table(LinuxAbi::I386, &protos),
            subcalls,
            proto_errors: errors,
        }
    })
}

pub(crate) fn table(abi: LinuxAbi) -> &'static Table {
    match abi {
        LinuxAbi::X86_64 => &tables().x86_64,
        LinuxAbi::I386 => &tables().i386,
    }
}

/// Errors found while parsing the embedded data (empty unless the data
/// files are broken; checked by the tests).
pub fn data_errors() -> Vec<String> {
    let t = tables();
    let mut e = t.proto_errors.clone();
    for (abi, tab) in [("x86_64", &t.x86_64), ("i386", &t.i386)] {
        for m in &tab.missing {
            e.push(format!("{abi}: no prototype for {m}"));
        }
    }
    e
}

/// The system call `nr` of `abi`; for i386, strace's numbers of the
/// socketcall and ipc sub-calls too (see [`crate::subcall`]).
pub fn syscall(abi: LinuxAbi, nr: u64) -> Option<&'static SyscallDesc> {
    if crate::subcall::is_subcall(abi, nr) {
        return tables().subcalls.iter().find(|d| d.nr == nr);
    }
    let t = table(abi);
    let idx = usize::try_from(nr).ok()?;
    let di = (*t.by_nr.get(idx)?)?;
    t.descs.get(di as usize)
}

/// The system call named `name` in `abi`.
pub fn by_name(abi: LinuxAbi, name: &str) -> Option<&'static SyscallDesc> {
    let t = table(abi);
    t.descs.get(*t.by_name.get(name)? as usize)
}

/// Every system call of `abi`, by increasing number.
pub fn all(abi: LinuxAbi) -> impl Iterator<Item = &'static SyscallDesc> {
    table(abi).descs.iter()
}

/// The class names (with `%`) of a call.
pub fn classes(desc: &SyscallDesc) -> Vec<&'static str> {
    Classes::ALL
        .iter()
        .filter(|(c, _)| desc.classes.contains(*c))
        .map(|(c, _)| match *c {
            Classes::FILE => "%file",
            Classes::PROCESS => "%process",
            Classes::NETWORK => "%network",
            Classes::SIGNAL => "%signal",
            Classes::IPC => "%ipc",
            Classes::DESC => "%desc",
            Classes::MEMORY => "%memory",
            Classes::CREDS => "%creds",
            _ => "%clock",
        })
        .collect()
}

/// Names of the calls of `abi` in class `class_name` (`"file"` or `"%file"`).
pub fn class_members_abi(abi: LinuxAbi, class_name: &str) -> Vec<&'static str> {
    let Some(c) = Classes::from_name(class_name) else {
        return Vec::new();
    };
    let subcalls = match abi {
        LinuxAbi::I386 => &tables().subcalls[..],
        LinuxAbi::X86_64 => &[],
    };
    let mut v: Vec<&'static str> = all(abi).filter(|d| d.in_class(c)).map(|d| d.name).collect();
    for d in subcalls.iter().filter(|d| d.in_class(c)) {
        if !v.contains(&d.name) {
            v.push(d.name);
        }
    }
    v
}

/// The arguments of `desc` from its registers `raw`: each 64-bit pair
/// (see [`ArgType::LoHi64`]) becomes one value, so that argument `i` is
/// element `i`; calls without pairs get `raw` as it is.
pub fn logical_args<'r>(desc: &SyscallDesc, raw: &'r [u64]) -> std::borrow::Cow<'r, [u64]> {
    if !desc.args.iter().any(|a| a.ty.is_pair()) {
        return std::borrow::Cow::Borrowed(raw);
    }
    let reg = |j: usize| raw.get(j).copied().unwrap_or(0) & 0xffff_ffff;
    let mut out = Vec::with_capacity(desc.args.len());
    let mut j = 0;
    for a in &desc.args {
        match a.ty {
            ArgType::HiLo64 => out.push(reg(j) << 32 | reg(j + 1)),
            ArgType::PosPair => out.push(raw.get(j).copied().unwrap_or(0)),
            t if t.is_pair() => out.push(reg(j) | reg(j + 1) << 32),
            _ => out.push(raw.get(j).copied().unwrap_or(0)),
        }
        j += 1 + usize::from(a.ty.is_pair());
    }
    std::borrow::Cow::Owned(out)
}

/// The description of i386's socketcall or ipc sub-call `name` (see
/// [`crate::subcall`]); `None` for other names and ABIs.
pub fn subcall_by_name(abi: LinuxAbi, name: &str) -> Option<&'static SyscallDesc> {
    if abi != LinuxAbi::I386 {
        return None;
    }
    tables().subcalls.iter().find(|d| d.name == name)
}

/// i386's socketcall and ipc sub-calls (strace's numbers).
#[cfg(test)]
pub(crate) fn subcalls() -> impl Iterator<Item = &'static SyscallDesc> {
    tables().subcalls.iter()
}

/// The names of i386's socketcall and ipc sub-calls that are not calls
/// of their own in either table (`send`, `recv`): names filters accept.
pub fn subcall_only_names() -> Vec<&'static str> {
    tables()
        .subcalls
        .iter()
        .map(|d| d.name)
        .filter(|n| by_name(LinuxAbi::I386, n).is_none() && by_name(LinuxAbi::X86_64, n).is_none())
        .collect()
}

/// Names of the calls of either ABI in class `class_name`, sorted and
/// deduplicated. Unknown class: empty.
pub fn class_members(class_name: &str) -> Vec<&'static str> {
    let mut v = class_members_abi(LinuxAbi::X86_64, class_name);
    v.extend(class_members_abi(LinuxAbi::I386, class_name));
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::parse::parse_proto_line;
    use super::*;

    #[test]
    fn data_parses_without_errors() {
        let e = data_errors();
        assert!(e.is_empty(), "{e:#?}");
    }

    #[test]
    fn x86_64_numbers() {
        let n = |nr| syscall(LinuxAbi::X86_64, nr).map(|d| d.name);
        assert_eq!(n(0), Some("read"));
        assert_eq!(n(1), Some("write"));
        assert_eq!(n(2), Some("open"));
        assert_eq!(n(59), Some("execve"));
        assert_eq!(n(60), Some("exit"));
        assert_eq!(n(231), Some("exit_group"));
        assert_eq!(n(257), Some("openat"));
        assert_eq!(n(435), Some("clone3"));
        assert_eq!(n(462), Some("mseal"));
        assert_eq!(n(400), None, "387..423 are unused on x86_64");
        assert_eq!(n(512), None, "x32 entries are skipped");
        assert_eq!(n(u64::MAX), None);
        assert!(all(LinuxAbi::X86_64).count() >= 360);
    }

    #[test]
    fn i386_numbers() {
        let n = |nr| syscall(LinuxAbi::I386, nr).map(|d| d.name);
        assert_eq!(n(1), Some("exit"));
        assert_eq!(n(3), Some("read"));
        assert_eq!(n(5), Some("open"));
        assert_eq!(n(11), Some("execve"));
        assert_eq!(n(102), Some("socketcall"));
        assert_eq!(n(117), Some("ipc"));
        assert_eq!(n(140), Some("_llseek"));
        assert_eq!(n(192), Some("mmap2"));
        assert_eq!(n(295), Some("openat"));
        assert_eq!(n(462), Some("mseal"));
        assert_eq!(n(222), None);
        assert!(all(LinuxAbi::I386).count() >= 440);
    }

    #[test]
    fn every_name_has_a_prototype() {
        for abi in [LinuxAbi::X86_64, LinuxAbi::I386] {
            let t = table(abi);
            assert!(t.missing.is_empty(), "{abi:?}: {:?}", t.missing);
            for d in all(abi) {
                assert!(d.args.len() <= 6, "{}", d.name);
                assert_eq!(by_name(abi, d.name).map(|x| x.nr), Some(d.nr));
            }
        }
    }

    #[test]
    fn prototypes_have_the_right_shape() {
        let x = |n| by_name(LinuxAbi::X86_64, n).unwrap();
        let i = |n| by_name(LinuxAbi::I386, n).unwrap();
        let read = x("read");
        assert_eq!(read.args.len(), 3);
        assert_eq!(read.args[1].ty, ArgType::BufOut(LenFrom::Ret));
        assert_eq!(read.args[1].dir, Dir::Out);
        assert_eq!(x("write").args[1].ty, ArgType::BufIn(2));
        assert_eq!(x("openat").args[0].ty, ArgType::Dirfd);
        assert_eq!(x("openat").ret, RetKind::Fd);
        assert_eq!(x("mmap").ret, RetKind::Hex);
        assert_eq!(x("mmap").args.len(), 6);
        assert_eq!(i("mmap").args.len(), 1, "old_mmap takes a struct pointer");
        assert_eq!(i("mmap2").args[5].name, "pgoff");
        assert_eq!(i("pread64").args.len(), 4, "one offset argument");
        assert_eq!(i("pread64").regs(), 5, "i386 splits the offset");
        assert_eq!(x("pread64").args.len(), 4);
        assert_eq!(x("clone").args[3].name, "child_tidptr");
        assert_eq!(i("clone").args[3].name, "tls");
        assert_eq!(x("exit_group").ret, RetKind::None);
        assert_eq!(x("getpid").args.len(), 0);
        assert_eq!(x("rt_sigaction").args[2].dir, Dir::Out);
        assert_eq!(x("accept").args[2].dir, Dir::InOut);
        assert!(x("exit").is_noreturn() && !x("read").is_noreturn());
        assert!(x("execveat").is_exec() && i("execve").is_exec() && !x("open").is_exec());
        assert_eq!(x("renameat").path_args(), vec![1, 3]);
        assert_eq!(x("read").path_args(), Vec::<usize>::new());
    }

    #[test]
    fn classes_are_strace_like() {
        let x = |n| by_name(LinuxAbi::X86_64, n).unwrap();
        assert!(x("open").in_class(Classes::FILE));
        assert!(x("open").in_class(Classes::DESC));
        assert!(!x("read").in_class(Classes::FILE));
        assert!(x("read").in_class(Classes::DESC));
        assert!(x("execve").in_class(Classes::PROCESS));
        assert!(x("execve").in_class(Classes::FILE));
        assert!(x("connect").in_class(Classes::NETWORK));
        assert!(x("kill").in_class(Classes::SIGNAL));
        assert!(x("mmap").in_class(Classes::MEMORY));
        assert!(x("setuid").in_class(Classes::CREDS));
        assert!(x("clock_gettime").in_class(Classes::CLOCK));
        assert!(x("msgget").in_class(Classes::IPC));
        assert_eq!(classes(x("openat")), vec!["%file", "%desc"]);
        // strace 6.1's syscallent flags (TCL, TC, TP, TN, TM, TI), which
        // its trace_clock/trace_creds tests hold vstrace's classes to:
        // the sleeps and times() are no %clock calls, prctl is %creds
        // and not %process, the mq_* calls are no %ipc.
        for n in ["nanosleep", "clock_nanosleep", "times"] {
            assert!(!x(n).in_class(Classes::CLOCK), "{n}");
        }
        assert!(x("prctl").in_class(Classes::CREDS) && !x("prctl").in_class(Classes::PROCESS));
        assert!(x("rt_sigqueueinfo").in_class(Classes::PROCESS));
        assert!(x("sendfile").in_class(Classes::NETWORK));
        assert!(
            x("io_setup").in_class(Classes::MEMORY) && !x("pkey_alloc").in_class(Classes::MEMORY)
        );
        assert!(!x("mq_open").in_class(Classes::IPC) && !x("unshare").in_class(Classes::PROCESS));

        let file = class_members("%file");
        assert!(file.contains(&"open") && file.contains(&"stat64"));
        assert!(!file.contains(&"read"));
        assert_eq!(class_members("file"), file);
        assert!(class_members("%network").contains(&"socketcall"));
        assert!(class_members("%nope").is_empty());
        let x_file = class_members_abi(LinuxAbi::X86_64, "file");
        assert!(!x_file.contains(&"stat64"));
    }

    #[test]
    fn bad_prototype_lines_are_rejected() {
        assert!(parse_proto_line("f(a:nosuch)").is_err());
        assert!(parse_proto_line("f(a:buf_in(arg3))").is_err());
        assert!(parse_proto_line("f(a:int@sideways)").is_err());
        assert!(parse_proto_line("f(a:int) -> what").is_err());
        assert!(parse_proto_line("f(a:int) %nosuch").is_err());
        assert!(parse_proto_line("f(a:int, b:buf_in(arg0)) -> fd %network").is_ok());
    }
}
