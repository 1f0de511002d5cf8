//! Label maps: the confusion matrix of semantic segmentation, and per-image intersection and union
//! of binary masks (referring segmentation).

use ndarray::ArrayView3;
use rayon::prelude::*;

use super::{check_pair, fold_rows, row, valid_row};
use crate::error::{Error, Result};
use crate::rows::{Defects, PARALLEL_MIN_PIXELS};

/// An integer label type.
pub trait Label: Copy + PartialEq + Send + Sync + 'static {
    fn to_i64(self) -> i64;
    /// The label as an index in [0, n), or n when outside that range (negative included); in the
    /// label's own width so that the loop vectorises without widening first.
    fn index(self, n: u32) -> u32;
    /// `value` in this type, when it has one (an ignore index of 255 is no int8 label).
    fn from_i64(value: i64) -> Option<Self>;
}

macro_rules! label {
    ($($t:ty),*) => {$(
        impl Label for $t {
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn index(self, n: u32) -> u32 {
                // Negative labels wrap to huge unsigned values, so one comparison covers both ends.
                if (self as u64) < n as u64 {
                    self as u32
                } else {
                    n
                }
            }
            #[inline(always)]
            fn from_i64(value: i64) -> Option<Self> {
                <$t>::try_from(value).ok()
            }
        }
    )*};
}
label!(u8, u16, i32, i64);

/// Sub-histograms per task: consecutive pixels of one region hit the same bin, and spreading them
/// over four copies breaks the chain of dependent increments (store-to-load forwarding).
const LANES: usize = 4;
/// Pixels whose bins are computed (vectorised) before they are counted (scalar).
const BLOCK: usize = 1024;
/// Pixels per parallel task of the contiguous path; each task counts in u32, so well below 2^32.
const TASK_PIXELS: usize = 1 << 18;

/// The confusion matrix of `pred` against `gt`, both (N, H, W), over the pixels where `valid`
/// (when given) is true and `gt` is not `ignore_index`.
///
/// Returns `num_classes` rows (ground-truth class) of `num_classes + 1` counts (predicted class,
/// then one column for predictions outside [0, num_classes), which are wrong for every class),
/// row-major, and the ground-truth labels outside [0, num_classes) that are not `ignore_index`.
pub fn confusion<L: Label>(
    pred: ArrayView3<L>,
    gt: ArrayView3<L>,
    valid: Option<ArrayView3<bool>>,
    num_classes: usize,
    ignore_index: i64,
) -> Result<(Vec<u64>, Defects)> {
    if num_classes == 0 || num_classes > 1 << 16 {
        return Err(Error::new(
            "num_classes",
            format!("num_classes must be in [1, 65536], got {num_classes}"),
        ));
    }
    check_pair(pred.shape(), gt.shape(), valid.as_ref().map(|v| v.shape()))?;
    let (n, h, w) = gt.dim();
    let c = num_classes as u32;
    let cols = num_classes + 1;
    // Rows 0..C count labelled pixels, row C those with a bad ground-truth label (reported
    // below), and one last bin takes the skipped pixels: every pixel gets a bin without a branch.
    let bins = (num_classes + 1) * cols + 1;
    let lanes = if bins <= 1 << 16 { LANES } else { 1 };
    let ignore = L::from_i64(ignore_index);
    let count = |hist: &mut [u32], p: &[L], g: &[L], v: Option<&[bool]>| {
        let mut keys = [0u32; BLOCK];
        for (start, keys_len) in (0..p.len())
            .step_by(BLOCK)
            .map(|s| (s, BLOCK.min(p.len() - s)))
        {
            let end = start + keys_len;
            let keys = &mut keys[..keys_len];
            crate::simd::vectorised(
                #[inline(always)]
                || {
                    bin_keys(
                        keys,
                        &p[start..end],
                        &g[start..end],
                        v.map(|v| &v[start..end]),
                        c,
                        ignore,
                    )
                },
            );
            add_keys(hist, keys, bins, lanes);
        }
    };
    let new_hist = || vec![0u32; bins * lanes];
    let to_u64 = |hist: Vec<u32>| {
        let mut out = vec![0u64; bins];
        for lane in hist.chunks_exact(bins) {
            out.iter_mut().zip(lane).for_each(|(o, &c)| *o += c as u64);
        }
        out
    };
    let add = |mut a: Vec<u64>, b: Vec<u64>| {
        a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
        a
    };
    let flat = (pred.as_slice(), gt.as_slice(), valid.map(|v| v.to_slice()));
    let hist = match flat {
        (Some(p), Some(g), None) | (Some(p), Some(g), Some(Some(_))) => {
            let v = flat.2.flatten();
            let task = |start: usize| {
                let end = (start + TASK_PIXELS).min(p.len());
                let mut hist = new_hist();
                count(
                    &mut hist,
                    &p[start..end],
                    &g[start..end],
                    v.map(|v| &v[start..end]),
                );
                to_u64(hist)
            };
            if p.len() < PARALLEL_MIN_PIXELS {
                task(0)
            } else {
                (0..p.len())
                    .into_par_iter()
                    .step_by(TASK_PIXELS)
                    .map(task)
                    .reduce(|| vec![0u64; bins], add)
            }
        }
        _ => {
            // Strided views: row by row, each row copied when it is not contiguous.
            let hist = fold_rows(
                n * h,
                w,
                new_hist,
                |hist, r| {
                    let (p, g) = (row(pred, r), row(gt, r));
                    let v = valid.map(|_| valid_row(valid, r, &[]));
                    count(hist, &p, &g, v.as_deref());
                },
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                    a
                },
            );
            to_u64(hist)
        }
    };
    let bad: u64 = hist[num_classes * cols..(num_classes + 1) * cols]
        .iter()
        .sum();
    let defects = if bad > 0 {
        first_bad(gt, valid, num_classes, ignore_index)
    } else {
        Defects::default()
    };
    let mut out = hist;
    out.truncate(num_classes * cols);
    Ok((out, defects))
}

/// Bin of each pixel: gt * (C + 1) + pred, pred C when outside [0, C), gt C when outside [0, C)
/// and not ignored, and (C + 1)^2 for skipped pixels. Branch-free, so that it vectorises.
#[inline(always)]
fn bin_keys<L: Label>(
    keys: &mut [u32],
    p: &[L],
    g: &[L],
    v: Option<&[bool]>,
    c: u32,
    ignore: Option<L>,
) {
    if g.is_empty() {
        return;
    }
    // An ignore index outside the label type skips nothing; `has_ignore` masks the comparison.
    let (has_ignore, ignore) = match ignore {
        Some(i) => (true, i),
        None => (false, g[0]),
    };
    let key = |p: L, g: L, v: bool| bin_key(p, g, v, c, has_ignore, ignore);
    match v {
        Some(v) => {
            for (((k, &p), &g), &v) in keys.iter_mut().zip(p).zip(g).zip(v) {
                *k = key(p, g, v);
            }
        }
        None => {
            for ((k, &p), &g) in keys.iter_mut().zip(p).zip(g) {
                *k = key(p, g, true);
            }
        }
    }
}

#[inline(always)]
fn bin_key<L: Label>(p: L, g: L, v: bool, c: u32, has_ignore: bool, ignore: L) -> u32 {
    let skipped = !v | (has_ignore & (g == ignore));
    let k = g.index(c) * (c + 1) + p.index(c);
    if skipped {
        (c + 1) * (c + 1)
    } else {
        k
    }
}

/// Counts the keys into `lanes` sub-histograms of `bins` bins.
#[inline(always)]
fn add_keys(hist: &mut [u32], keys: &[u32], bins: usize, lanes: usize) {
    if lanes == LANES {
        let (h0, rest) = hist.split_at_mut(bins);
        let (h1, rest) = rest.split_at_mut(bins);
        let (h2, h3) = rest.split_at_mut(bins);
        let mut quads = keys.chunks_exact(LANES);
        for k in &mut quads {
            h0[k[0] as usize] += 1;
            h1[k[1] as usize] += 1;
            h2[k[2] as usize] += 1;
            h3[k[3] as usize] += 1;
        }
        for &k in quads.remainder() {
            h0[k as usize] += 1;
        }
    } else {
        for &k in keys {
            hist[k as usize] += 1;
        }
    }
}

/// The bad ground-truth labels, counted and located by a plain scan: only run when there are some.
fn first_bad<L: Label>(
    gt: ArrayView3<L>,
    valid: Option<ArrayView3<bool>>,
    num_classes: usize,
    ignore_index: i64,
) -> Defects {
    let mut defects = Defects::default();
    for (i, (at, &g)) in gt.indexed_iter().enumerate() {
        let g = g.to_i64();
        let v = valid.is_none_or(|v| v[at]);
        if v && g != ignore_index && !(0..num_classes as i64).contains(&g) {
            defects.record(i, g as f64);
        }
    }
    defects
}

/// Per image of the (N, H, W) masks `pred` and `gt`: [intersection, union] pixel counts over the
/// pixels where `valid` (when given) is true. Masks are bytes, nonzero meaning inside.
pub fn intersection_union(
    pred: ArrayView3<u8>,
    gt: ArrayView3<u8>,
    valid: Option<ArrayView3<bool>>,
) -> Result<Vec<[u64; 2]>> {
    check_pair(pred.shape(), gt.shape(), valid.as_ref().map(|v| v.shape()))?;
    let (n, h, w) = gt.dim();
    let all = vec![true; w];
    Ok(fold_rows(
        n * h,
        w,
        || vec![[0u64; 2]; n],
        |counts, r| {
            let (p, g) = (row(pred, r), row(gt, r));
            let v = valid_row(valid, r, &all);
            let (mut inter, mut union) = (0u64, 0u64);
            crate::simd::vectorised(
                #[inline(always)]
                || {
                    for ((&p, &g), &v) in p.iter().zip(g.iter()).zip(v.iter()) {
                        let (p, g) = ((p != 0) & v, (g != 0) & v);
                        inter += (p & g) as u64;
                        union += (p | g) as u64;
                    }
                },
            );
            counts[r / h][0] += inter;
            counts[r / h][1] += union;
        },
        |mut a, b| {
            a.iter_mut().zip(&b).for_each(|(a, b)| {
                a[0] += b[0];
                a[1] += b[1];
            });
            a
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn confusion_counts_each_pair_and_skips_ignored() {
        let gt = Array3::from_shape_vec((1, 2, 3), vec![0u8, 1, 1, 255, 2, 0]).unwrap();
        let pred = Array3::from_shape_vec((1, 2, 3), vec![0u8, 1, 0, 1, 7, 0]).unwrap();
        let (cm, defects) = confusion(pred.view(), gt.view(), None, 3, 255).unwrap();
        assert!(defects.is_empty());
        // rows gt 0..3, columns pred 0..3 then "other"
        assert_eq!(cm, vec![2, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn confusion_reports_out_of_range_ground_truth() {
        let gt = Array3::from_shape_vec((1, 1, 3), vec![0i32, 5, -1]).unwrap();
        let pred = Array3::from_shape_vec((1, 1, 3), vec![0i32, 0, 0]).unwrap();
        let (_, defects) = confusion(pred.view(), gt.view(), None, 3, 255).unwrap();
        assert_eq!(defects.count, 2);
        assert_eq!(defects.first, Some((1, 5.0)));
    }

    #[test]
    fn intersection_union_per_image() {
        let pred = Array3::from_shape_vec((2, 1, 3), vec![1u8, 1, 0, 0, 0, 0]).unwrap();
        let gt = Array3::from_shape_vec((2, 1, 3), vec![0u8, 1, 1, 0, 0, 0]).unwrap();
        assert_eq!(
            intersection_union(pred.view(), gt.view(), None).unwrap(),
            vec![[1, 3], [0, 0]]
        );
    }
}
