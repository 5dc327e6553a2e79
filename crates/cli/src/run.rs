//! `vstrace run`: build the default guest, boot it with the plugin, stream
//! the guest command's output and the trace, report how it ended.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::exit::{self, GuestEnd, OutputFailure, RunEnd, Stopped};
use crate::signal;
use crate::trace_args::TraceArgs;
use vstrace_launch::status::{read_statuses, PluginStatus, STATUS_ARG};
use vstrace_launch::{
    arch_of_image, find_kernel, GuestArch, GuestConfig, GuestOutcome, GuestRun, InitramfsBuilder,
    LaunchError, PluginSpec, Qemu, SerialPort,
};

/// The built-in workload run when no command is given.
const DEFAULT_WORKLOAD: &str = "echo hello from the guest > /tmp/hello; cat /tmp/hello; \
     mv /tmp/hello /tmp/hello2; ls /; rm /tmp/hello2";

#[derive(Args, Debug)]
#[command(after_help = crate::exit::HELP, args_override_self = true)]
pub struct RunArgs {
    /// Guest kernel: a Linux bzImage (default: $VSTRACE_KERNEL or the cached
    /// Debian kernel), or a multiboot image such as the NT-ABI test guest
    /// (guests/nt-abi), booted as it is, without initramfs or command.
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// Guest architecture: x86_64 or i386 (default: the kernel image's, or
    /// x86_64). `--arch i386` boots the cached Debian i386 kernel with an
    /// i386 busybox.
    #[arg(long, value_name = "ARCH")]
    arch: Option<String>,
    /// Use this initramfs instead of the built-in busybox guest (CMD is then ignored).
    #[arg(long)]
    initrd: Option<PathBuf>,
    /// QEMU binary (default: $VSTRACE_QEMU or qemu-system-x86_64 on PATH).
    #[arg(long)]
    qemu: Option<PathBuf>,
    /// The vstrace QEMU plugin (default: next to this binary, or $VSTRACE_PLUGIN).
    #[arg(long)]
    plugin: Option<PathBuf>,
    /// QEMU CPU model.
    #[arg(long)]
    cpu: Option<String>,
    /// Number of vCPUs (1 to 255: QEMU's PC machines address at most 255
    /// CPUs without an x2APIC IOMMU; checked before QEMU starts).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=255))]
    smp: u32,
    /// Guest memory in MiB (32 to 1048576; checked before QEMU starts).
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(32..=1_048_576))]
    memory: u32,
    #[command(flatten)]
    trace: TraceArgs,
    /// Host file to add to the guest as HOST[:GUEST] (default guest path:
    /// same); a dynamically linked program comes with its libraries.
    #[arg(long = "add", value_name = "HOST[:GUEST]")]
    add: Vec<String>,
    /// Trace the whole guest (its init, the shell, poweroff), not only the
    /// command and its descendants.
    #[arg(long)]
    all: bool,
    /// Boot the guest without the tracing plugin (a baseline for benchmarks).
    #[arg(long)]
    untraced: bool,
    /// Also open QEMU's gdbstub on this chardev (`tcp::PORT` or
    /// `unix:PATH,server=on,wait=off`), for `vstrace attach` or gdb.
    #[arg(long, value_name = "CHARDEV")]
    gdb: Option<String>,
    /// Extra guest kernel command-line argument (repeatable), e.g. reboot=t.
    #[arg(long = "append", value_name = "ARG")]
    append: Vec<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// The command to run in the guest: after `--`, or (as strace takes
    /// it) the first word that is not an option and all words after it.
    #[arg(trailing_var_arg = true, value_name = "CMD")]
    cmd: Vec<String>,
    /// strace's -d (refused: see `run`).
    #[arg(short = 'd', long = "debug", hide = true)]
    debug: bool,
}

/// The guest kernel's profile (task_struct layout, per-cpu current task)
/// read from its own image: BTF and ksymtab of the decompressed vmlinux.
/// Without it records carry no pid/comm; tracing still works.
pub(crate) fn linux_profile(kernel: &Path) -> Option<vstrace_linux::profile::LinuxProfile> {
    let build = || -> Result<_> {
        let vmlinux = vstrace_launch::extract_vmlinux_cached(kernel)?;
        let elf = std::fs::read(&vmlinux)?;
        let mut p = profile_from_vmlinux(&elf)?;
        crate::profile::add_system_map(&mut p, kernel, &elf);
        Ok(p)
    };
    match build() {
        Ok(p) => Some(p),
        Err(e) => {
            say!("vstrace: warning: no process attribution ({e:#})");
            None
        }
    }
}

/// `VSTRACE_NO_BTF=1`: act as if the guest kernel had no BTF (the image's
/// `.BTF` is not read and `vstrace qemu` does not look for it in guest
/// memory), to check or use a `--linux-profile` symbol table instead.
pub(crate) fn btf_disabled() -> bool {
    std::env::var_os("VSTRACE_NO_BTF").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The profile from a vmlinux image's BTF and exported symbols (unless
/// [`btf_disabled`]).
pub(crate) fn profile_from_vmlinux(elf: &[u8]) -> Result<vstrace_linux::profile::LinuxProfile> {
    if btf_disabled() {
        bail!("VSTRACE_NO_BTF is set: the kernel's BTF is not read; pass --linux-profile");
    }
    let p = vstrace_linux::profile::LinuxProfile::from_vmlinux(elf)?;
    // A kernel without BTF: a table made from its debug info
    // (`vstrace profile --from-dwarf`) gives the layouts BTF would.
    if p.files.is_none() || p.mm.is_none() || p.pids.is_none() {
        if let Some(t) = crate::profile::cached_table(elf, &p) {
            return Ok(t);
        }
    }
    Ok(p)
}

/// Finds the plugin built alongside this binary.
pub(crate) fn find_plugin(explicit: Option<&Path>) -> Result<PathBuf> {
    let mut tried = Vec::new();
    let candidates: Vec<PathBuf> = match explicit {
        Some(p) => vec![p.to_path_buf()],
        None => {
            let mut v = Vec::new();
            if let Some(p) = std::env::var_os("VSTRACE_PLUGIN") {
                v.push(PathBuf::from(p));
            }
            if let Ok(exe) = std::env::current_exe() {
                if let Some(dir) = exe.parent() {
                    v.push(dir.join("libvstrace_plugin.so"));
                    if let Some(up) = dir.parent() {
                        v.push(up.join("libvstrace_plugin.so"));
                    }
                }
            }
            v
        }
    };
    for c in candidates {
        if c.is_file() {
            return Ok(c);
        }
        tried.push(c.display().to_string());
    }
    bail!(
        "the vstrace QEMU plugin was not found (tried {}); build it with `cargo build --release --workspace` or pass --plugin",
        tried.join(", ")
    )
}

/// `vstrace run`: prepare the guest, supervise QEMU, turn how it ended
/// into an exit status.
pub fn run(a: RunArgs) -> Result<u8> {
    // strace's diagnostics first, as strace gives them before it looks
    // for the program.
    crate::trace_args::diag::check(&a.trace)?;
    if a.debug {
        return Err(crate::trace_args::strace::usage(
            "-d: vstrace run has no debug output of its own: its engine runs inside QEMU (record with --record and see `vstrace replay -d`)",
        ));
    }
    // First of all, so that a Ctrl-C during the setup (profile, initramfs)
    // is seen: QEMU is then stopped as soon as it exists. With -I 3/4 the
    // fatal signals are ignored instead.
    let stopper = Arc::new(Stopper::default());
    {
        let s = stopper.clone();
        signal::install(a.trace.strace.interruptible()?, move || {
            s.stop(Stopped::Interrupted)
        })
        .context("installing the Ctrl-C handler")?;
    }
    let prepared = prepare(&a)?;
    if stopper.reason() == Some(Stopped::Interrupted) {
        say!("vstrace: interrupted before the guest started");
        return Ok(exit::INTERRUPTED);
    }
    let ended = supervise(&a, &prepared, &stopper)?;
    outcome(&a, &prepared, ended, stopper.reason())
}

/// Everything a run needs before QEMU starts.
struct Prepared {
    qemu: Qemu,
    guest: GuestConfig,
    /// Where the plugin writes the trace (the user's `-o`, or a temp file
    /// streamed to stderr).
    trace_path: PathBuf,
    /// QEMU's `-d cpu_reset` log: how a reset is told from a reboot.
    reset_log: PathBuf,
    /// The plugin's status lines (`vstrace_launch::status`).
    status_path: PathBuf,
    /// Holds the engine configuration and the logs; removed on drop.
    _work: tempfile::TempDir,
}

/// Checks the options, finds QEMU, the kernel and the plugin, writes the
/// engine configuration and builds the initramfs.
fn prepare(a: &RunArgs) -> Result<Prepared> {
    let qemu = match &a.qemu {
        Some(p) => Qemu::at(p.clone()),
        None => Qemu::find(),
    }
    .map_err(explain_launch)?;
    let wanted = match &a.arch {
        Some(s) => Some(
            GuestArch::parse(s).with_context(|| format!("--arch {s}: expected x86_64 or i386"))?,
        ),
        None => None,
    };
    let kernel = match (&a.kernel, wanted) {
        (None, Some(GuestArch::I386)) => find_kernel(Some(&GuestArch::I386.cached_kernel())),
        (k, _) => find_kernel(k.as_deref()),
    }
    .map_err(explain_launch)?;
    // The kernel image says what it is; --arch must agree with it.
    let arch = match (wanted, arch_of_image(&kernel)) {
        (Some(w), Some(k)) if w != k => bail!(
            "--arch {}: {} is an {} kernel",
            w.as_str(),
            kernel.display(),
            k.as_str()
        ),
        (w, k) => w.or(k).unwrap_or_default(),
    };
    let multiboot = vstrace_launch::is_multiboot(&kernel);
    check_boot_choice(a, &kernel, multiboot)?;
    let plugin = match a.untraced {
        true => None,
        false => Some(find_plugin(a.plugin.as_deref())?),
    };

    let work = tempfile::Builder::new()
        .prefix("vstrace-run-")
        .tempdir()
        .context("creating a temp dir")?;
    let trace_path = match a.trace.output_path()? {
        Some(p) => p,
        None => work.path().join("trace.out"),
    };
    // Fail early (and clearly) if the output file cannot be created (a
    // pipe's command is started by the engine).
    if !a.trace.output_is_pipe() {
        File::create(&trace_path)
            .with_context(|| format!("cannot write the trace to {}", trace_path.display()))?;
    }
    if a.untraced && a.trace.record.is_some() {
        bail!("--record needs the tracing plugin: drop --untraced");
    }

    let mut cfg = a
        .trace
        .engine_config_for_command(Some(trace_path.display().to_string()))?;
    // --linux-profile (in the configuration already) takes BTF's place.
    if a.trace.os == "linux" && cfg.linux_profile.is_none() {
        if let Some(p) = linux_profile(&kernel) {
            vstrace_layers::set_linux_profile(&mut cfg, &p)?;
        }
    }
    // The built-in guest starts the command with `/bin/sh /vstrace/cmd`:
    // trace from that exec on, following children (strace -f).
    cfg.follow_exec = (!multiboot && a.initrd.is_none() && !a.all && !a.trace.selects_processes())
        .then(|| vstrace_launch::guest::CMD_PATH.to_string());
    // Validate the engine configuration here, where errors reach the user
    // directly, instead of inside QEMU.
    let os = vstrace_layers::layer(&cfg).context("invalid tracing options")?;
    vstrace_engine::Engine::validate(&cfg, os).context("invalid tracing options")?;
    // The plugin imports them inside QEMU; a broken file stops us here.
    crate::python::check(&cfg.python_hooks)?;
    let cfg_path = work.path().join("engine.json");
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg)?)?;

    let initrd = match &a.initrd {
        Some(p) => p.clone(),
        // A multiboot guest runs its own program.
        None if multiboot => PathBuf::new(),
        None => build_initramfs(a, arch)?,
    };

    let mut gc = if multiboot {
        GuestConfig::multiboot(kernel)
    } else {
        GuestConfig::new(kernel, initrd)
    };
    gc.smp = a.smp;
    gc.gdb = a.gdb.clone();
    gc.memory_mib = a.memory;
    if let Some(c) = &a.cpu {
        gc.cpu = c.clone();
    }
    let status_path = work.path().join("plugin-status");
    gc.plugin = plugin.map(|path| PluginSpec {
        path,
        args: vec![
            ("config".into(), cfg_path.display().to_string()),
            (STATUS_ARG.into(), status_path.display().to_string()),
        ],
    });

    gc.append.extend(a.append.iter().cloned());
    // QEMU logs "Triple fault" there: how a reset is told from a reboot.
    let reset_log = work.path().join("qemu-reset.log");
    gc.extra_args.extend(
        ["-d".into(), "cpu_reset".into(), "-D".into()]
            .into_iter()
            .chain([reset_log.clone().into_os_string()]),
    );
    Ok(Prepared {
        qemu,
        guest: gc,
        trace_path,
        reset_log,
        status_path,
        _work: work,
    })
}

/// The built-in busybox guest with the command (or the default workload)
/// and the `--add`ed files.
fn build_initramfs(a: &RunArgs, arch: GuestArch) -> Result<PathBuf> {
    let mut b = InitramfsBuilder::new();
    b.busybox(arch.busybox());
    if a.cmd.is_empty() {
        b.shell(DEFAULT_WORKLOAD);
    } else {
        b.command(a.cmd.iter().cloned());
    }
    // strace's -E: the command's environment, changed in the order given
    // (`VAR=VAL` sets, `VAR` removes); the program is still found on the
    // guest's own path, as strace finds it on its own PATH.
    for e in &a.trace.strace.env {
        match e.split_once('=') {
            Some((k, v)) => b.env(k, v),
            None => b.unset(e.as_str()),
        };
    }
    for spec in &a.add {
        let (host, guest) = match spec.split_once(':') {
            Some((h, g)) => (h.to_string(), g.to_string()),
            None => (spec.clone(), spec.clone()),
        };
        if !std::path::Path::new(&host).is_file() {
            bail!("--add {spec}: {host} is not a file");
        }
        // Dynamically linked programs come with their libraries.
        if b.add_dynamic_binary(&host, &guest).is_err() {
            b.add_file(&host, &guest, 0o755)
                .with_context(|| format!("--add {spec}"))?;
        }
    }
    b.write_cached().context("building the guest initramfs")
}

/// What supervising QEMU left to look at.
struct Supervised {
    run: GuestRun,
    result: std::result::Result<GuestOutcome, LaunchError>,
}

/// Starts QEMU and waits for it: the guest's output to our stdout and
/// stderr, the trace streamed to stderr (without `-o`), stopped at the
/// timeout, on Ctrl-C or when our output's reader goes away. Returns once
/// QEMU has exited and the trace ends with a whole line.
fn supervise(a: &RunArgs, p: &Prepared, stopper: &Arc<Stopper>) -> Result<Supervised> {
    // -I 3/4: QEMU out of the terminal's reach too (see crate::signal).
    let intr = a.trace.strace.interruptible()?;
    let mut run = p
        .qemu
        .spawn_with(&p.guest, |cmd| signal::prepare_qemu(intr, cmd))
        .map_err(explain_launch)?;
    stopper.set_pid(run.pid());

    // Stream the trace file to stderr while the guest runs (not with -o).
    let done = Arc::new(AtomicBool::new(false));
    let tail = if a.trace.output.is_none() {
        let (path, done, s) = (p.trace_path.clone(), done.clone(), stopper.clone());
        Some(thread::spawn(move || tail_file(&path, &done, &s)))
    } else {
        None
    };

    // At the timeout, stop QEMU with SIGTERM (the plugin flushes the
    // trace); the launcher's own kill is only a backstop.
    {
        let (s, after) = (stopper.clone(), Duration::from_secs(a.timeout));
        thread::spawn(move || {
            thread::sleep(after);
            s.stop(Stopped::Timeout);
        });
    }
    let backstop = Duration::from_secs(a.timeout.saturating_add(30));
    let result = run.wait_with(backstop, |port, bytes| {
        let r = match port {
            SerialPort::Stdout => std::io::stdout().write_all(bytes),
            SerialPort::Stderr => std::io::stderr().write_all(bytes),
            _ => Ok(()),
        };
        if r.is_err() {
            // Whoever read our output is gone: stop, keeping the trace.
            stopper.stop(Stopped::OutputClosed);
        }
    });
    let _ = std::io::stdout().flush();
    // QEMU is gone: whatever killed it, the trace ends with a whole line.
    if !a.trace.summary && !a.trace.output_is_pipe() {
        if let Err(e) = complete_last_line(&p.trace_path) {
            say!("vstrace: warning: {}: {e}", p.trace_path.display());
        }
    }
    done.store(true, Ordering::SeqCst);
    if let Some(t) = tail {
        let _ = t.join();
    }
    Ok(Supervised { run, result })
}

/// What the plugin reported: the first output and recording errors.
#[derive(Default)]
struct PluginReport {
    output_error: Option<(Option<i32>, String)>,
    record_error: Option<String>,
}

/// Shows the engine's and the plugin's messages to the user and collects
/// the plugin's errors from its status file.
fn plugin_report(p: &Prepared, s: &Supervised) -> PluginReport {
    // What the engine said inside QEMU (version detection, KVA shadow,
    // warnings) is the user's to read; it writes to QEMU's stderr.
    let qemu_log =
        std::fs::read_to_string(s.run.run_dir().join("qemu-stderr.log")).unwrap_or_default();
    for l in qemu_log.lines().filter(|l| l.starts_with("vstrace: ")) {
        say!("{l}");
    }
    let mut r = PluginReport::default();
    for status in read_statuses(&p.status_path) {
        match status {
            Ok(PluginStatus::Message { text }) => say!("{text}"),
            Ok(PluginStatus::OutputError { errno, message }) => {
                r.output_error.get_or_insert((errno, message));
            }
            Ok(PluginStatus::RecordError { message, .. }) => {
                r.record_error.get_or_insert(message);
            }
            Err(e) => say!("vstrace: warning: {e}"),
        }
    }
    r
}

/// Says how the run ended and picks the exit status ([`exit::run_status`]).
fn outcome(a: &RunArgs, p: &Prepared, s: Supervised, stopped: Option<Stopped>) -> Result<u8> {
    let report = plugin_report(p, &s);
    if let Some(e) = &report.record_error {
        say!("vstrace: error: writing the recording failed: {e}");
    }
    match stopped {
        Some(Stopped::Interrupted) => say!("vstrace: interrupted; trace flushed, QEMU stopped"),
        Some(Stopped::Timeout) => say!(
            "vstrace: error: the guest did not finish within {} s; QEMU stopped, trace flushed",
            a.timeout
        ),
        Some(Stopped::OutputClosed) => {}
        None => {}
    }
    let guest = match stopped {
        // The guest's end says nothing more once vstrace stopped it.
        Some(_) => GuestEnd::QemuDied,
        // QEMU refused the plugin because its trace file could not be
        // written (said above): the recording failed, not QEMU.
        None if report.record_error.is_some()
            && matches!(s.result, Err(LaunchError::QemuFailed { .. })) =>
        {
            GuestEnd::NotStarted
        }
        None => guest_end(a, p, s)?,
    };
    let output = match (&report.output_error, &report.record_error) {
        _ if stopped.is_some() => None,
        (Some((errno, message)), _) => Some(exit::output_failure(*errno, message)),
        (None, Some(_)) => Some(OutputFailure::Failed),
        (None, None) => None,
    };
    Ok(exit::run_status(&RunEnd {
        stopped,
        guest,
        output,
    }))
}

/// How the guest ended on its own, said to the user; an error for an end
/// that is vstrace's or QEMU's failure rather than the guest's.
fn guest_end(a: &RunArgs, p: &Prepared, s: Supervised) -> Result<GuestEnd> {
    Ok(match s.result {
        Ok(o) => {
            if !a.trace.json && a.trace.output.is_none() {
                say!("+++ guest command exited with {} +++", o.exit_status);
            }
            GuestEnd::Exited(o.exit_status)
        }
        Err(LaunchError::NoExitStatus { console_tail }) => {
            let reset = std::fs::read_to_string(&p.reset_log).unwrap_or_default();
            let console =
                String::from_utf8_lossy(&s.run.read_port(SerialPort::Console)).into_owned();
            let how = if reset.contains("Triple fault") {
                "triple-faulted"
            } else if console.contains("Restarting system") || console.contains("sysrq: Resetting")
            {
                "reset itself (reboot)"
            } else {
                return Err(explain_launch(LaunchError::NoExitStatus { console_tail }));
            };
            say!("vstrace: error: the guest {how} before the command finished; console tail:\n{console_tail}");
            GuestEnd::Reset
        }
        Err(e @ LaunchError::KernelPanic { .. }) => {
            say!("vstrace: error: {e}");
            GuestEnd::KernelPanic
        }
        Err(e @ LaunchError::Timeout { .. }) => {
            say!("vstrace: error: {e}");
            GuestEnd::Timeout
        }
        Err(LaunchError::QemuFailed { status, stderr }) if status.contains("signal") => {
            say!(
                "vstrace: error: QEMU died ({status}); the trace written so far is kept\n{stderr}"
            );
            GuestEnd::QemuDied
        }
        Err(e) => return Err(explain_launch(e)),
    })
}

/// Stops QEMU once, from the Ctrl-C handler or an output thread, and
/// remembers the first reason.
#[derive(Default)]
struct Stopper {
    pid: AtomicU32,
    /// 0: not stopped; else [`Stopper::code`] of the reason.
    reason: AtomicU8,
}

impl Stopper {
    fn set_pid(&self, pid: u32) {
        self.pid.store(pid, Ordering::SeqCst);
        // Ctrl-C before QEMU existed: stop it now.
        if self.reason().is_some() {
            self.kill();
        }
    }

    fn stop(&self, why: Stopped) {
        if self
            .reason
            .compare_exchange(0, Self::code(why), Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            self.kill();
        }
    }

    fn kill(&self) {
        let pid = self.pid.load(Ordering::SeqCst);
        if pid != 0 {
            // SIGTERM lets QEMU exit cleanly: the plugin's exit callback
            // flushes the trace.
            signal::terminate(pid);
        }
    }

    fn code(why: Stopped) -> u8 {
        match why {
            Stopped::Interrupted => 1,
            Stopped::OutputClosed => 2,
            Stopped::Timeout => 3,
        }
    }

    fn reason(&self) -> Option<Stopped> {
        match self.reason.load(Ordering::SeqCst) {
            1 => Some(Stopped::Interrupted),
            2 => Some(Stopped::OutputClosed),
            3 => Some(Stopped::Timeout),
            _ => None,
        }
    }
}

/// Cuts a regular file after its last newline, so a trace whose writer
/// died mid-line (disk full, a kill during a write) is whole lines only.
fn complete_last_line(path: &Path) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Ok(());
    }
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    // Look back at most 1 MiB for the last newline.
    let back = len.min(1 << 20);
    let mut buf = vec![0u8; back as usize];
    f.seek(SeekFrom::Start(len - back))?;
    f.read_exact(&mut buf)?;
    if buf.last() == Some(&b'\n') {
        return Ok(());
    }
    let keep = match buf.iter().rposition(|b| *b == b'\n') {
        Some(i) => len - back + i as u64 + 1,
        None if back == len => 0,
        None => return Ok(()),
    };
    f.set_len(keep)?;
    say!(
        "vstrace: warning: {}: the last, incomplete line ({} bytes) was removed",
        path.display(),
        len - keep
    );
    Ok(())
}

/// A multiboot kernel (the NT-ABI test guest) brings its own program: no
/// initramfs, command or added files. `--os windows` needs one, as
/// `vstrace run` cannot boot Windows itself (trace a Windows VM with
/// `vstrace attach`).
fn check_boot_choice(a: &RunArgs, kernel: &Path, multiboot: bool) -> Result<()> {
    if multiboot {
        let extra = if a.initrd.is_some() {
            Some("--initrd")
        } else if !a.cmd.is_empty() {
            Some("a command")
        } else if !a.add.is_empty() {
            Some("--add")
        } else if !a.trace.strace.env.is_empty() {
            Some("-E")
        } else {
            None
        };
        if let Some(what) = extra {
            bail!(
                "{} is a multiboot kernel that runs its own program: {what} cannot be used with it",
                kernel.display()
            );
        }
    } else if a.initrd.is_some() && !a.trace.strace.env.is_empty() {
        // The guest's own init starts whatever it runs: vstrace has no
        // command whose environment it could set.
        bail!(
            "-E: with --initrd the guest's own init runs its programs; set the environment there"
        );
    } else if a.trace.os == "windows" {
        bail!(
            "--os windows: {} is not a multiboot kernel; `vstrace run` boots the NT-ABI test guest \
             (guests/nt-abi/build.sh) or another multiboot image, not Windows itself \
             (trace a running Windows VM with `vstrace attach`)",
            kernel.display()
        );
    }
    Ok(())
}

/// Copies a growing file to stderr until `done` is set and the file ends;
/// stops the guest if stderr's reader went away.
fn tail_file(path: &Path, done: &AtomicBool, stopper: &Stopper) {
    let Ok(mut f) = File::open(path) else { return };
    let mut buf = vec![0u8; 1 << 16];
    let mut err = std::io::stderr();
    loop {
        let finished = done.load(Ordering::SeqCst);
        match f.read(&mut buf) {
            Ok(0) if finished => break,
            Ok(0) => thread::sleep(Duration::from_millis(20)),
            Ok(n) => {
                if err.write_all(&buf[..n]).is_err() {
                    stopper.stop(Stopped::OutputClosed);
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let _ = err.flush();
}

fn explain_launch(e: LaunchError) -> anyhow::Error {
    let hint = match &e {
        LaunchError::NotFound(_) | LaunchError::TooOld { .. } | LaunchError::UnknownVersion(_) => {
            "\n  hint: run scripts/setup-host.sh to install QEMU 10 from bookworm-backports"
        }
        LaunchError::KernelNotFound { .. } => {
            "\n  hint: run scripts/setup-host.sh to fetch the Debian guest kernel"
        }
        _ => "",
    };
    anyhow::anyhow!("{e}{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_line_is_completed_by_cutting() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        for (before, after) in [
            (
                &b"{\"a\":1}\n{\"b\":2}\n"[..],
                &b"{\"a\":1}\n{\"b\":2}\n"[..],
            ),
            (b"{\"a\":1}\n{\"b\":", b"{\"a\":1}\n"),
            (b"{\"a\":", b""),
            (b"", b""),
        ] {
            std::fs::write(&p, before).unwrap();
            complete_last_line(&p).unwrap();
            assert_eq!(std::fs::read(&p).unwrap(), after);
        }
        // Not a regular file: left alone.
        complete_last_line(Path::new("/dev/null")).unwrap();
    }

    /// strace's command line: the command after the options, with or
    /// without `--`; its own options stay its own.
    #[test]
    fn the_command_follows_the_options() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            run: RunArgs,
        }
        use clap::Parser;
        let cmd = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("vstrace").chain(args.iter().copied()))
                .unwrap()
                .run
                .cmd
        };
        assert_eq!(cmd(&["-e", "signal=CHLD", "true", "-x"]), ["true", "-x"]);
        assert_eq!(cmd(&["-f", "--", "ls", "-l"]), ["ls", "-l"]);
        assert_eq!(cmd(&["ls", "--", "-l"]), ["ls", "--", "-l"]);
        assert!(cmd(&["-eread=1"]).is_empty());
    }
}
