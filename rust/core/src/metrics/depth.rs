//! The sums behind the standard metric-depth errors (ZoeDepth / Depth Anything `compute_errors`),
//! per image, from which both per-image and pooled averages follow.

use ndarray::ArrayView3;

use super::fastmath::ln_ratio;
use super::{fold_rows, row, valid_row, Real};
use crate::error::{Error, Result};
use crate::simd;

/// What [`sums`] returns per image, in this order.
pub const SUMS: [&str; 10] = [
    "count",   // valid pixels
    "delta1",  // pixels with max(p/g, g/p) < 1.25
    "delta2",  // ... < 1.25^2
    "delta3",  // ... < 1.25^3
    "abs_rel", // sum |g - p| / g
    "sq_rel",  // sum (g - p)^2 / g
    "sq",      // sum (g - p)^2
    "log_sq",  // sum d^2, d = ln p - ln g
    "log",     // sum d
    "log_abs", // sum |d|
];

/// Lanes of the running sums: one AVX2 register of f64 per sum, ten sums filling ten of the
/// sixteen registers (more lanes would spill).
const LANES: usize = 8;

/// Per image of the (N, H, W) maps: the [`SUMS`] over the pixels where `valid` (when given) is true
/// and the ground truth lies in (min_depth, max_depth). Predictions are first clipped to
/// [min_depth, max_depth], NaN counting as min_depth (as in ZoeDepth).
pub fn sums<T: Real>(
    pred: ArrayView3<T>,
    gt: ArrayView3<T>,
    valid: Option<ArrayView3<bool>>,
    min_depth: f64,
    max_depth: f64,
) -> Result<Vec<[f64; 10]>> {
    if !(min_depth > 0.0 && min_depth.is_finite()) {
        return Err(Error::new(
            "min_depth",
            format!("min_depth must be a positive finite number, got {min_depth}"),
        ));
    }
    if max_depth.partial_cmp(&min_depth) != Some(std::cmp::Ordering::Greater) {
        return Err(Error::new(
            "max_depth",
            format!("max_depth must be above min_depth ({min_depth}), got {max_depth}"),
        ));
    }
    let (n, h, w) = gt.dim();
    let all = vec![true; w];
    Ok(fold_rows(
        n * h,
        w,
        || vec![[0.0; 10]; n],
        |out, r| {
            let (p, g) = (row(pred, r), row(gt, r));
            let v = valid_row(valid, r, &all);
            let row_sums = simd::vectorised(
                #[inline(always)]
                || row_sums(&p, &g, &v, min_depth, max_depth),
            );
            out[r / h]
                .iter_mut()
                .zip(row_sums)
                .for_each(|(o, s)| *o += s);
        },
        |mut a, b| {
            for (a, b) in a.iter_mut().zip(&b) {
                a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
            }
            a
        },
    ))
}

#[inline(always)]
fn row_sums<T: Real>(p: &[T], g: &[T], v: &[bool], min: f64, max: f64) -> [f64; 10] {
    let mut acc = [[0.0f64; LANES]; 10];
    let (p_chunks, g_chunks, v_chunks) = (
        p.chunks_exact(LANES),
        g.chunks_exact(LANES),
        v.chunks_exact(LANES),
    );
    let (p_rest, g_rest, v_rest) = (
        p_chunks.remainder(),
        g_chunks.remainder(),
        v_chunks.remainder(),
    );
    for ((p, g), v) in p_chunks.zip(g_chunks).zip(v_chunks) {
        // Fixed-size arrays: no bounds checks, so the lanes map onto vector registers.
        let p: &[T; LANES] = p.try_into().expect("LANES values");
        let g: &[T; LANES] = g.try_into().expect("LANES values");
        let v: &[bool; LANES] = v.try_into().expect("LANES values");
        add_lanes(&mut acc, p, g, v, min, max);
    }
    // The tail padded with skipped pixels.
    let one = p.first().copied();
    if let Some(one) = one.filter(|_| !p_rest.is_empty()) {
        let (mut pp, mut gg, mut vv) = ([one; LANES], [one; LANES], [false; LANES]);
        pp[..p_rest.len()].copy_from_slice(p_rest);
        gg[..g_rest.len()].copy_from_slice(g_rest);
        vv[..v_rest.len()].copy_from_slice(v_rest);
        add_lanes(&mut acc, &pp, &gg, &vv, min, max);
    }
    acc.map(|lanes| lanes.iter().sum())
}

#[inline(always)]
fn add_lanes<T: Real>(
    acc: &mut [[f64; LANES]; 10],
    p: &[T; LANES],
    g: &[T; LANES],
    v: &[bool; LANES],
    min: f64,
    max: f64,
) {
    for l in 0..LANES {
        // The mask as a 0.0 / 1.0 float and both values loaded unconditionally: a bool mask and a
        // conditional load become scalar code or masked loads.
        let (gl, pl) = (g[l].to_f64(), p[l].to_f64());
        let keep = if v[l] & (gl > min) & (gl < max) {
            1.0
        } else {
            0.0
        };
        // Skipped pixels compute on (1, 1), which adds nothing but the counts, masked.
        let (gl, pl) = if keep > 0.0 {
            (gl, pl.max(min).min(max))
        } else {
            (1.0, 1.0)
        };
        // max(p / g, g / p) < t as p < t g and g < t p: no division, and exact for f32 inputs
        // (t = 1.25^k has at most 7 significant bits, the products fit an f64).
        let within = |t: f64| {
            if (pl < t * gl) & (gl < t * pl) {
                keep
            } else {
                0.0
            }
        };
        // One division per pixel, shared by the logarithm and 1 / g.
        let (d, inv_g) = ln_ratio(pl, gl);
        let diff = gl - pl;
        let rel = diff * inv_g;
        let values = [
            keep,
            within(1.25),
            within(1.25 * 1.25),
            within(1.25 * 1.25 * 1.25),
            rel.abs(),
            diff * rel,
            diff * diff,
            d * d,
            d,
            d.abs(),
        ];
        for (a, x) in acc.iter_mut().zip(values) {
            a[l] += x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn sums_over_valid_pixels_with_clipping() {
        let gt = Array3::from_shape_vec((1, 1, 4), vec![2.0f32, 0.0, 4.0, 100.0]).unwrap();
        let pred = Array3::from_shape_vec((1, 1, 4), vec![2.0f32, 5.0, f32::NAN, 1.0]).unwrap();
        let s = sums(pred.view(), gt.view(), None, 0.5, 10.0).unwrap()[0];
        // valid: gt 2 (pred 2) and gt 4 (pred NaN -> 0.5)
        assert_eq!(&s[..4], &[2.0, 1.0, 1.0, 1.0]);
        assert!((s[4] - 3.5 / 4.0).abs() < 1e-12);
        assert!((s[6] - 3.5 * 3.5).abs() < 1e-12);
        assert!((s[8] - (0.5f64 / 4.0).ln()).abs() < 1e-12);
    }

    #[test]
    fn bad_depth_range_is_refused() {
        let a = Array3::<f32>::zeros((1, 1, 1));
        assert_eq!(
            sums(a.view(), a.view(), None, 0.0, 1.0)
                .unwrap_err()
                .argument,
            "min_depth"
        );
        assert_eq!(
            sums(a.view(), a.view(), None, 1.0, 1.0)
                .unwrap_err()
                .argument,
            "max_depth"
        );
    }
}
