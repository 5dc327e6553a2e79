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
            return Some(format!("{name}+{tail}"));
        }
    }
    None
}

/// One `struct sock_filter` (8 bytes).
fn insn(abi: LinuxAbi, b: &[u8]) -> String {
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
        let k = sock_k(abi, op, k).unwrap_or_else(|| fmt::hex0(k as u64));
        format!("BPF_STMT({}, {k})", code(abi, op))
    }
}

/// `count` instructions at `v` (an address without `-v`).
pub(super) fn filters(c: &mut Call<'_, '_>, v: u64, count: u64) -> String {
    if !c.opts.verbose {
        return fmt::ptr(v);
    }
    let abi = c.abi;
    let s = c.array(v, count.min(MAX_INSNS), 8, |_, b| insn(abi, b));
    super::more_follows(s, count > MAX_INSNS)
}

/// `struct sock_fprog`: `{len=N, filter=[...]}`.
pub(super) fn sock_fprog(c: &mut Call<'_, '_>, v: u64) -> String {
    let w = c.long_size();
    let b = match c.fetch(v, 2 * w) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, w);
    let len = f.u16(0);
    let insns = filters(c, f.ulong(w), len);
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
    }
}
