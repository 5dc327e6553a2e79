//! A GDB remote serial protocol client, written for talking to QEMU's
//! gdbstub: packet framing (checksums, escapes, run-length decoding), the
//! no-ack mode, the target description (`qXfer:features:read`), registers
//! (`g`/`G`/`p`/`P`), memory (`m`/`M`), breakpoints (`Z0`/`Z1`), execution
//! control and stop replies, monitor commands (`qRcmd`) and QEMU's own
//! `qqemu.*` queries.
//!
//! The stub is trusted no more than the guest: every length it sends is
//! bounded and a malformed reply is an error, never a panic.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// Largest packet payload we accept from the stub (QEMU's own limit is
/// 128 KiB for `qXfer` and 4 KiB for most replies).
const MAX_PACKET: usize = 1 << 20;
/// How long a request waits for its reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How many files a target description may include (a loop guard).
const MAX_XML_FILES: usize = 32;

/// Errors talking to a gdb stub.
#[derive(Debug, thiserror::Error)]
pub enum RspError {
    /// Reading or writing the socket failed.
    #[error("gdb connection: {0}")]
    Io(#[from] io::Error),
    /// The stub closed the connection.
    #[error("gdb stub closed the connection")]
    Closed,
    /// No reply in the time allowed.
    #[error("gdb stub did not answer within {0:?}")]
    Timeout(Duration),
    /// A malformed or unexpected packet.
    #[error("gdb protocol: {0}")]
    Protocol(String),
    /// The stub answered a request with an error.
    #[error("gdb stub refused {request:?}: error {code:#04x}")]
    Refused {
        /// The request, as sent.
        request: String,
        /// The stub's `Exx` error number.
        code: u8,
    },
    /// The stub answered with an empty packet: not supported.
    #[error("gdb stub does not support {0:?}")]
    Unsupported(String),
    /// The address given is not HOST:PORT or unix:PATH.
    #[error("bad gdb address {0:?}: expected HOST:PORT or unix:PATH")]
    BadAddress(String),
}

/// A byte stream to a stub: TCP or Unix socket (or a socketpair in tests).
pub trait Conn: Read + Write + Send {
    /// Read timeout for the next reads (`None`: block).
    fn set_timeout(&self, t: Option<Duration>) -> io::Result<()>;
}

impl Conn for TcpStream {
    fn set_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(t)
    }
}

impl Conn for UnixStream {
    fn set_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(t)
    }
}

/// Connects to `HOST:PORT`, `tcp:HOST:PORT`, `tcp::PORT` (localhost) or
/// `unix:PATH` (QEMU's `-gdb` syntax; trailing `,server,...` options are
/// ignored).
pub fn connect(addr: &str) -> Result<Box<dyn Conn>, RspError> {
    let bad = || RspError::BadAddress(addr.to_string());
    let main = addr.split(',').next().unwrap_or("");
    if let Some(path) = main.strip_prefix("unix:") {
        if path.is_empty() {
            return Err(bad());
        }
        return Ok(Box::new(UnixStream::connect(path)?));
    }
    let hp = main.strip_prefix("tcp:").unwrap_or(main);
    let (host, port) = hp.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    let s = TcpStream::connect((host, port))?;
    // Every event is a few small request/reply exchanges: no Nagle delay.
    s.set_nodelay(true)?;
    Ok(Box::new(s))
}

/// The `$...#cc` frame for `payload`, with `$ # } *` escaped.
pub fn encode_packet(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.push(b'$');
    let mut sum: u8 = 0;
    for &b in payload {
        if matches!(b, b'$' | b'#' | b'}' | b'*') {
            for e in [b'}', b ^ 0x20] {
                out.push(e);
                sum = sum.wrapping_add(e);
            }
        } else {
            out.push(b);
            sum = sum.wrapping_add(b);
        }
    }
    out.push(b'#');
    out.extend_from_slice(format!("{sum:02x}").as_bytes());
    out
}

/// Decodes a packet body as sent on the wire (between `$` and `#`):
/// `}x` is `x ^ 0x20`, `c*n` repeats `c` `n - 29` more times.
pub fn decode_body(raw: &[u8]) -> Result<Vec<u8>, RspError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'}' => {
                let b = *raw
                    .get(i + 1)
                    .ok_or_else(|| RspError::Protocol("escape at end of packet".into()))?;
                out.push(b ^ 0x20);
                i += 2;
            }
            b'*' => {
                let n = *raw
                    .get(i + 1)
                    .ok_or_else(|| RspError::Protocol("run length at end of packet".into()))?;
                let last = *out.last().ok_or_else(|| {
                    RspError::Protocol("run length with nothing to repeat".into())
                })?;
                let count = (n as usize)
                    .checked_sub(29)
                    .ok_or_else(|| RspError::Protocol(format!("bad run length {n:#x}")))?;
                if out.len() + count > MAX_PACKET {
                    return Err(RspError::Protocol("packet too long".into()));
                }
                out.extend(std::iter::repeat_n(last, count));
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex; `xx` (a register the stub cannot read) decodes as 0.
pub fn from_hex(s: &[u8]) -> Result<Vec<u8>, RspError> {
    if s.len() % 2 != 0 {
        return Err(RspError::Protocol("odd-length hex".into()));
    }
    s.chunks(2)
        .map(|p| match (p[0], p[1]) {
            (b'x', b'x') => Ok(0),
            (a, b) => match (nibble(a), nibble(b)) {
                (Some(h), Some(l)) => Ok(h << 4 | l),
                _ => Err(RspError::Protocol(format!(
                    "bad hex {:?}",
                    String::from_utf8_lossy(p)
                ))),
            },
        })
        .collect()
}

fn parse_hex_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

/// Why the target stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopKind {
    /// `S`/`T`: stopped with a signal (5 = SIGTRAP: breakpoint or step,
    /// 2 = SIGINT: interrupted).
    Signal(u8),
    /// `W`: the target exited with this status (QEMU quit).
    Exited(u8),
    /// `X`: the target was killed with this signal.
    Terminated(u8),
}

/// A parsed stop reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopReply {
    /// Why the target stopped.
    pub kind: StopKind,
    /// `thread:` value (QEMU: vCPU index + 1; `pP.T` with multiprocess).
    pub thread: Option<u64>,
    /// The other `key:value` pairs (`swbreak`, `hwbreak`, `watch`...).
    pub info: Vec<(String, String)>,
}

impl StopReply {
    /// Parses `S05`, `T05thread:01;swbreak:;`, `W00`, `X09`.
    pub fn parse(p: &[u8]) -> Result<StopReply, RspError> {
        let bad = || RspError::Protocol(format!("bad stop reply {:?}", String::from_utf8_lossy(p)));
        let code = p.get(1..3).ok_or_else(bad)?;
        let code = from_hex(code)?.first().copied().ok_or_else(bad)?;
        let kind = match p[0] {
            b'S' | b'T' => StopKind::Signal(code),
            b'W' => StopKind::Exited(code),
            b'X' => StopKind::Terminated(code),
            _ => return Err(bad()),
        };
        let mut thread = None;
        let mut info = Vec::new();
        if p[0] == b'T' {
            let rest = String::from_utf8_lossy(&p[3..]);
            for item in rest.split(';').filter(|s| !s.is_empty()) {
                let (k, v) = item.split_once(':').unwrap_or((item, ""));
                if k == "thread" {
                    // `pPID.TID` with multiprocess extensions, else `TID`.
                    let tid = v.rsplit('.').next().unwrap_or(v);
                    thread = parse_hex_u64(tid);
                } else {
                    info.push((k.to_string(), v.to_string()));
                }
            }
        }
        Ok(StopReply { kind, thread, info })
    }

    /// The vCPU index for QEMU's thread numbering (thread ids start at 1).
    pub fn vcpu(&self) -> u32 {
        self.thread
            .and_then(|t| t.checked_sub(1))
            .map(|t| t.min(u32::MAX as u64) as u32)
            .unwrap_or(0)
    }
}

/// Breakpoint kinds (`Z0` software, `Z1` hardware, `Z2` write watchpoint
/// of 8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BpKind {
    /// `Z0`: a software breakpoint (under KVM an int3 written into guest
    /// memory).
    Software,
    /// `Z1`: a hardware breakpoint (under KVM one of the four debug
    /// registers).
    Hardware,
    /// `Z2`: stops after a write to 8 bytes at the address.
    WriteWatch,
}

impl BpKind {
    fn code(self) -> u8 {
        match self {
            BpKind::Software => 0,
            BpKind::Hardware => 1,
            BpKind::WriteWatch => 2,
        }
    }
    /// The `kind` / length field of the packet.
    fn len(self) -> u8 {
        match self {
            BpKind::Software | BpKind::Hardware => 1,
            BpKind::WriteWatch => 8,
        }
    }
}

/// One register of the target description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegInfo {
    /// Its name (`rax`, `eflags`, `fs_base`...).
    pub name: String,
    /// Its width in bits.
    pub bitsize: u32,
    /// Its number for `p`/`P` (and its order in `g`).
    pub regnum: u32,
}

/// A GDB remote protocol client.
pub struct Client {
    conn: Box<dyn Conn>,
    /// Bytes read from the socket but not yet consumed.
    buf: Vec<u8>,
    no_ack: bool,
    /// The stub's `PacketSize` (largest packet it accepts).
    packet_size: usize,
    /// `qSupported` features the stub announced (`name+`, `name=value`).
    features: Vec<String>,
    /// Request/reply exchanges made, for cost accounting.
    pub exchanges: u64,
}

impl Client {
    /// A client on an open stream; call [`Client::handshake`] next.
    pub fn new(conn: Box<dyn Conn>) -> Client {
        Client {
            conn,
            buf: Vec::new(),
            no_ack: false,
            packet_size: 4096,
            features: Vec::new(),
            exchanges: 0,
        }
    }

    /// Connects (see [`connect`]) and performs the handshake.
    pub fn connect(addr: &str) -> Result<Client, RspError> {
        let mut c = Client::new(connect(addr)?);
        c.handshake()?;
        Ok(c)
    }

    /// `qSupported`, then `QStartNoAckMode` when offered.
    pub fn handshake(&mut self) -> Result<(), RspError> {
        let reply = self.request_str(
            "qSupported:multiprocess-;swbreak+;hwbreak+;vContSupported+;xmlRegisters=i386",
        )?;
        self.features = reply.split(';').map(str::to_string).collect();
        if let Some(v) = self
            .features
            .iter()
            .find_map(|f| f.strip_prefix("PacketSize="))
        {
            // Bounded: a silly value must not make us build huge packets.
            self.packet_size = parse_hex_u64(v)
                .map(|n| (n as usize).clamp(64, MAX_PACKET))
                .unwrap_or(4096);
        }
        if self.supports("QStartNoAckMode") {
            let r = self.request_str("QStartNoAckMode")?;
            if r == "OK" {
                self.no_ack = true;
            }
        }
        Ok(())
    }

    /// Whether `qSupported` announced `name+` (or `name=...`).
    pub fn supports(&self, name: &str) -> bool {
        self.features.iter().any(|f| {
            f.strip_prefix(name)
                .is_some_and(|rest| rest == "+" || rest.starts_with('='))
        })
    }

    /// Whether the no-acknowledgment mode is on (no `+` after packets).
    pub fn no_ack(&self) -> bool {
        self.no_ack
    }

    /// The largest packet the stub accepts (`PacketSize`).
    pub fn packet_size(&self) -> usize {
        self.packet_size
    }

    /// Largest memory chunk one `m` reply can carry.
    pub fn max_mem_chunk(&self) -> usize {
        ((self.packet_size.saturating_sub(8)) / 2).max(16)
    }

    // ---- framing --------------------------------------------------------

    fn fill(&mut self, deadline: Option<Instant>) -> Result<bool, RspError> {
        let timeout = match deadline {
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return Ok(false);
                }
                Some((d - now).max(Duration::from_millis(1)))
            }
            None => None,
        };
        self.conn.set_timeout(timeout)?;
        let mut tmp = [0u8; 16384];
        match self.conn.read(&mut tmp) {
            Ok(0) => Err(RspError::Closed),
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(false)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(true),
            Err(e) => Err(e.into()),
        }
    }

    /// Sends one packet (waiting for its `+` unless in no-ack mode).
    pub fn send(&mut self, payload: &[u8]) -> Result<(), RspError> {
        let frame = encode_packet(payload);
        for _attempt in 0..5 {
            self.conn.write_all(&frame)?;
            if self.no_ack {
                return Ok(());
            }
            // Wait for the ack; a '-' asks for a retransmission.
            let deadline = Instant::now() + REPLY_TIMEOUT;
            loop {
                if let Some(pos) = self.buf.iter().position(|&b| b == b'+' || b == b'-') {
                    // Anything before the ack is line noise.
                    let ack = self.buf[pos];
                    self.buf.drain(..=pos);
                    if ack == b'+' {
                        return Ok(());
                    }
                    break;
                }
                self.buf.clear();
                if !self.fill(Some(deadline))? {
                    return Err(RspError::Timeout(REPLY_TIMEOUT));
                }
            }
        }
        Err(RspError::Protocol("packet rejected 5 times".into()))
    }

    /// Receives one packet, or `None` when `deadline` passes first.
    pub fn recv(&mut self, deadline: Option<Instant>) -> Result<Option<Vec<u8>>, RspError> {
        loop {
            // Skip acks and noise up to the start of a packet.
            if let Some(start) = self.buf.iter().position(|&b| b == b'$' || b == b'%') {
                if let Some(hash) = self.buf[start..].iter().position(|&b| b == b'#') {
                    let end = start + hash;
                    if self.buf.len() >= end + 3 {
                        let notification = self.buf[start] == b'%';
                        let raw: Vec<u8> = self.buf[start + 1..end].to_vec();
                        let given = from_hex(&self.buf[end + 1..end + 3])
                            .ok()
                            .and_then(|v| v.first().copied());
                        self.buf.drain(..end + 3);
                        let sum = raw.iter().fold(0u8, |a, &b| a.wrapping_add(b));
                        if !self.no_ack && !notification {
                            let ok = given == Some(sum);
                            self.conn.write_all(if ok { b"+" } else { b"-" })?;
                            if !ok {
                                continue;
                            }
                        }
                        if notification {
                            continue;
                        }
                        return decode_body(&raw).map(Some);
                    }
                } else if self.buf.len() - start > 2 * MAX_PACKET {
                    return Err(RspError::Protocol("packet too long".into()));
                }
            } else {
                self.buf.clear();
            }
            if !self.fill(deadline)? {
                return Ok(None);
            }
        }
    }

    /// Sends a request and returns its reply.
    pub fn request(&mut self, payload: &[u8]) -> Result<Vec<u8>, RspError> {
        self.exchanges += 1;
        self.send(payload)?;
        self.recv(Some(Instant::now() + REPLY_TIMEOUT))?
            .ok_or(RspError::Timeout(REPLY_TIMEOUT))
    }

    fn request_str(&mut self, payload: &str) -> Result<String, RspError> {
        let r = self.request(payload.as_bytes())?;
        Ok(String::from_utf8_lossy(&r).into_owned())
    }

    /// A request whose reply must be `OK`.
    fn request_ok(&mut self, payload: &str) -> Result<(), RspError> {
        let r = self.request(payload.as_bytes())?;
        check_ok(payload, &r)
    }

    // ---- target description ----------------------------------------------

    /// Reads one `qXfer:features:read` annex completely.
    pub fn read_feature(&mut self, annex: &str) -> Result<String, RspError> {
        let mut out = Vec::new();
        let chunk = self.max_mem_chunk().max(256);
        loop {
            let req = format!("qXfer:features:read:{annex}:{:x},{chunk:x}", out.len());
            let r = self.request(req.as_bytes())?;
            match r.first() {
                Some(b'm') => {
                    if r.len() == 1 {
                        break; // no progress: treat as the end
                    }
                    out.extend_from_slice(&r[1..]);
                }
                Some(b'l') => {
                    out.extend_from_slice(&r[1..]);
                    break;
                }
                Some(b'E') => return Err(refused(&req, &r)),
                _ if r.is_empty() => {
                    return Err(RspError::Unsupported("qXfer:features:read".into()))
                }
                _ => return Err(RspError::Protocol(format!("bad qXfer reply for {annex}"))),
            }
            if out.len() > MAX_PACKET {
                return Err(RspError::Protocol(format!("{annex} is too large")));
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// The register layout from `target.xml` and the files it includes.
    pub fn registers(&mut self) -> Result<Vec<RegInfo>, RspError> {
        let mut regs = Vec::new();
        let mut queue = vec!["target.xml".to_string()];
        let mut seen = Vec::new();
        let mut next_num = 0u32;
        while let Some(file) = queue.pop() {
            if seen.contains(&file) || seen.len() >= MAX_XML_FILES {
                continue;
            }
            seen.push(file.clone());
            let text = self.read_feature(&file)?;
            // Includes are read in document order, depth first.
            let mut incs = Vec::new();
            for tag in xml_tags(&text) {
                match tag.name.as_str() {
                    "xi:include" | "include" => {
                        if let Some(h) = tag.attr("href") {
                            incs.push(h.to_string());
                        }
                    }
                    "reg" => {
                        let Some(name) = tag.attr("name") else {
                            continue;
                        };
                        let bitsize = tag
                            .attr("bitsize")
                            .and_then(|b| b.parse().ok())
                            .unwrap_or(0);
                        let regnum = tag
                            .attr("regnum")
                            .and_then(|b| b.parse().ok())
                            .unwrap_or(next_num);
                        next_num = regnum.saturating_add(1);
                        regs.push(RegInfo {
                            name: name.to_string(),
                            bitsize,
                            regnum,
                        });
                    }
                    _ => {}
                }
            }
            queue.extend(incs.into_iter().rev());
        }
        regs.sort_by_key(|r| r.regnum);
        Ok(regs)
    }

    // ---- registers and memory ---------------------------------------------

    /// `?`: why the target is stopped now.
    pub fn stop_reason(&mut self) -> Result<StopReply, RspError> {
        let r = self.request(b"?")?;
        StopReply::parse(&r)
    }

    /// `g`: all registers of the current thread, raw target bytes.
    pub fn read_all_registers(&mut self) -> Result<Vec<u8>, RspError> {
        let r = self.request(b"g")?;
        if r.first() == Some(&b'E') && r.len() == 3 {
            return Err(refused("g", &r));
        }
        from_hex(&r)
    }

    /// `G`: writes all registers.
    pub fn write_all_registers(&mut self, bytes: &[u8]) -> Result<(), RspError> {
        self.request_ok(&format!("G{}", to_hex(bytes)))
    }

    /// `p`: one register's raw bytes.
    pub fn read_register(&mut self, regnum: u32) -> Result<Vec<u8>, RspError> {
        let req = format!("p{regnum:x}");
        let r = self.request(req.as_bytes())?;
        if r.is_empty() {
            return Err(RspError::Unsupported("p".into()));
        }
        if r.first() == Some(&b'E') && r.len() == 3 {
            return Err(refused(&req, &r));
        }
        from_hex(&r)
    }

    /// `P`: writes one register's raw bytes.
    pub fn write_register(&mut self, regnum: u32, bytes: &[u8]) -> Result<(), RspError> {
        self.request_ok(&format!("P{regnum:x}={}", to_hex(bytes)))
    }

    /// `m`: reads `buf.len()` bytes at `addr`, in packet-sized chunks.
    pub fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), RspError> {
        let chunk = self.max_mem_chunk();
        let mut done = 0usize;
        while done < buf.len() {
            let n = (buf.len() - done).min(chunk);
            let a = addr.wrapping_add(done as u64);
            let req = format!("m{a:x},{n:x}");
            let r = self.request(req.as_bytes())?;
            if r.first() == Some(&b'E') || r.is_empty() {
                return Err(refused(&req, &r));
            }
            let bytes = from_hex(&r)?;
            if bytes.is_empty() || bytes.len() > n {
                return Err(RspError::Protocol(format!("bad reply length for {req}")));
            }
            buf[done..done + bytes.len()].copy_from_slice(&bytes);
            done += bytes.len();
        }
        Ok(())
    }

    /// `M`: writes `data` at `addr`, in packet-sized chunks.
    pub fn write_memory(&mut self, addr: u64, data: &[u8]) -> Result<(), RspError> {
        let chunk = self.max_mem_chunk().saturating_sub(16).max(16);
        for (i, part) in data.chunks(chunk).enumerate() {
            let a = addr.wrapping_add((i * chunk) as u64);
            self.request_ok(&format!("M{a:x},{:x}:{}", part.len(), to_hex(part)))?;
        }
        Ok(())
    }

    /// `qqemu.PhyMemMode`: whether `m`/`M` address physical memory.
    pub fn set_phys_mem_mode(&mut self, on: bool) -> Result<(), RspError> {
        self.request_ok(&format!("Qqemu.PhyMemMode:{}", u8::from(on)))
    }

    /// `qqemu.sstep`: QEMU's single-step flags (bit 0 enable, bit 1 no
    /// IRQs, bit 2 no timers).
    pub fn set_sstep_flags(&mut self, flags: u32) -> Result<(), RspError> {
        self.request_ok(&format!("Qqemu.sstep={flags:x}"))
    }

    // ---- breakpoints --------------------------------------------------------

    /// `Z0`/`Z1`/`Z2`; `Ok(false)` when the stub does not support this
    /// kind (or has no slot left).
    pub fn insert_breakpoint(&mut self, kind: BpKind, addr: u64) -> Result<bool, RspError> {
        let req = format!("Z{},{addr:x},{}", kind.code(), kind.len());
        let r = self.request(req.as_bytes())?;
        match r.as_slice() {
            b"OK" => Ok(true),
            b"" => Ok(false),
            [b'E', ..] => Ok(false),
            _ => Err(RspError::Protocol(format!("bad reply to {req}"))),
        }
    }

    /// `z0`/`z1`/`z2`.
    pub fn remove_breakpoint(&mut self, kind: BpKind, addr: u64) -> Result<(), RspError> {
        self.request_ok(&format!("z{},{addr:x},{}", kind.code(), kind.len()))
    }

    // ---- execution -----------------------------------------------------------

    /// `c`: resume all vCPUs (no reply until the next stop).
    pub fn resume(&mut self) -> Result<(), RspError> {
        self.exchanges += 1;
        self.send(b"c")
    }

    /// `s`: single-step the current vCPU (no reply until it stops).
    pub fn step(&mut self) -> Result<(), RspError> {
        self.exchanges += 1;
        self.send(b"s")
    }

    /// `vCont;ACTION`, e.g. `vCont;s:2;c`.
    pub fn vcont(&mut self, actions: &str) -> Result<(), RspError> {
        self.exchanges += 1;
        self.send(format!("vCont;{actions}").as_bytes())
    }

    /// `Hg`/`Hc`: the thread later register/memory (`g`) or execution
    /// (`c`) requests apply to.
    pub fn set_thread(&mut self, op: char, thread: u64) -> Result<(), RspError> {
        self.request_ok(&format!("H{op}{thread:x}"))
    }

    /// Interrupts a running target (the 0x03 byte).
    pub fn interrupt(&mut self) -> Result<(), RspError> {
        self.conn.write_all(&[0x03])?;
        Ok(())
    }

    /// Waits for a stop reply until `deadline` (`None`: forever).
    /// `O` console output packets are skipped.
    pub fn wait_stop(&mut self, deadline: Option<Instant>) -> Result<Option<StopReply>, RspError> {
        loop {
            let Some(p) = self.recv(deadline)? else {
                return Ok(None);
            };
            if p.first() == Some(&b'O') && p.len() > 1 {
                continue;
            }
            return StopReply::parse(&p).map(Some);
        }
    }

    /// Steps once and waits for the stop.
    pub fn step_and_wait(&mut self) -> Result<StopReply, RspError> {
        self.step()?;
        self.wait_stop(Some(Instant::now() + REPLY_TIMEOUT))?
            .ok_or(RspError::Timeout(REPLY_TIMEOUT))
    }

    /// `qRcmd`: runs a monitor command and returns its output.
    pub fn monitor(&mut self, cmd: &str) -> Result<String, RspError> {
        self.exchanges += 1;
        self.send(format!("qRcmd,{}", to_hex(cmd.as_bytes())).as_bytes())?;
        let mut out = Vec::new();
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let p = self
                .recv(Some(deadline))?
                .ok_or(RspError::Timeout(REPLY_TIMEOUT))?;
            match p.as_slice() {
                b"OK" => break,
                b"" => return Err(RspError::Unsupported("qRcmd".into())),
                [b'O', hex @ ..] if !hex.is_empty() => {
                    out.extend(from_hex(hex)?);
                    if out.len() > MAX_PACKET {
                        return Err(RspError::Protocol("monitor output too long".into()));
                    }
                }
                [b'E', ..] => return Err(refused("qRcmd", &p)),
                // Some stubs answer with the hex output directly.
                hex => {
                    out.extend(from_hex(hex)?);
                    break;
                }
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// `D`: detach; the target keeps running.
    pub fn detach(&mut self) -> Result<(), RspError> {
        // A QEMU that an earlier debugger put in multiprocess mode (the
        // mode outlives that connection) wants the process: `D;1`.
        self.request_ok("D")
            .or_else(|e| self.request_ok("D;1").map_err(|_| e))
    }
}

fn refused(req: &str, reply: &[u8]) -> RspError {
    if reply.is_empty() {
        return RspError::Unsupported(req.chars().take(24).collect());
    }
    let code = reply
        .get(1..3)
        .and_then(|h| from_hex(h).ok())
        .and_then(|v| v.first().copied())
        .unwrap_or(0xff);
    RspError::Refused {
        request: req.chars().take(64).collect(),
        code,
    }
}

fn check_ok(req: &str, reply: &[u8]) -> Result<(), RspError> {
    match reply {
        b"OK" => Ok(()),
        _ => Err(refused(req, reply)),
    }
}

/// One XML start tag with its attributes.
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
}

impl Tag {
    fn attr(&self, k: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

/// The start tags of an XML document: enough for gdb target descriptions
/// (no entities beyond quotes, no CDATA).
fn xml_tags(text: &str) -> Vec<Tag> {
    // Comments may hide whole tags (QEMU's i386-64bit.xml comments out
    // ss_base..es_base): drop them first.
    let mut clean = String::with_capacity(text.len());
    let mut t = text;
    while let Some(start) = t.find("<!--") {
        clean.push_str(&t[..start]);
        t = match t[start + 4..].find("-->") {
            Some(end) => &t[start + 4 + end + 3..],
            None => "",
        };
    }
    clean.push_str(t);
    let mut tags = Vec::new();
    let mut rest = clean.as_str();
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt + 1..];
        let Some(gt) = rest.find('>') else { break };
        let inner = &rest[..gt];
        rest = &rest[gt + 1..];
        if inner.starts_with(['/', '?', '!']) {
            continue;
        }
        let inner = inner.trim_end_matches('/');
        let mut parts = inner.splitn(2, char::is_whitespace);
        let name = parts.next().unwrap_or("").to_string();
        let mut attrs = Vec::new();
        let mut a = parts.next().unwrap_or("");
        while let Some(eq) = a.find('=') {
            let key = a[..eq].trim().to_string();
            let after = a[eq + 1..].trim_start();
            let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                break;
            };
            let Some(end) = after[1..].find(q) else { break };
            attrs.push((key, after[1..1 + end].to_string()));
            a = &after[end + 2..];
        }
        tags.push(Tag { name, attrs });
    }
    tags
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::thread;

    /// An in-process fake stub: registers, memory, breakpoints, a target
    /// description split over two files, and scripted stops.
    pub struct FakeStub {
        pub regs: Vec<u8>,
        pub mem: BTreeMap<u64, u8>,
        pub bps: Vec<(u8, u64)>,
        pub xml: BTreeMap<String, String>,
        pub phys: bool,
        /// Stop replies to send on `c`/`s`, in order.
        pub stops: Vec<String>,
        pub log: Vec<String>,
        /// Send replies run-length encoded where possible.
        pub rle: bool,
        /// Extra packets to send after the current reply.
        pending: Vec<Vec<u8>>,
    }

    fn rle_encode(p: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < p.len() {
            let c = p[i];
            let mut n = 1;
            while i + n < p.len() && p[i + n] == c && n < 90 {
                n += 1;
            }
            // Repeat counts that would produce '#', '$' or '+' / '-' are avoided.
            let extra = n - 1;
            if extra >= 3
                && !matches!((extra + 29) as u8, b'#' | b'$' | b'+' | b'-' | b'*' | b'}')
                && !matches!(c, b'#' | b'$' | b'}' | b'*')
            {
                out.push(c);
                out.push(b'*');
                out.push((extra + 29) as u8);
            } else {
                for _ in 0..n {
                    out.push(c);
                }
            }
            i += n;
        }
        out
    }

    fn frame_raw(body: &[u8]) -> Vec<u8> {
        let sum = body.iter().fold(0u8, |a, &b| a.wrapping_add(b));
        let mut f = vec![b'$'];
        f.extend_from_slice(body);
        f.extend_from_slice(format!("#{sum:02x}").as_bytes());
        f
    }

    impl FakeStub {
        pub fn new() -> FakeStub {
            let mut xml = BTreeMap::new();
            xml.insert(
                "target.xml".to_string(),
                r#"<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd">
<target><architecture>i386:x86-64</architecture><xi:include href="core.xml"/></target>"#
                    .to_string(),
            );
            xml.insert(
                "core.xml".to_string(),
                r#"<feature name="org.gnu.gdb.i386.core">
<reg name="rax" bitsize="64" regnum="0"/><reg name="rbx" bitsize="64"/>
<reg name='rcx' bitsize='64'/><reg name="eflags" bitsize="32" type="i386_eflags"/>
<reg name="cs" bitsize="32" regnum="4"/></feature>"#
                    .to_string(),
            );
            FakeStub {
                regs: (0..28u8).collect(),
                mem: BTreeMap::new(),
                bps: Vec::new(),
                xml,
                phys: false,
                stops: Vec::new(),
                log: Vec::new(),
                rle: false,
                pending: Vec::new(),
            }
        }

        /// Serves one connection until it closes; returns the final state.
        pub fn serve(mut self, mut s: UnixStream) -> FakeStub {
            let mut no_ack = false;
            let mut buf = Vec::new();
            let mut tmp = [0u8; 4096];
            loop {
                // Parse complete packets.
                loop {
                    if buf.first() == Some(&0x03) {
                        buf.remove(0);
                        self.log.push("^C".into());
                        let _ = s.write_all(&frame_raw(b"T02thread:01;"));
                        continue;
                    }
                    let Some(st) = buf.iter().position(|&b| b == b'$') else {
                        buf.retain(|&b| b == 0x03);
                        break;
                    };
                    let Some(h) = buf[st..].iter().position(|&b| b == b'#') else {
                        break;
                    };
                    let end = st + h;
                    if buf.len() < end + 3 {
                        break;
                    }
                    let body = decode_body(&buf[st + 1..end]).unwrap();
                    buf.drain(..end + 3);
                    if !no_ack {
                        s.write_all(b"+").unwrap();
                    }
                    let text = String::from_utf8_lossy(&body).into_owned();
                    self.log.push(text.clone());
                    let reply: Option<Vec<u8>> = self.handle(&text, &mut no_ack);
                    if let Some(r) = reply {
                        let body = if self.rle { rle_encode(&r) } else { r };
                        s.write_all(&frame_raw(&body)).unwrap();
                    }
                    for extra in std::mem::take(&mut self.pending) {
                        s.write_all(&frame_raw(&extra)).unwrap();
                    }
                }
                match s.read(&mut tmp) {
                    Ok(0) | Err(_) => return self,
                    Ok(n) => buf.extend(tmp[..n].iter().filter(|&&b| b != b'+' || no_ack)),
                }
            }
        }

        fn handle(&mut self, t: &str, no_ack: &mut bool) -> Option<Vec<u8>> {
            let ok = || Some(b"OK".to_vec());
            if t.starts_with("qSupported") {
                return Some(b"PacketSize=100;qXfer:features:read+;QStartNoAckMode+".to_vec());
            }
            if t == "QStartNoAckMode" {
                *no_ack = true;
                return ok();
            }
            if let Some(rest) = t.strip_prefix("qXfer:features:read:") {
                let mut it = rest.split(':');
                let annex = it.next().unwrap();
                let (off, len) = it.next().unwrap().split_once(',').unwrap();
                let off = usize::from_str_radix(off, 16).unwrap();
                let len = usize::from_str_radix(len, 16).unwrap();
                let Some(doc) = self.xml.get(annex) else {
                    return Some(b"E00".to_vec());
                };
                let d = doc.as_bytes();
                let end = (off + len).min(d.len());
                let mut r = vec![if end == d.len() { b'l' } else { b'm' }];
                r.extend_from_slice(&d[off.min(end)..end]);
                // Escape as the protocol requires.
                let mut esc = Vec::new();
                for b in r {
                    if matches!(b, b'$' | b'#' | b'}' | b'*') {
                        esc.push(b'}');
                        esc.push(b ^ 0x20);
                    } else {
                        esc.push(b);
                    }
                }
                return Some(esc);
            }
            if t == "?" {
                return Some(b"T05thread:01;".to_vec());
            }
            if t == "g" {
                return Some(to_hex(&self.regs).into_bytes());
            }
            if let Some(h) = t.strip_prefix('G') {
                self.regs = from_hex(h.as_bytes()).unwrap();
                return ok();
            }
            if let Some(n) = t.strip_prefix('p') {
                let n = usize::from_str_radix(n, 16).unwrap();
                let (off, len) = Self::reg_slot(n);
                return Some(to_hex(&self.regs[off..off + len]).into_bytes());
            }
            if let Some(rest) = t.strip_prefix('P') {
                let (n, v) = rest.split_once('=').unwrap();
                let n = usize::from_str_radix(n, 16).unwrap();
                let (off, len) = Self::reg_slot(n);
                let v = from_hex(v.as_bytes()).unwrap();
                self.regs[off..off + len].copy_from_slice(&v[..len]);
                return ok();
            }
            if let Some(rest) = t.strip_prefix('m') {
                let (a, n) = rest.split_once(',').unwrap();
                let a = u64::from_str_radix(a, 16).unwrap();
                let n = usize::from_str_radix(n, 16).unwrap();
                let mut out = Vec::new();
                for i in 0..n as u64 {
                    match self.mem.get(&(a + i)) {
                        Some(b) => out.push(*b),
                        None if out.is_empty() => return Some(b"E14".to_vec()),
                        None => break,
                    }
                }
                return Some(to_hex(&out).into_bytes());
            }
            if let Some(rest) = t.strip_prefix('M') {
                let (hdr, data) = rest.split_once(':').unwrap();
                let (a, _) = hdr.split_once(',').unwrap();
                let a = u64::from_str_radix(a, 16).unwrap();
                for (i, b) in from_hex(data.as_bytes()).unwrap().into_iter().enumerate() {
                    self.mem.insert(a + i as u64, b);
                }
                return ok();
            }
            if let Some(rest) = t.strip_prefix('Z') {
                let mut it = rest.split(',');
                let k: u8 = it.next().unwrap().parse().unwrap();
                let a = u64::from_str_radix(it.next().unwrap(), 16).unwrap();
                let len = it.next().unwrap();
                // Breakpoints (kind 1) and 8-byte write watchpoints.
                let fits = match k {
                    0 | 1 => len == "1",
                    2 => len == "8",
                    _ => false,
                };
                if !fits {
                    return Some(Vec::new());
                }
                self.bps.push((k, a));
                return ok();
            }
            if let Some(rest) = t.strip_prefix('z') {
                let mut it = rest.split(',');
                let k: u8 = it.next().unwrap().parse().unwrap();
                let a = u64::from_str_radix(it.next().unwrap(), 16).unwrap();
                let before = self.bps.len();
                self.bps.retain(|&(kk, aa)| !(kk == k && aa == a));
                return if self.bps.len() < before {
                    ok()
                } else {
                    Some(b"E01".to_vec())
                };
            }
            if t == "c" || t == "s" || t.starts_with("vCont;") {
                if self.stops.is_empty() {
                    return None; // keeps running until interrupted
                }
                return Some(self.stops.remove(0).into_bytes());
            }
            if let Some(h) = t.strip_prefix("qRcmd,") {
                let cmd = String::from_utf8(from_hex(h.as_bytes()).unwrap()).unwrap();
                // Output packet(s), then OK, like QEMU.
                self.pending.push(b"OK".to_vec());
                return Some(
                    format!("O{}", to_hex(format!("ran {cmd}\n").as_bytes())).into_bytes(),
                );
            }
            if let Some(v) = t.strip_prefix("Qqemu.PhyMemMode:") {
                self.phys = v == "1";
                return ok();
            }
            if t.starts_with("Qqemu.sstep=") || t.starts_with('H') {
                return ok();
            }
            if t == "D" {
                return ok();
            }
            Some(Vec::new())
        }

        /// Fake layout: rax rbx rcx 8 bytes, eflags cs 4 bytes.
        fn reg_slot(n: usize) -> (usize, usize) {
            match n {
                0..=2 => (n * 8, 8),
                3 => (24, 4),
                _ => (28, 4),
            }
        }
    }

    /// A client connected to a fake stub running on a thread.
    pub fn fake(stub: FakeStub) -> (Client, thread::JoinHandle<FakeStub>) {
        let (a, b) = UnixStream::pair().unwrap();
        let h = thread::spawn(move || stub.serve(b));
        (Client::new(Box::new(a)), h)
    }

    #[test]
    fn framing_round_trip() {
        let p = b"m1234,#$}*x";
        let f = encode_packet(p);
        assert_eq!(f[0], b'$');
        let hash = f.iter().rposition(|&b| b == b'#').unwrap();
        let body = &f[1..hash];
        assert!(!body.contains(&b'$') && !body.contains(&b'*'));
        assert_eq!(decode_body(body).unwrap(), p);
        let sum = body.iter().fold(0u8, |a, &b| a.wrapping_add(b));
        assert_eq!(&f[hash + 1..], format!("{sum:02x}").as_bytes());
        assert_eq!(encode_packet(b"g"), b"$g#67");
    }

    #[test]
    fn rle_and_escapes_decode() {
        // "0* " = '0' then 3 more: "0000".
        assert_eq!(decode_body(b"0* ").unwrap(), b"0000");
        assert_eq!(decode_body(b"a}]b").unwrap(), b"a}b");
        assert!(decode_body(b"*!").is_err());
        assert!(decode_body(b"a}").is_err());
        assert!(decode_body(b"a*").is_err());
        assert!(decode_body(b"a*\x01").is_err());
    }

    #[test]
    fn hex_helpers() {
        assert_eq!(to_hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(from_hex(b"00AB10").unwrap(), vec![0, 0xab, 0x10]);
        assert_eq!(from_hex(b"xx01").unwrap(), vec![0, 1]);
        assert!(from_hex(b"0").is_err());
        assert!(from_hex(b"zz").is_err());
    }

    #[test]
    fn stop_replies() {
        let s = StopReply::parse(b"T05thread:02;swbreak:;").unwrap();
        assert_eq!(s.kind, StopKind::Signal(5));
        assert_eq!(s.thread, Some(2));
        assert_eq!(s.vcpu(), 1);
        assert_eq!(s.info, vec![("swbreak".to_string(), String::new())]);
        let s = StopReply::parse(b"T05thread:p1.3;").unwrap();
        assert_eq!(s.thread, Some(3));
        assert_eq!(StopReply::parse(b"S02").unwrap().kind, StopKind::Signal(2));
        assert_eq!(StopReply::parse(b"W00").unwrap().kind, StopKind::Exited(0));
        assert_eq!(
            StopReply::parse(b"X09").unwrap().kind,
            StopKind::Terminated(9)
        );
        assert!(StopReply::parse(b"Q").is_err());
        assert!(StopReply::parse(b"T").is_err());
        assert_eq!(StopReply::parse(b"T05").unwrap().vcpu(), 0);
    }

    #[test]
    fn xml_parsing() {
        let tags = xml_tags(
            r#"<?xml?><a x="1" y='two'/><!-- c --><!--reg name="ss_base"/>
<reg name="ds_base"/--><reg name="rip" bitsize="64"/></a><!-- unterminated <reg name="x"/>"#,
        );
        assert_eq!(tags.len(), 2, "{tags:?}");
        assert_eq!(tags[0].attr("y"), Some("two"));
        assert_eq!(tags[1].attr("name"), Some("rip"));
    }

    #[test]
    fn addresses() {
        assert!(matches!(connect("nonsense"), Err(RspError::BadAddress(_))));
        assert!(matches!(connect("unix:"), Err(RspError::BadAddress(_))));
        assert!(matches!(
            connect("host:notaport"),
            Err(RspError::BadAddress(_))
        ));
        assert!(matches!(
            connect("unix:/nonexistent/sock,server,nowait"),
            Err(RspError::Io(_))
        ));
    }

    #[test]
    fn handshake_registers_memory_breakpoints() {
        let mut stub = FakeStub::new();
        stub.rle = true;
        for i in 0..300u64 {
            stub.mem.insert(0x1000 + i, (i % 7) as u8);
        }
        for i in 0..64u64 {
            stub.mem.insert(0x5000 + i, 0);
        }
        stub.stops = vec!["T05thread:01;hwbreak:;".into()];
        let (mut c, h) = fake(stub);
        c.handshake().unwrap();
        assert!(c.no_ack());
        assert_eq!(c.packet_size(), 0x100);
        assert!(c.supports("qXfer:features:read"));
        assert!(!c.supports("qXfer"));

        let regs = c.registers().unwrap();
        let names: Vec<_> = regs
            .iter()
            .map(|r| (r.name.as_str(), r.bitsize, r.regnum))
            .collect();
        assert_eq!(
            names,
            vec![
                ("rax", 64, 0),
                ("rbx", 64, 1),
                ("rcx", 64, 2),
                ("eflags", 32, 3),
                ("cs", 32, 4)
            ]
        );

        let g = c.read_all_registers().unwrap();
        assert_eq!(g, (0..28u8).collect::<Vec<_>>());
        c.write_register(2, &[0xaa; 8]).unwrap();
        assert_eq!(c.read_register(2).unwrap(), vec![0xaa; 8]);
        assert_eq!(c.read_register(3).unwrap(), vec![24, 25, 26, 27]);

        // 300 bytes need several chunks with a 256-byte packet size.
        let mut buf = vec![0u8; 300];
        c.read_memory(0x1000, &mut buf).unwrap();
        assert!(buf.iter().enumerate().all(|(i, &b)| b == (i % 7) as u8));
        // Zeros come back run-length encoded.
        let mut z = vec![1u8; 64];
        c.read_memory(0x5000, &mut z).unwrap();
        assert_eq!(z, vec![0; 64]);
        let mut bad = [0u8; 4];
        assert!(matches!(
            c.read_memory(0x9000, &mut bad),
            Err(RspError::Refused { code: 0x14, .. })
        ));
        c.write_memory(0x1000, b"hi$#").unwrap();
        let mut b4 = [0u8; 4];
        c.read_memory(0x1000, &mut b4).unwrap();
        assert_eq!(&b4, b"hi$#");

        assert!(c
            .insert_breakpoint(BpKind::Hardware, 0xffff_8000_1234)
            .unwrap());
        assert!(c.insert_breakpoint(BpKind::Software, 0x4000).unwrap());
        c.remove_breakpoint(BpKind::Software, 0x4000).unwrap();
        assert!(c.remove_breakpoint(BpKind::Software, 0x4000).is_err());
        // An 8-byte write watchpoint: Z2,ADDR,8 / z2,ADDR,8.
        assert!(c.insert_breakpoint(BpKind::WriteWatch, 0x6014).unwrap());
        c.remove_breakpoint(BpKind::WriteWatch, 0x6014).unwrap();

        c.resume().unwrap();
        let s = c
            .wait_stop(Some(Instant::now() + Duration::from_secs(5)))
            .unwrap()
            .unwrap();
        assert_eq!(s.kind, StopKind::Signal(5));
        // No more scripted stops: the target runs until interrupted.
        c.resume().unwrap();
        assert!(c
            .wait_stop(Some(Instant::now() + Duration::from_millis(50)))
            .unwrap()
            .is_none());
        c.interrupt().unwrap();
        let s = c
            .wait_stop(Some(Instant::now() + Duration::from_secs(5)))
            .unwrap()
            .unwrap();
        assert_eq!(s.kind, StopKind::Signal(2));

        c.set_phys_mem_mode(true).unwrap();
        c.detach().unwrap();
        drop(c);
        let stub = h.join().unwrap();
        assert!(stub.phys);
        assert_eq!(stub.bps, vec![(1, 0xffff_8000_1234)]);
        assert_eq!(stub.regs[16..24], [0xaa; 8]);
        assert!(stub.log.iter().any(|l| l == "D"));
        assert!(stub.log.iter().any(|l| l == "Z2,6014,8"));
        assert!(stub.log.iter().any(|l| l == "z2,6014,8"));
    }

    #[test]
    fn ack_mode_and_monitor() {
        let mut stub = FakeStub::new();
        // No no-ack mode offered: every packet is acknowledged.
        stub.xml.clear();
        let (a, b) = UnixStream::pair().unwrap();
        let h = thread::spawn(move || {
            // A minimal ack-mode stub: answers qSupported without no-ack,
            // then a monitor command with an O packet and OK, with a bad
            // checksum first to force a retransmission request.
            let mut b = b;
            let mut got = Vec::new();
            let mut tmp = [0u8; 1024];
            let mut served = 0;
            while served < 2 {
                let n = b.read(&mut tmp).unwrap();
                got.extend_from_slice(&tmp[..n]);
                while let Some(h) = got.iter().position(|&c| c == b'#') {
                    if got.len() < h + 3 {
                        break;
                    }
                    let st = got.iter().position(|&c| c == b'$').unwrap();
                    let body = String::from_utf8_lossy(&got[st + 1..h]).into_owned();
                    got.drain(..h + 3);
                    b.write_all(b"+").unwrap();
                    if body.starts_with("qSupported") {
                        b.write_all(&frame_raw(b"PacketSize=1000")).unwrap();
                    } else if body.starts_with("qRcmd,") {
                        b.write_all(b"$O41#00").unwrap(); // bad checksum
                        b.write_all(&frame_raw(format!("O{}", to_hex(b"info\n")).as_bytes()))
                            .unwrap();
                        b.write_all(&frame_raw(b"OK")).unwrap();
                    }
                    served += 1;
                }
            }
            // Drain the client's acks.
            b.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let mut acks = Vec::new();
            while let Ok(n) = b.read(&mut tmp) {
                if n == 0 {
                    break;
                }
                acks.extend_from_slice(&tmp[..n]);
            }
            acks
        });
        let mut c = Client::new(Box::new(a));
        c.handshake().unwrap();
        assert!(!c.no_ack());
        assert_eq!(c.monitor("info registers").unwrap(), "info\n");
        drop(c);
        let acks = h.join().unwrap();
        assert!(acks.contains(&b'-'), "bad checksum was nacked: {acks:?}");
        assert!(acks.contains(&b'+'), "good packets were acked: {acks:?}");
    }
}
