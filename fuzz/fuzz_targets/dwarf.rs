//! cargo-fuzz target `dwarf`: see `vstrace_fuzz_targets::targets::dwarf`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::targets::dwarf(data));
