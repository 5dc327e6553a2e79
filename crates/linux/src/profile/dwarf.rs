//! Kernel profiles from DWARF debug info (a vmlinux built with `-g`:
//! Debian's `linux-image-*-dbg`, RHEL's `kernel-debuginfo`, Ubuntu's
//! ddebs, a self-built kernel), for kernels whose image has no BTF.
//!
//! [`isf_from_dwarf`] reads the structures the profile uses (those of
//! [`super::layouts`], `task_struct`, `mm_struct`, `pcpu_hot`) and every
//! structure or union they embed, from the first compilation unit that
//! defines each, and the symbols the profile needs from the ELF symbol
//! table. It writes them as a Volatility 3 symbol table (ISF, the JSON
//! dwarf2json writes), so the one reader of [`super::isf`] builds the
//! profile (`vstrace profile --from-dwarf` saves that table once; reading
//! a kernel's DWARF takes seconds, the table milliseconds). The table
//! holds only those types, not a whole kernel's like dwarf2json's.
//!
//! The file is hostile input: gimli bounds every read, type chains are
//! followed to a bounded depth, and each failure is one [`DwarfError`].

use std::borrow::Cow;
use std::collections::HashSet;

use gimli::{constants as dw, AttributeValue, EndianSlice, LittleEndian, UnitOffset};
use object::{Object, ObjectSection, ObjectSymbol};
use serde_json::{json, Map, Value};

type R<'a> = EndianSlice<'a, LittleEndian>;

/// The structures the profile reads by name (embedded ones follow).
pub const STRUCTS: [&str; 28] = [
    "task_struct",
    "mm_struct",
    "pcpu_hot",
    "fs_struct",
    "files_struct",
    "fdtable",
    "file",
    "path",
    "dentry",
    "super_block",
    "file_system_type",
    "inode",
    "mount",
    "vfsmount",
    "socket",
    "sock",
    "netlink_sock",
    // A unix socket's peer and bound address (-yy), and the inode
    // allocated with a socket (the peer's inode number).
    "socket_alloc",
    "unix_sock",
    "unix_address",
    "net",
    "net_device",
    "vm_area_struct",
    "maple_range_64",
    "maple_arange_64",
    "signal_struct",
    "pid",
    "upid",
];

/// How deep type chains (typedef → const → array → ...) are followed.
const MAX_TYPE_DEPTH: u32 = 24;
/// Most structures and unions written (the closure of [`STRUCTS`] is a
/// few hundred on a 6.x kernel).
const MAX_TYPES: usize = 20_000;

/// Why a profile could not be read from DWARF.
#[derive(Debug, thiserror::Error)]
pub enum DwarfError {
    /// Not an ELF file the parser accepts.
    #[error("not a readable ELF file: {0}")]
    Elf(String),
    /// The ELF file has no `.debug_info` (a stripped image: the
    /// debug-info package's vmlinux is the one with it).
    #[error(
        "no .debug_info section: not a vmlinux with debug info (the -dbg/-debuginfo package's one)"
    )]
    NoDebugInfo,
    /// Only little-endian x86 kernels are read.
    #[error("a big-endian ELF file: only x86 kernels are read")]
    BigEndian,
    /// The DWARF data is malformed.
    #[error("malformed DWARF: {0}")]
    Dwarf(String),
    /// `task_struct` is not defined anywhere (not a Linux kernel).
    #[error("no struct task_struct in the debug info: not a Linux kernel")]
    NoTaskStruct,
    /// The closure of the structures read exceeds [`MAX_TYPES`].
    #[error("more than {MAX_TYPES} structure types to write: not a kernel's debug info")]
    TooManyTypes,
}

impl From<gimli::Error> for DwarfError {
    fn from(e: gimli::Error) -> DwarfError {
        DwarfError::Dwarf(e.to_string())
    }
}

/// The ISF symbol table (JSON) of the profile's structures and symbols in
/// the vmlinux `elf` (with DWARF), and the ELF's GNU build id (hex), if
/// it has one.
pub fn isf_from_dwarf(elf: &[u8]) -> Result<(Value, Option<String>), DwarfError> {
    let file = object::File::parse(elf).map_err(|e| DwarfError::Elf(e.to_string()))?;
    if !file.is_little_endian() {
        return Err(DwarfError::BigEndian);
    }
    if file.section_by_name(".debug_info").is_none() {
        return Err(DwarfError::NoDebugInfo);
    }
    // A vmlinux's debug sections are final (the kernel is linked with
    // --emit-relocs at most: the .rel.debug_* it keeps are applied
    // already), and its debug sections start at address 0.
    let sections = gimli::DwarfSections::load(|id| -> Result<Cow<[u8]>, DwarfError> {
        Ok(match file.section_by_name(id.name()) {
            Some(s) => s
                .uncompressed_data()
                .map_err(|e| DwarfError::Elf(e.to_string()))?,
            None => Cow::Borrowed(&[][..]),
        })
    })?;
    let dwarf = sections.borrow(|s| EndianSlice::new(s, LittleEndian));
    let pointer = if file.is_64() { 8 } else { 4 };
    let mut b = Builder {
        dwarf: &dwarf,
        types: Map::new(),
        base: Map::new(),
        enums: Map::new(),
        done: HashSet::new(),
    };
    let mut wanted: HashSet<&str> = STRUCTS.iter().copied().collect();
    let mut units = dwarf.units();
    while let Some(header) = units.next()? {
        if wanted.is_empty() {
            break;
        }
        let unit = dwarf.unit(header)?;
        for (off, name) in wanted_in_unit(&dwarf, &unit, &wanted)? {
            wanted.remove(name);
            if !b.types.contains_key(name) {
                b.expand(&unit, off, name.to_string())?;
            }
        }
    }
    if !b.types.contains_key("task_struct") {
        return Err(DwarfError::NoTaskStruct);
    }
    b.base.insert(
        "pointer".into(),
        json!({"size": pointer, "kind": "int", "signed": false, "endian": "little"}),
    );
    let mut symbols = Map::new();
    let want: HashSet<&str> = super::isf::SYMBOLS.iter().copied().collect();
    for s in file.symbols() {
        if let Ok(n) = s.name() {
            if want.contains(n) && !symbols.contains_key(n) {
                symbols.insert(n.into(), json!({"address": s.address()}));
            }
        }
    }
    let build_id = super::build_id(elf);
    let isf = json!({
        "metadata": {
            "format": "6.2.0",
            "producer": {"name": "vstrace", "version": env!("CARGO_PKG_VERSION")},
            "linux": {"build_id": build_id},
        },
        "base_types": b.base,
        "user_types": b.types,
        "enums": b.enums,
        "symbols": symbols,
    });
    Ok((isf, build_id))
}

/// The wanted structures this unit defines (not just declares): their
/// offsets and names. A raw scan: only structure and union entries have
/// their attributes read.
fn wanted_in_unit<'w>(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    wanted: &HashSet<&'w str>,
) -> Result<Vec<(UnitOffset, &'w str)>, DwarfError> {
    let mut found = Vec::new();
    let mut raw = unit.entries_raw(None)?;
    while !raw.is_empty() {
        let off = raw.next_offset();
        let Some(abbrev) = raw.read_abbreviation()? else {
            continue;
        };
        if !matches!(
            abbrev.tag(),
            dw::DW_TAG_structure_type | dw::DW_TAG_union_type
        ) {
            raw.skip_attributes(abbrev.attributes())?;
            continue;
        }
        let (mut name, mut decl) = (None, false);
        for spec in abbrev.attributes() {
            let a = raw.read_attribute(*spec)?;
            match a.name() {
                dw::DW_AT_name => name = dwarf.attr_string(unit, a.value()).ok(),
                dw::DW_AT_declaration => decl = true,
                _ => {}
            }
        }
        if decl {
            continue;
        }
        let Some(name) = name.and_then(|n| std::str::from_utf8(n.slice()).ok()) else {
            continue;
        };
        if let Some(w) = wanted.get(name) {
            if !found.iter().any(|(_, n)| n == w) {
                found.push((off, *w));
            }
        }
    }
    Ok(found)
}

/// The tables being written.
struct Builder<'d, 'a> {
    dwarf: &'d gimli::Dwarf<R<'a>>,
    /// `user_types`: structures and unions by name.
    types: Map<String, Value>,
    /// `base_types` by name.
    base: Map<String, Value>,
    /// `enums` by name (sizes only).
    enums: Map<String, Value>,
    /// Anonymous types written, by their `.debug_info` offset.
    done: HashSet<usize>,
}

impl<'a> Builder<'_, 'a> {
    /// Writes the structure or union at `off` as `name`, and every
    /// structure or union it embeds (not those it points to).
    fn expand(
        &mut self,
        unit: &gimli::Unit<R<'a>>,
        off: UnitOffset,
        name: String,
    ) -> Result<(), DwarfError> {
        let mut work = vec![(off, name)];
        while let Some((off, name)) = work.pop() {
            if self.types.contains_key(&name) {
                continue;
            }
            if self.types.len() >= MAX_TYPES {
                return Err(DwarfError::TooManyTypes);
            }
            let t = self.record(unit, off, &mut work)?;
            self.types.insert(name, t);
        }
        Ok(())
    }

    /// The ISF description (`{kind, size, fields}`) of the structure or
    /// union at `off`; embedded aggregates are pushed on `work`.
    fn record(
        &mut self,
        unit: &gimli::Unit<R<'a>>,
        off: UnitOffset,
        work: &mut Vec<(UnitOffset, String)>,
    ) -> Result<Value, DwarfError> {
        let mut tree = unit.entries_tree(Some(off))?;
        let root = tree.root()?;
        let e = root.entry();
        let kind = if e.tag() == dw::DW_TAG_union_type {
            "union"
        } else {
            "struct"
        };
        let size = udata(e.attr_value(dw::DW_AT_byte_size)?).unwrap_or(0);
        let mut fields = Map::new();
        let mut children = root.children();
        let mut anon = 0usize;
        while let Some(child) = children.next()? {
            let m = child.entry();
            if m.tag() != dw::DW_TAG_member {
                continue;
            }
            let name = match m.attr_value(dw::DW_AT_name)? {
                Some(v) => {
                    String::from_utf8_lossy(self.dwarf.attr_string(unit, v)?.slice()).into_owned()
                }
                None => {
                    anon += 1;
                    format!("unnamed_field_{}", anon - 1)
                }
            };
            let mut offset = member_location(m.attr_value(dw::DW_AT_data_member_location)?);
            let mut ty = match m.attr_value(dw::DW_AT_type)? {
                Some(AttributeValue::UnitRef(t)) => self.describe(unit, t, true, work, 0)?,
                _ => json!({"kind": "base", "name": "void"}),
            };
            if let Some(bits) = udata(m.attr_value(dw::DW_AT_bit_size)?) {
                let at = udata(m.attr_value(dw::DW_AT_data_bit_offset)?).unwrap_or(0);
                offset = offset.unwrap_or(0).checked_add(at / 8);
                ty = json!({"kind": "bitfield", "bit_length": bits,
                            "bit_position": at % 8, "type": ty});
            }
            fields.insert(name, json!({"offset": offset.unwrap_or(0), "type": ty}));
        }
        Ok(json!({"kind": kind, "size": size, "fields": fields}))
    }

    /// The ISF type descriptor of the type at `off`. Structures and
    /// unions met while `embed` (not behind a pointer) are queued on
    /// `work` to be written too.
    fn describe(
        &mut self,
        unit: &gimli::Unit<R<'a>>,
        off: UnitOffset,
        embed: bool,
        work: &mut Vec<(UnitOffset, String)>,
        depth: u32,
    ) -> Result<Value, DwarfError> {
        let void = || json!({"kind": "base", "name": "void"});
        if depth > MAX_TYPE_DEPTH {
            return Ok(void());
        }
        let e = unit.entry(off)?;
        let name = match e.attr_value(dw::DW_AT_name)? {
            Some(v) => {
                Some(String::from_utf8_lossy(self.dwarf.attr_string(unit, v)?.slice()).into_owned())
            }
            None => None,
        };
        let size = udata(e.attr_value(dw::DW_AT_byte_size)?);
        let inner = e.attr_value(dw::DW_AT_type)?;
        let mut follow = |b: &mut Self, embed: bool| -> Result<Value, DwarfError> {
            match inner {
                Some(AttributeValue::UnitRef(t)) => b.describe(unit, t, embed, work, depth + 1),
                _ => Ok(void()),
            }
        };
        Ok(match e.tag() {
            dw::DW_TAG_typedef
            | dw::DW_TAG_const_type
            | dw::DW_TAG_volatile_type
            | dw::DW_TAG_restrict_type
            | dw::DW_TAG_atomic_type => follow(self, embed)?,
            dw::DW_TAG_pointer_type | dw::DW_TAG_reference_type => {
                json!({"kind": "pointer", "subtype": follow(self, false)?})
            }
            dw::DW_TAG_base_type => {
                let name = name.unwrap_or_else(|| "void".into());
                let enc = e.attr_value(dw::DW_AT_encoding)?;
                let (kind, signed) = match enc {
                    Some(AttributeValue::Encoding(dw::DW_ATE_boolean)) => ("bool", false),
                    Some(AttributeValue::Encoding(dw::DW_ATE_float)) => ("float", true),
                    Some(AttributeValue::Encoding(dw::DW_ATE_signed_char)) => ("char", true),
                    Some(AttributeValue::Encoding(dw::DW_ATE_unsigned_char)) => ("char", false),
                    Some(AttributeValue::Encoding(dw::DW_ATE_signed)) => ("int", true),
                    _ => ("int", false),
                };
                self.base.entry(name.clone()).or_insert_with(|| {
                    json!({"size": size.unwrap_or(0), "kind": kind,
                           "signed": signed, "endian": "little"})
                });
                json!({"kind": "base", "name": name})
            }
            dw::DW_TAG_structure_type | dw::DW_TAG_union_type | dw::DW_TAG_class_type => {
                let kind = if e.tag() == dw::DW_TAG_union_type {
                    "union"
                } else {
                    "struct"
                };
                let global = off.to_debug_info_offset(&unit.header).map_or(0, |o| o.0);
                let anonymous = name.is_none();
                let name = name.unwrap_or_else(|| format!("unnamed_{global:x}"));
                let decl = e.attr_value(dw::DW_AT_declaration)?.is_some();
                if embed
                    && !decl
                    && !self.types.contains_key(&name)
                    && (!anonymous || self.done.insert(global))
                {
                    work.push((off, name.clone()));
                }
                json!({"kind": kind, "name": name})
            }
            dw::DW_TAG_enumeration_type => {
                let name = name.unwrap_or_else(|| {
                    let g = off.to_debug_info_offset(&unit.header).map_or(0, |o| o.0);
                    format!("unnamed_enum_{g:x}")
                });
                self.enums.entry(name.clone()).or_insert_with(
                    || json!({"size": size.unwrap_or(4), "base": "int", "constants": {}}),
                );
                json!({"kind": "enum", "name": name})
            }
            dw::DW_TAG_array_type => {
                let mut dims = Vec::new();
                let mut tree = unit.entries_tree(Some(off))?;
                let mut children = tree.root()?.children();
                while let Some(c) = children.next()? {
                    let s = c.entry();
                    if s.tag() != dw::DW_TAG_subrange_type {
                        continue;
                    }
                    let n = match udata(s.attr_value(dw::DW_AT_count)?) {
                        Some(n) => n,
                        None => udata(s.attr_value(dw::DW_AT_upper_bound)?)
                            .map_or(0, |u| u.saturating_add(1)),
                    };
                    dims.push(n);
                }
                let mut t = follow(self, embed)?;
                for n in dims.iter().rev() {
                    t = json!({"kind": "array", "count": n, "subtype": t});
                }
                if dims.is_empty() {
                    t = json!({"kind": "array", "count": 0, "subtype": t});
                }
                t
            }
            dw::DW_TAG_subroutine_type => json!({"kind": "function"}),
            _ => void(),
        })
    }
}

/// An unsigned constant attribute (sizes, counts, bit offsets); a
/// negative one (an upper bound of -1: a flexible array) is none.
fn udata(v: Option<AttributeValue<R<'_>>>) -> Option<u64> {
    match v? {
        AttributeValue::Sdata(n) => u64::try_from(n).ok(),
        v => v.udata_value(),
    }
}

/// A member's byte offset: a constant, or DWARF 2's location expression
/// `DW_OP_plus_uconst N`.
fn member_location(v: Option<AttributeValue<R<'_>>>) -> Option<u64> {
    match v? {
        AttributeValue::Exprloc(expr) => {
            let mut r = expr.0;
            let op = gimli::Reader::read_u8(&mut r).ok()?;
            (op == dw::DW_OP_plus_uconst.0)
                .then(|| gimli::Reader::read_uleb128(&mut r).ok())
                .flatten()
        }
        v => udata(Some(v)),
    }
}

/// The profile of the vmlinux `elf` (with DWARF): [`isf_from_dwarf`]
/// read back through [`super::isf::from_isf`].
pub fn profile_from_dwarf(elf: &[u8]) -> Result<super::LinuxProfile, super::ProfileError> {
    let (isf, _) = isf_from_dwarf(elf).map_err(|e| super::ProfileError::Isf(e.to_string()))?;
    let text = serde_json::to_vec(&isf).unwrap_or_default();
    super::isf::parse(&text, "debug info")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::LinuxProfile;

    /// A vmlinux with debug info named by `$env` (Debian's -dbg
    /// package's `/usr/lib/debug/boot/vmlinux-*`), if set.
    fn debug_vmlinux(env: &str) -> Option<Vec<u8>> {
        std::fs::read(std::env::var_os(env)?).ok()
    }

    /// Records the structures a layout asks about (every offset 0).
    #[derive(Default)]
    struct Asked(std::cell::RefCell<HashSet<String>>);

    impl crate::profile::layouts::MemberOffsets for Asked {
        type Error = ();
        fn member_offset(&self, s: &str, _: &str) -> Result<u64, ()> {
            self.0.borrow_mut().insert(s.to_string());
            Ok(0)
        }
    }

    /// A structure the layouts read but the DWARF reader leaves out is
    /// a feature silently missing on kernels without BTF (the 686
    /// kernel's `-yy` unix socket details were).
    #[test]
    fn the_dwarf_reader_keeps_every_structure_the_layouts_read() {
        use crate::profile::layouts::{FilesLayout, MmLayout};
        let a = Asked::default();
        FilesLayout::from_offsets(&a).unwrap();
        MmLayout::from_offsets(&a).unwrap();
        let mut missing: Vec<String> =
            a.0.into_inner()
                .into_iter()
                .filter(|s| !STRUCTS.contains(&s.as_str()))
                .collect();
        missing.sort();
        assert!(missing.is_empty(), "not in STRUCTS: {missing:?}");
    }

    #[test]
    fn images_without_debug_info_are_clear_errors() {
        assert!(matches!(isf_from_dwarf(b""), Err(DwarfError::Elf(_))));
        assert!(matches!(
            isf_from_dwarf(b"\x7fELF\x02\x01\x01\0garbage"),
            Err(DwarfError::Elf(_))
        ));
        // The kernel image itself (stripped: BTF at most, no DWARF).
        if let Some(elf) = crate::profile::test_vmlinux32() {
            let e = isf_from_dwarf(&elf).unwrap_err();
            assert!(matches!(e, DwarfError::NoDebugInfo), "{e}");
            assert!(!e.to_string().contains('\n'));
        }
    }

    /// The strongest check there is: on the same x86_64 kernel, the
    /// profile from the -dbg package's DWARF equals the one from the
    /// image's BTF and ksymtab, every layout of every feature (but where
    /// it came from, the banner and `_text`).
    #[test]
    fn dwarf_profile_equals_btf_profile_on_the_x86_64_kernel() {
        let (Some(dbg), Some(elf)) = (
            debug_vmlinux("VSTRACE_DEBUG_VMLINUX"),
            crate::profile::test_vmlinux(),
        ) else {
            eprintln!("SKIP: set VSTRACE_DEBUG_VMLINUX to the cached kernel's -dbg vmlinux");
            return;
        };
        let t = std::time::Instant::now();
        let got = profile_from_dwarf(&dbg).unwrap();
        eprintln!("DWARF read in {:?}", t.elapsed());
        let mut want = LinuxProfile::from_vmlinux(&elf).unwrap();
        (want.banner, want.text_base) = (None, got.text_base);
        want.layout_source = "isf".into();
        assert!(want.files.is_some() && want.mm.is_some() && want.pids.is_some());
        assert_eq!(got, want);
    }

    /// On the i386 kernel (no BTF) the task layout from DWARF equals the
    /// one inferred from `init_task`'s initialiser, and the layouts BTF
    /// would give are all there, with their known 32-bit shapes.
    #[test]
    fn dwarf_profile_of_the_i386_kernel() {
        let (Some(dbg), Some(elf)) = (
            debug_vmlinux("VSTRACE_DEBUG_VMLINUX32"),
            crate::profile::test_vmlinux32(),
        ) else {
            eprintln!("SKIP: set VSTRACE_DEBUG_VMLINUX32 to the cached i386 kernel's -dbg vmlinux");
            return;
        };
        let t = std::time::Instant::now();
        let (isf, id) = isf_from_dwarf(&dbg).unwrap();
        eprintln!("DWARF read in {:?}, build id {id:?}", t.elapsed());
        let image = object::File::parse(&*elf).unwrap();
        assert_eq!(
            image.build_id().unwrap().map(<[u8]>::to_vec),
            object::File::parse(&*dbg)
                .unwrap()
                .build_id()
                .unwrap()
                .map(<[u8]>::to_vec)
        );
        let text = serde_json::to_vec(&isf).unwrap();
        let got =
            crate::profile::isf::from_isf(&vstrace_isf::Isf::parse(&text, "t").unwrap()).unwrap();
        eprintln!("{}", serde_json::to_string_pretty(&got).unwrap());
        let inferred = LinuxProfile::from_vmlinux(&elf).unwrap();
        // Inference finds the members before `comm` it can recognise
        // (its `size` is how far it looked, not sizeof).
        let (g, i) = (&got.task, &inferred.task);
        assert_eq!(
            (g.pid, g.tgid, g.comm, g.comm_len, g.real_parent, g.parent),
            (i.pid, i.tgid, i.comm, i.comm_len, i.real_parent, i.parent)
        );
        assert_eq!((g.group_leader, g.flags), (i.group_leader, i.flags));
        assert!(g.size > g.comm && g.mm.is_some() && g.tasks.is_some());
        assert_eq!(
            (got.init_task, &got.current_task, got.per_cpu_offset),
            (
                inferred.init_task,
                &inferred.current_task,
                inferred.per_cpu_offset
            )
        );
        assert_eq!(
            (got.pointer_size, got.percpu_mode, got.kernel_min),
            (4, inferred.percpu_mode, inferred.kernel_min)
        );
        let f = got.files.expect("files layout");
        assert_eq!((f.path_mnt, f.path_dentry), (0, 4));
        assert!(f.sock.is_some() && got.pids.is_some());
        let m = got.mm.expect("mm layout");
        // 32-bit maple nodes: 31 pivots and 32 slots, 20 and 21.
        assert_eq!((m.range_pivot, m.range_slot), (4, 128));
        assert_eq!((m.arange_pivot, m.arange_slot), (4, 84));
        let p = got.pids.expect("pids layout");
        assert_eq!((p.upid_nr, p.upid_ns, p.upid_size), (0, 4, 8));
    }
}
