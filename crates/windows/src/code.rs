//! Reading numbers out of the guest's own code: the service number in an
//! ntdll `Nt*` stub, and the structure offset an exported kernel accessor
//! uses (`PsGetProcessId`: `mov rax, [rcx+0x440]; ret`).
//!
//! Both decode a few straight-line instructions with iced-x86 and never
//! follow branches. Accessors are run symbolically: registers hold what
//! they are in terms of the function's first argument (the object), the
//! KPCR segment (gs on x64, fs on x86) and the stack, so the frame and
//! frameless x86 shapes (`mov edi, edi; push ebp; mov ebp, esp; mov eax,
//! [ebp+8]`..) read the same as the x64 ones.

use std::collections::HashMap;

use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic, OpKind, Register};
use vstrace_core::Bitness;

/// Most instructions looked at in a stub or an accessor.
const MAX_INSNS: usize = 16;
/// Largest structure offset believed (real ones are below 0x1000; KPCR
/// fields reach 0xa000 under KVA shadow).
const MAX_OFFSET: i64 = 0x10000;
/// Service numbers of tables 0 (nt) and 1 (win32k).
const MAX_SERVICE: u32 = 0x2000;

fn bits(b: Bitness) -> u32 {
    match b {
        Bitness::B64 => 64,
        Bitness::B32 => 32,
    }
}

/// The instructions at `ip` in `code` (which starts at `ip`), straight
/// on, at most [`MAX_INSNS`], up to the first invalid one.
fn insns(code: &[u8], ip: u64, b: Bitness) -> Vec<Instruction> {
    let mut d = Decoder::with_ip(bits(b), code, ip, DecoderOptions::NONE);
    let mut out = Vec::new();
    while d.can_decode() && out.len() < MAX_INSNS {
        let i = d.decode();
        if i.is_invalid() {
            break;
        }
        out.push(i);
    }
    out
}

/// The service number an ntdll stub at `ip` loads before trapping:
/// `mov r10, rcx; mov eax, N; ... syscall` (x64, the `int 0x2e` branch of
/// Windows 10's stubs too), or `mov eax, N` and then `sysenter`, `int
/// 0x2e` or a call into the trap path (`call [edx]` through
/// SharedUserData->SystemCall, `call edx` to Wow64SystemServiceCall,
/// `call fs:[0xc0]`, `call KiFastSystemCall`) on x86. `None` for any other
/// code (an `Nt*` export that is not a stub, such as NtGetTickCount).
pub fn stub_service_number(code: &[u8], ip: u64, b: Bitness) -> Option<u32> {
    let is = insns(code, ip, b);
    let mut it = is.iter();
    if b == Bitness::B64 {
        let first = it.next()?;
        let moves_rcx = first.mnemonic() == Mnemonic::Mov
            && first.op0_register() == Register::R10
            && first.op1_kind() == OpKind::Register
            && first.op1_register() == Register::RCX;
        if !moves_rcx {
            return None;
        }
    }
    let load = it.next()?;
    let n = (load.mnemonic() == Mnemonic::Mov
        && load.op0_register() == Register::EAX
        && load.op1_kind() == OpKind::Immediate32)
        .then(|| load.immediate32())?;
    if n >= MAX_SERVICE {
        return None;
    }
    for i in it.take(6) {
        match i.mnemonic() {
            Mnemonic::Syscall => return (b == Bitness::B64).then_some(n),
            Mnemonic::Sysenter if b == Bitness::B32 => return Some(n),
            Mnemonic::Int if i.immediate8() == 0x2e => return Some(n),
            Mnemonic::Call if b == Bitness::B32 => return Some(n),
            Mnemonic::Ret | Mnemonic::Jmp | Mnemonic::Call => return None,
            _ => {}
        }
    }
    None
}

/// What a register holds, in terms of the accessor's inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sym {
    /// The first argument: the object pointer.
    Arg,
    /// The stack pointer at entry plus an offset.
    Stack(i64),
    /// The pointer-sized value at KPCR + offset (`gs:[off]` / `fs:[off]`).
    Kpcr(i64),
    /// The value loaded from a symbol plus an offset.
    Load(Box<Sym>, i64),
    /// A symbol plus an offset (an address, from `lea` or `add`).
    Addr(Box<Sym>, i64),
}

/// Runs the accessor at `ip` (its code in `code`) symbolically and says
/// what it returns, if it is straight-line code made of moves, `lea`,
/// `add`/`sub` of constants, pushes and pops, ending in `ret`.
pub fn accessor_result(code: &[u8], ip: u64, b: Bitness) -> Option<Sym> {
    let psz: i64 = match b {
        Bitness::B64 => 8,
        Bitness::B32 => 4,
    };
    let mut regs: HashMap<Register, Sym> = HashMap::new();
    regs.insert(Register::RSP, Sym::Stack(0));
    if b == Bitness::B64 {
        regs.insert(Register::RCX, Sym::Arg);
    }
    for i in insns(code, ip, b) {
        let dst = i.op0_register().full_register();
        match i.mnemonic() {
            Mnemonic::Ret => return regs.get(&Register::RAX).cloned(),
            Mnemonic::Mov if i.op0_kind() == OpKind::Register => {
                let v = match i.op1_kind() {
                    OpKind::Register => regs.get(&i.op1_register().full_register()).cloned(),
                    OpKind::Memory => load(&i, &regs, psz),
                    _ => None,
                };
                set(&mut regs, dst, v);
            }
            // A store (e.g. a spill to home space): nothing to track.
            Mnemonic::Mov => {}
            Mnemonic::Lea => {
                let v = address(&i, &regs).map(|(base, d)| offset(base, d));
                set(&mut regs, dst, v);
            }
            Mnemonic::Add | Mnemonic::Sub
                if i.op0_kind() == OpKind::Register && is_imm(i.op1_kind()) =>
            {
                let k = i.immediate(1) as i64;
                let k = if i.mnemonic() == Mnemonic::Sub { -k } else { k };
                let v = regs.get(&dst).cloned().map(|s| offset(s, k));
                set(&mut regs, dst, v);
            }
            Mnemonic::Push => {
                let sp = stack(&regs)?;
                regs.insert(Register::RSP, Sym::Stack(sp - psz));
            }
            Mnemonic::Pop => {
                let sp = stack(&regs)?;
                regs.remove(&dst);
                regs.insert(Register::RSP, Sym::Stack(sp + psz));
            }
            Mnemonic::Nop => {}
            _ => return None,
        }
    }
    None
}

fn is_imm(k: OpKind) -> bool {
    matches!(
        k,
        OpKind::Immediate8
            | OpKind::Immediate8to32
            | OpKind::Immediate8to64
            | OpKind::Immediate32
            | OpKind::Immediate32to64
    )
}

fn set(regs: &mut HashMap<Register, Sym>, r: Register, v: Option<Sym>) {
    match v {
        Some(v) => {
            regs.insert(r, v);
        }
        None => {
            regs.remove(&r);
        }
    }
}

fn stack(regs: &HashMap<Register, Sym>) -> Option<i64> {
    match regs.get(&Register::RSP) {
        Some(Sym::Stack(o)) => Some(*o),
        _ => None,
    }
}

/// `base + d`, folding constants.
fn offset(base: Sym, d: i64) -> Sym {
    match base {
        Sym::Stack(o) => Sym::Stack(o + d),
        Sym::Addr(b, o) => Sym::Addr(b, o + d),
        s if d == 0 => s,
        s => Sym::Addr(Box::new(s), d),
    }
}

/// The memory operand's base (a symbol, or None for a plain `fs:`/`gs:`
/// displacement) and displacement; no index registers.
fn address(i: &Instruction, regs: &HashMap<Register, Sym>) -> Option<(Sym, i64)> {
    if i.memory_index() != Register::None {
        return None;
    }
    let d = i.memory_displacement64() as i64;
    let d = if i.memory_base() == Register::None && d > u32::MAX as i64 {
        d as i32 as i64
    } else {
        d
    };
    if !(-MAX_OFFSET..=MAX_OFFSET).contains(&d) {
        return None;
    }
    match i.memory_base() {
        Register::None => None,
        r => Some((regs.get(&r.full_register())?.clone(), d)),
    }
}

/// What a load from the memory operand gives.
fn load(i: &Instruction, regs: &HashMap<Register, Sym>, psz: i64) -> Option<Sym> {
    let seg = i.segment_prefix();
    if matches!(seg, Register::GS | Register::FS) && i.memory_base() == Register::None {
        let d = i.memory_displacement64() as u32 as i64;
        return (d < MAX_OFFSET).then_some(Sym::Kpcr(d));
    }
    let (base, d) = address(i, regs)?;
    match offset(base, d) {
        // x86 stdcall: the first argument is above the return address.
        Sym::Stack(o) if o == psz && psz == 4 => Some(Sym::Arg),
        Sym::Stack(_) => None,
        Sym::Addr(b, o) => Some(Sym::Load(b, o)),
        s => Some(Sym::Load(Box::new(s), 0)),
    }
}

/// `[arg + d]`: the offset of the object field an accessor returns.
pub fn field_of_arg(s: &Sym) -> Option<u64> {
    match s {
        Sym::Load(b, d) if **b == Sym::Arg && *d >= 0 => Some(*d as u64),
        _ => None,
    }
}

/// `arg + d`: the offset of the object field whose address it returns.
pub fn address_in_arg(s: &Sym) -> Option<u64> {
    match s {
        Sym::Addr(b, d) if **b == Sym::Arg && *d >= 0 => Some(*d as u64),
        _ => None,
    }
}

/// `kpcr[d]`: the KPCR field it returns (the current thread).
pub fn kpcr_field(s: &Sym) -> Option<u64> {
    match s {
        Sym::Kpcr(d) if *d >= 0 => Some(*d as u64),
        _ => None,
    }
}

/// `kpcr[d1][d2]`: a field of the object a KPCR field points at (the
/// current thread's process, its id).
pub fn kpcr_chain(s: &Sym) -> Option<(u64, u64)> {
    match s {
        Sym::Load(b, d2) if *d2 >= 0 => Some((kpcr_field(b)?, *d2 as u64)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x64_stubs() {
        // Windows 10 x64 NtOpenFile.
        let code = [
            0x4c, 0x8b, 0xd1, 0xb8, 0x33, 0, 0, 0, 0xf6, 0x04, 0x25, 0x08, 0x03, 0xfe, 0x7f, 0x01,
            0x75, 0x03, 0x0f, 0x05, 0xc3, 0xcd, 0x2e, 0xc3,
        ];
        assert_eq!(stub_service_number(&code, 0x1000, Bitness::B64), Some(0x33));
        // Not a stub: mov eax, 0x10; ret. Truncated: no trap.
        assert_eq!(
            stub_service_number(&[0xb8, 0x10, 0, 0, 0, 0xc3], 0, Bitness::B64),
            None
        );
        assert_eq!(stub_service_number(&code[..8], 0, Bitness::B64), None);
        assert_eq!(stub_service_number(&[], 0, Bitness::B64), None);
    }

    #[test]
    fn x86_stubs() {
        // mov eax, 0xb3; mov edx, 0x7ffe0300; call [edx]; ret 0x18
        let xp = [
            0xb8, 0xb3, 0, 0, 0, 0xba, 0, 3, 0xfe, 0x7f, 0xff, 0x12, 0xc2, 0x18, 0,
        ];
        assert_eq!(stub_service_number(&xp, 0, Bitness::B32), Some(0xb3));
        // mov eax, 0x32; lea edx, [esp+4]; int 0x2e; ret 4
        let int2e = [
            0xb8, 0x32, 0, 0, 0, 0x8d, 0x54, 0x24, 0x04, 0xcd, 0x2e, 0xc2, 4, 0,
        ];
        assert_eq!(stub_service_number(&int2e, 0, Bitness::B32), Some(0x32));
        // WoW64: mov eax, 0x18; mov edx, X; call edx; ret 0x18
        let wow = [
            0xb8, 0x18, 0, 0, 0, 0xba, 0x10, 0x20, 0x30, 0x40, 0xff, 0xd2, 0xc2, 0x18, 0,
        ];
        assert_eq!(stub_service_number(&wow, 0, Bitness::B32), Some(0x18));
        // A huge number is no service.
        let huge = [0xb8, 0, 0, 0, 0x80, 0xcd, 0x2e, 0xc3];
        assert_eq!(stub_service_number(&huge, 0, Bitness::B32), None);
    }

    #[test]
    fn x64_accessors() {
        // mov rax, [rcx+0x440]; ret
        let s = accessor_result(&[0x48, 0x8b, 0x81, 0x40, 4, 0, 0, 0xc3], 0, Bitness::B64);
        assert_eq!(s.as_ref().and_then(field_of_arg), Some(0x440));
        // lea rax, [rcx+0x5a8]; ret
        let s = accessor_result(&[0x48, 0x8d, 0x81, 0xa8, 5, 0, 0, 0xc3], 0, Bitness::B64);
        assert_eq!(s.as_ref().and_then(address_in_arg), Some(0x5a8));
        // mov rax, gs:[0x188]; mov rax, [rax+0xb8]; ret
        let code = [
            0x65, 0x48, 0x8b, 0x04, 0x25, 0x88, 1, 0, 0, 0x48, 0x8b, 0x80, 0xb8, 0, 0, 0, 0xc3,
        ];
        let s = accessor_result(&code, 0, Bitness::B64).unwrap();
        assert_eq!(kpcr_chain(&s), Some((0x188, 0xb8)));
        assert_eq!(
            kpcr_field(&accessor_result(&code[..9], 0, Bitness::B64).unwrap_or(Sym::Arg)),
            None
        );
        // A branch: not an accessor.
        assert_eq!(accessor_result(&[0xeb, 0xfe], 0, Bitness::B64), None);
    }

    #[test]
    fn x86_accessors() {
        // mov edi, edi; push ebp; mov ebp, esp; mov eax, [ebp+8];
        // mov eax, [eax+0xb4]; pop ebp; ret 4
        let frame = [
            0x8b, 0xff, 0x55, 0x8b, 0xec, 0x8b, 0x45, 0x08, 0x8b, 0x80, 0xb4, 0, 0, 0, 0x5d, 0xc2,
            4, 0,
        ];
        let s = accessor_result(&frame, 0, Bitness::B32).unwrap();
        assert_eq!(field_of_arg(&s), Some(0xb4));
        // mov eax, [esp+4]; add eax, 0x16c; ret 4
        let add = [0x8b, 0x44, 0x24, 0x04, 0x05, 0x6c, 1, 0, 0, 0xc2, 4, 0];
        let s = accessor_result(&add, 0, Bitness::B32).unwrap();
        assert_eq!(address_in_arg(&s), Some(0x16c));
        // mov eax, fs:[0x124]; ret
        let s = accessor_result(&[0x64, 0xa1, 0x24, 1, 0, 0, 0xc3], 0, Bitness::B32).unwrap();
        assert_eq!(kpcr_field(&s), Some(0x124));
    }
}
