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
use std::process::{Command, Output};

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Flavour {
    X64,
    /// x64 with KVA shadow: user code runs on a user CR3 that maps the
    /// KPCR's shadow page but not KTHREAD/EPROCESS.
    X64Shadow,
    X86,
    /// NT 10.0 build 29999 (no table knows it), service numbers of no
    /// real build, the second offset layout: x64 and x86.
    X64Unknown,
    X86Unknown,
    /// The x64 one under KVA shadow.
    X64ShadowUnknown,
    /// The same with the first layout (Windows 10 22H2 / 7 SP1 offsets).
    X64UnknownA,
    X86UnknownA,
    /// Claims build 19045 (Windows 10 22H2) in KUSER_SHARED_DATA, but its
    /// ntdll's service numbers are not that build's.
    X64Mismatch,
    /// The unknown builds (second layout) with KPCR.IdtBase naming an
    /// empty table: the kernel image is found from the system call path.
    X64NoIdt,
    X86NoIdt,
    /// The unknown builds with a win32u.dll whose win32k stubs the
    /// program calls.
    X64Win32u,
    X86Win32u,
}

impl Flavour {
    fn file(self) -> &'static str {
        match self {
            Flavour::X64 => "nt-abi-x64.bin",
            Flavour::X64Shadow => "nt-abi-x64-shadow.bin",
            Flavour::X86 => "nt-abi-x86.bin",
            Flavour::X64Unknown => "nt-abi-x64-unknown.bin",
            Flavour::X86Unknown => "nt-abi-x86-unknown.bin",
            Flavour::X64UnknownA => "nt-abi-x64-unknown-a.bin",
            Flavour::X64ShadowUnknown => "nt-abi-x64-shadow-unknown.bin",
            Flavour::X86UnknownA => "nt-abi-x86-unknown-a.bin",
            Flavour::X64Mismatch => "nt-abi-x64-mismatch.bin",
            Flavour::X64NoIdt => "nt-abi-x64-unknown-noidt.bin",
            Flavour::X86NoIdt => "nt-abi-x86-unknown-noidt.bin",
            Flavour::X64Win32u => "nt-abi-x64-win32u.bin",
            Flavour::X86Win32u => "nt-abi-x86-win32u.bin",
        }
    }
    fn is_x64(self) -> bool {
        !matches!(
            self,
            Flavour::X86
                | Flavour::X86Unknown
                | Flavour::X86UnknownA
                | Flavour::X86NoIdt
                | Flavour::X86Win32u
        )
    }
    /// `--windows-version` for the run ("": none, the guest is read).
    fn version(self) -> &'static str {
        match self {
            Flavour::X64 | Flavour::X64Shadow => "win10-22h2",
            Flavour::X86 => "win7-sp1",
            _ => "",
        }
    }
    fn abi(self) -> &'static str {
        if self.is_x64() {
            "nt64"
        } else {
            "nt32"
        }
    }
    /// (pid, tid, ppid) the guest's kernel put in EPROCESS / ETHREAD.Cid.
    fn ids(self) -> (u64, u64, u64) {
        if self.is_x64() {
            (0x7a8, 0x7ac, 0x2c4)
        } else {
            (0x9c4, 0x9c8, 0x1f4)
        }
    }
    /// NtCurrentProcess() at the ABI's width.
    fn current_process(self) -> u64 {
        if self.is_x64() {
            u64::MAX
        } else {
            0xffff_ffff
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

/// Boots one flavour with `extra` options (no `--windows-version` for
/// the flavours read from the guest); returns the run and its records.
fn boot(f: Flavour, name: &str, extra: &[&str]) -> (Output, Vec<Value>) {
    let trace = trace_path(&format!("nt-{name}-{f:?}"));
    let image = guest(f);
    let mut cmd = vstrace();
    cmd.args(["run", "--os", "windows"]);
    if !f.version().is_empty() {
        cmd.args(["--windows-version", f.version()]);
    }
    let out = cmd
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
    check_run(f, "trace", &[])
}

/// [`check_trace`] of a run with `extra` options.
fn check_run(f: Flavour, run: &str, extra: &[&str]) -> (Output, Vec<Value>) {
    let (out, recs) = boot(f, run, extra);
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
            (f, _) if f.is_x64() => "syscall",
            (_, "NtOpenKey" | "NtQueryValueKey" | "NtClose") => "int2e",
            (_, _) => "sysenter",
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

/// What the layer said it read from the guest: `n` ntdll service numbers
/// and the offsets of the guest's layout (its pid offset `pid_off`), with
/// no warning.
fn assert_learned(out: &Output, f: Flavour, pid_off: u64) {
    let err = stderr(out);
    assert!(
        err.contains("9 service numbers from its ntdll"),
        "{f:?}: {err}"
    );
    assert!(
        err.contains("offsets from its accessors")
            && err.contains(&format!("pid {pid_off:#x},"))
            && err.contains("checked on 3 processes from PsInitialSystemProcess"),
        "{f:?}: {err}"
    );
    assert!(!err.contains("warning"), "{f:?}: {err}");
}

/// An unknown build (NT 10.0.29999, service numbers of no real build) in
/// the second offset layout, x64 and x86, with no --windows-version and
/// no profile: every call named from the guest's ntdll, every record
/// attributed (pid, tid, ppid, image name) with offsets from its
/// kernel's accessors.
#[test]
fn unknown_build_second_layout_named_and_attributed_from_the_guest() {
    for (f, pid_off) in [(Flavour::X64Unknown, 0x1d0), (Flavour::X86Unknown, 0x80)] {
        let (out, _) = check_trace(f);
        assert_learned(&out, f, pid_off);
    }
}

/// The x64 one under KVA shadow: the KPCR's first page, KTHREAD and
/// EPROCESS are not in the user CR3; the kernel is read in the space the
/// KPCR's shadow page names, found with no profile.
#[test]
fn unknown_build_under_kva_shadow_named_and_attributed_from_the_guest() {
    let f = Flavour::X64ShadowUnknown;
    let (out, _) = check_trace(f);
    assert_learned(&out, f, 0x1d0);
    assert!(
        stderr(&out).contains("processes are read in the kernel's space"),
        "{}",
        stderr(&out)
    );
}

/// The same guest in the first layout (Windows 10 22H2 / 7 SP1 offsets).
#[test]
fn unknown_build_first_layout_named_and_attributed_from_the_guest() {
    for (f, pid_off) in [(Flavour::X64UnknownA, 0x440), (Flavour::X86UnknownA, 0xb4)] {
        let (out, _) = check_trace(f);
        assert_learned(&out, f, pid_off);
    }
}

/// A Volatility 3 symbol table (ISF) for the test guest's kernel, as
/// Volatility's pdbconv writes one (only the types attribution reads;
/// KTHREAD.ApcState inside an anonymous union as in Windows 10's PDB).
fn isf(x64: bool, layout_b: bool, system_rva: u64) -> Value {
    // (Prcb, CurrentThread, ApcState, Process, Cid, pid, ppid, image)
    let o: [u64; 8] = match (x64, layout_b) {
        (true, true) => [0x180, 0x38, 0x90, 0x08, 0x5e0, 0x1d0, 0x3e8, 0x6a0],
        (true, false) => [0x180, 0x08, 0x98, 0x20, 0x478, 0x440, 0x540, 0x5a8],
        (false, true) => [0x120, 0x0c, 0x40, 0x04, 0x2e8, 0x80, 0x1f0, 0x2c4],
        (false, false) => [0x120, 0x04, 0x40, 0x10, 0x22c, 0xb4, 0x140, 0x16c],
    };
    let f = |name: &str, off: u64, ty: &str| {
        (
            name.to_string(),
            serde_json::json!({"offset": off, "type": {"kind": "struct", "name": ty}}),
        )
    };
    let ty = |fields: Vec<(String, Value)>| {
        let m: serde_json::Map<String, Value> = fields.into_iter().collect();
        serde_json::json!({"kind": "struct", "size": 0x1000, "fields": m})
    };
    let prcb = if x64 { "Prcb" } else { "PrcbData" };
    let psz = if x64 { 8 } else { 4 };
    serde_json::json!({
        "metadata": {
            "format": "6.2.0",
            "producer": {"name": "vstrace nt_abi test", "version": "1"},
            "windows": {"pdb": {"database": "ntabi.pdb", "machine_type": if x64 { 34404 } else { 332 }}}
        },
        "base_types": {"pointer": {"kind": "int", "size": psz, "signed": false, "endian": "little"}},
        "user_types": {
            "_KPCR": ty(vec![f(prcb, o[0], "_KPRCB")]),
            "_KPRCB": ty(vec![f("CurrentThread", o[1], "pointer")]),
            "_KTHREAD": ty(vec![f("u1", o[2], "unnamed_0x10")]),
            "unnamed_0x10": ty(vec![f("ApcState", 0, "_KAPC_STATE")]),
            "_KAPC_STATE": ty(vec![f("Process", o[3], "pointer")]),
            "_ETHREAD": ty(vec![f("Cid", o[4], "_CLIENT_ID")]),
            "_EPROCESS": ty(vec![
                f("UniqueProcessId", o[5], "pointer"),
                f("InheritedFromUniqueProcessId", o[6], "pointer"),
                f("ImageFileName", o[7], "array"),
            ]),
        },
        "enums": {},
        "symbols": {"PsInitialSystemProcess": {"address": system_rva}}
    })
}

/// The RVA of export `name` in the kernel image of `image` (a flat
/// multiboot file whose first byte is the PE image's first byte).
fn export_rva(image: &Path, name: &str) -> u64 {
    let f = std::fs::read(image).unwrap();
    let u32_at = |o: usize| u32::from_le_bytes(f[o..o + 4].try_into().unwrap()) as usize;
    let nt = u32_at(0x3c);
    let pe64 = f[nt + 24] == 0x0b && f[nt + 25] == 0x02;
    let exp = u32_at(nt + 24 + if pe64 { 112 } else { 96 });
    let (n, funcs, names, ords) = (
        u32_at(exp + 24),
        u32_at(exp + 28),
        u32_at(exp + 32),
        u32_at(exp + 36),
    );
    for i in 0..n {
        let s = u32_at(names + 4 * i);
        if f[s..].starts_with(name.as_bytes()) && f[s + name.len()] == 0 {
            let ord = u16::from_le_bytes([f[ords + 2 * i], f[ords + 2 * i + 1]]) as usize;
            return u32_at(funcs + 4 * ord) as u64;
        }
    }
    panic!("{name} not exported by {}", image.display())
}

/// Writes `isf` to a file, compressed with `tool` (xz, gzip) if given.
fn isf_file(name: &str, isf: &Value, tool: Option<&str>) -> PathBuf {
    let p = tmp().join(format!("nt-isf-{}-{name}.json", std::process::id()));
    std::fs::write(&p, serde_json::to_vec(isf).unwrap()).unwrap();
    let Some(tool) = tool else { return p };
    let st = Command::new(tool).args(["-f", "-q"]).arg(&p).status();
    assert!(st.is_ok_and(|s| s.success()), "{tool} failed");
    let ext = if tool == "xz" { "xz" } else { "gz" };
    p.with_extension(format!("json.{ext}"))
}

/// The same guests with a symbol table instead of the kernel's code (JSON,
/// .json.xz, .json.gz), its offsets checked on the process list from its
/// PsInitialSystemProcess symbol; a symbol table of the other layout is
/// used, with warnings that it disagrees with the kernel's own accessors
/// and fails that check.
#[test]
fn unknown_builds_attributed_with_a_volatility_symbol_table() {
    for (f, x64, b, tool) in [
        (Flavour::X64Unknown, true, true, None),
        (Flavour::X86Unknown, false, true, Some("xz")),
        (Flavour::X64UnknownA, true, false, Some("gzip")),
    ] {
        let rva = export_rva(&guest(f), "PsInitialSystemProcess");
        let p = isf_file(&format!("{f:?}"), &isf(x64, b, rva), tool);
        let (out, _) = check_run(f, "isf", &["--windows-profile", p.to_str().unwrap()]);
        let err = stderr(&out);
        assert!(
            err.contains(&format!("offsets from {}", p.display())),
            "{f:?}: {err}"
        );
        assert!(
            err.contains("the --windows-profile offsets checked on 3 processes from its PsInitialSystemProcess"),
            "{f:?}: {err}"
        );
        assert!(!err.contains("warning"), "{f:?}: {err}");
        let _ = std::fs::remove_file(&p);
    }
    let rva = export_rva(&guest(Flavour::X64Unknown), "PsInitialSystemProcess");
    let wrong = isf_file("wrong", &isf(true, false, rva), None);
    let (out, recs) = boot(
        Flavour::X64Unknown,
        "isf-wrong",
        &["--windows-profile", wrong.to_str().unwrap()],
    );
    let err = stderr(&out);
    assert!(
        err.contains("differ from the kernel's own; using the profile's")
            && err
                .contains("warning: the --windows-profile offsets and its PsInitialSystemProcess:"),
        "{err}"
    );
    assert!(!recs.is_empty());
    assert!(recs.iter().all(|r| r["pid"] != 0x7a8), "{recs:?}");
    let _ = std::fs::remove_file(&wrong);
}

/// A guest claiming Windows 10 22H2 whose ntdll numbers the services
/// otherwise: one warning line, and the guest's numbers name the calls.
#[test]
fn stubs_that_disagree_with_the_table_warn_and_the_guest_wins() {
    let (out, _) = check_trace(Flavour::X64Mismatch);
    let err = stderr(&out);
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("disagrees with the j00ru table"))
        .collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("Windows 10 22H2 (x64, build 19045) on 9 of 9 services")
            && warnings[0].contains("the guest's numbers win"),
        "{err}"
    );
}

/// The builds whose stubs the test guest reproduces (Windows 10 22H2
/// x64, Windows 7 SP1 x86): the guest's ntdll and the j00ru table agree
/// on every service, and the kernel's accessors on every built-in offset.
#[test]
fn stubs_agree_with_the_tables_of_the_builds_they_reproduce() {
    for (f, table) in [
        (Flavour::X64, "Windows 10 22H2 (x64, build 19045)"),
        (Flavour::X86, "Windows 7 SP1 (x86, build 7601)"),
    ] {
        let (out, recs) = boot(f, "agree", &[]);
        assert!(!recs.is_empty());
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "agreeing with the j00ru table of {table} on all 9"
            )),
            "{f:?}: {err}"
        );
        assert!(err.contains("offsets from its accessors"), "{f:?}: {err}");
        assert!(!err.contains("warning"), "{f:?}: {err}");
    }
}

/// `--caller` on Windows: each call's return address is found in a module
/// of the process's PEB loader list (ntdll.dll, beside the program), and
/// named after the stub the program called (its export, Nt* over the Zw*
/// alias): x64 `syscall`, x86 `sysenter` through KiFastSystemCall (the
/// return at [edx]), `int 0x2e` and WoW64-shaped stubs, with and without
/// a table, and under KVA shadow.
#[test]
fn caller_module_and_stub_from_the_peb_loader_list() {
    for f in [
        Flavour::X64,
        Flavour::X86,
        Flavour::X64Unknown,
        Flavour::X64Shadow,
    ] {
        let (_, recs) = boot(f, "caller", &["--caller"]);
        let mut base = None;
        assert!(recs.len() > 10, "{f:?}: {recs:?}");
        for r in &recs {
            let c = &r["caller"];
            assert_eq!(
                c["module"], "C:\\Windows\\System32\\ntdll.dll",
                "{f:?}: {r}"
            );
            let sym = c["symbol"].as_str().unwrap();
            let (func, off) = sym.split_once("+0x").unwrap();
            assert_eq!(func, name(r), "{f:?}: {r}");
            // Inside the stub, after its trap (or after the call that
            // reached KiFastSystemCall).
            let off = u64::from_str_radix(off, 16).unwrap();
            assert!((5..0x18).contains(&off), "{f:?}: {r}");
            let (ip, o) = (c["ip"].as_u64().unwrap(), c["offset"].as_u64().unwrap());
            assert_eq!(*base.get_or_insert(ip - o), ip - o, "one ntdll: {r}");
        }
        // A page-aligned image, away from the program's start.
        let base = base.unwrap();
        assert!(base % 0x1000 == 0 && base > 0x40_0000, "{f:?} {base:#x}");
    }
    // The text form.
    let out = vstrace()
        .args(["run", "--os", "windows", "--windows-version", "win7-sp1"])
        .arg("--kernel")
        .arg(guest(Flavour::X86))
        .args(["--timeout", "60", "--caller"])
        .output()
        .expect("vstrace runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let t = stderr(&out);
    // A 32-bit kernel's own calls carry no personality tag (no `[nt32]`).
    assert!(
        t.lines()
            .any(|l| l.contains("] NtOpenKey(") && l.contains("/* caller ntdll.dll(NtOpenKey+0x")),
        "{t}"
    );
}

/// The kernel image found from the system call path (the kernel's
/// `sysretq` / `sysexit` / `iretd`, seen at the returns; QEMU exposes no
/// MSR_LSTAR to read) when the IDT leads nowhere: the unknown builds with
/// an empty IDT behind KPCR.IdtBase are still attributed from the
/// kernel's own accessors, with no table or profile.
#[test]
fn kernel_image_found_from_the_system_call_path() {
    for f in [Flavour::X64NoIdt, Flavour::X86NoIdt] {
        let (out, recs) = boot(f, "noidt", &[]);
        let err = stderr(&out);
        assert!(
            err.contains("kernel image at 0x100000 (found from the system call path)"),
            "{f:?}: {err}"
        );
        let (pid, tid, ppid) = f.ids();
        assert!(recs.len() > 10, "{f:?}");
        for r in &recs {
            assert_eq!(
                (r["pid"].as_u64(), r["tid"].as_u64(), r["ppid"].as_u64()),
                (Some(pid), Some(tid), Some(ppid)),
                "{f:?}: {r}"
            );
            assert_eq!(r["comm"], "ntabi-test.exe", "{f:?}: {r}");
            assert!(!name(r).starts_with("NtService_"), "{f:?}: {r}");
        }
    }
}

/// win32k (shadow table) calls named from the guest's own win32u.dll (a
/// PE on the loader lists beside ntdll, its stubs loading 0x1000 + n),
/// with no table or profile (an unknown build, numbers of no real
/// build); `--caller` finds them in win32u and the rest in ntdll.
#[test]
fn win32k_calls_named_from_the_guest_win32u() {
    for f in [Flavour::X64Win32u, Flavour::X86Win32u] {
        let (out, recs) = boot(f, "win32u", &["--caller"]);
        let err = stderr(&out);
        assert!(
            err.contains("2 win32k service numbers from its win32u at"),
            "{f:?}: {err}"
        );
        for (call, nr) in [("NtUserGetThreadState", 0x1322), ("NtGdiFlush", 0x1321)] {
            let r = find(&recs, |r| name(r) == call);
            assert_eq!(r.len(), 1, "{f:?}: {call} in {recs:?}");
            assert_eq!(r[0]["nr"], nr, "{f:?}");
            assert_eq!(r[0]["abi"], f.abi());
            // The status the program saw.
            let u = lines(&out, "U", call);
            assert_eq!(hex(&u[0]["status"]), r[0]["ret"].as_u64().unwrap(), "{f:?}");
            assert_eq!(
                r[0]["caller"]["module"], "C:\\Windows\\System32\\win32u.dll",
                "{f:?}: {}",
                r[0]
            );
            let sym = r[0]["caller"]["symbol"].as_str().unwrap();
            assert!(sym.starts_with(&format!("{call}+0x")), "{f:?}: {sym}");
        }
        // Every call is named, the ntdll ones from ntdll.
        for r in &recs {
            assert!(!name(r).starts_with("NtService_"), "{f:?}: {r}");
            if !name(r).starts_with("NtUser") && !name(r).starts_with("NtGdi") {
                assert_eq!(
                    r["caller"]["module"], "C:\\Windows\\System32\\ntdll.dll",
                    "{f:?}: {r}"
                );
            }
        }
    }
}
