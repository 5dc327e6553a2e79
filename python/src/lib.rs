//! The `vstrace` Python package (`pip install ./python`, built by
//! maturin): a recording (`vstrace run/attach --record`) replayed through
//! the engine, with `--hooks` files run read-only on the calls, or a JSON
//! Lines trace, as a list of record dicts, for analysis notebooks:
//!
//! ```python
//! import vstrace
//! for call in vstrace.replay("x.rec", hooks="examples/python/seed_hooks.py"):
//!     if "hook" in call:
//!         print(call["name"], call["hook"]["object_name"])
//! ```
//!
//! The module also carries the hooks' types (`Syscall`, `ObjectAttributes`,
//! `FileAccessMask` ...), so hooks files import them from it.

use std::fs::File;
use std::io::{BufReader, Write};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;
use vstrace_engine::replay::Replay;
use vstrace_engine::{Engine, Format, Hooks, Sink};

/// The records the engine writes, collected in memory.
#[derive(Clone, Default)]
struct Collected(Arc<Mutex<Vec<u8>>>);

impl Write for Collected {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `hooks=`: one path or a list of them.
fn hook_paths(hooks: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    let Some(h) = hooks else {
        return Ok(Vec::new());
    };
    let paths: Vec<String> = match h.extract::<String>() {
        Ok(one) => vec![one],
        Err(_) => h.extract()?,
    };
    paths
        .into_iter()
        .map(|p| {
            std::path::absolute(&p)
                .map(|a| a.display().to_string())
                .map_err(|e| PyOSError::new_err(format!("hooks {p}: {e}")))
        })
        .collect()
}

/// Parses JSON Lines into a list of dicts with Python's json module.
fn json_lines<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyList>> {
    let loads = py.import("json")?.getattr("loads")?;
    let out = PyList::empty(py);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        out.append(loads.call1((line,))?)?;
    }
    Ok(out)
}

/// The records of recording `path` as the engine decodes them (JSON
/// records as dicts), with the functions of the `hooks` files (a path or
/// a list) run read-only on the recorded calls: reads come from the
/// recording, writes raise `vstrace.ReadOnlyError`.
#[pyfunction]
#[pyo3(signature = (path, hooks = None))]
fn replay<'py>(
    py: Python<'py>,
    path: &str,
    hooks: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let paths = hook_paths(hooks)?;
    let f = File::open(path).map_err(|e| PyOSError::new_err(format!("{path}: {e}")))?;
    let rep = Replay::open(BufReader::with_capacity(1 << 16, f))
        .map_err(|e| PyValueError::new_err(format!("{path}: {e}")))?;
    let mut cfg = rep.config.clone();
    cfg.format = Format::Json;
    cfg.summary = false;
    cfg.output = None;
    cfg.record = None;
    cfg.python_hooks = paths.clone();
    let mut engine_hooks = Hooks::new();
    vstrace_python::add_hooks(&mut engine_hooks, &paths, vstrace_python::Mode::ReadOnly)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let out = Collected::default();
    let sink = Sink::from_writer(Box::new(out.clone()), Format::Json, false);
    let os = vstrace_layers::layer(&cfg).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let mut engine = Engine::with_sink(cfg, os, engine_hooks, sink)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let outcome = rep.run(&mut engine);
    if let Some(d) = outcome.damage {
        return Err(PyValueError::new_err(format!(
            "{path}: {d} (after {} events)",
            outcome.events
        )));
    }
    let bytes = std::mem::take(&mut *out.0.lock().unwrap_or_else(|p| p.into_inner()));
    json_lines(py, &String::from_utf8_lossy(&bytes))
}

/// The records of a JSON Lines trace (`vstrace ... --json -o FILE`).
#[pyfunction]
fn read_json<'py>(py: Python<'py>, path: &str) -> PyResult<Bound<'py, PyList>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| PyOSError::new_err(format!("{path}: {e}")))?;
    json_lines(py, &text)
}

/// The exceptions the hooks of this process raised, one line, or None.
#[pyfunction]
fn hook_errors() -> Option<String> {
    vstrace_python::error_summary()
}

/// The `vstrace` module.
#[pymodule]
fn vstrace(m: &Bound<'_, PyModule>) -> PyResult<()> {
    vstrace_python::populate(m)?;
    m.add_function(wrap_pyfunction!(replay, m)?)?;
    m.add_function(wrap_pyfunction!(read_json, m)?)?;
    m.add_function(wrap_pyfunction!(hook_errors, m)?)?;
    Ok(())
}
