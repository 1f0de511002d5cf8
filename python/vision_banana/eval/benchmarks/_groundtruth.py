"""Readers of the ground-truth files the benchmark adapters share, and their layout checks.

Every reader names the file it could not use and what it expected, so that a corrupt sample is
recorded by the runner with a message a researcher can act on.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ...errors import ImageReadError, InvalidArgumentError
from ...io import read_image
from .base import Benchmark

__all__ = [
    "DATA_DIR",
    "crop_mask",
    "first_missing",
    "read_list",
    "read_mask_png",
    "read_npy",
    "read_png16",
    "read_raw_float32",
    "refuse_split",
    "sample_id",
    "unit_or_zero",
]

#: The package data the adapters ship (default sample lists).
DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def sample_id(root: Path, photo: Path) -> str:
    """A sample's id: its photo's path relative to the root, '/'-separated, without extension."""
    return photo.relative_to(root).with_suffix("").as_posix()


def refuse_split(benchmark: Benchmark) -> None:
    """Refuse ``split`` for a benchmark whose samples are found on disk, not listed."""
    if benchmark.split is not None:
        raise InvalidArgumentError(
            f"split: {benchmark.name} has no list of samples to replace (it reads every "
            f"sample of {benchmark.layout}); leave split unset"
        )


def first_missing(paths: Iterable[Path]) -> Path | None:
    """The first path that is not an existing file, or None."""
    return next((p for p in paths if not p.is_file()), None)


def read_list(path: Path) -> list[tuple[int, list[str]]]:
    """A list file's entries as (line number, whitespace-separated fields); blank lines and
    lines starting with '#' are skipped.

    Raises:
        InvalidArgumentError: the file cannot be read as text.
    """
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidArgumentError(f"split: cannot read the list {str(path)!r}: {err}") from err
    lines = enumerate(text.splitlines(), start=1)
    return [(n, line.split()) for n, line in lines if line.strip() and not line.startswith("#")]


def read_png16(path: Path) -> NDArray[np.uint16]:
    """A single-channel 16-bit PNG as (H, W) uint16, exactly as stored.

    Raises:
        ImageReadError: not a readable image, or not 16-bit grey.
    """
    stored = read_image(path, mode="keep")
    if stored.dtype != np.uint16 or stored.ndim != 2:
        channels = 1 if stored.ndim == 2 else stored.shape[2]
        raise ImageReadError(
            f"{path}: expected a 16-bit single-channel PNG, got {stored.dtype} "
            f"with {channels} channel(s)"
        )
    return stored


def read_mask_png(path: Path) -> NDArray[np.bool_]:
    """A mask picture as (H, W) bool: True where any stored channel is nonzero."""
    stored = read_image(path, mode="keep")
    mask: NDArray[np.bool_] = stored != 0 if stored.ndim == 2 else np.any(stored != 0, axis=2)
    return mask


def read_npy(path: Path, shape: str) -> NDArray[np.float32]:
    """A numeric ``.npy`` array as float32; ``shape`` describes the expected shape for messages.

    Raises:
        ImageReadError: the file is not a readable ``.npy`` of numbers (truncated, pickled
            objects, another format).
    """
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ImageReadError(f"{path}: not a readable .npy array {shape}: {err}") from err
    if array.dtype.kind not in "fiub":
        raise ImageReadError(f"{path}: expected numbers {shape}, got dtype {array.dtype}")
    values: NDArray[np.float32] = array.astype(np.float32, copy=False)
    return values


def read_raw_float32(path: Path, shape: tuple[int, int]) -> NDArray[np.float32]:
    """A headerless little-endian float32 file of ``shape`` = (rows, columns) values.

    Raises:
        ImageReadError: the file does not hold exactly rows x columns values.
    """
    rows, columns = shape
    expected = 4 * rows * columns
    size = os.path.getsize(path)
    if size != expected:
        raise ImageReadError(
            f"{path}: expected raw little-endian float32 depth of {rows} x {columns} "
            f"({expected} bytes), the file has {size} bytes"
        )
    return np.fromfile(path, dtype="<f4").reshape(rows, columns).astype(np.float32, copy=False)


def crop_mask(
    shape: tuple[int, int], rows: tuple[int, int], columns: tuple[int, int]
) -> NDArray[np.bool_]:
    """(H, W) bool, True inside ``rows`` = (start, stop) and ``columns`` = (start, stop)."""
    mask = np.zeros(shape, dtype=bool)
    mask[rows[0] : rows[1], columns[0] : columns[1]] = True
    return mask


def unit_or_zero(vectors: NDArray[np.floating]) -> NDArray[np.float32]:
    """(..., 3) vectors scaled to unit length; zero vectors stay zero. Returns a new array."""
    v = vectors.astype(np.float32)
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    np.divide(v, norm, out=v, where=norm > 0)
    return v
