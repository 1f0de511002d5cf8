//! Bindings of the PNG reader and writer (`vision_banana_core::png`).

use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyReadonlyArray3};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyAny, PyBytes};

use vision_banana_core::png::{self, Channels, Compression, Image, ReadError, Samples, SamplesRef};

use crate::errors::{package_error, unsupported_dtype};

/// The `ImageReadError` for `error` in the file named `label`.
pub fn read_error(py: Python<'_>, label: &str, error: &ReadError) -> PyErr {
    package_error(
        py,
        "ImageReadError",
        format!("cannot read image {label}: {error}"),
    )
}

/// A decoded image as a new numpy array: (H, W) for one channel, else (H, W, C).
pub fn image_array(py: Python<'_>, image: Image) -> Bound<'_, PyAny> {
    let mut shape = vec![image.height, image.width];
    if image.channels > 1 {
        shape.push(image.channels);
    }
    let shape = IxDyn(&shape);
    let sized = "the reader returns height * width * channels samples";
    match image.samples {
        Samples::U8(v) => ArrayD::from_shape_vec(shape, v)
            .expect(sized)
            .into_pyarray(py)
            .into_any(),
        Samples::U16(v) => ArrayD::from_shape_vec(shape, v)
            .expect(sized)
            .into_pyarray(py)
            .into_any(),
    }
}

/// read_png(data, mode, max_pixels, label) -> uint8 or uint16 array. `mode` is "rgb", "rgba" or
/// "keep"; `label` names the file in error messages.
#[pyfunction]
fn read_png<'py>(
    py: Python<'py>,
    data: PyBackedBytes,
    mode: &str,
    max_pixels: u64,
    label: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let channels = Channels::from_name(mode)
        .ok_or_else(|| PyValueError::new_err(format!("unknown mode {mode:?}")))?;
    let image = py
        .detach(|| png::read(&data, channels, max_pixels))
        .map_err(|e| read_error(py, label, &e))?;
    Ok(image_array(py, image))
}

/// write_png(samples (H, W, C) uint8 or uint16, C-contiguous, compression) -> the file's bytes.
#[pyfunction]
fn write_png<'py>(
    py: Python<'py>,
    samples: &Bound<'py, PyAny>,
    compression: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let level = Compression::from_name(compression).ok_or_else(|| {
        PyValueError::new_err(format!(
            "compression must be one of {:?}, got {compression:?}",
            Compression::NAMES
        ))
    })?;
    let contiguous = "samples must be C-contiguous";
    let encoded = if let Ok(a) = samples.extract::<PyReadonlyArray3<u8>>() {
        let (h, w, c) = a.as_array().dim();
        let s = a
            .as_slice()
            .map_err(|_| PyValueError::new_err(contiguous))?;
        py.detach(|| png::write(SamplesRef::U8(s), h, w, c, level))
    } else if let Ok(a) = samples.extract::<PyReadonlyArray3<u16>>() {
        let (h, w, c) = a.as_array().dim();
        let s = a
            .as_slice()
            .map_err(|_| PyValueError::new_err(contiguous))?;
        py.detach(|| png::write(SamplesRef::U16(s), h, w, c, level))
    } else {
        return Err(unsupported_dtype(
            "samples",
            samples,
            "a 3-d uint8 or uint16 array",
        ));
    };
    let encoded = encoded.map_err(PyValueError::new_err)?;
    Ok(PyBytes::new(py, &encoded))
}

/// The names of the compression levels `write_png` takes, fastest first.
#[pyfunction]
fn png_compression_names() -> Vec<&'static str> {
    Compression::NAMES.to_vec()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_png, m)?)?;
    m.add_function(wrap_pyfunction!(write_png, m)?)?;
    m.add_function(wrap_pyfunction!(png_compression_names, m)?)?;
    Ok(())
}
