"""Speed of files in, numbers out: PNG reading and writing in Rust against Pillow, and
decode_files (read and decode in Rust threads) against Pillow with a thread pool and in a loop,
each baseline timed in the same run.

    python -m pytest benches/bench_files.py --benchmark-enable -s
"""

from __future__ import annotations

import functools
import io
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vision_banana as vb
from timing import compare, seconds

GENERATED = Path(__file__).parent.parent / "examples" / "room_depth_generated.png"
FILES = 64
WORKERS = os.cpu_count() or 1


@pytest.fixture(scope="module")
def picture():
    """The bundled generated depth picture (1184x880, about 1 MP), uint8 RGB."""
    return vb.read_image(GENERATED)


@pytest.fixture(scope="module")
def files(tmp_path_factory, picture, request):
    """64 PNG files of 1 MP (8 when the benchmarks run untimed, to check the answers): the
    generated picture with different noise, so that no two files are alike, written by Pillow
    (what a pipeline gets from other tools)."""
    folder = tmp_path_factory.mktemp("generated")
    rng = np.random.default_rng(0)
    count = 8 if _untimed(request.config) else FILES
    paths = []
    for i in range(count):
        noisy = np.clip(picture + rng.integers(-2, 3, picture.shape), 0, 255).astype(np.uint8)
        path = folder / f"{i:02d}.png"
        Image.fromarray(noisy).save(path, compress_level=1)
        paths.append(path)
    return paths


def _untimed(config):
    """Whether the benchmarks run untimed (pyproject's --benchmark-disable, unless enabled)."""
    return config.getoption("benchmark_disable") and not config.getoption("benchmark_enable")


def pillow_read(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def pillow_decode(path):
    return vb.decode_depth(pillow_read(path))


def test_read_image_png_vs_pillow(benchmark, picture):
    ours = benchmark(vb.read_image, GENERATED)
    np.testing.assert_array_equal(ours, pillow_read(GENERATED))
    compare(benchmark, seconds(lambda: pillow_read(GENERATED), 10), at_least=2)


def test_write_image_png_vs_pillow(benchmark, picture, tmp_path):
    ours_path, pillow_path = tmp_path / "ours.png", tmp_path / "pillow.png"
    benchmark(vb.write_image, ours_path, picture)
    np.testing.assert_array_equal(pillow_read(ours_path), picture)

    def pillow_write():
        Image.fromarray(picture).save(pillow_path)

    pillow_write()
    baseline = seconds(pillow_write, 3) if not benchmark.disabled else 0.0
    ours_size, pillow_size = ours_path.stat().st_size, pillow_path.stat().st_size
    benchmark.extra_info.update(ours_bytes=ours_size, pillow_bytes=pillow_size)
    print(f"\nfile size: ours {ours_size / 1e3:.0f} kB, Pillow {pillow_size / 1e3:.0f} kB")
    compare(benchmark, baseline, at_least=10)


def test_write_image_compression_levels(picture, tmp_path):
    """Not a target: the size and time of each level, for the README (printed with -s); untimed,
    each level's file reads back exactly."""
    for level in vb.io.PNG_COMPRESSION:
        path = tmp_path / f"{level}.png"
        took = seconds(functools.partial(vb.write_image, path, picture, compression=level), 1)
        np.testing.assert_array_equal(vb.read_image(path), picture)
        print(f"\n{level}: {took * 1e3:.1f} ms, {path.stat().st_size / 1e3:.0f} kB")
    buffer = io.BytesIO()
    took = seconds(lambda: Image.fromarray(picture).save(buffer, format="PNG"), 1)
    print(f"Pillow default: {took * 1e3:.1f} ms, {len(buffer.getvalue()) / 1e3:.0f} kB")


def _decode_all(paths, workers):
    return list(vb.decode_files("depth", paths, workers=workers))


def _check(results, files):
    """Every eighth result is the depth of the file read by Pillow."""
    assert len(results) == len(files)
    step = max(1, len(files) // 8)
    for path, depth in zip(files[::step], results[::step], strict=True):
        np.testing.assert_array_equal(depth, pillow_decode(path))


# Ours and the baselines: the best of ROUNDS, after one warm-up round each (the first pass over
# the files pays for page faults of fresh output arrays and starting threads).
ROUNDS = 3


def _best(function):
    function()
    return seconds(function, ROUNDS)


def _ours(benchmark, files):
    return benchmark.pedantic(
        _decode_all, (files, WORKERS), rounds=ROUNDS, iterations=1, warmup_rounds=1
    )


def test_decode_files_vs_pillow_thread_pool(benchmark, files):
    results = _ours(benchmark, files)
    _check(results, files)

    def thread_pool():
        with ThreadPoolExecutor(WORKERS) as pool:
            return list(pool.map(pillow_decode, files))

    _check(thread_pool(), files)
    if not benchmark.disabled:
        compare(benchmark, _best(thread_pool), at_least=2)


def test_decode_files_vs_pillow_loop(benchmark, files):
    results = _ours(benchmark, files)
    _check(results, files)
    if not benchmark.disabled:
        target = 3.5 if WORKERS >= 2 else None  # the target is set for 2 cores or more
        loop = _best(lambda: [pillow_decode(p) for p in files])
        compare(benchmark, loop, at_least=target)


def test_decode_files_scales_with_workers(files, request):
    """Throughput with 1, 2, ... workers, printed (not a target: it depends on the cores)."""
    _check(_decode_all(files, 1), files)
    if _untimed(request.config):
        return
    for workers in sorted({1, 2, WORKERS, 2 * WORKERS}):
        start = time.perf_counter()
        _decode_all(files, workers)
        took = time.perf_counter() - start
        print(f"\ndecode_files, {workers} worker(s): {FILES / took:.0f} files/s")
