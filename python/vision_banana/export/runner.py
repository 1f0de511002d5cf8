"""`export_training_set`: a dataset to the (photo, prompt, target picture) folder that LoRA
trainers read.

    OUTDIR/control/<id>.png      the photo (PNG photos copied byte for byte, others re-encoded)
    OUTDIR/target/<id>.png       the target picture (8-bit RGB)
    OUTDIR/target/<id>.txt       its prompt
    OUTDIR/metadata.jsonl        Hugging Face datasets ImageFolder: file_name, control_file_name,
                                 prompt, task, source_id
    OUTDIR/ai-toolkit.yaml, diffsynth_metadata.csv, musubi_dataset.toml + musubi_metadata.jsonl,
    multidatabackend.json        the trainers' sidecars (`vision_banana.export.trainers`)
    OUTDIR/README.md             what the folder holds and how to train on it
    OUTDIR/.vision-banana-export.json   the settings, to resume or refuse (hidden: trainers and
                                 datasets skip hidden files)

Every file is written under a temporary name and renamed, so a file that exists is whole. A
rerun with the same settings resumes: a sample whose three files exist is not read again, and a
file whose content would not change is not rewritten. A folder holding an export made with other
settings, or anything that is not an export, is refused unless ``overwrite``.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from .._arrays import check_positive_int
from ..colors import parse_color
from ..errors import ImageReadError, InvalidArgumentError, VisionBananaError
from ..io import read_image, write_image
from .readme import folder_readme
from .sources import (
    TASKS,
    ExportSample,
    Task,
    benchmark_samples,
    coco_samples,
    folder_samples,
)
from .targets import Augmentation, make_target
from .trainers import FORMATS, ExportedSample, sidecar_files

__all__ = ["MANIFEST", "ExportReport", "Skipped", "export_training_set"]

MANIFEST = ".vision-banana-export.json"
_LAYOUT = ("control", "target")
# ImageFolder reads every one of these it finds (datasets' METADATA_FILENAMES); only
# metadata.jsonl may be there.
_FOREIGN_METADATA = ("metadata.csv", "metadata.parquet")


@dataclass(frozen=True)
class Skipped:
    """A sample left out, and why (a missing or bad ground-truth file, a label outside the
    class list, pixels without ground truth...)."""

    source_id: str
    reason: str


@dataclass
class ExportReport:
    """What `export_training_set` did.

    Attributes:
        out: the folder.
        task, source: as asked.
        samples: the exported samples (written now or before), in the source's order.
        written: how many were written by this call.
        resumed: how many were complete already (not read again).
        skipped: the samples left out, with their reasons.
        files: the index, sidecar and README files of the folder.
        timings: seconds spent reading (photos, ground truth), encoding the targets, and
            writing (PNG and text), summed over the samples (over all workers).
        seconds: the call's wall time.
    """

    out: Path
    task: str
    source: str
    samples: list[ExportedSample] = field(default_factory=list)
    written: int = 0
    resumed: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(
        default_factory=lambda: {"read": 0.0, "encode": 0.0, "write": 0.0}
    )
    seconds: float = 0.0

    def summary(self) -> str:
        """One line: how many samples were exported, written, resumed and skipped."""
        return (
            f"{self.task} from {self.source}: {len(self.samples)} samples in {self.out} "
            f"({self.written} written, {self.resumed} already there), {len(self.skipped)} skipped"
        )


@dataclass
class _Outcome:
    sample: ExportSample
    prompt: str = ""
    status: Literal["written", "resumed", "skipped"] = "written"
    reason: str = ""
    timings: dict[str, float] = field(default_factory=dict)


# --- files ------------------------------------------------------------------------------------


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    """Writes ``path`` through ``write(temporary)`` and a rename: readers, and a rerun after a
    killed one, see no file or the whole file. (No fsync: this guards against a killed process,
    not a power cut.)"""
    # Created by ``write`` itself, so that it gets the user's usual permissions (umask).
    temporary = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _write_text(path: Path, text: str) -> bool:
    """Writes ``text`` unless the file holds it already; True when written."""
    data = text.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return False
    _replace(path, lambda p: p.write_bytes(data))
    return True


def _remove_temporaries(out: Path) -> None:
    """Leftovers of a killed run (`_replace`'s temporary names)."""
    for folder in (out / name for name in _LAYOUT):
        if folder.is_dir():
            for path in folder.iterdir():
                if path.name.startswith(".") and ".tmp" in path.name:
                    path.unlink(missing_ok=True)


# --- the folder's state -----------------------------------------------------------------------


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    keys = sorted(set(old) | set(new))
    return "; ".join(
        f"{key} {old.get(key)!r} -> {new.get(key)!r}"
        for key in keys
        if old.get(key) != new.get(key)
    )


def _prepare(out: Path, settings: Mapping[str, Any], overwrite: bool) -> list[str]:
    """Checks that ``out`` may take this export; returns the files the last export wrote
    besides the pictures (so that those not written again are removed)."""
    if out.exists() and not out.is_dir():
        raise InvalidArgumentError(f"out: {out} is a file, not a folder")
    manifest = out / MANIFEST
    previous: list[str] = []
    if manifest.is_file():
        try:
            old = json.loads(manifest.read_text("utf-8"))
            old_settings, previous = old["settings"], list(old["files"])
        except (ValueError, KeyError, TypeError):
            old_settings = None
        if old_settings != settings and not overwrite:
            changed = _differences(old_settings, settings) if old_settings else "unreadable"
            raise InvalidArgumentError(
                f"out: {out} holds another export ({changed}); pass overwrite=True "
                "(--overwrite) to replace it, or choose another folder"
            )
        if overwrite:
            for name in _LAYOUT:
                shutil.rmtree(out / name, ignore_errors=True)
            for name in previous:
                (out / name).unlink(missing_ok=True)
            manifest.unlink()
            previous = []
    elif out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InvalidArgumentError(
            f"out: {out} is not empty and holds no vision-banana export; choose a new or empty "
            "folder, or pass overwrite=True (--overwrite) to write into it"
        )
    for name in _FOREIGN_METADATA:
        if (out / name).exists():
            raise InvalidArgumentError(
                f"out: {out / name} would be read by datasets' ImageFolder beside metadata.jsonl; "
                "move it away"
            )
    for name in _LAYOUT:
        (out / name).mkdir(parents=True, exist_ok=True)
    _remove_temporaries(out)
    return previous


# --- one sample -------------------------------------------------------------------------------


def _photo(path: Path) -> tuple[tuple[int, int], np.ndarray | None]:
    """The photo's (height, width), and its pixels unless it is a PNG (copied as it is)."""
    if path.suffix.lower() == ".png":
        try:
            with Image.open(path) as image:
                width, height = image.size
        except (OSError, SyntaxError, ValueError) as error:
            raise ImageReadError(f"cannot read image {path}: {error}") from None
        return (height, width), None
    pixels = read_image(path)
    return (int(pixels.shape[0]), int(pixels.shape[1])), pixels


def _truth_size(truth: Any) -> tuple[int, int]:
    array = next(
        getattr(truth, name)
        for name in ("depth", "normals", "labels", "ids")
        if hasattr(truth, name)
    )
    return int(array.shape[0]), int(array.shape[1])


def _export_one(sample: ExportSample, out: Path, augmentation: Augmentation) -> _Outcome:
    control = out / "control" / f"{sample.id}.png"
    target = out / "target" / f"{sample.id}.png"
    caption = out / "target" / f"{sample.id}.txt"
    if control.is_file() and target.is_file() and caption.is_file():
        return _Outcome(sample, caption.read_text("utf-8").rstrip("\n"), "resumed")
    start = time.perf_counter()
    try:
        truth = sample.load()
        size, pixels = _photo(sample.photo)
        if _truth_size(truth) != size:
            raise InvalidArgumentError(
                f"the ground truth is {_truth_size(truth)[::-1]} (width, height) but the photo "
                f"{sample.photo.name} is {size[::-1]}"
            )
        read = time.perf_counter()
        picture, prompt = make_target(truth, sample.id, augmentation)
        encoded = time.perf_counter()
    except (VisionBananaError, ValueError, OSError, EOFError) as error:
        return _Outcome(sample, status="skipped", reason=str(error) or repr(error))
    if not control.is_file():
        if pixels is None:
            _replace(control, lambda p: shutil.copyfile(sample.photo, p))
        else:
            _replace(control, lambda p: write_image(p, pixels))
    if not target.is_file():
        _replace(target, lambda p: write_image(p, picture))
    _write_text(caption, prompt + "\n")
    timings = {
        "read": read - start,
        "encode": encoded - read,
        "write": time.perf_counter() - encoded,
    }
    return _Outcome(sample, prompt, "written", timings=timings)


def _in_order(
    function: Callable[[ExportSample], _Outcome], samples: Iterable[ExportSample], workers: int
) -> Iterator[_Outcome]:
    """``function`` over ``samples`` on ``workers`` threads (the encoders and PNG writing
    release the GIL), at most 2 * workers in flight, results in the samples' order."""
    if workers == 1:
        yield from map(function, samples)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending: collections.deque[Future[_Outcome]] = collections.deque()
        for sample in samples:
            pending.append(pool.submit(function, sample))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


# --- the export -------------------------------------------------------------------------------


def _samples(
    task: Task,
    source: str,
    root: Path,
    annotations: Path | None,
    options: Mapping[str, Any],
    allow_benchmark: bool,
) -> tuple[list[ExportSample], list[Skipped]]:
    if source == "folder":
        samples, orphans = folder_samples(root, task, **options)
        return samples, [Skipped(stem, reason) for stem, reason in orphans]
    if source == "coco":
        if annotations is None:
            raise InvalidArgumentError("annotations: the coco source needs the COCO instances JSON")
        return coco_samples(root, annotations, task), []
    return benchmark_samples(source, root, task, allow=allow_benchmark, options=options), []


def _source_options(
    source: str,
    annotations: object,
    depth_scale: float | None,
    instance_class: str | None,
    ignore_index: int,
    benchmark_options: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The options of the source's reader; an option that the source would not use is refused
    rather than ignored."""
    given = {
        "annotations": annotations is not None,
        "depth_scale": depth_scale is not None,
        "instance_class": instance_class is not None,
        "ignore_index": ignore_index != 255,
        "benchmark_options": bool(benchmark_options),
    }
    used = {
        "folder": {"depth_scale", "instance_class", "ignore_index"},
        "coco": {"annotations"},
    }.get(source, {"depth_scale", "benchmark_options"})
    unused = [name for name, present in given.items() if present and name not in used]
    if unused:
        raise InvalidArgumentError(
            f"{', '.join(unused)}: the {source} source takes no such option (it takes "
            f"{', '.join(sorted(used))})"
        )
    if source == "folder":
        return {
            "depth_scale": depth_scale,
            "instance_class": instance_class,
            "ignore_index": ignore_index,
        }
    if source == "coco":
        return {}
    options = dict(benchmark_options or {})
    if depth_scale is not None:
        options["depth_scale"] = depth_scale
    return options


def _progress(total: int, show: bool | None) -> Any:
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="export", unit="sample", file=sys.stderr)


def export_training_set(
    task: Task,
    root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    source: str = "folder",
    annotations: str | os.PathLike[str] | None = None,
    formats: str | Sequence[str] = "all",
    colormap: str = "cube_walk",
    prompt_style: Literal["json", "sentences", "mix"] = "json",
    seed: int = 0,
    limit: int | None = None,
    workers: int = 1,
    invalid: str | Sequence[int] | None = None,
    depth_scale: float | None = None,
    instance_class: str | None = None,
    ignore_index: int = 255,
    benchmark_options: Mapping[str, Any] | None = None,
    allow_benchmark: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
) -> ExportReport:
    """Exports (photo, prompt, target picture) triples for instruction-tuning an open image
    model, in the folder layout of this module's docstring, which Hugging Face ``datasets``,
    ai-toolkit, DiffSynth-Studio, musubi-tuner and SimpleTuner read.

    Args:
        task: "depth", "normals", "semantic" or "instances".
        root: the source's data: a ``folder`` layout, the COCO image folder, or a benchmark's
            root (see `vision_banana.export.sources`).
        out: the folder to write (created). A rerun with the same settings resumes.
        source: "folder", "coco", or the name of a benchmark adapter of `vision_banana.eval`
            (refused unless ``allow_benchmark``: training on a benchmark voids its scores).
        annotations: the COCO instances JSON (``coco`` only).
        formats: "all" or any of "imagefolder", "ai-toolkit", "diffsynth", "musubi",
            "simpletuner": the index and sidecar files to write.
        colormap: depth colour map (`COLORMAPS`), or "mix" for one drawn per sample.
        prompt_style: "json", "sentences" or "mix" (style, colour format and colours drawn per
            sample; `vision_banana.export.targets`).
        seed: 0 or more; the same seed gives the same bytes (with any ``workers``).
        limit: export only the first ``limit`` samples of the source.
        workers: samples encoded and written at once (threads).
        invalid: colour for pixels without ground truth (depth, normals); None refuses such
            samples (they are skipped and reported).
        depth_scale: metres per unit of 16-bit depth PNGs (``folder``).
        instance_class: the class of a ``folder``'s instance maps (else its one-line
            classes.txt).
        ignore_index: the unlabelled value of a ``folder``'s label maps (painted black).
        benchmark_options: options of the benchmark adapter (``split``, ``depth_scale``...).
        allow_benchmark: let ``source`` name a benchmark (with a warning).
        overwrite: replace an export made with other settings, or write into a folder that
            holds something else.
        progress: a progress bar on stderr; None: when stderr is a terminal.

    Returns:
        An `ExportReport`; skipped samples are in ``report.skipped`` with their reasons.

    Raises:
        InvalidArgumentError: bad options, a layout that does not match, a benchmark without
            ``allow_benchmark``, an ``out`` folder holding another export or other files.

    Example:
        >>> report = export_training_set(  # doctest: +SKIP
        ...     "depth", "examples/eval_folder", "train/depth", colormap="mix", seed=0)
        >>> report.summary()  # doctest: +SKIP
        'depth from folder: 4 samples in train/depth (4 written, 0 already there), 0 skipped'
    """
    started = time.perf_counter()
    if task not in TASKS:
        raise InvalidArgumentError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidArgumentError(f"seed must be an integer 0 or more, got {seed!r}")
    workers = check_positive_int(workers, "workers")
    if limit is not None:
        limit = check_positive_int(limit, "limit")
    chosen = [formats] if isinstance(formats, str) else list(formats)
    unknown = [name for name in chosen if name not in FORMATS]
    if unknown or not chosen:
        raise InvalidArgumentError(
            f"formats must name some of {', '.join(FORMATS)}, got {chosen!r}"
        )
    colour = None if invalid is None else parse_color(invalid)
    augmentation = Augmentation(colormap, prompt_style, colour, int(seed))
    root_path = Path(root).resolve()
    out_path = Path(out).resolve()
    annotations_path = None if annotations is None else Path(annotations).resolve()
    if out_path == root_path or root_path.is_relative_to(out_path):
        raise InvalidArgumentError(f"out: {out} holds the source {root}; choose another folder")
    options = _source_options(
        source, annotations, depth_scale, instance_class, ignore_index, benchmark_options
    )
    settings = {
        "task": task,
        "source": source,
        "root": str(root_path),
        "annotations": None if annotations_path is None else str(annotations_path),
        "colormap": colormap,
        "prompt_style": prompt_style,
        "seed": int(seed),
        "invalid": None if colour is None else list(colour),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in options.items()},
    }
    samples, skipped = _samples(task, source, root_path, annotations_path, options, allow_benchmark)
    if limit is not None:
        samples = samples[:limit]
    previous = _prepare(out_path, settings, overwrite)

    report = ExportReport(out_path, task, source, skipped=skipped)
    unique: list[ExportSample] = []
    taken: dict[str, str] = {}
    for sample in samples:
        if sample.id in taken:
            report.skipped.append(
                Skipped(
                    sample.source_id,
                    f"its file name {sample.id!r} is taken by {taken[sample.id]!r}",
                )
            )
            continue
        taken[sample.id] = sample.source_id
        unique.append(sample)
    bar = _progress(len(unique), progress)
    outcomes = _in_order(lambda s: _export_one(s, out_path, augmentation), unique, workers)
    for outcome in outcomes:
        sample = outcome.sample
        if outcome.status == "skipped":
            report.skipped.append(Skipped(sample.source_id, outcome.reason))
        else:
            report.samples.append(ExportedSample(sample.id, sample.source_id, outcome.prompt, task))
            report.written += outcome.status == "written"
            report.resumed += outcome.status == "resumed"
            for stage, seconds in outcome.timings.items():
                report.timings[stage] += seconds
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()

    files = sidecar_files(out_path, report.samples, chosen)
    files["README.md"] = folder_readme(report, sorted(files))
    for name, text in files.items():
        _write_text(out_path / name, text)
    for name in previous:
        if name not in files:
            (out_path / name).unlink(missing_ok=True)
    report.files = sorted(files)
    from .. import __version__  # here: the package imports this module before defining it

    manifest = {
        "vision_banana_export": 1,
        "version": __version__,
        "settings": settings,
        "files": report.files,
        "samples": len(report.samples),
        "skipped": [[s.source_id, s.reason] for s in report.skipped],
    }
    _write_text(out_path / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    report.seconds = time.perf_counter() - started
    return report
