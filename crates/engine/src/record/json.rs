//! A record's JSON line, written by hand: the same bytes serde's derive
//! and `serde_json` write (field order, the fields left out, escapes),
//! without their per-field machinery. Under `--json`, serializing the
//! keys alone (each one scanned for characters to escape, through a map
//! serializer's state) was the largest single item of a traced call.
//! The record's own fields and its arguments' are written here; the
//! rarer nested values (typed argument values, the return's details,
//! modifications, hook data, callers, stacks, I/O dumps) still go
//! through `serde_json`, whose output they are by construction.

use serde::Serialize;

use super::{CallState, Record};

/// A member's key as [`Obj::key`] writes it: `,"name":`.
macro_rules! k {
    ($name:literal) => {
        concat!(",\"", $name, "\":")
    };
}

/// Appends `rec`'s JSON (one object, no newline) to `out`.
pub(crate) fn write_record(rec: &Record, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    out.push(b'{');
    let mut o = Obj { out, first: true };
    o.uint(k!("seq"), rec.seq);
    o.uint(k!("vcpu"), rec.vcpu.into());
    o.uint(k!("ts_enter_ns"), rec.ts_enter_ns);
    o.opt_uint(k!("ts_exit_ns"), rec.ts_exit_ns);
    o.opt_uint(k!("pid"), rec.pid.map(u64::from));
    o.opt_uint(k!("tid"), rec.tid.map(u64::from));
    o.opt_uint(k!("ppid"), rec.ppid.map(u64::from));
    if let Some(c) = &rec.comm {
        o.str(k!("comm"), c);
    }
    o.uint(k!("cr3"), rec.cr3);
    o.str(k!("os"), &rec.os);
    o.str(k!("abi"), &rec.abi);
    o.str(k!("mechanism"), &rec.mechanism);
    o.uint(k!("nr"), rec.nr);
    o.str(k!("name"), &rec.name);
    o.key(k!("args"));
    o.out.push(b'[');
    for (i, a) in rec.args.iter().enumerate() {
        if i > 0 {
            o.out.push(b',');
        }
        o.out.push(b'{');
        let mut ao = Obj {
            out: &mut *o.out,
            first: true,
        };
        ao.str(k!("name"), &a.name);
        ao.uint(k!("raw"), a.raw);
        if let Some(t) = &a.text {
            ao.str(k!("text"), t);
        }
        if let Some(v) = &a.value {
            ao.serde(k!("value"), v)?;
        }
        o.out.push(b'}');
    }
    o.out.push(b']');
    if let Some(r) = rec.ret {
        o.key(k!("ret"));
        push_int(o.out, r);
    }
    if let Some(t) = &rec.ret_text {
        o.str(k!("ret_text"), t);
    }
    if let Some(e) = &rec.errno {
        o.str(k!("errno"), e);
    }
    if let Some(v) = &rec.ret_value {
        o.serde(k!("ret_value"), v)?;
    }
    o.str(k!("state"), state_name(rec.state));
    if !rec.modifications.is_empty() {
        o.serde(k!("modifications"), &rec.modifications)?;
    }
    if !rec.hook.is_empty() {
        o.serde(k!("hook"), &rec.hook)?;
    }
    if !rec.changed.is_empty() {
        o.serde(k!("changed"), &rec.changed)?;
    }
    o.opt_uint(k!("ip"), rec.ip);
    if let Some(e) = &rec.error {
        o.str(k!("error"), e);
    }
    if !rec.fds.is_empty() {
        o.serde(k!("fds"), &rec.fds)?;
    }
    if let Some(c) = &rec.caller {
        o.serde(k!("caller"), c)?;
    }
    if !rec.stack.is_empty() {
        o.serde(k!("stack"), &rec.stack)?;
    }
    if !rec.io.is_empty() {
        o.serde(k!("io"), &rec.io)?;
    }
    if rec.kernel32 {
        o.key(k!("kernel32"));
        o.out.extend_from_slice(b"true");
    }
    o.opt_uint(k!("cpu_ns"), rec.cpu_ns);
    o.opt_uint(k!("new_tid"), rec.new_tid.map(u64::from));
    o.opt_uint(k!("ended_by_exec"), rec.ended_by_exec.map(u64::from));
    o.opt_uint(k!("ended_by_exit"), rec.ended_by_exit.map(u64::from));
    out.push(b'}');
    Ok(())
}

/// [`CallState`]'s serde name (snake case).
fn state_name(s: CallState) -> &'static str {
    match s {
        CallState::Complete => "complete",
        CallState::NoReturn => "no_return",
        CallState::Unfinished => "unfinished",
        CallState::Detached => "detached",
        CallState::ChildReturn => "child_return",
        CallState::Signal => "signal",
        CallState::Exited => "exited",
    }
}

/// An object being written: its members, comma separated.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Obj<'_> {
    /// `"key":` (keys are plain ASCII names: nothing to escape).
    /// `k` is the member's `,"key":` as [`k!`] makes it: written in one
    /// piece, its comma left out for the first member (a record has some
    /// twenty members: three pushes each were a tenth of a JSON line's
    /// cost).
    fn key(&mut self, k: &'static str) {
        let k = if self.first {
            self.first = false;
            k.strip_prefix(',').unwrap_or(k)
        } else {
            k
        };
        self.out.extend_from_slice(k.as_bytes());
    }

    fn uint(&mut self, k: &'static str, v: u64) {
        self.key(k);
        push_int(self.out, v);
    }

    fn opt_uint(&mut self, k: &'static str, v: Option<u64>) {
        if let Some(v) = v {
            self.uint(k, v);
        }
    }

    fn str(&mut self, k: &'static str, v: &str) {
        self.key(k);
        push_str(self.out, v);
    }

    /// A member whose value `serde_json` writes.
    fn serde(&mut self, k: &'static str, v: &impl Serialize) -> Result<(), serde_json::Error> {
        self.key(k);
        serde_json::to_writer(&mut *self.out, v)
    }
}

/// An integer in decimal, as serde_json writes it.
fn push_int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(v).as_bytes());
}

/// `s` as a JSON string, escaped as `serde_json` escapes: `"` and `\`,
/// the short escapes of backspace, form feed, newline, carriage return
/// and tab, `\u00xx` (lower-case hex) for the other control characters,
/// everything else (DEL, non-ASCII) as it is.
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    // Nearly every string has nothing to escape: checked without a branch
    // per byte, then written in one piece.
    let plain = bytes
        .iter()
        .fold(true, |ok, &b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\'));
    if plain {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    //! The hand-written line against serde's, byte for byte.

    use std::borrow::Cow;

    use vstrace_core::value::Value;
    use vstrace_core::ArgValue;

    use super::*;
    use crate::record::RetValue;

    fn same(rec: &Record) {
        let mut ours = Vec::new();
        write_record(rec, &mut ours).unwrap();
        let theirs = serde_json::to_vec(rec).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    /// Every character class the escapes treat apart.
    fn awkward() -> String {
        let mut s: String = (0u8..0x80).map(char::from).collect();
        s.push_str("é€😀\u{7f}\"\\/");
        s
    }

    #[test]
    fn an_empty_record_is_serdes() {
        same(&Record::default());
    }

    #[test]
    fn every_field_and_escape_is_serdes() {
        let args = vec![
            ArgValue {
                name: Cow::Borrowed("buf"),
                raw: u64::MAX,
                text: Some(awkward()),
                value: Some(Value::Str(vstrace_core::value::Bytes {
                    bytes: awkward().into_bytes(),
                    truncated: true,
                    escape: vstrace_core::value::Escape::Level(0),
                })),
            },
            ArgValue {
                name: Cow::Owned(awkward()),
                raw: 0,
                text: None,
                value: None,
            },
        ];
        for state in [
            CallState::Complete,
            CallState::NoReturn,
            CallState::Unfinished,
            CallState::Detached,
            CallState::ChildReturn,
            CallState::Signal,
            CallState::Exited,
        ] {
            let mut hook = serde_json::Map::new();
            hook.insert("k\n".into(), serde_json::json!({"a": [1, "x"]}));
            same(&Record {
                seq: u64::MAX,
                vcpu: u32::MAX,
                ts_enter_ns: 1,
                ts_exit_ns: Some(2),
                pid: Some(3),
                tid: Some(4),
                ppid: Some(5),
                comm: Some(awkward().into()),
                cr3: 6,
                os: Cow::Owned(awkward()),
                abi: Cow::Borrowed("x86_64"),
                mechanism: Cow::Borrowed("syscall"),
                nr: 7,
                name: Cow::Borrowed("write"),
                args: args.clone(),
                ret: Some(i64::MIN),
                ret_text: Some(awkward()),
                errno: Some("EBADF".into()),
                ret_value: Some(RetValue {
                    error: Some("EBADF".into()),
                    message: Some(awkward()),
                    ..Default::default()
                }),
                state,
                hook,
                ip: Some(8),
                error: Some(awkward()),
                kernel32: true,
                cpu_ns: Some(9),
                new_tid: Some(10),
                ended_by_exec: Some(11),
                ..Default::default()
            });
        }
    }

    #[test]
    fn strings_escape_as_serde_json_escapes_them() {
        for s in [String::new(), awkward(), "plain".into(), "\"\\".into()] {
            let mut ours = Vec::new();
            push_str(&mut ours, &s);
            assert_eq!(ours, serde_json::to_vec(&s).unwrap());
        }
    }
}
