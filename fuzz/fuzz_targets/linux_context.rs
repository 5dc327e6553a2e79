//! cargo-fuzz target `linux_context`: see `vstrace_fuzz_targets::context::linux_context`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::context::linux_context(data));
