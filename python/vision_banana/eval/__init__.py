"""The benchmark harness: reproduce the paper's depth and normals tables with any generator.

    report = vb.evaluate("nyu", "data/nyu", generator, out="runs/nyu", workers=4, seed=0)
    report.metrics["delta1"], report.scored, report.failures

`evaluate` reads a benchmark from its official layout (``BENCHMARKS``: one adapter per benchmark
in `vision_banana.eval.benchmarks`), asks the generator once per query (a content-addressed
cache makes reruns free and lets a killed run resume), decodes, scores as the benchmark's
protocol says, and writes results.json, results.md and samples.jsonl. The command line:
``vision-banana eval BENCHMARK --root DIR --generator SPEC -o OUTDIR``.
"""

from .benchmarks import BENCHMARKS, Benchmark, BenchmarkInfo, benchmarks_table, list_benchmarks
from .cache import GenerationCache, cache_key
from .report import EvalReport, Failure
from .runner import evaluate

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "BenchmarkInfo",
    "EvalReport",
    "Failure",
    "GenerationCache",
    "benchmarks_table",
    "cache_key",
    "evaluate",
    "list_benchmarks",
]
