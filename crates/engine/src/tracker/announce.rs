//! strace's split lines, announced when they matter: in a shared text
//! log strace prints a call's entry when the call is made and ends the
//! line `<unfinished ...>` when another line comes before the call's end
//! (see `sink::lines`). The sink needs the entry only then; a call that
//! ends before any other record (the usual case) needs none. So a shown
//! call's enter notes the call here, and the records of the calls still
//! in flight are made when the next record of any kind is about to be
//! written ([`Tracker::announce`]), in the order the calls entered: the
//! sink sees the same sequence it would have seen had each entry been
//! written at its call's enter, less the entries that a call's own end
//! follows at once (which print the same: the end continues the open
//! line). Making every entry eagerly cost a record and a copy of its
//! arguments per shown call.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::state::{lock, HighWater};
use super::{ThreadKey, Tracker};
use crate::record::Record;

/// vCPUs with a list of their own; more share them by number.
const STRIPES: usize = 64;

/// One vCPU's shown calls in flight not announced yet: (order number,
/// thread key), on cache lines of its own.
#[derive(Default)]
#[repr(align(128))]
struct Stripe {
    calls: Mutex<Vec<(u64, ThreadKey)>>,
    /// `calls` may be non-empty (checked without its lock).
    any: AtomicBool,
}

/// Shown calls in flight not announced yet, per vCPU (a note per shown
/// call and a look per record, which on one shared list made every vCPU
/// pass its lock's cache line around).
pub(super) struct Unannounced {
    stripes: Box<[Stripe]>,
    /// Stripes in use: 1 + the highest vCPU number seen (a look reads
    /// only those).
    used: HighWater,
}

impl Default for Unannounced {
    fn default() -> Self {
        Unannounced {
            stripes: (0..STRIPES).map(|_| Stripe::default()).collect(),
            used: HighWater::default(),
        }
    }
}

impl Unannounced {
    /// Notes the shown call numbered `order` entered by thread `key` on
    /// vCPU `vcpu`.
    pub(super) fn note(&self, vcpu: u32, order: u64, key: ThreadKey) {
        let i = vcpu as usize % STRIPES;
        self.used.raise(i);
        let stripe = &self.stripes[i];
        lock(&stripe.calls).push((order, key));
        stripe.any.store(true, Ordering::Release);
    }

    /// Every noted call, moved into `out`.
    fn take_into(&self, out: &mut Vec<(u64, ThreadKey)>) {
        let used = self.used.upto(STRIPES);
        for stripe in &self.stripes[..used] {
            if stripe.any.load(Ordering::Acquire) {
                let mut c = lock(&stripe.calls);
                stripe.any.store(false, Ordering::Release);
                out.append(&mut c);
            }
        }
    }

    /// Whether a call may be noted.
    fn any(&self) -> bool {
        let used = self.used.upto(STRIPES);
        self.stripes[..used]
            .iter()
            .any(|s| s.any.load(Ordering::Acquire))
    }
}

impl Tracker {
    /// The entries of the shown calls still in flight that were not
    /// announced yet, oldest first, to be written before the next record
    /// (see the module doc). Calls that ended meanwhile are forgotten.
    pub fn announce(&self) -> Vec<Record> {
        if !self.unannounced.any() {
            return Vec::new();
        }
        NOTED.with(|n| {
            // (This thread's list, kept: a look allocates nothing.)
            let mut noted = n.take();
            noted.clear();
            self.unannounced.take_into(&mut noted);
            noted.sort_unstable_by_key(|n| n.0);
            let out = noted
                .iter()
                .filter_map(|&(order, key)| {
                    self.pending
                        .find_under(key, |p| (p.order == order).then(|| self.entry_record(p)))
                })
                .collect();
            n.set(noted);
            out
        })
    }
}

std::thread_local! {
    /// The noted calls a look took (see [`Tracker::announce`]).
    static NOTED: std::cell::Cell<Vec<(u64, ThreadKey)>> = const { std::cell::Cell::new(Vec::new()) };
}
