//! Classic BPF socket filters (`struct sock_fprog`, `struct sock_filter`)
//! as strace prints them with `-v`: `BPF_STMT(BPF_LD|BPF_B|BPF_ABS,
//! SKF_AD_OFF+SKF_AD_PROTOCOL)`, `BPF_JUMP(BPF_JMP|BPF_K|BPF_JEQ, 0x11, 0,
//! 0x5)`; without `-v` the instructions are an address. Opcode parts and
//! the `SKF_*` offsets come from the generated tables.

use super::{Call, Fields};
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{self, Radix, Table as T};

/// The kernel's `BPF_MAXINSNS`: most instructions printed.
const MAX_INSNS: u64 = 4096;

/// Opcode classes with their own layouts (linux/bpf_common.h).
const BPF_LD: u16 = 0x00;
const BPF_LDX: u16 = 0x01;
const BPF_ST: u16 = 0x02;
const BPF_STX: u16 = 0x03;
const BPF_ALU: u16 = 0x04;
const BPF_JMP: u16 = 0x05;
const BPF_RET: u16 = 0x06;
const BPF_MISC: u16 = 0x07;
/// `BPF_ABS` mode.
const BPF_ABS: u16 = 0x20;

fn x(abi: LinuxAbi, t: T, v: u16) -> String {
    xlat::xval(abi, t, v as u64, Radix::Hex)
}

/// Leftover opcode bits: `|0x.. /* BPF_??? */`.
fn rest(s: &mut String, i: u16) {
    if i != 0 {
        s.push_str(&format!("|{i:#x} /* BPF_??? */"));
    }
}

/// A classic BPF opcode, `BPF_LD|BPF_W|BPF_ABS`.
fn code(abi: LinuxAbi, code: u16) -> String {
    let class = code & 0x07;
    let mut i = code & !class;
    let mut s = x(abi, T::BpfClass, class);
    match class {
        BPF_ST | BPF_STX => rest(&mut s, i),
        BPF_LD | BPF_LDX => {
            s.push('|');
            s.push_str(&x(abi, T::BpfSize, code & 0x18));
            s.push('|');
            s.push_str(&x(abi, T::BpfMode, code & 0xe0));
        }
        BPF_MISC => {
            s.push('|');
            s.push_str(&x(abi, T::BpfMiscop, code & 0xf8));
            i &= !(code & 0xf8);
            rest(&mut s, i);
        }
        BPF_ALU | BPF_JMP => {
            s.push('|');
            s.push_str(&x(abi, T::BpfSrc, code & 0x08));
            s.push('|');
            let ops = if class == BPF_ALU {
                T::BpfOpAlu
            } else {
                T::BpfOpJmp
            };
            s.push_str(&x(abi, ops, code & 0xf0));
        }
        BPF_RET => {
            s.push('|');
            s.push_str(&x(abi, T::BpfRval, code & 0x18));
            i &= !(code & 0x18);
            rest(&mut s, i);
        }
        _ => {}
    }
    s
}

/// The value of `SKF_*` offset `name` (a negative offset as u32).
fn skf(abi: LinuxAbi, name: &str) -> Option<u32> {
    T::SkfOff
        .xlat()
        .values(abi)
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(v, _)| *v as u32)
}

/// A socket filter's `k` of an absolute load: relative to the special
/// `SKF_*` areas when it points into one.
fn sock_k(abi: LinuxAbi, op: u16, k: u32) -> Option<String> {
    if op & 0x07 != BPF_LD || op & 0xe0 != BPF_ABS {
        return None;
    }
    for name in ["SKF_AD_OFF", "SKF_NET_OFF", "SKF_LL_OFF"] {
        let Some(off) = skf(abi, name) else { continue };
        if k >= off {
            let d = k - off;
            let tail = if name == "SKF_AD_OFF" {
                xlat::xval(abi, T::SkfAd, d as u64, Radix::Hex)
            } else {
                d.to_string()
            };
            // -X raw: the offset's number; -X verbose: the number and
            // its name in a comment.
            let base = match xlat::style() {
                vstrace_core::ConstStyle::Raw => format!("{off:#x}"),
                vstrace_core::ConstStyle::Verbose => format!("{off:#x} /* {name} */"),
                vstrace_core::ConstStyle::Abbrev => name.to_string(),
            };
            return Some(format!("{base}+{tail}"));
        }
    }
    None
}

/// Whose program a filter is: its `k` of a return names the seccomp
/// action then.
#[derive(Clone, Copy, PartialEq)]
enum Flavour {
    Socket,
    Seccomp,
}

/// A seccomp filter's return value: the action (`SECCOMP_RET_ERRNO`),
/// then its data in hex.
fn seccomp_k(abi: LinuxAbi, op: u16, k: u32) -> Option<String> {
    if op & 0x07 != BPF_RET {
        return None;
    }
    let action = k & 0xffff_0000;
    let data = k & !action;
    let mut s = xlat::xval(abi, T::SeccompRetAction, action as u64, Radix::Hex);
    if data != 0 {
        s.push_str(&format!("|{data:#x}"));
    }
    Some(s)
}

/// One `struct sock_filter` (8 bytes).
#[cfg(test)]
fn insn(abi: LinuxAbi, b: &[u8]) -> String {
    insn_of(abi, b, Flavour::Socket)
}

/// One socket filter instruction (`struct sock_filter`, 8 bytes), as
/// netlink's `PACKET_DIAG_FILTER` shows them.
pub(super) fn sock_insn(abi: LinuxAbi, b: &[u8]) -> String {
    insn_of(abi, b, Flavour::Socket)
}

/// One instruction of a socket or seccomp filter.
fn insn_of(abi: LinuxAbi, b: &[u8], flavour: Flavour) -> String {
    let f = Fields::new(b, 4);
    let op = f.u16(0) as u16;
    let (jt, jf, k) = (b[2], b[3], f.u32(4) as u32);
    if jt != 0 || jf != 0 {
        format!(
            "BPF_JUMP({}, {}, {}, {})",
            code(abi, op),
            fmt::hex0(k as u64),
            fmt::hex0(jt as u64),
            fmt::hex0(jf as u64)
        )
    } else {
        let special = match flavour {
            Flavour::Socket => sock_k(abi, op, k),
            Flavour::Seccomp => seccomp_k(abi, op, k),
        };
        let k = special.unwrap_or_else(|| fmt::hex0(k as u64));
        format!("BPF_STMT({}, {k})", code(abi, op))
    }
}

/// `count` instructions at `v` (an address without `-v`).
pub(super) fn filters(c: &mut Call<'_, '_>, v: u64, count: u64) -> String {
    filters_of(c, v, count, Flavour::Socket)
}

/// `count` seccomp filter instructions at `v` (an address without `-v`).
pub(super) fn seccomp_filter(c: &mut Call<'_, '_>, v: u64, count: u64) -> String {
    filters_of(c, v, count, Flavour::Seccomp)
}

/// `count` instructions of a `flavour` program at `v`.
fn filters_of(c: &mut Call<'_, '_>, v: u64, count: u64, flavour: Flavour) -> String {
    if !c.opts.verbose {
        return fmt::ptr(v);
    }
    let abi = c.abi;
    let s = c.array(v, count.min(MAX_INSNS), 8, |_, b| insn_of(abi, b, flavour));
    super::more_follows(s, count > MAX_INSNS)
}

/// seccomp(2)'s third argument, by operation: the filter program
/// (`SECCOMP_SET_MODE_FILTER`), `[SECCOMP_RET_...]`
/// (`SECCOMP_GET_ACTION_AVAIL`), the notification sizes the kernel writes
/// (`SECCOMP_GET_NOTIF_SIZES`, at a successful exit), else the address.
pub(super) fn seccomp_args(c: &mut Call<'_, '_>, v: u64) -> String {
    const SET_MODE_FILTER: u64 = 1;
    const GET_ACTION_AVAIL: u64 = 2;
    const GET_NOTIF_SIZES: u64 = 3;
    let abi = c.abi;
    match c.arg(0) & 0xffff_ffff {
        SET_MODE_FILTER => fprog(c, v, Flavour::Seccomp),
        GET_ACTION_AVAIL => match c.fetch(v, 4) {
            Ok(b) => {
                let act = Fields::new(&b, 4).u32(0);
                format!(
                    "[{}]",
                    xlat::xval(abi, T::SeccompRetAction, act, Radix::Hex)
                )
            }
            Err(s) => s,
        },
        GET_NOTIF_SIZES if c.ret.is_some() && !c.failed() => match c.fetch(v, 6) {
            Ok(b) => {
                let f = Fields::new(&b, 4);
                format!(
                    "{{seccomp_notif={}, seccomp_notif_resp={}, seccomp_data={}}}",
                    f.u16(0),
                    f.u16(2),
                    f.u16(4)
                )
            }
            Err(s) => s,
        },
        _ => fmt::ptr(v),
    }
}

/// `struct sock_fprog`: `{len=N, filter=[...]}`.
pub(super) fn sock_fprog(c: &mut Call<'_, '_>, v: u64) -> String {
    fprog(c, v, Flavour::Socket)
}

/// A seccomp filter program (`struct sock_fprog`: prctl's
/// `PR_SET_SECCOMP`, `SECCOMP_MODE_FILTER`).
pub(crate) fn seccomp_fprog(c: &mut Call<'_, '_>, v: u64) -> String {
    fprog(c, v, Flavour::Seccomp)
}

/// A filter program of `flavour`.
fn fprog(c: &mut Call<'_, '_>, v: u64, flavour: Flavour) -> String {
    let w = c.long_size();
    let b = match c.fetch(v, 2 * w) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, w);
    let len = f.u16(0);
    let insns = filters_of(c, f.ulong(w), len, flavour);
    format!("{{len={len}, filter={insns}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: LinuxAbi = LinuxAbi::X86_64;

    #[test]
    fn instructions_as_strace_prints_them() {
        // BPF_STMT(BPF_LD|BPF_B|BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL).
        let mut b = vec![0x30, 0, 0, 0];
        b.extend_from_slice(&0xfffff000u32.to_le_bytes());
        assert_eq!(
            insn(X, &b),
            "BPF_STMT(BPF_LD|BPF_B|BPF_ABS, SKF_AD_OFF+SKF_AD_PROTOCOL)"
        );
        // SKF_LL_OFF + 4.
        b[4..].copy_from_slice(&0xffe00004u32.to_le_bytes());
        assert_eq!(insn(X, &b), "BPF_STMT(BPF_LD|BPF_B|BPF_ABS, SKF_LL_OFF+4)");
        // BPF_JUMP(BPF_JMP|BPF_K|BPF_JEQ, 0x11, 0, 0x5).
        let j = [0x15, 0, 0, 5, 0x11, 0, 0, 0];
        assert_eq!(insn(X, &j), "BPF_JUMP(BPF_JMP|BPF_K|BPF_JEQ, 0x11, 0, 0x5)");
        // BPF_STMT(BPF_RET|BPF_K, 0xffffffff).
        let r = [0x06, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(insn(X, &r), "BPF_STMT(BPF_RET|BPF_K, 0xffffffff)");
        // BPF_STMT(BPF_LD|BPF_W|BPF_LEN, 0).
        let l = [0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(insn(X, &l), "BPF_STMT(BPF_LD|BPF_W|BPF_LEN, 0)");
        // A seccomp return names the action and keeps its data.
        let e = [0x06, 0, 0, 0, 0x0d, 0, 0x05, 0];
        assert_eq!(
            insn_of(X, &e, Flavour::Seccomp),
            "BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_ERRNO|0xd)"
        );
        let a = [0x06, 0, 0, 0, 0, 0, 0xff, 0x7f];
        assert_eq!(
            insn_of(X, &a, Flavour::Seccomp),
            "BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_ALLOW)"
        );
    }
}
