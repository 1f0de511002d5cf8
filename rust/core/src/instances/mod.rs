//! Instance masks from colour clusters (SPEC.md section 4, the paper's Appendix A).
//!
//! Five stages on one picture, all in 8-bit RGB units whatever the dtype:
//! 1. pixels within `tau` of the background colour are background;
//! 2. seeds in raster order, each flood-filling the unlabelled pixels within `tau` of the seed's
//!    own colour (4, 8 or 16 neighbours, 16 = the 8 neighbours plus the 8 knight moves);
//! 3. components smaller than `min_area_fraction` of the picture are dropped;
//! 4. components keeping less than `erosion_keep` of their pixels under a 3x3 erosion are dropped;
//! 5. components whose mean colours are within `tau` merge when the bounding box of their union is
//!    at most `merge_bbox_ratio` times the sum of their own bounding-box areas.
//!
//! Pixels of dropped components become background (id 0). Instance ids follow the raster order
//! of each instance's first seed, so the same picture always gives the same ids.
//!
//! The label array carries a 2-pixel frame of blocked labels, so that the flood fill and the
//! erosion read neighbours at fixed offsets with no bounds tests.

mod fill;
mod merge;
pub mod rle;

use ndarray::{ArrayView3, Axis};
use rayon::prelude::*;

use crate::error::{Error, Result};

pub use rle::{coco_counts, coco_string};

/// The paper's parameters; `Default` gives its values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Background colour in 8-bit units (0-255 per channel, whatever the picture's dtype).
    pub background: [f64; 3],
    /// Colour distance threshold, 8-bit RGB Euclidean.
    pub tau: f64,
    /// 4, 8 or 16.
    pub connectivity: u32,
    pub min_area_fraction: f64,
    pub erosion_keep: f64,
    pub merge_bbox_ratio: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            background: [0.0; 3],
            tau: 14.0,
            connectivity: 16,
            min_area_fraction: 2e-4,
            erosion_keep: 0.1,
            merge_bbox_ratio: 5.0,
        }
    }
}

impl Params {
    pub fn validate(&self) -> Result<()> {
        if !(self.tau > 0.0 && self.tau.is_finite()) {
            return Err(Error::new(
                "tau",
                format!("tau must be a finite number above 0, got {}", self.tau),
            ));
        }
        if ![4, 8, 16].contains(&self.connectivity) {
            return Err(Error::new(
                "connectivity",
                format!("connectivity must be 4, 8 or 16, got {}", self.connectivity),
            ));
        }
        if let Some(c) = self.background.iter().find(|c| !c.is_finite()) {
            return Err(Error::new(
                "background",
                format!("background must hold finite channel values, got {c}"),
            ));
        }
        for (name, value) in [
            ("min_area_fraction", self.min_area_fraction),
            ("erosion_keep", self.erosion_keep),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(Error::new(
                    name,
                    format!("{name} must lie in [0, 1], got {value}"),
                ));
            }
        }
        if self.merge_bbox_ratio.is_nan() || self.merge_bbox_ratio < 0.0 {
            return Err(Error::new(
                "merge_bbox_ratio",
                format!(
                    "merge_bbox_ratio must be 0 or more, got {}",
                    self.merge_bbox_ratio
                ),
            ));
        }
        Ok(())
    }
}

/// One picture, (H, W, C) with C = 3 or 4 (alpha ignored), any strides; the dtype sets the range.
#[derive(Debug, Clone)]
pub enum Picture<'a> {
    U8(ArrayView3<'a, u8>),
    U16(ArrayView3<'a, u16>),
    F32(ArrayView3<'a, f32>),
    F64(ArrayView3<'a, f64>),
}

impl Picture<'_> {
    pub fn dim(&self) -> (usize, usize, usize) {
        match self {
            Picture::U8(a) => a.dim(),
            Picture::U16(a) => a.dim(),
            Picture::F32(a) => a.dim(),
            Picture::F64(a) => a.dim(),
        }
    }
}

/// One recovered instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Mean colour in 8-bit units.
    pub color: [f64; 3],
    pub area: u64,
    /// (x0, y0, x1, y1), x1 and y1 exclusive.
    pub bbox: [u32; 4],
    /// sqrt(coherence * kept), in [0, 1]: coherence = max(0, 1 - rms colour spread / tau), kept =
    /// the fraction of its pixels that survive the 3x3 erosion.
    pub score: f64,
}

/// The instances of one picture: an (H, W) id map in row-major order (0 = background) and the
/// instance with id i at `instances[i - 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    pub height: usize,
    pub width: usize,
    pub ids: Vec<u32>,
    pub instances: Vec<Instance>,
}

/// A channel type: its full-scale value sets the conversion to 8-bit units.
trait Sample: Copy + Send + Sync {
    type Px: fill::Colour;
    fn px(r: Self, g: Self, b: Self) -> Self::Px;
}

impl Sample for u8 {
    type Px = [u8; 3];
    #[inline(always)]
    fn px(r: u8, g: u8, b: u8) -> [u8; 3] {
        [r, g, b]
    }
}

macro_rules! float_sample {
    ($t:ty, $scale:expr) => {
        impl Sample for $t {
            type Px = [f32; 3];
            #[inline(always)]
            fn px(r: $t, g: $t, b: $t) -> [f32; 3] {
                [r, g, b].map(|c| (c as f64 * $scale) as f32)
            }
        }
    };
}
float_sample!(u16, 255.0 / 65535.0);
float_sample!(f32, 255.0);
float_sample!(f64, 255.0);

/// Recovers the instances of one picture, on the calling thread.
pub fn extract(picture: &Picture, params: &Params) -> Result<Extracted> {
    params.validate()?;
    let (_, _, channels) = picture.dim();
    if !(channels == 3 || channels == 4) {
        return Err(Error::new(
            "rgb",
            format!("rgb must have 3 or 4 channels, got {channels}"),
        ));
    }
    Ok(match picture {
        Picture::U8(a) => run(a, params),
        Picture::U16(a) => run(a, params),
        Picture::F32(a) => run(a, params),
        Picture::F64(a) => run(a, params),
    })
}

/// `extract` on each picture, in parallel across pictures; the results in the same order.
pub fn extract_batch(pictures: &[Picture], params: &Params) -> Result<Vec<Extracted>> {
    params.validate()?;
    pictures.par_iter().map(|p| extract(p, params)).collect()
}

fn run<T: Sample>(picture: &ArrayView3<T>, params: &Params) -> Extracted {
    let (height, width, channels) = picture.dim();
    let mut image = fill::Padded::<T::Px>::new(height, width);
    for (y, row) in picture.axis_iter(Axis(0)).enumerate() {
        let out = image.row_mut(y);
        match row.as_slice() {
            Some(s) => {
                for (o, c) in out.iter_mut().zip(s.chunks_exact(channels)) {
                    *o = T::px(c[0], c[1], c[2]);
                }
            }
            None => {
                for (o, px) in out.iter_mut().zip(row.outer_iter()) {
                    *o = T::px(px[0], px[1], px[2]);
                }
            }
        }
    }
    image.extract(params)
}

#[cfg(test)]
mod tests;
