//! Trusted Execution Environment ioctls (type 0xa4) as strace 6.1 prints
//! them: the driver's version, sessions opened, invoked, cancelled and
//! closed, the supplicant's requests and answers, shared memory
//! allocated or registered (also the `TEE_IOC_SHM_REGISTER_FD` request
//! no upstream header has, which strace decodes by its number).
//!
//! The session and supplicant requests pass a `struct tee_ioctl_buf_data`
//! pointing at the real argument, followed by its parameters: strace
//! reads it only when its length is plausible (at most
//! `TEE_MAX_ARG_SIZE`, at least the argument's size, and at the entry
//! exactly the argument and its parameters), else it shows the buffer
//! descriptor alone. What the kernel writes back is shown inside the
//! descriptor's `buf_ptr` after ` => `. Every structure here has the
//! same layout in both ABIs.

use vstrace_core::value::Base;
use vstrace_core::{StructBuilder, Value as V};

use super::ioctl::{entry_again, Kind};
use super::{fd, Call, Fields};
use crate::fmt;
use crate::xlat::{Radix, Table as T};

/// `TEE_MAX_ARG_SIZE`: the longest buffer the kernel takes.
const MAX_ARG_SIZE: u64 = 1024;
/// `sizeof(struct tee_ioctl_param)`.
const PARAM: u64 = 32;
/// `TEE_IOCTL_PARAM_ATTR_META`: a flag beside the parameter's type.
const ATTR_META: u64 = 0x100;
/// `TEE_IMPL_ID_OPTEE`: its capabilities have names.
const IMPL_OPTEE: u64 = 1;
/// `TEE_IOC_SHM_REGISTER_FD`, `_IOWR(0xa4, 8, 32 bytes)`: not in the
/// kernel's headers, so it has no name, but strace decodes it.
const SHM_REGISTER_FD: u32 = 0xc020_a408;

/// The decoder of TEE request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::*;
    Some(match name {
        "TEE_IOC_VERSION" => OutV(version),
        "TEE_IOC_OPEN_SESSION" => {
            EntryExitV(|c, v| Req::Open.entry(c, v), |c, v| Req::Open.exit(c, v))
        }
        "TEE_IOC_INVOKE" => EntryExitV(
            |c, v| Req::Invoke.entry(c, v),
            |c, v| Req::Invoke.exit(c, v),
        ),
        "TEE_IOC_SUPPL_RECV" => {
            EntryExitV(|c, v| Req::Recv.entry(c, v), |c, v| Req::Recv.exit(c, v))
        }
        "TEE_IOC_SUPPL_SEND" => {
            EntryExitV(|c, v| Req::Send.entry(c, v), |c, v| Req::Send.exit(c, v))
        }
        "TEE_IOC_CANCEL" => InV(cancel),
        "TEE_IOC_CLOSE_SESSION" => InV(|c, v| {
            let b = match c.fetch_v(v, 4) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let f = Fields::new(&b, 4);
            StructBuilder::new().field("session", hex(f.u32(0))).done()
        }),
        "TEE_IOC_SHM_ALLOC" => InOutV(
            |c, v| shm_alloc(c, v, false),
            |c, v| Some(shm_alloc(c, v, true)),
        ),
        "TEE_IOC_SHM_REGISTER" => InOutV(
            |c, v| shm_register(c, v, false),
            |c, v| Some(shm_register(c, v, true)),
        ),
        _ => return None,
    })
}

/// The decoder of the TEE request numbered `code` without a name.
pub(super) fn kind_of_code(code: u32) -> Option<Kind> {
    (code == SHM_REGISTER_FD).then_some(Kind::InOutV(
        |c, v| shm_register_fd(c, v, false),
        |c, v| Some(shm_register_fd(c, v, true)),
    ))
}

/// A `__u32`/`__u64` in hex (strace's `PRINT_FIELD_X`).
fn hex(v: u64) -> V {
    V::int(v, Base::Hex)
}

/// A 64-bit address field (`PRINT_FIELD_ADDR64`).
fn addr64(v: u64) -> V {
    V::ptr(v)
}

/// A UUID as `01234567-89ab-cdef-fedc-ba9876543210` (strace's
/// `print_uuid`).
pub(super) fn uuid(b: &[u8]) -> V {
    let mut s = String::with_capacity(36);
    for (i, x) in b.iter().take(16).enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{x:02x}"));
    }
    V::Opaque(s)
}

/// `struct tee_ioctl_version_data`.
fn version(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match c.fetch_v(v, 12) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 4);
    let id = f.u32(0);
    let mut s = StructBuilder::new();
    s.field(
        "impl_id",
        fmt::xval_v(c.abi, T::TeeIoctlImplIds, id, Radix::Hex),
    )
    .field(
        "gen_caps",
        fmt::xflags_v(c.abi, &[T::TeeIoctlGenCaps], f.u32(8), true, false),
    );
    let caps = f.u32(4);
    if id == IMPL_OPTEE {
        s.field(
            "impl_caps",
            fmt::xflags_v(c.abi, &[T::TeeIoctlOpteeCaps], caps, true, false),
        );
    } else {
        s.field("impl_caps", hex(caps));
    }
    s.done()
}

/// `struct tee_ioctl_cancel_arg`.
fn cancel(c: &mut Call<'_, '_>, v: u64) -> V {
    let b = match c.fetch_v(v, 8) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 4);
    StructBuilder::new()
        .dec("cancel_id", f.u32(0))
        .field("session", hex(f.u32(4)))
        .done()
}

/// The shared-memory flags (`TEE_IOCTL_SHM_*`).
fn shm_flags(c: &Call<'_, '_>, v: u64) -> V {
    fmt::xflags_v(c.abi, &[T::TeeIoctlShmFlags], v, true, false)
}

/// `struct tee_ioctl_shm_alloc_data`: what is asked, then (`out`) what
/// the kernel allocated.
fn shm_alloc(c: &mut Call<'_, '_>, v: u64, out: bool) -> V {
    let b = match c.fetch_v(v, 16) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    s.field("size", hex(f.u64(0)))
        .field("flags", shm_flags(c, f.u32(8)));
    if out {
        s.dec("id", f.i32(12));
    }
    s.done()
}

/// `struct tee_ioctl_shm_register_data`.
fn shm_register(c: &mut Call<'_, '_>, v: u64, out: bool) -> V {
    let b = match c.fetch_v(v, 24) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    if !out {
        s.field("addr", addr64(f.u64(0)));
    }
    s.field("length", hex(f.u64(8)))
        .field("flags", shm_flags(c, f.u32(16)));
    if out {
        s.dec("id", f.i32(20));
    }
    s.done()
}

/// strace's own `struct tee_ioctl_shm_register_fd_data`: a descriptor
/// and flags in, a size and an id out.
fn shm_register_fd(c: &mut Call<'_, '_>, v: u64, out: bool) -> V {
    let b = match c.fetch_v(v, 32) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 8);
    let mut s = StructBuilder::new();
    if out {
        s.field("size", hex(f.u64(8))).dec("id", f.i32(24));
    } else {
        // The descriptor is an `__s64`; strace prints it as an int.
        s.field("fd", fd(f.u64(0)))
            .field("flags", shm_flags(c, f.u32(16)));
    }
    s.done()
}

/// One of the requests whose argument a buffer descriptor points at.
struct BufArg {
    /// The argument's size without its parameters.
    size: usize,
    /// Offset of its `num_params`.
    num_params: usize,
    /// Its fields as the caller fills them, up to `num_params`.
    entry: fn(&Call<'_, '_>, &Fields<'_>, &mut StructBuilder),
    /// What the kernel wrote back, before the parameters.
    exit: fn(&Call<'_, '_>, &Fields<'_>, &mut StructBuilder),
    /// The kernel writes the number of parameters back (the
    /// supplicant's receive only): shown again at the exit.
    count_out: bool,
}

/// The requests whose argument a buffer descriptor points at.
#[derive(Clone, Copy)]
enum Req {
    Open,
    Invoke,
    Recv,
    Send,
}

impl Req {
    fn arg(self) -> &'static BufArg {
        match self {
            Req::Open => &OPEN,
            Req::Invoke => &INVOKE,
            Req::Recv => &RECV,
            Req::Send => &SEND,
        }
    }

    /// At the entry: `{buf_len=N, buf_ptr={...}}`.
    fn entry(self, c: &mut Call<'_, '_>, v: u64) -> V {
        with_buf(c, v, self.arg())
    }

    /// At the exit (see [`buf_out`]).
    fn exit(self, c: &mut Call<'_, '_>, v: u64) -> V {
        let entry: fn(&mut Call<'_, '_>, u64) -> V = match self {
            Req::Open => |c, v| Req::Open.entry(c, v),
            Req::Invoke => |c, v| Req::Invoke.entry(c, v),
            Req::Recv => |c, v| Req::Recv.entry(c, v),
            Req::Send => |c, v| Req::Send.entry(c, v),
        };
        buf_out(c, v, self.arg(), entry)
    }
}

/// `struct tee_ioctl_open_session_arg`.
const OPEN: BufArg = BufArg {
    size: 56,
    num_params: 52,
    entry: open_entry,
    exit: |c, f, s| {
        s.field("session", hex(f.u32(40)))
            .dec("ret", f.u32(44))
            .field(
                "ret_origin",
                fmt::xval_v(c.abi, T::TeeIoctlOrigins, f.u32(48), Radix::Hex),
            );
    },
    count_out: false,
};

/// `struct tee_ioctl_invoke_arg`.
const INVOKE: BufArg = BufArg {
    size: 24,
    num_params: 20,
    entry: |_, f, s| {
        s.dec("func", f.u32(0))
            .field("session", hex(f.u32(4)))
            .dec("cancel_id", f.u32(8));
    },
    exit: |c, f, s| {
        s.dec("ret", f.u32(12)).field(
            "ret_origin",
            fmt::xval_v(c.abi, T::TeeIoctlOrigins, f.u32(16), Radix::Hex),
        );
    },
    count_out: false,
};

/// `struct tee_iocl_supp_recv_arg` (the kernel may change the number
/// of parameters: shown again at the exit).
const RECV: BufArg = BufArg {
    size: 8,
    num_params: 4,
    entry: |_, f, s| {
        s.dec("func", f.u32(0));
    },
    exit: |_, _, _| {},
    count_out: true,
};

/// `struct tee_iocl_supp_send_arg`.
const SEND: BufArg = BufArg {
    size: 8,
    num_params: 4,
    entry: |_, _, _| {},
    exit: |_, f, s| {
        s.dec("ret", f.u32(0));
    },
    count_out: false,
};

/// `TEE_IOCTL_LOGIN_GROUP` and `TEE_IOCTL_LOGIN_GROUP_APPLICATION`: the
/// client "UUID" carries a group id.
const LOGIN_GROUPS: [u64; 2] = [2, 6];
/// The login types without client data.
const LOGIN_PLAIN: [u64; 4] = [0, 1, 4, 5];

/// `struct tee_ioctl_open_session_arg` as the caller fills it.
fn open_entry(c: &Call<'_, '_>, f: &Fields<'_>, s: &mut StructBuilder) {
    let b: Vec<u8> = (0..32).map(|i| f.bytes(i, 1) as u8).collect();
    let login = f.u32(32);
    s.field("uuid", uuid(&b[..16])).field(
        "clnt_login",
        fmt::xval_v(c.abi, T::TeeIoctlLoginTypes, login, Radix::Hex),
    );
    if LOGIN_GROUPS.contains(&login) {
        // A gid: -1 for the all-ones value, as strace's printuid.
        let gid = f.u32(16);
        s.field(
            "clnt_uuid",
            if gid == u32::MAX as u64 {
                V::dec(-1)
            } else {
                V::dec(gid)
            },
        );
    } else if !LOGIN_PLAIN.contains(&login) {
        s.field(
            "clnt_uuid",
            V::Array {
                items: b[16..32].iter().map(|&x| hex(x as u64)).collect(),
                more: false,
            },
        );
    }
    s.dec("cancel_id", f.u32(36));
}

/// The buffer descriptor at `v` and, when it is plausible, the argument
/// it points at: `Ok((buf_len, buf_ptr, argument bytes))`, else the
/// value strace shows instead (the address, or the descriptor alone).
fn fetch_buf(
    c: &mut Call<'_, '_>,
    v: u64,
    a: &BufArg,
    entering: bool,
) -> Result<(u64, u64, Vec<u8>), V> {
    let b = c.fetch_v(v, 16)?;
    let f = Fields::new(&b, 8);
    let (ptr, len) = (f.u64(0), f.u64(8));
    let plain = || {
        StructBuilder::new()
            .dec("buf_len", len)
            .field("buf_ptr", addr64(ptr))
            .done()
    };
    if len > MAX_ARG_SIZE || len < a.size as u64 {
        return Err(plain());
    }
    let Ok(arg) = c.fetch(ptr, a.size) else {
        return Err(plain());
    };
    let n = Fields::new(&arg, 8).u32(a.num_params);
    // The kernel refuses a length that is not the argument and its
    // parameters; at the exit it may have changed the count alone.
    if entering && a.size as u64 + PARAM * n != len {
        return Err(plain());
    }
    Ok((len, ptr, arg))
}

/// The parameters after the argument at `ptr` (`NULL` when there are
/// none, as strace passes a null address then).
fn params(c: &mut Call<'_, '_>, ptr: u64, a: &BufArg, n: u64) -> V {
    let at = if n == 0 {
        0
    } else {
        ptr.wrapping_add(a.size as u64)
    };
    c.array_v(at, n, PARAM as usize, |c, b| param(c, &Fields::new(b, 8)))
}

/// One `struct tee_ioctl_param`: its type (and meta flag), then the
/// memory reference or the values by the type.
fn param(c: &Call<'_, '_>, f: &Fields<'_>) -> V {
    let attr = f.u64(0);
    let ty = fmt::xval_v(
        c.abi,
        T::TeeIoctlParamAttrTypes,
        attr & !ATTR_META,
        Radix::Hex,
    );
    let mut s = StructBuilder::new();
    if attr & ATTR_META != 0 {
        s.field(
            "attr",
            V::Opaque(format!("{}|TEE_IOCTL_PARAM_ATTR_META", ty.render())),
        );
    } else {
        s.field("attr", ty);
    }
    match attr {
        // TEE_IOCTL_PARAM_ATTR_TYPE_NONE.
        0 => {}
        // The memory reference types.
        5..=7 => {
            s.field("shm_offs", hex(f.u64(8)))
                .field("size", hex(f.u64(16)))
                .dec("shm_id", f.u64(24));
        }
        _ => {
            s.field("a", hex(f.u64(8)))
                .field("b", hex(f.u64(16)))
                .field("c", hex(f.u64(24)));
        }
    }
    s.done()
}

/// The argument's fields and parameters (`entering`: as the caller
/// filled them, else what the kernel wrote).
fn arg_value(c: &mut Call<'_, '_>, a: &BufArg, ptr: u64, arg: &[u8], entering: bool) -> V {
    let f = Fields::new(arg, 8);
    let n = f.u32(a.num_params);
    let mut s = StructBuilder::new();
    if entering {
        (a.entry)(c, &f, &mut s);
        s.dec("num_params", n);
    } else {
        (a.exit)(c, &f, &mut s);
        if a.count_out {
            s.dec("num_params", n);
        }
    }
    let p = params(c, ptr, a, n);
    s.field("params", p);
    s.done()
}

/// At the entry: `{buf_len=N, buf_ptr={...}}`.
fn with_buf(c: &mut Call<'_, '_>, v: u64, a: &BufArg) -> V {
    match fetch_buf(c, v, a, true) {
        Ok((len, ptr, arg)) => {
            let inner = arg_value(c, a, ptr, &arg, true);
            StructBuilder::new()
                .dec("buf_len", len)
                .field("buf_ptr", inner)
                .done()
        }
        Err(e) => e,
    }
}

/// At the exit: the entry's value, with what the kernel wrote after
/// ` => ` inside `buf_ptr` when the call succeeded.
fn buf_out(c: &mut Call<'_, '_>, v: u64, a: &BufArg, entry: fn(&mut Call<'_, '_>, u64) -> V) -> V {
    let before = entry_again(c, v, entry);
    if c.failed() {
        return before;
    }
    // Only an argument the entry could show gets its answer (not the
    // descriptor alone, nor an address).
    let shown = match &before {
        V::Struct { fields, .. } => matches!(fields.get(1), Some((_, V::Struct { .. }))),
        // The entry's text, when the memory changed since.
        V::Opaque(t) => t.contains(", buf_ptr={"),
        _ => false,
    };
    if !shown {
        return before;
    }
    let after = match fetch_buf(c, v, a, false) {
        Ok((_, ptr, arg)) => arg_value(c, a, ptr, &arg, false),
        Err(e) => e,
    };
    match before {
        V::Struct { mut fields, more } if fields.len() == 2 => {
            let old = std::mem::replace(&mut fields[1].1, V::Null);
            fields[1].1 = V::Changed {
                before: Box::new(old),
                after: Box::new(after),
            };
            V::Struct { fields, more }
        }
        // The entry's text (the memory changed since): the answer goes
        // inside its last brace.
        other => {
            let t = other.render();
            let body = t.strip_suffix('}').unwrap_or(&t);
            V::Opaque(format!("{body} => {}}}", after.render()))
        }
    }
}

#[cfg(test)]
mod tests {
    use vstrace_core::testmem::SparseVirt;

    use super::super::ioctl::tests::{line, EBADF};

    fn le32(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn shm_and_sessions() {
        let mut m = SparseVirt::new();
        let mut b = 0xcafe_f00d_dead_beefu64.to_le_bytes().to_vec();
        b.extend(le32(&[0x83, 7]));
        m.map(0x1000, &b);
        // TEE_IOC_SHM_ALLOC _IOWR(0xa4, 1, 16 bytes).
        assert_eq!(
            line(0xc010_a401, 0x1000, EBADF, &mut m),
            "ioctl(-1, TEE_IOC_SHM_ALLOC, {size=0xcafef00ddeadbeef, \
             flags=TEE_IOCTL_SHM_MAPPED|TEE_IOCTL_SHM_DMA_BUF|0x80}) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(0xc010_a401, 0x1000, 0, &mut m),
            "ioctl(-1, TEE_IOC_SHM_ALLOC, {size=0xcafef00ddeadbeef, \
             flags=TEE_IOCTL_SHM_MAPPED|TEE_IOCTL_SHM_DMA_BUF|0x80} => {size=0xcafef00ddeadbeef, \
             flags=TEE_IOCTL_SHM_MAPPED|TEE_IOCTL_SHM_DMA_BUF|0x80, id=7}) = 0"
        );
        assert_eq!(
            line(SHM_REGISTER_FD_CODE, 0, EBADF, &mut m),
            "ioctl(-1, _IOC(_IOC_READ|_IOC_WRITE, 0xa4, 0x8, 0x20), NULL) = -1 EBADF (Bad file descriptor)"
        );
        assert_eq!(
            line(0xa40a, 0, EBADF, &mut m),
            "ioctl(-1, _IOC(_IOC_NONE, 0xa4, 0xa, 0), 0) = -1 EBADF (Bad file descriptor)"
        );
        // TEE_IOC_CANCEL _IOR(0xa4, 4, 8 bytes).
        m.map(0x2000, &le32(&[5, 0xbeef]));
        assert_eq!(
            line(0x8008_a404, 0x2000, EBADF, &mut m),
            "ioctl(-1, TEE_IOC_CANCEL, {cancel_id=5, session=0xbeef}) = -1 EBADF (Bad file descriptor)"
        );
    }

    const SHM_REGISTER_FD_CODE: u32 = super::SHM_REGISTER_FD;

    #[test]
    fn invoke_with_params() {
        let mut m = SparseVirt::new();
        // The invoke argument and two parameters.
        let mut arg = le32(&[1, 0x22, 3, 0, 0, 2]);
        for p in [[1u64, 0xa, 0xb, 0xc], [0x105, 1, 2, 3]] {
            arg.extend(p.iter().flat_map(|x| x.to_le_bytes()));
        }
        m.map(0x3000, &arg);
        let mut buf = 0x3000u64.to_le_bytes().to_vec();
        buf.extend((arg.len() as u64).to_le_bytes());
        m.map(0x1000, &buf);
        // TEE_IOC_INVOKE _IOR(0xa4, 3, struct tee_ioctl_buf_data).
        let entry = "{buf_len=88, buf_ptr={func=1, session=0x22, cancel_id=3, num_params=2, \
             params=[{attr=TEE_IOCTL_PARAM_ATTR_TYPE_VALUE_INPUT, a=0xa, b=0xb, c=0xc}, \
             {attr=TEE_IOCTL_PARAM_ATTR_TYPE_MEMREF_INPUT|TEE_IOCTL_PARAM_ATTR_META, \
             a=0x1, b=0x2, c=0x3}]}";
        assert_eq!(
            line(0x8010_a403, 0x1000, EBADF, &mut m),
            format!("ioctl(-1, TEE_IOC_INVOKE, {entry}}}) = -1 EBADF (Bad file descriptor)")
        );
        assert_eq!(
            line(0x8010_a403, 0x1000, 0, &mut m),
            format!(
                "ioctl(-1, TEE_IOC_INVOKE, {entry} => {{ret=0, ret_origin=0 /* TEEC_ORIGIN_??? */, \
                 params=[{{attr=TEE_IOCTL_PARAM_ATTR_TYPE_VALUE_INPUT, a=0xa, b=0xb, c=0xc}}, \
                 {{attr=TEE_IOCTL_PARAM_ATTR_TYPE_MEMREF_INPUT|TEE_IOCTL_PARAM_ATTR_META, \
                 a=0x1, b=0x2, c=0x3}}]}}}}) = 0"
            )
        );
        // A length that is not the argument's: the descriptor alone.
        m.map(0x1008, &9u64.to_le_bytes());
        assert_eq!(
            line(0x8010_a403, 0x1000, EBADF, &mut m),
            "ioctl(-1, TEE_IOC_INVOKE, {buf_len=9, buf_ptr=0x3000}) = -1 EBADF (Bad file descriptor)"
        );
    }

    #[test]
    fn open_session_version_and_register_fd() {
        let mut m = SparseVirt::new();
        // An open_session argument (login by group 1000), no parameters.
        let mut arg = vec![0xde, 0xad, 0xbe, 0xef];
        arg.resize(16, 0);
        arg.extend(1000u32.to_le_bytes());
        arg.resize(32, 0);
        arg.extend(le32(&[2, 7, 0x55, 0, 3, 0]));
        m.map(0x3000, &arg);
        let mut buf = 0x3000u64.to_le_bytes().to_vec();
        buf.extend(56u64.to_le_bytes());
        m.map(0x1000, &buf);
        // TEE_IOC_OPEN_SESSION _IOR(0xa4, 2, struct tee_ioctl_buf_data).
        assert_eq!(
            line(0x8010_a402, 0x1000, 0, &mut m),
            "ioctl(-1, TEE_IOC_OPEN_SESSION, {buf_len=56, buf_ptr={\
             uuid=deadbeef-0000-0000-0000-000000000000, clnt_login=TEE_IOCTL_LOGIN_GROUP, \
             clnt_uuid=1000, cancel_id=7, num_params=0, params=NULL} => {session=0x55, ret=0, \
             ret_origin=TEEC_ORIGIN_TEE, params=NULL}}) = 0"
        );
        // TEE_IOC_VERSION _IOR(0xa4, 0, 12 bytes): OP-TEE's capabilities.
        m.map(0x2000, &le32(&[1, 1, 5]));
        assert_eq!(
            line(0x800c_a400, 0x2000, 0, &mut m),
            "ioctl(-1, TEE_IOC_VERSION, {impl_id=TEE_IMPL_ID_OPTEE, \
             gen_caps=TEE_GEN_CAP_GP|TEE_GEN_CAP_REG_MEM, impl_caps=TEE_OPTEE_CAP_TZ}) = 0"
        );
        // The unnamed register-by-descriptor request.
        let mut r = 3u64.to_le_bytes().to_vec();
        r.extend(0x1000u64.to_le_bytes());
        r.extend(le32(&[2, 0, 9, 0]));
        m.map(0x4000, &r);
        assert_eq!(
            line(SHM_REGISTER_FD_CODE, 0x4000, 0, &mut m),
            "ioctl(-1, _IOC(_IOC_READ|_IOC_WRITE, 0xa4, 0x8, 0x20), {fd=3, \
             flags=TEE_IOCTL_SHM_DMA_BUF} => {size=0x1000, id=9}) = 0"
        );
    }
}
