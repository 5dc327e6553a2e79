//! The backend's error type: one enum for the protocol, the register
//! layout, discovery and breakpoint failures.

use crate::rsp::RspError;

/// Errors of the backend.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The gdb connection or protocol failed.
    #[error(transparent)]
    Rsp(#[from] RspError),
    /// The target description lacks a register the backend needs.
    #[error("register layout: {0}")]
    Layout(String),
    /// The system call entry or its return paths were not found.
    #[error("finding the system call entry: {0}")]
    Discovery(String),
    /// The stub refused both a hardware and a software breakpoint here.
    #[error("no breakpoint could be set at {0:#x}")]
    Breakpoint(u64),
    /// QEMU reported the VM gone (exited or killed).
    #[error("the VM exited while attached")]
    TargetExited,
}
