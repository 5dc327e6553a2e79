//! Offsets beyond `task_struct` that the context features read: the
//! file table (`-y` fd paths, sockets) and the memory map (caller module,
//! `-k` stacks), resolved from the kernel's BTF.
//!
//! Each layout is optional in a [`super::LinuxProfile`]: a kernel whose
//! BTF lacks one of the members gets none, and the feature prints what
//! it printed before (the number) instead of guessing offsets.

use serde::{Deserialize, Serialize};

use super::btf::{Btf, BtfError};

/// Where structure member offsets come from: the kernel's BTF, or a
/// symbol table (`--linux-profile`, see [`super::isf`]).
pub trait MemberOffsets {
    /// Why an offset is not known.
    type Error;
    /// The byte offset of `path` (`a.b`: a member of a member) in
    /// `struct struct_name`.
    fn member_offset(&self, struct_name: &str, path: &str) -> Result<u64, Self::Error>;
}

impl MemberOffsets for Btf {
    type Error = BtfError;
    fn member_offset(&self, struct_name: &str, path: &str) -> Result<u64, BtfError> {
        Btf::member_offset(self, struct_name, path)
    }
}

/// Byte offsets for the walk task → `files_struct` → `fdtable` → `file`
/// → `f_path` → dentry / mount chain, and a socket's addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilesLayout {
    /// `task_struct.files` (`struct files_struct *`).
    pub task_files: u64,
    /// `task_struct.fs` (`struct fs_struct *`): the root paths end at.
    pub task_fs: u64,
    /// `fs_struct.root` (`struct path`).
    pub fs_root: u64,
    /// `fs_struct.pwd` (`struct path`): the working directory
    /// (`AT_FDCWD</tmp>`).
    pub fs_pwd: u64,
    /// `files_struct.fdt` (`struct fdtable *`).
    pub files_fdt: u64,
    /// `fdtable.max_fds` (`unsigned int`).
    pub fdt_max_fds: u64,
    /// `fdtable.fd` (`struct file **`).
    pub fdt_fd: u64,
    /// `file.f_path` (`struct path`).
    pub file_path: u64,
    /// `file.f_inode`.
    pub file_inode: u64,
    /// `file.private_data` (a socket file's `struct socket *`).
    pub file_private: u64,
    /// `path.mnt` (`struct vfsmount *`).
    pub path_mnt: u64,
    /// `path.dentry`.
    pub path_dentry: u64,
    /// `dentry.d_parent`.
    pub dentry_parent: u64,
    /// `dentry.d_name.name` (`const unsigned char *`).
    pub dentry_name: u64,
    /// `dentry.d_name.len` (`u32`).
    pub dentry_len: u64,
    /// `dentry.d_sb` (`struct super_block *`).
    pub dentry_sb: u64,
    /// `dentry.d_hash.pprev`: NULL when the dentry is unhashed (a
    /// deleted file's: the kernel's `d_path` adds ` (deleted)`).
    #[serde(default)]
    pub dentry_hash_pprev: Option<u64>,
    /// `super_block.s_type` (`struct file_system_type *`).
    pub sb_type: u64,
    /// `file_system_type.name` (`const char *`): pipefs, sockfs...
    pub fstype_name: u64,
    /// `inode.i_ino`.
    pub inode_ino: u64,
    /// `inode.i_mode` (`umode_t`, 16 bits).
    pub inode_mode: u64,
    /// `inode.i_rdev` (`dev_t`, 32 bits).
    pub inode_rdev: u64,
    /// Offset of `struct vfsmount mnt` inside `struct mount`.
    pub mount_mnt: u64,
    /// `mount.mnt_parent` (`struct mount *`).
    pub mount_parent: u64,
    /// `mount.mnt_mountpoint` (`struct dentry *`).
    pub mount_mountpoint: u64,
    /// `vfsmount.mnt_root` (`struct dentry *`).
    pub vfsmount_root: u64,
    /// Socket addresses for `-yy`, when BTF has them.
    pub sock: Option<SockLayout>,
    /// Interface names by index in a socket's network namespace (netlink
    /// messages show `if_nametoindex("lo")`), when BTF has them.
    #[serde(default)]
    pub netdev: Option<NetDevLayout>,
}

/// Byte offsets from a `struct sock` to the network devices of its
/// namespace, by index: `sock.__sk_common.skc_net` → `net.dev_index_head`
/// (256 hash chains) → each `net_device` by `index_hlist`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetDevLayout {
    /// `sock.__sk_common.skc_net.net` (`struct net *`).
    pub sk_net: u64,
    /// `net.dev_index_head` (`struct hlist_head *`).
    pub dev_index_head: u64,
    /// `net_device.index_hlist` (`struct hlist_node`).
    pub index_hlist: u64,
    /// `net_device.ifindex` (`int`).
    pub ifindex: u64,
    /// `net_device.name` (`char[16]`).
    pub name: u64,
}

impl NetDevLayout {
    /// The layout from any source of member offsets.
    pub fn from_offsets<T: MemberOffsets>(btf: &T) -> Result<NetDevLayout, T::Error> {
        Ok(NetDevLayout {
            sk_net: btf.member_offset("sock", "__sk_common.skc_net.net")?,
            dev_index_head: btf.member_offset("net", "dev_index_head")?,
            index_hlist: btf.member_offset("net_device", "index_hlist")?,
            ifindex: btf.member_offset("net_device", "ifindex")?,
            name: btf.member_offset("net_device", "name")?,
        })
    }
}

/// Byte offsets from a socket file's `struct socket` to its addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SockLayout {
    /// `socket.sk` (`struct sock *`).
    pub socket_sk: u64,
    /// `sock.__sk_common.skc_family` (`unsigned short`).
    pub family: u64,
    /// `sock.__sk_common.skc_daddr` (`__be32`).
    pub daddr: u64,
    /// `sock.__sk_common.skc_rcv_saddr` (`__be32`).
    pub rcv_saddr: u64,
    /// `sock.__sk_common.skc_dport` (`__be16`).
    pub dport: u64,
    /// `sock.__sk_common.skc_num` (`__u16`, host order).
    pub num: u64,
    /// `sock.__sk_common.skc_v6_daddr` (16 bytes), when IPv6 is built in.
    pub v6_daddr: Option<u64>,
    /// `sock.__sk_common.skc_v6_rcv_saddr` (16 bytes).
    pub v6_rcv_saddr: Option<u64>,
    /// `sock.sk_protocol` (`u16` since 5.6).
    pub protocol: u64,
    /// `sock.sk_type` (`u16`).
    pub sk_type: u64,
    /// `netlink_sock.portid` (`u32`): a netlink socket's bound port id
    /// (`-yy` shows `NETLINK:[ROUTE:1234]`).
    #[serde(default)]
    pub netlink_portid: Option<u64>,
    /// `sock.sk_socket` (`struct socket *`): a peer's socket, for its
    /// inode number.
    #[serde(default)]
    pub sk_socket: Option<u64>,
    /// `socket_alloc.vfs_inode`: the inode allocated with a socket.
    #[serde(default)]
    pub socket_inode: Option<u64>,
    /// `unix_sock.peer` (`struct sock *`).
    #[serde(default)]
    pub unix_peer: Option<u64>,
    /// `unix_sock.addr` (`struct unix_address *`): the bound address.
    #[serde(default)]
    pub unix_addr: Option<u64>,
    /// `unix_address.len` (`int`): the address length, family included.
    #[serde(default)]
    pub unix_addr_len: Option<u64>,
    /// `unix_address.name` (`struct sockaddr_un[]`).
    #[serde(default)]
    pub unix_addr_name: Option<u64>,
    /// `sock.__sk_common.skc_state` (`unsigned char`): a TCP socket's
    /// state (`TCP_CLOSE` ones are in no table INET_DIAG lists).
    #[serde(default)]
    pub state: Option<u64>,
}

impl FilesLayout {
    /// The layout from `btf`; an error names the first member missing.
    pub fn from_btf(btf: &Btf) -> Result<FilesLayout, BtfError> {
        FilesLayout::from_offsets(btf)
    }

    /// The layout from any source of member offsets.
    pub fn from_offsets<T: MemberOffsets>(btf: &T) -> Result<FilesLayout, T::Error> {
        let o = |s: &str, p: &str| btf.member_offset(s, p);
        Ok(FilesLayout {
            task_files: o("task_struct", "files")?,
            task_fs: o("task_struct", "fs")?,
            fs_root: o("fs_struct", "root")?,
            fs_pwd: o("fs_struct", "pwd")?,
            files_fdt: o("files_struct", "fdt")?,
            fdt_max_fds: o("fdtable", "max_fds")?,
            fdt_fd: o("fdtable", "fd")?,
            file_path: o("file", "f_path")?,
            file_inode: o("file", "f_inode")?,
            file_private: o("file", "private_data")?,
            path_mnt: o("path", "mnt")?,
            path_dentry: o("path", "dentry")?,
            dentry_parent: o("dentry", "d_parent")?,
            dentry_name: o("dentry", "d_name.name")?,
            dentry_len: o("dentry", "d_name.len")?,
            dentry_sb: o("dentry", "d_sb")?,
            dentry_hash_pprev: o("dentry", "d_hash.pprev").ok(),
            sb_type: o("super_block", "s_type")?,
            fstype_name: o("file_system_type", "name")?,
            inode_ino: o("inode", "i_ino")?,
            inode_mode: o("inode", "i_mode")?,
            inode_rdev: o("inode", "i_rdev")?,
            mount_mnt: o("mount", "mnt")?,
            mount_parent: o("mount", "mnt_parent")?,
            mount_mountpoint: o("mount", "mnt_mountpoint")?,
            vfsmount_root: o("vfsmount", "mnt_root")?,
            sock: SockLayout::from_offsets(btf).ok(),
            netdev: NetDevLayout::from_offsets(btf).ok(),
        })
    }
}

impl SockLayout {
    /// The layout from `btf`.
    pub fn from_btf(btf: &Btf) -> Result<SockLayout, BtfError> {
        SockLayout::from_offsets(btf)
    }

    /// The layout from any source of member offsets.
    pub fn from_offsets<T: MemberOffsets>(btf: &T) -> Result<SockLayout, T::Error> {
        let o = |p: &str| btf.member_offset("sock", p);
        Ok(SockLayout {
            socket_sk: btf.member_offset("socket", "sk")?,
            family: o("__sk_common.skc_family")?,
            daddr: o("__sk_common.skc_daddr")?,
            rcv_saddr: o("__sk_common.skc_rcv_saddr")?,
            dport: o("__sk_common.skc_dport")?,
            num: o("__sk_common.skc_num")?,
            v6_daddr: o("__sk_common.skc_v6_daddr").ok(),
            v6_rcv_saddr: o("__sk_common.skc_v6_rcv_saddr").ok(),
            protocol: o("sk_protocol")?,
            sk_type: o("sk_type")?,
            netlink_portid: btf.member_offset("netlink_sock", "portid").ok(),
            sk_socket: o("sk_socket").ok(),
            socket_inode: btf.member_offset("socket_alloc", "vfs_inode").ok(),
            unix_peer: btf.member_offset("unix_sock", "peer").ok(),
            unix_addr: btf.member_offset("unix_sock", "addr").ok(),
            unix_addr_len: btf.member_offset("unix_address", "len").ok(),
            unix_addr_name: btf.member_offset("unix_address", "name").ok(),
            state: o("__sk_common.skc_state").ok(),
        })
    }
}

/// Byte offsets for the walk task → `mm_struct` → VMA tree → each
/// `vm_area_struct` and its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MmLayout {
    /// `mm_struct.mm_mt.ma_root` (6.1+: the maple tree's encoded root).
    pub mt_root: Option<u64>,
    /// `mm_struct.mmap` (before 6.1: the first VMA of the sorted list).
    pub mmap: Option<u64>,
    /// `vm_area_struct.vm_next` (before 6.1).
    pub vm_next: Option<u64>,
    /// `vm_area_struct.vm_start`.
    pub vm_start: u64,
    /// `vm_area_struct.vm_end`.
    pub vm_end: u64,
    /// `vm_area_struct.vm_mm`: checked against the walked mm.
    pub vm_mm: u64,
    /// `vm_area_struct.vm_pgoff` (in pages).
    pub vm_pgoff: u64,
    /// `vm_area_struct.vm_file` (`struct file *`).
    pub vm_file: u64,
    /// `vm_area_struct.vm_flags`.
    pub vm_flags: u64,
    /// `vm_area_struct.vm_ops` (NULL in an anonymous area: what
    /// `vma_is_anonymous` tests), when known.
    #[serde(default)]
    pub vm_ops: Option<u64>,
    /// `maple_range_64.pivot` (range and leaf nodes).
    pub range_pivot: u64,
    /// `maple_range_64.slot`.
    pub range_slot: u64,
    /// `maple_arange_64.pivot` (allocation-range nodes).
    pub arange_pivot: u64,
    /// `maple_arange_64.slot`.
    pub arange_slot: u64,
}

impl MmLayout {
    /// The layout from `btf`: the maple tree (6.1+) or the VMA list.
    pub fn from_btf(btf: &Btf) -> Result<MmLayout, BtfError> {
        MmLayout::from_offsets(btf)
    }

    /// The layout from any source of member offsets.
    pub fn from_offsets<T: MemberOffsets>(btf: &T) -> Result<MmLayout, T::Error> {
        let o = |s: &str, p: &str| btf.member_offset(s, p);
        let mt_root = o("mm_struct", "mm_mt.ma_root").ok();
        let (mmap, vm_next) = match mt_root {
            Some(_) => (None, None),
            None => (
                Some(o("mm_struct", "mmap")?),
                Some(o("vm_area_struct", "vm_next")?),
            ),
        };
        let mt = |s: &str, p: &str| if mt_root.is_some() { o(s, p) } else { Ok(0) };
        Ok(MmLayout {
            mt_root,
            mmap,
            vm_next,
            vm_start: o("vm_area_struct", "vm_start")?,
            vm_end: o("vm_area_struct", "vm_end")?,
            vm_mm: o("vm_area_struct", "vm_mm")?,
            vm_pgoff: o("vm_area_struct", "vm_pgoff")?,
            vm_file: o("vm_area_struct", "vm_file")?,
            vm_flags: o("vm_area_struct", "vm_flags")?,
            vm_ops: o("vm_area_struct", "vm_ops").ok(),
            range_pivot: mt("maple_range_64", "pivot")?,
            range_slot: mt("maple_range_64", "slot")?,
            arange_pivot: mt("maple_arange_64", "pivot")?,
            arange_slot: mt("maple_arange_64", "slot")?,
        })
    }
}

/// Byte offsets for `--decode-pids=pidns`: task → `struct pid` (its
/// thread's, and through `signal_struct` its process's, group's and
/// session's) → `level` and `numbers[level]` (`struct upid`: the number
/// and the namespace at each level, 0 the initial namespace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidsLayout {
    /// `task_struct.thread_pid` (`struct pid *`): the thread's id.
    pub task_thread_pid: u64,
    /// `task_struct.signal` (`struct signal_struct *`).
    pub task_signal: u64,
    /// `task_struct.thread_node` (`struct list_head`, on the process's
    /// `signal_struct.thread_head`).
    pub task_thread_node: u64,
    /// `signal_struct.pids` (`struct pid *[PIDTYPE_MAX]`, indexed by
    /// `enum pid_type`: TGID 1, PGID 2, SID 3).
    pub signal_pids: u64,
    /// `signal_struct.thread_head` (`struct list_head`).
    pub signal_thread_head: u64,
    /// `signal_struct.live` (`atomic_t`): the process's threads that have
    /// not started exiting.
    #[serde(default)]
    pub signal_live: Option<u64>,
    /// `pid.level` (`unsigned int`): the depth of the namespace it was
    /// made in.
    pub pid_level: u64,
    /// `pid.numbers` (`struct upid[]`, `level + 1` entries).
    pub pid_numbers: u64,
    /// `sizeof(struct upid)`.
    pub upid_size: u64,
    /// `upid.nr` (`int`).
    pub upid_nr: u64,
    /// `upid.ns` (`struct pid_namespace *`).
    pub upid_ns: u64,
}

impl PidsLayout {
    /// The layout from `btf` (4.19+: `thread_pid` and `signal->pids`).
    pub fn from_btf(btf: &Btf) -> Result<PidsLayout, BtfError> {
        let upid = btf
            .find_struct("upid")
            .ok_or_else(|| BtfError::NoStruct("upid".into()))?;
        Self::from_offsets(btf, btf.size_of(upid)?)
    }

    /// The layout from any table of member offsets (BTF, a symbol table
    /// file), `upid_size` being `sizeof(struct upid)` there.
    pub fn from_offsets<T: MemberOffsets>(t: &T, upid_size: u64) -> Result<PidsLayout, T::Error> {
        let o = |s: &str, p: &str| t.member_offset(s, p);
        Ok(PidsLayout {
            task_thread_pid: o("task_struct", "thread_pid")?,
            task_signal: o("task_struct", "signal")?,
            task_thread_node: o("task_struct", "thread_node")?,
            signal_pids: o("signal_struct", "pids")?,
            signal_thread_head: o("signal_struct", "thread_head")?,
            signal_live: o("signal_struct", "live").ok(),
            pid_level: o("pid", "level")?,
            pid_numbers: o("pid", "numbers")?,
            upid_size,
            upid_nr: o("upid", "nr")?,
            upid_ns: o("upid", "ns")?,
        })
    }
}

/// A hand-made x86_64 profile for walker tests on synthetic memory
/// (only the pointer size and kernel range matter to the walkers).
#[cfg(test)]
pub(crate) fn synthetic_profile() -> super::LinuxProfile {
    super::LinuxProfile {
        version: super::PROFILE_VERSION,
        banner: None,
        current_task: super::PerCpuSym {
            name: "current_task".into(),
            offset: 0x1fbc0,
        },
        init_task: 0xffff_ffff_82a1_4940,
        per_cpu_offset: None,
        text_base: None,
        task: super::TaskLayout {
            size: 0x100,
            pid: 0x98,
            tgid: 0x9c,
            comm: 0xc0,
            comm_len: 16,
            real_parent: 0xa8,
            parent: None,
            group_leader: None,
            mm: Some(0x20),
            flags: None,
            tasks: Some(0x50),
            stime: None,
        },
        mm_pgd: None,
        pointer_size: 8,
        kernel_min: 0xffff_8000_0000_0000,
        percpu_mode: super::PerCpuMode::GsOffset,
        layout_source: "btf".into(),
        files: None,
        mm: None,
        pids: None,
        signal_probe: None,
    }
}

#[cfg(test)]
mod tests {
    use crate::profile::test_vmlinux;

    #[test]
    fn real_kernel_layouts() {
        let Some(elf) = test_vmlinux() else {
            eprintln!("SKIP: no vmlinux");
            return;
        };
        let p = crate::profile::LinuxProfile::from_vmlinux(&elf).unwrap();
        let f = p.files.expect("files layout");
        eprintln!("{f:#?}");
        // struct path is { mnt, dentry }; the vfsmount sits after the
        // mount's hash node, parent and mountpoint pointers.
        assert_eq!((f.path_mnt, f.path_dentry), (0, 8));
        assert!(f.mount_mnt > f.mount_mountpoint && f.mount_mountpoint > f.mount_parent);
        assert!(f.sock.is_some());
        let m = p.mm.expect("mm layout");
        eprintln!("{m:#?}");
        assert!(m.mt_root.is_some(), "6.1+: maple tree");
        assert_eq!((m.range_pivot, m.range_slot), (8, 128));
        assert_eq!((m.arange_pivot, m.arange_slot), (8, 80));
        let pl = p.pids.expect("pids layout");
        eprintln!("{pl:#?}");
        // struct upid is { int nr; struct pid_namespace *ns; }.
        assert_eq!((pl.upid_nr, pl.upid_ns, pl.upid_size), (0, 8, 16));
        assert!(pl.pid_numbers > pl.pid_level);
    }
}
