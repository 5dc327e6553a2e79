//! Typed argument values, rendered twice.
//!
//! A decoder builds a [`Value`] (an integer with its base, string bytes
//! with their truncation, a flag set, a named constant, a structure, an
//! array, a pointer, an fd, an error...) once; the two renderings are
//! derived from it:
//!
//! - [`Value::render`]: the strace text (`"/etc/hostname"`,
//!   `O_RDONLY|O_CLOEXEC`, `{tv_sec=1, tv_nsec=0}`), byte for byte what
//!   strace prints;
//! - its [`serde::Serialize`] form: plain JSON for the records'
//!   `args[i].value` (`"/etc/hostname"`, `["O_RDONLY", "O_CLOEXEC"]`,
//!   `{"tv_sec": 1, "tv_nsec": 0}`), described by `docs/record.schema.json`.
//!
//! The JSON rules (the schema says the same):
//! - integers and unknown constants are numbers, named constants strings;
//! - a string is a JSON string when its bytes are UTF-8 and it was read
//!   in full; otherwise an object: `{"string": s}` or, for bytes that are
//!   not UTF-8, `{"hex": "2f6574..."}` (two lowercase hex digits a byte,
//!   lossless), with `"truncated": true` when strace printed `...`;
//! - a flag set is a list of names in strace's order; leftover bits are
//!   one `"0x..."` element;
//! - a structure is an object in field order, an array an array
//!   (`{"items": [...], "truncated": true}` when cut short);
//! - a pointer is a `"0x..."` string (64-bit addresses do not fit a
//!   double), NULL is `null`;
//! - a value no decoder types yet is `{"text": "<strace text>"}`.

use std::borrow::Cow;
use std::fmt::Write;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A name that is usually a static table entry, sometimes built.
pub type Name = Cow<'static, str>;

/// How an integer is written in the strace text; JSON always gets the
/// number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// Decimal, with its sign.
    Dec,
    /// `0`, or `0x` and lowercase hex digits (strace's `PRINT_VAL_X`).
    Hex,
    /// `0`, or a leading zero and octal digits (`0644`).
    Oct,
    /// strace's `%#03o`: at least three characters (`000`, `004`, `0644`).
    Oct03,
    /// A multiple of 1024 above it as `N*1024` (strace's resource
    /// limits), decimal otherwise.
    Kilo,
    /// strace's `%#08x` (`PRINT_FIELD_0X` of a 32-bit field): at least 8
    /// characters, zero-padded (`00000000`, `0x000012`, `0x87868584`).
    Hex08,
    /// strace's `%#0*llx` of a 64-bit word (`PRINT_VAL_0X`): at least 16
    /// characters, zero-padded (`0000000000000000`, `0x00000000000001`).
    Hex016,
}

/// `v` in decimal: most values fit 64 bits, written without `core::fmt`
/// (`i128`'s formatting divides in 128 bits).
fn dec(v: i128, out: &mut String) {
    match i64::try_from(v) {
        Ok(v) => crate::decimal::push_i64(out, v),
        Err(_) => {
            let _ = write!(out, "{v}");
        }
    }
}

impl Base {
    /// `v` written in this base (hex and octal of a negative number show
    /// its 64-bit two's complement).
    pub fn format(self, v: i128, out: &mut String) {
        let u = v as u64;
        match self {
            Base::Dec => dec(v, out),
            Base::Hex | Base::Oct if v == 0 => out.push('0'),
            Base::Hex => crate::decimal::push_hex(out, u),
            Base::Oct => {
                let _ = write!(out, "0{u:o}");
            }
            Base::Kilo if v > 1024 && v % 1024 == 0 => {
                let _ = write!(out, "{}*1024", v / 1024);
            }
            Base::Kilo => dec(v, out),
            Base::Hex08 if u == 0 => out.push_str("00000000"),
            Base::Hex08 => {
                let _ = write!(out, "{u:#08x}");
            }
            Base::Hex016 if u == 0 => out.push_str("0000000000000000"),
            Base::Hex016 => {
                let _ = write!(out, "{u:#016x}");
            }
            Base::Oct03 => {
                let s = if u == 0 {
                    "0".to_string()
                } else {
                    format!("0{u:o}")
                };
                let _ = write!(out, "{s:0>3}");
            }
        }
    }
}

/// How string bytes are escaped in the strace text (strace's `-x`
/// levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// strace's `-x` level: 0 C and octal escapes, 1 all in hex when any
    /// byte is not printable, 2 always all in hex, 3 hex escapes instead
    /// of octal ones.
    Level(u8),
    /// Every byte as `\xNN` (random or binary buffers: getrandom).
    AllHex,
    /// A Windows UTF-16 string, its UTF-8 bytes shown as `L"..."` with C
    /// escapes for quotes, backslashes, `\n\r\t\0` and `\xNN` for other
    /// control characters.
    Wide,
}

/// Bytes read from the guest, shown quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bytes {
    /// The bytes shown (at most the `-s` limit).
    pub bytes: Vec<u8>,
    /// There was more than was shown (strace's `...` after the quote).
    pub truncated: bool,
    /// How the text escapes them.
    pub escape: Escape,
}

/// One element of a flag set, in strace's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flag {
    /// A named bit or group of bits (`O_CLOEXEC`), or a name for zero
    /// (`PROT_NONE`).
    Name(Name),
    /// Bits without a name, in hex (`0x800000`); `comment` is strace's
    /// `/* O_??? */` when the set has no named bit at all.
    Bits {
        /// The bits.
        bits: u64,
        /// The table's unknown-value comment, without `/* */`.
        comment: Option<Name>,
    },
    /// A piece with its own notation (`21<<MAP_HUGE_SHIFT`).
    Text(String),
}

/// A value of an enumeration: a name, or the number with strace's
/// `/* X_??? */` comment when the table has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Const {
    /// The number as the kernel reads it.
    pub raw: i128,
    /// Its base when the number is printed.
    pub base: Base,
    /// The name, when the table has one.
    pub name: Option<Name>,
    /// Printed after the number, as `/* comment */`: the table's
    /// unknown marker (`RLIMIT_???`), or the name itself in strace's
    /// verbose (`-X verbose`) style. With a name and no comment only the
    /// name is printed.
    pub comment: Option<Name>,
}

/// A typed argument value (see the module doc for its two renderings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An integer and the base strace writes it in.
    Int {
        /// The number (signed or unsigned as the type is).
        value: i128,
        /// Its base in the text.
        base: Base,
    },
    /// String or buffer bytes.
    Str(Bytes),
    /// A flag set: names and leftover bits. Empty renders `0`.
    Flags(Vec<Flag>),
    /// A signal set as strace prints one: `[INT TERM]`, or
    /// `~[KILL STOP]` for the complement of the names.
    SigSet {
        /// Signal names without `SIG`.
        names: Vec<Name>,
        /// The set is everything but `names`.
        complement: bool,
    },
    /// A named constant, or an unknown value of an enumeration.
    Const(Const),
    /// A structure: named fields in order, `, ...` when strace abbreviates.
    Struct {
        /// The fields shown. A field of an empty name prints its value
        /// alone (strace's `???` for an unreadable tail), one named by a
        /// comment (`/* bytes 24..31 */`) prints the comment, a space and
        /// its value.
        fields: Vec<(Name, Value)>,
        /// strace left fields out (`, ...}`).
        more: bool,
    },
    /// An array: the elements shown, `...` when there were more.
    Array {
        /// The elements shown.
        items: Vec<Value>,
        /// More elements followed.
        more: bool,
    },
    /// A guest address (not NULL), printed in hex.
    Ptr(u64),
    /// The NULL pointer.
    Null,
    /// A file descriptor, with what it names when known (`-y`).
    Fd {
        /// The number.
        fd: i64,
        /// What it names (`/etc/passwd`, `socket:[1234]`).
        path: Option<String>,
    },
    /// An error: its name and message.
    Error {
        /// `ENOENT`, `STATUS_ACCESS_DENIED`.
        name: String,
        /// `No such file or directory`.
        text: String,
    },
    /// A value-result that changed during the call: strace's
    /// `before => after`.
    Changed {
        /// At entry.
        before: Box<Value>,
        /// At exit.
        after: Box<Value>,
    },
    /// A value with strace's explanatory comment after it
    /// (`35 /* 0.35 s */`, a time's date); JSON has the value only.
    Commented {
        /// The value.
        value: Box<Value>,
        /// The comment, without `/* */`.
        comment: String,
    },
    /// A 64-bit address a 32-bit caller passed that its pointers cannot
    /// hold (an `__u64` field of a compat structure): strace's
    /// `0x8f8e8d8c00001000 or [1]`, `value` being what the address cut
    /// to 32 bits holds, as the kernel's compat path reads it.
    WideAddr {
        /// The whole 64-bit address.
        addr: u64,
        /// The value at its low 32 bits.
        value: Box<Value>,
    },
    /// Text from a decoder not converted to typed values yet: the strace
    /// text itself.
    Opaque(String),
}

impl Value {
    /// A decimal integer.
    pub fn dec(v: impl Into<i128>) -> Value {
        Value::Int {
            value: v.into(),
            base: Base::Dec,
        }
    }

    /// An integer in `base`.
    pub fn int(v: impl Into<i128>, base: Base) -> Value {
        Value::Int {
            value: v.into(),
            base,
        }
    }

    /// A guest address: NULL for 0.
    pub fn ptr(v: u64) -> Value {
        if v == 0 {
            Value::Null
        } else {
            Value::Ptr(v)
        }
    }

    /// A named constant (no number shown).
    pub fn name(name: impl Into<Name>, raw: impl Into<i128>) -> Value {
        Value::Const(Const {
            raw: raw.into(),
            base: Base::Dec,
            name: Some(name.into()),
            comment: None,
        })
    }

    /// String bytes with strace's default escapes at `-x` level `xflag`.
    pub fn str(bytes: Vec<u8>, truncated: bool, xflag: u8) -> Value {
        Value::Str(Bytes {
            bytes,
            truncated,
            escape: Escape::Level(xflag),
        })
    }

    /// A one-element array (strace's `[N]` for an int an argument points
    /// to).
    pub fn boxed(v: Value) -> Value {
        Value::Array {
            items: vec![v],
            more: false,
        }
    }

    /// Whether this is the fallback text of an unconverted decoder.
    pub fn is_opaque(&self) -> bool {
        matches!(self, Value::Opaque(_))
    }

    /// The strace text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        self.render_into(&mut s);
        s
    }

    /// Appends the strace text to `out`.
    pub fn render_into(&self, out: &mut String) {
        match self {
            // `N*1024` is a name of sorts: -X raw prints the number,
            // verbose the number and `/* N*1024 */`.
            Value::Int {
                value,
                base: Base::Kilo,
            } if crate::style::style() != crate::ConstStyle::Abbrev => {
                Base::Dec.format(*value, out);
                if crate::style::style() == crate::ConstStyle::Verbose
                    && *value > 1024
                    && value % 1024 == 0
                {
                    let _ = write!(out, " /* {}*1024 */", value / 1024);
                }
            }
            Value::Int { value, base } => base.format(*value, out),
            Value::Str(b) => match b.escape {
                Escape::AllHex => quote_into(&b.bytes, b.truncated, true, false, out),
                Escape::Wide => {
                    quote_wide_into(&String::from_utf8_lossy(&b.bytes), b.truncated, out)
                }
                Escape::Level(x) => {
                    let hex = match x {
                        2 => true,
                        1 => b
                            .bytes
                            .iter()
                            .any(|&c| c > 0x7e || (c < b' ' && !(9..=13).contains(&c))),
                        _ => false,
                    };
                    quote_into(&b.bytes, b.truncated, hex, x == 3, out)
                }
            },
            Value::Flags(parts) => {
                if parts.is_empty() {
                    out.push('0');
                }
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push('|');
                    }
                    match p {
                        Flag::Name(n) => out.push_str(n),
                        Flag::Bits { bits, comment } => {
                            Base::Hex.format(*bits as i128, out);
                            if let Some(c) = comment {
                                let _ = write!(out, " /* {c} */");
                            }
                        }
                        Flag::Text(t) => out.push_str(t),
                    }
                }
            }
            Value::SigSet { names, complement } => {
                if *complement {
                    out.push('~');
                }
                out.push('[');
                for (i, n) in names.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(n);
                }
                out.push(']');
            }
            // -X (the decoding thread's style): raw prints the number
            // only, verbose the number with the name as a comment.
            Value::Const(c) => match (crate::style::style(), &c.name, &c.comment) {
                (crate::ConstStyle::Raw, _, _) => c.base.format(c.raw, out),
                (crate::ConstStyle::Verbose, Some(n), None) => {
                    c.base.format(c.raw, out);
                    let _ = write!(out, " /* {n} */");
                }
                (_, Some(n), None) => out.push_str(n),
                (_, _, comment) => {
                    c.base.format(c.raw, out);
                    if let Some(m) = comment {
                        let _ = write!(out, " /* {m} */");
                    }
                }
            },
            Value::Struct { fields, more } => {
                out.push('{');
                for (i, (n, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    // A field strace prints without a name: `???` for an
                    // unreadable tail (empty name), `/* bytes 24..31 */
                    // "\x80..."` for its nonzero bytes (a comment name).
                    if n.starts_with("/*") {
                        out.push_str(n);
                        out.push(' ');
                    } else if !n.is_empty() {
                        out.push_str(n);
                        out.push('=');
                    }
                    v.render_into(out);
                }
                if *more {
                    out.push_str(if fields.is_empty() { "..." } else { ", ..." });
                }
                out.push('}');
            }
            Value::Array { items, more } => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.render_into(out);
                }
                if *more {
                    out.push_str(if items.is_empty() { "..." } else { ", ..." });
                }
                out.push(']');
            }
            Value::Ptr(p) => crate::decimal::push_hex(out, *p),
            Value::Null => out.push_str("NULL"),
            Value::Fd { fd, path } => {
                crate::decimal::push_i64(out, *fd);
                if let Some(p) = path {
                    let _ = write!(out, "<{p}>");
                }
            }
            Value::Error { name, text } => {
                let _ = write!(out, "{name} ({text})");
            }
            Value::Changed { before, after } => {
                before.render_into(out);
                out.push_str(" => ");
                after.render_into(out);
            }
            Value::Commented { value, comment } => {
                value.render_into(out);
                let _ = write!(out, " /* {comment} */");
            }
            Value::WideAddr { addr, value } => {
                let _ = write!(out, "{addr:#x} or ");
                value.render_into(out);
            }
            Value::Opaque(t) => out.push_str(t),
        }
    }
}

impl std::fmt::Display for Value {
    /// The strace text ([`Value::render`]).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

impl From<String> for Value {
    /// Text of a decoder that has no typed value yet.
    fn from(s: String) -> Value {
        Value::Opaque(s)
    }
}

/// Quotes `bytes` as strace does: `"..."` with C escapes for `"`, `\`,
/// `\t`, `\n`, `\v`, `\f`, `\r`, and octal escapes (`\0`, `\177`, three
/// digits when an octal digit follows) for every other byte outside
/// printable ASCII; `hex` writes every byte as `\xNN`, `hex_escapes`
/// only the unprintable ones. `truncated` appends `...`.
pub fn quote_into(bytes: &[u8], truncated: bool, hex: bool, hex_escapes: bool, s: &mut String) {
    s.reserve(bytes.len() + 2);
    s.push('"');
    quote_body(bytes, hex, hex_escapes, b"", s);
    s.push('"');
    if truncated {
        s.push_str("...");
    }
}

/// A process name as strace's `-Y` prints it after a pid: `<comm>`, the
/// name quoted as a string without its quotes and with `<` and `>`
/// escaped in octal (strace's `print_comm_str`): `42<foo\74bar\76>`.
pub fn comm_in_angle_brackets(comm: &str, out: &mut String) {
    out.push('<');
    quote_body(comm.as_bytes(), false, false, b"<>", out);
    out.push('>');
}

/// [`quote_into`] without the quotes; the bytes of `escape` are escaped
/// in octal as unprintable ones are.
fn quote_body(bytes: &[u8], hex: bool, hex_escapes: bool, escape: &[u8], s: &mut String) {
    for (i, &b) in bytes.iter().enumerate() {
        if hex {
            push_hex_escape(s, b);
            continue;
        }
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            0x0b => s.push_str("\\v"),
            0x0c => s.push_str("\\f"),
            b'\r' => s.push_str("\\r"),
            0x20..=0x7e if !escape.contains(&b) => s.push(b as char),
            _ if hex_escapes => push_hex_escape(s, b),
            _ => {
                let next_is_octal = bytes.get(i + 1).is_some_and(|n| (b'0'..=b'7').contains(n));
                push_octal_escape(s, b, next_is_octal);
            }
        }
    }
}

/// Pushes `\xHH` (two lowercase hex digits) for `b`, as `write!(s,
/// "\\x{b:02x}")` does without the formatting machinery (a buffer of
/// zeros is a common argument).
fn push_hex_escape(s: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    s.push_str("\\x");
    s.push(HEX[usize::from(b >> 4)] as char);
    s.push(HEX[usize::from(b & 15)] as char);
}

/// Pushes `\` and `b` in octal: three digits when `pad` (an octal digit
/// follows), else as few as it takes, as `{b:03o}` / `{b:o}` format it.
fn push_octal_escape(s: &mut String, b: u8, pad: bool) {
    s.push('\\');
    let digits = [b >> 6, (b >> 3) & 7, b & 7];
    let first = match b {
        _ if pad => 0,
        64.. => 0,
        8.. => 1,
        _ => 2,
    };
    for d in &digits[first..] {
        s.push(char::from(b'0' + d));
    }
}

/// Quotes `text` as Windows strings are shown: `L"..."`, escaping
/// quotes, backslashes and control characters; `truncated` appends
/// `...`.
pub fn quote_wide_into(text: &str, truncated: bool, out: &mut String) {
    out.push_str("L\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    if truncated {
        out.push_str("...");
    }
}

/// Lowercase hex, two digits a byte: the JSON form of bytes that are not
/// UTF-8.
pub fn hex_bytes(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `"0x..."`: how JSON carries addresses and leftover bits.
fn hex_string(v: u64) -> String {
    format!("{v:#x}")
}

/// One flag element as its JSON string.
fn flag_json(f: &Flag) -> Cow<'_, str> {
    match f {
        Flag::Name(n) => Cow::Borrowed(n),
        Flag::Bits { bits, .. } => Cow::Owned(hex_string(*bits)),
        Flag::Text(t) => Cow::Borrowed(t),
    }
}

/// Serialises a number that may exceed i64/u64 as the nearest one that
/// fits (only values read as 64-bit words reach here, so it never
/// clamps in practice).
fn ser_int<S: Serializer>(v: i128, s: S) -> Result<S::Ok, S::Error> {
    if let Ok(i) = i64::try_from(v) {
        s.serialize_i64(i)
    } else if let Ok(u) = u64::try_from(v) {
        s.serialize_u64(u)
    } else if v < 0 {
        s.serialize_i64(i64::MIN)
    } else {
        s.serialize_u64(u64::MAX)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Int { value, .. } => ser_int(*value, s),
            Value::Str(b) => {
                let text = std::str::from_utf8(&b.bytes).ok();
                match (text, b.truncated) {
                    (Some(t), false) => s.serialize_str(t),
                    _ => {
                        let mut m = s.serialize_map(None)?;
                        match text {
                            Some(t) => m.serialize_entry("string", t)?,
                            None => m.serialize_entry("hex", &hex_bytes(&b.bytes))?,
                        }
                        if b.truncated {
                            m.serialize_entry("truncated", &true)?;
                        }
                        m.end()
                    }
                }
            }
            Value::Flags(parts) => {
                let mut q = s.serialize_seq(Some(parts.len()))?;
                for p in parts {
                    q.serialize_element(&flag_json(p))?;
                }
                q.end()
            }
            Value::SigSet { names, complement } => {
                if *complement {
                    let mut m = s.serialize_map(Some(1))?;
                    m.serialize_entry("all_but", names)?;
                    m.end()
                } else {
                    names.serialize(s)
                }
            }
            Value::Const(c) => match &c.name {
                Some(n) => s.serialize_str(n),
                None => ser_int(c.raw, s),
            },
            Value::Struct { fields, .. } => {
                let mut m = s.serialize_map(Some(fields.len()))?;
                for (n, v) in fields {
                    m.serialize_entry(n.as_ref(), v)?;
                }
                m.end()
            }
            Value::Array { items, more } => {
                if *more {
                    let mut m = s.serialize_map(Some(2))?;
                    m.serialize_entry("items", items)?;
                    m.serialize_entry("truncated", &true)?;
                    m.end()
                } else {
                    items.serialize(s)
                }
            }
            Value::Ptr(p) => s.serialize_str(&hex_string(*p)),
            Value::Null => s.serialize_none(),
            Value::Fd { fd, path: None } => s.serialize_i64(*fd),
            Value::Fd { fd, path: Some(p) } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("fd", fd)?;
                m.serialize_entry("path", p)?;
                m.end()
            }
            Value::Error { name, text } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("error", name)?;
                m.serialize_entry("message", text)?;
                m.end()
            }
            Value::Changed { before, after } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("before", before)?;
                m.serialize_entry("after", after)?;
                m.end()
            }
            Value::Commented { value, .. } => value.serialize(s),
            Value::WideAddr { addr, value } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("wide_addr", &hex_string(*addr))?;
                m.serialize_entry("value", value)?;
                m.end()
            }
            Value::Opaque(t) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("text", t)?;
                m.end()
            }
        }
    }
}

/// Builds a structure's fields in order: strace's `{a=b, c=d}` and the
/// JSON object come from the same calls.
#[derive(Debug, Default)]
pub struct StructBuilder {
    fields: Vec<(Name, Value)>,
}

impl StructBuilder {
    /// An empty structure.
    pub fn new() -> StructBuilder {
        StructBuilder::default()
    }

    /// Adds field `name`.
    pub fn field(&mut self, name: impl Into<Name>, v: Value) -> &mut Self {
        self.fields.push((name.into(), v));
        self
    }

    /// Adds a decimal field.
    pub fn dec(&mut self, name: impl Into<Name>, v: impl Into<i128>) -> &mut Self {
        self.field(name, Value::dec(v))
    }

    /// The structure, complete.
    pub fn done(&mut self) -> Value {
        Value::Struct {
            fields: std::mem::take(&mut self.fields),
            more: false,
        }
    }

    /// The structure, abbreviated (`, ...}`).
    pub fn abbreviated(&mut self) -> Value {
        Value::Struct {
            fields: std::mem::take(&mut self.fields),
            more: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_the_formatted_ones() {
        for b in 0..=255u8 {
            let mut s = String::new();
            push_hex_escape(&mut s, b);
            assert_eq!(s, format!("\\x{b:02x}"));
            for (pad, want) in [(true, format!("\\{b:03o}")), (false, format!("\\{b:o}"))] {
                let mut s = String::new();
                push_octal_escape(&mut s, b, pad);
                assert_eq!(s, want, "{b} pad {pad}");
            }
        }
    }

    fn json(v: &Value) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn strings_render_quoted_and_serialise_plain() {
        let v = Value::str(b"/etc/hostname".to_vec(), false, 0);
        assert_eq!(v.render(), "\"/etc/hostname\"");
        assert_eq!(json(&v), "\"/etc/hostname\"");
        let t = Value::str(b"abc".to_vec(), true, 0);
        assert_eq!(t.render(), "\"abc\"...");
        assert_eq!(json(&t), r#"{"string":"abc","truncated":true}"#);
        let bin = Value::str(vec![0x7f, b'E', 2, 0, b'1', 0xff], false, 0);
        assert_eq!(bin.render(), "\"\\177E\\2\\0001\\377\"");
        assert_eq!(json(&bin), r#"{"hex":"7f45020031ff"}"#);
        let hex = Value::Str(Bytes {
            bytes: b"0a".to_vec(),
            truncated: false,
            escape: Escape::AllHex,
        });
        assert_eq!(hex.render(), "\"\\x30\\x61\"");
        assert_eq!(Value::str(vec![0xe9], false, 1).render(), "\"\\xe9\"");
        assert_eq!(
            Value::str(b"a\xe9".to_vec(), false, 3).render(),
            "\"a\\xe9\""
        );
        assert_eq!(Value::str(b"a".to_vec(), false, 2).render(), "\"\\x61\"");
    }

    /// strace's `-Y` names (its strace--decode-pids-comm test's).
    #[test]
    fn comms_quote_as_strace() {
        let q = |c: &str| {
            let mut s = String::new();
            comm_in_angle_brackets(c, &mut s);
            s
        };
        assert_eq!(q("sh"), "<sh>");
        assert_eq!(q("foo\x1b[2Jbar"), "<foo\\33[2Jbar>");
        assert_eq!(q("foo<bar>"), "<foo\\74bar\\76>");
        assert_eq!(q("a<1"), "<a\\0741>");
    }

    #[test]
    fn flags_constants_and_numbers() {
        let f = Value::Flags(vec![
            Flag::Name("O_RDONLY".into()),
            Flag::Name("O_CLOEXEC".into()),
            Flag::Bits {
                bits: 0x800000,
                comment: None,
            },
        ]);
        assert_eq!(f.render(), "O_RDONLY|O_CLOEXEC|0x800000");
        assert_eq!(json(&f), r#"["O_RDONLY","O_CLOEXEC","0x800000"]"#);
        let u = Value::Flags(vec![Flag::Bits {
            bits: 1,
            comment: Some("O_???".into()),
        }]);
        assert_eq!(u.render(), "0x1 /* O_??? */");
        assert_eq!(Value::Flags(vec![]).render(), "0");
        let c = Value::Const(Const {
            raw: 16,
            base: Base::Hex,
            name: None,
            comment: Some("RLIMIT_???".into()),
        });
        assert_eq!(c.render(), "0x10 /* RLIMIT_??? */");
        assert_eq!(json(&c), "16");
        let n = Value::name("RLIMIT_STACK", 3);
        assert_eq!(
            (n.render(), json(&n)),
            ("RLIMIT_STACK".into(), "\"RLIMIT_STACK\"".into())
        );
        assert_eq!(Value::int(0o644, Base::Oct03).render(), "0644");
        assert_eq!(Value::int(4, Base::Oct03).render(), "004");
        assert_eq!(Value::int(0, Base::Oct03).render(), "000");
        assert_eq!(Value::int(0, Base::Oct).render(), "0");
        assert_eq!(Value::int(0, Base::Hex).render(), "0");
        assert_eq!(Value::dec(-1).render(), "-1");
        assert_eq!(Value::int(8 << 20, Base::Kilo).render(), "8192*1024");
        assert_eq!(Value::int(1024, Base::Kilo).render(), "1024");
        let c = Value::Commented {
            value: Box::new(Value::dec(35)),
            comment: "0.35 s".into(),
        };
        assert_eq!(
            (c.render(), json(&c)),
            ("35 /* 0.35 s */".into(), "35".into())
        );
        assert_eq!(json(&Value::dec(u64::MAX)), u64::MAX.to_string());
    }

    #[test]
    fn structs_arrays_pointers() {
        let s = StructBuilder::new()
            .dec("tv_sec", 1)
            .dec("tv_nsec", 0)
            .done();
        assert_eq!(s.render(), "{tv_sec=1, tv_nsec=0}");
        assert_eq!(json(&s), r#"{"tv_sec":1,"tv_nsec":0}"#);
        let a = StructBuilder::new().dec("st_size", 5).abbreviated();
        assert_eq!(a.render(), "{st_size=5, ...}");
        let arr = Value::Array {
            items: vec![Value::dec(3), Value::dec(4)],
            more: true,
        };
        assert_eq!(arr.render(), "[3, 4, ...]");
        assert_eq!(json(&arr), r#"{"items":[3,4],"truncated":true}"#);
        assert_eq!(Value::ptr(0).render(), "NULL");
        assert_eq!(json(&Value::ptr(0)), "null");
        assert_eq!(Value::ptr(0x1000).render(), "0x1000");
        assert_eq!(
            json(&Value::ptr(0xffff_ffff_8100_0000)),
            "\"0xffffffff81000000\""
        );
        let ch = Value::boxed(Value::Changed {
            before: Box::new(Value::dec(16)),
            after: Box::new(Value::dec(110)),
        });
        assert_eq!(ch.render(), "[16 => 110]");
        let set = Value::SigSet {
            names: vec!["KILL".into(), "STOP".into()],
            complement: true,
        };
        assert_eq!(set.render(), "~[KILL STOP]");
        assert_eq!(json(&set), r#"{"all_but":["KILL","STOP"]}"#);
        let fd = Value::Fd {
            fd: 3,
            path: Some("/etc/passwd".into()),
        };
        assert_eq!(fd.render(), "3</etc/passwd>");
        assert_eq!(json(&fd), r#"{"fd":3,"path":"/etc/passwd"}"#);
        let o = Value::from("0x1 /* 1 var */".to_string());
        assert!(o.is_opaque());
        assert_eq!(json(&o), r#"{"text":"0x1 /* 1 var */"}"#);
    }
}
