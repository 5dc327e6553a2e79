//! vstrace trace files: everything the engine saw during a live run, so the
//! run can be decoded again offline, identically, without the guest.
//!
//! A trace file is a 12-byte header (magic, version, flags) followed by
//! frames: kind, payload length, CRC-32 of kind and payload, payload. The
//! first frame is the engine configuration (opaque bytes here, JSON in
//! practice); then one frame per event with its timestamp, the register
//! snapshot (delta-coded per vCPU) and every guest access the engine made
//! while handling it, in order: memory reads with their bytes or fault,
//! memory writes and register writes with their outcome; a last frame
//! marks a clean end. See [`format`] for the exact layout.
//!
//! Trace files are hostile input: [`TraceReader`] never panics, never
//! allocates more than a frame's real bytes past 1 MiB (a frame is at most
//! [`format::MAX_FRAME`]), and stops at the first damage with its offset;
//! the records before it stay usable. A file already in memory (replay
//! maps a regular file) is read in place with [`TraceReader::from_bytes`],
//! to the same records and the same damage. Replay reads with
//! [`TraceReader::next_lazy_into`]: an event's accesses stay coded in the
//! reader until a [`ReplayCpu`] looks at them ([`AccessLog`]), since a
//! replay asks for few of the reads a live run recorded. [`parse_trace`] and
//! [`parse_trace_unchecked`] (checksums ignored) are the entry points for
//! fuzzing the reader; `vstrace_engine::replay::fuzz_replay` fuzzes replay
//! through the engine.

#![forbid(unsafe_code)]

pub mod cpu;
pub mod format;

pub use cpu::{Access, ReadHistory, RecordingCpu, ReplayCpu};
pub use format::{
    parse_trace, parse_trace_unchecked, AccessLog, EventRecord, LazyLog, Next, Record, TraceError,
    TraceErrorKind, TraceReader, TraceWriter, FORMAT_VERSION, MAGIC,
};
