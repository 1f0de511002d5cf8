//! Bindings of the surface-normal codec (`vision_banana_core::normals`).

use numpy::{PyArray3, PyArray4, PyReadonlyArray4};
use pyo3::prelude::*;
use pyo3::types::PyAny;

use vision_banana_core::normals::{self, NormalDecoding};
use vision_banana_core::{DepthSample, EncodedSample, PictureSample};

use crate::arrays::{
    fill_detached, output_array, report, with_encoded_dtype, with_picture, DefectReport,
};
use crate::errors::{to_py_err, unsupported_dtype};

type Normals<'py> = (Bound<'py, PyArray4<f32>>, Bound<'py, PyArray3<bool>>);

/// decode_normals(rgb, renormalize, opencv, sky, sky_tolerance, norm_range) -> (normals, valid)
#[pyfunction]
fn decode_normals<'py>(
    py: Python<'py>,
    rgb: &Bound<'py, PyAny>,
    renormalize: bool,
    opencv: bool,
    sky: [f64; 3],
    sky_tolerance: f64,
    norm_range: (f64, f64),
) -> PyResult<Normals<'py>> {
    let options = NormalDecoding::new(renormalize, opencv, sky, sky_tolerance, norm_range)
        .map_err(|e| to_py_err(py, e))?;
    fn run<'py, T: PictureSample + numpy::Element>(
        py: Python<'py>,
        rgb: PyReadonlyArray4<'py, T>,
        options: &NormalDecoding,
    ) -> PyResult<Normals<'py>> {
        let view = rgb.as_array();
        let (n, h, w, _) = view.dim();
        let out = output_array::<f32, _, _>(py, [n, h, w, 3]);
        let valid = PyArray3::<bool>::zeros(py, [n, h, w], false);
        fill_detached(py, &out, Some(&valid), |out, valid| {
            let (vectors, _) = out.as_chunks_mut::<3>();
            normals::decode(view, options, vectors, valid.expect("given"))
        })
        .map_err(|e| to_py_err(py, e))?;
        Ok((out, valid))
    }
    with_picture!(rgb, "rgb", |a| run(py, a, &options))?
}

/// encode_normals(normals, dtype, invalid) -> (rgb, defects); `invalid` has channels in [0, 1].
#[pyfunction]
#[pyo3(signature = (normals, dtype, invalid))]
fn encode_normals<'py>(
    py: Python<'py>,
    normals: &Bound<'py, PyAny>,
    dtype: &str,
    invalid: Option<[f64; 3]>,
) -> PyResult<(Bound<'py, PyAny>, DefectReport)> {
    fn run<'py, T: DepthSample + numpy::Element, O: EncodedSample + numpy::Element>(
        py: Python<'py>,
        vectors: PyReadonlyArray4<'py, T>,
        invalid: Option<[f64; 3]>,
    ) -> PyResult<(Bound<'py, PyAny>, DefectReport)> {
        let view = vectors.as_array();
        let (n, h, w, _) = view.dim();
        let invalid = invalid.map(|c| c.map(O::from_unit));
        let out = output_array::<O, _, _>(py, [n, h, w, 3]);
        let defects = fill_detached::<_, O, _, numpy::Ix1, _>(py, &out, None, |out, _| {
            normals::encode(view, invalid, out.as_chunks_mut::<3>().0)
        })
        .map_err(|e| to_py_err(py, e))?;
        Ok((out.into_any(), report(defects)))
    }
    if let Ok(a) = normals.extract::<PyReadonlyArray4<f32>>() {
        with_encoded_dtype!(dtype, O => run::<_, O>(py, a, invalid))?
    } else if let Ok(a) = normals.extract::<PyReadonlyArray4<f64>>() {
        with_encoded_dtype!(dtype, O => run::<_, O>(py, a, invalid))?
    } else {
        Err(unsupported_dtype(
            "normals",
            normals,
            "a 4-d float32 or float64 array",
        ))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decode_normals, m)?)?;
    m.add_function(wrap_pyfunction!(encode_normals, m)?)?;
    Ok(())
}
