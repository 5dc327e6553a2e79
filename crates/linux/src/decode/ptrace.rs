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
            _ => {
                drop(c);
                entry.unwrap_or_else(|| self.ptrace_data_entry(req, addr, data))
            }
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
