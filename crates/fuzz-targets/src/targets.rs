//! One function per fuzz target. Each takes the fuzzer's bytes, builds
//! hostile guest state from them (memory, registers, kernel images) and
//! drives a decoder through its public API. A target must return for
//! every input: a panic, a hang or an unbounded allocation is a bug in
//! the library it drives.

use std::sync::OnceLock;

use vstrace_core::cpu::SnapshotCpu;
use vstrace_core::mem::{translate, GuestVirt, PagingMode, VirtMem};
use vstrace_core::read;
use vstrace_core::testmem::FlatPhys;
use vstrace_core::{Bitness, Event, Mechanism, Regs};
use vstrace_engine::{Engine, EngineConfig, Format};
use vstrace_linux::profile::btf::Btf;
use vstrace_linux::profile::ksymtab::{self, Ksymtab};
use vstrace_linux::profile::{self as lprof, LinuxProfile, PerCpuMode, PerCpuSym, TaskLayout};
use vstrace_linux::{LinuxAbi, SyscallDesc};
use vstrace_windows::structs::{self as wstructs, LargeIntKind};
use vstrace_windows::{Arch, ObjectType, Prototype};

use crate::fuzzmem::FuzzMem;
use crate::input::Cursor;

/// A fuzz target: its name (the cargo-fuzz target and corpus directory)
/// and body.
pub struct Target {
    /// Name of the cargo-fuzz target and of its corpus directory.
    pub name: &'static str,
    /// Runs one input; a panic is a finding.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "read",
        run: read,
    },
    Target {
        name: "page_walk",
        run: page_walk,
    },
    Target {
        name: "linux_decode",
        run: linux_decode,
    },
    Target {
        name: "windows_decode",
        run: windows_decode,
    },
    Target {
        name: "linux_attribution",
        run: linux_attribution,
    },
    Target {
        name: "windows_attribution",
        run: windows_attribution,
    },
    Target {
        name: "windows_guest",
        run: crate::windows_guest::windows_guest,
    },
    Target {
        name: "btf",
        run: btf,
    },
    Target {
        name: "kernel_image",
        run: kernel_image,
    },
    Target {
        name: "engine",
        run: engine,
    },
    Target {
        name: "trace_file",
        run: trace_file,
    },
    Target {
        name: "replay",
        run: replay,
    },
    Target {
        name: "gdb_rsp",
        run: gdb_rsp,
    },
    Target {
        name: "linux_context",
        run: crate::context::linux_context,
    },
    Target {
        name: "linux_unwind",
        run: crate::unwind::linux_unwind,
    },
    Target {
        name: "linux_unwind32",
        run: crate::unwind::linux_unwind32,
    },
    Target {
        name: "isf",
        run: isf,
    },
    Target {
        name: "dwarf",
        run: dwarf,
    },
];

/// The target named `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

fn bitness(c: &mut Cursor<'_>) -> Bitness {
    if c.bool() {
        Bitness::B64
    } else {
        Bitness::B32
    }
}

/// Format: op `u8`, address `u64`, length `u32`, bitness, then memory.
pub fn read(data: &[u8]) {
    let mut c = Cursor::new(data);
    let op = c.u8();
    let va = c.u64();
    // Mostly short lengths; with the top bit, up to 2^25: past the
    // readers' 16 MiB cap, to check the cap.
    let l = c.u32();
    let len = if l & 0x8000_0000 != 0 {
        l & 0x01ff_ffff
    } else {
        l & 0xffff
    } as usize;
    let b = bitness(&mut c);
    let mut mem = FuzzMem::decode(&mut c);
    let m: &mut dyn VirtMem = &mut mem;
    match op % 10 {
        0 => drop(read::read_cstring(m, va, len)),
        1 => drop(read::read_utf16(m, va, len, len / 2 + 1)),
        2 => drop(read::read_unicode_string(m, va, b)),
        3 => drop(read::read_struct(m, va, len)),
        4 => drop(read::read_array_u64(m, va, len / 8)),
        5 => drop(read::read_array_u32(m, va, len / 4)),
        6 => drop(read::read_partial(m, va, len)),
        7 => drop(read::read_ptr(m, va, b)),
        8 => {
            if let Ok(us) = read::read_unicode_string(m, va, b) {
                let _ = us.is_hostile();
            }
        }
        _ => {
            if let Ok(s) = read::read_cstring(m, va, len.min(1 << 16)) {
                let _ = s.to_string_lossy();
            }
        }
    }
}

/// Most physical RAM a page-walk input provides.
const MAX_RAM: usize = 1 << 20;

/// Format: mode `u8`, cr3 `u64`, 4 × (va `u64`, len `u16`), control
/// registers for `PagingMode::from_regs`, then the physical RAM.
pub fn page_walk(data: &[u8]) {
    let mut c = Cursor::new(data);
    let mode = match c.u8() % 5 {
        0 => PagingMode::Legacy32,
        1 => PagingMode::Pae,
        3 => PagingMode::Long5,
        4 => PagingMode::Physical,
        _ => PagingMode::Long4,
    };
    let cr3 = c.u64();
    let accesses: Vec<(u64, usize)> = (0..4).map(|_| (c.u64(), c.u16() as usize)).collect();
    let (cr0, cr4, efer) = (c.u64(), c.u64(), c.u64());
    let _ = PagingMode::from_regs(cr0, cr4, efer);
    let ram = c.rest();
    let mut phys = FlatPhys {
        ram: ram[..ram.len().min(MAX_RAM)].to_vec(),
    };
    for &(va, len) in &accesses {
        if let Ok(t) = translate(&mut phys, mode, cr3, va) {
            assert!(t.page_size.is_power_of_two(), "{t:?}");
            assert_eq!(t.pa & (t.page_size - 1), va & (t.page_size - 1), "{t:?}");
        }
        let mut v = GuestVirt {
            phys: &mut phys,
            mode,
            cr3,
        };
        let mut buf = vec![0u8; len];
        if v.read_virt(va, &mut buf).is_ok() {
            // A successful read can be written back unchanged.
            v.write_virt(va, &buf).expect("write back what was read");
            let mut again = vec![0u8; len];
            v.read_virt(va, &mut again).expect("read again");
            assert_eq!(buf, again);
        }
    }
}

/// Largest string/buffer/array display limit the decoder targets use.
const MAX_SHOWN: usize = 4096;

fn linux_table(abi: LinuxAbi) -> &'static [&'static SyscallDesc] {
    static T64: OnceLock<Vec<&'static SyscallDesc>> = OnceLock::new();
    static T32: OnceLock<Vec<&'static SyscallDesc>> = OnceLock::new();
    let t = match abi {
        LinuxAbi::X86_64 => &T64,
        LinuxAbi::I386 => &T32,
    };
    t.get_or_init(|| vstrace_linux::all(abi).collect())
}

/// Index of the Linux call `name` in [`linux_table`] (for seeds).
pub fn linux_index(abi: LinuxAbi, name: &str) -> Option<u16> {
    linux_table(abi)
        .iter()
        .position(|d| d.name == name)
        .map(|i| i as u16)
}

/// Format: abi `u8`, call index `u16`, strsize `u16`, verbose, `-x` level
/// `u16`, `-X` style `u16`, 6 raw
/// arguments `u64`, return value `u64`, then memory.
pub fn linux_decode(data: &[u8]) {
    let _ = linux_decode_text(data);
}

/// [`linux_decode`], returning the call as strace would print it.
pub fn linux_decode_text(data: &[u8]) -> String {
    let mut c = Cursor::new(data);
    let abi = if c.bool() {
        LinuxAbi::I386
    } else {
        LinuxAbi::X86_64
    };
    let table = linux_table(abi);
    let desc = table[c.u16() as usize % table.len()];
    // Formatting cost grows with -s: past 4 KiB only the rate suffers.
    let opts = vstrace_linux::DecodeOptions {
        strsize: c.u16() as usize % (MAX_SHOWN + 1),
        verbose: c.bool(),
        strings_in_hex: c.u16() as u8 % 4,
        const_style: [
            vstrace_core::ConstStyle::Abbrev,
            vstrace_core::ConstStyle::Raw,
            vstrace_core::ConstStyle::Verbose,
        ][c.u16() as usize % 3],
        // (Not drawn from the input: the seeds' layout stays.)
        structs: true,
    };
    let raw: Vec<u64> = (0..6).map(|_| c.u64()).collect();
    let ret = c.u64() as i64;
    let mut mem = FuzzMem::decode(&mut c);
    let mut args = vstrace_linux::decode_enter(desc, abi, &raw, &mut mem, &opts);
    vstrace_linux::decode_exit(desc, abi, &raw, ret, &mut mem, &opts, &mut args);
    let mut r = vstrace_linux::format_return(desc, abi, ret);
    if let Some(d) = vstrace_linux::structs::return_detail(desc, abi, &raw, ret, &mut mem, &opts) {
        r.text = format!("{} ({d})", r.text);
    }
    let _ = vstrace_linux::structs::return_in_hex(desc, abi, &raw, ret);
    let text = vstrace_linux::format_call(desc, &args, Some(&r));
    for at in [None, Some(ret)] {
        let _ = vstrace_linux::structs::fcntl_struct(abi, raw[1], raw[2], &mut mem, &opts, at);
    }
    let _ = vstrace_linux::error_of(abi, ret);
    let _ = vstrace_linux::decode::wait_status(raw[0] as i32);
    let mut sa = vec![0u8; (raw[1] % 160) as usize];
    if mem.read_virt(raw[0], &mut sa).is_ok() {
        let _ = vstrace_linux::decode::format_sockaddr(&sa);
    }
    // Netlink messages at the buffer argument, by a protocol from the
    // fourth argument (the kernel's socket is not part of the input).
    use vstrace_linux::structs::netlink;
    if let Some((_, addr, len)) = netlink::sockbuf(desc.name, abi, &raw, Some(ret)) {
        let _ = netlink::decode(&mut mem, abi, &opts, raw[3] as u16 % 32, addr, len);
    }
    let _ = netlink::decode(&mut mem, abi, &opts, raw[3] as u16 % 32, raw[1], raw[2]);
    text
}

/// Index of the Windows prototype `name` (for seeds).
pub fn windows_index(name: &str) -> Option<u16> {
    vstrace_windows::prototypes()
        .iter()
        .position(|p| p.name == name)
        .map(|i| i as u16)
}

const OBJECT_TYPES: [ObjectType; 16] = [
    ObjectType::Any,
    ObjectType::File,
    ObjectType::Directory,
    ObjectType::Key,
    ObjectType::Process,
    ObjectType::Thread,
    ObjectType::Token,
    ObjectType::Section,
    ObjectType::Event,
    ObjectType::Mutant,
    ObjectType::Semaphore,
    ObjectType::Timer,
    ObjectType::SymbolicLink,
    ObjectType::Port,
    ObjectType::IoCompletion,
    ObjectType::Job,
];

/// Format: bitness, prototype index `u16`, max_string/max_bytes/max_array
/// `u16` each, status `u32`, service number `u32`, 17 raw arguments
/// `u64`, then memory.
pub fn windows_decode(data: &[u8]) {
    let mut c = Cursor::new(data);
    let b = bitness(&mut c);
    let protos: &[Prototype] = vstrace_windows::prototypes();
    let proto = &protos[c.u16() as usize % protos.len()];
    let limits = vstrace_windows::Limits {
        max_string: c.u16() as usize % (MAX_SHOWN + 1),
        max_bytes: c.u16() as usize % (MAX_SHOWN + 1),
        max_array: c.u16() as usize % (MAX_SHOWN + 1),
    };
    // The layer's decoders take the shared options (-s), the structure
    // renderers below the limits themselves.
    let opts = vstrace_windows::DecodeOptions {
        strsize: limits.max_string,
        ..Default::default()
    };
    let status = c.u32();
    let eax = c.u32();
    let raw: Vec<u64> = (0..17).map(|_| c.u64()).collect();
    let mut mem = FuzzMem::decode(&mut c);
    let mut args = vstrace_windows::decode_enter(proto, b, &raw, &mut mem, &opts);
    vstrace_windows::decode_exit(proto, b, &raw, status, &mut mem, &opts, &mut args);
    let _ = vstrace_windows::format_call(proto.name, &args, Some(status));
    let _ = vstrace_windows::format_status(status);
    let _ = vstrace_windows::access_mask_rights(
        raw[0] as u32,
        OBJECT_TYPES[raw[1] as usize % OBJECT_TYPES.len()],
    );
    // The structure readers on their own, at the first arguments.
    let m: &mut dyn VirtMem = &mut mem;
    let _ = wstructs::format_unicode_string(m, raw[0], b, &limits);
    let _ = wstructs::format_object_attributes(m, raw[1], b, &limits);
    let _ = wstructs::format_io_status_block(m, raw[2], b, None);
    let _ = wstructs::format_client_id(m, raw[3], b);
    let _ = wstructs::format_large_integer(m, raw[4], b, LargeIntKind::Timeout);
    let _ = wstructs::format_buffer(m, raw[5], raw[6], b, &limits);
    let _ = wstructs::format_handle_array(m, raw[7], raw[8], b, &limits);
    let _ = vstrace_windows::object_attributes_name(m, raw[1], b);
    for arch in [Arch::X64, Arch::X86] {
        let vs = vstrace_windows::versions(arch);
        if let Some(v) = vs.get(raw[9] as usize % vs.len().max(1)) {
            let _ = vstrace_windows::lookup(arch, v, eax);
        }
    }
}

/// A profile for an x86_64 kernel with this per-cpu `current_task`
/// offset and task layout.
pub(crate) fn x86_64_profile(current_task: u64, task: TaskLayout) -> LinuxProfile {
    LinuxProfile {
        version: lprof::PROFILE_VERSION,
        banner: None,
        current_task: PerCpuSym {
            name: "current_task".into(),
            offset: current_task,
        },
        init_task: 0xffff_ffff_8200_0000,
        per_cpu_offset: None,
        text_base: None,
        task,
        mm_pgd: None,
        pointer_size: 8,
        kernel_min: 0xffff_8000_0000_0000,
        percpu_mode: PerCpuMode::GsOffset,
        layout_source: "btf".into(),
        files: None,
        mm: None,
        pids: None,
        signal_probe: None,
    }
}

/// Format: 12 layout offsets `u16` and flags, per-cpu base `u64`, then
/// memory: a hostile task list (parents that loop, unmapped tasks).
pub fn linux_attribution(data: &[u8]) {
    let mut c = Cursor::new(data);
    let mut off = || c.u16() as u64;
    let (cur, pid, tgid, comm, comm_len, real_parent) = (off(), off(), off(), off(), off(), off());
    let (parent, leader, mm, flags, tasks, size) = (off(), off(), off(), off(), off(), off());
    let opt = c.u8();
    let pick = |bit: u8, v: u64| (opt & (1 << bit) != 0).then_some(v);
    let mut prof = x86_64_profile(
        cur,
        TaskLayout {
            size,
            pid,
            tgid,
            comm,
            comm_len,
            real_parent,
            parent: pick(0, parent),
            group_leader: pick(1, leader),
            mm: pick(2, mm),
            flags: pick(3, flags),
            tasks: pick(4, tasks),
            stime: None,
        },
    );
    if opt & 0x40 != 0 {
        // An i386 kernel: 4-byte pointers, kernel above 3 GiB, per-cpu
        // symbols at link addresses.
        prof.pointer_size = 4;
        prof.kernel_min = 0xc000_0000;
        prof.percpu_mode = PerCpuMode::Linked;
    }
    let base = c.u64() | 0xffff_8000_0000_0000;
    let mut regs = Regs {
        cs: c.u16(),
        gs_base: c.u64(),
        k_gs_base: c.u64(),
        ..Regs::default()
    };
    regs.gs_base |= (opt as u64 >> 5 & 1) << 63;
    let mut mem = FuzzMem::decode(&mut c);
    let _ = lprof::percpu_base(&regs);
    let _ = lprof::current_process(&mut mem, &prof, base);
    let _ = lprof::kaslr_slide(&mut mem, &prof, base);
    if let Ok(t) = lprof::current_task(&mut mem, &prof, base) {
        let _ = lprof::read_task(&mut mem, &prof, t);
    }
    let _ = LinuxProfile::from_json(&prof.to_json());
}

/// Format: profile index `u8`, KPCR `u64`, TEB `u64`, then memory. The
/// TEB value doubles as the current CR3 for the KVA-shadow search.
pub fn windows_attribution(data: &[u8]) {
    let mut c = Cursor::new(data);
    let profiles = vstrace_windows::profile::PROFILES;
    let p = &profiles[c.u8() as usize % profiles.len()];
    let (kpcr, teb) = (c.u64(), c.u64());
    let b = bitness(&mut c);
    let mut mem = FuzzMem::decode(&mut c);
    let _ = vstrace_windows::current_thread_info(&mut mem, p, kpcr);
    let _ = vstrace_windows::teb_client_id(&mut mem, teb, b);
    let mode = match p.bitness() {
        Bitness::B64 => vstrace_core::mem::PagingMode::Long4,
        Bitness::B32 => vstrace_core::mem::PagingMode::Pae,
    };
    let current = vstrace_core::Space { mode, root: teb };
    let _ =
        vstrace_windows::shadow::find_kernel_space(&mut mem, p, kpcr, current, Some(kpcr & 0xffff));
}

/// Member paths process attribution asks for, and some hostile ones.
const PATHS: &[&str] = &[
    "pid",
    "tgid",
    "comm",
    "real_parent",
    "parent",
    "flags",
    "tasks",
    "mm",
    "pgd",
    "current_task",
    "pcpu_hot.current_task",
    "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q",
    "",
    ".",
];

/// Format: a raw BTF blob (either byte order).
pub fn btf(data: &[u8]) {
    let Ok(btf) = Btf::parse(data) else { return };
    let n = btf.count();
    // Every query on the first and last types, and on ids past the end.
    let ids = (0..n.min(64) + 2).chain(n.saturating_sub(8)..n.saturating_add(2));
    for id in ids {
        let _ = btf.type_info(id);
        let _ = btf.name(id);
        let _ = btf.members(id);
        let _ = btf.array(id);
        let _ = btf.int(id);
        let _ = btf.resolve(id);
        let _ = btf.pointee(id);
        let _ = btf.size_of(id);
        for p in PATHS {
            let _ = btf.member(id, p);
        }
    }
    let _ = btf.str_at(u32::MAX);
    let _ = btf.pointer_size();
    for s in ["task_struct", "mm_struct", "pcpu_hot"] {
        let _ = btf.find_struct(s);
        let _ = btf.find_union(s);
        for p in PATHS {
            let _ = btf.member_offset(s, p);
        }
    }
    let mut syms = Ksymtab::default();
    syms.insert("init_task", 0xffff_ffff_8260_0000);
    syms.insert("current_task", 0x2_0000);
    syms.insert("pcpu_hot", 0x2_0000);
    let _ = LinuxProfile::from_parts(&btf, &syms);
}

/// Format: a vmlinux ELF image.
pub fn kernel_image(data: &[u8]) {
    let _ = LinuxProfile::from_vmlinux(data);
    if let Ok(k) = Ksymtab::from_elf(data) {
        let _ = (k.get("init_task"), k.is_percpu(0x1000), k.len());
    }
    let _ = ksymtab::banner(data);
}

/// Format: a Volatility 3 symbol table (ISF JSON), read as
/// `--linux-profile` and `--windows-profile` read it.
pub fn isf(data: &[u8]) {
    if let Ok(t) = vstrace_isf::Isf::parse(data, "fuzz.json") {
        let _ = vstrace_linux::profile::isf::from_isf(&t);
        let _ = (
            t.field_offset("task_struct", "thread.fsbase"),
            t.field_size("task_struct", "comm"),
            t.symbol("init_task"),
        );
    }
    let _ = vstrace_windows::isf::parse(data, "fuzz.json");
}

/// Format: an ELF file with DWARF debug info (a vmlinux built with
/// `-g`): the profile built from it, and the symbol table it writes read
/// back as the ISF reader reads a saved one.
pub fn dwarf(data: &[u8]) {
    if let Ok((t, _)) = vstrace_linux::profile::dwarf::isf_from_dwarf(data) {
        if let Ok(s) = serde_json::to_vec(&t) {
            isf(&s);
        }
    }
    let _ = vstrace_linux::profile::dwarf::profile_from_dwarf(data);
}

/// Engine configurations the engine target picks from.
fn engine_config(sel: u8, prof_off: u16) -> EngineConfig {
    let mut cfg = EngineConfig {
        output: Some("/dev/null".into()),
        format: if sel & 1 != 0 {
            Format::Json
        } else {
            Format::Text
        },
        summary: sel & 2 != 0,
        ..EngineConfig::default()
    };
    match (sel >> 2) % 8 {
        0 => {}
        1 => cfg.follow_exec = Some("/vstrace/cmd".into()),
        2 => {
            cfg.inject = vec![
                "openat:error=ENOENT:when=2".into(),
                "getpid:retval=4242".into(),
            ];
            cfg.rewrite_path = vec!["/etc/hostname=/etc/other".into()];
        }
        3 => cfg.trace = Some("%file,!close".into()),
        4 | 5 => {
            let o = prof_off as u64;
            let profile = x86_64_profile(
                o,
                TaskLayout {
                    size: 0x100,
                    pid: o & 0xff,
                    tgid: (o >> 8) & 0xff,
                    comm: 0x40,
                    comm_len: 16,
                    real_parent: 0x60,
                    parent: None,
                    group_leader: None,
                    mm: None,
                    flags: Some(0x10),
                    tasks: None,
                    stime: None,
                },
            );
            // A profile of numbers always stores; were it not, the
            // engine would run without attribution.
            let _ = vstrace_layers::set_linux_profile(&mut cfg, &profile);
            cfg.pids = vec![1, 100];
            cfg.comms = vec!["sh".into()];
            cfg.follow_forks = sel & 0x20 != 0;
        }
        6 => {
            cfg.os = "windows".into();
            cfg.windows_version = Some("win10-22h2".into());
        }
        _ => {
            cfg.os = "windows".into();
            cfg.windows_version = Some("win7-sp1".into());
            cfg.windows_kpcr32 = Some(0xffdf_f000);
        }
    }
    cfg
}

/// Most events in one engine input.
const MAX_EVENTS: usize = 256;

/// Sets register slot `i` (0..18 general registers, then segment and
/// control state) of `r`.
fn set_reg(r: &mut Regs, i: u8, v: u64) {
    match i % 27 {
        i @ 0..18 => r.gpr[i as usize] = v,
        18 => r.cs = v as u16,
        19 => r.ss = v as u16,
        20 => r.fs_base = v,
        21 => r.gs_base = v,
        22 => r.k_gs_base = v,
        23 => r.cr0 = v,
        24 => r.cr3 = v,
        25 => r.cr4 = v,
        _ => r.efer = v,
    }
}

/// Format: configuration `u8`, profile offsets `u16`, event count `u8`,
/// then per event: vcpu `u8`, mechanism `u8`, bitness, register change
/// count `u8` and (slot `u8`, value `u64`) changes applied to that
/// vCPU's previous registers; then the memory all events share.
pub fn engine(data: &[u8]) {
    let mut c = Cursor::new(data);
    let sel = c.u8();
    let prof_off = c.u16();
    let cfg = engine_config(sel, prof_off);
    let Ok(os) = vstrace_layers::layer(&cfg) else {
        return;
    };
    let Ok(engine) = Engine::new(cfg, os) else {
        return;
    };
    let n = (c.u8() as usize).min(MAX_EVENTS);
    let mut vcpu_regs: [Regs; 4] = Default::default();
    let mut events = Vec::with_capacity(n);
    for _ in 0..n {
        let vcpu = c.u8() % 4;
        let mech = Mechanism::ALL[c.u8() as usize % Mechanism::ALL.len()];
        let b = bitness(&mut c);
        let r = &mut vcpu_regs[vcpu as usize];
        for _ in 0..c.u8() % 8 {
            let (slot, v) = (c.u8(), c.u64());
            set_reg(r, slot, v);
        }
        events.push(Event::new(vcpu as u32, mech, b, r.clone()));
    }
    let mut mem = FuzzMem::decode(&mut c);
    for ev in &events {
        let mut cpu = SnapshotCpu {
            regs: ev.regs.clone(),
            mem: &mut mem,
        };
        engine.on_event(ev, &mut cpu);
    }
    let _ = engine.finish();
}

/// Format: a trace file (`vstrace run --record`), read with and without
/// checksum verification.
pub fn trace_file(data: &[u8]) {
    let _ = vstrace_tracefile::parse_trace_unchecked(data);
    let _ = vstrace_tracefile::parse_trace(data);
}

/// Format: a trace file, replayed through the engine it configures
/// (checksums ignored, output discarded).
pub fn replay(data: &[u8]) {
    let _ = vstrace_layers::fuzz_replay(data);
}

/// A gdb stub that answers every request with the fuzz input's bytes (in
/// chunks of varying size), then hangs up; what the client sends is
/// discarded.
struct ScriptedStub {
    data: Vec<u8>,
    pos: usize,
}

impl std::io::Read for ScriptedStub {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.data[self.pos..];
        // The byte at the cut decides the chunk size: packets split
        // anywhere, as a socket may deliver them.
        let want = rest.first().map_or(0, |&b| 1 + b as usize % 97);
        let n = want.min(rest.len()).min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl std::io::Write for ScriptedStub {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl vstrace_gdb::rsp::Conn for ScriptedStub {
    fn set_timeout(&self, _t: Option<std::time::Duration>) -> std::io::Result<()> {
        Ok(())
    }
}

/// The gdb remote-protocol client against a hostile stub: packet framing,
/// run-length and escape decoding, hex, stop replies, qSupported, the
/// target description XML (with includes), register and memory replies,
/// monitor output. Format: raw stub output.
pub fn gdb_rsp(data: &[u8]) {
    use vstrace_gdb::rsp::{decode_body, from_hex, Client, StopReply};
    let _ = decode_body(data);
    let _ = from_hex(data);
    let _ = StopReply::parse(data);
    let mut c = Client::new(Box::new(ScriptedStub {
        data: data.to_vec(),
        pos: 0,
    }));
    let _ = c.handshake();
    let _ = c.registers();
    let _ = c.stop_reason();
    let _ = c.read_all_registers();
    let mut buf = [0u8; 64];
    let _ = c.read_memory(0x1000, &mut buf);
    let _ = c.monitor("info registers");
}
