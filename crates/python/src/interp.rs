//! Starting the embedded interpreter, once per process, wherever vstrace
//! runs it: in the CLI (attach, replay, checking a hooks file before the
//! guest starts) or inside QEMU, where the plugin was `dlopen`ed.

use std::ffi::{c_void, CStr};
use std::sync::Once;

use pyo3::Python;

static INIT: Once = Once::new();

/// Starts CPython (without its signal handlers: Ctrl-C stays vstrace's
/// and QEMU's) and releases the interpreter lock, which each hooked call
/// then takes for its own duration only.
pub fn init() {
    INIT.call_once(|| {
        // SAFETY: Py_IsInitialized may be called at any time, even before
        // the interpreter exists.
        let embedding = unsafe { pyo3::ffi::Py_IsInitialized() } == 0;
        promote_libpython();
        pyo3::prepare_freethreaded_python();
        if embedding {
            // Ignored on failure: hooks then print where Python would.
            let _ = Python::with_gil(|py| py.run(HOOK_STDOUT, None, None));
        }
    });
}

thread_local! {
    static KEPT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Gives the calling thread a Python thread state that outlives each
/// hooked call. Without one, taking the interpreter lock on a thread
/// Python did not create (a QEMU vCPU thread) makes a new thread state and
/// frees it again when the lock is released: tens of microseconds on
/// every hooked call. Call before taking the lock; the lock is not held
/// on return.
pub fn keep_thread_state() {
    if KEPT.with(|k| k.replace(true)) {
        return;
    }
    // SAFETY: `init` ran (the interpreter exists) and this thread does not
    // hold the lock (hooks are called without it, and this runs before
    // the hook takes it). PyGILState_Ensure makes this thread's state and
    // takes the lock; PyEval_SaveThread releases the lock and keeps the
    // state, whose "ensured" count of 1 is never released, so later
    // PyGILState_Ensure/Release pairs (pyo3's `with_gil`) reuse it.
    unsafe {
        let _ = pyo3::ffi::PyGILState_Ensure();
        let _ = pyo3::ffi::PyEval_SaveThread();
    }
}

/// What hooks `print` goes to stderr, each line prefixed `vstrace: hook:`:
/// stdout is the trace's (replay) or nobody's (inside QEMU, whose
/// stderr lines starting `vstrace: ` `vstrace run` shows).
const HOOK_STDOUT: &std::ffi::CStr = cr#"
import sys
class _HookOut:
    def __init__(self):
        self.pending = ''
    def write(self, s):
        self.pending += s
        *lines, self.pending = self.pending.split('\n')
        for line in lines:
            sys.__stderr__.write('vstrace: hook: ' + line + '\n')
        return len(s)
    def flush(self):
        sys.__stderr__.flush()
sys.stdout = _HookOut()
"#;

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
