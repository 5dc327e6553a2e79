//! ptrace(2)'s arguments by request, as strace prints them: which
//! arguments show (none after PTRACE_TRACEME, the pid alone for
//! PTRACE_ATTACH, the register buffer in the third place for
//! PTRACE_GETREGS and its kin), and what `addr` and `data` point to
//! (register sets, regset iovecs, siginfo, signal masks, seccomp
//! metadata, peeked words), read at the entry for what the kernel reads
//! and at the exit for what it writes.

use super::Ctx;
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::structs::ptrace as st;
use crate::xlat::{self, Radix, Table};
use vstrace_core::Value;

/// The request's name in the caller's table (`""` for an unknown one).
fn request(abi: LinuxAbi, raw: &[u64; 6]) -> &'static str {
    Table::PtraceCmds.xlat().lookup(abi, raw[0]).unwrap_or("")
}

/// How many arguments ptrace shows after its request (strace leaves the
/// ignored ones out; the register requests show their buffer in the
/// third place).
pub(super) fn nargs(abi: LinuxAbi, raw: &[u64; 6]) -> usize {
    match request(abi, raw) {
        "PTRACE_TRACEME" => 0,
        "PTRACE_ATTACH" | "PTRACE_INTERRUPT" | "PTRACE_KILL" | "PTRACE_LISTEN" => 1,
        "PTRACE_GETREGS" | "PTRACE_SETREGS" | "PTRACE_GETFPREGS" | "PTRACE_SETFPREGS" => 2,
        _ => 3,
    }
}

impl Ctx<'_, '_> {
    /// `ptrace`'s argument `k` after the request (1: pid, 2: addr,
    /// 3: data), by request as strace prints them.
    pub(super) fn ptrace_arg(&mut self, k: u8) -> String {
        let req = request(self.abi, &self.raw);
        match k {
            1 => (self.raw[1] as u32 as i32).to_string(),
            2 => self.ptrace_addr(req),
            _ => self.ptrace_data(req),
        }
    }

    /// ptrace's `data` as a typed siginfo (PTRACE_SETSIGINFO at the
    /// entry, PTRACE_GETSIGINFO when the kernel wrote it), so that `-y`
    /// names its `si_fd`; `None` for the other requests.
    pub(super) fn ptrace_siginfo(&mut self) -> Option<Value> {
        let req = request(self.abi, &self.raw);
        let data = self.raw[3];
        let read = match (req, self.ret) {
            ("PTRACE_SETSIGINFO", None) => true,
            ("PTRACE_GETSIGINFO", Some(r)) => !(-4095..=-1).contains(&r) && self.opts.structs,
            _ => false,
        };
        read.then(|| st::siginfo_value(&mut self.struct_call(3), data))
    }

    /// What this argument showed at the entry, at the exit.
    fn entry_text(&self, k: usize) -> Option<String> {
        self.entries.get(k).cloned().flatten()
    }

    /// The second argument (`addr`), or the register buffer (`data`) of
    /// the requests that show only that.
    fn ptrace_addr(&mut self, req: &str) -> String {
        let (addr, data) = (self.raw[2], self.raw[3]);
        let exiting = self.ret.is_some();
        match req {
            // The kernel writes the registers: shown at the exit.
            "PTRACE_GETREGS" | "PTRACE_GETFPREGS" if exiting => {
                let mut c = self.struct_call(2);
                let size = if req == "PTRACE_GETREGS" {
                    crate::structs::ptrace_regs::regs_size(c.abi)
                } else {
                    crate::structs::ptrace_regs::fpregs_size(c.abi)
                };
                st::regs(&mut c, req == "PTRACE_GETREGS", data, size).render()
            }
            "PTRACE_GETREGS" | "PTRACE_GETFPREGS" => fmt::ptr(data),
            _ if exiting => self
                .entry_text(2)
                .unwrap_or_else(|| self.ptrace_addr_entry(req, addr, data)),
            _ => self.ptrace_addr_entry(req, addr, data),
        }
    }

    fn ptrace_addr_entry(&mut self, req: &str, addr: u64, data: u64) -> String {
        let abi = self.abi;
        match req {
            "PTRACE_SETREGS" | "PTRACE_SETFPREGS" => {
                let mut c = self.struct_call(2);
                let gp = req == "PTRACE_SETREGS";
                let size = if gp {
                    crate::structs::ptrace_regs::regs_size(abi)
                } else {
                    crate::structs::ptrace_regs::fpregs_size(abi)
                };
                st::regs(&mut c, gp, data, size).render()
            }
            "PTRACE_GETREGSET" | "PTRACE_SETREGSET" => {
                xlat::xval(abi, Table::NtDescriptorTypes, addr, Radix::Hex)
            }
            "PTRACE_GETSIGMASK"
            | "PTRACE_SETSIGMASK"
            | "PTRACE_SECCOMP_GET_FILTER"
            | "PTRACE_SECCOMP_GET_METADATA"
            | "PTRACE_GET_SYSCALL_INFO" => addr.to_string(),
            "PTRACE_PEEKSIGINFO" => st::peeksiginfo_args(&mut self.struct_call(2), addr).render(),
            _ => fmt::ptr(addr),
        }
    }

    /// The third argument (`data`).
    fn ptrace_data(&mut self, req: &str) -> String {
        let (addr, data) = (self.raw[2], self.raw[3]);
        let Some(ret) = self.ret else {
            return self.ptrace_data_entry(req, addr, data);
        };
        let entry = self.entry_text(3);
        let failed = (-4095..=-1).contains(&ret);
        // strace's `umove_or_printaddr` at the exit: a failed call wrote
        // nothing; `-e verbose=none` reads nothing.
        let written = !failed && self.opts.structs;
        let mut c = self.struct_call(3);
        match req {
            "PTRACE_GET_SYSCALL_INFO" => st::syscall_info(&mut c, data, addr).render(),
            "PTRACE_PEEKDATA" | "PTRACE_PEEKTEXT" | "PTRACE_PEEKUSER" if written => {
                st::word(&mut c, data, true)
            }
            "PTRACE_GETEVENTMSG" if written => st::word(&mut c, data, false),
            "PTRACE_GETSIGINFO" if written => st::siginfo(&mut c, data),
            "PTRACE_GETSIGMASK" if written => st::sigmask(&mut c, data, addr),
            "PTRACE_PEEKSIGINFO" if written => st::siginfo_array(&mut c, data, ret as u64),
            "PTRACE_SECCOMP_GET_FILTER" if written => {
                crate::structs::seccomp_filter(&mut c, data, ret as u64)
            }
            "PTRACE_SECCOMP_GET_METADATA" => match entry {
                Some(e) => st::seccomp_metadata_exit(&mut c, e, data, ret),
                None => fmt::ptr(data),
            },
            "PTRACE_GETREGSET" => st::getregset_exit(&mut c, entry.as_deref(), addr, data),
            "PTRACE_SETREGSET" => match entry {
                Some(e) => st::setregset_exit(&mut c, e, data),
                None => fmt::ptr(data),
            },
            "PTRACE_PEEKDATA"
            | "PTRACE_PEEKTEXT"
            | "PTRACE_PEEKUSER"
            | "PTRACE_GETEVENTMSG"
            | "PTRACE_GETSIGINFO"
            | "PTRACE_GETSIGMASK"
            | "PTRACE_PEEKSIGINFO"
            | "PTRACE_SECCOMP_GET_FILTER" => fmt::ptr(data),
            // What the entry showed (the borrow of `c` has ended).
            _ => entry.unwrap_or_else(|| self.ptrace_data_entry(req, addr, data)),
        }
    }

    fn ptrace_data_entry(&mut self, req: &str, addr: u64, data: u64) -> String {
        let abi = self.abi;
        match req {
            "PTRACE_CONT"
            | "PTRACE_DETACH"
            | "PTRACE_SYSCALL"
            | "PTRACE_SINGLESTEP"
            | "PTRACE_SINGLEBLOCK"
            | "PTRACE_SYSEMU"
            | "PTRACE_SYSEMU_SINGLESTEP" => fmt::signal(data & 0xffff_ffff),
            "PTRACE_SEIZE" | "PTRACE_SETOPTIONS" | "PTRACE_OLDSETOPTIONS" => {
                xlat::flags(abi, Table::PtraceSetoptionsFlags, data)
            }
            "PTRACE_SETSIGINFO" => st::siginfo(&mut self.struct_call(3), data),
            "PTRACE_SETSIGMASK" => st::sigmask(&mut self.struct_call(3), data, addr),
            "PTRACE_SETREGSET" => st::setregset_entry(&mut self.struct_call(3), addr, data),
            "PTRACE_GETREGSET" => st::getregset_entry(&mut self.struct_call(3), data),
            "PTRACE_SECCOMP_GET_METADATA" => {
                st::seccomp_metadata_entry(&mut self.struct_call(3), data, addr)
            }
            _ => fmt::ptr(data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode_enter, decode_exit, format_call, format_return};
    use crate::proto::{by_name, LinuxAbi};
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::DecodeOptions;

    const X: LinuxAbi = LinuxAbi::X86_64;

    /// The line of a ptrace call whose memory `exit` changes between the
    /// entry and the exit (what the kernel wrote).
    fn line(
        raw: &[u64],
        ret: i64,
        mem: &mut SparseVirt,
        exit: impl FnOnce(&mut SparseVirt),
    ) -> String {
        let d = by_name(X, "ptrace").unwrap();
        let o = DecodeOptions::default();
        let mut a = decode_enter(d, X, raw, mem, &o);
        exit(mem);
        decode_exit(d, X, raw, ret, mem, &o, &mut a);
        format_call(d, &a, Some(&format_return(d, X, ret)))
    }

    fn words(ws: &[u64]) -> Vec<u8> {
        ws.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn register_requests_show_the_buffer_third() {
        let mut m = SparseVirt::new();
        m.map_zeroed(0x2000, 216);
        // PTRACE_GETREGS (12): the registers the kernel wrote, at the exit.
        let regs: Vec<u64> = (1..=27).collect();
        let l = line(&[12, 7, 0xdead, 0x2000], 0, &mut m, |m| {
            m.map(0x2000, &words(&regs))
        });
        assert!(
            l.starts_with("ptrace(PTRACE_GETREGS, 7, {r15=0x1, r14=0x2, "),
            "{l}"
        );
        assert!(l.ends_with("fs=0x1a, gs=0x1b}) = 0"), "{l}");
        assert_eq!(
            line(&[12, 7, 0, 0x2000], -14, &mut m, |_| {}),
            "ptrace(PTRACE_GETREGS, 7, 0x2000) = -1 EFAULT (Bad address)"
        );
        // PTRACE_SETFPREGS (15): read at the entry.
        let l = line(&[15, 7, 0, 0x2000], -3, &mut m, |_| {});
        assert!(
            l.starts_with("ptrace(PTRACE_SETFPREGS, 7, {cwd=0x1, swd=0, ftw=0, fop=0, rip=0x2"),
            "{l}"
        );
    }

    #[test]
    fn regsets_in_their_iovec() {
        let mut m = SparseVirt::new();
        m.map(0x2000, &words(&[0x3000, 16]));
        m.map(0x3000, &words(&[0x47f127, 0x47f0c6, 5]));
        // PTRACE_GETREGSET (0x4204), NT_PRSTATUS: the kernel shortened it.
        assert_eq!(
            line(&[0x4204, 7, 1, 0x2000], 0, &mut m, |m| m.map(0x2008, &8u64.to_le_bytes())),
            "ptrace(PTRACE_GETREGSET, 7, NT_PRSTATUS, {iov_base={r15=0x47f127}, iov_len=16 => 8}) = 0"
        );
        // Failed: the buffer's address.
        assert_eq!(
            line(&[0x4204, 7, 2, 0x2000], -22, &mut m, |_| {}),
            "ptrace(PTRACE_GETREGSET, 7, NT_FPREGSET, {iov_base=0x3000, iov_len=8}) = -1 EINVAL (Invalid argument)"
        );
        // PTRACE_SETREGSET (0x4205): the registers at the entry.
        m.map(0x2008, &16u64.to_le_bytes());
        assert_eq!(
            line(&[0x4205, 7, 1, 0x2000], 0, &mut m, |_| {}),
            "ptrace(PTRACE_SETREGSET, 7, NT_PRSTATUS, {iov_base={r15=0x47f127, r14=0x47f0c6}, iov_len=16}) = 0"
        );
        // An unknown set: the buffer's address; an unreadable iovec: its.
        assert_eq!(
            line(&[0x4205, 7, 0x202, 0x2000], -3, &mut m, |_| {}),
            "ptrace(PTRACE_SETREGSET, 7, NT_X86_XSTATE, {iov_base=0x3000, iov_len=16}) = -1 ESRCH (No such process)"
        );
        assert_eq!(
            line(&[0x4204, 7, 1, 0x9000], -3, &mut m, |_| {}),
            "ptrace(PTRACE_GETREGSET, 7, NT_PRSTATUS, 0x9000) = -1 ESRCH (No such process)"
        );
    }

    #[test]
    fn siginfo_words_and_metadata() {
        let mut m = SparseVirt::new();
        // PTRACE_PEEKSIGINFO (0x4209): the arguments, then the answer.
        m.map(0x2000, &words(&[0, 4 << 32]));
        let mut si = vec![0u8; 256];
        si[0] = 10; // SIGUSR1
        si[8..12].copy_from_slice(&(-6i32).to_le_bytes()); // SI_TKILL
        si[16] = 42;
        si[128] = 12; // SIGUSR2
        si[136..140].copy_from_slice(&(-6i32).to_le_bytes());
        m.map(0x3000, &si);
        assert_eq!(
            line(&[0x4209, 7, 0x2000, 0x3000], 2, &mut m, |_| {}),
            "ptrace(PTRACE_PEEKSIGINFO, 7, {off=0, flags=0, nr=4}, [{si_signo=SIGUSR1, \
             si_code=SI_TKILL, si_pid=42, si_uid=0}, {si_signo=SIGUSR2, si_code=SI_TKILL, \
             si_pid=0, si_uid=0}]) = 2"
        );
        // PTRACE_PEEKDATA (2): the word read.
        m.map(0x4000, &0x1234u64.to_le_bytes());
        assert_eq!(
            line(&[2, 7, 0x5000, 0x4000], 0, &mut m, |_| {}),
            "ptrace(PTRACE_PEEKDATA, 7, 0x5000, [0x1234]) = 0"
        );
        // PTRACE_SECCOMP_GET_METADATA (0x420d): the index, then the flags.
        m.map(0x6000, &words(&[3, 1]));
        assert_eq!(
            line(&[0x420d, 7, 16, 0x6000], 16, &mut m, |_| {}),
            "ptrace(PTRACE_SECCOMP_GET_METADATA, 7, 16, {filter_off=3, flags=SECCOMP_FILTER_FLAG_TSYNC}) = 16"
        );
        assert_eq!(
            line(&[0x420d, 7, 7, 0x6000], -3, &mut m, |_| {}),
            "ptrace(PTRACE_SECCOMP_GET_METADATA, 7, 7, 0x6000) = -1 ESRCH (No such process)"
        );
        // PTRACE_SETSIGMASK (0x420b): the set of `addr` bytes.
        m.map(0x7000, &(1u64 << 9).to_le_bytes());
        assert_eq!(
            line(&[0x420b, 7, 8, 0x7000], -3, &mut m, |_| {}),
            "ptrace(PTRACE_SETSIGMASK, 7, 8, [USR1]) = -1 ESRCH (No such process)"
        );
    }
}
