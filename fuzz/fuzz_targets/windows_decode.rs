//! cargo-fuzz target `windows_decode`: see `vstrace_fuzz_targets::targets::windows_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::targets::windows_decode(data));
