"""``vision-banana scale``: generation and decoding on Ray Data (`vision_banana.ray_data`).

    vision-banana scale generate|decode|run --input PATH_OR_GLOB --output DIR --task TASK
        [--generator SPEC] [--workers N] [--num-gpus G] [--num-cpus C] [--qps Q]
        [--address ADDR]
        [--classes NAME... | --prompt TEXT | --mapping JSON] [--background COLOR]
        [--batch-size N] [--truth DIR] [--degrade] [--timeout S] [--lora PATH] [--steps N]
        [--preset NAME] [--device DEVICE] [--seed S]

``--input`` is picture files (a file, a folder or a glob, as for ``decode``: the photos for
``generate`` and ``run``, the generated pictures for ``decode``) or Parquet (a ``.parquet`` file,
a glob of them, or a folder of them, such as an earlier ``scale`` output). ``--output`` is a new
folder of Parquet files with the input's columns plus those written (README "At scale"). Ray runs
locally unless ``--address`` names a cluster (``auto``, or ``ray://HOST:10001``). A row that fails
keeps its ``error``; the others go on, and the exit status is then 1.
"""

from __future__ import annotations

import argparse
import functools
import glob
import sys
from pathlib import Path
from typing import Any

from ._cli_files import expand_pictures
from .errors import InvalidArgumentError, VisionBananaError

__all__ = ["add_scale_command", "generator_namespace"]

_TASKS = ("depth", "normals", "semantic", "referring", "instances")


def _generator_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``run``'s generators, under the names `cli._generator` reads."""
    from .cli import add_generator_options  # imported here: cli imports this module

    add_generator_options(parser)


def generator_namespace(spec: str, task: str) -> argparse.Namespace:
    """What `cli._generator` reads for ``spec``, every generator option at its default."""
    parser = argparse.ArgumentParser(add_help=False)
    _generator_options(parser)
    args = parser.parse_args([])
    args.generator, args.task, args.images, args.classes = spec, task, [], None
    return args


def add_scale_command(commands: Any) -> None:
    """Adds ``scale`` to the ``vision-banana`` subparsers ``commands``."""
    scale = commands.add_parser(
        "scale",
        help="generate and decode at scale on Ray Data",
        description="Generate and decode many pictures on Ray Data, locally or on a cluster: "
        "pictures or Parquet in, Parquet out (schema in the README, 'At scale'). Needs the ray "
        'extra: pip install "vision-banana[ray]".',
    )
    steps = scale.add_subparsers(dest="step", required=True, metavar="STEP")
    for step, summary in (
        ("generate", "ask a generator for each photo's picture (columns prompt, picture, error)"),
        ("decode", "decode generated pictures (columns result, shape, error)"),
        ("run", "generate, then decode (prompt, picture, result, shape, error)"),
    ):
        sub = steps.add_parser(step, help=summary, description=summary)
        sub.add_argument("--input", required=True, metavar="PATH_OR_GLOB")
        sub.add_argument("--output", "-o", required=True, type=Path, metavar="DIR")
        sub.add_argument("--task", required=True, choices=_TASKS)
        sub.add_argument(
            "--workers",
            type=int,
            default=None,
            metavar="N",
            help="generator actors (default 1), or decoding tasks at once (default: the CPUs)",
        )
        sub.add_argument("--batch-size", type=int, default=None, metavar="N", help="rows a call")
        sub.add_argument("--address", metavar="ADDR", help="a Ray cluster (default: a local Ray)")
        sub.add_argument(
            "--classes",
            "--expressions",
            nargs="+",
            metavar="NAME",
            help="classes (semantic; one for instances) or referring expressions",
        )
        colours = sub.add_mutually_exclusive_group()
        colours.add_argument("--prompt", metavar="TEXT", help="the whole prompt (its colours)")
        colours.add_argument(
            "--mapping", metavar="JSON", help='class colours, e.g. \'{"cat": "red"}\''
        )
        sub.add_argument("--background", metavar="COLOR", help="background colour (black)")
        if step != "decode":
            sub.add_argument("--generator", required=True, metavar="NAME[:SPEC]", help="as for run")
            sub.add_argument("--num-gpus", type=float, default=0, metavar="G", help="per actor")
            sub.add_argument(
                "--num-cpus",
                type=float,
                default=1,
                metavar="C",
                help="per actor (default 1; 0.25 for generators that wait on the network)",
            )
            sub.add_argument(
                "--qps", type=float, metavar="Q", help="generations a second, over all actors"
            )
            _generator_options(sub)
        sub.set_defaults(run=run_scale)


def _parquet_files(text: str) -> list[str] | None:
    """The Parquet files ``--input`` names, or None when it names pictures."""
    path = Path(text)
    if path.is_dir():
        files = sorted(str(p) for p in path.rglob("*.parquet"))
    elif glob.has_magic(text):
        files = sorted(glob.glob(text, recursive=True))
    else:
        files = [text]
    if files and all(f.endswith(".parquet") for f in files):
        return files
    return None


def _read(args: argparse.Namespace, column: str) -> tuple[Any, list[Path]]:
    """The input as a dataset (picture files as ``path`` and ``column``), and the picture
    paths (none for Parquet)."""
    import ray.data

    parquet = _parquet_files(args.input)
    if parquet is not None:
        return ray.data.read_parquet(parquet), []
    paths = expand_pictures([args.input])
    ds = ray.data.read_binary_files([str(p) for p in paths], include_paths=True)
    return ds.rename_columns({"bytes": column}), paths


def _task_options(args: argparse.Namespace) -> dict[str, Any]:
    """generate_dataset's prompt options from --prompt, --mapping, --classes, --background."""
    from .cli import _mapping

    if args.prompt is not None:
        return {"prompt": args.prompt}
    mapping = _mapping(args)
    options: dict[str, Any] = {}
    if args.task == "semantic":
        options["classes"] = mapping if mapping is not None and mapping.classes else args.classes
    elif args.task == "referring":
        if mapping is not None and mapping.classes:
            options["expressions"] = list(mapping.classes)
            options["colors"] = list(mapping.classes.values())
        else:
            options["expressions"] = args.classes
    elif args.task == "instances":
        options["classes"] = args.classes
    if mapping is not None and args.task in ("referring", "instances"):
        options["background"] = mapping.background
    return {k: v for k, v in options.items() if v is not None}


def _decoder_options(args: argparse.Namespace) -> dict[str, Any]:
    """decode_dataset's colours from --prompt or --mapping; else each row's prompt column."""
    from .cli import _mapping

    mapping = _mapping(args)
    if mapping is None:
        return {}
    if args.task in ("semantic", "referring"):
        return {"colors": mapping} if mapping.classes else {}
    return {"background": mapping.background} if args.task == "instances" else {}


def run_scale(args: argparse.Namespace) -> int:
    """Runs ``vision-banana scale`` with parsed arguments; returns 1 when any row failed."""
    from . import ray_data
    from .cli import _generator

    try:
        ray_data._ray()
    except ImportError as error:  # one line on stderr, as the other errors
        raise VisionBananaError(str(error)) from None
    if args.output.exists() and any(args.output.iterdir()):
        raise InvalidArgumentError(f"--output {args.output} is not empty; give a new folder")
    column = "picture" if args.step == "decode" else "image"
    ray_data.connect(args.address)
    ds, paths = _read(args, column)
    if args.step != "decode":
        args.images = paths  # the reference generator finds each photo's truth by its pixels
        build = functools.partial(_generator, args)
        build()  # a generator that cannot be built fails before any data moves
        workers = 1 if args.workers is None else args.workers
        ds = ray_data.generate_dataset(
            ds,
            build,
            task=args.task,
            workers=workers,
            num_gpus=args.num_gpus,
            num_cpus=args.num_cpus,
            batch_size=args.batch_size or 1,
            qps=args.qps,
            seed=args.seed,
            **_task_options(args),
        )
    if args.step != "generate":
        ds = ray_data.decode_dataset(
            ds,
            task=args.task,
            batch_size=args.batch_size or 16,
            workers=args.workers if args.step == "decode" else None,
            **_decoder_options(args),
        )
    ds.write_parquet(str(args.output))
    return _summary(args.output)


def _summary(folder: Path) -> int:
    import pyarrow.parquet as pq

    errors = pq.read_table(folder, columns=["error"]).column("error").to_pylist()
    failed = [e for e in errors if e is not None]
    for error in failed[:5]:
        print(f"vision-banana: error: {error}", file=sys.stderr)
    print(f"wrote {len(errors)} rows to {folder}" + (f"; {len(failed)} failed" if failed else ""))
    return 1 if failed else 0
