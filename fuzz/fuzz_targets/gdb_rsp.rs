//! cargo-fuzz target `gdb_rsp`: see `vstrace_fuzz_targets::targets::gdb_rsp`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::targets::gdb_rsp(data));
