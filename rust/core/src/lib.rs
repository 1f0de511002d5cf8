//! vision_banana_core: the codecs of the Vision Banana output formats, in pure Rust.
//!
//! Arrays in, arrays out: no Python, prompts or models here. Pictures are `(N, H, W, C)` views with
//! C = 3 (RGB) or 4 (RGBA, alpha ignored); depth maps are `(N, H, W)`. Arrays that do not fit
//! together (an output of the wrong length, pred and gt of different shapes) are an [`Error`].

pub mod colormap;
pub mod depth;
pub mod error;
pub mod files;
pub mod instances;
pub mod metrics;
pub mod normals;
mod pixels;
pub mod png;
mod rows;
mod samples;
pub mod semantic;
mod shapes;
mod simd;
#[cfg(test)]
mod test_random;
pub mod transform;
pub mod walk;

pub use error::{Error, Result};
pub use rows::Defects;
pub use samples::{DecodedSample, DepthSample, EncodedSample, LabelSample, PictureSample};
pub use transform::PowerTransform;
