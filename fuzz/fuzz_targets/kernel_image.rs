//! cargo-fuzz target `kernel_image`: see `vstrace_fuzz_targets::targets::kernel_image`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vstrace_fuzz_targets::targets::kernel_image(data));
