//! Unit tests of the NUMA, extensible-structure and number decoders
//! (numa.rs, extensible.rs, scalars.rs), on synthetic guest memory, with
//! lines strace's own tests print.

use vstrace_core::testmem::SparseVirt;
use vstrace_core::ConstStyle;

use crate::decode::{decode_enter, decode_exit, format_call, format_return};
use crate::proto::{by_name, LinuxAbi};
use crate::structs::return_detail;
use crate::DecodeOptions;

const X: LinuxAbi = LinuxAbi::X86_64;
const I: LinuxAbi = LinuxAbi::I386;

fn le64(v: &[u64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The whole line strace would print, with its return detail.
fn line(abi: LinuxAbi, name: &str, raw: &[u64], ret: i64, m: &mut SparseVirt) -> String {
    let o = DecodeOptions::default();
    let d = by_name(abi, name).unwrap();
    let mut a = decode_enter(d, abi, raw, m, &o);
    decode_exit(d, abi, raw, ret, m, &o, &mut a);
    let mut r = format_return(d, abi, ret);
    if let Some(x) = return_detail(d, abi, raw, ret, m, &o) {
        r.text = format!("{} ({x})", r.text);
    }
    format_call(d, &a, Some(&r))
}

fn styled(s: ConstStyle, f: impl FnOnce() -> String) -> String {
    vstrace_core::style::with_style(s, f)
}

#[test]
fn policy_modes_with_their_flags() {
    let mut m = SparseVirt::new();
    // set_mempolicy's mode is an int.
    assert_eq!(
        line(
            X,
            "set_mempolicy",
            &[0xdefa_ced0_0000_8000, 0, 0],
            0,
            &mut m
        ),
        "set_mempolicy(MPOL_DEFAULT|MPOL_F_STATIC_NODES, NULL, 0) = 0"
    );
    assert_eq!(
        line(X, "set_mempolicy", &[0x4001, 0, 0], -22, &mut m),
        "set_mempolicy(MPOL_PREFERRED|MPOL_F_RELATIVE_NODES, NULL, 0) = -1 EINVAL (Invalid argument)"
    );
    let v = styled(ConstStyle::Verbose, || {
        line(X, "set_mempolicy", &[0x8000, 0, 0], 0, &mut m)
    });
    assert_eq!(
        v,
        "set_mempolicy(0x8000 /* MPOL_DEFAULT|MPOL_F_STATIC_NODES */, NULL, 0) = 0"
    );
    let r = styled(ConstStyle::Raw, || {
        line(
            X,
            "mbind",
            &[0x1000, 4096, 0xffff_ffff_0000_0000, 0, 0, 0],
            0,
            &mut m,
        )
    });
    assert_eq!(r, "mbind(0x1000, 4096, 0xffffffff00000000, NULL, 0, 0) = 0");
    // An unknown mode with flags is a flag set.
    assert_eq!(
        line(X, "set_mempolicy", &[0xe00f, 0, 0], -22, &mut m),
        "set_mempolicy(MPOL_F_STATIC_NODES|MPOL_F_RELATIVE_NODES|MPOL_F_NUMA_BALANCING|0xf, NULL, 0) = -1 EINVAL (Invalid argument)"
    );
}

#[test]
fn node_masks_and_the_policy_read_back() {
    let mut m = SparseVirt::new();
    m.map(0x1000, &0u32.to_le_bytes());
    m.map(0x2000, &le64(&[0, 1, 0]));
    assert_eq!(
        line(X, "get_mempolicy", &[0x1000, 0x2000, 129, 0, 0], 0, &mut m),
        "get_mempolicy([MPOL_DEFAULT], [0000000000000000, 0x00000000000001], 129, NULL, 0) = 0"
    );
    // A count that overflows the word count: the address.
    assert_eq!(
        line(X, "set_mempolicy", &[0, 0x2000, u64::MAX], -22, &mut m),
        "set_mempolicy(MPOL_DEFAULT, 0x2000, 18446744073709551615) = -1 EINVAL (Invalid argument)"
    );
    // i386: 32-bit words.
    m.map(0x3000, &[1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        line(I, "set_mempolicy", &[2, 0x3000, 64], 0, &mut m),
        "set_mempolicy(MPOL_BIND, [0x000001, 00000000], 64) = 0"
    );
}

#[test]
fn move_pages_arrays() {
    let mut m = SparseVirt::new();
    m.map(0x1000, &le64(&[0x7000]));
    m.map(0x2000, &(-14i32).to_le_bytes());
    assert_eq!(
        line(X, "move_pages", &[1, 1, 0x1000, 0, 0x2000, 2], 0, &mut m),
        "move_pages(1, 1, [0x7000], NULL, [-EFAULT], MPOL_MF_MOVE) = 0"
    );
    assert_eq!(
        line(
            X,
            "move_pages",
            &[1, 0, 0x1000, 0x3000, 0x2000, 4],
            0,
            &mut m
        ),
        "move_pages(1, 0, [], [], [], MPOL_MF_MOVE_ALL) = 0"
    );
    assert_eq!(
        line(
            X,
            "move_pages",
            &[1, 0, 0x1000, 0x3000, 0x2000, 4],
            -1,
            &mut m
        ),
        "move_pages(1, 0, [], [], [], MPOL_MF_MOVE_ALL) = -1 EPERM (Operation not permitted)"
    );
    assert_eq!(
        line(X, "move_pages", &[1, 1, 0x1000, 0, 0x2000, 2], -19, &mut m),
        "move_pages(1, 1, [0x7000], NULL, 0x2000, MPOL_MF_MOVE) = -1 ENODEV (No such device)"
    );
}

#[test]
fn mincore_pages() {
    let mut m = SparseVirt::new();
    m.map(0x1000, &[1, 0x81, 0]);
    assert_eq!(
        line(X, "mincore", &[0x7000, 8193, 0x1000], 0, &mut m),
        "mincore(0x7000, 8193, [1, 1, 0]) = 0"
    );
    assert_eq!(
        line(X, "mincore", &[0x7000, 1, 0x1000], -12, &mut m),
        "mincore(0x7000, 1, 0x1000) = -1 ENOMEM (Cannot allocate memory)"
    );
}

#[test]
fn open_how_with_its_tail() {
    let mut m = SparseVirt::new();
    let mut how = le64(&[0o100 | 1, 0o777, 1]);
    how.extend([0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87]);
    // The structure ends its page: a longer tail cannot be read.
    m.map(0x1fe0, &how);
    m.map(0x5000, b"f\0");
    let expect = |tail: &str, size: u64| {
        format!(
            "openat2(-1, \"f\", {{flags=O_WRONLY|O_CREAT, mode=0777, resolve=RESOLVE_NO_XDEV{tail}}}, {size}) = -1 EBADF (Bad file descriptor)"
        )
    };
    let l = |m: &mut SparseVirt, size: u64| {
        line(
            X,
            "openat2",
            &[u32::MAX as u64, 0x5000, 0x1fe0, size],
            -9,
            m,
        )
    };
    assert_eq!(l(&mut m, 24), expect("", 24));
    assert_eq!(
        l(&mut m, 32),
        expect(
            ", /* bytes 24..31 */ \"\\x80\\x81\\x82\\x83\\x84\\x85\\x86\\x87\"",
            32
        )
    );
    assert_eq!(l(&mut m, 40), expect(", ???", 40));
    assert_eq!(
        line(
            X,
            "openat2",
            &[u32::MAX as u64, 0x5000, 0x1fe0, 23],
            -22,
            &mut m
        ),
        "openat2(-1, \"f\", 0x1fe0, 23) = -1 EINVAL (Invalid argument)"
    );
}

#[test]
fn clone_args_at_entry_and_exit() {
    let mut m = SparseVirt::new();
    // flags=CLONE_PARENT_SETTID, parent_tid=0x3000, exit_signal=SIGCHLD.
    let mut a = vec![0u64; 11];
    a[0] = 0x100000;
    a[3] = 0x3000;
    a[4] = 17;
    m.map(0x1000, &le64(&a));
    m.map(0x3000, &42i32.to_le_bytes());
    assert_eq!(
        line(X, "clone3", &[0x1000, 88], 42, &mut m),
        "clone3({flags=CLONE_PARENT_SETTID, parent_tid=0x3000, exit_signal=SIGCHLD, stack=NULL, stack_size=0} => {parent_tid=[42]}, 88) = 42"
    );
    assert_eq!(
        line(X, "clone3", &[0x1000, 88], -22, &mut m),
        "clone3({flags=CLONE_PARENT_SETTID, parent_tid=0x3000, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, 88) = -1 EINVAL (Invalid argument)"
    );
    assert_eq!(
        line(X, "clone3", &[0x1000, 63], -22, &mut m),
        "clone3(0x1000, 63) = -1 EINVAL (Invalid argument)"
    );
    // set_tid and an unknown flag.
    let mut b = vec![0u64; 11];
    b[0] = 0xdec0_deac_0040_007f;
    b[8] = 0x5000;
    b[9] = 2;
    m.map(0x2000, &le64(&b));
    m.map(0x5000, &le64(&[0x0000_0002_0000_0001]));
    assert_eq!(
        line(X, "clone3", &[0x2000, 88], -22, &mut m),
        "clone3({flags=0xdec0deac0040007f /* CLONE_??? */, exit_signal=0, stack=NULL, stack_size=0, set_tid=[1, 2], set_tid_size=2}, 88) = -1 EINVAL (Invalid argument)"
    );
}

#[test]
fn persona_and_its_return() {
    let mut m = SparseVirt::new();
    assert_eq!(
        line(X, "personality", &[0x10006], 0x700_0000, &mut m),
        "personality(PER_BSD|0x10000) = 117440512 (PER_LINUX|SHORT_INODE|WHOLE_SECONDS|STICKY_TIMEOUTS)"
    );
    // The engine writes the number in hex (strace's RVAL_HEX).
    let d = by_name(X, "personality").unwrap();
    assert!(crate::structs::return_in_hex(d, X, &[0x10006], 0x700_0000));
    assert_eq!(
        line(X, "personality", &[0xffff_ffff], 0, &mut m),
        "personality(0xffffffff) = 0 (PER_LINUX)"
    );
}

#[test]
fn landlock_rules_and_statx_flags() {
    let mut m = SparseVirt::new();
    m.map(0x1000, &le64(&[1]));
    assert_eq!(
        line(X, "landlock_create_ruleset", &[0x1000, 12, 0], -14, &mut m),
        "landlock_create_ruleset({handled_access_fs=LANDLOCK_ACCESS_FS_EXECUTE, ...}, 12, 0) = -1 EFAULT (Bad address)"
    );
    let mut r = le64(&[1]);
    r.extend((-1i32).to_le_bytes());
    m.map(0x2000, &r);
    assert_eq!(
        line(X, "landlock_add_rule", &[u32::MAX as u64, 1, 0x2000, 0], -9, &mut m),
        "landlock_add_rule(-1, LANDLOCK_RULE_PATH_BENEATH, {allowed_access=LANDLOCK_ACCESS_FS_EXECUTE, parent_fd=-1}, 0) = -1 EBADF (Bad file descriptor)"
    );
    m.map(0x3000, b"f\0");
    assert_eq!(
        line(X, "statx", &[u32::MAX as u64 - 99, 0x3000, 0x2100, 0, 0], -14, &mut m),
        "statx(AT_FDCWD, \"f\", AT_STATX_FORCE_SYNC|AT_SYMLINK_NOFOLLOW, 0, NULL) = -1 EFAULT (Bad address)"
    );
}

#[test]
fn quota_commands_shape_their_arguments() {
    let mut m = SparseVirt::new();
    m.map(0x2000, b"/dev/sda1\0");
    // QCMD(Q_SYNC, USRQUOTA): neither the id nor the address.
    let sync = 0x8000_0100;
    assert_eq!(
        line(X, "quotactl", &[sync, 0, 7, 8], 0, &mut m),
        "quotactl(QCMD(Q_SYNC, USRQUOTA), NULL) = 0"
    );
    assert_eq!(
        styled(ConstStyle::Verbose, || line(
            X,
            "quotactl",
            &[sync, 0, 7, 8],
            0,
            &mut m
        )),
        "quotactl(2147483904 /* QCMD(Q_SYNC, USRQUOTA) */, NULL) = 0"
    );
    assert_eq!(
        styled(ConstStyle::Raw, || line(
            X,
            "quotactl",
            &[sync, 0, 7, 8],
            0,
            &mut m
        )),
        "quotactl(2147483904, NULL) = 0"
    );
    // Q_GETQUOTA: the id, and the structure the kernel wrote.
    let q: Vec<u8> = le64(&[1, 2, 3, 4, 5, 6, 7, 8])
        .into_iter()
        .chain(0x3fu32.to_le_bytes())
        .collect();
    m.map(0x1000, &q);
    assert_eq!(
        line(X, "quotactl", &[0x8000_0700, 0x2000, 0xffff_ffff, 0x1000], 0, &mut m),
        "quotactl(QCMD(Q_GETQUOTA, USRQUOTA), \"/dev/sda1\", -1, {dqb_bhardlimit=1, dqb_bsoftlimit=2, dqb_curspace=3, dqb_ihardlimit=4, dqb_isoftlimit=5, dqb_curinodes=6, ...}) = 0"
    );
    assert_eq!(
        line(X, "quotactl", &[0x8000_0701, 0, 0, 0x1000], -2, &mut m),
        "quotactl(QCMD(Q_GETQUOTA, GRPQUOTA), NULL, 0, 0x1000) = -1 ENOENT (No such file or directory)"
    );
    // Q_GETFMT: no id; the format the kernel wrote.
    m.map(0x3000, &2u32.to_le_bytes());
    assert_eq!(
        line(X, "quotactl", &[0x8000_0401, 0, 5, 0x3000], 0, &mut m),
        "quotactl(QCMD(Q_GETFMT, GRPQUOTA), NULL, [QFMT_VFS_V0]) = 0"
    );
    // Q_QUOTAON: a quota format and the quota file.
    assert_eq!(
        line(X, "quotactl", &[0x8000_0200, 0, 1, 0x2000], -2, &mut m),
        "quotactl(QCMD(Q_QUOTAON, USRQUOTA), NULL, QFMT_VFS_OLD, \"/dev/sda1\") = -1 ENOENT (No such file or directory)"
    );
    // Unknown commands and types.
    assert_eq!(
        line(X, "quotactl", &[0x3, 0, 0, 0], -22, &mut m),
        "quotactl(QCMD(0 /* Q_??? */, 0x3 /* ???QUOTA */), NULL, 0, NULL) = -1 EINVAL (Invalid argument)"
    );
    // quotactl_fd: the fd first, the same shapes after the command.
    assert_eq!(
        line(I, "quotactl_fd", &[3, 0x8000_0500, 9, 0x1000], -22, &mut m),
        "quotactl_fd(3, QCMD(Q_GETINFO, USRQUOTA), 0x1000) = -1 EINVAL (Invalid argument)"
    );
    // XFS: Q_XQUOTARM's flags the kernel reads.
    m.map(0x4000, &5u32.to_le_bytes());
    assert_eq!(
        line(X, "quotactl", &[0x0058_0602, 0, 0, 0x4000], 0, &mut m),
        "quotactl(QCMD(Q_XQUOTARM, PRJQUOTA), NULL, [FS_USER_QUOTA|FS_GROUP_QUOTA]) = 0"
    );
}

#[test]
fn xfs_quota_state_in_the_i386_layout() {
    let o = DecodeOptions {
        verbose: true,
        ..DecodeOptions::default()
    };
    // fs_quota_stat on i386: 20-byte fs_qfilestat members.
    let mut b = vec![1u8, 0, 3, 0, 0, 0, 0, 0];
    for (ino, nblks, ext) in [(1u64, 2u64, 3u32), (4, 5, 6)] {
        b.extend_from_slice(&ino.to_le_bytes());
        b.extend_from_slice(&nblks.to_le_bytes());
        b.extend_from_slice(&ext.to_le_bytes());
    }
    for v in [7u32, 8, 9, 10] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&11u16.to_le_bytes());
    b.extend_from_slice(&12u16.to_le_bytes());
    assert_eq!(b.len(), 68);
    let mut m = SparseVirt::new();
    m.map(0x1000, &b);
    let raw = [0x0058_0500, 0, 0, 0x1000];
    let d = by_name(I, "quotactl").unwrap();
    let mut a = decode_enter(d, I, &raw, &mut m, &o);
    decode_exit(d, I, &raw, 0, &mut m, &o, &mut a);
    assert_eq!(
        format_call(d, &a, Some(&format_return(d, I, 0))),
        "quotactl(QCMD(Q_XGETQSTAT, USRQUOTA), NULL, {qs_version=1, qs_flags=FS_QUOTA_UDQ_ACCT|FS_QUOTA_UDQ_ENFD, qs_uquota={qfs_ino=1, qfs_nblks=2, qfs_nextents=3}, qs_gquota={qfs_ino=4, qfs_nblks=5, qfs_nextents=6}, qs_incoredqs=7, qs_btimelimit=8, qs_itimelimit=9, qs_rtbtimelimit=10, qs_bwarnlimit=11, qs_iwarnlimit=12}) = 0"
    );
}

#[test]
fn argv_is_whole_with_v() {
    let mut m = SparseVirt::new();
    m.map(0x1000, b"a\0b\0c\0");
    m.map(0x2000, &le64(&[0x1000, 0x1002, 0x1004, 0]));
    let d = by_name(X, "execve").unwrap();
    let raw = [0x1000, 0x2000, 0, 0, 0, 0];
    let text = |verbose: bool, m: &mut SparseVirt| {
        let o = DecodeOptions {
            verbose,
            strsize: 2,
            ..DecodeOptions::default()
        };
        let mut a = decode_enter(d, X, &raw, m, &o);
        decode_exit(d, X, &raw, -2, m, &o, &mut a);
        a[1].text.clone().unwrap_or_default()
    };
    assert_eq!(text(false, &mut m), "[\"a\", \"b\", ...]");
    assert_eq!(text(true, &mut m), "[\"a\", \"b\", \"c\"]");
}

#[test]
fn mount_attr_with_its_tail() {
    let mut m = SparseVirt::new();
    // attr_set MOUNT_ATTR_NOSUID|MOUNT_ATTR_IDMAP, MS_SLAVE, userns_fd 9.
    let mut attr = le64(&[0x2 | 0x10_0000, 0, 1 << 19, 9]);
    attr.extend([0x80; 8]);
    m.map(0x1fd8, &attr);
    m.map(0x5000, b"/d\0");
    let l = |m: &mut SparseVirt, size: u64| {
        line(
            X,
            "mount_setattr",
            &[u32::MAX as u64, 0x5000, 0, 0x1fd8, size],
            -22,
            m,
        )
    };
    let body = "attr_set=MOUNT_ATTR_NOSUID|MOUNT_ATTR_IDMAP, attr_clr=0, propagation=MS_SLAVE, userns_fd=9";
    assert_eq!(
        l(&mut m, 32),
        format!("mount_setattr(-1, \"/d\", 0, {{{body}}}, 32) = -1 EINVAL (Invalid argument)")
    );
    assert!(l(&mut m, 40).contains("userns_fd=9, /* bytes 32..39 */ \"\\x80"));
    assert!(l(&mut m, 31).contains(", 0x1fd8, 31)"));
}

#[test]
fn file_handles_in_and_out() {
    let mut m = SparseVirt::new();
    let mut h = vec![4, 0, 0, 0, 1, 0, 0, 0];
    h.extend([0xb7, 0x9a, 0x6a, 0xa8]);
    m.map(0x3000, &h);
    m.map(0x5000, b".\0");
    m.map(0x6000, &[1, 0, 0, 0]);
    let out = line(
        X,
        "name_to_handle_at",
        &[-100i64 as u64, 0x5000, 0x3000, 0x6000, 0x400],
        0,
        &mut m,
    );
    assert_eq!(
        out,
        "name_to_handle_at(AT_FDCWD, \".\", {handle_bytes=4, handle_type=1, f_handle=\"\\xb7\\x9a\\x6a\\xa8\"}, [1], AT_SYMLINK_FOLLOW) = 0"
    );
    let by = line(
        X,
        "open_by_handle_at",
        &[u32::MAX as u64, 0x3000, 0],
        -9,
        &mut m,
    );
    assert!(
        by.starts_with("open_by_handle_at(-1, {handle_bytes=4, handle_type=1, f_handle=\"\\xb7"),
        "{by}"
    );
    let failed = line(
        X,
        "name_to_handle_at",
        &[-100i64 as u64, 0x5000, 0x3000, 0x6000, 0],
        -22,
        &mut m,
    );
    assert!(failed.contains("{handle_bytes=4}, 0x6000, 0)"), "{failed}");
}

#[test]
fn fcntl_notify_and_returns() {
    let mut m = SparseVirt::new();
    assert_eq!(
        line(X, "fcntl", &[0, 1026, 1], -20, &mut m),
        "fcntl(0, F_NOTIFY, DN_ACCESS) = -1 ENOTDIR (Not a directory)"
    );
    assert_eq!(
        line(X, "fcntl", &[0, 1, 0], 1, &mut m),
        "fcntl(0, F_GETFD) = 1 (flags FD_CLOEXEC)"
    );
    assert_eq!(
        line(X, "fcntl", &[1, 1025, 0], 2, &mut m),
        "fcntl(1, F_GETLEASE) = 2 (F_UNLCK)"
    );
    assert_eq!(
        line(X, "fcntl", &[1, 11, 0], 1, &mut m),
        "fcntl(1, F_GETSIG) = 1 (SIGHUP)"
    );
    assert_eq!(
        line(X, "fcntl", &[1, 11, 0], 0, &mut m),
        "fcntl(1, F_GETSIG) = 0"
    );
    let d = by_name(X, "fcntl").unwrap();
    assert!(crate::structs::return_in_hex(d, X, &[0, 1, 0], 1));
    assert!(!crate::structs::return_in_hex(d, X, &[0, 11, 0], 1));
}
