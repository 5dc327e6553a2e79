//! A buffered writer that a background thread flushes every 50 ms, so
//! output reaches its file soon after it is written even when the guest
//! goes quiet, and a tracer killed without warning loses at most the
//! last 50 ms. Writers hand it whole lines or frames, and the buffer
//! reaches the file in those units: a kill leaves no half line behind.

use std::io::{self, BufWriter, Write};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

const FLUSH_EVERY: Duration = Duration::from_millis(50);

struct Shared<W: Write> {
    out: BufWriter<W>,
    dirty: bool,
    /// The first write or flush error: every later write returns it.
    error: Option<(io::ErrorKind, String)>,
}

impl<W: Write> Shared<W> {
    fn flush(&mut self) -> io::Result<()> {
        if let Some((k, m)) = &self.error {
            return Err(io::Error::new(*k, m.clone()));
        }
        self.dirty = false;
        let r = self.out.flush();
        if let Err(e) = &r {
            self.error = Some((e.kind(), e.to_string()));
        }
        r
    }
}

/// See the module doc. Cloning is not offered: one owner writes.
pub struct AutoFlush<W: Write + Send + 'static> {
    shared: Arc<Mutex<Shared<W>>>,
}

fn lock<W: Write>(m: &Mutex<Shared<W>>) -> MutexGuard<'_, Shared<W>> {
    // A panic while holding the lock leaves a buffer still worth writing.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<W: Write + Send + 'static> AutoFlush<W> {
    /// Buffers writes to `out` and starts the thread that flushes them
    /// (it ends when the writer is dropped).
    pub fn new(out: W) -> AutoFlush<W> {
        let shared = Arc::new(Mutex::new(Shared {
            out: BufWriter::with_capacity(1 << 16, out),
            dirty: false,
            error: None,
        }));
        let weak: Weak<Mutex<Shared<W>>> = Arc::downgrade(&shared);
        // The thread ends once the writer is dropped. Failing to start it
        // only loses the timely flush: writes still flush when full.
        let _ = std::thread::Builder::new()
            .name("vstrace-flush".into())
            .spawn(move || loop {
                std::thread::sleep(FLUSH_EVERY);
                let Some(s) = weak.upgrade() else { return };
                let mut g = lock(&s);
                if g.dirty {
                    let _ = g.flush();
                }
            });
        AutoFlush { shared }
    }

    /// The first error seen writing or flushing, if any.
    pub fn error(&self) -> Option<(io::ErrorKind, String)> {
        lock(&self.shared).error.clone()
    }
}

impl<W: Write + Send + 'static> Write for AutoFlush<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut g = lock(&self.shared);
        if let Some((k, m)) = &g.error {
            return Err(io::Error::new(*k, m.clone()));
        }
        let r = g.out.write_all(buf);
        match &r {
            Ok(()) => g.dirty = true,
            Err(e) => g.error = Some((e.kind(), e.to_string())),
        }
        r
    }
    fn flush(&mut self) -> io::Result<()> {
        lock(&self.shared).flush()
    }
}

impl<W: Write + Send + 'static> Drop for AutoFlush<W> {
    fn drop(&mut self) {
        let _ = lock(&self.shared).flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose bytes the test can see.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<u8>>>);
    impl Write for Seen {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn quiet_output_is_flushed_in_the_background() {
        let seen = Seen::default();
        let mut w = AutoFlush::new(seen.clone());
        w.write_all(b"line\n").unwrap();
        let start = std::time::Instant::now();
        while seen.0.lock().unwrap().is_empty() {
            assert!(start.elapsed() < Duration::from_secs(5), "never flushed");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(&*seen.0.lock().unwrap(), b"line\n");
    }

    #[test]
    fn errors_stick() {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let mut w = AutoFlush::new(f);
        w.write_all(b"x\n").unwrap();
        assert!(w.flush().is_err());
        assert!(w.write_all(b"y\n").is_err());
        assert_eq!(w.error().unwrap().0, io::ErrorKind::StorageFull);
    }
}
