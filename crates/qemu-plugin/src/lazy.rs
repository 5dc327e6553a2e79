//! Dormant instrumentation: a listening plugin (`listen=`) with no client
//! puts no trap callback in translated code, so a dormant trap costs
//! nothing: the guest runs as without the plugin. The translation
//! callback stays registered and classifies nothing while dormant
//! ([`instrumenting`]); when a client attaches, the translated-code cache
//! is flushed so that every block is translated again with its trap
//! callbacks; a detach does the reverse.
//!
//! The flush runs as QEMU "safe" work (`async_safe_run_on_cpu`: on a vCPU
//! thread, every vCPU out of its execution loop), where the switch is
//! flipped and the cache flushed with QEMU's own flush (`tb_flush` in
//! 10.x, `tb_flush__exclusive_or_serial` in 11.x): no vCPU translates
//! while the switch changes, so no block mixes the two states. These are
//! QEMU internals that Debian's binaries export (10.0 and 11.1, with
//! `qemu_get_cpu`); a QEMU that does not export them keeps the trap
//! callbacks while dormant (each trap then costs a call and one atomic
//! load, see `listen::dormant`); so does `VSTRACE_PLUGIN_LAZY=0` in QEMU's
//! environment.
//!
//! Why not `qemu_plugin_reset` (the plugin API's flush, used before): it
//! unregisters every callback of the plugin and calls back, in the safe
//! work, to register the wanted ones again, so the vCPUs' event masks
//! lose and regain the translation event. That crashed QEMU in its code
//! generator, on a vCPU thread: the kernel log has the three own_vm
//! dormant test runs that made the mode opt-in (a general protection
//! fault in TCG's register allocator on 10.0, each at the same address)
//! and 2 of 3 runs of the busybox dormant test with the reset (the same
//! fault on 10.0; a NULL dereference in `tcg_op_supported` on 11.1), none
//! in 12 runs of the dormant tests since. The likely mechanism, from
//! QEMU's source: the load/store generators emit plugin memory-callback
//! pseudo-ops whenever `tcg_ctx->plugin_insn` is set, and only a
//! translation with the translation event on resets it
//! (`plugin_gen_tb_start`) and lowers those ops (`plugin_gen_inject`); a
//! translation abandoned midway (an instruction fetch that faults, which
//! demand paging makes common) leaves it set, and once the event is off
//! the next block with a memory access carries pseudo-ops that no backend
//! implements. Here the translation callback is never unregistered, so
//! every translation goes through the plugin path; only the translated
//! code changes.
//!
//! The request is queued on every vCPU: the first to run it does the
//! switch, the others find it done; a halted vCPU can miss the wake-up
//! (QEMU broadcasts it without the lock the vCPU sleeps under), so it is
//! queued again if no vCPU started it within [`REQUEUE_AFTER`]. After
//! QEMU's atexit callback nothing is queued any more ([`stop`]).

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::writes::lookup;

/// `CPUState *qemu_get_cpu(int index)`.
type GetCpu = unsafe extern "C" fn(c_int) -> *mut c_void;
/// `void (*run_on_cpu_func)(CPUState *, run_on_cpu_data)`: the data is
/// a one-word union, passed as an integer.
type RunOnCpuFunc = unsafe extern "C" fn(*mut c_void, u64);
/// `void async_safe_run_on_cpu(CPUState *, run_on_cpu_func, run_on_cpu_data)`.
type AsyncSafeRunOnCpu = unsafe extern "C" fn(*mut c_void, RunOnCpuFunc, u64);
/// `void tb_flush(CPUState *)` (10.x) or `void
/// tb_flush__exclusive_or_serial(void)` (11.x): called with the vCPU
/// either way (an argument a function does not take is ignored).
type Flush = unsafe extern "C" fn(*mut c_void);

/// How long an attach or detach waits for the flush.
const SWITCH_LIMIT: Duration = Duration::from_secs(5);
/// How long a queued flush may wait for a vCPU before it is queued again.
const REQUEUE_AFTER: Duration = Duration::from_millis(500);
/// Most vCPUs the flush is queued on (the first to get to it does it).
const MAX_QUEUED: c_int = 256;

/// The QEMU internals the switch needs.
#[derive(Clone, Copy)]
struct Internals {
    get_cpu: GetCpu,
    run_safe: AsyncSafeRunOnCpu,
    flush: Flush,
}

/// None: trap callbacks are always translated (not listening, opted out,
/// or QEMU does not export the internals).
static INTERNALS: OnceLock<Option<Internals>> = OnceLock::new();

/// Whether the translation callback puts trap callbacks in the blocks it
/// sees; false only for a dormant plugin that can switch.
static INSTRUMENT: AtomicBool = AtomicBool::new(true);

/// Whether blocks translated now get trap callbacks.
#[inline]
pub(crate) fn instrumenting() -> bool {
    INSTRUMENT.load(Ordering::Relaxed)
}

/// The switch: wanted and flushed states, and a flush under way.
struct Switch {
    want: bool,
    have: bool,
    /// A flush is queued and has not run yet.
    pending: bool,
    /// A vCPU is running the pending flush.
    started: bool,
    /// QEMU is exiting: nothing is switched any more.
    exiting: bool,
}

static SWITCH: Mutex<Switch> = Mutex::new(Switch {
    want: true,
    have: true,
    pending: false,
    started: false,
    exiting: false,
});
static SWITCHED: Condvar = Condvar::new();

fn lock() -> MutexGuard<'static, Switch> {
    SWITCH.lock().unwrap_or_else(|e| e.into_inner())
}

fn internals() -> Option<Internals> {
    let get_cpu = lookup(c"qemu_get_cpu")?;
    let run_safe = lookup(c"async_safe_run_on_cpu")?;
    let flush = lookup(c"tb_flush").or_else(|| lookup(c"tb_flush__exclusive_or_serial"))?;
    // SAFETY: Debian's QEMU 10.0 and 11.1 export these with the C
    // signatures above (include/hw/core/cpu.h, accel/tcg); a symbol of
    // that name in the QEMU binary is that function.
    unsafe {
        Some(Internals {
            get_cpu: std::mem::transmute::<*mut c_void, GetCpu>(get_cpu),
            run_safe: std::mem::transmute::<*mut c_void, AsyncSafeRunOnCpu>(run_safe),
            flush: std::mem::transmute::<*mut c_void, Flush>(flush),
        })
    }
}

/// At install: a listening (`dormant`) plugin in a QEMU that allows the
/// switch starts with no trap callbacks. Returns whether it does.
pub(crate) fn install(dormant: bool) -> bool {
    // The default; `VSTRACE_PLUGIN_LAZY=0` in QEMU's environment keeps
    // the trap callbacks while dormant (for comparison, and for a QEMU
    // where the switch misbehaves).
    let wanted = !std::env::var("VSTRACE_PLUGIN_LAZY").is_ok_and(|v| v == "0");
    let found = if dormant && wanted { internals() } else { None };
    let lazy = found.is_some();
    let _ = INTERNALS.set(found);
    if lazy {
        INSTRUMENT.store(false, Ordering::SeqCst);
        let mut s = lock();
        s.want = false;
        s.have = false;
    }
    lazy
}

/// `VSTRACE_PLUGIN_DEBUG_LAZY=1`: each switch's steps on stderr, with
/// the time since the first (how long a flush waits for the vCPUs).
fn debug() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        crate::args::debug_enabled(std::env::var("VSTRACE_PLUGIN_DEBUG_LAZY").ok().as_deref())
    })
}

fn say(what: std::fmt::Arguments) {
    static T0: OnceLock<Instant> = OnceLock::new();
    if debug() {
        let t = T0.get_or_init(Instant::now).elapsed();
        eprintln!("vstrace-plugin: lazy {:>9.3}s {what}", t.as_secs_f64());
    }
}

/// QEMU is exiting (its atexit callback ran): no more switches, QEMU's
/// vCPU threads and work queues are being torn down.
pub(crate) fn stop() {
    lock().exiting = true;
}

/// Turns trap instrumentation on (a client attached) or off (dormant
/// again), waiting until the code cache has been flushed. Returns false
/// when the switch did not complete in time (it completes later, to the
/// state last asked for; the trap callback's own dormant check keeps a
/// detached plugin silent meanwhile).
pub(crate) fn translate(on: bool) -> bool {
    let Some(Some(internals)) = INTERNALS.get().copied() else {
        return true;
    };
    let start = Instant::now();
    let mut s = lock();
    if s.exiting {
        return true;
    }
    s.want = on;
    let mut queued_at = start;
    loop {
        if s.have == s.want && !s.pending {
            say(format_args!(
                "instrumentation {} after {:?}",
                if on { "on" } else { "off" },
                start.elapsed()
            ));
            return true;
        }
        // Not started after a while: queued again (the vCPUs may have
        // missed the wake-up).
        let requeue = s.pending && !s.started && queued_at.elapsed() >= REQUEUE_AFTER;
        if !s.pending || requeue {
            s.pending = true;
            drop(s);
            queued_at = Instant::now();
            let queued = queue_flush(internals);
            say(format_args!("flush queued on {queued} vCPU(s)"));
            if queued == 0 {
                lock().pending = false;
                return false;
            }
            s = lock();
            continue;
        }
        let left = SWITCH_LIMIT.saturating_sub(start.elapsed());
        if left.is_zero() {
            say(format_args!("switch not done after {SWITCH_LIMIT:?}"));
            return false;
        }
        s = SWITCHED
            .wait_timeout(s, left.min(REQUEUE_AFTER))
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// Queues the switch as safe work on every vCPU QEMU has (by index, up to
/// the first missing one); returns how many.
fn queue_flush(i: Internals) -> usize {
    let mut queued = 0;
    for index in 0..MAX_QUEUED {
        // SAFETY: qemu_get_cpu walks QEMU's CPU list and returns NULL for
        // an index it does not have.
        let cpu = unsafe { (i.get_cpu)(index) };
        if cpu.is_null() {
            break;
        }
        // SAFETY: `cpu` is a live CPUState; async_safe_run_on_cpu may be
        // called from any thread and runs `on_vcpu` on that vCPU's thread
        // with every vCPU stopped, with the data word, which we do not use.
        unsafe { (i.run_safe)(cpu, on_vcpu, 0) };
        queued += 1;
    }
    queued
}

/// Runs on a vCPU thread with every vCPU out of its execution loop:
/// flips the switch and flushes the translated code, once per request.
unsafe extern "C" fn on_vcpu(cpu: *mut c_void, _data: u64) {
    let _ = std::panic::catch_unwind(|| {
        let Some(Some(i)) = INTERNALS.get().copied() else {
            return;
        };
        let want = {
            let mut s = lock();
            if !s.pending || s.started || s.exiting {
                return;
            }
            s.started = true;
            s.want
        };
        INSTRUMENT.store(want, Ordering::SeqCst);
        // SAFETY: we run as safe work on `cpu`'s thread (exclusive
        // context), where QEMU's flush empties the code cache at once.
        unsafe { (i.flush)(cpu) };
        let mut s = lock();
        s.have = want;
        s.pending = false;
        s.started = false;
        SWITCHED.notify_all();
        drop(s);
        say(format_args!(
            "flushed; trap callbacks {}",
            if want { "on" } else { "off" }
        ));
    });
}
