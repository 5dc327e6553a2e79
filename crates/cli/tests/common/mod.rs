//! Shared helpers for the integration tests: the vstrace binary, the
//! guest test programs (built from guests/progs by gcc), runs and trace
//! parsing.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use vstrace_launch::guest::START_MARKER;
use vstrace_launch::{find_kernel, GuestConfig, GuestRun, InitramfsBuilder, Qemu, SerialPort};

pub fn vstrace() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vstrace"))
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// The static workload program, built once per test binary.
pub fn workload() -> &'static Path {
    static W: OnceLock<PathBuf> = OnceLock::new();
    W.get_or_init(|| {
        let out = tmp().join(format!("workload-{}", std::process::id()));
        let st = Command::new("gcc")
            .args(["-static", "-O2", "-o"])
            .arg(&out)
            .arg(repo().join("guests/progs/workload.c"))
            .status()
            .expect("gcc runs");
        assert!(st.success(), "building guests/progs/workload.c failed");
        out
    })
}

/// The NT-ABI test guest's images (guests/nt-abi/build.sh), built once
/// per test binary; `file` is one of them (`nt-abi-x64.bin` ...).
pub fn nt_abi_image(file: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tmp().join(format!("nt-abi-{}", std::process::id()));
        let st = Command::new("sh")
            .arg(repo().join("guests/nt-abi/build.sh"))
            .arg(&dir)
            .status()
            .expect("sh runs");
        assert!(st.success(), "guests/nt-abi/build.sh failed");
        dir
    });
    dir.join(file)
}

/// QEMU 11.1 (plugin API v7), which scripts/setup-host.sh unpacks into
/// the cache with a wrapper script: the plugin tests run on it too.
pub fn qemu11() -> PathBuf {
    let q = vstrace_launch::cache::cache_dir().join("qemu-11.1/qemu-system-x86_64");
    assert!(
        q.is_file(),
        "QEMU 11.1 not found at {}: run scripts/setup-host.sh",
        q.display()
    );
    q
}

/// Two tests from one body `$body(qemu: Option<&Path>)`: `$default` on
/// the default QEMU (10.0, plugin API v4) and `$q11` on QEMU 11.1 (plugin
/// API v7).
#[allow(unused_macros)] // only the plugin tests use it
macro_rules! on_both_qemus {
    ($default:ident, $q11:ident, $body:ident) => {
        #[test]
        fn $default() {
            $body(None);
        }

        #[test]
        fn $q11() {
            $body(Some(&qemu11()));
        }
    };
}

/// `name` made distinct for a test's run on QEMU 11, so that the same test
/// on both QEMUs, run in parallel, shares no file.
pub fn per_qemu(name: &str, qemu: Option<&Path>) -> String {
    match qemu {
        Some(_) => format!("{name}-qemu11"),
        None => name.to_string(),
    }
}

/// [`run`] on the QEMU `qemu` (None: the default one).
pub fn run_on(qemu: Option<&Path>, args: &[&str]) -> Output {
    let mut all: Vec<&str> = Vec::new();
    if let Some(q) = qemu {
        all.extend(["--qemu", q.to_str().expect("a UTF-8 path")]);
    }
    all.extend_from_slice(args);
    run(&all)
}

/// Runs vstrace with `args`, adding the workload as /bin/workload.
pub fn run(args: &[&str]) -> Output {
    let add = format!("{}:/bin/workload", workload().display());
    let out = vstrace()
        .arg("run")
        .arg("--add")
        .arg(add)
        .args(args)
        .output()
        .expect("vstrace runs");
    if std::env::var_os("VSTRACE_TEST_VERBOSE").is_some() {
        eprintln!("stdout:\n{}", String::from_utf8_lossy(&out.stdout));
        eprintln!("stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    out
}

/// The calls of strace's text output `text` (its `-o` file, printed),
/// each as its name and first argument: `write(4</tmp/a>`.
pub fn call_heads(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains('(') && !l.starts_with("+++"))
        .map(|l| l.split([',', ')']).next().unwrap_or("").to_string())
        .collect()
}

/// A record as [`call_heads`] gives strace's line: `write(4</tmp/a>`.
pub fn call_head(r: &serde_json::Value) -> String {
    format!("{}({}", name(r), arg(r, 0))
}

/// A fresh path for a trace file.
pub fn trace_path(name: &str) -> PathBuf {
    tmp().join(format!("{name}-{}.out", std::process::id()))
}

/// A fresh path for a recording (`--record`).
pub fn recording_path(name: &str) -> PathBuf {
    tmp().join(format!("{name}-{}.vst", std::process::id()))
}

/// `vstrace run RUN_ARGS --comm COMM --add A... --record REC -o /dev/null
/// -- sh -c SCRIPT`: a guest script recorded whole, COMM attributed live
/// (on the i386 kernel, without BTF, a replay can attribute only what the
/// live run did); its stdout with the console's `\r` removed, after
/// checking that the run succeeded.
pub fn record_script(
    run_args: &[&str],
    comm: &str,
    adds: &[&str],
    rec: &Path,
    script: &str,
) -> String {
    let mut cmd = vstrace();
    cmd.arg("run").args(run_args).args(["--comm", comm]);
    for a in adds {
        cmd.args(["--add", a]);
    }
    let out = cmd
        .arg("--record")
        .arg(rec)
        .args(["-o", "/dev/null", "--", "sh", "-c", script])
        .output()
        .expect("vstrace runs");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).replace('\r', "")
}

/// `vstrace replay REC --text --comm COMM OPTS -ff -o BASE` (OPTS split at
/// white space), checked to succeed: one file `BASE.PID` per process.
pub fn replay_per_process(rec: &Path, comm: &str, opts: &str, base: &Path) {
    let args: Vec<String> = format!("--text --comm {comm} {opts} -ff -o")
        .split_whitespace()
        .map(str::to_string)
        .chain([base.display().to_string()])
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = replay(rec, &args);
    assert!(r.status.success(), "replay {args:?}: {}", stderr(&r));
}

/// Removes the files [`replay_per_process`] wrote for `base`.
pub fn remove_per_process(base: &Path) {
    let stem = base.file_name().unwrap().to_string_lossy().to_string() + ".";
    for e in std::fs::read_dir(tmp()).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with(&stem) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// `vstrace replay REC ARGS...`.
pub fn replay(rec: &Path, args: &[&str]) -> Output {
    let out = vstrace()
        .arg("replay")
        .arg(rec)
        .args(args)
        .output()
        .expect("vstrace runs");
    if std::env::var_os("VSTRACE_TEST_VERBOSE").is_some() {
        eprintln!("replay stderr:\n{}", stderr(&out));
    }
    out
}

/// Parses a JSON Lines trace, every record checked against the schema.
pub fn records(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("trace file");
    json_lines(&text)
}

/// Parses JSON Lines output, every record checked against
/// docs/record.schema.json ([`check_record`]).
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| {
            let r = serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}"));
            check_record(&r);
            r
        })
        .collect()
}

/// The record schema (docs/record.schema.json), compiled once.
pub fn record_schema() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let text = std::fs::read_to_string(repo().join("docs/record.schema.json"))
            .expect("docs/record.schema.json");
        let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
        jsonschema::validator_for(&schema).expect("schema compiles")
    })
}

/// Panics with the schema's complaints when record `r` does not follow
/// docs/record.schema.json.
pub fn check_record(r: &serde_json::Value) {
    let errors: Vec<String> = record_schema()
        .iter_errors(r)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "record {r} breaks the schema: {errors:?}"
    );
}

pub fn name(r: &serde_json::Value) -> &str {
    r["name"].as_str().unwrap_or("")
}

/// Decoded text of argument `i` (0-based).
pub fn arg(r: &serde_json::Value, i: usize) -> String {
    r["args"][i]["text"].as_str().unwrap_or("").to_string()
}

pub fn ret(r: &serde_json::Value) -> i64 {
    r["ret"].as_i64().unwrap_or(i64::MIN)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The records matching `pred`, in order.
pub fn find(
    recs: &[serde_json::Value],
    pred: impl Fn(&serde_json::Value) -> bool,
) -> Vec<&serde_json::Value> {
    recs.iter().filter(|r| pred(r)).collect()
}

/// Builds `guests/progs/NAME.c` with `gcc -static -O2` (plus `flags`) into
/// a fresh file in the test tmpdir.
pub fn build_prog(name: &str, flags: &[&str]) -> PathBuf {
    // A file of its own per call: tests running in parallel may build the
    // same program, and one gcc must not rewrite the file another test's
    // guest is being packed from.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = tmp().join(format!("{name}-{}-{n}", std::process::id()));
    let st = Command::new("gcc")
        .args(flags)
        .args(["-static", "-O2", "-o"])
        .arg(&out)
        .arg(repo().join(format!("guests/progs/{name}.c")))
        .status()
        .expect("gcc runs");
    assert!(st.success(), "building guests/progs/{name}.c failed");
    out
}

/// guests/progs/compat32.c built as a static 32-bit program (once per
/// test binary).
pub fn compat32() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let out = tmp().join(format!("compat32-{}", std::process::id()));
        let st = Command::new("gcc")
            .args(["-m32", "-static", "-O2", "-o"])
            .arg(&out)
            .arg(repo().join("guests/progs/compat32.c"))
            .status()
            .expect("gcc runs");
        assert!(
            st.success(),
            "gcc -m32 failed (gcc-multilib missing? run scripts/setup-host.sh)"
        );
        out
    })
}

/// strace's default `-a` column, vstrace's too.
pub const COLUMN: usize = 40;

/// Whether `text` has a line with `head` (`name(args)`) then ` = ret`
/// aligned exactly as strace aligns it: `head`, one space, spaces up to
/// column 40 counted from the start of the line (its `[pid N] ` prefix
/// included), `= ret`.
#[allow(dead_code)]
pub fn has_call(text: &str, head: &str, ret: &str) -> bool {
    text.lines().any(|l| {
        l.match_indices(head).any(|(i, _)| {
            let col = i + head.len() + 1;
            let pad = " ".repeat(1 + COLUMN.saturating_sub(col));
            l[i..].starts_with(&format!("{head}{pad}= {ret}"))
        })
    })
}

/// The number (base `radix`, optional 0x) right after `key` in `out`.
pub fn num_after(out: &str, key: &str, radix: u32) -> i64 {
    let i = out
        .find(key)
        .unwrap_or_else(|| panic!("{key} not in {out}"));
    let rest = out[i + key.len()..].trim_start_matches("0x");
    let end = rest
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(rest.len());
    i64::from_str_radix(&rest[..end], radix).unwrap()
}

/// The six decoded arguments of a record.
pub fn args6(r: &serde_json::Value) -> Vec<String> {
    (0..6).map(|i| arg(r, i)).collect()
}

/// What guests/progs/compat32.c must show in a trace (`recs`) next to its
/// own output `out`: the vDSO mmap2 through `fast` (sysenter or compat
/// syscall), the `int 0x80` one, all six arguments decoded, the returns
/// it printed, and the openat of /init through `fast` too.
pub fn check_compat32_calls(recs: &[serde_json::Value], out: &str, fast: &str) {
    let mmaps = find(recs, |r| name(r) == "mmap2");
    assert_eq!(mmaps.len(), 2, "{recs:#?}");
    let want = [
        (
            fast,
            "vdso mmap2=",
            [
                "NULL",
                "8192",
                "PROT_READ|PROT_WRITE",
                "MAP_PRIVATE|MAP_ANONYMOUS",
                "-1",
                // mmap2's offset is in pages: printed in bytes, as strace.
                "0x3000",
            ],
        ),
        (
            "int80",
            "int80 mmap2=",
            [
                "NULL",
                "12288",
                "PROT_READ",
                "MAP_PRIVATE|MAP_ANONYMOUS",
                "-1",
                "0x5000",
            ],
        ),
    ];
    for (r, (mech, key, args)) in mmaps.iter().zip(want) {
        assert_eq!(r["abi"], "i386", "{r}");
        assert_eq!(r["mechanism"], mech, "{r}");
        assert_eq!(r["state"], "complete", "{r}");
        assert_eq!(args6(r), args, "{r}");
        // 32-bit returns are sign-extended in `ret`; addresses compare as u32.
        assert_eq!(ret(r) as u32 as i64, num_after(out, key, 16), "{r}");
    }
    let open = find(recs, |r| arg(r, 1) == "\"/init\"");
    assert_eq!(name(open[0]), "openat");
    assert_eq!(open[0]["mechanism"], fast);
    assert_eq!(ret(open[0]), num_after(out, "open fd=", 10));
}

/// Boots the Debian guest running `script`, with a gdbstub on a Unix
/// socket, and waits until the script has started.
pub fn boot_with_gdb(name: &str, script: &str, add: &[(&Path, &str)]) -> (GuestRun, String) {
    boot_with_gdb_cfg(name, script, add, |_| {})
}

/// [`boot_with_gdb`] with a say in the guest configuration.
pub fn boot_with_gdb_cfg(
    name: &str,
    script: &str,
    add: &[(&Path, &str)],
    tweak: impl FnOnce(&mut GuestConfig),
) -> (GuestRun, String) {
    let kernel = find_kernel(None).expect("guest kernel");
    let mut b = InitramfsBuilder::new();
    b.shell(script);
    for (host, guest) in add {
        b.add_file(host, guest, 0o755).expect("add file");
    }
    let initrd = b.write_cached().expect("initramfs");
    let mut gc = GuestConfig::new(kernel, initrd);
    tweak(&mut gc);
    boot_gdb(name, gc)
}

/// Starts `gc` with a gdbstub on a Unix socket and waits until the guest
/// says its program started.
pub fn boot_gdb(name: &str, mut gc: GuestConfig) -> (GuestRun, String) {
    let qemu = Qemu::find().expect("QEMU");
    let sock: PathBuf = tmp().join(format!("{name}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    gc.gdb = Some(format!("unix:{},server=on,wait=off", sock.display()));
    let run = qemu.spawn(&gc).expect("QEMU starts");
    let start = Instant::now();
    while !String::from_utf8_lossy(&run.read_port(SerialPort::Control)).contains(START_MARKER) {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "guest did not start its command"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (run, format!("unix:{}", sock.display()))
}

/// The kernels the semantics tests run on: the default (None) and the
/// newest `vmlinuz-MAJOR.MINOR` in the cache.
pub fn test_kernels() -> Vec<Option<PathBuf>> {
    let newest = vstrace_launch::cached_newer_kernels()
        .pop()
        .expect("a newer guest kernel vmlinuz-X.Y in the cache (scripts/setup-host.sh)")
        .1;
    vec![None, Some(newest)]
}

/// Whether `vstrace run` on `kernel` (None: the default, `$VSTRACE_KERNEL`
/// or the cached one for `arch`) has the signal probe: the kernel's
/// System.map is beside it (`KERNEL.System.map`, as
/// scripts/setup-host.sh keeps it). Deliveries to handlers without
/// SA_SIGINFO then show the kernel's siginfo, as strace does; without it
/// the signal's number only.
pub fn has_signal_probe(kernel: &Option<PathBuf>, arch: vstrace_launch::GuestArch) -> bool {
    let k = kernel
        .clone()
        .or_else(|| {
            (arch == vstrace_launch::GuestArch::X86_64)
                .then(|| std::env::var_os("VSTRACE_KERNEL").map(PathBuf::from))
                .flatten()
        })
        .unwrap_or_else(|| arch.cached_kernel());
    let mut map = k.into_os_string();
    map.push(".System.map");
    std::fs::read_to_string(map).is_ok_and(|m| m.contains(" signal_setup_done\n"))
}

/// `vstrace run`, on `kernel` when one is given (else the default).
pub fn vstrace_run_on(kernel: &Option<PathBuf>) -> Command {
    let mut cmd = vstrace();
    cmd.arg("run");
    if let Some(k) = kernel {
        cmd.arg("--kernel").arg(k);
    }
    cmd
}

/// The Debian bookworm image directory, built (or rebuilt after a change
/// of the script) by scripts/debian-image.sh, which returns at once when
/// it is current.
pub fn debian_image() -> PathBuf {
    let out = Command::new("bash")
        .arg(repo().join("scripts/debian-image.sh"))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "scripts/debian-image.sh failed (it needs root)"
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Runs `vstrace qemu ARGS -- qemu-system-x86_64 ...` on the Debian image
/// (`cpu`: a `-cpu` model, else QEMU's default) with the ext4 image
/// `payload` as a second, read-only disk (the image's workload runs its
/// `/payload/run`), the guest's ttyS1 written to `log`; fails after 900
/// s. Returns the guest's ttyS1 text (LF line ends), which must hold
/// `== payload done`.
pub fn debian_payload_run(
    args: &[&std::ffi::OsStr],
    payload: &Path,
    log: &Path,
    cpu: Option<&str>,
) -> String {
    use std::process::Stdio;
    let img = debian_image();
    let p = |n: &str| img.join(n).display().to_string();
    let start = Instant::now();
    let mut cmd = vstrace();
    cmd.arg("qemu")
        .args(args)
        .args(["--", "qemu-system-x86_64"]);
    if let Some(cpu) = cpu {
        cmd.args(["-cpu", cpu]);
    }
    let mut child = cmd
        .args(["-kernel", &p("vmlinuz"), "-initrd", &p("initrd.img")])
        .args([
            "-append",
            "root=/dev/vda rw console=ttyS0 quiet no_timer_check",
        ])
        .arg("-drive")
        .arg(format!("file={},if=virtio,format=qcow2", p("disk.qcow2")))
        .arg("-drive")
        .arg(format!(
            "file={},if=virtio,format=raw,readonly=on",
            payload.display()
        ))
        .args(["-snapshot", "-m", "1G", "-smp", "2"])
        .args([
            "-nographic",
            "-no-reboot",
            "-serial",
            "mon:stdio",
            "-serial",
        ])
        .arg(format!("file:{}", log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vstrace runs");
    let mut err = child.stderr.take().unwrap();
    let t = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > Duration::from_secs(900) {
            let _ = child.kill();
            panic!("the Debian guest did not finish in 900 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let err = t.join().unwrap();
    eprintln!("Debian guest run: {:?}", start.elapsed());
    assert!(status.success(), "vstrace qemu: {status}: {err}");
    // The serial line ends lines with CR LF.
    let guest = std::fs::read_to_string(log)
        .unwrap_or_default()
        .replace('\r', "");
    assert!(guest.contains("== payload done"), "{guest}\n{err}");
    guest
}

/// guests/progs/multiplexed.c (-m32: its socket and IPC calls go through
/// socketcall and ipc) run under the guest's own `strace` (the binary at
/// host path `strace`, added to the guest) while vstrace records, with
/// `run_args` choosing the kernel; then the same process replayed by
/// vstrace with the same filter. Returns (vstrace's lines, strace's lines),
/// alignment spaces collapsed, strace's personality notices left out.
pub fn multiplexed_under_both(
    run_args: &[&str],
    strace: &Path,
    tag: &str,
) -> (Vec<String>, Vec<String>) {
    const CALLS: &str = "trace=%network,%ipc";
    let prog = build_prog("multiplexed", &["-m32"]);
    let rec = recording_path(&format!("multiplexed-{tag}"));
    let script = format!("strace -o /tmp/s -e {CALLS} /bin/multiplexed; echo @@STRACE; cat /tmp/s");
    let out = vstrace()
        .arg("run")
        .args(run_args)
        .args(["--comm", "multiplexed", "--add"])
        .arg(format!("{}:/bin/strace", strace.display()))
        .arg("--add")
        .arg(format!("{}:/bin/multiplexed", prog.display()))
        .arg("--record")
        .arg(&rec)
        .args(["-o", "/dev/null", "--", "sh", "-c", &script])
        .output()
        .expect("vstrace runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out).replace('\r', "");
    let theirs = text
        .split_once("@@STRACE")
        .unwrap_or_else(|| panic!("{tag}: no strace output: {text}"))
        .1;
    let squash = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    let theirs: Vec<String> = theirs
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("[ Process PID="))
        .map(squash)
        .collect();
    let r = replay(&rec, &["--text", "--comm", "multiplexed", "-e", CALLS]);
    assert!(r.status.success(), "{}", stderr(&r));
    // One process: its pid prefix (the guest's strace -o prints none).
    let unpid = |l: &str| match l.strip_prefix("[pid ") {
        Some(rest) => rest.split_once("] ").map_or(l, |p| p.1).to_string(),
        None => l.to_string(),
    };
    let ours: Vec<String> = stdout(&r)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| unpid(&squash(l)))
        .collect();
    (ours, theirs)
}

/// Runs the committed script `scripts/NAME` (with `env`), which must
/// succeed; its output.
fn script(name: &str, env: &[(&str, &str)]) -> std::process::Output {
    let out = std::process::Command::new(repo().join("scripts").join(name))
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("scripts/{name} does not run: {e}"));
    assert!(
        out.status.success(),
        "scripts/{name} failed: {}",
        stderr(&out)
    );
    out
}

/// Makes sure the i386 kernel's profile (from its debug info: fd names,
/// pid namespaces, module map) is in the cache, as the committed script
/// makes it once (fetching the kernel's -dbg package the first time).
pub fn i386_profile() {
    script(
        "i386-profile.sh",
        &[("VSTRACE_BIN", env!("CARGO_BIN_EXE_vstrace"))],
    );
}

/// The static i386 strace (built once, cached, by the committed script).
pub fn strace_i386() -> PathBuf {
    let out = script("strace-i386.sh", &[]);
    let p = PathBuf::from(stdout(&out).trim());
    assert!(Path::new(&p).is_file(), "no i386 strace at {}", p.display());
    p
}
