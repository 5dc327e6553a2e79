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

use std::ffi::{c_int, c_void};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use crate::writes::lookup;

/// `CPUState *qemu_get_cpu(int index)`.
type GetCpu = unsafe extern "C" fn(c_int) -> *mut c_void;

/// How much of the vCPU object is searched for `env->regs`.
pub const SCAN: usize = 256 * 1024;
/// Events between two checks of the direct reads against the gdb path.
pub const CHECK_EVERY: u32 = 1024;
/// Calibration attempts per vCPU before it keeps the gdb path.
pub const MAX_TRIES: u8 = 32;

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
    let mem = std::fs::File::open("/proc/self/mem").ok()?;
    // The readable part of the object's first SCAN bytes, a page at a
    // time (a page past the end of the heap reads as an error).
    let mut hay = vec![0u8; SCAN];
    let mut len = 0;
    while len < SCAN {
        let end = (len + 4096).min(SCAN);
        match mem.read_at(&mut hay[len..end], (cpu + len) as u64) {
            Ok(n) if n > 0 => len += n,
            _ => break,
        }
    }
    hay.truncate(len);
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
