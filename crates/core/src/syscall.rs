//! The Syscall object: one trapped call, its arguments and return value,
//! readable and writable through the argument table.

use serde::{Deserialize, Serialize};

use crate::abi::{self, AbiError, AbiRow, ArgLocation, Os};
use crate::cpu::{Cpu, CpuError};
use crate::event::{Direction, Event};
use crate::mem::MemError;
use crate::regs::Reg;

/// Error from the Syscall API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyscallError {
    /// The argument table has no row, or the index is out of range.
    #[error(transparent)]
    Abi(#[from] AbiError),
    /// Guest memory holding an argument or string could not be read or written.
    #[error(transparent)]
    Mem(#[from] MemError),
    /// The event source could not write a register.
    #[error(transparent)]
    Cpu(#[from] CpuError),
    /// `*_named` was given a name the call's prototype does not have.
    #[error("{call} has no argument named {arg:?}")]
    NoSuchArg {
        /// Name of the call (empty if the OS layer did not name it).
        call: String,
        /// The argument name that was asked for.
        arg: String,
    },
    /// [`Syscall::signal`] was given a number that is no signal.
    #[error("{0} is not a signal number (1..=64)")]
    BadSignal(u32),
    /// The operation needs the other direction (e.g. a return value on enter).
    #[error("{what} is only available on {needed:?}, this is {actual:?}")]
    WrongDirection {
        /// What was asked for.
        what: &'static str,
        /// The direction it is available on.
        needed: Direction,
        /// The direction of this event.
        actual: Direction,
    },
}

/// What a write changed, kept in the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Modification {
    /// `arg1`..`argN`, `retval`, `nr`, or a memory description.
    pub target: String,
    /// Where the write landed: a register name or `mem:0x...`.
    pub location: String,
    /// The value before the write (register bits or memory, at the call's width).
    pub before: u64,
    /// The value written, truncated to the width that was written.
    pub after: u64,
    /// Decoded before/after values where they are not plain numbers
    /// (e.g. a rewritten path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_text: Option<String>,
    /// Decoded value after the write, where `before_text` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_text: Option<String>,
}

/// One trapped syscall event with access to its vCPU.
///
/// A hook receives one as `&mut Syscall` (see [`crate::hooks::Hooks`]); an
/// event source builds it from the [`Event`] and the trapping [`Cpu`].
/// Arguments are 1-based and read where the OS's convention puts them
/// (registers or the stack), so a hook never needs to know the ABI.
///
/// Here a Linux x86-64 `openat(AT_FDCWD, "/etc/hostname", O_RDONLY)` entry,
/// on the synthetic vCPU and memory the unit tests use:
///
/// ```
/// use vstrace_core::cpu::SnapshotCpu;
/// use vstrace_core::testmem::SparseVirt;
/// use vstrace_core::{Bitness, Event, Mechanism, Os, Reg, Regs, Syscall};
///
/// let mut mem = SparseVirt::new();
/// mem.map(0x1000, b"/etc/hostname\0");
/// let mut regs = Regs::default();
/// regs.set(Reg::Rax, 257); // __NR_openat
/// regs.set(Reg::Rdi, -100i64 as u64); // AT_FDCWD
/// regs.set(Reg::Rsi, 0x1000); // pathname
/// regs.set(Reg::Rdx, 0); // O_RDONLY
/// let event = Event::new(0, Mechanism::Syscall, Bitness::B64, regs.clone());
/// let mut cpu = SnapshotCpu { regs, mem: &mut mem };
/// let mut sc = Syscall::new(event, Os::Linux, &mut cpu);
///
/// assert_eq!(sc.number(), 257);
/// assert_eq!(sc.arg_i32(1)?, -100);
/// assert_eq!(sc.arg_string(2, 4096)?, "/etc/hostname");
/// assert_eq!(sc.arg(3)?, 0);
/// // The return value exists only at exit.
/// assert!(sc.return_value().is_err());
/// # Ok::<(), vstrace_core::SyscallError>(())
/// ```
pub struct Syscall<'c> {
    /// The trap this call was seen at.
    pub event: Event,
    /// Guest OS, which selects the argument convention.
    pub os: Os,
    row: Option<&'static AbiRow>,
    cpu: &'c mut dyn Cpu,
    /// Every write made through this object, in order.
    pub modifications: Vec<Modification>,
    /// Free-form data set by hooks; ends up in the record (the `hook`
    /// object of a JSON record), so a hook can annotate a call without
    /// printing anything itself.
    ///
    /// ```
    /// # use vstrace_core::cpu::SnapshotCpu;
    /// # use vstrace_core::testmem::SparseVirt;
    /// # use vstrace_core::{Bitness, Event, Mechanism, Os, Reg, Regs, Syscall};
    /// use serde_json::json;
    /// use vstrace_core::hooks::Hooks;
    ///
    /// // write(1, buf, 10000) on Linux x86-64.
    /// let mut regs = Regs::default();
    /// regs.set(Reg::Rax, 1);
    /// regs.set(Reg::Rdi, 1);
    /// regs.set(Reg::Rdx, 10_000);
    /// # let mut mem = SparseVirt::new();
    /// # let event = Event::new(0, Mechanism::Syscall, Bitness::B64, regs.clone());
    /// # let mut cpu = SnapshotCpu { regs, mem: &mut mem };
    /// # let mut sc = Syscall::new(event, Os::Linux, &mut cpu);
    ///
    /// let mut hooks = Hooks::new();
    /// hooks.on_enter("write", |sc| {
    ///     let count = sc.arg(3)?;
    ///     sc.hook.insert("big_write".into(), json!(count > 4096));
    ///     Ok(())
    /// });
    /// assert!(hooks.dispatch("write", &mut sc).is_empty());
    /// assert_eq!(sc.hook["big_write"], json!(true));
    /// ```
    pub hook: serde_json::Map<String, serde_json::Value>,
    /// Name of the call, when the OS layer knows it.
    pub name: String,
    /// Argument names from the OS layer's prototype, for `*_named`.
    pub arg_names: Vec<String>,
    /// Set by [`Syscall::skip`]: the call must not run and returns this.
    skip: Option<i64>,
    /// Set by [`Syscall::signal`]: the signal the caller gets as the
    /// call returns.
    signal: Option<u32>,
    /// The calling process, when the engine attributed the call before
    /// its hooks ran (it does so only for calls a hook wants, since
    /// attribution reads guest memory); `None` when it could not.
    pub process: Option<crate::os::ProcInfo>,
    /// The arguments as the text output shows them (`"/etc/hostname"`,
    /// `O_RDONLY|O_CLOEXEC`), at exit, for hooks that script over decoded
    /// values (at enter they are decoded after the hooks ran: empty).
    pub arg_text: Vec<Option<String>>,
    /// The typed values `arg_text` renders (see [`crate::value`]), at
    /// exit, beside it.
    pub arg_values: Vec<Option<crate::value::Value>>,
}

impl<'c> Syscall<'c> {
    /// Wraps an event. Exit events have no argument row; enter events
    /// whose (OS, mechanism, bitness) has no row report it on `arg`.
    pub fn new(event: Event, os: Os, cpu: &'c mut dyn Cpu) -> Syscall<'c> {
        let row = abi::row(os, event.mechanism, event.bitness).ok();
        Syscall {
            event,
            os,
            row,
            cpu,
            modifications: Vec::new(),
            hook: Default::default(),
            name: String::new(),
            arg_names: Vec::new(),
            skip: None,
            signal: None,
            process: None,
            arg_text: Vec::new(),
            arg_values: Vec::new(),
        }
    }

    fn row(&self) -> Result<&'static AbiRow, SyscallError> {
        self.row.ok_or(SyscallError::Abi(AbiError::NoRow {
            os: self.os,
            mechanism: self.event.mechanism,
            bitness: self.event.bitness,
        }))
    }

    fn need(&self, what: &'static str, needed: Direction) -> Result<(), SyscallError> {
        if self.event.direction != needed {
            return Err(SyscallError::WrongDirection {
                what,
                needed,
                actual: self.event.direction,
            });
        }
        Ok(())
    }

    /// The raw syscall number register (eax/rax) at entry.
    pub fn number(&self) -> u64 {
        let v = self.cpu.regs().rax();
        match self.event.bitness {
            crate::event::Bitness::B32 => v & 0xffff_ffff,
            crate::event::Bitness::B64 => v,
        }
    }

    /// Where 1-based argument `index` lives.
    pub fn arg_location(&self, index: usize) -> Result<ArgLocation, SyscallError> {
        self.need("arguments", Direction::Enter)?;
        Ok(self.row()?.location(index)?)
    }

    /// Maximum number of arguments of this convention.
    pub fn max_args(&self) -> Result<usize, SyscallError> {
        Ok(self.row()?.max_args())
    }

    /// Reads 1-based argument `index`, zero-extended to 64 bits, from
    /// wherever the convention keeps it: a register, or guest memory for
    /// stack-passed arguments. Only at enter.
    ///
    /// ```
    /// # use vstrace_core::cpu::SnapshotCpu;
    /// # use vstrace_core::testmem::SparseVirt;
    /// # use vstrace_core::{Bitness, Event, Mechanism, Os, Reg, Regs, Syscall};
    /// // NtWriteFile has 9 arguments; on Windows x64 the first four are in
    /// // r10, rdx, r8, r9 and argument n > 4 is the qword at rsp + 8n.
    /// let mut regs = Regs::default();
    /// regs.set(Reg::R10, 0x7c); // FileHandle
    /// regs.set(Reg::Rsp, 0x7fff_ffc0);
    /// let mut mem = SparseVirt::new();
    /// // Argument 7 (Length) is the last qword of the stack page.
    /// mem.map(0x7fff_ffc0 + 8 * 7, &0x200u64.to_le_bytes());
    /// # let event = Event::new(0, Mechanism::Syscall, Bitness::B64, regs.clone());
    /// # let mut cpu = SnapshotCpu { regs, mem: &mut mem };
    /// let mut sc = Syscall::new(event, Os::Windows, &mut cpu);
    ///
    /// assert_eq!(sc.arg(1)?, 0x7c);
    /// assert_eq!(sc.arg(7)?, 0x200);
    /// // Argument 8 is on the next page, which is not mapped: an error, not a panic.
    /// assert!(sc.arg(8).is_err());
    /// // Arguments are 1-based.
    /// assert!(sc.arg(0).is_err());
    /// # Ok::<(), vstrace_core::SyscallError>(())
    /// ```
    pub fn arg(&mut self, index: usize) -> Result<u64, SyscallError> {
        let loc = self.arg_location(index)?;
        read_at(loc, self.event.bitness, self.cpu)
    }

    /// Reads arguments 1..=n (Nitro's `collect_args`); fails if any of
    /// them cannot be read.
    ///
    /// ```
    /// # use vstrace_core::cpu::SnapshotCpu;
    /// # use vstrace_core::testmem::SparseVirt;
    /// # use vstrace_core::{Bitness, Event, Mechanism, Os, Reg, Regs, Syscall};
    /// // Linux i386 `int 0x80`: write(1, 0x0804a000, 12) passes ebx, ecx, edx.
    /// let mut regs = Regs::default();
    /// regs.set(Reg::Rax, 4); // __NR_write (i386)
    /// regs.set(Reg::Rbx, 1);
    /// regs.set(Reg::Rcx, 0xdead_0000_0804_a000); // upper half ignored at 32 bits
    /// regs.set(Reg::Rdx, 12);
    /// # let mut mem = SparseVirt::new();
    /// let event = Event::new(0, Mechanism::Int80, Bitness::B32, regs.clone());
    /// # let mut cpu = SnapshotCpu { regs, mem: &mut mem };
    /// # let mut sc = Syscall::new(event, Os::Linux, &mut cpu);
    ///
    /// assert_eq!(sc.args(3)?, [1, 0x0804_a000, 12]);
    /// # Ok::<(), vstrace_core::SyscallError>(())
    /// ```
    pub fn args(&mut self, n: usize) -> Result<Vec<u64>, SyscallError> {
        (1..=n).map(|i| self.arg(i)).collect()
    }

    /// Writes 1-based argument `index` where the kernel reads it (before
    /// the call runs, so the kernel sees the new value), and logs the
    /// change in [`Syscall::modifications`]. A 32-bit argument write keeps
    /// the register's upper half.
    ///
    /// ```
    /// # use vstrace_core::cpu::SnapshotCpu;
    /// # use vstrace_core::testmem::SparseVirt;
    /// # use vstrace_core::{Bitness, Event, Mechanism, Os, Reg, Regs, Syscall};
    /// // read(0, buf, 4096) on Linux x86-64: shrink the count to 16 bytes.
    /// let mut regs = Regs::default();
    /// regs.set(Reg::Rax, 0);
    /// regs.set(Reg::Rdx, 4096);
    /// # let mut mem = SparseVirt::new();
    /// # let event = Event::new(0, Mechanism::Syscall, Bitness::B64, regs.clone());
    /// # let mut cpu = SnapshotCpu { regs, mem: &mut mem };
    /// let mut sc = Syscall::new(event, Os::Linux, &mut cpu);
    ///
    /// sc.set_arg(3, 16)?;
    /// assert_eq!(sc.arg(3)?, 16);
    /// let m = &sc.modifications[0];
    /// assert_eq!((m.target.as_str(), m.location.as_str()), ("arg3", "rdx"));
    /// assert_eq!((m.before, m.after), (4096, 16));
    /// drop(sc);
    /// assert_eq!(cpu.regs.get(Reg::Rdx), 16); // what the kernel will read
    /// # Ok::<(), vstrace_core::SyscallError>(())
    /// ```
    pub fn set_arg(&mut self, index: usize, value: u64) -> Result<(), SyscallError> {
        let before = self.arg(index)?;
        let loc = self.arg_location(index)?;
        let location = match loc {
            ArgLocation::Reg { reg, width } => {
                // A 32-bit argument write changes only the low half: the
                // kernel reads 32 bits, the rest stays as the guest had it.
                let v = merge(self.cpu.regs().get(reg), value, width);
                self.cpu.write_reg(reg, v)?;
                reg.name(width == 8).to_string()
            }
            ArgLocation::Mem {
                base,
                offset,
                width,
            } => {
                let addr = mem_addr(self.cpu.regs().get(base), offset, self.event.bitness);
                let bytes = value.to_le_bytes();
                self.cpu.mem().write_virt(addr, &bytes[..width as usize])?;
                format!("mem:{addr:#x}")
            }
        };
        let width = match loc {
            ArgLocation::Reg { width, .. } | ArgLocation::Mem { width, .. } => width,
        };
        self.modifications.push(Modification {
            target: format!("arg{index}"),
            location,
            before,
            after: truncate(value, width),
            before_text: None,
            after_text: None,
        });
        Ok(())
    }

    /// The return value at exit, sign-extended from the call's width (a
    /// 32-bit call's `0xfffffffe` is -2). Linux errors are `-errno`;
    /// Windows returns an NTSTATUS. An error at enter.
    ///
    /// ```
    /// # use vstrace_core::cpu::SnapshotCpu;
    /// # use vstrace_core::testmem::SparseVirt;
    /// # use vstrace_core::{Bitness, Event, Mechanism, Os, Reg, Regs, Syscall};
    /// // A 32-bit Linux call returning -ENOENT through iret; the upper
    /// // half of rax is not part of a 32-bit result.
    /// let mut regs = Regs::default();
    /// regs.set(Reg::Rax, 0x1234_5678_ffff_fffe);
    /// # let mut mem = SparseVirt::new();
    /// let event = Event::new(0, Mechanism::Iret, Bitness::B32, regs.clone());
    /// # let mut cpu = SnapshotCpu { regs, mem: &mut mem };
    /// # let sc = Syscall::new(event, Os::Linux, &mut cpu);
    ///
    /// assert_eq!(sc.return_value()?, -2);
    /// # Ok::<(), vstrace_core::SyscallError>(())
    /// ```
    pub fn return_value(&self) -> Result<i64, SyscallError> {
        self.need("the return value", Direction::Exit)?;
        Ok(return_at_width(self.cpu.regs().rax(), self.event.bitness))
    }

    /// Sets the return value at exit (before the return instruction runs,
    /// so the program sees it) and logs the change as `retval`. An error
    /// at enter: use [`Syscall::skip`] to stop a call from running.
    ///
    /// ```
    /// # use vstrace_core::cpu::SnapshotCpu;
    /// # use vstrace_core::testmem::SparseVirt;
    /// # use vstrace_core::{Bitness, Event, Mechanism, Os, Reg, Regs, Syscall};
    /// // openat returned fd 3 (sysret, Linux x86-64); make it fail with -EACCES.
    /// let mut regs = Regs::default();
    /// regs.set(Reg::Rax, 3);
    /// # let mut mem = SparseVirt::new();
    /// let event = Event::new(0, Mechanism::Sysret, Bitness::B64, regs.clone());
    /// # let mut cpu = SnapshotCpu { regs, mem: &mut mem };
    /// let mut sc = Syscall::new(event, Os::Linux, &mut cpu);
    ///
    /// sc.set_return_value(-13)?;
    /// assert_eq!(sc.return_value()?, -13);
    /// assert_eq!(sc.modifications[0].target, "retval");
    /// assert_eq!(sc.modifications[0].before, 3);
    /// drop(sc);
    /// assert_eq!(cpu.regs.get(Reg::Rax) as i64, -13);
    /// # Ok::<(), vstrace_core::SyscallError>(())
    /// ```
    pub fn set_return_value(&mut self, value: i64) -> Result<(), SyscallError> {
        self.need("the return value", Direction::Exit)?;
        // Logged as raw register bits at the call's width, like `after`.
        let before = truncate(self.cpu.regs().rax(), self.event.bitness.bytes() as u8);
        self.write_logged(Reg::Rax, value as u64, "retval", before)
    }

    /// Rewrites the syscall number at entry, e.g. to an invalid number so
    /// the call does not run.
    pub fn set_number(&mut self, nr: u64) -> Result<(), SyscallError> {
        self.need("the syscall number", Direction::Enter)?;
        let before = self.number();
        self.write_logged(Reg::Rax, nr, "nr", before)
    }

    fn write_logged(
        &mut self,
        reg: Reg,
        value: u64,
        target: &str,
        before: u64,
    ) -> Result<(), SyscallError> {
        let wide = self.event.bitness == crate::event::Bitness::B64;
        let width = self.event.bitness.bytes() as u8;
        let v = merge(self.cpu.regs().get(reg), value, width);
        self.cpu.write_reg(reg, v)?;
        self.modifications.push(Modification {
            target: target.to_string(),
            location: reg.name(wide).to_string(),
            before,
            after: truncate(value, width),
            before_text: None,
            after_text: None,
        });
        Ok(())
    }

    /// Skips the call at enter: the kernel does not run it (the number is
    /// replaced by an invalid one) and the caller sees `retval` at exit.
    /// This only records the request; the engine carries it out after the
    /// hooks ran ([`Syscall::take_skip`]). An error at exit.
    ///
    /// ```
    /// # use vstrace_core::cpu::SnapshotCpu;
    /// # use vstrace_core::testmem::SparseVirt;
    /// # use vstrace_core::{Bitness, Event, Mechanism, Os, Reg, Regs, Syscall};
    /// // unlink("/important") on Linux x86-64: refuse with -EPERM.
    /// let mut regs = Regs::default();
    /// regs.set(Reg::Rax, 87);
    /// # let mut mem = SparseVirt::new();
    /// # let event = Event::new(0, Mechanism::Syscall, Bitness::B64, regs.clone());
    /// # let mut cpu = SnapshotCpu { regs, mem: &mut mem };
    /// let mut sc = Syscall::new(event, Os::Linux, &mut cpu);
    ///
    /// sc.skip(-1)?;
    /// assert_eq!(sc.take_skip(), Some(-1)); // what the engine does next
    /// assert_eq!(sc.take_skip(), None);
    ///
    /// // At exit the call has already run: too late to skip.
    /// # let mut mem = SparseVirt::new();
    /// # let mut cpu = SnapshotCpu { regs: Regs::default(), mem: &mut mem };
    /// let exit = Event::new(0, Mechanism::Sysret, Bitness::B64, Regs::default());
    /// let mut sc = Syscall::new(exit, Os::Linux, &mut cpu);
    /// assert!(sc.skip(-1).is_err());
    /// # Ok::<(), vstrace_core::SyscallError>(())
    /// ```
    pub fn skip(&mut self, retval: i64) -> Result<(), SyscallError> {
        self.need("skip", Direction::Enter)?;
        self.skip = Some(retval);
        Ok(())
    }

    /// The value requested by [`Syscall::skip`], consumed by the engine.
    pub fn take_skip(&mut self) -> Option<i64> {
        self.skip.take()
    }

    /// Delivers signal `sig` (1..=64) to the calling thread as the call
    /// returns, as strace's `--inject=SET:signal=SIG` does (a Linux
    /// guest; the siginfo says the kernel sent it, `SI_KERNEL`). At the
    /// enter with [`Syscall::skip`], the call is denied and the signal
    /// follows (a seccomp-like kill with `SIGSYS`); without, the call
    /// runs first. At the exit, the call has run. The engine queues the
    /// signal through the caller itself (see the engine's `--inject`
    /// documentation); the record notes it.
    ///
    /// ```
    /// # use vstrace_core::cpu::SnapshotCpu;
    /// # use vstrace_core::testmem::SparseVirt;
    /// # use vstrace_core::{Bitness, Event, Mechanism, Os, Reg, Regs, Syscall};
    /// // ptrace(PTRACE_TRACEME) on Linux x86-64: deny it and send SIGSYS.
    /// let mut regs = Regs::default();
    /// regs.set(Reg::Rax, 101);
    /// # let mut mem = SparseVirt::new();
    /// # let event = Event::new(0, Mechanism::Syscall, Bitness::B64, regs.clone());
    /// # let mut cpu = SnapshotCpu { regs, mem: &mut mem };
    /// let mut sc = Syscall::new(event, Os::Linux, &mut cpu);
    ///
    /// sc.skip(-1)?;
    /// sc.signal(31)?;
    /// assert_eq!(sc.take_signal(), Some(31)); // what the engine does next
    /// assert!(sc.signal(65).is_err());
    /// # Ok::<(), vstrace_core::SyscallError>(())
    /// ```
    pub fn signal(&mut self, sig: u32) -> Result<(), SyscallError> {
        if !(1..=64).contains(&sig) {
            return Err(SyscallError::BadSignal(sig));
        }
        self.signal = Some(sig);
        Ok(())
    }

    /// The signal requested by [`Syscall::signal`], consumed by the engine.
    pub fn take_signal(&mut self) -> Option<u32> {
        self.signal.take()
    }

    /// Reads argument `index` as a pointer to a NUL-terminated string
    /// (at most `max` bytes).
    pub fn arg_string(&mut self, index: usize, max: usize) -> Result<String, SyscallError> {
        let ptr = self.arg(index)?;
        let s = crate::read::read_cstring(self.cpu.mem(), ptr, max)?;
        if let Some(fault) = s.fault {
            return Err(SyscallError::Mem(MemError::Unmapped(fault)));
        }
        Ok(String::from_utf8_lossy(&s.bytes).into_owned())
    }

    /// Argument `index` as a signed 32-bit value (int, fd).
    pub fn arg_i32(&mut self, index: usize) -> Result<i32, SyscallError> {
        Ok(self.arg(index)? as u32 as i32)
    }

    /// Argument `index` as an unsigned 32-bit value (flags, modes).
    pub fn arg_u32(&mut self, index: usize) -> Result<u32, SyscallError> {
        Ok(self.arg(index)? as u32)
    }

    /// Position (1-based) of the argument called `name` in the prototype.
    pub fn arg_index(&self, name: &str) -> Result<usize, SyscallError> {
        self.arg_names
            .iter()
            .position(|n| n == name)
            .map(|i| i + 1)
            .ok_or_else(|| SyscallError::NoSuchArg {
                call: self.name.clone(),
                arg: name.to_string(),
            })
    }

    /// Reads the argument called `name` (e.g. `"count"`).
    pub fn arg_named(&mut self, name: &str) -> Result<u64, SyscallError> {
        let i = self.arg_index(name)?;
        self.arg(i)
    }

    /// Writes the argument called `name`.
    pub fn set_arg_named(&mut self, name: &str, value: u64) -> Result<(), SyscallError> {
        let i = self.arg_index(name)?;
        self.set_arg(i, value)
    }

    /// Makes argument `index` point at a new NUL-terminated string. The
    /// string is written below the caller's stack pointer (past the
    /// x86-64 red zone), memory the program does not use at this point,
    /// so neither the original string nor any other data is overwritten.
    /// Returns the new pointer.
    pub fn set_arg_string(&mut self, index: usize, s: &str) -> Result<u64, SyscallError> {
        let before_text = self.arg_string(index, 4096).ok();
        let mut bytes = s.as_bytes().to_vec();
        bytes.push(0);
        let wide = self.event.bitness == crate::event::Bitness::B64;
        let sp = self.cpu.regs().rsp();
        let red_zone = if wide { 128 } else { 0 };
        let mut addr = sp.wrapping_sub(red_zone + 256 + bytes.len() as u64) & !15;
        if !wide {
            addr &= 0xffff_ffff;
        }
        self.cpu.mem().write_virt(addr, &bytes)?;
        self.set_arg(index, addr)?;
        if let Some(m) = self.modifications.last_mut() {
            m.before_text = before_text.map(|b| format!("{b:?}"));
            m.after_text = Some(format!("{s:?}"));
        }
        Ok(addr)
    }

    /// The vCPU, for readers and typed decoders.
    pub fn cpu(&mut self) -> &mut dyn Cpu {
        self.cpu
    }
}

/// Reads 1-based argument `index` of the call entered at `event` (an
/// enter) as [`Syscall::arg`] does, without making a [`Syscall`]: for a
/// caller that only reads its arguments (the engine's path for a call no
/// hook, injection or rewrite acts on).
///
/// ```
/// # use vstrace_core::cpu::SnapshotCpu;
/// # use vstrace_core::testmem::SparseVirt;
/// # use vstrace_core::{Bitness, Event, Mechanism, Os, Reg, Regs};
/// use vstrace_core::syscall::read_arg;
/// // write(1, buf, 12) on Linux x86-64: rdi, rsi, rdx.
/// let mut regs = Regs::default();
/// regs.set(Reg::Rdi, 1);
/// regs.set(Reg::Rdx, 12);
/// let event = Event::new(0, Mechanism::Syscall, Bitness::B64, regs.clone());
/// # let mut mem = SparseVirt::new();
/// let mut cpu = SnapshotCpu { regs, mem: &mut mem };
/// assert_eq!(read_arg(Os::Linux, &event, &mut cpu, 3)?, 12);
/// # Ok::<(), vstrace_core::SyscallError>(())
/// ```
pub fn read_arg(
    os: Os,
    event: &Event,
    cpu: &mut dyn Cpu,
    index: usize,
) -> Result<u64, SyscallError> {
    if event.direction != Direction::Enter {
        return Err(SyscallError::WrongDirection {
            what: "arguments",
            needed: Direction::Enter,
            actual: event.direction,
        });
    }
    let row = abi::row(os, event.mechanism, event.bitness)?;
    read_at(row.location(index)?, event.bitness, cpu)
}

/// The argument at `loc` (a register, or guest memory for stack-passed
/// arguments) of a call of width `bitness`, zero-extended to 64 bits.
fn read_at(
    loc: ArgLocation,
    bitness: crate::event::Bitness,
    cpu: &mut dyn Cpu,
) -> Result<u64, SyscallError> {
    match loc {
        ArgLocation::Reg { reg, width } => Ok(truncate(cpu.regs().get(reg), width)),
        ArgLocation::Mem {
            base,
            offset,
            width,
        } => {
            let addr = mem_addr(cpu.regs().get(base), offset, bitness);
            let mut buf = [0u8; 8];
            cpu.mem().read_virt(addr, &mut buf[..width as usize])?;
            Ok(u64::from_le_bytes(buf))
        }
    }
}

/// A call's return value from its return register `rax`, sign-extended
/// from the call's width (what [`Syscall::return_value`] reads; a 32-bit
/// call's result is eax, whatever the upper half holds).
///
/// ```
/// use vstrace_core::syscall::return_at_width;
/// use vstrace_core::Bitness;
/// assert_eq!(return_at_width(0x1234_5678_ffff_fffe, Bitness::B32), -2);
/// assert_eq!(return_at_width(3, Bitness::B64), 3);
/// ```
pub fn return_at_width(rax: u64, bitness: crate::event::Bitness) -> i64 {
    match bitness {
        crate::event::Bitness::B32 => rax as u32 as i32 as i64,
        crate::event::Bitness::B64 => rax as i64,
    }
}

/// The address of a stack-passed argument: `base` (its register's
/// value) plus `offset`, wrapped at the call's width.
fn mem_addr(base: u64, offset: u64, bitness: crate::event::Bitness) -> u64 {
    match bitness {
        crate::event::Bitness::B32 => (base.wrapping_add(offset)) & 0xffff_ffff,
        crate::event::Bitness::B64 => base.wrapping_add(offset),
    }
}

fn truncate(v: u64, width: u8) -> u64 {
    if width >= 8 {
        v
    } else {
        v & ((1u64 << (width as u32 * 8)) - 1)
    }
}

/// `value`'s low `width` bytes over `old`'s: what a write of that width
/// leaves in a 64-bit register.
fn merge(old: u64, value: u64, width: u8) -> u64 {
    if width >= 8 {
        value
    } else {
        let m = (1u64 << (width as u32 * 8)) - 1;
        (old & !m) | (value & m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::tests::{expected_max, ground_truth};
    use crate::abi::{AbiRow, ABI_TABLE};
    use crate::cpu::SnapshotCpu;
    use crate::event::{Bitness, Mechanism};
    use crate::mem::VirtMem;
    use crate::regs::Regs;
    use crate::testmem::SparseVirt;

    // Stack-like regions that rsp, rdx and rbp point into.
    const RSP_LO: u64 = 0x0010_0000;
    const RDX_LO: u64 = 0x0020_0000;
    const RBP_LO: u64 = 0x0030_0000;

    /// Registers with distinct values; base registers point at mapped
    /// memory. 32-bit rows get junk in the upper halves, which must be
    /// ignored on reads and kept on writes.
    fn regs_for(bitness: Bitness) -> Regs {
        let mut r = Regs::default();
        for (i, reg) in Reg::ALL.iter().enumerate() {
            let low = 0x1000_0001u64.wrapping_mul(i as u64 + 1) & 0xffff_ffff;
            r.set(*reg, 0xdead_0000_0000_0000 | ((i as u64) << 32) | low);
        }
        let hi = match bitness {
            Bitness::B32 => 0xffff_ffff_0000_0000,
            Bitness::B64 => 0x0000_7ffd_0000_0000,
        };
        r.set(Reg::Rsp, hi | RSP_LO);
        r.set(Reg::Rdx, hi | RDX_LO);
        r.set(Reg::Rbp, hi | RBP_LO);
        r
    }

    fn addr_of(regs: &Regs, bitness: Bitness, base: Reg, off: u64) -> u64 {
        let a = regs.get(base).wrapping_add(off);
        match bitness {
            Bitness::B32 => a & 0xffff_ffff,
            Bitness::B64 => a,
        }
    }

    /// One page of patterned bytes at each base register.
    fn mem_for(regs: &Regs, bitness: Bitness) -> SparseVirt {
        let mut m = SparseVirt::new();
        for (tag, base) in [(0x10u8, Reg::Rsp), (0x20, Reg::Rdx), (0x30, Reg::Rbp)] {
            let bytes: Vec<u8> = (0..4096u32)
                .map(|k| (k as u8).wrapping_mul(7) ^ tag)
                .collect();
            m.map(addr_of(regs, bitness, base, 0), &bytes);
        }
        m
    }

    fn enter(row: &AbiRow, regs: &Regs) -> Event {
        Event::new(0, row.mechanism, row.bitness, regs.clone())
    }

    fn mask(width: u64) -> u64 {
        if width == 8 {
            u64::MAX
        } else {
            (1 << (width * 8)) - 1
        }
    }

    #[test]
    fn every_row_reads_every_argument() {
        for row in ABI_TABLE {
            let regs = regs_for(row.bitness);
            let mut mem = mem_for(&regs, row.bitness);
            let mut reference = mem.clone();
            let mut cpu = SnapshotCpu {
                regs: regs.clone(),
                mem: &mut mem,
            };
            let mut sc = Syscall::new(enter(row, &regs), row.os, &mut cpu);
            let w = row.bitness.bytes();
            let max = expected_max(row);
            assert_eq!(sc.max_args().unwrap(), max);
            for n in 1..=max {
                let want = match ground_truth(row, n).unwrap() {
                    (reg, None) => regs.get(reg) & mask(w),
                    (base, Some(off)) => {
                        let mut b = [0u8; 8];
                        let a = addr_of(&regs, row.bitness, base, off);
                        reference.read_virt(a, &mut b[..w as usize]).unwrap();
                        u64::from_le_bytes(b)
                    }
                };
                assert_eq!(sc.arg(n).unwrap(), want, "{row:?} arg{n}");
            }
            assert_eq!(sc.args(max).unwrap().len(), max);
            for bad in [0, max + 1] {
                assert!(
                    matches!(
                        sc.arg(bad),
                        Err(SyscallError::Abi(AbiError::OutOfRange { index, .. })) if index == bad
                    ),
                    "{row:?} arg{bad}"
                );
                assert!(sc.set_arg(bad, 1).is_err());
            }
            assert!(sc.modifications.is_empty());
        }
    }

    #[test]
    fn every_row_writes_land_where_the_kernel_reads() {
        for row in ABI_TABLE {
            let w = row.bitness.bytes();
            for n in 1..=expected_max(row) {
                let regs = regs_for(row.bitness);
                let mut mem = mem_for(&regs, row.bitness);
                let mut want_mem = mem.clone();
                let mut want_regs = regs.clone();
                let value = 0x8877_6655_4433_2211u64 ^ (n as u64) << 8;
                let mut cpu = SnapshotCpu {
                    regs: regs.clone(),
                    mem: &mut mem,
                };
                let mut sc = Syscall::new(enter(row, &regs), row.os, &mut cpu);
                let before = sc.arg(n).unwrap();
                sc.set_arg(n, value).unwrap();
                assert_eq!(
                    sc.arg(n).unwrap(),
                    value & mask(w),
                    "{row:?} arg{n} reads back"
                );
                let mods = sc.modifications.clone();
                drop(sc);
                let regs_after = cpu.regs.clone();
                let location = match ground_truth(row, n).unwrap() {
                    (reg, None) => {
                        // Only the table's width changes; upper bits stay.
                        let old = regs.get(reg);
                        want_regs.set(reg, (old & !mask(w)) | (value & mask(w)));
                        reg.name(w == 8).to_string()
                    }
                    (base, Some(off)) => {
                        let a = addr_of(&regs, row.bitness, base, off);
                        want_mem
                            .write_virt(a, &value.to_le_bytes()[..w as usize])
                            .unwrap();
                        format!("mem:{a:#x}")
                    }
                };
                assert_eq!(regs_after, want_regs, "{row:?} arg{n} registers");
                assert!(mem == want_mem, "{row:?} arg{n} memory");
                assert_eq!(
                    mods,
                    vec![Modification {
                        target: format!("arg{n}"),
                        location,
                        before,
                        after: value & mask(w),
                        before_text: None,
                        after_text: None,
                    }],
                    "{row:?} arg{n}"
                );
            }
        }
    }

    fn row_of(os: Os, m: Mechanism, b: Bitness) -> &'static AbiRow {
        abi::row(os, m, b).unwrap()
    }

    #[test]
    fn windows_x64_named_cells() {
        let row = row_of(Os::Windows, Mechanism::Syscall, Bitness::B64);
        let mut regs = regs_for(Bitness::B64);
        regs.set(Reg::R10, 0xaaaa);
        regs.set(Reg::Rcx, 0x7ff8_0000_1234); // return rip, not an argument
        let rsp = regs.rsp();
        let mut mem = mem_for(&regs, Bitness::B64);
        mem.write_virt(rsp + 0x28, &0x5555u64.to_le_bytes())
            .unwrap();
        mem.write_virt(rsp + 0x30, &0x6666u64.to_le_bytes())
            .unwrap();
        let mut cpu = SnapshotCpu {
            regs: regs.clone(),
            mem: &mut mem,
        };
        let mut sc = Syscall::new(enter(row, &regs), Os::Windows, &mut cpu);
        assert_eq!(sc.arg(1).unwrap(), 0xaaaa);
        assert_eq!(sc.arg(5).unwrap(), 0x5555);
        assert_eq!(sc.arg(6).unwrap(), 0x6666);
        sc.set_arg(1, 0x1_0000_0001).unwrap();
        sc.set_arg(5, 0x55).unwrap();
        sc.set_arg(6, 0x66).unwrap();
        assert_eq!(sc.modifications[0].location, "r10");
        assert_eq!(
            sc.modifications[1].location,
            format!("mem:{:#x}", rsp + 0x28)
        );
        drop(sc);
        assert_eq!(cpu.regs.get(Reg::R10), 0x1_0000_0001);
        assert_eq!(cpu.regs.get(Reg::Rcx), 0x7ff8_0000_1234);
        let mut b = [0u8; 8];
        cpu.mem.read_virt(rsp + 0x28, &mut b).unwrap();
        assert_eq!(u64::from_le_bytes(b), 0x55);
        cpu.mem.read_virt(rsp + 0x30, &mut b).unwrap();
        assert_eq!(u64::from_le_bytes(b), 0x66);
    }

    fn u32_at(m: &mut dyn VirtMem, a: u64) -> u32 {
        let mut b = [0u8; 4];
        m.read_virt(a, &mut b).unwrap();
        u32::from_le_bytes(b)
    }

    #[test]
    fn windows_x86_and_linux_i386_named_cells() {
        // Ok(register) or Err((base register, offset)).
        type Place = Result<Reg, (Reg, u64)>;
        let cases: [(Os, Mechanism, usize, Place); 8] = [
            (Os::Windows, Mechanism::Sysenter, 1, Err((Reg::Rdx, 8))),
            (Os::Windows, Mechanism::Sysenter, 3, Err((Reg::Rdx, 16))),
            (Os::Windows, Mechanism::Int2e, 1, Err((Reg::Rdx, 0))),
            (Os::Windows, Mechanism::Int2e, 3, Err((Reg::Rdx, 8))),
            (Os::Linux, Mechanism::Sysenter, 6, Err((Reg::Rbp, 0))),
            (Os::Linux, Mechanism::Syscall, 2, Ok(Reg::Rbp)),
            (Os::Linux, Mechanism::Syscall, 6, Err((Reg::Rsp, 0))),
            (Os::Linux, Mechanism::Int80, 6, Ok(Reg::Rbp)),
        ];
        for (os, mech, n, place) in cases {
            let row = row_of(os, mech, Bitness::B32);
            let regs = regs_for(Bitness::B32);
            let mut mem = mem_for(&regs, Bitness::B32);
            let mut cpu = SnapshotCpu {
                regs: regs.clone(),
                mem: &mut mem,
            };
            let mut sc = Syscall::new(enter(row, &regs), os, &mut cpu);
            sc.set_arg(n, 0xfeed_0000_c0de_f00d).unwrap();
            drop(sc);
            match place {
                Ok(reg) => {
                    assert_eq!(
                        cpu.regs.get(reg) & 0xffff_ffff,
                        0xc0de_f00d,
                        "{os:?} {mech:?} {n}"
                    );
                    // Upper half untouched by a 32-bit write.
                    assert_eq!(cpu.regs.get(reg) >> 32, regs.get(reg) >> 32);
                }
                Err((base, off)) => {
                    let a = (regs.get(base) + off) & 0xffff_ffff;
                    assert_eq!(u32_at(cpu.mem, a), 0xc0de_f00d, "{os:?} {mech:?} {n}");
                    // The next slot is untouched (a 4-byte write).
                    assert_ne!(u32_at(cpu.mem, a + 4), 0xfeed_0000);
                    assert_eq!(cpu.regs, regs);
                }
            }
        }
    }

    #[test]
    fn compat_syscall_ignores_ecx() {
        let row = row_of(Os::Linux, Mechanism::Syscall, Bitness::B32);
        let regs = regs_for(Bitness::B32);
        let mut mem = mem_for(&regs, Bitness::B32);
        let mut cpu = SnapshotCpu {
            regs: regs.clone(),
            mem: &mut mem,
        };
        let mut sc = Syscall::new(enter(row, &regs), Os::Linux, &mut cpu);
        for n in 1..=6 {
            assert_ne!(
                sc.arg_location(n).unwrap(),
                ArgLocation::Reg {
                    reg: Reg::Rcx,
                    width: 4
                }
            );
        }
        assert_eq!(sc.arg(2).unwrap(), regs.get(Reg::Rbp) & 0xffff_ffff);
    }

    #[test]
    fn unmapped_stack_argument_is_an_error() {
        let row = row_of(Os::Windows, Mechanism::Syscall, Bitness::B64);
        let regs = regs_for(Bitness::B64);
        let mut mem = SparseVirt::new();
        let mut cpu = SnapshotCpu {
            regs: regs.clone(),
            mem: &mut mem,
        };
        let mut sc = Syscall::new(enter(row, &regs), Os::Windows, &mut cpu);
        assert_eq!(
            sc.arg(5),
            Err(SyscallError::Mem(MemError::Unmapped(regs.rsp() + 0x28)))
        );
        assert!(sc.set_arg(5, 1).is_err());
        assert!(sc.modifications.is_empty());
        assert!(sc.arg(4).is_ok());
    }

    #[test]
    fn no_row_is_reported() {
        let regs = regs_for(Bitness::B32);
        let mut mem = SparseVirt::new();
        let mut cpu = SnapshotCpu {
            regs: regs.clone(),
            mem: &mut mem,
        };
        let ev = Event::new(0, Mechanism::Int2e, Bitness::B32, regs);
        let mut sc = Syscall::new(ev, Os::Linux, &mut cpu);
        assert!(matches!(
            sc.arg(1),
            Err(SyscallError::Abi(AbiError::NoRow { .. }))
        ));
    }

    #[test]
    fn return_value_and_direction() {
        for (bits, raw, want) in [
            (Bitness::B32, 0xdead_beef_ffff_fff2u64, -14i64),
            (Bitness::B32, 0x1234_5678_0000_0005, 5),
            (Bitness::B64, (-14i64) as u64, -14),
            (Bitness::B64, 0xffff_ffff, 0xffff_ffff),
        ] {
            let mut regs = regs_for(bits);
            regs.set(Reg::Rax, raw);
            let mut mem = SparseVirt::new();
            let mut cpu = SnapshotCpu {
                regs: regs.clone(),
                mem: &mut mem,
            };
            let ev = Event::new(0, Mechanism::Sysret, bits, regs.clone());
            let mut sc = Syscall::new(ev, Os::Linux, &mut cpu);
            assert_eq!(sc.return_value().unwrap(), want);
            assert!(matches!(
                sc.arg(1),
                Err(SyscallError::WrongDirection {
                    needed: Direction::Enter,
                    ..
                })
            ));
            assert!(matches!(
                sc.set_arg(1, 0),
                Err(SyscallError::WrongDirection { .. })
            ));
            assert!(matches!(
                sc.set_number(0),
                Err(SyscallError::WrongDirection { .. })
            ));
            sc.set_return_value(-2).unwrap();
            assert_eq!(sc.return_value().unwrap(), -2);
            let m = sc.modifications[0].clone();
            drop(sc);
            assert_eq!(m.target, "retval");
            match bits {
                Bitness::B32 => {
                    assert_eq!(m.location, "eax");
                    assert_eq!(m.before, raw & 0xffff_ffff);
                    assert_eq!(m.after, 0xffff_fffe);
                    assert_eq!(cpu.regs.rax(), (raw & !0xffff_ffff) | 0xffff_fffe);
                }
                Bitness::B64 => {
                    assert_eq!(m.location, "rax");
                    assert_eq!(m.before, raw);
                    assert_eq!(m.after, (-2i64) as u64);
                    assert_eq!(cpu.regs.rax(), (-2i64) as u64);
                }
            }
        }
        // Enter events have no return value.
        let row = row_of(Os::Linux, Mechanism::Syscall, Bitness::B64);
        let regs = regs_for(Bitness::B64);
        let mut mem = SparseVirt::new();
        let mut cpu = SnapshotCpu {
            regs: regs.clone(),
            mem: &mut mem,
        };
        let mut sc = Syscall::new(enter(row, &regs), Os::Linux, &mut cpu);
        assert!(matches!(
            sc.return_value(),
            Err(SyscallError::WrongDirection {
                needed: Direction::Exit,
                ..
            })
        ));
        assert!(sc.set_return_value(0).is_err());
        assert!(sc.modifications.is_empty());
    }

    #[test]
    fn set_number_logs_and_truncates() {
        let row = row_of(Os::Linux, Mechanism::Int80, Bitness::B32);
        let mut regs = regs_for(Bitness::B32);
        regs.set(Reg::Rax, 0xabcd_0000_0000_0004);
        let mut mem = SparseVirt::new();
        let mut cpu = SnapshotCpu {
            regs: regs.clone(),
            mem: &mut mem,
        };
        let mut sc = Syscall::new(enter(row, &regs), Os::Linux, &mut cpu);
        assert_eq!(sc.number(), 4);
        sc.set_number(0x1_0000_ffff).unwrap();
        assert_eq!(sc.number(), 0xffff);
        assert_eq!(
            sc.modifications,
            vec![Modification {
                target: "nr".into(),
                location: "eax".into(),
                before: 4,
                after: 0xffff,
                before_text: None,
                after_text: None,
            }]
        );
    }
}
