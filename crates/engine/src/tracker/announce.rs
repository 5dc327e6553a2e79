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

use super::state::lock;
use super::{ThreadKey, Tracker};
use crate::record::Record;

/// Shown calls in flight not announced yet: (order number, thread key).
#[derive(Default)]
pub(super) struct Unannounced {
    calls: Mutex<Vec<(u64, ThreadKey)>>,
    /// `calls` may be non-empty (checked without its lock).
    any: AtomicBool,
}

impl Unannounced {
    /// Notes the shown call numbered `order` entered by thread `key`.
    pub(super) fn note(&self, order: u64, key: ThreadKey) {
        let mut c = lock(&self.calls);
        c.push((order, key));
        self.any.store(true, Ordering::Release);
    }
}

impl Tracker {
    /// The entries of the shown calls still in flight that were not
    /// announced yet, oldest first, to be written before the next record
    /// (see the module doc). Calls that ended meanwhile are forgotten.
    pub fn announce(&self) -> Vec<Record> {
        if !self.unannounced.any.load(Ordering::Acquire) {
            return Vec::new();
        }
        let mut noted = {
            let mut c = lock(&self.unannounced.calls);
            self.unannounced.any.store(false, Ordering::Release);
            std::mem::take(&mut *c)
        };
        noted.sort_unstable_by_key(|n| n.0);
        let out: Vec<Record> = noted
            .drain(..)
            .filter_map(|(order, key)| {
                self.pending
                    .find_under(key, |p| (p.order == order).then(|| self.entry_record(p)))
            })
            .collect();
        // The list's buffer back, for the next calls' notes.
        let mut c = lock(&self.unannounced.calls);
        if c.is_empty() && c.capacity() < noted.capacity() {
            std::mem::swap(&mut *c, &mut noted);
        }
        out
    }
}
