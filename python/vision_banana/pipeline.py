"""`VisionBanana`: a photo in, numbers out, through a generator.

Each task builds its prompt (or takes yours), asks the generator for a picture, decodes that
picture at the size it came in, and resizes the decoded result to the input (SPEC.md section 6):
bilinear for depth, bilinear then renormalised for normals, nearest for labels, masks and
instance ids. The colour picture itself is never resized.

Example:
    >>> import numpy as np, vision_banana as vb
    >>> from vision_banana.backends import ReferenceGenerator
    >>> truth = np.full((48, 64), 3.0, np.float32)
    >>> vision = vb.VisionBanana(ReferenceGenerator(depth=truth, degrade=True))
    >>> result = vision.depth(np.zeros((48, 64, 3), np.uint8))
    >>> result.depth.shape, round(float(np.median(result.depth)), 1)
    ((48, 64), 3.0)
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from . import _preview
from ._arrays import check_positive_int
from .backends.base import Generator, as_pil_image
from .backends.callable import CallableGenerator
from .depth import decode_depth
from .errors import InvalidArgumentError, InvalidTypeError
from .instances import Instances, extract_instances
from .io import write_image
from .normals import decode_normals
from .prompts import (
    ColorMapping,
    depth_prompt,
    instance_prompt,
    normals_prompt,
    parse_mapping,
    referring_prompt,
    semantic_prompt,
)
from .resize import resize_depth, resize_labels, resize_normals
from .segmentation import decode_referring, decode_semantic

__all__ = [
    "TASKS",
    "BatchResult",
    "DepthResult",
    "InstancesResult",
    "NormalsResult",
    "ReferringResult",
    "Result",
    "SemanticResult",
    "VisionBanana",
]

TASKS = ("depth", "normals", "semantic", "instances", "refer")

logger = logging.getLogger("vision_banana")


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
    task = "refer"

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
        records = []
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


def _names(value: Any, what: str) -> list[str]:
    names = (
        [value] if isinstance(value, str) else list(value) if isinstance(value, Iterable) else None
    )
    if not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise InvalidArgumentError(
            f"{what} must be a name or a non-empty list of names, got {value!r}"
        )
    return names


class VisionBanana:
    """Runs perception tasks through a generator (any `Generator`, or a function
    ``fn(image, prompt, seed)`` that `CallableGenerator` wraps).

    The generator's requirements are checked here, before any work (`Generator.check`).

    Args:
        generator: the backend.
        seed: passed to the generator on each call unless a call gives its own.

    Images may be PIL images, file paths, or (H, W, 3) arrays (uint8, uint16 or float in [0, 1]).
    Every result's arrays have the input's height and width.
    """

    def __init__(self, generator: Generator | Callable[..., Any], *, seed: int | None = None):
        if not isinstance(generator, Generator):
            if not callable(generator):
                raise InvalidTypeError(
                    f"generator must be a Generator or a function, got {type(generator).__name__}"
                )
            generator = CallableGenerator(generator)
        generator.check()
        self.generator = generator
        self.seed = seed

    def __repr__(self) -> str:
        return f"VisionBanana({self.generator!r})"

    # --- the tasks ------------------------------------------------------------------------------

    def _start(self, image: Any) -> tuple[Image.Image, np.ndarray]:
        picture = as_pil_image(image)
        return picture, np.asarray(picture)

    def _generate(
        self, picture: Image.Image, prompt: str, seed: int | None, timings: dict[str, float]
    ) -> tuple[Image.Image, np.ndarray]:
        start = time.perf_counter()
        answer = self.generator.generate(picture, prompt, seed=self.seed if seed is None else seed)
        timings["generate"] = timings.get("generate", 0.0) + time.perf_counter() - start
        if not isinstance(answer, Image.Image):
            raise InvalidTypeError(
                f"generator {self.generator.name} must return a PIL image, got "
                f"{type(answer).__name__}"
            )
        answer = answer if answer.mode == "RGB" else answer.convert("RGB")
        return answer, np.asarray(answer)

    @staticmethod
    def _clock(timings: dict[str, float], start: float) -> None:
        timings["decode"] = timings.get("decode", 0.0) + time.perf_counter() - start

    def depth(
        self, image: Any, *, prompt: str | None = None, seed: int | None = None, **options: Any
    ) -> DepthResult:
        """Metric depth (SPEC.md section 1). ``options`` go to `decode_depth` (``max_depth``,
        ``lam``, ``c``, ``colormap``)."""
        picture, array = self._start(image)
        text = depth_prompt() if prompt is None else prompt
        timings: dict[str, float] = {}
        generated, answer = self._generate(picture, text, seed, timings)
        start = time.perf_counter()
        depth, distance = decode_depth(answer, return_distance=True, **options)
        size = array.shape[:2]
        if depth.shape != size:
            depth, distance = resize_depth(depth, size), resize_depth(distance, size)
        self._clock(timings, start)
        return DepthResult(array, text, generated, timings, depth=depth, distance=distance)

    def normals(
        self, image: Any, *, prompt: str | None = None, seed: int | None = None, **options: Any
    ) -> NormalsResult:
        """Surface normals (SPEC.md section 2). ``options`` go to `decode_normals`."""
        picture, array = self._start(image)
        text = normals_prompt() if prompt is None else prompt
        timings: dict[str, float] = {}
        generated, answer = self._generate(picture, text, seed, timings)
        start = time.perf_counter()
        normals, valid = decode_normals(answer, **options)
        size = array.shape[:2]
        if valid.shape != size:
            normals, valid = resize_normals(normals, size, valid=valid)  # type: ignore[misc]
        self._clock(timings, start)
        return NormalsResult(array, text, generated, timings, normals=normals, valid=valid)

    def semantic(
        self,
        image: Any,
        classes: Sequence[str] | Mapping[str, Any] | ColorMapping | None = None,
        *,
        prompt: str | None = None,
        seed: int | None = None,
        style: str = "json",
        **options: Any,
    ) -> SemanticResult:
        """Semantic segmentation (SPEC.md section 3).

        Args:
            classes: class names (colours picked by `distinct_palette`), a mapping {class:
                colour}, or a `ColorMapping`. Not needed when ``prompt`` is given.
            prompt: your own prompt; the colours are then read from it with `parse_mapping`.
            style: "json" or "sentences", for the built prompt.
            options: passed to `decode_semantic` (``max_distance``, ``ignore_index``).
        """
        picture, array = self._start(image)
        if prompt is None:
            if classes is None:
                raise InvalidArgumentError("semantic needs classes (names or a mapping) or prompt=")
            if isinstance(classes, ColorMapping):
                text = semantic_prompt(
                    dict(classes.classes),
                    style=style,
                    background=classes.background,  # type: ignore[arg-type]
                )
            else:
                text = semantic_prompt(
                    classes if isinstance(classes, Mapping) else _names(classes, "classes"),
                    style=style,  # type: ignore[arg-type]
                )
        else:
            text = prompt
        mapping = parse_mapping(text)
        if not mapping.classes:
            raise InvalidArgumentError(
                f"the semantic prompt names no class with a colour: {text!r}"
            )
        timings: dict[str, float] = {}
        generated, answer = self._generate(picture, text, seed, timings)
        start = time.perf_counter()
        ignore_index = options.get("ignore_index", 255)
        labels = decode_semantic(answer, mapping, **options)
        if labels.shape != array.shape[:2]:
            labels = resize_labels(labels, array.shape[:2])
        self._clock(timings, start)
        return SemanticResult(
            array,
            text,
            generated,
            timings,
            labels=labels,
            classes=tuple(mapping.classes),
            colors=tuple(mapping.classes.values()),
            background=mapping.background,
            ignore_index=ignore_index,
        )

    def refer(
        self,
        image: Any,
        expressions: str | Sequence[str] | None = None,
        *,
        prompt: str | None = None,
        seed: int | None = None,
        colors: Sequence[Any] | None = None,
        background: Any = "black",
        **options: Any,
    ) -> ReferringResult:
        """Referring segmentation (SPEC.md section 5): one mask per expression.

        Args:
            expressions: what to segment ("the red ball"), one or several.
            prompt: your own prompt; the colours are then read from it.
            colors, background: for the built prompt (see `referring_prompt`).
            options: passed to `decode_referring` (``max_distance``).
        """
        picture, array = self._start(image)
        names = None if expressions is None else _names(expressions, "expressions")
        if prompt is None:
            if names is None:
                raise InvalidArgumentError("refer needs expressions or prompt=")
            text = referring_prompt(names, colors=colors, background=background)
        else:
            text = prompt
        mapping = parse_mapping(text)
        if not mapping.classes:
            raise InvalidArgumentError(f"the referring prompt names no colour: {text!r}")
        timings: dict[str, float] = {}
        generated, answer = self._generate(picture, text, seed, timings)
        start = time.perf_counter()
        masks = decode_referring(answer, mapping, **options)
        if masks.shape[1:] != array.shape[:2]:
            masks = resize_labels(masks, array.shape[:2])
        self._clock(timings, start)
        found = tuple(mapping.classes)
        return ReferringResult(
            array,
            text,
            generated,
            timings,
            masks=masks,
            expressions=tuple(names) if names and len(names) == len(found) else found,
            colors=tuple(mapping.classes.values()),
            background=mapping.background,
        )

    def instances(
        self,
        image: Any,
        classes: str | Sequence[str],
        *,
        prompt: str | Mapping[str, str] | None = None,
        seed: int | None = None,
        background: Any = "black",
        **options: Any,
    ) -> InstancesResult:
        """Instance segmentation (SPEC.md section 4): one generation per class.

        Args:
            classes: one class name or several.
            prompt: your own prompt (one class), or {class: prompt}; the background colour is
                read from it.
            background: the background colour of the built prompts.
            options: passed to `extract_instances` (``tau``, ``connectivity``...).
        """
        picture, array = self._start(image)
        names = _names(classes, "classes")
        if isinstance(prompt, str):
            if len(names) != 1:
                raise InvalidArgumentError(
                    f"prompt= as one text needs one class, got {len(names)}; pass {{class: prompt}}"
                )
            texts = {names[0]: prompt}
        elif isinstance(prompt, Mapping):
            missing = [n for n in names if n not in prompt]
            if missing:
                raise InvalidArgumentError(f"prompt= has no prompt for the classes {missing}")
            texts = {n: prompt[n] for n in names}
        elif prompt is None:
            texts = {n: instance_prompt(n, background=background) for n in names}
        else:
            raise InvalidTypeError(f"prompt must be text or a mapping, got {type(prompt).__name__}")
        timings: dict[str, float] = {"generate": 0.0, "decode": 0.0}
        found: dict[str, Instances] = {}
        pictures: dict[str, Image.Image] = {}
        h, w = array.shape[:2]
        for name, text in texts.items():
            bg = parse_mapping(text).background
            generated, answer = self._generate(picture, text, seed, timings)
            start = time.perf_counter()
            result = extract_instances(answer, background=bg, **options)
            if result.ids.shape != (h, w):
                result = result.resize(h, w)
            self._clock(timings, start)
            found[name] = result
            pictures[name] = generated
        return InstancesResult(
            array,
            "\n".join(texts.values()),
            next(iter(pictures.values())),
            timings,
            instances=found,
            prompts=texts,
            pictures=pictures,
        )

    # --- many images ----------------------------------------------------------------------------

    def run_batch(
        self,
        task: str,
        images: Sequence[Any],
        *args: Any,
        progress: bool = True,
        workers: int = 1,
        **kwargs: Any,
    ) -> BatchResult:
        """Runs one task on many images, going on past failures.

        Args:
            task: one of ``TASKS``: "depth", "normals", "semantic", "instances", "refer".
            images: the input images.
            args, kwargs: passed to the task's method for every image.
            progress: show a progress bar on stderr when the optional ``tqdm`` is installed.
            workers: images in flight at once (threads). More than one pays off with a remote
                generator, whose requests wait on the network (`GeminiGenerator` limits its
                own concurrency too); the generator must then be safe to call from several
                threads, as this package's backends are. Results keep the input order.

        Returns:
            `BatchResult`: a result per image (None where it failed) and the failures as
            ``(index, error)``. When some failed, a summary is also logged (logger
            "vision_banana", level WARNING) at the end.
        """
        if task not in TASKS:
            raise InvalidArgumentError(f"task must be one of {TASKS}, got {task!r}")
        workers = check_positive_int(workers, "workers")
        method = getattr(self, task)
        items = list(images)

        def run(image: Any) -> Result | BaseException:
            try:
                return method(image, *args, **kwargs)
            except Exception as error:  # keep going: one bad image must not lose the others
                return error

        results: list[Result | None] = []
        failures: list[tuple[int, BaseException]] = []
        # Threads start only when asked for; map keeps the input order.
        with ThreadPoolExecutor(workers, thread_name_prefix="vision-banana") as pool:
            outcomes: Iterable[Any] = pool.map(run, items) if workers > 1 else map(run, items)
            if progress:
                try:
                    from tqdm.auto import tqdm
                except ImportError:
                    pass
                else:
                    outcomes = tqdm(outcomes, len(items), desc=task, unit="image", file=sys.stderr)
            for index, outcome in enumerate(outcomes):
                failed = isinstance(outcome, BaseException)
                results.append(None if failed else outcome)
                if failed:
                    failures.append((index, outcome))
        batch = BatchResult(results, failures)
        if failures:
            logger.warning("%s", batch.report())
        return batch
