//! cargo-fuzz target `linux_unwind`: see `vstrace_fuzz_targets::unwind::linux_unwind`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::unwind::linux_unwind(data));
