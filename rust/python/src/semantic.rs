//! Bindings of the nearest-colour decoder (`vision_banana_core::semantic`).

use std::sync::Arc;

use numpy::{PyArray3, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray4};
use pyo3::prelude::*;
use pyo3::types::PyAny;

use vision_banana_core::semantic::{self, NearestColour, Palette};
use vision_banana_core::{LabelSample, PictureSample};

use crate::arrays::{fill_detached, output_array, with_picture};
use crate::errors::to_py_err;

/// A label map (uint8 or uint16) and the distances when asked for.
type Labels<'py> = (Bound<'py, PyAny>, Option<Bound<'py, PyArray3<f32>>>);

/// The palette of `colors` ((K, 3) float64, 8-bit units) and `labels` (K uint32), shared with
/// the calls that had the same.
pub fn shared_palette(
    py: Python<'_>,
    colors: PyReadonlyArray2<'_, f64>,
    labels: PyReadonlyArray1<'_, u32>,
) -> PyResult<Arc<Palette>> {
    let (colors, labels) = (colors.as_array(), labels.as_array());
    if colors.ncols() != 3 || colors.nrows() != labels.len() {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "colors must have shape (K, 3), with K labels",
        ));
    }
    let colors = colors
        .rows()
        .into_iter()
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    let labels = labels.to_vec();
    py.detach(|| Palette::shared(colors, labels))
        .map_err(|e| to_py_err(py, e))
}

/// Whether the labels a decode can write (the colours' `labels`, and `ignore_index` when
/// `max_distance` is given) need uint16 rather than uint8; an error past uint16.
pub fn wide_labels(
    labels: impl Iterator<Item = u32>,
    max_distance: Option<f64>,
    ignore_index: u32,
) -> PyResult<bool> {
    // The output type must hold every label a pixel can get: a truncated label is another class.
    let written = labels
        .chain(max_distance.map(|_| ignore_index))
        .max()
        .unwrap_or(0);
    if written > u32::from(u16::MAX) {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "labels must fit in uint16, got {written}"
        )));
    }
    Ok(written > u32::from(u8::MAX))
}

/// decode_semantic(rgb, colors, labels, max_distance, ignore_index, return_distance)
/// -> (labels, distance | None). Colours (a (K, 3) float64 array, with K uint32 labels) and
/// `max_distance` are in 8-bit units. The labels are uint8 when every label the call can write
/// fits (the colours' labels, and `ignore_index` when `max_distance` is given), else uint16.
#[pyfunction]
#[pyo3(signature = (rgb, colors, labels, max_distance, ignore_index, return_distance))]
fn decode_semantic<'py>(
    py: Python<'py>,
    rgb: &Bound<'py, PyAny>,
    colors: PyReadonlyArray2<'py, f64>,
    labels: PyReadonlyArray1<'py, u32>,
    max_distance: Option<f64>,
    ignore_index: u32,
    return_distance: bool,
) -> PyResult<Labels<'py>> {
    let wide = wide_labels(
        labels.as_array().iter().copied(),
        max_distance,
        ignore_index,
    )?;
    let palette = shared_palette(py, colors, labels)?;
    let rule = NearestColour {
        palette: &palette,
        max_distance2: max_distance.map_or(f64::INFINITY, |d| d * d),
        ignore: ignore_index,
    };
    fn run<'py, T: PictureSample + numpy::Element, L: LabelSample + numpy::Element>(
        py: Python<'py>,
        rgb: PyReadonlyArray4<'py, T>,
        rule: &NearestColour<'_>,
        return_distance: bool,
    ) -> PyResult<Labels<'py>> {
        let view = rgb.as_array();
        let (n, h, w, _) = view.dim();
        let out = output_array::<L, _, _>(py, [n, h, w]);
        let dist = return_distance.then(|| output_array::<f32, _, _>(py, [n, h, w]));
        fill_detached(py, &out, dist.as_ref(), |out, dist| {
            semantic::decode(view, rule, out, dist)
        })
        .map_err(|e| to_py_err(py, e))?;
        Ok((out.into_any(), dist))
    }
    if wide {
        with_picture!(rgb, "rgb", |a| run::<_, u16>(py, a, &rule, return_distance))?
    } else {
        with_picture!(rgb, "rgb", |a| run::<_, u8>(py, a, &rule, return_distance))?
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decode_semantic, m)?)?;
    Ok(())
}
