//! strace's test suite as a specification for vstrace's decoding: runs
//! strace's test programs (built by scripts/strace-conformance.sh) in
//! guests under vstrace and compares each test's trace with the lines the
//! program printed. See scripts/strace-conformance.sh for the whole flow;
//! run.rs for the verdicts, spec.rs for what a test asks, options.rs for
//! the option mapping, compare.rs for the normalisations, guest.rs for the
//! guest runs, report.rs for the table. The CI subset
//! (crates/cli/tests/strace_conformance.rs) uses the same modules.

mod compare;
mod guest;
mod options;
mod report;
mod run;
mod script;
mod spec;

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use run::Config;

fn parse_args() -> Result<(Config, Option<PathBuf>, bool)> {
    let mut a = std::env::args().skip(1);
    let mut src = None;
    let mut build = None;
    let mut version = String::from("unknown");
    let mut vstrace = PathBuf::from("target/release/vstrace");
    let mut out = PathBuf::from("target/conformance");
    let mut families = PathBuf::from("scripts/strace-conformance-families.txt");
    let mut only: Option<BTreeSet<String>> = None;
    let mut batch = 40;
    let mut check = None;
    let mut list = false;
    let mut arch = String::from("x86_64");
    while let Some(k) = a.next() {
        let mut v = || a.next().with_context(|| format!("{k} needs a value"));
        match k.as_str() {
            "--src" => src = Some(PathBuf::from(v()?)),
            "--build" => build = Some(PathBuf::from(v()?)),
            "--version" => version = v()?,
            "--vstrace" => vstrace = PathBuf::from(v()?),
            "--out" => out = PathBuf::from(v()?),
            "--families" => families = PathBuf::from(v()?),
            "--only" => {
                only.get_or_insert_with(BTreeSet::new)
                    .extend(v()?.split(',').map(str::to_string));
            }
            "--only-file" => {
                let text = std::fs::read_to_string(v()?)?;
                only.get_or_insert_with(BTreeSet::new).extend(
                    text.lines()
                        .filter(|l| !l.starts_with('#'))
                        .filter_map(|l| l.split_whitespace().next())
                        .map(str::to_string),
                );
            }
            "--batch" => batch = v()?.parse().context("--batch N")?,
            "--check" => check = Some(PathBuf::from(v()?)),
            "--list" => list = true,
            "--arch" => {
                arch = v()?;
                if !matches!(arch.as_str(), "x86_64" | "i386") {
                    bail!("--arch x86_64|i386");
                }
            }
            _ => bail!("unknown argument {k}"),
        }
    }
    Ok((
        Config {
            src: src.context("--src DIR (the strace source tree)")?,
            build: build.context("--build DIR (the configured build tree)")?,
            version,
            vstrace,
            out,
            families,
            only,
            batch: batch.max(1),
            arch,
        },
        check,
        list,
    ))
}

/// `--list`: each test as the comparer models it (steps or skip reason),
/// without running anything (with the guest outputs of the last run in
/// `--out`, see [`spec::OUTPUTS_FILE`]).
fn list(cfg: &Config) -> Result<()> {
    // What the last run found the guest's programs print, if it ran any.
    let outputs = spec::load_outputs(&cfg.out.join(spec::OUTPUTS_FILE));
    for t in spec::load_with(&cfg.src, &cfg.arch, &outputs)? {
        if cfg.only.as_ref().is_some_and(|o| !o.contains(&t.name)) {
            continue;
        }
        match &t.skip {
            Some(s) => println!("{}\tSKIP\t{s}", t.name),
            None => {
                for s in &t.steps {
                    let mut extra = String::new();
                    if s.status != 0 {
                        extra.push_str(&format!(" status={}", s.status));
                    }
                    if s.nonempty {
                        extra.push_str(" nonempty");
                    }
                    if !s.prep.is_empty() {
                        extra.push_str(&format!(" prep={:?}", s.prep));
                    }
                    println!(
                        "{}\t{:?}\t../{} {:?} {:?} opts={:?} filters={} want={:?}{extra}",
                        t.name,
                        s.matcher,
                        s.prog,
                        s.prog_args,
                        s.redirections,
                        s.options,
                        s.filters.len(),
                        s.want
                    );
                }
            }
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let (cfg, check, list_only) = parse_args()?;
    if list_only {
        return list(&cfg);
    }
    let results = run::run(&cfg)?;
    report::write(&cfg, &results)?;
    if let Some(check) = check {
        report::check_passing(&check, &results)?;
    }
    Ok(())
}
