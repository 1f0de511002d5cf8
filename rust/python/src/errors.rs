//! Turning core errors and unsupported dtypes into Python exceptions.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyAny;

use vision_banana_core::Error;

/// Raises a core error as `vision_banana.errors.InvalidArgumentError` (a ValueError).
pub fn to_py_err(py: Python<'_>, error: Error) -> PyErr {
    match py
        .import("vision_banana.errors")
        .and_then(|m| m.getattr("InvalidArgumentError"))
        .and_then(|cls| cls.call1((error.message.clone(),)))
    {
        Ok(instance) => PyErr::from_value(instance),
        Err(import_error) => import_error,
    }
}

pub fn unsupported_dtype(argument: &str, array: &Bound<'_, PyAny>, expected: &str) -> PyErr {
    let dtype = array
        .getattr("dtype")
        .map(|d| d.to_string())
        .unwrap_or_else(|_| "unknown".into());
    PyTypeError::new_err(format!("{argument} must be {expected}, got dtype {dtype}"))
}
