//! cargo-fuzz target `trace_file`: see `vstrace_fuzz_targets::targets::trace_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::targets::trace_file(data));
