//! io_uring_register(2)'s third argument, by opcode, as strace prints
//! it: the buffers' iovecs, descriptor arrays, `struct
//! io_uring_files_update`, the probe (the kernel fills it: `{...} =>
//! {...}`), restrictions, the resource register and update structures
//! (`io_uring_rsrc_register`, `io_uring_rsrc_update2`) with their data
//! and tags arrays, the io-wq cpu affinity and worker limits (written
//! back: `[...] => [...]`), the registered ring descriptors and the
//! provided-buffer ring. Opcodes without an argument show the address.
//!
//! Every structure here has a fixed layout (u64 addresses) except the
//! iovecs and the cpu mask, whose words are the caller's `long`. A 64-bit
//! address a 32-bit caller cannot use is shown as strace does: `0x... or
//! ` before what the truncated address holds.

use vstrace_core::value::Base;
use vstrace_core::{StructBuilder, Value};

use super::{reserved, Call, Fields};
use crate::fmt;
use crate::xlat::{Radix, Table as T};

const REGISTER_BUFFERS: u64 = 0;
const REGISTER_FILES: u64 = 2;
const REGISTER_EVENTFD: u64 = 4;
const REGISTER_FILES_UPDATE: u64 = 6;
const REGISTER_EVENTFD_ASYNC: u64 = 7;
const REGISTER_PROBE: u64 = 8;
const REGISTER_RESTRICTIONS: u64 = 11;
const REGISTER_FILES2: u64 = 13;
const REGISTER_FILES_UPDATE2: u64 = 14;
const REGISTER_BUFFERS2: u64 = 15;
const REGISTER_BUFFERS_UPDATE: u64 = 16;
const REGISTER_IOWQ_AFF: u64 = 17;
const REGISTER_IOWQ_MAX_WORKERS: u64 = 19;
const REGISTER_RING_FDS: u64 = 20;
const UNREGISTER_RING_FDS: u64 = 21;
const REGISTER_PBUF_RING: u64 = 22;
const UNREGISTER_PBUF_RING: u64 = 23;

/// `IORING_RESTRICTION_*` opcodes and what their byte holds.
const RESTRICTION_REGISTER_OP: u64 = 0;
const RESTRICTION_SQE_OP: u64 = 1;
const RESTRICTION_SQE_FLAGS_ALLOWED: u64 = 2;
const RESTRICTION_SQE_FLAGS_REQUIRED: u64 = 3;

/// `sizeof(struct io_uring_probe)` (without its ops).
const PROBE_SIZE: usize = 16;
/// `sizeof(struct io_uring_probe_op)`.
const PROBE_OP_SIZE: usize = 8;
/// strace shows the address of a probe of more ops than the kernel's
/// 256.
const PROBE_MAX_OPS: u64 = 256;
/// `sizeof` of `io_uring_rsrc_register` and `io_uring_rsrc_update2`.
const RSRC_SIZE: u64 = 32;
/// strace reads a larger caller's tail up to a page.
const PAGE: u64 = 4096;

/// Whether the kernel writes the argument of `opcode` back (the probe,
/// the worker limits): the exit shows it again, after the entry's.
pub(crate) fn written_back(opcode: u64) -> bool {
    matches!(
        opcode & 0xffff_ffff,
        REGISTER_PROBE | REGISTER_IOWQ_MAX_WORKERS
    )
}

/// The argument at `v` of `opcode`, `nr` its `nr_args`.
pub(super) fn arg(c: &mut Call<'_, '_>, v: u64, opcode: u64, nr: u64) -> Value {
    let (opcode, nr) = (opcode & 0xffff_ffff, nr & 0xffff_ffff);
    match opcode {
        REGISTER_BUFFERS => iovecs(c, v, nr),
        REGISTER_FILES | REGISTER_EVENTFD | REGISTER_EVENTFD_ASYNC => fds(c, v, nr, false),
        REGISTER_FILES_UPDATE => files_update(c, v, nr),
        REGISTER_PROBE => probe(c, v, nr),
        REGISTER_RESTRICTIONS => c.array_v(v, nr, 16, restriction),
        REGISTER_FILES2 | REGISTER_BUFFERS2 => rsrc(c, v, nr, opcode, false),
        REGISTER_FILES_UPDATE2 | REGISTER_BUFFERS_UPDATE => rsrc(c, v, nr, opcode, true),
        REGISTER_IOWQ_AFF => {
            if c.failed() || v == 0 {
                Value::ptr(v)
            } else {
                Value::Opaque(super::resource::cpu_set(c, v, nr))
            }
        }
        REGISTER_IOWQ_MAX_WORKERS => max_workers(c, v, nr),
        REGISTER_RING_FDS => c.array_v(v, nr, 16, |c, b| ring_fd(c, b, true)),
        UNREGISTER_RING_FDS => c.array_v(v, nr, 16, |c, b| ring_fd(c, b, false)),
        REGISTER_PBUF_RING | UNREGISTER_PBUF_RING => buf_reg(c, v),
        _ => Value::ptr(v),
    }
}

/// strace's `print_big_u64_addr`: a 64-bit address field, and the
/// address a 32-bit caller's kernel uses (its low half).
fn big_addr(c: &Call<'_, '_>, a: u64) -> (Option<u64>, u64) {
    if c.long_size() == 4 && a > u64::from(u32::MAX) {
        (Some(a), a & 0xffff_ffff)
    } else {
        (None, a)
    }
}

/// `v` preceded by `0x... or ` when the address was truncated.
fn or_big(big: Option<u64>, v: Value) -> Value {
    match big {
        Some(addr) => Value::WideAddr {
            addr,
            value: Box::new(v),
        },
        None => v,
    }
}

/// An iovec array, the buffers' addresses only (strace's
/// `iov_decode_addr`).
fn iovecs(c: &mut Call<'_, '_>, v: u64, nr: u64) -> Value {
    let n = c.long_size();
    c.array_v(v, nr, 2 * n, |_, b| {
        let f = Fields::new(b, n);
        let mut s = StructBuilder::new();
        s.field("iov_base", Value::ptr(f.ulong(0)));
        s.dec("iov_len", f.ulong(n));
        s.done()
    })
}

/// An `int` array of descriptors; with `skip`, values under -1 by name
/// (`IORING_REGISTER_FILES_SKIP`).
fn fds(c: &mut Call<'_, '_>, v: u64, nr: u64, skip: bool) -> Value {
    c.array_v(v, nr, 4, |c, b| {
        let fd = Fields::new(b, 4).i32(0);
        if skip && fd < -1 {
            fmt::xval_v(c.abi, T::UringFilesUpdateFds, fd as u64, Radix::DecBare)
        } else {
            super::fd(fd as u64)
        }
    })
}

/// `struct io_uring_files_update`: `{offset, resv, fds}`.
fn files_update(c: &mut Call<'_, '_>, v: u64, nr: u64) -> Value {
    let b = match c.fetch_v(v, 16) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    s.dec("offset", f.u32(0));
    if f.u32(4) != 0 {
        s.field("resv", Value::int(f.u32(4), Base::Hex));
    }
    let (big, at) = big_addr(c, f.u64(8));
    let arr = fds(c, at, nr, true);
    s.field("fds", or_big(big, arr));
    s.done()
}

/// One `struct io_uring_probe_op`.
fn probe_op(c: &Call<'_, '_>, b: &[u8]) -> Value {
    let f = Fields::new(b, 8);
    let mut s = StructBuilder::new();
    s.field(
        "op",
        fmt::xval_v(c.abi, T::UringOps, f.bytes(0, 1), Radix::Udec),
    );
    if f.bytes(1, 1) != 0 {
        s.field("resv", Value::int(f.bytes(1, 1), Base::Hex));
    }
    s.field(
        "flags",
        fmt::xflags_v(c.abi, &[T::UringOpFlags], f.u16(2), true, false),
    );
    if f.u32(4) != 0 {
        s.field("resv2", Value::int(f.u32(4), Base::Hex));
    }
    s.done()
}

/// `struct io_uring_probe` with `nr` ops: at the entry (strace leaves an
/// all-zero one, the usual request, unprinted: the address here), and
/// at the exit what the kernel filled in after the entry's (`=>`).
fn probe(c: &mut Call<'_, '_>, v: u64, nr: u64) -> Value {
    let exiting = c.ret.is_some();
    let printed = exiting && c.entry().is_some_and(|e| e.starts_with('{'));
    let before = Value::Opaque(c.entry().unwrap_or_default().to_string());
    if exiting && c.failed() {
        return if printed { before } else { Value::ptr(v) };
    }
    if nr > PROBE_MAX_OPS {
        return Value::ptr(v);
    }
    let size = PROBE_SIZE + PROBE_OP_SIZE * nr as usize;
    let now = match c.fetch_v(v, size) {
        Ok(b) if !exiting && b.iter().all(|&x| x == 0) => Value::ptr(v),
        Ok(b) => probe_struct(c, &b, nr, exiting),
        Err(e) => e,
    };
    if printed {
        Value::Changed {
            before: Box::new(before),
            after: Box::new(now),
        }
    } else {
        now
    }
}

/// The probe's fields from its bytes `b` (`nr` ops requested; at the
/// exit, those of them the kernel filled, `...` when it has more).
fn probe_struct(c: &Call<'_, '_>, b: &[u8], nr: u64, exiting: bool) -> Value {
    let f = Fields::new(b, 8);
    let ops_len = f.bytes(1, 1);
    let mut s = StructBuilder::new();
    s.field(
        "last_op",
        fmt::xval_v(c.abi, T::UringOps, f.bytes(0, 1), Radix::Udec),
    );
    s.dec("ops_len", ops_len);
    if f.u16(2) != 0 {
        s.field("resv", Value::int(f.u16(2), Base::Hex));
    }
    reserved(&mut s, "resv2", (0..3).map(|i| f.u32(4 + 4 * i)));
    let count = if exiting { ops_len.min(nr) } else { nr };
    let limit = if c.opts.verbose {
        u64::MAX
    } else {
        c.opts.strsize as u64
    };
    let items = (0..count.min(limit))
        .map(|i| {
            let at = PROBE_SIZE + PROBE_OP_SIZE * i as usize;
            probe_op(c, b.get(at..at + PROBE_OP_SIZE).unwrap_or(&[]))
        })
        .collect();
    let more = count > limit || (exiting && nr < ops_len);
    s.field("ops", Value::Array { items, more });
    s.done()
}

/// One `struct io_uring_restriction`: its opcode, then the byte the
/// opcode gives a meaning to.
fn restriction(c: &mut Call<'_, '_>, b: &[u8]) -> Value {
    let f = Fields::new(b, 8);
    let (opcode, byte) = (f.u16(0), f.bytes(2, 1));
    let mut s = StructBuilder::new();
    let op = fmt::xval_v(c.abi, T::UringRestrictionOpcodes, opcode, Radix::Hex);
    match opcode {
        RESTRICTION_REGISTER_OP => {
            s.field("opcode", op);
            s.field(
                "register_op",
                fmt::xval_v(c.abi, T::UringRegisterOpcodes, byte, Radix::Hex),
            );
        }
        RESTRICTION_SQE_OP => {
            s.field("opcode", op);
            s.field("sqe_op", fmt::xval_v(c.abi, T::UringOps, byte, Radix::Hex));
        }
        RESTRICTION_SQE_FLAGS_ALLOWED | RESTRICTION_SQE_FLAGS_REQUIRED => {
            s.field("opcode", op);
            s.field(
                "sqe_flags",
                fmt::xflags_v(c.abi, &[T::UringSqeFlags], byte, true, false),
            );
        }
        _ => {
            let text = format!("{} /* op: {} */", op.render(), fmt::hex0(byte));
            s.field("opcode", Value::Opaque(text));
        }
    }
    if f.bytes(3, 1) != 0 {
        s.field("resv", Value::int(f.bytes(3, 1), Base::Hex));
    }
    reserved(&mut s, "resv2", (0..3).map(|i| f.u32(4 + 4 * i)));
    s.done()
}

/// `struct io_uring_rsrc_register` (`update`: `io_uring_rsrc_update2`)
/// of `size` bytes: the address when smaller than the structure, the
/// caller's nonzero tail after it.
fn rsrc(c: &mut Call<'_, '_>, v: u64, size: u64, opcode: u64, update: bool) -> Value {
    if size < RSRC_SIZE {
        return Value::ptr(v);
    }
    let b = match c.fetch_v(v, RSRC_SIZE as usize) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    // register: nr, flags, resv2 (u64), data, tags;
    // update2: offset, resv, data, tags, nr, resv2 (u32).
    let (nr, data, tags) = if update {
        (f.u32(24), f.u64(8), f.u64(16))
    } else {
        (f.u32(0), f.u64(16), f.u64(24))
    };
    if update {
        s.dec("offset", f.u32(0));
        if f.u32(4) != 0 {
            s.field("resv", Value::int(f.u32(4), Base::Hex));
        }
    } else {
        s.dec("nr", nr);
        s.field(
            "flags",
            fmt::xflags_v(c.abi, &[T::UringRegisterRsrcFlags], f.u32(4), true, false),
        );
        if f.u64(8) != 0 {
            s.field("resv2", Value::int(f.u64(8), Base::Hex));
        }
    }
    let (big, at) = big_addr(c, data);
    let arr = match opcode {
        REGISTER_FILES2 => fds(c, at, nr, false),
        REGISTER_FILES_UPDATE2 => fds(c, at, nr, true),
        _ => iovecs(c, at, nr),
    };
    s.field("data", or_big(big, arr));
    let (big, at) = big_addr(c, tags);
    let arr = c.array_v(at, nr, 8, |_, b| {
        Value::int(Fields::new(b, 8).u64(0), Base::Hex)
    });
    s.field("tags", or_big(big, arr));
    if update {
        s.dec("nr", nr);
        if f.u32(28) != 0 {
            s.field("resv2", Value::int(f.u32(28), Base::Hex));
        }
    }
    if size > RSRC_SIZE {
        if let Some((n, t)) = super::extensible::tail(c, v, RSRC_SIZE, size.min(PAGE)) {
            s.field(n, t);
        }
    }
    s.done()
}

/// The io-wq worker limits, `[[IO_WQ_BOUND]=N, ...]`: at the exit the
/// limits the kernel wrote back after the entry's, when the entry showed
/// the whole array.
fn max_workers(c: &mut Call<'_, '_>, v: u64, nr: u64) -> Value {
    // strace's PAF_PRINT_INDICES: each element after its index, named.
    let mut idx = 0u64;
    let now = c.array_v(v, nr, 4, |c, b| {
        let name = fmt::xval_v(c.abi, T::UringIowqAcct, idx, Radix::Udec).render();
        idx += 1;
        Value::Opaque(format!("[{name}]={}", Fields::new(b, 4).u32(0)))
    });
    if c.ret.is_none() {
        return now;
    }
    // The entry showed the whole array (strace's `print_array` returned
    // true): then the exit shows it again, the address after a failure.
    let entry = c.entry().unwrap_or_default().to_string();
    let complete = entry.starts_with('[') && entry != "[]" && !entry.ends_with("*/]");
    if !complete {
        return Value::Opaque(entry);
    }
    let after = if c.failed() { Value::ptr(v) } else { now };
    Value::Changed {
        before: Box::new(Value::Opaque(entry)),
        after: Box::new(after),
    }
}

/// One `struct io_uring_rsrc_update` of the ring descriptors to
/// register (`data`: the descriptor) or unregister (`data` unused).
fn ring_fd(_c: &mut Call<'_, '_>, b: &[u8], register: bool) -> Value {
    let f = Fields::new(b, 8);
    let mut s = StructBuilder::new();
    let offset = f.u32(0);
    if register && offset == u64::from(u32::MAX) {
        s.dec("offset", -1);
    } else {
        s.dec("offset", offset);
    }
    if f.u32(4) != 0 {
        s.field("resv", Value::int(f.u32(4), Base::Hex));
    }
    if register {
        s.field("data", super::fd(f.u64(8)));
    } else if f.u64(8) != 0 {
        s.field("data", Value::int(f.u64(8), Base::Hex));
    }
    s.done()
}

/// `struct io_uring_buf_reg`: the provided-buffer ring.
fn buf_reg(c: &mut Call<'_, '_>, v: u64) -> Value {
    let b = match c.fetch_v(v, 40) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    s.field("ring_addr", Value::ptr(f.u64(0)));
    s.dec("ring_entries", f.u32(8));
    s.dec("bgid", f.u16(12));
    if f.u16(14) != 0 {
        s.field("pad", Value::int(f.u16(14), Base::Hex));
    }
    reserved(&mut s, "resv", (0..3).map(|i| f.u64(16 + 8 * i)));
    s.done()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::LinuxAbi;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::DecodeOptions;

    /// The argument at 0x1000 of `opcode` with `nr` as a 64-bit caller
    /// shows it, at the entry (`ret` None, `entry` ignored) or the exit.
    fn render(
        mem: &mut SparseVirt,
        va: u64,
        opcode: u64,
        nr: u64,
        ret: Option<i64>,
        entry: Option<&str>,
    ) -> String {
        let o = DecodeOptions::default();
        let entries = [None, None, entry.map(str::to_string), None];
        let mut c = Call {
            abi: LinuxAbi::X86_64,
            name: "io_uring_register",
            raw: [3, opcode, va, nr, 0, 0],
            mem,
            opts: &o,
            ret,
            entries: if ret.is_some() { &entries } else { &[] },
            index: 2,
        };
        arg(&mut c, va, opcode, nr).render()
    }

    fn mem_with(bytes: &[u8]) -> SparseVirt {
        let mut m = SparseVirt::new();
        m.map(0x1000, bytes);
        m
    }

    /// `bytes` ending where the mapping ends (at 0x2000), and their
    /// address.
    fn at_page_end(bytes: &[u8]) -> (SparseVirt, u64) {
        let va = 0x2000 - bytes.len() as u64;
        let mut m = SparseVirt::new();
        m.map(va, bytes);
        (m, va)
    }

    fn le32(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn descriptor_arrays_and_files_update() {
        let fds = le32(&[5, 0, u32::MAX, -2i32 as u32, -3i32 as u32]);
        let mut m = mem_with(&fds);
        assert_eq!(
            render(&mut m, 0x1000, 2, 5, None, None),
            "[5, 0, -1, -2, -3]"
        );
        // One element past the mapping: the address of what cannot be read.
        let (mut e, va) = at_page_end(&fds);
        assert_eq!(
            render(&mut e, va, 2, 6, None, None),
            "[5, 0, -1, -2, -3, ... /* 0x2000 */]"
        );
        // files_update: offset, the fds with the skip marker named.
        let mut b = Vec::new();
        b.extend(0xdeadc0deu32.to_le_bytes());
        b.extend(0u32.to_le_bytes());
        b.extend(0x2000u64.to_le_bytes());
        let mut m = mem_with(&b);
        m.map(0x2000, &fds);
        assert_eq!(
            render(&mut m, 0x1000, 6, 5, None, None),
            "{offset=3735929054, fds=[5, 0, -1, IORING_REGISTER_FILES_SKIP, -3]}"
        );
        assert_eq!(render(&mut m, 0x1000, 1, 5, None, None), "0x1000");
    }

    #[test]
    fn probe_at_the_entry_and_the_exit() {
        let mut b = vec![0u8; PROBE_SIZE + 2 * PROBE_OP_SIZE];
        // All zero: the address at the entry, the kernel's at the exit.
        let mut m = mem_with(&b);
        assert_eq!(render(&mut m, 0x1000, 8, 2, None, None), "0x1000");
        assert_eq!(
            render(&mut m, 0x1000, 8, 2, Some(-22), Some("0x1000")),
            "0x1000"
        );
        b[0] = 47; // last_op unknown
        b[1] = 3; // ops_len
        b[16] = 1; // IORING_OP_READV
        b[18] = 1; // IO_URING_OP_SUPPORTED
        b[24] = 2;
        b[25] = 0xaf;
        b[26..28].copy_from_slice(&0xc0deu16.to_le_bytes());
        let mut m = mem_with(&b);
        let entry = render(&mut m, 0x1000, 8, 2, None, None);
        assert_eq!(
            entry,
            "{last_op=47 /* IORING_OP_??? */, ops_len=3, ops=[{op=IORING_OP_READV, \
             flags=IO_URING_OP_SUPPORTED}, {op=IORING_OP_WRITEV, resv=0xaf, \
             flags=0xc0de /* IO_URING_OP_??? */}]}"
        );
        // The kernel has 3 ops, the caller room for 2: `...` at the exit.
        assert_eq!(
            render(&mut m, 0x1000, 8, 2, Some(0), Some(&entry)),
            format!(
                "{entry} => {{last_op=47 /* IORING_OP_??? */, ops_len=3, \
                 ops=[{{op=IORING_OP_READV, flags=IO_URING_OP_SUPPORTED}}, \
                 {{op=IORING_OP_WRITEV, resv=0xaf, flags=0xc0de /* IO_URING_OP_??? */}}, ...]}}"
            )
        );
        assert_eq!(render(&mut m, 0x1000, 8, 2, Some(-14), Some(&entry)), entry);
        // More ops than the kernel has, or past the mapping: the address.
        assert_eq!(render(&mut m, 0x1000, 8, 257, None, None), "0x1000");
        let (mut e, va) = at_page_end(&b);
        assert_eq!(render(&mut e, va, 8, 3, None, None), format!("{va:#x}"));
    }

    #[test]
    fn restrictions_by_opcode() {
        let mut b = vec![0u8; 64];
        b[2] = 23; // register_op IORING_UNREGISTER_PBUF_RING
        b[16] = 1;
        b[18] = 255; // sqe_op unknown
        b[19] = 0x77; // resv
        b[32] = 2;
        b[34] = 0xc0; // IOSQE_CQE_SKIP_SUCCESS|0x80
        b[36..40].copy_from_slice(&0x8080_8080u32.to_le_bytes());
        b[48] = 137;
        b[50] = 0xef;
        let mut m = mem_with(&b);
        assert_eq!(
            render(&mut m, 0x1000, 11, 4, None, None),
            "[{opcode=IORING_RESTRICTION_REGISTER_OP, register_op=IORING_UNREGISTER_PBUF_RING}, \
             {opcode=IORING_RESTRICTION_SQE_OP, sqe_op=0xff /* IORING_OP_??? */, resv=0x77}, \
             {opcode=IORING_RESTRICTION_SQE_FLAGS_ALLOWED, \
             sqe_flags=IOSQE_CQE_SKIP_SUCCESS|0x80, resv2=[0x80808080, 0, 0]}, \
             {opcode=0x89 /* IORING_RESTRICTION_??? */ /* op: 0xef */}]"
        );
        assert_eq!(render(&mut m, 0x1000, 11, 0, None, None), "[]");
    }

    #[test]
    fn resource_register_and_update() {
        // register: nr=2, flags=SPARSE|0x2, data -> fds, tags -> u64s,
        // and a nonzero tail of 8 bytes.
        let mut b = Vec::new();
        b.extend(le32(&[2, 3]));
        b.extend(0u64.to_le_bytes());
        b.extend(0x4000u64.to_le_bytes());
        b.extend(0x6000u64.to_le_bytes());
        b.extend([0xa0u8, 0xa1, 0, 0, 0, 0, 0, 0]);
        let mut m = mem_with(&b);
        m.map(0x4000, &le32(&[4, -2i32 as u32]));
        m.map(
            0x6000,
            &[1u64.to_le_bytes(), 0xdeadu64.to_le_bytes()].concat(),
        );
        assert_eq!(
            render(&mut m, 0x1000, 13, 40, None, None),
            "{nr=2, flags=IORING_RSRC_REGISTER_SPARSE|0x2, data=[4, -2], tags=[0x1, 0xdead], \
             /* bytes 32..39 */ \"\\xa0\\xa1\\x00\\x00\\x00\\x00\\x00\\x00\"}"
        );
        assert_eq!(render(&mut m, 0x1000, 13, 24, None, None), "0x1000");
        // A tail that cannot be read.
        let (mut e, va) = at_page_end(&b);
        e.map(0x4000, &le32(&[4, -2i32 as u32]));
        e.map(
            0x6000,
            &[1u64.to_le_bytes(), 0xdeadu64.to_le_bytes()].concat(),
        );
        assert_eq!(
            render(&mut e, va, 13, 48, None, None),
            "{nr=2, flags=IORING_RSRC_REGISTER_SPARSE|0x2, data=[4, -2], tags=[0x1, 0xdead], ???}"
        );
        // update2: offset, resv, data (iovecs for buffers), tags, nr.
        let mut b = Vec::new();
        b.extend(le32(&[7, 0xbadc0ded]));
        b.extend(0x2000u64.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.extend(le32(&[1, 0]));
        let mut m = mem_with(&b);
        m.map(
            0x2000,
            &[0x5000u64.to_le_bytes(), 10u64.to_le_bytes()].concat(),
        );
        assert_eq!(
            render(&mut m, 0x1000, 16, 32, None, None),
            "{offset=7, resv=0xbadc0ded, data=[{iov_base=0x5000, iov_len=10}], tags=NULL, nr=1}"
        );
        assert_eq!(
            render(&mut m, 0x1000, 14, 32, None, None),
            "{offset=7, resv=0xbadc0ded, data=[20480], tags=NULL, nr=1}"
        );
    }

    #[test]
    fn worker_limits_written_back() {
        let mut m = mem_with(&le32(&[0, 1, 0xbedfaced]));
        let entry = render(&mut m, 0x1000, 19, 3, None, None);
        assert_eq!(
            entry,
            "[[IO_WQ_BOUND]=0, [IO_WQ_UNBOUND]=1, [2 /* IO_WQ_??? */]=3202329837]"
        );
        assert_eq!(
            render(&mut m, 0x1000, 19, 3, Some(0), Some(&entry)),
            format!("{entry} => {entry}")
        );
        assert_eq!(
            render(&mut m, 0x1000, 19, 3, Some(-22), Some(&entry)),
            format!("{entry} => 0x1000")
        );
        // An entry that ended early is not shown again.
        assert_eq!(render(&mut m, 0x1000, 19, 0, Some(-22), Some("[]")), "[]");
        assert!(written_back(19) && written_back(8) && !written_back(2));
    }

    #[test]
    fn ring_descriptors_and_buffer_rings() {
        let mut b = Vec::new();
        b.extend(le32(&[u32::MAX, 0]));
        b.extend(0xbadc_0ded_0000_0004_u64.to_le_bytes());
        b.extend(le32(&[2, 0x0101_0101]));
        b.extend(0u64.to_le_bytes());
        let mut m = mem_with(&b);
        assert_eq!(
            render(&mut m, 0x1000, 20, 2, None, None),
            "[{offset=-1, data=4}, {offset=2, resv=0x1010101, data=0}]"
        );
        assert_eq!(
            render(&mut m, 0x1000, 21, 2, None, None),
            "[{offset=4294967295, data=0xbadc0ded00000004}, {offset=2, resv=0x1010101}]"
        );
        let mut b = vec![0u8; 40];
        b[0..8].copy_from_slice(&0x1000u64.to_le_bytes());
        b[8..12].copy_from_slice(&3_141_592_653u32.to_le_bytes());
        b[12..14].copy_from_slice(&42069u16.to_le_bytes());
        b[14..16].copy_from_slice(&31337u16.to_le_bytes());
        b[24..32].copy_from_slice(&0xdecaffedu64.to_le_bytes());
        let mut m = mem_with(&b);
        assert_eq!(
            render(&mut m, 0x1000, 22, 0x42, None, None),
            "{ring_addr=0x1000, ring_entries=3141592653, bgid=42069, pad=0x7a69, \
             resv=[0, 0xdecaffed, 0]}"
        );
    }

    #[test]
    fn a_32_bit_caller_sees_the_address_its_kernel_uses() {
        let mut b = Vec::new();
        b.extend(le32(&[1, 0]));
        b.extend(0x8f8e_8d8c_0000_1000u64.to_le_bytes());
        let mut m = mem_with(&b);
        let o = DecodeOptions::default();
        let mut c = Call {
            abi: LinuxAbi::I386,
            name: "io_uring_register",
            raw: [3, 6, 0x1000, 1, 0, 0],
            mem: &mut m,
            opts: &o,
            ret: None,
            entries: &[],
            index: 2,
        };
        assert_eq!(
            arg(&mut c, 0x1000, 6, 1).render(),
            "{offset=1, fds=0x8f8e8d8c00001000 or [1]}"
        );
        assert_eq!(
            render(&mut m, 0x1000, 6, 0, None, None),
            "{offset=1, fds=[]}"
        );
    }
}
