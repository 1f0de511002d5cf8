//! Nearest-colour decoding for semantic and referring segmentation (SPEC.md sections 3 and 5):
//! each pixel takes the label of the palette colour nearest to it in RGB (ties to the lower
//! palette index), or an ignore label when it is farther than a maximum distance from all.
//!
//! The cost per pixel must not grow with the palette (1000 classes and more): a uniform grid over
//! the RGB cube keeps, for each cell, only the colours that can be nearest to some point inside
//! it, so most pixels find a cell with a single candidate.

use ndarray::ArrayView4;

use crate::error::{Error, Result};
use crate::pixels::{decode_rows, pixel_by_pixel, PixelDecoder, BLOCK};
use crate::samples::{LabelSample, PictureSample};
use crate::simd;

/// Cells per side of the finest grid is 2^GRID_LEVELS (8 units of an 8-bit channel per cell).
const GRID_LEVELS: u32 = 5;
const CELLS: usize = 1 << GRID_LEVELS;
const CELL_SIZE: f64 = 256.0 / CELLS as f64;

/// Colours (in 8-bit units, [0, 255]) with the label each one stands for, and the grid.
#[derive(Debug, Clone)]
pub struct Palette {
    colours: Vec<[f64; 3]>,
    labels: Vec<u32>,
    /// Per finest cell: `index << 1 | 1` when a single colour can be nearest there (most
    /// cells), else `offset << 1` into `candidates`, which holds the count, then the indices.
    cells: Box<[u32; CELLS * CELLS * CELLS]>,
    candidates: Vec<u32>,
}

impl Palette {
    /// `colours` in 8-bit units; `labels[i]` is what pixels nearest to colour i get.
    pub fn new(colours: Vec<[f64; 3]>, labels: Vec<u32>) -> Result<Self> {
        if colours.is_empty() {
            return Err(Error::new("colors", "colors must hold at least one colour"));
        }
        assert_eq!(colours.len(), labels.len(), "one label per colour");
        if let Some(bad) = colours
            .iter()
            .find(|c| c.iter().any(|v| !(0.0..=255.0).contains(v)))
        {
            return Err(Error::new(
                "colors",
                format!("colors must have channels in 0-255, got {bad:?}"),
            ));
        }
        let mut palette = Palette {
            colours,
            labels,
            cells: vec![0; CELLS * CELLS * CELLS]
                .into_boxed_slice()
                .try_into()
                .expect("CELLS^3 entries"),
            candidates: Vec::new(),
        };
        palette.build_grid();
        Ok(palette)
    }

    pub fn len(&self) -> usize {
        self.colours.len()
    }

    pub fn is_empty(&self) -> bool {
        self.colours.is_empty()
    }

    /// Coarse to fine from the whole cube: each box keeps the colours of its parent that are not
    /// strictly farther, everywhere in the box, than the parent colour nearest to the box's
    /// centre. A box left with one colour is done: every finest cell inside takes it.
    fn build_grid(&mut self) {
        let all: Vec<u32> = (0..self.colours.len() as u32).collect();
        self.fill_box([0; 3], CELLS, &all);
    }

    /// Fills the finest cells of the box at `lo` (in cells) of `side` cells a side.
    fn fill_box(&mut self, lo: [usize; 3], side: usize, parent: &[u32]) {
        let kept;
        let candidates = if parent.len() == 1 {
            parent
        } else {
            kept = self.prune(
                parent,
                lo.map(|v| v as f64 * CELL_SIZE),
                side as f64 * CELL_SIZE,
            );
            &kept[..]
        };
        if candidates.len() > 1 && side > 1 {
            let half = side / 2;
            for child in 0..8 {
                let offset = [0, 1, 2].map(|a| if child >> a & 1 == 1 { half } else { 0 });
                self.fill_box([0, 1, 2].map(|a| lo[a] + offset[a]), half, candidates);
            }
            return;
        }
        let entry = if let [single] = candidates[..] {
            single << 1 | 1
        } else {
            let offset = (self.candidates.len() as u32) << 1;
            self.candidates.push(candidates.len() as u32);
            self.candidates.extend_from_slice(candidates);
            offset
        };
        for i in lo[0]..lo[0] + side {
            for j in lo[1]..lo[1] + side {
                let row = (i * CELLS + j) * CELLS;
                self.cells[row + lo[2]..row + lo[2] + side].fill(entry);
            }
        }
    }

    /// The colours of `parent` that may be nearest somewhere in the box [lo, lo + size]^3.
    fn prune(&self, parent: &[u32], lo: [f64; 3], size: f64) -> Vec<u32> {
        let centre = lo.map(|v| v + size / 2.0);
        let dominant = *parent
            .iter()
            .min_by(|&&a, &&b| {
                let (da, db) = (self.distance2(a, centre), self.distance2(b, centre));
                da.total_cmp(&db).then(a.cmp(&b))
            })
            .expect("cells are never empty");
        let d = self.colours[dominant as usize];
        let d_norm2 = distance2(d, [0.0; 3]);
        parent
            .iter()
            .copied()
            .filter(|&c| {
                // |p - c|^2 - |p - d|^2 = |c|^2 - |d|^2 - 2 p.(c - d) is linear in p, so its
                // minimum over the box is at the corner that maximises p.(c - d). If even that is
                // positive, c is strictly farther than d everywhere in the box: never chosen.
                let c = self.colours[c as usize];
                let mut gap = distance2(c, [0.0; 3]) - d_norm2;
                for a in 0..3 {
                    let step = c[a] - d[a];
                    gap -= 2.0 * step * if step > 0.0 { lo[a] + size } else { lo[a] };
                }
                gap <= 1e-6 * (1.0 + d_norm2)
            })
            .collect()
    }

    #[inline(always)]
    fn distance2(&self, i: u32, p: [f64; 3]) -> f64 {
        distance2(self.colours[i as usize], p)
    }

    /// Index of the colour nearest to `p` (8-bit units; ties to the lower index) and the squared
    /// distance to it.
    #[inline(always)]
    pub fn nearest(&self, p: [f64; 3]) -> (usize, f64) {
        let cell = p.map(|v| ((v * (1.0 / CELL_SIZE)) as usize).min(CELLS - 1));
        let entry = self.cells[(cell[0] * CELLS + cell[1]) * CELLS + cell[2]];
        if entry & 1 == 1 {
            let index = (entry >> 1) as usize;
            return (index, distance2(self.colours[index], p));
        }
        self.nearest_candidate(entry, p)
    }

    /// `nearest` in a cell with several candidates (`entry` is the cell's entry).
    #[inline(always)]
    fn nearest_candidate(&self, entry: u32, p: [f64; 3]) -> (usize, f64) {
        let offset = (entry >> 1) as usize;
        let count = self.candidates[offset] as usize;
        let candidates = &self.candidates[offset + 1..offset + 1 + count];
        let mut best = (candidates[0] as usize, self.distance2(candidates[0], p));
        for &c in &candidates[1..] {
            let d2 = self.distance2(c, p);
            if d2 < best.1 {
                best = (c as usize, d2);
            }
        }
        best
    }

    /// The label of colour `index`.
    #[inline(always)]
    pub fn label(&self, index: usize) -> u32 {
        self.labels[index]
    }
}

#[inline(always)]
fn distance2(a: [f64; 3], b: [f64; 3]) -> f64 {
    (a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2])
}

/// A palette with the rule for pixels far from every colour.
pub struct NearestColour<'a> {
    pub palette: &'a Palette,
    /// Squared distance (8-bit units) beyond which a pixel gets `ignore`; infinity for none.
    pub max_distance2: f64,
    pub ignore: u32,
}

impl<T: PictureSample, L: LabelSample> PixelDecoder<T, L, f32> for NearestColour<'_> {
    #[inline(always)]
    fn pixel(&self, p: [T; 3]) -> (L, f32) {
        let (index, d2) = self.palette.nearest(p.map(T::to_8bit));
        let label = if d2 > self.max_distance2 {
            self.ignore
        } else {
            self.palette.label(index)
        };
        (L::from_u32(label), (d2.sqrt() / 255.0) as f32)
    }

    /// 8-bit pictures wanting labels only take a fast path: cell indices by integer arithmetic
    /// for a block of pixels (vectorised), then the label of single-colour cells straight away.
    #[inline(always)]
    fn row<const C: usize>(&self, src: &[T], out: &mut [L], extra: Option<&mut [f32]>) {
        match (T::as_bytes(src), extra, self.max_distance2.is_finite()) {
            (Some(bytes), None, false) => simd::vectorised(
                #[inline(always)]
                || self.labels_of_bytes::<C, L>(bytes, out),
            ),
            (_, extra, _) => pixel_by_pixel::<C, _, _, _, _>(self, src, out, extra),
        }
    }
}

impl NearestColour<'_> {
    #[inline(always)]
    fn labels_of_bytes<const C: usize, L: LabelSample>(&self, bytes: &[u8], out: &mut [L]) {
        let palette = self.palette;
        let mut cells = [0u32; BLOCK];
        for (src, out) in bytes.chunks(BLOCK * C).zip(out.chunks_mut(BLOCK)) {
            let cells = &mut cells[..out.len()];
            for (cell, p) in cells.iter_mut().zip(src.chunks_exact(C)) {
                let [r, g, b] = [p[0], p[1], p[2]].map(|v| (v >> (8 - GRID_LEVELS)) as u32);
                *cell = (r << (2 * GRID_LEVELS)) | (g << GRID_LEVELS) | b;
            }
            for ((o, &cell), p) in out.iter_mut().zip(cells.iter()).zip(src.chunks_exact(C)) {
                let entry = palette.cells[cell as usize];
                let index = if entry & 1 == 1 {
                    (entry >> 1) as usize
                } else {
                    let colour = [p[0], p[1], p[2]].map(|v| v as f64);
                    palette.nearest_candidate(entry, colour).0
                };
                *o = L::from_u32(palette.label(index));
            }
        }
    }
}

/// Decodes a picture stack (N, H, W, C) into labels `out` (N * H * W) and, when given, each
/// pixel's distance to its nearest palette colour (channel range units) into `distance`.
pub fn decode<T: PictureSample, L: LabelSample>(
    rgb: ArrayView4<T>,
    rule: &NearestColour<'_>,
    out: &mut [L],
    distance: Option<&mut [f32]>,
) {
    decode_rows(rgb, out, distance, rule);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_force(colours: &[[f64; 3]], p: [f64; 3]) -> (usize, f64) {
        let mut best = (0, f64::INFINITY);
        for (i, &c) in colours.iter().enumerate() {
            let d2 = distance2(c, p);
            if d2 < best.1 {
                best = (i, d2);
            }
        }
        best
    }

    /// Deterministic pseudo-random colours (an LCG: no dependency needed).
    fn colours(n: usize, seed: u64) -> Vec<[f64; 3]> {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % 256) as f64
        };
        (0..n).map(|_| [next(), next(), next()]).collect()
    }

    #[test]
    fn the_grid_gives_exactly_the_brute_force_answer() {
        for (n, seed) in [(1, 1), (2, 2), (19, 3), (150, 4), (1000, 5)] {
            let colours = colours(n, seed);
            let palette = Palette::new(colours.clone(), (0..n as u32).collect()).unwrap();
            for r in (0..256).step_by(7) {
                for g in (0..256).step_by(5) {
                    for b in (0..256).step_by(3) {
                        let p = [r as f64, g as f64, b as f64];
                        assert_eq!(palette.nearest(p), brute_force(&colours, p), "{p:?}");
                    }
                }
            }
            let single = palette.cells.iter().filter(|&&c| c & 1 == 1).count();
            let mean = (single + palette.candidates.len()) as f64 / palette.cells.len() as f64;
            assert!(mean < 8.0, "{n} colours: {mean} candidates per cell");
        }
    }

    #[test]
    fn ties_go_to_the_lower_index() {
        // (100, 0, 0) is equally far from (90, 0, 0) and (110, 0, 0).
        let palette = Palette::new(vec![[110.0, 0.0, 0.0], [90.0, 0.0, 0.0]], vec![0, 1]).unwrap();
        assert_eq!(palette.nearest([100.0, 0.0, 0.0]).0, 0);
        let palette = Palette::new(vec![[90.0, 0.0, 0.0], [110.0, 0.0, 0.0]], vec![0, 1]).unwrap();
        assert_eq!(palette.nearest([100.0, 0.0, 0.0]).0, 0);
    }

    #[test]
    fn bad_palettes_are_refused() {
        assert_eq!(Palette::new(vec![], vec![]).unwrap_err().argument, "colors");
        let err = Palette::new(vec![[0.0, 300.0, 0.0]], vec![0]).unwrap_err();
        assert!(err.message.contains("0-255"), "{}", err.message);
    }
}
