//! `syscall.hook` between Python values and the record's JSON, converted
//! directly (what `json.dumps` accepts, without a text round trip on
//! every hooked call).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Deepest nesting converted: a cycle (a list holding itself) or a
/// runaway structure is an error, not a stack overflow.
const MAX_DEPTH: usize = 64;

/// A JSON-able Python value (None, bool, int, float, str, list, tuple,
/// dict with str/int/float/bool/None keys) as JSON; a TypeError for
/// anything else, as `json.dumps` would raise.
pub(crate) fn to_json(v: &Bound<'_, PyAny>) -> PyResult<Value> {
    convert(v, 0)
}

fn convert(v: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(
            "hook data nested too deep (or circular)",
        ));
    }
    if v.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.downcast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if v.is_instance_of::<PyInt>() {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(i.into());
        }
        if let Ok(u) = v.extract::<u64>() {
            return Ok(u.into());
        }
        return Err(PyValueError::new_err(
            "hook data: an integer beyond 64 bits",
        ));
    }
    if let Ok(f) = v.downcast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err("hook data: NaN or infinity is not JSON"));
    }
    if let Ok(s) = v.downcast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_string()));
    }
    if let Ok(d) = v.downcast::<PyDict>() {
        let mut m = Map::new();
        for (k, x) in d.iter() {
            m.insert(key(&k)?, convert(&x, depth + 1)?);
        }
        return Ok(Value::Object(m));
    }
    if let Ok(l) = v.downcast::<PyList>() {
        return l.iter().map(|x| convert(&x, depth + 1)).collect();
    }
    if let Ok(t) = v.downcast::<PyTuple>() {
        return t.iter().map(|x| convert(&x, depth + 1)).collect();
    }
    Err(PyTypeError::new_err(format!(
        "Object of type {} is not JSON serializable",
        v.get_type().name()?
    )))
}

/// A dict key as `json.dumps` writes it.
fn key(k: &Bound<'_, PyAny>) -> PyResult<String> {
    match convert(k, MAX_DEPTH)? {
        Value::String(s) => Ok(s),
        Value::Null => Ok("null".into()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(PyTypeError::new_err(
            "hook data: keys must be str, int, float, bool or None",
        )),
    }
}

/// JSON as the Python value `json.loads` would give.
pub(crate) fn from_json(py: Python<'_>, v: &Value) -> PyResult<PyObject> {
    Ok(match v {
        Value::Null => py.None(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any().unbind(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any().unbind(),
            _ => n
                .as_f64()
                .unwrap_or(0.0)
                .into_pyobject(py)?
                .into_any()
                .unbind(),
        },
        Value::String(s) => PyString::new(py, s).into_any().unbind(),
        Value::Array(a) => {
            let l = PyList::empty(py);
            for x in a {
                l.append(from_json(py, x)?)?;
            }
            l.into_any().unbind()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, from_json(py, x)?)?;
            }
            d.into_any().unbind()
        }
    })
}
