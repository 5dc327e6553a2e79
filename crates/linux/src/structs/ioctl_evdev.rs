//! Input device (evdev, type 'E') ioctls as strace prints them.
//!
//! strace dispatches these on the request's direction and number, not its
//! name: several requests carry a parameter in their number
//! (`EVIOCGBIT(EV_KEY, 96)`, `EVIOCGABS(ABS_X)`) or a buffer size in their
//! size field (`EVIOCGNAME(256)`), and the request itself is printed with
//! those parameters. Requests the kernel answers (`_IOC_READ`) are shown
//! at a successful exit, ones it reads (`_IOC_WRITE`) at the entry; the
//! others print the argument in hex. Bit sets (`EVIOCGBIT`, `EVIOCGKEY`,
//! ...) are as long as the kernel's return value says and list the names
//! of their set bits, separated by spaces (four, then `...`, unless `-v`),
//! with the raw words under `-X raw` and `-X verbose`.

use vstrace_core::value::Base;
use vstrace_core::{ConstStyle, StructBuilder, Value};

use super::ioctl::Kind;
use super::{Call, Fields};
use crate::fmt;
use crate::proto::LinuxAbi;
use crate::xlat::{self, Radix, Table as T};

/// The request type of input devices.
const TYPE: u32 = b'E' as u32;
/// `_IOC_WRITE` and `_IOC_READ` in a request's direction bits.
const DIR_WRITE: u32 = 1;
const DIR_READ: u32 = 2;
/// Largest values of the kernel's event codes (`EV_MAX`, `ABS_MAX`...).
const EV_MAX: u32 = 0x1f;
const ABS_MAX: u32 = 0x3f;

fn dir(code: u32) -> u32 {
    code >> 30
}
fn nr(code: u32) -> u32 {
    code & 0xff
}
fn size(code: u32) -> u32 {
    (code >> 16) & 0x3fff
}

/// The decoder of evdev request `code`, if it is one.
pub(super) fn kind_of_code(code: u32) -> Option<Kind> {
    if (code >> 8) & 0xff != TYPE {
        return None;
    }
    Some(match dir(code) {
        DIR_READ => Kind::OutV(read),
        DIR_WRITE => Kind::InV(write),
        _ => Kind::ValV(|_, v| Value::int(v, Base::Hex)),
    })
}

/// A value of `t` inside a request's name: the name, else the number
/// (with the table's comment unless `-X verbose`, as strace does).
fn inner(abi: LinuxAbi, t: T, v: u32) -> String {
    match t.xlat().lookup(abi, u64::from(v)) {
        Some(n) => n.to_string(),
        None if xlat::style() == ConstStyle::Verbose => fmt::hex0(u64::from(v)),
        None => format!("{} /* {} */", fmt::hex0(u64::from(v)), t.xlat().dflt),
    }
}

/// The parameterised name strace gives request `code`
/// (`EVIOCGBIT(EV_KEY, 96)`), if it has one.
pub(super) fn request_name(abi: LinuxAbi, code: u32) -> Option<String> {
    if (code >> 8) & 0xff != TYPE {
        return None;
    }
    let (n, sz) = (nr(code), size(code));
    if dir(code) == DIR_WRITE && (0xc0..=0xc0 + ABS_MAX).contains(&n) {
        return Some(format!("EVIOCSABS({})", inner(abi, T::EvdevAbs, n - 0xc0)));
    }
    if dir(code) != DIR_READ {
        return None;
    }
    if (0x20..=0x20 + EV_MAX).contains(&n) {
        let ev = match n {
            0x20 => "0".to_string(),
            _ => inner(abi, T::EvdevEv, n - 0x20),
        };
        return Some(format!("EVIOCGBIT({ev}, {sz})"));
    }
    if (0x40..=0x40 + ABS_MAX).contains(&n) {
        return Some(format!("EVIOCGABS({})", inner(abi, T::EvdevAbs, n - 0x40)));
    }
    let name = match n {
        0x06 => "EVIOCGNAME",
        0x07 => "EVIOCGPHYS",
        0x08 => "EVIOCGUNIQ",
        0x09 => "EVIOCGPROP",
        0x0a => "EVIOCGMTSLOTS",
        0x18 => "EVIOCGKEY",
        0x19 => "EVIOCGLED",
        0x1a => "EVIOCGSND",
        0x1b => "EVIOCGSW",
        _ => return None,
    };
    Some(format!("{name}({sz})"))
}

/// Whether `code` is the fixed request `name` of the ABI's tables.
fn is(c: &Call<'_, '_>, code: u32, name: &str) -> bool {
    xlat::ioctl_names(c.abi, code).contains(&name)
}

/// A request the kernel answers, at a successful exit.
fn read(c: &mut Call<'_, '_>, v: u64) -> Value {
    let code = c.arg(1) as u32;
    if is(c, code, "EVIOCGVERSION") {
        return int(c, v, Base::Hex);
    }
    if is(c, code, "EVIOCGEFFECTS") {
        return int(c, v, Base::Dec);
    }
    if is(c, code, "EVIOCGID") {
        return input_id(c, v);
    }
    if is(c, code, "EVIOCGREP") {
        return pair(c, v);
    }
    if is(c, code, "EVIOCGKEYCODE") {
        return keycode(c, v);
    }
    if is(c, code, "EVIOCGKEYCODE_V2") {
        return keymap_entry(c, v);
    }
    let n = nr(code);
    match n {
        0x0a => return mtslots(c, code, v),
        0x06..=0x08 => {
            let len = c.ret.unwrap_or(0).max(0) as u64;
            return string(c, v, len);
        }
        0x09 => return bitset(c, v, T::EvdevProp, 0x1f),
        0x1a => return bitset(c, v, T::EvdevSnd, 0x07),
        0x1b => return bitset(c, v, T::EvdevSwitch, 0x10),
        0x18 => return bitset(c, v, T::EvdevKeycode, 0x2ff),
        0x19 => return bitset(c, v, T::EvdevLeds, 0x0f),
        _ => {}
    }
    if n & !ABS_MAX == 0x40 {
        return absinfo(c, code, v);
    }
    if n & !EV_MAX == 0x20 {
        return event_bits(c, n & EV_MAX, v);
    }
    Value::ptr(v)
}

/// A request the kernel reads, at the entry.
fn write(c: &mut Call<'_, '_>, v: u64) -> Value {
    let code = c.arg(1) as u32;
    if is(c, code, "EVIOCSREP") {
        return pair(c, v);
    }
    if is(c, code, "EVIOCSKEYCODE") {
        return keycode(c, v);
    }
    if is(c, code, "EVIOCSKEYCODE_V2") {
        return keymap_entry(c, v);
    }
    if is(c, code, "EVIOCRMFF") {
        return Value::dec(v as u32 as i32);
    }
    if is(c, code, "EVIOCGRAB") || is(c, code, "EVIOCREVOKE") {
        return Value::dec(v);
    }
    if is(c, code, "EVIOCSCLOCKID") {
        return int(c, v, Base::Dec);
    }
    if is(c, code, "EVIOCSFF") {
        return ff_effect(c, v);
    }
    if nr(code) & !ABS_MAX == 0xc0 {
        return absinfo(c, code, v);
    }
    Value::ptr(v)
}

/// `len` bytes at `va` as a quoted string (at most `-s` of them).
fn string(c: &mut Call<'_, '_>, va: u64, len: u64) -> Value {
    let max = len.min(c.opts.strsize as u64) as usize;
    match c.fetch_v(va, max) {
        Ok(b) => Value::str(b, len > max as u64, c.opts.strings_in_hex),
        Err(e) => e,
    }
}

/// An `unsigned int` through a pointer: `[N]` (or `[0x...]`).
fn int(c: &mut Call<'_, '_>, v: u64, base: Base) -> Value {
    match c.fetch_v(v, 4) {
        Ok(b) => Value::boxed(Value::int(Fields::new(&b, 4).u32(0), base)),
        Err(e) => e,
    }
}

/// Two `unsigned int`: `[delay, period]`.
fn pair(c: &mut Call<'_, '_>, v: u64) -> Value {
    match c.fetch_v(v, 8) {
        Ok(b) => {
            let f = Fields::new(&b, 4);
            Value::Array {
                items: vec![Value::dec(f.u32(0)), Value::dec(f.u32(4))],
                more: false,
            }
        }
        Err(e) => e,
    }
}

/// A scancode and its key: `[scancode, KEY_ESC]`.
fn keycode(c: &mut Call<'_, '_>, v: u64) -> Value {
    match c.fetch_v(v, 8) {
        Ok(b) => {
            let f = Fields::new(&b, 4);
            Value::Array {
                items: vec![
                    Value::dec(f.u32(0)),
                    fmt::xval_v(c.abi, T::EvdevKeycode, f.u32(4), Radix::Hex),
                ],
                more: false,
            }
        }
        Err(e) => e,
    }
}

/// `struct input_id`: four `__u16`.
fn input_id(c: &mut Call<'_, '_>, v: u64) -> Value {
    match c.fetch_v(v, 8) {
        Ok(b) => {
            let f = Fields::new(&b, 4);
            StructBuilder::new()
                .dec("bustype", f.u16(0))
                .dec("vendor", f.u16(2))
                .dec("product", f.u16(4))
                .dec("version", f.u16(6))
                .done()
        }
        Err(e) => e,
    }
}

/// `struct input_keymap_entry`: flags, len, index, keycode, 32 bytes of
/// scancode (only the first two unless `-v`).
fn keymap_entry(c: &mut Call<'_, '_>, v: u64) -> Value {
    let b = match c.fetch_v(v, 40) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 4);
    let mut s = StructBuilder::new();
    s.dec("flags", b[0]).dec("len", b[1]);
    if !c.opts.verbose {
        return s.abbreviated();
    }
    let scancode = b[8..40].iter().map(|&x| Value::int(x, Base::Hex)).collect();
    s.dec("index", f.u16(2))
        .field(
            "keycode",
            fmt::xval_v(c.abi, T::EvdevKeycode, f.u32(4), Radix::Hex),
        )
        .field(
            "scancode",
            Value::Array {
                items: scancode,
                more: false,
            },
        )
        .done()
}

/// `struct input_absinfo`, as much of it as the request's size says
/// (`value` and `minimum` only unless `-v`).
fn absinfo(c: &mut Call<'_, '_>, code: u32, v: u64) -> Value {
    // The original structure ends after `flat`; `resolution` came later.
    const ORIG: usize = 20;
    const WITH_RES: usize = 24;
    let sz = size(code) as usize;
    if sz < ORIG {
        return Value::ptr(v);
    }
    let b = match c.fetch_v(v, sz.min(WITH_RES)) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, 4);
    let mut s = StructBuilder::new();
    s.dec("value", f.u32(0)).dec("minimum", f.u32(4));
    if !c.opts.verbose {
        return s.abbreviated();
    }
    s.dec("maximum", f.u32(8))
        .dec("fuzz", f.u32(12))
        .dec("flat", f.u32(16));
    if sz > ORIG {
        if sz >= WITH_RES {
            s.dec("resolution", f.u32(20));
        }
        if sz != WITH_RES {
            return s.abbreviated();
        }
    }
    s.done()
}

/// `EVIOCGMTSLOTS`: an axis code, then as many `int` values as the
/// request's size leaves room for.
fn mtslots(c: &mut Call<'_, '_>, code: u32, v: u64) -> Value {
    let n = size(code) as u64 / 4;
    if n == 0 {
        return Value::ptr(v);
    }
    let b = match c.fetch_v(v, 4) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let axis = fmt::xval_v(
        c.abi,
        T::EvdevMtslots,
        Fields::new(&b, 4).u32(0),
        Radix::Hex,
    );
    let values = c.array(v.wrapping_add(4), n - 1, 4, |_, e| {
        Fields::new(e, 4).i32(0).to_string()
    });
    StructBuilder::new()
        .field("code", axis)
        .field("values", Value::Opaque(values))
        .done()
}

/// `EVIOCGBIT(ev, len)`: the bits of event type `ev` (the types
/// themselves for 0).
fn event_bits(c: &mut Call<'_, '_>, ev: u32, v: u64) -> Value {
    let ev_name = T::EvdevEv.xlat().lookup(c.abi, u64::from(ev));
    let (t, max) = match (ev, ev_name) {
        (0, _) => (T::EvdevEv, EV_MAX),
        (_, Some("EV_KEY")) => (T::EvdevKeycode, 0x2ff),
        (_, Some("EV_REL")) => (T::EvdevRelativeAxes, 0x0f),
        (_, Some("EV_ABS")) => (T::EvdevAbs, ABS_MAX),
        (_, Some("EV_MSC")) => (T::EvdevMisc, 0x07),
        (_, Some("EV_SW")) => (T::EvdevSwitch, 0x10),
        (_, Some("EV_LED")) => (T::EvdevLeds, 0x0f),
        (_, Some("EV_SND")) => (T::EvdevSnd, 0x07),
        (_, Some("EV_REP")) => (T::EvdevAutorepeat, 0x01),
        (_, Some("EV_FF")) => (T::EvdevFfTypes, 0x7f),
        (_, Some("EV_FF_STATUS")) => (T::EvdevFfStatus, 0x01),
        (_, Some("EV_PWR")) => {
            return match c.fetch_v(v, 4) {
                Ok(b) => Value::boxed(Value::dec(Fields::new(&b, 4).i32(0))),
                Err(e) => e,
            }
        }
        _ => return Value::ptr(v),
    };
    bitset(c, v, t, max)
}

/// A bit set the kernel wrote, as long as its return value says (at most
/// `max` bits), rounded up to whole `long`s: the names of the set bits
/// and, unless `-X abbrev`, the raw words.
fn bitset(c: &mut Call<'_, '_>, v: u64, t: T, max: u32) -> Value {
    let ret = c.ret.unwrap_or(0) as u64;
    let bits = if ret > u64::from(max / 8) {
        u64::from(max)
    } else {
        ret * 8
    };
    let word = c.long_size() as u64;
    let bytes = bits.div_ceil(8).next_multiple_of(word);
    if c.failed() || bytes == 0 {
        return Value::ptr(v);
    }
    let b = match c.fetch_v(v, bytes as usize) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let set = |i: u64| b[(i / 8) as usize] & (1 << (i % 8)) != 0;
    let style = xlat::style();
    let mut names = Vec::new();
    let mut more = false;
    for i in (0..bits).filter(|&i| set(i)) {
        if !c.opts.verbose && names.len() > 3 {
            more = true;
            break;
        }
        names.push(fmt::xval_v(c.abi, t, i, Radix::Hex));
    }
    // strace's bitset: the names separated by spaces (`[EV_ABS EV_MSC]`,
    // `[KEY_1 KEY_2 KEY_3 KEY_4 ...]`), not an array's commas.
    let mut text: Vec<String> = names.iter().map(Value::render).collect();
    if more {
        text.push("...".into());
    }
    let names = Value::Opaque(format!("[{}]", text.join(" ")));
    if style == ConstStyle::Abbrev {
        return names;
    }
    let words = c.array(v, bytes / word, word as usize, |c, w| {
        fmt::hex0(Fields::new(w, c.long_size()).ulong(0))
    });
    match style {
        ConstStyle::Raw => Value::Opaque(words),
        _ => Value::Commented {
            value: Box::new(names),
            comment: words,
        },
    }
}

/// `struct ff_envelope` at `o`.
fn envelope(f: &Fields<'_>, o: usize) -> Value {
    StructBuilder::new()
        .dec("attack_length", f.u16(o))
        .dec("attack_level", f.u16(o + 2))
        .dec("fade_length", f.u16(o + 4))
        .field("fade_level", Value::int(f.u16(o + 6), Base::Hex))
        .done()
}

/// A signed `__s16` at `o`.
fn s16(f: &Fields<'_>, o: usize) -> Value {
    Value::dec(f.u16(o) as u16 as i16)
}

/// `struct ff_effect` (`EVIOCSFF`): the type, id and direction, then
/// with `-v` the trigger, the replay and the effect of its type.
fn ff_effect(c: &mut Call<'_, '_>, v: u64) -> Value {
    // The union is 8-byte aligned where pointers are 8 bytes (periodic's
    // custom_data): offset 16 in both ABIs, 48 or 44 bytes in all.
    let (len, w) = match c.abi {
        LinuxAbi::X86_64 => (48, 8),
        LinuxAbi::I386 => (44, 4),
    };
    let b = match c.fetch_v(v, len) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let f = Fields::new(&b, w);
    let ty = f.u16(0);
    let mut s = StructBuilder::new();
    s.field("type", fmt::xval_v(c.abi, T::EvdevFfTypes, ty, Radix::Hex))
        .field("id", s16(&f, 2))
        .dec("direction", f.u16(4));
    if !c.opts.verbose {
        return s.abbreviated();
    }
    s.field(
        "trigger",
        StructBuilder::new()
            .dec("button", f.u16(6))
            .dec("interval", f.u16(8))
            .done(),
    )
    .field(
        "replay",
        StructBuilder::new()
            .dec("length", f.u16(10))
            .dec("delay", f.u16(12))
            .done(),
    );
    const U: usize = 16;
    let effect = match T::EvdevFfTypes.xlat().lookup(c.abi, ty) {
        Some("FF_CONSTANT") => Some((
            "constant",
            StructBuilder::new()
                .field("level", s16(&f, U))
                .field("envelope", envelope(&f, U + 2))
                .done(),
        )),
        Some("FF_RAMP") => Some((
            "ramp",
            StructBuilder::new()
                .field("start_level", s16(&f, U))
                .field("end_level", s16(&f, U + 2))
                .field("envelope", envelope(&f, U + 4))
                .done(),
        )),
        Some("FF_PERIODIC") => Some((
            "periodic",
            StructBuilder::new()
                .dec("waveform", f.u16(U))
                .dec("period", f.u16(U + 2))
                .field("magnitude", s16(&f, U + 4))
                .field("offset", s16(&f, U + 6))
                .dec("phase", f.u16(U + 8))
                .field("envelope", envelope(&f, U + 10))
                .dec("custom_len", f.u32(U + 20))
                .field("custom_data", Value::ptr(f.ulong(U + 24)))
                .done(),
        )),
        Some("FF_RUMBLE") => Some((
            "rumble",
            StructBuilder::new()
                .dec("strong_magnitude", f.u16(U))
                .dec("weak_magnitude", f.u16(U + 2))
                .done(),
        )),
        _ => None,
    };
    if let Some((name, e)) = effect {
        s.field(name, e);
    }
    s.done()
}

#[cfg(test)]
mod tests {
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::DecodeOptions;

    use super::super::ioctl::tests::{line, line_o, EBADF};
    use super::*;

    /// `_IOC(dir, 'E', nr, size)`.
    fn ioc(dir: u32, nr: u32, size: u32) -> u32 {
        dir << 30 | size << 16 | TYPE << 8 | nr
    }

    #[test]
    fn requests_named_with_their_parameters() {
        let mut m = SparseVirt::new();
        let e = "= -1 EBADF (Bad file descriptor)";
        assert_eq!(
            line(ioc(2, 0x21, 8), 0, EBADF, &mut m),
            format!("ioctl(-1, EVIOCGBIT(EV_KEY, 8), NULL) {e}")
        );
        assert_eq!(
            line(ioc(2, 0x26, 12), 0, EBADF, &mut m),
            format!("ioctl(-1, EVIOCGBIT(0x6 /* EV_??? */, 12), NULL) {e}")
        );
        assert_eq!(
            line(ioc(1, 0xc0 + 0xe, 24), 0, EBADF, &mut m),
            format!("ioctl(-1, EVIOCSABS(0xe /* ABS_??? */), NULL) {e}")
        );
        assert_eq!(
            line(ioc(2, 0x06, 0), 0, EBADF, &mut m),
            format!("ioctl(-1, EVIOCGNAME(0), NULL) {e}")
        );
        assert_eq!(
            line(ioc(3, 0xfe, 0xff), 0xdeadbeef, EBADF, &mut m),
            format!("ioctl(-1, _IOC(_IOC_READ|_IOC_WRITE, 0x45, 0xfe, 0xff), 0xdeadbeef) {e}")
        );
        let o = DecodeOptions {
            const_style: ConstStyle::Verbose,
            ..DecodeOptions::default()
        };
        assert_eq!(
            line_o(&o, ioc(2, 0x26, 12), 0, EBADF, &mut m),
            format!("ioctl(-1, 0x800c4526 /* EVIOCGBIT(0x6, 12) */, NULL) {e}")
        );
    }

    #[test]
    fn structures_and_bitsets() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &[0xef, 0xbe, 0xad, 0xde, 1, 0, 0, 0]);
        // EVIOCSKEYCODE _IOW('E', 4, int[2]).
        assert_eq!(
            line(ioc(1, 4, 8), 0x1000, 0, &mut m),
            "ioctl(-1, EVIOCSKEYCODE, [3735928559, KEY_ESC]) = 0"
        );
        // EVIOCGID at a successful exit.
        m.map(0x2000, &[3, 0, 1, 0, 2, 0, 4, 0]);
        assert_eq!(
            line(ioc(2, 2, 8), 0x2000, 0, &mut m),
            "ioctl(-1, EVIOCGID, {bustype=3, vendor=1, product=2, version=4}) = 0"
        );
        // EVIOCGBIT(0, 4): EV_SYN, EV_KEY, EV_REL, EV_ABS, EV_MSC set;
        // four names, then `...`.
        m.map(0x3000, &[0x1f, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            line(ioc(2, 0x20, 4), 0x3000, 4, &mut m),
            "ioctl(-1, EVIOCGBIT(0, 4), [EV_SYN EV_KEY EV_REL EV_ABS ...]) = 4"
        );
        let o = DecodeOptions {
            const_style: ConstStyle::Raw,
            ..DecodeOptions::default()
        };
        assert_eq!(
            line_o(&o, ioc(2, 0x20, 4), 0x3000, 4, &mut m),
            "ioctl(-1, 0x80044520, [0x1f]) = 4"
        );
        // EVIOCSFF: an abbreviated effect.
        let mut ff = vec![0x52, 0, 1, 0, 2, 0];
        ff.resize(48, 0);
        m.map(0x4000, &ff);
        assert_eq!(
            line(ioc(1, 0x80, 48), 0x4000, 0, &mut m),
            "ioctl(-1, EVIOCSFF, {type=FF_CONSTANT, id=1, direction=2, ...}) = 0"
        );
        let v = DecodeOptions {
            verbose: true,
            ..DecodeOptions::default()
        };
        assert_eq!(
            line_o(&v, ioc(1, 0x80, 48), 0x4000, 0, &mut m),
            "ioctl(-1, EVIOCSFF, {type=FF_CONSTANT, id=1, direction=2, \
             trigger={button=0, interval=0}, replay={length=0, delay=0}, \
             constant={level=0, envelope={attack_length=0, attack_level=0, \
             fade_length=0, fade_level=0}}}) = 0"
        );
    }
}
