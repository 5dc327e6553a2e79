//! cargo-fuzz target `windows_attribution`: see `vstrace_fuzz_targets::targets::windows_attribution`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::targets::windows_attribution(data));
