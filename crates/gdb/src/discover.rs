//! Readers of x86-64 kernel code, built on a real instruction decoder
//! (`iced-x86`): the `syscall` entry's `swapgs`, its per-cpu saves of the
//! user and kernel stack pointers, the call into the C handler, and the
//! `swapgs` of the `sysretq`/`iretq` return paths. Each is recognised by
//! what its instructions do (operands, registers written, control flow),
//! not by their bytes, so the encodings kernels choose (absolute or
//! rip-relative per-cpu accesses, `endbr64`, `verw` or no-op padding from
//! patched alternatives, jumps over disabled code) do not matter. They
//! read the bytes given to them and touch no VM, so they are tested on
//! fixed code; the IDT helpers are here too.

use iced_x86::{
    Decoder, DecoderOptions, FlowControl, Instruction, InstructionInfoFactory, Mnemonic, OpAccess,
    OpKind, Register,
};

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
    /// (`mov %rsp, %gs:slot` right after the `swapgs`): a write watchpoint
    /// on that slot stops at every system call entry without a breakpoint
    /// (see [`crate::EntryTrap`]).
    pub entry_save: Option<EntrySave>,
    /// The per-cpu slot (offset from the kernel GS base) of the kernel
    /// stack top that the entry loads next (`mov %gs:slot, %rsp`): with it,
    /// each call's `struct pt_regs` is known at its entry and a write
    /// watchpoint on its `ax` slot stops at the call's return value (see
    /// [`crate::AttachOptions`]).
    pub stack_top: Option<u64>,
}

/// The entry's `mov %rsp, %gs:slot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntrySave {
    /// The slot's offset from the kernel GS base (per-cpu area / KPCR),
    /// added with wrapping: an absolute `%gs:disp32` sign-extends, a
    /// rip-relative one resolves to the per-cpu symbol's offset.
    pub disp: u64,
    /// The address of the next instruction: where a watchpoint stop lands.
    pub after: u64,
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

/// How many bytes of code after the entry are scanned for return paths.
pub const SCAN_BYTES: usize = 64 << 10;

/// Most instructions followed from one starting point (an entry, a
/// `swapgs`): the paths looked for are a few dozen instructions long.
const WALK_LIMIT: usize = 96;

/// The instruction at `ip` in `code` (which starts at `base`), if valid
/// and whole.
pub fn decode_at(code: &[u8], base: u64, ip: u64) -> Option<Instruction> {
    let off = usize::try_from(ip.checked_sub(base)?).ok()?;
    let bytes = code.get(off..)?;
    // At most one instruction's length: no decoder over the whole rest.
    let bytes = &bytes[..bytes.len().min(15)];
    if bytes.is_empty() {
        return None;
    }
    let mut d = Decoder::with_ip(64, bytes, ip, DecoderOptions::NONE);
    let i = d.decode();
    (!i.is_invalid()).then_some(i)
}

/// The offset from the GS base of a memory operand `%gs:X` addressed
/// without registers: an absolute displacement or rip-relative (whose
/// target the decoder resolves from the instruction's address).
fn gs_slot(i: &Instruction) -> Option<u64> {
    let no_base = matches!(i.memory_base(), Register::None | Register::RIP);
    (i.memory_segment() == Register::GS && no_base && i.memory_index() == Register::None)
        .then(|| i.memory_displacement64())
}

/// `mov %rsp, %gs:slot`: the slot.
fn saves_rsp_to_gs(i: &Instruction) -> Option<u64> {
    let is = i.mnemonic() == Mnemonic::Mov
        && i.op0_kind() == OpKind::Memory
        && i.op1_kind() == OpKind::Register
        && i.op1_register() == Register::RSP;
    is.then(|| gs_slot(i)).flatten()
}

/// `mov %gs:slot, %rsp`: the slot.
fn loads_rsp_from_gs(i: &Instruction) -> Option<u64> {
    let is = i.mnemonic() == Mnemonic::Mov
        && i.op0_kind() == OpKind::Register
        && i.op0_register() == Register::RSP
        && i.op1_kind() == OpKind::Memory;
    is.then(|| gs_slot(i)).flatten()
}

/// Follows straight-line execution from `ip`: unconditional direct jumps
/// are taken, calls are stepped over (their return address comes next),
/// conditional jumps fall through; ends at any other change of flow, at
/// undecodable code, or after [`WALK_LIMIT`] instructions.
fn straight_line(code: &[u8], base: u64, ip: u64) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut at = ip;
    while out.len() < WALK_LIMIT {
        let Some(i) = decode_at(code, base, at) else {
            break;
        };
        out.push(i);
        at = match i.flow_control() {
            FlowControl::Next | FlowControl::Call | FlowControl::ConditionalBranch => i.next_ip(),
            FlowControl::UnconditionalBranch if i.op0_kind() == OpKind::NearBranch64 => {
                i.near_branch_target()
            }
            _ => break,
        };
    }
    out
}

/// Where the entry's `swapgs` is, given the code at LSTAR: the first
/// instruction, or the second after an `endbr64`.
pub fn entry_swapgs(code: &[u8], lstar: u64) -> Option<u64> {
    let mut i = decode_at(code, lstar, lstar)?;
    if i.mnemonic() == Mnemonic::Endbr64 {
        i = decode_at(code, lstar, i.next_ip())?;
    }
    (i.mnemonic() == Mnemonic::Swapgs).then(|| i.ip())
}

/// The save of the user stack pointer to a per-cpu slot right after the
/// entry's `swapgs` at `swapgs_at`, in `code` (which starts at `base`).
pub fn entry_save(code: &[u8], base: u64, swapgs_at: u64) -> Option<EntrySave> {
    let swapgs = decode_at(code, base, swapgs_at)?;
    if swapgs.mnemonic() != Mnemonic::Swapgs {
        return None;
    }
    let save = decode_at(code, base, swapgs.next_ip())?;
    Some(EntrySave {
        disp: saves_rsp_to_gs(&save)?,
        after: save.next_ip(),
    })
}

/// The per-cpu slot of the kernel stack top: the first `mov %gs:slot,
/// %rsp` on the path from `from` (the entry's switch to the kernel stack,
/// past the page-table switch or the jump over it).
pub fn stack_top_load(code: &[u8], base: u64, from: u64) -> Option<u64> {
    straight_line(code, base, from)
        .iter()
        .take(24)
        .find_map(loads_rsp_from_gs)
}

/// Addresses in `code` (which starts at `base`) that look like a 64-bit
/// `syscall` entry point: an optional `endbr64`, a `swapgs`, then the save
/// of the user stack pointer to a per-cpu slot (`mov %rsp, %gs:slot`),
/// which such an entry must do before it can use a stack (Linux's
/// entry_SYSCALL_64, Windows's KiSystemCall64 alike). Every offset is
/// tried as an instruction start: the search window need not begin at
/// one.
pub fn entry_candidates(code: &[u8], base: u64) -> Vec<u64> {
    let mut out = Vec::new();
    for off in 0..code.len() {
        let ip = base.wrapping_add(off as u64);
        let Some(i) = decode_at(code, base, ip) else {
            continue;
        };
        if i.mnemonic() != Mnemonic::Swapgs || entry_save(code, base, ip).is_none() {
            continue;
        }
        let endbr = off
            .checked_sub(4)
            .and_then(|o| decode_at(code, base, base.wrapping_add(o as u64)))
            .filter(|e| e.mnemonic() == Mnemonic::Endbr64 && e.next_ip() == ip);
        out.push(endbr.map_or(ip, |e| e.ip()));
    }
    out
}

/// What the instruction at a call's return address is, when it examines
/// the handler's result the way Linux does: `mov 0x58(%rsp), %rcx` (6.1:
/// regs->cx for the sysret checks) or `test %al, %al` (6.2+: the handler
/// says whether sysret may be used).
fn result_check(i: &Instruction) -> Option<AfterCallStep> {
    let reg = |n: u32, r: Register| i.op_kind(n) == OpKind::Register && i.op_register(n) == r;
    match i.mnemonic() {
        Mnemonic::Test if reg(0, Register::AL) && reg(1, Register::AL) && i.len() == 2 => {
            Some(AfterCallStep::TestAl)
        }
        Mnemonic::Mov
            if reg(0, Register::RCX)
                && i.op1_kind() == OpKind::Memory
                && i.memory_base() == Register::RSP
                && i.memory_index() == Register::None
                && i.memory_displacement64() == 0x58
                && i.len() == 5 =>
        {
            Some(AfterCallStep::MovRcx(0x58))
        }
        _ => None,
    }
}

/// The return address of the entry's call to the C syscall handler, in
/// `code` (the entry's code, at `base`): following the entry's path, the
/// first direct call after `mov %rsp, %rdi` (pt_regs as the first
/// argument) whose return lands, past no-ops, on code that examines the
/// result (see [`result_check`]). Other calls on the way (return-stack
/// untraining, branch-history clearing) return to other code.
pub fn after_handler_call(code: &[u8], base: u64) -> Option<AfterCall> {
    let path = straight_line(code, base, base);
    let is_pt_regs_arg = |i: &Instruction| {
        i.mnemonic() == Mnemonic::Mov
            && i.op0_kind() == OpKind::Register
            && i.op0_register() == Register::RDI
            && i.op1_kind() == OpKind::Register
            && i.op1_register() == Register::RSP
    };
    let start = path.iter().position(is_pt_regs_arg)?;
    for call in &path[start..] {
        if call.flow_control() != FlowControl::Call {
            continue;
        }
        let ret = call.next_ip();
        let mut at = ret;
        let mut next = decode_at(code, base, at)?;
        while next.mnemonic() == Mnemonic::Nop && at - ret < 64 {
            at = next.next_ip();
            next = decode_at(code, base, at)?;
        }
        if let Some(check) = result_check(&next) {
            let step = match u8::try_from(at - ret) {
                Ok(0) => check,
                Ok(n) => AfterCallStep::Skip(n),
                Err(_) => return None,
            };
            return Some(AfterCall { addr: ret, step });
        }
    }
    None
}

/// How a path from a `swapgs` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathEnd {
    /// At a `sysretq`.
    Sysret,
    /// At an `iretq`.
    Iret,
}

/// Where the paths from the `swapgs` at `ip` end when they change no
/// register and no memory on the way (so that the state at the `swapgs`
/// is the returning user state, rsp at the iret frame): no-ops, `verw`
/// buffer clearing, flag tests and jumps, both ways at a conditional
/// jump (the assertion that the frame returns to user mode, the ESPFIX
/// check before `iretq`).
fn swapgs_path_end(
    code: &[u8],
    base: u64,
    ip: u64,
    info: &mut InstructionInfoFactory,
) -> Option<PathEnd> {
    let first = decode_at(code, base, ip)?;
    // Breadth first: the nearest end wins, and a long run of no-ops on one
    // branch does not use up the budget of the other.
    let mut todo = std::collections::VecDeque::from([first.next_ip()]);
    let mut seen: Vec<u64> = Vec::new();
    while let Some(at) = todo.pop_front() {
        if seen.contains(&at) || seen.len() >= WALK_LIMIT {
            continue;
        }
        seen.push(at);
        let Some(i) = decode_at(code, base, at) else {
            continue;
        };
        match i.mnemonic() {
            Mnemonic::Sysretq => return Some(PathEnd::Sysret),
            Mnemonic::Iretq => return Some(PathEnd::Iret),
            // Another swapgs: the GS bases swap back, not a return path.
            Mnemonic::Swapgs => continue,
            _ => {}
        }
        let inf = info.info(&i);
        let writes_reg = inf.used_registers().iter().any(|u| {
            matches!(
                u.access(),
                OpAccess::Write
                    | OpAccess::CondWrite
                    | OpAccess::ReadWrite
                    | OpAccess::ReadCondWrite
            )
        });
        let writes_mem = inf.used_memory().iter().any(|m| {
            !matches!(
                m.access(),
                OpAccess::Read | OpAccess::CondRead | OpAccess::NoMemAccess
            )
        });
        if writes_reg || writes_mem {
            continue;
        }
        match i.flow_control() {
            FlowControl::Next => todo.push_back(i.next_ip()),
            FlowControl::UnconditionalBranch if i.op0_kind() == OpKind::NearBranch64 => {
                todo.push_back(i.near_branch_target())
            }
            FlowControl::ConditionalBranch if i.op0_kind() == OpKind::NearBranch64 => {
                todo.push_back(i.next_ip());
                todo.push_back(i.near_branch_target());
            }
            _ => {}
        }
    }
    None
}

/// Finds, in `code` (which starts at `base`), the `swapgs` that leads to
/// each `sysretq`, and the `swapgs` that leads to the interrupt-return
/// `iretq`, by following the paths from every `swapgs` (see
/// [`swapgs_path_end`]); at most two of each, in address order (hardware
/// breakpoints are scarce under KVM).
pub fn scan_return_paths(code: &[u8], base: u64) -> (Vec<u64>, Vec<u64>) {
    let mut info = InstructionInfoFactory::new();
    let mut sysret = Vec::new();
    let mut iret = Vec::new();
    for off in 0..code.len() {
        if sysret.len() >= 2 && iret.len() >= 2 {
            break;
        }
        let ip = base.wrapping_add(off as u64);
        if decode_at(code, base, ip).map(|i| i.mnemonic()) != Some(Mnemonic::Swapgs) {
            continue;
        }
        match swapgs_path_end(code, base, ip, &mut info) {
            Some(PathEnd::Sysret) if sysret.len() < 2 => sysret.push(ip),
            Some(PathEnd::Iret) if iret.len() < 2 => iret.push(ip),
            _ => {}
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
        // At the very start, and cut short at the end (the save must be
        // whole).
        assert_eq!(entry_candidates(&code[0x80..0x8c], 7), vec![7]);
        assert!(entry_candidates(&code[0x80..0x8b], 7).is_empty());
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
        assert_eq!(
            entry_save(&ibt, base, base + 4).unwrap().disp,
            (-16i64) as u64
        );
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
        let mut code = vec![0x48, 0x89, 0xe7, 0x48, 0x63, 0xf0, 0xeb, 0x15];
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

    /// Real entry code as a guest ran it (alternatives patched), dumped
    /// by `scripts/make-entry-fixtures.sh` (`VSTRACE_GDB_DUMP_CODE`, cut
    /// to 8 KiB): the entry address (8 bytes, little-endian), then the
    /// code from there.
    fn fixture(bytes: &[u8]) -> (u64, &[u8]) {
        let (a, code) = bytes.split_at(8);
        (u64::from_le_bytes(a.try_into().unwrap()), code)
    }

    /// Everything discovery reads from an entry's code.
    fn discovered(entry: u64, code: &[u8]) -> String {
        let swapgs = entry_swapgs(code, entry).unwrap();
        let save = entry_save(code, entry, swapgs);
        let top = save.and_then(|s| stack_top_load(code, entry, s.after));
        let rel = |v: &[u64]| v.iter().map(|a| a - entry).collect::<Vec<_>>();
        let (sysret, iret) = scan_return_paths(code, entry);
        let ac = after_handler_call(code, entry).map(|a| (a.addr - entry, a.step));
        format!(
            "swapgs +{:#x} save {:x?} top {top:x?} sysret {:x?} iret {:x?} after_call {ac:x?} candidates {:x?}",
            swapgs - entry,
            save.map(|s| (s.disp, s.after - entry)),
            rel(&sysret),
            rel(&iret),
            rel(&entry_candidates(code, entry))
        )
    }

    #[test]
    fn debian_6_1_entry() {
        // No endbr64; absolute %gs: saves; the sysret path jumps over
        // verw; the handler call returns to 5 no-ops then the sysret
        // checks reading regs->cx.
        let (entry, code) = fixture(include_bytes!("../tests/data/entry-6.1.bin"));
        assert_eq!(
            discovered(entry, code),
            "swapgs +0x0 save Some((6014, c)) top Some(1fb50) sysret [19b] iret [116b] \
             after_call Some((a6, Skip(5))) candidates [0]"
        );
    }

    #[test]
    fn debian_6_12_entry() {
        // endbr64; rip-relative %gs: saves (resolved to the same per-cpu
        // offsets); no-op padding before sysretq; the iret path asserts
        // the frame returns to user mode first; the handler returns a
        // bool tested with test %al,%al.
        let (entry, code) = fixture(include_bytes!("../tests/data/entry-6.12.bin"));
        assert_eq!(
            discovered(entry, code),
            "swapgs +0x4 save Some((6014, f)) top Some(351d8) sysret [13e] iret [17ef] \
             after_call Some((af, TestAl)) candidates [0]"
        );
    }
}
