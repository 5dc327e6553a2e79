//! The byte formats of the fuzz inputs: a [`Cursor`] that reads fields
//! from the fuzzer's bytes (missing bytes read as zero, so every input is
//! valid) and the matching [`Encoder`] the seed generator writes with.

/// Reads little-endian fields from a fuzz input.
pub struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Cursor<'a> {
        Cursor { data, pos: 0 }
    }
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        for x in b.iter_mut() {
            if let Some(&v) = self.data.get(self.pos) {
                *x = v;
            }
            self.pos += 1;
        }
        self.pos = self.pos.min(self.data.len());
        b
    }
    /// The next byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    /// The next 2 bytes as a little-endian `u16` (missing bytes are 0).
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    /// The next 4 bytes as a little-endian `u32` (missing bytes are 0).
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    /// The next 8 bytes as a little-endian `u64` (missing bytes are 0).
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    /// The low bit of the next byte.
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 != 0
    }
    /// `len` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, len: usize) -> &'a [u8] {
        let end = self.pos.saturating_add(len).min(self.data.len());
        let b = &self.data[self.pos..end];
        self.pos = end;
        b
    }
    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let b = &self.data[self.pos..];
        self.pos = self.data.len();
        b
    }
    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }
}

/// Writes fields in [`Cursor`]'s format.
#[derive(Default)]
pub struct Encoder {
    /// The bytes written so far: a complete fuzz input.
    pub out: Vec<u8>,
}

impl Encoder {
    /// An encoder with no bytes yet.
    pub fn new() -> Encoder {
        Encoder::default()
    }
    /// Appends one byte (what [`Cursor::u8`] reads).
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.out.push(v);
        self
    }
    /// Appends a little-endian `u16` (what [`Cursor::u16`] reads).
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a little-endian `u32` (what [`Cursor::u32`] reads).
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a little-endian `u64` (what [`Cursor::u64`] reads).
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends raw bytes (what [`Cursor::bytes`] or [`Cursor::rest`] reads).
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.out.extend_from_slice(b);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_reads_what_encoder_writes_and_zeroes_past_the_end() {
        let mut e = Encoder::new();
        e.u8(1).u16(0x203).u32(0x4050607).u64(u64::MAX).bytes(b"ab");
        let mut c = Cursor::new(&e.out);
        assert_eq!(
            (c.u8(), c.u16(), c.u32(), c.u64()),
            (1, 0x203, 0x4050607, u64::MAX)
        );
        assert_eq!(c.bytes(5), b"ab");
        assert!(c.is_empty());
        assert_eq!((c.u64(), c.rest()), (0, &[][..]));
    }
}
