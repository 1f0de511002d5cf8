"""The metric-depth codec (SPEC.md section 1) against an independent numpy implementation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import vision_banana as vb
from conftest import (
    VERTICES,
    reference_edge_distances,
    reference_forward,
    reference_inverse,
    reference_project_int,
    reference_walk,
)
from vision_banana import InvalidArgumentError, InvalidTypeError

SPEC_VERTEX_DEPTHS = [0.0, 0.801, 1.832, 3.229, 5.275, 8.708, 16.458]


# --- power transform ----------------------------------------------------------------------------


def test_power_transform_matches_the_closed_form():
    d = np.array([0.0, 0.3, 1.0, 2.5, 10.0, 80.0, 1e4])
    np.testing.assert_allclose(vb.power_transform(d), 1 - (1 + d / 10) ** -2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        vb.power_transform(d, lam=-2.5, c=7.0), reference_forward(d, -2.5, 7.0), rtol=1e-14
    )
    assert float(vb.power_transform(10.0)) == pytest.approx(0.75, abs=1e-15)


def test_inverse_power_transform_round_trips_and_gives_infinity_at_one():
    d = np.geomspace(1e-3, 1e4, 1000)
    for lam, c in [(-3.0, 10 / 3), (-1.5, 0.2), (-8.0, 120.0)]:
        back = vb.inverse_power_transform(vb.power_transform(d, lam, c), lam, c)
        np.testing.assert_allclose(back, d, rtol=1e-9)
    assert vb.inverse_power_transform(1.0) == np.inf


def test_power_transform_keeps_float32_and_shape():
    d = np.ones((2, 3, 4), dtype=np.float32)
    assert vb.power_transform(d).dtype == np.float32
    assert vb.power_transform(d).shape == (2, 3, 4)
    assert vb.power_transform(d.astype(np.int32)).dtype == np.float64
    assert vb.power_transform(d[:, ::2, ::-1]).shape == (2, 2, 4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lam": -1.0}, r"lam must be a finite number below -1, got -1"),
        ({"lam": 0.5}, r"lam must be a finite number below -1, got 0.5"),
        ({"lam": float("nan")}, r"lam must be finite"),
        ({"c": 0.0}, r"c must be a finite number above 0, got 0"),
        ({"c": -2.0}, r"c must be a finite number above 0, got -2"),
    ],
)
def test_power_transform_rejects_bad_parameters(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        vb.power_transform(np.ones(3), **kwargs)
    with pytest.raises(InvalidArgumentError, match=message):
        vb.decode_depth(np.zeros((2, 2, 3), np.uint8), **kwargs)
    with pytest.raises(InvalidArgumentError, match=message):
        vb.encode_depth(np.ones((2, 2)), **kwargs)


def test_power_transform_rejects_non_numbers():
    with pytest.raises(InvalidTypeError, match="lam must be a number, got str"):
        vb.power_transform(1.0, lam="-3")
    with pytest.raises(InvalidTypeError, match="d must be real numbers, got dtype <U1"):
        vb.power_transform(np.array(["a"]))


# --- vertices and the 8-bit code ------------------------------------------------------------------


def test_vertices_decode_to_the_spec_depths():
    colours = (VERTICES * 255).astype(np.uint8)[None]
    depth = vb.decode_depth(colours)
    np.testing.assert_allclose(depth[0, :7], SPEC_VERTEX_DEPTHS, atol=5e-4)
    assert depth[0, 7] == 1000.0
    assert vb.decode_depth(colours, max_depth=None)[0, 7] == np.inf
    clamped = vb.decode_depth(colours, max_depth=50)[0, 6:]
    assert clamped.tolist() == [np.float32(reference_inverse(6 / 7)), 50.0]


def test_vertex_depths_encode_to_the_vertex_colours():
    depth = vb.inverse_power_transform(np.arange(7) / 7).astype(np.float64)[None]
    np.testing.assert_array_equal(vb.encode_depth(depth)[0], (VERTICES[:7] * 255).astype(np.uint8))


def test_encode_rounds_to_nearest_like_the_reference(rng):
    depth = rng.uniform(0, 60, size=(256, 300))
    expected = np.floor(reference_walk(reference_forward(depth)) * 255 + 0.5)
    got = vb.encode_depth(depth)
    assert got.dtype == np.uint8
    # Identical except where the reference sits within rounding of a half level.
    differ = np.abs(got.astype(int) - expected).max(axis=-1)
    assert differ.max() <= 1
    assert np.count_nonzero(differ) <= 2
    got16 = vb.encode_depth(depth, dtype=np.uint16)
    expected16 = np.floor(reference_walk(reference_forward(depth)) * 65535 + 0.5)
    assert np.abs(got16.astype(int) - expected16).max() <= 1
    f32 = vb.encode_depth(depth, dtype=np.float32)
    np.testing.assert_allclose(f32, reference_walk(reference_forward(depth)), atol=1e-6)


def test_uint8_round_trip_error_is_at_most_0_2_percent_from_1_to_20_m():
    depth = np.geomspace(1.0, 20.0, 200_000).reshape(400, 500)
    back = vb.decode_depth(vb.encode_depth(depth))
    assert np.max(np.abs(back - depth) / depth) <= 2e-3


def test_uint16_round_trip_error_is_at_most_1e_4_from_0_1_to_100_m():
    depth = np.geomspace(0.1, 100.0, 200_000).reshape(400, 500)
    back = vb.decode_depth(vb.encode_depth(depth, dtype=np.uint16))
    assert np.max(np.abs(back - depth) / depth) <= 1e-4


def test_float_round_trip_is_exact():
    depth = np.geomspace(1e-3, 500.0, 10_000).reshape(100, 100)
    picture = vb.encode_depth(depth, dtype=np.float64)
    f = vb.project(picture)
    np.testing.assert_allclose(f, reference_forward(depth), rtol=0, atol=1e-15)
    np.testing.assert_allclose(vb.decode_depth(picture), depth, rtol=2e-6)  # float32 output


def test_every_8_bit_colour_decodes_like_the_exact_reference():
    # All 2^24 colours: integer nearest edge (ties to the lower edge) and the table lookup.
    levels = np.arange(256, dtype=np.uint8)
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(
        4096, 4096, 3
    )
    depth, distance = vb.decode_depth(cube, return_distance=True, max_depth=None)
    for block in range(0, 4096, 512):
        colours = cube[block : block + 512]
        expected = reference_inverse(reference_project_int(colours)).astype(np.float32)
        np.testing.assert_array_equal(depth[block : block + 512], expected)
        d2 = reference_edge_distances(colours).min(axis=-1)
        np.testing.assert_allclose(distance[block : block + 512], np.sqrt(d2) / 255, rtol=1e-6)


def test_ties_go_to_the_lower_edge():
    # (0.5, 0.5, 0) is as far from black-red (0) as from red-yellow (1) and yellow-green (2).
    assert vb.project(np.array([0.5, 0.5, 0.0])) == pytest.approx(0.5 / 7, abs=1e-15)
    d = reference_edge_distances(np.array([64, 200, 64]))
    assert d[2] == d[3]  # yellow-green and green-cyan tie
    depth = vb.decode_depth(np.array([[[64, 200, 64]]], dtype=np.uint8))
    assert depth[0, 0] == np.float32(reference_inverse((2 + 1 - 64 / 255) / 7))
    f = vb.project(np.array([64, 200, 64]) / 255.0)
    assert f == pytest.approx((2 + 1 - 64 / 255) / 7, abs=1e-15)
    f16 = vb.project(np.array([64 * 257, 200 * 257, 64 * 257], dtype=np.uint16))
    assert f16 == pytest.approx((2 + 1 - 64 / 255) / 7, abs=1e-15)


def test_distance_is_zero_on_the_curve_and_euclidean_off_it():
    on_curve = vb.encode_depth(np.linspace(0, 30, 64).reshape(8, 8))
    _, distance = vb.decode_depth(on_curve, return_distance=True)
    assert np.all(distance == 0)
    grey = np.full((1, 1, 3), 128, np.uint8)
    _, distance = vb.decode_depth(grey, return_distance=True)
    # Mid grey is nearest to magenta-white, whose fixed channels (red, blue) are both 255.
    assert distance[0, 0] == pytest.approx(np.hypot(127, 127) / 255, rel=1e-6)
    assert reference_edge_distances(grey[0, 0]).argmin() == 6


# --- shapes, dtypes, strides --------------------------------------------------------------------


@pytest.fixture
def depth_stack(rng):
    return rng.uniform(0.1, 40, size=(3, 37, 53))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_batches_match_single_pictures_for_every_dtype(depth_stack, dtype):
    pictures = vb.encode_depth(depth_stack, dtype=dtype)
    assert pictures.shape == (3, 37, 53, 3)
    assert pictures.dtype == dtype
    batch = vb.decode_depth(pictures)
    assert batch.shape == (3, 37, 53)
    assert batch.dtype == np.float32
    for i in range(3):
        np.testing.assert_array_equal(batch[i], vb.decode_depth(pictures[i]))
        np.testing.assert_array_equal(pictures[i], vb.encode_depth(depth_stack[i], dtype=dtype))


def test_non_contiguous_rgba_fortran_and_byte_swapped_inputs(depth_stack):
    picture = vb.encode_depth(depth_stack[0], dtype=np.uint16)
    expected = vb.decode_depth(picture)
    rgba = np.concatenate([picture, np.full((*picture.shape[:2], 1), 7, np.uint16)], axis=-1)
    np.testing.assert_array_equal(vb.decode_depth(rgba), expected)
    np.testing.assert_array_equal(vb.decode_depth(np.asfortranarray(picture)), expected)
    np.testing.assert_array_equal(vb.decode_depth(picture[::2, ::-3]), expected[::2, ::-3])
    swapped = picture.astype(picture.dtype.newbyteorder(">"))
    np.testing.assert_array_equal(vb.decode_depth(swapped), expected)
    bgr_view = picture[..., ::-1][..., ::-1]
    np.testing.assert_array_equal(vb.decode_depth(bgr_view), expected)
    strided_depth = depth_stack[:, ::2, ::3]
    np.testing.assert_array_equal(
        vb.encode_depth(strided_depth), vb.encode_depth(np.ascontiguousarray(strided_depth))
    )


def test_large_pictures_use_the_parallel_path_with_the_same_result(rng):
    depth = rng.uniform(0, 30, size=(2, 300, 700))  # above the parallel threshold
    pictures = vb.encode_depth(depth)
    whole = vb.decode_depth(pictures)
    rows = np.stack([vb.decode_depth(pictures[:, y : y + 1]) for y in range(0, 300, 50)], axis=1)
    np.testing.assert_array_equal(whole[:, ::50], rows[:, :, 0])


def test_inputs_are_never_modified(depth_stack):
    depth = depth_stack.copy()
    picture = vb.encode_depth(depth)
    keep = picture.copy()
    vb.decode_depth(picture, return_distance=True)
    vb.project(picture)
    np.testing.assert_array_equal(depth, depth_stack)
    np.testing.assert_array_equal(picture, keep)


def test_empty_pictures():
    assert vb.decode_depth(np.zeros((0, 5, 3), np.uint8)).shape == (0, 5)
    assert vb.encode_depth(np.zeros((4, 0))).shape == (4, 0, 3)


def test_pil_images_are_accepted():
    from PIL import Image

    picture = vb.encode_depth(np.linspace(0, 20, 60).reshape(6, 10))
    np.testing.assert_array_equal(
        vb.decode_depth(Image.fromarray(picture)), vb.decode_depth(picture)
    )


# --- walk and project ---------------------------------------------------------------------------


def test_walk_and_project_are_inverse_and_follow_the_reference():
    f = np.linspace(0, 1, 7001)
    np.testing.assert_array_equal(vb.walk(f), reference_walk(f))
    np.testing.assert_allclose(vb.project(vb.walk(f)), f, atol=1e-15)
    assert vb.walk(f, dtype=np.uint8)[1000].tolist() == [255, 0, 0]
    np.testing.assert_array_equal(vb.walk([-0.5, 1.5]), [[0, 0, 0], [1, 1, 1]])
    assert vb.project(np.array([255, 255, 0], np.uint8)) * 7 == pytest.approx(2.0)


def test_walk_rejects_nan():
    with pytest.raises(
        InvalidArgumentError, match=r"f has 1 value\(s\) that are NaN; the first, at \(1,\)"
    ):
        vb.walk([0.1, np.nan])


@given(
    arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 5)), elements=st.floats(0, 1))
)
@settings(max_examples=60, deadline=None)
def test_property_project_inverts_walk(f):
    np.testing.assert_allclose(vb.project(vb.walk(f)), f, atol=1e-15)


@given(
    arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=st.floats(0, 1e4)),
    st.floats(-10, -1.01),
    st.floats(0.01, 100),
)
@settings(max_examples=60, deadline=None)
def test_property_depth_round_trips_through_float_pictures(depth, lam, c):
    # Where f is within 1e-3 of 1 the transform is too flat to invert to 1e-6: not a codec issue.
    assume(np.all(reference_forward(depth, lam, c) < 1 - 1e-3))
    picture = vb.encode_depth(depth, lam=lam, c=c, dtype=np.float64)
    back = vb.inverse_power_transform(vb.project(picture), lam=lam, c=c)
    np.testing.assert_allclose(back, depth, rtol=1e-6, atol=1e-9)


@given(arrays(np.uint8, st.tuples(st.integers(1, 8), st.integers(1, 8), st.just(3))))
@settings(max_examples=60, deadline=None)
def test_property_8_bit_pictures_reencode_to_their_projection(picture):
    # Decoding then encoding lands on the curve: a second round trip changes nothing.
    once = vb.encode_depth(
        vb.decode_depth(picture, max_depth=None).astype(np.float64), invalid=(255, 255, 255)
    )
    twice = vb.encode_depth(
        vb.decode_depth(once, max_depth=None).astype(np.float64), invalid=(255, 255, 255)
    )
    np.testing.assert_array_equal(once, twice)


# --- other colour maps ----------------------------------------------------------------------------


@pytest.mark.parametrize("colormap", ["plasma", "inferno", "viridis", "gray"])
def test_colormaps_round_trip_and_follow_matplotlib(colormap):
    import matplotlib

    depth = np.geomspace(0.01, 200, 4000).reshape(40, 100)
    picture = vb.encode_depth(depth, dtype=np.float64, colormap=colormap)
    np.testing.assert_allclose(
        vb.decode_depth(picture, colormap=colormap, max_depth=None), depth, rtol=1e-5
    )
    # The vertices are matplotlib's listed colours at f = i / 255.
    if colormap != "gray":
        table = np.asarray(matplotlib.colormaps[colormap].colors)
        np.testing.assert_allclose(
            vb.walk(np.arange(256) / 255, colormap=colormap), table, atol=1e-12
        )
    else:
        np.testing.assert_allclose(vb.walk([0.25], colormap="gray"), [[0.25] * 3])
    eight = vb.encode_depth(depth, colormap=colormap)
    back = vb.decode_depth(eight, colormap=colormap)
    inside = (depth > 0.5) & (depth < 20)
    assert np.median(np.abs(back - depth)[inside] / depth[inside]) < 0.02


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rgb", "error", "message"),
    [
        (np.zeros((4, 4, 3), np.int64), InvalidTypeError, r"rgb must be uint8 .* got int64"),
        (np.zeros((4, 4, 3), bool), InvalidTypeError, r"got bool"),
        (np.zeros((4, 4, 3), np.float16), InvalidTypeError, r"got float16"),
        (
            [[1, 2, 3]],
            InvalidTypeError,
            r"rgb must be a numpy array .*, a PIL image, a path or the bytes of an image file, "
            r"got list",
        ),
        (np.zeros((4, 4), np.uint8), InvalidArgumentError, r"rgb must have shape .* got \(4, 4\)"),
        (np.zeros((4, 4, 2), np.uint8), InvalidArgumentError, r"got \(4, 4, 2\)"),
        (np.zeros((1, 1, 4, 4, 3), np.uint8), InvalidArgumentError, r"got \(1, 1, 4, 4, 3\)"),
    ],
)
def test_decode_rejects_bad_pictures(rgb, error, message):
    with pytest.raises(error, match=message):
        vb.decode_depth(rgb)


def test_decode_rejects_float_pictures_outside_the_unit_range():
    picture = np.zeros((3, 4, 3), np.float32)
    picture[1, 2, 1] = 255.0
    picture[2, 0, 0] = 3.0
    with pytest.raises(
        InvalidArgumentError, match=r"rgb has 2 pixel\(s\) .* the first, at \(1, 2\), is 255.0"
    ):
        vb.decode_depth(picture)
    picture[1, 2, 1] = np.nan
    with pytest.raises(InvalidArgumentError, match=r"at \(1, 2\), is nan"):
        vb.decode_depth(picture)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"max_depth": 0},
            InvalidArgumentError,
            "max_depth must be a number above 0 or None, got 0",
        ),
        ({"max_depth": float("nan")}, InvalidArgumentError, "max_depth must be"),
        (
            {"colormap": "jet"},
            InvalidArgumentError,
            "colormap must be one of 'cube_walk'.*got 'jet'",
        ),
        ({"colormap": 3}, InvalidTypeError, "colormap must be a string"),
    ],
)
def test_decode_rejects_bad_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        vb.decode_depth(np.zeros((2, 2, 3), np.uint8), **kwargs)


def test_encode_names_invalid_depth_and_paints_it_on_request():
    depth = np.ones((2, 4, 5), np.float32)
    depth[1, 2, 3] = np.nan
    depth[1, 3, 0] = -1.0
    depth[0, 0, 4] = np.inf
    with pytest.raises(
        InvalidArgumentError,
        match=r"depth has 3 value\(s\) that are NaN, infinite or negative; "
        r"the first, at \(0, 0, 4\), is inf",
    ):
        vb.encode_depth(depth)
    painted = vb.encode_depth(depth, invalid=(255, 0, 255))
    assert painted[1, 2, 3].tolist() == painted[1, 3, 0].tolist() == [255, 0, 255]
    assert painted[0, 0, 0].tolist() == vb.encode_depth(np.ones((1, 1)))[0, 0].tolist()
    painted16 = vb.encode_depth(depth, invalid=(65535, 0, 0), dtype=np.uint16)
    assert painted16[0, 0, 4].tolist() == [65535, 0, 0]


@pytest.mark.parametrize(
    ("depth", "kwargs", "error", "message"),
    [
        (
            np.ones((3, 3), np.uint16),
            {},
            InvalidTypeError,
            r"depth must be a float32 or float64 array of metres, got uint16",
        ),
        (
            np.ones(3),
            {},
            InvalidArgumentError,
            r"depth must have shape \(H, W\) or \(N, H, W\), got \(3,\)",
        ),
        (
            np.ones((3, 3)),
            {"dtype": np.int32},
            InvalidTypeError,
            r"dtype must be uint8, uint16, float32 or float64",
        ),
        (np.ones((3, 3)), {"dtype": "banana"}, InvalidTypeError, r"dtype must be uint8"),
        (
            np.ones((3, 3)),
            {"invalid": (300, 0, 0)},
            InvalidArgumentError,
            r"invalid must be an \(r, g, b\) colour with channels in \[0, 255\]",
        ),
        (
            np.ones((3, 3)),
            {"invalid": "red"},
            InvalidArgumentError,
            r"invalid must be an \(r, g, b\)",
        ),
        (np.ones((3, 3)), {"invalid": (1.0, 0.0)}, InvalidArgumentError, r"got \(1.0, 0.0\)"),
    ],
)
def test_encode_rejects_bad_arguments(depth, kwargs, error, message):
    with pytest.raises(error, match=message):
        vb.encode_depth(depth, **kwargs)


def test_errors_are_value_and_type_errors():
    assert issubclass(InvalidArgumentError, ValueError)
    assert issubclass(InvalidTypeError, TypeError)
    assert issubclass(InvalidArgumentError, vb.VisionBananaError)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_sky_is_told_by_depth_equal_to_max_depth(dtype):
    # A ground-truth scene with a band of sky (infinitely far: the model paints it white).
    depth = np.tile(np.geomspace(0.3, 300, 64, dtype=np.float32), (8, 1))
    sky = np.zeros(depth.shape, bool)
    sky[:2] = True
    picture = vb.encode_depth(np.where(sky, 0, depth), dtype=dtype)
    top = np.iinfo(dtype).max if dtype != np.float32 else 1.0
    picture[sky] = top
    decoded = vb.decode_depth(picture)
    np.testing.assert_array_equal(decoded == 1000.0, sky)
    assert np.all(np.isfinite(decoded))
    np.testing.assert_array_equal(vb.decode_depth(picture, max_depth=70.0)[sky], 70.0)
    # Near-white noise on the sky decodes as sky too; the colour one 8-bit step before white
    # does not (it is 412 m), as the docstring says.
    if dtype == np.uint8:
        noisy = picture.copy()
        noisy[0, :, 2] = 250
        assert np.all(vb.decode_depth(noisy)[sky] == 1000.0)
        step = vb.decode_depth(np.array([[[255, 254, 255]]], np.uint8))[0, 0]
        assert 400 < step < 1000
