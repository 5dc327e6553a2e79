//! What `-P PATH` / `-e trace-fds=` match a call by, as strace's
//! pathtrace.c does: for most calls the first argument (a path, or a
//! descriptor); for the calls it lists, the descriptors and paths at
//! their places (`openat`'s dirfd and path, `dup2`'s two fds, `mmap`'s
//! fd, `epoll_ctl`'s target fd, `fsconfig`'s by command), the
//! descriptors inside memory (`poll`/`ppoll` arrays, `select` fd sets,
//! the i386 argument blocks of `oldselect` and `old_mmap`), and none for
//! calls that only create descriptors (`socket`, `pipe`, `accept`...).
//!
//! Guest memory is hostile: the arrays and sets read are bounded
//! ([`MAX_FDS`] descriptors, [`MAX_NFDS`] bits), and an unreadable part
//! ends the scan.

use vstrace_core::read::{read_u32, read_u64};
use vstrace_core::VirtMem;

use crate::{ArgType, LinuxAbi, SyscallDesc};

/// Most descriptors taken from one call's memory (a `poll` array's
/// entries); strace reads up to 1M, each costing a file lookup here.
pub const MAX_FDS: usize = 1 << 16;
/// Highest `nfds` of a `select` scanned (its sets are read up to it).
pub const MAX_NFDS: i32 = 1 << 16;

/// The descriptors (values) and path arguments (1-based) a call is
/// matched by.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Targets {
    /// Descriptors, compared with `trace-fds=` and named for `-P`.
    pub fds: Vec<i64>,
    /// Path arguments (1-based), read and compared with `-P`.
    pub paths: Vec<usize>,
}

/// Calls strace never matches: they have descriptors only as results.
const NO_TARGETS: &[&str] = &[
    "accept",
    "accept4",
    "bpf",
    "epoll_create",
    "epoll_create1",
    "eventfd",
    "eventfd2",
    "fanotify_init",
    "fsmount",
    "fsopen",
    "inotify_init",
    "inotify_init1",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "memfd_create",
    "memfd_secret",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "perf_event_open",
    "pidfd_open",
    "pipe",
    "pipe2",
    "signalfd",
    "signalfd4",
    "socket",
    "socketpair",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "userfaultfd",
];

/// A call argument (1-based) as the `int` descriptor the kernel reads.
fn fd_at(raw: &[u64], i: usize) -> Option<i64> {
    raw.get(i.wrapping_sub(1))
        .map(|&v| i64::from(v as u32 as i32))
}

/// Where a call's targets are: which places [`targets`] reads, known
/// from the call alone (no argument value), so that a filter can tell
/// that a call can never match before it reads anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// No descriptor or path to match (`getpid`, `socket`, `pipe`...).
    None,
    /// Descriptors and path arguments (1-based) in registers.
    Args(&'static [usize], &'static [usize]),
    /// i386 `old_mmap`: the fd in the argument block.
    OldMmap,
    /// i386 `oldselect`: the sets named in the argument block.
    OldSelect,
    /// `select`'s three fd sets.
    Select,
    /// `poll`'s `struct pollfd` array.
    Poll,
    /// `fsconfig`: aux and value by command.
    Fsconfig,
}

/// Where call `d` (abi `abi`) is matched, strace's way: worked out once
/// per call description, when its table is built (this runs for every
/// call a `-P` filter sees, and working it out matches the name against
/// the lists here).
pub fn shape(d: &SyscallDesc, _abi: LinuxAbi) -> Shape {
    d.trace_shape
}

/// [`shape`] worked out (each description belongs to one ABI's table).
pub(crate) fn shape_of(d: &SyscallDesc, abi: LinuxAbi) -> Shape {
    match d.name {
        n if NO_TARGETS.contains(&n) => Shape::None,
        "dup2" | "dup3" | "kexec_file_load" | "sendfile" | "sendfile64" | "tee" => {
            Shape::Args(&[1, 2], &[])
        }
        "execveat" | "faccessat" | "faccessat2" | "fchmodat" | "fchownat" | "fspick"
        | "fstatat64" | "futimesat" | "inotify_add_watch" | "mkdirat" | "mknodat"
        | "mount_setattr" | "name_to_handle_at" | "newfstatat" | "open_tree" | "openat"
        | "openat2" | "readlinkat" | "statx" | "unlinkat" | "utimensat" | "utimensat_time64" => {
            Shape::Args(&[1], &[2])
        }
        "link" | "mount" | "pivot_root" => Shape::Args(&[], &[1, 2]),
        "quotactl" | "symlink" => Shape::Args(&[], &[2]),
        "linkat" | "move_mount" | "renameat" | "renameat2" => Shape::Args(&[1, 3], &[2, 4]),
        "symlinkat" => Shape::Args(&[2], &[3]),
        "copy_file_range" | "splice" => Shape::Args(&[1, 3], &[]),
        "epoll_ctl" => Shape::Args(&[3], &[]),
        // The 64-bit mask takes two i386 arguments.
        "fanotify_mark" if abi == LinuxAbi::I386 => Shape::Args(&[5], &[6]),
        "fanotify_mark" => Shape::Args(&[4], &[5]),
        // i386's old_mmap and oldselect: one pointer to their arguments.
        "mmap" if d.args.len() == 1 => Shape::OldMmap,
        "select" if d.args.len() == 1 => Shape::OldSelect,
        "mmap" | "mmap2" => Shape::Args(&[5], &[]),
        "select" | "_newselect" | "pselect6" | "pselect6_time64" => Shape::Select,
        "poll" | "ppoll" | "ppoll_time64" => Shape::Poll,
        "fsconfig" => Shape::Fsconfig,
        // The first argument: a path, or a descriptor.
        _ => match d.args.first().map(|a| a.ty) {
            Some(ArgType::Path) => Shape::Args(&[], &[1]),
            Some(ArgType::Fd | ArgType::Dirfd) => Shape::Args(&[1], &[]),
            _ => Shape::None,
        },
    }
}

/// Whether call `d` can match `-P`/`trace-fds=` at all, whatever its
/// arguments: when not, a filter drops it without reading anything.
pub fn may_match(d: &SyscallDesc, abi: LinuxAbi) -> bool {
    shape(d, abi) != Shape::None
}

/// The register arguments (1-based) holding every descriptor call `d`
/// is matched by, when they are all in registers (none for a call with
/// no target); None when matching it reads memory.
pub fn register_fds(d: &SyscallDesc, abi: LinuxAbi) -> Option<Vec<usize>> {
    match shape(d, abi) {
        Shape::None => Some(Vec::new()),
        Shape::Args(fds, _) => Some(fds.to_vec()),
        _ => None,
    }
}

/// The register arguments (1-based) holding every descriptor call `d`
/// is matched by, for a call matched by descriptors in registers alone
/// (no path argument, nothing in memory); None otherwise. `-P`'s verdict
/// cache keys such a call's verdict by those descriptors.
pub fn register_fds_only(d: &SyscallDesc, abi: LinuxAbi) -> Option<Vec<usize>> {
    match shape(d, abi) {
        Shape::Args(fds, []) if !fds.is_empty() => Some(fds.to_vec()),
        _ => None,
    }
}

/// Calls that can neither create, close nor replace a descriptor in any
/// process's table, nor split a table from another thread's: `-P`'s
/// verdict cache stays valid across them (any other call makes it start
/// over). Only calls that are frequent in hot loops are worth listing;
/// leaving one out costs speed, never correctness. (`read` stays here
/// though reading a fanotify descriptor installs new ones: a new
/// descriptor takes a free number, and the cache only holds numbers that
/// were open.)
const KEEP_FD_TABLES: &[&str] = &[
    "_llseek",
    "_newselect",
    "brk",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "copy_file_range",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fdatasync",
    "fstat",
    "fstat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_time64",
    "getdents",
    "getdents64",
    "getpeername",
    "getpid",
    "getppid",
    "getrandom",
    "getsockname",
    "getsockopt",
    "gettid",
    "gettimeofday",
    "lseek",
    "madvise",
    "mmap",
    "mmap2",
    "mprotect",
    "munmap",
    "nanosleep",
    "newfstatat",
    "poll",
    "ppoll",
    "ppoll_time64",
    "pread64",
    "preadv",
    "preadv2",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readv",
    "recvfrom",
    "rt_sigprocmask",
    "sched_yield",
    "sendfile",
    "sendfile64",
    "sendto",
    "setsockopt",
    "splice",
    "statx",
    "tee",
    "write",
    "writev",
];

/// Whether call `d` keeps every descriptor table as it is (see
/// [`KEEP_FD_TABLES`]).
pub fn keeps_fd_tables(d: &SyscallDesc) -> bool {
    KEEP_FD_TABLES.binary_search(&d.name).is_ok()
}

/// Calls that may change descriptor tables where no traced call shows it
/// (a table split from the other threads of its address space, io_uring
/// installing or closing descriptors asynchronously, a seccomp
/// supervisor adding descriptors to another process): once one is seen,
/// `-P`'s verdict cache is off for good. (Threads made by clone without
/// `CLONE_FILES` are told by their flags, where fork tracking reads them.)
const HIDE_FD_CHANGES: &[&str] = &[
    "close_range",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "seccomp",
    "unshare",
];

/// Whether call `d` may change descriptor tables unseen (see
/// [`HIDE_FD_CHANGES`]).
pub fn hides_fd_changes(d: &SyscallDesc) -> bool {
    HIDE_FD_CHANGES.contains(&d.name)
}

/// Whether a clone with `flags` makes a child in the caller's address
/// space (`CLONE_VM`: a thread, a vfork child, posix_spawn's child).
pub fn clone_shares_space(flags: u64) -> bool {
    flags & clone_bit("CLONE_VM") != 0
}

/// The value of the clone flag `name` (0 if unknown).
fn clone_bit(name: &str) -> u64 {
    crate::consts::CLONE_FLAGS
        .iter()
        .find(|(_, n)| *n == name)
        .map_or(0, |(v, _)| *v)
}

/// Whether a clone with `flags` makes a thread of the caller's address
/// space with a descriptor table of its own (`CLONE_VM` without
/// `CLONE_FILES`; a vfork child's copy lives only while its parent
/// waits, and ends with an exec or exit that the cache sees).
pub fn clone_splits_fd_table(flags: u64) -> bool {
    clone_shares_space(flags) && flags & (clone_bit("CLONE_FILES") | clone_bit("CLONE_VFORK")) == 0
}

/// What call `d` with arguments `raw` (abi `abi`, memory `mem`) is
/// matched by, strace's way.
pub fn targets(d: &SyscallDesc, abi: LinuxAbi, raw: &[u64], mem: &mut dyn VirtMem) -> Targets {
    let fds = |idx: &[usize]| idx.iter().filter_map(|&i| fd_at(raw, i)).collect();
    let t = |f: &[usize], p: &[usize]| Targets {
        fds: fds(f),
        paths: p.iter().copied().filter(|&i| i <= raw.len()).collect(),
    };
    let only_fds = |fds: Vec<i64>| Targets {
        fds,
        paths: Vec::new(),
    };
    match shape(d, abi) {
        Shape::None => Targets::default(),
        Shape::Args(f, p) => t(f, p),
        Shape::OldMmap => only_fds(
            indirect(mem, abi, raw, 6)
                .and_then(|a| fd_at(&a, 5))
                .into_iter()
                .collect(),
        ),
        Shape::OldSelect => only_fds(
            indirect(mem, abi, raw, 5)
                .map(|a| select_fds(mem, abi, &a))
                .unwrap_or_default(),
        ),
        Shape::Select => only_fds(select_fds(mem, abi, raw)),
        Shape::Poll => only_fds(poll_fds(mem, raw)),
        Shape::Fsconfig => match raw.get(1).map(|&c| c as u32) {
            // FSCONFIG_SET_PATH, FSCONFIG_SET_PATH_EMPTY: aux is a dirfd
            // for the path in value.
            Some(3 | 4) => t(&[5], &[4]),
            // FSCONFIG_SET_FD: aux is the descriptor.
            Some(5) => t(&[5], &[]),
            _ => Targets::default(),
        },
    }
}

/// The `n` arguments an i386 call reads from the block its first
/// argument points to.
fn indirect(mem: &mut dyn VirtMem, abi: LinuxAbi, raw: &[u64], n: usize) -> Option<Vec<u64>> {
    let base = *raw.first()?;
    let w = abi.word_size();
    (0..n as u64)
        .map(|i| {
            let at = base.wrapping_add(i * w);
            match abi {
                LinuxAbi::I386 => read_u32(mem, at).ok().map(u64::from),
                LinuxAbi::X86_64 => read_u64(mem, at).ok(),
            }
        })
        .collect()
}

/// The descriptors set in `select`'s three sets (arguments 2-4, each
/// `nfds` bits, read in words as the kernel does).
fn select_fds(mem: &mut dyn VirtMem, abi: LinuxAbi, args: &[u64]) -> Vec<i64> {
    let Some(&n) = args.first() else {
        return Vec::new();
    };
    // The kernel takes nfds as an int and refuses a negative one.
    let nfds = (n as u32 as i32).min(MAX_NFDS);
    if nfds <= 0 {
        return Vec::new();
    }
    let w = abi.word_size() as usize;
    let size = (nfds as usize).div_ceil(8).div_ceil(w) * w;
    let mut out = Vec::new();
    let mut set = vec![0u8; size];
    for &ptr in args.iter().skip(1).take(3) {
        // Read whole, as strace does: a set that runs into memory that
        // cannot be read is not matched at all (pages the program never
        // touched read as zeros where the engine's user memory knows
        // them, as strace's reads see them).
        if ptr == 0 || mem.read_virt(ptr, &mut set).is_err() {
            continue;
        }
        for fd in 0..nfds as usize {
            if set[fd / 8] & (1 << (fd % 8)) != 0 {
                out.push(fd as i64);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The descriptors of `poll`'s `struct pollfd` array (argument 1, the
/// count argument 2), up to the first unreadable entry.
fn poll_fds(mem: &mut dyn VirtMem, raw: &[u64]) -> Vec<i64> {
    let (Some(&start), Some(&n)) = (raw.first(), raw.get(1)) else {
        return Vec::new();
    };
    let n = (n as u32 as usize).min(MAX_FDS);
    let mut out = Vec::new();
    // Read a page's worth of entries at a time.
    const CHUNK: usize = 512;
    let mut buf = vec![0u8; CHUNK * 8];
    let mut i = 0;
    while i < n {
        let k = CHUNK.min(n - i);
        let at = start.wrapping_add(i as u64 * 8);
        if mem.read_virt(at, &mut buf[..k * 8]).is_err() {
            // The last readable entries, one by one.
            for j in 0..k {
                match read_u32(mem, at.wrapping_add(j as u64 * 8)) {
                    Ok(fd) => out.push(i64::from(fd as i32)),
                    Err(_) => break,
                }
            }
            break;
        }
        out.extend(
            buf[..k * 8]
                .chunks_exact(8)
                .map(|e| i64::from(i32::from_le_bytes([e[0], e[1], e[2], e[3]]))),
        );
        i += k;
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    /// The neutral list is searched by bisection.
    #[test]
    fn the_neutral_list_is_sorted() {
        assert!(super::KEEP_FD_TABLES.windows(2).all(|w| w[0] < w[1]));
    }

    /// Threads (`CLONE_VM|CLONE_FILES`), vfork children and processes
    /// keep the cache; a thread with a table of its own does not.
    #[test]
    fn clones_that_split_a_descriptor_table() {
        use super::clone_splits_fd_table as splits;
        assert!(!splits(0x3d0f00), "pthread_create");
        assert!(!splits(0x4111), "vfork");
        assert!(!splits(0x1200011), "fork");
        assert!(splits(0x100 | 0x800 | 0x10000));
    }

    use super::*;
    use vstrace_core::testmem::SparseVirt;

    fn desc(abi: LinuxAbi, name: &str) -> &'static SyscallDesc {
        crate::proto::by_name(abi, name).unwrap_or_else(|| panic!("{name}"))
    }

    #[test]
    fn places_as_strace() {
        let mut m = SparseVirt::new();
        let x = LinuxAbi::X86_64;
        let tg = |m: &mut SparseVirt, n: &str, raw: &[u64]| targets(desc(x, n), x, raw, m);
        assert_eq!(tg(&mut m, "read", &[3, 0, 0]).fds, [3]);
        assert_eq!(
            tg(&mut m, "openat", &[5, 0x10, 0]),
            Targets {
                fds: vec![5],
                paths: vec![2]
            }
        );
        assert_eq!(tg(&mut m, "epoll_ctl", &[5, 1, 9, 0]).fds, [9]);
        assert_eq!(tg(&mut m, "dup2", &[9, 3]).fds, [9, 3]);
        assert_eq!(tg(&mut m, "mmap", &[0, 4096, 1, 2, 7, 0]).fds, [7]);
        assert_eq!(tg(&mut m, "socket", &[2, 1, 0]), Targets::default());
        assert_eq!(tg(&mut m, "accept4", &[3, 0, 0, 0]), Targets::default());
        assert_eq!(tg(&mut m, "rename", &[0x10, 0x20]).paths, [1]);
        assert_eq!(tg(&mut m, "symlink", &[0x10, 0x20]).paths, [2]);
        assert_eq!(
            tg(&mut m, "fsconfig", &[3, 3, 0, 0x10, 9]),
            Targets {
                fds: vec![9],
                paths: vec![4]
            }
        );
        assert_eq!(tg(&mut m, "fsconfig", &[3, 5, 0, 0, 9]).fds, [9]);
        assert_eq!(tg(&mut m, "fsconfig", &[3, 1, 0, 0, 9]), Targets::default());
        assert_eq!(tg(&mut m, "getpid", &[]), Targets::default());
    }

    #[test]
    fn calls_without_places_never_match() {
        let x = LinuxAbi::X86_64;
        for n in [
            "getpid",
            "getppid",
            "socket",
            "pipe2",
            "accept4",
            "exit_group",
        ] {
            assert!(!may_match(desc(x, n), x), "{n}");
        }
        for n in [
            "read",
            "write",
            "openat",
            "select",
            "ppoll",
            "fsconfig",
            "epoll_ctl",
        ] {
            assert!(may_match(desc(x, n), x), "{n}");
        }
        let i = LinuxAbi::I386;
        assert!(may_match(desc(i, "select"), i));
        assert!(may_match(desc(i, "mmap"), i));
    }

    #[test]
    fn poll_arrays_and_select_sets() {
        let mut m = SparseVirt::new();
        let x = LinuxAbi::X86_64;
        // Three pollfds {fd, events, revents}, then the page ends.
        let mut a = Vec::new();
        for fd in [4i32, 9, 4] {
            a.extend(fd.to_le_bytes());
            a.extend([0u8; 4]);
        }
        m.map(0x1000 - 24, &a);
        assert_eq!(
            targets(desc(x, "poll"), x, &[0x1000 - 24, 3, 0], &mut m).fds,
            [4, 9]
        );
        // A count past the mapped entries: the readable ones.
        assert_eq!(
            targets(desc(x, "ppoll"), x, &[0x1000 - 24, 1000, 0, 0, 8], &mut m).fds,
            [4, 9]
        );
        // select(10, {3,9}, NULL, {4}).
        m.map(0x3000, &(1u64 << 3 | 1 << 9).to_le_bytes());
        m.map(0x3100, &(1u64 << 4 | 1 << 12).to_le_bytes());
        let t = targets(desc(x, "select"), x, &[10, 0x3000, 0, 0x3100, 0], &mut m);
        assert_eq!(t.fds, [3, 4, 9], "bits past nfds are not read as fds");
        assert!(targets(
            desc(x, "select"),
            x,
            &[(-1i64) as u64, 0x3000, 0, 0, 0],
            &mut m
        )
        .fds
        .is_empty());
        // A set that runs into an unmapped page: not matched (strace
        // reads it whole).
        m.map(0x7000 - 8, &(1u64 << 9).to_le_bytes());
        let t = targets(desc(x, "select"), x, &[1025, 0x7000 - 8, 0, 0, 0], &mut m);
        assert!(t.fds.is_empty());
        // i386 oldselect: the five arguments in a block.
        let i = LinuxAbi::I386;
        let block: Vec<u8> = [10u32, 0x3000, 0, 0, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        m.map(0x4000, &block);
        let old = desc(i, "select");
        assert_eq!(old.args.len(), 1);
        assert_eq!(targets(old, i, &[0x4000], &mut m).fds, [3, 9]);
        // i386 old_mmap: fd is the fifth word.
        let block: Vec<u8> = [0u32, 4096, 1, 2, 7, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        m.map(0x5000, &block);
        assert_eq!(targets(desc(i, "mmap"), i, &[0x5000], &mut m).fds, [7]);
        assert!(targets(desc(i, "mmap"), i, &[0x9000], &mut m)
            .fds
            .is_empty());
    }
}
