//! bpf(2)'s `union bpf_attr` by command, as strace prints it: the fields
//! of the command's member that fit in the size the caller passed (older
//! callers pass a shorter member: strace stops at the first field past
//! it), then the caller's bytes beyond the member when any is not zero
//! (`, ...` abbreviated, `extra_data="\x.." /* bytes N..M */` with `-v`).
//! The attribute is read at the entry, whatever the call returns.
//! Commands without a decoder here show the address.

use super::fd;
use super::ioctl_v4l2::kernel_version;
use vstrace_core::value::{Base, Const, Name};
use vstrace_core::{read, StructBuilder, Value};

use super::{Call, Fields};
use crate::fmt;
use crate::xlat::{Radix, Table};

/// strace reads an attribute of up to a page.
const PAGE: u64 = 4096;
/// `BPF_PROG_LOAD`.
const BPF_PROG_LOAD: u64 = 5;
/// `sizeof` the `BPF_PROG_LOAD` member (up to `fd_array`).
const PROG_LOAD_SIZE: usize = 128;
/// `BPF_OBJ_NAME_LEN`.
const OBJ_NAME_LEN: usize = 16;

/// bpf's attribute `v` of `size` bytes for command `cmd`.
pub(super) fn attr(c: &mut Call<'_, '_>, v: u64, cmd: u64, size: u64) -> Value {
    let size = size & 0xffff_ffff;
    let member = match cmd & 0xffff_ffff {
        BPF_PROG_LOAD => PROG_LOAD_SIZE,
        _ => return Value::ptr(v),
    };
    if size == 0 || size > PAGE {
        return Value::ptr(v);
    }
    let mut b = match c.fetch_v(v, size as usize) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let extra = b.split_off((size as usize).min(member));
    let len = b.len();
    b.resize(member, 0);
    let mut s = prog_load(c, &b, len);
    if extra_data(c, &mut s, &extra, member) {
        s.abbreviated()
    } else {
        s.done()
    }
}

/// strace's `decode_attr_extra_data`: the bytes past the member, when
/// one is not zero; true when they are abbreviated to `...`.
fn extra_data(c: &Call<'_, '_>, s: &mut StructBuilder, extra: &[u8], member: usize) -> bool {
    if extra.iter().all(|&x| x == 0) {
        return false;
    }
    if !c.opts.verbose {
        return true;
    }
    s.field(
        "extra_data",
        Value::Commented {
            value: Box::new(fmt::hex_bytes_v(extra.to_vec(), false)),
            comment: format!("bytes {}..{}", member, member + extra.len() - 1),
        },
    );
    false
}

/// A NUL-terminated string the attribute points to (strace's
/// `printstr`): at most `-s` bytes, the address when unreadable.
fn string(c: &mut Call<'_, '_>, va: u64) -> Value {
    if va == 0 {
        return Value::Null;
    }
    match read::read_cstring(c.mem, va, c.opts.strsize) {
        Ok(s) if s.fault.is_none() => Value::str(s.bytes, s.truncated, c.opts.strings_in_hex),
        _ => Value::ptr(va),
    }
}

/// A buffer of `size` bytes holding a NUL-terminated string (strace's
/// `printstr_ex(..., QUOTE_0_TERMINATED)`).
fn bounded_string(c: &mut Call<'_, '_>, va: u64, size: u64) -> Value {
    if va == 0 {
        return Value::Null;
    }
    let max = size.min(c.opts.strsize as u64) as usize;
    match c.fetch_v(va, max) {
        Ok(b) => match b.iter().position(|&x| x == 0) {
            Some(end) => Value::str(b[..end].to_vec(), false, c.opts.strings_in_hex),
            // No NUL in the buffer: the string is not terminated.
            None => Value::str(b, true, c.opts.strings_in_hex),
        },
        Err(e) => e,
    }
}

/// An interface index (strace's `PRINT_FIELD_IFINDEX`): the loopback,
/// index 1 in every network namespace, by name.
fn ifindex(i: u64) -> Value {
    if i != 1 {
        return Value::dec(i);
    }
    Value::Const(Const {
        raw: 1,
        base: Base::Dec,
        name: Some(Name::Borrowed("if_nametoindex(\"lo\")")),
        comment: None,
    })
}

/// `BPF_PROG_LOAD`'s member, `len` bytes of it given (`b` zero-filled
/// to the member's size). The instructions show as their address.
fn prog_load(c: &mut Call<'_, '_>, b: &[u8], len: usize) -> StructBuilder {
    let f = Fields::new(b, 8);
    let abi = c.abi;
    let mut s = StructBuilder::new();
    s.field(
        "prog_type",
        fmt::xval_v(abi, Table::BpfProgTypes, f.u32(0), Radix::Hex),
    )
    .dec("insn_cnt", f.u32(4))
    .field("insns", Value::ptr(f.u64(8)));
    let license = string(c, f.u64(16));
    s.field("license", license);
    // Each group of fields came with a kernel version: strace shows the
    // ones the caller's size reaches.
    if len <= 24 {
        return s;
    }
    let log_buf = bounded_string(c, f.u64(32), f.u32(28));
    s.dec("log_level", f.u32(24))
        .dec("log_size", f.u32(28))
        .field("log_buf", log_buf);
    if len <= 40 {
        return s;
    }
    s.field("kern_version", kernel_version(f.u32(40)));
    if len <= 44 {
        return s;
    }
    s.field(
        "prog_flags",
        fmt::xflags_v(abi, &[Table::BpfProgFlags], f.u32(44), true, false),
    );
    if len <= 48 {
        return s;
    }
    let name_len = OBJ_NAME_LEN.min(len - 48);
    // strace's PRINT_FIELD_CSTRING_SZ: up to the NUL, else `...`.
    s.field("prog_name", super::ioctl::cstring_v(&b[48..48 + name_len]));
    if len <= 64 {
        return s;
    }
    s.field("prog_ifindex", ifindex(f.u32(64)));
    if len <= 68 {
        return s;
    }
    s.field(
        "expected_attach_type",
        fmt::xval_v(abi, Table::BpfAttachType, f.u32(68), Radix::Hex),
    );
    if len <= 72 {
        return s;
    }
    s.field("prog_btf_fd", fd(f.u32(72)))
        .dec("func_info_rec_size", f.u32(76))
        .field("func_info", Value::ptr(f.u64(80)))
        .dec("func_info_cnt", f.u32(88))
        .dec("line_info_rec_size", f.u32(92))
        .field("line_info", Value::ptr(f.u64(96)))
        .dec("line_info_cnt", f.u32(104));
    if len <= 108 {
        return s;
    }
    s.dec("attach_btf_id", f.u32(108));
    if len <= 112 {
        return s;
    }
    s.field("attach_prog_fd", fd(f.u32(112)));
    if len <= 120 {
        return s;
    }
    s.field("fd_array", Value::ptr(f.u64(120)));
    s
}
