//! Bindings of the instance extraction (`vision_banana_core::instances`).

use ndarray::{Array1, Array2};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray2, PyReadonlyArray3};
use pyo3::prelude::*;
use pyo3::types::PyAny;

use vision_banana_core::instances::{self, Extracted, Params, Picture};

use crate::errors::{to_py_err, unsupported_dtype};

/// A borrowed numpy picture of one of the supported dtypes.
enum Borrowed<'py> {
    U8(PyReadonlyArray3<'py, u8>),
    U16(PyReadonlyArray3<'py, u16>),
    F32(PyReadonlyArray3<'py, f32>),
    F64(PyReadonlyArray3<'py, f64>),
}

impl<'py> Borrowed<'py> {
    fn new(rgb: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(a) = rgb.extract() {
            Ok(Borrowed::U8(a))
        } else if let Ok(a) = rgb.extract() {
            Ok(Borrowed::U16(a))
        } else if let Ok(a) = rgb.extract() {
            Ok(Borrowed::F32(a))
        } else if let Ok(a) = rgb.extract() {
            Ok(Borrowed::F64(a))
        } else {
            Err(unsupported_dtype(
                "rgb",
                rgb,
                "a 3-d uint8, uint16, float32 or float64 array",
            ))
        }
    }

    fn view(&self) -> Picture<'_> {
        match self {
            Borrowed::U8(a) => Picture::U8(a.as_array()),
            Borrowed::U16(a) => Picture::U16(a.as_array()),
            Borrowed::F32(a) => Picture::F32(a.as_array()),
            Borrowed::F64(a) => Picture::F64(a.as_array()),
        }
    }
}

/// (ids (H, W) uint32, colours (K, 3) float64 in 8-bit units, areas (K,) uint64,
/// boxes (K, 4) uint32 as (x0, y0, x1, y1) exclusive, scores (K,) float64).
pub type Arrays<'py> = (
    Bound<'py, PyArray2<u32>>,
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray2<u32>>,
    Bound<'py, PyArray1<f64>>,
);

pub fn arrays(py: Python<'_>, out: Extracted) -> Arrays<'_> {
    let k = out.instances.len();
    let table = |f: &dyn Fn(&instances::Instance) -> Vec<f64>, cols| {
        Array2::from_shape_vec((k, cols), out.instances.iter().flat_map(f).collect())
            .expect("k rows")
    };
    let colors = table(&|i| i.color.to_vec(), 3);
    let boxes = Array2::from_shape_vec((k, 4), out.instances.iter().flat_map(|i| i.bbox).collect())
        .expect("k rows");
    let areas: Array1<u64> = out.instances.iter().map(|i| i.area).collect();
    let scores: Array1<f64> = out.instances.iter().map(|i| i.score).collect();
    let ids = Array2::from_shape_vec((out.height, out.width), out.ids).expect("H * W ids");
    (
        ids.into_pyarray(py),
        colors.into_pyarray(py),
        areas.into_pyarray(py),
        boxes.into_pyarray(py),
        scores.into_pyarray(py),
    )
}

/// (background, tau, connectivity, min_area_fraction, erosion_keep, merge_bbox_ratio)
pub type ParamTuple = ([f64; 3], f64, u32, f64, f64, f64);

pub fn params(
    (background, tau, connectivity, min_area_fraction, erosion_keep, merge_bbox_ratio): ParamTuple,
) -> Params {
    Params {
        background,
        tau,
        connectivity,
        min_area_fraction,
        erosion_keep,
        merge_bbox_ratio,
    }
}

/// extract_instances(rgb (H, W, C), params) -> arrays
#[pyfunction]
fn extract_instances<'py>(
    py: Python<'py>,
    rgb: &Bound<'py, PyAny>,
    params: ParamTuple,
) -> PyResult<Arrays<'py>> {
    let p = self::params(params);
    let picture = Borrowed::new(rgb)?;
    let view = picture.view();
    let out = py
        .detach(|| instances::extract(&view, &p))
        .map_err(|e| to_py_err(py, e))?;
    Ok(arrays(py, out))
}

/// extract_instances_batch(pictures: list of (H, W, C), ...) -> list of arrays, in parallel.
#[pyfunction]
fn extract_instances_batch<'py>(
    py: Python<'py>,
    pictures: Vec<Bound<'py, PyAny>>,
    params: ParamTuple,
) -> PyResult<Vec<Arrays<'py>>> {
    let p = self::params(params);
    let borrowed = pictures
        .iter()
        .map(Borrowed::new)
        .collect::<PyResult<Vec<_>>>()?;
    let views: Vec<Picture> = borrowed.iter().map(Borrowed::view).collect();
    let outs = py
        .detach(|| instances::extract_batch(&views, &p))
        .map_err(|e| to_py_err(py, e))?;
    Ok(outs.into_iter().map(|o| arrays(py, o)).collect())
}

/// coco_rle(ids (H, W) uint32, count) -> compressed COCO count strings of ids 1..=count.
#[pyfunction]
fn coco_rle(py: Python<'_>, ids: PyReadonlyArray2<'_, u32>, count: usize) -> Vec<String> {
    let view = ids.as_array();
    py.detach(|| {
        instances::coco_counts(view, count)
            .iter()
            .map(|c| instances::coco_string(c))
            .collect()
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(extract_instances, m)?)?;
    m.add_function(wrap_pyfunction!(extract_instances_batch, m)?)?;
    m.add_function(wrap_pyfunction!(coco_rle, m)?)?;
    Ok(())
}
