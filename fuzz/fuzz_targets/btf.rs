//! cargo-fuzz target `btf`: see `vstrace_fuzz_targets::targets::btf`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::targets::btf(data));
