//! Linux x86 constants: errno names and messages (glibc's `strerror`
//! texts, which no header carries), signal names, and the names older
//! decoders use for the generated tables of [`crate::xlat`] (made by
//! `scripts/gen-xlat.py` from strace's xlat files and the uapi headers).

/// `(value, name)` pairs of a flag set or an enumeration.
pub type Names = &'static [(u64, &'static str)];

/// `(errno, name, message)`; 1..=133 are the uapi errnos (messages as
/// glibc's `strerror`), 512.. are kernel-internal restart codes that a
/// tracer sees on interrupted calls.
pub static ERRNOS: &[(i64, &str, &str)] = &[
    (1, "EPERM", "Operation not permitted"),
    (2, "ENOENT", "No such file or directory"),
    (3, "ESRCH", "No such process"),
    (4, "EINTR", "Interrupted system call"),
    (5, "EIO", "Input/output error"),
    (6, "ENXIO", "No such device or address"),
    (7, "E2BIG", "Argument list too long"),
    (8, "ENOEXEC", "Exec format error"),
    (9, "EBADF", "Bad file descriptor"),
    (10, "ECHILD", "No child processes"),
    (11, "EAGAIN", "Resource temporarily unavailable"),
    (12, "ENOMEM", "Cannot allocate memory"),
    (13, "EACCES", "Permission denied"),
    (14, "EFAULT", "Bad address"),
    (15, "ENOTBLK", "Block device required"),
    (16, "EBUSY", "Device or resource busy"),
    (17, "EEXIST", "File exists"),
    (18, "EXDEV", "Invalid cross-device link"),
    (19, "ENODEV", "No such device"),
    (20, "ENOTDIR", "Not a directory"),
    (21, "EISDIR", "Is a directory"),
    (22, "EINVAL", "Invalid argument"),
    (23, "ENFILE", "Too many open files in system"),
    (24, "EMFILE", "Too many open files"),
    (25, "ENOTTY", "Inappropriate ioctl for device"),
    (26, "ETXTBSY", "Text file busy"),
    (27, "EFBIG", "File too large"),
    (28, "ENOSPC", "No space left on device"),
    (29, "ESPIPE", "Illegal seek"),
    (30, "EROFS", "Read-only file system"),
    (31, "EMLINK", "Too many links"),
    (32, "EPIPE", "Broken pipe"),
    (33, "EDOM", "Numerical argument out of domain"),
    (34, "ERANGE", "Numerical result out of range"),
    (35, "EDEADLK", "Resource deadlock avoided"),
    (36, "ENAMETOOLONG", "File name too long"),
    (37, "ENOLCK", "No locks available"),
    (38, "ENOSYS", "Function not implemented"),
    (39, "ENOTEMPTY", "Directory not empty"),
    (40, "ELOOP", "Too many levels of symbolic links"),
    (42, "ENOMSG", "No message of desired type"),
    (43, "EIDRM", "Identifier removed"),
    (44, "ECHRNG", "Channel number out of range"),
    (45, "EL2NSYNC", "Level 2 not synchronized"),
    (46, "EL3HLT", "Level 3 halted"),
    (47, "EL3RST", "Level 3 reset"),
    (48, "ELNRNG", "Link number out of range"),
    (49, "EUNATCH", "Protocol driver not attached"),
    (50, "ENOCSI", "No CSI structure available"),
    (51, "EL2HLT", "Level 2 halted"),
    (52, "EBADE", "Invalid exchange"),
    (53, "EBADR", "Invalid request descriptor"),
    (54, "EXFULL", "Exchange full"),
    (55, "ENOANO", "No anode"),
    (56, "EBADRQC", "Invalid request code"),
    (57, "EBADSLT", "Invalid slot"),
    (59, "EBFONT", "Bad font file format"),
    (60, "ENOSTR", "Device not a stream"),
    (61, "ENODATA", "No data available"),
    (62, "ETIME", "Timer expired"),
    (63, "ENOSR", "Out of streams resources"),
    (64, "ENONET", "Machine is not on the network"),
    (65, "ENOPKG", "Package not installed"),
    (66, "EREMOTE", "Object is remote"),
    (67, "ENOLINK", "Link has been severed"),
    (68, "EADV", "Advertise error"),
    (69, "ESRMNT", "Srmount error"),
    (70, "ECOMM", "Communication error on send"),
    (71, "EPROTO", "Protocol error"),
    (72, "EMULTIHOP", "Multihop attempted"),
    (73, "EDOTDOT", "RFS specific error"),
    (74, "EBADMSG", "Bad message"),
    (75, "EOVERFLOW", "Value too large for defined data type"),
    (76, "ENOTUNIQ", "Name not unique on network"),
    (77, "EBADFD", "File descriptor in bad state"),
    (78, "EREMCHG", "Remote address changed"),
    (79, "ELIBACC", "Can not access a needed shared library"),
    (80, "ELIBBAD", "Accessing a corrupted shared library"),
    (81, "ELIBSCN", ".lib section in a.out corrupted"),
    (
        82,
        "ELIBMAX",
        "Attempting to link in too many shared libraries",
    ),
    (83, "ELIBEXEC", "Cannot exec a shared library directly"),
    (
        84,
        "EILSEQ",
        "Invalid or incomplete multibyte or wide character",
    ),
    (
        85,
        "ERESTART",
        "Interrupted system call should be restarted",
    ),
    (86, "ESTRPIPE", "Streams pipe error"),
    (87, "EUSERS", "Too many users"),
    (88, "ENOTSOCK", "Socket operation on non-socket"),
    (89, "EDESTADDRREQ", "Destination address required"),
    (90, "EMSGSIZE", "Message too long"),
    (91, "EPROTOTYPE", "Protocol wrong type for socket"),
    (92, "ENOPROTOOPT", "Protocol not available"),
    (93, "EPROTONOSUPPORT", "Protocol not supported"),
    (94, "ESOCKTNOSUPPORT", "Socket type not supported"),
    (95, "EOPNOTSUPP", "Operation not supported"),
    (96, "EPFNOSUPPORT", "Protocol family not supported"),
    (
        97,
        "EAFNOSUPPORT",
        "Address family not supported by protocol",
    ),
    (98, "EADDRINUSE", "Address already in use"),
    (99, "EADDRNOTAVAIL", "Cannot assign requested address"),
    (100, "ENETDOWN", "Network is down"),
    (101, "ENETUNREACH", "Network is unreachable"),
    (102, "ENETRESET", "Network dropped connection on reset"),
    (103, "ECONNABORTED", "Software caused connection abort"),
    (104, "ECONNRESET", "Connection reset by peer"),
    (105, "ENOBUFS", "No buffer space available"),
    (106, "EISCONN", "Transport endpoint is already connected"),
    (107, "ENOTCONN", "Transport endpoint is not connected"),
    (
        108,
        "ESHUTDOWN",
        "Cannot send after transport endpoint shutdown",
    ),
    (109, "ETOOMANYREFS", "Too many references: cannot splice"),
    (110, "ETIMEDOUT", "Connection timed out"),
    (111, "ECONNREFUSED", "Connection refused"),
    (112, "EHOSTDOWN", "Host is down"),
    (113, "EHOSTUNREACH", "No route to host"),
    (114, "EALREADY", "Operation already in progress"),
    (115, "EINPROGRESS", "Operation now in progress"),
    (116, "ESTALE", "Stale file handle"),
    (117, "EUCLEAN", "Structure needs cleaning"),
    (118, "ENOTNAM", "Not a XENIX named type file"),
    (119, "ENAVAIL", "No XENIX semaphores available"),
    (120, "EISNAM", "Is a named type file"),
    (121, "EREMOTEIO", "Remote I/O error"),
    (122, "EDQUOT", "Disk quota exceeded"),
    (123, "ENOMEDIUM", "No medium found"),
    (124, "EMEDIUMTYPE", "Wrong medium type"),
    (125, "ECANCELED", "Operation canceled"),
    (126, "ENOKEY", "Required key not available"),
    (127, "EKEYEXPIRED", "Key has expired"),
    (128, "EKEYREVOKED", "Key has been revoked"),
    (129, "EKEYREJECTED", "Key was rejected by service"),
    (130, "EOWNERDEAD", "Owner died"),
    (131, "ENOTRECOVERABLE", "State not recoverable"),
    (132, "ERFKILL", "Operation not possible due to RF-kill"),
    (133, "EHWPOISON", "Memory page has hardware error"),
    (512, "ERESTARTSYS", "To be restarted if SA_RESTART is set"),
    (513, "ERESTARTNOINTR", "To be restarted"),
    (514, "ERESTARTNOHAND", "To be restarted if no handler"),
    (515, "ENOIOCTLCMD", "No ioctl command"),
    (516, "ERESTART_RESTARTBLOCK", "Interrupted by signal"),
    (517, "EPROBE_DEFER", "Driver requests probe retry"),
    (518, "EOPENSTALE", "Open found a stale dentry"),
    (519, "ENOPARAM", "Parameter not supported"),
    (521, "EBADHANDLE", "Illegal NFS file handle"),
    (522, "ENOTSYNC", "Update synchronization mismatch"),
    (523, "EBADCOOKIE", "Cookie is stale"),
    (524, "ENOTSUPP", "Operation is not supported"),
    (525, "ETOOSMALL", "Buffer or request is too small"),
    (526, "ESERVERFAULT", "An untranslatable error occurred"),
    (527, "EBADTYPE", "Type not supported by server"),
    (
        528,
        "EJUKEBOX",
        "Request initiated, but will not complete before timeout",
    ),
    (529, "EIOCBQUEUED", "iocb queued, will get completion event"),
    (530, "ERECALLCONFLICT", "Conflict with recalled state"),
];

fn errno_entry(e: i64) -> Option<&'static (i64, &'static str, &'static str)> {
    ERRNOS.iter().find(|(n, _, _)| *n == e)
}

/// The name of errno `e` (positive, e.g. 2 → `"ENOENT"`). Aliases
/// (EWOULDBLOCK = EAGAIN, EDEADLOCK = EDEADLK, ENOTSUP = EOPNOTSUPP) give
/// the primary name.
pub fn errno_name(e: i64) -> Option<&'static str> {
    errno_entry(e).map(|x| x.1)
}

/// The strerror-like message of errno `e`.
pub fn errno_message(e: i64) -> Option<&'static str> {
    errno_entry(e).map(|x| x.2)
}

/// The errno numbered `name` (`"ENOENT"` → 2), for fault injection.
pub fn errno_by_name(name: &str) -> Option<i64> {
    match name {
        "EWOULDBLOCK" => return Some(11),
        "EDEADLOCK" => return Some(35),
        "ENOTSUP" => return Some(95),
        _ => {}
    }
    ERRNOS.iter().find(|(_, n, _)| *n == name).map(|x| x.0)
}

static SIGNALS: [&str; 32] = [
    "",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// The name of signal `sig` (1..=31 classic, 32 `SIGRTMIN` as the
/// kernel's signal table names it, 33..=64 as `SIGRT_n`).
pub fn signal_name(sig: u64) -> Option<String> {
    match sig {
        1..=31 => Some(SIGNALS[sig as usize].to_string()),
        32 => Some("SIGRTMIN".into()),
        33..=64 => Some(format!("SIGRT_{}", sig - 32)),
        _ => None,
    }
}

/// The number of the signal named `name` (`"SIGTERM"` or `"TERM"`).
pub fn signal_by_name(name: &str) -> Option<u64> {
    let n = name.strip_prefix("SIG").unwrap_or(name);
    SIGNALS
        .iter()
        .position(|s| s.len() > 3 && &s[3..] == n)
        .map(|i| i as u64)
}

/// `open(2)` flag bits besides the access mode (`O_CREAT`...); composite flags (O_SYNC, O_TMPFILE) come before their parts so they win. (generated: `xlat` table `open_mode_flags`)
pub static OPEN_FLAGS: Names = crate::xlat::tables::OPEN_MODE_FLAGS_X86_64;

/// The `O_ACCMODE` part of the open flags (low 2 bits), an enumeration. (generated: `xlat` table `open_access_modes`)
pub static OPEN_ACCMODE: Names = crate::xlat::tables::OPEN_ACCESS_MODES_X86_64;

/// `access(2)` mode bits (0 is `F_OK`). (generated: `xlat` table `access_modes`)
pub static ACCESS_MODES: Names = crate::xlat::tables::ACCESS_MODES_X86_64;

/// `AT_*` flag bits of the `*at` calls. (generated: `xlat` table `at_flags`)
pub static AT_FLAGS: Names = crate::xlat::tables::AT_FLAGS_X86_64;

/// The `dirfd` value meaning "relative to the current directory".
pub const AT_FDCWD: i32 = -100;

/// `mmap`/`mprotect` protection bits. (generated: `xlat` table `mmap_prot`)
pub static PROT: Names = crate::xlat::tables::MMAP_PROT_X86_64;

/// `mmap` mapping types (the low 4 bits of the flags). (generated: `xlat` table `mmap_flags`)
pub static MAP_TYPE: Names = crate::xlat::tables::MMAP_FLAGS_X86_64;

/// `mmap` flag bits besides the mapping type. (generated: `xlat` table `mmap_flags`)
pub static MAP_FLAGS: Names = crate::xlat::tables::MMAP_FLAGS_X86_64;

/// `mremap` flag bits. (generated: `xlat` table `mremap_flags`)
pub static MREMAP_FLAGS: Names = crate::xlat::tables::MREMAP_FLAGS_X86_64;

/// `clone` flag bits (the low byte is the exit signal). (generated: `xlat` table `clone_flags`)
pub static CLONE_FLAGS: Names = crate::xlat::tables::CLONE_FLAGS_X86_64;

/// `sigaction` `sa_flags` bits. (generated: `xlat` table `sigact_flags`)
pub static SA_FLAGS: Names = crate::xlat::tables::SIGACT_FLAGS_X86_64;

/// `rt_sigprocmask` `how` values. (generated: `xlat` table `sigprocmaskcmds`)
pub static SIGPROCMASK_HOW: Names = crate::xlat::tables::SIGPROCMASKCMDS_X86_64;

/// Socket address families (`AF_INET`...). (generated: `xlat` table `addrfams`)
pub static ADDRESS_FAMILIES: Names = crate::xlat::tables::ADDRFAMS_X86_64;

/// Socket types (the low 4 bits of a socket's type). (generated: `xlat` table `socktypes`)
pub static SOCK_TYPES: Names = crate::xlat::tables::SOCKTYPES_X86_64;

/// `SOCK_NONBLOCK`/`SOCK_CLOEXEC`. (generated: `xlat` table `sock_type_flags`)
pub static SOCK_TYPE_FLAGS: Names = crate::xlat::tables::SOCK_TYPE_FLAGS_X86_64;

/// IP protocol numbers (`IPPROTO_TCP`...). (generated: `xlat` table `inet_protocols`)
pub static IP_PROTOCOLS: Names = crate::xlat::tables::INET_PROTOCOLS_X86_64;

/// `send`/`recv` `MSG_*` flag bits. (generated: `xlat` table `msg_flags`)
pub static MSG_FLAGS: Names = crate::xlat::tables::MSG_FLAGS_X86_64;

/// `arch_prctl` codes. (generated: `xlat` table `archvals`)
pub static ARCH_PRCTL_CODES: Names = crate::xlat::tables::ARCHVALS_X86_64;

/// `prctl` options. (generated: `xlat` table `prctl_options`)
pub static PRCTL_OPTIONS: Names = crate::xlat::tables::PRCTL_OPTIONS_X86_64;

/// `getrandom` flags. (generated: `xlat` table `getrandom_flags`)
pub static GRND_FLAGS: Names = crate::xlat::tables::GETRANDOM_FLAGS_X86_64;

/// `fcntl` commands. (generated: `xlat` table `fcntlcmds`)
pub static FCNTL_CMDS: Names = crate::xlat::tables::FCNTLCMDS_X86_64;

/// `lseek` origins. (generated: `xlat` table `whence_codes`)
pub static WHENCE: Names = crate::xlat::tables::WHENCE_CODES_X86_64;

/// `wait4`/`waitid` option bits. (generated: `xlat` table `wait4_options`)
pub static WAIT_OPTIONS: Names = crate::xlat::tables::WAIT4_OPTIONS_X86_64;

/// Clock ids. (generated: `xlat` table `clocknames`)
pub static CLOCK_IDS: Names = crate::xlat::tables::CLOCKNAMES_X86_64;

/// File type bits of `st_mode`. (generated: `xlat` table `modetypes`)
pub static S_IFMT: Names = crate::xlat::tables::MODETYPES_X86_64;

/// Looks `v` up in an enumeration.
pub fn lookup(names: Names, v: u64) -> Option<&'static str> {
    names.iter().find(|(n, _)| *n == v).map(|(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_table_is_complete_and_consistent() {
        for e in 1..=133 {
            if e == 41 || e == 58 {
                // Unused numbers (EWOULDBLOCK/EDEADLOCK aliases live elsewhere).
                assert_eq!(errno_name(e), None);
                continue;
            }
            let name = errno_name(e).unwrap_or_else(|| panic!("errno {e} missing"));
            assert_eq!(errno_by_name(name), Some(e));
            assert!(errno_message(e).is_some_and(|m| !m.is_empty()));
        }
        assert_eq!(errno_name(2), Some("ENOENT"));
        assert_eq!(errno_message(2), Some("No such file or directory"));
        assert_eq!(errno_name(13), Some("EACCES"));
        assert_eq!(errno_name(512), Some("ERESTARTSYS"));
        assert_eq!(errno_by_name("EWOULDBLOCK"), Some(11));
        assert_eq!(errno_name(0), None);
        assert_eq!(errno_name(-2), None);
        assert_eq!(errno_name(4000), None);
    }

    #[test]
    fn signals() {
        assert_eq!(signal_name(9).as_deref(), Some("SIGKILL"));
        assert_eq!(signal_name(17).as_deref(), Some("SIGCHLD"));
        assert_eq!(signal_name(34).as_deref(), Some("SIGRT_2"));
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(65), None);
        assert_eq!(signal_by_name("SIGTERM"), Some(15));
        assert_eq!(signal_by_name("HUP"), Some(1));
        assert_eq!(signal_by_name("SIG"), None);
    }
}
