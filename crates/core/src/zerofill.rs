//! User reads that see a never-touched page as the process would.
//!
//! A tracer inside the guest (strace's `process_vm_readv`) makes the
//! kernel fault a page in: an anonymous private page the process never
//! touched reads as zeros. Read from outside through the page tables the
//! same page is not mapped at all. [`ZeroFilled`] wraps a call's user
//! reads: when one fails on a page that is not present, it asks the OS
//! layer (a [`ZeroPages`]) whether the page would read as zeros, and if so
//! fills that part of the read with zeros and reads on. Every other
//! failure stands, and a read that succeeds costs nothing more.
//!
//! The layer's own reads (its memory-area tree, page-table entries) go
//! through the same memory as the call's reads, so a recording holds them
//! and a replay answers them alike.

use crate::mem::{MemError, Space, UserOnly, VirtMem};

/// What decides whether a not-present user page reads as zeros.
pub trait ZeroPages {
    /// The end (exclusive, above `addr`) of the range from `addr` that
    /// would read as zeros had the calling process read it itself, a read
    /// having just failed at `addr`; `None` when the failure stands.
    /// `mem` is the trap's whole memory (kernel addresses included).
    fn zero_end(&self, mem: &mut dyn VirtMem, addr: u64) -> Option<u64>;
}

impl<T: ZeroPages + ?Sized> ZeroPages for &T {
    fn zero_end(&self, mem: &mut dyn VirtMem, addr: u64) -> Option<u64> {
        (**self).zero_end(mem, addr)
    }
}

/// Most verdicts one wrapper keeps (ranges found zero or refused).
const MAX_VERDICTS: usize = 16;

/// Most failures one read goes past: each is a distinct range of zeros,
/// at least a page, so a read of [`crate::mem::MAX_ACCESS`] needs at most
/// this many.
const MAX_FILLS: usize = 4097;

/// [`UserOnly`] whose reads see untouched pages as zeros, as decided by
/// `pages`. Meant to live for one call's decoding within one event (the
/// guest changes its memory between events); verdicts are kept for its
/// lifetime, so a decoder reading the same page again asks once.
pub struct ZeroFilled<'a, P> {
    user: UserOnly<'a>,
    pages: Option<P>,
    /// `(start, end, zero)`: ranges known to read as zeros, or (`zero`
    /// false, one byte) addresses whose failure stands.
    verdicts: Vec<(u64, u64, bool)>,
}

impl<'a, P: ZeroPages> ZeroFilled<'a, P> {
    /// The user part of `mem` below `end`, its untouched pages decided by
    /// `pages` (None: reads fail as [`UserOnly`]'s do).
    pub fn new(mem: &'a mut dyn VirtMem, end: u64, pages: Option<P>) -> Self {
        ZeroFilled {
            user: UserOnly { mem, end },
            pages,
            verdicts: Vec::new(),
        }
    }

    /// The end of the zero range holding `addr`, from the verdicts kept or
    /// asked of [`ZeroFilled::pages`].
    fn zero_end(&mut self, addr: u64) -> Option<u64> {
        if let Some(&(_, end, zero)) = self
            .verdicts
            .iter()
            .find(|(s, e, _)| (*s..*e).contains(&addr))
        {
            return zero.then_some(end);
        }
        let pages = self.pages.as_ref()?;
        // Only user addresses (and the layer's answer clipped to them).
        let end = pages
            .zero_end(&mut *self.user.mem, addr)
            .filter(|&e| e > addr)
            .map(|e| e.min(self.user.end));
        if self.verdicts.len() >= MAX_VERDICTS {
            self.verdicts.remove(0);
        }
        self.verdicts
            .push((addr, end.unwrap_or(addr + 1), end.is_some()));
        end
    }

    /// Completes the read of `buf` at `addr` that failed at `at`: zeros
    /// where the pages say so, the bytes elsewhere.
    fn fill(&mut self, addr: u64, buf: &mut [u8], mut at: u64) -> Result<(), MemError> {
        // UserOnly's check passed: `addr + len` is at most its end.
        let end = addr + buf.len() as u64;
        let mut cur = addr;
        for _ in 0..MAX_FILLS {
            // A fault outside what is left to read is not this read's.
            if at < cur || at >= end {
                return Err(MemError::Unmapped(at));
            }
            let zend = self.zero_end(at).ok_or(MemError::Unmapped(at))?;
            // The bytes before the fault translated; all-or-nothing reads
            // did not deliver them.
            let (lo, mid) = ((cur - addr) as usize, (at - addr) as usize);
            if mid > lo {
                self.user.read_virt(cur, &mut buf[lo..mid])?;
            }
            let stop = zend.min(end);
            buf[mid..(stop - addr) as usize].fill(0);
            cur = stop;
            if cur == end {
                return Ok(());
            }
            match self.user.read_virt(cur, &mut buf[(cur - addr) as usize..]) {
                Err(MemError::Unmapped(a)) => at = a,
                r => return r,
            }
        }
        Err(MemError::Unmapped(at))
    }
}

impl<P: ZeroPages> VirtMem for ZeroFilled<'_, P> {
    fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        // Beyond user space: refused as UserOnly refuses, never asked.
        let user = addr < self.user.end && self.user.end - addr >= buf.len() as u64;
        match self.user.read_virt(addr, buf) {
            Err(MemError::Unmapped(at)) if user && self.pages.is_some() && !buf.is_empty() => {
                self.fill(addr, buf, at)
            }
            r => r,
        }
    }
    fn write_virt(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError> {
        self.user.write_virt(addr, data)
    }
    fn read_virt_in(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.user.read_virt_in(space, addr, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testmem::SparseVirt;
    use std::cell::Cell;

    /// Pages in `[start, end)` read as zeros; counts the questions.
    struct Anon {
        start: u64,
        end: u64,
        asked: Cell<usize>,
    }

    impl ZeroPages for Anon {
        fn zero_end(&self, _mem: &mut dyn VirtMem, addr: u64) -> Option<u64> {
            self.asked.set(self.asked.get() + 1);
            (self.start..self.end)
                .contains(&addr)
                .then_some(((addr >> 12) + 1) << 12)
        }
    }

    fn anon(start: u64, end: u64) -> Anon {
        Anon {
            start,
            end,
            asked: Cell::new(0),
        }
    }

    #[test]
    fn untouched_pages_read_as_zeros_between_mapped_ones() {
        let mut mem = SparseVirt::new();
        mem.map(0x1ff8, b"ABCDEFGH");
        mem.map(0x4000, b"IJ");
        // 0x2000..0x4000 untouched anonymous memory.
        let pages = anon(0x2000, 0x4000);
        let mut z = ZeroFilled::new(&mut mem, 1 << 47, Some(&pages));
        let mut buf = [0xffu8; 0x2000 + 10];
        z.read_virt(0x1ff8, &mut buf).unwrap();
        assert_eq!(&buf[..8], b"ABCDEFGH");
        assert!(buf[8..0x2008].iter().all(|&b| b == 0));
        assert_eq!(&buf[0x2008..], b"IJ");
        assert_eq!(pages.asked.get(), 2);
        // Asked once per page: a second read of the same page is known.
        let mut b = [1u8; 4];
        z.read_virt(0x2100, &mut b).unwrap();
        assert_eq!(b, [0; 4]);
        assert_eq!(pages.asked.get(), 2);
    }

    #[test]
    fn other_failures_stand() {
        let mut mem = SparseVirt::new();
        mem.map(0x1000, b"x");
        let pages = anon(0x2000, 0x3000);
        let mut z = ZeroFilled::new(&mut mem, 0x8000, Some(&pages));
        let mut buf = [0u8; 0x3000];
        // The third page is not anonymous: the fault is reported there.
        assert_eq!(
            z.read_virt(0x1000, &mut buf),
            Err(MemError::Unmapped(0x3000))
        );
        let mut b = [0u8; 4];
        assert_eq!(z.read_virt(0x5000, &mut b), Err(MemError::Unmapped(0x5000)));
        // At or past the end of user space: refused before any question.
        let asked = pages.asked.get();
        assert_eq!(z.read_virt(0x7ffe, &mut b), Err(MemError::Unmapped(0x7ffe)));
        assert_eq!(pages.asked.get(), asked);
        // Without a decider, reads fail as UserOnly's.
        let mut z = ZeroFilled::<Anon>::new(&mut mem, 0x8000, None);
        assert_eq!(z.read_virt(0x2000, &mut b), Err(MemError::Unmapped(0x2000)));
        assert_eq!(z.write_virt(0x9000, b"a"), Err(MemError::Unmapped(0x9000)));
    }

    /// A decider answering an end at or below the address, or past user
    /// space, is not trusted beyond what is asked.
    #[test]
    fn bad_answers_are_bounded() {
        struct Liar(u64);
        impl ZeroPages for Liar {
            fn zero_end(&self, _: &mut dyn VirtMem, _: u64) -> Option<u64> {
                Some(self.0)
            }
        }
        let mut mem = SparseVirt::new();
        let mut b = [7u8; 8];
        let l = Liar(0x10);
        let mut z = ZeroFilled::new(&mut mem, 0x8000, Some(&l));
        assert_eq!(z.read_virt(0x2000, &mut b), Err(MemError::Unmapped(0x2000)));
        let l = Liar(u64::MAX);
        let mut z = ZeroFilled::new(&mut mem, 0x8000, Some(&l));
        z.read_virt(0x7ff8, &mut b).unwrap();
        assert_eq!(b, [0; 8]);
    }
}
