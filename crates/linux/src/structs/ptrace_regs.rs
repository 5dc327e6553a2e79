//! The register sets ptrace(2) reads and writes: `struct
//! user_regs_struct` (PTRACE_GETREGS/SETREGS, the NT_PRSTATUS regset) and
//! the FPU state (`user_fpregs_struct`: PTRACE_GETFPREGS/SETFPREGS, the
//! NT_FPREGSET regset), in the caller's layout (x86-64, or i386 for a
//! 32-bit caller), shown up to the size the caller gave as strace shows
//! them (a field appears once the size reaches into it; `...` after a
//! buffer larger than the structure).

use vstrace_core::value::{Base, StructBuilder};
use vstrace_core::Value;

use super::{Call, Fields};
use crate::proto::LinuxAbi;

/// `struct user_regs_struct` of x86-64 (asm/user_64.h): 27 longs.
const REGS_X86_64: [&str; 27] = [
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi",
    "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs",
    "gs",
];

/// `struct user_regs_struct` of i386 (asm/user_32.h): 17 longs.
const REGS_I386: [&str; 17] = [
    "ebx", "ecx", "edx", "esi", "edi", "ebp", "eax", "xds", "xes", "xfs", "xgs", "orig_eax", "eip",
    "xcs", "eflags", "esp", "xss",
];

/// One field of an FPU state layout: its name, offset and width; arrays
/// of 32-bit words have a count.
struct FpField {
    name: &'static str,
    off: usize,
    /// Bytes of a scalar field, or 4 for each element of an array.
    width: usize,
    /// Elements of an array field, `None` for a scalar.
    count: Option<usize>,
}

const fn scalar(name: &'static str, off: usize, width: usize) -> FpField {
    FpField {
        name,
        off,
        width,
        count: None,
    }
}

const fn words(name: &'static str, off: usize, count: usize) -> FpField {
    FpField {
        name,
        off,
        width: 4,
        count: Some(count),
    }
}

/// `struct user_i387_struct` of x86-64 (the FXSAVE area, 512 bytes).
const FP_X86_64: [FpField; 11] = [
    scalar("cwd", 0, 2),
    scalar("swd", 2, 2),
    scalar("ftw", 4, 2),
    scalar("fop", 6, 2),
    scalar("rip", 8, 8),
    scalar("rdp", 16, 8),
    scalar("mxcsr", 24, 4),
    scalar("mxcr_mask", 28, 4),
    words("st_space", 32, 32),
    words("xmm_space", 160, 64),
    words("padding", 416, 24),
];
/// `sizeof(struct user_i387_struct)` on x86-64.
const FP_X86_64_SIZE: u64 = 512;

/// `struct user_i387_struct` of i386 (the FSAVE area, 108 bytes).
const FP_I386: [FpField; 8] = [
    scalar("cwd", 0, 4),
    scalar("swd", 4, 4),
    scalar("twd", 8, 4),
    scalar("fip", 12, 4),
    scalar("fcs", 16, 4),
    scalar("foo", 20, 4),
    scalar("fos", 24, 4),
    words("st_space", 28, 20),
];
/// `sizeof(struct user_i387_struct)` on i386.
const FP_I386_SIZE: u64 = 108;

/// The size of the general registers' structure for this caller
/// (what PTRACE_GETREGS writes).
pub(crate) fn regs_size(abi: LinuxAbi) -> u64 {
    match abi {
        LinuxAbi::X86_64 => 8 * REGS_X86_64.len() as u64,
        LinuxAbi::I386 => 4 * REGS_I386.len() as u64,
    }
}

/// The size of the FPU state structure for this caller.
pub(crate) fn fpregs_size(abi: LinuxAbi) -> u64 {
    match abi {
        LinuxAbi::X86_64 => FP_X86_64_SIZE,
        LinuxAbi::I386 => FP_I386_SIZE,
    }
}

/// The first `min(size, sizeof)` bytes at `va`, or what strace prints
/// instead: the address for an empty or misaligned size (not a whole
/// number of longs), for a failed call at its exit (the kernel wrote
/// nothing), and for unreadable memory.
fn fetch(c: &mut Call<'_, '_>, va: u64, size: u64, full: u64) -> Result<Vec<u8>, Value> {
    let word = c.long_size() as u64;
    if size == 0 || size % word != 0 || c.failed() || !c.opts.structs {
        return Err(if va == 0 { Value::Null } else { Value::ptr(va) });
    }
    c.fetch_v(va, size.min(full) as usize)
}

/// `struct user_regs_struct` at `va`, `size` bytes of it (strace's
/// `decode_prstatus_regset`).
pub(crate) fn prstatus(c: &mut Call<'_, '_>, va: u64, size: u64) -> Value {
    let full = regs_size(c.abi);
    let b = match fetch(c, va, size, full) {
        Ok(b) => b,
        Err(v) => return v,
    };
    let word = c.long_size();
    let names: &[&str] = match c.abi {
        LinuxAbi::X86_64 => &REGS_X86_64,
        LinuxAbi::I386 => &REGS_I386,
    };
    let f = Fields::new(&b, word);
    let mut s = StructBuilder::new();
    // A field shows once the size reaches into it.
    for (i, name) in names.iter().enumerate() {
        if i * word >= b.len() {
            break;
        }
        s.field(*name, Value::int(f.ulong(i * word), Base::Hex));
    }
    if size > full {
        s.abbreviated()
    } else {
        s.done()
    }
}

/// The FPU state at `va`, `size` bytes of it (strace's
/// `decode_fpregset`): arrays of 32-bit words cut where the size ends
/// and at `-s` elements.
pub(crate) fn fpregset(c: &mut Call<'_, '_>, va: u64, size: u64) -> Value {
    let full = fpregs_size(c.abi);
    let b = match fetch(c, va, size, full) {
        Ok(b) => b,
        Err(v) => return v,
    };
    let layout: &[FpField] = match c.abi {
        LinuxAbi::X86_64 => &FP_X86_64,
        LinuxAbi::I386 => &FP_I386,
    };
    let limit = if c.opts.verbose {
        usize::MAX
    } else {
        c.opts.strsize
    };
    let f = Fields::new(&b, c.long_size());
    let mut s = StructBuilder::new();
    for (i, fld) in layout.iter().enumerate() {
        // The first field always; the others once the size reaches them.
        if i > 0 && fld.off >= b.len() {
            break;
        }
        let v = match fld.count {
            None => Value::int(f.bytes(fld.off, fld.width), Base::Hex),
            Some(count) => {
                let n = ((b.len() - fld.off) / 4).min(count);
                let items = (0..n.min(limit))
                    .map(|k| Value::int(f.u32(fld.off + 4 * k), Base::Hex))
                    .collect();
                Value::Array {
                    items,
                    more: n > limit,
                }
            }
        };
        s.field(fld.name, v);
    }
    if size > full {
        s.abbreviated()
    } else {
        s.done()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::DecodeOptions;

    fn call<'a, 'm>(
        mem: &'m mut SparseVirt,
        abi: LinuxAbi,
        opts: &'a DecodeOptions,
        ret: Option<i64>,
    ) -> Call<'a, 'm> {
        Call {
            abi,
            name: "ptrace",
            raw: [12, 1, 0, 0x1000, 0, 0],
            mem,
            opts,
            ret,
            entries: &[],
            index: 2,
        }
    }

    #[test]
    fn general_registers_up_to_the_size() {
        let mut b = Vec::new();
        for i in 0..27u64 {
            b.extend_from_slice(&(i * 0x10).to_le_bytes());
        }
        let mut m = SparseVirt::new();
        m.map(0x1000, &b);
        let o = DecodeOptions::default();
        let mut c = call(&mut m, LinuxAbi::X86_64, &o, Some(0));
        assert_eq!(prstatus(&mut c, 0x1000, 16).render(), "{r15=0, r14=0x10}");
        assert_eq!(prstatus(&mut c, 0x1000, 12).render(), "0x1000");
        assert_eq!(prstatus(&mut c, 0x1000, 0).render(), "0x1000");
        let all = prstatus(&mut c, 0x1000, 216).render();
        assert!(all.starts_with("{r15=0, r14=0x10, r13=0x20,"), "{all}");
        assert!(all.ends_with("fs=0x190, gs=0x1a0}"), "{all}");
        assert!(prstatus(&mut c, 0x1000, 224)
            .render()
            .ends_with("gs=0x1a0, ...}"));
        // A failed call's exit: the address.
        let mut c = call(&mut m, LinuxAbi::X86_64, &o, Some(-14));
        assert_eq!(prstatus(&mut c, 0x1000, 216).render(), "0x1000");
        // i386: 4-byte words.
        let mut c = call(&mut m, LinuxAbi::I386, &o, None);
        assert_eq!(
            prstatus(&mut c, 0x1000, 12).render(),
            "{ebx=0, ecx=0, edx=0x10}"
        );
        assert_eq!(prstatus(&mut c, 0x1000, 6).render(), "0x1000");
        // Unreadable.
        let mut c = call(&mut m, LinuxAbi::X86_64, &o, None);
        assert_eq!(prstatus(&mut c, 0x9000, 8).render(), "0x9000");
    }

    #[test]
    fn fpu_state_with_word_arrays() {
        let mut b = vec![0u8; 512];
        b[0..2].copy_from_slice(&0x37fu16.to_le_bytes());
        b[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        b[160..164].copy_from_slice(&0xcafeu32.to_le_bytes());
        let mut m = SparseVirt::new();
        m.map(0x1000, &b);
        let mut o = DecodeOptions::default();
        let mut c = call(&mut m, LinuxAbi::X86_64, &o, Some(0));
        assert_eq!(
            fpregset(&mut c, 0x1000, 8).render(),
            "{cwd=0x37f, swd=0, ftw=0, fop=0}"
        );
        assert_eq!(
            fpregset(&mut c, 0x1000, 40).render(),
            "{cwd=0x37f, swd=0, ftw=0, fop=0, rip=0, rdp=0, mxcsr=0x1f80, mxcr_mask=0, \
             st_space=[0, 0]}"
        );
        o.strsize = 64;
        let mut c = call(&mut m, LinuxAbi::X86_64, &o, Some(0));
        let all = fpregset(&mut c, 0x1000, 520).render();
        assert!(all.contains("xmm_space=[0xcafe, 0, "), "{all}");
        assert!(all.ends_with(", 0], ...}"), "{all}");
        o.strsize = 4;
        let mut c = call(&mut m, LinuxAbi::X86_64, &o, Some(0));
        let cut = fpregset(&mut c, 0x1000, 512).render();
        assert!(cut.contains("st_space=[0, 0, 0, 0, ...]"), "{cut}");
        // i386: FSAVE layout.
        let mut c = call(&mut m, LinuxAbi::I386, &o, None);
        assert_eq!(
            fpregset(&mut c, 0x1000, 32).render(),
            "{cwd=0x37f, swd=0, twd=0, fip=0, fcs=0, foo=0, fos=0x1f80, st_space=[0]}"
        );
    }
}
