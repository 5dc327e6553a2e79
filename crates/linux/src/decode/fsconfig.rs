//! `fsconfig(fs_fd, cmd, key, value, aux)`: what the key, the value and
//! the auxiliary argument are depends on the command (a string, a path
//! and the directory it is relative to, a blob and its length, a
//! descriptor...), as strace's decoder shows them.

use super::Ctx;
use crate::proto::ArgType;
use crate::xlat::Table;
use vstrace_core::value::Escape;
use vstrace_core::Value;

/// The longest key or string value strace reads (its decoder's bound).
const MAX_STRING: u16 = 256;
/// The longest binary value strace shows (the kernel's bound: 1 MiB).
const MAX_BLOB: i64 = 1024 * 1024;

/// How argument `k` of an fsconfig call with arguments `raw` is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// As an argument of this type.
    As(ArgType),
    /// A blob of the length in argument 4, all bytes in hex.
    Blob,
}

fn cmd(name: &str) -> u64 {
    Table::FsconfigCmds
        .xlat()
        .value_of(crate::proto::LinuxAbi::X86_64, name)
        .unwrap_or(u64::MAX)
}

/// The shape of argument `k` (2: key, 3: value, 4: aux) of fsconfig with
/// raw arguments `raw`.
pub(crate) fn shape(k: u8, raw: &[u64]) -> Shape {
    let c = raw.get(1).map_or(u64::MAX, |&v| v & 0xffff_ffff);
    let aux = raw.get(4).map_or(-1, |&v| i64::from(v as u32 as i32));
    let is = |n: &str| c == cmd(n);
    let set = [
        "FSCONFIG_SET_FLAG",
        "FSCONFIG_SET_STRING",
        "FSCONFIG_SET_BINARY",
        "FSCONFIG_SET_PATH",
        "FSCONFIG_SET_PATH_EMPTY",
        "FSCONFIG_SET_FD",
    ]
    .iter()
    .any(|n| is(n));
    let path = is("FSCONFIG_SET_PATH") || is("FSCONFIG_SET_PATH_EMPTY");
    Shape::As(match k {
        2 if set => ArgType::StrMax(MAX_STRING),
        3 if is("FSCONFIG_SET_STRING") => ArgType::StrMax(MAX_STRING),
        3 if path => ArgType::Path,
        3 if is("FSCONFIG_SET_BINARY") && (0..=MAX_BLOB).contains(&aux) => return Shape::Blob,
        2 | 3 => ArgType::Ptr,
        4 if path => ArgType::Dirfd,
        4 if is("FSCONFIG_SET_FD") => ArgType::Fd,
        _ => ArgType::Int,
    })
}

/// The type an argument of prototype type `ty` has in a call with
/// arguments `raw`: fsconfig's by command, `ty` for the others.
pub(crate) fn effective(ty: ArgType, raw: &[u64]) -> ArgType {
    match ty {
        ArgType::FsconfigArg(k) => match shape(k, raw) {
            Shape::As(t) => t,
            Shape::Blob => ArgType::BufIn(4),
        },
        t => t,
    }
}

impl Ctx<'_, '_> {
    /// fsconfig's `FSCONFIG_SET_BINARY` value at `v`, its length in
    /// the auxiliary argument.
    pub(super) fn fsconfig_blob(&mut self, v: u64) -> Value {
        let len = self.arg(4) & 0xffff_ffff;
        let mut b = self.buffer(v, len);
        // strace forces hex on the blob (QUOTE_FORCE_HEX).
        if let Value::Str(s) = &mut b {
            s.escape = Escape::AllHex;
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode_enter, decode_exit, format_call, format_return, DecodeOptions};
    use crate::proto::{by_name, LinuxAbi};
    use vstrace_core::testmem::SparseVirt;

    fn line(raw: &[u64], mem: &mut SparseVirt) -> String {
        let d = by_name(LinuxAbi::X86_64, "fsconfig").unwrap();
        let o = DecodeOptions {
            strsize: 300,
            ..DecodeOptions::default()
        };
        let mut a = decode_enter(d, LinuxAbi::X86_64, raw, mem, &o);
        decode_exit(d, LinuxAbi::X86_64, raw, -22, mem, &o, &mut a);
        format_call(d, &a, Some(&format_return(d, LinuxAbi::X86_64, -22)))
    }

    #[test]
    fn arguments_by_command() {
        let mut m = SparseVirt::new();
        m.map(0x1000, b"source\0");
        m.map(0x2000, b"/dev/full\0");
        m.map(0x3000, b"\x01\x02");
        let fill = 0x0def_aced_0000_0000;
        let e = " = -1 EINVAL (Invalid argument)";
        // FSCONFIG_SET_FLAG: the key; the value's address; aux a number.
        assert_eq!(
            line(&[fill | 3, 0, 0x1000, 0x2000, fill | 0xffff_ff9c], &mut m),
            format!("fsconfig(3, FSCONFIG_SET_FLAG, \"source\", 0x2000, -100){e}")
        );
        // FSCONFIG_SET_STRING: the value a string.
        assert_eq!(
            line(&[3, 1, 0x1000, 0x2000, 0], &mut m),
            format!("fsconfig(3, FSCONFIG_SET_STRING, \"source\", \"/dev/full\", 0){e}")
        );
        // FSCONFIG_SET_BINARY: the blob in hex, aux bytes of it.
        assert_eq!(
            line(&[3, 2, 0x1000, 0x3000, 2], &mut m),
            format!("fsconfig(3, FSCONFIG_SET_BINARY, \"source\", \"\\x01\\x02\", 2){e}")
        );
        assert_eq!(
            line(&[3, 2, 0x1000, 0x3000, 0x10_0001], &mut m),
            format!("fsconfig(3, FSCONFIG_SET_BINARY, \"source\", 0x3000, 1048577){e}")
        );
        // FSCONFIG_SET_PATH: a path relative to the directory in aux.
        assert_eq!(
            line(&[3, 3, 0x1000, 0x2000, 0xffff_ff9c], &mut m),
            format!("fsconfig(3, FSCONFIG_SET_PATH, \"source\", \"/dev/full\", AT_FDCWD){e}")
        );
        // FSCONFIG_SET_FD: aux a descriptor; the value's address.
        assert_eq!(
            line(&[3, 5, 0x1000, 0, 4], &mut m),
            format!("fsconfig(3, FSCONFIG_SET_FD, \"source\", NULL, 4){e}")
        );
        // Commands without a key: addresses.
        assert_eq!(
            line(&[3, 6, 0x1000, 0x2000, 0], &mut m),
            format!("fsconfig(3, FSCONFIG_CMD_CREATE, 0x1000, 0x2000, 0){e}")
        );
        assert_eq!(
            line(&[3, 8, 0x1000, 0x2000, 0], &mut m),
            format!("fsconfig(3, 0x8 /* FSCONFIG_??? */, 0x1000, 0x2000, 0){e}")
        );
    }

    #[test]
    fn the_aux_descriptor_is_named_by_command() {
        use super::effective;
        use crate::proto::ArgType;
        let aux = ArgType::FsconfigArg(4);
        assert_eq!(effective(aux, &[0, 5, 0, 0, 4]), ArgType::Fd);
        assert_eq!(effective(aux, &[0, 4, 0, 0, 4]), ArgType::Dirfd);
        assert_eq!(effective(aux, &[0, 1, 0, 0, 4]), ArgType::Int);
        assert_eq!(effective(ArgType::Int, &[0, 5]), ArgType::Int);
    }
}
