//! UBI (unsorted block images, types 'o' and 'O') ioctls as strace prints
//! them: volume creation, resizing, renaming, attaching, eraseblock
//! changes and maps, volume properties, and the `int` or `__s64` the
//! other requests point to. Creation and attaching show the number the
//! kernel returns in the structure (` => [N]`) at a successful exit.

use vstrace_core::value::Base;
use vstrace_core::{StructBuilder, Value};

use super::ioctl::{cstring_v, read_v, Kind};
use super::{Call, Fields};
use crate::fmt;
use crate::xlat::{Radix, Table as T};

/// The decoder of UBI request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::{InThen, InV, NoArg};
    Some(match name {
        "UBI_IOCMKVOL" => InThen(|c, v| mkvol(c, v).render(), number_out),
        "UBI_IOCATT" => InThen(|c, v| attach(c, v).render(), number_out),
        "UBI_IOCRSVOL" => InV(|c, v| {
            read_v(c, v, 12, |_, f| {
                StructBuilder::new()
                    .dec("bytes", f.i64(0))
                    .dec("vol_id", f.i32(8))
                    .done()
            })
        }),
        "UBI_IOCRNVOL" => InV(rnvol),
        "UBI_IOCEBCH" => InV(|c, v| {
            read_v(c, v, 16, |c, f| {
                StructBuilder::new()
                    .dec("lnum", f.i32(0))
                    .dec("bytes", f.i32(4))
                    .field("dtype", data_type(c, f.bytes(8, 1)))
                    .done()
            })
        }),
        "UBI_IOCEBMAP" => InV(|c, v| {
            read_v(c, v, 8, |c, f| {
                StructBuilder::new()
                    .dec("lnum", f.i32(0))
                    .field("dtype", data_type(c, f.bytes(4, 1)))
                    .done()
            })
        }),
        "UBI_IOCSETVOLPROP" => InV(|c, v| {
            read_v(c, v, 16, |c, f| {
                StructBuilder::new()
                    .field(
                        "property",
                        fmt::xval_v(c.abi, T::UbiVolumeProps, f.bytes(0, 1), Radix::Hex),
                    )
                    .field("value", Value::int(f.u64(8), Base::Hex))
                    .done()
            })
        }),
        "UBI_IOCVOLUP" => InV(|c, v| read_v(c, v, 8, |_, f| Value::boxed(Value::dec(f.i64(0))))),
        "UBI_IOCDET" | "UBI_IOCEBER" | "UBI_IOCEBISMAP" | "UBI_IOCEBUNMAP" | "UBI_IOCRMVOL"
        | "UBI_IOCRPEB" | "UBI_IOCSPEB" => {
            InV(|c, v| read_v(c, v, 4, |_, f| Value::boxed(Value::dec(f.i32(0)))))
        }
        "UBI_IOCVOLCRBLK" | "UBI_IOCVOLRMBLK" => NoArg,
        _ => return None,
    })
}

/// A data type byte (`UBI_LONGTERM`...).
fn data_type(c: &Call<'_, '_>, v: u64) -> Value {
    fmt::xval_v(c.abi, T::UbiDataTypes, v, Radix::Hex)
}

/// A volume name of `name_len` bytes (clamped to the array) as strace's
/// `PRINT_FIELD_CSTRING_SZ`: up to its NUL within `name_len + 1` bytes,
/// else cut with `...`.
fn name(b: &[u8], o: usize, name_len: i64) -> Value {
    let size = 1 + name_len.clamp(0, 127) as usize;
    cstring_v(b.get(o..o + size).unwrap_or(&[]))
}

/// `struct ubi_mkvol_req` (packed).
fn mkvol(c: &mut Call<'_, '_>, v: u64) -> Value {
    let b = match c.fetch_v(v, 152) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let name_len = f.bytes(18, 2) as u16 as i16;
    StructBuilder::new()
        .dec("vol_id", f.i32(0))
        .dec("alignment", f.i32(4))
        .dec("bytes", f.i64(8))
        .field(
            "vol_type",
            fmt::xval_v(
                c.abi,
                T::UbiVolumeTypes,
                f.bytes(16, 1) as u8 as i8 as i64 as u64,
                Radix::Hex,
            ),
        )
        .field(
            "flags",
            fmt::xflags_v(c.abi, &[T::UbiVolumeFlags], f.bytes(17, 1), true, false),
        )
        .dec("name_len", name_len)
        .field("name", name(&b, 24, name_len.into()))
        .done()
}

/// `struct ubi_attach_req`.
fn attach(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 24, |_, f| {
        StructBuilder::new()
            .dec("ubi_num", f.i32(0))
            .dec("mtd_num", f.i32(4))
            .dec("vid_hdr_offset", f.i32(8))
            .dec("max_beb_per1024", f.bytes(12, 2) as u16 as i16)
            .done()
    })
}

/// At a successful exit of a creation or attach: the number the kernel
/// wrote at the start of the structure.
fn number_out(c: &mut Call<'_, '_>, v: u64, before: String) -> String {
    if c.failed() || !before.starts_with('{') {
        return before;
    }
    match c.fetch(v, 4) {
        Ok(b) => format!("{before} => [{}]", Fields::new(&b, 4).i32(0)),
        Err(_) => before,
    }
}

/// `struct ubi_rnvol_req`: a count, then that many of its 32 entries.
fn rnvol(c: &mut Call<'_, '_>, v: u64) -> Value {
    const ENT: usize = 136;
    let b = match c.fetch_v(v, 16 + 32 * ENT) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let count = f.i32(0);
    let n = count.clamp(0, 32) as usize;
    let shown = if c.opts.verbose {
        n
    } else {
        n.min(c.opts.strsize)
    };
    let ents = (0..shown)
        .map(|i| {
            let o = 16 + i * ENT;
            let len = f.bytes(o + 4, 2) as u16 as i16;
            StructBuilder::new()
                .dec("vol_id", f.i32(o))
                .dec("name_len", len)
                .field("name", name(&b, o + 8, len.into()))
                .done()
        })
        .collect();
    StructBuilder::new()
        .dec("count", count)
        .field(
            "ents",
            Value::Array {
                items: ents,
                more: shown < n,
            },
        )
        .done()
}

#[cfg(test)]
mod tests {
    use vstrace_core::testmem::SparseVirt;

    use super::super::ioctl::tests::{line, EBADF};

    #[test]
    fn ubi_requests() {
        let mut m = SparseVirt::new();
        let mut b = vec![0u8; 152];
        b[16] = 4; // UBI_STATIC_VOLUME
        b[18] = 1; // name_len
        b[24..27].copy_from_slice(b"0ab");
        m.map(0x1000, &b);
        let e = "= -1 EBADF (Bad file descriptor)";
        // UBI_IOCMKVOL _IOW('o', 0, struct ubi_mkvol_req).
        assert_eq!(
            line(0x40986f00, 0x1000, EBADF, &mut m),
            format!(
                "ioctl(-1, UBI_IOCMKVOL, {{vol_id=0, alignment=0, bytes=0, \
                 vol_type=UBI_STATIC_VOLUME, flags=0, name_len=1, name=\"0\"...}}) {e}"
            )
        );
        m.map(0x2000, &0xdeadbeefu32.to_le_bytes());
        // UBI_IOCDET _IOW('o', 65, __s32).
        assert_eq!(
            line(0x40046f41, 0x2000, EBADF, &mut m),
            format!("ioctl(-1, UBI_IOCDET, [-559038737]) {e}")
        );
    }
}
