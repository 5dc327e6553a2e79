//! Debug output (`VSTRACE_PLUGIN_DEBUG=1`) and test knobs
//! (`VSTRACE_PLUGIN_TEST=...`) used to verify the event source against a
//! real guest without the engine. Not a user feature: the engine's
//! injection rules are.
//!
//! Test knobs (Linux x86-64 guests, comma-separated):
//! - `getpid=N`: getpid (39) returns N (register write of rax at exit).
//! - `exit=A:B`: exit_group(A) becomes exit_group(B) (rdi write at enter).
//! - `openmode=M`: openat with O_CREAT gets mode M, octal (r10 write).
//! - `path=FROM:TO`: openat of FROM opens TO (memory write; TO no longer
//!   than FROM).

use vstrace_core::{Cpu, Direction, Event, MemError, Reg, VirtMem};

/// Parsed test knobs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestKnobs {
    pub getpid: Option<u64>,
    pub exit: Option<(u64, u64)>,
    pub openmode: Option<u64>,
    pub path: Option<(Vec<u8>, Vec<u8>)>,
}

const NR_OPENAT: u64 = 257;
const NR_GETPID: u64 = 39;
const NR_EXECVE: u64 = 59;
const NR_EXIT_GROUP: u64 = 231;
const O_CREAT: u64 = 0o100;

impl TestKnobs {
    /// Parses `VSTRACE_PLUGIN_TEST`; `Err` names the bad item.
    pub fn parse(s: &str) -> Result<TestKnobs, String> {
        let mut k = TestKnobs::default();
        for item in s.split(',').filter(|i| !i.is_empty()) {
            let bad = || format!("bad VSTRACE_PLUGIN_TEST item {item:?}");
            let (key, v) = item.split_once('=').ok_or_else(bad)?;
            match key {
                "getpid" => k.getpid = Some(v.parse().map_err(|_| bad())?),
                "exit" => {
                    let (a, b) = v.split_once(':').ok_or_else(bad)?;
                    k.exit = Some((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?));
                }
                "openmode" => k.openmode = Some(u64::from_str_radix(v, 8).map_err(|_| bad())?),
                "path" => {
                    let (a, b) = v.split_once(':').ok_or_else(bad)?;
                    if b.len() > a.len() || a.is_empty() {
                        return Err(bad());
                    }
                    k.path = Some((a.as_bytes().to_vec(), b.as_bytes().to_vec()));
                }
                _ => return Err(bad()),
            }
        }
        Ok(k)
    }

    /// Applies the knobs to one event. `last_nr` is the per-vCPU number of
    /// the last call entered (good enough for getpid, which never sleeps).
    pub fn apply(&self, ev: &Event, cpu: &mut dyn Cpu, last_nr: &mut Option<u64>) {
        let r = cpu.regs().clone();
        let nr = r.rax();
        let res = match ev.direction {
            Direction::Exit => {
                let was = last_nr.take();
                match self.getpid {
                    Some(v) if was == Some(NR_GETPID) => {
                        cpu.write_reg(Reg::Rax, v).map_err(|e| e.to_string())
                    }
                    _ => Ok(()),
                }
            }
            Direction::Enter => {
                *last_nr = Some(nr);
                let mut res = Ok(());
                if let Some((a, b)) = self.exit {
                    if nr == NR_EXIT_GROUP && r.get(Reg::Rdi) == a {
                        res = cpu.write_reg(Reg::Rdi, b).map_err(|e| e.to_string());
                    }
                }
                if nr == NR_OPENAT {
                    if let Some(m) = self.openmode {
                        if r.get(Reg::Rdx) & O_CREAT != 0 {
                            res = cpu.write_reg(Reg::R10, m).map_err(|e| e.to_string());
                        }
                    }
                    if let Some((from, to)) = &self.path {
                        let addr = r.get(Reg::Rsi);
                        if read_cstr(cpu.mem(), addr, 256).ok().as_deref() == Some(from.as_slice())
                        {
                            let mut v = to.clone();
                            v.push(0);
                            res = cpu.mem().write_virt(addr, &v).map_err(|e| e.to_string());
                        }
                    }
                }
                res
            }
        };
        if let Err(e) = res {
            eprintln!("vstrace-plugin: test knob write failed: {e}");
        }
    }
}

/// Reads a NUL-terminated string of at most `max` bytes, page by page so
/// that a string ending before an unmapped page still reads.
pub fn read_cstr(mem: &mut dyn VirtMem, addr: u64, max: usize) -> Result<Vec<u8>, MemError> {
    let mut out = Vec::new();
    let mut a = addr;
    while out.len() < max {
        let n = (0x1000 - (a & 0xfff) as usize).min(max - out.len());
        let mut chunk = vec![0u8; n];
        mem.read_virt(a, &mut chunk)?;
        if let Some(z) = chunk.iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..z]);
            return Ok(out);
        }
        out.extend_from_slice(&chunk);
        a = a
            .checked_add(n as u64)
            .ok_or(MemError::Unmapped(u64::MAX))?;
    }
    Ok(out)
}

/// One debug line for an event; for execve/openat enters also the path,
/// read through the event source's memory (exercises `VirtMem`).
pub fn event_line(ev: &Event, cpu: &mut dyn Cpu) -> String {
    let r = cpu.regs().clone();
    let b = match ev.bitness {
        vstrace_core::Bitness::B32 => 32,
        vstrace_core::Bitness::B64 => 64,
    };
    let dir = match ev.direction {
        Direction::Enter => "enter",
        Direction::Exit => "exit ",
    };
    let mut s = format!(
        "vstrace-plugin: vcpu={} {dir} {:<8} b{b} rax={:#x} rdi={:#x} rsi={:#x} rcx={:#x} rsp={:#x} rip={:#x} cs={:#x} cr3={:#x}",
        ev.vcpu,
        ev.mechanism.name(),
        r.rax(),
        r.get(Reg::Rdi),
        r.get(Reg::Rsi),
        r.get(Reg::Rcx),
        r.rsp(),
        r.rip(),
        r.cs,
        r.cr3,
    );
    // rip must point at the trap instruction itself (not a stale TB start).
    let mut insn = [0u8; 4];
    let at_rip = cpu
        .mem()
        .read_virt(r.rip(), &mut insn)
        .ok()
        .and_then(|_| crate::classify::classify(&insn));
    if at_rip.map(|k| k.mechanism()) != Some(ev.mechanism) {
        s += &format!(" RIP-MISMATCH({insn:02x?})");
    }
    if ev.direction == Direction::Enter && b == 64 {
        let p = match r.rax() {
            NR_EXECVE => Some(r.get(Reg::Rdi)),
            NR_OPENAT => Some(r.get(Reg::Rsi)),
            _ => None,
        };
        if let Some(p) = p {
            match read_cstr(cpu.mem(), p, 128) {
                Ok(v) => s += &format!(" path={:?}", String::from_utf8_lossy(&v)),
                Err(e) => s += &format!(" path=<{e}>"),
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::cpu::SnapshotCpu;
    use vstrace_core::{Bitness, Mechanism, Regs};

    /// Memory with one mapped range.
    struct Flat {
        base: u64,
        data: Vec<u8>,
    }
    impl VirtMem for Flat {
        fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
            let off = addr
                .checked_sub(self.base)
                .ok_or(MemError::Unmapped(addr))? as usize;
            let src = self
                .data
                .get(off..off + buf.len())
                .ok_or(MemError::Unmapped(addr))?;
            buf.copy_from_slice(src);
            Ok(())
        }
        fn write_virt(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError> {
            let off = addr
                .checked_sub(self.base)
                .ok_or(MemError::Unmapped(addr))? as usize;
            let dst = self
                .data
                .get_mut(off..off + data.len())
                .ok_or(MemError::Unmapped(addr))?;
            dst.copy_from_slice(data);
            Ok(())
        }
    }

    #[test]
    fn parse_knobs() {
        let k =
            TestKnobs::parse("getpid=4242,exit=3:7,openmode=600,path=/etc/hostname:/etc/passwd")
                .unwrap();
        assert_eq!(k.getpid, Some(4242));
        assert_eq!(k.exit, Some((3, 7)));
        assert_eq!(k.openmode, Some(0o600));
        assert_eq!(k.path.as_ref().unwrap().1, b"/etc/passwd");
        assert!(TestKnobs::parse("path=/a:/longer").is_err());
        assert!(TestKnobs::parse("nope=1").is_err());
        assert!(TestKnobs::parse("openmode=9").is_err());
        assert_eq!(TestKnobs::parse("").unwrap(), TestKnobs::default());
    }

    #[test]
    fn cstr_stops_at_nul_and_unmapped_page() {
        // String ends right before an unmapped page: still readable.
        let mut m = Flat {
            base: 0x1ff0,
            data: b"/etc/hostname\0xx".to_vec(),
        };
        assert_eq!(read_cstr(&mut m, 0x1ff0, 256).unwrap(), b"/etc/hostname");
        // Unterminated up to the page end then unmapped.
        let mut m = Flat {
            base: 0x1ffc,
            data: b"abcd".to_vec(),
        };
        assert_eq!(
            read_cstr(&mut m, 0x1ffc, 256),
            Err(MemError::Unmapped(0x2000))
        );
        // Bounded by max.
        let mut m = Flat {
            base: 0x1000,
            data: vec![b'a'; 64],
        };
        assert_eq!(read_cstr(&mut m, 0x1000, 10).unwrap().len(), 10);
    }

    #[test]
    fn knobs_write_through_cpu() {
        let k =
            TestKnobs::parse("getpid=4242,path=/etc/hostname:/etc/passwd,openmode=600").unwrap();
        // One mapped page: guest memory is mapped page by page.
        let mut page = vec![0u8; 0x1000];
        page[..14].copy_from_slice(b"/etc/hostname\0");
        let mut mem = Flat {
            base: 0x7000,
            data: page,
        };
        let mut regs = Regs {
            cs: 0x33,
            ..Regs::default()
        };
        regs.set(Reg::Rax, NR_OPENAT);
        regs.set(Reg::Rsi, 0x7000);
        regs.set(Reg::Rdx, O_CREAT);
        let ev = Event::new(0, Mechanism::Syscall, Bitness::B64, regs.clone());
        let mut last = None;
        {
            let mut cpu = SnapshotCpu {
                regs,
                mem: &mut mem,
            };
            k.apply(&ev, &mut cpu, &mut last);
            assert_eq!(cpu.regs.get(Reg::R10), 0o600);
        }
        assert_eq!(&mem.data[..12], b"/etc/passwd\0");
        assert_eq!(last, Some(NR_OPENAT));

        // getpid: enter then exit on the same vCPU.
        let mut regs = Regs::default();
        regs.set(Reg::Rax, NR_GETPID);
        let enter = Event::new(0, Mechanism::Syscall, Bitness::B64, regs.clone());
        let mut cpu = SnapshotCpu {
            regs,
            mem: &mut mem,
        };
        k.apply(&enter, &mut cpu, &mut last);
        cpu.regs.set(Reg::Rax, 77);
        let exit = Event::new(0, Mechanism::Sysret, Bitness::B64, cpu.regs.clone());
        k.apply(&exit, &mut cpu, &mut last);
        assert_eq!(cpu.regs.rax(), 4242);
        assert_eq!(last, None);
        // A later exit without getpid is left alone.
        cpu.regs.set(Reg::Rax, 5);
        k.apply(&exit, &mut cpu, &mut last);
        assert_eq!(cpu.regs.rax(), 5);
    }
}
