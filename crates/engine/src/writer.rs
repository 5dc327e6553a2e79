//! Output off the event thread: records go into a queue that one writer
//! thread renders ([`Sink::write`]: text, JSON or the summary) and writes,
//! so a vCPU thread pays for a push under an uncontended lock instead of
//! the rendering and the `write(2)`. The queue keeps the order records
//! were pushed in, so the output is byte-identical to writing them in
//! place. The writer looks at the queue every millisecond (and at once
//! when it fills), so output still reaches the sink's 50 ms background
//! flush ([`crate::flush`]) promptly; a full queue makes the pushing
//! thread wait, bounding memory.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::record::Record;
use crate::sink::Sink;

/// Records queued before the writer is woken early.
const WAKE_AT: usize = 256;
/// Records queued before a pushing thread waits for the writer.
const MAX_QUEUED: usize = 1 << 14;
/// How often the writer looks at the queue when not woken.
const POLL: Duration = Duration::from_millis(1);

#[derive(Default)]
struct Queue {
    records: Vec<Record>,
    /// Set by [`Writer::finish`]: write what is queued, then stop.
    done: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when the queue fills (to the writer) and when it was
    /// emptied (to pushers waiting on a full queue).
    changed: Condvar,
}

fn lock(m: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    // A panic while holding the lock leaves records still worth writing.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The writer thread and its queue. Dropping it without
/// [`Writer::finish`] stops the thread after it wrote the queue.
pub struct Writer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Sink>>,
}

impl Writer {
    /// Starts the thread that writes to `sink`; gives the sink back when
    /// the thread cannot be started.
    pub fn start(sink: Sink) -> Result<Writer, Box<Sink>> {
        let shared = Arc::new(Shared::default());
        let theirs = Arc::clone(&shared);
        // The sink moves into the thread through a slot, so that it can be
        // taken back if the thread does not start.
        let slot = Arc::new(Mutex::new(Some(sink)));
        let their_slot = Arc::clone(&slot);
        let spawned = std::thread::Builder::new()
            .name("vstrace-writer".into())
            .spawn(move || {
                let sink = their_slot.lock().unwrap_or_else(|p| p.into_inner()).take();
                run(&theirs, sink.unwrap_or_else(null_sink))
            });
        match spawned {
            Ok(thread) => Ok(Writer {
                shared,
                thread: Some(thread),
            }),
            Err(_) => Err(Box::new(
                slot.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                    .unwrap_or_else(null_sink),
            )),
        }
    }

    /// Queues `rec` for writing, in order.
    pub fn push(&self, rec: Record) {
        let mut q = lock(&self.shared.queue);
        while q.records.len() >= MAX_QUEUED && !q.done {
            self.shared.changed.notify_all();
            q = self
                .shared
                .changed
                .wait(q)
                .unwrap_or_else(|p| p.into_inner());
        }
        q.records.push(rec);
        if q.records.len() == WAKE_AT {
            self.shared.changed.notify_all();
        }
    }

    /// Writes everything queued, stops the thread and gives the sink back
    /// (None if the thread died, which only a bug can make it do).
    pub fn finish(mut self) -> Option<Sink> {
        self.stop()
    }

    fn stop(&mut self) -> Option<Sink> {
        lock(&self.shared.queue).done = true;
        self.shared.changed.notify_all();
        self.thread.take()?.join().ok()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Stands in for the sink where it cannot be had (the slot it travels in
/// is empty only if the thread both started and did not): an impossible
/// state must not be a panic.
fn null_sink() -> Sink {
    Sink::from_writer(Box::new(std::io::sink()), crate::Format::Text, false)
}

/// The writer thread: takes the whole queue at a time (swapping buffers,
/// so steady state allocates nothing) and writes it outside the lock.
fn run(shared: &Shared, mut sink: Sink) -> Sink {
    let mut batch: Vec<Record> = Vec::new();
    loop {
        let done = {
            let mut q = lock(&shared.queue);
            if q.records.is_empty() && !q.done {
                q = shared
                    .changed
                    .wait_timeout(q, POLL)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
            std::mem::swap(&mut batch, &mut q.records);
            q.done
        };
        // Pushers waiting on a full queue may go on.
        shared.changed.notify_all();
        for rec in batch.drain(..) {
            // A record that fails to render is lost, not the trace.
            if catch_unwind(AssertUnwindSafe(|| sink.write(rec))).is_err() {
                sink.errors += 1;
            }
        }
        if done && lock(&shared.queue).records.is_empty() {
            return sink;
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
        let w = Writer::start(Sink::from_writer(
            Box::new(threaded.clone()),
            Format::Text,
            false,
        ))
        .ok()
        .expect("writer thread");
        for i in 0..n {
            w.push(rec(i));
        }
        let mut s = w.finish().expect("sink back");
        s.finish();
        assert_eq!(s.written, n);
        let (a, b) = (inline.0.lock().unwrap(), threaded.0.lock().unwrap());
        assert!(!a.is_empty());
        assert!(*a == *b, "threaded output differs");
    }
}
