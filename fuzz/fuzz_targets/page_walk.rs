//! cargo-fuzz target `page_walk`: see `vstrace_fuzz_targets::targets::page_walk`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::targets::page_walk(data));
