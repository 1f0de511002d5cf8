//! Binding of `vision_banana_core::files`: many files decoded on worker threads, the results
//! taken one by one from Python (waiting without the GIL).

use std::path::PathBuf;
use std::sync::Arc;

use numpy::ndarray::{Array2, Array3};
use numpy::{IntoPyArray, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyAny, PyBytes};

use vision_banana_core::colormap::Colormap;
use vision_banana_core::depth::Scalar;
use vision_banana_core::files::{self, Decoded, FileError, Labels, Ordered, Output, Source, Task};
use vision_banana_core::normals::NormalDecoding;
use vision_banana_core::PowerTransform;

use crate::errors::{package_error, to_py_err};
use crate::instances::{arrays, params, ParamTuple};
use crate::png::read_error;
use crate::semantic::{shared_palette, wide_labels};

/// (lam, c, max_depth, colormap, return_distance)
type DepthOptions = (f64, f64, f64, String, bool);
/// (renormalize, opencv, sky in [0, 1], sky_tolerance in [0, 1], norm_range)
type NormalOptions = (bool, bool, [f64; 3], f64, (f64, f64));
/// (colors (K, 3) float64, labels (K,) uint32, max_distance, ignore_index, return_distance)
type SemanticOptions<'py> = (
    PyReadonlyArray2<'py, f64>,
    PyReadonlyArray1<'py, u32>,
    Option<f64>,
    u32,
    bool,
);

/// The results of `decode_files`, in input order: per source the decoder's arrays, an exception
/// instance, or (for data that is no PNG) the file's bytes for the Python readers.
#[pyclass(module = "vision_banana._core")]
struct FileDecoding {
    results: Ordered<Result<Output, FileError>>,
    labels: Vec<String>,
    next: usize,
}

#[pymethods]
impl FileDecoding {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let results = &mut self.results;
        let Some(result) = py.detach(|| results.next_result()) else {
            return Ok(None);
        };
        let label = &self.labels[self.next];
        self.next += 1;
        let item = match result {
            Ok(output) => output_arrays(py, output)?,
            Err(error) => error_item(py, label, error),
        };
        Ok(Some(item.unbind()))
    }

    fn __len__(&self) -> usize {
        self.results.remaining()
    }
}

/// An error as the item Python gets: an exception instance, or the bytes of data that is no PNG.
fn error_item<'py>(py: Python<'py>, label: &str, error: FileError) -> Bound<'py, PyAny> {
    let exception = match error {
        FileError::NotPng(data) => return PyBytes::new(py, &data).into_any(),
        FileError::Io(e) => package_error(
            py,
            "ImageReadError",
            format!("cannot read image {label}: {e}"),
        ),
        FileError::Read(e) => read_error(py, label, &e),
        FileError::Invalid(e) => package_error(
            py,
            "InvalidArgumentError",
            format!("{label}: {}", e.message),
        ),
        FileError::Internal(why) => PyRuntimeError::new_err(format!(
            "decoding {label} failed inside vision-banana (a bug; please report it): {why}"
        )),
    };
    exception.into_value(py).into_bound(py).into_any()
}

/// A decoded picture as the tuple of arrays the Python layer takes apart.
fn output_arrays(py: Python<'_>, output: Output) -> PyResult<Bound<'_, PyAny>> {
    let (h, w) = (output.height, output.width);
    let plane = |v: Vec<f32>| {
        Array2::from_shape_vec((h, w), v)
            .expect("h * w values")
            .into_pyarray(py)
    };
    Ok(match output.decoded {
        Decoded::Depth { depth, distance } => (plane(depth), distance.map(plane))
            .into_pyobject(py)?
            .into_any(),
        Decoded::Normals { vectors, valid } => {
            let flat: Vec<f32> = vectors.into_iter().flatten().collect();
            let vectors = Array3::from_shape_vec((h, w, 3), flat).expect("h * w vectors");
            let valid = Array2::from_shape_vec((h, w), valid).expect("h * w flags");
            (vectors.into_pyarray(py), valid.into_pyarray(py))
                .into_pyobject(py)?
                .into_any()
        }
        Decoded::Labels { labels, distance } => {
            let labels = match labels {
                Labels::U8(v) => Array2::from_shape_vec((h, w), v)
                    .expect("h * w labels")
                    .into_pyarray(py)
                    .into_any(),
                Labels::U16(v) => Array2::from_shape_vec((h, w), v)
                    .expect("h * w labels")
                    .into_pyarray(py)
                    .into_any(),
            };
            (labels, distance.map(plane)).into_pyobject(py)?.into_any()
        }
        Decoded::Instances(extracted) => arrays(py, extracted).into_pyobject(py)?.into_any(),
    })
}

/// A source as the core reads it: a path (str or os.PathLike) or the encoded bytes.
fn source(item: &Bound<'_, PyAny>) -> PyResult<Source> {
    if let Ok(bytes) = item.extract::<PyBackedBytes>() {
        return Ok(Source::Bytes(Arc::new(bytes)));
    }
    item.extract::<PathBuf>().map(Source::Path).map_err(|_| {
        PyTypeError::new_err(format!(
            "sources must hold paths or bytes, got {}",
            item.get_type()
        ))
    })
}

/// decode_files(sources, labels, max_pixels, workers, *, depth=None, normals=None, semantic=None,
/// instances=None) -> an iterator of results in input order. Exactly one task's options are given;
/// `labels` name each source in messages.
#[pyfunction]
#[pyo3(signature = (sources, labels, max_pixels, workers, *, depth=None, normals=None, semantic=None, instances=None))]
#[allow(clippy::too_many_arguments)]
fn decode_files(
    py: Python<'_>,
    sources: Vec<Bound<'_, PyAny>>,
    labels: Vec<String>,
    max_pixels: u64,
    workers: usize,
    depth: Option<DepthOptions>,
    normals: Option<NormalOptions>,
    semantic: Option<SemanticOptions<'_>>,
    instances: Option<ParamTuple>,
) -> PyResult<FileDecoding> {
    let task = if let Some((lam, c, max_depth, colormap, distance)) = depth {
        let transform = PowerTransform::new(lam, c).map_err(|e| to_py_err(py, e))?;
        Task::Depth {
            scalar: Scalar::Depth {
                transform,
                max_depth,
            },
            colormap: Colormap::from_name(&colormap).map_err(|e| to_py_err(py, e))?,
            distance,
        }
    } else if let Some((renormalize, opencv, sky, tolerance, range)) = normals {
        Task::Normals(
            NormalDecoding::new(renormalize, opencv, sky, tolerance, range)
                .map_err(|e| to_py_err(py, e))?,
        )
    } else if let Some((colors, palette_labels, max_distance, ignore, distance)) = semantic {
        let written = palette_labels.as_array();
        let wide = wide_labels(written.iter().copied(), max_distance, ignore)?;
        Task::Semantic {
            palette: shared_palette(py, colors, palette_labels)?,
            max_distance2: max_distance.map_or(f64::INFINITY, |d| d * d),
            ignore,
            wide,
            distance,
        }
    } else if let Some(p) = instances {
        let p = params(p);
        p.validate().map_err(|e| to_py_err(py, e))?;
        Task::Instances(p)
    } else {
        return Err(PyTypeError::new_err(
            "decode_files needs one task's options",
        ));
    };
    if labels.len() != sources.len() {
        return Err(PyTypeError::new_err("one label per source"));
    }
    let sources = sources.iter().map(source).collect::<PyResult<Vec<_>>>()?;
    Ok(FileDecoding {
        results: files::decode_files(sources, task, max_pixels, workers),
        labels,
        next: 0,
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FileDecoding>()?;
    m.add_function(wrap_pyfunction!(decode_files, m)?)?;
    Ok(())
}
