//! An example custom vstrace plugin: a few lines of Rust hooks
//! ([`hooks`]) that change what the guest sees. Build it with the
//! workspace and run
//! `vstrace run --plugin target/release/libvstrace_example_hooks.so -- CMD`.
//! The same hooks serve a running VM through its gdbstub with the
//! `vstrace-example-attach` binary of this package
//! (`vstrace-example-attach attach --gdb ADDR ...`).

mod hooks;

pub use hooks::hooks;

vstrace_qemu_plugin::export_plugin!(hooks);
