//! The reused event slot of [`super::TraceReader::next_into`]: an
//! [`EventRecord`]'s accesses are overwritten in place from one event to
//! the next, their byte buffers kept, so that steady-state decoding
//! allocates nothing and moves no access around.

use vstrace_core::{Bitness, Event, Mechanism, Regs, Space};

use super::{AccessLog, EventRecord};
use crate::cpu::Access;

impl PartialEq for EventRecord {
    fn eq(&self, other: &EventRecord) -> bool {
        self.ts == other.ts && self.event == other.event && self.accesses() == other.accesses()
    }
}

impl Eq for EventRecord {}

impl std::fmt::Debug for EventRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventRecord")
            .field("ts", &self.ts)
            .field("event", &self.event)
            .field("accesses", &self.accesses())
            .finish()
    }
}

/// Byte buffers of decoded reads kept for reuse, and the largest kept:
/// bounds what a file with huge reads leaves allocated.
const MAX_SPARE: usize = 64;
const SPARE_MAX_CAPACITY: usize = 64 << 10;
/// Makes `b` a copy of `src`. Most reads are a few bytes (a task's
/// fields) into a buffer of the same length: those are copied in place
/// with fixed-size moves, not a call to `memcpy`.
#[inline]
pub(crate) fn copy_bytes(b: &mut Vec<u8>, src: &[u8]) {
    if b.len() == src.len() {
        match src.len() {
            8 => return b[..8].copy_from_slice(&src[..8]),
            4 => return b[..4].copy_from_slice(&src[..4]),
            32 => return b[..32].copy_from_slice(&src[..32]),
            16 => return b[..16].copy_from_slice(&src[..16]),
            2 => return b[..2].copy_from_slice(&src[..2]),
            1 => return b[0] = src[0],
            _ => {}
        }
    }
    b.clear();
    b.extend_from_slice(src);
}

/// Sets access `i` of `slot` (it holds at least `i`) to a successful
/// read of `src` at `addr` (`same`: coded as a repeat), reusing the byte
/// buffer already there, else a spare one.
pub(super) fn set_read(
    slot: &mut EventRecord,
    i: usize,
    spare: &mut Vec<Vec<u8>>,
    space: Option<Space>,
    addr: u64,
    src: &[u8],
    same: bool,
) {
    if let Some(Access::Read {
        space: s,
        addr: a,
        len: l,
        result: Ok(b),
    }) = slot.log.get_mut(i)
    {
        *s = space;
        *a = addr;
        *l = src.len() as u64;
        copy_bytes(b, src);
        slot.same[i] = same;
        return;
    }
    let mut b = spare.pop().unwrap_or_default();
    b.clear();
    b.extend_from_slice(src);
    let a = Access::Read {
        space,
        addr,
        len: src.len() as u64,
        result: Ok(b),
    };
    put_access(slot, i, spare, a, same);
}

/// Sets access `i` of `slot` (it holds at least `i`) to `a`; a byte
/// buffer it replaces goes to the spares.
pub(super) fn put_access(
    slot: &mut EventRecord,
    i: usize,
    spare: &mut Vec<Vec<u8>>,
    a: Access,
    same: bool,
) {
    match slot.log.get_mut(i) {
        Some(old) => {
            slot.same[i] = same;
            if let Access::Read { result: Ok(b), .. } = std::mem::replace(old, a) {
                if spare.len() < MAX_SPARE && b.capacity() <= SPARE_MAX_CAPACITY {
                    spare.push(b);
                }
            }
        }
        None => {
            slot.log.push(a);
            slot.same.push(same);
        }
    }
}

/// Stale accesses a reused slot keeps past the current event's at most
/// (a hostile frame may hold millions of tiny ones).
pub(super) const MAX_STALE: usize = 4096;

impl EventRecord {
    /// An empty event slot for [`super::TraceReader::next_into`] to fill.
    pub fn empty() -> EventRecord {
        EventRecord::new(
            0,
            Event::new(0, Mechanism::Syscall, Bitness::B64, Regs::default()),
            Vec::new(),
        )
    }

    /// An event at `ts` with the guest `accesses` made while handling it.
    pub fn new(ts: u64, event: Event, accesses: Vec<Access>) -> EventRecord {
        EventRecord {
            ts,
            event,
            n: accesses.len(),
            same: vec![false; accesses.len()],
            log: accesses,
            lazy: false,
        }
    }

    /// The guest accesses made while handling the event, in order.
    pub fn accesses(&self) -> &[Access] {
        &self.log[..self.n.min(self.log.len())]
    }

    /// The decoded accesses as an [`AccessLog`] (with the reads the file
    /// coded as repeats): empty for an event whose accesses
    /// [`super::TraceReader::next_lazy_into`] left coded (see
    /// [`super::TraceReader::log`]).
    pub fn log(&self) -> AccessLog<'_> {
        let n = self.n.min(self.log.len());
        AccessLog::Decoded(&self.log[..n], &self.same[..n.min(self.same.len())])
    }

    /// Whether access `i` is a read the file coded as equal to the
    /// latest read of the same address and length (a "read same").
    #[cfg(test)]
    pub(crate) fn is_same(&self, i: usize) -> bool {
        self.same.get(i).copied().unwrap_or(false)
    }
}
