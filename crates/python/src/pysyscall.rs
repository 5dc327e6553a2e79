//! The `syscall` object a Python hook receives: the Rust [`Syscall`]'s
//! API (arguments 1-based, the return value at exit, writes logged as
//! modifications), guest memory access, the caller, and `hook`, the data
//! the record carries.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use vstrace_core::{Bitness, Direction, Modification, Reg, SyscallError as CoreError};

use crate::live::Live;
use crate::{ReadOnlyError, SyscallError};

/// Most bytes one `read` returns: guest memory is hostile input, a
/// length from it must not allocate without bound.
pub(crate) const MAX_READ: usize = 16 << 20;

/// A [`CoreError`] as the Python exception hooks catch.
pub(crate) fn py_err(e: CoreError) -> PyErr {
    SyscallError::new_err(e.to_string())
}

/// One hooked call (`syscall` in a hook).
#[pyclass(name = "Syscall", module = "vstrace", unsendable)]
pub struct PySyscall {
    pub(crate) live: Live,
    /// Replay: the recording cannot change, writes raise.
    pub(crate) read_only: bool,
    /// `syscall.hook` as the hook left it (None: not touched).
    pub(crate) hook: Option<PyObject>,
}

impl PySyscall {
    fn writable(&self, what: &str) -> PyResult<()> {
        if self.read_only {
            return Err(ReadOnlyError::new_err(format!(
                "replay is read-only: {what} cannot change a recorded call"
            )));
        }
        Ok(())
    }
}

#[pymethods]
impl PySyscall {
    /// The call's name (`openat`, `NtCreateFile`).
    #[getter]
    fn name(&self) -> PyResult<String> {
        self.live.with(|sc| Ok(sc.name.clone()))
    }

    /// The service number register at entry (eax/rax).
    #[getter]
    fn nr(&self) -> PyResult<u64> {
        self.live.with(|sc| Ok(sc.number()))
    }

    /// `linux` or `windows`.
    #[getter]
    fn os(&self) -> PyResult<&'static str> {
        self.live.with(|sc| Ok(sc.os.name()))
    }

    /// The trap instruction (`syscall`, `sysenter`, `int80`, `sysret` ...).
    #[getter]
    fn mechanism(&self) -> PyResult<&'static str> {
        self.live.with(|sc| Ok(sc.event.mechanism.name()))
    }

    /// 32 or 64: the width of the calling code.
    #[getter]
    fn bitness(&self) -> PyResult<u32> {
        self.live.with(|sc| {
            Ok(match sc.event.bitness {
                Bitness::B32 => 32,
                Bitness::B64 => 64,
            })
        })
    }

    /// `enter` or `exit`.
    #[getter]
    fn direction(&self) -> PyResult<&'static str> {
        self.live.with(|sc| {
            Ok(match sc.event.direction {
                Direction::Enter => "enter",
                Direction::Exit => "exit",
            })
        })
    }

    /// The argument names of the call's prototype.
    #[getter]
    fn arg_names(&self) -> PyResult<Vec<String>> {
        self.live.with(|sc| Ok(sc.arg_names.clone()))
    }

    /// The arguments as the text output shows them (exit hooks; at enter
    /// the engine decodes them after the hooks ran, and this is empty).
    #[getter]
    fn args_text(&self) -> PyResult<Vec<Option<String>>> {
        self.live.with(|sc| Ok(sc.arg_text.clone()))
    }

    /// The arguments' typed values as Python objects (exit hooks, like
    /// `args_text`): a path is a `str`, flags a list of names, a
    /// structure a dict, NULL `None`, as in the JSON record's
    /// `args[i].value`.
    #[getter]
    fn args_value(&self, py: Python<'_>) -> PyResult<Vec<PyObject>> {
        let values = self.live.with(|sc| Ok(sc.arg_values.clone()))?;
        values
            .iter()
            .map(|v| match v {
                Some(v) => {
                    let j = serde_json::to_value(v)
                        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
                    crate::json::from_json(py, &j)
                }
                None => Ok(py.None()),
            })
            .collect()
    }

    /// Argument `i` (1-based), zero-extended; enter only.
    fn arg(&self, i: usize) -> PyResult<u64> {
        self.live.with(|sc| sc.arg(i).map_err(py_err))
    }

    /// Arguments 1..=n.
    fn args(&self, n: usize) -> PyResult<Vec<u64>> {
        self.live.with(|sc| sc.args(n).map_err(py_err))
    }

    /// Arguments 1..=n (the seed's name for [`PySyscall::args`]).
    fn collect_args(&self, n: usize) -> PyResult<Vec<u64>> {
        self.args(n)
    }

    /// The argument called `name` in the prototype.
    fn arg_named(&self, name: &str) -> PyResult<u64> {
        self.live.with(|sc| sc.arg_named(name).map_err(py_err))
    }

    /// Argument `i` read as a pointer to a NUL-terminated string.
    #[pyo3(signature = (i, max = 4096))]
    fn arg_string(&self, i: usize, max: usize) -> PyResult<String> {
        self.live
            .with(|sc| sc.arg_string(i, max.min(MAX_READ)).map_err(py_err))
    }

    /// Writes argument `i` where the kernel reads it (logged); `value`
    /// may be negative (-1) or an unsigned 64-bit value.
    fn set_arg(&self, i: usize, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.writable("set_arg")?;
        let v = word(value)?;
        self.live.with(|sc| sc.set_arg(i, v).map_err(py_err))
    }

    /// Writes the argument called `name` (logged).
    fn set_arg_named(&self, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.writable("set_arg_named")?;
        let v = word(value)?;
        self.live
            .with(|sc| sc.set_arg_named(name, v).map_err(py_err))
    }

    /// Points argument `i` at a new NUL-terminated string (written below
    /// the caller's stack); returns its address. Logged with both texts.
    fn set_arg_string(&self, i: usize, s: &str) -> PyResult<u64> {
        self.writable("set_arg_string")?;
        self.live.with(|sc| sc.set_arg_string(i, s).map_err(py_err))
    }

    /// The return value at exit, sign-extended from the call's width.
    #[getter]
    fn return_value(&self) -> PyResult<i64> {
        self.live.with(|sc| sc.return_value().map_err(py_err))
    }

    /// Sets the return value at exit (logged as `retval`).
    fn set_return_value(&self, v: i64) -> PyResult<()> {
        self.writable("set_return_value")?;
        self.live.with(|sc| sc.set_return_value(v).map_err(py_err))
    }

    /// At enter: the call does not run and returns `v`.
    fn skip(&self, v: i64) -> PyResult<()> {
        self.writable("skip")?;
        self.live.with(|sc| sc.skip(v).map_err(py_err))
    }

    /// The caller gets signal `sig` (1..=64) as the call returns (at the
    /// enter with `skip`: the call is denied, then the signal), as
    /// `--inject=SET:signal=SIG` does.
    fn signal(&self, sig: u32) -> PyResult<()> {
        self.writable("signal")?;
        self.live.with(|sc| sc.signal(sig).map_err(py_err))
    }

    /// The registers at the trap, by name (`rax` ... `r15`, `rip`).
    #[getter]
    fn regs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let regs = self.live.with(|sc| Ok(sc.cpu().regs().clone()))?;
        let d = PyDict::new(py);
        for r in Reg::ALL {
            d.set_item(r.name(true), regs.get(r))?;
        }
        d.set_item("cs", regs.cs)?;
        d.set_item("ss", regs.ss)?;
        d.set_item("fs_base", regs.fs_base)?;
        d.set_item("gs_base", regs.gs_base)?;
        Ok(d)
    }

    /// The calling process.
    #[getter]
    fn process(&self) -> PyResult<PyProcess> {
        self.live.with(|sc| {
            let p = sc.process.clone();
            Ok(PyProcess {
                pid: p.as_ref().map(|p| p.pid),
                tid: p.as_ref().map(|p| p.tid),
                ppid: p.as_ref().and_then(|p| p.ppid),
                name: p.and_then(|p| p.comm.as_deref().map(str::to_string)),
                cr3: sc.event.cr3,
                live: self.live.clone(),
            })
        })
    }

    /// `n` bytes of guest memory at `addr` (the call's address space).
    fn read<'py>(&self, py: Python<'py>, addr: u64, n: usize) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.live.with(|sc| read_bytes(sc.cpu().mem(), addr, n))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The NUL-terminated string at `addr` (at most `max` bytes).
    #[pyo3(signature = (addr, max = 4096))]
    fn read_cstring(&self, addr: u64, max: usize) -> PyResult<String> {
        self.live.with(|sc| read_cstring(sc.cpu().mem(), addr, max))
    }

    /// `nbytes` bytes of UTF-16LE text at `addr`.
    fn read_utf16(&self, addr: u64, nbytes: usize) -> PyResult<String> {
        self.live
            .with(|sc| read_utf16(sc.cpu().mem(), addr, nbytes))
    }

    /// Writes `data` into guest memory at `addr` (logged).
    fn write(&self, addr: u64, data: &[u8]) -> PyResult<()> {
        self.writable("write")?;
        if data.len() > MAX_READ {
            return Err(PyValueError::new_err("write: more than 16 MiB"));
        }
        self.live.with(|sc| {
            let mem = sc.cpu().mem();
            let mut before = vec![0u8; data.len()];
            mem.read_virt(addr, &mut before)
                .map_err(|e| py_err(e.into()))?;
            mem.write_virt(addr, data).map_err(|e| py_err(e.into()))?;
            sc.modifications.push(Modification {
                target: format!("mem[{}]", data.len()),
                location: format!("mem:{addr:#x}"),
                before: head_u64(&before),
                after: head_u64(data),
                before_text: Some(hex(&before)),
                after_text: Some(hex(data)),
            });
            Ok(())
        })
    }

    /// Data for the record's `hook` field: a dict (or any JSON-able
    /// value, kept under `value`); the same object across one hook, so
    /// `syscall.hook['k'] = v` works.
    #[getter]
    fn get_hook(&mut self, py: Python<'_>) -> PyResult<PyObject> {
        if let Some(h) = &self.hook {
            return Ok(h.clone_ref(py));
        }
        let map = self.live.with(|sc| Ok(sc.hook.clone()))?;
        let v = crate::json::from_json(py, &serde_json::Value::Object(map))?;
        self.hook = Some(v.clone_ref(py));
        Ok(v)
    }

    #[setter]
    fn set_hook(&mut self, value: PyObject) {
        self.hook = Some(value);
    }

    fn __repr__(&self) -> PyResult<String> {
        self.live.with(|sc| {
            Ok(format!(
                "<syscall {} nr={} {} {:?}>",
                sc.name,
                sc.number(),
                sc.event.mechanism.name(),
                sc.event.direction
            ))
        })
    }
}

/// The caller of a hooked call (`syscall.process`), also what the Windows
/// decoders read memory through.
#[pyclass(name = "Process", module = "vstrace", unsendable)]
pub struct PyProcess {
    /// Process id, when the engine could attribute the call.
    #[pyo3(get)]
    pid: Option<u32>,
    /// Thread id.
    #[pyo3(get)]
    tid: Option<u32>,
    /// Parent process id.
    #[pyo3(get)]
    ppid: Option<u32>,
    /// Process name (comm, image name).
    #[pyo3(get)]
    name: Option<String>,
    /// Address space (CR3) of the call.
    #[pyo3(get)]
    cr3: u64,
    pub(crate) live: Live,
}

#[pymethods]
impl PyProcess {
    fn __repr__(&self) -> String {
        format!(
            "<process pid={:?} tid={:?} name={:?} cr3={:#x}>",
            self.pid, self.tid, self.name, self.cr3
        )
    }
}

/// A Python int as register bits: unsigned 64-bit, or negative (two's
/// complement), as C code would pass it.
fn word(v: &Bound<'_, PyAny>) -> PyResult<u64> {
    match v.extract::<u64>() {
        Ok(u) => Ok(u),
        Err(_) => Ok(v.extract::<i64>()? as u64),
    }
}

fn head_u64(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = b.len().min(8);
    w[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(w)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn read_bytes(mem: &mut dyn vstrace_core::VirtMem, addr: u64, n: usize) -> PyResult<Vec<u8>> {
    if n > MAX_READ {
        return Err(PyValueError::new_err("read: more than 16 MiB"));
    }
    let mut buf = vec![0u8; n];
    mem.read_virt(addr, &mut buf)
        .map_err(|e| py_err(e.into()))?;
    Ok(buf)
}

fn read_cstring(mem: &mut dyn vstrace_core::VirtMem, addr: u64, max: usize) -> PyResult<String> {
    let s = vstrace_core::read::read_cstring(mem, addr, max.min(MAX_READ))
        .map_err(|e| py_err(e.into()))?;
    if let Some(f) = s.fault {
        return Err(py_err(vstrace_core::MemError::Unmapped(f).into()));
    }
    Ok(String::from_utf8_lossy(&s.bytes).into_owned())
}

fn read_utf16(mem: &mut dyn vstrace_core::VirtMem, addr: u64, nbytes: usize) -> PyResult<String> {
    let t = vstrace_core::read::read_utf16(mem, addr, nbytes, MAX_READ)
        .map_err(|e| py_err(e.into()))?;
    Ok(t.text)
}
