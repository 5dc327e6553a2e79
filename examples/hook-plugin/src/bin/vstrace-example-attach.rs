//! The vstrace CLI with the example hooks in its engine: `attach` runs
//! them on a VM traced through its gdbstub, exactly as the plugin runs
//! them inside QEMU.

#[path = "../hooks.rs"]
mod hooks;

fn main() -> std::process::ExitCode {
    vstrace_cli::main_with_hooks(hooks::hooks)
}
