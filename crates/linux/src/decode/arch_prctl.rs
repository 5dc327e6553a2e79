//! arch_prctl(2)'s second argument by code, as strace prints it: the
//! word the kernel stores for `ARCH_GET_FS`/`ARCH_GET_GS` (`[0x7f...]`,
//! read at the exit), the extended-state component masks of
//! `ARCH_GET_XCOMP_*` (`[0x21f /* XFEATURE_MASK_FPSSE|... */]`), the
//! component number `ARCH_REQ_XCOMP_*` asks for, nothing after
//! `ARCH_GET_CPUID`, and the address in hex for the other codes.

use super::Ctx;
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{self, Radix, Table};
use vstrace_core::value::Base;
use vstrace_core::{read, ConstStyle, Value};

/// The name of code `code` in the arch_prctl table (`""` when unknown).
fn code_name(abi: LinuxAbi, code: u64) -> &'static str {
    Table::Archvals
        .xlat()
        .lookup(abi, code & 0xffff_ffff)
        .unwrap_or("")
}

/// How many arguments arch_prctl shows after its code.
pub(super) fn nargs(abi: LinuxAbi, raw: &[u64; 6]) -> usize {
    match code_name(abi, raw[0]) {
        "ARCH_GET_CPUID" => 0,
        _ => 1,
    }
}

/// The style the XFEATURE names are printed in: strace shows the number
/// and the names in a comment whatever the style, the number alone with
/// `-X raw` (the names are no constants a program can use).
fn xfeature_style() -> ConstStyle {
    match xlat::style() {
        ConstStyle::Raw => ConstStyle::Raw,
        _ => ConstStyle::Verbose,
    }
}

/// What strace shows after arch_prctl's successful return `ret` for code
/// `code`: whether the number is in hex, and the text in parentheses
/// (the components `ARCH_REQ_XCOMP_PERM` granted, as flags).
pub(crate) fn arch_prctl_return(abi: LinuxAbi, code: u64, ret: i64) -> (bool, Option<String>) {
    match code_name(abi, code) {
        "ARCH_REQ_XCOMP_PERM" | "ARCH_REQ_XCOMP_GUEST_PERM" if ret > 0 => {
            let detail = (xlat::style() != ConstStyle::Raw).then(|| {
                xlat::with_style(ConstStyle::Abbrev, || {
                    fmt::xflags_v(abi, &[Table::X86Xfeatures], ret as u64, false, false).render()
                })
            });
            // No name matched: strace shows no decoding.
            (true, detail.filter(|s| !s.starts_with("0x")))
        }
        _ => (false, None),
    }
}

impl Ctx<'_, '_> {
    /// arch_prctl's second argument, by code, as a typed value (an
    /// address or a number where strace prints one, so that JSON carries
    /// it as such).
    pub(super) fn arch_prctl_arg(&mut self) -> Value {
        let abi = self.abi;
        let v = self.raw[1];
        let failed = self.ret.is_some_and(|r| (-4095..0).contains(&r));
        let done = self.ret.is_some() && !failed;
        match code_name(abi, self.raw[0]) {
            "ARCH_GET_FS" | "ARCH_GET_GS" => match self.read_word(v) {
                _ if v == 0 => Value::Null,
                Some(w) if done => Value::boxed(Value::ptr(w)),
                _ => Value::ptr(v),
            },
            "ARCH_GET_XCOMP_SUPP" | "ARCH_GET_XCOMP_PERM" | "ARCH_GET_XCOMP_GUEST_PERM" => {
                match read::read_u64(self.mem, v) {
                    _ if v == 0 => Value::Null,
                    Ok(mask) if done => {
                        // Rendered here: the names' style (a comment
                        // after the number) is not the call's.
                        let flags = xlat::with_style(xfeature_style(), || {
                            fmt::xflags_v(abi, &[Table::X86Xfeatures], mask, true, false).render()
                        });
                        Value::boxed(Value::Opaque(flags))
                    }
                    _ => Value::ptr(v),
                }
            }
            "ARCH_REQ_XCOMP_PERM" | "ARCH_REQ_XCOMP_GUEST_PERM" => {
                Value::Opaque(xlat::with_style(xfeature_style(), || {
                    xlat::xval(abi, Table::X86XfeatureBits, v, Radix::Hex)
                }))
            }
            _ => Value::int(v, Base::Hex),
        }
    }
}
