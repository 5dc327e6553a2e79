//! Writes the seed corpus of every fuzz target: `fuzz-seeds OUTDIR
//! [--trace TRACE.jsonl] [--vmlinux VMLINUX]` creates `OUTDIR/TARGET/NAME`
//! files. `--trace` adds `linux_decode` seeds from a real JSON trace,
//! `--vmlinux` takes task_struct offsets and symbol addresses from a real
//! kernel image, `--recording REC.vst` adds a real recording (`vstrace run
//! --record`) to the trace_file and replay seeds. `fuzz-seeds --list`
//! prints the target names.

#![forbid(unsafe_code)]

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use vstrace_fuzz_targets::seeds::{self, Kernel};
use vstrace_fuzz_targets::TARGETS;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut out = None;
    let mut trace = None;
    let mut vmlinux = None;
    let mut recording = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--trace" => trace = Some(args.next().context("--trace needs a file")?),
            "--vmlinux" => vmlinux = Some(args.next().context("--vmlinux needs a file")?),
            "--recording" => recording = Some(args.next().context("--recording needs a file")?),
            "--list" => {
                for t in TARGETS {
                    println!("{}", t.name);
                }
                return Ok(());
            }
            s if s.starts_with('-') => bail!("unknown option {s}"),
            _ => out = Some(PathBuf::from(a)),
        }
    }
    let Some(out) = out else {
        bail!("usage: fuzz-seeds OUTDIR [--trace TRACE.jsonl] [--vmlinux VMLINUX]");
    };
    let kernel = match &vmlinux {
        Some(p) => {
            let elf = std::fs::read(p).with_context(|| format!("reading {p}"))?;
            seeds::kernel_from_vmlinux(&elf)
                .with_context(|| format!("{p}: no BTF/ksymtab profile"))?
        }
        None => Kernel::default(),
    };
    for t in TARGETS {
        let mut s = seeds::seeds(t.name, &kernel);
        if t.name == "linux_decode" {
            if let Some(p) = &trace {
                let text = std::fs::read_to_string(p).with_context(|| format!("reading {p}"))?;
                s.extend(seeds::trace_seeds(&text, 3));
            }
        }
        if matches!(t.name, "trace_file" | "replay") {
            if let Some(p) = &recording {
                let bytes = std::fs::read(p).with_context(|| format!("reading {p}"))?;
                s.push(("recording".into(), bytes));
            }
        }
        let dir = out.join(t.name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, bytes) in &s {
            std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
        }
        println!("{}: {} seeds", t.name, s.len());
    }
    Ok(())
}
