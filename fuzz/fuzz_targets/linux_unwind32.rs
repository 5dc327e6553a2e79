//! cargo-fuzz target `linux_unwind32`: see `vstrace_fuzz_targets::unwind::linux_unwind32`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::unwind::linux_unwind32(data));
