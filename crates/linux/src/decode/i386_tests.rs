//! The i386 ABI's own argument shapes, as strace prints them: 64-bit
//! values in register pairs, 16-bit ids, mmap2's page offset, 4-byte
//! signal sets.

use super::*;
use crate::proto::by_name;
use vstrace_core::testmem::SparseVirt;

const I: LinuxAbi = LinuxAbi::I386;

fn line(name: &str, raw: &[u64], ret: i64, mem: &mut SparseVirt) -> String {
    let d = by_name(I, name).unwrap();
    let o = DecodeOptions::default();
    let mut a = decode_enter(d, I, raw, mem, &o);
    decode_exit(d, I, raw, ret, mem, &o, &mut a);
    format_call(d, &a, Some(&format_return(d, I, ret)))
}

#[test]
fn register_pairs_are_one_64_bit_argument() {
    let mut m = SparseVirt::new();
    let ebadf = -9i64 as u64 as i64;
    // fadvise64(fd, offset_lo, offset_hi, len, advice)
    assert_eq!(
        line("fadvise64", &[0xbef0_00ce, 0xdead_beef, 0xbaad_f00d, 0xa7b0_0ce5, 0xdead_ca75], ebadf, &mut m),
        "fadvise64(-1091567410, -4995072469322842385, 2813332709, 0xdeadca75 /* POSIX_FADV_??? */) = -1 EBADF (Bad file descriptor)"
    );
    // sync_file_range(fd, off_lo, off_hi, n_lo, n_hi, flags)
    assert_eq!(
        line("sync_file_range", &[u64::from(u32::MAX), 1, 0, 0xffff_fffe, 0xffff_ffff, 7], 0, &mut m),
        "sync_file_range(-1, 1, -2, SYNC_FILE_RANGE_WAIT_BEFORE|SYNC_FILE_RANGE_WRITE|SYNC_FILE_RANGE_WAIT_AFTER) = 0"
    );
    // _llseek's offset is high word first; the result an unsigned [n].
    m.map(0x3000, &0x1_0000_0005u64.to_le_bytes());
    assert_eq!(
        line("_llseek", &[3, 1, 5, 0x3000, 0], 0, &mut m),
        "_llseek(3, 4294967301, [4294967301], SEEK_SET) = 0"
    );
    assert_eq!(
        line("ftruncate64", &[3, 0xffff_ffff, 0xffff_ffff], 0, &mut m),
        "ftruncate64(3, 18446744073709551615) = 0"
    );
    // The registers after a pair keep their meaning (fanotify_mark's dfd).
    let d = by_name(I, "fanotify_mark").unwrap();
    assert_eq!(d.regs(), 6);
    assert_eq!(d.reg_of(3), 4);
    m.map(0x4000, b"/x\0");
    assert_eq!(
        line(
            "fanotify_mark",
            &[3, 1, 1, 0, u64::from(u32::MAX) - 99, 0x4000],
            0,
            &mut m
        ),
        "fanotify_mark(3, FAN_MARK_ADD, FAN_ACCESS, AT_FDCWD, \"/x\") = 0"
    );
}

#[test]
fn sixteen_bit_ids_are_masked_and_minus_one_is_0xffff() {
    let mut m = SparseVirt::new();
    assert_eq!(line("setuid", &[0xffff_0000], 0, &mut m), "setuid(0) = 0");
    assert_eq!(line("setuid", &[0xffff_ffff], 0, &mut m), "setuid(-1) = 0");
    assert_eq!(
        line("setresgid", &[0x1_ffff, 0xfffe, 0x10000], 0, &mut m),
        "setresgid(-1, 65534, 0) = 0"
    );
    // The *32 calls keep full ids.
    assert_eq!(
        line("setuid32", &[0xffff_0000], 0, &mut m),
        "setuid32(4294901760) = 0"
    );
    m.map(0x2000, &[1, 0, 2, 0, 3, 0]);
    assert_eq!(
        line("getresuid", &[0x2000, 0x2002, 0x2004], 0, &mut m),
        "getresuid([1], [2], [3]) = 0"
    );
}

#[test]
fn mmap2_offset_is_in_pages() {
    let mut m = SparseVirt::new();
    assert_eq!(
        line("mmap2", &[0, 4096, 1, 2, 3, 0xdbeef], 0xb7ef_e000, &mut m),
        "mmap2(NULL, 4096, PROT_READ, MAP_PRIVATE, 3, 0xdbeef000) = 0xb7efe000"
    );
}

#[test]
fn four_byte_signal_sets() {
    let mut m = SparseVirt::new();
    m.map(0x2000, &u32::MAX.to_le_bytes());
    m.map(0x3000, &(!(1u32 << 9)).to_le_bytes());
    m.map(0x4000, &3u32.to_le_bytes());
    let einval = -22i64 as u64 as i64;
    assert_eq!(
        line("rt_sigsuspend", &[0x2000, 4], einval, &mut m),
        "rt_sigsuspend(~[], 4) = -1 EINVAL (Invalid argument)"
    );
    assert_eq!(
        line("rt_sigsuspend", &[0x3000, 4], einval, &mut m),
        "rt_sigsuspend(~[USR1], 4) = -1 EINVAL (Invalid argument)"
    );
    assert_eq!(
        line("rt_sigsuspend", &[0x4000, 4], einval, &mut m),
        "rt_sigsuspend([HUP INT], 4) = -1 EINVAL (Invalid argument)"
    );
}

#[test]
fn ipc_semctl_shows_its_union_in_brackets() {
    let mut m = SparseVirt::new();
    // ipc's semctl, split: the union's value read from memory.
    let d = crate::syscall(I, crate::subcall::IPC_BASE + 3).unwrap();
    let o = DecodeOptions::default();
    let a = decode_enter(d, I, &[0, 0, 0x100, 0], &mut m, &o);
    assert_eq!(
        format_call(d, &a, Some(&format_return(d, I, 0))),
        "semctl(0, 0, IPC_64|IPC_RMID, [NULL]) = 0"
    );
    // A command with a structure shows the structure the union points
    // to, unbracketed (i386's semid64_ds: 4-byte times, each with a high
    // word after it); one the kernel did not fill stays an address.
    let mut ds = vec![0u8; 64];
    ds[52..56].copy_from_slice(&7u32.to_le_bytes()); // sem_nsems
    ds[44..48].copy_from_slice(&5u32.to_le_bytes()); // sem_ctime
    m.map(0x5000, &ds);
    let a = |m: &mut SparseVirt, ret: i64| {
        let raw = [0, 0, 0x102, 0x5000];
        let mut a = decode_enter(d, I, &raw, m, &o);
        decode_exit(d, I, &raw, ret, m, &o, &mut a);
        format_call(d, &a, Some(&format_return(d, I, ret)))
    };
    assert_eq!(
        a(&mut m, 0),
        "semctl(0, 0, IPC_64|IPC_STAT, {sem_perm={uid=0, gid=0, mode=000, key=0, cuid=0, cgid=0}, \
         sem_otime=0, sem_ctime=5, sem_nsems=7}) = 0"
    );
    assert_eq!(
        a(&mut m, -22i64 as u32 as i64),
        "semctl(0, 0, IPC_64|IPC_STAT, [0x5000]) = -1 EINVAL (Invalid argument)"
    );
    // The direct call shows the argument as an address (strace's
    // printaddr).
    assert_eq!(
        line("semctl", &[0, 0, 0x100, 0], 0, &mut m),
        "semctl(0, 0, IPC_64|IPC_RMID, NULL) = 0"
    );
}

#[test]
fn old_kernel_stat_has_16_bit_fields_and_no_nanoseconds() {
    let mut m = SparseVirt::new();
    let mut b = vec![0u8; 32];
    for (k, v) in [5u16, 7, 0o20666, 1, 0, 0, 0x107].iter().enumerate() {
        b[2 * k..2 * k + 2].copy_from_slice(&v.to_le_bytes());
    }
    b[20..24].copy_from_slice(&(-10843i32).to_le_bytes());
    m.map(0x2000, &b);
    let d = by_name(I, "oldfstat").unwrap();
    let o = DecodeOptions {
        verbose: true,
        ..DecodeOptions::default()
    };
    let mut a = decode_enter(d, I, &[0, 0x2000], &mut m, &o);
    decode_exit(d, I, &[0, 0x2000], 0, &mut m, &o, &mut a);
    assert_eq!(
        format_call(d, &a, Some(&format_return(d, I, 0))),
        "oldfstat(0, {st_dev=makedev(0, 0x5), st_ino=7, st_mode=S_IFCHR|0666, st_nlink=1, \
         st_uid=0, st_gid=0, st_blksize=0, st_blocks=0, st_rdev=makedev(0x1, 0x7), \
         st_atime=-10843 /* 1969-12-31T20:59:17+0000 */, st_mtime=0, st_ctime=0}) = 0"
    );
}

#[test]
fn fcntl64_shows_its_lock_structures() {
    let mut m = SparseVirt::new();
    // struct flock (4-byte start and length) for F_SETLK.
    let mut b = vec![0u8; 24];
    b[4..8].copy_from_slice(&0xface_feedu32.to_le_bytes());
    b[8..12].copy_from_slice(&0x1000u32.to_le_bytes());
    m.map(0x3000, &b);
    assert_eq!(
        line("fcntl64", &[0, 6, 0x3000], 0, &mut m),
        "fcntl64(0, F_SETLK, {l_type=F_RDLCK, l_whence=SEEK_SET, l_start=-87097619, l_len=4096}) = 0"
    );
    // F_GETLK64: flock64 (8-byte start at 4), shown at the exit.
    assert_eq!(
        line("fcntl64", &[0, 12, 0x3000], 0, &mut m),
        "fcntl64(0, F_GETLK64, {l_type=F_RDLCK, l_whence=SEEK_SET, l_start=17596393914093, l_len=0, l_pid=0}) = 0"
    );
    // fcntl (not fcntl64) takes no *LK64 command: the argument in hex.
    assert_eq!(
        line("fcntl", &[0, 13, 0x3000], -22i64 as u32 as i64, &mut m),
        "fcntl(0, F_SETLK64, 0x3000) = -1 EINVAL (Invalid argument)"
    );
}

#[test]
fn sendfile_s_offset_is_a_4_byte_off_t() {
    let mut m = SparseVirt::new();
    // The last 4 bytes of a page: an 8-byte read would fail.
    m.map(0x1ffc, &0xface_feedu32.to_le_bytes());
    assert_eq!(
        line("sendfile", &[4, 5, 0x1ffc, 1], -22i64 as u32 as i64, &mut m),
        "sendfile(4, 5, [4207869677], 1) = -1 EINVAL (Invalid argument)"
    );
}

#[test]
fn old_sigsets_are_4_bytes_and_setfsuid_returns_unsigned() {
    let mut m = SparseVirt::new();
    // The last 4 bytes of a page.
    m.map(0x1ffc, &1u32.to_le_bytes());
    assert_eq!(
        line("sigpending", &[0x1ffc], 0, &mut m),
        "sigpending([HUP]) = 0"
    );
    assert_eq!(
        line("sigprocmask", &[0, 0x1ffc, 0], 0, &mut m),
        "sigprocmask(SIG_BLOCK, [HUP], NULL) = 0"
    );
    assert_eq!(
        line("setfsuid32", &[0], 0xffff_0000, &mut m),
        "setfsuid32(0) = 4294901760"
    );
}

#[test]
fn old_readdir_shows_the_entry_read() {
    let mut m = SparseVirt::new();
    // d_ino, d_off, d_reclen (the name's length), the name.
    let mut d = 475u32.to_le_bytes().to_vec();
    d.extend(0u32.to_le_bytes());
    d.extend(1u16.to_le_bytes());
    d.extend(b".\0");
    m.map(0x5000, &d);
    assert_eq!(
        line("readdir", &[0, 0x5000, 1], 1, &mut m),
        "readdir(0, {d_ino=475, d_off=0, d_reclen=1, d_name=\".\"}) = 1"
    );
    // The end of the directory, and a count other than 1.
    assert_eq!(
        line("readdir", &[0, 0x5000, 1], 0, &mut m),
        "readdir(0, 0x5000) = 0"
    );
    assert_eq!(
        line("readdir", &[0, 0x5000, 2], -9, &mut m),
        "readdir(0, 0x5000, 2) = -1 EBADF (Bad file descriptor)"
    );
}

#[test]
fn v4l2_layouts_are_i386s() {
    let mut m = SparseVirt::new();
    // struct v4l2_standard: the u64 id at 4 (no padding), name at 12.
    let mut b = vec![0u8; 64];
    b[12..15].copy_from_slice(b"PAL");
    b[36] = 1; // frameperiod.numerator
    b[40] = 25; // frameperiod.denominator
    b[44..48].copy_from_slice(&625u32.to_le_bytes());
    m.map(0x1000, &b);
    assert_eq!(
        line("ioctl", &[3, 0xc0405619, 0x1000], 0, &mut m),
        "ioctl(3, VIDIOC_ENUMSTD, {index=0, name=\"PAL\", frameperiod=1/25, framelines=625}) = 0"
    );
    // struct v4l2_buffer with the 64-bit time stamp (76 bytes: the size
    // in VIDIOC_DQBUF's number): memory at 56, m at 60, length at 64.
    let mut b = vec![0u8; 76];
    b[4] = 1; // V4L2_BUF_TYPE_VIDEO_CAPTURE
    b[20..28].copy_from_slice(&0x1_0000_0000u64.to_le_bytes());
    b[28] = 7; // tv_usec
    b[56] = 1; // V4L2_MEMORY_MMAP
    b[60..64].copy_from_slice(&0xfacefeedu32.to_le_bytes());
    b[64] = 9; // length
    m.map(0x2000, &b);
    assert_eq!(
        line("ioctl", &[3, 0xc04c5611, 0x2000], 0, &mut m),
        "ioctl(3, VIDIOC_DQBUF, {type=V4L2_BUF_TYPE_VIDEO_CAPTURE, index=0, \
         memory=V4L2_MEMORY_MMAP, m.offset=0xfacefeed, length=9, bytesused=0, \
         flags=V4L2_BUF_FLAG_TIMESTAMP_UNKNOWN|V4L2_BUF_FLAG_TSTAMP_SRC_EOF, \
         timestamp={tv_sec=4294967296, tv_usec=7}, ...}) = 0"
    );
}

#[test]
fn multiplexers_they_could_not_split_print_as_strace_prints_them() {
    let mut m = SparseVirt::new();
    assert_eq!(
        line("ipc", &[42 << 16 | 10, 0, 0, 0, 0x1000, 0], -38, &mut m),
        "ipc(42<<16|10, 0, 0, 0, 0x1000, 0) = -1 ENOSYS (Function not implemented)"
    );
    assert_eq!(
        line("ipc", &[42 << 16 | 3, 0, 0, 0, 0, 0], -38, &mut m),
        "ipc(42<<16|SEMCTL, 0, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)"
    );
    assert_eq!(
        line("socketcall", &[1, 0x1000], -14, &mut m),
        "socketcall(SYS_SOCKET, 0x1000) = -1 EFAULT (Bad address)"
    );
    assert_eq!(
        line("socketcall", &[(-2i64) as u32 as u64, 0], -22, &mut m),
        "socketcall(-2, NULL) = -1 EINVAL (Invalid argument)"
    );
}

#[test]
fn old_signal_masks_by_value() {
    let mut m = SparseVirt::new();
    let o = DecodeOptions::default();
    assert_eq!(
        line("ssetmask", &[0xa00], 0x200, &mut m),
        "ssetmask([USR1 USR2]) = 0x200"
    );
    let detail = |name: &str, raw: &[u64], ret: i64, m: &mut SparseVirt| {
        crate::structs::return_detail(by_name(I, name).unwrap(), I, raw, ret, m, &o)
    };
    assert_eq!(
        detail("ssetmask", &[0xa00], 0x200, &mut m).as_deref(),
        Some("old mask [USR1]")
    );
    assert_eq!(
        detail("sgetmask", &[], 0xa00, &mut m).as_deref(),
        Some("mask [USR1 USR2]")
    );
}

#[test]
fn signal_names_its_handlers() {
    let mut m = SparseVirt::new();
    let o = DecodeOptions::default();
    assert_eq!(
        line("signal", &[10, 1], 0, &mut m),
        "signal(SIGUSR1, SIG_IGN) = 0"
    );
    assert_eq!(
        line("signal", &[10, 0xdead_beef], 1, &mut m),
        "signal(SIGUSR1, 0xdeadbeef) = 0x1"
    );
    let detail = |ret: i64, m: &mut SparseVirt| {
        crate::structs::return_detail(by_name(I, "signal").unwrap(), I, &[10, 1], ret, m, &o)
    };
    assert_eq!(detail(1, &mut m).as_deref(), Some("SIG_IGN"));
    assert_eq!(detail(0xdead_beef, &mut m), None);
}

#[test]
fn sigsuspend_shows_only_its_mask() {
    let mut m = SparseVirt::new();
    assert_eq!(
        line(
            "sigsuspend",
            &[0xffff_fdff, 0xdead_beef, 0xffff_f7ff],
            -514,
            &mut m
        ),
        "sigsuspend(~[USR2]) = ? ERESTARTNOHAND (To be restarted if no handler)"
    );
}
