"""The benchmarks `vision_banana.eval` knows: one adapter module per benchmark, each registering
itself in ``BENCHMARKS`` when imported here.

Example:
    >>> [info.name for info in list_benchmarks()][:2]
    ['diode-indoor', 'diode-indoor-normals']
"""

from __future__ import annotations

from dataclasses import dataclass

from . import (
    cityscapes,
    diode,
    dsine,
    eth3d,
    folder,
    ibims,
    kitti,
    nuscenes,
    nyu,
    reasonseg,
    refcocog,
    saco_gold,
)
from .base import (
    BENCHMARKS,
    Annotation,
    Benchmark,
    DepthTruth,
    InstancesTruth,
    NormalsTruth,
    PaperRow,
    ReferringTruth,
    Sample,
    SemanticTruth,
    register,
)

__all__ = [
    "BENCHMARKS",
    "Annotation",
    "Benchmark",
    "BenchmarkInfo",
    "DepthTruth",
    "InstancesTruth",
    "NormalsTruth",
    "PaperRow",
    "ReferringTruth",
    "Sample",
    "SemanticTruth",
    "benchmarks_table",
    "cityscapes",
    "diode",
    "dsine",
    "eth3d",
    "folder",
    "ibims",
    "kitti",
    "list_benchmarks",
    "nuscenes",
    "nyu",
    "reasonseg",
    "refcocog",
    "register",
    "saco_gold",
]


@dataclass(frozen=True)
class BenchmarkInfo:
    """One registered benchmark, as ``vision-banana eval --list`` shows it.

    Attributes:
        name: the CLI name.
        task: "depth", "normals", "semantic", "referring", "instances", or for ``folder``
            "depth or normals".
        size: samples in the official set; None where it depends on the data or options.
        figure: where the paper reports it.
        figures: the paper's figures for it, Vision Banana's then the best peer's, e.g.
            "miou 0.699; SAM 3 0.652"; empty where the paper gives none.
        layout: the expected layout under the root.
        source: the peer code whose protocol the adapter follows.
    """

    name: str
    task: str
    size: int | None
    figure: str
    layout: str
    source: str
    figures: str = ""


def _paper_figures(row: PaperRow) -> str:
    ours = ", ".join(f"{k} {v:.3f}" for k, v in row.ours.items())
    if row.peer is None:
        return ours
    name, peer = row.peer
    return f"{ours}; {name} " + ", ".join(f"{v:.3f}" for v in peer.values())


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
            figures=_paper_figures(cls.paper),
        )
        for name, cls in sorted(BENCHMARKS.items())
    ]


def benchmarks_table() -> str:
    """A Markdown table of `list_benchmarks` (name, task, samples, protocol source, where the
    paper reports it and its figures), as the README shows it."""
    rows = [
        "| benchmark | task | samples | protocol as | paper |",
        "|---|---|---|---|---|",
    ]
    for info in list_benchmarks():
        size = "as many as given" if info.size is None else str(info.size)
        paper = f"{info.figure}: {info.figures}" if info.figures else info.figure
        rows.append(f"| `{info.name}` | {info.task} | {size} | {info.source} | {paper} |")
    return "\n".join(rows) + "\n"
