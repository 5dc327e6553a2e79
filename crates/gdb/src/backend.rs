//! The gdb backend: attach to QEMU's gdbstub (TCG or KVM), find the Linux
//! system call entry and return-to-user instructions by observation, put
//! breakpoints on them and feed each hit to the [`Engine`] as an event.
//!
//! Discovery needs no symbol or user-supplied address:
//! 1. get a user-mode stop: if the VM is not stopped in user mode, break on
//!    the page-fault and timer interrupt handlers (from the IDT, whose base
//!    the monitor's `info registers` shows) until one interrupted user code,
//!    then break on that user instruction;
//! 2. single-step in user mode until the next instruction is a 64-bit
//!    `syscall` and step it: the new rip is MSR_LSTAR, the entry point;
//! 3. scan the code after the entry for `swapgs; sysretq` and for the
//!    `iretq` of the interrupt-return path (they share `.entry.text`).
//!
//! At the entry breakpoint (before `swapgs`) every user register is still
//! intact (rcx = user rip, r11 = user rflags, rsp = user rsp), so the event
//! is built as the user-mode `syscall` trap the plugin reports. At
//! `sysretq` the registers are the returning user ones; at `iretq` the user
//! CS is in the frame at rsp, and only returns to CPL 3 are reported.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use vstrace_core::cpu::CpuError;
use vstrace_core::gdbregs::{
    bitness, decode_le, slot_for_name, store, NSLOTS, SLOT_CS, SLOT_GS_BASE, SLOT_K_GS_BASE,
    SLOT_NAMES,
};
use vstrace_core::mem::{MemError, PhysMem, RamRanges, VirtMem, WalkCache};
use vstrace_core::{Bitness, Cpu, Event, Mechanism, Reg, Regs, Space};
use vstrace_engine::Engine;
use vstrace_linux::profile::{scan, LinuxProfile};

use crate::rsp::{BpKind, Client, RegInfo, RspError, StopKind, StopReply};

/// Errors of the backend.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Rsp(#[from] RspError),
    #[error("register layout: {0}")]
    Layout(String),
    #[error("finding the system call entry: {0}")]
    Discovery(String),
    #[error("no breakpoint could be set at {0:#x}")]
    Breakpoint(u64),
    #[error("the VM exited while attached")]
    TargetExited,
}

/// Linux's (and Windows x64's) 64-bit user code and data selectors.
const USER_CS64: u16 = 0x33;
const USER_SS: u16 = 0x2b;

/// Where one snapshot slot lives: its register number, and its place in
/// the `g` reply when it is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SlotLoc {
    regnum: u32,
    offset: usize,
    len: usize,
}

/// The register layout learnt from the target description.
#[derive(Debug, Clone)]
pub struct Layout {
    slots: [Option<SlotLoc>; NSLOTS],
}

impl Layout {
    /// Builds the layout from the target description's registers (sorted by
    /// regnum; `g` holds them back to back in that order).
    pub fn from_regs(regs: &[RegInfo]) -> Result<Layout, BackendError> {
        let mut slots = [None; NSLOTS];
        let mut offset = 0usize;
        let mut expected = regs.first().map(|r| r.regnum).unwrap_or(0);
        let mut contiguous = true;
        for r in regs {
            contiguous &= r.regnum == expected;
            expected = r.regnum.saturating_add(1);
            let len = (r.bitsize as usize).div_ceil(8);
            if let Some(i) = slot_for_name(&r.name) {
                slots[i] = Some(SlotLoc {
                    regnum: r.regnum,
                    // A gap in numbering breaks `g` offsets: use `p` then.
                    offset: if contiguous { offset } else { usize::MAX },
                    len,
                });
            }
            offset += len;
        }
        for (i, name) in SLOT_NAMES.iter().enumerate().take(SLOT_CS + 1) {
            if slots[i].is_none() {
                return Err(BackendError::Layout(format!(
                    "the target description has no {name} register (not an x86-64 target?)"
                )));
            }
        }
        Ok(Layout { slots })
    }

    /// QEMU's x86-64 layout, for stubs without `qXfer:features:read`.
    pub fn qemu_x86_64() -> Layout {
        Layout::from_regs(&qemu_x86_64_regs()).expect("the built-in layout is complete")
    }

    fn regnum(&self, slot: usize) -> Option<SlotLoc> {
        self.slots.get(slot).copied().flatten()
    }
}

/// The general and system registers of QEMU's x86-64 target description
/// (`i386-64bit.xml`), in its order, up to efer.
pub fn qemu_x86_64_regs() -> Vec<RegInfo> {
    let mut regs = Vec::new();
    let mut n = 0;
    let mut push = |name: &str, bits: u32| {
        regs.push(RegInfo {
            name: name.into(),
            bitsize: bits,
            regnum: n,
        });
        n += 1;
    };
    for name in &SLOT_NAMES[..17] {
        push(name, 64);
    }
    for name in ["eflags", "cs", "ss", "ds", "es", "fs", "gs"] {
        push(name, 32);
    }
    for name in [
        "fs_base",
        "gs_base",
        "k_gs_base",
        "cr0",
        "cr2",
        "cr3",
        "cr4",
        "cr8",
        "efer",
    ] {
        push(name, 64);
    }
    regs
}

/// Memory is fetched and cached in blocks of this size (one `m` each for
/// QEMU, whose packets hold 2 KiB of memory); never crosses a page.
const MAX_BLOCK: u64 = 2048;

/// A stopped (or running) VM behind a gdb connection, with per-stop caches.
pub struct Target {
    client: Client,
    layout: Layout,
    block: u64,
    raw: Option<Vec<u8>>,
    regs: Option<Regs>,
    /// Block-aligned address -> contents (`None`: unreadable).
    cache: HashMap<u64, Option<Vec<u8>>>,
    /// Breakpoints in place.
    bps: Vec<(BpKind, u64)>,
    /// Whether the stub refused a hardware breakpoint: use software ones.
    no_hw: bool,
    /// Guest RAM from `monitor info mtree -f`, asked at the first read in
    /// another address space (empty: unknown, no physical reads).
    ram: Option<RamRanges>,
    /// Translations of other spaces made at this stop.
    walks: WalkCache,
}

impl Target {
    /// Connects, handshakes and learns the register layout. QEMU stops the
    /// VM when a debugger connects.
    pub fn connect(addr: &str) -> Result<Target, BackendError> {
        let client = Client::connect(addr)?;
        Target::new(client)
    }

    pub fn new(mut client: Client) -> Result<Target, BackendError> {
        let layout = if client.supports("qXfer:features:read") {
            Layout::from_regs(&client.registers()?)?
        } else {
            Layout::qemu_x86_64()
        };
        let chunk = client.max_mem_chunk() as u64;
        let mut block = MAX_BLOCK;
        while block > chunk && block > 16 {
            block /= 2;
        }
        Ok(Target {
            client,
            layout,
            block,
            raw: None,
            regs: None,
            cache: HashMap::new(),
            bps: Vec::new(),
            no_hw: false,
            ram: None,
            walks: WalkCache::default(),
        })
    }

    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Forgets everything read at this stop (called before resuming).
    pub fn invalidate(&mut self) {
        self.raw = None;
        self.regs = None;
        self.cache.clear();
        self.walks = WalkCache::default();
    }

    /// The stopped vCPU's registers (one `g` per stop).
    pub fn regs(&mut self) -> Result<Regs, BackendError> {
        if let Some(r) = &self.regs {
            return Ok(r.clone());
        }
        let raw = match self.raw.take() {
            Some(r) => r,
            None => self.client.read_all_registers()?,
        };
        let mut regs = Regs::default();
        for slot in 0..SLOT_NAMES.len() {
            let Some(loc) = self.layout.regnum(slot) else {
                continue;
            };
            let v = match raw.get(loc.offset..loc.offset.saturating_add(loc.len)) {
                Some(b) => decode_le(b),
                // Not in `g` (or `g` is short): ask for it alone.
                None => decode_le(&self.client.read_register(loc.regnum)?),
            };
            store(&mut regs, slot, v);
        }
        self.raw = Some(raw);
        self.regs = Some(regs.clone());
        Ok(regs)
    }

    /// Writes a general register (`P`), full 64-bit value.
    pub fn write_reg(&mut self, reg: Reg, value: u64) -> Result<(), BackendError> {
        let loc = self
            .layout
            .regnum(reg as usize)
            .ok_or_else(|| BackendError::Layout(format!("no {} register", reg.name(true))))?;
        let bytes = value.to_le_bytes();
        let n = loc.len.min(8);
        self.client.write_register(loc.regnum, &bytes[..n])?;
        self.raw = None;
        if let Some(r) = &mut self.regs {
            r.set(reg, value);
        }
        Ok(())
    }

    fn block_at(&mut self, base: u64) -> Option<&[u8]> {
        if !self.cache.contains_key(&base) {
            let mut buf = vec![0u8; self.block as usize];
            let v = self.client.read_memory(base, &mut buf).ok().map(|_| buf);
            self.cache.insert(base, v);
        }
        self.cache.get(&base).and_then(|b| b.as_deref())
    }

    /// Inserts a breakpoint, hardware first, software when refused.
    pub fn insert_bp(&mut self, addr: u64) -> Result<(), BackendError> {
        if !self.no_hw {
            if self.client.insert_breakpoint(BpKind::Hardware, addr)? {
                self.bps.push((BpKind::Hardware, addr));
                return Ok(());
            }
            self.no_hw = true;
        }
        if self.client.insert_breakpoint(BpKind::Software, addr)? {
            self.bps.push((BpKind::Software, addr));
            return Ok(());
        }
        Err(BackendError::Breakpoint(addr))
    }

    /// Inserts an 8-byte write watchpoint; `Ok(false)` when refused.
    pub fn insert_watch(&mut self, addr: u64) -> Result<bool, BackendError> {
        if self.client.insert_breakpoint(BpKind::WriteWatch, addr)? {
            self.bps.push((BpKind::WriteWatch, addr));
            return Ok(true);
        }
        Ok(false)
    }

    /// Each vCPU's kernel GS base (per-cpu area / KPCR), visiting the
    /// stub's threads (QEMU: one per vCPU, numbered from 1) with `Hg`.
    /// The VM must be stopped.
    pub fn kernel_gs_bases(&mut self) -> Result<Vec<u64>, BackendError> {
        let mut out = Vec::new();
        for thread in 1..=MAX_VCPUS {
            if self.client.set_thread('g', thread).is_err() {
                break;
            }
            self.invalidate();
            let r = self.regs()?;
            let b = kernel_gs_base(&r);
            if std::env::var_os("VSTRACE_GDB_DUMP").is_some() {
                eprintln!(
                    "vstrace: gdb: thread {thread}: cpl {} gs {:#x} kgs {:#x}",
                    r.cpl(),
                    r.gs_base,
                    r.k_gs_base
                );
            }
            out.push(b);
        }
        self.invalidate();
        if out.is_empty() {
            // A stub without threads: the stopped vCPU only.
            let r = self.regs()?;
            out.push(kernel_gs_base(&r));
        } else {
            // Back to the first vCPU (the next stop selects its own).
            let _ = self.client.set_thread('g', 1);
        }
        Ok(out)
    }

    /// Removes the breakpoint at `addr`, if one is set.
    pub fn remove_bp(&mut self, addr: u64) -> Result<(), BackendError> {
        if let Some(i) = self.bps.iter().position(|b| b.1 == addr) {
            let (k, a) = self.bps.remove(i);
            self.client.remove_breakpoint(k, a)?;
        }
        Ok(())
    }

    /// Inserts (`on`) or removes each breakpoint of `addrs`.
    pub fn set_bps(&mut self, addrs: &[u64], on: bool) -> Result<(), BackendError> {
        for &a in addrs {
            if on {
                self.insert_bp(a)?;
            } else {
                self.remove_bp(a)?;
            }
        }
        Ok(())
    }

    /// Removes every breakpoint we set.
    pub fn remove_all_bps(&mut self) -> Result<(), BackendError> {
        let mut first = Ok(());
        for (k, a) in std::mem::take(&mut self.bps) {
            if let Err(e) = self.client.remove_breakpoint(k, a) {
                if first.is_ok() {
                    first = Err(e.into());
                }
            }
        }
        first
    }

    /// Resumes all vCPUs.
    pub fn resume(&mut self) -> Result<(), BackendError> {
        self.invalidate();
        self.client.resume()?;
        Ok(())
    }

    /// Single-steps the stopped vCPU and waits for it.
    pub fn step(&mut self) -> Result<StopReply, BackendError> {
        self.invalidate();
        let s = self.client.step_and_wait()?;
        exited(&s)?;
        Ok(s)
    }

    /// Waits for the next stop; at `deadline` (or when `stop` is set)
    /// interrupts the VM and returns that stop with `true`.
    pub fn wait(
        &mut self,
        deadline: Option<Instant>,
        stop: Option<&AtomicBool>,
    ) -> Result<(StopReply, bool), BackendError> {
        loop {
            let slice = Instant::now() + Duration::from_millis(100);
            let until = deadline.map_or(slice, |d| d.min(slice));
            if let Some(s) = self.client.wait_stop(Some(until))? {
                exited(&s)?;
                return Ok((s, false));
            }
            let now = Instant::now();
            let asked = stop.is_some_and(|s| s.load(Ordering::SeqCst));
            if asked || deadline.is_some_and(|d| now >= d) {
                self.client.interrupt()?;
                let s = self
                    .client
                    .wait_stop(Some(now + Duration::from_secs(10)))?
                    .ok_or(RspError::Timeout(Duration::from_secs(10)))?;
                exited(&s)?;
                return Ok((s, true));
            }
        }
    }

    /// Removes every breakpoint and detaches: the VM keeps running.
    pub fn detach(mut self) -> Result<(), BackendError> {
        // A stop reply racing our interrupt would be taken for a reply.
        while self
            .client
            .recv(Some(Instant::now() + Duration::from_millis(50)))?
            .is_some()
        {}
        let removed = self.remove_all_bps();
        self.client.detach()?;
        removed
    }
}

fn exited(s: &StopReply) -> Result<(), BackendError> {
    match s.kind {
        StopKind::Exited(_) | StopKind::Terminated(_) => Err(BackendError::TargetExited),
        StopKind::Signal(_) => Ok(()),
    }
}

impl VirtMem for Target {
    fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let bs = self.block;
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr
                .checked_add(done as u64)
                .ok_or(MemError::Unmapped(addr))?;
            let base = a & !(bs - 1);
            let off = (a - base) as usize;
            let n = (bs as usize - off).min(buf.len() - done);
            let block = self.block_at(base).ok_or(MemError::Unmapped(a))?;
            buf[done..done + n].copy_from_slice(&block[off..off + n]);
            done += n;
        }
        Ok(())
    }

    fn write_virt(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError> {
        self.client
            .write_memory(addr, data)
            .map_err(|e| MemError::Other {
                addr,
                reason: e.to_string(),
            })?;
        // Drop the cached blocks the write touched (and translations: the
        // write may have been to a page table).
        self.walks = WalkCache::default();
        let bs = self.block;
        let end = addr.saturating_add(data.len() as u64);
        let mut b = addr & !(bs - 1);
        while b < end {
            self.cache.remove(&b);
            b = match b.checked_add(bs) {
                Some(n) => n,
                None => break,
            };
        }
        Ok(())
    }
    fn read_virt_in(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        if self.ram().is_empty() {
            return Err(MemError::NoOtherSpace(addr));
        }
        let fail = |e: RspError| MemError::Other {
            addr,
            reason: e.to_string(),
        };
        self.client.set_phys_mem_mode(true).map_err(fail)?;
        let mut phys = StubPhys {
            client: &mut self.client,
            ram: self.ram.get_or_insert_with(RamRanges::default),
        };
        let r = self.walks.read(&mut phys, space, addr, buf);
        // Back to virtual mode whatever happened: every other access
        // expects it.
        self.client.set_phys_mem_mode(false).map_err(fail)?;
        r
    }
}

/// Guest RAM through the stub's physical mode (`qqemu.PhyMemMode` must be
/// on), bounded to the RAM ranges.
struct StubPhys<'a> {
    client: &'a mut Client,
    ram: &'a RamRanges,
}

impl PhysMem for StubPhys<'_> {
    fn read_phys(&mut self, pa: u64, buf: &mut [u8]) -> Result<(), MemError> {
        if !self.ram.contains(pa, buf.len() as u64) {
            return Err(MemError::BadPhys(pa));
        }
        self.client
            .read_memory(pa, buf)
            .map_err(|_| MemError::BadPhys(pa))
    }
    fn write_phys(&mut self, pa: u64, _data: &[u8]) -> Result<(), MemError> {
        Err(MemError::ReadOnly(pa))
    }
}

impl Target {
    /// The guest's RAM ranges, asked of QEMU's monitor once.
    fn ram(&mut self) -> &RamRanges {
        self.ram.get_or_insert_with(|| {
            let text = self.client.monitor("info mtree -f").unwrap_or_default();
            crate::ram::parse_ram_ranges(&text)
        })
    }
}

/// Where the registers of an event live while the vCPU is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// In the vCPU's registers (the `sysretq`/`iretq` paths).
    Live,
    /// In the registers, at the `syscall` entry: the snapshot's rip and
    /// rflags live in rcx and r11.
    Entry,
    /// As [`Frame::Entry`], just after the entry saved rsp to this per-cpu
    /// slot (a watchpoint stop): the kernel takes the user rsp from there.
    EntrySaved(u64),
    /// In the kernel's `struct pt_regs` at this address (after the call to
    /// the C handler): the kernel restores the user registers from it.
    PtRegs(u64),
}

/// Offsets of the general registers in x86-64 Linux's `struct pt_regs`.
fn pt_regs_offset(reg: Reg) -> u64 {
    8 * match reg {
        Reg::R15 => 0,
        Reg::R14 => 1,
        Reg::R13 => 2,
        Reg::R12 => 3,
        Reg::Rbp => 4,
        Reg::Rbx => 5,
        Reg::R11 => 6,
        Reg::R10 => 7,
        Reg::R9 => 8,
        Reg::R8 => 9,
        Reg::Rax => 10,
        Reg::Rcx => 11,
        Reg::Rdx => 12,
        Reg::Rsi => 13,
        Reg::Rdi => 14,
        Reg::Rip => 16,
        Reg::Rflags => 18,
        Reg::Rsp => 19,
    }
}

/// Where orig_ax (the system call number) is in pt_regs.
const PT_REGS_ORIG_AX: usize = 15 * 8;
/// `struct pt_regs` size: 15 registers, orig_ax and the 5-slot iret frame.
const PT_REGS_SIZE: usize = 21 * 8;
/// Where the iret frame (ip, cs, flags, sp, ss) starts in pt_regs.
const PT_REGS_FRAME: u64 = 16 * 8;

/// The exit snapshot at the return from the C syscall handler: the user
/// registers as the kernel will restore them, from `pt_regs` (read at the
/// kernel's rsp), shaped like an `iretq` stop (rsp at the frame, which the
/// engine reads for the return address and stack) with the user GS base.
pub fn pt_regs_snapshot(r: &Regs, pt: &[u8; PT_REGS_SIZE]) -> Regs {
    let q = |off: u64| decode_le(&pt[off as usize..off as usize + 8]);
    let mut u = r.clone();
    for reg in Reg::ALL {
        if !matches!(reg, Reg::Rsp | Reg::Rip) {
            u.set(reg, q(pt_regs_offset(reg)));
        }
    }
    u.set(Reg::Rsp, r.rsp().wrapping_add(PT_REGS_FRAME));
    u.cs = q(PT_REGS_FRAME + 8) as u16;
    u.ss = q(PT_REGS_FRAME + 32) as u16;
    std::mem::swap(&mut u.gs_base, &mut u.k_gs_base);
    u
}

/// A stopped vCPU lent to the engine for one event.
struct GdbCpu<'t> {
    target: &'t mut Target,
    regs: Regs,
    frame: Frame,
}

impl Cpu for GdbCpu<'_> {
    fn regs(&self) -> &Regs {
        &self.regs
    }

    fn write_reg(&mut self, reg: Reg, value: u64) -> Result<(), CpuError> {
        let failed = |e: String| CpuError::WriteFailed { reg, reason: e };
        // The kernel reads the registers after we resume: a write here has
        // pre-trap semantics.
        match self.frame {
            Frame::PtRegs(at) => {
                let a = at.wrapping_add(pt_regs_offset(reg));
                self.target
                    .write_virt(a, &value.to_le_bytes())
                    .map_err(|e| failed(e.to_string()))?;
            }
            Frame::Entry | Frame::EntrySaved(_) | Frame::Live => {
                let entry = self.frame != Frame::Live;
                let (target_reg, raw) = match (entry, reg) {
                    (true, Reg::Rip) => (Reg::Rcx, value.wrapping_add(2)),
                    (true, Reg::Rflags) => (Reg::R11, value),
                    _ => (reg, value),
                };
                if let (Frame::EntrySaved(slot), Reg::Rsp) = (self.frame, reg) {
                    self.target
                        .write_virt(slot, &value.to_le_bytes())
                        .map_err(|e| failed(e.to_string()))?;
                }
                self.target
                    .write_reg(target_reg, raw)
                    .map_err(|e| failed(e.to_string()))?;
                if target_reg != reg {
                    self.regs.set(target_reg, raw);
                }
            }
        }
        self.regs.set(reg, value);
        Ok(())
    }

    fn mem(&mut self) -> &mut dyn VirtMem {
        self.target
    }
}

/// The breakpoint addresses found by discovery. Every breakpoint sits on
/// a `swapgs`, which the backend emulates to resume (swap the two GS bases,
/// skip 3 bytes): one stop per event, no single-step (which costs QEMU TCG
/// a flush of all translated code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// MSR_LSTAR: the 64-bit `syscall` entry.
    pub entry: u64,
    /// The entry's `swapgs` (LSTAR, or LSTAR + 4 after an `endbr64`).
    pub entry_swapgs: u64,
    /// The `swapgs` right before each `sysretq`.
    pub sysret: Vec<u64>,
    /// The `swapgs` of the return-to-user path that jumps to the `iretq`
    /// (rsp points at the user iret frame there).
    pub iret: Vec<u64>,
    /// The return address of the entry's call to the C syscall handler
    /// (`do_syscall_64`), where rsp points at `struct pt_regs`: one
    /// breakpoint there sees every system call return, and nothing else
    /// (no page fault or interrupt returns). The `iret` path is then
    /// trapped only for the first return of fork children.
    pub after_call: Option<AfterCall>,
    /// The entry's save of the user stack pointer to a per-cpu slot
    /// (`mov %rsp, %gs:disp32` right after the `swapgs`): a write
    /// watchpoint on that slot stops at every system call entry without
    /// a breakpoint (see [`EntryTrap`]).
    pub entry_save: Option<EntrySave>,
    /// The per-cpu slot of the kernel stack top that the entry loads
    /// next (`mov %gs:disp32, %rsp`): with it, each call's `struct
    /// pt_regs` is known at its entry and a write watchpoint on its `ax`
    /// slot stops at the call's return value (see [`AttachOptions`]).
    pub stack_top: Option<i32>,
}

/// The first `mov %gs:disp32, %rsp` within 64 bytes after `from` in
/// `code` (which starts at `base`): the entry's switch to the kernel stack.
pub fn stack_top_load(code: &[u8], base: u64, from: u64) -> Option<i32> {
    const MOV_GS_TO_RSP: [u8; 5] = [0x65, 0x48, 0x8b, 0x24, 0x25];
    let i = usize::try_from(from.checked_sub(base)?).ok()?;
    let window = code.get(i..code.len().min(i + 64 + 9))?;
    let at = window.windows(9).position(|w| w[..5] == MOV_GS_TO_RSP)?;
    Some(i32::from_le_bytes(window[at + 5..at + 9].try_into().ok()?))
}

/// The entry's `mov %rsp, %gs:disp32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntrySave {
    /// The slot's offset from the kernel GS base (per-cpu area / KPCR).
    pub disp: i32,
    /// The address of the next instruction: where a watchpoint stop lands.
    pub after: u64,
}

/// The `mov %rsp, %gs:disp32` right after the entry's `swapgs` at
/// `swapgs_at`, in `code` (which starts at `base`).
pub fn entry_save(code: &[u8], base: u64, swapgs_at: u64) -> Option<EntrySave> {
    const MOV_RSP_TO_GS: [u8; 5] = [0x65, 0x48, 0x89, 0x24, 0x25];
    let i = usize::try_from(swapgs_at.checked_sub(base)?)
        .ok()?
        .checked_add(3)?;
    let insn = code.get(i..i.checked_add(9)?)?;
    if insn[..5] != MOV_RSP_TO_GS {
        return None;
    }
    Some(EntrySave {
        disp: i32::from_le_bytes(insn[5..9].try_into().ok()?),
        after: swapgs_at.wrapping_add(3 + 9),
    })
}

/// The kernel's GS base of a stopped vCPU (0: none seen): the one of GS
/// base / kernel GS base in the kernel half. A vCPU can be in kernel mode
/// with the user's base still loaded (stopped before its entry `swapgs`).
fn kernel_gs_base(r: &Regs) -> u64 {
    let kernel = |a: u64| a >> 47 == 0x1_ffff;
    match (kernel(r.gs_base), kernel(r.k_gs_base)) {
        (true, false) => r.gs_base,
        (false, true) => r.k_gs_base,
        (true, true) if r.cpl() == 0 => r.gs_base,
        (true, true) => r.k_gs_base,
        (false, false) => 0,
    }
}

/// Threads (vCPUs) visited for their GS bases.
const MAX_VCPUS: u64 = 256;

/// How many bytes of code after the entry are scanned for return paths.
pub const SCAN_BYTES: usize = 64 << 10;

const SWAPGS: [u8; 3] = [0x0f, 0x01, 0xf8];
const ENDBR64: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];

/// Where the entry's `swapgs` is, given the code at LSTAR.
pub fn entry_swapgs(code: &[u8], lstar: u64) -> Option<u64> {
    if code.starts_with(&SWAPGS) {
        Some(lstar)
    } else if code.starts_with(&ENDBR64) && code[4..].starts_with(&SWAPGS) {
        Some(lstar.wrapping_add(4))
    } else {
        None
    }
}

/// The signature search covers this much code on each side of (and
/// around) each IDT handler's 64 KiB block.
const SIGNATURE_WINDOW: u64 = 64 << 10;
/// At most this many signature candidates get a breakpoint (hardware
/// breakpoints are scarce under KVM).
const MAX_CANDIDATES: usize = 2;
/// Enters in a row that needed no exit before the return paths are
/// disarmed.
const IDLE_ENTERS: u32 = 8;

/// How long a candidate entry may wait for its confirming `syscall`.
const CONFIRM_TIME: Duration = Duration::from_secs(10);

/// Addresses in `code` (which starts at `base`) that look like a 64-bit
/// `syscall` entry point: an optional `endbr64`, then `swapgs` and
/// `mov %rsp, %gs:disp32` (`65 48 89 24 25`), the save of the user stack
/// pointer that such an entry must do before it can use a stack.
pub fn entry_candidates(code: &[u8], base: u64) -> Vec<u64> {
    const SIG: [u8; 8] = [0x0f, 0x01, 0xf8, 0x65, 0x48, 0x89, 0x24, 0x25];
    let mut out = Vec::new();
    for (i, w) in code.windows(SIG.len()).enumerate() {
        if w != SIG {
            continue;
        }
        let start = if i >= 4 && code[i - 4..i] == ENDBR64 {
            i - 4
        } else {
            i
        };
        out.push(base.wrapping_add(start as u64));
    }
    out
}

/// Length of the no-op at the start of `w`: `nop`, `66 90` and the
/// multi-byte `0f 1f /0` forms (with an optional `66` or `2e` prefix) that
/// the kernel patches into disabled alternatives.
fn nop_len(w: &[u8]) -> Option<usize> {
    let prefixes = w.iter().take_while(|&&b| b == 0x66 || b == 0x2e).count();
    let rest = w.get(prefixes..)?;
    let body = match rest {
        [0x90, ..] => 1,
        [0x0f, 0x1f, modrm, ..] => {
            // ModRM with a SIB byte (rm = 100) and an 8- or 32-bit
            // displacement (mod = 01 / 10).
            let m = modrm >> 6;
            let sib = usize::from(modrm & 7 == 4 && m != 3);
            let disp = match m {
                1 => 1,
                2 => 4,
                _ => 0,
            };
            3 + sib + disp
        }
        _ => return None,
    };
    (prefixes + body <= w.len()).then_some(prefixes + body)
}

/// How the backend moves a vCPU stopped at [`AfterCall::addr`] past the
/// breakpoint without single-stepping: it performs the instruction there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterCallStep {
    /// A run of no-ops this long.
    Skip(u8),
    /// `mov disp8(%rsp), %rcx` (5 bytes).
    MovRcx(u8),
    /// `test %al, %al` (2 bytes).
    TestAl,
}

/// Where the entry's call to the C syscall handler returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterCall {
    pub addr: u64,
    pub step: AfterCallStep,
}

/// The return address of the entry's call to the C syscall handler, in
/// `code` (the entry's code, at `base`): the first `call rel32` after
/// `mov %rsp, %rdi` (pt_regs as the first argument) whose return lands,
/// past no-ops, on code that examines the result the way Linux does:
/// `mov 0x58(%rsp), %rcx` (6.1: regs->cx for the sysret checks) or
/// `test %al, %al` (6.2+: the handler says whether sysret may be used).
pub fn after_handler_call(code: &[u8], base: u64) -> Option<AfterCall> {
    const MOV_RSP_RDI: [u8; 3] = [0x48, 0x89, 0xe7];
    const MOV_RCX: [u8; 4] = [0x48, 0x8b, 0x4c, 0x24];
    let window = &code[..code.len().min(1024)];
    let start = window.windows(3).position(|w| w == MOV_RSP_RDI)? + 3;
    let mut i = start;
    while i + 5 <= window.len() && i < start + 256 {
        if window[i] != 0xe8 {
            i += 1;
            continue;
        }
        let ret = i + 5;
        let mut j = ret;
        while let Some(n) = window.get(j..).and_then(nop_len) {
            j += n;
        }
        let w = window.get(j..).unwrap_or(&[]);
        let next = if w.starts_with(&MOV_RCX) && w.get(4) == Some(&0x58) {
            Some(AfterCallStep::MovRcx(0x58))
        } else if w.starts_with(&[0x84, 0xc0]) {
            Some(AfterCallStep::TestAl)
        } else {
            None
        };
        if let Some(next) = next {
            let step = match u8::try_from(j - ret) {
                Ok(0) => next,
                Ok(n) => AfterCallStep::Skip(n),
                Err(_) => return None,
            };
            return Some(AfterCall {
                addr: base.wrapping_add(ret as u64),
                step,
            });
        }
        i += 1;
    }
    None
}

/// Performs the instruction at an [`AfterCall`] breakpoint (see
/// [`AfterCallStep`]) so the vCPU resumes past it.
fn emulate_after_call(t: &mut Target, r: &Regs, ac: &AfterCall) -> Result<(), BackendError> {
    let (len, write) = match ac.step {
        AfterCallStep::Skip(n) => (u64::from(n), None),
        AfterCallStep::MovRcx(d) => {
            let mut v = [0u8; 8];
            t.read_virt(r.rsp().wrapping_add(u64::from(d)), &mut v)
                .map_err(|e| BackendError::Discovery(format!("reading pt_regs: {e}")))?;
            (5, Some((Reg::Rcx, u64::from_le_bytes(v))))
        }
        AfterCallStep::TestAl => (2, Some((Reg::Rflags, test_al_flags(r)))),
    };
    if let Some((reg, v)) = write {
        t.write_reg(reg, v)?;
    }
    t.write_reg(Reg::Rip, r.rip().wrapping_add(len))?;
    t.invalidate();
    Ok(())
}

/// rflags after `test %al, %al`: CF = OF = 0, ZF, SF and PF from al (AF is
/// undefined and kept).
fn test_al_flags(r: &Regs) -> u64 {
    const CF: u64 = 1;
    const PF: u64 = 1 << 2;
    const ZF: u64 = 1 << 6;
    const SF: u64 = 1 << 7;
    const OF: u64 = 1 << 11;
    let al = (r.rax() & 0xff) as u8;
    let mut f = r.get(Reg::Rflags) & !(CF | PF | ZF | SF | OF);
    if al == 0 {
        f |= ZF;
    }
    if al & 0x80 != 0 {
        f |= SF;
    }
    if al.count_ones() % 2 == 0 {
        f |= PF;
    }
    f
}

/// Where execution goes after the `swapgs` at `i`: through at most four
/// unconditional jumps (`eb`, `e9`) and `verw` (the MDS buffer clearing
/// the kernel patches in or jumps over), to the first other instruction.
fn after_swapgs_path(code: &[u8], i: usize) -> Option<usize> {
    let mut pos = i as i64 + 3;
    for _ in 0..4 {
        let w = code.get(usize::try_from(pos).ok()?..)?;
        pos = match w {
            [0xeb, d, ..] => pos + 2 + *d as i8 as i64,
            [0xe9, a, b, c, d, ..] => pos + 5 + i32::from_le_bytes([*a, *b, *c, *d]) as i64,
            [0x0f, 0x00, 0x2d, _, _, _, _, ..] => pos + 7,
            _ => return usize::try_from(pos).ok(),
        };
    }
    None
}

/// Finds, in `code` (which starts at `base`), the `swapgs` that leads to
/// each `sysretq`, and the `swapgs` that leads to the interrupt-return
/// `iretq` (recognised by the ESPFIX check before it, `testb $4,
/// SS-RIP(%rsp); jnz`, or a bare `iretq` when there is no check).
pub fn scan_return_paths(code: &[u8], base: u64) -> (Vec<u64>, Vec<u64>) {
    let at = |i: usize| base.wrapping_add(i as u64);
    let espfix = [0xf6, 0x44, 0x24, 0x20, 0x04, 0x75];
    let mut sysret = Vec::new();
    let mut iret = Vec::new();
    for i in 0..code.len() {
        if !code[i..].starts_with(&SWAPGS) {
            continue;
        }
        let Some(dest) = after_swapgs_path(code, i) else {
            continue;
        };
        let w = &code[dest..];
        let is_iret = (w.starts_with(&espfix) && w.get(7..9) == Some(&[0x48, 0xcf][..]))
            || w.starts_with(&[0x48, 0xcf]);
        if w.starts_with(&[0x48, 0x0f, 0x07]) && sysret.len() < 2 {
            sysret.push(at(i));
        } else if is_iret && iret.len() < 2 {
            iret.push(at(i));
        }
    }
    (sysret, iret)
}

/// The IDT base from the monitor's `info registers` output.
pub fn parse_idt_base(info: &str) -> Option<u64> {
    let line = info.lines().find(|l| l.trim_start().starts_with("IDT="))?;
    let v = line
        .trim_start()
        .strip_prefix("IDT=")?
        .split_whitespace()
        .next()?;
    u64::from_str_radix(v, 16).ok()
}

/// The handler address of a 16-byte long-mode IDT gate.
pub fn gate_target(gate: &[u8; 16]) -> u64 {
    let lo = u16::from_le_bytes([gate[0], gate[1]]) as u64;
    let mid = u16::from_le_bytes([gate[6], gate[7]]) as u64;
    let hi = u32::from_le_bytes([gate[8], gate[9], gate[10], gate[11]]) as u64;
    lo | mid << 16 | hi << 32
}

/// The event snapshot at the entry breakpoint: the user-mode state just
/// before the `syscall` instruction (rip = rcx - 2, rflags = r11).
pub fn entry_snapshot(mut r: Regs) -> Regs {
    let user_rip = r.get(Reg::Rcx).wrapping_sub(2);
    let user_flags = r.get(Reg::R11);
    r.set(Reg::Rip, user_rip);
    r.set(Reg::Rflags, user_flags);
    r.cs = USER_CS64;
    r.ss = USER_SS;
    r
}

fn is_user_addr(a: u64) -> bool {
    a < 0x0000_8000_0000_0000
}

/// How the system call entry is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EntryDiscovery {
    /// The entry's code signature near the IDT handlers, confirmed by a
    /// breakpoint hit; single-stepping a user `syscall` when that fails.
    #[default]
    Auto,
    /// Only the confirmed signature.
    Signature,
    /// Only single-stepping a user `syscall` (needs no knowledge of the
    /// entry's code; waits for an interrupt or fault in user mode).
    Step,
}

/// Where system call returns are trapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExitTrap {
    /// At the return of the entry's call to the C handler when it is
    /// recognised (only system calls stop there), else at the return paths.
    #[default]
    Auto,
    /// At the `swapgs` before `sysretq` and `iretq` (every return to user
    /// mode, page faults and interrupts included).
    ReturnPaths,
}

/// How system call entries stop the vCPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EntryTrap {
    /// A write watchpoint on the slot of the entry's user stack pointer
    /// save, when the entry has one, the guest has one vCPU and the stub
    /// takes it; else a breakpoint. QEMU's gdbstub flushes all of TCG's translated code at
    /// every breakpoint stop, not at watchpoint stops.
    #[default]
    Auto,
    /// Only the watchpoint (an error when it cannot be set).
    Watch,
    /// A breakpoint on the entry's `swapgs`.
    Breakpoint,
}

/// How a vCPU stopped on a breakpoint is moved past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResumeBy {
    /// The backend performs the instruction under the breakpoint (a
    /// `swapgs`, or the no-op / move / test after the handler call) by
    /// writing registers: one stop per event.
    #[default]
    Emulating,
    /// Remove the breakpoint, single-step, reinsert it: what a plain
    /// debugger does, two stops per event and, under QEMU TCG, two
    /// flushes of all translated code. Kept as the baseline for the
    /// benchmark.
    Stepping,
}

/// Options of an attach session.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    /// How to resume past a breakpoint.
    pub resume: ResumeBy,
    /// How to find the system call entry.
    pub entry: EntryDiscovery,
    /// Where returns are trapped.
    pub exits: ExitTrap,
    /// How entries are trapped.
    pub entry_trap: EntryTrap,
    /// Linux guests with watchpoint entries: trap each call's return by a
    /// write watchpoint on its `pt_regs->ax` (armed at its entry, removed
    /// at its return) instead of the breakpoint after the handler call.
    pub exit_watch: bool,
    /// Give up discovery after this long.
    pub discovery_timeout: Duration,
    /// Progress messages on stderr.
    pub verbose: bool,
}

impl Default for AttachOptions {
    fn default() -> Self {
        AttachOptions {
            resume: ResumeBy::Emulating,
            entry: EntryDiscovery::Auto,
            exits: ExitTrap::Auto,
            entry_trap: EntryTrap::Auto,
            exit_watch: false,
            discovery_timeout: Duration::from_secs(60),
            verbose: false,
        }
    }
}

/// Counters of a tracing session.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    /// Breakpoint and watchpoint stops handled.
    pub stops: u64,
    /// Whether entries were trapped by watchpoints.
    pub entry_watch: bool,
    /// Events given to the engine.
    pub events: u64,
    pub enters: u64,
    pub exits: u64,
    /// `iretq` stops returning to the kernel (not reported).
    pub kernel_irets: u64,
    /// gdb request/reply exchanges during tracing.
    pub exchanges: u64,
    /// Times the return-path breakpoints were inserted or removed (they
    /// are armed only while a call is in flight).
    pub exit_toggles: u64,
    /// Time spent from resuming the VM to its next stop (guest execution
    /// plus QEMU's resume and stop), the rest being ours.
    pub running: Duration,
    pub elapsed: Duration,
}

/// An attached session.
pub struct Backend {
    pub target: Target,
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
    /// handlers (kernels keep their entry code together): candidates start
    /// with `swapgs; mov %rsp, %gs:ABS` (Linux's entry_SYSCALL_64 saving the
    /// user stack pointer, and Windows's KiSystemCall64 alike), and one is
    /// confirmed only when a breakpoint on it stops with the state a
    /// `syscall` leaves (rcx = a user address just after `0f 05`).
    /// `None` when no candidate is found or none is confirmed in time.
    fn entry_by_signature(&mut self, deadline: Instant) -> Result<Option<u64>, BackendError> {
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
            .map(|&c| c + if self.starts_with_endbr(c) { 4 } else { 0 })
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
            let mut insn = [0u8; 2];
            let from_syscall = r.cpl() == 0
                && is_user_addr(rcx)
                && self
                    .target
                    .read_virt(rcx.wrapping_sub(2), &mut insn)
                    .is_ok()
                && insn == [0x0f, 0x05];
            // Leave the stop as if the `swapgs` had run.
            emulate_swapgs(&mut self.target, &r)?;
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

    fn starts_with_endbr(&mut self, a: u64) -> bool {
        let mut b = [0u8; 4];
        self.target.read_virt(a, &mut b).is_ok() && b == ENDBR64
    }

    /// Reads up to `len` bytes of code at `base`, block by block, skipping
    /// unreadable blocks (left as zeros, which match no signature).
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
            let mut insn = [0u8; 2];
            let is_syscall = regs.cs == USER_CS64
                && self.target.read_virt(regs.rip(), &mut insn).is_ok()
                && insn == [0x0f, 0x05];
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
        let deadline = Instant::now() + self.opts.discovery_timeout;
        let by_signature = match self.opts.entry {
            EntryDiscovery::Step => None,
            _ => self.entry_by_signature(deadline)?,
        };
        let entry = match (by_signature, self.opts.entry) {
            (Some(e), _) => e,
            (None, EntryDiscovery::Signature) => {
                return Err(BackendError::Discovery(
                    "no syscall entry signature near the IDT handlers was confirmed".into(),
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
                "the entry {entry:#x} does not start with swapgs: {:02x?}",
                &code[..code.len().min(8)]
            ))
        })?;
        let (sysret, iret) = scan_return_paths(&code, entry);
        if std::env::var_os("VSTRACE_GDB_DUMP").is_some() {
            for pat in [&[0x48u8, 0x0f, 0x07][..], &[0x48, 0xcf][..]] {
                for (i, _) in code
                    .windows(pat.len())
                    .enumerate()
                    .filter(|(_, w)| *w == pat)
                    .take(3)
                {
                    let lo = i.saturating_sub(48);
                    eprintln!(
                        "{:#x}: {:02x?}",
                        entry + lo as u64,
                        &code[lo..(i + 8).min(code.len())]
                    );
                }
            }
        }
        if sysret.is_empty() {
            return Err(BackendError::Discovery(format!(
                "no swapgs; sysretq within {} bytes after the entry {entry:#x}",
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
        let result = self.trace_inner(d, engine, stop, duration);
        let detached = self.target.detach();
        let stats = result?;
        detached?;
        Ok(stats)
    }

    fn trace_inner(
        &mut self,
        d: &Discovery,
        engine: &mut Engine,
        stop: &AtomicBool,
        duration: Option<Duration>,
    ) -> Result<RunStats, BackendError> {
        // Developer aid: the first stops, raw.
        let verbose = std::env::var_os("VSTRACE_GDB_DUMP").is_some();
        let t = &mut self.target;
        let entry = arm_entry(t, d, self.opts.entry_trap, self.opts.verbose)?;
        if self.opts.verbose {
            match entry.watch {
                Some(w) => eprintln!(
                    "vstrace: gdb: entries trapped by write watchpoints at {:x?} (gs:{:#x})",
                    entry.traps, w.disp
                ),
                None => eprintln!(
                    "vstrace: gdb: entries trapped by a breakpoint at {:#x}",
                    d.entry_swapgs
                ),
            }
        }

        // Returns are trapped only while one can matter: each stop costs
        // QEMU TCG a flush of all translated code, and a KVM guest a VM
        // exit and a pause of every vCPU. With the after-call trap, the
        // iret path is needed only for fork children's first returns.
        // Returns by watchpoints on each call's pt_regs->ax (Linux, with
        // watchpoint entries and the handler call recognised): no
        // breakpoint stop, hence no TCG flush, on the common path.
        let ax_watch = match (self.opts.exit_watch, entry.watch, d.stack_top, d.after_call) {
            (true, Some(_), Some(top), Some(ac)) => Some((top, ac.addr)),
            _ => None,
        };
        let (exit_bps, child_bps): (Vec<u64>, Vec<u64>) = match (&d.after_call, ax_watch) {
            (Some(_), Some(_)) => (Vec::new(), d.iret.clone()),
            (Some(ac), None) => (vec![ac.addr], d.iret.clone()),
            (None, _) => (
                d.sysret.iter().chain(&d.iret).copied().collect(),
                Vec::new(),
            ),
        };
        if self.opts.verbose && ax_watch.is_some() {
            eprintln!("vstrace: gdb: returns trapped by write watchpoints on pt_regs->ax");
        }
        // The ax slots watched, one per call in flight, with the call's
        // number (what the kernel puts in pt_regs->orig_ax).
        let mut ax_slots: Vec<(u64, u64, Instant)> = Vec::new();
        // The ax slots of calls whose return needs the after-call
        // breakpoint (skipped calls, watches expired): it is in place
        // while this is not empty.
        let mut bp_calls: Vec<u64> = Vec::new();
        let mut exits_armed = false;
        let mut child_armed = false;
        let mut idle_enters = 0u32;
        let start = Instant::now();
        let deadline = duration.map(|du| start + du);
        let ex0 = t.client.exchanges;
        let mut st = RunStats {
            entry_watch: entry.watch.is_some(),
            ..Default::default()
        };
        // Once asked to stop, calls whose return we change (injections,
        // skips) are let finish first, with no new enters, for at most
        // DRAIN_TIME: detaching before their exit would leave the guest
        // with a skipped call's error instead of the value we promised.
        let mut drain_until: Option<Instant> = None;
        let resume = self.opts.resume;
        loop {
            let resumed = Instant::now();
            t.resume()?;
            let (s, interrupted) = match drain_until {
                None => t.wait(deadline, Some(stop))?,
                Some(d) => t.wait(Some(d), None)?,
            };
            st.running += resumed.elapsed();
            let r = t.regs()?;
            let rip = r.rip();
            let vcpu = s.vcpu();
            let after_call = d.after_call.filter(|ac| ac.addr == rip);
            // With the watchpoint the vCPU stops after the save, swapgs
            // done; with the breakpoint, on the swapgs.
            let at_entry_stop = match entry.watch {
                Some(w) => rip == w.after,
                None => rip == d.entry_swapgs,
            };
            // A write to a watched pt_regs->ax: the entry's own push of
            // -ENOSYS (rip still in the entry code) or the return value.
            let ax_hit = s
                .info
                .iter()
                .find(|(k, _)| k == "watch")
                .and_then(|(_, v)| u64::from_str_radix(v, 16).ok())
                .filter(|a| ax_slots.iter().any(|(s, _, _)| s == a));
            if let (Some(_), Some((_, call_ret))) = (ax_hit, ax_watch) {
                if (d.entry..call_ret).contains(&rip) {
                    st.stops += 1;
                    continue;
                }
            }
            let at_bp = at_entry_stop
                || ax_hit.is_some()
                || after_call.is_some()
                || d.sysret.contains(&rip)
                || d.iret.contains(&rip);
            if !at_bp {
                if interrupted
                    && !begin_drain(t, &entry.traps, engine, &exit_bps, &mut drain_until)?
                {
                    break;
                }
                continue;
            }
            st.stops += 1;
            if verbose && st.stops <= 12 {
                eprintln!(
                    "vstrace: gdb: stop {} {s:?} rip {rip:#x} cs {:#x} gs {:#x} kgs {:#x} rcx {:#x} rax {:#x}",
                    st.stops,
                    r.cs,
                    r.gs_base,
                    r.k_gs_base,
                    r.get(Reg::Rcx),
                    r.rax()
                );
            }
            // With ax watches, the after-call breakpoint is in place only
            // for calls in `bp_calls`; a call it sees is done, its watch
            // dropped.
            if let (Some(_), Some(_)) = (&after_call, ax_watch) {
                let slot = r.rsp().wrapping_add(pt_regs_offset(Reg::Rax));
                drop_ax_watch(t, &mut ax_slots, slot)?;
                if let Some(i) = bp_calls.iter().position(|&a| a == slot) {
                    bp_calls.remove(i);
                }
            }
            let ev = if at_entry_stop {
                // A `syscall` from kernel mode cannot happen; rcx in the
                // kernel half means this is not a user call.
                is_user_addr(r.get(Reg::Rcx)).then(|| {
                    let (before_swapgs, frame) = match entry.watch {
                        Some(w) => {
                            let mut u = r.clone();
                            std::mem::swap(&mut u.gs_base, &mut u.k_gs_base);
                            let slot = r.gs_base.wrapping_add(w.disp as i64 as u64);
                            (u, Frame::EntrySaved(slot))
                        }
                        None => (r.clone(), Frame::Entry),
                    };
                    let e = Event::new(
                        vcpu,
                        Mechanism::Syscall,
                        Bitness::B64,
                        entry_snapshot(before_swapgs),
                    );
                    (e, frame)
                })
            } else if let Some(slot) = ax_hit {
                let nr = drop_ax_watch(t, &mut ax_slots, slot)?;
                let at = slot.wrapping_sub(pt_regs_offset(Reg::Rax));
                let mut pt = [0u8; PT_REGS_SIZE];
                match t.read_virt(at, &mut pt) {
                    // Not this call's frame (its task died in the call and
                    // the stack was reused): a stale watch, dropped.
                    Ok(()) if Some(decode_le(&pt[PT_REGS_ORIG_AX..PT_REGS_ORIG_AX + 8])) != nr => {
                        None
                    }
                    Ok(()) => {
                        // Shaped like the after-call stop: rsp at pt_regs.
                        let mut k = r.clone();
                        k.set(Reg::Rsp, at);
                        let u = pt_regs_snapshot(&k, &pt);
                        let b = bitness(r.efer, u.cs);
                        (u.cs & 3 == 3)
                            .then(|| (Event::new(vcpu, Mechanism::Iret, b, u), Frame::PtRegs(at)))
                    }
                    Err(_) => None,
                }
            } else if after_call.is_some() {
                let mut pt = [0u8; PT_REGS_SIZE];
                let at = r.rsp();
                match t.read_virt(at, &mut pt) {
                    Ok(()) => {
                        let u = pt_regs_snapshot(&r, &pt);
                        let b = bitness(r.efer, u.cs);
                        (u.cs & 3 == 3)
                            .then(|| (Event::new(vcpu, Mechanism::Iret, b, u), Frame::PtRegs(at)))
                    }
                    Err(_) => None,
                }
            } else if d.sysret.contains(&rip) {
                let e = Event::new(vcpu, Mechanism::Sysret, Bitness::B64, after_swapgs(&r));
                Some((e, Frame::Live))
            } else {
                let mut cs = [0u8; 2];
                let ok = t.read_virt(r.rsp().wrapping_add(8), &mut cs).is_ok();
                let cs = u16::from_le_bytes(cs);
                if ok && cs & 3 == 3 {
                    let b = bitness(r.efer, cs);
                    Some((
                        Event::new(vcpu, Mechanism::Iret, b, after_swapgs(&r)),
                        Frame::Live,
                    ))
                } else {
                    st.kernel_irets += 1;
                    None
                }
            };
            if let Some((event, frame)) = ev {
                st.events += 1;
                match event.mechanism {
                    Mechanism::Syscall => st.enters += 1,
                    _ => st.exits += 1,
                }
                let regs = event.regs.clone();
                let mut cpu = GdbCpu {
                    target: t,
                    regs,
                    frame,
                };
                engine.on_event(&event, &mut cpu);
            }
            // Perform the instruction under the breakpoint ourselves (a
            // `swapgs`, or the no-op / move / test after the handler call):
            // QEMU would stop on it again, and single-stepping flushes TCG's
            // translated code.
            match (&after_call, resume) {
                // A watchpoint stop is past its instruction already.
                _ if (at_entry_stop && entry.watch.is_some()) || ax_hit.is_some() => {}
                (Some(ac), ResumeBy::Emulating) => emulate_after_call(t, &r, ac)?,
                (None, ResumeBy::Emulating) => emulate_swapgs(t, &r)?,
                (_, ResumeBy::Stepping) => {
                    // What a plain debugger does (the baseline to compare
                    // with): lift the breakpoint, step over it, put it back.
                    t.remove_bp(rip)?;
                    t.step()?;
                    t.insert_bp(rip)?;
                }
            }
            if drain_until.is_some() {
                if interrupted || !engine.awaits_injected_returns() {
                    break;
                }
                continue;
            }
            // A trace nobody can receive (closed pipe, full disk) ends
            // the session, the VM left running.
            if engine.output_error().is_some() {
                break;
            }
            if interrupted {
                if begin_drain(t, &entry.traps, engine, &exit_bps, &mut drain_until)? {
                    continue;
                }
                break;
            }
            // Arm at once when an exit matters; disarm only after a run of
            // enters that needed none, so that tracing every call does not
            // toggle at every call.
            let wants = engine.wants_exits();
            if at_entry_stop {
                idle_enters = if wants { 0 } else { idle_enters + 1 };
                if let (true, Some((top, _))) = (wants, ax_watch) {
                    // Number -1 (a skip): the kernel writes no return value.
                    if t.regs()?.rax() == u64::MAX {
                        if let Some(slot) = ax_slot(t, top) {
                            bp_calls.push(slot);
                        }
                    } else {
                        arm_ax_watch(t, top, &mut ax_slots)?;
                    }
                }
                // Calls in flight for long: their task may have died in
                // the call, leaving a watch on a stack that gets reused.
                // The breakpoint takes over their returns.
                let now = Instant::now();
                while let Some(i) = ax_slots
                    .iter()
                    .position(|(_, _, armed)| now.duration_since(*armed) > AX_WATCH_AGE)
                {
                    let (slot, _, _) = ax_slots.remove(i);
                    t.remove_bp(slot)?;
                    bp_calls.push(slot);
                }
                if bp_calls.len() > MAX_AX_WATCHES {
                    bp_calls.remove(0);
                }
            }
            if let Some((_, call_ret)) = ax_watch {
                let armed = t.bps.iter().any(|b| b.1 == call_ret);
                if bp_calls.is_empty() == armed {
                    if armed {
                        t.remove_bp(call_ret)?;
                    } else {
                        t.insert_bp(call_ret)?;
                    }
                }
            }
            if (wants && !exits_armed) || (exits_armed && !wants && idle_enters >= IDLE_ENTERS) {
                exits_armed = !exits_armed;
                st.exit_toggles += 1;
                t.set_bps(&exit_bps, exits_armed)?;
            }
            let children = !child_bps.is_empty() && engine.awaits_child_return();
            if children != child_armed {
                child_armed = children;
                st.exit_toggles += 1;
                t.set_bps(&child_bps, child_armed)?;
            }
        }
        st.exchanges = t.client.exchanges - ex0;
        st.elapsed = start.elapsed();
        Ok(st)
    }
}

/// Most pt_regs->ax watchpoints in place at once (calls in flight); past
/// it a call's return is not trapped.
const MAX_AX_WATCHES: usize = 64;

/// Linux x86-64 `exit` and `exit_group`: they never return, so their
/// pt_regs->ax is not watched (the stack may be freed and reused).
const NR_EXIT: u64 = 60;
const NR_EXIT_GROUP: u64 = 231;

/// A pt_regs->ax watch older than this is handed to the after-call
/// breakpoint.
const AX_WATCH_AGE: Duration = Duration::from_secs(30);

/// At a watchpoint entry stop: the address of the call's pt_regs->ax, from
/// the kernel stack top in the per-cpu slot `top` (pt_regs sits right
/// below it).
fn ax_slot(t: &mut Target, top: i32) -> Option<u64> {
    let r = t.regs().ok()?;
    let mut b = [0u8; 8];
    // At this stop the kernel GS base is active.
    t.read_virt(r.gs_base.wrapping_add(top as i64 as u64), &mut b)
        .ok()?;
    Some(
        u64::from_le_bytes(b)
            .wrapping_sub(PT_REGS_SIZE as u64)
            .wrapping_add(pt_regs_offset(Reg::Rax)),
    )
}

/// Removes the pt_regs->ax watch at `slot`, if set; returns its call's
/// number.
fn drop_ax_watch(
    t: &mut Target,
    slots: &mut Vec<(u64, u64, Instant)>,
    slot: u64,
) -> Result<Option<u64>, BackendError> {
    let Some(i) = slots.iter().position(|(a, _, _)| *a == slot) else {
        return Ok(None);
    };
    let (_, nr, _) = slots.remove(i);
    t.remove_bp(slot)?;
    Ok(Some(nr))
}

/// At a watchpoint entry stop: watches the call's pt_regs->ax.
fn arm_ax_watch(
    t: &mut Target,
    top: i32,
    slots: &mut Vec<(u64, u64, Instant)>,
) -> Result<(), BackendError> {
    // The registers as the kernel will see them (after any rewrite).
    let r = t.regs()?;
    if matches!(r.rax(), NR_EXIT | NR_EXIT_GROUP) || slots.len() >= MAX_AX_WATCHES {
        return Ok(());
    }
    let Some(slot) = ax_slot(t, top) else {
        return Ok(());
    };
    if !slots.iter().any(|(s, _, _)| *s == slot) && t.insert_watch(slot)? {
        slots.push((slot, r.rax(), Instant::now()));
    }
    Ok(())
}

/// How entries are trapped for a session.
struct EntryArm {
    /// Addresses of the breakpoint or watchpoints in place.
    traps: Vec<u64>,
    /// Set when watchpoints are used.
    watch: Option<EntrySave>,
}

/// Puts the entry trap in place: a write watchpoint on the vCPU's save
/// slot when possible (and wanted), else the breakpoint on the `swapgs`.
fn arm_entry(
    t: &mut Target,
    d: &Discovery,
    mode: EntryTrap,
    verbose: bool,
) -> Result<EntryArm, BackendError> {
    if mode == EntryTrap::Breakpoint {
        t.insert_bp(d.entry_swapgs)?;
        return Ok(EntryArm {
            traps: vec![d.entry_swapgs],
            watch: None,
        });
    }
    let refused = match (d.entry_save, t.kernel_gs_bases()?.as_slice()) {
        (None, _) => "the entry does not save rsp with mov %rsp, %gs:disp32".to_string(),
        // QEMU 10.0 under MTTCG (several vCPUs on several threads) aborts
        // on a watchpoint hit taken with its big lock held
        // (`bql_lock_impl: assertion failed`, seen here): never risk the
        // user's VM, watchpoints on single-vCPU guests only.
        (Some(_), bases) if bases.len() > 1 => {
            "several vCPUs (QEMU aborts on watchpoints under multi-threaded TCG)".to_string()
        }
        // A vCPU that never ran has no per-cpu base yet.
        (Some(_), [] | [0]) => "no kernel GS base yet".to_string(),
        (Some(save), &[base, ..]) => {
            let slot = base.wrapping_add(save.disp as i64 as u64);
            if t.insert_watch(slot)? {
                return Ok(EntryArm {
                    traps: vec![slot],
                    watch: Some(save),
                });
            }
            format!("the stub refused a write watchpoint at {slot:#x}")
        }
    };
    if mode == EntryTrap::Watch {
        return Err(BackendError::Discovery(format!(
            "--entry-trap watch: {refused}"
        )));
    }
    if verbose {
        eprintln!("vstrace: gdb: no entry watchpoint: {refused}");
    }
    t.insert_bp(d.entry_swapgs)?;
    Ok(EntryArm {
        traps: vec![d.entry_swapgs],
        watch: None,
    })
}

/// How long a stopping session waits for the exits of calls it changes.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// At a stop request: when a changed call is in flight, stops trapping
/// enters, traps exits, and starts the drain (returns `true`: keep going).
fn begin_drain(
    t: &mut Target,
    entry_traps: &[u64],
    engine: &Engine,
    exit_bps: &[u64],
    drain_until: &mut Option<Instant>,
) -> Result<bool, BackendError> {
    if drain_until.is_some() || !engine.awaits_injected_returns() {
        return Ok(false);
    }
    for &a in entry_traps {
        t.remove_bp(a)?;
    }
    // Idempotent: breakpoints already in place are not inserted twice.
    for &a in exit_bps {
        if !t.bps.iter().any(|b| b.1 == a) {
            t.insert_bp(a)?;
        }
    }
    *drain_until = Some(Instant::now() + DRAIN_TIME);
    Ok(true)
}

/// The state just after the `swapgs` at `r.rip()`: what the plugin sees at
/// the `sysretq`/`iretq` that follows (user GS base loaded).
pub fn after_swapgs(r: &Regs) -> Regs {
    let mut u = r.clone();
    std::mem::swap(&mut u.gs_base, &mut u.k_gs_base);
    u.set(Reg::Rip, r.rip().wrapping_add(3));
    u
}

/// Performs the `swapgs` at `r.rip()`: swaps GS base and kernel GS base and
/// moves rip past the 3-byte instruction.
fn emulate_swapgs(t: &mut Target, r: &Regs) -> Result<(), BackendError> {
    for (slot, v) in [
        (SLOT_GS_BASE, r.k_gs_base),
        (SLOT_K_GS_BASE, r.gs_base),
        (Reg::Rip as usize, r.rip().wrapping_add(3)),
    ] {
        let loc = t
            .layout
            .regnum(slot)
            .ok_or_else(|| BackendError::Layout(format!("no {} register", SLOT_NAMES[slot])))?;
        let bytes = v.to_le_bytes();
        t.client
            .write_register(loc.regnum, &bytes[..loc.len.min(8)])?;
    }
    t.invalidate();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rsp::tests::{fake, FakeStub};
    use vstrace_core::event::EFER_LMA;

    fn qemu_like() -> Vec<RegInfo> {
        // What QEMU's XML lists: the built-in list, then the x87 registers.
        let mut v = qemu_x86_64_regs();
        let n = v.len() as u32;
        v.push(RegInfo {
            name: "st0".into(),
            bitsize: 80,
            regnum: n,
        });
        v
    }

    #[test]
    fn layout_offsets() {
        let l = Layout::from_regs(&qemu_like()).unwrap();
        assert_eq!(l.regnum(Reg::Rax as usize).unwrap().offset, 0);
        assert_eq!(l.regnum(Reg::Rip as usize).unwrap().offset, 128);
        let fl = l.regnum(Reg::Rflags as usize).unwrap();
        assert_eq!((fl.offset, fl.len, fl.regnum), (136, 4, 17));
        assert_eq!(l.regnum(SLOT_CS).unwrap().offset, 140);
        // eflags + 6 selectors of 4 bytes, then fs_base.
        assert_eq!(l.regnum(20).unwrap().offset, 136 + 28);
        let efer = l.regnum(26).unwrap();
        assert_eq!((efer.offset, efer.regnum), (136 + 28 + 8 * 8, 32));
        let builtin = Layout::qemu_x86_64();
        assert_eq!(builtin.slots, l.slots);
        // Missing general registers are an error.
        assert!(Layout::from_regs(&qemu_like()[3..]).is_err());
    }

    #[test]
    fn scan_finds_return_paths() {
        let base = 0xffff_ffff_8100_0000u64;
        let mut code = vec![0x90u8; 600];
        // Entry: endbr64; swapgs.
        code[0..7].copy_from_slice(&[0xf3, 0x0f, 0x1e, 0xfa, 0x0f, 0x01, 0xf8]);
        assert_eq!(entry_swapgs(&code, base), Some(base + 4));
        assert_eq!(entry_swapgs(&code[4..], base), Some(base));
        assert_eq!(entry_swapgs(&[0x90; 8], base), None);
        // Linux 6.1 (Debian): swapgs; jmp over verw; sysretq.
        code[100..115].copy_from_slice(&[
            0x0f, 0x01, 0xf8, 0xeb, 0x07, 0x0f, 0x00, 0x2d, 0x19, 0xfe, 0xff, 0xff, 0x48, 0x0f,
            0x07,
        ]);
        // A stray 48 cf, a swapgs; jmp elsewhere, then swapgs; verw;
        // jmp .Lnative_iret at 300 (target 400), the iretq at 407.
        code[200..202].copy_from_slice(&[0x48, 0xcf]);
        code[250..255].copy_from_slice(&[0x0f, 0x01, 0xf8, 0xeb, 0x10]);
        code[300..315].copy_from_slice(&[
            0x0f, 0x01, 0xf8, 0x0f, 0x00, 0x2d, 1, 2, 3, 4, 0xe9, 85, 0, 0, 0,
        ]);
        code[400..409].copy_from_slice(&[0xf6, 0x44, 0x24, 0x20, 0x04, 0x75, 0x02, 0x48, 0xcf]);
        let (s, i) = scan_return_paths(&code, base);
        assert_eq!(s, vec![base + 100]);
        assert_eq!(i, vec![base + 300]);
        // Plain swapgs; sysretq, and a short backward jump to the iret.
        code[100..115].copy_from_slice(&[0x90; 15]);
        code[120..126].copy_from_slice(&[0x0f, 0x01, 0xf8, 0x48, 0x0f, 0x07]);
        code[300..315].copy_from_slice(&[0x90; 15]);
        code[450..455].copy_from_slice(&[0x0f, 0x01, 0xf8, 0xeb, (-55i8) as u8]);
        assert_eq!(
            scan_return_paths(&code, base),
            (vec![base + 120], vec![base + 450])
        );
        // Jump loops and jumps out of the buffer end nowhere.
        code[450..455].copy_from_slice(&[0x0f, 0x01, 0xf8, 0xeb, 0xfe]);
        code[500..505].copy_from_slice(&[0x0f, 0x01, 0xf8, 0xeb, 0x7f]);
        assert_eq!(scan_return_paths(&code, base).1, Vec::<u64>::new());
        assert_eq!(
            scan_return_paths(&[0x90; 10], 0),
            (vec![], vec![]) as (Vec<u64>, Vec<u64>)
        );
        assert_eq!(scan_return_paths(&[0x0f, 0x01, 0xf8], 0), (vec![], vec![]));
    }

    #[test]
    fn entry_signatures() {
        let base = 0xffff_ffff_81c0_0000u64;
        let mut code = vec![0xccu8; 4096];
        // Linux 6.1 entry_SYSCALL_64 without IBT: swapgs; mov %rsp,%gs:0x6014.
        code[0x80..0x8c].copy_from_slice(&[
            0x0f, 0x01, 0xf8, 0x65, 0x48, 0x89, 0x24, 0x25, 0x14, 0x60, 0, 0,
        ]);
        // With IBT: endbr64 first; the candidate is the endbr64.
        code[0x400..0x40c].copy_from_slice(&[
            0xf3, 0x0f, 0x1e, 0xfa, 0x0f, 0x01, 0xf8, 0x65, 0x48, 0x89, 0x24, 0x25,
        ]);
        // entry_SYSCALL_compat (swapgs; mov %esp,%esp) and a bare swapgs
        // are not candidates.
        code[0x800..0x805].copy_from_slice(&[0x0f, 0x01, 0xf8, 0x89, 0xe4]);
        code[0x900..0x903].copy_from_slice(&[0x0f, 0x01, 0xf8]);
        assert_eq!(
            entry_candidates(&code, base),
            vec![base + 0x80, base + 0x400]
        );
        // At the very start and cut short at the end.
        assert_eq!(entry_candidates(&code[0x80..0x88], 7), vec![7]);
        assert!(entry_candidates(&code[0x80..0x87], 7).is_empty());
        assert!(entry_candidates(&[], 0).is_empty());
    }

    #[test]
    fn watchpoint_targets_from_the_entry_code() {
        let base = 0xffff_ffff_81c0_0080u64;
        // Linux 6.1: swapgs; mov %rsp,%gs:0x6014; jmp (PTI alternative);
        // mov %cr3,%rsp...; mov %gs:0x1fb50,%rsp.
        let mut code = vec![
            0x0f, 0x01, 0xf8, 0x65, 0x48, 0x89, 0x24, 0x25, 0x14, 0x60, 0, 0,
        ];
        code.extend_from_slice(&[0x66, 0x90, 0x0f, 0x20, 0xdc, 0x90]);
        code.extend_from_slice(&[0x65, 0x48, 0x8b, 0x24, 0x25, 0x50, 0xfb, 0x01, 0]);
        let save = entry_save(&code, base, base).unwrap();
        assert_eq!(save.disp, 0x6014);
        assert_eq!(save.after, base + 12);
        assert_eq!(stack_top_load(&code, base, save.after), Some(0x1fb50));
        // Negative displacements (a KPCR-relative field would never be,
        // but the encoding allows it) and an entry after an endbr64.
        let mut ibt = vec![0xf3, 0x0f, 0x1e, 0xfa];
        ibt.extend_from_slice(&[0x0f, 0x01, 0xf8, 0x65, 0x48, 0x89, 0x24, 0x25]);
        ibt.extend_from_slice(&(-16i32).to_le_bytes());
        assert_eq!(entry_save(&ibt, base, base + 4).unwrap().disp, -16);
        // No save, a cut instruction, a swapgs outside the code, no load.
        assert_eq!(entry_save(&code[..10], base, base), None);
        assert_eq!(
            entry_save(&[0x0f, 0x01, 0xf8, 0x89, 0xe4], base, base),
            None
        );
        assert_eq!(entry_save(&code, base, base - 1), None);
        assert_eq!(entry_save(&code, base, u64::MAX), None);
        assert_eq!(stack_top_load(&code[..12], base, base + 12), None);
        assert_eq!(stack_top_load(&code, base, base + 1000), None);
    }

    #[test]
    fn kernel_gs_base_is_the_kernel_half_one() {
        let r = |cs: u16, gs: u64, kgs: u64| Regs {
            cs,
            gs_base: gs,
            k_gs_base: kgs,
            ..Default::default()
        };
        let k = 0xffff_8880_1f20_0000u64;
        // User mode, kernel mode after swapgs, kernel mode before it.
        assert_eq!(kernel_gs_base(&r(0x33, 0x7f00_0000, k)), k);
        assert_eq!(kernel_gs_base(&r(0x10, k, 0)), k);
        assert_eq!(kernel_gs_base(&r(0x10, 0, k)), k);
        // Both in the kernel half: the active one in kernel mode.
        assert_eq!(kernel_gs_base(&r(0x10, k, k + 0x10_0000)), k);
        assert_eq!(kernel_gs_base(&r(0x33, k, k + 0x10_0000)), k + 0x10_0000);
        assert_eq!(kernel_gs_base(&r(0x10, 0, 0x7f00_0000)), 0);
    }

    #[test]
    fn handler_call_return() {
        let base = 0xffff_ffff_81c0_00f3u64;
        // Debian's 6.1 entry_SYSCALL_64 from `mov %rsp,%rdi`: movslq, a
        // jmp over the IBRS wrmsr, 16 nops, call do_syscall_64, 5 nops
        // (IBRS_EXIT), then the sysret checks reading regs->cx.
        let mut code = vec![0x48, 0x89, 0xe7, 0x48, 0x63, 0xf0, 0xeb, 0x16];
        code.extend_from_slice(&[0xb9, 0x48, 0, 0, 0]);
        code.extend_from_slice(&[0x90; 16]);
        code.extend_from_slice(&[0xe8, 0x9a, 0x3c, 0xe4, 0xff]);
        let ret = code.len() as u64;
        code.extend_from_slice(&[0x90; 5]);
        code.extend_from_slice(&[0x48, 0x8b, 0x4c, 0x24, 0x58, 0x4c, 0x8b]);
        assert_eq!(
            after_handler_call(&code, base),
            Some(AfterCall {
                addr: base + ret,
                step: AfterCallStep::Skip(5)
            })
        );
        // 6.2+: an untrain call first (followed by other code), then the
        // handler call followed by a patched 5-byte nop and test %al,%al.
        let mut code = vec![0x48, 0x89, 0xe7, 0xe8, 1, 2, 3, 4, 0x48, 0x63, 0xf0];
        code.extend_from_slice(&[0xe8, 5, 6, 7, 8]);
        let ret = code.len() as u64;
        code.extend_from_slice(&[0x0f, 0x1f, 0x44, 0x00, 0x00, 0x84, 0xc0, 0x74, 0x10]);
        assert_eq!(
            after_handler_call(&code, 0),
            Some(AfterCall {
                addr: ret,
                step: AfterCallStep::Skip(5)
            })
        );
        // No no-ops: the instruction itself is performed.
        let code = [0x48, 0x89, 0xe7, 0xe8, 0, 0, 0, 0, 0x84, 0xc0];
        assert_eq!(
            after_handler_call(&code, 0).map(|a| (a.addr, a.step)),
            Some((8, AfterCallStep::TestAl))
        );
        let code = [
            0x48, 0x89, 0xe7, 0xe8, 0, 0, 0, 0, 0x48, 0x8b, 0x4c, 0x24, 0x58,
        ];
        assert_eq!(
            after_handler_call(&code, 0).map(|a| a.step),
            Some(AfterCallStep::MovRcx(0x58))
        );
        // Unrecognised code after every call, truncated code, no mov.
        assert_eq!(
            after_handler_call(&[0x48, 0x89, 0xe7, 0xe8, 0, 0, 0, 0, 0xc3], 0),
            None
        );
        assert_eq!(after_handler_call(&[0x48, 0x89, 0xe7, 0xe8, 0, 0], 0), None);
        assert_eq!(after_handler_call(&[0xe8, 0, 0, 0, 0, 0x84, 0xc0], 0), None);
        assert_eq!(after_handler_call(&[], 0), None);
    }

    #[test]
    fn nops_and_flags() {
        assert_eq!(nop_len(&[0x90]), Some(1));
        assert_eq!(nop_len(&[0x66, 0x90]), Some(2));
        assert_eq!(nop_len(&[0x0f, 0x1f, 0x00]), Some(3));
        assert_eq!(nop_len(&[0x0f, 0x1f, 0x40, 0x00]), Some(4));
        assert_eq!(nop_len(&[0x0f, 0x1f, 0x44, 0x00, 0x00]), Some(5));
        assert_eq!(nop_len(&[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00]), Some(6));
        assert_eq!(nop_len(&[0x0f, 0x1f, 0x80, 0, 0, 0, 0]), Some(7));
        assert_eq!(nop_len(&[0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0]), Some(8));
        assert_eq!(nop_len(&[0x0f, 0x1f, 0x84, 0, 0]), None); // cut short
        assert_eq!(nop_len(&[0x66; 40]), None);
        assert_eq!(nop_len(&[0x84, 0xc0]), None);
        let mut r = Regs::default();
        r.set(Reg::Rflags, 0x246 | 1 | (1 << 11)); // ZF PF IF, CF OF set
        r.set(Reg::Rax, 0x100); // al = 0
        assert_eq!(test_al_flags(&r), 0x246);
        r.set(Reg::Rax, 0x81); // SF, even parity
        assert_eq!(test_al_flags(&r), 0x202 | 0x80 | 0x4);
        r.set(Reg::Rax, 1); // odd parity
        assert_eq!(test_al_flags(&r), 0x202);
    }

    #[test]
    fn pt_regs_exit_snapshot() {
        let mut pt = [0u8; PT_REGS_SIZE];
        let mut put = |i: usize, v: u64| pt[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        put(10, (-2i64) as u64); // ax
        put(11, 0x40_1002); // cx
        put(14, 7); // di
        put(15, 39); // orig_ax
        put(16, 0x40_1002); // ip
        put(17, 0x33); // cs
        put(18, 0x246); // flags
        put(19, 0x7ffd_0000); // sp
        put(20, 0x2b); // ss
        let mut r = Regs::default();
        r.set(Reg::Rsp, 0xffff_c900_0000_3f58);
        r.set(Reg::Rip, 0xffff_ffff_81c0_0126);
        r.set(Reg::Rax, 0x1234); // the handler's own return: not the call's
        r.gs_base = 0xffff_8880_1fc0_0000;
        r.k_gs_base = 0x7f00_0000_0000;
        let u = pt_regs_snapshot(&r, &pt);
        assert_eq!(u.rax(), (-2i64) as u64);
        assert_eq!(u.get(Reg::Rdi), 7);
        assert_eq!(u.get(Reg::Rflags), 0x246);
        assert_eq!((u.cs, u.ss), (0x33, 0x2b));
        assert_eq!(u.rsp(), 0xffff_c900_0000_3f58 + 128);
        assert_eq!(u.gs_base, 0x7f00_0000_0000);
        assert_eq!(pt_regs_offset(Reg::Rax), 80);
        assert_eq!(pt_regs_offset(Reg::Rip), 128);
    }

    #[test]
    fn after_swapgs_state() {
        let mut r = Regs::default();
        r.set(Reg::Rip, 0x1000);
        r.gs_base = 0xaaaa;
        r.k_gs_base = 0xbbbb;
        let u = after_swapgs(&r);
        assert_eq!((u.rip(), u.gs_base, u.k_gs_base), (0x1003, 0xbbbb, 0xaaaa));
    }

    #[test]
    fn idt_and_gates() {
        let info = "RIP=ffffffff81000000 RFL=00000246\nGDT=     fffffe0000001000 0000007f\nIDT=     fffffe0000000000 00000fff\nCR0=80050033";
        assert_eq!(parse_idt_base(info), Some(0xfffffe0000000000));
        assert_eq!(parse_idt_base("nothing"), None);
        let h: u64 = 0xffff_ffff_8160_0ab0;
        let mut g = [0u8; 16];
        g[0..2].copy_from_slice(&(h as u16).to_le_bytes());
        g[2..4].copy_from_slice(&0x10u16.to_le_bytes());
        g[5] = 0x8e;
        g[6..8].copy_from_slice(&((h >> 16) as u16).to_le_bytes());
        g[8..12].copy_from_slice(&((h >> 32) as u32).to_le_bytes());
        assert_eq!(gate_target(&g), h);
    }

    #[test]
    fn entry_snapshot_is_the_user_state() {
        let mut r = Regs::default();
        r.set(Reg::Rip, 0xffff_ffff_8160_0000);
        r.set(Reg::Rcx, 0x40_1002);
        r.set(Reg::R11, 0x246);
        r.set(Reg::Rax, 39);
        r.cs = 0x10;
        let u = entry_snapshot(r);
        assert_eq!(u.rip(), 0x40_1000);
        assert_eq!(u.get(Reg::Rflags), 0x246);
        assert_eq!(u.cpl(), 3);
        assert_eq!(u.rax(), 39);
        assert_eq!(bitness(EFER_LMA, u.cs), Bitness::B64);
        assert_eq!(bitness(EFER_LMA, 0x23), Bitness::B32);
        assert_eq!(bitness(0, 0x33), Bitness::B32);
    }

    /// A fake stub with the 5-register layout of `FakeStub`: registers,
    /// memory through the block cache, writes through `P`, breakpoints with
    /// the hardware-first rule.
    #[test]
    fn target_over_fake_stub() {
        let mut stub = FakeStub::new();
        // The fake stub's description lacks most registers: extend it.
        let mut core = String::from(r#"<feature name="core">"#);
        for name in &SLOT_NAMES[..18] {
            let bits = if *name == "eflags" { 32 } else { 64 };
            core.push_str(&format!(r#"<reg name="{name}" bitsize="{bits}"/>"#));
        }
        core.push_str(r#"<reg name="cs" bitsize="32"/></feature>"#);
        stub.xml.insert("core.xml".into(), core);
        stub.regs = vec![0; 17 * 8 + 8];
        stub.regs[2 * 8] = 0x42; // rcx
        stub.regs[17 * 8 + 4] = 0x33; // cs
        for i in 0..4096u64 {
            stub.mem.insert(0x7000 + i, (i & 0xff) as u8);
        }
        let (mut c, h) = fake(stub);
        c.handshake().unwrap();
        let mut t = Target::new(c).unwrap();
        assert_eq!(t.block, 64); // 256-byte packets: 64-byte blocks
        let r = t.regs().unwrap();
        assert_eq!(r.get(Reg::Rcx), 0x42);
        assert_eq!(r.cs, 0x33);
        let mut b = [0u8; 100];
        t.read_virt(0x7000 + 250, &mut b).unwrap();
        assert!(b
            .iter()
            .enumerate()
            .all(|(i, &v)| v == ((250 + i) & 0xff) as u8));
        let mut x = [0u8; 4];
        assert_eq!(t.read_virt(0x9000, &mut x), Err(MemError::Unmapped(0x9000)));
        // A read straddling the end of readable memory fails as a whole.
        let mut y = [0u8; 8];
        assert!(t.read_virt(0x7000 + 4092, &mut y).is_err());
        t.write_virt(0x7000 + 250, b"xyz").unwrap();
        t.read_virt(0x7000 + 250, &mut x).unwrap();
        assert_eq!(&x[..3], b"xyz");

        {
            let regs = entry_snapshot(r.clone());
            let mut cpu = GdbCpu {
                target: &mut t,
                regs,
                frame: Frame::Entry,
            };
            cpu.write_reg(Reg::Rax, 0xffff_ffff_ffff_ffff).unwrap();
            cpu.write_reg(Reg::Rip, 0x5000).unwrap();
            assert_eq!(cpu.regs().rip(), 0x5000);
        }
        let r2 = t.regs().unwrap();
        assert_eq!(r2.rax(), u64::MAX);
        assert_eq!(r2.get(Reg::Rcx), 0x5002);
        t.invalidate();
        assert_eq!(t.regs().unwrap().get(Reg::Rcx), 0x5002);

        t.insert_bp(0xffff_ffff_8100_0000).unwrap();
        t.insert_bp(0x1234).unwrap();
        t.remove_bp(0x1234).unwrap();
        t.detach().unwrap();
        let stub = h.join().unwrap();
        // Everything removed, detached.
        assert!(stub.bps.is_empty());
        assert!(stub.log.iter().any(|l| l == "z1,ffffffff81000000,1"));
        assert_eq!(stub.log.last().map(String::as_str), Some("D"));
    }
}
