//! Bindings of the metric kernels (`vision_banana_core::metrics`): each returns the per-image sums
//! or counts as a new numpy array; the Python accumulators do the rest.

use ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyReadonlyArray2, PyReadonlyArray3, PyReadonlyArray4,
    PyReadwriteArray1,
};
use pyo3::prelude::*;
use pyo3::types::PyAny;

use vision_banana_core::metrics::{depth, labels, masks, normals};

use crate::arrays::{report, DefectReport};
use crate::errors::{to_py_err, unsupported_dtype};

type Valid<'py> = Option<PyReadonlyArray3<'py, bool>>;

fn rows_to_array<const K: usize, T: numpy::Element + Copy>(
    py: Python<'_>,
    rows: Vec<[T; K]>,
) -> Bound<'_, PyArray2<T>> {
    let n = rows.len();
    Array2::from_shape_vec((n, K), rows.concat())
        .expect("n rows of K")
        .into_pyarray(py)
}

/// confusion_matrix(pred, gt, valid, num_classes, ignore_index) -> (counts (C, C + 1), defects)
#[pyfunction]
fn confusion_matrix<'py>(
    py: Python<'py>,
    pred: &Bound<'py, PyAny>,
    gt: &Bound<'py, PyAny>,
    valid: Valid<'py>,
    num_classes: usize,
    ignore_index: i64,
) -> PyResult<(Bound<'py, PyArray2<i64>>, DefectReport)> {
    fn run<'py, L: labels::Label + numpy::Element>(
        py: Python<'py>,
        pred: &Bound<'py, PyAny>,
        gt: PyReadonlyArray3<'py, L>,
        valid: Valid<'py>,
        num_classes: usize,
        ignore_index: i64,
    ) -> PyResult<(Bound<'py, PyArray2<i64>>, DefectReport)> {
        let pred: PyReadonlyArray3<L> = pred.extract()?;
        let (p, g) = (pred.as_array(), gt.as_array());
        let v = valid.as_ref().map(|v| v.as_array());
        let (counts, defects) = py
            .detach(|| labels::confusion(p, g, v, num_classes, ignore_index))
            .map_err(|e| to_py_err(py, e))?;
        let counts: Vec<i64> = counts.into_iter().map(|c| c as i64).collect();
        let array = Array2::from_shape_vec((num_classes, num_classes + 1), counts)
            .expect("C rows of C + 1");
        Ok((array.into_pyarray(py), report(defects)))
    }
    if let Ok(g) = gt.extract::<PyReadonlyArray3<u8>>() {
        run(py, pred, g, valid, num_classes, ignore_index)
    } else if let Ok(g) = gt.extract::<PyReadonlyArray3<u16>>() {
        run(py, pred, g, valid, num_classes, ignore_index)
    } else if let Ok(g) = gt.extract::<PyReadonlyArray3<i32>>() {
        run(py, pred, g, valid, num_classes, ignore_index)
    } else if let Ok(g) = gt.extract::<PyReadonlyArray3<i64>>() {
        run(py, pred, g, valid, num_classes, ignore_index)
    } else {
        Err(unsupported_dtype(
            "gt",
            gt,
            "a 3-d uint8, uint16, int32 or int64 array",
        ))
    }
}

/// intersection_union(pred, gt, valid) -> (N, 2) int64 [intersection, union] per image
#[pyfunction]
fn intersection_union<'py>(
    py: Python<'py>,
    pred: PyReadonlyArray3<'py, u8>,
    gt: PyReadonlyArray3<'py, u8>,
    valid: Valid<'py>,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let (p, g) = (pred.as_array(), gt.as_array());
    let v = valid.as_ref().map(|v| v.as_array());
    let counts = py
        .detach(|| labels::intersection_union(p, g, v))
        .map_err(|e| to_py_err(py, e))?;
    let counts = counts.into_iter().map(|c| c.map(|x| x as i64)).collect();
    Ok(rows_to_array(py, counts))
}

/// depth_sums(pred, gt, valid, min_depth, max_depth) -> (N, 10) float64
#[pyfunction]
fn depth_sums<'py>(
    py: Python<'py>,
    pred: &Bound<'py, PyAny>,
    gt: &Bound<'py, PyAny>,
    valid: Valid<'py>,
    min_depth: f64,
    max_depth: f64,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    fn run<'py, T: vision_banana_core::metrics::Real + numpy::Element>(
        py: Python<'py>,
        pred: PyReadonlyArray3<'py, T>,
        gt: PyReadonlyArray3<'py, T>,
        valid: Valid<'py>,
        min_depth: f64,
        max_depth: f64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let (p, g) = (pred.as_array(), gt.as_array());
        let v = valid.as_ref().map(|v| v.as_array());
        let sums = py
            .detach(|| depth::sums(p, g, v, min_depth, max_depth))
            .map_err(|e| to_py_err(py, e))?;
        Ok(rows_to_array(py, sums))
    }
    if let (Ok(p), Ok(g)) = (pred.extract(), gt.extract::<PyReadonlyArray3<f32>>()) {
        run(py, p, g, valid, min_depth, max_depth)
    } else if let (Ok(p), Ok(g)) = (pred.extract(), gt.extract::<PyReadonlyArray3<f64>>()) {
        run(py, p, g, valid, min_depth, max_depth)
    } else {
        Err(unsupported_dtype(
            "gt",
            gt,
            "a 3-d float32 or float64 array like pred",
        ))
    }
}

/// normal_errors(pred, gt, valid, histogram) -> (N, 9) float64, adding to `histogram`
#[pyfunction]
fn normal_errors<'py>(
    py: Python<'py>,
    pred: &Bound<'py, PyAny>,
    gt: &Bound<'py, PyAny>,
    valid: Valid<'py>,
    mut histogram: PyReadwriteArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let hist = histogram.as_slice_mut()?;
    fn run<'py, T: vision_banana_core::metrics::Real + numpy::Element>(
        py: Python<'py>,
        pred: PyReadonlyArray4<'py, T>,
        gt: PyReadonlyArray4<'py, T>,
        valid: Valid<'py>,
        hist: &mut [i64],
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let (p, g) = (pred.as_array(), gt.as_array());
        let v = valid.as_ref().map(|v| v.as_array());
        let stats = py
            .detach(|| normals::errors(p, g, v, hist))
            .map_err(|e| to_py_err(py, e))?;
        Ok(rows_to_array(py, stats))
    }
    if let (Ok(p), Ok(g)) = (pred.extract(), gt.extract::<PyReadonlyArray4<f32>>()) {
        run(py, p, g, valid, hist)
    } else if let (Ok(p), Ok(g)) = (pred.extract(), gt.extract::<PyReadonlyArray4<f64>>()) {
        run(py, p, g, valid, hist)
    } else {
        Err(unsupported_dtype(
            "gt",
            gt,
            "a 4-d float32 or float64 array like pred",
        ))
    }
}

/// mask_iou(a, b) -> (P, G) float64, masks as 0/1 bytes
#[pyfunction]
fn mask_iou<'py>(
    py: Python<'py>,
    a: PyReadonlyArray3<'py, u8>,
    b: PyReadonlyArray3<'py, u8>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let (va, vb) = (a.as_array(), b.as_array());
    let iou = py
        .detach(|| masks::iou_matrix(va, vb))
        .map_err(|e| to_py_err(py, e))?;
    let shape = (va.dim().0, vb.dim().0);
    Ok(Array2::from_shape_vec(shape, iou)
        .expect("P rows of G")
        .into_pyarray(py))
}

type Matching<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>);

/// max_weight_matching(weights) -> (rows, cols) of the matching with the largest total weight
#[pyfunction]
fn max_weight_matching<'py>(
    py: Python<'py>,
    weights: PyReadonlyArray2<'py, f64>,
) -> PyResult<Matching<'py>> {
    let view = weights.as_array();
    let (rows, cols) = view.dim();
    let flat: Vec<f64> = view.iter().copied().collect();
    let pairs = py
        .detach(|| masks::max_weight_matching(&flat, rows, cols))
        .map_err(|e| to_py_err(py, e))?;
    let (r, c): (Vec<i64>, Vec<i64>) = pairs.into_iter().map(|(r, c)| (r as i64, c as i64)).unzip();
    Ok((r.into_pyarray(py), c.into_pyarray(py)))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(confusion_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(intersection_union, m)?)?;
    m.add_function(wrap_pyfunction!(depth_sums, m)?)?;
    m.add_function(wrap_pyfunction!(normal_errors, m)?)?;
    m.add_function(wrap_pyfunction!(mask_iou, m)?)?;
    m.add_function(wrap_pyfunction!(max_weight_matching, m)?)?;
    Ok(())
}
