//! Seeds of the `linux_decode` target: calls of both ABIs with their
//! arguments' memory laid out as a guest would, and hostile variants.

use super::*;

/// A `linux_decode` input.
pub(super) fn linux_input(
    abi: LinuxAbi,
    name: &str,
    raw: [u64; 6],
    ret: i64,
    regions: &[(u64, Vec<u8>)],
    fill: Option<&[u8]>,
) -> Option<Vec<u8>> {
    let idx = linux_index(abi, name)?;
    let mut e = Encoder::new();
    // abi, call, -s, -v, -x level, -X style (see targets::linux_decode_text).
    e.u8((abi == LinuxAbi::I386) as u8)
        .u16(idx)
        .u16(32)
        .u8(0)
        .u16(0)
        .u16(0);
    for r in raw {
        e.u64(r);
    }
    e.u64(ret as u64);
    mem(&mut e, regions, fill);
    Some(e.out)
}

/// Bytes a pointer argument of any type can start decoding from: a
/// pointer to a path, a plausible length, then the path.
fn generic_region(at: u64, ptr32: bool) -> Vec<u8> {
    let s = at + 0x40;
    let mut v = if ptr32 {
        cat(&[&(s as u32).to_le_bytes(), &14u32.to_le_bytes(), &[0; 8]])
    } else {
        cat(&[&q(s), &q(14)])
    };
    // sockaddr_in-looking bytes after the pointer pair.
    v.extend_from_slice(&[2, 0, 0, 9, 127, 0, 0, 1]);
    v.resize(0x40, 0);
    v.extend_from_slice(b"/tmp/vst/a.txt\0");
    v.resize(0x100, 0);
    v
}

/// A hand-made call: seed tag, call name, raw arguments, return value,
/// memory regions.
type Crafted = (
    &'static str,
    &'static str,
    [u64; 6],
    i64,
    Vec<(u64, Vec<u8>)>,
);

pub(super) fn linux_decode_seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    // One seed per call and ABI: every argument that can be a pointer
    // points at its own generic region.
    for (abi, tag, base, p32) in [
        (LinuxAbi::X86_64, "x64", 0x7fff_0000_0000u64, false),
        (LinuxAbi::I386, "i386", 0x0900_0000, true),
    ] {
        for d in vstrace_linux::all(abi) {
            let raw: [u64; 6] = std::array::from_fn(|i| base + 0x1000 * i as u64);
            let regions: Vec<_> = raw.iter().map(|&a| (a, generic_region(a, p32))).collect();
            if let Some(s) = linux_input(abi, d.name, raw, 14, &regions, None) {
                out.push((format!("{tag}-{}", d.name), s));
            }
        }
    }
    let a = 0x7fff_0000_0000u64;
    let x = LinuxAbi::X86_64;
    let crafted: Vec<Crafted> = vec![
        // A seccomp filter program: sock_fprog {len, filter} and two
        // instructions (a load, a return with SECCOMP_RET_ERRNO data).
        (
            "seccomp-filter",
            "seccomp",
            [1, 0, a, 0, 0, 0],
            0,
            vec![
                (a, cat(&[&q(2), &q(a + 0x100)])),
                (
                    a + 0x100,
                    vec![0x20, 0, 0, 0, 4, 0, 0, 0, 0x06, 0, 0, 0, 0x0d, 0, 0x05, 0],
                ),
            ],
        ),
        // process_vm_readv: a local iovec whose second element runs off
        // the mapped memory, a remote one shown by address.
        (
            "process_vm_readv",
            "process_vm_readv",
            [1, a + 0xff0, 3, a + 0x200, 1, 0],
            4,
            vec![
                (a + 0xff0, cat(&[&q(a + 0x300), &q(4)])),
                (a + 0x200, cat(&[&q(a + 0x400), &q(8)])),
                (a + 0x300, b"abcd".to_vec()),
            ],
        ),
        (
            "openat",
            "openat",
            [(-100i64) as u64, a, 0x80000, 0, 0, 0],
            3,
            vec![(a, b"/etc/passwd\0".to_vec())],
        ),
        (
            "execve",
            "execve",
            [a, a + 0x100, a + 0x200, 0, 0, 0],
            0,
            vec![
                (a, b"/bin/sh\0-c\0echo hi\0PATH=/bin\0".to_vec()),
                (a + 0x100, cat(&[&q(a), &q(a + 8), &q(a + 11), &q(0)])),
                (a + 0x200, cat(&[&q(a + 19), &q(0)])),
            ],
        ),
        (
            "execve-argv-loop",
            "execve",
            [a, a + 0x100, a + 0x100, 0, 0, 0],
            0,
            // argv points at itself: every element is the array's address.
            vec![
                (a, b"/bin/sh\0".to_vec()),
                (a + 0x100, q(a + 0x100).repeat(64)),
            ],
        ),
        (
            "connect-inet",
            "connect",
            [3, a, 16, 0, 0, 0],
            -101,
            vec![(a, vec![2, 0, 0, 9, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])],
        ),
        (
            "connect-inet6",
            "connect",
            [3, a, 28, 0, 0, 0],
            -101,
            vec![(a, {
                let mut v = vec![10, 0, 0, 80, 0, 0, 0, 0];
                v.extend_from_slice(&[0; 15]);
                v.push(1);
                v.extend_from_slice(&[0; 4]);
                v
            })],
        ),
        (
            "connect-unix",
            "connect",
            [3, a, 110, 0, 0, 0],
            -2,
            vec![(a, cat(&[&[1, 0], b"/tmp/vst/sock\0"]))],
        ),
        // Option-shaped prctl arguments read from guest memory.
        (
            "prctl-set-name",
            "prctl",
            [15, a, 0, 0, 0, 0],
            0,
            vec![(a, b"0123456789abcdefghij\0".to_vec())],
        ),
        (
            "prctl-get-name",
            "prctl",
            [16, a, 0, 0, 0, 0],
            0,
            vec![(a, b"vstrace\0".to_vec())],
        ),
        (
            "prctl-get-pdeathsig",
            "prctl",
            [2, a, 0, 0, 0, 0],
            0,
            vec![(a, 9u32.to_le_bytes().to_vec())],
        ),
        (
            "writev",
            "writev",
            [1, a + 0x100, 2, 0, 0, 0],
            10,
            vec![
                (a, b"writev-ok\n".to_vec()),
                (a + 0x100, cat(&[&q(a), &q(7), &q(a + 7), &q(3)])),
            ],
        ),
        (
            "readv-huge-count",
            "readv",
            [3, a + 0x100, 0x7fff_ffff, 0, 0, 0],
            5,
            vec![
                (a, b"hello".to_vec()),
                (a + 0x100, cat(&[&q(a), &q(u64::MAX)])),
            ],
        ),
        (
            "read",
            "read",
            [3, a, 64, 0, 0, 0],
            14,
            vec![(a, b"hello vstrace\n".to_vec())],
        ),
        (
            "newfstatat",
            "newfstatat",
            [(-100i64) as u64, a, a + 0x100, 0, 0, 0],
            0,
            vec![
                (a, b"/etc\0".to_vec()),
                (a + 0x100, {
                    let mut st = vec![0u8; 144];
                    st[24..28].copy_from_slice(&0o40755u32.to_le_bytes());
                    st[48..56].copy_from_slice(&4096u64.to_le_bytes());
                    st
                }),
            ],
        ),
        (
            "rt_sigaction",
            "rt_sigaction",
            [2, a, a + 0x100, 8, 0, 0],
            0,
            vec![
                (
                    a,
                    cat(&[&q(0x40_1000), &q(0x0400_0004), &q(0x40_2000), &q(1 << 1)]),
                ),
                (a + 0x100, vec![0; 32]),
            ],
        ),
        (
            "wait4",
            "wait4",
            [u64::MAX, a, 0, 0, 0, 0],
            88,
            vec![(a, 0x700u32.to_le_bytes().to_vec())],
        ),
        (
            "pipe2",
            "pipe2",
            [a, 0x80000, 0, 0, 0, 0],
            0,
            vec![(a, cat(&[&3u32.to_le_bytes(), &4u32.to_le_bytes()]))],
        ),
        (
            "ppoll-revents",
            "ppoll",
            [a, 2, a + 0x100, 0, 8, 0],
            1,
            vec![
                (
                    a,
                    cat(&[
                        &3u32.to_le_bytes(),
                        &[1, 0, 1, 0],
                        &4u32.to_le_bytes(),
                        &[4, 0, 0, 0],
                    ]),
                ),
                (a + 0x100, cat(&[&q(1), &q(500)])),
            ],
        ),
        (
            "pselect6-sets",
            "pselect6",
            [5, a, a + 8, 0, a + 0x100, a + 0x200],
            2,
            vec![
                (a, cat(&[&q(0x18), &q(0x10)])),
                (a + 0x100, cat(&[&q(0), &q(123)])),
                (a + 0x200, cat(&[&q(a + 0x300), &q(8)])),
                (a + 0x300, q(1 << 16 | 1)),
            ],
        ),
        // ioctl arguments by request (structs/ioctl.rs).
        (
            "ioctl-tiocgwinsz",
            "ioctl",
            [1, 0x5413, a, 0, 0, 0],
            0,
            vec![(
                a,
                cat(&[&24u16.to_le_bytes(), &80u16.to_le_bytes(), &[0; 4]]),
            )],
        ),
        (
            "ioctl-fiemap",
            "ioctl",
            [3, 0xc020660b, a, 0, 0, 0],
            0,
            vec![(
                a,
                cat(&[&q(0), &q(u64::MAX), &1u32.to_le_bytes(), &[0; 12]]),
            )],
        ),
        (
            "ioctl-rndaddentropy-huge",
            "ioctl",
            [3, 0x40085203, a, 0, 0, 0],
            -9,
            vec![(
                a,
                cat(&[&8u32.to_le_bytes(), &u32::MAX.to_le_bytes(), b"abc"]),
            )],
        ),
        // The ioctl families of structs/ioctl_*.rs: evdev bit sets and
        // force feedback, loop status, MTD layouts, UBI renames with a
        // hostile count, perf BPF queries with a hostile program count.
        (
            "ioctl-evdev-bits",
            "ioctl",
            [3, 0x80604521, a, 0, 0, 0],
            0x60,
            vec![(a, vec![0xff; 0x60])],
        ),
        (
            "ioctl-evdev-ff",
            "ioctl",
            [3, 0x40304580, a, 0, 0, 0],
            -9,
            vec![(a, cat(&[&[0x51, 0, 1, 0], &[0xab; 44]]))],
        ),
        (
            "ioctl-loop-status64",
            "ioctl",
            [3, 0x4c04, a, 0, 0, 0],
            0,
            vec![(a, vec![0x41; 232])],
        ),
        (
            "ioctl-mtd-ecclayout",
            "ioctl",
            [3, 0x81484d11, a, 0, 0, 0],
            0,
            vec![(a, vec![0x7f; 328])],
        ),
        (
            "ioctl-ubi-rnvol",
            "ioctl",
            [3, 0x51106f03, a, 0, 0, 0],
            -9,
            vec![(a, cat(&[&u32::MAX.to_le_bytes(), &[0x30; 300]]))],
        ),
        (
            "ioctl-perf-query-bpf",
            "ioctl",
            [3, 0xc008240a, a, 0, 0, 0],
            0,
            vec![(
                a,
                cat(&[&4u32.to_le_bytes(), &u32::MAX.to_le_bytes(), &[1; 16]]),
            )],
        ),
        // VT requests (structs/ioctl_kd.rs): a diacritics table with a
        // hostile count, a Unicode map and a font operation whose
        // pointers lead nowhere.
        (
            "ioctl-kd-diacr-huge",
            "ioctl",
            [3, 0x4bfa, a, 0, 0, 0],
            0,
            vec![(a, cat(&[&u32::MAX.to_le_bytes(), &[0x61; 36]]))],
        ),
        (
            "ioctl-kd-unimap",
            "ioctl",
            [3, 0x4b66, a, 0, 0, 0],
            0,
            vec![(
                a,
                cat(&[&u16::MAX.to_le_bytes(), &[0; 6], &q(a + 16), &[0xab; 64]]),
            )],
        ),
        (
            "ioctl-kd-fontop",
            "ioctl",
            [3, 0x4b72, a, 0, 0, 0],
            0,
            vec![(
                a,
                cat(&[
                    &1u32.to_le_bytes(),
                    &[0xff; 16],
                    &[0; 4],
                    &q(a + 32),
                    &[0x41; 64],
                ]),
            )],
        ),
        // SG_IO (structs/ioctl_sg_io.rs): version 3 with an iovec count
        // and version 4 with hostile lengths.
        (
            "ioctl-sg-io-v3",
            "ioctl",
            [3, 0x2285, a, 0, 0, 0],
            -9,
            vec![(
                a,
                cat(&[
                    &(b'S' as u32).to_le_bytes(),
                    &(-4i32).to_le_bytes(),
                    &[6, 32, 3, 0],
                    &u32::MAX.to_le_bytes(),
                    &q(a + 88),
                    &q(a),
                    &q(a),
                    &[0xee; 56],
                ]),
            )],
        ),
        (
            "ioctl-sg-io-v4",
            "ioctl",
            [3, 0x2285, a, 0, 0, 0],
            0,
            vec![(a, cat(&[&(b'Q' as u32).to_le_bytes(), &[0xff; 156]]))],
        ),
        // Socket option values by level (structs/sockopt.rs, bpf.rs).
        (
            "setsockopt-attach-filter",
            "setsockopt",
            [3, 1, 26, a, 16, 0],
            0,
            vec![
                (a, cat(&[&q(0xffff), &q(a + 0x100)])),
                (
                    a + 0x100,
                    cat(&[&[0x30, 0, 0, 0], &0xfffff000u32.to_le_bytes()]).repeat(4),
                ),
            ],
        ),
        (
            "setsockopt-icmp-filter",
            "setsockopt",
            [3, 255, 1, a, 8, 0],
            -9,
            vec![(a, 0x1fu32.to_le_bytes().to_vec())],
        ),
        (
            "getsockopt-peercred",
            "getsockopt",
            [3, 1, 17, a, a + 0x100, 0],
            0,
            vec![
                (a, vec![0xff; 12]),
                (a + 0x100, 7u32.to_le_bytes().to_vec()),
            ],
        ),
        (
            "futex_waitv",
            "futex_waitv",
            [a, 200, 0, 0, 1, 0],
            -22,
            vec![(
                a,
                cat(&[&q(1), &q(a), &0x82u32.to_le_bytes(), &[0; 4]]).repeat(3),
            )],
        ),
        (
            "nanosleep-interrupted",
            "nanosleep",
            [a, a + 0x10, 0, 0, 0, 0],
            -516,
            vec![(a, cat(&[&q(1), &q(999_999_999), &q(0), &q(5)]))],
        ),
        (
            "utimensat-pair",
            "utimensat",
            [(-100i64) as u64, a + 0x100, a, 0, 0, 0],
            -2,
            vec![
                (
                    a,
                    cat(&[&q(1492358706), &q(123456789), &q(0), &q((1 << 30) - 1)]),
                ),
                (a + 0x100, b"f\0".to_vec()),
            ],
        ),
        (
            "sched_setattr",
            "sched_setattr",
            [0, a, 0, 0, 0, 0],
            0,
            vec![(a, {
                let mut v = vec![0u8; 56];
                v[0] = 56;
                v[8] = 1;
                v
            })],
        ),
        (
            "timer_create-thread",
            "timer_create",
            [0, a, a + 0x100, 0, 0, 0],
            0,
            vec![
                (a, {
                    let mut v = vec![0u8; 64];
                    v[..8].copy_from_slice(&q(0xdead_beef));
                    v[8] = 14;
                    v[12] = 2;
                    v
                }),
                (a + 0x100, vec![0; 4]),
            ],
        ),
        // SysV IPC control buffers, msgbuf, ptrace's syscall info and
        // user_desc (structs/ipc_ctl.rs, ptrace.rs, ldt.rs).
        (
            "msgctl-stat",
            "msgctl",
            [0, 2, a, 0, 0, 0],
            0,
            vec![(a, {
                let mut v = vec![0u8; 120];
                v[20] = 0x80;
                v[21] = 1;
                v
            })],
        ),
        (
            "shmctl-shm_info",
            "shmctl",
            [1, 14, a, 0, 0, 0],
            1,
            vec![(a, vec![1; 48])],
        ),
        (
            "semctl-ipc_set",
            "semctl",
            [0, 0, 1, a, 0, 0],
            0,
            vec![(a, vec![0; 104])],
        ),
        (
            "msgsnd-text",
            "msgsnd",
            [3, a, 14, 0, 0, 0],
            0,
            vec![(a, cat(&[&q(7), b"STRACE_STRING\0"]))],
        ),
        (
            "ptrace-get_syscall_info",
            "ptrace",
            [0x420e, 1, 88, a, 0, 0],
            80,
            vec![(a, {
                let mut v = vec![0u8; 88];
                v[0] = 1;
                v[4..8].copy_from_slice(&0xc000_003eu32.to_le_bytes());
                v[24] = 80;
                v
            })],
        ),
        // ptrace's register sets in their iovec, siginfo, the siginfo
        // queue (decode/ptrace.rs, structs/ptrace_regs.rs, siginfo.rs),
        // and io_uring_setup's parameters (structs/io_uring.rs).
        (
            "ptrace-getregset",
            "ptrace",
            [0x4204, 1, 1, a, 0, 0],
            0,
            vec![
                (a, cat(&[&q(a + 0x100), &q(216)])),
                (a + 0x100, vec![0x5a; 216]),
            ],
        ),
        (
            "ptrace-getfpregs",
            "ptrace",
            [14, 1, 0, a, 0, 0],
            0,
            vec![(a, vec![0x11; 512])],
        ),
        (
            "ptrace-setsiginfo",
            "ptrace",
            [0x4203, 1, 0, a, 0, 0],
            -3,
            vec![(a, {
                let mut v = vec![0u8; 128];
                v[0] = 11;
                v[8] = 3;
                v
            })],
        ),
        (
            "ptrace-peeksiginfo",
            "ptrace",
            [0x4209, 1, a, a + 0x100, 0, 0],
            2,
            vec![
                (a, cat(&[&q(0), &q(4 << 32)])),
                (a + 0x100, vec![0x1d; 256]),
            ],
        ),
        (
            "io_uring_setup",
            "io_uring_setup",
            [2, a, 0, 0, 0, 0],
            4,
            vec![(a, vec![0x21; 120])],
        ),
        (
            "set_thread_area",
            "set_thread_area",
            [a, 0, 0, 0, 0, 0],
            -38,
            vec![(
                a,
                cat(&[&u32::MAX.to_le_bytes(), &[0; 8], &[0x8b, 0, 0, 0]]),
            )],
        ),
        (
            "path-across-fault",
            "openat",
            [(-100i64) as u64, a + 0xffa, 0, 0, 0, 0],
            -2,
            // The path runs into an unmapped page.
            vec![(a + 0xffa, b"/tmp/x".to_vec())],
        ),
        // quotactl Q_GETNEXTQUOTA: an if_nextdqblk the kernel wrote, cut
        // short by the end of the mapped memory.
        (
            "quotactl-nextdqblk",
            "quotactl",
            [0x8000_0900, a, 0, a + 0xfc0, 0, 0],
            0,
            vec![(a, b"/dev/sda1\0".to_vec()), (a + 0xfc0, vec![0x5a; 0x40])],
        ),
        // quotactl_fd Q_XGETQSTATV: an fs_quota_statv.
        (
            "quotactl-statv",
            "quotactl_fd",
            [3, 0x0058_0800, 0, a, 0, 0],
            0,
            vec![(a, vec![0xa5; 160])],
        ),
        // name_to_handle_at: a struct file_handle whose handle_bytes
        // the kernel filled in (hostile: a huge count when mutated).
        (
            "name_to_handle_at",
            "name_to_handle_at",
            [(-100i64) as u64, a, a + 0x100, a + 0x200, 0x400, 0],
            0,
            vec![
                (a, b"/tmp\0".to_vec()),
                (
                    a + 0x100,
                    cat(&[&8u32.to_le_bytes(), &1i32.to_le_bytes(), &[0xab; 8]]),
                ),
                (a + 0x200, 42i32.to_le_bytes().to_vec()),
            ],
        ),
        // mount_setattr: a struct mount_attr of its size argument.
        (
            "mount_setattr",
            "mount_setattr",
            [3, a, 0x8000, a + 0x100, 32, 0],
            0,
            vec![
                (a, b"\0".to_vec()),
                (
                    a + 0x100,
                    cat(&[&q(0x10_0002), &q(0), &q(0x0010_0000), &q(5)]),
                ),
            ],
        ),
        // bpf BPF_PROG_LOAD: the union bpf_attr by command.
        (
            "bpf-prog_load",
            "bpf",
            [5, a, 0x90, 0, 0, 0],
            3,
            vec![
                (a, {
                    let mut v = vec![0u8; 0x90];
                    v[0] = 1;
                    v[4] = 2;
                    v[8..16].copy_from_slice(&(a + 0x200).to_le_bytes());
                    v
                }),
                (a + 0x200, vec![0x95; 16]),
            ],
        ),
        // bpf BPF_LINK_CREATE of a kprobe_multi link: its arrays of
        // symbol names, addresses and cookies (a hostile count when
        // mutated).
        (
            "bpf-link_create",
            "bpf",
            [28, a, 48, 0, 0, 0],
            3,
            vec![
                (a, {
                    let mut v = vec![0u8; 48];
                    v[8] = 42;
                    v[20] = 2;
                    v[24..32].copy_from_slice(&(a + 0x200).to_le_bytes());
                    v[32..40].copy_from_slice(&(a + 0x300).to_le_bytes());
                    v[40..48].copy_from_slice(&(a + 0x300).to_le_bytes());
                    v
                }),
                (a + 0x200, cat(&[&q(a + 0x400), &q(a + 0x408)])),
                (a + 0x400, b"sym_a\0\0\0sym_b\0".to_vec()),
                (a + 0x300, cat(&[&q(0xffff_ffff_8100_0000), &q(7)])),
            ],
        ),
        // perf_event_open: struct perf_event_attr of the size it declares
        // (a hostile size and type when mutated).
        (
            "perf_event_open",
            "perf_event_open",
            [a, 0, u64::MAX, u64::MAX, 8, 0],
            -22,
            vec![(a, {
                let mut v = vec![0x5au8; 128];
                v[0..8].copy_from_slice(&cat(&[&3u32.to_le_bytes(), &0x70u32.to_le_bytes()]));
                v
            })],
        ),
        // bpf BPF_PROG_QUERY: finished at the exit with the ids the
        // kernel wrote (their count hostile when mutated).
        (
            "bpf-prog_query",
            "bpf",
            [16, a, 28, 0, 0, 0],
            0,
            vec![
                (a, {
                    let mut v = vec![0u8; 28];
                    v[0..4].copy_from_slice(&(-1i32).to_le_bytes());
                    v[8] = 1;
                    v[16..24].copy_from_slice(&(a + 0x200).to_le_bytes());
                    v[24] = 3;
                    v
                }),
                (a + 0x200, cat(&[&q(0x0000_0002_0000_0001), &q(3)])),
            ],
        ),
        // io_uring_register: the probe the kernel fills (a hostile
        // ops_len and op count when mutated), a resource register with
        // its data and tags arrays, the restrictions array.
        (
            "io_uring_register-probe",
            "io_uring_register",
            [3, 8, a, 4, 0, 0],
            0,
            vec![(a, {
                let mut v = vec![0u8; 16 + 4 * 8];
                v[0] = 47;
                v[1] = 4;
                v[16] = 1;
                v[18] = 1;
                v
            })],
        ),
        (
            "io_uring_register-files2",
            "io_uring_register",
            [3, 13, a, 40, 0, 0],
            0,
            vec![
                (
                    a,
                    cat(&[
                        &2u32.to_le_bytes(),
                        &1u32.to_le_bytes(),
                        &q(0),
                        &q(a + 0x100),
                        &q(a + 0x200),
                        &[0xa0; 8],
                    ]),
                ),
                (
                    a + 0x100,
                    cat(&[&4i32.to_le_bytes(), &(-2i32).to_le_bytes()]),
                ),
                (a + 0x200, cat(&[&q(0x1337), &q(0)])),
            ],
        ),
        (
            "io_uring_register-restrictions",
            "io_uring_register",
            [3, 11, a, 3, 0, 0],
            -22,
            vec![(a, {
                let mut v = vec![0u8; 48];
                v[2] = 23;
                v[16] = 1;
                v[18] = 0xff;
                v[32] = 2;
                v[34] = 0xc0;
                v
            })],
        ),
        // connect: the socket address families beyond inet and unix
        // (AF_PACKET, AF_VSOCK, AF_BLUETOOTH), fields and lengths hostile
        // when mutated.
        (
            "connect-packet",
            "connect",
            [3, a, 20, 0, 0, 0],
            -22,
            vec![(
                a,
                cat(&[
                    &17u16.to_le_bytes(),
                    &[8, 0],
                    &2u32.to_le_bytes(),
                    &[0, 1, 4, 6],
                    &[0x11; 8],
                ]),
            )],
        ),
        (
            "connect-vsock",
            "connect",
            [3, a, 16, 0, 0, 0],
            -22,
            vec![(
                a,
                cat(&[
                    &40u16.to_le_bytes(),
                    &[0, 0],
                    &1234u32.to_le_bytes(),
                    &2u32.to_le_bytes(),
                    &[1, 0, 0, 0],
                ]),
            )],
        ),
        (
            "connect-bluetooth",
            "connect",
            [3, a, 14, 0, 0, 0],
            -22,
            vec![(
                a,
                cat(&[
                    &31u16.to_le_bytes(),
                    &[1, 2, 3, 4, 5, 6],
                    &[1, 0],
                    &[0x40, 0],
                    &[0, 0],
                ]),
            )],
        ),
        // ioctl VIDIOC_QUERYCAP: a struct v4l2_capability at the exit.
        (
            "ioctl-v4l2-querycap",
            "ioctl",
            [3, 0x8068_5600, a, 0, 0, 0],
            0,
            vec![(a, vec![0x41; 0x68])],
        ),
        // Device-mapper DM_TABLE_LOAD: the header and the target
        // specifications chained by offsets (hostile ones when mutated).
        (
            "ioctl-dm-table_load",
            "ioctl",
            [3, 0xc138_fd09, a, 0, 0, 0],
            0,
            vec![
                (a, {
                    let mut v = vec![0u8; 312];
                    for (i, x) in [4u32, 1, 2, 440, 312, 2].iter().enumerate() {
                        v[i * 4..i * 4 + 4].copy_from_slice(&x.to_le_bytes());
                    }
                    v[48..51].copy_from_slice(b"dev");
                    v
                }),
                (a + 312, {
                    let mut v = vec![0u8; 128];
                    v[0] = 8;
                    v[20] = 48;
                    v[24..30].copy_from_slice(b"linear");
                    v[40..48].copy_from_slice(b"8:1 0\0\0\0");
                    v[88..94].copy_from_slice(b"stripe");
                    v
                }),
            ],
        ),
        // btrfs BTRFS_IOC_TREE_SEARCH_V2 at a successful exit: the key,
        // the buffer size and two item headers walked by their lengths
        // (hostile lengths and counts when mutated).
        (
            "ioctl-btrfs-tree_search_v2",
            "ioctl",
            [3, 0xc070_9411, a, 0, 0, 0],
            0,
            vec![(a, {
                let mut v = vec![0u8; 112 + 96];
                v[0] = 5; // tree_id BTRFS_FS_TREE_OBJECTID
                v[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
                v[64] = 2; // nr_items
                v[104..112].copy_from_slice(&96u64.to_le_bytes());
                v[112 + 24] = 1; // type BTRFS_INODE_ITEM_KEY
                v[112 + 28] = 8; // len
                v[112 + 40 + 24] = 12; // type BTRFS_INODE_REF_KEY
                v
            })],
        ),
        // btrfs BTRFS_IOC_SNAP_CREATE_V2 inheriting quota groups (the
        // ids after the inherit structure).
        (
            "ioctl-btrfs-snap_create_v2",
            "ioctl",
            [3, 0x5000_9417, a, 0, 0, 0],
            0,
            vec![
                (a, {
                    let mut v = vec![0u8; 4096];
                    v[16] = 4; // BTRFS_SUBVOL_QGROUP_INHERIT
                    v[24] = 88; // size
                    v[32..40].copy_from_slice(&(a + 0x2000).to_le_bytes());
                    v[56..60].copy_from_slice(b"snap");
                    v
                }),
                (a + 0x2000, {
                    let mut v = vec![0u8; 88];
                    v[8] = 2; // num_qgroups
                    v[72] = 5;
                    v[80] = 6;
                    v
                }),
            ],
        ),
        // btrfs BTRFS_IOC_LOGICAL_INO at a successful exit: the inodes
        // container and its triples.
        (
            "ioctl-btrfs-logical_ino",
            "ioctl",
            [3, 0xc038_9424, a, 0, 0, 0],
            0,
            vec![
                (a, {
                    let mut v = vec![0u8; 56];
                    v[48..56].copy_from_slice(&(a + 0x1000).to_le_bytes());
                    v
                }),
                (a + 0x1000, {
                    let mut v = vec![0u8; 16 + 48];
                    v[8] = 6; // elem_cnt: two triples
                    v[16] = 0x11;
                    v
                }),
            ],
        ),
        // TEE_IOC_OPEN_SESSION: the buffer descriptor, the argument and
        // two parameters after it (hostile lengths and counts when
        // mutated).
        (
            "ioctl-tee-open_session",
            "ioctl",
            [3, 0x8010_a402, a, 0, 0, 0],
            0,
            vec![
                (a, cat(&[&q(a + 0x100), &q(56 + 64)])),
                (a + 0x100, {
                    let mut v = vec![0u8; 56 + 64];
                    v[0..4].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
                    v[32] = 2; // TEE_IOCTL_LOGIN_GROUP
                    v[52] = 2; // num_params
                    v[56] = 5; // TEE_IOCTL_PARAM_ATTR_TYPE_MEMREF_INPUT
                    v[88] = 1; // TEE_IOCTL_PARAM_ATTR_TYPE_VALUE_INPUT
                    v
                }),
            ],
        ),
        // arch_prctl ARCH_GET_XCOMP_SUPP: the component mask written.
        (
            "arch_prctl-xcomp_supp",
            "arch_prctl",
            [0x1021, a, 0, 0, 0, 0],
            0,
            vec![(a, q(0x2_021f))],
        ),
    ];
    for (tag, name, raw, ret, regions) in crafted {
        if let Some(mut s) = linux_input(x, name, raw, ret, &regions, None) {
            out.push((format!("crafted-{tag}"), s.clone()));
            // The btrfs and TEE arrays print in full with -v only: a
            // verbose twin reaches them.
            if tag.starts_with("ioctl-btrfs") || tag.starts_with("ioctl-tee") {
                s[5] = 1;
                out.push((format!("crafted-{tag}-v"), s));
            }
        }
    }
    // Every pointer readable, nothing terminated.
    for name in ["execve", "writev", "poll", "select", "sendmsg", "recvmsg"] {
        let raw = [a, a + 0x10, a + 0x20, a + 0x30, a + 0x40, a + 0x50];
        if let Some(s) = linux_input(x, name, raw, 1, &[], Some(&q(a))) {
            out.push((format!("fill-{name}"), s));
        }
    }
    let i = LinuxAbi::I386;
    let b = 0x0900_0000u64;
    let argv32 = cat(&[
        &(b as u32).to_le_bytes(),
        &(b as u32 + 8).to_le_bytes(),
        &0u32.to_le_bytes(),
    ]);
    if let Some(s) = linux_input(
        i,
        "execve",
        [b, b + 0x100, b + 0x100, 0, 0, 0],
        0,
        &[(b, b"/bin/sh\0-x\0".to_vec()), (b + 0x100, argv32)],
        None,
    ) {
        out.push(("crafted-i386-execve".into(), s));
    }
    out
}
