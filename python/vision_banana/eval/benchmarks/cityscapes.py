"""Cityscapes val (500 images), the 19 train classes, mIoU over one confusion matrix
(BENCHMARKS.md, semantic).

Label ids become train ids as mcordts/cityscapesScripts ``cityscapesscripts/helpers/labels.py``
lists them; every other id (void, license plate, the classes not trained on) is 255 and not
scored. The prompt names all 19 classes every time, present or not, in colours chosen by
``palette``: "distinct" (`distinct_palette`, far from each other and from the black background)
or "cityscapes" (the dataset's own colours from the same ``labels.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...colors import RGB, distinct_palette
from ...errors import ImageReadError, InvalidArgumentError
from ...io import read_image
from ._groundtruth import refuse_split, sample_id
from .base import Benchmark, PaperRow, Sample, SemanticTruth, register

__all__ = ["CLASSES", "PALETTES", "Cityscapes", "palette_colors", "read_label_ids"]

# (train id order) name, label id, the dataset's colour.
_TRAIN_CLASSES: tuple[tuple[str, int, RGB], ...] = (
    ("road", 7, (128, 64, 128)),
    ("sidewalk", 8, (244, 35, 232)),
    ("building", 11, (70, 70, 70)),
    ("wall", 12, (102, 102, 156)),
    ("fence", 13, (190, 153, 153)),
    ("pole", 17, (153, 153, 153)),
    ("traffic light", 19, (250, 170, 30)),
    ("traffic sign", 20, (220, 220, 0)),
    ("vegetation", 21, (107, 142, 35)),
    ("terrain", 22, (152, 251, 152)),
    ("sky", 23, (70, 130, 180)),
    ("person", 24, (220, 20, 60)),
    ("rider", 25, (255, 0, 0)),
    ("car", 26, (0, 0, 142)),
    ("truck", 27, (0, 0, 70)),
    ("bus", 28, (0, 60, 100)),
    ("train", 31, (0, 80, 100)),
    ("motorcycle", 32, (0, 0, 230)),
    ("bicycle", 33, (119, 11, 32)),
)
#: The 19 train classes, in train-id order.
CLASSES: tuple[str, ...] = tuple(name for name, _, _ in _TRAIN_CLASSES)
#: The ``palette`` options.
PALETTES = ("distinct", "cityscapes")


@functools.cache
def palette_colors(palette: str) -> Mapping[str, RGB]:
    """The prompt colours of a ``palette`` option, class name to (r, g, b). Worked out on first
    use, not at import: `distinct_palette` takes about 0.1 s."""
    if palette == "distinct":
        return MappingProxyType(dict(zip(CLASSES, distinct_palette(len(CLASSES)), strict=True)))
    return MappingProxyType({name: rgb for name, _, rgb in _TRAIN_CLASSES})


_TRAIN_ID = np.full(256, 255, np.uint8)
for _train_id, _entry in enumerate(_TRAIN_CLASSES):
    _TRAIN_ID[_entry[1]] = _train_id


def read_label_ids(path: Path) -> SemanticTruth:
    """``*_gtFine_labelIds.png``: 8-bit label ids, as train ids 0..18 and 255 elsewhere.

    Raises:
        ImageReadError: unreadable, or not a single-channel 8-bit picture.
    """
    stored = read_image(path, mode="keep")
    if stored.ndim != 2 or stored.dtype != np.uint8:
        raise ImageReadError(
            f"{path}: expected 8-bit single-channel label ids, got {stored.dtype} {stored.shape}"
        )
    labels: NDArray[np.uint8] = _TRAIN_ID[stored]
    return SemanticTruth(labels)


@register
class Cityscapes(Benchmark):
    """Cityscapes val: ``leftImg8bit/val/<city>/<stem>_leftImg8bit.png`` with
    ``gtFine/val/<city>/<stem>_gtFine_labelIds.png``.

    Args:
        root: the folder holding ``leftImg8bit/`` and ``gtFine/``.
        palette: the prompt's colours, "distinct" (default) or "cityscapes".

    Example:
        >>> bench = Cityscapes("/data/cityscapes", palette="cityscapes")  # doctest: +SKIP
        >>> next(bench.samples()).id  # doctest: +SKIP
        'leftImg8bit/val/frankfurt/frankfurt_000000_000294_leftImg8bit'
    """

    name = "cityscapes"
    task = "semantic"
    size = 500
    layout = (
        "leftImg8bit/val/<city>/<stem>_leftImg8bit.png + "
        "gtFine/val/<city>/<stem>_gtFine_labelIds.png"
    )
    source = (
        "BENCHMARKS.md; train ids of mcordts/cityscapesScripts helpers/labels.py; mIoU as "
        "open-mmlab/mmsegmentation mmseg/evaluation/metrics/iou_metric.py"
    )
    paper = PaperRow(
        figure="semantic segmentation table (Cityscapes val)",
        ours={"miou": 0.699},
        peer=("SAM 3", {"miou": 0.652}),
    )

    def __init__(self, root: str | Path, *, palette: str = "distinct", **options: Any) -> None:
        super().__init__(root, **options)
        refuse_split(self)
        if palette not in PALETTES:
            raise InvalidArgumentError(
                f"palette must be one of {', '.join(PALETTES)}, got {palette!r}"
            )
        self.palette = palette
        self.classes = palette_colors(palette)
        self.protocol = (
            f"label ids to the 19 train ids, others ignored (255); all 19 classes prompted in "
            f"{palette} colours, background counted wrong; one confusion matrix over the set, "
            "IoU per class, mean over classes present"
        )
        folder = self.root / "leftImg8bit" / "val"
        photos = sorted(folder.glob("*/*_leftImg8bit.png"))
        if not photos:
            raise self.missing(folder / "<city>" / "<stem>_leftImg8bit.png")
        self._pairs: list[tuple[Path, Path]] = []
        for photo in photos:
            stem = photo.name.removesuffix("_leftImg8bit.png")
            truth = self.root / "gtFine" / "val" / photo.parent.name / f"{stem}_gtFine_labelIds.png"
            if not truth.is_file():
                raise self.missing(truth)
            self._pairs.append((photo, truth))

    def samples(self) -> Iterator[Sample]:
        for photo, truth in self._pairs:
            yield Sample(sample_id(self.root, photo), photo, partial(read_label_ids, truth))
