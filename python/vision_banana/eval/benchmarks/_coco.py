"""COCO-format annotation files, read with pycocotools, for the segmentation adapters.

pycocotools is what the peers' evaluations use to turn polygons and run-length encodings into
masks (``COCO.annToMask``); it is imported here, on first use, with an error that says how to
install it.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import InvalidArgumentError

__all__ = ["load_coco", "read_json", "to_mask"]


def read_json(path: Path, what: str) -> Any:
    """A JSON file's content; a file that is not JSON is an error naming it and ``what``."""
    try:
        with path.open(encoding="utf-8") as file:
            return json.load(file)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidArgumentError(f"root: cannot read {what} {str(path)!r}: {err}") from err


def load_coco(dataset: dict[str, Any]) -> Any:
    """A ``pycocotools.coco.COCO`` index over a loaded COCO dictionary (its progress lines,
    printed on stdout, swallowed)."""
    try:
        from pycocotools.coco import COCO  # type: ignore[import-untyped]
    except ImportError as err:  # pragma: no cover - the test extra installs it
        raise ImportError(
            "the refcocog and saco-gold benchmarks read masks with pycocotools: "
            "pip install 'vision-banana[eval]' (or pycocotools)"
        ) from err
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = dataset
        coco.createIndex()
    return coco


def to_mask(coco: Any, annotation: dict[str, Any]) -> NDArray[np.bool_]:
    """One annotation's mask (polygons, RLE or compressed RLE) at its image's (H, W), as
    ``COCO.annToMask`` draws it."""
    mask: NDArray[np.bool_] = coco.annToMask(annotation).astype(bool)
    return mask
