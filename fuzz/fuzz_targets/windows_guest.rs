//! cargo-fuzz target `windows_guest`: see `vstrace_fuzz_targets::windows_guest::windows_guest`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::windows_guest::windows_guest(data));
