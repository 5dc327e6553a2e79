//! `vstrace`: strace for virtual machines, from outside the guest (the
//! CLI itself is `vstrace_cli::main_with_hooks`).

#![forbid(unsafe_code)]

use std::process::ExitCode;

use vstrace_engine::Hooks;

fn main() -> ExitCode {
    vstrace_cli::main_with_hooks(Hooks::new)
}
