"""Many picture files decoded at once, in Rust threads, with the GIL released.

Each worker thread reads a file (or takes its bytes), decodes the PNG and runs the task's decoder
on it, so that a picture goes from disk to numbers on one core. Results come back one at a time,
in input order, and only a few are held at once (twice the number of workers), so that memory
stays bounded over any number of files. Files that are not PNG (JPEG, WebP...) are read with
Pillow in the calling thread and decoded the same way.

Example:
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> import vision_banana as vb
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> vb.write_image(folder / "a.png", vb.encode_depth(np.full((4, 6), 2.5, np.float32)))
    >>> for depth in vb.decode_files("depth", [folder / "a.png", b"not a picture"], workers=2):
    ...     if isinstance(depth, Exception):
    ...         print("failed:", depth)
    ...     else:
    ...         print(depth.shape, round(float(depth.mean()), 2))
    (4, 6) 2.5
    failed: cannot read image <bytes: sources[1]>: not an image file in a format Pillow reads
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from . import _core
from ._arrays import check_positive_int
from .depth import decode_depth
from .depth import decode_options as depth_options
from .errors import ImageReadError, InvalidArgumentError, InvalidTypeError
from .instances import Instances, _params, extract_instances
from .io import decode_image, max_image_pixels
from .normals import decode_normals
from .normals import decode_options as normals_options
from .semantic import (
    _palette_array,
    decode_referring,
    decode_semantic,
    referent_masks,
    semantic_options,
)

__all__ = ["TASKS", "decode_files"]

#: The tasks `decode_files` decodes, and the function whose options each one takes.
TASKS: dict[str, Callable[..., Any]] = {
    "depth": decode_depth,
    "normals": decode_normals,
    "semantic": decode_semantic,
    "referring": decode_referring,
    "instances": extract_instances,
}

Source = str | os.PathLike[str] | bytes | bytearray | memoryview


class _Plan:
    """One task with its options: the core's arguments, how to finish the core's arrays into the
    decoder's result, and the decoder itself for pictures that are not PNG."""

    def __init__(
        self,
        core: dict[str, Any],
        finish: Callable[[tuple[Any, ...]], Any],
        decoder: Callable[[Any], Any],
    ) -> None:
        self.core, self.finish, self.decoder = core, finish, decoder


def _options(task: str, given: dict[str, Any]) -> dict[str, Any]:
    """The decoder's keyword options: its defaults overridden by `given` (unknown ones refused)."""
    parameters = inspect.signature(TASKS[task]).parameters
    defaults = {n: p.default for n, p in parameters.items() if p.kind is p.KEYWORD_ONLY}
    required = [n for n, p in list(parameters.items())[1:] if p.kind is p.POSITIONAL_OR_KEYWORD]
    unknown = sorted(set(given) - set(defaults) - set(required))
    if unknown:
        raise InvalidTypeError(
            f"decode_files({task!r}) got unknown option(s) {', '.join(unknown)}; "
            f"{TASKS[task].__name__} takes {', '.join(required + list(defaults))}"
        )
    missing = [n for n in required if n not in given]
    if missing:
        raise InvalidArgumentError(f"decode_files({task!r}) needs {', '.join(missing)}=")
    return {**defaults, **given}


def _plan(task: str, given: dict[str, Any]) -> _Plan:
    options = _options(task, given)
    decoder = functools.partial(TASKS[task], **given)
    distance = bool(options.get("return_distance", False))
    keep_first: Callable[[tuple[Any, ...]], Any] = (lambda a: a) if distance else (lambda a: a[0])
    if task == "depth":
        return _Plan({"depth": depth_options(**options)}, keep_first, decoder)
    if task == "normals":
        return _Plan({"normals": normals_options(**options)}, lambda a: a, decoder)
    if task == "instances":
        return _Plan({"instances": _params(**options)}, Instances._from_core, decoder)
    colors = options.pop("colors")
    if task == "semantic":
        options.pop("return_distance")
        core = {"semantic": (*semantic_options(colors, **options), distance)}
        return _Plan(core, keep_first, decoder)
    count = len(_palette_array(colors))  # referring: as decode_referring
    core = {"semantic": (*semantic_options(colors, ignore_index=count, **options), False)}
    return _Plan(core, lambda a: referent_masks(a[0], count), decoder)


def _label(source: Source, index: int) -> str:
    if isinstance(source, (str, os.PathLike)):
        return f"'{os.fsdecode(source)}'"
    return f"<bytes: sources[{index}]>"


def decode_files(
    task: str, sources: Sequence[Source], *, workers: int | None = None, **decoder_options: Any
) -> Iterator[Any]:
    """Reads and decodes many picture files, on `workers` threads, yielding results in order.

    Args:
        task: ``"depth"``, ``"normals"``, ``"semantic"``, ``"referring"`` or ``"instances"``.
        sources: file paths (``str`` or ``os.PathLike``) or encoded files (``bytes``,
            ``bytearray``, ``memoryview``), mixed as you like.
        workers: how many threads read and decode at once (default: the CPU count). Each
            picture is read and decoded on one thread; at most ``2 * workers`` results are held
            at a time, so memory does not grow with the number of sources.
        decoder_options: the keyword options of the task's decoder (`decode_depth`,
            `decode_normals`, `decode_semantic` and `decode_referring` with ``colors=``,
            `extract_instances`), checked once, before any file is read.

    Yields:
        One item per source, in input order: what the decoder returns for the picture read as
        RGB (as ``decoder(read_image(source), **decoder_options)`` would), or, for a source that
        failed, the exception itself, returned, not raised: an `ImageReadError` (missing,
        unreadable, corrupt, truncated or oversized file, data that is not an image) or an
        `InvalidArgumentError`. The other sources go on.

    Raises:
        InvalidArgumentError: an unknown task, bad decoder options, a bad ``workers``.
        InvalidTypeError: ``sources`` is not a sequence of paths and bytes; unknown options.

    Example:
        >>> import numpy as np
        >>> from vision_banana import encode_semantic
        >>> from vision_banana.io import write_image
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "seg.png"
        >>> write_image(path, encode_semantic(np.array([[0, 1], [1, 0]]), ["red", "blue"]))
        >>> results = list(decode_files("semantic", [path, path.read_bytes(), b"no"],
        ...                             colors={"cat": "red", "dog": "blue"}))
        >>> results[0].tolist(), results[1].tolist(), type(results[2]).__name__
        ([[0, 1], [1, 0]], [[0, 1], [1, 0]], 'ImageReadError')
    """
    if not isinstance(task, str) or task not in TASKS:
        raise InvalidArgumentError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    if isinstance(sources, (str, bytes, bytearray, memoryview, os.PathLike)) or not isinstance(
        sources, Sequence
    ):
        raise InvalidTypeError(
            f"sources must be a sequence (list, tuple) of paths or bytes, got "
            f"{type(sources).__name__}"
        )
    items: list[str | bytes] = []
    for i, source in enumerate(sources):
        if isinstance(source, (str, os.PathLike)):
            items.append(os.fsdecode(source))
        elif isinstance(source, (bytes, bytearray, memoryview)):
            items.append(bytes(source) if not isinstance(source, bytes) else source)
        else:
            raise InvalidTypeError(
                f"sources[{i}] must be a path or the bytes of an image file, got "
                f"{type(source).__name__}"
            )
    count = (os.cpu_count() or 1) if workers is None else check_positive_int(workers, "workers")
    plan = _plan(task, decoder_options)
    labels = [_label(s, i) for i, s in enumerate(sources)]
    decoding = _core.decode_files(items, labels, max_image_pixels(), count, **plan.core)
    return _results(decoding, plan, labels)


def _results(decoding: _core.FileDecoding, plan: _Plan, labels: list[str]) -> Iterator[Any]:
    for label, item in zip(labels, decoding, strict=True):
        if isinstance(item, BaseException):
            yield item
        elif isinstance(item, bytes):  # not a PNG: Pillow reads it, the decoder decodes it
            try:
                yield plan.decoder(decode_image(item, label))
            except (ImageReadError, InvalidArgumentError, InvalidTypeError) as err:
                yield err
        else:
            yield plan.finish(item)
