"""What an evaluation writes: results.json, results.md and the per-query log samples.jsonl.

- ``results.json``: ``{"benchmark", "task", "generator", "samples", "scored", "failed",
  "metrics", "paper", "protocol", "failures"}``; NaN (a metric with no valid pixel) is null.
- ``results.md``: the paper's row for the benchmark with our figures beside the paper's and the
  best peer's, the protocol in one line, then every metric.
- ``samples.jsonl``: one JSON line per query, appended as each finishes (and flushed), so a killed
  run keeps its lines: ``{"id", "prompt", "key", "cached", "metrics", "timings", "stage",
  "error"}``. A rerun appends its own lines; at its end the file is rewritten with the last line
  of each query of that run, one line per query.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .benchmarks.base import PaperRow
from .cache import write_atomic

__all__ = ["EvalReport", "Failure", "SampleLog", "write_results"]

# The paper's headline columns per task (SPEC.md section 7), shown first in results.md.
HEADLINE = {
    "depth": ("delta1", "abs_rel"),
    "normals": ("mean", "median", "a11_25", "a22_5", "a30"),
    "semantic": ("miou",),
    "referring": ("ciou", "giou"),
    "instances": ("pmf1", "il_mcc", "cgf1"),
}


@dataclass(frozen=True)
class Failure:
    """A query that was not scored.

    Attributes:
        id: the sample's id.
        stage: where it failed: "prompt" (the query cannot be written as one), "photo"
            (reading it), "generate", "decode", "truth" (reading the ground truth) or "score".
        error: the exception's type and message.
    """

    id: str
    stage: str
    error: str


@dataclass
class EvalReport:
    """The outcome of `vision_banana.eval.evaluate`.

    Attributes:
        benchmark: the benchmark's name.
        task: "depth" or "normals".
        generator: the generator's identity (see ``Generator.identity``) and the seed.
        samples: how many queries the run had.
        scored: how many were scored.
        failures: the queries that were not, with why.
        metrics: the metrics module's keys averaged as the protocol says (per image for depth,
            pooled for normals), and the other averaging beside them with the suffix
            ``_pooled`` or ``_per_image``; NaN where nothing valid was scored. Some figures
            are tables by name: ``iou`` by class (semantic), ``subsets`` (SA-Co: each subset's
            figures, the plain keys being their mean).
        paper: the paper's row for this benchmark.
        protocol: the protocol in one line.
        source: the peer code the benchmark's adapter follows.
        metric_options: the metric's keyword arguments (caps, averaging).
        generated: how many queries the generator answered in this run (the rest came from the
            cache, or were failures carried over from an earlier run).
    """

    benchmark: str
    task: str
    generator: dict[str, Any]
    samples: int
    scored: int
    failures: list[Failure]
    metrics: dict[str, Any]
    paper: PaperRow
    protocol: str
    source: str
    metric_options: dict[str, Any] = field(default_factory=dict)
    generated: int = 0

    @property
    def failed(self) -> int:
        """How many queries failed."""
        return len(self.failures)

    def to_dict(self) -> dict[str, Any]:
        """The content of results.json (NaN as None)."""
        peer = self.paper.peer
        return {
            "benchmark": self.benchmark,
            "task": self.task,
            "generator": self.generator,
            "samples": self.samples,
            "scored": self.scored,
            "failed": self.failed,
            "metrics": _finite(self.metrics),
            "paper": {
                "figure": self.paper.figure,
                "ours": dict(self.paper.ours),
                "peer": None if peer is None else {"name": peer[0], "metrics": dict(peer[1])},
            },
            "protocol": {
                "summary": self.protocol,
                "source": self.source,
                "metric_options": _finite(self.metric_options),
            },
            "failures": [vars(f) for f in self.failures],
        }

    def headline(self) -> tuple[str, ...]:
        """The metric keys of the paper's table: the task's headline ones and any other the
        paper's row gives."""
        keys = list(HEADLINE.get(self.task, ()))
        peer = self.paper.peer[1] if self.paper.peer else {}
        keys += [k for k in (*self.paper.ours, *peer) if k not in keys]
        return tuple(keys)

    def to_markdown(self) -> str:
        """results.md: the paper's row with ours beside it, the protocol, every metric."""
        keys = self.headline()
        name = self.generator.get("name", "generator")
        rows = ["| | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        rows.append(_row(f"ours ({name})", self.metrics, keys))
        if self.paper.ours:
            rows.append(_row(f"Vision Banana (paper, {self.paper.figure})", self.paper.ours, keys))
        if self.paper.peer is not None:
            peer, figures = self.paper.peer
            rows.append(_row(f"best peer: {peer} (paper)", figures, keys))
        lines = [
            f"# {self.benchmark} ({self.task})",
            "",
            f"Scored {self.scored} of {self.samples} queries ({self.failed} failed) with "
            f"{name}, seed {self.generator.get('seed')}. Paper: {self.paper.figure}.",
            "",
            *rows,
            "",
            f"Protocol: {self.protocol} (as {self.source}).",
            "",
            "All metrics:",
            "",
            "| metric | value |",
            "|---|---|",
            *(f"| {k} | {_number(v)} |" for k, v in _flat(self.metrics)),
        ]
        if self.failures:
            lines += ["", f"Failed queries ({self.failed}):", ""]
            lines += [f"- {f.id} ({f.stage}): {f.error}" for f in self.failures]
        return "\n".join(lines) + "\n"

    def summary(self) -> str:
        """One line: the counts and the headline metrics."""
        figures = ", ".join(
            f"{k} {_number(self.metrics[k])}" for k in self.headline() if k in self.metrics
        )
        line = (
            f"{self.benchmark}: scored {self.scored} of {self.samples} queries, "
            f"{self.failed} failed, {self.generated} generated; {figures}"
        )
        if self.failures:
            line += f"; first failure {self.failures[0].id}: {self.failures[0].error}"
        return line


def write_results(report: EvalReport, out: Path) -> list[Path]:
    """Writes results.json and results.md into ``out`` (atomically); returns their paths."""
    paths = [out / "results.json", out / "results.md"]
    text = json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n"
    write_atomic(paths[0], text.encode("utf-8"))
    write_atomic(paths[1], report.to_markdown().encode("utf-8"))
    return paths


def _finite(values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with NaN and infinity (nested too) as None: JSON has no NaN."""
    return {
        k: _finite(v)
        if isinstance(v, Mapping)
        else None
        if isinstance(v, float) and not math.isfinite(v)
        else v
        for k, v in values.items()
    }


def _flat(values: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(name, value) of nested tables, the names joined by '/': ``iou/road``."""
    for key, value in values.items():
        if isinstance(value, Mapping):
            yield from _flat(value, f"{prefix}{key}/")
        else:
            yield prefix + key, value


def _number(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.3f}"


def _row(label: str, figures: Mapping[str, float], keys: Iterable[str]) -> str:
    cells = [_number(figures[k]) if k in figures else "" for k in keys]
    return "| " + " | ".join([label, *cells]) + " |"


class SampleLog:
    """samples.jsonl: appended one flushed line per query; compacted at the end of a run.

    Args:
        path: the file; its earlier lines (a killed or finished run) are read by `previous`.
    """

    def __init__(self, path: Path):
        self.path = path
        self._file: IO[str] | None = None
        self.had_lines = path.is_file() and path.stat().st_size > 0

    def records(self) -> Iterator[dict[str, Any]]:
        """The records in the file, in order; a line cut short by a kill is skipped."""
        if not self.path.is_file():
            return
        with self.path.open(encoding="utf-8") as file:
            for line in file:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("id"), str):
                    yield record

    def previous_failures(self) -> dict[str, dict[str, Any]]:
        """The last record of each query whose last record is a failure, by id."""
        failures: dict[str, dict[str, Any]] = {}
        for record in self.records():
            if record.get("error") is not None:
                failures[record["id"]] = record
            else:
                failures.pop(record["id"], None)
        return failures

    def append(self, record: Mapping[str, Any]) -> None:
        """Writes one record as a line and flushes it to the operating system."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
            if self.had_lines and not _ends_with_newline(self.path):
                self._file.write("\n")  # a kill cut the last line short: start a fresh one
        self._file.write(json.dumps(_finite(record), allow_nan=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def compact(self, ids: set[str]) -> None:
        """Rewrites the file with the last line of each query in ``ids`` (atomically), when
        earlier runs left lines in it; a fresh run's file already has one line per query."""
        self.close()
        if not self.had_lines:
            return
        last: dict[str, int] = {}
        for number, record in enumerate(self.records()):
            if record["id"] in ids:
                last[record["id"]] = number
        keep = set(last.values())
        lines = (
            json.dumps(record, allow_nan=False) + "\n"
            for number, record in enumerate(self.records())
            if number in keep
        )
        write_atomic(self.path, "".join(lines).encode("utf-8"))


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as file:
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"
