//! Sets of binary masks: their IoU matrix, from bit-packed rows and bounding boxes so that a pair
//! costs only the 64-pixel words where both boxes overlap, and optimal one-to-one matching.

use ndarray::{ArrayView3, Axis};
use rayon::prelude::*;

use super::row;
use crate::error::{Error, Result};
use crate::rows::PARALLEL_MIN_PIXELS;

/// A mask packed 64 pixels to a word, with its bounding box in rows and words, and its area.
struct Packed {
    words: Vec<u64>,
    words_per_row: usize,
    rows: (usize, usize),
    cols: (usize, usize),
    area: u64,
}

/// Packs 8 bytes that are each 0 or 1 into 8 bits (in reverse order, which popcounts ignore).
#[inline(always)]
fn pack8(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b[..bytes.len()].copy_from_slice(bytes);
    (u64::from_le_bytes(b).wrapping_mul(0x8040_2010_0804_0201)) >> 56
}

fn pack(mask: ArrayView3<u8>, index: usize) -> Packed {
    let (_, h, w) = mask.dim();
    let words_per_row = w.div_ceil(64);
    let mut words = vec![0u64; h * words_per_row];
    let (mut rows, mut cols, mut area) = ((usize::MAX, 0), (usize::MAX, 0), 0u64);
    for (r, out) in words.chunks_mut(words_per_row.max(1)).enumerate().take(h) {
        let line = row(mask, index * h + r);
        for (word, bytes) in out.iter_mut().zip(line.chunks(64)) {
            *word = bytes
                .chunks(8)
                .enumerate()
                .fold(0, |acc, (i, b)| acc | (pack8(b) << (8 * i)));
        }
        for (c, &word) in out.iter().enumerate() {
            if word != 0 {
                rows = (rows.0.min(r), r);
                cols = (cols.0.min(c), cols.1.max(c));
                area += word.count_ones() as u64;
            }
        }
    }
    Packed {
        words,
        words_per_row,
        rows,
        cols,
        area,
    }
}

fn intersection(a: &Packed, b: &Packed) -> u64 {
    let (top, bottom) = (a.rows.0.max(b.rows.0), a.rows.1.min(b.rows.1));
    let (left, right) = (a.cols.0.max(b.cols.0), a.cols.1.min(b.cols.1));
    if a.area == 0 || b.area == 0 || top > bottom || left > right {
        return 0;
    }
    let stride = a.words_per_row;
    (top..=bottom)
        .map(|r| {
            let span = r * stride + left..r * stride + right + 1;
            a.words[span.clone()]
                .iter()
                .zip(&b.words[span])
                .map(|(x, y)| (x & y).count_ones() as u64)
                .sum::<u64>()
        })
        .sum()
}

/// The (P, G) IoU matrix of the masks `a` (P, H, W) and `b` (G, H, W), bytes that are 0 or 1. A
/// pair of empty masks has IoU 0, as in pycocotools.
pub fn iou_matrix(a: ArrayView3<u8>, b: ArrayView3<u8>) -> Result<Vec<f64>> {
    if a.shape()[1..] != b.shape()[1..] {
        return Err(Error::new(
            "b",
            format!(
                "both sets of masks must have the same height and width, got {:?} and {:?}",
                &a.shape()[1..],
                &b.shape()[1..]
            ),
        ));
    }
    let pixels = a.len() + b.len();
    let pack_all = |m: ArrayView3<u8>| -> Vec<Packed> {
        let count = m.len_of(Axis(0));
        if pixels < PARALLEL_MIN_PIXELS {
            (0..count).map(|i| pack(m, i)).collect()
        } else {
            (0..count).into_par_iter().map(|i| pack(m, i)).collect()
        }
    };
    let (pa, pb) = (pack_all(a), pack_all(b));
    let iou_row = |x: &Packed| -> Vec<f64> {
        pb.iter()
            .map(|y| {
                let inter = intersection(x, y);
                let union = x.area + y.area - inter;
                if union == 0 {
                    0.0
                } else {
                    inter as f64 / union as f64
                }
            })
            .collect()
    };
    let rows: Vec<Vec<f64>> = if pixels < PARALLEL_MIN_PIXELS {
        pa.iter().map(iou_row).collect()
    } else {
        pa.par_iter().map(iou_row).collect()
    };
    Ok(rows.concat())
}

/// The one-to-one matching of rows to columns of the (rows, cols) `weights` (row-major) with the
/// largest total weight, as scipy's `linear_sum_assignment(weights, maximize=True)`: min(rows,
/// cols) (row, column) pairs, by row. Hungarian algorithm with potentials, O(n^2 m).
pub fn max_weight_matching(
    weights: &[f64],
    rows: usize,
    cols: usize,
) -> Result<Vec<(usize, usize)>> {
    if weights.len() != rows * cols {
        return Err(Error::new(
            "weights",
            "weights must hold rows * cols values",
        ));
    }
    if let Some(bad) = weights.iter().find(|w| !w.is_finite()) {
        return Err(Error::new(
            "weights",
            format!("weights must be finite, got {bad}"),
        ));
    }
    if rows == 0 || cols == 0 {
        return Ok(Vec::new());
    }
    // The algorithm assigns each of n <= m rows: transpose when there are more rows than columns.
    let transposed = rows > cols;
    let (n, m) = if transposed {
        (cols, rows)
    } else {
        (rows, cols)
    };
    let cost = |i: usize, j: usize| {
        -if transposed {
            weights[j * cols + i]
        } else {
            weights[i * cols + j]
        }
    };
    // 1-based, column 0 being the virtual start (the classic formulation).
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; m + 1];
    let mut owner = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        owner[0] = i;
        let mut j0 = 0;
        let mut min_to = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = owner[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=m {
                if !used[j] {
                    let reduced = cost(i0 - 1, j - 1) - u[i0] - v[j];
                    if reduced < min_to[j] {
                        min_to[j] = reduced;
                        way[j] = j0;
                    }
                    if min_to[j] < delta {
                        delta = min_to[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[owner[j]] += delta;
                    v[j] -= delta;
                } else {
                    min_to[j] -= delta;
                }
            }
            j0 = j1;
            if owner[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            owner[j0] = owner[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut pairs: Vec<(usize, usize)> = (1..=m)
        .filter(|&j| owner[j] != 0)
        .map(|j| {
            if transposed {
                (j - 1, owner[j] - 1)
            } else {
                (owner[j] - 1, j - 1)
            }
        })
        .collect();
    pairs.sort_unstable();
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn iou_of_overlapping_and_empty_masks() {
        let mut a = Array3::<u8>::zeros((2, 3, 70));
        a.slice_mut(ndarray::s![0, 0..2, 60..70]).fill(1); // 20 pixels over two words
        let mut b = Array3::<u8>::zeros((2, 3, 70));
        b.slice_mut(ndarray::s![0, 1..3, 65..70]).fill(1); // 10 pixels, 5 shared
        let iou = iou_matrix(a.view(), b.view()).unwrap();
        assert_eq!(iou, vec![5.0 / 25.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn pack8_sets_one_bit_per_byte() {
        assert_eq!(pack8(&[1, 0, 0, 0, 0, 0, 0, 1]).count_ones(), 2);
        assert_eq!(pack8(&[1; 8]), 0xff);
        assert_eq!(pack8(&[1, 1, 1]).count_ones(), 3);
    }

    #[test]
    fn matching_maximises_the_total() {
        // Greedy would take 0.9 and leave 0.1; the optimum is 0.8 + 0.7.
        let w = [0.9, 0.8, 0.7, 0.1];
        assert_eq!(max_weight_matching(&w, 2, 2).unwrap(), vec![(0, 1), (1, 0)]);
        let tall = [0.1, 0.9, 0.5];
        assert_eq!(max_weight_matching(&tall, 3, 1).unwrap(), vec![(1, 0)]);
    }
}
