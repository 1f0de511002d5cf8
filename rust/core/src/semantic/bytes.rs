//! The 8-bit path of the nearest-colour decoder (labels only, no maximum distance). A table over
//! the byte colour cube, in 4^3 cubes, holds the label of each cube whose pixels all share one
//! nearest colour, so that nearly every pixel costs one table load; a cube that straddles colours
//! points to a block of its 64 pixels' labels, filled in as they turn up.
//!
//! Any thread may fill the table in, so it is made of atomics. The hot loop reads a plain copy
//! instead (a snapshot, brought up to date after each decode), which it can load 8 entries at a
//! time with an AVX2 gather; entries the copy lacks take the atomic path.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use ndarray::ArrayView4;

use super::{NearestColour, Palette};
use crate::pixels::{decode_rows, pixel_by_pixel, PixelDecoder, BLOCK};
use crate::samples::{LabelSample, PictureSample};
use crate::simd;

/// Cubes per side of the table (4 byte values per cube and channel).
const CUBES: usize = 64;
const CUBE_BITS: u32 = CUBES.trailing_zeros();
const TABLE: usize = CUBES * CUBES * CUBES;
/// Byte values per cube and channel.
const SIDE: u8 = 1 << (8 - CUBE_BITS);
/// Cube entries: a label below `PIXELS`; `PIXELS | block`: the cube's pixels do not all share one
/// nearest colour and `block` holds each one's label; or one of these two.
pub(super) const PIXELS: u32 = 1 << 31;
const UNKNOWN: u32 = u32::MAX;
/// Mixed, and no block was left: search per pixel.
const SEARCH: u32 = u32::MAX - 1;
/// Blocks of per-pixel labels are made in chunks, as mixed cubes turn up.
const BLOCK_PIXELS: usize = 1 << (3 * (8 - CUBE_BITS));
const CHUNK_BLOCKS: usize = 256;
const CHUNKS: usize = 256;

/// The byte path's tables, worked out on first use.
#[derive(Debug)]
pub(super) struct ByteTable {
    cubes: Box<[AtomicU32]>,
    /// Per-pixel labels of mixed cubes: `label + 1`, or 0 for not yet worked out.
    chunks: Box<[OnceLock<Box<[AtomicU32]>>]>,
    blocks: AtomicU32,
    /// How many cubes have been resolved; a plain copy of `cubes` with how many it holds; the
    /// cubes resolved since it was brought up to date.
    resolved: AtomicUsize,
    snapshot: Mutex<(Arc<Vec<u32>>, usize)>,
    pending: Mutex<Vec<u32>>,
}

/// A poisoned lock only means another thread panicked mid-update: the value is still whole (each
/// update below is a single store or push).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Index of the table entry of an 8-bit colour.
#[inline(always)]
fn cube_of(p: [u8; 3]) -> usize {
    let [r, g, b] = p.map(|v| usize::from(v >> (8 - CUBE_BITS)));
    (r << (2 * CUBE_BITS)) | (g << CUBE_BITS) | b
}

impl ByteTable {
    pub(super) fn new() -> Self {
        ByteTable {
            cubes: (0..TABLE).map(|_| AtomicU32::new(UNKNOWN)).collect(),
            chunks: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
            blocks: AtomicU32::new(0),
            resolved: AtomicUsize::new(0),
            snapshot: Mutex::new((Arc::new(vec![UNKNOWN; TABLE]), 0)),
            pending: Mutex::new(Vec::new()),
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

    /// The label of 8-bit pixel `p`, given its cube's entry (up to date or not).
    fn label(&self, palette: &Palette, p: [u8; 3], entry: u32) -> u32 {
        let search = || palette.label(palette.nearest(p.map(f64::from)).0);
        match entry {
            UNKNOWN => {
                let cube = cube_of(p);
                match self.cubes[cube].load(Ordering::Relaxed) {
                    UNKNOWN => self.resolve(palette, cube, p),
                    entry => self.label(palette, p, entry),
                }
            }
            SEARCH => search(),
            label if label < PIXELS => label,
            block => {
                let slot = self.pixel_slot(block & !PIXELS, p);
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

    /// Works out the entry of `cube`, the cube of pixel `p`: the label of its pixels when they
    /// all have the same nearest colour, else a block for their labels. Most cubes lie in a
    /// fine cell of the grid with one colour. Else, the set of points that pick a colour (ties
    /// included) is an intersection of half-spaces, so convex: when the cube's 8 corners pick
    /// the same colour, so do all its pixels.
    #[cold]
    fn resolve(&self, palette: &Palette, cube: usize, p: [u8; 3]) -> u32 {
        let lo = p.map(|v| v & !(SIDE - 1));
        let sole = palette.sole_colour(lo.map(f64::from)).or_else(|| {
            let mut corners = (0..8).map(|corner| {
                let offset = [4, 2, 1].map(|bit| if corner & bit != 0 { SIDE - 1 } else { 0 });
                palette
                    .nearest([0, 1, 2].map(|a| f64::from(lo[a] + offset[a])))
                    .0
            });
            let first = corners.next().expect("a cube has corners");
            corners.all(|c| c == first).then_some(first)
        });
        let entry = match sole {
            Some(colour) => palette.label(colour),
            None => self.new_block().map_or(SEARCH, |block| PIXELS | block),
        };
        // Two threads may both resolve a cube: either block serves (both fill in exact labels).
        self.cubes[cube].store(entry, Ordering::Relaxed);
        lock(&self.pending).push(cube as u32);
        self.resolved.fetch_add(1, Ordering::Relaxed);
        self.label(palette, p, entry)
    }

    /// Copies the cubes resolved since the last call into the snapshot: in place unless a
    /// decode is still reading it.
    fn update_snapshot(&self) {
        let pending = std::mem::take(&mut *lock(&self.pending));
        if pending.is_empty() {
            return;
        }
        let mut snapshot = lock(&self.snapshot);
        snapshot.1 += pending.len();
        let entries = Arc::make_mut(&mut snapshot.0);
        for cube in pending {
            entries[cube as usize] = self.cubes[cube as usize].load(Ordering::Relaxed);
        }
    }
}

/// Decodes an 8-bit picture stack into labels through the palette's byte table.
pub(super) fn decode<T: PictureSample, L: LabelSample>(
    rgb: ArrayView4<T>,
    rule: &NearestColour<'_>,
    table: &ByteTable,
    out: &mut [L],
) {
    let (snapshot, resolved) = lock(&table.snapshot).clone();
    let pass = BytePass {
        rule,
        table,
        snapshot: snapshot.as_slice().try_into().expect("one entry per cube"),
        resolved,
    };
    decode_rows(rgb, out, None, &pass);
    drop(snapshot);
    table.update_snapshot();
}

/// One decode's view of the table.
struct BytePass<'a> {
    rule: &'a NearestColour<'a>,
    table: &'a ByteTable,
    snapshot: &'a [u32; TABLE],
    /// How many resolved cubes the snapshot holds.
    resolved: usize,
}

impl<T: PictureSample, L: LabelSample> PixelDecoder<T, L, f32> for BytePass<'_> {
    #[inline(always)]
    fn pixel(&self, p: [T; 3]) -> (L, f32) {
        self.rule.pixel(p)
    }

    #[inline(always)]
    fn row<const C: usize>(&self, src: &[T], out: &mut [L], extra: Option<&mut [f32]>) {
        match T::as_bytes(src) {
            Some(bytes) => simd::vectorised(
                #[inline(always)]
                || self.labels::<C, L>(bytes, out),
            ),
            None => pixel_by_pixel::<C, _, _, _, _>(self.rule, src, out, extra),
        }
    }
}

impl BytePass<'_> {
    /// Block by block: the snapshot's entries (8 at a time where the CPU allows), the labels
    /// (vectorised), then the few pixels whose entries are not labels.
    #[inline(always)]
    fn labels<const C: usize, L: LabelSample>(&self, bytes: &[u8], out: &mut [L]) {
        let mut entries = [0u32; BLOCK];
        for (src, out) in bytes.chunks(BLOCK * C).zip(out.chunks_mut(BLOCK)) {
            let mut others = block_entries::<C>(self.snapshot, src, &mut entries);
            if others != 0 && self.table.resolved.load(Ordering::Relaxed) != self.resolved {
                // The snapshot is behind (cubes turn up in this decode): the live table.
                others = portable_block_entries::<C>(
                    |cube| self.table.cubes[cube].load(Ordering::Relaxed),
                    src,
                    &mut entries,
                );
            }
            for (o, &entry) in out.iter_mut().zip(&entries) {
                *o = L::from_u32(entry);
            }
            while others != 0 {
                let i = others.trailing_zeros() as usize;
                others &= others - 1;
                let p = [0, 1, 2].map(|a| src[i * C + a]);
                out[i] = L::from_u32(self.table.label(self.rule.palette, p, entries[i]));
            }
        }
    }
}

/// The snapshot entries of a block of up to `BLOCK` pixels of C bytes, and a mask of those that
/// are not labels.
#[inline(always)]
fn block_entries<const C: usize>(
    snapshot: &[u32; TABLE],
    src: &[u8],
    entries: &mut [u32; BLOCK],
) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if src.len() == BLOCK * C && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { avx2::block_entries::<C>(snapshot, src, entries) };
    }
    portable_block_entries::<C>(|cube| snapshot[cube], src, entries)
}

/// `block_entries`, one pixel at a time, from `table` (by cube index).
#[inline(always)]
fn portable_block_entries<const C: usize>(
    table: impl Fn(usize) -> u32,
    src: &[u8],
    entries: &mut [u32; BLOCK],
) -> u64 {
    let mut others = 0;
    for (i, (entry, p)) in entries.iter_mut().zip(src.chunks_exact(C)).enumerate() {
        *entry = table(cube_of([p[0], p[1], p[2]]) % TABLE);
        others |= u64::from(*entry >= PIXELS) << i;
    }
    others
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{BLOCK, TABLE};

    /// `block_entries` of a whole block (`src` holds `BLOCK` pixels), 8 pixels at a time: each
    /// pixel's bytes into a 32-bit lane, its cube index, one gather.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn block_entries<const C: usize>(
        snapshot: &[u32; TABLE],
        src: &[u8],
        entries: &mut [u32; BLOCK],
    ) -> u64 {
        assert!(src.len() == BLOCK * C && (C == 3 || C == 4));
        // 3-byte pixels: the low half of a vector loads pixels 0-3 from byte 0, the high half
        // pixels 4-7 from byte 8 (so no load reaches past the block); this moves each pixel's
        // r, g, b to the low bytes of its lane.
        #[rustfmt::skip]
        let spread = _mm256_setr_epi8(
            0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1,
            4, 5, 6, -1, 7, 8, 9, -1, 10, 11, 12, -1, 13, 14, 15, -1,
        );
        let mut others = 0;
        for k in 0..BLOCK / 8 {
            let lanes = if C == 3 {
                let p = src.as_ptr().add(24 * k);
                // SAFETY: bytes 24k to 24k + 24 lie in the block (k < 8).
                _mm256_shuffle_epi8(_mm256_loadu2_m128i(p.add(8).cast(), p.cast()), spread)
            } else {
                // SAFETY: bytes 32k to 32k + 32 lie in the block (k < 8); alpha is masked off.
                _mm256_loadu_si256(src.as_ptr().add(32 * k).cast())
            };
            // Lane r | g << 8 | b << 16 to cube (r >> 2) << 12 | (g >> 2) << 6 | b >> 2.
            let r = _mm256_slli_epi32::<10>(_mm256_and_si256(lanes, _mm256_set1_epi32(0xfc)));
            let g = _mm256_srli_epi32::<4>(_mm256_and_si256(lanes, _mm256_set1_epi32(0xfc00)));
            let b = _mm256_srli_epi32::<18>(_mm256_and_si256(lanes, _mm256_set1_epi32(0xfc0000)));
            let cubes = _mm256_or_si256(_mm256_or_si256(r, g), b);
            // 8 pixels in one cube (flat regions) take one load instead of a gather.
            let first = _mm256_cvtsi256_si32(cubes);
            let same = _mm256_cmpeq_epi32(cubes, _mm256_set1_epi32(first));
            let found = if _mm256_movemask_epi8(same) == -1 {
                _mm256_set1_epi32(snapshot[first as usize % TABLE] as i32)
            } else {
                // SAFETY: each cube index is below 2^18 = TABLE, the snapshot's length.
                _mm256_i32gather_epi32::<4>(snapshot.as_ptr().cast(), cubes)
            };
            // SAFETY: entries 8k to 8k + 8 lie in `entries`.
            _mm256_storeu_si256(entries.as_mut_ptr().add(8 * k).cast(), found);
            // Entries that are not labels have the top bit set.
            let mask = _mm256_movemask_ps(_mm256_castsi256_ps(found)) as u8;
            others |= u64::from(mask) << (8 * k);
        }
        others
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::lcg;
    use super::*;

    #[test]
    fn the_vector_and_portable_blocks_agree() {
        let mut next = lcg(7);
        let snapshot: Vec<u32> = (0..TABLE)
            .map(|_| match next() % 4 {
                0 => UNKNOWN,
                1 => PIXELS | (next() % 1000),
                _ => next() % 300,
            })
            .collect();
        let snapshot: &[u32; TABLE] = snapshot.as_slice().try_into().unwrap();
        for _ in 0..200 {
            // Random pixels, or runs of one pixel (flat regions).
            let (mut pixel, runs) = ([0u8; 4], next().is_multiple_of(2));
            let mut src = |c: usize| -> Vec<u8> {
                (0..BLOCK * c)
                    .map(|i| {
                        if i % c == 0 && (!runs || next().is_multiple_of(16)) {
                            pixel = [0; 4].map(|_| next() as u8);
                        }
                        pixel[i % c]
                    })
                    .collect()
            };
            let (src3, src4) = (src(3), src(4));
            let (mut a, mut b) = ([0; BLOCK], [0; BLOCK]);
            let expected = portable_block_entries::<3>(|cube| snapshot[cube], &src3, &mut a);
            assert_eq!(block_entries::<3>(snapshot, &src3, &mut b), expected);
            assert_eq!(a, b);
            let expected = portable_block_entries::<4>(|cube| snapshot[cube], &src4, &mut a);
            assert_eq!(block_entries::<4>(snapshot, &src4, &mut b), expected);
            assert_eq!(a, b);
        }
    }
}
