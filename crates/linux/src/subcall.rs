//! i386's multiplexed calls, split as strace shows them: `socketcall(2)`
//! and `ipc(2)` carry a sub-call number and its arguments (socketcall's
//! in an array in memory, ipc's in the remaining registers). strace
//! prints and filters the sub-call (`socket(AF_UNIX, ...)`, `-e
//! trace=socket` matches it), so vstrace does the same: the sub-call gets
//! a number of its own, strace's (`SYS_socket_subcall` 500 + call,
//! `SYS_ipc_subcall` 521 + call), outside the kernel's table, and its
//! arguments in the layout of the direct call, so the direct call's
//! decoder applies. old_mmap and oldselect, whose one argument points to
//! their arguments, are split the same way. Guest memory is hostile: a
//! short read leaves the call whole, as strace does.

use vstrace_core::VirtMem;

use crate::proto::LinuxAbi;

/// strace's number of socketcall's first sub-call (`SYS_socket_subcall`).
pub const SOCKET_BASE: u64 = 500;
/// strace's number of ipc's first sub-call (`SYS_ipc_subcall`).
pub const IPC_BASE: u64 = SOCKET_BASE + SOCKET_CALLS.len() as u64;
/// The number of i386's first call with its arguments in a block (see
/// [`BLOCK_CALLS`]), after ipc's sub-calls.
pub const BLOCK_BASE: u64 = IPC_BASE + 25;
/// One past the last sub-call number.
pub const END: u64 = BLOCK_BASE + BLOCK_CALLS.len() as u64;

/// i386's calls whose one argument points to a block of their real
/// arguments (old_mmap's `struct mmap_arg_struct`, oldselect's
/// `struct sel_arg_struct`), with the number of 4-byte words: strace
/// shows them as the direct call of the same name with the block's words
/// as its arguments (the address alone when the block cannot be read).
pub const BLOCK_CALLS: [(&str, usize); 2] = [("mmap", 6), ("select", 5)];

/// socketcall's sub-calls by call number (`SYS_SOCKET` = 1 ...).
pub const SOCKET_CALLS: [&str; 21] = [
    "",
    "socket",
    "bind",
    "connect",
    "listen",
    "accept",
    "getsockname",
    "getpeername",
    "socketpair",
    "send",
    "recv",
    "sendto",
    "recvfrom",
    "shutdown",
    "setsockopt",
    "getsockopt",
    "sendmsg",
    "recvmsg",
    "accept4",
    "recvmmsg",
    "sendmmsg",
];

/// ipc's sub-calls by call number (`SEMOP` = 1 ... `SHMCTL` = 24).
pub const IPC_CALLS: [(u64, &str); 12] = [
    (1, "semop"),
    (2, "semget"),
    (3, "semctl"),
    (4, "semtimedop"),
    (11, "msgsnd"),
    (12, "msgrcv"),
    (13, "msgget"),
    (14, "msgctl"),
    (21, "shmat"),
    (22, "shmdt"),
    (23, "shmget"),
    (24, "shmctl"),
];

/// Every sub-call: (strace's number, name).
pub fn all() -> impl Iterator<Item = (u64, &'static str)> {
    SOCKET_CALLS
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, n)| (SOCKET_BASE + i as u64, *n))
        .chain(IPC_CALLS.iter().map(|&(c, n)| (IPC_BASE + c, n)))
        .chain(
            BLOCK_CALLS
                .iter()
                .enumerate()
                .map(|(i, &(n, _))| (BLOCK_BASE + i as u64, n)),
        )
}

/// Whether `nr` is one of the calls of [`BLOCK_CALLS`] (their direct
/// call's prototype, not i386's one-argument one, describes them).
pub fn is_block_call(nr: u64) -> bool {
    (BLOCK_BASE..END).contains(&nr)
}

/// Whether `nr` is one of the sub-call numbers (not a kernel number:
/// a direct call with such a number is unknown, as to the kernel).
pub fn is_subcall(abi: LinuxAbi, nr: u64) -> bool {
    abi == LinuxAbi::I386 && (SOCKET_BASE..END).contains(&nr)
}

/// Whether the call `name` of `abi` is a multiplexer that
/// [`split`] may turn into a sub-call.
pub fn is_multiplexer(abi: LinuxAbi, name: &str) -> bool {
    abi == LinuxAbi::I386
        && (matches!(name, "socketcall" | "ipc") || BLOCK_CALLS.iter().any(|&(n, _)| n == name))
}

/// The sub-call that `name` (socketcall or ipc) with register arguments
/// `raw` makes: its number (see [`SOCKET_BASE`]) and its arguments in the
/// direct call's layout. `nargs(nr)` gives the sub-call's argument count.
/// `None` when the call is not split (an unknown sub-call, its argument
/// array unreadable): strace then shows the multiplexer itself.
pub fn split(
    name: &str,
    raw: &[u64],
    nargs: impl Fn(u64) -> usize,
    mem: &mut dyn VirtMem,
) -> Option<(u64, Vec<u64>)> {
    let arg = |i: usize| raw.get(i).copied().unwrap_or(0) & 0xffff_ffff;
    match name {
        "socketcall" => {
            // int call; the array of the sub-call's arguments.
            let call = arg(0) as u32 as i32;
            if call < 1 || call as usize >= SOCKET_CALLS.len() {
                return None;
            }
            let nr = SOCKET_BASE + call as u64;
            Some((nr, read_words(mem, arg(1), nargs(nr))?))
        }
        "ipc" => {
            // ipc(call, first, second, third, ptr, fifth); the high half
            // of `call` is the interface version (msgrcv's argument shape).
            let version = arg(0) >> 16;
            let call = arg(0) & 0xffff;
            if !IPC_CALLS.iter().any(|&(c, _)| c == call) {
                return None;
            }
            let a = |i: usize| arg(i + 1);
            let args = match call {
                // semop(semid, sops, nsops)
                1 => vec![a(0), a(3), a(1)],
                // semctl(semid, semnum, cmd, arg): the union is passed by
                // address; unreadable, the address itself is shown (and
                // said so after the arguments: see below).
                3 => vec![a(0), a(1), a(2), read_u32(mem, a(3)).unwrap_or(a(3))],
                // semtimedop(semid, sops, nsops, timeout)
                4 => vec![a(0), a(3), a(1), a(4)],
                // msgsnd(msqid, msgp, msgsz, msgflg)
                11 => vec![a(0), a(3), a(1), a(2)],
                // msgrcv(msqid, msgp, msgsz, msgtyp, msgflg): version 0
                // passes msgp and msgtyp in a two-word struct ipc_kludge.
                // Unreadable, its address stands for msgp (strace prints it).
                12 if version == 0 => {
                    let kludge = (read_u32(mem, a(3)), read_u32(mem, a(3).wrapping_add(4)));
                    match kludge {
                        (Some(msgp), Some(typ)) => vec![a(0), msgp, a(1), typ, a(2)],
                        _ => vec![a(0), a(3), a(1), 0, a(2)],
                    }
                }
                12 => vec![a(0), a(3), a(1), a(4), a(2)],
                // msgctl / shmctl(id, cmd, buf)
                14 | 24 => vec![a(0), a(1), a(3)],
                // shmat(shmid, shmaddr, shmflg); the address attached is
                // written to *third (see [`shmat_result`]).
                21 => vec![a(0), a(3), a(1)],
                // shmdt(shmaddr)
                22 => vec![a(3)],
                // semget, msgget, shmget: the registers in order.
                _ => (0..5).map(a).collect(),
            };
            let nr = IPC_BASE + call;
            let mut args: Vec<u64> = args;
            args.truncate(nargs(nr));
            if call == SHMAT {
                // Not an argument: where the result goes (see
                // [`shmat_result`]).
                args.push(a(2));
            }
            if call == SEMCTL {
                // Not an argument: whether the union's address could not
                // be read, so that the fourth is that address (strace
                // prints it bare) rather than the union's value (which it
                // brackets). See [`SEMUN_UNREAD`].
                let unread = read_u32(mem, a(3)).is_none();
                args.push(if unread { SEMUN_UNREAD } else { 0 });
            }
            Some((nr, args))
        }
        _ => {
            // old_mmap, oldselect: every word of the block, or nothing.
            let i = BLOCK_CALLS.iter().position(|&(n, _)| n == name)?;
            let args = read_words(mem, arg(0), BLOCK_CALLS[i].1)?;
            Some((BLOCK_BASE + i as u64, args))
        }
    }
}

/// ipc's SHMAT.
const SHMAT: u64 = 21;

/// ipc's SEMCTL.
const SEMCTL: u64 = 3;

/// The word after a split semctl's arguments when its union's address
/// could not be read.
pub(crate) const SEMUN_UNREAD: u64 = 1;

/// The result strace shows for a sub-call that returns through memory:
/// ipc's shmat returns 0 and writes the attached address to the word at
/// its `third` argument, which [`split`] keeps after shmat's arguments
/// (`raw`, as split). `None` for every other call.
pub fn shmat_result(nr: u64, raw: &[u64], ret: i64, mem: &mut dyn VirtMem) -> Option<i64> {
    if nr != IPC_BASE + SHMAT || ret != 0 || raw.len() != 4 {
        return None;
    }
    read_u32(mem, raw[3]).map(|a| a as i64)
}

/// `n` (at most 6) 4-byte words at `addr`, all or nothing.
fn read_words(mem: &mut dyn VirtMem, addr: u64, n: usize) -> Option<Vec<u64>> {
    let n = n.min(6);
    let mut buf = [0u8; 24];
    mem.read_virt(addr, &mut buf[..n * 4]).ok()?;
    Some(
        buf[..n * 4]
            .chunks_exact(4)
            .map(|c| u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
    )
}

fn read_u32(mem: &mut dyn VirtMem, addr: u64) -> Option<u64> {
    let mut b = [0u8; 4];
    mem.read_virt(addr & 0xffff_ffff, &mut b).ok()?;
    Some(u64::from(u32::from_le_bytes(b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::testmem::SparseVirt;

    fn nargs(nr: u64) -> usize {
        crate::syscall(LinuxAbi::I386, nr).map_or(0, |d| d.args.len())
    }

    #[test]
    fn socketcall_reads_the_sub_call_s_arguments_from_its_array() {
        let mut mem = SparseVirt::new();
        let words: Vec<u8> = [1u32, 0x80801, 0, 0xdead]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        mem.map(0x1000, &words);
        let (nr, args) = split("socketcall", &[1, 0x1000], nargs, &mut mem).unwrap();
        assert_eq!(nr, 501);
        assert_eq!(crate::syscall(LinuxAbi::I386, nr).unwrap().name, "socket");
        // socket takes 3 arguments: the fourth word is not one.
        assert_eq!(args, [1, 0x80801, 0]);
        // send (9), an i386-only sub-call, takes 4.
        let (nr, args) = split("socketcall", &[9, 0x1000], nargs, &mut mem).unwrap();
        assert_eq!(crate::syscall(LinuxAbi::I386, nr).unwrap().name, "send");
        assert_eq!(args.len(), 4);
    }

    #[test]
    fn old_mmap_and_oldselect_read_their_argument_blocks() {
        let mut mem = SparseVirt::new();
        let words: Vec<u8> = [0u32, 4096, 3, 0x22, u32::MAX, 0xfaced000]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        mem.map(0x1000, &words);
        let (nr, args) = split("mmap", &[0x1000], nargs, &mut mem).unwrap();
        let d = crate::syscall(LinuxAbi::I386, nr).unwrap();
        assert_eq!((d.name, d.args.len()), ("mmap", 6));
        assert_eq!(args, [0, 4096, 3, 0x22, 0xffff_ffff, 0xfaced000]);
        let (nr, args) = split("select", &[0x1004], nargs, &mut mem).unwrap();
        let d = crate::syscall(LinuxAbi::I386, nr).unwrap();
        assert_eq!((d.name, d.args.len()), ("select", 5));
        assert_eq!(args.len(), 5);
        // A block that cannot be read: the call stays whole.
        assert_eq!(split("mmap", &[0xdead_0000], nargs, &mut mem), None);
        assert_eq!(split("select", &[0], nargs, &mut mem), None);
        assert!(is_multiplexer(LinuxAbi::I386, "mmap"));
        assert!(!is_multiplexer(LinuxAbi::X86_64, "mmap"));
    }

    #[test]
    fn a_socketcall_that_cannot_be_split_stays_whole() {
        let mut mem = SparseVirt::new();
        // The last 8 bytes of a page, the next one unmapped.
        mem.map(0x1ff8, &[0; 8]);
        // Unknown sub-calls (strace's range is 1..=20).
        assert_eq!(split("socketcall", &[0, 0x1ff8], nargs, &mut mem), None);
        assert_eq!(split("socketcall", &[21, 0x1ff8], nargs, &mut mem), None);
        assert_eq!(
            split(
                "socketcall",
                &[u64::from(u32::MAX), 0x1ff8],
                nargs,
                &mut mem
            ),
            None
        );
        // bind's 3 words run past the readable 8 bytes; listen's 2 fit.
        assert_eq!(split("socketcall", &[2, 0x1ff8], nargs, &mut mem), None);
        assert!(split("socketcall", &[4, 0x1ff8], nargs, &mut mem).is_some());
        assert_eq!(
            split("socketcall", &[2, 0xdead_0000], nargs, &mut mem),
            None
        );
    }

    #[test]
    fn ipc_sub_calls_get_the_direct_call_s_layout() {
        let mut mem = SparseVirt::new();
        // msgrcv's struct ipc_kludge { msgp, msgtyp }, semctl's union.
        mem.map(0x2000, &[0x00, 0x30, 0, 0, 7, 0, 0, 0]);
        let mut s = |raw: &[u64]| {
            let (nr, args) = split("ipc", raw, nargs, &mut mem).unwrap();
            (crate::syscall(LinuxAbi::I386, nr).unwrap().name, args)
        };
        assert_eq!(s(&[1, 5, 2, 0, 0x4000, 0]), ("semop", vec![5, 0x4000, 2]));
        assert_eq!(
            s(&[2, 0x1234, 1, 0o600, 0, 0]),
            ("semget", vec![0x1234, 1, 0o600])
        );
        // (After semctl's arguments: whether the union was unreadable.)
        assert_eq!(
            s(&[3, 5, 0, 2, 0x2000, 0]),
            ("semctl", vec![5, 0, 2, 0x3000, 0])
        );
        assert_eq!(
            s(&[3, 5, 0, 0, 0x9000, 0]),
            ("semctl", vec![5, 0, 0, 0x9000, SEMUN_UNREAD])
        );
        assert_eq!(
            s(&[4, 5, 2, 0, 0x4000, 0x5000]),
            ("semtimedop", vec![5, 0x4000, 2, 0x5000])
        );
        assert_eq!(
            s(&[11, 5, 8, 0, 0x4000, 0]),
            ("msgsnd", vec![5, 0x4000, 8, 0])
        );
        assert_eq!(
            s(&[12, 5, 8, 0, 0x2000, 0]),
            ("msgrcv", vec![5, 0x3000, 8, 7, 0])
        );
        assert_eq!(
            s(&[0x1000c, 5, 8, 0, 0x4000, 9]),
            ("msgrcv", vec![5, 0x4000, 8, 9, 0])
        );
        assert_eq!(
            s(&[13, 0x1234, 0o600, 0, 0, 0]),
            ("msgget", vec![0x1234, 0o600])
        );
        assert_eq!(s(&[14, 5, 0, 0, 0x4000, 0]), ("msgctl", vec![5, 0, 0x4000]));
        // shmat keeps where its result goes after its arguments.
        assert_eq!(
            s(&[21, 5, 0, 0x6000, 0, 0]),
            ("shmat", vec![5, 0, 0, 0x6000])
        );
        assert_eq!(s(&[22, 0, 0, 0, 0x7000, 0]), ("shmdt", vec![0x7000]));
        assert_eq!(
            s(&[23, 0x1234, 4096, 0o600, 0, 0]),
            ("shmget", vec![0x1234, 4096, 0o600])
        );
        assert_eq!(s(&[24, 5, 0, 0, 0x4000, 0]), ("shmctl", vec![5, 0, 0x4000]));
        // A kludge that cannot be read: its address.
        assert_eq!(
            s(&[12, 5, 8, 0, 0x9000, 0]),
            ("msgrcv", vec![5, 0x9000, 8, 0, 0])
        );
        // The version (high half) does not change the sub-call.
        assert_eq!(
            s(&[0x20001, 5, 2, 0, 0x4000, 0]),
            ("semop", vec![5, 0x4000, 2])
        );
        // Unknown sub-calls stay whole.
        assert_eq!(split("ipc", &[5, 0, 0, 0, 0, 0], nargs, &mut mem), None);
    }

    #[test]
    fn ipc_shmat_returns_the_address_it_wrote() {
        let mut mem = SparseVirt::new();
        mem.map(0x6000, &0xb7f0_0000u32.to_le_bytes());
        let (nr, args) = split("ipc", &[21, 5, 0, 0x6000, 0, 0], nargs, &mut mem).unwrap();
        assert_eq!(shmat_result(nr, &args, 0, &mut mem), Some(0xb7f0_0000));
        // Failed, or the direct call (3 arguments): the register's value.
        assert_eq!(shmat_result(nr, &args, -22, &mut mem), None);
        assert_eq!(shmat_result(nr, &args[..3], 0, &mut mem), None);
        assert_eq!(shmat_result(nr, &[5, 0, 0, 0x9000], 0, &mut mem), None);
    }

    #[test]
    fn sub_call_numbers_are_not_kernel_numbers() {
        assert!(is_subcall(LinuxAbi::I386, 501));
        assert!(!is_subcall(LinuxAbi::X86_64, 501));
        assert!(!is_subcall(LinuxAbi::I386, 499));
        assert!(is_multiplexer(LinuxAbi::I386, "socketcall"));
        assert!(!is_multiplexer(LinuxAbi::X86_64, "socketcall"));
        for (nr, name) in all() {
            let d = crate::syscall(LinuxAbi::I386, nr).unwrap();
            assert_eq!(d.name, name);
            assert_eq!(d.nr, nr);
        }
    }
}
