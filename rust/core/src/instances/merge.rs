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
//! within tau on each channel. Geometry: say the union box of S and j is W x H and r is the ratio.
//! The test asks W * H <= r (A_S + A_j) <= 2 r max(A_S, A_j). If A_j <= A_S, then
//! W * H <= 2 r w_S h_S, and H >= h_S gives W <= 2 r w_S; otherwise W <= 2 r w_j the same way. So
//! W <= 2 r max(w_S, w_j), and j's box lies in S's x-range widened by that much on each side (for
//! a j no bigger than S: S's box grown by (2r - 1) times its width on each side); likewise in y.
//! The index files groups by size class (longer box side at most 2^level, which bounds w_j), in
//! grid cells about as wide as that reach, sorted by mean red within a cell: a query reads the red
//! range it needs in at most 2 x 2 cells and checks green, blue and the box corner as it goes.
//!
//! Growth: while i absorbs, its box and mean change. A query is made for an envelope (a box and a
//! colour centre); while the grown group stays inside it (box inside, mean within `drift` of the
//! centre) its partners are still among the envelope's proposals, and only an escape re-queries,
//! with an envelope at least 1.5 times as large along the escaping axis, so a group that swallows
//! a whole picture re-queries a logarithmic number of times. Proposals already queued are not
//! queued again.
//!
//! A pass sees the statistics of a later group j as they were when the pass began: j only changes
//! during its own turn, after every earlier group's. So the index is built once per pass.
//!
//! Later passes: a group i that absorbed nothing in the last pass tested every later live group
//! then with the statistics it has now; those that absorbed nothing either failed the same test.
//! So until i absorbs again, its candidates come from an index of the groups that changed, which
//! keeps passes after the first about as cheap as the merges they find.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

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
    // Groups that absorbed during the last pass (all of them before the first).
    let mut changed = vec![true; n];
    loop {
        let all = Index::build(&grid, &groups, |_| true);
        let recent = Index::build(&grid, &groups, |j| changed[j]);
        let mut changing = vec![false; n];
        for i in 0..n {
            let Some(mut gi) = groups[i].take() else {
                continue;
            };
            queue.start(i);
            let mut envelope = Envelope::of(&gi);
            // Unchanged since it last tested every later group, and those unchanged too gave
            // the same answer then: until it grows, it need only look at groups that changed.
            let mut index = if changed[i] { &all } else { &recent };
            index.visit(&envelope, |j| queue.offer(j, &groups));
            while let Some(j) = queue.pop() {
                let gj = groups[j].as_ref().expect("only live groups are queued");
                if gi.mergeable(gj, tau, bbox_ratio) {
                    gi.absorb(gj);
                    groups[j] = None;
                    parent[j] = i;
                    let first = !changing[i];
                    changing[i] = true;
                    let held = envelope.holds(&gi, &grid);
                    if !held {
                        envelope = envelope.widened(&gi, &grid);
                    }
                    if !held || (first && !changed[i]) {
                        index = &all;
                        index.visit(&envelope, |k| queue.offer(k, &groups));
                    }
                }
            }
            groups[i] = Some(gi);
        }
        if !changing.contains(&true) {
            break;
        }
        changed = changing;
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
/// Distances stay far inside i64, whatever the parameters.
const FAR: f64 = (1u64 << 40) as f64;

/// The fixed geometry of the index for one call.
pub(super) struct Grid {
    ratio: f64,
    /// Half-width of a colour query, per channel: tau with room for rounding, plus `drift`.
    colour_reach: f64,
    /// How far a group's mean may move from its envelope's centre, per channel.
    drift: f64,
    /// (width, height) covering every box.
    extent: [i64; 2],
}

impl Grid {
    pub(super) fn new(tau: f64, ratio: f64, components: &[Component]) -> Self {
        let drift = tau / 4.0;
        let extent = components.iter().fold([0, 0], |e, c| {
            let b = c.bbox();
            [e[0].max(b[2] as i64), e[1].max(b[3] as i64)]
        });
        Grid {
            ratio,
            // A mergeable pair differs by less than tau on each channel; 1.01 tau also covers
            // the rounding of the squared distance that the test compares.
            colour_reach: 1.01 * tau + drift,
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

    /// Cell side at `level` for `count` groups: a query from a box no longer than 2^level spans
    /// at most two cells per axis, and there are not many more cells than groups.
    fn cell_side(&self, level: usize, count: usize) -> i64 {
        let size = (1u64 << level) as f64;
        let spread = ((4.0 * self.ratio + 1.0) * size * 1.001).min(FAR).ceil() as i64 + 8;
        let area = self.extent[0] as f64 * self.extent[1] as f64;
        let sparse = (area / count as f64).sqrt().min(FAR).ceil() as i64;
        spread.max(sparse)
    }
}

/// A group as the index holds it: what the query filters on.
#[derive(Debug, Clone, Copy)]
struct Entry {
    group: usize,
    corner: [i64; 2],
    mean: [f64; 3],
}

impl Entry {
    /// The sort key within a cell; NaN (never mergeable) last, so the order is total.
    fn red(&self) -> f64 {
        if self.mean[0].is_nan() {
            f64::INFINITY
        } else {
            self.mean[0]
        }
    }
}

/// One size class: its groups in a grid of square cells over the picture, by the first corner of
/// their box, stored cell after cell and by mean red within a cell.
struct Level {
    level: usize,
    side: i64,
    columns: i64,
    rows: i64,
    /// Cell c holds `entries[starts[c]..starts[c + 1]]`.
    starts: Vec<usize>,
    entries: Vec<Entry>,
}

impl Level {
    fn new(grid: &Grid, level: usize, mut entries: Vec<Entry>) -> Self {
        let side = grid.cell_side(level, entries.len());
        let (columns, rows) = (grid.extent[0] / side + 1, grid.extent[1] / side + 1);
        let cell = |e: &Entry| (e.corner[1] / side * columns + e.corner[0] / side) as usize;
        entries.sort_unstable_by(|a, b| cell(a).cmp(&cell(b)).then(a.red().total_cmp(&b.red())));
        let mut starts = vec![0; (columns * rows) as usize + 1];
        for e in &entries {
            starts[cell(e) + 1] += 1;
        }
        for c in 1..starts.len() {
            starts[c] += starts[c - 1];
        }
        Level {
            level,
            side,
            columns,
            rows,
            starts,
            entries,
        }
    }

    /// Calls `found` with each group that passes the bounds of the module's comment for a group
    /// inside `envelope`.
    fn visit(&self, grid: &Grid, envelope: &Envelope, found: &mut impl FnMut(usize)) {
        let b = envelope.bbox;
        let span = |axis: usize| {
            let reach = grid.reach(b[axis + 2] - b[axis], self.level);
            let lo = (b[axis] - reach).max(0);
            let hi = (b[axis + 2] + reach).min(grid.extent[axis]);
            (lo, hi)
        };
        let (xs, ys) = (span(0), span(1));
        let [red, green, blue] = envelope.centre;
        let reach = grid.colour_reach;
        let near = |e: &Entry| {
            (e.mean[1] - green).abs() <= reach
                && (e.mean[2] - blue).abs() <= reach
                && (xs.0..=xs.1).contains(&e.corner[0])
                && (ys.0..=ys.1).contains(&e.corner[1])
        };
        for row in ys.0 / self.side..=(ys.1 / self.side).min(self.rows - 1) {
            for column in xs.0 / self.side..=(xs.1 / self.side).min(self.columns - 1) {
                let c = (row * self.columns + column) as usize;
                let cell = &self.entries[self.starts[c]..self.starts[c + 1]];
                let first = cell.partition_point(|e| e.red() < red - reach);
                cell[first..]
                    .iter()
                    .take_while(|e| e.red() <= red + reach)
                    .filter(|e| near(e))
                    .for_each(|e| found(e.group));
            }
        }
    }
}

/// The live groups of one pass, by size class.
struct Index<'a> {
    grid: &'a Grid,
    levels: Vec<Level>,
}

impl<'a> Index<'a> {
    /// The live groups that `keep` accepts.
    fn build(grid: &'a Grid, groups: &[Option<Component>], keep: impl Fn(usize) -> bool) -> Self {
        let mut by_level = vec![Vec::new(); LEVELS];
        for (j, g) in groups.iter().enumerate() {
            if let Some(g) = g.as_ref().filter(|_| keep(j)) {
                let b = g.bbox();
                by_level[Grid::level(b)].push(Entry {
                    group: j,
                    corner: [b[0] as i64, b[1] as i64],
                    mean: g.mean(),
                });
            }
        }
        let levels = by_level
            .into_iter()
            .enumerate()
            .filter(|(_, entries)| !entries.is_empty())
            .map(|(level, entries)| Level::new(grid, level, entries))
            .collect();
        Index { grid, levels }
    }

    /// Calls `found` with every group that can be mergeable with a group inside `envelope`
    /// (and with others).
    fn visit(&self, envelope: &Envelope, mut found: impl FnMut(usize)) {
        for level in &self.levels {
            level.visit(self.grid, envelope, &mut found);
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
        let near = g
            .mean()
            .iter()
            .zip(&self.centre)
            .all(|(m, c)| (m - c).abs() <= grid.drift);
        self.contains(g) && near
    }

    fn contains(&self, g: &Component) -> bool {
        let (a, b) = (g.bbox().map(i64::from), self.bbox);
        a[0] >= b[0] && a[1] >= b[1] && a[2] <= b[2] && a[3] <= b[3]
    }

    /// An envelope holding `g`: if its box escaped, this box joined with g's box grown by half
    /// its size on each side (so envelopes grow at least 1.5 times along an escaping axis).
    fn widened(&self, g: &Component, grid: &Grid) -> Self {
        let a = g.bbox().map(i64::from);
        let b = self.bbox;
        let (dx, dy) = ((a[2] - a[0] + 1) / 2, (a[3] - a[1] + 1) / 2);
        let bbox = if self.contains(g) {
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
