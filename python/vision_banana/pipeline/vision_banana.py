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

import logging
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
from PIL import Image

from .._arrays import check_positive_int
from ..backends.base import Generator, as_pil_image
from ..backends.callable import CallableGenerator
from ..depth import decode_depth
from ..errors import InvalidArgumentError, InvalidTypeError
from ..instances import Instances, extract_instances
from ..normals import decode_normals
from ..prompts import (
    ColorMapping,
    depth_prompt,
    instance_prompt,
    normals_prompt,
    parse_mapping,
    referring_prompt,
    semantic_prompt,
)
from ..resize import resize_depth, resize_labels, resize_normals
from ..semantic import decode_referring, decode_semantic
from .results import (
    BatchResult,
    DepthResult,
    InstancesResult,
    NormalsResult,
    ReferringResult,
    Result,
    SemanticResult,
)

__all__ = ["TASKS", "VisionBanana"]

#: The task names, as the CLI, the result types and the decoders spell them.
TASKS = ("depth", "normals", "semantic", "referring", "instances")
# Old spellings that still work, with a DeprecationWarning.
_OLD_TASK_NAMES = {"refer": "referring"}

logger = logging.getLogger("vision_banana")


def _names(value: Any, what: str) -> list[str]:
    names = (
        [value] if isinstance(value, str) else list(value) if isinstance(value, Iterable) else None
    )
    if not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise InvalidArgumentError(
            f"{what} must be a name or a non-empty list of names, got {value!r}"
        )
    return names


def _renamed(old: str, new: str) -> str:
    warnings.warn(
        f"the task name {old!r} is deprecated; use {new!r}", DeprecationWarning, stacklevel=3
    )
    return new


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
            normals, valid = resize_normals(normals, size, valid=valid)
        self._clock(timings, start)
        return NormalsResult(array, text, generated, timings, normals=normals, valid=valid)

    def semantic(
        self,
        image: Any,
        classes: Sequence[str] | Mapping[str, Any] | ColorMapping | None = None,
        *,
        prompt: str | None = None,
        seed: int | None = None,
        style: Literal["json", "sentences"] = "json",
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
                    background=classes.background,
                )
            else:
                text = semantic_prompt(
                    classes if isinstance(classes, Mapping) else _names(classes, "classes"),
                    style=style,
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

    def referring(
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
                raise InvalidArgumentError("referring needs expressions or prompt=")
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

    def refer(self, *args: Any, **kwargs: Any) -> ReferringResult:
        """Deprecated name of `referring`."""
        _renamed("refer", "referring")
        return self.referring(*args, **kwargs)

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
            task: one of ``TASKS``: "depth", "normals", "semantic", "referring", "instances"
                ("refer", the old name of "referring", still works with a DeprecationWarning).
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
        if task in _OLD_TASK_NAMES:
            task = _renamed(task, _OLD_TASK_NAMES[task])
        if task not in TASKS:
            raise InvalidArgumentError(f"task must be one of {TASKS}, got {task!r}")
        workers = check_positive_int(workers, "workers")
        method: Callable[..., Result] = getattr(self, task)
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
                    outcomes = tqdm(
                        outcomes, total=len(items), desc=task, unit="image", file=sys.stderr
                    )
            for index, outcome in enumerate(outcomes):
                failed = isinstance(outcome, BaseException)
                results.append(None if failed else outcome)
                if failed:
                    failures.append((index, outcome))
        batch = BatchResult(results, failures)
        if failures:
            logger.warning("%s", batch.report())
        return batch
