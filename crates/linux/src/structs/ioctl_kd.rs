//! Virtual terminal and keyboard ioctls (type 'K') as strace prints
//! them: tones with their frequency, LED and keyboard modes, keymap
//! entries with the key they name, function key strings, diacritics,
//! screen and Unicode maps, fonts and colour maps.
//!
//! A getter shows its argument at a successful exit (its address
//! otherwise); a setter at the entry. The structures holding a pointer
//! (`unimapdesc`, `consolefontdesc`, `console_font_op`) have the
//! caller's ABI layout; the others are the same in both ABIs. Byte
//! tables (screen maps, fonts, colour maps) print in hex, at most `-s`
//! bytes of them, as strace does.

use vstrace_core::style::style;
use vstrace_core::value::{Base, Flag, Name};
use vstrace_core::{read, ConstStyle, StructBuilder, Value};

use super::ioctl::{read_v, Kind};
use super::{Call, Fields};
use crate::fmt;
use crate::xlat::{Radix, Table as T};

/// The PC speaker's timer frequency: a tone's divisor divides it.
const PIT_TICK_RATE: u64 = 1_193_182;
/// Entries of a screen map (`E_TABSZ`).
const E_TABSZ: u64 = 256;
/// Most diacritics of a table (`MAX_DIACR`).
const MAX_DIACR: u64 = 256;
/// Bytes of a `GIO_FONT`/`PIO_FONT` font: 256 characters of 32 rows.
const FONT_BYTES: u64 = 8192;
/// Bytes of a colour map: 16 colours of 3 bytes.
const CMAP_BYTES: u64 = 48;
/// Bytes of a function key string (`kbsentry.kb_string`).
const FUNC_STRING: usize = 512;
/// The first and last I/O ports a `KDADDIO` may name (`GPFIRST`, `GPLAST`).
const GP_PORTS: (u64, u64) = (0x3b4, 0x3df);
/// A Unicode map entry that maps straight to a font position
/// (`UNI_DIRECT_BASE`, the low bits by `UNI_DIRECT_MASK`).
const UNI_DIRECT: (u64, u64) = (0xf000, 0x1ff);
/// Key types whose value is a character (`KT_LATIN`, `KT_META`,
/// `KT_LETTER`, `KT_DEAD2`).
const CHAR_TYPES: [u64; 4] = [0, 8, 11, 13];
/// The tables naming the keys of a type, by type (`KT_FN`...`KT_BRL`).
const KEY_TABLES: [(u64, T); 10] = [
    (1, T::KdKeyFnKeys),
    (2, T::KdKeySpecKeys),
    (3, T::KdKeyPadKeys),
    (4, T::KdKeyDeadKeys),
    (6, T::KdKeyCurKeys),
    (7, T::KdKeyShiftKeys),
    (9, T::KdKeyAsciiKeys),
    (10, T::KdKeyLockKeys),
    (12, T::KdKeySlockKeys),
    (14, T::KdKeyBrlKeys),
];
/// `console_font_op.op` values printed differently.
const FONT_OP_SET: u64 = 0;
const FONT_OP_GET: u64 = 1;
const FONT_OP_SET_DEFAULT: u64 = 2;
const FONT_OP_COPY: u64 = 3;

/// The decoder of VT request `name`, if strace has one.
pub(super) fn kind_of(name: &str) -> Option<Kind> {
    use Kind::{EntryExitV, InMoreV, InOutV, InV, NoArg, OutV, ValV};
    Some(match name {
        "KIOCSOUND" => ValV(sound),
        "KDMKTONE" => ValV(tone),
        "KDGETLED" => OutV(|c, v| byte_ptr(c, v, |c, b| leds(c, b, T::KdLedFlags))),
        "KDGKBLED" => OutV(|c, v| byte_ptr(c, v, |c, b| leds(c, b, T::KdDefaultLedFlags))),
        "KDSETLED" => ValV(|c, v| leds(c, v & 0xff, T::KdLedFlags)),
        "KDSKBLED" => ValV(|c, v| leds(c, v & 0xff, T::KdDefaultLedFlags)),
        "KDGKBTYPE" => OutV(|c, v| {
            byte_ptr(c, v, |c, b| {
                fmt::xval_v(c.abi, T::KdKbdTypes, b, Radix::Hex)
            })
        }),
        "KDADDIO" | "KDDELIO" => ValV(|_, v| io_port(v)),
        "KDSETMODE" => ValV(|c, v| fmt::xval_v(c.abi, T::KdModes, v & 0xffff_ffff, Radix::Hex)),
        "KDGETMODE" => {
            OutV(|c, v| int_ptr(c, v, |c, i| fmt::xval_v(c.abi, T::KdModes, i, Radix::Hex)))
        }
        "GIO_SCRNMAP" => OutV(|c, v| hex_string(c, v, E_TABSZ)),
        "PIO_SCRNMAP" => InV(|c, v| hex_string(c, v, E_TABSZ)),
        "GIO_UNISCRNMAP" => OutV(uni_screen_map),
        "PIO_UNISCRNMAP" => InV(uni_screen_map),
        "KDGKBMODE" => OutV(|c, v| {
            int_ptr(c, v, |c, i| {
                fmt::xval_v(c.abi, T::KdKbdModes, i, Radix::Dec)
            })
        }),
        "KDSKBMODE" => ValV(|c, v| fmt::xval_v(c.abi, T::KdKbdModes, v, Radix::Dec)),
        "KDGKBENT" => InMoreV(key_entry_in, |c, v| last_out(c, v, key_value_field)),
        "KDSKBENT" => InV(|c, v| whole(c, v, key_entry_in, key_value_field)),
        "KDGKBSENT" => InMoreV(func_key_in, |c, v| last_out(c, v, func_string)),
        "KDSKBSENT" => InV(|c, v| whole(c, v, func_key_in, func_string)),
        "KDGKBDIACR" => OutV(|c, v| diacritics(c, v, false)),
        "KDSKBDIACR" => InV(|c, v| diacritics(c, v, false)),
        "KDGKBDIACRUC" => OutV(|c, v| diacritics(c, v, true)),
        "KDSKBDIACRUC" => InV(|c, v| diacritics(c, v, true)),
        "KDGETKEYCODE" => EntryExitV(keycode, keycode_out),
        "KDSETKEYCODE" => InV(keycode),
        "KDSIGACCEPT" => ValV(|_, v| {
            if v < i32::MAX as u64 {
                fmt::signal_v(v)
            } else {
                Value::dec(v)
            }
        }),
        "KDKBDREP" => InOutV(kbd_repeat, |c, v| match kbd_repeat(c, v) {
            s @ Value::Struct { .. } => Some(s),
            _ => None,
        }),
        "GIO_FONT" => OutV(|c, v| hex_string(c, v, FONT_BYTES)),
        "PIO_FONT" => InV(|c, v| hex_string(c, v, FONT_BYTES)),
        "KDGKBMETA" => OutV(|c, v| {
            int_ptr(c, v, |c, i| {
                fmt::xval_v(c.abi, T::KdMetaVals, i, Radix::Hex)
            })
        }),
        "KDSKBMETA" => ValV(|c, v| fmt::xval_v(c.abi, T::KdMetaVals, v & 0xffff_ffff, Radix::Hex)),
        "PIO_UNIMAPCLR" => InV(unimap_init),
        "GIO_CMAP" => OutV(|c, v| hex_string(c, v, CMAP_BYTES)),
        "PIO_CMAP" => InV(|c, v| hex_string(c, v, CMAP_BYTES)),
        "GIO_UNIMAP" => EntryExitV(unimap_count, unimap_get_out),
        "PIO_UNIMAP" => InV(unimap_set),
        "GIO_FONTX" => InOutV(|c, v| fontx(c, v, false), fontx_out),
        "PIO_FONTX" => InV(|c, v| fontx(c, v, true)),
        "KDFONTOP" => InOutV(font_op, font_op_out),
        "KDENABIO" | "KDDISABIO" | "KDMAPDISP" | "KDUNMAPDISP" | "PIO_FONTRESET" => NoArg,
        _ => return None,
    })
}

/// A number in hex (`PRINT_FIELD_X`).
fn hex(v: u64) -> Value {
    Value::int(v, Base::Hex)
}

/// `v` with strace's explanatory comment, except in the raw style.
fn commented(v: Value, comment: impl FnOnce() -> String) -> Value {
    if style() == ConstStyle::Raw {
        v
    } else {
        Value::Commented {
            value: Box::new(v),
            comment: comment(),
        }
    }
}

/// `KIOCSOUND`: the timer divisor, with the frequency it makes.
fn sound(_: &mut Call<'_, '_>, v: u64) -> Value {
    let freq = PIT_TICK_RATE.checked_div(v).unwrap_or(0);
    commented(Value::dec(v), || match freq {
        0 => "off".into(),
        f => format!("{f} Hz"),
    })
}

/// `KDMKTONE`: the duration in ticks (`N<<16`) and the divisor, with
/// the frequency and duration they make.
fn tone(_: &mut Call<'_, '_>, v: u64) -> Value {
    let v = v & 0xffff_ffff;
    let (ticks, count) = (v >> 16, v & 0xffff);
    let mut parts = Vec::new();
    if ticks != 0 {
        parts.push(Flag::Text(format!("{ticks}<<16")));
    }
    parts.push(Flag::Text(count.to_string()));
    let freq = match (ticks, count) {
        (0, _) | (_, 0) => 0,
        _ => PIT_TICK_RATE / count,
    };
    commented(Value::Flags(parts), || match freq {
        0 => "off".into(),
        f => format!("{f} Hz, {ticks} ms"),
    })
}

/// LED bits (`LED_SCR|...`; the default LEDs' table names the high
/// nibble too).
fn leds(c: &Call<'_, '_>, v: u64, table: T) -> Value {
    fmt::xflags_v(c.abi, &[table], v, true, false)
}

/// The byte an argument points to, as `[...]`.
fn byte_ptr(c: &mut Call<'_, '_>, v: u64, f: fn(&Call<'_, '_>, u64) -> Value) -> Value {
    read_v(c, v, 1, |c, b| Value::boxed(f(c, b.bytes(0, 1))))
}

/// The `int` an argument points to, as `[...]`.
fn int_ptr(c: &mut Call<'_, '_>, v: u64, f: fn(&Call<'_, '_>, u64) -> Value) -> Value {
    read_v(c, v, 4, |c, b| Value::boxed(f(c, b.u32(0))))
}

/// `KDADDIO`/`KDDELIO`: an I/O port, with its place among the ports
/// a VT may enable.
fn io_port(v: u64) -> Value {
    let port = hex(v);
    if (GP_PORTS.0..=GP_PORTS.1).contains(&v) {
        commented(port, || format!("GPFIRST + {}", v - GP_PORTS.0))
    } else {
        port
    }
}

/// strace's `printstr_ex` of `len` bytes in hex: at most `-s` of them
/// (`...` after a cut); the address when the bytes shown and the one
/// after them cannot be read.
pub(super) fn hex_string(c: &mut Call<'_, '_>, v: u64, len: u64) -> Value {
    let max = c.opts.strsize as u64;
    match c.fetch_v(v, len.min(max.saturating_add(1)) as usize) {
        Ok(mut b) => {
            b.truncate(len.min(max) as usize);
            fmt::hex_bytes_v(b, len > max)
        }
        Err(e) => e,
    }
}

/// A Unicode screen map: 256 16-bit entries, those mapping straight to
/// a font position named `UNI_DIRECT_BASE+N`.
fn uni_screen_map(c: &mut Call<'_, '_>, v: u64) -> Value {
    c.array_v(v, E_TABSZ, 2, |_, b| {
        let e = Fields::new(b, 4).u16(0);
        if e & !UNI_DIRECT.1 == UNI_DIRECT.0 {
            Value::Const(vstrace_core::value::Const {
                raw: i128::from(e),
                base: Base::Hex,
                name: Some(Name::Owned(format!(
                    "UNI_DIRECT_BASE+{:#x}",
                    e & UNI_DIRECT.1
                ))),
                comment: None,
            })
        } else {
            hex(e)
        }
    })
}

/// A character as strace's `print_char` with quotes: `'a'`, `'\n'`,
/// `'\''`, `'\x7f'`.
fn char_v(ch: u64) -> Value {
    let ch = ch as u8;
    Value::Opaque(match ch {
        b'\'' => "'\\''".into(),
        b'\\' => "'\\\\'".into(),
        b'\t' => "'\\t'".into(),
        b'\n' => "'\\n'".into(),
        0x0b => "'\\v'".into(),
        0x0c => "'\\f'".into(),
        b'\r' => "'\\r'".into(),
        b' '..=b'~' => format!("'{}'", ch as char),
        _ => format!("'\\x{ch:02x}'"),
    })
}

/// `kbentry.kb_table`: a keymap's name, else its modifier bits.
fn key_table(c: &Call<'_, '_>, t: u64) -> Value {
    if T::KdKeyTables.xlat().lookup(c.abi, t).is_some() {
        fmt::xval_v(c.abi, T::KdKeyTables, t, Radix::Hex)
    } else {
        fmt::xflags_v(c.abi, &[T::KdKeymapFlags], t, true, false)
    }
}

/// `kbentry.kb_value`: the key code, with the key it names (`K_F1`,
/// `K(KT_LATIN, 'a')`) except in the raw style.
fn key_value(c: &Call<'_, '_>, k: u64) -> Value {
    let (ty, val) = (k >> 8, k & 0xff);
    commented(hex(k), || {
        if let Some(name) = KEY_TABLES
            .iter()
            .find(|(t, _)| *t == ty)
            .and_then(|(_, table)| table.xlat().lookup(c.abi, k))
        {
            return name.to_string();
        }
        let ty_name = T::KdKeyTypes
            .xlat()
            .lookup(c.abi, ty)
            .map_or_else(|| hex(ty).render(), str::to_string);
        let val = if CHAR_TYPES.contains(&ty) {
            char_v(val)
        } else {
            hex(val)
        };
        format!("K({ty_name}, {})", val.render())
    })
}

/// `struct kbentry` as the entry shows it: the keymap and the index.
fn key_entry_in(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 2, |c, f| {
        StructBuilder::new()
            .field("kb_table", key_table(c, f.bytes(0, 1)))
            .dec("kb_index", f.bytes(1, 1))
            .done()
    })
}

/// `kbentry.kb_value` (`???` when it cannot be read).
fn key_value_field(c: &mut Call<'_, '_>, v: u64) -> (Name, Value) {
    let k = match c.fetch(v.wrapping_add(2), 2) {
        Ok(b) => key_value(c, Fields::new(&b, 4).u16(0)),
        Err(_) => Value::Opaque("???".into()),
    };
    (Name::Borrowed("kb_value"), k)
}

/// A getter's last field at a successful exit (`KDGKBENT`'s key code,
/// `KDGKBSENT`'s string): what the kernel wrote after what it read.
fn last_out(
    c: &mut Call<'_, '_>,
    v: u64,
    last: fn(&mut Call<'_, '_>, u64) -> (Name, Value),
) -> Vec<(Name, Value)> {
    if c.failed() {
        return Vec::new();
    }
    vec![last(c, v)]
}

/// A setter's whole structure (`KDSKBENT`, `KDSKBSENT`): the fields its
/// getter shows at the entry, then the last one.
fn whole(
    c: &mut Call<'_, '_>,
    v: u64,
    head: fn(&mut Call<'_, '_>, u64) -> Value,
    last: fn(&mut Call<'_, '_>, u64) -> (Name, Value),
) -> Value {
    match head(c, v) {
        Value::Struct { mut fields, more } => {
            fields.push(last(c, v));
            Value::Struct { fields, more }
        }
        other => other,
    }
}

/// `struct kbsentry` as the entry shows it: the function key.
fn func_key_in(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 1, |c, f| {
        StructBuilder::new()
            .field(
                "kb_func",
                fmt::xval_v(c.abi, T::KdKeyFnKeyVals, f.bytes(0, 1), Radix::Hex),
            )
            .done()
    })
}

/// `kbsentry.kb_string`: up to its NUL (of 512 bytes), at most `-s`
/// bytes (`...` after a cut); `???` when it cannot be read.
fn func_string(c: &mut Call<'_, '_>, v: u64) -> (Name, Value) {
    let s = match read::read_cstring(c.mem, v.wrapping_add(1), FUNC_STRING) {
        Ok(s) if s.fault.is_none() => {
            // strace shows `min(-s, 512)` bytes at most, `...` when no
            // NUL ends the string within them.
            let shown = c.opts.strsize.min(FUNC_STRING);
            let mut bytes = s.bytes;
            let cut = bytes.len() >= shown;
            bytes.truncate(shown);
            Value::str(bytes, cut, c.opts.strings_in_hex)
        }
        _ => Value::Opaque("???".into()),
    };
    (Name::Borrowed("kb_string"), s)
}

/// `struct kbdiacrs` (characters) or `struct kbdiacrsuc` (Unicode
/// values in hex): the count and that many entries, at most 256 (`...`
/// after them when the count is larger).
fn diacritics(c: &mut Call<'_, '_>, v: u64, unicode: bool) -> Value {
    let count = match c.fetch_v(v, 4) {
        Ok(b) => Fields::new(&b, 4).u32(0),
        Err(e) => return e,
    };
    let size = if unicode { 12 } else { 3 };
    let mut entries = c.array_v(v.wrapping_add(4), count.min(MAX_DIACR), size, |_, b| {
        let f = Fields::new(b, 4);
        let mut s = StructBuilder::new();
        for (i, name) in ["diacr", "base", "result"].into_iter().enumerate() {
            s.field(
                name,
                if unicode {
                    hex(f.u32(4 * i))
                } else {
                    char_v(f.bytes(i, 1))
                },
            );
        }
        s.done()
    });
    if let Value::Array { items, more } = &mut entries {
        let ended = matches!(items.last(), Some(Value::Opaque(t)) if t.starts_with("..."));
        if count > MAX_DIACR && !ended {
            *more = true;
        }
    }
    StructBuilder::new()
        .dec("kb_cnt", count)
        .field(if unicode { "kbdiacruc" } else { "kbdiacr" }, entries)
        .done()
}

/// `struct kbkeycode`: the scan code and the key code, in hex.
fn keycode(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 8, |_, f| {
        StructBuilder::new()
            .field("scancode", hex(f.u32(0)))
            .field("keycode", hex(f.u32(4)))
            .done()
    })
}

/// `KDGETKEYCODE` at the exit: the key code the kernel wrote after the
/// one asked about (`keycode=0 => 0x1e`).
fn keycode_out(c: &mut Call<'_, '_>, v: u64) -> Value {
    let before = keycode(c, v);
    if c.failed() {
        return before;
    }
    let after = match c.fetch(v.wrapping_add(4), 4) {
        Ok(b) => hex(Fields::new(&b, 4).u32(0)),
        Err(_) => return before,
    };
    match before {
        Value::Struct { mut fields, more } => {
            if let Some((_, k)) = fields.last_mut() {
                *k = Value::Changed {
                    before: Box::new(k.clone()),
                    after: Box::new(after),
                };
            }
            Value::Struct { fields, more }
        }
        other => other,
    }
}

/// `struct kbd_repeat`: the delay and period, signed.
fn kbd_repeat(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 8, |_, f| {
        StructBuilder::new()
            .dec("delay", f.i32(0))
            .dec("period", f.i32(4))
            .done()
    })
}

/// `struct unimapinit`: the hash parameters.
fn unimap_init(c: &mut Call<'_, '_>, v: u64) -> Value {
    read_v(c, v, 6, |_, f| {
        StructBuilder::new()
            .dec("advised_hashsize", f.u16(0))
            .dec("advised_hashstep", f.u16(2))
            .dec("advised_hashlevel", f.u16(4))
            .done()
    })
}

/// The size of a structure of an `unsigned short` pair and a pointer
/// (`unimapdesc`, `consolefontdesc`), and its pointer's offset.
fn short_ptr_layout(c: &Call<'_, '_>) -> (usize, usize) {
    let w = c.long_size();
    (2 * w, w)
}

/// `struct unimapdesc` fields: the count, and the address of the pairs.
fn unimap_desc(c: &mut Call<'_, '_>, v: u64) -> Result<(u64, u64), Value> {
    let (size, at) = short_ptr_layout(c);
    let b = c.fetch_v(v, size)?;
    let f = Fields::new(&b, at);
    Ok((f.u16(0), f.ulong(at)))
}

/// `count` `struct unipair` at `entries`, in hex.
fn unipairs(c: &mut Call<'_, '_>, entries: u64, count: u64) -> Value {
    c.array_v(entries, count, 4, |_, b| {
        let f = Fields::new(b, 4);
        StructBuilder::new()
            .field("unicode", hex(f.u16(0)))
            .field("fontpos", hex(f.u16(2)))
            .done()
    })
}

/// `GIO_UNIMAP` at the entry: the room for pairs.
fn unimap_count(c: &mut Call<'_, '_>, v: u64) -> Value {
    match unimap_desc(c, v) {
        Ok((count, _)) => StructBuilder::new().dec("entry_ct", count).done(),
        Err(e) => e,
    }
}

/// `GIO_UNIMAP` at the exit: the count asked and the count the kernel
/// wrote, and the pairs (as many as asked; their address when the call
/// failed other than for lack of room).
fn unimap_get_out(c: &mut Call<'_, '_>, v: u64) -> Value {
    let (now, entries) = match unimap_desc(c, v) {
        Ok(d) => d,
        Err(e) => return e,
    };
    // The count shown at the entry sizes the pairs.
    let asked = c
        .entry()
        .and_then(|t| t.strip_prefix("{entry_ct="))
        .and_then(|t| t.strip_suffix('}'))
        .and_then(|t| t.parse().ok())
        .unwrap_or(now);
    const ENOMEM: i64 = -12;
    let pairs = if c.failed() && c.ret != Some(ENOMEM) {
        Value::ptr(entries)
    } else {
        unipairs(c, entries, asked)
    };
    StructBuilder::new()
        .field(
            "entry_ct",
            Value::Changed {
                before: Box::new(Value::dec(asked)),
                after: Box::new(Value::dec(now)),
            },
        )
        .field("entries", pairs)
        .done()
}

/// `PIO_UNIMAP`: the count and the pairs.
fn unimap_set(c: &mut Call<'_, '_>, v: u64) -> Value {
    match unimap_desc(c, v) {
        Ok((count, entries)) => StructBuilder::new()
            .dec("entry_ct", count)
            .field("entries", unipairs(c, entries, count))
            .done(),
        Err(e) => e,
    }
}

/// `struct consolefontdesc`: the glyphs' address for what the kernel
/// is to fill, else the glyphs (32 bytes each, at most 512 of them).
fn fontx(c: &mut Call<'_, '_>, v: u64, data: bool) -> Value {
    let (size, at) = short_ptr_layout(c);
    let (count, height, glyphs) = match c.fetch_v(v, size) {
        Ok(b) => {
            let f = Fields::new(&b, at);
            (f.u16(0), f.u16(2), f.ulong(at))
        }
        Err(e) => return e,
    };
    let chardata = if data {
        hex_string(c, glyphs, count.min(512) * 32)
    } else {
        Value::ptr(glyphs)
    };
    StructBuilder::new()
        .dec("charcount", count)
        .dec("charheight", height)
        .field("chardata", chardata)
        .done()
}

/// `GIO_FONTX` at a successful exit: the font the kernel wrote.
fn fontx_out(c: &mut Call<'_, '_>, v: u64) -> Option<Value> {
    match fontx(c, v, true) {
        s @ Value::Struct { .. } => Some(s),
        _ => None,
    }
}

/// `struct console_font_op` fields: op, flags, width, height,
/// charcount and the data's address.
fn font_op_fields(c: &mut Call<'_, '_>, v: u64) -> Result<[u64; 6], Value> {
    let w = c.long_size();
    // Five `unsigned int` and a pointer aligned to its size.
    let at = 20usize.next_multiple_of(w);
    let b = c.fetch_v(v, at + w)?;
    let f = Fields::new(&b, w);
    Ok([
        f.u32(0),
        f.u32(4),
        f.u32(8),
        f.u32(12),
        f.u32(16),
        f.ulong(at),
    ])
}

/// The font operation's fields strace shows, at the entry (`entry`:
/// with the operation and its flags) or after ` => `.
fn font_op_v(c: &mut Call<'_, '_>, op: [u64; 6], entry: bool) -> Value {
    let [code, flags, width, height, count, data] = op;
    let mut s = StructBuilder::new();
    let plain = code == FONT_OP_SET_DEFAULT || code == FONT_OP_COPY;
    if entry {
        s.field("op", fmt::xval_v(c.abi, T::KdFontOps, code, Radix::Hex));
        if !plain {
            s.field(
                "flags",
                fmt::xflags_v(c.abi, &[T::KdFontFlags], flags, true, false),
            );
        }
    }
    if code != FONT_OP_COPY {
        s.dec("width", width);
    }
    s.dec("height", height);
    if !plain {
        s.dec("charcount", count);
    }
    match code {
        FONT_OP_GET if entry => {
            s.field("data", Value::ptr(data));
        }
        FONT_OP_GET | FONT_OP_SET => {
            // Rows of up to 32 pixels, 32 rows a glyph, 512 glyphs.
            let len = width.min(32).div_ceil(8) * 32 * count.min(512);
            s.field("data", hex_string(c, data, len));
        }
        FONT_OP_SET_DEFAULT if entry => {
            s.field("data", font_name(c, data));
        }
        FONT_OP_SET_DEFAULT | FONT_OP_COPY => {}
        _ => {
            s.field("data", Value::ptr(data));
        }
    }
    s.done()
}

/// `KDFONTOP` at the entry.
fn font_op(c: &mut Call<'_, '_>, v: u64) -> Value {
    match font_op_fields(c, v) {
        Ok(op) => font_op_v(c, op, true),
        Err(e) => e,
    }
}

/// `KDFONTOP` at a successful exit: what the kernel wrote back (nothing
/// for setting a font or copying one).
fn font_op_out(c: &mut Call<'_, '_>, v: u64) -> Option<Value> {
    let op = font_op_fields(c, v).ok()?;
    if op[0] == FONT_OP_SET || op[0] == FONT_OP_COPY {
        return None;
    }
    Some(font_op_v(c, op, false))
}

/// The default font's name: a NUL-terminated string of at most 32
/// bytes, the last one expected to be the NUL (strace's `printstr_ex`
/// with `QUOTE_0_TERMINATED | QUOTE_EXPECT_TRAILING_0`).
fn font_name(c: &mut Call<'_, '_>, v: u64) -> Value {
    const LEN: usize = 32;
    if v == 0 {
        return Value::Null;
    }
    let max = c.opts.strsize;
    let read = LEN.min(max.saturating_add(1));
    match read::read_cstring(c.mem, v, read) {
        Ok(s) if s.fault.is_none() => {
            // The bytes shown: `-s` of them, and never the last of the
            // 32 (the NUL expected there).
            let shown = if read > max { max } else { read - 1 };
            let mut bytes = s.bytes;
            let cut = bytes.len() > shown;
            bytes.truncate(shown);
            Value::str(bytes, cut, c.opts.strings_in_hex)
        }
        _ => Value::ptr(v),
    }
}

#[cfg(test)]
mod tests {
    use vstrace_core::testmem::SparseVirt;

    use super::super::ioctl::tests::{line, EBADF};

    const E: &str = "= -1 EBADF (Bad file descriptor)";

    #[test]
    fn tones_and_values() {
        let mut m = SparseVirt::new();
        // KIOCSOUND _IO('K', 0x2f).
        assert_eq!(
            line(0x4b2f, 440, EBADF, &mut m),
            format!("ioctl(-1, KIOCSOUND, 440 /* 2711 Hz */) {E}")
        );
        // KDMKTONE _IO('K', 0x30).
        assert_eq!(
            line(0x4b30, 0xbadc0deddeadface, EBADF, &mut m),
            format!("ioctl(-1, KDMKTONE, 57005<<16|64206 /* 18 Hz, 57005 ms */) {E}")
        );
        // KDADDIO _IO('K', 0x34).
        assert_eq!(
            line(0x4b34, 0x3c0, EBADF, &mut m),
            format!("ioctl(-1, KDADDIO, 0x3c0 /* GPFIRST + 12 */) {E}")
        );
        // KDSKBMODE _IO('K', 0x45).
        assert_eq!(
            line(0x4b45, 0xbadc0dedfeeddead, EBADF, &mut m),
            format!("ioctl(-1, KDSKBMODE, -17965395 /* K_??? */) {E}")
        );
    }

    #[test]
    fn key_entries() {
        let mut m = SparseVirt::new();
        m.map(0x1000, &[0xff, 3, 0x5c, 0x0d]);
        // KDSKBENT _IO('K', 0x47).
        assert_eq!(
            line(0x4b47, 0x1000, EBADF, &mut m),
            format!(
                "ioctl(-1, KDSKBENT, {{kb_table=1<<KG_SHIFT|1<<KG_ALTGR|1<<KG_CTRL|1<<KG_ALT\
                 |1<<KG_SHIFTL|1<<KG_SHIFTR|1<<KG_CTRLL|1<<KG_CTRLR, kb_index=3, \
                 kb_value=0xd5c /* K(KT_DEAD2, '\\\\') */}}) {E}"
            )
        );
        // The value past the end of the mapping is unreadable.
        m.map(0x2ffe, &[1, 2]);
        assert_eq!(
            line(0x4b47, 0x2ffe, EBADF, &mut m),
            format!("ioctl(-1, KDSKBENT, {{kb_table=K_SHIFTTAB, kb_index=2, kb_value=???}}) {E}")
        );
    }
}
