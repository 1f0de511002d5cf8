//! The five stages on a padded copy of the picture: colours in 8-bit units, and a label per pixel
//! (0 = not yet grouped, `BLOCKED` = background or frame, else the component number).

use super::{Extracted, Instance, Params};

/// Frame width: the farthest neighbour offset (the knight moves reach 2 pixels).
const PAD: usize = 2;
const BLOCKED: u32 = u32::MAX;

/// A pixel colour in 8-bit units, with the distance the flood fill compares.
pub trait Colour: Copy + Default + Send + Sync {
    /// Squared distance: exact integers for 8-bit pictures, f32 otherwise.
    type D: Copy + PartialOrd;
    /// The value `t` such that `d2 < t` exactly when the squared distance is below `tau2`.
    fn threshold(tau2: f64) -> Self::D;
    fn d2(self, other: Self) -> Self::D;
    fn rgb(self) -> [f64; 3];
}

impl Colour for [u8; 3] {
    type D = u32;
    fn threshold(tau2: f64) -> u32 {
        // For an integer d2, d2 < tau2 exactly when d2 < ceil(tau2).
        tau2.ceil().min(u32::MAX as f64) as u32
    }
    #[inline(always)]
    fn d2(self, o: Self) -> u32 {
        let d = |i: usize| (self[i] as i32 - o[i] as i32).pow(2) as u32;
        d(0) + d(1) + d(2)
    }
    #[inline(always)]
    fn rgb(self) -> [f64; 3] {
        self.map(f64::from)
    }
}

impl Colour for [f32; 3] {
    type D = f32;
    fn threshold(tau2: f64) -> f32 {
        tau2 as f32
    }
    #[inline(always)]
    fn d2(self, o: Self) -> f32 {
        let d = |i: usize| (self[i] - o[i]) * (self[i] - o[i]);
        d(0) + d(1) + d(2)
    }
    #[inline(always)]
    fn rgb(self) -> [f64; 3] {
        self.map(f64::from)
    }
}

fn distance2(a: [f64; 3], b: [f64; 3]) -> f64 {
    (0..3).map(|i| (a[i] - b[i]) * (a[i] - b[i])).sum()
}

/// Running statistics of a component, or of a group of merged components.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    sum: [f64; 3],
    /// Sum over pixels of the squared norm of the colour.
    sum_sq: f64,
    area: u64,
    /// Pixels that survive the 3x3 erosion.
    kept: u64,
    /// (x0, y0, x1, y1), exclusive ends.
    bbox: [u32; 4],
}

impl Component {
    fn new() -> Self {
        Component {
            sum: [0.0; 3],
            sum_sq: 0.0,
            area: 0,
            kept: 0,
            bbox: [u32::MAX, u32::MAX, 0, 0],
        }
    }

    #[inline(always)]
    fn add(&mut self, rgb: [f64; 3]) {
        for (s, c) in self.sum.iter_mut().zip(rgb) {
            *s += c;
        }
        self.sum_sq += rgb[0] * rgb[0] + rgb[1] * rgb[1] + rgb[2] * rgb[2];
        self.area += 1;
    }

    /// A component of one flat colour, for tests of the merging stage.
    #[cfg(test)]
    pub fn flat(color: [f64; 3], area: u64, bbox: [u32; 4]) -> Self {
        let n = area as f64;
        Component {
            sum: color.map(|v| v * n),
            sum_sq: distance2(color, [0.0; 3]) * n,
            area,
            kept: area / 2,
            bbox,
        }
    }

    /// (x0, y0, x1, y1), exclusive ends.
    pub fn bbox(&self) -> [u32; 4] {
        self.bbox
    }

    pub fn mean(&self) -> [f64; 3] {
        self.sum.map(|s| s / self.area as f64)
    }

    fn union_bbox(&self, other: &Component) -> [u32; 4] {
        let (a, b) = (self.bbox, other.bbox);
        [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ]
    }

    fn bbox_area(bbox: [u32; 4]) -> f64 {
        (bbox[2] - bbox[0]) as f64 * (bbox[3] - bbox[1]) as f64
    }

    /// Stage 5's test: close mean colours and a union box not much bigger than the two boxes.
    pub fn mergeable(&self, other: &Component, tau: f64, bbox_ratio: f64) -> bool {
        distance2(self.mean(), other.mean()) < tau * tau
            && Self::bbox_area(self.union_bbox(other))
                <= bbox_ratio * (Self::bbox_area(self.bbox) + Self::bbox_area(other.bbox))
    }

    pub fn absorb(&mut self, other: &Component) {
        for i in 0..3 {
            self.sum[i] += other.sum[i];
        }
        self.sum_sq += other.sum_sq;
        self.area += other.area;
        self.kept += other.kept;
        self.bbox = self.union_bbox(other);
    }

    fn instance(&self, tau: f64) -> Instance {
        let mean = self.mean();
        let spread2 = self.sum_sq / self.area as f64 - distance2(mean, [0.0; 3]);
        let coherence = (1.0 - spread2.max(0.0).sqrt() / tau).clamp(0.0, 1.0);
        let kept = self.kept as f64 / self.area as f64;
        Instance {
            color: mean,
            area: self.area,
            bbox: self.bbox,
            score: (coherence * kept).sqrt(),
        }
    }
}

/// The picture with a frame of `PAD` blocked pixels around it.
pub struct Padded<P> {
    height: usize,
    width: usize,
    stride: usize,
    colors: Vec<P>,
    labels: Vec<u32>,
}

impl<P: Colour> Padded<P> {
    pub fn new(height: usize, width: usize) -> Self {
        let stride = width + 2 * PAD;
        let len = (height + 2 * PAD) * stride;
        Padded {
            height,
            width,
            stride,
            colors: vec![P::default(); len],
            labels: vec![BLOCKED; len],
        }
    }

    #[inline(always)]
    fn start(&self, y: usize) -> usize {
        (y + PAD) * self.stride + PAD
    }

    /// The colours of row `y`, to fill in.
    pub fn row_mut(&mut self, y: usize) -> &mut [P] {
        let start = self.start(y);
        &mut self.colors[start..start + self.width]
    }

    /// All five stages, then the id map and the instances.
    pub fn extract(mut self, params: &Params) -> Extracted {
        self.mark_background(params);
        // Rows a run reaches (dy, extra columns on each side): 16 = the 8 neighbours plus the
        // knight moves, which reach 2 columns on the next row and 1 column two rows away.
        let mut components = match params.connectivity {
            4 => self.flood(&[(-1, 0), (1, 0)], params.tau),
            8 => self.flood(&[(-1, 1), (1, 1)], params.tau),
            _ => self.flood(&[(-2, 1), (-1, 2), (1, 2), (2, 1)], params.tau),
        };
        self.erode(&mut components);
        let min_area = params.min_area_fraction * (self.height * self.width) as f64;
        let survivors: Vec<usize> = (0..components.len())
            .filter(|&i| {
                let c = &components[i];
                c.area as f64 >= min_area && c.kept as f64 >= params.erosion_keep * c.area as f64
            })
            .collect();
        let kept: Vec<Component> = survivors.iter().map(|&i| components[i].clone()).collect();
        let (owner, groups) = super::merge::merge(&kept, params.tau, params.merge_bbox_ratio);
        // Indexed by label + 1 (wrapping), so that BLOCKED reads entry 0, the background.
        let mut remap = vec![0u32; components.len() + 2];
        for (m, &i) in survivors.iter().enumerate() {
            remap[i + 2] = owner[m] as u32 + 1;
        }
        let mut ids = vec![0u32; self.height * self.width];
        for (y, out) in ids.chunks_exact_mut(self.width.max(1)).enumerate() {
            let start = self.start(y);
            for (o, &l) in out.iter_mut().zip(&self.labels[start..start + self.width]) {
                *o = remap[l.wrapping_add(1) as usize];
            }
        }
        Extracted {
            height: self.height,
            width: self.width,
            ids,
            instances: groups.iter().map(|g| g.instance(params.tau)).collect(),
        }
    }

    /// Stage 1: the background and the frame are blocked, every other pixel is free.
    fn mark_background(&mut self, params: &Params) {
        let tau2 = params.tau * params.tau;
        for y in 0..self.height {
            let start = self.start(y);
            let range = start..start + self.width;
            for (l, c) in self.labels[range.clone()]
                .iter_mut()
                .zip(&self.colors[range])
            {
                *l = if distance2(c.rgb(), params.background) < tau2 {
                    BLOCKED
                } else {
                    0
                };
            }
        }
    }

    /// Stage 2: one seeded flood fill per free pixel in raster order, run by run: a run of
    /// joining pixels is labelled whole, then the rows it reaches are scanned for more.
    fn flood(&mut self, reach: &[(isize, usize)], tau: f64) -> Vec<Component> {
        let threshold = P::threshold(tau * tau);
        let stride = self.stride;
        let mut components = Vec::new();
        // (first pixel, last pixel, row) of runs whose neighbour rows are still to scan.
        let mut stack: Vec<(usize, usize, u32)> = Vec::new();
        let (colors, labels) = (&self.colors, &mut self.labels);
        for y in 0..self.height {
            let start = (y + PAD) * stride + PAD;
            for p in start..start + self.width {
                if labels[p] != 0 {
                    continue;
                }
                let label = components.len() as u32 + 1;
                let seed = colors[p];
                let joins =
                    |labels: &[u32], q: usize| labels[q] == 0 && colors[q].d2(seed) < threshold;
                let mut c = Component::new();
                let run = |labels: &mut [u32], q: usize, y: u32, c: &mut Component| {
                    let (mut a, mut b) = (q, q);
                    while joins(labels, a - 1) {
                        a -= 1;
                    }
                    while joins(labels, b + 1) {
                        b += 1;
                    }
                    for (l, color) in labels[a..=b].iter_mut().zip(&colors[a..=b]) {
                        *l = label;
                        c.add(color.rgb());
                    }
                    let row = (y as usize + PAD) * stride + PAD;
                    let (x0, x1) = ((a - row) as u32, (b - row) as u32 + 1);
                    c.bbox = [
                        c.bbox[0].min(x0),
                        c.bbox[1].min(y),
                        c.bbox[2].max(x1),
                        c.bbox[3].max(y + 1),
                    ];
                    (a, b, y)
                };
                stack.push(run(labels, p, y as u32, &mut c));
                while let Some((a, b, y)) = stack.pop() {
                    for &(dy, slack) in reach {
                        // The frame is 2 pixels wide and blocked: every index stays inside, and
                        // no run leaves the picture.
                        let shift = dy * stride as isize;
                        let mut q = (a - slack).wrapping_add_signed(shift);
                        let end = (b + slack).wrapping_add_signed(shift);
                        let ny = (y as isize + dy) as u32;
                        // Two rows away only knight moves reach: a one-pixel run does not reach
                        // the pixel straight below or above it.
                        let skip = (dy.abs() == 2 && a == b).then(|| a.wrapping_add_signed(shift));
                        while q <= end {
                            if skip != Some(q) && joins(labels, q) {
                                let found = run(labels, q, ny, &mut c);
                                q = found.1 + 2;
                                stack.push(found);
                            } else {
                                q += 1;
                            }
                        }
                    }
                }
                components.push(c);
            }
        }
        components
    }

    /// Stage 4's measurement: the pixels whose 3x3 neighbourhood lies in their own component (outside the picture counts as outside every component).
    fn erode(&self, components: &mut [Component]) {
        let (s, labels) = (self.stride, &self.labels);
        for y in 0..self.height {
            let start = self.start(y);
            for x in 0..self.width {
                let p = start + x;
                let l = labels[p];
                if l == BLOCKED {
                    continue;
                }
                let c = &mut components[l as usize - 1];
                let same = |q: usize| (labels[q] == l) as u8;
                let inner = same(p - s - 1)
                    & same(p - s)
                    & same(p - s + 1)
                    & same(p - 1)
                    & same(p + 1)
                    & same(p + s - 1)
                    & same(p + s)
                    & same(p + s + 1);
                c.kept += inner as u64;
            }
        }
    }
}
