//! Typed readers and renderers of NT structures in guest memory, in their
//! 32- and 64-bit layouts: UNICODE_STRING, OBJECT_ATTRIBUTES,
//! IO_STATUS_BLOCK, CLIENT_ID, LARGE_INTEGER, handles and raw buffers.
//!
//! Everything here takes guest pointers at face value and never panics:
//! an unreadable structure renders as `0x... <unreadable>`, a hostile one
//! (Length > MaximumLength, odd length, NULL buffer) renders what can be
//! read plus a comment saying what was wrong.

use serde::Serialize;
use vstrace_core::read::{self, read_partial, read_unicode_string, UnicodeString};
use vstrace_core::value::{Base, Bytes, Escape};
use vstrace_core::{Bitness, MemError, StructBuilder, Value, VirtMem};

use crate::flags::{flags_v, OBJ_ATTRIBUTES};
use crate::ntstatus::format_status;

/// Limits applied while rendering (all guest data is bounded by these):
/// the NT renderers' own knobs, derived from the shared
/// [`vstrace_core::DecodeOptions`] by [`Limits::from`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Characters of a string shown before `...`.
    pub max_string: usize,
    /// Bytes of a data buffer shown before `...`.
    pub max_bytes: usize,
    /// Elements of an array shown before `...`.
    pub max_array: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_string: 256,
            max_bytes: 32,
            max_array: 16,
        }
    }
}

impl From<&vstrace_core::DecodeOptions> for Limits {
    /// `-s` bounds strings, never below 64 characters: NT object names
    /// (`\\??\\C:\\...`) are long and strace's default 32 would cut
    /// nearly all of them. Buffers and arrays keep their defaults.
    fn from(o: &vstrace_core::DecodeOptions) -> Limits {
        Limits {
            max_string: o.strsize.max(64),
            ..Limits::default()
        }
    }
}

/// Why a structure could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A pointer to the named structure was NULL.
    #[error("{0} is NULL")]
    Null(&'static str),
    /// Guest memory holding the structure could not be read.
    #[error(transparent)]
    Mem(#[from] MemError),
}

/// Width of a pointer for the bitness.
pub fn ptr_size(b: Bitness) -> u64 {
    match b {
        Bitness::B32 => 4,
        Bitness::B64 => 8,
    }
}

/// Truncates a register value to the bitness (32-bit callers leave
/// garbage in nothing, but a 64-bit snapshot of a 32-bit register might).
pub fn word(v: u64, b: Bitness) -> u64 {
    match b {
        Bitness::B32 => v & 0xffff_ffff,
        Bitness::B64 => v,
    }
}

/// `NULL` or the pointer in hex.
pub fn format_ptr(v: u64) -> String {
    if v == 0 {
        "NULL".to_string()
    } else {
        format!("{v:#x}")
    }
}

/// Handles in hex; pseudo-handles by name.
pub fn format_handle(v: u64, b: Bitness) -> String {
    handle_v(v, b).render()
}

/// A handle: NULL, a pseudo-handle by name (`NtCurrentProcess()`), or its
/// number (hex in the text).
pub fn handle_v(v: u64, b: Bitness) -> Value {
    let v = word(v, b);
    // Sign-extend so -1 is the same for 32 and 64 bits.
    let s = match b {
        Bitness::B32 => i64::from(v as u32 as i32),
        Bitness::B64 => v as i64,
    };
    let pseudo = match s {
        -1 => Some("NtCurrentProcess()"),
        -2 => Some("NtCurrentThread()"),
        -3 => Some("NtCurrentSession()"),
        -4 => Some("NtCurrentProcessToken()"),
        -5 => Some("NtCurrentThreadToken()"),
        -6 => Some("NtCurrentThreadEffectiveToken()"),
        _ => None,
    };
    match (v, pseudo) {
        (0, _) => Value::Null,
        (_, Some(p)) => Value::name(p, s),
        _ => Value::int(v, Base::Hex),
    }
}

fn unreadable(addr: u64) -> String {
    format!("{addr:#x} <unreadable>")
}

/// Quotes text as `L"..."`, escaping quotes, backslashes and control
/// characters, cut at `max` characters.
pub fn quote_wide(text: &str, max: usize) -> String {
    wide_v(text, max).render()
}

/// A Windows string cut at `max` characters (JSON: a plain string).
pub fn wide_v(text: &str, max: usize) -> Value {
    let cut = text.char_indices().nth(max).map(|(i, _)| i);
    let shown = &text[..cut.unwrap_or(text.len())];
    Value::Str(Bytes {
        bytes: shown.as_bytes().to_vec(),
        truncated: cut.is_some(),
        escape: Escape::Wide,
    })
}

/// Quotes bytes strace-style (`"abc\n\x01"`), cut at `max` bytes.
pub fn quote_bytes(bytes: &[u8], max: usize, more: bool) -> String {
    let mut out = String::from("\"");
    for &b in bytes.iter().take(max) {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    if more || bytes.len() > max {
        out.push_str("...");
    }
    out
}

/// Reads a UNICODE_STRING (header and buffer) at `addr`.
pub fn read_unicode(
    mem: &mut dyn VirtMem,
    addr: u64,
    b: Bitness,
) -> Result<UnicodeString, DecodeError> {
    if addr == 0 {
        return Err(DecodeError::Null("UNICODE_STRING"));
    }
    Ok(read_unicode_string(mem, addr, b)?)
}

/// Renders an already read UNICODE_STRING: the text, plus a comment for
/// each hostile property.
pub fn render_unicode(us: &UnicodeString, opts: &Limits) -> String {
    unicode_v(us, opts).render()
}

/// An already read UNICODE_STRING, typed: the string (with a comment for
/// each hostile property), or its fields when the buffer is NULL.
pub fn unicode_v(us: &UnicodeString, opts: &Limits) -> Value {
    if us.null_buffer {
        return StructBuilder::new()
            .dec("Length", us.length)
            .dec("MaximumLength", us.maximum_length)
            .field("Buffer", Value::Null)
            .done();
    }
    let out = wide_v(&us.text, opts.max_string);
    let mut notes = Vec::new();
    if us.length_exceeds_max {
        notes.push(format!(
            "Length={} > MaximumLength={}",
            us.length, us.maximum_length
        ));
    }
    if us.odd_length {
        notes.push(format!("odd Length={}", us.length));
    }
    if let Some(f) = us.buffer_fault {
        notes.push(format!("Buffer={:#x} unreadable at {f:#x}", us.buffer));
    }
    if notes.is_empty() {
        out
    } else {
        Value::Commented {
            value: Box::new(out),
            comment: notes.join(", "),
        }
    }
}

/// Renders the UNICODE_STRING a pointer argument points at.
pub fn format_unicode_string(
    mem: &mut dyn VirtMem,
    addr: u64,
    b: Bitness,
    opts: &Limits,
) -> String {
    unicode_string_v(mem, addr, b, opts).render()
}

/// The UNICODE_STRING a pointer argument points at, typed.
pub fn unicode_string_v(mem: &mut dyn VirtMem, addr: u64, b: Bitness, opts: &Limits) -> Value {
    let addr = word(addr, b);
    match read_unicode(mem, addr, b) {
        Ok(us) => unicode_v(&us, opts),
        Err(DecodeError::Null(_)) => Value::Null,
        Err(DecodeError::Mem(_)) => Value::Opaque(unreadable(addr)),
    }
}

/// OBJECT_ATTRIBUTES as laid out in guest memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ObjectAttributes {
    /// `Length` in bytes, as the caller set it (the structure's size, not checked).
    pub length: u32,
    /// `RootDirectory`: a handle the name is relative to, or 0.
    pub root_directory: u64,
    /// `ObjectName`: guest virtual address of a UNICODE_STRING, or 0.
    pub object_name: u64,
    /// `Attributes`: `OBJ_*` bits (`OBJ_CASE_INSENSITIVE`...).
    pub attributes: u32,
    /// `SecurityDescriptor`: guest virtual address, or 0.
    pub security_descriptor: u64,
    /// `SecurityQualityOfService`: guest virtual address, or 0.
    pub security_quality_of_service: u64,
}

impl ObjectAttributes {
    /// sizeof(OBJECT_ATTRIBUTES): 24 (32-bit), 48 (64-bit).
    pub fn size(b: Bitness) -> u32 {
        match b {
            Bitness::B32 => 24,
            Bitness::B64 => 48,
        }
    }
}

/// Reads OBJECT_ATTRIBUTES at `addr` (32-bit: ULONG, 5 x 4-byte fields;
/// 64-bit: ULONG + padding, pointers at 8, 16, 32, 40, Attributes at 24).
pub fn read_object_attributes(
    mem: &mut dyn VirtMem,
    addr: u64,
    b: Bitness,
) -> Result<ObjectAttributes, DecodeError> {
    if addr == 0 {
        return Err(DecodeError::Null("OBJECT_ATTRIBUTES"));
    }
    let raw = read::read_struct(mem, addr, ObjectAttributes::size(b) as usize)?;
    let u32_at = |o: usize| {
        raw.get(o..o + 4)
            .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    };
    let u64_at = |o: usize| {
        raw.get(o..o + 8).map_or(0, |s| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_le_bytes(a)
        })
    };
    Ok(match b {
        Bitness::B32 => ObjectAttributes {
            length: u32_at(0),
            root_directory: u64::from(u32_at(4)),
            object_name: u64::from(u32_at(8)),
            attributes: u32_at(12),
            security_descriptor: u64::from(u32_at(16)),
            security_quality_of_service: u64::from(u32_at(20)),
        },
        Bitness::B64 => ObjectAttributes {
            length: u32_at(0),
            root_directory: u64_at(8),
            object_name: u64_at(16),
            attributes: u32_at(24),
            security_descriptor: u64_at(32),
            security_quality_of_service: u64_at(40),
        },
    })
}

/// Renders `{ObjectName=L"\??\C:\x", Attributes=OBJ_CASE_INSENSITIVE}`,
/// with RootDirectory, SecurityDescriptor, SecurityQualityOfService and an
/// unexpected Length shown only when set.
pub fn format_object_attributes(
    mem: &mut dyn VirtMem,
    addr: u64,
    b: Bitness,
    opts: &Limits,
) -> String {
    object_attributes_v(mem, addr, b, opts).render()
}

/// OBJECT_ATTRIBUTES, typed (JSON: `{"ObjectName": "\\??\\C:\\x",
/// "Attributes": ["OBJ_CASE_INSENSITIVE"]}`).
pub fn object_attributes_v(mem: &mut dyn VirtMem, addr: u64, b: Bitness, opts: &Limits) -> Value {
    let addr = word(addr, b);
    let oa = match read_object_attributes(mem, addr, b) {
        Ok(oa) => oa,
        Err(DecodeError::Null(_)) => return Value::Null,
        Err(DecodeError::Mem(_)) => return Value::Opaque(unreadable(addr)),
    };
    let mut s = StructBuilder::new();
    if oa.length != ObjectAttributes::size(b) {
        s.dec("Length", oa.length);
    }
    if oa.root_directory != 0 {
        s.field("RootDirectory", handle_v(oa.root_directory, b));
    }
    s.field("ObjectName", unicode_string_v(mem, oa.object_name, b, opts));
    s.field(
        "Attributes",
        flags_v(u64::from(oa.attributes), &[], OBJ_ATTRIBUTES, "0"),
    );
    if oa.security_descriptor != 0 {
        s.field("SecurityDescriptor", Value::Ptr(oa.security_descriptor));
    }
    if oa.security_quality_of_service != 0 {
        s.field(
            "SecurityQualityOfService",
            Value::Ptr(oa.security_quality_of_service),
        );
    }
    s.done()
}

/// The object name an OBJECT_ATTRIBUTES pointer names (relative to its
/// RootDirectory, if any), complete up to the 32767 characters a
/// UNICODE_STRING can hold. A NULL, unreadable or partly unreadable name
/// is an error: callers (hooks, filters) want the exact name or nothing.
pub fn object_attributes_name(
    mem: &mut dyn VirtMem,
    ptr: u64,
    b: Bitness,
) -> Result<String, DecodeError> {
    let oa = read_object_attributes(mem, word(ptr, b), b)?;
    if oa.object_name == 0 {
        return Err(DecodeError::Null("ObjectName"));
    }
    let us = read_unicode(mem, oa.object_name, b)?;
    if us.null_buffer {
        return Err(DecodeError::Null("ObjectName.Buffer"));
    }
    if let Some(f) = us.buffer_fault {
        return Err(DecodeError::Mem(MemError::Unmapped(f)));
    }
    Ok(us.text)
}

/// IO_STATUS_BLOCK as written by the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IoStatusBlock {
    /// `Status`: the NTSTATUS of the operation.
    pub status: u32,
    /// `Information`: operation-specific, e.g. bytes transferred or a create result (pointer-sized).
    pub information: u64,
}

/// Reads IO_STATUS_BLOCK (32-bit: Status@0, Information@4; 64-bit:
/// Status@0 in an 8-byte union, Information@8).
pub fn read_io_status_block(
    mem: &mut dyn VirtMem,
    addr: u64,
    b: Bitness,
) -> Result<IoStatusBlock, DecodeError> {
    if addr == 0 {
        return Err(DecodeError::Null("IO_STATUS_BLOCK"));
    }
    let status = read::read_u32(mem, addr)?;
    let information = read::read_ptr(mem, addr.wrapping_add(ptr_size(b)), b)?;
    Ok(IoStatusBlock {
        status,
        information,
    })
}

/// Renders `{Status=0 STATUS_SUCCESS, Information=..}`, naming the
/// Information value with `info_names` when given (FILE_OPENED ...).
pub fn format_io_status_block(
    mem: &mut dyn VirtMem,
    addr: u64,
    b: Bitness,
    info_names: Option<&[crate::flags::Named]>,
) -> String {
    let addr = word(addr, b);
    match read_io_status_block(mem, addr, b) {
        Ok(io) => {
            let info = match info_names {
                Some(t) => crate::flags::render_enum(io.information, t),
                None => io.information.to_string(),
            };
            format!(
                "{{Status={}, Information={info}}}",
                format_status(io.status)
            )
        }
        Err(DecodeError::Null(_)) => "NULL".to_string(),
        Err(DecodeError::Mem(_)) => unreadable(addr),
    }
}

/// CLIENT_ID: process and thread ids (pointer-sized).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClientId {
    /// `UniqueProcess`: the process id.
    pub unique_process: u64,
    /// `UniqueThread`: the thread id (0 when only a process is meant).
    pub unique_thread: u64,
}

/// Reads a CLIENT_ID at guest virtual address `addr` (two pointer-sized ids).
pub fn read_client_id(
    mem: &mut dyn VirtMem,
    addr: u64,
    b: Bitness,
) -> Result<ClientId, DecodeError> {
    if addr == 0 {
        return Err(DecodeError::Null("CLIENT_ID"));
    }
    Ok(ClientId {
        unique_process: read::read_ptr(mem, addr, b)?,
        unique_thread: read::read_ptr(mem, addr.wrapping_add(ptr_size(b)), b)?,
    })
}

/// Renders `{UniqueProcess=0x4d0, UniqueThread=0}`.
pub fn format_client_id(mem: &mut dyn VirtMem, addr: u64, b: Bitness) -> String {
    let addr = word(addr, b);
    match read_client_id(mem, addr, b) {
        Ok(c) => format!(
            "{{UniqueProcess={:#x}, UniqueThread={:#x}}}",
            c.unique_process, c.unique_thread
        ),
        Err(DecodeError::Null(_)) => "NULL".to_string(),
        Err(DecodeError::Mem(_)) => unreadable(addr),
    }
}

/// How a LARGE_INTEGER is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LargeIntKind {
    /// Signed decimal.
    Dec,
    /// Hexadecimal (of the 64-bit two's complement).
    Hex,
    /// Wait/delay time: negative = relative, in 100 ns units; NULL = infinite.
    Timeout,
    /// File offset: -1 FILE_WRITE_TO_END_OF_FILE, -2 FILE_USE_FILE_POINTER_POSITION.
    FileOffset,
}

/// Reads a LARGE_INTEGER (8 bytes in both layouts).
pub fn read_large_integer(mem: &mut dyn VirtMem, addr: u64) -> Result<i64, DecodeError> {
    if addr == 0 {
        return Err(DecodeError::Null("LARGE_INTEGER"));
    }
    Ok(read::read_u64(mem, addr)? as i64)
}

/// Renders a LARGE_INTEGER value.
pub fn render_large_integer(v: i64, kind: LargeIntKind) -> String {
    match kind {
        LargeIntKind::Dec => v.to_string(),
        LargeIntKind::Hex => format!("{:#x}", v as u64),
        LargeIntKind::Timeout if v < 0 => {
            let ticks = v.unsigned_abs();
            format!(
                "{v} /* relative {}.{:07}s */",
                ticks / 10_000_000,
                ticks % 10_000_000
            )
        }
        LargeIntKind::Timeout if v == 0 => "0 /* poll */".to_string(),
        LargeIntKind::Timeout => format!("{v} /* absolute */"),
        LargeIntKind::FileOffset if v == -1 => "FILE_WRITE_TO_END_OF_FILE".to_string(),
        LargeIntKind::FileOffset if v == -2 => "FILE_USE_FILE_POINTER_POSITION".to_string(),
        LargeIntKind::FileOffset => v.to_string(),
    }
}

/// Renders `[value]` for a PLARGE_INTEGER argument.
pub fn format_large_integer(
    mem: &mut dyn VirtMem,
    addr: u64,
    b: Bitness,
    kind: LargeIntKind,
) -> String {
    let addr = word(addr, b);
    match read_large_integer(mem, addr) {
        Ok(v) => format!("[{}]", render_large_integer(v, kind)),
        Err(DecodeError::Null(_)) if kind == LargeIntKind::Timeout => {
            "NULL /* infinite */".to_string()
        }
        Err(DecodeError::Null(_)) => "NULL".to_string(),
        Err(DecodeError::Mem(_)) => unreadable(addr),
    }
}

/// Renders up to `opts.max_bytes` of a `len`-byte buffer; a buffer that
/// becomes unreadable shows what was read and where it stopped.
pub fn format_buffer(
    mem: &mut dyn VirtMem,
    addr: u64,
    len: u64,
    b: Bitness,
    opts: &Limits,
) -> String {
    let addr = word(addr, b);
    if addr == 0 {
        return "NULL".to_string();
    }
    let want = len.min(opts.max_bytes as u64) as usize;
    match read_partial(mem, addr, want) {
        Ok((bytes, None)) => quote_bytes(&bytes, want, len > want as u64),
        Ok((bytes, Some(f))) if !bytes.is_empty() => format!(
            "{} /* unreadable at {f:#x} */",
            quote_bytes(&bytes, want, false)
        ),
        _ => unreadable(addr),
    }
}

/// Reads a pointer-sized array of handles (`count` capped by
/// `opts.max_array`) and renders `[0x4, 0x8, ...]`.
pub fn format_handle_array(
    mem: &mut dyn VirtMem,
    addr: u64,
    count: u64,
    b: Bitness,
    opts: &Limits,
) -> String {
    let addr = word(addr, b);
    if addr == 0 {
        return "NULL".to_string();
    }
    let n = count.min(opts.max_array as u64) as usize;
    let vals = match b {
        Bitness::B32 => {
            read::read_array_u32(mem, addr, n).map(|v| v.into_iter().map(u64::from).collect())
        }
        Bitness::B64 => read::read_array_u64(mem, addr, n),
    };
    match vals {
        Ok(v) => {
            let mut items: Vec<String> = v.iter().map(|&h| format_handle(h, b)).collect();
            if count > n as u64 {
                items.push("...".to_string());
            }
            format!("[{}]", items.join(", "))
        }
        Err(_) => unreadable(addr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::testmem::SparseVirt;

    const PAGE: u64 = 0x7ff0_0000;

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    /// UNICODE_STRING header bytes for a bitness.
    fn us_hdr(len: u16, max: u16, buf: u64, b: Bitness) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(&max.to_le_bytes());
        match b {
            Bitness::B32 => v.extend_from_slice(&(buf as u32).to_le_bytes()),
            Bitness::B64 => {
                v.extend_from_slice(&[0; 4]);
                v.extend_from_slice(&buf.to_le_bytes());
            }
        }
        v
    }

    /// OBJECT_ATTRIBUTES bytes for a bitness.
    fn oa_bytes(root: u64, name: u64, attrs: u32, sd: u64, b: Bitness) -> Vec<u8> {
        let mut v = Vec::new();
        match b {
            Bitness::B32 => {
                for x in [24u32, root as u32, name as u32, attrs, sd as u32, 0] {
                    v.extend_from_slice(&x.to_le_bytes());
                }
            }
            Bitness::B64 => {
                v.extend_from_slice(&48u32.to_le_bytes());
                v.extend_from_slice(&[0; 4]);
                v.extend_from_slice(&root.to_le_bytes());
                v.extend_from_slice(&name.to_le_bytes());
                v.extend_from_slice(&u64::from(attrs).to_le_bytes());
                v.extend_from_slice(&sd.to_le_bytes());
                v.extend_from_slice(&0u64.to_le_bytes());
            }
        }
        v
    }

    fn path_mem(b: Bitness, path: &str) -> SparseVirt {
        let mut m = SparseVirt::new();
        let s = utf16(path);
        m.map(PAGE + 0x200, &s);
        m.map(
            PAGE + 0x100,
            &us_hdr(s.len() as u16, s.len() as u16 + 2, PAGE + 0x200, b),
        );
        m.map(PAGE, &oa_bytes(0, PAGE + 0x100, 0x40, 0, b));
        m
    }

    #[test]
    fn object_attributes_both_layouts() {
        for b in [Bitness::B32, Bitness::B64] {
            let mut m = path_mem(b, "\\??\\C:\\Windows\\win.ini");
            let opts = Limits::default();
            assert_eq!(
                format_object_attributes(&mut m, PAGE, b, &opts),
                "{ObjectName=L\"\\\\??\\\\C:\\\\Windows\\\\win.ini\", Attributes=OBJ_CASE_INSENSITIVE}"
            );
            assert_eq!(
                object_attributes_name(&mut m, PAGE, b).unwrap(),
                "\\??\\C:\\Windows\\win.ini"
            );
            let oa = read_object_attributes(&mut m, PAGE, b).unwrap();
            assert_eq!(oa.length, ObjectAttributes::size(b));
            assert_eq!(oa.object_name, PAGE + 0x100);
            assert_eq!(oa.attributes, 0x40);
        }
    }

    #[test]
    fn object_attributes_wrong_layout_is_not_trusted() {
        // A 32-bit OBJECT_ATTRIBUTES read as 64-bit: ObjectName comes
        // from the wrong bytes; it must fail cleanly, not panic.
        let mut m = path_mem(Bitness::B32, "x");
        let r = object_attributes_name(&mut m, PAGE, Bitness::B64);
        assert!(r.is_err(), "{r:?}");
    }

    #[test]
    fn object_attributes_extras_and_root() {
        let b = Bitness::B64;
        let mut m = path_mem(b, "Software");
        m.map(PAGE, &oa_bytes(0x1c, PAGE + 0x100, 0x242, 0x5000, b));
        assert_eq!(
            format_object_attributes(&mut m, PAGE, b, &Limits::default()),
            "{RootDirectory=0x1c, ObjectName=L\"Software\", Attributes=OBJ_INHERIT|OBJ_CASE_INSENSITIVE|OBJ_KERNEL_HANDLE, SecurityDescriptor=0x5000}"
        );
    }

    #[test]
    fn object_attributes_hostile() {
        let b = Bitness::B64;
        let opts = Limits::default();
        let mut m = SparseVirt::new();
        // NULL and unmapped OBJECT_ATTRIBUTES.
        assert_eq!(format_object_attributes(&mut m, 0, b, &opts), "NULL");
        assert_eq!(
            format_object_attributes(&mut m, PAGE, b, &opts),
            format!("{PAGE:#x} <unreadable>")
        );
        assert_eq!(
            object_attributes_name(&mut m, 0, b),
            Err(DecodeError::Null("OBJECT_ATTRIBUTES"))
        );
        assert!(matches!(
            object_attributes_name(&mut m, PAGE, b),
            Err(DecodeError::Mem(MemError::Unmapped(_)))
        ));
        // ObjectName NULL.
        m.map(PAGE, &oa_bytes(0, 0, 0, 0, b));
        assert_eq!(
            object_attributes_name(&mut m, PAGE, b),
            Err(DecodeError::Null("ObjectName"))
        );
        assert_eq!(
            format_object_attributes(&mut m, PAGE, b, &opts),
            "{ObjectName=NULL, Attributes=0}"
        );
        // ObjectName pointing at unmapped memory.
        m.map(PAGE, &oa_bytes(0, 0xdead_0000, 0, 0, b));
        assert!(object_attributes_name(&mut m, PAGE, b).is_err());
        assert_eq!(
            format_object_attributes(&mut m, PAGE, b, &opts),
            "{ObjectName=0xdead0000 <unreadable>, Attributes=0}"
        );
        // OBJECT_ATTRIBUTES straddling into an unmapped page.
        let mut m2 = SparseVirt::new();
        m2.map(PAGE + 0xff0, &[0u8; 16]);
        assert!(read_object_attributes(&mut m2, PAGE + 0xff0, b).is_err());
        // Odd Length field (not sizeof) is shown.
        let mut bytes = oa_bytes(0, 0, 0, 0, b);
        bytes[0] = 7;
        m.map(PAGE, &bytes);
        assert_eq!(
            format_object_attributes(&mut m, PAGE, b, &opts),
            "{Length=7, ObjectName=NULL, Attributes=0}"
        );
    }

    #[test]
    fn unicode_string_hostile_values() {
        let opts = Limits::default();
        for b in [Bitness::B32, Bitness::B64] {
            let mut m = SparseVirt::new();
            m.map(PAGE + 0x800, &utf16("abcdef"));
            // Normal.
            m.map(PAGE, &us_hdr(6, 8, PAGE + 0x800, b));
            assert_eq!(format_unicode_string(&mut m, PAGE, b, &opts), "L\"abc\"");
            // Length > MaximumLength: shown, flagged.
            m.map(PAGE, &us_hdr(6, 2, PAGE + 0x800, b));
            assert_eq!(
                format_unicode_string(&mut m, PAGE, b, &opts),
                "L\"abc\" /* Length=6 > MaximumLength=2 */"
            );
            // Odd length: last byte dropped.
            m.map(PAGE, &us_hdr(5, 8, PAGE + 0x800, b));
            assert_eq!(
                format_unicode_string(&mut m, PAGE, b, &opts),
                "L\"ab\" /* odd Length=5 */"
            );
            // NULL buffer with a length.
            m.map(PAGE, &us_hdr(4, 4, 0, b));
            assert_eq!(
                format_unicode_string(&mut m, PAGE, b, &opts),
                "{Length=4, MaximumLength=4, Buffer=NULL}"
            );
            // Empty string, NULL buffer: fine.
            m.map(PAGE, &us_hdr(0, 0, 0, b));
            assert_eq!(format_unicode_string(&mut m, PAGE, b, &opts), "L\"\"");
            // Unmapped buffer.
            m.map(PAGE, &us_hdr(4, 4, 0x5000_0000, b));
            assert_eq!(
                format_unicode_string(&mut m, PAGE, b, &opts),
                "L\"\" /* Buffer=0x50000000 unreadable at 0x50000000 */"
            );
            // Not NUL-terminated, running into an unmapped page: the
            // readable prefix is shown.
            m.map(PAGE + 0x1ffc, &utf16("xy"));
            m.map(PAGE, &us_hdr(16, 16, PAGE + 0x1ffc, b));
            assert_eq!(
                format_unicode_string(&mut m, PAGE, b, &opts),
                format!(
                    "L\"xy\" /* Buffer={:#x} unreadable at {:#x} */",
                    PAGE + 0x1ffc,
                    PAGE + 0x2000
                )
            );
            // Header unmapped, and NULL pointer.
            assert_eq!(
                format_unicode_string(&mut m, 0x10, b, &opts),
                "0x10 <unreadable>"
            );
            assert_eq!(format_unicode_string(&mut m, 0, b, &opts), "NULL");
        }
    }

    #[test]
    fn unicode_string_escapes_and_truncation() {
        let b = Bitness::B64;
        let mut m = SparseVirt::new();
        let s = utf16("a\"b\\c\nd\u{1}é");
        m.map(PAGE + 0x800, &s);
        m.map(
            PAGE,
            &us_hdr(s.len() as u16, s.len() as u16, PAGE + 0x800, b),
        );
        let opts = Limits::default();
        assert_eq!(
            format_unicode_string(&mut m, PAGE, b, &opts),
            "L\"a\\\"b\\\\c\\nd\\x01é\""
        );
        let short = Limits {
            max_string: 3,
            ..opts
        };
        assert_eq!(
            format_unicode_string(&mut m, PAGE, b, &short),
            "L\"a\\\"b\"..."
        );
        // Unpaired surrogate does not panic.
        m.map(PAGE + 0x800, &[0x00, 0xd8, b'x', 0]);
        m.map(PAGE, &us_hdr(4, 4, PAGE + 0x800, b));
        assert_eq!(
            format_unicode_string(&mut m, PAGE, b, &opts),
            "L\"\u{fffd}x\""
        );
        // Maximal length 0xffff (odd, 64 KiB) over a mapped-then-unmapped
        // region stays bounded.
        m.map(PAGE, &us_hdr(0xffff, 0xffff, PAGE + 0x800, b));
        let out = format_unicode_string(&mut m, PAGE, b, &opts);
        assert!(out.contains("odd Length=65535"), "{out}");
    }

    #[test]
    fn io_status_block_layouts() {
        let mut m = SparseVirt::new();
        // 64-bit: Status, pad, Information at 8.
        let mut v = 0xC000_0034u64.to_le_bytes().to_vec();
        v.extend_from_slice(&7u64.to_le_bytes());
        m.map(PAGE, &v);
        let io = read_io_status_block(&mut m, PAGE, Bitness::B64).unwrap();
        assert_eq!(io.status, 0xC000_0034);
        assert_eq!(io.information, 7);
        // 32-bit: Information at 4.
        let mut v = 0u32.to_le_bytes().to_vec();
        v.extend_from_slice(&1u32.to_le_bytes());
        m.map(PAGE + 0x100, &v);
        assert_eq!(
            format_io_status_block(
                &mut m,
                PAGE + 0x100,
                Bitness::B32,
                Some(crate::flags::CREATE_RESULT)
            ),
            "{Status=0 STATUS_SUCCESS, Information=FILE_OPENED}"
        );
        assert_eq!(
            format_io_status_block(&mut m, PAGE, Bitness::B64, None),
            "{Status=0xc0000034 STATUS_OBJECT_NAME_NOT_FOUND, Information=7}"
        );
        assert_eq!(
            format_io_status_block(&mut m, 0, Bitness::B64, None),
            "NULL"
        );
        assert_eq!(
            format_io_status_block(&mut m, 0x1000, Bitness::B64, None),
            "0x1000 <unreadable>"
        );
    }

    #[test]
    fn client_id_and_large_integer() {
        let mut m = SparseVirt::new();
        let mut v = 0x4d0u64.to_le_bytes().to_vec();
        v.extend_from_slice(&0x4d4u64.to_le_bytes());
        m.map(PAGE, &v);
        assert_eq!(
            format_client_id(&mut m, PAGE, Bitness::B64),
            "{UniqueProcess=0x4d0, UniqueThread=0x4d4}"
        );
        // 32-bit reads 4-byte fields: thread id is the high half of 0x4d0.
        assert_eq!(
            read_client_id(&mut m, PAGE, Bitness::B32).unwrap(),
            ClientId {
                unique_process: 0x4d0,
                unique_thread: 0
            }
        );
        assert_eq!(format_client_id(&mut m, 0, Bitness::B64), "NULL");

        m.map(PAGE + 0x100, &(-10_000_000i64).to_le_bytes());
        assert_eq!(
            format_large_integer(&mut m, PAGE + 0x100, Bitness::B64, LargeIntKind::Timeout),
            "[-10000000 /* relative 1.0000000s */]"
        );
        assert_eq!(
            format_large_integer(&mut m, 0, Bitness::B64, LargeIntKind::Timeout),
            "NULL /* infinite */"
        );
        m.map(PAGE + 0x100, &(-2i64).to_le_bytes());
        assert_eq!(
            format_large_integer(&mut m, PAGE + 0x100, Bitness::B32, LargeIntKind::FileOffset),
            "[FILE_USE_FILE_POINTER_POSITION]"
        );
        assert_eq!(
            format_large_integer(&mut m, 0x20, Bitness::B32, LargeIntKind::Dec),
            "0x20 <unreadable>"
        );
        assert!(render_large_integer(i64::MIN, LargeIntKind::Timeout)
            .starts_with("-9223372036854775808"));
    }

    #[test]
    fn handles_and_buffers() {
        assert_eq!(format_handle(0x1a4, Bitness::B64), "0x1a4");
        assert_eq!(format_handle(u64::MAX, Bitness::B64), "NtCurrentProcess()");
        assert_eq!(
            format_handle(0xffff_fffe, Bitness::B32),
            "NtCurrentThread()"
        );
        // A 32-bit caller's -1 with garbage above bit 31.
        assert_eq!(
            format_handle(0xdead_0000_ffff_ffff, Bitness::B32),
            "NtCurrentProcess()"
        );
        assert_eq!(format_handle(0xffff_fffe, Bitness::B64), "0xfffffffe");
        assert_eq!(format_handle(0, Bitness::B64), "NULL");

        let mut m = SparseVirt::new();
        m.map(PAGE + 0xffa, b"hello\n");
        let opts = Limits::default();
        assert_eq!(
            format_buffer(&mut m, PAGE + 0xffa, 6, Bitness::B64, &opts),
            "\"hello\\n\""
        );
        assert_eq!(
            format_buffer(&mut m, PAGE + 0xffa, 3, Bitness::B64, &opts),
            "\"hel\""
        );
        let three = Limits {
            max_bytes: 3,
            ..opts
        };
        assert_eq!(
            format_buffer(&mut m, PAGE + 0xffa, 6, Bitness::B64, &three),
            "\"hel\"..."
        );
        // Runs into the unmapped next page.
        assert_eq!(
            format_buffer(&mut m, PAGE + 0xffa, 10, Bitness::B64, &opts),
            format!("\"hello\\n\" /* unreadable at {:#x} */", PAGE + 0x1000)
        );
        // Huge length is capped by max_bytes, not read in full.
        assert!(
            format_buffer(&mut m, PAGE + 0xffa, u64::MAX, Bitness::B64, &opts)
                .contains("unreadable")
        );
        assert_eq!(format_buffer(&mut m, 0, 10, Bitness::B64, &opts), "NULL");

        let mut h = Vec::new();
        for x in [4u32, 8, 0xffff_ffff] {
            h.extend_from_slice(&x.to_le_bytes());
        }
        m.map(PAGE + 0x100, &h);
        assert_eq!(
            format_handle_array(&mut m, PAGE + 0x100, 3, Bitness::B32, &opts),
            "[0x4, 0x8, NtCurrentProcess()]"
        );
        let two = Limits {
            max_array: 2,
            ..opts
        };
        assert_eq!(
            format_handle_array(&mut m, PAGE + 0x100, 1_000_000, Bitness::B32, &two),
            "[0x4, 0x8, ...]"
        );
    }
}
