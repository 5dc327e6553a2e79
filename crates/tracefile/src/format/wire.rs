//! The wire primitives of the trace format: LEB128/zigzag varints,
//! strings, and the error and address-space codes, written by the encoder
//! and read back by a bounded `Cursor` (a hostile file can claim any
//! length; every read checks what is left).

use vstrace_core::cpu::CpuError;
use vstrace_core::mem::PagingMode;
use vstrace_core::{MemError, ProbedSignal, Reg, Space};

use super::TraceErrorKind;

pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(super) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub(super) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

pub(super) fn put_mem_error(out: &mut Vec<u8>, e: &MemError) {
    match e {
        MemError::Unmapped(a) => {
            out.push(0);
            put_varint(out, *a);
        }
        MemError::BadPhys(a) => {
            out.push(1);
            put_varint(out, *a);
        }
        MemError::ReadOnly(a) => {
            out.push(2);
            put_varint(out, *a);
        }
        MemError::TooLong { addr, len, cap } => {
            out.push(3);
            put_varint(out, *addr);
            put_varint(out, *len);
            put_varint(out, *cap);
        }
        MemError::Other { addr, reason } => {
            out.push(4);
            put_varint(out, *addr);
            put_str(out, reason);
        }
        MemError::NoOtherSpace(a) => {
            out.push(5);
            put_varint(out, *a);
        }
    }
}

pub(super) fn put_space(out: &mut Vec<u8>, s: &Space) {
    out.push(match s.mode {
        PagingMode::Legacy32 => 0,
        PagingMode::Pae => 1,
        PagingMode::Long4 => 2,
        PagingMode::Long5 => 3,
        PagingMode::Physical => 4,
    });
    put_varint(out, s.root);
}

pub(super) fn put_cpu_error(out: &mut Vec<u8>, e: &CpuError) {
    match e {
        CpuError::WriteUnsupported(s) => {
            out.push(0);
            put_str(out, s);
        }
        CpuError::WriteFailed { reg, reason } => {
            out.push(1);
            out.push(*reg as u8);
            put_str(out, reason);
        }
    }
}

/// Access kind 7, a probed signal: signo, len, the siginfo's bytes.
pub(super) fn put_probed(out: &mut Vec<u8>, p: &ProbedSignal) {
    out.push(7);
    put_varint(out, u64::from(p.signo));
    put_varint(out, p.info.len() as u64);
    out.extend_from_slice(&p.info);
}

/// Bounded reading of one frame's payload.
pub(super) struct Cursor<'a> {
    pub(super) b: &'a [u8],
}

/// The 7-bit groups of up to 8 varint bytes (little-endian in `w`),
/// packed into one 56-bit value: pairs, then quads, then the two halves.
#[inline]
pub(super) fn pack7(w: u64) -> u64 {
    let w = w & 0x7f7f_7f7f_7f7f_7f7f;
    let w = (w & 0x007f_007f_007f_007f) | ((w & 0x7f00_7f00_7f00_7f00) >> 1);
    let w = (w & 0x0000_3fff_0000_3fff) | ((w & 0x3fff_0000_3fff_0000) >> 2);
    (w & 0x0000_0000_0fff_ffff) | ((w & 0x0fff_ffff_0000_0000) >> 4)
}

impl<'a> Cursor<'a> {
    pub(super) fn remaining(&self) -> usize {
        self.b.len()
    }
    #[inline]
    pub(super) fn u8(&mut self) -> Result<u8, TraceErrorKind> {
        let (&v, rest) = self
            .b
            .split_first()
            .ok_or(TraceErrorKind::Malformed("frame too short"))?;
        self.b = rest;
        Ok(v)
    }
    #[inline]
    pub(super) fn varint(&mut self) -> Result<u64, TraceErrorKind> {
        // Most values (lengths, register deltas, counts) fit in one byte.
        if let Some((&b, rest)) = self.b.split_first() {
            if b < 0x80 {
                self.b = rest;
                return Ok(b as u64);
            }
        }
        self.varint_long()
    }
    /// A varint of more bytes than one (kernel addresses take ten):
    /// when the longest one fits, its first 8 bytes are decoded as one
    /// word (the end found from their continuation bits, the 7-bit
    /// groups packed with shifts), without a branch per byte. Inlined:
    /// a register delta or an address is one per changed field.
    #[inline]
    fn varint_long(&mut self) -> Result<u64, TraceErrorKind> {
        // Two bytes (time deltas, small registers): no word to pack.
        if let [b0, b1, ..] = *self.b {
            if b1 < 0x80 {
                self.b = &self.b[2..];
                return Ok((b0 & 0x7f) as u64 | (b1 as u64) << 7);
            }
        }
        if let Some(head) = self.b.first_chunk::<10>() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&head[..8]);
            let w = u64::from_le_bytes(word);
            let ends = !w & 0x8080_8080_8080_8080;
            if ends != 0 {
                // The first byte without its continuation bit ends it.
                let n = (ends.trailing_zeros() / 8 + 1) as usize;
                let keep = if n == 8 {
                    u64::MAX
                } else {
                    (1u64 << (8 * n)) - 1
                };
                self.b = &self.b[n..];
                return Ok(pack7(w & keep));
            }
            let (b8, b9) = (head[8], head[9]);
            let low = pack7(w);
            if b8 & 0x80 == 0 {
                self.b = &self.b[9..];
                return Ok(low | (b8 as u64) << 56);
            }
            if b9 & 0x7f > 1 {
                return Err(TraceErrorKind::Malformed("varint overflow"));
            }
            if b9 & 0x80 != 0 {
                return Err(TraceErrorKind::Malformed("varint too long"));
            }
            self.b = &self.b[10..];
            return Ok(low | ((b8 & 0x7f) as u64) << 56 | (b9 as u64) << 63);
        }
        self.varint_tail()
    }
    /// A varint near the end of the frame (fewer than 10 bytes left),
    /// byte by byte.
    #[cold]
    fn varint_tail(&mut self) -> Result<u64, TraceErrorKind> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            let part = (b & 0x7f) as u64;
            if shift == 63 && part > 1 {
                return Err(TraceErrorKind::Malformed("varint overflow"));
            }
            v |= part << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(TraceErrorKind::Malformed("varint too long"))
    }
    pub(super) fn bytes(&mut self, len: u64) -> Result<&'a [u8], TraceErrorKind> {
        if len > self.b.len() as u64 {
            return Err(TraceErrorKind::Malformed("length beyond the frame"));
        }
        let (h, t) = self.b.split_at(len as usize);
        self.b = t;
        Ok(h)
    }
    pub(super) fn string(&mut self) -> Result<String, TraceErrorKind> {
        let n = self.varint()?;
        Ok(String::from_utf8_lossy(self.bytes(n)?).into_owned())
    }
    pub(super) fn reg(&mut self) -> Result<Reg, TraceErrorKind> {
        Reg::ALL
            .get(self.u8()? as usize)
            .copied()
            .ok_or(TraceErrorKind::Malformed("register"))
    }
    pub(super) fn mem_error(&mut self) -> Result<MemError, TraceErrorKind> {
        Ok(match self.u8()? {
            0 => MemError::Unmapped(self.varint()?),
            1 => MemError::BadPhys(self.varint()?),
            2 => MemError::ReadOnly(self.varint()?),
            3 => MemError::TooLong {
                addr: self.varint()?,
                len: self.varint()?,
                cap: self.varint()?,
            },
            4 => MemError::Other {
                addr: self.varint()?,
                reason: self.string()?,
            },
            5 => MemError::NoOtherSpace(self.varint()?),
            _ => return Err(TraceErrorKind::Malformed("memory error kind")),
        })
    }
    pub(super) fn space(&mut self) -> Result<Space, TraceErrorKind> {
        let mode = match self.u8()? {
            0 => PagingMode::Legacy32,
            1 => PagingMode::Pae,
            2 => PagingMode::Long4,
            3 => PagingMode::Long5,
            4 => PagingMode::Physical,
            _ => return Err(TraceErrorKind::Malformed("paging mode")),
        };
        Ok(Space {
            mode,
            root: self.varint()?,
        })
    }
    /// A probed signal after its kind byte (see [`put_probed`]).
    pub(super) fn probed(&mut self) -> Result<ProbedSignal, TraceErrorKind> {
        let signo = u32::try_from(self.varint()?)
            .map_err(|_| TraceErrorKind::Malformed("probed signal number"))?;
        let len = self.varint()?;
        Ok(ProbedSignal {
            signo,
            info: self.bytes(len)?.to_vec(),
        })
    }
    pub(super) fn cpu_error(&mut self) -> Result<CpuError, TraceErrorKind> {
        Ok(match self.u8()? {
            0 => CpuError::WriteUnsupported(self.string()?),
            1 => CpuError::WriteFailed {
                reg: self.reg()?,
                reason: self.string()?,
            },
            _ => return Err(TraceErrorKind::Malformed("register error kind")),
        })
    }
}
