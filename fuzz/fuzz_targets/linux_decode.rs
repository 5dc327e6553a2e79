//! cargo-fuzz target `linux_decode`: see `vstrace_fuzz_targets::targets::linux_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::targets::linux_decode(data));
