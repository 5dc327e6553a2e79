//! `vstrace qemu [trace options] -- qemu-system-x86_64 ARGS...`: the
//! user's own QEMU command line, unchanged, with the vstrace plugin added
//! (and `-accel tcg` when no accelerator is chosen). QEMU keeps the
//! terminal: its console, monitor and devices are as the user set them;
//! the trace goes to stderr (or `-o`). vstrace exits with QEMU's status;
//! Ctrl-C (SIGINT/SIGTERM to vstrace) ends QEMU cleanly, which flushes
//! the trace.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Args;
use vstrace_launch::status::{read_statuses, PluginStatus, STATUS_ARG};
use vstrace_launch::usercmd;
use vstrace_launch::Qemu;

use crate::trace_args::TraceArgs;

#[derive(Args, Debug)]
#[command(after_help = crate::exit::HELP)]
pub struct QemuArgs {
    /// The vstrace QEMU plugin (default: next to this binary, or $VSTRACE_PLUGIN).
    #[arg(long)]
    plugin: Option<PathBuf>,
    /// The guest's kernel image (bzImage or vmlinux), for pid/comm in
    /// every record (default: the command line's -kernel).
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// Find the kernel's BTF and symbols in guest memory (at the first
    /// system call return) even when a kernel image is known; without
    /// -kernel and --kernel this is what happens.
    #[arg(long, conflicts_with = "kernel")]
    profile_from_memory: bool,
    #[command(flatten)]
    trace: TraceArgs,
    /// The QEMU command line: qemu-system-x86_64 and its arguments.
    #[arg(last = true, required = true, value_name = "QEMU ARGS")]
    cmd: Vec<String>,
}

/// Quotes a plugin argument value for QEMU's `k=v,...` syntax.
fn qemu_opt(v: &str) -> String {
    v.replace(',', ",,")
}

/// The QEMU binary the user named: a path, or a name looked up in PATH.
fn qemu_binary(name: &str) -> Result<Qemu> {
    let path = if name.contains('/') {
        PathBuf::from(name)
    } else {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .with_context(|| format!("{name}: not found in PATH"))?
    };
    Qemu::at(path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// `vstrace qemu`: checks the command line, adds the plugin, runs QEMU
/// in the foreground, and exits with its status.
pub fn qemu(a: QemuArgs) -> Result<u8> {
    crate::trace_args::diag::check(&a.trace)?;
    let Some((program, user_args)) = a.cmd.split_first() else {
        bail!("no QEMU command line after --");
    };
    if !program.contains("qemu-system-x86_64") {
        say!("vstrace: warning: {program}: vstrace traces x86_64 guests (qemu-system-x86_64)");
    }
    let info = usercmd::analyze(user_args)?;
    for w in &info.warnings {
        say!("{w}");
    }
    let qemu = qemu_binary(program)?;
    let plugin = crate::run::find_plugin(a.plugin.as_deref())?;

    // Private: the engine configuration may name files the user's -o does.
    let work = tempfile::Builder::new()
        .prefix("vstrace-qemu-")
        .tempdir()
        .context("creating a temp dir")?;
    let output = a.trace.output_path()?;
    if let Some(p) = &output {
        std::fs::File::create(p)
            .with_context(|| format!("cannot write the trace to {}", p.display()))?;
    }
    // Without -o the plugin writes to QEMU's stderr, which is ours.
    let mut cfg = a
        .trace
        .engine_config(output.map(|p| p.display().to_string()))?;
    let kernel = match a.profile_from_memory {
        true => None,
        false => a.kernel.as_ref().or(info.kernel.as_ref()),
    };
    // Without a kernel image the plugin scans guest memory for the profile.
    // --linux-profile (in the configuration already) takes BTF's place.
    let mut scan =
        a.trace.os == "linux" && cfg.linux_profile.is_none() && !crate::run::btf_disabled();
    if let (Some(k), true) = (kernel, scan) {
        if let Some(p) = crate::run::linux_profile(k) {
            vstrace_layers::set_linux_profile(&mut cfg, &p)?;
            scan = false;
        }
    }
    let os = vstrace_layers::layer(&cfg).context("invalid tracing options")?;
    vstrace_engine::Engine::validate(&cfg, os).context("invalid tracing options")?;
    let cfg_path = work.path().join("engine.json");
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg)?)?;
    let status_path = work.path().join("plugin-status");

    let mut spec = qemu_opt(&plugin.to_string_lossy());
    let mut pargs = vec![
        ("config".to_string(), cfg_path.display().to_string()),
        (STATUS_ARG.to_string(), status_path.display().to_string()),
    ];
    pargs.extend(info.ram_plugin_args());
    if scan {
        pargs.push(("profile".into(), "scan".into()));
    }
    for (k, v) in pargs {
        spec.push_str(&format!(",{k}={}", qemu_opt(&v)));
    }

    let stopped = Arc::new(AtomicBool::new(false));
    let pid = Arc::new(AtomicU32::new(0));
    {
        let (s, p) = (stopped.clone(), pid.clone());
        // -I 3/4: vstrace ignores the fatal signals (QEMU, the user's,
        // keeps the terminal and its own handling of them).
        crate::signal::install(a.trace.strace.interruptible()?, move || {
            s.store(true, Ordering::SeqCst);
            let pid = p.load(Ordering::SeqCst);
            if pid != 0 {
                crate::signal::terminate(pid);
            }
        })
        .context("installing the Ctrl-C handler")?;
    }
    let mut child = Command::new(&qemu.path)
        .args(user_args)
        .args(info.added_args(spec))
        .spawn()
        .with_context(|| format!("starting {}", qemu.path.display()))?;
    pid.store(child.id(), Ordering::SeqCst);
    // A Ctrl-C between the handler and the spawn.
    if stopped.load(Ordering::SeqCst) {
        crate::signal::terminate(child.id());
    }
    let status = child.wait().context("waiting for QEMU")?;

    let mut failed = false;
    for st in read_statuses(&status_path) {
        match st {
            Ok(PluginStatus::Message { text }) => say!("{text}"),
            Ok(PluginStatus::OutputError { message, .. }) => {
                say!("vstrace: error: writing the trace failed: {message}");
                failed = true;
            }
            Ok(PluginStatus::RecordError { message, .. }) => {
                say!("vstrace: error: writing the recording failed: {message}");
                failed = true;
            }
            Err(e) => say!("vstrace: warning: {e}"),
        }
    }
    if stopped.load(Ordering::SeqCst) {
        say!("vstrace: interrupted; trace flushed, QEMU stopped");
        return Ok(crate::exit::INTERRUPTED);
    }
    if failed {
        return Ok(crate::exit::OUTPUT_FAILED);
    }
    use std::os::unix::process::ExitStatusExt;
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c).unwrap_or(crate::exit::ERROR),
        (None, Some(sig)) => {
            say!("vstrace: error: QEMU was killed by signal {sig}");
            crate::exit::QEMU_DIED
        }
        (None, None) => crate::exit::QEMU_DIED,
    })
}
