//! The Windows layer as `vstrace_layers::layer` builds it from a
//! configuration, driven through the engine on a synthetic x64 NtOpenFile
//! (Windows 10 22H2 numbers and offsets): decoded, attributed, and its
//! path rewritten through a copied OBJECT_ATTRIBUTES.

use vstrace_core::cpu::SnapshotCpu;
use vstrace_core::testmem::SparseVirt;
use vstrace_core::{Mechanism, Regs};
use vstrace_engine::{Engine, EngineConfig, Format};

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

#[test]
fn nt_open_file_decoded_attributed_and_rewritten() {
    let mut mem = SparseVirt::new();
    let (stack, oa, us, buf) = (
        0x7000_0000u64,
        0x5000_0000u64,
        0x5000_0100u64,
        0x5000_0200u64,
    );
    mem.map_zeroed(stack - 0x2000, 0x4000);
    mem.map_zeroed(oa, 0x1000);
    // OBJECT_ATTRIBUTES (64-bit): Length, RootDirectory, ObjectName, Attributes.
    let name = utf16("\\??\\C:\\x.txt");
    let mut o = vec![0u8; 48];
    o[0..4].copy_from_slice(&48u32.to_le_bytes());
    o[16..24].copy_from_slice(&us.to_le_bytes());
    o[24..28].copy_from_slice(&0x40u32.to_le_bytes());
    vstrace_core::VirtMem::write_virt(&mut mem, oa, &o).unwrap();
    let mut u = Vec::new();
    u.extend_from_slice(&(name.len() as u16).to_le_bytes());
    u.extend_from_slice(&(name.len() as u16).to_le_bytes());
    u.extend_from_slice(&[0; 4]);
    u.extend_from_slice(&buf.to_le_bytes());
    vstrace_core::VirtMem::write_virt(&mut mem, us, &u).unwrap();
    vstrace_core::VirtMem::write_virt(&mut mem, buf, &name).unwrap();
    // Stack args 5 and 6 (ShareAccess, OpenOptions) at rsp+0x28/0x30.
    vstrace_core::VirtMem::write_virt(&mut mem, stack + 0x28, &7u64.to_le_bytes()).unwrap();
    vstrace_core::VirtMem::write_virt(&mut mem, stack + 0x30, &0x20u64.to_le_bytes()).unwrap();
    // KPCR -> KTHREAD -> EPROCESS at the Win10 22H2 offsets.
    let (kpcr, thread, process) = (
        0xffff_f000_0000_0000u64,
        0xffff_f000_0001_0000u64,
        0xffff_f000_0002_0000u64,
    );
    mem.map_zeroed(kpcr, 0x1000);
    mem.map_zeroed(thread, 0x1000);
    mem.map_zeroed(process, 0x1000);
    let w =
        |m: &mut SparseVirt, a: u64, v: &[u8]| vstrace_core::VirtMem::write_virt(m, a, v).unwrap();
    w(&mut mem, kpcr + 0x188, &thread.to_le_bytes());
    w(&mut mem, thread + 0xb8, &process.to_le_bytes());
    w(&mut mem, thread + 0x478 + 8, &0x5678u64.to_le_bytes());
    w(&mut mem, process + 0x440, &0x1234u64.to_le_bytes());
    w(&mut mem, process + 0x540, &4u64.to_le_bytes());
    w(&mut mem, process + 0x5a8, b"vstrace-nt.exe\0");

    let out = std::env::temp_dir().join(format!("vstrace-win-{}.jsonl", std::process::id()));
    let cfg = EngineConfig {
        os: "windows".into(),
        windows_version: Some("win10-22h2".into()),
        output: Some(out.display().to_string()),
        format: Format::Json,
        rewrite_path: vec!["\\??\\C:\\x.txt=\\??\\C:\\y.txt".into()],
        ..Default::default()
    };
    let os = vstrace_layers::layer(&cfg).unwrap();
    let e = Engine::new(cfg, os).unwrap();
    let mut r = Regs {
        cs: 0x33,
        k_gs_base: kpcr,
        cr3: 0x1000,
        ..Default::default()
    };
    r.set(vstrace_core::Reg::Rax, 0x33); // NtOpenFile on 19045
    r.set(vstrace_core::Reg::R10, 0x5000_0800); // FileHandle (out)
    r.set(vstrace_core::Reg::Rcx, 0xdead); // clobbered by syscall
    r.set(vstrace_core::Reg::Rdx, 0x120089);
    r.set(vstrace_core::Reg::R8, oa);
    r.set(vstrace_core::Reg::R9, 0x5000_0900);
    r.set(vstrace_core::Reg::Rsp, stack);
    r.set(vstrace_core::Reg::Rip, 0x7ff0_0000);
    let ev = vstrace_core::Event::new(0, Mechanism::Syscall, vstrace_core::Bitness::B64, r.clone());
    let mut cpu = SnapshotCpu {
        regs: r,
        mem: &mut mem,
    };
    e.on_event(&ev, &mut cpu);
    let new_oa = cpu.regs.get(vstrace_core::Reg::R8);
    assert_ne!(new_oa, oa, "ObjectAttributes repointed to a copy");
    let mut x = Regs {
        cs: 0x10,
        cr3: 0x1000,
        ..Default::default()
    };
    x.set(vstrace_core::Reg::Rax, 0xc000_0034);
    x.set(vstrace_core::Reg::Rcx, 0x7ff0_0002);
    x.set(vstrace_core::Reg::Rsp, stack);
    let ev = vstrace_core::Event::new(0, Mechanism::Sysret, vstrace_core::Bitness::B64, x.clone());
    let mut cpu = SnapshotCpu {
        regs: x,
        mem: &mut mem,
    };
    e.on_event(&ev, &mut cpu);
    e.finish();
    let text = std::fs::read_to_string(&out).unwrap();
    let rec: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(rec["name"], "NtOpenFile");
    assert_eq!(rec["abi"], "nt64");
    assert_eq!(
        (
            rec["pid"].as_u64(),
            rec["tid"].as_u64(),
            rec["ppid"].as_u64()
        ),
        (Some(0x1234), Some(0x5678), Some(4))
    );
    assert_eq!(rec["comm"], "vstrace-nt.exe");
    let args = rec["args"].as_array().unwrap();
    let val = |i: usize| args[i]["text"].as_str().unwrap_or("").to_string();
    assert!(
        val(1).contains("FILE_READ_DATA") || val(1).contains("FILE_GENERIC_READ"),
        "{}",
        val(1)
    );
    let has = |i: usize, what: &str| {
        let v = val(i);
        assert!(v.contains(what), "argument {i} lacks {what:?}: {v}");
    };
    // The kernel sees the new name.
    has(2, "y.txt");
    // The 5th and 6th arguments, from the stack.
    has(4, "FILE_SHARE_READ");
    has(5, "FILE_SYNCHRONOUS_IO_NONALERT");
    assert_eq!(rec["errno"], "STATUS_OBJECT_NAME_NOT_FOUND");
    assert_eq!(
        rec["ret"], 0xc000_0034u64,
        "NTSTATUS as an unsigned 32-bit value"
    );
    let m = &rec["modifications"][0];
    assert_eq!(m["target"], "arg3");
    assert!(m["before_text"].as_str().unwrap().contains("x.txt"));
    let _ = std::fs::remove_file(&out);
}
