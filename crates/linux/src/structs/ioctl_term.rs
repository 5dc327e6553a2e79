//! Terminal attributes (`struct termios`, `struct termios2`, `struct
//! termio`) of the `TCGETS`/`TCSETS*`, `TCGETS2`/`TCSETS*2` and
//! `TCGETA`/`TCSETA*` ioctls as strace prints them
//! by default: the four flag words by name, the delay and size fields of
//! the output and control modes as values, then `...` (the line
//! discipline and control characters are left out, as strace's
//! abbreviated form does); with `-v` the line discipline, the control
//! characters by index name (`[VINTR]=0x3`) and a termios2's speeds. The
//! whole structure is read, as strace does: one that ends past readable
//! memory shows its address.
//!
//! The masks of the multi-bit fields are the union of their values in
//! the generated tables (`NLDLY` = `NL0|NL1`...).

use super::ioctl::Kind;
use super::{Call, Fields};
use crate::proto::LinuxAbi;
use crate::xlat::{self, Radix, Table as T};

/// The kernel's `IBSHIFT`: the input baud rate's shift in `c_cflag`
/// (asm-generic/termbits.h).
const IBSHIFT: u32 = 16;

/// `sizeof(struct termios)` of the kernel (four flag words, `c_line`,
/// 19 control characters).
const TERMIOS: usize = 36;
/// `sizeof(struct termios2)`: a termios and the two speeds.
const TERMIOS2: usize = 44;
/// `sizeof(struct termio)`: four 16-bit flag words, `c_line`, 8 control
/// characters, padded.
const TERMIO: usize = 18;

/// The decoder of terminal attribute request `name`.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::*;
    Some(match name {
        "TCGETS" | "TIOCGLCKTRMIOS" => Out(|c, v| attrs(c, v, TERMIOS)),
        "TCSETS" | "TCSETSW" | "TCSETSF" | "TIOCSLCKTRMIOS" => In(|c, v| attrs(c, v, TERMIOS)),
        "TCGETS2" => Out(|c, v| attrs(c, v, TERMIOS2)),
        "TCSETS2" | "TCSETSW2" | "TCSETSF2" => In(|c, v| attrs(c, v, TERMIOS2)),
        "TCGETA" => Out(|c, v| attrs(c, v, TERMIO)),
        "TCSETA" | "TCSETAW" | "TCSETAF" => In(|c, v| attrs(c, v, TERMIO)),
        _ => return None,
    })
}

/// The union of a table's values: the mask of its field.
fn mask(abi: LinuxAbi, t: T) -> u64 {
    t.xlat().values(abi).iter().fold(0, |m, (v, _)| m | v)
}

fn xv(abi: LinuxAbi, t: T, v: u64) -> String {
    xlat::xval(abi, t, v, Radix::Hex)
}

/// `c_oflag`: each delay field by value, then the remaining flags.
fn oflag(abi: LinuxAbi, mut v: u64) -> String {
    let mut parts = Vec::new();
    for t in [
        T::TermOflagsNldly,
        T::TermOflagsCrdly,
        T::TermOflagsTabdly,
        T::TermOflagsBsdly,
        T::TermOflagsVtdly,
        T::TermOflagsFfdly,
    ] {
        let m = mask(abi, t);
        parts.push(xv(abi, t, v & m));
        v &= !m;
    }
    parts.push(xlat::flags_plain(abi, T::TermOflags, v));
    parts.join("|")
}

/// `c_cflag`: output speed, input speed when set (`B9600<<IBSHIFT`),
/// character size, then the remaining flags.
fn cflag(abi: LinuxAbi, mut v: u64) -> String {
    let cbaud = mask(abi, T::BaudOptions);
    let cibaud = cbaud << IBSHIFT;
    let csize = mask(abi, T::TermCflagsCsize);
    let mut parts = vec![xv(abi, T::BaudOptions, v & cbaud)];
    if v & cibaud != 0 {
        parts.push(format!(
            "{}<<IBSHIFT",
            xv(abi, T::BaudOptions, (v & cibaud) >> IBSHIFT)
        ));
    }
    parts.push(xv(abi, T::TermCflagsCsize, v & csize));
    v &= !(cbaud | cibaud | csize);
    parts.push(xlat::flags_plain(abi, T::TermCflags, v));
    parts.join("|")
}

/// `struct termios`/`termios2` (four 32-bit flag words) or `struct
/// termio` (four 16-bit ones), `size` bytes in all.
fn attrs(c: &mut Call<'_, '_>, v: u64, size: usize) -> String {
    let w = if size == TERMIO { 2 } else { 4 };
    let b = match c.fetch(v, size) {
        Ok(b) => b,
        Err(s) => return s,
    };
    let f = Fields::new(&b, 4);
    let word = |k: usize| f.bytes(k * w, w);
    let abi = c.abi;
    let flags = format!(
        "c_iflag={}, c_oflag={}, c_cflag={}, c_lflag={}",
        xlat::flags_plain(abi, T::TermIflags, word(0)),
        oflag(abi, word(1)),
        cflag(abi, word(2)),
        xlat::flags_plain(abi, T::TermLflags, word(3))
    );
    if !c.opts.verbose {
        return format!("{{{flags}, ...}}");
    }
    // c_line, then c_cc: 8 characters in a termio, 19 in the others.
    let line = 4 * w;
    let ncc = if size == TERMIO { 8 } else { 19 };
    let cc: Vec<String> = b[line + 1..line + 1 + ncc]
        .iter()
        .enumerate()
        .map(|(k, &v)| {
            let index = T::TermiosCc
                .xlat()
                .lookup(abi, k as u64)
                .map_or_else(|| k.to_string(), str::to_string);
            // `%#x`: a zero is `0`.
            let v = if v == 0 {
                "0".into()
            } else {
                format!("{v:#x}")
            };
            format!("[{index}]={v}")
        })
        .collect();
    let mut out = format!(
        "{{{flags}, c_line={}, c_cc=[{}]",
        xv(abi, T::TermLineDiscs, u64::from(b[line])),
        cc.join(", ")
    );
    if size == TERMIOS2 {
        out.push_str(&format!(", c_ispeed={}, c_ospeed={}", f.u32(36), f.u32(40)));
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: LinuxAbi = LinuxAbi::X86_64;

    #[test]
    fn a_console_termios() {
        // The usual values of a Linux console: ICRNL|IXON, OPOST|ONLCR,
        // B38400|CS8|CREAD, ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN.
        assert_eq!(oflag(X, 0o5), "NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR");
        assert_eq!(cflag(X, 0o277), "B38400|CS8|CREAD");
        assert_eq!(
            cflag(X, 0o277 | (0o15 << IBSHIFT)),
            "B38400|B9600<<IBSHIFT|CS8|CREAD"
        );
        assert_eq!(cflag(X, 0), "B0|CS5|0");
        assert_eq!(xlat::flags_plain(X, T::TermIflags, 0o2400), "ICRNL|IXON");
    }
}
