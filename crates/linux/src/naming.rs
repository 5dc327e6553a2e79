//! `-y` / `-Y` names on decoded arguments and return values: what fds
//! name (`3</etc/passwd>`, `AT_FDCWD</tmp>`) and which command a pid
//! runs (`42<sleep>`), strace's way, read from the calling task's kernel
//! structures ([`crate::files`], [`crate::tasks`]).

use vstrace_core::{read, ArgValue, FdPath, NameOptions, Value, VirtMem};

use crate::files::{self, angle_brackets, FdDetail};
use crate::profile::LinuxProfile;
use crate::{ArgType, Dir, RetKind, SyscallDesc};

/// `AT_FDCWD` as the kernel reads it (an `int`).
const AT_FDCWD: i64 = -100;

fn detail(names: &NameOptions) -> FdDetail {
    FdDetail {
        socket: names.fd_socket,
        dev: names.fd_dev,
        pidfd: names.fd_pidfd,
        // strace prints the plain name only when `path` is asked for.
        details_only: !names.fd_path,
    }
}

/// Appends names to the fd and pid arguments of call `d` made by `task`
/// (`raw`: its raw values, `args`: as decoded); returns the fds named.
/// A descriptor argument `kept` has a name for is named so, unread; the
/// path names read are given to `kept`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn name_args(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    d: &SyscallDesc,
    raw: &[u64],
    names: &NameOptions,
    args: &mut [ArgValue],
    kept: &mut dyn vstrace_core::KeptNames,
) -> Vec<FdPath> {
    let mut out = Vec::new();
    for (i, a) in d.args.iter().enumerate() {
        let (Some(&r), Some(arg)) = (raw.get(i), args.get_mut(i)) else {
            break;
        };
        let v = i64::from(r as u32 as i32);
        // kcmp's descriptors are the processes' its pids name.
        if d.name == "kcmp" && (i == 3 || i == 4) {
            if names.fds() && typed(arg) {
                name_kcmp_fds(mem, prof, task, raw, i, names, arg, &mut out);
            }
            continue;
        }
        // fsconfig's auxiliary argument is a descriptor by command.
        let ty = crate::decode::fsconfig::effective(a.ty, raw);
        let name = match ty {
            ArgType::Fd | ArgType::Dirfd if names.fds() && v >= 0 => {
                // A name kept from an earlier call stands (the caller
                // forgets it once a call may have changed it).
                let n = match kept.name(v) {
                    Some(k) => Some(k.to_string()),
                    None => {
                        let n = files::fd_name(mem, prof, task, v, detail(names));
                        if let Some(p) = n.as_deref().filter(|p| keepable(v, p)) {
                            kept.keep(v, p);
                        }
                        n
                    }
                };
                if let Some(p) = &n {
                    out.push(fd_path(v, p));
                }
                n
            }
            ArgType::Dirfd if names.fd_path && v == AT_FDCWD => files::cwd(mem, prof, task),
            // pidfd_getfd's descriptor belongs to the process its pidfd
            // (the first argument) refers to: named in that process.
            ArgType::Int if d.name == "pidfd_getfd" && i == 1 && names.fds() && v >= 0 => {
                let pidfd = raw.first().map_or(-1, |&p| i64::from(p as u32 as i32));
                let n = files::pidfd_target(mem, prof, task, pidfd)
                    .and_then(|pid| crate::tasks::process_task(mem, prof, task, pid))
                    .and_then(|target| files::fd_name(mem, prof, target, v, detail(names)));
                // Not one of the caller's descriptors: not in its fd list.
                n
            }
            // Descriptors in a typed ioctl argument: the argument itself
            // (LOOP_SET_FD) or a structure's field (`srcfd=`).
            ArgType::IoctlArg if names.fds() && typed(arg) => {
                name_value_fds(mem, prof, task, names, arg, &mut out);
                continue;
            }
            // ioctl requests whose argument is a descriptor (LOOP_SET_FD).
            ArgType::IoctlArg
                if names.fds()
                    && v >= 0
                    && raw
                        .get(1)
                        .is_some_and(|&c| crate::structs::ioctl::arg_is_fd(c as u32)) =>
            {
                let n = files::fd_name(mem, prof, task, v, detail(names));
                if let Some(p) = &n {
                    out.push(fd_path(v, p));
                }
                n
            }
            _ if names.pid_ns
                && (ty == ArgType::Pid || crate::pidns::untyped_pid_arg(d.name, i)) =>
            {
                if let Some(t) = arg.text.as_mut() {
                    pid_names(mem, prof, task, d.name, i, raw, names, t);
                }
                continue;
            }
            ArgType::Pid if names.pid_comm && v > 0 => {
                let c = crate::tasks::pid_comm(mem, prof, task, v as i32);
                if let (Some(c), Some(t)) = (c, arg.text.as_mut()) {
                    vstrace_core::value::comm_in_angle_brackets(&c, t);
                }
                continue;
            }
            // Descriptors inside structures and arrays (poll's `fd=`,
            // landlock's `parent_fd=`, io_uring's `wq_fd=`...): strace
            // names every descriptor it prints, wherever it is.
            _ if names.fds() && typed(arg) => {
                name_value_fds(mem, prof, task, names, arg, &mut out);
                continue;
            }
            // The descriptors an SCM_RIGHTS control message carries
            // (sendmsg's, recvmsg's: the message's text is rendered
            // whole by structs/net.rs).
            _ if names.fds() && d.name.contains("msg") => {
                if let Some(t) = arg.text.as_mut() {
                    name_scm_rights(mem, prof, task, names, t, &mut out);
                }
                continue;
            }
            _ => continue,
        };
        if let (Some(n), Some(t)) = (name, arg.text.as_mut()) {
            t.push_str(&angle_brackets(&n));
        }
    }
    if names.pid_ns || names.pid_comm {
        pid_fields(mem, prof, task, d, names, args);
    }
    out
}

/// Names the descriptors of the `cmsg_type=SCM_RIGHTS, cmsg_data=[4, 5]`
/// lists of a message's text, as strace names every descriptor it
/// prints (`[4</dev/null>, 5</dev/zero>]`).
fn name_scm_rights(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    names: &NameOptions,
    text: &mut String,
    out: &mut Vec<FdPath>,
) {
    const KEY: &str = "cmsg_type=SCM_RIGHTS, cmsg_data=[";
    let mut done = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(KEY) {
        let (head, tail) = rest.split_at(at + KEY.len());
        done.push_str(head);
        let end = tail.find(']').unwrap_or(tail.len());
        let items: Vec<String> = tail[..end]
            .split(", ")
            .map(|item| {
                let name = item
                    .parse::<i64>()
                    .ok()
                    .filter(|fd| *fd >= 0)
                    .and_then(|fd| {
                        let n = files::fd_name(mem, prof, task, fd, detail(names))?;
                        out.push(fd_path(fd, &n));
                        Some(angle_brackets(&n))
                    });
                format!("{item}{}", name.unwrap_or_default())
            })
            .collect();
        done.push_str(&items.join(", "));
        rest = &tail[end..];
    }
    done.push_str(rest);
    *text = done;
}

/// Whether argument `arg` has a typed value (one whose descriptors can
/// be found and named).
fn typed(arg: &ArgValue) -> bool {
    arg.value.as_ref().is_some_and(|v| !v.is_opaque())
}

/// Names the descriptors of typed argument `arg` that have no name yet
/// (the argument itself or fields of its structures), and renders its
/// text again when one was named.
fn name_value_fds(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    names: &NameOptions,
    arg: &mut ArgValue,
    out: &mut Vec<FdPath>,
) {
    let Some(v) = arg.value.as_mut() else {
        return;
    };
    let mut named = false;
    visit_fds(v, &mut |fd, path| {
        if path.is_some() || fd < 0 {
            return;
        }
        if let Some(n) = files::fd_name(mem, prof, task, fd, detail(names)) {
            // The value renders `<path>` around it: the escaped name.
            let quoted = angle_brackets(&n);
            *path = quoted
                .strip_prefix('<')
                .and_then(|q| q.strip_suffix('>'))
                .map(str::to_string);
            out.push(fd_path(fd, &n));
            named = true;
        }
    });
    if named {
        arg.text = Some(v.render());
    }
}

/// kcmp's descriptor argument `i` (3: `idx1`, 4: `idx2` or the epoll
/// slot's `efd`/`tfd`) named in the process that holds it: `pid1`'s for
/// `idx1`, `pid2`'s for the others (strace's `printfd_pid_tracee_ns`),
/// the pid read in the caller's namespace; no name when no process has
/// that pid. Only the caller's own process's descriptors join its fd
/// list.
#[allow(clippy::too_many_arguments)]
fn name_kcmp_fds(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    raw: &[u64],
    i: usize,
    names: &NameOptions,
    arg: &mut ArgValue,
    out: &mut Vec<FdPath>,
) {
    let Some(&p) = raw.get(if i == 3 { 0 } else { 1 }) else {
        return;
    };
    let kind = crate::pidns::PidKind::Tgid;
    let Some(Some(pid)) = crate::pidns::to_initial_ns(mem, prof, task, p as u32 as i32, kind)
    else {
        return;
    };
    let Some(owner) = crate::tasks::process_task(mem, prof, task, pid) else {
        return;
    };
    // `owner` is the process whose tgid is `pid`.
    let own = read::read_u32(mem, task.wrapping_add(prof.task.tgid)).ok() == Some(pid as u32);
    let mut found = Vec::new();
    name_value_fds(mem, prof, owner, names, arg, &mut found);
    if own {
        out.extend(found);
    }
}

/// Calls `f` on every descriptor inside `v` (the values are the
/// decoders' own, finite trees).
fn visit_fds(v: &mut Value, f: &mut dyn FnMut(i64, &mut Option<String>)) {
    match v {
        Value::Fd { fd, path } => f(*fd, path),
        Value::Struct { fields, .. } => fields.iter_mut().for_each(|(_, x)| visit_fds(x, f)),
        Value::Array { items, .. } => items.iter_mut().for_each(|x| visit_fds(x, f)),
        Value::Changed { before, after } => {
            visit_fds(before, f);
            visit_fds(after, f);
        }
        Value::Commented { value, .. } | Value::WideAddr { value, .. } => visit_fds(value, f),
        _ => {}
    }
}

/// `--decode-pids=pidns` on a delivered signal's siginfo `text` as
/// task `task` (the receiver) sees it; None when nothing changes.
pub(crate) fn name_siginfo(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    text: &str,
) -> Option<String> {
    if crate::pidns::in_child_ns(mem, prof, task) != Some(true) {
        return None;
    }
    crate::pidns::annotate_fields(text, |nr| {
        pid_suffix(mem, prof, task, crate::pidns::PidKind::Tgid, nr, false)
    })
}

/// `-Y` and `--decode-pids=pidns` on the pids inside structures
/// (siginfo's `si_pid`, `struct ucred`'s `pid`...), which strace prints
/// as process ids: the command of a process that still exists
/// (`si_pid=148<sleep>`), and the namespace comment for a caller in a
/// child namespace (elsewhere every number is the tracer's already).
fn pid_fields(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    d: &SyscallDesc,
    names: &NameOptions,
    args: &mut [ArgValue],
) {
    // The namespace comment only for a caller in a child namespace; the
    // command (`-Y`) wherever the process still exists.
    if !names.pid_comm && crate::pidns::in_child_ns(mem, prof, task) != Some(true) {
        return;
    }
    for (a, arg) in d.args.iter().zip(args.iter_mut()) {
        if a.ty == ArgType::Pid {
            continue;
        }
        let Some(text) = arg.text.as_deref() else {
            continue;
        };
        if !text.contains('{') {
            continue;
        }
        // f_owner_ex's pid is a thread, process or group by its type.
        let kind = if d.name.starts_with("fcntl") {
            crate::pidns::owner_pid_kind(text)
        } else {
            crate::pidns::PidKind::Tgid
        };
        let new = crate::pidns::annotate_fields(text, |nr| {
            if names.pid_ns {
                return pid_suffix(mem, prof, task, kind, nr, names.pid_comm);
            }
            let mut out = String::new();
            let comm = (nr > 0).then(|| crate::tasks::pid_comm(mem, prof, task, nr));
            if let Some(c) = comm.flatten() {
                vstrace_core::value::comm_in_angle_brackets(&c, &mut out);
            }
            out
        });
        if let Some(t) = new {
            arg.text = Some(t);
        }
    }
}

/// At the exit of call `d` that returned `ret`: names the fds written
/// into `int[2]` out-arguments (pipe, socketpair), and gives the suffix
/// for a result that is an fd or a pid, with the fds named.
#[allow(clippy::too_many_arguments)]
pub(crate) fn name_exit(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    d: &SyscallDesc,
    raw: &[u64],
    ret: i64,
    names: &NameOptions,
    args: &mut [ArgValue],
) -> (Option<String>, Vec<FdPath>) {
    let mut fds = Vec::new();
    if names.pid_ns {
        // Arguments decoded again at the exit (prctl's), whether the call
        // succeeded or not: those annotated at the entry are no plain
        // number any more and stay as they are.
        for (i, (a, arg)) in d.args.iter().zip(args.iter_mut()).enumerate() {
            if a.ty != ArgType::Pid && !crate::pidns::untyped_pid_arg(d.name, i) {
                continue;
            }
            if let Some(t) = arg.text.as_mut() {
                pid_names(mem, prof, task, d.name, i, raw, names, t);
            }
        }
    }
    if ret < 0 {
        // A failed call: its arguments decoded at the exit are still
        // printed with their descriptors named (io_uring_setup's
        // `wq_fd=`); nothing else.
        name_written(mem, prof, task, d, names, args, &mut fds);
        return (None, fds);
    }
    name_written(mem, prof, task, d, names, args, &mut fds);
    if names.pid_ns || names.pid_comm {
        pid_fields(mem, prof, task, d, names, args);
    }
    let suffix = match d.ret {
        _ if names.fds() && ret >= 0 && returns_fd(d, raw, args) => {
            files::fd_name(mem, prof, task, ret, detail(names)).map(|n| {
                fds.push(fd_path(ret, &n));
                angle_brackets(&n)
            })
        }
        // fcntl's F_GETOWN returns the owner's pid.
        RetKind::Long if names.pid_ns && d.name.starts_with("fcntl") => {
            let cmd = raw.get(1).copied().unwrap_or(0);
            match (crate::pidns::fcntl_ret_pid(cmd, ret), i32::try_from(ret)) {
                (Some(kind), Ok(nr)) => {
                    let s = pid_suffix(mem, prof, task, kind, nr, names.pid_comm);
                    (!s.is_empty()).then_some(s)
                }
                _ => None,
            }
        }
        RetKind::Pid if names.pid_ns => {
            let kind = crate::pidns::ret_pid(d.name);
            match (kind, i32::try_from(ret)) {
                (Some(kind), Ok(nr)) => {
                    let s = pid_suffix(mem, prof, task, kind, nr, names.pid_comm);
                    (!s.is_empty()).then_some(s)
                }
                _ => None,
            }
        }
        // strace names the pids of getpid, gettid, fork... but not the
        // thread id set_tid_address returns.
        RetKind::Pid if names.pid_comm && ret > 0 && d.name != "set_tid_address" => {
            i32::try_from(ret)
                .ok()
                .and_then(|pid| crate::tasks::pid_comm(mem, prof, task, pid))
                .map(|c| {
                    let mut s = String::new();
                    vstrace_core::value::comm_in_angle_brackets(&c, &mut s);
                    s
                })
        }
        _ => None,
    };
    (suffix, fds)
}

/// Names the descriptors in the arguments of `d` decoded at the exit
/// (what the kernel wrote: pipe's `[3, 4]`, io_uring_setup's params).
/// Those read at the entry keep the names of the entry (dup2's target
/// was not open yet).
fn name_written(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    d: &SyscallDesc,
    names: &NameOptions,
    args: &mut [ArgValue],
    fds: &mut Vec<FdPath>,
) {
    if !names.fds() {
        return;
    }
    for (a, arg) in d.args.iter().zip(args.iter_mut()) {
        if a.dir != Dir::In && typed(arg) {
            name_value_fds(mem, prof, task, names, arg, fds);
        } else if a.dir != Dir::In && d.name.contains("msg") {
            // The descriptors a received SCM_RIGHTS message carries
            // (recvmsg's: the receiver's new descriptors).
            if let Some(t) = arg.text.as_mut() {
                name_scm_rights(mem, prof, task, names, t, fds);
            }
        }
    }
}

/// `--decode-pids=pidns` (with `comm` or not) on pid argument `i` of
/// call `name`: its text `text`, when it is the plain number, gets what
/// strace's `printpid` adds.
#[allow(clippy::too_many_arguments)]
fn pid_names(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    name: &str,
    i: usize,
    raw: &[u64],
    names: &NameOptions,
    text: &mut String,
) {
    let Some((kind, nr)) = crate::pidns::arg_pid(name, i, raw) else {
        return;
    };
    // Only a number as printed is annotated (not `PR_SET_PTRACER_ANY`,
    // not a hexadecimal form).
    let shown = raw.get(i).map(|&r| r as u32 as i32).unwrap_or(0);
    if *text != shown.to_string() {
        return;
    }
    text.push_str(&pid_suffix(mem, prof, task, kind, nr, names.pid_comm));
}

/// What strace prints after pid `nr` of kind `kind` as task `task` sees
/// it: the command (`comm`, processes and threads only) and the number
/// in the tracer's namespace when it differs. The command is looked up
/// by that number; nothing when the pid is not found from the caller's
/// namespace; as before (`-Y` alone) when the namespaces cannot be read.
fn pid_suffix(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    kind: crate::pidns::PidKind,
    nr: i32,
    comm: bool,
) -> String {
    use crate::pidns::PidKind;
    let mut out = String::new();
    let root = match crate::pidns::to_initial_ns(mem, prof, task, nr, kind) {
        Some(r) => r,
        None => Some(nr).filter(|&n| n > 0),
    };
    let Some(root) = root else {
        return out;
    };
    if comm && matches!(kind, PidKind::Tid | PidKind::Tgid) && root > 0 {
        if let Some(c) = crate::tasks::pid_comm(mem, prof, task, root) {
            out.push('<');
            out.push_str(&c);
            out.push('>');
        }
    }
    out.push_str(&crate::pidns::comment(nr, root));
    out
}

/// Whether the name `name` of descriptor `fd` may be kept between
/// calls: a path (a socket's name changes when sending binds it, a
/// pidfd's when its process ends).
fn keepable(fd: i64, name: &str) -> bool {
    fd_path(fd, name).path.starts_with('/')
}

/// The record's form of fd `fd` naming `name` (the device suffix, if
/// any, left out of the path; a deleted file's mark as a flag).
fn fd_path(fd: i64, name: &str) -> FdPath {
    let name = name.strip_prefix(files::RAW_MARK).unwrap_or(name);
    let path = name.split(files::DEV_MARK).next().unwrap_or(name);
    FdPath {
        fd,
        path: path.to_string(),
        deleted: files::is_deleted(name),
    }
}

/// Whether call `d`'s return is a descriptor strace names (its
/// RVAL_FD): a call returning one, but landlock_create_ruleset's version
/// query (LANDLOCK_CREATE_RULESET_VERSION: the return is the ABI
/// version); and the bpf commands that make one, when their attribute
/// was read (a decoded `{...}`).
fn returns_fd(d: &SyscallDesc, raw: &[u64], args: &[ArgValue]) -> bool {
    match d.ret {
        RetKind::Fd => {
            !(d.name == "landlock_create_ruleset" && args.get(2).is_some_and(|a| a.raw & 1 != 0))
        }
        RetKind::Long => {
            d.name == "bpf"
                && bpf_returns_fd(raw.first().map_or(u32::MAX, |&c| c as u32))
                && args
                    .get(1)
                    .and_then(|a| a.text.as_deref())
                    .is_some_and(|t| t.starts_with('{'))
        }
        _ => false,
    }
}

/// The bpf commands whose return strace names as a descriptor: map and
/// program creation, pinned-object get (and pin, which strace's shared
/// decoder marks too), get-by-id, BTF loads and links.
fn bpf_returns_fd(cmd: u32) -> bool {
    matches!(cmd, 0 | 5 | 6 | 7 | 13 | 14 | 18 | 19 | 28 | 30)
}
