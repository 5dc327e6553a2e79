//! cargo-fuzz target `linux_attribution`: see `vstrace_fuzz_targets::targets::linux_attribution`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::targets::linux_attribution(data));
