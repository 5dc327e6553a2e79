//! vstrace's fast event source: a QEMU TCG plugin (x86_64 system
//! emulation; plugin API v4 for QEMU 9.2 .. 10.x and v7 for QEMU >= 11,
//! one library for both, see [`api`]) that runs the vstrace engine inside
//! QEMU.
//!
//! Load with `qemu-system-x86_64 -plugin libvstrace_qemu_plugin.so,config=cfg.json`
//! (`config=` names a JSON `vstrace_engine::EngineConfig`; `engine=off`
//! runs the event source alone; `listen=unix:PATH` waits, dormant, for
//! `vstrace attach --plugin`, see [`listen`]). At translation time every instruction's
//! bytes are classified ([`classify`]); only trap instructions (syscall,
//! sysenter, int 0x80/0x2e, sysret, sysexit, iret) get an exec callback,
//! whose userdata is the instruction kind. At execution the callback reads
//! the registers, builds a [`vstrace_core::Event`] and hands it, with the
//! trapping vCPU as a [`vstrace_core::Cpu`], to the engine.
//!
//! A Linux profile with a signal probe adds one more callback, on the
//! kernel's `signal_setup_done` ([`sigprobe`]).
//!
//! Debugging: `VSTRACE_PLUGIN_DEBUG=1` prints every event, the register
//! list and a per-mechanism count at exit; `VSTRACE_PLUGIN_TEST=...` turns
//! on the test knobs of [`debug`].

pub mod api;
mod args;
mod classify;
mod cpu;
mod debug;
mod direct;
mod envregs;
mod ffi;
mod lazy;
mod listen;
mod phys;
mod regmap;
mod report;
mod sigprobe;
mod writes;

// Userdata packs a 57-bit address (see classify::pack) into a pointer.
#[cfg(not(target_pointer_width = "64"))]
compile_error!("vstrace-qemu-plugin needs a 64-bit host");

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use qemu_plugin_sys as sys;
use vstrace_core::{Bitness, Direction, Event, Mechanism, Reg, Regs};
use vstrace_engine::{EarlyOut, Engine, EngineConfig, EnterCheck};

use crate::classify::Kind;
use crate::cpu::{QemuCpu, VcpuState};
use crate::debug::TestKnobs;
use crate::phys::{ram_for_machine, PhysReader};
use crate::report::Reporter;
use crate::writes::Backend;
use vstrace_core::mem::RamRanges;

/// The plugin API version declared until the load-time constructor has
/// looked at the QEMU we are loaded into ([`api::version_for_host`]).
pub const PLUGIN_API_VERSION: c_int = api::API_V4;

pub use qemu_plugin_sys;
pub use vstrace_core::hooks::Hooks;

/// Defines the two symbols QEMU looks for in a plugin (`qemu_plugin_version`
/// and `qemu_plugin_install`) in a cdylib crate, with the hooks that
/// `$hooks` (a `fn() -> Hooks`) returns. The default plugin is
/// `export_plugin!(Hooks::new)`; a custom plugin registers its own hooks.
#[macro_export]
macro_rules! export_plugin {
    ($hooks:expr) => {
        /// Plugin API version this plugin declares: 4 or 7, set when the
        /// library is loaded, from the QEMU loading it (see
        /// `vstrace_qemu_plugin::api`). An atomic has the layout of the C
        /// `int` QEMU reads, and lives in writable memory.
        #[no_mangle]
        pub static qemu_plugin_version: ::std::sync::atomic::AtomicI32 =
            ::std::sync::atomic::AtomicI32::new($crate::PLUGIN_API_VERSION);

        /// Runs at `dlopen`, before QEMU reads `qemu_plugin_version`.
        #[used]
        #[link_section = ".init_array"]
        static VSTRACE_DECLARE_API_VERSION: extern "C" fn() = {
            extern "C" fn declare() {
                qemu_plugin_version.store(
                    $crate::api::version_for_host(),
                    ::std::sync::atomic::Ordering::SeqCst,
                );
            }
            declare
        };

        /// QEMU entry point.
        ///
        /// # Safety
        /// Called by QEMU with a valid `info` and `argc` C strings in `argv`.
        #[no_mangle]
        pub unsafe extern "C" fn qemu_plugin_install(
            id: $crate::qemu_plugin_sys::qemu_plugin_id_t,
            info: *const $crate::qemu_plugin_sys::qemu_info_t,
            argc: ::std::ffi::c_int,
            argv: *mut *mut ::std::ffi::c_char,
        ) -> ::std::ffi::c_int {
            // SAFETY: forwarded unchanged from QEMU's call.
            unsafe { $crate::install_entry(id, info, argc, argv, $hooks) }
        }
    };
}

/// Most vCPUs we keep state for (QEMU's x86 limit is lower).
const MAX_VCPUS: usize = 4096;

/// Counter slots: one per mechanism, then iret-to-kernel skips, then
/// enters dropped because they came from the kernel.
const N_COUNTS: usize = 9;
const COUNT_IRET_KERNEL: usize = 7;
const COUNT_ENTER_KERNEL: usize = 8;

fn mech_index(m: Mechanism) -> usize {
    m.index()
}

impl Plugin {
    /// Counts an event in slot `i`: only for `debug`, which prints the
    /// counts (a shared counter written per event is a locked instruction
    /// every vCPU pays for).
    fn count(&self, i: usize) {
        if self.debug {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Global plugin state, set once at install.
struct Plugin {
    /// Per-vCPU state, filled by the vCPU-init callback and taken by the
    /// vCPU's thread at its first event (see [`HELD`]).
    vcpus: Box<[Mutex<Option<VcpuState>>]>,
    /// The engine, without a lock: the vCPUs run their events through it
    /// at once (it has no global lock, see `vstrace_engine`).
    engine: Option<Engine>,
    /// The engine's early-out state, checked without its lock.
    early: Option<Arc<EarlyOut>>,
    writes: Backend,
    phys: PhysReader,
    /// Guest RAM layout (None: not given, no physical reads).
    ram: Option<RamRanges>,
    debug: bool,
    knobs: Option<TestKnobs>,
    /// Where output errors and warnings go (the launcher's status file).
    report: Reporter,
    /// Events by mechanism and skips (kept for `debug` only).
    counts: [AtomicU64; N_COUNTS],
    printed_regs: AtomicBool,
    /// Slots left out of enter and sysret/sysexit snapshots: [`cpu::LIGHT_SKIP`]
    /// when nothing can look at them (see [`Engine::reads_all_registers`]),
    /// else none.
    skip: u32,
    /// The guest is Linux: its kernel half's large pages are kept across
    /// events ([`vstrace_core::kernel_pages`]).
    shared_kernel: bool,
}

static PLUGIN: OnceLock<Plugin> = OnceLock::new();

/// Locks, recovering from a poisoned lock: a panic in one event (caught
/// at the FFI boundary) must not stop tracing.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The body of `qemu_plugin_install`, used by [`export_plugin!`].
///
/// # Safety
/// Called by QEMU with a valid `info` and `argc` C strings in `argv`.
pub unsafe fn install_entry(
    id: sys::qemu_plugin_id_t,
    info: *const sys::qemu_info_t,
    argc: c_int,
    argv: *mut *mut c_char,
    hooks: fn() -> Hooks,
) -> c_int {
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: QEMU passes a valid info and argc valid C strings.
        let (info, argv) = unsafe { (&*info, collect_args(argc, argv)) };
        install(id, info, &argv, hooks)
    }));
    match r {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            eprintln!("vstrace-plugin: {e}");
            -1
        }
        Err(_) => -1,
    }
}

/// # Safety
/// `argv` must hold `argc` valid NUL-terminated strings.
unsafe fn collect_args(argc: c_int, argv: *mut *mut c_char) -> Vec<String> {
    let n = usize::try_from(argc).unwrap_or(0);
    (0..n)
        .filter_map(|i| {
            // SAFETY: i < argc, as the caller guarantees.
            let p = unsafe { *argv.add(i) };
            // SAFETY: non-null entries are NUL-terminated strings.
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        })
        .collect()
}

fn install(
    id: sys::qemu_plugin_id_t,
    info: &sys::qemu_info_t,
    argv: &[String],
    hooks: fn() -> Hooks,
) -> Result<(), String> {
    let target = if info.target_name.is_null() {
        String::new()
    } else {
        // SAFETY: QEMU's target name is a static C string.
        unsafe { CStr::from_ptr(info.target_name) }
            .to_string_lossy()
            .into_owned()
    };
    if target != "x86_64" || !info.system_emulation {
        return Err(format!(
            "needs qemu-system-x86_64 (system emulation), got target {target:?}"
        ));
    }
    // SAFETY: `system` is the union member valid under system emulation.
    let sysinfo = unsafe { info.__bindgen_anon_1.system };
    let nvcpus = (sysinfo.max_vcpus.max(sysinfo.smp_vcpus).max(1) as usize).min(MAX_VCPUS);

    let args = args::parse(argv.iter().map(String::as_str)).map_err(|e| e.to_string())?;
    let debug = args::debug_enabled(std::env::var("VSTRACE_PLUGIN_DEBUG").ok().as_deref());
    let knobs = match std::env::var("VSTRACE_PLUGIN_TEST") {
        Ok(s) => Some(TestKnobs::parse(&s)?),
        Err(_) => None,
    };
    if args.listen.is_some() && args.config.is_some() {
        return Err(
            "listen= and config= exclude each other: a listening plugin takes its \
                    configuration from `vstrace attach --plugin`"
                .into(),
        );
    }
    let no_engine =
        args.no_engine || args::engine_off(std::env::var("VSTRACE_PLUGIN_ENGINE").ok().as_deref());
    let mut shared_kernel = false;
    let engine = if no_engine || args.listen.is_some() {
        None
    } else {
        let cfg = match &args.config {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|e| format!("config {path}: {e}"))?;
                serde_json::from_str::<EngineConfig>(&text)
                    .map_err(|e| format!("config {path}: {e}"))?
            }
            None => EngineConfig::default(),
        };
        let background = in_background(&cfg, nvcpus);
        shared_kernel = cfg.os == "linux";
        let os = vstrace_layers::layer(&cfg).map_err(|e| e.to_string())?;
        if shared_kernel {
            // (A listening plugin takes it from its client's profile;
            // one that scans guest memory for its profile has no probe.)
            let prof = vstrace_layers::linux_profile(&cfg).map_err(|e| e.to_string())?;
            if sigprobe::install(prof.as_ref(), debug) && debug {
                eprintln!("vstrace-plugin: signal probe on");
            }
        }
        let mut hooks = hooks();
        // `--hooks FILE.py`: Python hooks, run inside QEMU.
        vstrace_python::add_hooks(&mut hooks, &cfg.python_hooks, vstrace_python::Mode::Live)
            .map_err(|e| e.to_string())?;
        if args.profile_scan && cfg.os == "linux" && cfg.linux_profile.is_none() {
            // Made at the first system call return (see listen.rs).
            Engine::validate(&cfg, os).map_err(|e| e.to_string())?;
            let report = Reporter::new(args.status.as_deref());
            listen::set_vcpus(nvcpus);
            listen::defer_for_scan(cfg, hooks, Box::new(move |l| report.message(l)))?;
            None
        } else {
            let e = Engine::with_hooks(cfg, os, hooks).map_err(|e| {
                // A trace file that cannot be written (disk full at its
                // header) is the recording's failure (exit 74), not QEMU's.
                if matches!(e, vstrace_engine::EngineError::Record { .. }) {
                    Reporter::new(args.status.as_deref()).record_error(&e.to_string());
                }
                e.to_string()
            })?;
            let mut e = e;
            // Rendering and writing records happen off the vCPU threads.
            if background {
                e.write_in_background();
            }
            Some(e)
        }
    };
    // First: everything below (register lists, writes) depends on it.
    let v7 = api::set_abi(info.version.min);
    let writes = Backend::detect(info.version.cur);
    let phys = PhysReader::detect(info.version.cur);
    let ram = match (&args.machine, args.ram_mib) {
        (Some(m), Some(mib)) => Some(ram_for_machine(m, mib)?),
        _ => None,
    };
    let report = Reporter::new(args.status.as_deref());
    if let (Backend::Unsupported(why), Some(e)) = (&writes, &engine) {
        if e.modifies() {
            report.message(format!(
                "vstrace: warning: this QEMU cannot write guest registers or memory ({why}); \
                 --inject, --rewrite-path and hooks will not change the guest; tracing goes on"
            ));
        }
    }
    if debug {
        eprintln!(
            "vstrace-plugin: plugin API min={} cur={} (ABI v{}), {} vCPU slot(s), writes: {}, \
             physical reads: {} ({}), engine: {}",
            info.version.min,
            info.version.cur,
            if v7 { api::API_V7 } else { api::API_V4 },
            nvcpus,
            writes.describe(),
            phys.describe(),
            if ram.is_some() {
                "RAM map given"
            } else {
                "no RAM map: off"
            },
            if engine.is_some() { "on" } else { "off" }
        );
    }
    let light =
        !debug && knobs.is_none() && engine.as_ref().is_some_and(|e| !e.reads_all_registers());
    let early = engine.as_ref().map(|e| e.early_out());
    let plugin = Plugin {
        early,
        skip: if light { cpu::LIGHT_SKIP } else { 0 },
        shared_kernel,
        vcpus: (0..nvcpus).map(|_| Mutex::new(None)).collect(),
        engine,
        writes,
        phys,
        ram,
        debug,
        knobs,
        report,
        counts: Default::default(),
        printed_regs: AtomicBool::new(false),
    };
    PLUGIN
        .set(plugin)
        .map_err(|_| "plugin installed twice".to_string())?;
    if let Some(l) = &args.listen {
        listen::set_vcpus(nvcpus);
        listen::start(l, args.allow_remote, hooks)?;
    }

    ffi::register_callbacks(
        id,
        &ffi::InstallCallbacks {
            vcpu_init_v4: on_vcpu_init,
            vcpu_init_v7: on_vcpu_init_v7,
            tb_trans_v4: on_tb_trans,
            tb_trans_v7: on_tb_trans_v7,
            atexit_v4: on_exit,
            atexit_v7: on_exit_v7,
        },
        true,
    );
    // A listening plugin instruments no trap until a client attaches.
    lazy::install(args.listen.is_some());
    Ok(())
}

unsafe extern "C" fn on_vcpu_init(_id: sys::qemu_plugin_id_t, vcpu: c_uint) {
    vcpu_init(vcpu);
}

unsafe extern "C" fn on_vcpu_init_v7(vcpu: c_uint, _udata: *mut c_void) {
    vcpu_init(vcpu);
}

/// Whether an engine for `cfg` on a VM of `nvcpus` vCPUs renders and
/// writes its records on a writer thread ([`Engine::write_in_background`]).
///
/// With several vCPUs it always does: their records merge in time order
/// there. With one, handing a record over costs about what rendering a
/// text line in place does, so it pays only for JSON's heavier lines, and
/// only on a host with a core to spare for the writer (measured at 400k
/// calls, guest s, median of 5 interleaved: getppid JSON 0.714 against
/// 0.824 in place, read+write JSON 1.298 against 1.291; text 0.756 against
/// 0.658 to /dev/null and 0.774 against 0.705 to a file). `-c` renders
/// nothing per record.
pub(crate) fn in_background(cfg: &EngineConfig, nvcpus: usize) -> bool {
    let spare_core = std::thread::available_parallelism().is_ok_and(|n| n.get() > nvcpus);
    !cfg.summary && (nvcpus > 1 || (cfg.format == vstrace_engine::Format::Json && spare_core))
}

fn vcpu_init(vcpu: c_uint) {
    let _ = catch_unwind(|| {
        let Some(p) = PLUGIN.get() else { return };
        let regs = ffi::get_registers();
        let st = VcpuState::new(vcpu, &regs);
        if p.debug && !p.printed_regs.swap(true, Ordering::Relaxed) {
            let names: Vec<&str> = regs.iter().map(|d| d.name.as_str()).collect();
            eprintln!("vstrace-plugin: vcpu {vcpu} registers: {}", names.join(" "));
        }
        let missing = st.missing();
        if !missing.is_empty() {
            eprintln!("vstrace-plugin: vcpu {vcpu}: QEMU lists no {missing:?}; they read as 0");
        }
        match p.vcpus.get(vcpu as usize) {
            Some(slot) => *lock(slot) = Some(st),
            None => eprintln!(
                "vstrace-plugin: vcpu {vcpu} beyond {} slots: not traced",
                p.vcpus.len()
            ),
        }
    });
}

unsafe extern "C" fn on_tb_trans(_id: sys::qemu_plugin_id_t, tb: *mut sys::qemu_plugin_tb) {
    // SAFETY: `tb` is this translation callback's block.
    unsafe { tb_trans(tb) }
}

unsafe extern "C" fn on_tb_trans_v7(tb: *mut sys::qemu_plugin_tb, _udata: *mut c_void) {
    // SAFETY: `tb` is this translation callback's block.
    unsafe { tb_trans(tb) }
}

/// # Safety
/// `tb` must be the block of the running translation callback.
unsafe fn tb_trans(tb: *mut sys::qemu_plugin_tb) {
    // Dormant: no trap callbacks (see lazy.rs).
    if !lazy::instrumenting() {
        return;
    }
    let _ = catch_unwind(|| {
        let mut bytes = [0u8; 16];
        // SAFETY: `tb` is the block of this translation callback, and the
        // insn handles come from it.
        unsafe {
            for insn in ffi::tb_insns(tb) {
                let n = ffi::insn_data(insn, &mut bytes);
                let vaddr = ffi::insn_vaddr(insn);
                if let Some(kind) = classify::classify(&bytes[..n]) {
                    let udata = classify::pack(kind, vaddr);
                    ffi::register_insn_exec_rw(insn, on_trap, udata);
                }
                if sigprobe::wants(vaddr) {
                    ffi::register_insn_exec_r(insn, on_probe, vaddr);
                }
            }
        }
    });
}

unsafe extern "C" fn on_trap(vcpu: c_uint, udata: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        on_trap_inner(vcpu, udata as usize as u64)
    }));
}

/// The signal probe's callback (see [`sigprobe`]); `udata` is the
/// instruction's address.
unsafe extern "C" fn on_probe(vcpu: c_uint, udata: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let pc = udata as usize as u64;
        if !sigprobe::may_hit(pc) {
            return;
        }
        let Some(p) = PLUGIN.get() else { return };
        with_vcpu(p, vcpu, |st| {
            // Registers read at the last event are stale here.
            st.forget_reads();
            sigprobe::hit(st, pc);
        });
    }));
}

/// Reads the CS an `iret` of this kind returns to, from the frame at rsp.
fn iret_target_cs(st: &mut VcpuState, kind: Kind) -> Option<u16> {
    let sp = st.read_slot(Reg::Rsp as usize)?;
    // Frame: ip, cs, flags[, sp, ss], each of the operand size.
    let (off, len) = match kind {
        Kind::Iret64 => (8, 8),
        Kind::Iret32 => (4, 4),
        _ => (2, 2),
    };
    let addr = sp.checked_add(off)?;
    if !ffi::read_memory_vaddr(addr, len, &mut st.buf) {
        return None;
    }
    let b = st.buf.as_slice();
    Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
}

/// The bitness of an event, its register snapshot in `regs` (zero on
/// entry: read in place, a register set is a few hundred bytes to
/// move), or None when this execution is not one we report (kernel-mode
/// enter, iret to kernel).
///
/// `pc` is the trap instruction's address when its block was translated;
/// the snapshot's rip is its real address (see
/// [`classify::real_pc`]: blocks are shared between mappings of the same
/// code, and rip read mid-block is stale). (The GPRs are synced before the
/// callback; eflags is computed from TCG's lazy flags, which no ABI
/// depends on.)
fn capture(
    p: &Plugin,
    skip: u32,
    st: &mut VcpuState,
    kind: Kind,
    pc: u64,
    regs: &mut Regs,
) -> Option<Bitness> {
    match kind.mechanism().direction() {
        Direction::Enter => {
            st.snapshot(pc, kind, skip, regs);
            // Only calls made from user mode (CPL 3). Kernel-mode traps
            // are rare enough not to deserve a cheaper pre-check.
            if regs.cpl() != 3 {
                p.count(COUNT_ENTER_KERNEL);
                return None;
            }
            Some(
                kind.mechanism()
                    .call_bitness(regmap::bitness(regs.efer, regs.cs)),
            )
        }
        // sysret/sysexit always return to user; the operand size picks the
        // mode they return to.
        Direction::Exit => match kind {
            Kind::Sysret64 | Kind::Sysexit64 => {
                st.snapshot(pc, kind, skip, regs);
                Some(Bitness::B64)
            }
            Kind::Sysret32 | Kind::Sysexit32 => {
                st.snapshot(pc, kind, skip, regs);
                Some(Bitness::B32)
            }
            _ => {
                // Cheap path first: most irets return to the kernel.
                let target = iret_target_cs(st, kind)?;
                if target & 3 != 3 {
                    p.count(COUNT_IRET_KERNEL);
                    return None;
                }
                st.snapshot(pc, kind, 0, regs);
                Some(regmap::bitness(regs.efer, target))
            }
        },
    }
}

/// The lazy front of the event path: reads only what decides whether the
/// engine wants this trap (for an enter: cs, efer and rax, and cr3 when
/// the engine must be asked; for a sysret or sysexit: nothing) and
/// checks the engine's early-out state without its lock, taking the lock
/// only for a call number seen for the first time. True when the event
/// is dropped; false when it goes on to the full snapshot (also when a
/// register cannot be read: the full path decides then).
fn early_out(
    p: &Plugin,
    ask: impl FnOnce(u64, Bitness, u64) -> bool,
    early: &EarlyOut,
    st: &mut VcpuState,
    kind: Kind,
) -> bool {
    match kind.mechanism().direction() {
        Direction::Enter => {
            let Some(cs) = st.read_slot(regmap::SLOT_CS) else {
                return false;
            };
            let cs = cs as u16;
            // Only calls made from user mode (CPL 3), as in `capture`.
            if cs & 3 != 3 {
                p.count(COUNT_ENTER_KERNEL);
                return true;
            }
            let (Some(efer), Some(nr)) = (
                st.read_slot(regmap::SLOT_EFER),
                st.read_slot(Reg::Rax as usize),
            ) else {
                return false;
            };
            let bitness = kind.mechanism().call_bitness(regmap::bitness(efer, cs));
            if early.unsettles(nr, bitness) {
                st.fd_unsettled = true;
            }
            match early.check_enter(nr, bitness) {
                EnterCheck::Skip => true,
                EnterCheck::Full => false,
                EnterCheck::Fds(mask) => match fd_args(st, kind.mechanism(), bitness, mask) {
                    Some(args) => !early.fds_pass(mask, &args),
                    None => false,
                },
                EnterCheck::Paths(mask) => {
                    match (
                        fd_args(st, kind.mechanism(), bitness, mask),
                        st.read_slot(regmap::SLOT_CR3),
                    ) {
                        (Some(args), Some(cr3)) => !early.paths_pass(mask, &args, cr3),
                        _ => false,
                    }
                }
                EnterCheck::Ask => match st.read_slot(regmap::SLOT_CR3) {
                    Some(cr3) => ask(nr, bitness, cr3),
                    None => false,
                },
            }
        }
        Direction::Exit => match kind {
            Kind::Sysret32 | Kind::Sysret64 | Kind::Sysexit32 | Kind::Sysexit64 => {
                settle(early, st);
                early.skip_sys_exit()
            }
            // (An iret may return to the kernel: settled once `capture`
            // has told.)
            _ => false,
        },
    }
}

/// `f` on the early-out state of the engine that handles events: this
/// plugin's, or else an attached client's.
fn with_early<R>(p: &Plugin, f: impl FnOnce(&EarlyOut) -> R) -> Option<R> {
    match (&p.early, &p.engine) {
        (Some(early), _) => Some(f(early)),
        (None, None) => listen::with_early(f),
        (None, Some(_)) => None,
    }
}

/// A return to user mode on this vCPU: the change a call entered here
/// may have made to a descriptor table is in place (a call that
/// replaces a descriptor does so before it can sleep, so no other
/// thread returns on its vCPU in between), and `-P`'s verdict cache
/// starts over (see `EarlyOut::unsettles`).
fn settle(early: &EarlyOut, st: &mut VcpuState) {
    if st.fd_unsettled {
        st.fd_unsettled = false;
        early.settle();
    }
}

/// The arguments of a call enter that `mask` names (bit `k`: argument
/// `k + 1`; the others read as 0), from where the ABI table puts them for
/// this trap (`vstrace_core::abi`: the early-out runs for Linux only; a
/// compat `syscall` passes its second argument in ebp, not ecx). None
/// when one is not in a register or cannot be read: the full path
/// decides then.
fn fd_args(st: &mut VcpuState, m: Mechanism, bitness: Bitness, mask: u8) -> Option<[u64; 6]> {
    let row = vstrace_core::abi::row(vstrace_core::Os::Linux, m, bitness).ok()?;
    let mut out = [0u64; 6];
    for (k, v) in out.iter_mut().enumerate() {
        if mask & (1 << k) == 0 {
            continue;
        }
        match row.location(k + 1).ok()? {
            vstrace_core::ArgLocation::Reg { reg, .. } => *v = st.read_slot(reg as usize)?,
            vstrace_core::ArgLocation::Mem { .. } => return None,
        }
    }
    Some(out)
}

/// The slots a light snapshot of this event may leave out, from what
/// the engine says it reads: a 64-bit syscall enter only its register
/// arguments (`EarlyOut::enter_args`, from the call number and code
/// width the early-out has read already), a 64-bit sysret only rax, rcx
/// and rsp of the general registers; anything else [`cpu::LIGHT_SKIP`].
fn lazy_skip(early: &EarlyOut, st: &mut VcpuState, kind: Kind) -> u32 {
    match kind {
        Kind::Syscall => {
            let (Some(cs), Some(efer), Some(nr)) = (
                st.read_slot(regmap::SLOT_CS),
                st.read_slot(regmap::SLOT_EFER),
                st.read_slot(Reg::Rax as usize),
            ) else {
                return cpu::LIGHT_SKIP;
            };
            match early.enter_args(nr, regmap::bitness(efer, cs as u16)) {
                Some(n) => cpu::enter_skip(n),
                None => cpu::LIGHT_SKIP,
            }
        }
        Kind::Sysret64 if early.lazy_sysret() => cpu::SYSRET_SKIP,
        _ => cpu::LIGHT_SKIP,
    }
}

std::thread_local! {
    /// The states of the vCPUs this thread runs, by number: a vCPU's
    /// callbacks all run on its own thread (QEMU's multi-threaded TCG; a
    /// single-threaded TCG runs them all on one), so its state needs no
    /// lock there, and taking one per event was a locked instruction
    /// pair per trap. The vCPU-init callback parks the state in
    /// [`Plugin::vcpus`]; the vCPU's first event takes it here. Never
    /// dropped: a vCPU thread may end after the plugin's end, and its
    /// buffers are QEMU's.
    static HELD: RefCell<ManuallyDrop<Vec<Option<VcpuState>>>> =
        const { RefCell::new(ManuallyDrop::new(Vec::new())) };
}

/// `f` on vCPU `vcpu`'s state, held by this thread (see [`HELD`]); None
/// when it has none (not initialised, or beyond the plugin's slots).
fn with_vcpu<R>(p: &Plugin, vcpu: u32, f: impl FnOnce(&mut VcpuState) -> R) -> Option<R> {
    let i = vcpu as usize;
    let slot = p.vcpus.get(i)?;
    HELD.with(|held| {
        // (Never nested: no QEMU call made here runs a callback.)
        let mut held = held.try_borrow_mut().ok()?;
        if held.len() <= i {
            held.resize_with(i + 1, || None);
        }
        let st = &mut held[i];
        if st.is_none() {
            *st = lock(slot).take();
        }
        st.as_mut().map(f)
    })
}

fn on_trap_inner(vcpu: u32, udata: u64) {
    if listen::dormant() {
        return;
    }
    let Some(p) = PLUGIN.get() else { return };
    let Some((kind, pc)) = classify::unpack(udata) else {
        return;
    };
    with_vcpu(p, vcpu, |st| on_vcpu_trap(p, vcpu, st, kind, pc));
}

/// A trap of `kind` at `pc` on vCPU `vcpu`, whose state is `st`.
fn on_vcpu_trap(p: &Plugin, vcpu: u32, st: &mut VcpuState, kind: Kind, pc: u64) {
    st.begin_event();
    // Any return to user mode ends what the signal probe kept: a sysret
    // or sysexit here (the early-out may drop it), an iret into user mode
    // below, once capture has told it from one to the kernel.
    if matches!(kind.mechanism(), Mechanism::Sysret | Mechanism::Sysexit) {
        sigprobe::take_at_return(&mut st.sig_stash, kind, true);
    }
    // Debugging and the test knobs see every event.
    if !p.debug && p.knobs.is_none() {
        if let (Some(e), Some(early)) = (&p.engine, &p.early) {
            let ask = |nr, b, cr3| e.skip_enter(nr, b, cr3);
            if early_out(p, ask, early, st, kind) {
                return;
            }
        } else if listen::with_early(|early| early_out(p, listen::skip_enter, early, st, kind))
            == Some(true)
        {
            // An attached client's engine: the same lazy front.
            return;
        }
    }
    let light = p.engine.is_none() && !p.debug && p.knobs.is_none() && listen::light();
    let mut p_skip = if light { cpu::LIGHT_SKIP } else { p.skip };
    if p_skip == cpu::LIGHT_SKIP {
        if let Some(s) = with_early(p, |early| lazy_skip(early, st, kind)) {
            p_skip = s;
        }
    }
    let m = kind.mechanism();
    let mut event = Event::new(vcpu, m, Bitness::B64, Regs::default());
    let Some(bitness) = capture(p, p_skip, st, kind, pc, &mut event.regs) else {
        return;
    };
    event.bitness = bitness;
    event.cr3 = event.regs.cr3;
    if st.fd_unsettled && kind.mechanism().direction() == Direction::Exit {
        with_early(p, |early| settle(early, st));
    }
    // (capture drops irets to the kernel: this one returns to user.)
    let probed = sigprobe::take_at_return(&mut st.sig_stash, kind, true);
    p.count(mech_index(m));

    let mut last_nr = st.last_nr;
    {
        let mut cpu = QemuCpu::new(
            vcpu,
            &event.regs,
            st,
            &p.writes,
            p.phys,
            p.ram.as_ref(),
            p.shared_kernel,
        );
        cpu.set_probed(probed);
        if p.debug {
            eprintln!("{}", debug::event_line(&event, &mut cpu));
        }
        if let Some(k) = &p.knobs {
            k.apply(&event, &mut cpu, &mut last_nr);
        }
        if let Some(e) = &p.engine {
            e.on_event(&event, &mut cpu);
        } else {
            listen::on_event(&event, &mut cpu);
        }
    }
    st.last_nr = last_nr;
}

unsafe extern "C" fn on_exit(_id: sys::qemu_plugin_id_t, _udata: *mut c_void) {
    at_exit();
}

unsafe extern "C" fn on_exit_v7(_udata: *mut c_void) {
    at_exit();
}

fn at_exit() {
    let _ = catch_unwind(|| {
        let Some(p) = PLUGIN.get() else { return };
        listen::at_exit();
        let scanned = listen::take_scanned_engine();
        if let Some(e) = p.engine.as_ref().or(scanned.as_ref()) {
            // QEMU ends the run with its vCPUs stopped: no event runs now.
            let stats = e.finish();
            let (output_error, record_error) = e.errors();
            if let Some(err) = output_error {
                p.report.output_error(&err);
            }
            if let Some(err) = record_error {
                p.report.record_error(&err);
            }
            if p.debug {
                eprintln!("vstrace-plugin: engine stats: {stats:?}");
            }
            vstrace_python::print_error_summary();
        }
        if p.debug {
            let c: Vec<String> = Mechanism::ALL
                .iter()
                .map(|m| {
                    format!(
                        "{}={}",
                        m.name(),
                        p.counts[mech_index(*m)].load(Ordering::Relaxed)
                    )
                })
                .collect();
            eprintln!(
                "vstrace-plugin: events {} (iret to kernel skipped={}, kernel-mode enters skipped={})",
                c.join(" "),
                p.counts[COUNT_IRET_KERNEL].load(Ordering::Relaxed),
                p.counts[COUNT_ENTER_KERNEL].load(Ordering::Relaxed),
            );
            eprintln!("vstrace-plugin: {}", envregs::describe());
        }
    });
}
