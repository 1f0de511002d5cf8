"""The ``vision-banana`` command line.

    vision-banana decode depth DIR_OR_GLOB... -o OUTDIR
        [--lam L] [--c C] [--max-depth M] [--colormap NAME]
    vision-banana decode normals DIR_OR_GLOB... -o OUTDIR
        [--frame camera|opencv] [--sky-tolerance T] [--norm-range LOW HIGH]
    vision-banana decode semantic|referring DIR_OR_GLOB... -o OUTDIR
        (--prompt TEXT | --mapping JSON) [--background COLOR] [--max-distance D]
        [--ignore-index N]                                           (semantic)
    vision-banana decode instances DIR_OR_GLOB... -o OUTDIR
        [--prompt TEXT | --mapping JSON] [--background COLOR] [--tau T]
        [--connectivity 4|8|16] [--min-area-fraction F] [--erosion-keep K]
        [--merge-bbox-ratio R]
    vision-banana encode depth GROUND_TRUTH... -o OUTDIR
        [--scale METRES_PER_UNIT] [--lam L] [--c C] [--colormap NAME] [--bits 8|16]
        [--invalid COLOR] [--zero-invalid]
    vision-banana encode normals GROUND_TRUTH... -o OUTDIR
        [--frame camera|opencv] [--bits 8|16] [--invalid COLOR]
    vision-banana encode semantic GROUND_TRUTH... -o OUTDIR
        (--prompt TEXT | --mapping JSON | --classes NAME...) [--background COLOR]
        [--ignore-index N] [--style json|sentences] [--color-format FORMAT]
    vision-banana encode instances GROUND_TRUTH... -o OUTDIR [--background COLOR] [--class NAME]
    vision-banana export-train TASK --source folder|coco|BENCHMARK --root DIR -o OUTDIR [...]
        (`vision_banana.export.cli`)
    vision-banana scale generate|decode|run --input PATH_OR_GLOB --output DIR --task TASK [...]
        (Ray Data, `vision_banana._cli_scale`)
    vision-banana run TASK IMAGE... -o OUTDIR
        --generator reference|callable:MODULE:FUNCTION|http:URL [--classes NAME...]
        [--prompt TEXT | --mapping JSON] [--truth DIR] [--seed N]

``decode`` takes picture files, folders (their .png, .jpg, .jpeg and .webp files; other files are
skipped with a note) and glob patterns (``'out/*.png'``, ``'runs/**/*.png'``), reads and decodes
them on ``--workers`` threads (`vision_banana.decode_files`) with a progress bar on a terminal, and
writes, for each picture, ``OUTDIR/<stem>.npy`` (depth in metres, normals, label map, referring
masks or instance-id map), or with ``--format npz`` ``<stem>.npz`` (every array of the result), and
``OUTDIR/<stem>.preview.png`` (the picture beside its decoded result; for depth with a colour bar
in metres; none with ``--no-preview``), for instances also ``<stem>.instances.json`` (one record
per instance with its COCO RLE mask), and prints a summary. A picture that fails is one line on
stderr and the others go on; the exit status is then 1. Each option is the decoder's keyword of
that name, with the decoder's default. All decode commands also take
``[--workers N] [--format npy|npz] [--no-preview]``.
``encode`` paints ground truth (``.npy``, or grey 8/16-bit ``.png``) as training targets:
``OUTDIR/<stem>.png`` and the prompt asking for it, ``<stem>.prompt.txt``. Integer depths need
``--scale`` (metres per unit): they are never taken as metres.
``run`` asks a generator for the picture first, then writes the result's files
(`vision_banana.pipeline.Result.save`). Errors are one line on stderr and exit status 1 (2 for
usage errors); inputs whose outputs would overwrite each other or themselves are refused before
anything is written.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, get_args

import numpy as np
from tqdm import tqdm

from . import __version__, _cli_decode, _cli_encode
from ._cli_decode import PictureDecoder, parameter_default
from ._cli_encode import TruthEncoder, read_truth
from ._cli_files import Outputs, check_inputs, expand_pictures, write_outputs
from .backends import CallableGenerator, Generator, HTTPGenerator, ReferenceGenerator
from .colors import RGB, ColorFormat, parse_color
from .depth import COLORMAPS, decode_depth, encode_depth
from .errors import InvalidArgumentError, VisionBananaError
from .files import decode_files
from .instances import extract_instances
from .io import read_image
from .normals import decode_normals
from .pipeline import VisionBanana
from .prompts import ColorMapping, parse_mapping
from .semantic import decode_referring, decode_semantic, encode_semantic

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
    depth = _task(
        tasks,
        "depth",
        "metric depth in metres",
        "Decode depth pictures (cube walk or another colour map) to metres (float32 .npy); the "
        "preview shows the depth beside the picture with a colour bar in metres.",
        _decode,
    )
    _option(depth, "--lam", decode_depth, "lam", "power transform lam", type=float)
    _option(depth, "--c", decode_depth, "c", "power transform c", type=float)
    _option(depth, "--max-depth", decode_depth, "max_depth", "clamp, metres", type=float)
    _option(depth, "--colormap", decode_depth, "colormap", "colour map", choices=COLORMAPS)

    normals = _task(
        tasks,
        "normals",
        "surface normals",
        "Decode normal-map pictures to unit vectors (H, W, 3), zero where invalid.",
        _decode,
    )
    normals.add_argument(
        "--frame",
        choices=FRAMES,
        help="frame of the written vectors: camera, the paper's (x right, y up, z toward the "
        "viewer; the default) or opencv (x right, y down, z forward)",
    )
    _option(
        normals,
        "--sky-tolerance",
        decode_normals,
        "sky_tolerance",
        "pixels this near magenta (8-bit RGB distance) are sky, invalid",
        type=float,
    )
    _option(
        normals,
        "--norm-range",
        decode_normals,
        "norm_range",
        "raw vector norms outside LOW HIGH are invalid",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
    )

    semantic = _task(
        tasks,
        "semantic",
        "label maps",
        "Decode to label maps: label i = the i-th class of the mapping, --ignore-index for the "
        "background and for pixels farther than --max-distance from every colour.",
        _decode,
    )
    _colour_options(semantic, required=True)
    _option(
        semantic,
        "--max-distance",
        decode_semantic,
        "max_distance",
        "pixels farther than this (8-bit RGB distance) from every colour are unlabelled",
        type=float,
    )
    _option(
        semantic, "--ignore-index", decode_semantic, "ignore_index", "unlabelled label", type=int
    )

    referring = _task(
        tasks,
        "referring",
        "one bool mask per referring expression",
        "Decode to one bool mask per referring expression (K, H, W).",
        _decode,
    )
    _colour_options(referring, required=True)
    _option(
        referring,
        "--max-distance",
        decode_referring,
        "max_distance",
        "pixels farther than this (8-bit RGB distance) from every colour belong to no referent",
        type=float,
    )

    instances = _task(
        tasks,
        "instances",
        "instance-id maps and COCO RLE masks",
        "Decode to instance-id maps (0 = background; <stem>.npy) and the instances as COCO RLE "
        "JSON (<stem>.instances.json: id, color, area, bbox, score, segmentation).",
        _decode,
    )
    _colour_options(instances, required=False)
    for flag, keyword, what, kind in [
        ("--tau", "tau", "colour tolerance, 8-bit RGB distance", float),
        ("--min-area-fraction", "min_area_fraction", "drop smaller pieces", float),
        ("--erosion-keep", "erosion_keep", "drop pieces keeping less under erosion", float),
        ("--merge-bbox-ratio", "merge_bbox_ratio", "merge same-colour pieces up to", float),
    ]:
        _option(instances, flag, extract_instances, keyword, what, type=kind)
    _option(
        instances,
        "--connectivity",
        extract_instances,
        "connectivity",
        "neighbours of a pixel (16 = 8 and the knight moves)",
        type=int,
        choices=(4, 8, 16),
    )

    _encode_parser(commands)

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
    add_generator_options(run)
    run.add_argument(
        "--workers",
        type=int,
        default=1,
        help="images in flight at once (for remote generators such as gemini or http)",
    )
    run.set_defaults(run=_run)
    from .eval.cli import add_eval_command  # imported here: it imports this module

    add_eval_command(commands)
    from .export.cli import add_export_command

    add_export_command(commands)
    from ._cli_scale import add_scale_command

    add_scale_command(commands)
    return parser


FRAMES = ("camera", "opencv")  # decode_normals' names: "camera" is the paper's frame


def _task(
    tasks: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
    run: Callable[[argparse.Namespace], int | None],
    metavar: str = "DIR_OR_GLOB",
) -> argparse.ArgumentParser:
    """A task's subcommand with its input files, -o OUTDIR and an empty list of decoder options;
    for ``decode``, also --workers, --format and --no-preview."""
    sub = tasks.add_parser(name, help=summary, description=description)
    sub.add_argument("inputs", nargs="+", type=Path, metavar=metavar)
    sub.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR")
    sub.set_defaults(run=run, options=[])
    if run is _decode:
        sub.add_argument(
            "--workers", type=int, default=None, help="threads reading and decoding (default: CPUs)"
        )
        sub.add_argument(
            "--format",
            choices=("npy", "npz"),
            default="npy",
            help="npy: the main array (default); npz: every array of the result, compressed",
        )
        sub.add_argument("--no-preview", action="store_true", help="write no preview pictures")
    return sub


def _option(
    parser: argparse.ArgumentParser,
    flag: str,
    function: Callable[..., Any],
    keyword: str,
    what: str,
    **kwargs: Any,
) -> None:
    """An option passed on as ``function``'s ``keyword`` when given; its help shows the
    function's own default, which applies when it is not."""
    default = parameter_default(function, keyword)
    shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
    parser.add_argument(
        flag, dest=keyword, default=None, help=f"{what} (default {shown})", **kwargs
    )
    parser.get_default("options").append(keyword)


def _given(args: argparse.Namespace) -> dict[str, Any]:
    """The options registered with `_option` that the user gave, by keyword."""
    return {k: getattr(args, k) for k in args.options if getattr(args, k) is not None}


def _encode_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    encode = commands.add_parser(
        "encode",
        help="write training target pictures from ground truth",
        description="Paint ground truth as the pictures a Vision Banana model is trained to "
        "answer with: OUTDIR/<stem>.png, and the prompt that asks for it, <stem>.prompt.txt.",
    )
    tasks = encode.add_subparsers(dest="task", required=True, metavar="TASK")
    depth = _task(
        tasks,
        "depth",
        "depth maps in metres",
        "Depth maps (.npy, or grey .png with --scale) to depth pictures.",
        _encode,
        "GROUND_TRUTH",
    )
    depth.add_argument(
        "--scale",
        type=float,
        help="metres per stored unit (e.g. 0.001 for millimetres); required for integer depths "
        "(16-bit PNG, integer .npy), which are never taken as metres",
    )
    _option(depth, "--lam", encode_depth, "lam", "power transform lam", type=float)
    _option(depth, "--c", encode_depth, "c", "power transform c", type=float)
    _option(depth, "--colormap", encode_depth, "colormap", "colour map", choices=COLORMAPS)
    _picture_options(depth, "NaN, infinite or negative depths")
    depth.add_argument(
        "--zero-invalid",
        action="store_true",
        help="stored zeros mean no measurement: paint them with --invalid",
    )

    normals = _task(
        tasks,
        "normals",
        "normal vectors",
        "Normal vectors (.npy, (H, W, 3) float) to normal pictures.",
        _encode,
        "GROUND_TRUTH",
    )
    normals.add_argument(
        "--frame",
        choices=FRAMES,
        default="camera",
        help="frame of the input vectors: camera, the paper's (x right, y up, z toward the "
        "viewer; the default) or opencv (x right, y down, z forward)",
    )
    _picture_options(normals, "zero or non-finite vectors")

    semantic = _task(
        tasks,
        "semantic",
        "label maps",
        "Label maps (.npy or grey .png; label i = the i-th class) to semantic pictures in the "
        "colours of --mapping, --prompt or --classes (distinct palette colours).",
        _encode,
        "GROUND_TRUTH",
    )
    colours = semantic.add_mutually_exclusive_group(required=True)
    colours.add_argument("--prompt", metavar="TEXT", help="the prompt naming each class's colour")
    colours.add_argument(
        "--mapping",
        metavar="JSON",
        help='classes in label order with their colours, e.g. \'{"cat": "red", "dog": "blue"}\'',
    )
    colours.add_argument(
        "--classes", nargs="+", metavar="NAME", help="classes in label order (palette colours)"
    )
    semantic.add_argument("--background", metavar="COLOR", help="background colour (black)")
    _option(
        semantic,
        "--ignore-index",
        encode_semantic,
        "ignore_index",
        "label painted in the background colour",
        type=int,
    )
    semantic.add_argument(
        "--style",
        choices=("json", "sentences"),
        default="json",
        help="how the prompt gives the mapping (default json)",
    )
    semantic.add_argument(
        "--color-format",
        choices=get_args(ColorFormat),
        default="name",
        help="how the prompt writes colours (default name)",
    )

    instances = _task(
        tasks,
        "instances",
        "instance-id maps",
        "Instance-id maps (.npy or grey .png; 0 = background) to instance pictures, one "
        "distinct colour per instance.",
        _encode,
        "GROUND_TRUTH",
    )
    instances.add_argument("--background", metavar="COLOR", help="background colour (black)")
    instances.add_argument(
        "--class",
        dest="class_name",
        metavar="NAME",
        help="the instances' class (singular): writes its prompt beside each picture",
    )


def _picture_options(parser: argparse.ArgumentParser, invalid: str) -> None:
    parser.add_argument(
        "--bits", type=int, choices=(8, 16), default=8, help="bits per channel (default 8)"
    )
    parser.add_argument(
        "--invalid", metavar="COLOR", help=f"colour for {invalid} (default: they are an error)"
    )


def add_generator_options(parser: argparse.ArgumentParser, *, seed: bool = True) -> None:
    """The options of the generators (what `_generator` reads), for every command that runs one:
    ``run``, ``eval`` and ``scale``."""
    parser.add_argument(
        "--truth",
        type=Path,
        metavar="DIR",
        help="reference generator: DIR/<image stem>.npy holds each image's ground truth (depth in "
        "metres, normals, label map in --classes order, masks (K, H, W), or an instance-id map)",
    )
    parser.add_argument("--degrade", action="store_true", help="reference generator: degrade")
    parser.add_argument("--timeout", type=float, default=300.0, help="http, gemini: seconds")
    parser.add_argument("--lora", metavar="PATH", help="diffusers generator: a LoRA adapter")
    parser.add_argument("--steps", type=int, help="diffusers generator: denoising steps")
    parser.add_argument(
        "--preset",
        help="diffusers generator: the preset whose settings apply to other weights of its kind",
    )
    parser.add_argument(
        "--device", help="diffusers generator: torch device (default cuda; cpu is slow)"
    )
    if seed:
        parser.add_argument("--seed", type=int, default=None, help="passed to every generation")


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
    mapping: ColorMapping | None
    if args.prompt is not None:
        mapping = parse_mapping(args.prompt)
    elif args.mapping is not None:
        colours = _mapping_entries(args.mapping)
        background = colours.pop("background", (0, 0, 0))
        mapping = ColorMapping(colours, background)
    else:
        mapping = ColorMapping({}, (0, 0, 0)) if args.background is not None else None
    if mapping is not None and args.background is not None:
        mapping = ColorMapping(
            dict(mapping.classes), parse_color(args.background), mapping.instance_class
        )
    return mapping


def _mapping_entries(text: str) -> dict[str, RGB]:
    """--mapping's JSON object as {name: colour}, in its order ("background" included)."""
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidArgumentError(f"--mapping must be a JSON object: {error}") from None
    if not isinstance(entries, dict) or not entries:
        raise InvalidArgumentError(
            f'--mapping must be a JSON object such as {{"cat": "red"}}, got {text!r}'
        )
    return {str(k): parse_color(v) for k, v in entries.items()}


# --- decode and encode: one input file at a time ---------------------------------------------


def _picture_decoder(args: argparse.Namespace) -> PictureDecoder:
    options = _given(args)
    if args.task == "depth":
        return _cli_decode.depth(options)
    if args.task == "normals":
        if args.frame is not None:
            options["frame"] = args.frame
        return _cli_decode.normals(options)
    factory = {
        "semantic": _cli_decode.semantic,
        "referring": _cli_decode.referring,
        "instances": _cli_decode.instances,
    }[args.task]
    return factory(_mapping(args), options)


def _decode(args: argparse.Namespace) -> int:
    """Decodes every picture the inputs name on worker threads (`decode_files`), writing each
    one's outputs; a picture that fails is one line on stderr and the others go on. Returns 1
    when any failed."""
    if args.workers is not None and args.workers < 1:
        raise InvalidArgumentError(f"--workers must be 1 or more, got {args.workers}")
    decoder = _picture_decoder(args)
    paths = expand_pictures(args.inputs)
    check_inputs(paths, args.output, [])
    results = decode_files(decoder.task, paths, workers=args.workers, **decoder.options)
    failures = 0
    # The bar goes to stderr, only on a terminal (disable=None); lines go through tqdm.write so
    # that they do not break it.
    with tqdm(total=len(paths), unit="picture", disable=None, file=sys.stderr) as bar:
        for path, result in zip(paths, results, strict=True):
            bar.update()
            if isinstance(result, Exception):
                failures += 1
                tqdm.write(f"vision-banana: error: {result}", file=sys.stderr)
                continue
            reader = None if args.no_preview else functools.partial(read_image, path)
            outputs = decoder.describe(result, reader, str(path))
            files = dict(outputs.files)
            if args.format == "npz":
                del files[".npy"]
                files = {".npz": outputs.arrays, **files}
            written = write_outputs(args.output, path.stem, files)
            tqdm.write(outputs.summary)
            tqdm.write(f"  wrote {', '.join(str(p) for p in written)}")
    if failures and len(paths) > 1:
        print(
            f"vision-banana: {failures} of {len(paths)} pictures failed; the others were "
            f"written to {args.output}",
            file=sys.stderr,
        )
    return 1 if failures else 0


def _colour(text: str | None) -> RGB | None:
    return None if text is None else parse_color(text)


def _truth_encoder(args: argparse.Namespace) -> TruthEncoder:
    if args.task == "depth":
        return _cli_encode.depth(
            scale=args.scale,
            zero_invalid=args.zero_invalid,
            bits=args.bits,
            invalid=_colour(args.invalid),
            options=_given(args),
        )
    if args.task == "normals":
        return _cli_encode.normals(frame=args.frame, bits=args.bits, invalid=_colour(args.invalid))
    background = _colour(args.background)
    if args.task == "instances":
        return _cli_encode.instances(background=background or (0, 0, 0), class_name=args.class_name)
    return _cli_encode.semantic(
        prompt=args.prompt,
        entries=None if args.mapping is None else _mapping_entries(args.mapping),
        classes=args.classes,
        background=background,
        style=args.style,
        color_format=args.color_format,
        options=_given(args),
    )


def _encode(args: argparse.Namespace) -> None:
    encoder = _truth_encoder(args)
    _each_input(args.inputs, args.output, read_truth, encoder, [".png", ".prompt.txt"])


def _each_input(
    paths: Sequence[Path],
    folder: Path,
    read: Callable[[Path], np.ndarray],
    convert: Callable[[np.ndarray, str], Outputs],
    suffixes: Sequence[str],
) -> None:
    """Reads each input, converts it and writes its outputs into ``folder``, printing a summary;
    stops at the first failure, with the input's name in the message."""
    check_inputs(paths, folder, suffixes)
    for path in paths:
        data = read(path)
        try:
            outputs = convert(data, str(path))
        except VisionBananaError as error:
            if str(path) in str(error):
                raise
            raise InvalidArgumentError(f"{path}: {error}") from error
        written = write_outputs(folder, path.stem, outputs.files)
        print(outputs.summary)
        print(f"  wrote {', '.join(str(p) for p in written)}")


# --- run: generators ------------------------------------------------------------------------------


def _reference(spec: str, args: argparse.Namespace) -> Generator:
    if args.truth is None:
        raise InvalidArgumentError("--generator reference needs --truth DIR with <image stem>.npy")
    # The generator sees only the image, so each image's truth is found by its pixels.
    files = {}
    for path in args.images:
        stored = args.truth / f"{path.stem}.npy"
        if not stored.is_file():
            raise InvalidArgumentError(f"--truth has no {stored.name} for {path}")
        files[hashlib.sha1(np.ascontiguousarray(read_image(path)).tobytes()).hexdigest()] = stored
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
