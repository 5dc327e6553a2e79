//! `struct task_struct` offsets for kernels built without BTF (Debian's
//! i386 kernels have `CONFIG_DEBUG_INFO_BTF` off), inferred from the
//! static initialiser of `init_task` (`init/init_task.c`) in the image.
//!
//! `INIT_TASK` sets, in this order in the structure:
//!
//! ```text
//! pid_t pid, tgid;                      (0, 0)
//! unsigned long stack_canary;           (CONFIG_STACKPROTECTOR only)
//! struct task_struct *real_parent;      = &init_task
//! struct task_struct *parent;           = &init_task
//! struct list_head children;            = { &init_task.children, same }
//! struct list_head sibling;             = { &init_task.sibling, same }
//! struct task_struct *group_leader;     = &init_task
//! ...
//! char comm[16];                        = "swapper"
//! ```
//!
//! and, near the start, `refcount_t usage = 2; unsigned int flags =
//! PF_KTHREAD`. That seven-pointer run is unique enough to find by
//! scanning; pid/tgid sit right before it (one more word before when the
//! image exports `__stack_chk_fail`). The result is a best effort that the
//! caller labels as inferred; the unit tests check it against the BTF
//! offsets of the real x86_64 kernel.

use super::TaskLayout;

/// How far into `init_task` the scan looks (task_struct is ~10 KiB on
/// x86_64; the fields used here are in the first 4 KiB).
pub const SCAN_LEN: usize = 0x3000;
/// `PF_KTHREAD`.
const PF_KTHREAD: u32 = 0x0020_0000;
/// `INIT_TASK_COMM`.
const INIT_COMM: &[u8] = b"swapper\0";

/// Why the layout could not be inferred.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InferError {
    /// `init_task` lies outside the image's file-backed data.
    #[error("init_task's bytes are not in the image")]
    NoData,
    /// No run of task pointers back to `init_task` (real_parent, parent, children, sibling, group_leader) was found, so the parent and list offsets are unknown.
    #[error("no real_parent/parent/children/sibling/group_leader run pointing at init_task")]
    NoParentRun,
    /// The `"swapper"` command name is not in `init_task`, so the `comm` offset is unknown.
    #[error("no \"swapper\" comm in init_task")]
    NoComm,
    /// The pointer size asked for, in bytes, is not 4 or 8.
    #[error("pointer size {0} is not 4 or 8")]
    BadPointerSize(u64),
}

fn ptr_at(b: &[u8], off: usize, psize: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(psize)?)?;
    Some(match psize {
        4 => u32::from_le_bytes(s.try_into().ok()?) as u64,
        _ => u64::from_le_bytes(s.try_into().ok()?),
    })
}

/// Infers the layout from `data`, the image bytes starting at `init_task`
/// (link address `init`), with `psize`-byte pointers; `stack_protector`
/// says whether `stack_canary` sits between `tgid` and `real_parent`.
pub fn task_layout(
    data: &[u8],
    init: u64,
    psize: u64,
    stack_protector: bool,
) -> Result<TaskLayout, InferError> {
    if psize != 4 && psize != 8 {
        return Err(InferError::BadPointerSize(psize));
    }
    let p = psize as usize;
    let data = &data[..data.len().min(SCAN_LEN)];
    if data.len() < 16 * p {
        return Err(InferError::NoData);
    }
    let at = |o: usize| ptr_at(data, o, p);
    let addr = |o: usize| init.wrapping_add(o as u64);
    let run = (0..data.len().saturating_sub(7 * p))
        .step_by(p)
        .find(|&o| {
            let (c, s) = (o + 2 * p, o + 4 * p);
            at(o) == Some(init)
                && at(o + p) == Some(init)
                && at(c) == Some(addr(c))
                && at(c + p) == Some(addr(c))
                && at(s) == Some(addr(s))
                && at(s + p) == Some(addr(s))
                && at(o + 6 * p) == Some(init)
        })
        .ok_or(InferError::NoParentRun)?;
    let canary = if stack_protector { p } else { 0 };
    let tgid = run.checked_sub(canary + 4).ok_or(InferError::NoParentRun)?;
    let pid = tgid.checked_sub(4).ok_or(InferError::NoParentRun)?;
    let comm = data
        .windows(INIT_COMM.len())
        .position(|w| w == INIT_COMM)
        .ok_or(InferError::NoComm)?;
    // usage (refcount 2) directly before flags (PF_KTHREAD), in the
    // first few words after thread_info.
    let u32_at = |o: usize| -> Option<u32> {
        Some(u32::from_le_bytes(data.get(o..o + 4)?.try_into().ok()?))
    };
    let flags = (4..0x80usize)
        .step_by(4)
        .find(|&o| u32_at(o) == Some(PF_KTHREAD) && u32_at(o - 4) == Some(2))
        .map(|o| o as u64);
    Ok(TaskLayout {
        // Unknown without BTF: a lower bound (the end of comm).
        size: (comm + 16) as u64,
        pid: pid as u64,
        tgid: tgid as u64,
        comm: comm as u64,
        comm_len: 16,
        real_parent: run as u64,
        parent: Some((run + p) as u64),
        group_leader: Some((run + 6 * p) as u64),
        mm: None,
        flags,
        tasks: None,
        stime: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic 32-bit init_task with the INIT_TASK shape.
    fn synth32(init: u64, canary: bool) -> Vec<u8> {
        let mut b = vec![0u8; 0x800];
        let put = |b: &mut Vec<u8>, o: usize, v: u32| b[o..o + 4].copy_from_slice(&v.to_le_bytes());
        put(&mut b, 24, 2); // usage
        put(&mut b, 28, PF_KTHREAD); // flags
        let rp = 0x300 + if canary { 4 } else { 0 };
        put(&mut b, 0x2f8, 0); // pid
        put(&mut b, 0x2fc, 0); // tgid
        for (i, v) in [
            init,
            init,
            init + rp as u64 + 8,
            init + rp as u64 + 8,
            init + rp as u64 + 16,
            init + rp as u64 + 16,
            init,
        ]
        .into_iter()
        .enumerate()
        {
            put(&mut b, rp + 4 * i, v as u32);
        }
        b[0x500..0x508].copy_from_slice(b"swapper\0");
        b
    }

    #[test]
    fn synthetic_layouts() {
        let init = 0xc1c5_0000;
        let l = task_layout(&synth32(init, false), init, 4, false).unwrap();
        assert_eq!((l.pid, l.tgid, l.real_parent), (0x2f8, 0x2fc, 0x300));
        assert_eq!((l.parent, l.group_leader), (Some(0x304), Some(0x318)));
        assert_eq!((l.comm, l.flags), (0x500, Some(28)));
        let l = task_layout(&synth32(init, true), init, 4, true).unwrap();
        assert_eq!((l.pid, l.tgid, l.real_parent), (0x2f8, 0x2fc, 0x304));
    }

    #[test]
    fn hostile_input_is_an_error() {
        let init = 0xc1c5_0000;
        assert_eq!(task_layout(&[], init, 4, false), Err(InferError::NoData));
        assert_eq!(
            task_layout(&[0u8; 0x4000], init, 8, false),
            Err(InferError::NoParentRun)
        );
        assert_eq!(
            task_layout(&[0u8; 64], init, 3, false),
            Err(InferError::BadPointerSize(3))
        );
        let mut b = synth32(init, false);
        b[0x500] = b'x';
        assert_eq!(task_layout(&b, init, 4, false), Err(InferError::NoComm));
        // Wrong base address: the self-pointing lists do not match.
        assert_eq!(
            task_layout(&synth32(init, false), init + 0x1000, 4, false),
            Err(InferError::NoParentRun)
        );
        // A run at offset 0 with the canary: pid would be negative.
        let mut b = vec![0u8; 0x100];
        for (i, v) in [init, init, init + 8, init + 8, init + 16, init + 16, init]
            .into_iter()
            .enumerate()
        {
            b[4 * i..4 * i + 4].copy_from_slice(&(v as u32).to_le_bytes());
        }
        assert_eq!(task_layout(&b, init, 4, true), Err(InferError::NoParentRun));
    }
}
