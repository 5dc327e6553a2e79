//! The writing side of the trace format: the header, then one frame per
//! configuration, event and end, each written whole (see [`TraceWriter`]).

use std::io::{self, Write};

use vstrace_core::Event;

use super::wire::put_varint;
use super::{
    frame_crc, CodecState, END_DETACHED, FORMAT_VERSION, HEADER_LEN, KIND_CONFIG, KIND_END,
    KIND_EVENT, MAGIC, MAX_EVENT_BYTES, MAX_FRAME,
};
use crate::cpu::Access;

/// Writes a trace file, each frame with one `write_all` call: give it a
/// buffered writer that reaches the file in whole writes (a tracer killed
/// mid-run then leaves only complete frames; any torn last frame is
/// reported as truncation by the reader).
pub struct TraceWriter<W: Write> {
    out: W,
    state: CodecState,
    buf: Vec<u8>,
    frame: Vec<u8>,
    /// Event frames written so far.
    pub events: u64,
}

impl<W: Write> TraceWriter<W> {
    /// Writes the header and the configuration frame.
    pub fn new(out: W, config: &[u8]) -> io::Result<TraceWriter<W>> {
        let mut w = TraceWriter {
            out,
            frame: Vec::with_capacity(4096),
            state: CodecState::default(),
            buf: Vec::with_capacity(4096),
            events: 0,
        };
        let mut head = Vec::with_capacity(HEADER_LEN);
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        head.extend_from_slice(&0u16.to_le_bytes());
        w.out.write_all(&head)?;
        w.frame(KIND_CONFIG, config)?;
        Ok(w)
    }

    fn frame(&mut self, kind: u8, payload: &[u8]) -> io::Result<()> {
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|l| *l <= MAX_FRAME)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "trace frame too large"))?;
        self.frame.clear();
        self.frame.push(kind);
        self.frame.extend_from_slice(&len.to_le_bytes());
        self.frame
            .extend_from_slice(&frame_crc(kind, payload).to_le_bytes());
        self.frame.extend_from_slice(payload);
        self.out.write_all(&self.frame)
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Records one event with the accesses made while handling it.
    pub fn event(&mut self, ts: u64, event: &Event, accesses: &[Access]) -> io::Result<()> {
        let read: u64 = accesses
            .iter()
            .map(|a| match a {
                Access::Read { result: Ok(b), .. } => b.len() as u64,
                _ => 0,
            })
            .sum();
        if read > MAX_EVENT_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("one event read {read} bytes of guest memory, above the trace limit"),
            ));
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        self.state.encode_event(&mut buf, ts, event, accesses);
        let r = self.frame(KIND_EVENT, &buf);
        self.buf = buf;
        self.events += 1;
        r
    }

    /// Marks a clean end and flushes.
    pub fn end(&mut self, ts: u64) -> io::Result<()> {
        self.end_as(ts, false)
    }

    /// Marks a clean end where the tracer detached and the VM ran on
    /// (the calls in flight end `<detached ...>` in a replay too), and
    /// flushes.
    pub fn end_detached(&mut self, ts: u64) -> io::Result<()> {
        self.end_as(ts, true)
    }

    fn end_as(&mut self, ts: u64, detached: bool) -> io::Result<()> {
        let mut b = Vec::new();
        put_varint(&mut b, ts);
        // A byte after the time (absent before it existed: a reader
        // takes its absence as a plain end).
        if detached {
            b.push(END_DETACHED);
        }
        self.frame(KIND_END, &b)?;
        self.flush()
    }

    /// Flushes the underlying writer (the frames written so far reach the file).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
