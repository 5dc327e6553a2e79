//! Launching QEMU: finding the binary and the guest kernel, building the
//! command line and supervising a run.
//!
//! The guest's four legacy serial ports go to files in a per-run directory,
//! one per [`SerialPort`], so the caller gets the command's stdout and stderr
//! separately from the kernel log, and the exit status from a control port
//! (see [`crate::guest`] for the guest side). [`GuestRun::wait_with`] tails
//! them while the guest runs.
//!
//! Kernels are Linux (bzImage or PVH vmlinux, with an initramfs and a
//! command line) or multiboot images ([`BootProtocol::Multiboot`], e.g. the
//! NT-ABI test guest of guests/nt-abi), which use the same serial ports and
//! control-port markers on their own.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::guest::{EXIT_MARKER, START_MARKER};

/// The oldest QEMU whose plugin API we use.
pub const MIN_QEMU_VERSION: QemuVersion = QemuVersion {
    major: 9,
    minor: 2,
    micro: 0,
};

/// How much console text error variants carry.
const EXCERPT_BYTES: usize = 3000;

/// Errors finding, starting or supervising QEMU.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("qemu-system-x86_64 not found ({0}); run scripts/setup-host.sh or set VSTRACE_QEMU")]
    /// No QEMU binary was found (where we looked).
    NotFound(String),
    #[error("QEMU {found} is too old: vstrace needs {needed} or newer (scripts/setup-host.sh installs it)")]
    /// The QEMU found lacks the plugin API we need.
    TooOld {
        /// Its version.
        found: QemuVersion,
        /// The oldest version we accept.
        needed: QemuVersion,
    },
    #[error("cannot parse the QEMU version from {0:?}")]
    /// `--version` printed something we cannot read a version from.
    UnknownVersion(String),
    #[error("guest kernel not found (looked at {searched:?}); run scripts/setup-host.sh or set VSTRACE_KERNEL")]
    /// No guest kernel at any of the usual places.
    KernelNotFound {
        #[doc = "The places looked at."]
        searched: Vec<PathBuf>,
    },
    #[error("initramfs {0} not found")]
    /// The initramfs given does not exist.
    InitrdNotFound(PathBuf),
    #[error("{context}: {source}")]
    /// A file or process operation failed.
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    #[error("guest kernel panicked:\n{excerpt}")]
    /// The guest kernel panicked (seen on the console).
    KernelPanic {
        #[doc = "The panic message and the lines around it."]
        excerpt: String,
    },
    #[error("guest did not finish within {after:?}; console tail:\n{console_tail}")]
    /// The guest did not finish in time; QEMU was killed.
    Timeout {
        /// The time allowed.
        after: Duration,
        /// The last console lines, to see where it hung.
        console_tail: String,
    },
    #[error("QEMU failed ({status}): {stderr}")]
    /// QEMU exited without the guest finishing (bad option, crash, signal).
    QemuFailed {
        #[doc = "How QEMU ended (exit status or signal)."]
        status: String,
        #[doc = "QEMU's stderr."]
        stderr: String,
    },
    #[error("guest stopped without reporting an exit status; console tail:\n{console_tail}")]
    /// The guest powered off without writing its exit marker.
    NoExitStatus {
        #[doc = "The last console lines."]
        console_tail: String,
    },
}

fn io_ctx(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> LaunchError {
    let context = context.into();
    move |source| LaunchError::Io { context, source }
}

/// A QEMU version number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QemuVersion {
    /// Major version (10 for 10.0.2).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Micro (patch) version; 0 when not printed.
    pub micro: u32,
}

impl QemuVersion {
    /// Parses `qemu-system-x86_64 --version` output
    /// ("QEMU emulator version 10.0.2 (Debian ...)").
    pub fn parse(output: &str) -> Option<QemuVersion> {
        let rest = output.split("version ").nth(1)?;
        let token = rest
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()?;
        let mut it = token.split('.').map(|p| p.parse::<u32>().ok());
        let major = it.next()??;
        let minor = it.next().flatten().unwrap_or(0);
        let micro = it.next().flatten().unwrap_or(0);
        Some(QemuVersion {
            major,
            minor,
            micro,
        })
    }
}

impl fmt::Display for QemuVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.micro)
    }
}

/// A located, version-checked `qemu-system-x86_64`.
#[derive(Debug, Clone)]
pub struct Qemu {
    /// The binary (or a wrapper script that runs it).
    pub path: PathBuf,
    /// The version it reported.
    pub version: QemuVersion,
}

impl Qemu {
    /// `$VSTRACE_QEMU` if set, else `qemu-system-x86_64` in `$PATH`.
    pub fn find() -> Result<Qemu, LaunchError> {
        if let Some(p) = std::env::var_os("VSTRACE_QEMU").filter(|v| !v.is_empty()) {
            return Qemu::at(PathBuf::from(p));
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .map(|d| d.join("qemu-system-x86_64"))
            .find(|p| is_executable(p))
            .ok_or_else(|| LaunchError::NotFound("not in PATH".into()))
            .and_then(Qemu::at)
    }

    /// Uses the binary at `path`, checking its version.
    pub fn at(path: impl Into<PathBuf>) -> Result<Qemu, LaunchError> {
        let path = path.into();
        if !is_executable(&path) {
            return Err(LaunchError::NotFound(format!(
                "{} is not an executable file",
                path.display()
            )));
        }
        let out = Command::new(&path)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| LaunchError::NotFound(format!("{}: {e}", path.display())))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let version = QemuVersion::parse(&text)
            .ok_or_else(|| LaunchError::UnknownVersion(text.to_string()))?;
        if version < MIN_QEMU_VERSION {
            return Err(LaunchError::TooOld {
                found: version,
                needed: MIN_QEMU_VERSION,
            });
        }
        Ok(Qemu { path, version })
    }

    /// Starts a guest. The run directory holds the serial port files.
    pub fn spawn(&self, config: &GuestConfig) -> Result<GuestRun, LaunchError> {
        self.spawn_with(config, |_| {})
    }

    /// [`Qemu::spawn`], with `prepare` applied to QEMU's command before it
    /// starts (the CLI's choice of process group and signals).
    pub fn spawn_with(
        &self,
        config: &GuestConfig,
        prepare: impl FnOnce(&mut Command),
    ) -> Result<GuestRun, LaunchError> {
        if !config.kernel.is_file() {
            return Err(LaunchError::KernelNotFound {
                searched: vec![config.kernel.clone()],
            });
        }
        if config.boot == BootProtocol::Linux && !config.initrd.is_file() {
            return Err(LaunchError::InitrdNotFound(config.initrd.clone()));
        }
        let dir = RunDir::create(config.run_dir.as_deref(), config.keep_run_dir)?;
        for port in SerialPort::ALL {
            // Pre-create so tailing never races QEMU's open.
            fs::File::create(dir.path.join(port.file_name()))
                .map_err(io_ctx(format!("creating {}", port.file_name())))?;
        }
        let stderr_path = dir.path.join("qemu-stderr.log");
        let stderr = fs::File::create(&stderr_path).map_err(io_ctx("creating qemu-stderr.log"))?;
        // The PVH entry starts the kernel with 4-level paging: only the
        // bzImage's decompressor switches to 5-level paging, so a CPU with
        // LA57 boots the bzImage.
        let boot_kernel =
            if config.pvh && config.boot == BootProtocol::Linux && !cpu_model_has_la57(&config.cpu)
            {
                pvh_kernel(&config.kernel).unwrap_or_else(|| config.kernel.clone())
            } else {
                config.kernel.clone()
            };
        let mut effective = config.clone();
        effective.kernel = boot_kernel.clone();
        let args = effective.args(&dir.path);
        let started = Instant::now();
        let mut cmd = Command::new(&self.path);
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        prepare(&mut cmd);
        let child = cmd
            .spawn()
            .map_err(io_ctx(format!("starting {}", self.path.display())))?;
        Ok(GuestRun {
            child,
            boot_kernel,
            dir,
            started,
            offsets: [0; 4],
            boot_time: None,
            finished: None,
        })
    }
}

/// Whether a `-cpu` model string gives the guest 5-level paging: `la57=on`
/// (or `+la57`), or the `max`/`host` models unless they turn it off.
pub fn cpu_model_has_la57(cpu: &str) -> bool {
    let mut parts = cpu.split(',');
    let model = parts.next().unwrap_or_default();
    let mut on = matches!(model, "max" | "host");
    for p in parts {
        match p {
            "la57=on" | "la57=true" | "+la57" | "la57" => on = true,
            "la57=off" | "la57=false" | "-la57" => on = false,
            _ => {}
        }
    }
    on
}

/// The PVH-bootable vmlinux for a bzImage kernel, if there is one.
fn pvh_kernel(kernel: &Path) -> Option<PathBuf> {
    let mut head = [0u8; 0x210];
    fs::File::open(kernel).ok()?.read_exact(&mut head).ok()?;
    if &head[0x202..0x206] != b"HdrS" {
        return None; // already an ELF (or something QEMU will judge)
    }
    crate::kernel::pvh_vmlinux_cached(kernel).ok().flatten()
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Finds the guest kernel: `explicit`, else `$VSTRACE_KERNEL`, else
/// `<cache>/vmlinuz` (where scripts/setup-host.sh puts it). Either a bzImage
/// or an ELF vmlinux with a PVH entry.
pub fn find_kernel(explicit: Option<&Path>) -> Result<PathBuf, LaunchError> {
    // An explicit choice (argument or environment) is never second-guessed.
    let candidates: Vec<PathBuf> = match explicit {
        Some(p) => vec![p.to_owned()],
        None => match std::env::var_os("VSTRACE_KERNEL").filter(|v| !v.is_empty()) {
            Some(p) => vec![PathBuf::from(p)],
            None => vec![crate::cache::cache_dir().join("vmlinuz")],
        },
    };
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(LaunchError::KernelNotFound {
            searched: candidates,
        })
}

/// The newer guest kernels that scripts/setup-host.sh caches beside the
/// default one, as `vmlinuz-MAJOR.MINOR` (Debian bookworm-backports' newest,
/// 6.12 when written): (version, path) pairs, oldest first. Tests run on
/// them as well as on the default kernel.
pub fn cached_newer_kernels() -> Vec<(String, PathBuf)> {
    let Ok(dir) = fs::read_dir(crate::cache::cache_dir()) else {
        return Vec::new();
    };
    let mut out: Vec<((u32, u32), String, PathBuf)> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let ver = name.strip_prefix("vmlinuz-")?.to_string();
            let (major, minor) = ver.split_once('.')?;
            let key = (major.parse().ok()?, minor.parse().ok()?);
            e.path().is_file().then(|| (key, ver, e.path()))
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, v, p)| (v, p)).collect()
}

/// How QEMU boots the kernel given with `-kernel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BootProtocol {
    /// A Linux kernel (bzImage or PVH vmlinux) with an initramfs and a
    /// command line.
    #[default]
    Linux,
    /// A multiboot (v1) image such as the NT-ABI test guest: no initramfs,
    /// no command line; it reports on the serial ports itself.
    Multiboot,
}

/// Multiboot v1 header magic.
const MULTIBOOT_MAGIC: u32 = 0x1BAD_B002;
/// The header must lie in the image's first 8 KiB, 4-byte aligned.
const MULTIBOOT_SEARCH: usize = 8192;

/// Whether the image at `path` is a multiboot (v1) kernel that is not a
/// Linux bzImage (QEMU checks the bzImage header first, and so do we):
/// a magic, flags, checksum triple summing to 0 in the first 8 KiB.
pub fn is_multiboot(path: &Path) -> bool {
    let mut head = Vec::with_capacity(MULTIBOOT_SEARCH);
    let Ok(f) = fs::File::open(path) else {
        return false;
    };
    if f.take(MULTIBOOT_SEARCH as u64)
        .read_to_end(&mut head)
        .is_err()
    {
        return false;
    }
    is_multiboot_image(&head)
}

/// [`is_multiboot`] on the image's first bytes.
pub fn is_multiboot_image(head: &[u8]) -> bool {
    if head.get(0x202..0x206) == Some(b"HdrS".as_slice()) {
        return false;
    }
    let word = |i: usize| -> Option<u32> {
        Some(u32::from_le_bytes(head.get(i..i + 4)?.try_into().ok()?))
    };
    (0..head.len().min(MULTIBOOT_SEARCH)).step_by(4).any(|i| {
        match (word(i), word(i + 4), word(i + 8)) {
            (Some(m), Some(f), Some(c)) => {
                m == MULTIBOOT_MAGIC && m.wrapping_add(f).wrapping_add(c) == 0
            }
            _ => false,
        }
    })
}

/// The emulated machine type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Machine {
    #[default]
    /// `q35` (the default): PCIe; with 2.75 GiB of RAM or more, RAM below
    /// 4 GiB ends at 2 GiB.
    Q35,
    /// `pc` (i440FX): the older PC; with 3.5 GiB of RAM or more, RAM below
    /// 4 GiB ends at 3 GiB.
    Pc,
}

impl Machine {
    /// The name `-machine` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Machine::Q35 => "q35",
            Machine::Pc => "pc",
        }
    }
}

/// A TCG plugin and its arguments (`-plugin PATH,k=v,...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSpec {
    /// The plugin's shared library.
    pub path: PathBuf,
    /// Its `key=value` arguments, in order (commas are escaped).
    pub args: Vec<(String, String)>,
}

/// The guest's serial ports, in `-serial` order (ttyS0..ttyS3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SerialPort {
    /// ttyS0: kernel log and init's own messages.
    Console,
    /// ttyS1: the command's stdout.
    Stdout,
    /// ttyS2: the command's stderr.
    Stderr,
    /// ttyS3: vstrace markers (start, exit status).
    Control,
}

impl SerialPort {
    /// Every port, in `-serial` order.
    pub const ALL: [SerialPort; 4] = [
        SerialPort::Console,
        SerialPort::Stdout,
        SerialPort::Stderr,
        SerialPort::Control,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// File name in the run directory.
    pub fn file_name(self) -> &'static str {
        match self {
            SerialPort::Console => "console.log",
            SerialPort::Stdout => "stdout.log",
            SerialPort::Stderr => "stderr.log",
            SerialPort::Control => "control.log",
        }
    }
}

/// Everything needed to start one guest.
#[derive(Debug, Clone)]
pub struct GuestConfig {
    /// The kernel image (bzImage, or a multiboot ELF).
    pub kernel: PathBuf,
    /// The initramfs (ignored for [`BootProtocol::Multiboot`]).
    pub initrd: PathBuf,
    /// How the kernel is booted.
    pub boot: BootProtocol,
    /// The machine type, which also decides the RAM layout the plugin is told.
    pub machine: Machine,
    /// `-cpu` model. Default `max,la57=off`: every feature TCG emulates except
    /// 5-level paging, which the core page walker does not handle.
    pub cpu: String,
    /// Guest RAM in MiB.
    pub memory_mib: u32,
    /// Number of vCPUs.
    pub smp: u32,
    /// Extra kernel command line words, after vstrace's own.
    pub append: Vec<String>,
    /// The TCG plugin to load, if any.
    pub plugin: Option<PluginSpec>,
    /// `-gdb` device, e.g. `tcp::1234` or `unix:/path,server=on,wait=off`.
    pub gdb: Option<String>,
    /// `-S`: do not start the vCPUs until a debugger says so.
    pub freeze_at_start: bool,
    /// Appended verbatim to the QEMU command line.
    pub extra_args: Vec<OsString>,
    /// Parent for the run directory (default: the system temp dir).
    pub run_dir: Option<PathBuf>,
    /// Keep the run directory (serial logs) after the [`GuestRun`] is dropped.
    pub keep_run_dir: bool,
    /// Boot a bzImage's ELF vmlinux (extracted once, cached) through its PVH
    /// entry when it has one: no decompression under TCG, so power-off comes
    /// ~2.5 s sooner. The kernel then runs without KASLR. Default true.
    pub pvh: bool,
}

/// Escapes a value for QEMU's `key=value,...` option syntax.
fn qemu_opt(value: &str) -> String {
    value.replace(',', ",,")
}

impl GuestConfig {
    /// A Linux guest booting `kernel` with `initrd`, with the defaults.
    pub fn new(kernel: impl Into<PathBuf>, initrd: impl Into<PathBuf>) -> GuestConfig {
        GuestConfig {
            kernel: kernel.into(),
            initrd: initrd.into(),
            boot: BootProtocol::Linux,
            machine: Machine::default(),
            cpu: "max,la57=off".into(),
            memory_mib: 512,
            smp: 1,
            append: Vec::new(),
            plugin: None,
            gdb: None,
            freeze_at_start: false,
            extra_args: Vec::new(),
            run_dir: None,
            keep_run_dir: false,
            pvh: true,
        }
    }

    /// A multiboot kernel, booted without initramfs or command line.
    pub fn multiboot(kernel: impl Into<PathBuf>) -> GuestConfig {
        GuestConfig {
            boot: BootProtocol::Multiboot,
            pvh: false,
            ..GuestConfig::new(kernel, PathBuf::new())
        }
    }

    /// The kernel command line.
    pub fn kernel_cmdline(&self) -> String {
        let mut words = vec![
            "console=ttyS0".to_owned(),
            "quiet".into(),
            "panic=-1".into(),
            "8250.nr_uarts=4".into(),
            "rdinit=/init".into(),
            // The boot-time check that the IO-APIC timer ticks counts
            // ticks across a busy loop; a TCG vCPU on a loaded host can
            // miss them and the kernel panics ("IO-APIC + timer doesn't
            // work!", seen in CI at load 16). The emulated timer works.
            "no_timer_check".into(),
        ];
        words.extend(self.append.iter().cloned());
        words.join(" ")
    }

    /// QEMU's arguments (without the program) for serial files in `run_dir`.
    pub fn args(&self, run_dir: &Path) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut push = |s: &str| a.push(s.into());
        push("-nodefaults");
        push("-machine");
        push(self.machine.as_str());
        push("-accel");
        // Several vCPUs run on several host threads (MTTCG), as on real
        // SMP hardware: the plugin's callbacks then run concurrently.
        push(if self.smp > 1 {
            "tcg,thread=multi"
        } else {
            "tcg"
        });
        push("-cpu");
        push(&self.cpu);
        push("-m");
        push(&format!("{}M", self.memory_mib));
        push("-smp");
        push(&self.smp.max(1).to_string());
        push("-display");
        push("none");
        push("-monitor");
        push("none");
        push("-no-reboot");
        push("-kernel");
        push(&self.kernel.to_string_lossy());
        if self.boot == BootProtocol::Linux {
            push("-initrd");
            push(&self.initrd.to_string_lossy());
            push("-append");
            push(&self.kernel_cmdline());
        }
        for (i, port) in SerialPort::ALL.iter().enumerate() {
            let path = run_dir.join(port.file_name());
            push("-chardev");
            push(&format!(
                "file,id=vs{i},path={}",
                qemu_opt(&path.to_string_lossy())
            ));
            push("-serial");
            push(&format!("chardev:vs{i}"));
        }
        if let Some(p) = &self.plugin {
            let mut spec = qemu_opt(&p.path.to_string_lossy());
            for (k, v) in &p.args {
                spec.push(',');
                spec.push_str(&qemu_opt(k));
                spec.push('=');
                spec.push_str(&qemu_opt(v));
            }
            // The guest's RAM layout: the plugin bounds its physical reads
            // (page walks of other address spaces) to RAM with it.
            spec.push_str(&format!(
                ",machine={},ram_mib={}",
                self.machine.as_str(),
                self.memory_mib
            ));
            push("-plugin");
            push(&spec);
        }
        if let Some(g) = &self.gdb {
            push("-gdb");
            push(g);
        }
        if self.freeze_at_start {
            push("-S");
        }
        a.extend(self.extra_args.iter().cloned());
        a
    }
}

/// Per-run directory, removed on drop unless kept.
#[derive(Debug)]
struct RunDir {
    path: PathBuf,
    keep: bool,
}

impl RunDir {
    fn create(parent: Option<&Path>, keep: bool) -> Result<RunDir, LaunchError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let parent = parent
            .map(Path::to_owned)
            .unwrap_or_else(std::env::temp_dir);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = parent.join(format!(
            "vstrace-run-{}-{}-{nanos:08x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).map_err(io_ctx(format!("creating {}", path.display())))?;
        Ok(RunDir { path, keep })
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// What a finished guest reported.
#[derive(Debug, Clone)]
pub struct GuestOutcome {
    /// The command's exit status as the guest shell saw it (128+n for signal n).
    pub exit_status: i32,
    /// What the command wrote to its stdout (ttyS1).
    pub stdout: Vec<u8>,
    /// What the command wrote to its stderr (ttyS2).
    pub stderr: Vec<u8>,
    /// Kernel log and init messages (ttyS0).
    pub console: String,
    /// QEMU's own stderr (plugin and engine messages included).
    pub qemu_stderr: String,
    /// Spawn to the guest's start marker (kernel boot + init), if seen.
    pub boot_time: Option<Duration>,
    /// Spawn to QEMU's exit.
    pub elapsed: Duration,
}

/// A running guest. Dropping it kills QEMU.
#[derive(Debug)]
pub struct GuestRun {
    child: Child,
    boot_kernel: PathBuf,
    dir: RunDir,
    started: Instant,
    offsets: [u64; 4],
    boot_time: Option<Duration>,
    finished: Option<(ExitStatus, Duration)>,
}

/// Last `EXIT_MARKER` value in `text`.
pub fn parse_exit_status(text: &str) -> Option<i32> {
    text.lines()
        .rev()
        .filter_map(|l| l.trim().strip_prefix(EXIT_MARKER))
        .find_map(|v| v.trim().parse::<i32>().ok())
}

/// The panic message and the lines before it, if the console shows a panic.
pub fn find_kernel_panic(console: &str) -> Option<String> {
    let at = console.find("Kernel panic")?;
    let start = console[..at]
        .char_indices()
        .rev()
        .filter(|(_, c)| *c == '\n')
        .nth(15)
        .map(|(i, _)| i + 1)
        .unwrap_or(0);
    let end = console[at..]
        .char_indices()
        .filter(|(_, c)| *c == '\n')
        .nth(2)
        .map(|(i, _)| at + i)
        .unwrap_or(console.len());
    Some(tail(&console[start..end], EXCERPT_BYTES))
}

/// The last `max` bytes of the guest's console, made safe for the host's
/// terminal: the guest controls these bytes, and a raw `ESC]0;title BEL`
/// or `ESC[2J` in an error message would retitle or clear the user's
/// terminal.
fn tail(s: &str, max: usize) -> String {
    let mut cut = s.len().saturating_sub(max);
    while !s.is_char_boundary(cut) {
        cut += 1;
    }
    escape_console(&s[cut..])
}

/// Escapes what a terminal would interpret, as strace escapes trace
/// strings: C0 controls but newline and tab, DEL and the C1 controls
/// (U+0080..U+009F, which some terminals read as 8-bit CSI/OSC) become
/// octal escapes of their bytes (`\33`, `\302\233`), a carriage return
/// not ending a line `\r`,
/// and a backslash is doubled so that an escape cannot be forged.
fn escape_console(s: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let control = (c < ' ' && c != '\n' && c != '\t') || ('\u{7f}'..='\u{9f}').contains(&c);
        if c == '\\' {
            out.push_str("\\\\");
        } else if c == '\r' {
            // The serial console ends lines with CR LF: keep those as
            // plain line ends, show a lone CR (which would overwrite).
            if chars.peek() != Some(&'\n') {
                out.push_str("\\r");
            }
        } else if control {
            let mut buf = [0u8; 4];
            let bytes = c.encode_utf8(&mut buf).as_bytes();
            let next_is_digit = chars.peek().is_some_and(|n| n.is_ascii_digit());
            for (i, b) in bytes.iter().enumerate() {
                // Three digits where a following digit would extend the
                // escape, as strace does.
                if next_is_digit && i + 1 == bytes.len() {
                    let _ = write!(out, "\\{b:03o}");
                } else {
                    let _ = write!(out, "\\{b:o}");
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl GuestRun {
    /// The kernel image QEMU was given (the cached vmlinux when booted via PVH).
    pub fn boot_kernel(&self) -> &Path {
        &self.boot_kernel
    }

    /// QEMU's process id (to signal it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Directory holding the serial logs and QEMU's stderr.
    pub fn run_dir(&self) -> &Path {
        &self.dir.path
    }

    /// The host file a serial port is logged to.
    pub fn serial_path(&self, port: SerialPort) -> PathBuf {
        self.dir.path.join(port.file_name())
    }

    /// Everything a port has received so far.
    pub fn read_port(&self, port: SerialPort) -> Vec<u8> {
        fs::read(self.serial_path(port)).unwrap_or_default()
    }

    /// Time since QEMU was started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Kills QEMU (no-op if it already exited).
    pub fn kill(&mut self) -> std::io::Result<()> {
        if self.finished.is_some() {
            return Ok(());
        }
        match self.child.kill() {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {}
            Err(e) => return Err(e),
        }
        let st = self.child.wait()?;
        self.finished = Some((st, self.started.elapsed()));
        Ok(())
    }

    /// Waits for the guest to power off; see [`GuestRun::wait_with`].
    pub fn wait(&mut self, timeout: Duration) -> Result<GuestOutcome, LaunchError> {
        self.wait_with(timeout, |_, _| {})
    }

    /// Waits for the guest to power off, calling `on_output` with each new
    /// chunk of every serial port as it arrives (every 20 ms). `timeout`
    /// counts from the spawn; when it passes QEMU is killed. The command's
    /// stdin is /dev/null.
    pub fn wait_with(
        &mut self,
        timeout: Duration,
        mut on_output: impl FnMut(SerialPort, &[u8]),
    ) -> Result<GuestOutcome, LaunchError> {
        let deadline = self.started + timeout;
        loop {
            let exited = match self.finished {
                Some(_) => true,
                None => match self.child.try_wait().map_err(io_ctx("waiting for QEMU"))? {
                    Some(st) => {
                        self.finished = Some((st, self.started.elapsed()));
                        true
                    }
                    None => false,
                },
            };
            self.poll_output(&mut on_output);
            if exited {
                break;
            }
            if Instant::now() >= deadline {
                self.kill().map_err(io_ctx("killing QEMU"))?;
                self.poll_output(&mut on_output);
                let console =
                    String::from_utf8_lossy(&self.read_port(SerialPort::Console)).into_owned();
                return Err(LaunchError::Timeout {
                    after: timeout,
                    console_tail: tail(&console, EXCERPT_BYTES),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.outcome()
    }

    /// Reads what each port received since the last call.
    fn poll_output(&mut self, on_output: &mut impl FnMut(SerialPort, &[u8])) {
        for port in SerialPort::ALL {
            let i = port.index();
            let Ok(mut f) = fs::File::open(self.serial_path(port)) else {
                continue;
            };
            if f.seek(SeekFrom::Start(self.offsets[i])).is_err() {
                continue;
            }
            let mut buf = Vec::new();
            if f.read_to_end(&mut buf).is_err() || buf.is_empty() {
                continue;
            }
            self.offsets[i] += buf.len() as u64;
            // The marker may arrive split over two reads: look at all the
            // (short) control output so far.
            if port == SerialPort::Control
                && self.boot_time.is_none()
                && String::from_utf8_lossy(&self.read_port(SerialPort::Control))
                    .contains(START_MARKER)
            {
                self.boot_time = Some(self.started.elapsed());
            }
            on_output(port, &buf);
        }
    }

    fn outcome(&self) -> Result<GuestOutcome, LaunchError> {
        let Some((status, elapsed)) = self.finished else {
            return Err(LaunchError::QemuFailed {
                status: "still running".into(),
                stderr: String::new(),
            });
        };
        let qemu_stderr =
            fs::read_to_string(self.dir.path.join("qemu-stderr.log")).unwrap_or_default();
        if !status.success() {
            return Err(LaunchError::QemuFailed {
                status: status.to_string(),
                stderr: tail(&qemu_stderr, EXCERPT_BYTES),
            });
        }
        let console = String::from_utf8_lossy(&self.read_port(SerialPort::Console)).into_owned();
        let control = String::from_utf8_lossy(&self.read_port(SerialPort::Control)).into_owned();
        let exit_status = parse_exit_status(&control).or_else(|| parse_exit_status(&console));
        let Some(exit_status) = exit_status else {
            if let Some(excerpt) = find_kernel_panic(&console) {
                return Err(LaunchError::KernelPanic { excerpt });
            }
            return Err(LaunchError::NoExitStatus {
                console_tail: tail(&console, EXCERPT_BYTES),
            });
        };
        Ok(GuestOutcome {
            exit_status,
            stdout: self.read_port(SerialPort::Stdout),
            stderr: self.read_port(SerialPort::Stderr),
            console,
            qemu_stderr,
            boot_time: self.boot_time,
            elapsed,
        })
    }
}

impl Drop for GuestRun {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn la57_cpu_models() {
        assert!(cpu_model_has_la57("max"));
        assert!(cpu_model_has_la57("host,pmu=off"));
        assert!(!cpu_model_has_la57("max,la57=off"));
        assert!(cpu_model_has_la57("qemu64,la57=on"));
        assert!(cpu_model_has_la57("qemu64,+la57"));
        assert!(!cpu_model_has_la57("qemu64"));
    }

    #[test]
    fn console_tail_escapes_what_a_terminal_interprets() {
        let guest = "ok\tline\n\x1b]0;owned\x07\x1b[2J\x1b1 \u{9b}31m back\\slash\r\n";
        let t = tail(guest, 4096);
        assert!(
            !t.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{t:?}"
        );
        assert_eq!(
            t,
            "ok\tline\n\\33]0;owned\\7\\33[2J\\0331 \\302\\23331m back\\\\slash\n"
        );
        assert_eq!(tail("a\rb\r\n", 64), "a\\rb\n");
        // The cut keeps the end and never splits a character.
        assert_eq!(tail("aé\x1b", 3), "é\\33");
    }

    use super::*;

    #[test]
    fn version_parse_and_order() {
        let v = QemuVersion::parse(
            "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\nCopyright",
        )
        .unwrap();
        assert_eq!((v.major, v.minor, v.micro), (10, 0, 2));
        assert!(v >= MIN_QEMU_VERSION);
        let old = QemuVersion::parse("QEMU emulator version 7.2.15").unwrap();
        assert!(old < MIN_QEMU_VERSION);
        assert_eq!(
            QemuVersion::parse("QEMU emulator version 9.2")
                .unwrap()
                .minor,
            2
        );
        assert!(QemuVersion::parse("garbage").is_none());
        assert_eq!(old.to_string(), "7.2.15");
    }

    #[test]
    fn too_old_qemu_is_rejected() {
        let dir = std::env::temp_dir().join(format!("vstrace-fakeqemu-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("qemu-system-x86_64");
        fs::write(&fake, "#!/bin/sh\necho 'QEMU emulator version 8.2.2'\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
        match Qemu::at(&fake) {
            Err(LaunchError::TooOld { found, needed }) => {
                assert_eq!(found.major, 8);
                assert_eq!(needed, MIN_QEMU_VERSION);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Qemu::at(dir.join("nope")),
            Err(LaunchError::NotFound(_))
        ));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn exit_status_and_panic_parsing() {
        assert_eq!(parse_exit_status("x\nVSTRACE_EXIT_STATUS=3\n"), Some(3));
        assert_eq!(
            parse_exit_status("VSTRACE_EXIT_STATUS=1\r\nVSTRACE_EXIT_STATUS=130\r\n"),
            Some(130)
        );
        assert_eq!(parse_exit_status("VSTRACE_EXIT_STATUS=\n"), None);
        assert_eq!(parse_exit_status(""), None);
        let console = "a\nb\n[ 1.0] Kernel panic - not syncing: Attempted to kill init!\n[ 1.1] CPU: 0\nend\nmore\n";
        let ex = find_kernel_panic(console).unwrap();
        assert!(
            ex.starts_with("a\n") && ex.contains("Attempted to kill init") && !ex.contains("more")
        );
        assert!(find_kernel_panic("all fine").is_none());
        assert_eq!(tail("héllo", 4), "llo");
    }

    #[test]
    fn command_line() {
        let mut c = GuestConfig::new("/k", "/i");
        c.plugin = Some(PluginSpec {
            path: "/p/libvstrace.so".into(),
            args: vec![("config".into(), "/tmp/a,b.json".into())],
        });
        c.gdb = Some("tcp::1234".into());
        c.append.push("nokaslr".into());
        let a = arg_strings(&c);
        let after = |flag: &str| after(&a, flag);
        assert_eq!(
            after("-plugin"),
            "/p/libvstrace.so,config=/tmp/a,,b.json,machine=q35,ram_mib=512"
        );
        assert_eq!(after("-gdb"), "tcp::1234");
        assert_eq!(after("-kernel"), "/k");
        assert_eq!(after("-machine"), "q35");
        assert!(
            after("-append").starts_with("console=ttyS0 ")
                && after("-append").ends_with(" nokaslr")
        );
        assert_eq!(a.iter().filter(|x| *x == "-serial").count(), 4);
        assert!(a.contains(&"file,id=vs1,path=/run/stdout.log".to_owned()));
        assert!(!a.contains(&"-S".to_owned()));
    }

    /// QEMU's arguments for `c`, as strings.
    fn arg_strings(c: &GuestConfig) -> Vec<String> {
        c.args(Path::new("/run"))
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    /// The argument after `flag`.
    fn after(a: &[String], flag: &str) -> String {
        a[a.iter().position(|x| x == flag).unwrap() + 1].clone()
    }

    #[test]
    fn smp_uses_mttcg() {
        let mut c = GuestConfig::new("/k", "/i");
        let accel_smp = |c: &GuestConfig| {
            let a = arg_strings(c);
            (after(&a, "-accel"), after(&a, "-smp"))
        };
        assert_eq!(accel_smp(&c), ("tcg".into(), "1".into()));
        c.smp = 4;
        assert_eq!(
            accel_smp(&c),
            ("tcg,thread=multi".into(), "4".into()),
            "several vCPU threads for SMP"
        );
    }

    #[test]
    fn multiboot_detection_and_command_line() {
        let mut img = vec![0u8; 0x400];
        assert!(!is_multiboot_image(&img));
        let flags = 0x0001_0000u32;
        let sum = 0u32.wrapping_sub(MULTIBOOT_MAGIC.wrapping_add(flags));
        img[0x40..0x44].copy_from_slice(&MULTIBOOT_MAGIC.to_le_bytes());
        img[0x44..0x48].copy_from_slice(&flags.to_le_bytes());
        img[0x48..0x4c].copy_from_slice(&sum.to_le_bytes());
        assert!(is_multiboot_image(&img));
        // A bad checksum, a misaligned header, a truncated one: no.
        let mut bad = img.clone();
        bad[0x48] ^= 1;
        assert!(!is_multiboot_image(&bad));
        let mut shifted = vec![0u8; 2];
        shifted.extend_from_slice(&img);
        assert!(!is_multiboot_image(&shifted));
        assert!(!is_multiboot_image(&img[..0x48]));
        // A bzImage that happens to contain the triple is still a bzImage.
        let mut bz = img.clone();
        bz[0x202..0x206].copy_from_slice(b"HdrS");
        assert!(!is_multiboot_image(&bz));
        assert!(!is_multiboot(Path::new("/nonexistent/kernel")));

        let c = GuestConfig::multiboot("/k.bin");
        let a: Vec<String> = c
            .args(Path::new("/run"))
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect();
        assert!(a.contains(&"/k.bin".to_owned()));
        assert!(!a.contains(&"-initrd".to_owned()) && !a.contains(&"-append".to_owned()));
        assert_eq!(a.iter().filter(|x| *x == "-serial").count(), 4);
    }

    #[test]
    fn explicit_missing_kernel() {
        let p = Path::new("/nonexistent/vmlinuz");
        match find_kernel(Some(p)) {
            Err(LaunchError::KernelNotFound { searched }) => assert_eq!(searched, [p]),
            other => panic!("{other:?}"),
        }
    }
}
