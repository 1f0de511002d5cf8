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
    let mut angles = vec![0.0f64; h * w];
    let mut stats = Vec::with_capacity(n);
    for image in 0..n {
        let one = s![image..image + 1, .., ..];
        let (p, g) = (
            pred.slice_move(s![image..image + 1, .., .., ..]),
            gt.slice_move(s![image..image + 1, .., .., ..]),
        );
        let v = valid.map(|v| v.slice_move(one));
        // Errors of each row into `angles` (-1 marks an invalid pixel), sums and histogram per
        // split of the work: the histogram counts each row while it is in L1, not in a second
        // pass over all the errors.
        let (sums, mut image_histogram) = fold_rows_into(
            h,
            w,
            &mut angles,
            || ([0.0f64; 8], vec![0u32; HISTOGRAM_BINS + 1]),
            |(acc, hist), r, out| {
                let (pr, gr) = (row(p, r), row(g, r));
                let vr = valid_row(v, r, &all);
                let row = simd::vectorised(
                    #[inline(always)]
                    || row_errors(&pr, &gr, &vr, out),
                );
                acc.iter_mut().zip(row).for_each(|(a, b)| *a += b);
                fill_histogram(out, hist);
            },
            |(mut a, mut ha), (b, hb)| {
                a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                ha.iter_mut().zip(&hb).for_each(|(a, b)| *a += b);
                (a, ha)
            },
        );
        image_histogram[HISTOGRAM_BINS] = 0;
        histogram
            .iter_mut()
            .zip(&image_histogram)
            .for_each(|(h, &c)| *h += c as i64);
        let median = exact_median(&angles, &image_histogram, sums[0] as u64);
        let mut s = [0.0; 9];
        s[..8].copy_from_slice(&sums);
        s[8] = median;
        stats.push(s);
    }
    Ok(stats)
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

/// Adds the valid (non-negative) `angles` to `histogram` (HISTOGRAM_BINS + 1 bins, the last one
/// taking the invalid pixels so that the loop has no branch).
fn fill_histogram(angles: &[f64], histogram: &mut [u32]) {
    for &a in angles {
        let bin = if a >= 0.0 {
            (a * BINS_PER_DEGREE as f64) as usize
        } else {
            HISTOGRAM_BINS
        };
        histogram[bin] += 1;
    }
}

/// The median of the valid (non-negative) `angles` as numpy computes it (mean of the two middle
/// values for an even count): the histogram finds the bins of the middle ranks, and only the values
/// in those bins are sorted.
fn exact_median(angles: &[f64], histogram: &[u32], count: u64) -> f64 {
    if count == 0 {
        return f64::NAN;
    }
    let ranks = [(count - 1) / 2, count / 2];
    let mut below = 0u64;
    let mut first_bin = None;
    let mut last_bin = 0;
    let mut before_first = 0;
    for (bin, &c) in histogram.iter().enumerate() {
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
    // bin in [first, last] <=> first <= a * BINS_PER_DEGREE < last + 1 (truncation of a value
    // >= 0); invalid pixels (-1) fall below. Float bounds keep the scan free of conversions.
    let (lo, hi) = (first_bin as f64, (last_bin + 1) as f64);
    // Branch-free compaction (each value written, the cursor advancing only for the middle bins):
    // a filter's data-dependent branch mispredicts on every other pixel.
    let in_bins: u32 = histogram[first_bin..=last_bin].iter().sum();
    let mut middle = vec![0.0f64; in_bins as usize + 1];
    let mut k = 0;
    for &a in angles {
        let x = a * BINS_PER_DEGREE as f64;
        middle[k.min(in_bins as usize)] = a;
        k += ((x >= lo) & (x < hi)) as usize;
    }
    middle.truncate(k);
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
