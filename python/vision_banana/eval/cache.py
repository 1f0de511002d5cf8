"""The generation cache: each generated picture stored once, under a key of what made it.

A picture's key is the sha256 of the photo's bytes, the prompt, the seed and the generator's
`~vision_banana.backends.Generator.identity` (model, adapter, steps...), so a second run of the
same evaluation asks the generator nothing, and one cache folder can serve many runs and
benchmarks. Pictures are lossless PNGs at ``<folder>/<key[:2]>/<key>.png``, each written
atomically (a temporary file in the same folder, flushed to disk, then renamed over the name), so
a run killed at any moment leaves each picture whole or absent, never truncated.

Example:
    >>> cache = GenerationCache("runs/cache")
    >>> key = cache_key(photo_bytes, prompt, generator.identity(), seed=0)  # doctest: +SKIP
    >>> cache.get(key) is None                                               # doctest: +SKIP
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ..errors import ImageReadError
from ..io import png_bytes, read_image

__all__ = ["GenerationCache", "cache_key", "write_atomic"]


def cache_key(photo: bytes, prompt: str, identity: Mapping[str, Any], seed: int | None) -> str:
    """The hex sha256 that names one generation.

    Args:
        photo: the photo file's bytes, as sent to the generator.
        prompt: the prompt text.
        identity: the generator's ``identity()`` (JSON-able; other values count by ``repr``).
        seed: the seed passed to the generator (None counts as its own value).

    Example:
        >>> len(cache_key(b"...", "a prompt", {"name": "reference"}, None))
        64
    """
    header = json.dumps(
        {"prompt": prompt, "generator": identity, "seed": seed}, sort_keys=True, default=repr
    )
    digest = hashlib.sha256(hashlib.sha256(photo).digest())
    digest.update(header.encode("utf-8"))
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that readers see the old file or the whole new one.

    The bytes go to a temporary file in the same folder (a rename is atomic only within one file
    system), are flushed to disk, and the file is renamed over ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class GenerationCache:
    """Generated pictures on disk, by `cache_key`.

    Args:
        folder: where the pictures live; created on the first `put`.
    """

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        """Where the picture of ``key`` is (or would be) stored."""
        return self.folder / key[:2] / f"{key}.png"

    def get(self, key: str) -> NDArray[np.uint8] | None:
        """The (H, W, 3) uint8 picture stored under ``key``, or None when there is none (or
        only an unreadable file, which the next `put` replaces: writes are atomic, so that
        takes a damaged disk or a hand-edited file)."""
        try:
            return read_image(self.path(key).read_bytes())
        except (FileNotFoundError, ImageReadError):
            return None

    def put(self, key: str, picture: Image.Image) -> None:
        """Stores an RGB picture under ``key``, atomically, with the package's PNG writer at its
        fast level (about 10 ms a megapixel, a small cost beside a generation)."""
        write_atomic(self.path(key), png_bytes(np.asarray(picture)))

    def __repr__(self) -> str:
        return f"GenerationCache({str(self.folder)!r})"
