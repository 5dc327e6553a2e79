//! A bounded parser for BTF (BPF Type Format), the compact type information
//! the kernel embeds in its `.BTF` section.
//!
//! Only what process attribution needs: the header, the type and string
//! sections, every kind's record size (so the type table can be indexed),
//! and structure members, pointers, arrays, integers and the modifier
//! chain (typedef/const/volatile/restrict/type tag). The input may one day
//! come from guest memory, so it is hostile: every offset is checked, every
//! chain and recursion is capped, and nothing panics.

use std::collections::HashMap;

/// BTF magic, read in the blob's own byte order.
const BTF_MAGIC: u16 = 0xeb9f;
/// Size of `struct btf_header` in version 1.
const HEADER_LEN: usize = 24;
/// Size of `struct btf_type` (name_off, info, size/type).
const TYPE_LEN: usize = 12;
/// Longest typedef/modifier chain followed before declaring a loop.
const MAX_CHAIN: usize = 32;
/// Deepest nesting of anonymous members (or arrays) followed.
const MAX_DEPTH: usize = 16;
/// Most structs/unions searched for one member name (anonymous nesting).
const MAX_VISITS: usize = 4096;
/// Longest member path accepted by [`Btf::member`].
const MAX_PATH: usize = 16;

/// Errors parsing or querying BTF.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BtfError {
    /// The blob ends inside the named part (header, type or string section).
    #[error("BTF blob truncated: {0}")]
    Truncated(&'static str),
    /// The first two bytes are not the BTF magic `0xeb9f` in either byte order.
    #[error("bad BTF magic {0:#06x}")]
    BadMagic(u16),
    /// A BTF format version other than 1.
    #[error("unsupported BTF version {0}")]
    BadVersion(u8),
    /// The header's lengths or offsets are inconsistent (what is wrong).
    #[error("BTF header: {0}")]
    BadHeader(&'static str),
    /// A type record carries a kind number this parser does not know.
    #[error("unknown BTF kind {kind} at type id {id}")]
    UnknownKind {
        /// Id the record would have.
        id: u32,
        /// The raw kind number.
        kind: u8,
    },
    /// A type id that refers past the last type.
    #[error("type id {0} out of range")]
    BadTypeId(u32),
    /// A type has a different kind than the query needs (e.g. a member path through an INT).
    #[error("type id {id} is a {found:?}, expected {expected}")]
    WrongKind {
        /// The type id that was looked at.
        id: u32,
        /// Its actual kind.
        found: Kind,
        /// What the query needed (e.g. `"struct or union"`).
        expected: &'static str,
    },
    /// Following typedef/const/volatile links from this type id does not end (a cycle or a chain past the bound).
    #[error("type chain from id {0} loops or is too long")]
    Loop(u32),
    /// No STRUCT of this name exists.
    #[error("no struct named {0:?}")]
    NoStruct(String),
    /// The struct or union has no member of this name (anonymous members are searched too).
    #[error("no member {member:?} in type id {id}")]
    NoMember {
        /// Type id of the struct or union searched.
        id: u32,
        /// The member name that was asked for.
        member: String,
    },
    /// A dotted member path that is empty or longer than the accepted depth.
    #[error("member path {0:?} is empty or too long")]
    BadPath(String),
    /// The member is a bitfield or otherwise not at a whole byte offset.
    #[error("member {0:?} is not byte-aligned (a bitfield)")]
    NotByteAligned(String),
    /// Computing this type's size in bytes overflows (a hostile array count).
    #[error("size of type id {0} overflows")]
    Overflow(u32),
}

/// BTF type kinds (`BTF_KIND_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `BTF_KIND_INT` (1): an integer with size and encoding.
    Int,
    /// `BTF_KIND_PTR` (2): a pointer to a type.
    Ptr,
    /// `BTF_KIND_ARRAY` (3): element type, index type and count.
    Array,
    /// `BTF_KIND_STRUCT` (4): a struct with members.
    Struct,
    /// `BTF_KIND_UNION` (5): a union with members.
    Union,
    /// `BTF_KIND_ENUM` (6): an enum with 32-bit values.
    Enum,
    /// `BTF_KIND_FWD` (7): a forward declaration.
    Fwd,
    /// `BTF_KIND_TYPEDEF` (8): a name for another type.
    Typedef,
    /// `BTF_KIND_VOLATILE` (9): a volatile-qualified type.
    Volatile,
    /// `BTF_KIND_CONST` (10): a const-qualified type.
    Const,
    /// `BTF_KIND_RESTRICT` (11): a restrict-qualified type.
    Restrict,
    /// `BTF_KIND_FUNC` (12): a function, pointing at its prototype.
    Func,
    /// `BTF_KIND_FUNC_PROTO` (13): a function prototype with parameters.
    FuncProto,
    /// `BTF_KIND_VAR` (14): a variable.
    Var,
    /// `BTF_KIND_DATASEC` (15): a data section listing variables.
    Datasec,
    /// `BTF_KIND_FLOAT` (16): a floating-point type.
    Float,
    /// `BTF_KIND_DECL_TAG` (17): an attribute tag on a declaration.
    DeclTag,
    /// `BTF_KIND_TYPE_TAG` (18): an attribute tag on a type.
    TypeTag,
    /// `BTF_KIND_ENUM64` (19): an enum with 64-bit values.
    Enum64,
}

impl Kind {
    fn from_raw(k: u8) -> Option<Kind> {
        Some(match k {
            1 => Kind::Int,
            2 => Kind::Ptr,
            3 => Kind::Array,
            4 => Kind::Struct,
            5 => Kind::Union,
            6 => Kind::Enum,
            7 => Kind::Fwd,
            8 => Kind::Typedef,
            9 => Kind::Volatile,
            10 => Kind::Const,
            11 => Kind::Restrict,
            12 => Kind::Func,
            13 => Kind::FuncProto,
            14 => Kind::Var,
            15 => Kind::Datasec,
            16 => Kind::Float,
            17 => Kind::DeclTag,
            18 => Kind::TypeTag,
            19 => Kind::Enum64,
            _ => return None,
        })
    }

    /// Bytes that follow the 12-byte `btf_type` for this kind.
    fn extra_len(self, vlen: usize) -> usize {
        match self {
            Kind::Int | Kind::Var | Kind::DeclTag => 4,
            Kind::Array => 12,
            Kind::Struct | Kind::Union | Kind::Datasec | Kind::Enum64 => 12 * vlen,
            Kind::Enum | Kind::FuncProto => 8 * vlen,
            _ => 0,
        }
    }

    /// Kinds whose third word is a size (the others carry a type id).
    fn has_size(self) -> bool {
        matches!(
            self,
            Kind::Int
                | Kind::Struct
                | Kind::Union
                | Kind::Enum
                | Kind::Enum64
                | Kind::Datasec
                | Kind::Float
        )
    }
}

/// The fixed part of one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    /// Type id (1-based; 0 is `void`).
    pub id: u32,
    /// The type's kind.
    pub kind: Kind,
    /// Byte offset of the name in the string section (0: anonymous).
    pub name_off: u32,
    /// The kind flag bit: for STRUCT/UNION, members carry bitfield sizes.
    pub kind_flag: bool,
    /// Number of trailing records (members, enumerators, parameters).
    pub vlen: u16,
    /// `size` for sized kinds (INT, STRUCT, UNION, ENUM, ...), else `type`.
    pub size_or_type: u32,
}

/// One member of a STRUCT or UNION.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Empty for anonymous members.
    pub name: String,
    /// Type id of the member.
    pub type_id: u32,
    /// Offset in bits from the start of the containing type.
    pub bit_offset: u32,
    /// Bitfield width, 0 for an ordinary member.
    pub bitfield_size: u32,
}

/// Where a (possibly nested) member lives, relative to the outer struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLoc {
    /// Offset in bits from the start of the outer struct.
    pub bit_offset: u64,
    /// Bitfield width in bits, 0 for an ordinary member.
    pub bitfield_size: u32,
    /// Type id of the member.
    pub type_id: u32,
}

/// An ARRAY type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayInfo {
    /// Type id of the elements.
    pub elem_type: u32,
    /// Type id of the index (an INT; informational).
    pub index_type: u32,
    /// Number of elements.
    pub nelems: u32,
}

/// An INT type's encoding word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntInfo {
    /// `BTF_INT_SIGNED` (1), `BTF_INT_CHAR` (2), `BTF_INT_BOOL` (4).
    pub encoding: u8,
    /// Offset in bits of the value within the storage (`BTF_INT_OFFSET`).
    pub bit_offset: u8,
    /// Width of the value in bits (`BTF_INT_BITS`).
    pub bits: u8,
}

/// Parsed BTF: the type and string sections (owned copies) and an index.
#[derive(Debug, Clone)]
pub struct Btf {
    big_endian: bool,
    types: Vec<u8>,
    strings: Vec<u8>,
    /// Offset of type id `i + 1` in `types`.
    offsets: Vec<u32>,
    /// STRUCT and UNION ids by name, in id order.
    composites: HashMap<String, Vec<u32>>,
}

fn rd_u16(b: &[u8], off: usize, be: bool) -> Option<u16> {
    let s: [u8; 2] = b.get(off..off.checked_add(2)?)?.try_into().ok()?;
    Some(if be {
        u16::from_be_bytes(s)
    } else {
        u16::from_le_bytes(s)
    })
}

fn rd_u32(b: &[u8], off: usize, be: bool) -> Option<u32> {
    let s: [u8; 4] = b.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(if be {
        u32::from_be_bytes(s)
    } else {
        u32::from_le_bytes(s)
    })
}

impl Btf {
    /// Parses a raw BTF blob (the contents of `.BTF` or `/sys/kernel/btf/vmlinux`).
    pub fn parse(blob: &[u8]) -> Result<Btf, BtfError> {
        if blob.len() < HEADER_LEN {
            return Err(BtfError::Truncated("header"));
        }
        let big_endian = match rd_u16(blob, 0, false) {
            Some(BTF_MAGIC) => false,
            Some(m) if m.swap_bytes() == BTF_MAGIC => true,
            Some(m) => return Err(BtfError::BadMagic(m)),
            None => return Err(BtfError::Truncated("header")),
        };
        let be = big_endian;
        if blob[2] != 1 {
            return Err(BtfError::BadVersion(blob[2]));
        }
        let word = |i: usize| rd_u32(blob, 4 + 4 * i, be).ok_or(BtfError::Truncated("header"));
        let hdr_len = word(0)? as usize;
        let (type_off, type_len) = (word(1)? as usize, word(2)? as usize);
        let (str_off, str_len) = (word(3)? as usize, word(4)? as usize);
        if hdr_len < HEADER_LEN || hdr_len > blob.len() {
            return Err(BtfError::BadHeader("header length"));
        }
        let body = &blob[hdr_len..];
        let section = |off: usize, len: usize, what: &'static str| {
            off.checked_add(len)
                .and_then(|end| body.get(off..end))
                .ok_or(BtfError::Truncated(what))
        };
        let types = section(type_off, type_len, "type section")?.to_vec();
        let strings = section(str_off, str_len, "string section")?.to_vec();
        if type_len % 4 != 0 {
            return Err(BtfError::BadHeader(
                "type section length not a multiple of 4",
            ));
        }
        // An empty string section is allowed only with no names at all; the
        // first string must be "" when present.
        if strings.first().is_some_and(|&c| c != 0) {
            return Err(BtfError::BadHeader("string section must start with NUL"));
        }

        // Each record is at least 12 bytes: that bounds the index size.
        let mut offsets = Vec::with_capacity(types.len() / TYPE_LEN);
        let mut composites: HashMap<String, Vec<u32>> = HashMap::new();
        let mut off = 0usize;
        while off < types.len() {
            let id = u32::try_from(offsets.len() + 1)
                .map_err(|_| BtfError::BadHeader("too many types"))?;
            let name_off = rd_u32(&types, off, be).ok_or(BtfError::Truncated("type record"))?;
            let info = rd_u32(&types, off + 4, be).ok_or(BtfError::Truncated("type record"))?;
            if off + TYPE_LEN > types.len() {
                return Err(BtfError::Truncated("type record"));
            }
            let raw_kind = ((info >> 24) & 0x1f) as u8;
            let kind =
                Kind::from_raw(raw_kind).ok_or(BtfError::UnknownKind { id, kind: raw_kind })?;
            let vlen = (info & 0xffff) as usize;
            let end = off
                .checked_add(TYPE_LEN + kind.extra_len(vlen))
                .filter(|&e| e <= types.len())
                .ok_or(BtfError::Truncated("type record"))?;
            offsets.push(off as u32);
            if matches!(kind, Kind::Struct | Kind::Union) && name_off != 0 {
                if let Some(name) = str_at(&strings, name_off) {
                    composites.entry(name.to_string()).or_default().push(id);
                }
            }
            off = end;
        }
        Ok(Btf {
            big_endian,
            types,
            strings,
            offsets,
            composites,
        })
    }

    /// Number of types (valid ids are `1..=count`; id 0 is `void`).
    pub fn count(&self) -> u32 {
        self.offsets.len() as u32
    }

    /// The string at `off` in the string section (`None` if out of range
    /// or not UTF-8).
    pub fn str_at(&self, off: u32) -> Option<&str> {
        str_at(&self.strings, off)
    }

    fn rec(&self, id: u32) -> Result<usize, BtfError> {
        id.checked_sub(1)
            .and_then(|i| self.offsets.get(i as usize))
            .map(|&o| o as usize)
            .ok_or(BtfError::BadTypeId(id))
    }

    fn word(&self, off: usize) -> Result<u32, BtfError> {
        rd_u32(&self.types, off, self.big_endian).ok_or(BtfError::Truncated("type record"))
    }

    /// The fixed part of type `id`.
    pub fn type_info(&self, id: u32) -> Result<TypeInfo, BtfError> {
        let off = self.rec(id)?;
        let info = self.word(off + 4)?;
        let raw = ((info >> 24) & 0x1f) as u8;
        Ok(TypeInfo {
            id,
            kind: Kind::from_raw(raw).ok_or(BtfError::UnknownKind { id, kind: raw })?,
            name_off: self.word(off)?,
            kind_flag: info >> 31 != 0,
            vlen: (info & 0xffff) as u16,
            size_or_type: self.word(off + 8)?,
        })
    }

    /// Name of type `id` (empty for anonymous types).
    pub fn name(&self, id: u32) -> Result<&str, BtfError> {
        let t = self.type_info(id)?;
        Ok(self.str_at(t.name_off).unwrap_or(""))
    }

    /// Members of STRUCT or UNION `id`.
    pub fn members(&self, id: u32) -> Result<Vec<Member>, BtfError> {
        let t = self.type_info(id)?;
        if !matches!(t.kind, Kind::Struct | Kind::Union) {
            return Err(BtfError::WrongKind {
                id,
                found: t.kind,
                expected: "struct or union",
            });
        }
        let base = self.rec(id)? + TYPE_LEN;
        let mut out = Vec::with_capacity(t.vlen as usize);
        for i in 0..t.vlen as usize {
            let m = base + 12 * i;
            let name_off = self.word(m)?;
            let type_id = self.word(m + 4)?;
            let raw = self.word(m + 8)?;
            // With kind_flag, the offset word packs bitfield size and offset.
            let (bit_offset, bitfield_size) = if t.kind_flag {
                (raw & 0x00ff_ffff, raw >> 24)
            } else {
                (raw, 0)
            };
            out.push(Member {
                name: self.str_at(name_off).unwrap_or("").to_string(),
                type_id,
                bit_offset,
                bitfield_size,
            });
        }
        Ok(out)
    }

    /// The ARRAY record of `id`.
    pub fn array(&self, id: u32) -> Result<ArrayInfo, BtfError> {
        self.expect(id, Kind::Array, "array")?;
        let a = self.rec(id)? + TYPE_LEN;
        Ok(ArrayInfo {
            elem_type: self.word(a)?,
            index_type: self.word(a + 4)?,
            nelems: self.word(a + 8)?,
        })
    }

    /// The INT encoding of `id`.
    pub fn int(&self, id: u32) -> Result<IntInfo, BtfError> {
        self.expect(id, Kind::Int, "int")?;
        let w = self.word(self.rec(id)? + TYPE_LEN)?;
        Ok(IntInfo {
            encoding: ((w >> 24) & 0xf) as u8,
            bit_offset: ((w >> 16) & 0xff) as u8,
            bits: (w & 0xff) as u8,
        })
    }

    fn expect(&self, id: u32, kind: Kind, expected: &'static str) -> Result<TypeInfo, BtfError> {
        let t = self.type_info(id)?;
        if t.kind != kind {
            return Err(BtfError::WrongKind {
                id,
                found: t.kind,
                expected,
            });
        }
        Ok(t)
    }

    /// Follows typedef, const, volatile, restrict and type tags to the
    /// underlying type id (0 for `void`).
    pub fn resolve(&self, id: u32) -> Result<u32, BtfError> {
        let mut cur = id;
        for _ in 0..MAX_CHAIN {
            if cur == 0 {
                return Ok(0);
            }
            let t = self.type_info(cur)?;
            match t.kind {
                Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
                    cur = t.size_or_type
                }
                _ => return Ok(cur),
            }
        }
        Err(BtfError::Loop(id))
    }

    /// The type a pointer `id` points to (after resolving modifiers on
    /// both sides), e.g. `struct task_struct` for `struct task_struct *`.
    pub fn pointee(&self, id: u32) -> Result<u32, BtfError> {
        let p = self.resolve(id)?;
        let t = self.expect(p, Kind::Ptr, "pointer")?;
        self.resolve(t.size_or_type)
    }

    /// Size of `id` in bytes. Pointers are `pointer_size()` bytes.
    pub fn size_of(&self, id: u32) -> Result<u64, BtfError> {
        self.size_depth(id, 0)
    }

    fn size_depth(&self, id: u32, depth: usize) -> Result<u64, BtfError> {
        if depth > MAX_DEPTH {
            return Err(BtfError::Loop(id));
        }
        let r = self.resolve(id)?;
        if r == 0 {
            return Ok(0);
        }
        let t = self.type_info(r)?;
        match t.kind {
            k if k.has_size() => Ok(t.size_or_type as u64),
            Kind::Ptr => Ok(self.pointer_size()),
            Kind::Array => {
                let a = self.array(r)?;
                let elem = self.size_depth(a.elem_type, depth + 1)?;
                elem.checked_mul(a.nelems as u64)
                    .ok_or(BtfError::Overflow(r))
            }
            _ => Ok(0),
        }
    }

    /// Pointer size: that of `long unsigned int` when present, else 8.
    pub fn pointer_size(&self) -> u64 {
        // BTF has no pointer size; `unsigned long` matches it on Linux.
        (1..=self.count().min(64))
            .find(|&id| {
                self.type_info(id).is_ok_and(|t| t.kind == Kind::Int)
                    && self.name(id) == Ok("long unsigned int")
            })
            .and_then(|id| self.type_info(id).ok())
            .map(|t| t.size_or_type as u64)
            .filter(|&s| s == 4 || s == 8)
            .unwrap_or(8)
    }

    /// The first STRUCT named `name` with a non-zero size (or the first
    /// one at all).
    pub fn find_struct(&self, name: &str) -> Option<u32> {
        self.find_composite(name, Kind::Struct)
    }

    /// Like [`Btf::find_struct`] for UNIONs.
    pub fn find_union(&self, name: &str) -> Option<u32> {
        self.find_composite(name, Kind::Union)
    }

    fn find_composite(&self, name: &str, kind: Kind) -> Option<u32> {
        let ids = self.composites.get(name)?;
        let of_kind = || {
            ids.iter()
                .copied()
                .filter(|&id| self.type_info(id).is_ok_and(|t| t.kind == kind))
        };
        of_kind()
            .find(|&id| self.type_info(id).is_ok_and(|t| t.size_or_type > 0))
            .or_else(|| of_kind().next())
    }

    /// Finds a dotted member path (`"a.b.c"`) in STRUCT/UNION `id`,
    /// looking through anonymous struct/union members at every level.
    pub fn member(&self, id: u32, path: &str) -> Result<FieldLoc, BtfError> {
        let parts: Vec<&str> = path.split('.').collect();
        if path.is_empty() || parts.len() > MAX_PATH || parts.iter().any(|p| p.is_empty()) {
            return Err(BtfError::BadPath(path.to_string()));
        }
        let mut cur = self.resolve(id)?;
        let mut loc = FieldLoc {
            bit_offset: 0,
            bitfield_size: 0,
            type_id: cur,
        };
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                cur = self.resolve(loc.type_id)?;
            }
            let mut budget = MAX_VISITS;
            let (off, m) = self
                .find_member(cur, part, 0, &mut budget)?
                .ok_or_else(|| BtfError::NoMember {
                    id: cur,
                    member: part.to_string(),
                })?;
            loc = FieldLoc {
                bit_offset: loc.bit_offset + off,
                bitfield_size: m.bitfield_size,
                type_id: m.type_id,
            };
        }
        Ok(loc)
    }

    /// Searches `id`'s members for `name`, descending into anonymous
    /// members; returns the bit offset relative to `id` and the member.
    fn find_member(
        &self,
        id: u32,
        name: &str,
        depth: usize,
        budget: &mut usize,
    ) -> Result<Option<(u64, Member)>, BtfError> {
        // Depth alone is not enough: a struct with many anonymous members
        // of its own type would take vlen^depth steps.
        if depth > MAX_DEPTH || *budget == 0 {
            return Err(BtfError::Loop(id));
        }
        *budget -= 1;
        let members = self.members(id)?;
        if let Some(m) = members.iter().find(|m| m.name == name) {
            return Ok(Some((m.bit_offset as u64, m.clone())));
        }
        for m in members.iter().filter(|m| m.name.is_empty()) {
            let inner = self.resolve(m.type_id)?;
            if inner == 0 {
                continue;
            }
            let k = self.type_info(inner)?.kind;
            if !matches!(k, Kind::Struct | Kind::Union) {
                continue;
            }
            if let Some((off, found)) = self.find_member(inner, name, depth + 1, budget)? {
                return Ok(Some((m.bit_offset as u64 + off, found)));
            }
        }
        Ok(None)
    }

    /// Byte offset of `path` in the struct named `struct_name`; bitfields
    /// not starting on a byte boundary are refused.
    pub fn member_offset(&self, struct_name: &str, path: &str) -> Result<u64, BtfError> {
        let id = self
            .find_struct(struct_name)
            .ok_or_else(|| BtfError::NoStruct(struct_name.to_string()))?;
        let loc = self.member(id, path)?;
        if loc.bit_offset % 8 != 0 {
            return Err(BtfError::NotByteAligned(path.to_string()));
        }
        Ok(loc.bit_offset / 8)
    }
}

fn str_at(strings: &[u8], off: u32) -> Option<&str> {
    let s = strings.get(off as usize..)?;
    let end = s.iter().position(|&c| c == 0)?;
    std::str::from_utf8(&s[..end]).ok()
}

/// A BTF writer for tests and fuzz seeds (here and in other crates), so
/// that they build real blobs the parser reads like a kernel's.
pub mod build {
    use super::{BTF_MAGIC, HEADER_LEN};

    /// Builds BTF blobs: types are appended in id order.
    #[derive(Default)]
    pub struct Builder {
        /// The type section written so far.
        pub types: Vec<u8>,
        /// The string section written so far (starts with the empty name).
        pub strings: Vec<u8>,
        /// Id the next appended type gets (ids start at 1).
        pub next_id: u32,
        /// Big-endian output (BTF of a big-endian target).
        pub big_endian: bool,
    }

    impl Builder {
        /// An empty little-endian builder: no types, a string section holding only the empty name.
        pub fn new() -> Builder {
            Builder {
                types: Vec::new(),
                strings: vec![0],
                next_id: 1,
                big_endian: false,
            }
        }

        /// A builder writing big-endian BTF.
        pub fn big_endian() -> Builder {
            Builder {
                big_endian: true,
                ..Builder::new()
            }
        }

        fn word(&self, v: u32) -> [u8; 4] {
            if self.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }
        /// Appends `name` to the string section and returns its byte offset (0 for the empty name).
        pub fn s(&mut self, name: &str) -> u32 {
            if name.is_empty() {
                return 0;
            }
            let off = self.strings.len() as u32;
            self.strings.extend_from_slice(name.as_bytes());
            self.strings.push(0);
            off
        }
        fn w(&mut self, v: u32) {
            let b = self.word(v);
            self.types.extend_from_slice(&b);
        }
        /// Appends a `btf_type` header (`kind` is the raw `BTF_KIND_*` number, `st` the size or type word) and returns its id; the caller writes the kind's trailing words.
        pub fn raw(&mut self, name: &str, kind: u32, kflag: bool, vlen: u32, st: u32) -> u32 {
            let n = self.s(name);
            self.w(n);
            self.w((kind << 24) | ((kflag as u32) << 31) | vlen);
            self.w(st);
            let id = self.next_id;
            self.next_id += 1;
            id
        }
        /// Appends an INT of `size` bytes whose encoding word is `bits` (the value width in bits when unsigned and unshifted); returns its id.
        pub fn int(&mut self, name: &str, size: u32, bits: u32) -> u32 {
            let id = self.raw(name, 1, false, 0, size);
            self.w(bits);
            id
        }
        /// Appends a PTR to type `to`; returns its id.
        pub fn ptr(&mut self, to: u32) -> u32 {
            self.raw("", 2, false, 0, to)
        }
        /// Appends a TYPEDEF `name` for type `to`; returns its id.
        pub fn typedef(&mut self, name: &str, to: u32) -> u32 {
            self.raw(name, 8, false, 0, to)
        }
        /// Appends a CONST of type `to`; returns its id.
        pub fn konst(&mut self, to: u32) -> u32 {
            self.raw("", 10, false, 0, to)
        }
        /// Appends an ARRAY of `n` elements of type `elem` indexed by type `index`; returns its id.
        pub fn array(&mut self, elem: u32, index: u32, n: u32) -> u32 {
            let id = self.raw("", 3, false, 0, 0);
            self.w(elem);
            self.w(index);
            self.w(n);
            id
        }
        /// members: (name, type, bit offset, bitfield size)
        pub fn composite(
            &mut self,
            union: bool,
            name: &str,
            size: u32,
            members: &[(&str, u32, u32, u32)],
        ) -> u32 {
            let kflag = members.iter().any(|m| m.3 != 0);
            let id = self.raw(
                name,
                if union { 5 } else { 4 },
                kflag,
                members.len() as u32,
                size,
            );
            for &(n, t, off, bits) in members {
                let no = self.s(n);
                self.w(no);
                self.w(t);
                self.w(if kflag { (bits << 24) | off } else { off });
            }
            id
        }
        /// The complete blob: header, type section, string section.
        pub fn blob(&self) -> Vec<u8> {
            let mut b = Vec::new();
            b.extend_from_slice(&if self.big_endian {
                BTF_MAGIC.to_be_bytes()
            } else {
                BTF_MAGIC.to_le_bytes()
            });
            b.push(1);
            b.push(0);
            for v in [
                HEADER_LEN as u32,
                0,
                self.types.len() as u32,
                self.types.len() as u32,
                self.strings.len() as u32,
            ] {
                b.extend_from_slice(&self.word(v));
            }
            b.extend_from_slice(&self.types);
            b.extend_from_slice(&self.strings);
            b
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::build::Builder;
    use super::*;

    /// A miniature task_struct: anonymous union, nested struct, bitfields,
    /// typedef'd pid, const char array.
    pub(crate) fn sample() -> (Builder, u32) {
        let mut b = Builder::new();
        let int = b.int("int", 4, (1 << 24) | 32); // 1
        let uint = b.int("unsigned int", 4, 32); // 2
        let ch = b.int("char", 1, (2 << 24) | 8); // 3
        let pid_t = b.typedef("pid_t", int); // 4
        let comm = b.array(ch, int, 16); // 5
        let ulong = b.int("long unsigned int", 8, 64); // 6
        let task_ptr = b.ptr(9); // 7
        let task_ptr_c = b.konst(task_ptr); // 8
        let task_id = 9;
        let inner = 10;
        let un = 11;
        let got = b.composite(
            false,
            "task_struct",
            96,
            &[
                ("", un, 0, 0),
                ("bits", uint, 64, 3),
                ("more", uint, 67, 5),
                ("pid", pid_t, 96, 0),
                ("tgid", pid_t, 128, 0),
                ("real_parent", task_ptr_c, 192, 0),
                ("comm", comm, 256, 0),
                ("nested", un, 384, 0),
            ],
        );
        assert_eq!(got, task_id);
        assert_eq!(
            b.composite(false, "", 8, &[("x", uint, 0, 0), ("y", uint, 32, 0)]),
            inner
        );
        assert_eq!(
            b.composite(true, "", 8, &[("flags", ulong, 0, 0), ("", inner, 0, 0)]),
            un
        );
        (b, task_id)
    }

    #[test]
    fn parses_members_offsets_and_sizes() {
        let (b, task) = sample();
        let btf = Btf::parse(&b.blob()).unwrap();
        assert_eq!(btf.count(), 11);
        assert_eq!(btf.find_struct("task_struct"), Some(task));
        assert_eq!(btf.find_struct("nope"), None);
        assert_eq!(btf.member_offset("task_struct", "pid").unwrap(), 12);
        assert_eq!(btf.member_offset("task_struct", "tgid").unwrap(), 16);
        assert_eq!(btf.member_offset("task_struct", "real_parent").unwrap(), 24);
        assert_eq!(btf.member_offset("task_struct", "comm").unwrap(), 32);
        // Through the anonymous union and the anonymous struct inside it.
        assert_eq!(btf.member_offset("task_struct", "flags").unwrap(), 0);
        assert_eq!(btf.member_offset("task_struct", "y").unwrap(), 4);
        // Dotted path into a named member, then through anonymous ones.
        assert_eq!(btf.member_offset("task_struct", "nested.y").unwrap(), 52);
        // Bitfields: kind_flag packs the size.
        let m = btf.member(task, "more").unwrap();
        assert_eq!((m.bit_offset, m.bitfield_size), (67, 5));
        assert_eq!(
            btf.member_offset("task_struct", "more"),
            Err(BtfError::NotByteAligned("more".into()))
        );
        assert_eq!(btf.member(task, "bits").unwrap().bitfield_size, 3);
        // Types and sizes.
        let comm = btf.member(task, "comm").unwrap().type_id;
        assert_eq!(btf.size_of(comm).unwrap(), 16);
        assert_eq!(btf.array(comm).unwrap().nelems, 16);
        let pid = btf.member(task, "pid").unwrap().type_id;
        assert_eq!(btf.size_of(pid).unwrap(), 4);
        assert_eq!(btf.int(btf.resolve(pid).unwrap()).unwrap().encoding, 1);
        let rp = btf.member(task, "real_parent").unwrap().type_id;
        assert_eq!(btf.pointee(rp).unwrap(), task);
        assert_eq!(btf.size_of(rp).unwrap(), 8);
        assert_eq!(btf.size_of(task).unwrap(), 96);
        assert_eq!(btf.name(task).unwrap(), "task_struct");
        // Errors.
        assert!(matches!(
            btf.member(task, "nope"),
            Err(BtfError::NoMember { .. })
        ));
        assert!(matches!(
            btf.member(task, "pid.x"),
            Err(BtfError::WrongKind { .. })
        ));
        assert!(matches!(btf.member(task, ""), Err(BtfError::BadPath(_))));
        assert!(matches!(
            btf.member(task, "a..b"),
            Err(BtfError::BadPath(_))
        ));
        assert_eq!(btf.type_info(0), Err(BtfError::BadTypeId(0)));
        assert_eq!(btf.type_info(12), Err(BtfError::BadTypeId(12)));
        assert!(matches!(
            btf.member_offset("missing", "pid"),
            Err(BtfError::NoStruct(_))
        ));
    }

    #[test]
    fn truncation_anywhere_is_an_error_not_a_panic() {
        let (b, _) = sample();
        let blob = b.blob();
        for cut in 0..blob.len() {
            assert!(Btf::parse(&blob[..cut]).is_err(), "cut at {cut}");
        }
        // Shortening the type section inside a record is caught too.
        let mut bad = blob.clone();
        let tl = (b.types.len() - 4) as u32;
        bad[12..16].copy_from_slice(&tl.to_le_bytes());
        assert!(Btf::parse(&bad).is_err());
    }

    #[test]
    fn hostile_headers_are_refused() {
        let (b, _) = sample();
        let blob = b.blob();
        let mut m = blob.clone();
        m[0] = 0;
        assert!(matches!(Btf::parse(&m), Err(BtfError::BadMagic(_))));
        let mut v = blob.clone();
        v[2] = 2;
        assert_eq!(Btf::parse(&v).unwrap_err(), BtfError::BadVersion(2));
        for field in [4usize, 8, 12, 16, 20] {
            for val in [u32::MAX, u32::MAX - 3, 0x7fff_fff0] {
                let mut h = blob.clone();
                h[field..field + 4].copy_from_slice(&val.to_le_bytes());
                let _ = Btf::parse(&h); // must not panic or allocate wildly
                assert!(Btf::parse(&h).is_err(), "field {field} = {val:#x}");
            }
        }
        // Unknown kind.
        let mut u = Builder::new();
        u.raw("x", 31, false, 0, 0);
        assert!(matches!(
            Btf::parse(&u.blob()),
            Err(BtfError::UnknownKind { id: 1, kind: 31 })
        ));
    }

    #[test]
    fn huge_vlen_is_bounded_by_the_section() {
        let mut b = Builder::new();
        b.raw("s", 4, false, 0xffff, 8);
        assert_eq!(
            Btf::parse(&b.blob()).unwrap_err(),
            BtfError::Truncated("type record")
        );
        // A huge array count only makes the size overflow-checked.
        let mut b = Builder::new();
        let big = b.array(0, 0, u32::MAX); // elem void
        let c = b.int("c", u32::MAX, 8);
        let arr = b.array(c, c, u32::MAX);
        let arr2 = b.array(arr, c, u32::MAX);
        let arr3 = b.array(arr2, c, u32::MAX);
        let btf = Btf::parse(&b.blob()).unwrap();
        assert_eq!(btf.size_of(big).unwrap(), 0);
        assert_eq!(btf.size_of(arr).unwrap(), u32::MAX as u64 * u32::MAX as u64);
        assert_eq!(btf.size_of(arr3), Err(BtfError::Overflow(arr2)));
    }

    #[test]
    fn looping_type_references_terminate() {
        let mut b = Builder::new();
        // typedef a -> const -> typedef a (ids 1 -> 2 -> 1)
        let a = b.typedef("a", 2);
        b.konst(1);
        // struct s { struct s_anon; } where the anonymous member is s itself.
        let s = b.composite(false, "s", 8, &[("", 3, 0, 0)]);
        // array of itself
        let arr = b.array(4, 0, 2);
        // member of type pointing to an out-of-range id
        let t = b.composite(false, "t", 8, &[("m", 999, 0, 0), ("n", s, 0, 0)]);
        let btf = Btf::parse(&b.blob()).unwrap();
        assert_eq!(btf.resolve(a), Err(BtfError::Loop(a)));
        assert!(matches!(btf.size_of(a), Err(BtfError::Loop(_))));
        assert!(matches!(btf.member(s, "x"), Err(BtfError::Loop(_))));
        assert!(matches!(btf.size_of(arr), Err(BtfError::Loop(_))));
        assert!(matches!(
            btf.member(t, "m.x"),
            Err(BtfError::BadTypeId(999))
        ));
        assert!(matches!(btf.member(t, "n.x"), Err(BtfError::Loop(_))));
        let long = ["a"; 40].join(".");
        assert!(matches!(btf.member(t, &long), Err(BtfError::BadPath(_))));
    }

    #[test]
    fn anonymous_member_fanout_is_bounded() {
        let mut b = Builder::new();
        // struct s { struct s; struct s; ... x 1000 } (anonymous, itself).
        let members: Vec<(&str, u32, u32, u32)> = (0..1000).map(|_| ("", 1, 0, 0)).collect();
        let s = b.composite(false, "s", 8, &members);
        let btf = Btf::parse(&b.blob()).unwrap();
        let t = std::time::Instant::now();
        assert_eq!(btf.member(s, "x"), Err(BtfError::Loop(s)));
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn random_corruption_never_panics() {
        let (b, task) = sample();
        let blob = b.blob();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut parsed = 0;
        for _ in 0..3000 {
            let mut m = blob.clone();
            for _ in 0..1 + rnd() % 4 {
                let i = (rnd() % m.len() as u64) as usize;
                m[i] = rnd() as u8;
            }
            let Ok(btf) = Btf::parse(&m) else { continue };
            parsed += 1;
            for id in 0..=btf.count() + 1 {
                let _ = btf.size_of(id);
                let _ = btf.members(id);
                let _ = btf.pointee(id);
                let _ = btf.array(id);
                let _ = btf.int(id);
            }
            for path in ["pid", "comm", "y", "nested.y", "real_parent.pid"] {
                let _ = btf.member(task, path);
                let _ = btf.member_offset("task_struct", path);
            }
        }
        assert!(
            parsed > 100,
            "mutations should mostly still parse: {parsed}"
        );
    }

    #[test]
    fn bad_strings_read_as_empty() {
        let mut b = Builder::new();
        let s = b.composite(false, "ok", 4, &[("m", 0, 0, 0)]);
        let mut blob = b.blob();
        // Point the member's name past the string section.
        let member_name = HEADER_LEN + 12;
        blob[member_name..member_name + 4].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        let btf = Btf::parse(&blob).unwrap();
        assert_eq!(btf.members(s).unwrap()[0].name, "");
        assert_eq!(btf.str_at(u32::MAX), None);
    }

    #[test]
    fn big_endian_blobs_parse() {
        let (b, task) = sample();
        let le = b.blob();
        // Byte-swap every u32 word of header (after magic/version/flags),
        // types; the magic as u16.
        let mut be = le.clone();
        be[0..2].copy_from_slice(&BTF_MAGIC.to_be_bytes());
        let words_end = HEADER_LEN + b.types.len();
        for w in (4..words_end).step_by(4) {
            be[w..w + 4].reverse();
        }
        let btf = Btf::parse(&be).unwrap();
        assert_eq!(btf.member_offset("task_struct", "tgid").unwrap(), 16);
        assert_eq!(btf.member(task, "more").unwrap().bitfield_size, 5);
    }
}
