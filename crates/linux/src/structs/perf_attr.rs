//! `struct perf_event_attr` (perf_event_open's first argument,
//! `PERF_EVENT_IOC_MODIFY_ATTRIBUTES`' argument) as strace 6.1 prints
//! it: read once with the size the structure declares (clamped to the
//! newest layout strace knows, `PERF_ATTR_SIZE_VER0` for 0, only up to
//! the flag bits without `-v`), `config` by event type, the flag bits
//! (only the set ones without `-v`), the fields of later versions as far
//! as that size reaches, `...` when the caller declared more than was
//! read. The layout is made of fixed-size fields: the same for i386.
//!
//! perf_event_open prints the attribute at the exit, as it was at the
//! entry; the kernel writes `size` back only when it fails with `E2BIG`
//! (`size=0xa0 => PERF_ATTR_SIZE_VER7`).

use super::Call;
use super::Fields;
use crate::fmt;
use crate::xlat::{self, Radix, Table as T};
use vstrace_core::value::{Base, Const, Flag, Name};
use vstrace_core::{read, StructBuilder, Value};

/// `PERF_ATTR_SIZE_VER0`: the smallest size the kernel accepts.
const SIZE_VER0: u64 = 64;
/// The newest layout strace knows (`PERF_ATTR_SIZE_VER7`, up to
/// `sig_data`).
const SIZE_MAX: u64 = 128;
/// Where the flag bits end (`offsetof(wakeup_events)`): all strace reads
/// without `-v`.
const SIZE_ABBREV: u64 = 48;
/// `E2BIG`, after which the kernel wrote the size it supports.
const E2BIG: i64 = -7;

/// Event types with their own `config` layout.
const TYPE_HARDWARE: u64 = 0;
const TYPE_SOFTWARE: u64 = 1;
const TYPE_TRACEPOINT: u64 = 2;
const TYPE_HW_CACHE: u64 = 3;
const TYPE_BREAKPOINT: u64 = 5;

/// `sample_type` bits that bring fields of their own.
const SAMPLE_BRANCH_STACK: u64 = 1 << 11;
const SAMPLE_STACK_USER: u64 = 1 << 13;

/// The single-bit flags of the word at offset 40, by bit, before and
/// after the two bits of `precise_ip` (bits 15-16).
const FLAGS_LOW: [&str; 15] = [
    "disabled",
    "inherit",
    "pinned",
    "exclusive",
    "exclude_user",
    "exclude_kernel",
    "exclude_hv",
    "exclude_idle",
    "mmap",
    "comm",
    "freq",
    "inherit_stat",
    "enable_on_exec",
    "task",
    "watermark",
];
const FLAGS_HIGH: [&str; 21] = [
    "mmap_data",
    "sample_id_all",
    "exclude_host",
    "exclude_guest",
    "exclude_callchain_kernel",
    "exclude_callchain_user",
    "mmap2",
    "comm_exec",
    "use_clockid",
    "context_switch",
    "write_backward",
    "namespaces",
    "ksymbol",
    "bpf_event",
    "aux_output",
    "cgroup",
    "text_poke",
    "build_id",
    "inherit_thread",
    "remove_on_exec",
    "sigtrap",
];
/// `precise_ip`'s meanings, as strace comments them.
const PRECISE_IP: [&str; 4] = [
    "arbitrary skid",
    "constant skid",
    "requested to have 0 skid",
    "must have 0 skid",
];

/// The attribute at `v` as read at the entry.
pub(super) fn attr(c: &mut Call<'_, '_>, v: u64) -> Value {
    match fetch(c, v) {
        Ok((b, size)) => print(c, &b, size, None),
        Err(e) => e,
    }
}

/// perf_event_open's attribute at the exit: the entry's (decoded again
/// while the memory reads the same), with the size the kernel wrote
/// back after `E2BIG`.
pub(super) fn attr_exit(c: &mut Call<'_, '_>, v: u64) -> Value {
    let entry = c.entry().map(str::to_string);
    if c.ret != Some(E2BIG) {
        let now = attr(c, v);
        return match entry {
            Some(t) if now.render() != t => Value::Opaque(t),
            _ => now,
        };
    }
    // The size the entry read the structure with: what it printed.
    let declared = entry.as_deref().and_then(|t| entry_size(c, t));
    let new = read::read_struct(c.mem, v.wrapping_add(4), 4)
        .ok()
        .map(|b| Fields::new(&b, 4).u32(0));
    let Some(declared) = declared else {
        return entry.map_or_else(|| attr(c, v), Value::Opaque);
    };
    // An entry showing the size the kernel wrote back was read after the
    // call (the tracer reads again at the exit an argument the entry
    // could only show as an address): the size the caller declared,
    // too small to read (what makes the kernel answer E2BIG with a
    // structure it could not read), is lost; the address, as strace
    // printed it.
    if new == Some(declared) {
        return Value::ptr(v);
    }
    let size = clamp(c, declared).unwrap_or(SIZE_VER0);
    let Ok(mut b) = c.fetch_v(v, size as usize) else {
        return entry.map_or_else(|| Value::ptr(v), Value::Opaque);
    };
    b[4..8].copy_from_slice(&(declared as u32).to_le_bytes());
    print(c, &b, size, Some(new))
}

/// The `size=` the entry's text shows: a size name or a number.
fn entry_size(c: &Call<'_, '_>, t: &str) -> Option<u64> {
    let at = t.find(", size=")? + ", size=".len();
    let word: String = t[at..]
        .chars()
        .take_while(|&ch| ch != ',' && ch != ' ')
        .collect();
    match word.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None if word == "0" => Some(0),
        None => T::PerfAttrSize.xlat().value_of(c.abi, &word),
    }
}

/// How much of a structure declaring `declared` bytes strace reads
/// (`None`: too small, the address is printed).
fn clamp(c: &Call<'_, '_>, declared: u64) -> Option<u64> {
    let size = match declared {
        0 => SIZE_VER0,
        s => s.min(SIZE_MAX),
    };
    if size < SIZE_VER0 {
        return None;
    }
    Some(if c.opts.verbose { size } else { SIZE_ABBREV })
}

/// strace's `fetch_perf_event_attr`: the declared size, then that much
/// of the structure; the address when either cannot be read.
fn fetch(c: &mut Call<'_, '_>, v: u64) -> Result<(Vec<u8>, u64), Value> {
    if v == 0 {
        return Err(Value::Null);
    }
    let declared = match read::read_struct(c.mem, v.wrapping_add(4), 4) {
        Ok(b) => Fields::new(&b, 4).u32(0),
        Err(_) => return Err(Value::ptr(v)),
    };
    let size = clamp(c, declared).ok_or(Value::ptr(v))?;
    let b = c.fetch_v(v, size as usize)?;
    Ok((b, size))
}

/// A piece of a composed `config`: a named value or its number.
fn part(c: &Call<'_, '_>, table: T, v: u64) -> String {
    xlat::xval(c.abi, table, v, Radix::Hex)
}

/// `config` by event type (strace's layouts of hardware and cache
/// events: PMU type in the high half, then the event's parts).
fn config(c: &Call<'_, '_>, ty: u64, config: u64) -> Value {
    let mut parts = Vec::new();
    match ty {
        TYPE_HARDWARE => {
            if config >> 32 != 0 {
                parts.push(format!("{:#x}<<32", config >> 32));
            }
            parts.push(part(c, T::PerfHwId, config & 0xffff_ffff));
        }
        TYPE_SOFTWARE => return fmt::xval_v(c.abi, T::PerfSwIds, config, Radix::Hex),
        TYPE_TRACEPOINT => return Value::dec(config),
        TYPE_HW_CACHE => {
            if config >> 32 != 0 {
                parts.push(format!("{:#x}<<32", config >> 32));
            }
            if (config & 0xffff_ffff) >> 24 != 0 {
                parts.push(format!("{:#x}<<24", (config & 0xffff_ffff) >> 24));
            }
            let result = part(c, T::PerfHwCacheOpResultId, (config >> 16) & 0xff);
            let op = part(c, T::PerfHwCacheOpId, (config >> 8) & 0xff);
            parts.push(format!("{result}<<16"));
            parts.push(format!("{op}<<8"));
            parts.push(part(c, T::PerfHwCacheId, config & 0xff));
        }
        _ => return Value::int(config, Base::Hex),
    }
    Value::Flags(parts.into_iter().map(Flag::Text).collect())
}

/// strace's `print_perf_event_attr` of the bytes `b` read (`size` of
/// them); `new` is the size the kernel wrote back after `E2BIG` (`None`
/// inside when it cannot be read).
fn print(c: &Call<'_, '_>, b: &[u8], size: u64, new: Option<Option<u64>>) -> Value {
    let mut m = b.to_vec();
    m.resize(SIZE_MAX as usize, 0);
    let f = Fields::new(&m, 8);
    let abi = c.abi;
    let verbose = c.opts.verbose;
    let ty = f.u32(0);
    let declared = f.u32(4);
    let bits = f.u64(40);
    let bit = |n: u32| (bits >> n) & 1;
    let sample_type = f.u64(24);
    let mut s = StructBuilder::new();
    s.field("type", fmt::xval_v(abi, T::PerfTypeId, ty, Radix::Hex));
    let size_v = fmt::xval_v(abi, T::PerfAttrSize, declared, Radix::Hex);
    s.field(
        "size",
        match new {
            None => size_v,
            Some(n) => Value::Changed {
                before: Box::new(size_v),
                after: Box::new(match n {
                    Some(n) => fmt::xval_v(abi, T::PerfAttrSize, n, Radix::Hex),
                    None => Value::Opaque("???".into()),
                }),
            },
        },
    );
    s.field("config", config(c, ty, f.u64(8)));
    let period = if bit(10) != 0 {
        "sample_freq"
    } else {
        "sample_period"
    };
    s.dec(period, f.u64(16))
        .field(
            "sample_type",
            fmt::xflags_v(abi, &[T::PerfEventSampleFormat], sample_type, true, false),
        )
        .field(
            "read_format",
            fmt::xflags_v(abi, &[T::PerfEventReadFormat], f.u64(32), true, false),
        );
    // Without -v only the flags that are set.
    for (n, name) in FLAGS_LOW.iter().enumerate() {
        if verbose || bit(n as u32) != 0 {
            s.dec(*name, bit(n as u32));
        }
    }
    let precise = (bits >> 15) & 3;
    s.field(
        "precise_ip",
        Value::Commented {
            value: Box::new(Value::dec(precise)),
            comment: PRECISE_IP[precise as usize].to_string(),
        },
    );
    for (n, name) in FLAGS_HIGH.iter().enumerate() {
        if verbose || bit(17 + n as u32) != 0 {
            s.dec(*name, bit(17 + n as u32));
        }
    }
    // Bits strace does not know, when set.
    if bits >> 38 != 0 {
        s.field(
            "__reserved_1",
            Value::Commented {
                value: Box::new(Value::int(bits >> 38, Base::Hex)),
                comment: "Bits 63..38".into(),
            },
        );
    }
    if verbose {
        later_fields(c, &f, size, &mut s);
    }
    // The caller declared more than strace read (or nothing, read as the
    // oldest layout: more than the flags read without -v).
    if (declared != 0 && declared > size) || (declared == 0 && size < SIZE_VER0) {
        s.abbreviated()
    } else {
        s.done()
    }
}

/// The fields after the flag bits (`-v` only), as far as `size` reaches.
fn later_fields(c: &Call<'_, '_>, f: &Fields<'_>, size: u64, s: &mut StructBuilder) {
    let abi = c.abi;
    let ty = f.u32(0);
    let sample_type = f.u64(24);
    let bits = f.u64(40);
    let breakpoint = ty == TYPE_BREAKPOINT;
    let wakeup = if (bits >> 14) & 1 != 0 {
        "wakeup_watermark"
    } else {
        "wakeup_events"
    };
    s.dec(wakeup, f.u32(48));
    if breakpoint {
        let bp_type = f.u32(52);
        let v = match T::HwBreakpointType.xlat().lookup(abi, bp_type) {
            Some(_) => fmt::xval_v(abi, T::HwBreakpointType, bp_type, Radix::Hex),
            // A combination of R/W with X is invalid rather than unknown.
            None if bp_type <= 7 => Value::Const(Const {
                raw: i128::from(bp_type),
                base: Base::Hex,
                name: None,
                comment: Some(Name::Borrowed("HW_BREAKPOINT_INVALID")),
            }),
            None => fmt::xval_v(abi, T::HwBreakpointType, bp_type, Radix::Hex),
        };
        s.field("bp_type", v)
            .field("bp_addr", Value::int(f.u64(56), Base::Hex));
    } else {
        s.field("config1", Value::int(f.u64(56), Base::Hex));
    }
    // Each later field only when the size read reaches it.
    let has = |off: u64| off < size;
    if !has(64) {
        return;
    }
    if breakpoint {
        s.dec("bp_len", f.u64(64));
    } else {
        s.field("config2", Value::int(f.u64(64), Base::Hex));
    }
    if !has(72) {
        return;
    }
    if sample_type & SAMPLE_BRANCH_STACK != 0 {
        s.field(
            "branch_sample_type",
            fmt::xflags_v(abi, &[T::PerfBranchSampleType], f.u64(72), true, false),
        );
    }
    if !has(80) {
        return;
    }
    s.field("sample_regs_user", Value::int(f.u64(80), Base::Hex));
    if !has(88) {
        return;
    }
    if sample_type & SAMPLE_STACK_USER != 0 {
        s.field("sample_stack_user", Value::int(f.u32(88), Base::Hex));
    }
    if (bits >> 25) & 1 != 0 {
        if !has(92) {
            return;
        }
        s.field(
            "clockid",
            fmt::xval_v(abi, T::Clocknames, f.u32(92), Radix::Hex),
        );
    }
    if !has(96) {
        return;
    }
    s.field("sample_regs_intr", Value::int(f.u64(96), Base::Hex));
    if !has(104) {
        return;
    }
    s.dec("aux_watermark", f.u32(104));
    if !has(108) {
        return;
    }
    let max_stack = Value::dec(f.u16(108));
    let reserved_2 = f.u16(110);
    if has(110) && reserved_2 != 0 {
        s.field(
            "sample_max_stack",
            Value::Commented {
                value: Box::new(max_stack),
                comment: format!("bytes 110..111: {reserved_2:#x}"),
            },
        );
    } else {
        s.field("sample_max_stack", max_stack);
    }
    if !has(112) {
        return;
    }
    let aux_sample_size = Value::dec(f.u32(112));
    let reserved_3 = f.u32(116);
    if has(116) && reserved_3 != 0 {
        s.field(
            "aux_sample_size",
            Value::Commented {
                value: Box::new(aux_sample_size),
                comment: format!("bytes 116..119: {reserved_3:#x}"),
            },
        );
    } else {
        s.field("aux_sample_size", aux_sample_size);
    }
    if !has(120) {
        return;
    }
    s.field("sig_data", Value::int(f.u64(120), Base::Hex));
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode_enter, decode_exit, format_call, format_return};
    use crate::proto::LinuxAbi::{self, I386, X86_64};
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::DecodeOptions;

    /// perf_event_open's line for the attribute at 0x1000 (`-v` when
    /// `verbose`); `size_after` is what the kernel writes to `size`.
    fn line(
        abi: LinuxAbi,
        m: &mut SparseVirt,
        ret: i64,
        verbose: bool,
        size_after: Option<u32>,
    ) -> String {
        let o = DecodeOptions {
            verbose,
            ..Default::default()
        };
        let d = crate::proto::by_name(abi, "perf_event_open").unwrap();
        let raw = [0x1000, 0, u64::MAX, u64::MAX, 0, 0];
        let mut a = decode_enter(d, abi, &raw, m, &o);
        if let Some(s) = size_after {
            m.map(0x1004, &s.to_le_bytes());
        }
        decode_exit(d, abi, &raw, ret, m, &o, &mut a);
        format_call(d, &a, Some(&format_return(d, abi, ret)))
    }

    fn attr(size: u32, ty: u32, config: u64, bits: u64) -> Vec<u8> {
        let mut b = vec![0u8; 128];
        b[0..4].copy_from_slice(&ty.to_le_bytes());
        b[4..8].copy_from_slice(&size.to_le_bytes());
        b[8..16].copy_from_slice(&config.to_le_bytes());
        b[40..48].copy_from_slice(&bits.to_le_bytes());
        b
    }

    #[test]
    fn abbreviated_flags_and_config_by_type() {
        let mut m = SparseVirt::new();
        // A cache event: L1D read miss; disabled, freq, precise_ip 2.
        m.map(0x1000, &attr(64, 3, 0x10000, 1 | 1 << 10 | 2 << 15));
        let l = line(X86_64, &mut m, -22, false, None);
        assert!(
            l.starts_with(
                "perf_event_open({type=PERF_TYPE_HW_CACHE, size=PERF_ATTR_SIZE_VER0, \
                 config=PERF_COUNT_HW_CACHE_RESULT_MISS<<16|PERF_COUNT_HW_CACHE_OP_READ<<8|\
                 PERF_COUNT_HW_CACHE_L1D, sample_freq=0, sample_type=0, read_format=0, \
                 disabled=1, freq=1, precise_ip=2 /* requested to have 0 skid */, ...}, 0, -1, -1, 0)"
            ),
            "{l}"
        );
    }

    #[test]
    fn verbose_fields_up_to_the_size() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &attr(72, 0, 0x1_0000_0001, 0));
        let l = line(I386, &mut m, -22, true, None);
        assert!(
            l.contains("config=0x1<<32|PERF_COUNT_HW_INSTRUCTIONS,"),
            "{l}"
        );
        assert!(
            l.contains("sigtrap=0, wakeup_events=0, config1=0, config2=0}"),
            "{l}"
        );
    }

    #[test]
    fn too_small_or_unreadable_shows_the_address() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &attr(63, 0, 0, 0));
        let l = line(X86_64, &mut m, -7, false, Some(128));
        assert!(l.starts_with("perf_event_open(0x1000, "), "{l}");
        let mut m = SparseVirt::new();
        let l = line(X86_64, &mut m, -22, false, None);
        assert!(l.starts_with("perf_event_open(0x1000, "), "{l}");
    }

    #[test]
    fn size_written_back_after_e2big() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &attr(0xa0, 2, 5, 0));
        let l = line(X86_64, &mut m, -7, false, Some(128));
        assert!(
            l.contains("{type=PERF_TYPE_TRACEPOINT, size=0xa0 /* PERF_ATTR_SIZE_??? */ => PERF_ATTR_SIZE_VER7, config=5,"),
            "{l}"
        );
    }
}
