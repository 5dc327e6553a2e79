//! The signal probe: an exec callback on the first instruction of Linux's
//! `signal_setup_done(int failed, struct ksignal *ksig, int stepping)`,
//! which reads the kernel's siginfo of the signal being delivered while
//! it is still intact (see `vstrace_linux::profile::sysmap`): a handler
//! without SA_SIGINFO gets none in its frame, and strace shows the
//! kernel's (`{si_signo=SIGALRM, si_code=SI_KERNEL}`).
//!
//! Where: the profile's link address of the function (from a System.map;
//! a profile without one has no probe and nothing here runs). With KASLR
//! the runtime address is the link address plus a slide that is a
//! multiple of 2 MiB, so at translation every kernel instruction whose
//! address has the link address's low 21 bits is a candidate (a handful
//! in the whole kernel); the callback then knows the exact address once
//! the slide is: a candidate's own slide is taken when `init_task` reads
//! back at its slid address (its `comm` is `swapper...` and it is its own
//! parent, as [`vstrace_linux::profile::runtime::kaslr_slide`] checks
//! it), and refuted candidates are remembered. Other instructions get no
//! callback at all.
//!
//! What: the `ksignal` pointer (rsi on x86-64; edx on i386, whose kernels
//! take the first three arguments in eax, edx, ecx), then one read of the
//! siginfo and the signal number after it. The result is kept per vCPU
//! and handed to the engine at that vCPU's next return to user mode
//! ([`take_at_return`]), which is the return into the handler unless the
//! thread was switched out in between: then another thread's return takes
//! it and drops it, and the delivery shows the number only, as without a
//! probe. Guest memory and registers are not trusted: anything that does
//! not read back sane leaves no stash.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use vstrace_core::{ProbedSignal, Reg};
use vstrace_linux::profile::sysmap::KsignalLayout;
use vstrace_linux::profile::LinuxProfile;

use crate::classify::Kind;
use crate::cpu::VcpuState;
use crate::ffi;

/// KASLR moves the kernel image by multiples of this.
const SLIDE_ALIGN: u64 = 2 << 20;
/// Largest siginfo kept (the probe's read is bounded by
/// [`KsignalLayout::plausible`]).
const MAX_INFO: usize = 128;
/// Refuted candidates remembered (a kernel has a few dozen at most).
const MAX_REFUTED: usize = 256;
/// Slide value meaning "not known yet".
const UNKNOWN: u64 = u64::MAX;

/// The probe of one kernel, from its profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Link address of `signal_setup_done`.
    link: u64,
    /// Lowest kernel address (candidates are at or above it).
    kernel_min: u64,
    /// 64-bit kernel (the ksignal in rsi; else edx, 32-bit).
    kernel64: bool,
    layout: KsignalLayout,
    /// `init_task`'s link address and the offsets of its `comm` and
    /// `real_parent`, to check a candidate slide.
    init_task: u64,
    comm: u64,
    real_parent: u64,
}

impl Probe {
    /// The probe of a profile that has one (and a sane layout).
    pub fn from_profile(p: &LinuxProfile) -> Option<Probe> {
        let sp = p.signal_probe?;
        if !sp.ksignal.plausible() {
            return None;
        }
        Some(Probe {
            link: sp.addr,
            kernel_min: p.kernel_min,
            kernel64: p.pointer_size == 8,
            layout: sp.ksignal,
            init_task: p.init_task,
            comm: p.task.comm,
            real_parent: p.task.real_parent,
        })
    }

    /// Whether the instruction at `vaddr` may be the probed one (checked
    /// at translation): a kernel address the link address slid by a
    /// multiple of 2 MiB lands on. Once the slide is known (`slide`, or
    /// [`UNKNOWN`]), only the exact address.
    pub fn candidate(&self, vaddr: u64, slide: u64) -> bool {
        if slide != UNKNOWN {
            return vaddr == self.link.wrapping_add(slide);
        }
        let top = if self.kernel64 {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        };
        vaddr >= self.kernel_min && vaddr <= top && (vaddr ^ self.link) & (SLIDE_ALIGN - 1) == 0
    }

    /// Whether `slide` is the kernel's: `init_task` at its slid address
    /// is named `swapper...` and is its own parent. `read` reads guest
    /// memory (None: unreadable).
    fn slide_holds(&self, slide: u64, read: &mut dyn FnMut(u64, usize) -> Option<Vec<u8>>) -> bool {
        let task = self.init_task.wrapping_add(slide);
        let Some(comm) = read(task.wrapping_add(self.comm), 7) else {
            return false;
        };
        if comm != b"swapper" {
            return false;
        }
        let w = if self.kernel64 { 8 } else { 4 };
        let Some(b) = read(task.wrapping_add(self.real_parent), w) else {
            return false;
        };
        let mut v = [0u8; 8];
        v[..w].copy_from_slice(&b[..w]);
        u64::from_le_bytes(v) == task
    }

    /// Parses what the probe read at `ksig + layout.info` (the siginfo,
    /// then through `sig`): a stash when the number is a signal and the
    /// siginfo says the same (a torn or hostile read gives none).
    pub fn parse(&self, bytes: &[u8]) -> Option<Stash> {
        let l = self.layout;
        let size = usize::try_from(l.info_size).ok()?.min(MAX_INFO);
        let at = usize::try_from(l.sig - l.info).ok()?;
        let sig = u32::from_le_bytes(*bytes.get(at..)?.first_chunk::<4>()?);
        let own = u32::from_le_bytes(*bytes.first_chunk::<4>()?);
        if !(1..=64).contains(&sig) || own != sig {
            return None;
        }
        let mut info = [0u8; MAX_INFO];
        info[..size].copy_from_slice(bytes.get(..size)?);
        Some(Stash {
            signo: sig,
            info,
            len: size as u8,
        })
    }
}

/// What the probe read of one delivery, kept on its vCPU (no allocation
/// in the callback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stash {
    signo: u32,
    info: [u8; MAX_INFO],
    len: u8,
}

impl Stash {
    /// As the engine gets it.
    pub fn to_probed(self) -> ProbedSignal {
        ProbedSignal {
            signo: self.signo,
            info: self.info[..usize::from(self.len)].to_vec(),
        }
    }
}

/// The stash a trap of `kind` hands to the engine: at a return to user
/// mode (`to_user`: sysret and sysexit always are; an iret when its frame
/// says so) the vCPU's stash is taken, whatever the engine does with it,
/// so that it is only ever seen at the first return after the probe. A
/// delivery returns by iret (the kernel changed the return ip), so a
/// sysret or sysexit (another thread, switched in before the handler's
/// return) only drops it. Enters and irets to the kernel (an interrupt
/// between the probe and the return) leave it.
pub fn take_at_return(stash: &mut Option<Stash>, kind: Kind, to_user: bool) -> Option<Stash> {
    match kind {
        Kind::Sysret32 | Kind::Sysret64 | Kind::Sysexit32 | Kind::Sysexit64 => {
            *stash = None;
            None
        }
        Kind::Iret16 | Kind::Iret32 | Kind::Iret64 if to_user => stash.take(),
        _ => None,
    }
}

/// The probe of the traced kernel (set once, at install, from the
/// engine's profile).
static PROBE: OnceLock<Probe> = OnceLock::new();
/// The kernel's slide once a candidate proved it ([`UNKNOWN`] before).
static SLIDE: AtomicU64 = AtomicU64::new(UNKNOWN);
/// Candidates whose slide did not hold.
static REFUTED: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// `VSTRACE_PLUGIN_DEBUG`: say where the probe found the kernel.
static DEBUG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns the probe on for `profile` (if it has one; the first one given
/// stays). Blocks translated before are not instrumented: called at
/// install, before any, or by a listening plugin before the code-cache
/// flush of an attach.
pub fn install(profile: Option<&LinuxProfile>, debug: bool) -> bool {
    DEBUG.store(debug, Ordering::Relaxed);
    match profile.and_then(Probe::from_profile) {
        Some(p) => PROBE.set(p).is_ok(),
        None => false,
    }
}

/// At translation: whether the instruction at `vaddr` gets the probe.
pub fn wants(vaddr: u64) -> bool {
    PROBE
        .get()
        .is_some_and(|p| p.candidate(vaddr, SLIDE.load(Ordering::Relaxed)))
}

/// Whether the callback at `pc` has work: the probed address, or a
/// candidate not refuted yet while the slide is unknown. Checked before
/// the vCPU's state is locked: blocks translated before the slide was
/// known keep their callback on wrong candidates.
pub fn may_hit(pc: u64) -> bool {
    let Some(p) = PROBE.get() else { return false };
    match SLIDE.load(Ordering::Relaxed) {
        UNKNOWN => !REFUTED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&pc),
        slide => pc == p.link.wrapping_add(slide),
    }
}

/// The callback's work on the vCPU `st` at the candidate `pc`: checks
/// the address, then stashes what it reads (vCPU callback context only).
pub fn hit(st: &mut VcpuState, pc: u64) {
    let Some(p) = PROBE.get() else { return };
    let slide = SLIDE.load(Ordering::Relaxed);
    if slide == UNKNOWN {
        let cand = pc.wrapping_sub(p.link);
        let mut read = |a: u64, n: usize| {
            ffi::read_memory_vaddr(a, n, &mut st.buf).then(|| st.buf.as_slice()[..n].to_vec())
        };
        if !p.slide_holds(cand, &mut read) {
            let mut r = REFUTED.lock().unwrap_or_else(|e| e.into_inner());
            if r.len() < MAX_REFUTED {
                r.push(pc);
            }
            return;
        }
        SLIDE.store(cand, Ordering::Relaxed);
        if DEBUG.load(Ordering::Relaxed) {
            eprintln!("vstrace-plugin: signal probe at {pc:#x} (KASLR slide {cand:#x})");
        }
    } else if pc != p.link.wrapping_add(slide) {
        return;
    }
    let ksig = if p.kernel64 {
        st.read_slot(Reg::Rsi as usize)
    } else {
        st.read_slot(Reg::Rdx as usize).map(|v| v & 0xffff_ffff)
    };
    let Some(ksig) = ksig.filter(|a| *a >= p.kernel_min) else {
        return;
    };
    let len = p.layout.read_len() as usize;
    let at = ksig.wrapping_add(p.layout.info);
    st.sig_stash = if ffi::read_memory_vaddr(at, len, &mut st.buf) {
        p.parse(&st.buf.as_slice()[..len])
    } else {
        None
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(kernel64: bool) -> Probe {
        Probe {
            link: if kernel64 {
                0xffff_ffff_810b_6d70
            } else {
                0xc108_68c0
            },
            kernel_min: if kernel64 {
                0xff00_0000_0000_0000
            } else {
                0xc000_0000
            },
            kernel64,
            layout: KsignalLayout::known(if kernel64 { 8 } else { 4 }),
            init_task: if kernel64 {
                0xffff_ffff_82a1_aa40
            } else {
                0xc1c5_04c0
            },
            comm: 0x100,
            real_parent: 0x80,
        }
    }

    #[test]
    fn candidates_share_the_low_21_bits() {
        let p = probe(true);
        let slide = 0x1e00_0000; // 15 x 2 MiB
        assert!(p.candidate(p.link, UNKNOWN));
        assert!(p.candidate(p.link + slide, UNKNOWN));
        assert!(p.candidate(p.link - (4 << 20), UNKNOWN));
        // Off by a page, or an instruction further: no callback.
        assert!(!p.candidate(p.link + slide + 0x1000, UNKNOWN));
        assert!(!p.candidate(p.link + 1, UNKNOWN));
        // User addresses never.
        assert!(!p.candidate(p.link & 0x1f_ffff, UNKNOWN));
        // Slide known: the exact address only.
        assert!(p.candidate(p.link + slide, slide));
        assert!(!p.candidate(p.link + slide + (2 << 20), slide));
        // i386: at most 4 GiB, above PAGE_OFFSET.
        let p = probe(false);
        assert!(p.candidate(p.link + (8 << 20), UNKNOWN));
        assert!(!p.candidate(p.link + (1 << 32), UNKNOWN));
        assert!(!p.candidate(p.link - 0x4000_0000, UNKNOWN));
    }

    #[test]
    fn a_slide_holds_where_init_task_reads_back() {
        let p = probe(true);
        let slide = 0x2_0000_0000u64 & !(SLIDE_ALIGN - 1);
        let task = p.init_task + slide;
        let mut mem = |a: u64, n: usize| -> Option<Vec<u8>> {
            if a == task + p.comm {
                Some(b"swapper/0"[..n].to_vec())
            } else if a == task + p.real_parent {
                Some(task.to_le_bytes()[..n].to_vec())
            } else {
                None
            }
        };
        assert!(p.slide_holds(slide, &mut mem));
        assert!(!p.slide_holds(slide + SLIDE_ALIGN, &mut mem));
        assert!(!p.slide_holds(0, &mut mem));
    }

    /// The bytes at ksig + info: siginfo words, then `sig` after it.
    fn read(p: &Probe, words: &[u32], sig: u32) -> Vec<u8> {
        let l = p.layout;
        let mut b: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        b.resize((l.sig - l.info) as usize, 0);
        b.extend_from_slice(&sig.to_le_bytes());
        b
    }

    #[test]
    fn a_read_is_stashed_only_when_sane() {
        for k64 in [true, false] {
            let p = probe(k64);
            let s = p.parse(&read(&p, &[14, 0, 0x80], 14)).expect("a stash");
            let got = s.to_probed();
            assert_eq!(got.signo, 14);
            assert_eq!(got.info.len(), if k64 { 48 } else { 32 });
            assert_eq!(&got.info[..12], &[14, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0]);
            // Not a signal; siginfo and ksignal disagree; short read.
            assert_eq!(p.parse(&read(&p, &[0, 0, 0], 0)), None);
            assert_eq!(p.parse(&read(&p, &[99, 0, 0], 99)), None);
            assert_eq!(p.parse(&read(&p, &[10, 0, 0], 14)), None);
            assert_eq!(p.parse(&read(&p, &[14, 0, 0], 14)[..20]), None);
            assert_eq!(p.parse(&[]), None);
        }
    }

    #[test]
    fn a_stash_is_taken_once_at_the_next_return_to_user() {
        let p = probe(true);
        let s = p.parse(&read(&p, &[14, 0, 0x80], 14));
        let mut st = s;
        // Enters and an iret to the kernel keep it.
        assert_eq!(take_at_return(&mut st, Kind::Syscall, false), None);
        assert_eq!(take_at_return(&mut st, Kind::Iret64, false), None);
        assert!(st.is_some());
        // The iret into the handler takes it; the next return has none.
        assert_eq!(take_at_return(&mut st, Kind::Iret64, true), s);
        assert_eq!(take_at_return(&mut st, Kind::Iret64, true), None);
        // Another thread's sysret (the thread switched out) drops it.
        let mut st = s;
        assert_eq!(take_at_return(&mut st, Kind::Sysret64, true), None);
        assert_eq!(st, None);
    }
}
