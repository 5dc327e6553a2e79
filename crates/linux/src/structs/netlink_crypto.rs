//! NETLINK_CRYPTO's messages (the crypto API's user configuration,
//! `crypto_user`): the algorithm messages carry a `struct
//! crypto_user_alg` (three names in 64-byte buffers, type, mask, reference
//! count and flags), then attributes: the priority and the reports of
//! each algorithm kind (`struct crypto_report_hash`, `_blkcipher`,
//! `_aead`, `_rng`, `_cipher`; the other kinds a name alone), as strace
//! shows them. Shorter data is shown as a string; unreadable data as its
//! address.

use super::netlink::{Header, Nl};
use super::netlink_fields::le;
use super::nlattr::{self, Attrs, Kind};
use crate::fmt;
use crate::xlat::Table as T;

/// `sizeof(struct crypto_user_alg)`: three names of
/// `CRYPTO_MAX_NAME` bytes and four `u32`.
const ALG_SIZE: u64 = 3 * NAME + 16;
/// `CRYPTO_MAX_NAME`.
const NAME: u64 = 64;

/// The algorithm messages: `CRYPTO_MSG_NEWALG`, `_DELALG`, `_UPDATEALG`,
/// `_GETALG`; false for the others (shown as data then).
pub(super) fn decode(nl: &mut Nl<'_, '_>, h: &Header, addr: u64, len: u64) -> bool {
    if !(0x10..=0x13).contains(&h.ty) {
        return false;
    }
    let Some(b) = whole(nl, addr, len, ALG_SIZE) else {
        return true;
    };
    let n = NAME as usize;
    let s = format!(
        "{{cru_name={}, cru_driver_name={}, cru_module_name={}, cru_type={}, \
         cru_mask={}, cru_refcnt={}, cru_flags={}}}",
        name(nl, &b[..n]),
        name(nl, &b[n..2 * n]),
        name(nl, &b[2 * n..3 * n]),
        hex(le(&b, 3 * n, 4)),
        hex(le(&b, 3 * n + 4, 4)),
        le(&b, 3 * n + 8, 4),
        hex(le(&b, 3 * n + 12, 4)),
    );
    nl.put(&s);
    // (The structure's size is a multiple of the netlink alignment.)
    if len > ALG_SIZE {
        nl.put(", ");
        nlattr::list(
            nl,
            addr.wrapping_add(ALG_SIZE),
            len - ALG_SIZE,
            &Attrs::new(T::CryptoNlAttrs, &ALG_ATTRS),
        );
    }
    true
}

/// The attributes of an algorithm message, by `CRYPTOCFGA_*` type.
static ALG_ATTRS: [Kind; 12] = [
    Kind::Hex,                 // UNSPEC
    Kind::U32,                 // PRIORITY_VAL
    Kind::Custom(report_name), // REPORT_LARVAL
    Kind::Custom(report_hash),
    Kind::Custom(report_blkcipher),
    Kind::Custom(report_aead),
    Kind::Custom(report_name), // REPORT_COMPRESS
    Kind::Custom(report_rng),
    Kind::Custom(report_cipher),
    Kind::Custom(report_name), // REPORT_AKCIPHER
    Kind::Custom(report_name), // REPORT_KPP
    Kind::Custom(report_name), // REPORT_ACOMP
];

/// The `size` bytes of a structure at `addr` in data of `len` bytes;
/// None when they are not all there, shown as strace shows them then:
/// shorter data as a string, unreadable data as its address.
fn whole(nl: &mut Nl<'_, '_>, addr: u64, len: u64, size: u64) -> Option<Vec<u8>> {
    if len < size {
        nl.strn(addr, len);
        return None;
    }
    let b = nl.read(addr, size);
    if b.is_none() {
        nl.addr(addr);
    }
    b
}

/// C's `%#x`: `0` for zero.
fn hex(v: u64) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

/// A name in a fixed buffer (strace's `PRINT_FIELD_CSTRING`): up to its
/// NUL among the buffer's first `size - 1` bytes, else those and `...`;
/// whatever `-s` says.
fn name(nl: &Nl<'_, '_>, b: &[u8]) -> String {
    let n = b.len().saturating_sub(1);
    match b[..n].iter().position(|&c| c == 0) {
        Some(end) => fmt::quote_x(&b[..end], false, nl.opts.strings_in_hex),
        None => fmt::quote_x(&b[..n], true, nl.opts.strings_in_hex),
    }
}

/// The kinds whose report is their name alone: `{type="..."}`, the data
/// as a NUL-terminated string of at most `-s` bytes.
fn report_name(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    nl.put("{type=");
    nl.cstr0(addr, len);
    nl.put("}");
    true
}

/// A report structure of `size` bytes: its name, then `u32` fields
/// after the names (`names` 64-byte buffers: type, and geniv for some);
/// shorter data as a string, unreadable as its address.
fn report(nl: &mut Nl<'_, '_>, addr: u64, len: u64, names: &[&str], fields: &[&str]) -> bool {
    let size = NAME * names.len() as u64 + 4 * fields.len() as u64;
    let Some(b) = whole(nl, addr, len, size) else {
        return true;
    };
    let n = NAME as usize;
    let mut parts: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, f)| format!("{f}={}", name(nl, &b[i * n..(i + 1) * n])))
        .collect();
    let base = names.len() * n;
    parts.extend(
        fields
            .iter()
            .enumerate()
            .map(|(i, f)| format!("{f}={}", le(&b, base + 4 * i, 4))),
    );
    let s = format!("{{{}}}", parts.join(", "));
    nl.put(&s);
    true
}

/// `struct crypto_report_hash`.
fn report_hash(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    report(nl, addr, len, &["type"], &["blocksize", "digestsize"])
}

/// `struct crypto_report_blkcipher`.
fn report_blkcipher(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    report(
        nl,
        addr,
        len,
        &["type", "geniv"],
        &["blocksize", "min_keysize", "max_keysize", "ivsize"],
    )
}

/// `struct crypto_report_aead`.
fn report_aead(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    report(
        nl,
        addr,
        len,
        &["type", "geniv"],
        &["blocksize", "maxauthsize", "ivsize"],
    )
}

/// `struct crypto_report_rng`.
fn report_rng(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    report(nl, addr, len, &["type"], &["seedsize"])
}

/// `struct crypto_report_cipher`.
fn report_cipher(nl: &mut Nl<'_, '_>, addr: u64, len: u64) -> bool {
    report(
        nl,
        addr,
        len,
        &["type"],
        &["blocksize", "min_keysize", "max_keysize"],
    )
}
