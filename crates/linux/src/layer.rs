//! The Linux OS layer: [`OsLayer`] over this crate's tables, prototypes
//! and decoders, with process attribution from a kernel profile.

use std::sync::atomic::{AtomicU8, Ordering};

use vstrace_core::{
    ArgValue, CallArgs, CallHints, CallInfo, Event, FdPath, NameOptions, Os, OsLayer, ProcInfo,
    Space, Syscall, VirtMem,
};

use crate::{self as lx, LinuxAbi, SyscallDesc};

mod calls;
mod task;

/// The Linux layer, with the kernel's profile when one was built.
#[derive(Default)]
pub struct LinuxLayer {
    profile: Option<lx::profile::LinuxProfile>,
    /// i386 kernels: the KASLR slide once found, and how many searches
    /// failed (each is a few hundred small reads; give up after a few).
    slide32: std::sync::Mutex<(Option<i64>, u32)>,
    /// Parent pid by (task, tid, pid, parent task) address: saves a
    /// dependent read per event, which matters over a gdb connection
    /// (one round trip per block).
    ppids: std::sync::Mutex<std::collections::HashMap<(u64, i32, i32, u64), i32>>,
    /// [`task::PTI_ON`] once the kernel's page tables were needed.
    pti: AtomicU8,
    /// Attributions failed in a row with a profile at hand, and whether
    /// that was reported (once: a silent loss of every pid is worse than
    /// one line).
    failures: std::sync::atomic::AtomicU32,
    warned: std::sync::atomic::AtomicBool,
    /// `--caller`: module maps by address space, once a caller was asked
    /// for ([`LinuxLayer::callers`] set).
    maps: std::sync::Mutex<lx::modmap::MapCache>,
    callers: std::sync::atomic::AtomicBool,
    /// `-k`: host directories searched for a module's file (with the
    /// same build id) after its guest path on the host.
    host_dirs: Vec<std::path::PathBuf>,
}

/// Failed attributions in a row, with a profile, before the warning.
const FAILURES_BEFORE_WARNING: u32 = 64;

/// Most tasks whose parent pid is remembered (the map is cleared when full).
const MAX_PPIDS: usize = 4096;

/// Failed i386 slide searches before attribution is given up.
const SLIDE_TRIES: u32 = 8;

impl LinuxLayer {
    /// A layer that names and decodes calls; with `profile` (the traced
    /// kernel's task layout) it also attributes them to processes.
    pub fn new(profile: Option<lx::profile::LinuxProfile>) -> LinuxLayer {
        LinuxLayer {
            profile,
            slide32: Default::default(),
            ppids: Default::default(),
            pti: AtomicU8::new(0),
            failures: Default::default(),
            warned: Default::default(),
            maps: Default::default(),
            callers: Default::default(),
            host_dirs: Vec::new(),
        }
    }

    /// Runs a decoding in the call's `-X` style, with the traced
    /// kernel's `long` width (from the profile; 8 without one) for the
    /// decoders that print as that kernel's strace does.
    fn decoding<R>(&self, style: vstrace_core::ConstStyle, f: impl FnOnce() -> R) -> R {
        let long = self.profile.as_ref().map_or(8, |p| p.pointer_size);
        lx::tracer::with_kernel_long(long, || crate::xlat::with_style(style, f))
    }

    /// `-k` looks for modules' files in `dirs` too (by guest path under
    /// each, then by file name), after the guest path on the host.
    pub fn with_host_dirs(mut self, dirs: Vec<std::path::PathBuf>) -> LinuxLayer {
        self.host_dirs = dirs;
        self
    }

    /// The map of the trap's address space, read when not cached.
    fn ensure_map(
        &self,
        event: &Event,
        mem: &mut dyn VirtMem,
        cache: &mut lx::modmap::MapCache,
    ) -> u64 {
        self.callers.store(true, Ordering::Relaxed);
        let space = space_key(event.cr3);
        if !cache.maps.contains_key(&space) {
            let areas = self.areas(event, mem).unwrap_or_default();
            if cache.maps.len() >= lx::modmap::MAX_MAPS {
                cache.maps.clear();
            }
            cache.maps.insert(space, lx::modmap::ModMap::new(areas));
        }
        space
    }

    /// The i386 kernel's slide, searched for (bounded) until found.
    fn slide32(&self, prof: &lx::profile::LinuxProfile, mem: &mut dyn VirtMem) -> Option<i64> {
        let mut st = self.slide32.lock().unwrap_or_else(|e| e.into_inner());
        if st.0.is_none() && st.1 < SLIDE_TRIES {
            st.0 = lx::profile::runtime::find_slide_32(mem, prof);
            st.1 += u32::from(st.0.is_none());
        }
        st.0
    }
}

/// The flags of call `name` with arguments `raw` if it is a clone:
/// `Some(None)` when they cannot be read (clone3's are in `mem`, in its
/// struct clone_args, which starts with them); `None` for other calls.
fn clone_flags(name: &str, raw: &[u64], mem: &mut dyn VirtMem) -> Option<Option<u64>> {
    match name {
        "clone" => Some(raw.first().copied()),
        "clone3" => Some(
            raw.first()
                .and_then(|&p| vstrace_core::read::read_u64(mem, p).ok()),
        ),
        _ => None,
    }
}

fn desc(info: &CallInfo) -> Option<&'static SyscallDesc> {
    let abi = abi_of(info);
    match lx::syscall(abi, info.nr) {
        // (old_mmap split into mmap's six arguments keeps its name and
        // number: the register count tells them apart.)
        Some(d) if same_name(d.name, &info.name) && d.regs() == info.nargs => Some(d),
        // A multiplexer's sub-call keeps the multiplexer's number (the
        // kernel's, which strace's -n prints) and its own name.
        _ => lx::proto::subcall_by_name(abi, &info.name),
    }
}

/// Whether two call names are equal, by address first: a known call's
/// [`CallInfo`] borrows its descriptor's name (see [`call_info`]), and
/// this runs several times per call.
fn same_name(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// The engine's description of the known call `d`.
fn call_info(
    tag: &'static str,
    bitness: vstrace_core::Bitness,
    d: &'static SyscallDesc,
) -> CallInfo {
    CallInfo {
        abi: tag,
        bitness,
        nr: d.nr,
        name: d.name.into(),
        // Registers to read (i386's 64-bit pairs take two).
        nargs: d.regs(),
        noreturn: d.is_noreturn(),
        exec: d.is_exec(),
        fork: matches!(d.name, "clone" | "clone3" | "fork" | "vfork"),
        ends_process: d.name == "exit_group",
        returns_elsewhere: matches!(d.name, "rt_sigreturn" | "sigreturn"),
        hints: hints_of(d),
    }
}

/// The questions of the layer that may have an answer for the call `d`
/// (see [`CallHints`]): made once per call number (`calls::known`), so
/// that the exit of most calls asks none of them.
fn hints_of(d: &SyscallDesc) -> CallHints {
    let named = |names: &[&str]| names.contains(&d.name);
    [
        (
            named(lx::structs::RETURN_DETAIL_CALLS),
            CallHints::RETURN_DETAIL,
        ),
        (
            named(lx::structs::RETURN_IN_HEX_CALLS),
            CallHints::RETURN_IN_HEX,
        ),
        (named(lx::structs::netlink::SOCKBUF_CALLS), CallHints::BY_FD),
        (!d.path_args().is_empty(), CallHints::PATH_ARGS),
        (d.name == REAPING_CALL, CallHints::REAPS),
        (!lx::pathtrace::keeps_fd_tables(d), CallHints::CHANGES_NAMES),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .fold(CallHints::NONE, |h, (_, bit)| h.with(bit))
}

/// The one call whose return [`OsLayer::reaped_by_signal`] reads.
const REAPING_CALL: &str = "wait4";

fn abi_of(info: &CallInfo) -> LinuxAbi {
    LinuxAbi::from_bitness(info.bitness)
}

/// The Linux ABI of a record's ABI tag (`x86_64`, `i386`).
fn abi_named(tag: &str) -> Option<LinuxAbi> {
    match tag {
        "x86_64" => Some(LinuxAbi::X86_64),
        "i386" => Some(LinuxAbi::I386),
        _ => None,
    }
}

impl OsLayer for LinuxLayer {
    fn os(&self) -> Os {
        Os::Linux
    }

    fn observe(&mut self, event: &Event, _mem: &mut dyn VirtMem) {
        // Only once callers are asked for: the map cache follows the
        // calls that change maps.
        if !self.callers.load(Ordering::Relaxed) {
            return;
        }
        let abi = LinuxAbi::from_bitness(event.bitness);
        let mut nr = event.regs.rax();
        if event.bitness == vstrace_core::Bitness::B32 {
            nr &= 0xffff_ffff;
        }
        if let Some(d) = lx::syscall(abi, nr) {
            let mut c = self.maps.lock().unwrap_or_else(|e| e.into_inner());
            c.on_enter(space_key(event.cr3), d.name);
        }
    }

    fn identify(&self, event: &Event, nr: u64) -> CallInfo {
        let abi = LinuxAbi::from_bitness(event.bitness);
        let tag = match abi {
            LinuxAbi::X86_64 => "x86_64",
            LinuxAbi::I386 => "i386",
        };
        // strace's numbers of i386's sub-calls are not the kernel's.
        match calls::known(event.bitness, nr) {
            Some(info) => info.clone(),
            None => CallInfo::plain(tag, event.bitness, nr, format!("syscall_{nr:#x}"), 6),
        }
    }

    fn multiplexer(&self, info: &CallInfo) -> bool {
        lx::subcall::is_multiplexer(abi_of(info), &info.name)
    }

    fn split_call(
        &self,
        info: &CallInfo,
        raw: &[u64],
        mem: &mut dyn VirtMem,
    ) -> Option<(CallInfo, Vec<u64>)> {
        let abi = abi_of(info);
        let nargs = |nr| lx::syscall(abi, nr).map_or(0, |d| d.args.len());
        let (nr, args) = lx::subcall::split(&info.name, raw, nargs, mem)?;
        let d = lx::syscall(abi, nr)?;
        // The record keeps the number the kernel was given.
        let mut sub = call_info(info.abi, info.bitness, d);
        sub.nr = info.nr;
        // Its result may come through memory (shmat's).
        sub.hints = sub.hints.with(CallHints::SPLIT_RETURN);
        Some((sub, args))
    }

    fn split_return(&self, c: CallArgs<'_>, ret: i64, mem: &mut dyn VirtMem) -> Option<i64> {
        let d = desc(c.info)?;
        if d.nr == c.info.nr {
            // Not split.
            return None;
        }
        lx::subcall::shmat_result(d.nr, c.raw, ret, mem)
    }

    fn name_of_number(&self, abi: &str, nr: u64) -> Option<String> {
        let abi = abi_named(abi)?;
        lx::syscall(abi, nr)
            .filter(|_| !lx::subcall::is_subcall(abi, nr))
            .map(|d| d.name.to_string())
    }

    fn number_of_name(&self, abi: &str, name: &str) -> Option<u64> {
        lx::by_name(abi_named(abi)?, name).map(|d| d.nr)
    }

    fn all_names(&self) -> Vec<String> {
        // Sorted once: every filter and inject rule asks for the list.
        static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        NAMES
            .get_or_init(|| {
                let mut v: Vec<String> = lx::all(LinuxAbi::X86_64)
                    .chain(lx::all(LinuxAbi::I386))
                    .map(|d| d.name.to_string())
                    .chain(
                        lx::proto::subcall_only_names()
                            .into_iter()
                            .map(String::from),
                    )
                    .collect();
                v.sort();
                v.dedup();
                v
            })
            .clone()
    }

    fn signal_name(&self, sig: u64) -> Option<String> {
        lx::signal_name(sig)
    }

    fn signal_number(&self, name: &str) -> Option<u64> {
        match name.parse::<u64>() {
            Ok(n) => (1..=64).contains(&n).then_some(n),
            Err(_) => lx::consts::signal_by_name(name).filter(|n| (1..=64).contains(n)),
        }
    }

    fn self_signal(&self, abi: &str, sig: u64) -> Option<(u64, Vec<u8>)> {
        let nr = self.number_of_name(abi, "rt_tgsigqueueinfo")?;
        Some((nr, lx::signal::kernel_siginfo(sig)))
    }

    fn saved_reg(
        &self,
        d: &vstrace_core::SignalDelivery,
        reg: vstrace_core::Reg,
    ) -> Option<(u64, usize)> {
        lx::signal::saved_reg(d, reg)
    }

    fn class_members(&self, class: &str) -> Option<Vec<String>> {
        lx::Classes::from_name(class)?;
        Some(
            lx::class_members(class)
                .into_iter()
                .map(str::to_string)
                .collect(),
        )
    }

    fn decode_enter(&self, c: CallArgs<'_>, mem: &mut dyn VirtMem) -> Option<Vec<ArgValue>> {
        // (-X: the constant renderers read the style set here.)
        self.decoding(c.opts.const_style, || {
            desc(c.info).map(|d| lx::decode_enter(d, abi_of(c.info), c.raw, mem, c.opts))
        })
    }

    fn decode_enter_into(
        &self,
        c: CallArgs<'_>,
        mem: &mut dyn VirtMem,
        out: &mut Vec<ArgValue>,
    ) -> bool {
        let Some(d) = desc(c.info) else { return false };
        if d.args.is_empty() {
            // Nothing to decode (getpid, sched_yield): no decoding context.
            vstrace_core::spare::truncate_args(out, 0);
            return true;
        }
        self.decoding(c.opts.const_style, || {
            lx::decode_enter_into(d, abi_of(c.info), c.raw, mem, c.opts, out)
        });
        true
    }

    fn decode_exit(&self, c: CallArgs<'_>, ret: i64, mem: &mut dyn VirtMem, args: &mut [ArgValue]) {
        // (Checked before the decoding's thread-local setup too.)
        if let Some(d) = desc(c.info).filter(|d| !lx::exit_decodes_nothing(d, args)) {
            self.decoding(c.opts.const_style, || {
                lx::decode_exit(d, abi_of(c.info), c.raw, ret, mem, c.opts, args)
            });
        }
    }

    fn return_detail(&self, c: CallArgs<'_>, ret: i64, mem: &mut dyn VirtMem) -> Option<String> {
        let d = desc(c.info)?;
        self.decoding(c.opts.const_style, || {
            lx::structs::return_detail(d, abi_of(c.info), c.raw, ret, mem, c.opts)
        })
    }

    fn return_in_hex(&self, c: CallArgs<'_>, ret: i64) -> bool {
        let Some(d) = desc(c.info) else { return false };
        self.decoding(c.opts.const_style, || {
            lx::structs::return_in_hex(d, abi_of(c.info), c.raw, ret)
        })
    }

    fn reaped_by_signal(
        &self,
        c: CallArgs<'_>,
        ret: i64,
        mem: &mut dyn VirtMem,
    ) -> Option<(u32, String)> {
        // wait4(pid, &status, options, rusage) returning the child's pid.
        if c.info.name != REAPING_CALL || ret <= 0 || ret > i64::from(i32::MAX) {
            return None;
        }
        let status = vstrace_core::read::read_u32(mem, *c.raw.get(1)?).ok()?;
        let sig = u64::from(status & 0x7f);
        // 0: exited; 0x7f: stopped or continued, not dead.
        if sig == 0 || sig == 0x7f {
            return None;
        }
        let name = lx::signal_name(sig).unwrap_or_else(|| sig.to_string());
        let core = if status & 0x80 != 0 {
            " (core dumped)"
        } else {
            ""
        };
        Some((ret as u32, format!("killed by {name}{core}")))
    }

    fn reaps(&self, info: &CallInfo) -> bool {
        info.name == "wait4"
    }

    fn error_message(&self, info: &CallInfo, ret: i64) -> Option<String> {
        // The error as the call's width reads it (i386 sign-extended).
        let value = match desc(info) {
            Some(d) => lx::format_return(d, abi_of(info), ret).value,
            None => ret,
        };
        if let Some(e) = desc(info).and_then(|d| lx::clipped_errno(d, abi_of(info), value)) {
            return lx::errno_message(e).map(str::to_string);
        }
        if (-4095..0).contains(&value) {
            lx::errno_message(-value).map(str::to_string)
        } else {
            None
        }
    }

    fn format_return(&self, info: &CallInfo, ret: i64) -> (String, Option<String>) {
        match desc(info) {
            Some(d) => {
                let r = lx::format_return(d, abi_of(info), ret);
                (r.text, r.errno.map(str::to_string))
            }
            None => {
                if (-4095..0).contains(&ret) {
                    let e = lx::errno_name(-ret);
                    let text = match e {
                        Some(n) => format!("-1 {n} ({})", lx::errno_message(-ret).unwrap_or("")),
                        None => format!("-1 ERRNO_{}", -ret),
                    };
                    (text, e.map(str::to_string))
                } else {
                    (format!("{ret:#x}"), None)
                }
            }
        }
    }

    fn format_return_into(&self, info: &CallInfo, ret: i64, out: &mut String) -> Option<String> {
        match desc(info) {
            Some(d) => lx::format_return_into(d, abi_of(info), ret, out).map(str::to_string),
            None => {
                let (t, e) = self.format_return(info, ret);
                out.push_str(&t);
                e
            }
        }
    }

    fn error_name(&self, info: &CallInfo, ret: i64) -> Option<String> {
        // Errors are -4095..-1 at the call's width: any other return is
        // no error, and costs no text.
        let v = match abi_of(info) {
            LinuxAbi::X86_64 => ret,
            LinuxAbi::I386 => ret as u32 as i32 as i64,
        };
        // (The clipped form is looked up only for a value it may be: most
        // returns are neither, and this runs for every counted call.)
        let clipped = || {
            (0xffff_f000..=0xffff_ffff).contains(&v)
                && desc(info)
                    .and_then(|d| lx::clipped_errno(d, abi_of(info), v))
                    .is_some()
        };
        if (-4095..0).contains(&v) || clipped() {
            self.format_return(info, ret).1
        } else {
            None
        }
    }

    fn error_value(&self, name: &str) -> Option<i64> {
        lx::errno_by_name(name).map(|e| -e)
    }

    fn invalid_nr(&self, info: &CallInfo) -> u64 {
        lx::invalid_nr(abi_of(info))
    }

    fn exec_fixup(&self, c: CallArgs<'_>, sp: u64, mem: &mut dyn VirtMem, args: &mut [ArgValue]) {
        let Some(d) = desc(c.info) else { return };
        let abi = abi_of(c.info);
        let Some(i) = d.args.iter().position(|a| a.ty == lx::ArgType::Argv) else {
            return;
        };
        let unreadable = args
            .get(i)
            .and_then(|a| a.text.as_deref())
            .is_some_and(|v| v.contains(", 0x") || v.starts_with("[0x") || v.starts_with("0x"));
        if !unreadable || i >= c.raw.len() {
            return;
        }
        // The initial stack: argc, then the argv pointers.
        let mut fixed = c.raw.to_vec();
        fixed[i] = sp.wrapping_add(abi.word_size());
        let vals = lx::decode_enter(d, abi, &fixed, mem, c.opts);
        if let Some(v) = vals.into_iter().nth(i).filter(|v| v.text.is_some()) {
            args[i].text = v.text;
            args[i].value = v.value;
        }
    }

    fn attribute(&self, event: &Event, mem: &mut dyn VirtMem) -> Option<ProcInfo> {
        let p = self.in_task_space(event, mem, |m| self.attribute_in(event, m));
        if self.profile.is_some() {
            if p.is_some() {
                self.failures.store(0, Ordering::Relaxed);
            } else if self.failures.fetch_add(1, Ordering::Relaxed) + 1 == FAILURES_BEFORE_WARNING
                && !self.warned.swap(true, Ordering::Relaxed)
            {
                eprintln!(
                    "vstrace: warning: process attribution failed {FAILURES_BEFORE_WARNING} times in a row \
                     (the per-cpu current task does not read back as a task): records have no pid"
                );
            }
        }
        p
    }

    fn ends_last_thread(&self, info: &CallInfo, event: &Event, mem: &mut dyn VirtMem) -> bool {
        // exit(2) ends the thread; the process ends with its last live
        // thread (`signal->live` reaching 0 in do_exit), as exit_group
        // would end it: strace's `+++ exited with N +++`.
        if info.name != "exit" {
            return false;
        }
        let Some(prof) = self.profile.as_ref() else {
            return false;
        };
        let Some(l) = prof.pids.as_ref() else {
            return false;
        };
        let Some(live) = l.signal_live else {
            return false;
        };
        self.in_task_space(event, mem, |m| {
            let task = self.task_in(event, m)?;
            let signal =
                lx::profile::runtime::kernel_ptr(m, prof, task.wrapping_add(l.task_signal))?;
            vstrace_core::read::read_u32(m, signal.wrapping_add(live)).ok()
        }) == Some(1)
    }

    fn current_thread(&self, event: &Event, mem: &mut dyn VirtMem) -> Option<u64> {
        self.in_task_space(event, mem, |m| self.task_in(event, m))
    }

    fn thread_cpu_ns(&self, event: &Event, task: u64, mem: &mut dyn VirtMem) -> Option<u64> {
        let off = self.profile.as_ref()?.task.stime?;
        self.in_task_space(event, mem, |m| {
            vstrace_core::read::read_u64(m, task.wrapping_add(off)).ok()
        })
    }

    fn untouched_zero_end(&self, event: &Event, mem: &mut dyn VirtMem, addr: u64) -> Option<u64> {
        let prof = self.profile.as_ref()?;
        prof.mm.as_ref()?;
        prof.mm_pgd?;
        let mode = Space::current(&event.regs)?.mode;
        // Some(None): the task was read, the failure stands (not to be
        // tried again in the other space).
        self.in_task_space(event, mem, |m| {
            let task = self.task_in(event, m)?;
            Some(lx::untouched::zero_end(
                m,
                prof,
                task,
                event.regs.cr3,
                mode,
                addr,
            ))
        })
        .flatten()
    }

    fn user_space_end_32(&self) -> u64 {
        // Debian's 686 kernels: the 3 GiB / 1 GiB split (PAGE_OFFSET).
        0xc000_0000
    }

    fn signal_delivery(
        &self,
        event: &Event,
        _ip: u64,
        sp: u64,
        cpu: &mut dyn vstrace_core::Cpu,
    ) -> Option<vstrace_core::SignalDelivery> {
        // The frame's layout is that of the code the handler runs in: ia32
        // frames for compat processes and on the i386 kernel.
        // (A handler without SA_SIGINFO: the siginfo is what the signal
        // probe saw, asked for only then.)
        match event.bitness {
            vstrace_core::Bitness::B64 => lx::signal::delivery_64(&event.regs, sp, cpu),
            vstrace_core::Bitness::B32 => lx::signal::delivery_32(&event.regs, sp, cpu),
        }
    }

    fn interrupted_return(
        &self,
        info: &CallInfo,
        raw: &[u64],
        restarted: bool,
    ) -> Option<(i64, String, String)> {
        let code = lx::signal::interrupted_code(&info.name, raw, restarted);
        let name = lx::errno_name(code)?.to_string();
        Some((-code, lx::signal::interrupted_text(code), name))
    }

    fn frame_args(
        &self,
        info: &CallInfo,
        event: &Event,
        mem: &mut dyn VirtMem,
    ) -> Option<Vec<ArgValue>> {
        let sp = event.regs.rsp();
        let mask = match (&*info.name, event.bitness) {
            ("rt_sigreturn", vstrace_core::Bitness::B64) => lx::signal::sigreturn_mask_64(mem, sp)?,
            ("rt_sigreturn", vstrace_core::Bitness::B32) => {
                lx::signal::sigreturn_mask_32(mem, sp, true)?
            }
            ("sigreturn", vstrace_core::Bitness::B32) => {
                lx::signal::sigreturn_mask_32(mem, sp, false)?
            }
            _ => return None,
        };
        Some(vec![ArgValue::with_text("frame", sp, Some(mask))])
    }

    fn fd_args(&self, info: &CallInfo) -> Vec<usize> {
        desc(info)
            .map(|d| {
                d.args
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| matches!(a.ty, lx::ArgType::Fd | lx::ArgType::Dirfd))
                    .map(|(i, _)| d.reg_of(i) + 1)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn trace_targets(
        &self,
        info: &CallInfo,
        raw: &[u64],
        mem: &mut dyn VirtMem,
    ) -> Option<(Vec<i64>, Vec<usize>)> {
        let t = lx::pathtrace::targets(desc(info)?, abi_of(info), raw, mem);
        Some((t.fds, t.paths))
    }

    fn register_fd_targets(&self, info: &CallInfo) -> Option<Vec<usize>> {
        lx::pathtrace::register_fds(desc(info)?, abi_of(info))
    }

    fn register_fd_only_targets(&self, info: &CallInfo) -> Option<Vec<usize>> {
        lx::pathtrace::register_fds_only(desc(info)?, abi_of(info))
    }

    fn keeps_fd_tables(&self, info: &CallInfo) -> bool {
        desc(info).is_some_and(lx::pathtrace::keeps_fd_tables)
    }

    fn may_hide_fd_changes(&self, info: &CallInfo) -> bool {
        desc(info).is_some_and(|d| {
            lx::pathtrace::hides_fd_changes(d) || matches!(d.name, "clone" | "clone3")
        })
    }

    fn hides_fd_changes(&self, info: &CallInfo, raw: &[u64], mem: &mut dyn VirtMem) -> bool {
        let Some(d) = desc(info) else {
            return false;
        };
        if lx::pathtrace::hides_fd_changes(d) {
            return true;
        }
        match clone_flags(d.name, raw, mem) {
            // Unreadable flags: the worst is assumed.
            Some(flags) => flags.is_none_or(lx::pathtrace::clone_splits_fd_table),
            None => false,
        }
    }

    fn fork_shares_space(&self, info: &CallInfo, raw: &[u64], mem: &mut dyn VirtMem) -> bool {
        match desc(info).map(|d| d.name) {
            Some("vfork") => true,
            Some(name) => clone_flags(name, raw, mem)
                .flatten()
                .is_some_and(lx::pathtrace::clone_shares_space),
            None => false,
        }
    }

    fn may_match_targets(&self, info: &CallInfo) -> bool {
        // Unknown calls: matched by their typed arguments (none).
        desc(info).is_some_and(|d| lx::pathtrace::may_match(d, abi_of(info)))
    }

    fn fd_path(&self, event: &Event, mem: &mut dyn VirtMem, fd: i64) -> Option<String> {
        let prof = self.profile.as_ref()?;
        let detail = lx::files::FdDetail::default();
        self.in_task_space(event, mem, |m| {
            let task = self.task_in(event, m)?;
            lx::files::fd_name(m, prof, task, fd, detail)
        })
    }

    fn decode_by_fd(
        &self,
        event: &Event,
        mem: &mut dyn VirtMem,
        user_end: u64,
        call: CallArgs<'_>,
        ret: Option<i64>,
        args: &mut [ArgValue],
    ) {
        // strace decodes a netlink socket's buffer by the socket's
        // protocol, which the kernel knows (see structs::netlink).
        let (Some(prof), Some(d)) = (self.profile.as_ref(), desc(call.info)) else {
            return;
        };
        let abi = abi_of(call.info);
        let Some((index, addr, len)) = lx::structs::netlink::sockbuf(d.name, abi, call.raw, ret)
        else {
            return;
        };
        let Some(slot) = args.get_mut(index) else {
            return;
        };
        let fd = call.raw.first().map_or(-1, |&v| i64::from(v as u32 as i32));
        let Some((family, proto)) = self.in_task_space(event, mem, |m| {
            let task = self.task_in(event, m)?;
            lx::files::socket_protocol(m, prof, task, fd)
        }) else {
            return;
        };
        if family != lx::structs::netlink::AF_NETLINK {
            return;
        }
        let netlink = |mem: &mut dyn VirtMem, names: &[(u32, String)]| {
            let mut user = vstrace_core::mem::UserOnly { mem, end: user_end };
            self.decoding(call.opts.const_style, || {
                lx::structs::netlink::decode_named(
                    &mut user, abi, call.opts, proto, addr, len, names,
                )
            })
        };
        let (mut v, wanted) = netlink(mem, &[]);
        if !wanted.is_empty() {
            // Interface indexes: named from the socket's namespace, then
            // decoded again with the names.
            let names = self
                .in_task_space(event, mem, |m| {
                    let task = self.task_in(event, m)?;
                    Some(lx::files::socket_ifnames(m, prof, task, fd, &wanted))
                })
                .unwrap_or_default();
            if !names.is_empty() {
                v = netlink(mem, &names).0;
            }
        }
        if let Some(v) = v {
            slot.text = Some(v.render());
            slot.value = Some(v);
        }
    }

    fn fd_is_one_of(
        &self,
        event: &Event,
        mem: &mut dyn VirtMem,
        fd: i64,
        paths: &[String],
    ) -> Option<bool> {
        let prof = self.profile.as_ref()?;
        self.in_task_space(event, mem, |m| {
            let task = self.task_in(event, m)?;
            lx::files::fd_is_one_of(m, prof, task, fd, paths)
        })
    }

    fn name_args(
        &self,
        event: &Event,
        mem: &mut dyn VirtMem,
        call: CallArgs<'_>,
        names: &NameOptions,
        args: &mut [ArgValue],
    ) -> Vec<FdPath> {
        self.name_args_kept(event, mem, call, names, args, &mut ())
    }

    fn name_args_kept(
        &self,
        event: &Event,
        mem: &mut dyn VirtMem,
        call: CallArgs<'_>,
        names: &NameOptions,
        args: &mut [ArgValue],
        kept: &mut dyn vstrace_core::KeptNames,
    ) -> Vec<FdPath> {
        let (Some(prof), Some(d)) = (self.profile.as_ref(), desc(call.info)) else {
            return Vec::new();
        };
        // Arguments whose descriptors get names are rendered again: in
        // the call's -X style, as at their decoding.
        self.decoding(call.opts.const_style, || {
            self.in_task_space(event, mem, |m| {
                let task = self.task_in(event, m)?;
                let raw = lx::proto::logical_args(d, call.raw);
                Some(crate::naming::name_args(
                    m, prof, task, d, &raw, names, args, kept,
                ))
            })
            .unwrap_or_default()
        })
    }

    fn name_exit(
        &self,
        event: &Event,
        mem: &mut dyn VirtMem,
        call: CallArgs<'_>,
        ret: i64,
        names: &NameOptions,
        args: &mut [ArgValue],
    ) -> (Option<String>, Vec<FdPath>) {
        let (Some(prof), Some(d)) = (self.profile.as_ref(), desc(call.info)) else {
            return (None, Vec::new());
        };
        self.decoding(call.opts.const_style, || {
            self.in_task_space(event, mem, |m| {
                let task = self.task_in(event, m)?;
                Some(crate::naming::name_exit(
                    m, prof, task, d, call.raw, ret, names, args,
                ))
            })
            .unwrap_or_default()
        })
    }

    fn name_siginfo(
        &self,
        event: &Event,
        mem: &mut dyn VirtMem,
        names: &NameOptions,
        text: &mut String,
    ) {
        let Some(prof) = self.profile.as_ref() else {
            return;
        };
        if !names.pid_ns {
            return;
        }
        let new = self.in_task_space(event, mem, |m| {
            let task = self.task_in(event, m)?;
            crate::naming::name_siginfo(m, prof, task, text)
        });
        if let Some(t) = new {
            *text = t;
        }
    }

    fn caller(&self, event: &Event, mem: &mut dyn VirtMem) -> Option<vstrace_core::Caller> {
        let r = user_regs(event);
        let mut guard = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        let space = self.ensure_map(event, mem, &mut guard);
        // 32-bit calls: the caller of the vDSO's __kernel_vsyscall.
        let ip = match r.arch {
            lx::unwind::Arch::I386 => {
                lx::stack::caller_ip(mem, &mut guard, space, r, &self.host_dirs)
            }
            lx::unwind::Arch::X86_64 => r.ip,
        };
        let cache = &mut *guard;
        let map = cache.maps.get_mut(&space)?;
        let Some(i) = lx::vma::find_index(&map.areas, ip) else {
            return Some(vstrace_core::Caller {
                ip,
                module: None,
                offset: None,
                symbol: None,
            });
        };
        let base = map.bases.get(i).copied().unwrap_or(map.areas[i].start);
        let module = map.areas[i].path.clone();
        let file = map.areas[i].file;
        let shared = &mut cache.syms;
        let syms = map.syms.entry(base).or_insert_with(|| {
            // The same file at the same place in an earlier map (this
            // space's before an mmap, or a forked parent's): its table.
            let key = module
                .clone()
                .filter(|_| file != 0)
                .map(|p| (p, file, base));
            if let Some(t) = key.as_ref().and_then(|k| shared.get(k)) {
                return Some(std::sync::Arc::clone(t));
            }
            let t = lx::modmap::read_dynsym(mem, base).map(std::sync::Arc::new);
            // Only tables read: a forked child's untouched pages may not
            // be readable where its parent's are.
            if let (Some(k), Some(t)) = (key, &t) {
                if shared.len() >= lx::stack::MAX_MODULES {
                    shared.clear();
                }
                shared.insert(k, std::sync::Arc::clone(t));
            }
            t
        });
        let symbol = syms
            .as_ref()
            .and_then(|t| t.lookup(ip))
            .map(|(n, off)| format!("{n}+{off:#x}"));
        Some(vstrace_core::Caller {
            ip,
            module,
            offset: Some(ip.wrapping_sub(base)),
            symbol,
        })
    }

    fn stack(&self, event: &Event, mem: &mut dyn VirtMem) -> Vec<vstrace_core::StackFrame> {
        let regs = user_regs(event);
        let mut cache = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        let space = self.ensure_map(event, mem, &mut cache);
        lx::stack::walk(mem, &mut cache, space, regs, &self.host_dirs)
    }

    fn arg_names(&self, info: &CallInfo) -> Option<Vec<String>> {
        Some(
            desc(info)?
                .args
                .iter()
                .map(|a| a.name.to_string())
                .collect(),
        )
    }

    fn first_exit_arg(&self, info: &CallInfo) -> Option<usize> {
        desc(info)?
            .args
            .iter()
            .position(|a| a.dir != lx::proto::Dir::In)
    }

    fn path_args(&self, info: &CallInfo) -> Vec<usize> {
        desc(info)
            // 1-based registers (after an i386 64-bit pair, one more).
            .map(|d| d.path_args().into_iter().map(|i| d.reg_of(i) + 1).collect())
            .unwrap_or_default()
    }

    /// Linux paths are NUL-terminated strings, read up to `PATH_MAX`.
    fn read_path(&self, sc: &mut Syscall<'_>, idx: usize) -> Option<String> {
        let ptr = sc.arg(idx).ok()?;
        let s = vstrace_core::read::read_cstring(sc.cpu().mem(), ptr, lx::decode::PATH_MAX).ok()?;
        if s.truncated || s.fault.is_some() {
            return None;
        }
        String::from_utf8(s.bytes).ok()
    }

    /// A new string below the caller's stack (see
    /// [`Syscall::set_arg_string`], which notes the old and new text).
    fn write_path(&self, sc: &mut Syscall<'_>, idx: usize, _from: &str, to: &str) -> Option<()> {
        sc.set_arg_string(idx, to).ok().map(|_| ())
    }
}

/// The first user frame of the trap's call: its return point, stack and
/// frame pointers, in the width of the calling code.
fn user_regs(event: &Event) -> lx::unwind::Regs {
    let arch = match event.bitness {
        vstrace_core::Bitness::B64 => lx::unwind::Arch::X86_64,
        _ => lx::unwind::Arch::I386,
    };
    let m = match arch {
        lx::unwind::Arch::X86_64 => u64::MAX,
        lx::unwind::Arch::I386 => u64::from(u32::MAX),
    };
    lx::unwind::Regs {
        ip: lx::stack::return_point(arch, event.mechanism, event.regs.rip()),
        sp: event.regs.rsp() & m,
        bp: event.regs.get(vstrace_core::Reg::Rbp) & m,
        arch,
    }
}

/// An address space's key in the map cache: CR3 without its PCID and
/// PTI bits (the engine's key for the same space).
fn space_key(cr3: u64) -> u64 {
    cr3 & 0x000f_ffff_ffff_e000
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::{Bitness, Mechanism, Regs};

    /// A recording keeps descriptor names across calls without the
    /// CHANGES_NAMES hint: every call that makes, replaces or closes a
    /// descriptor, renames or removes a file, or starts a program or a
    /// thread has it, in both ABIs; the hot calls that only use
    /// descriptors do not.
    #[test]
    fn calls_that_may_change_a_name_say_so() {
        for abi in [LinuxAbi::X86_64, LinuxAbi::I386] {
            let hint = |name| {
                lx::proto::by_name(abi, name).map(|d| hints_of(d).has(CallHints::CHANGES_NAMES))
            };
            for name in [
                "dup2",
                "dup3",
                "close",
                "openat",
                "rename",
                "renameat2",
                "unlink",
                "unlinkat",
                "execve",
                "clone",
                "fcntl",
                "socket",
                "connect",
                "bind",
                "accept4",
                "mount",
                "umount2",
                "chdir",
                "chroot",
                "exit_group",
                "io_uring_enter",
            ] {
                assert_eq!(hint(name), Some(true), "{abi:?} {name}");
            }
            for name in [
                "read", "write", "pwrite64", "readv", "lseek", "fstat", "getpid",
            ] {
                assert_eq!(hint(name), Some(false), "{abi:?} {name}");
            }
        }
    }

    const PERCPU: u64 = 0xffff_8880_3ea0_0000;
    const TASK: u64 = 0xffff_8880_0100_0000;
    const SIGNAL: u64 = 0xffff_8880_0200_0000;

    /// A layer whose running task's process has `live` live threads
    /// (`signal_live` None: a profile without that member).
    fn layer(live_at: Option<u64>) -> LinuxLayer {
        let mut p = lx::profile::layouts::synthetic_profile();
        p.pids = Some(lx::profile::layouts::PidsLayout {
            task_thread_pid: 0x5f0,
            task_signal: 0x7a0,
            task_thread_node: 0x628,
            signal_pids: 0x150,
            signal_thread_head: 0x10,
            signal_live: live_at,
            pid_level: 4,
            pid_numbers: 96,
            upid_size: 16,
            upid_nr: 0,
            upid_ns: 8,
        });
        LinuxLayer::new(Some(p))
    }

    #[test]
    fn exit_ends_the_process_only_from_its_last_live_thread() {
        let mut regs = Regs {
            cs: 0x33,
            k_gs_base: PERCPU,
            ..Regs::default()
        };
        regs.set(vstrace_core::Reg::Rax, 60);
        let event = Event::new(0, Mechanism::Syscall, Bitness::B64, regs);
        let exit = CallInfo::plain("x86_64", Bitness::B64, 60, "exit", 1);
        let exit_group = CallInfo::plain("x86_64", Bitness::B64, 231, "exit_group", 1);
        let mut m = SparseVirt::new();
        m.map(PERCPU + 0x1fbc0, &TASK.to_le_bytes());
        m.map(TASK + 0x7a0, &SIGNAL.to_le_bytes());
        let l = layer(Some(0x24));
        for (live, last) in [(1u32, true), (2, false), (0, false)] {
            m.map(SIGNAL + 0x24, &live.to_le_bytes());
            assert_eq!(
                l.ends_last_thread(&exit, &event, &mut m),
                last,
                "live={live}"
            );
        }
        m.map(SIGNAL + 0x24, &1u32.to_le_bytes());
        // Only exit(2) is asked about; a profile without `live`, or
        // memory that does not read, says no.
        assert!(!l.ends_last_thread(&exit_group, &event, &mut m));
        assert!(!layer(None).ends_last_thread(&exit, &event, &mut m));
        assert!(!l.ends_last_thread(&exit, &event, &mut SparseVirt::new()));
    }
}
