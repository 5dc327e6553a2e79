//! `--decode-pids=pidns`: a pid the calling task sees under another
//! number than the tracer's PID namespace gets that number in a comment,
//! strace's way: `getpid() = 3 /* 1234 in strace's PID NS */`.
//!
//! strace translates into its own namespace; vstrace runs outside the
//! guest, so its namespace is the guest's initial one (level 0), whose
//! numbers are the ones vstrace's `[pid N]` prefix shows. The number is
//! read from the kernel's `struct pid`s: the caller's `thread_pid` gives
//! its namespace (`numbers[level].ns`); a task whose pid of the asked
//! kind (thread, process, group, session) has the same number in that
//! namespace gives `numbers[0].nr`. A caller in the initial namespace
//! needs nothing (three reads tell). The walk over the task list is
//! bounded ([`crate::tasks::MAX_TASKS`] processes, [`MAX_THREADS`] threads
//! each); every pointer is checked to be a kernel address.

use vstrace_core::read::read_u32;
use vstrace_core::VirtMem;

use crate::profile::layouts::PidsLayout;
use crate::profile::runtime::kernel_ptr as kptr;
use crate::profile::LinuxProfile;

/// Most threads of one process visited for a thread id.
pub const MAX_THREADS: usize = 4_096;

/// Deepest namespace nesting read (the kernel's `MAX_PID_NS_LEVEL` is 32).
const MAX_LEVEL: u32 = 32;

/// Which pid a number names (strace's `enum pid_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidKind {
    /// A thread id (`gettid`, `tkill`).
    Tid,
    /// A process id (`getpid`, `kill(pid > 0)`).
    Tgid,
    /// A process group id (`getpgrp`, `kill(pid < -1)`).
    Pgid,
    /// A session id (`getsid`).
    Sid,
}

impl PidKind {
    /// The index in `signal_struct.pids` (`enum pid_type`), for the
    /// kinds a process holds.
    fn signal_index(self) -> Option<u64> {
        match self {
            PidKind::Tid => None,
            PidKind::Tgid => Some(1),
            PidKind::Pgid => Some(2),
            PidKind::Sid => Some(3),
        }
    }
}

/// The namespace (`numbers[level].ns`) and level of `pid`.
fn pid_ns(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    l: &PidsLayout,
    pid: u64,
) -> Option<(u64, u32)> {
    let level = read_u32(mem, pid.wrapping_add(l.pid_level)).ok()?;
    if level > MAX_LEVEL {
        return None;
    }
    let upid = upid_at(l, pid, level);
    Some((kptr(mem, prof, upid.wrapping_add(l.upid_ns))?, level))
}

fn upid_at(l: &PidsLayout, pid: u64, level: u32) -> u64 {
    pid.wrapping_add(l.pid_numbers)
        .wrapping_add(l.upid_size.wrapping_mul(u64::from(level)))
}

/// `pid`'s number in the initial namespace when it is `nr` in namespace
/// `ns` at `level`.
fn root_nr_if(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    l: &PidsLayout,
    pid: u64,
    ns: u64,
    level: u32,
    nr: i32,
) -> Option<i32> {
    let plevel = read_u32(mem, pid.wrapping_add(l.pid_level)).ok()?;
    if plevel < level || plevel > MAX_LEVEL {
        return None;
    }
    let upid = upid_at(l, pid, level);
    if read_u32(mem, upid.wrapping_add(l.upid_nr)).ok()? as i32 != nr {
        return None;
    }
    if kptr(mem, prof, upid.wrapping_add(l.upid_ns))? != ns {
        return None;
    }
    let root = read_u32(mem, upid_at(l, pid, 0).wrapping_add(l.upid_nr)).ok()? as i32;
    Some(root)
}

/// What the number `nr` of kind `kind`, as task `current` sees it, is in
/// the guest's initial PID namespace: `None` when that cannot be read
/// (no layout, unreadable memory); `Some(None)` when the caller is in a
/// child namespace and no such pid is found there (strace prints nothing
/// then); `Some(Some(n))` otherwise (`nr` itself for a caller in the
/// initial namespace).
pub fn to_initial_ns(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    current: u64,
    nr: i32,
    kind: PidKind,
) -> Option<Option<i32>> {
    let l = prof.pids.as_ref()?;
    let own = kptr(mem, prof, current.wrapping_add(l.task_thread_pid))?;
    let (ns, level) = pid_ns(mem, prof, l, own)?;
    if level == 0 {
        return Some(Some(nr));
    }
    if nr <= 0 {
        return Some(None);
    }
    crate::tasks::find_process(mem, prof, current, |m, task| {
        match_task(m, prof, l, task, ns, level, nr, kind)
    })
}

/// The initial-namespace number of the pid of kind `kind` that process
/// `leader` holds, when it is `nr` in namespace `ns`.
#[allow(clippy::too_many_arguments)]
fn match_task(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    l: &PidsLayout,
    leader: u64,
    ns: u64,
    level: u32,
    nr: i32,
    kind: PidKind,
) -> Option<i32> {
    let signal = kptr(mem, prof, leader.wrapping_add(l.task_signal))?;
    if let Some(i) = kind.signal_index() {
        let pid = kptr(
            mem,
            prof,
            signal
                .wrapping_add(l.signal_pids)
                .wrapping_add(i * prof.pointer_size),
        )?;
        return root_nr_if(mem, prof, l, pid, ns, level, nr);
    }
    // A thread id: every thread of the process, round its thread list.
    let head = signal.wrapping_add(l.signal_thread_head);
    let mut link = kptr(mem, prof, head)?;
    for _ in 0..MAX_THREADS {
        if link == head {
            return None;
        }
        let thread = link.wrapping_sub(l.task_thread_node);
        if let Some(pid) = kptr(mem, prof, thread.wrapping_add(l.task_thread_pid)) {
            if let Some(n) = root_nr_if(mem, prof, l, pid, ns, level, nr) {
                return Some(n);
            }
        }
        link = kptr(mem, prof, link)?;
    }
    None
}

/// Whether task `current` is in a PID namespace below the initial one
/// (None: not readable).
pub fn in_child_ns(mem: &mut dyn VirtMem, prof: &LinuxProfile, current: u64) -> Option<bool> {
    let l = prof.pids.as_ref()?;
    let own = kptr(mem, prof, current.wrapping_add(l.task_thread_pid))?;
    Some(pid_ns(mem, prof, l, own)?.1 > 0)
}

/// strace's comment for `nr` when it is `root` in the tracer's
/// namespace; empty when the numbers are the same.
pub fn comment(nr: i32, root: i32) -> String {
    if nr == root {
        String::new()
    } else {
        format!(" /* {root} in strace's PID NS */")
    }
}

/// The kind of pid argument `i` of call `name` (its raw arguments
/// `raw`) and the number to translate, as strace prints it (`printpid`,
/// `printpid_tgid_pgid`); None where strace translates nothing.
pub fn arg_pid(name: &str, i: usize, raw: &[u64]) -> Option<(PidKind, i32)> {
    let v = |k: usize| raw.get(k).map(|&r| r as u32 as i32);
    let x = v(i)?;
    // kill, wait4, waitpid, fcntl F_SETOWN: negative numbers are groups.
    let tgid_pgid = |x: i32| match x {
        x if x > 0 => Some((PidKind::Tgid, x)),
        x if x < -1 => Some((PidKind::Pgid, x.checked_neg()?)),
        _ => None,
    };
    match (name, i) {
        ("kill" | "wait4" | "waitpid", 0) => tgid_pgid(x),
        ("tkill" | "get_robust_list", 0) | ("tgkill" | "rt_tgsigqueueinfo", 1) => {
            Some((PidKind::Tid, x))
        }
        ("setpgid", 1) => Some((PidKind::Pgid, x)),
        // which: PRIO_PROCESS / IOPRIO_WHO_PROCESS, PRIO_PGRP / _PGRP.
        ("getpriority" | "setpriority", 1) => match v(0)? {
            0 => Some((PidKind::Tgid, x)),
            1 => Some((PidKind::Pgid, x)),
            _ => None,
        },
        ("ioprio_get" | "ioprio_set", 1) => match v(0)? {
            1 => Some((PidKind::Tgid, x)),
            2 => Some((PidKind::Pgid, x)),
            _ => None,
        },
        // PR_SET_PTRACER (-1 is PR_SET_PTRACER_ANY).
        ("prctl", 1) if v(0)? == 0x5961_6d61 && x != -1 => Some((PidKind::Tgid, x)),
        // PR_SCHED_CORE: arg4 is the kind (PIDTYPE_PID, _TGID, _PGID, _SID).
        ("prctl", 2) if v(0)? == 62 => match v(3)? {
            0 => Some((PidKind::Tid, x)),
            1 => Some((PidKind::Tgid, x)),
            2 => Some((PidKind::Pgid, x)),
            3 => Some((PidKind::Sid, x)),
            _ => None,
        },
        ("prctl", _) => None,
        ("fcntl" | "fcntl64", 2) if Some(v(1)? as u64) == fcntl_cmd("F_SETOWN") => tgid_pgid(x),
        ("fcntl" | "fcntl64", _) => None,
        // idtype: P_PID, P_PGID.
        ("waitid", 1) => match v(0)? {
            1 => Some((PidKind::Tgid, x)),
            2 => Some((PidKind::Pgid, x)),
            _ => None,
        },
        _ => Some((PidKind::Tgid, x)),
    }
}

/// Whether argument `i` of call `name` can hold a pid although its
/// prototype does not type it so (its meaning depends on another
/// argument: `which`, the prctl option).
pub fn untyped_pid_arg(name: &str, i: usize) -> bool {
    matches!(
        (name, i),
        (
            "getpriority" | "setpriority" | "ioprio_get" | "ioprio_set",
            1
        ) | ("prctl", 1 | 2)
            | ("fcntl" | "fcntl64", 2)
    )
}

/// fcntl command `name`'s number (x86's, the generated table).
fn fcntl_cmd(name: &str) -> Option<u64> {
    crate::xlat::Table::Fcntlcmds
        .xlat()
        .value_of(crate::proto::LinuxAbi::X86_64, name)
}

/// The kind of pid fcntl's return value is (`F_GETOWN`: a process, or a
/// group when negative, which strace shows untranslated), for its
/// command `cmd`.
pub fn fcntl_ret_pid(cmd: u64, ret: i64) -> Option<PidKind> {
    (Some(cmd & 0xffff_ffff) == fcntl_cmd("F_GETOWN") && ret > 0).then_some(PidKind::Tgid)
}

/// The kind of pid in the `pid` field of fcntl's `struct f_owner_ex`
/// as decoded in `text` (`{type=F_OWNER_PGRP, pid=4}`): by its type.
pub fn owner_pid_kind(text: &str) -> PidKind {
    if text.contains("type=F_OWNER_PGRP") {
        PidKind::Pgid
    } else if text.contains("type=F_OWNER_TID") {
        PidKind::Tid
    } else {
        PidKind::Tgid
    }
}

/// The kind of pid call `name` returns, as strace prints it (`RVAL_TID`,
/// `RVAL_TGID`, `RVAL_PGID`, `RVAL_SID`); None when its return is no pid
/// strace translates.
pub fn ret_pid(name: &str) -> Option<PidKind> {
    Some(match name {
        "gettid" | "clone" | "clone3" => PidKind::Tid,
        "getpgrp" | "getpgid" => PidKind::Pgid,
        "getsid" => PidKind::Sid,
        // strace prints setsid's new session id as a plain number.
        "setsid" | "set_tid_address" => return None,
        _ => PidKind::Tgid,
    })
}

/// The structure fields strace prints with `PRINT_FIELD_TGID` (a
/// process id): siginfo's `si_pid`, `struct flock`'s `l_pid`, netlink's
/// `nlmsg_pid` and `nl_pid`, shmid_ds's `shm_cpid`/`shm_lpid`, and the
/// `pid` of `struct ucred`, capability headers, seccomp notifications.
const PID_FIELDS: &[&str] = &[
    "si_pid",
    "l_pid",
    "nlmsg_pid",
    "nl_pid",
    "shm_cpid",
    "shm_lpid",
    "pid",
];

/// `text` (a decoded structure) with `suffix(nr)` after each number of
/// a [`PID_FIELDS`] field (`{si_pid=3, ...}` → `{si_pid=3 /* ... */,
/// ...}`); None when nothing changed. A field is a name after `{` or
/// `, ` whose `=` is followed by a decimal number ending at `,` or `}`;
/// a number already annotated is left alone.
pub fn annotate_fields(text: &str, mut suffix: impl FnMut(i32) -> String) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 32);
    let mut changed = false;
    let mut rest = text;
    while let Some(eq) = rest.find('=') {
        let (head, tail) = rest.split_at(eq);
        out.push_str(head);
        out.push('=');
        let tail = &tail[1..];
        let name_start = head
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let name = &head[name_start..];
        let boundary = head[..name_start].ends_with('{') || head[..name_start].ends_with(", ");
        let digits = tail
            .char_indices()
            .take_while(|&(i, c)| c.is_ascii_digit() || (i == 0 && c == '-'))
            .count();
        let ends = matches!(tail[digits..].chars().next(), Some(',' | '}'));
        if boundary && digits > 0 && ends && PID_FIELDS.contains(&name) {
            if let Ok(nr) = tail[..digits].parse::<i32>() {
                let s = suffix(nr);
                out.push_str(&tail[..digits]);
                if !s.is_empty() {
                    changed = true;
                    out.push_str(&s);
                }
                rest = &tail[digits..];
                continue;
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    changed.then_some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use vstrace_core::testmem::SparseVirt;

    /// A small pid layout the tests of this crate share.
    pub(crate) fn layout() -> PidsLayout {
        PidsLayout {
            task_thread_pid: 0x60,
            task_signal: 0x68,
            task_thread_node: 0x70,
            signal_pids: 0x10,
            signal_thread_head: 0x40,
            signal_live: Some(0x48),
            pid_level: 4,
            pid_numbers: 0x20,
            upid_size: 16,
            upid_nr: 0,
            upid_ns: 8,
        }
    }

    const BASE: u64 = 0xffff_8880_0100_0000;
    const NS0: u64 = 0xffff_8880_0900_0000;
    const NS1: u64 = 0xffff_8880_0900_1000;

    /// A `struct pid` at `a`: `nrs[k]` its number at level k (in NS0,
    /// then NS1).
    fn pid(mem: &mut SparseVirt, l: &PidsLayout, a: u64, nrs: &[u32]) {
        mem.map_zeroed(a, 0x100);
        mem.map(a + l.pid_level, &(nrs.len() as u32 - 1).to_le_bytes());
        for (k, nr) in nrs.iter().enumerate() {
            let u = a + l.pid_numbers + 16 * k as u64;
            mem.map(u, &nr.to_le_bytes());
            mem.map(u + 8, &[NS0, NS1][k].to_le_bytes());
        }
    }

    /// Three single-thread processes: 1 (init, NS0 only), 500 (3 in NS1,
    /// pgid 501 = 4 in NS1), 600 (NS0 only). Returns the profile and the
    /// task addresses.
    fn guest(mem: &mut SparseVirt) -> (LinuxProfile, [u64; 3]) {
        let mut p = crate::profile::layouts::synthetic_profile();
        let l = layout();
        p.pids = Some(l.clone());
        let tasks = p.task.tasks.unwrap();
        let tsk = |i: u64| BASE + i * 0x1000;
        let sig = |i: u64| BASE + 0x10_0000 + i * 0x1000;
        let pidp = |i: u64, k: u64| BASE + 0x20_0000 + i * 0x1000 + k * 0x100;
        let ids: [(&[u32], &[u32]); 3] = [(&[1], &[1]), (&[500, 3], &[501, 4]), (&[600], &[600])];
        for (i, (own, pgrp)) in ids.iter().enumerate() {
            let i = i as u64;
            let (t, s) = (tsk(i), sig(i));
            mem.map_zeroed(t, p.task.size as usize);
            mem.map_zeroed(s, 0x100);
            pid(mem, &l, pidp(i, 0), own);
            pid(mem, &l, pidp(i, 1), pgrp);
            mem.map(t + l.task_thread_pid, &pidp(i, 0).to_le_bytes());
            mem.map(t + l.task_signal, &s.to_le_bytes());
            mem.map(s + l.signal_pids + 8, &pidp(i, 0).to_le_bytes());
            mem.map(s + l.signal_pids + 16, &pidp(i, 1).to_le_bytes());
            // One thread on the process's thread list.
            let head = s + l.signal_thread_head;
            let node = t + l.task_thread_node;
            mem.map(head, &node.to_le_bytes());
            mem.map(node, &head.to_le_bytes());
            let next = tsk((i + 1) % 3) + tasks;
            mem.map(t + tasks, &next.to_le_bytes());
        }
        (p, [tsk(0), tsk(1), tsk(2)])
    }

    #[test]
    fn translates_from_a_child_namespace_only() {
        let mut mem = SparseVirt::new();
        let (p, t) = guest(&mut mem);
        let tr = |mem: &mut SparseVirt, cur: u64, nr: i32, k: PidKind| {
            to_initial_ns(mem, &p, cur, nr, k)
        };
        // From the initial namespace: the number is the tracer's.
        assert_eq!(tr(&mut mem, t[0], 3, PidKind::Tgid), Some(Some(3)));
        // From the child namespace: 3 is process 500, group 4 is 501.
        assert_eq!(tr(&mut mem, t[1], 3, PidKind::Tgid), Some(Some(500)));
        assert_eq!(tr(&mut mem, t[1], 3, PidKind::Tid), Some(Some(500)));
        assert_eq!(tr(&mut mem, t[1], 4, PidKind::Pgid), Some(Some(501)));
        // Not in that namespace (or not a group there): nothing.
        assert_eq!(tr(&mut mem, t[1], 4, PidKind::Tgid), Some(None));
        assert_eq!(tr(&mut mem, t[1], 600, PidKind::Tgid), Some(None));
        assert_eq!(comment(3, 500), " /* 500 in strace's PID NS */");
        assert_eq!(comment(3, 3), "");
        // Without the layout nothing is known.
        let mut q = p.clone();
        q.pids = None;
        assert_eq!(to_initial_ns(&mut mem, &q, t[1], 3, PidKind::Tgid), None);
    }

    #[test]
    fn a_looping_or_broken_list_ends() {
        let mut mem = SparseVirt::new();
        let (p, t) = guest(&mut mem);
        let tasks = p.task.tasks.unwrap();
        // Task 2 points back to task 1: the walk from task 1 never sees
        // task 0 again and stops at the bound.
        mem.map(t[2] + tasks, &(t[1] + tasks).to_le_bytes());
        assert_eq!(
            to_initial_ns(&mut mem, &p, t[1], 99, PidKind::Tgid),
            Some(None)
        );
        // A user-space link ends the walk.
        mem.map(t[2] + tasks, &0x1000u64.to_le_bytes());
        assert_eq!(to_initial_ns(&mut mem, &p, t[1], 99, PidKind::Tgid), None);
    }

    #[test]
    fn annotates_pid_fields_only() {
        let f = |nr: i32| {
            if nr == 3 {
                comment(3, 500)
            } else {
                String::new()
            }
        };
        assert_eq!(
            annotate_fields("{si_signo=SIGUSR1, si_code=SI_QUEUE, si_pid=3, si_uid=0}", f).as_deref(),
            Some("{si_signo=SIGUSR1, si_code=SI_QUEUE, si_pid=3 /* 500 in strace's PID NS */, si_uid=0}")
        );
        assert_eq!(
            annotate_fields("[{nlmsg_len=16, nlmsg_pid=3}, {pid=3, uid=0}]", f).as_deref(),
            Some("[{nlmsg_len=16, nlmsg_pid=3 /* 500 in strace's PID NS */}, {pid=3 /* 500 in strace's PID NS */, uid=0}]")
        );
        // Other fields, other numbers, strings, unterminated: unchanged.
        assert_eq!(annotate_fields("{si_uid=3, si_pid=4}", f), None);
        assert_eq!(annotate_fields("\"pid=3,\"", f), None);
        assert_eq!(annotate_fields("{xpid=3}", f), None);
        assert_eq!(annotate_fields("{pid=3", f), None);
        assert_eq!(
            annotate_fields("{pid=3 /* 500 in strace's PID NS */}", f),
            None
        );
    }

    #[test]
    fn kinds_as_strace_prints_them() {
        assert_eq!(arg_pid("kill", 0, &[5, 0]), Some((PidKind::Tgid, 5)));
        assert_eq!(
            arg_pid("kill", 0, &[(-5i64) as u64, 0]),
            Some((PidKind::Pgid, 5))
        );
        assert_eq!(arg_pid("kill", 0, &[(-1i64) as u64, 0]), None);
        assert_eq!(arg_pid("tgkill", 1, &[5, 6, 0]), Some((PidKind::Tid, 6)));
        assert_eq!(arg_pid("getpriority", 1, &[1, 7]), Some((PidKind::Pgid, 7)));
        assert_eq!(arg_pid("getpriority", 1, &[2, 7]), None);
        assert_eq!(ret_pid("getsid"), Some(PidKind::Sid));
        assert_eq!(ret_pid("set_tid_address"), None);
        assert_eq!(ret_pid("setsid"), None);
    }
}
