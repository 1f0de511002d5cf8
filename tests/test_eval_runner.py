"""The evaluation runner: cache, resume, failures, workers, outputs and memory."""

from __future__ import annotations

import json
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vision_banana as vb
from eval_support import (
    SHAPE,
    Painter,
    build_depth_folder,
    decoded_depth,
    depth_reference,
    index_of,
    photo_of,
)
from vision_banana.eval import EvalReport, GenerationCache, cache_key, evaluate
from vision_banana.eval.benchmarks import Benchmark, DepthTruth, PaperRow, Sample
from vision_banana.eval.benchmarks.folder import Folder


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def folder(tmp_path):
    """Five depth samples (a .npy with NaN and zeros, a 16-bit PNG, (H, W, 1) .npy files)."""
    data = build_depth_folder(tmp_path / "set", count=5)
    return tmp_path / "set", data


def run(root, generator, out, **kwargs) -> EvalReport:
    return evaluate("folder", root, generator, out=out, depth_scale=0.001, **kwargs)


def test_second_run_asks_the_generator_nothing(folder, tmp_path):
    root, data = folder
    painter = Painter(data["pictures"])
    first = run(root, painter.generator(), tmp_path / "out", seed=7)
    assert (painter.calls, first.generated) == (5, 5)
    second = run(root, painter.generator(), tmp_path / "out", seed=7)
    assert (painter.calls, second.generated) == (5, 0)
    assert second.metrics == first.metrics
    assert all(record["cached"] for record in lines(tmp_path / "out" / "samples.jsonl"))
    assert painter.seeds == [7] * 5


def test_a_shared_cache_serves_other_runs_and_the_seed_is_part_of_the_key(folder, tmp_path):
    root, data = folder
    painter = Painter(data["pictures"])
    cache = tmp_path / "shared"
    run(root, painter.generator(), tmp_path / "a", cache=cache, seed=1)
    run(root, painter.generator(), tmp_path / "b", cache=cache, seed=1)
    assert painter.calls == 5
    assert not (tmp_path / "a" / "cache").exists()
    run(root, painter.generator(), tmp_path / "c", cache=cache, seed=2)
    assert painter.calls == 10
    # Another generator (a different identity) gets its own pictures.
    other = vb.backends.CallableGenerator(painter, name="another")
    run(root, other, tmp_path / "d", cache=cache, seed=1)
    assert painter.calls == 15


class NeedsGPU(vb.backends.Generator):
    """A backend whose requirement is missing when ``present`` is False."""

    name = "needs-gpu"

    def __init__(self, pictures, present):
        self.painter = Painter(pictures)
        self.present = present

    def check(self):
        if not self.present:
            raise vb.GeneratorError("needs-gpu needs a CUDA GPU")

    def generate(self, image, prompt, *, seed=None):
        return Image.fromarray(self.painter(image, prompt, seed))


def test_a_generator_that_cannot_run_stops_the_run_unless_the_cache_serves_it(folder, tmp_path):
    root, data = folder
    with pytest.raises(vb.GeneratorError, match="needs-gpu needs a CUDA GPU"):
        run(root, NeedsGPU(data["pictures"], present=False), tmp_path / "out")
    run(root, NeedsGPU(data["pictures"], present=True), tmp_path / "out")
    # Rescoring from the cache needs no GPU: check() is only asked before a generation.
    report = run(root, NeedsGPU(data["pictures"], present=False), tmp_path / "out")
    assert (report.scored, report.generated) == (5, 0)


def test_cache_key_covers_photo_prompt_generator_and_seed():
    base = cache_key(b"photo", "prompt", {"name": "g", "steps": 4}, 0)
    assert len(base) == 64
    assert base == cache_key(b"photo", "prompt", {"steps": 4, "name": "g"}, 0)
    others = [
        cache_key(b"photo!", "prompt", {"name": "g", "steps": 4}, 0),
        cache_key(b"photo", "prompt.", {"name": "g", "steps": 4}, 0),
        cache_key(b"photo", "prompt", {"name": "g", "steps": 8}, 0),
        cache_key(b"photo", "prompt", {"name": "g", "steps": 4}, 1),
        cache_key(b"photo", "prompt", {"name": "g", "steps": 4}, None),
    ]
    assert len({base, *others}) == 6


def test_cache_round_trip_is_exact_and_leaves_no_temporary_files(tmp_path):
    cache = GenerationCache(tmp_path)
    picture = np.random.default_rng(0).integers(0, 256, (9, 13, 3), dtype=np.uint8)
    assert cache.get("ab" * 32) is None
    cache.put("ab" * 32, Image.fromarray(picture))
    np.testing.assert_array_equal(cache.get("ab" * 32), picture)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["ab" * 32 + ".png"]


def test_a_damaged_cached_picture_is_generated_again(folder, tmp_path):
    root, data = folder
    painter = Painter(data["pictures"])
    first = run(root, painter.generator(), tmp_path / "out")
    damaged = sorted((tmp_path / "out" / "cache").rglob("*.png"))[0]
    damaged.write_bytes(damaged.read_bytes()[:20])
    second = run(root, painter.generator(), tmp_path / "out")
    assert painter.calls == 6
    assert second.metrics == first.metrics


def test_failed_query_is_recorded_and_retry_failed_asks_only_it_again(folder, tmp_path):
    root, data = folder
    clean = run(root, Painter(data["pictures"]).generator(), tmp_path / "clean")

    painter = Painter(data["pictures"], fail_on=[3])
    first = run(root, painter.generator(), tmp_path / "out")
    assert (first.samples, first.scored, first.failed) == (5, 4, 1)
    assert (first.failures[0].id, first.failures[0].stage) == ("s2", "generate")
    assert first.failures[0].error == "GeneratorError: call 3 refused"
    log = lines(tmp_path / "out" / "samples.jsonl")
    assert [r["id"] for r in log if r["error"]] == ["s2"]

    # A rerun without --retry-failed keeps the failure and asks nothing.
    again = run(root, painter.generator(), tmp_path / "out")
    assert (painter.calls, again.failed) == (5, 1)

    retried = run(root, painter.generator(), tmp_path / "out", retry_failed=True)
    assert painter.calls == 6  # once per query, plus once more for the failed one
    assert (retried.scored, retried.failed) == (5, 0)
    assert retried.metrics == pytest.approx(clean.metrics, rel=1e-12)
    log = lines(tmp_path / "out" / "samples.jsonl")
    assert sorted(r["id"] for r in log) == [f"s{i}" for i in range(5)]
    assert not any(r["error"] for r in log)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert (results["samples"], results["scored"], results["failed"]) == (5, 5, 0)


class Interrupted(Painter):
    """A generator whose process is interrupted (Ctrl-C) during its ``stop_at``-th call."""

    def __init__(self, pictures, stop_at):
        super().__init__(pictures)
        self.stop_at = stop_at

    def __call__(self, image, prompt, seed):
        if self.calls + 1 == self.stop_at:
            self.calls += 1
            raise KeyboardInterrupt
        return super().__call__(image, prompt, seed)


@pytest.mark.parametrize("workers", [1, 3])
def test_an_interrupted_run_resumes_without_losing_a_finished_generation(folder, tmp_path, workers):
    root, data = folder
    clean = run(root, Painter(data["pictures"]).generator(), tmp_path / "clean")
    interrupted = Interrupted(data["pictures"], stop_at=4)
    with pytest.raises(KeyboardInterrupt):
        run(root, interrupted.generator(), tmp_path / "out", workers=workers)
    finished = len(list((tmp_path / "out" / "cache").rglob("*.png")))
    assert finished >= 3
    painter = Painter(data["pictures"])
    resumed = run(root, painter.generator(), tmp_path / "out", workers=workers)
    assert painter.calls == 5 - finished  # nothing finished is asked again
    assert resumed.metrics == pytest.approx(clean.metrics, rel=1e-12)
    assert (resumed.scored, resumed.failed) == (5, 0)
    assert sorted(r["id"] for r in lines(tmp_path / "out" / "samples.jsonl")) == [
        f"s{i}" for i in range(5)
    ]


def test_a_line_cut_short_by_a_kill_is_skipped_and_rewritten(folder, tmp_path):
    root, data = folder
    run(root, Painter(data["pictures"]).generator(), tmp_path / "out", limit=2)
    log = tmp_path / "out" / "samples.jsonl"
    log.write_text(log.read_text() + '{"id": "s2", "prom')
    report = run(root, Painter(data["pictures"]).generator(), tmp_path / "out")
    assert report.scored == 5
    assert sorted(r["id"] for r in lines(log)) == [f"s{i}" for i in range(5)]


def test_workers_give_the_same_results_with_queries_in_flight_at_once(folder, tmp_path):
    root, data = folder
    serial = run(root, Painter(data["pictures"]).generator(), tmp_path / "serial")
    threads: set[str] = set()
    barrier = threading.Barrier(2, timeout=10)

    class Overlapping(Painter):
        def __call__(self, image, prompt, seed):
            threads.add(threading.current_thread().name)
            if index_of(image) < 2:
                barrier.wait()  # the first two calls at the same time, or a timeout error
            return super().__call__(image, prompt, seed)

    parallel = run(root, Overlapping(data["pictures"]).generator(), tmp_path / "par", workers=2)
    assert len(threads) == 2
    assert parallel.failures == []
    assert parallel.metrics == pytest.approx(serial.metrics, rel=1e-12)
    assert [r["id"] for r in lines(tmp_path / "par" / "samples.jsonl")] == [
        f"s{i}" for i in range(5)
    ]


def test_save_predictions_writes_each_prediction_at_the_truth_size(folder, tmp_path):
    root, data = folder
    run(root, Painter(data["pictures"]).generator(), tmp_path / "out", save_predictions=True)
    for i, picture in enumerate(data["pictures"]):
        saved = np.load(tmp_path / "out" / "predictions" / f"s{i}.npy")
        np.testing.assert_array_equal(saved, decoded_depth(picture))


def test_limit_scores_the_first_samples(folder, tmp_path):
    root, data = folder
    painter = Painter(data["pictures"])
    report = run(root, painter.generator(), None, limit=2)
    per_image, _ = depth_reference(
        [decoded_depth(p) for p in data["pictures"][:2]], data["gts"][:2], data["valids"][:2]
    )
    assert (report.samples, painter.calls) == (2, 2)
    assert report.metrics["abs_rel"] == pytest.approx(per_image["abs_rel"], rel=1e-6)


def test_outputs(folder, tmp_path):
    root, data = folder
    run(root, Painter(data["pictures"]).generator(), tmp_path / "out", seed=3)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert set(results) == {
        "benchmark",
        "task",
        "generator",
        "samples",
        "scored",
        "failed",
        "metrics",
        "paper",
        "protocol",
        "failures",
    }
    assert results["generator"]["name"] == "painter"
    assert results["generator"]["seed"] == 3
    assert results["protocol"]["metric_options"]["averaging"] == "image"
    record = lines(tmp_path / "out" / "samples.jsonl")[0]
    assert set(record) == {"id", "prompt", "key", "cached", "metrics", "timings", "stage", "error"}
    assert record["prompt"] == vb.depth_prompt()
    assert set(record["timings"]) == {"read", "generate", "decode", "truth", "score"}
    markdown = (tmp_path / "out" / "results.md").read_text()
    assert "| ours (painter) |" in markdown
    assert "Scored 5 of 5 queries (0 failed)" in markdown


# --- a benchmark defined here: paper rows, prompts, truth checks --------------------------------


class Tiny(Benchmark):
    """Two samples with flat ground truth; not registered."""

    name = "tiny"
    task = "depth"
    size = 2
    layout = "photo.png"
    protocol = "everything valid; per image"
    source = "this test"
    paper = PaperRow("Table 9", {"delta1": 0.9, "abs_rel": 0.1}, ("Peer", {"delta1": 0.8}))

    def __init__(self, root, truths=None, prompt=None):
        super().__init__(root)
        self.truths = truths or [DepthTruth(np.full(SHAPE, 2.0, np.float32), np.ones(SHAPE, bool))]
        self.prompt = prompt
        Image.fromarray(photo_of(0)).save(self.root / "photo.png")

    def samples(self) -> Iterator[Sample]:
        for i, truth in enumerate(self.truths):
            yield Sample(f"t{i}", self.root / "photo.png", lambda t=truth: t, self.prompt)


def test_markdown_puts_ours_beside_the_paper_and_the_best_peer(tmp_path):
    red = np.zeros((*SHAPE, 3), np.uint8)
    red[...] = (255, 0, 0)  # a vertex of the cube walk: decodes to one exact depth
    truth = DepthTruth(vb.decode_depth(red), np.ones(SHAPE, bool))
    report = evaluate(Tiny(tmp_path, truths=[truth]), None, Painter([red]).generator())
    table = report.to_markdown().splitlines()
    assert "| | delta1 | abs_rel |" in table
    assert "| ours (painter) | 1.000 | 0.000 |" in table
    assert "| Vision Banana (paper, Table 9) | 0.900 | 0.100 |" in table
    assert "| best peer: Peer (paper) | 0.800 |  |" in table
    assert "Protocol: everything valid; per image (as this test)." in table


def test_a_sample_prompt_replaces_the_default(tmp_path):
    painter = Painter([vb.encode_depth(np.full(SHAPE, 2.0, np.float32))])
    evaluate(Tiny(tmp_path, prompt="Paint depth, please."), None, painter.generator())
    assert painter.prompts == ["Paint depth, please."]


def test_a_sample_without_valid_pixels_is_scored_as_nothing(tmp_path):
    empty = DepthTruth(np.zeros(SHAPE, np.float32), np.zeros(SHAPE, bool))
    report = evaluate(
        Tiny(tmp_path, truths=[empty]),
        None,
        Painter([vb.encode_depth(np.ones(SHAPE, np.float32))]).generator(),
        out=tmp_path / "out",
    )
    assert report.scored == 1
    assert np.isnan(report.metrics["delta1"])
    assert json.loads((tmp_path / "out" / "results.json").read_text())["metrics"]["delta1"] is None
    assert lines(tmp_path / "out" / "samples.jsonl")[0]["metrics"]["delta1"] is None


def test_a_truth_of_the_wrong_kind_fails_its_sample(tmp_path):
    wrong = vb.eval.benchmarks.NormalsTruth(np.zeros((*SHAPE, 3), np.float32), np.ones(SHAPE, bool))
    report = evaluate(
        Tiny(tmp_path, truths=[wrong]),
        None,
        Painter([vb.encode_depth(np.ones(SHAPE, np.float32))]).generator(),
    )
    assert report.failures[0].stage == "truth"
    assert "load_truth() must return a DepthTruth for a depth benchmark" in report.failures[0].error


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda g, r: evaluate("nope", r, g),
            vb.InvalidArgumentError,
            r"unknown benchmark 'nope'; known: cityscapes, diode-indoor, diode-indoor-normals, "
            r"eth3d, folder, ibims, kitti, nuscenes, nyu, nyu-normals, reasonseg, refcocog, "
            r"saco-gold, scannet-normals, vkitti2-normals$",
        ),
        (lambda g, r: evaluate("folder", None, g), vb.InvalidArgumentError, "root: folder needs"),
        (lambda g, r: evaluate("folder", r, 3), vb.InvalidTypeError, "generator must be a"),
        (lambda g, r: evaluate("folder", r, g, workers=0), vb.InvalidArgumentError, "workers"),
        (lambda g, r: evaluate("folder", r, g, limit=0), vb.InvalidArgumentError, "limit"),
        (lambda g, r: evaluate("folder", r, g, seed=1.5), vb.InvalidTypeError, "seed must be"),
        (
            lambda g, r: evaluate("folder", r, g, retry_failed=True),
            vb.InvalidArgumentError,
            "out: retry_failed and save_predictions need an output folder",
        ),
        (
            lambda g, r: evaluate(Tiny(r), r, g),
            vb.InvalidArgumentError,
            "root, split and options go with a benchmark name",
        ),
    ],
)
def test_bad_arguments(tmp_path, call, error, message):
    build_depth_folder(tmp_path / "set", count=1)
    with pytest.raises(error, match=message):
        call(Painter([]).generator(), tmp_path / "set")


# --- memory ------------------------------------------------------------------------------------


def _peak(root: Path, out: Path, picture: np.ndarray) -> int:
    """Peak Python-allocated bytes (numpy arrays included) of one evaluation of ``root``."""
    bench = Folder(root)  # the list of file names is the benchmark's, outside the measure

    def generator(image, prompt, seed):
        return picture

    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        report = evaluate(bench, None, generator, out=out)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    assert report.scored == bench.size
    return peak


def test_peak_memory_stays_flat_over_1000_samples(tmp_path):
    rng = np.random.default_rng(0)
    side = 32
    picture = vb.encode_depth(rng.uniform(0.5, 9, (side, side)).astype(np.float32))
    for count, root in ((100, tmp_path / "small"), (1000, tmp_path / "large")):
        (root / "images").mkdir(parents=True)
        (root / "depth").mkdir()
        for i in range(count):
            photo = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
            Image.fromarray(photo).save(root / "images" / f"{i:04d}.png", compress_level=0)
            np.save(root / "depth" / f"{i:04d}.npy", rng.uniform(0.5, 9, (side, side)))
    small = _peak(tmp_path / "small", tmp_path / "out-small", picture)
    large = _peak(tmp_path / "large", tmp_path / "out-large", picture)
    # Keeping any per-sample array (an 8 KB truth, a 4 KB prediction) would add 7-11 MB over
    # the 900 extra samples; ids and bookkeeping add well under 1 MB.
    assert large - small < 2**20, (small, large)


# --- generator identities: what the cache keys on ----------------------------------------------


def test_identities_change_with_what_changes_the_answers():
    from vision_banana.backends import DiffusersGenerator, HTTPGenerator, ReferenceGenerator

    depth = np.ones(SHAPE, np.float32)
    reference = ReferenceGenerator(depth=depth).identity()
    assert reference == ReferenceGenerator(depth=depth.copy()).identity()
    assert reference != ReferenceGenerator(depth=depth * 2).identity()
    assert reference != ReferenceGenerator(depth=depth, degrade=True).identity()
    assert reference != ReferenceGenerator(depth=depth, seed=1).identity()
    assert reference["class"] == "vision_banana.backends.reference.ReferenceGenerator"

    def paint(image, prompt, seed):
        return depth

    callable_identity = vb.backends.CallableGenerator(paint).identity()
    assert callable_identity["function"].endswith(
        "test_identities_change_with_what_changes_the_answers.<locals>.paint"
    )
    assert HTTPGenerator("http://a/x").identity()["url"] == "http://a/x"
    assert HTTPGenerator("http://a/x", headers={"Authorization": "secret"}).identity() == (
        HTTPGenerator("http://a/x").identity()
    )
    flux = DiffusersGenerator("flux2-klein-4b").identity()
    assert (flux["model"], flux["steps"], flux["lora"]) == (
        "black-forest-labs/FLUX.2-klein-4B",
        4,
        None,
    )
    assert DiffusersGenerator("flux2-klein-4b", steps=8).identity()["steps"] == 8
    assert DiffusersGenerator("flux2-klein-4b", lora="mine").identity()["lora"] == "mine"
    json.dumps([reference, callable_identity, flux])  # JSON-able


def test_gemini_identity_names_the_model_and_its_settings():
    pytest.importorskip("google.genai")
    from vision_banana.backends.gemini import GeminiGenerator

    identity = GeminiGenerator(
        "gemini-2.5-flash-image", client=object(), image_size="2K"
    ).identity()
    assert (identity["model"], identity["image_size"]) == ("gemini-2.5-flash-image", "2K")
