"""The nuscenes adapter: the devkit's tables read with json, key frames of the listed scenes, and
the lidar projected into each camera, checked against a from-scratch computation."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from eval_layouts import IMAGE, INTRINSIC, build_nuscenes, write_pcd
from vision_banana.errors import ImageReadError, InvalidArgumentError
from vision_banana.eval.benchmarks.nuscenes import VAL_SCENES, NuScenes


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    root = tmp_path_factory.mktemp("nuscenes")
    return root, build_nuscenes(root, np.random.default_rng(9))


def lidar_points(path):
    return np.fromfile(path, "<f4").reshape(-1, 5)[:, :3].astype(np.float64)


def expected_depth(view, points):
    """The devkit's projection, one point at a time: camera z, pinhole pixel, 1 m and one-pixel
    margins, the nearest pixel centre, the nearest point per pixel."""
    height, width = IMAGE
    depth, valid = np.zeros(IMAGE), np.zeros(IMAGE, bool)
    camera_from_lidar = view.camera_from_global @ view.global_from_lidar
    for point in points:
        x, y, z = (camera_from_lidar @ np.append(point, 1.0))[:3]
        if z <= 1.0:
            continue
        u = INTRINSIC[0, 0] * x / z + INTRINSIC[0, 2]
        v = INTRINSIC[1, 1] * y / z + INTRINSIC[1, 2]
        if not (1 < u < width - 1 and 1 < v < height - 1):
            continue
        row, column = int(np.floor(v + 0.5)), int(np.floor(u + 0.5))
        if not valid[row, column] or z < depth[row, column]:
            depth[row, column], valid[row, column] = z, True
    return depth, valid


def test_samples_are_the_key_frames_of_the_listed_scenes_by_six_cameras(layout):
    root, views = layout
    samples = list(NuScenes(root, split=root / "val_scenes.txt").samples())
    assert len(samples) == 5 * 6
    assert [s.id for s in samples] == [v.id for v in views]
    assert [s.photo for s in samples] == [v.photo for v in views]
    assert all(s.id.startswith("samples/CAM_") for s in samples)


def test_projected_depth_matches_the_devkit_computation(layout):
    root, views = layout
    seen = 0
    for sample, view in zip(
        NuScenes(root, split=root / "val_scenes.txt").samples(), views, strict=True
    ):
        truth = sample.load_truth()
        depth, valid = expected_depth(view, lidar_points(view.lidar))
        np.testing.assert_array_equal(truth.valid, valid)
        np.testing.assert_allclose(truth.depth[valid], depth[valid], rtol=1e-6)
        assert truth.depth.dtype == np.float32
        assert truth.depth.shape == IMAGE
        seen += valid.sum()
    assert seen > 100  # the random sweeps put points in front of the cameras


def test_a_point_straight_ahead_lands_on_the_principal_point(tmp_path):
    views = build_nuscenes(tmp_path, np.random.default_rng(10), scenes=(("scene-0003", 1),))
    front = views[0]
    assert "CAM_FRONT__" in front.id
    global_from_camera = np.linalg.inv(front.camera_from_global)
    lidar_from_camera = np.linalg.inv(front.global_from_lidar) @ global_from_camera

    def from_camera(*xyz):
        return (lidar_from_camera @ np.append(xyz, 1.0))[:3]

    fx, fy, cx, cy = INTRINSIC[0, 0], INTRINSIC[1, 1], INTRINSIC[0, 2], INTRINSIC[1, 2]
    points = [
        from_camera(0, 0, 7.5),  # straight ahead: the principal point (11.25, 15.5) -> (11, 16)
        from_camera(0, 0, 0.5),  # nearer than 1 m: dropped
        from_camera(0, 0, -5),  # behind: dropped
        from_camera(3 * (5 - cx) / fx, 3 * (5 - cy) / fy, 3.0),  # at pixel (5, 5), 3 m
        from_camera(4 * (5 - cx) / fx, 4 * (5 - cy) / fy, 4.0),  # same pixel, farther: loses
        from_camera(2 * (0.9 - cx) / fx, 0.0, 2.0),  # column 0.9: outside the 1-pixel margin
    ]
    write_pcd(front.lidar, np.array(points))
    truth = next(NuScenes(tmp_path, split=tmp_path / "val_scenes.txt").samples()).load_truth()
    assert sorted(zip(*np.nonzero(truth.valid), strict=True)) == [(5, 5), (11, 16)]
    assert truth.depth[11, 16] == pytest.approx(7.5, abs=1e-4)
    assert truth.depth[5, 5] == pytest.approx(3.0, abs=1e-4)


def test_stride_keeps_every_nth_key_frame(layout):
    root, views = layout
    bench = NuScenes(root, split=root / "val_scenes.txt", stride=2)
    samples = list(bench.samples())
    assert bench.size == len(samples) == 18
    frames = [views[6 * k : 6 * k + 6] for k in (0, 2, 4)]
    assert [s.id for s in samples] == [v.id for frame in frames for v in frame]
    with pytest.raises(InvalidArgumentError, match="stride must be a positive integer, got 0"):
        NuScenes(root, stride=0)


def test_the_default_list_is_the_150_val_scenes(layout):
    root, _ = layout
    names = [line for line in VAL_SCENES.read_text().splitlines() if not line.startswith("#")]
    assert len(names) == len(set(names)) == 150
    assert names[:3] == ["scene-0003", "scene-0012", "scene-0013"]
    assert NuScenes.size == 6019 * 6
    with pytest.raises(InvalidArgumentError, match="has no scene 'scene-0013'"):
        NuScenes(root)


def test_layout_errors_name_what_is_missing(tmp_path):
    views = build_nuscenes(tmp_path, np.random.default_rng(11), scenes=(("scene-0003", 1),))
    split = tmp_path / "val_scenes.txt"
    views[3].photo.unlink()
    with pytest.raises(InvalidArgumentError, match=re.escape(f"missing: {views[3].photo}")):
        NuScenes(tmp_path, split=split)
    (tmp_path / "v1.0-trainval/ego_pose.json").unlink()
    with pytest.raises(InvalidArgumentError, match=r"missing: .*v1\.0-trainval/ego_pose\.json"):
        NuScenes(tmp_path, split=split)


def test_a_corrupt_sweep_raises_from_load_truth(tmp_path):
    views = build_nuscenes(tmp_path, np.random.default_rng(12), scenes=(("scene-0003", 1),))
    views[0].lidar.write_bytes(b"\x00" * 23)
    sample = next(NuScenes(tmp_path, split=tmp_path / "val_scenes.txt").samples())
    with pytest.raises(ImageReadError, match=r"holds 5 float32 per point.*has 23 bytes"):
        sample.load_truth()


def test_broken_tables_are_refused_clearly(tmp_path):
    build_nuscenes(tmp_path, np.random.default_rng(13), scenes=(("scene-0003", 2),))
    split = tmp_path / "val_scenes.txt"
    table = tmp_path / "v1.0-trainval/sample.json"
    samples = json.loads(table.read_text())
    for record in samples:
        if not record["next"] and record["prev"]:  # the last key frame of scene-0003
            record["next"] = record["prev"]
    table.write_text(json.dumps(samples))
    with pytest.raises(InvalidArgumentError, match="key frames of scene-0003 loop"):
        NuScenes(tmp_path, split=split)
    table.write_text(json.dumps([{"token": "s1"}]))
    with pytest.raises(InvalidArgumentError, match=r"do not follow the nuScenes schema \(KeyError"):
        NuScenes(tmp_path, split=split)
    table.write_text("[{")
    with pytest.raises(InvalidArgumentError, match=r"sample\.json is not a JSON table"):
        NuScenes(tmp_path, split=split)
