"""DIODE validation set, its 325 indoor images: depth (``diode-indoor``) and surface normals
(``diode-indoor-normals``), read from the official layout ``val/indoors/scene_*/scan_*/``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from ...errors import ImageReadError
from ...normals import to_opencv
from ._groundtruth import first_missing, read_npy, refuse_split, sample_id, unit_or_zero
from .base import Benchmark, DepthTruth, NormalsTruth, PaperRow, Sample, Truth, register

__all__ = ["DiodeIndoor", "DiodeIndoorNormals"]

PHOTOS = "val/indoors/scene_*/scan_*/<id>.png"


def read_diode_depth(depth: Path, mask: Path) -> DepthTruth:
    """``<id>_depth.npy`` (H, W, 1) metres and ``<id>_depth_mask.npy`` (H, W), valid where the
    mask is above 0 and the depth finite.

    Raises:
        ImageReadError: unreadable, or of shapes that do not match.
    """
    metres = read_npy(depth, "(H, W, 1) of metres")
    if metres.ndim == 3 and metres.shape[2] == 1:
        metres = metres[:, :, 0]
    allowed = read_npy(mask, "(H, W)")
    if metres.ndim != 2 or allowed.shape != metres.shape:
        raise ImageReadError(
            f"{depth}: expected depth (H, W, 1) and a mask (H, W) of the same H, W; got "
            f"{metres.shape} and {allowed.shape}"
        )
    valid = (allowed > 0) & np.isfinite(metres)
    return DepthTruth(depth=np.where(valid, metres, np.float32(0)), valid=valid)


def read_diode_normals(path: Path) -> NormalsTruth:
    """``<id>_normal.npy`` (H, W, 3) in DIODE's frame, which prs-eth/Marigold compares as stored
    with its predictions (x right, y up, z toward the viewer, the surface's outward normal: the
    frame of Hypersim's ``normal_cam`` it trains on), turned to the OpenCV frame. Valid where
    the vector is nonzero and finite.

    Raises:
        ImageReadError: unreadable, or not (H, W, 3).
    """
    vectors = read_npy(path, "(H, W, 3)")
    if vectors.ndim != 3 or vectors.shape[2] != 3:
        raise ImageReadError(f"{path}: expected normals of shape (H, W, 3), got {vectors.shape}")
    valid = np.all(np.isfinite(vectors), axis=2) & np.any(vectors != 0, axis=2)
    vectors = np.where(valid[:, :, None], vectors, np.float32(0))
    return NormalsTruth(normals=unit_or_zero(to_opencv(vectors)), valid=valid)


class _DiodeIndoorSet(Benchmark):
    """The indoor validation photos ``val/indoors/scene_*/scan_*/<id>.png`` and, for each, the
    truth files named by ``truth_suffixes`` read by ``read``."""

    truth_suffixes: ClassVar[tuple[str, ...]]
    read: ClassVar[Callable[..., Truth]]

    def __init__(self, root: str | Path, **options: Any) -> None:
        super().__init__(root, **options)
        refuse_split(self)
        photos = sorted(self.root.glob("val/indoors/scene_*/scan_*/*.png"))
        if not photos:
            raise self.missing(self.root / PHOTOS)
        self._files: list[tuple[Path, ...]] = []
        for photo in photos:
            truth = tuple(photo.with_name(photo.stem + s) for s in self.truth_suffixes)
            absent = first_missing(truth)
            if absent is not None:
                raise self.missing(absent)
            self._files.append((photo, *truth))

    def samples(self) -> Iterator[Sample]:
        reader = type(self).read
        for photo, *truth in self._files:
            yield Sample(sample_id(self.root, photo), photo, partial(reader, *truth))


@register
class DiodeIndoor(_DiodeIndoorSet):
    """DIODE indoor depth, scored 0.01 to 25 m.

    Example:
        >>> next(DiodeIndoor("/data/diode").samples()).id  # doctest: +SKIP
        'val/indoors/scene_00019/scan_00183/00019_00183_indoors_000_010'
    """

    name = "diode-indoor"
    task = "depth"
    size = 325
    layout = f"{PHOTOS} + <id>_depth.npy (H, W, 1) + <id>_depth_mask.npy"
    protocol = "depth m, valid where the mask > 0; no crop; 0.01 < gt < 25 m; per-image mean"
    # Caps: min_depth / max_depth of DiodeIndoor in lpiccinelli-eth/UniK3D
    # unik3d/datasets/diode.py.
    source = "BENCHMARKS.md; caps of UniK3D unik3d/datasets/diode.py"
    paper = PaperRow(
        figure=(
            "metric depth table (DIODE-indoor); per-benchmark figures are not in SPEC.md; "
            "the paper's averages: delta1 0.882 over its 6 depth benchmarks (UniK3D 0.823);"
            " delta1 0.929 over NYU, ETH3D, DIODE-indoor and KITTI (Depth Anything 3 0.918)"
        )
    )
    metric_options = MappingProxyType({"min_depth": 0.01, "max_depth": 25.0, "averaging": "image"})
    truth_suffixes = ("_depth.npy", "_depth_mask.npy")
    read = staticmethod(read_diode_depth)


@register
class DiodeIndoorNormals(_DiodeIndoorSet):
    """DIODE indoor surface normals, angular errors pooled over the set.

    Example:
        >>> next(DiodeIndoorNormals("/data/diode").samples()).id  # doctest: +SKIP
        'val/indoors/scene_00019/scan_00183/00019_00183_indoors_000_010'
    """

    name = "diode-indoor-normals"
    task = "normals"
    size = 325
    layout = f"{PHOTOS} + <id>_normal.npy (H, W, 3)"
    protocol = (
        "normals as Marigold reads them (x right, y up, z toward the viewer), valid where "
        "nonzero; angular error pooled over all valid pixels"
    )
    source = (
        "BENCHMARKS.md; "
        "frame as prs-eth/Marigold src/dataset/base_normals_dataset.py, script/normals/eval.py"
    )
    paper = PaperRow(
        figure=(
            "surface normal table (DIODE-indoor); per-benchmark figures are not in SPEC.md; t"
            "he paper's averages: mean 18.928 over its 4 normals benchmarks (Lotus-2 19.642);"
            " mean 15.549, median 9.300 over NYUv2, DIODE-indoor and ScanNet (Lotus-2 mean 16"
            ".558)"
        )
    )
    metric_options = MappingProxyType({"averaging": "pixel"})
    truth_suffixes = ("_normal.npy",)
    read = staticmethod(read_diode_normals)
