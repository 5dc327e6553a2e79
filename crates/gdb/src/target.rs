//! The VM behind a gdb connection as the backend sees it: the register
//! layout learnt from the target description, registers and memory with
//! per-stop caches, breakpoints and watchpoints, reads in other address
//! spaces through the stub's physical mode, and execution control.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use vstrace_core::gdbregs::{
    decode_le, slot_for_name, store, NSLOTS, SLOT_CS, SLOT_GS_BASE, SLOT_K_GS_BASE, SLOT_NAMES,
};
use vstrace_core::mem::{MemError, PhysMem, RamRanges, VirtMem, WalkCache};
use vstrace_core::{Reg, Regs, Space};

use crate::error::BackendError;
use crate::rsp::{BpKind, Client, RegInfo, RspError, StopKind, StopReply};

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
    /// The protocol connection.
    pub(crate) client: Client,
    /// Where each register is in `g`/`p`.
    layout: Layout,
    /// Memory block size (a power of two, at most [`MAX_BLOCK`]).
    pub(crate) block: u64,
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

    /// Wraps a handshaken client: learns the register layout (QEMU's
    /// built-in one when the stub has no target description) and the
    /// memory block size its packets allow.
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

    /// The protocol connection, for requests the target does not wrap.
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

    /// Whether a breakpoint or watchpoint of ours is at `addr`.
    pub(crate) fn has_bp(&self, addr: u64) -> bool {
        self.bps.iter().any(|b| b.1 == addr)
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

pub(crate) fn exited(s: &StopReply) -> Result<(), BackendError> {
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
        // The stub writes through the physical page whatever the guest's
        // write bits say: a page the guest maps read-only is refused, as
        // its own store would fault (see `WalkCache::check_writable`),
        // where the page tables can be walked.
        if let Some(space) = self.regs.as_ref().and_then(Space::current) {
            self.check_writable(space, addr, data.len())?;
        }
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
        self.walking(addr, |walks, phys| walks.read(phys, space, addr, buf))
    }
}

impl Target {
    /// [`WalkCache::check_writable`] in `space`, through the stub's
    /// physical mode; nothing is checked when the guest's RAM is unknown
    /// (no physical reads: the stub's write decides alone).
    fn check_writable(&mut self, space: Space, addr: u64, len: usize) -> Result<(), MemError> {
        if self.ram().is_empty() {
            return Ok(());
        }
        self.walking(addr, |walks, phys| {
            walks.check_writable(phys, space, addr, len)
        })
    }

    /// `f` on this stop's walk cache and guest RAM through the stub's
    /// physical mode, on for `f` alone (`addr`: the access's address, for
    /// the stub's errors).
    fn walking<R>(
        &mut self,
        addr: u64,
        f: impl FnOnce(&mut WalkCache, &mut StubPhys<'_>) -> Result<R, MemError>,
    ) -> Result<R, MemError> {
        let fail = |e: RspError| MemError::Other {
            addr,
            reason: e.to_string(),
        };
        self.client.set_phys_mem_mode(true).map_err(fail)?;
        let mut phys = StubPhys {
            client: &mut self.client,
            ram: self.ram.get_or_insert_with(RamRanges::default),
        };
        let r = f(&mut self.walks, &mut phys);
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
    /// Performs the `swapgs` at `r.rip()`: swaps GS base and kernel GS base and
    /// moves rip past the 3-byte instruction.
    pub(crate) fn emulate_swapgs(&mut self, r: &Regs) -> Result<(), BackendError> {
        for (slot, v) in [
            (SLOT_GS_BASE, r.k_gs_base),
            (SLOT_K_GS_BASE, r.gs_base),
            (Reg::Rip as usize, r.rip().wrapping_add(3)),
        ] {
            let loc = self
                .layout
                .regnum(slot)
                .ok_or_else(|| BackendError::Layout(format!("no {} register", SLOT_NAMES[slot])))?;
            let bytes = v.to_le_bytes();
            self.client
                .write_register(loc.regnum, &bytes[..loc.len.min(8)])?;
        }
        self.invalidate();
        Ok(())
    }

    /// The guest's RAM ranges, asked of QEMU's monitor once.
    fn ram(&mut self) -> &RamRanges {
        self.ram.get_or_insert_with(|| {
            let text = self.client.monitor("info mtree -f").unwrap_or_default();
            crate::ram::parse_ram_ranges(&text)
        })
    }
}

/// The kernel's GS base of a stopped vCPU (0: none seen): the one of GS
/// base / kernel GS base in the kernel half. A vCPU can be in kernel mode
/// with the user's base still loaded (stopped before its entry `swapgs`).
pub(crate) fn kernel_gs_base(r: &Regs) -> u64 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux_frame::{entry_snapshot, Frame, GdbCpu};
    use crate::rsp::tests::{fake, FakeStub};
    use vstrace_core::Cpu;

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
