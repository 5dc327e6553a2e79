//! `vstrace attach`: trace a running VM through QEMU's gdbstub (TCG or
//! KVM) until Ctrl-C or `--duration`, then remove every breakpoint and
//! leave the VM running; or, with `--plugin`, through a dormant vstrace
//! plugin in a TCG VM (`crate::plugin_attach`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use vstrace_engine::{Engine, Hooks};
use vstrace_gdb::{
    AttachOptions, Backend, BackendError, EntryDiscovery, EntryTrap, ExitTrap, ResumeBy, RspError,
};

use crate::trace_args::TraceArgs;

#[derive(Args, Debug)]
#[command(after_help = crate::exit::HELP, args_override_self = true)]
pub struct AttachArgs {
    /// The VM's gdbstub: HOST:PORT or unix:PATH (QEMU's -gdb tcp::PORT or
    /// -gdb unix:PATH,server,nowait).
    #[arg(
        long,
        value_name = "HOST:PORT|unix:PATH",
        required_unless_present = "plugin"
    )]
    gdb: Option<String>,
    /// A dormant vstrace plugin's socket (QEMU's -plugin
    /// libvstrace_plugin.so,listen=unix:PATH): traced inside QEMU at
    /// plugin speed; Ctrl-C or --duration detaches and leaves it dormant.
    #[arg(long, value_name = "unix:PATH|tcp:HOST:PORT", conflicts_with = "gdb")]
    plugin: Option<String>,
    /// Stop tracing after this many seconds (default: until Ctrl-C).
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// The guest's kernel image (bzImage or vmlinux), for pid/comm in
    /// every record; without it the kernel's BTF and exported symbols are
    /// looked for in guest memory.
    #[arg(long)]
    kernel: Option<PathBuf>,
    #[command(flatten)]
    trace: TraceArgs,
    /// How to find the system call entry: auto (the code near the IDT
    /// handlers decoded with an x86 decoder, confirmed by a hit; else
    /// stepping), signature (decoding only; the name is kept from when it
    /// matched bytes), or step (single-step a user `syscall`).
    #[arg(long, default_value = "auto", value_parser = ["auto", "signature", "step"])]
    discover: String,
    /// Where returns are trapped: auto (after the kernel's call to its C
    /// syscall handler, when recognised: system calls only) or
    /// return-paths (the swapgs before sysretq / iretq: every return to
    /// user mode).
    #[arg(long, default_value = "auto", value_parser = ["auto", "return-paths"])]
    exits: String,
    /// How entries stop the VM: auto (a write watchpoint on each vCPU's
    /// slot where the entry saves the user rsp, else a breakpoint), watch,
    /// or breakpoint. Under QEMU TCG every breakpoint stop flushes all
    /// translated code; watchpoint stops do not.
    #[arg(long = "entry-trap", default_value = "auto", value_parser = ["auto", "watch", "breakpoint"])]
    entry_trap: String,
    /// How to resume past a breakpoint: emulate (perform the instruction
    /// under it: one stop per event) or step (remove, single-step,
    /// reinsert, as a plain debugger does: the benchmark's baseline).
    #[arg(long = "resume-by", default_value = "emulate", value_parser = ["emulate", "step"])]
    resume_by: String,
    /// Give up finding the system call entry after this many seconds.
    #[arg(long, default_value_t = 60)]
    discovery_timeout: u64,
    /// Progress messages (discovery, statistics) on stderr (strace's
    /// -d: the tracer's own debug output; -v is strace's --no-abbrev).
    #[arg(short = 'd', long = "debug")]
    debug: bool,
}

pub fn attach(a: AttachArgs, hooks: Hooks) -> Result<u8> {
    crate::trace_args::diag::check(&a.trace)?;
    let gdb = match (&a.gdb, &a.plugin) {
        (Some(g), _) => g.clone(),
        (None, Some(p)) => {
            // The plugin runs its own hooks (those of the plugin QEMU loaded).
            let duration = parse_duration(a.duration)?;
            let stop = Arc::new(AtomicBool::new(false));
            let s = stop.clone();
            crate::signal::install(a.trace.strace.interruptible()?, move || {
                s.store(true, Ordering::SeqCst)
            })
            .context("installing the Ctrl-C handler")?;
            return crate::plugin_attach::attach(p, &a.trace, a.kernel.as_deref(), duration, &stop);
        }
        (None, None) => bail!("--gdb or --plugin is needed"),
    };
    let output = a.trace.output_path()?.map(|p| p.display().to_string());
    let linux_profile = match (&a.kernel, &a.trace.linux_profile) {
        // --linux-profile (read into the configuration) takes BTF's place.
        (Some(k), None) => {
            let vmlinux = vstrace_launch::extract_vmlinux_cached(k)
                .with_context(|| format!("--kernel {}", k.display()))?;
            let elf = std::fs::read(&vmlinux)?;
            Some(crate::run::profile_from_vmlinux(&elf)?)
        }
        _ => None,
    };
    if a.trace.os == "windows" && a.kernel.is_some() {
        bail!("--kernel is a Linux kernel image: it cannot be used with --os windows");
    }
    let mut cfg = a.trace.engine_config(output)?;
    if let Some(p) = &linux_profile {
        vstrace_layers::set_linux_profile(&mut cfg, p)?;
    }
    let os = vstrace_layers::layer(&cfg).context("invalid tracing options")?;
    Engine::validate(&cfg, os).context("invalid tracing options")?;
    let hooks = crate::python::add(hooks, &cfg.python_hooks, crate::python::Mode::Live)?;
    let duration = parse_duration(a.duration)?;

    let stop = Arc::new(AtomicBool::new(false));
    {
        let s = stop.clone();
        crate::signal::install(a.trace.strace.interruptible()?, move || {
            s.store(true, Ordering::SeqCst)
        })
        .context("installing the Ctrl-C handler")?;
    }

    let opts = AttachOptions {
        resume: match a.resume_by.as_str() {
            "step" => ResumeBy::Stepping,
            _ => ResumeBy::Emulating,
        },
        entry: match a.discover.as_str() {
            "signature" => EntryDiscovery::Signature,
            "step" => EntryDiscovery::Step,
            _ => EntryDiscovery::Auto,
        },
        exits: match a.exits.as_str() {
            "return-paths" => ExitTrap::ReturnPaths,
            _ => ExitTrap::Auto,
        },
        entry_trap: match a.entry_trap.as_str() {
            "watch" => EntryTrap::Watch,
            "breakpoint" => EntryTrap::Breakpoint,
            _ => EntryTrap::Auto,
        },
        // pt_regs is Linux's: Windows returns stay on breakpoints.
        exit_watch: a.trace.os == "linux",
        discovery_timeout: Duration::from_secs(a.discovery_timeout),
        verbose: a.debug,
    };
    let mut backend = Backend::attach(&gdb, opts).with_context(|| format!("attaching to {gdb}"))?;
    let found = match backend.discover() {
        Ok(d) => d,
        Err(e) => {
            // Leave the VM running even when discovery fails.
            let _ = backend.target.detach();
            return Err(e).context("finding the guest's system call entry");
        }
    };
    if cfg.linux_profile.is_none() && cfg.os == "linux" && !crate::run::btf_disabled() {
        // No --kernel: find the kernel's BTF and ksymtab in its memory.
        match backend.scan_linux_profile(&found) {
            Ok((p, _)) => vstrace_layers::set_linux_profile(&mut cfg, &p)?,
            Err(e) => say!("vstrace: warning: no process attribution ({e})"),
        }
    }
    let os = vstrace_layers::layer(&cfg).context("starting the engine")?;
    let mut engine = Engine::with_hooks(cfg, os, hooks).context("starting the engine")?;
    let result = backend.trace(&found, &mut engine, &stop, duration);
    // Detached with the VM left running: the calls in flight end
    // `<detached ...>`; the VM gone: `<unfinished ...>`.
    let stats = if result.is_ok() {
        engine.finish_detached()
    } else {
        engine.finish()
    };
    crate::python::report();
    let run = match result {
        Ok(r) => r,
        // The VM went away mid-trace (QEMU killed or exited): the trace up
        // to that point is flushed and whole.
        Err(
            e @ (BackendError::TargetExited
            | BackendError::Rsp(RspError::Closed)
            | BackendError::Rsp(RspError::Io(_))),
        ) => {
            say!("vstrace: error: the VM went away while traced ({e}); the trace written so far is kept");
            return Ok(crate::exit::QEMU_DIED);
        }
        Err(e) => return Err(e).context("tracing"),
    };
    if let Some(err) = engine.record_error() {
        say!("vstrace: error: writing the recording failed: {err}");
        return Ok(crate::exit::OUTPUT_FAILED);
    }
    if let Some(err) = engine.output_error() {
        return Ok(crate::exit::output_failed(err));
    }
    if a.debug {
        let per = if run.stops > 0 {
            run.elapsed.as_secs_f64() * 1e6 / run.stops as f64
        } else {
            0.0
        };
        say!(
            "vstrace: gdb: entries by {}; {} stops, {} events ({} enter, {} exit, {} kernel irets), {} records, {} gdb exchanges, {} exit-trap toggles in {:.2} s ({per:.1} us of wall time per stop, {:.0} % of it with the VM running); detached, VM left running",
            if run.entry_watch { "watchpoint" } else { "breakpoint" },
            run.stops,
            run.events,
            run.enters,
            run.exits,
            run.kernel_irets,
            stats.records,
            run.exchanges,
            run.exit_toggles,
            run.elapsed.as_secs_f64(),
            100.0 * run.running.as_secs_f64() / run.elapsed.as_secs_f64().max(1e-9)
        );
    }
    Ok(if stop.load(Ordering::SeqCst) {
        crate::exit::INTERRUPTED
    } else {
        0
    })
}

/// `--duration SECS` as a duration (None: until Ctrl-C).
fn parse_duration(d: Option<f64>) -> Result<Option<Duration>> {
    match d {
        Some(s) if s.is_finite() && s > 0.0 => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => bail!("--duration {s}: expected a positive number of seconds"),
        None => Ok(None),
    }
}
