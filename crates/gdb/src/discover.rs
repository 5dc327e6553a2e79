//! Pure scanners over x86-64 kernel code: where the `syscall` entry's
//! `swapgs`, its per-cpu saves, the call into the C handler and the
//! `sysretq`/`iretq` return paths are, and the IDT helpers. They read
//! bytes given to them and touch no VM, so they are tested on fixed code.

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

/// How many bytes of code after the entry are scanned for return paths.
pub const SCAN_BYTES: usize = 64 << 10;

const SWAPGS: [u8; 3] = [0x0f, 0x01, 0xf8];
pub(crate) const ENDBR64: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];

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
    /// The return address (the breakpoint).
    pub addr: u64,
    /// How the vCPU is moved past the instruction there.
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn nops() {
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
}
