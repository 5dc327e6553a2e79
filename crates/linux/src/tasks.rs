//! Processes by pid, read from the kernel's task list (strace's `-Y`:
//! `kill(42<sleep>, SIGTERM)`): from the calling task's group leader
//! round the circular `tasks` list of every thread-group leader.
//!
//! The list is hostile memory: each link is checked to be a kernel
//! address and the walk stops after [`MAX_TASKS`] steps.

use vstrace_core::read::read_u32;
use vstrace_core::VirtMem;

use crate::profile::runtime::kernel_ptr as kptr;
use crate::profile::LinuxProfile;

/// Most tasks visited for one lookup (the default `pid_max` is 32768;
/// a looping list ends here).
pub const MAX_TASKS: usize = 32_768;

/// The command name (`comm`) of the process `pid` (a thread-group id),
/// looked up from `current` (any task of the guest).
pub fn pid_comm(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    current: u64,
    pid: i32,
) -> Option<String> {
    if pid <= 0 {
        return None;
    }
    let tgid = prof.task.tgid;
    find_process(mem, prof, current, |m, task| {
        let t = read_u32(m, task.wrapping_add(tgid)).ok()? as i32;
        if t == pid {
            comm(m, prof, task)
        } else {
            None
        }
    })
    .flatten()
}

/// The task of process `pid` (a thread-group leader whose tgid, as the
/// initial namespace numbers it, is `pid`), found from `current`.
pub fn process_task(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    current: u64,
    pid: i32,
) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let tgid = prof.task.tgid;
    find_process(mem, prof, current, |m, task| {
        let t = read_u32(m, task.wrapping_add(tgid)).ok()? as i32;
        (t == pid).then_some(task)
    })
    .flatten()
}

/// The first `Some` that `f` gives for a process (a thread-group leader,
/// the task list from `current`'s leader round): None when the list
/// cannot be read, `Some(None)` when no process gave one (the whole
/// list, or [`MAX_TASKS`] of it, seen).
pub fn find_process<T>(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    current: u64,
    mut f: impl FnMut(&mut dyn VirtMem, u64) -> Option<T>,
) -> Option<Option<T>> {
    let t = &prof.task;
    let tasks = t.tasks?;
    // Only group leaders are on the list.
    let start = match t.group_leader {
        Some(off) => kptr(mem, prof, current.wrapping_add(off))?,
        None => current,
    };
    let mut task = start;
    for _ in 0..MAX_TASKS {
        if let Some(v) = f(mem, task) {
            return Some(Some(v));
        }
        let next = kptr(mem, prof, task.wrapping_add(tasks))?.wrapping_sub(tasks);
        if next == start {
            break;
        }
        task = next;
    }
    Some(None)
}

/// `task->comm`, at most 16 bytes, lossy UTF-8.
fn comm(mem: &mut dyn VirtMem, prof: &LinuxProfile, task: u64) -> Option<String> {
    let mut buf = [0u8; 16];
    let n = (prof.task.comm_len as usize).clamp(1, 16);
    mem.read_virt(task.wrapping_add(prof.task.comm), &mut buf[..n])
        .ok()?;
    let end = buf[..n].iter().position(|&c| c == 0).unwrap_or(n);
    Some(String::from_utf8_lossy(&buf[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::testmem::SparseVirt;

    #[test]
    fn finds_a_pid_round_the_list_and_stops_on_a_loop() {
        let p = crate::profile::layouts::synthetic_profile();
        let t = p.task.clone();
        let tasks = t.tasks.unwrap();
        let base = 0xffff_8880_0100_0000u64;
        let mut mem = SparseVirt::new();
        let addr = |i: u64| base + i * 0x1000;
        for (i, (pid, name)) in [(1u32, "init"), (42, "sleep"), (50, "sh")]
            .iter()
            .enumerate()
        {
            let a = addr(i as u64);
            mem.map_zeroed(a, t.size as usize);
            mem.map(a + t.tgid, &pid.to_le_bytes());
            mem.map(a + t.comm, name.as_bytes());
            let next = addr((i as u64 + 1) % 3) + tasks;
            mem.map(a + tasks, &next.to_le_bytes());
        }
        // group_leader is not in the synthetic layout: start where we are.
        assert_eq!(
            pid_comm(&mut mem, &p, addr(2), 42).as_deref(),
            Some("sleep")
        );
        assert_eq!(pid_comm(&mut mem, &p, addr(0), 7), None);
        // A list that loops without coming back to the start.
        mem.map(addr(2) + tasks, &(addr(1) + tasks).to_le_bytes());
        assert_eq!(pid_comm(&mut mem, &p, addr(0), 7), None);
    }
}
