//! Replay's fast reading path: an event's accesses decoded only when the
//! engine asks for them.
//!
//! A replay asks for about one recorded read per event (the running
//! task), while a live run records twenty or more (attribution, scope and
//! pairing re-read the same task fields; almost all of them are coded as
//! "read same"). [`TraceReader::next_lazy_into`] checks an event frame's
//! accesses with a cheap scan and leaves them coded in the reader's
//! buffer; an [`AccessLog`] then decodes the ones a [`crate::ReplayCpu`]
//! looks at. Only events whose accesses are all successful reads in the
//! trap's space are left coded: "read same" ones and a few fresh ones
//! (kind 0; an enter of the read+write loop has two, the task's changing
//! times). A fresh read changes the "read same" cache within the event:
//! the scan applies it in order, keeping what its slot held before
//! ([`Fresh`]), so that a repeat coded before it is still served what the
//! cache held then. Any other event is decoded whole, as
//! [`TraceReader::next_into`] does. The scan checks everything the full decoding checks except that
//! each repeated kernel read of the common shape (a 10-byte address, a
//! 1-byte length) was seen before: that is checked when the read is
//! decoded, and a miss is reported as the frame's damage at the next
//! [`TraceReader::next_lazy_into`].

use std::cell::Cell;
use std::io::Read;

use vstrace_core::{MemError, Space};

use super::wire::Cursor;
use super::{
    slot as cache_slot, CodecState, EventRecord, Next, TraceError, TraceErrorKind, TraceReader,
    SAME_MAX_LEN,
};
use crate::cpu::Access;

/// Where the accesses of the event [`TraceReader::next_lazy_into`] left
/// coded are, in the reader's buffer.
#[derive(Clone, Copy)]
pub(super) struct Section {
    /// Byte range of the coded accesses in the reader's buffer.
    start: usize,
    end: usize,
    /// Byte offset of the event's frame in the file (for late damage).
    frame: u64,
}

/// A fresh read the scan of a lazily read event put in the "read same"
/// cache: where it is, and what its cache slot held before it (the bytes
/// a repeat coded earlier in the event refers to).
#[derive(Default)]
pub(super) struct Fresh {
    /// Offset of the read in the coded accesses.
    at: u32,
    slot: u32,
    addr: u64,
    len: u64,
    bytes: Vec<u8>,
}

/// The fresh reads of the event last scanned: the first `n` of `list`
/// (the others keep their buffers for the next events).
#[derive(Default)]
pub(super) struct FreshReads {
    list: Vec<Fresh>,
    n: usize,
}

/// A read of a lazily read event not of the [`kernel_same`] shape, as
/// the scan decoded it: found and served without decoding it again.
#[derive(Clone, Copy)]
pub(super) struct SlowRead {
    /// Offsets of the access and of the next one in the coded accesses
    /// (a frame is at most [`super::MAX_FRAME`], 32 MiB, long).
    at: u32,
    next: u32,
    addr: u64,
    len: u64,
    /// A fresh read: its bytes end the access.
    fresh: bool,
}

/// Reads not of the common shape one lazily read event may hold; an
/// event with more is decoded whole (bounds what a hostile frame of tiny
/// repeated reads makes the scan keep).
const MAX_SLOW: usize = 1024;

/// Cached fresh reads one lazily read event may hold; an event with more
/// is decoded whole (a lookup walks them, a hostile frame holds millions).
const MAX_FRESH: usize = 8;

impl FreshReads {
    /// Puts the read of `src` at `addr` (offset `at` in the accesses) in
    /// `state`'s cache, keeping the slot's content; false (nothing
    /// changed) when the event holds too many fresh reads already.
    fn apply(&mut self, state: &mut CodecState, at: usize, addr: u64, src: &[u8]) -> bool {
        let len = src.len() as u64;
        if len > SAME_MAX_LEN {
            return true;
        }
        if self.n == MAX_FRESH {
            return false;
        }
        if self.list.len() == self.n {
            self.list.push(Fresh::default());
        }
        let s = cache_slot(addr, len);
        let (e, f) = (&mut state.same[s], &mut self.list[self.n]);
        // The slot's buffer and the saved one trade places: no copy of
        // the old bytes, no allocation once both are large enough.
        std::mem::swap(&mut e.2, &mut f.bytes);
        (f.at, f.slot, f.addr, f.len) = (at as u32, s as u32, e.0, e.1);
        (e.0, e.1) = (addr, len);
        super::slot::copy_bytes(&mut e.2, src);
        self.n += 1;
        true
    }

    /// Takes the fresh reads back out of `state`'s cache, latest first:
    /// the event is decoded whole instead.
    fn undo(&mut self, state: &mut CodecState) {
        for f in self.list[..self.n].iter_mut().rev() {
            let e = &mut state.same[f.slot as usize];
            (e.0, e.1) = (f.addr, f.len);
            std::mem::swap(&mut e.2, &mut f.bytes);
        }
        self.n = 0;
    }
}

/// The shape of nearly every recorded access: a repeated read (kind 1)
/// of a kernel address (a 10-byte varint whose last byte is 1: bit 63
/// set) of fewer than 128 bytes. Returns the length read. (The scan
/// finds it in runs, [`kernel_run`].)
#[cfg(test)]
fn kernel_same(b: &[u8]) -> Option<u8> {
    let h = b.first_chunk::<12>()?;
    let (lo, hi) = words(h);
    is_kernel_same(lo, hi).then_some((hi >> 24) as u8)
}

/// [`kernel_same`] on a coded access's 12 bytes as [`words`] gives them:
/// kind 1, continuation bits on the address's first 9 bytes, a last
/// address byte of 1, a length byte below 0x80. Two masked compares, no
/// branch per byte.
#[inline]
fn is_kernel_same(lo: u64, hi: u32) -> bool {
    (lo & 0x8080_8080_8080_80ff == 0x8080_8080_8080_8001) & (hi & 0x80ff_8080 == 0x0001_8080)
}

/// The run of accesses of the [`kernel_same`] shape at the start of
/// `accesses`, at most `max` of them: how many, and the bytes they read.
/// The common event is one such run (a branch per access, taken only at
/// the run's end: the loop the scan would run access by access, at a
/// fraction of its cost).
#[inline]
fn kernel_run(accesses: &[u8], max: u64) -> (u64, u64) {
    // Cut to the `max` accesses first: the loops then check no count.
    let cap = usize::try_from(max).map_or(usize::MAX, |m| m.saturating_mul(12));
    let b = accesses.get(..cap).unwrap_or(accesses);
    let mut count = 0usize;
    let mut total = 0u64;
    // Four accesses at a time with one branch: the shape checks and the
    // lengths of a block combined without a jump per access (the common
    // event is runs of tens).
    for q in b.chunks_exact(48) {
        let mut ok = true;
        let mut sum = 0u64;
        for h in q.chunks_exact(12) {
            let (lo, hi) = words(h);
            ok &= is_kernel_same(lo, hi);
            sum += (hi >> 24) as u64;
        }
        if !ok {
            break;
        }
        count += 4;
        total += sum;
    }
    // The rest (and the block the run ends in) access by access.
    for h in b.get(12 * count..).unwrap_or_default().chunks_exact(12) {
        let (lo, hi) = words(h);
        if !is_kernel_same(lo, hi) {
            break;
        }
        count += 1;
        total += (hi >> 24) as u64;
    }
    (count as u64, total)
}

/// The 12 bytes at the start of `c` (it holds at least 12) as a word and
/// a half-word: coded reads compared in two steps.
#[inline]
fn words(c: &[u8]) -> (u64, u32) {
    let (Some(a), Some(b)) = (
        c.first_chunk::<8>(),
        c.get(8..).and_then(|c| c.first_chunk::<4>()),
    ) else {
        return (0, 0);
    };
    (u64::from_le_bytes(*a), u32::from_le_bytes(*b))
}

/// The index of the first 12-byte coded access of `run` whose
/// [`words`] are (`w0`, `w1`): the first word compared alone, the second
/// only when it matches (one load and compare per access passed over).
#[inline]
fn position12(run: &[u8], w0: u64, w1: u32) -> Option<usize> {
    let first = |c: &[u8]| c.first_chunk::<8>().map(|w| u64::from_le_bytes(*w)) == Some(w0);
    let mut i = 0;
    // Four accesses' first words compared with one branch (a wanted
    // read lies some ten accesses on): the block holding one that
    // matches is then looked at access by access.
    while let Some(q) = run.get(12 * i..12 * i + 48) {
        if first(q) | first(&q[12..]) | first(&q[24..]) | first(&q[36..]) {
            break;
        }
        i += 4;
    }
    while let Some(c) = run.get(12 * i..12 * i + 12) {
        if first(c) && words(c).1 == w1 {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The coding of a read of (`addr`, `len`) as [`kernel_same`] finds it,
/// as [`words`] gives it; None when the read is not of that shape. The
/// address's 7-bit groups spread into bytes with shifts (the inverse of
/// the reader's `pack7`), not a loop over the bytes.
#[inline]
fn kernel_coding(addr: u64, len: u64) -> Option<(u64, u32)> {
    if addr >> 63 == 0 || len >= 0x80 {
        return None;
    }
    // Groups 0 to 7 (bits 0 to 55), one per byte, continuation bits set.
    let x = addr & 0x00ff_ffff_ffff_ffff;
    let x = (x & 0x0fff_ffff) | (x & 0x00ff_ffff_f000_0000) << 4;
    let x = (x & 0x0000_3fff_0000_3fff) | (x & 0x0fff_c000_0fff_c000) << 2;
    let x = (x & 0x007f_007f_007f_007f) | (x & 0x3f80_3f80_3f80_3f80) << 1;
    let groups = x | 0x8080_8080_8080_8080;
    // The kind byte, then groups 0 to 6; then group 7, group 8, the last
    // address byte (bit 63: 1) and the length.
    let lo = 1 | groups << 8;
    let hi = (groups >> 56) as u32
        | ((addr >> 56) as u32 & 0x7f | 0x80) << 8
        | 1 << 16
        | (len as u32) << 24;
    Some((lo, hi))
}

/// The address and length of a read of the [`kernel_same`] shape, from
/// its [`words`] (the inverse of [`kernel_coding`]): the address's first
/// eight 7-bit groups packed at once, its ninth group, and bit 63.
#[inline]
fn kernel_read(lo: u64, hi: u32) -> (u64, u64) {
    let groups = (lo >> 8) | u64::from(hi & 0xff) << 56;
    let addr = super::wire::pack7(groups) | u64::from(hi >> 8 & 0x7f) << 56 | 1 << 63;
    (addr, u64::from(hi >> 24))
}

impl CodecState {
    /// Scans the accesses of an event frame (`payload`) without decoding
    /// them: `Ok(Some(start))` (the offset of the first access in
    /// `payload`) when they are all successful reads in the trap's space,
    /// "read same" or at most [`MAX_FRESH`] fresh ones, and the event is
    /// committed into `slot` (its accesses left coded; `slow` gets those
    /// not of the [`kernel_same`] shape, at most [`MAX_SLOW`], `fresh`
    /// the fresh reads the cache took); `Ok(None)` when the event needs
    /// the full decoding (nothing was changed).
    fn scan_event(
        &mut self,
        payload: &[u8],
        slot: &mut EventRecord,
        slow: &mut Vec<SlowRead>,
        fresh: &mut FreshReads,
    ) -> Result<Option<usize>, TraceErrorKind> {
        let mut p = Cursor { b: payload };
        self.decode_head(&mut p, slot)?;
        let n = p.varint()?;
        let start = payload.len() - p.remaining();
        slow.clear();
        fresh.n = 0;
        let mut expanded = 0u64;
        let mut charge = |len: u64| super::charge(&mut expanded, len);
        let mut b = p.b;
        let mut left = n;
        while left > 0 {
            // A run of the common shape at once: such reads cannot fail
            // but by the size limit, which fails at the run's end as it
            // would at its first read past the limit.
            let (k, bytes) = kernel_run(b, left);
            if k > 0 {
                charge(bytes)?;
                b = &b[12 * k as usize..];
                left -= k;
                continue;
            }
            // As in the full decoding: a hostile count cannot make us loop
            // past the frame's real size.
            if b.len() < 3 {
                return Err(TraceErrorKind::Malformed("access count"));
            }
            let at = payload.len() - b.len() - start;
            let mut c = Cursor { b: &b[1..] };
            let kind = b[0];
            if kind > 1 || slow.len() == MAX_SLOW {
                fresh.undo(self);
                return Ok(None);
            }
            // Checked in the order the full decoding checks it.
            let addr = c.varint()?;
            let len = c.varint()?;
            if kind == 0 {
                let src = c.bytes(len)?;
                charge(len)?;
                if !fresh.apply(self, at, addr, src) {
                    fresh.undo(self);
                    return Ok(None);
                }
            } else {
                charge(len)?;
                // The cache as it is at this read: fresh reads before
                // it applied, none after it yet.
                if self.cached(addr, len).is_none() {
                    return Err(TraceErrorKind::Malformed("repeated read never seen"));
                }
            }
            b = c.b;
            slow.push(SlowRead {
                at: at as u32,
                next: (payload.len() - b.len() - start) as u32,
                addr,
                len,
                fresh: kind == 0,
            });
            left -= 1;
        }
        if !b.is_empty() {
            return Err(TraceErrorKind::Malformed("trailing bytes in event"));
        }
        self.commit();
        slot.n = 0;
        slot.lazy = true;
        Ok(Some(start))
    }
}

impl<R: Read> TraceReader<R> {
    /// [`TraceReader::next_into`] for replay: an event's accesses may be
    /// left coded in the reader (`slot`'s [`EventRecord::accesses`] is
    /// then empty); [`TraceReader::log`] gives them, decoded as they are
    /// looked at. Valid until the next call.
    pub fn next_lazy_into(&mut self, slot: &mut EventRecord) -> Result<Option<Next>, TraceError> {
        self.lazy = true;
        let r = self.next_into(slot);
        self.lazy = false;
        r
    }

    /// The damage a lazily decoded event's accesses showed once looked
    /// at (a repeated read the file never held), reported once the
    /// event is done with.
    pub(super) fn late_damage(&mut self) -> Option<TraceError> {
        let s = self.section.take()?;
        self.late_damage.get().then_some(TraceError {
            offset: s.frame,
            kind: TraceErrorKind::Malformed("repeated read never seen"),
        })
    }

    /// Decodes the event frame whose payload is `buf[payload_at..]`
    /// (`payload_len` bytes; the frame is at `frame` in the file) lazily
    /// when it can, else whole.
    pub(super) fn decode_lazy(
        &mut self,
        payload_at: usize,
        payload_len: usize,
        frame: u64,
        slot: &mut EventRecord,
    ) -> Result<(), TraceErrorKind> {
        let payload = &self.store.bytes()[payload_at..payload_at + payload_len];
        let scan = self
            .state
            .scan_event(payload, slot, &mut self.slow, &mut self.fresh)?;
        if let Some(start) = scan {
            self.section = Some(Section {
                start: payload_at + start,
                end: payload_at + payload_len,
                frame,
            });
            self.late_damage.set(false);
            return Ok(());
        }
        let mut c = Cursor { b: payload };
        self.state.decode_event_into(&mut c, slot, &mut self.spare)
    }

    /// The accesses of the event last read into `slot`: left coded by
    /// [`TraceReader::next_lazy_into`], or decoded in `slot`.
    pub fn log<'a>(&'a self, slot: &'a EventRecord) -> AccessLog<'a> {
        match self.section {
            Some(s) if slot.lazy => AccessLog::Lazy(LazyLog {
                raw: &self.store.bytes()[s.start..s.end],
                state: &self.state,
                slow: &self.slow,
                fresh: &self.fresh.list[..self.fresh.n],
                damaged: &self.late_damage,
            }),
            _ => slot.log(),
        }
    }
}

/// One event's recorded accesses, as [`crate::ReplayCpu`] and
/// [`crate::ReadHistory`] look at them: decoded ([`EventRecord::log`], or
/// a plain list), or still coded in the reader's buffer
/// ([`TraceReader::log`]).
#[derive(Clone, Copy)]
pub enum AccessLog<'a> {
    /// Decoded accesses, and which reads the file coded as repeats (may
    /// be shorter: the missing ones are not repeats).
    Decoded(&'a [Access], &'a [bool]),
    /// Accesses left coded: all successful reads in the trap's space.
    Lazy(LazyLog<'a>),
}

/// Coded accesses (see [`AccessLog::Lazy`]): every one a successful
/// read, "read same" (its bytes the reader's cached ones, as they were at
/// that read) or fresh (its bytes in the frame).
#[derive(Clone, Copy)]
pub struct LazyLog<'a> {
    /// The coded accesses.
    raw: &'a [u8],
    state: &'a CodecState,
    slow: &'a [SlowRead],
    /// The event's fresh reads the cache took, in order.
    fresh: &'a [Fresh],
    damaged: &'a Cell<bool>,
}

/// One coded read: address, length, and the offset of the next access.
pub(crate) struct CodedRead<'a> {
    /// The guest virtual address.
    pub(crate) addr: u64,
    /// The number of bytes read.
    pub(crate) len: u64,
    /// The bytes, None when the file never held them (damage).
    pub(crate) bytes: Option<&'a [u8]>,
    /// Offset of the next access in the coded accesses.
    pub(crate) next: usize,
    /// A fresh read (its bytes in the frame), not a repeat.
    pub(crate) fresh: bool,
}

impl<'a> LazyLog<'a> {
    /// The read coded at offset `at` (None at the end). Every access was
    /// checked by the scan to be a "read same" or fresh read with
    /// well-formed varints.
    pub(crate) fn read_at(&self, at: usize) -> Option<CodedRead<'a>> {
        let b = self.raw.get(at..)?;
        let (&kind, rest) = b.split_first()?;
        let mut c = Cursor { b: rest };
        let addr = c.varint().ok()?;
        let len = c.varint().ok()?;
        let fresh = kind == 0;
        let bytes = if fresh {
            Some(c.bytes(len).ok()?)
        } else {
            self.cached_at(at, addr, len)
        };
        Some(CodedRead {
            addr,
            len,
            bytes,
            next: self.raw.len() - c.remaining(),
            fresh,
        })
    }

    /// The bytes of the "read same" of (`addr`, `len`) coded at offset
    /// `at`: the cache's, unless a later fresh read of the event took
    /// its slot (then what the slot held before that one). None (and the
    /// event marked damaged) when the cache never held the read.
    fn cached_at(&self, at: usize, addr: u64, len: u64) -> Option<&'a [u8]> {
        let mut bytes = None;
        let mut replaced = false;
        if !self.fresh.is_empty() {
            let s = cache_slot(addr, len) as u32;
            if let Some(f) = self
                .fresh
                .iter()
                .find(|f| f.at as usize > at && f.slot == s)
            {
                replaced = true;
                bytes = (f.addr == addr && f.len == len).then_some(f.bytes.as_slice());
            }
        }
        if !replaced {
            bytes = self.state.cached(addr, len);
        }
        if bytes.is_none() {
            self.damaged.set(true);
        }
        bytes
    }

    /// The first coded read of (`addr`, `len`) at or after `from` (an
    /// access's start), found without decoding the others: between the
    /// reads the scan listed as `slow`, every read is of the
    /// [`kernel_same`] shape, 12 bytes long, and is compared as coded bytes
    /// against the wanted read's coding; the slow ones are decoded.
    fn find(&self, from: usize, addr: u64, len: u64) -> Option<CodedRead<'a>> {
        let want = kernel_coding(addr, len);
        let mut at = from;
        let mut slow = self.slow.partition_point(|s| (s.at as usize) < from);
        while at < self.raw.len() {
            let run_end = self
                .slow
                .get(slow)
                .map_or(self.raw.len(), |s| s.at as usize);
            if at < run_end {
                let run = self.raw.get(at..run_end)?;
                if let Some((w0, w1)) = want {
                    // Compared as two words, not a byte comparison call.
                    let hit = position12(run, w0, w1);
                    if let Some(i) = hit {
                        let found = at + 12 * i;
                        return Some(CodedRead {
                            addr,
                            len,
                            bytes: self.cached_at(found, addr, len),
                            next: found + 12,
                            fresh: false,
                        });
                    }
                }
                at = run_end;
                continue;
            }
            let s = self.slow.get(slow)?;
            if s.addr == addr && s.len == len {
                return Some(self.slow_read(s));
            }
            at = s.next as usize;
            slow += 1;
        }
        None
    }

    /// The bytes at `addr` (`len` of them) in the last read of the
    /// event that covers them, None when none does. Runs of the common
    /// shape are looked at without decoding them (the address from the
    /// coded words, the bytes only for a read that covers): a replay
    /// with other options asks this for every read the live run did not
    /// make at this event (an attribution its cache spared), and most
    /// are in no read of it.
    pub(crate) fn covering(&self, addr: u64, len: usize) -> Option<&'a [u8]> {
        let len = len as u64;
        let covers = |a: u64, l: u64| {
            addr.checked_sub(a)
                .is_some_and(|off| off <= l.saturating_sub(len) && len <= l)
        };
        let mut found = None;
        let mut at = 0;
        for s in self.slow.iter().map(Some).chain(std::iter::once(None)) {
            let run_end = s.map_or(self.raw.len(), |s| s.at as usize);
            let run = self.raw.get(at..run_end).unwrap_or_default();
            for (i, c) in run.chunks_exact(12).enumerate() {
                let (lo, hi) = words(c);
                let (a, l) = kernel_read(lo, hi);
                if covers(a, l) {
                    if let Some(b) = self.cached_at(at + 12 * i, a, l) {
                        found = Some((a, b));
                    }
                }
            }
            let Some(s) = s else { break };
            if covers(s.addr, s.len) {
                if let Some(b) = self.slow_read(s).bytes {
                    found = Some((s.addr, b));
                }
            }
            at = s.next as usize;
        }
        let (a, b) = found?;
        let off = usize::try_from(addr - a).ok()?;
        b.get(off..off.checked_add(usize::try_from(len).ok()?)?)
    }

    /// The offsets of the reads not of the common kernel shape (see
    /// `kernel_same`): those [`crate::ReadHistory`] may need.
    pub(crate) fn slow(self) -> impl Iterator<Item = CodedRead<'a>> {
        self.slow.iter().map(move |s| self.slow_read(s))
    }

    /// The read `s` (one of `slow`), as [`LazyLog::read_at`] decodes it.
    fn slow_read(&self, s: &SlowRead) -> CodedRead<'a> {
        let (at, next) = (s.at as usize, s.next as usize);
        let bytes = if s.fresh {
            // The scan took them from the frame: they are there.
            let len = usize::try_from(s.len).ok();
            let from = len.and_then(|l| next.checked_sub(l));
            from.and_then(|f| self.raw.get(f..next))
        } else {
            self.cached_at(at, s.addr, s.len)
        };
        CodedRead {
            addr: s.addr,
            len: s.len,
            bytes,
            next,
            fresh: s.fresh,
        }
    }
}

impl<'a> AccessLog<'a> {
    /// A plain list of decoded accesses (no repeats known).
    pub fn decoded(log: &'a [Access]) -> AccessLog<'a> {
        AccessLog::Decoded(log, &[])
    }
}

/// What a recorded read gave, as [`AccessLog`] finds it.
pub(crate) enum Outcome<'a> {
    /// The bytes read.
    Bytes(&'a [u8]),
    /// The fault.
    Fault(&'a MemError),
}

impl<'a> AccessLog<'a> {
    /// The first recorded read of (`space`, `addr`, `len`) at or after
    /// the cursor `from`: its outcome and the cursor past it.
    pub(crate) fn next_read(
        &self,
        from: usize,
        space: Option<Space>,
        addr: u64,
        len: u64,
    ) -> Option<(Outcome<'a>, usize)> {
        match *self {
            AccessLog::Decoded(log, _) => {
                let start = from.min(log.len());
                log[start..].iter().enumerate().find_map(|(i, a)| match a {
                    Access::Read {
                        space: s,
                        addr: a,
                        len: l,
                        result,
                    } if *s == space && *a == addr && *l == len => Some((
                        match result {
                            Ok(b) => Outcome::Bytes(b),
                            Err(e) => Outcome::Fault(e),
                        },
                        start + i + 1,
                    )),
                    _ => None,
                })
            }
            AccessLog::Lazy(l) => {
                if space.is_some() {
                    return None;
                }
                // A repeat the file never held: the frame is damaged
                // (reported by the reader), the read is not served from it.
                let r = l.find(from, addr, len)?;
                r.bytes.map(|b| (Outcome::Bytes(b), r.next))
            }
        }
    }

    /// The fault of the latest recorded read of (`space`, `addr`, `len`)
    /// that failed, wherever it is in the event: what a read made out of
    /// the recorded order (another option set's) fails with, its fault
    /// address included (the page a multi-page read stopped at, which a
    /// user read's zero filling goes on from). Lazy logs hold no faults.
    pub(crate) fn fault(&self, space: Option<Space>, addr: u64, len: u64) -> Option<&'a MemError> {
        match *self {
            AccessLog::Decoded(log, _) => log.iter().rev().find_map(|a| match a {
                Access::Read {
                    space: s,
                    addr: a,
                    len: l,
                    result: Err(e),
                } if *s == space && *a == addr && *l == len => Some(e),
                _ => None,
            }),
            AccessLog::Lazy(_) => None,
        }
    }

    /// The bytes of the latest successful recorded read in the space of
    /// `space` (None: the trap's) that holds all of `addr..addr+len`.
    pub(crate) fn covering(&self, space: Option<Space>, addr: u64, len: usize) -> Option<&'a [u8]> {
        let within = |a: u64, bytes: &'a [u8]| {
            let off = usize::try_from(addr.checked_sub(a)?).ok()?;
            bytes.get(off..off.checked_add(len)?)
        };
        match *self {
            AccessLog::Decoded(log, _) => {
                let base = |s: Option<Space>| s.map(Space::base);
                log.iter().rev().find_map(|a| match a {
                    Access::Read {
                        space: s,
                        addr: a,
                        result: Ok(bytes),
                        ..
                    } if base(*s) == base(space) => within(*a, bytes),
                    _ => None,
                })
            }
            AccessLog::Lazy(l) => {
                if space.is_some() {
                    return None;
                }
                l.covering(addr, len)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::wire::put_varint;

    #[test]
    fn kernel_coding_is_the_coding_kernel_same_finds() {
        for (addr, len) in [
            (0xffff_8880_05fe_2b68u64, 8u64),
            (0x8000_0000_0000_0000, 0),
            (u64::MAX, 127),
            (0xdead_beef_0123_4567 | 1 << 63, 0x55),
        ] {
            let mut coded = vec![1u8];
            put_varint(&mut coded, addr);
            put_varint(&mut coded, len);
            assert_eq!(kernel_coding(addr, len), Some(words(&coded)), "{addr:#x}");
            assert_eq!(kernel_same(&coded), Some(len as u8));
        }
        assert_eq!(kernel_coding(0x7fff_ffff_f000, 8), None);
        assert_eq!(kernel_coding(0xffff_8880_0000_0000, 128), None);
    }

    /// The first access both of whose words match, wherever it lies in
    /// or past a block of four, and whatever matches one word only.
    #[test]
    fn position12_finds_the_first_whole_match() {
        let (w0, w1) = (0x1122_3344_5566_7788u64, 0x99aa_bbccu32);
        let access = |a: u64, b: u32| [a.to_le_bytes().as_slice(), &b.to_le_bytes()].concat();
        for n in 0..11 {
            for at in 0..=n {
                for decoy in [None, Some(0), Some(3), Some(5)] {
                    let mut run = Vec::new();
                    for i in 0..n {
                        let (a, b) = match i {
                            _ if i == at => (w0, w1),
                            _ if Some(i) == decoy => (w0, 0),
                            _ => (i as u64, w1),
                        };
                        run.extend(access(a, b));
                    }
                    let want = (at < n).then_some(at);
                    assert_eq!(position12(&run, w0, w1), want, "{n} {at} {decoy:?}");
                    assert_eq!(
                        position12(&run[..run.len().saturating_sub(1)], w0, w1),
                        want.filter(|&i| i + 1 < n),
                        "{n} {at} cut"
                    );
                }
            }
        }
    }

    /// A run is exactly the accesses the access by access check takes
    /// for the common shape: up to the first other one, at most `max`.
    #[test]
    fn kernel_read_undoes_kernel_coding() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..0x80u64 {
            for _ in 0..64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let addr = x | 1 << 63;
                let (lo, hi) = kernel_coding(addr, len).unwrap();
                assert_eq!(kernel_read(lo, hi), (addr, len), "{addr:#x}/{len}");
            }
        }
        let (lo, hi) = kernel_coding(u64::MAX, 127).unwrap();
        assert_eq!(kernel_read(lo, hi), (u64::MAX, 127));
    }

    #[test]
    fn kernel_run_is_exact() {
        let mut one = vec![1u8];
        put_varint(&mut one, 0xffff_8880_05fe_2b68);
        put_varint(&mut one, 8);
        let three = one.repeat(3);
        assert_eq!(kernel_run(&three, 3), (3, 24));
        assert_eq!(kernel_run(&[], 0), (0, 0));
        assert_eq!(kernel_run(&three, 2), (2, 16));
        assert_eq!(kernel_run(&three, 4), (3, 24));
        assert_eq!(kernel_run(&three[..35], 3), (2, 16));
        assert_eq!(kernel_run(&three, u64::MAX), (3, 24));
        // Any byte of any access changed off the shape ends the run there.
        for (i, v) in [
            (0, 0u8),
            (3, 0x01),
            (8, 0x01),
            (9, 0x7f),
            (10, 2),
            (11, 0x80),
        ] {
            for k in 0..3 {
                let mut b = three.clone();
                b[12 * k + i] = v;
                assert_eq!(kernel_run(&b, 3).0, k as u64, "byte {i} of access {k}");
                assert_eq!(kernel_same(&b[12 * k..]), None);
            }
        }
        // Longer runs go four accesses at a time: every end, inside a
        // block of four or past them, and every cap, as one at a time.
        let nine = one.repeat(9);
        for k in 0..=9 {
            let mut b = nine.clone();
            if k < 9 {
                b[12 * k + 11] = 0x80;
            }
            for max in 0..=10u64 {
                let want = k.min(max as usize) as u64;
                assert_eq!(kernel_run(&b, max), (want, 8 * want), "end {k}, max {max}");
            }
            assert_eq!(kernel_run(&b[..b.len() - 1], 9).0, k.min(8) as u64);
        }
    }
}
