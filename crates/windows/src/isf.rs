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

use std::path::Path;

use serde::{Deserialize, Serialize};
use vstrace_isf::Isf;

use crate::profile::KernelProfile;
use crate::versions::Arch;

/// Why a symbol table could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IsfError {
    /// The file could not be read, or is not a symbol table.
    #[error(transparent)]
    Format(#[from] vstrace_isf::IsfError),
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
    offsets(&Isf::load(path)?)
}

/// Reads the offsets from ISF JSON text; `source` names it in messages.
pub fn parse(json: &[u8], source: &str) -> Result<IsfOffsets, IsfError> {
    offsets(&Isf::parse(json, source)?)
}

/// The offsets attribution needs, from a parsed table.
fn offsets(isf: &Isf) -> Result<IsfOffsets, IsfError> {
    let source = isf.source();
    let missing = |what: &str| IsfError::Missing(source.into(), what.into());
    let field = |ty: &str, f: &str| {
        isf.field_offset(ty, f)
            .map_err(|_| missing(&format!("{ty}.{f}")))
    };
    let machine = isf.root()["metadata"]["windows"]["pdb"]["machine_type"].as_u64();
    let arch = match (isf.pointer_size(), machine) {
        (Some(8), _) | (None, Some(0x8664)) => Arch::X64,
        (Some(4), _) | (None, Some(0x14c)) => Arch::X86,
        _ => return Err(missing("pointer size")),
    };
    let prcb = field("_KPCR", "Prcb").or_else(|_| field("_KPCR", "PrcbData"))?;
    let dtb = field("_KPRCB", "KernelDirectoryTableBase").ok();
    let sum = |a: u64, b: u64, what: &str| a.checked_add(b).ok_or_else(|| missing(what));
    let offsets = KernelProfile {
        name: "",
        arch,
        build: 0,
        kpcr_current_thread: sum(
            prcb,
            field("_KPRCB", "CurrentThread")?,
            "_KPRCB.CurrentThread",
        )?,
        kthread_process: sum(
            field("_KTHREAD", "ApcState")?,
            field("_KAPC_STATE", "Process")?,
            "_KAPC_STATE.Process",
        )?,
        eprocess_unique_process_id: field("_EPROCESS", "UniqueProcessId")?,
        eprocess_inherited_from_unique_process_id: field(
            "_EPROCESS",
            "InheritedFromUniqueProcessId",
        )?,
        eprocess_image_file_name: field("_EPROCESS", "ImageFileName")?,
        ethread_cid: field("_ETHREAD", "Cid")?,
        kpcr_kernel_dtb: match dtb {
            Some(d) => Some(sum(prcb, d, "_KPRCB.KernelDirectoryTableBase")?),
            None => None,
        },
    };
    Ok(IsfOffsets {
        source: source.into(),
        offsets,
        initial_system_process: isf.symbol("PsInitialSystemProcess"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

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
        assert!(matches!(
            parse(b"{", "x"),
            Err(IsfError::Format(vstrace_isf::IsfError::Json(..)))
        ));
        assert!(matches!(
            parse(b"[]", "x"),
            Err(IsfError::Format(vstrace_isf::IsfError::NotIsf(..)))
        ));
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
