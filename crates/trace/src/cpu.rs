//! The two vCPUs around a trace: [`RecordingCpu`] passes every access
//! through to the real vCPU and logs it with its outcome; [`ReplayCpu`]
//! answers the same accesses from the log, so the engine sees exactly what
//! it saw live. Writes are never re-executed: their recorded outcome is
//! returned.

use vstrace_core::cpu::CpuError;
use vstrace_core::{Cpu, MemError, Reg, Regs, VirtMem};

/// One guest access made while an event was handled, with its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A virtual memory read of `len` bytes at `addr`: the bytes, or the
    /// fault.
    Read {
        addr: u64,
        len: u64,
        result: Result<Vec<u8>, MemError>,
    },
    /// A virtual memory write of `len` bytes at `addr`.
    Write {
        addr: u64,
        len: u64,
        result: Result<(), MemError>,
    },
    /// A register write.
    Reg {
        reg: Reg,
        value: u64,
        result: Result<(), CpuError>,
    },
}

/// Wraps the real vCPU for one event and logs every access into `log`.
pub struct RecordingCpu<'a> {
    inner: &'a mut dyn Cpu,
    log: &'a mut Vec<Access>,
}

impl<'a> RecordingCpu<'a> {
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
}

impl VirtMem for RecordingCpu<'_> {
    fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let result = self.inner.mem().read_virt(addr, buf);
        self.log.push(Access::Read {
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
}

/// Answers one event's accesses from its recorded log.
///
/// An access identical to the next recorded one of its kind gets that
/// one's outcome (the live run, replayed with the same configuration, makes
/// exactly the recorded accesses in order). Any other read — a replay with
/// other options decodes differently — is served from any recorded read of
/// the event that covers its bytes, and otherwise fails as unmapped; any
/// other write fails as not recorded.
pub struct ReplayCpu<'a> {
    regs: Regs,
    log: &'a [Access],
    /// Next log index to look at for reads, memory writes, register writes.
    next: [usize; 3],
}

impl<'a> ReplayCpu<'a> {
    pub fn new(regs: Regs, log: &'a [Access]) -> ReplayCpu<'a> {
        ReplayCpu {
            regs,
            log,
            next: [0; 3],
        }
    }

    /// Finds the next log entry of kind `k` from the cursor that `m`
    /// accepts, and moves the cursor past it.
    fn take<T>(&mut self, k: usize, m: impl Fn(&'a Access) -> Option<T>) -> Option<T> {
        let log = self.log;
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
            self.regs.set(reg, value);
        }
        r
    }
    fn mem(&mut self) -> &mut dyn VirtMem {
        self
    }
}

impl VirtMem for ReplayCpu<'_> {
    fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let len = buf.len() as u64;
        let exact = self.take(0, |a| match a {
            Access::Read {
                addr: a,
                len: l,
                result,
            } if *a == addr && *l == len => Some(result),
            _ => None,
        });
        match exact {
            Some(Ok(bytes)) if bytes.len() == buf.len() => {
                buf.copy_from_slice(bytes);
                return Ok(());
            }
            Some(Err(e)) => return Err(e.clone()),
            _ => {}
        }
        // A read the live run did not make: any recorded read of this
        // event that holds all of its bytes, latest first.
        for a in self.log.iter().rev() {
            if let Access::Read {
                addr: a,
                result: Ok(bytes),
                ..
            } = a
            {
                let Some(off) = addr.checked_sub(*a) else {
                    continue;
                };
                let Ok(off) = usize::try_from(off) else {
                    continue;
                };
                if let Some(src) = off
                    .checked_add(buf.len())
                    .and_then(|end| bytes.get(off..end))
                {
                    buf.copy_from_slice(src);
                    return Ok(());
                }
            }
        }
        Err(MemError::Unmapped(addr))
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::cpu::SnapshotCpu;
    use vstrace_core::testmem::SparseVirt;

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
    }
}
