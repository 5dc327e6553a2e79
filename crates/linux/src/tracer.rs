//! The strace a guest's kernel implies: on a 32-bit kernel the only strace
//! that runs is an i386 build, whose own `time_t` is 32 bits, and the
//! kernel's defaults derived from `sizeof(long)` are the 32-bit ones. Both
//! show in strace's output (dates it cannot convert are left out, a
//! control-message buffer is cut at the kernel's `optmem_max`), and they
//! depend on the kernel, not on the traced program's ABI: a compat program
//! on an x86-64 kernel is traced by the 64-bit strace.
//!
//! The width is set by the layer around each call's decoding (from the
//! kernel profile, [`with_kernel_long`]) and read by the few decoders
//! that depend on it ([`kernel_long`]), as the `-X` style is, so no
//! decoder has to pass it on.

use std::cell::Cell;

thread_local! {
    /// The width of the traced kernel's `long`, in bytes.
    static KERNEL_LONG: Cell<u8> = const { Cell::new(8) };
}

/// Runs `f` with the traced kernel's `long` `bytes` wide (4 or 8; any
/// other width is taken as 8, the default).
pub fn with_kernel_long<R>(bytes: u64, f: impl FnOnce() -> R) -> R {
    let w = if bytes == 4 { 4 } else { 8 };
    let old = KERNEL_LONG.with(|s| s.replace(w));
    let r = f();
    KERNEL_LONG.with(|s| s.set(old));
    r
}

/// The width of the traced kernel's `long` (8 unless a layer said 4).
pub fn kernel_long() -> u8 {
    KERNEL_LONG.with(Cell::get)
}

/// Whether `sec` fits the `time_t` of the strace that traces this
/// kernel: strace converts a time to a date only when it does
/// (`sprinttime_ex`'s `sec == (time_t) sec`).
pub fn fits_time_t(sec: i64) -> bool {
    kernel_long() == 8 || i32::try_from(sec).is_ok()
}

/// The kernel's default `net.core.optmem_max`,
/// `sizeof(unsigned long) * (2 * UIO_MAXIOV + 512)`: the most
/// control-message bytes strace reads (`get_optmem_max`).
pub fn optmem_max() -> u64 {
    /// `UIO_MAXIOV`, the kernel's iovec limit.
    const UIO_MAXIOV: u64 = 1024;
    u64::from(kernel_long()) * (2 * UIO_MAXIOV + 512)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_64_bit_kernel() {
        assert_eq!(kernel_long(), 8);
        assert_eq!(optmem_max(), 20480);
        assert!(fits_time_t(4_886_718_345));
    }

    #[test]
    fn a_32_bit_kernel_narrows_time_and_optmem_then_restores() {
        with_kernel_long(4, || {
            assert_eq!(optmem_max(), 10240);
            assert!(!fits_time_t(4_886_718_345));
            assert!(fits_time_t(i64::from(i32::MIN)));
            assert!(fits_time_t(1_700_000_000));
        });
        assert_eq!(kernel_long(), 8);
        with_kernel_long(3, || assert_eq!(kernel_long(), 8));
    }
}
