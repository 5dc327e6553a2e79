//! The wire between a dormant plugin (`-plugin ...,listen=unix:PATH`) and
//! `vstrace attach --plugin unix:PATH`: length-prefixed frames, each a
//! kind byte, a little-endian `u32` length and that many bytes.
//!
//! Either side is hostile input for the other: a frame longer than the
//! reader's bound, an unknown kind or a stream cut inside a frame is an
//! error (one line), never a panic or an unbounded allocation.
//!
//! A session: the plugin greets with [`Kind::Hello`] (or refuses with
//! [`Kind::Refused`] when a client is attached already); the client sends
//! [`Kind::Config`] (an engine configuration as JSON); the plugin answers
//! [`Kind::Attached`] or [`Kind::Refused`], then streams [`Kind::Output`]
//! (trace bytes, whole lines), [`Kind::Recording`] (the `--record` trace
//! file's bytes) and [`Kind::Message`] frames. The client
//! ends it with [`Kind::Detach`] (or by going away); the plugin completes
//! the modifications in flight, flushes and sends [`Kind::End`].

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

/// The greeting's payload: the protocol and its version.
pub const HELLO: &[u8] = b"vstrace-plugin 1";

/// Longest frame a client accepts from the plugin (trace output comes in
/// buffer-sized pieces).
pub const MAX_FROM_PLUGIN: u32 = 1 << 24;

/// Longest frame the plugin accepts from a client (a configuration with a
/// kernel profile is a few hundred KiB).
pub const MAX_FROM_CLIENT: u32 = 1 << 24;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Plugin to client, first: [`HELLO`].
    Hello,
    /// Client to plugin: the engine configuration (JSON).
    Config,
    /// Plugin to client: tracing has started.
    Attached,
    /// Plugin to client: trace output (text, JSON Lines or the summary).
    Output,
    /// Plugin to client: a line for the user (warnings).
    Message,
    /// Plugin to client: bytes of the `--record` trace file.
    Recording,
    /// Client to plugin: stop tracing.
    Detach,
    /// Plugin to client: detached; the payload is a one-line summary.
    End,
    /// Plugin to client: the session is refused or failed (one line).
    Refused,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Hello => b'H',
            Kind::Config => b'C',
            Kind::Attached => b'A',
            Kind::Output => b'O',
            Kind::Message => b'M',
            Kind::Recording => b'R',
            Kind::Detach => b'D',
            Kind::End => b'E',
            Kind::Refused => b'X',
        }
    }

    fn from_byte(b: u8) -> Option<Kind> {
        Some(match b {
            b'H' => Kind::Hello,
            b'C' => Kind::Config,
            b'A' => Kind::Attached,
            b'O' => Kind::Output,
            b'M' => Kind::Message,
            b'R' => Kind::Recording,
            b'D' => Kind::Detach,
            b'E' => Kind::End,
            b'X' => Kind::Refused,
            _ => return None,
        })
    }
}

/// A bad frame or a broken stream.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The peer closed the stream between frames.
    #[error("the peer closed the connection")]
    Closed,
    /// The stream ended, or failed, inside a frame.
    #[error("reading a frame: {0}")]
    Io(#[from] io::Error),
    /// A kind byte this protocol does not have.
    #[error("not a vstrace plugin frame (kind byte {0:#04x})")]
    UnknownKind(u8),
    /// A length over the reader's bound.
    #[error("frame of {len} bytes is over the {max}-byte limit")]
    TooLong {
        /// The length the frame claims.
        len: u32,
        /// The reader's bound.
        max: u32,
    },
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// What it carries.
    pub kind: Kind,
    /// Its bytes.
    pub payload: Vec<u8>,
}

impl Frame {
    /// The payload as text (lossy), for messages and errors.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload)
            .trim_end()
            .to_string()
    }
}

/// Writes one frame (header and payload in one write, so frames written
/// under one lock never interleave).
pub fn write_frame(w: &mut impl Write, kind: Kind, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too long"))?;
    let mut buf = Vec::with_capacity(5 + payload.len());
    buf.push(kind.byte());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(payload);
    w.write_all(&buf)?;
    w.flush()
}

/// Reads one frame of at most `max` bytes.
pub fn read_frame(r: &mut impl Read, max: u32) -> Result<Frame, WireError> {
    // A clean end only between frames: before the kind byte.
    let mut kind = [0u8; 1];
    loop {
        match r.read(&mut kind) {
            Ok(0) => return Err(WireError::Closed),
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let kind = Kind::from_byte(kind[0]).ok_or(WireError::UnknownKind(kind[0]))?;
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len);
    if len > max {
        return Err(WireError::TooLong { len, max });
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload)?;
    Ok(Frame { kind, payload })
}

/// Where a dormant plugin listens: `unix:PATH` or `tcp:HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix socket path.
    Unix(PathBuf),
    /// A TCP address (`HOST:PORT`, `[::1]:PORT`).
    Tcp(String),
}

/// An endpoint that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Neither `unix:` nor `tcp:`.
    #[error("{0:?}: expected unix:PATH or tcp:HOST:PORT")]
    Syntax(String),
    /// A TCP address that does not resolve.
    #[error("{0:?}: not a HOST:PORT address ({1})")]
    Address(String, String),
    /// A non-loopback TCP address without `allow-remote=on`.
    #[error(
        "{0}: not a loopback address; anyone who can reach it could trace and modify the \
         guest: add allow-remote=on to listen there anyway"
    )]
    Remote(String),
}

impl Endpoint {
    /// Parses `unix:PATH` or `tcp:HOST:PORT`.
    pub fn parse(s: &str) -> Result<Endpoint, EndpointError> {
        match s.split_once(':') {
            Some(("unix", p)) if !p.is_empty() => Ok(Endpoint::Unix(PathBuf::from(p))),
            Some(("tcp", a)) if !a.is_empty() => Ok(Endpoint::Tcp(a.to_string())),
            _ => Err(EndpointError::Syntax(s.to_string())),
        }
    }

    /// The TCP addresses to listen on, all loopback unless
    /// `allow_remote` (None for a Unix socket).
    pub fn tcp_addrs(&self, allow_remote: bool) -> Result<Option<Vec<SocketAddr>>, EndpointError> {
        let Endpoint::Tcp(a) = self else {
            return Ok(None);
        };
        let addrs: Vec<SocketAddr> = a
            .to_socket_addrs()
            .map_err(|e| EndpointError::Address(a.clone(), e.to_string()))?
            .collect();
        if addrs.is_empty() {
            return Err(EndpointError::Address(a.clone(), "no address".into()));
        }
        if !allow_remote {
            if let Some(r) = addrs.iter().find(|s| !is_loopback(s.ip())) {
                return Err(EndpointError::Remote(r.to_string()));
            }
        }
        Ok(Some(addrs))
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => v.is_loopback(),
        IpAddr::V6(v) => v.is_loopback() || v.to_ipv4_mapped().is_some_and(|m| m.is_loopback()),
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
            Endpoint::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buf = Vec::new();
        write_frame(&mut buf, Kind::Config, b"{}").unwrap();
        write_frame(&mut buf, Kind::Detach, b"").unwrap();
        let mut r = &buf[..];
        let f = read_frame(&mut r, 16).unwrap();
        assert_eq!((f.kind, f.payload.as_slice()), (Kind::Config, &b"{}"[..]));
        assert_eq!(read_frame(&mut r, 16).unwrap().kind, Kind::Detach);
        assert!(matches!(read_frame(&mut r, 16), Err(WireError::Closed)));
    }

    #[test]
    fn bad_frames_are_errors() {
        // Unknown kind (a gdbstub's '+' or '$').
        assert!(matches!(
            read_frame(&mut &b"$qSupported"[..], 16),
            Err(WireError::UnknownKind(b'$'))
        ));
        // Over the bound: refused before allocating.
        let huge = [b'C', 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_frame(&mut &huge[..], 1 << 20),
            Err(WireError::TooLong { .. })
        ));
        // Cut inside the header or the payload.
        assert!(matches!(
            read_frame(&mut &b"C\x05\x00"[..], 16),
            Err(WireError::Io(_))
        ));
        assert!(matches!(
            read_frame(&mut &b"C\x05\x00\x00\x00ab"[..], 16),
            Err(WireError::Io(_))
        ));
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::parse("unix:/run/v.sock"),
            Ok(Endpoint::Unix("/run/v.sock".into()))
        );
        assert!(Endpoint::parse("unix:").is_err());
        assert!(Endpoint::parse("/run/v.sock").is_err());
        let local = Endpoint::parse("tcp:127.0.0.1:4444").unwrap();
        assert_eq!(local.tcp_addrs(false).unwrap().unwrap().len(), 1);
        assert!(Endpoint::parse("tcp:[::1]:4444")
            .unwrap()
            .tcp_addrs(false)
            .is_ok());
        let remote = Endpoint::parse("tcp:0.0.0.0:4444").unwrap();
        assert!(matches!(
            remote.tcp_addrs(false),
            Err(EndpointError::Remote(_))
        ));
        assert!(remote.tcp_addrs(true).is_ok());
        assert_eq!(Endpoint::Unix("/s".into()).tcp_addrs(false).unwrap(), None);
    }
}
