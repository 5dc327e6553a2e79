//! The two vCPUs around a trace: [`RecordingCpu`] passes every access
//! through to the real vCPU and logs it with its outcome; [`ReplayCpu`]
//! answers the same accesses from the log, so the engine sees exactly what
//! it saw live. Writes are never re-executed: their recorded outcome is
//! returned.

use vstrace_core::cpu::CpuError;
use vstrace_core::fasthash::FastMap;
use vstrace_core::{Cpu, MemError, Reg, Regs, Space, VirtMem};

use crate::format::lazy::Outcome;
use crate::format::{AccessLog, EventRecord};

/// One guest access made while an event was handled, with its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A virtual memory read of `len` bytes at `addr`, in the trap's own
    /// address space (`space` None) or another one (see
    /// [`VirtMem::read_virt_in`]): the bytes, or the fault.
    Read {
        /// The address space read (None: the trap's own).
        space: Option<Space>,
        /// The guest virtual address.
        addr: u64,
        /// The number of bytes asked for.
        len: u64,
        /// The bytes read, or why the read failed.
        result: Result<Vec<u8>, MemError>,
    },
    /// A virtual memory write of `len` bytes at `addr`.
    Write {
        /// The guest virtual address.
        addr: u64,
        /// The number of bytes written.
        len: u64,
        /// Whether the write succeeded.
        result: Result<(), MemError>,
    },
    /// What a kernel probe saw of the signal being delivered
    /// ([`Cpu::probed_signal`]), when it saw one: asked only at returns
    /// that enter a handler whose frame lacks the siginfo.
    Signal(vstrace_core::ProbedSignal),
    /// A register write.
    Reg {
        /// The register written.
        reg: Reg,
        /// The value written.
        value: u64,
        /// Whether the write succeeded.
        result: Result<(), CpuError>,
    },
}

/// Wraps the real vCPU for one event and logs every access into `log`.
pub struct RecordingCpu<'a> {
    inner: &'a mut dyn Cpu,
    log: &'a mut Vec<Access>,
}

impl<'a> RecordingCpu<'a> {
    /// Wraps `inner`, appending each access it makes to `log`.
    pub fn new(inner: &'a mut dyn Cpu, log: &'a mut Vec<Access>) -> RecordingCpu<'a> {
        RecordingCpu { inner, log }
    }
}

impl Cpu for RecordingCpu<'_> {
    fn regs(&self) -> &Regs {
        self.inner.regs()
    }
    fn write_reg(&mut self, reg: Reg, value: u64) -> Result<(), CpuError> {
        let result = self.inner.write_reg(reg, value);
        self.log.push(Access::Reg {
            reg,
            value,
            result: result.clone(),
        });
        result
    }
    fn mem(&mut self) -> &mut dyn VirtMem {
        self
    }
    fn probed_signal(&mut self) -> Option<vstrace_core::ProbedSignal> {
        // Only a probe that saw something is logged: replay answers None
        // for an event without one, as the live vCPU did.
        let p = self.inner.probed_signal()?;
        self.log.push(Access::Signal(p.clone()));
        Some(p)
    }
}

impl VirtMem for RecordingCpu<'_> {
    fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let result = self.inner.mem().read_virt(addr, buf);
        self.log.push(Access::Read {
            space: None,
            addr,
            len: buf.len() as u64,
            result: result.clone().map(|()| buf.to_vec()),
        });
        result
    }
    fn write_virt(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError> {
        let result = self.inner.mem().write_virt(addr, data);
        self.log.push(Access::Write {
            addr,
            len: data.len() as u64,
            result: result.clone(),
        });
        result
    }
    fn read_virt_in(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let result = self.inner.mem().read_virt_in(space, addr, buf);
        self.log.push(Access::Read {
            space: Some(space),
            addr,
            len: buf.len() as u64,
            result: result.clone().map(|()| buf.to_vec()),
        });
        result
    }
}

/// The latest successful recorded read at each (address space, address,
/// length), over the events replayed so far: what a replay with other
/// options falls back on when it reads what the live run read only at an
/// earlier event (engine caches make such reads skip events). Bounded:
/// cleared when it reaches [`ReadHistory::MAX_ENTRIES`].
#[derive(Default)]
pub struct ReadHistory {
    /// Where each read's bytes are in `bytes`.
    map: FastMap<(u64, u64, u64), u32>,
    /// The bytes of the reads in `map`, in the order they were first
    /// added: kept apart so that [`ReadHistory::recent`] can name them.
    bytes: Vec<Vec<u8>>,
    /// Recently added keys and where their bytes are, direct-mapped by
    /// address: a replay adds the same few reads at nearly every event
    /// (the running task's times, the buffer of a read loop), found here
    /// without hashing.
    recent: Recent,
    /// The map was cleared at least once: entries added before may be
    /// missing (see [`ReadHistory::add_record`]).
    cleared: bool,
}

/// Slots of [`ReadHistory::recent`].
const RECENT: usize = 16;
/// [`ReadHistory::recent`]: (key, index in `bytes`) per slot, None when
/// empty.
type Recent = [Option<((u64, u64, u64), u32)>; RECENT];

impl ReadHistory {
    /// The most reads kept before the history starts over (bounds memory on long recordings).
    pub const MAX_ENTRIES: usize = 1 << 20;

    /// Kernel (upper-half) addresses are shared by every address space;
    /// CR3's PCID, PTI and no-flush bits do not change the space.
    fn key(cr3: u64, addr: u64, len: u64) -> (u64, u64, u64) {
        let space = if addr >> 63 == 1 {
            u64::MAX
        } else {
            cr3 & 0x000f_ffff_ffff_e000
        };
        (space, addr, len)
    }

    /// Reads in another space: keyed by that space's root, with bit 0 set
    /// (clear in every current-space key) so the two never collide.
    fn key_in(space: Space, addr: u64, len: u64) -> (u64, u64, u64) {
        (space.base() | 1, addr, len)
    }

    /// Adds one replayed event's successful reads.
    pub fn add(&mut self, cr3: u64, log: &[Access]) {
        for a in log {
            self.add_one(cr3, a);
        }
    }

    /// [`ReadHistory::add`] for an event decoded by the trace reader,
    /// skipping the reads that cannot change the history: a kernel-half
    /// read in the trap's own space that the file coded as a repeat
    /// ("read same") equals the latest read at that address and length,
    /// which every earlier event's reads put here under the same key
    /// (kernel keys do not depend on the address space) — unless the map
    /// has been cleared since. Attribution reads the same task fields at
    /// every event: this saves a hash update for nearly every access.
    pub fn add_record(&mut self, rec: &EventRecord) {
        self.add_log(rec.event.cr3, rec.log());
    }

    /// [`ReadHistory::add_record`] for an event's [`AccessLog`] (`cr3`:
    /// its address space): accesses the reader left coded are repeats
    /// and a few fresh reads, so only those not of the common kernel
    /// repeat's shape are decoded (all of them once the map has been
    /// cleared).
    pub fn add_log(&mut self, cr3: u64, log: AccessLog<'_>) {
        match log {
            AccessLog::Decoded(log, same) => {
                for (i, a) in log.iter().enumerate() {
                    let unchanged = !self.cleared
                        && same.get(i).copied().unwrap_or(false)
                        && matches!(a, Access::Read { space: None, addr, .. } if addr >> 63 == 1);
                    if !unchanged {
                        self.add_one(cr3, a);
                    }
                }
            }
            AccessLog::Lazy(l) => {
                // Where every access must be added from: the start once
                // the map has been cleared, or past the read that clears it.
                let mut from = self.cleared.then_some(0);
                if from.is_none() {
                    for r in l.slow() {
                        // Fresh reads and user-half repeats may change it.
                        let Some(b) = r.bytes.filter(|_| r.fresh || r.addr >> 63 == 0) else {
                            continue;
                        };
                        self.add_bytes(Self::key(cr3, r.addr, r.len), b);
                        if self.cleared {
                            from = Some(r.next);
                            break;
                        }
                    }
                }
                let Some(mut at) = from else { return };
                while let Some(r) = l.read_at(at) {
                    if let Some(b) = r.bytes {
                        self.add_bytes(Self::key(cr3, r.addr, r.len), b);
                    }
                    at = r.next;
                }
            }
        }
    }

    /// Adds one access if it is a successful read.
    fn add_one(&mut self, cr3: u64, a: &Access) {
        let Access::Read {
            space,
            addr,
            len,
            result: Ok(bytes),
        } = a
        else {
            return;
        };
        let key = match space {
            None => Self::key(cr3, *addr, *len),
            Some(s) => Self::key_in(*s, *addr, *len),
        };
        self.add_bytes(key, bytes);
    }

    /// Makes `bytes` the latest read at `key`.
    fn add_bytes(&mut self, key: (u64, u64, u64), bytes: &[u8]) {
        let r = ((key.1 >> 3) ^ (key.1 >> 12)) as usize % RECENT;
        let at = match self.recent[r] {
            Some((k, i)) if k == key => i,
            _ => {
                let i = self.index(key);
                self.recent[r] = Some((key, i));
                i
            }
        };
        // The same read again (the common case: attribution reads the
        // same task at every event) reuses its buffer.
        crate::format::copy_bytes(&mut self.bytes[at as usize], bytes);
    }

    /// Where the bytes of `key` are, a new empty entry if it has none;
    /// the map starts over when full.
    fn index(&mut self, key: (u64, u64, u64)) -> u32 {
        if let Some(i) = self.map.get(&key) {
            return *i;
        }
        if self.map.len() >= Self::MAX_ENTRIES {
            self.map.clear();
            self.bytes.clear();
            self.recent = [None; RECENT];
            self.cleared = true;
        }
        // At most MAX_ENTRIES (2^20) entries: the index fits.
        let i = self.bytes.len() as u32;
        self.bytes.push(Vec::new());
        self.map.insert(key, i);
        i
    }

    /// The latest read at `key`.
    fn at(&self, key: &(u64, u64, u64)) -> Option<&[u8]> {
        let i = *self.map.get(key)?;
        self.bytes.get(i as usize).map(Vec::as_slice)
    }

    fn get(&self, cr3: u64, addr: u64, len: u64) -> Option<&[u8]> {
        self.at(&Self::key(cr3, addr, len))
    }

    /// Every entry (for comparing histories built differently).
    #[cfg(test)]
    fn entries(&self) -> std::collections::HashMap<(u64, u64, u64), &[u8]> {
        self.map
            .iter()
            .map(|(k, i)| (*k, self.bytes[*i as usize].as_slice()))
            .collect()
    }
}

/// Answers one event's accesses from its recorded log.
///
/// An access identical to the next recorded one of its kind gets that
/// one's outcome (the live run, replayed with the same configuration, makes
/// exactly the recorded accesses in order). Any other read — a replay with
/// other options decodes differently — is served from any recorded read of
/// the event that covers its bytes, then from the [`ReadHistory`] if one
/// is given, and otherwise fails as unmapped; any other write fails as not
/// recorded.
pub struct ReplayCpu<'a> {
    /// The event's registers, copied only if a register write changes them.
    regs: std::borrow::Cow<'a, Regs>,
    log: AccessLog<'a>,
    history: Option<(&'a ReadHistory, u64)>,
    /// Next log index to look at for reads, memory writes, register
    /// writes, reads in other spaces, probed signals.
    next: [usize; 5],
}

impl<'a> ReplayCpu<'a> {
    /// Replays one event with its registers `regs` and its recorded accesses `log`.
    pub fn new(regs: Regs, log: &'a [Access]) -> ReplayCpu<'a> {
        Self::with_log(regs, AccessLog::decoded(log))
    }

    /// Replays one event with its registers `regs` and its recorded
    /// accesses as the trace reader gives them (see
    /// [`crate::TraceReader::log`]: decoded as they are looked at).
    pub fn with_log(regs: Regs, log: AccessLog<'a>) -> ReplayCpu<'a> {
        Self::borrowing(std::borrow::Cow::Owned(regs), log)
    }

    /// [`ReplayCpu::with_log`] reading the event's registers where they
    /// are (replay's path: no copy of them per event).
    pub fn borrowing(regs: std::borrow::Cow<'a, Regs>, log: AccessLog<'a>) -> ReplayCpu<'a> {
        ReplayCpu {
            regs,
            log,
            history: None,
            next: [0; 5],
        }
    }

    /// Falls back on `history` (reads of earlier events) for reads this
    /// event did not record; `cr3` is the event's address space.
    pub fn with_history(mut self, history: &'a ReadHistory, cr3: u64) -> ReplayCpu<'a> {
        self.history = Some((history, cr3));
        self
    }

    /// Finds the next log entry of kind `k` from the cursor that `m`
    /// accepts, and moves the cursor past it.
    /// Accesses left coded are all reads in the trap's space: no write
    /// is found there.
    fn take<T>(&mut self, k: usize, m: impl Fn(&'a Access) -> Option<T>) -> Option<T> {
        let AccessLog::Decoded(log, _) = self.log else {
            return None;
        };
        let start = self.next[k].min(log.len());
        for (i, a) in log[start..].iter().enumerate() {
            if let Some(t) = m(a) {
                self.next[k] = start + i + 1;
                return Some(t);
            }
        }
        None
    }
}

fn not_recorded(addr: u64) -> MemError {
    MemError::Other {
        addr,
        reason: "not in the recording".into(),
    }
}

impl Cpu for ReplayCpu<'_> {
    fn regs(&self) -> &Regs {
        &self.regs
    }
    fn write_reg(&mut self, reg: Reg, value: u64) -> Result<(), CpuError> {
        let r = self.take(2, |a| match a {
            Access::Reg {
                reg: r,
                value: v,
                result,
            } if *r == reg && *v == value => Some(result.clone()),
            _ => None,
        });
        let r = r.unwrap_or_else(|| {
            Err(CpuError::WriteUnsupported(
                "this register write is not in the recording".into(),
            ))
        });
        if r.is_ok() {
            self.regs.to_mut().set(reg, value);
        }
        r
    }
    fn mem(&mut self) -> &mut dyn VirtMem {
        self
    }
    fn probed_signal(&mut self) -> Option<vstrace_core::ProbedSignal> {
        self.take(4, |a| match a {
            Access::Signal(p) => Some(p.clone()),
            _ => None,
        })
    }
}

impl ReplayCpu<'_> {
    /// Serves a read in `space` (None: the trap's own) from the log: the
    /// next identical recorded read gives its outcome; otherwise any
    /// recorded read of this event in the same space holding all the
    /// bytes (latest first), then the history, then the fault of an
    /// identical read anywhere in the event; otherwise unmapped.
    fn serve(&mut self, space: Option<Space>, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let len = buf.len() as u64;
        let cursor = if space.is_some() { 3 } else { 0 };
        if let Some((out, next)) = self.log.next_read(self.next[cursor], space, addr, len) {
            self.next[cursor] = next;
            match out {
                Outcome::Bytes(bytes) if bytes.len() == buf.len() => {
                    copy_read(buf, bytes);
                    return Ok(());
                }
                Outcome::Fault(e) => return Err(e.clone()),
                Outcome::Bytes(_) => {}
            }
        }
        self.serve_elsewhere(space, addr, buf)
    }

    /// [`ReplayCpu::serve`] for a read the log does not hold as made:
    /// apart, so that the common read (found as made) is a small function.
    #[inline(never)]
    fn serve_elsewhere(
        &mut self,
        space: Option<Space>,
        addr: u64,
        buf: &mut [u8],
    ) -> Result<(), MemError> {
        let len = buf.len() as u64;
        if let Some(src) = self.log.covering(space, addr, buf.len()) {
            buf.copy_from_slice(src);
            return Ok(());
        }
        let from_history = self.history.and_then(|(h, cr3)| match space {
            None => h.get(cr3, addr, len),
            Some(s) => h.at(&ReadHistory::key_in(s, addr, len)),
        });
        if let Some(b) = from_history.filter(|b| b.len() == buf.len()) {
            buf.copy_from_slice(b);
            return Ok(());
        }
        // The same read failed elsewhere in the event: its fault (where a
        // multi-page read stopped), not just the start.
        if let Some(e) = self.log.fault(space, addr, len) {
            return Err(e.clone());
        }
        Err(MemError::Unmapped(addr))
    }
}

/// `dst` = `src`, of the same length: a read of a word (a pointer, a
/// counter: nearly every read a replay serves) as one move, without a
/// call to copy a few bytes.
#[inline]
fn copy_read(dst: &mut [u8], src: &[u8]) {
    match (
        <&mut [u8; 8]>::try_from(&mut *dst),
        <&[u8; 8]>::try_from(src),
    ) {
        (Ok(d), Ok(s)) => *d = *s,
        _ => dst.copy_from_slice(src),
    }
}

impl VirtMem for ReplayCpu<'_> {
    fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.serve(None, addr, buf)
    }
    fn write_virt(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError> {
        let len = data.len() as u64;
        self.take(1, |a| match a {
            Access::Write {
                addr: a,
                len: l,
                result,
            } if *a == addr && *l == len => Some(result.clone()),
            _ => None,
        })
        .unwrap_or_else(|| Err(not_recorded(addr)))
    }
    fn read_virt_in(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.serve(Some(space), addr, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::cpu::SnapshotCpu;
    use vstrace_core::testmem::SparseVirt;

    #[test]
    fn reads_in_other_spaces_are_recorded_and_replayed() {
        let space = Space {
            mode: vstrace_core::mem::PagingMode::Long4,
            root: 0x1ad000 | 2,
        };
        let mut mem = SparseVirt::new();
        mem.space_mut(0x1ad000).map(0xffff_f800_0000_0000, b"kpcr");
        let mut live = SnapshotCpu {
            regs: Regs::default(),
            mem: &mut mem,
        };
        let mut log = Vec::new();
        let mut b = [0u8; 4];
        {
            let mut rec = RecordingCpu::new(&mut live, &mut log);
            rec.mem()
                .read_virt_in(space, 0xffff_f800_0000_0000, &mut b)
                .unwrap();
            assert!(rec.mem().read_virt_in(space, 0x1000, &mut b).is_err());
            // Not in the current space.
            assert!(rec.mem().read_virt(0xffff_f800_0000_0000, &mut b).is_err());
        }
        assert_eq!(log.len(), 3);
        let mut r = ReplayCpu::new(Regs::default(), &log);
        let mut c = [0u8; 4];
        r.read_virt_in(space, 0xffff_f800_0000_0000, &mut c)
            .unwrap();
        assert_eq!(&c, b"kpcr");
        assert_eq!(
            r.read_virt_in(space, 0x1000, &mut c),
            Err(MemError::Unmapped(0x1000))
        );
        // A read the live run did not make, covered by a recorded one.
        let mut two = [0u8; 2];
        r.read_virt_in(space, 0xffff_f800_0000_0001, &mut two)
            .unwrap();
        assert_eq!(&two, b"pc");
        // Another space does not serve it.
        let other = space.with_root(0x2000);
        assert!(r
            .read_virt_in(other, 0xffff_f800_0000_0000, &mut c)
            .is_err());
        let mut h = ReadHistory::default();
        h.add(0, &log);
        let mut r2 = ReplayCpu::new(Regs::default(), &[]).with_history(&h, 0);
        r2.read_virt_in(space, 0xffff_f800_0000_0000, &mut c)
            .unwrap();
        assert_eq!(&c, b"kpcr");
    }

    /// A vCPU whose signal probe saw one signal.
    struct Probing(Option<vstrace_core::ProbedSignal>, SparseVirt);
    impl Cpu for Probing {
        fn regs(&self) -> &Regs {
            unreachable!()
        }
        fn write_reg(&mut self, _: Reg, _: u64) -> Result<(), CpuError> {
            unreachable!()
        }
        fn mem(&mut self) -> &mut dyn VirtMem {
            &mut self.1
        }
        fn probed_signal(&mut self) -> Option<vstrace_core::ProbedSignal> {
            self.0.take()
        }
    }

    #[test]
    fn a_probed_signal_is_recorded_and_replayed_once() {
        let p = vstrace_core::ProbedSignal {
            signo: 14,
            info: vec![14, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0],
        };
        let mut live = Probing(Some(p.clone()), SparseVirt::new());
        let mut log = Vec::new();
        {
            let mut rec = RecordingCpu::new(&mut live, &mut log);
            assert_eq!(rec.probed_signal(), Some(p.clone()));
            // Nothing more: not logged.
            assert_eq!(rec.probed_signal(), None);
        }
        assert_eq!(log, vec![Access::Signal(p.clone())]);
        let mut r = ReplayCpu::new(Regs::default(), &log);
        assert_eq!(r.probed_signal(), Some(p));
        assert_eq!(r.probed_signal(), None);
        // An event recorded without one (and older recordings) has none.
        assert_eq!(ReplayCpu::new(Regs::default(), &[]).probed_signal(), None);
    }

    /// A user read zero-filled past an untouched page (the decider's own
    /// reads going through the same memory) replays alike, in the
    /// recorded order or after the same reads were made elsewhere in the
    /// event (another option set's order): a failed read made out of
    /// order keeps its recorded fault address.
    #[test]
    fn zero_filled_reads_replay_in_any_order() {
        use vstrace_core::zerofill::{ZeroFilled, ZeroPages};
        /// The page at 0x2000 reads as zeros when the "kernel" says so.
        struct Decider;
        impl ZeroPages for Decider {
            fn zero_end(&self, mem: &mut dyn VirtMem, addr: u64) -> Option<u64> {
                let mut k = [0u8; 1];
                mem.read_virt(0xffff_8000_0000_0000, &mut k).ok()?;
                (k[0] == 1 && (0x2000..0x3000).contains(&addr)).then_some(0x3000)
            }
        }
        let mut mem = SparseVirt::new();
        mem.map(0x1ff0, b"0123456789abcdef");
        mem.map(0x3000, b"tail");
        mem.map(0xffff_8000_0000_0000, &[1]);
        let mut live = SnapshotCpu {
            regs: Regs::default(),
            mem: &mut mem,
        };
        let read = |m: &mut dyn VirtMem, len: usize| {
            let mut b = vec![0u8; len];
            ZeroFilled::new(m, 1 << 47, Some(Decider))
                .read_virt(0x1ff0, &mut b)
                .map(|()| b)
        };
        let mut log = Vec::new();
        let (short, long) = {
            let mut rec = RecordingCpu::new(&mut live, &mut log);
            (
                read(rec.mem(), 0x20).unwrap(),
                read(rec.mem(), 0x1014).unwrap(),
            )
        };
        assert_eq!(&short[..16], b"0123456789abcdef");
        assert_eq!(short[16..], [0; 16]);
        assert_eq!(&long[0x1010..], b"tail");
        let mut r = ReplayCpu::new(Regs::default(), &log);
        assert_eq!(read(r.mem(), 0x20).unwrap(), short);
        assert_eq!(read(r.mem(), 0x1014).unwrap(), long);
        // The other way round: the long read first moves the cursor past
        // the short read's accesses.
        let mut r = ReplayCpu::new(Regs::default(), &log);
        assert_eq!(read(r.mem(), 0x1014).unwrap(), long);
        assert_eq!(read(r.mem(), 0x20).unwrap(), short);
    }

    #[test]
    fn replay_gives_back_what_was_recorded() {
        let mut mem = SparseVirt::new();
        mem.map(0x1000, b"hello world");
        let mut live = SnapshotCpu {
            regs: Regs::default(),
            mem: &mut mem,
        };
        let mut log = Vec::new();
        let mut a = [0u8; 5];
        let mut far = [0u8; 4];
        {
            let mut rec = RecordingCpu::new(&mut live, &mut log);
            rec.mem().read_virt(0x1000, &mut a).unwrap();
            assert!(rec.mem().read_virt(0x9000, &mut far).is_err());
            rec.write_reg(Reg::Rax, 7).unwrap();
            rec.mem().write_virt(0x1000, b"J").unwrap();
            rec.mem().read_virt(0x1000, &mut a).unwrap();
        }
        assert_eq!(&a, b"Jello");
        assert_eq!(log.len(), 5);

        let mut rep = ReplayCpu::new(Regs::default(), &log);
        let mut b = [0u8; 5];
        rep.mem().read_virt(0x1000, &mut b).unwrap();
        assert_eq!(&b, b"hello");
        assert_eq!(
            rep.mem().read_virt(0x9000, &mut far),
            Err(MemError::Unmapped(0x9000))
        );
        rep.write_reg(Reg::Rax, 7).unwrap();
        assert_eq!(rep.regs().rax(), 7);
        rep.mem().write_virt(0x1000, b"J").unwrap();
        rep.mem().read_virt(0x1000, &mut b).unwrap();
        assert_eq!(&b, b"Jello", "the write's effect is replayed in order");
        // A sub-range the live run never read alone is covered.
        let mut c = [0u8; 3];
        rep.mem().read_virt(0x1002, &mut c).unwrap();
        assert_eq!(&c, b"llo");
        // Anything else is unmapped / not recorded, never guessed.
        assert!(rep.mem().read_virt(0x1003, &mut [0u8; 8]).is_err());
        assert!(rep.mem().write_virt(0x1000, b"x").is_err());
        assert!(rep.write_reg(Reg::Rbx, 1).is_err());
        assert!(rep.mem().read_virt(u64::MAX, &mut c).is_err());

        // A later event that did not record the read finds it in the
        // history, per address space (kernel addresses in all of them).
        let mut h = ReadHistory::default();
        h.add(0x5000, &log);
        let kernel = vec![Access::Read {
            space: None,
            addr: 0xffff_8000_0000_1000,
            len: 4,
            result: Ok(b"kern".to_vec()),
        }];
        h.add(0x5000, &kernel);
        let mut rep = ReplayCpu::new(Regs::default(), &[]).with_history(&h, 0x5000);
        rep.mem().read_virt(0x1000, &mut b).unwrap();
        assert_eq!(&b, b"Jello", "the latest read wins");
        let mut other = ReplayCpu::new(Regs::default(), &[]).with_history(&h, 0x9000);
        assert!(other.mem().read_virt(0x1000, &mut b).is_err());
        let mut k = [0u8; 4];
        other
            .mem()
            .read_virt(0xffff_8000_0000_1000, &mut k)
            .unwrap();
        assert_eq!(&k, b"kern");
    }
}

#[cfg(test)]
mod history_tests {
    use super::*;
    use crate::format::{Next, TraceReader, TraceWriter};
    use vstrace_core::{Bitness, Event, Mechanism};

    /// A successful read of `b` at `addr` in the trap's space.
    fn read(addr: u64, b: &[u8]) -> Access {
        Access::Read {
            space: None,
            addr,
            len: b.len() as u64,
            result: Ok(b.to_vec()),
        }
    }

    /// A full history starts over: the reads added before are gone (the
    /// recently added ones too), the ones after kept.
    #[test]
    fn a_full_history_starts_over() {
        let mut h = ReadHistory::default();
        let user = |i: u64| read(0x1000 + 8 * i, &i.to_le_bytes());
        h.add(0x5000, &[user(0), user(1)]);
        assert_eq!(h.get(0x5000, 0x1000, 8), Some(&0u64.to_le_bytes()[..]));
        for i in 2..ReadHistory::MAX_ENTRIES as u64 {
            h.add_bytes(ReadHistory::key(0x5000, 0x1000 + 8 * i, 8), &[1]);
        }
        assert!(!h.cleared);
        h.add(0x5000, &[user(1)]);
        assert!(!h.cleared);
        h.add(0x5000, &[read(0x9000, &[7; 4])]);
        assert!(h.cleared);
        assert_eq!(h.get(0x5000, 0x1000, 8), None);
        assert_eq!(h.get(0x5000, 0x1008, 8), None);
        assert_eq!(h.get(0x5000, 0x9000, 4), Some(&[7u8; 4][..]));
        h.add(0x5000, &[user(1)]);
        assert_eq!(h.get(0x5000, 0x1008, 8), Some(&1u64.to_le_bytes()[..]));
        assert_eq!(h.entries().len(), 2);
    }

    /// The history built from decoded records (skipping repeated kernel
    /// reads) equals the one built from every read, event by event: the
    /// same kernel and user addresses read with changing and unchanging
    /// bytes, in two address spaces, and a slot collision.
    #[test]
    fn add_record_builds_the_same_history_as_add() {
        let mut file = Vec::new();
        let mut w = TraceWriter::new(&mut file, b"{}").unwrap();
        for i in 0..300u64 {
            let regs = Regs {
                cr3: 0x1000 * (1 + i % 2),
                ..Regs::default()
            };
            let ev = Event::new(0, Mechanism::Syscall, Bitness::B64, regs);
            let acc = [
                read(0xffff_8880_0000_1000, &[1; 8]),
                read(0xffff_8880_0000_2000, &[(i / 7) as u8; 8]),
                read(0xffff_8880_0000_1000 + 8 * (i % 5), &[i as u8; 4]),
                read(0x7f00_0000, &[(i % 3) as u8; 8]),
                read(0x7f00_0000 + 64 * (i % 4096), &[1; 8]),
            ];
            w.event(i, &ev, &acc).unwrap();
        }
        w.end(1000).unwrap();
        drop(w);
        let mut r = TraceReader::new(file.as_slice()).unwrap();
        let mut slot = EventRecord::empty();
        let (mut every, mut skipping) = (ReadHistory::default(), ReadHistory::default());
        let mut events = 0;
        let mut skipped_some = false;
        while let Some(n) = r.next_into(&mut slot).unwrap() {
            if n != Next::Event {
                continue;
            }
            events += 1;
            every.add(slot.event.cr3, slot.accesses());
            skipping.add_record(&slot);
            skipped_some |= (0..slot.accesses().len()).any(|i| slot.is_same(i));
            assert_eq!(every.entries(), skipping.entries(), "after event {events}");
        }
        assert_eq!(events, 300);
        assert!(skipped_some);
    }

    /// Replay's lazy reading ([`TraceReader::next_lazy_into`] and
    /// [`TraceReader::log`]) gives every event, every served read (in
    /// order, sub-ranges, from the history, missing) and the history
    /// exactly as the full decoding does: repeated kernel and user reads
    /// (left coded; some events nothing else, some also larger or user
    /// reads), events that also read fresh bytes (left coded too), change
    /// a read and repeat it, or replace another read's cache slot after
    /// repeating it; events that fail, write, read too many fresh bytes
    /// (decoded whole, after fresh reads the scan had taken) or repeat
    /// too many reads of an uncommon shape.
    #[test]
    fn lazy_reading_replays_as_the_full_decoding() {
        // A kernel read whose "read same" cache slot is the one of the
        // first read of every event.
        let first = 0xffff_8880_0000_1000u64;
        let collides = (1..)
            .map(|k| first + 8 * k)
            .find(|a| crate::format::slot(*a, 8) == crate::format::slot(first, 8))
            .unwrap();
        let mut file = Vec::new();
        let mut w = TraceWriter::new(&mut file, b"{}").unwrap();
        for i in 0..400u64 {
            let regs = Regs {
                cr3: 0x1000 * (1 + i % 3),
                ..Regs::default()
            };
            let ev = Event::new((i % 2) as u32, Mechanism::Syscall, Bitness::B64, regs);
            let mut acc = vec![
                read(0xffff_8880_0000_1000, &[1; 8]),
                read(0xffff_8880_0000_2000, &[(i / 3) as u8; 8]),
                read(0xffff_8880_0000_3000, &[2; 200]),
                read(0x7f00_0000 + 64 * (i % 4), &[(i % 4) as u8; 8]),
                read(0xffff_8880_0000_1000, &[1; 8]),
            ];
            // Every fifth event only repeats small kernel reads: the
            // scan's one-pass path.
            if i % 5 == 0 {
                acc.drain(2..4);
            }
            match i % 23 {
                5 => acc.push(Access::Write {
                    addr: 0x7f00_0000,
                    len: 1,
                    result: Ok(()),
                }),
                7 => acc.push(Access::Read {
                    space: None,
                    addr: 0x10,
                    len: 4,
                    result: Err(MemError::Unmapped(0x10)),
                }),
                // A read changed, then repeated within the event.
                11 => {
                    acc.push(read(0xffff_8880_0000_1000, &[i as u8; 8]));
                    acc.push(read(0xffff_8880_0000_1000, &[i as u8; 8]));
                }
                13 => {
                    acc.extend((0..9).map(|k| read(0xffff_8880_0001_0000 + 8 * k, &[i as u8; 8])))
                }
                17 => acc.push(read(collides, &[i as u8; 8])),
                // More repeats of an uncommon shape than the scan keeps.
                19 => acc.extend((0..1100).map(|_| read(0x7f00_0000, &[0; 8]))),
                _ => {}
            }
            w.event(i, &ev, &acc).unwrap();
        }
        w.end(1000).unwrap();
        drop(w);
        let mut full = TraceReader::new(file.as_slice()).unwrap();
        let mut lazy = TraceReader::new(file.as_slice()).unwrap();
        let (mut a, mut b) = (EventRecord::empty(), EventRecord::empty());
        let (mut ha, mut hb) = (ReadHistory::default(), ReadHistory::default());
        let (mut events, mut coded) = (0, 0);
        loop {
            let (na, nb) = (
                full.next_into(&mut a).unwrap(),
                lazy.next_lazy_into(&mut b).unwrap(),
            );
            assert_eq!(na, nb);
            match na {
                None => break,
                Some(Next::Event) => {}
                Some(_) => continue,
            }
            events += 1;
            assert_eq!((a.ts, &a.event), (b.ts, &b.event));
            let log = lazy.log(&b);
            coded += matches!(log, AccessLog::Lazy(_)) as u32;
            let cr3 = a.event.cr3;
            let mut ca = ReplayCpu::new(a.event.regs.clone(), a.accesses()).with_history(&ha, cr3);
            let mut cb = ReplayCpu::with_log(b.event.regs.clone(), log).with_history(&hb, cr3);
            let mut asks: Vec<(u64, usize)> = a
                .accesses()
                .iter()
                .filter_map(|x| match x {
                    Access::Read { addr, len, .. } => Some((*addr, *len as usize)),
                    _ => None,
                })
                .collect();
            // Not recorded as such: a sub-range, earlier events' reads
            // (the history), nothing.
            asks.extend([
                (0xffff_8880_0000_3010, 16),
                // Inside repeated kernel reads of the common shape (the
                // last one that covers), and across two of them.
                (0xffff_8880_0000_2004, 4),
                (0xffff_8880_0000_1002, 2),
                (0xffff_8880_0001_0008, 8),
                (0xffff_8880_0001_000c, 8),
                (0xffff_8880_0000_1007, 2),
                (0x7f00_0040, 8),
                (0x7f00_00c0, 8),
                (0x9000, 8),
            ]);
            for (addr, len) in asks {
                let (mut x, mut y) = (vec![0u8; len], vec![0u8; len]);
                let rx = ca.read_virt(addr, &mut x);
                let ry = cb.read_virt(addr, &mut y);
                assert_eq!((rx, x), (ry, y), "event {events} read {addr:#x}/{len}");
            }
            assert_eq!(
                ca.write_virt(0x7f00_0000, b"x").is_ok(),
                matches!(a.accesses().last(), Some(Access::Write { .. }))
            );
            ha.add_record(&a);
            hb.add_log(cr3, log);
            assert_eq!(ha.entries(), hb.entries(), "after event {events}");
        }
        assert_eq!(events, 400);
        assert!(coded > 320 && coded < 400, "{coded} events left coded");
    }

    /// Lazily read files mutated past their checksums (every byte set to
    /// a few values) never panic: reading every event, serving every
    /// recorded read and a few others from it, and adding it to the
    /// history. The recording holds what the lazy scan takes: repeated
    /// and fresh reads, kernel and user, the same slot replaced.
    #[test]
    fn lazy_reading_of_mutated_files_never_panics() {
        let mut file = Vec::new();
        let mut w = TraceWriter::new(&mut file, b"{}").unwrap();
        for i in 0..6u64 {
            let ev = Event::new(0, Mechanism::Syscall, Bitness::B64, Regs::default());
            let acc = [
                read(0xffff_8880_0000_1000, &[1; 8]),
                read(0xffff_8880_0000_2000, &[i as u8; 8]),
                read(0x7f00_0000, &[(i % 2) as u8; 3]),
                read(0xffff_8880_0000_1000, &[1; 8]),
                read(0xffff_8880_0000_2000, &[i as u8; 8]),
            ];
            w.event(i, &ev, &acc).unwrap();
        }
        w.end(100).unwrap();
        drop(w);
        let asks = [
            (0xffff_8880_0000_1000u64, 8usize),
            (0xffff_8880_0000_2000, 8),
            (0x7f00_0000, 3),
            (0x7f00_0001, 1),
            (0x9000, 4),
        ];
        for at in 12..file.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut f = file.clone();
                f[at] = v;
                // In memory, as replay reads a mapped file.
                let Ok(r) = TraceReader::<std::io::Empty>::from_bytes(Box::new(f)) else {
                    continue;
                };
                let mut r = r.without_checksums();
                let mut slot = EventRecord::empty();
                let mut h = ReadHistory::default();
                while let Ok(Some(n)) = r.next_lazy_into(&mut slot) {
                    if n != Next::Event {
                        continue;
                    }
                    let log = r.log(&slot);
                    let mut cpu = ReplayCpu::with_log(slot.event.regs.clone(), log)
                        .with_history(&h, slot.event.cr3);
                    for (addr, len) in asks {
                        let mut b = vec![0u8; len];
                        let _ = cpu.read_virt(addr, &mut b);
                    }
                    h.add_log(slot.event.cr3, log);
                }
            }
        }
    }

    /// A repeated read the file never held, in the common kernel shape the
    /// lazy scan does not check: found when the read is looked at, and
    /// reported as that frame's damage before the next frame.
    #[test]
    fn lazy_reading_reports_a_repeat_never_seen() {
        let mut file = Vec::new();
        let mut w = TraceWriter::new(&mut file, b"{}").unwrap();
        let ev = Event::new(0, Mechanism::Syscall, Bitness::B64, Regs::default());
        w.event(1, &ev, &[]).unwrap();
        drop(w);
        let at = file.len() as u64;
        // An event frame by hand: ts +1, vCPU 0, flags 8, no register
        // changed, one "read same" of 8 bytes at a kernel address.
        let mut payload = vec![2, 0, 8, 0, 1, 1];
        put_varint_for_test(&mut payload, 0xffff_8880_0000_1000);
        payload.push(8);
        file.push(2);
        file.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        let mut h = crc32fast::Hasher::new();
        h.update(&[2]);
        h.update(&payload);
        file.extend_from_slice(&h.finalize().to_le_bytes());
        file.extend_from_slice(&payload);
        let (_, err) = crate::parse_trace(&file);
        assert_eq!(err.map(|e| e.offset), Some(at));
        let mut r = TraceReader::new(file.as_slice()).unwrap();
        let mut slot = EventRecord::empty();
        assert!(matches!(
            r.next_lazy_into(&mut slot),
            Ok(Some(Next::Config(_)))
        ));
        assert_eq!(r.next_lazy_into(&mut slot), Ok(Some(Next::Event)));
        assert_eq!(r.next_lazy_into(&mut slot), Ok(Some(Next::Event)));
        {
            let mut cpu = ReplayCpu::with_log(Regs::default(), r.log(&slot));
            let mut b = [0u8; 8];
            assert!(cpu.read_virt(0xffff_8880_0000_1000, &mut b).is_err());
        }
        let e = r.next_lazy_into(&mut slot).unwrap_err();
        assert_eq!(e.offset, at);
        assert_eq!(r.next_lazy_into(&mut slot), Ok(None));
    }

    fn put_varint_for_test(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
}
