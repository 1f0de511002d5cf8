"""``vision-banana eval``: score a generator on a benchmark from the command line.

    vision-banana eval BENCHMARK --root DIR --generator SPEC -o OUTDIR [--limit N] [--workers N]
                       [--cache DIR] [--seed S] [--retry-failed] [--save-predictions]
                       [--split FILE] [--depth-scale M] [--max-depth M] [--stride K]
                       [--palette distinct|cityscapes] [--subset NAME] [--sample N]
                       [--use-scores] [--tau T] [--connectivity 4|8|16] ...
    vision-banana eval --list

``--generator`` takes the specs of ``vision-banana run`` (reference, callable:MODULE:FUNCTION,
http:URL, gemini[:MODEL], diffusers[:MODEL]) with the same generator options. The run writes
OUTDIR/results.json, results.md and samples.jsonl (`vision_banana.eval.report`) and prints a
one-line summary (a progress bar too, on a terminal).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import Any

from .. import cli as main_cli
from ..errors import InvalidArgumentError, VisionBananaError
from .benchmarks import list_benchmarks
from .runner import evaluate, make_benchmark

__all__ = ["add_eval_command", "run_eval"]

# Benchmark options: (flag, keyword of the adapter, type, help). Passed only when given, so an
# adapter that takes none refuses them by name.
_BENCHMARK_OPTIONS = (
    ("--depth-scale", "depth_scale", float, "folder: metres per unit of 16-bit depth PNGs"),
    ("--max-depth", "max_depth", float, "folder: the largest ground-truth depth scored, metres"),
    ("--stride", "stride", int, "nuscenes: score every K-th key frame"),
    ("--palette", "palette", str, "cityscapes: prompt colours, distinct (default) or cityscapes"),
    ("--subset", "subset", str, "saco-gold: score one subset (metaclip, sa1b, crowded...)"),
    ("--sample", "sample", int, "saco-gold: score N pairs drawn at random, --seed S drawing"),
    ("--use-scores", "use_scores", bool, "saco-gold: drop instances scoring under 0.5"),
    ("--tau", "tau", float, "saco-gold: extract_instances' colour distance"),
    ("--connectivity", "connectivity", int, "saco-gold: extract_instances' 4, 8 or 16"),
    ("--min-area-fraction", "min_area_fraction", float, "saco-gold: extract_instances'"),
    ("--erosion-keep", "erosion_keep", float, "saco-gold: extract_instances'"),
    ("--merge-bbox-ratio", "merge_bbox_ratio", float, "saco-gold: extract_instances'"),
)


def add_eval_command(commands: Any) -> None:
    """Adds the ``eval`` subcommand to the ``vision-banana`` subparsers ``commands``."""
    parser = commands.add_parser(
        "eval",
        help="score a generator on a benchmark",
        description="Run a benchmark through a generator, score it as its protocol says, and "
        "write OUTDIR/results.json, results.md and samples.jsonl. A rerun takes the pictures "
        "from the cache: a killed run resumes where it stopped.",
    )
    parser.add_argument("benchmark", nargs="?", metavar="BENCHMARK", help="see --list")
    parser.add_argument(
        "--list", action="store_true", help="list the benchmarks: task, samples, paper figure"
    )
    parser.add_argument("--root", type=Path, metavar="DIR", help="the benchmark's data")
    parser.add_argument(
        "--generator",
        metavar="NAME[:SPEC]",
        help=f"as for run: one of {', '.join(main_cli.GENERATORS)} (reference needs --truth)",
    )
    parser.add_argument("-o", "--output", type=Path, metavar="OUTDIR")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N samples")
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N", help="queries in flight at once"
    )
    parser.add_argument(
        "--cache", type=Path, metavar="DIR", help="generation cache (default OUTDIR/cache)"
    )
    parser.add_argument("--seed", type=int, metavar="S", help="passed to the generator")
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="ask again the queries that failed in the last run into OUTDIR",
    )
    parser.add_argument(
        "--save-predictions",
        action="store_true",
        help="write each decoded prediction to OUTDIR/predictions/<id>.npy",
    )
    parser.add_argument(
        "--split", type=Path, metavar="FILE", help="replaces the benchmark's list of samples"
    )
    for flag, _, kind, text in _BENCHMARK_OPTIONS:
        if kind is bool:  # None unless given, so only adapters that take it see it
            parser.add_argument(flag, action="store_true", default=None, help=text)
        else:
            parser.add_argument(flag, type=kind, help=text)
    # The generator options of `run`, under the same names: `_generator` reads them.
    main_cli.add_generator_options(parser, seed=False)
    parser.set_defaults(run=run_eval)


def _listing() -> str:
    rows = [("BENCHMARK", "TASK", "SAMPLES", "PAPER")]
    rows += [
        (i.name, i.task, "-" if i.size is None else str(i.size), i.figure)
        for i in list_benchmarks()
    ]
    widths = [max(len(row[c]) for row in rows) for c in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    )


def run_eval(args: argparse.Namespace) -> None:
    """Runs ``vision-banana eval`` with parsed arguments."""
    if args.list:
        print(_listing())
        return
    needed = {
        "BENCHMARK": args.benchmark,
        "--root DIR": args.root,
        "--generator SPEC": args.generator,
        "-o OUTDIR": args.output,
    }
    missing = [name for name, value in needed.items() if value is None]
    if missing:
        raise InvalidArgumentError(
            f"eval needs {', '.join(missing)} (or --list to see the benchmarks)"
        )
    options = {
        keyword: getattr(args, keyword)
        for _, keyword, _, _ in _BENCHMARK_OPTIONS
        if getattr(args, keyword) is not None
    }
    if args.sample is not None:
        options["sample_seed"] = args.seed  # one seed for the run: the draw and the generator
    bench = make_benchmark(args.benchmark, args.root, split=args.split, **options)
    # What `run`'s generator factories read: the reference generator finds each photo's truth
    # by its pixels, so it gets the photos of the run.
    args.task = bench.task
    args.classes = None
    args.images = []
    if args.generator.partition(":")[0] == "reference":
        args.images = [s.photo for s in itertools.islice(bench.samples(), args.limit)]
    generator = main_cli._generator(args)
    report = evaluate(
        bench,
        None,
        generator,
        out=args.output,
        limit=args.limit,
        workers=args.workers,
        cache=args.cache,
        seed=args.seed,
        retry_failed=args.retry_failed,
        save_predictions=args.save_predictions,
    )
    print(report.summary())
    print(f"wrote {args.output / 'results.json'}, results.md and samples.jsonl")
    if report.failures and not report.scored:
        raise VisionBananaError(f"no query of {report.samples} was scored")
