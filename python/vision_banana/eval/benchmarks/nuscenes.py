"""nuScenes: the key frames of the official val scenes seen by the six cameras, with the depth of
the LIDAR_TOP sweep of each key frame projected into each camera.

Written in numpy from the devkit's JSON tables, without the devkit: the projection follows
nuscenes-devkit ``NuScenesExplorer.map_pointcloud_to_image`` (python-sdk/nuscenes/nuscenes.py):
lidar -> ego at the lidar's time -> global -> ego at the camera's time -> camera, points nearer
than 1 m and outside the image (a one-pixel margin) dropped. Each point's depth lands on the
nearest pixel; where several land on one pixel the nearest point wins.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..._arrays import check_positive_int
from ...errors import ImageReadError, InvalidArgumentError
from ._groundtruth import DATA_DIR, first_missing, read_list, sample_id
from .base import Benchmark, DepthTruth, PaperRow, Sample, register

__all__ = ["NuScenes", "pose_matrix", "project_points", "read_lidar_points"]

VERSION = "v1.0-trainval"
TABLES = ("scene", "sample", "sample_data", "calibrated_sensor", "ego_pose", "sensor")
CAMERAS = (
    "CAM_FRONT",
    "CAM_FRONT_RIGHT",
    "CAM_BACK_RIGHT",
    "CAM_BACK",
    "CAM_BACK_LEFT",
    "CAM_FRONT_LEFT",
)
LIDAR = "LIDAR_TOP"
#: The official val scene names (nuscenes-devkit utils/splits.py), one a line.
VAL_SCENES = DATA_DIR / "nuscenes_val_scenes.txt"
#: Points nearer to the camera than this (metres, along its axis) are dropped, as the devkit does.
MIN_DISTANCE = 1.0
#: A .pcd.bin point: x, y, z, intensity, ring index, float32 each.
POINT_FIELDS = 5


def pose_matrix(rotation: Sequence[float], translation: Sequence[float]) -> NDArray[np.float64]:
    """The 4 x 4 matrix of a devkit pose: quaternion ``rotation`` (w, x, y, z; normalised here)
    then ``translation``, mapping the child frame's coordinates into the parent's.

    Example:
        >>> pose_matrix([1, 0, 0, 0], [1, 2, 3])[:3, 3].tolist()
        [1.0, 2.0, 3.0]
    """
    w, x, y, z = np.asarray(rotation, dtype=np.float64) / math.sqrt(
        float(np.sum(np.square(rotation)))
    )
    matrix = np.eye(4)
    matrix[:3, :3] = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]
    matrix[:3, 3] = translation
    return matrix


def _inverse_pose(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """The inverse of a rigid 4 x 4 pose: R^T (p - t), as the devkit's translate-then-rotate."""
    inverse = np.eye(4)
    inverse[:3, :3] = matrix[:3, :3].T
    inverse[:3, 3] = -matrix[:3, :3].T @ matrix[:3, 3]
    return inverse


def read_lidar_points(path: Path) -> NDArray[np.float64]:
    """A ``.pcd.bin`` sweep (float32 x 5 per point) as its (N, 3) x, y, z in the lidar frame.

    Raises:
        ImageReadError: the file size is not a whole number of points.
    """
    size = os.path.getsize(path)
    if size % (4 * POINT_FIELDS):
        raise ImageReadError(
            f"{path}: a .pcd.bin holds {POINT_FIELDS} float32 per point ({4 * POINT_FIELDS} "
            f"bytes); the file has {size} bytes"
        )
    points = np.fromfile(path, dtype="<f4").reshape(-1, POINT_FIELDS)
    return points[:, :3].astype(np.float64)


def project_points(
    points: NDArray[np.float64],
    lidar_to_camera: NDArray[np.float64],
    intrinsic: NDArray[np.float64],
    shape: tuple[int, int],
) -> DepthTruth:
    """Sparse depth of (N, 3) lidar points seen by a camera of ``intrinsic`` (3 x 3) and image
    ``shape`` (H, W): depth is the camera-frame z in metres at the nearest pixel (the one whose
    centre, at integer coordinates, is closest), the nearest point where several share a pixel.
    """
    height, width = shape
    camera = points @ lidar_to_camera[:3, :3].T + lidar_to_camera[:3, 3]
    camera = camera[camera[:, 2] > MIN_DISTANCE]
    pixels = camera @ intrinsic.T
    u, v = pixels[:, 0] / pixels[:, 2], pixels[:, 1] / pixels[:, 2]
    inside = (u > 1) & (u < width - 1) & (v > 1) & (v < height - 1)
    rows = np.floor(v[inside] + 0.5).astype(np.intp)
    columns = np.floor(u[inside] + 0.5).astype(np.intp)
    nearest = np.full(shape, np.inf)
    np.minimum.at(nearest, (rows, columns), camera[inside, 2])
    valid = np.isfinite(nearest)
    return DepthTruth(depth=np.where(valid, nearest, 0).astype(np.float32), valid=valid)


def read_nuscenes_depth(
    lidar: Path,
    lidar_to_camera: NDArray[np.float64],
    intrinsic: NDArray[np.float64],
    shape: tuple[int, int],
) -> DepthTruth:
    """One camera's sparse depth from its key frame's LIDAR_TOP sweep."""
    return project_points(read_lidar_points(lidar), lidar_to_camera, intrinsic, shape)


@dataclass(frozen=True, eq=False)
class _View:
    photo: Path
    lidar: Path
    lidar_to_camera: NDArray[np.float64]
    intrinsic: NDArray[np.float64]
    shape: tuple[int, int]


@register
class NuScenes(Benchmark):
    """nuScenes val: every key frame (6019) of the 150 val scenes (``split``: a file of scene
    names replaces them) seen by the six cameras, scored 1e-3 to 80 m on the projected lidar
    points.

    Options:
        stride: keep every stride-th key frame of the set (default 1: all 6019); UniK3D's
            evaluation keeps every 10th (``chunk(..., pct=0.1)`` in unik3d/datasets/nuscenes.py).

    Example:
        >>> bench = NuScenes("/data/nuscenes", stride=10)  # doctest: +SKIP
        >>> next(bench.samples()).id  # doctest: +SKIP
        'samples/CAM_FRONT/n015-2018-07-18-11-07-57+0800__CAM_FRONT__1531883530412470'
    """

    name = "nuscenes"
    task = "depth"
    size = 6019 * len(CAMERAS)  # the val key frames; an instance counts its own (split, stride)
    layout = (
        f"{VERSION}/{{{','.join(TABLES)}}}.json + samples/CAM_*/<name>.jpg + "
        f"samples/{LIDAR}/<name>.pcd.bin"
    )
    protocol = (
        "LIDAR_TOP of each key frame projected into each camera (devkit map_pointcloud_to_image, "
        "points < 1 m dropped), sparse; no crop; 1e-3 < gt < 80 m; per-image mean"
    )
    source = (
        "BENCHMARKS.md; "
        "nuscenes-devkit python-sdk/nuscenes/nuscenes.py map_pointcloud_to_image, utils/splits.py"
    )
    paper = PaperRow(
        figure=(
            "metric depth table (nuScenes); per-benchmark figures are not in SPEC.md; the "
            "paper's averages: delta1 0.882 over its 6 depth benchmarks (UniK3D 0.823)"
        )
    )
    metric_options = MappingProxyType({"min_depth": 1e-3, "max_depth": 80.0, "averaging": "image"})

    def __init__(self, root: str | Path, *, stride: int = 1, **options: Any) -> None:
        super().__init__(root, **options)
        self.stride = check_positive_int(stride, "stride")
        tables = self.root / VERSION
        absent = first_missing(tables / f"{t}.json" for t in TABLES)
        if absent is not None:
            raise self.missing(absent)
        listing = VAL_SCENES if self.split is None else self.split
        names = [fields[0] for _, fields in read_list(listing)]
        if not names:
            raise InvalidArgumentError(f"split: the list {str(listing)!r} names no scene")
        try:
            self._views = self._index(names, str(listing))
        except InvalidArgumentError:
            raise
        except (KeyError, TypeError, ValueError) as err:
            raise InvalidArgumentError(
                f"root: the tables under {str(tables)!r} do not follow the nuScenes schema "
                f"({type(err).__name__}: {err})"
            ) from err
        for view in self._views:
            absent = first_missing((view.photo, view.lidar))
            if absent is not None:
                raise self.missing(absent)
        self.size = len(self._views)

    def _table(
        self, name: str, keep: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[dict[str, Any]]:
        """A JSON table; with ``keep``, only its records that pass (the others are dropped
        while parsing, so sample_data's and ego_pose's millions of records never pile up)."""
        path = self.root / VERSION / f"{name}.json"

        def hook(record: dict[str, Any]) -> dict[str, Any] | None:
            return record if keep is None or keep(record) else None

        try:
            with open(path, encoding="utf-8") as file:
                records = json.load(file, object_hook=hook)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InvalidArgumentError(f"root: {path} is not a JSON table: {err}") from err
        if not isinstance(records, list):
            raise InvalidArgumentError(f"root: {path} must hold a JSON list of records")
        return [r for r in records if r is not None]

    def _index(self, names: list[str], listing: str) -> list[_View]:
        """The views (key frame, camera) of the scenes ``names``, in scene, key frame and
        camera order, thinned to every ``stride``-th key frame."""
        scenes = {s["name"]: s for s in self._table("scene")}
        unknown = next((n for n in names if n not in scenes), None)
        if unknown is not None:
            raise InvalidArgumentError(
                f"root: {self.root / VERSION / 'scene.json'} has no scene {unknown!r} "
                f"(named by {listing})"
            )
        following = {s["token"]: s["next"] for s in self._table("sample")}
        frames: list[str] = []
        for name in names:
            token = scenes[name]["first_sample_token"]
            while token:
                frames.append(token)
                token = following[token]
                if len(frames) > len(following):  # a 'next' chain that loops
                    raise InvalidArgumentError(f"root: sample.json's key frames of {name} loop")
        frames = frames[:: self.stride]
        wanted = set(frames)
        records = self._table(
            "sample_data", lambda r: bool(r.get("is_key_frame")) and r.get("sample_token") in wanted
        )
        poses_needed = {r["ego_pose_token"] for r in records}
        poses = {
            p["token"]: pose_matrix(p["rotation"], p["translation"])
            for p in self._table("ego_pose", lambda r: r.get("token") in poses_needed)
        }
        channels = {s["token"]: s["channel"] for s in self._table("sensor")}
        calibrations = {c["token"]: c for c in self._table("calibrated_sensor")}
        by_frame: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in frames}
        for r in records:
            sensor = calibrations[r["calibrated_sensor_token"]]["sensor_token"]
            by_frame[r["sample_token"]][channels[sensor]] = r

        def sensor_to_global(record: dict[str, Any]) -> NDArray[np.float64]:
            calibration = calibrations[record["calibrated_sensor_token"]]
            mount = pose_matrix(calibration["rotation"], calibration["translation"])
            return poses[record["ego_pose_token"]] @ mount

        views = []
        for frame in frames:
            seen = by_frame[frame]
            needed = next((c for c in (LIDAR, *CAMERAS) if c not in seen), None)
            if needed is not None:
                raise InvalidArgumentError(
                    f"root: sample_data.json has no key-frame {needed} record for sample {frame}"
                )
            lidar = seen[LIDAR]
            lidar_to_global = sensor_to_global(lidar)
            for camera in CAMERAS:
                record = seen[camera]
                calibration = calibrations[record["calibrated_sensor_token"]]
                views.append(
                    _View(
                        photo=self.root / record["filename"],
                        lidar=self.root / lidar["filename"],
                        lidar_to_camera=_inverse_pose(sensor_to_global(record)) @ lidar_to_global,
                        intrinsic=np.asarray(calibration["camera_intrinsic"], dtype=np.float64),
                        shape=(int(record["height"]), int(record["width"])),
                    )
                )
        return views

    def samples(self) -> Iterator[Sample]:
        for view in self._views:
            load = partial(
                read_nuscenes_depth, view.lidar, view.lidar_to_camera, view.intrinsic, view.shape
            )
            yield Sample(sample_id(self.root, view.photo), view.photo, load)
