"""``folder``: a user's own photos and ground truth, paired by file stem.

    <root>/images/<stem>.png|.jpg|.jpeg
    <root>/depth/<stem>.npy     float depth in metres, (H, W) or (H, W, 1); 0, negative or
                                non-finite: invalid
    <root>/depth/<stem>.png     16-bit depth, times ``depth_scale`` metres (required), 0 invalid
    or
    <root>/normals/<stem>.npy   (H, W, 3) normals in the OpenCV frame (x right, y down, z forward),
                                pointing out of the surface; zero or non-finite vectors invalid

The task is the one whose folder is there (both or neither is an error). Depth is scored per
image and averaged over images (pooled beside), between 1 mm and ``max_depth`` (no cap by
default); normals pooled over all valid pixels (per image beside). No crop.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..._truth import files_by_stem
from ...errors import InvalidArgumentError
from ...io import read_image
from .base import Benchmark, DepthTruth, NormalsTruth, PaperRow, Sample, Truth, register

__all__ = ["Folder"]

_PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg")


def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise InvalidArgumentError(f"{name} must be a number above 0, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise InvalidArgumentError(f"{name} must be a finite number above 0, got {value!r}")
    return float(value)


def load_depth(path: Path, depth_scale: float | None) -> DepthTruth:
    """One depth file: .npy in metres, or a 16-bit PNG times ``depth_scale``."""
    if path.suffix.lower() == ".png":
        stored = read_image(path, mode="keep")
        if stored.dtype != np.uint16 or stored.ndim != 2:
            raise InvalidArgumentError(
                f"{path}: a depth PNG must be 16-bit single-channel, got {stored.dtype} "
                f"{stored.shape}"
            )
        assert depth_scale is not None  # checked when the benchmark was made
        return DepthTruth((stored * np.float32(depth_scale)).astype(np.float32), stored > 0)
    array = np.load(path, allow_pickle=False)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2 or array.dtype.kind not in "fiu":
        raise InvalidArgumentError(
            f"{path}: depth must be a real (H, W) or (H, W, 1) array in metres, got "
            f"{array.dtype} {array.shape}"
        )
    depth = array.astype(np.float32)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(depth) & (depth > 0)
    return DepthTruth(depth, valid)


def load_normals(path: Path) -> NormalsTruth:
    """One (H, W, 3) .npy of normals in the OpenCV frame; zero and non-finite vectors invalid."""
    array = np.load(path, allow_pickle=False)
    if array.ndim != 3 or array.shape[-1] != 3 or array.dtype.kind != "f":
        raise InvalidArgumentError(
            f"{path}: normals must be a float (H, W, 3) array, got {array.dtype} {array.shape}"
        )
    normals = array.astype(np.float32)
    valid = np.all(np.isfinite(normals), axis=-1) & np.any(normals != 0, axis=-1)
    normals[~valid] = 0
    return NormalsTruth(normals, valid)


@register
class Folder(Benchmark):
    """Your own data: ``images/`` and one of ``depth/`` or ``normals/`` under the root, paired
    by stem (see the module docstring).

    Args:
        root: the folder.
        depth_scale: metres per unit of 16-bit depth PNGs (0.001 for millimetres); required
            when there are any, refused for normals.
        max_depth: the largest ground-truth depth scored, metres (default: no cap).

    Raises:
        InvalidArgumentError: no ``images/``, both or neither of ``depth/`` and ``normals/``, a
            photo without ground truth or the reverse (the first one is named), PNG depth
            without ``depth_scale``.

    Example:
        >>> bench = Folder("examples/eval_folder")
        >>> bench.task, bench.size
        ('depth', 4)
    """

    name = "folder"
    size = None
    layout = (
        "images/<stem>.png|.jpg with depth/<stem>.npy (metres) or .png (16-bit, --depth-scale), "
        "or normals/<stem>.npy (OpenCV frame)"
    )
    protocol = (
        "pairs by stem, no crop; depth: truth finite and > 0, 1 mm to --max-depth, per image "
        "then the mean over images; normals: nonzero truth vectors, errors pooled over all pixels"
    )
    source = "BENCHMARKS.md, common protocol"
    paper = PaperRow(figure="none (your own data)")

    def __init__(
        self,
        root: str | Path,
        *,
        split: str | Path | None = None,
        depth_scale: float | None = None,
        max_depth: float | None = None,
        **options: Any,
    ):
        super().__init__(root, **options)  # refuses options it does not know, by name
        if split is not None:
            raise InvalidArgumentError(
                "split: folder scores every pair under the root and has no list to replace"
            )
        images, depth, normals = (self.root / n for n in ("images", "depth", "normals"))
        if not images.is_dir():
            raise self.missing(images)
        if depth.is_dir() == normals.is_dir():
            if depth.is_dir():
                raise InvalidArgumentError(
                    f"root: {str(self.root)!r} holds both depth/ and normals/; folder scores one "
                    "task: keep one of them"
                )
            raise self.missing(self.root / "depth (or normals)")
        self.task = "depth" if depth.is_dir() else "normals"
        if self.task == "normals" and (depth_scale is not None or max_depth is not None):
            raise InvalidArgumentError(
                "depth_scale and max_depth apply to depth; this folder holds normals/"
            )
        self.depth_scale = None if depth_scale is None else _positive(depth_scale, "depth_scale")
        self.max_depth = None if max_depth is None else _positive(max_depth, "max_depth")
        if self.task == "depth":
            cap = "no cap" if self.max_depth is None else f"up to {self.max_depth:g} m"
            self.protocol = (
                f"pairs by stem, no crop; depth truth finite and > 0, from 1 mm, {cap}; each "
                "image scored, then the mean over images"
            )
            self.metric_options = {
                "min_depth": 1e-3,
                "max_depth": self.max_depth,
                "averaging": "image",
            }
        else:
            self.protocol = (
                "pairs by stem, no crop; nonzero truth vectors; angular errors pooled over all "
                "pixels of the set"
            )
            self.metric_options = {"averaging": "pixel"}
        truth_dir = depth if self.task == "depth" else normals
        truth_suffixes = (".npy", ".png") if self.task == "depth" else (".npy",)
        photos = files_by_stem(images, _PHOTO_SUFFIXES)
        truths = files_by_stem(truth_dir, truth_suffixes)
        for stem in photos:
            if stem not in truths:
                raise self.missing(truth_dir / f"{stem}{'|'.join(truth_suffixes)}")
        for stem, path in truths.items():
            if stem not in photos:
                raise InvalidArgumentError(
                    f"root: {path} has no photo images/{stem}.png|.jpg; every ground-truth "
                    "file needs its photo"
                )
        pngs = [p for p in truths.values() if p.suffix.lower() == ".png"]
        if pngs and self.depth_scale is None:
            raise InvalidArgumentError(
                f"depth_scale: {pngs[0]} is a 16-bit PNG; give its metres per unit "
                "(--depth-scale 0.001 for millimetres)"
            )
        self._pairs = [(stem, photos[stem], truths[stem]) for stem in photos]
        self.size = len(self._pairs)

    def samples(self) -> Iterator[Sample]:
        for stem, photo, truth in self._pairs:
            yield Sample(stem, photo, partial(self._load, truth))

    def _load(self, path: Path) -> Truth:
        if self.task == "depth":
            return load_depth(path, self.depth_scale)
        return load_normals(path)
