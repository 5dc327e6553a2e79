//! The layer's call hints (`vstrace_core::CallHints`) against the
//! functions they stand for: a call outside a hint's list must get the
//! neutral answer whatever its arguments, result and memory, or the
//! engine, which skips the question for it, would print less.

use vstrace_core::testmem::SparseVirt;

use crate::proto::{all, subcalls, LinuxAbi, SyscallDesc};
use crate::structs::netlink::{sockbuf, SOCKBUF_CALLS};
use crate::structs::{return_detail, return_in_hex, RETURN_DETAIL_CALLS, RETURN_IN_HEX_CALLS};
use crate::DecodeOptions;

/// Pointer arguments the memory below maps, and small numbers.
const ARGS: [[u64; 6]; 4] = [
    [0; 6],
    [1; 6],
    [0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000],
    [3, 0x2000, 16, 0x4000, 1, 0x6000],
];
const RETS: [i64; 6] = [0, 1, 2, 3, 0x40, 0x7fff_ffff];

/// Memory behind every pointer of [`ARGS`]: zeros, then a pattern.
fn memories() -> [SparseVirt; 2] {
    let mut zeros = SparseVirt::new();
    let mut pattern = SparseVirt::new();
    for page in 1..=6u64 {
        zeros.map_zeroed(page << 12, 4096);
        let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 1) as u8).collect();
        pattern.map(page << 12, &bytes);
    }
    [zeros, pattern]
}

#[test]
fn calls_outside_the_hint_lists_get_the_neutral_answers() {
    let opts = [
        DecodeOptions::default(),
        DecodeOptions {
            structs: true,
            verbose: true,
            ..DecodeOptions::default()
        },
    ];
    for abi in [LinuxAbi::X86_64, LinuxAbi::I386] {
        for d in descs(abi) {
            let detail = RETURN_DETAIL_CALLS.contains(&d.name);
            let hex = RETURN_IN_HEX_CALLS.contains(&d.name);
            let by_fd = SOCKBUF_CALLS.contains(&d.name);
            for raw in &ARGS {
                for ret in RETS {
                    if !hex {
                        assert!(!return_in_hex(d, abi, raw, ret), "{} {abi:?}", d.name);
                    }
                    if !by_fd {
                        for r in [None, Some(ret)] {
                            assert_eq!(sockbuf(d.name, abi, raw, r), None, "{}", d.name);
                        }
                    }
                    if detail {
                        continue;
                    }
                    for mut mem in memories() {
                        for o in &opts {
                            let got = return_detail(d, abi, raw, ret, &mut mem, o);
                            assert_eq!(got, None, "{} {abi:?} {raw:?} {ret}", d.name);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn the_hint_lists_name_known_calls() {
    for name in RETURN_DETAIL_CALLS
        .iter()
        .chain(RETURN_IN_HEX_CALLS)
        .chain(SOCKBUF_CALLS)
    {
        let known = [LinuxAbi::X86_64, LinuxAbi::I386]
            .iter()
            .any(|abi| descs(*abi).any(|d| d.name == *name));
        assert!(known, "{name}");
    }
}

/// Every call of `abi`: its table's and, on i386, the sub-calls.
fn descs(abi: LinuxAbi) -> impl Iterator<Item = &'static SyscallDesc> {
    let subs = (abi == LinuxAbi::I386).then(subcalls).into_iter().flatten();
    all(abi).chain(subs)
}
