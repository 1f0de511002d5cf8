//! The decode driver shared by every picture decoder: walks the pixels of an (N, H, W, C) picture
//! stack (C = 3 or 4, alpha ignored) row by row, through a plain slice where the row is
//! contiguous, writing one value per pixel to `out` and optionally one "extra" per pixel (a
//! distance, a validity flag) to a second output.

use ndarray::{ArrayView4, Axis};

use crate::rows::{for_each_row, Defects};
use crate::samples::PictureSample;

/// Pixels per block in the vectorised row loops: a block's intermediate values stay in L1.
pub const BLOCK: usize = 64;

/// Decodes pixels: one at a time, or a whole contiguous row of C-channel pixels at once (decoders
/// override `row` with a block-wise loop that vectorises).
pub trait PixelDecoder<T: Copy, D, E>: Sync {
    fn pixel(&self, p: [T; 3]) -> (D, E);

    #[inline(always)]
    fn row<const C: usize>(&self, src: &[T], out: &mut [D], extra: Option<&mut [E]>) {
        pixel_by_pixel::<C, _, _, _, _>(self, src, out, extra);
    }
}

/// The plain row loop: `decoder.pixel` on each pixel (what `row` does unless overridden).
#[inline(always)]
pub fn pixel_by_pixel<const C: usize, T: Copy, D, E, P: PixelDecoder<T, D, E> + ?Sized>(
    decoder: &P,
    src: &[T],
    out: &mut [D],
    extra: Option<&mut [E]>,
) {
    fill(
        src.chunks_exact(C).map(|p| [p[0], p[1], p[2]]),
        out,
        extra,
        #[inline(always)]
        |p| decoder.pixel(p),
    );
}

/// A per-pixel closure as a decoder.
pub struct PerPixel<F>(pub F);

impl<T: Copy, D, E, F: Fn([T; 3]) -> (D, E) + Sync> PixelDecoder<T, D, E> for PerPixel<F> {
    #[inline(always)]
    fn pixel(&self, p: [T; 3]) -> (D, E) {
        (self.0)(p)
    }
}

/// Decodes with a per-pixel closure.
pub fn decode_pixels<T, D, E, F>(
    rgb: ArrayView4<T>,
    out: &mut [D],
    extra: Option<&mut [E]>,
    pixel: F,
) where
    T: Copy + Send + Sync,
    D: Copy + Send,
    E: Copy + Send,
    F: Fn([T; 3]) -> (D, E) + Sync,
{
    decode_rows(rgb, out, extra, &PerPixel(pixel))
}

/// Decodes row by row, through the decoder's row loop where the row is contiguous.
pub fn decode_rows<T, D, E, P>(
    rgb: ArrayView4<T>,
    out: &mut [D],
    extra: Option<&mut [E]>,
    decoder: &P,
) where
    T: Copy + Send + Sync,
    D: Copy + Send,
    E: Copy + Send,
    P: PixelDecoder<T, D, E>,
{
    let (n, h, w, c) = rgb.dim();
    assert!(c == 3 || c == 4, "pictures have 3 or 4 channels");
    assert_eq!(out.len(), n * h * w, "one output value per pixel");
    let kernel = |row: usize, out: &mut [D], extra: Option<&mut [E]>| {
        let view = rgb
            .index_axis(Axis(0), row / h)
            .index_axis_move(Axis(0), row % h);
        match (view.as_slice(), c) {
            (Some(s), 3) => decoder.row::<3>(s, out, extra),
            (Some(s), _) => decoder.row::<4>(s, out, extra),
            (None, _) => fill(
                view.outer_iter().map(|p| [p[0], p[1], p[2]]),
                out,
                extra,
                #[inline(always)]
                |p| decoder.pixel(p),
            ),
        }
        Defects::default()
    };
    for_each_row(n * h, w, out, extra, kernel);
}

#[inline(always)]
fn fill<T, D, E, F>(
    pixels: impl Iterator<Item = [T; 3]>,
    out: &mut [D],
    extra: Option<&mut [E]>,
    pixel: F,
) where
    F: Fn([T; 3]) -> (D, E),
{
    match extra {
        Some(extra) => {
            for ((o, e), p) in out.iter_mut().zip(extra.iter_mut()).zip(pixels) {
                (*o, *e) = pixel(p);
            }
        }
        None => {
            for (o, p) in out.iter_mut().zip(pixels) {
                *o = pixel(p).0;
            }
        }
    }
}

/// Counts the pixels of a float picture with a colour channel outside [0, 1] or NaN (alpha is
/// not checked); the first is reported with its flat pixel index and offending value.
pub fn unit_range_defects<T: PictureSample>(rgb: ArrayView4<T>) -> Defects {
    let mut defects = Defects::default();
    let w = rgb.dim().2;
    let rows = rgb.outer_iter().flat_map(|img| img.into_outer_iter());
    for (i, row) in rows.enumerate() {
        for (x, p) in row.outer_iter().enumerate() {
            let bad = (0..3)
                .map(|ch| p[ch].to_unit())
                .find(|v| !(0.0..=1.0).contains(v));
            if let Some(bad) = bad {
                defects.record(i * w + x, bad);
            }
        }
    }
    defects
}
