//! `-y` / `-Y` names on decoded arguments and return values: what fds
//! name (`3</etc/passwd>`, `AT_FDCWD</tmp>`) and which command a pid
//! runs (`42<sleep>`), strace's way, read from the calling task's kernel
//! structures ([`crate::files`], [`crate::tasks`]).

use vstrace_core::{ArgValue, FdPath, NameOptions, VirtMem};

use crate::files::{self, angle_brackets, FdDetail};
use crate::profile::LinuxProfile;
use crate::{ArgType, RetKind, SyscallDesc};

/// `AT_FDCWD` as the kernel reads it (an `int`).
const AT_FDCWD: i64 = -100;

fn detail(names: &NameOptions) -> FdDetail {
    FdDetail {
        socket: names.fd_socket,
        dev: names.fd_dev,
    }
}

/// Appends names to the fd and pid arguments of call `d` made by `task`
/// (`raw`: its raw values, `args`: as decoded); returns the fds named.
pub(crate) fn name_args(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    d: &SyscallDesc,
    raw: &[u64],
    names: &NameOptions,
    args: &mut [ArgValue],
) -> Vec<FdPath> {
    let mut out = Vec::new();
    for (i, a) in d.args.iter().enumerate() {
        let (Some(&r), Some(arg)) = (raw.get(i), args.get_mut(i)) else {
            break;
        };
        let v = i64::from(r as u32 as i32);
        let name = match a.ty {
            ArgType::Fd | ArgType::Dirfd if names.fds() && v >= 0 => {
                let n = files::fd_name(mem, prof, task, v, detail(names));
                if let Some(p) = &n {
                    out.push(FdPath {
                        fd: v,
                        path: p.clone(),
                    });
                }
                n
            }
            ArgType::Dirfd if names.fd_path && v == AT_FDCWD => files::cwd(mem, prof, task),
            ArgType::Pid if names.pid_comm && v > 0 => {
                let c = crate::tasks::pid_comm(mem, prof, task, v as i32);
                if let (Some(c), Some(t)) = (c, arg.text.as_mut()) {
                    t.push('<');
                    t.push_str(&c);
                    t.push('>');
                }
                continue;
            }
            _ => continue,
        };
        if let (Some(n), Some(t)) = (name, arg.text.as_mut()) {
            t.push_str(&angle_brackets(&n));
        }
    }
    out
}

/// The suffix for a call's return value `ret` of kind `kind` (an fd it
/// opened, a pid), and the fd named.
pub(crate) fn name_return(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    kind: RetKind,
    ret: i64,
    names: &NameOptions,
) -> Option<(String, Option<FdPath>)> {
    match kind {
        RetKind::Fd if names.fds() && ret >= 0 => {
            let n = files::fd_name(mem, prof, task, ret, detail(names))?;
            let s = angle_brackets(&n);
            Some((s, Some(FdPath { fd: ret, path: n })))
        }
        RetKind::Pid if names.pid_comm && ret > 0 => {
            let pid = i32::try_from(ret).ok()?;
            let c = crate::tasks::pid_comm(mem, prof, task, pid)?;
            Some((format!("<{c}>"), None))
        }
        _ => None,
    }
}
