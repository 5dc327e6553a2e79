//! The `linux_context` target: the walkers behind `-y`, `-Y` and
//! `--caller` (file table and dentry/mount chain, task list, VMA maple
//! tree and list, ELF dynamic symbols) over hostile kernel memory, with
//! the offsets of the Debian 6.1 kernel's BTF.
//!
//! Format: task `u64`, mm `u64`, fd `u16`, pid `u16`, ELF base `u64`,
//! flags `u8` (bit 0: the pre-6.1 VMA list instead of the maple tree),
//! then memory ([`FuzzMem`]: with a fill, every pointer lands on fuzzed
//! bytes, so lists and trees can loop).

use vstrace_linux::profile::layouts::{FilesLayout, MmLayout, PidsLayout, SockLayout};
use vstrace_linux::profile::{LinuxProfile, TaskLayout};
use vstrace_linux::{files, modmap, tasks, vma};

use crate::fuzzmem::FuzzMem;
use crate::input::{Cursor, Encoder};
use crate::seeds::Seed;

/// The file-table layout of the Debian 6.1 kernel.
fn files_layout() -> FilesLayout {
    FilesLayout {
        task_files: 3048,
        task_fs: 3040,
        fs_root: 24,
        fs_pwd: 40,
        files_fdt: 32,
        fdt_max_fds: 0,
        fdt_fd: 8,
        file_path: 16,
        file_inode: 32,
        file_private: 200,
        path_mnt: 0,
        path_dentry: 8,
        dentry_parent: 24,
        dentry_name: 40,
        dentry_len: 36,
        dentry_sb: 104,
        dentry_hash_pprev: Some(16),
        sb_type: 40,
        fstype_name: 0,
        inode_ino: 64,
        inode_mode: 0,
        inode_rdev: 76,
        mount_mnt: 32,
        mount_parent: 16,
        mount_mountpoint: 24,
        vfsmount_root: 0,
        netdev: None,
        sock: Some(SockLayout {
            socket_sk: 24,
            family: 16,
            daddr: 0,
            rcv_saddr: 4,
            dport: 12,
            num: 14,
            v6_daddr: Some(56),
            v6_rcv_saddr: Some(72),
            protocol: 516,
            sk_type: 514,
            netlink_portid: Some(768),
            sk_socket: Some(784),
            socket_inode: Some(48),
            unix_peer: Some(800),
            unix_addr: Some(808),
            unix_addr_len: Some(4),
            unix_addr_name: Some(8),
            state: None,
        }),
    }
}

/// The memory-map layout: 6.1's maple tree, or a pre-6.1 list.
fn mm_layout(list: bool) -> MmLayout {
    MmLayout {
        mt_root: (!list).then_some(8),
        mmap: list.then_some(0),
        vm_next: list.then_some(16),
        vm_start: 0,
        vm_end: 8,
        vm_mm: if list { 64 } else { 16 },
        vm_pgoff: 104,
        vm_file: 112,
        vm_flags: 32,
        vm_ops: Some(96),
        range_pivot: 8,
        range_slot: 128,
        arange_pivot: 8,
        arange_slot: 80,
    }
}

fn profile(list: bool) -> LinuxProfile {
    let mut p = crate::targets::x86_64_profile(
        0x1fbc0,
        TaskLayout {
            size: 0x2600,
            pid: 0x598,
            tgid: 0x59c,
            comm: 0x758,
            comm_len: 16,
            real_parent: 0x5a8,
            parent: Some(0x5b0),
            group_leader: Some(0x5e0),
            mm: Some(0x470),
            flags: Some(0x2c),
            tasks: Some(0x4a8),
            stime: None,
        },
    );
    p.files = Some(files_layout());
    p.mm = Some(mm_layout(list));
    // `struct pid` as 6.1 lays it out (`numbers` at 96, `upid.nr` first):
    // what a pidfd's name reads. The task-side offsets are not read by
    // this target's walkers.
    p.pids = Some(PidsLayout {
        task_thread_pid: 0x5f0,
        task_signal: 0x7a0,
        task_thread_node: 0x628,
        signal_pids: 0x150,
        signal_thread_head: 0x10,
        signal_live: None,
        pid_level: 4,
        pid_numbers: 96,
        upid_size: 16,
        upid_nr: 0,
        upid_ns: 8,
    });
    p
}

/// See the module doc for the format.
pub fn linux_context(data: &[u8]) {
    let mut c = Cursor::new(data);
    let (task, mm) = (c.u64(), c.u64());
    let (fd, pid) = (i64::from(c.u16()), i32::from(c.u16()));
    let base = c.u64();
    let flags = c.u8();
    let prof = profile(flags & 1 != 0);
    let mut mem = FuzzMem::decode(&mut c);
    let all = files::FdDetail {
        socket: true,
        dev: true,
        pidfd: true,
        details_only: flags & 2 != 0,
    };
    let _ = files::fd_name(&mut mem, &prof, task, fd, all);
    let _ = files::cwd(&mut mem, &prof, task);
    let _ = tasks::pid_comm(&mut mem, &prof, task, pid);
    let _ = vma::task_mm(&mut mem, &prof, task);
    if let Some(areas) = vma::areas(&mut mem, &prof, task, mm) {
        if let Some(a) = vma::find(&areas, base) {
            let _ = vma::module_base(&areas, a);
        }
    }
    if let Some(t) = modmap::read_dynsym(&mut mem, base) {
        let _ = t.lookup(base.wrapping_add(0x1000));
    }
}

/// Seeds: a consistent small world (a task with fd 3 on /etc/passwd,
/// its cwd, itself on the task list, an mm of two areas in a maple leaf
/// or a list, the first backed by the file) and an ELF image with two
/// exported functions, for both VMA layouts; and a kernel-looking fill
/// where every pointer lands on fuzzed bytes.
pub fn linux_context_seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    for (name, list) in [("maple", false), ("list", true)] {
        let (regions, task, mm, base) = world(list);
        let mut e = Encoder::new();
        e.u64(task).u64(mm).u16(3).u16(42).u64(base).u8(list as u8);
        FuzzMem::encode(&mut e, &regions, None);
        out.push((format!("context-{name}"), e.out));
    }
    let k = 0xffff_8880_0100_0000u64;
    let mut fill = Vec::new();
    for i in 0..512u64 {
        let v = match i % 4 {
            0 => k + (i * 0x40) % 0x3000,
            1 => (k + 0x200 * (i % 7)) | (1 << 3) | 4,
            2 => i % 32,
            _ => 0x7f00_0000_0000 + i * 0x1000,
        };
        fill.extend_from_slice(&v.to_le_bytes());
    }
    let mut e = Encoder::new();
    e.u64(k).u64(k + 0x800).u16(3).u16(1).u64(k + 0x1000).u8(0);
    FuzzMem::encode(&mut e, &[], Some(&fill));
    out.push(("context-fill".into(), e.out));
    out
}

/// The seed world: regions, task, mm and ELF base.
fn world(list: bool) -> (Vec<(u64, Vec<u8>)>, u64, u64, u64) {
    let k = 0xffff_8880_0100_0000u64;
    let mut r = vec![0u8; 0x6000];
    let mut put = |off: u64, v: u64| {
        let o = off as usize;
        r[o..o + 8].copy_from_slice(&v.to_le_bytes());
    };
    let (task, files, fdt, arr, file, inode) = (0, 0x3000, 0x3100, 0x3200, 0x3300, 0x3400);
    let (mount, root, etc, passwd, sb, fstype) = (0x3500, 0x3600, 0x3700, 0x3800, 0x3900, 0x3a00);
    let (strs, fs, mm, leaf, vma1, vma2) = (0x3b00, 0x4000, 0x5000, 0x5100, 0x5300, 0x5400);
    let l = files_layout();
    put(task + l.task_files, k + files);
    put(task + l.task_fs, k + fs);
    put(task + 0x470, k + mm);
    put(task + 0x4a8, k + task + 0x4a8);
    put(task + 0x5e0, k + task);
    put(task + 0x59c, 42);
    put(task + 0x758, u64::from_le_bytes(*b"ctx\0\0\0\0\0"));
    put(files + l.files_fdt, k + fdt);
    put(fdt + l.fdt_max_fds, 8);
    put(fdt + l.fdt_fd, k + arr);
    put(arr + 3 * 8, k + file);
    put(file + l.file_path + l.path_mnt, k + mount + l.mount_mnt);
    put(file + l.file_path + l.path_dentry, k + passwd);
    put(file + l.file_inode, k + inode);
    put(inode + l.inode_ino, 1234);
    put(mount + l.mount_parent, k + mount);
    put(mount + l.mount_mnt + l.vfsmount_root, k + root);
    for (d, parent, name, len) in [
        (root, root, strs, 1),
        (etc, root, strs + 8, 3),
        (passwd, etc, strs + 16, 6),
    ] {
        put(d + l.dentry_parent, k + parent);
        put(d + l.dentry_len, len);
        put(d + l.dentry_name, k + name);
        put(d + l.dentry_sb, k + sb);
        put(d + 16, k + d);
    }
    put(strs, u64::from_le_bytes(*b"/\0\0\0\0\0\0\0"));
    put(strs + 8, u64::from_le_bytes(*b"etc\0\0\0\0\0"));
    put(strs + 16, u64::from_le_bytes(*b"passwd\0\0"));
    put(strs + 24, u64::from_le_bytes(*b"ext4\0\0\0\0"));
    put(sb + l.sb_type, k + fstype);
    put(fstype + l.fstype_name, k + strs + 24);
    for p in [l.fs_root, l.fs_pwd] {
        put(fs + p + l.path_mnt, k + mount + l.mount_mnt);
        put(fs + p + l.path_dentry, k + root);
    }
    let m = mm_layout(list);
    let base = 0x7f00_0000_0000u64;
    for (v, start, end, f) in [
        (vma1, base, base + 0x2000, k + file),
        (vma2, 0x40_0000, 0x40_1000, 0),
    ] {
        put(v + m.vm_start, start);
        put(v + m.vm_end, end);
        put(v + m.vm_mm, k + mm);
        put(v + m.vm_file, f);
    }
    if list {
        put(mm, k + vma1);
        put(vma1 + 16, k + vma2);
    } else {
        put(mm + 8, (k + leaf) | (1 << 3) | 4 | 2);
        put(leaf + m.range_slot, k + vma1);
        put(leaf + m.range_slot + 8, k + vma2);
    }
    (vec![(k, r), (base, elf())], k + task, k + mm, base)
}

/// An ET_DYN image: header, PT_DYNAMIC, DT_SYMTAB/DT_STRTAB/DT_STRSZ
/// (link-time values), two functions.
fn elf() -> Vec<u8> {
    let mut m = vec![0u8; 0x2100];
    m[..6].copy_from_slice(b"\x7fELF\x02\x01");
    m[16] = 3;
    m[32..40].copy_from_slice(&64u64.to_le_bytes());
    m[54] = 56;
    m[56] = 1;
    m[64] = 2;
    m[80..88].copy_from_slice(&0x1000u64.to_le_bytes());
    for (i, (t, v)) in [(6u64, 0x2000u64), (5, 0x2000 + 3 * 24), (10, 32)]
        .iter()
        .enumerate()
    {
        let o = 0x1000 + i * 16;
        m[o..o + 8].copy_from_slice(&t.to_le_bytes());
        m[o + 8..o + 16].copy_from_slice(&v.to_le_bytes());
    }
    for (i, (name, value)) in [(1u32, 0x500u64), (7, 0x600)].iter().enumerate() {
        let o = 0x2000 + (i + 1) * 24;
        m[o..o + 4].copy_from_slice(&name.to_le_bytes());
        m[o + 4] = 0x12;
        m[o + 6] = 12;
        m[o + 8..o + 16].copy_from_slice(&value.to_le_bytes());
        m[o + 16..o + 24].copy_from_slice(&0x40u64.to_le_bytes());
    }
    m[0x2000 + 72..0x2000 + 86].copy_from_slice(b"\0write\0getpid\0");
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thousands of deterministic mutations of the seeds (bytes of the
    /// fill rewritten, so pointers loop, trees point back at their
    /// roots, lengths grow): every walk returns, and quickly.
    #[test]
    fn walkers_survive_mutated_kernel_memory() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        let t = std::time::Instant::now();
        for (_, seed) in linux_context_seeds() {
            for _ in 0..2000 {
                let mut m = seed.clone();
                for _ in 0..1 + next() % 16 {
                    let i = (next() as usize) % m.len();
                    m[i] = next() as u8;
                }
                linux_context(&m);
            }
        }
        assert!(t.elapsed().as_secs() < 60, "{:?}", t.elapsed());
    }
}

#[cfg(test)]
mod reach {
    use super::*;

    /// The seeds reach into the walks (not only their first check).
    #[test]
    fn seeds_walk_trees_and_lists() {
        for (name, seed) in linux_context_seeds() {
            let mut c = Cursor::new(&seed);
            let (task, mm) = (c.u64(), c.u64());
            let _ = (c.u16(), c.u16(), c.u64());
            let list = c.u8() & 1 != 0;
            let mut mem = FuzzMem::decode(&mut c);
            let prof = profile(list);
            let areas = vma::areas(&mut mem, &prof, task, mm).unwrap_or_default();
            let name3 = files::fd_name(&mut mem, &prof, task, 3, Default::default());
            if name == "context-fill" {
                continue;
            }
            assert_eq!(name3.as_deref(), Some("/etc/passwd"), "{name}");
            assert_eq!(
                tasks::pid_comm(&mut mem, &prof, task, 42).as_deref(),
                Some("ctx")
            );
            assert_eq!(areas.len(), 2, "{name}: {areas:?}");
            assert_eq!(areas[1].path.as_deref(), Some("/etc/passwd"), "{name}");
            let t = modmap::read_dynsym(&mut mem, areas[1].start).expect("symbols");
            assert_eq!(t.lookup(areas[1].start + 0x510), Some(("write", 0x10)));
        }
    }
}
