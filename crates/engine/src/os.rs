//! The engine's view of an OS layer: naming, decoding and classes, behind
//! one trait so the pairing, filter and injection logic is shared by
//! Linux and Windows.

use vstrace_core::{Event, Syscall, VirtMem};

use crate::inject::PathRewrite;

use crate::record::ArgRecord;

/// What the engine needs to know about one call at enter.
#[derive(Debug, Clone)]
pub struct CallInfo {
    /// ABI tag shown in records: x86_64, i386, nt64, nt32.
    pub abi: &'static str,
    pub nr: u64,
    pub name: String,
    pub nargs: usize,
    /// The call never returns on success (exit, exit_group).
    pub noreturn: bool,
    /// The call replaces the process image (execve, execveat): a
    /// successful return comes back to a new address space.
    pub exec: bool,
    /// Opaque index the layer uses to find its description again.
    pub id: usize,
}

/// Who made a call, as the OS layer reads it from guest memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: u32,
    pub tid: u32,
    pub ppid: Option<u32>,
    pub comm: Option<String>,
}

/// Decoding options shared by layers.
#[derive(Debug, Clone, Copy)]
pub struct DecodeOpts {
    /// Maximum string length shown (strace -s).
    pub strsize: usize,
}

impl Default for DecodeOpts {
    fn default() -> Self {
        DecodeOpts { strsize: 32 }
    }
}

/// An OS layer as the engine uses it.
pub trait OsLayer: Send {
    fn os_name(&self) -> &'static str;
    /// Sees every enter before [`OsLayer::identify`], with the trapping
    /// process's memory: a layer learns what it needs from the guest
    /// (e.g. the Windows version) here. By default nothing.
    fn observe(&mut self, _event: &Event, _mem: &mut dyn VirtMem) {}
    /// Names and describes the call at enter.
    fn identify(&self, event: &Event, nr: u64) -> CallInfo;
    /// Whether this call, with these raw arguments, never returns: for
    /// calls whose fate depends on an argument (Windows' NtTerminateProcess
    /// on the current process). By default, [`CallInfo::noreturn`].
    fn never_returns(&self, info: &CallInfo, _raw: &[u64]) -> bool {
        info.noreturn
    }
    /// Every syscall name this layer knows (for filter validation).
    fn all_names(&self) -> Vec<String>;
    /// Members of a class such as `file` (without the `%`), if known.
    fn class_members(&self, class: &str) -> Option<Vec<String>>;
    /// Decodes arguments at enter; out-arguments may be left undecoded.
    fn decode_enter(
        &self,
        info: &CallInfo,
        raw: &[u64],
        mem: &mut dyn VirtMem,
        opts: &DecodeOpts,
    ) -> Vec<ArgRecord>;
    /// Decodes out-arguments at exit.
    fn decode_exit(
        &self,
        info: &CallInfo,
        raw: &[u64],
        ret: i64,
        mem: &mut dyn VirtMem,
        opts: &DecodeOpts,
        args: &mut [ArgRecord],
    );
    /// The return value as records carry it (`ret`), from the value read
    /// at the call's width; Linux keeps it signed (-errno).
    fn record_return(&self, ret: i64) -> i64 {
        ret
    }
    /// The return value as text, and the error name if it is an error.
    fn format_return(&self, info: &CallInfo, ret: i64) -> (String, Option<String>);
    /// Value to return for an injected error name (e.g. ENOENT -> -2, or an
    /// NTSTATUS name -> its code).
    fn error_value(&self, name: &str) -> Option<i64>;
    /// A syscall number the kernel rejects without side effects, used to
    /// skip a call.
    fn invalid_nr(&self, info: &CallInfo) -> u64;
    /// After a successful exec, fixes arguments that could not be read at
    /// enter from the new image's initial stack (argv is there, copied by
    /// the kernel). `sp` is the new stack pointer.
    fn exec_fixup(
        &self,
        _info: &CallInfo,
        _raw: &[u64],
        _args: &mut [ArgRecord],
        _mem: &mut dyn VirtMem,
        _sp: u64,
        _opts: &DecodeOpts,
    ) {
    }

    /// Rewrites path argument `idx` if it matches a rule; the default
    /// handles NUL-terminated strings (see [`Syscall::set_arg_string`]).
    fn rewrite_path(&self, sc: &mut Syscall<'_>, idx: usize, rules: &[PathRewrite]) {
        let Ok(ptr) = sc.arg(idx) else { return };
        let Ok(s) = vstrace_core::read::read_cstring(sc.cpu().mem(), ptr, 4096) else {
            return;
        };
        if s.truncated || s.fault.is_some() {
            return;
        }
        if let Some(rule) = rules
            .iter()
            .find(|r| r.from.as_bytes() == s.bytes.as_slice())
        {
            // A failed write leaves the call as it was; nothing is logged.
            let _ = sc.set_arg_string(idx, &rule.to);
        }
    }

    /// The process and thread that made the call, if the layer can tell.
    fn attribute(&self, _event: &Event, _mem: &mut dyn VirtMem) -> Option<ProcInfo> {
        None
    }

    /// An opaque identity of the thread running at the trap (the kernel's
    /// task or thread object address), if the layer can read it; cheaper
    /// than [`OsLayer::attribute`]. It pairs a return with its call where
    /// the address space and the user stack do not tell threads apart: a
    /// vfork child runs on its parent's stack in its parent's space.
    fn current_thread(&self, _event: &Event, _mem: &mut dyn VirtMem) -> Option<u64> {
        None
    }

    /// Argument names from the prototype, in order.
    fn arg_names(&self, info: &CallInfo) -> Vec<String>;
    /// Indices (1-based) of arguments that are paths the kernel reads.
    fn path_args(&self, info: &CallInfo) -> Vec<usize>;
}
