//! The crate as a Rust user sees it: the codecs and metrics through the public paths only, and
//! arrays that do not fit together refused with an `Error`, never a panic or a truncation.

use ndarray::{Array3, Array4};
use vision_banana_core::colormap::Colormap;
use vision_banana_core::depth::{self, Scalar};
use vision_banana_core::metrics;
use vision_banana_core::normals::{self, NormalDecoding};
use vision_banana_core::semantic::{self, NearestColour, Palette};
use vision_banana_core::{Defects, Error, PowerTransform};

fn scalar() -> Scalar {
    Scalar::Depth {
        transform: PowerTransform::new(-3.0, 10.0 / 3.0).unwrap(),
        max_depth: 1000.0,
    }
}

fn message(result: Result<impl std::fmt::Debug, Error>) -> String {
    result.unwrap_err().message
}

#[test]
fn depth_round_trip_through_the_public_api() {
    let depth = Array3::from_shape_vec((1, 1, 3), vec![0.5f64, 2.0, 10.0]).unwrap();
    let mut picture = vec![0u8; 9];
    let defects: Defects = depth::encode(
        depth.view(),
        scalar(),
        Colormap::CubeWalk,
        None,
        &mut picture,
    )
    .unwrap();
    assert!(defects.is_empty());
    let rgb = Array4::from_shape_vec((1, 1, 3, 3), picture).unwrap();
    let mut back = vec![0f32; 3];
    depth::decode(rgb.view(), scalar(), Colormap::CubeWalk, &mut back, None).unwrap();
    for (got, want) in back.iter().zip([0.5, 2.0, 10.0]) {
        assert!((*got as f64 - want).abs() / want < 0.01, "{got} vs {want}");
    }
}

#[test]
fn outputs_of_the_wrong_length_are_errors() {
    let rgb = Array4::<u8>::zeros((1, 2, 2, 3));
    let mut short = vec![0f32; 3];
    assert_eq!(
        message(depth::decode(
            rgb.view(),
            scalar(),
            Colormap::CubeWalk,
            &mut short,
            None
        )),
        "out must hold 4 elements, got 3"
    );
    let mut out = vec![0f32; 4];
    let mut distance = vec![0f32; 5];
    assert_eq!(
        message(depth::decode(
            rgb.view(),
            scalar(),
            Colormap::Plasma,
            &mut out,
            Some(&mut distance)
        )),
        "distance must hold 4 elements, got 5"
    );
    let two_channels = Array4::<u8>::zeros((1, 2, 2, 2));
    assert_eq!(
        message(depth::decode(
            two_channels.view(),
            scalar(),
            Colormap::CubeWalk,
            &mut out,
            None
        )),
        "rgb must have 3 or 4 channels, got 2"
    );
    let depth = Array3::<f64>::ones((1, 2, 2));
    let mut picture = vec![0u8; 11];
    assert_eq!(
        message(depth::encode(
            depth.view(),
            scalar(),
            Colormap::CubeWalk,
            None,
            &mut picture
        )),
        "out must hold 12 elements, got 11"
    );

    let options = NormalDecoding::new(true, false, [1.0, 0.0, 1.0], 0.1, (0.7, 1.3)).unwrap();
    let (mut vectors, mut valid) = (vec![[0f32; 3]; 4], vec![false; 3]);
    assert_eq!(
        message(normals::decode(
            rgb.view(),
            &options,
            &mut vectors,
            &mut valid
        )),
        "valid must hold 4 elements, got 3"
    );
    let not_vectors = Array4::<f64>::zeros((1, 2, 2, 2));
    let mut colours = vec![[0u8; 3]; 4];
    assert_eq!(
        message(normals::encode(not_vectors.view(), None, &mut colours)),
        "normals must have 3 components, got 2"
    );

    let palette = Palette::new(vec![[255.0, 0.0, 0.0]], vec![0]).unwrap();
    let rule = NearestColour {
        palette: &palette,
        max_distance2: f64::INFINITY,
        ignore: 255,
    };
    let mut labels = vec![0u8; 5];
    assert_eq!(
        message(semantic::decode(rgb.view(), &rule, &mut labels, None)),
        "out must hold 4 elements, got 5"
    );
}

#[test]
fn metric_inputs_of_different_shapes_are_errors() {
    let (pred, gt) = (
        Array3::<f32>::ones((1, 2, 3)),
        Array3::<f32>::ones((1, 2, 2)),
    );
    assert_eq!(
        message(metrics::depth::sums(
            pred.view(),
            gt.view(),
            None,
            1e-3,
            10.0
        )),
        "pred must have the shape of gt, [1, 2, 2], got [1, 2, 3]"
    );
    let valid = Array3::from_elem((1, 3, 2), true);
    assert_eq!(
        message(metrics::depth::sums(
            gt.view(),
            gt.view(),
            Some(valid.view()),
            1e-3,
            10.0
        )),
        "valid must have the shape of the pixels of gt, [1, 2, 2], got [1, 3, 2]"
    );
    let (a, b) = (
        Array3::<u8>::zeros((2, 2, 2)),
        Array3::<u8>::zeros((1, 2, 2)),
    );
    assert!(metrics::labels::intersection_union(a.view(), b.view(), None).is_err());
    assert!(metrics::labels::confusion(a.view(), b.view(), None, 3, 255).is_err());
    let (p4, g4) = (
        Array4::<f64>::ones((1, 2, 2, 3)),
        Array4::<f64>::ones((1, 2, 3, 3)),
    );
    let mut histogram = vec![0i64; metrics::normals::HISTOGRAM_BINS];
    assert!(metrics::normals::errors(p4.view(), g4.view(), None, &mut histogram).is_err());
    let g2 = Array4::<f64>::ones((1, 2, 2, 2));
    assert_eq!(
        message(metrics::normals::errors(
            g2.view(),
            g2.view(),
            None,
            &mut histogram
        )),
        "gt must have 3 components, got 2"
    );
}
