"""The benchmarks `vision_banana.eval` knows: one adapter module per benchmark, each registering
itself in ``BENCHMARKS`` when imported here.

Example:
    >>> [info.name for info in list_benchmarks()][:2]
    ['diode-indoor', 'diode-indoor-normals']
"""

from __future__ import annotations

from dataclasses import dataclass

from . import diode, dsine, eth3d, folder, ibims, kitti, nuscenes, nyu
from .base import BENCHMARKS, Benchmark, DepthTruth, NormalsTruth, PaperRow, Sample, register

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "BenchmarkInfo",
    "DepthTruth",
    "NormalsTruth",
    "PaperRow",
    "Sample",
    "benchmarks_table",
    "diode",
    "dsine",
    "eth3d",
    "folder",
    "ibims",
    "kitti",
    "list_benchmarks",
    "nuscenes",
    "nyu",
    "register",
]


@dataclass(frozen=True)
class BenchmarkInfo:
    """One registered benchmark, as ``vision-banana eval --list`` shows it.

    Attributes:
        name: the CLI name.
        task: "depth", "normals", or for ``folder`` "depth or normals".
        size: samples in the official set; None where it depends on the data or options.
        figure: where the paper reports it.
        layout: the expected layout under the root.
        source: the peer code whose protocol the adapter follows.
    """

    name: str
    task: str
    size: int | None
    figure: str
    layout: str
    source: str


def list_benchmarks() -> list[BenchmarkInfo]:
    """Every registered benchmark, by name."""
    return [
        BenchmarkInfo(
            name=name,
            # An adapter whose data decides its task (folder) sets it per instance only.
            task=getattr(cls, "task", "depth or normals"),
            size=getattr(cls, "size", None),
            figure=cls.paper.figure,
            layout=cls.layout,
            source=cls.source,
        )
        for name, cls in sorted(BENCHMARKS.items())
    ]


def benchmarks_table() -> str:
    """A Markdown table of `list_benchmarks` (name, task, samples, protocol source, paper
    figure), as the README shows it."""
    rows = [
        "| benchmark | task | samples | protocol as | paper |",
        "|---|---|---|---|---|",
    ]
    for info in list_benchmarks():
        size = "as many as given" if info.size is None else str(info.size)
        rows.append(f"| `{info.name}` | {info.task} | {size} | {info.source} | {info.figure} |")
    return "\n".join(rows) + "\n"
