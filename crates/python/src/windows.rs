//! Windows typed decoders as Python types (the seed's names and fields):
//! `ObjectAttributes(addr, process)`, `UnicodeString(addr, process)`,
//! `IoStatusBlock(addr, process)`, `FileAccessMask(mask).rights`, and
//! NTSTATUS names. They read guest memory through the hooked call
//! (`syscall.process` or `syscall` itself), at the call's pointer width,
//! with the same readers as the Windows layer, so a Python hook sees what
//! the Rust hooks and the text output see.

use pyo3::prelude::*;
use vstrace_windows::access::{access_mask_rights, ObjectType};
use vstrace_windows::structs::{self, word};

use crate::live::Live;
use crate::pysyscall::{PyProcess, PySyscall};
use crate::SyscallError;

/// The hooked call behind a decoder's `process` argument.
fn live_of(process: &Bound<'_, PyAny>) -> PyResult<Live> {
    if let Ok(p) = process.downcast::<PyProcess>() {
        return Ok(p.borrow().live.clone());
    }
    if let Ok(s) = process.downcast::<PySyscall>() {
        return Ok(s.borrow().live.clone());
    }
    Err(pyo3::exceptions::PyTypeError::new_err(
        "expected syscall.process (or the syscall object)",
    ))
}

fn decode_err(e: structs::DecodeError) -> PyErr {
    SyscallError::new_err(e.to_string())
}

/// UNICODE_STRING: `Length`, `MaximumLength`, `Buffer` (the text; the
/// pointer is `BufferAddress`).
#[pyclass(name = "UnicodeString", module = "vstrace", frozen)]
pub struct PyUnicodeString {
    /// Bytes of text, as the guest says.
    #[pyo3(get, name = "Length")]
    length: u16,
    /// Bytes of buffer, as the guest says.
    #[pyo3(get, name = "MaximumLength")]
    maximum_length: u16,
    /// The text, decoded (capped at the 32767 characters a
    /// UNICODE_STRING can hold).
    #[pyo3(get, name = "Buffer")]
    buffer: String,
    /// The buffer's guest address.
    #[pyo3(get, name = "BufferAddress")]
    buffer_address: u64,
}

impl PyUnicodeString {
    fn read(live: &Live, addr: u64) -> PyResult<PyUnicodeString> {
        live.with(|sc| {
            let b = sc.event.bitness;
            let us = structs::read_unicode(sc.cpu().mem(), word(addr, b), b).map_err(decode_err)?;
            if us.null_buffer {
                return Err(SyscallError::new_err("UNICODE_STRING.Buffer is NULL"));
            }
            if let Some(f) = us.buffer_fault {
                return Err(SyscallError::new_err(format!(
                    "UNICODE_STRING.Buffer unreadable at {f:#x}"
                )));
            }
            Ok(PyUnicodeString {
                length: us.length,
                maximum_length: us.maximum_length,
                buffer: us.text,
                buffer_address: us.buffer,
            })
        })
    }
}

#[pymethods]
impl PyUnicodeString {
    #[new]
    fn new(addr: u64, process: &Bound<'_, PyAny>) -> PyResult<PyUnicodeString> {
        PyUnicodeString::read(&live_of(process)?, addr)
    }

    fn __str__(&self) -> String {
        self.buffer.clone()
    }

    fn __repr__(&self) -> String {
        format!("UnicodeString({:?})", self.buffer)
    }
}

/// OBJECT_ATTRIBUTES, with `ObjectName` decoded (None when NULL).
#[pyclass(name = "ObjectAttributes", module = "vstrace", frozen)]
pub struct PyObjectAttributes {
    /// `Length`: the structure's size, as the guest says.
    #[pyo3(get, name = "Length")]
    length: u32,
    /// `RootDirectory` handle (0: the name is absolute).
    #[pyo3(get, name = "RootDirectory")]
    root_directory: u64,
    /// `ObjectName`, decoded.
    #[pyo3(get, name = "ObjectName")]
    object_name: Option<Py<PyUnicodeString>>,
    /// `Attributes` (OBJ_CASE_INSENSITIVE ...).
    #[pyo3(get, name = "Attributes")]
    attributes: u32,
    /// `SecurityDescriptor` pointer.
    #[pyo3(get, name = "SecurityDescriptor")]
    security_descriptor: u64,
    /// `SecurityQualityOfService` pointer.
    #[pyo3(get, name = "SecurityQualityOfService")]
    security_quality_of_service: u64,
}

#[pymethods]
impl PyObjectAttributes {
    #[new]
    fn new(py: Python<'_>, addr: u64, process: &Bound<'_, PyAny>) -> PyResult<Self> {
        let live = live_of(process)?;
        let oa = live.with(|sc| {
            let b = sc.event.bitness;
            structs::read_object_attributes(sc.cpu().mem(), word(addr, b), b).map_err(decode_err)
        })?;
        let object_name = match oa.object_name {
            0 => None,
            p => Some(Py::new(py, PyUnicodeString::read(&live, p)?)?),
        };
        Ok(PyObjectAttributes {
            length: oa.length,
            root_directory: oa.root_directory,
            object_name,
            attributes: oa.attributes,
            security_descriptor: oa.security_descriptor,
            security_quality_of_service: oa.security_quality_of_service,
        })
    }
}

/// IO_STATUS_BLOCK: `Status` (NTSTATUS) and `Information`.
#[pyclass(name = "IoStatusBlock", module = "vstrace", frozen)]
pub struct PyIoStatusBlock {
    /// `Status`: the NTSTATUS the kernel wrote.
    #[pyo3(get, name = "Status")]
    status: u32,
    /// `Information`: bytes transferred, a create disposition ...
    #[pyo3(get, name = "Information")]
    information: u64,
}

#[pymethods]
impl PyIoStatusBlock {
    #[new]
    fn new(addr: u64, process: &Bound<'_, PyAny>) -> PyResult<Self> {
        let live = live_of(process)?;
        let io = live.with(|sc| {
            let b = sc.event.bitness;
            structs::read_io_status_block(sc.cpu().mem(), word(addr, b), b).map_err(decode_err)
        })?;
        Ok(PyIoStatusBlock {
            status: io.status,
            information: io.information,
        })
    }

    /// The status's name (`STATUS_SUCCESS`), None when unknown.
    #[getter]
    fn status_name(&self) -> Option<&'static str> {
        vstrace_windows::ntstatus_name(self.status)
    }
}

/// A file object's ACCESS_MASK: `rights` is the list of names the text
/// output shows (`FILE_GENERIC_READ`, `SYNCHRONIZE` ...).
#[pyclass(name = "FileAccessMask", module = "vstrace", frozen)]
pub struct PyFileAccessMask {
    /// The mask's value.
    #[pyo3(get)]
    value: u32,
}

#[pymethods]
impl PyFileAccessMask {
    #[new]
    fn new(mask: u64) -> Self {
        // A 32-bit ACCESS_MASK; the argument slot may be wider.
        PyFileAccessMask { value: mask as u32 }
    }

    /// The rights' names, generic groups first, as the text output shows.
    #[getter]
    fn rights(&self) -> Vec<String> {
        access_mask_rights(self.value, ObjectType::File)
            .split('|')
            .map(str::to_string)
            .collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "FileAccessMask({})",
            access_mask_rights(self.value, ObjectType::File)
        )
    }
}

/// The name of an NTSTATUS value (`STATUS_ACCESS_DENIED`), None when
/// unknown. Accepts a return value as hooks see it (sign-extended).
#[pyfunction]
pub fn ntstatus_name(status: i64) -> Option<&'static str> {
    vstrace_windows::ntstatus_name(status as u32)
}

/// The NTSTATUS value of a name (`STATUS_ACCESS_DENIED`), None when
/// unknown: for `set_return_value` / `skip`.
#[pyfunction]
pub fn ntstatus(name: &str) -> Option<u32> {
    vstrace_windows::ntstatus::ntstatus_by_name(name)
}
