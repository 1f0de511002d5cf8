//! vision_banana_core: the codecs of the Vision Banana output formats, in pure Rust.
//!
//! Arrays in, arrays out: no Python, prompts or models here. Pictures are `(N, H, W, C)` views with
//! C = 3 (RGB) or 4 (RGBA, alpha ignored); depth maps are `(N, H, W)`.

pub mod colormap;
pub mod depth;
pub mod error;
pub mod files;
pub mod instances;
pub mod metrics;
pub mod normals;
pub mod pixels;
pub mod png;
pub mod rows;
pub mod samples;
pub mod semantic;
mod simd;
#[cfg(test)]
mod test_random;
pub mod transform;
pub mod walk;

pub use error::{Error, Result};
pub use transform::PowerTransform;
