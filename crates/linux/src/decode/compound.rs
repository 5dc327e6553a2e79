//! The compound decoders of `Ctx`: signal actions and sets, socket
//! addresses, iovec arrays, argv/envp string arrays and the stat family,
//! plus the free renderers other crates share (`format_sockaddr`,
//! `wait_status`). Kept apart from decode.rs, which holds the per-type
//! dispatch, so each file stays one readable unit.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use vstrace_core::read;
use vstrace_core::{StructBuilder, Value};

use super::*;
use crate::consts;
use crate::fmt;
use crate::proto::{ArgType, LinuxAbi};

impl Ctx<'_, '_> {
    /// `struct sigaction` (kernel layout) or i386 `struct old_sigaction`.
    pub(super) fn sigaction(&mut self, va: u64, old: bool) -> Value {
        if va == 0 {
            return Value::Null;
        }
        let w = self.ptr_size();
        // Field order: new = handler, flags, restorer, mask (64-bit);
        // old = handler, mask (32-bit), flags, restorer.
        let fields = if old {
            read::read_array_u32(self.mem, va, 4)
                .ok()
                .map(|a| (a[0] as u64, a[2] as u64, a[3] as u64, a[1] as u64))
        } else {
            let words = (0..3)
                .map(|k| self.read_word(va.wrapping_add(k * w)))
                .collect::<Option<Vec<u64>>>();
            let mask = read::read_u64(self.mem, va.wrapping_add(3 * w)).ok();
            match (words, mask) {
                (Some(ws), Some(m)) => Some((ws[0], ws[1], ws[2], m)),
                _ => None,
            }
        };
        let Some((handler, flags, restorer, mask)) = fields else {
            return Value::ptr(va);
        };
        let h = match handler {
            0 => Value::name("SIG_DFL", 0),
            1 => Value::name("SIG_IGN", 1),
            h => Value::Ptr(h),
        };
        let mut s = StructBuilder::new();
        s.field("sa_handler", h)
            // The old structure's mask is 4 bytes: its complement form
            // (`~[HUP]`) counts 32 signals.
            .field(
                "sa_mask",
                if old {
                    fmt::sigset_sized_v(mask, 4)
                } else {
                    fmt::sigset_v(mask)
                },
            )
            .field(
                "sa_flags",
                fmt::flags_v(flags & 0xffff_ffff, consts::SA_FLAGS, "0"),
            );
        if flags & 0x0400_0000 != 0 {
            s.field("sa_restorer", Value::ptr(restorer));
        }
        s.done()
    }

    /// The `sigsetsize` argument of the call, if it has one.
    pub(super) fn sigset_size(&self) -> Option<u64> {
        self.desc
            .args
            .iter()
            .position(|a| a.name == "sigsetsize" || a.name == "sizemask")
            .map(|i| self.raw[i])
    }

    /// The smallest set size strace decodes for this call.
    pub(super) fn sigset_min(&self) -> u64 {
        match self.desc.name {
            "rt_sigpending" => 1,
            _ => self.ptr_size(),
        }
    }

    pub(super) fn sigset(&mut self, va: u64) -> Value {
        if va == 0 {
            return Value::Null;
        }
        // A set smaller than 8 bytes (a size argument of 1 to 7) holds
        // the first signals only; the kernel reads just that many bytes,
        // so no more are read here (the set may end a page).
        if let Some(n) = self.sigset_size().filter(|n| (1..8).contains(n)) {
            return match read::read_struct(self.mem, va, n as usize) {
                Ok(b) => {
                    let mut w = [0u8; 8];
                    w[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
                    fmt::sigset_sized_v(u64::from_le_bytes(w), n)
                }
                Err(_) => Value::ptr(va),
            };
        }
        match read::read_u64(self.mem, va) {
            Ok(m) => fmt::sigset_v(m),
            Err(_) => Value::ptr(va),
        }
    }

    pub(super) fn sockaddr(&mut self, va: u64, len: usize) -> String {
        if va == 0 {
            return "NULL".into();
        }
        let len = len.min(SOCKADDR_MAX);
        if len < 2 {
            return fmt::ptr(va);
        }
        let Ok(b) = read::read_struct(self.mem, va, len) else {
            return fmt::ptr(va);
        };
        format_sockaddr(&b)
    }

    /// iovec array: data shown up to `strsize` per element, and in total
    /// up to `limit` bytes (the return value) for output vectors.
    pub(super) fn iovec(
        &mut self,
        va: u64,
        count: u64,
        limit_bytes: Option<u64>,
        addresses_only: bool,
    ) -> Value {
        if va == 0 {
            return Value::Null;
        }
        let w = self.ptr_size();
        if count == 0 {
            return Value::Array {
                items: Vec::new(),
                more: false,
            };
        }
        // strace's print_array: at most `-s` elements (all with `-v`),
        // read one by one; an unreadable first element shows the
        // array's address, a later one ends it with `... /* address */`.
        let limit = if self.opts.verbose {
            MAX_IOV_VERBOSE
        } else {
            self.opts.strsize as u64
        };
        let size = 2 * w;
        let mut left = limit_bytes;
        let failed = self.ret.is_some_and(|r| r < 0);
        let mut items = Vec::new();
        let mut more = false;
        for k in 0..count {
            let at = va.wrapping_add(k.wrapping_mul(size));
            // strace reads an element before it checks the `-s` limit.
            let Ok(raw) = read::read_struct(self.mem, at, size as usize) else {
                if k == 0 {
                    return Value::ptr(va);
                }
                items.push(Value::Opaque(format!("... /* {} */", fmt::ptr(at))));
                break;
            };
            if k >= limit {
                more = true;
                break;
            }
            let word_at = |off: usize| -> u64 {
                let mut b = [0u8; 8];
                let n = w as usize;
                b[..n].copy_from_slice(&raw[off..off + n]);
                u64::from_le_bytes(b)
            };
            let base = word_at(0);
            let len = word_at(w as usize);
            let data_len = match left {
                Some(l) => {
                    let d = len.min(l);
                    left = Some(l - d);
                    d
                }
                None => len,
            };
            let data = if failed || addresses_only {
                Value::ptr(base)
            } else {
                self.buffer(base, data_len)
            };
            items.push(
                StructBuilder::new()
                    .field("iov_base", data)
                    .dec("iov_len", len)
                    .done(),
            );
        }
        Value::Array { items, more }
    }

    /// A NULL-terminated array of string pointers (`argv`), as strace's
    /// `printargv`: at most `strsize` elements (then `...`; all of them
    /// with `-v`, up to a bound against a hostile array), and an
    /// unreadable slot ends the array with `... /* its address */`.
    pub(super) fn string_array(&mut self, va: u64) -> Value {
        if va == 0 {
            return Value::Null;
        }
        let w = self.ptr_size();
        let max = if self.opts.verbose {
            MAX_ENV_COUNT
        } else {
            self.opts.strsize.min(MAX_ENV_COUNT)
        } as u64;
        let mut items = Vec::new();
        let mut more = false;
        for k in 0..=max {
            let a = va.wrapping_add(k * w);
            if a < va {
                items.push(Value::Opaque(format!("... /* {} */", fmt::ptr(a))));
                break;
            }
            let Some(p) = self.read_word(a) else {
                if k == 0 {
                    return Value::ptr(va);
                }
                items.push(Value::Opaque(format!("... /* {} */", fmt::ptr(a))));
                break;
            };
            if k == max {
                more = p != 0;
                break;
            }
            if p == 0 {
                break;
            }
            let s = self.string(p, self.opts.strsize);
            items.push(s);
        }
        Value::Array { items, more }
    }

    /// `0x7ffc... /* 12 vars */`, as strace prints envp by default
    /// (`, unterminated` when the array runs into unreadable memory).
    pub(super) fn env_count(&mut self, va: u64) -> Value {
        if va == 0 {
            return Value::Null;
        }
        let w = self.ptr_size();
        let mut n = 0usize;
        let mut more = false;
        'outer: while n < MAX_ENV_COUNT {
            // Read pointers a chunk at a time, but never past a page end,
            // so an array ending just before an unmapped page still counts.
            let a = va.wrapping_add(n as u64 * w);
            let room = ((4096 - (a & 4095)) / w).max(1) as usize;
            let chunk = room.min(64).min(MAX_ENV_COUNT - n);
            // A chunk refused: one word (a replay serves only the reads
            // the live run made, and a -v run read the array word by
            // word; live, the word fails as the chunk did).
            let raw = read::read_struct(self.mem, a, chunk * w as usize)
                .or_else(|_| read::read_struct(self.mem, a, w as usize));
            let Ok(raw) = raw else {
                if n == 0 {
                    return Value::ptr(va);
                }
                more = true;
                break;
            };
            for c in raw.chunks_exact(w as usize) {
                let mut b = [0u8; 8];
                b[..c.len()].copy_from_slice(c);
                if u64::from_le_bytes(b) == 0 {
                    break 'outer;
                }
                n += 1;
            }
            if n >= MAX_ENV_COUNT {
                more = true;
            }
        }
        let vars = if n == 1 { "var" } else { "vars" };
        let unterminated = if more { ", unterminated" } else { "" };
        Value::Commented {
            value: Box::new(Value::ptr(va)),
            comment: format!("{n} {vars}{unterminated}"),
        }
    }

    pub(super) fn stat(&mut self, ty: ArgType, va: u64) -> Value {
        if va == 0 {
            return Value::Null;
        }
        // (size, mode offset+width, size offset+width, uid, gid, ino, nlink)
        struct Layout {
            size: usize,
            mode: (usize, usize),
            st_size: (usize, usize),
            uid: (usize, usize),
            gid: (usize, usize),
            ino: (usize, usize),
            nlink: (usize, usize),
            prefix: &'static str,
        }
        let l = match (ty, self.abi) {
            (ArgType::StatOut, LinuxAbi::X86_64) => Layout {
                size: 144,
                mode: (24, 4),
                st_size: (48, 8),
                uid: (28, 4),
                gid: (32, 4),
                ino: (8, 8),
                nlink: (16, 8),
                prefix: "st_",
            },
            // i386 `struct stat` (asm/stat.h, 16-bit mode/uid/gid).
            (ArgType::StatOut, LinuxAbi::I386) => Layout {
                size: 64,
                mode: (8, 2),
                st_size: (20, 4),
                uid: (12, 2),
                gid: (14, 2),
                ino: (4, 4),
                nlink: (10, 2),
                prefix: "st_",
            },
            // i386 `struct stat64` (4-byte aligned long long).
            (ArgType::Stat64Out, _) => Layout {
                size: 96,
                mode: (16, 4),
                st_size: (44, 8),
                uid: (24, 4),
                gid: (28, 4),
                ino: (88, 8),
                nlink: (20, 4),
                prefix: "st_",
            },
            _ => Layout {
                size: 256,
                mode: (28, 2),
                st_size: (40, 8),
                uid: (20, 4),
                gid: (24, 4),
                ino: (32, 8),
                nlink: (16, 4),
                prefix: "stx_",
            },
        };
        let Ok(b) = read::read_struct(self.mem, va, l.size) else {
            return Value::ptr(va);
        };
        let get = |(off, n): (usize, usize)| -> u64 {
            let mut x = [0u8; 8];
            x[..n].copy_from_slice(&b[off..off + n]);
            u64::from_le_bytes(x)
        };
        let p = l.prefix;
        let f = |n: &str| format!("{p}{n}");
        let mut st = StructBuilder::new();
        if self.opts.verbose {
            st.dec(f("ino"), get(l.ino))
                .field(f("mode"), fmt::st_mode_v(get(l.mode)))
                .dec(f("nlink"), get(l.nlink))
                .dec(f("uid"), get(l.uid))
                .dec(f("gid"), get(l.gid))
                .dec(f("size"), get(l.st_size) as i64)
                .done()
        } else {
            st.field(f("mode"), fmt::st_mode_v(get(l.mode)))
                .dec(f("size"), get(l.st_size) as i64)
                .abbreviated()
        }
    }
}

/// Formats a socket address from its bytes (at least the family).
pub fn format_sockaddr(b: &[u8]) -> String {
    if b.len() < 2 {
        return "{sa_family=?}".into();
    }
    let family = u16::from_le_bytes([b[0], b[1]]) as u64;
    let fam = fmt::enum_or_dec(family, consts::ADDRESS_FAMILIES);
    let be16 = |o: usize| u16::from_be_bytes([b[o], b[o + 1]]);
    let be32 = |o: usize| u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let le32 = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    match family {
        2 if b.len() >= 8 => {
            let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
            format!(
                "{{sa_family={fam}, sin_port=htons({}), sin_addr=inet_addr(\"{ip}\")}}",
                be16(2)
            )
        }
        10 if b.len() >= 24 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[8..24]);
            let ip = Ipv6Addr::from(a);
            let mut s = format!(
                "{{sa_family={fam}, sin6_port=htons({}), sin6_flowinfo=htonl({}), \
                 inet_pton({fam}, \"{ip}\", &sin6_addr)",
                be16(2),
                be32(4)
            );
            if b.len() >= 28 {
                let scope = crate::structs::scope_id(&a, le32(24).into());
                let _ = write!(s, ", sin6_scope_id={scope}");
            }
            s.push('}');
            s
        }
        1 => {
            let path = &b[2..];
            if path.is_empty() {
                return format!("{{sa_family={fam}}}");
            }
            // Abstract socket: leading NUL, name is the rest (not NUL-ended).
            if path[0] == 0 {
                return format!(
                    "{{sa_family={fam}, sun_path=@{}}}",
                    fmt::quote(&path[1..], false)
                );
            }
            // sun_path is 108 bytes: a name without a NUL stops there.
            let path = &path[..path.len().min(SUN_PATH_MAX)];
            let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
            format!(
                "{{sa_family={fam}, sun_path={}}}",
                fmt::quote(&path[..end], false)
            )
        }
        16 if b.len() >= 12 => format!(
            "{{sa_family={fam}, nl_pid={}, nl_groups={:08x}}}",
            le32(4),
            le32(8)
        ),
        _ => format!(
            "{{sa_family={fam}, sa_data={}}}",
            fmt::quote(&b[2..], false)
        ),
    }
}

/// strace's rendering of a wait status (`WIFEXITED(s) && WEXITSTATUS(s) == 0`).
pub fn wait_status(s: i32) -> String {
    let sig = |n: i32| fmt::signal(n as u64);
    if s & 0x7f == 0 {
        format!("{{WIFEXITED(s) && WEXITSTATUS(s) == {}}}", (s >> 8) & 0xff)
    } else if s & 0xff == 0x7f {
        format!(
            "{{WIFSTOPPED(s) && WSTOPSIG(s) == {}}}",
            sig((s >> 8) & 0xff)
        )
    } else if s == 0xffff {
        "{WIFCONTINUED(s)}".into()
    } else {
        let core = if s & 0x80 != 0 {
            " && WCOREDUMP(s)"
        } else {
            ""
        };
        format!(
            "{{WIFSIGNALED(s) && WTERMSIG(s) == {}{core}}}",
            sig(s & 0x7f)
        )
    }
}
