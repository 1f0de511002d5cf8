"""The evaluation loop: every query of a benchmark through a generator, scored as its protocol says.

One query (BENCHMARKS.md, common protocol): read the photo's bytes, build the prompt (the task's
prompt builder unless the sample has its own), take the picture from the cache or ask the
generator (then cache it), decode it at the size it came in, read the ground truth, resize the
prediction to the truth's size, and score it with the benchmark's metric. A query that fails
(the generator, a corrupt ground-truth file...) is recorded with its error and the run goes on.

Resuming: every generated picture is in the cache before its query counts as done, and every
finished query has its line in samples.jsonl. A rerun takes the pictures from the cache (no
generator call), scores every query again (the metrics are sums over the set), and leaves the
queries that failed before as failures unless ``retry_failed``.

Memory stays flat over any number of samples: ground truth is read one sample at a time, at most
``2 * workers`` queries are in flight, and the per-query state kept is an id and a failure line.

Example:
    >>> from vision_banana.backends import ReferenceGenerator
    >>> report = evaluate("folder", "examples/eval_folder", generator,  # doctest: +SKIP
    ...                   out="runs/folder", seed=0)
    >>> report.metrics["delta1"], report.scored                      # doctest: +SKIP
    (1.0, 4)
"""

from __future__ import annotations

import collections
import itertools
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._arrays import check_positive_int
from ..backends.base import Generator, to_rgb_image
from ..backends.callable import CallableGenerator
from ..errors import InvalidArgumentError, InvalidTypeError
from ..io import read_image
from .benchmarks.base import BENCHMARKS, Benchmark, Sample
from .cache import GenerationCache, cache_key, write_atomic
from .report import EvalReport, Failure, SampleLog, write_results
from .tasks import TASKS, Metric

__all__ = ["evaluate", "make_benchmark"]


def make_benchmark(
    benchmark: str | Benchmark,
    root: str | os.PathLike[str] | None,
    *,
    split: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Benchmark:
    """A benchmark by name, reading ``root`` (or ``benchmark`` itself when it is one).

    Raises:
        InvalidArgumentError: an unknown name (the message lists the known ones), a missing
            root, a layout that does not match, an option the benchmark does not take.
    """
    if isinstance(benchmark, Benchmark):
        if root is not None or split is not None or options:
            raise InvalidArgumentError(
                "root, split and options go with a benchmark name, not a Benchmark instance"
            )
        return benchmark
    if not isinstance(benchmark, str):
        raise InvalidTypeError(
            f"benchmark must be a name or a Benchmark, got {type(benchmark).__name__}"
        )
    if benchmark not in BENCHMARKS:
        raise InvalidArgumentError(
            f"benchmark: unknown benchmark {benchmark!r}; known: {', '.join(sorted(BENCHMARKS))}"
        )
    if root is None:
        raise InvalidArgumentError(f"root: {benchmark} needs the folder its data is in")
    return BENCHMARKS[benchmark](
        Path(root), split=None if split is None else Path(split), **options
    )


@dataclass
class _Outcome:
    """One finished query: its samples.jsonl record, and its metric unless it failed."""

    record: dict[str, Any]
    metric: Metric | None = None
    generated: bool = False
    failure: Failure | None = None


@dataclass
class _Query:
    """What every query of a run shares."""

    bench: Benchmark
    generator: Generator
    identity: dict[str, Any]
    seed: int | None
    cache: GenerationCache | None
    predictions: Path | None
    previous_failures: dict[str, dict[str, Any]]
    retry_failed: bool
    _checked: bool = False
    _check_error: Exception | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check_generator(self) -> None:
        """`Generator.check` once, before the first generation: a run served by the cache
        needs no key, network or GPU. Its error stops the run (see ``__call__``)."""
        with self._lock:
            if self._check_error is not None:
                raise self._check_error
            if not self._checked:
                try:
                    self.generator.check()
                except Exception as error:
                    self._check_error = error
                    raise
                self._checked = True

    def __call__(self, sample: Sample) -> _Outcome:
        spec = TASKS[self.bench.task]
        timings: dict[str, float] = {}
        record: dict[str, Any] = {
            "id": sample.id,
            "prompt": sample.prompt,
            "key": None,
            "cached": None,
            "metrics": None,
            "timings": timings,
            "stage": None,
            "error": None,
        }
        outcome = _Outcome(record)
        clock = time.perf_counter()
        stage = "prompt"

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = round(now - clock, 6)
            clock = now

        try:
            prompt = sample.prompt
            if prompt is None:  # a query that cannot be written as a prompt fails alone
                prompt = record["prompt"] = spec.prompt(self.bench, sample)
            stage = "photo"
            photo = sample.photo.read_bytes()
            key = record["key"] = cache_key(photo, prompt, self.identity, self.seed)
            earlier = self.previous_failures.get(sample.id)
            if earlier is not None and earlier.get("key") == key and not self.retry_failed:
                # Failed in an earlier run: stays failed until asked again (--retry-failed).
                outcome.record = earlier
                outcome.failure = Failure(
                    sample.id, str(earlier.get("stage")), str(earlier["error"])
                )
                return outcome
            lap("read")
            stage = "generate"
            picture = self.cache.get(key) if self.cache is not None else None
            record["cached"] = picture is not None
            if picture is None:
                self.check_generator()
                answer = to_rgb_image(  # a backend that answers otherwise than RGB PIL
                    self.generator.generate(read_image(photo), prompt, seed=self.seed),
                    f"generator {self.generator.name}",
                )
                outcome.generated = True
                if self.cache is not None:
                    self.cache.put(key, answer)
                picture = np.asarray(answer)
            lap("generate")
            stage = "decode"
            prediction = spec.decode(picture, prompt, self.bench)
            lap("decode")
            stage = "truth"
            truth = sample.load_truth()
            if not isinstance(truth, spec.truth):
                raise InvalidTypeError(
                    f"{self.bench.name}: load_truth() must return a {spec.truth.__name__} for "
                    f"a {self.bench.task} benchmark, got {type(truth).__name__}"
                )
            lap("truth")
            stage = "score"
            metric = spec.metric(self.bench)
            resized = spec.score(metric, prediction, truth)
            record["metrics"] = spec.figures(metric, self.bench)
            outcome.metric = metric
            if self.predictions is not None:
                _save_prediction(self.predictions, sample.id, resized)
            lap("score")
        except Exception as error:  # one query's failure must not stop the run
            if error is self._check_error:
                raise  # but a generator that cannot run at all fails every query: stop
            record["stage"] = stage
            record["error"] = _describe(error)
            outcome.failure = Failure(sample.id, stage, record["error"])
        return outcome


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    if not isinstance(error, (OSError, ValueError, TypeError, RuntimeError)):
        # Not an expected kind of failure: where it came from helps to fix it.
        frame = traceback.extract_tb(error.__traceback__)[-1:]
        text += "".join(f" (at {f.filename}:{f.lineno})" for f in frame)
    return text


def _metric(bench: Benchmark) -> Metric:
    return TASKS[bench.task].metric(bench)


def _save_prediction(folder: Path, sample_id: str, prediction: NDArray[Any]) -> None:
    parts = [p for p in sample_id.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    buffer = BytesIO()
    np.save(buffer, prediction)
    write_atomic(folder.joinpath(*parts).with_suffix(".npy"), buffer.getvalue())


def _in_flight(
    samples: Iterable[Sample], query: Callable[[Sample], _Outcome], workers: int
) -> Iterator[_Outcome]:
    """The queries' outcomes in sample order, with up to ``2 * workers`` in flight at once."""
    if workers == 1:
        yield from map(query, samples)
        return
    from concurrent.futures import Future, ThreadPoolExecutor

    pool = ThreadPoolExecutor(workers, thread_name_prefix="vision-banana-eval")
    window: collections.deque[Future[_Outcome]] = collections.deque()
    try:
        for sample in samples:
            window.append(pool.submit(query, sample))
            if len(window) >= 2 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    finally:
        # Stopped early (an interrupt): the queries already running finish and cache their
        # pictures; those not started are dropped.
        pool.shutdown(wait=True, cancel_futures=True)


def _progress_bar(total: int | None, name: str, show: bool | None) -> Any:
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=name, unit="query", file=sys.stderr)


def evaluate(
    benchmark: str | Benchmark,
    root: str | os.PathLike[str] | None,
    generator: Generator | Callable[..., Any],
    *,
    out: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    workers: int = 1,
    cache: str | os.PathLike[str] | None = None,
    seed: int | None = None,
    split: str | os.PathLike[str] | None = None,
    retry_failed: bool = False,
    save_predictions: bool = False,
    progress: bool | None = None,
    **options: Any,
) -> EvalReport:
    """Runs a benchmark through a generator and scores it as the benchmark's protocol says.

    Args:
        benchmark: a registered name (``BENCHMARKS``: "nyu", "kitti", "folder"...) or a
            `Benchmark` instance (then ``root`` is None).
        root: the folder holding the benchmark in its official layout.
        generator: a `Generator`, or a function ``fn(image, prompt, seed)`` (wrapped in
            `CallableGenerator`).
        out: where results.json, results.md and samples.jsonl go (and predictions/); None:
            nothing is written, and a rerun cannot resume.
        limit: score only the first ``limit`` samples.
        workers: queries in flight at once (threads), for remote generators.
        cache: the generation cache folder; default ``out/cache`` (None without ``out``: no
            cache). Share one between runs and benchmarks.
        seed: passed to the generator with every query (part of the cache key).
        split: a file replacing the benchmark's default list of samples, where it has one.
        retry_failed: ask again the queries that failed in the previous run into ``out``
            (read from its samples.jsonl); without it they stay failed.
        save_predictions: write each decoded prediction, resized to the ground truth, to
            ``out/predictions/<id>.npy``: depth (H, W) float32 metres, normals (H, W, 3)
            float32 in the OpenCV frame, semantic (H, W) uint8 class indices (255 unlabelled),
            referring (H, W) bool, instances the (H, W) uint32 id map (0 background).
        progress: a tqdm progress bar on stderr; None: when stderr is a terminal.
        options: the benchmark's own options (``depth_scale``, ``max_depth``, ``stride``,
            ``palette``, ``sample``, ``subset``, ``use_scores``, ``tau``...).

    Returns:
        `EvalReport`: ``metrics``, ``samples``, ``scored``, ``failures``, ``to_markdown()``.

    Raises:
        InvalidArgumentError / InvalidTypeError: an unknown benchmark (the known ones are
            listed), a missing root or a layout that does not match, bad arguments. Failures of
            single queries are not raised: they are in ``failures``.

    Example:
        >>> from vision_banana.backends import CallableGenerator
        >>> report = evaluate("folder", "my_data", CallableGenerator(my_model),  # doctest: +SKIP
        ...                   out="runs/mine", workers=4, seed=0)
        >>> print(report.summary())                                          # doctest: +SKIP
        folder: scored 120 of 120 queries, 0 failed, 120 generated; delta1 0.913, abs_rel 0.081
    """
    if not isinstance(generator, Generator):
        if not callable(generator):
            raise InvalidTypeError(
                f"generator must be a Generator or a function, got {type(generator).__name__}"
            )
        generator = CallableGenerator(generator)
    workers = check_positive_int(workers, "workers")
    if limit is not None:
        limit = check_positive_int(limit, "limit")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise InvalidTypeError(f"seed must be an integer or None, got {type(seed).__name__}")
    if (retry_failed or save_predictions) and out is None:
        raise InvalidArgumentError(
            "out: retry_failed and save_predictions need an output folder (out=...)"
        )
    bench = make_benchmark(benchmark, root, split=split, **options)
    _metric(bench)  # bad metric options fail here, before any generation
    out_dir = None if out is None else Path(out)
    cache_dir = Path(cache) if cache is not None else (out_dir / "cache" if out_dir else None)
    log = SampleLog(out_dir / "samples.jsonl") if out_dir is not None else None
    identity = generator.identity()
    query = _Query(
        bench=bench,
        generator=generator,
        identity=identity,
        seed=None if seed is None else int(seed),
        cache=None if cache_dir is None else GenerationCache(cache_dir),
        predictions=out_dir / "predictions" if (out_dir and save_predictions) else None,
        previous_failures=log.previous_failures() if log is not None else {},
        retry_failed=retry_failed,
    )

    total_metric: Any = _metric(bench)  # the task's metric class; merge takes its own class
    ids: set[str] = set()
    failures: list[Failure] = []
    generated = 0
    size = bench.size if limit is None or bench.size is None else min(limit, bench.size)
    bar = _progress_bar(size, bench.name, progress)
    samples = itertools.islice(bench.samples(), limit)
    try:
        for outcome in _in_flight(samples, query, workers):
            record = outcome.record
            ids.add(record["id"])
            generated += outcome.generated
            if outcome.failure is not None:
                failures.append(outcome.failure)
            if outcome.metric is not None:
                total_metric.merge(outcome.metric)
            if log is not None and record is not query.previous_failures.get(record["id"]):
                log.append(record)
            if bar is not None:
                bar.update()
                bar.set_postfix(failed=len(failures), generated=generated, refresh=False)
    finally:
        if bar is not None:
            bar.close()
        if log is not None:
            log.close()

    report = EvalReport(
        benchmark=bench.name,
        task=bench.task,
        generator={**identity, "seed": query.seed},
        samples=len(ids),
        scored=len(ids) - len(failures),
        failures=failures,
        metrics=TASKS[bench.task].figures(total_metric, bench),
        paper=bench.paper,
        protocol=bench.protocol,
        source=bench.source,
        metric_options=dict(bench.metric_options),
        generated=generated,
    )
    if out_dir is not None and log is not None:
        log.compact(ids)
        write_results(report, out_dir)
    return report
