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
//! Pictures mostly come with the same palette (one prompt for a whole data set), so the last
//! palette is kept with all it has worked out.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use ndarray::ArrayView4;

use crate::error::{Error, Result};
use crate::pixels::{decode_rows, pixel_by_pixel, PixelDecoder, BLOCK};
use crate::samples::{LabelSample, PictureSample};
use crate::simd;

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

/// Cubes per side of the byte table (4 byte values per cube and channel).
const CUBES: usize = 64;
const CUBE_BITS: u32 = CUBES.trailing_zeros();
/// Byte values per cube and channel.
const SIDE: u8 = 1 << (8 - CUBE_BITS);
/// Byte-table cube entries: a label below `PIXELS`, `PIXELS | block`: the cube's pixels do not
/// all share one nearest colour and `block` holds each one's label, or one of these two.
const PIXELS: u32 = 1 << 31;
const UNKNOWN: u32 = u32::MAX;
/// Mixed, and no block was left: search per pixel.
const SEARCH: u32 = u32::MAX - 1;
/// Blocks of per-pixel labels are made in chunks, as mixed cubes turn up.
const BLOCK_PIXELS: usize = 1 << (3 * (8 - CUBE_BITS));
const CHUNK_BLOCKS: usize = 256;
const CHUNKS: usize = 256;

/// The byte path's tables, worked out on first use.
#[derive(Debug)]
struct ByteTable {
    cubes: Box<[AtomicU32; CUBES * CUBES * CUBES]>,
    /// Per-pixel labels of mixed cubes: `label + 1`, or 0 for not yet worked out.
    chunks: Box<[OnceLock<Box<[AtomicU32]>>]>,
    blocks: AtomicU32,
}

impl ByteTable {
    fn new() -> Self {
        let cubes: Box<[AtomicU32]> = (0..CUBES * CUBES * CUBES)
            .map(|_| AtomicU32::new(UNKNOWN))
            .collect();
        ByteTable {
            cubes: cubes.try_into().expect("one entry per cube"),
            chunks: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
            blocks: AtomicU32::new(0),
        }
    }

    /// A new block of per-pixel labels, if any is left.
    fn new_block(&self) -> Option<u32> {
        let block = self.blocks.fetch_add(1, Ordering::Relaxed);
        (block < (CHUNKS * CHUNK_BLOCKS) as u32).then_some(block)
    }

    /// The per-pixel label slot of 8-bit colour `p` in `block`.
    fn pixel_slot(&self, block: u32, p: [u8; 3]) -> &AtomicU32 {
        let (chunk, block) = (block as usize / CHUNK_BLOCKS, block as usize % CHUNK_BLOCKS);
        let chunk = self.chunks[chunk].get_or_init(|| {
            (0..CHUNK_BLOCKS * BLOCK_PIXELS)
                .map(|_| AtomicU32::new(0))
                .collect()
        });
        let [r, g, b] = p.map(|v| usize::from(v % SIDE));
        let within = (r * usize::from(SIDE) + g) * usize::from(SIDE) + b;
        &chunk[block * BLOCK_PIXELS + within]
    }
}

/// Index of the byte-table entry of an 8-bit colour.
#[inline(always)]
fn cube_of(p: [u8; 3]) -> u32 {
    let [r, g, b] = p.map(|v| u32::from(v >> (8 - CUBE_BITS)));
    (r << (2 * CUBE_BITS)) | (g << CUBE_BITS) | b
}

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

    /// `Palette::new`, or the palette of the previous call when it had the same colours and
    /// labels (with the cells it has already worked out).
    pub fn shared(colours: Vec<[f64; 3]>, labels: Vec<u32>) -> Result<Arc<Self>> {
        static LAST: Mutex<Option<Arc<Palette>>> = Mutex::new(None);
        // A poisoned lock only means another thread panicked mid-update: the value is still whole.
        let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(palette) = &*last {
            if palette.colours == colours && palette.labels == labels {
                return Ok(Arc::clone(palette));
            }
        }
        let palette = Arc::new(Palette::new(colours, labels)?);
        *last = Some(Arc::clone(&palette));
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

    /// The byte-table entry of `cube`, the cube of pixel `p`: the label of its pixels when they
    /// all have the same nearest colour, else a block for their labels. The set of points that
    /// pick a colour (ties included) is an intersection of half-spaces, so convex: when the
    /// cube's 8 corners pick the same colour, so do all its pixels.
    #[cold]
    fn resolve_cube(&self, table: &ByteTable, cube: usize, p: [u8; 3]) -> u32 {
        let lo = p.map(|v| v & !(SIDE - 1));
        let mut corners = (0..8).map(|corner| {
            let offset = [4, 2, 1].map(|bit| if corner & bit != 0 { SIDE - 1 } else { 0 });
            self.nearest([0, 1, 2].map(|a| f64::from(lo[a] + offset[a])))
                .0
        });
        let first = corners.next().expect("a cube has corners");
        let entry = if corners.all(|c| c == first) {
            self.labels[first]
        } else {
            table.new_block().map_or(SEARCH, |block| PIXELS | block)
        };
        // Two threads may both resolve a cube: either block serves (both fill in exact labels).
        table.cubes[cube].store(entry, Ordering::Relaxed);
        entry
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

    /// 8-bit pictures wanting labels only go through the byte table.
    #[inline(always)]
    fn row<const C: usize>(&self, src: &[T], out: &mut [L], extra: Option<&mut [f32]>) {
        if let (Some(bytes), None, false) =
            (T::as_bytes(src), &extra, self.max_distance2.is_finite())
        {
            if let Some(table) = self.palette.byte_table() {
                return simd::vectorised(
                    #[inline(always)]
                    || self.labels_of_bytes::<C, L>(bytes, table, out),
                );
            }
        }
        pixel_by_pixel::<C, _, _, _, _>(self, src, out, extra);
    }
}

impl NearestColour<'_> {
    /// Nearly all pixels find their label in the byte table; those in mixed cubes look further.
    /// Block by block: cube indices (vectorised), then the table loads, then the labels
    /// (vectorised), then the few pixels that need more.
    #[inline(always)]
    fn labels_of_bytes<const C: usize, L: LabelSample>(
        &self,
        bytes: &[u8],
        table: &ByteTable,
        out: &mut [L],
    ) {
        let (mut cubes, mut entries) = ([0u32; BLOCK], [0u32; BLOCK]);
        for (src, out) in bytes.chunks(BLOCK * C).zip(out.chunks_mut(BLOCK)) {
            let cubes = &mut cubes[..out.len()];
            for (cube, p) in cubes.iter_mut().zip(src.chunks_exact(C)) {
                *cube = cube_of([p[0], p[1], p[2]]);
            }
            let entries = &mut entries[..out.len()];
            for (entry, &cube) in entries.iter_mut().zip(cubes.iter()) {
                *entry = table.cubes[cube as usize % table.cubes.len()].load(Ordering::Relaxed);
            }
            let mut others = 0u64;
            for (i, (o, &entry)) in out.iter_mut().zip(entries.iter()).enumerate() {
                *o = L::from_u32(entry);
                others |= u64::from(entry >= PIXELS) << i;
            }
            while others != 0 {
                let i = others.trailing_zeros() as usize;
                others &= others - 1;
                let p = &src[i * C..];
                let label = self
                    .palette
                    .byte_label(table, cubes[i] as usize, [p[0], p[1], p[2]]);
                out[i] = L::from_u32(label);
            }
        }
    }
}

impl Palette {
    /// The label of an 8-bit pixel in `cube` whose entry is not a label (yet).
    fn byte_label(&self, table: &ByteTable, cube: usize, p: [u8; 3]) -> u32 {
        let search = || self.label(self.nearest(p.map(f64::from)).0);
        match table.cubes[cube].load(Ordering::Relaxed) {
            UNKNOWN => match self.resolve_cube(table, cube, p) {
                label if label < PIXELS => label,
                _ => self.byte_label(table, cube, p),
            },
            SEARCH => search(),
            label if label < PIXELS => label,
            block => {
                let slot = table.pixel_slot(block & !PIXELS, p);
                match slot.load(Ordering::Relaxed) {
                    0 => {
                        let label = search();
                        slot.store(label + 1, Ordering::Relaxed);
                        label
                    }
                    known => known - 1,
                }
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
    fn bad_palettes_are_refused() {
        assert_eq!(Palette::new(vec![], vec![]).unwrap_err().argument, "colors");
        let err = Palette::new(vec![[0.0, 300.0, 0.0]], vec![0]).unwrap_err();
        assert!(err.message.contains("0-255"), "{}", err.message);
    }
}
