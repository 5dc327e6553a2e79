//! cargo-fuzz target `read`: see `vstrace_fuzz_targets::targets::read`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::targets::read(data));
