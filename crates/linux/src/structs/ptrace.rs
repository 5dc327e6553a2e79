//! ptrace(2) structures: `struct ptrace_syscall_info` of
//! PTRACE_GET_SYSCALL_INFO, shown at the exit as strace does, up to the
//! size both the caller's buffer and the kernel's answer cover.

use std::borrow::Cow;

use vstrace_core::value::{Base, Const, StructBuilder};
use vstrace_core::Value;

use super::{Call, Fields};
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{Radix, Table as T};

/// `offsetofend(struct ptrace_syscall_info, arch)`.
const END_ARCH: u64 = 8;
/// `offsetofend(..., instruction_pointer)`.
const END_IP: u64 = 16;
/// `offsetofend(..., stack_pointer)`.
const END_SP: u64 = 24;
/// `offsetofend(..., entry.nr)` (also `seccomp.nr`, `exit.rval`).
const END_NR: u64 = 32;
/// Where `entry.args` and `seccomp.args` start.
const ARGS: u64 = 32;
/// `offsetofend(..., exit.is_error)`.
const EXIT_SIZE: u64 = 33;
/// `offsetofend(..., seccomp.ret_data)`: the most strace reads.
const SECCOMP_SIZE: u64 = 84;

/// `nr=__NR_chdir`: a system call number by the table of the ABI that
/// `arch` names; the number alone for another arch or an unknown call.
fn syscall_nr(abi: LinuxAbi, arch: u64, nr: u64) -> Value {
    let table = match T::AuditArch.xlat().lookup(abi, arch) {
        Some("AUDIT_ARCH_X86_64") => Some(LinuxAbi::X86_64),
        Some("AUDIT_ARCH_I386") => Some(LinuxAbi::I386),
        _ => None,
    };
    match table.and_then(|t| crate::proto::syscall(t, nr)) {
        Some(d) => Value::name(format!("__NR_{}", d.name), nr),
        None => Value::dec(nr),
    }
}

/// The `args=[...]` of an entry or seccomp stop: as many as `size`
/// bytes hold, at most six.
fn args(f: &Fields<'_>, size: u64) -> Option<Value> {
    let n = (size.saturating_sub(ARGS) / 8).min(6);
    (n > 0).then(|| Value::Array {
        items: (0..n)
            .map(|i| Value::int(f.u64((ARGS + 8 * i) as usize), Base::Hex))
            .collect(),
        more: false,
    })
}

/// `struct ptrace_syscall_info` at `va`, `user_len` the caller's buffer
/// size (strace's `print_ptrace_syscall_info`).
pub(crate) fn syscall_info(c: &mut Call<'_, '_>, va: u64, user_len: u64) -> Value {
    // The kernel's answer is the full size it has (whatever the buffer):
    // only what both cover was written.
    let kernel_len = c.ret.unwrap_or(0) as u64;
    let size = user_len.min(kernel_len).min(SECCOMP_SIZE);
    if size == 0 {
        return Value::ptr(va);
    }
    let b = match c.fetch_v(va, size as usize) {
        Ok(b) => b,
        Err(v) => return v,
    };
    let abi = c.abi;
    let f = Fields::new(&b, 8);
    let op = f.bytes(0, 1);
    let arch = f.u32(4);
    let mut s = StructBuilder::new();
    s.field(
        "op",
        fmt::xval_v(abi, T::PtraceSyscallInfoOp, op, Radix::Hex),
    );
    if size >= END_ARCH {
        s.field("arch", fmt::xval_v(abi, T::AuditArch, arch, Radix::Hex));
    }
    if size >= END_IP {
        s.field("instruction_pointer", Value::ptr(f.u64(8)));
    }
    if size >= END_SP {
        s.field("stack_pointer", Value::ptr(f.u64(16)));
    }
    if size >= END_NR {
        let op_is = |name: &str| T::PtraceSyscallInfoOp.xlat().value_of(abi, name) == Some(op);
        if op_is("PTRACE_SYSCALL_INFO_ENTRY") || op_is("PTRACE_SYSCALL_INFO_SECCOMP") {
            let mut e = StructBuilder::new();
            e.field("nr", syscall_nr(abi, arch, f.u64(24)));
            if let Some(a) = args(&f, size) {
                e.field("args", a);
            }
            let seccomp = op_is("PTRACE_SYSCALL_INFO_SECCOMP");
            if seccomp && size >= SECCOMP_SIZE {
                e.dec("ret_data", f.u32(80));
            }
            s.field(if seccomp { "seccomp" } else { "entry" }, e.done());
        } else if op_is("PTRACE_SYSCALL_INFO_EXIT") {
            let rval = f.i64(24);
            let is_error = size >= EXIT_SIZE && f.bytes(32, 1) != 0;
            let mut e = StructBuilder::new();
            let errno = rval
                .checked_neg()
                .filter(|_| is_error)
                .and_then(crate::consts::errno_name);
            match errno {
                // strace's PRINT_FIELD_ERR_D: `-ENOENT`.
                Some(name) => e.field(
                    "rval",
                    Value::Const(Const {
                        raw: i128::from(rval),
                        base: Base::Dec,
                        name: Some(Cow::Owned(format!("-{name}"))),
                        comment: None,
                    }),
                ),
                None => e.dec("rval", rval),
            };
            if size >= EXIT_SIZE {
                e.dec("is_error", f.bytes(32, 1));
            }
            s.field("exit", e.done());
        }
    }
    s.done()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::DecodeOptions;

    fn info(mem: &mut SparseVirt, user_len: u64, ret: i64) -> String {
        let o = DecodeOptions::default();
        let mut c = Call {
            abi: LinuxAbi::X86_64,
            name: "ptrace",
            raw: [0x420e, 1, user_len, 0x1000, 0, 0],
            mem,
            opts: &o,
            ret: Some(ret),
            entries: &[],
            index: 3,
        };
        syscall_info(&mut c, 0x1000, user_len).render()
    }

    #[test]
    fn syscall_info_up_to_the_size_written() {
        let mut b = vec![0u8; 88];
        b[0] = 1; // PTRACE_SYSCALL_INFO_ENTRY
        b[4..8].copy_from_slice(&0xc000_003eu32.to_le_bytes());
        b[8..16].copy_from_slice(&0x43c749u64.to_le_bytes());
        b[16..24].copy_from_slice(&0x7ffdu64.to_le_bytes());
        b[24..32].copy_from_slice(&80u64.to_le_bytes());
        b[32..40].copy_from_slice(&0x494f1au64.to_le_bytes());
        let mut m = SparseVirt::new();
        m.map(0x1000, &b);
        assert_eq!(info(&mut m, 1, 80), "{op=PTRACE_SYSCALL_INFO_ENTRY}");
        assert_eq!(
            info(&mut m, 40, 80),
            "{op=PTRACE_SYSCALL_INFO_ENTRY, arch=AUDIT_ARCH_X86_64, \
             instruction_pointer=0x43c749, stack_pointer=0x7ffd, \
             entry={nr=__NR_chdir, args=[0x494f1a]}}"
        );
        assert_eq!(info(&mut m, 0, 80), "0x1000");
        // An exit stop with an error.
        b[0] = 2;
        b[24..32].copy_from_slice(&(-2i64).to_le_bytes());
        b[32] = 1;
        m.map(0x1000, &b);
        assert!(info(&mut m, 88, 33).ends_with("exit={rval=-ENOENT, is_error=1}}"));
        assert!(info(&mut m, 32, 33).ends_with("exit={rval=-2}}"));
        // Unreadable: the address.
        let mut m = SparseVirt::new();
        assert_eq!(info(&mut m, 88, 33), "0x1000");
    }
}
