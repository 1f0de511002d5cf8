//! Stage 5: merging components of one colour that belong together (an instance split by an
//! occluder, or by colour drift past tau from its seed).
//!
//! The rule is sequential and kept exactly: passes until one merges nothing; in a pass, each live
//! group i in seed order tests each later live group j in order against its own current (already
//! grown) statistics, and absorbs j when they are mergeable. Testing every later group made a pass
//! quadratic (a megapixel of 4x4 blocks took about a minute). Here an index proposes, for group i,
//! a superset of the later groups that can pass the test; they are visited in the same order with
//! the same test, so owners, groups and statistics are identical to the full scan.
//!
//! Why the proposals are a superset. Colour: mergeable groups have mean colours within tau, hence
//! within tau on each channel; colour cells of side `2 * reach` let a query visit at most two
//! cells per channel. Geometry: say the union box of S and j is W x H and r is the ratio. The test
//! asks W * H <= r (A_S + A_j) <= 2 r max(A_S, A_j). If A_j <= A_S, then W * H <= 2 r w_S h_S, and
//! H >= h_S gives W <= 2 r w_S; otherwise W <= 2 r w_j the same way. So W <= 2 r max(w_S, w_j),
//! and j's box lies in S's x-range widened by that much on each side (for a j no bigger than S:
//! S's box grown by (2r - 1) times its width on each side). The index files groups by size class
//! (max side at most 2^level), where w_j is bounded, in spatial cells about as wide as the reach.
//!
//! Growth: while i absorbs, its box and mean change. A query is made for an envelope (a box and a
//! colour centre); while the grown group stays inside it (box inside, mean within `drift` of the
//! centre) its candidates are still a subset of the envelope's, and only an escape re-queries,
//! with an envelope twice as large, so a group that swallows a whole picture re-queries a
//! logarithmic number of times. Proposals already queued are not queued again.
//!
//! A pass sees the statistics of a later group j as they were when the pass began: j only changes
//! during its own turn, after every earlier group's. So the index is built once per pass.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use super::fill::Component;

/// Merges `components` (in seed order) to a fixed point: in each pass, every group absorbs each
/// later group it is mergeable with, its statistics updated after each absorption. Returns, per
/// component, the index of its group, and the groups in order of their first component.
pub fn merge(components: &[Component], tau: f64, bbox_ratio: f64) -> (Vec<usize>, Vec<Component>) {
    let n = components.len();
    let mut groups: Vec<Option<Component>> = components.iter().cloned().map(Some).collect();
    // The group that absorbed each component, always an earlier one; itself while alive.
    let mut parent: Vec<usize> = (0..n).collect();
    let grid = Grid::new(tau, bbox_ratio, components);
    let mut queue = Queue::new(n);
    loop {
        let index = Index::build(&grid, &groups);
        let mut merged = false;
        for i in 0..n {
            let Some(mut gi) = groups[i].take() else {
                continue;
            };
            queue.start(i);
            let mut envelope = Envelope::of(&gi);
            index.visit(&envelope, |j| queue.offer(j, &groups));
            while let Some(j) = queue.pop() {
                let gj = groups[j].as_ref().expect("only live groups are queued");
                if gi.mergeable(gj, tau, bbox_ratio) {
                    gi.absorb(gj);
                    groups[j] = None;
                    parent[j] = i;
                    merged = true;
                    if !envelope.holds(&gi, &grid) {
                        envelope = envelope.widened(&gi, &grid);
                        index.visit(&envelope, |k| queue.offer(k, &groups));
                    }
                }
            }
            groups[i] = Some(gi);
        }
        if !merged {
            break;
        }
    }
    let mut rank = vec![usize::MAX; n];
    let mut alive = Vec::new();
    for (i, g) in groups.into_iter().enumerate() {
        if let Some(g) = g {
            rank[i] = alive.len();
            alive.push(g);
        }
    }
    // Parents come first, so each component's root is known when it is reached.
    let mut root = parent;
    for c in 0..n {
        root[c] = root[root[c]];
    }
    (root.iter().map(|&o| rank[o]).collect(), alive)
}

/// Size classes: level l holds groups whose longer box side is at most 2^l.
const LEVELS: usize = 34;
/// Cell coordinates stay far inside i64, whatever the parameters.
const FAR: f64 = (1u64 << 40) as f64;

/// The fixed geometry of the index for one call.
pub(super) struct Grid {
    ratio: f64,
    /// Side of a colour cell, twice `reach`: a query touches at most two cells per channel.
    colour_side: f64,
    /// Half-width of a colour query: tau with room for rounding, plus `drift`.
    colour_reach: f64,
    /// How far a group's mean may move from its envelope's centre, per channel.
    drift: f64,
    /// (width, height) covering every box.
    extent: [i64; 2],
}

impl Grid {
    pub(super) fn new(tau: f64, ratio: f64, components: &[Component]) -> Self {
        let drift = tau / 4.0;
        // A mergeable pair differs by less than tau on each channel; 1.01 tau also covers the
        // rounding of the squared distance that the test compares.
        let colour_reach = 1.01 * tau + drift;
        let extent = components.iter().fold([0, 0], |e, c| {
            let b = c.bbox();
            [e[0].max(b[2] as i64), e[1].max(b[3] as i64)]
        });
        Grid {
            ratio,
            colour_side: 2.0 * colour_reach,
            colour_reach,
            drift,
            extent,
        }
    }

    pub(super) fn level(bbox: [u32; 4]) -> usize {
        let side = (bbox[2] - bbox[0]).max(bbox[3] - bbox[1]).max(1) as u64;
        side.next_power_of_two().trailing_zeros() as usize
    }

    /// How far beyond a box of side `side` the box of a level-`level` partner can start: the
    /// bound 2 r max(w_S, w_j) on the union's side, with room for rounding.
    pub(super) fn reach(&self, side: i64, level: usize) -> i64 {
        let longer = (side as f64).max((1u64 << level) as f64);
        (2.0 * self.ratio * longer * 1.001).min(FAR).ceil() as i64 + 1
    }

    /// Spatial cell side at `level`: a query from a box no longer than 2^level spans at most
    /// two cells per axis.
    fn spatial_side(&self, level: usize) -> i64 {
        let size = (1u64 << level) as f64;
        ((4.0 * self.ratio + 1.0) * size * 1.001).min(FAR).ceil() as i64 + 8
    }

    /// The colour cell of one channel value; clamped so that the cell numbers stay finite
    /// (clamping keeps the order, so queries still find every partner).
    fn colour_cell(&self, value: f64) -> i64 {
        (value.clamp(-FAR, FAR) / self.colour_side).floor() as i64
    }

    fn key(&self, g: &Component) -> Key {
        let b = g.bbox();
        let level = Self::level(b);
        let side = self.spatial_side(level);
        let [r, gr, bl] = g.mean().map(|v| self.colour_cell(v));
        Key {
            level: level as u8,
            x: b[0] as i64 / side,
            y: b[1] as i64 / side,
            colour: [r, gr, bl],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    level: u8,
    x: i64,
    y: i64,
    colour: [i64; 3],
}

/// The live groups of one pass, by size class, position of the box's first corner and mean
/// colour.
struct Index<'a> {
    grid: &'a Grid,
    cells: HashMap<Key, Vec<usize>, BuildHasherDefault<CellHasher>>,
    levels: Vec<Vec<usize>>,
}

impl<'a> Index<'a> {
    fn build(grid: &'a Grid, groups: &[Option<Component>]) -> Self {
        let mut cells: HashMap<Key, Vec<usize>, _> = HashMap::default();
        let mut levels = vec![Vec::new(); LEVELS];
        for (j, g) in groups.iter().enumerate() {
            if let Some(g) = g {
                let key = grid.key(g);
                cells.entry(key).or_default().push(j);
                levels[key.level as usize].push(j);
            }
        }
        Index {
            grid,
            cells,
            levels,
        }
    }

    /// Calls `found` with every group that can be mergeable with a group inside `envelope`
    /// (and with others).
    fn visit(&self, envelope: &Envelope, mut found: impl FnMut(usize)) {
        let grid = self.grid;
        let b = envelope.bbox;
        let colour: Vec<(i64, i64)> = envelope
            .centre
            .iter()
            .map(|&c| {
                (
                    grid.colour_cell(c - grid.colour_reach),
                    grid.colour_cell(c + grid.colour_reach),
                )
            })
            .collect();
        let count = |(lo, hi): (i64, i64)| hi.saturating_sub(lo).saturating_add(1).max(0) as u64;
        let colour_cells = colour.iter().map(|&r| count(r)).product::<u64>();
        for (level, members) in self.levels.iter().enumerate() {
            if members.is_empty() {
                continue;
            }
            let side = grid.spatial_side(level);
            let span = |axis: usize| {
                let reach = grid.reach(b[axis + 2] - b[axis], level);
                let lo = (b[axis] - reach).max(0);
                let hi = (b[axis + 2] + reach).min(grid.extent[axis]);
                (lo / side, hi / side)
            };
            let (xs, ys) = (span(0), span(1));
            let cells = count(xs)
                .saturating_mul(count(ys))
                .saturating_mul(colour_cells);
            // Never more work than the full scan of this level.
            if cells >= members.len() as u64 {
                members.iter().for_each(|&j| found(j));
                continue;
            }
            for x in xs.0..=xs.1 {
                for y in ys.0..=ys.1 {
                    for r in colour[0].0..=colour[0].1 {
                        for g in colour[1].0..=colour[1].1 {
                            for bl in colour[2].0..=colour[2].1 {
                                let key = Key {
                                    level: level as u8,
                                    x,
                                    y,
                                    colour: [r, g, bl],
                                };
                                if let Some(cell) = self.cells.get(&key) {
                                    cell.iter().for_each(|&j| found(j));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What a query covered: a box (pixels) and a colour centre (8-bit units).
struct Envelope {
    bbox: [i64; 4],
    centre: [f64; 3],
}

impl Envelope {
    fn of(g: &Component) -> Self {
        Envelope {
            bbox: g.bbox().map(i64::from),
            centre: g.mean(),
        }
    }

    /// Whether `g`'s partners are all among this envelope's proposals.
    fn holds(&self, g: &Component, grid: &Grid) -> bool {
        let (a, b) = (g.bbox().map(i64::from), self.bbox);
        let inside = a[0] >= b[0] && a[1] >= b[1] && a[2] <= b[2] && a[3] <= b[3];
        let near = g
            .mean()
            .iter()
            .zip(&self.centre)
            .all(|(m, c)| (m - c).abs() <= grid.drift);
        inside && near
    }

    /// An envelope holding `g`: if its box escaped, this box joined with g's box grown by half
    /// its size on each side (so envelopes at least double along an escaping axis).
    fn widened(&self, g: &Component, grid: &Grid) -> Self {
        let a = g.bbox().map(i64::from);
        let b = self.bbox;
        let (dx, dy) = ((a[2] - a[0] + 1) / 2, (a[3] - a[1] + 1) / 2);
        let bbox = if a[0] >= b[0] && a[1] >= b[1] && a[2] <= b[2] && a[3] <= b[3] {
            b
        } else {
            [
                b[0].min(a[0] - dx).max(0),
                b[1].min(a[1] - dy).max(0),
                b[2].max(a[2] + dx).min(grid.extent[0]),
                b[3].max(a[3] + dy).min(grid.extent[1]),
            ]
        };
        Envelope {
            bbox,
            centre: g.mean(),
        }
    }
}

/// The candidates of one group's turn, smallest index first, each at most once.
struct Queue {
    heap: BinaryHeap<Reverse<usize>>,
    /// The turn in which each group was last queued.
    queued: Vec<usize>,
    turn: usize,
    /// The last group handed out: only later ones may still be tested in this turn.
    position: usize,
}

impl Queue {
    fn new(n: usize) -> Self {
        Queue {
            heap: BinaryHeap::new(),
            queued: vec![0; n],
            turn: 0,
            position: 0,
        }
    }

    fn start(&mut self, i: usize) {
        self.heap.clear();
        self.turn += 1;
        self.position = i;
    }

    fn offer(&mut self, j: usize, groups: &[Option<Component>]) {
        if j > self.position && self.queued[j] != self.turn && groups[j].is_some() {
            self.queued[j] = self.turn;
            self.heap.push(Reverse(j));
        }
    }

    fn pop(&mut self) -> Option<usize> {
        let Reverse(j) = self.heap.pop()?;
        self.position = j;
        Some(j)
    }
}

/// A multiply-rotate hash for the small integer keys of the index (the default SipHash costs
/// more than the lookups it serves).
#[derive(Default)]
struct CellHasher(u64);

impl Hasher for CellHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, v: u8) {
        self.write_u64(v as u64);
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64);
    }
}
