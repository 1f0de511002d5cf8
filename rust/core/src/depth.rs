//! Metric depth codec (SPEC.md section 1): depth -> power transform -> colour map, and back.
//!
//! Encoding is one pass per pixel. Decoding projects each colour onto the nearest point of the
//! colour map and inverts the transform. For 8-bit pictures on the cube walk the decode reduces
//! to integer arithmetic and a table: every edge is axis-aligned, so the position along the
//! nearest edge is one channel's value, and the depth of each (edge, value) pair is tabulated once
//! per call.

use std::sync::{Arc, Mutex};

use ndarray::{ArrayView3, ArrayView4, Axis};

use crate::colormap::{Colormap, Polyline};
use crate::error::Result;
pub use crate::pixels::unit_range_defects;
use crate::pixels::{decode_pixels, decode_rows, PixelDecoder, BLOCK};
use crate::rows::{for_each_row, Defects};
use crate::samples::round_to_level;
pub use crate::samples::{DecodedSample, DepthSample, EncodedSample, PictureSample};
use crate::shapes;
use crate::simd;
use crate::transform::PowerTransform;
use crate::walk::{self, EDGES, EDGE_CHANNEL};

/// What the scalar f on the colour map stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// Metric depth through the power transform; decoded depth is clamped at `max_depth`.
    Depth {
        transform: PowerTransform,
        max_depth: f64,
    },
    /// The normalised scalar itself, for callers with their own normalisation.
    Normalised,
}

impl Scalar {
    #[inline(always)]
    fn value_at(&self, f: f64) -> f64 {
        match self {
            Scalar::Depth {
                transform,
                max_depth,
            } => transform.inverse(f).min(*max_depth),
            Scalar::Normalised => f,
        }
    }
}

/// The cube-walk decode of each picture sample type: integer types use exact integer arithmetic.
pub trait CubeWalkDecode: PictureSample {
    fn decode_cube_walk<D: DecodedSample>(
        rgb: ArrayView4<Self>,
        scalar: Scalar,
        out: &mut [D],
        distance: Option<&mut [f32]>,
    ) {
        decode_pixels(rgb, out, distance, |p| {
            let (f, d2) = walk::project(p.map(Self::to_unit));
            (D::from_f64(scalar.value_at(f)), d2.sqrt() as f32)
        })
    }
}

impl CubeWalkDecode for u8 {
    fn decode_cube_walk<D: DecodedSample>(
        rgb: ArrayView4<u8>,
        scalar: Scalar,
        out: &mut [D],
        distance: Option<&mut [f32]>,
    ) {
        decode_rows(rgb, out, distance, &EdgeTable::new(scalar));
    }
}

impl CubeWalkDecode for u16 {
    fn decode_cube_walk<D: DecodedSample>(
        rgb: ArrayView4<u16>,
        scalar: Scalar,
        out: &mut [D],
        distance: Option<&mut [f32]>,
    ) {
        decode_pixels(rgb, out, distance, |[r, g, b]| {
            let key = walk::nearest_edge_key(r as u64, g as u64, b as u64, 65535);
            let k = (key & 7) as usize;
            let value = [r, g, b][EDGE_CHANNEL[k]] as u32;
            let f = (k as f64 + walk::edge_position(k, value, 65535)) / EDGES as f64;
            let dist = ((key >> 3) as f64).sqrt() / 65535.0;
            (D::from_f64(scalar.value_at(f)), dist as f32)
        });
    }
}

impl CubeWalkDecode for f32 {}
impl CubeWalkDecode for f64 {}

/// Decodes a picture stack `rgb` (N, H, W, C), C = 3 or 4, into `out` (N * H * W values, C order)
/// and, when given, the distance of each colour from the colour map into `distance` (same length),
/// in units of the full channel range (0 on the map; the cube's diagonal is sqrt(3)).
///
/// Float pictures must hold values in [0, 1]: check them first with `unit_range_defects`.
pub fn decode<T: CubeWalkDecode, D: DecodedSample>(
    rgb: ArrayView4<T>,
    scalar: Scalar,
    colormap: Colormap,
    out: &mut [D],
    distance: Option<&mut [f32]>,
) -> Result<()> {
    let mut outputs = vec![("out", out.len())];
    outputs.extend(distance.as_ref().map(|d| ("distance", d.len())));
    shapes::decode(rgb.dim(), &outputs)?;
    if colormap == Colormap::CubeWalk {
        T::decode_cube_walk(rgb, scalar, out, distance);
        return Ok(());
    }
    let polyline: &Polyline = colormap.polyline();
    decode_pixels(rgb, out, distance, |p| {
        let (f, d2) = polyline.project(p.map(T::to_unit));
        (D::from_f64(scalar.value_at(f)), d2.sqrt() as f32)
    });
    Ok(())
}

/// Decoded value of every (edge, channel value) pair of 8-bit colours on the cube walk, indexed
/// by the low 11 bits of `walk::nearest_edge_key_u8` (entries for k = 7 are unused).
struct EdgeTable<D> {
    values: Box<[D; 2048]>,
}

impl<D: DecodedSample> EdgeTable<D> {
    fn new(scalar: Scalar) -> Self {
        let exact = edge_values(scalar);
        let values: Vec<D> = exact.iter().map(|&v| D::from_f64(v)).collect();
        EdgeTable {
            values: values
                .into_boxed_slice()
                .try_into()
                .ok()
                .expect("2048 entries"),
        }
    }
}

/// The decoded value of every (edge, 8-bit value) pair, in f64. 1792 `powf`s take longer than
/// decoding a small picture, and pictures mostly come with the same parameters, so the table of
/// the last parameters is kept.
fn edge_values(scalar: Scalar) -> Arc<[f64; 2048]> {
    static LAST: Mutex<Option<(Scalar, Arc<[f64; 2048]>)>> = Mutex::new(None);
    // A poisoned lock only means another thread panicked mid-update: the value is still whole.
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((cached, values)) = &*last {
        if *cached == scalar {
            return Arc::clone(values);
        }
    }
    let mut values = [0.0; 2048];
    for (i, value) in values.iter_mut().enumerate() {
        // Entries for k = 7 are never looked up; they repeat edge 6.
        let (k, v) = ((i >> 8).min(EDGES - 1), (i & 0xff) as u32);
        let f = (k as f64 + walk::edge_position(k, v, 255)) / EDGES as f64;
        *value = scalar.value_at(f);
    }
    let values = Arc::new(values);
    *last = Some((scalar, Arc::clone(&values)));
    values
}

impl<D: DecodedSample> PixelDecoder<u8, D, f32> for EdgeTable<D> {
    #[inline(always)]
    fn pixel(&self, [r, g, b]: [u8; 3]) -> (D, f32) {
        let key = walk::nearest_edge_key_u8(r as u32, g as u32, b as u32);
        let dist = ((key >> 11) as f32).sqrt() * (1.0 / 255.0);
        (self.values[(key & 0x7ff) as usize], dist)
    }

    /// In blocks: first all keys (a loop LLVM vectorises), then the table lookups.
    fn row<const C: usize>(&self, src: &[u8], out: &mut [D], mut dist: Option<&mut [f32]>) {
        simd::vectorised(
            #[inline(always)]
            || {
                let mut keys = [0u32; BLOCK];
                for (b, (src, out)) in src.chunks(BLOCK * C).zip(out.chunks_mut(BLOCK)).enumerate()
                {
                    let keys = &mut keys[..out.len()];
                    for (key, p) in keys.iter_mut().zip(src.chunks_exact(C)) {
                        *key = walk::nearest_edge_key_u8(p[0] as u32, p[1] as u32, p[2] as u32);
                    }
                    for (o, key) in out.iter_mut().zip(keys.iter()) {
                        *o = self.values[(key & 0x7ff) as usize];
                    }
                    if let Some(dist) = dist.as_deref_mut() {
                        let dist = &mut dist[b * BLOCK..][..keys.len()];
                        for (d, key) in dist.iter_mut().zip(keys.iter()) {
                            *d = ((key >> 11) as f32).sqrt() * (1.0 / 255.0);
                        }
                    }
                }
            },
        )
    }
}

/// Encodes a depth (or scalar) stack (N, H, W) into `out` (N * H * W * 3 channels, C order).
/// Pixels that are not valid (NaN, infinite or negative depth; NaN scalars) get the colour
/// `invalid`, or black when it is None, and are reported so that the caller can refuse them.
pub fn encode<T: DepthSample, O: EncodedSample>(
    depth: ArrayView3<T>,
    scalar: Scalar,
    colormap: Colormap,
    invalid: Option<[O; 3]>,
    out: &mut [O],
) -> Result<Defects> {
    shapes::length("out", out.len(), depth.len() * 3)?;
    let invalid = invalid.unwrap_or([O::default(); 3]);
    // One monomorphic loop per case, so that the common ones vectorise.
    Ok(match (scalar, colormap) {
        (Scalar::Normalised, Colormap::CubeWalk) => {
            encode_cube_walk(depth, out, invalid, |d| !d.is_nan(), |f| f)
        }
        (Scalar::Depth { transform, .. }, Colormap::CubeWalk)
            if transform.has_square_exponent() =>
        {
            encode_cube_walk(depth, out, invalid, is_valid_depth, |d| {
                transform.forward_squared(d)
            })
        }
        (Scalar::Depth { transform, .. }, Colormap::CubeWalk) => {
            encode_cube_walk(depth, out, invalid, is_valid_depth, |d| {
                transform.forward(d)
            })
        }
        (Scalar::Normalised, other) => {
            let polyline = other.polyline();
            let painter = Exact(|f: f64| polyline.point_at(f).map(O::from_unit));
            encode_with(depth, out, invalid, |d| !d.is_nan(), &painter)
        }
        (Scalar::Depth { transform, .. }, other) => {
            let polyline = other.polyline();
            let painter = Exact(|d: f64| polyline.point_at(transform.forward(d)).map(O::from_unit));
            encode_with(depth, out, invalid, is_valid_depth, &painter)
        }
    })
}

/// The cube walk through a table of its colours where the sample type has few levels (8 bits:
/// 7 * 255 steps, each one colour), else by rounding each channel of the exact walk.
fn encode_cube_walk<T, O, V, G>(
    depth: ArrayView3<T>,
    out: &mut [O],
    invalid: [O; 3],
    is_valid: V,
    forward: G,
) -> Defects
where
    T: DepthSample,
    O: EncodedSample,
    V: Fn(f64) -> bool + Sync,
    G: Fn(f64) -> f64 + Sync,
{
    match O::WALK_STEPS {
        Some(steps) => {
            let painter = WalkTable::new(steps, forward);
            encode_with(depth, out, invalid, is_valid, &painter)
        }
        None => {
            let painter = Exact(|d: f64| walk::walk(forward(d)).map(O::from_unit));
            encode_with(depth, out, invalid, is_valid, &painter)
        }
    }
}

#[inline(always)]
fn is_valid_depth(d: f64) -> bool {
    d >= 0.0 && d.is_finite()
}

/// Colours depth values: one at a time, or a contiguous row at once.
trait Painter<O>: Sync {
    fn paint(&self, d: f64) -> [O; 3];
    fn paint_row<T: DepthSample>(&self, src: &[T], out: &mut [O]);
}

/// Paints with a closure computing each channel.
struct Exact<F>(F);

impl<O: EncodedSample, F: Fn(f64) -> [O; 3] + Sync> Painter<O> for Exact<F> {
    #[inline(always)]
    fn paint(&self, d: f64) -> [O; 3] {
        (self.0)(d)
    }

    /// In blocks: channels into planar buffers first (a loop LLVM vectorises), then interleaved.
    #[inline(always)]
    fn paint_row<T: DepthSample>(&self, src: &[T], out: &mut [O]) {
        let mut planes = [[O::default(); BLOCK]; 3];
        for (src, out) in src.chunks(BLOCK).zip(out.chunks_mut(BLOCK * 3)) {
            let [r, g, b] = &mut planes;
            for (((&d, r), g), b) in src
                .iter()
                .zip(r.iter_mut())
                .zip(g.iter_mut())
                .zip(b.iter_mut())
            {
                [*r, *g, *b] = self.paint(d.to_f64());
            }
            for (((o, &r), &g), &b) in out
                .chunks_exact_mut(3)
                .zip(r.iter())
                .zip(g.iter())
                .zip(b.iter())
            {
                o.copy_from_slice(&[r, g, b]);
            }
        }
    }
}

/// The walk's colours at every step of a sample type with `steps` levels per edge: a colour is
/// then one rounding of f, and a table lookup.
struct WalkTable<O, G> {
    colours: Vec<[O; 3]>,
    steps: f64,
    forward: G,
}

impl<O: EncodedSample, G> WalkTable<O, G> {
    fn new(steps_per_edge: u32, forward: G) -> Self {
        let steps = steps_per_edge * EDGES as u32;
        let colours = (0..=steps)
            .map(|i| walk::walk(i as f64 / steps as f64).map(O::from_unit))
            .collect();
        WalkTable {
            colours,
            steps: steps as f64,
            forward,
        }
    }
}

impl<O: EncodedSample, G: Fn(f64) -> f64 + Sync> WalkTable<O, G> {
    /// Index of the nearest step: rounding f once is rounding every channel (ties aside).
    #[inline(always)]
    fn step(&self, d: f64) -> usize {
        round_to_level((self.forward)(d), self.steps) as usize
    }
}

impl<O: EncodedSample, G: Fn(f64) -> f64 + Sync> Painter<O> for WalkTable<O, G> {
    #[inline(always)]
    fn paint(&self, d: f64) -> [O; 3] {
        self.colours[self.step(d)]
    }

    /// In blocks: step indices first (a loop LLVM vectorises), then the lookups.
    #[inline(always)]
    fn paint_row<T: DepthSample>(&self, src: &[T], out: &mut [O]) {
        let mut steps = [0u32; BLOCK];
        for (src, out) in src.chunks(BLOCK).zip(out.chunks_mut(BLOCK * 3)) {
            for (step, &d) in steps.iter_mut().zip(src) {
                *step = self.step(d.to_f64()) as u32;
            }
            for (o, &step) in out.chunks_exact_mut(3).zip(steps.iter()) {
                o.copy_from_slice(&self.colours[step as usize]);
            }
        }
    }
}

/// The encode driver: colours every pixel, then repaints the invalid ones.
fn encode_with<T, O, V, P>(
    depth: ArrayView3<T>,
    out: &mut [O],
    invalid: [O; 3],
    is_valid: V,
    painter: &P,
) -> Defects
where
    T: DepthSample,
    O: EncodedSample,
    V: Fn(f64) -> bool + Sync,
    P: Painter<O>,
{
    let (n, h, w) = depth.dim();
    assert_eq!(out.len(), n * h * w * 3, "three output channels per pixel");
    let kernel = |row: usize, out: &mut [O], _: Option<&mut [()]>| {
        let view = depth
            .index_axis(Axis(0), row / h)
            .index_axis_move(Axis(0), row % h);
        // Invalid pixels are rare: paint every pixel branch-free first, then count the invalid
        // ones (a vectorised pass over the row, still in L1) and repaint them if there are any.
        let bad = match view.as_slice() {
            Some(s) => simd::vectorised(
                #[inline(always)]
                || {
                    painter.paint_row(s, out);
                    s.iter().filter(|&&d| !is_valid(d.to_f64())).count()
                },
            ),
            None => view
                .iter()
                .zip(out.chunks_exact_mut(3))
                .fold(0, |bad, (&d, o)| {
                    let d = d.to_f64();
                    o.copy_from_slice(&painter.paint(d));
                    bad + !is_valid(d) as usize
                }),
        };
        let mut defects = Defects::default();
        if bad > 0 {
            for (x, (&d, o)) in view.iter().zip(out.chunks_exact_mut(3)).enumerate() {
                if !is_valid(d.to_f64()) {
                    defects.record(row * w + x, d.to_f64());
                    o.copy_from_slice(&invalid);
                }
            }
        }
        defects
    };
    for_each_row::<O, (), _>(n * h, w, out, None, kernel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array3, Array4};

    fn depth_scalar() -> Scalar {
        Scalar::Depth {
            transform: PowerTransform::default(),
            max_depth: f64::INFINITY,
        }
    }

    fn encode_vec<O: EncodedSample>(depth: &Array3<f64>, scalar: Scalar) -> (Vec<O>, Defects) {
        let mut out = vec![O::default(); depth.len() * 3];
        let defects = encode(depth.view(), scalar, Colormap::CubeWalk, None, &mut out).unwrap();
        (out, defects)
    }

    fn decode_vec<T: CubeWalkDecode>(
        rgb: ArrayView4<T>,
        colormap: Colormap,
    ) -> (Vec<f64>, Vec<f32>) {
        let (n, h, w, _) = rgb.dim();
        let mut out = vec![0.0; n * h * w];
        let mut dist = vec![0.0; n * h * w];
        decode(rgb, depth_scalar(), colormap, &mut out, Some(&mut dist)).unwrap();
        (out, dist)
    }

    /// A depth ramp wide enough for the parallel path, with every edge of the walk.
    fn ramp() -> Array3<f64> {
        Array3::from_shape_fn((2, 160, 300), |(n, y, x)| {
            (n * 48_000 + y * 300 + x) as f64 * 6e-4
        })
    }

    #[test]
    fn the_8_bit_table_matches_rounding_each_channel() {
        let depth = ramp();
        let (table, defects) = encode_vec::<u8>(&depth, depth_scalar());
        assert!(defects.is_empty());
        let t = PowerTransform::default();
        let mut differ = 0;
        for (i, &d) in depth.iter().enumerate() {
            let exact = walk::walk(t.forward(d)).map(|x| (x * 255.0 + 0.5).floor() as u8);
            differ += (table[3 * i..3 * i + 3] != exact) as usize;
        }
        assert!(differ <= 2, "{differ} pixels differ");
    }

    #[test]
    fn decode_inverts_encode_for_every_sample_type() {
        let depth = ramp();
        let (n, h, w) = depth.dim();
        let (eight, _) = encode_vec::<u8>(&depth, depth_scalar());
        let (sixteen, _) = encode_vec::<u16>(&depth, depth_scalar());
        let (float, _) = encode_vec::<f64>(&depth, depth_scalar());
        let rgb8 = Array4::from_shape_vec((n, h, w, 3), eight).unwrap();
        let rgb16 = Array4::from_shape_vec((n, h, w, 3), sixteen).unwrap();
        let rgbf = Array4::from_shape_vec((n, h, w, 3), float).unwrap();
        let (back8, dist8) = decode_vec(rgb8.view(), Colormap::CubeWalk);
        let (back16, _) = decode_vec(rgb16.view(), Colormap::CubeWalk);
        let (backf, distf) = decode_vec(rgbf.view(), Colormap::CubeWalk);
        for (i, &d) in depth.iter().enumerate() {
            if (1.0..20.0).contains(&d) {
                assert!(
                    (back8[i] - d).abs() / d < 2e-3,
                    "8 bit at {d}: {}",
                    back8[i]
                );
            }
            if (0.1..100.0).contains(&d) {
                assert!(
                    (back16[i] - d).abs() / d < 1e-4,
                    "16 bit at {d}: {}",
                    back16[i]
                );
            }
            assert!(
                (backf[i] - d).abs() <= 1e-9 * d.max(1.0),
                "float at {d}: {}",
                backf[i]
            );
        }
        assert!(dist8.iter().chain(&distf).all(|&x| x == 0.0));
        // A strided view decodes like its contiguous copy.
        let strided = rgb8.slice(s![.., ..;3, ..;-2, ..]);
        let (a, _) = decode_vec(strided, Colormap::CubeWalk);
        let (b, _) = decode_vec(strided.to_owned().view(), Colormap::CubeWalk);
        assert_eq!(a, b);
    }

    #[test]
    fn invalid_depth_is_counted_and_painted() {
        let mut depth = Array3::from_elem((1, 4, 5), 1.0);
        depth[[0, 1, 2]] = f64::NAN;
        depth[[0, 3, 4]] = -2.0;
        let mut out = vec![0u8; 60];
        let defects = encode(
            depth.view(),
            depth_scalar(),
            Colormap::CubeWalk,
            Some([1, 2, 3]),
            &mut out,
        )
        .unwrap();
        assert_eq!(defects.count, 2);
        assert_eq!(defects.first.unwrap().0, 7);
        assert_eq!(&out[21..24], &[1, 2, 3]);
        assert_eq!(&out[57..60], &[1, 2, 3]);
        assert_ne!(&out[0..3], &[1, 2, 3]);
    }

    #[test]
    fn float_pictures_outside_the_unit_range_are_reported() {
        let mut rgb = Array4::from_elem((1, 2, 3, 3), 0.5f32);
        rgb[[0, 1, 1, 2]] = 1.5;
        rgb[[0, 0, 2, 0]] = f32::NAN;
        let defects = unit_range_defects(rgb.view());
        assert_eq!(defects.count, 2);
        let (index, value) = defects.first.unwrap();
        assert_eq!(index, 2);
        assert!(value.is_nan());
    }

    #[test]
    fn white_saturates_at_max_depth() {
        let rgb = Array4::from_elem((1, 1, 1, 3), 255u8);
        let mut out = [0.0f32];
        let scalar = Scalar::Depth {
            transform: PowerTransform::default(),
            max_depth: 80.0,
        };
        decode(rgb.view(), scalar, Colormap::CubeWalk, &mut out, None).unwrap();
        assert_eq!(out[0], 80.0);
    }
}
