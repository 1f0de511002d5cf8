//! Angular error of surface normals (DSINE's `compute_normal_error`): per-image sums, counts within
//! the standard thresholds, an exact per-image median, and a histogram for dataset medians.

use ndarray::{s, ArrayView3, ArrayView4};

use super::fastmath::atan2_degrees_lanes;

use super::{check_pair, fold_rows_into, row, valid_row, Real};
use crate::error::{Error, Result};
use crate::simd;

/// The thresholds, in degrees, of the "share within" metrics: whole numbers of histogram bins, so
/// that the counts below them come from the histogram, not from compares per pixel.
pub const THRESHOLDS: [f64; 5] = [5.0, 7.5, 11.25, 22.5, 30.0];
/// Histogram bins per degree: a dataset median from the histogram is within 1 / BINS_PER_DEGREE.
pub const BINS_PER_DEGREE: usize = 1000;
/// Bins of the histogram: [0, 180] degrees, the last bin holding exactly 180.
pub const HISTOGRAM_BINS: usize = 180 * BINS_PER_DEGREE + 1;

/// Per image: valid pixels, sum of errors, sum of squared errors, counts below each threshold,
/// and the exact median (NaN without valid pixels).
pub type ImageStats = [f64; 9];

/// Angular errors, in degrees, between the (N, H, W, 3) normal maps `pred` and `gt` over the pixels
/// where `valid` (when given) is true and the ground truth is a nonzero finite vector. Neither map
/// needs unit vectors: the error is acos(p.g / (|p| |g|)), the cosine clamped to [-1, 1]; a zero
/// or NaN prediction counts as 180 degrees.
///
/// Returns the [`ImageStats`] of each image and adds every error to `histogram` (bin
/// `floor(error * BINS_PER_DEGREE)`).
pub fn errors<T: Real>(
    pred: ArrayView4<T>,
    gt: ArrayView4<T>,
    valid: Option<ArrayView3<bool>>,
    histogram: &mut [i64],
) -> Result<Vec<ImageStats>> {
    if histogram.len() != HISTOGRAM_BINS {
        return Err(Error::new(
            "histogram",
            format!(
                "histogram must have {HISTOGRAM_BINS} bins, got {}",
                histogram.len()
            ),
        ));
    }
    check_pair(pred.shape(), gt.shape(), valid.as_ref().map(|v| v.shape()))?;
    let (n, h, w, c) = gt.dim();
    if c != 3 {
        return Err(Error::new(
            "gt",
            format!("gt must have 3 components, got {c}"),
        ));
    }
    let all = vec![true; w];
    let mut keys = vec![0u16; h * w];
    let mut stats = Vec::with_capacity(n);
    for image in 0..n {
        let one = s![image..image + 1, .., ..];
        let (p, g) = (
            pred.slice_move(s![image..image + 1, .., .., ..]),
            gt.slice_move(s![image..image + 1, .., .., ..]),
        );
        let v = valid.map(|v| v.slice_move(one));
        // The errors of each row go to a scratch row still in L1, from which the histogram (per
        // split of the work) counts them and their keys are stored for the median.
        let split = fold_rows_into(
            h,
            w,
            &mut keys,
            || Split::new(w),
            |split, r, keys| {
                let (pr, gr) = (row(p, r), row(g, r));
                let vr = valid_row(v, r, &all);
                count_row(split, &pr, &gr, &vr, keys);
            },
            Split::merge,
        );
        let (lo, hi) = (split.lo, split.hi);
        if lo <= hi {
            histogram[lo..=hi]
                .iter_mut()
                .zip(&split.histogram[lo..=hi])
                .for_each(|(h, &c)| *h += c as i64);
        }
        let error_at = |i: usize| {
            let (r, x) = (i / w, i % w);
            let (pr, gr) = (row(p, r), row(g, r));
            let mut e = [0.0];
            errors_of_row(
                &pr[3 * x..3 * x + 3],
                &gr[3 * x..3 * x + 3],
                &[true],
                &mut e,
            );
            e[0]
        };
        let median = exact_median(&keys, &split, error_at);
        let mut s = [0.0; 9];
        s[..3].copy_from_slice(&split.sums);
        for (s, t) in s[3..8].iter_mut().zip(THRESHOLDS) {
            *s = split.below(t);
        }
        s[8] = median;
        stats.push(s);
    }
    Ok(stats)
}

/// Keys per degree of the per-pixel keys kept for the exact median: 16-bit keys (a quarter of the
/// memory traffic of the f64 errors) that narrow the median down to a few hundred pixels, whose
/// errors are then computed again.
const KEYS_PER_DEGREE: f64 = 364.0;
/// The key of an invalid pixel (above every valid key, 180 * KEYS_PER_DEGREE = 65520).
const NO_KEY: u16 = u16::MAX;

/// floor(x) for x in [0, 2^31), as `x as u32` (errors lie in [0, 180] degrees, so both scalings
/// fit): through the f64 mantissa, 2^52 + floor(x) holding it in its low bits, which vectorises
/// where the saturating `as` conversion leaves scalar code.
#[inline(always)]
fn floor_of(x: f64) -> u32 {
    (x.floor() + 4_503_599_627_370_496.0).to_bits() as u32
}

/// What a split of the work of one image accumulates.
struct Split {
    /// Valid pixels, sum of errors, sum of squared errors.
    sums: [f64; 3],
    /// HISTOGRAM_BINS + 1 bins, the last one taking the invalid pixels (and the AVX2 kernel's
    /// padding past the end of a row) so that the loop has no branch.
    histogram: Vec<u32>,
    /// The range of bins holding valid pixels (lo > hi while there are none): merging and adding
    /// skip the empty rest.
    lo: usize,
    hi: usize,
    /// The errors of the current row (-1 for invalid pixels).
    errors: Vec<f64>,
}

impl Split {
    fn new(width: usize) -> Split {
        Split {
            sums: [0.0; 3],
            histogram: vec![0; HISTOGRAM_BINS + 1],
            lo: usize::MAX,
            hi: 0,
            errors: vec![0.0; width],
        }
    }

    /// Adds the sums of a row and the range of bins it filled.
    fn add(&mut self, sums: [f64; 3], lo: usize, hi: usize) {
        self.sums.iter_mut().zip(sums).for_each(|(a, b)| *a += b);
        self.lo = self.lo.min(lo);
        self.hi = self.hi.max(hi);
    }

    /// Counts the errors of the current row and writes their keys: bins and keys of a block of
    /// pixels computed first (vectorised), then counted (scalar).
    #[inline(always)]
    fn count(&mut self, keys: &mut [u16]) {
        const BLOCK: usize = 64;
        let mut bins = [0i32; BLOCK];
        for (errors, keys) in self.errors.chunks(BLOCK).zip(keys.chunks_mut(BLOCK)) {
            let bins = &mut bins[..errors.len()];
            for ((&e, bin), key) in errors.iter().zip(bins.iter_mut()).zip(keys) {
                let valid = e >= 0.0;
                *bin = if valid {
                    floor_of(e * BINS_PER_DEGREE as f64) as i32
                } else {
                    HISTOGRAM_BINS as i32
                };
                *key = if valid {
                    floor_of(e * KEYS_PER_DEGREE) as u16
                } else {
                    NO_KEY
                };
            }
            let lo = bins.iter().fold(i32::MAX, |lo, &b| lo.min(b));
            let hi = bins.iter().fold(0, |hi, &b| {
                hi.max(if b == HISTOGRAM_BINS as i32 { 0 } else { b })
            });
            self.lo = self.lo.min(lo as usize);
            self.hi = self.hi.max(hi as usize);
            for &b in bins.iter() {
                self.histogram[b as usize] += 1;
            }
        }
    }

    /// The count of errors below `t` degrees, a whole number of bins: e < t as
    /// floor(e BINS_PER_DEGREE) < t BINS_PER_DEGREE, the histogram's own rounding of e.
    fn below(&self, t: f64) -> f64 {
        let end = (t * BINS_PER_DEGREE as f64) as usize;
        let bins = &self.histogram[self.lo.min(end)..end];
        bins.iter().map(|&c| c as u64).sum::<u64>() as f64
    }

    fn merge(mut self, other: Split) -> Split {
        self.sums
            .iter_mut()
            .zip(other.sums)
            .for_each(|(a, b)| *a += b);
        if other.lo <= other.hi {
            let (lo, hi) = (other.lo, other.hi);
            self.histogram[lo..=hi]
                .iter_mut()
                .zip(&other.histogram[lo..=hi])
                .for_each(|(a, b)| *a += b);
            self.lo = self.lo.min(lo);
            self.hi = self.hi.max(hi);
        }
        self
    }
}

/// Adds the errors of one row to `split` and writes their keys: with AVX2 and FMA for f32 maps
/// where the CPU has them (the bins and keys straight from the error lanes), else through the row
/// of errors of [`errors_of_row`].
fn count_row<T: Real>(split: &mut Split, p: &[T], g: &[T], v: &[bool], keys: &mut [u16]) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(p), Some(g), true) = (T::as_f32(p), T::as_f32(g), avx2::available()) {
        let histogram = (&mut split.histogram[..])
            .try_into()
            .expect("HISTOGRAM_BINS + 1");
        // SAFETY: the CPU has AVX2 and FMA, checked by `available`.
        let (sums, lo, hi) = unsafe { avx2::row_counts(p, g, v, histogram, keys) };
        split.add(sums, lo, hi);
        return;
    }
    let row = errors_of_row(p, g, v, &mut split.errors);
    split.add(row, usize::MAX, 0);
    simd::vectorised(
        #[inline(always)]
        || split.count(keys),
    );
}

/// The errors of one row into `out` (-1 for skipped pixels), their count, sum and sum of squares:
/// with AVX2 and FMA intrinsics for f32 maps where the CPU has them, else the portable lanes.
/// Every error of a map comes from here, so that those computed again for the median are the ones
/// counted.
fn errors_of_row<T: Real>(p: &[T], g: &[T], v: &[bool], out: &mut [f64]) -> [f64; 3] {
    #[cfg(target_arch = "x86_64")]
    if let (Some(p), Some(g), true) = (T::as_f32(p), T::as_f32(g), avx2::available()) {
        // SAFETY: the CPU has AVX2 and FMA, checked by `available`.
        return unsafe { avx2::row_errors(p, g, v, out) };
    }
    simd::vectorised(
        #[inline(always)]
        || row_errors(p, g, v, out),
    )
}

/// Lanes of the running sums: one AVX2 register of f64 per sum.
const LANES: usize = 8;

#[inline(always)]
fn row_errors<T: Real>(p: &[T], g: &[T], v: &[bool], out: &mut [f64]) -> [f64; 3] {
    let mut acc = [[0.0f64; LANES]; 3];
    let mut p_chunks = p.chunks_exact(3 * LANES);
    let mut g_chunks = g.chunks_exact(3 * LANES);
    let mut v_chunks = v.chunks_exact(LANES);
    let mut out_chunks = out.chunks_exact_mut(LANES);
    for (((p, g), v), out) in (&mut p_chunks)
        .zip(&mut g_chunks)
        .zip(&mut v_chunks)
        .zip(&mut out_chunks)
    {
        // Fixed-size arrays: no bounds checks, so the lanes map onto vector registers.
        let p: &[T; 3 * LANES] = p.try_into().expect("3 LANES values");
        let g: &[T; 3 * LANES] = g.try_into().expect("3 LANES values");
        let v: &[bool; LANES] = v.try_into().expect("LANES values");
        let out: &mut [f64; LANES] = out.try_into().expect("LANES values");
        add_lanes(&mut acc, p, g, v, out);
    }
    // The tail padded with skipped pixels.
    let rest = v_chunks.remainder().len();
    if rest > 0 {
        let zero = p[0];
        let (mut pp, mut gg, mut vv) = ([zero; 3 * LANES], [zero; 3 * LANES], [false; LANES]);
        pp[..3 * rest].copy_from_slice(p_chunks.remainder());
        gg[..3 * rest].copy_from_slice(g_chunks.remainder());
        vv[..rest].copy_from_slice(v_chunks.remainder());
        let mut oo = [0.0; LANES];
        add_lanes(&mut acc, &pp, &gg, &vv, &mut oo);
        out_chunks.into_remainder().copy_from_slice(&oo[..rest]);
    }
    acc.map(|lanes| lanes.iter().sum())
}

#[inline(always)]
fn add_lanes<T: Real>(
    acc: &mut [[f64; LANES]; 3],
    p: &[T; 3 * LANES],
    g: &[T; 3 * LANES],
    v: &[bool; LANES],
    out: &mut [f64; LANES],
) {
    // Masks as 0.0 / 1.0 floats, not bools: bool arrays make LLVM pack and unpack the lanes with
    // scalar code between the loops.
    let (mut cross, mut dot) = ([0.0; LANES], [1.0; LANES]);
    let (mut keep, mut missing) = ([0.0f64; LANES], [0.0f64; LANES]);
    for l in 0..LANES {
        let (px, py, pz) = (
            p[3 * l].to_f64(),
            p[3 * l + 1].to_f64(),
            p[3 * l + 2].to_f64(),
        );
        let (gx, gy, gz) = (
            g[3 * l].to_f64(),
            g[3 * l + 1].to_f64(),
            g[3 * l + 2].to_f64(),
        );
        let gn = gx * gx + gy * gy + gz * gz;
        let valid = if v[l] { 1.0 } else { 0.0 };
        keep[l] = if (gn > 0.0) & (gn < f64::INFINITY) {
            valid
        } else {
            0.0
        };
        let pn = px * px + py * py + pz * pz;
        // A zero, NaN or infinite prediction has no direction: 180 degrees.
        missing[l] = if (pn > 0.0) & (pn < f64::INFINITY) {
            0.0
        } else {
            1.0
        };
        // The angle is atan2(|p x g|, p . g): neither vector needs normalising.
        let (cx, cy, cz) = (py * gz - pz * gy, pz * gx - px * gz, px * gy - py * gx);
        cross[l] = (cx * cx + cy * cy + cz * cz).sqrt();
        dot[l] = px * gx + py * gy + pz * gz;
    }
    let e = atan2_degrees_lanes(cross, dot);
    for l in 0..LANES {
        let keep = keep[l];
        // Skipped pixels count 0 degrees (nothing in the sums), and may have computed a NaN.
        let e = if missing[l] > 0.0 { 180.0 } else { e[l] };
        let e = if keep > 0.0 { e } else { 0.0 };
        out[l] = if keep > 0.0 { e } else { -1.0 };
        let values = [keep, e, e * e];
        for (a, x) in acc.iter_mut().zip(values) {
            a[l] += x;
        }
    }
}

/// [`row_errors`] of f32 maps with AVX2 and FMA intrinsics, four pixels per step, where LLVM's
/// vectoriser leaves much scalar shuffling: the same arithmetic (atan2(|p x g|, p . g) with
/// fdlibm's atan polynomial, as [`atan2_degrees_lanes`]).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    pub use super::super::fastmath::avx2::available;
    use super::super::fastmath::avx2::{lanes, mask};
    use super::super::fastmath::{ATAN_SERIES, TAN_PI_8};
    use super::{BINS_PER_DEGREE, HISTOGRAM_BINS, KEYS_PER_DEGREE, NO_KEY};

    /// [`super::row_errors`] of one row of f32 maps. Only call where [`available`].
    #[target_feature(enable = "avx2,fma")]
    pub fn row_errors(p: &[f32], g: &[f32], v: &[bool], out: &mut [f64]) -> [f64; 3] {
        steps(p, g, v, |first, e| {
            let n = (out.len() - first).min(4);
            out[first..first + n].copy_from_slice(&lanes(e)[..n]);
        })
    }

    /// The errors of one row of f32 maps counted in `histogram` (skipped pixels in its last bin)
    /// and written as keys, without a row of errors in between: (count, sum and sum of squares,
    /// the lowest and highest bins of kept pixels, the lowest above the highest if there are
    /// none). Only call where [`available`].
    #[target_feature(enable = "avx2,fma")]
    pub fn row_counts(
        p: &[f32],
        g: &[f32],
        v: &[bool],
        histogram: &mut [u32; HISTOGRAM_BINS + 1],
        keys: &mut [u16],
    ) -> ([f64; 3], usize, usize) {
        let set = _mm256_set1_pd;
        let last_bin = _mm_set1_epi32(HISTOGRAM_BINS as i32);
        // Lowest and highest bins of kept pixels so far, per lane.
        let (mut lo, mut hi) = (last_bin, _mm_setzero_si128());
        let sums = steps(p, g, v, |first, e| {
            // floor by truncation, the errors being >= 0; a skipped pixel's -1 gives a negative
            // integer, which as unsigned is above every bin and key, so that the unsigned minimum
            // takes it to the last bin and to NO_KEY.
            let bins = _mm256_cvttpd_epi32(_mm256_mul_pd(e, set(BINS_PER_DEGREE as f64)));
            hi = _mm_max_epi32(hi, bins);
            let bins = _mm_min_epu32(bins, last_bin);
            lo = _mm_min_epu32(lo, bins);
            let k = _mm256_cvttpd_epi32(_mm256_mul_pd(e, set(KEYS_PER_DEGREE)));
            let k = _mm_min_epu32(k, _mm_set1_epi32(NO_KEY as i32));
            let k = _mm_cvtsi128_si64(_mm_packus_epi32(k, k)) as u64;
            let k = [0, 16, 32, 48].map(|shift| (k >> shift) as u16);
            // A full step as one fixed-size store, not a copy of run-time length.
            match keys
                .get_mut(first..first + 4)
                .map(<&mut [u16; 4]>::try_from)
            {
                Some(Ok(keys)) => *keys = k,
                _ => {
                    let keys = &mut keys[first..];
                    let n = keys.len();
                    keys.copy_from_slice(&k[..n]);
                }
            }
            let bins = [
                _mm_extract_epi32::<0>(bins),
                _mm_extract_epi32::<1>(bins),
                _mm_extract_epi32::<2>(bins),
                _mm_extract_epi32::<3>(bins),
            ];
            for b in bins {
                histogram[(b as usize).min(HISTOGRAM_BINS)] += 1;
            }
        });
        let lanes = |x: __m128i| {
            [
                _mm_extract_epi32::<0>(x),
                _mm_extract_epi32::<1>(x),
                _mm_extract_epi32::<2>(x),
                _mm_extract_epi32::<3>(x),
            ]
        };
        let lo = lanes(lo).into_iter().min().unwrap_or_default();
        let hi = lanes(hi).into_iter().max().unwrap_or_default();
        (sums, lo as usize, hi as usize)
    }

    /// Calls `each(first pixel, errors)` on the errors of every four pixels of a row (-1 where
    /// skipped, and in the lanes past the end of the row), and returns their count, sum and sum
    /// of squares.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn steps(p: &[f32], g: &[f32], v: &[bool], mut each: impl FnMut(usize, __m256d)) -> [f64; 3] {
        // Valid pixels as integers, sums of e and e^2.
        let mut count = _mm256_setzero_si256();
        let mut sums = [_mm256_setzero_pd(); 2];
        // Two loops over blocks of steps, the geometry (square root) then the angles (division,
        // polynomial): one loop of both waits on their chained latencies with little in flight.
        const BLOCK: usize = 16;
        let steps = v.len().div_ceil(4);
        let mut geometries = [[_mm256_setzero_pd(); 4]; BLOCK];
        for first in (0..steps).step_by(BLOCK) {
            let block = first..(first + BLOCK).min(steps);
            for (step, geometry) in block.clone().zip(&mut geometries) {
                *geometry = if 4 * step + 4 <= v.len() {
                    let (i, j) = (12 * step, 4 * step);
                    self::geometry(xyz(&p[i..i + 12]), xyz(&g[i..i + 12]), mask(&v[j..j + 4]))
                } else {
                    // The tail padded with skipped pixels (zero ground truth).
                    let rest = v.len() - 4 * step;
                    let (mut pp, mut gg, mut vv) = ([0.0f32; 12], [0.0f32; 12], [false; 4]);
                    pp[..3 * rest].copy_from_slice(&p[12 * step..]);
                    gg[..3 * rest].copy_from_slice(&g[12 * step..]);
                    vv[..rest].copy_from_slice(&v[4 * step..]);
                    self::geometry(xyz(&pp), xyz(&gg), mask(&vv))
                };
            }
            for (step, &geometry) in block.zip(&geometries) {
                each(4 * step, angle(&mut count, &mut sums, geometry));
            }
        }
        let counts = [
            _mm256_extract_epi64::<0>(count),
            _mm256_extract_epi64::<1>(count),
            _mm256_extract_epi64::<2>(count),
            _mm256_extract_epi64::<3>(count),
        ];
        [
            counts.iter().sum::<i64>() as f64,
            lanes(sums[0]).iter().sum(),
            lanes(sums[1]).iter().sum(),
        ]
    }

    /// The x, y and z of four pixels (12 interleaved values) as f64 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn xyz(v: &[f32]) -> [__m256d; 3] {
        // Element by element, which compiles to unaligned loads: no unsafe pointer reads.
        let quad = |i: usize| _mm256_cvtps_pd(_mm_setr_ps(v[i], v[i + 1], v[i + 2], v[i + 3]));
        // a = x0 y0 z0 x1, b = y1 z1 x2 y2, c = z2 x3 y3 z3: two blends gather each coordinate,
        // a permutation puts it in order.
        let (a, b, c) = (quad(0), quad(4), quad(8));
        let x = _mm256_blend_pd::<0b0010>(_mm256_blend_pd::<0b0100>(a, b), c);
        let y = _mm256_blend_pd::<0b0100>(_mm256_blend_pd::<0b1001>(a, b), c);
        let z = _mm256_blend_pd::<0b1001>(_mm256_blend_pd::<0b0010>(a, b), c);
        [
            _mm256_permute4x64_pd::<0b01_10_11_00>(x),
            _mm256_permute4x64_pd::<0b10_11_00_01>(y),
            _mm256_permute4x64_pd::<0b11_00_01_10>(z),
        ]
    }

    /// Of four pixels: |p x g|, p . g, and the masks of the pixels kept and of the predictions
    /// present.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn geometry(
        [px, py, pz]: [__m256d; 3],
        [gx, gy, gz]: [__m256d; 3],
        valid: __m256d,
    ) -> [__m256d; 4] {
        let set = _mm256_set1_pd;
        let (zero, infinity) = (_mm256_setzero_pd(), set(f64::INFINITY));
        let norm2 = |x, y, z| _mm256_fmadd_pd(z, z, _mm256_fmadd_pd(y, y, _mm256_mul_pd(x, x)));
        let finite_nonzero = |n| {
            _mm256_and_pd(
                _mm256_cmp_pd::<_CMP_GT_OQ>(n, zero),
                _mm256_cmp_pd::<_CMP_LT_OQ>(n, infinity),
            )
        };
        let keep = _mm256_and_pd(valid, finite_nonzero(norm2(gx, gy, gz)));
        // A zero, NaN or infinite prediction has no direction: 180 degrees.
        let present = finite_nonzero(norm2(px, py, pz));
        // The angle is atan2(|p x g|, p . g): neither vector needs normalising. Products of f32
        // values are exact in f64, so fused cross and dot products round as the portable ones.
        let cx = _mm256_fmsub_pd(py, gz, _mm256_mul_pd(pz, gy));
        let cy = _mm256_fmsub_pd(pz, gx, _mm256_mul_pd(px, gz));
        let cz = _mm256_fmsub_pd(px, gy, _mm256_mul_pd(py, gx));
        let y = _mm256_sqrt_pd(norm2(cx, cy, cz));
        let x = _mm256_fmadd_pd(pz, gz, _mm256_fmadd_pd(py, gy, _mm256_mul_pd(px, gx)));

        [y, x, keep, present]
    }

    /// The errors of four pixels from their [`geometry`] (-1 where skipped), added to the counts
    /// and sums.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn angle(
        count: &mut __m256i,
        sums: &mut [__m256d; 2],
        [y, x, keep, present]: [__m256d; 4],
    ) -> __m256d {
        use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};
        let set = _mm256_set1_pd;
        let zero = _mm256_setzero_pd();
        // atan2 in degrees, as fastmath::atan2_degrees_lanes.
        let ax = _mm256_andnot_pd(set(-0.0), x);
        let (a, b) = (_mm256_min_pd(y, ax), _mm256_max_pd(y, ax));
        let big = _mm256_cmp_pd::<_CMP_GT_OQ>(a, _mm256_mul_pd(set(TAN_PI_8), b));
        let u = _mm256_div_pd(
            _mm256_blendv_pd(a, _mm256_sub_pd(a, b), big),
            _mm256_blendv_pd(b, _mm256_add_pd(a, b), big),
        );
        let z = _mm256_mul_pd(u, u);
        let w = _mm256_mul_pd(z, z);
        let c = ATAN_SERIES.map(|c| set(c));
        let mut s1 = c[10];
        for k in [8, 6, 4, 2, 0] {
            s1 = _mm256_fmadd_pd(s1, w, c[k]);
        }
        let mut s2 = c[9];
        for k in [7, 5, 3, 1] {
            s2 = _mm256_fmadd_pd(s2, w, c[k]);
        }
        let t = _mm256_fnmadd_pd(u, _mm256_fmadd_pd(z, s1, _mm256_mul_pd(w, s2)), u);
        let t = _mm256_add_pd(t, _mm256_and_pd(big, set(FRAC_PI_4)));
        let t = _mm256_blendv_pd(
            t,
            _mm256_sub_pd(set(FRAC_PI_2), t),
            _mm256_cmp_pd::<_CMP_GT_OQ>(y, ax),
        );
        let t = _mm256_blendv_pd(
            t,
            _mm256_sub_pd(set(PI), t),
            _mm256_cmp_pd::<_CMP_LT_OQ>(x, zero),
        );
        // minpd returns its second operand for a NaN (0 / 0): 180, as the portable min.
        let e = _mm256_min_pd(_mm256_mul_pd(t, set(180.0 / PI)), set(180.0));

        let e = _mm256_blendv_pd(set(180.0), e, present);
        // Skipped pixels count 0 degrees (nothing in the sums) and are written as -1.
        let e = _mm256_and_pd(e, keep);
        // A true lane is all ones, -1 as an integer.
        *count = _mm256_sub_epi64(*count, _mm256_castpd_si256(keep));
        sums[0] = _mm256_add_pd(sums[0], e);
        sums[1] = _mm256_fmadd_pd(e, e, sums[1]);
        _mm256_blendv_pd(set(-1.0), e, keep)
    }
}

/// The median of the valid errors of an image as numpy computes it (mean of the two middle values
/// for an even count): the histogram finds the bins of the middle ranks, the keys the few pixels
/// that may lie in them, and only their errors (`error_at`, by flat pixel index, the same values
/// as counted) are computed again and sorted.
fn exact_median(keys: &[u16], split: &Split, error_at: impl Fn(usize) -> f64) -> f64 {
    let count = split.sums[0] as u64;
    if count == 0 {
        return f64::NAN;
    }
    let histogram = &split.histogram;
    let ranks = [(count - 1) / 2, count / 2];
    let mut below = 0u64;
    let mut first_bin = None;
    let mut last_bin = 0;
    let mut before_first = 0;
    for (bin, &c) in histogram.iter().enumerate().skip(split.lo) {
        let c = c as u64;
        if first_bin.is_none() && below + c > ranks[0] {
            first_bin = Some(bin);
            before_first = below;
        }
        if below + c > ranks[1] {
            last_bin = bin;
            break;
        }
        below += c;
    }
    let first_bin = first_bin.expect("count matches the histogram");
    // Errors in bins [first, last] lie in [first, last + 1) / BINS_PER_DEGREE degrees; their keys,
    // one more either side for the roundings of the two scalings.
    let key_of = |bin: usize| bin as f64 / BINS_PER_DEGREE as f64 * KEYS_PER_DEGREE;
    let low_key = (key_of(first_bin) as u16).saturating_sub(1);
    let high_key = (key_of(last_bin + 1) as u16)
        .saturating_add(1)
        .min(NO_KEY - 1);
    // Few pixels pass (a few hundred of a million): blocks are tested first (vectorised, no
    // branch), and only the blocks holding candidates pixel by pixel.
    let is_candidate = |key: u16| key.wrapping_sub(low_key) <= high_key - low_key;
    let mut middle = Vec::new();
    for (b, block) in keys.chunks(64).enumerate() {
        if block
            .iter()
            .fold(false, |any, &key| any | is_candidate(key))
        {
            for (i, _) in block
                .iter()
                .enumerate()
                .filter(|&(_, &key)| is_candidate(key))
            {
                let e = error_at(64 * b + i);
                if (first_bin..=last_bin).contains(&((e * BINS_PER_DEGREE as f64) as usize)) {
                    middle.push(e);
                }
            }
        }
    }
    middle.sort_unstable_by(f64::total_cmp);
    let at = |rank: u64| middle[(rank - before_first) as usize];
    0.5 * (at(ranks[0]) + at(ranks[1]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;

    #[test]
    fn errors_and_median_of_known_angles() {
        let degrees = [0.0f64, 10.0, 31.0, 90.0];
        let gt = Array4::from_shape_fn((1, 1, 4, 3), |(_, _, _, c)| [0.0, 0.0, 1.0][c]);
        let pred = Array4::from_shape_fn((1, 1, 4, 3), |(_, _, i, c)| {
            let a = degrees[i].to_radians();
            [a.sin(), 0.0, a.cos()][c] * 3.0
        });
        let mut hist = vec![0i64; HISTOGRAM_BINS];
        let s = errors(pred.view(), gt.view(), None, &mut hist).unwrap()[0];
        assert_eq!(s[0], 4.0);
        assert!((s[1] - 131.0).abs() < 1e-9);
        assert_eq!(&s[3..8], &[1.0, 1.0, 2.0, 2.0, 2.0]);
        assert!((s[8] - 20.5).abs() < 1e-9);
        assert_eq!(hist.iter().sum::<i64>(), 4);
        assert_eq!(
            hist[90 * BINS_PER_DEGREE - 1..=90 * BINS_PER_DEGREE]
                .iter()
                .sum::<i64>(),
            1
        );
    }

    #[test]
    fn median_is_exact_with_many_errors_per_bin_and_even_counts() {
        // Predictions on a coarse grid of directions, so that many errors share a bin (and many
        // are equal), with a zero ground truth to make the count even.
        let (h, w) = (37, 101);
        let gt = Array4::from_shape_fn((1, h, w, 3), |(_, y, x, c)| {
            if (y, x) == (0, 0) {
                0.0
            } else {
                [0.0, 0.0, 1.0][c]
            }
        });
        let pred = Array4::from_shape_fn((1, h, w, 3), |(_, y, x, c)| {
            let a = (((y * w + x) * 7919) % 97) as f64 * 0.013;
            [a.sin(), 0.0, a.cos()][c]
        });
        let mut hist = vec![0i64; HISTOGRAM_BINS];
        let s = errors(pred.view(), gt.view(), None, &mut hist).unwrap()[0];
        let mut want: Vec<f64> = (0..h * w)
            .skip(1)
            .map(|i| {
                let one = |a: &Array4<f64>| [0, 1, 2].map(|c| a[[0, i / w, i % w, c]]);
                let mut e = [0.0];
                errors_of_row(&one(&pred), &one(&gt), &[true], &mut e);
                e[0]
            })
            .collect();
        want.sort_by(f64::total_cmp);
        let n = want.len();
        assert_eq!(s[0] as usize, n);
        assert_eq!(s[8], 0.5 * (want[(n - 1) / 2] + want[n / 2]));
    }

    #[test]
    fn f32_maps_in_parallel_give_the_exact_median_and_histogram() {
        // Big enough images for the parallel path, f32 for the AVX2 kernel where the CPU has it.
        let (n, h, w) = (2, 300, 257);
        let gt = Array4::from_shape_fn((n, h, w, 3), |(i, y, x, c)| {
            let a = ((i * h + y) * w + x) as f32 * 0.37;
            [a.sin(), a.cos(), 0.5][c]
        });
        let pred = Array4::from_shape_fn((n, h, w, 3), |(i, y, x, c)| {
            let a = (((i * h + y) * w + x) * 7919 % 1009) as f32 * 0.003;
            gt[[i, y, x, c]] + [a.sin(), 0.0, a.cos() - 1.0][c]
        });
        let valid = ndarray::Array3::from_shape_fn((n, h, w), |(_, y, x)| (y + x) % 13 != 0);
        let mut hist = vec![0i64; HISTOGRAM_BINS];
        let stats = errors(pred.view(), gt.view(), Some(valid.view()), &mut hist).unwrap();
        let mut all = 0;
        for (i, s) in stats.iter().enumerate() {
            let mut want: Vec<f64> = (0..h * w)
                .filter(|&k| valid[[i, k / w, k % w]])
                .map(|k| {
                    let one = |a: &Array4<f32>| [0, 1, 2].map(|c| a[[i, k / w, k % w, c]]);
                    let mut e = [0.0];
                    errors_of_row(&one(&pred), &one(&gt), &[true], &mut e);
                    e[0]
                })
                .collect();
            want.sort_by(f64::total_cmp);
            let m = want.len();
            all += m as i64;
            assert_eq!(s[0] as usize, m);
            assert!((s[1] - want.iter().sum::<f64>()).abs() <= 1e-9 * s[1]);
            assert_eq!(s[8], 0.5 * (want[(m - 1) / 2] + want[m / 2]));
            let below = want.iter().filter(|&&e| e < 11.25).count();
            assert_eq!(s[5] as usize, below);
        }
        assert_eq!(hist.iter().sum::<i64>(), all);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_rows_match_the_portable_errors() {
        if !avx2::available() {
            return;
        }
        let mut unit = crate::test_random::uniform(2024);
        let mut uniform = || unit() * 2.0 - 1.0;
        for width in [1, 2, 3, 4, 5, 9, 257] {
            let g: Vec<f32> = (0..3 * width)
                .map(|i| if i % 37 < 3 { 0.0 } else { uniform() as f32 })
                .collect();
            let p: Vec<f32> = g
                .iter()
                .enumerate()
                .map(|(i, &g)| match i % 41 {
                    0..=2 => 0.0,
                    3 => f32::NAN,
                    4..=6 => -g,
                    _ => g + 0.3 * uniform() as f32,
                })
                .collect();
            let v: Vec<bool> = (0..width).map(|i| i % 11 != 5).collect();
            let (mut want_e, mut got_e) = (vec![0.0; width], vec![0.0; width]);
            let want = row_errors(&p, &g, &v, &mut want_e);
            // SAFETY: AVX2 and FMA are available, checked above.
            let got = unsafe { avx2::row_errors(&p, &g, &v, &mut got_e) };
            for (a, b) in got_e.iter().zip(&want_e) {
                assert!((a - b).abs() <= 1e-11, "{a} vs {b}, width {width}");
            }
            assert_eq!(got[0], want[0]);
            for k in 1..3 {
                assert!((got[k] - want[k]).abs() <= 1e-12 * want[k].max(1.0));
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_counts_match_the_counts_of_the_errors() {
        if !avx2::available() {
            return;
        }
        let mut unit = crate::test_random::uniform(7);
        let mut uniform = || unit() * 2.0 - 1.0;
        for width in [1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 257] {
            let g: Vec<f32> = (0..3 * width)
                .map(|i| match i % 37 {
                    0..=2 => 0.0,
                    3 => f32::NAN,
                    _ => uniform() as f32,
                })
                .collect();
            // Zero, NaN, parallel, antiparallel, nearly (anti)parallel and noisy predictions.
            let p: Vec<f32> = g
                .iter()
                .enumerate()
                .map(|(i, &g)| match (i / 3) % 9 {
                    0 => 0.0,
                    1 => f32::NAN,
                    2 => 2.0 * g,
                    3 => -g,
                    4 => g + 1e-6 * uniform() as f32,
                    5 => -g + 1e-6 * uniform() as f32,
                    _ => g + 0.5 * uniform() as f32,
                })
                .collect();
            let v: Vec<bool> = (0..width).map(|i| i % 11 != 5).collect();
            let mut want = Split::new(width);
            let mut want_keys = vec![0; width];
            // SAFETY: AVX2 and FMA are available, checked above.
            let sums = unsafe { avx2::row_errors(&p, &g, &v, &mut want.errors) };
            want.add(sums, usize::MAX, 0);
            want.count(&mut want_keys);
            let mut got = Split::new(width);
            let mut got_keys = vec![0; width];
            count_row(&mut got, &p, &g, &v, &mut got_keys);
            assert_eq!(got.sums, want.sums, "width {width}");
            assert_eq!(got_keys, want_keys, "width {width}");
            assert_eq!(got.lo.min(HISTOGRAM_BINS), want.lo.min(HISTOGRAM_BINS));
            assert_eq!(got.hi, want.hi);
            assert_eq!(
                got.histogram[..HISTOGRAM_BINS],
                want.histogram[..HISTOGRAM_BINS],
                "width {width}"
            );
        }
    }

    #[test]
    fn zero_ground_truth_is_skipped_and_zero_prediction_is_180() {
        let gt =
            Array4::from_shape_vec((1, 1, 2, 3), vec![0.0f32, 0.0, 0.0, 0.0, 1.0, 0.0]).unwrap();
        let pred = Array4::<f32>::zeros((1, 1, 2, 3));
        let mut hist = vec![0i64; HISTOGRAM_BINS];
        let s = errors(pred.view(), gt.view(), None, &mut hist).unwrap()[0];
        assert_eq!(s[0], 1.0);
        assert_eq!(s[1], 180.0);
        assert_eq!(s[8], 180.0);
    }
}
