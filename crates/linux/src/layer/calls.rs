//! The call information of every known system call, made once per ABI:
//! identifying the call of an enter (every enter, live or replayed) is
//! then an index and a copy, not the table lookup and the name
//! comparisons [`super::call_info`] makes (a thirtieth of a `replay -c`).

use std::sync::OnceLock;

use vstrace_core::{Bitness, CallInfo};

use crate::{self as lx, LinuxAbi};

/// [`super::call_info`] of every number `identify` knows in one ABI,
/// by number (None: a number it does not know, or a sub-call's).
type Table = Vec<Option<CallInfo>>;

/// What `identify` knows of call `nr` at an enter of width `bitness`:
/// the call information of [`lx::syscall`]'s description, unless the
/// number is one of strace's sub-call numbers (not the kernel's).
pub(super) fn known(bitness: Bitness, nr: u64) -> Option<&'static CallInfo> {
    static TABLES: [OnceLock<Table>; 2] = [OnceLock::new(), OnceLock::new()];
    let (i, tag) = match bitness {
        Bitness::B64 => (0, "x86_64"),
        Bitness::B32 => (1, "i386"),
    };
    let table = TABLES[i].get_or_init(|| build(bitness, tag));
    table.get(usize::try_from(nr).ok()?)?.as_ref()
}

/// The table of `bitness`'s ABI: each number up to the largest one its
/// descriptions have, looked up as `identify` looks it up.
fn build(bitness: Bitness, tag: &'static str) -> Table {
    let abi = LinuxAbi::from_bitness(bitness);
    let top = lx::all(abi).map(|d| d.nr).max().unwrap_or(0);
    (0..=top)
        .map(|nr| {
            lx::syscall(abi, nr)
                .filter(|_| !lx::subcall::is_subcall(abi, nr))
                .map(|d| super::call_info(tag, bitness, d))
        })
        .collect()
}
