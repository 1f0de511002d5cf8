"""The training-set export against its floor, writing the PNGs it must write.

    pytest benches/bench_export.py --benchmark-enable -s
    VB_BENCH_EXPORT_SAMPLES=1000 pytest benches/bench_export.py --benchmark-enable -s

COUNT 1 MP depth samples (1024x1024 JPEG photo, float32 .npy truth; 16 unless
VB_BENCH_EXPORT_SAMPLES says more) exported with one worker into a fresh folder each round. The
floor is writing the same control and target PNGs with `io.write_image` and nothing else; the
export also reads the photo and the truth, encodes the target, and writes the prompts and the
trainers' files. It prints samples per second and the share of its time spent writing, and must
stay bounded by the PNG writing: at most 1.5 times the floor. Untimed (``--benchmark-disable``),
the exported files are still checked byte for byte against the floor's.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
from PIL import Image

import vision_banana as vb
from timing import compare, seconds
from vision_banana.io import read_image, write_image

SIDE = 1024
COUNT = int(os.environ.get("VB_BENCH_EXPORT_SAMPLES", "16"))


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """The folder layout, and each sample's stem, photo pixels and target picture."""
    root = tmp_path_factory.mktemp("export")
    (root / "src" / "images").mkdir(parents=True)
    (root / "src" / "depth").mkdir()
    y, x = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    expected = []
    for i in range(COUNT):
        stem = f"{i:05d}"
        depth = (0.5 + 20 * (1 - y) ** 2 + 3 * np.sin(7 * x + i) ** 2).astype(np.float32)
        photo = (np.stack([x, y, np.full_like(x, (i % 7) / 7)], -1) * 255).astype(np.uint8)
        Image.fromarray(photo).save(root / "src" / "images" / f"{stem}.jpg", quality=90)
        np.save(root / "src" / "depth" / f"{stem}.npy", depth)
        pixels = read_image(root / "src" / "images" / f"{stem}.jpg")
        expected.append((stem, pixels, vb.encode_depth(depth)))
    return root, expected


def test_export_is_bounded_by_png_writing(benchmark, source):
    root, expected = source
    runs = itertools.count()

    def fresh_output():  # a new folder each round: a first export, not a resumed one
        return (root / f"out{next(runs)}",), {}

    def export(out):
        return vb.export_training_set("depth", root / "src", out, progress=False)

    report = benchmark.pedantic(export, setup=fresh_output, rounds=3, iterations=1)
    assert (report.written, len(report.samples)) == (COUNT, COUNT)

    floor_dir = root / "floor"
    floor_dir.mkdir(exist_ok=True)

    def floor():
        for stem, pixels, target in expected:
            write_image(floor_dir / f"{stem}.control.png", pixels)
            write_image(floor_dir / f"{stem}.target.png", target)

    floor_s = seconds(floor, repeat=3)
    for stem, _, _ in expected:  # the same answer: the floor's bytes
        for kind in ("control", "target"):
            written = (report.out / kind / f"{stem}.png").read_bytes()
            assert written == (floor_dir / f"{stem}.{kind}.png").read_bytes()
    compare(benchmark, floor_s, at_most_times=1.5)
    if not benchmark.disabled:
        total = sum(report.timings.values())
        share = report.timings["write"] / total
        rate = COUNT / benchmark.stats.stats.min
        print(
            f"export: {rate:.1f} samples/s ({SIDE}x{SIDE}), floor {COUNT / floor_s:.1f} "
            f"samples/s; writing {share:.0%} of the time (read "
            f"{report.timings['read'] / total:.0%}, encode {report.timings['encode'] / total:.0%})"
        )
        benchmark.extra_info.update(samples_per_s=rate, write_share=share)
        assert share > 0.5, f"writing is {share:.0%} of the export's time"
