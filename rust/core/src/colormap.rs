//! Colour maps as polylines in RGB space (SPEC.md section 1): the cube walk, and matplotlib's
//! plasma, inferno, viridis and gray, which the paper used as augmentation for depth.
//!
//! Encoding reads a colour off the polyline at a scalar f in [0, 1]; decoding projects a colour onto
//! the nearest point of the polyline. Projection runs once per pixel, so each polyline of more than
//! a few segments carries a uniform grid over the unit cube that lists, per cell, the only segments
//! that can be nearest to a point of that cell; the answer is bit for bit the one of a scan over all
//! segments.

use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::walk;

#[path = "colormap_data.rs"]
mod data;

/// A colour map whose pictures the decoders understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Colormap {
    /// The paper's walk along the edges of the RGB cube, black-red-yellow-green-cyan-blue-magenta-white.
    CubeWalk,
    /// matplotlib's `plasma`.
    Plasma,
    /// matplotlib's `inferno`.
    Inferno,
    /// matplotlib's `viridis`.
    Viridis,
    /// Black to white along the grey diagonal.
    Gray,
}

impl Colormap {
    /// Every colour map, in the order of their names in error messages.
    pub const ALL: [Colormap; 5] = [
        Colormap::CubeWalk,
        Colormap::Plasma,
        Colormap::Inferno,
        Colormap::Viridis,
        Colormap::Gray,
    ];

    /// The colour map called `name`: a canonical name (see [`Colormap::name`]), or "grey",
    /// "grayscale" or "greyscale" for gray; case-insensitive, surrounding spaces ignored.
    ///
    /// ```
    /// use vision_banana_core::colormap::Colormap;
    /// assert_eq!(Colormap::from_name(" Viridis ").unwrap(), Colormap::Viridis);
    /// assert!(Colormap::from_name("jet").is_err());
    /// ```
    pub fn from_name(name: &str) -> Result<Colormap> {
        let key = name.trim().to_ascii_lowercase();
        let found = match key.as_str() {
            "grey" | "grayscale" | "greyscale" => Some(Colormap::Gray),
            key => Colormap::ALL.into_iter().find(|map| map.name() == key),
        };
        found.ok_or_else(|| {
            let names: Vec<String> = Colormap::ALL
                .iter()
                .map(|map| format!("'{}'", map.name()))
                .collect();
            Error::new(
                "colormap",
                format!("colormap must be one of {}, got '{name}'", names.join(", ")),
            )
        })
    }

    /// The canonical name: "cube_walk", "plasma", "inferno", "viridis" or "gray".
    pub fn name(self) -> &'static str {
        match self {
            Colormap::CubeWalk => "cube_walk",
            Colormap::Plasma => "plasma",
            Colormap::Inferno => "inferno",
            Colormap::Viridis => "viridis",
            Colormap::Gray => "gray",
        }
    }

    /// The polyline of this colour map, built on first use (a few milliseconds) and shared by every
    /// caller after.
    pub fn polyline(self) -> &'static Polyline {
        static POLYLINES: [OnceLock<Polyline>; Colormap::ALL.len()] =
            [const { OnceLock::new() }; Colormap::ALL.len()];
        POLYLINES[self as usize].get_or_init(|| Polyline::new(self.vertices()))
    }

    fn vertices(self) -> Vec<[f64; 3]> {
        match self {
            Colormap::CubeWalk => walk::VERTICES.to_vec(),
            Colormap::Plasma => data::PLASMA.to_vec(),
            Colormap::Inferno => data::INFERNO.to_vec(),
            Colormap::Viridis => data::VIRIDIS.to_vec(),
            Colormap::Gray => vec![[0.0; 3], [1.0; 3]],
        }
    }
}

/// A polyline in RGB space whose vertices sit at equally spaced positions f = i / (n - 1).
pub struct Polyline {
    vertices: Vec<[f64; 3]>,
    segments: Vec<Segment>,
    /// Absent for polylines too short to need one, or too long for its 16-bit segment lists.
    grid: Option<Grid>,
}

impl Polyline {
    /// A polyline through `vertices`, with its projection grid.
    ///
    /// # Panics
    /// With fewer than 2 vertices or a non-finite channel: polylines come from internal tables.
    pub fn new(vertices: Vec<[f64; 3]>) -> Polyline {
        assert!(vertices.len() >= 2, "a polyline needs at least 2 vertices");
        assert!(
            vertices.iter().flatten().all(|c| c.is_finite()),
            "polyline vertices must be finite"
        );
        let segments: Vec<Segment> = vertices
            .windows(2)
            .map(|pair| Segment::new(pair[0], pair[1]))
            .collect();
        let grid = (MIN_GRID_SEGMENTS..=usize::from(u16::MAX) + 1)
            .contains(&segments.len())
            .then(|| Grid::build(&segments, rounding_slack(&vertices)));
        Polyline {
            vertices,
            segments,
            grid,
        }
    }

    /// The vertices, the first at f = 0 and the last at f = 1.
    pub fn vertices(&self) -> &[[f64; 3]] {
        &self.vertices
    }

    /// The colour at position `f`, clipped to [0, 1]: `v0 + t (v1 - v0)` between the two vertices
    /// around f, and exactly the last vertex at f = 1. A NaN f gives a NaN colour.
    pub fn point_at(&self, f: f64) -> [f64; 3] {
        let last = self.segments.len();
        let s = f.clamp(0.0, 1.0) * last as f64;
        if s >= last as f64 {
            // v0 + 1 (v1 - v0) can miss v1 by an ulp.
            return self.vertices[last];
        }
        // A NaN s saturates to segment 0 and keeps t NaN, so the colour comes out NaN.
        let k = s.floor() as usize;
        self.segments[k].at(s - k as f64)
    }

    /// The nearest point of the polyline to colour `p` (any finite colour, inside the unit cube or
    /// not): returns its position f in [0, 1] and the squared Euclidean distance from `p`. Exact ties
    /// go to the lower segment. A NaN or infinite channel gives `(NaN, NaN)`.
    pub fn project(&self, p: [f64; 3]) -> (f64, f64) {
        if !p.iter().all(|c| c.is_finite()) {
            return (f64::NAN, f64::NAN);
        }
        match self.grid.as_ref().and_then(|grid| grid.candidates_at(p)) {
            Some(cell) => self.project_over(p, cell.iter().map(|&k| usize::from(k))),
            None => self.project_over(p, 0..self.segments.len()),
        }
    }

    /// Projection onto the segments `indices` (increasing, not empty): the one loop that both the
    /// grid and the scan over all segments use, so they agree to the bit.
    #[inline(always)]
    fn project_over(&self, p: [f64; 3], mut indices: impl Iterator<Item = usize>) -> (f64, f64) {
        let first = indices.next().expect("every grid cell lists a segment");
        let (t, d2) = self.segments[first].locate(p);
        let (mut best_k, mut best_t, mut best_d2) = (first, t, d2);
        for k in indices {
            let (t, d2) = self.segments[k].locate(p);
            // Strict, so that an exact tie keeps the lower segment.
            if d2 < best_d2 {
                (best_k, best_t, best_d2) = (k, t, d2);
            }
        }
        (
            (best_k as f64 + best_t) / self.segments.len() as f64,
            best_d2,
        )
    }
}

/// How far computed squared distances may stray from exact ones, with a wide margin: the grid keeps
/// every segment that could tie with the nearest once rounded, so that it never changes an answer.
fn rounding_slack(vertices: &[[f64; 3]]) -> f64 {
    let scale = vertices
        .iter()
        .flatten()
        .fold(1.0_f64, |acc, c| acc.max(c.abs()));
    1e-9 * (2.0 * scale) * (2.0 * scale)
}

#[derive(Clone, Copy)]
struct Segment {
    start: [f64; 3],
    delta: [f64; 3],
    /// 1 / |delta|^2, or 0 for a segment of length 0 so that its t is always 0.
    inverse_length2: f64,
}

impl Segment {
    fn new(start: [f64; 3], end: [f64; 3]) -> Segment {
        let delta = sub(end, start);
        let length2 = dot(delta, delta);
        Segment {
            start,
            delta,
            inverse_length2: if length2 > 0.0 { 1.0 / length2 } else { 0.0 },
        }
    }

    #[inline(always)]
    fn at(&self, t: f64) -> [f64; 3] {
        let (s, d) = (self.start, self.delta);
        [s[0] + t * d[0], s[1] + t * d[1], s[2] + t * d[2]]
    }

    /// Position t in [0, 1] of the point of the segment nearest to `p`, and its squared distance.
    /// On the cube walk's unit edges this gives the bits of `walk::project`: there the dot product
    /// is a single product and the inverse length is 1.
    #[inline(always)]
    fn locate(&self, p: [f64; 3]) -> (f64, f64) {
        let t = (dot(sub(p, self.start), self.delta) * self.inverse_length2).clamp(0.0, 1.0);
        (t, distance2(p, self.at(t)))
    }
}

#[inline(always)]
fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[inline(always)]
fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[inline(always)]
fn distance2(a: [f64; 3], b: [f64; 3]) -> f64 {
    let gap = sub(a, b);
    dot(gap, gap)
}

/// The grid has 2^GRID_LEVELS cells a side. At 16 a side the colour maps build in about 5 ms and
/// keep 13-18 segments per cell; 32 halves the lists but quadruples the build time.
const GRID_LEVELS: u32 = 4;
// Morton numbers interleave at most 10 bits per axis (`spread`).
const _: () = assert!(GRID_LEVELS <= 10);
/// With fewer segments, trying them all is cheaper than looking up a cell.
const MIN_GRID_SEGMENTS: usize = 4;

/// A uniform grid over the unit cube whose cells list, in increasing order, every segment that can
/// be nearest to a point of the cell. Cells are numbered in Morton order (the bits of x, y and z
/// interleaved), so that the 8 children of a cell of the next coarser grid are numbers 8 p..8 p + 8.
struct Grid {
    level: u32,
    offsets: Vec<u32>,
    candidates: Vec<u16>,
}

impl Grid {
    /// Halves the cells level after level, each cell choosing among its parent's segments only,
    /// so that the work tracks the short final lists rather than all segments in every cell.
    fn build(segments: &[Segment], slack: f64) -> Grid {
        let root = Grid {
            level: 0,
            offsets: vec![0, segments.len() as u32],
            candidates: (0..segments.len()).map(|k| k as u16).collect(),
        };
        (0..GRID_LEVELS).fold(root, |grid, _| grid.refine(segments, slack))
    }

    fn refine(&self, segments: &[Segment], slack: f64) -> Grid {
        let mut finer = Grid {
            level: self.level + 1,
            offsets: vec![0],
            candidates: Vec::new(),
        };
        let mut lattice = Lattice::default();
        for parent in 0..self.offsets.len() - 1 {
            let origin = unspread_xyz(parent).map(|i| i as f64 / (1_u32 << self.level) as f64);
            let width = 0.5 / (1_u32 << self.level) as f64;
            let parent_list = self.candidates(parent);
            lattice.measure(segments, parent_list, origin, width);
            for octant in 0..8 {
                lattice.select(parent_list, octant, slack, &mut finer.candidates);
                finer.offsets.push(finer.candidates.len() as u32);
            }
        }
        finer
    }

    fn candidates(&self, cell: usize) -> &[u16] {
        &self.candidates[self.offsets[cell] as usize..self.offsets[cell + 1] as usize]
    }

    /// The list of the cell holding `p`, or None outside the unit cube.
    #[inline(always)]
    fn candidates_at(&self, p: [f64; 3]) -> Option<&[u16]> {
        if !p.iter().all(|c| (0.0..=1.0).contains(c)) {
            return None;
        }
        let size = 1_u32 << self.level;
        let cell = |c: f64| ((c * size as f64) as u32).min(size - 1);
        let index = (spread(cell(p[0])) << 2) | (spread(cell(p[1])) << 1) | spread(cell(p[2]));
        Some(self.candidates(index as usize))
    }
}

/// Moves bit i of `v` (10 bits at most) to bit 3 i.
#[inline(always)]
fn spread(v: u32) -> u32 {
    let v = (v | (v << 16)) & 0x0300_00FF;
    let v = (v | (v << 8)) & 0x0300_F00F;
    let v = (v | (v << 4)) & 0x030C_30C3;
    (v | (v << 2)) & 0x0924_9249
}

/// The x, y and z cell coordinates of a Morton cell number.
fn unspread_xyz(index: usize) -> [usize; 3] {
    let gather = |shift: usize| {
        (0..10).fold(0, |acc, bit| {
            acc | (((index >> (3 * bit + shift)) & 1) << bit)
        })
    };
    [gather(2), gather(1), gather(0)]
}

/// The 3 x 3 x 3 corners of the 8 children of one cell, with the squared distance from each to each
/// of the parent's segments and the nearest point of the polyline found for each.
///
/// Selection rests on one fact. For a point q of the polyline, `|x - s(t)|^2 - |x - q|^2` is affine
/// in x for every t, so its smallest value over a box, min over t included, is taken at a corner:
/// if every corner c has `d(c, s) > |c - q|`, every point of the box is nearer to q than to segment
/// s, and s cannot be nearest anywhere in the box. The nearest points to the corners serve as q.
#[derive(Default)]
struct Lattice {
    points: [[f64; 3]; 27],
    nearest: [[f64; 3]; 27],
    nearest_d2: [f64; 27],
    /// Segment-major: distances from the 27 points to the parent's j-th segment at 27 j..27 j + 27.
    distance2: Vec<f64>,
}

impl Lattice {
    fn measure(&mut self, segments: &[Segment], list: &[u16], origin: [f64; 3], width: f64) {
        for (i, point) in self.points.iter_mut().enumerate() {
            let step = [i / 9, i / 3 % 3, i % 3];
            *point = [0, 1, 2].map(|c| origin[c] + step[c] as f64 * width);
        }
        self.nearest_d2 = [f64::INFINITY; 27];
        self.distance2.clear();
        for &k in list {
            let segment = &segments[usize::from(k)];
            let located = self.points.map(|p| segment.locate(p));
            for (i, &(t, d2)) in located.iter().enumerate() {
                if d2 < self.nearest_d2[i] {
                    (self.nearest[i], self.nearest_d2[i]) = (segment.at(t), d2);
                }
            }
            self.distance2.extend(located.iter().map(|&(_, d2)| d2));
        }
    }

    /// Appends to `chosen` the segments of `list` that no witness rules out in child `octant`.
    fn select(&self, list: &[u16], octant: usize, slack: f64, chosen: &mut Vec<u16>) {
        let base = 9 * (octant >> 2) + 3 * (octant >> 1 & 1) + (octant & 1);
        let corners = [0, 1, 3, 4, 9, 10, 12, 13].map(|offset| base + offset);
        // bound[w][c]: squared distance from corner c to witness w, plus the rounding margin.
        let mut bound = None;
        for (j, &k) in list.iter().enumerate() {
            let d2 = corners.map(|c| self.distance2[27 * j + c]);
            // Nearest (or about) at a corner: no witness can rule it out, skip the 64 comparisons.
            let keep = (0..8).any(|c| d2[c] <= self.nearest_d2[corners[c]] + slack) || {
                let bound: &[[f64; 8]; 8] = bound.get_or_insert_with(|| {
                    corners.map(|w| {
                        corners.map(|c| distance2(self.points[c], self.nearest[w]) + slack)
                    })
                });
                bound
                    .iter()
                    .all(|witness| (0..8).any(|c| d2[c] <= witness[c]))
            };
            if keep {
                chosen.push(k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same loop over every segment, without the grid.
    fn project_brute_force(line: &Polyline, p: [f64; 3]) -> (f64, f64) {
        line.project_over(p, 0..line.segments.len())
    }

    /// splitmix64: a fixed, dependency-free stream of uniform numbers in [0, 1).
    struct Uniform(u64);

    impl Uniform {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as f64 / 2f64.powi(64)
        }

        fn in_range(&mut self, lo: f64, hi: f64) -> [f64; 3] {
            [(); 3].map(|_| lo + (hi - lo) * self.next())
        }
    }

    /// A colour like a decoded pixel: on the curve, off by a little noise, clipped to the cube.
    fn near_curve(line: &Polyline, uniform: &mut Uniform) -> [f64; 3] {
        let on = line.point_at(uniform.next());
        let noise = uniform.in_range(-0.01, 0.01);
        [0, 1, 2].map(|c| (on[c] + noise[c]).clamp(0.0, 1.0))
    }

    fn assert_same_bits(line: &Polyline, p: [f64; 3], map: Colormap) {
        let (f, d2) = line.project(p);
        let (f_ref, d2_ref) = project_brute_force(line, p);
        assert!(
            f.to_bits() == f_ref.to_bits() && d2.to_bits() == d2_ref.to_bits(),
            "{map:?} at {p:?}: grid ({f}, {d2}), all segments ({f_ref}, {d2_ref})"
        );
    }

    #[test]
    fn grid_agrees_with_all_segments_to_the_bit() {
        let mut uniform = Uniform(7);
        for map in Colormap::ALL {
            let line = map.polyline();
            assert_eq!(line.grid.is_some(), map != Colormap::Gray, "{map:?}");
            for _ in 0..20_000 {
                assert_same_bits(line, uniform.in_range(-0.05, 1.05), map);
            }
            // Decoded pixels sit near the curve, where neighbouring segments nearly tie.
            for _ in 0..20_000 {
                assert_same_bits(line, near_curve(line, &mut uniform), map);
            }
            let levels: Vec<f64> = (0..=255).step_by(5).map(|v| v as f64 / 255.0).collect();
            for &r in &levels {
                for &g in &levels {
                    for &b in &levels {
                        assert_same_bits(line, [r, g, b], map);
                    }
                }
            }
        }
    }

    #[test]
    fn project_inverts_point_at() {
        for map in Colormap::ALL {
            let line = map.polyline();
            for i in 0..=20_000 {
                let f = i as f64 / 20_000.0;
                let (back, d2) = line.project(line.point_at(f));
                assert!(
                    (back - f).abs() < 1e-12,
                    "{map:?}: f = {f} came back as {back}"
                );
                assert!(d2 < 1e-24, "{map:?}: f = {f} is {d2} off the curve");
            }
        }
    }

    #[test]
    fn vertices_sit_at_equal_steps() {
        for map in Colormap::ALL {
            let line = map.polyline();
            let last = line.vertices().len() - 1;
            for (i, v) in line.vertices().iter().enumerate() {
                let f = i as f64 / last as f64;
                let on = line.point_at(f);
                assert!(
                    (0..3).all(|c| (on[c] - v[c]).abs() < 1e-15),
                    "{map:?} vertex {i}"
                );
            }
            assert_eq!(line.point_at(1.0), line.vertices()[last]);
            assert_eq!(line.point_at(-0.5), line.vertices()[0]);
            assert_eq!(line.point_at(1.5), line.vertices()[last]);
        }
    }

    #[test]
    fn cube_walk_is_the_papers_walk() {
        let expected = [
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 1.0, 1.0],
            [0.0, 0.0, 1.0],
            [1.0, 0.0, 1.0],
            [1.0, 1.0, 1.0],
        ];
        let line = Colormap::CubeWalk.polyline();
        assert_eq!(line.vertices(), expected);
        for (k, v) in expected.iter().enumerate() {
            assert_eq!(line.point_at(k as f64 / 7.0), *v);
        }
        // Same arithmetic as the dedicated cube-walk code, so both decoders give the same bits.
        let mut uniform = Uniform(11);
        for _ in 0..20_000 {
            let f = uniform.next();
            assert_eq!(line.point_at(f), walk::walk(f));
            let p = uniform.in_range(-0.05, 1.05);
            let (ours, theirs) = (line.project(p), walk::project(p));
            assert_eq!(
                (ours.0.to_bits(), ours.1.to_bits()),
                (theirs.0.to_bits(), theirs.1.to_bits())
            );
        }
    }

    #[test]
    fn tables_are_matplotlibs() {
        // First and last colours as matplotlib's _cm_listed.py spells them.
        let ends = [
            (
                Colormap::Plasma,
                [0.050383, 0.029803, 0.527975],
                [0.940015, 0.975158, 0.131326],
            ),
            (
                Colormap::Inferno,
                [0.001462, 0.000466, 0.013866],
                [0.988362, 0.998364, 0.644924],
            ),
            (
                Colormap::Viridis,
                [0.267004, 0.004874, 0.329415],
                [0.993248, 0.906157, 0.143936],
            ),
        ];
        for (map, first, last) in ends {
            let vertices = map.polyline().vertices();
            assert_eq!(vertices.len(), 256);
            assert_eq!((vertices[0], vertices[255]), (first, last), "{map:?}");
        }
    }

    #[test]
    fn gray_is_the_diagonal() {
        let line = Colormap::Gray.polyline();
        assert_eq!(line.vertices(), [[0.0; 3], [1.0; 3]]);
        assert_eq!(line.point_at(0.25), [0.25; 3]);
        let (f, d2) = line.project([0.5, 0.5, 0.8]);
        assert!((f - 0.6).abs() < 1e-15 && (d2 - 0.06).abs() < 1e-15);
    }

    #[test]
    fn ties_go_to_the_lower_segment() {
        let walk = Colormap::CubeWalk.polyline();
        assert!(walk.grid.is_some(), "the grid must be the path under test");
        // Red-yellow (edge 1) and magenta-white (edge 6) are both 0.5 away.
        assert_eq!(walk.project([1.0, 0.5, 0.5]), (1.5 / 7.0, 0.25));
        // Every edge of the cube is as far from its centre.
        assert_eq!(walk.project([0.5; 3]), (0.5 / 7.0, 0.5));
        // A symmetric tent: its two halves are equally far from the foot of its apex.
        let tent = Polyline::new(vec![[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]);
        let (f, d2) = tent.project([0.5, 0.0, 0.0]);
        assert_eq!((f, d2), (0.25, 0.125));
        assert_eq!(project_brute_force(&tent, [0.5, 0.0, 0.0]), (f, d2));
    }

    #[test]
    fn points_outside_the_cube_project_too() {
        let line = Colormap::Gray.polyline();
        assert_eq!(line.project([-1.0, -1.0, -1.0]), (0.0, 3.0));
        assert_eq!(line.project([3.0, 3.0, 3.0]), (1.0, 12.0));
    }

    #[test]
    fn nan_and_infinity_give_nan() {
        for map in Colormap::ALL {
            let line = map.polyline();
            assert!(
                line.point_at(f64::NAN).iter().all(|c| c.is_nan()),
                "{map:?}"
            );
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let (f, d2) = line.project([0.5, bad, 0.5]);
                assert!(f.is_nan() && d2.is_nan(), "{map:?} with {bad}");
            }
        }
    }

    #[test]
    fn grid_cells_list_increasing_segments() {
        for map in Colormap::ALL {
            let Some(grid) = map.polyline().grid.as_ref() else {
                continue;
            };
            assert_eq!(grid.offsets.len(), (1 << (3 * GRID_LEVELS)) + 1);
            for cell in 0..grid.offsets.len() - 1 {
                let list = grid.candidates(cell);
                assert!(!list.is_empty(), "{map:?} cell {cell}");
                assert!(list.windows(2).all(|w| w[0] < w[1]), "{map:?} cell {cell}");
            }
        }
    }

    #[test]
    fn morton_numbers_round_trip() {
        for x in 0..16 {
            for y in 0..16 {
                for z in 0..16 {
                    let index = (spread(x) << 2) | (spread(y) << 1) | spread(z);
                    let xyz = [x, y, z].map(|i| i as usize);
                    assert_eq!(unspread_xyz(index as usize), xyz);
                }
            }
        }
        assert_eq!(spread(0b11_1111_1111), 0x0924_9249);
    }

    #[test]
    fn names_round_trip() {
        for map in Colormap::ALL {
            assert_eq!(Colormap::from_name(map.name()), Ok(map));
        }
        for name in ["grey", "GrayScale", " greyscale ", "GRAY"] {
            assert_eq!(Colormap::from_name(name), Ok(Colormap::Gray), "{name}");
        }
        assert_eq!(Colormap::from_name("\tCube_Walk\n"), Ok(Colormap::CubeWalk));
    }

    #[test]
    fn unknown_names_are_rejected() {
        let err = Colormap::from_name("xyz").unwrap_err();
        assert_eq!(err.argument, "colormap");
        assert_eq!(
            err.message,
            "colormap must be one of 'cube_walk', 'plasma', 'inferno', 'viridis', 'gray', got 'xyz'"
        );
        assert!(Colormap::from_name("").is_err());
        assert!(Colormap::from_name("cube walk").is_err());
    }

    #[test]
    #[should_panic(expected = "at least 2 vertices")]
    fn one_vertex_is_no_polyline() {
        Polyline::new(vec![[0.0; 3]]);
    }

    #[test]
    #[should_panic(expected = "finite")]
    fn vertices_must_be_finite() {
        Polyline::new(vec![[0.0; 3], [f64::NAN, 0.0, 0.0]]);
    }

    /// Timings, for `cargo test --release -p vision_banana_core colormap -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn timings() {
        use std::hint::black_box;
        use std::time::{Duration, Instant};
        /// Best of three runs, to see through other load on the machine.
        fn best_of_three<T>(mut run: impl FnMut() -> T) -> Duration {
            (0..3)
                .map(|_| {
                    let start = Instant::now();
                    black_box(run());
                    start.elapsed()
                })
                .min()
                .unwrap()
        }
        let mut uniform = Uniform(3);
        let random: Vec<[f64; 3]> = (0..1_000_000).map(|_| uniform.in_range(0.0, 1.0)).collect();
        for map in Colormap::ALL {
            let built = best_of_three(|| Polyline::new(map.vertices()));
            let line = Polyline::new(map.vertices());
            let near: Vec<[f64; 3]> = (0..1_000_000)
                .map(|_| near_curve(&line, &mut uniform))
                .collect();
            let sweep = |points: &[[f64; 3]], project: fn(&Polyline, [f64; 3]) -> (f64, f64)| {
                best_of_three(|| points.iter().map(|&p| project(&line, p).0).sum::<f64>())
            };
            let per_cell = line.grid.as_ref().map_or(String::from("no grid"), |grid| {
                format!(
                    "{:.1} segments per cell, {} KiB",
                    grid.candidates.len() as f64 / (grid.offsets.len() - 1) as f64,
                    (grid.candidates.len() * 2 + grid.offsets.len() * 4) / 1024
                )
            });
            println!(
                "{:>9}: build {built:.2?} ({per_cell}); 1M points, grid / all segments: \
                 random {:.1?} / {:.1?}, near the curve {:.1?} / {:.1?}",
                map.name(),
                sweep(&random, Polyline::project),
                sweep(&random, project_brute_force),
                sweep(&near, Polyline::project),
                sweep(&near, project_brute_force),
            );
        }
    }
}
