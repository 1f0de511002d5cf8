//! Label maps: the confusion matrix of semantic segmentation, and per-image intersection and union
//! of binary masks (referring segmentation).

use ndarray::ArrayView3;

use super::{fold_rows, row, valid_row};
use crate::error::{Error, Result};
use crate::rows::Defects;

/// An integer label type.
pub trait Label: Copy + Send + Sync + 'static {
    fn to_i64(self) -> i64;
}

macro_rules! label {
    ($($t:ty),*) => {$(
        impl Label for $t {
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
        }
    )*};
}
label!(u8, u16, i32, i64);

/// Sub-histograms per task: consecutive pixels of one region hit the same bin, and spreading them
/// over four copies breaks the chain of dependent increments.
const LANES: usize = 4;

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
    let (n, h, w) = gt.dim();
    let cols = num_classes + 1;
    let bins = num_classes * cols + 1; // the last bin takes the skipped pixels
    let all = vec![true; w];
    let (hist, defects) = fold_rows(
        n * h,
        w,
        || (vec![0u32; bins * LANES], Defects::default()),
        |(hist, defects), r| {
            let (p, g) = (row(pred, r), row(gt, r));
            let v = valid_row(valid, r, &all);
            for (i, ((&p, &g), &v)) in p.iter().zip(g.iter()).zip(v.iter()).enumerate() {
                let (p, g) = (p.to_i64(), g.to_i64());
                let keep = v && g != ignore_index;
                let g_ok = (g as u64) < num_classes as u64;
                if keep && !g_ok {
                    defects.record(r * w + i, g as f64);
                }
                let p_col = if (p as u64) < num_classes as u64 {
                    p as usize
                } else {
                    num_classes
                };
                let bin = if keep && g_ok {
                    g as usize * cols + p_col
                } else {
                    bins - 1
                };
                hist[(i % LANES) * bins + bin] += 1;
            }
        },
        |(mut a, da), (b, db)| {
            a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
            (a, da.merge(db))
        },
    );
    let mut out = vec![0u64; num_classes * cols];
    for lane in hist.chunks_exact(bins) {
        out.iter_mut().zip(lane).for_each(|(o, &c)| *o += c as u64);
    }
    Ok((out, defects))
}

/// Per image of the (N, H, W) masks `pred` and `gt`: [intersection, union] pixel counts over the
/// pixels where `valid` (when given) is true. Masks are bytes, nonzero meaning inside.
pub fn intersection_union(
    pred: ArrayView3<u8>,
    gt: ArrayView3<u8>,
    valid: Option<ArrayView3<bool>>,
) -> Vec<[u64; 2]> {
    let (n, h, w) = gt.dim();
    let all = vec![true; w];
    fold_rows(
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
    )
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
            intersection_union(pred.view(), gt.view(), None),
            vec![[1, 3], [0, 0]]
        );
    }
}
