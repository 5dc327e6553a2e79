//! `-k` and `--caller` for 32-bit processes on the 64-bit Debian guest
//! (compat mode), traced with `vstrace qemu` on an Intel CPU model (the
//! vDSO's `__kernel_vsyscall` enters with `sysenter`). The programs
//! (guests/progs/stack32.c, dynamic with the host's i386 libc and loader
//! on the payload disk, and static) run from a second disk.
//!
//! The guest's strace prints no stack for a 32-bit tracee (it unwinds
//! its own personality only), so the reference is the programs' files:
//! every return address in a program's own code must follow a `call`
//! whose target is the function of the frame below it, and each stack
//! must name the chain of functions the program made the call through.
//! A replay with `-k` of the recording must print the live text.

#[macro_use]
mod common;
use common::*;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The marker calls of stack32.c.
const CALLS: &str = "getppid,getgid,getsid,getuid32";

/// Builds stack32.c with `flags` into `out`.
fn cc32(flags: &[&str], out: &Path) {
    let st = Command::new("gcc")
        .args(["-m32", "-O2", "-fno-inline", "-fno-optimize-sibling-calls"])
        .args(flags)
        .arg("-o")
        .arg(out)
        .arg(repo().join("guests/progs/stack32.c"))
        .status()
        .expect("gcc runs");
    assert!(st.success(), "gcc -m32 {flags:?} failed (gcc-multilib?)");
}

/// The payload (`dir/payload`: programs, the i386 loader and libc under
/// lib32, the guest's `run`) and its ext4 image.
fn payload(dir: &Path) -> PathBuf {
    let p = dir.join("payload");
    std::fs::create_dir_all(p.join("lib32")).unwrap();
    for f in ["ld-linux.so.2", "libc.so.6"] {
        std::fs::copy(Path::new("/usr/lib32").join(f), p.join("lib32").join(f))
            .expect("the host's i386 libc (libc6-i386)");
    }
    cc32(&["-DLIB", "-shared", "-fPIC"], &p.join("libstack32.so"));
    cc32(
        &[
            "-Wl,--dynamic-linker=/payload/lib32/ld-linux.so.2",
            "-Wl,-rpath,/payload/lib32",
        ],
        &p.join("stack32_dyn"),
    );
    cc32(&["-static", "-DSTATIC"], &p.join("stack32_static"));
    let run = p.join("run");
    std::fs::write(
        &run,
        "#!/bin/bash\ncd /payload\n\
         for p in stack32_dyn stack32_static; do ./$p /payload/libstack32.so; done\n\
         echo '== payload done'\n",
    )
    .unwrap();
    Command::new("chmod").arg("755").arg(&run).status().unwrap();
    let img = dir.join("payload.img");
    let st = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(&p)
        .arg(&img)
        .arg("32M")
        .status()
        .expect("mkfs.ext4 runs");
    assert!(st.success());
    img
}

/// A program's function symbols (`nm`): name to link-time address.
fn functions(file: &Path) -> HashMap<String, u64> {
    let out = Command::new("nm").arg(file).output().expect("nm runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (v, t, n) = (w.next()?, w.next()?, w.next()?);
            matches!(t, "T" | "t" | "W" | "w" | "i")
                .then(|| Some((n.to_string(), u64::from_str_radix(v, 16).ok()?)))?
        })
        .collect()
}

/// (module, function, offset, file offset) of each frame.
fn frames(r: &Value) -> Vec<(String, String, u64, u64)> {
    r["stack"]
        .as_array()
        .unwrap_or_else(|| panic!("no stack: {r}"))
        .iter()
        .map(|f| {
            let sym = f["symbol"].as_str().unwrap_or("");
            let (func, off) = sym.split_once('+').unwrap_or((sym, "0x0"));
            let off = u64::from_str_radix(off.trim_start_matches("0x"), 16).unwrap_or(0);
            (
                f["module"].as_str().unwrap_or("?").to_string(),
                func.to_string(),
                off,
                f["file_offset"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// Each frame of `prog` (`name` in the guest) whose frame below is in
/// `prog` too returns after a `call` (read from the program's file at
/// the frame's file offset); a direct one (e8 rel32) made by one of
/// stack32.c's functions must call the function of the frame below.
/// Returns how many of those were checked.
fn check_call_sites(prog: &Path, name: &str, fr: &[(String, String, u64, u64)]) -> usize {
    let bytes = std::fs::read(prog).unwrap();
    let syms = functions(prog);
    let mut n = 0;
    for w in fr.windows(2) {
        let (below, f) = (&w[0], &w[1]);
        if f.0 != name || below.0 != name {
            continue;
        }
        // stack32.c's own functions make no tail calls (built with
        // -fno-optimize-sibling-calls); libc's may (raise jumps on).
        let own = ["leaf", "middle", "main", "signalled", "on_usr1"].contains(&f.1.as_str());
        let ret = syms[&f.1] + f.2;
        let at = f.3 as usize;
        if bytes[at - 5] != 0xe8 {
            // An indirect call (ff /2, 2 to 7 bytes: libc calling main
            // through a pointer).
            let indirect =
                (2..=7).any(|l| bytes[at - l] == 0xff && (bytes[at - l + 1] >> 3) & 7 == 2);
            assert!(indirect, "{f:?}: not after a call");
            continue;
        }
        let rel = i32::from_le_bytes(bytes[at - 4..at].try_into().unwrap());
        let target = ret.wrapping_add(rel as i64 as u64) & 0xffff_ffff;
        if own {
            assert_eq!(target, syms[&below.1], "{f:?} does not call {below:?}");
            n += 1;
        }
    }
    n
}

/// The position of the first frame in `module`'s `func` at or after
/// `from`.
fn pos(fr: &[(String, String, u64, u64)], from: usize, module: &str, func: &str) -> usize {
    fr.iter()
        .skip(from)
        .position(|f| f.0.ends_with(module) && f.1 == func)
        .map(|i| i + from)
        .unwrap_or_else(|| panic!("no {module}({func}) after frame {from} in {fr:?}"))
}

/// Checks the stacks and callers of one run of stack32.c (`pid`, the
/// program `guest` in the guest, `file` on the host, its libc at
/// `libc`, none when static) in `recs`; returns how many call sites
/// were checked against the file.
fn check_program(recs: &[Value], pid: i64, file: &Path, guest: &str, libc: Option<&str>) -> usize {
    let ours: Vec<&Value> = recs
        .iter()
        .filter(|r| r["pid"] == pid && CALLS.split(',').any(|c| c == name(r)))
        .collect();
    let by = |c: &str| {
        *ours
            .iter()
            .find(|r| name(r) == c)
            .unwrap_or_else(|| panic!("{guest}: no {c}"))
    };
    let me = guest;
    let dynamic = libc.is_some();
    let libc = libc.unwrap_or(me);
    let caller = |c: &str| {
        let r = by(c);
        (
            r["caller"]["module"].as_str().unwrap_or("?").to_string(),
            r["caller"]["symbol"].as_str().unwrap_or("").to_string(),
        )
    };
    let mut checked = 0;
    // getppid: through the vDSO, libc, leaf, middle, main.
    let f = frames(by("getppid"));
    eprintln!("{me} getppid: {f:?}");
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str()),
        ("[vdso]", "__kernel_vsyscall")
    );
    assert_eq!(f[1].0, libc, "{f:?}");
    assert!(f[1].1.ends_with("getppid"), "{f:?}");
    let l = pos(&f, 2, me, "leaf");
    let m = pos(&f, l, me, "middle");
    let mn = pos(&f, m, me, "main");
    assert_eq!((l, m, mn), (2, 3, 4), "{f:?}");
    checked += check_call_sites(file, me, &f);
    // The caller: libc's function (named from its .dynsym in guest
    // memory; a static program has none), not the vDSO.
    let (cm, cs) = caller("getppid");
    assert_eq!(cm, libc);
    assert!(!dynamic || cs.starts_with("getppid+"), "{cs}");
    // getgid: the program's own int $0x80, no vDSO.
    let f = frames(by("getgid"));
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str()),
        (me, "raw_int80"),
        "{f:?}"
    );
    assert_eq!(f[1].1, "main", "{f:?}");
    checked += check_call_sites(file, me, &f);
    assert_eq!(caller("getgid").0, me);
    // getsid in the signal handler: on to the interrupted code.
    let f = frames(by("getsid"));
    eprintln!("{me} getsid: {f:?}");
    let h = pos(&f, 0, me, "on_usr1");
    let s = pos(&f, h, me, "signalled");
    pos(&f, s, me, "main");
    checked += check_call_sites(file, me, &f);
    if dynamic {
        // getuid32 from the dlopen'ed library.
        let f = frames(by("getuid32"));
        assert_eq!(f[0].0, "[vdso]", "{f:?}");
        assert!(f[1].1.ends_with("getuid"), "{f:?}");
        let i = pos(&f, 2, "/payload/libstack32.so", "inner");
        pos(&f, i, "/payload/libstack32.so", "lib_call");
        pos(&f, i, me, "main");
        assert_eq!(caller("getuid32").0, libc);
    }
    checked
}

#[test]
fn stacks_and_callers_of_32_bit_programs_on_the_64_bit_kernel() {
    let dir = tmp().join(format!("stack32-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let payload_img = payload(&dir);
    let (log, text, rec) = (
        dir.join("ttyS1.log"),
        dir.join("trace.txt"),
        dir.join("t.vst"),
    );
    let (trace, lib32) = (format!("trace={CALLS}"), dir.join("payload/lib32"));
    let payload_dir = dir.join("payload");
    let args: Vec<&std::ffi::OsStr> = vec![
        "-k".as_ref(),
        "--caller".as_ref(),
        "-e".as_ref(),
        trace.as_ref(),
        "-o".as_ref(),
        text.as_os_str(),
        "--record".as_ref(),
        rec.as_os_str(),
        "--symbol-dir".as_ref(),
        payload_dir.as_os_str(),
        "--symbol-dir".as_ref(),
        lib32.as_os_str(),
    ];
    let cpu = "max,vendor=GenuineIntel,la57=off";
    let guest = debian_payload_run(&args, &payload_img, &log, Some(cpu));

    let replayed = dir.join("replay.txt");
    let out = replay(&rec, &["-k", "-o", replayed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let live = std::fs::read_to_string(&text).unwrap();
    assert_eq!(std::fs::read_to_string(&replayed).unwrap(), live);
    let json = dir.join("replay.json");
    let out = replay(&rec, &["--json", "-o", json.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&json);

    let mut checked = 0;
    for prog in ["stack32_dyn", "stack32_static"] {
        let pid = num_after(&guest, &format!("./{prog} pid="), 10);
        let file = dir.join("payload").join(prog);
        let libc = (prog == "stack32_dyn").then_some("/payload/lib32/libc.so.6");
        checked += check_program(&recs, pid, &file, &format!("/payload/{prog}"), libc);
    }
    eprintln!("call sites checked: {checked}");
    assert!(checked >= 8, "{checked}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the static program with `-k --caller` on the guest `guest` asks
/// for (run options), checks its stacks and callers against its file,
/// and returns its records.
fn static_program(tag: &str, guest: &[&str]) -> Vec<Value> {
    let dir = tmp().join(format!("stack32-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("stack32");
    cc32(&["-static", "-DSTATIC"], &bin);
    let trace = dir.join("trace.json");
    let add = format!("{}:/bin/stack32", bin.display());
    let trace_set = format!("trace={CALLS}");
    let mut args: Vec<&str> = guest.to_vec();
    args.extend([
        "--add",
        &add,
        "-k",
        "--caller",
        "--symbol-dir",
        dir.to_str().unwrap(),
        "-e",
        &trace_set,
        "--json",
        "-o",
        trace.to_str().unwrap(),
        "--",
        "/bin/stack32",
    ]);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let pid = num_after(&stdout(&out), "pid=", 10);
    let recs = records(&trace);
    let n = check_program(&recs, pid, &bin, "/bin/stack32", None);
    assert!(n >= 4, "{tag}: {n}");
    let _ = std::fs::remove_dir_all(&dir);
    recs
}

/// The static program on the i386 (686) kernel, which has no BTF: the
/// module map comes from the profile made from the kernel's debug info
/// (scripts/i386-profile.sh), so stacks and callers name the program's
/// functions as on the 64-bit kernel.
#[test]
fn static_program_on_the_i386_kernel() {
    i386_profile();
    static_program("i386", &["--arch", "i386"]);
}

/// The static program on the busybox guest with an AMD CPU model: the
/// vDSO enters with compat `syscall` (same landing pad as `sysenter`).
#[test]
fn static_32_bit_program_through_compat_syscall() {
    let recs = static_program("amd", &["--cpu", "max,vendor=AuthenticAMD,la57=off"]);
    let getppid = recs.iter().find(|r| name(r) == "getppid").unwrap();
    assert_eq!(getppid["mechanism"], "syscall", "{getppid}");
}
