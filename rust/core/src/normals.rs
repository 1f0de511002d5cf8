//! Surface normals as RGB (SPEC.md section 2). Camera frame: +x right, +y up, +z toward the
//! viewer; red carries -x:
//!
//! ```text
//! R = (1 - x) / 2,  G = (1 + y) / 2,  B = (1 + z) / 2        x = 1 - 2R,  y = 2G - 1,  z = 2B - 1
//! ```

use ndarray::{ArrayView4, Axis};

use crate::error::{Error, Result};
use crate::pixels::{decode_rows, PixelDecoder, BLOCK};
use crate::rows::{for_each_row, Defects};
use crate::samples::{DepthSample, EncodedSample, PictureSample};
use crate::shapes;
use crate::simd;

/// How decoded vectors are checked and returned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalDecoding {
    /// Scale each vector to unit length (else the raw decoded vector).
    pub renormalize: bool,
    /// Return vectors in the OpenCV frame (x right, y down, z forward) instead of the paper's.
    pub opencv: bool,
    /// The colour the model paints sky with, channels in [0, 1] (magenta).
    pub sky: [f64; 3],
    /// Pixels within this RGB distance (channel range units) of `sky` are invalid.
    pub sky_tolerance: f64,
    /// Raw vector norms outside [min_norm, max_norm] are invalid.
    pub min_norm: f64,
    pub max_norm: f64,
}

impl NormalDecoding {
    pub fn new(
        renormalize: bool,
        opencv: bool,
        sky: [f64; 3],
        sky_tolerance: f64,
        norm_range: (f64, f64),
    ) -> Result<Self> {
        if !(sky_tolerance.is_finite() && sky_tolerance >= 0.0) {
            return Err(Error::new(
                "sky_tolerance",
                format!("sky_tolerance must be a finite number >= 0, got {sky_tolerance}"),
            ));
        }
        let (min_norm, max_norm) = norm_range;
        if !(min_norm >= 0.0 && min_norm <= max_norm) || min_norm.is_nan() || max_norm.is_nan() {
            return Err(Error::new(
                "norm_range",
                format!(
                    "norm_range must be (low, high) with 0 <= low <= high, got ({min_norm}, {max_norm})"
                ),
            ));
        }
        Ok(NormalDecoding {
            renormalize,
            opencv,
            sky,
            sky_tolerance,
            min_norm,
            max_norm,
        })
    }

    /// The vector of one colour and whether it is valid; invalid pixels give the zero vector.
    /// In f32 (the output is f32, and f32 halves the vector work), and branch-free, with the
    /// options read once per block, so that the block loop vectorises.
    #[inline(always)]
    fn decode(&self, [r, g, b]: [f32; 3]) -> ([f32; 3], bool) {
        self.kernel()([r, g, b])
    }

    #[inline(always)]
    fn kernel(&self) -> impl Fn([f32; 3]) -> ([f32; 3], bool) + Copy {
        let sky = self.sky.map(|c| c as f32);
        let tolerance2 = (self.sky_tolerance * self.sky_tolerance) as f32;
        let (low2, high2) = (
            (self.min_norm * self.min_norm) as f32,
            (self.max_norm * self.max_norm) as f32,
        );
        let renormalize = self.renormalize;
        let flip: f32 = if self.opencv { -1.0 } else { 1.0 };
        move |[r, g, b]: [f32; 3]| {
            let v = [1.0 - 2.0 * r, 2.0 * g - 1.0, 2.0 * b - 1.0];
            let norm2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
            let sky2 = (r - sky[0]) * (r - sky[0])
                + (g - sky[1]) * (g - sky[1])
                + (b - sky[2]) * (b - sky[2]);
            // `&`, not `&&`: no branches.
            let valid = (sky2 > tolerance2) & (norm2 >= low2) & (norm2 <= high2) & (norm2 > 0.0);
            let scale = if renormalize { 1.0 / norm2.sqrt() } else { 1.0 };
            let out = [v[0] * scale, flip * v[1] * scale, flip * v[2] * scale];
            (out.map(|x| if valid { x } else { 0.0 }), valid)
        }
    }
}

impl<T: PictureSample> PixelDecoder<T, [f32; 3], bool> for NormalDecoding {
    #[inline(always)]
    fn pixel(&self, p: [T; 3]) -> ([f32; 3], bool) {
        self.decode(p.map(T::to_unit_f32))
    }

    /// In blocks, through planar buffers: channels apart, then the arithmetic (a loop LLVM
    /// vectorises), then the vectors interleaved into the output.
    #[inline(always)]
    fn row<const C: usize>(&self, src: &[T], out: &mut [[f32; 3]], mut valid: Option<&mut [bool]>) {
        simd::vectorised(
            #[inline(always)]
            || {
                let mut colour = [[0f32; BLOCK]; 3];
                let mut vector = [[0f32; BLOCK]; 3];
                let mut ok = [false; BLOCK];
                let kernel = self.kernel();
                for (b, (src, out)) in src.chunks(BLOCK * C).zip(out.chunks_mut(BLOCK)).enumerate()
                {
                    let [r, g, bl] = &mut colour;
                    for (((p, r), g), bl) in src
                        .chunks_exact(C)
                        .zip(r.iter_mut())
                        .zip(g.iter_mut())
                        .zip(bl.iter_mut())
                    {
                        [*r, *g, *bl] = [p[0], p[1], p[2]].map(T::to_unit_f32);
                    }
                    let [x, y, z] = &mut vector;
                    for i in 0..BLOCK {
                        let ([vx, vy, vz], v) = kernel([colour[0][i], colour[1][i], colour[2][i]]);
                        (x[i], y[i], z[i], ok[i]) = (vx, vy, vz, v);
                    }
                    for (i, o) in out.iter_mut().enumerate() {
                        *o = [x[i], y[i], z[i]];
                    }
                    if let Some(valid) = valid.as_deref_mut() {
                        valid[b * BLOCK..][..out.len()].copy_from_slice(&ok[..out.len()]);
                    }
                }
            },
        )
    }
}

/// Decodes a picture stack (N, H, W, C) into vectors `out` (N * H * W) and the validity mask.
pub fn decode<T: PictureSample>(
    rgb: ArrayView4<T>,
    options: &NormalDecoding,
    out: &mut [[f32; 3]],
    valid: &mut [bool],
) -> Result<()> {
    shapes::decode(rgb.dim(), &[("out", out.len()), ("valid", valid.len())])?;
    decode_rows(rgb, out, Some(valid), options);
    Ok(())
}

/// Encodes vectors (N, H, W, 3) in the paper's camera frame into `out` (N * H * W colours).
/// Vectors are normalised first; zero or non-finite vectors get `invalid` (black when None) and
/// are reported.
pub fn encode<T: DepthSample, O: EncodedSample>(
    normals: ArrayView4<T>,
    invalid: Option<[O; 3]>,
    out: &mut [[O; 3]],
) -> Result<Defects> {
    let (n, h, w, c) = normals.dim();
    if c != 3 {
        return Err(Error::new(
            "normals",
            format!("normals must have 3 components, got {c}"),
        ));
    }
    shapes::length("out", out.len(), n * h * w)?;
    let invalid = invalid.unwrap_or([O::default(); 3]);
    let kernel = |row: usize, out: &mut [[O; 3]], _: Option<&mut [()]>| {
        let view = normals
            .index_axis(Axis(0), row / h)
            .index_axis_move(Axis(0), row % h);
        let mut defects = Defects::default();
        for (x, (v, o)) in view.outer_iter().zip(out.iter_mut()).enumerate() {
            let v = [v[0].to_f64(), v[1].to_f64(), v[2].to_f64()];
            let norm = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            if norm.is_finite() && norm > 0.0 {
                let [x, y, z] = v.map(|a| a / norm);
                *o = [(1.0 - x) / 2.0, (1.0 + y) / 2.0, (1.0 + z) / 2.0]
                    .map(|a| O::from_unit(a.clamp(0.0, 1.0)));
            } else {
                defects.record(row * w + x, norm);
                *o = invalid;
            }
        }
        defects
    };
    Ok(for_each_row::<[O; 3], (), _>(n * h, w, out, None, kernel))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;

    fn options() -> NormalDecoding {
        NormalDecoding::new(true, false, [1.0, 0.0, 1.0], 0.1, (0.7, 1.3)).unwrap()
    }

    #[test]
    fn axis_colours_follow_the_paper() {
        // Left-facing (-x) is red-ish pink, up (+y) light green, toward the camera (+z) light blue.
        let vectors = Array4::from_shape_vec(
            (1, 1, 3, 3),
            vec![-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        )
        .unwrap();
        let mut out = vec![[0u8; 3]; 3];
        assert!(encode(vectors.view(), None, &mut out).unwrap().is_empty());
        assert_eq!(out, vec![[255, 128, 128], [128, 255, 128], [128, 128, 255]]);
    }

    #[test]
    fn decode_inverts_encode_within_quantisation() {
        let mut vectors = Vec::new();
        for i in 0..40 {
            let (a, b) = (i as f64 * 0.37, i as f64 * 0.11);
            vectors.extend([a.cos() * b.sin(), a.sin() * b.sin(), b.cos().abs() + 0.1]);
        }
        let field = Array4::from_shape_vec((1, 4, 10, 3), vectors).unwrap();
        let mut colours = vec![[0u16; 3]; 40];
        encode(field.view(), None, &mut colours).unwrap();
        let picture = Array4::from_shape_vec((1, 4, 10, 3), colours.concat()).unwrap();
        let mut back = vec![[0f32; 3]; 40];
        let mut valid = vec![false; 40];
        decode(picture.view(), &options(), &mut back, &mut valid).unwrap();
        assert!(valid.iter().all(|&v| v));
        for (v, b) in field.as_slice().unwrap().chunks(3).zip(&back) {
            let norm = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            for k in 0..3 {
                assert!((v[k] / norm - b[k] as f64).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn sky_and_bad_norms_are_invalid_and_zero() {
        let picture = Array4::from_shape_vec(
            (1, 1, 3, 3),
            vec![255u8, 0, 255, 128, 128, 128, 128, 128, 255],
        )
        .unwrap();
        let mut out = vec![[9f32; 3]; 3];
        let mut valid = vec![true; 3];
        decode(picture.view(), &options(), &mut out, &mut valid).unwrap();
        assert_eq!(valid, vec![false, false, true]);
        assert_eq!(out[0], [0.0; 3]);
        assert_eq!(out[1], [0.0; 3]);
        let opencv = NormalDecoding {
            opencv: true,
            ..options()
        };
        decode(picture.view(), &opencv, &mut out, &mut valid).unwrap();
        assert!(out[2][2] < -0.99 && out[2][1].abs() < 0.01);
    }

    #[test]
    fn zero_and_nan_vectors_are_reported() {
        let field = Array4::from_shape_vec(
            (1, 1, 3, 3),
            vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0, f64::NAN, 0.0, 1.0],
        )
        .unwrap();
        let mut out = vec![[0u8; 3]; 3];
        let defects = encode(field.view(), Some([1, 2, 3]), &mut out).unwrap();
        assert_eq!(defects.count, 2);
        assert_eq!(defects.first.unwrap().0, 0);
        assert_eq!(out[0], [1, 2, 3]);
        assert_eq!(out[2], [1, 2, 3]);
    }

    #[test]
    fn bad_options_are_refused() {
        let sky = [1.0, 0.0, 1.0];
        assert_eq!(
            NormalDecoding::new(true, false, sky, -1.0, (0.5, 1.5))
                .unwrap_err()
                .argument,
            "sky_tolerance"
        );
        assert_eq!(
            NormalDecoding::new(true, false, sky, 0.1, (1.5, 0.5))
                .unwrap_err()
                .argument,
            "norm_range"
        );
    }
}
