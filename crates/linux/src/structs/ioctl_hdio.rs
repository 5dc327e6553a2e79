//! ATA disk ioctls (`HDIO_*`, type 0x03) as strace prints them: the
//! drive geometry, `HDIO_DRIVE_CMD`'s command and what the drive
//! answered, settings read through a `long` pointer or passed as the
//! value itself, the identity block as a string.

use super::ioctl::Kind;
use super::{Call, Fields};
use crate::fmt;
use crate::xlat::{self, Radix, Table as T};

/// The decoder of request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::*;
    Some(match name {
        "HDIO_GETGEO" => Out(geometry),
        "HDIO_DRIVE_CMD" => InThen(drive_cmd, drive_cmd_answer),
        "HDIO_DRIVE_RESET" | "HDIO_SCAN_HWIF" => {
            In(|c, v| c.array(v, 3, 4, |_, b| fmt::hex0(Fields::new(b, 4).u32(0))))
        }
        "HDIO_GET_32BIT"
        | "HDIO_GET_ACOUSTIC"
        | "HDIO_GET_ADDRESS"
        | "HDIO_GET_DMA"
        | "HDIO_GET_KEEPSETTINGS"
        | "HDIO_GET_MULTCOUNT"
        | "HDIO_GET_NOWERR"
        | "HDIO_GET_UNMASKINTR"
        | "HDIO_GET_WCACHE" => Out(|c, v| ulong(c, v, |_, n| n.to_string())),
        "HDIO_GET_BUSSTATE" => Out(|c, v| {
            ulong(c, v, |abi, n| {
                xlat::xval(abi, T::HdioBusstates, n, Radix::Hex)
            })
        }),
        "HDIO_GET_NICE" => Out(|c, v| ulong(c, v, |abi, n| xlat::flags(abi, T::HdioIdeNice, n))),
        "HDIO_GET_IDENTITY" | "HDIO_OBSOLETE_IDENTITY" => Out(|c, v| c.quoted(v, 512)),
        "HDIO_SET_32BIT"
        | "HDIO_SET_ACOUSTIC"
        | "HDIO_SET_ADDRESS"
        | "HDIO_SET_DMA"
        | "HDIO_SET_KEEPSETTINGS"
        | "HDIO_SET_MULTCOUNT"
        | "HDIO_SET_NOWERR"
        | "HDIO_SET_PIO_MODE"
        | "HDIO_SET_UNMASKINTR"
        | "HDIO_SET_WCACHE"
        | "HDIO_UNREGISTER_HWIF" => Value(|_, v| v.to_string()),
        "HDIO_SET_BUSSTATE" => Value(|abi, v| xlat::xval(abi, T::HdioBusstates, v, Radix::Hex)),
        "HDIO_SET_NICE" => Value(|abi, v| xlat::flags(abi, T::HdioIdeNice, v)),
        _ => return None,
    })
}

/// An unsigned `long` through a pointer, rendered by `f`: `[N]`.
fn ulong(c: &mut Call<'_, '_>, v: u64, f: fn(crate::proto::LinuxAbi, u64) -> String) -> String {
    let n = c.long_size();
    match c.fetch(v, n) {
        Ok(b) => format!("[{}]", f(c.abi, Fields::new(&b, n).ulong(0))),
        Err(s) => s,
    }
}

/// `struct hd_geometry`: heads, sectors (bytes), cylinders, start.
fn geometry(c: &mut Call<'_, '_>, v: u64) -> String {
    let n = c.long_size();
    match c.fetch(v, 2 * n) {
        Ok(b) => {
            let f = Fields::new(&b, n);
            format!(
                "{{heads={}, sectors={}, cylinders={}, start={}}}",
                b[0],
                b[1],
                f.u16(2),
                f.ulong(n)
            )
        }
        Err(s) => s,
    }
}

/// `struct hd_drive_cmd_hdr` as the caller fills it.
fn drive_cmd(c: &mut Call<'_, '_>, v: u64) -> String {
    match c.fetch(v, 4) {
        Ok(b) => format!(
            "{{command={}, sector_number={}, feature={}, sector_count={}}}",
            xlat::xval(c.abi, T::HdioDriveCmds, b[0] as u64, Radix::Hex),
            b[1],
            b[2],
            b[3]
        ),
        Err(s) => s,
    }
}

/// `EIO`: the drive answered with an error status, still shown.
const EIO: i64 = -5;
/// Bytes of one sector of `HDIO_DRIVE_CMD`'s data.
const SECTOR_SIZE: u64 = 512;

/// At the exit: the drive's status, error and count, and the sectors it
/// returned in hex, unless the call failed (other than with `EIO`).
fn drive_cmd_answer(c: &mut Call<'_, '_>, v: u64, before: String) -> String {
    if !before.starts_with('{') || (c.failed() && c.ret != Some(EIO)) {
        return before;
    }
    let Ok(b) = c.fetch(v, 4) else {
        return before;
    };
    let mut s = format!(
        "{before} => {{status={}, error={}, nsector={}",
        fmt::hex0(b[0] as u64),
        b[1],
        b[2]
    );
    if b[3] != 0 {
        let len = b[3] as u64 * SECTOR_SIZE;
        let max = len.min(c.opts.strsize as u64) as usize;
        let data = match c.fetch(v.wrapping_add(4), max) {
            Ok(d) => fmt::quote_hex(&d, len > max as u64),
            Err(e) => e,
        };
        s.push_str(&format!(", buf={data}"));
    }
    s.push('}');
    s
}
