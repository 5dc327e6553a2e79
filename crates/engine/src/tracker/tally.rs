//! Counters every event adds to, read rarely (the engine's statistics):
//! each thread that counts owns a row of its own, which it adds to with a
//! plain load and store. A shared counter's atomic add is a locked
//! instruction per event (a full barrier on x86, and a cache line passed
//! between the vCPUs' cores); a row only its thread writes needs neither.
//! Threads past the owned rows share one more row, added to atomically.
//!
//! Rows belong to threads, not vCPUs: a vCPU's events always run on one
//! thread, but one thread may run several vCPUs' (a replay, QEMU's
//! round-robin TCG), and only a row's single writer may skip the atomic
//! add.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Rows owned by one thread each (the first threads to count, in any
/// tally: a thread's number is global).
const OWNED: usize = 16;

/// The next thread's number.
static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

std::thread_local! {
    /// This thread's number (`usize::MAX`: none yet).
    static THREAD: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's number, given at its first count.
fn thread_number() -> usize {
    THREAD.with(|t| {
        let n = t.get();
        if n != usize::MAX {
            return n;
        }
        let n = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
        t.set(n);
        n
    })
}

/// One row: `K` counters, alone on their cache lines.
#[repr(align(128))]
struct Row<const K: usize>([AtomicU64; K]);

impl<const K: usize> Default for Row<K> {
    fn default() -> Self {
        Row(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

/// `K` counters, added to by any thread (see the module doc).
pub(super) struct Tally<const K: usize> {
    owned: Box<[Row<K>]>,
    shared: Row<K>,
}

impl<const K: usize> Default for Tally<K> {
    fn default() -> Self {
        Tally {
            owned: (0..OWNED).map(|_| Row::default()).collect(),
            shared: Row::default(),
        }
    }
}

impl<const K: usize> Tally<K> {
    /// Adds `n` to counter `i` (`i < K`).
    pub(super) fn add(&self, i: usize, n: u64) {
        match self.owned.get(thread_number()) {
            Some(row) => {
                // This thread is the row's only writer: no add can come
                // between the load and the store.
                let a = &row.0[i];
                a.store(a.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
            }
            None => {
                self.shared.0[i].fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// Counter `i`'s total.
    pub(super) fn sum(&self, i: usize) -> u64 {
        self.owned
            .iter()
            .chain(std::iter::once(&self.shared))
            .map(|r| r.0[i].load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_many_threads_all_add_up() {
        let t = std::sync::Arc::new(Tally::<2>::default());
        // More threads than owned rows: the later ones share a row.
        let threads: Vec<_> = (0..2 * OWNED + 3)
            .map(|_| {
                let t = t.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        t.add(0, 1);
                        t.add(1, 2);
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        let n = (2 * OWNED + 3) as u64 * 1000;
        assert_eq!((t.sum(0), t.sum(1)), (n, 2 * n));
    }
}
