//! Volatility 3 symbol tables (ISF, "Intermediate Symbol Format": JSON,
//! often `.json.xz`) as a source of kernel offsets: what Volatility and
//! DRAKVUF users already have for their builds (`--windows-profile`).
//!
//! Only the types attribution needs are read: `_KPCR.Prcb` (x64) or
//! `.PrcbData` (x86) + `_KPRCB.CurrentThread`, `_KTHREAD.ApcState` +
//! `_KAPC_STATE.Process`, `_ETHREAD.Cid`, `_EPROCESS.UniqueProcessId`,
//! `.InheritedFromUniqueProcessId`, `.ImageFileName`, and (if present)
//! `_KPRCB.KernelDirectoryTableBase`. Fields inside anonymous unions or
//! structures are found too. The file is read by the CLI; the offsets
//! travel to the tracer as [`IsfOffsets`] (small JSON). Of the symbols,
//! `PsInitialSystemProcess` is read: the offsets are checked on the
//! process list from it, as the ones read from the kernel's code are.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::profile::KernelProfile;
use crate::versions::Arch;

/// Largest symbol table read, decompressed (real ones: 5-30 MB).
const MAX_ISF_BYTES: u64 = 1 << 30;
/// How deep anonymous members are searched for a field.
const MAX_DEPTH: u32 = 4;

/// Why a symbol table could not be used.
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
    /// Not JSON.
    #[error("{0}: not JSON: {1}")]
    Json(String, #[source] serde_json::Error),
    /// A type or field attribution needs is missing.
    #[error("{0}: no {1} in the symbol table (not a Windows kernel ISF?)")]
    Missing(String, String),
}

/// The kernel offsets of one build, from its symbol table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsfOffsets {
    /// Where they came from (the file name), for messages.
    pub source: String,
    /// The offsets (build 0: the symbol table does not say).
    pub offsets: KernelProfile,
    /// The RVA of the kernel's `PsInitialSystemProcess` variable, from the
    /// table's symbols, if present: the offsets are checked on the
    /// process list from there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_system_process: Option<u64>,
}

impl IsfOffsets {
    /// The offsets as a profile attribution walks with.
    pub fn profile(&self) -> KernelProfile {
        KernelProfile {
            name: "from the --windows-profile symbol table",
            ..self.offsets
        }
    }
}

/// Reads a symbol table file: JSON, or xz / gzip compressed JSON (told
/// apart by their magic bytes, whatever the name).
pub fn load(path: &Path) -> Result<IsfOffsets, IsfError> {
    let name = path.display().to_string();
    let io = |source| IsfError::Io {
        path: name.clone(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut magic = [0u8; 6];
    let n = f.read(&mut magic).map_err(io)?;
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let raw = head.chain(f);
    let mut text = Vec::new();
    let r: Box<dyn Read> = if magic[..n].starts_with(b"\xfd7zXZ\0") {
        Box::new(xz2::read::XzDecoder::new(raw))
    } else if magic[..n].starts_with(b"\x1f\x8b") {
        Box::new(flate2::read::GzDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    r.take(MAX_ISF_BYTES).read_to_end(&mut text).map_err(io)?;
    parse(&text, &name)
}

/// Reads the offsets from ISF JSON text; `source` names it in messages.
pub fn parse(json: &[u8], source: &str) -> Result<IsfOffsets, IsfError> {
    let v: Value = serde_json::from_slice(json).map_err(|e| IsfError::Json(source.into(), e))?;
    let types = &v["user_types"];
    let missing = |what: &str| IsfError::Missing(source.into(), what.into());
    let field = |ty: &str, f: &str| {
        field_offset(types, &types[ty], f, 0).ok_or_else(|| missing(&format!("{ty}.{f}")))
    };
    let psize = v["base_types"]["pointer"]["size"].as_u64();
    let machine = v["metadata"]["windows"]["pdb"]["machine_type"].as_u64();
    let arch = match (psize, machine) {
        (Some(8), _) | (None, Some(0x8664)) => Arch::X64,
        (Some(4), _) | (None, Some(0x14c)) => Arch::X86,
        _ => return Err(missing("pointer size")),
    };
    let prcb = field("_KPCR", "Prcb").or_else(|_| field("_KPCR", "PrcbData"))?;
    let dtb = field("_KPRCB", "KernelDirectoryTableBase").ok();
    let offsets = KernelProfile {
        name: "",
        arch,
        build: 0,
        kpcr_current_thread: prcb + field("_KPRCB", "CurrentThread")?,
        kthread_process: field("_KTHREAD", "ApcState")? + field("_KAPC_STATE", "Process")?,
        eprocess_unique_process_id: field("_EPROCESS", "UniqueProcessId")?,
        eprocess_inherited_from_unique_process_id: field(
            "_EPROCESS",
            "InheritedFromUniqueProcessId",
        )?,
        eprocess_image_file_name: field("_EPROCESS", "ImageFileName")?,
        ethread_cid: field("_ETHREAD", "Cid")?,
        kpcr_kernel_dtb: dtb.map(|d| prcb + d),
    };
    Ok(IsfOffsets {
        source: source.into(),
        offsets,
        initial_system_process: v["symbols"]["PsInitialSystemProcess"]["address"].as_u64(),
    })
}

/// The offset of field `name` in type `ty`, looking into anonymous
/// (unnamed) struct/union members too.
fn field_offset(types: &Value, ty: &Value, name: &str, depth: u32) -> Option<u64> {
    let fields = ty["fields"].as_object()?;
    if let Some(off) = fields.get(name).and_then(|f| f["offset"].as_u64()) {
        return Some(off);
    }
    if depth >= MAX_DEPTH {
        return None;
    }
    for f in fields.values() {
        let sub = f["type"]["name"].as_str().unwrap_or_default();
        let anon = sub.starts_with("unnamed")
            || sub.starts_with("<unnamed")
            || sub.starts_with("__unnamed");
        if anon {
            let base = f["offset"].as_u64()?;
            if let Some(o) = field_offset(types, &types[sub], name, depth + 1) {
                return Some(base + o);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ty(fields: &[(&str, u64)]) -> Value {
        let f: serde_json::Map<String, Value> = fields
            .iter()
            .map(|(n, o)| {
                (
                    n.to_string(),
                    json!({"offset": o, "type": {"kind": "base", "name": "pointer"}}),
                )
            })
            .collect();
        json!({"kind": "struct", "size": 0x1000, "fields": f})
    }

    pub(crate) fn isf_22h2() -> Value {
        json!({
            "metadata": {"format": "6.2.0"},
            "base_types": {"pointer": {"size": 8, "kind": "int", "signed": false, "endian": "little"}},
            "user_types": {
                "_KPCR": ty(&[("Prcb", 0x180)]),
                "_KPRCB": ty(&[("CurrentThread", 8), ("KernelDirectoryTableBase", 0x8e80)]),
                "_KTHREAD": {"kind": "struct", "size": 0x430, "fields": {
                    "u1": {"offset": 0x90, "type": {"kind": "union", "name": "unnamed_0x1f"}}}},
                "unnamed_0x1f": ty(&[("ApcState", 0x8)]),
                "_KAPC_STATE": ty(&[("Process", 0x20)]),
                "_ETHREAD": ty(&[("Cid", 0x478)]),
                "_EPROCESS": ty(&[("UniqueProcessId", 0x440), ("InheritedFromUniqueProcessId", 0x540), ("ImageFileName", 0x5a8)]),
            },
            "enums": {}, "symbols": {}
        })
    }

    #[test]
    fn offsets_from_an_isf() {
        let text = serde_json::to_vec(&isf_22h2()).unwrap();
        let o = parse(&text, "t.json").unwrap();
        let want = crate::profile::PROFILES[1];
        let p = o.profile();
        assert_eq!(
            (
                p.kpcr_current_thread,
                p.kthread_process,
                p.ethread_cid,
                p.kpcr_kernel_dtb
            ),
            (
                want.kpcr_current_thread,
                want.kthread_process,
                want.ethread_cid,
                want.kpcr_kernel_dtb
            )
        );
        assert_eq!(p.eprocess_image_file_name, want.eprocess_image_file_name);
        assert_eq!(o.initial_system_process, None);
        let mut v = isf_22h2();
        v["symbols"] = json!({"PsInitialSystemProcess": {"address": 0xcfc420}});
        let o = parse(&serde_json::to_vec(&v).unwrap(), "t.json").unwrap();
        assert_eq!(o.initial_system_process, Some(0xcfc420));
    }

    #[test]
    fn broken_isfs_are_errors() {
        assert!(matches!(parse(b"{", "x"), Err(IsfError::Json(..))));
        assert!(matches!(parse(b"[]", "x"), Err(IsfError::Missing(..))));
        let mut v = isf_22h2();
        v["user_types"]["_ETHREAD"] = json!({"fields": 3});
        assert!(matches!(
            parse(&serde_json::to_vec(&v).unwrap(), "x"),
            Err(IsfError::Missing(..))
        ));
        // A self-referencing anonymous member: bounded.
        let mut v = isf_22h2();
        v["user_types"]["unnamed_0x1f"] =
            json!({"fields": {"x": {"offset": 0, "type": {"name": "unnamed_0x1f"}}}});
        assert!(parse(&serde_json::to_vec(&v).unwrap(), "x").is_err());
    }
}
