//! Tests of the btrfs decoders with synthetic guest memory, in both
//! ABIs.

use vstrace_core::testmem::SparseVirt;
use vstrace_core::ConstStyle;

use super::super::ioctl::tests::{line, line_o, EBADF};
use crate::decode::{decode_enter, decode_exit, format_call, format_return};
use crate::proto::{by_name, LinuxAbi};
use crate::{xlat, DecodeOptions};

/// The line strace prints for an i386 caller's `ioctl(-1, code, v)`.
fn line32(code: u32, v: u64, ret: i64, m: &mut SparseVirt) -> String {
    let abi = LinuxAbi::I386;
    let o = DecodeOptions::default();
    let d = by_name(abi, "ioctl").unwrap();
    let raw = [u32::MAX as u64, code as u64, v];
    let mut a = decode_enter(d, abi, &raw, m, &o);
    decode_exit(d, abi, &raw, ret, m, &o, &mut a);
    format_call(d, &a, Some(&format_return(d, abi, ret)))
}

fn verbose() -> DecodeOptions {
    DecodeOptions {
        verbose: true,
        ..DecodeOptions::default()
    }
}

fn le64(v: &[u64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

const E: &str = " = -1 EBADF (Bad file descriptor)";

#[test]
fn commands_numbers_and_flags() {
    let mut m = SparseVirt::new();
    assert_eq!(
        line(0x9406, 0, EBADF, &mut m),
        format!("ioctl(-1, BTRFS_IOC_TRANS_START){E}")
    );
    // BTRFS_IOC_BALANCE is declared with an argument it never reads.
    assert_eq!(
        line(0x5000_940c, 0x1000, EBADF, &mut m),
        format!("ioctl(-1, BTRFS_IOC_BALANCE){E}")
    );
    m.map(0x1000, &0xdead_beef_dead_beefu64.to_le_bytes());
    assert_eq!(
        line(0x4008_9416, 0x1000, EBADF, &mut m),
        format!("ioctl(-1, BTRFS_IOC_WAIT_SYNC, [16045690984833335023]){E}")
    );
    assert_eq!(
        line(0x4008_9416, 0, EBADF, &mut m),
        format!("ioctl(-1, BTRFS_IOC_WAIT_SYNC, NULL){E}")
    );
    // START_SYNC is written by the kernel: the address until it is.
    assert_eq!(
        line(0x8008_9418, 0x1000, EBADF, &mut m),
        format!("ioctl(-1, BTRFS_IOC_START_SYNC, 0x1000){E}")
    );
    m.map(0x2000, &3u64.to_le_bytes());
    assert_eq!(
        line(0x4008_941a, 0x2000, EBADF, &mut m),
        format!(
            "ioctl(-1, BTRFS_IOC_SUBVOL_SETFLAGS, BTRFS_SUBVOL_CREATE_ASYNC|BTRFS_SUBVOL_RDONLY){E}"
        )
    );
    assert_eq!(
        line(0x4004_9421, 2, EBADF, &mut m),
        format!("ioctl(-1, BTRFS_IOC_BALANCE_CTL, BTRFS_BALANCE_CTL_CANCEL){E}")
    );
    let raw = DecodeOptions {
        const_style: ConstStyle::Verbose,
        ..DecodeOptions::default()
    };
    assert_eq!(
        line_o(&raw, 0x4004_9421, 1, EBADF, &mut m),
        format!(
            "ioctl(-1, 0x40049421 /* BTRFS_IOC_BALANCE_CTL */, 0x1 /* BTRFS_BALANCE_CTL_PAUSE */){E}"
        )
    );
    // A request of the type strace does not decode: the number.
    assert_eq!(
        line(0x5000_943a, 0x10, EBADF, &mut m),
        format!("ioctl(-1, BTRFS_IOC_RM_DEV_V2, 0x10){E}")
    );
}

#[test]
fn vol_args_both_abis() {
    let mut m = SparseVirt::new();
    let mut v = vec![0u8; 4096];
    v[0] = 3;
    v[8..19].copy_from_slice(b"subvol-name");
    m.map(0x10000, &v);
    assert_eq!(
        line(0x5000_9401, 0x10000, EBADF, &mut m),
        format!("ioctl(-1, BTRFS_IOC_SNAP_CREATE, {{fd=3, name=\"subvol-name\"}}){E}")
    );
    // vol_args_v2: flags with quota group inheritance, whose pointer is
    // 8 bytes for x86-64 and 4 for i386.
    let mut v2 = vec![0u8; 4096];
    v2[0] = 4;
    v2[16] = 4 | 2; // BTRFS_SUBVOL_QGROUP_INHERIT|BTRFS_SUBVOL_RDONLY
    v2[24] = 88;
    v2[32..36].copy_from_slice(&0x30000u32.to_le_bytes());
    v2[56..60].copy_from_slice(b"snap");
    m.map(0x20000, &v2);
    let mut inherit = le64(&[0, 2, 0, 0]);
    inherit.extend(le64(&[1, 2, 3, 4, 5]));
    inherit.extend(le64(&[7, 8]));
    m.map(0x30000, &inherit);
    let want = "ioctl(-1, BTRFS_IOC_SNAP_CREATE_V2, {fd=4, \
                flags=BTRFS_SUBVOL_RDONLY|BTRFS_SUBVOL_QGROUP_INHERIT, size=88, \
                qgroup_inherit={flags=0, num_qgroups=2, num_ref_copies=0, num_excl_copies=0, \
                lim={flags=BTRFS_QGROUP_LIMIT_MAX_RFER, max_rfer=2, max_excl=3, rsv_rfer=4, \
                rsv_excl=5}, ...}, name=\"snap\"})";
    assert_eq!(
        line(0x5000_9417, 0x20000, EBADF, &mut m),
        format!("{want}{E}")
    );
    assert_eq!(
        line32(0x5000_9417, 0x20000, EBADF, &mut m),
        format!("{want}{E}")
    );
    assert_eq!(
        line_o(&verbose(), 0x5000_9417, 0x20000, EBADF, &mut m),
        format!("{}{E}", want.replace(", ...}", ", qgroups=[7, 8]}"))
    );
    // A successful creation: the transid after ` => `.
    m.map(0x20008, &9u64.to_le_bytes());
    assert_eq!(
        line(0x5000_9417, 0x20000, 0, &mut m),
        format!("{} => {{transid=9}}) = 0", want.trim_end_matches(')'))
    );
    // Unreadable: the address.
    assert_eq!(
        line(0x5000_9401, 0x7000, EBADF, &mut m),
        format!("ioctl(-1, BTRFS_IOC_SNAP_CREATE, 0x7000){E}")
    );
}

#[test]
fn send_layout_by_abi() {
    let mut m = SparseVirt::new();
    // x86-64: send_fd, count, the 8-byte pointer, parent_root, flags.
    m.map(0x1000, &le64(&[1, 2, 0x5000, 256, 1, 0, 0, 0, 0]));
    assert_eq!(
        line(0x4048_9426, 0x1000, EBADF, &mut m),
        format!(
            "ioctl(-1, BTRFS_IOC_SEND, {{send_fd=1, clone_sources_count=2, clone_sources=0x5000, \
             parent_root=BTRFS_FIRST_FREE_OBJECTID, flags=BTRFS_SEND_FLAG_NO_FILE_DATA}}){E}"
        )
    );
    // i386: the pointer takes 4 bytes, parent_root follows at 20.
    let mut b = le64(&[1, 2]);
    b.extend(0x5000u32.to_le_bytes());
    b.extend(le64(&[5, 0, 0, 0, 0, 0, 0]));
    m.map(0x2000, &b);
    assert_eq!(
        line32(0x4044_9426, 0x2000, EBADF, &mut m),
        format!(
            "ioctl(-1, BTRFS_IOC_SEND, {{send_fd=1, clone_sources_count=2, clone_sources=0x5000, \
             parent_root=BTRFS_FS_TREE_OBJECTID, flags=0}}){E}"
        )
    );
    m.map(0x5000, &le64(&[256, 257]));
    assert_eq!(
        line_o(&verbose(), 0x4048_9426, 0x1000, EBADF, &mut m),
        format!(
            "ioctl(-1, BTRFS_IOC_SEND, {{send_fd=1, clone_sources_count=2, \
             clone_sources=[BTRFS_FIRST_FREE_OBJECTID, 257], \
             parent_root=BTRFS_FIRST_FREE_OBJECTID, flags=BTRFS_SEND_FLAG_NO_FILE_DATA}}){E}"
        )
    );
}

#[test]
fn tree_search_entry_and_results() {
    let mut m = SparseVirt::new();
    let mut v = vec![0u8; 4096];
    v[0..8].copy_from_slice(&1u64.to_le_bytes());
    v[8..16].copy_from_slice(&256u64.to_le_bytes());
    v[16..24].copy_from_slice(&(-256i64 as u64).to_le_bytes());
    v[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
    v[60..64].copy_from_slice(&u32::MAX.to_le_bytes());
    v[64] = 2;
    // Two item headers of 8 bytes each in the buffer.
    v[104 + 24] = 1;
    v[104 + 28] = 8;
    v[104 + 40 + 8] = 6;
    v[104 + 40 + 24] = 12;
    m.map(0x10000, &v);
    let key = "key={tree_id=BTRFS_ROOT_TREE_OBJECTID, min_offset=0, max_offset=UINT64_MAX, \
               min_transid=0, max_transid=0, min_type=0, max_type=UINT32_MAX, nr_items=2}";
    assert_eq!(
        line(0xd000_9411, 0x10000, EBADF, &mut m),
        format!("ioctl(-1, BTRFS_IOC_TREE_SEARCH, {{{key}}}){E}")
    );
    assert_eq!(
        line(0xd000_9411, 0x10000, 0, &mut m),
        format!("ioctl(-1, BTRFS_IOC_TREE_SEARCH, {{{key}}} => {{key={{nr_items=2}}, ...}}) = 0")
    );
    let out = line_o(&verbose(), 0xd000_9411, 0x10000, 0, &mut m);
    assert!(
        out.ends_with(
            "=> {key={nr_items=2}, buf=[{transid=0, objectid=0, offset=0, \
             type=BTRFS_INODE_ITEM_KEY, len=8}, {transid=0, \
             objectid=BTRFS_ROOT_TREE_DIR_OBJECTID, offset=0, type=BTRFS_INODE_REF_KEY, \
             len=0}]}) = 0"
        ),
        "{out}"
    );
    // v2: EOVERFLOW shows the size the kernel needs.
    let mut v2 = v[..112].to_vec();
    v2[104..112].copy_from_slice(&16u64.to_le_bytes());
    m.map(0x20000, &v2);
    assert_eq!(
        line(0xc070_9411, 0x20000, -75, &mut m),
        format!(
            "ioctl(-1, BTRFS_IOC_TREE_SEARCH_V2, {{{key}, buf_size=16}} => {{buf_size=16}}) \
             = -1 EOVERFLOW (Value too large for defined data type)"
        )
    );
}

#[test]
fn features_stats_and_received_subvol() {
    let mut m = SparseVirt::new();
    m.map(0x1000, &le64(&[0, 1, 1, 0, 0, 0, 0, 0, 1 << 40]));
    assert_eq!(
        line(0x4030_9439, 0x1000, EBADF, &mut m),
        format!(
            "ioctl(-1, BTRFS_IOC_SET_FEATURES, [{{compat_flags=0, \
             compat_ro_flags=BTRFS_FEATURE_COMPAT_RO_FREE_SPACE_TREE, \
             incompat_flags=BTRFS_FEATURE_INCOMPAT_MIXED_BACKREF}}, {{compat_flags=0, \
             compat_ro_flags=0, incompat_flags=0}}]){E}"
        )
    );
    // GET_DEV_STATS: at the exit the statistics by name.
    let mut stats = le64(&[1, 6, 0, 10, 20, 30, 40, 50]);
    stats.resize(1032, 0);
    m.map(0x2000, &stats);
    assert_eq!(
        line(0xc408_9434, 0x2000, 0, &mut m),
        "ioctl(-1, BTRFS_IOC_GET_DEV_STATS, {devid=makedev(0, 0x1), nr_items=6, flags=0} => \
         {nr_items=6, flags=0, [[BTRFS_DEV_STAT_WRITE_ERRS]=10, \
         [BTRFS_DEV_STAT_READ_ERRS]=20, [BTRFS_DEV_STAT_FLUSH_ERRS]=30, \
         [BTRFS_DEV_STAT_CORRUPTION_ERRS]=40, [BTRFS_DEV_STAT_GENERATION_ERRS]=50, ...]}) = 0"
    );
    // SET_RECEIVED_SUBVOL: stime is 16 bytes for x86-64, 12 for i386.
    let mut r = (0u8..16).collect::<Vec<u8>>();
    r.extend(le64(&[7, 0]));
    r.extend(le64(&[1_000_000_000, 5, 0, 0, 3]));
    r.resize(200, 0);
    m.map(0x3000, &r);
    assert_eq!(
        line(0xc0c8_9425, 0x3000, EBADF, &mut m),
        format!(
            "ioctl(-1, BTRFS_IOC_SET_RECEIVED_SUBVOL, {{uuid=00010203-0405-0607-0809-0a0b0c0d0e0f, \
             stransid=7, stime={{sec=1000000000, nsec=5}} /* 2001-09-09T01:46:40.000000005+0000 */, \
             flags=3}}){E}"
        )
    );
    let mut r32 = r[..40].to_vec();
    r32.extend(5u32.to_le_bytes());
    r32.extend([0u8; 12]);
    r32.extend(3u64.to_le_bytes());
    r32.resize(192, 0);
    m.map(0x4000, &r32);
    assert_eq!(
        line32(0xc0c0_9425, 0x4000, EBADF, &mut m),
        format!(
            "ioctl(-1, BTRFS_IOC_SET_RECEIVED_SUBVOL, {{uuid=00010203-0405-0607-0809-0a0b0c0d0e0f, \
             stransid=7, stime={{sec=1000000000, nsec=5}} /* 2001-09-09T01:46:40.000000005+0000 */, \
             flags=3}}){E}"
        )
    );
}

#[test]
fn clone_dedupe_and_label() {
    let mut m = SparseVirt::new();
    assert_eq!(
        line(0x4004_9409, 0xffff_ffff, EBADF, &mut m),
        format!("ioctl(-1, BTRFS_IOC_CLONE or FICLONE, -1){E}")
    );
    let mut d = le64(&[1, 2, 3]);
    for i in 0..3u64 {
        d.extend(le64(&[i + 4, i, 0, 0]));
    }
    m.map(0x1000, &d);
    assert_eq!(
        line(0xc018_9436, 0x1000, EBADF, &mut m),
        format!(
            "ioctl(-1, BTRFS_IOC_FILE_EXTENT_SAME or FIDEDUPERANGE, {{src_offset=1, src_length=2, \
             dest_count=3, info=[{{dest_fd=4, dest_offset=0}}, {{dest_fd=5, dest_offset=1}}, \
             ...]}}){E}"
        )
    );
    let mut l = b"btrfs-label".to_vec();
    l.resize(256, 0);
    m.map(0x3000, &l);
    assert_eq!(
        line(0x4100_9432, 0x3000, EBADF, &mut m),
        format!("ioctl(-1, FS_IOC_SETFSLABEL, \"btrfs-label\"){E}")
    );
}

#[test]
fn unknown_profile_bits_name_the_block_group() {
    let mut m = SparseVirt::new();
    let mut b = vec![0u8; 1024];
    b[0] = 1; // BTRFS_BALANCE_DATA
    b[16..24].copy_from_slice(&(1u64 << 60).to_le_bytes());
    m.map(0x1000, &b);
    let out = xlat::with_style(ConstStyle::Abbrev, || {
        line(0xc400_9420, 0x1000, EBADF, &mut m)
    });
    assert!(
        out.contains("data={profiles=0x1000000000000000 /* BTRFS_BLOCK_GROUP_??? */, usage=0,"),
        "{out}"
    );
}

/// [`line`] for an x86-64 caller with the kernel's writes (`kernel`)
/// between the entry and the exit.
fn line_k(
    o: &DecodeOptions,
    code: u32,
    v: u64,
    ret: i64,
    m: &mut SparseVirt,
    kernel: impl FnOnce(&mut SparseVirt),
) -> String {
    let abi = LinuxAbi::X86_64;
    let d = by_name(abi, "ioctl").unwrap();
    let raw = [u64::MAX, code as u64, v];
    xlat::with_style(o.const_style, || {
        let mut a = decode_enter(d, abi, &raw, m, o);
        kernel(m);
        decode_exit(d, abi, &raw, ret, m, o, &mut a);
        format_call(d, &a, Some(&format_return(d, abi, ret)))
    })
}

#[test]
fn ino_lookup_shows_the_tree_the_kernel_chose() {
    let o = DecodeOptions::default();
    let mut m = SparseVirt::new();
    let mut b = vec![0u8; 4096];
    b[8..16].copy_from_slice(&256u64.to_le_bytes());
    m.map(0x10000, &b);
    let out = line_k(&o, 0xd000_9412, 0x10000, 0, &mut m, |m| {
        m.map(0x10000, &5u64.to_le_bytes());
        m.map(0x10010, b"dir/\0");
    });
    assert_eq!(
        out,
        "ioctl(-1, BTRFS_IOC_INO_LOOKUP, {treeid=0, objectid=BTRFS_FIRST_FREE_OBJECTID} => \
         {treeid=BTRFS_FS_TREE_OBJECTID, name=\"dir/\"}) = 0"
    );
    // A tree given by the caller is not shown again.
    m.map(0x10000, &5u64.to_le_bytes());
    assert_eq!(
        line(0xd000_9412, 0x10000, 0, &mut m),
        "ioctl(-1, BTRFS_IOC_INO_LOOKUP, {treeid=BTRFS_FS_TREE_OBJECTID, \
         objectid=BTRFS_FIRST_FREE_OBJECTID} => {name=\"dir/\"}) = 0"
    );
}

#[test]
fn containers_spaces_and_replace_status() {
    let mut m = SparseVirt::new();
    // INO_PATHS: the container with two paths at offsets from its values.
    let mut args = le64(&[256, 4096, 0, 0, 0, 0, 0x20000]);
    args.resize(56, 0);
    m.map(0x10000, &args);
    let mut cont = vec![0u8; 16];
    cont[8] = 2;
    cont.extend(le64(&[16, 20]));
    cont.extend(b"a/b\0c/d\0");
    m.map(0x20000, &cont);
    assert_eq!(
        line(0xc038_9423, 0x10000, 0, &mut m),
        "ioctl(-1, BTRFS_IOC_INO_PATHS, {inum=256, size=4096, fspath=0x20000} => \
         {fspath={bytes_left=0, bytes_missing=0, elem_cnt=2, elem_missed=0, ...}}) = 0"
    );
    assert_eq!(
        line_o(&verbose(), 0xc038_9423, 0x10000, 0, &mut m),
        "ioctl(-1, BTRFS_IOC_INO_PATHS, {inum=256, size=4096, fspath=0x20000} => \
         {fspath={bytes_left=0, bytes_missing=0, elem_cnt=2, elem_missed=0, \
         val=[\"a/b\", \"c/d\"]}}) = 0"
    );
    // SPACE_INFO: no room asked for: the count alone.
    m.map(0x30000, &le64(&[0, 3]));
    assert_eq!(
        line(0xc010_9414, 0x30000, 0, &mut m),
        "ioctl(-1, BTRFS_IOC_SPACE_INFO, {space_slots=0} => {total_spaces=3}) = 0"
    );
    m.map(0x30000, &le64(&[1, 1, 1, 100, 50]));
    assert_eq!(
        line_o(&verbose(), 0xc010_9414, 0x30000, 0, &mut m),
        "ioctl(-1, BTRFS_IOC_SPACE_INFO, {space_slots=1} => {total_spaces=1, \
         spaces=[{flags=BTRFS_BLOCK_GROUP_DATA, total_bytes=100, used_bytes=50}]}) = 0"
    );
    // DEV_REPLACE status: the progress in per mille and the dates.
    let mut r = le64(&[1, 0, 1, 505, 1_000_000_000, 0, 2, 3]);
    r.resize(2600, 0);
    m.map(0x40000, &r);
    assert_eq!(
        line(0xca28_9435, 0x40000, 0, &mut m),
        "ioctl(-1, BTRFS_IOC_DEV_REPLACE, {cmd=BTRFS_IOCTL_DEV_REPLACE_CMD_STATUS} => \
         {result=BTRFS_IOCTL_DEV_REPLACE_RESULT_NO_ERROR, \
         status={replace_state=BTRFS_IOCTL_DEV_REPLACE_STATE_STARTED, \
         progress_1000=505 /* 50.5% */, \
         time_started=1000000000 /* 2001-09-09T01:46:40+0000 */, time_stopped=0, \
         num_write_errors=2, num_uncorrectable_read_errors=3}}) = 0"
    );
}

#[test]
fn fs_info_optional_fields_and_compat_features() {
    let mut m = SparseVirt::new();
    let mut b = le64(&[1, 1]);
    b.extend(0u8..16);
    b.extend(16384u32.to_le_bytes());
    b.extend(4096u32.to_le_bytes());
    b.extend(4096u32.to_le_bytes());
    b.extend(0u16.to_le_bytes());
    b.extend(4u16.to_le_bytes());
    b.extend(le64(&[3, 42]));
    b.resize(1024, 0);
    m.map(0x10000, &b);
    assert_eq!(
        line(0x8400_941f, 0x10000, 0, &mut m),
        "ioctl(-1, BTRFS_IOC_FS_INFO, {max_id=1, num_devices=1, \
         fsid=00010203-0405-0607-0809-0a0b0c0d0e0f, nodesize=16384, sectorsize=4096, \
         clone_alignment=4096, csum_type=BTRFS_CSUM_TYPE_CRC32, csum_size=4, \
         flags=BTRFS_FS_INFO_FLAG_CSUM_INFO|BTRFS_FS_INFO_FLAG_GENERATION, \
         generation=42}) = 0"
    );
    m.map(0x20000, &le64(&[1, 0, 0]));
    assert_eq!(
        line(0x8018_9439, 0x20000, 0, &mut m),
        "ioctl(-1, BTRFS_IOC_GET_FEATURES, {compat_flags=0x1 /* BTRFS_FEATURE_COMPAT_??? */, \
         compat_ro_flags=0, incompat_flags=0}) = 0"
    );
    assert_eq!(
        line(0x8018_9439, 0x20000, EBADF, &mut m),
        format!("ioctl(-1, BTRFS_IOC_GET_FEATURES, 0x20000){E}")
    );
}
