//! Seeds made of kernel images: BTF blobs (little- and big-endian, with a
//! type loop), ELF vmlinux files with the sections the profile reads, for
//! the BTF, kernel-image and attribution targets.

use super::*;

/// BTF with `task_struct` (at `k`'s offsets, `mm` in an anonymous
/// union), `mm_struct`, typedef and const chains.
pub(super) fn btf_blob(k: &Kernel, be: bool) -> Vec<u8> {
    let mut b = if be {
        BtfBuilder::big_endian()
    } else {
        BtfBuilder::new()
    };
    let int = b.int("int", 4, 32);
    let uint = b.int("unsigned int", 4, 32);
    let ch = b.int("char", 1, 8);
    let pid_t = b.typedef("pid_t", int);
    let cpid = b.konst(pid_t);
    let comm = b.array(ch, int, 16);
    // Forward reference: the pointer's target is the next-but-two id.
    let ts_ptr = b.ptr(b.next_id + 3);
    let mm_ptr = b.ptr(b.next_id + 1);
    let anon = b.composite(true, "", 8, &[("mm", mm_ptr, 0, 0)]);
    // Members at byte offsets, as bit offsets.
    let bits = |off: u64| (off * 8) as u32;
    let ts = b.composite(
        false,
        "task_struct",
        k.task_size as u32,
        &[
            ("flags", uint, bits(k.flags), 0),
            ("pid", cpid, bits(k.pid), 0),
            ("tgid", pid_t, bits(k.tgid), 0),
            ("real_parent", ts_ptr, bits(k.real_parent), 0),
            ("parent", ts_ptr, bits(k.parent), 0),
            ("", anon, bits(k.parent + 8), 0),
            ("comm", comm, bits(k.comm), 0),
        ],
    );
    let ulong = b.int("long unsigned int", 8, 64);
    let _mm = b.composite(false, "mm_struct", 128, &[("pgd", ulong, bits(0x50), 0)]);
    let _hot = b.composite(false, "pcpu_hot", 64, &[("current_task", ts_ptr, 0, 0)]);
    let _ = ts;
    b.blob()
}

/// BTF whose typedefs form a cycle and whose struct contains itself.
pub(super) fn btf_loop() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let a = b.typedef("a", 2);
    let _b2 = b.typedef("b", a);
    let s = b.next_id;
    b.composite(
        false,
        "task_struct",
        8,
        &[("pid", s, 0, 0), ("", s, 0, 0), ("comm", a, 0, 0)],
    );
    b.blob()
}

/// A minimal ELF64 image: `(name, type, addr, bytes)` sections.
fn elf(sections: &[(&str, u32, u64, Vec<u8>)]) -> Vec<u8> {
    let mut shstr = vec![0u8];
    let mut names = Vec::new();
    for (n, ..) in sections.iter() {
        names.push(shstr.len() as u32);
        shstr.extend_from_slice(n.as_bytes());
        shstr.push(0);
    }
    let shstr_name = shstr.len() as u32;
    shstr.extend_from_slice(b".shstrtab\0");
    let mut body = Vec::new();
    let mut offs = Vec::new();
    for (_, ty, _, data) in sections {
        offs.push(64 + body.len() as u64);
        if *ty != 8 {
            body.extend_from_slice(data);
        }
        body.resize(body.len().next_multiple_of(8), 0);
    }
    let shstr_off = 64 + body.len() as u64;
    body.extend_from_slice(&shstr);
    body.resize(body.len().next_multiple_of(8), 0);
    let shoff = 64 + body.len() as u64;
    let shnum = sections.len() as u16 + 2;
    let mut h = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&62u16.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&q(0xffff_ffff_8100_0000));
    h.extend_from_slice(&q(0));
    h.extend_from_slice(&q(shoff));
    h.extend_from_slice(&0u32.to_le_bytes());
    for v in [64u16, 56, 0, 64, shnum, shnum - 1] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    let mut out = h;
    out.extend_from_slice(&body);
    let sh = |out: &mut Vec<u8>, name: u32, ty: u32, addr: u64, off: u64, size: u64| {
        out.extend_from_slice(&name.to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&q(if addr != 0 { 3 } else { 0 }));
        out.extend_from_slice(&q(addr));
        out.extend_from_slice(&q(off));
        out.extend_from_slice(&q(size));
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&q(1));
        out.extend_from_slice(&q(0));
    };
    sh(&mut out, 0, 0, 0, 0, 0);
    for (i, (_, ty, addr, data)) in sections.iter().enumerate() {
        sh(&mut out, names[i], *ty, *addr, offs[i], data.len() as u64);
    }
    sh(&mut out, shstr_name, 3, 0, shstr_off, shstr.len() as u64);
    out
}

pub(super) fn kernel_image_seeds(k: &Kernel) -> Vec<Seed> {
    let tab = 0xffff_ffff_8280_0000u64;
    let strs = 0xffff_ffff_8290_0000u64;
    let names = b"init_task\0current_task\0__per_cpu_offset\0".to_vec();
    let syms = [
        (k.init_task, 0u64),
        (k.current_task, 10),
        (0xffff_ffff_8270_0000, 23),
    ];
    let mut prel = Vec::new();
    let mut abs24 = Vec::new();
    for (i, (v, n)) in syms.iter().enumerate() {
        let at = tab + 12 * i as u64;
        prel.extend_from_slice(&(v.wrapping_sub(at) as i32).to_le_bytes());
        prel.extend_from_slice(&((strs + n).wrapping_sub(at + 4) as i32).to_le_bytes());
        prel.extend_from_slice(&0i32.to_le_bytes());
        abs24.extend_from_slice(&cat(&[&q(*v), &q(strs + n), &q(0)]));
    }
    let mut out = Vec::new();
    for (tag, ksymtab) in [("prel32", prel), ("abs24", abs24)] {
        for (btag, be) in [("le", false), ("be", true)] {
            let img = elf(&[
                (".text", 1, 0xffff_ffff_8100_0000, vec![0x90; 16]),
                (
                    ".rodata",
                    1,
                    0xffff_ffff_8200_0000,
                    b"\0Linux version 6.1.0-fuzz (seed) #1 SMP\n\0".to_vec(),
                ),
                (".BTF", 1, 0, btf_blob(k, be)),
                ("__ksymtab", 1, tab, ksymtab.clone()),
                ("__ksymtab_strings", 1, strs, names.clone()),
                (".data..percpu", 8, 0, vec![0; 0x4_0000]),
            ]);
            out.push((format!("{tag}-{btag}"), img));
        }
    }
    out
}
