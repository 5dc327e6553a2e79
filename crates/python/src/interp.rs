//! Starting the embedded interpreter, once per process, wherever vstrace
//! runs it: in the CLI (attach, replay, checking a hooks file before the
//! guest starts) or inside QEMU, where the plugin was `dlopen`ed.

use std::ffi::{c_void, CStr};
use std::sync::Once;

static INIT: Once = Once::new();

/// Starts CPython (without its signal handlers: Ctrl-C stays vstrace's
/// and QEMU's) and releases the interpreter lock, which each hooked call
/// then takes for its own duration only.
pub fn init() {
    INIT.call_once(|| {
        promote_libpython();
        pyo3::prepare_freethreaded_python();
    });
}

/// Makes libpython's symbols global. QEMU loads plugins with
/// `RTLD_LOCAL`, so libpython, which the plugin needs, is loaded local to
/// it; the standard library's C extension modules (`_json`, `_struct`
/// ...) are not linked against libpython and resolve its symbols in the
/// global scope, so importing one would fail with an undefined symbol.
/// Re-opening the library already loaded with `RTLD_GLOBAL` promotes it.
/// In an executable linked against libpython this changes nothing.
fn promote_libpython() {
    let probe = pyo3::ffi::Py_IsInitialized as *const c_void;
    // SAFETY: dladdr only inspects the loaded objects' tables; `info` is
    // a plain C struct it fills in, zeroed first.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: `probe` is the address of a function in a loaded object and
    // `info` is valid for writes.
    if unsafe { libc::dladdr(probe, &mut info) } == 0 || info.dli_fname.is_null() {
        return;
    }
    // SAFETY: dladdr set `dli_fname` to a NUL-terminated path owned by
    // the loader, valid while the object stays loaded (for our lifetime).
    let path = unsafe { CStr::from_ptr(info.dli_fname) };
    // SAFETY: RTLD_NOLOAD only re-opens an object that is already loaded
    // (libpython, mapped as our dependency), raising its visibility; the
    // handle is left open on purpose: it keeps the library global.
    let _ = unsafe {
        libc::dlopen(
            path.as_ptr(),
            libc::RTLD_NOW | libc::RTLD_GLOBAL | libc::RTLD_NOLOAD,
        )
    };
}
