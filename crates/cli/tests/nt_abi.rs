//! The Windows path end to end on the NT-ABI test guest (guests/nt-abi):
//! a bare-metal kernel, built here with nasm, that speaks the Windows x64
//! (syscall / sysretq, Windows 10 22H2 numbers and layouts) or x86
//! (sysenter / sysexit and int 0x2e / iretd, Windows 7 SP1) system call
//! ABI. It is booted under QEMU TCG with the plugin by `vstrace run`.
//!
//! The guest's kernel prints what it received for each call ("K" lines:
//! the values it read from registers and the user stack) and the user
//! program prints what it got back ("U" lines). The tests check vstrace's
//! records against both: names from the right build's table, every
//! decoded argument (5th and later from the stack), the kernel-set
//! NTSTATUS and out values, the KPCR-walk attribution, the seed's hook
//! data, and modifications (ObjectName rewrite, injected NTSTATUS) as the
//! guest itself observed them.

mod common;
use common::*;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Flavour {
    X64,
    /// x64 with KVA shadow: user code runs on a user CR3 that maps the
    /// KPCR's shadow page but not KTHREAD/EPROCESS.
    X64Shadow,
    X86,
}

impl Flavour {
    fn file(self) -> &'static str {
        match self {
            Flavour::X64 => "nt-abi-x64.bin",
            Flavour::X64Shadow => "nt-abi-x64-shadow.bin",
            Flavour::X86 => "nt-abi-x86.bin",
        }
    }
    fn version(self) -> &'static str {
        match self {
            Flavour::X64 | Flavour::X64Shadow => "win10-22h2",
            Flavour::X86 => "win7-sp1",
        }
    }
    fn abi(self) -> &'static str {
        match self {
            Flavour::X64 | Flavour::X64Shadow => "nt64",
            Flavour::X86 => "nt32",
        }
    }
    /// (pid, tid, ppid) the guest's kernel put in EPROCESS / ETHREAD.Cid.
    fn ids(self) -> (u64, u64, u64) {
        match self {
            Flavour::X64 | Flavour::X64Shadow => (0x7a8, 0x7ac, 0x2c4),
            Flavour::X86 => (0x9c4, 0x9c8, 0x1f4),
        }
    }
    /// NtCurrentProcess() at the ABI's width.
    fn current_process(self) -> u64 {
        match self {
            Flavour::X64 | Flavour::X64Shadow => u64::MAX,
            Flavour::X86 => 0xffff_ffff,
        }
    }
}

/// Both images, built once per test binary by guests/nt-abi/build.sh.
fn guest(f: Flavour) -> PathBuf {
    nt_abi_image(f.file())
}

fn hook_plugin() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_vstrace"));
    let p = bin.parent().unwrap().join("libvstrace_example_hooks.so");
    assert!(
        p.is_file(),
        "build the workspace first: {} missing",
        p.display()
    );
    p
}

/// Boots one flavour with `extra` options; returns the run and its records.
fn boot(f: Flavour, name: &str, extra: &[&str]) -> (Output, Vec<Value>) {
    let trace = trace_path(&format!("nt-{name}-{f:?}"));
    let image = guest(f);
    let out = vstrace()
        .args(["run", "--os", "windows", "--windows-version", f.version()])
        .arg("--kernel")
        .arg(&image)
        .args(["--timeout", "60", "--json", "-o"])
        .arg(&trace)
        .args(extra)
        .output()
        .expect("vstrace runs");
    if std::env::var_os("VSTRACE_TEST_VERBOSE").is_some() {
        eprintln!("stdout:\n{}\nstderr:\n{}", stdout(&out), stderr(&out));
    }
    assert!(
        out.status.success(),
        "{f:?}: vstrace failed ({:?}):\n{}\n{}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    let recs = records(&trace);
    let _ = std::fs::remove_file(&trace);
    (out, recs)
}

/// The guest's report lines starting with `prefix` ("K" or "U") for `call`,
/// as key=value maps (a trailing "-> STATUS" becomes key "->").
fn lines(out: &Output, prefix: &str, call: &str) -> Vec<HashMap<String, String>> {
    stdout(out)
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{prefix} {call} ")))
        .map(|rest| {
            let mut m = HashMap::new();
            let mut words = rest.split(' ').peekable();
            while let Some(w) = words.next() {
                if w == "->" {
                    if let Some(v) = words.peek() {
                        m.insert("->".to_string(), v.to_string());
                    }
                } else if let Some((k, v)) = w.split_once('=') {
                    m.insert(k.to_string(), v.to_string());
                }
            }
            m
        })
        .collect()
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16)
        .unwrap_or_else(|e| panic!("{s:?} is not hex: {e}"))
}

fn raw(r: &Value, i: usize) -> u64 {
    r["args"][i]["raw"].as_u64().unwrap_or(u64::MAX)
}

/// The records of the program's calls, without its NtDisplayString reports.
fn calls(recs: &[Value]) -> Vec<&Value> {
    find(recs, |r| name(r) != "NtDisplayString")
}

/// Every call: right name, ABI, mechanism, attribution, decoded arguments,
/// the kernel's view of the raw arguments and the user's view of the
/// return values.
fn check_trace(f: Flavour) -> (Output, Vec<Value>) {
    let (out, recs) = boot(f, "trace", &[]);
    let c = calls(&recs);
    let names: Vec<&str> = c.iter().map(|r| name(r)).collect();
    assert_eq!(
        names,
        [
            "NtOpenFile",
            "NtOpenFile",
            "NtCreateFile",
            "NtWriteFile",
            "NtOpenKey",
            "NtQueryValueKey",
            "NtAllocateVirtualMemory",
            "NtClose",
            "NtClose",
            "NtTerminateProcess"
        ],
        "{f:?}"
    );
    // Mechanism per call: x64 always syscall; the x86 stubs use sysenter,
    // except the registry calls and NtClose (int 0x2e).
    for r in &c {
        let want = match (f, name(r)) {
            (Flavour::X64 | Flavour::X64Shadow, _) => "syscall",
            (Flavour::X86, "NtOpenKey" | "NtQueryValueKey" | "NtClose") => "int2e",
            (Flavour::X86, _) => "sysenter",
        };
        assert_eq!(r["mechanism"], want, "{f:?} {}", name(r));
    }
    // Every record, the reports included: the build's ABI and the process
    // the guest laid out in KPCR -> KTHREAD -> EPROCESS.
    let (pid, tid, ppid) = f.ids();
    for r in &recs {
        assert_eq!(r["abi"], f.abi(), "{r}");
        assert_eq!(r["os"], "windows");
        assert_eq!(
            (r["pid"].as_u64(), r["tid"].as_u64(), r["ppid"].as_u64()),
            (Some(pid), Some(tid), Some(ppid)),
            "{f:?} {}",
            name(r)
        );
        assert_eq!(r["comm"], "ntabi-test.exe");
    }
    // The program's U lines, one per call but the last, in call order:
    // each NTSTATUS the user code got is the record's return value.
    let reports = find(&recs, |r| name(r) == "NtDisplayString");
    assert_eq!(reports.len(), c.len() - 1);
    for (r, rep) in c.iter().zip(&reports) {
        let text = arg(rep, 0);
        let status = text
            .split("status=")
            .nth(1)
            .and_then(|s| s.split([' ', '"']).next())
            .unwrap_or_else(|| panic!("no status in {text}"));
        assert_eq!(r["ret"].as_u64(), Some(hex(status)), "{f:?} {}", name(r));
        assert_eq!(r["state"], "complete");
    }
    assert!(text_has(&out, "U NtClose status=0xc0000008"));

    // NtOpenFile of a missing file: all six arguments (5 and 6 from the
    // stack on x64), the error set by the kernel, out values untouched.
    let k = lines(&out, "K", "NtOpenFile");
    assert_eq!(k.len(), 2);
    let open = c[0];
    assert_eq!(arg(open, 1), "FILE_GENERIC_READ");
    assert_eq!(
        arg(open, 2),
        r#"{ObjectName=L"\\??\\C:\\vstrace\\missing.txt", Attributes=OBJ_CASE_INSENSITIVE}"#
    );
    assert_eq!(arg(open, 4), "FILE_SHARE_READ|FILE_SHARE_WRITE");
    assert_eq!(
        arg(open, 5),
        "FILE_SYNCHRONOUS_IO_NONALERT|FILE_NON_DIRECTORY_FILE"
    );
    assert_eq!(k[0]["name"], r"\??\C:\vstrace\missing.txt");
    for (key, i) in [("access", 1), ("share", 4), ("options", 5)] {
        assert_eq!(raw(open, i), hex(&k[0][key]), "{f:?} NtOpenFile {key}");
    }
    assert_eq!(open["ret"], 0xc000_0034u64);
    assert_eq!(open["errno"], "STATUS_OBJECT_NAME_NOT_FOUND");
    assert_eq!(open["ret_text"], "0xc0000034 STATUS_OBJECT_NAME_NOT_FOUND");
    // NtOpenFile of the file that exists: the handle and IO_STATUS_BLOCK
    // the kernel wrote, decoded at exit.
    let open = c[1];
    assert_eq!(k[1]["name"], r"\??\C:\vstrace\hello.txt");
    assert_eq!(arg(open, 0), "[0x44]");
    assert_eq!(
        arg(open, 3),
        "{Status=0 STATUS_SUCCESS, Information=FILE_OPENED}"
    );
    assert_eq!(arg(open, 4), "FILE_SHARE_READ");
    assert_eq!(open["ret"], 0);
    assert!(open.get("errno").is_none_or(Value::is_null));

    // NtCreateFile: 11 arguments, 7 of them from the stack on x64.
    let create = c[2];
    let k = &lines(&out, "K", "NtCreateFile")[0];
    assert_eq!(create["args"].as_array().unwrap().len(), 11);
    assert_eq!(arg(create, 0), "[0x48]");
    assert_eq!(arg(create, 1), "SYNCHRONIZE|GENERIC_WRITE");
    assert!(arg(create, 2).contains(r#"L"\\??\\C:\\vstrace\\log.txt""#));
    assert_eq!(
        arg(create, 3),
        "{Status=0 STATUS_SUCCESS, Information=FILE_CREATED}"
    );
    assert_eq!(arg(create, 4), "[4096]");
    assert_eq!(arg(create, 5), "FILE_ATTRIBUTE_NORMAL");
    assert_eq!(arg(create, 6), "FILE_SHARE_READ");
    assert_eq!(arg(create, 7), "FILE_OVERWRITE_IF");
    assert_eq!(
        arg(create, 8),
        "FILE_SYNCHRONOUS_IO_NONALERT|FILE_NON_DIRECTORY_FILE"
    );
    assert_eq!(arg(create, 9), "NULL");
    assert_eq!(arg(create, 10), "0");
    for (key, i) in [
        ("access", 1),
        ("attributes", 5),
        ("share", 6),
        ("disposition", 7),
        ("options", 8),
        ("ea", 9),
        ("ealength", 10),
    ] {
        assert_eq!(raw(create, i), hex(&k[key]), "{f:?} NtCreateFile {key}");
    }
    assert_eq!(hex(&k["allocation"]), 4096);

    // NtWriteFile: the buffer, its length (arg 7) and the IO_STATUS_BLOCK.
    let write = c[3];
    let k = &lines(&out, "K", "NtWriteFile")[0];
    assert_eq!(arg(write, 0), "0x48");
    assert_eq!(arg(write, 5), "\"hello from the NT-ABI test guest\"");
    assert_eq!(arg(write, 6), "32");
    assert_eq!(arg(write, 7), "[0]");
    assert_eq!(arg(write, 4), "{Status=0 STATUS_SUCCESS, Information=32}");
    assert_eq!(raw(write, 0), hex(&k["handle"]));
    assert_eq!(raw(write, 6), hex(&k["length"]));

    // The registry calls.
    let key = c[4];
    assert_eq!(arg(key, 0), "[0x4c]");
    assert_eq!(arg(key, 1), "KEY_READ");
    assert!(arg(key, 2).contains(r#"L"\\Registry\\Machine\\Software\\vstrace""#));
    let query = c[5];
    let k = &lines(&out, "K", "NtQueryValueKey")[0];
    assert_eq!(arg(query, 0), "0x4c");
    assert_eq!(arg(query, 1), "L\"Greeting\"");
    assert_eq!(arg(query, 2), "KeyValuePartialInformation");
    assert_eq!(arg(query, 4), "64");
    assert_eq!(arg(query, 5), "[18]");
    for (k2, i) in [("handle", 0), ("class", 2), ("length", 4)] {
        assert_eq!(raw(query, i), hex(&k[k2]), "{f:?} NtQueryValueKey {k2}");
    }

    // NtAllocateVirtualMemory: in/out pointers before and after the call.
    let alloc = c[6];
    let k = &lines(&out, "K", "NtAllocateVirtualMemory")[0];
    assert_eq!(arg(alloc, 0), "NtCurrentProcess()");
    assert_eq!(raw(alloc, 0), f.current_process());
    assert_eq!(arg(alloc, 1), "[NULL] => [0x500000]");
    assert_eq!(arg(alloc, 3), "[6144] => [8192]");
    assert_eq!(arg(alloc, 4), "MEM_COMMIT|MEM_RESERVE");
    assert_eq!(arg(alloc, 5), "PAGE_READWRITE");
    for (k2, i) in [("process", 0), ("zerobits", 2), ("type", 4), ("protect", 5)] {
        assert_eq!(
            raw(alloc, i),
            hex(&k[k2]),
            "{f:?} NtAllocateVirtualMemory {k2}"
        );
    }

    // NtClose of a good and of a bogus handle.
    assert_eq!(
        (arg(c[7], 0).as_str(), c[7]["ret"].as_u64()),
        ("0x48", Some(0))
    );
    assert_eq!(arg(c[8], 0), "0x1234");
    assert_eq!(c[8]["ret"], 0xc000_0008u64);
    assert_eq!(c[8]["errno"], "STATUS_INVALID_HANDLE");

    // NtTerminateProcess on the current process never returns (the guest
    // powered off in it): recorded at enter as such.
    let term = c[9];
    assert_eq!(arg(term, 0), "NtCurrentProcess()");
    assert_eq!(term["state"], "no_return");
    assert_eq!(lines(&out, "K", "NtTerminateProcess")[0]["status"], "0x0");
    (out, recs)
}

fn text_has(out: &Output, s: &str) -> bool {
    stdout(out).contains(s)
}

#[test]
fn x64_calls_decoded_attributed_and_returned() {
    check_trace(Flavour::X64);
}

#[test]
fn x86_calls_decoded_attributed_and_returned() {
    check_trace(Flavour::X86);
}

/// KVA shadow: every trap sees the user CR3, which maps the KPCR's shadow
/// page but not KTHREAD or EPROCESS (the guest checks this at boot). The
/// full check above still passes, attribution included: it is read in the
/// kernel space named by KPRCB.KernelDirectoryTableBase (KPCR+0x9000).
#[test]
fn x64_kva_shadow_attributed_through_the_kernel_space() {
    let (out, recs) = check_trace(Flavour::X64Shadow);
    assert!(
        stderr(&out).contains("KVA shadow: kernel CR3 0x180000 from KPCR+0x9000"),
        "{}",
        stderr(&out)
    );
    // The traps ran on the guest's user CR3, not the kernel's.
    assert!(recs.iter().all(|r| r["cr3"] == 0x186000), "{:?}", recs[0]);
}

/// A recording of the shadowed guest holds the reads made in the kernel
/// space: the replay attributes every call as the live run did.
#[test]
fn x64_kva_shadow_recording_replays_identically() {
    let f = Flavour::X64Shadow;
    let rec = recording_path("nt-shadow");
    let live = trace_path("nt-shadow-live");
    let out = vstrace()
        .args(["run", "--os", "windows", "--windows-version", f.version()])
        .arg("--kernel")
        .arg(guest(f))
        .args(["--timeout", "60", "--json", "-o"])
        .arg(&live)
        .arg("--record")
        .arg(&rec)
        .output()
        .expect("vstrace runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&live);
    assert_eq!(recs.len(), 19);
    assert!(recs.iter().all(|r| r["pid"] == 0x7a8));
    let replay = replay(&rec, &[]);
    assert!(replay.status.success(), "{}", stderr(&replay));
    assert!(
        replay.stdout == std::fs::read(&live).unwrap(),
        "replay differs:\n{}",
        stdout(&replay)
    );
    let _ = std::fs::remove_file(&rec);
    let _ = std::fs::remove_file(&live);
}

/// The seed's hook (vstrace-windows::hooks::file_open, in the example
/// plugin): `{object_name, access}` on NtOpenFile / NtCreateFile only.
fn check_hook(f: Flavour) {
    let plugin = hook_plugin();
    let (_, recs) = boot(f, "hook", &["--plugin", plugin.to_str().unwrap()]);
    let hooked: Vec<(&str, &Value)> = recs
        .iter()
        .filter(|r| r.get("hook").is_some_and(|h| !h.is_null()))
        .map(|r| (name(r), &r["hook"]))
        .collect();
    assert_eq!(
        hooked,
        [
            (
                "NtOpenFile",
                &serde_json::json!({"object_name": r"\??\C:\vstrace\missing.txt", "access": ["FILE_GENERIC_READ"]})
            ),
            (
                "NtOpenFile",
                &serde_json::json!({"object_name": r"\??\C:\vstrace\hello.txt", "access": ["FILE_GENERIC_READ"]})
            ),
            (
                "NtCreateFile",
                &serde_json::json!({"object_name": r"\??\C:\vstrace\log.txt", "access": ["SYNCHRONIZE", "GENERIC_WRITE"]})
            ),
        ],
        "{f:?}"
    );
}

#[test]
fn x64_seed_hook_object_name_and_access() {
    check_hook(Flavour::X64);
}

#[test]
fn x86_seed_hook_object_name_and_access() {
    check_hook(Flavour::X86);
}

/// `--rewrite-path` on an ObjectName and `--inject` of NTSTATUS values,
/// as the guest's kernel and user program saw them.
fn check_modify(f: Flavour) {
    let (out, recs) = boot(
        f,
        "modify",
        &[
            r"--rewrite-path=\??\C:\vstrace\missing.txt=\??\C:\vstrace\hello.txt",
            "--inject=NtOpenFile:error=STATUS_ACCESS_DENIED:when=2",
            "--inject=NtClose:retval=0:when=2",
        ],
    );
    // The kernel opened hello.txt for the first call (the file the program
    // asked for is missing), so the program got a handle back.
    let k = lines(&out, "K", "NtOpenFile");
    assert_eq!(k.len(), 1, "the second NtOpenFile never reached the kernel");
    assert_eq!(k[0]["name"], r"\??\C:\vstrace\hello.txt");
    assert_eq!(k[0]["share"], "0x3", "it is the program's first call");
    let u = lines(&out, "U", "NtOpenFile");
    assert_eq!(
        (u[0]["status"].as_str(), u[0]["handle"].as_str()),
        ("0x0", "0x44")
    );
    // The second NtOpenFile was skipped (service 0xfff) and its status
    // replaced: the program saw STATUS_ACCESS_DENIED.
    assert!(
        text_has(&out, "K service 0xfff -> 0xc000001c"),
        "{}",
        stdout(&out)
    );
    assert_eq!(u[1]["status"], "0xc0000022");
    // The bogus NtClose reported success to the program.
    let u = lines(&out, "U", "NtClose");
    assert_eq!(u.len(), 2);
    assert_eq!(
        (u[0]["status"].as_str(), u[1]["status"].as_str()),
        ("0x0", "0x0")
    );
    assert_eq!(lines(&out, "K", "NtClose").len(), 1);

    // The records show the calls as the kernel saw them, with the changes.
    let opens = find(&recs, |r| name(r) == "NtOpenFile");
    assert!(
        arg(opens[0], 2).contains("hello.txt"),
        "{}",
        arg(opens[0], 2)
    );
    assert_eq!(opens[0]["ret"], 0);
    let m = &opens[0]["modifications"][0];
    assert_eq!(m["target"], "arg3");
    assert_eq!(
        m["before_text"],
        r#"ObjectName="\\??\\C:\\vstrace\\missing.txt""#
    );
    assert_eq!(
        m["after_text"],
        r#"ObjectName="\\??\\C:\\vstrace\\hello.txt""#
    );
    assert_eq!(opens[1]["ret"], 0xc000_0022u64);
    assert_eq!(opens[1]["errno"], "STATUS_ACCESS_DENIED");
    let mods = opens[1]["modifications"].as_array().unwrap();
    assert!(mods
        .iter()
        .any(|m| m["target"] == "retval" && m["after"] == 0xc000_0022u64));
    let closes = find(&recs, |r| name(r) == "NtClose");
    assert_eq!(closes[1]["ret"], 0);
}

#[test]
fn x64_rewritten_object_name_and_injected_status_seen_by_the_guest() {
    check_modify(Flavour::X64);
}

#[test]
fn x86_rewritten_object_name_and_injected_status_seen_by_the_guest() {
    check_modify(Flavour::X86);
}

/// The CLI refuses what a multiboot guest cannot take, and a Linux kernel
/// with --os windows, with clear errors.
#[test]
fn multiboot_guest_rejects_commands_and_windows_needs_it() {
    let image = guest(Flavour::X64);
    let out = vstrace()
        .args(["run", "--os", "windows", "--kernel"])
        .arg(&image)
        .args(["--", "ls"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("multiboot kernel that runs its own program"),
        "{}",
        stderr(&out)
    );
    let linux = tmp().join("not-multiboot.bin");
    std::fs::write(&linux, vec![0u8; 8192]).unwrap();
    let out = vstrace()
        .args(["run", "--os", "windows", "--kernel"])
        .arg(&linux)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not a multiboot kernel"),
        "{}",
        stderr(&out)
    );
    // An unknown version is refused before anything boots.
    let out = vstrace()
        .args([
            "run",
            "--os",
            "windows",
            "--windows-version",
            "win95",
            "--kernel",
        ])
        .arg(&image)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("win95"), "{}", stderr(&out));
}

/// `-p` and `--comm` select Windows processes by what the KPCR walk reads.
#[test]
fn process_filters_use_the_kpcr_walk() {
    let f = Flavour::X86;
    let (pid, _, _) = f.ids();
    let (_, by_comm) = boot(f, "comm", &["--comm", "ntabi-test.exe"]);
    let (_, by_pid) = boot(f, "pid", &["-p", &pid.to_string()]);
    let (_, other) = boot(f, "other", &["--comm", "notepad.exe"]);
    assert_eq!(by_comm.len(), 19, "every call of the program");
    assert_eq!(by_pid.len(), 19);
    assert!(other.is_empty(), "{other:?}");
}

/// Without `--windows-version` the version comes from the guest's
/// KUSER_SHARED_DATA (the test guest fills in NT 10.0 build 19045 on x64,
/// NT 6.1 on x86): the same calls are named as with the flag.
#[test]
fn version_detected_from_kuser_shared_data() {
    for f in [Flavour::X64, Flavour::X86] {
        let (_, explicit) = boot(f, "explicit", &[]);
        let trace = trace_path(&format!("nt-auto-{f:?}"));
        let out = vstrace()
            .args(["run", "--os", "windows", "--kernel"])
            .arg(guest(f))
            .args(["--timeout", "60", "--json", "-o"])
            .arg(&trace)
            .output()
            .expect("vstrace runs");
        assert!(out.status.success(), "{f:?}: {}", stderr(&out));
        let auto = records(&trace);
        let names = |v: &[Value]| v.iter().map(|r| name(r).to_string()).collect::<Vec<_>>();
        assert!(!auto.is_empty());
        assert_eq!(names(&auto), names(&explicit), "{f:?}");
        assert!(auto.iter().all(|r| !name(r).starts_with("NtService_")));
    }
}
