//! The CLI's one use of `unsafe`: sending a signal to the QEMU it started.
#![allow(unsafe_code)]

/// Sends SIGTERM to `pid`, which lets QEMU exit cleanly (the plugin's
/// exit callback flushes the trace). A pid that is gone is not an error:
/// QEMU may have exited on its own meanwhile.
pub fn terminate(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid <= 0 {
        // 0 and negative pids name process groups: never ours to signal.
        return;
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of ours;
    // the pid is a single process (checked above) and SIGTERM a valid
    // signal.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}
