//! The seam between the OS-independent engine and an OS layer.
//!
//! The engine pairs enters and exits, scopes, filters, injects and writes
//! records without knowing which kernel it traces; everything that does
//! know (syscall tables, prototypes, decoders, error names, process
//! attribution) sits behind [`OsLayer`], implemented by `vstrace-linux`
//! and `vstrace-windows`. The types here are the vocabulary both sides
//! share: [`CallInfo`] (what a call is), [`ProcInfo`] (who made it),
//! [`ArgValue`] (one decoded argument, as decoders produce it and records
//! carry it) and [`DecodeOptions`] (how much a decoder shows).

use serde::{Deserialize, Serialize};

use crate::value::Value;
use crate::{Bitness, Event, Os, Syscall, VirtMem};

/// What the engine needs to know about one call at enter.
#[derive(Debug, Clone)]
pub struct CallInfo {
    /// ABI tag shown in records: x86_64, i386, nt64, nt32.
    pub abi: &'static str,
    /// The caller's width (the event's): which table and which layouts
    /// decode the call.
    pub bitness: Bitness,
    /// The service number as the layer understands it (the low 32 bits
    /// of eax on Windows).
    pub nr: u64,
    /// The call's name (`openat`, `NtOpenFile`), or a made-up one with
    /// the number for calls the layer does not know. Borrowed from the
    /// layer's tables for known calls: identifying a call allocates nothing.
    pub name: std::borrow::Cow<'static, str>,
    /// How many arguments are read and decoded.
    pub nargs: usize,
    /// The call never returns on success (exit, exit_group).
    pub noreturn: bool,
    /// The call replaces the process image (execve, execveat): a
    /// successful return comes back to a new address space.
    pub exec: bool,
    /// The call creates a process or thread whose first return comes back
    /// to the caller's ip and stack with 0 (clone, fork, vfork, clone3):
    /// the engine matches that return to the parent's call.
    pub fork: bool,
    /// The call ends the whole process (exit_group): its address space
    /// leaves a scoped trace.
    pub ends_process: bool,
    /// The call returns to a context it restores (sigreturn), not to the
    /// instruction after the trap.
    pub returns_elsewhere: bool,
    /// Which of the layer's per-call questions may have an answer for
    /// this call: the engine asks only those (see [`CallHints`]).
    pub hints: CallHints,
}

/// Which of an [`OsLayer`]'s per-call questions may have an answer for
/// one call. The engine asks a question only when its bit is set; a
/// layer that clears a bit promises the method gives its neutral answer
/// for that call (None, false, nothing changed, no index), so the
/// engine skips the call, the table lookup and the name comparisons
/// behind it (issue 18: nothing computed that is not printed). A call
/// the layer knows nothing about has them all ([`CallHints::ALL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallHints(u8);

impl CallHints {
    /// No question has an answer.
    pub const NONE: CallHints = CallHints(0);
    /// [`OsLayer::return_detail`] may append to the return value.
    pub const RETURN_DETAIL: CallHints = CallHints(1);
    /// [`OsLayer::return_in_hex`] may be true.
    pub const RETURN_IN_HEX: CallHints = CallHints(1 << 1);
    /// [`OsLayer::split_return`] may give a result (a multiplexer's
    /// sub-call).
    pub const SPLIT_RETURN: CallHints = CallHints(1 << 2);
    /// [`OsLayer::decode_by_fd`] may change an argument.
    pub const BY_FD: CallHints = CallHints(1 << 3);
    /// [`OsLayer::path_args`] may name an argument.
    pub const PATH_ARGS: CallHints = CallHints(1 << 4);
    /// [`OsLayer::reaped_by_signal`] may see a child killed by a signal.
    pub const REAPS: CallHints = CallHints(1 << 5);
    /// The call may change what a descriptor names, in any process
    /// (open, close, dup, rename, unlink, exec, a socket's bind...): the
    /// names kept per descriptor between calls (`-y`, a recording's
    /// reads for it: see [`OsLayer::name_args_kept`]) start over at its
    /// enter and at its return.
    pub const CHANGES_NAMES: CallHints = CallHints(1 << 6);
    /// Every question may have an answer (a call the layer has no
    /// hints for).
    pub const ALL: CallHints = CallHints(0x7f);

    /// Whether every question of `other` may have an answer.
    pub const fn has(self, other: CallHints) -> bool {
        self.0 & other.0 == other.0
    }

    /// These and `other`'s.
    #[must_use]
    pub const fn with(self, other: CallHints) -> CallHints {
        CallHints(self.0 | other.0)
    }
}

impl CallInfo {
    /// A call with no special control flow (it returns once, to the
    /// instruction after the trap, in the same process): every NT
    /// service, and calls a layer does not know.
    pub fn plain(
        abi: &'static str,
        bitness: Bitness,
        nr: u64,
        name: impl Into<std::borrow::Cow<'static, str>>,
        nargs: usize,
    ) -> CallInfo {
        CallInfo {
            abi,
            bitness,
            nr,
            name: name.into(),
            nargs,
            noreturn: false,
            exec: false,
            fork: false,
            ends_process: false,
            returns_elsewhere: false,
            hints: CallHints::ALL,
        }
    }
}

/// Who made a call, as the OS layer reads it from guest memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    /// Process id (Linux thread group id, Windows UniqueProcessId).
    pub pid: u32,
    /// Thread id (Linux task pid, Windows UniqueThread).
    pub tid: u32,
    /// The parent's process id, when the layer could read it.
    pub ppid: Option<u32>,
    /// The process's short name (Linux `comm`, Windows image file name).
    pub comm: Option<std::sync::Arc<str>>,
}

/// How much a decoder shows (strace's `-s` and `-v`): one set of knobs
/// for every OS layer; a layer maps them onto its own renderers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodeOptions {
    /// Most bytes of a string or buffer printed before `...` (`-s`).
    pub strsize: usize,
    /// Print structures and environments in full (`-v`).
    pub verbose: bool,
    /// How strings escape bytes (strace's `-x`): 0 octal escapes, 1 a
    /// string with any non-ASCII byte all in hex (`-x`), 2 every string
    /// in hex (`-xx`), 3 only the non-ASCII bytes in hex
    /// (`--strings-in-hex=non-ascii-chars`).
    #[serde(default)]
    pub strings_in_hex: u8,
    /// How named constants and flags print (strace's `-X`).
    #[serde(default)]
    pub const_style: ConstStyle,
    /// Read structures and arrays behind pointers (strace's `-e
    /// verbose=`, on by default); off, they print as their addresses.
    #[serde(default = "yes")]
    pub structs: bool,
}

/// serde's default for [`DecodeOptions::structs`].
fn yes() -> bool {
    true
}

/// strace's `-X`/`--const-print-style`: how a named constant or flag set
/// prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstStyle {
    /// `O_RDONLY|O_CLOEXEC` (strace's default).
    #[default]
    Abbrev,
    /// The number only: `0x80000`.
    Raw,
    /// The number and the names in a comment: `0x80000 /* O_CLOEXEC */`.
    Verbose,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            strsize: 32,
            verbose: false,
            strings_in_hex: 0,
            const_style: ConstStyle::Abbrev,
            structs: true,
        }
    }
}

/// What `-y`/`--decode-fds=` and `-Y`/`--decode-pids=` ask to add to
/// fd and pid arguments (strace's `decode_fd_set` and `decode_pid_set`):
/// read from the kernel's structures at decode time, so nothing is paid
/// when all are off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NameOptions {
    /// fd paths (`-y`, `path`): `3</etc/passwd>`.
    pub fd_path: bool,
    /// Socket protocol and addresses (`-yy`, `socket`).
    pub fd_socket: bool,
    /// Device numbers of device files (`-yy`, `dev`).
    pub fd_dev: bool,
    /// The process a pidfd refers to (`-yy`, `pidfd`).
    pub fd_pidfd: bool,
    /// Command names after pids (`-Y`, `comm`): `42<sleep>`.
    pub pid_comm: bool,
    /// A pid the calling task sees under another number than the guest's
    /// initial PID namespace (the tracer's, as strace's own namespace is
    /// strace's) gets that number in a comment (`--decode-pids=pidns`):
    /// `3 /* 1234 in strace's PID NS */`.
    pub pid_ns: bool,
}

impl NameOptions {
    /// Whether anything is asked for fds.
    pub fn fds(&self) -> bool {
        self.fd_path || self.fd_socket || self.fd_dev || self.fd_pidfd
    }
    /// Whether anything is asked at all.
    pub fn any(&self) -> bool {
        self.fds() || self.pid_comm || self.pid_ns
    }
}

/// A descriptor of a call and what it names, as a record carries it
/// (`"fds": [{"fd": 3, "path": "/etc/passwd"}]`): the arguments' fds and
/// a returned one, so JSON consumers need no text option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdPath {
    /// The descriptor number.
    pub fd: i64,
    /// What it names (`/etc/passwd`, `socket:[1234]`, `pipe:[56]`).
    pub path: String,
    /// The file was deleted (strace's `<path>(deleted)`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// Descriptor names a caller keeps between calls of one thread (see
/// [`OsLayer::name_args_kept`]): the layer's own form of each name, as
/// it gave it to [`KeptNames::keep`].
pub trait KeptNames {
    /// The kept name of descriptor `fd`, if it is still valid.
    fn name(&self, fd: i64) -> Option<&str>;
    /// Descriptor `fd` was just read to name `name`, which only a call
    /// changing a descriptor table or a name can change.
    fn keep(&mut self, fd: i64, name: &str);
}

/// Keeps nothing: every descriptor is read.
impl KeptNames for () {
    fn name(&self, _fd: i64) -> Option<&str> {
        None
    }
    fn keep(&mut self, _fd: i64, _name: &str) {}
}

/// Who made a call in user space: the address the call returns to, the
/// module mapped there and the function holding it (JSON: a record's
/// `caller`), when `--caller` asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The user return address (the instruction after the trap).
    pub ip: u64,
    /// The file mapped there (`/lib/x86_64-linux-gnu/libc.so.6`); absent
    /// for anonymous memory or an unreadable map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// `ip` minus the module's load base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// The exported function holding `ip`, as `name+0xoff`, when the
    /// module's dynamic symbols could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
}

/// One frame of a user stack (`-k`; JSON: an element of a record's
/// `stack`): strace's ` > module(symbol) [0xfile_offset]` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackFrame {
    /// The frame's instruction pointer (the trap's return address in the
    /// first frame, a return address in the others).
    pub ip: u64,
    /// The executable file mapped there; absent where strace stops with
    /// `unexpected_backtracing_error` (anonymous or non-executable
    /// memory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// `ip` minus the module's load base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// The function at or below `ip`, as `name+0xoff`, named as strace
    /// names it (the nearest function symbol of `.dynsym`/`.symtab`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// `ip`'s offset in the mapped file (strace's bracketed number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_offset: Option<u64>,
}

/// A signal delivered to a handler, as the OS layer reads it at the
/// return to user mode that enters the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalDelivery {
    /// The signal number.
    pub signo: u32,
    /// Its name (`SIGALRM`).
    pub name: String,
    /// Guest virtual address of the siginfo the handler gets.
    pub info_addr: u64,
    /// The siginfo, strace-style (`{si_signo=SIGALRM, si_code=SI_KERNEL}`).
    pub info: String,
    /// The siginfo as a typed value (`info` is its rendering).
    pub info_value: Value,
    /// User instruction pointer of the interrupted context (what the
    /// handler's sigreturn resumes).
    pub resume_ip: u64,
    /// User stack pointer of the interrupted context.
    pub resume_sp: u64,
    /// The interrupted context's return register: a call's result, or its
    /// number when the kernel restarts the call (`resume_ip` rewound onto
    /// the trap instruction).
    pub saved_ret: u64,
    /// Guest address of the interrupted context's saved general
    /// registers (the frame's sigcontext; what the handler's sigreturn
    /// restores), 0 when unknown; see [`OsLayer::saved_reg`].
    pub context: u64,
    /// The saved context is a 64-bit one (8-byte slots), not ia32's.
    pub context_wide: bool,
}

/// One argument of a call: produced by the OS decoders, carried as is in
/// every record (its JSON form is a record's `args` element:
/// `{"name", "raw", "text", "value"}`: the strace text and the typed
/// value, each left out when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgValue {
    /// The prototype's parameter name (`filename`, `ObjectAttributes`),
    /// or `argN` (1-based) for a call without a prototype. Borrowed from
    /// the layer's prototype table: decoding allocates no name.
    pub name: std::borrow::Cow<'static, str>,
    /// Raw value as the kernel saw it (after any modification); i386
    /// decoders truncate it to 32 bits.
    pub raw: u64,
    /// Rendered value, strace-style; `None` until known (an out-argument
    /// before exit) or when it could not be decoded: the raw value in
    /// hex is shown then. When `value` is set, this is its
    /// [`Value::render`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The typed value `text` renders (JSON: plain values, see
    /// [`crate::value`]). Not read back from JSON: a record read from
    /// its JSON keeps the text only.
    #[serde(default, skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub value: Option<Value>,
}

impl ArgValue {
    /// An argument decoded to the typed value `v` (its text rendered
    /// from it).
    pub fn typed(name: impl Into<std::borrow::Cow<'static, str>>, raw: u64, v: Value) -> ArgValue {
        ArgValue {
            name: name.into(),
            raw,
            text: Some(v.render()),
            value: Some(v),
        }
    }

    /// An argument from a text-only decoder (or none yet: `None`): its
    /// value is the text, [`Value::Opaque`].
    pub fn with_text(
        name: impl Into<std::borrow::Cow<'static, str>>,
        raw: u64,
        text: Option<String>,
    ) -> ArgValue {
        ArgValue {
            name: name.into(),
            raw,
            value: text.clone().map(Value::Opaque),
            text,
        }
    }

    /// Sets the typed value and its text (rendered into the old text's
    /// buffer, if any).
    pub fn set(&mut self, v: Value) {
        let mut t = self.text.take().unwrap_or_else(crate::spare::text);
        t.clear();
        v.render_into(&mut t);
        self.text = Some(t);
        if let Some(old) = self.value.replace(v) {
            crate::spare::give_value(old);
        }
    }

    /// Makes this entry (the argument of an earlier call, kept for its
    /// buffers) the argument `name` = `raw` decoded to `value`, or not
    /// decoded yet (`None`: an out-argument at enter). Equal to
    /// [`ArgValue::typed`] / [`ArgValue::with_text`] with `None`, but the
    /// text is rendered into the old one's buffer.
    pub fn reset(&mut self, name: &'static str, raw: u64, value: Option<Value>) {
        self.name = std::borrow::Cow::Borrowed(name);
        self.raw = raw;
        match value {
            Some(v) => self.set(v),
            None => {
                // Kept for this thread's next decode (see `spare`).
                if let Some(t) = self.text.take() {
                    crate::spare::give_text(t);
                }
                if let Some(old) = self.value.take() {
                    crate::spare::give_value(old);
                }
            }
        }
    }

    /// Sets the text of a text-only decoder (the value becomes that
    /// text, opaque).
    pub fn set_text(&mut self, text: String) {
        self.value = Some(Value::Opaque(text.clone()));
        self.text = Some(text);
    }

    /// The arguments of a call the layer has no prototype for (see
    /// [`OsLayer::decode_enter`]): named `arg1`.. and shown in hex.
    pub fn unknown(raw: &[u64]) -> Vec<ArgValue> {
        raw.iter()
            .enumerate()
            .map(|(i, r)| ArgValue::typed(format!("arg{}", i + 1), *r, Value::Ptr(*r)))
            .collect()
    }
}

/// Argument names `arg1`..`argN` for a call the layer has no prototype
/// for (see [`OsLayer::arg_names`]).
pub fn unknown_arg_names(nargs: usize) -> Vec<String> {
    (1..=nargs).map(|i| format!("arg{i}")).collect()
}

/// One call as a layer decodes it: what it is, its raw arguments (as
/// read at enter, after any modification) and how much to show.
#[derive(Debug, Clone, Copy)]
pub struct CallArgs<'a> {
    /// What [`OsLayer::identify`] said about the call.
    pub info: &'a CallInfo,
    /// The argument values, `info.nargs` of them at most.
    pub raw: &'a [u64],
    /// How much the decoders show.
    pub opts: &'a DecodeOptions,
}

/// An OS layer as the engine uses it: naming, decoding, error values,
/// attribution and how path arguments are read and written.
pub trait OsLayer: Send + Sync {
    /// Which OS this layer decodes (also the records' `os` field, as
    /// `linux` / `windows`).
    fn os(&self) -> Os;
    /// Sees every enter before [`OsLayer::identify`], with the trapping
    /// process's memory: a layer learns what it needs from the guest
    /// (e.g. the Windows version) here. By default nothing.
    fn observe(&mut self, _event: &Event, _mem: &mut dyn VirtMem) {}
    /// Sees every return to user mode (before pairing): the kernel's
    /// own return instruction, which a layer may learn from (the Windows
    /// layer finds the kernel image around it). By default nothing.
    fn observe_exit(&mut self, _event: &Event) {}
    /// Names and describes the call at enter.
    fn identify(&self, event: &Event, nr: u64) -> CallInfo;
    /// Whether this call, with these raw arguments, never returns: for
    /// calls whose fate depends on an argument (Windows' NtTerminateProcess
    /// on the current process). By default, [`CallInfo::noreturn`].
    fn never_returns(&self, info: &CallInfo, _raw: &[u64]) -> bool {
        info.noreturn
    }
    /// The index of the first argument strace prints only at the call's
    /// exit (an out-argument: read's buffer, nanosleep's remaining time),
    /// when there is one: a call that never returns shows the arguments
    /// before it only (`nanosleep({tv_sec=1, tv_nsec=0},  <unfinished
    /// ...>) = ?`). `None` (the default): every argument is printed at the
    /// entry.
    fn first_exit_arg(&self, _info: &CallInfo) -> Option<usize> {
        None
    }
    /// Whether the call `info` (one that never returns but does not end
    /// its process by itself, Linux's `exit`), made at `event`, ends the
    /// process all the same: the caller is its last live thread. `false`
    /// by default (and when it cannot be read).
    fn ends_last_thread(&self, _info: &CallInfo, _event: &Event, _mem: &mut dyn VirtMem) -> bool {
        false
    }
    /// Whether `info` is a multiplexer whose real call is known only from
    /// its arguments (i386's socketcall and ipc): the engine asks
    /// [`OsLayer::split_call`] before filtering it. By default none is.
    fn multiplexer(&self, _info: &CallInfo) -> bool {
        false
    }
    /// The call the multiplexer `info` with register arguments `raw`
    /// makes, as strace shows and filters it: its description and its
    /// arguments (read from `mem` where the multiplexer keeps them).
    /// `None` (the default) leaves the multiplexer as it is.
    fn split_call(
        &self,
        _info: &CallInfo,
        _raw: &[u64],
        _mem: &mut dyn VirtMem,
    ) -> Option<(CallInfo, Vec<u64>)> {
        None
    }
    /// The result to show for a call split by [`OsLayer::split_call`]
    /// that returned `ret`, when the sub-call returns through memory
    /// (i386 ipc's shmat writes the address it attached); `None` (the
    /// default) keeps `ret`.
    fn split_return(&self, _call: CallArgs<'_>, _ret: i64, _mem: &mut dyn VirtMem) -> Option<i64> {
        None
    }
    /// Every syscall name this layer knows (for filter validation).
    fn all_names(&self) -> Vec<String>;
    /// The name of call number `nr` of ABI `abi` (a record's `abi`:
    /// `x86_64`, `i386`), for sets that name calls by number (`-e
    /// trace=42`); None when the ABI has no such call.
    fn name_of_number(&self, _abi: &str, _nr: u64) -> Option<String> {
        None
    }
    /// Members of a class such as `file` (without the `%`), if known.
    fn class_members(&self, class: &str) -> Option<Vec<String>>;
    /// The number of call `name` in ABI `abi` (`x86_64`, `i386`): what
    /// `-e inject=...:syscall=NAME` makes the kernel run instead. None
    /// when the ABI has no such call, and by default.
    fn number_of_name(&self, _abi: &str, _name: &str) -> Option<u64> {
        None
    }
    /// The name of signal number `sig` (`SIGALRM`), for `-e signal=`
    /// sets; None for an OS without signals or a number it has no name
    /// for.
    fn signal_name(&self, _sig: u64) -> Option<String> {
        None
    }
    /// The number of signal `name` as strace's `signal=` takes it
    /// (`USR1`, `SIGUSR1` or a number), for `--inject=SET:signal=`;
    /// None for an OS without signals or a name it does not know.
    fn signal_number(&self, _name: &str) -> Option<u64> {
        None
    }
    /// How a thread queues signal `sig` to itself as strace's injection
    /// does (a kernel-sent siginfo, `si_code=SI_KERNEL`): the call number
    /// for ABI `abi` (`rt_tgsigqueueinfo`, whose arguments are the
    /// thread group, the thread, the signal and the siginfo) and the
    /// siginfo's bytes. None for an OS without signals.
    fn self_signal(&self, _abi: &str, _sig: u64) -> Option<(u64, Vec<u8>)> {
        None
    }
    /// Where delivery `d`'s frame saved register `reg` of the interrupted
    /// context (address, width in bytes): a write there is what the
    /// program has after its handler returns. None by default.
    fn saved_reg(&self, _d: &SignalDelivery, _reg: crate::Reg) -> Option<(u64, usize)> {
        None
    }
    /// Decodes arguments at enter; out-arguments may be left undecoded.
    /// `None`: the layer has no prototype for this call, and the engine
    /// shows the raw values ([`ArgValue::unknown`]).
    fn decode_enter(&self, call: CallArgs<'_>, mem: &mut dyn VirtMem) -> Option<Vec<ArgValue>>;
    /// [`OsLayer::decode_enter`] into `out`, which holds an earlier
    /// call's arguments kept for their buffers (the layer may reuse them
    /// and must leave exactly the new arguments); `false` (and `out`
    /// unspecified) when the layer has no prototype. The default decodes
    /// into a new list.
    fn decode_enter_into(
        &self,
        call: CallArgs<'_>,
        mem: &mut dyn VirtMem,
        out: &mut Vec<ArgValue>,
    ) -> bool {
        match self.decode_enter(call, mem) {
            Some(v) => {
                *out = v;
                true
            }
            None => false,
        }
    }
    /// Decodes out-arguments at exit, completing `args` (from
    /// [`OsLayer::decode_enter`]) once the call `c` returned `ret`.
    fn decode_exit(&self, c: CallArgs<'_>, ret: i64, mem: &mut dyn VirtMem, args: &mut [ArgValue]);
    /// What strace appends in parentheses to a return value, read from
    /// memory at the call's exit (`Timeout`, `in [3], left {...}`, a
    /// time's date): `None` for none, the default.
    fn return_detail(
        &self,
        _call: CallArgs<'_>,
        _ret: i64,
        _mem: &mut dyn VirtMem,
    ) -> Option<String> {
        None
    }
    /// Whether the call `c`'s successful return `ret` is printed in hex
    /// (strace's `RVAL_HEX`: flag words a call returns, `= 0xff
    /// (SECBIT_...)`); `false`, the default, for the number as
    /// [`OsLayer::format_return`] writes it.
    fn return_in_hex(&self, _call: CallArgs<'_>, _ret: i64) -> bool {
        false
    }
    /// A child the call `c` reaped (it returned `ret`), when that child
    /// died of a signal: its pid and strace's words for it (`killed by
    /// SIGKILL`, `killed by SIGSEGV (core dumped)`). A task killed by a
    /// signal dies inside the kernel without returning to user mode, so
    /// its parent's wait is where its death shows from outside. `None`
    /// (the default) for anything else.
    ///
    /// Calls for which [`OsLayer::reaps`] is true are followed even when
    /// `-e trace=` leaves them out, for these deaths.
    fn reaped_by_signal(
        &self,
        _c: CallArgs<'_>,
        _ret: i64,
        _mem: &mut dyn VirtMem,
    ) -> Option<(u32, String)> {
        None
    }
    /// Whether `info` is a wait that may reap a child killed by a signal
    /// ([`OsLayer::reaped_by_signal`]): such calls are process events'
    /// business whatever the filter shows. `false` by default.
    fn reaps(&self, _info: &CallInfo) -> bool {
        false
    }
    /// The return value as records carry it (`ret`), from the value read
    /// at the call's width; Linux keeps it signed (-errno).
    fn record_return(&self, ret: i64) -> i64 {
        ret
    }
    /// The return value as text, and the error name if it is an error.
    fn format_return(&self, info: &CallInfo, ret: i64) -> (String, Option<String>);
    /// [`OsLayer::format_return`] appending the text to `out` (a reused
    /// buffer); returns the error name. The default renders through
    /// `format_return`.
    fn format_return_into(&self, info: &CallInfo, ret: i64, out: &mut String) -> Option<String> {
        let (t, e) = self.format_return(info, ret);
        out.push_str(&t);
        e
    }
    /// The error name of return `ret` if it is an error, without the
    /// return's text: what `-c` needs (it counts errors and prints no
    /// return). A layer overrides it to render nothing for successes.
    fn error_name(&self, info: &CallInfo, ret: i64) -> Option<String> {
        self.format_return(info, ret).1
    }
    /// The message of error return `ret` (`No such file or directory`),
    /// for the record's typed return value; `None` for a success or when
    /// the layer has no text for it.
    fn error_message(&self, _info: &CallInfo, _ret: i64) -> Option<String> {
        None
    }
    /// Value to return for an injected error name (e.g. ENOENT -> -2, or an
    /// NTSTATUS name -> its code).
    fn error_value(&self, name: &str) -> Option<i64>;
    /// A syscall number the kernel rejects without side effects, used to
    /// skip a call.
    fn invalid_nr(&self, info: &CallInfo) -> u64;
    /// After a successful exec, fixes arguments that could not be read at
    /// enter from the new image's initial stack (argv is there, copied by
    /// the kernel). `sp` is the new stack pointer. By default nothing.
    fn exec_fixup(
        &self,
        _call: CallArgs<'_>,
        _sp: u64,
        _mem: &mut dyn VirtMem,
        _args: &mut [ArgValue],
    ) {
    }
    /// The process and thread that made the call, if the layer can tell.
    fn attribute(&self, _event: &Event, _mem: &mut dyn VirtMem) -> Option<ProcInfo> {
        None
    }
    /// Where user space ends under a 32-bit (non-long-mode) kernel: the
    /// OS's split of the 4 GiB (Windows' default 2 GiB; Linux overrides it
    /// with its 3 GiB). Long mode needs none (see
    /// [`crate::mem::user_space_end`]).
    fn user_space_end_32(&self) -> u64 {
        0x8000_0000
    }
    /// A read of the calling process's user memory failed at `addr`, its
    /// page not present: where the range from `addr` that would read as
    /// zeros had the process read it itself ends (a page it never touched
    /// in memory the OS fills with zeros on first use), or `None` when
    /// the failure stands. Asked only after a failed read (see
    /// [`crate::zerofill::ZeroFilled`]); `mem` is the trap's memory, and
    /// every read the answer needs goes through it (so a recording holds
    /// them).
    fn untouched_zero_end(
        &self,
        _event: &Event,
        _mem: &mut dyn VirtMem,
        _addr: u64,
    ) -> Option<u64> {
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
    /// The system CPU time, in nanoseconds, the thread running at the
    /// trap has used, as the guest kernel accounts it: strace `-c`'s time
    /// column is its growth over a call (the tracee's `ru_stime`), not the
    /// wall-clock time (`-w`). `thread` is the running thread's identity
    /// as [`OsLayer::current_thread`] read it for this event (read once,
    /// not again here). `None` when the layer cannot read it (the table
    /// then shows wall-clock time).
    fn thread_cpu_ns(&self, _event: &Event, _thread: u64, _mem: &mut dyn VirtMem) -> Option<u64> {
        None
    }
    /// Recognises a return to user mode (at `ip` with stack `sp`, as the
    /// return frame gives them) that enters a signal handler, and reads
    /// what the kernel saved for it. `None` by default and for any other
    /// return; implementations check the registers before reading memory,
    /// since most returns are from interrupts and page faults. `cpu` is
    /// the trapping vCPU: its memory, and what a kernel probe saw of the
    /// delivery ([`crate::Cpu::probed_signal`]) when the frame lacks it.
    fn signal_delivery(
        &self,
        _event: &Event,
        _ip: u64,
        _sp: u64,
        _cpu: &mut dyn crate::Cpu,
    ) -> Option<SignalDelivery> {
        None
    }
    /// `--decode-pids=pidns` on the siginfo text of a signal delivered
    /// at `event` (`{si_signo=..., si_pid=3, ...}`): the pids in it as
    /// the receiving task sees them get the tracer's number. `mem` reads
    /// the kernel half. Nothing by default.
    fn name_siginfo(
        &self,
        _event: &Event,
        _mem: &mut dyn VirtMem,
        _names: &NameOptions,
        _text: &mut String,
    ) {
    }
    /// How a call a signal interrupted shows its result (the kernel's
    /// restart code, which the program never sees): the value, its text
    /// and its error name. `restarted`: the kernel rewound the call to run
    /// it again after the handler; `raw`: the call's arguments (the code
    /// may depend on them). `None`: shown as it returned.
    fn interrupted_return(
        &self,
        _info: &CallInfo,
        _raw: &[u64],
        _restarted: bool,
    ) -> Option<(i64, String, String)> {
        None
    }
    /// Arguments a call takes from the user stack rather than registers
    /// (rt_sigreturn's frame: strace shows the mask it restores), read at
    /// enter; `None` for calls without.
    fn frame_args(
        &self,
        _info: &CallInfo,
        _event: &Event,
        _mem: &mut dyn VirtMem,
    ) -> Option<Vec<ArgValue>> {
        None
    }
    /// Indices (1-based) of arguments that are file descriptors (for
    /// `-e trace-fds=` and `-P`). None by default.
    fn fd_args(&self, _info: &CallInfo) -> Vec<usize> {
        Vec::new()
    }
    /// What `-P`/`trace-fds=` match call `info` (arguments `raw`) by, when
    /// the layer knows better than its typed fd and path arguments
    /// (strace's pathtrace: descriptors inside arrays and sets read
    /// through `mem`, the caller's user memory; places that depend on
    /// another argument): the descriptors and the 1-based path
    /// arguments. `None`: the typed ones ([`OsLayer::fd_args`],
    /// [`OsLayer::path_args`]).
    fn trace_targets(
        &self,
        _info: &CallInfo,
        _raw: &[u64],
        _mem: &mut dyn VirtMem,
    ) -> Option<(Vec<i64>, Vec<usize>)> {
        None
    }
    /// Whether call `info` can match `-P`/`trace-fds=` at all, whatever
    /// its arguments (it has a descriptor or a path to match): when not,
    /// the filters drop it before anything is read (the early-out). By
    /// default: it has a typed fd or path argument.
    fn may_match_targets(&self, info: &CallInfo) -> bool {
        !self.fd_args(info).is_empty() || !self.path_args(info).is_empty()
    }
    /// The register arguments (1-based) that hold every descriptor
    /// `trace-fds=` matches call `info` by, when they are all in
    /// registers (an early-out then compares them without reading
    /// memory); None when the layer reads memory for them (fd sets,
    /// `pollfd` arrays, argument blocks) or does not know. By default:
    /// None.
    fn register_fd_targets(&self, _info: &CallInfo) -> Option<Vec<usize>> {
        None
    }
    /// The register arguments (1-based) of call `info` when they are
    /// all it is matched by (`-P` reads no path argument and no memory
    /// for it): `-P`'s verdict cache remembers, per address space and
    /// descriptor, that such a call does not match. None by default.
    fn register_fd_only_targets(&self, _info: &CallInfo) -> Option<Vec<usize>> {
        None
    }
    /// Whether call `info` can neither create, close nor replace a
    /// descriptor in any table (`-P`'s verdict cache stays valid across
    /// it). False by default: the cache starts over after the call.
    fn keeps_fd_tables(&self, _info: &CallInfo) -> bool {
        false
    }
    /// Whether call `info` may, depending on its arguments, change
    /// descriptor tables where no traced call shows it (see
    /// [`OsLayer::hides_fd_changes`]): such calls are read whole when
    /// `-P`'s cache is on. True by default.
    fn may_hide_fd_changes(&self, _info: &CallInfo) -> bool {
        true
    }
    /// Whether call `info` with arguments `raw` (`mem`: the caller's
    /// memory) may change descriptor tables unseen (a thread with a
    /// table of its own, asynchronous io_uring work): `-P`'s verdict
    /// cache is then off for good. True by default.
    fn hides_fd_changes(&self, _info: &CallInfo, _raw: &[u64], _mem: &mut dyn VirtMem) -> bool {
        true
    }
    /// Whether the fork-like call `info` with arguments `raw` (`mem`: the
    /// caller's memory, read at the enter) makes a child that shares the
    /// caller's address space (a thread, a vfork child). Such a child's
    /// first return cannot be told from its parent's by the address
    /// space, so the engine does not wait for it: waiting kept every
    /// later return of the guest on the slow path. `false` (a child in a
    /// space of its own, waited for) by default and when unknown.
    fn fork_shares_space(&self, _info: &CallInfo, _raw: &[u64], _mem: &mut dyn VirtMem) -> bool {
        false
    }
    /// What descriptor `fd` of the thread at the trap names (`-P`
    /// matching), read from the kernel; `None` when unknown. `mem` reads
    /// the kernel half (not [`crate::mem::UserOnly`]).
    fn fd_path(&self, _event: &Event, _mem: &mut dyn VirtMem, _fd: i64) -> Option<String> {
        None
    }
    /// Whether descriptor `fd` of the thread at the trap names one of
    /// `paths` (`-P`); None when it names nothing that could be read (not
    /// open, unreadable). By default [`OsLayer::fd_path`] compared. A
    /// layer may reject cheaply before reading the whole path.
    fn fd_is_one_of(
        &self,
        event: &Event,
        mem: &mut dyn VirtMem,
        fd: i64,
        paths: &[String],
    ) -> Option<bool> {
        self.fd_path(event, mem, fd).map(|p| paths.contains(&p))
    }
    /// `-y`/`-Y`: adds names to the decoded fd and pid arguments of a
    /// call (`3</etc/passwd>`, `42<sleep>`) and returns the fds named.
    /// `mem` reads the kernel half. By default nothing.
    fn name_args(
        &self,
        _event: &Event,
        _mem: &mut dyn VirtMem,
        _call: CallArgs<'_>,
        _names: &NameOptions,
        _args: &mut [ArgValue],
    ) -> Vec<FdPath> {
        Vec::new()
    }
    /// [`OsLayer::name_args`] with names kept between calls: a
    /// descriptor in an argument register that `kept` has a name for is
    /// named so without reading the kernel, and a name read now that
    /// only a call changing a descriptor table or a name can change (a
    /// path; not a socket's, which sending may bind) is given to `kept`
    /// (see [`CallHints::CHANGES_NAMES`] for when the caller forgets
    /// them). Descriptors inside structures are named as by `name_args`.
    /// By default `name_args` (every descriptor read, nothing kept).
    fn name_args_kept(
        &self,
        event: &Event,
        mem: &mut dyn VirtMem,
        call: CallArgs<'_>,
        names: &NameOptions,
        args: &mut [ArgValue],
        kept: &mut dyn KeptNames,
    ) -> Vec<FdPath> {
        let _ = kept;
        self.name_args(event, mem, call, names, args)
    }
    /// Decodes again the arguments whose form depends on what a call's
    /// descriptor is in the kernel, which the decoders of
    /// [`OsLayer::decode_enter`] (user memory only) cannot see: strace
    /// shows the buffer of sendto/recvfrom on a netlink socket as netlink
    /// messages of the socket's protocol. At the entry (`ret` None) and at
    /// the exit (after [`OsLayer::decode_exit`]). `mem` reads the kernel
    /// half; the call's own buffers are read below `user_end` only. The
    /// reads are made live and in a recording alike, so a replay decodes
    /// the same. By default nothing.
    fn decode_by_fd(
        &self,
        _event: &Event,
        _mem: &mut dyn VirtMem,
        _user_end: u64,
        _call: CallArgs<'_>,
        _ret: Option<i64>,
        _args: &mut [ArgValue],
    ) {
    }
    /// `-y`/`-Y` at a call's exit: names the fds the kernel wrote into
    /// out-arguments (`pipe2([3<pipe:[12]>, 4<pipe:[12]>], 0)`) and
    /// returns the suffix strace appends to a result that is an fd or a
    /// pid (`</etc/passwd>`, `<sleep>`), with the fds named. By default
    /// nothing.
    fn name_exit(
        &self,
        _event: &Event,
        _mem: &mut dyn VirtMem,
        _call: CallArgs<'_>,
        _ret: i64,
        _names: &NameOptions,
        _args: &mut [ArgValue],
    ) -> (Option<String>, Vec<FdPath>) {
        (None, Vec::new())
    }
    /// `--caller`: who made the call at the enter `event` (the module
    /// and function of its return address). `mem` reads the kernel half.
    /// None by default.
    fn caller(&self, _event: &Event, _mem: &mut dyn VirtMem) -> Option<Caller> {
        None
    }
    /// `-k`: the user stack at the enter `event`, innermost frame first
    /// (bounded). Empty by default.
    fn stack(&self, _event: &Event, _mem: &mut dyn VirtMem) -> Vec<StackFrame> {
        Vec::new()
    }
    /// Argument names from the prototype, in order; `None` without one
    /// (the engine names them [`unknown_arg_names`]).
    fn arg_names(&self, info: &CallInfo) -> Option<Vec<String>>;
    /// Indices (1-based) of arguments that are paths the kernel reads.
    fn path_args(&self, info: &CallInfo) -> Vec<usize>;
    /// The path argument `idx` (one of [`OsLayer::path_args`]) names, read
    /// the way the kernel will; `None` when it cannot be read in full.
    fn read_path(&self, sc: &mut Syscall<'_>, idx: usize) -> Option<String>;
    /// Makes path argument `idx`, which names `from`, name `to` instead,
    /// leaving the caller's own memory untouched, and notes the change
    /// in the call's last modification. `None` when it could not.
    fn write_path(&self, sc: &mut Syscall<'_>, idx: usize, from: &str, to: &str) -> Option<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_combine_and_a_call_without_any_has_them_all() {
        let h = CallHints::NONE.with(CallHints::RETURN_DETAIL);
        assert!(h.has(CallHints::RETURN_DETAIL) && !h.has(CallHints::PATH_ARGS));
        assert!(h.has(CallHints::NONE));
        let plain = CallInfo::plain("nt64", Bitness::B64, 7, "NtFoo", 3);
        for bit in [
            CallHints::RETURN_DETAIL,
            CallHints::RETURN_IN_HEX,
            CallHints::SPLIT_RETURN,
            CallHints::BY_FD,
            CallHints::PATH_ARGS,
            CallHints::REAPS,
        ] {
            assert!(plain.hints.has(bit) && !CallHints::NONE.has(bit));
        }
        assert_eq!(plain.hints, CallHints::ALL);
    }

    #[test]
    fn arg_json_has_text_and_value() {
        let a = ArgValue::typed("fd", 3, Value::dec(3));
        let j = serde_json::to_string(&a).unwrap();
        assert_eq!(j, r#"{"name":"fd","raw":3,"text":"3","value":3}"#);
        let none = ArgValue::with_text("fd", 3, None);
        let j = serde_json::to_string(&none).unwrap();
        assert_eq!(j, r#"{"name":"fd","raw":3}"#);
        assert_eq!(serde_json::from_str::<ArgValue>(&j).unwrap(), none);
        // Read back from JSON, the text stays and the value does not.
        let back: ArgValue =
            serde_json::from_str(r#"{"name":"fd","raw":3,"text":"3","value":3}"#).unwrap();
        assert_eq!((back.text.as_deref(), back.value), (Some("3"), None));
    }

    #[test]
    fn unknown_calls_are_shown_in_hex() {
        let v = ArgValue::unknown(&[1, 0x20]);
        assert_eq!(v[1].name, "arg2");
        assert_eq!(v[1].text.as_deref(), Some("0x20"));
        assert_eq!(ArgValue::unknown(&[0])[0].text.as_deref(), Some("0x0"));
        assert_eq!(unknown_arg_names(2), ["arg1", "arg2"]);
    }
}
