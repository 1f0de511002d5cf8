"""``vision-banana export-train``: a dataset to the folder LoRA trainers read.

    vision-banana export-train TASK --source folder|coco|BENCHMARK --root DIR -o OUTDIR
        [--annotations FILE] [--format all|imagefolder|ai-toolkit|diffsynth|musubi|simpletuner]
        [--colormap cube_walk|plasma|inferno|viridis|gray|mix] [--prompt-style json|sentences|mix]
        [--seed S] [--limit N] [--workers N] [--invalid COLOR] [--depth-scale M] [--class NAME]
        [--ignore-index N] [--split FILE] [--allow-benchmark] [--overwrite]

It prints one summary line and the skipped samples with their reasons (the first ten), and exits
with status 1 when nothing could be exported.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from ..depth import COLORMAPS
from ..errors import VisionBananaError
from .runner import MANIFEST, export_training_set
from .sources import TASKS
from .targets import PROMPT_STYLES
from .trainers import FORMATS

__all__ = ["add_export_command", "run_export"]

_SHOWN_SKIPS = 10


def add_export_command(commands: Any) -> None:
    """Adds the ``export-train`` subcommand to the ``vision-banana`` subparsers ``commands``."""
    parser = commands.add_parser(
        "export-train",
        help="export (photo, prompt, target picture) training triples for LoRA trainers",
        description="Write control/<id>.png (photo), target/<id>.png (target picture) and "
        "target/<id>.txt (prompt) into OUTDIR, with metadata.jsonl for Hugging Face datasets "
        "and the sidecars of ai-toolkit, DiffSynth-Studio, musubi-tuner and SimpleTuner. A "
        "rerun with the same options resumes.",
    )
    parser.add_argument("task", choices=TASKS)
    parser.add_argument(
        "--source",
        default="folder",
        metavar="folder|coco|BENCHMARK",
        help="folder (your images/ with depth/, normals/, labels/ + classes.txt or instances/), "
        "coco (--root the images, --annotations the instances JSON), or a benchmark of "
        "`vision-banana eval --list` (needs --allow-benchmark); default folder",
    )
    parser.add_argument("--root", type=Path, required=True, metavar="DIR")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR")
    parser.add_argument("--annotations", type=Path, metavar="FILE", help="COCO instances JSON")
    parser.add_argument(
        "--format",
        dest="formats",
        nargs="+",
        choices=FORMATS,
        default=["all"],
        metavar="FORMAT",
        help=f"index and sidecar files: {', '.join(FORMATS)} (default all)",
    )
    parser.add_argument(
        "--colormap",
        choices=(*COLORMAPS, "mix"),
        default="cube_walk",
        help="depth colour map; mix draws one per sample (default cube_walk)",
    )
    parser.add_argument(
        "--prompt-style",
        choices=PROMPT_STYLES,
        default="json",
        help="segmentation prompts; mix draws style, colour format and colours per sample "
        "(default json)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random choices (default 0)")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N samples")
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N", help="samples written at once (default 1)"
    )
    parser.add_argument(
        "--invalid",
        metavar="COLOR",
        help="colour for pixels without ground truth (depth, normals); default: such samples "
        "are skipped",
    )
    parser.add_argument(
        "--depth-scale", type=float, metavar="M", help="metres per unit of 16-bit depth PNGs"
    )
    parser.add_argument(
        "--class",
        dest="instance_class",
        metavar="NAME",
        help="folder instances: the class of the instance maps (else a one-line classes.txt)",
    )
    parser.add_argument(
        "--ignore-index",
        type=int,
        default=255,
        help="folder semantic: the unlabelled value, painted black (default 255)",
    )
    parser.add_argument("--split", type=Path, metavar="FILE", help="benchmark: its sample list")
    parser.add_argument(
        "--allow-benchmark",
        action="store_true",
        help="allow a benchmark as the source (training on it voids its scores)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an export made with other options, or write into a non-empty folder",
    )
    parser.set_defaults(run=run_export)


def _show_warning(message: Any, *args: Any, **kwargs: Any) -> None:
    print(f"vision-banana: warning: {message}", file=sys.stderr)


def run_export(args: argparse.Namespace) -> None:
    """Runs ``vision-banana export-train`` with parsed arguments."""
    options: dict[str, Any] = {}
    if args.split is not None:
        options["split"] = args.split
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning
        report = export_training_set(
            args.task,
            args.root,
            args.output,
            source=args.source,
            annotations=args.annotations,
            formats=args.formats,
            colormap=args.colormap,
            prompt_style=args.prompt_style,
            seed=args.seed,
            limit=args.limit,
            workers=args.workers,
            invalid=args.invalid,
            depth_scale=args.depth_scale,
            instance_class=args.instance_class,
            ignore_index=args.ignore_index,
            benchmark_options=options or None,
            allow_benchmark=args.allow_benchmark,
            overwrite=args.overwrite,
        )
    print(report.summary())
    for skipped in report.skipped[:_SHOWN_SKIPS]:
        print(f"  skipped {skipped.source_id}: {skipped.reason}")
    if len(report.skipped) > _SHOWN_SKIPS:
        more = len(report.skipped) - _SHOWN_SKIPS
        print(f"  ... and {more} more (all in {report.out / MANIFEST})")
    print(f"in {report.out}: control/, target/, {', '.join(report.files)}")
    if not report.samples:
        raise VisionBananaError(f"no sample could be exported ({len(report.skipped)} skipped)")
