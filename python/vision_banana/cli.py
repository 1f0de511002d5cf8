"""The ``vision-banana`` command line.

    vision-banana decode depth DIR_OR_GLOB... -o OUTDIR
        [--lam L] [--c C] [--max-depth M] [--colormap NAME]
    vision-banana decode normals DIR_OR_GLOB... -o OUTDIR
    vision-banana decode semantic|referring|instances DIR_OR_GLOB... -o OUTDIR
        [--prompt TEXT | --mapping JSON] [--background COLOR]
    (every decode also takes [--workers N] [--format npy|npz] [--no-preview])
    vision-banana run TASK IMAGE... -o OUTDIR
        --generator reference|callable:MODULE:FUNCTION|http:URL [--classes NAME...]
        [--prompt TEXT | --mapping JSON] [--truth DIR] [--seed N]

``decode`` takes picture files, folders (their .png, .jpg, .jpeg and .webp files; other files are
skipped with a note) and glob patterns (``'out/*.png'``, ``'runs/**/*.png'``), reads and decodes
them on ``--workers`` threads (`vision_banana.decode_files`) with a progress bar on a terminal, and
writes, for each picture, ``OUTDIR/<stem>.npy`` (depth in metres, normals, label map, referring
masks or instance-id map), or with ``--format npz`` ``OUTDIR/<stem>.npz`` holding every array of
the result (depth and colour distance; normals and valid; ids, colors, areas, bboxes and scores),
and ``OUTDIR/<stem>.preview.png`` (the picture beside its decoded result), and prints a summary.
A picture that fails is reported on stderr and the others go on; the exit status is then 1.
``run`` asks a generator for the picture first, then writes
the result's files (`vision_banana.pipeline.Result.save`). Errors are one line on stderr and a
non-zero exit status.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from . import __version__, _preview
from .backends import CallableGenerator, Generator, HTTPGenerator, ReferenceGenerator
from .colors import parse_color
from .depth import COLORMAPS, DEFAULT_C, DEFAULT_LAM
from .errors import InvalidArgumentError, VisionBananaError
from .files import decode_files
from .instances import Instances
from .io import read_image, write_image
from .pipeline import VisionBanana
from .prompts import ColorMapping, parse_mapping

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vision-banana",
        description="Decode Vision Banana pictures into numbers, or run a task end to end.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    decode = commands.add_parser(
        "decode",
        help="decode generated pictures into arrays",
        description="Decode generated pictures into .npy arrays and preview PNGs.",
    )
    tasks = decode.add_subparsers(dest="task", required=True, metavar="TASK")
    depth = tasks.add_parser(
        "depth",
        help="metric depth in metres",
        description="Decode depth pictures (cube walk or another colour map) to metres.",
    )
    _decode_arguments(depth)
    depth.add_argument("--lam", type=float, default=DEFAULT_LAM, help="power transform lam")
    depth.add_argument("--c", type=float, default=DEFAULT_C, help="power transform c")
    depth.add_argument(
        "--max-depth", type=float, default=1000.0, help="clamp for saturated pixels, metres"
    )
    depth.add_argument("--colormap", choices=COLORMAPS, default="cube_walk")
    depth.set_defaults(run=_decode, task="depth")

    normals = tasks.add_parser(
        "normals",
        help="surface normals",
        description="Decode normal-map pictures to unit vectors (H, W, 3) in the paper's frame.",
    )
    _decode_arguments(normals)
    normals.set_defaults(run=_decode, task="normals")
    for task, what in [
        ("semantic", "label maps (label i = the i-th class of the mapping, 255 = background)"),
        ("referring", "one bool mask per referring expression (K, H, W)"),
        ("instances", "instance-id maps (0 = background)"),
    ]:
        sub = tasks.add_parser(task, help=what.split(" (")[0], description=f"Decode to {what}.")
        _decode_arguments(sub)
        _colour_options(sub, required=task != "instances")
        sub.set_defaults(run=_decode, task=task)

    run = commands.add_parser(
        "run",
        help="run a task end to end through a generator",
        description="Ask a generator for each image's picture, decode it and write the result: "
        "OUTDIR/<stem>.npy, <stem>.preview.png, <stem>.prompt.txt, <stem>.generated.png.",
    )
    run.add_argument("task", choices=["depth", "normals", "semantic", "referring", "instances"])
    run.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    run.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR")
    run.add_argument(
        "--generator",
        required=True,
        metavar="NAME[:SPEC]",
        help=f"one of: {', '.join(GENERATORS)} (reference needs --truth; callable:MODULE:FUNCTION; "
        "http:URL; gemini or gemini:MODEL, with GOOGLE_API_KEY or GEMINI_API_KEY set; "
        "diffusers or diffusers:PRESET_OR_MODEL, on a GPU)",
    )
    run.add_argument(
        "--classes",
        "--expressions",
        nargs="+",
        metavar="NAME",
        help="classes (semantic, instances) or referring expressions",
    )
    _colour_options(run, required=False)
    run.add_argument(
        "--truth",
        type=Path,
        metavar="DIR",
        help="reference generator: DIR/<image stem>.npy holds each image's ground truth (depth in "
        "metres, normals, label map in --classes order, masks (K, H, W), or an instance-id map)",
    )
    run.add_argument("--degrade", action="store_true", help="reference generator: degrade")
    run.add_argument("--timeout", type=float, default=300.0, help="http generator: seconds")
    run.add_argument("--lora", metavar="PATH", help="diffusers generator: a LoRA adapter")
    run.add_argument("--steps", type=int, help="diffusers generator: denoising steps")
    run.add_argument(
        "--preset",
        help="diffusers generator: the preset whose settings apply to other weights of its kind",
    )
    run.add_argument(
        "--device", help="diffusers generator: torch device (default cuda; cpu is slow)"
    )
    run.add_argument("--seed", type=int, default=None)
    run.add_argument(
        "--workers",
        type=int,
        default=1,
        help="images in flight at once (for remote generators such as gemini or http)",
    )
    run.set_defaults(run=_run)
    return parser


def _colour_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    source = parser.add_mutually_exclusive_group(required=required)
    source.add_argument("--prompt", metavar="TEXT", help="the prompt the picture answered")
    source.add_argument(
        "--mapping",
        metavar="JSON",
        help='the class-to-colour mapping as JSON, e.g. \'{"cat": "red", "background": "black"}\'',
    )
    parser.add_argument("--background", metavar="COLOR", help="background colour (default black)")


def _mapping(args: argparse.Namespace) -> ColorMapping | None:
    """The colours from --prompt or --mapping, with --background applied."""
    if args.prompt is not None:
        mapping = parse_mapping(args.prompt)
    elif args.mapping is not None:
        try:
            entries = json.loads(args.mapping)
        except json.JSONDecodeError as error:
            raise InvalidArgumentError(f"--mapping must be a JSON object: {error}") from None
        if not isinstance(entries, dict) or not entries:
            raise InvalidArgumentError(
                f'--mapping must be a JSON object such as {{"cat": "red"}}, got {args.mapping!r}'
            )
        colours = {str(k): parse_color(v) for k, v in entries.items()}
        background = colours.pop("background", (0, 0, 0))
        mapping = ColorMapping(colours, background)
    else:
        mapping = ColorMapping({}, (0, 0, 0)) if args.background is not None else None
    if mapping is not None and args.background is not None:
        mapping = ColorMapping(
            dict(mapping.classes), parse_color(args.background), mapping.instance_class
        )
    return mapping


def _decode_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "pictures",
        nargs="+",
        metavar="DIR_OR_GLOB",
        help="picture files, folders of pictures, or glob patterns (quote them: 'out/*.png')",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR")
    parser.add_argument(
        "--workers", type=int, default=None, help="threads reading and decoding (default: CPUs)"
    )
    parser.add_argument(
        "--format",
        choices=["npy", "npz"],
        default="npy",
        help="npy: the main array; npz: every array of the result (default npy)",
    )
    parser.add_argument("--no-preview", action="store_true", help="write no preview PNGs")


def _decode(args: argparse.Namespace) -> int:
    """Decodes every picture the arguments name; 1 when any failed (each one reported)."""
    sources = expand_pictures(args.pictures)
    options, describe = _decode_plan(args)
    if args.workers is not None and args.workers < 1:
        raise InvalidArgumentError(f"--workers must be 1 or more, got {args.workers}")
    args.output.mkdir(parents=True, exist_ok=True)
    results = decode_files(args.task, sources, workers=args.workers, **options)
    failures = 0
    # The bar goes to stderr and only on a terminal (disable=None); lines go through tqdm.write
    # so that they do not break it.
    with tqdm(total=len(sources), unit="picture", disable=None, file=sys.stderr) as bar:
        for path, result in zip(sources, results, strict=True):
            bar.update()
            if isinstance(result, Exception):
                failures += 1
                tqdm.write(f"vision-banana: error: {result}", file=sys.stderr)
                continue
            arrays, summary, shade = describe(result)
            tqdm.write(f"{path}: {summary}")
            _save(args, path, arrays, shade)
    if failures and len(sources) > 1:
        print(
            f"vision-banana: {failures} of {len(sources)} pictures failed; the others were "
            f"written to {args.output}",
            file=sys.stderr,
        )
    return 1 if failures else 0


#: What a decoded result becomes: its arrays by name (the first is the .npy), a one-line summary
#: and its preview shade.
_Describe = Callable[[Any], tuple[dict[str, np.ndarray], str, np.ndarray]]


def _decode_plan(args: argparse.Namespace) -> tuple[dict[str, Any], _Describe]:
    """The decoder options for the task, and how to describe each result."""
    if args.task == "depth":
        options = {
            "lam": args.lam,
            "c": args.c,
            "max_depth": args.max_depth,
            "colormap": args.colormap,
            "return_distance": True,
        }

        def depth(result: tuple[np.ndarray, np.ndarray]) -> Any:
            depth, distance = result
            summary = _summary(depth, distance, args.max_depth)
            return {"depth": depth, "distance": distance}, summary, _preview.depth_shade(depth)

        return options, depth
    if args.task == "normals":

        def normals(result: tuple[np.ndarray, np.ndarray]) -> Any:
            normals, valid = result
            h, w = valid.shape
            summary = f"{w}x{h} normals, valid {100 * float(np.mean(valid)):.2f} %"
            shade = _preview.normals_shade(normals, valid)
            return {"normals": normals, "valid": valid}, summary, shade

        return {}, normals
    mapping = _mapping(args)
    if args.task == "instances":
        background = mapping.background if mapping is not None else (0, 0, 0)

        def instances(found: Instances) -> Any:
            h, w = found.ids.shape
            arrays = {
                "ids": found.ids,
                "colors": found.colors,
                "areas": found.areas,
                "bboxes": found.bboxes,
                "scores": found.scores,
            }
            summary = f"{w}x{h} instance ids: {len(found)} instances"
            return arrays, summary, _preview.ids_shade(found.ids)

        return {"background": background}, instances
    if mapping is None or not mapping.classes:
        raise InvalidArgumentError(
            f"decode {args.task} needs classes with colours from --prompt or --mapping"
        )
    colours = list(mapping.classes.values())
    if args.task == "semantic":

        def semantic(labels: np.ndarray) -> Any:
            h, w = labels.shape
            counts = ", ".join(
                f"{i} {name} {100 * float(np.mean(labels == i)):.1f} %"
                for i, name in enumerate(mapping.classes)
            )
            summary = f"{w}x{h} labels: {counts}; 255 = background"
            return (
                {"labels": labels},
                summary,
                _preview.labels_shade(labels, colours, mapping.background),
            )

        return {"colors": mapping}, semantic

    def referring(masks: np.ndarray) -> Any:
        _, h, w = masks.shape
        counts = ", ".join(
            f"{i} {name!r} {int(m.sum())} px"
            for i, (name, m) in enumerate(zip(mapping.classes, masks, strict=True))
        )
        shade = _preview.masks_shade(masks, colours, mapping.background)
        return {"masks": masks}, f"{w}x{h} masks: {counts}", shade

    return {"colors": mapping}, referring


def _save(
    args: argparse.Namespace, path: Path, arrays: dict[str, np.ndarray], shade: np.ndarray
) -> None:
    folder = args.output
    if args.format == "npz":
        written = folder / f"{path.stem}.npz"
        np.savez_compressed(written, **arrays)  # type: ignore[arg-type]
    else:
        written = folder / f"{path.stem}.npy"
        np.save(written, next(iter(arrays.values())))
    if args.no_preview:
        tqdm.write(f"  wrote {written}")
        return
    preview = folder / f"{path.stem}.preview.png"
    write_image(preview, _preview.side_by_side(read_image(path), shade))
    tqdm.write(f"  wrote {written} and {preview}")


#: What a folder given to ``decode`` contributes: its files with these extensions.
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def expand_pictures(patterns: Sequence[str]) -> list[Path]:
    """Picture files from files, folders and glob patterns, in the order given (folders and
    globs sorted by name). Files in a folder without a picture extension are skipped with a note
    on stderr; a pattern that matches nothing, or a folder without pictures, is an error. Two
    pictures with one file name would write the same outputs: an error too."""
    found: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file())
            pictures = [p for p in files if p.suffix.lower() in PICTURE_SUFFIXES]
            skipped = [p.name for p in files if p not in pictures]
            if skipped:
                names = ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else "")
                print(
                    f"vision-banana: note: skipped {len(skipped)} file(s) in {path} that are not "
                    f"pictures ({names})",
                    file=sys.stderr,
                )
            if not pictures:
                raise InvalidArgumentError(
                    f"folder {pattern} holds no pictures ({', '.join(PICTURE_SUFFIXES)})"
                )
            found += pictures
        elif glob.has_magic(pattern):
            matches = sorted(Path(m) for m in glob.glob(pattern, recursive=True))
            matches = [m for m in matches if m.is_file()]
            if not matches:
                raise InvalidArgumentError(f"no files match {pattern!r}")
            found += matches
        else:
            found.append(path)  # a missing file is reported with the other failures
    stems: dict[str, Path] = {}
    for path in found:
        other = stems.setdefault(path.stem, path)
        if other != path:
            raise InvalidArgumentError(
                f"{other} and {path} would both be written as {path.stem}.*; decode them into "
                f"separate output folders"
            )
    return found


# --- run: generators ------------------------------------------------------------------------------


def _reference(spec: str, args: argparse.Namespace) -> Generator:
    if args.truth is None:
        raise InvalidArgumentError("--generator reference needs --truth DIR with <image stem>.npy")
    # The generator sees only the image, so each image's truth is found by its pixels.
    files = {}
    for path in args.images:
        truth = args.truth / f"{path.stem}.npy"
        if not truth.is_file():
            raise InvalidArgumentError(f"--truth has no {truth.name} for {path}")
        files[hashlib.sha1(np.ascontiguousarray(read_image(path)).tobytes()).hexdigest()] = truth
    task = args.task

    def truth(image: object, prompt: str) -> dict[str, object]:
        key = hashlib.sha1(np.ascontiguousarray(np.asarray(image)).tobytes()).hexdigest()
        array = np.load(files[key])
        if task == "semantic":
            return {"labels": array, "classes": args.classes or []}
        if task == "referring":
            names = args.classes or []
            if len(names) != len(array):
                raise InvalidArgumentError(
                    f"--truth {files[key].name} holds {len(array)} masks for "
                    f"{len(names)} expressions; give one mask per expression"
                )
            return {"masks": dict(zip(names, array, strict=True))}
        if task == "instances":
            return {"instances": array}
        return {task: array}

    return ReferenceGenerator(truth=truth, degrade=args.degrade, seed=args.seed or 0)


def _callable(spec: str, args: argparse.Namespace) -> Generator:
    module, _, name = spec.rpartition(":")
    if not module or not name:
        raise InvalidArgumentError(f"--generator callable needs MODULE:FUNCTION, got {spec!r}")
    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise InvalidArgumentError(f"--generator callable:{spec}: {error}") from None
    return CallableGenerator(function, name=f"callable:{spec}")


def _http(spec: str, args: argparse.Namespace) -> Generator:
    return HTTPGenerator(spec, timeout=args.timeout)


def _gemini(spec: str, args: argparse.Namespace) -> Generator:
    # Imported here: google-genai is an optional extra.
    from .backends.gemini import DEFAULT_MODEL, GeminiGenerator

    return GeminiGenerator(spec or DEFAULT_MODEL, timeout=args.timeout)


# The generators `run --generator NAME[:SPEC]` knows: NAME -> factory(SPEC, args). A backend adds
# itself with one line here.
def _diffusers(spec: str, args: argparse.Namespace) -> Generator:
    # Imported here: torch and diffusers are an optional extra, and slow to import.
    from .backends.diffusers import DEFAULT_PRESET, DiffusersGenerator

    return DiffusersGenerator(
        spec or DEFAULT_PRESET,
        preset=args.preset,
        lora=args.lora,
        steps=args.steps,
        device=args.device,
    )


GENERATORS: dict[str, Callable[[str, argparse.Namespace], Generator]] = {
    "reference": _reference,
    "callable": _callable,
    "http": _http,
    "gemini": _gemini,
    "diffusers": _diffusers,
}


def _generator(args: argparse.Namespace) -> Generator:
    name, _, spec = args.generator.partition(":")
    if name not in GENERATORS:
        raise InvalidArgumentError(
            f"--generator must be one of {', '.join(GENERATORS)}, got {args.generator!r}"
        )
    return GENERATORS[name](spec, args)


def _run(args: argparse.Namespace) -> None:
    vision = VisionBanana(_generator(args), seed=args.seed)
    mapping = _mapping(args)
    task = args.task
    options: dict[str, object] = {}
    if task in ("semantic", "referring"):
        if args.prompt is not None:
            options["prompt"] = args.prompt
        elif mapping is not None and mapping.classes:
            options["prompt"] = None
            if task == "semantic":
                options["classes"] = mapping
            else:
                options["expressions"] = list(mapping.classes)
                options["colors"] = list(mapping.classes.values())
                options["background"] = mapping.background
        elif args.classes:
            options["classes" if task == "semantic" else "expressions"] = args.classes
        else:
            raise InvalidArgumentError(f"run {args.task} needs --classes, --mapping or --prompt")
        if args.classes is None and mapping is not None:
            args.classes = list(mapping.classes)
    elif task == "instances":
        if not args.classes:
            raise InvalidArgumentError("run instances needs --classes")
        options["classes"] = args.classes
        if args.prompt is not None:
            options["prompt"] = args.prompt
        elif mapping is not None:
            options["background"] = mapping.background
    elif args.prompt is not None:
        options["prompt"] = args.prompt
    # A progress bar only where someone watches: not in logs or pipes.
    batch = vision.run_batch(
        task, args.images, progress=sys.stderr.isatty(), workers=args.workers, **options
    )
    args.output.mkdir(parents=True, exist_ok=True)
    for path, result in zip(args.images, batch.results, strict=True):
        if result is not None:
            written = result.save(args.output, path.stem)
            print(f"{path}: wrote {', '.join(p.name for p in written)} to {args.output}")
    if batch.failures:
        first = batch.failures[0][1]
        raise VisionBananaError(
            f"{len(batch.failures)} of {len(args.images)} images failed; "
            f"{args.images[batch.failures[0][0]]}: {first}"
        )


def _summary(depth: np.ndarray, distance: np.ndarray, max_depth: float) -> str:
    saturated = float(np.mean(depth >= max_depth)) if depth.size else 0.0
    low, median, high = np.percentile(depth, [0, 50, 100]) if depth.size else (0.0, 0.0, 0.0)
    return (
        f"{depth.shape[1]}x{depth.shape[0]} depth min {low:.3f} m, median {median:.3f} m, "
        f"max {high:.3f} m, at max_depth {100 * saturated:.2f} %, "
        f"mean colour distance {float(np.mean(distance)) if distance.size else 0.0:.4f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 success, 1 error, 2 usage)."""
    args = _parser().parse_args(argv)
    try:
        status = args.run(args)
    except (VisionBananaError, OSError) as error:
        print(f"vision-banana: error: {error}", file=sys.stderr)
        return 1
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
