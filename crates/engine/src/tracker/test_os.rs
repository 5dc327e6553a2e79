//! The tracker tests' OS layer: Linux's, with the running thread and its
//! attribution set by the test (no task walk in synthetic memory), and
//! the attribution reads counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use vstrace_core::{ArgValue, CallArgs, CallInfo, Event, Os, OsLayer, ProcInfo, Syscall, VirtMem};
use vstrace_linux::LinuxLayer;

/// A 64-bit sysretq's registers: back to `ip` on stack `sp` in space
/// `cr3`, with return value `rax`.
pub(super) fn sysret_regs(rax: u64, ip: u64, sp: u64, cr3: u64) -> vstrace_core::Regs {
    use vstrace_core::Reg;
    let mut r = vstrace_core::Regs {
        cr3,
        cs: 0x10,
        ..Default::default()
    };
    r.set(Reg::Rax, rax);
    r.set(Reg::Rcx, ip);
    r.set(Reg::Rsp, sp);
    r
}

/// The running thread a test sets: its task pointer, pid and tid.
pub(super) type Running = Arc<Mutex<(u64, u32, u32)>>;

/// The open descriptors a test sets (every thread's): number and path.
pub(super) type FdTable = Arc<Mutex<Vec<(i64, String)>>>;

/// Linux's layer with the running thread of [`Running`], whose
/// attribution reads add up in `reads`.
pub(super) struct Scripted {
    inner: LinuxLayer,
    now: Running,
    reads: Arc<AtomicU64>,
    fds: FdTable,
}

impl Scripted {
    /// The layer, the handle that sets its running thread, and its
    /// attribution read count.
    pub(super) fn new() -> (Scripted, Running, Arc<AtomicU64>) {
        let now = Running::default();
        let reads = Arc::new(AtomicU64::new(0));
        let os = Scripted {
            inner: LinuxLayer::default(),
            now: now.clone(),
            reads: reads.clone(),
            fds: FdTable::default(),
        };
        (os, now, reads)
    }

    /// The layer with the descriptor table a test sets.
    pub(super) fn with_fds() -> (Scripted, FdTable) {
        let (os, _, _) = Scripted::new();
        let fds = os.fds.clone();
        (os, fds)
    }
}

impl OsLayer for Scripted {
    fn os(&self) -> Os {
        self.inner.os()
    }
    fn identify(&self, event: &Event, nr: u64) -> CallInfo {
        self.inner.identify(event, nr)
    }
    fn all_names(&self) -> Vec<String> {
        self.inner.all_names()
    }
    fn name_of_number(&self, abi: &str, nr: u64) -> Option<String> {
        self.inner.name_of_number(abi, nr)
    }
    fn class_members(&self, class: &str) -> Option<Vec<String>> {
        self.inner.class_members(class)
    }
    fn decode_enter(&self, call: CallArgs<'_>, mem: &mut dyn VirtMem) -> Option<Vec<ArgValue>> {
        self.inner.decode_enter(call, mem)
    }
    fn decode_exit(&self, c: CallArgs<'_>, ret: i64, mem: &mut dyn VirtMem, args: &mut [ArgValue]) {
        self.inner.decode_exit(c, ret, mem, args)
    }
    fn format_return(&self, info: &CallInfo, ret: i64) -> (String, Option<String>) {
        self.inner.format_return(info, ret)
    }
    fn error_value(&self, name: &str) -> Option<i64> {
        self.inner.error_value(name)
    }
    fn invalid_nr(&self, info: &CallInfo) -> u64 {
        self.inner.invalid_nr(info)
    }
    fn arg_names(&self, info: &CallInfo) -> Option<Vec<String>> {
        self.inner.arg_names(info)
    }
    fn path_args(&self, info: &CallInfo) -> Vec<usize> {
        self.inner.path_args(info)
    }
    fn read_path(&self, sc: &mut Syscall<'_>, idx: usize) -> Option<String> {
        self.inner.read_path(sc, idx)
    }
    fn write_path(&self, sc: &mut Syscall<'_>, idx: usize, from: &str, to: &str) -> Option<()> {
        self.inner.write_path(sc, idx, from, to)
    }
    fn first_exit_arg(&self, info: &CallInfo) -> Option<usize> {
        self.inner.first_exit_arg(info)
    }
    fn fd_args(&self, info: &CallInfo) -> Vec<usize> {
        self.inner.fd_args(info)
    }
    fn trace_targets(
        &self,
        info: &CallInfo,
        raw: &[u64],
        mem: &mut dyn VirtMem,
    ) -> Option<(Vec<i64>, Vec<usize>)> {
        self.inner.trace_targets(info, raw, mem)
    }
    fn may_match_targets(&self, info: &CallInfo) -> bool {
        self.inner.may_match_targets(info)
    }
    fn register_fd_targets(&self, info: &CallInfo) -> Option<Vec<usize>> {
        self.inner.register_fd_targets(info)
    }
    fn register_fd_only_targets(&self, info: &CallInfo) -> Option<Vec<usize>> {
        self.inner.register_fd_only_targets(info)
    }
    fn keeps_fd_tables(&self, info: &CallInfo) -> bool {
        self.inner.keeps_fd_tables(info)
    }
    fn may_hide_fd_changes(&self, info: &CallInfo) -> bool {
        self.inner.may_hide_fd_changes(info)
    }
    fn hides_fd_changes(&self, info: &CallInfo, raw: &[u64], mem: &mut dyn VirtMem) -> bool {
        self.inner.hides_fd_changes(info, raw, mem)
    }
    fn reaps(&self, info: &CallInfo) -> bool {
        self.inner.reaps(info)
    }
    fn reaped_by_signal(
        &self,
        c: CallArgs<'_>,
        ret: i64,
        mem: &mut dyn VirtMem,
    ) -> Option<(u32, String)> {
        self.inner.reaped_by_signal(c, ret, mem)
    }
    fn fd_path(&self, _event: &Event, _mem: &mut dyn VirtMem, fd: i64) -> Option<String> {
        let fds = self.fds.lock().unwrap();
        fds.iter().find(|(n, _)| *n == fd).map(|(_, p)| p.clone())
    }
    fn current_thread(&self, _event: &Event, _mem: &mut dyn VirtMem) -> Option<u64> {
        Some(self.now.lock().unwrap().0)
    }
    fn attribute(&self, _event: &Event, _mem: &mut dyn VirtMem) -> Option<ProcInfo> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let (_, pid, tid) = *self.now.lock().unwrap();
        Some(ProcInfo {
            pid,
            tid,
            ppid: Some(1),
            comm: Some("t".into()),
        })
    }
}
