//! Python hooks for vstrace (`--hooks FILE.py`): an embedded CPython
//! (PyO3, linked against the distribution's libpython) that runs a hooks
//! file's `enter_<Name>` / `exit_<Name>` / `enter_any` / `exit_any`
//! functions as engine hooks ([`vstrace_core::hooks::Hooks`]).
//!
//! A hook gets a `syscall` object ([`pysyscall::PySyscall`]) with the
//! Rust [`vstrace_core::Syscall`]'s semantics, and the hooks file sees the
//! `vstrace` module's names (`ObjectAttributes`, `FileAccessMask`, ...,
//! also importable with `from vstrace import ...`). Only calls a function
//! is named for (or every call, with `*_any`) enter Python, and the
//! interpreter lock is taken for each hooked call only. An exception in
//! a hook is the hook's failure: its traceback is printed once per hook
//! and exception type, every one is counted ([`error_summary`]) and
//! noted in the call's record (`error`); tracing goes on.
//!
//! ```no_run
//! use vstrace_core::hooks::Hooks;
//! let mut hooks = Hooks::new();
//! vstrace_python::add_hooks(&mut hooks, &["hooks.py".to_string()], vstrace_python::Mode::Live)
//!     .expect("the hooks file imports");
//! ```

mod interp;
mod json;
mod live;
pub mod pysyscall;
pub mod windows;

use std::collections::BTreeMap;
use std::sync::Mutex;

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyModule};
use vstrace_core::hooks::{HookError, Hooks};
use vstrace_core::Syscall;

use crate::live::Live;
use crate::pysyscall::{PyProcess, PySyscall};

pyo3::create_exception!(
    vstrace,
    SyscallError,
    PyException,
    "A syscall object access failed: an argument at exit, a return value at enter, unreadable guest memory, an object used after its hook returned."
);
pyo3::create_exception!(
    vstrace,
    ReadOnlyError,
    SyscallError,
    "A write (set_arg, set_return_value, skip, write) in a replay: a recording cannot change."
);

/// Why Python hooks could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    /// The hooks file could not be read, compiled or run (the message
    /// holds the Python traceback).
    #[error("--hooks {path}: {message}")]
    Load {
        /// The hooks file.
        path: String,
        /// What went wrong (Python's own error text).
        message: String,
    },
    /// The file defines no function vstrace would call: almost surely a
    /// mistake (a typo in the names).
    #[error(
        "--hooks {path}: defines no hook function (enter_<Name>, exit_<Name>, enter_any, exit_any)"
    )]
    NoHooks {
        /// The hooks file.
        path: String,
    },
}

/// How hooks may touch the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A live guest (`run`, `attach`): writes change what it sees.
    Live,
    /// `replay`: reads come from the recording, writes raise
    /// `vstrace.ReadOnlyError`.
    ReadOnly,
}

/// One hook function of a hooks file.
struct HookFunc {
    /// `enter_NtCreateFile`: the name it was found under, for messages.
    qualname: String,
    func: Py<PyAny>,
}

/// Which engine hook a function name asks for: (enter?, call name or
/// None for every call).
fn parse_name(name: &str) -> Option<(bool, Option<&str>)> {
    let (enter, rest) = if let Some(r) = name.strip_prefix("enter_") {
        (true, r)
    } else if let Some(r) = name.strip_prefix("exit_") {
        (false, r)
    } else {
        return None;
    };
    match rest {
        "" => None,
        "any" => Some((enter, None)),
        call => Some((enter, Some(call))),
    }
}

/// Imports each hooks file (in order) and registers its functions in
/// `hooks`: `enter_<Name>`/`exit_<Name>` on that call, `enter_any` /
/// `exit_any` on every call. Fails, with the Python error, if a file
/// cannot be imported or defines no hook.
pub fn add_hooks(hooks: &mut Hooks, paths: &[String], mode: Mode) -> Result<(), PythonError> {
    // Without hooks files the interpreter is not even started.
    if paths.is_empty() {
        return Ok(());
    }
    interp::init();
    for (i, path) in paths.iter().enumerate() {
        let funcs = Python::with_gil(|py| load_file(py, path, i))?;
        for (name, f) in funcs {
            let Some((enter, call)) = parse_name(&name) else {
                continue;
            };
            let call = call.map(str::to_string);
            let hf = HookFunc {
                qualname: name,
                func: f,
            };
            let run = move |sc: &mut Syscall<'_>| call_hook(&hf, mode, sc);
            match (enter, call) {
                (true, Some(c)) => hooks.on_enter(&c, run),
                (false, Some(c)) => hooks.on_exit(&c, run),
                (true, None) => hooks.on_any_enter(run),
                (false, None) => hooks.on_any_exit(run),
            }
        }
    }
    Ok(())
}

/// Imports the hooks files without registering anything: what the CLI
/// does before the guest starts, so a broken file stops vstrace there.
/// Returns the hook functions found, per file.
pub fn check(paths: &[String]) -> Result<Vec<Vec<String>>, PythonError> {
    interp::init();
    paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let funcs = Python::with_gil(|py| load_file(py, path, i))?;
            Ok(funcs.into_iter().map(|(n, _)| n).collect())
        })
        .collect()
}

/// The `vstrace` module hooks import from (made once per interpreter).
fn vstrace_module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let modules = py.import("sys")?.getattr("modules")?;
    if let Ok(m) = modules.get_item("vstrace") {
        if let Ok(m) = m.downcast_into::<PyModule>() {
            if m.hasattr("Syscall")? {
                return Ok(m);
            }
        }
    }
    let m = PyModule::new(py, "vstrace")?;
    populate(&m)?;
    m.add(
        "__doc__",
        "vstrace: the syscall object's types and the Windows decoders for --hooks files",
    )?;
    modules.set_item("vstrace", &m)?;
    Ok(m)
}

/// Adds the hooks' types and functions (`Syscall`, `ObjectAttributes`,
/// `FileAccessMask`, `ntstatus_name`, the exceptions ...) to `m`: the
/// embedded `vstrace` module, or the pip-installable package's, which
/// hooks files then import from.
pub fn populate(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PySyscall>()?;
    m.add_class::<PyProcess>()?;
    m.add_class::<windows::PyObjectAttributes>()?;
    m.add_class::<windows::PyUnicodeString>()?;
    m.add_class::<windows::PyIoStatusBlock>()?;
    m.add_class::<windows::PyFileAccessMask>()?;
    m.add_function(wrap_pyfunction!(windows::ntstatus_name, m)?)?;
    m.add_function(wrap_pyfunction!(windows::ntstatus, m)?)?;
    m.add("SyscallError", py.get_type::<SyscallError>())?;
    m.add("ReadOnlyError", py.get_type::<ReadOnlyError>())?;
    Ok(())
}

/// The names a hooks file gets without importing them.
const EXPORTED: [&str; 9] = [
    "ObjectAttributes",
    "UnicodeString",
    "IoStatusBlock",
    "FileAccessMask",
    "ntstatus_name",
    "ntstatus",
    "SyscallError",
    "ReadOnlyError",
    "Syscall",
];

/// Runs hooks file `path` as module `vstrace_hooks_<index>` with the
/// exported names in its globals; returns its hook functions.
fn load_file(
    py: Python<'_>,
    path: &str,
    index: usize,
) -> Result<Vec<(String, Py<PyAny>)>, PythonError> {
    let err = |message: String| PythonError::Load {
        path: path.to_string(),
        message,
    };
    let src = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let abs = std::path::absolute(path).map_err(|e| err(e.to_string()))?;
    let run = || -> PyResult<Bound<'_, PyDict>> {
        let vs = vstrace_module(py)?;
        let name = format!("vstrace_hooks_{index}");
        let m = PyModule::new(py, &name)?;
        let d = m.dict();
        d.set_item("__file__", abs.display().to_string())?;
        let builtins = py.import("builtins")?;
        d.set_item("__builtins__", &builtins)?;
        for n in EXPORTED {
            d.set_item(n, vs.getattr(n)?)?;
        }
        let sys = py.import("sys")?;
        sys.getattr("modules")?.set_item(&name, &m)?;
        // Its neighbours import as they would from `python FILE.py`.
        if let Some(dir) = abs.parent() {
            let sys_path = sys.getattr("path")?.downcast_into::<PyList>()?;
            let dir = dir.display().to_string();
            if !sys_path.contains(&dir)? {
                sys_path.insert(0, dir)?;
            }
        }
        let code = builtins
            .getattr("compile")?
            .call1((src, abs.display().to_string(), "exec"))?;
        builtins.getattr("exec")?.call1((code, &d))?;
        Ok(d)
    };
    let d = run().map_err(|e| err(format_exception(py, &e)))?;
    let mut funcs = Vec::new();
    for (k, v) in d.iter() {
        let Ok(k) = k.extract::<String>() else {
            continue;
        };
        if parse_name(&k).is_some() && v.is_callable() {
            funcs.push((k, v.unbind()));
        }
    }
    if funcs.is_empty() {
        return Err(PythonError::NoHooks {
            path: path.to_string(),
        });
    }
    // Registration order: the file's definition order (dicts keep it).
    Ok(funcs)
}

/// Python's own rendering of `e` with its traceback.
fn format_exception(py: Python<'_>, e: &PyErr) -> String {
    let r = (|| -> PyResult<String> {
        let tb = py.import("traceback")?;
        let lines = tb
            .getattr("format_exception")?
            .call1((e.clone_ref(py).into_value(py),))?;
        Ok(lines.extract::<Vec<String>>()?.concat())
    })();
    r.unwrap_or_else(|_| e.to_string()).trim_end().to_string()
}

/// Calls one hook function with a `syscall` object for `sc`.
fn call_hook(f: &HookFunc, mode: Mode, sc: &mut Syscall<'_>) -> Result<(), HookError> {
    interp::keep_thread_state();
    Python::with_gil(|py| {
        let (live, scope) = Live::enter(sc);
        let obj = Py::new(
            py,
            PySyscall {
                live,
                read_only: mode == Mode::ReadOnly,
                hook: None,
            },
        )
        .map_err(|e| HookError::Msg(e.to_string()))?;
        let called = f.func.call1(py, (obj.clone_ref(py),));
        let hook = obj.borrow_mut(py).hook.take();
        drop(scope);
        let mut failed = called.err();
        if let Some(h) = hook {
            match hook_map(py, h.bind(py)) {
                Ok(map) => sc.hook = map,
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        match failed {
            None => Ok(()),
            Some(e) => Err(HookError::Msg(report(py, &f.qualname, &e))),
        }
    })
}

/// `syscall.hook` as the record's map: a dict's items; another JSON-able
/// value under `value`; None clears it.
fn hook_map(
    _py: Python<'_>,
    v: &Bound<'_, PyAny>,
) -> PyResult<serde_json::Map<String, serde_json::Value>> {
    if v.is_none() {
        return Ok(Default::default());
    }
    Ok(match json::to_json(v)? {
        serde_json::Value::Object(m) => m,
        other => {
            let mut m = serde_json::Map::new();
            m.insert("value".into(), other);
            m
        }
    })
}

/// Failures so far per (hook function, exception type).
static ERRORS: Mutex<BTreeMap<(String, String), u64>> = Mutex::new(BTreeMap::new());

/// Counts a hook's exception and prints its traceback the first time this
/// hook raises this type; returns the record's note.
fn report(py: Python<'_>, qualname: &str, e: &PyErr) -> String {
    let kind = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    let first = {
        let mut errors = ERRORS.lock().unwrap_or_else(|p| p.into_inner());
        let n = errors
            .entry((qualname.to_string(), kind.clone()))
            .or_insert(0);
        *n += 1;
        *n == 1
    };
    if first {
        use std::io::Write as _;
        let mut text = format!(
            "vstrace: python hook {qualname} raised {kind} (shown once; tracing goes on, later ones are counted):\n"
        );
        for l in format_exception(py, e).lines() {
            text.push_str("vstrace: | ");
            text.push_str(l);
            text.push('\n');
        }
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
    let msg = e.value(py).to_string();
    format!("{kind}: {msg} (python {qualname})")
}

/// The exceptions Python hooks raised, one line (`None`: none raised):
/// `vstrace: python hooks raised 12 exceptions: enter_any ZeroDivisionError x12`.
pub fn error_summary() -> Option<String> {
    let errors = ERRORS.lock().unwrap_or_else(|p| p.into_inner());
    if errors.is_empty() {
        return None;
    }
    let total: u64 = errors.values().sum();
    let parts: Vec<String> = errors
        .iter()
        .map(|((hook, kind), n)| format!("{hook} {kind} x{n}"))
        .collect();
    Some(format!(
        "vstrace: python hooks raised {total} exception{}: {}",
        if total == 1 { "" } else { "s" },
        parts.join(", ")
    ))
}

/// Prints [`error_summary`] on stderr, if any hook raised.
pub fn print_error_summary() {
    if let Some(s) = error_summary() {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "{s}");
    }
}

#[cfg(test)]
mod tests;
