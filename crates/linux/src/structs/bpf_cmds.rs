//! The members of `union bpf_attr` that bpf(2) only reads (printed at
//! the entry), one printer per command (strace's `BPF_*_struct`
//! layouts). Each gets the member zero-filled past the `len` bytes the
//! caller gave and stops before the first field those bytes do not
//! reach, as strace does; the returned size, when any, replaces the
//! member's as where extra data starts (`BPF_LINK_CREATE`'s union).

use super::bpf_attr::{big, bounded_string, bytes, flags, hex, ifindex, path, string, xval};
use super::{fd, Call, Fields};
use crate::xlat::Table as T;
use vstrace_core::{StructBuilder, Value};

/// `BPF_OBJ_NAME_LEN`.
const OBJ_NAME_LEN: usize = 16;
/// `BPF_F_NUMA_NODE`: `numa_node` is meaningful.
const F_NUMA_NODE: u64 = 4;
/// `BPF_F_REPLACE`: `old_prog_fd` is meaningful.
const F_REPLACE: u64 = 4;
/// Attach types with a member of their own in `BPF_LINK_CREATE`.
const TRACE_ITER: u64 = 28;
const PERF_EVENT: u64 = 41;
const TRACE_KPROBE_MULTI: u64 = 42;
/// strace's bound on a raw tracepoint's name.
const TP_NAME_SIZE: u64 = 128;

type Out = Option<usize>;

/// `BPF_MAP_CREATE`.
pub(super) fn map_create(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    len: usize,
    s: &mut StructBuilder,
) -> Out {
    s.field("map_type", xval(c, T::BpfMapTypes, f.u32(0)))
        .dec("key_size", f.u32(4))
        .dec("value_size", f.u32(8))
        .dec("max_entries", f.u32(12));
    if len <= 16 {
        return None;
    }
    let map_flags = f.u32(16);
    s.field("map_flags", flags(c, T::BpfMapFlags, map_flags));
    if len <= 20 {
        return None;
    }
    s.field("inner_map_fd", fd(f.u32(20)));
    if len <= 24 {
        return None;
    }
    if map_flags & F_NUMA_NODE != 0 {
        // The number always, NUMA_NO_NODE (-1) named in a comment: the
        // name is not in the uapi headers.
        let node = f.u32(24);
        let name = T::NumaNode.xlat().lookup(c.abi, node);
        s.field(
            "numa_node",
            Value::Const(vstrace_core::value::Const {
                raw: i128::from(node),
                base: vstrace_core::value::Base::Dec,
                name: name.map(vstrace_core::value::Name::Borrowed),
                comment: name.map(vstrace_core::value::Name::Borrowed),
            }),
        );
    }
    if len <= 28 {
        return None;
    }
    let name_len = OBJ_NAME_LEN.min(len - 28);
    s.field("map_name", super::ioctl::cstring_v(&f.b[28..28 + name_len]));
    if len <= 44 {
        return None;
    }
    s.field("map_ifindex", ifindex(f.u32(44)));
    if len <= 48 {
        return None;
    }
    s.field("btf_fd", fd(f.u32(48)))
        .dec("btf_key_type_id", f.u32(52))
        .dec("btf_value_type_id", f.u32(56));
    if len <= 60 {
        return None;
    }
    s.dec("btf_vmlinux_value_type_id", f.u32(60));
    if len <= 64 {
        return None;
    }
    s.dec("map_extra", f.u64(64));
    None
}

/// `BPF_MAP_LOOKUP_ELEM`, `BPF_MAP_LOOKUP_AND_DELETE_ELEM`.
pub(super) fn map_lookup_elem(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    len: usize,
    s: &mut StructBuilder,
) -> Out {
    s.field("map_fd", fd(f.u32(0)))
        .field("key", Value::ptr(f.u64(8)))
        .field("value", Value::ptr(f.u64(16)));
    if len <= 24 {
        return None;
    }
    s.field("flags", flags(c, T::BpfMapLookupElemFlags, f.u64(24)));
    None
}

/// `BPF_MAP_UPDATE_ELEM`.
pub(super) fn map_update_elem(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    _: usize,
    s: &mut StructBuilder,
) -> Out {
    s.field("map_fd", fd(f.u32(0)))
        .field("key", Value::ptr(f.u64(8)))
        .field("value", Value::ptr(f.u64(16)))
        .field("flags", xval(c, T::BpfMapUpdateElemFlags, f.u64(24)));
    None
}

/// `BPF_MAP_DELETE_ELEM`.
pub(super) fn map_delete_elem(
    _: &mut Call<'_, '_>,
    f: &Fields<'_>,
    _: usize,
    s: &mut StructBuilder,
) -> Out {
    s.field("map_fd", fd(f.u32(0)))
        .field("key", Value::ptr(f.u64(8)));
    None
}

/// `BPF_MAP_GET_NEXT_KEY`.
pub(super) fn map_get_next_key(
    _: &mut Call<'_, '_>,
    f: &Fields<'_>,
    _: usize,
    s: &mut StructBuilder,
) -> Out {
    s.field("map_fd", fd(f.u32(0)))
        .field("key", Value::ptr(f.u64(8)))
        .field("next_key", Value::ptr(f.u64(16)));
    None
}

/// `BPF_MAP_FREEZE`.
pub(super) fn map_freeze(
    _: &mut Call<'_, '_>,
    f: &Fields<'_>,
    _: usize,
    s: &mut StructBuilder,
) -> Out {
    s.field("map_fd", fd(f.u32(0)));
    None
}

/// `BPF_OBJ_PIN`, `BPF_OBJ_GET`.
pub(super) fn obj_pin(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    len: usize,
    s: &mut StructBuilder,
) -> Out {
    let pathname = big(c, f.u64(0), path);
    s.field("pathname", pathname).field("bpf_fd", fd(f.u32(8)));
    if len <= 12 {
        return None;
    }
    s.field("file_flags", flags(c, T::BpfFileModeFlags, f.u32(12)));
    None
}

/// `BPF_PROG_ATTACH`.
pub(super) fn prog_attach(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    len: usize,
    s: &mut StructBuilder,
) -> Out {
    s.field("target_fd", fd(f.u32(0)))
        .field("attach_bpf_fd", fd(f.u32(4)))
        .field("attach_type", xval(c, T::BpfAttachType, f.u32(8)))
        .field("attach_flags", flags(c, T::BpfAttachFlags, f.u32(12)));
    if len <= 16 {
        return None;
    }
    s.field("replace_bpf_fd", fd(f.u32(16)));
    None
}

/// `BPF_PROG_DETACH`.
pub(super) fn prog_detach(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    _: usize,
    s: &mut StructBuilder,
) -> Out {
    s.field("target_fd", fd(f.u32(0)))
        .field("attach_type", xval(c, T::BpfAttachType, f.u32(8)));
    None
}

/// `BPF_PROG_TEST_RUN`, printed as `test={...}`.
pub(super) fn prog_test_run(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    len: usize,
    s: &mut StructBuilder,
) -> Out {
    let mut t = StructBuilder::new();
    t.field("prog_fd", fd(f.u32(0)))
        .dec("retval", f.u32(4))
        .dec("data_size_in", f.u32(8))
        .dec("data_size_out", f.u32(12))
        .field("data_in", Value::ptr(f.u64(16)))
        .field("data_out", Value::ptr(f.u64(24)))
        .dec("repeat", f.u32(32))
        .dec("duration", f.u32(36));
    if len > 40 {
        t.dec("ctx_size_in", f.u32(40))
            .dec("ctx_size_out", f.u32(44))
            .field("ctx_in", Value::ptr(f.u64(48)))
            .field("ctx_out", Value::ptr(f.u64(56)));
    }
    if len > 64 {
        t.field("flags", flags(c, T::BpfTestRunFlags, f.u32(64)))
            .dec("cpu", f.u32(68));
    }
    if len > 72 {
        t.dec("batch_size", f.u32(72));
    }
    s.field("test", t.done());
    None
}

/// `BPF_PROG_GET_FD_BY_ID`, `BPF_MAP_GET_FD_BY_ID`: the id field's name.
fn get_fd_by_id(
    c: &Call<'_, '_>,
    id: &'static str,
    f: &Fields<'_>,
    len: usize,
    s: &mut StructBuilder,
) -> Out {
    s.dec(id, f.u32(0)).dec("next_id", f.u32(4));
    if len <= 8 {
        return None;
    }
    s.field("open_flags", flags(c, T::BpfFileModeFlags, f.u32(8)));
    None
}

/// `BPF_PROG_GET_FD_BY_ID`.
pub(super) fn prog_get_fd_by_id(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    len: usize,
    s: &mut StructBuilder,
) -> Out {
    get_fd_by_id(c, "prog_id", f, len, s)
}

/// `BPF_MAP_GET_FD_BY_ID`.
pub(super) fn map_get_fd_by_id(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    len: usize,
    s: &mut StructBuilder,
) -> Out {
    get_fd_by_id(c, "map_id", f, len, s)
}

/// `BPF_RAW_TRACEPOINT_OPEN`, printed as `raw_tracepoint={...}`.
pub(super) fn raw_tracepoint_open(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    _: usize,
    s: &mut StructBuilder,
) -> Out {
    let name = big(c, f.u64(0), |c, a| bounded_string(c, a, TP_NAME_SIZE));
    let mut t = StructBuilder::new();
    t.field("name", name).field("prog_fd", fd(f.u32(8)));
    s.field("raw_tracepoint", t.done());
    None
}

/// `BPF_BTF_LOAD`.
pub(super) fn btf_load(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    _: usize,
    s: &mut StructBuilder,
) -> Out {
    let size = f.u32(16);
    let btf = big(c, f.u64(0), |c, a| bytes(c, a, size));
    s.field("btf", btf)
        .field("btf_log_buf", Value::ptr(f.u64(8)))
        .dec("btf_size", size)
        .dec("btf_log_size", f.u32(20))
        .dec("btf_log_level", f.u32(24));
    None
}

/// `BPF_BTF_GET_FD_BY_ID`.
pub(super) fn btf_get_fd_by_id(
    _: &mut Call<'_, '_>,
    f: &Fields<'_>,
    _: usize,
    s: &mut StructBuilder,
) -> Out {
    s.dec("btf_id", f.u32(0));
    None
}

/// `BPF_LINK_GET_FD_BY_ID`.
pub(super) fn link_get_fd_by_id(
    _: &mut Call<'_, '_>,
    f: &Fields<'_>,
    _: usize,
    s: &mut StructBuilder,
) -> Out {
    s.dec("link_id", f.u32(0));
    None
}

/// `BPF_LINK_UPDATE`, printed as `link_update={...}`.
pub(super) fn link_update(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    _: usize,
    s: &mut StructBuilder,
) -> Out {
    let fl = f.u32(8);
    let mut t = StructBuilder::new();
    t.field("link_fd", fd(f.u32(0)))
        .field("new_prog_fd", fd(f.u32(4)))
        .field("flags", flags(c, T::BpfAttachFlags, fl));
    if fl & F_REPLACE != 0 {
        t.field("old_prog_fd", fd(f.u32(12)));
    }
    s.field("link_update", t.done());
    None
}

/// `BPF_LINK_CREATE`, printed as `link_create={...}`: the union after
/// the common fields is taken by the attach type, as strace guesses it.
pub(super) fn link_create(
    c: &mut Call<'_, '_>,
    f: &Fields<'_>,
    len: usize,
    s: &mut StructBuilder,
) -> Out {
    let attach_type = f.u32(8);
    let mut t = StructBuilder::new();
    t.field("prog_fd", fd(f.u32(0)))
        .field("target_fd", fd(f.u32(4)))
        .field("attach_type", xval(c, T::BpfAttachType, attach_type))
        .field("flags", hex(f.u32(12)));
    let mut attr_size = None;
    if len > 16 {
        attr_size = Some(match attach_type {
            // BPF_CGROUP_INET_INGRESS (0) is how an extension program
            // attaches: its target BTF id, when set.
            0 => {
                if f.u32(16) != 0 {
                    t.dec("target_btf_id", f.u32(16));
                }
                20
            }
            TRACE_ITER => {
                let n = f.u32(24);
                let info = big(c, f.u64(16), |c, a| {
                    c.array_v(a, n, 4, |_, b| {
                        let mut m = StructBuilder::new();
                        m.field("map_fd", fd(Fields::new(b, 8).u32(0)));
                        let mut o = StructBuilder::new();
                        o.field("map", m.done());
                        o.done()
                    })
                });
                t.field("iter_info", info).dec("iter_info_len", n);
                28
            }
            PERF_EVENT => {
                let mut p = StructBuilder::new();
                p.field("bpf_cookie", hex(f.u64(16)));
                t.field("perf_event", p.done());
                24
            }
            TRACE_KPROBE_MULTI => {
                t.field("kprobe_multi", kprobe_multi(c, f));
                48
            }
            // Nothing known in the union: its bytes are extra data.
            _ => 16,
        });
    }
    s.field("link_create", t.done());
    attr_size
}

/// `BPF_LINK_CREATE`'s `kprobe_multi`: `cnt` symbol names (pointers of
/// the caller's width), addresses and cookies.
fn kprobe_multi(c: &mut Call<'_, '_>, f: &Fields<'_>) -> Value {
    let cnt = f.u32(20);
    let word = c.long_size();
    let syms = big(c, f.u64(24), |c, a| {
        c.array_v(a, cnt, word, |c, b| {
            let p = Fields::new(b, word).ulong(0);
            string(c, p)
        })
    });
    let addrs = big(c, f.u64(32), |c, a| {
        c.array_v(a, cnt, 8, |_, b| hex(Fields::new(b, 8).u64(0)))
    });
    let cookies = big(c, f.u64(40), |c, a| {
        c.array_v(a, cnt, 8, |_, b| hex(Fields::new(b, 8).u64(0)))
    });
    let mut k = StructBuilder::new();
    k.field(
        "flags",
        flags(c, T::BpfLinkCreateKprobeMultiFlags, f.u32(16)),
    )
    .dec("cnt", cnt)
    .field("syms", syms)
    .field("addrs", addrs)
    .field("cookies", cookies);
    k.done()
}

#[cfg(test)]
mod tests {
    use super::super::bpf_attr::line;
    use crate::proto::LinuxAbi::{I386, X86_64};
    use vstrace_core::testmem::SparseVirt;

    const EBADF: i64 = -9;

    fn words(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn map_create_stops_at_the_callers_size() {
        let mut m = SparseVirt::new();
        // BPF_MAP_TYPE_ARRAY, flags BPF_F_NUMA_NODE, numa_node -1.
        m.map(0x1000, &words(&[2, 4, 8, 16, 4, u32::MAX, u32::MAX]));
        let l = line(X86_64, &[0, 0x1000, 16, 0, 0, 0], EBADF, &mut m, false);
        assert!(
            l.contains(
                "{map_type=BPF_MAP_TYPE_ARRAY, key_size=4, value_size=8, max_entries=16}, 16)"
            ),
            "{l}"
        );
        let l = line(I386, &[0, 0x1000, 28, 0, 0, 0], EBADF, &mut m, false);
        assert!(
            l.contains("map_flags=BPF_F_NUMA_NODE, inner_map_fd=-1, numa_node=4294967295 /* NUMA_NO_NODE */}"),
            "{l}"
        );
    }

    #[test]
    fn update_flags_are_a_value_and_zero_flags_have_a_name() {
        let mut m = SparseVirt::new();
        let mut b = words(&[u32::MAX, 0, 0xdead, 0, 0, 0]);
        b.extend_from_slice(&2u64.to_le_bytes());
        m.map(0x1000, &b);
        let l = line(X86_64, &[2, 0x1000, 32, 0, 0, 0], EBADF, &mut m, false);
        assert!(
            l.contains("{map_fd=-1, key=0xdead, value=NULL, flags=BPF_EXIST}"),
            "{l}"
        );
        m.map(0x1000, &[0; 8]);
        let l = line(X86_64, &[27, 0x1000, 56, 0, 0, 0], EBADF, &mut m, false);
        assert!(l.contains("elem_flags=BPF_ANY, flags=0}}"), "{l}");
    }

    #[test]
    fn link_create_union_by_attach_type() {
        let mut m = SparseVirt::new();
        // BPF_PERF_EVENT: the cookie; an unknown type: the union is extra.
        let mut b = words(&[3, 4, 41, 0]);
        b.extend_from_slice(&0xc0ffeeu64.to_le_bytes());
        m.map(0x1000, &b);
        let l = line(X86_64, &[28, 0x1000, 24, 0, 0, 0], EBADF, &mut m, false);
        assert!(
            l.contains("attach_type=BPF_PERF_EVENT, flags=0, perf_event={bpf_cookie=0xc0ffee}}}"),
            "{l}"
        );
        m.map(0x1008, &words(&[0xff]));
        let l = line(X86_64, &[28, 0x1000, 24, 0, 0, 0], EBADF, &mut m, false);
        assert!(
            l.contains("attach_type=0xff /* BPF_??? */, flags=0}, ...}"),
            "{l}"
        );
    }

    #[test]
    fn paths_and_strings_unreadable_show_addresses() {
        let mut m = SparseVirt::new();
        let mut b = 0x5000u64.to_le_bytes().to_vec();
        b.extend_from_slice(&words(&[7, 0]));
        m.map(0x1000, &b);
        let l = line(X86_64, &[6, 0x1000, 16, 0, 0, 0], EBADF, &mut m, false);
        assert!(
            l.contains("{pathname=0x5000, bpf_fd=7, file_flags=0}"),
            "{l}"
        );
        m.map(0x5000, b"/sys/fs/bpf/x\0");
        let l = line(X86_64, &[7, 0x1000, 12, 0, 0, 0], EBADF, &mut m, false);
        assert!(l.contains("{pathname=\"/sys/fs/bpf/x\", bpf_fd=7}"), "{l}");
    }
}
