//! Runs a command in the default guest and streams its output:
//! `cargo run -p vstrace-launch --example run -- [--machine pc] [--cpu M] [--strace] -- CMD ARGS...`
//! (`--strace` adds the host's /usr/bin/strace with its libraries).

use std::io::Write;
use std::time::Duration;

use vstrace_launch::{find_kernel, GuestConfig, InitramfsBuilder, Machine, Qemu, SerialPort};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut machine, mut cpu, mut with_strace, mut append) = (Machine::Q35, None, false, vec![]);
    let mut argv = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--machine" => {
                machine = match args.next().as_deref() {
                    Some("pc") => Machine::Pc,
                    _ => Machine::Q35,
                }
            }
            "--cpu" => cpu = args.next(),
            "--append" => append.extend(args.next()),
            "--strace" => with_strace = true,
            "--" => {
                argv.extend(args.by_ref());
            }
            _ => argv.push(a),
        }
    }
    let mut b = InitramfsBuilder::new();
    b.command(argv);
    if with_strace {
        b.add_dynamic_binary("/usr/bin/strace", "/usr/bin/strace")?;
    }
    let t = std::time::Instant::now();
    let initrd = b.write_cached()?;
    eprintln!("[vstrace-launch] initramfs {:?}", t.elapsed());
    let qemu = Qemu::find()?;
    let mut cfg = GuestConfig::new(find_kernel(None)?, initrd);
    cfg.machine = machine;
    cfg.append = append;
    if let Some(c) = cpu {
        cfg.cpu = c;
    }
    let t = std::time::Instant::now();
    let mut run = qemu.spawn(&cfg)?;
    eprintln!("[vstrace-launch] spawn {:?}", t.elapsed());
    let out = run.wait_with(Duration::from_secs(300), |port, bytes| match port {
        SerialPort::Stdout => {
            let _ = std::io::stdout().write_all(bytes);
        }
        SerialPort::Stderr => {
            let _ = std::io::stderr().write_all(bytes);
        }
        _ => {}
    })?;
    eprintln!(
        "[vstrace-launch] exit status {} (boot {:?}, total {:?})",
        out.exit_status, out.boot_time, out.elapsed
    );
    std::process::exit(out.exit_status.clamp(0, 255));
}
