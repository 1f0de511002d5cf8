//! The cube walk (SPEC.md section 1): seven unit edges of the RGB cube from black to white,
//! black-red-yellow-green-cyan-blue-magenta-white, each carrying 1/7 of the normalised scalar.

/// The eight vertices in walk order, channels in [0, 1].
pub const VERTICES: [[f64; 3]; 8] = [
    [0.0, 0.0, 0.0], // black
    [1.0, 0.0, 0.0], // red
    [1.0, 1.0, 0.0], // yellow
    [0.0, 1.0, 0.0], // green
    [0.0, 1.0, 1.0], // cyan
    [0.0, 0.0, 1.0], // blue
    [1.0, 0.0, 1.0], // magenta
    [1.0, 1.0, 1.0], // white
];

pub const EDGES: usize = 7;

/// The channel that varies along each edge (every edge is axis-aligned)...
pub const EDGE_CHANNEL: [usize; EDGES] = [0, 1, 0, 2, 1, 0, 1];
/// ...and whether it runs from 0 up to 1 along the edge (false: from 1 down to 0).
pub const EDGE_RISES: [bool; EDGES] = [true, true, false, true, false, true, true];

/// Colour at scalar f (clipped to [0, 1]); NaN gives NaN. Each channel is a sum of clamped ramps,
/// branch-free so that loops over it vectorise, and bit-identical to `v0 + t (v1 - v0)`.
#[inline(always)]
pub fn walk(f: f64) -> [f64; 3] {
    let s = f.clamp(0.0, 1.0) * EDGES as f64;
    let ramp = |start: f64| (s - start).clamp(0.0, 1.0);
    [
        ramp(0.0) - ramp(2.0) + ramp(5.0),
        ramp(1.0) - ramp(4.0) + ramp(6.0),
        ramp(3.0),
    ]
}

/// Nearest point of the walk to any colour `p` (channels nominally in [0, 1]): returns the scalar
/// position f in [0, 1] and the squared Euclidean distance. Ties go to the lower edge. The
/// arithmetic follows the `hilbertmap` reference operation by operation, so that both pick the same
/// edge even where two edges are within rounding of each other.
#[inline]
pub fn project(p: [f64; 3]) -> (f64, f64) {
    let (mut best_k, mut best_t, mut best_d2) = (0, 0.0, 0.0);
    for k in 0..EDGES {
        let (start, end) = (VERTICES[k], VERTICES[k + 1]);
        let a = EDGE_CHANNEL[k];
        let step = end[a] - start[a];
        let t = ((p[a] - start[a]) * step).clamp(0.0, 1.0);
        let mut d2 = 0.0;
        for ch in 0..3 {
            let diff = p[ch] - (start[ch] + t * (end[ch] - start[ch]));
            d2 += diff * diff;
        }
        // Edge 0 is always taken first, so a NaN colour stays there (as numpy's argmin does).
        if k == 0 || d2 < best_d2 {
            best_k = k;
            best_t = t;
            best_d2 = d2;
        }
    }
    ((best_k as f64 + best_t) / EDGES as f64, best_d2)
}

/// Nearest edge for an integer colour with channels in 0..=max, in exact integer arithmetic.
/// Returns `(d2 << 3) | k`: squared distance (in channel units) and edge index packed so that the
/// plain minimum over the seven edges also breaks ties towards the lower index.
///
/// The varying channel of every edge lies inside the edge, so an edge's distance is the distance
/// of the two other channels to the edge's fixed corner: x^2 where the corner is 0, (max - x)^2
/// where it is 1.
#[inline(always)]
pub fn nearest_edge_key(r: u64, g: u64, b: u64, max: u64) -> u64 {
    let (lo_r, hi_r) = (r * r, (max - r) * (max - r));
    let (lo_g, hi_g) = (g * g, (max - g) * (max - g));
    let (lo_b, hi_b) = (b * b, (max - b) * (max - b));
    let keys = [
        (lo_g + lo_b) << 3,
        ((hi_r + lo_b) << 3) | 1,
        ((hi_g + lo_b) << 3) | 2,
        ((lo_r + hi_g) << 3) | 3,
        ((lo_r + hi_b) << 3) | 4,
        ((lo_g + hi_b) << 3) | 5,
        ((hi_r + hi_b) << 3) | 6,
    ];
    keys.into_iter().fold(u64::MAX, u64::min)
}

/// Nearest edge for an 8-bit colour, as the table index and squared distance packed in 32 bits:
/// `(d2 << 11) | (k << 8) | value`, where `value` is the colour's channel that varies along edge k.
/// The plain minimum over the seven edges picks the nearest, ties to the lower k; the low 11 bits
/// then index a (k, value) table directly. Squared distances stay below 2^17, so this fits.
#[inline(always)]
pub fn nearest_edge_key_u8(r: u32, g: u32, b: u32) -> u32 {
    let (lo_r, hi_r) = (r * r, (255 - r) * (255 - r));
    let (lo_g, hi_g) = (g * g, (255 - g) * (255 - g));
    let (lo_b, hi_b) = (b * b, (255 - b) * (255 - b));
    let k0 = ((lo_g + lo_b) << 11) | r;
    let k1 = ((hi_r + lo_b) << 11) | (1 << 8) | g;
    let k2 = ((hi_g + lo_b) << 11) | (2 << 8) | r;
    let k3 = ((lo_r + hi_g) << 11) | (3 << 8) | b;
    let k4 = ((lo_r + hi_b) << 11) | (4 << 8) | g;
    let k5 = ((lo_g + hi_b) << 11) | (5 << 8) | r;
    let k6 = ((hi_r + hi_b) << 11) | (6 << 8) | g;
    k0.min(k1).min(k2).min(k3).min(k4).min(k5).min(k6)
}

/// Position t in [0, 1] along edge k of an integer channel value on the edge, computed as
/// `project` computes it for value / max.
#[inline(always)]
pub fn edge_position(k: usize, value: u32, max: u32) -> f64 {
    let x = value as f64 / max as f64;
    let start = VERTICES[k][EDGE_CHANNEL[k]];
    let step = VERTICES[k + 1][EDGE_CHANNEL[k]] - start;
    ((x - start) * step).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straight from the definition: the vertex pair and v0 + t (v1 - v0).
    fn walk_by_vertices(f: f64) -> [f64; 3] {
        let s = f.clamp(0.0, 1.0) * 7.0;
        let k = (s.floor() as usize).min(6);
        let t = s - k as f64;
        let (v0, v1) = (VERTICES[k], VERTICES[k + 1]);
        [0, 1, 2].map(|c| v0[c] + t * (v1[c] - v0[c]))
    }

    #[test]
    fn walk_is_bit_identical_to_vertex_interpolation() {
        for i in 0..=70_000 {
            let f = i as f64 / 70_000.0;
            assert_eq!(walk(f), walk_by_vertices(f), "f = {f}");
        }
        assert_eq!(walk(-1.0), [0.0; 3]);
        assert_eq!(walk(2.0), [1.0; 3]);
    }

    #[test]
    fn vertices_sit_at_multiples_of_one_seventh() {
        for (k, v) in VERTICES.iter().enumerate() {
            assert_eq!(walk(k as f64 / 7.0), *v);
            let (f, d2) = project(*v);
            assert!((f - k as f64 / 7.0).abs() < 1e-15);
            assert_eq!(d2, 0.0);
        }
    }

    #[test]
    fn project_inverts_walk() {
        for i in 0..=7_000 {
            let f = i as f64 / 7_000.0;
            let (back, d2) = project(walk(f));
            assert!((back - f).abs() < 1e-15, "f = {f}, back = {back}");
            assert_eq!(d2, 0.0);
        }
    }

    #[test]
    fn ties_go_to_the_lower_edge() {
        // (0.5, 0.5, 0): equally far from black-red (edge 0), red-yellow (1), yellow-green (2).
        let (f, d2) = project([0.5, 0.5, 0.0]);
        assert!((f - 0.5 / 7.0).abs() < 1e-15);
        assert!((d2 - 0.25).abs() < 1e-15);
        // (64, 200, 64) is as far from yellow-green (2) as from green-cyan (3).
        assert_eq!(nearest_edge_key_u8(64, 200, 64) >> 8 & 7, 2);
        assert_eq!(nearest_edge_key(64, 200, 64, 255) & 7, 2);
    }

    #[test]
    fn integer_keys_match_float_projection_away_from_ties() {
        let mut checked = 0;
        for r in (0..256).step_by(5) {
            for g in (0..256).step_by(3) {
                for b in (0..256).step_by(7) {
                    let key = nearest_edge_key_u8(r, g, b);
                    let wide = nearest_edge_key(r as u64, g as u64, b as u64, 255);
                    assert_eq!((key >> 11) as u64, wide >> 3);
                    assert_eq!((key >> 8 & 7) as u64, wide & 7);
                    let k = (key >> 8 & 7) as usize;
                    assert_eq!(key & 0xff, [r, g, b][EDGE_CHANNEL[k]]);
                    let d2 = (key >> 11) as f64 / (255.0 * 255.0);
                    let p = [r, g, b].map(|x| x as f64 / 255.0);
                    let (f, fd2) = project(p);
                    assert!((d2 - fd2).abs() < 1e-12);
                    let value = [r, g, b][EDGE_CHANNEL[k]];
                    let fi = (k as f64 + edge_position(k, value, 255)) / 7.0;
                    // Where two edges tie, both positions are equally right; else they agree.
                    let second = (0..7)
                        .filter(|&j| j != k)
                        .map(|j| edge_key_d2(j, r, g, b))
                        .min()
                        .unwrap();
                    if second != key >> 11 {
                        assert!((fi - f).abs() < 1e-15, "{r} {g} {b}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 100_000);
    }

    fn edge_key_d2(k: usize, r: u32, g: u32, b: u32) -> u32 {
        let p = [r, g, b];
        (0..3)
            .filter(|&c| c != EDGE_CHANNEL[k])
            .map(|c| {
                let corner = VERTICES[k][c] as u32 * 255;
                p[c].abs_diff(corner).pow(2)
            })
            .sum()
    }
}
