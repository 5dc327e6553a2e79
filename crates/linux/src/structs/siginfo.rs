//! `siginfo_t` as strace's `printsiginfo` shows it, typed: the signal,
//! its code named by the generic table then the signal's own
//! (`SI_TKILL`, `TRAP_BRKPT`, `SEGV_PKUERR`; an unknown code in hex), the
//! error, and the union member the signal and code select (the sender,
//! a timer, a faulting address with its bounds or protection key, a
//! poll band and descriptor, a seccomp-trapped call). The layout is the
//! caller's: x86-64 (union at 16, 8-byte words) or the 32-bit
//! `compat_siginfo` (union at 12, 4-byte words).

use vstrace_core::value::{Base, Const, StructBuilder};
use vstrace_core::Value;

use super::Fields;
use crate::consts;
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{Radix, Table as T};

/// `sizeof(siginfo_t)` in both ABIs.
pub(crate) const SIZE: usize = 128;

/// The code's name: the generic codes first, then the signal's own.
fn code_name(abi: LinuxAbi, signame: Option<&str>, code: i32) -> Option<&'static str> {
    let key = code as i64 as u64;
    if let Some(n) = T::SiginfoCodes.xlat().lookup(abi, key) {
        return Some(n);
    }
    let table = match signame? {
        "SIGTRAP" => T::SigtrapCodes,
        "SIGCHLD" => T::SigchldCodes,
        "SIGIO" => T::SigpollCodes,
        "SIGILL" => T::SigillCodes,
        "SIGFPE" => T::SigfpeCodes,
        "SIGSEGV" => T::SigsegvCodes,
        "SIGBUS" => T::SigbusCodes,
        "SIGSYS" => T::SigsysCodes,
        _ => return None,
    };
    table.xlat().lookup(abi, key)
}

/// `si_code`: the name, else the unsigned number in hex (no comment).
fn code_v(abi: LinuxAbi, signame: Option<&str>, code: i32) -> Value {
    Value::Const(Const {
        raw: i128::from(code as u32),
        base: Base::Hex,
        name: code_name(abi, signame, code).map(Into::into),
        comment: None,
    })
}

/// `si_errno`: the error's name, else the unsigned number.
fn errno_v(e: i32) -> Value {
    let raw = i128::from(e as u32);
    match consts::errno_name(i64::from(e)) {
        Some(n) => Value::Const(Const {
            raw,
            base: Base::Dec,
            name: Some(n.into()),
            comment: None,
        }),
        None => Value::Int {
            value: raw,
            base: Base::Dec,
        },
    }
}

/// A uid as strace's `PRINT_FIELD_ID`: `-1` for the all-ones id.
fn id_v(v: u32) -> Value {
    if v == u32::MAX {
        Value::dec(-1)
    } else {
        Value::dec(v)
    }
}

/// The `siginfo_t` in `b` (at least [`SIZE`] bytes; shorter reads as
/// zeros) of a caller of `abi`.
pub(crate) fn siginfo_v(abi: LinuxAbi, b: &[u8]) -> Value {
    let wide = abi == LinuxAbi::X86_64;
    let w = if wide { 8 } else { 4 };
    let u = if wide { 16 } else { 12 };
    let f = Fields::new(b, w);
    let mut s = StructBuilder::new();
    let signo = f.u32(0);
    if signo == 0 {
        return s.done();
    }
    let errno = f.i32(4) as i32;
    let code = f.i32(8) as i32;
    let signame = consts::signal_name(signo);
    let signame = signame.as_deref();
    s.field("si_signo", fmt::signal_v(signo));
    s.field("si_code", code_v(abi, signame, code));
    if code_name(abi, signame, code) == Some("SI_NOINFO") {
        return s.done();
    }
    if errno != 0 {
        s.field("si_errno", errno_v(errno));
    }
    let pid = f.i32(u);
    let uid = f.u32(u + 4) as u32;
    let source = |s: &mut StructBuilder| {
        s.dec("si_pid", pid);
        s.field("si_uid", id_v(uid));
    };
    let sigval = |s: &mut StructBuilder| {
        s.dec("si_int", f.i32(u + 8));
        s.field("si_ptr", Value::ptr(f.ulong(u + 8)));
    };
    // SIGIO's band and descriptor.
    let poll = |s: &mut StructBuilder| {
        s.dec("si_band", f.long(u));
        s.field(
            "si_fd",
            Value::Fd {
                fd: f.i32(u + w),
                path: None,
            },
        );
    };
    let generic = code_name(abi, None, code);
    if code <= 0 {
        match generic {
            Some("SI_USER") | Some("SI_TKILL") => source(&mut s),
            Some("SI_TIMER") => {
                s.field("si_timerid", Value::int(pid as u32, Base::Hex));
                s.dec("si_overrun", uid as i32);
                sigval(&mut s);
            }
            Some("SI_SIGIO") => poll(&mut s),
            _ => {
                source(&mut s);
                if f.ulong(u + 8) != 0 {
                    sigval(&mut s);
                }
            }
        }
        return s.done();
    }
    let addr = Value::ptr(f.ulong(u));
    let own = code_name(abi, signame, code);
    match signame {
        Some("SIGCHLD") => {
            source(&mut s);
            let status = f.i32(u + 8);
            if own == Some("CLD_EXITED") {
                s.dec("si_status", status);
            } else {
                s.field("si_status", fmt::signal_v(status as u64));
            }
            // clock_t is a long after the int status, aligned.
            let ut = if wide { u + 16 } else { u + 12 };
            let clock = |v: u64| if wide { v } else { v as u32 as i32 as u64 };
            s.field("si_utime", super::resource::clock_t_v(clock(f.ulong(ut))));
            s.field(
                "si_stime",
                super::resource::clock_t_v(clock(f.ulong(ut + w))),
            );
        }
        Some("SIGILL") | Some("SIGFPE") | Some("SIGTRAP") => {
            s.field("si_addr", addr);
        }
        Some("SIGBUS") => {
            s.field("si_addr", addr);
            if matches!(own, Some("BUS_MCEERR_AR") | Some("BUS_MCEERR_AO")) {
                s.field("si_addr_lsb", Value::int(f.u16(u + w), Base::Hex));
            }
        }
        Some("SIGSEGV") => {
            s.field("si_addr", addr);
            // The bounds and the key follow a pointer-aligned pad.
            match own {
                Some("SEGV_BNDERR") => {
                    s.field("si_lower", Value::ptr(f.ulong(u + 2 * w)));
                    s.field("si_upper", Value::ptr(f.ulong(u + 3 * w)));
                }
                Some("SEGV_PKUERR") => {
                    s.dec("si_pkey", f.u32(u + 2 * w));
                }
                _ => {}
            }
        }
        Some("SIGIO") => {
            if matches!(
                own,
                Some("POLL_IN" | "POLL_OUT" | "POLL_MSG" | "POLL_ERR" | "POLL_PRI" | "POLL_HUP")
            ) {
                poll(&mut s);
            }
        }
        Some("SIGSYS") => {
            s.field("si_call_addr", addr);
            let arch = f.u32(u + w + 4);
            s.field(
                "si_syscall",
                super::ptrace::syscall_nr(abi, arch, f.u32(u + w)),
            );
            s.field("si_arch", fmt::xval_v(abi, T::AuditArch, arch, Radix::Hex));
        }
        _ => {
            if pid != 0 || uid != 0 {
                source(&mut s);
            }
            if f.ulong(u + 8) != 0 {
                sigval(&mut s);
            }
        }
    }
    s.done()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(abi: LinuxAbi, words: &[(usize, &[u8])]) -> String {
        let mut b = vec![0u8; SIZE];
        for (off, bytes) in words {
            b[*off..off + bytes.len()].copy_from_slice(bytes);
        }
        siginfo_v(abi, &b).render()
    }

    #[test]
    fn codes_and_union_members_as_strace_prints_them() {
        let x = LinuxAbi::X86_64;
        let addr = 0xfacefeeddeadbeefu64.to_le_bytes();
        // SIGIO/POLL_IN: band and fd.
        assert_eq!(
            info(
                x,
                &[
                    (0, &29u32.to_le_bytes()),
                    (4, &2u32.to_le_bytes()),
                    (8, &1u32.to_le_bytes()),
                    (16, &(-2i64).to_le_bytes()),
                    (24, &23u32.to_le_bytes())
                ]
            ),
            "{si_signo=SIGIO, si_code=POLL_IN, si_errno=ENOENT, si_band=-2, si_fd=23}"
        );
        // An unknown SIGTRAP code in hex, the address.
        assert_eq!(
            info(
                x,
                &[
                    (0, &5u32.to_le_bytes()),
                    (8, &7u32.to_le_bytes()),
                    (16, &addr)
                ]
            ),
            "{si_signo=SIGTRAP, si_code=0x7, si_addr=0xfacefeeddeadbeef}"
        );
        // SEGV_BNDERR bounds after the pointer-aligned pad; unknown errno
        // unsigned.
        assert_eq!(
            info(
                x,
                &[
                    (0, &11u32.to_le_bytes()),
                    (4, &(-2i32).to_le_bytes()),
                    (8, &3u32.to_le_bytes()),
                    (16, &addr),
                    (40, &addr)
                ]
            ),
            "{si_signo=SIGSEGV, si_code=SEGV_BNDERR, si_errno=4294967294, \
             si_addr=0xfacefeeddeadbeef, si_lower=NULL, si_upper=0xfacefeeddeadbeef}"
        );
        // SI_TIMER: id in hex, overrun signed, the value.
        assert_eq!(
            info(
                x,
                &[
                    (0, &1u32.to_le_bytes()),
                    (8, &(-2i32).to_le_bytes()),
                    (16, &0xdeadbeefu32.to_le_bytes()),
                    (20, &(-1i32).to_le_bytes()),
                    (24, &addr)
                ]
            ),
            "{si_signo=SIGHUP, si_code=SI_TIMER, si_timerid=0xdeadbeef, si_overrun=-1, \
             si_int=-559038737, si_ptr=0xfacefeeddeadbeef}"
        );
        // SIGSYS: the call by the arch's table.
        assert_eq!(
            info(
                x,
                &[
                    (0, &31u32.to_le_bytes()),
                    (8, &1u32.to_le_bytes()),
                    (28, &0xc000003eu32.to_le_bytes())
                ]
            ),
            "{si_signo=SIGSYS, si_code=SYS_SECCOMP, si_call_addr=NULL, si_syscall=__NR_read, \
             si_arch=AUDIT_ARCH_X86_64}"
        );
        // A user signal with a code strace has no name for (negative):
        // the sender.
        assert_eq!(
            info(
                x,
                &[
                    (0, &27u32.to_le_bytes()),
                    (8, &0xbadc0dedu32.to_le_bytes()),
                    (20, &3u32.to_le_bytes())
                ]
            ),
            "{si_signo=SIGPROF, si_code=0xbadc0ded, si_pid=0, si_uid=3}"
        );
        // i386: union at 12.
        assert_eq!(
            info(
                LinuxAbi::I386,
                &[
                    (0, &10u32.to_le_bytes()),
                    (8, &(-6i32).to_le_bytes()),
                    (12, &42u32.to_le_bytes())
                ]
            ),
            "{si_signo=SIGUSR1, si_code=SI_TKILL, si_pid=42, si_uid=0}"
        );
        assert_eq!(info(x, &[]), "{}");
    }
}
