//! Which QEMU plugin ABI this QEMU speaks: v4 (QEMU 9.2 .. 10.x) or v7
//! (QEMU >= 11).
//!
//! One plugin library serves both. QEMU refuses a plugin whose exported
//! `qemu_plugin_version` is outside its [min, cur] range (10.0: up to 4;
//! 11.1: 7 only), and reads it right after `dlopen`, before
//! `qemu_plugin_install` says which QEMU this is. So [`export_plugin!`]
//! exports the version as a mutable integer that a load-time constructor
//! sets with [`version_for_host`], from a function only a v7 QEMU exports.
//! At install, QEMU's reported minimum version picks the ABI for good
//! ([`set_abi`]).
//!
//! What v7 changed (QEMU 11.1 documentation, `include/plugins/qemu-plugin.h`):
//! the vCPU-init, translation and atexit callbacks receive a userdata
//! pointer instead of the plugin id (`(vcpu_index, userdata)`,
//! `(tb, userdata)`, `(userdata)`) and their registration functions take
//! that userdata; `qemu_plugin_read_register` and
//! `qemu_plugin_write_register` return bool; register descriptors are 32
//! bytes instead of 24.
//!
//! [`export_plugin!`]: crate::export_plugin

use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::writes::lookup;

/// The plugin ABI of QEMU 9.2 .. 10.x (10.1 added functions, not changes).
pub const API_V4: c_int = 4;
/// The plugin ABI of QEMU >= 11 (userdata callbacks, bool register calls).
pub const API_V7: c_int = 7;

/// Set at install when QEMU speaks v7.
static ABI_V7: AtomicBool = AtomicBool::new(false);

/// The API version to declare to the QEMU this library is being loaded
/// into: 7 when it exports `qemu_plugin_set_pc` (plugin API v7, QEMU 11),
/// else 4. Runs at load time, before QEMU reads the declared version.
pub fn version_for_host() -> c_int {
    if lookup(c"qemu_plugin_set_pc").is_some() {
        API_V7
    } else {
        API_V4
    }
}

/// Fixes the ABI from the minimum version QEMU reports at install: a QEMU
/// that accepts nothing older than v7 calls us the v7 way. Returns whether
/// it is v7.
pub fn set_abi(min_version: c_int) -> bool {
    let v7 = min_version >= API_V7;
    ABI_V7.store(v7, Ordering::Relaxed);
    v7
}

/// Whether QEMU speaks the v7 ABI (valid once installed).
pub fn is_v7() -> bool {
    ABI_V7.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_follows_the_minimum_version() {
        assert!(!set_abi(2));
        assert!(!is_v7());
        assert!(set_abi(7));
        assert!(is_v7());
        assert!(set_abi(8));
        set_abi(API_V4);
    }

    #[test]
    fn no_qemu_means_v4() {
        // The test binary is not QEMU: it exports no plugin API.
        assert_eq!(version_for_host(), API_V4);
    }
}
