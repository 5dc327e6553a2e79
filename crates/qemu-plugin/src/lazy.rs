//! Dormant registration: a listening plugin (`listen=`) with no client
//! registers no translation callback, so QEMU instruments no block and
//! calls nothing per trap: the guest runs as without the plugin. When a
//! client attaches, the translation callback is registered and the
//! translated-code cache flushed (blocks translated while dormant carry
//! no trap callbacks); a detach does the reverse.
//!
//! The flush is `qemu_plugin_reset` (plugin API v4 and v7): it unregisters
//! every callback of the plugin, flushes the code cache with the vCPUs
//! stopped, and calls back, where the callbacks of the wanted state are
//! registered again. It only flushes when called on a vCPU thread (from
//! any other thread it unregisters without flushing), so the request is
//! queued on vCPU 0 with `async_run_on_cpu`, a function QEMU's binary
//! exports (Debian's 10.0 and 11.1 do, as they export `qemu_get_cpu`).
//! A QEMU that does not export both keeps the translation callback
//! registered while dormant (each trap then costs a call and one atomic
//! load, see `listen::dormant`).
//!
//! Status: opt-in, `VSTRACE_PLUGIN_LAZY=1` in QEMU's environment. With it
//! the own_vm dormant test failed 3 runs of 3 on a loaded host (once the
//! first client saw the connection closed without its End frame, once
//! the guest made no progress after a detach, once the exit callback did
//! not remove the socket), while manual attach/detach cycles worked; the
//! cause is not found yet, so the default stays the always-registered
//! translation callback.

use std::ffi::{c_int, c_void};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use qemu_plugin_sys as sys;

use crate::ffi::InstallCallbacks;
use crate::writes::lookup;

/// `CPUState *qemu_get_cpu(int index)`.
type GetCpu = unsafe extern "C" fn(c_int) -> *mut c_void;
/// `void (*run_on_cpu_func)(CPUState *, run_on_cpu_data)`: the data is
/// a one-word union, passed as an integer.
type RunOnCpuFunc = unsafe extern "C" fn(*mut c_void, u64);
/// `void async_run_on_cpu(CPUState *, run_on_cpu_func, run_on_cpu_data)`.
type AsyncRunOnCpu = unsafe extern "C" fn(*mut c_void, RunOnCpuFunc, u64);

/// How long an attach or detach waits for the flush.
const SWITCH_LIMIT: Duration = Duration::from_secs(5);

/// The QEMU internals the switch needs.
#[derive(Clone, Copy)]
struct Internals {
    get_cpu: GetCpu,
    run_on_cpu: AsyncRunOnCpu,
}

/// What install registered, to register again after each reset.
struct Registration {
    id: sys::qemu_plugin_id_t,
    cbs: InstallCallbacks,
    /// None: translation stays registered (not listening, or QEMU does
    /// not export the internals).
    internals: Option<Internals>,
}

static REG: OnceLock<Registration> = OnceLock::new();

/// The translation callback: wanted, registered, and a reset under way.
struct Switch {
    want: bool,
    have: bool,
    pending: bool,
}

static SWITCH: Mutex<Switch> = Mutex::new(Switch {
    want: false,
    have: false,
    pending: false,
});
static SWITCHED: Condvar = Condvar::new();

fn lock() -> std::sync::MutexGuard<'static, Switch> {
    SWITCH.lock().unwrap_or_else(|e| e.into_inner())
}

fn internals() -> Option<Internals> {
    let get_cpu = lookup(c"qemu_get_cpu")?;
    let run_on_cpu = lookup(c"async_run_on_cpu")?;
    // SAFETY: Debian's QEMU 10.0 and 11.1 export these with the C
    // signatures above (include/hw/core/cpu.h); a symbol of that name in
    // the QEMU binary is that function.
    unsafe {
        Some(Internals {
            get_cpu: std::mem::transmute::<*mut c_void, GetCpu>(get_cpu),
            run_on_cpu: std::mem::transmute::<*mut c_void, AsyncRunOnCpu>(run_on_cpu),
        })
    }
}

/// Registers the plugin's callbacks at install: all of them, or, for a
/// listening (`dormant`) plugin in a QEMU that allows the switch, all but
/// the translation callback. Returns whether translation is deferred.
pub(crate) fn install(id: sys::qemu_plugin_id_t, cbs: InstallCallbacks, dormant: bool) -> bool {
    // Opt-in (VSTRACE_PLUGIN_LAZY=1 in QEMU's environment): the
    // own_vm dormant test, run with it on a loaded host, saw the guest
    // stop after a detach and the exit callback not run (not
    // understood yet); without it the test passes.
    let wanted = std::env::var("VSTRACE_PLUGIN_LAZY").is_ok_and(|v| v == "1");
    let internals = if dormant && wanted { internals() } else { None };
    let translate = internals.is_none();
    crate::ffi::register_callbacks(id, &cbs, translate);
    lock().have = translate;
    let _ = REG.set(Registration { id, cbs, internals });
    !translate
}

/// Turns trap instrumentation on (a client attached) or off (dormant
/// again), waiting until the code cache has been flushed. Returns false
/// when the switch did not complete in time (the trap callback's own
/// dormant check still keeps a detached plugin silent).
pub(crate) fn translate(on: bool) -> bool {
    let Some(reg) = REG.get() else { return true };
    let Some(internals) = reg.internals else {
        return true;
    };
    let start = Instant::now();
    let debug = std::env::var_os("VSTRACE_PLUGIN_DEBUG").is_some();
    let mut s = lock();
    s.want = on;
    loop {
        if s.have == s.want && !s.pending {
            if debug {
                eprintln!(
                    "vstrace-plugin: trap instrumentation {} after {:?}",
                    if on { "on" } else { "off" },
                    start.elapsed()
                );
            }
            return true;
        }
        if !s.pending {
            s.pending = true;
            drop(s);
            if !queue_reset(internals) {
                lock().pending = false;
                return false;
            }
            s = lock();
            continue;
        }
        let left = SWITCH_LIMIT.saturating_sub(start.elapsed());
        if left.is_zero() {
            if debug {
                eprintln!("vstrace-plugin: switching trap instrumentation timed out");
            }
            return false;
        }
        s = SWITCHED
            .wait_timeout(s, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// Queues the reset on the first vCPU QEMU has; false if it has none.
fn queue_reset(i: Internals) -> bool {
    for index in 0..64 {
        // SAFETY: qemu_get_cpu walks QEMU's CPU list under RCU and returns
        // NULL for an index it does not have.
        let cpu = unsafe { (i.get_cpu)(index) };
        if !cpu.is_null() {
            // SAFETY: `cpu` is a live CPUState; async_run_on_cpu may be
            // called from any thread and runs `on_vcpu` on that vCPU's
            // thread with the data word, which we do not use.
            unsafe { (i.run_on_cpu)(cpu, on_vcpu, 0) };
            return true;
        }
    }
    false
}

/// Runs on a vCPU thread: there, `qemu_plugin_reset` flushes the code
/// cache (with every vCPU stopped) before calling back.
unsafe extern "C" fn on_vcpu(_cpu: *mut c_void, _data: u64) {
    let Some(reg) = REG.get() else { return };
    // SAFETY: `reg.id` is this plugin's id. The callback type differs
    // between API versions only in what it passes, which `reset_done`
    // does not read.
    unsafe { sys::qemu_plugin_reset(reg.id, Some(reset_done)) };
}

/// Every callback of the plugin is unregistered and the code cache is
/// empty: register the wanted set again.
unsafe extern "C" fn reset_done(_id: sys::qemu_plugin_id_t) {
    let _ = std::panic::catch_unwind(|| {
        let Some(reg) = REG.get() else { return };
        let mut s = lock();
        let want = s.want;
        crate::ffi::register_callbacks(reg.id, &reg.cbs, want);
        s.have = want;
        s.pending = false;
        SWITCHED.notify_all();
    });
}
