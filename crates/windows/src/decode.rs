//! Argument decoding driven by the prototype table: each argument's
//! [`ArgKind`] says how to read and render it, its [`Dir`] says whether
//! it is decoded at enter (in), at exit (out) or both (in/out, rendered as
//! `before => after`).

use vstrace_core::read;
use vstrace_core::{Bitness, Value, VirtMem};

use crate::access::access_mask_v;
use crate::flags::{dense_v, enum_v, flags_v, CREATE_RESULT};
use crate::ntstatus::{format_status, Severity};
use crate::proto::{Actual, ArgKind, Dir, Prototype, Render};
use crate::structs::{
    format_buffer, format_client_id, format_handle_array, format_io_status_block,
    format_large_integer, handle_v, object_attributes_v, read_io_status_block, unicode_string_v,
    word, Limits,
};
pub use vstrace_core::{ArgValue, DecodeOptions};

const STATUS_PENDING: u32 = 0x103;
const STATUS_BUFFER_TOO_SMALL: u32 = 0xC000_0023;
const STATUS_INFO_LENGTH_MISMATCH: u32 = 0xC000_0004;
const STATUS_BUFFER_OVERFLOW: u32 = 0x8000_0005;

/// A scalar as `r` says, typed: handles, access rights as a list of
/// names, flags, enumerations; NTSTATUS values keep their text.
fn scalar_v(v: u64, r: Render, b: Bitness) -> Value {
    match r {
        Render::Dec => Value::dec(v),
        Render::SDec => Value::dec(v as u32 as i32),
        // `{:#x}`: `0x0` for zero, which the pointer form also prints.
        Render::Hex => Value::Ptr(v),
        Render::Ptr => Value::ptr(v),
        Render::Handle => handle_v(v, b),
        Render::Bool => match v {
            0 => Value::name("FALSE", 0),
            1 => Value::name("TRUE", 1),
            n => Value::dec(n),
        },
        Render::Status => Value::Opaque(format_status(v as u32)),
        Render::Access(t) => access_mask_v(v as u32, t),
        Render::Flags(t) => flags_v(v, &[], t, "0"),
        Render::Enum(t) => enum_v(v, t),
        Render::Dense(t) => dense_v(v, t),
    }
}

fn arg(raw: &[u64], i: u8) -> u64 {
    raw.get(usize::from(i)).copied().unwrap_or(0)
}

fn deref(
    mem: &mut dyn VirtMem,
    p: u64,
    b: Bitness,
    f: impl FnOnce(&mut dyn VirtMem, u64) -> Result<u64, vstrace_core::MemError>,
    r: Render,
) -> Value {
    if p == 0 {
        return Value::Null;
    }
    match f(mem, p) {
        Ok(v) => Value::boxed(scalar_v(v, r, b)),
        Err(_) => Value::Opaque(format!("{p:#x} <unreadable>")),
    }
}

fn reg_data(mem: &mut dyn VirtMem, p: u64, ty: u64, len: u64, b: Bitness, o: &Limits) -> Value {
    if p == 0 {
        return Value::Null;
    }
    match ty {
        // REG_SZ, REG_EXPAND_SZ, REG_LINK, REG_MULTI_SZ: UTF-16.
        1 | 2 | 6 | 7 => {
            let cap = (o.max_string as u64).saturating_mul(2).min(len) as usize;
            match read::read_utf16(mem, p, cap, cap) {
                Ok(t) if t.fault.is_none() || !t.text.is_empty() => {
                    let s = crate::structs::wide_v(&t.text, o.max_string);
                    match s {
                        Value::Str(mut w) if (cap as u64) < len => {
                            w.truncated = true;
                            Value::Str(w)
                        }
                        s => s,
                    }
                }
                _ => Value::Opaque(format!("{p:#x} <unreadable>")),
            }
        }
        4 if len >= 4 => deref(
            mem,
            p,
            b,
            |m, a| read::read_u32(m, a).map(u64::from),
            Render::Dec,
        ),
        11 if len >= 8 => deref(mem, p, b, read::read_u64, Render::Dec),
        _ => Value::Opaque(format_buffer(mem, p, len, b, o)),
    }
}

/// The typed value of argument `i` of `proto`, from memory as it is now:
/// scalars, handles, access rights, flags, UNICODE_STRINGs and
/// OBJECT_ATTRIBUTES typed, the other structures as their text.
fn arg_value(
    proto: &Prototype,
    i: usize,
    b: Bitness,
    raw: &[u64],
    mem: &mut dyn VirtMem,
    o: &Limits,
) -> Option<Value> {
    let spec = proto.args.get(i)?;
    let v = raw.get(i).copied().unwrap_or(0);
    let p = word(v, b);
    Some(match spec.kind {
        ArgKind::U32(r) => scalar_v(v & 0xffff_ffff, r, b),
        ArgKind::Word(r) => scalar_v(p, r, b),
        ArgKind::U8(r) => scalar_v(v & 0xff, r, b),
        ArgKind::PU32(r) => deref(mem, p, b, |m, a| read::read_u32(m, a).map(u64::from), r),
        ArgKind::PWord(r) => deref(mem, p, b, |m, a| read::read_ptr(m, a, b), r),
        ArgKind::PU8(r) => deref(mem, p, b, |m, a| read::read_u8(m, a).map(u64::from), r),
        ArgKind::PI64(k) => Value::Opaque(format_large_integer(mem, p, b, k)),
        ArgKind::UnicodeString => unicode_string_v(mem, p, b, o),
        ArgKind::ObjectAttributes => object_attributes_v(mem, p, b, o),
        ArgKind::ClientId => Value::Opaque(format_client_id(mem, p, b)),
        ArgKind::IoStatus { create } => Value::Opaque(format_io_status_block(
            mem,
            p,
            b,
            create.then_some(CREATE_RESULT),
        )),
        ArgKind::BufIn { len } => {
            Value::Opaque(format_buffer(mem, p, word(arg(raw, len), b), b, o))
        }
        ArgKind::BufOut { len, actual } => {
            let cap = word(arg(raw, len), b);
            let n = match actual {
                Actual::Length => Some(cap),
                Actual::Iosb(j) => read_io_status_block(mem, word(arg(raw, j), b), b)
                    .ok()
                    .map(|io| io.information),
                Actual::PWord(j) => read::read_ptr(mem, word(arg(raw, j), b), b).ok(),
            };
            match n {
                Some(n) => Value::Opaque(format_buffer(mem, p, n.min(cap), b, o)),
                None => Value::ptr(p),
            }
        }
        ArgKind::Handles { count } => Value::Opaque(format_handle_array(
            mem,
            p,
            arg(raw, count) & 0xffff_ffff,
            b,
            o,
        )),
        ArgKind::RegData { ty, len } => reg_data(
            mem,
            p,
            arg(raw, ty) & 0xffff_ffff,
            arg(raw, len) & 0xffff_ffff,
            b,
            o,
        ),
        ArgKind::Opaque => return None,
    })
}

/// Decodes the arguments at system call entry. `raw` holds the argument
/// values (missing ones read as 0); out arguments get `text: None`.
pub fn decode_enter(
    proto: &Prototype,
    bitness: Bitness,
    raw: &[u64],
    mem: &mut dyn VirtMem,
    opts: &DecodeOptions,
) -> Vec<ArgValue> {
    let opts = &Limits::from(opts);
    proto
        .args
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let raw_i = raw.get(i).copied().unwrap_or(0);
            match spec.dir.is_in() {
                true => match arg_value(proto, i, bitness, raw, mem, opts) {
                    Some(v) => ArgValue::typed(spec.name, raw_i, v),
                    None => ArgValue::with_text(spec.name, raw_i, None),
                },
                false => ArgValue::with_text(spec.name, raw_i, None),
            }
        })
        .collect()
}

/// Whether out arguments hold data after a call that returned `status`.
fn outputs_valid(kind: &ArgKind, status: u32) -> bool {
    if status == STATUS_PENDING {
        return false;
    }
    match Severity::of(status) {
        Severity::Success | Severity::Informational => true,
        Severity::Warning => {
            status == STATUS_BUFFER_OVERFLOW || !matches!(kind, ArgKind::BufOut { .. })
        }
        // Lengths are reported on "buffer too small" errors.
        Severity::Error => {
            matches!(kind, ArgKind::PU32(_) | ArgKind::PWord(_))
                && matches!(
                    status,
                    STATUS_BUFFER_TOO_SMALL | STATUS_INFO_LENGTH_MISMATCH
                )
        }
    }
}

/// Completes `args` (from [`decode_enter`]) at system call exit: out
/// arguments are read if the status says they were written; in/out ones
/// become `before => after`.
pub fn decode_exit(
    proto: &Prototype,
    bitness: Bitness,
    raw: &[u64],
    status: u32,
    mem: &mut dyn VirtMem,
    opts: &DecodeOptions,
    args: &mut [ArgValue],
) {
    let opts = &Limits::from(opts);
    for (i, (spec, av)) in proto.args.iter().zip(args.iter_mut()).enumerate() {
        if !spec.dir.is_out() || !outputs_valid(&spec.kind, status) {
            continue;
        }
        let Some(after) = arg_value(proto, i, bitness, raw, mem, opts) else {
            continue;
        };
        let before = av.value.take();
        let v = match (spec.dir, av.text.take(), before) {
            (Dir::InOut, Some(text), before) if text != after.render() => Value::Changed {
                before: Box::new(before.unwrap_or(Value::Opaque(text))),
                after: Box::new(after),
            },
            _ => after,
        };
        av.set(v);
    }
}

/// Renders a decoded call strace-style: `NtClose(Handle=0x4) = 0 STATUS_SUCCESS`.
pub fn format_call(name: &str, args: &[ArgValue], status: Option<u32>) -> String {
    let a: Vec<String> = args
        .iter()
        .map(|av| match &av.text {
            Some(t) => format!("{}={t}", av.name),
            None => format!("{}={:#x}", av.name, av.raw),
        })
        .collect();
    match status {
        Some(s) => format!("{name}({}) = {}", a.join(", "), format_status(s)),
        None => format!("{name}({}) ...", a.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::prototype;
    use vstrace_core::testmem::SparseVirt;

    const P: u64 = 0x10_0000;

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    fn put_ptr(m: &mut SparseVirt, at: u64, v: u64, b: Bitness) {
        match b {
            Bitness::B32 => m.map(at, &(v as u32).to_le_bytes()),
            Bitness::B64 => m.map(at, &v.to_le_bytes()),
        }
    }

    /// Lays out OBJECT_ATTRIBUTES at P naming `path`, for either bitness.
    fn put_oa(m: &mut SparseVirt, path: &str, b: Bitness) {
        let s = utf16(path);
        m.map(P + 0x400, &s);
        let len = s.len() as u16;
        let mut us = Vec::new();
        us.extend_from_slice(&len.to_le_bytes());
        us.extend_from_slice(&len.to_le_bytes());
        if b == Bitness::B64 {
            us.extend_from_slice(&[0; 4]);
        }
        m.map(P + 0x300, &us);
        put_ptr(
            m,
            P + 0x300 + if b == Bitness::B64 { 8 } else { 4 },
            P + 0x400,
            b,
        );
        let ps = if b == Bitness::B64 { 8 } else { 4 };
        m.map_zeroed(P, 48);
        m.map(
            P,
            &(if b == Bitness::B64 { 48u32 } else { 24 }).to_le_bytes(),
        );
        put_ptr(m, P + 2 * ps, P + 0x300, b); // ObjectName
        m.map(P + 3 * ps, &0x40u32.to_le_bytes()); // Attributes
    }

    fn text(args: &[ArgValue], name: &str) -> Option<String> {
        args.iter()
            .find(|a| a.name == name)
            .and_then(|a| a.text.clone())
    }

    #[test]
    fn nt_create_file_enter_exit_both_bitnesses() {
        let proto = prototype("NtCreateFile").unwrap();
        let opts = DecodeOptions::default();
        for b in [Bitness::B64, Bitness::B32] {
            let mut m = SparseVirt::new();
            put_oa(&mut m, "\\??\\C:\\test.txt", b);
            m.map_zeroed(P + 0x800, 16); // FileHandle out
            m.map_zeroed(P + 0x900, 16); // IO_STATUS_BLOCK
                                         // Upper halves of 32-bit arguments hold garbage, as on x64.
            let raw = [
                P + 0x800,
                0xdead_beef_0012_0089,
                P,
                P + 0x900,
                0,
                0xffff_0000_0000_0080,
                1,
                3,
                0x60,
                0,
                0,
            ];
            let mut args = decode_enter(proto, b, &raw, &mut m, &opts);
            assert_eq!(args.len(), 11);
            assert_eq!(args[0].text, None);
            assert_eq!(text(&args, "DesiredAccess").unwrap(), "FILE_GENERIC_READ");
            assert_eq!(
                text(&args, "ObjectAttributes").unwrap(),
                "{ObjectName=L\"\\\\??\\\\C:\\\\test.txt\", Attributes=OBJ_CASE_INSENSITIVE}"
            );
            assert_eq!(text(&args, "AllocationSize").unwrap(), "NULL");
            assert_eq!(
                text(&args, "FileAttributes").unwrap(),
                "FILE_ATTRIBUTE_NORMAL"
            );
            assert_eq!(text(&args, "ShareAccess").unwrap(), "FILE_SHARE_READ");
            assert_eq!(text(&args, "CreateDisposition").unwrap(), "FILE_OPEN_IF");
            assert_eq!(
                text(&args, "CreateOptions").unwrap(),
                "FILE_SYNCHRONOUS_IO_NONALERT|FILE_NON_DIRECTORY_FILE"
            );
            assert_eq!(args[1].raw, 0xdead_beef_0012_0089);
            // The kernel writes the handle and the IO_STATUS_BLOCK.
            put_ptr(&mut m, P + 0x800, 0x1a4, b);
            m.map(P + 0x900, &0u32.to_le_bytes());
            put_ptr(
                &mut m,
                P + 0x900 + if b == Bitness::B64 { 8 } else { 4 },
                2,
                b,
            );
            decode_exit(proto, b, &raw, 0, &mut m, &opts, &mut args);
            assert_eq!(text(&args, "FileHandle").unwrap(), "[0x1a4]");
            assert_eq!(
                text(&args, "IoStatusBlock").unwrap(),
                "{Status=0 STATUS_SUCCESS, Information=FILE_CREATED}"
            );
            let line = format_call(proto.name, &args, Some(0));
            assert!(
                line.starts_with("NtCreateFile(FileHandle=[0x1a4], "),
                "{line}"
            );
            assert!(line.ends_with(") = 0 STATUS_SUCCESS"), "{line}");
        }
    }

    #[test]
    fn failed_call_leaves_outputs_unknown() {
        let proto = prototype("NtOpenKey").unwrap();
        let b = Bitness::B64;
        let mut m = SparseVirt::new();
        put_oa(&mut m, "\\Registry\\Machine\\Nope", b);
        m.map_zeroed(P + 0x800, 8);
        let raw = [P + 0x800, 0x20019, P];
        let opts = DecodeOptions::default();
        let mut args = decode_enter(proto, b, &raw, &mut m, &opts);
        assert_eq!(text(&args, "DesiredAccess").unwrap(), "KEY_READ");
        decode_exit(proto, b, &raw, 0xC000_0034, &mut m, &opts, &mut args);
        assert_eq!(args[0].text, None);
        assert_eq!(
            format_call(proto.name, &args, Some(0xC000_0034)),
            "NtOpenKey(KeyHandle=0x100800, DesiredAccess=KEY_READ, ObjectAttributes={ObjectName=L\"\\\\Registry\\\\Machine\\\\Nope\", Attributes=OBJ_CASE_INSENSITIVE}) = 0xc0000034 STATUS_OBJECT_NAME_NOT_FOUND"
        );
    }

    #[test]
    fn return_length_on_buffer_too_small() {
        let proto = prototype("NtQuerySystemInformation").unwrap();
        let b = Bitness::B64;
        let mut m = SparseVirt::new();
        m.map(P, &0x1234u32.to_le_bytes());
        let raw = [5, P + 0x100, 0, P];
        let opts = DecodeOptions::default();
        let mut args = decode_enter(proto, b, &raw, &mut m, &opts);
        assert_eq!(args[0].text.as_deref(), Some("SystemProcessInformation"));
        assert_eq!(args[1].text, None);
        decode_exit(proto, b, &raw, 0xC000_0004, &mut m, &opts, &mut args);
        assert_eq!(args[3].text.as_deref(), Some("[4660]"));
        // Opaque out buffer stays raw.
        assert_eq!(args[1].text, None);
    }

    #[test]
    fn allocate_virtual_memory_inout() {
        let proto = prototype("NtAllocateVirtualMemory").unwrap();
        for b in [Bitness::B64, Bitness::B32] {
            let mut m = SparseVirt::new();
            put_ptr(&mut m, P, 0, b);
            put_ptr(&mut m, P + 8, 0x1000, b);
            let raw = [u64::MAX, P, 0, P + 8, 0x3000, 4];
            let opts = DecodeOptions::default();
            let mut args = decode_enter(proto, b, &raw, &mut m, &opts);
            assert_eq!(args[0].text.as_deref(), Some("NtCurrentProcess()"));
            assert_eq!(args[1].text.as_deref(), Some("[NULL]"));
            assert_eq!(args[3].text.as_deref(), Some("[4096]"));
            assert_eq!(args[4].text.as_deref(), Some("MEM_COMMIT|MEM_RESERVE"));
            assert_eq!(args[5].text.as_deref(), Some("PAGE_READWRITE"));
            put_ptr(&mut m, P, 0x7ff0_0000, b);
            decode_exit(proto, b, &raw, 0, &mut m, &opts, &mut args);
            assert_eq!(args[1].text.as_deref(), Some("[NULL] => [0x7ff00000]"));
            // Unchanged in/out value is shown once.
            assert_eq!(args[3].text.as_deref(), Some("[4096]"));
        }
    }

    #[test]
    fn read_file_buffer_uses_iosb_information() {
        let proto = prototype("NtReadFile").unwrap();
        let b = Bitness::B64;
        let mut m = SparseVirt::new();
        m.map(P + 0x100, b"root:x:0:0\nmore data that was not read");
        let mut iosb = 0u64.to_le_bytes().to_vec();
        iosb.extend_from_slice(&11u64.to_le_bytes());
        m.map(P, &iosb);
        let raw = [0x44, 0, 0, 0, P, P + 0x100, 4096, 0, 0];
        let opts = DecodeOptions::default();
        let mut args = decode_enter(proto, b, &raw, &mut m, &opts);
        assert_eq!(args[5].text, None);
        assert_eq!(args[7].text.as_deref(), Some("NULL"));
        decode_exit(proto, b, &raw, 0, &mut m, &opts, &mut args);
        assert_eq!(args[5].text.as_deref(), Some("\"root:x:0:0\\n\""));
        // Pending: nothing is read yet.
        let mut args = decode_enter(proto, b, &raw, &mut m, &opts);
        decode_exit(proto, b, &raw, 0x103, &mut m, &opts, &mut args);
        assert_eq!(args[5].text, None);
    }

    #[test]
    fn set_value_key_data() {
        let proto = prototype("NtSetValueKey").unwrap();
        let b = Bitness::B64;
        let mut m = SparseVirt::new();
        let s = utf16("C:\\Temp\0");
        m.map(P + 0x100, &s);
        m.map(P + 0x200, &42u32.to_le_bytes());
        let mut name = Vec::new();
        let n = utf16("Path");
        m.map(P + 0x300, &n);
        name.extend_from_slice(&(n.len() as u16).to_le_bytes());
        name.extend_from_slice(&(n.len() as u16).to_le_bytes());
        name.extend_from_slice(&[0; 4]);
        name.extend_from_slice(&(P + 0x300).to_le_bytes());
        m.map(P, &name);
        let opts = DecodeOptions::default();
        let raw = [0x88, P, 0, 1, P + 0x100, s.len() as u64];
        let args = decode_enter(proto, b, &raw, &mut m, &opts);
        assert_eq!(args[1].text.as_deref(), Some("L\"Path\""));
        assert_eq!(args[3].text.as_deref(), Some("REG_SZ"));
        assert_eq!(args[4].text.as_deref(), Some("L\"C:\\\\Temp\\0\""));
        let raw = [0x88, P, 0, 4, P + 0x200, 4];
        let args = decode_enter(proto, b, &raw, &mut m, &opts);
        assert_eq!(args[4].text.as_deref(), Some("[42]"));
        // Hostile: REG_SZ data pointer unmapped, huge size.
        let raw = [0x88, P, 0, 1, 0xdead_0000, u64::MAX];
        let args = decode_enter(proto, b, &raw, &mut m, &opts);
        assert_eq!(args[4].text.as_deref(), Some("0xdead0000 <unreadable>"));
    }

    #[test]
    fn wait_for_multiple_objects_and_missing_args() {
        let proto = prototype("NtWaitForMultipleObjects").unwrap();
        let b = Bitness::B64;
        let mut m = SparseVirt::new();
        let mut h = Vec::new();
        for x in [0x10u64, 0x14] {
            h.extend_from_slice(&x.to_le_bytes());
        }
        m.map(P, &h);
        m.map(P + 0x100, &(-5_000_000i64).to_le_bytes());
        let opts = DecodeOptions::default();
        let raw = [2, P, 1, 0, P + 0x100];
        let args = decode_enter(proto, b, &raw, &mut m, &opts);
        assert_eq!(args[1].text.as_deref(), Some("[0x10, 0x14]"));
        assert_eq!(args[2].text.as_deref(), Some("WaitAny"));
        assert_eq!(args[3].text.as_deref(), Some("FALSE"));
        assert_eq!(
            args[4].text.as_deref(),
            Some("[-5000000 /* relative 0.5000000s */]")
        );
        // Fewer raw values than arguments: the rest read as 0, no panic.
        let args = decode_enter(proto, b, &[0xffff_ffff], &mut m, &opts);
        assert_eq!(args.len(), 5);
        assert_eq!(args[1].text.as_deref(), Some("NULL"));
        // A huge count is capped.
        let args = decode_enter(proto, b, &[u64::MAX, P], &mut m, &opts);
        let t = args[1].text.clone().unwrap();
        assert!(
            t.starts_with("[0x10, 0x14, NULL, ") && t.ends_with(", ...]"),
            "{t}"
        );
        assert_eq!(t.matches(", ").count(), 16);
    }

    #[test]
    fn every_prototype_survives_hostile_input() {
        // All arguments pointing at unmapped memory, at page ends, or
        // all-ones: decoding must terminate without panicking.
        let opts = DecodeOptions::default();
        let mut m = SparseVirt::new();
        m.map(P + 0xffc, &[0xff; 4]);
        for proto in crate::proto::prototypes() {
            for b in [Bitness::B32, Bitness::B64] {
                for fill in [0u64, u64::MAX, P + 0xffc, 0x4141_4141_4141_4141] {
                    let raw = vec![fill; proto.args.len()];
                    let mut args = decode_enter(proto, b, &raw, &mut m, &opts);
                    decode_exit(proto, b, &raw, 0, &mut m, &opts, &mut args);
                    assert_eq!(args.len(), proto.args.len());
                }
            }
        }
    }
}
