//! `vstrace`: strace for virtual machines, from outside the guest.
//!
//! `vstrace run` boots a guest under QEMU TCG with the vstrace plugin,
//! runs a command in it and prints every system call, strace-style.

/// `eprintln!` that never panics: stderr may be a pipe its reader closed.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

mod attach;
mod exit;
mod opts;
mod replay;
mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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

#[derive(Subcommand, Debug)]
enum Command {
    /// Boot a guest under QEMU TCG with the tracing plugin and run CMD in it.
    Run(Box<run::RunArgs>),
    /// Trace a running VM through its gdbstub (QEMU -gdb, TCG or KVM).
    Attach(attach::AttachArgs),
    /// Decode a trace file recorded with --record, offline.
    Replay(replay::ReplayArgs),
}

fn main() -> ExitCode {
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
        Command::Run(a) => run::run(*a),
        Command::Attach(a) => attach::attach(a),
        Command::Replay(a) => replay::replay(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            say!("vstrace: error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}
