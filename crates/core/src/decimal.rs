//! Integers written into a `String` without `core::fmt`: the text of
//! every trace line holds a few (the pid column, descriptors, counts,
//! return values, addresses), and `write!` costs a formatter set-up, a
//! dynamic call and a padding pass for each. The bytes are exactly
//! `write!`'s (`{}`, `{:>N}`, `{:#x}`): the tests check that.

/// `v` in decimal, as `{v}` writes it.
#[inline]
pub fn push_u64(out: &mut String, v: u64) {
    let mut buf = [0u8; 20];
    out.push_str(digits(v, &mut buf));
}

/// `v` in decimal, as `{v}` writes it (a `-` before a negative one).
#[inline]
pub fn push_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
}

/// `v` in decimal right-aligned in `width` columns, as `{v:>width$}`
/// writes it (spaces before it; wider numbers are not cut).
#[inline]
pub fn push_u64_right(out: &mut String, v: u64, width: usize) {
    // The padding as one slice of spaces (not a push per space: strace's
    // `[pid  1234] ` starts every line of a multi-process trace).
    const SPACES: &str = "                    ";
    let mut buf = [0u8; 20];
    let d = digits(v, &mut buf);
    let mut pad = width.saturating_sub(d.len());
    while pad > 0 {
        let n = pad.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        pad -= n;
    }
    out.push_str(d);
}

/// `v` in hexadecimal with its `0x` prefix, as `{v:#x}` writes it.
#[inline]
pub fn push_hex(out: &mut String, v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = HEX[(v & 0xf) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    out.push_str("0x");
    // Only ASCII hex digits were written.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

/// The decimal digits of `v`, written at the end of `buf`.
#[inline]
fn digits(mut v: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<u64> {
        let mut v = vec![0, 1, 9, 10, 99, 100, 12345, 99999, 100000, u64::MAX];
        for k in 0..64 {
            v.extend([1u64 << k, (1u64 << k) - 1, (1u64 << k) + 1]);
        }
        v
    }

    #[test]
    fn the_bytes_of_write() {
        for v in samples() {
            let mut s = String::from("x");
            push_u64(&mut s, v);
            assert_eq!(s, format!("x{v}"));
            for i in [v as i64, (v as i64).wrapping_neg(), i64::MIN, i64::MAX] {
                let mut s = String::new();
                push_i64(&mut s, i);
                assert_eq!(s, format!("{i}"));
            }
            for w in [0, 1, 5, 19, 20, 21, 25] {
                let mut s = String::new();
                push_u64_right(&mut s, v, w);
                assert_eq!(s, format!("{v:>w$}"));
            }
            let mut s = String::new();
            push_hex(&mut s, v);
            assert_eq!(s, format!("{v:#x}"));
        }
    }
}
