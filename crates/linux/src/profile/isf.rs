//! `--linux-profile FILE.json[.xz|.gz]`: a kernel profile from a
//! Volatility 3 symbol table (ISF, as dwarf2json writes it from a
//! kernel's DWARF), for kernels without BTF.
//!
//! The same offsets BTF gives ([`super::LinuxProfile::from_parts`]) are
//! read from `user_types` (`task_struct`, `mm_struct`, `pcpu_hot`, the
//! file and memory-map structures of [`super::layouts`]) and the
//! addresses from `symbols` (`init_task`, `current_task` or `pcpu_hot` /
//! `const_pcpu_hot`, `__per_cpu_offset`, `_text`): link-time addresses,
//! slid at run time like the ones from the kernel image. The format
//! itself is `vstrace_isf`'s, shared with the Windows layer.

use std::path::Path;

use vstrace_isf::{Isf, IsfError};

use super::ksymtab::Ksymtab;
use super::layouts::{FilesLayout, MemberOffsets, MmLayout, PidsLayout};
use super::{
    current_task_with, default_kernel_min, init_task_64, LinuxProfile, PerCpuMode, ProfileError,
    TaskLayout, PROFILE_VERSION,
};

impl MemberOffsets for Isf {
    type Error = IsfError;
    fn member_offset(&self, struct_name: &str, path: &str) -> Result<u64, IsfError> {
        self.field_offset(struct_name, path)
    }
}

/// The symbols a profile needs, copied from the table.
pub(crate) const SYMBOLS: [&str; 6] = [
    "init_task",
    "current_task",
    "pcpu_hot",
    "const_pcpu_hot",
    "__per_cpu_offset",
    "_text",
];

/// Reads a symbol table file and builds the profile from it.
pub fn load(path: &Path) -> Result<LinuxProfile, ProfileError> {
    let isf = Isf::load(path).map_err(|e| ProfileError::Isf(e.to_string()))?;
    from_isf(&isf).map_err(|e| match e {
        ProfileError::Isf(_) => e,
        other => ProfileError::Isf(format!("{}: {other}", isf.source())),
    })
}

/// The profile from symbol table JSON text; `source` names it in
/// messages.
pub fn parse(json: &[u8], source: &str) -> Result<LinuxProfile, ProfileError> {
    let isf = Isf::parse(json, source).map_err(|e| ProfileError::Isf(e.to_string()))?;
    from_isf(&isf)
}

/// The profile from a parsed symbol table.
pub fn from_isf(isf: &Isf) -> Result<LinuxProfile, ProfileError> {
    let err = |e: IsfError| ProfileError::Isf(e.to_string());
    let psize = isf.pointer_size().unwrap_or(8);
    if psize != 8 && psize != 4 {
        return Err(ProfileError::Isf(format!(
            "{}: a {psize}-byte pointer table: only x86_64 and i386 kernel tables are read",
            isf.source(),
        )));
    }
    let mut syms = Ksymtab::default();
    for name in SYMBOLS {
        if let Some(a) = isf.symbol(name) {
            syms.insert(name, a);
        }
    }
    let off = |path: &str| isf.field_offset("task_struct", path);
    let opt = |path: &str| off(path).ok();
    let task = TaskLayout {
        size: isf.type_size("task_struct").map_err(err)?,
        pid: off("pid").map_err(err)?,
        tgid: off("tgid").map_err(err)?,
        comm: off("comm").map_err(err)?,
        comm_len: isf.field_size("task_struct", "comm").map_err(err)?,
        real_parent: off("real_parent").map_err(err)?,
        parent: opt("parent"),
        group_leader: opt("group_leader"),
        mm: opt("mm"),
        flags: opt("flags"),
        tasks: opt("tasks"),
        stime: opt("stime"),
    };
    if task.comm_len == 0 || task.comm_len > 64 {
        return Err(ProfileError::Isf(format!(
            "{}: task_struct.comm is {} bytes (expected 16)",
            isf.source(),
            task.comm_len
        )));
    }
    let files = FilesLayout::from_offsets(isf).ok();
    let mm = MmLayout::from_offsets(isf).ok();
    let pids = isf
        .type_size("upid")
        .ok()
        .and_then(|n| PidsLayout::from_offsets(isf, n).ok());
    if psize == 4 {
        // i386: per-cpu symbols at their link addresses, kernel above
        // PAGE_OFFSET (where `_text` is, rounded down).
        let kmin = syms.get("_text").unwrap_or(0xc000_0000) & 0xf000_0000;
        let mut p = LinuxProfile::from_symbols_32(&syms, task, kmin)?;
        p.text_base = syms.get("_text");
        p.mm_pgd = isf.field_offset("mm_struct", "pgd").ok();
        p.layout_source = "isf".into();
        (p.files, p.mm, p.pids) = (files, mm, pids);
        return Ok(p);
    }
    let init_task = init_task_64(&syms)?;
    let current_task = current_task_with(&syms, |s, p| isf.field_offset(s, p).ok())?;
    Ok(LinuxProfile {
        version: PROFILE_VERSION,
        banner: None,
        current_task,
        init_task,
        per_cpu_offset: syms.get("__per_cpu_offset"),
        text_base: syms.get("_text"),
        task,
        mm_pgd: isf.field_offset("mm_struct", "pgd").ok(),
        pointer_size: 8,
        kernel_min: default_kernel_min(),
        percpu_mode: PerCpuMode::GsOffset,
        layout_source: "isf".into(),
        files,
        mm,
        pids,
        signal_probe: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A table with the task layout of `real_debian_kernel_profile`'s
    /// shape (offsets made up).
    pub(crate) fn sample() -> serde_json::Value {
        let base = |n: &str| json!({"kind": "base", "name": n});
        json!({
            "metadata": {"format": "6.2.0"},
            "base_types": {
                "pointer": {"size": 8, "kind": "int", "signed": false, "endian": "little"},
                "int": {"size": 4, "kind": "int", "signed": true, "endian": "little"},
                "char": {"size": 1, "kind": "char", "signed": true, "endian": "little"}
            },
            "user_types": {
                "task_struct": {"kind": "struct", "size": 0x2440, "fields": {
                    "unnamed_field_0": {"offset": 0, "type": {"kind": "struct", "name": "unnamed_1"}},
                    "pid": {"offset": 0x5a0, "type": base("int")},
                    "tgid": {"offset": 0x5a4, "type": base("int")},
                    "real_parent": {"offset": 0x5b0, "type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "task_struct"}}},
                    "parent": {"offset": 0x5b8, "type": base("pointer")},
                    "comm": {"offset": 0x738, "type": {"kind": "array", "count": 16, "subtype": base("char")}}
                }},
                "unnamed_1": {"kind": "struct", "size": 24, "fields": {
                    "flags": {"offset": 0x2c, "type": base("int")}}},
                "pcpu_hot": {"kind": "struct", "size": 64, "fields": {
                    "current_task": {"offset": 0, "type": base("pointer")}}}
            },
            "enums": {},
            "symbols": {
                "init_task": {"address": 0xffff_ffff_8261_4940_u64},
                "pcpu_hot": {"address": 0x32000},
                "__per_cpu_offset": {"address": 0xffff_ffff_8241_8800_u64}
            }
        })
    }

    fn profile(v: &serde_json::Value) -> Result<LinuxProfile, ProfileError> {
        from_isf(&Isf::parse(&serde_json::to_vec(v).unwrap(), "t.json").unwrap())
    }

    #[test]
    fn profile_from_a_table() {
        let p = profile(&sample()).unwrap();
        assert_eq!(p.layout_source, "isf");
        assert_eq!(p.init_task, 0xffff_ffff_8261_4940);
        assert_eq!(p.current_task.offset, 0x32000);
        assert_eq!(p.current_task.name, "pcpu_hot.current_task");
        let t = &p.task;
        assert_eq!(
            (t.pid, t.tgid, t.real_parent, t.comm),
            (0x5a0, 0x5a4, 0x5b0, 0x738)
        );
        assert_eq!((t.comm_len, t.flags, t.mm), (16, Some(0x2c), None));
        assert_eq!(p.per_cpu_offset, Some(0xffff_ffff_8241_8800));
    }

    /// A 4-byte-pointer table (what `vstrace profile --from-dwarf` writes
    /// for an i386 kernel): per-cpu symbols at link addresses, the kernel
    /// above `_text` rounded down.
    #[test]
    fn profile_from_an_i386_table() {
        let mut v = sample();
        v["base_types"]["pointer"]["size"] = json!(4);
        v["symbols"] = json!({
            "init_task": {"address": 0xc1a0_c2c0_u64},
            "current_task": {"address": 0xc1b1_0014_u64},
            "__per_cpu_offset": {"address": 0xc1a5_3200_u64},
            "_text": {"address": 0xc100_0000_u64}
        });
        let p = profile(&v).unwrap();
        assert_eq!((p.pointer_size, p.percpu_mode), (4, PerCpuMode::Linked));
        assert_eq!(
            (p.kernel_min, p.text_base),
            (0xc000_0000, Some(0xc100_0000))
        );
        assert_eq!(p.current_task.offset, 0xc1b1_0014);
        assert_eq!((p.task.pid, p.layout_source.as_str()), (0x5a0, "isf"));
        // A 64-bit address in a 32-bit table is refused.
        v["symbols"]["init_task"]["address"] = json!(0xffff_ffff_8261_4940_u64);
        assert!(matches!(profile(&v), Err(ProfileError::BadSymbol { .. })));
    }

    #[test]
    fn broken_tables_are_clear_errors() {
        let mut v = sample();
        v["symbols"]["init_task"]["address"] = json!(0x1000);
        assert!(matches!(
            profile(&v),
            Err(ProfileError::BadSymbol {
                name: "init_task",
                ..
            })
        ));
        let mut v = sample();
        v["symbols"]["pcpu_hot"]["address"] = json!(0xffff_ffff_8000_0000_u64);
        assert!(matches!(profile(&v), Err(ProfileError::BadSymbol { .. })));
        let mut v = sample();
        v["user_types"]["task_struct"]["fields"]
            .as_object_mut()
            .unwrap()
            .remove("tgid");
        let e = profile(&v).unwrap_err().to_string();
        assert!(e.contains("task_struct.tgid") && !e.contains('\n'), "{e}");
        let mut v = sample();
        v["base_types"]["pointer"]["size"] = json!(4);
        assert!(profile(&v).is_err());
        let mut v = sample();
        v["user_types"]["task_struct"]["fields"]["comm"]["type"]["count"] = json!(100000);
        assert!(profile(&v).is_err());
    }

    /// scripts/btf2isf.py's table of the cached Debian kernel gives the
    /// profile its BTF and ksymtab give (everything but where it came
    /// from, the banner and `_text`, which the table does not hold).
    #[test]
    fn table_from_btf2isf_matches_btf_on_the_debian_kernel() {
        let Some(elf) = crate::profile::test_vmlinux() else {
            eprintln!("SKIP: no vmlinux");
            return;
        };
        let dir = std::env::temp_dir().join(format!("vstrace-isf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (vmlinux, out) = (dir.join("vmlinux"), dir.join("k.json.xz"));
        std::fs::write(&vmlinux, &elf).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/btf2isf.py");
        let st = std::process::Command::new("python3")
            .args([script.as_ref(), vmlinux.as_os_str(), out.as_os_str()])
            .status()
            .expect("python3 runs");
        assert!(st.success());
        let from_isf = load(&out).unwrap();
        let mut want = LinuxProfile::from_vmlinux(&elf).unwrap();
        want.banner = None;
        want.text_base = None;
        want.layout_source = "isf".into();
        assert_eq!(from_isf, want);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
