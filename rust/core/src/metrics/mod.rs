//! Benchmark metrics (SPEC.md section 7): the per-image heavy work of each metric, reduced to a few
//! sums or counts that the Python accumulators add up over a dataset.
//!
//! - [`labels`]: the semantic confusion matrix and the intersections / unions of binary masks.
//! - [`depth`]: the sums behind the standard metric-depth errors.
//! - [`normals`]: angular errors of surface normals, their sums and histogram.
//! - [`masks`]: the IoU matrix of two sets of masks, and optimal one-to-one matching.

pub mod depth;
mod fastmath;
pub mod labels;
pub mod masks;
pub mod normals;

use std::borrow::Cow;
use std::sync::Mutex;

use ndarray::{ArrayView, ArrayView3, Axis, RemoveAxis};
use rayon::prelude::*;

use crate::error::Result;
use crate::rows::PARALLEL_MIN_PIXELS;
use crate::shapes;

/// `pred` and `gt` have one shape, and `valid` (when given) that of their pixels, (N, H, W).
fn check_pair(pred: &[usize], gt: &[usize], valid: Option<&[usize]>) -> Result<()> {
    shapes::same("pred", pred, "gt", gt)?;
    match valid {
        Some(valid) => shapes::same("valid", valid, "the pixels of gt", &gt[..3]),
        None => Ok(()),
    }
}

/// Pixels per parallel task: big enough to amortise each task's accumulator.
const TASK_PIXELS: usize = 1 << 15;

/// Folds `rows` rows of `pixels_per_row` pixels into accumulators (one per task, on all cores once
/// the work is large enough), merged at the end.
pub(crate) fn fold_rows<A, I, F, M>(
    rows: usize,
    pixels_per_row: usize,
    init: I,
    fold: F,
    merge: M,
) -> A
where
    A: Send,
    I: Fn() -> A + Sync + Send,
    F: Fn(&mut A, usize) + Sync + Send,
    M: Fn(A, A) -> A + Sync + Send,
{
    if rows * pixels_per_row < PARALLEL_MIN_PIXELS {
        let mut acc = init();
        (0..rows).for_each(|r| fold(&mut acc, r));
        return acc;
    }
    let rows_per_task = (TASK_PIXELS / pixels_per_row.max(1)).max(1);
    (0..rows)
        .into_par_iter()
        .with_min_len(rows_per_task)
        .fold(&init, |mut acc, r| {
            fold(&mut acc, r);
            acc
        })
        .reduce(&init, &merge)
}

/// As [`fold_rows`], each row also getting its `out_per_row` values of `out`.
pub(crate) fn fold_rows_into<O, A, I, F, M>(
    rows: usize,
    out_per_row: usize,
    out: &mut [O],
    init: I,
    fold: F,
    merge: M,
) -> A
where
    O: Send,
    A: Send,
    I: Fn() -> A + Sync + Send,
    F: Fn(&mut A, usize, &mut [O]) + Sync + Send,
    M: Fn(A, A) -> A + Sync + Send,
{
    let task = |mut acc: A, first_row: usize, out: &mut [O]| {
        for (i, out_row) in out.chunks_mut(out_per_row.max(1)).enumerate() {
            fold(&mut acc, first_row + i, out_row);
        }
        acc
    };
    if rows * out_per_row < PARALLEL_MIN_PIXELS {
        return task(init(), 0, out);
    }
    // One accumulator per thread, not per split of the work, as accumulators may be large (the
    // normals' histograms), with tasks small enough that the threads share the work out evenly
    // when some of them run slower (other work on the machine). A task holds its thread's
    // accumulator meanwhile; should a `fold` wait on rayon, which may run another task on the
    // same thread, that task finds the accumulator taken and starts a spare one.
    let threads = rayon::current_num_threads();
    let accumulators: Vec<Mutex<Option<A>>> = (0..threads).map(|_| Mutex::new(None)).collect();
    let spares = Mutex::new(Vec::new());
    let rows_per_task = (TASK_PIXELS / out_per_row).max(1);
    out.par_chunks_mut(out_per_row * rows_per_task)
        .enumerate()
        .for_each(|(t, out)| {
            let thread = rayon::current_thread_index().unwrap_or(0) % threads;
            match accumulators[thread].try_lock() {
                Ok(mut slot) => {
                    let acc = slot.take().unwrap_or_else(&init);
                    *slot = Some(task(acc, t * rows_per_task, out));
                }
                // Taken (or poisoned by a panicking task, whose panic rayon passes on anyway).
                Err(_) => {
                    let acc = task(init(), t * rows_per_task, out);
                    spares.lock().unwrap_or_else(|e| e.into_inner()).push(acc);
                }
            }
        });
    accumulators
        .into_iter()
        .filter_map(|a| a.into_inner().expect("no task panicked"))
        .chain(spares.into_inner().unwrap_or_else(|e| e.into_inner()))
        .reduce(merge)
        .unwrap_or_else(init)
}

/// Row `r` (counting over all images) of an (N, H, W) or (N, H, W, C) stack as a flat slice:
/// borrowed when the row is contiguous, copied otherwise.
pub(crate) fn row<'a, T, D>(view: ArrayView<'a, T, D>, r: usize) -> Cow<'a, [T]>
where
    T: Copy,
    D: RemoveAxis,
    D::Smaller: RemoveAxis,
{
    let h = view.shape()[1];
    let line = view
        .index_axis_move(Axis(0), r / h)
        .index_axis_move(Axis(0), r % h);
    match line.to_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(line.iter().copied().collect()),
    }
}

/// Row `r` of an optional validity mask, or a row of `true` of the given width.
pub(crate) fn valid_row<'a>(
    valid: Option<ArrayView3<'a, bool>>,
    r: usize,
    all: &'a [bool],
) -> Cow<'a, [bool]> {
    match valid {
        Some(v) => row(v, r),
        None => Cow::Borrowed(all),
    }
}

/// A floating-point sample type of depth maps and normal maps.
pub trait Real: Copy + Send + Sync + 'static {
    fn to_f64(self) -> f64;
    /// The slice as f32 values, for kernels specialised to them; None for other types.
    fn as_f32(values: &[Self]) -> Option<&[f32]>;
}

impl Real for f32 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn as_f32(values: &[Self]) -> Option<&[f32]> {
        Some(values)
    }
}

impl Real for f64 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    fn as_f32(_: &[Self]) -> Option<&[f32]> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row is folded once, into whichever accumulator, also when `fold` itself waits on
    /// rayon (which may run another task on the same thread meanwhile).
    #[test]
    fn fold_rows_into_counts_every_row_once_even_with_nested_rayon() {
        let (rows, width) = (700, 200);
        let mut out = vec![0u32; rows * width];
        let pause = || std::thread::sleep(std::time::Duration::from_micros(50));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let total = pool.install(|| {
            fold_rows_into(
                rows,
                width,
                &mut out,
                || 0u64,
                |acc, row, out_row| {
                    // While the half another thread took runs, this one takes other tasks.
                    rayon::join(pause, pause);
                    *acc += row as u64;
                    out_row.fill(row as u32);
                },
                |a, b| a + b,
            )
        });
        assert_eq!(total, (0..rows as u64).sum::<u64>());
        for (row, chunk) in out.chunks(width).enumerate() {
            assert!(chunk.iter().all(|&v| v == row as u32));
        }
    }
}
