//! Signal deliveries seen from outside: the frame the kernel builds on the
//! user stack before it returns to a handler (x86-64 `rt_sigframe`; for
//! 32-bit code, on the i386 kernel or a compat process, `rt_sigframe_ia32`
//! or, for handlers without SA_SIGINFO, the older `sigframe_ia32`), read at
//! that return, with its siginfo (decoded by [`crate::structs::siginfo`],
//! the one `siginfo_t` decoder: `{si_signo=SIGALRM, si_code=SI_KERNEL}`).
//!
//! A tracer inside the guest is told of a signal by ptrace; from outside,
//! the one trace a delivery leaves is the return to user mode at the
//! handler with the registers the kernel set for it (`setup_rt_frame`:
//! rdi = signal, rsi = &frame.info, rdx = &frame.uc, rsp = the frame). The
//! frame also holds the interrupted context, which says what became of a
//! system call in flight: its result (saved rax), or a restart (saved rip
//! rewound onto the `syscall` instruction).
//!
//! A handler without SA_SIGINFO gets no siginfo in its frame; the kernel's
//! own copy is then taken from what the signal probe (at
//! `signal_setup_done`, see [`crate::profile::sysmap`]) saw of this
//! delivery, when the event source has one ([`Cpu::probed_signal`]);
//! without it only the number is known.

use vstrace_core::read::{read_struct, read_u32, read_u64};
use vstrace_core::value::StructBuilder;
use vstrace_core::{Cpu, ProbedSignal, Reg, Regs, SignalDelivery, Value, VirtMem};

use crate::consts::{errno_name, signal_name};
use crate::proto::LinuxAbi;
use crate::structs::siginfo;

/// Size of the kernel's x86-64 `struct ucontext`: uc_flags, uc_link,
/// uc_stack (24 bytes), uc_mcontext (`struct sigcontext`, 256 bytes),
/// uc_sigmask (8 bytes).
const UCONTEXT_64: u64 = 8 + 8 + 24 + 256 + 8;
/// Offset of `uc_mcontext` in the ucontext.
const MCONTEXT: u64 = 40;
/// ia32 frames: `struct sigcontext_32` offsets (gs, fs, es, ds, di, si,
/// bp, sp, bx, dx, cx, ax, trapno, err, ip, ...: 4 bytes each) and size.
const SC32_SP: u64 = 7 * 4;
const SC32_AX: u64 = 11 * 4;
const SC32_IP: u64 = 14 * 4;
const SC32_CS: u64 = 15 * 4;
const SC32_SS: u64 = 18 * 4;
const SC32_OLDMASK: u64 = 20 * 4;
const SIGCONTEXT_32: u64 = 88;
/// `rt_sigframe_ia32`: pretcode, sig, pinfo, puc, then the compat siginfo
/// (128 bytes) at 16 and the `ucontext_ia32` at 144 (uc_flags, uc_link,
/// a 12-byte stack_t, then the sigcontext at 20 and the mask after it).
const RT32_INFO: u64 = 16;
const RT32_UC: u64 = 144;
const UC32_MCONTEXT: u64 = 20;
const UC32_SIGMASK: u64 = UC32_MCONTEXT + SIGCONTEXT_32;
/// `sigframe_ia32`: pretcode, sig, the sigcontext at 8, the unused
/// `_fpstate_32` (624 bytes), then `extramask` (signals 33..64).
const SF32_SC: u64 = 8;
const SF32_EXTRAMASK: u64 = SF32_SC + SIGCONTEXT_32 + 624;
/// Offsets in `struct sigcontext` (x86-64): r8..r15, rdi, rsi, rbp, rbx,
/// rdx, rax, rcx, rsp, rip.
const SC_RAX: u64 = 13 * 8;
const SC_RSP: u64 = 15 * 8;
const SC_RIP: u64 = 16 * 8;
/// Offset of `uc_sigmask` in the ucontext.
const UC_SIGMASK: u64 = MCONTEXT + 256;

/// Recognises a return to user mode (`ip`, `sp` as the return frame gives
/// them, `regs` the registers being returned) that enters a signal
/// handler, and reads the frame. The register shape is checked first, so
/// that the many returns from interrupts and page faults cost no read.
/// `None` for anything else, and for a frame that does not read back
/// consistently (a hostile or torn stack).
pub fn delivery_64(regs: &Regs, sp: u64, cpu: &mut dyn Cpu) -> Option<SignalDelivery> {
    let signo = regs.get(Reg::Rdi);
    let uc = regs.get(Reg::Rdx);
    let info_addr = regs.get(Reg::Rsi);
    if !(1..=64).contains(&signo)
        || uc != sp.wrapping_add(8)
        || info_addr != uc.wrapping_add(UCONTEXT_64)
        || regs.rax() != 0
    {
        return None;
    }
    let mem = cpu.mem();
    // The return address the handler returns to (its sa_restorer, which
    // calls rt_sigreturn) heads the frame.
    if read_u64(mem, sp).ok()? == 0 {
        return None;
    }
    let name = signal_name(signo)?;
    let info = match frame_siginfo(mem, info_addr, signo, LinuxAbi::X86_64)? {
        Some(v) => v,
        None => probed_or_signo(cpu, regs, signo),
    };
    let mem = cpu.mem();
    let mc = uc + MCONTEXT;
    Some(SignalDelivery {
        signo: signo as u32,
        name,
        info_addr,
        info: info.render(),
        info_value: info,
        resume_ip: read_u64(mem, mc + SC_RIP).ok()?,
        resume_sp: read_u64(mem, mc + SC_RSP).ok()?,
        saved_ret: read_u64(mem, mc + SC_RAX).ok()?,
        context: mc,
        context_wide: true,
    })
}

/// The siginfo of a frame in the layout of `abi`: the kernel copies the
/// siginfo into the frame only for SA_SIGINFO handlers (a tracer inside
/// the guest asks ptrace for it). `Some(None)` when the frame has none;
/// `None` when the frame's siginfo does not read.
fn frame_siginfo(
    mem: &mut dyn VirtMem,
    info_addr: u64,
    signo: u64,
    abi: LinuxAbi,
) -> Option<Option<Value>> {
    match read_u32(mem, info_addr) {
        Ok(s) if u64::from(s) == signo => {
            let b = read_siginfo(mem, info_addr, abi)?;
            Some(Some(siginfo::siginfo_v(abi, &b)))
        }
        _ => Some(None),
    }
}

/// The siginfo of a delivery whose frame has none: the kernel's, as the
/// signal probe read it (see [`probed_siginfo`]), else the number only.
fn probed_or_signo(cpu: &mut dyn Cpu, regs: &Regs, signo: u64) -> Value {
    // The kernel's siginfo is in the kernel's layout, whatever the
    // handler's code: x86-64 in long mode (a compat process's too).
    let kernel64 = regs.efer & vstrace_core::event::EFER_LMA != 0;
    probed_siginfo(cpu.probed_signal(), signo, kernel64).unwrap_or_else(|| signo_only(signo))
}

/// Decodes what the signal probe saw of the delivery of `signo`, when it
/// is that signal's: the event source keeps only what the kernel set up
/// since the vCPU's last return to user mode (the same thread's delivery),
/// and the number is checked twice (the `ksignal`'s and the siginfo's
/// own), so a torn or foreign read gives `None`, never another signal's
/// text. `kernel64`: the siginfo has the x86-64 layout (else i386's).
pub fn probed_siginfo(p: Option<ProbedSignal>, signo: u64, kernel64: bool) -> Option<Value> {
    let p = p?;
    let own = p.info.first_chunk::<4>().map(|b| u32::from_le_bytes(*b));
    if u64::from(p.signo) != signo || own.map(u64::from) != Some(signo) {
        return None;
    }
    let abi = if kernel64 {
        LinuxAbi::X86_64
    } else {
        LinuxAbi::I386
    };
    // The decoder reads a full siginfo_t: the kernel_siginfo is its
    // head, and the padding after it is zeros.
    let mut b = p.info;
    b.resize(siginfo::SIZE, 0);
    Some(siginfo::siginfo_v(abi, &b))
}

/// The frame's `siginfo_t`, read whole. Recordings made before it was
/// read whole hold only the words read one by one then (the header, the
/// sender, the value, the child's times): those are replayed into a
/// zeroed buffer, so older recordings still show their deliveries.
fn read_siginfo(mem: &mut dyn VirtMem, addr: u64, abi: LinuxAbi) -> Option<Vec<u8>> {
    if let Ok(b) = read_struct(mem, addr, siginfo::SIZE) {
        return Some(b);
    }
    let wide = abi == LinuxAbi::X86_64;
    let (u, w) = if wide { (16, 8) } else { (12, 4) };
    let mut b = vec![0u8; siginfo::SIZE];
    for off in [0, 4, 8] {
        let v = read_u32(mem, addr.wrapping_add(off as u64)).ok()?;
        b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
    for off in [u, u + 4] {
        if let Ok(v) = read_u32(mem, addr.wrapping_add(off as u64)) {
            b[off..off + 4].copy_from_slice(&v.to_le_bytes());
        }
    }
    // The value (or status), then a child's two clock_t.
    let ut = if wide { u + 16 } else { u + 12 };
    for off in [u + 8, ut, ut + w] {
        let a = addr.wrapping_add(off as u64);
        // A word, or (SIGCHLD's status) an int.
        match read_u64(mem, a) {
            Ok(v) if wide => b[off..off + 8].copy_from_slice(&v.to_le_bytes()),
            _ => {
                if let Ok(v) = read_u32(mem, a) {
                    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
                }
            }
        }
    }
    Some(b)
}

/// `{si_signo=SIGUSR1}`: what is known of a siginfo the frame lacks.
fn signo_only(signo: u64) -> Value {
    let mut s = StructBuilder::new();
    s.field("si_signo", crate::fmt::signal_v(signo));
    s.done()
}

/// Recognises a return to 32-bit user code entering a signal handler (see
/// [`delivery_64`]). The kernel sets eax = the signal and, for an
/// SA_SIGINFO handler's `rt_sigframe_ia32`, edx = &frame.info and ecx =
/// &frame.uc; for the older `sigframe_ia32`, edx = ecx = 0. The frame
/// repeats the signal (and the two pointers), which is checked: a frame
/// that does not read back consistently is no delivery.
pub fn delivery_32(regs: &Regs, sp: u64, cpu: &mut dyn Cpu) -> Option<SignalDelivery> {
    let signo = regs.rax() & 0xffff_ffff;
    let info_reg = regs.get(Reg::Rdx) & 0xffff_ffff;
    let uc_reg = regs.get(Reg::Rcx) & 0xffff_ffff;
    let sp = sp & 0xffff_ffff;
    if !(1..=64).contains(&signo) {
        return None;
    }
    let rt = info_reg == sp + RT32_INFO && uc_reg == sp + RT32_UC;
    if !rt && (info_reg != 0 || uc_reg != 0) {
        return None;
    }
    let word = |mem: &mut dyn VirtMem, a: u64| read_u32(mem, a).ok().map(u64::from);
    let mem = cpu.mem();
    if word(mem, sp)? == 0 || word(mem, sp + 4)? != signo {
        return None;
    }
    let name = signal_name(signo)?;
    let (sc, info_addr, info) = if rt {
        if word(mem, sp + 8)? != info_reg || word(mem, sp + 12)? != uc_reg {
            return None;
        }
        let info = match frame_siginfo(mem, info_reg, signo, LinuxAbi::I386)? {
            Some(v) => v,
            None => probed_or_signo(cpu, regs, signo),
        };
        (uc_reg + UC32_MCONTEXT, info_reg, info)
    } else {
        // The old frame has no pointers to check, and its other marks
        // (eax the number, edx = ecx = 0, the number on the stack) are
        // met by chance: a fault's return in a program that just got
        // descriptor 3 and pushed it as an argument looks like SIGQUIT's
        // frame. The interrupted context it saves is a user one: its CS
        // and SS selectors have RPL 3. (The event's own CS is no help:
        // it is taken at the kernel's iret, before the return.)
        let seg = |mem: &mut dyn VirtMem, a: u64| word(mem, a).map(|w| w & 0xffff);
        let (cs, ss) = (
            seg(mem, sp + SF32_SC + SC32_CS)?,
            seg(mem, sp + SF32_SC + SC32_SS)?,
        );
        if cs & 3 != 3 || ss & 3 != 3 {
            return None;
        }
        (sp + SF32_SC, 0, probed_or_signo(cpu, regs, signo))
    };
    let mem = cpu.mem();
    Some(SignalDelivery {
        signo: signo as u32,
        name,
        info_addr,
        info: info.render(),
        info_value: info,
        resume_ip: word(mem, sc + SC32_IP)?,
        resume_sp: word(mem, sc + SC32_SP)?,
        // Sign-extended, as the engine compares it with -EINTR.
        saved_ret: read_u32(mem, sc + SC32_AX).ok()? as i32 as i64 as u64,
        context: sc,
        context_wide: false,
    })
}

/// Where a delivery's frame saved `reg` of the interrupted context
/// (address, width): `struct sigcontext` (x86-64: r8..r15, rdi, rsi, rbp,
/// rbx, rdx, rax, rcx, rsp, rip, 8 bytes each) or `struct sigcontext_32`
/// (gs, fs, es, ds, edi, esi, ebp, esp, ebx, edx, ecx, eax, 4 bytes each).
/// None for a register the context does not hold or an unknown context.
pub fn saved_reg(d: &SignalDelivery, reg: Reg) -> Option<(u64, usize)> {
    if d.context == 0 {
        return None;
    }
    let (slot, width) = if d.context_wide {
        let slot = match reg {
            Reg::R8 => 0,
            Reg::R9 => 1,
            Reg::R10 => 2,
            Reg::R11 => 3,
            Reg::R12 => 4,
            Reg::R13 => 5,
            Reg::R14 => 6,
            Reg::R15 => 7,
            Reg::Rdi => 8,
            Reg::Rsi => 9,
            Reg::Rbp => 10,
            Reg::Rbx => 11,
            Reg::Rdx => 12,
            Reg::Rax => 13,
            Reg::Rcx => 14,
            _ => return None,
        };
        (slot, 8)
    } else {
        let slot = match reg {
            Reg::Rdi => 4,
            Reg::Rsi => 5,
            Reg::Rbp => 6,
            Reg::Rbx => 8,
            Reg::Rdx => 9,
            Reg::Rcx => 10,
            Reg::Rax => 11,
            _ => return None,
        };
        (slot, 4)
    };
    Some((d.context.wrapping_add(slot * width), width as usize))
}

/// strace's injected signal: `si_signo`, `si_errno` 0 and `si_code`
/// SI_KERNEL, the rest zero; `siginfo_t`'s 128 bytes (the same header on
/// every ABI), what `rt_tgsigqueueinfo` copies in.
pub fn kernel_siginfo(sig: u64) -> Vec<u8> {
    const SI_KERNEL: u32 = 0x80;
    let mut b = vec![0u8; siginfo::SIZE];
    b[0..4].copy_from_slice(&(sig as u32).to_le_bytes());
    b[8..12].copy_from_slice(&SI_KERNEL.to_le_bytes());
    b
}

/// The signal mask an `rt_sigreturn` restores, strace-style (`{mask=[]}`,
/// `{mask=[HUP INT]}`), read from the ucontext at the caller's stack
/// pointer `sp` (the handler's `ret` popped the frame's return address).
pub fn sigreturn_mask_64(mem: &mut dyn VirtMem, sp: u64) -> Option<String> {
    let mask = read_u64(mem, sp.wrapping_add(UC_SIGMASK)).ok()?;
    Some(mask_text(mask))
}

/// The mask a 32-bit `rt_sigreturn` (`rt == true`) or `sigreturn`
/// restores, read at the caller's stack pointer: the restorer's return
/// popped `pretcode` (and, for `sigreturn`, its `popl %eax` the signal),
/// so `sp` is 4 bytes into an `rt_sigframe_ia32`, or at the sigcontext of
/// a `sigframe_ia32`, whose mask is split in `oldmask` and `extramask`.
pub fn sigreturn_mask_32(mem: &mut dyn VirtMem, sp: u64, rt: bool) -> Option<String> {
    let sp = sp & 0xffff_ffff;
    let mask = if rt {
        read_u64(mem, sp + RT32_UC - 4 + UC32_SIGMASK).ok()?
    } else {
        let lo = read_u32(mem, sp + SC32_OLDMASK).ok()?;
        let hi = read_u32(mem, sp - SF32_SC + SF32_EXTRAMASK).ok()?;
        u64::from(lo) | u64::from(hi) << 32
    };
    Some(mask_text(mask))
}

/// strace's `{mask=[HUP INT]}` for a 64-bit signal set.
fn mask_text(mask: u64) -> String {
    let names: Vec<String> = (1..=64u64)
        .filter(|s| mask & (1 << (s - 1)) != 0)
        .filter_map(|s| {
            let n = signal_name(s)?;
            Some(n.strip_prefix("SIG").map(str::to_string).unwrap_or(n))
        })
        .collect();
    format!("{{mask=[{}]}}", names.join(" "))
}

/// How strace shows the result of a call a signal interrupted: the
/// kernel's restart code (never seen by the program), inferred because
/// only the converted result (-EINTR, or a rewound ip) is visible from
/// outside: calls that sleep with a relative timeout restart through a
/// restart block (an absolute clock_nanosleep, and poll without a
/// timeout, do not), the pause/sigsuspend/select family never restarts
/// after a handler, everything else restarts if the handler has
/// SA_RESTART. `raw`: the call's arguments.
pub fn interrupted_code(name: &str, raw: &[u64], restarted: bool) -> i64 {
    const ERESTARTSYS: i64 = 512;
    const ERESTARTNOHAND: i64 = 514;
    const ERESTART_RESTARTBLOCK: i64 = 516;
    if restarted {
        return ERESTARTSYS;
    }
    let arg = |i: usize| raw.get(i).copied().unwrap_or(0);
    const TIMER_ABSTIME: u64 = 1;
    match name {
        // hrtimer_nanosleep: an absolute sleep is simply started again.
        "clock_nanosleep" | "clock_nanosleep_time64" if arg(1) & TIMER_ABSTIME != 0 => {
            ERESTARTNOHAND
        }
        // do_sys_poll: only a poll with a timeout has a restart block.
        "poll" if (arg(2) as u32 as i32) < 0 => ERESTARTNOHAND,
        "nanosleep" | "clock_nanosleep" | "clock_nanosleep_time64" | "poll" => {
            ERESTART_RESTARTBLOCK
        }
        "pause" | "rt_sigsuspend" | "sigsuspend" | "select" | "_newselect" | "pselect6"
        | "pselect6_time64" | "ppoll" | "ppoll_time64" | "epoll_pwait" | "epoll_pwait2" => {
            ERESTARTNOHAND
        }
        _ => ERESTARTSYS,
    }
}

/// The text strace prints for an interrupted call's result: `? NAME
/// (description)`.
pub fn interrupted_text(code: i64) -> String {
    let name = errno_name(code).unwrap_or("ERESTARTSYS");
    let desc = crate::consts::errno_message(code).unwrap_or("Interrupted");
    format!("? {name} ({desc})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::cpu::SnapshotCpu;
    use vstrace_core::testmem::SparseVirt;

    /// A vCPU of this memory without a signal probe.
    fn cpu(m: &mut SparseVirt) -> SnapshotCpu<'_> {
        SnapshotCpu {
            regs: Regs::default(),
            mem: m,
        }
    }

    /// A vCPU whose signal probe saw `probe`, counting the questions.
    struct Probed<'m> {
        mem: &'m mut SparseVirt,
        probe: Option<ProbedSignal>,
        asked: u32,
    }

    impl Cpu for Probed<'_> {
        fn regs(&self) -> &Regs {
            unreachable!("not read by the frame readers")
        }
        fn write_reg(&mut self, _: Reg, _: u64) -> Result<(), vstrace_core::cpu::CpuError> {
            unreachable!()
        }
        fn mem(&mut self) -> &mut dyn VirtMem {
            self.mem
        }
        fn probed_signal(&mut self) -> Option<ProbedSignal> {
            self.asked += 1;
            self.probe.take()
        }
    }

    /// A kernel_siginfo of `words` (x86-64: 48 bytes; i386: 32).
    fn kinfo(signo: u32, words: &[u32], len: usize) -> ProbedSignal {
        let mut info: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        info.resize(len, 0);
        ProbedSignal { signo, info }
    }

    /// A frame as `setup_rt_frame` leaves it at `sp`, with `info` words.
    fn frame(mem: &mut SparseVirt, sp: u64, info: &[u32], rip: u64, rsp: u64, rax: u64) -> Regs {
        let uc = sp + 8;
        let mc = uc + MCONTEXT;
        mem.map(sp, &[0u8; 512]);
        mem.map(sp, &0x40_1000u64.to_le_bytes());
        mem.map(mc + SC_RAX, &rax.to_le_bytes());
        mem.map(mc + SC_RSP, &rsp.to_le_bytes());
        mem.map(mc + SC_RIP, &rip.to_le_bytes());
        let ia = uc + UCONTEXT_64;
        let bytes: Vec<u8> = info.iter().flat_map(|w| w.to_le_bytes()).collect();
        mem.map(ia, &bytes);
        let mut r = Regs::default();
        r.set(Reg::Rdi, u64::from(info[0]));
        r.set(Reg::Rsi, ia);
        r.set(Reg::Rdx, uc);
        r
    }

    #[test]
    fn a_handler_entry_is_read_from_its_frame() {
        let mut m = SparseVirt::default();
        let sp = 0x7fff_0000_1000;
        let regs = frame(
            &mut m,
            sp,
            &[14, 0, 0x80, 0, 0, 0],
            0x401234,
            0x7fff_0000_2000,
            (-4i64) as u64,
        );
        let d = delivery_64(&regs, sp, &mut cpu(&mut m)).expect("a delivery");
        assert_eq!(d.name, "SIGALRM");
        assert_eq!(d.info, "{si_signo=SIGALRM, si_code=SI_KERNEL}");
        assert_eq!(
            (d.resume_ip, d.resume_sp, d.saved_ret as i64),
            (0x401234, 0x7fff_0000_2000, -4)
        );
        // Not a handler entry: another stack pointer, a non-zero rax.
        assert_eq!(delivery_64(&regs, sp + 16, &mut cpu(&mut m)), None);
        let mut r2 = regs.clone();
        r2.set(Reg::Rax, 1);
        assert_eq!(delivery_64(&r2, sp, &mut cpu(&mut m)), None);
        // A handler without SA_SIGINFO gets no siginfo in its frame: only
        // the number is known.
        let mut r3 = regs.clone();
        r3.set(Reg::Rdi, 10);
        assert_eq!(
            delivery_64(&r3, sp, &mut cpu(&mut m)).unwrap().info,
            "{si_signo=SIGUSR1}"
        );
        // No return address at the top: not a frame.
        m.map(sp, &[0u8; 8]);
        assert_eq!(delivery_64(&regs, sp, &mut cpu(&mut m)), None);
    }

    /// An `rt_sigframe_ia32` (`rt`) or a `sigframe_ia32` at `sp`, as the
    /// i386 kernel or a compat process's `setup_frame` leaves it, and the
    /// registers it returns to the handler with.
    fn frame32(mem: &mut SparseVirt, sp: u64, signo: u32, rt: bool, info: &[u32]) -> Regs {
        mem.map(sp, &[0u8; 1024]);
        let put = |mem: &mut SparseVirt, a: u64, v: u32| mem.map(a, &v.to_le_bytes());
        put(mem, sp, 0x0804_9000);
        put(mem, sp + 4, signo);
        let mut r = Regs::default();
        r.set(Reg::Rax, u64::from(signo));
        let sc = if rt {
            put(mem, sp + 8, (sp + RT32_INFO) as u32);
            put(mem, sp + 12, (sp + RT32_UC) as u32);
            let b: Vec<u8> = info.iter().flat_map(|w| w.to_le_bytes()).collect();
            mem.map(sp + RT32_INFO, &b);
            r.set(Reg::Rdx, sp + RT32_INFO);
            r.set(Reg::Rcx, sp + RT32_UC);
            sp + RT32_UC + UC32_MCONTEXT
        } else {
            sp + SF32_SC
        };
        put(mem, sc + SC32_IP, 0x0804_1234);
        // The i386 kernel's __USER_CS and __USER_DS.
        put(mem, sc + SC32_CS, 0x73);
        put(mem, sc + SC32_SS, 0x7b);
        put(mem, sc + SC32_SP, 0xbfff_f000);
        put(mem, sc + SC32_AX, (-4i32) as u32);
        r
    }

    #[test]
    fn ia32_frames_are_read_with_their_layouts() {
        let mut m = SparseVirt::default();
        let sp = 0xbfff_e000;
        // SA_SIGINFO handler: the compat siginfo (union at 12).
        let regs = frame32(&mut m, sp, 14, true, &[14, 0, 0x80, 0, 0]);
        let d = delivery_32(&regs, sp, &mut cpu(&mut m)).expect("an rt delivery");
        assert_eq!(d.info, "{si_signo=SIGALRM, si_code=SI_KERNEL}");
        assert_eq!(
            (d.resume_ip, d.resume_sp, d.saved_ret as i64),
            (0x0804_1234, 0xbfff_f000, -4)
        );
        // rt_sigreturn's sp: pretcode popped.
        m.map(sp + RT32_UC + UC32_SIGMASK, &3u64.to_le_bytes());
        assert_eq!(
            sigreturn_mask_32(&mut m, sp + 4, true).unwrap(),
            "{mask=[HUP INT]}"
        );
        // A frame that does not repeat the signal is no delivery.
        m.map(sp + 4, &15u32.to_le_bytes());
        assert_eq!(delivery_32(&regs, sp, &mut cpu(&mut m)), None);

        // Plain handler: the old frame, no siginfo, mask split in two.
        let mut m = SparseVirt::default();
        let regs = frame32(&mut m, sp, 10, false, &[]);
        let d = delivery_32(&regs, sp, &mut cpu(&mut m)).expect("a delivery");
        assert_eq!(d.info, "{si_signo=SIGUSR1}");
        assert_eq!(d.resume_ip, 0x0804_1234);
        m.map(sp + SF32_SC + SC32_OLDMASK, &1u32.to_le_bytes());
        m.map(sp + SF32_EXTRAMASK, &1u32.to_le_bytes());
        assert_eq!(
            sigreturn_mask_32(&mut m, sp + 8, false).unwrap(),
            "{mask=[HUP RT_1]}"
        );
        // Registers of no frame shape: edx set but not the rt layout.
        let mut r2 = regs.clone();
        r2.set(Reg::Rdx, 4);
        assert_eq!(delivery_32(&r2, sp, &mut cpu(&mut m)), None);
        // The same registers and stack words with no user context saved
        // above them (a fault's return in a program that pushed
        // descriptor 3 with eax 3 is no SIGQUIT): none.
        let mut m = SparseVirt::default();
        let regs = frame32(&mut m, sp, 3, false, &[]);
        m.map(sp + SF32_SC + SC32_CS, &0u32.to_le_bytes());
        assert_eq!(delivery_32(&regs, sp, &mut cpu(&mut m)), None);
        m.map(sp + SF32_SC + SC32_CS, &0x73u32.to_le_bytes());
        m.map(sp + SF32_SC + SC32_SS, &0x18u32.to_le_bytes());
        assert_eq!(delivery_32(&regs, sp, &mut cpu(&mut m)), None);
        // User selectors (a compat process's __USER32_CS too): one.
        m.map(sp + SF32_SC + SC32_SS, &0x2bu32.to_le_bytes());
        m.map(sp + SF32_SC + SC32_CS, &0x23u32.to_le_bytes());
        assert!(delivery_32(&regs, sp, &mut cpu(&mut m)).is_some());
    }

    /// The text of a siginfo made of these 32-bit words, in `abi`'s
    /// layout, as a frame's reader decodes it.
    fn siginfo_text(words: &[u32], abi: LinuxAbi) -> Option<String> {
        let mut m = SparseVirt::default();
        let mut b: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        b.resize(siginfo::SIZE, 0);
        m.map(0x5000, &b);
        frame_siginfo(&mut m, 0x5000, u64::from(words[0]), abi)
            .flatten()
            .map(|v| v.render())
    }

    #[test]
    fn frame_siginfo_as_strace_prints_it() {
        let x = LinuxAbi::X86_64;
        assert_eq!(
            siginfo_text(&[17, 0, 1, 91, 0, 7, 3, 5], LinuxAbi::I386).unwrap(),
            "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=91, si_uid=0, si_status=7, si_utime=3 /* 0.03 s */, si_stime=5 /* 0.05 s */}"
        );
        assert_eq!(
            siginfo_text(&[10, 0, 0, 0, 88, 0, 0, 0, 0, 0, 0, 0], x).unwrap(),
            "{si_signo=SIGUSR1, si_code=SI_USER, si_pid=88, si_uid=0}"
        );
        assert_eq!(
            siginfo_text(&[17, 0, 1, 0, 91, 0, 7, 0, 3, 0, 5, 0], x).unwrap(),
            "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=91, si_uid=0, si_status=7, si_utime=3 /* 0.03 s */, si_stime=5 /* 0.05 s */}"
        );
        assert_eq!(
            siginfo_text(&[11, 0, 1, 0, 0, 0, 0, 0], x).unwrap(),
            "{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL}"
        );
        // Unreadable: no siginfo in the frame, no panic.
        let mut m = SparseVirt::default();
        assert_eq!(frame_siginfo(&mut m, 0x5000, 10, x), Some(None));
    }

    #[test]
    fn a_frame_without_siginfo_takes_the_probed_one() {
        let mut m = SparseVirt::default();
        let sp = 0x7fff_0000_1000;
        // A plain handler's frame: no siginfo where rsi points.
        let mut regs = frame(&mut m, sp, &[0, 0, 0, 0], 0x401234, 0x7fff_0000_2000, 0);
        regs.set(Reg::Rdi, 14);
        regs.efer = vstrace_core::event::EFER_LMA;
        let mut c = Probed {
            mem: &mut m,
            probe: Some(kinfo(14, &[14, 0, 0x80], 48)),
            asked: 0,
        };
        let d = delivery_64(&regs, sp, &mut c).expect("a delivery");
        assert_eq!(d.info, "{si_signo=SIGALRM, si_code=SI_KERNEL}");
        assert_eq!((d.resume_ip, c.asked), (0x401234, 1));
        // Consumed: the same frame again shows the number only.
        let d = delivery_64(&regs, sp, &mut c).expect("a delivery");
        assert_eq!(d.info, "{si_signo=SIGALRM}");
        // Another signal's probe (or a torn read) is not this one's.
        c.probe = Some(kinfo(10, &[10, 0, 0x80], 48));
        assert_eq!(
            delivery_64(&regs, sp, &mut c).unwrap().info,
            "{si_signo=SIGALRM}"
        );
        c.probe = Some(kinfo(14, &[10, 0, 0x80], 48));
        assert_eq!(
            delivery_64(&regs, sp, &mut c).unwrap().info,
            "{si_signo=SIGALRM}"
        );
        // Too short to hold the number: nothing.
        assert_eq!(probed_siginfo(Some(kinfo(14, &[], 2)), 14, true), None);
        // A frame with its siginfo does not ask the probe.
        let regs = frame(&mut m, sp, &[14, 0, 0x80, 0], 0x401234, 0x7fff_0000_2000, 0);
        let mut c = Probed {
            mem: &mut m,
            probe: Some(kinfo(14, &[14, 0, 0], 48)),
            asked: 0,
        };
        let d = delivery_64(&regs, sp, &mut c).unwrap();
        assert_eq!(
            (d.info.as_str(), c.asked),
            ("{si_signo=SIGALRM, si_code=SI_KERNEL}", 0)
        );
    }

    #[test]
    fn probed_siginfo_in_the_kernels_layout() {
        // A sender's pid and uid (SI_USER), x86-64 union at 16.
        let v = probed_siginfo(Some(kinfo(10, &[10, 0, 0, 0, 88, 1000], 48)), 10, true);
        assert_eq!(
            v.unwrap().render(),
            "{si_signo=SIGUSR1, si_code=SI_USER, si_pid=88, si_uid=1000}"
        );
        // i386 kernel: union at 12; an old-style frame (no siginfo).
        let mut m = SparseVirt::default();
        let sp = 0xbfff_e000;
        let regs = frame32(&mut m, sp, 10, false, &[]);
        let mut c = Probed {
            mem: &mut m,
            probe: Some(kinfo(10, &[10, 0, 0, 88, 1000], 32)),
            asked: 0,
        };
        let d = delivery_32(&regs, sp, &mut c).expect("a delivery");
        assert_eq!(
            d.info,
            "{si_signo=SIGUSR1, si_code=SI_USER, si_pid=88, si_uid=1000}"
        );
        // A compat process on a 64-bit kernel: an ia32 frame, the
        // kernel's siginfo in the x86-64 layout (union at 16).
        let mut regs = regs;
        regs.efer = vstrace_core::event::EFER_LMA;
        let mut c = Probed {
            mem: c.mem,
            probe: Some(kinfo(10, &[10, 0, 0, 0, 88, 1000], 48)),
            asked: 0,
        };
        assert_eq!(
            delivery_32(&regs, sp, &mut c).unwrap().info,
            "{si_signo=SIGUSR1, si_code=SI_USER, si_pid=88, si_uid=1000}"
        );
        // A segfault's address, as segv_accerr shows it.
        let v = probed_siginfo(Some(kinfo(11, &[11, 0, 2, 0, 0x1000, 0], 48)), 11, true);
        assert_eq!(
            v.unwrap().render(),
            "{si_signo=SIGSEGV, si_code=SEGV_ACCERR, si_addr=0x1000}"
        );
    }

    #[test]
    fn sigreturn_mask_and_interrupted_results() {
        let mut m = SparseVirt::default();
        m.map(0x9000 + UC_SIGMASK, &((1u64 << 0) | (1 << 1)).to_le_bytes());
        assert_eq!(
            sigreturn_mask_64(&mut m, 0x9000).unwrap(),
            "{mask=[HUP INT]}"
        );
        assert_eq!(interrupted_code("nanosleep", &[0x1000, 0], false), 516);
        assert_eq!(
            interrupted_code("clock_nanosleep", &[0, 0, 0x1000], false),
            516
        );
        assert_eq!(
            interrupted_code("clock_nanosleep", &[0, 1, 0x1000], false),
            514
        );
        assert_eq!(interrupted_code("poll", &[0x1000, 1, 100], false), 516);
        assert_eq!(interrupted_code("poll", &[0x1000, 1, u64::MAX], false), 514);
        assert_eq!(interrupted_code("read", &[], true), 512);
        assert_eq!(interrupted_code("pause", &[], false), 514);
        assert_eq!(
            interrupted_text(516),
            "? ERESTART_RESTARTBLOCK (Interrupted by signal)"
        );
    }
}
