//! strace's `-e read=SET` / `-e write=SET` hex dumps: the data a call
//! moves on the listed descriptors, read from the guest and printed after
//! the call's line as strace's `dumpio` prints it:
//!
//! ```text
//! write(1, "abc\n", 4) = 4
//!  | 00000  61 62 63 0a                                       abc.             |
//! ```
//!
//! Written data (write, pwrite64, writev, pwritev[2], vmsplice, sendto,
//! sendmsg, mq_timedsend) is read at the call's entry, before the kernel
//! reads it; read data (read, pread64, readv, preadv[2], recvfrom,
//! recvmsg, mq_timedreceive) at its successful exit, up to the returned
//! length; the `mmsghdr` vectors of sendmmsg/recvmmsg at exit, each up to
//! its `msg_len`. The bytes go into the record (so JSON has them, and a
//! `--record` recording holds the guest memory read, for replay). At most
//! [`MAX_DUMP`] bytes are read per call; nothing is read without the
//! option. The calls and structures are Linux's (strace's option): other
//! guests get no dumps.

use std::fmt::Write;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use vstrace_core::read::{read_ptr, read_u32};
use vstrace_core::{Bitness, VirtMem};

/// Bytes of data read from the guest for one call's dumps at most; the
/// rest of a larger transfer is reported as not dumped.
pub const MAX_DUMP: u64 = 1 << 20;

/// strace reads (and reports failures) in chunks of this size.
const CHUNK: u64 = 1 << 16;

/// iovec / mmsghdr array entries looked at per call at most (the
/// kernel's `UIO_MAXIOV`: it refuses longer vectors).
const MAX_VEC: u64 = 1024;

/// A set of descriptors (`-e read=3,4`, `all`, `none`, `!5`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FdSet {
    /// The descriptors listed.
    pub fds: Vec<i32>,
    /// The set is every descriptor except those listed.
    pub negated: bool,
}

impl FdSet {
    /// Parses strace's descriptor set syntax; an item that is no
    /// descriptor is an error naming it.
    pub fn parse(spec: &str) -> Result<FdSet, String> {
        // As strace's qualify_tokens: each leading `!` inverts the set
        // (`!!!0,1`: an odd count, negated).
        let body = spec.trim_start_matches('!');
        let negated = (spec.len() - body.len()) % 2 == 1;
        let mut set = FdSet {
            fds: Vec::new(),
            negated,
        };
        for item in body.split(',').map(str::trim) {
            match item {
                // `all` is the complement of nothing.
                "all" => {
                    set.fds.clear();
                    set.negated = !negated;
                    return Ok(set);
                }
                "none" | "" => {}
                _ => {
                    let fd = item
                        .parse::<i32>()
                        .ok()
                        .filter(|n| *n >= 0)
                        .ok_or_else(|| format!("invalid descriptor '{item}'"))?;
                    set.fds.push(fd);
                }
            }
        }
        Ok(set)
    }

    /// Whether `fd` is in the set (negative descriptors never are).
    pub fn contains(&self, fd: i64) -> bool {
        fd >= 0 && i32::try_from(fd).is_ok_and(|f| self.fds.contains(&f)) != self.negated
    }

    /// Whether no descriptor is in the set (the option is off).
    pub fn is_empty(&self) -> bool {
        !self.negated && self.fds.is_empty()
    }
}

/// One part of a call's dump, in the order strace prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum IoItem {
    /// One message of a sendmmsg/recvmmsg vector: strace's
    /// ` = N buffers in vector I` line.
    Vector {
        /// The message's index in the vector.
        index: u32,
        /// Its `msg_iovlen`.
        buffers: u64,
    },
    /// One buffer's data.
    Buffer {
        /// Its index in an iovec array (strace's ` * N bytes in buffer
        /// I` line); absent for a call's single buffer.
        index: Option<u32>,
        /// Its guest address.
        addr: u64,
        /// The bytes the call moved there (what is dumped).
        len: u64,
        /// The bytes read, a prefix of the `len`: shorter when the guest's
        /// memory could not be read (a chunk that failed after the first
        /// is reported as strace does) or past [`MAX_DUMP`].
        #[serde(serialize_with = "to_hex", deserialize_with = "from_hex")]
        data: Vec<u8>,
        /// Reading stopped at vstrace's per-call cap, not at a fault.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        capped: bool,
    },
}

/// Which data a call moves, by its name (strace's `dumpio` list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One buffer: arg 2, its length arg 3 (written) or the return value.
    Buf,
    /// An iovec array at arg 2, its length arg 3.
    Iov,
    /// A `msghdr` at arg 2.
    Msg,
    /// An `mmsghdr` array at arg 2, the return value its length.
    Mmsg,
}

fn write_shape(name: &str) -> Option<Shape> {
    Some(match name {
        "write" | "pwrite64" | "send" | "sendto" | "mq_timedsend" | "mq_timedsend_time64" => {
            Shape::Buf
        }
        "writev" | "pwritev" | "pwritev2" | "vmsplice" => Shape::Iov,
        "sendmsg" => Shape::Msg,
        "sendmmsg" => Shape::Mmsg,
        _ => return None,
    })
}

fn read_shape(name: &str) -> Option<Shape> {
    Some(match name {
        "read" | "pread64" | "recv" | "recvfrom" | "mq_timedreceive" | "mq_timedreceive_time64" => {
            Shape::Buf
        }
        "readv" | "preadv" | "preadv2" => Shape::Iov,
        "recvmsg" => Shape::Msg,
        "recvmmsg" | "recvmmsg_time64" => Shape::Mmsg,
        _ => return None,
    })
}

/// The descriptor sets of `-e write=` and `-e read=`, and the calls'
/// arguments as the dump needs them.
pub(crate) struct Dumps<'a> {
    /// `-e write=`.
    pub write: &'a FdSet,
    /// `-e read=`.
    pub read: &'a FdSet,
}

impl Dumps<'_> {
    /// Whether either option is on.
    pub fn any(&self) -> bool {
        !self.write.is_empty() || !self.read.is_empty()
    }

    /// The data call `name` (arguments `raw`) writes, read at its entry;
    /// empty when the call or its descriptor is not dumped.
    pub fn at_enter(
        &self,
        name: &str,
        raw: &[u64],
        bitness: Bitness,
        mem: &mut dyn VirtMem,
    ) -> Vec<IoItem> {
        match write_shape(name) {
            Some(Shape::Mmsg) | None => Vec::new(),
            Some(_) if !self.write.contains(fd_of(raw)) => Vec::new(),
            Some(shape) => Reader::collect(mem, bitness, |r| match shape {
                Shape::Buf => r.buffer(None, arg(raw, 2), arg(raw, 3)),
                Shape::Iov => r.iov(arg(raw, 2), arg(raw, 3), u64::MAX),
                _ => r.msghdr(arg(raw, 2), u64::MAX),
            }),
        }
    }

    /// The data call `name` read (or, for sendmmsg, wrote), read at its
    /// exit with return value `ret`; empty when it failed or is not
    /// dumped.
    pub fn at_exit(
        &self,
        name: &str,
        raw: &[u64],
        ret: i64,
        bitness: Bitness,
        mem: &mut dyn VirtMem,
    ) -> Vec<IoItem> {
        let fd = fd_of(raw);
        let shape = match (read_shape(name), write_shape(name)) {
            (Some(s), _) if self.read.contains(fd) => s,
            (_, Some(Shape::Mmsg)) if self.write.contains(fd) => Shape::Mmsg,
            _ => return Vec::new(),
        };
        let Ok(ret) = u64::try_from(ret) else {
            return Vec::new();
        };
        Reader::collect(mem, bitness, |r| match shape {
            Shape::Buf => r.buffer(None, arg(raw, 2), ret),
            Shape::Iov => r.iov(arg(raw, 2), arg(raw, 3), ret),
            Shape::Msg => r.msghdr(arg(raw, 2), ret),
            Shape::Mmsg => r.mmsghdr(arg(raw, 2), ret),
        })
    }
}

/// Argument `i` (1-based), 0 when absent.
fn arg(raw: &[u64], i: usize) -> u64 {
    raw.get(i - 1).copied().unwrap_or(0)
}

/// The descriptor argument as the kernel's `int`.
fn fd_of(raw: &[u64]) -> i64 {
    i64::from(arg(raw, 1) as u32 as i32)
}

/// Reads the buffers of one call into `out`, within `budget` bytes.
struct Reader<'a> {
    mem: &'a mut dyn VirtMem,
    bitness: Bitness,
    budget: u64,
    out: Vec<IoItem>,
}

impl<'a> Reader<'a> {
    /// What `f` reads of one call, within [`MAX_DUMP`] bytes.
    fn collect(
        mem: &'a mut dyn VirtMem,
        bitness: Bitness,
        f: impl FnOnce(&mut Reader<'a>),
    ) -> Vec<IoItem> {
        let mut r = Reader {
            mem,
            bitness,
            budget: MAX_DUMP,
            out: Vec::new(),
        };
        f(&mut r);
        r.out
    }

    fn word(&self) -> u64 {
        match self.bitness {
            Bitness::B32 => 4,
            Bitness::B64 => 8,
        }
    }

    /// `len` bytes at `addr`, in strace's chunks: a chunk that cannot be
    /// read ends the buffer (nothing at all if it is the first).
    fn buffer(&mut self, index: Option<u32>, addr: u64, len: u64) {
        let mut data = Vec::new();
        let mut capped = false;
        while (data.len() as u64) < len {
            if self.budget == 0 {
                capped = true;
                break;
            }
            let at = addr.wrapping_add(data.len() as u64);
            let n = (len - data.len() as u64).min(CHUNK).min(self.budget);
            let start = data.len();
            data.resize(start + n as usize, 0);
            if self.mem.read_virt(at, &mut data[start..]).is_err() {
                data.truncate(start);
                break;
            }
            self.budget -= n;
        }
        self.out.push(IoItem::Buffer {
            index,
            addr,
            len,
            data,
            capped,
        });
    }

    /// An iovec array of `count` entries at `addr`, dumped up to `limit`
    /// bytes in all (strace's `dumpiov_upto`).
    fn iov(&mut self, addr: u64, count: u64, mut limit: u64) {
        let w = self.word();
        // strace reads the whole array first: an array it cannot read
        // to its end is not dumped at all.
        let mut vecs = Vec::new();
        for i in 0..count.min(MAX_VEC) {
            let at = addr.wrapping_add(i * 2 * w);
            let (Ok(base), Ok(len)) = (
                read_ptr(self.mem, at, self.bitness),
                read_ptr(self.mem, at.wrapping_add(w), self.bitness),
            ) else {
                return;
            };
            vecs.push((base, len));
        }
        for (i, (base, len)) in vecs.into_iter().enumerate() {
            let len = len.min(limit);
            if len == 0 {
                return;
            }
            limit -= len;
            self.buffer(Some(i as u32), base, len);
        }
    }

    /// The iovecs of the `msghdr` at `addr`, up to `limit` bytes.
    fn msghdr(&mut self, addr: u64, limit: u64) {
        // msg_name, msg_namelen (padded to a word), then msg_iov and
        // msg_iovlen.
        let w = self.word();
        let (Ok(iov), Ok(iovlen)) = (
            read_ptr(self.mem, addr.wrapping_add(2 * w), self.bitness),
            read_ptr(self.mem, addr.wrapping_add(3 * w), self.bitness),
        ) else {
            return;
        };
        self.iov(iov, iovlen, limit);
    }

    /// The first `count` messages of the `mmsghdr` array at `addr`, each
    /// up to its `msg_len` (strace's `dumpiov_in_mmsghdr`).
    fn mmsghdr(&mut self, addr: u64, count: u64) {
        let w = self.word();
        // struct msghdr is 7 words (name, namelen, iov, iovlen, control,
        // controllen, flags), then msg_len, padded to a word.
        let size = 7 * w + w;
        for i in 0..count.min(MAX_VEC) {
            let at = addr.wrapping_add(i * size);
            let (Ok(iov), Ok(iovlen), Ok(msg_len)) = (
                read_ptr(self.mem, at.wrapping_add(2 * w), self.bitness),
                read_ptr(self.mem, at.wrapping_add(3 * w), self.bitness),
                read_u32(self.mem, at.wrapping_add(7 * w)),
            ) else {
                return;
            };
            self.out.push(IoItem::Vector {
                index: i as u32,
                buffers: iovlen,
            });
            self.iov(iov, iovlen, u64::from(msg_len));
        }
    }
}

/// Appends strace's dump lines for `items` to `out` (each ends with a
/// newline); `pid` is named in a failed read's message.
pub fn render(items: &[IoItem], pid: Option<u32>, out: &mut String) {
    for item in items {
        match item {
            IoItem::Vector { index, buffers } => {
                let _ = writeln!(out, " = {buffers} buffers in vector {index}");
            }
            IoItem::Buffer {
                index,
                addr,
                len,
                data,
                capped,
            } => {
                if let Some(i) = index {
                    let _ = writeln!(out, " * {len} bytes in buffer {i}");
                }
                hex_lines(data, *len, out);
                let done = data.len() as u64;
                if done < *len && *capped {
                    let _ = writeln!(
                        out,
                        " | <{} bytes not dumped: vstrace reads at most {MAX_DUMP} bytes per call>",
                        len - done
                    );
                } else if done < *len && done > 0 {
                    // strace reports the chunk it failed to fetch.
                    let n = (len - done).min(CHUNK);
                    let _ = writeln!(
                        out,
                        " | <Cannot fetch {n} byte{} from pid {} @{:#x}>",
                        if n == 1 { "" } else { "s" },
                        pid.unwrap_or(0),
                        addr.wrapping_add(done)
                    );
                }
            }
        }
    }
}

/// strace's dump rows of `data`, the first bytes of a `len`-byte buffer
/// (the width of the offsets follows `len`):
/// ` | OFFSET  xx xx xx xx xx xx xx xx  xx xx xx xx xx xx xx xx  ASCII |`.
fn hex_lines(data: &[u8], len: u64, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let width = if len > 1 << 20 {
        1 + (63 - (len - 1).leading_zeros() as usize) / 4
    } else {
        5
    };
    for (row, bytes) in data.chunks(16).enumerate() {
        let _ = write!(out, " | {:0width$x}  ", row * 16);
        for i in 0..16 {
            match bytes.get(i) {
                Some(b) => {
                    out.push(HEX[usize::from(b >> 4)] as char);
                    out.push(HEX[usize::from(b & 0xf)] as char);
                }
                None => out.push_str("  "),
            }
            out.push(' ');
            if i % 8 == 7 {
                out.push(' ');
            }
        }
        for i in 0..16 {
            out.push(match bytes.get(i) {
                Some(&b) if (b' '..0x7f).contains(&b) => b as char,
                Some(_) => '.',
                None => ' ',
            });
        }
        out.push_str(" |\n");
    }
}

fn to_hex<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
    let mut t = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(t, "{b:02x}");
    }
    s.serialize_str(&t)
}

fn from_hex<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let t = String::deserialize(d)?;
    let t = t.as_bytes();
    if t.len() % 2 != 0 {
        return Err(serde::de::Error::custom("odd-length hex data"));
    }
    t.chunks(2)
        .map(|p| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| serde::de::Error::custom("invalid hex data"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::testmem::SparseVirt;

    #[test]
    fn fd_sets() {
        let s = FdSet::parse("1,3").unwrap();
        assert!(s.contains(1) && s.contains(3) && !s.contains(2) && !s.contains(-1));
        let s = FdSet::parse("!1").unwrap();
        assert!(!s.contains(1) && s.contains(0) && !s.contains(-3));
        assert!(FdSet::parse("all").unwrap().contains(77));
        assert!(FdSet::parse("none").unwrap().is_empty());
        assert!(FdSet::parse("x").is_err());
        // strace's repeated `!`: each inverts (readv.test's `!!!0,1`).
        let s = FdSet::parse("!!!0,1").unwrap();
        assert!(!s.contains(1) && s.contains(2));
        assert!(FdSet::parse("!!1").unwrap().contains(1));
        assert!(FdSet::parse("-1").is_err());
    }

    #[test]
    fn rows_as_strace_prints_them() {
        let mut out = String::new();
        let data: Vec<u8> = (0u8..20).map(|i| b'a' + i).chain([0, 0x7f, b' ']).collect();
        hex_lines(&data, data.len() as u64, &mut out);
        assert_eq!(
            out,
            " | 00000  61 62 63 64 65 66 67 68  69 6a 6b 6c 6d 6e 6f 70  abcdefghijklmnop |\n \
             | 00010  71 72 73 74 00 7f 20                              qrst..           |\n"
        );
        // Offsets widen past 1 MiB.
        let mut out = String::new();
        hex_lines(b"x", (1 << 20) + 1, &mut out);
        assert!(out.starts_with(" | 000000  78 "), "{out}");
    }

    #[test]
    fn buffers_vectors_and_messages_from_guest_memory() {
        let mut mem = SparseVirt::new();
        mem.map(0x1000, b"hello world");
        // iovec[2] at 0x1800: {0x1000, 5}, {0x1006, 5}.
        let mut iov = Vec::new();
        for (b, l) in [(0x1000u64, 5u64), (0x1006, 5)] {
            iov.extend(b.to_le_bytes());
            iov.extend(l.to_le_bytes());
        }
        mem.map(0x1800, &iov);
        // msghdr at 0x1900: name, namelen, iov, iovlen, ...
        let mut msg = vec![0u8; 56];
        msg[16..24].copy_from_slice(&0x1800u64.to_le_bytes());
        msg[24..32].copy_from_slice(&2u64.to_le_bytes());
        mem.map(0x1900, &msg);
        let all = FdSet::parse("all").unwrap();
        let none = FdSet::default();
        let d = Dumps {
            write: &all,
            read: &all,
        };
        let w = d.at_enter("write", &[1, 0x1000, 11], Bitness::B64, &mut mem);
        let mut out = String::new();
        render(&w, Some(7), &mut out);
        assert_eq!(
            out,
            " | 00000  68 65 6c 6c 6f 20 77 6f  72 6c 64                 hello world      |\n"
        );
        // readv returning 7: the first buffer whole, 2 bytes of the second.
        let r = d.at_exit("readv", &[0, 0x1800, 2], 7, Bitness::B64, &mut mem);
        let mut out = String::new();
        render(&r, Some(7), &mut out);
        assert!(
            out.starts_with(" * 5 bytes in buffer 0\n | 00000  68 65 6c 6c 6f ")
                && out.contains(" * 2 bytes in buffer 1\n | 00000  77 6f "),
            "{out}"
        );
        let m = d.at_exit("recvmsg", &[3, 0x1900, 0], 3, Bitness::B64, &mut mem);
        assert!(matches!(&m[..], [IoItem::Buffer { len: 3, .. }]), "{m:?}");
        // Failed calls, other descriptors, other calls: nothing is read.
        assert!(d
            .at_exit("read", &[0, 0x1000, 5], -9, Bitness::B64, &mut mem)
            .is_empty());
        let only_reads = Dumps {
            write: &none,
            read: &all,
        };
        assert!(only_reads
            .at_enter("write", &[1, 0x1000, 11], Bitness::B64, &mut mem)
            .is_empty());
        assert!(d.at_enter("close", &[1], Bitness::B64, &mut mem).is_empty());
        // An unreadable buffer: no rows; its JSON round-trips.
        let u = d.at_enter("write", &[1, 0x9000, 4], Bitness::B64, &mut mem);
        let mut out = String::new();
        render(&u, None, &mut out);
        assert_eq!(out, "");
        let j = serde_json::to_string(&w).unwrap();
        assert!(j.contains("\"data\":\"68656c6c6f20776f726c64\""), "{j}");
        assert_eq!(serde_json::from_str::<Vec<IoItem>>(&j).unwrap(), w);
    }

    #[test]
    fn reads_past_the_cap_are_reported() {
        let mut mem = SparseVirt::new();
        mem.map_zeroed(0x10_0000, (MAX_DUMP + 0x2000) as usize);
        let all = FdSet::parse("all").unwrap();
        let d = Dumps {
            write: &all,
            read: &all,
        };
        let w = d.at_enter(
            "write",
            &[1, 0x10_0000, MAX_DUMP + 16],
            Bitness::B64,
            &mut mem,
        );
        let mut out = String::new();
        render(&w, None, &mut out);
        assert!(out
            .ends_with(" | <16 bytes not dumped: vstrace reads at most 1048576 bytes per call>\n"));
    }
}
