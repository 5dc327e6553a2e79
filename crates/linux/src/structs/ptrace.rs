//! ptrace(2) structures: `struct ptrace_syscall_info` of
//! PTRACE_GET_SYSCALL_INFO, shown at the exit as strace does, up to the
//! size both the caller's buffer and the kernel's answer cover; the
//! regset iovecs of PTRACE_GETREGSET/SETREGSET, PTRACE_PEEKSIGINFO's
//! arguments and answer, seccomp filter metadata, peeked words, siginfo
//! and signal masks. The register sets are in [`super::ptrace_regs`].

use std::borrow::Cow;

use vstrace_core::value::{Base, Const, StructBuilder};
use vstrace_core::Value;

use super::{ptrace_regs, siginfo};
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
pub(super) fn syscall_nr(abi: LinuxAbi, arch: u64, nr: u64) -> Value {
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

/// `sizeof(struct __ptrace_peeksiginfo_args)`: u64 off, u32 flags, s32 nr.
const PEEKSIGINFO_ARGS: usize = 16;
/// `sizeof(struct seccomp_metadata)`: u64 filter_off, u64 flags.
const SECCOMP_METADATA: i64 = 16;

/// The general registers (`gp`) or the FPU state at `va`, `size` bytes.
pub(crate) fn regs(c: &mut Call<'_, '_>, gp: bool, va: u64, size: u64) -> Value {
    if gp {
        ptrace_regs::prstatus(c, va, size)
    } else {
        ptrace_regs::fpregset(c, va, size)
    }
}

/// PTRACE_PEEKSIGINFO's `struct __ptrace_peeksiginfo_args`:
/// `{off=N, flags=PTRACE_PEEKSIGINFO_SHARED, nr=N}`.
pub(crate) fn peeksiginfo_args(c: &mut Call<'_, '_>, va: u64) -> Value {
    let b = match c.fetch_v(va, PEEKSIGINFO_ARGS) {
        Ok(b) => b,
        Err(v) => return v,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    s.dec("off", f.u64(0));
    s.field(
        "flags",
        fmt::xflags_v(c.abi, &[T::PtracePeeksiginfoFlags], f.u32(8), true, true),
    );
    s.dec("nr", f.u32(12));
    s.done()
}

/// A word the kernel stored at `va` (PTRACE_PEEK*: a pointer-sized
/// `[0x...]`; PTRACE_GETEVENTMSG: an unsigned long `[N]`).
pub(crate) fn word(c: &mut Call<'_, '_>, va: u64, as_ptr: bool) -> String {
    let n = c.long_size();
    match c.fetch(va, n) {
        Ok(b) => {
            let w = Fields::new(&b, n).ulong(0);
            if as_ptr {
                format!("[{}]", fmt::ptr(w))
            } else {
                format!("[{w}]")
            }
        }
        Err(s) => s,
    }
}

/// The `siginfo_t` at `va` in the caller's layout (read whole: an
/// unreadable one is its address).
pub(crate) fn siginfo(c: &mut Call<'_, '_>, va: u64) -> String {
    siginfo_value(c, va).render()
}

/// [`siginfo`], typed (its `si_fd` a descriptor `-y` names).
pub(crate) fn siginfo_value(c: &mut Call<'_, '_>, va: u64) -> Value {
    match c.fetch_v(va, siginfo::SIZE) {
        Ok(b) => siginfo::siginfo_v(c.abi, &b),
        Err(v) => v,
    }
}

/// `count` `siginfo_t`s at `va` (PTRACE_PEEKSIGINFO's answer), as
/// strace's `print_array`: at most `-s` of them unless `-v`.
pub(crate) fn siginfo_array(c: &mut Call<'_, '_>, va: u64, count: u64) -> String {
    let abi = c.abi;
    c.array(va, count, siginfo::SIZE, |_, b| {
        siginfo::siginfo_v(abi, b).render()
    })
}

/// PTRACE_[GS]ETSIGMASK's set of `len` bytes at `va` (strace's
/// `print_sigset_addr_len`: only a size from a word to the kernel's 8
/// bytes is read).
pub(crate) fn sigmask(c: &mut Call<'_, '_>, va: u64, len: u64) -> String {
    if va == 0 {
        return "NULL".into();
    }
    if len > 8 || len < c.long_size() as u64 {
        return fmt::ptr(va);
    }
    match c.fetch(va, len as usize) {
        Ok(b) => {
            let mask = Fields::new(&b, 8).bytes(0, b.len());
            if len == 8 {
                fmt::sigset_v(mask).render()
            } else {
                fmt::sigset_sized_v(mask, len).render()
            }
        }
        Err(s) => s,
    }
}

/// PTRACE_SECCOMP_GET_METADATA at the entry: the filter index the
/// kernel reads, `{filter_off=N` (closed at the exit), for a size of at
/// least its 8 bytes.
pub(crate) fn seccomp_metadata_entry(c: &mut Call<'_, '_>, va: u64, size: u64) -> String {
    if size < 8 {
        return fmt::ptr(va);
    }
    match c.fetch(va, 8) {
        Ok(b) => format!("{{filter_off={}}}", Fields::new(&b, 8).u64(0)),
        Err(s) => s,
    }
}

/// PTRACE_SECCOMP_GET_METADATA at the exit: the flags the kernel wrote
/// (as many bytes as it returned), after the entry's `filter_off`.
pub(crate) fn seccomp_metadata_exit(
    c: &mut Call<'_, '_>,
    entry: String,
    va: u64,
    ret: i64,
) -> String {
    let Some(body) = entry
        .strip_prefix("{filter_off=")
        .and_then(|b| b.strip_suffix('}'))
    else {
        return entry;
    };
    let mut s = format!("{{filter_off={body}");
    if !c.failed() && ret > 8 {
        let flags = if ret < SECCOMP_METADATA {
            None
        } else {
            c.fetch(va.wrapping_add(8), 8).ok()
        };
        match flags {
            Some(b) => {
                let v = Fields::new(&b, 8).u64(0);
                s.push_str(", flags=");
                s.push_str(&crate::xlat::flags(c.abi, T::SeccompFilterFlags, v));
                if ret > SECCOMP_METADATA {
                    s.push_str(", ...");
                }
            }
            None => s.push_str(", ???"),
        }
    }
    s.push('}');
    s
}

/// The caller's `struct iovec` at `va`: base and length.
fn iovec(c: &mut Call<'_, '_>, va: u64) -> Option<(u64, u64)> {
    let n = c.long_size();
    let b = c.fetch(va, 2 * n).ok()?;
    let f = Fields::new(&b, n);
    Some((f.ulong(0), f.ulong(n)))
}

/// The registers of regset `nt` at `base`, `len` bytes (strace decodes
/// NT_PRSTATUS and NT_FPREGSET; other sets are their address).
fn regset(c: &mut Call<'_, '_>, nt: u64, base: u64, len: u64) -> Value {
    match T::NtDescriptorTypes.xlat().lookup(c.abi, nt) {
        Some("NT_PRSTATUS") => ptrace_regs::prstatus(c, base, len),
        Some("NT_FPREGSET") => ptrace_regs::fpregset(c, base, len),
        _ => Value::ptr(base),
    }
}

/// `{iov_base=..., iov_len=N}`.
fn iovec_text(base: &str, len: &str) -> String {
    format!("{{iov_base={base}, iov_len={len}}}")
}

/// The entry's `iov_len` in an iovec text this module made.
fn entry_len(entry: &str) -> Option<u64> {
    entry
        .rsplit_once("iov_len=")?
        .1
        .strip_suffix('}')?
        .parse()
        .ok()
}

/// PTRACE_GETREGSET at the entry: the iovec as given (its registers
/// are shown at the exit), or its address when unreadable.
pub(crate) fn getregset_entry(c: &mut Call<'_, '_>, va: u64) -> String {
    match iovec(c, va) {
        Some((base, len)) => iovec_text(&fmt::ptr(base), &len.to_string()),
        None => fmt::ptr(va),
    }
}

/// PTRACE_GETREGSET at the exit: the registers the kernel wrote, and
/// `iov_len=N => M` when it shortened the length.
pub(crate) fn getregset_exit(
    c: &mut Call<'_, '_>,
    entry: Option<&str>,
    nt: u64,
    va: u64,
) -> String {
    let Some(old) = entry.and_then(entry_len) else {
        // The iovec was unreadable at the entry: its address.
        return entry.map_or_else(|| fmt::ptr(va), str::to_string);
    };
    let Some((base, len)) = iovec(c, va) else {
        return fmt::ptr(va);
    };
    let regs = regset(c, nt, base, len).render();
    let len = if len == old {
        len.to_string()
    } else {
        format!("{old} => {len}")
    };
    iovec_text(&regs, &len)
}

/// PTRACE_SETREGSET at the entry: the registers the kernel reads.
pub(crate) fn setregset_entry(c: &mut Call<'_, '_>, nt: u64, va: u64) -> String {
    match iovec(c, va) {
        Some((base, len)) => {
            let regs = regset(c, nt, base, len).render();
            iovec_text(&regs, &len.to_string())
        }
        None => fmt::ptr(va),
    }
}

/// PTRACE_SETREGSET at the exit: the entry's text, with `=> M` when the
/// kernel changed the length.
pub(crate) fn setregset_exit(c: &mut Call<'_, '_>, entry: String, va: u64) -> String {
    let Some(old) = entry_len(&entry) else {
        return entry;
    };
    match iovec(c, va) {
        Some((_, len)) if len != old => match entry.strip_suffix('}') {
            Some(body) => format!("{body} => {len}}}"),
            None => entry,
        },
        _ => entry,
    }
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
