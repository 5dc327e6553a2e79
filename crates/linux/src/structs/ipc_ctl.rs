//! System V IPC control structures, as strace prints them: the buffer of
//! msgctl, semctl and shmctl by command (`struct msqid_ds`, `semid_ds`,
//! `shmid_ds` with their `ipc_perm`; `msginfo`, `seminfo`, `shminfo`,
//! `shm_info`), and the `struct msgbuf` of msgsnd and msgrcv.
//!
//! The layouts are the kernel's `*64_ds` ones (what glibc uses on both
//! ABIs): `long`-sized fields of the caller's width, and on i386 a
//! reserved word after every time field. IPC_SET's buffer is read at the
//! entry and shown without the fields the kernel ignores; the STAT and
//! INFO commands' buffers at the exit, only when the call succeeded.

use vstrace_core::value::{Base, StructBuilder};
use vstrace_core::Value;

use super::{Call, Fields, StructKind};
use crate::xlat::Table;

/// `IPC_64`: the "new layout" bit of the command, ignored here as by
/// strace (the 64-bit layouts are the only ones decoded).
const IPC_64: u64 = 0x100;

/// Which control call a buffer belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctl {
    Msg,
    Sem,
    Shm,
}

/// Size of `struct ipc64_perm` for a `long` of `long` bytes: the key,
/// four ids, the mode and sequence (4 bytes each, padded), then two
/// reserved longs (aligned): 48 bytes on x86-64, 36 on i386.
fn perm_size(long: usize) -> usize {
    28usize.next_multiple_of(long) + 2 * long
}

/// A uid or gid field: `-1` for the all-ones id, as strace's
/// `PRINT_FIELD_ID`.
pub(super) fn id(v: u64) -> Value {
    if v as u32 == u32::MAX {
        Value::dec(-1)
    } else {
        Value::dec(v as u32)
    }
}

/// `struct ipc64_perm` at the start of `f`; `full` adds the fields
/// IPC_SET ignores (key, creator ids).
fn ipc_perm(f: &Fields<'_>, full: bool) -> Value {
    let mut s = StructBuilder::new();
    s.field("uid", id(f.u32(4)))
        .field("gid", id(f.u32(8)))
        .field("mode", Value::int(f.u16(20), Base::Oct03));
    if full {
        s.dec("key", f.u32(0))
            .field("cuid", id(f.u32(12)))
            .field("cgid", id(f.u32(16)));
    }
    s.done()
}

/// The command's number without `IPC_64`, and the value of `name` in the
/// call's command table.
fn cmd_is(c: &Call<'_, '_>, ctl: Ctl, cmd: u64, names: &[&str]) -> bool {
    let t = match ctl {
        Ctl::Msg => Table::MsgctlFlags,
        Ctl::Sem => Table::SemctlFlags,
        Ctl::Shm => Table::ShmctlFlags,
    };
    names
        .iter()
        .any(|n| t.xlat().value_of(c.abi, n) == Some(cmd))
}

/// The `*_ds` structure of `ctl` at `va`.
fn ds(c: &mut Call<'_, '_>, ctl: Ctl, va: u64, set: bool) -> Value {
    let n = c.long_size();
    let p = perm_size(n);
    // Distance between two time fields: x86's semid64_ds has a reserved
    // word after each time on both ABIs; msqid64_ds and shmid64_ds only
    // on i386 (a 4-byte time and its high half): 8 bytes either way.
    let t = match ctl {
        Ctl::Sem => 2 * n,
        _ => 8,
    };
    let size = match ctl {
        // perm, 3 times, cbytes, qnum, qbytes, 2 pids, 2 unused.
        Ctl::Msg => p + 3 * t + 3 * n + 8 + 2 * n,
        // perm, 2 times, nsems, 2 unused.
        Ctl::Sem => p + 2 * t + 3 * n,
        // perm, segsz, 3 times, 2 pids, nattch, 2 unused.
        Ctl::Shm => p + n + 3 * t + 8 + 3 * n,
    };
    let b = match c.fetch_v(va, size) {
        Ok(b) => b,
        Err(v) => return v,
    };
    let f = Fields::new(&b, n);
    let perm_name = match ctl {
        Ctl::Msg => "msg_perm",
        Ctl::Sem => "sem_perm",
        Ctl::Shm => "shm_perm",
    };
    let mut s = StructBuilder::new();
    s.field(perm_name, ipc_perm(&f, !set));
    match ctl {
        Ctl::Msg => {
            let after = p + 3 * t;
            if !set {
                s.dec("msg_stime", f.ulong(p))
                    .dec("msg_rtime", f.ulong(p + t))
                    .dec("msg_ctime", f.ulong(p + 2 * t))
                    .dec("msg_qnum", f.ulong(after + n));
            }
            s.dec("msg_qbytes", f.ulong(after + 2 * n));
            if !set {
                s.dec("msg_lspid", f.i32(after + 3 * n))
                    .dec("msg_lrpid", f.i32(after + 3 * n + 4));
            }
        }
        Ctl::Sem if !set => {
            s.dec("sem_otime", f.ulong(p))
                .dec("sem_ctime", f.ulong(p + t))
                .dec("sem_nsems", f.ulong(p + 2 * t));
        }
        Ctl::Sem => {}
        Ctl::Shm if !set => {
            let times = p + n;
            let pids = times + 3 * t;
            s.dec("shm_segsz", f.ulong(p))
                .dec("shm_cpid", f.i32(pids))
                .dec("shm_lpid", f.i32(pids + 4))
                .dec("shm_nattch", f.ulong(pids + 8))
                .dec("shm_atime", f.ulong(times))
                .dec("shm_dtime", f.ulong(times + t))
                .dec("shm_ctime", f.ulong(times + 2 * t));
        }
        Ctl::Shm => {}
    }
    s.done()
}

/// The INFO structure of `ctl` (`shm_info` for SHM_INFO).
fn info(c: &mut Call<'_, '_>, ctl: Ctl, va: u64, shm_info: bool) -> Value {
    let n = c.long_size();
    let size = match ctl {
        Ctl::Msg => 32,
        Ctl::Sem => 40,
        // used_ids (padded to a long), then five longs.
        Ctl::Shm if shm_info => 6 * n,
        // Five longs and four reserved ones.
        Ctl::Shm => 9 * n,
    };
    let b = match c.fetch_v(va, size) {
        Ok(b) => b,
        Err(v) => return v,
    };
    let f = Fields::new(&b, n);
    let mut s = StructBuilder::new();
    match ctl {
        Ctl::Msg => {
            let names = [
                "msgpool", "msgmap", "msgmax", "msgmnb", "msgmni", "msgssz", "msgtql",
            ];
            for (k, name) in names.iter().enumerate() {
                s.dec(*name, f.i32(4 * k));
            }
            s.dec("msgseg", f.u16(28));
        }
        Ctl::Sem => {
            let names = [
                "semmap", "semmni", "semmns", "semmnu", "semmsl", "semopm", "semume", "semusz",
                "semvmx", "semaem",
            ];
            for (k, name) in names.iter().enumerate() {
                s.dec(*name, f.i32(4 * k));
            }
        }
        Ctl::Shm if shm_info => {
            s.dec("used_ids", f.i32(0));
            let names = [
                "shm_tot",
                "shm_rss",
                "shm_swp",
                "swap_attempts",
                "swap_successes",
            ];
            for (k, name) in names.iter().enumerate() {
                s.dec(*name, f.ulong(n * (k + 1)));
            }
        }
        Ctl::Shm => {
            for (k, name) in ["shmmax", "shmmin", "shmmni", "shmseg", "shmall"]
                .iter()
                .enumerate()
            {
                s.dec(*name, f.ulong(n * k));
            }
        }
    }
    s.done()
}

/// The buffer argument of a control call, by command: IPC_SET's at the
/// entry, the STAT and INFO ones at a successful exit, the address for
/// every other command.
fn ctl_buf(c: &mut Call<'_, '_>, ctl: Ctl, cmd_arg: u8, va: u64) -> Value {
    let cmd = c.arg(cmd_arg) & 0xffff_ffff & !IPC_64;
    let addr = if va == 0 { Value::Null } else { Value::ptr(va) };
    let (stat, info_cmds, shm_info): (&[&str], &[&str], &str) = match ctl {
        Ctl::Msg => (
            &["IPC_STAT", "MSG_STAT", "MSG_STAT_ANY"],
            &["IPC_INFO", "MSG_INFO"],
            "",
        ),
        Ctl::Sem => (
            &["IPC_STAT", "SEM_STAT", "SEM_STAT_ANY"],
            &["IPC_INFO", "SEM_INFO"],
            "",
        ),
        Ctl::Shm => (
            &["IPC_STAT", "SHM_STAT", "SHM_STAT_ANY"],
            &["IPC_INFO", "SHM_INFO"],
            "SHM_INFO",
        ),
    };
    if cmd_is(c, ctl, cmd, &["IPC_SET"]) {
        return ds(c, ctl, va, true);
    }
    let exit_only = cmd_is(c, ctl, cmd, stat) || cmd_is(c, ctl, cmd, info_cmds);
    if !exit_only || c.ret.is_none() || c.failed() {
        return addr;
    }
    if cmd_is(c, ctl, cmd, stat) {
        ds(c, ctl, va, false)
    } else {
        let is_shm_info = !shm_info.is_empty() && cmd_is(c, ctl, cmd, &[shm_info]);
        info(c, ctl, va, is_shm_info)
    }
}

/// `struct msgbuf`: `{mtype=1, mtext="..."}` with `count` bytes of text
/// (strace's `printstrn`: at most `-s` of them, read with one more).
fn msgbuf(c: &mut Call<'_, '_>, va: u64, count: u64) -> Value {
    let n = c.long_size();
    // sizeof(struct msgbuf): the type and one byte, padded to a long.
    let b = match c.fetch_v(va, 2 * n) {
        Ok(b) => b,
        Err(v) => return v,
    };
    let mtype = Fields::new(&b, n).long(0);
    let text_at = va.wrapping_add(n as u64);
    let strsize = c.opts.strsize as u64;
    let size = count.min(strsize.saturating_add(1)) as usize;
    let text = match c.fetch(text_at, size) {
        Ok(mut t) => {
            t.truncate(strsize as usize);
            Value::str(t, count > strsize, c.opts.strings_in_hex)
        }
        Err(_) => Value::ptr(text_at),
    };
    StructBuilder::new()
        .dec("mtype", mtype)
        .field("mtext", text)
        .done()
}

/// The typed value of the IPC control kinds; `None` for other kinds.
pub(crate) fn value(c: &mut Call<'_, '_>, kind: StructKind, v: u64) -> Option<Value> {
    Some(match kind {
        StructKind::MsqidBuf => ctl_buf(c, Ctl::Msg, 1, v),
        StructKind::ShmidBuf => ctl_buf(c, Ctl::Shm, 1, v),
        StructKind::SemidBuf => ctl_buf(c, Ctl::Sem, 2, v),
        // The union's value is an address the ipc caller passed by
        // address: strace brackets it when it shows no structure.
        // (An unreadable union's address is shown bare, as strace shows
        // it when it cannot read the union.)
        StructKind::SemidBufIndirect if c.arg(4) == crate::subcall::SEMUN_UNREAD => Value::ptr(v),
        StructKind::SemidBufIndirect => match ctl_buf(c, Ctl::Sem, 2, v) {
            a @ (Value::Ptr(_) | Value::Null) => Value::boxed(a),
            s => s,
        },
        StructKind::Msgbuf(n) => {
            let count = c.arg(n);
            msgbuf(c, v, count)
        }
        // msgrcv: the message at the exit, whatever the result (strace
        // reads it even after a failure).
        StructKind::MsgbufOut(n) => match c.ret {
            None => Value::ptr(v),
            Some(_) => {
                let count = c.arg(n);
                msgbuf(c, v, count)
            }
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::LinuxAbi;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::DecodeOptions;

    fn call<'a, 'm>(
        name: &'a str,
        raw: [u64; 6],
        mem: &'m mut SparseVirt,
        opts: &'a DecodeOptions,
        ret: Option<i64>,
        index: usize,
    ) -> Call<'a, 'm> {
        Call {
            abi: LinuxAbi::X86_64,
            name,
            raw,
            mem,
            opts,
            ret,
            entries: &[],
            index,
        }
    }

    fn msqid_ds() -> Vec<u8> {
        let mut b = vec![0u8; 120];
        b[0..4].copy_from_slice(&7u32.to_le_bytes()); // key
        b[4..8].copy_from_slice(&u32::MAX.to_le_bytes()); // uid
        b[20..22].copy_from_slice(&0o600u16.to_le_bytes());
        b[64..72].copy_from_slice(&1234u64.to_le_bytes()); // ctime
        b[88..96].copy_from_slice(&16384u64.to_le_bytes()); // qbytes
        b[96..100].copy_from_slice(&42u32.to_le_bytes()); // lspid
        b
    }

    #[test]
    fn msgctl_stat_at_a_successful_exit_only() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &msqid_ds());
        let o = DecodeOptions::default();
        let mut msgctl = |cmd: u64, va: u64, ret: Option<i64>| {
            let mut c = call("msgctl", [0, cmd, va, 0, 0, 0], &mut m, &o, ret, 2);
            value(&mut c, StructKind::MsqidBuf, va).unwrap().render()
        };
        assert_eq!(msgctl(2, 0x1000, None), "0x1000");
        assert_eq!(
            msgctl(2, 0x1000, Some(0)),
            "{msg_perm={uid=-1, gid=0, mode=0600, key=7, cuid=0, cgid=0}, msg_stime=0, \
             msg_rtime=0, msg_ctime=1234, msg_qnum=0, msg_qbytes=16384, msg_lspid=42, \
             msg_lrpid=0}"
        );
        assert_eq!(msgctl(2, 0x1000, Some(-14)), "0x1000");
        // IPC_SET (with IPC_64): at the entry, the fields the kernel reads.
        assert_eq!(
            msgctl(0x101, 0x1000, None),
            "{msg_perm={uid=-1, gid=0, mode=0600}, msg_qbytes=16384}"
        );
        // IPC_RMID: NULL; an unreadable buffer: its address.
        assert_eq!(msgctl(0, 0, Some(0)), "NULL");
        assert_eq!(msgctl(1, 0x9000, None), "0x9000");
    }

    #[test]
    fn ipc64_perm_sizes_of_both_abis() {
        assert_eq!(perm_size(8), 48);
        assert_eq!(perm_size(4), 36);
    }

    #[test]
    fn msgbuf_text_cut_at_the_string_limit() {
        let mut m = SparseVirt::new();
        let mut b = 5u64.to_le_bytes().to_vec();
        b.extend_from_slice(b"hello world\0");
        m.map(0x1000, &b);
        let mut msgsnd = |len: u64, strsize: usize| {
            let o = DecodeOptions {
                strsize,
                ..DecodeOptions::default()
            };
            let raw = [3, 0x1000, len, 0, 0, 0];
            let mut c = call("msgsnd", raw, &mut m, &o, None, 1);
            value(&mut c, StructKind::Msgbuf(2), 0x1000)
                .unwrap()
                .render()
        };
        assert_eq!(msgsnd(5, 32), "{mtype=5, mtext=\"hello\"}");
        assert_eq!(msgsnd(5, 4), "{mtype=5, mtext=\"hell\"...}");
        // A hostile count reads no more than the limit.
        assert_eq!(msgsnd(u64::MAX, 4), "{mtype=5, mtext=\"hell\"...}");
    }

    #[test]
    fn shm_info_and_seminfo() {
        let mut m = SparseVirt::new();
        let mut b = vec![0u8; 48];
        b[0..4].copy_from_slice(&2u32.to_le_bytes());
        b[8..16].copy_from_slice(&9u64.to_le_bytes());
        m.map(0x1000, &b);
        let o = DecodeOptions::default();
        let raw = [1, 14, 0x1000, 0, 0, 0];
        let mut c = call("shmctl", raw, &mut m, &o, Some(1), 2);
        assert_eq!(
            value(&mut c, StructKind::ShmidBuf, 0x1000)
                .unwrap()
                .render(),
            "{used_ids=2, shm_tot=9, shm_rss=0, shm_swp=0, swap_attempts=0, swap_successes=0}"
        );
        // semid64_ds: a reserved word after each time on x86-64 too.
        let mut d = vec![0u8; 104];
        d[64..72].copy_from_slice(&5u64.to_le_bytes()); // sem_ctime
        d[80..88].copy_from_slice(&1u64.to_le_bytes()); // sem_nsems
        m.map(0x3000, &d);
        let raw = [0, 0, 2, 0x3000, 0, 0];
        let mut c = call("semctl", raw, &mut m, &o, Some(0), 3);
        assert!(value(&mut c, StructKind::SemidBuf, 0x3000)
            .unwrap()
            .render()
            .ends_with("sem_otime=0, sem_ctime=5, sem_nsems=1}"));
        let raw = [0, 0, 19, 0x1000, 0, 0];
        let mut c = call("semctl", raw, &mut m, &o, Some(0), 3);
        assert_eq!(
            value(&mut c, StructKind::SemidBuf, 0x1000)
                .unwrap()
                .render(),
            "{semmap=2, semmni=0, semmns=9, semmnu=0, semmsl=0, semopm=0, semume=0, \
             semusz=0, semvmx=0, semaem=0}"
        );
    }
}
