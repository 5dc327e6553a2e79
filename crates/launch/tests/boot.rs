//! Boots the real Debian kernel under TCG (no plugin) with a Rust-built
//! initramfs. Skips, with a message, when QEMU or the kernel is missing.

use std::path::Path;
use std::time::{Duration, Instant};

use vstrace_launch::{find_kernel, GuestConfig, InitramfsBuilder, LaunchError, Qemu, SerialPort};

fn setup() -> Option<(Qemu, std::path::PathBuf)> {
    let qemu = match Qemu::find() {
        Ok(q) => q,
        Err(e) => {
            eprintln!("skipping: {e}");
            return None;
        }
    };
    let kernel = match find_kernel(None) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("skipping: {e}");
            return None;
        }
    };
    if !Path::new("/bin/busybox").is_file() {
        eprintln!("skipping: no /bin/busybox");
        return None;
    }
    Some((qemu, kernel))
}

#[test]
fn boots_and_reports_exit_status() {
    let Some((qemu, kernel)) = setup() else {
        return;
    };
    let t = Instant::now();
    let initrd = InitramfsBuilder::new()
        .shell("echo hello; cat /proc/version; echo oops >&2; hostname; exit 3")
        .write_cached()
        .unwrap();
    let build_time = t.elapsed();
    eprintln!("initramfs build {build_time:?}");
    // Both boot paths: the bzImage as is, and its vmlinux through PVH.
    for pvh in [false, true] {
        let mut cfg = GuestConfig::new(&kernel, &initrd);
        cfg.pvh = pvh;
        let t = Instant::now();
        let mut run = qemu.spawn(&cfg).unwrap();
        let spawn_time = t.elapsed();
        assert_eq!(run.boot_kernel() == kernel, !pvh, "{:?}", run.boot_kernel());
        let mut streamed = Vec::new();
        let out = run
            .wait_with(Duration::from_secs(120), |port, bytes| {
                if port == SerialPort::Stdout {
                    streamed.extend_from_slice(bytes);
                }
            })
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        eprintln!(
            "pvh={pvh}: spawn {spawn_time:?}; QEMU start to command {:?}; to QEMU exit {:?}",
            out.boot_time.unwrap(),
            out.elapsed
        );
        assert_eq!(out.exit_status, 3);
        assert!(stdout.starts_with("hello\n"), "{stdout:?}");
        assert!(stdout.contains("Linux version 6."), "{stdout:?}");
        assert!(stdout.ends_with("vstrace\n"), "{stdout:?}");
        assert_eq!(out.stderr, b"oops\n");
        assert_eq!(streamed, out.stdout, "streamed output differs");
        // The command's output stays off the console.
        assert!(!out.console.contains("hello"), "{}", out.console);
        assert!(out.qemu_stderr.is_empty(), "{}", out.qemu_stderr);
    }
}

/// Debian's strace, added with its shared libraries, runs in the guest.
#[test]
fn host_strace_runs_in_guest() {
    let Some((qemu, kernel)) = setup() else {
        return;
    };
    if !Path::new("/usr/bin/strace").is_file() {
        eprintln!("skipping: no /usr/bin/strace");
        return;
    }
    let mut b = InitramfsBuilder::new();
    b.add_dynamic_binary("/usr/bin/strace", "/usr/bin/strace")
        .unwrap();
    b.command(["strace", "-e", "trace=openat", "cat", "/proc/version"]);
    let initrd = b.write_cached().unwrap();
    let mut run = qemu.spawn(&GuestConfig::new(&kernel, &initrd)).unwrap();
    let out = run.wait(Duration::from_secs(120)).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.exit_status, 0, "{stderr}");
    assert!(
        stderr.contains("openat(AT_FDCWD, \"/proc/version\", O_RDONLY) = 3"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Linux version"));
}

#[test]
fn argv_is_passed_verbatim_and_signals_map_to_128_plus_n() {
    let Some((qemu, kernel)) = setup() else {
        return;
    };
    let initrd = InitramfsBuilder::new()
        .command([
            "/bin/sh",
            "-c",
            "printf '[%s]' \"$@\"; kill -TERM $$",
            "argv0",
            "it's a \"test\"",
            "$HOME;`id`",
            "",
        ])
        .write_cached()
        .unwrap();
    let mut run = qemu.spawn(&GuestConfig::new(&kernel, &initrd)).unwrap();
    let out = run.wait(Duration::from_secs(120)).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[it's a \"test\"][$HOME;`id`][]"
    );
    assert_eq!(out.exit_status, 128 + 15);
}

/// Output is passed byte for byte (raw tty) and fully drained before power-off.
#[test]
fn large_binary_output_is_complete() {
    let Some((qemu, kernel)) = setup() else {
        return;
    };
    let initrd = InitramfsBuilder::new()
        .shell("seq 1 30000; printf '\\000\\001\\377\\r\\n'")
        .write_cached()
        .unwrap();
    let mut run = qemu.spawn(&GuestConfig::new(&kernel, &initrd)).unwrap();
    let out = run.wait(Duration::from_secs(120)).unwrap();
    let mut expected: Vec<u8> = (1..=30000)
        .flat_map(|i| format!("{i}\n").into_bytes())
        .collect();
    expected.extend_from_slice(b"\x00\x01\xff\r\n");
    assert_eq!(out.stdout.len(), expected.len());
    assert!(out.stdout == expected);
    assert_eq!(out.exit_status, 0);
}

#[test]
fn kernel_panic_is_detected() {
    let Some((qemu, kernel)) = setup() else {
        return;
    };
    let initrd = InitramfsBuilder::new()
        .shell("echo c > /proc/sysrq-trigger; sleep 100")
        .write_cached()
        .unwrap();
    let mut run = qemu.spawn(&GuestConfig::new(&kernel, &initrd)).unwrap();
    match run.wait(Duration::from_secs(120)) {
        Err(LaunchError::KernelPanic { excerpt }) => {
            assert!(excerpt.contains("Kernel panic"), "{excerpt}");
            assert!(excerpt.contains("sysrq"), "{excerpt}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_kernel_is_reported() {
    let missing = Path::new("/nonexistent/vstrace/vmlinuz");
    assert!(matches!(
        find_kernel(Some(missing)),
        Err(LaunchError::KernelNotFound { .. })
    ));
    let Ok(qemu) = Qemu::find() else {
        eprintln!("skipping spawn part: no QEMU");
        return;
    };
    let cfg = GuestConfig::new(missing, "/nonexistent/initrd");
    assert!(matches!(
        qemu.spawn(&cfg),
        Err(LaunchError::KernelNotFound { .. })
    ));
}

#[test]
fn timeout_kills_the_guest() {
    let Some((qemu, kernel)) = setup() else {
        return;
    };
    let initrd = InitramfsBuilder::new()
        .shell("sleep 1000")
        .write_cached()
        .unwrap();
    let mut run = qemu.spawn(&GuestConfig::new(&kernel, &initrd)).unwrap();
    let t = Instant::now();
    match run.wait(Duration::from_secs(3)) {
        Err(LaunchError::Timeout { after, .. }) => assert_eq!(after, Duration::from_secs(3)),
        other => panic!("{other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(10));
}
