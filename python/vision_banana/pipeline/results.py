"""What each task of `VisionBanana` returns: the decoded arrays with the input, prompt, picture
and timings, and how a result saves itself and draws its preview."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from .. import _preview
from ..instances import Instances
from ..io import write_image

__all__ = [
    "BatchResult",
    "DepthResult",
    "InstancesResult",
    "NormalsResult",
    "ReferringResult",
    "Result",
    "SemanticResult",
]


@dataclass(eq=False)
class Result:
    """What every task returns besides its arrays.

    Attributes:
        image: the input as (H, W, 3) uint8; every array of the result has its H and W.
        prompt: the prompt sent (for instances, one line per class).
        generated: the generator's picture (for instances, that of the first class; all are in
            ``InstancesResult.pictures``).
        timings: seconds spent, ``{"generate": ..., "decode": ...}`` (decode includes resizing).
    """

    image: NDArray[np.uint8]
    prompt: str
    generated: Image.Image
    timings: dict[str, float]

    task = "result"

    def _arrays(self) -> dict[str, np.ndarray]:
        """Arrays to save: the main one under "" (``<stem>.npy``), others as
        ``<stem>.<key>.npy``."""
        raise NotImplementedError

    def _shade(self) -> np.ndarray:
        raise NotImplementedError

    def _pictures(self) -> dict[str, Image.Image]:
        return {"generated": self.generated}

    def preview(self) -> Image.Image:
        """The input beside a picture of the result, both at the input's size."""
        return Image.fromarray(_preview.side_by_side(self.image, self._shade()), "RGB")

    def save(self, directory: str | Path, stem: str = "result") -> list[Path]:
        """Writes ``<stem>.npy`` (the main array), any other arrays as ``<stem>.<name>.npy``,
        ``<stem>.preview.png``, ``<stem>.prompt.txt`` and the generated picture(s) as
        ``<stem>.generated*.png`` into ``directory`` (created if missing).

        Returns:
            The paths written.
        """
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for key, array in self._arrays().items():
            path = folder / (f"{stem}.npy" if not key else f"{stem}.{key}.npy")
            np.save(path, array)
            written.append(path)
        for key, picture in self._pictures().items():
            path = folder / f"{stem}.{key}.png"
            picture.save(path)
            written.append(path)
        preview = folder / f"{stem}.preview.png"
        write_image(preview, np.asarray(self.preview()))
        prompt = folder / f"{stem}.prompt.txt"
        prompt.write_text(self.prompt + "\n", encoding="utf-8")
        written += [preview, prompt]
        extra = self._metadata()
        if extra is not None:
            path = folder / f"{stem}.json"
            path.write_text(json.dumps(extra, indent=2) + "\n", encoding="utf-8")
            written.append(path)
        return written

    def _metadata(self) -> Any:
        return None


@dataclass(eq=False)
class DepthResult(Result):
    """Attributes: depth: (H, W) float32 metres; distance: (H, W) float32 distance of each colour
    from the code's curve (a per-pixel confidence: 0 is on the curve)."""

    depth: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    distance: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    task = "depth"

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"": self.depth, "distance": self.distance}

    def _shade(self) -> np.ndarray:
        return _preview.depth_shade(self.depth)

    def preview(self) -> Image.Image:
        """The input, its depth (viridis on inverse depth, near is bright) and a colour bar in
        metres side by side: (H, 2 W + `_preview.BAR_WIDTH`) pixels for an (H, W) input."""
        return Image.fromarray(_preview.depth_preview(self.image, self.depth), "RGB")


@dataclass(eq=False)
class NormalsResult(Result):
    """Attributes: normals: (H, W, 3) float32 unit vectors in the paper's camera frame (zero where
    invalid); valid: (H, W) bool."""

    normals: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0, 3), np.float32))
    valid: NDArray[np.bool_] = field(default_factory=lambda: np.zeros((0, 0), bool))
    task = "normals"

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"": self.normals, "valid": self.valid}

    def _shade(self) -> np.ndarray:
        return _preview.normals_shade(self.normals, self.valid)


@dataclass(eq=False)
class SemanticResult(Result):
    """Attributes: labels: (H, W) label map, label i = ``classes[i]``, ``ignore_index`` (255) for
    background and unlabelled pixels; classes and colors: the prompt's classes and their RGB
    colours, in label order; background: the prompt's background colour."""

    labels: NDArray[np.unsignedinteger] = field(default_factory=lambda: np.zeros((0, 0), np.uint8))
    classes: tuple[str, ...] = ()
    colors: tuple[tuple[int, int, int], ...] = ()
    background: tuple[int, int, int] = (0, 0, 0)
    ignore_index: int = 255
    task = "semantic"

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"": self.labels}

    def _shade(self) -> np.ndarray:
        return _preview.labels_shade(self.labels, self.colors, self.background)

    def _metadata(self) -> Any:
        return {
            "classes": list(self.classes),
            "colors": [list(c) for c in self.colors],
            "ignore_index": self.ignore_index,
        }


@dataclass(eq=False)
class ReferringResult(Result):
    """Attributes: masks: (K, H, W) bool, one per expression; expressions and colors, in mask
    order; background: the prompt's background colour."""

    masks: NDArray[np.bool_] = field(default_factory=lambda: np.zeros((0, 0, 0), bool))
    expressions: tuple[str, ...] = ()
    colors: tuple[tuple[int, int, int], ...] = ()
    background: tuple[int, int, int] = (0, 0, 0)
    task = "referring"

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"": self.masks}

    def _shade(self) -> np.ndarray:
        return _preview.masks_shade(self.masks, self.colors, self.background)

    def _metadata(self) -> Any:
        return {"expressions": list(self.expressions), "colors": [list(c) for c in self.colors]}


@dataclass(eq=False)
class InstancesResult(Result):
    """Attributes: instances: {class: `Instances`} at the input's size, one generation per class;
    prompts and pictures: the prompt and the generated picture of each class."""

    instances: dict[str, Instances] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    pictures: dict[str, Image.Image] = field(default_factory=dict)
    task = "instances"

    def ids(self) -> tuple[NDArray[np.uint32], list[str]]:
        """All classes in one (H, W) uint32 id map (0 = background; a later class wins where
        two overlap), and the class of each id: ``classes[id - 1]``."""
        h, w = self.image.shape[:2]
        ids = np.zeros((h, w), np.uint32)
        classes: list[str] = []
        for name, found in self.instances.items():
            hit = found.ids > 0
            ids[hit] = found.ids[hit] + len(classes)
            classes += [name] * len(found)
        return ids, classes

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"": self.ids()[0]}

    def _pictures(self) -> dict[str, Image.Image]:
        return {
            f"generated.{i}" if len(self.pictures) > 1 else "generated": picture
            for i, picture in enumerate(self.pictures.values())
        }

    def _shade(self) -> np.ndarray:
        return _preview.ids_shade(self.ids()[0])

    def _metadata(self) -> Any:
        records: list[dict[str, Any]] = []
        for name, found in self.instances.items():
            for item in found:
                records.append(
                    {
                        "id": len(records) + 1,
                        "class": name,
                        "area": item.area,
                        "bbox": list(item.bbox),
                        "score": round(item.score, 4),
                        "color": [round(c, 1) for c in item.color],
                    }
                )
        return {"classes": list(self.instances), "instances": records}


@dataclass(eq=False)
class BatchResult:
    """What `VisionBanana.run_batch` returns.

    Attributes:
        results: one result per image, None where that image failed.
        failures: ``(index, error)`` for each failed image, in order.
    """

    results: list[Result | None]
    failures: list[tuple[int, BaseException]]

    def report(self) -> str:
        """One line per failure, preceded by a count; "" when none failed."""
        if not self.failures:
            return ""
        lines = [f"{len(self.failures)} of {len(self.results)} images failed:"]
        lines += [f"  image {i}: {type(e).__name__}: {e}" for i, e in self.failures]
        return "\n".join(lines)
