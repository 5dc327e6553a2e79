//! The trace file format, its writer and its reader.
//!
//! ```text
//! header   "VSTRACE\0"  version: u16 LE  flags: u16 LE (0)
//! frame    kind: u8  len: u32 LE  crc32(kind, payload): u32 LE  payload[len]
//! kinds    1 config   payload = opaque bytes (the engine's JSON config)
//!          2 event    see below
//!          3 end      ts: varint (a clean end; absent if the run died)
//! event    ts delta: zigzag varint   vcpu: varint
//!          flags: u8 (mechanism 0-6 | bitness 64 << 3 | exit << 4 | cr3 differs << 5)
//!          [cr3: varint]  changed: varint bit mask over the 27 register fields
//!          (18 general, cs, ss, fs_base, gs_base, k_gs_base, cr0, cr3, cr4,
//!          efer) against the vCPU's previous event, then each changed value
//!          as a varint;  n: varint, then n accesses:
//!          0 read ok     addr, len, bytes[len]
//!          1 read same   addr, len  (bytes equal to the cached read at addr/len)
//!          2 read fault  addr, len, MemError
//!          3 write       addr, len, 0 | 1 MemError
//!          4 reg write   reg: u8, value, 0 | 1 CpuError
//!          5 read in ok  mode: u8 (0 32-bit, 1 PAE, 2 4-level), root, addr,
//!                        len, bytes[len]  (a read in another address space)
//!          6 read in fault  mode, root, addr, len, MemError
//!          7 probed signal  signo, len, bytes[len]  (the kernel's siginfo
//!                        a probe read, see `Cpu::probed_signal`)
//! ```
//! Version 2 added access kinds 5 and 6 and memory error kind 5; version 3
//! added access kind 7; version 1 and 2 files are read as well.
//! Integers are LEB128 varints unless a width is given. The register and
//! "read same" state lives in the writer and the reader alike, so a frame
//! can only be decoded after the ones before it: the reader stops at the
//! first damaged frame. The "read same" cache is direct-mapped: reads of
//! at most 4 KiB land in one of 4096 slots chosen by a hash of (addr,
//! len), replacing what was there; a later read that finds its own
//! (addr, len, bytes) in its slot is coded as "same".

use std::collections::HashMap;
use std::io::{self, Read};

use vstrace_core::{Bitness, Direction, Event, Mechanism};

use crate::cpu::Access;

mod fields;
pub(crate) mod lazy;
mod slot;
mod wire;
mod writer;

pub use lazy::{AccessLog, LazyLog};
pub use writer::TraceWriter;

use fields::{fields, set_regs_from};
pub(crate) use slot::copy_bytes;
use slot::{put_access, set_read, MAX_STALE};
use wire::*;

/// First bytes of every trace file.
pub const MAGIC: &[u8; 8] = b"VSTRACE\0";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u16 = 3;
/// The oldest format version this crate reads.
pub const MIN_FORMAT_VERSION: u16 = 1;
const HEADER_LEN: usize = 12;
/// Largest frame payload accepted: above the engine's largest single guest
/// access (16 MiB) plus room for the rest of the event.
pub const MAX_FRAME: u32 = 32 << 20;
const FRAME_HEAD: usize = 9;
/// Largest total of memory bytes one event's reads may hold once decoded:
/// "read same" entries are expanded, and a hostile file must not turn a
/// small frame into gigabytes.
pub const MAX_EVENT_BYTES: u64 = 64 << 20;

const KIND_CONFIG: u8 = 1;
const KIND_EVENT: u8 = 2;
const KIND_END: u8 = 3;
/// The end frame's byte after its time: the tracer detached, the VM ran
/// on.
const END_DETACHED: u8 = 1;

/// Slots of the "read same" cache, and the largest read it keeps.
const SAME_SLOTS: usize = 4096;
const SAME_MAX_LEN: u64 = 4096;
const NFIELDS: usize = 27;

/// One event as recorded: when the engine saw it, the event, and the
/// guest accesses made while handling it ([`EventRecord::accesses`]).
#[derive(Clone)]
pub struct EventRecord {
    /// When the engine saw the event, in nanoseconds since the recording started.
    pub ts: u64,
    /// The event (trap kind, vCPU, registers).
    pub event: Event,
    /// The guest accesses made while handling it, in order: the first
    /// `n`. The ones past them are earlier events' (a reused slot keeps
    /// them, and their byte buffers, for the next events to overwrite).
    log: Vec<Access>,
    n: usize,
    /// Per access of the first `n`: a read the file coded as a repeat
    /// of the cached one (see [`crate::ReadHistory::add_record`]).
    same: Vec<bool>,
    /// The accesses were left coded in the reader
    /// ([`TraceReader::next_lazy_into`]; `n` is 0).
    lazy: bool,
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // events are the common case: no box
pub enum Record {
    /// The engine configuration of the live run (JSON), the first frame.
    Config(Vec<u8>),
    /// One event with its accesses.
    Event(EventRecord),
    /// The recording ended cleanly at this engine time.
    End {
        /// Nanoseconds since the recording started.
        ts: u64,
        /// The tracer detached and left the VM running (calls in flight
        /// end `<detached ...>`), rather than the guest's end.
        detached: bool,
    },
}

/// What is wrong with a trace file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceErrorKind {
    #[error("not a vstrace trace file (bad magic)")]
    /// The file does not start with the trace-file magic.
    BadMagic,
    #[error(
        "trace format version {0} is not supported (this vstrace reads versions {MIN_FORMAT_VERSION} to {FORMAT_VERSION})"
    )]
    /// The file's format version is outside the range this build reads.
    Version(u16),
    #[error("the file ends in the middle of a frame (truncated)")]
    /// The file ends inside a frame (a writer killed mid-write, a full disk).
    Truncated,
    #[error("frame length {0} exceeds the limit of {MAX_FRAME} bytes")]
    /// A frame claims a length over the limit: damage, not data.
    TooLarge(u64),
    #[error("checksum mismatch (corrupted data)")]
    /// A frame's checksum does not match its bytes.
    Checksum,
    #[error("unknown frame kind {0}")]
    /// A frame kind this version does not know.
    UnknownKind(u8),
    #[error("malformed frame: {0}")]
    /// A frame whose contents do not decode (what is wrong).
    Malformed(&'static str),
    #[error("the first frame is not the configuration")]
    /// The first frame is not the configuration frame.
    NoConfig,
    #[error("reading the trace: {0}")]
    /// The file could not be read (the OS error's text).
    Io(String),
}

/// A damaged trace file: what is wrong and at which byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trace file damaged at byte {offset}: {kind}")]
pub struct TraceError {
    /// Byte offset of the damaged frame in the file.
    pub offset: u64,
    /// What is wrong there.
    pub kind: TraceErrorKind,
}

/// Delta state shared by the writer's and the reader's view of the stream.
struct CodecState {
    last_ts: u64,
    /// The last register fields of vCPUs numbered below [`DENSE_VCPUS`],
    /// by number (None: no event yet); a lookup per event costs no hash.
    dense: Vec<Option<[u64; NFIELDS]>>,
    /// The same for higher numbers (a hostile file may use any).
    regs: HashMap<u32, [u64; NFIELDS]>,
    same: Vec<(u64, u64, Vec<u8>)>,
    /// The event frame being decoded.
    pending: Pending,
    /// The file's format version (the reader's): an access kind newer
    /// than it is damage.
    version: u16,
}

/// vCPU numbers whose register state lives in a plain vector.
const DENSE_VCPUS: u32 = 256;

impl Default for CodecState {
    fn default() -> Self {
        CodecState {
            last_ts: 0,
            dense: Vec::new(),
            regs: HashMap::new(),
            same: vec![(0, u64::MAX, Vec::new()); SAME_SLOTS],
            pending: Pending::default(),
            version: FORMAT_VERSION,
        }
    }
}

pub(crate) fn slot(addr: u64, len: u64) -> usize {
    let h = (addr ^ len.rotate_left(48)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> 52) as usize % SAME_SLOTS
}

impl CodecState {
    /// The register fields of `vcpu`'s previous event, where they are
    /// (None before its first).
    fn fields_of<'a>(
        dense: &'a [Option<[u64; NFIELDS]>],
        regs: &'a HashMap<u32, [u64; NFIELDS]>,
        vcpu: u32,
    ) -> Option<&'a [u64; NFIELDS]> {
        if vcpu < DENSE_VCPUS {
            dense.get(vcpu as usize).and_then(Option::as_ref)
        } else {
            regs.get(&vcpu)
        }
    }

    /// The register fields of `vcpu`'s previous event (zeros before its first).
    fn last_regs(&self, vcpu: u32) -> [u64; NFIELDS] {
        if vcpu < DENSE_VCPUS {
            self.dense.get(vcpu as usize).copied().flatten()
        } else {
            self.regs.get(&vcpu).copied()
        }
        .unwrap_or([0; NFIELDS])
    }

    fn set_regs(&mut self, vcpu: u32, f: [u64; NFIELDS]) {
        if vcpu < DENSE_VCPUS {
            let i = vcpu as usize;
            if self.dense.len() <= i {
                self.dense.resize(i + 1, None);
            }
            self.dense[i] = Some(f);
        } else {
            self.regs.insert(vcpu, f);
        }
    }

    /// Whether the cache holds exactly this read.
    fn is_same(&self, addr: u64, bytes: &[u8]) -> bool {
        let len = bytes.len() as u64;
        let (a, l, b) = &self.same[slot(addr, len)];
        *a == addr && *l == len && b.as_slice() == bytes
    }

    fn remember(&mut self, addr: u64, bytes: &[u8]) {
        let len = bytes.len() as u64;
        if len <= SAME_MAX_LEN {
            let e = &mut self.same[slot(addr, len)];
            e.0 = addr;
            e.1 = len;
            slot::copy_bytes(&mut e.2, bytes);
        }
    }

    fn cached(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let (a, l, b) = &self.same[slot(addr, len)];
        (*a == addr && *l == len).then_some(b.as_slice())
    }

    fn encode_event(&mut self, out: &mut Vec<u8>, ts: u64, ev: &Event, acc: &[Access]) {
        put_varint(out, zigzag(ts.wrapping_sub(self.last_ts) as i64));
        self.last_ts = ts;
        put_varint(out, ev.vcpu as u64);
        let mech = ev.mechanism.index() as u8;
        let mut flags = mech;
        if ev.bitness == Bitness::B64 {
            flags |= 1 << 3;
        }
        if ev.direction == Direction::Exit {
            flags |= 1 << 4;
        }
        if ev.cr3 != ev.regs.cr3 {
            flags |= 1 << 5;
        }
        out.push(flags);
        if ev.cr3 != ev.regs.cr3 {
            put_varint(out, ev.cr3);
        }
        let now = fields(&ev.regs);
        let prev = self.last_regs(ev.vcpu);
        let mut mask = 0u64;
        for (i, (n, p)) in now.iter().zip(prev.iter()).enumerate() {
            if n != p {
                mask |= 1 << i;
            }
        }
        put_varint(out, mask);
        for (i, n) in now.iter().enumerate() {
            if mask & (1 << i) != 0 {
                put_varint(out, *n);
            }
        }
        self.set_regs(ev.vcpu, now);
        put_varint(out, acc.len() as u64);
        for a in acc {
            match a {
                Access::Read {
                    space: None,
                    addr,
                    len,
                    result: Ok(bytes),
                } => {
                    let same = self.is_same(*addr, bytes);
                    out.push(if same { 1 } else { 0 });
                    put_varint(out, *addr);
                    put_varint(out, *len);
                    if !same {
                        out.extend_from_slice(bytes);
                        self.remember(*addr, bytes);
                    }
                }
                Access::Read {
                    space: None,
                    addr,
                    len,
                    result: Err(e),
                } => {
                    out.push(2);
                    put_varint(out, *addr);
                    put_varint(out, *len);
                    put_mem_error(out, e);
                }
                Access::Write { addr, len, result } => {
                    out.push(3);
                    put_varint(out, *addr);
                    put_varint(out, *len);
                    match result {
                        Ok(()) => out.push(0),
                        Err(e) => {
                            out.push(1);
                            put_mem_error(out, e);
                        }
                    }
                }
                Access::Read {
                    space: Some(space),
                    addr,
                    len,
                    result,
                } => {
                    out.push(if result.is_ok() { 5 } else { 6 });
                    put_space(out, space);
                    put_varint(out, *addr);
                    put_varint(out, *len);
                    match result {
                        Ok(bytes) => out.extend_from_slice(bytes),
                        Err(e) => put_mem_error(out, e),
                    }
                }
                Access::Signal(p) => put_probed(out, p),
                Access::Reg { reg, value, result } => {
                    out.push(4);
                    out.push(*reg as u8);
                    put_varint(out, *value);
                    match result {
                        Ok(()) => out.push(0),
                        Err(e) => {
                            out.push(1);
                            put_cpu_error(out, e);
                        }
                    }
                }
            }
        }
    }

    /// Decodes one event frame into `slot`, overwriting its accesses in
    /// place and reusing their byte buffers (and those in `spare`), so
    /// that steady-state decoding allocates nothing. On error `slot` holds
    /// a partial event.
    fn decode_event_into(
        &mut self,
        p: &mut Cursor<'_>,
        slot: &mut EventRecord,
        spare: &mut Vec<Vec<u8>>,
    ) -> Result<(), TraceErrorKind> {
        let mut filled = 0;
        slot.lazy = false;
        let r = self.decode_event_in_place(p, slot, spare, &mut filled);
        slot.n = filled;
        // Accesses past this event's stay for the next events to reuse,
        // a bounded number of them.
        if slot.log.len() > filled + MAX_STALE {
            slot.log.truncate(filled + MAX_STALE);
            slot.same.truncate(filled + MAX_STALE);
        }
        r
    }

    /// [`CodecState::decode_event_into`]'s work: writes the accesses into
    /// `slot.accesses[..filled]`, counting them in `filled`.
    fn decode_event_in_place(
        &mut self,
        p: &mut Cursor<'_>,
        slot: &mut EventRecord,
        spare: &mut Vec<Vec<u8>>,
        filled: &mut usize,
    ) -> Result<(), TraceErrorKind> {
        self.decode_head(p, slot)?;
        let n = p.varint()?;
        let mut expanded = 0u64;
        let mut charge = |len: u64| charge(&mut expanded, len);
        for _ in 0..n {
            // Each access takes at least 3 bytes: a hostile count cannot
            // make us loop or allocate past the frame's real size.
            if p.remaining() < 3 {
                return Err(TraceErrorKind::Malformed("access count"));
            }
            let i = *filled;
            match p.u8()? {
                0 => {
                    let addr = p.varint()?;
                    let len = p.varint()?;
                    let src = p.bytes(len)?;
                    charge(len)?;
                    self.remember(addr, src);
                    set_read(slot, i, spare, None, addr, src, false);
                }
                1 => {
                    let addr = p.varint()?;
                    let len = p.varint()?;
                    charge(len)?;
                    let src = self
                        .cached(addr, len)
                        .ok_or(TraceErrorKind::Malformed("repeated read never seen"))?;
                    set_read(slot, i, spare, None, addr, src, true);
                }
                5 => {
                    let space = p.space()?;
                    let addr = p.varint()?;
                    let len = p.varint()?;
                    let src = p.bytes(len)?;
                    charge(len)?;
                    set_read(slot, i, spare, Some(space), addr, src, false);
                }
                k => {
                    let a = match k {
                        2 => Access::Read {
                            space: None,
                            addr: p.varint()?,
                            len: p.varint()?,
                            result: Err(p.mem_error()?),
                        },
                        3 => Access::Write {
                            addr: p.varint()?,
                            len: p.varint()?,
                            result: match p.u8()? {
                                0 => Ok(()),
                                1 => Err(p.mem_error()?),
                                _ => return Err(TraceErrorKind::Malformed("write outcome")),
                            },
                        },
                        4 => Access::Reg {
                            reg: p.reg()?,
                            value: p.varint()?,
                            result: match p.u8()? {
                                0 => Ok(()),
                                1 => Err(p.cpu_error()?),
                                _ => {
                                    return Err(TraceErrorKind::Malformed("register write outcome"))
                                }
                            },
                        },
                        6 => Access::Read {
                            space: Some(p.space()?),
                            addr: p.varint()?,
                            len: p.varint()?,
                            result: Err(p.mem_error()?),
                        },
                        7 if self.version >= 3 => {
                            let s = p.probed()?;
                            charge(s.info.len() as u64)?;
                            Access::Signal(s)
                        }
                        _ => return Err(TraceErrorKind::Malformed("access kind")),
                    };
                    put_access(slot, i, spare, a, false);
                }
            }
            *filled += 1;
        }
        if p.remaining() != 0 {
            return Err(TraceErrorKind::Malformed("trailing bytes in event"));
        }
        self.commit();
        Ok(())
    }

    /// Decodes an event frame's fields before its accesses (time, vCPU,
    /// trap, registers) into `slot`, changing no state but the pending
    /// event's: see [`CodecState::commit`]. Written in place, never
    /// moved: an event is a few hundred bytes.
    fn decode_head(
        &mut self,
        p: &mut Cursor<'_>,
        slot: &mut EventRecord,
    ) -> Result<(), TraceErrorKind> {
        let ts = self.last_ts.wrapping_add(unzigzag(p.varint()?) as u64);
        let vcpu = u32::try_from(p.varint()?).map_err(|_| TraceErrorKind::Malformed("vcpu"))?;
        let flags = p.u8()?;
        let mechanism = *Mechanism::ALL
            .get((flags & 7) as usize)
            .ok_or(TraceErrorKind::Malformed("mechanism"))?;
        if flags & 0xc0 != 0 {
            return Err(TraceErrorKind::Malformed("event flags"));
        }
        let bitness = if flags & (1 << 3) != 0 {
            Bitness::B64
        } else {
            Bitness::B32
        };
        let direction = if flags & (1 << 4) != 0 {
            Direction::Exit
        } else {
            Direction::Enter
        };
        let cr3_own = (flags & (1 << 5) != 0).then(|| p.varint()).transpose()?;
        let mask = p.varint()?;
        if mask >> NFIELDS != 0 {
            return Err(TraceErrorKind::Malformed("register mask"));
        }
        // The previous fields with the changed ones stored by their set
        // bits (a few per event), kept pending: the vCPU's state takes
        // them at the commit.
        let f = &mut self.pending.fields;
        match Self::fields_of(&self.dense, &self.regs, vcpu) {
            Some(prev) => *f = *prev,
            None => *f = [0; NFIELDS],
        }
        let mut m = mask;
        while m != 0 {
            f[m.trailing_zeros() as usize] = p.varint()?;
            m &= m - 1;
        }
        set_regs_from(f, &mut slot.event.regs)?;
        let ev = &mut slot.event;
        ev.vcpu = vcpu;
        ev.direction = direction;
        ev.mechanism = mechanism;
        ev.bitness = bitness;
        ev.cr3 = cr3_own.unwrap_or(ev.regs.cr3);
        slot.ts = ts;
        self.pending.ts = ts;
        self.pending.vcpu = vcpu;
        Ok(())
    }

    /// Makes the event [`CodecState::decode_head`] decoded, now whole, the
    /// state the next frames are decoded against.
    fn commit(&mut self) {
        self.last_ts = self.pending.ts;
        let vcpu = self.pending.vcpu;
        let f = if vcpu < DENSE_VCPUS {
            let i = vcpu as usize;
            if self.dense.len() <= i {
                self.dense.resize(i + 1, None);
            }
            self.dense[i].get_or_insert([0; NFIELDS])
        } else {
            self.regs.entry(vcpu).or_insert([0; NFIELDS])
        };
        *f = self.pending.fields;
    }
}

/// Adds a read of `len` bytes to an event's `expanded` total (repeated
/// reads count: decoded, each is a copy), failing past [`MAX_EVENT_BYTES`].
fn charge(expanded: &mut u64, len: u64) -> Result<(), TraceErrorKind> {
    *expanded = expanded.saturating_add(len);
    if *expanded > MAX_EVENT_BYTES {
        Err(TraceErrorKind::Malformed(
            "event reads exceed the size limit",
        ))
    } else {
        Ok(())
    }
}

/// The event being decoded: its time, vCPU and register fields, the
/// delta base of that vCPU's next event once the frame is whole.
#[derive(Default)]
struct Pending {
    ts: u64,
    vcpu: u32,
    fields: [u64; NFIELDS],
}

/// How much the reader asks its input for at once: large reads, few
/// system calls; also what a frame's lying length can cost beyond the
/// bytes that really arrive.
const READ_CHUNK: usize = 1 << 20;

fn frame_crc(kind: u8, payload: &[u8]) -> u32 {
    // The kind byte's CRC by hand, then the payload's from it: one
    // update call per frame, not two (one of them a byte long).
    let mut h = crc32fast::Hasher::new_with_initial(byte_crc(kind));
    h.update(payload);
    h.finalize()
}

/// The CRC-32 (IEEE, as `crc32fast`) of the one byte `b`.
fn byte_crc(b: u8) -> u32 {
    let mut c = !0u32 ^ b as u32;
    for _ in 0..8 {
        c = if c & 1 != 0 {
            (c >> 1) ^ 0xedb8_8320
        } else {
            c >> 1
        };
    }
    !c
}

/// Reads a trace file frame by frame; see [`TraceReader::next_record`].
pub struct TraceReader<R: Read> {
    /// The input, read in chunks (None: the whole file is in `store`).
    input: Option<R>,
    offset: u64,
    state: CodecState,
    seen_config: bool,
    failed: bool,
    check_crc: bool,
    /// Bytes read from the input and not yet decoded are
    /// `store[pos..end]`: frames are decoded in place, without a copy per
    /// frame.
    store: Store,
    /// Start of the unread bytes in `store`.
    pos: usize,
    /// End of the bytes read into `store` (past it: room for the next read).
    end: usize,
    /// The input has ended.
    eof: bool,
    /// Byte buffers of earlier events' reads, for the next ones.
    spare: Vec<Vec<u8>>,
    /// The frame being read may leave its accesses coded
    /// ([`TraceReader::next_lazy_into`]).
    lazy: bool,
    /// Where the last event's accesses were left coded, if they were.
    section: Option<lazy::Section>,
    /// That event's reads of an uncommon shape (offsets in its accesses).
    slow: Vec<lazy::SlowRead>,
    /// That event's fresh reads, and what the cache held before them.
    fresh: lazy::FreshReads,
    /// Looking at that event's accesses found damage.
    late_damage: std::cell::Cell<bool>,
}

/// What [`TraceReader::next_into`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The configuration frame (see [`Record::Config`]).
    Config(Vec<u8>),
    /// An event, decoded into the caller's slot.
    Event,
    /// The clean end (see [`Record::End`]).
    End {
        /// Nanoseconds since the recording started.
        ts: u64,
        /// See [`Record::End`].
        detached: bool,
    },
}

/// Where the reader's bytes are.
enum Store {
    /// A buffer the input is read into, about a chunk (or a frame) large.
    Buffered(Vec<u8>),
    /// The whole file, already in memory (a mapped file): frames are
    /// decoded where they are, with no read and no copy at all.
    Whole(Box<dyn AsRef<[u8]> + Send + Sync>),
}

impl Store {
    #[inline]
    fn bytes(&self) -> &[u8] {
        match self {
            Store::Buffered(b) => b,
            Store::Whole(w) => (**w).as_ref(),
        }
    }
}

/// Checks a trace file's header (its first bytes, as many as there
/// are): the file's format version.
fn check_header(head: &[u8]) -> Result<u16, TraceError> {
    let err = |kind| TraceError { offset: 0, kind };
    if head.len() < MAGIC.len() || &head[..8] != MAGIC {
        return Err(err(TraceErrorKind::BadMagic));
    }
    if head.len() < HEADER_LEN {
        return Err(err(TraceErrorKind::Truncated));
    }
    let version = u16::from_le_bytes([head[8], head[9]]);
    if !(MIN_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(err(TraceErrorKind::Version(version)));
    }
    Ok(version)
}

impl<R: Read> TraceReader<R> {
    /// Accepts frames whatever their checksum: for fuzzing, so that
    /// mutated input reaches the frame decoders (and, through replay, the
    /// engine) instead of stopping at the checksum.
    pub fn without_checksums(mut self) -> TraceReader<R> {
        self.check_crc = false;
        self
    }

    /// Checks the header.
    pub fn new(mut input: R) -> Result<TraceReader<R>, TraceError> {
        let mut head = [0u8; HEADER_LEN];
        let n = read_full(&mut input, &mut head).map_err(|e| TraceError {
            offset: 0,
            kind: TraceErrorKind::Io(e.to_string()),
        })?;
        let version = check_header(&head[..n])?;
        Ok(Self::with_store(
            Some(input),
            Store::Buffered(Vec::new()),
            version,
        ))
    }

    /// Reads a whole trace file already in memory (a mapped file):
    /// frames are decoded where they lie, without reading or copying
    /// them; the same records and the same damage as [`TraceReader::new`]
    /// reading the same bytes. Checks the header.
    pub fn from_bytes(
        bytes: Box<dyn AsRef<[u8]> + Send + Sync>,
    ) -> Result<TraceReader<R>, TraceError> {
        let b = (*bytes).as_ref();
        let version = check_header(&b[..b.len().min(HEADER_LEN)])?;
        let len = b.len();
        let mut r = Self::with_store(None, Store::Whole(bytes), version);
        r.pos = HEADER_LEN;
        r.end = len;
        r.eof = true;
        Ok(r)
    }

    fn with_store(input: Option<R>, store: Store, version: u16) -> TraceReader<R> {
        TraceReader {
            input,
            offset: HEADER_LEN as u64,
            state: CodecState {
                version,
                ..CodecState::default()
            },
            seen_config: false,
            failed: false,
            check_crc: true,
            store,
            pos: 0,
            end: 0,
            eof: false,
            spare: Vec::new(),
            lazy: false,
            section: None,
            slow: Vec::new(),
            fresh: lazy::FreshReads::default(),
            late_damage: std::cell::Cell::new(false),
        }
    }

    /// Byte offset of the next frame.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next record, `Ok(None)` at a clean end of file, or the first
    /// damage (after which the reader returns `Ok(None)`).
    pub fn next_record(&mut self) -> Result<Option<Record>, TraceError> {
        let mut slot = EventRecord::empty();
        Ok(self.next_into(&mut slot)?.map(|n| match n {
            Next::Config(b) => Record::Config(b),
            Next::Event => Record::Event(slot),
            Next::End { ts, detached } => Record::End { ts, detached },
        }))
    }

    /// [`TraceReader::next_record`] without allocating per event: an
    /// event is decoded into `slot`, whose buffers are reused from one
    /// call to the next (replay's fast path).
    pub fn next_into(&mut self, slot: &mut EventRecord) -> Result<Option<Next>, TraceError> {
        if self.failed {
            return Ok(None);
        }
        if let Some(e) = self.late_damage() {
            self.failed = true;
            return Err(e);
        }
        let r = self.read_frame(slot);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    fn read_frame(&mut self, slot: &mut EventRecord) -> Result<Option<Next>, TraceError> {
        let at = self.offset;
        let err = |kind| TraceError { offset: at, kind };
        let io = |e: io::Error| err(TraceErrorKind::Io(e.to_string()));
        let n = self.fill(FRAME_HEAD).map_err(io)?;
        if n == 0 {
            return Ok(None);
        }
        if n < FRAME_HEAD {
            return Err(err(TraceErrorKind::Truncated));
        }
        let h = &self.store.bytes()[self.pos..self.pos + FRAME_HEAD];
        let kind = h[0];
        let len = u32::from_le_bytes([h[1], h[2], h[3], h[4]]);
        let crc = u32::from_le_bytes([h[5], h[6], h[7], h[8]]);
        if len > MAX_FRAME {
            return Err(err(TraceErrorKind::TooLarge(len as u64)));
        }
        let total = FRAME_HEAD + len as usize;
        if self.fill(total).map_err(io)? < total {
            return Err(err(TraceErrorKind::Truncated));
        }
        let start = self.pos + FRAME_HEAD;
        let payload = &self.store.bytes()[start..start + len as usize];
        if self.check_crc && frame_crc(kind, payload) != crc {
            return Err(err(TraceErrorKind::Checksum));
        }
        let rec = match kind {
            KIND_CONFIG if !self.seen_config => {
                self.seen_config = true;
                Ok(Some(Next::Config(payload.to_vec())))
            }
            KIND_CONFIG => Err(err(TraceErrorKind::Malformed("second configuration"))),
            _ if !self.seen_config => Err(err(TraceErrorKind::NoConfig)),
            KIND_EVENT if self.lazy => self
                .decode_lazy(start, len as usize, at, slot)
                .map(|()| Some(Next::Event))
                .map_err(err),
            KIND_EVENT => {
                let mut c = Cursor { b: payload };
                self.state
                    .decode_event_into(&mut c, slot, &mut self.spare)
                    .map(|()| Some(Next::Event))
                    .map_err(err)
            }
            KIND_END => {
                let mut c = Cursor { b: payload };
                c.varint()
                    .map(|ts| {
                        let detached = c.b.first() == Some(&END_DETACHED);
                        Some(Next::End { ts, detached })
                    })
                    .map_err(err)
            }
            k => Err(err(TraceErrorKind::UnknownKind(k))),
        };
        if let Ok(Some(_)) = &rec {
            self.pos += total;
            self.offset += total as u64;
        }
        rec
    }

    /// Makes at least `want` unread bytes available in the buffer, unless
    /// the input ends first; returns how many are. Reads in chunks of
    /// [`READ_CHUNK`] (one system call per many frames), and grows the
    /// buffer only with bytes that really arrive, never to a length the
    /// file merely claims.
    fn fill(&mut self, want: usize) -> io::Result<usize> {
        if self.end - self.pos >= want {
            return Ok(self.end - self.pos);
        }
        // A whole file in memory has no more bytes to give.
        let (Store::Buffered(buf), Some(input)) = (&mut self.store, &mut self.input) else {
            return Ok(self.end - self.pos);
        };
        // Move the unread tail to the front: the buffer stays about one
        // chunk (or one frame) large.
        buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        while self.end < want && !self.eof {
            // Grown (and zeroed) only when the bytes wanted and one more
            // chunk do not fit; reads land in bytes initialised before.
            if buf.len() < self.end + READ_CHUNK {
                buf.resize(self.end + READ_CHUNK, 0);
            }
            match input.read(&mut buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end)
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Decodes a whole trace held in memory: every record up to the first
/// damage, and the damage if any. Never panics on any input; the fuzzing
/// entry point (see [`parse_trace_unchecked`] to get past checksums).
pub fn parse_trace(data: &[u8]) -> (Vec<Record>, Option<TraceError>) {
    parse(data, true)
}

/// [`parse_trace`] without checksum verification, for fuzzing the frame
/// decoders.
pub fn parse_trace_unchecked(data: &[u8]) -> (Vec<Record>, Option<TraceError>) {
    parse(data, false)
}

fn parse(data: &[u8], check_crc: bool) -> (Vec<Record>, Option<TraceError>) {
    match TraceReader::new(data) {
        Ok(r) if check_crc => drain(r),
        Ok(r) => drain(r.without_checksums()),
        Err(e) => (Vec::new(), Some(e)),
    }
}

/// Every record `r` gives up to the first damage, and the damage if any.
fn drain<R: Read>(mut r: TraceReader<R>) -> (Vec<Record>, Option<TraceError>) {
    let mut out = Vec::new();
    loop {
        match r.next_record() {
            Ok(Some(rec)) => out.push(rec),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::cpu::CpuError;
    use vstrace_core::mem::PagingMode;
    use vstrace_core::{MemError, Reg, Regs, Space};

    fn regs(rax: u64, rip: u64) -> Regs {
        let mut r = Regs {
            cs: 0x33,
            ss: 0x2b,
            cr3: 0x1234_5000,
            efer: 0xd01,
            ..Regs::default()
        };
        r.set(Reg::Rax, rax);
        r.set(Reg::Rip, rip);
        r
    }

    fn sample() -> (Vec<u8>, Vec<Record>) {
        let ev1 = Event::new(0, Mechanism::Syscall, Bitness::B64, regs(1, 0x401000));
        let ev2 = Event::new(1, Mechanism::Sysret, Bitness::B64, regs(5, 0x401002));
        let mut ev3 = Event::new(0, Mechanism::Int80, Bitness::B32, regs(u64::MAX, 7));
        ev3.cr3 = 0x99000;
        let acc1 = vec![
            Access::Read {
                space: None,
                addr: 0x7fff_0000,
                len: 4,
                result: Ok(b"abcd".to_vec()),
            },
            Access::Read {
                space: None,
                addr: 0x10,
                len: 8,
                result: Err(MemError::Unmapped(0x10)),
            },
            Access::Reg {
                reg: Reg::Rax,
                value: 42,
                result: Ok(()),
            },
            Access::Write {
                addr: 0x7fff_0000,
                len: 2,
                result: Err(MemError::Other {
                    addr: 0x7fff_0000,
                    reason: "no".into(),
                }),
            },
            Access::Reg {
                reg: Reg::R15,
                value: 1,
                result: Err(CpuError::WriteFailed {
                    reg: Reg::R15,
                    reason: "x".into(),
                }),
            },
            Access::Read {
                space: Some(Space {
                    mode: PagingMode::Long4,
                    root: 0x1ad002 | 1 << 63,
                }),
                addr: 0xffff_f800_0000_0188,
                len: 8,
                result: Ok(vec![1, 2, 3, 4, 5, 6, 7, 8]),
            },
            Access::Read {
                space: Some(Space {
                    mode: PagingMode::Pae,
                    root: 0x7e0,
                }),
                addr: 0x8000_0000,
                len: 4,
                result: Err(MemError::NoOtherSpace(0x8000_0000)),
            },
            // A physical read (an i386 kernel's highmem page table).
            Access::Read {
                space: Some(Space::PHYSICAL),
                addr: 0x3f00_0ff8,
                len: 4,
                result: Ok(vec![0, 0, 0, 0]),
            },
            Access::Signal(vstrace_core::ProbedSignal {
                signo: 14,
                info: vec![14, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0],
            }),
        ];
        // The same read again: coded as "same".
        let acc2 = vec![Access::Read {
            space: None,
            addr: 0x7fff_0000,
            len: 4,
            result: Ok(b"abcd".to_vec()),
        }];
        let mut w = TraceWriter::new(Vec::new(), b"{\"os\":\"linux\"}").unwrap();
        w.event(100, &ev1, &acc1).unwrap();
        w.event(250, &ev2, &acc2).unwrap();
        w.event(240, &ev3, &[]).unwrap();
        w.end(300).unwrap();
        let bytes = w.into_inner();
        let recs = vec![
            Record::Config(b"{\"os\":\"linux\"}".to_vec()),
            Record::Event(EventRecord::new(100, ev1, acc1)),
            Record::Event(EventRecord::new(250, ev2, acc2)),
            Record::Event(EventRecord::new(240, ev3, vec![])),
            Record::End {
                ts: 300,
                detached: false,
            },
        ];
        (bytes, recs)
    }

    #[test]
    fn round_trip() {
        let (bytes, recs) = sample();
        let (got, err) = parse_trace(&bytes);
        assert_eq!(err, None);
        assert_eq!(got, recs);
    }

    #[test]
    fn every_truncation_keeps_the_records_before_it() {
        let (bytes, recs) = sample();
        for cut in 0..bytes.len() {
            let (got, err) = parse_trace(&bytes[..cut]);
            assert!(recs.starts_with(&got), "cut {cut}");
            if cut < 8 {
                assert_eq!(err.unwrap().kind, TraceErrorKind::BadMagic);
            } else if cut > HEADER_LEN {
                // A cut exactly between frames is a clean (shorter) file.
                let e = err.unwrap_or(TraceError {
                    offset: cut as u64,
                    kind: TraceErrorKind::Truncated,
                });
                assert!(e.offset <= cut as u64);
            }
        }
    }

    #[test]
    fn every_bit_flip_is_caught_or_harmless() {
        let (bytes, recs) = sample();
        for i in 0..bytes.len() {
            for bit in [0u8, 3, 7] {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                let (got, err) = parse_trace(&b);
                // The flags word of the header is not checked; anything
                // else is detected before a wrong record is produced.
                if (10..12).contains(&i) {
                    assert_eq!(got, recs);
                } else {
                    let e = err.unwrap_or_else(|| panic!("flip at {i} undetected"));
                    assert!(recs.starts_with(&got), "flip at {i}: {e}");
                }
            }
        }
    }

    /// [`parse`] through [`TraceReader::from_bytes`]: the whole file in
    /// memory, as a mapped one is read.
    fn parse_whole(data: &[u8]) -> (Vec<Record>, Option<TraceError>) {
        match TraceReader::<std::io::Empty>::from_bytes(Box::new(data.to_vec())) {
            Ok(r) => drain(r),
            Err(e) => (Vec::new(), Some(e)),
        }
    }

    #[test]
    fn a_file_in_memory_reads_as_the_same_file_streamed() {
        let (bytes, recs) = sample();
        assert_eq!(parse_whole(&bytes), (recs, None));
        for cut in 0..bytes.len() {
            assert_eq!(
                parse_whole(&bytes[..cut]),
                parse_trace(&bytes[..cut]),
                "cut {cut}"
            );
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            assert_eq!(parse_whole(&b), parse_trace(&b), "flip at {i}");
        }
    }

    #[test]
    fn mutations_past_the_checksum_never_panic() {
        let (bytes, _) = sample();
        for i in 0..bytes.len() {
            for v in [0u8, 0x7f, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                let _ = parse_trace_unchecked(&b);
            }
        }
    }

    #[test]
    fn hostile_lengths_do_not_allocate() {
        let mut b = Vec::new();
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        // A frame claiming 4 GiB.
        b.push(KIND_CONFIG);
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        b.extend_from_slice(&[0; 4]);
        let (got, err) = parse_trace(&b);
        assert!(got.is_empty());
        assert_eq!(err.unwrap().kind, TraceErrorKind::TooLarge(u32::MAX as u64));

        // Inside a valid frame: a read of 2^60 bytes and a count of 2^60
        // accesses.
        for payload in [
            {
                let mut p = vec![0, 0, 0x18, 0];
                put_varint(&mut p, 1);
                p.push(0);
                put_varint(&mut p, 0x1000);
                put_varint(&mut p, 1 << 60);
                p
            },
            {
                let mut p = vec![0, 0, 0x18, 0];
                put_varint(&mut p, 1 << 60);
                p
            },
        ] {
            let mut f = b[..HEADER_LEN].to_vec();
            for (kind, pl) in [(KIND_CONFIG, &b"{}"[..]), (KIND_EVENT, &payload[..])] {
                f.push(kind);
                f.extend_from_slice(&(pl.len() as u32).to_le_bytes());
                f.extend_from_slice(&frame_crc(kind, pl).to_le_bytes());
                f.extend_from_slice(pl);
            }
            let (got, err) = parse_trace(&f);
            assert_eq!(got, vec![Record::Config(b"{}".to_vec())]);
            assert!(matches!(err.unwrap().kind, TraceErrorKind::Malformed(_)));
        }
    }

    #[test]
    fn repeated_reads_cannot_expand_without_bound() {
        // One 4 KiB read, then a frame of 20000 "same" references to it:
        // 80 MiB once expanded, above the limit.
        let big = vec![7u8; 4096];
        let ev = Event::new(0, Mechanism::Syscall, Bitness::B64, regs(0, 0));
        let one = Access::Read {
            space: None,
            addr: 0x1000,
            len: big.len() as u64,
            result: Ok(big),
        };
        let mut w = TraceWriter::new(Vec::new(), b"{}").unwrap();
        w.event(1, &ev, std::slice::from_ref(&one)).unwrap();
        assert!(w.event(2, &ev, &vec![one.clone(); 20000]).is_err());
        let mut bytes = w.into_inner();
        let mut p = vec![0, 0, 0x08, 0];
        put_varint(&mut p, 20000);
        for _ in 0..20000 {
            p.push(1);
            put_varint(&mut p, 0x1000);
            put_varint(&mut p, 4096);
        }
        bytes.push(KIND_EVENT);
        bytes.extend_from_slice(&(p.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&frame_crc(KIND_EVENT, &p).to_le_bytes());
        bytes.extend_from_slice(&p);
        let (got, err) = parse_trace(&bytes);
        assert_eq!(got.len(), 2);
        assert_eq!(
            err.unwrap().kind,
            TraceErrorKind::Malformed("event reads exceed the size limit")
        );
    }

    #[test]
    fn header_errors() {
        assert_eq!(parse_trace(b"").1.unwrap().kind, TraceErrorKind::BadMagic);
        assert_eq!(
            parse_trace(b"{\"seq\":0}\n").1.unwrap().kind,
            TraceErrorKind::BadMagic
        );
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(&[9, 0, 0, 0]);
        assert_eq!(parse_trace(&v).1.unwrap().kind, TraceErrorKind::Version(9));
        v[8] = 0;
        assert_eq!(parse_trace(&v).1.unwrap().kind, TraceErrorKind::Version(0));
        // A version 1 or 2 header is still accepted, for the accesses
        // those versions have (the sample's first event has a probed
        // signal, new in version 3: damage in an older file).
        let (mut bytes, recs) = sample();
        for v in [1, 2] {
            bytes[8] = v;
            let (got, err) = parse_trace(&bytes);
            assert_eq!(err.unwrap().kind, TraceErrorKind::Malformed("access kind"));
            assert_eq!(got, recs[..1]);
        }
        let ev = Event::new(0, Mechanism::Syscall, Bitness::B64, regs(1, 0x401000));
        let acc = vec![Access::Read {
            space: None,
            addr: 0x7fff_0000,
            len: 4,
            result: Ok(b"abcd".to_vec()),
        }];
        let mut w = TraceWriter::new(Vec::new(), b"{}").unwrap();
        w.event(100, &ev, &acc).unwrap();
        let mut old = w.into_inner();
        old[8] = 1;
        let (got, err) = parse_trace(&old);
        assert_eq!(err, None);
        assert_eq!(got[1], Record::Event(EventRecord::new(100, ev, acc)));
        // An event before the configuration.
        let (bytes, _) = sample();
        let cfg_len = u32::from_le_bytes(bytes[13..17].try_into().unwrap()) as usize;
        let mut v = bytes[..HEADER_LEN].to_vec();
        v.extend_from_slice(&bytes[HEADER_LEN + FRAME_HEAD + cfg_len..]);
        assert_eq!(parse_trace(&v).1.unwrap().kind, TraceErrorKind::NoConfig);
    }

    #[test]
    fn frame_crc_is_the_crc_of_kind_and_payload() {
        for k in 0..=255u8 {
            assert_eq!(byte_crc(k), crc32fast::hash(&[k]), "{k}");
            let payload = [k, 1, 2, 3, k.wrapping_mul(7)];
            let mut whole = vec![k];
            whole.extend_from_slice(&payload);
            assert_eq!(frame_crc(k, &payload), crc32fast::hash(&whole), "{k}");
        }
    }

    #[test]
    fn varints() {
        for v in [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(Cursor { b: &b }.varint(), Ok(v));
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        // Every length, on the word path (padding after it) and the
        // byte-by-byte one (nothing after it).
        for k in 0..64 {
            for v in [1u64 << k, (1u64 << k) - 1, (1u64 << k) | 1, !0 >> k] {
                let mut b = Vec::new();
                put_varint(&mut b, v);
                let n = b.len();
                assert_eq!(Cursor { b: &b }.varint(), Ok(v), "{v:#x}");
                b.extend_from_slice(&[0xff; 12]);
                let mut c = Cursor { b: &b };
                assert_eq!(c.varint(), Ok(v), "{v:#x} padded");
                assert_eq!(c.remaining(), 12, "{v:#x} length {n}");
            }
        }
        // A tenth byte above 1 overflows; a continuation past it is too long.
        let mut over = [0xffu8; 12];
        over[9] = 0x02;
        assert!(Cursor { b: &over }.varint().is_err());
        over[9] = 0x81;
        assert!(Cursor { b: &over }.varint().is_err());
        assert!(Cursor { b: &[0xff; 11] }.varint().is_err());
        assert!(Cursor { b: &[0x80] }.varint().is_err());
    }
}
