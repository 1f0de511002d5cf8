"""The kitti adapter: the shipped Eigen list, a user's split, uint16 / 256 depth, Garg's crop."""

from __future__ import annotations

import re

import numpy as np
import pytest

from eval_layouts import build_kitti
from vision_banana.errors import InvalidArgumentError
from vision_banana.eval.benchmarks.kitti import EIGEN_TEST, KITTI


@pytest.fixture
def layout(tmp_path):
    return tmp_path, build_kitti(tmp_path, np.random.default_rng(6))


def test_the_shipped_eigen_list_has_652_images_with_ground_truth():
    lines = [
        line.split() for line in EIGEN_TEST.read_text().splitlines() if not line.startswith("#")
    ]
    assert len(lines) == 652
    assert all(len(fields) == 3 and fields[1].endswith(".png") for fields in lines)
    assert len({fields[0] for fields in lines}) == 652
    assert lines[0][:2] == [
        "2011_09_26/2011_09_26_drive_0002_sync/image_02/data/0000000069.png",
        "2011_09_26_drive_0002_sync/proj_depth/groundtruth/image_02/0000000069.png",
    ]


def test_the_default_list_names_its_first_missing_file(tmp_path):
    first = tmp_path / "2011_09_26/2011_09_26_drive_0002_sync/image_02/data/0000000069.png"
    with pytest.raises(InvalidArgumentError, match=re.escape(f"missing: {first}")):
        KITTI(tmp_path)


def test_samples_follow_the_split_in_its_order(layout):
    root, written = layout
    samples = list(KITTI(root, split=root / "split.txt").samples())
    assert [s.id for s in samples] == [w.id for w in written]
    assert samples[0].id == "2011_09_26/2011_09_26_drive_0002_sync/image_02/data/0000000069"


def test_truth_is_uint16_over_256_inside_garg_s_crop(layout):
    root, written = layout
    height, width = 37, 124
    rows, columns = np.arange(height)[:, None], np.arange(width)[None, :]
    # Garg's crop of a 37 x 124 map: rows int(15.1) = 15 to int(36.7) = 36, columns 4 to 119
    crop = (rows >= 15) & (rows < 36) & (columns >= 4) & (columns < 119)
    for sample, w in zip(KITTI(root, split=root / "split.txt").samples(), written, strict=True):
        truth = sample.load_truth()
        stored = w.arrays["depth"]
        np.testing.assert_array_equal(truth.valid, (stored > 0) & crop)
        np.testing.assert_allclose(truth.depth, stored / 256.0, rtol=1e-7)
    assert KITTI.metric_options == {"min_depth": 1e-3, "max_depth": 80.0, "averaging": "image"}


def test_bad_split_lines_are_refused_with_their_line_number(layout):
    root, _ = layout
    bad = root / "bad.txt"
    bad.write_text("# header\na.png None 721.5\n")
    with pytest.raises(InvalidArgumentError, match=r"line 2 of .*bad\.txt.*'a\.png None 721\.5'"):
        KITTI(root, split=bad)
    bad.write_text("\n")
    with pytest.raises(InvalidArgumentError, match="names no sample"):
        KITTI(root, split=bad)
    with pytest.raises(InvalidArgumentError, match="cannot read the list"):
        KITTI(root, split=root / "absent.txt")
