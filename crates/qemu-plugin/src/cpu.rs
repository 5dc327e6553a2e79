//! The trapping vCPU as a [`vstrace_core::Cpu`]: register snapshot through
//! the plugin register API, guest virtual memory through
//! `qemu_plugin_read_memory_vaddr`, writes through [`crate::writes`], other
//! address spaces through page walks over [`crate::phys`].
//!
//! Everything here is only valid inside a vCPU exec callback: QEMU's
//! register and memory functions act on the vCPU running the callback.

use vstrace_core::cpu::CpuError;
use vstrace_core::kernel_pages::KernelPages;
use vstrace_core::mem::{PagingMode, PhysMem, WalkCache, MAX_ACCESS};
use vstrace_core::{Cpu, MemError, Reg, Regs, Space, VirtMem};

use crate::envregs;
use crate::ffi::{self, ByteArray, RegHandle};
use crate::phys::{PhysReader, QemuPhys};
use crate::regmap::{self, NSLOTS};
use crate::writes::Backend;
use vstrace_core::mem::RamRanges;

/// Per-vCPU state, created in the vCPU-init callback and only used on that
/// vCPU's thread.
pub struct VcpuState {
    /// Register handle for each snapshot slot (None: QEMU did not list it).
    pub handles: [Option<RegHandle>; NSLOTS],
    /// The slots with a handle (bit per slot).
    handle_mask: u32,
    /// Reusable buffer for register and memory reads.
    pub buf: ByteArray,
    /// Reusable buffer for writes.
    pub scratch: ByteArray,
    /// Last syscall number entered on this vCPU (debug test knobs only).
    pub last_nr: Option<u64>,
    /// A call that may change a descriptor table entered on this vCPU
    /// and no return has been seen here since (see
    /// `EarlyOut::unsettles`).
    pub fd_unsettled: bool,
    /// Slots already read during the current event (bit per slot), with
    /// their values in [`VcpuState::known`]: the early-out's reads are
    /// not made again by the snapshot.
    read: u32,
    known: [u64; NSLOTS],
    /// The vCPU's index (QEMU's `cpu_index`).
    vcpu: u32,
    /// The address of this vCPU's `env->regs` once found
    /// ([`crate::envregs`]): general registers are read there.
    env: Option<usize>,
    /// A place found for `env->regs`, used once a later event confirms
    /// it (all sixteen registers equal through both paths).
    candidate: Option<usize>,
    /// Attempts to find it so far.
    tries: u8,
    /// Where the other slots lie from `env->regs`, once confirmed (0:
    /// through the gdb path), see [`envregs::find_sys`].
    sys: envregs::SysOffsets,
    /// The slots `sys` has a place for (bit per slot).
    sys_mask: u32,
    /// Places found for them, used once a later event confirms them.
    sys_candidate: Option<envregs::SysOffsets>,
    /// Attempts to find them so far.
    sys_tries: u8,
    /// An attempt is due (made at the next event in 64-bit user code).
    sys_due: bool,
    /// Events seen (when to look for `env->regs` and check it).
    events: u32,
    /// Kernel large-page translations kept across this vCPU's events
    /// (used when [`QemuCpu::new`] is told the kernel half is shared).
    kernel_pages: KernelPages,
    /// What the signal probe read since this vCPU's last return to user
    /// mode ([`crate::sigprobe`]).
    pub sig_stash: Option<crate::sigprobe::Stash>,
}

impl VcpuState {
    /// Maps QEMU's register list onto snapshot slots.
    pub fn new(vcpu: u32, regs: &[ffi::RegDesc]) -> VcpuState {
        let mut handles = [None; NSLOTS];
        for d in regs {
            if let Some(s) = regmap::slot_for_name(&d.name) {
                handles[s].get_or_insert(d.handle);
            }
        }
        VcpuState {
            handle_mask: slot_mask(|slot| handles[slot].is_some()),
            handles,
            buf: ByteArray::new(),
            scratch: ByteArray::new(),
            last_nr: None,
            fd_unsettled: false,
            read: 0,
            known: [0; NSLOTS],
            vcpu,
            env: None,
            candidate: None,
            tries: 0,
            sys: [0; NSLOTS],
            sys_mask: 0,
            sys_candidate: None,
            sys_tries: 0,
            sys_due: false,
            events: 0,
            kernel_pages: KernelPages::default(),
            sig_stash: None,
        }
    }

    /// Names of the snapshot slots QEMU did not provide.
    pub fn missing(&self) -> Vec<&'static str> {
        (0..NSLOTS)
            .filter(|s| self.handles[*s].is_none())
            .map(|s| regmap::SLOT_NAMES[s])
            .collect()
    }

    /// Registers read before are stale (a callback that is no event:
    /// the signal probe's), without counting an event.
    pub fn forget_reads(&mut self) {
        self.read = 0;
    }

    /// A new event: the registers read for the last one are stale.
    pub fn begin_event(&mut self) {
        self.read = 0;
        self.events = self.events.wrapping_add(1);
        match self.env {
            Some(regs) if self.events % envregs::CHECK_EVERY == 0 => self.check(regs),
            // The other registers, once the general ones are known: due
            // now and then, looked for at the next event in 64-bit user
            // code (see `locate_sys`).
            Some(regs)
                if self.sys_tries < envregs::MAX_TRIES
                    && (self.sys_due || self.events % 64 == 1) =>
            {
                self.sys_due = true;
                if !self.user64() {
                    return;
                }
                self.sys_due = false;
                self.sys_tries += 1;
                match self.sys_candidate.take() {
                    Some(c) if self.confirms_sys(regs, &c) => {
                        self.sys = c;
                        self.sys_mask = slot_mask(|slot| c[slot] != 0);
                        self.sys_tries = envregs::MAX_TRIES;
                        envregs::note_sys_slots(c.iter().filter(|o| **o != 0).count() as u32);
                    }
                    Some(_) => {}
                    None => self.sys_candidate = self.locate_sys(regs),
                }
            }
            Some(_) => {}
            // Looked for now and then (not every event: a search reads
            // the vCPU object through /proc/self/mem).
            None if self.tries < envregs::MAX_TRIES && self.events % 64 == 1 => {
                self.tries += 1;
                if !envregs::enabled() {
                    return;
                }
                self.env = match self.candidate.take() {
                    Some(c) if self.confirms(c) => Some(c),
                    Some(_) => None,
                    None => {
                        self.candidate = self.locate_env();
                        None
                    }
                };
            }
            None => {}
        }
    }

    /// A register slot through the gdb path (not remembered).
    fn gdb_read(&mut self, slot: usize) -> Option<u64> {
        let h = self.handles.get(slot).copied().flatten()?;
        self.buf.clear();
        let n = ffi::read_register(h, &mut self.buf)?;
        let b = self.buf.as_slice();
        Some(regmap::decode_le(&b[..n.min(b.len())]))
    }

    /// Where this vCPU's `env->regs` is, from the sixteen general
    /// registers read through the gdb path now.
    fn locate_env(&mut self) -> Option<usize> {
        // In 32-bit code the gdb path shows halves: nothing to match.
        if !self.wide()? {
            return None;
        }
        let mut slots = [0u64; 16];
        for (slot, v) in slots.iter_mut().enumerate() {
            *v = self.gdb_read(slot)?;
        }
        let cpu = envregs::cpu_object(self.vcpu)?;
        envregs::locate(cpu, &envregs::env_order(&slots))
    }

    /// Where the other slots lie in this vCPU's state (from `env->regs`
    /// at `regs`), from their values through the gdb path now, in 64-bit
    /// user code ([`VcpuState::user64`]).
    fn locate_sys(&mut self, regs: usize) -> Option<envregs::SysOffsets> {
        let mut vals = [None; NSLOTS];
        for (slot, v) in vals.iter_mut().enumerate().skip(16) {
            *v = self.gdb_read(slot);
        }
        let hay = envregs::state_bytes(regs)?;
        let found = envregs::find_sys(&hay, &vals);
        found.iter().any(|o| *o != 0).then_some(found)
    }

    /// Whether the vCPU runs 64-bit user code now: where the other
    /// registers are looked for and confirmed (elsewhere rip shows its low
    /// half; in the kernel ss is null and the gs bases are swapped, which
    /// leaves less to tell the fields apart).
    fn user64(&mut self) -> bool {
        self.wide() == Some(true)
            && self
                .read_slot(regmap::SLOT_CS)
                .is_some_and(|cs| cs & 3 == 3)
    }

    /// Whether every slot of `sys` reads in place what the gdb path gives now.
    fn confirms_sys(&mut self, regs: usize, sys: &envregs::SysOffsets) -> bool {
        let Some(wide) = self.wide() else {
            return false;
        };
        (16..NSLOTS).filter(|s| sys[*s] != 0).all(|slot| {
            // SAFETY: `regs` is this vCPU's env->regs and `sys[slot]` an
            // offset `find_sys` found in its state, in this vCPU's callback.
            let direct = unsafe { envregs::read_sys(regs, sys[slot], slot, wide) };
            self.gdb_read(slot) == Some(direct)
        })
    }

    /// Whether `regs` holds the sixteen general registers the gdb path
    /// gives now (64-bit code only: elsewhere it shows halves).
    fn confirms(&mut self, regs: usize) -> bool {
        if self.wide() != Some(true) {
            return false;
        }
        (0..16).all(|slot| {
            // SAFETY: `regs` was found in this vCPU's object by
            // `locate_env`, in this vCPU's callback; slot < 16.
            let direct = unsafe { envregs::read(regs, slot, true) };
            self.gdb_read(slot) == Some(direct)
        })
    }

    /// Compares the direct reads with the gdb path (a few registers that
    /// change often); a difference turns the direct reads off.
    fn check(&mut self, regs: usize) {
        let Some(wide) = self.wide() else { return };
        for slot in [
            Reg::Rax as usize,
            Reg::Rsp as usize,
            Reg::Rcx as usize,
            Reg::R11 as usize,
        ] {
            // SAFETY: `regs` is this vCPU's env->regs (found by
            // `locate_env` in this vCPU's callback), slot < 16.
            let direct = unsafe { envregs::read(regs, slot, wide) };
            if self.gdb_read(slot).is_some_and(|g| g != direct) {
                envregs::disable();
            }
        }
        for slot in [
            envregs::SLOT_RIP,
            regmap::SLOT_CS,
            regmap::SLOT_CR3,
            regmap::SLOT_EFER,
            regmap::SLOT_FS_BASE,
            regmap::SLOT_GS_BASE,
            regmap::SLOT_K_GS_BASE,
        ] {
            let Some(direct) = self.direct_sys(slot) else {
                continue;
            };
            if self.gdb_read(slot).is_some_and(|g| g != direct) {
                envregs::disable();
            }
        }
        if !envregs::enabled() {
            self.env = None;
            self.tries = envregs::MAX_TRIES;
        }
    }

    /// Whether the vCPU runs 64-bit code now (the gdb path shows the
    /// general registers whole then, else their low halves and no
    /// r8-r15).
    fn wide(&mut self) -> Option<bool> {
        let cs = self.read_slot(regmap::SLOT_CS)?;
        let efer = self.read_slot(regmap::SLOT_EFER)?;
        Some(regmap::bitness(efer, cs as u16) == vstrace_core::Bitness::B64)
    }

    /// The direct `env->regs` address and the code width, when general
    /// registers are read there.
    fn direct(&mut self) -> Option<(usize, bool)> {
        let regs = self.env.filter(|_| envregs::enabled())?;
        Some((regs, self.wide()?))
    }

    /// A slot other than the general registers read in place, when its
    /// place is known (rip needs the code width: cs and efer are read
    /// first, in place too when they can be).
    fn direct_sys(&mut self, slot: usize) -> Option<u64> {
        let regs = self.env.filter(|_| envregs::enabled())?;
        let off = *self.sys.get(slot).filter(|o| **o != 0)?;
        let wide = if slot == envregs::SLOT_RIP {
            self.wide()?
        } else {
            true
        };
        // SAFETY: `regs` is this vCPU's env->regs and `off` the confirmed
        // offset of `slot` in its state; we run in this vCPU's callback.
        Some(unsafe { envregs::read_sys(regs, off, slot, wide) })
    }

    /// Reads one slot (vCPU callback context only), once per event.
    pub fn read_slot(&mut self, slot: usize) -> Option<u64> {
        if self.read & (1 << slot) != 0 {
            return self.known.get(slot).copied();
        }
        // (General registers through `direct`, which reads cs and efer
        // with `direct_sys`.)
        let v = if slot < 16 {
            match self.direct() {
                // SAFETY: `regs` is this vCPU's env->regs, slot < 16.
                Some((regs, wide)) => unsafe { envregs::read(regs, slot, wide) },
                None => self.gdb_read(slot)?,
            }
        } else {
            match self.direct_sys(slot) {
                Some(v) => v,
                None => self.gdb_read(slot)?,
            }
        };
        self.known[slot] = v;
        self.read |= 1 << slot;
        Some(v)
    }

    /// Reads the snapshot into `regs` (all zero on entry; vCPU callback
    /// context only), with the trapping instruction's real address as
    /// rip: `pc` is its address at translation, and rip read mid-block
    /// is stale (see [`crate::classify::real_pc`]). All registers are
    /// appended to one buffer cleared once. Slots whose bit is set in `skip` are not read
    /// and stay 0 (see [`LIGHT_SKIP`]); slots [`VcpuState::read_slot`]
    /// already read for this event keep that value.
    pub fn snapshot(&mut self, pc: u64, kind: crate::classify::Kind, skip: u32, regs: &mut Regs) {
        // General registers straight from env->regs when found: they
        // count as read, and the gdb path below skips them. (By bit: the
        // slots wanted and not read yet.)
        if let Some((env, wide)) = self.direct() {
            let mut gprs = !(skip | self.read) & 0xffff;
            while gprs != 0 {
                let slot = gprs.trailing_zeros() as usize;
                gprs &= gprs - 1;
                // SAFETY: `env` is this vCPU's env->regs, slot < 16.
                self.known[slot] = unsafe { envregs::read(env, slot, wide) };
            }
            let mut sys = !(skip | self.read) & self.sys_mask & !0xffff;
            while sys != 0 {
                let slot = sys.trailing_zeros() as usize;
                sys &= sys - 1;
                // SAFETY: `env` is this vCPU's env->regs and the offset the
                // confirmed place of `slot` in its state.
                self.known[slot] = unsafe { envregs::read_sys(env, self.sys[slot], slot, wide) };
            }
            self.read |= (!skip & 0xffff) | (!skip & self.sys_mask & !0xffff);
        }
        // Everything asked for read in place (the steady state once the
        // vCPU's state is located): only the read slots to copy, by bit.
        let left = !(skip | self.read) & self.handle_mask;
        if left == 0 {
            let mut bits = self.read & ((1u32 << NSLOTS) - 1);
            while bits != 0 {
                let slot = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                regmap::store(regs, slot, self.known[slot]);
            }
            return self.with_real_pc(regs, pc, kind);
        }
        self.buf.clear();
        let mut sizes = [0usize; NSLOTS];
        for (slot, size) in sizes.iter_mut().enumerate() {
            if (skip | self.read) & (1 << slot) != 0 {
                continue;
            }
            if let Some(h) = self.handles[slot] {
                *size = ffi::read_register(h, &mut self.buf).unwrap_or(0);
            }
        }
        let b = self.buf.as_slice();
        let mut off = 0usize;
        for (slot, &n) in sizes.iter().enumerate() {
            let end = (off + n).min(b.len());
            if n > 0 {
                regmap::store(regs, slot, regmap::decode_le(&b[off.min(end)..end]));
            } else if self.read & (1 << slot) != 0 {
                regmap::store(regs, slot, self.known[slot]);
            }
            off = end;
        }
        self.with_real_pc(regs, pc, kind)
    }

    /// `regs` with the trapping instruction's real address as rip (see
    /// [`VcpuState::snapshot`]).
    fn with_real_pc(&mut self, regs: &mut Regs, pc: u64, kind: crate::classify::Kind) {
        let rip = regs.rip();
        let buf = &mut self.buf;
        let real = crate::classify::real_pc(pc, rip, |cand| {
            // The block is shared with another mapping only if the code at
            // the candidate is the same trap instruction.
            let n = crate::classify::code_len_at(cand);
            buf.clear();
            ffi::read_memory_vaddr(cand, n, buf)
                && crate::classify::classify(&buf.as_slice()[..n]) == Some(kind)
        });
        regs.set(Reg::Rip, real);
    }
}

/// The slots a Linux trace without hooks, modifications or recording never
/// looks at in a syscall enter or a sysret/sysexit: r11 (the saved
/// flags), r12-r15 (no call's argument), rflags, ss and fs_base (user
/// TLS). Each register read goes through QEMU's gdb register path; these
/// are a third of the snapshot. An iret is always read in full (a return
/// from exec is recognised by every general register being zero).
pub const LIGHT_SKIP: u32 = (1 << Reg::R11 as u32)
    | (1 << Reg::R12 as u32)
    | (1 << Reg::R13 as u32)
    | (1 << Reg::R14 as u32)
    | (1 << Reg::R15 as u32)
    | (1 << Reg::Rflags as u32)
    | (1 << regmap::SLOT_SS)
    | (1 << regmap::SLOT_FS_BASE);

/// The general registers a 64-bit syscall enter may leave out beyond
/// [`LIGHT_SKIP`] when the engine reads only its `nargs` register
/// arguments (see `EarlyOut::enter_args`): rbx, rcx, rbp and the argument
/// registers past the last argument (rdi, rsi, rdx, r10, r8, r9 in order).
pub fn enter_skip(nargs: usize) -> u32 {
    const ARGS: [Reg; 6] = [Reg::Rdi, Reg::Rsi, Reg::Rdx, Reg::R10, Reg::R8, Reg::R9];
    let unused = ARGS.iter().skip(nargs).fold(0, |m, r| m | 1 << *r as u32);
    LIGHT_SKIP | unused | 1 << Reg::Rbx as u32 | 1 << Reg::Rcx as u32 | 1 << Reg::Rbp as u32
}

/// The general registers a 64-bit sysret may leave out beyond
/// [`LIGHT_SKIP`] when the engine allows it (see `EarlyOut::lazy_sysret`):
/// a return reads rax, rcx and rsp of them.
pub const SYSRET_SKIP: u32 = LIGHT_SKIP
    | (1 << Reg::Rbx as u32)
    | (1 << Reg::Rdx as u32)
    | (1 << Reg::Rsi as u32)
    | (1 << Reg::Rdi as u32)
    | (1 << Reg::Rbp as u32)
    | (1 << Reg::R8 as u32)
    | (1 << Reg::R9 as u32)
    | (1 << Reg::R10 as u32);

/// Page size used to split accesses, so a failure names the first page
/// that failed.
const PAGE: u64 = 4096;

/// Splits `[addr, addr + len)` into `(addr, len)` pieces that do not cross
/// a 4 KiB boundary, without allocating. Fails if the range exceeds
/// [`MAX_ACCESS`] or wraps past the top of the address space.
pub fn page_pieces(
    addr: u64,
    len: usize,
) -> Result<impl Iterator<Item = Result<(u64, usize), MemError>>, MemError> {
    if len as u64 > MAX_ACCESS {
        return Err(MemError::TooLong {
            addr,
            len: len as u64,
            cap: MAX_ACCESS,
        });
    }
    let mut done = 0usize;
    Ok(std::iter::from_fn(move || {
        if done >= len {
            return None;
        }
        let Some(a) = addr.checked_add(done as u64) else {
            done = len;
            return Some(Err(MemError::Unmapped(u64::MAX)));
        };
        let n = (PAGE - (a & (PAGE - 1))).min((len - done) as u64) as usize;
        done += n;
        Some(Ok((a, n)))
    }))
}

/// Guest virtual memory of the trapping vCPU's current address space.
pub struct QemuMem<'a> {
    vcpu: u32,
    buf: &'a mut ByteArray,
    scratch: &'a mut ByteArray,
    writes: &'a Backend,
    phys: PhysReader,
    ram: Option<&'a RamRanges>,
    /// Translations made during this event, of other spaces and of the
    /// current one (made on the first such read: most events never need
    /// one).
    walks: Option<WalkCache>,
    /// The trapping vCPU's own space when its reads may go through
    /// [`QemuMem::walks`] (long mode, physical reads available and
    /// bounded by a RAM map); None: every read takes QEMU's path.
    own_space: Option<Space>,
    /// Kernel large pages kept across events (a guest whose kernel half
    /// is the same in every space: Linux); None: walked every event.
    kernel: Option<&'a mut KernelPages>,
}

impl QemuMem<'_> {
    /// Reads `addr` of the current space through this event's walk cache:
    /// the engine's reads (attribution, fd names, the recording's names,
    /// argument buffers) touch a few pages many times, and QEMU's
    /// `cpu_memory_rw_debug` walks the page tables again for each one.
    /// Both walks ignore access rights and read the same tables, and the
    /// trapping vCPU does not run during the callback, so the bytes are
    /// those QEMU's path would read. None: no such space, or the walk
    /// failed (the caller then takes QEMU's path, so failures read as
    /// they always did).
    fn read_walked(&mut self, addr: u64, buf: &mut [u8]) -> Option<()> {
        let space = self.own_space?;
        self.read_virt_in(space, addr, buf).ok()
    }
}

impl VirtMem for QemuMem<'_> {
    fn read_virt(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        if self.read_walked(addr, buf).is_some() {
            return Ok(());
        }
        let mut off = 0;
        for piece in page_pieces(addr, buf.len())? {
            let (a, n) = piece?;
            if !ffi::read_memory_vaddr(a, n, self.buf) {
                return Err(MemError::Unmapped(a));
            }
            buf[off..off + n].copy_from_slice(&self.buf.as_slice()[..n]);
            off += n;
        }
        Ok(())
    }

    fn write_virt(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError> {
        // All or nothing: every page is checked before any is written.
        // QEMU writes through the physical page whatever the guest's
        // write bits say (as a debugger does): where this vCPU's page
        // tables can be walked, a page the guest maps read-only is
        // refused, as the guest's own store would fault (a read-only page
        // may be shared: see `WalkCache::check_writable`).
        if let Some(space) = self.own_space {
            let mut phys = QemuPhys {
                reader: self.phys,
                ram: self.ram,
                scratch: self.buf,
            };
            let walks = self.walks.get_or_insert_with(WalkCache::default);
            walks.check_writable(&mut phys, space, addr, data.len())?;
        }
        for piece in page_pieces(addr, data.len())? {
            let (a, _) = piece?;
            if !ffi::read_memory_vaddr(a, 1, self.buf) {
                return Err(MemError::Unmapped(a));
            }
        }
        let mut off = 0;
        for piece in page_pieces(addr, data.len())? {
            let (a, n) = piece?;
            self.writes
                .write_mem(self.vcpu, a, &data[off..off + n], self.scratch)
                .map_err(|reason| MemError::Other { addr: a, reason })?;
            off += n;
        }
        Ok(())
    }

    fn read_virt_in(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let mut phys = QemuPhys {
            reader: self.phys,
            ram: self.ram,
            scratch: self.buf,
        };
        // A kept kernel page first: the common read (the running task,
        // its times) then sets up no walk cache for the event.
        if let Some(pa) = self
            .kernel
            .as_deref_mut()
            .and_then(|k| k.lookup(space.mode, addr, buf.len()))
        {
            return phys.read_phys(pa, buf);
        }
        let walks = self.walks.get_or_insert_with(WalkCache::default);
        if let Some(k) = self.kernel.as_deref_mut() {
            if k.keeps(space.mode, addr) {
                if let Ok(t) = walks.translate(&mut phys, space, addr) {
                    k.offer(space.mode, addr, &t);
                }
            }
        }
        walks.read(&mut phys, space, addr, buf)
    }
}

/// The trapping vCPU, lent to the engine for one event.
pub struct QemuCpu<'a> {
    vcpu: u32,
    /// The event's registers, copied only once a hook or rule writes one
    /// (most events write none, and a copy is a few hundred bytes).
    regs: std::borrow::Cow<'a, Regs>,
    handles: &'a [Option<RegHandle>; NSLOTS],
    mem: QemuMem<'a>,
    /// What the signal probe saw before this return to user mode.
    probed: Option<crate::sigprobe::Stash>,
}

impl<'a> QemuCpu<'a> {
    /// `shared_kernel`: the guest's kernel half is the same in every
    /// address space and its large pages stay put (Linux), so their
    /// translations are kept across events ([`KernelPages`]).
    pub fn new(
        vcpu: u32,
        regs: &'a Regs,
        st: &'a mut VcpuState,
        writes: &'a Backend,
        phys: PhysReader,
        ram: Option<&'a RamRanges>,
        shared_kernel: bool,
    ) -> QemuCpu<'a> {
        let physical = ram.is_some() && !matches!(phys, PhysReader::Unsupported(_));
        let own_space = Space::current(regs)
            .filter(|s| physical && matches!(s.mode, PagingMode::Long4 | PagingMode::Long5));
        QemuCpu {
            vcpu,
            regs: std::borrow::Cow::Borrowed(regs),
            handles: &st.handles,
            mem: QemuMem {
                vcpu,
                buf: &mut st.buf,
                scratch: &mut st.scratch,
                writes,
                phys,
                ram,
                walks: None,
                own_space,
                kernel: shared_kernel.then_some(&mut st.kernel_pages),
            },
            probed: None,
        }
    }

    /// This event hands the engine what the signal probe saw (see
    /// [`crate::sigprobe::take_at_return`]).
    pub fn set_probed(&mut self, probed: Option<crate::sigprobe::Stash>) {
        self.probed = probed;
    }
}

impl Cpu for QemuCpu<'_> {
    fn regs(&self) -> &Regs {
        &self.regs
    }

    fn write_reg(&mut self, reg: Reg, value: u64) -> Result<(), CpuError> {
        if reg == Reg::Rip {
            // TCG stores the translation-time pc into env->eip right before
            // the trap instruction's helper: a write here would be lost.
            return Err(CpuError::WriteFailed {
                reg,
                reason: "rip cannot be changed at a trap under TCG".into(),
            });
        }
        if let Backend::Unsupported(why) = self.mem.writes {
            return Err(CpuError::WriteUnsupported(why.to_string()));
        }
        let bytes = value.to_le_bytes();
        // eflags is 4 bytes in QEMU's x86_64 gdb layout.
        let width = if reg == Reg::Rflags { 4 } else { 8 };
        self.mem
            .writes
            .write_reg(
                self.vcpu,
                self.handles[regmap::slot_for_reg(reg)],
                regmap::gdb_number(reg),
                &bytes[..width],
                self.mem.scratch,
            )
            .map_err(|reason| CpuError::WriteFailed { reg, reason })?;
        self.regs.to_mut().set(reg, value);
        Ok(())
    }

    fn mem(&mut self) -> &mut dyn VirtMem {
        &mut self.mem
    }

    fn probed_signal(&mut self) -> Option<vstrace_core::ProbedSignal> {
        self.probed.take().map(crate::sigprobe::Stash::to_probed)
    }
}

/// The slots (bit per slot) for which `f` holds.
fn slot_mask(f: impl Fn(usize) -> bool) -> u32 {
    (0..NSLOTS).fold(0, |m, slot| if f(slot) { m | 1 << slot } else { m })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(addr: u64, len: usize) -> Result<Vec<(u64, usize)>, MemError> {
        page_pieces(addr, len)?.collect()
    }

    #[test]
    fn lazy_masks_keep_what_a_call_reads() {
        let kept = |m: u32, r: Reg| m & (1 << r as u32) == 0;
        // getppid: no argument register.
        let m = enter_skip(0);
        for r in [Reg::Rax, Reg::Rsp, Reg::Rip] {
            assert!(kept(m, r), "{r:?}");
        }
        for r in [Reg::Rdi, Reg::R9, Reg::Rbx, Reg::Rcx, Reg::Rbp, Reg::R11] {
            assert!(!kept(m, r), "{r:?}");
        }
        // openat: rdi, rsi, rdx, r10.
        let m = enter_skip(4);
        for r in [Reg::Rdi, Reg::Rsi, Reg::Rdx, Reg::R10] {
            assert!(kept(m, r), "{r:?}");
        }
        assert!(!kept(m, Reg::R8) && !kept(m, Reg::R9));
        assert_eq!(enter_skip(6) & (1 << Reg::R9 as u32), 0);
        for r in [Reg::Rax, Reg::Rcx, Reg::Rsp, Reg::Rip] {
            assert!(kept(SYSRET_SKIP, r), "{r:?}");
        }
        // The system state is never left out.
        for s in [
            regmap::SLOT_CS,
            regmap::SLOT_CR3,
            regmap::SLOT_EFER,
            regmap::SLOT_GS_BASE,
        ] {
            assert!(enter_skip(0) & (1 << s) == 0 && SYSRET_SKIP & (1 << s) == 0);
        }
    }

    #[test]
    fn pieces_split_at_pages() {
        assert_eq!(pieces(0x1000, 0).unwrap(), vec![]);
        assert_eq!(pieces(0x1000, 16).unwrap(), vec![(0x1000, 16)]);
        assert_eq!(pieces(0x1ff8, 16).unwrap(), vec![(0x1ff8, 8), (0x2000, 8)]);
        assert_eq!(
            pieces(0x1fff, 0x2002).unwrap(),
            vec![(0x1fff, 1), (0x2000, 0x1000), (0x3000, 0x1000), (0x4000, 1)]
        );
    }

    #[test]
    fn pieces_reject_wrap_and_huge() {
        assert_eq!(pieces(u64::MAX - 3, 8), Err(MemError::Unmapped(u64::MAX)));
        assert!(matches!(
            pieces(0, (MAX_ACCESS + 1) as usize),
            Err(MemError::TooLong { .. })
        ));
    }
}
