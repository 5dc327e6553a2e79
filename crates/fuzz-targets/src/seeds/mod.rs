//! Seed inputs for every target, built from structures as a real guest
//! lays them out (strings, sockaddrs, iovecs, argv arrays, stat buffers,
//! OBJECT_ATTRIBUTES, task lists, page tables, BTF, vmlinux sections),
//! plus hostile variants (loops, missing NULs, faults mid-structure).
//!
//! [`seeds`] needs nothing but this crate. [`trace_seeds`] turns a real
//! JSON Lines trace (`vstrace run --json`) into `linux_decode` inputs:
//! each record's raw arguments, return value and the strings it decoded
//! placed back at the addresses they were read from.
//! [`Kernel`] carries facts read from a real kernel image (task_struct
//! offsets, symbol addresses) into the attribution, BTF and image seeds.

use vstrace_core::mem::PagingMode;
use vstrace_core::testmem::{FlatPhys, PageSize, PageTableBuilder, PRESENT, USER, WRITABLE};
use vstrace_linux::profile::btf::build::Builder as BtfBuilder;
use vstrace_linux::profile::LinuxProfile;
use vstrace_linux::LinuxAbi;
use vstrace_windows::Arch;

use crate::fuzzmem::FuzzMem;
use crate::input::Encoder;
use crate::targets::{linux_index, windows_index};

mod dwarf;
mod kernel;
mod linux_decode;
use kernel::{btf_blob, btf_loop, kernel_image_seeds};
use linux_decode::{linux_decode_seeds, linux_input};

/// One seed: a file name and its bytes.
pub type Seed = (String, Vec<u8>);

/// Facts about the kernel the seeds imitate: by default the Debian 6.1
/// kernel vstrace's tests boot; [`Kernel::from_profile`] takes them from
/// a real image.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// Byte offset of `task_struct.pid`.
    pub pid: u64,
    /// Byte offset of `task_struct.tgid`.
    pub tgid: u64,
    /// Byte offset of `task_struct.comm`.
    pub comm: u64,
    /// Byte offset of `task_struct.real_parent`.
    pub real_parent: u64,
    /// Byte offset of `task_struct.parent`.
    pub parent: u64,
    /// Byte offset of `task_struct.flags`.
    pub flags: u64,
    /// Size of `task_struct` in bytes.
    pub task_size: u64,
    /// Per-cpu offset of the `current_task` variable.
    pub current_task: u64,
    /// Kernel virtual address of `init_task`.
    pub init_task: u64,
}

impl Default for Kernel {
    fn default() -> Self {
        Kernel {
            pid: 0x5d0,
            tgid: 0x5d4,
            comm: 0x7b8,
            real_parent: 0x5e0,
            parent: 0x5e8,
            flags: 0x2c,
            task_size: 0x2640,
            current_task: 0x32a40,
            init_task: 0xffff_ffff_82c1_4940,
        }
    }
}

impl Kernel {
    /// The facts of the kernel `p` was built from; the optional offsets it lacks keep the defaults.
    pub fn from_profile(p: &LinuxProfile) -> Kernel {
        let d = Kernel::default();
        Kernel {
            pid: p.task.pid,
            tgid: p.task.tgid,
            comm: p.task.comm,
            real_parent: p.task.real_parent,
            parent: p.task.parent.unwrap_or(d.parent),
            flags: p.task.flags.unwrap_or(d.flags),
            task_size: p.task.size,
            current_task: p.current_task.offset,
            init_task: p.init_task,
        }
    }
}

/// Seeds for target `name`.
pub fn seeds(name: &str, k: &Kernel) -> Vec<Seed> {
    match name {
        "read" => read_seeds(),
        "page_walk" => page_walk_seeds(),
        "linux_decode" => linux_decode_seeds(),
        "windows_decode" => windows_decode_seeds(),
        "linux_attribution" => linux_attribution_seeds(k),
        "windows_attribution" => windows_attribution_seeds(),
        "windows_guest" => crate::windows_guest::seeds(),
        "btf" => vec![
            ("btf-le".into(), btf_blob(k, false)),
            ("btf-be".into(), btf_blob(k, true)),
            ("btf-loop".into(), btf_loop()),
        ],
        "kernel_image" => kernel_image_seeds(k),
        "engine" => engine_seeds(),
        "trace_file" | "replay" => trace_file_seeds(),
        "gdb_rsp" => gdb_rsp_seeds(),
        "linux_context" => crate::context::linux_context_seeds(),
        "linux_unwind" => crate::unwind::linux_unwind_seeds(),
        "linux_unwind32" => crate::unwind::linux_unwind32_seeds(),
        "isf" => isf_seeds(),
        "dwarf" => dwarf::dwarf_seeds(),
        _ => Vec::new(),
    }
}

/// Symbol tables in the shapes dwarf2json (Linux) and pdbconv (Windows)
/// write, an anonymous member that contains itself, and a nested array.
fn isf_seeds() -> Vec<Seed> {
    let base = r#""base_types": {"pointer": {"size": 8, "kind": "int", "signed": false, "endian": "little"},
        "int": {"size": 4, "kind": "int", "signed": true, "endian": "little"},
        "char": {"size": 1, "kind": "char", "signed": true, "endian": "little"}}"#;
    let linux = format!(
        r#"{{"metadata": {{"format": "6.2.0"}}, {base}, "enums": {{}},
        "user_types": {{
          "task_struct": {{"kind": "struct", "size": 9280, "fields": {{
            "unnamed_field_0": {{"offset": 0, "type": {{"kind": "struct", "name": "unnamed_1"}}}},
            "pid": {{"offset": 1440, "type": {{"kind": "base", "name": "int"}}}},
            "tgid": {{"offset": 1444, "type": {{"kind": "base", "name": "int"}}}},
            "real_parent": {{"offset": 1456, "type": {{"kind": "pointer", "subtype": {{"kind": "struct", "name": "task_struct"}}}}}},
            "comm": {{"offset": 1848, "type": {{"kind": "array", "count": 16, "subtype": {{"kind": "base", "name": "char"}}}}}},
            "thread": {{"offset": 4096, "type": {{"kind": "struct", "name": "thread_struct"}}}}}}}},
          "unnamed_1": {{"kind": "struct", "size": 64, "fields": {{
            "flags": {{"offset": 44, "type": {{"kind": "base", "name": "int"}}}},
            "loop": {{"offset": 0, "type": {{"kind": "struct", "name": "unnamed_1"}}}}}}}},
          "thread_struct": {{"kind": "struct", "size": 64, "fields": {{
            "fsbase": {{"offset": 16, "type": {{"kind": "array", "count": 4, "subtype": {{"kind": "array", "count": 4, "subtype": {{"kind": "base", "name": "pointer"}}}}}}}}}}}},
          "pcpu_hot": {{"kind": "struct", "size": 64, "fields": {{
            "current_task": {{"offset": 0, "type": {{"kind": "base", "name": "pointer"}}}}}}}}}},
        "symbols": {{"init_task": {{"address": 18446744071602194752}}, "pcpu_hot": {{"address": 204800}}}}}}"#
    );
    let f = |n: &str, o: u64| {
        format!(r#""{n}": {{"offset": {o}, "type": {{"kind": "base", "name": "pointer"}}}}"#)
    };
    let windows = format!(
        r#"{{"metadata": {{"format": "6.2.0"}}, {base}, "enums": {{}},
        "user_types": {{
          "_KPCR": {{"kind": "struct", "size": 4096, "fields": {{{}}}}},
          "_KPRCB": {{"kind": "struct", "size": 4096, "fields": {{{}, {}}}}},
          "_KTHREAD": {{"kind": "struct", "size": 1072, "fields": {{{}}}}},
          "_KAPC_STATE": {{"kind": "struct", "size": 48, "fields": {{{}}}}},
          "_ETHREAD": {{"kind": "struct", "size": 2048, "fields": {{{}}}}},
          "_EPROCESS": {{"kind": "struct", "size": 2048, "fields": {{{}, {}, {}}}}}}},
        "symbols": {{"PsInitialSystemProcess": {{"address": 13616160}}}}}}"#,
        f("Prcb", 0x180),
        f("CurrentThread", 8),
        f("KernelDirectoryTableBase", 0x8e80),
        f("ApcState", 0x98),
        f("Process", 0x20),
        f("Cid", 0x478),
        f("UniqueProcessId", 0x440),
        f("InheritedFromUniqueProcessId", 0x540),
        f("ImageFileName", 0x5a8),
    );
    vec![
        ("isf-linux".into(), linux.into_bytes()),
        ("isf-windows".into(), windows.into_bytes()),
    ]
}

fn mem(e: &mut Encoder, regions: &[(u64, Vec<u8>)], fill: Option<&[u8]>) {
    FuzzMem::encode(e, regions, fill);
}

fn q(v: u64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// A UNICODE_STRING (64 or 32-bit) for `text` whose buffer is at `buf`.
fn unicode_string(text: &str, buf: u64, b64: bool) -> Vec<u8> {
    let n = (text.encode_utf16().count() * 2) as u16;
    let mut v = Vec::new();
    v.extend_from_slice(&n.to_le_bytes());
    v.extend_from_slice(&(n + 2).to_le_bytes());
    if b64 {
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(&buf.to_le_bytes());
    } else {
        v.extend_from_slice(&(buf as u32).to_le_bytes());
    }
    v
}

fn read_seeds() -> Vec<Seed> {
    let va = 0x7fff_0000_1000u64;
    let mut out = Vec::new();
    for op in 0..10u8 {
        for (tag, b64) in [("64", true), ("32", false)] {
            let us_va = if b64 { va } else { 0x1000 };
            let buf = us_va + 0x100;
            let regions = vec![
                (
                    us_va,
                    cat(&[
                        &unicode_string("\\??\\C:\\Windows", buf, b64),
                        b"/etc/passwd\0",
                    ]),
                ),
                (buf, utf16("\\??\\C:\\Windows")),
            ];
            let mut e = Encoder::new();
            e.u8(op).u64(us_va).u32(64).u8(b64 as u8);
            mem(&mut e, &regions, None);
            out.push((format!("op{op}-{tag}"), e.out));
        }
        // Every address readable, no NUL anywhere: bounded by the caps.
        let mut e = Encoder::new();
        e.u8(op).u64(0xffff_ffff_ffff_fff0).u32(0x8010_0000).u8(1);
        mem(&mut e, &[], Some(b"AB"));
        out.push((format!("op{op}-fill"), e.out));
    }
    out
}

fn page_walk_seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    let cases = [
        ("long4", PagingMode::Long4, 0x7fff_f000_0000u64),
        ("pae", PagingMode::Pae, 0xbfff_0000),
        ("legacy32", PagingMode::Legacy32, 0x0804_8000),
    ];
    for (tag, mode, va) in cases {
        let Ok(mut b) = PageTableBuilder::new(mode, FlatPhys::new(0x10000), 0x1000) else {
            continue;
        };
        let flags = PRESENT | WRITABLE | USER;
        let _ = b.map(va, 0x8000, PageSize::K4, flags);
        let _ = b.map(va + 0x1000, 0x9000, PageSize::K4, flags);
        let cr3 = b.cr3();
        let mut ram = b.phys.ram.clone();
        ram[0x8ff0..0x9010].copy_from_slice(&[0x5a; 0x20]);
        let mut e = Encoder::new();
        e.u8(match mode {
            PagingMode::Legacy32 => 0,
            PagingMode::Pae => 1,
            PagingMode::Long4 => 2,
            PagingMode::Long5 => 3,
            PagingMode::Physical => 4,
        })
        .u64(cr3);
        for (a, l) in [
            (va, 16u16),
            (va + 0xff0, 0x20),
            (va + 0x1ff8, 16),
            (va, 0x2000),
        ] {
            e.u64(a).u16(l);
        }
        e.u64(1 << 31).u64(1 << 5).u64(1 << 10);
        e.bytes(&ram);
        out.push((tag.to_string(), e.out));
    }
    // Long mode with a 1 GiB and a 2 MiB page, and a PML4 entry that
    // points back at the PML4 (a self-map).
    let mut ram = vec![0u8; 0x4000];
    ram[0..8].copy_from_slice(&(0x1000u64 | 7).to_le_bytes());
    ram[0x1000..0x1008].copy_from_slice(&(0x4000_0000u64 | 0x87).to_le_bytes());
    ram[0x1008..0x1010].copy_from_slice(&(0x2000u64 | 7).to_le_bytes());
    ram[0x2000..0x2008].copy_from_slice(&(0x20_0000u64 | 0x87).to_le_bytes());
    ram[0xff8..0x1000].copy_from_slice(&7u64.to_le_bytes());
    let mut e = Encoder::new();
    e.u8(2).u64(0);
    for (a, l) in [
        (0x1234u64, 8u16),
        (0x4000_1000, 8),
        (0xffff_ff80_0000_0000, 8),
        (0x3fff_fff8, 16),
    ] {
        e.u64(a).u16(l);
    }
    e.u64(0).u64(0).u64(0).bytes(&ram);
    out.push(("long4-large-selfmap".into(), e.out));
    out
}

/// Reads `"..."` string values (with C escapes) back into bytes; `None`
/// when the value is not a complete quoted string.
fn unquote(v: &str) -> Option<Vec<u8>> {
    let inner = v.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = Vec::new();
    let mut it = inner.bytes().peekable();
    while let Some(c) = it.next() {
        if c != b'\\' {
            out.push(c);
            continue;
        }
        match it.next()? {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'x' => {
                let h: String = [it.next()?, it.next()?]
                    .iter()
                    .map(|&b| b as char)
                    .collect();
                out.push(u8::from_str_radix(&h, 16).ok()?);
            }
            d @ b'0'..=b'7' => {
                let mut n = (d - b'0') as u32;
                while let Some(&c @ b'0'..=b'7') = it.peek() {
                    n = n * 8 + (c - b'0') as u32;
                    it.next();
                }
                out.push(n as u8);
            }
            c => out.push(c),
        }
    }
    Some(out)
}

/// `linux_decode` seeds from a real JSON Lines trace (`vstrace run
/// --json`): one per distinct call name (at most `per_name` each).
pub fn trace_seeds(trace: &str, per_name: usize) -> Vec<Seed> {
    let mut out = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for (n, line) in trace.lines().enumerate() {
        let Ok(r) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(name), Some(abi)) = (r["name"].as_str(), r["abi"].as_str()) else {
            continue;
        };
        let abi = if abi.contains("386") {
            LinuxAbi::I386
        } else {
            LinuxAbi::X86_64
        };
        let c = seen.entry(name.to_string()).or_default();
        if *c >= per_name {
            continue;
        }
        *c += 1;
        let mut raw = [0u64; 6];
        let mut regions = Vec::new();
        for (i, a) in r["args"]
            .as_array()
            .into_iter()
            .flatten()
            .take(6)
            .enumerate()
        {
            raw[i] = a["raw"].as_u64().unwrap_or(0);
            if let Some(mut s) = a["text"].as_str().and_then(unquote) {
                s.push(0);
                regions.push((raw[i], s));
            }
        }
        let ret = r["ret"].as_i64().unwrap_or(0);
        if let Some(s) = linux_input(abi, name, raw, ret, &regions, None) {
            out.push((format!("trace-{n}-{name}"), s));
        }
    }
    out
}

fn windows_decode_seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    for (b64, tag, base) in [
        (true, "x64", 0x7ff0_0000_0000u64),
        (false, "x86", 0x0040_0000),
    ] {
        // Every pointer argument: an OBJECT_ATTRIBUTES whose name is a
        // UNICODE_STRING, then its UTF-16 buffer.
        let region = |at: u64| -> Vec<u8> {
            let us = at + 0x40;
            let buf = at + 0x60;
            let mut v = if b64 {
                cat(&[
                    &48u32.to_le_bytes(),
                    &[0; 4],
                    &q(0),
                    &q(us),
                    &0x40u32.to_le_bytes(),
                ])
            } else {
                cat(&[
                    &24u32.to_le_bytes(),
                    &0u32.to_le_bytes(),
                    &(us as u32).to_le_bytes(),
                    &0x40u32.to_le_bytes(),
                ])
            };
            v.resize(0x40, 0);
            v.extend_from_slice(&unicode_string("\\??\\C:\\x.txt", buf, b64));
            v.resize(0x60, 0);
            v.extend_from_slice(&utf16("\\??\\C:\\x.txt"));
            v
        };
        for p in vstrace_windows::prototypes() {
            let Some(idx) = windows_index(p.name) else {
                continue;
            };
            let mut e = Encoder::new();
            e.u8(b64 as u8)
                .u16(idx)
                .u16(256)
                .u16(32)
                .u16(16)
                .u32(0)
                .u32(0);
            let raw: Vec<u64> = (0..17).map(|i| base + 0x1000 * i).collect();
            for r in &raw {
                e.u64(*r);
            }
            let regions: Vec<_> = raw.iter().map(|&a| (a, region(a))).collect();
            mem(&mut e, &regions, None);
            out.push((format!("{tag}-{}", p.name), e.out));
        }
    }
    out
}

fn linux_attribution_seeds(k: &Kernel) -> Vec<Seed> {
    let percpu = 0xffff_8880_7fc0_0000u64;
    let task = 0xffff_8880_0300_0000u64;
    let parent = 0xffff_8880_0310_0000u64;
    let init = k.init_task;
    let mut out = Vec::new();
    for (tag, parent_of_parent) in [("chain", init), ("loop", task)] {
        let mk = |pid: u32, comm: &[u8], rp: u64| {
            let mut t = vec![0u8; (k.comm.max(k.real_parent).max(k.tgid) + 24) as usize];
            t[k.pid as usize..][..4].copy_from_slice(&pid.to_le_bytes());
            t[k.tgid as usize..][..4].copy_from_slice(&pid.to_le_bytes());
            t[k.flags as usize..][..4].copy_from_slice(&0x40u32.to_le_bytes());
            t[k.comm as usize..][..comm.len()].copy_from_slice(comm);
            t[k.real_parent as usize..][..8].copy_from_slice(&rp.to_le_bytes());
            t
        };
        let regions = vec![
            (percpu + k.current_task, q(task)),
            (task, mk(97, b"smp_stress", parent)),
            (parent, mk(1, b"init", parent_of_parent)),
            (init, mk(0, b"swapper/0", init)),
        ];
        let mut e = Encoder::new();
        for v in [
            k.current_task,
            k.pid,
            k.tgid,
            k.comm,
            16,
            k.real_parent,
            k.parent,
            0,
            0,
            k.flags,
            0,
            k.task_size,
        ] {
            e.u16(v as u16);
        }
        e.u8(0x0f).u64(percpu).u16(0x33).u64(0).u64(percpu);
        mem(&mut e, &regions, None);
        out.push((tag.into(), e.out));
    }
    out
}

fn windows_attribution_seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    for (i, p) in vstrace_windows::profile::PROFILES.iter().enumerate() {
        let b64 = p.arch == Arch::X64;
        let (kpcr, thread, process, teb) = if b64 {
            (
                0xffff_f780_0000_0000u64,
                0xffff_a000_0000_1000u64,
                0xffff_a000_0010_0000u64,
                0x0000_00a0_0000_0000u64,
            )
        } else {
            (0xffdf_f000, 0x8500_1000, 0x8510_0000, 0x7ffd_f000)
        };
        let w = |v: u64| {
            if b64 {
                q(v)
            } else {
                (v as u32).to_le_bytes().to_vec()
            }
        };
        let ps = if b64 { 8 } else { 4 };
        let regions = vec![
            (kpcr + p.kpcr_current_thread, w(thread)),
            (thread + p.kthread_process, w(process)),
            (thread + p.ethread_cid, cat(&[&w(0x444), &w(0x555)])),
            (process + p.eprocess_unique_process_id, w(0x444)),
            (
                process + p.eprocess_inherited_from_unique_process_id,
                w(0x4),
            ),
            (
                process + p.eprocess_image_file_name,
                b"notepad.exe\0\0\0\0".to_vec(),
            ),
            (
                teb + if b64 { 0x40 } else { 0x20 },
                cat(&[&w(0x444), &w(0x555)]),
            ),
        ];
        let _ = ps;
        let mut e = Encoder::new();
        e.u8(i as u8).u64(kpcr).u64(teb).u8(b64 as u8);
        mem(&mut e, &regions, None);
        out.push((p.name.replace(' ', "_"), e.out));
    }
    out
}

/// An `engine` input: config, then events as register changes.
struct Events {
    e: Encoder,
    n: u8,
    body: Encoder,
}

impl Events {
    fn new(cfg: u8) -> Events {
        let mut e = Encoder::new();
        e.u8(cfg).u16(0x100);
        Events {
            e,
            n: 0,
            body: Encoder::new(),
        }
    }
    /// One event on `vcpu` with register slot changes.
    fn ev(&mut self, vcpu: u8, mech: u8, b64: bool, regs: &[(u8, u64)]) -> &mut Self {
        self.n += 1;
        self.body
            .u8(vcpu)
            .u8(mech)
            .u8(b64 as u8)
            .u8(regs.len() as u8);
        for &(s, v) in regs {
            self.body.u8(s).u64(v);
        }
        self
    }
    fn finish(mut self, regions: &[(u64, Vec<u8>)]) -> Vec<u8> {
        self.e.u8(self.n).bytes(&self.body.out);
        mem(&mut self.e, regions, None);
        self.e.out
    }
}

// Register slots (see targets::set_reg).
const RAX: u8 = 0;
const RCX: u8 = 2;
const RDX: u8 = 3;
const RSI: u8 = 4;
const RDI: u8 = 5;
const RSP: u8 = 7;
const R10: u8 = 10;
const RIP: u8 = 16;
const CS: u8 = 18;
const KGS: u8 = 22;
const CR3: u8 = 24;
const EFER: u8 = 26;
const SYSCALL: u8 = 0;
const SYSRET: u8 = 4;
const IRET: u8 = 6;

fn engine_seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    let ip = 0x40_1000u64;
    let sp = 0x7fff_f000u64;
    let path = 0x60_0000u64;
    let kstack = 0x7fff_8000u64;
    let user = |nr: u64, cr3: u64| {
        vec![
            (RAX, nr),
            (RIP, ip),
            (RSP, sp),
            (CS, 0x33),
            (CR3, cr3),
            (EFER, 1 << 10),
            (KGS, 0xffff_8880_7fc0_0000),
        ]
    };
    let sysret =
        |rax: u64, cr3: u64| vec![(RAX, rax), (RCX, ip + 2), (RSP, sp), (CS, 0x10), (CR3, cr3)];
    let iret_frame = cat(&[&q(ip + 2), &q(0x33), &q(0x202), &q(sp), &q(0x2b)]);
    let regions = vec![
        (path, b"/etc/hostname\0/vstrace/cmd\0/bin/sh\0".to_vec()),
        (path + 0x100, cat(&[&q(path + 14), &q(0)])),
        (kstack, iret_frame),
    ];
    for cfg in [0u8, 1, 4, 5, 8, 9, 12, 16, 17, 20, 21, 0x35] {
        let mut ev = Events::new(cfg);
        let mut openat = user(257, 0x1000);
        openat.extend([(RDI, (-100i64) as u64), (RSI, path), (RDX, 0), (R10, 0)]);
        ev.ev(0, SYSCALL, true, &openat)
            .ev(0, SYSRET, true, &sysret(3, 0x1000));
        // getpid twice on two vCPUs, returns crossed.
        ev.ev(1, SYSCALL, true, &user(39, 0x1000));
        ev.ev(0, SYSCALL, true, &[(RAX, 39), (RSP, sp - 0x100)]);
        ev.ev(1, SYSRET, true, &sysret(5, 0x1000));
        ev.ev(0, SYSRET, true, &[(RAX, 5), (RSP, sp - 0x100)]);
        // execve of the launcher, return through iret with zeroed regs.
        let mut exec = user(59, 0x1000);
        exec.extend([(RDI, path + 27), (RSI, path + 0x100), (RDX, 0)]);
        ev.ev(0, SYSCALL, true, &exec);
        ev.ev(
            0,
            IRET,
            true,
            &[
                (RAX, 0),
                (RSP, kstack),
                (CS, 0x10),
                (CR3, 0x2000),
                (RDI, 0),
                (RSI, 0),
            ],
        );
        // clone, parent and child returns.
        let mut clone = user(56, 0x2000);
        clone.push((RDI, 0x1200011));
        ev.ev(0, SYSCALL, true, &clone)
            .ev(0, SYSRET, true, &sysret(99, 0x2000));
        ev.ev(
            1,
            IRET,
            true,
            &[(RAX, 0), (RSP, kstack), (CS, 0x10), (CR3, 0x3000)],
        );
        ev.ev(
            1,
            IRET,
            true,
            &[(RAX, 0), (RSP, kstack), (CS, 0x10), (CR3, 0x3000)],
        );
        ev.ev(0, SYSCALL, true, &user(231, 0x3000));
        out.push((format!("linux-cfg{cfg}"), ev.finish(&regions)));
    }
    // Windows x64: NtClose-shaped calls (whatever the service number).
    for cfg in [24u8, 25, 28, 29] {
        let mut ev = Events::new(cfg);
        for nr in [0xfu64, 0x55, 0x1055] {
            let mut call = user(nr, 0x5000);
            call.push((R10, 0x44));
            ev.ev(0, SYSCALL, true, &call)
                .ev(0, SYSRET, true, &sysret(0, 0x5000));
        }
        // 32-bit sysenter / int 0x2e.
        ev.ev(
            2,
            1,
            false,
            &[(RAX, 0x32), (RDX, sp), (RSP, sp), (CS, 0x1b), (CR3, 0x6000)],
        );
        ev.ev(2, 3, false, &[(RAX, 0x32), (RDX, sp)]);
        out.push((format!("windows-cfg{cfg}"), ev.finish(&regions)));
    }
    out
}

/// Trace files: an openat with the path read from memory, a getpid,
/// each with its return, for a Linux and a Windows configuration.
fn trace_file_seeds() -> Vec<Seed> {
    use vstrace_core::{Bitness, Event, Mechanism, Reg, Regs};
    use vstrace_tracefile::{Access, TraceWriter};
    let mut out = Vec::new();
    for (tag, os) in [("linux", "linux"), ("windows", "windows")] {
        let cfg = vstrace_engine::EngineConfig {
            os: os.into(),
            format: vstrace_engine::Format::Json,
            ..Default::default()
        };
        let Ok(json) = serde_json::to_vec(&cfg) else {
            continue;
        };
        let Ok(mut w) = TraceWriter::new(Vec::new(), &json) else {
            continue;
        };
        let mut regs = Regs {
            cs: 0x33,
            cr3: 0x1000,
            efer: 1 << 10,
            ..Regs::default()
        };
        regs.set(Reg::Rsp, 0x7fff_f000);
        regs.set(Reg::Rip, 0x40_1000);
        let mut ts = 0;
        for (nr, path) in [(257u64, true), (39, false)] {
            regs.set(Reg::Rax, nr);
            regs.set(Reg::Rdi, (-100i64) as u64);
            regs.set(Reg::Rsi, 0x60_0000);
            let enter = Event::new(0, Mechanism::Syscall, Bitness::B64, regs.clone());
            let acc = if path {
                vec![Access::Read {
                    space: None,
                    addr: 0x60_0000,
                    len: 12,
                    result: Ok(b"/etc/passwd\0".to_vec()),
                }]
            } else {
                Vec::new()
            };
            ts += 100;
            let _ = w.event(ts, &enter, &acc);
            let mut r = Regs {
                cs: 0x10,
                cr3: 0x1000,
                ..Regs::default()
            };
            r.set(Reg::Rax, 3);
            r.set(Reg::Rcx, 0x40_1002);
            r.set(Reg::Rsp, 0x7fff_f000);
            ts += 100;
            let _ = w.event(ts, &Event::new(0, Mechanism::Sysret, Bitness::B64, r), &[]);
        }
        let _ = w.end(ts + 1);
        out.push((tag.to_string(), w.into_inner()));
    }
    out
}

/// Kernel facts from a real vmlinux ELF, if it parses.
pub fn kernel_from_vmlinux(elf: &[u8]) -> Option<Kernel> {
    LinuxProfile::from_vmlinux(elf)
        .ok()
        .map(|p| Kernel::from_profile(&p))
}

/// A gdb stub's side of a session as QEMU would answer the client's
/// requests in order (handshake, target description, stop reason,
/// registers, memory, monitor), with run-length encoding and escapes.
fn gdb_rsp_seeds() -> Vec<Seed> {
    fn pkt(body: &str) -> String {
        let sum = body.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        format!("+${body}#{sum:02x}")
    }
    let xml = r#"l<?xml version="1.0"?><target><architecture>i386:x86-64</architecture><xi:include href="64bit-core.xml"/></target>"#;
    let core = r#"l<feature name="org.gnu.gdb.i386.core"><reg name="rax" bitsize="64" regnum="0"/><reg name="rip" bitsize="64"/><reg name="eflags" bitsize="32"/><reg name="cs" bitsize="32"/></feature>"#;
    let session = [
        pkt("PacketSize=1000;qXfer:features:read+;QStartNoAckMode+"),
        pkt("OK"),
        pkt(xml),
        pkt(core),
        pkt("T05thread:p01.01;"),
        pkt("0000000000000000* 0000"),
        pkt("00112233445566778899aabbccddeeff"),
        pkt("O696e666f0a"),
        pkt("OK"),
    ]
    .concat();
    vec![
        ("qemu-session".into(), session.into_bytes()),
        ("bad-checksum".into(), b"+$OK#00$E01#a6".to_vec()),
        ("escaped".into(), pkt("}\x03}\x5d").into_bytes()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_reads_c_escapes() {
        assert_eq!(unquote(r#""a\n\x41\0\\\"""#).unwrap(), b"a\nA\0\\\"");
        assert_eq!(unquote(r#""abc"..."#), None);
    }

    #[test]
    fn btf_seed_gives_a_profile_with_the_seed_offsets() {
        let k = Kernel::default();
        let img = &kernel_image_seeds(&k)[0].1;
        let p = LinuxProfile::from_vmlinux(img).unwrap();
        assert_eq!(
            (p.task.pid, p.task.tgid, p.task.comm),
            (k.pid, k.tgid, k.comm)
        );
        assert_eq!(
            (p.current_task.offset, p.init_task),
            (k.current_task, k.init_task)
        );
        assert_eq!(p.task.real_parent, k.real_parent);
        let be = &kernel_image_seeds(&k)[1].1;
        assert_eq!(LinuxProfile::from_vmlinux(be).unwrap().task.pid, k.pid);
    }
}
