//! A fast, per-process keyed hasher for the per-event maps (call pairing,
//! replay's read history, attribution caches): the standard SipHash cost
//! ~12 % of a replay, and these maps are keyed by integers that a hostile
//! guest or trace file chooses, so the hash still has a random key
//! (a folded multiply, as in foldhash / wyhash) to keep collisions from
//! being built ahead of time.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// Multiplies and folds the 128-bit product: every input bit reaches
/// every output bit in one step.
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = (a as u128).wrapping_mul(b as u128);
    (p as u64) ^ ((p >> 64) as u64)
}

/// The process's hash key, drawn once from the standard library's random
/// source.
fn process_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x243f_6a88_85a3_08d3);
        h.finish() | 1
    })
}

/// The hasher: integers are mixed in one folded multiply each, byte
/// strings eight bytes at a time.
#[derive(Clone, Copy)]
pub struct FastHasher {
    state: u64,
}

const MUL: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.state = fold_mul(self.state ^ i, MUL);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // One more round so that the last word also reaches the top bits
        // hashbrown takes its control byte from.
        fold_mul(self.state, MUL ^ 0x5851_f42d_4c95_7f2d)
    }
}

/// Builds [`FastHasher`]s keyed with the process's random seed.
#[derive(Clone, Copy)]
pub struct FastState {
    seed: u64,
}

impl Default for FastState {
    fn default() -> Self {
        FastState {
            seed: process_seed(),
        }
    }
}

impl BuildHasher for FastState {
    type Hasher = FastHasher;
    #[inline]
    fn build_hasher(&self) -> FastHasher {
        FastHasher { state: self.seed }
    }
}

/// A `HashMap` with the fast keyed hasher.
pub type FastMap<K, V> = HashMap<K, V, FastState>;
/// A `HashSet` with the fast keyed hasher.
pub type FastSet<K> = HashSet<K, FastState>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_work_and_hashes_spread() {
        let mut m: FastMap<(u64, u64, u64), u32> = FastMap::default();
        for i in 0..10_000u64 {
            m.insert((i & 1, i << 12, 8), i as u32);
        }
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.get(&(1, 3 << 12, 8)), Some(&3));
        // Page-aligned keys differing only in high bits still differ in
        // the top 7 bits (hashbrown's control byte) often enough.
        let s = FastState::default();
        let tops: FastSet<u64> = (0..256u64)
            .map(|i| s.hash_one((0u64, i << 12, 8u64)) >> 57)
            .collect();
        assert!(tops.len() > 64, "{}", tops.len());
        let mut a = s.build_hasher();
        a.write(b"abc");
        let mut b = s.build_hasher();
        b.write(b"abd");
        assert_ne!(a.finish(), b.finish());
    }
}
