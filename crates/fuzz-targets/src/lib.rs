//! Bodies of vstrace's fuzz targets, kept in a normal (stable) crate so
//! that `cargo test` runs every target over its generated seeds, and the
//! seed-corpus generator.
//!
//! - [`input`]: the fuzz input's field format.
//! - [`fuzzmem`]: a guest virtual memory made of fuzzed bytes.
//! - [`targets`]: one function per target (guest-memory readers, page
//!   walker, Linux and Windows decoders, process attribution, BTF,
//!   kernel image, whole engine).
//! - [`context`]: the fd-table, task-list, VMA and ELF-symbol walkers.
//! - [`seeds`]: structured seed inputs for each target.
//! - [`windows_guest`]: the Windows layer's readers of a guest it has no
//!   table or profile for (PE exports, ntdll stubs, kernel accessors,
//!   process list, symbol tables), with its seeds.
//!
//! cargo-fuzz (nightly, `fuzz/`) wraps each target in `fuzz_target!`;
//! `scripts/fuzz.sh` generates the seeds and runs every target. A new
//! target is a function in [`targets`] listed in [`TARGETS`], its seeds
//! in [`seeds::seeds`], and a `fuzz/fuzz_targets/NAME.rs` with its
//! `[[bin]]` entry in `fuzz/Cargo.toml`.

#![forbid(unsafe_code)]

pub mod context;
pub mod fuzzmem;
pub mod input;
pub mod seeds;
pub mod targets;
pub mod unwind;
pub mod windows_guest;

pub use targets::{target, Target, TARGETS};

#[cfg(test)]
mod tests {
    use super::seeds::{seeds, Kernel};
    use super::*;

    /// xorshift64*: deterministic mutations without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    /// Every target over every seed, and over a few byte-level mutations
    /// of each (what the fuzzer starts from): no panic, no hang.
    #[test]
    fn every_target_runs_its_seeds_and_their_mutations() {
        let k = Kernel::default();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for t in TARGETS {
            let s = seeds(t.name, &k);
            assert!(!s.is_empty(), "{} has no seeds", t.name);
            (t.run)(&[]);
            for (name, bytes) in &s {
                (t.run)(bytes);
                for _ in 0..4 {
                    let mut m = bytes.clone();
                    for _ in 0..1 + rng.next() % 8 {
                        if m.is_empty() {
                            break;
                        }
                        let i = (rng.next() % m.len() as u64) as usize;
                        m[i] = rng.next() as u8;
                    }
                    let cut = (rng.next() % (m.len() as u64 + 1)) as usize;
                    if rng.next() % 4 == 0 {
                        m.truncate(cut);
                    }
                    (t.run)(&m);
                }
                let _ = name;
            }
        }
    }

    /// The seeds reach the decoders: the crafted calls decode as a real
    /// guest's do.
    #[test]
    fn crafted_linux_seeds_decode_like_the_guest_made_them() {
        let s = seeds("linux_decode", &Kernel::default());
        let text = |n: &str| {
            let (_, b) = s.iter().find(|(name, _)| name == n).expect(n);
            targets::linux_decode_text(b)
        };
        assert_eq!(
            text("crafted-openat"),
            "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC) = 3"
        );
        assert_eq!(
            text("crafted-prctl-set-name"),
            "prctl(PR_SET_NAME, \"0123456789abcde\"...) = 0"
        );
        assert_eq!(
            text("crafted-prctl-get-name"),
            "prctl(PR_GET_NAME, \"vstrace\") = 0"
        );
        assert_eq!(
            text("crafted-prctl-get-pdeathsig"),
            "prctl(PR_GET_PDEATHSIG, [SIGKILL]) = 0"
        );
        assert!(
            text("crafted-execve").contains("[\"/bin/sh\", \"-c\", \"echo hi\"]"),
            "{}",
            text("crafted-execve")
        );
        assert!(text("crafted-connect-inet").contains("inet_addr(\"127.0.0.1\")"));
        assert!(text("crafted-writev").contains("iov_base=\"writev-\""));
        assert!(
            text("crafted-i386-execve").contains("\"-x\""),
            "{}",
            text("crafted-i386-execve")
        );
    }

    /// The structure seeds reach the structure decoders, and many random
    /// mutations of them (hostile memory and registers) never panic.
    #[test]
    fn structure_seeds_decode_and_survive_mutations() {
        let s = seeds("linux_decode", &Kernel::default());
        let get = |n: &str| s.iter().find(|(name, _)| name == n).expect(n).1.clone();
        let text = |n: &str| targets::linux_decode_text(&get(n));
        assert!(
            text("crafted-ppoll-revents")
                .ends_with("= 1 ([{fd=3, revents=POLLIN}], left {tv_sec=1, tv_nsec=500})"),
            "{}",
            text("crafted-ppoll-revents")
        );
        assert!(text("crafted-pselect6-sets").contains("[3 4]"));
        assert!(text("crafted-nanosleep-interrupted").contains("{tv_sec=0, tv_nsec=5}"));
        assert!(text("crafted-utimensat-pair").contains("UTIME_NOW"));
        assert!(text("crafted-sched_setattr").contains("sched_flags=SCHED_FLAG_RESET_ON_FORK"));
        assert!(text("crafted-timer_create-thread").contains("sigev_notify=SIGEV_THREAD"));
        assert!(text("crafted-msgctl-stat").contains("msg_perm={uid=0, gid=0, mode=0600"));
        assert!(text("crafted-shmctl-shm_info").contains("{used_ids=16843009, shm_tot="));
        assert!(text("crafted-semctl-ipc_set").contains("{sem_perm={uid=0, gid=0, mode=000}}"));
        assert!(text("crafted-msgsnd-text").contains("{mtype=7, mtext=\"STRACE_STRING\\0\"}"));
        assert!(text("crafted-ptrace-get_syscall_info").contains("entry={nr=__NR_chdir"));
        assert!(text("crafted-set_thread_area").contains("{entry_number=-1, base_addr=00000000"));
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for n in [
            "crafted-ppoll-revents",
            "crafted-pselect6-sets",
            "crafted-nanosleep-interrupted",
            "crafted-utimensat-pair",
            "crafted-sched_setattr",
            "crafted-timer_create-thread",
            "crafted-msgctl-stat",
            "crafted-shmctl-shm_info",
            "crafted-semctl-ipc_set",
            "crafted-msgsnd-text",
            "crafted-ptrace-get_syscall_info",
            "crafted-set_thread_area",
        ] {
            mutate_and_decode(&get(n), &mut rng, 20_000);
        }
    }

    /// The seeds of the newer structure decoders (file handles, mount
    /// attributes, bpf attributes, io_uring_register's arguments, socket
    /// address families, v4l2, arch_prctl's masks) reach them, and mutations never panic.
    #[test]
    fn newer_structure_seeds_decode_and_survive_mutations() {
        let s = seeds("linux_decode", &Kernel::default());
        let get = |n: &str| s.iter().find(|(name, _)| name == n).expect(n).1.clone();
        let text = |n: &str| targets::linux_decode_text(&get(n));
        let expect = [
            (
                "crafted-name_to_handle_at",
                "{handle_bytes=8, handle_type=1, f_handle=",
            ),
            (
                "crafted-mount_setattr",
                "propagation=MS_SHARED, userns_fd=5}",
            ),
            (
                "crafted-bpf-prog_load",
                "{prog_type=BPF_PROG_TYPE_SOCKET_FILTER, insn_cnt=2,",
            ),
            (
                "crafted-bpf-link_create",
                "kprobe_multi={flags=0, cnt=2, syms=[\"sym_a\", \"sym_b\"], addrs=[0xffffffff81000000, 0x7],",
            ),
            (
                "crafted-perf_event_open",
                "{type=PERF_TYPE_HW_CACHE, size=PERF_ATTR_SIZE_VER5, config=0x5a5a5a5a<<32|",
            ),
            (
                "crafted-bpf-prog_query",
                "attach_flags=0, prog_ids=[1, 2, 3], prog_cnt=3}}",
            ),
            (
                "crafted-io_uring_register-probe",
                "{last_op=47 /* IORING_OP_??? */, ops_len=4, ops=[{op=IORING_OP_READV",
            ),
            (
                "crafted-io_uring_register-files2",
                "{nr=2, flags=IORING_RSRC_REGISTER_SPARSE, data=[4, -2], tags=[0x1337, 0],",
            ),
            (
                "crafted-io_uring_register-restrictions",
                "register_op=IORING_UNREGISTER_PBUF_RING}",
            ),
            (
                "crafted-connect-packet",
                "sll_protocol=htons(ETH_P_IP), sll_ifindex=2",
            ),
            (
                "crafted-connect-vsock",
                "svm_cid=VMADDR_CID_HOST, svm_port=0x4d2",
            ),
            (
                "crafted-connect-bluetooth",
                "l2_cid=htobs(L2CAP_CID_DYN_START)",
            ),
            (
                "crafted-ioctl-v4l2-querycap",
                "VIDIOC_QUERYCAP, {driver=\"AAAA",
            ),
            (
                "crafted-ioctl-dm-table_load",
                "DM_TABLE_LOAD, [{version=[4, 1, 2], data_size=440, data_start=312, name=\"dev\", target_count=2, flags=0}",
            ),
            (
                "crafted-ioctl-btrfs-tree_search_v2",
                "BTRFS_IOC_TREE_SEARCH_V2, {key={tree_id=BTRFS_FS_TREE_OBJECTID, min_objectid=0, max_objectid=UINT64_MAX,",
            ),
            (
                "crafted-ioctl-btrfs-tree_search_v2-v",
                "buf=[{transid=0, objectid=0, offset=0, type=BTRFS_INODE_ITEM_KEY, len=8}, {transid=0, objectid=0, offset=0, type=BTRFS_INODE_REF_KEY, len=0}]",
            ),
            (
                "crafted-ioctl-btrfs-snap_create_v2-v",
                "qgroup_inherit={flags=0, num_qgroups=2, num_ref_copies=0, num_excl_copies=0, lim={flags=0, max_rfer=0, max_excl=0, rsv_rfer=0, rsv_excl=0}, qgroups=[5, 6]}, name=\"snap\"}",
            ),
            (
                "crafted-ioctl-btrfs-logical_ino-v",
                "inodes={bytes_left=0, bytes_missing=0, elem_cnt=6, elem_missed=0, val=[{inum=17, offset=0, root=0}, {inum=0, offset=0, root=0}]}",
            ),
            (
                "crafted-ioctl-tee-open_session",
                "{buf_len=120, buf_ptr={uuid=deadbeef-0000-0000-0000-000000000000, clnt_login=TEE_IOCTL_LOGIN_GROUP, clnt_uuid=0,",
            ),
            (
                "crafted-arch_prctl-xcomp_supp",
                "[0x2021f /* XFEATURE_MASK_FPSSE|",
            ),
        ];
        for (n, want) in expect {
            assert!(text(n).contains(want), "{n}: {}", text(n));
        }
        let mut rng = Rng(0x1b87_3593_cc9e_2d51);
        for (n, _) in expect {
            mutate_and_decode(&get(n), &mut rng, 5_000);
        }
    }

    /// Decodes `rounds` mutations of `seed` (1 to 16 random bytes
    /// changed each): hostile memory and registers must never panic.
    fn mutate_and_decode(seed: &[u8], rng: &mut Rng, rounds: usize) {
        for _ in 0..rounds {
            let mut m = seed.to_vec();
            for _ in 0..1 + rng.next() % 16 {
                let i = (rng.next() % m.len() as u64) as usize;
                m[i] = rng.next() as u8;
            }
            let _ = targets::linux_decode_text(&m);
        }
    }

    /// The VT and SG_IO seeds reach their decoders, and mutations of
    /// them (hostile counts, lengths and pointers) never panic.
    #[test]
    fn vt_and_sg_io_seeds_decode_and_survive_mutations() {
        let s = seeds("linux_decode", &Kernel::default());
        let get = |n: &str| s.iter().find(|(name, _)| name == n).expect(n).1.clone();
        let text = |n: &str| targets::linux_decode_text(&get(n));
        assert!(text("crafted-ioctl-kd-diacr-huge").contains("{kb_cnt=4294967295, kbdiacruc=["));
        assert!(text("crafted-ioctl-kd-fontop").contains("op=KD_FONT_OP_GET"));
        assert!(text("crafted-ioctl-sg-io-v3").contains("dxfer_direction=SG_DXFER_TO_FROM_DEV"));
        assert!(text("crafted-ioctl-sg-io-v4").contains("{guard='Q', protocol="));
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for n in [
            "crafted-ioctl-kd-diacr-huge",
            "crafted-ioctl-kd-unimap",
            "crafted-ioctl-kd-fontop",
            "crafted-ioctl-sg-io-v3",
            "crafted-ioctl-sg-io-v4",
        ] {
            mutate_and_decode(&get(n), &mut rng, 5_000);
        }
    }

    /// The trace-file seeds are valid recordings that replay.
    #[test]
    fn trace_file_seeds_parse_and_replay() {
        for (name, b) in seeds("trace_file", &Kernel::default()) {
            let (recs, err) = vstrace_tracefile::parse_trace(&b);
            assert!(err.is_none(), "{name}: {err:?}");
            assert!(recs.len() > 4, "{name}");
            assert_eq!(vstrace_layers::fuzz_replay(&b), 4, "{name}");
        }
    }
}
