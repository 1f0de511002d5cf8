//! Nearest-colour decoding for semantic and referring segmentation (SPEC.md sections 3 and 5):
//! each pixel takes the label of the palette colour nearest to it in RGB (ties to the lower
//! palette index), or an ignore label when it is farther than a maximum distance from all.
//!
//! The cost per pixel must not grow with the palette (1000 classes and more), and building the
//! search structure must cost far less than a picture: a coarse grid of 8^3 boxes over the RGB
//! cube keeps, for each box, only the colours that can be nearest to some point inside it; a fine
//! grid of 32^3 cells narrows that down lazily, the first time a pixel falls in a cell. Most
//! pixels then find a cell with a single colour. 8-bit pictures go through a finer table still,
//! the label of each 4^3 cube of byte colours whose pixels all share one nearest colour, so that
//! nearly every pixel costs one table load.
//!
//! Pictures mostly come with the same palette (one prompt for a whole data set), or with a few in
//! turn (per-image class lists), so the last few palettes are kept with all they have worked out.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use ndarray::ArrayView4;

use crate::error::{Error, Result};
use crate::pixels::{decode_rows, PixelDecoder};
use crate::samples::{LabelSample, PictureSample};
use crate::shapes;

mod bytes;

use bytes::{ByteTable, PIXELS};

/// Boxes per side of the coarse grid, and fine cells per side of each box.
const BOXES: usize = 8;
const CELLS_PER_BOX: usize = 4;
/// Fine cells per side of the cube (32: 8 units of an 8-bit channel per cell).
const CELLS: usize = BOXES * CELLS_PER_BOX;
const CELL_BITS: u32 = CELLS.trailing_zeros();
const CELL_SIZE: f64 = 256.0 / CELLS as f64;
const BOX_SIZE: f64 = 256.0 / BOXES as f64;

/// Fine-cell entries: the low two bits say what the rest holds.
const UNRESOLVED: u32 = 0;
/// One or two colours can be nearest in the cell: `second << 17 | first << 2 | PAIR`, with
/// first <= second (equal for one colour); palettes of up to 2^15 colours.
const PAIR: u32 = 1;
/// A few can: `count << 2 | FEW`, the colours in the cell's slots.
const FEW: u32 = 2;
/// More: search the coarse box's list, `box << 2 | BOX_LIST`.
const BOX_LIST: u32 = 3;
const SLOTS: usize = 4;
const PAIR_LIMIT: usize = 1 << 15;
/// How many palettes `Palette::shared` keeps (a few MB each once worked out).
pub const RECENT_PALETTES: usize = 8;

/// Colours (in 8-bit units, [0, 255]) with the label each one stands for, and the grids.
#[derive(Debug)]
pub struct Palette {
    colours: Vec<[f64; 3]>,
    /// Whether all colours are integers: then distances to 8-bit pixels are exact.
    integral: bool,
    labels: Vec<u32>,
    /// Per coarse box, its candidate colours, worked out on first use.
    boxes: Vec<OnceLock<Box<[u32]>>>,
    /// Per fine cell, filled on first use (any thread may fill a cell: they all write the same;
    /// slots are written before the entry is published, with release ordering).
    cells: Vec<AtomicU32>,
    slots: Vec<[AtomicU32; SLOTS]>,
    /// Made on first use, for integer colours whose labels all fit below `PIXELS`.
    byte_table: OnceLock<Option<ByteTable>>,
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
        let integral = colours.iter().flatten().all(|v| v.fract() == 0.0);
        Ok(Palette {
            colours,
            integral,
            labels,
            boxes: (0..BOXES * BOXES * BOXES)
                .map(|_| OnceLock::new())
                .collect(),
            cells: (0..CELLS * CELLS * CELLS)
                .map(|_| AtomicU32::new(UNRESOLVED))
                .collect(),
            slots: (0..CELLS * CELLS * CELLS)
                .map(|_| Default::default())
                .collect(),
            byte_table: OnceLock::new(),
        })
    }

    /// `Palette::new`, or a recent call's palette with the same colours and labels (with all it
    /// has worked out). The last `RECENT_PALETTES` palettes are kept, the least recently used
    /// dropped first, so that a few palettes in turn (per-image class lists, several threads)
    /// do not rebuild their tables on every call.
    pub fn shared(colours: Vec<[f64; 3]>, labels: Vec<u32>) -> Result<Arc<Self>> {
        // Most recently used last.
        static RECENT: Mutex<Vec<Arc<Palette>>> = Mutex::new(Vec::new());
        // A poisoned lock only means another thread panicked mid-update: the value is still whole.
        let mut recent = RECENT
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let found = recent
            .iter()
            .position(|p| p.colours == colours && p.labels == labels);
        let palette = match found {
            Some(i) => recent.remove(i),
            None => Arc::new(Palette::new(colours, labels)?),
        };
        if recent.len() >= RECENT_PALETTES {
            recent.remove(0);
        }
        recent.push(Arc::clone(&palette));
        Ok(palette)
    }

    /// The byte table, when the palette has one.
    fn byte_table(&self) -> Option<&ByteTable> {
        let table = self.byte_table.get_or_init(|| {
            let fits = self.labels.iter().all(|&l| l < PIXELS);
            (fits && self.integral).then(ByteTable::new)
        });
        table.as_ref()
    }

    /// The candidate colours of coarse box `index`.
    fn box_list(&self, index: usize) -> &[u32] {
        self.boxes[index].get_or_init(|| {
            let corner = [
                index / (BOXES * BOXES),
                (index / BOXES) % BOXES,
                index % BOXES,
            ];
            let all: Vec<u32> = (0..self.colours.len() as u32).collect();
            self.prune(&all, corner.map(|v| v as f64 * BOX_SIZE), BOX_SIZE)
                .collect()
        })
    }

    /// The colours of `parent` that may be nearest somewhere in the box [lo, lo + size]^3: all
    /// but those strictly farther, everywhere in the box, than the parent colour nearest to the
    /// box's centre. In `parent`'s order.
    fn prune<'a>(
        &'a self,
        parent: &'a [u32],
        lo: [f64; 3],
        size: f64,
    ) -> impl Iterator<Item = u32> + 'a {
        let centre = lo.map(|v| v + size / 2.0);
        let dominant = *parent
            .iter()
            .min_by(|&&a, &&b| {
                let (da, db) = (self.distance2(a, centre), self.distance2(b, centre));
                da.total_cmp(&db).then(a.cmp(&b))
            })
            .expect("boxes are never empty");
        let d = self.colours[dominant as usize];
        let d_norm2 = distance2(d, [0.0; 3]);
        parent.iter().copied().filter(move |&c| {
            // |p - c|^2 - |p - d|^2 = |c|^2 - |d|^2 - 2 p.(c - d) is linear in p, so its minimum
            // over the box is at the corner that maximises p.(c - d). If even that is positive,
            // c is strictly farther than d everywhere in the box: never chosen.
            let c = self.colours[c as usize];
            let mut gap = distance2(c, [0.0; 3]) - d_norm2;
            for a in 0..3 {
                let step = c[a] - d[a];
                gap -= 2.0 * step * if step > 0.0 { lo[a] + size } else { lo[a] };
            }
            gap <= 1e-6 * (1.0 + d_norm2)
        })
    }

    #[inline(always)]
    fn distance2(&self, i: u32, p: [f64; 3]) -> f64 {
        distance2(self.colours[i as usize], p)
    }

    /// Index of the fine cell holding `p` (8-bit units).
    #[inline(always)]
    fn cell_of(p: [f64; 3]) -> usize {
        let [i, j, k] = p.map(|v| ((v * (1.0 / CELL_SIZE)) as usize).min(CELLS - 1));
        (i << (2 * CELL_BITS)) | (j << CELL_BITS) | k
    }

    /// The entry of a fine cell, working it out on first use.
    #[inline(always)]
    fn entry(&self, cell: usize) -> u32 {
        match self.cells[cell].load(Ordering::Acquire) {
            UNRESOLVED => self.resolve(cell),
            entry => entry,
        }
    }

    #[cold]
    fn resolve(&self, cell: usize) -> u32 {
        let [i, j, k] = [
            cell >> (2 * CELL_BITS),
            (cell >> CELL_BITS) & (CELLS - 1),
            cell & (CELLS - 1),
        ];
        let parent = ((i / CELLS_PER_BOX) * BOXES + j / CELLS_PER_BOX) * BOXES + k / CELLS_PER_BOX;
        let list = self.box_list(parent);
        let lo = [i, j, k].map(|v| v as f64 * CELL_SIZE);
        let mut few = [0u32; SLOTS + 1];
        let mut count = 0;
        for c in self.prune(list, lo, CELL_SIZE).take(SLOTS + 1) {
            few[count] = c;
            count += 1;
        }
        let pairs = self.colours.len() <= PAIR_LIMIT;
        let entry = match count {
            1 | 2 if pairs => few[count - 1] << 17 | few[0] << 2 | PAIR,
            1..=SLOTS => {
                for (slot, &c) in self.slots[cell].iter().zip(&few[..count]) {
                    slot.store(c, Ordering::Relaxed);
                }
                (count as u32) << 2 | FEW
            }
            _ => (parent as u32) << 2 | BOX_LIST,
        };
        self.cells[cell].store(entry, Ordering::Release);
        entry
    }

    /// Index of the colour nearest to `p` (8-bit units; ties to the lower index) and the squared
    /// distance to it.
    #[inline(always)]
    pub fn nearest(&self, p: [f64; 3]) -> (usize, f64) {
        let cell = Self::cell_of(p);
        self.nearest_in(cell, self.entry(cell), p)
    }

    /// The colour nearest to every point of the fine cell holding `p`, when there is one.
    fn sole_colour(&self, p: [f64; 3]) -> Option<usize> {
        let entry = self.entry(Self::cell_of(p));
        let (first, second) = ((entry >> 2) & 0x7fff, entry >> 17);
        (entry & 3 == PAIR && first == second).then_some(first as usize)
    }

    /// `nearest`, given the entry of `cell`, the cell holding `p`.
    #[inline(always)]
    fn nearest_in(&self, cell: usize, entry: u32, p: [f64; 3]) -> (usize, f64) {
        match entry & 3 {
            PAIR => self.closest([(entry >> 2) & 0x7fff, entry >> 17].into_iter(), p),
            FEW => {
                let slots = &self.slots[cell][..(entry >> 2) as usize];
                self.closest(slots.iter().map(|s| s.load(Ordering::Relaxed)), p)
            }
            _ => self.closest(self.box_list((entry >> 2) as usize).iter().copied(), p),
        }
    }

    /// The nearest of some candidates (in increasing index order, so that ties keep the first).
    #[inline(always)]
    fn closest(&self, mut candidates: impl Iterator<Item = u32>, p: [f64; 3]) -> (usize, f64) {
        let first = candidates.next().expect("cells are never empty");
        let mut best = (first as usize, self.distance2(first, p));
        for c in candidates {
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
}

/// Decodes a picture stack (N, H, W, C) into labels `out` (N * H * W) and, when given, each
/// pixel's distance to its nearest palette colour (channel range units) into `distance`.
pub fn decode<T: PictureSample, L: LabelSample>(
    rgb: ArrayView4<T>,
    rule: &NearestColour<'_>,
    out: &mut [L],
    distance: Option<&mut [f32]>,
) -> Result<()> {
    let mut outputs = vec![("out", out.len())];
    outputs.extend(distance.as_ref().map(|d| ("distance", d.len())));
    shapes::decode(rgb.dim(), &outputs)?;
    // Labels only, with no maximum distance, of 8-bit samples (`as_bytes` says which they are)
    // go through the byte table.
    let bytes =
        T::as_bytes(&[]).is_some() && distance.is_none() && rule.max_distance2.is_infinite();
    match bytes.then(|| rule.palette.byte_table()).flatten() {
        Some(table) => bytes::decode(rgb, rule, table, out),
        None => decode_rows(rgb, out, distance, rule),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ndarray::{Array4, Axis};

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

    pub(super) use crate::test_random::lcg;

    /// Deterministic pseudo-random integer colours.
    fn colours(n: usize, seed: u64) -> Vec<[f64; 3]> {
        let mut next = lcg(seed);
        (0..n)
            .map(|_| [0; 3].map(|_| f64::from(next() % 256)))
            .collect()
    }

    /// An 8-bit picture with pixels near the colours (noise of up to 6), exactly half-way between
    /// two of them (ties), and anywhere; every fourth row is flat, in one colour.
    fn picture(colours: &[[f64; 3]], (h, w, c): (usize, usize, usize), seed: u64) -> Array4<u8> {
        let mut next = lcg(seed);
        let mut colour = || colours[next() as usize % colours.len()];
        let pixels: Vec<[f64; 3]> = (0..h * w)
            .map(|i| match i % 3 {
                _ if (i / w) % 4 == 3 => colours[(i / w) % colours.len()],
                0 => colour().map(|v| v + f64::from(lcg(i as u64)() % 13) - 6.0),
                1 => {
                    let (a, b) = (colour(), colour());
                    [0, 1, 2].map(|k| ((a[k] + b[k]) / 2.0).floor())
                }
                _ => [0; 3].map(|_| f64::from(lcg(i as u64 + 1)() % 256)),
            })
            .collect();
        let mut rgb = Array4::from_elem((1, h, w, c), 255u8);
        for (i, p) in pixels.iter().enumerate() {
            for k in 0..3 {
                rgb[[0, i / w, i % w, k]] = p[k].clamp(0.0, 255.0) as u8;
            }
        }
        rgb
    }

    #[test]
    fn decoding_gives_exactly_the_brute_force_answer() {
        let cases = [(1, 1), (2, 2), (19, 3), (150, 4), (1000, 5)];
        for ((n, seed), offset) in cases.into_iter().flat_map(|c| [(c, 0.0), (c, 0.5)]) {
            // Integer colours take the byte table, others the grid.
            let colours: Vec<[f64; 3]> = colours(n, seed)
                .into_iter()
                .map(|c| c.map(|v| (v + offset).min(255.0)))
                .collect();
            let labels: Vec<u32> = (0..n as u32).map(|i| 3 * i + 1).collect();
            let palette = Palette::new(colours.clone(), labels.clone()).unwrap();
            // A width that is no multiple of the block; a picture large enough to run on all
            // cores; RGBA.
            for shape in [(7, 150, 3), (300, 256, 3), (5, 70, 4)] {
                let rgb = picture(&colours, shape, seed);
                for max_distance2 in [f64::INFINITY, 400.0] {
                    let rule = NearestColour {
                        palette: &palette,
                        max_distance2,
                        ignore: 9999,
                    };
                    let expected: Vec<u16> = rgb
                        .index_axis(Axis(0), 0)
                        .rows()
                        .into_iter()
                        .map(|p| {
                            let (i, d2) = brute_force(&colours, [0, 1, 2].map(|k| f64::from(p[k])));
                            if d2 > max_distance2 {
                                9999
                            } else {
                                labels[i] as u16
                            }
                        })
                        .collect();
                    // Twice: the first decode works the table out, the second reads it.
                    for _ in 0..2 {
                        let mut out = vec![0u16; shape.0 * shape.1];
                        decode(rgb.view(), &rule, &mut out, None).unwrap();
                        assert_eq!(out, expected, "{n} colours + {offset}, {shape:?}");
                    }
                }
            }
        }
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
            // The lattice above touches every fine cell: most must hold one or two colours.
            let entries = palette.cells.iter().map(|c| c.load(Ordering::Relaxed));
            let lists = entries.filter(|&e| e & 3 == BOX_LIST).count();
            let share = lists as f64 / palette.cells.len() as f64;
            assert!(
                share < 0.2,
                "{n} colours: {share} of the cells search a box list"
            );
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
    fn recent_palettes_are_shared_and_the_oldest_dropped() {
        let palette = |i: usize| (vec![[i as f64, 1.0, 2.0]], vec![0]);
        let (c, l) = palette(200);
        let first = Palette::shared(c, l).unwrap();
        // Another palette in between does not push the first one out.
        let (c, l) = palette(201);
        let second = Palette::shared(c, l).unwrap();
        let (c, l) = palette(200);
        assert!(Arc::ptr_eq(&first, &Palette::shared(c, l).unwrap()));
        // Once RECENT_PALETTES others have been used since, it is rebuilt.
        for i in 0..RECENT_PALETTES {
            let (c, l) = palette(210 + i);
            Palette::shared(c, l).unwrap();
        }
        let (c, l) = palette(201);
        assert!(!Arc::ptr_eq(&second, &Palette::shared(c, l).unwrap()));
    }

    #[test]
    fn bad_palettes_are_refused() {
        assert_eq!(Palette::new(vec![], vec![]).unwrap_err().argument, "colors");
        let err = Palette::new(vec![[0.0, 300.0, 0.0]], vec![0]).unwrap_err();
        assert!(err.message.contains("0-255"), "{}", err.message);
    }
}
