//! The dormant plugin: `-plugin libvstrace_plugin.so,listen=unix:PATH`
//! (or `listen=tcp:HOST:PORT`, loopback only unless `allow-remote=on`)
//! loads with no engine and instruments nothing until a client attaches
//! (`lazy.rs`; with `VSTRACE_PLUGIN_LAZY=0`, or in a QEMU that does not
//! export what the switch needs, traps stay instrumented and a dormant
//! one costs one relaxed atomic load and returns, [`dormant`]).
//! `vstrace attach --plugin unix:PATH` connects, sends its
//! engine configuration and receives the trace over the socket
//! (`vstrace_launch::wire`); the engine lives here, as under `vstrace
//! run`. A detach (the client's Detach frame, or the client going away)
//! waits for the modifications in flight to complete, flushes, and
//! returns to dormant; the next client may attach. One client at a time:
//! another is refused with a one-line reason.
//!
//! Without a kernel profile in the configuration (no `--kernel`), the
//! engine is made at the first return from a system call: the kernel
//! text address of that `sysret`/`iret` starts a scan of guest memory for
//! the kernel's BTF and exported symbols
//! (`vstrace_linux::profile::scan`), checked against the running kernel,
//! so that records carry pid/comm. `vstrace qemu` uses the same deferred
//! engine (plugin argument `profile=scan`) for a VM booted from its disk.
//!
//! The socket is hostile input: frames are bounded, a bad one ends that
//! client's session with a one-line error, and a panic in a session is
//! caught (tracing stops; QEMU runs on).

use std::cell::RefCell;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use vstrace_core::hooks::Hooks;
use vstrace_core::{Cpu, Event};
use vstrace_engine::{EarlyOut, Engine, EngineConfig, Sink};
use vstrace_launch::wire::{self, Endpoint, Kind, WireError};

/// No `listen=`: the plugin runs its engine from `config=`.
const OFF: u8 = 0;
/// Listening, no client: traps return at once.
const DORMANT: u8 = 1;
/// A client is attached: traps go to its engine.
const ATTACHED: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(OFF);
/// `listen=` was given (the exit callback has a client to tell).
static LISTENING: AtomicBool = AtomicBool::new(false);
/// The attached client's engine. The vCPUs run their events through it
/// at once, under the read lock (the engine has no global lock, as under
/// `vstrace run`); making it, taking it at a detach or at QEMU's exit
/// take the write lock, which waits for the events under way.
static SESSION: RwLock<Option<Engine>> = RwLock::new(None);
/// The VM's vCPUs (see [`set_vcpus`]).
static VCPUS: AtomicUsize = AtomicUsize::new(1);

/// The VM has `n` vCPUs: a session's engine with several writes its
/// records from a writer thread, in time order (see `crate::in_background`).
pub(crate) fn set_vcpus(n: usize) {
    VCPUS.store(n.max(1), Ordering::Relaxed);
}

/// `e`, writing from a writer thread when `background`.
fn with_writer(mut e: Engine, background: bool) -> Engine {
    if background {
        e.write_in_background();
    }
    e
}

fn read_session() -> RwLockReadGuard<'static, Option<Engine>> {
    SESSION.read().unwrap_or_else(|e| e.into_inner())
}

fn write_session() -> RwLockWriteGuard<'static, Option<Engine>> {
    SESSION.write().unwrap_or_else(|e| e.into_inner())
}
/// An engine waiting for the kernel profile (see the module doc).
static DEFERRED: Mutex<Option<Deferred>> = Mutex::new(None);
/// Scans that may fail before the engine starts without a profile.
const SCAN_TRIES: u32 = 3;

/// What an engine made at the first system call return needs.
struct Deferred {
    cfg: EngineConfig,
    sink: Sink,
    hooks: Hooks,
    /// Where the `--record` trace file goes, for a client that records.
    recording: Option<Box<dyn Write + Send>>,
    /// Scans failed so far.
    failed: u32,
    /// Where to tell the user how the scan went.
    say: Box<dyn Fn(String) + Send>,
}
/// The attached engine's early-out state, checked before its lock as
/// under `vstrace run` (see `lib.rs`), and whether it can do without
/// the registers a light snapshot leaves out.
static EARLY: Mutex<Option<Arc<EarlyOut>>> = Mutex::new(None);
static LIGHT: AtomicBool = AtomicBool::new(false);

/// Makes `e`'s fast-path state visible to the trap callback.
fn publish(e: &Engine) {
    *lock(&EARLY) = Some(e.early_out());
    EARLY_GEN.fetch_add(1, Ordering::Release);
    LIGHT.store(!e.reads_all_registers(), Ordering::SeqCst);
}

/// Before the session engine goes: full snapshots, no early out.
fn unpublish() {
    LIGHT.store(false, Ordering::SeqCst);
    *lock(&EARLY) = None;
    EARLY_GEN.fetch_add(1, Ordering::Release);
}

/// Bumped at each change of [`EARLY`]: a thread's copy of it is current
/// while the count it was taken at is.
static EARLY_GEN: AtomicU64 = AtomicU64::new(0);

std::thread_local! {
    /// This thread's copy of [`EARLY`] and the [`EARLY_GEN`] it was taken
    /// at: every event of every vCPU asks for the early-out state, and
    /// taking it from the shared slot each time was a lock and a
    /// reference count that all vCPUs write.
    static EARLY_SEEN: RefCell<(u64, Option<Arc<EarlyOut>>)> = const { RefCell::new((u64::MAX, None)) };
}

/// `f` on the attached engine's early-out state, if any.
pub(crate) fn with_early<R>(f: impl FnOnce(&EarlyOut) -> R) -> Option<R> {
    if STATE.load(Ordering::Relaxed) != ATTACHED {
        return None;
    }
    let generation = EARLY_GEN.load(Ordering::Acquire);
    EARLY_SEEN.with(|seen| match seen.try_borrow_mut() {
        Ok(mut seen) => {
            if seen.0 != generation {
                // Taken after the count was read: a change in between
                // leaves a newer state under an older count, taken again
                // at the next event.
                *seen = (generation, lock(&EARLY).clone());
            }
            seen.1.as_deref().map(f)
        }
        // (Not nested in practice: then the shared slot, as before.)
        Err(_) => lock(&EARLY).clone().as_deref().map(f),
    })
}

/// Whether the attached engine leaves out the registers a light
/// snapshot skips.
pub(crate) fn light() -> bool {
    LIGHT.load(Ordering::Relaxed)
}

/// The attached engine's answer for a call number it has not seen.
pub(crate) fn skip_enter(nr: u64, bitness: vstrace_core::Bitness, cr3: u64) -> bool {
    read_session()
        .as_ref()
        .is_some_and(|e| e.skip_enter(nr, bitness, cr3))
}

/// No client holds the session.
const FREE: u8 = 0;
/// A client holds it (setting up or attached): others are refused.
const HELD: u8 = 1;
/// The client is being detached: the next one waits for the end of it
/// (a client killed and started again must not be refused for it).
const DETACHING: u8 = 2;
/// Who holds the session: [`FREE`], [`HELD`] or [`DETACHING`].
static BUSY: AtomicU8 = AtomicU8::new(FREE);
/// How long a new client waits for a detach under way: the drain, the
/// code-cache flush, and a margin.
const DETACH_WAIT: Duration = Duration::from_secs(12);

/// Takes the session for a new client, waiting for a detach under way
/// to finish; false when another client holds it.
fn claim() -> bool {
    let start = Instant::now();
    loop {
        match BUSY.compare_exchange(FREE, HELD, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return true,
            Err(DETACHING) if start.elapsed() < DETACH_WAIT => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(_) => return false,
        }
    }
}
/// The Unix socket to remove when QEMU exits.
static SOCKET_PATH: OnceLock<PathBuf> = OnceLock::new();
/// The current client's stream, for the exit callback's End frame.
static CLIENT: Mutex<Option<Arc<Mutex<Stream>>>> = Mutex::new(None);

/// How long a detach waits for injected calls to return.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);
/// How long a client may take to send its configuration.
const CONFIG_TIMEOUT: Duration = Duration::from_secs(30);
/// A client that does not read its trace for this long loses it (the
/// guest is not held up longer).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Trace bytes per Output frame.
const OUTPUT_CHUNK: usize = 1 << 20;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// True when the plugin listens and no client is attached: the trap
/// callback returns before reading anything.
#[inline]
pub(crate) fn dormant() -> bool {
    STATE.load(Ordering::Relaxed) == DORMANT
}

/// Hands an event to the attached client's engine, if any (making it
/// first when it waits for the kernel profile).
pub(crate) fn on_event(event: &Event, cpu: &mut dyn Cpu) {
    if STATE.load(Ordering::Relaxed) != ATTACHED {
        return;
    }
    if let Some(e) = read_session().as_ref() {
        e.on_event(event, cpu);
        return;
    }
    // No engine yet: one waiting for the kernel profile is made now,
    // under the write lock (the other vCPUs wait for the scan).
    let mut session = write_session();
    if session.is_none() {
        *session = engine_after_scan(event, cpu);
        if let Some(e) = session.as_ref() {
            publish(e);
        }
    }
    if let Some(e) = session.as_ref() {
        e.on_event(event, cpu);
    }
}

/// The deferred engine, made now if `event` is a return from the kernel
/// (its address starts the profile scan), with the profile if one was
/// found and checked, without one after [`SCAN_TRIES`] failed scans.
fn engine_after_scan(event: &Event, cpu: &mut dyn Cpu) -> Option<Engine> {
    use vstrace_linux::profile::{runtime, scan};
    let mut slot = lock(&DEFERRED);
    let d = slot.as_mut()?;
    let pc = cpu.regs().rip();
    if event.mechanism.direction() != vstrace_core::Direction::Exit || pc < 0xffff_8000_0000_0000 {
        return None;
    }
    let found = scan::profile_from_memory(cpu.mem(), pc, &scan::ScanLimits::default()).and_then(
        |(prof, _)| {
            let base = runtime::percpu_base(cpu.regs()).ok_or_else(|| {
                scan::ScanError::Unverified("no kernel per-cpu base in the registers".into())
            })?;
            let cur = scan::verify_live(cpu.mem(), &prof, base)?;
            Ok((prof, cur))
        },
    );
    match found {
        Ok((prof, cur)) => {
            if let Err(e) = vstrace_layers::set_linux_profile(&mut d.cfg, &prof) {
                (d.say)(format!("vstrace: warning: no process attribution ({e})"));
            } else {
                (d.say)(format!(
                    "vstrace: kernel BTF and symbols found in guest memory (current task: pid {} {})",
                    cur.pid, cur.comm
                ));
            }
        }
        Err(e) => {
            d.failed += 1;
            if d.failed < SCAN_TRIES {
                return None;
            }
            (d.say)(format!(
                "vstrace: warning: no process attribution: the kernel profile was not found in \
                 guest memory ({e}); pass --kernel"
            ));
        }
    }
    let d = slot.take()?;
    let background = crate::in_background(&d.cfg, VCPUS.load(Ordering::Relaxed));
    let say = d.say;
    let os = match vstrace_layers::layer(&d.cfg) {
        Ok(os) => os,
        Err(e) => {
            say(format!("vstrace: error: {e}"));
            return None;
        }
    };
    let made = match d.recording {
        Some(r) => Engine::with_sink_and_recording(d.cfg, os, d.hooks, d.sink, r),
        None => Engine::with_sink(d.cfg, os, d.hooks, d.sink),
    };
    match made {
        Ok(e) => Some(with_writer(e, background)),
        Err(e) => {
            say(format!("vstrace: error: {e}"));
            None
        }
    }
}

/// Makes the engine for `cfg` (which has no kernel profile) at the first
/// system call return, after a scan of guest memory for the profile; the
/// trace goes to `cfg.output`, opened now. Used by `profile=scan`.
pub(crate) fn defer_for_scan(
    cfg: EngineConfig,
    hooks: Hooks,
    say: Box<dyn Fn(String) + Send>,
) -> Result<(), String> {
    let sink =
        Sink::open(cfg.output.as_deref(), cfg.format, cfg.summary).map_err(|e| e.to_string())?;
    *lock(&DEFERRED) = Some(Deferred {
        cfg,
        sink,
        hooks,
        recording: None,
        failed: 0,
        say,
    });
    STATE.store(ATTACHED, Ordering::SeqCst);
    Ok(())
}

/// The engine made for `profile=scan`, for the exit callback to finish.
pub(crate) fn take_scanned_engine() -> Option<Engine> {
    *lock(&DEFERRED) = None;
    write_session().take()
}

/// QEMU is exiting: the attached client gets the rest of its trace and
/// an End frame; the socket file is removed.
pub(crate) fn at_exit() {
    if !LISTENING.load(Ordering::SeqCst) {
        return;
    }
    STATE.store(DORMANT, Ordering::SeqCst);
    // A detach after this (the client closing on our End frame) must not
    // queue work on vCPUs that QEMU is tearing down.
    crate::lazy::stop();
    unpublish();
    let engine = write_session().take();
    if let Some(e) = engine {
        let stats = e.finish();
        drop(e);
        if let Some(c) = lock(&CLIENT).as_ref() {
            let line = format!("the VM exited; {} records", stats.records);
            let _ = wire::write_frame(&mut *lock(c), Kind::End, line.as_bytes());
        }
    }
    if let Some(p) = SOCKET_PATH.get() {
        let _ = fs::remove_file(p);
    }
}

/// A connected client.
enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
        })
    }

    fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Unix(s) => {
                s.set_read_timeout(read)?;
                s.set_write_timeout(write)
            }
            Stream::Tcp(s) => {
                s.set_read_timeout(read)?;
                s.set_write_timeout(write)
            }
        }
    }

    fn shutdown(&self) {
        let _ = match self {
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Both),
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
        }
    }
}

/// The engine's sink output (Output frames) or trace file (Recording
/// frames) on the client's stream.
struct FrameWriter(Arc<Mutex<Stream>>, Kind);

impl Write for FrameWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(OUTPUT_CHUNK);
        wire::write_frame(&mut *lock(&self.0), self.1, &buf[..n])?;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

impl Listener {
    fn accept(&self) -> io::Result<Stream> {
        Ok(match self {
            Listener::Unix(l) => Stream::Unix(l.accept()?.0),
            Listener::Tcp(l) => Stream::Tcp(l.accept()?.0),
        })
    }
}

/// Creates the Unix socket at `path` with mode 0600: bound in a private
/// (0700) directory next to it, made 0600, then renamed into place, so
/// no one can connect before the mode is set. A stale socket (nothing
/// listening) is replaced; any other file is left alone.
fn bind_unix(path: &Path) -> Result<UnixListener, String> {
    let shown = path.display();
    if let Ok(m) = fs::symlink_metadata(path) {
        if !m.file_type().is_socket() {
            return Err(format!("listen=unix:{shown}: exists and is not a socket"));
        }
        if UnixStream::connect(path).is_ok() {
            return Err(format!(
                "listen=unix:{shown}: another process listens there"
            ));
        }
        fs::remove_file(path).map_err(|e| format!("listen=unix:{shown}: {e}"))?;
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| format!("listen=unix:{shown}: not a file path"))?;
    let dir = parent.join(format!(
        ".{}.vstrace-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let err = |e: io::Error| format!("listen=unix:{shown}: {e}");
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(err)?;
    let tmp = dir.join("s");
    let r = (|| {
        let l = UnixListener::bind(&tmp)?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))?;
        fs::rename(&tmp, path)?;
        Ok(l)
    })();
    let _ = fs::remove_file(&tmp);
    let _ = fs::remove_dir(&dir);
    r.map_err(err)
}

/// Starts listening on `endpoint` (`unix:PATH` or `tcp:HOST:PORT`); the
/// plugin is dormant from then on. `hooks` builds each session's hooks.
pub(crate) fn start(
    endpoint: &str,
    allow_remote: bool,
    hooks: fn() -> Hooks,
) -> Result<(), String> {
    let ep = Endpoint::parse(endpoint).map_err(|e| format!("listen={e}"))?;
    let listener = match ep
        .tcp_addrs(allow_remote)
        .map_err(|e| format!("listen=tcp:{e}"))?
    {
        None => {
            let Endpoint::Unix(p) = &ep else {
                return Err(format!("listen={endpoint}: not a Unix socket"));
            };
            let l = bind_unix(p)?;
            let _ = SOCKET_PATH.set(p.clone());
            Listener::Unix(l)
        }
        Some(addrs) => Listener::Tcp(
            TcpListener::bind(&addrs[..]).map_err(|e| format!("listen={endpoint}: {e}"))?,
        ),
    };
    STATE.store(DORMANT, Ordering::SeqCst);
    LISTENING.store(true, Ordering::SeqCst);
    std::thread::Builder::new()
        .name("vstrace-listen".into())
        .spawn(move || accept_loop(listener, hooks))
        .map_err(|e| format!("listen={endpoint}: starting the listener: {e}"))?;
    Ok(())
}

fn accept_loop(listener: Listener, hooks: fn() -> Hooks) {
    loop {
        let stream = match listener.accept() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("vstrace-plugin: accepting a client: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if !claim() {
            refuse(
                stream,
                "another vstrace is attached to this VM; one client at a time (detach it first)",
            );
            continue;
        }
        let spawned = std::thread::Builder::new()
            .name("vstrace-session".into())
            .spawn(move || {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    session(stream, hooks)
                }));
                if let Err(e) | Ok(Err(e)) = r.map_err(|_| "internal error".to_string()) {
                    eprintln!("vstrace-plugin: client session: {e}");
                }
                STATE.store(DORMANT, Ordering::SeqCst);
                crate::lazy::translate(false);
                unpublish();
                *write_session() = None;
                *lock(&DEFERRED) = None;
                *lock(&CLIENT) = None;
                BUSY.store(FREE, Ordering::SeqCst);
            });
        if spawned.is_err() {
            BUSY.store(FREE, Ordering::SeqCst);
        }
    }
}

/// Tells a client why it cannot attach, and closes.
fn refuse(mut stream: Stream, why: &str) {
    let _ = stream.set_timeouts(None, Some(Duration::from_secs(1)));
    let _ = wire::write_frame(&mut stream, Kind::Refused, why.as_bytes());
    stream.shutdown();
}

/// The engine a client's configuration asks for, writing to `out`.
fn engine_for(
    payload: &[u8],
    out: Arc<Mutex<Stream>>,
    hooks: fn() -> Hooks,
) -> Result<Option<Engine>, String> {
    let mut cfg: EngineConfig =
        serde_json::from_slice(payload).map_err(|e| format!("bad configuration: {e}"))?;
    // The output is the socket, whatever the client's file says.
    cfg.output = None;
    cfg.start_wall_clock();
    let os = vstrace_layers::layer(&cfg).map_err(|e| format!("bad configuration: {e}"))?;
    if cfg.os == "linux" {
        // The signal probe, for a client's profile that has one (the
        // code cache is flushed after this: blocks translated again get
        // it). Set once: the VM's kernel does not change between clients.
        if let Ok(Some(p)) = vstrace_layers::linux_profile(&cfg) {
            crate::sigprobe::install(Some(&p), false);
        }
    }
    // strace's output options (timestamps, -T, -e raw=/signal=...) apply
    // to the lines sent as they do to a file.
    let (raw, signals) = vstrace_engine::display_sets(&cfg, os.as_ref())
        .map_err(|e| format!("bad configuration: {e}"))?;
    let sink = Sink::from_writer(
        Box::new(FrameWriter(out.clone(), Kind::Output)),
        cfg.format,
        cfg.summary,
    )
    .with_options(cfg.display.clone(), raw, signals);
    // The client's `--hooks FILE.py` run here, in the plugin, as in `run`.
    let mut hooks = hooks();
    vstrace_python::add_hooks(&mut hooks, &cfg.python_hooks, vstrace_python::Mode::Live)
        .map_err(|e| format!("hooks: {e}"))?;
    // The client writes the trace file; its path here means nothing.
    let recording = cfg
        .record
        .is_some()
        .then(|| Box::new(FrameWriter(out.clone(), Kind::Recording)) as Box<dyn Write + Send>);
    if cfg.os == "linux" && cfg.linux_profile.is_none() {
        // Checked now (filters, rules), made at the first return.
        Engine::validate(&cfg, os).map_err(|e| format!("bad configuration: {e}"))?;
        let say = move |line: String| {
            let _ = wire::write_frame(&mut *lock(&out), Kind::Message, line.as_bytes());
        };
        *lock(&DEFERRED) = Some(Deferred {
            cfg,
            sink,
            hooks,
            recording,
            failed: 0,
            say: Box::new(say),
        });
        return Ok(None);
    }
    let background = crate::in_background(&cfg, VCPUS.load(Ordering::Relaxed));
    match recording {
        Some(r) => Engine::with_sink_and_recording(cfg, os, hooks, sink, r),
        None => Engine::with_sink(cfg, os, hooks, sink),
    }
    .map(|e| Some(with_writer(e, background)))
    .map_err(|e| format!("bad configuration: {e}"))
}

/// One client, from its greeting to its detach.
fn session(stream: Stream, hooks: fn() -> Hooks) -> Result<(), String> {
    stream
        .set_timeouts(Some(CONFIG_TIMEOUT), Some(WRITE_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut reader = stream.try_clone().map_err(|e| e.to_string())?;
    let shared = Arc::new(Mutex::new(stream));
    let send = |kind: Kind, text: &str| {
        wire::write_frame(&mut *lock(&shared), kind, text.as_bytes()).map_err(|e| e.to_string())
    };
    send(
        Kind::Hello,
        std::str::from_utf8(wire::HELLO).unwrap_or_default(),
    )?;
    let first = wire::read_frame(&mut reader, wire::MAX_FROM_CLIENT);
    let cfg = match first {
        Ok(f) if f.kind == Kind::Config => f.payload,
        Ok(f) => {
            let why = format!("expected a configuration, got a {:?} frame", f.kind);
            let _ = send(Kind::Refused, &why);
            return Err(why);
        }
        Err(e) => {
            let _ = send(Kind::Refused, &e.to_string());
            return Err(e.to_string());
        }
    };
    let engine = match engine_for(&cfg, shared.clone(), hooks) {
        Ok(e) => e,
        Err(why) => {
            let _ = send(Kind::Refused, &why);
            return Err(why);
        }
    };
    *lock(&CLIENT) = Some(shared.clone());
    if let Some(e) = &engine {
        publish(e);
    }
    *write_session() = engine;
    STATE.store(ATTACHED, Ordering::SeqCst);
    // Traps are instrumented from now on (the code cache is flushed):
    // the client hears it is attached when tracing has started.
    if !crate::lazy::translate(true) {
        eprintln!("vstrace-plugin: turning trap instrumentation on took over 5 s");
    }
    send(Kind::Attached, "")?;
    let _ = lock(&shared).set_timeouts(None, Some(WRITE_TIMEOUT));

    // Until the client detaches or goes away: any other frame ends it too.
    let why = match wire::read_frame(&mut reader, wire::MAX_FROM_CLIENT) {
        Ok(f) if f.kind == Kind::Detach => None,
        Ok(f) => Some(format!("unexpected {:?} frame from the client", f.kind)),
        Err(WireError::Closed) => Some("the client went away".to_string()),
        Err(e) => Some(e.to_string()),
    };
    BUSY.store(DETACHING, Ordering::SeqCst);
    let (stats, pending) = detach();
    let end = format!(
        "detached after {} events, {} records{}",
        stats.events,
        stats.records,
        if pending {
            "; an injected call had not returned after 5 s"
        } else {
            ""
        }
    );
    let _ = send(Kind::End, &end);
    lock(&shared).shutdown();
    match why {
        Some(w) => Err(w),
        None => Ok(()),
    }
}

/// Stops tracing once the modifications in flight have completed (at
/// most [`DRAIN_LIMIT`]); returns the engine's statistics and whether a
/// modification was still pending.
fn detach() -> (vstrace_engine::EngineStats, bool) {
    let start = Instant::now();
    let mut pending = true;
    while start.elapsed() < DRAIN_LIMIT {
        let busy = read_session()
            .as_ref()
            .is_some_and(|e| e.awaits_injected_returns());
        if !busy {
            pending = false;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    STATE.store(DORMANT, Ordering::SeqCst);
    // Back to no instrumentation at all.
    crate::lazy::translate(false);
    unpublish();
    *lock(&DEFERRED) = None;
    let engine = write_session().take();
    match engine {
        // The VM runs on: the calls in flight end `<detached ...>`.
        Some(e) => (e.finish_detached(), pending),
        None => (Default::default(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_client_waits_for_a_detach_and_is_refused_by_an_attached_one() {
        // Detaching: the new client gets the session once it ends.
        BUSY.store(DETACHING, Ordering::SeqCst);
        let t = std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(100));
            BUSY.store(FREE, Ordering::SeqCst);
        });
        assert!(claim());
        assert_eq!(BUSY.load(Ordering::SeqCst), HELD);
        t.join().unwrap();
        // Held: refused at once.
        let start = Instant::now();
        assert!(!claim());
        assert!(start.elapsed() < Duration::from_secs(1));
        BUSY.store(FREE, Ordering::SeqCst);
    }

    #[test]
    fn unix_socket_is_private_and_not_clobbering() {
        let dir = std::env::temp_dir().join(format!("vstrace-listen-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("v.sock");
        let l = bind_unix(&p).unwrap();
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // In use: refused.
        assert!(bind_unix(&p).unwrap_err().contains("another process"));
        drop(l);
        // Stale: replaced.
        assert!(bind_unix(&p).is_ok());
        // Not a socket: left alone.
        let f = dir.join("file");
        fs::write(&f, b"x").unwrap();
        assert!(bind_unix(&f).unwrap_err().contains("not a socket"));
        assert_eq!(fs::read(&f).unwrap(), b"x");
        // Nothing left behind but the sockets.
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        let _ = fs::remove_dir_all(&dir);
    }
}
