//! The general registers read straight from the vCPU's `CPUX86State`
//! instead of through QEMU's gdb register path.
//!
//! `qemu_plugin_read_register` goes through `gdb_read_register`: a QOM
//! class cast, the x86 gdb switch, a `GByteArray` append and our decode
//! of its bytes, for each register. Profiled on a syscall loop, that path
//! was over half of the event source's cost (most of what separates it
//! from a plugin that registers the same callbacks and does nothing).
//! In a callback registered with register access, TCG has stored the
//! general registers in `env->regs[16]` (what the gdb path reads too), so
//! they can be read there directly.
//!
//! Where `env->regs` lies inside the vCPU object depends on the QEMU
//! build, so it is found at run time, not assumed: the sixteen values
//! the gdb path gives are looked for, in QEMU's order, in the first
//! [`SCAN`] bytes of the object (`qemu_get_cpu`, resolved with `dlsym`
//! like [`crate::lazy`]'s internals), read through `/proc/self/mem` so
//! that a page past the object's end is an error, not a crash. The place
//! is used only when it is the one match of values varied enough to mean
//! something, and it is checked again against the gdb path every
//! [`CHECK_EVERY`] events; a mismatch turns the direct reads off for
//! good (every vCPU), and the gdb path serves as before.
//!
//! The other registers of the snapshot (rip, the cs and ss selectors,
//! the fs/gs/kernel-gs bases, cr0, cr3, cr4 and efer: what decides
//! whether an event matters and whose it is) are found the same way once
//! `env->regs` is known ([`find_sys`]): each by the values the gdb path
//! gives, in the shape `CPUX86State` keeps them (eip right after the
//! general registers; `SegmentCache segs[6]` of selector, base, limit
//! and flags; `cr[5]`; efer a little after it; `kernelgsbase` further),
//! each only as the one match, used after a later event confirms it, and
//! checked with the general registers. rflags stays on the gdb path
//! (QEMU computes it from the lazy condition codes).

use std::ffi::{c_int, c_void};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use crate::regmap::{
    NSLOTS, SLOT_CR0, SLOT_CR3, SLOT_CR4, SLOT_CS, SLOT_EFER, SLOT_FS_BASE, SLOT_GS_BASE,
    SLOT_K_GS_BASE, SLOT_SS,
};
use crate::writes::lookup;

/// `CPUState *qemu_get_cpu(int index)`.
type GetCpu = unsafe extern "C" fn(c_int) -> *mut c_void;

/// How much of the vCPU object is searched for `env->regs`.
pub const SCAN: usize = 256 * 1024;
/// Events between two checks of the direct reads against the gdb path.
pub const CHECK_EVERY: u32 = 1024;
/// Calibration attempts per vCPU before it keeps the gdb path.
pub const MAX_TRIES: u8 = 32;

/// How much of `CPUX86State`, from `env->regs`, is searched for the
/// other registers (the state is a few KiB before its large vector and
/// tile registers; `kernelgsbase` lies after the FPU and vector state).
pub const SYS_SCAN: usize = 16 * 1024;

/// The slot of rip (right after the sixteen general registers).
pub const SLOT_RIP: usize = 16;

/// Offsets from `env->regs` of the other snapshot slots (0: not found,
/// read through the gdb path; no other slot lies at offset 0).
pub type SysOffsets = [u32; NSLOTS];

/// The most slots besides the general registers any vCPU reads in
/// place (for the debug summary).
static SYS_SLOTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Notes that a vCPU reads `n` slots besides the general registers in place.
pub fn note_sys_slots(n: u32) {
    SYS_SLOTS.fetch_max(n, Ordering::Relaxed);
}

/// A line for the debug summary: what is read in place.
pub fn describe() -> String {
    format!(
        "direct register reads: {} (general registers and {} other slots)",
        if enabled() { "on" } else { "off" },
        SYS_SLOTS.load(Ordering::Relaxed)
    )
}

/// Set when a check found the direct reads wrong: never used again.
static DISABLED: AtomicBool = AtomicBool::new(false);

/// `env->regs` index of each general-register slot (the snapshot's gdb
/// order rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8..r15; QEMU's is
/// rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15).
pub const ENV_INDEX: [usize; 16] = [0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15];

/// Whether direct reads may be used (no check has failed).
pub fn enabled() -> bool {
    !DISABLED.load(Ordering::Relaxed)
}

/// Turns the direct reads off for every vCPU (a check failed).
pub fn disable() {
    if !DISABLED.swap(true, Ordering::Relaxed) {
        eprintln!(
            "vstrace-plugin: registers read from the vCPU state disagree with QEMU's \
             register API; using the API from now on"
        );
    }
}

/// The object of vCPU `vcpu`, when QEMU exports `qemu_get_cpu`.
pub fn cpu_object(vcpu: u32) -> Option<usize> {
    static GET: OnceLock<Option<GetCpu>> = OnceLock::new();
    let get = (*GET.get_or_init(|| {
        let f = lookup(c"qemu_get_cpu")?;
        // SAFETY: QEMU's `qemu_get_cpu` (include/hw/core/cpu.h) has this
        // C signature; a symbol of that name in the QEMU binary is it.
        Some(unsafe { std::mem::transmute::<*mut c_void, GetCpu>(f) })
    }))?;
    let index = c_int::try_from(vcpu).ok()?;
    // SAFETY: `qemu_get_cpu` only walks QEMU's CPU list; an index with no
    // CPU gives NULL.
    let p = unsafe { get(index) };
    (!p.is_null()).then_some(p as usize)
}

/// The general registers in QEMU's `env->regs` order, from values in
/// the snapshot's slot order.
pub fn env_order(slots: &[u64; 16]) -> [u64; 16] {
    let mut out = [0u64; 16];
    for (slot, &i) in ENV_INDEX.iter().enumerate() {
        out[i] = slots[slot];
    }
    out
}

/// Whether a register set is varied enough for its one match to be its
/// place: at least six different values, not counting zero.
pub fn distinctive(env: &[u64; 16]) -> bool {
    let mut v: Vec<u64> = env.iter().copied().filter(|x| *x != 0).collect();
    v.sort_unstable();
    v.dedup();
    v.len() >= 6
}

/// The offset, 8-byte aligned, of the one place in `hay` holding the
/// sixteen words `env`; None when there is none or more than one.
pub fn find_unique(hay: &[u8], env: &[u64; 16]) -> Option<usize> {
    let mut want = [0u8; 128];
    for (k, w) in env.iter().enumerate() {
        want[8 * k..8 * k + 8].copy_from_slice(&w.to_le_bytes());
    }
    let mut found = None;
    let mut off = 0;
    while off + want.len() <= hay.len() {
        if hay[off..off + 8] == want[..8] && hay[off..off + want.len()] == want {
            if found.is_some() {
                return None;
            }
            found = Some(off);
        }
        off += 8;
    }
    found
}

/// The address of `env->regs` in the object at `cpu`, found from the
/// general registers `env` (QEMU's order) as the gdb path read them.
pub fn locate(cpu: usize, env: &[u64; 16]) -> Option<usize> {
    if !distinctive(env) {
        return None;
    }
    // The readable part of the object's first SCAN bytes.
    let hay = read_object(cpu, SCAN)?;
    find_unique(&hay, env).map(|off| cpu + off)
}

/// General register `slot` (snapshot order) from `env->regs` at `regs`,
/// as the gdb path shows it: whole when the vCPU runs 64-bit code
/// (`wide`), else its low half, and 0 for r8-r15.
///
/// # Safety
/// `regs` must be the address [`locate`] found for the vCPU whose
/// callback is running (its `env->regs`, valid while the vCPU exists),
/// and `slot` below 16.
pub unsafe fn read(regs: usize, slot: usize, wide: bool) -> u64 {
    let p = (regs as *const u64).wrapping_add(ENV_INDEX[slot]);
    // SAFETY: per this function's contract, `p` is one of the sixteen
    // aligned words of the running vCPU's `env->regs`, which TCG stored
    // before the callback and nothing else writes during it.
    let v = unsafe { std::ptr::read_volatile(p) };
    match (wide, slot < 8) {
        (true, _) => v,
        (false, true) => v & 0xffff_ffff,
        (false, false) => 0,
    }
}

/// The value of a word of `hay` (little-endian, 8 bytes at `off`).
fn word(hay: &[u8], off: usize) -> Option<u64> {
    let b = hay.get(off..off.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

/// The value of a 32-bit field of `hay` at `off`.
fn half(hay: &[u8], off: usize) -> Option<u32> {
    let b = hay.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

/// The one 8-aligned offset in `range` where `is_at` holds; None when
/// there is none or more than one.
fn unique(range: std::ops::Range<usize>, is_at: impl Fn(usize) -> bool) -> Option<usize> {
    let mut found = None;
    for off in range.step_by(8) {
        if is_at(off) {
            if found.is_some() {
                return None;
            }
            found = Some(off);
        }
    }
    found
}

/// Where the other snapshot slots lie in `hay` (the vCPU state from
/// `env->regs` on), from their values `vals` as the gdb path read them
/// in 64-bit code (slot order; None: not read). A slot is found only
/// from values that tell it apart (not zero, the selectors different;
/// the bases may be zero, the selectors place them), and only as the
/// one match of its shape:
/// - rip: `eip` right after the general registers;
/// - cs, ss, fs_base, gs_base: `segs[6]` (24-byte `SegmentCache`s of a
///   32-bit selector, a base, a limit and flags; ES, CS, SS, DS, FS, GS),
///   cs and ss by their selectors, the bases from the same array;
/// - cr0, cr3, cr4: `cr[5]`;
/// - efer: after `cr` (a small value: searched only in the next KiB);
/// - k_gs_base: anywhere in `hay`.
pub fn find_sys(hay: &[u8], vals: &[Option<u64>; NSLOTS]) -> SysOffsets {
    let mut out = [0u32; NSLOTS];
    let mut put = |slot: usize, off: usize| {
        if let Ok(o) = u32::try_from(off) {
            out[slot] = o;
        }
    };
    let val = |slot: usize| vals[slot].filter(|v| *v != 0);
    let start = 8 * 16;
    if let Some(rip) = val(SLOT_RIP) {
        if word(hay, start) == Some(rip) {
            put(SLOT_RIP, start);
        }
    }
    if let (Some(cs), Some(ss)) = (val(SLOT_CS), val(SLOT_SS)) {
        let fs = vals[SLOT_FS_BASE].unwrap_or(0);
        let gs = vals[SLOT_GS_BASE].unwrap_or(0);
        if cs != ss {
            let at = |o: usize| {
                half(hay, o + 24).map(u64::from) == Some(cs)
                    && half(hay, o + 48).map(u64::from) == Some(ss)
                    && word(hay, o + 4 * 24 + 8) == Some(fs)
                    && word(hay, o + 5 * 24 + 8) == Some(gs)
            };
            if let Some(o) = unique(start..hay.len(), at) {
                put(SLOT_CS, o + 24);
                put(SLOT_SS, o + 48);
                put(SLOT_FS_BASE, o + 4 * 24 + 8);
                put(SLOT_GS_BASE, o + 5 * 24 + 8);
            }
        }
    }
    if let (Some(cr0), Some(cr3), Some(cr4)) = (val(SLOT_CR0), val(SLOT_CR3), val(SLOT_CR4)) {
        if cr0 != cr3 && cr3 != cr4 && cr0 != cr4 {
            let at = |o: usize| {
                word(hay, o) == Some(cr0)
                    && word(hay, o + 24) == Some(cr3)
                    && word(hay, o + 32) == Some(cr4)
            };
            if let Some(o) = unique(start..hay.len(), at) {
                put(SLOT_CR0, o);
                put(SLOT_CR3, o + 24);
                put(SLOT_CR4, o + 32);
                if let Some(efer) = val(SLOT_EFER) {
                    let from = o + 40;
                    let to = (from + 1024).min(hay.len());
                    if let Some(e) = unique(from..to, |p| word(hay, p) == Some(efer)) {
                        put(SLOT_EFER, e);
                    }
                }
            }
        }
    }
    if let Some(kgs) = val(SLOT_K_GS_BASE) {
        if Some(kgs) != vals[SLOT_GS_BASE] && Some(kgs) != vals[SLOT_FS_BASE] {
            if let Some(o) = unique(start..hay.len(), |p| word(hay, p) == Some(kgs)) {
                put(SLOT_K_GS_BASE, o);
            }
        }
    }
    out
}

/// The vCPU state from `env->regs` at `regs` on (its readable part of
/// [`SYS_SCAN`] bytes), read through `/proc/self/mem`.
pub fn state_bytes(regs: usize) -> Option<Vec<u8>> {
    read_object(regs, SYS_SCAN)
}

/// Up to `size` readable bytes at `addr`, a page at a time (a page past
/// the end of the heap reads as an error, which ends the read).
fn read_object(addr: usize, size: usize) -> Option<Vec<u8>> {
    let mem = std::fs::File::open("/proc/self/mem").ok()?;
    let mut hay = vec![0u8; size];
    let mut len = 0;
    while len < size {
        let end = (len + 4096).min(size);
        match mem.read_at(&mut hay[len..end], (addr + len) as u64) {
            Ok(n) if n > 0 => len += n,
            _ => break,
        }
    }
    hay.truncate(len);
    Some(hay)
}

/// Snapshot slot `slot` (not a general register) at offset `off` from
/// `env->regs` at `regs`, as the gdb path shows it: rip whole in 64-bit
/// code (`wide`), else its low half; a selector's 32 bits; the other
/// registers whole (QEMU's x86-64 gdb stub always shows them so).
///
/// # Safety
/// `regs` must be the running vCPU's `env->regs` ([`locate`]) and `off`
/// an offset [`find_sys`] found for `slot` in its state (confirmed).
pub unsafe fn read_sys(regs: usize, off: u32, slot: usize, wide: bool) -> u64 {
    let p = regs.wrapping_add(off as usize);
    match slot {
        SLOT_CS | SLOT_SS => {
            // SAFETY: per the contract, a 4-aligned selector field of the
            // running vCPU's state, which nothing writes during the callback.
            u64::from(unsafe { std::ptr::read_volatile(p as *const u32) })
        }
        _ => {
            // SAFETY: per the contract, an 8-aligned word of the running
            // vCPU's state, which nothing writes during the callback.
            let v = unsafe { std::ptr::read_volatile(p as *const u64) };
            if slot == SLOT_RIP && !wide {
                v & 0xffff_ffff
            } else {
                v
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_order_is_qemus() {
        let slots: [u64; 16] = std::array::from_fn(|i| i as u64 + 100);
        let env = env_order(&slots);
        // rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi.
        assert_eq!(&env[..8], &[100, 102, 103, 101, 107, 106, 104, 105]);
        assert_eq!(&env[8..], &slots[8..]);
    }

    #[test]
    fn a_unique_varied_match_is_found() {
        let env: [u64; 16] = std::array::from_fn(|i| 0x1000 + i as u64 * 7);
        let mut hay = vec![0u8; 4096];
        for (k, w) in env.iter().enumerate() {
            hay[256 + 8 * k..264 + 8 * k].copy_from_slice(&w.to_le_bytes());
        }
        assert!(distinctive(&env));
        assert_eq!(find_unique(&hay, &env), Some(256));
        // A second copy: ambiguous.
        let copy = hay[256..384].to_vec();
        hay[1024..1152].copy_from_slice(&copy);
        assert_eq!(find_unique(&hay, &env), None);
        // Too short, unaligned or absent: none.
        assert_eq!(find_unique(&hay[..300], &env), None);
        assert_eq!(find_unique(&[0u8; 100], &env), None);
    }

    /// A `CPUX86State`-shaped buffer from `env->regs` on: eip after the
    /// general registers, `segs` at 0xb0, `cr` at 0x240, efer at 0x2c0,
    /// kernelgsbase at 0x1a08.
    fn state(vals: &[Option<u64>; NSLOTS]) -> Vec<u8> {
        let mut hay = vec![0u8; 0x2000];
        let mut put = |off: usize, v: u64, n: usize| {
            hay[off..off + n].copy_from_slice(&v.to_le_bytes()[..n]);
        };
        let v = |s: usize| vals[s].unwrap_or(0);
        put(128, v(SLOT_RIP), 8);
        let segs = 0xb0;
        put(segs + 24, v(SLOT_CS), 4);
        put(segs + 48, v(SLOT_SS), 4);
        put(segs + 4 * 24 + 8, v(SLOT_FS_BASE), 8);
        put(segs + 5 * 24 + 8, v(SLOT_GS_BASE), 8);
        // Limits and flags of the segments: other values.
        put(segs + 24 + 16, 0xffff_ffff, 4);
        put(segs + 24 + 20, 0x00a0_fb00, 4);
        put(0x240, v(SLOT_CR0), 8);
        put(0x240 + 24, v(SLOT_CR3), 8);
        put(0x240 + 32, v(SLOT_CR4), 8);
        put(0x2c0, v(SLOT_EFER), 8);
        put(0x1a08, v(SLOT_K_GS_BASE), 8);
        hay
    }

    fn user_mode() -> [Option<u64>; NSLOTS] {
        let mut vals = [None; NSLOTS];
        vals[SLOT_RIP] = Some(0x40_1a2b);
        vals[SLOT_CS] = Some(0x33);
        vals[SLOT_SS] = Some(0x2b);
        vals[SLOT_FS_BASE] = Some(0x4c_8380);
        vals[SLOT_GS_BASE] = Some(0);
        vals[SLOT_K_GS_BASE] = Some(0xffff_8880_3ec0_0000);
        vals[SLOT_CR0] = Some(0x8005_0033);
        vals[SLOT_CR3] = Some(0x0248_6000);
        vals[SLOT_CR4] = Some(0x0036_06f0);
        vals[SLOT_EFER] = Some(0xd01);
        vals
    }

    #[test]
    fn the_other_registers_are_found_by_their_shape() {
        let vals = user_mode();
        let hay = state(&vals);
        let off = find_sys(&hay, &vals);
        assert_eq!(off[SLOT_RIP], 128);
        assert_eq!(off[SLOT_CS], 0xb0 + 24);
        assert_eq!(off[SLOT_SS], 0xb0 + 48);
        assert_eq!(off[SLOT_FS_BASE], 0xb0 + 104);
        assert_eq!(off[SLOT_GS_BASE], 0xb0 + 128);
        assert_eq!(off[SLOT_CR0], 0x240);
        assert_eq!(off[SLOT_CR3], 0x240 + 24);
        assert_eq!(off[SLOT_CR4], 0x240 + 32);
        assert_eq!(off[SLOT_EFER], 0x2c0);
        assert_eq!(off[SLOT_K_GS_BASE], 0x1a08);
        // Read back in place: the selector's 32 bits, rip's low half in
        // 32-bit code.
        let base = hay.as_ptr() as usize;
        // SAFETY: offsets found in `hay`, alive here.
        unsafe {
            assert_eq!(read_sys(base, off[SLOT_CS], SLOT_CS, true), 0x33);
            assert_eq!(read_sys(base, off[SLOT_CR3], SLOT_CR3, true), 0x0248_6000);
            assert_eq!(read_sys(base, off[SLOT_RIP], SLOT_RIP, false), 0x40_1a2b);
        }
    }

    #[test]
    fn ambiguous_or_indistinct_registers_stay_on_the_gdb_path() {
        let vals = user_mode();
        let mut hay = state(&vals);
        // A second copy of kernelgsbase and of the cr array.
        hay[0x1c00..0x1c08].copy_from_slice(&0xffff_8880_3ec0_0000u64.to_le_bytes());
        let cr = hay[0x240..0x268].to_vec();
        hay[0x1800..0x1828].copy_from_slice(&cr);
        let off = find_sys(&hay, &vals);
        assert_eq!(off[SLOT_K_GS_BASE], 0);
        assert_eq!((off[SLOT_CR3], off[SLOT_EFER]), (0, 0));
        assert_eq!(off[SLOT_CS], 0xb0 + 24);
        // Zero bases: the selectors place the segments. Equal selectors
        // do not; rip not where eip is.
        let mut vals = user_mode();
        vals[SLOT_FS_BASE] = Some(0);
        let mut hay = state(&vals);
        hay[128] ^= 1;
        let off = find_sys(&hay, &vals);
        assert_eq!((off[SLOT_FS_BASE], off[SLOT_RIP]), (0xb0 + 104, 0));
        vals[SLOT_SS] = vals[SLOT_CS];
        let hay = state(&vals);
        let off = find_sys(&hay, &vals);
        assert_eq!((off[SLOT_CS], off[SLOT_FS_BASE]), (0, 0));
        // Nothing read: nothing found.
        assert_eq!(find_sys(&hay, &[None; NSLOTS]), [0; NSLOTS]);
        assert_eq!(find_sys(&[], &user_mode()), [0; NSLOTS]);
    }

    #[test]
    fn a_register_set_of_few_values_is_not_distinctive() {
        let mut env = [0u64; 16];
        env[0] = 39;
        env[4] = 0x7ffc_0000;
        assert!(!distinctive(&env));
    }

    #[test]
    fn locate_reads_this_process() {
        let env: [u64; 16] = std::array::from_fn(|i| 0xdead_0000 + i as u64 * 0x11);
        let mut obj = vec![0u64; 2048];
        obj[300..316].copy_from_slice(&env);
        let base = obj.as_ptr() as usize;
        assert_eq!(locate(base, &env), Some(base + 300 * 8));
        // SAFETY: the address found is obj[300..316], alive here.
        assert_eq!(unsafe { read(base + 300 * 8, 1, true) }, env[3]);
        // 32-bit code: low halves, no r8-r15.
        // SAFETY: as above.
        let half = unsafe { read(base + 300 * 8, 1, false) };
        assert_eq!(half, env[3] & 0xffff_ffff);
        // SAFETY: as above.
        assert_eq!(unsafe { read(base + 300 * 8, 9, false) }, 0);
    }
}
