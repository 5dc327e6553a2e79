//! cargo-fuzz target `replay`: see `vstrace_fuzz_targets::targets::replay`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::targets::replay(data));
