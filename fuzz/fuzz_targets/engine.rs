//! cargo-fuzz target `engine`: see `vstrace_fuzz_targets::targets::engine`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::targets::engine(data));
