//! Seeds of the `dwarf` target: a vmlinux-shaped ELF whose DWARF
//! describes `task_struct` (two `int` members), and hostile variants (a
//! member whose type refers to itself, a unit cut short).

use super::Seed;

// DWARF tags, attributes and forms used (DWARF 4).
const TAG_COMPILE_UNIT: u8 = 0x11;
const TAG_STRUCTURE: u8 = 0x13;
const TAG_MEMBER: u8 = 0x0d;
const TAG_BASE_TYPE: u8 = 0x24;
const AT_NAME: u8 = 0x03;
const AT_BYTE_SIZE: u8 = 0x0b;
const AT_TYPE: u8 = 0x49;
const AT_MEMBER_LOCATION: u8 = 0x38;
const AT_ENCODING: u8 = 0x3e;
const FORM_STRING: u8 = 0x08;
const FORM_DATA1: u8 = 0x0b;
const FORM_REF4: u8 = 0x13;
const ATE_SIGNED: u8 = 0x05;

/// `.debug_abbrev`: 1 the unit, 2 a structure, 3 a member, 4 a base type.
fn abbrevs() -> Vec<u8> {
    let mut a = vec![1, TAG_COMPILE_UNIT, 1, 0, 0];
    a.extend([
        2,
        TAG_STRUCTURE,
        1,
        AT_NAME,
        FORM_STRING,
        AT_BYTE_SIZE,
        FORM_DATA1,
        0,
        0,
    ]);
    a.extend([3, TAG_MEMBER, 0, AT_NAME, FORM_STRING, AT_TYPE, FORM_REF4]);
    a.extend([AT_MEMBER_LOCATION, FORM_DATA1, 0, 0]);
    a.extend([
        4,
        TAG_BASE_TYPE,
        0,
        AT_NAME,
        FORM_STRING,
        AT_BYTE_SIZE,
        FORM_DATA1,
    ]);
    a.extend([AT_ENCODING, FORM_DATA1, 0, 0, 0]);
    a
}

/// `.debug_info`: one unit; the members' type is the base type, or the
/// first member itself when `self_loop`.
fn info(self_loop: bool) -> Vec<u8> {
    // Unit header: length (patched), version 4, abbrev offset 0, 8-byte
    // addresses.
    let mut u = vec![0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 8];
    u.push(1);
    u.push(2);
    u.extend(b"task_struct\0");
    u.push(16);
    let member_at = u.len() as u32;
    let mut refs = Vec::new();
    for (name, off) in [(&b"pid\0"[..], 0u8), (&b"tgid\0"[..], 4)] {
        u.push(3);
        u.extend(name);
        refs.push(u.len());
        u.extend([0; 4]);
        u.push(off);
    }
    u.push(0);
    let base_at = u.len() as u32;
    u.push(4);
    u.extend(b"int\0");
    u.extend([4, ATE_SIGNED]);
    u.push(0);
    let target = if self_loop { member_at } else { base_at };
    for r in refs {
        u[r..r + 4].copy_from_slice(&target.to_le_bytes());
    }
    let len = (u.len() - 4) as u32;
    u[..4].copy_from_slice(&len.to_le_bytes());
    u
}

/// An ELF64 little-endian x86-64 file with these sections (no program
/// headers, no symbols: what the DWARF reader needs).
fn elf(sections: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut shstr = vec![0u8];
    let mut names = Vec::new();
    for (n, _) in sections {
        names.push(shstr.len() as u32);
        shstr.extend(n.as_bytes());
        shstr.push(0);
    }
    let shstr_name = shstr.len() as u32;
    shstr.extend(b".shstrtab\0");
    let mut body = vec![0u8; 64];
    let mut placed = Vec::new();
    for ((_, data), &name) in sections.iter().zip(&names) {
        placed.push((name, body.len() as u64, data.len() as u64));
        body.extend(data);
    }
    placed.push((shstr_name, body.len() as u64, shstr.len() as u64));
    body.extend(&shstr);
    while body.len() % 8 != 0 {
        body.push(0);
    }
    let shoff = body.len() as u64;
    body.extend([0u8; 64]);
    let count = placed.len();
    for (i, (name, off, size)) in placed.into_iter().enumerate() {
        let mut sh = [0u8; 64];
        sh[0..4].copy_from_slice(&name.to_le_bytes());
        // SHT_STRTAB for the last (the names), SHT_PROGBITS otherwise.
        let ty: u32 = if i + 1 == count { 3 } else { 1 };
        sh[4..8].copy_from_slice(&ty.to_le_bytes());
        sh[24..32].copy_from_slice(&off.to_le_bytes());
        sh[32..40].copy_from_slice(&size.to_le_bytes());
        sh[48..56].copy_from_slice(&1u64.to_le_bytes());
        body.extend(sh);
    }
    let h = &mut body[..64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1; // little endian
    h[6] = 1; // EV_CURRENT
    h[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
    h[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[40..48].copy_from_slice(&shoff.to_le_bytes());
    h[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    h[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    h[60..62].copy_from_slice(&((count + 1) as u16).to_le_bytes());
    h[62..64].copy_from_slice(&(count as u16).to_le_bytes()); // e_shstrndx
    body
}

/// The `dwarf` target's seeds.
pub(super) fn dwarf_seeds() -> Vec<Seed> {
    let good = info(false);
    let cut = good[..good.len() / 2].to_vec();
    vec![
        (
            "dwarf-task".into(),
            elf(&[(".debug_abbrev", abbrevs()), (".debug_info", good)]),
        ),
        (
            "dwarf-loop".into(),
            elf(&[(".debug_abbrev", abbrevs()), (".debug_info", info(true))]),
        ),
        (
            "dwarf-cut".into(),
            elf(&[(".debug_abbrev", abbrevs()), (".debug_info", cut)]),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_read_as_dwarf() {
        let seeds = dwarf_seeds();
        // The well-formed seed reaches the type reader: task_struct is
        // in the table it writes.
        let (isf, _) = vstrace_linux::profile::dwarf::isf_from_dwarf(&seeds[0].1).unwrap();
        assert!(isf["user_types"]["task_struct"]["fields"]["tgid"].is_object());
        for (_, s) in &seeds {
            crate::targets::dwarf(s);
        }
    }
}
