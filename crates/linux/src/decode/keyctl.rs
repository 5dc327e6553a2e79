//! keyctl(2) as strace prints it: how many arguments each command
//! shows and each argument by command: key serial numbers (named
//! `KEY_SPEC_*` specials), descriptions and payloads, permissions, the
//! buffers `KEYCTL_READ`/`DESCRIBE`/`GET_SECURITY` fill (read at the
//! exit), the Diffie-Hellman parameters and KDF of `KEYCTL_DH_COMPUTE`,
//! the public-key operations' parameters, query result and buffers,
//! and the capability bytes of `KEYCTL_CAPABILITIES`. Unknown commands
//! show their four arguments in hex.

use super::Ctx;
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::structs::{reserved, Fields};
use crate::xlat::{Radix, Table};
use vstrace_core::value::{Base, Const, Name, StructBuilder};
use vstrace_core::{read, Value};

/// The name of keyctl command `cmd` (`""` when unknown).
fn name(abi: LinuxAbi, cmd: u64) -> &'static str {
    Table::KeyctlCommands
        .xlat()
        .lookup(abi, cmd & 0xffff_ffff)
        .unwrap_or("")
}

/// How many arguments keyctl shows after its command.
pub(super) fn nargs(abi: LinuxAbi, raw: &[u64; 6]) -> usize {
    match name(abi, raw[0]) {
        "KEYCTL_SESSION_TO_PARENT" => 0,
        "KEYCTL_JOIN_SESSION_KEYRING"
        | "KEYCTL_REVOKE"
        | "KEYCTL_CLEAR"
        | "KEYCTL_INVALIDATE"
        | "KEYCTL_ASSUME_AUTHORITY"
        | "KEYCTL_SET_REQKEY_KEYRING" => 1,
        "KEYCTL_GET_KEYRING_ID"
        | "KEYCTL_LINK"
        | "KEYCTL_UNLINK"
        | "KEYCTL_SETPERM"
        | "KEYCTL_SET_TIMEOUT"
        | "KEYCTL_GET_PERSISTENT"
        | "KEYCTL_CAPABILITIES" => 2,
        "KEYCTL_UPDATE"
        | "KEYCTL_DESCRIBE"
        | "KEYCTL_READ"
        | "KEYCTL_GET_SECURITY"
        | "KEYCTL_CHOWN"
        | "KEYCTL_NEGATE"
        | "KEYCTL_RESTRICT_KEYRING" => 3,
        _ => 4,
    }
}

/// What an argument of a command is.
#[derive(Clone, Copy)]
enum Arg {
    /// A key serial number (`key_serial_t`): a `KEY_SPEC_*` name or the
    /// signed number.
    Serial,
    /// A signed `int`.
    Int,
    /// An `unsigned int`.
    Uint,
    /// A `kernel_ulong_t` length.
    Ulong,
    /// A user or group id (`-1` for the unchanged one).
    Uid,
    /// A NUL-terminated string.
    Str,
    /// A buffer whose length is argument `n` (1-based, as `raw`).
    Buf(usize),
    /// A buffer the kernel fills, of at most argument `n` bytes: the
    /// address until the exit; `true`: a NUL ending it is not shown.
    BufOut(usize, bool),
    /// An iovec array of strings, of argument `n` elements.
    Iov(usize),
    /// An error number (`KEYCTL_REJECT`'s).
    Errno,
    /// `KEY_*` permission flags.
    Perms,
    /// `KEY_REQKEY_DEFL_*`, signed decimal.
    Reqkey,
    /// `KEYCTL_MOVE_*` flags.
    MoveFlags,
    /// A word in hex.
    Hex,
    /// `struct keyctl_dh_params`.
    DhParams,
    /// `struct keyctl_kdf_params`, read at the exit.
    Kdf,
    /// `struct keyctl_pkey_query` the kernel fills.
    PkeyQuery,
    /// `struct keyctl_pkey_params`; `true`: the operation writes its
    /// second buffer (`out_len`), else it reads it (`in2_len`).
    PkeyParams(bool),
    /// A public-key operation's buffer: the first (`in_len`), or the
    /// second (`in2_len`; `out_len` written at the exit).
    PkeyBuf(bool),
    /// The capability bytes the kernel fills (argument 2: the size).
    Caps,
}

/// The arguments of command `cmd` (index 0 is `arg2`).
fn shape(abi: LinuxAbi, cmd: u64) -> [Arg; 4] {
    use Arg::*;
    match name(abi, cmd) {
        "KEYCTL_GET_KEYRING_ID" => [Serial, Int, Hex, Hex],
        "KEYCTL_JOIN_SESSION_KEYRING" => [Str, Hex, Hex, Hex],
        "KEYCTL_UPDATE" => [Serial, Buf(3), Ulong, Hex],
        "KEYCTL_REVOKE" | "KEYCTL_CLEAR" | "KEYCTL_INVALIDATE" | "KEYCTL_ASSUME_AUTHORITY" => {
            [Serial, Hex, Hex, Hex]
        }
        "KEYCTL_LINK" | "KEYCTL_UNLINK" => [Serial, Serial, Hex, Hex],
        "KEYCTL_DESCRIBE" | "KEYCTL_GET_SECURITY" => [Serial, BufOut(3, true), Ulong, Hex],
        "KEYCTL_READ" => [Serial, BufOut(3, false), Ulong, Hex],
        "KEYCTL_SEARCH" => [Serial, Str, Str, Serial],
        "KEYCTL_CHOWN" => [Serial, Uid, Uid, Hex],
        "KEYCTL_SETPERM" => [Serial, Perms, Hex, Hex],
        "KEYCTL_INSTANTIATE" => [Serial, Buf(3), Ulong, Serial],
        "KEYCTL_NEGATE" => [Serial, Uint, Serial, Hex],
        "KEYCTL_SET_REQKEY_KEYRING" => [Reqkey, Hex, Hex, Hex],
        "KEYCTL_SET_TIMEOUT" => [Serial, Uint, Hex, Hex],
        "KEYCTL_REJECT" => [Serial, Uint, Errno, Serial],
        "KEYCTL_INSTANTIATE_IOV" => [Serial, Iov(3), Ulong, Serial],
        "KEYCTL_GET_PERSISTENT" => [Uid, Serial, Hex, Hex],
        "KEYCTL_DH_COMPUTE" => [DhParams, BufOut(3, false), Ulong, Kdf],
        "KEYCTL_PKEY_QUERY" => [Serial, Hex, Str, PkeyQuery],
        "KEYCTL_PKEY_ENCRYPT" | "KEYCTL_PKEY_DECRYPT" | "KEYCTL_PKEY_SIGN" => {
            [PkeyParams(true), Str, PkeyBuf(false), PkeyBuf(true)]
        }
        "KEYCTL_PKEY_VERIFY" => [PkeyParams(false), Str, PkeyBuf(false), PkeyBuf(true)],
        "KEYCTL_RESTRICT_KEYRING" => [Serial, Str, Str, Hex],
        "KEYCTL_MOVE" => [Serial, Serial, Serial, MoveFlags],
        "KEYCTL_CAPABILITIES" => [Caps, Ulong, Hex, Hex],
        _ => [Hex, Hex, Hex, Hex],
    }
}

/// A key serial number as strace's `printxval_d(key_spec, ...)`.
fn serial(abi: LinuxAbi, v: u64) -> Value {
    fmt::xval_v(abi, Table::KeySpec, v & 0xffff_ffff, Radix::DecBare)
}

/// `__spare`: `n` 32-bit words at `off`, shown only when one is set.
fn spare(s: &mut StructBuilder, f: &Fields<'_>, off: usize, n: usize) {
    reserved(s, "__spare", (0..n).map(|k| f.u32(off + 4 * k)));
}

/// `struct keyctl_pkey_params`' size.
const PKEY_PARAMS: usize = 40;

impl Ctx<'_, '_> {
    /// keyctl's argument `k` (1-based: `arg2` is 1) by command.
    pub(super) fn keyctl_arg(&mut self, k: u8) -> Value {
        let abi = self.abi;
        let k = usize::from(k);
        let v = self.raw[k];
        let Some(&arg) = shape(abi, self.raw[0]).get(k - 1) else {
            return Value::int(v, Base::Hex);
        };
        let failed = self.ret.is_some_and(|r| (-4095..0).contains(&r));
        let done = self.ret.filter(|_| !failed);
        match arg {
            Arg::Serial => serial(abi, v),
            Arg::Int => Value::dec(v as u32 as i32),
            Arg::Uint => Value::dec(v as u32),
            Arg::Ulong => Value::dec(v),
            Arg::Uid if v as u32 == u32::MAX => Value::dec(-1),
            Arg::Uid => Value::dec(v as u32),
            Arg::Hex => Value::int(v, Base::Hex),
            Arg::Str => self.string(v, self.opts.strsize),
            Arg::Buf(n) => self.buffer(v, self.raw[n]),
            Arg::BufOut(n, omit_nul) => match done {
                Some(r) => {
                    // What the kernel wrote: never more than the buffer.
                    let mut b = self.buffer(v, (r as u64).min(self.raw[n]));
                    if omit_nul {
                        super::omit_trailing_nul(&mut b);
                    }
                    b
                }
                None => Value::ptr(v),
            },
            // Data the kernel reads: shown as at the entry whatever the
            // call's outcome (the iovec decoder shows a failed call's
            // buffers as addresses, as for data the kernel writes).
            Arg::Iov(n) => {
                let ret = self.ret.take();
                let iov = self.iovec(v, self.raw[n], None, false);
                self.ret = ret;
                iov
            }
            Arg::Errno => {
                let e = v & 0xffff_ffff;
                Value::Const(Const {
                    raw: i128::from(e),
                    base: Base::Dec,
                    name: crate::consts::errno_name(e as i64).map(Name::Borrowed),
                    comment: None,
                })
            }
            Arg::Perms => fmt::xflags_v(abi, &[Table::KeyPerms], v & 0xffff_ffff, true, true),
            Arg::Reqkey => fmt::xval_v(abi, Table::KeyReqkeys, v & 0xffff_ffff, Radix::Dec),
            Arg::MoveFlags => {
                fmt::xflags_v(abi, &[Table::KeyctlMoveFlags], v & 0xffff_ffff, true, true)
            }
            Arg::DhParams => match read::read_struct(self.mem, v, 12) {
                _ if v == 0 => Value::Null,
                Ok(b) => {
                    let f = Fields::new(&b, 4);
                    StructBuilder::new()
                        .field("private", serial(abi, f.u32(0)))
                        .field("prime", serial(abi, f.u32(4)))
                        .field("base", serial(abi, f.u32(8)))
                        .done()
                }
                Err(_) => Value::ptr(v),
            },
            Arg::Kdf => match self.ret {
                Some(_) => self.kdf(v),
                None => Value::ptr(v),
            },
            Arg::PkeyQuery => match done {
                Some(_) => self.pkey_query(v),
                None => Value::ptr(v),
            },
            Arg::PkeyParams(out) => match self.pkey_params(self.raw[1]) {
                Some(b) => {
                    let f = Fields::new(&b, 4);
                    let mut s = StructBuilder::new();
                    s.field("key_id", serial(abi, f.u32(0)))
                        .dec("in_len", f.u32(4))
                        .dec(if out { "out_len" } else { "in2_len" }, f.u32(8));
                    spare(&mut s, &f, 12, 7);
                    s.done()
                }
                None => Value::ptr(v),
            },
            Arg::PkeyBuf(second) => {
                let out = name(abi, self.raw[0]) != "KEYCTL_PKEY_VERIFY";
                let Some(b) = self.pkey_params(self.raw[1]) else {
                    return Value::ptr(v);
                };
                // in_len, then out_len or in2_len.
                let len = Fields::new(&b, 4).u32(if second { 8 } else { 4 });
                match (second, out, done) {
                    // The output: the address until the kernel wrote it.
                    (true, true, None) => Value::ptr(v),
                    _ => self.buffer(v, len),
                }
            }
            Arg::Caps => match done {
                Some(r) => self.caps(v, (r as u64).min(self.raw[2])),
                None => Value::ptr(v),
            },
        }
    }

    /// The public-key operation's parameters at `addr`, None when they
    /// cannot be read (strace then prints the buffers' addresses).
    fn pkey_params(&mut self, addr: u64) -> Option<Vec<u8>> {
        if addr == 0 {
            return None;
        }
        read::read_struct(self.mem, addr, PKEY_PARAMS).ok()
    }

    /// `struct keyctl_kdf_params` (the caller's layout: 32-bit pointers
    /// for a 32-bit caller).
    fn kdf(&mut self, addr: u64) -> Value {
        if addr == 0 {
            return Value::Null;
        }
        let w = self.ptr_size() as usize;
        // Two pointers, otherinfolen, __spare[8]; padded to the pointers'
        // alignment.
        let size = (2 * w + 4 + 32).next_multiple_of(w);
        let Ok(b) = read::read_struct(self.mem, addr, size) else {
            return Value::ptr(addr);
        };
        let f = Fields::new(&b, w);
        let (hashname, otherinfo) = (f.ulong(0), f.ulong(w));
        let len = f.u32(2 * w);
        let mut s = StructBuilder::new();
        s.field("hashname", self.string(hashname, self.opts.strsize));
        // The kernel does not read otherinfo when its length is zero.
        let other = if len != 0 {
            self.buffer(otherinfo, len)
        } else {
            Value::ptr(otherinfo)
        };
        s.field("otherinfo", other).dec("otherinfolen", len);
        spare(&mut s, &f, 2 * w + 4, 8);
        s.done()
    }

    /// `struct keyctl_pkey_query` the kernel wrote at `addr`.
    fn pkey_query(&mut self, addr: u64) -> Value {
        if addr == 0 {
            return Value::Null;
        }
        let Ok(b) = read::read_struct(self.mem, addr, 56) else {
            return Value::ptr(addr);
        };
        let f = Fields::new(&b, 4);
        let mut s = StructBuilder::new();
        s.field(
            "supported_ops",
            fmt::xflags_v(self.abi, &[Table::KeyctlPkeyOps], f.u32(0), true, true),
        )
        .dec("key_size", f.u32(4))
        .dec("max_data_size", f.u16(8))
        .dec("max_sig_size", f.u16(10))
        .dec("max_enc_size", f.u16(12))
        .dec("max_dec_size", f.u16(14));
        spare(&mut s, &f, 16, 10);
        s.done()
    }

    /// The `n` capability bytes at `addr`: `KEYCTL_CAPS0_*` flags, then
    /// `KEYCTL_CAPS1_*`, then hex.
    fn caps(&mut self, addr: u64, n: u64) -> Value {
        if addr == 0 {
            return Value::Null;
        }
        let show = n.min(self.opts.strsize as u64) as usize;
        let Ok(b) = read::read_struct(self.mem, addr, show) else {
            return Value::ptr(addr);
        };
        let items = b
            .iter()
            .enumerate()
            .map(|(k, &c)| match k {
                0 => fmt::xflags_v(self.abi, &[Table::KeyctlCaps0], c.into(), true, true),
                1 => fmt::xflags_v(self.abi, &[Table::KeyctlCaps1], c.into(), true, true),
                _ => Value::int(c, Base::Hex),
            })
            .collect();
        Value::Array {
            items,
            more: n > show as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::proto::by_name;
    use crate::xlat::Table;
    use vstrace_core::testmem::SparseVirt;

    const X: LinuxAbi = LinuxAbi::X86_64;
    const I: LinuxAbi = LinuxAbi::I386;

    fn line(abi: LinuxAbi, raw: &[u64], ret: i64, mem: &mut SparseVirt) -> String {
        let d = by_name(abi, "keyctl").unwrap();
        let o = DecodeOptions {
            strsize: 10,
            ..DecodeOptions::default()
        };
        let mut a = decode_enter(d, abi, raw, mem, &o);
        decode_exit(d, abi, raw, ret, mem, &o, &mut a);
        format_call(d, &a, Some(&format_return(d, abi, ret)))
    }

    fn cmd(name: &str) -> u64 {
        Table::KeyctlCommands.xlat().value_of(X, name).unwrap()
    }

    #[test]
    fn commands_show_their_own_arguments() {
        let mut m = SparseVirt::new();
        let einval = -22;
        assert_eq!(
            line(
                X,
                &[cmd("KEYCTL_GET_KEYRING_ID"), 0xffff_ffff, 0xbb40_e64d, 7, 8],
                5,
                &mut m
            ),
            "keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_THREAD_KEYRING, -1153374643) = 5"
        );
        assert_eq!(
            line(X, &[cmd("KEYCTL_SESSION_TO_PARENT"), 1, 2, 3, 4], 0, &mut m),
            "keyctl(KEYCTL_SESSION_TO_PARENT) = 0"
        );
        assert_eq!(
            line(X, &[cmd("KEYCTL_SETPERM"), 0xdead_f00d, 0xc0c0_c0c0, 0, 0], einval, &mut m),
            "keyctl(KEYCTL_SETPERM, -559026163, 0xc0c0c0c0 /* KEY_??? */) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            line(X, &[cmd("KEYCTL_REJECT"), 1, 2, 19, 0xffff_fffa], -1, &mut m),
            "keyctl(KEYCTL_REJECT, 1, 2, ENODEV, KEY_SPEC_GROUP_KEYRING) = -1 EPERM (Operation not permitted)"
        );
        assert_eq!(
            line(
                X,
                &[cmd("KEYCTL_SET_REQKEY_KEYRING"), 0xffff_ffff, 0, 0, 0],
                0,
                &mut m
            ),
            "keyctl(KEYCTL_SET_REQKEY_KEYRING, KEY_REQKEY_DEFL_NO_CHANGE) = 0"
        );
        assert_eq!(
            line(X, &[cmd("KEYCTL_MOVE"), 1, 2, 3, 0xffff_ffff], einval, &mut m),
            "keyctl(KEYCTL_MOVE, 1, 2, 3, KEYCTL_MOVE_EXCL|0xfffffffe) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            line(X, &[0xface_feed, 1, 2, 3, 4], -95, &mut m),
            "keyctl(0xfacefeed /* KEYCTL_??? */, 0x1, 0x2, 0x3, 0x4) = -1 EOPNOTSUPP (Operation not supported)"
        );
    }

    #[test]
    fn buffers_the_kernel_fills_are_read_at_the_exit() {
        let mut m = SparseVirt::new();
        m.map(0x5000, b"keyring;0;0;3f010000;_tid\0");
        assert_eq!(
            line(
                X,
                &[cmd("KEYCTL_DESCRIBE"), 0xffff_ffff, 0x5000, 256, 0],
                26,
                &mut m
            ),
            "keyctl(KEYCTL_DESCRIBE, KEY_SPEC_THREAD_KEYRING, \"keyring;0;\"..., 256) = 26"
        );
        m.map(0x6000, b"\0");
        assert_eq!(
            line(
                X,
                &[cmd("KEYCTL_GET_SECURITY"), 0xffff_ffff, 0x6000, 9, 0],
                1,
                &mut m
            ),
            "keyctl(KEYCTL_GET_SECURITY, KEY_SPEC_THREAD_KEYRING, \"\", 9) = 1"
        );
        assert_eq!(
            line(X, &[cmd("KEYCTL_READ"), 3, 0x6000, 9, 0], -126, &mut m),
            "keyctl(KEYCTL_READ, 3, 0x6000, 9) = -1 ENOKEY (Required key not available)"
        );
        m.map(0x7000, &[0xff, 0x03]);
        assert_eq!(
            line(X, &[cmd("KEYCTL_CAPABILITIES"), 0x7000, 4, 0, 0], 2, &mut m),
            "keyctl(KEYCTL_CAPABILITIES, [KEYCTL_CAPS0_CAPABILITIES|KEYCTL_CAPS0_PERSISTENT_KEYRINGS|\
             KEYCTL_CAPS0_DIFFIE_HELLMAN|KEYCTL_CAPS0_PUBLIC_KEY|KEYCTL_CAPS0_BIG_KEY|\
             KEYCTL_CAPS0_INVALIDATE|KEYCTL_CAPS0_RESTRICT_KEYRING|KEYCTL_CAPS0_MOVE, \
             KEYCTL_CAPS1_NS_KEYRING_NAME|KEYCTL_CAPS1_NS_KEY_TAG], 4) = 2"
        );
    }

    #[test]
    fn structures_by_command_and_width() {
        let mut m = SparseVirt::new();
        // keyctl_dh_params, then a KDF of the caller's layout.
        let mut dh = 0xffff_fffau32.to_le_bytes().to_vec();
        dh.extend(1_234_567_890u32.to_le_bytes());
        dh.extend(0xbb40_e64du32.to_le_bytes());
        m.map(0x1000, &dh);
        m.map(0x2000, b"hmac(aes)\0");
        m.map(0x2100, b"\x01\x02\n\xad\x00\x01\x00");
        let mut kdf = 0x2000u64.to_le_bytes().to_vec();
        kdf.extend(0x2100u64.to_le_bytes());
        kdf.extend(7u32.to_le_bytes());
        kdf.extend([0; 36]);
        m.map(0x3000, &kdf);
        let dh_cmd = cmd("KEYCTL_DH_COMPUTE");
        assert_eq!(
            line(X, &[dh_cmd, 0x1000, 0x4000, u64::MAX, 0x3000], -90, &mut m),
            "keyctl(KEYCTL_DH_COMPUTE, {private=KEY_SPEC_GROUP_KEYRING, prime=1234567890, \
             base=-1153374643}, 0x4000, 18446744073709551615, {hashname=\"hmac(aes)\", \
             otherinfo=\"\\1\\2\\n\\255\\0\\1\\0\", otherinfolen=7}) = -1 EMSGSIZE (Message too long)"
        );
        let mut kdf32 = 0x2000u32.to_le_bytes().to_vec();
        kdf32.extend(0x2100u32.to_le_bytes());
        kdf32.extend(0u32.to_le_bytes());
        kdf32.extend([0; 28]);
        kdf32.extend(0xdead_feedu32.to_le_bytes());
        m.map(0x3800, &kdf32);
        assert_eq!(
            line(I, &[dh_cmd, 0, 0, 0xffff_ffff, 0x3800], -22, &mut m),
            "keyctl(KEYCTL_DH_COMPUTE, NULL, NULL, 4294967295, {hashname=\"hmac(aes)\", \
             otherinfo=0x2100, otherinfolen=0, __spare=[0, 0, 0, 0, 0, 0, 0, 0xdeadfeed]}) \
             = -1 EINVAL (Invalid argument)"
        );
        // Public-key parameters: the buffers' lengths come from them;
        // the output buffer only once written.
        let mut p = 0xffff_fffeu32.to_le_bytes().to_vec();
        p.extend(3u32.to_le_bytes());
        p.extend(2u32.to_le_bytes());
        p.extend([0; 28]);
        m.map(0x8000, &p);
        m.map(0x8100, b"x\xff\0");
        m.map(0x8200, b"abc");
        m.map(0x8300, b"zz");
        let enc = cmd("KEYCTL_PKEY_ENCRYPT");
        assert_eq!(
            line(X, &[enc, 0x8000, 0x8100, 0x8200, 0x8300], 2, &mut m),
            "keyctl(KEYCTL_PKEY_ENCRYPT, {key_id=KEY_SPEC_PROCESS_KEYRING, in_len=3, out_len=2}, \
             \"x\\377\", \"abc\", \"zz\") = 2"
        );
        assert_eq!(
            line(X, &[enc, 0x8000, 0x8100, 0x8200, 0x8300], -22, &mut m),
            "keyctl(KEYCTL_PKEY_ENCRYPT, {key_id=KEY_SPEC_PROCESS_KEYRING, in_len=3, out_len=2}, \
             \"x\\377\", \"abc\", 0x8300) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            line(
                X,
                &[cmd("KEYCTL_PKEY_VERIFY"), 0x8000, 0x8100, 0x8200, 0x8300],
                -22,
                &mut m
            ),
            "keyctl(KEYCTL_PKEY_VERIFY, {key_id=KEY_SPEC_PROCESS_KEYRING, in_len=3, in2_len=2}, \
             \"x\\377\", \"abc\", \"zz\") = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            line(X, &[enc, 0, 0, 0, 0], -14, &mut m),
            "keyctl(KEYCTL_PKEY_ENCRYPT, NULL, NULL, NULL, NULL) = -1 EFAULT (Bad address)"
        );
    }
}
