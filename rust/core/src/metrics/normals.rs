//! Angular error of surface normals (DSINE's `compute_normal_error`): per-image sums, counts within
//! the standard thresholds, an exact per-image median, and a histogram for dataset medians.

use ndarray::{s, ArrayView3, ArrayView4};

use super::fastmath::atan2_degrees_lanes;

use super::{fold_rows_into, row, valid_row, Real};
use crate::error::{Error, Result};
use crate::simd;

/// The thresholds, in degrees, of the "share within" metrics.
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
    let (n, h, w, _) = gt.dim();
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
                let errors = &mut split.errors;
                let row = simd::vectorised(
                    #[inline(always)]
                    || row_errors(&pr, &gr, &vr, errors),
                );
                split.sums.iter_mut().zip(row).for_each(|(a, b)| *a += b);
                split.count(keys);
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
            simd::vectorised(
                #[inline(always)]
                || {
                    row_errors(
                        &pr[3 * x..3 * x + 3],
                        &gr[3 * x..3 * x + 3],
                        &[true],
                        &mut e,
                    )
                },
            );
            e[0]
        };
        let median = exact_median(&keys, &split, error_at);
        let mut s = [0.0; 9];
        s[..8].copy_from_slice(&split.sums);
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

/// What a split of the work of one image accumulates.
struct Split {
    /// Valid pixels, sum of errors, sum of squared errors, counts below each threshold.
    sums: [f64; 8],
    /// HISTOGRAM_BINS + 1 bins, the last one taking the invalid pixels so that the loop has no
    /// branch.
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
            sums: [0.0; 8],
            histogram: vec![0; HISTOGRAM_BINS + 1],
            lo: usize::MAX,
            hi: 0,
            errors: vec![0.0; width],
        }
    }

    /// Counts the errors of the current row and writes their keys: bins and keys of a block of
    /// pixels computed first (vectorised), then counted (scalar).
    fn count(&mut self, keys: &mut [u16]) {
        const BLOCK: usize = 64;
        let mut bins = [0i32; BLOCK];
        for (errors, keys) in self.errors.chunks(BLOCK).zip(keys.chunks_mut(BLOCK)) {
            let bins = &mut bins[..errors.len()];
            for ((&e, bin), key) in errors.iter().zip(bins.iter_mut()).zip(keys) {
                // Errors lie in [0, 180] degrees: both scalings fit their integers.
                let valid = e >= 0.0;
                *bin = if valid {
                    (e * BINS_PER_DEGREE as f64) as i32
                } else {
                    HISTOGRAM_BINS as i32
                };
                *key = if valid {
                    (e * KEYS_PER_DEGREE) as i32 as u16
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

/// Lanes of the running sums: one AVX2 register of f64 per sum.
const LANES: usize = 8;

#[inline(always)]
fn row_errors<T: Real>(p: &[T], g: &[T], v: &[bool], out: &mut [f64]) -> [f64; 8] {
    let mut acc = [[0.0f64; LANES]; 8];
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
    acc: &mut [[f64; LANES]; 8],
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
        let within = |t: f64| if e < t { keep } else { 0.0 };
        let values = [
            keep,
            e,
            e * e,
            within(THRESHOLDS[0]),
            within(THRESHOLDS[1]),
            within(THRESHOLDS[2]),
            within(THRESHOLDS[3]),
            within(THRESHOLDS[4]),
        ];
        for (a, x) in acc.iter_mut().zip(values) {
            a[l] += x;
        }
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
                row_errors(&one(&pred), &one(&gt), &[true], &mut e);
                e[0]
            })
            .collect();
        want.sort_by(f64::total_cmp);
        let n = want.len();
        assert_eq!(s[0] as usize, n);
        assert_eq!(s[8], 0.5 * (want[(n - 1) / 2] + want[n / 2]));
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
