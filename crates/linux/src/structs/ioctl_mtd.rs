//! Memory technology device ioctls (type 'M') as strace prints them:
//! erase ranges, out-of-band buffers, write requests, one-time
//! programmable areas, the device's geometry, NAND layouts and ECC
//! statistics. Numbers are in hex as strace prints them; user-space
//! buffers are addresses.

use vstrace_core::value::Base;
use vstrace_core::{StructBuilder, Value};

use super::ioctl::{read_v, Kind};
use super::{Call, Fields};
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{Radix, Table as T};

/// The decoder of MTD request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::{InThen, InV, OutV, ValV};
    Some(match name {
        "MEMERASE" | "MEMLOCK" | "MEMUNLOCK" | "MEMISLOCKED" => {
            InV(|c, v| hex32s(c, v, &["start", "length"]))
        }
        "MEMERASE64" => InV(|c, v| {
            read_v(c, v, 16, |_, f| {
                StructBuilder::new()
                    .field("start", x(f.u64(0)))
                    .field("length", x(f.u64(8)))
                    .done()
            })
        }),
        "MEMWRITEOOB" | "MEMREADOOB" => InV(oob_buf),
        "MEMWRITEOOB64" | "MEMREADOOB64" => InV(|c, v| {
            read_v(c, v, 24, |_, f| {
                StructBuilder::new()
                    .field("start", x(f.u64(0)))
                    .field("length", x(f.u32(12)))
                    .field("usr_ptr", Value::ptr(f.u64(16)))
                    .done()
            })
        }),
        "MEMWRITE" => InV(write_req),
        "OTPGETREGIONINFO" => OutV(otp_info),
        "OTPLOCK" => InV(otp_info),
        "OTPSELECT" => InV(|c, v| {
            read_v(c, v, 4, |c, f| {
                Value::boxed(fmt::xval_v(c.abi, T::MtdOtpOptions, f.u32(0), Radix::Hex))
            })
        }),
        "MTDFILEMODE" => ValV(|c, v| fmt::xval_v(c.abi, T::MtdFileModeOptions, v, Radix::Hex)),
        "MEMGETBADBLOCK" | "MEMSETBADBLOCK" => {
            InV(|c, v| read_v(c, v, 8, |_, f| Value::boxed(Value::dec(f.u64(0)))))
        }
        "MEMGETINFO" => OutV(info_user),
        "MEMGETOOBSEL" => OutV(oobinfo),
        "ECCGETLAYOUT" => OutV(ecclayout),
        "ECCGETSTATS" => {
            OutV(|c, v| hex32s(c, v, &["corrected", "failed", "badblocks", "bbtblocks"]))
        }
        "OTPGETREGIONCOUNT" => {
            OutV(|c, v| read_v(c, v, 4, |_, f| Value::boxed(Value::dec(f.u32(0)))))
        }
        "MEMGETREGIONCOUNT" => {
            OutV(|c, v| read_v(c, v, 4, |_, f| Value::boxed(Value::dec(f.i32(0)))))
        }
        "MEMGETREGIONINFO" => InThen(region_index, region_info),
        _ => return None,
    })
}

/// A number in hex.
fn x(v: u64) -> Value {
    Value::int(v, Base::Hex)
}

/// A structure of `__u32` fields, all in hex.
fn hex32s(c: &mut Call<'_, '_>, v: u64, names: &[&'static str]) -> Value {
    read_v(c, v, 4 * names.len(), |_, f| {
        let mut s = StructBuilder::new();
        for (i, n) in names.iter().enumerate() {
            s.field(*n, x(f.u32(4 * i)));
        }
        s.done()
    })
}

/// `struct mtd_oob_buf`: two `__u32` and a pointer.
fn oob_buf(c: &mut Call<'_, '_>, v: u64) -> Value {
    let len = match c.abi {
        LinuxAbi::X86_64 => 16,
        LinuxAbi::I386 => 12,
    };
    read_v(c, v, len, |_, f| {
        StructBuilder::new()
            .field("start", x(f.u32(0)))
            .field("length", x(f.u32(4)))
            .field("ptr", Value::ptr(f.ulong(8)))
            .done()
    })
}

/// `struct otp_info`.
fn otp_info(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 12, |_, f| {
        StructBuilder::new()
            .field("start", x(f.u32(0)))
            .field("length", x(f.u32(4)))
            .dec("locked", f.u32(8))
            .done()
    })
}

/// `struct mtd_write_req`.
fn write_req(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 48, |c, f| {
        StructBuilder::new()
            .field("start", x(f.u64(0)))
            .field("len", x(f.u64(8)))
            .field("ooblen", x(f.u64(16)))
            .field("usr_data", Value::ptr(f.u64(24)))
            .field("usr_oob", Value::ptr(f.u64(32)))
            .field(
                "mode",
                fmt::xval_v(c.abi, T::MtdModeOptions, f.bytes(40, 1), Radix::Hex),
            )
            .done()
    })
}

/// `struct mtd_info_user`.
fn info_user(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 32, |c, f| {
        StructBuilder::new()
            .field(
                "type",
                fmt::xval_v(c.abi, T::MtdTypeOptions, f.bytes(0, 1), Radix::Hex),
            )
            .field(
                "flags",
                fmt::xflags_v(c.abi, &[T::MtdFlagsOptions], f.u32(4), true, false),
            )
            .field("size", x(f.u32(8)))
            .field("erasesize", x(f.u32(12)))
            .field("writesize", x(f.u32(16)))
            .field("oobsize", x(f.u32(20)))
            .field("padding", x(f.u64(24)))
            .done()
    })
}

/// `n` elements of `each` bytes at `o` rendered by `one`, at most `-s`
/// of them unless `-v` (strace's array of a structure's field).
pub(super) fn local_array(
    c: &Call<'_, '_>,
    n: usize,
    mut one: impl FnMut(usize) -> Value,
) -> Value {
    let limit = if c.opts.verbose {
        n
    } else {
        n.min(c.opts.strsize)
    };
    Value::Array {
        items: (0..limit).map(&mut one).collect(),
        more: limit < n,
    }
}

/// `struct nand_oobinfo`.
fn oobinfo(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 200, |c, f| {
        let oobfree = local_array(c, 8, |i| Value::Array {
            items: vec![x(f.u32(8 + 8 * i)), x(f.u32(12 + 8 * i))],
            more: false,
        });
        StructBuilder::new()
            .field(
                "useecc",
                fmt::xval_v(c.abi, T::MtdNandeccOptions, f.u32(0), Radix::Hex),
            )
            .field("eccbytes", x(f.u32(4)))
            .field("oobfree", oobfree)
            .field("eccpos", local_array(c, 32, |i| x(f.u32(72 + 4 * i))))
            .done()
    })
}

/// `struct nand_ecclayout_user`.
fn ecclayout(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 328, |c, f| {
        let oobfree = local_array(c, 8, |i| {
            StructBuilder::new()
                .field("offset", x(f.u32(264 + 8 * i)))
                .field("length", x(f.u32(268 + 8 * i)))
                .done()
        });
        StructBuilder::new()
            .field("eccbytes", x(f.u32(0)))
            .field("eccpos", local_array(c, 64, |i| x(f.u32(4 + 4 * i))))
            .field("oobavail", x(f.u32(260)))
            .field("oobfree", oobfree)
            .done()
    })
}

/// `MEMGETREGIONINFO` at the entry: the region asked for, the structure
/// left open for what the kernel answers.
fn region_index(c: &mut Call<'_, '_>, v: u64) -> String {
    match c.fetch(v, 16) {
        Ok(b) => format!("{{regionindex={}", fmt::hex0(Fields::new(&b, 4).u32(12))),
        Err(s) => s,
    }
}

/// `MEMGETREGIONINFO` at the exit: the region's geometry when the call
/// succeeded, and the structure closed.
fn region_info(c: &mut Call<'_, '_>, v: u64, before: String) -> String {
    if !before.starts_with('{') || before.ends_with('}') {
        return before;
    }
    let rest = match c.fetch(v, 16) {
        Ok(b) if !c.failed() => {
            let f = Fields::new(&b, 4);
            format!(
                ", offset={}, erasesize={}, numblocks={}",
                fmt::hex0(f.u32(0)),
                fmt::hex0(f.u32(4)),
                fmt::hex0(f.u32(8))
            )
        }
        _ => String::new(),
    };
    format!("{before}{rest}}}")
}

#[cfg(test)]
mod tests {
    use vstrace_core::testmem::SparseVirt;

    use super::super::ioctl::tests::{line, EBADF};

    #[test]
    fn mtd_requests() {
        let mut m = SparseVirt::new();
        let b: Vec<u8> = (0x80..0xc0).collect();
        m.map(0x1000, &b);
        let e = "= -1 EBADF (Bad file descriptor)";
        // MEMERASE _IOW('M', 2, struct erase_info_user).
        assert_eq!(
            line(0x40084d02, 0x1000, EBADF, &mut m),
            format!(
                "ioctl(-1, MIXER_WRITE(2) or MEMERASE, {{start=0x83828180, length=0x87868584}}) {e}"
            )
        );
        // MEMGETREGIONINFO _IOWR('M', 8, struct region_info_user).
        assert_eq!(
            line(0xc0104d08, 0x1000, EBADF, &mut m),
            format!("ioctl(-1, MEMGETREGIONINFO, {{regionindex=0x8f8e8d8c}}) {e}")
        );
        assert_eq!(
            line(0xc0104d08, 0x1000, 0, &mut m),
            "ioctl(-1, MEMGETREGIONINFO, {regionindex=0x8f8e8d8c, offset=0x83828180, \
             erasesize=0x87868584, numblocks=0x8b8a8988}) = 0"
        );
        // MEMGETINFO _IOR('M', 1, struct mtd_info_user): an address when
        // it failed.
        assert_eq!(
            line(0x80204d01, 0x1000, EBADF, &mut m),
            format!("ioctl(-1, MIXER_READ(1) or MEMGETINFO, 0x1000) {e}")
        );
        assert_eq!(
            line(0x4d13, 0, EBADF, &mut m),
            format!("ioctl(-1, MTDFILEMODE, MTD_FILE_MODE_NORMAL) {e}")
        );
    }
}
