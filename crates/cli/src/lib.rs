//! The vstrace command line: `vstrace run` boots a guest under QEMU TCG
//! with the vstrace plugin, runs a command in it and prints every system
//! call, strace-style; `vstrace attach` does the same for a running VM
//! through its gdbstub; `vstrace replay` decodes a recording of either
//! offline.
//!
//! The whole CLI is a library function, [`main_with_hooks`], so that a
//! custom binary can add Rust hooks to the engine in a few lines (see
//! `examples/hook-plugin`): for `attach` they run in this process; for
//! `run` the engine runs inside QEMU, and hooks come from a plugin built
//! with `export_plugin!` (`--plugin`).

#![deny(unsafe_code)]

/// `eprintln!` that never panics: stderr may be a pipe its reader closed.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

mod attach;
mod exit;
mod mapped;
mod plugin_attach;
mod profile;
mod python;
mod qemu;
mod replay;
mod run;
mod signal;
mod trace_args;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vstrace_engine::Hooks;

#[derive(Parser, Debug)]
#[command(
    name = "vstrace",
    version,
    about = "strace for virtual machines, from outside the guest",
    after_help = exit::HELP
)]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

// Parsed once per process: the size difference between variants is moot.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Boot a guest under QEMU TCG with the tracing plugin and run CMD in it.
    Run(run::RunArgs),
    /// Trace a running VM through its gdbstub (QEMU -gdb, TCG or KVM).
    Attach(attach::AttachArgs),
    /// Run your own QEMU command line (`-- qemu-system-x86_64 ARGS...`)
    /// with the tracing plugin added.
    Qemu(qemu::QemuArgs),
    /// Decode a trace file recorded with --record, offline.
    Replay(replay::ReplayArgs),
    /// Make a kernel profile from a vmlinux with DWARF debug info (for
    /// kernels without BTF): `--from-dwarf VMLINUX [-o FILE]`.
    Profile(profile::ProfileArgs),
}

/// Parses the command line and runs it; `hooks` builds the Rust hooks
/// given to in-process engines (`attach`).
pub fn main_with_hooks(hooks: fn() -> Hooks) -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version to stdout with status 0, errors to
            // stderr with status 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.cmd {
        Command::Run(a) => run::run(a),
        Command::Attach(a) => attach::attach(a, hooks()),
        Command::Qemu(a) => qemu::qemu(a),
        Command::Replay(a) => replay::replay(a),
        Command::Profile(a) => profile::profile(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // An option refused after parsing: a usage error, as clap's.
        Err(e) if e.downcast_ref::<clap::Error>().is_some() => {
            let msg = e.to_string();
            say!(
                "vstrace: error: {}",
                msg.trim_end().trim_start_matches("error: ")
            );
            ExitCode::from(2)
        }
        // strace's own diagnostic for a bad qualifier, in its words and
        // with its status (strace's test suite checks both).
        Err(e) if e.downcast_ref::<trace_args::diag::Refusal>().is_some() => {
            say!("vstrace: {e}");
            if let Some(trace_args::diag::Refusal::Help(_)) = e.downcast_ref() {
                say!("Try 'vstrace -h' for more information.");
            }
            ExitCode::from(exit::ERROR)
        }
        Err(e) => {
            say!("vstrace: error: {e:#}");
            // A --hooks file that does not import is a usage error.
            if e.downcast_ref::<python::HooksFileError>().is_some() {
                return ExitCode::from(exit::USAGE);
            }
            ExitCode::from(exit::ERROR)
        }
    }
}
