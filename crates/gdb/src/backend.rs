//! The gdb backend: attach to QEMU's gdbstub (TCG or KVM), find the Linux
//! system call entry and return-to-user instructions by observation, put
//! breakpoints on them and feed each hit to the [`Engine`] as an event
//! (the trace loop is in [`crate::trace`]).
//!
//! Discovery needs no symbol or user-supplied address:
//! 1. get a user-mode stop: if the VM is not stopped in user mode, break on
//!    the page-fault and timer interrupt handlers (from the IDT, whose base
//!    the monitor's `info registers` shows) until one interrupted user code,
//!    then break on that user instruction;
//! 2. single-step in user mode until the next instruction is a 64-bit
//!    `syscall` and step it: the new rip is MSR_LSTAR, the entry point;
//! 3. decode the code after the entry (with `iced-x86`, see
//!    [`crate::discover`]) for the `swapgs` that leads to `sysretq` and to
//!    the `iretq` of the interrupt-return path (they share `.entry.text`),
//!    the per-cpu saves and the call into the C handler.
//!
//! Step 2 is the fallback: by default the entry is first looked for by
//! decoding the code around the IDT's handlers (an optional `endbr64`,
//! `swapgs`, a save of rsp to a per-cpu slot) and confirmed by a
//! breakpoint hit that carries the state a `syscall` leaves, which needs
//! no user-mode interrupt and takes a fraction of a second.
//!
//! At the entry breakpoint (before `swapgs`) every user register is still
//! intact (rcx = user rip, r11 = user rflags, rsp = user rsp), so the event
//! is built as the user-mode `syscall` trap the plugin reports. At
//! `sysretq` the registers are the returning user ones; at `iretq` the user
//! CS is in the frame at rsp, and only returns to CPL 3 are reported.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use vstrace_core::gdbregs::decode_le;
use vstrace_core::mem::VirtMem;
use vstrace_core::{Reg, Regs};
use vstrace_engine::Engine;
use vstrace_linux::profile::{scan, LinuxProfile};

use crate::discover::{
    after_handler_call, decode_at, entry_candidates, entry_save, entry_swapgs, gate_target,
    parse_idt_base, scan_return_paths, stack_top_load, Discovery, SCAN_BYTES,
};
use crate::error::BackendError;
use crate::linux_frame::{is_user_addr, USER_CS64};
use crate::options::{AttachOptions, EntryDiscovery, ExitTrap, RunStats};
use crate::target::{exited, Target};

/// The decoding search for the entry covers this much code on each side of (and
/// around) each IDT handler's 64 KiB block.
const SIGNATURE_WINDOW: u64 = 64 << 10;
/// At most this many entry candidates get a breakpoint (hardware
/// breakpoints are scarce under KVM).
const MAX_CANDIDATES: usize = 2;

/// How long a candidate entry may wait for its confirming `syscall`.
const CONFIRM_TIME: Duration = Duration::from_secs(10);

/// An attached session.
pub struct Backend {
    /// The VM.
    pub target: Target,
    /// The session's options.
    opts: AttachOptions,
}

impl Backend {
    /// Connects to the gdbstub at `addr` (`HOST:PORT` or `unix:PATH`).
    pub fn attach(addr: &str, opts: AttachOptions) -> Result<Backend, BackendError> {
        let mut target = Target::connect(addr)?;
        // QEMU stops the VM on connect; `?` confirms it and says where.
        let s = target.client.stop_reason()?;
        exited(&s)?;
        Ok(Backend { target, opts })
    }

    fn log(&self, msg: impl FnOnce() -> String) {
        if self.opts.verbose {
            eprintln!("vstrace: gdb: {}", msg());
        }
    }

    /// Runs until a vCPU is stopped in user mode (see the module doc).
    fn reach_user_mode(&mut self, deadline: Instant) -> Result<Regs, BackendError> {
        let r = self.target.regs()?;
        if r.cpl() == 3 {
            return Ok(r);
        }
        let info = self.target.client.monitor("info registers")?;
        let idt = parse_idt_base(&info)
            .ok_or_else(|| BackendError::Discovery("no IDT in `info registers`".into()))?;
        // Vector 14 (page fault, with error code) and the local APIC timer
        // (0xec, Linux's LOCAL_TIMER_VECTOR, no error code).
        let mut handlers = Vec::new();
        for (vector, frame_off) in [(14u64, 8u64), (0xec, 0)] {
            let mut gate = [0u8; 16];
            if self.target.read_virt(idt + vector * 16, &mut gate).is_ok() {
                let h = gate_target(&gate);
                if h != 0 && !handlers.iter().any(|&(a, _)| a == h) {
                    handlers.push((h, frame_off));
                }
            }
        }
        if handlers.is_empty() {
            return Err(BackendError::Discovery(format!(
                "unreadable IDT at {idt:#x}"
            )));
        }
        self.log(|| format!("IDT at {idt:#x}, waiting in {handlers:x?}"));
        for &(h, _) in &handlers {
            self.target.insert_bp(h)?;
        }
        let user_rip = loop {
            self.target.resume()?;
            let (_, interrupted) = self.target.wait(Some(deadline), None)?;
            if interrupted {
                self.remove_handlers(&handlers)?;
                return Err(BackendError::Discovery(
                    "no user-mode code ran (is the guest idle?)".into(),
                ));
            }
            let r = self.target.regs()?;
            let found = match handlers.iter().find(|&&(h, _)| h == r.rip()) {
                Some(&(_, off)) => {
                    let mut frame = [0u8; 16];
                    self.target
                        .read_virt(r.rsp().wrapping_add(off), &mut frame)
                        .ok()
                        .map(|_| (decode_le(&frame[..8]), decode_le(&frame[8..]) as u16))
                        .filter(|&(_, cs)| cs & 3 == 3 && cs == USER_CS64)
                        .map(|(rip, _)| rip)
                }
                None if r.cpl() == 3 => Some(r.rip()),
                None => None,
            };
            if let Some(u) = found {
                break u;
            }
            self.target.step()?;
        };
        self.remove_handlers(&handlers)?;
        // The interrupted instruction runs (again) right after the return.
        self.target.insert_bp(user_rip)?;
        let r = loop {
            self.target.resume()?;
            let (_, interrupted) = self.target.wait(Some(deadline), None)?;
            let r = self.target.regs()?;
            if r.cpl() == 3 || interrupted {
                break r;
            }
        };
        self.target.remove_bp(user_rip)?;
        if r.cpl() != 3 {
            return Err(BackendError::Discovery(
                "timed out reaching user mode".into(),
            ));
        }
        Ok(r)
    }

    fn remove_handlers(&mut self, handlers: &[(u64, u64)]) -> Result<(), BackendError> {
        for &(h, _) in handlers {
            self.target.remove_bp(h)?;
        }
        Ok(())
    }

    /// The IDT base (from the monitor's `info registers`) and the handlers
    /// of a few vectors that every x86-64 kernel installs.
    fn idt_handlers(&mut self) -> Result<(u64, Vec<u64>), BackendError> {
        let info = self.target.client.monitor("info registers")?;
        let idt = parse_idt_base(&info)
            .ok_or_else(|| BackendError::Discovery("no IDT in `info registers`".into()))?;
        let mut handlers = Vec::new();
        // Page fault, general protection, int3, int 0x80 and Linux's local
        // APIC timer.
        for vector in [14u64, 13, 3, 0x80, 0xec] {
            let mut gate = [0u8; 16];
            if self.target.read_virt(idt + vector * 16, &mut gate).is_ok() {
                // Present gates only (P, bit 7 of the type byte); a kernel
                // may live in the low half (small test kernels do).
                let h = gate_target(&gate);
                if gate[5] & 0x80 != 0 && h != 0 && !handlers.contains(&h) {
                    handlers.push(h);
                }
            }
        }
        Ok((idt, handlers))
    }

    /// Finds the 64-bit `syscall` entry among the code around the IDT's
    /// handlers (kernels keep their entry code together): candidates are
    /// decoded as a `swapgs` followed by a save of rsp to a per-cpu slot
    /// (Linux's entry_SYSCALL_64 saving the user stack pointer, and
    /// Windows's KiSystemCall64 alike), and one is confirmed only when a
    /// breakpoint on it stops with the state a `syscall` leaves (rcx = a
    /// user address just after a `syscall` instruction).
    /// `None` when no candidate is found or none is confirmed in time.
    fn entry_by_decoding(&mut self, deadline: Instant) -> Result<Option<u64>, BackendError> {
        let (idt, handlers) = match self.idt_handlers() {
            Ok(h) => h,
            Err(e) => {
                self.log(|| format!("no IDT: {e}"));
                return Ok(None);
            }
        };
        let mut candidates: Vec<u64> = Vec::new();
        for &h in &handlers {
            let base = (h & !(SIGNATURE_WINDOW - 1)).wrapping_sub(SIGNATURE_WINDOW);
            let code = self.read_code(base, 3 * SIGNATURE_WINDOW as usize);
            for c in entry_candidates(&code, base) {
                if !candidates.contains(&c) && candidates.len() < MAX_CANDIDATES {
                    candidates.push(c);
                }
            }
        }
        self.log(|| {
            format!("IDT at {idt:#x}, handlers {handlers:x?}, entry candidates {candidates:x?}")
        });
        if candidates.is_empty() {
            return Ok(None);
        }
        // Confirm by observation: give the guest a few seconds to make a
        // system call (any process's), well within the discovery timeout.
        let confirm_until = deadline.min(Instant::now() + CONFIRM_TIME);
        let swapgs_at: Vec<u64> = candidates
            .iter()
            .map(|&c| entry_swapgs(&self.read_code(c, 16), c).unwrap_or(c))
            .collect();
        for &a in &swapgs_at {
            self.target.insert_bp(a)?;
        }
        let found = loop {
            self.target.resume()?;
            let (_, interrupted) = self.target.wait(Some(confirm_until), None)?;
            let r = self.target.regs()?;
            let Some(i) = swapgs_at.iter().position(|&a| a == r.rip()) else {
                if interrupted {
                    break None;
                }
                continue;
            };
            let rcx = r.get(Reg::Rcx);
            let from_syscall =
                r.cpl() == 0 && is_user_addr(rcx) && self.is_syscall_at(rcx.wrapping_sub(2));
            // Leave the stop as if the `swapgs` had run.
            self.target.emulate_swapgs(&r)?;
            if from_syscall {
                break Some(candidates[i]);
            }
            if interrupted {
                break None;
            }
        };
        for &a in &swapgs_at {
            self.target.remove_bp(a)?;
        }
        Ok(found)
    }

    /// Whether the instruction at `a` (in the current address space) is a
    /// 64-bit `syscall`.
    fn is_syscall_at(&mut self, a: u64) -> bool {
        let mut b = [0u8; 2];
        self.target.read_virt(a, &mut b).is_ok()
            && decode_at(&b, a, a).is_some_and(|i| i.mnemonic() == iced_x86::Mnemonic::Syscall)
    }

    /// Reads up to `len` bytes of code at `base`, block by block, skipping
    /// unreadable blocks (left as zeros, which decode as no entry or return path).
    fn read_code(&mut self, base: u64, len: usize) -> Vec<u8> {
        let bs = self.target.block as usize;
        let mut code = vec![0u8; len];
        for chunk in (0..len).step_by(bs) {
            let n = bs.min(len - chunk);
            let _ = self
                .target
                .read_virt(base.wrapping_add(chunk as u64), &mut code[chunk..chunk + n]);
        }
        code
    }

    /// Finds the entry by observation alone: reaches user mode and
    /// single-steps until a 64-bit `syscall` executes; the new rip is
    /// MSR_LSTAR.
    fn entry_by_stepping(&mut self, deadline: Instant) -> Result<u64, BackendError> {
        let mut regs = self.reach_user_mode(deadline)?;
        self.log(|| format!("user mode at {:#x}", regs.rip()));
        loop {
            if Instant::now() >= deadline {
                return Err(BackendError::Discovery(
                    "no 64-bit syscall instruction executed in time".into(),
                ));
            }
            let is_syscall = regs.cs == USER_CS64 && self.is_syscall_at(regs.rip());
            let before = regs.rip();
            self.target.step()?;
            let r = self.target.regs()?;
            if is_syscall {
                if r.cpl() == 0 && r.get(Reg::Rcx) == before.wrapping_add(2) {
                    return Ok(r.rip());
                }
                return Err(BackendError::Discovery(format!(
                    "stepping the syscall at {before:#x} led to {:#x} (cs {:#x})",
                    r.rip(),
                    r.cs
                )));
            }
            regs = if r.cpl() == 3 {
                r
            } else {
                // A fault or another kind of trap: go back to user mode.
                self.reach_user_mode(deadline)?
            };
        }
    }

    /// Finds the entry and return paths (the VM must be stopped; it is
    /// left stopped).
    pub fn discover(&mut self) -> Result<Discovery, BackendError> {
        let started = Instant::now();
        let deadline = started + self.opts.discovery_timeout;
        let by_decoding = match self.opts.entry {
            EntryDiscovery::Step => None,
            _ => self.entry_by_decoding(deadline)?,
        };
        let entry = match (by_decoding, self.opts.entry) {
            (Some(e), _) => e,
            (None, EntryDiscovery::Signature) => {
                return Err(BackendError::Discovery(
                    "no syscall entry decoded near the IDT handlers was confirmed".into(),
                ))
            }
            (None, _) => {
                self.log(|| "stepping a user syscall to find the entry".into());
                self.entry_by_stepping(deadline)?
            }
        };
        self.log(|| format!("syscall entry (LSTAR) {entry:#x}"));
        // Scan the code after the entry, block by block, up to the first
        // unreadable one.
        let mut code = Vec::new();
        let mut buf = vec![0u8; self.target.block as usize];
        while code.len() < SCAN_BYTES {
            let a = entry.wrapping_add(code.len() as u64);
            if self.target.read_virt(a, &mut buf).is_err() {
                break;
            }
            code.extend_from_slice(&buf);
        }
        let entry_bp = entry_swapgs(&code, entry).ok_or_else(|| {
            BackendError::Discovery(format!(
                "the entry {entry:#x} does not start with swapgs (after an optional endbr64): {:02x?}",
                &code[..code.len().min(8)]
            ))
        })?;
        let (sysret, iret) = scan_return_paths(&code, entry);
        // Developer aid: the entry's code as the guest runs it (alternatives
        // patched), the entry address first (8 bytes, little-endian), for
        // the decoder's test fixtures.
        if let Some(path) = std::env::var_os("VSTRACE_GDB_DUMP_CODE") {
            let mut f = entry.to_le_bytes().to_vec();
            f.extend_from_slice(&code);
            if let Err(e) = std::fs::write(&path, f) {
                eprintln!("vstrace: gdb: VSTRACE_GDB_DUMP_CODE: {e}");
            }
        }
        if sysret.is_empty() {
            return Err(BackendError::Discovery(format!(
                "no swapgs leading to sysretq decoded within {} bytes after the entry {entry:#x}",
                code.len()
            )));
        }
        let d = Discovery {
            entry,
            entry_swapgs: entry_bp,
            sysret,
            iret,
            after_call: match self.opts.exits {
                ExitTrap::ReturnPaths => None,
                ExitTrap::Auto => after_handler_call(&code, entry),
            },
            entry_save: entry_save(&code, entry, entry_bp),
            stack_top: entry_save(&code, entry, entry_bp)
                .and_then(|e| stack_top_load(&code, entry, e.after)),
        };
        if d.iret.is_empty() {
            eprintln!("vstrace: warning: the iret return path was not found: calls returning through iret (execve, fork children, signals) show no return");
        }
        self.log(|| format!("{d:x?}"));
        self.log(|| format!("discovery took {:.2} s", started.elapsed().as_secs_f64()));
        Ok(d)
    }

    /// The running kernel's profile (task_struct layout, current task)
    /// found in its memory from the discovered entry point, for guests
    /// whose kernel image is not at hand (see [`scan`]), and checked
    /// against the live task tree. The VM stays stopped; the blocks read
    /// are dropped from the cache afterwards.
    pub fn scan_linux_profile(
        &mut self,
        d: &Discovery,
    ) -> Result<(LinuxProfile, scan::ScanReport), scan::ScanError> {
        let t = Instant::now();
        let r = scan::profile_from_memory(&mut self.target, d.entry, &scan::ScanLimits::default());
        self.target.invalidate();
        let (prof, rep) = r?;
        self.log(|| {
            format!(
                "kernel BTF at {:#x} ({} bytes), symbols {:x?}: {} bytes read in {:.2} s",
                rep.btf_addr,
                rep.btf_len,
                rep.symbols,
                rep.bytes_read,
                t.elapsed().as_secs_f64()
            )
        });
        let regs = self
            .target
            .regs()
            .map_err(|e| scan::ScanError::Unverified(e.to_string()))?;
        let base = vstrace_linux::profile::runtime::percpu_base(&regs).ok_or_else(|| {
            scan::ScanError::Unverified("no kernel per-cpu base in the registers".into())
        })?;
        let cur = scan::verify_live(&mut self.target, &prof, base)?;
        self.log(|| {
            format!(
                "profile checked: current task pid {} ({}), its parents lead to init_task",
                cur.pid, cur.comm
            )
        });
        Ok((prof, rep))
    }

    /// Traces until `stop` is set or `duration` passes, then removes the
    /// breakpoints and leaves the VM running (detaches).
    pub fn trace(
        mut self,
        d: &Discovery,
        engine: &mut Engine,
        stop: &AtomicBool,
        duration: Option<Duration>,
    ) -> Result<RunStats, BackendError> {
        let result = crate::trace::run(&mut self.target, &self.opts, d, engine, stop, duration);
        let detached = self.target.detach();
        let stats = result?;
        detached?;
        Ok(stats)
    }
}
