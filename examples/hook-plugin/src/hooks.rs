//! The example hooks themselves: plain Rust over the `Syscall` API, with
//! no dependency on the event source, so the same functions serve the
//! QEMU plugin and an attach (gdb-stub) binary.
//!
//! - `write(fd, buf, count)`: a write whose buffer starts with
//!   `vstrace-truncate` is cut to those 16 bytes (the `count` argument is
//!   rewritten before the kernel reads it).
//! - `openat(dirfd, "/etc/hostname", ...)` opens `/etc/vstrace-example`
//!   instead (the path argument is redirected).
//! - `getppid()` does not run and returns 4242.
//! - Windows guests (`--os windows`): on enter of `NtOpenFile` and
//!   `NtCreateFile`, the seed's hook ([`vstrace_windows::hooks::file_open`])
//!   records `{object_name, access}`; it only reads.
//!
//! Each hook leaves a note in the record's `hook` data.

use vstrace_core::hooks::{HookError, Hooks};
use vstrace_core::Syscall;

const MARK: &[u8] = b"vstrace-truncate";

fn truncate_write(sc: &mut Syscall<'_>) -> Result<(), HookError> {
    let count = sc.arg_named("count")?;
    if count <= MARK.len() as u64 {
        return Ok(());
    }
    let buf = sc.arg_named("buf")?;
    let mut head = [0u8; MARK.len()];
    if sc.cpu().mem().read_virt(buf, &mut head).is_err() || head != MARK {
        return Ok(());
    }
    sc.set_arg_named("count", MARK.len() as u64)?;
    sc.hook.insert("truncated_from".into(), count.into());
    Ok(())
}

fn redirect_hostname(sc: &mut Syscall<'_>) -> Result<(), HookError> {
    let i = sc.arg_index("filename")?;
    if sc.arg_string(i, 256).ok().as_deref() == Some("/etc/hostname") {
        sc.set_arg_string(i, "/etc/vstrace-example")?;
        sc.hook.insert("redirected".into(), "/etc/hostname".into());
    }
    Ok(())
}

fn fake_getppid(sc: &mut Syscall<'_>) -> Result<(), HookError> {
    sc.skip(4242)?;
    sc.hook.insert("faked".into(), true.into());
    Ok(())
}

/// The hooks, shared by the QEMU plugin (`lib.rs`) and the attach binary
/// (`bin/vstrace-example-attach.rs`).
pub fn hooks() -> Hooks {
    let mut h = Hooks::new();
    h.on_enter("write", truncate_write);
    h.on_enter("openat", redirect_hostname);
    h.on_enter("getppid", fake_getppid);
    vstrace_windows::hooks::register_file_open(&mut h);
    h
}
