//! What a task's file descriptor refers to, read from outside through the
//! kernel's structures (strace's `-y` / `-yy`, and `-P` matching):
//! task → `files_struct` → `fdtable` → `file` → `f_path` → the dentry and
//! mount chain up to the task's root, as `/proc/PID/fd/N` would say it
//! (`/etc/passwd`, `pipe:[1234]`, `socket:[5678]`, `anon_inode:[eventfd]`).
//!
//! Guest memory is hostile: every pointer is checked to be a kernel
//! address before it is followed, names are bounded to `NAME_MAX`, paths
//! to `PATH_MAX` and the walk to [`MAX_STEPS`] dentries and mounts, so a
//! looping or changing structure ends the walk with `None`, never a hang.

use vstrace_core::read::{read_u16, read_u32, read_u8};
use vstrace_core::VirtMem;

use crate::profile::runtime::{kernel_ptr as kptr, read_ptr};

use crate::profile::layouts::{FilesLayout, SockLayout};
use crate::profile::LinuxProfile;

/// Most dentries and mount crossings followed for one path.
pub const MAX_STEPS: usize = 256;
/// Longest name component read (`NAME_MAX`).
const NAME_MAX: usize = 255;
/// Longest path built (`PATH_MAX`).
const PATH_MAX: usize = 4096;
/// Most fds a table may claim (the kernel's `sysctl_nr_open` ceiling).
const MAX_FDS: u64 = 1 << 30;
/// `S_IFMT` and the types the names depend on.
const S_IFMT: u16 = 0o170000;
const S_IFCHR: u16 = 0o020000;
const S_IFBLK: u16 = 0o060000;

/// How much of a descriptor to show (strace's `--decode-fds=` set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FdDetail {
    /// Socket protocol and addresses (`TCP:[1.2.3.4:5->6.7.8.9:10]`).
    pub socket: bool,
    /// Device numbers of device files (`/dev/null<char 1:3>`).
    pub dev: bool,
    /// The process a pidfd refers to (`pid:42`).
    pub pidfd: bool,
    /// Only the details asked for, no plain name (strace's
    /// `--decode-fds=` without `path`: a socket without its details, a
    /// pipe, a regular file get no name at all).
    pub details_only: bool,
}

/// The `struct file *` of descriptor `fd` in `task`'s table, `None` when
/// closed, out of range or unreadable.
pub fn fd_file(mem: &mut dyn VirtMem, prof: &LinuxProfile, task: u64, fd: i64) -> Option<u64> {
    let l = prof.files.as_ref()?;
    if !(0..MAX_FDS as i64).contains(&fd) {
        return None;
    }
    let files = kptr(mem, prof, task.wrapping_add(l.task_files))?;
    let fdt = kptr(mem, prof, files.wrapping_add(l.files_fdt))?;
    let max = u64::from(read_u32(mem, fdt.wrapping_add(l.fdt_max_fds)).ok()?);
    if fd as u64 >= max.min(MAX_FDS) {
        return None;
    }
    let arr = kptr(mem, prof, fdt.wrapping_add(l.fdt_fd))?;
    kptr(mem, prof, arr.wrapping_add(fd as u64 * prof.pointer_size))
}

/// Whether descriptor `fd` of `task` names one of `paths`: the file's own
/// name (its length, then its bytes) is compared with the paths' last
/// components first, so that the whole path is walked only for a likely
/// match (`-P` on calls that do not match costs a few reads).
pub fn fd_is_one_of(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    fd: i64,
    paths: &[String],
) -> Option<bool> {
    let l = prof.files.as_ref()?;
    let file = fd_file(mem, prof, task, fd)?;
    let dentry = kptr(mem, prof, file.wrapping_add(l.file_path + l.path_dentry))?;
    // The name's length first (one read): most files differ there.
    let len = read_u32(mem, dentry.wrapping_add(l.dentry_len)).ok()? as usize;
    if !paths.iter().any(|p| last_component(p).len() == len) {
        return Some(false);
    }
    let own = dentry_name_bytes(mem, prof, l, dentry)?;
    if !paths
        .iter()
        .any(|p| last_component(p).as_bytes() == own.as_slice())
    {
        return Some(false);
    }
    let full = file_name(mem, prof, task, file, FdDetail::default())?;
    // A deleted file is matched by its path (strace strips the mark).
    let full = full.strip_suffix(DELETED).unwrap_or(&full);
    Some(paths.iter().any(|p| path_names(p, full)))
}

/// Whether `-P` path `p` names the file at absolute path `full`: equal,
/// or, for a relative `p` (strace resolves it against its own working
/// directory, which a tracer outside the guest does not have), `full`
/// ending with its components.
fn path_names(p: &str, full: &str) -> bool {
    if p == full {
        return true;
    }
    if p.starts_with('/') {
        return false;
    }
    let rel = p.trim_start_matches("./").trim_end_matches('/');
    !rel.is_empty()
        && full
            .strip_suffix(rel)
            .is_some_and(|head| head.ends_with('/'))
}

/// A path's last component, `/` for the root (the root dentry's name).
fn last_component(p: &str) -> &str {
    match p.trim_end_matches('/').rsplit('/').next() {
        Some("") | None => "/",
        Some(n) => n,
    }
}

/// What descriptor `fd` of `task` names, `/proc/PID/fd/N` style, with
/// the socket and device details `detail` asks for.
pub fn fd_name(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    fd: i64,
    detail: FdDetail,
) -> Option<String> {
    let file = fd_file(mem, prof, task, fd)?;
    file_name(mem, prof, task, file, detail)
}

/// What the open file `file` names, as seen from `task`'s root.
pub fn file_name(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    file: u64,
    detail: FdDetail,
) -> Option<String> {
    let l = prof.files.as_ref()?;
    let mnt = kptr(mem, prof, file.wrapping_add(l.file_path + l.path_mnt))?;
    let dentry = kptr(mem, prof, file.wrapping_add(l.file_path + l.path_dentry))?;
    let inode = kptr(mem, prof, file.wrapping_add(l.file_inode));
    let fstype = fs_type(mem, prof, l, dentry).unwrap_or_default();
    let ino = |mem: &mut dyn VirtMem| {
        inode.and_then(|i| read_ptr(mem, prof, i.wrapping_add(l.inode_ino)).ok())
    };
    // strace's printpidfd: a pidfd names its process, or says it is a
    // pidfd when that cannot be read (pidfs since 6.9, an anonymous
    // inode before).
    if detail.pidfd
        && (fstype == "pidfs"
            || (fstype == "anon_inodefs"
                && dentry_name_bytes(mem, prof, l, dentry).as_deref() == Some(b"[pidfd]")))
    {
        return Some(match pidfd_pid(mem, prof, l, file) {
            Some(pid) => format!("pid:{pid}"),
            None => "anon_inode:[pidfd]".to_string(),
        });
    }
    match fstype.as_str() {
        "sockfs" => {
            let ino = ino(mem)?;
            if detail.socket {
                if let Some(s) = details_cache::get(ino) {
                    return Some(format!("{RAW_MARK}{s}"));
                }
                if let Some((s, keep)) = socket_details(mem, prof, l, file, ino) {
                    if keep {
                        details_cache::put(ino, &s);
                    }
                    return Some(format!("{RAW_MARK}{s}"));
                }
            }
            (!detail.details_only).then(|| format!("socket:[{ino}]"))
        }
        // Pipes and anonymous inodes have no socket or device detail.
        "pipefs" | "anon_inodefs" if detail.details_only => None,
        "pipefs" => Some(format!("pipe:[{}]", ino(mem)?)),
        "anon_inodefs" => Some(format!("anon_inode:{}", dentry_name(mem, prof, l, dentry)?)),
        // Only a device can have the one detail left: no path walk.
        _ if detail.details_only && !detail.dev => None,
        _ => {
            let path = dentry_path(mem, prof, l, task, mnt, dentry)?;
            let mut name = match (detail.dev, inode) {
                (true, Some(i)) => match dev_suffix(mem, l, i) {
                    Some(dev) => format!("{path}{DEV_MARK}{dev}"),
                    None if detail.details_only => return None,
                    None => path,
                },
                _ => path,
            };
            // What the kernel's d_path (/proc/PID/fd) marks ` (deleted)`.
            if unlinked(mem, prof, l, dentry) {
                name.push_str(DELETED);
            }
            Some(name)
        }
    }
}

/// The process (its pid in the initial namespace) that descriptor
/// `fd` of `task` refers to when it is a pidfd; `None` for any other
/// descriptor or when that cannot be read.
pub fn pidfd_target(mem: &mut dyn VirtMem, prof: &LinuxProfile, task: u64, fd: i64) -> Option<i32> {
    let l = prof.files.as_ref()?;
    let file = fd_file(mem, prof, task, fd)?;
    let dentry = kptr(mem, prof, file.wrapping_add(l.file_path + l.path_dentry))?;
    let is_pidfd = match fs_type(mem, prof, l, dentry).as_deref() {
        Some("pidfs") => true,
        Some("anon_inodefs") => {
            dentry_name_bytes(mem, prof, l, dentry).as_deref() == Some(b"[pidfd]")
        }
        _ => false,
    };
    if !is_pidfd {
        return None;
    }
    pidfd_pid(mem, prof, l, file)
}

/// The pid (initial namespace, as strace's `/proc/PID/fdinfo` `Pid:`)
/// of the process pidfd `file` refers to: `file->private_data` is its
/// `struct pid`, whose `numbers[0].nr` the pid layout places.
fn pidfd_pid(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    l: &FilesLayout,
    file: u64,
) -> Option<i32> {
    let pids = prof.pids.as_ref()?;
    let pid = kptr(mem, prof, file.wrapping_add(l.file_private))?;
    let at = pid
        .wrapping_add(pids.pid_numbers)
        .wrapping_add(pids.upid_nr);
    let nr = read_u32(mem, at).ok()? as i32;
    (nr > 0).then_some(nr)
}

/// The task's working directory (`fs->pwd`), as `/proc/PID/cwd` says it.
pub fn cwd(mem: &mut dyn VirtMem, prof: &LinuxProfile, task: u64) -> Option<String> {
    let l = prof.files.as_ref()?;
    let fs = kptr(mem, prof, task.wrapping_add(l.task_fs))?;
    let m = kptr(mem, prof, fs.wrapping_add(l.fs_pwd + l.path_mnt))?;
    let d = kptr(mem, prof, fs.wrapping_add(l.fs_pwd + l.path_dentry))?;
    dentry_path(mem, prof, l, task, m, d)
}

/// Separates a device file's path from its device suffix in what
/// [`fd_name`] returns (a NUL: no path component holds one), so that
/// [`angle_brackets`] escapes the path but not the suffix.
pub const DEV_MARK: char = '\0';

/// Starts what [`fd_name`] returns for a socket's `-yy` details, which
/// strace prints as they are (`UNIX-STREAM:[12->13,"/tmp/s"]`), not
/// quoted as a path: no path starts with it.
pub const RAW_MARK: char = '\u{1}';

/// `<char 1:3>` for device files (strace's `-yy` device detail).
fn dev_suffix(mem: &mut dyn VirtMem, l: &FilesLayout, inode: u64) -> Option<String> {
    let mode = read_u16(mem, inode.wrapping_add(l.inode_mode)).ok()?;
    let kind = match mode & S_IFMT {
        S_IFCHR => "char",
        S_IFBLK => "block",
        _ => return None,
    };
    let rdev = read_u32(mem, inode.wrapping_add(l.inode_rdev)).ok()?;
    // The kernel's internal dev_t: 12 bits of major above 20 of minor.
    Some(format!("<{kind} {}:{}>", rdev >> 20, rdev & 0xf_ffff))
}

/// The name of the filesystem type a dentry lives on (`ext4`, `sockfs`).
fn fs_type(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    l: &FilesLayout,
    dentry: u64,
) -> Option<String> {
    let sb = kptr(mem, prof, dentry.wrapping_add(l.dentry_sb))?;
    let ty = kptr(mem, prof, sb.wrapping_add(l.sb_type))?;
    let name = read_ptr(mem, prof, ty.wrapping_add(l.fstype_name)).ok()?;
    if name < prof.kernel_min {
        return None;
    }
    let s = vstrace_core::read::read_cstring(mem, name, 32).ok()?;
    String::from_utf8(s.bytes).ok()
}

/// A dentry's own name (`d_name`), bounded to `NAME_MAX` bytes.
fn dentry_name_bytes(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    l: &FilesLayout,
    dentry: u64,
) -> Option<Vec<u8>> {
    let len = read_u32(mem, dentry.wrapping_add(l.dentry_len)).ok()? as usize;
    let ptr = read_ptr(mem, prof, dentry.wrapping_add(l.dentry_name)).ok()?;
    if len > NAME_MAX || ptr < prof.kernel_min {
        return None;
    }
    let mut buf = vec![0u8; len];
    mem.read_virt(ptr, &mut buf).ok()?;
    Some(buf)
}

fn dentry_name(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    l: &FilesLayout,
    dentry: u64,
) -> Option<String> {
    dentry_name_bytes(mem, prof, l, dentry).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Marks a deleted file in what [`fd_name`] returns, after the path (and
/// device suffix): strace's `(deleted)` after the brackets. A NUL, as
/// [`DEV_MARK`]: no path holds one, so a file named `x (deleted)` is not
/// taken for a deleted one.
const DELETED: &str = "\0(deleted)";

/// Whether what [`fd_name`] returned names a deleted file.
pub fn is_deleted(name: &str) -> bool {
    name.ends_with(DELETED)
}

/// Whether `dentry` was unlinked (the kernel's `d_unlinked`: unhashed
/// and not a root); false when that cannot be read.
fn unlinked(mem: &mut dyn VirtMem, prof: &LinuxProfile, l: &FilesLayout, dentry: u64) -> bool {
    let Some(pprev) = l.dentry_hash_pprev else {
        return false;
    };
    let parent = kptr(mem, prof, dentry.wrapping_add(l.dentry_parent));
    let hashed = read_ptr(mem, prof, dentry.wrapping_add(pprev)).map(|p| p != 0);
    matches!((parent, hashed), (Some(p), Ok(false)) if p != dentry)
}

/// The absolute path of (`vfsmnt`, `dentry`) as the task sees it: names
/// up the dentry tree, crossing each mount's root to its mountpoint in
/// the parent mount, until the task's root (or the namespace's root).
fn dentry_path(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    l: &FilesLayout,
    task: u64,
    vfsmnt: u64,
    dentry: u64,
) -> Option<String> {
    // The task's root; without it, the walk ends at the topmost mount.
    let root = kptr(mem, prof, task.wrapping_add(l.task_fs)).and_then(|fs| {
        let m = kptr(mem, prof, fs.wrapping_add(l.fs_root + l.path_mnt))?;
        let d = kptr(mem, prof, fs.wrapping_add(l.fs_root + l.path_dentry))?;
        Some((m, d))
    });
    let (mut vfsmnt, mut dentry) = (vfsmnt, dentry);
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut total = 0usize;
    for _ in 0..MAX_STEPS {
        if root == Some((vfsmnt, dentry)) {
            return Some(join(&parts));
        }
        let mnt_root = kptr(mem, prof, vfsmnt.wrapping_add(l.vfsmount_root))?;
        let parent = kptr(mem, prof, dentry.wrapping_add(l.dentry_parent))?;
        if dentry == mnt_root || parent == dentry {
            // The root of this mount: continue from where it is mounted.
            let mount = vfsmnt.wrapping_sub(l.mount_mnt);
            let up = kptr(mem, prof, mount.wrapping_add(l.mount_parent))?;
            if up == mount || dentry != mnt_root {
                // The namespace's root, or a dentry cut from its tree.
                return Some(join(&parts));
            }
            dentry = kptr(mem, prof, mount.wrapping_add(l.mount_mountpoint))?;
            vfsmnt = up.wrapping_add(l.mount_mnt);
            continue;
        }
        let name = dentry_name_bytes(mem, prof, l, dentry)?;
        total += name.len() + 1;
        // The kernel's d_path writes the path and its NUL into PATH_MAX
        // bytes: a longer one fails (`readlink` of /proc/PID/cwd gives
        // ENAMETOOLONG) and strace shows no name.
        if total >= PATH_MAX {
            return None;
        }
        parts.push(name);
        dentry = parent;
    }
    None
}

/// `/a/b` from the components collected leaf first; `/` for none. A
/// path that is not UTF-8 comes quoted already, after a [`RAW_MARK`]:
/// its bytes as strace prints them (`\377`), not lost to U+FFFD.
fn join(parts: &[Vec<u8>]) -> String {
    if parts.is_empty() {
        return "/".into();
    }
    let mut bytes = Vec::new();
    for p in parts.iter().rev() {
        bytes.push(b'/');
        bytes.extend_from_slice(p);
    }
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let mut out = String::from(RAW_MARK);
            quote_name_into(e.as_bytes(), &mut out);
            out
        }
    }
}

/// The address family and protocol of the socket descriptor `fd` of
/// `task` refers to (`sock.skc_family`, `sock.sk_protocol`): `None` when
/// `fd` is no socket or cannot be read. strace learns a netlink socket's
/// protocol the same way, from the kernel (`/proc`), whatever the
/// process did to get the descriptor.
pub fn socket_protocol(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    fd: i64,
) -> Option<(u16, u16)> {
    let l = prof.files.as_ref()?;
    let s = l.sock.as_ref()?;
    let file = fd_file(mem, prof, task, fd)?;
    let dentry = kptr(mem, prof, file.wrapping_add(l.file_path + l.path_dentry))?;
    if fs_type(mem, prof, l, dentry)? != "sockfs" {
        return None;
    }
    let socket = kptr(mem, prof, file.wrapping_add(l.file_private))?;
    let sk = kptr(mem, prof, socket.wrapping_add(s.socket_sk))?;
    let family = read_u16(mem, sk.wrapping_add(s.family)).ok()?;
    let protocol = read_u16(mem, sk.wrapping_add(s.protocol)).ok()?;
    Some((family, protocol))
}

/// Most devices followed on one index hash chain (a looping or changing
/// list ends the walk).
const MAX_CHAIN: usize = 256;

/// The names of the network interfaces `indexes` in the namespace of the
/// socket descriptor `fd` of `task` (strace prints an interface index as
/// `if_nametoindex("lo")` when the index names one): `sock.skc_net` →
/// `net.dev_index_head[index & 255]` → the `net_device`s on that chain.
/// Indexes without a device are left out.
pub fn socket_ifnames(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    task: u64,
    fd: i64,
    indexes: &[u32],
) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let Some(l) = prof.files.as_ref() else {
        return out;
    };
    let (Some(s), Some(n)) = (l.sock.as_ref(), l.netdev.as_ref()) else {
        return out;
    };
    let Some(file) = fd_file(mem, prof, task, fd) else {
        return out;
    };
    let Some(socket) = kptr(mem, prof, file.wrapping_add(l.file_private)) else {
        return out;
    };
    let Some(sk) = kptr(mem, prof, socket.wrapping_add(s.socket_sk)) else {
        return out;
    };
    let Some(net) = kptr(mem, prof, sk.wrapping_add(n.sk_net)) else {
        return out;
    };
    let Some(heads) = kptr(mem, prof, net.wrapping_add(n.dev_index_head)) else {
        return out;
    };
    for &index in indexes {
        let head = heads.wrapping_add(u64::from(index & 0xff) * prof.pointer_size);
        let mut node = read_ptr(mem, prof, head).ok();
        for _ in 0..MAX_CHAIN {
            let Some(at) =
                node.filter(|&p| p >= prof.kernel_min && p % prof.pointer_size.max(1) == 0)
            else {
                break;
            };
            let dev = at.wrapping_sub(n.index_hlist);
            if read_u32(mem, dev.wrapping_add(n.ifindex)).ok() == Some(index) {
                let mut name = [0u8; 16];
                if mem.read_virt(dev.wrapping_add(n.name), &mut name).is_ok() {
                    let end = name.iter().position(|&c| c == 0).unwrap_or(16);
                    if let Ok(s) = std::str::from_utf8(&name[..end]) {
                        out.push((index, s.to_string()));
                    }
                }
                break;
            }
            node = read_ptr(mem, prof, at).ok();
        }
    }
    out
}

/// `TCP:[127.0.0.1:80->127.0.0.1:41234]`-style details of a socket file
/// (strace's `-yy`), from its `struct sock`, and whether strace's
/// socket diagnostics would have given them (then it keeps them: see
/// [`details_cache`]); its fallback `PROTO:[inode]` is not kept.
fn socket_details(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    l: &FilesLayout,
    file: u64,
    ino: u64,
) -> Option<(String, bool)> {
    let s: &SockLayout = l.sock.as_ref()?;
    let socket = kptr(mem, prof, file.wrapping_add(l.file_private))?;
    let sk = kptr(mem, prof, socket.wrapping_add(s.socket_sk))?;
    let family = read_u16(mem, sk.wrapping_add(s.family)).ok()?;
    let protocol = read_u16(mem, sk.wrapping_add(s.protocol)).ok()?;
    const AF_UNIX: u16 = 1;
    const AF_INET: u16 = 2;
    const AF_INET6: u16 = 10;
    if family == AF_UNIX {
        return Some(unix_details(mem, prof, l, sk, ino));
    }
    const AF_NETLINK: u16 = 16;
    if family == AF_NETLINK {
        return Some(netlink_details(mem, s, sk, protocol, ino));
    }
    let proto = match protocol {
        6 => "TCP",
        17 => "UDP",
        _ => return None,
    };
    let sport = read_u16(mem, sk.wrapping_add(s.num)).ok()?;
    let dport = u16::from_be(read_u16(mem, sk.wrapping_add(s.dport)).ok()?);
    let (src, dst, v6) = match family {
        AF_INET => {
            let a = read_u32(mem, sk.wrapping_add(s.rcv_saddr)).ok()?;
            let b = read_u32(mem, sk.wrapping_add(s.daddr)).ok()?;
            let ip = |v: u32| std::net::Ipv4Addr::from(v.to_le_bytes()).to_string();
            (ip(a), ip(b), false)
        }
        AF_INET6 => {
            let mut a = [0u8; 16];
            let mut b = [0u8; 16];
            mem.read_virt(sk.wrapping_add(s.v6_rcv_saddr?), &mut a)
                .ok()?;
            mem.read_virt(sk.wrapping_add(s.v6_daddr?), &mut b).ok()?;
            let ip = |v: [u8; 16]| format!("[{}]", std::net::Ipv6Addr::from(v));
            (ip(a), ip(b), true)
        }
        _ => return None,
    };
    let v = if v6 { "v6" } else { "" };
    // A socket INET_DIAG does not list (a TCP one in TCP_CLOSE: not
    // listening, not connected; a UDP one not bound) gets strace's
    // fallback, the protocol and the inode.
    const TCP_CLOSE: u8 = 7;
    let listed = if protocol == 6 {
        match s.state.map(|o| read_u8(mem, sk.wrapping_add(o))) {
            Some(Ok(state)) => state != TCP_CLOSE,
            _ => true,
        }
    } else {
        sport != 0
    };
    if !listed {
        return Some((format!("{proto}{v}:[{ino}]"), false));
    }
    let unconnected = dport == 0 && (dst == "0.0.0.0" || dst == "[::]");
    let d = if unconnected {
        format!("{proto}{v}:[{src}:{sport}]")
    } else {
        format!("{proto}{v}:[{src}:{sport}->{dst}:{dport}]")
    };
    // What INET_DIAG lists: a connected TCP socket (a listening one's
    // details do not change), a bound UDP one.
    let keep = if protocol == 6 {
        dport != 0
    } else {
        sport != 0
    };
    Some((d, keep))
}

/// strace keeps the `-yy` details of a socket by inode the first time
/// its socket diagnostics give them (a small table indexed by the inode,
/// a newer inode of the same slot replacing an older one) and shows those
/// from then on: a connection's peer stays shown after the peer closed,
/// an address after a later bind. vstrace reads the guest kernel instead
/// of asking it, and keeps them the same way so its lines are strace's.
mod details_cache {
    use std::sync::Mutex;

    /// Slots of the table (strace's is of the same order).
    const SLOTS: usize = 1024;

    static TABLE: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());

    fn slot(ino: u64) -> usize {
        (ino % SLOTS as u64) as usize
    }

    /// The details kept for socket inode `ino`.
    pub(super) fn get(ino: u64) -> Option<String> {
        let t = TABLE.lock().unwrap_or_else(|e| e.into_inner());
        t.get(slot(ino))
            .filter(|(i, _)| *i == ino && ino != 0)
            .map(|(_, d)| d.clone())
    }

    /// Keeps `details` for socket inode `ino`.
    pub(super) fn put(ino: u64, details: &str) {
        let mut t = TABLE.lock().unwrap_or_else(|e| e.into_inner());
        if t.is_empty() {
            t.resize(SLOTS, (0, String::new()));
        }
        t[slot(ino)] = (ino, details.to_string());
    }
}

/// A unix socket's `-yy` details as strace gets them from `UNIX_DIAG`:
/// the kernel's protocol name (`UNIX-STREAM` for stream sockets, `UNIX`
/// for the others), the inode, the peer's inode and the bound address
/// (an abstract one with `@`): `UNIX-STREAM:[1234->1235,"/tmp/sock"]`;
/// and whether `UNIX_DIAG` would give them (a peer or an address).
fn unix_details(
    mem: &mut dyn VirtMem,
    prof: &LinuxProfile,
    l: &FilesLayout,
    sk: u64,
    ino: u64,
) -> (String, bool) {
    const SOCK_STREAM: u16 = 1;
    let Some(s) = l.sock.as_ref() else {
        return (format!("UNIX:[{ino}]"), false);
    };
    let name = match read_u16(mem, sk.wrapping_add(s.sk_type)) {
        Ok(SOCK_STREAM) => "UNIX-STREAM",
        _ => "UNIX",
    };
    // The peer's inode: peer sock -> its socket -> the inode allocated
    // with it.
    let peer = (|| {
        let peer = kptr(mem, prof, sk.wrapping_add(s.unix_peer?))?;
        let socket = kptr(mem, prof, peer.wrapping_add(s.sk_socket?))?;
        let inode = socket.wrapping_add(s.socket_inode?);
        read_ptr(mem, prof, inode.wrapping_add(l.inode_ino)).ok()
    })()
    .filter(|&p| p != 0);
    let path = (|| {
        let addr = kptr(mem, prof, sk.wrapping_add(s.unix_addr?))?;
        let len = read_u32(mem, addr.wrapping_add(s.unix_addr_len?)).ok()? as usize;
        // sockaddr_un: the family, then at most 108 bytes of path.
        let n = len.checked_sub(2)?.min(108);
        let mut b = vec![0u8; n];
        mem.read_virt(addr.wrapping_add(s.unix_addr_name? + 2), &mut b)
            .ok()?;
        Some(b)
    })()
    .filter(|b| !b.is_empty());
    let keep = peer.is_some() || path.is_some();
    let mut out = format!("{name}:[{ino}");
    if let Some(p) = peer {
        out.push_str(&format!("->{p}"));
    }
    if let Some(b) = path {
        // Up to its NUL; an abstract address (a NUL first) after `@`.
        let (at, name) = match b.split_first() {
            Some((0, rest)) => ("@", rest),
            _ => ("", b.as_slice()),
        };
        let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
        out.push(',');
        out.push_str(at);
        out.push_str(&crate::fmt::quote(&name[..end], false));
    }
    out.push(']');
    (out, keep)
}

/// A netlink socket's `-yy` details as strace gets them from
/// `NETLINK_SOCK_DIAG`: `NETLINK:[ROUTE:1234]` (protocol and port id)
/// once bound; an unbound socket (port id 0, not in the kernel's table)
/// as `NETLINK:[inode]`.
fn netlink_details(
    mem: &mut dyn VirtMem,
    s: &SockLayout,
    sk: u64,
    protocol: u16,
    ino: u64,
) -> (String, bool) {
    let portid = s
        .netlink_portid
        .and_then(|o| read_u32(mem, sk.wrapping_add(o)).ok())
        .unwrap_or(0);
    if portid == 0 {
        return (format!("NETLINK:[{ino}]"), false);
    }
    // Netlink protocol numbers are the same for every ABI.
    let name = crate::xlat::Table::NetlinkProtocols
        .xlat()
        .lookup(crate::proto::LinuxAbi::X86_64, u64::from(protocol));
    let d = match name {
        Some(n) => format!("NETLINK:[{}:{portid}]", n.trim_start_matches("NETLINK_")),
        None => format!("NETLINK:[{protocol}]"),
    };
    (d, true)
}

/// strace's `print_quoted_string_in_angle_brackets` for `-y`: `<path>`
/// quoted as strace quotes strings (C escapes, `\"`, `\\`; `<`, `>`,
/// DEL and every byte outside printable ASCII in octal, three digits when
/// an octal digit follows), and a deleted file's `(deleted)` after it.
pub fn angle_brackets(name: &str) -> String {
    let (name, deleted) = match name.strip_suffix(DELETED) {
        Some(n) => (n, true),
        None => (name, false),
    };
    let (name, dev) = name.split_once(DEV_MARK).unwrap_or((name, ""));
    let mut out = String::with_capacity(name.len() + dev.len() + 12);
    out.push('<');
    match name.strip_prefix(RAW_MARK) {
        Some(raw) => out.push_str(raw),
        None => quote_name_into(name.as_bytes(), &mut out),
    }
    out.push_str(dev);
    out.push('>');
    if deleted {
        out.push_str("(deleted)");
    }
    out
}

/// A name's bytes quoted as [`angle_brackets`] shows them, onto `out`.
fn quote_name_into(b: &[u8], out: &mut String) {
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(c as char);
            }
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            0x20..=0x7e if c != b'<' && c != b'>' => out.push(c as char),
            _ => {
                let digit_follows = b.get(i + 1).is_some_and(|n| (b'0'..=b'7').contains(n));
                if digit_follows {
                    out.push_str(&format!("\\{c:03o}"));
                } else {
                    out.push_str(&format!("\\{c:o}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn relative_trace_paths_match_by_their_components() {
        assert!(path_names("/a/b", "/a/b"));
        assert!(path_names("b", "/a/b"));
        assert!(path_names("./a/b", "/w/a/b"));
        assert!(!path_names("b", "/a/xb"));
        assert!(!path_names("/b", "/a/b"));
        assert!(!path_names("", "/a/b"));
    }

    use super::*;
    use crate::profile::layouts::FilesLayout;
    use vstrace_core::testmem::SparseVirt;

    /// A hand-made profile with the offsets the walker needs.
    pub(crate) fn prof() -> LinuxProfile {
        let mut p = crate::profile::layouts::synthetic_profile();
        p.files = Some(FilesLayout {
            task_files: 0x10,
            task_fs: 0x18,
            fs_root: 0x8,
            fs_pwd: 0x18,
            files_fdt: 0x20,
            fdt_max_fds: 0,
            fdt_fd: 8,
            file_path: 0x10,
            file_inode: 0x20,
            file_private: 0x28,
            path_mnt: 0,
            path_dentry: 8,
            dentry_parent: 0x18,
            dentry_name: 0x28,
            dentry_len: 0x24,
            dentry_sb: 0x30,
            dentry_hash_pprev: Some(0x10),
            sb_type: 0x28,
            fstype_name: 0,
            inode_ino: 0x40,
            inode_mode: 0,
            inode_rdev: 0x4c,
            mount_mnt: 0x20,
            mount_parent: 0x10,
            mount_mountpoint: 0x18,
            vfsmount_root: 0,
            sock: None,
            netdev: None,
        });
        // The pid layout of the pid-namespace tests: a pidfd names its pid
        // through it.
        p.pids = Some(crate::pidns::tests::layout());
        p
    }

    const K: u64 = 0xffff_8880_0000_0000;

    struct World {
        mem: SparseVirt,
        next: u64,
    }

    impl World {
        fn alloc(&mut self, len: usize) -> u64 {
            let a = self.next;
            self.next += (len as u64 + 0xff) & !0xff;
            self.mem.map_zeroed(a, len);
            a
        }
        fn put(&mut self, a: u64, v: u64) {
            self.mem.map(a, &v.to_le_bytes());
        }
        fn string(&mut self, s: &str) -> u64 {
            let a = self.alloc(s.len() + 1);
            self.mem.map(a, s.as_bytes());
            a
        }
        fn dentry(&mut self, l: &FilesLayout, name: &str, parent: Option<u64>, sb: u64) -> u64 {
            let d = self.alloc(0x100);
            let n = self.string(name);
            self.put(d + l.dentry_parent, parent.unwrap_or(d));
            self.put(d + l.dentry_name, n);
            self.mem
                .map(d + l.dentry_len, &(name.len() as u32).to_le_bytes());
            self.put(d + l.dentry_sb, sb);
            // Hashed (the pprev of a dentry in the hash table).
            self.put(d + 0x10, d);
            d
        }
    }

    /// A task whose fd 3 is /etc/passwd on the root mount and fd 4
    /// /mnt/x/f on a mount at /mnt/x; fd 5 a pipe.
    fn world() -> (World, LinuxProfile, u64) {
        let p = prof();
        let l = p.files.clone().unwrap();
        let mut w = World {
            mem: SparseVirt::new(),
            next: K,
        };
        let sb_of = |w: &mut World, name: &str| {
            let ty = w.alloc(0x40);
            let n = w.string(name);
            w.put(ty + l.fstype_name, n);
            let sb = w.alloc(0x40);
            w.put(sb + l.sb_type, ty);
            sb
        };
        let ext4 = sb_of(&mut w, "ext4");
        let tmpfs = sb_of(&mut w, "tmpfs");
        let pipefs = sb_of(&mut w, "pipefs");
        let root = w.dentry(&l, "/", None, ext4);
        let etc = w.dentry(&l, "etc", Some(root), ext4);
        let passwd = w.dentry(&l, "passwd", Some(etc), ext4);
        let mnt = w.dentry(&l, "mnt", Some(root), ext4);
        let x = w.dentry(&l, "x", Some(mnt), ext4);
        let troot = w.dentry(&l, "/", None, tmpfs);
        let f = w.dentry(&l, "f", Some(troot), tmpfs);
        let pd = w.dentry(&l, "pipe:", None, pipefs);
        // Mounts: the root mount is its own parent.
        let m0 = w.alloc(0x100);
        w.put(m0 + l.mount_parent, m0);
        w.put(m0 + l.mount_mnt + l.vfsmount_root, root);
        let m1 = w.alloc(0x100);
        w.put(m1 + l.mount_parent, m0);
        w.put(m1 + l.mount_mountpoint, x);
        w.put(m1 + l.mount_mnt + l.vfsmount_root, troot);
        let file = |w: &mut World, m: u64, d: u64, ino: u64| {
            let i = w.alloc(0x100);
            w.put(i + l.inode_ino, ino);
            let fl = w.alloc(0x100);
            w.put(fl + l.file_path + l.path_mnt, m + l.mount_mnt);
            w.put(fl + l.file_path + l.path_dentry, d);
            w.put(fl + l.file_inode, i);
            fl
        };
        let f3 = file(&mut w, m0, passwd, 10);
        let f4 = file(&mut w, m1, f, 11);
        let f5 = file(&mut w, m0, pd, 1234);
        // fd 7: a pidfd of process 204.
        let anon = sb_of(&mut w, "anon_inodefs");
        let pidfd = w.dentry(&l, "[pidfd]", None, anon);
        let f7 = file(&mut w, m0, pidfd, 99);
        let pid = w.alloc(0x100);
        let pl = p.pids.clone().unwrap();
        w.mem
            .map(pid + pl.pid_numbers + pl.upid_nr, &204u32.to_le_bytes());
        w.put(f7 + l.file_private, pid);
        let arr = w.alloc(64);
        for (i, fl) in [(3, f3), (4, f4), (5, f5), (7, f7)] {
            w.put(arr + i * 8, fl);
        }
        let fdt = w.alloc(0x40);
        w.mem.map(fdt + l.fdt_max_fds, &8u32.to_le_bytes());
        w.put(fdt + l.fdt_fd, arr);
        let files = w.alloc(0x40);
        w.put(files + l.files_fdt, fdt);
        let fs = w.alloc(0x40);
        w.put(fs + l.fs_root + l.path_mnt, m0 + l.mount_mnt);
        w.put(fs + l.fs_root + l.path_dentry, root);
        w.put(fs + l.fs_pwd + l.path_mnt, m1 + l.mount_mnt);
        w.put(fs + l.fs_pwd + l.path_dentry, troot);
        let task = w.alloc(0x100);
        w.put(task + l.task_files, files);
        w.put(task + l.task_fs, fs);
        (w, p, task)
    }

    #[test]
    fn paths_pipes_and_mounts() {
        let (mut w, p, task) = world();
        let d = FdDetail::default();
        let m = &mut w.mem;
        assert_eq!(fd_name(m, &p, task, 3, d).as_deref(), Some("/etc/passwd"));
        assert_eq!(fd_name(m, &p, task, 4, d).as_deref(), Some("/mnt/x/f"));
        assert_eq!(fd_name(m, &p, task, 5, d).as_deref(), Some("pipe:[1234]"));
        assert_eq!(cwd(m, &p, task).as_deref(), Some("/mnt/x"));
        let paths = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            fd_is_one_of(m, &p, task, 3, &paths(&["/etc/passwd"])),
            Some(true)
        );
        assert_eq!(
            fd_is_one_of(m, &p, task, 3, &paths(&["/x/passwd"])),
            Some(false)
        );
        assert_eq!(
            fd_is_one_of(m, &p, task, 4, &paths(&["/etc/passwd"])),
            Some(false)
        );
        for fd in [-1, 0, 6, 8, 1 << 40] {
            assert_eq!(fd_name(m, &p, task, fd, d), None, "fd {fd}");
        }
        // Unlinked (unhashed): the kernel's ` (deleted)`; -P still matches.
        let f3 = fd_file(m, &p, task, 3).unwrap();
        let dentry = read_ptr(m, &p, f3 + 0x10 + 8).unwrap();
        m.map(dentry + 0x10, &0u64.to_le_bytes());
        assert_eq!(
            fd_name(m, &p, task, 3, d).as_deref(),
            Some("/etc/passwd\0(deleted)")
        );
        assert!(is_deleted("/etc/passwd\0(deleted)") && !is_deleted("/x (deleted)"));
        assert_eq!(
            fd_is_one_of(m, &p, task, 3, &paths(&["/etc/passwd"])),
            Some(true)
        );
        // strace 6.1's quoting: `<`/`>` in octal (three digits before an
        // octal digit), C escapes, a deleted file's mark after the path.
        assert_eq!(angle_brackets("/a>b\n"), "</a\\76b\\n>");
        assert_eq!(angle_brackets("/\u{2}0\"<8"), "</\\0020\\\"\\748>");
        assert_eq!(angle_brackets("/é"), "</\\303\\251>");
        assert_eq!(angle_brackets("/d/f\0(deleted)"), "</d/f>(deleted)");
        assert_eq!(angle_brackets("/d/f (deleted)"), "</d/f (deleted)>");
        assert_eq!(
            angle_brackets("/dev/null\0<char 1:3>"),
            "</dev/null<char 1:3>>"
        );
    }

    /// strace's `--decode-fds=socket` (or `dev`) without `path`: files
    /// and pipes that have none of the details asked for get no name.
    #[test]
    fn details_only_names_nothing_without_the_detail() {
        let (mut w, p, task) = world();
        let m = &mut w.mem;
        for (socket, dev) in [(true, false), (false, true), (true, true)] {
            let d = FdDetail {
                socket,
                dev,
                pidfd: false,
                details_only: true,
            };
            for fd in [3, 4, 5] {
                assert_eq!(fd_name(m, &p, task, fd, d), None, "fd {fd} {d:?}");
            }
        }
        let with_path = FdDetail {
            socket: true,
            dev: true,
            pidfd: false,
            details_only: false,
        };
        assert_eq!(
            fd_name(m, &p, task, 5, with_path).as_deref(),
            Some("pipe:[1234]")
        );
    }

    /// strace's printpidfd: `pid:N` with `pidfd`, else the anonymous
    /// inode's name with `path` only; the pid unreadable: the name.
    #[test]
    fn pidfds_name_their_process() {
        let (mut w, p, task) = world();
        let pidfd = FdDetail {
            pidfd: true,
            details_only: true,
            ..FdDetail::default()
        };
        let m = &mut w.mem;
        assert_eq!(fd_name(m, &p, task, 7, pidfd).as_deref(), Some("pid:204"));
        let path = FdDetail::default();
        assert_eq!(
            fd_name(m, &p, task, 7, path).as_deref(),
            Some("anon_inode:[pidfd]")
        );
        // Other files get no name from `pidfd` alone.
        for fd in [3, 4, 5] {
            assert_eq!(fd_name(m, &p, task, fd, pidfd), None, "fd {fd}");
        }
        let mut q = p.clone();
        q.pids = None;
        assert_eq!(
            fd_name(m, &q, task, 7, pidfd).as_deref(),
            Some("anon_inode:[pidfd]")
        );
    }

    #[test]
    fn looping_dentries_end_the_walk() {
        let (mut w, p, task) = world();
        let l = p.files.clone().unwrap();
        // Make etc's parent passwd and passwd's parent etc: a cycle with
        // no root, the mount root never reached.
        let f3 = fd_file(&mut w.mem, &p, task, 3).unwrap();
        let passwd =
            vstrace_core::read::read_u64(&mut w.mem, f3 + l.file_path + l.path_dentry).unwrap();
        let etc = vstrace_core::read::read_u64(&mut w.mem, passwd + l.dentry_parent).unwrap();
        w.put(etc + l.dentry_parent, passwd);
        assert_eq!(fd_name(&mut w.mem, &p, task, 3, FdDetail::default()), None);
    }

    #[test]
    fn unix_socket_details_show_type_peer_and_address() {
        let mut p = prof();
        let mut l = p.files.clone().unwrap();
        l.sock = Some(SockLayout {
            socket_sk: 0,
            family: 0x10,
            daddr: 0,
            rcv_saddr: 0,
            dport: 0,
            num: 0,
            v6_daddr: None,
            v6_rcv_saddr: None,
            protocol: 0x12,
            sk_type: 0x14,
            netlink_portid: None,
            sk_socket: Some(0x20),
            socket_inode: Some(0x100),
            unix_peer: Some(0x28),
            unix_addr: Some(0x30),
            unix_addr_len: Some(4),
            unix_addr_name: Some(8),
            state: None,
        });
        p.files = Some(l.clone());
        let k = 0xffff_8880_0000_0000u64;
        let (sk, peer, peer_socket, addr) = (k + 0x1000, k + 0x2000, k + 0x3000, k + 0x4000);
        let mut m = SparseVirt::new();
        let mut page = |at: u64, fill: &[(u64, &[u8])]| {
            let mut b = vec![0u8; 0x200];
            for (off, v) in fill {
                b[*off as usize..*off as usize + v.len()].copy_from_slice(v);
            }
            m.map(at, &b);
        };
        let mut sun = 3u32.to_le_bytes().to_vec(); // refcount, then len
        sun.extend(21u32.to_le_bytes());
        sun.extend(1u16.to_le_bytes());
        sun.extend(b"net-yy-unix.socket\0");
        page(
            sk,
            &[
                (0x14, &1u16.to_le_bytes()),
                (0x28, &peer.to_le_bytes()),
                (0x30, &addr.to_le_bytes()),
            ],
        );
        page(peer, &[(0x20, &peer_socket.to_le_bytes())]);
        page(peer_socket, &[(0x140, &9979u64.to_le_bytes())]);
        page(addr, &[(0, &sun)]);
        let (d, keep) = unix_details(&mut m, &p, &l, sk, 9981);
        assert_eq!(d, "UNIX-STREAM:[9981->9979,\"net-yy-unix.socket\"]");
        assert!(keep);
        assert_eq!(angle_brackets(&format!("{RAW_MARK}{d}")), format!("<{d}>"));
        // A datagram socket, no peer; an abstract address.
        let mut abs = 3u32.to_le_bytes().to_vec();
        abs.extend(6u32.to_le_bytes());
        abs.extend(1u16.to_le_bytes());
        abs.extend(b"\0ab\0");
        m.map(sk + 0x14, &2u16.to_le_bytes());
        m.map(sk + 0x28, &0u64.to_le_bytes());
        m.map(addr, &abs);
        assert_eq!(
            unix_details(&mut m, &p, &l, sk, 5),
            ("UNIX:[5,@\"ab\"]".to_string(), true)
        );
        // Neither peer nor address: strace's diag gives nothing to keep.
        m.map(sk + 0x30, &0u64.to_le_bytes());
        assert_eq!(
            unix_details(&mut m, &p, &l, sk, 5),
            ("UNIX:[5]".to_string(), false)
        );
    }

    #[test]
    fn paths_that_are_not_utf8_keep_their_bytes() {
        let parts = vec![b"a\xff\xfe>".to_vec(), b"d".to_vec()];
        let name = join(&parts);
        assert_eq!(angle_brackets(&name), "</d/a\\377\\376\\76>");
        assert_eq!(
            angle_brackets(&format!("{name}{DELETED}")),
            "</d/a\\377\\376\\76>(deleted)"
        );
        assert_eq!(join(&[b"x".to_vec()]), "/x");
    }
}
