//! The row driver shared by every codec: walks the rows of an (N, H, ...) image stack, each with
//! its slice of the (contiguous) outputs, on all cores once the image is large enough to pay for it.

use rayon::prelude::*;

/// Below this many pixels the work runs on the calling thread: thread start-up would cost more
/// than it saves.
pub const PARALLEL_MIN_PIXELS: usize = 1 << 16;
/// Pixels per parallel task: big enough to amortise scheduling, small enough to balance two to a
/// few dozen cores.
const TASK_PIXELS: usize = 1 << 15;

/// Bad input values met on the way: how many, and the first (flat pixel index, value).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Defects {
    pub count: u64,
    pub first: Option<(usize, f64)>,
}

impl Defects {
    #[inline]
    pub fn record(&mut self, index: usize, value: f64) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some((index, value));
        }
    }

    pub fn merge(self, other: Defects) -> Defects {
        let first = match (self.first, other.first) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        Defects {
            count: self.count + other.count,
            first,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// A parallel task: its first row and its chunks of the outputs.
type Task<'a, O, S> = (usize, &'a mut [O], Option<&'a mut [S]>);

/// Calls `kernel(row, out_row, extra_row)` for each of `rows` rows of `pixels_per_row` pixels,
/// where `out` and `extra` are split into equal row-sized chunks, and merges what it reports.
pub fn for_each_row<O, S, K>(
    rows: usize,
    pixels_per_row: usize,
    out: &mut [O],
    extra: Option<&mut [S]>,
    kernel: K,
) -> Defects
where
    O: Send,
    S: Send,
    K: Fn(usize, &mut [O], Option<&mut [S]>) -> Defects + Sync,
{
    if rows == 0 || pixels_per_row == 0 {
        return Defects::default();
    }
    let out_len = out.len() / rows;
    let extra_len = extra.as_ref().map_or(0, |e| e.len() / rows);
    let run_task = |first_row: usize, out: &mut [O], mut extra: Option<&mut [S]>| {
        let mut defects = Defects::default();
        for (i, out_row) in out.chunks_mut(out_len).enumerate() {
            let extra_row = extra
                .as_mut()
                .map(|e| &mut e[i * extra_len..(i + 1) * extra_len]);
            defects = defects.merge(kernel(first_row + i, out_row, extra_row));
        }
        defects
    };
    if rows * pixels_per_row < PARALLEL_MIN_PIXELS {
        return run_task(0, out, extra);
    }
    let rows_per_task = (TASK_PIXELS / pixels_per_row).max(1);
    let out_tasks = out.chunks_mut(out_len * rows_per_task);
    let mut tasks: Vec<Task<O, S>> = match extra {
        Some(extra) => out_tasks
            .zip(extra.chunks_mut(extra_len * rows_per_task))
            .enumerate()
            .map(|(i, (o, e))| (i * rows_per_task, o, Some(e)))
            .collect(),
        None => out_tasks
            .enumerate()
            .map(|(i, o)| (i * rows_per_task, o, None))
            .collect(),
    };
    tasks
        .par_iter_mut()
        .map(|(first_row, out, extra)| run_task(*first_row, out, extra.as_deref_mut()))
        .reduce(Defects::default, Defects::merge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_gets_its_own_chunks_in_both_modes() {
        for (rows, width) in [(9, 5), (600, 300)] {
            let mut out = vec![0usize; rows * width * 2];
            let mut extra = vec![0usize; rows * width];
            let defects = for_each_row(rows, width, &mut out, Some(&mut extra), |row, o, e| {
                o.fill(row);
                e.unwrap().fill(row + 1);
                let mut d = Defects::default();
                if row % 7 == 3 {
                    d.record(row * width, row as f64);
                }
                d
            });
            for (i, chunk) in out.chunks(width * 2).enumerate() {
                assert!(chunk.iter().all(|&v| v == i));
            }
            for (i, chunk) in extra.chunks(width).enumerate() {
                assert!(chunk.iter().all(|&v| v == i + 1));
            }
            assert_eq!(
                defects.count as usize,
                (0..rows).filter(|r| r % 7 == 3).count()
            );
            assert_eq!(defects.first, Some((3 * width, 3.0)));
        }
    }
}
