//! The parser of `data/prototypes.txt`: one line per call, its
//! arguments' decoders, its return kind and its filter classes.

use std::collections::HashMap;

use super::*;

/// A parsed prototype line.
#[derive(Debug, Clone)]
pub(super) struct Proto {
    pub(super) args: Vec<ArgDesc>,
    pub(super) ret: RetKind,
    pub(super) classes: Classes,
}

fn parse_ret(s: &str) -> Option<RetKind> {
    Some(match s {
        "long" => RetKind::Long,
        "ulong" => RetKind::Ulong,
        "fd" => RetKind::Fd,
        "pid" => RetKind::Pid,
        "uid" => RetKind::Uid,
        "gid" => RetKind::Gid,
        "hex" => RetKind::Hex,
        "octal" => RetKind::Octal,
        "none" => RetKind::None,
        _ => return None,
    })
}

fn parse_arg(s: &'static str) -> Result<ArgDesc, String> {
    let (name, rest) = s
        .split_once(':')
        .ok_or_else(|| format!("argument without type: {s:?}"))?;
    let (ty, dir) = match rest.split_once('@') {
        Some((t, d)) => (t, Some(d)),
        None => (rest, None),
    };
    let ty = ArgType::parse(ty).ok_or_else(|| format!("unknown type {ty:?}"))?;
    let dir = match dir {
        None => ty.default_dir(),
        Some("in") => Dir::In,
        Some("out") => Dir::Out,
        Some("inout") => Dir::InOut,
        Some(d) => return Err(format!("unknown direction {d:?}")),
    };
    Ok(ArgDesc {
        name: name.trim(),
        ty,
        dir,
    })
}

/// Parses one prototype line into (i386-only?, name, prototype).
pub(super) fn parse_proto_line(line: &'static str) -> Result<(bool, &'static str, Proto), String> {
    let (i386, line) = match line.strip_prefix("i386:") {
        Some(l) => (true, l),
        None => (false, line),
    };
    let open = line.find('(').ok_or("missing '('")?;
    let close = line.find(')').ok_or("missing ')'")?;
    // Parameter lists like buf_out(ret) nest one level: find the matching ')'.
    let mut depth = 0;
    let mut end = None;
    for (i, c) in line.char_indices().skip(open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let end = end.unwrap_or(close);
    let name = line[..open].trim();
    let inner = &line[open + 1..end];
    let mut args = Vec::new();
    if !inner.trim().is_empty() {
        for a in split_args(inner) {
            args.push(parse_arg(a.trim())?);
        }
    }
    if args.len() > 6 {
        return Err("more than 6 arguments".into());
    }
    for a in &args {
        if let Some(n) = a.ty.referenced_arg() {
            if n as usize >= args.len() {
                return Err(format!("{}: refers to missing arg{n}", a.name));
            }
        }
    }
    let mut ret = RetKind::Long;
    let mut classes = Classes::default();
    let mut rest = line[end + 1..].split_whitespace().peekable();
    while let Some(tok) = rest.next() {
        if tok == "->" {
            let r = rest.next().ok_or("missing return kind")?;
            ret = parse_ret(r).ok_or_else(|| format!("unknown return kind {r:?}"))?;
        } else if let Some(c) = Classes::from_name(tok).filter(|_| tok.starts_with('%')) {
            classes |= c;
        } else {
            return Err(format!("unexpected {tok:?}"));
        }
    }
    // Derived classes, as strace defines them.
    if args.iter().any(|a| a.ty == ArgType::Path) {
        classes |= Classes::FILE;
    }
    if ret == RetKind::Fd
        || args
            .iter()
            .any(|a| matches!(a.ty, ArgType::Fd | ArgType::Dirfd | ArgType::PipeFds))
    {
        classes |= Classes::DESC;
    }
    Ok((i386, name, Proto { args, ret, classes }))
}

/// Splits on commas that are not inside parentheses.
fn split_args(s: &'static str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Prototypes by name: (shared, i386-only variants).
pub(super) struct Protos {
    pub(super) shared: HashMap<&'static str, Proto>,
    pub(super) i386: HashMap<&'static str, Proto>,
    pub(super) errors: Vec<String>,
}

pub(super) fn parse_protos() -> Protos {
    let mut p = Protos {
        shared: HashMap::new(),
        i386: HashMap::new(),
        errors: Vec::new(),
    };
    for (lineno, line) in PROTOTYPES.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_proto_line(line) {
            Ok((i386, name, proto)) => {
                let map = if i386 { &mut p.i386 } else { &mut p.shared };
                if map.insert(name, proto).is_some() {
                    p.errors
                        .push(format!("prototypes.txt:{}: duplicate {name}", lineno + 1));
                }
            }
            Err(e) => p.errors.push(format!("prototypes.txt:{}: {e}", lineno + 1)),
        }
    }
    p
}

impl ArgType {
    /// The argument type a prototype names (`fd`, `xlat(resources)`,
    /// `buf_in(arg2)`...); `None` for an unknown one.
    pub(super) fn parse(s: &str) -> Option<ArgType> {
        let (base, param) = match s.find('(') {
            Some(i) => (&s[..i], Some(s[i + 1..].strip_suffix(')')?)),
            None => (s, None),
        };
        let arg = |p: Option<&str>| -> Option<u8> {
            let n: u8 = p?.strip_prefix("arg")?.parse().ok()?;
            (n < 6).then_some(n)
        };
        let t = match (base, param) {
            ("buf_in", p) => ArgType::BufIn(arg(p)?),
            ("buf_out", Some("ret")) => ArgType::BufOut(LenFrom::Ret),
            ("buf_out", p) => ArgType::BufOut(LenFrom::Arg(arg(p)?)),
            ("sockaddr", p) => ArgType::Sockaddr(arg(p)?),
            ("sockaddr_out", p) => ArgType::SockaddrOut(arg(p)?),
            ("iovec_in", p) => ArgType::IovecIn(arg(p)?),
            ("iovec_out", p) => ArgType::IovecOut(arg(p)?),
            ("iovec_addr", p) => ArgType::IovecAddr(arg(p)?),
            ("xattr_val", Some("ret")) => ArgType::XattrVal(LenFrom::Ret),
            ("xattr_val", p) => ArgType::XattrVal(LenFrom::Arg(arg(p)?)),
            ("xattr_list", p) => ArgType::XattrList(arg(p)?),
            ("str_max", Some(n)) => ArgType::StrMax(n.parse().ok()?),
            ("mount_arg", Some(n)) => {
                ArgType::MountArg(n.parse().ok().filter(|n| (2..5).contains(n))?)
            }
            ("fsconfig_arg", Some(n)) => {
                ArgType::FsconfigArg(n.parse().ok().filter(|n| (2..5).contains(n))?)
            }
            ("xlat", Some(t)) => ArgType::Xlat(XlatTable::from_name(t)?),
            ("xlat_d", Some(t)) => ArgType::XlatD(XlatTable::from_name(t)?),
            ("xlat_verbose", Some(t)) => ArgType::XlatVerbose(XlatTable::from_name(t)?),
            ("xlat_dn", Some(t)) => ArgType::XlatDn(XlatTable::from_name(t)?),
            ("xlat_long", Some(t)) => ArgType::XlatLong(XlatTable::from_name(t)?),
            ("flags", Some(t)) => ArgType::Flags(XlatTable::from_name(t)?),
            ("flags_plain", Some(t)) => ArgType::FlagsPlain(XlatTable::from_name(t)?),
            ("flags_long", Some(t)) => ArgType::FlagsLong(XlatTable::from_name(t)?),
            ("open_mode", p) => ArgType::OpenMode(arg(p)?),
            ("gids_in", p) => ArgType::GidsIn(arg(p)?),
            ("mknod_dev", p) => ArgType::MknodDev(arg(p)?),
            ("ptrace_arg", Some(n)) => {
                ArgType::PtraceArg(n.parse().ok().filter(|n| (1..4).contains(n))?)
            }
            ("futex_arg", Some(n)) => {
                ArgType::FutexArg(n.parse().ok().filter(|n| (1..5).contains(n))?)
            }
            ("ipc_flags", Some(t)) => ArgType::IpcFlags(XlatTable::from_name(t)?),
            ("ipc_cmd", Some(t)) => ArgType::IpcCmd(XlatTable::from_name(t)?),
            ("keyctl_arg", Some(n)) => {
                ArgType::KeyctlArg(n.parse().ok().filter(|n| (1..5).contains(n))?)
            }
            ("prctl_arg", Some(n)) => {
                ArgType::PrctlArg(n.parse().ok().filter(|n| (1..6).contains(n))?)
            }
            ("sockopt_name", p) => ArgType::SockOptName(arg(p)?),
            ("lohi_flags", Some(t)) => ArgType::LoHiFlags64(XlatTable::from_name(t)?),
            (b, p) if crate::structs::StructKind::parse(b, p).is_some() => {
                ArgType::Struct(crate::structs::StructKind::parse(b, p)?)
            }
            (_, Some(_)) => return None,
            ("int", None) => ArgType::Int,
            ("uid16", None) => ArgType::Uid16,
            ("uid16_ptr_out", None) => ArgType::Uid16PtrOut,
            ("pgoff", None) => ArgType::PageOffset,
            ("lohi64", None) => ArgType::LoHi64,
            ("lohi_u64", None) => ArgType::LoHiU64,
            ("pos_pair", None) => ArgType::PosPair,
            ("hilo64", None) => ArgType::HiLo64,
            ("ioprio", None) => ArgType::Ioprio,
            ("umode", None) => ArgType::Umode,
            ("sym_mode", None) => ArgType::SymMode,
            ("hex_int", None) => ArgType::HexInt,
            ("hex_uint", None) => ArgType::HexUint,
            ("prctl", None) => ArgType::Prctl,
            ("ipc_key", None) => ArgType::IpcKey,
            ("dev", None) => ArgType::Dev,
            ("dirents_out", None) => ArgType::DirentsOut,
            ("reboot_arg", None) => ArgType::RebootArg,
            ("syslog_len", None) => ArgType::SyslogLen,
            ("kexec_flags", None) => ArgType::KexecFlags,
            ("gids_out", None) => ArgType::GidsOut,
            ("swap_flags", None) => ArgType::SwapFlags,
            ("seccomp_flags", None) => ArgType::SeccompFlags,
            ("hex_ptr_out", None) => ArgType::HexPtrOut,
            ("ulong_ptr_out", None) => ArgType::UlongPtrOut,
            ("i64_ptr", None) => ArgType::I64Ptr,
            ("u64_ptr", None) => ArgType::U64Ptr,
            ("off_ptr", None) => ArgType::OffPtr,
            ("fan_init_flags", None) => ArgType::FanInitFlags,
            ("fcntl_arg", None) => ArgType::FcntlArg,
            ("sock_level", None) => ArgType::SockLevel,
            ("ioctl_code", None) => ArgType::IoctlCode,
            ("ioctl_arg", None) => ArgType::IoctlArg,
            ("uint", None) => ArgType::Uint,
            ("long", None) => ArgType::Long,
            ("ulong", None) => ArgType::Ulong,
            ("hex", None) => ArgType::Hex,
            ("ipc_call", None) => ArgType::IpcCall,
            ("old_sigmask_val", None) => ArgType::OldSigmaskVal,
            ("sa_handler", None) => ArgType::SaHandler,
            ("unshown", None) => ArgType::Unshown,
            ("ptr", None) => ArgType::Ptr,
            ("fd", None) => ArgType::Fd,
            ("dirfd", None) => ArgType::Dirfd,
            ("path", None) => ArgType::Path,
            ("name", None) => ArgType::Name,
            ("str", None) => ArgType::Str,
            ("str_out", None) => ArgType::StrOut,
            ("open_flags", None) => ArgType::OpenFlags,
            ("mode", None) => ArgType::Mode,
            ("access_mode", None) => ArgType::AccessMode,
            ("at_flags", None) => ArgType::AtFlags,
            ("mmap_prot", None) => ArgType::MmapProt,
            ("mmap_flags", None) => ArgType::MmapFlags,
            ("mremap_flags", None) => ArgType::MremapFlags,
            ("clone_flags", None) => ArgType::CloneFlags,
            ("signal", None) => ArgType::Signal,
            ("sigaction", None) => ArgType::Sigaction,
            ("old_sigaction", None) => ArgType::OldSigaction,
            ("sigset", None) => ArgType::Sigset,
            ("old_sigset", None) => ArgType::OldSigset,
            ("sigprocmask_how", None) => ArgType::SigprocmaskHow,
            ("sock_family", None) => ArgType::SockFamily,
            ("sock_type", None) => ArgType::SockType,
            ("sock_proto", None) => ArgType::SockProto,
            ("msg_flags", None) => ArgType::MsgFlags,
            ("argv", None) => ArgType::Argv,
            ("envp", None) => ArgType::Envp,
            ("fcntl_cmd", None) => ArgType::FcntlCmd,
            ("arch_prctl_code", None) => ArgType::ArchPrctlCode,
            ("arch_prctl_arg", None) => ArgType::ArchPrctlArg,
            ("prctl_option", None) => ArgType::PrctlOption,
            ("grnd_flags", None) => ArgType::GrndFlags,
            ("ioctl_req", None) => ArgType::IoctlReq,
            ("whence", None) => ArgType::Whence,
            ("wait_options", None) => ArgType::WaitOptions,
            ("wait_status", None) => ArgType::WaitStatus,
            ("pipefd", None) => ArgType::PipeFds,
            ("stat_out", None) => ArgType::StatOut,
            ("stat64_out", None) => ArgType::Stat64Out,
            ("statx_out", None) => ArgType::StatxOut,
            ("int_ptr", None) => ArgType::IntPtr,
            ("pid", None) => ArgType::Pid,
            ("uid", None) => ArgType::Uid,
            ("gid", None) => ArgType::Gid,
            ("time_ptr", None) => ArgType::TimePtr,
            ("clockid", None) => ArgType::Clockid,
            _ => return None,
        };
        Some(t)
    }
}
