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
