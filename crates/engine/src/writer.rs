//! Output off the event threads: each vCPU puts its records into a
//! buffer of its own (a stripe, by vCPU number) and one writer thread
//! takes the buffers, merges them in time order and renders
//! ([`Sink::write`]: text, JSON or the summary) and writes them. A vCPU
//! thread pays for a push under its own stripe's lock instead of the
//! rendering and the `write(2)`, and vCPUs pushing at once do not wait
//! for each other.
//!
//! Time order: an event is stamped by [`Writer::begin`], which also
//! marks its stripe busy since that time, and its records are pushed
//! with that stamp as their key; [`Writer::end`] marks the stripe idle.
//! The writer writes a record only when its key is below the watermark:
//! the smallest stamp of the events still being handled, or its own
//! clock when none is. It reads its clock before the busy marks, and a
//! vCPU marks itself busy before it reads the clock, so an event the
//! writer saw as idle gets a stamp at or after the watermark: nothing
//! written later can have an earlier key. Records of one key keep the
//! order they were pushed in (a number from their stripe's counter), so
//! one pushing thread's output is byte-identical to writing in place
//! (records of several vCPUs with the very same stamp are ordered by
//! their numbers, which say nothing across stripes: they are
//! simultaneous). With
//! more vCPUs than stripes, vCPUs share a stripe and the order among
//! them is the order they pushed in, not time.
//!
//! The writer looks at the stripes every millisecond (and at once when
//! one fills), so output still reaches the sink's 50 ms background
//! flush ([`crate::flush`]) promptly; a full stripe makes its pushing
//! thread wait, bounding memory. The stripe holding the watermark can
//! always be written (its queued records are older than the event it
//! handles), so a waiting pusher never waits for ever.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::record::Record;
use crate::sink::Sink;

/// Records queued in a stripe before the writer is woken early.
const WAKE_AT: usize = 256;
/// Records queued in a stripe before its pushing thread waits.
const MAX_QUEUED: usize = 1 << 14;
/// How often the writer looks at the stripes when not woken.
const POLL: Duration = Duration::from_millis(1);
/// Stripes: vCPUs beyond this share them (still correct, but ordered
/// among themselves by push, not by time).
const STRIPES: usize = 64;
/// The busy mark of a stripe whose vCPU handles no event.
const IDLE: u64 = u64::MAX;

/// One vCPU's buffer, alone on its cache lines.
#[repr(align(128))]
struct Stripe {
    records: Mutex<Vec<Queued>>,
    /// The stamp of the event its vCPU is handling ([`IDLE`] if none;
    /// 0 while the stamp is being read).
    busy: AtomicU64,
    /// The next record's number in this stripe (written under `records`'
    /// lock: a counter of its own, not one all vCPUs add to).
    next: AtomicU64,
}

impl Default for Stripe {
    fn default() -> Self {
        Stripe {
            records: Mutex::default(),
            busy: AtomicU64::new(IDLE),
            next: AtomicU64::new(0),
        }
    }
}

/// A queued record: its time key (the stamp of the event that made it),
/// its push number in its stripe and the record.
type Queued = (u64, u64, Record);

struct Shared {
    stripes: Box<[Stripe]>,
    /// The clock stamps are read from (the engine's start).
    start: Instant,
    /// Set by [`Writer::finish`]: write what is queued, then stop.
    done: AtomicBool,
    /// Pushers waiting for room (the writer wakes them only if any).
    waiting: AtomicUsize,
    /// The writer sleeps on `wake` under this lock; pushers waiting for
    /// room sleep on it too.
    idle: Mutex<()>,
    /// Signalled when a stripe fills (to the writer) and when the
    /// stripes were emptied (to pushers waiting for room).
    wake: Condvar,
}

impl Shared {
    fn new(start: Instant) -> Self {
        Shared {
            stripes: (0..STRIPES).map(|_| Stripe::default()).collect(),
            start,
            done: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            idle: Mutex::new(()),
            wake: Condvar::new(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves records still worth writing.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The writer thread and its stripes. Dropping it without
/// [`Writer::finish`] stops the thread after it wrote what was queued.
pub struct Writer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<Sink>>>,
    /// The sink once the thread gave it back ([`Writer::finish`]).
    ended: Mutex<Option<Sink>>,
}

impl Writer {
    /// Starts the thread that writes to `sink`, with stamps read as the
    /// time since `start`; gives the sink back when the thread cannot be
    /// started.
    pub fn start(sink: Sink, start: Instant) -> Result<Writer, Box<Sink>> {
        Writer::start_recycling(sink, start, Box::new(|_: &mut Record| {}))
    }

    /// [`Writer::start`], giving each record to `recycle` once written
    /// (its buffers go back to where records are built).
    pub fn start_recycling(
        sink: Sink,
        start: Instant,
        recycle: Box<dyn Fn(&mut Record) + Send>,
    ) -> Result<Writer, Box<Sink>> {
        let shared = Arc::new(Shared::new(start));
        let theirs = Arc::clone(&shared);
        // The sink moves into the thread through a slot, so that it can be
        // taken back if the thread does not start.
        let slot = Arc::new(Mutex::new(Some(sink)));
        let their_slot = Arc::clone(&slot);
        let spawned = std::thread::Builder::new()
            .name("vstrace-writer".into())
            .spawn(move || {
                let sink = lock(&their_slot).take();
                run(&theirs, sink.unwrap_or_else(null_sink), &*recycle)
            });
        match spawned {
            Ok(thread) => Ok(Writer {
                shared,
                thread: Mutex::new(Some(thread)),
                ended: Mutex::new(None),
            }),
            Err(_) => Err(Box::new(lock(&slot).take().unwrap_or_else(null_sink))),
        }
    }

    /// Marks vCPU `vcpu` busy with an event and gives the event's stamp
    /// (ns since the start). Every [`Writer::begin`] is followed by an
    /// [`Writer::end`] on the same thread.
    pub fn begin(&self, vcpu: u32) -> u64 {
        let busy = &self.stripe(vcpu).busy;
        // Busy before the clock is read (see the module doc): a store
        // then a load, which only a full fence keeps in that order.
        busy.store(0, Ordering::SeqCst);
        let now = self.shared.start.elapsed().as_nanos() as u64;
        // Then the stamp: any mark from 0 up holds the writer back as
        // much, so no fence is needed to publish it (on x86 a SeqCst
        // store is a locked exchange, a release store a plain one).
        busy.store(now, Ordering::Release);
        now
    }

    /// Marks vCPU `vcpu` busy with an event of stamp `now` given by the
    /// caller (which must not be earlier than any stamp [`Writer::begin`]
    /// gave before).
    pub fn begin_at(&self, vcpu: u32, now: u64) {
        self.stripe(vcpu).busy.store(now, Ordering::SeqCst);
    }

    /// Marks vCPU `vcpu` idle: its event's records are all pushed.
    pub fn end(&self, vcpu: u32) {
        // After the pushes (released with it: a writer that sees the mark
        // idle finds them in the queue).
        self.stripe(vcpu).busy.store(IDLE, Ordering::Release);
    }

    fn stripe(&self, vcpu: u32) -> &Stripe {
        &self.shared.stripes[vcpu as usize % STRIPES]
    }

    /// Queues `rec`, made by vCPU `vcpu` (any number: it picks the
    /// stripe) while handling the event of stamp `key`, after every record
    /// pushed before it with a key not above `key`.
    pub fn push(&self, vcpu: u32, key: u64, rec: Record) {
        let stripe = self.stripe(vcpu);
        let mut q = lock(&stripe.records);
        while q.len() >= MAX_QUEUED && !self.shared.done.load(Ordering::Acquire) {
            drop(q);
            self.shared.waiting.fetch_add(1, Ordering::AcqRel);
            let idle = lock(&self.shared.idle);
            self.shared.wake.notify_all();
            // Woken when the writer took the stripes (or after a poll
            // period: the notification may come before this wait).
            drop(self.shared.wake.wait_timeout(idle, POLL));
            self.shared.waiting.fetch_sub(1, Ordering::AcqRel);
            q = lock(&stripe.records);
        }
        // (Under the stripe's lock: no other writer of `next`.)
        let n = stripe.next.load(Ordering::Relaxed);
        stripe.next.store(n + 1, Ordering::Relaxed);
        q.push((key, n, rec));
        if q.len() == WAKE_AT {
            self.shared.wake.notify_all();
        }
    }

    /// Writes everything queued, stops the thread and gives the sink to
    /// `f` (if the thread died, which only a bug can make it do, an empty
    /// sink whose error says so). Later calls see the same sink.
    pub fn finish<T>(&self, f: impl FnOnce(&mut Sink) -> T) -> T {
        let mut ended = lock(&self.ended);
        let sink = ended.get_or_insert_with(|| {
            self.stop().unwrap_or_else(|| {
                let mut s = null_sink();
                s.first_error = Some("the output thread stopped".into());
                s
            })
        });
        f(sink)
    }

    /// The sink's first error, once [`Writer::finish`] gave it back.
    pub fn finish_error(&self) -> Option<String> {
        lock(&self.ended).as_ref()?.first_error.clone()
    }

    /// The sink, once [`Writer::finish`] gave it back.
    pub fn ended(&mut self) -> Option<&mut Sink> {
        self.ended
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
    }

    fn stop(&self) -> Option<Sink> {
        self.shared.done.store(true, Ordering::Release);
        {
            let _idle = lock(&self.shared.idle);
            self.shared.wake.notify_all();
        }
        lock(&self.thread).take()?.join().ok()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if lock(&self.ended).is_none() {
            let _ = self.stop();
        }
    }
}

/// Stands in for the sink where it cannot be had (the slot it travels in
/// is empty only if the thread both started and did not): an impossible
/// state must not be a panic.
fn null_sink() -> Sink {
    Sink::from_writer(Box::new(std::io::sink()), crate::Format::Text, false)
}

/// What the writer took from one stripe: records in push order, and how
/// many of them are written.
#[derive(Default)]
struct Taken {
    records: Vec<Queued>,
    pos: usize,
    /// Whether the stripe's whole queue was taken this round (not when
    /// records taken before were still being written).
    whole: bool,
}

impl Taken {
    /// The key and number of the next record to write from here.
    fn front(&self) -> Option<(u64, u64)> {
        self.records.get(self.pos).map(|r| (r.0, r.1))
    }
}

/// The writer thread: takes each stripe's buffer once it wrote what it
/// took from there before (swapping buffers, so steady state allocates
/// nothing), merges the stripes by key then number (each is in that
/// order, one vCPU pushing it) and writes outside the locks, holding back
/// what is not below the watermark (see the module doc).
fn run(shared: &Shared, mut sink: Sink, recycle: &dyn Fn(&mut Record)) -> Sink {
    let mut taken: Vec<Taken> = (0..STRIPES).map(|_| Taken::default()).collect();
    loop {
        let done = shared.done.load(Ordering::Acquire);
        // The clock first, then the busy marks, then the queues: a record
        // pushed by an event seen idle here is in the queues taken below.
        let clock = shared.start.elapsed().as_nanos() as u64;
        let mark = shared
            .stripes
            .iter()
            .map(|s| s.busy.load(Ordering::SeqCst))
            .fold(clock, u64::min);
        let mut any = false;
        for (s, t) in shared.stripes.iter().zip(taken.iter_mut()) {
            t.whole = false;
            if t.front().is_some() {
                // Its queue comes after what is left here.
                continue;
            }
            t.whole = true;
            t.records.clear();
            t.pos = 0;
            let mut q = lock(&s.records);
            if !q.is_empty() {
                any = true;
                std::mem::swap(&mut t.records, &mut q);
            }
        }
        if any && shared.waiting.load(Ordering::Acquire) > 0 {
            // Pushers waiting for room may go on.
            let _idle = lock(&shared.idle);
            shared.wake.notify_all();
        }
        // In time order, up to the watermark (at the end, everything:
        // every push is over).
        let mut wrote = false;
        while let Some((i, (key, _))) = taken
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.front().map(|f| (i, f)))
            .min_by_key(|x| x.1)
        {
            if key >= mark && !done {
                break;
            }
            let t = &mut taken[i];
            // Written where it lies (no move of the large record out of
            // the queue); dropped with the queue's next clearing.
            let rec = &mut t.records[t.pos].2;
            // A record that fails to render is lost, not the trace.
            if catch_unwind(AssertUnwindSafe(|| sink.write_mut(rec))).is_err() {
                sink.errors += 1;
            }
            recycle(rec);
            t.pos += 1;
            wrote = true;
            // A stripe whose queue was not taken this round may hold
            // records older than the other stripes' next ones: the next
            // round takes it first.
            let stop = t.front().is_none() && !t.whole;
            if stop {
                break;
            }
        }
        if wrote && shared.waiting.load(Ordering::Acquire) > 0 {
            // Room may come from records written, not only from queues
            // taken: a pusher waiting on a full stripe looks again.
            let _idle = lock(&shared.idle);
            shared.wake.notify_all();
        }
        if done {
            // A stripe with records left from an earlier round was not
            // looked at this round: the end needs a round that wrote
            // nothing and found every queue empty.
            if !any && !wrote && taken.iter().all(|t| t.front().is_none()) {
                return sink;
            }
            continue;
        }
        if !any {
            let idle = lock(&shared.idle);
            if !shared.done.load(Ordering::Acquire) {
                drop(shared.wake.wait_timeout(idle, POLL));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;
    use std::io::Write;

    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<u8>>>);
    impl Write for Seen {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn rec(i: u64) -> Record {
        Record {
            ts_enter_ns: i,
            ts_exit_ns: Some(i + 1),
            os: "linux".into(),
            abi: "x86_64".into(),
            mechanism: "syscall".into(),
            nr: 39,
            name: "getpid".into(),
            ret: Some(i as i64),
            ret_text: Some(i.to_string()),
            ..Default::default()
        }
    }

    /// A writer thread writing text into `seen`.
    fn started(seen: &Seen) -> Writer {
        Writer::start(
            Sink::from_writer(Box::new(seen.clone()), Format::Text, false),
            Instant::now(),
        )
        .ok()
        .expect("writer thread")
    }

    /// Finishes `w`, giving the records written.
    fn finished(w: &Writer) -> u64 {
        w.finish(|s| {
            s.finish();
            s.written
        })
    }

    /// Many more records than the queue holds, from one thread: the same
    /// bytes as writing them in place, in order.
    #[test]
    fn writes_in_order_the_bytes_an_inline_sink_writes() {
        let n = MAX_QUEUED as u64 * 3 + 17;
        let inline = Seen::default();
        let mut s = Sink::from_writer(Box::new(inline.clone()), Format::Text, false);
        for i in 0..n {
            s.write(rec(i));
        }
        s.finish();
        let threaded = Seen::default();
        let w = started(&threaded);
        for i in 0..n {
            let key = w.begin(0);
            w.push(0, key, rec(i));
            w.end(0);
        }
        assert_eq!(finished(&w), n);
        let (a, b) = (inline.0.lock().unwrap(), threaded.0.lock().unwrap());
        assert!(!a.is_empty());
        assert!(*a == *b, "threaded output differs");
    }

    /// Several threads pushing at once, as vCPUs do: every record is
    /// written once, and each thread's records in the order it pushed
    /// them (the merge never reorders one pusher).
    #[test]
    fn merges_several_pushers_keeping_each_ones_order() {
        const THREADS: u64 = 4;
        let per = MAX_QUEUED as u64 + 1000;
        let seen = Seen::default();
        let w = started(&seen);
        std::thread::scope(|sc| {
            for t in 0..THREADS {
                let w = &w;
                sc.spawn(move || {
                    for i in 0..per {
                        let key = w.begin(t as u32);
                        w.push(t as u32, key, rec(t * 1_000_000 + i));
                        w.end(t as u32);
                    }
                });
            }
        });
        assert_eq!(finished(&w), THREADS * per);
        let out = String::from_utf8(seen.0.lock().unwrap().clone()).unwrap();
        let mut last = vec![None; THREADS as usize];
        let mut n = 0;
        for line in out.lines() {
            let v: u64 = line.rsplit("= ").next().unwrap().trim().parse().unwrap();
            let (t, i) = ((v / 1_000_000) as usize, v % 1_000_000);
            assert!(
                last[t].is_none_or(|l| l < i),
                "thread {t}: {i} after {last:?}"
            );
            last[t] = Some(i);
            n += 1;
        }
        assert_eq!(n, THREADS * per);
    }

    /// Threads stamping and pushing at once, some slowly (a sleep between
    /// the stamp and the push, as a vCPU decoding a large call): the
    /// output is in stamp order all the same, with every record once.
    #[test]
    fn writes_in_stamp_order_across_pushers() {
        const THREADS: u32 = 3;
        const PER: u64 = 2_000;
        let seen = Seen::default();
        let w = started(&seen);
        std::thread::scope(|sc| {
            for t in 0..THREADS {
                let w = &w;
                sc.spawn(move || {
                    for i in 0..PER {
                        let key = w.begin(t);
                        if t == 0 && i % 100 == 0 {
                            std::thread::sleep(Duration::from_millis(3));
                        }
                        // The stamp is the record's return value, so the
                        // output shows the order it was written in.
                        let mut r = rec(i);
                        r.ret_text = Some(key.to_string());
                        w.push(t, key, r);
                        w.end(t);
                    }
                });
            }
        });
        assert_eq!(finished(&w), THREADS as u64 * PER);
        let out = String::from_utf8(seen.0.lock().unwrap().clone()).unwrap();
        let keys: Vec<u64> = out
            .lines()
            .map(|l| l.rsplit("= ").next().unwrap().trim().parse().unwrap())
            .collect();
        assert_eq!(keys.len() as u64, THREADS as u64 * PER);
        assert!(
            keys.windows(2).all(|k| k[0] <= k[1]),
            "records out of stamp order"
        );
    }
}
