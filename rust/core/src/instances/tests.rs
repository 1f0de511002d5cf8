use ndarray::{Array2, Array3};

use super::*;

/// A black picture with axis-aligned rectangles (y0, x0, y1, x1, colour).
fn picture(h: usize, w: usize, rects: &[(usize, usize, usize, usize, [u8; 3])]) -> Array3<u8> {
    let mut a = Array3::<u8>::zeros((h, w, 3));
    for &(y0, x0, y1, x1, c) in rects {
        for y in y0..y1 {
            for x in x0..x1 {
                for ch in 0..3 {
                    a[[y, x, ch]] = c[ch];
                }
            }
        }
    }
    a
}

fn run(a: &Array3<u8>, params: Params) -> Extracted {
    extract(&Picture::U8(a.view()), &params).unwrap()
}

#[test]
fn separate_rectangles_in_raster_order() {
    let a = picture(
        40,
        50,
        &[(20, 2, 30, 12, [200, 0, 0]), (2, 30, 12, 45, [0, 200, 0])],
    );
    let out = run(&a, Params::default());
    assert_eq!(out.instances.len(), 2);
    // The green one starts on an earlier row, so it is instance 1.
    assert_eq!(out.instances[0].color, [0.0, 200.0, 0.0]);
    assert_eq!(out.instances[0].bbox, [30, 2, 45, 12]);
    assert_eq!(out.instances[1].area, 100);
    assert_eq!(out.ids[25 * 50 + 5], 2);
    assert_eq!(out.ids[0], 0);
    // Flat colour: coherence 1; an 8x8 interior of a 10x10 square survives erosion.
    assert!((out.instances[1].score - (64.0f64 / 100.0).sqrt()).abs() < 1e-12);
}

#[test]
fn occluded_halves_merge_and_specks_halos_go() {
    let a = picture(
        60,
        60,
        &[
            (10, 5, 30, 25, [0, 0, 200]),
            (10, 28, 30, 50, [2, 0, 198]),
            (50, 50, 51, 51, [250, 250, 0]),
            (40, 5, 41, 45, [90, 90, 90]),
        ],
    );
    let params = Params {
        min_area_fraction: 2.0 / 3600.0,
        ..Params::default()
    };
    let out = run(&a, params);
    assert_eq!(out.instances.len(), 1, "{:?}", out.instances);
    assert_eq!(out.instances[0].area, 400 + 440);
    assert_eq!(out.instances[0].bbox, [5, 10, 50, 30]);
    assert_eq!(out.ids[50 * 60 + 50], 0);
    assert_eq!(out.ids[40 * 60 + 10], 0);
}

#[test]
fn the_seed_colour_decides_not_the_neighbour() {
    // A ramp of 5 units per column: neighbours are always close, but the fill stops 14 away from
    // its seed, so the ramp splits into runs of 3 columns (0, 5, 10 from the seed).
    let mut a = Array3::<u8>::zeros((10, 12, 3));
    for y in 0..10 {
        for x in 0..12 {
            a[[y, x, 0]] = 100 + 5 * x as u8;
        }
    }
    let params = Params {
        min_area_fraction: 0.0,
        erosion_keep: 0.0,
        merge_bbox_ratio: 0.0,
        ..Params::default()
    };
    let out = run(&a, params);
    assert_eq!(out.instances.len(), 4);
    for y in 0..10 {
        let row: Vec<u32> = out.ids[y * 12..(y + 1) * 12].to_vec();
        assert_eq!(row, vec![1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
    }
}

#[test]
fn connectivity_decides_what_touches() {
    // Two pixels a knight's move apart, and two diagonal ones.
    let a = picture(
        8,
        8,
        &[
            (1, 1, 2, 2, [200, 0, 0]),
            (2, 3, 3, 4, [200, 0, 0]),
            (5, 5, 6, 6, [0, 200, 0]),
            (6, 6, 7, 7, [0, 200, 0]),
        ],
    );
    let mut params = Params {
        min_area_fraction: 0.0,
        erosion_keep: 0.0,
        merge_bbox_ratio: 0.0,
        ..Params::default()
    };
    let counts: Vec<usize> = [4, 8, 16]
        .iter()
        .map(|&c| {
            params.connectivity = c;
            run(&a, params).instances.len()
        })
        .collect();
    assert_eq!(counts, vec![4, 3, 2]);
}

#[test]
fn other_dtypes_give_the_same_instances() {
    let a = picture(
        30,
        30,
        &[(3, 3, 20, 20, [180, 40, 7]), (22, 2, 29, 28, [9, 9, 220])],
    );
    let base = run(&a, Params::default());
    let wide = a.mapv(|v| v as u16 * 257);
    let unit = a.mapv(|v| v as f32 / 255.0);
    let ours = extract(&Picture::U16(wide.view()), &Params::default()).unwrap();
    assert_eq!(ours.ids, base.ids);
    let ours = extract(&Picture::F32(unit.view()), &Params::default()).unwrap();
    assert_eq!(ours.ids, base.ids);
    let batch = extract_batch(
        &[Picture::U8(a.view()), Picture::U16(wide.view())],
        &Params::default(),
    )
    .unwrap();
    assert_eq!(batch[1].ids, base.ids);
}

#[test]
fn bad_parameters_are_refused() {
    let a = picture(4, 4, &[]);
    for (params, argument) in [
        (
            Params {
                tau: 0.0,
                ..Params::default()
            },
            "tau",
        ),
        (
            Params {
                connectivity: 5,
                ..Params::default()
            },
            "connectivity",
        ),
        (
            Params {
                erosion_keep: 1.5,
                ..Params::default()
            },
            "erosion_keep",
        ),
    ] {
        let error = extract(&Picture::U8(a.view()), &params).unwrap_err();
        assert_eq!(error.argument, argument);
    }
}

#[test]
fn coco_counts_run_down_the_columns() {
    let mut ids = Array2::<u32>::zeros((3, 2));
    ids[[1, 0]] = 1;
    ids[[2, 0]] = 1;
    ids[[0, 1]] = 1;
    ids[[2, 1]] = 2;
    let counts = coco_counts(ids.view(), 3);
    assert_eq!(counts[0], vec![1, 3, 2]);
    assert_eq!(counts[1], vec![5, 1]);
    assert_eq!(counts[2], vec![6]);
    assert_eq!(coco_string(&[5, 3, 2]), "532");
    assert_eq!(coco_string(&[100]), "T3");
}

mod merging {
    use super::super::fill::Component;
    use super::super::merge::{merge, Grid};

    /// The rule as first written, testing every later group: the oracle for the indexed merge.
    /// Returns the owners, the groups and the number of passes.
    fn merge_by_full_scan(
        components: &[Component],
        tau: f64,
        bbox_ratio: f64,
    ) -> (Vec<usize>, Vec<Component>, usize) {
        let n = components.len();
        let mut groups: Vec<Option<Component>> = components.iter().cloned().map(Some).collect();
        let mut owner: Vec<usize> = (0..n).collect();
        let mut passes = 0;
        loop {
            passes += 1;
            let mut merged = false;
            for i in 0..n {
                for j in i + 1..n {
                    let (Some(gi), Some(gj)) = (&groups[i], &groups[j]) else {
                        continue;
                    };
                    if gi.mergeable(gj, tau, bbox_ratio) {
                        let gj = groups[j].take().unwrap();
                        groups[i].as_mut().unwrap().absorb(&gj);
                        owner.iter_mut().filter(|o| **o == j).for_each(|o| *o = i);
                        merged = true;
                    }
                }
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
        (owner.iter().map(|&o| rank[o]).collect(), alive, passes)
    }

    /// xorshift64*: reproducible draws without a dependency.
    struct Draws(u64);

    impl Draws {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Components in a `size` x `size` picture: boxes of assorted sizes (a few spanning it),
    /// colours from a palette of `colours` centres jittered by up to `jitter`.
    fn components(
        draws: &mut Draws,
        n: usize,
        size: u32,
        colours: usize,
        jitter: f64,
    ) -> Vec<Component> {
        let palette: Vec<[f64; 3]> = (0..colours)
            .map(|_| [0, 1, 2].map(|_| 20.0 + 200.0 * draws.unit()))
            .collect();
        (0..n)
            .map(|_| {
                let longest = match draws.below(8) {
                    0 => size,
                    1..=3 => size / 6,
                    _ => (size / 24).max(2),
                };
                let w = 1 + draws.below(longest as u64) as u32;
                let h = 1 + draws.below(longest as u64) as u32;
                let x = draws.below((size - w + 1) as u64) as u32;
                let y = draws.below((size - h + 1) as u64) as u32;
                let centre = palette[draws.below(colours as u64) as usize];
                let color = centre.map(|c| c + jitter * (2.0 * draws.unit() - 1.0));
                let area = 1 + draws.below((w * h) as u64);
                Component::flat(color, area, [x, y, x + w, y + h])
            })
            .collect()
    }

    fn assert_same(components: &[Component], tau: f64, ratio: f64) -> usize {
        let (owner, groups, passes) = merge_by_full_scan(components, tau, ratio);
        let (ours_owner, ours_groups) = merge(components, tau, ratio);
        assert_eq!(
            ours_owner, owner,
            "tau {tau}, ratio {ratio}: {components:?}"
        );
        assert_eq!(
            ours_groups, groups,
            "tau {tau}, ratio {ratio}: {components:?}"
        );
        passes
    }

    #[test]
    fn indexed_merge_equals_the_full_scan() {
        let mut draws = Draws(0x9e37_79b9_7f4a_7c15);
        let mut most_passes = 0;
        let mut merges = 0;
        // Small sets, where queries often fall back to scanning a size class whole, then large
        // ones, where they go through the cells.
        for case in 0..1550 {
            let (n, size) = if case < 1500 {
                (1 + draws.below(60) as usize, 8 + draws.below(120) as u32)
            } else {
                (
                    150 + draws.below(150) as usize,
                    64 + draws.below(300) as u32,
                )
            };
            // One colour, a few, or many; jitter around tau makes chains whose means drift.
            let colours = [1, 2, 5, 40][case % 4];
            let jitter = [0.0, 5.0, 12.0, 30.0][draws.below(4) as usize];
            let tau = [3.0, 14.0, 40.0][draws.below(3) as usize];
            let ratio = [0.0, 0.6, 1.0, 2.0, 5.0, 20.0, f64::INFINITY][draws.below(7) as usize];
            let cs = components(&mut draws, n, size, colours, jitter);
            let passes = assert_same(&cs, tau, ratio);
            most_passes = most_passes.max(passes);
            merges += n - merge(&cs, tau, ratio).1.len();
        }
        // The corpus exercises merging, including results that need several passes.
        assert!(most_passes >= 3, "at most {most_passes} passes");
        assert!(merges > 10_000, "{merges} merges");
    }

    #[test]
    fn partners_start_within_the_reach_of_a_box() {
        // Every box pair that passes the box test: the second box starts within `reach` of the
        // first, in both axes. Full boxes make the far partners as far as the test allows.
        for ratio in [0.5, 1.0, 2.5, 5.0] {
            let grid = Grid::new(14.0, ratio, &[]);
            for (w, h) in [(1, 1), (4, 4), (3, 17), (20, 6)] {
                let s =
                    Component::flat([9.0; 3], w * h, [300, 300, 300 + w as u32, 300 + h as u32]);
                for (jw, jh) in [(1, 1), (2, 5), (4, 4), (9, 2), (30, 30), (60, 3)] {
                    for x in (0..600 - jw).step_by(3) {
                        for y in (0..600 - jh).step_by(3) {
                            let b = [x as u32, y as u32, (x + jw) as u32, (y + jh) as u32];
                            let j = Component::flat([9.0; 3], (jw * jh) as u64, b);
                            if !s.mergeable(&j, 14.0, ratio) {
                                continue;
                            }
                            let level = Grid::level(b);
                            let (rx, ry) =
                                (grid.reach(w as i64, level), grid.reach(h as i64, level));
                            assert!(
                                300 - rx <= x && x <= 300 + w as i64 + rx,
                                "{ratio} {s:?} {j:?}"
                            );
                            assert!(
                                300 - ry <= y && y <= 300 + h as i64 + ry,
                                "{ratio} {s:?} {j:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_grid_of_one_colour_merges_whole_as_the_full_scan_does() {
        // 3x3 blocks every 5 pixels: each absorption grows the first group, which ends up
        // holding every block.
        let blocks: Vec<Component> = (0..40u32)
            .flat_map(|by| (0..40u32).map(move |bx| (bx, by)))
            .map(|(bx, by)| {
                let (x, y) = (5 * bx, 5 * by);
                Component::flat([200.0, 10.0, 10.0], 9, [x, y, x + 3, y + 3])
            })
            .collect();
        assert_same(&blocks, 14.0, 5.0);
        let (owner, groups) = merge(&blocks, 14.0, 5.0);
        assert_eq!(groups.len(), 1);
        assert!(owner.iter().all(|&o| o == 0));
        assert_eq!(groups[0].bbox(), [0, 0, 198, 198]);
        // With a ratio under one half no two separate boxes can merge.
        assert_same(&blocks, 14.0, 0.45);
        assert_eq!(merge(&blocks, 14.0, 0.45).1.len(), blocks.len());
    }

    #[test]
    fn a_group_grown_late_in_a_pass_merges_in_the_next() {
        // 0 and 1 differ by 15 > tau; 0 and 2 are close in colour but their union box (300) is
        // over ratio 1 times their boxes (200). Pass 1: 1 absorbs 2, mean 105.9 and box 200;
        // pass 2: 0 absorbs that group (union 300 <= 100 + 200); pass 3 finds nothing.
        let red = |v: f64| [v, 0.0, 0.0];
        let cs = [
            Component::flat(red(100.0), 100, [0, 0, 10, 10]),
            Component::flat(red(115.0), 10, [10, 0, 20, 10]),
            Component::flat(red(105.0), 100, [20, 0, 30, 10]),
        ];
        assert_eq!(assert_same(&cs, 14.0, 1.0), 3);
        let (owner, groups) = merge(&cs, 14.0, 1.0);
        assert_eq!(owner, vec![0, 0, 0]);
        assert_eq!(groups[0].bbox(), [0, 0, 30, 10]);
    }
}
