//! The members of `union bpf_attr` the kernel answers in: strace prints
//! what the caller asked at the entry and the answer at the exit
//! (`next_id=0 => 5`, `BPF_PROG_QUERY`'s ids, `BPF_TASK_FD_QUERY`'s
//! probe, a batch's `count`), the attribute read again then.
//!
//! At the exit the fields printed at the entry are decoded again from
//! the memory and, when they read as the entry showed them, kept typed;
//! else the entry's text stands for them. A value the exit compares
//! with the entry's (`next_id`, `info_len`, `buf_len`, `count`) is taken
//! from the entry's text, where the decoder wrote it.

use super::bpf_attr::{big, bounded_string, cmd, finish, flags, hex, xval};
use super::{fd, Call, Fields};
use crate::xlat::Table as T;
use vstrace_core::value::Name;
use vstrace_core::{StructBuilder, Value};

/// The member's size for the commands finished at the exit.
pub(super) fn member_size(command: u64) -> Option<usize> {
    Some(match command {
        cmd::PROG_GET_NEXT_ID
        | cmd::MAP_GET_NEXT_ID
        | cmd::BTF_GET_NEXT_ID
        | cmd::LINK_GET_NEXT_ID => 12,
        cmd::OBJ_GET_INFO_BY_FD => 16,
        cmd::PROG_QUERY => 28,
        cmd::TASK_FD_QUERY => 48,
        cmd::MAP_LOOKUP_BATCH
        | cmd::MAP_LOOKUP_AND_DELETE_BATCH
        | cmd::MAP_UPDATE_BATCH
        | cmd::MAP_DELETE_BATCH => 56,
        _ => return None,
    })
}

type Fieldset = Vec<(Name, Value)>;

/// What one call of the decoder sees: the caller's bytes, the member
/// (zero-filled past `len`), the entry's text at the exit.
struct Attr<'e> {
    /// The caller's bytes, all `size` of them.
    b: Vec<u8>,
    /// The member's bytes.
    m: Vec<u8>,
    /// How many of the member's bytes the caller gave.
    len: usize,
    /// The member's size.
    size: usize,
    /// At the exit, the entry's text.
    entry: Option<&'e str>,
}

impl Attr<'_> {
    fn f(&self) -> Fields<'_> {
        Fields::new(&self.m, 8)
    }

    /// A number the entry printed as `name=N` (the value now when the
    /// entry is unknown).
    fn entry_num(&self, name: &str, now: u64) -> u64 {
        let Some(t) = self.entry else { return now };
        for sep in ["{", " "] {
            let key = format!("{sep}{name}=");
            if let Some(at) = t.find(&key) {
                let digits: String = t[at + key.len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if let Ok(n) = digits.parse() {
                    return n;
                }
            }
        }
        now
    }
}

/// bpf's attribute `v` of `size` bytes (at most a page) for command
/// `command`, its member `member` bytes.
pub(super) fn attr(
    c: &mut Call<'_, '_>,
    v: u64,
    command: u64,
    size: usize,
    member: usize,
) -> Value {
    let exiting = c.ret.is_some();
    let entry = c.entry().map(str::to_string);
    // The entry printed the address (unreadable then): nothing follows.
    if let Some(t) = entry.as_deref().filter(|t| exiting && !t.starts_with('{')) {
        return Value::Opaque(t.to_string());
    }
    let b = match c.fetch_v(v, size) {
        Ok(b) => b,
        Err(e) => return entry.map_or(e, Value::Opaque),
    };
    let len = size.min(member);
    let mut m = b[..len].to_vec();
    m.resize(member, 0);
    let a = Attr {
        b,
        m,
        len,
        size: member,
        entry: entry.as_deref().filter(|_| exiting),
    };
    match command {
        cmd::OBJ_GET_INFO_BY_FD => obj_get_info_by_fd(c, &a, exiting),
        cmd::PROG_QUERY => prog_query(c, &a, exiting),
        cmd::TASK_FD_QUERY => task_fd_query(c, &a, exiting),
        cmd::MAP_LOOKUP_BATCH
        | cmd::MAP_LOOKUP_AND_DELETE_BATCH
        | cmd::MAP_UPDATE_BATCH
        | cmd::MAP_DELETE_BATCH => batch(c, &a, command, exiting),
        _ => get_next_id(c, &a, exiting),
    }
}

/// A structure of `fields`, inside `outer={...}` when there is one.
fn wrap(outer: Option<&'static str>, fields: Fieldset) -> Value {
    let inner = Value::Struct {
        fields,
        more: false,
    };
    match outer {
        Some(name) => Value::Struct {
            fields: vec![(Name::Borrowed(name), inner)],
            more: false,
        },
        None => inner,
    }
}

/// The entry's fields at the exit: `fields` decoded again when they read
/// as the entry showed them, else the entry's text (its fields without
/// the braces around them).
fn resume(a: &Attr<'_>, outer: Option<&'static str>, fields: Fieldset) -> Fieldset {
    let Some(t) = a.entry else { return fields };
    if wrap(outer, fields.clone()).render() == t {
        return fields;
    }
    let open = outer.map_or(1, |o| o.len() + 3);
    let close = if outer.is_some() { 2 } else { 1 };
    let inner = t.get(open..t.len().saturating_sub(close)).unwrap_or(t);
    vec![(Name::Borrowed(""), Value::Opaque(inner.to_string()))]
}

/// `name=before => after` as the last of `fields` when the value
/// changed (after the entry's text, when that stands for the fields).
fn changed(fields: &mut Fieldset, before: u64, now: u64) {
    if before == now {
        return;
    }
    if let Some((name, v)) = fields.last_mut() {
        if name.is_empty() {
            if let Value::Opaque(t) = v {
                t.push_str(&format!(" => {now}"));
            }
        } else {
            let old = std::mem::replace(v, Value::Null);
            *v = Value::Changed {
                before: Box::new(old),
                after: Box::new(Value::dec(now)),
            };
        }
    }
}

/// The structure of `fields`, in `outer` when there is one, then the
/// caller's bytes past the member.
fn done(c: &Call<'_, '_>, a: &Attr<'_>, outer: Option<&'static str>, fields: Fieldset) -> Value {
    let mut s = StructBuilder::new();
    match outer {
        Some(name) => {
            s.field(
                name,
                Value::Struct {
                    fields,
                    more: false,
                },
            );
        }
        None => {
            for (n, v) in fields {
                s.field(n, v);
            }
        }
    }
    finish(c, &mut s, &a.b, a.size)
}

/// `BPF_{PROG,MAP,BTF,LINK}_GET_NEXT_ID`: the id the kernel found after
/// `next_id=`, then the open flags.
fn get_next_id(c: &mut Call<'_, '_>, a: &Attr<'_>, exiting: bool) -> Value {
    let f = a.f();
    let next = f.u32(4);
    let ask = |next: u64| -> Fieldset {
        vec![
            (Name::Borrowed("start_id"), Value::dec(f.u32(0))),
            (Name::Borrowed("next_id"), Value::dec(next)),
        ]
    };
    if !exiting {
        return wrap(None, ask(next));
    }
    let before = a.entry_num("next_id", next);
    let mut fields = resume(a, None, ask(before));
    changed(&mut fields, before, next);
    if a.len > 8 {
        fields.push((
            Name::Borrowed("open_flags"),
            flags(c, T::BpfFileModeFlags, f.u32(8)),
        ));
    }
    done(c, a, None, fields)
}

/// `BPF_OBJ_GET_INFO_BY_FD`, printed as `info={...}`: the length the
/// kernel wrote, then the buffer's address (strace decodes the buffer
/// only for descriptors it knows to be maps or programs).
fn obj_get_info_by_fd(c: &mut Call<'_, '_>, a: &Attr<'_>, exiting: bool) -> Value {
    let f = a.f();
    let info_len = f.u32(4);
    let ask = |len: u64| -> Fieldset {
        vec![
            (Name::Borrowed("bpf_fd"), fd(f.u32(0))),
            (Name::Borrowed("info_len"), Value::dec(len)),
        ]
    };
    if !exiting {
        return wrap(Some("info"), ask(info_len));
    }
    let before = a.entry_num("info_len", info_len);
    let mut fields = resume(a, Some("info"), ask(before));
    changed(&mut fields, before, info_len);
    fields.push((Name::Borrowed("info"), Value::ptr(f.u64(8))));
    done(c, a, Some("info"), fields)
}

/// `BPF_PROG_QUERY`, printed as `query={...}`: the program ids and count
/// the kernel wrote.
fn prog_query(c: &mut Call<'_, '_>, a: &Attr<'_>, exiting: bool) -> Value {
    let f = a.f();
    let ask = vec![
        (Name::Borrowed("target_fd"), fd(f.u32(0))),
        (
            Name::Borrowed("attach_type"),
            xval(c, T::BpfAttachType, f.u32(4)),
        ),
        (
            Name::Borrowed("query_flags"),
            flags(c, T::BpfQueryFlags, f.u32(8)),
        ),
        (
            Name::Borrowed("attach_flags"),
            flags(c, T::BpfAttachFlags, f.u32(12)),
        ),
    ];
    if !exiting {
        return wrap(Some("query"), ask);
    }
    let mut fields = resume(a, Some("query"), ask);
    let cnt = f.u32(24);
    let failed = c.failed();
    let ids = big(c, f.u64(16), |c, va| {
        // strace's print_array: an empty array before a read, which a
        // failed call's buffer does not get.
        if va != 0 && cnt != 0 && failed {
            return Value::ptr(va);
        }
        c.array_v(va, cnt, 4, |_, b| Value::dec(Fields::new(b, 4).u32(0)))
    });
    fields.push((Name::Borrowed("prog_ids"), ids));
    fields.push((Name::Borrowed("prog_cnt"), Value::dec(cnt)));
    done(c, a, Some("query"), fields)
}

/// `BPF_TASK_FD_QUERY`, printed as `task_fd_query={...}`: what the
/// kernel found of the descriptor.
fn task_fd_query(c: &mut Call<'_, '_>, a: &Attr<'_>, exiting: bool) -> Value {
    let f = a.f();
    let buf_len = f.u32(12);
    let ask = |len: u64| -> Fieldset {
        vec![
            (Name::Borrowed("pid"), Value::dec(f.u32(0) as u32 as i32)),
            (Name::Borrowed("fd"), fd(f.u32(4))),
            (Name::Borrowed("flags"), Value::dec(f.u32(8))),
            (Name::Borrowed("buf_len"), Value::dec(len)),
        ]
    };
    if !exiting {
        return wrap(Some("task_fd_query"), ask(buf_len));
    }
    let before = a.entry_num("buf_len", buf_len);
    let mut fields = resume(a, Some("task_fd_query"), ask(before));
    changed(&mut fields, before, buf_len);
    let shown = before.min(buf_len);
    let buf = big(c, f.u64(16), |c, va| bounded_string(c, va, shown));
    fields.push((Name::Borrowed("buf"), buf));
    fields.push((Name::Borrowed("prog_id"), Value::dec(f.u32(24))));
    fields.push((
        Name::Borrowed("fd_type"),
        xval(c, T::BpfTaskFdType, f.u32(28)),
    ));
    fields.push((Name::Borrowed("probe_offset"), hex(f.u64(32))));
    fields.push((Name::Borrowed("probe_addr"), hex(f.u64(40))));
    done(c, a, Some("task_fd_query"), fields)
}

/// The batch operations, printed as `batch={...}` at the entry; at the
/// exit ` => {batch={count=N}}` when the kernel changed the count.
fn batch(c: &mut Call<'_, '_>, a: &Attr<'_>, command: u64, exiting: bool) -> Value {
    let f = a.f();
    let count = f.u32(32);
    let ask = |c: &mut Call<'_, '_>, count: u64| -> Value {
        let mut t = StructBuilder::new();
        if matches!(
            command,
            cmd::MAP_LOOKUP_BATCH | cmd::MAP_LOOKUP_AND_DELETE_BATCH
        ) {
            t.field("in_batch", Value::ptr(f.u64(0)))
                .field("out_batch", Value::ptr(f.u64(8)));
        }
        t.field("keys", Value::ptr(f.u64(16)));
        if command != cmd::MAP_DELETE_BATCH {
            t.field("values", Value::ptr(f.u64(24)));
        }
        t.dec("count", count)
            .field("map_fd", fd(f.u32(36)))
            .field("elem_flags", flags(c, T::BpfMapLookupElemFlags, f.u64(40)))
            .field("flags", hex(f.u64(48)));
        let mut s = StructBuilder::new();
        s.field("batch", t.done());
        finish(c, &mut s, &a.b, a.size)
    };
    if !exiting {
        return ask(c, count);
    }
    let before_count = a.entry_num("count", count);
    let again = ask(c, before_count);
    let before = match a.entry {
        Some(t) if again.render() != t => Value::Opaque(t.to_string()),
        _ => again,
    };
    if before_count == count {
        return before;
    }
    let mut n = StructBuilder::new();
    n.dec("count", count);
    let mut s = StructBuilder::new();
    s.field("batch", n.done());
    Value::Changed {
        before: Box::new(before),
        after: Box::new(s.done()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::bpf_attr::line;
    use crate::proto::LinuxAbi::X86_64;
    use vstrace_core::testmem::SparseVirt;

    const EINVAL: i64 = -22;

    fn words(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn get_next_id_at_entry_and_exit() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &words(&[5, 0, 0xffff_ff27]));
        let l = line(X86_64, &[11, 0x1000, 12, 0, 0, 0], EINVAL, &mut m, false);
        assert!(
            l.contains("{start_id=5, next_id=0, open_flags=0xffffff27 /* BPF_F_??? */}, 12)"),
            "{l}"
        );
        let l = line(X86_64, &[11, 0x1000, 8, 0, 0, 0], EINVAL, &mut m, false);
        assert!(l.contains("{start_id=5, next_id=0}, 8)"), "{l}");
    }

    #[test]
    fn values_the_kernel_changed_show_both() {
        use crate::decode::{decode_enter, decode_exit, format_call, format_return};
        let o = vstrace_core::DecodeOptions::default();
        let d = crate::proto::by_name(X86_64, "bpf").unwrap();
        let mut m = SparseVirt::new();
        m.map(0x1000, &words(&[5, 0, 0]));
        let raw = [12, 0x1000, 12, 0, 0, 0];
        let mut a = decode_enter(d, X86_64, &raw, &mut m, &o);
        // The kernel answers with id 9.
        m.map(0x1004, &words(&[9]));
        decode_exit(d, X86_64, &raw, 0, &mut m, &o, &mut a);
        let l = format_call(d, &a, Some(&format_return(d, X86_64, 0)));
        assert!(
            l.contains("{start_id=5, next_id=0 => 9, open_flags=0}"),
            "{l}"
        );

        // A batch's count.
        let mut b = vec![0u8; 56];
        b[32..36].copy_from_slice(&3u32.to_le_bytes());
        m.map(0x2000, &b);
        let raw = [24, 0x2000, 56, 0, 0, 0];
        let mut a = decode_enter(d, X86_64, &raw, &mut m, &o);
        m.map(0x2020, &words(&[1]));
        decode_exit(d, X86_64, &raw, 0, &mut m, &o, &mut a);
        let l = format_call(d, &a, Some(&format_return(d, X86_64, 0)));
        assert!(
            l.contains(
                "count=3, map_fd=0, elem_flags=BPF_ANY, flags=0}} => {batch={count=1}}, 56)"
            ),
            "{l}"
        );
    }

    #[test]
    fn prog_query_ids_only_after_success() {
        let mut m = SparseVirt::new();
        let mut b = words(&[u32::MAX, 0, 1, 0]);
        b.extend_from_slice(&0x3000u64.to_le_bytes());
        b.extend_from_slice(&words(&[2]));
        m.map(0x1000, &b);
        m.map(0x3000, &words(&[7, 8]));
        let raw = [16, 0x1000, 28, 0, 0, 0];
        let l = line(X86_64, &raw, EINVAL, &mut m, false);
        assert!(
            l.contains(
                "query_flags=BPF_F_QUERY_EFFECTIVE, attach_flags=0, prog_ids=0x3000, prog_cnt=2}}"
            ),
            "{l}"
        );
        let l = line(X86_64, &raw, 0, &mut m, false);
        assert!(l.contains("prog_ids=[7, 8], prog_cnt=2}}"), "{l}");
    }

    #[test]
    fn task_fd_query_and_obj_info() {
        let mut m = SparseVirt::new();
        let mut b = words(&[1, 3, 0, 4]);
        b.extend_from_slice(&0x3000u64.to_le_bytes());
        b.extend_from_slice(&words(&[9, 1]));
        b.extend_from_slice(&[0; 16]);
        m.map(0x1000, &b);
        m.map(0x3000, b"ab\0");
        let l = line(X86_64, &[20, 0x1000, 48, 0, 0, 0], 0, &mut m, false);
        assert!(
            l.contains(
                "{task_fd_query={pid=1, fd=3, flags=0, buf_len=4, buf=\"ab\", prog_id=9, \
                 fd_type=BPF_FD_TYPE_TRACEPOINT, probe_offset=0, probe_addr=0}}"
            ),
            "{l}"
        );
        let l = line(X86_64, &[15, 0x1000, 16, 0, 0, 0], EINVAL, &mut m, false);
        assert!(
            l.contains("{info={bpf_fd=1, info_len=3, info=0x400000000}}"),
            "{l}"
        );
    }
}
