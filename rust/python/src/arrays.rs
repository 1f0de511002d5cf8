//! Dtype dispatch shared by the bindings: borrow a numpy array as the ndarray view of its dtype,
//! or pick the Rust type of a requested output dtype.

use numpy::ndarray::Dimension;
use numpy::{Element, PyArray, PyArrayMethods};
use pyo3::prelude::*;

use vision_banana_core::Defects;

/// Runs `$body` with `$array` bound to `$rgb` borrowed as a 4-d picture of its dtype (uint8,
/// uint16, float32 or float64); any other dtype is a TypeError naming `$name`.
macro_rules! with_picture {
    ($rgb:expr, $name:expr, |$array:ident| $body:expr) => {
        if let Ok($array) = $rgb.extract::<numpy::PyReadonlyArray4<u8>>() {
            Ok($body)
        } else if let Ok($array) = $rgb.extract::<numpy::PyReadonlyArray4<u16>>() {
            Ok($body)
        } else if let Ok($array) = $rgb.extract::<numpy::PyReadonlyArray4<f32>>() {
            Ok($body)
        } else if let Ok($array) = $rgb.extract::<numpy::PyReadonlyArray4<f64>>() {
            Ok($body)
        } else {
            Err($crate::errors::unsupported_dtype(
                $name,
                $rgb,
                "a 4-d uint8, uint16, float32 or float64 array",
            ))
        }
    };
}

/// Runs `$body` with the type alias `$out` set to the Rust type of the dtype name `$dtype`
/// ("uint8", "uint16", "float32" or "float64"); any other name is a TypeError.
macro_rules! with_encoded_dtype {
    ($dtype:expr, $out:ident => $body:expr) => {
        match $dtype {
            "uint8" => {
                type $out = u8;
                Ok($body)
            }
            "uint16" => {
                type $out = u16;
                Ok($body)
            }
            "float32" => {
                type $out = f32;
                Ok($body)
            }
            "float64" => {
                type $out = f64;
                Ok($body)
            }
            other => Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "dtype must be uint8, uint16, float32 or float64, got {other}"
            ))),
        }
    };
}

pub(crate) use {with_encoded_dtype, with_picture};

/// Defects as the Python layer reads them: (count, first flat index or None, first value or None).
pub type DefectReport = (u64, Option<usize>, Option<f64>);

pub fn report(defects: Defects) -> DefectReport {
    (
        defects.count,
        defects.first.map(|f| f.0),
        defects.first.map(|f| f.1),
    )
}

/// Runs `work` without the GIL on the data of freshly made (so contiguous) arrays `a` and,
/// when given, `b`.
pub fn fill_detached<'py, A, B, DA, DB, R>(
    py: Python<'py>,
    a: &Bound<'py, PyArray<A, DA>>,
    b: Option<&Bound<'py, PyArray<B, DB>>>,
    work: impl FnOnce(&mut [A], Option<&mut [B]>) -> R + Send,
) -> R
where
    A: Element + Send,
    B: Element + Send,
    DA: Dimension,
    DB: Dimension,
    R: Send,
{
    let mut a_rw = a.readwrite();
    let mut b_rw = b.map(|b| b.readwrite());
    let a_slice = a_rw.as_slice_mut().expect("new arrays are contiguous");
    let b_slice = b_rw
        .as_mut()
        .map(|b| b.as_slice_mut().expect("new arrays are contiguous"));
    py.detach(|| work(a_slice, b_slice))
}

/// A new C-order array for an output that the core writes in full, left uninitialised so that
/// no time goes into zeroing memory about to be overwritten (a megapixel's worth costs about a
/// tenth of a decode). Only for plain numbers, where every bit pattern is a valid value; the
/// callers hand the array to Python only after the core has written every element.
pub fn output_array<'py, T, D, Sh>(py: Python<'py>, shape: Sh) -> Bound<'py, PyArray<T, D>>
where
    T: Element + Copy,
    D: Dimension,
    Sh: numpy::ndarray::IntoDimension<Dim = D>,
{
    // SAFETY: see above: plain numeric T, fully written before Python can read it.
    unsafe { PyArray::<T, D>::new(py, shape, false) }
}
