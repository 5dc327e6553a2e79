//! The bridge from a Python object to the Rust [`Syscall`] of the hooked
//! call: valid only while the hook runs.
//!
//! A hook receives `&mut Syscall` for the duration of one dispatch; a
//! Python object, though, can outlive the call (a hook may keep it in a
//! global). So the Python side holds a [`Live`]: a shared cell with a raw
//! pointer to the Syscall, set for the duration of the hook and cleared
//! when it returns ([`Scope`]'s drop), after which every access raises
//! instead of touching freed memory.

use std::cell::Cell;
use std::ffi::c_void;
use std::rc::Rc;

use pyo3::PyResult;
use vstrace_core::Syscall;

use crate::SyscallError;

/// A handle on the hooked call's [`Syscall`], shared by the `syscall`
/// object and what it hands out (`syscall.process`).
#[derive(Clone, Default)]
pub(crate) struct Live(Rc<Cell<*mut c_void>>);

/// Clears its [`Live`] when dropped: the Syscall is no longer reachable
/// from Python once the hook returned or raised.
pub(crate) struct Scope(Live);

impl Drop for Scope {
    fn drop(&mut self) {
        self.0 .0.set(std::ptr::null_mut());
    }
}

impl Live {
    /// Points a new handle at `sc` until the returned [`Scope`] drops; the
    /// caller keeps `sc` borrowed (and does not touch it) meanwhile.
    pub(crate) fn enter(sc: &mut Syscall<'_>) -> (Live, Scope) {
        let live = Live::default();
        live.0.set(sc as *mut Syscall<'_> as *mut c_void);
        (live.clone(), Scope(live))
    }

    /// Runs `f` on the Syscall, or raises if the hook already returned.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Syscall<'_>) -> PyResult<R>) -> PyResult<R> {
        let p = self.0.get();
        if p.is_null() {
            return Err(SyscallError::new_err(
                "this syscall object is only valid during its hook",
            ));
        }
        // Cleared while `f` runs: no second `&mut` can be made from it,
        // even if `f` were to re-enter Python.
        self.0.set(std::ptr::null_mut());
        // SAFETY: the pointer was set by `enter` from a `&mut Syscall`
        // that the dispatching hook holds borrowed, unused, for as long as
        // the Scope lives; the Scope clears it before that borrow ends.
        // The cell is cleared above, so this is the only reference made
        // from it; and `Live` is neither Send nor Sync (Rc), so it is used
        // on the hook's thread only.
        let r = f(unsafe { &mut *(p as *mut Syscall<'_>) });
        self.0.set(p);
        r
    }
}
