//! prctl(2) as strace prints it: how many arguments each option shows,
//! each argument by option (names, flag sets, vector lengths, tagged
//! address controls, pointers), and the decoding of its return value.

use super::Ctx;
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{self, Radix, Table};
use vstrace_core::Value;

// prctl options (uapi linux/prctl.h), by the generated table.
fn pr(name: &str) -> u64 {
    Table::PrctlOptions
        .xlat()
        .value_of(crate::proto::LinuxAbi::X86_64, name)
        .unwrap_or(u64::MAX)
}
/// Arguments strace prints after `prctl`'s option.
pub(super) fn prctl_nargs(option: u64, raw: &[u64; 6]) -> usize {
    let is = |names: &[&str]| names.iter().any(|n| pr(n) == option);
    if is(&[
        "PR_GET_KEEPCAPS",
        "PR_GET_SECCOMP",
        "PR_GET_TIMERSLACK",
        "PR_GET_TIMING",
        "PR_TASK_PERF_EVENTS_DISABLE",
        "PR_TASK_PERF_EVENTS_ENABLE",
        "PR_GET_DUMPABLE",
        "PR_GET_SECUREBITS",
        "PR_GET_FP_MODE",
        "PR_SVE_GET_VL",
        "PR_SME_GET_VL",
    ]) {
        0
    } else if is(&[
        "PR_GET_CHILD_SUBREAPER",
        "PR_GET_ENDIAN",
        "PR_GET_FPEMU",
        "PR_GET_FPEXC",
        "PR_GET_NAME",
        "PR_GET_PDEATHSIG",
        "PR_GET_TID_ADDRESS",
        "PR_GET_TSC",
        "PR_GET_UNALIGN",
        "PR_SVE_SET_VL",
        "PR_SME_SET_VL",
        "PR_GET_SPECULATION_CTRL",
        "PR_SET_CHILD_SUBREAPER",
        "PR_SET_ENDIAN",
        "PR_SET_FPEMU",
        "PR_SET_FPEXC",
        "PR_SET_KEEPCAPS",
        "PR_SET_TIMING",
        "PR_SET_DUMPABLE",
        "PR_CAPBSET_DROP",
        "PR_CAPBSET_READ",
        "PR_SET_NAME",
        "PR_SET_PDEATHSIG",
        "PR_SET_PTRACER",
        "PR_SET_SECUREBITS",
        "PR_SET_TIMERSLACK",
        "PR_SET_TSC",
        "PR_SET_UNALIGN",
        "PR_SET_FP_MODE",
    ]) {
        1
    } else if is(&["PR_SET_SPECULATION_CTRL"]) {
        2
    } else if is(&["PR_SET_SECCOMP"]) {
        match raw[1] {
            1 => 1,
            2 => 2,
            _ => 4,
        }
    } else {
        4
    }
}

/// A flag set as strace's `sprintflags_ex` with no default: the names,
/// then the unknown bits in hex, `|`-joined; for 0 the name of the
/// table's zero value when it has one (`PR_SPEC_NOT_AFFECTED`), else
/// `None`.
fn aux_flags(abi: LinuxAbi, t: Table, v: u64) -> Option<String> {
    if v == 0 {
        let first = t.xlat().values(abi).first();
        return first.filter(|(b, _)| *b == 0).map(|(_, n)| n.to_string());
    }
    let s = xlat::with_style(vstrace_core::ConstStyle::Abbrev, || {
        fmt::xflags_v(abi, &[t], v, false, false).render()
    });
    // No name matched: strace shows no decoding.
    (!s.starts_with("0x")).then_some(s)
}

/// What strace shows of prctl's successful return `ret` for `option`
/// (`arg2`: its second argument): whether the number is in hex, and the
/// text in parentheses after it (`0xff (SECBIT_NOROOT|...)`,
/// `0 (SUID_DUMP_DISABLE)`). Flag decodings are left out with `-X raw`.
pub(crate) fn prctl_return(
    abi: LinuxAbi,
    option: u64,
    arg2: u64,
    ret: i64,
) -> (bool, Option<String>) {
    use vstrace_core::ConstStyle;
    let is = |names: &[&str]| names.iter().any(|n| pr(n) == option);
    let raw = xlat::style() == ConstStyle::Raw;
    let r = ret as u64;
    let lookup = |t: Table| t.xlat().lookup(abi, r).map(str::to_string);
    if is(&["PR_GET_DUMPABLE"]) {
        return (false, lookup(Table::PrDumpable));
    }
    if is(&["PR_MCE_KILL_GET"]) {
        return (false, lookup(Table::PrMceKillPolicy));
    }
    let flags = |t: Table| if raw { None } else { aux_flags(abi, t, r) };
    if is(&["PR_GET_SECUREBITS", "PR_GET_FP_MODE"]) {
        if ret == 0 {
            return (false, None);
        }
        let t = if is(&["PR_GET_SECUREBITS"]) {
            Table::Secbits
        } else {
            Table::PrFpMode
        };
        return (true, flags(t));
    }
    if is(&["PR_PAC_GET_ENABLED_KEYS"]) {
        return (true, flags(Table::PrPacEnabledKeys));
    }
    // The speculation controls whose state is a flag set (the other
    // controls' returns are plain numbers).
    if is(&["PR_GET_SPECULATION_CTRL"]) {
        let spec = |n: &str| Table::PrSpecCmds.xlat().value_of(abi, n) == Some(arg2);
        let flagged = ["PR_SPEC_STORE_BYPASS", "PR_SPEC_INDIRECT_BRANCH"]
            .iter()
            .chain(&["PR_SPEC_L1D_FLUSH"])
            .any(|n| spec(n));
        return match flagged {
            true => (true, flags(Table::PrSpecGetStoreBypassFlags)),
            false => (false, None),
        };
    }
    if is(&[
        "PR_SVE_SET_VL",
        "PR_SVE_GET_VL",
        "PR_SME_SET_VL",
        "PR_SME_GET_VL",
    ]) {
        if ret == 0 {
            return (false, None);
        }
        let t = if is(&["PR_SVE_SET_VL", "PR_SVE_GET_VL"]) {
            Table::PrSveVlFlags
        } else {
            Table::PrSmeVlFlags
        };
        let detail = (!raw && r & !0xffff != 0)
            .then(|| xlat::with_style(ConstStyle::Abbrev, || vector_length(abi, t, r)));
        return (true, detail);
    }
    if is(&["PR_GET_TAGGED_ADDR_CTRL"]) {
        let detail = (!raw).then(|| xlat::with_style(ConstStyle::Abbrev, || tagged_addr(abi, r)));
        return (true, detail);
    }
    (false, None)
}

/// An SVE/SME vector length argument (`PR_SVE_SET_VL_ONEXEC|0xff`): the
/// flag names, then the length in hex; the number alone with `-X raw`,
/// the number and the decoding in a comment with `-X verbose` (when some
/// flag bit is set).
fn vector_length(abi: LinuxAbi, flags_table: Table, v: u64) -> String {
    use vstrace_core::ConstStyle;
    let style = xlat::style();
    if style == ConstStyle::Raw {
        return fmt::hex0(v);
    }
    let (len, flags) = (v & 0xffff, v & !0xffff);
    let decoded = if flags == 0 {
        fmt::hex0(len)
    } else {
        let names = xlat::with_style(ConstStyle::Abbrev, || {
            fmt::xflags_v(abi, &[flags_table], flags, false, false).render()
        });
        format!("{names}|{}", fmt::hex0(len))
    };
    if flags != 0 && style == ConstStyle::Verbose {
        format!("{} /* {decoded} */", fmt::hex0(v))
    } else {
        decoded
    }
}

/// `PR_SET_TAGGED_ADDR_CTRL`'s argument: the enable bit, the MTE fault
/// mode, the tag mask shifted, leftover bits (`PR_TAGGED_ADDR_ENABLE|
/// PR_MTE_TCF_SYNC|0x1<<PR_MTE_TAG_SHIFT`); `-X raw` the number, `-X
/// verbose` the number and the decoding in a comment.
fn tagged_addr(abi: LinuxAbi, v: u64) -> String {
    use vstrace_core::ConstStyle;
    const TAG_SHIFT: u32 = 3;
    const TAG_MASK: u64 = 0xffff << TAG_SHIFT;
    let style = xlat::style();
    if style == ConstStyle::Raw {
        return fmt::hex0(v);
    }
    let decoded = xlat::with_style(ConstStyle::Abbrev, || {
        let enabled = xlat::xval(abi, Table::PrTaggedAddrEnable, v & 1, Radix::Hex);
        let tcf = xlat::xval(abi, Table::PrTaggedAddrMteTcf, v & 6, Radix::Hex);
        let mut s = format!("{enabled}|{tcf}");
        if v & TAG_MASK != 0 {
            s.push_str(&format!(
                "|{:#x}<<PR_MTE_TAG_SHIFT",
                (v & TAG_MASK) >> TAG_SHIFT
            ));
        }
        let rest = v & !(1 | 6 | TAG_MASK);
        if rest != 0 {
            s.push_str(&format!("|{rest:#x}"));
        }
        s
    });
    if style == ConstStyle::Verbose {
        format!("{} /* {decoded} */", fmt::hex0(v))
    } else {
        decoded
    }
}

impl Ctx<'_, '_> {
    /// `prctl`'s argument `k` (1-based after the option, 1..=4).
    pub(super) fn prctl_arg(&mut self, k: u8) -> String {
        let abi = self.abi;
        let option = self.raw[0] & 0xffff_ffff;
        let k = k as usize;
        let v = self.raw[k];
        let hex = |v: u64| {
            if v == 0 {
                "0".to_string()
            } else {
                format!("{v:#x}")
            }
        };
        let is = |names: &[&str]| names.iter().any(|n| pr(n) == option);
        let failed = self.ret.is_some_and(|r| (-4095..0).contains(&r));
        if is(&["PR_SVE_SET_VL", "PR_SME_SET_VL"]) && k == 1 {
            let t = if is(&["PR_SVE_SET_VL"]) {
                Table::PrSveVlFlags
            } else {
                Table::PrSmeVlFlags
            };
            return vector_length(abi, t, v);
        }
        if is(&["PR_SET_TAGGED_ADDR_CTRL"]) && k == 1 {
            return tagged_addr(abi, v);
        }
        if is(&["PR_SET_NAME"]) && k == 1 {
            return self.string_n(v, 15);
        }
        if is(&["PR_GET_NAME"]) && k == 1 {
            return match self.ret {
                Some(_) if !failed => self.string_n(v, 16),
                _ => fmt::ptr(v),
            };
        }
        if is(&[
            "PR_GET_CHILD_SUBREAPER",
            "PR_GET_ENDIAN",
            "PR_GET_FPEMU",
            "PR_GET_FPEXC",
            "PR_GET_PDEATHSIG",
            "PR_GET_TSC",
            "PR_GET_UNALIGN",
        ]) && k == 1
        {
            if self.ret.is_none() || failed || v == 0 {
                return fmt::ptr(v);
            }
            let Some(n) = self.read_i32(v) else {
                return fmt::ptr(v);
            };
            let n = n as u32 as u64;
            let inner = if is(&["PR_GET_PDEATHSIG"]) {
                fmt::signal(n)
            } else if is(&["PR_GET_TSC"]) {
                xlat::xval(abi, Table::PrTsc, n, Radix::Hex)
            } else if is(&["PR_GET_UNALIGN"]) {
                xlat::flags(abi, Table::PrUnalignFlags, n)
            } else {
                n.to_string()
            };
            return format!("[{inner}]");
        }
        if is(&["PR_GET_TID_ADDRESS"]) && k == 1 {
            if self.ret.is_none() || failed || v == 0 {
                return fmt::ptr(v);
            }
            return match self.read_word(v) {
                Some(p) => format!("[{}]", fmt::ptr(p)),
                None => fmt::ptr(v),
            };
        }
        if k == 1 {
            if is(&[
                "PR_SET_CHILD_SUBREAPER",
                "PR_SET_ENDIAN",
                "PR_SET_FPEMU",
                "PR_SET_FPEXC",
                "PR_SET_KEEPCAPS",
                "PR_SET_TIMING",
                "PR_SET_NO_NEW_PRIVS",
                "PR_SET_THP_DISABLE",
                "PR_SET_IO_FLUSHER",
            ]) {
                return v.to_string();
            }
            if is(&["PR_SET_DUMPABLE"]) {
                return xlat::xval(abi, Table::PrDumpable, v, Radix::Hex);
            }
            if is(&["PR_CAPBSET_DROP", "PR_CAPBSET_READ", "PR_CAP_AMBIENT"]) {
                let t = if is(&["PR_CAP_AMBIENT"]) {
                    Table::PrCapAmbient
                } else {
                    Table::Cap
                };
                return xlat::xval(abi, t, v, Radix::Hex);
            }
            if is(&["PR_MCE_KILL"]) {
                return xlat::xval(abi, Table::PrMceKill, v, Radix::Hex);
            }
            if is(&["PR_SET_MM"]) {
                return xlat::xval(abi, Table::PrSetMm, v & 0xffff_ffff, Radix::Hex);
            }
            if is(&["PR_SET_VMA"]) {
                return xlat::xval(abi, Table::PrSetVma, v, Radix::Hex);
            }
            if is(&["PR_SET_PDEATHSIG"]) {
                return if v > 128 {
                    v.to_string()
                } else {
                    fmt::signal(v)
                };
            }
            if is(&["PR_SET_PTRACER"]) {
                // -1 is PR_SET_PTRACER_ANY: the name, the number with
                // -X raw, both with -X verbose.
                let n = v as u32 as i32;
                return match n {
                    -1 => Value::Const(vstrace_core::value::Const {
                        raw: i128::from(n),
                        base: vstrace_core::value::Base::Dec,
                        name: Some("PR_SET_PTRACER_ANY".into()),
                        comment: None,
                    })
                    .render(),
                    _ => n.to_string(),
                };
            }
            if is(&["PR_SET_SECCOMP"]) {
                return xlat::xval(abi, Table::SeccompMode, v, Radix::Hex);
            }
            if is(&["PR_SET_SECUREBITS"]) {
                return xlat::flags(abi, Table::Secbits, v);
            }
            if is(&["PR_SET_TIMERSLACK"]) {
                return self.signed(v).to_string();
            }
            if is(&["PR_SET_TSC"]) {
                return xlat::xval(abi, Table::PrTsc, v & 0xffff_ffff, Radix::Hex);
            }
            if is(&["PR_SET_UNALIGN"]) {
                return xlat::flags(abi, Table::PrUnalignFlags, v & 0xffff_ffff);
            }
            if is(&["PR_SET_FP_MODE"]) {
                return xlat::flags(abi, Table::PrFpMode, v & 0xffff_ffff);
            }
            if is(&["PR_GET_SPECULATION_CTRL", "PR_SET_SPECULATION_CTRL"]) {
                return xlat::xval(abi, Table::PrSpecCmds, v, Radix::Hex);
            }
            if is(&["PR_PAC_RESET_KEYS"]) {
                return xlat::flags2(abi, Table::PrPacEnabledKeys, Table::PrPacKeys, v);
            }
            if is(&["PR_PAC_SET_ENABLED_KEYS"]) {
                return xlat::flags(abi, Table::PrPacEnabledKeys, v);
            }
            if is(&["PR_SET_SYSCALL_USER_DISPATCH"]) {
                return xlat::xval(abi, Table::PrSudCmds, v, Radix::Hex);
            }
            if is(&["PR_SCHED_CORE"]) {
                return xlat::xval(abi, Table::PrSchedCoreCmds, v & 0xffff_ffff, Radix::Hex);
            }
        }
        if k == 2 {
            // The commands that name a capability.
            let ambient = |n: &str| Table::PrCapAmbient.xlat().value_of(abi, n);
            let names_cap = ["PR_CAP_AMBIENT_RAISE", "PR_CAP_AMBIENT_LOWER"]
                .iter()
                .chain(&["PR_CAP_AMBIENT_IS_SET"])
                .any(|n| ambient(n) == Some(self.raw[1]));
            if is(&["PR_CAP_AMBIENT"]) && names_cap {
                return xlat::xval(abi, Table::Cap, v, Radix::Hex);
            }
            if is(&["PR_MCE_KILL"]) && self.raw[1] == 1 {
                return xlat::xval(abi, Table::PrMceKillPolicy, v, Radix::Hex);
            }
            if is(&["PR_SET_SPECULATION_CTRL"]) && (0..=2).contains(&self.raw[1]) {
                return xlat::xval(abi, Table::PrSpecSetStoreBypassFlags, v, Radix::Hex);
            }
            if is(&["PR_PAC_SET_ENABLED_KEYS"]) {
                return xlat::flags(abi, Table::PrPacEnabledKeys, v);
            }
            if is(&["PR_SCHED_CORE"]) {
                return (v as u32 as i32).to_string();
            }
            // SECCOMP_MODE_FILTER: the filter program.
            if is(&["PR_SET_SECCOMP"]) && self.raw[1] == 2 {
                return crate::structs::seccomp_fprog(&mut self.struct_call(k), v);
            }
        }
        // PR_SET_VMA_ANON_NAME: the range's start and length, then the
        // name (a string).
        if is(&["PR_SET_VMA"]) && self.raw[1] == 0 && k >= 2 {
            return match k {
                2 => fmt::ptr(v),
                3 => v.to_string(),
                _ => self.string(v, self.opts.strsize).render(),
            };
        }
        if k == 3 && is(&["PR_SCHED_CORE"]) {
            // The pid type: the number in hex and the name in a comment
            // whatever the style (-X raw: the number alone).
            let n = (v & 0xffff_ffff) as u32 as u64;
            let name = Table::PrSchedCorePidtypes.xlat().lookup(abi, n);
            return vstrace_core::Value::Const(vstrace_core::value::Const {
                raw: i128::from(n),
                base: vstrace_core::value::Base::Hex,
                name: name.map(Into::into),
                comment: Some(name.unwrap_or("PIDTYPE_???").into()),
            })
            .render();
        }
        if k == 4 && is(&["PR_SCHED_CORE"]) {
            // PR_SCHED_CORE_GET: the cookie the kernel wrote, at the exit.
            let get = Table::PrSchedCoreCmds
                .xlat()
                .value_of(abi, "PR_SCHED_CORE_GET")
                == Some(self.raw[1] & 0xffff_ffff);
            if get && self.ret.is_some() && !failed && v != 0 {
                if let Ok(cookie) = vstrace_core::read::read_u64(self.mem, v) {
                    return format!("[{}]", fmt::hex0(cookie));
                }
            }
            return fmt::ptr(v);
        }
        if k == 4 && is(&["PR_SET_SYSCALL_USER_DISPATCH"]) {
            return fmt::ptr(v);
        }
        hex(v)
    }
}
