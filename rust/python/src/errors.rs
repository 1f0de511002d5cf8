//! Turning core errors and unsupported dtypes into Python exceptions.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyAny;

use vision_banana_core::Error;

/// An exception of `vision_banana.errors` (`class_name`, e.g. "ImageReadError") with `message`.
pub fn package_error(py: Python<'_>, class_name: &str, message: String) -> PyErr {
    match py
        .import("vision_banana.errors")
        .and_then(|m| m.getattr(class_name))
        .and_then(|cls| cls.call1((message,)))
    {
        Ok(instance) => PyErr::from_value(instance),
        Err(import_error) => import_error,
    }
}

/// Raises a core error as `vision_banana.errors.InvalidArgumentError` (a ValueError).
pub fn to_py_err(py: Python<'_>, error: Error) -> PyErr {
    package_error(py, "InvalidArgumentError", error.message)
}

pub fn unsupported_dtype(argument: &str, array: &Bound<'_, PyAny>, expected: &str) -> PyErr {
    let dtype = array
        .getattr("dtype")
        .map(|d| d.to_string())
        .unwrap_or_else(|_| "unknown".into());
    PyTypeError::new_err(format!("{argument} must be {expected}, got dtype {dtype}"))
}
