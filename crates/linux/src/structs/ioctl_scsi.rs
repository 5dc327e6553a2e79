//! SCSI generic ioctls (type 0x22) as strace prints them: the `int`
//! the driver's setters read and its getters write, the reset kind,
//! the device's id, the transform value and the timeout getter (no
//! argument). `SG_IO` and the request table are shown as addresses
//! (their structures are not decoded yet).

use vstrace_core::value::Base;
use vstrace_core::{StructBuilder, Value};

use super::ioctl::{int, read_v, Kind};
use crate::fmt;
use crate::xlat::{Radix, Table as T};

/// The decoder of SCSI request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::{In, InV, NoArg, Out, OutV, ValV};
    Some(match name {
        "SG_NEXT_CMD_LEN"
        | "SG_SET_COMMAND_Q"
        | "SG_SET_DEBUG"
        | "SG_SET_FORCE_LOW_DMA"
        | "SG_SET_FORCE_PACK_ID"
        | "SG_SET_KEEP_ORPHAN"
        | "SG_SET_RESERVED_SIZE"
        | "SG_SET_TIMEOUT" => In(int),
        "SG_EMULATED_HOST"
        | "SG_GET_ACCESS_COUNT"
        | "SG_GET_COMMAND_Q"
        | "SG_GET_KEEP_ORPHAN"
        | "SG_GET_LOW_DMA"
        | "SG_GET_NUM_WAITING"
        | "SG_GET_PACK_ID"
        | "SG_GET_RESERVED_SIZE"
        | "SG_GET_SG_TABLESIZE"
        | "SG_GET_TRANSFORM"
        | "SG_GET_VERSION_NUM" => Out(int),
        "SG_SET_TRANSFORM" => ValV(|_, v| Value::int(v & 0xffff_ffff, Base::Hex)),
        "SG_GET_TIMEOUT" => NoArg,
        "SG_SCSI_RESET" => InV(reset),
        "SG_GET_SCSI_ID" => OutV(scsi_id),
        "SG_GET_REQUEST_TABLE" => OutV(|_, v| Value::ptr(v)),
        _ => return None,
    })
}

/// The reset kind through a pointer: `SG_SCSI_RESET_NO_ESCALATE|` and
/// then the kind, as strace prints it.
fn reset(c: &mut super::Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 4, |c, f| {
        let val = f.u32(0);
        let no_escalate = T::SgScsiReset
            .xlat()
            .value_of(c.abi, "SG_SCSI_RESET_NO_ESCALATE")
            .unwrap_or(0);
        let kind = fmt::xval_v(c.abi, T::SgScsiReset, val & !no_escalate, Radix::Hex);
        if no_escalate != 0 && val & no_escalate != 0 {
            let first = fmt::xval_v(c.abi, T::SgScsiReset, no_escalate, Radix::Hex);
            Value::boxed(Value::Opaque(format!(
                "{}|{}",
                first.render(),
                kind.render()
            )))
        } else {
            Value::boxed(kind)
        }
    })
}

/// `struct sg_scsi_id`.
fn scsi_id(c: &mut super::Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 24, |_, f| {
        let hex = |x: u64| Value::int(x, Base::Hex);
        StructBuilder::new()
            .dec("host_no", f.i32(0))
            .dec("channel", f.i32(4))
            .field("scsi_id", hex(f.u32(8)))
            .dec("lun", f.i32(12))
            .field("scsi_type", hex(f.u32(16)))
            .dec("h_cmd_per_lun", f.u16(20) as u16 as i16)
            .dec("d_queue_depth", f.u16(22) as u16 as i16)
            .done()
    })
}

#[cfg(test)]
mod tests {
    use vstrace_core::testmem::SparseVirt;

    use super::super::ioctl::tests::{line, EBADF};

    #[test]
    fn ints_resets_and_no_argument() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &0x101u32.to_le_bytes());
        assert_eq!(
            line(0x2284, 0x1000, EBADF, &mut m),
            "ioctl(-1, SG_SCSI_RESET, [SG_SCSI_RESET_NO_ESCALATE|SG_SCSI_RESET_DEVICE]) \
             = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(0x2201, 0x1000, EBADF, &mut m),
            "ioctl(-1, SG_SET_TIMEOUT, [257]) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(0x2202, 0xdeadbeef, EBADF, &mut m),
            "ioctl(-1, SG_GET_TIMEOUT) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(0x2203, 0, EBADF, &mut m),
            "ioctl(-1, SG_EMULATED_HOST, NULL) = -1 EBADF (Bad file descriptor)"
        );
    }
}
