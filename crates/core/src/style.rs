//! strace's `-X` (`--const-print-style`) for the OS layers' renderers of
//! named constants and flag sets: the style of the decoding running on
//! this thread, set by the layer around each call's decoding
//! ([`with_style`]) and read by the renderers ([`styled`]), so no decoder
//! has to pass it on.

use std::cell::Cell;

use crate::ConstStyle;

thread_local! {
    /// The style of the decoding running on this thread.
    static STYLE: Cell<ConstStyle> = const { Cell::new(ConstStyle::Abbrev) };
}

/// Runs `f` with constants and flags printed in `style`.
pub fn with_style<R>(style: ConstStyle, f: impl FnOnce() -> R) -> R {
    let old = STYLE.with(|s| s.replace(style));
    let r = f();
    STYLE.with(|s| s.set(old));
    r
}

/// The style of the decoding running on this thread.
pub fn style() -> ConstStyle {
    STYLE.with(Cell::get)
}

/// A constant or flag set in the current style: `names` is its
/// abbreviated text when some name matched (`O_RDONLY|0x800000`), `num`
/// its number, `unknown` its text when no name matched. Raw is the
/// number; verbose the number with the names in a comment, or the
/// unknown text (strace's `printxvals_ex`/`printflags_ex`).
pub fn styled(
    num: impl FnOnce() -> String,
    names: Option<String>,
    unknown: impl FnOnce() -> String,
) -> String {
    match (style(), names) {
        (ConstStyle::Raw, _) => num(),
        (ConstStyle::Abbrev, Some(n)) => n,
        (ConstStyle::Verbose, Some(n)) => format!("{} /* {n} */", num()),
        (_, None) => unknown(),
    }
}

/// A flag set value `val` of the number `v` in the decoding thread's
/// style: as is (abbrev), the number in hex (raw), or the number with the
/// names as a comment (verbose; a set without any name stays as is).
/// Applied where a flag set is built, since the names alone do not say
/// the number.
pub fn style_flags(v: u64, val: crate::value::Value) -> crate::value::Value {
    use crate::value::{Base, Flag, Name, Value};
    match style() {
        ConstStyle::Abbrev => val,
        ConstStyle::Raw => Value::Int {
            value: i128::from(v),
            base: Base::Hex,
        },
        ConstStyle::Verbose => {
            let named = matches!(&val, Value::Flags(parts)
                if parts.iter().any(|p| !matches!(p, Flag::Bits { .. })));
            if named {
                Value::Flags(vec![Flag::Bits {
                    bits: v,
                    comment: Some(Name::Owned(val.render())),
                }])
            } else {
                val
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_nest_and_restore() {
        let f = || styled(|| "0x1".into(), Some("A".into()), || "?".into());
        assert_eq!(f(), "A");
        assert_eq!(with_style(ConstStyle::Raw, f), "0x1");
        let v = with_style(ConstStyle::Verbose, || {
            (f(), with_style(ConstStyle::Raw, f), f())
        });
        assert_eq!(
            v,
            ("0x1 /* A */".into(), "0x1".into(), "0x1 /* A */".into())
        );
        assert_eq!(f(), "A");
        let none = || styled(|| "5".into(), None, || "5 /* X_??? */".into());
        assert_eq!(with_style(ConstStyle::Verbose, none), "5 /* X_??? */");
    }
}
