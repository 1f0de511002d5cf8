"""The ``vision-banana`` command line.

    vision-banana decode depth PICTURE... -o OUTDIR
        [--lam L] [--c C] [--max-depth M] [--colormap NAME]

writes, for each picture, ``OUTDIR/<stem>.npy`` (float32 depth in metres) and
``OUTDIR/<stem>.preview.png`` (the picture beside its decoded depth), and prints summary statistics.
Errors are one line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__
from .depth import COLORMAPS, DEFAULT_C, DEFAULT_LAM, decode_depth, walk
from .errors import VisionBananaError
from .io import read_image, write_image

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vision-banana",
        description="Decode Vision Banana pictures into numbers.",
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
    depth.add_argument("pictures", nargs="+", type=Path, metavar="PICTURE")
    depth.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR")
    depth.add_argument("--lam", type=float, default=DEFAULT_LAM, help="power transform lam")
    depth.add_argument("--c", type=float, default=DEFAULT_C, help="power transform c")
    depth.add_argument(
        "--max-depth", type=float, default=1000.0, help="clamp for saturated pixels, metres"
    )
    depth.add_argument("--colormap", choices=COLORMAPS, default="cube_walk")
    depth.set_defaults(run=_decode_depth)
    return parser


def _depth_preview(picture: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """The picture beside its depth, drawn with viridis on inverse depth (near is bright)."""
    finite = depth[np.isfinite(depth)]
    near = float(np.percentile(finite, 1)) if finite.size else 0.0
    inverse = 1.0 / np.maximum(depth, 1e-3)
    top = 1.0 / max(near, 1e-3)
    shade = walk(np.clip(inverse / top, 0.0, 1.0), dtype=np.uint8, colormap="viridis")
    shown = (
        picture[..., :3] if picture.dtype == np.uint8 else (picture[..., :3] >> 8).astype(np.uint8)
    )
    return np.concatenate([shown, shade], axis=1)


def _summary(name: str, depth: np.ndarray, distance: np.ndarray, max_depth: float) -> str:
    saturated = float(np.mean(depth >= max_depth)) if depth.size else 0.0
    low, median, high = np.percentile(depth, [0, 50, 100]) if depth.size else (0.0, 0.0, 0.0)
    return (
        f"{name}: {depth.shape[1]}x{depth.shape[0]} depth min {low:.3f} m, median {median:.3f} m, "
        f"max {high:.3f} m, at max_depth {100 * saturated:.2f} %, "
        f"mean colour distance {float(np.mean(distance)) if distance.size else 0.0:.4f}"
    )


def _decode_depth(args: argparse.Namespace) -> None:
    args.output.mkdir(parents=True, exist_ok=True)
    for path in args.pictures:
        picture = read_image(path)
        depth, distance = decode_depth(
            picture,
            lam=args.lam,
            c=args.c,
            max_depth=args.max_depth,
            colormap=args.colormap,
            return_distance=True,
        )
        np.save(args.output / f"{path.stem}.npy", depth)
        preview = args.output / f"{path.stem}.preview.png"
        write_image(preview, _depth_preview(picture, depth))
        print(_summary(str(path), depth, distance, args.max_depth))
        print(f"  wrote {args.output / (path.stem + '.npy')} and {preview}")


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 success, 1 error, 2 usage)."""
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except (VisionBananaError, OSError) as error:
        print(f"vision-banana: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
