//! Volatility 3 symbol tables (ISF, "Intermediate Symbol Format"): the
//! JSON that Volatility 3, dwarf2json (Linux, from DWARF) and pdbconv
//! (Windows, from PDBs) write, often as `.json.xz` or `.json.gz`. Both OS
//! layers read kernel offsets from it (`--windows-profile`,
//! `--linux-profile`); this crate is the format, they pick the fields.
//!
//! What is read: `user_types` (`{name: {kind, size, fields: {name:
//! {offset, type}}}}`, anonymous struct/union members searched through),
//! `base_types` (sizes, `pointer`), `enums` (sizes) and `symbols`
//! (`{name: {address}}`). Type descriptors are `{kind: base|pointer|array
//! |struct|union|class|enum|bitfield|function, name, subtype, count,
//! type}`.
//!
//! The file is hostile input: its size is bounded, paths and nested
//! types are followed to a bounded depth, arithmetic is checked, and
//! every failure is a one-line [`IsfError`].

#![forbid(unsafe_code)]

use std::io::Read;
use std::path::Path;

use serde_json::Value;

/// Largest symbol table read, decompressed (real ones: 5-100 MB).
pub const MAX_ISF_BYTES: u64 = 1 << 30;
/// How deep anonymous members and nested types are followed.
const MAX_DEPTH: u32 = 8;
/// Most components in a dotted field path.
const MAX_PATH: usize = 8;

/// Why a symbol table could not be read or lacks what was asked.
#[derive(Debug, thiserror::Error)]
pub enum IsfError {
    /// The file could not be read or decompressed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O or decompression error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_ISF_BYTES`] decompressed.
    #[error("{0}: larger than {MAX_ISF_BYTES} bytes decompressed: not a symbol table")]
    TooLarge(String),
    /// Not JSON.
    #[error("{0}: not JSON: {1}")]
    Json(String, #[source] serde_json::Error),
    /// JSON, but not a symbol table (no `user_types` object).
    #[error("{0}: not a Volatility 3 symbol table (ISF): no user_types")]
    NotIsf(String),
    /// A type, field or symbol is missing or malformed.
    #[error("{0}: no {1} in the symbol table")]
    Missing(String, String),
}

/// A parsed symbol table.
#[derive(Debug, Clone)]
pub struct Isf {
    /// Where it came from (the file name), for messages.
    source: String,
    root: Value,
}

/// Reads `path` whole (at most [`MAX_ISF_BYTES`]): plain, or xz / gzip
/// compressed (told apart by their magic bytes, whatever the name).
pub fn read_decompressed(path: &Path) -> Result<Vec<u8>, IsfError> {
    let name = path.display().to_string();
    let io = |source| IsfError::Io {
        path: name.clone(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut magic = [0u8; 6];
    let mut n = 0;
    while n < magic.len() {
        match f.read(&mut magic[n..]).map_err(io)? {
            0 => break,
            k => n += k,
        }
    }
    let raw = std::io::Cursor::new(magic[..n].to_vec()).chain(f);
    let r: Box<dyn Read> = if magic[..n].starts_with(b"\xfd7zXZ\0") {
        Box::new(xz2::read::XzDecoder::new(raw))
    } else if magic[..n].starts_with(b"\x1f\x8b") {
        Box::new(flate2::read::GzDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    let mut text = Vec::new();
    r.take(MAX_ISF_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(io)?;
    if text.len() as u64 > MAX_ISF_BYTES {
        return Err(IsfError::TooLarge(name));
    }
    Ok(text)
}

impl Isf {
    /// Reads a symbol table file (see [`read_decompressed`]).
    pub fn load(path: &Path) -> Result<Isf, IsfError> {
        let text = read_decompressed(path)?;
        Isf::parse(&text, &path.display().to_string())
    }

    /// Parses ISF JSON text; `source` names it in messages.
    pub fn parse(json: &[u8], source: &str) -> Result<Isf, IsfError> {
        let root: Value =
            serde_json::from_slice(json).map_err(|e| IsfError::Json(source.into(), e))?;
        if !root["user_types"].is_object() {
            return Err(IsfError::NotIsf(source.into()));
        }
        Ok(Isf {
            source: source.into(),
            root,
        })
    }

    /// The file name given at load, for messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The whole document (for format-specific metadata).
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// An error naming what is missing.
    pub fn missing(&self, what: impl Into<String>) -> IsfError {
        IsfError::Missing(self.source.clone(), what.into())
    }

    /// The user type `name` (struct, union, class), if present.
    pub fn user_type(&self, name: &str) -> Option<&Value> {
        self.root["user_types"].get(name).filter(|t| t.is_object())
    }

    /// `sizeof` the user type `name`.
    pub fn type_size(&self, name: &str) -> Result<u64, IsfError> {
        self.user_type(name)
            .and_then(|t| t["size"].as_u64())
            .ok_or_else(|| self.missing(format!("size of {name}")))
    }

    /// The size of a kernel pointer (`base_types.pointer.size`).
    pub fn pointer_size(&self) -> Option<u64> {
        self.root["base_types"]["pointer"]["size"].as_u64()
    }

    /// The address of symbol `name` (as the table stores it: the link
    /// address for Linux, an RVA for Windows).
    pub fn symbol(&self, name: &str) -> Option<u64> {
        self.root["symbols"][name]["address"].as_u64()
    }

    /// The offset of `path` (`a.b.c`: a member of a member) in user type
    /// `ty`, looking into anonymous struct/union members at each step.
    pub fn field_offset(&self, ty: &str, path: &str) -> Result<u64, IsfError> {
        self.field(ty, path)
            .map(|(off, _)| off)
            .ok_or_else(|| self.missing(format!("{ty}.{path}")))
    }

    /// The size of member `path` of user type `ty` (arrays: count times
    /// the element size).
    pub fn field_size(&self, ty: &str, path: &str) -> Result<u64, IsfError> {
        self.field(ty, path)
            .and_then(|(_, t)| self.size_of(t, 0))
            .ok_or_else(|| self.missing(format!("size of {ty}.{path}")))
    }

    /// The offset and type descriptor of `path` in `ty`.
    fn field(&self, ty: &str, path: &str) -> Option<(u64, &Value)> {
        let parts: Vec<&str> = path.split('.').collect();
        if parts.len() > MAX_PATH || parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        let mut cur = self.user_type(ty)?;
        let mut off = 0u64;
        let mut last = None;
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                // Into the member's struct or union.
                let t: &Value = last?;
                let kind = t["kind"].as_str()?;
                if !matches!(kind, "struct" | "union" | "class") {
                    return None;
                }
                cur = self.user_type(t["name"].as_str()?)?;
            }
            let (o, t) = self.member(cur, part, 0)?;
            off = off.checked_add(o)?;
            last = Some(t);
        }
        Some((off, last?))
    }

    /// Member `name` of type `ty` (searching anonymous members): its
    /// offset and type descriptor.
    fn member<'a>(&'a self, ty: &'a Value, name: &str, depth: u32) -> Option<(u64, &'a Value)> {
        let fields = ty["fields"].as_object()?;
        if let Some(f) = fields.get(name) {
            return Some((f["offset"].as_u64()?, &f["type"]));
        }
        if depth >= MAX_DEPTH {
            return None;
        }
        for (fname, f) in fields {
            let sub = f["type"]["name"].as_str().unwrap_or_default();
            let anon = ["unnamed", "<unnamed", "__unnamed", "anon"]
                .iter()
                .any(|p| sub.starts_with(p) || fname.starts_with(p));
            if !anon {
                continue;
            }
            let Some(inner) = self.user_type(sub) else {
                continue;
            };
            let (Some(base), Some((o, t))) =
                (f["offset"].as_u64(), self.member(inner, name, depth + 1))
            else {
                continue;
            };
            return Some((base.checked_add(o)?, t));
        }
        None
    }

    /// The size of the type a descriptor names.
    fn size_of(&self, t: &Value, depth: u32) -> Option<u64> {
        if depth > MAX_DEPTH {
            return None;
        }
        let name = t["name"].as_str().unwrap_or_default();
        match t["kind"].as_str()? {
            "base" => self.root["base_types"][name]["size"].as_u64(),
            "pointer" => self.pointer_size(),
            "array" => t["count"]
                .as_u64()?
                .checked_mul(self.size_of(&t["subtype"], depth + 1)?),
            "struct" | "union" | "class" => self.user_type(name)?["size"].as_u64(),
            "enum" => self.root["enums"][name]["size"].as_u64(),
            "bitfield" => self.size_of(&t["type"], depth + 1),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "metadata": {"format": "6.2.0"},
            "base_types": {
                "pointer": {"size": 8, "kind": "int", "signed": false, "endian": "little"},
                "char": {"size": 1, "kind": "char", "signed": true, "endian": "little"},
                "int": {"size": 4, "kind": "int", "signed": true, "endian": "little"}
            },
            "user_types": {
                "task_struct": {"kind": "struct", "size": 0x2000, "fields": {
                    "pid": {"offset": 0x5a0, "type": {"kind": "base", "name": "int"}},
                    "comm": {"offset": 0x7a0, "type": {"kind": "array", "count": 16,
                        "subtype": {"kind": "base", "name": "char"}}},
                    "unnamed_field_0": {"offset": 0x100, "type": {"kind": "union", "name": "unnamed_7"}},
                    "mm": {"offset": 0x400, "type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "mm_struct"}}},
                    "thread": {"offset": 0x1000, "type": {"kind": "struct", "name": "thread_struct"}}
                }},
                "unnamed_7": {"kind": "union", "size": 8, "fields": {
                    "flags": {"offset": 4, "type": {"kind": "base", "name": "int"}}}},
                "thread_struct": {"kind": "struct", "size": 64, "fields": {
                    "fsbase": {"offset": 16, "type": {"kind": "base", "name": "pointer"}}}}
            },
            "enums": {},
            "symbols": {"init_task": {"address": 0xffff_ffff_8261_4940_u64}}
        })
    }

    fn isf(v: &Value) -> Result<Isf, IsfError> {
        Isf::parse(&serde_json::to_vec(v).unwrap(), "t.json")
    }

    #[test]
    fn offsets_sizes_symbols() {
        let i = isf(&sample()).unwrap();
        assert_eq!(i.field_offset("task_struct", "pid").unwrap(), 0x5a0);
        assert_eq!(i.field_size("task_struct", "comm").unwrap(), 16);
        assert_eq!(i.field_size("task_struct", "mm").unwrap(), 8);
        // Through an anonymous union.
        assert_eq!(i.field_offset("task_struct", "flags").unwrap(), 0x104);
        // A member of a member.
        assert_eq!(
            i.field_offset("task_struct", "thread.fsbase").unwrap(),
            0x1010
        );
        assert_eq!(i.type_size("task_struct").unwrap(), 0x2000);
        assert_eq!(i.symbol("init_task"), Some(0xffff_ffff_8261_4940));
        assert_eq!(i.pointer_size(), Some(8));
        let e = i.field_offset("task_struct", "tgid").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.json: no task_struct.tgid in the symbol table"
        );
        // Not through a pointer.
        assert!(i.field_offset("task_struct", "mm.pgd").is_err());
    }

    #[test]
    fn hostile_tables_are_one_line_errors() {
        for bad in [&b"{"[..], b"[]", b"{\"user_types\": 3}", b"null"] {
            let e = Isf::parse(bad, "x.json").unwrap_err().to_string();
            assert!(!e.contains('\n'), "{e}");
        }
        // A self-referencing anonymous member and a looping array: bounded.
        let mut v = sample();
        v["user_types"]["unnamed_7"] = json!({"fields": {
            "x": {"offset": 0, "type": {"kind": "union", "name": "unnamed_7"}},
            "a": {"offset": 0, "type": {"kind": "array", "count": 2,
                "subtype": {"kind": "array", "count": 2, "subtype": {"kind": "array"}}}}}});
        let i = isf(&v).unwrap();
        assert!(i.field_offset("task_struct", "nothere").is_err());
        // Offsets that overflow.
        let mut v = sample();
        v["user_types"]["unnamed_7"]["fields"]["flags"]["offset"] = json!(u64::MAX);
        let i = isf(&v).unwrap();
        assert!(i.field_offset("task_struct", "flags").is_err());
        let mut v = sample();
        v["user_types"]["task_struct"]["fields"]["comm"]["type"] = json!({"kind": "array",
            "count": u64::MAX, "subtype": {"kind": "base", "name": "int"}});
        assert!(isf(&v).unwrap().field_size("task_struct", "comm").is_err());
        // Paths: empty parts, too long.
        let i = isf(&sample()).unwrap();
        assert!(i.field_offset("task_struct", "").is_err());
        assert!(i.field_offset("task_struct", "a..b").is_err());
        assert!(i
            .field_offset("task_struct", &["thread"; 20].join("."))
            .is_err());
    }

    #[test]
    fn compressed_files_are_read() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("vstrace-isf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = serde_json::to_vec(&sample()).unwrap();
        let plain = dir.join("a.json");
        std::fs::write(&plain, &text).unwrap();
        let gz = dir.join("a.json.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&text).unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
        let xz = dir.join("a.json.xz");
        let mut e = xz2::write::XzEncoder::new(Vec::new(), 1);
        e.write_all(&text).unwrap();
        std::fs::write(&xz, e.finish().unwrap()).unwrap();
        for p in [&plain, &gz, &xz] {
            let i = Isf::load(p).unwrap();
            assert_eq!(i.field_offset("task_struct", "pid").unwrap(), 0x5a0);
        }
        let e = Isf::load(&dir.join("none.json")).unwrap_err().to_string();
        assert!(e.contains("none.json") && !e.contains('\n'), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
