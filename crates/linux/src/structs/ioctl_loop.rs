//! Loop device (type 'L') and network block device (type 0xab) ioctls
//! as strace prints them: `struct loop_info` (the old one, with its
//! ABI-dependent `dev_t` and `long` fields), `struct loop_info64`,
//! `struct loop_config`, descriptors, sizes and NBD's flags. The status
//! structures are abbreviated unless `-v` (the encryption fields shown
//! only when an encryption type is set).

use vstrace_core::value::Base;
use vstrace_core::{StructBuilder, Value};

use super::fd;
use super::ioctl::{cstring_v, Kind};
use super::{Call, Fields};
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{Radix, Table as T};

/// `LO_NAME_SIZE` and `LO_KEY_SIZE`.
const NAME: usize = 64;
const KEY: usize = 32;

/// The decoder of loop or NBD request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::*;
    Some(match name {
        "LOOP_SET_STATUS" => InV(loop_info),
        "LOOP_GET_STATUS" => OutV(loop_info),
        "LOOP_SET_STATUS64" => InV(loop_info64),
        "LOOP_GET_STATUS64" => OutV(loop_info64),
        "LOOP_CONFIGURE" => InV(loop_config),
        "LOOP_SET_FD" | "LOOP_CHANGE_FD" | "NBD_SET_SOCK" => ValV(|_, v| fd(v)),
        "LOOP_CTL_ADD" | "LOOP_CTL_REMOVE" => ValV(|_, v| dec32(v)),
        "LOOP_SET_DIRECT_IO"
        | "LOOP_SET_BLOCK_SIZE"
        | "NBD_SET_BLKSIZE"
        | "NBD_SET_SIZE"
        | "NBD_SET_SIZE_BLOCKS"
        | "NBD_SET_TIMEOUT" => ValV(|_, v| udec(v)),
        "NBD_SET_FLAGS" => ValV(|c, v| fmt::xflags_v(c.abi, &[T::NbdIoctlFlags], v, true, false)),
        "LOOP_CLR_FD" | "LOOP_SET_CAPACITY" | "LOOP_CTL_GET_FREE" | "NBD_DISCONNECT"
        | "NBD_CLEAR_SOCK" | "NBD_DO_IT" | "NBD_CLEAR_QUE" | "NBD_PRINT_DEBUG" => NoArg,
        _ => return None,
    })
}

/// A `dev_t` as `makedev(major, minor)`.
fn dev(d: u64) -> Value {
    Value::Opaque(fmt::makedev(d))
}

/// `n` bytes of `b` at `o` as strace's hex array (`[0x1, 0x2]`).
fn hex_array(f: &Fields<'_>, o: usize, n: usize, size: usize) -> Value {
    Value::Array {
        items: (0..n)
            .map(|i| Value::int(f.bytes(o + i * size, size), Base::Hex))
            .collect(),
        more: false,
    }
}

/// A key of `len` bytes (at most `LO_KEY_SIZE`), all of it quoted.
fn key(c: &Call<'_, '_>, b: &[u8], o: usize, len: u64) -> Value {
    let n = (len as usize).min(KEY);
    Value::str(b[o..o + n].to_vec(), false, c.opts.strings_in_hex)
}

/// The legacy `struct loop_info`.
fn loop_info(c: &mut Call<'_, '_>, v: u64) -> Value {
    // Offsets of lo_device, lo_inode, lo_rdevice, lo_offset, lo_name,
    // lo_init and the size, and the widths of dev_t and long.
    let (dv, ino, rdev, off, name, init, size, dw, w) = match c.abi {
        LinuxAbi::X86_64 => (8, 16, 24, 32, 48, 144, 168, 8, 8),
        LinuxAbi::I386 => (4, 8, 12, 16, 32, 128, 140, 2, 4),
    };
    let b = match c.fetch_v(v, size) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, w);
    let crypt = f.u32(off + 4);
    let full = c.opts.verbose || crypt != 0;
    let mut s = StructBuilder::new();
    s.dec("lo_number", f.i32(0));
    if c.opts.verbose {
        s.field("lo_device", dev(f.bytes(dv, dw)))
            .dec("lo_inode", f.ulong(ino))
            .field("lo_rdevice", dev(f.bytes(rdev, dw)));
    }
    s.field("lo_offset", Value::int(f.u32(off), Base::Hex));
    if full {
        s.field(
            "lo_encrypt_type",
            fmt::xval_v(c.abi, T::LoopCryptTypeOptions, crypt, Radix::Hex),
        )
        .dec("lo_encrypt_key_size", f.u32(off + 8));
    }
    s.field(
        "lo_flags",
        fmt::xflags_v(c.abi, &[T::LoopFlagsOptions], f.u32(off + 12), true, false),
    )
    .field("lo_name", cstring_v(&b[name..name + NAME]));
    if full {
        s.field("lo_encrypt_key", key(c, &b, name + NAME, f.u32(off + 8)));
    }
    if !c.opts.verbose {
        return s.abbreviated();
    }
    s.field("lo_init", hex_array(&f, init, 2, w))
        .field("reserved", hex_array(&f, init + 2 * w, 4, 1))
        .done()
}

/// Size of `struct loop_info64` (the same in both ABIs).
const INFO64: usize = 232;

/// `struct loop_info64` in `b`.
fn info64_fields(c: &Call<'_, '_>, b: &[u8]) -> Value {
    let f = Fields::new(b, 8);
    let crypt = f.u32(44);
    let mut s = StructBuilder::new();
    if c.opts.verbose {
        s.field("lo_device", dev(f.u64(0)))
            .dec("lo_inode", f.u64(8))
            .field("lo_rdevice", dev(f.u64(16)))
            .field("lo_offset", Value::int(f.u64(24), Base::Hex))
            .dec("lo_sizelimit", f.u64(32))
            .dec("lo_number", f.u32(40));
    } else {
        s.field("lo_offset", Value::int(f.u64(24), Base::Hex))
            .dec("lo_number", f.u32(40));
    }
    let full = c.opts.verbose || crypt != 0;
    if full {
        s.field(
            "lo_encrypt_type",
            fmt::xval_v(c.abi, T::LoopCryptTypeOptions, crypt, Radix::Hex),
        )
        .dec("lo_encrypt_key_size", f.u32(48));
    }
    s.field(
        "lo_flags",
        fmt::xflags_v(c.abi, &[T::LoopFlagsOptions], f.u32(52), true, false),
    )
    .field("lo_file_name", cstring_v(&b[56..56 + NAME]));
    if full {
        s.field("lo_crypt_name", cstring_v(&b[120..120 + NAME]))
            .field("lo_encrypt_key", key(c, b, 184, f.u32(48)));
    }
    if !c.opts.verbose {
        return s.abbreviated();
    }
    s.field("lo_init", hex_array(&f, 216, 2, 8)).done()
}

/// `struct loop_info64`.
fn loop_info64(c: &mut Call<'_, '_>, v: u64) -> Value {
    match c.fetch_v(v, INFO64) {
        Ok(b) => info64_fields(c, &b),
        Err(e) => e,
    }
}

/// `struct loop_config`: a descriptor, a block size, a `loop_info64`,
/// and the reserved words when any is set.
fn loop_config(c: &mut Call<'_, '_>, v: u64) -> Value {
    let b = match c.fetch_v(v, 8 + INFO64 + 64) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    s.field("fd", fd(f.u32(0)))
        .dec("block_size", f.u32(4))
        .field("info", info64_fields(c, &b[8..8 + INFO64]));
    let reserved = 8 + INFO64;
    if b[reserved..].iter().any(|&x| x != 0) {
        s.field("__reserved", hex_array(&f, reserved, 8, 8));
    }
    s.done()
}

/// The argument as a signed `int`.
fn dec32(v: u64) -> Value {
    Value::dec(v as u32 as i32)
}

/// The argument as an unsigned `long`.
fn udec(v: u64) -> Value {
    Value::dec(v)
}

#[cfg(test)]
mod tests {
    use vstrace_core::testmem::SparseVirt;

    use super::super::ioctl::tests::{line, EBADF};

    #[test]
    fn loop_status_and_values() {
        let mut m = SparseVirt::new();
        let mut info = vec![0u8; 232];
        info[24] = 0x10; // lo_offset
        info[40] = 7; // lo_number
        info[52] = 1; // LO_FLAGS_READ_ONLY
        info[56..59].copy_from_slice(b"img");
        m.map(0x1000, &info);
        // LOOP_SET_STATUS64.
        assert_eq!(
            line(0x4c04, 0x1000, EBADF, &mut m),
            "ioctl(-1, LOOP_SET_STATUS64, {lo_offset=0x10, lo_number=7, \
             lo_flags=LO_FLAGS_READ_ONLY, lo_file_name=\"img\", ...}) \
             = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(0x4c05, 0x1000, EBADF, &mut m),
            "ioctl(-1, LOOP_GET_STATUS64, 0x1000) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(line(0x4c00, 3, 0, &mut m), "ioctl(-1, LOOP_SET_FD, 3) = 0");
        assert_eq!(line(0x4c01, 3, 0, &mut m), "ioctl(-1, LOOP_CLR_FD) = 0");
        assert_eq!(
            line(0x4c80, 0xffffffff, 0, &mut m),
            "ioctl(-1, LOOP_CTL_ADD, -1) = 0"
        );
        assert_eq!(
            line(0x4cfe, 0x10, 0, &mut m),
            "ioctl(-1, _IOC(_IOC_NONE, 0x4c, 0xfe, 0), 0x10) = 0"
        );
        assert_eq!(
            line(0xab0a, 1, 0, &mut m),
            "ioctl(-1, NBD_SET_FLAGS, NBD_FLAG_HAS_FLAGS) = 0"
        );
    }
}
