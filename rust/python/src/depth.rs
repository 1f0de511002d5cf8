//! Bindings of the depth codec (`vision_banana_core::depth`) and the power transform.

use numpy::{
    IntoPyArray, PyArray3, PyArrayDyn, PyReadonlyArray3, PyReadonlyArray4, PyReadonlyArrayDyn,
};
use pyo3::prelude::*;
use pyo3::types::PyAny;

use vision_banana_core::colormap::Colormap;
use vision_banana_core::depth::{self, CubeWalkDecode, DecodedSample, EncodedSample, Scalar};
use vision_banana_core::PowerTransform;

use crate::arrays::{
    fill_detached, output_array, report, with_encoded_dtype, with_picture, DefectReport,
};
use crate::errors::{to_py_err, unsupported_dtype};

fn colormap(py: Python<'_>, name: &str) -> PyResult<Colormap> {
    Colormap::from_name(name).map_err(|e| to_py_err(py, e))
}

fn depth_scalar(py: Python<'_>, lam: f64, c: f64, max_depth: f64) -> PyResult<Scalar> {
    let transform = PowerTransform::new(lam, c).map_err(|e| to_py_err(py, e))?;
    Ok(Scalar::Depth {
        transform,
        max_depth,
    })
}

type Decoded<'py, D> = (Bound<'py, PyArray3<D>>, Option<Bound<'py, PyArray3<f32>>>);

/// Decodes an (N, H, W, C) picture of any supported dtype into an (N, H, W) array of `D`.
fn decode_any<'py, D: DecodedSample + numpy::Element>(
    py: Python<'py>,
    rgb: &Bound<'py, PyAny>,
    scalar: Scalar,
    colormap: Colormap,
    return_distance: bool,
) -> PyResult<Decoded<'py, D>> {
    fn run<'py, T: CubeWalkDecode + numpy::Element, D: DecodedSample + numpy::Element>(
        py: Python<'py>,
        rgb: PyReadonlyArray4<'py, T>,
        scalar: Scalar,
        colormap: Colormap,
        return_distance: bool,
    ) -> PyResult<Decoded<'py, D>> {
        let view = rgb.as_array();
        let (n, h, w, _) = view.dim();
        // Outputs come from numpy's allocator (zeroed lazily by the OS), so that they are the
        // only memory a decode takes, and memory profilers see them.
        let out = output_array::<D, _, _>(py, [n, h, w]);
        let dist = return_distance.then(|| output_array::<f32, _, _>(py, [n, h, w]));
        fill_detached(py, &out, dist.as_ref(), |out, dist| {
            depth::decode(view, scalar, colormap, out, dist)
        })
        .map_err(|e| to_py_err(py, e))?;
        Ok((out, dist))
    }
    with_picture!(rgb, "rgb", |a| run(
        py,
        a,
        scalar,
        colormap,
        return_distance
    ))?
}

/// decode_depth(rgb, lam, c, max_depth, colormap, return_distance) -> (depth, distance | None)
#[pyfunction]
fn decode_depth<'py>(
    py: Python<'py>,
    rgb: &Bound<'py, PyAny>,
    lam: f64,
    c: f64,
    max_depth: f64,
    colormap: &str,
    return_distance: bool,
) -> PyResult<Decoded<'py, f32>> {
    let scalar = depth_scalar(py, lam, c, max_depth)?;
    let colormap = self::colormap(py, colormap)?;
    decode_any(py, rgb, scalar, colormap, return_distance)
}

/// project(rgb, colormap, return_distance) -> (f as float64, distance | None)
#[pyfunction]
fn project<'py>(
    py: Python<'py>,
    rgb: &Bound<'py, PyAny>,
    colormap: &str,
    return_distance: bool,
) -> PyResult<Decoded<'py, f64>> {
    let colormap = self::colormap(py, colormap)?;
    decode_any(py, rgb, Scalar::Normalised, colormap, return_distance)
}

/// unit_range_defects(rgb) -> (count, first index, first value) of a float picture.
#[pyfunction]
fn unit_range_defects(rgb: &Bound<'_, PyAny>) -> PyResult<DefectReport> {
    if let Ok(a) = rgb.extract::<PyReadonlyArray4<f32>>() {
        Ok(report(depth::unit_range_defects(a.as_array())))
    } else if let Ok(a) = rgb.extract::<PyReadonlyArray4<f64>>() {
        Ok(report(depth::unit_range_defects(a.as_array())))
    } else {
        Err(unsupported_dtype(
            "rgb",
            rgb,
            "a 4-d float32 or float64 array",
        ))
    }
}

/// encode_depth(depth, lam, c, colormap, dtype, invalid) -> (rgb, defects). `lam` None encodes
/// the normalised scalar itself; `invalid` is a colour with channels in [0, 1].
#[pyfunction]
#[pyo3(signature = (depth, lam, c, colormap, dtype, invalid))]
fn encode_depth<'py>(
    py: Python<'py>,
    depth: &Bound<'py, PyAny>,
    lam: Option<f64>,
    c: f64,
    colormap: &str,
    dtype: &str,
    invalid: Option<[f64; 3]>,
) -> PyResult<(Bound<'py, PyAny>, DefectReport)> {
    let scalar = match lam {
        Some(lam) => depth_scalar(py, lam, c, f64::INFINITY)?,
        None => Scalar::Normalised,
    };
    let colormap = self::colormap(py, colormap)?;
    fn run<'py, T: depth::DepthSample + numpy::Element, O: EncodedSample + numpy::Element>(
        py: Python<'py>,
        depth: PyReadonlyArray3<'py, T>,
        scalar: Scalar,
        colormap: Colormap,
        invalid: Option<[f64; 3]>,
    ) -> PyResult<(Bound<'py, PyAny>, DefectReport)> {
        let view = depth.as_array();
        let (n, h, w) = view.dim();
        let invalid = invalid.map(|c| c.map(O::from_unit));
        let out = output_array::<O, _, _>(py, [n, h, w, 3]);
        let defects = fill_detached::<_, O, _, numpy::Ix1, _>(py, &out, None, |out, _| {
            depth::encode(view, scalar, colormap, invalid, out)
        })
        .map_err(|e| to_py_err(py, e))?;
        Ok((out.into_any(), report(defects)))
    }
    if let Ok(a) = depth.extract::<PyReadonlyArray3<f32>>() {
        with_encoded_dtype!(dtype, O => run::<_, O>(py, a, scalar, colormap, invalid))?
    } else if let Ok(a) = depth.extract::<PyReadonlyArray3<f64>>() {
        with_encoded_dtype!(dtype, O => run::<_, O>(py, a, scalar, colormap, invalid))?
    } else {
        Err(unsupported_dtype(
            "depth",
            depth,
            "a 3-d float32 or float64 array",
        ))
    }
}

/// power_transform(x, lam, c, inverse) -> same shape and float dtype as x.
#[pyfunction]
fn power_transform<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    lam: f64,
    c: f64,
    inverse: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let transform = PowerTransform::new(lam, c).map_err(|e| to_py_err(py, e))?;
    fn run<'py, T: depth::DepthSample + DecodedSample + numpy::Element>(
        py: Python<'py>,
        x: PyReadonlyArrayDyn<'py, T>,
        transform: PowerTransform,
        inverse: bool,
    ) -> Bound<'py, PyArrayDyn<T>> {
        let view = x.as_array();
        py.detach(|| transform.map(view, inverse)).into_pyarray(py)
    }
    if let Ok(a) = x.extract::<PyReadonlyArrayDyn<f32>>() {
        Ok(run(py, a, transform, inverse).into_any())
    } else if let Ok(a) = x.extract::<PyReadonlyArrayDyn<f64>>() {
        Ok(run(py, a, transform, inverse).into_any())
    } else {
        Err(unsupported_dtype("x", x, "a float32 or float64 array"))
    }
}

/// The names of the colour maps the depth codec knows, the default first.
#[pyfunction]
fn colormap_names() -> Vec<&'static str> {
    Colormap::ALL.iter().map(|c| c.name()).collect()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decode_depth, m)?)?;
    m.add_function(wrap_pyfunction!(project, m)?)?;
    m.add_function(wrap_pyfunction!(unit_range_defects, m)?)?;
    m.add_function(wrap_pyfunction!(encode_depth, m)?)?;
    m.add_function(wrap_pyfunction!(power_transform, m)?)?;
    m.add_function(wrap_pyfunction!(colormap_names, m)?)?;
    Ok(())
}
