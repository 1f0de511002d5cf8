//! `vision_banana._core`: thin PyO3 wrappers over vision_banana_core. They only convert: borrow the
//! numpy arrays (any strides), dispatch on dtype, release the GIL around the work, and turn core
//! errors into the package's exceptions. Shapes and dtypes are checked by the Python layer first.
//!
//! One module per task, each with a `register` function adding its functions to `_core`.

use pyo3::prelude::*;

mod arrays;
mod depth;
mod errors;
mod files;
mod instances;
mod metrics;
mod normals;
mod png;
mod semantic;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    depth::register(m)?;
    normals::register(m)?;
    semantic::register(m)?;
    instances::register(m)?;
    metrics::register(m)?;
    png::register(m)?;
    files::register(m)?;
    Ok(())
}
