"""The diode-indoor and diode-indoor-normals adapters: the indoor val scans only, .npy files."""

from __future__ import annotations

import re

import numpy as np
import pytest

from eval_layouts import build_diode
from vision_banana.errors import ImageReadError, InvalidArgumentError
from vision_banana.eval.benchmarks.diode import DiodeIndoor, DiodeIndoorNormals


@pytest.fixture
def layout(tmp_path):
    return tmp_path, build_diode(tmp_path, np.random.default_rng(4))


@pytest.mark.parametrize("bench", [DiodeIndoor, DiodeIndoorNormals])
def test_samples_are_the_indoor_scans(layout, bench):
    root, written = layout
    samples = list(bench(root).samples())
    assert [s.id for s in samples] == [w.id for w in written]
    assert all("outdoor" not in str(s.photo) for s in samples)


def test_depth_is_metres_where_the_mask_allows(layout):
    root, written = layout
    for sample, w in zip(DiodeIndoor(root).samples(), written, strict=True):
        truth = sample.load_truth()
        valid = w.arrays["mask"] > 0
        np.testing.assert_array_equal(truth.valid, valid)
        np.testing.assert_array_equal(truth.depth[valid], w.arrays["depth"][..., 0][valid])


def test_normals_turn_from_diode_s_frame_to_opencv(layout):
    root, written = layout
    for sample, w in zip(DiodeIndoorNormals(root).samples(), written, strict=True):
        truth = sample.load_truth()
        stored = w.arrays["normals"]
        valid = np.linalg.norm(stored, axis=2) > 0
        np.testing.assert_array_equal(truth.valid, valid)
        # x right, y up, z toward the viewer -> x right, y down, z forward
        expected = stored * np.array([1, -1, -1], np.float32)
        np.testing.assert_allclose(truth.normals[valid], expected[valid], atol=1e-6)
        assert np.all(truth.normals[~valid] == 0)


def test_a_camera_facing_wall_is_minus_z_in_opencv(tmp_path):
    build_diode(tmp_path, np.random.default_rng(5))
    path = next(tmp_path.rglob("*_normal.npy"))
    np.save(path, np.tile(np.array([0, 0, 1], np.float32), (24, 32, 1)))
    sample = next(
        s for s in DiodeIndoorNormals(tmp_path).samples() if path.name.startswith(s.photo.stem)
    )
    np.testing.assert_array_equal(sample.load_truth().normals[0, 0], [0, 0, -1])


def test_protocols():
    assert DiodeIndoor.metric_options == {
        "min_depth": 0.01,
        "max_depth": 25.0,
        "averaging": "image",
    }
    assert DiodeIndoorNormals.metric_options == {"averaging": "pixel"}
    assert (DiodeIndoor.size, DiodeIndoorNormals.size) == (325, 325)


def test_missing_and_corrupt_files(layout):
    root, written = layout
    mask = written[1].photo.with_name(written[1].photo.stem + "_depth_mask.npy")
    mask.unlink()
    with pytest.raises(InvalidArgumentError, match=re.escape(f"missing: {mask}")):
        DiodeIndoor(root)
    sample = next(DiodeIndoorNormals(root).samples())
    normals = written[0].photo.with_name(written[0].photo.stem + "_normal.npy")
    normals.write_bytes(b"\x93NUMPY truncated")
    with pytest.raises(ImageReadError, match=r"not a readable \.npy array \(H, W, 3\)"):
        sample.load_truth()
    np.save(normals, np.zeros((24, 32), np.float32))
    with pytest.raises(
        ImageReadError, match=r"expected normals of shape \(H, W, 3\), got \(24, 32\)"
    ):
        sample.load_truth()
