//! `-P`'s verdict cache: which descriptors of an address space name no
//! path of `-P`, so that a call matched by register descriptors alone
//! (`read(3, ...)`, `write(4, ...)`) is dropped on the vCPU thread
//! without the engine, the task walk or the file's name (issue 17:
//! "filtering with `-P` costs nothing on calls that don't match").
//!
//! A verdict holds while nothing could have changed what the descriptor
//! names. Every call of the guest (any process: a rename elsewhere
//! changes a name) that is not known to keep descriptor tables as they
//! are starts the cache over (a generation bumped by the lock-free
//! enter check), and so does the return of such a call (a `dup2`
//! replaces its target between its enter and its return, while another
//! vCPU may fill the cache). Only descriptors that were open are kept:
//! a descriptor installed where no traced call shows it (a fanotify
//! event read) takes a free number. What no call shows at all
//! (io_uring's asynchronous work, a thread with a table of its own in
//! the same address space, a seccomp supervisor's `ADDFD`) turns the
//! cache off for good when the calls that set it up are seen. Left
//! unseen: a rename made by the kernel on behalf of no call of this
//! guest (a network file system's server).

use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;

use super::cr3_key;

/// Entries of the direct-mapped table (a hot loop uses a few).
const SLOTS: usize = 1 << 12;
/// Descriptors the cache keys (larger ones take the full path).
const MAX_FD: i64 = 1 << 20;
/// Per call: the call keeps descriptor tables (see the module doc).
const KEEPS: u8 = 0x80;
/// Per call: the low bits are its register descriptors (bit `k`:
/// argument `k + 1`) when they are all it is matched by.
const MASK: u8 = 0x3f;

/// One cached verdict: "descriptor `fd` of address space `cr3` names
/// no path of `-P`", valid in generation `gen`.
#[derive(Default)]
struct Slot {
    /// The packed (address space, descriptor), 0 when empty.
    key: AtomicU64,
    /// The generation the verdict was taken in.
    gen: AtomicU64,
}

/// The cache, shared by the engine (which fills it) and the sources'
/// lock-free enter checks (which read it).
pub struct PathCache {
    /// `-P` is given, the early-out is on, and nothing turned it off.
    on: AtomicBool,
    /// Bumped by every call that may change a descriptor table.
    gen: AtomicU64,
    /// `-y`'s kept names rely on `gen` too (see `super::namekeep`): the
    /// lock-free checks keep it current even without `-P`.
    names: AtomicBool,
    /// Per call table entry: [`KEEPS`] and the [`MASK`] bits.
    kinds: Box<[AtomicU8]>,
    slots: Box<[Slot]>,
    /// Fills take turns, so that a slot's generation only grows (a
    /// reader that pairs a key with another fill's generation then
    /// never takes a stale one for a fresh one).
    fill: Mutex<()>,
}

impl PathCache {
    /// An empty cache, off, for a table of `entries` calls.
    pub(super) fn new(entries: usize) -> PathCache {
        PathCache {
            on: AtomicBool::new(false),
            gen: AtomicU64::new(1),
            names: AtomicBool::new(false),
            kinds: (0..entries).map(|_| AtomicU8::new(0)).collect(),
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
            fill: Mutex::new(()),
        }
    }

    /// Whether the cache is in use.
    pub fn on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Turns the cache on (once, when the engine is set up) or off.
    pub(super) fn set_on(&self, on: bool) {
        self.on.store(on, Ordering::Relaxed);
        self.bump();
    }

    /// Keeps the generation current for `-y`'s kept names (or stops).
    pub(super) fn set_names(&self, on: bool) {
        self.names.store(on, Ordering::Relaxed);
        self.bump();
    }

    /// Whether the lock-free checks keep the generation current: for
    /// `-P`'s verdicts or `-y`'s kept names.
    pub fn tracks(&self) -> bool {
        self.on() || self.names.load(Ordering::Relaxed)
    }

    /// Starts the cache over: a descriptor table may have changed.
    pub fn bump(&self) {
        self.gen.fetch_add(1, Ordering::AcqRel);
    }

    /// The current generation (taken before a verdict is worked out).
    pub(super) fn generation(&self) -> u64 {
        self.gen.load(Ordering::Acquire)
    }

    /// Records, for the call at table entry `slot`, whether it keeps
    /// descriptor tables and the register descriptors it is matched by
    /// alone (0: none, or not all in registers).
    pub(super) fn set_kind(&self, slot: usize, keeps: bool, mask: u8) {
        if let Some(k) = self.kinds.get(slot) {
            k.store(
                if keeps { KEEPS } else { 0 } | mask & MASK,
                Ordering::Relaxed,
            );
        }
    }

    /// Whether the call at table entry `slot` keeps descriptor tables
    /// (false when not looked up yet).
    pub(super) fn keeps(&self, slot: usize) -> bool {
        self.kinds
            .get(slot)
            .is_some_and(|k| k.load(Ordering::Relaxed) & KEEPS != 0)
    }

    /// The register descriptors the call at table entry `slot` is
    /// matched by alone, when it keeps descriptor tables (0 otherwise).
    pub(super) fn mask(&self, slot: usize) -> u8 {
        let k = self
            .kinds
            .get(slot)
            .map_or(0, |k| k.load(Ordering::Relaxed));
        if k & KEEPS != 0 {
            k & MASK
        } else {
            0
        }
    }

    /// Remembers that descriptor `fd` of address space `cr3` names no
    /// path of `-P`, as read in generation `gen`: kept only when nothing
    /// started the cache over since.
    pub(super) fn fill(&self, cr3: u64, fd: i64, gen: u64) {
        let Some(key) = pack(cr3, fd) else { return };
        let _turn = self.fill.lock().unwrap_or_else(|e| e.into_inner());
        if !self.on() || self.generation() != gen {
            return;
        }
        let Some(s) = self.slots.get(index(key)) else {
            return;
        };
        s.key.store(0, Ordering::Release);
        s.gen.store(gen, Ordering::Release);
        s.key.store(key, Ordering::Release);
    }

    /// Whether descriptor `fd` of address space `cr3` is known, now, to
    /// name no path of `-P`.
    pub(super) fn known_not_to_match(&self, cr3: u64, fd: i64) -> bool {
        let Some(key) = pack(cr3, fd) else {
            return false;
        };
        let Some(s) = self.slots.get(index(key)) else {
            return false;
        };
        let k1 = s.key.load(Ordering::Acquire);
        let g = s.gen.load(Ordering::Acquire);
        fence(Ordering::Acquire);
        let k2 = s.key.load(Ordering::Acquire);
        k1 == key && k2 == key && g == self.generation() && self.on()
    }
}

/// (address space, descriptor) in one word, never 0: CR3's frame bits
/// (13-51, see [`cr3_key`]) above a 20-bit descriptor, and bit 63.
fn pack(cr3: u64, fd: i64) -> Option<u64> {
    if !(0..MAX_FD).contains(&fd) {
        return None;
    }
    Some(1 << 63 | (cr3_key(cr3) >> 13) << 20 | fd as u64)
}

/// The slot of a packed key (Fibonacci hashing).
fn index(key: u64) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - SLOTS.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    const CR3: u64 = 0x1234_5000;

    #[test]
    fn a_verdict_holds_until_the_cache_starts_over() {
        let c = PathCache::new(8);
        let g = c.generation();
        c.fill(CR3, 3, g);
        assert!(!c.known_not_to_match(CR3, 3), "off: nothing kept");
        c.set_on(true);
        let g = c.generation();
        c.fill(CR3, 3, g);
        assert!(c.known_not_to_match(CR3, 3));
        // Another descriptor, another address space (PCID bits aside).
        assert!(!c.known_not_to_match(CR3, 4));
        assert!(!c.known_not_to_match(CR3 + 0x2000, 3));
        assert!(c.known_not_to_match(CR3 | 0x5, 3));
        c.bump();
        assert!(!c.known_not_to_match(CR3, 3), "a table may have changed");
        // A verdict worked out across a bump is not kept.
        c.fill(CR3, 3, g);
        assert!(!c.known_not_to_match(CR3, 3));
        let g = c.generation();
        c.fill(CR3, 3, g);
        assert!(c.known_not_to_match(CR3, 3));
        c.set_on(false);
        assert!(!c.known_not_to_match(CR3, 3), "off for good");
    }

    #[test]
    fn descriptors_out_of_range_are_never_kept() {
        let c = PathCache::new(8);
        c.set_on(true);
        let g = c.generation();
        for fd in [-1, MAX_FD, i64::MAX] {
            c.fill(CR3, fd, g);
            assert!(!c.known_not_to_match(CR3, fd));
        }
    }

    #[test]
    fn kinds_say_what_keeps_tables() {
        let c = PathCache::new(8);
        c.set_kind(0, true, 0b1);
        c.set_kind(1, false, 0b1);
        c.set_kind(2, true, 0);
        assert!(c.keeps(0) && !c.keeps(1) && c.keeps(2) && !c.keeps(3));
        assert_eq!((c.mask(0), c.mask(1), c.mask(2)), (1, 0, 0));
        assert!(!c.keeps(99) && c.mask(99) == 0, "out of the table");
    }
}
