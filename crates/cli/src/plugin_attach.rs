//! `vstrace attach --plugin unix:PATH`: the client of a dormant plugin
//! (`-plugin libvstrace_plugin.so,listen=unix:PATH`). It sends the engine
//! configuration, writes the trace the plugin streams back (to stderr or
//! `-o`), and detaches on Ctrl-C or `--duration`: the plugin completes
//! the modifications in flight, flushes, and goes dormant again. The
//! engine runs inside QEMU, at plugin speed; this process only writes.

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use vstrace_launch::wire::{self, Endpoint, Kind, WireError};

use crate::trace_args::TraceArgs;

/// How long the plugin has to greet and to accept the configuration.
const HANDSHAKE: Duration = Duration::from_secs(30);
/// How long a detach may take (the plugin waits at most 5 s for injected
/// calls to return, then flushes).
const DETACH_LIMIT: Duration = Duration::from_secs(60);

/// A connected plugin socket.
trait Conn: std::io::Read + Write + Send {
    fn clone_box(&self) -> std::io::Result<Box<dyn Conn>>;
    fn read_timeout(&self, t: Option<Duration>) -> std::io::Result<()>;
}

impl Conn for UnixStream {
    fn clone_box(&self) -> std::io::Result<Box<dyn Conn>> {
        Ok(Box::new(self.try_clone()?))
    }
    fn read_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        self.set_read_timeout(t)
    }
}

impl Conn for TcpStream {
    fn clone_box(&self) -> std::io::Result<Box<dyn Conn>> {
        Ok(Box::new(self.try_clone()?))
    }
    fn read_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        self.set_read_timeout(t)
    }
}

fn connect(ep: &Endpoint) -> Result<Box<dyn Conn>> {
    let hint = "is QEMU running with -plugin .../libvstrace_plugin.so,listen=...?";
    Ok(match ep {
        Endpoint::Unix(p) => Box::new(
            UnixStream::connect(p).with_context(|| format!("connecting to {ep} ({hint})"))?,
        ),
        Endpoint::Tcp(a) => Box::new(
            TcpStream::connect(a.as_str())
                .with_context(|| format!("connecting to {ep} ({hint})"))?,
        ),
    })
}

/// What the reader thread saw end the session.
enum Ended {
    /// The plugin's End frame (its one-line summary).
    Detached(String),
    /// The plugin refused or failed (its one-line reason).
    Refused(String),
    /// The connection broke without an End: QEMU went away.
    Lost(String),
    /// Writing the trace here failed.
    Output(std::io::Error),
}

/// Attaches to the plugin at `endpoint`; see the module doc.
pub fn attach(
    endpoint: &str,
    trace: &TraceArgs,
    kernel: Option<&Path>,
    duration: Option<Duration>,
    stop: &AtomicBool,
) -> Result<u8> {
    let ep = Endpoint::parse(endpoint).map_err(|e| anyhow::anyhow!("--plugin {e}"))?;
    // engine_config checks that the --record file can be written; this
    // process writes it, from the plugin's Recording frames.
    let mut cfg = trace.engine_config(None)?;
    let mut recording: Option<Box<dyn Write + Send>> = match &cfg.record {
        Some(p) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("--record {p}"))?,
        ))),
        None => None,
    };
    // --linux-profile (in the configuration already) takes BTF's place.
    if let (Some(k), true) = (kernel, cfg.linux_profile.is_none()) {
        let vmlinux = vstrace_launch::extract_vmlinux_cached(k)
            .with_context(|| format!("--kernel {}", k.display()))?;
        let elf = std::fs::read(&vmlinux)?;
        let mut p = crate::run::profile_from_vmlinux(&elf)?;
        crate::profile::add_system_map(&mut p, k, &elf);
        vstrace_layers::set_linux_profile(&mut cfg, &p)?;
    }
    // Without --kernel the plugin finds the profile in guest memory.
    let os = vstrace_layers::layer(&cfg).context("invalid tracing options")?;
    vstrace_engine::Engine::validate(&cfg, os).context("invalid tracing options")?;
    let mut out: Box<dyn Write + Send> = match trace.output_path()? {
        Some(p) => Box::new(
            std::fs::File::create(&p)
                .with_context(|| format!("cannot write the trace to {}", p.display()))?,
        ),
        None => Box::new(std::io::stderr()),
    };

    let mut conn = connect(&ep)?;
    conn.read_timeout(Some(HANDSHAKE))?;
    let bad = |e: WireError| anyhow::anyhow!("{ep}: {e}");
    let hello = wire::read_frame(&mut conn, wire::MAX_FROM_PLUGIN).map_err(bad)?;
    match hello.kind {
        Kind::Hello if hello.payload == wire::HELLO => {}
        Kind::Refused => bail!("{ep} refused: {}", hello.text()),
        _ => bail!(
            "{ep}: not a vstrace plugin of this version ({:?})",
            hello.text()
        ),
    }
    wire::write_frame(&mut conn, Kind::Config, &serde_json::to_vec(&cfg)?)
        .with_context(|| format!("sending the configuration to {ep}"))?;
    // The recording's header may come before the acknowledgement.
    loop {
        let ack = wire::read_frame(&mut conn, wire::MAX_FROM_PLUGIN).map_err(bad)?;
        match (ack.kind, recording.as_mut()) {
            (Kind::Attached, _) => break,
            (Kind::Recording, Some(r)) => {
                r.write_all(&ack.payload).context("writing the recording")?
            }
            (Kind::Message, _) => say!("{}", ack.text()),
            (Kind::Refused, _) => bail!("{ep} refused: {}", ack.text()),
            (k, _) => bail!("{ep}: unexpected {k:?} frame"),
        }
    }
    conn.read_timeout(None)?;
    let mut writer = conn.clone_box()?;

    let (tx, rx) = mpsc::channel();
    let detaching = Arc::new(AtomicBool::new(false));
    let reader = {
        let detaching = detaching.clone();
        std::thread::spawn(move || {
            let end = loop {
                match wire::read_frame(&mut conn, wire::MAX_FROM_PLUGIN) {
                    Ok(f) => match f.kind {
                        Kind::Output => {
                            if let Err(e) = out.write_all(&f.payload) {
                                break Ended::Output(e);
                            }
                        }
                        Kind::Message => say!("{}", f.text()),
                        Kind::Recording => {
                            let w = recording.as_mut().map(|r| r.write_all(&f.payload));
                            if let Some(Err(e)) = w {
                                break Ended::Output(e);
                            }
                        }
                        Kind::End => break Ended::Detached(f.text()),
                        Kind::Refused => break Ended::Refused(f.text()),
                        k => break Ended::Refused(format!("unexpected {k:?} frame")),
                    },
                    Err(WireError::Closed) if detaching.load(Ordering::SeqCst) => {
                        break Ended::Lost("the plugin closed the connection".into())
                    }
                    Err(e) => break Ended::Lost(e.to_string()),
                }
            };
            let _ = out.flush();
            let end = match recording.as_mut().map(|r| r.flush()) {
                Some(Err(e)) => Ended::Output(e),
                _ => end,
            };
            let _ = tx.send(end);
        })
    };

    let start = Instant::now();
    let mut interrupted = false;
    let ended = loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(e) => break Some(e),
            Err(mpsc::RecvTimeoutError::Disconnected) => break None,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        let timed_out = duration.is_some_and(|d| start.elapsed() >= d);
        if stop.load(Ordering::SeqCst) || timed_out {
            interrupted = stop.load(Ordering::SeqCst);
            detaching.store(true, Ordering::SeqCst);
            let _ = wire::write_frame(&mut writer, Kind::Detach, b"");
            break rx.recv_timeout(DETACH_LIMIT).ok();
        }
    };
    if ended.is_some() {
        let _ = reader.join();
    }
    match ended {
        Some(Ended::Detached(_)) if interrupted => Ok(crate::exit::INTERRUPTED),
        Some(Ended::Detached(text)) => {
            if text.starts_with("the VM exited") {
                say!("vstrace: {text}");
            }
            Ok(0)
        }
        Some(Ended::Refused(text)) => bail!("{ep}: {text}"),
        Some(Ended::Lost(why)) => {
            say!("vstrace: error: the VM went away while traced ({why}); the trace written so far is kept");
            Ok(crate::exit::QEMU_DIED)
        }
        Some(Ended::Output(e)) => {
            let _ = wire::write_frame(&mut writer, Kind::Detach, b"");
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(crate::exit::OUTPUT_CLOSED);
            }
            say!("vstrace: error: writing the trace failed: {e}");
            Ok(crate::exit::OUTPUT_FAILED)
        }
        None => bail!("{ep}: the plugin did not confirm the detach within {DETACH_LIMIT:?}"),
    }
}
