//! cargo-fuzz target `isf`: see `vstrace_fuzz_targets::targets::isf`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::targets::isf(data));
