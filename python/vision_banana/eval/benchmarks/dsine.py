"""DSINE's surface-normal evaluation sets: NYUv2 (654), ScanNet (300) and Virtual KITTI 2 (1000),
in its layout ``dsine_eval/<set>/<scene>/<id>_img.png|jpg`` + ``<id>_normal.png``.

The frame, read from DSINE's code rather than its README's words: ``utils/d2n/cross.py`` gives
(0, 0, 1) for a wall facing the camera and (0, 1, 0) for the floor in (right, down, forward)
axes, so its vectors point *into* the surface, and its PNG, (n + 1) / 2, is exactly the colour of
a Vision Banana normals picture. The adapter turns them into the outward normals of the OpenCV
frame that ``NormalsTruth`` holds: minus DSINE's vector.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from ...errors import ImageReadError
from ...io import read_image
from ._groundtruth import refuse_split, sample_id, unit_or_zero
from .base import Benchmark, NormalsTruth, PaperRow, Sample, register

__all__ = ["NYUNormals", "ScanNetNormals", "VKITTI2Normals", "read_dsine_normals"]

SUFFIX = "_normal.png"


def read_dsine_normals(path: Path) -> NormalsTruth:
    """``<id>_normal.png`` (8-bit, or 16-bit for Virtual KITTI): n = value / max * 2 - 1 with
    max = 255 or 65535 by the file's bit depth, valid where any channel is nonzero (DSINE
    ``data/datasets/*/__init__.py``), negated into outward OpenCV normals of unit length.

    Raises:
        ImageReadError: unreadable, or not an RGB picture.
    """
    stored = read_image(path, mode="keep")
    if stored.ndim != 3 or stored.shape[2] != 3:
        raise ImageReadError(f"{path}: expected an RGB normal picture, got shape {stored.shape}")
    top = np.float32(np.iinfo(stored.dtype).max)
    valid = np.any(stored != 0, axis=2)
    inward = stored.astype(np.float32) / top * 2 - 1
    outward = np.where(valid[:, :, None], -inward, np.float32(0))
    return NormalsTruth(normals=unit_or_zero(outward), valid=valid)


class _DsineSet(Benchmark):
    """One of DSINE's evaluation sets: every ``<id>_img.png`` or ``<id>_img.jpg`` under
    ``dsine_eval/<folder>`` (any depth) with its ``<id>_normal.png``."""

    folder: ClassVar[str]
    protocol = (
        "DSINE normal PNG (value/max*2-1, inward, right-down-forward) negated to outward OpenCV; "
        "valid where any channel nonzero; angular error pooled over all valid pixels"
    )
    source = (
        "BENCHMARKS.md; "
        "baegwangbin/DSINE data/datasets/<set>/__init__.py, utils/d2n/cross.py, "
        "projects/dsine/test.py"
    )
    metric_options = MappingProxyType({"averaging": "pixel"})

    def __init__(self, root: str | Path, **options: Any) -> None:
        super().__init__(root, **options)
        refuse_split(self)
        base = self.root / "dsine_eval" / self.folder
        photos = sorted(
            p for p in base.rglob("*_img.*") if p.suffix in (".png", ".jpg") and p.is_file()
        )
        if not photos:
            raise self.missing(base / "<scene>" / "<id>_img.png")
        self._pairs: list[tuple[Path, Path]] = []
        for photo in photos:
            truth = photo.with_name(photo.stem.removesuffix("_img") + SUFFIX)
            if not truth.is_file():
                raise self.missing(truth)
            self._pairs.append((photo, truth))

    def samples(self) -> Iterator[Sample]:
        for photo, truth in self._pairs:
            yield Sample(sample_id(self.root, photo), photo, partial(read_dsine_normals, truth))


@register
class NYUNormals(_DsineSet):
    """NYUv2 test normals (GeoNet's ground truth) as DSINE evaluates them.

    Example:
        >>> next(NYUNormals("/data").samples()).id  # doctest: +SKIP
        'dsine_eval/nyuv2/test/000000_img'
    """

    name = "nyu-normals"
    task = "normals"
    size = 654
    folder = "nyuv2"
    layout = "dsine_eval/nyuv2/<scene>/<id>_img.png + <id>_normal.png"
    paper = PaperRow(
        figure=(
            "surface normal table (NYUv2); per-benchmark figures are not in SPEC.md; the "
            "paper's averages: mean 18.928 over its 4 normals benchmarks (Lotus-2 19.642); "
            "mean 15.549, median 9.300 over NYUv2, DIODE-indoor and ScanNet (Lotus-2 mean "
            "16.558)"
        )
    )


@register
class ScanNetNormals(_DsineSet):
    """ScanNet test normals (FrameNet's ground truth and split) as DSINE evaluates them.

    Example:
        >>> next(ScanNetNormals("/data").samples()).id  # doctest: +SKIP
        'dsine_eval/scannet/scene0011_00/000000_img'
    """

    name = "scannet-normals"
    task = "normals"
    size = 300
    folder = "scannet"
    layout = "dsine_eval/scannet/<scene>/<id>_img.png + <id>_normal.png"
    paper = PaperRow(
        figure=(
            "surface normal table (ScanNet); per-benchmark figures are not in SPEC.md; the pa"
            "per's averages: mean 18.928 over its 4 normals benchmarks (Lotus-2 19.642); mean"
            " 15.549, median 9.300 over NYUv2, DIODE-indoor and ScanNet (Lotus-2 mean 16.558)"
        )
    )


@register
class VKITTI2Normals(_DsineSet):
    """Virtual KITTI 2 normals (200 images of each scene, 16-bit PNGs) as DSINE evaluates them.

    Example:
        >>> next(VKITTI2Normals("/data").samples()).id  # doctest: +SKIP
        'dsine_eval/vkitti/Scene01/000000_img'
    """

    name = "vkitti2-normals"
    task = "normals"
    size = 1000
    folder = "vkitti"
    layout = "dsine_eval/vkitti/<scene>/<id>_img.jpg + <id>_normal.png (16-bit)"
    paper = PaperRow(
        figure=(
            "surface normal table (Virtual KITTI 2); per-benchmark figures are not in SPEC.md"
            "; the paper's averages: mean 18.928 over its 4 normals benchmarks (Lotus-2 19.64"
            "2)"
        )
    )
