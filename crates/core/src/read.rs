//! Bounded typed readers of guest memory.
//!
//! Every length is capped ([`MAX_READ`]), every loop is bounded, and a
//! pointer that runs into an unmapped page yields what could be read plus
//! the faulting address instead of an error where that is useful (strings).

use serde::{Deserialize, Serialize};

use crate::event::Bitness;
use crate::mem::{MemError, VirtMem};

/// Largest read any reader here performs.
pub const MAX_READ: u64 = 1 << 20;

/// Chunk size for scanning reads (strings): small enough that a short
/// string costs little, never crossing a page.
const CHUNK: u64 = 256;
const PAGE: u64 = 4096;

fn cap(addr: u64, len: u64) -> Result<(), MemError> {
    if len > MAX_READ {
        return Err(MemError::TooLong {
            addr,
            len,
            cap: MAX_READ,
        });
    }
    Ok(())
}

fn read_n<const N: usize>(mem: &mut dyn VirtMem, va: u64) -> Result<[u8; N], MemError> {
    let mut b = [0u8; N];
    mem.read_virt(va, &mut b)?;
    Ok(b)
}

/// Reads one byte at guest virtual address `va`.
pub fn read_u8(mem: &mut dyn VirtMem, va: u64) -> Result<u8, MemError> {
    Ok(read_n::<1>(mem, va)?[0])
}

/// Reads a little-endian `u16` at guest virtual address `va`.
pub fn read_u16(mem: &mut dyn VirtMem, va: u64) -> Result<u16, MemError> {
    Ok(u16::from_le_bytes(read_n(mem, va)?))
}

/// Reads a little-endian `u32` at guest virtual address `va`.
pub fn read_u32(mem: &mut dyn VirtMem, va: u64) -> Result<u32, MemError> {
    Ok(u32::from_le_bytes(read_n(mem, va)?))
}

/// Reads a little-endian `u64` at guest virtual address `va`.
pub fn read_u64(mem: &mut dyn VirtMem, va: u64) -> Result<u64, MemError> {
    Ok(u64::from_le_bytes(read_n(mem, va)?))
}

/// Reads a pointer of the given width, zero-extended.
pub fn read_ptr(mem: &mut dyn VirtMem, va: u64, bitness: Bitness) -> Result<u64, MemError> {
    match bitness {
        Bitness::B32 => read_u32(mem, va).map(u64::from),
        Bitness::B64 => read_u64(mem, va),
    }
}

/// Reads `len` bytes (a structure, a buffer) at `va`; all or nothing.
pub fn read_struct(mem: &mut dyn VirtMem, va: u64, len: usize) -> Result<Vec<u8>, MemError> {
    cap(va, len as u64)?;
    // A kept buffer (see `spare`): a decoded buffer argument's bytes.
    let mut v = crate::spare::zeroed(len);
    mem.read_virt(va, &mut v)?;
    Ok(v)
}

/// Reads `count` little-endian u64s at `va`; all or nothing.
pub fn read_array_u64(mem: &mut dyn VirtMem, va: u64, count: usize) -> Result<Vec<u64>, MemError> {
    let len = (count as u64).saturating_mul(8);
    cap(va, len)?;
    let raw = read_struct(mem, va, len as usize)?;
    Ok(raw
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect())
}

/// Reads `count` little-endian u32s at `va`; all or nothing.
pub fn read_array_u32(mem: &mut dyn VirtMem, va: u64, count: usize) -> Result<Vec<u32>, MemError> {
    let len = (count as u64).saturating_mul(4);
    cap(va, len)?;
    let raw = read_struct(mem, va, len as usize)?;
    Ok(raw
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
        .collect())
}

/// Reads up to `len` bytes at `va` page by page, stopping at the first
/// page that fails. Returns the bytes read and the faulting address, if
/// any. An unmapped `va` gives no bytes and `Some(va)`; the only error is
/// `TooLong` for `len > MAX_READ`.
pub fn read_partial(
    mem: &mut dyn VirtMem,
    va: u64,
    len: usize,
) -> Result<(Vec<u8>, Option<u64>), MemError> {
    cap(va, len as u64)?;
    let mut out = Vec::with_capacity(len.min(PAGE as usize));
    while out.len() < len {
        let a = va.wrapping_add(out.len() as u64);
        let n = (PAGE - (a & (PAGE - 1))).min((len - out.len()) as u64) as usize;
        let start = out.len();
        out.resize(start + n, 0);
        if mem.read_virt(a, &mut out[start..]).is_err() {
            out.truncate(start);
            return Ok((out, Some(a)));
        }
    }
    Ok((out, None))
}

/// A NUL-terminated string read from the guest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CString {
    /// The bytes before the NUL (or all that could be read).
    pub bytes: Vec<u8>,
    /// No NUL within `max_len` bytes.
    pub truncated: bool,
    /// The string ran into memory that could not be read at this address
    /// before a NUL was found.
    pub fault: Option<u64>,
}

impl CString {
    /// The bytes as text, invalid UTF-8 replaced.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Reads a NUL-terminated string of at most `max_len` bytes (NUL not
/// counted) at `va`. Reads in chunks that never cross a page, so a string
/// that ends just before an unmapped page reads fine. An unreadable first
/// byte is an error; running into an unreadable page later returns what
/// was read with `fault` set.
///
/// ```
/// use vstrace_core::read::read_cstring;
/// use vstrace_core::testmem::SparseVirt;
///
/// let mut mem = SparseVirt::new();
/// mem.map(0x1000, b"/etc/passwd\0");
/// let s = read_cstring(&mut mem, 0x1000, 4096)?;
/// assert_eq!(s.to_string_lossy(), "/etc/passwd");
/// assert!(!s.truncated && s.fault.is_none());
///
/// // At most `max_len` bytes: a guest string need not end.
/// let s = read_cstring(&mut mem, 0x1000, 4)?;
/// assert_eq!((s.bytes.as_slice(), s.truncated), (&b"/etc"[..], true));
///
/// // A string running into an unmapped page: what was read, and where it stopped.
/// mem.map(0x2ffd, b"abc");
/// let s = read_cstring(&mut mem, 0x2ffd, 4096)?;
/// assert_eq!((s.bytes.as_slice(), s.fault), (&b"abc"[..], Some(0x3000)));
///
/// // An unreadable first byte is an error.
/// assert!(read_cstring(&mut mem, 0x9000, 4096).is_err());
/// # Ok::<(), vstrace_core::MemError>(())
/// ```
pub fn read_cstring(mem: &mut dyn VirtMem, va: u64, max_len: usize) -> Result<CString, MemError> {
    cap(va, max_len as u64)?;
    let mut s = CString::default();
    let mut buf = [0u8; CHUNK as usize];
    while s.bytes.len() < max_len {
        let a = va.wrapping_add(s.bytes.len() as u64);
        let n = (PAGE - (a & (PAGE - 1)))
            .min(CHUNK)
            .min((max_len - s.bytes.len()) as u64) as usize;
        if let Err(e) = mem.read_virt(a, &mut buf[..n]) {
            if s.bytes.is_empty() {
                return Err(e);
            }
            s.fault = Some(a);
            return Ok(s);
        }
        if let Some(nul) = buf[..n].iter().position(|&b| b == 0) {
            s.bytes.extend_from_slice(&buf[..nul]);
            return Ok(s);
        }
        s.bytes.extend_from_slice(&buf[..n]);
    }
    s.truncated = true;
    Ok(s)
}

/// UTF-16LE text read from the guest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utf16Text {
    /// Decoded text, unpaired surrogates replaced.
    pub text: String,
    /// Fewer bytes than asked were read because of the `max` cap.
    pub truncated: bool,
    /// The byte length was odd: the last byte was ignored.
    pub odd_length: bool,
    /// Reading stopped at this unreadable address.
    pub fault: Option<u64>,
}

/// Reads `len_bytes` bytes of UTF-16LE at `va`, at most `max` of them.
/// An odd length drops the last byte; an unreadable page stops the read
/// and sets `fault` (nothing read at all is still `Ok`).
///
/// ```
/// use vstrace_core::read::read_utf16;
/// use vstrace_core::testmem::SparseVirt;
///
/// let units: Vec<u8> = "C:\\tmp".encode_utf16().flat_map(u16::to_le_bytes).collect();
/// let mut mem = SparseVirt::new();
/// mem.map(0x4000, &units);
///
/// let t = read_utf16(&mut mem, 0x4000, units.len(), 1024)?;
/// assert_eq!(t.text, "C:\\tmp");
/// assert!(!t.truncated && !t.odd_length);
///
/// // A guest-supplied length above the cap reads only `max` bytes.
/// let t = read_utf16(&mut mem, 0x4000, 60_000, 4)?;
/// assert_eq!((t.text.as_str(), t.truncated), ("C:", true));
/// # Ok::<(), vstrace_core::MemError>(())
/// ```
pub fn read_utf16(
    mem: &mut dyn VirtMem,
    va: u64,
    len_bytes: usize,
    max: usize,
) -> Result<Utf16Text, MemError> {
    cap(va, max as u64)?;
    let mut out = Utf16Text {
        odd_length: len_bytes % 2 == 1,
        ..Default::default()
    };
    let want = if len_bytes > max {
        out.truncated = true;
        max
    } else {
        len_bytes
    } & !1;
    let (raw, fault) = read_partial(mem, va, want)?;
    out.fault = fault;
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    out.text = String::from_utf16_lossy(&units);
    Ok(out)
}

/// A UNICODE_STRING read from the guest, with what was odd about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnicodeString {
    /// Length in bytes, as the guest gave it.
    pub length: u16,
    /// Capacity of the buffer in bytes, as the guest gave it (not trusted for reads).
    pub maximum_length: u16,
    /// Guest virtual address of the UTF-16 buffer.
    pub buffer: u64,
    /// The first `length` bytes of `buffer`, decoded (as far as readable).
    pub text: String,
    /// `length > maximum_length` (the kernel would reject it).
    pub length_exceeds_max: bool,
    /// `length` is odd (not a whole number of UTF-16 units).
    pub odd_length: bool,
    /// `buffer` is null while `length` is not zero.
    pub null_buffer: bool,
    /// The buffer could not be read from this address on.
    pub buffer_fault: Option<u64>,
}

impl UnicodeString {
    /// Whether anything about the structure was invalid.
    pub fn is_hostile(&self) -> bool {
        self.length_exceeds_max
            || self.odd_length
            || self.null_buffer
            || self.buffer_fault.is_some()
    }
}

/// Reads a UNICODE_STRING at `va`. Layout: 32-bit `u16 Length, u16
/// MaximumLength, u32 Buffer`; 64-bit `u16, u16, 4 bytes padding, u64
/// Buffer`. Only an unreadable header is an error; hostile values are
/// reported in the flags.
///
/// ```
/// use vstrace_core::read::read_unicode_string;
/// use vstrace_core::testmem::SparseVirt;
/// use vstrace_core::Bitness;
///
/// // A 64-bit UNICODE_STRING at 0x1000: Length 10, MaximumLength 12,
/// // Buffer 0x2000 holding L"hello".
/// let mut mem = SparseVirt::new();
/// let mut header = Vec::new();
/// header.extend_from_slice(&10u16.to_le_bytes());
/// header.extend_from_slice(&12u16.to_le_bytes());
/// header.extend_from_slice(&[0; 4]); // padding before the pointer
/// header.extend_from_slice(&0x2000u64.to_le_bytes());
/// mem.map(0x1000, &header);
/// let text: Vec<u8> = "hello".encode_utf16().flat_map(u16::to_le_bytes).collect();
/// mem.map(0x2000, &text);
///
/// let us = read_unicode_string(&mut mem, 0x1000, Bitness::B64)?;
/// assert_eq!((us.length, us.buffer), (10, 0x2000));
/// assert_eq!(us.text, "hello");
/// assert!(!us.is_hostile());
///
/// // The guest claims 20 bytes in a 12-byte buffer: read, but flagged.
/// mem.map(0x1000, &20u16.to_le_bytes());
/// let us = read_unicode_string(&mut mem, 0x1000, Bitness::B64)?;
/// assert!(us.length_exceeds_max && us.is_hostile());
/// # Ok::<(), vstrace_core::MemError>(())
/// ```
pub fn read_unicode_string(
    mem: &mut dyn VirtMem,
    va: u64,
    bitness: Bitness,
) -> Result<UnicodeString, MemError> {
    let (length, maximum_length, buffer) = match bitness {
        Bitness::B32 => {
            let h: [u8; 8] = read_n(mem, va)?;
            (
                u16::from_le_bytes([h[0], h[1]]),
                u16::from_le_bytes([h[2], h[3]]),
                u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as u64,
            )
        }
        Bitness::B64 => {
            let h: [u8; 16] = read_n(mem, va)?;
            let mut p = [0u8; 8];
            p.copy_from_slice(&h[8..16]);
            (
                u16::from_le_bytes([h[0], h[1]]),
                u16::from_le_bytes([h[2], h[3]]),
                u64::from_le_bytes(p),
            )
        }
    };
    let mut us = UnicodeString {
        length,
        maximum_length,
        buffer,
        length_exceeds_max: length > maximum_length,
        odd_length: length % 2 == 1,
        null_buffer: buffer == 0 && length != 0,
        ..Default::default()
    };
    if length != 0 && buffer != 0 {
        // length is a u16: at most 64 KiB, well under MAX_READ.
        let t = read_utf16(mem, buffer, length as usize, length as usize)?;
        us.text = t.text;
        us.buffer_fault = t.fault;
    }
    Ok(us)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testmem::SparseVirt;

    const P: u64 = 0x1000_0000; // a mapped page; P + 0x1000 is unmapped

    fn mem_with(at: u64, bytes: &[u8]) -> SparseVirt {
        let mut m = SparseVirt::new();
        m.map_zeroed(P, 4096);
        m.map(at, bytes);
        m
    }

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    #[test]
    fn integers_and_pointers() {
        let mut m = mem_with(P, &0x1122_3344_5566_7788u64.to_le_bytes());
        assert_eq!(read_u8(&mut m, P).unwrap(), 0x88);
        assert_eq!(read_u16(&mut m, P).unwrap(), 0x7788);
        assert_eq!(read_u32(&mut m, P).unwrap(), 0x5566_7788);
        assert_eq!(read_u64(&mut m, P).unwrap(), 0x1122_3344_5566_7788);
        assert_eq!(read_ptr(&mut m, P, Bitness::B32).unwrap(), 0x5566_7788);
        assert_eq!(
            read_ptr(&mut m, P, Bitness::B64).unwrap(),
            0x1122_3344_5566_7788
        );
        // Straddling into the unmapped page.
        assert_eq!(
            read_u64(&mut m, P + 0xffc),
            Err(MemError::Unmapped(P + 0x1000))
        );
        assert_eq!(read_u32(&mut m, P + 0xffc), Ok(0));
    }

    #[test]
    fn structs_and_arrays_are_bounded() {
        let words: Vec<u8> = (1..=4u64).flat_map(|w| w.to_le_bytes()).collect();
        let mut m = mem_with(P + 0x100, &words);
        assert_eq!(
            read_array_u64(&mut m, P + 0x100, 4).unwrap(),
            vec![1, 2, 3, 4]
        );
        assert_eq!(
            read_array_u32(&mut m, P + 0x100, 4).unwrap(),
            vec![1, 0, 2, 0]
        );
        assert_eq!(read_struct(&mut m, P + 0x100, 3).unwrap(), vec![1, 0, 0]);
        assert!(read_array_u64(&mut m, P + 0xff8, 2).is_err());
        for r in [
            read_struct(&mut m, P, MAX_READ as usize + 1).map(|_| ()),
            read_array_u64(&mut m, P, usize::MAX).map(|_| ()),
            read_array_u32(&mut m, P, (MAX_READ / 4) as usize + 1).map(|_| ()),
        ] {
            assert!(matches!(r, Err(MemError::TooLong { .. })), "{r:?}");
        }
        assert_eq!(read_array_u32(&mut m, P, 0).unwrap(), Vec::<u32>::new());
    }

    #[test]
    fn cstring_ending_at_page_end_reads_fine() {
        // "hello" with its NUL on the last byte of the page.
        let mut m = mem_with(P + 0xffa, b"hello\0");
        let s = read_cstring(&mut m, P + 0xffa, 4096).unwrap();
        assert_eq!(
            s,
            CString {
                bytes: b"hello".to_vec(),
                truncated: false,
                fault: None
            }
        );
        assert_eq!(s.to_string_lossy(), "hello");
    }

    #[test]
    fn cstring_running_into_unmapped_page() {
        let mut m = mem_with(P + 0xffa, b"hello!");
        let s = read_cstring(&mut m, P + 0xffa, 4096).unwrap();
        assert_eq!(s.bytes, b"hello!");
        assert_eq!(s.fault, Some(P + 0x1000));
        assert!(!s.truncated);
        // Starting unmapped is an error with the faulting address.
        assert_eq!(
            read_cstring(&mut m, P + 0x1000, 10),
            Err(MemError::Unmapped(P + 0x1000))
        );
    }

    #[test]
    fn cstring_long_and_capped() {
        // Crosses chunks and a page boundary into a second mapped page.
        let long: Vec<u8> = (0..3000).map(|i| b'a' + (i % 26) as u8).collect();
        let mut m = mem_with(P + 0x800, &long);
        m.map(P + 0x800 + 3000, b"\0");
        let s = read_cstring(&mut m, P + 0x800, 8192).unwrap();
        assert_eq!(s.bytes, long);
        assert!(!s.truncated && s.fault.is_none());
        // Unterminated: capped at max_len.
        let s = read_cstring(&mut m, P + 0x800, 10).unwrap();
        assert_eq!(s.bytes, &long[..10]);
        assert!(s.truncated);
        // Exactly max_len bytes then NUL: not truncated? The NUL is beyond
        // max_len, so it is.
        let s = read_cstring(&mut m, P + 0x800, 3000).unwrap();
        assert!(s.truncated && s.bytes.len() == 3000);
        let s = read_cstring(&mut m, P + 0x800 + 2990, 100).unwrap();
        assert!(!s.truncated && s.bytes.len() == 10);
        assert_eq!(read_cstring(&mut m, P, 0).unwrap().bytes.len(), 0);
        assert!(matches!(
            read_cstring(&mut m, P, MAX_READ as usize + 1),
            Err(MemError::TooLong { .. })
        ));
        // Empty string.
        let s = read_cstring(&mut m, P, 100).unwrap();
        assert!(s.bytes.is_empty() && !s.truncated);
    }

    #[test]
    fn utf16_reads() {
        let text = utf16("C:\\Windows\\é€😀");
        let mut m = mem_with(P + 0x10, &text);
        let t = read_utf16(&mut m, P + 0x10, text.len(), 4096).unwrap();
        assert_eq!(t.text, "C:\\Windows\\é€😀");
        assert!(!t.truncated && !t.odd_length && t.fault.is_none());
        let t = read_utf16(&mut m, P + 0x10, text.len(), 6).unwrap();
        assert_eq!(t.text, "C:\\");
        assert!(t.truncated);
        let t = read_utf16(&mut m, P + 0x10, 5, 4096).unwrap();
        assert_eq!(t.text, "C:");
        assert!(t.odd_length);
        // Runs off the mapped page.
        let mut m = mem_with(P + 0xffc, &utf16("ab"));
        let t = read_utf16(&mut m, P + 0xffc, 8, 4096).unwrap();
        assert_eq!(t.text, "ab");
        assert_eq!(t.fault, Some(P + 0x1000));
        // Unpaired surrogate is replaced, not a panic.
        let mut m = mem_with(P, &[0x00, 0xd8, b'x', 0]);
        assert_eq!(read_utf16(&mut m, P, 4, 4).unwrap().text, "\u{fffd}x");
    }

    /// Builds a UNICODE_STRING header at `at`.
    fn header(bits: Bitness, len: u16, max: u16, buf: u64) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&len.to_le_bytes());
        h.extend_from_slice(&max.to_le_bytes());
        match bits {
            Bitness::B32 => h.extend_from_slice(&(buf as u32).to_le_bytes()),
            Bitness::B64 => {
                h.extend_from_slice(&[0xcc; 4]); // padding: ignored
                h.extend_from_slice(&buf.to_le_bytes());
            }
        }
        h
    }

    #[test]
    fn unicode_string_both_layouts() {
        let text = utf16("\\??\\C:\\x.txt");
        let n = text.len() as u16;
        for bits in [Bitness::B32, Bitness::B64] {
            let mut m = mem_with(P + 0x200, &text);
            m.map(P, &header(bits, n, n + 2, P + 0x200));
            let us = read_unicode_string(&mut m, P, bits).unwrap();
            assert_eq!(us.text, "\\??\\C:\\x.txt", "{bits:?}");
            assert_eq!(
                (us.length, us.maximum_length, us.buffer),
                (n, n + 2, P + 0x200)
            );
            assert!(!us.is_hostile());
        }
        // A 32-bit read of a 64-bit header sees the padding as the buffer.
        let mut m = mem_with(P, &header(Bitness::B64, 4, 4, P + 0x200));
        let us = read_unicode_string(&mut m, P, Bitness::B32).unwrap();
        assert_eq!(us.buffer, 0xcccc_cccc);
        assert_eq!(us.buffer_fault, Some(0xcccc_cccc));
    }

    #[test]
    fn hostile_unicode_strings() {
        let text = utf16("abcdefgh");
        let bits = Bitness::B64;
        let read = |hdr: Vec<u8>| {
            let mut m = mem_with(P + 0x200, &text);
            m.map(P, &hdr);
            read_unicode_string(&mut m, P, bits).unwrap()
        };
        // Length > MaximumLength: reported; Length is what gets read.
        let us = read(header(bits, 8, 4, P + 0x200));
        assert!(us.length_exceeds_max && us.is_hostile());
        assert_eq!(us.text, "abcd");
        // Odd length: the odd byte is dropped.
        let us = read(header(bits, 5, 16, P + 0x200));
        assert!(us.odd_length);
        assert_eq!(us.text, "ab");
        // Null buffer with a length.
        let us = read(header(bits, 8, 8, 0));
        assert!(us.null_buffer && us.text.is_empty());
        // Null buffer and zero length is just an empty string.
        let us = read(header(bits, 0, 0, 0));
        assert!(!us.is_hostile());
        // Unmapped buffer.
        let us = read(header(bits, 8, 8, 0xdead_0000));
        assert_eq!(us.buffer_fault, Some(0xdead_0000));
        assert!(us.text.is_empty());
        // Buffer running off the mapping: partial text and the fault.
        let us = read(header(bits, 0xfffe, 0xfffe, P + 0xffc));
        assert_eq!(us.buffer_fault, Some(P + 0x1000));
        assert_eq!(us.text.chars().count(), 2);
        // Non-canonical-ish and huge pointers: no panic.
        let us = read(header(bits, 0xffff, 0, u64::MAX - 1));
        assert!(us.length_exceeds_max && us.odd_length && us.buffer_fault.is_some());
        // Unreadable header is the only error.
        let mut m = SparseVirt::new();
        assert_eq!(
            read_unicode_string(&mut m, 0x40, bits),
            Err(MemError::Unmapped(0x40))
        );
    }
}
