"""The surface-normal codec (SPEC.md section 2) against a straightforward numpy decode."""

from __future__ import annotations

import numpy as np
import pytest

import vision_banana as vb
from vision_banana import InvalidArgumentError, InvalidTypeError


def random_normals(rng, shape):
    v = rng.normal(size=(*shape, 3))
    v[..., 2] = np.abs(v[..., 2]) + 0.05  # facing the camera, as visible surfaces do
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def numpy_decode(rgb):
    """The straightforward decode: scale, shift, normalise."""
    unit = rgb.astype(np.float64) / np.iinfo(rgb.dtype).max
    v = np.stack([1 - 2 * unit[..., 0], 2 * unit[..., 1] - 1, 2 * unit[..., 2] - 1], axis=-1)
    return v, np.linalg.norm(v, axis=-1)


def test_axis_directions_have_the_papers_colours():
    axes = np.array([[[-1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 0, 0]]])
    assert vb.encode_normals(axes).tolist() == [
        [[255, 128, 128], [128, 255, 128], [128, 128, 255], [0, 128, 128]]
    ]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_round_trip_matches_the_numpy_decode(rng, dtype):
    normals = random_normals(rng, (2, 30, 40))
    picture = vb.encode_normals(normals, dtype=dtype)
    assert picture.dtype == dtype
    decoded, valid = vb.decode_normals(picture)
    assert decoded.dtype == np.float32
    assert valid.all()
    tolerance = {np.uint8: 1e-2, np.uint16: 5e-5, np.float32: 1e-6}[dtype]
    np.testing.assert_allclose(decoded, normals, atol=tolerance)
    np.testing.assert_allclose(np.linalg.norm(decoded, axis=-1), 1.0, atol=1e-6)
    if dtype != np.float32:
        raw, _ = vb.decode_normals(picture, renormalize=False)
        expected, _ = numpy_decode(picture)
        np.testing.assert_allclose(raw, expected, atol=1e-6)


def test_encode_normalises_and_rounds_like_the_formula(rng):
    vectors = random_normals(rng, (20, 20)) * rng.uniform(0.1, 10, (20, 20, 1))
    unit = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
    expected = np.floor(
        np.stack([(1 - unit[..., 0]) / 2, (1 + unit[..., 1]) / 2, (1 + unit[..., 2]) / 2], -1) * 255
        + 0.5
    )
    np.testing.assert_array_equal(vb.encode_normals(vectors), expected)


def test_sky_and_implausible_norms_are_invalid():
    picture = np.array([[[255, 0, 255], [250, 3, 252], [128, 128, 128], [128, 128, 255]]], np.uint8)
    normals, valid = vb.decode_normals(picture)
    assert valid.tolist() == [[False, False, False, True]]
    assert np.all(normals[0, :3] == 0)
    # Tolerance 0 leaves exact sky invalid only; mid grey decodes to a near-zero vector.
    _, valid = vb.decode_normals(picture, sky_tolerance=0, norm_range=(0.1, 2))
    assert valid.tolist() == [[False, True, False, True]]


def test_opencv_frame_flips_y_and_z(rng):
    picture = vb.encode_normals(random_normals(rng, (5, 6)))
    camera, _ = vb.decode_normals(picture)
    opencv, _ = vb.decode_normals(picture, frame="opencv")
    np.testing.assert_array_equal(opencv, camera * np.array([1, -1, -1], np.float32))
    np.testing.assert_array_equal(vb.to_opencv(camera), opencv)


def test_batches_strides_and_rgba(rng):
    pictures = vb.encode_normals(random_normals(rng, (3, 20, 25)))
    batch, valid = vb.decode_normals(pictures)
    single, _ = vb.decode_normals(pictures[1])
    np.testing.assert_array_equal(batch[1], single)
    strided, _ = vb.decode_normals(pictures[:, ::2, ::-3])
    np.testing.assert_array_equal(strided, batch[:, ::2, ::-3])
    rgba = np.concatenate([pictures, np.zeros((*pictures.shape[:-1], 1), np.uint8)], axis=-1)
    np.testing.assert_array_equal(vb.decode_normals(rgba)[0], batch)
    assert valid.shape == (3, 20, 25)


def test_zero_and_nan_vectors():
    vectors = np.array([[[0.0, 0, 0], [0, 0, 1], [np.nan, 0, 1]]])
    with pytest.raises(
        InvalidArgumentError,
        match=r"normals has 2 vector\(s\) that are zero or not finite; "
        r"the first is at \(0, 0\)",
    ):
        vb.encode_normals(vectors)
    painted = vb.encode_normals(vectors, invalid=(255, 0, 255))
    assert painted[0, 0].tolist() == painted[0, 2].tolist() == [255, 0, 255]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"frame": "opengl"}, InvalidArgumentError, "frame must be 'camera' or 'opencv'"),
        ({"sky": (300, 0, 0)}, InvalidArgumentError, r"sky must be an \(r, g, b\) colour"),
        ({"sky_tolerance": -1}, InvalidArgumentError, "sky_tolerance must be a finite number >= 0"),
        ({"norm_range": (1.5, 0.5)}, InvalidArgumentError, r"norm_range must be \(low, high\)"),
        ({"norm_range": 3}, InvalidArgumentError, "norm_range must be a pair"),
    ],
)
def test_decode_rejects_bad_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        vb.decode_normals(np.zeros((2, 2, 3), np.uint8), **kwargs)


def test_bad_arrays():
    with pytest.raises(InvalidTypeError, match="normals must be a float32 or float64 array"):
        vb.encode_normals(np.zeros((2, 2, 3), np.int32))
    with pytest.raises(InvalidArgumentError, match=r"got \(2, 2, 2\)"):
        vb.encode_normals(np.zeros((2, 2, 2)))
    with pytest.raises(InvalidTypeError, match="rgb must be uint8"):
        vb.decode_normals(np.zeros((2, 2, 3), np.int16))


def test_resizing_renormalises_and_ignores_invalid_pixels(rng):
    normals = random_normals(rng, (40, 60)).astype(np.float32)
    big = vb.resize_normals(normals, (80, 120))
    np.testing.assert_allclose(np.linalg.norm(big, axis=-1), 1.0, atol=1e-5)
    valid = np.ones((40, 60), bool)
    valid[10:20, 10:20] = False
    corrupted = normals.copy()
    corrupted[~valid] = [0.0, 0.0, -1.0]  # garbage that must not leak into valid neighbours
    resized, resized_valid = vb.resize_normals(corrupted, (40, 60), valid)
    np.testing.assert_allclose(resized[valid], normals[valid], atol=1e-6)
    assert (resized_valid == valid).all()
