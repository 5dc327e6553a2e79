//! bpf(2)'s `union bpf_attr` by command, as strace prints it: the fields
//! of the command's member that fit in the size the caller passed (older
//! callers pass a shorter member: strace stops at the first field past
//! it), then the caller's bytes beyond the member when any is not zero
//! (`, ...` abbreviated, `extra_data="\x.." /* bytes N..M */` with `-v`).
//! Most commands are read at the entry, whatever the call returns; the
//! ones the kernel answers in the attribute (`BPF_*_GET_NEXT_ID`,
//! `BPF_OBJ_GET_INFO_BY_FD`, `BPF_PROG_QUERY`, `BPF_TASK_FD_QUERY`, the
//! batch operations) are finished at the exit ([`bpf_query`]).
//! The member layouts use `__aligned_u64` throughout, so they are the
//! same for i386 and x86-64 callers; only the addresses a 32-bit kernel
//! follows differ (their low half, strace's `print_big_u64_addr`).
//! Commands without a decoder show the address.

use super::bpf_query;
use super::fd;
use super::ioctl_v4l2::kernel_version;
use vstrace_core::value::{Base, Const, Flag, Name};
use vstrace_core::{read, StructBuilder, Value};

use super::{Call, Fields};
use crate::fmt;
use crate::xlat::{self, Radix, Table};

/// strace reads an attribute of up to a page.
const PAGE: u64 = 4096;
/// `BPF_OBJ_NAME_LEN`.
const OBJ_NAME_LEN: usize = 16;
/// strace's `PATH_MAX` for a path it prints.
const PATH_MAX: usize = 4096;

/// The commands (`enum bpf_cmd`).
pub(super) mod cmd {
    pub const MAP_CREATE: u64 = 0;
    pub const MAP_LOOKUP_ELEM: u64 = 1;
    pub const MAP_UPDATE_ELEM: u64 = 2;
    pub const MAP_DELETE_ELEM: u64 = 3;
    pub const MAP_GET_NEXT_KEY: u64 = 4;
    pub const PROG_LOAD: u64 = 5;
    pub const OBJ_PIN: u64 = 6;
    pub const OBJ_GET: u64 = 7;
    pub const PROG_ATTACH: u64 = 8;
    pub const PROG_DETACH: u64 = 9;
    pub const PROG_TEST_RUN: u64 = 10;
    pub const PROG_GET_NEXT_ID: u64 = 11;
    pub const MAP_GET_NEXT_ID: u64 = 12;
    pub const PROG_GET_FD_BY_ID: u64 = 13;
    pub const MAP_GET_FD_BY_ID: u64 = 14;
    pub const OBJ_GET_INFO_BY_FD: u64 = 15;
    pub const PROG_QUERY: u64 = 16;
    pub const RAW_TRACEPOINT_OPEN: u64 = 17;
    pub const BTF_LOAD: u64 = 18;
    pub const BTF_GET_FD_BY_ID: u64 = 19;
    pub const TASK_FD_QUERY: u64 = 20;
    pub const MAP_LOOKUP_AND_DELETE_ELEM: u64 = 21;
    pub const MAP_FREEZE: u64 = 22;
    pub const BTF_GET_NEXT_ID: u64 = 23;
    pub const MAP_LOOKUP_BATCH: u64 = 24;
    pub const MAP_LOOKUP_AND_DELETE_BATCH: u64 = 25;
    pub const MAP_UPDATE_BATCH: u64 = 26;
    pub const MAP_DELETE_BATCH: u64 = 27;
    pub const LINK_CREATE: u64 = 28;
    pub const LINK_UPDATE: u64 = 29;
    pub const LINK_GET_FD_BY_ID: u64 = 30;
    pub const LINK_GET_NEXT_ID: u64 = 31;
}

/// One command's member: its size (strace's, which for a few commands
/// ends at the last field it knows rather than at the padding) and the
/// printer of its fields (`len` bytes given, the rest zero).
struct Member {
    size: usize,
    print: Printer,
}

/// Prints a member's fields (`len` bytes of it given) into the
/// structure; returns where extra data starts when not at the member's
/// end.
type Printer = fn(&mut Call<'_, '_>, &Fields<'_>, usize, &mut StructBuilder) -> Option<usize>;

/// The member of the commands read at the entry only.
fn member(command: u64) -> Option<Member> {
    use super::bpf_cmds as m;
    let (size, print): (usize, Printer) = match command {
        cmd::MAP_CREATE => (72, m::map_create),
        cmd::MAP_LOOKUP_ELEM | cmd::MAP_LOOKUP_AND_DELETE_ELEM => (32, m::map_lookup_elem),
        cmd::MAP_UPDATE_ELEM => (32, m::map_update_elem),
        cmd::MAP_DELETE_ELEM => (16, m::map_delete_elem),
        cmd::MAP_GET_NEXT_KEY => (24, m::map_get_next_key),
        cmd::MAP_FREEZE => (4, m::map_freeze),
        cmd::PROG_LOAD => (128, prog_load),
        cmd::OBJ_PIN | cmd::OBJ_GET => (16, m::obj_pin),
        cmd::PROG_ATTACH => (20, m::prog_attach),
        cmd::PROG_DETACH => (12, m::prog_detach),
        cmd::PROG_TEST_RUN => (76, m::prog_test_run),
        cmd::PROG_GET_FD_BY_ID => (12, m::prog_get_fd_by_id),
        cmd::MAP_GET_FD_BY_ID => (12, m::map_get_fd_by_id),
        cmd::RAW_TRACEPOINT_OPEN => (12, m::raw_tracepoint_open),
        cmd::BTF_LOAD => (28, m::btf_load),
        cmd::BTF_GET_FD_BY_ID => (4, m::btf_get_fd_by_id),
        cmd::LINK_CREATE => (48, m::link_create),
        cmd::LINK_UPDATE => (16, m::link_update),
        cmd::LINK_GET_FD_BY_ID => (4, m::link_get_fd_by_id),
        _ => return None,
    };
    Some(Member { size, print })
}

/// Whether the attribute of command `command` is (also) printed at the
/// exit: the kernel answers in it.
pub(super) fn decoded_at_exit(command: u64) -> bool {
    bpf_query::member_size(command & 0xffff_ffff).is_some()
}

/// bpf's attribute `v` of `size` bytes for command `command`.
pub(super) fn attr(c: &mut Call<'_, '_>, v: u64, command: u64, size: u64) -> Value {
    let size = size & 0xffff_ffff;
    let command = command & 0xffff_ffff;
    if size == 0 || size > PAGE {
        return Value::ptr(v);
    }
    if let Some(member) = bpf_query::member_size(command) {
        return bpf_query::attr(c, v, command, size as usize, member);
    }
    let Some(m) = member(command) else {
        return Value::ptr(v);
    };
    let b = match c.fetch_v(v, size as usize) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let (mut s, attr_size) = fields(c, &b, m.size, m.print);
    finish(c, &mut s, &b, attr_size)
}

/// The member's fields from the caller's bytes `b` (strace copies at
/// most the member, zero-filling a shorter one); the size past which
/// bytes are extra data.
fn fields(c: &mut Call<'_, '_>, b: &[u8], size: usize, print: Printer) -> (StructBuilder, usize) {
    let len = b.len().min(size);
    let mut m = b[..len].to_vec();
    m.resize(size, 0);
    let f = Fields::new(&m, 8);
    let mut s = StructBuilder::new();
    let attr_size = print(c, &f, len, &mut s).unwrap_or(size);
    (s, attr_size)
}

/// The structure with the caller's bytes past `attr_size` when one is
/// not zero.
pub(super) fn finish(c: &Call<'_, '_>, s: &mut StructBuilder, b: &[u8], attr_size: usize) -> Value {
    let extra = b.get(attr_size..).unwrap_or_default();
    if extra_data(c, s, extra, attr_size) {
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

/// strace's `print_big_u64_addr` before what `f` prints of address `a`:
/// a 32-bit caller's kernel follows the low half of a wider address,
/// shown after the whole one (`0x... or `).
pub(super) fn big(
    c: &mut Call<'_, '_>,
    a: u64,
    f: impl FnOnce(&mut Call<'_, '_>, u64) -> Value,
) -> Value {
    if c.long_size() == 4 && a > u64::from(u32::MAX) {
        let value = f(c, a & 0xffff_ffff);
        Value::WideAddr {
            addr: a,
            value: Box::new(value),
        }
    } else {
        f(c, a)
    }
}

/// A NUL-terminated string the attribute points to (strace's
/// `printstr`): at most `-s` bytes, the address when unreadable.
pub(super) fn string(c: &mut Call<'_, '_>, va: u64) -> Value {
    if va == 0 {
        return Value::Null;
    }
    match read::read_cstring(c.mem, va, c.opts.strsize) {
        Ok(s) if s.fault.is_none() => Value::str(s.bytes, s.truncated, c.opts.strings_in_hex),
        _ => Value::ptr(va),
    }
}

/// A path the kernel reads (strace's `printpath`): up to `PATH_MAX`
/// bytes whatever `-s` says.
pub(super) fn path(c: &mut Call<'_, '_>, va: u64) -> Value {
    if va == 0 {
        return Value::Null;
    }
    match read::read_cstring(c.mem, va, PATH_MAX) {
        Ok(s) if s.fault.is_none() => Value::str(s.bytes, s.truncated, c.opts.strings_in_hex),
        _ => Value::ptr(va),
    }
}

/// A buffer of `size` bytes holding a NUL-terminated string (strace's
/// `printstr_ex(..., QUOTE_0_TERMINATED)`).
pub(super) fn bounded_string(c: &mut Call<'_, '_>, va: u64, size: u64) -> Value {
    c.str0_v(va, size)
}

/// `size` bytes at `va` (strace's `printstrn`): at most `-s` of them.
pub(super) fn bytes(c: &mut Call<'_, '_>, va: u64, size: u64) -> Value {
    if va == 0 {
        return Value::Null;
    }
    let max = size.min(c.opts.strsize as u64) as usize;
    match c.fetch_v(va, max) {
        Ok(b) => Value::str(b, size > max as u64, c.opts.strings_in_hex),
        Err(e) => e,
    }
}

/// An interface index (strace's `PRINT_FIELD_IFINDEX`): the loopback,
/// index 1 in every network namespace, by name.
pub(super) fn ifindex(i: u64) -> Value {
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

/// A flag field from `table` (strace's `printflags`: a zero by the
/// table's name for it, when it has one).
pub(super) fn flags(c: &Call<'_, '_>, table: Table, v: u64) -> Value {
    fmt::xflags_v(c.abi, &[table], v, true, true)
}

/// A value field from `table`, hex when unknown.
pub(super) fn xval(c: &Call<'_, '_>, table: Table, v: u64) -> Value {
    fmt::xval_v(c.abi, table, v, Radix::Hex)
}

/// A hex field (strace's `PRINT_FIELD_X`): `0` unadorned.
pub(super) fn hex(v: u64) -> Value {
    Value::int(v, Base::Hex)
}

/// A value from the first of `tables` that names it (strace's
/// `printxvals`), as text.
fn xvals(c: &Call<'_, '_>, tables: &[Table], v: u64) -> String {
    for &t in tables {
        if t.xlat().lookup(c.abi, v).is_some() {
            return xlat::xval(c.abi, t, v, Radix::Hex);
        }
    }
    xlat::xval(c.abi, tables[0], v, Radix::Hex)
}

/// An eBPF opcode (strace's `print_bpf_filter_code` in its extended
/// form): the class, then the size and mode of a load or store, the
/// source and operation of an arithmetic or jump, leftover bits of the
/// rest.
fn ebpf_code(c: &Call<'_, '_>, code: u64) -> Value {
    let class = code & 0x07;
    let mut parts = vec![xlat::xval(c.abi, Table::EbpfClass, class, Radix::Hex)];
    match class {
        // BPF_LD, BPF_LDX, BPF_ST, BPF_STX.
        0..=3 => {
            parts.push(xvals(c, &[Table::BpfSize, Table::EbpfSize], code & 0x18));
            parts.push(xlat::xval(c.abi, Table::EbpfMode, code & 0xe0, Radix::Hex));
        }
        // BPF_ALU, BPF_ALU64.
        4 | 7 => {
            parts.push(xlat::xval(c.abi, Table::BpfSrc, code & 0x08, Radix::Hex));
            parts.push(xvals(c, &[Table::BpfOpAlu, Table::EbpfOpAlu], code & 0xf0));
        }
        // BPF_JMP.
        5 => {
            parts.push(xlat::xval(c.abi, Table::BpfSrc, code & 0x08, Radix::Hex));
            parts.push(xvals(c, &[Table::BpfOpJmp, Table::EbpfOpJmp], code & 0xf0));
        }
        // BPF_JMP32, reserved in strace's decoding: the bits as they are.
        _ => {
            let rest = code & !class;
            if rest != 0 {
                parts.push(format!("{rest:#x} /* BPF_??? */"));
            }
        }
    }
    Value::Flags(parts.into_iter().map(Flag::Text).collect())
}

/// One `struct bpf_insn` (8 bytes): opcode, registers, offset, immediate.
fn ebpf_insn(c: &Call<'_, '_>, b: &[u8]) -> Value {
    let f = Fields::new(b, 8);
    let regs = f.bytes(1, 1);
    let mut s = StructBuilder::new();
    s.field("code", ebpf_code(c, f.bytes(0, 1)))
        .field("dst_reg", xval(c, Table::EbpfRegs, regs & 0xf))
        .field("src_reg", xval(c, Table::EbpfRegs, regs >> 4))
        .dec("off", f.u16(2) as u16 as i16)
        .field("imm", hex(f.u32(4)));
    s.done()
}

/// An eBPF program of `count` instructions at `va` (strace's
/// `print_ebpf_prog`): the address without `-v`.
pub(super) fn ebpf_prog(c: &mut Call<'_, '_>, va: u64, count: u64) -> Value {
    big(c, va, |c, va| {
        if !c.opts.verbose {
            return Value::ptr(va);
        }
        // The verbose array limit is BPF_MAXINSNS, where strace stops.
        c.array_v(va, count, 8, |c, b| ebpf_insn(c, b))
    })
}

/// `BPF_PROG_LOAD`'s member, `len` bytes of it given (`f` zero-filled
/// to the member's size).
fn prog_load(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    len: usize,
    s: &mut StructBuilder,
) -> Option<usize> {
    let insns = ebpf_prog(c, f.u64(8), f.u32(4));
    s.field("prog_type", xval(c, Table::BpfProgTypes, f.u32(0)))
        .dec("insn_cnt", f.u32(4))
        .field("insns", insns);
    let license = big(c, f.u64(16), string);
    s.field("license", license);
    // Each group of fields came with a kernel version: strace shows the
    // ones the caller's size reaches.
    if len <= 24 {
        return None;
    }
    let log_size = f.u32(28);
    let log_buf = big(c, f.u64(32), |c, a| bounded_string(c, a, log_size));
    s.dec("log_level", f.u32(24))
        .dec("log_size", log_size)
        .field("log_buf", log_buf);
    if len <= 40 {
        return None;
    }
    s.field("kern_version", kernel_version(f.u32(40)));
    if len <= 44 {
        return None;
    }
    s.field("prog_flags", flags(c, Table::BpfProgFlags, f.u32(44)));
    if len <= 48 {
        return None;
    }
    let name_len = OBJ_NAME_LEN.min(len - 48);
    // strace's PRINT_FIELD_CSTRING_SZ: up to the NUL, else `...`.
    s.field(
        "prog_name",
        super::ioctl::cstring_v(&f.b[48..48 + name_len]),
    );
    if len <= 64 {
        return None;
    }
    s.field("prog_ifindex", ifindex(f.u32(64)));
    if len <= 68 {
        return None;
    }
    s.field(
        "expected_attach_type",
        xval(c, Table::BpfAttachType, f.u32(68)),
    );
    if len <= 72 {
        return None;
    }
    s.field("prog_btf_fd", fd(f.u32(72)))
        .dec("func_info_rec_size", f.u32(76))
        .field("func_info", Value::ptr(f.u64(80)))
        .dec("func_info_cnt", f.u32(88))
        .dec("line_info_rec_size", f.u32(92))
        .field("line_info", Value::ptr(f.u64(96)))
        .dec("line_info_cnt", f.u32(104));
    if len <= 108 {
        return None;
    }
    s.dec("attach_btf_id", f.u32(108));
    if len <= 112 {
        return None;
    }
    s.field("attach_prog_fd", fd(f.u32(112)));
    if len <= 120 {
        return None;
    }
    s.field("fd_array", Value::ptr(f.u64(120)));
    None
}

/// The whole bpf(2) line a caller of `abi` gets for `raw` returning
/// `ret` (`-v` when `verbose`), for the tests of the bpf modules.
#[cfg(test)]
pub(super) fn line(
    abi: crate::proto::LinuxAbi,
    raw: &[u64],
    ret: i64,
    mem: &mut vstrace_core::testmem::SparseVirt,
    verbose: bool,
) -> String {
    use crate::decode::{decode_enter, decode_exit, format_call, format_return};
    let o = vstrace_core::DecodeOptions {
        verbose,
        ..Default::default()
    };
    let d = crate::proto::by_name(abi, "bpf").unwrap();
    let mut a = decode_enter(d, abi, raw, mem, &o);
    decode_exit(d, abi, raw, ret, mem, &o, &mut a);
    format_call(d, &a, Some(&format_return(d, abi, ret)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::LinuxAbi::{I386, X86_64};
    use vstrace_core::testmem::SparseVirt;

    const EINVAL: i64 = -22;

    fn prog_load(insns: u64, license: u64) -> Vec<u8> {
        let mut b = vec![0u8; 48];
        b[4..8].copy_from_slice(&1u32.to_le_bytes());
        b[8..16].copy_from_slice(&insns.to_le_bytes());
        b[16..24].copy_from_slice(&license.to_le_bytes());
        b
    }

    #[test]
    fn prog_load_prints_instructions_with_v_only() {
        let mut m = SparseVirt::new();
        // BPF_JMP|BPF_K|BPF_EXIT, dst 10, src 11, off -8531, imm.
        m.map(0x2000, &[0x95, 0xba, 0xad, 0xde, 0xed, 0x0d, 0xdc, 0xba]);
        m.map(0x3000, b"GPL\0");
        m.map(0x1000, &prog_load(0x2000, 0x3000));
        let raw = [5, 0x1000, 48, 0, 0, 0];
        let v = line(X86_64, &raw, EINVAL, &mut m, true);
        assert!(
            v.contains(
                "insns=[{code=BPF_JMP|BPF_K|BPF_EXIT, dst_reg=BPF_REG_10, \
                 src_reg=0xb /* BPF_REG_??? */, off=-8531, imm=0xbadc0ded}], license=\"GPL\""
            ),
            "{v}"
        );
        let a = line(X86_64, &raw, EINVAL, &mut m, false);
        assert!(a.contains("insns=0x2000, license=\"GPL\""), "{a}");
    }

    #[test]
    fn wide_address_of_a_32_bit_caller_shows_both() {
        let mut m = SparseVirt::new();
        m.map(0x3000, b"GPL\0");
        m.map(0x1000, &prog_load(0, 0x1_0000_3000));
        let l = line(I386, &[5, 0x1000, 24, 0, 0, 0], EINVAL, &mut m, false);
        assert!(l.contains("license=0x100003000 or \"GPL\"}"), "{l}");
    }

    #[test]
    fn unreadable_or_unknown_attributes_show_the_address() {
        let mut m = SparseVirt::new();
        let l = line(X86_64, &[0, 0x1000, 4, 0, 0, 0], EINVAL, &mut m, false);
        assert_eq!(
            l,
            "bpf(BPF_MAP_CREATE, 0x1000, 4) = -1 EINVAL (Invalid argument)"
        );
        m.map_zeroed(0x1000, 64);
        let l = line(X86_64, &[0x99, 0x1000, 4, 0, 0, 0], EINVAL, &mut m, false);
        assert_eq!(
            l,
            "bpf(0x99 /* BPF_??? */, 0x1000, 4) = -1 EINVAL (Invalid argument)"
        );
        let l = line(X86_64, &[0, 0x1000, 4097, 0, 0, 0], EINVAL, &mut m, false);
        assert!(l.contains("0x1000, 4097)"), "{l}");
    }

    #[test]
    fn extra_data_abbreviated_or_in_hex() {
        let mut m = SparseVirt::new();
        let mut b = vec![0u8; 8];
        b[0] = 1;
        b[6] = 0x30;
        m.map(0x1000, &b);
        // BPF_MAP_FREEZE's member is 4 bytes.
        let raw = [22, 0x1000, 8, 0, 0, 0];
        let a = line(X86_64, &raw, EINVAL, &mut m, false);
        assert!(a.contains("{map_fd=1, ...}"), "{a}");
        let v = line(X86_64, &raw, EINVAL, &mut m, true);
        assert!(
            v.contains("{map_fd=1, extra_data=\"\\x00\\x00\\x30\\x00\" /* bytes 4..7 */}"),
            "{v}"
        );
    }
}
