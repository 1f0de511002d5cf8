//! The sums behind the standard metric-depth errors (ZoeDepth / Depth Anything `compute_errors`),
//! per image, from which both per-image and pooled averages follow.

use ndarray::ArrayView3;

use super::fastmath::ln_ratio;
use super::{check_pair, fold_rows, row, valid_row, Real};
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
    check_pair(pred.shape(), gt.shape(), valid.as_ref().map(|v| v.shape()))?;
    let (n, h, w) = gt.dim();
    let all = vec![true; w];
    Ok(fold_rows(
        n * h,
        w,
        || vec![[0.0; 10]; n],
        |out, r| {
            let (p, g) = (row(pred, r), row(gt, r));
            let v = valid_row(valid, r, &all);
            #[cfg(target_arch = "x86_64")]
            if let (Some(p), Some(g), true) = (T::as_f32(&p), T::as_f32(&g), avx2::available()) {
                // SAFETY: the CPU has AVX2 and FMA, checked by `available`.
                let row_sums = unsafe { avx2::row_sums(p, g, &v, min_depth, max_depth) };
                add_row(&mut out[r / h], row_sums);
                return;
            }
            let row_sums = simd::vectorised(
                #[inline(always)]
                || row_sums(&p, &g, &v, min_depth, max_depth),
            );
            add_row(&mut out[r / h], row_sums);
        },
        |mut a, b| {
            for (a, b) in a.iter_mut().zip(&b) {
                a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
            }
            a
        },
    ))
}

fn add_row(image: &mut [f64; 10], row: [f64; 10]) {
    image.iter_mut().zip(row).for_each(|(o, s)| *o += s);
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

/// [`row_sums`] of f32 maps with AVX2 and FMA intrinsics, four pixels per step, where LLVM's
/// vectoriser spills and scalarises: the same sums, with ln(p / g) and 1 / g from one division
/// straight from s = (p - g) / (p + g) while every p / g of a step lies in [1 / sqrt(2), sqrt(2)]
/// (the range [`ln_ratio`] reduces to, so the same series holds; almost every pixel of a
/// prediction worth evaluating), and through [`ln_ratio`] otherwise.
///
/// [`ln_ratio`]: super::super::fastmath::ln_ratio
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    pub use super::super::fastmath::avx2::available;
    use super::super::fastmath::avx2::{lanes, mask};
    use super::super::fastmath::{ln_ratio, LN_SERIES, LN_S_MAX};

    /// The running sums: four counts as integers, six sums of f64, one lane per pixel of a step.
    struct Sums {
        counts: [__m256i; 4],
        sums: [__m256d; 6],
    }

    /// [`super::row_sums`] of one row of f32 maps. Only call where [`available`].
    #[target_feature(enable = "avx2,fma")]
    pub fn row_sums(p: &[f32], g: &[f32], v: &[bool], min: f64, max: f64) -> [f64; 10] {
        let mut acc = Sums {
            counts: [_mm256_setzero_si256(); 4],
            sums: [_mm256_setzero_pd(); 6],
        };
        let (min, max) = (_mm256_set1_pd(min), _mm256_set1_pd(max));
        let (p_chunks, g_chunks, v_chunks) =
            (p.chunks_exact(4), g.chunks_exact(4), v.chunks_exact(4));
        let rest = (
            p_chunks.remainder(),
            g_chunks.remainder(),
            v_chunks.remainder(),
        );
        for ((p, g), v) in p_chunks.zip(g_chunks).zip(v_chunks) {
            step(&mut acc, load(p), load(g), mask(v), min, max);
        }
        // The tail padded with skipped pixels.
        if !rest.0.is_empty() {
            let (mut pp, mut gg, mut vv) = ([1.0f32; 4], [1.0f32; 4], [false; 4]);
            pp[..rest.0.len()].copy_from_slice(rest.0);
            gg[..rest.1.len()].copy_from_slice(rest.1);
            vv[..rest.2.len()].copy_from_slice(rest.2);
            step(&mut acc, load(&pp), load(&gg), mask(&vv), min, max);
        }
        let mut out = [0.0; 10];
        for (o, c) in out.iter_mut().zip(acc.counts) {
            let lanes = [
                _mm256_extract_epi64::<0>(c),
                _mm256_extract_epi64::<1>(c),
                _mm256_extract_epi64::<2>(c),
                _mm256_extract_epi64::<3>(c),
            ];
            *o = lanes.iter().sum::<i64>() as f64;
        }
        for (o, s) in out[4..].iter_mut().zip(acc.sums) {
            let (low, high) = (_mm256_castpd256_pd128(s), _mm256_extractf128_pd::<1>(s));
            let pair = _mm_add_pd(low, high);
            *o = _mm_cvtsd_f64(pair) + _mm_cvtsd_f64(_mm_unpackhi_pd(pair, pair));
        }
        out
    }

    /// Four f32 values as f64 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn load(x: &[f32]) -> __m256d {
        // Element by element, which compiles to one unaligned load: no unsafe pointer read.
        _mm256_cvtps_pd(_mm_setr_ps(x[0], x[1], x[2], x[3]))
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn step(acc: &mut Sums, p: __m256d, g: __m256d, valid: __m256d, min: __m256d, max: __m256d) {
        let one = _mm256_set1_pd(1.0);
        let keep = _mm256_and_pd(
            valid,
            _mm256_and_pd(
                _mm256_cmp_pd::<_CMP_GT_OQ>(g, min),
                _mm256_cmp_pd::<_CMP_LT_OQ>(g, max),
            ),
        );
        // maxpd returns its second operand for a NaN: NaN predictions count as min.
        let p = _mm256_min_pd(_mm256_max_pd(p, min), max);
        // Skipped pixels compute on (1, 1), which adds nothing but the counts, masked.
        let p = _mm256_blendv_pd(one, p, keep);
        let g = _mm256_blendv_pd(one, g, keep);

        let sum = _mm256_add_pd(p, g);
        let product = _mm256_mul_pd(g, sum);
        let d = _mm256_div_pd(one, product);
        // p - g is exact where p / g is in [1/2, 2] (Sterbenz).
        let s = _mm256_mul_pd(_mm256_sub_pd(p, g), _mm256_mul_pd(g, d));
        let sign = _mm256_set1_pd(-0.0);
        let near = _mm256_and_pd(
            _mm256_cmp_pd::<_CMP_LE_OQ>(_mm256_andnot_pd(sign, s), _mm256_set1_pd(LN_S_MAX)),
            // g (p + g) within range for an accurate reciprocal (f32 maps, f64 bounds).
            _mm256_and_pd(
                _mm256_cmp_pd::<_CMP_GE_OQ>(product, _mm256_set1_pd(f64::MIN_POSITIVE)),
                _mm256_cmp_pd::<_CMP_LE_OQ>(product, _mm256_set1_pd(1e300)),
            ),
        );
        let (ln, inv_g) = if _mm256_movemask_pd(near) == 0b1111 {
            let ln = _mm256_mul_pd(s, ln_series(_mm256_mul_pd(s, s)));
            (ln, _mm256_mul_pd(sum, d))
        } else {
            let (p, g) = (lanes(p), lanes(g));
            let r = [0, 1, 2, 3].map(|l| ln_ratio(p[l], g[l]));
            (
                _mm256_setr_pd(r[0].0, r[1].0, r[2].0, r[3].0),
                _mm256_setr_pd(r[0].1, r[1].1, r[2].1, r[3].1),
            )
        };

        // max(p / g, g / p) < t as t min(p, g) - max(p, g) > 0, its sign exact with one rounding.
        let (small, large) = (_mm256_min_pd(p, g), _mm256_max_pd(p, g));
        let mut within = [keep; 4];
        for (w, t) in within[1..]
            .iter_mut()
            .zip([1.25, 1.25 * 1.25, 1.25 * 1.25 * 1.25])
        {
            let margin = _mm256_fmsub_pd(_mm256_set1_pd(t), small, large);
            *w = _mm256_and_pd(
                keep,
                _mm256_cmp_pd::<_CMP_GT_OQ>(margin, _mm256_setzero_pd()),
            );
        }
        // A true lane is all ones, -1 as an integer.
        for (c, w) in acc.counts.iter_mut().zip(within) {
            *c = _mm256_sub_epi64(*c, _mm256_castpd_si256(w));
        }
        let diff = _mm256_sub_pd(g, p);
        let rel = _mm256_mul_pd(diff, inv_g);
        let [abs_rel, sq_rel, sq, log_sq, log, log_abs] = &mut acc.sums;
        *abs_rel = _mm256_add_pd(*abs_rel, _mm256_andnot_pd(sign, rel));
        *sq_rel = _mm256_fmadd_pd(diff, rel, *sq_rel);
        *sq = _mm256_fmadd_pd(diff, diff, *sq);
        *log_sq = _mm256_fmadd_pd(ln, ln, *log_sq);
        *log = _mm256_add_pd(*log, ln);
        *log_abs = _mm256_add_pd(*log_abs, _mm256_andnot_pd(sign, ln));
    }

    /// [`LN_SERIES`] in Estrin's form, as the scalar one.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn ln_series(z: __m256d) -> __m256d {
        let c = LN_SERIES.map(|c| _mm256_set1_pd(c));
        let z2 = _mm256_mul_pd(z, z);
        let z4 = _mm256_mul_pd(z2, z2);
        let mut q = [c[0]; 4];
        for (k, q) in q.iter_mut().enumerate() {
            *q = _mm256_fmadd_pd(c[2 * k + 1], z, c[2 * k]);
        }
        let low = _mm256_fmadd_pd(q[1], z2, q[0]);
        let high = _mm256_fmadd_pd(q[3], z2, q[2]);
        _mm256_fmadd_pd(high, z4, low)
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
    #[cfg(target_arch = "x86_64")]
    fn avx2_rows_match_the_portable_sums() {
        if !avx2::available() {
            return;
        }
        // Ratios near 1 and far from it, NaN and infinite predictions, ground truth out of range,
        // an invalid pixel, and widths that leave every tail length.
        let mut uniform = crate::test_random::uniform(12345);
        for width in [1, 3, 4, 7, 64, 1001] {
            for far in [0.0, 0.3] {
                let g: Vec<f32> = (0..width)
                    .map(|_| {
                        if uniform() < 0.1 {
                            0.0
                        } else {
                            (0.1 + 20.0 * uniform()) as f32
                        }
                    })
                    .collect();
                let p: Vec<f32> = g
                    .iter()
                    .map(|&g| match uniform() {
                        u if u < 0.02 => f32::NAN,
                        u if u < 0.03 => f32::INFINITY,
                        u if u < far => g * (0.01 + 100.0 * uniform()) as f32,
                        _ => g * (0.75 + 0.6 * uniform()) as f32,
                    })
                    .collect();
                let v: Vec<bool> = (0..width).map(|_| uniform() < 0.95).collect();
                for (min, max) in [(1e-3, f64::INFINITY), (0.5, 10.0)] {
                    let want = row_sums(&p, &g, &v, min, max);
                    // SAFETY: AVX2 and FMA are available, checked above.
                    let got = unsafe { avx2::row_sums(&p, &g, &v, min, max) };
                    assert_eq!(got[..4], want[..4], "counts, width {width}");
                    for (k, (a, b)) in got.iter().zip(&want).enumerate().skip(4) {
                        let close = a == b || (a - b).abs() <= 1e-13 * b.abs().max(1.0);
                        assert!(close, "{k}: {a} vs {b}, width {width}");
                    }
                }
            }
        }
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
