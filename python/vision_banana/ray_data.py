"""Generation and decoding at scale on Ray Data (``pip install "vision-banana[ray]"``).

Three functions plug the package into Ray Data, the engine people already use for batch
inference; there is no scheduler of our own:

- `decode_batch`: a plain function on a numpy-format batch (``dict[str, np.ndarray]``) whose
  picture column holds encoded PNG/JPEG bytes. It needs no engine: Ray Data, Hugging Face
  ``datasets.map(batched=True)``, Spark's ``mapInArrow`` or a plain loop can call it.
- `decode_dataset`: `decode_batch` over a `ray.data.Dataset`, on a pool of Ray tasks (CPU).
- `generate_dataset`: a generator over a dataset of photos, on a pool of Ray actors, each
  building its generator once (on a GPU with ``num_gpus=``), with one rate limit over all of them.

The columns they write (the Parquet schema of ``vision-banana scale``; README "At scale"):

- ``prompt`` (string), ``picture`` (binary, PNG): what `generate_dataset` asked and got;
- ``result``: depth (float32 metres, (H, W)), normals (float32 (H, W, 3), the zero vector where
  invalid) and semantic labels ((H, W) uint8 or uint16) as ``.npy`` bytes (``np.load`` reads
  them); referring masks as COCO RLE JSON text (a list, one ``{"size", "counts"}`` per referent)
  and instances as JSON text (one ``{"id", "color", "area", "bbox", "score", "segmentation"}``
  record per instance, the segmentation a COCO RLE);
- ``shape`` (list of int64): the result's shape; (K, H, W) for referring masks and instances;
- ``error`` (string): None when the row is fine, else what went wrong with it (the exception's
  type and message). One bad row never fails its batch: its result and shape are None.

Ray is imported only when a function needs it, so the rest of the package installs light.

Example (no engine needed):
    >>> import numpy as np, vision_banana as vb
    >>> from vision_banana.io import png_bytes
    >>> from vision_banana.ray_data import decode_batch
    >>> picture = png_bytes(vb.encode_depth(np.full((2, 3), 2.5, np.float32)))
    >>> batch = {"picture": np.array([picture, b"not a picture"], dtype=object)}
    >>> out = decode_batch(batch, task="depth")
    >>> out["shape"][0], out["error"][0], out["result"][1]
    ([2, 3], None, None)
    >>> np.load(io.BytesIO(out["result"][0])).round(2).tolist()
    [[2.5, 2.5, 2.5], [2.5, 2.5, 2.5]]
    >>> print(out["error"][1])
    ImageReadError: cannot read image <bytes in 'picture'>: not an image file in a format Pillow
    reads
"""

from __future__ import annotations

import argparse
import functools
import inspect
import io
import json
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._arrays import check_positive_int
from ._cli_decode import instance_records
from .backends.base import Generator
from .errors import InvalidArgumentError, InvalidTypeError
from .files import TASKS, _plan, decode_files
from .instances import coco_rle
from .io import png_bytes, read_image
from .prompts import (
    ColorMapping,
    depth_prompt,
    instance_prompt,
    normals_prompt,
    parse_mapping,
    referring_prompt,
    semantic_prompt,
)

__all__ = [
    "connect",
    "decode_batch",
    "decode_dataset",
    "generate_batch",
    "generate_dataset",
    "task_prompt",
]

#: The columns `decode_batch` adds, and `generate_dataset`'s.
DECODED = ("result", "shape", "error")
GENERATED = ("prompt", "picture", "error")


def _ray() -> Any:
    """The ``ray`` module, imported on first use."""
    try:
        import ray
        import ray.data
    except ImportError as error:
        raise ImportError(
            'vision_banana.ray_data needs Ray Data: pip install "vision-banana[ray]"'
        ) from error
    return ray


# --- decoding -------------------------------------------------------------------------------------


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _masks_rle(masks: np.ndarray) -> str:
    """Disjoint masks (K, H, W) as a JSON list of COCO RLEs, one per mask."""
    ids = np.zeros(masks.shape[1:], np.uint32)
    for k, mask in enumerate(masks):
        ids[mask] = k + 1
    return json.dumps(coco_rle(ids, len(masks)))


def _stored(task: str, decoded: Any) -> tuple[bytes | str, list[int]]:
    """A decoder's result as the ``result`` cell and its ``shape``."""
    if task == "normals":
        decoded = decoded[0]  # invalid pixels hold the zero vector: the mask is implied
    if task == "instances":
        records = instance_records(decoded)
        return json.dumps(records), [len(records), *decoded.ids.shape]
    if task == "referring":
        return _masks_rle(decoded), list(decoded.shape)
    return _npy(decoded), list(decoded.shape)


def _check_decoder_options(task: str, options: Mapping[str, Any], caller: str) -> None:
    if not isinstance(task, str) or task not in TASKS:
        raise InvalidArgumentError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    if options.get("return_distance"):
        raise InvalidArgumentError(
            f"{caller} writes one array per row: return_distance is not supported (decode the "
            "pictures with the task's decoder for the distances)"
        )
    checked = dict(options)
    if task in ("semantic", "referring") and "colors" not in options:
        # The colours come from each row's prompt: the other options are checked with a
        # stand-in colour, which no background option can clash with.
        checked["colors"] = [(1, 2, 3)]
    _plan(task, checked)  # the decoder's own checks, before any data moves


def _colours_from_prompt(task: str, options: Mapping[str, Any]) -> bool:
    """Whether each row's ``prompt`` column gives the colours (or the instance background)."""
    if task in ("semantic", "referring"):
        return "colors" not in options
    return task == "instances" and "background" not in options


def _missing(column: str, present: list[str], task: str, options: Mapping[str, Any]) -> str | None:
    """What the columns lack for the task, in words, or None."""
    if column not in present:
        return f"no column {column!r} to decode; the columns are {', '.join(present) or 'none'}"
    if task in ("semantic", "referring") and "colors" not in options and "prompt" not in present:
        return (
            f"task {task!r} needs colors= or a 'prompt' column to read the colours from; the "
            f"columns are {', '.join(present)}"
        )
    taken = [c for c in ("result", "shape") if c in present]
    if taken:
        return f"the data already has the column(s) {', '.join(taken)} that decoding writes"
    return None


def _row_sources(
    batch: Mapping[str, np.ndarray], column: str
) -> tuple[list[Any], list[str | None]]:
    """Each row's picture (bytes or a path) and the error it arrives with (a failed generation)
    or gets here (not bytes)."""
    pictures = list(batch[column])
    arrived = list(batch["error"]) if "error" in batch else [None] * len(pictures)
    errors: list[str | None] = []
    for i, (picture, error) in enumerate(zip(pictures, arrived, strict=True)):
        if error is None and not isinstance(picture, (bytes, bytearray, memoryview, str)):
            what = "nothing (None)" if picture is None else type(picture).__name__
            error = (
                f"InvalidTypeError: {column}[{i}] must be the bytes of a PNG or JPEG file (or "
                f"its path), got {what}"
            )
        errors.append(None if error is None else str(error))
    return pictures, errors


def decode_batch(
    batch: Mapping[str, np.ndarray],
    *,
    task: str,
    column: str = "picture",
    threads: int = 1,
    **decoder_options: Any,
) -> dict[str, np.ndarray]:
    """Decodes the pictures of a numpy-format batch, one result per row; engine-free.

    Args:
        batch: columns as 1-D arrays of one length (Ray Data's ``batch_format="numpy"``);
            ``batch[column]`` holds the encoded PNG or JPEG files as ``bytes`` (or file paths).
            A row that arrives with an ``error`` (a generation that failed) keeps it.
        task: ``"depth"``, ``"normals"``, ``"semantic"``, ``"referring"`` or ``"instances"``.
        column: the picture column.
        threads: Rust threads decoding this batch (`decode_files`' ``workers``); 1 where the
            engine runs one batch per CPU, as Ray Data does.
        decoder_options: the task decoder's keyword options. Semantic and referring need the
            colours: ``colors=``, or else each row's ``prompt`` column is read (`parse_mapping`);
            the instance background likewise comes from ``background=`` or the row's prompt.

    Returns:
        The batch's columns (the same arrays) plus ``result``, ``shape`` and ``error`` (object
        arrays; see the module docstring for what they hold).

    Raises:
        InvalidArgumentError: an unknown task, bad options, a missing column (the message names
            the columns present), or a batch that already has ``result`` or ``shape``.
    """
    _check_decoder_options(task, decoder_options, "decode_batch")
    count = check_positive_int(threads, "threads")
    missing = _missing(column, list(batch), task, decoder_options)
    if missing is not None:
        raise InvalidArgumentError(f"decode_batch: {missing}")
    pictures, errors = _row_sources(batch, column)
    rows = len(pictures)
    results, shapes = np.full(rows, None, object), np.full(rows, None, object)
    # Rows decoded with one set of options share one `decode_files` call (one per prompt when
    # the colours come from the prompts).
    groups: dict[str | None, list[int]] = {}
    from_prompt = _colours_from_prompt(task, decoder_options) and "prompt" in batch
    for i in range(rows):
        if errors[i] is None:
            groups.setdefault(str(batch["prompt"][i]) if from_prompt else None, []).append(i)
    for prompt, indices in groups.items():
        options = dict(decoder_options)
        if prompt is not None:
            mapping = parse_mapping(prompt)
            if task == "instances":
                options["background"] = mapping.background
            else:
                options["colors"] = mapping
        sources = [
            p if isinstance(p, (bytes, str)) else bytes(p) for p in (pictures[i] for i in indices)
        ]
        try:
            decoded = list(decode_files(task, sources, workers=count, **options))
        except (InvalidArgumentError, InvalidTypeError) as error:  # the prompt names no colour
            decoded = [error] * len(indices)
        for i, item in zip(indices, decoded, strict=True):
            if isinstance(item, Exception):
                errors[i] = f"{type(item).__name__}: {_relabel(str(item), column, i, indices)}"
            else:
                results[i], shapes[i] = _stored(task, item)
    error_column = np.empty(rows, object)
    error_column[:] = errors
    return {**batch, "result": results, "shape": shapes, "error": error_column}


def _relabel(message: str, column: str, row: int, indices: list[int]) -> str:
    """`decode_files` names bytes by their place in its call, which means nothing to the user;
    name the column instead (the row is the one whose ``error`` this is)."""
    return message.replace(f"<bytes: sources[{indices.index(row)}]>", f"<bytes in {column!r}>")


def _with_columns(table: Any, written: Mapping[str, np.ndarray], task: str | None) -> Any:
    """An Arrow batch with the columns this module writes set (replaced or appended) as arrays
    of their schema's types: a batch whose cells are all None still writes ``error: string``
    (not ``null``), so every Parquet file of a run has one schema."""
    import pyarrow as pa

    types = {"prompt": pa.string(), "picture": pa.binary(), "error": pa.string()}
    if task is not None:
        text = task in ("referring", "instances")
        types.update(result=pa.string() if text else pa.binary(), shape=pa.list_(pa.int64()))
    for name, values in written.items():
        array = pa.array(values, types[name])  # from the object array: a list copies slower
        if name in table.column_names:
            table = table.set_column(table.column_names.index(name), name, array)
        else:
            table = table.append_column(name, array)
    return table


def _as_numpy(table: Any, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The columns of an Arrow batch that a batch function reads, as numpy."""
    present = [n for n in names if n in table.column_names]
    return {n: table.column(n).to_numpy(zero_copy_only=False) for n in present}


def _decode_block(table: Any, **options: Any) -> Any:
    """`decode_batch` on an Arrow batch: only the columns it reads become numpy; the others
    pass through without a copy."""
    missing = _missing(options["column"], table.column_names, options["task"], options)
    if missing is not None:
        raise InvalidArgumentError(f"decode_batch: {missing}")
    batch = _as_numpy(table, (options["column"], "prompt", "error"))
    decoded = decode_batch(batch, **options)
    return _with_columns(table, {n: decoded[n] for n in DECODED}, options["task"])


def _columns(ds: Any) -> list[str] | None:
    """The dataset's column names when known without running it, else None."""
    schema = ds.schema(fetch_if_missing=False)
    return None if schema is None else list(schema.names)


def _check_picture_type(ds: Any, column: str, task: str) -> None:
    """Refuses a picture column whose type holds no encoded files (known without running)."""
    schema = ds.schema(fetch_if_missing=False)
    if schema is None or column not in schema.names:
        return
    kind = schema.types[list(schema.names).index(column)]
    import pyarrow as pa

    readable = (pa.types.is_binary, pa.types.is_large_binary, pa.types.is_string)
    if isinstance(kind, pa.DataType) and not any(test(kind) for test in readable):
        raise InvalidArgumentError(
            f"column {column!r} holds {kind}, not the encoded pictures (PNG or JPEG bytes) or "
            f"paths that task {task!r} decodes"
        )


def decode_dataset(
    ds: Any,
    *,
    task: str,
    column: str = "picture",
    batch_size: int = 16,
    workers: int | None = None,
    **decoder_options: Any,
) -> Any:
    """`decode_batch` over a Ray dataset, on a pool of Ray tasks of one CPU each.

    Args:
        ds: a `ray.data.Dataset` whose ``column`` holds encoded PNG/JPEG files (binary).
        task, column, decoder_options: as for `decode_batch`.
        batch_size: rows per task (each task decodes its rows one after another).
        workers: at most this many tasks at once (`ray.data.TaskPoolStrategy`); None: as many
            as the cluster's CPUs allow.

    Returns:
        A lazy `ray.data.Dataset` with the columns of ``ds`` plus ``result``, ``shape`` and
        ``error``; ``write_parquet`` it, or iterate it.

    Raises:
        InvalidArgumentError: an unknown task, bad options, and, where the dataset's schema is
            known without running it, a missing column (naming those present) or a picture
            column of another type than binary or string.

    Example (on a cluster, with the pictures on S3):

    .. code-block:: python

        import ray, vision_banana.ray_data as vbr
        pictures = ray.data.read_parquet("s3://bucket/generated/")
        vbr.decode_dataset(pictures, task="depth").write_parquet("s3://bucket/depth/")
    """
    ray = _ray()
    _check_decoder_options(task, decoder_options, "decode_dataset")
    size = check_positive_int(batch_size, "batch_size")
    pool = None if workers is None else check_positive_int(workers, "workers")
    present = _columns(ds)
    if present is not None:
        missing = _missing(column, present, task, decoder_options)
        if missing is not None:
            raise InvalidArgumentError(f"decode_dataset: {missing}")
    _check_picture_type(ds, column, task)
    return ds.map_batches(
        _decode_block,
        batch_size=size,
        batch_format="pyarrow",
        compute=ray.data.TaskPoolStrategy(size=pool),
        num_cpus=1,
        fn_kwargs={"task": task, "column": column, "threads": 1, **decoder_options},
    )


# --- generation -----------------------------------------------------------------------------------

_BUILDERS: dict[str, tuple[Callable[..., str], str | None]] = {
    "depth": (depth_prompt, None),
    "normals": (normals_prompt, None),
    "semantic": (semantic_prompt, "classes"),
    "referring": (referring_prompt, "expressions"),
    "instances": (instance_prompt, "classes"),
}


def task_prompt(task: str, **task_options: Any) -> str:
    """The prompt `generate_dataset` asks every row with.

    ``prompt=TEXT`` gives it whole; otherwise the task's builder writes it: `depth_prompt`
    (``colormap=``), `normals_prompt`, `semantic_prompt` (``classes=`` names or {name: colour},
    ``style=``, ``color_format=``, ``background=``), `referring_prompt` (``expressions=``,
    ``colors=``, ``background=``...) or `instance_prompt` (``classes=`` one class name: one
    generation per class, so run once per class, ``background=``).

    Example:
        >>> print(task_prompt("instances", classes="price tag"))
        Generate an instance segmentation visualization of this image. Each price tag is colored
        differently. The background is black.
    """
    if not isinstance(task, str) or task not in _BUILDERS:
        raise InvalidArgumentError(f"task must be one of {', '.join(_BUILDERS)}; got {task!r}")
    if "prompt" in task_options:
        text, others = task_options["prompt"], sorted(set(task_options) - {"prompt"})
        if others:
            raise InvalidArgumentError(
                f"prompt= is the whole prompt; it cannot be given with {', '.join(others)}"
            )
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgumentError(f"prompt must be non-empty text, got {text!r}")
        return text
    builder, subject = _BUILDERS[task]
    options = dict(task_options)
    accepted = [
        n for n, p in inspect.signature(builder).parameters.items() if p.kind is p.KEYWORD_ONLY
    ]
    unknown = sorted(set(options) - set(accepted) - {subject})
    if unknown:
        takes = ", ".join(["prompt", *([subject] if subject else []), *accepted])
        raise InvalidTypeError(
            f"task {task!r} got unknown option(s) {', '.join(unknown)}; it takes {takes}"
        )
    if subject is None:
        return builder(**options)
    if subject not in options:
        raise InvalidArgumentError(f"task {task!r} needs {subject}= or prompt=")
    value = options.pop(subject)
    if task == "instances":
        names = [value] if isinstance(value, str) else list(value)
        if len(names) != 1:
            raise InvalidArgumentError(
                f"instances asks one generation per class: give one class, got {value!r} (run "
                "once per class, as the paper does)"
            )
        value = names[0]
    if isinstance(value, ColorMapping):
        options.setdefault("background", value.background)
        value = dict(value.classes)
    return builder(value, **options)


GeneratorSource = str | Callable[[], Generator]


def _generator_options(spec: str, task: str) -> argparse.Namespace:
    """The command line's generator options for a spec, at their defaults (`_cli_scale`)."""
    from ._cli_scale import generator_namespace

    return generator_namespace(spec, task)


def _builder(generator: object, task: str) -> Callable[[], Generator]:
    """A zero-argument function building the generator. A spec is built once here, so that one
    that cannot be built fails before any data moves; a factory only in the workers (it may
    load a model)."""
    if isinstance(generator, str):
        from .cli import _generator

        build: Callable[[], Generator] = functools.partial(
            _generator, _generator_options(generator, task)
        )
        build()
        return build
    if isinstance(generator, Generator) or not callable(generator):
        raise InvalidTypeError(
            "generator must be a spec as on the command line ('http:URL', "
            "'callable:MODULE:FUNCTION', 'gemini:MODEL', 'diffusers:PRESET') or a "
            f"zero-argument function that builds the Generator in each worker, got "
            f"{type(generator).__name__}"
        )
    required = [
        name
        for name, p in inspect.signature(generator).parameters.items()
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if required:
        raise InvalidTypeError(
            f"generator must take no arguments (it builds the Generator in each worker); "
            f"it needs {', '.join(required)}"
        )
    factory: Callable[[], Generator] = generator
    return factory


class _RateLimiter:
    """Spaces the starts of generations over all actors: at most ``qps`` a second."""

    def __init__(self, qps: float) -> None:
        self.interval = 1.0 / qps
        self.next = time.monotonic()

    def delay(self) -> float:
        """Seconds the caller waits before its generation starts (its place in the queue)."""
        now = time.monotonic()
        start = max(now, self.next)
        self.next = start + self.interval
        return start - now


class _Generating:
    """One Ray actor: builds the generator once, then answers batches of photos."""

    def __init__(
        self,
        build: Callable[[], Generator],
        prompt: str,
        column: str,
        seed: int | None,
        limiter: Any,
    ) -> None:
        self.generator = build()
        self.generator.check()
        self.prompt, self.column, self.seed, self.limiter = prompt, column, seed, limiter

    def _wait(self) -> None:
        if self.limiter is not None:
            import ray

            time.sleep(ray.get(self.limiter.delay.remote()))

    def __call__(self, table: Any) -> Any:
        """An Arrow batch: only the photo column becomes numpy; the others pass through."""
        _check_photo_column(self.column, table.column_names)
        batch = _as_numpy(table, (self.column,))
        out = generate_batch(batch, self.generator, self.prompt, self.column, self.seed, self._wait)
        return _with_columns(table, {n: out[n] for n in GENERATED}, None)


def _check_photo_column(column: str, present: list[str]) -> None:
    if column not in present:
        raise InvalidArgumentError(
            f"generate: no column {column!r} with the photos; the columns are "
            f"{', '.join(present) or 'none'}"
        )
    taken = [c for c in GENERATED if c in present]
    if taken:
        raise InvalidArgumentError(
            f"generate: the data already has the column(s) {', '.join(taken)} that generation "
            "writes"
        )


def generate_batch(
    batch: Mapping[str, np.ndarray],
    generator: Generator,
    prompt: str,
    column: str = "image",
    seed: int | None = None,
    before_each: Callable[[], None] | None = None,
) -> dict[str, np.ndarray]:
    """Asks ``generator`` for each row's picture; engine-free (`generate_dataset` runs it).

    ``batch[column]`` holds the photos as encoded files (bytes) or paths. Returns the batch's
    columns plus ``prompt``, ``picture`` (PNG bytes; None where the row failed) and ``error``
    (None, or the exception's type and message). ``before_each`` runs before each generation
    (the shared rate limit).
    """
    _check_photo_column(column, list(batch))
    photos = list(batch[column])
    pictures, errors = np.full(len(photos), None, object), np.full(len(photos), None, object)
    for i, photo in enumerate(photos):
        try:
            if not isinstance(photo, (bytes, bytearray, memoryview, str)):
                raise InvalidTypeError(
                    f"{column}[{i}] must be the bytes of an image file (or its path), got "
                    f"{type(photo).__name__}"
                )
            image = read_image(photo)
            if before_each is not None:
                before_each()
            answer = generator.generate(image, prompt, seed=seed)
            pictures[i] = png_bytes(np.asarray(answer.convert("RGB")))
        except Exception as error:  # one bad row must not fail the batch
            errors[i] = f"{type(error).__name__}: {error}"
    prompts = np.full(len(photos), prompt, object)
    return {**batch, "prompt": prompts, "picture": pictures, "error": errors}


def generate_dataset(
    ds: Any,
    generator: GeneratorSource,
    *,
    task: str,
    workers: int = 1,
    num_gpus: float = 0,
    num_cpus: float = 1,
    batch_size: int = 1,
    qps: float | None = None,
    column: str = "image",
    seed: int | None = None,
    **task_options: Any,
) -> Any:
    """Runs a generator over a Ray dataset of photos, on an actor pool of ``workers``.

    Args:
        ds: a `ray.data.Dataset` whose ``column`` holds the photos as encoded files (binary) or
            paths every worker can read.
        generator: a spec as on the command line (``"http:URL"``, ``"callable:MODULE:FUNCTION"``,
            ``"gemini:MODEL"``, ``"diffusers:PRESET"``, with the command line's defaults for the
            backend's options), or a zero-argument function that builds the `Generator`
            (pickled to the workers; use it for any other option). Each actor builds it once
            and calls its ``check()``. A spec is built once here too, so that one that cannot be
            built fails before any data moves.
        task: the task whose prompt is asked (`task_prompt`).
        workers: actors (`ray.data.ActorPoolStrategy(size=workers)`).
        num_gpus: GPUs per actor (diffusers backends: 1).
        num_cpus: CPUs per actor. Backends that wait on the network (Gemini, HTTP) need little:
            0.25 lets four actors share a core. Ray starts the whole pool at once, so leave CPUs
            for the stages before and after it (reading, decoding) or they wait for the pool.
        batch_size: rows per call of an actor.
        qps: at most this many generations a second over all actors together (one shared
            limiter, a Ray actor); None: no limit.
        column: the photo column.
        seed: passed to every generation.
        task_options: the prompt's (`task_prompt`): ``prompt=``, ``classes=``, ``expressions=``...

    Returns:
        A lazy dataset with the columns of ``ds`` plus ``prompt``, ``picture`` (PNG bytes) and
        ``error`` (None when the row is fine); `decode_dataset` decodes it as it is.

    Raises:
        InvalidArgumentError / InvalidTypeError: bad options or prompt options, a missing photo
            column (where the schema is known without running), a generator that cannot be built.

    Example (Gemini, 8 actors, 5 requests a second over all of them):

    .. code-block:: python

        import ray, vision_banana.ray_data as vbr
        photos = ray.data.read_binary_files("s3://bucket/photos/")
        photos = photos.rename_columns({"bytes": "image"})
        pictures = vbr.generate_dataset(photos, "gemini", task="depth", workers=8, qps=5)
        vbr.decode_dataset(pictures, task="depth").write_parquet("s3://bucket/depth/")
    """
    ray = _ray()
    prompt = task_prompt(task, **task_options)
    pool = check_positive_int(workers, "workers")
    size = check_positive_int(batch_size, "batch_size")
    for name, value in (("num_gpus", num_gpus), ("num_cpus", num_cpus)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise InvalidArgumentError(f"{name} must be a number >= 0, got {value!r}")
    if qps is not None and (
        isinstance(qps, bool) or not isinstance(qps, (int, float)) or not 0 < qps < float("inf")
    ):
        raise InvalidArgumentError(f"qps must be a positive number or None, got {qps!r}")
    present = _columns(ds)
    if present is not None:
        _check_photo_column(column, present)
    build = _builder(generator, task)
    spare = ray.cluster_resources().get("CPU", 0.0) - pool * num_cpus
    if spare < 1:
        warnings.warn(
            f"the {pool} generator actors take {pool * num_cpus:g} of the cluster's "
            f"{spare + pool * num_cpus:g} CPUs from the start, leaving {max(spare, 0):g} for "
            "reading the photos and decoding, which then wait for the pool (or for ever); "
            "lower workers or num_cpus",
            stacklevel=2,
        )
    limiter = None
    if qps is not None:
        # One limiter for the whole pool, named so that it can be found in Ray's dashboard.
        # It takes no CPU, so that it never waits for one.
        limiter = (
            ray.remote(num_cpus=0)(_RateLimiter)
            .options(name=f"vision-banana-qps-{uuid.uuid4().hex[:8]}")
            .remote(float(qps))
        )
    return ds.map_batches(
        _Generating,
        batch_size=size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=pool),
        num_cpus=num_cpus,
        num_gpus=num_gpus or None,
        fn_constructor_kwargs={
            "build": build,
            "prompt": prompt,
            "column": column,
            "seed": seed,
            "limiter": limiter,
        },
    )


def connect(address: str | None = None) -> None:
    """Starts a local Ray (``address`` None) or joins the cluster at ``address``, once."""
    ray = _ray()
    if not ray.is_initialized():
        if address is None:
            ray.init(include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
