"""ReasonSeg val (200 images): ``text[0]`` asked, gIoU with ignored pixels left out
(BENCHMARKS.md, reasoning).

The mask is drawn as dvlab-research/LISA's ``utils/data_processing.py`` ``get_mask_from_json``
draws it, with OpenCV as there: shapes labelled "flag" are skipped, the others filled (outline
and inside, points truncated to integers) from the largest area to the smallest, "ignore" shapes
with 255 (not scored) and target shapes with 1, so a smaller shape drawn later wins where they
overlap.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import ImageReadError, InvalidArgumentError
from ...io import read_image
from ._groundtruth import refuse_split, sample_id
from .base import Benchmark, PaperRow, ReferringTruth, Sample, register

__all__ = ["ReasonSeg", "read_reasonseg_mask"]


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as err:  # pragma: no cover - the test extra installs it
        raise ImportError(
            "the reasonseg benchmark draws its polygons with OpenCV, as LISA does: "
            "pip install 'vision-banana[eval]' (or opencv-python-headless)"
        ) from err
    return cv2


def _read_annotation(path: Path) -> dict[str, Any]:
    """The JSON as LISA reads it: UTF-8, or Windows-1252 where that fails."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ImageReadError(f"{path}: cannot read the annotation: {err}") from err
    for encoding in ("utf-8", "cp1252"):
        try:
            content = json.loads(raw.decode(encoding))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(content, dict):
            return content
    raise ImageReadError(f"{path}: not a ReasonSeg annotation (a JSON object with shapes, text)")


def _draw(mask: NDArray[np.uint8], points: Any, value: int) -> None:
    cv2 = _cv2()
    polygon = np.array([points], dtype=np.int32)
    cv2.polylines(mask, polygon, True, value, 1)
    cv2.fillPoly(mask, polygon, value)


def read_reasonseg_mask(path: Path, shape: tuple[int, int]) -> ReferringTruth:
    """The truth of ``<name>.json`` for a photo of (H, W) = ``shape``.

    Raises:
        ImageReadError: not JSON, or shapes without label and points.
    """
    annotation = _read_annotation(path)
    try:
        shapes = [(s["label"], s["points"]) for s in annotation["shapes"]]
    except (KeyError, TypeError) as err:
        raise ImageReadError(f"{path}: every shape needs a label and points ({err})") from err
    kept, areas = [], []
    for label, points in shapes:
        if label.lower() == "flag":  # deprecated annotations, as LISA skips them
            continue
        alone = np.zeros(shape, np.uint8)
        _draw(alone, points, 1)
        kept.append((label, points))
        areas.append(int(alone.sum()))
    mask = np.zeros(shape, np.uint8)
    # np.argsort(...)[::-1] as LISA: the largest first, equal areas in reverse order.
    for index in np.argsort(areas)[::-1]:
        label, points = kept[index]
        _draw(mask, points, 255 if "ignore" in label.lower() else 1)
    return ReferringTruth(mask == 1, valid=mask != 255)


def _first_text(path: Path) -> str:
    annotation = _read_annotation(path)
    text = annotation.get("text")
    if isinstance(text, str):
        text = [text]
    if not isinstance(text, list) or not text or not isinstance(text[0], str):
        raise InvalidArgumentError(f"root: {path} has no query (text must be a list of texts)")
    return text[0].strip()


@register
class ReasonSeg(Benchmark):
    """ReasonSeg val: ``ReasonSeg/val/<name>.jpg`` with ``<name>.json`` beside it.

    Example:
        >>> sample = next(ReasonSeg("/data/lisa").samples())
        >>> sample.query                                             # doctest: +SKIP
        'the object used to stir the coffee'
    """

    name = "reasonseg"
    task = "referring"
    size = 200
    layout = "ReasonSeg/val/<name>.jpg + <name>.json (text, is_sentence, shapes[{label, points}])"
    protocol = (
        "text[0] asked; polygons filled largest first, target 1, ignore 255 (out of I and U), "
        "flag skipped; gIoU = mean I/U (headline), cIoU = sum I / sum U"
    )
    source = (
        "BENCHMARKS.md; dvlab-research/LISA utils/data_processing.py get_mask_from_json, "
        "train_ds.py validate"
    )
    paper = PaperRow(
        figure="reasoning segmentation table (ReasonSeg val)",
        ours={"giou": 0.793},
        peer=("SAM 3 Agent", {"giou": 0.770}),
    )

    def __init__(self, root: str | Path, **options: Any) -> None:
        super().__init__(root, **options)
        refuse_split(self)
        folder = self.root / "ReasonSeg" / "val"
        photos = sorted(folder.glob("*.jpg"))
        if not photos:
            raise self.missing(folder / "<name>.jpg")
        self._pairs: list[tuple[Path, Path, str]] = []
        for photo in photos:
            annotation = photo.with_suffix(".json")
            if not annotation.is_file():
                raise self.missing(annotation)
            self._pairs.append((photo, annotation, _first_text(annotation)))

    def samples(self) -> Iterator[Sample]:
        for photo, annotation, text in self._pairs:
            load = partial(self._truth, photo, annotation)
            yield Sample(sample_id(self.root, photo), photo, load, query=text)

    @staticmethod
    def _truth(photo: Path, annotation: Path) -> ReferringTruth:
        h, w = read_image(photo).shape[:2]
        return read_reasonseg_mask(annotation, (h, w))
