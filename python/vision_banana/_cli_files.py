"""The files a command line subcommand writes for each input, and the checks on its file lists.

Each subcommand turns one input file into `Outputs`: a one-line summary and the files to write,
keyed by what follows the input's stem in their names (``".npy"``, ``".preview.png"``...). Keeping
"what to write" apart from "which files to read" lets the commands list their inputs however they
like (files, folders and globs: `expand_pictures`) with one loop.
"""

from __future__ import annotations

import glob
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidArgumentError
from .io import write_image

__all__ = ["PICTURE_SUFFIXES", "Outputs", "check_inputs", "expand_pictures", "write_outputs"]


@dataclass
class Outputs:
    """What one input gives.

    Attributes:
        summary: one line for the terminal.
        files: name suffix after the stem -> content: an array for ``.npy`` (saved as is) or for
            ``.png`` (a uint8/uint16 picture), arrays by name for ``.npz`` (saved compressed),
            text for anything else (``.json``, ``.txt``).
        arrays: every array of the result by name, for ``--format npz``.
    """

    summary: str
    files: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


def check_inputs(paths: Sequence[Path], folder: Path, suffixes: Sequence[str]) -> None:
    """Refuses input lists that would lose data: two inputs with one stem (the second's files
    would replace the first's) and an input that one of its own outputs would overwrite.

    Args:
        paths: the input files.
        folder: the output folder.
        suffixes: the name suffixes written for every input, e.g. ``[".png"]``.
    """
    seen: dict[str, Path] = {}
    for path in paths:
        if path.stem in seen:
            raise InvalidArgumentError(
                f"{seen[path.stem]} and {path} have the same stem {path.stem!r}, so their outputs "
                f"would have the same names in {folder}; rename one or decode them separately"
            )
        seen[path.stem] = path
        for suffix in suffixes:
            target = folder / f"{path.stem}{suffix}"
            if target.resolve() == path.resolve():
                raise InvalidArgumentError(
                    f"writing {target} would overwrite the input {path}; choose another -o OUTDIR"
                )


def write_outputs(folder: Path, stem: str, files: Mapping[str, Any]) -> list[Path]:
    """Writes each of ``files`` as ``folder/<stem><suffix>`` (see `Outputs`); returns the paths.

    Example:
        >>> write_outputs(Path("out"), "room", {".npy": np.ones((2, 3)), ".prompt.txt": "Draw."})
        [PosixPath('out/room.npy'), PosixPath('out/room.prompt.txt')]
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, content in files.items():
        path = folder / f"{stem}{suffix}"
        if isinstance(content, str):
            path.write_text(content if content.endswith("\n") else content + "\n", "utf-8")
        elif suffix.endswith(".npy"):
            np.save(path, content)
        elif suffix.endswith(".npz"):
            np.savez_compressed(path, **content)
        else:
            write_image(path, content)
        written.append(path)
    return written


#: What a folder given to ``decode`` contributes: its files with these extensions.
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def expand_pictures(inputs: Sequence[Path | str]) -> list[Path]:
    """Picture files from files, folders and glob patterns, in the order given (a folder's and a
    pattern's files sorted by name).

    A folder gives its files with a picture extension (`PICTURE_SUFFIXES`); its other files are
    skipped with a note on stderr. A pattern (``*``, ``?``, ``[...]``; ``**`` for any depth) that
    matches no file, or a folder without pictures, is an error. Any other name is taken as a file,
    even a missing one: it fails with the other failures, when it is read.
    """
    found: list[Path] = []
    for given in inputs:
        text, path = str(given), Path(given)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file())
            pictures = [p for p in files if p.suffix.lower() in PICTURE_SUFFIXES]
            skipped = [p.name for p in files if p.suffix.lower() not in PICTURE_SUFFIXES]
            if skipped:
                names = ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else "")
                print(
                    f"vision-banana: note: skipped {len(skipped)} file(s) in {path} that are not "
                    f"pictures ({names})",
                    file=sys.stderr,
                )
            if not pictures:
                raise InvalidArgumentError(
                    f"folder {path} holds no pictures ({', '.join(PICTURE_SUFFIXES)})"
                )
            found += pictures
        elif glob.has_magic(text):
            matches = [Path(m) for m in sorted(glob.glob(text, recursive=True))]
            matches = [m for m in matches if m.is_file()]
            if not matches:
                raise InvalidArgumentError(f"no files match {text!r}")
            found += matches
        else:
            found.append(path)
    return found
