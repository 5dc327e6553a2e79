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
    /// Entries made already, by order number: of noted calls that left
    /// the calls in flight without a return (an exit_group ended their
    /// thread), whose entry a look could no longer make.
    made: Mutex<Vec<(u64, Record)>>,
    /// `made` may be non-empty (checked without its lock).
    any_made: AtomicBool,
}

impl Default for Unannounced {
    fn default() -> Self {
        Unannounced {
            stripes: (0..STRIPES).map(|_| Stripe::default()).collect(),
            used: HighWater::default(),
            made: Mutex::default(),
            any_made: AtomicBool::new(false),
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

    /// Forgets the noted call numbered `order`; whether it was noted.
    fn take_order(&self, order: u64) -> bool {
        let used = self.used.upto(STRIPES);
        for stripe in &self.stripes[..used] {
            if !stripe.any.load(Ordering::Acquire) {
                continue;
            }
            let mut c = lock(&stripe.calls);
            if let Some(i) = c.iter().position(|n| n.0 == order) {
                c.remove(i);
                if c.is_empty() {
                    stripe.any.store(false, Ordering::Release);
                }
                return true;
            }
        }
        false
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

    /// Whether a call may be noted (or an entry made).
    fn any(&self) -> bool {
        let used = self.used.upto(STRIPES);
        self.any_made.load(Ordering::Acquire)
            || self.stripes[..used]
                .iter()
                .any(|s| s.any.load(Ordering::Acquire))
    }
}

impl Tracker {
    /// The entries of the shown calls still in flight that were not
    /// announced yet, oldest first, to be written before the next record
    /// (see the module doc). Calls that ended meanwhile are forgotten,
    /// but for those an exit_group ended (see [`Tracker::announce_ended`]).
    pub fn announce(&self) -> Vec<Record> {
        if !self.unannounced.any() {
            return Vec::new();
        }
        let made = if self.unannounced.any_made.load(Ordering::Acquire) {
            let mut m = lock(&self.unannounced.made);
            self.unannounced.any_made.store(false, Ordering::Release);
            std::mem::take(&mut *m)
        } else {
            Vec::new()
        };
        NOTED.with(|n| {
            // (This thread's list, kept: a look allocates nothing.)
            let mut noted = n.take();
            noted.clear();
            self.unannounced.take_into(&mut noted);
            noted.sort_unstable_by_key(|n| n.0);
            let mut out: Vec<(u64, Record)> = noted
                .iter()
                .filter_map(|&(order, key)| {
                    self.pending.find_under(key, |p| {
                        (p.order == order).then(|| (order, self.entry_record(p)))
                    })
                })
                .collect();
            n.set(noted);
            if !made.is_empty() {
                out.extend(made);
                out.sort_by_key(|e| e.0);
            }
            out.into_iter().map(|e| e.1).collect()
        })
    }

    /// The entry of shown call `p`, which leaves the calls in flight
    /// without a return (an exit_group ended its thread), made now if it
    /// was not announced yet: the next look writes it with the others,
    /// before the record that ends the call.
    pub(super) fn announce_ended(&self, p: &super::Pending) {
        if !self.announce_entries || !self.unannounced.take_order(p.order) {
            return;
        }
        let e = self.entry_record(p);
        let mut m = lock(&self.unannounced.made);
        m.push((p.order, e));
        self.unannounced.any_made.store(true, Ordering::Release);
    }
}

std::thread_local! {
    /// The noted calls a look took (see [`Tracker::announce`]).
    static NOTED: std::cell::Cell<Vec<(u64, ThreadKey)>> = const { std::cell::Cell::new(Vec::new()) };
}
