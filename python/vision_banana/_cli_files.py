"""The files a command line subcommand writes for each input, and the checks on its file lists.

Each subcommand turns one input file into `Outputs`: a one-line summary and the files to write,
keyed by what follows the input's stem in their names (``".npy"``, ``".preview.png"``...). Keeping
"what to write" apart from "which files to read" lets the commands list their inputs however they
like (arguments today, globs or folders later) with one loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InvalidArgumentError
from .io import write_image

__all__ = ["Outputs", "check_inputs", "write_outputs"]


@dataclass
class Outputs:
    """What one input gives.

    Attributes:
        summary: one line for the terminal.
        files: name suffix after the stem -> content: an array for ``.npy`` (saved as is) or for
            ``.png`` (a uint8/uint16 picture), text for anything else (``.json``, ``.txt``).
    """

    summary: str
    files: dict[str, np.ndarray | str] = field(default_factory=dict)


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


def write_outputs(folder: Path, stem: str, files: Mapping[str, np.ndarray | str]) -> list[Path]:
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
        else:
            write_image(path, content)
        written.append(path)
    return written
