//! Hooks registry: user callbacks run on syscall enter/exit, by syscall
//! name or for every call.
//!
//! A hook is user code: its errors and panics are caught, counted per hook
//! name and reported, never fatal to tracing.

use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::event::Direction;
use crate::syscall::{Syscall, SyscallError};

/// Error returned by a hook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    /// An error the hook made up (from a `String` or `&str`).
    #[error("{0}")]
    Msg(String),
    /// A [`Syscall`] access the hook made failed.
    #[error(transparent)]
    Syscall(#[from] SyscallError),
}

impl From<String> for HookError {
    fn from(s: String) -> Self {
        HookError::Msg(s)
    }
}

impl From<&str> for HookError {
    fn from(s: &str) -> Self {
        HookError::Msg(s.to_string())
    }
}

/// A hook callback.
pub type HookFn = Box<dyn FnMut(&mut Syscall<'_>) -> Result<(), HookError> + Send>;

/// Key under which hooks registered with `on_any_*` are counted.
pub const ANY: &str = "*";

/// One hook that failed during a dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookFailure {
    /// The name the hook was registered under ([`ANY`] for catch-all hooks).
    pub hook: String,
    /// Whether the hook ran on the call's enter or its exit.
    pub direction: Direction,
    /// The hook's error message or panic payload.
    pub message: String,
    /// True if the hook panicked, false if it returned an error.
    pub panicked: bool,
}

/// Registered hooks and their failure counts.
///
/// Register callbacks by syscall name (`on_enter`, `on_exit`) or for every
/// call (`on_any_enter`, `on_any_exit`); the engine calls
/// [`Hooks::dispatch`] with the call's name for every event, and each
/// hook gets the [`Syscall`] to read and change.
///
/// ```
/// use vstrace_core::cpu::SnapshotCpu;
/// use vstrace_core::hooks::Hooks;
/// use vstrace_core::testmem::SparseVirt;
/// use vstrace_core::{Bitness, Event, Mechanism, Os, Reg, Regs, Syscall};
///
/// let mut hooks = Hooks::new();
/// // Every read(2) gets at most 512 bytes...
/// hooks.on_enter("read", |sc| {
///     if sc.arg(3)? > 512 {
///         sc.set_arg(3, 512)?;
///     }
///     Ok(())
/// });
/// // ...and every close(2) reports success, whatever the kernel said.
/// hooks.on_exit("close", |sc| {
///     if sc.return_value()? < 0 {
///         sc.set_return_value(0)?;
///     }
///     Ok(())
/// });
///
/// // The engine's side: a Linux x86-64 read(3, buf, 4096) enters.
/// let mut regs = Regs::default();
/// regs.set(Reg::Rax, 0);
/// regs.set(Reg::Rdi, 3);
/// regs.set(Reg::Rdx, 4096);
/// let mut mem = SparseVirt::new();
/// let mut cpu = SnapshotCpu { regs: regs.clone(), mem: &mut mem };
/// let event = Event::new(0, Mechanism::Syscall, Bitness::B64, regs);
/// let mut sc = Syscall::new(event, Os::Linux, &mut cpu);
/// assert!(hooks.dispatch("read", &mut sc).is_empty());
/// drop(sc);
/// assert_eq!(cpu.regs.get(Reg::Rdx), 512);
///
/// // close(3) returns -EBADF.
/// let mut regs = Regs::default();
/// regs.set(Reg::Rax, -9i64 as u64);
/// let mut cpu = SnapshotCpu { regs: regs.clone(), mem: &mut mem };
/// let event = Event::new(0, Mechanism::Sysret, Bitness::B64, regs);
/// let mut sc = Syscall::new(event, Os::Linux, &mut cpu);
/// assert!(hooks.wants("close", sc.event.direction));
/// hooks.dispatch("close", &mut sc);
/// assert_eq!(sc.return_value().unwrap(), 0);
/// ```
#[derive(Default)]
pub struct Hooks {
    enter: HashMap<String, Vec<HookFn>>,
    exit: HashMap<String, Vec<HookFn>>,
    any_enter: Vec<HookFn>,
    any_exit: Vec<HookFn>,
    errors: BTreeMap<String, u64>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("enter", &self.enter.keys().collect::<Vec<_>>())
            .field("exit", &self.exit.keys().collect::<Vec<_>>())
            .field("any_enter", &self.any_enter.len())
            .field("any_exit", &self.any_exit.len())
            .field("errors", &self.errors)
            .finish()
    }
}

impl Hooks {
    /// An empty registry: no hook runs until one is registered.
    pub fn new() -> Hooks {
        Hooks::default()
    }

    /// Runs `f` when syscall `name` enters.
    pub fn on_enter<F>(&mut self, name: &str, f: F)
    where
        F: FnMut(&mut Syscall<'_>) -> Result<(), HookError> + Send + 'static,
    {
        self.enter
            .entry(name.to_string())
            .or_default()
            .push(Box::new(f));
    }

    /// Runs `f` when syscall `name` returns.
    pub fn on_exit<F>(&mut self, name: &str, f: F)
    where
        F: FnMut(&mut Syscall<'_>) -> Result<(), HookError> + Send + 'static,
    {
        self.exit
            .entry(name.to_string())
            .or_default()
            .push(Box::new(f));
    }

    /// Runs `f` on every syscall entry (after the by-name hooks).
    pub fn on_any_enter<F>(&mut self, f: F)
    where
        F: FnMut(&mut Syscall<'_>) -> Result<(), HookError> + Send + 'static,
    {
        self.any_enter.push(Box::new(f));
    }

    /// Runs `f` on every syscall exit (after the by-name hooks).
    pub fn on_any_exit<F>(&mut self, f: F)
    where
        F: FnMut(&mut Syscall<'_>) -> Result<(), HookError> + Send + 'static,
    {
        self.any_exit.push(Box::new(f));
    }

    /// Whether any hook would run for `name` in `direction` (lets the
    /// engine skip work on the fast path).
    pub fn wants(&self, name: &str, direction: Direction) -> bool {
        let (by_name, any) = match direction {
            Direction::Enter => (&self.enter, &self.any_enter),
            Direction::Exit => (&self.exit, &self.any_exit),
        };
        !any.is_empty() || by_name.get(name).is_some_and(|v| !v.is_empty())
    }

    /// Whether no hook is registered at all.
    pub fn is_empty(&self) -> bool {
        self.enter.is_empty()
            && self.exit.is_empty()
            && self.any_enter.is_empty()
            && self.any_exit.is_empty()
    }

    /// Runs the hooks for `name` in the event's direction: by-name hooks
    /// first, then catch-all ones, each in registration order. Errors and
    /// panics are caught, counted and returned; every hook runs regardless.
    ///
    /// ```
    /// # use vstrace_core::cpu::SnapshotCpu;
    /// # use vstrace_core::hooks::{Hooks, ANY};
    /// # use vstrace_core::testmem::SparseVirt;
    /// # use vstrace_core::{Bitness, Event, Mechanism, Os, Regs, Syscall};
    /// let mut hooks = Hooks::new();
    /// hooks.on_enter("openat", |sc| {
    ///     // A Syscall error converts with `?`: there is no return value at enter.
    ///     sc.return_value()?;
    ///     Ok(())
    /// });
    /// hooks.on_any_enter(|_| panic!("bug in a hook"));
    /// let seen = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    /// let counter = seen.clone();
    /// hooks.on_any_enter(move |_| {
    ///     counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ///     Ok(())
    /// });
    ///
    /// # let mut mem = SparseVirt::new();
    /// # let mut cpu = SnapshotCpu { regs: Regs::default(), mem: &mut mem };
    /// let event = Event::new(0, Mechanism::Syscall, Bitness::B64, Regs::default());
    /// let mut sc = Syscall::new(event, Os::Linux, &mut cpu);
    /// let failures = hooks.dispatch("openat", &mut sc);
    ///
    /// assert_eq!(failures.len(), 2);
    /// assert_eq!(failures[0].hook, "openat");
    /// assert!(!failures[0].panicked);
    /// assert_eq!((failures[1].hook.as_str(), failures[1].panicked), (ANY, true));
    /// assert_eq!(failures[1].message, "bug in a hook");
    /// // The hook after the panicking one still ran.
    /// assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 1);
    /// assert_eq!(hooks.error_counts().get("openat"), Some(&1));
    /// ```
    pub fn dispatch(&mut self, name: &str, sc: &mut Syscall<'_>) -> Vec<HookFailure> {
        let direction = sc.event.direction;
        let (by_name, any) = match direction {
            Direction::Enter => (&mut self.enter, &mut self.any_enter),
            Direction::Exit => (&mut self.exit, &mut self.any_exit),
        };
        let mut failures = Vec::new();
        if let Some(hooks) = by_name.get_mut(name) {
            for f in hooks.iter_mut() {
                if let Some(fail) = run_one(f, name, direction, sc) {
                    failures.push(fail);
                }
            }
        }
        for f in any.iter_mut() {
            if let Some(fail) = run_one(f, ANY, direction, sc) {
                failures.push(fail);
            }
        }
        for fail in &failures {
            *self.errors.entry(fail.hook.clone()).or_insert(0) += 1;
        }
        failures
    }

    /// Failures (errors and panics) so far, per hook name ([`ANY`] for
    /// catch-all hooks).
    pub fn error_counts(&self) -> &BTreeMap<String, u64> {
        &self.errors
    }
}

fn run_one(
    f: &mut HookFn,
    hook: &str,
    direction: Direction,
    sc: &mut Syscall<'_>,
) -> Option<HookFailure> {
    // AssertUnwindSafe: a hook that panics may leave its own captured
    // state inconsistent; that is the hook's business. The Syscall keeps
    // only completed writes (each write is logged after it lands).
    let (message, panicked) = match catch_unwind(AssertUnwindSafe(|| f(sc))) {
        Ok(Ok(())) => return None,
        Ok(Err(e)) => (e.to_string(), false),
        Err(payload) => {
            let msg = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "hook panicked".to_string()
            };
            (msg, true)
        }
    };
    Some(HookFailure {
        hook: hook.to_string(),
        direction,
        message,
        panicked,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::abi::Os;
    use crate::cpu::SnapshotCpu;
    use crate::event::{Bitness, Event, Mechanism};
    use crate::regs::{Reg, Regs};
    use crate::testmem::SparseVirt;

    type Log = Arc<Mutex<Vec<String>>>;

    fn logger(
        log: &Log,
        tag: &'static str,
    ) -> impl FnMut(&mut Syscall<'_>) -> Result<(), HookError> + Send {
        let log = log.clone();
        move |_sc| {
            log.lock().unwrap().push(tag.to_string());
            Ok(())
        }
    }

    /// Dispatches `name` for a Linux x86-64 event in `mech`'s direction;
    /// returns the failures and the final rdi.
    fn run(hooks: &mut Hooks, name: &str, mech: Mechanism) -> (Vec<HookFailure>, u64) {
        let mut regs = Regs::default();
        regs.set(Reg::Rdi, 7);
        let mut mem = SparseVirt::new();
        let mut cpu = SnapshotCpu {
            regs: regs.clone(),
            mem: &mut mem,
        };
        let ev = Event::new(0, mech, Bitness::B64, regs);
        let mut sc = Syscall::new(ev, Os::Linux, &mut cpu);
        let f = hooks.dispatch(name, &mut sc);
        drop(sc);
        (f, cpu.regs.get(Reg::Rdi))
    }

    #[test]
    fn dispatch_by_name_and_direction() {
        let log: Log = Default::default();
        let mut h = Hooks::new();
        assert!(h.is_empty());
        h.on_enter("openat", logger(&log, "openat-enter"));
        h.on_exit("openat", logger(&log, "openat-exit"));
        h.on_enter("read", logger(&log, "read-enter"));
        assert!(h.wants("openat", Direction::Enter));
        assert!(!h.wants("write", Direction::Enter));
        assert!(!h.wants("read", Direction::Exit));
        run(&mut h, "openat", Mechanism::Syscall);
        run(&mut h, "openat", Mechanism::Sysret);
        run(&mut h, "write", Mechanism::Syscall);
        assert_eq!(*log.lock().unwrap(), ["openat-enter", "openat-exit"]);

        h.on_any_enter(logger(&log, "any-enter"));
        h.on_any_exit(logger(&log, "any-exit"));
        h.on_enter("write", logger(&log, "write-enter"));
        assert!(h.wants("anything", Direction::Exit));
        log.lock().unwrap().clear();
        run(&mut h, "write", Mechanism::Syscall);
        run(&mut h, "close", Mechanism::Iret);
        assert_eq!(
            *log.lock().unwrap(),
            ["write-enter", "any-enter", "any-exit"]
        );
        assert!(h.error_counts().is_empty());
    }

    #[test]
    fn hooks_can_modify_arguments() {
        let mut h = Hooks::new();
        h.on_enter("openat", |sc| {
            let v = sc.arg(1)?;
            sc.set_arg(1, v + 1)?;
            Ok(())
        });
        let (fails, rdi) = run(&mut h, "openat", Mechanism::Syscall);
        assert!(fails.is_empty());
        assert_eq!(rdi, 8);
    }

    #[test]
    fn errors_and_panics_are_counted_not_fatal() {
        let log: Log = Default::default();
        let mut h = Hooks::new();
        h.on_enter("openat", |_| Err(HookError::Msg("nope".into())));
        h.on_enter("openat", |_| panic!("hook blew up"));
        h.on_enter("openat", |sc| {
            // A SyscallError converts through `?`.
            sc.return_value()?;
            Ok(())
        });
        h.on_enter("openat", logger(&log, "still-runs"));
        h.on_any_enter(|_| Err("any failed".into()));
        h.on_any_enter(|_| std::panic::panic_any(42u32));

        for round in 1..=2u64 {
            let (fails, _) = run(&mut h, "openat", Mechanism::Syscall);
            assert_eq!(fails.len(), 5);
            assert_eq!(fails[0].message, "nope");
            assert!(!fails[0].panicked);
            assert_eq!(fails[1].message, "hook blew up");
            assert!(fails[1].panicked);
            assert!(
                fails[2].message.contains("return value"),
                "{}",
                fails[2].message
            );
            assert_eq!(fails[3].hook, ANY);
            assert_eq!(fails[4].message, "hook panicked");
            assert!(fails.iter().all(|f| f.direction == Direction::Enter));
            assert_eq!(h.error_counts().get("openat"), Some(&(3 * round)));
            assert_eq!(h.error_counts().get(ANY), Some(&(2 * round)));
        }
        assert_eq!(log.lock().unwrap().len(), 2);
        // Other names only hit the catch-all hooks.
        let (fails, _) = run(&mut h, "close", Mechanism::Syscall);
        assert_eq!(fails.len(), 2);
        assert_eq!(h.error_counts().get("close"), None);
    }
}
