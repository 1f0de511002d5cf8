"""The ``folder`` benchmark: a user's own photos with depth (.npy metres, 16-bit PNG) or normals
(.npy, OpenCV frame), scored through the harness and checked against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import vision_banana as vb
from eval_support import (
    DEPTH_KEYS,
    NORMAL_KEYS,
    SHAPE,
    Painter,
    build_depth_folder,
    build_normals_folder,
    decoded_depth,
    decoded_normals,
    depth_reference,
    normals_reference,
    photo_of,
)
from vision_banana.eval import evaluate
from vision_banana.eval.benchmarks.folder import Folder


def check(metrics, expected, suffix="", abs_tol=1e-9):
    for key, value in expected.items():
        assert metrics[key + suffix] == pytest.approx(value, rel=1e-6, abs=abs_tol), key + suffix


def test_depth_metrics_match_numpy_per_image_and_pooled(tmp_path):
    data = build_depth_folder(tmp_path / "set")
    painter = Painter(data["pictures"])
    report = evaluate(
        "folder", tmp_path / "set", painter.generator(), out=tmp_path / "out", depth_scale=0.001
    )
    preds = [decoded_depth(p) for p in data["pictures"]]
    per_image, pooled = depth_reference(preds, data["gts"], data["valids"])
    assert (report.task, report.samples, report.scored, report.failures) == ("depth", 3, 3, [])
    assert set(report.metrics) == {*DEPTH_KEYS, *(k + "_pooled" for k in DEPTH_KEYS)}
    check(report.metrics, per_image)
    check(report.metrics, pooled, "_pooled")
    # The per-image and pooled figures differ on this set: the test tells them apart.
    assert abs(per_image["abs_rel"] - pooled["abs_rel"]) > 1e-4
    assert painter.prompts == [vb.depth_prompt()] * 3


def test_max_depth_caps_ground_truth_and_clips_predictions(tmp_path):
    data = build_depth_folder(tmp_path / "set")
    report = evaluate(
        "folder",
        tmp_path / "set",
        Painter(data["pictures"]).generator(),
        depth_scale=0.001,
        max_depth=5.0,
    )
    preds = [decoded_depth(p) for p in data["pictures"]]
    assert max(float(p.max()) for p in preds) > 5.0  # clipping matters
    per_image, pooled = depth_reference(preds, data["gts"], data["valids"], max_depth=5.0)
    check(report.metrics, per_image)
    check(report.metrics, pooled, "_pooled")
    assert report.metric_options["max_depth"] == 5.0


def test_normals_metrics_match_numpy_pooled_and_per_image(tmp_path):
    data = build_normals_folder(tmp_path / "set")
    painter = Painter(data["pictures"])
    report = evaluate("folder", tmp_path / "set", painter.generator(), out=tmp_path / "out")
    preds = [decoded_normals(p) for p in data["pictures"]]
    pooled, per_image = normals_reference(preds, data["gts"], data["valids"])
    assert (report.task, report.scored) == ("normals", 3)
    assert set(report.metrics) == {*NORMAL_KEYS, *(k + "_per_image" for k in NORMAL_KEYS)}
    # The pooled median comes from 0.001-degree bins (NormalMetric's documented precision).
    check(report.metrics, {k: v for k, v in pooled.items() if k != "median"})
    assert report.metrics["median"] == pytest.approx(pooled["median"], abs=1e-3)
    check(report.metrics, per_image, "_per_image", abs_tol=1e-6)
    assert 10 < pooled["mean"] < 40
    assert painter.prompts == [vb.normals_prompt()] * 3


def test_normals_truth_in_the_opencv_frame_scores_zero_when_painted_exactly(tmp_path):
    """A wall facing the camera, the floor and a wall facing left, in the OpenCV frame (y down,
    z forward, pointing out of the surface), painted as a perfect model would: 0 degrees."""
    (tmp_path / "images").mkdir()
    (tmp_path / "normals").mkdir()
    Image.fromarray(photo_of(0)).save(tmp_path / "images" / "room.png")
    truth = np.zeros((*SHAPE, 3), np.float32)
    truth[:, :5] = (0, 0, -1)  # facing the camera
    truth[:, 5:10] = (0, -1, 0)  # the floor, facing up
    truth[:, 10:] = (-1, 0, 0)  # facing left
    np.save(tmp_path / "normals" / "room.npy", truth)
    picture = vb.encode_normals(vb.to_opencv(truth))
    report = evaluate("folder", tmp_path, Painter([picture]).generator())
    assert report.metrics["mean"] < 0.5
    assert report.metrics["a5"] == 100.0


def test_prediction_is_resized_to_the_truth(tmp_path):
    """A generator answering at twice the photo's size: the decoded depth is resized back."""
    data = build_depth_folder(tmp_path / "set", count=1)
    picture = vb.encode_depth(np.full((SHAPE[0] * 2, SHAPE[1] * 2), 2.0, np.float32))
    report = evaluate("folder", tmp_path / "set", Painter([picture]).generator())
    flat = np.full(SHAPE, float(decoded_depth(picture)[0, 0]))
    per_image, _ = depth_reference([flat], data["gts"], data["valids"])
    check(report.metrics, per_image)


def test_samples_are_paired_by_stem_in_name_order(tmp_path):
    build_depth_folder(tmp_path, count=3)
    bench = Folder(tmp_path, depth_scale=0.001)
    samples = list(bench.samples())
    assert [s.id for s in samples] == ["s0", "s1", "s2"]
    assert [s.photo.name for s in samples] == ["s0.png", "s1.jpg", "s2.png"]
    assert (bench.task, bench.size) == ("depth", 3)
    truth = samples[1].load_truth()
    assert isinstance(truth, vb.eval.benchmarks.DepthTruth)
    with Image.open(tmp_path / "depth" / "s1.png") as stored:
        millimetres = np.array(stored).astype(np.float64)
    np.testing.assert_allclose(truth.depth, millimetres * 0.001, rtol=1e-6)
    np.testing.assert_array_equal(truth.valid, millimetres > 0)


@pytest.mark.parametrize(
    ("setup", "options", "message"),
    [
        (lambda r: (r / "depth").mkdir(), {}, r"expects images/<stem>.*missing: .*images"),
        (lambda r: (r / "images").mkdir(), {}, r"missing: .*depth \(or normals\)"),
        (
            lambda r: [(r / d).mkdir() for d in ("images", "depth", "normals")],
            {},
            "holds both depth/ and normals/",
        ),
    ],
)
def test_layout_errors_name_what_is_missing(tmp_path, setup, options, message):
    setup(tmp_path)
    with pytest.raises(vb.InvalidArgumentError, match=message):
        Folder(tmp_path, **options)


def test_a_photo_without_truth_names_the_missing_file(tmp_path):
    build_depth_folder(tmp_path, count=3)
    (tmp_path / "depth" / "s2.npy").unlink()
    with pytest.raises(vb.InvalidArgumentError, match=r"missing: .*depth/s2\.npy\|\.png"):
        Folder(tmp_path, depth_scale=0.001)


def test_truth_without_a_photo_is_refused_not_dropped(tmp_path):
    build_depth_folder(tmp_path, count=3)
    (tmp_path / "images" / "s2.png").unlink()
    with pytest.raises(vb.InvalidArgumentError, match=r"s2\.npy has no photo images/s2"):
        Folder(tmp_path, depth_scale=0.001)


def test_png_depth_needs_depth_scale(tmp_path):
    build_depth_folder(tmp_path, count=2)
    with pytest.raises(vb.InvalidArgumentError, match=r"depth_scale: .*s1\.png is a 16-bit PNG"):
        Folder(tmp_path)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"depth_scale": 0}, "depth_scale must be a finite number above 0, got 0"),
        ({"depth_scale": "mm"}, "depth_scale must be a number above 0, got 'mm'"),
        ({"depth_scale": 0.001, "max_depth": -1.0}, "max_depth must be a finite number above 0"),
        ({"depth_scale": 0.001, "stride": 2}, "folder takes no option stride"),
        ({"depth_scale": 0.001, "split": "list.txt"}, "split: folder scores every pair"),
    ],
)
def test_bad_options(tmp_path, options, message):
    build_depth_folder(tmp_path, count=2)
    with pytest.raises(vb.InvalidArgumentError, match=message):
        Folder(tmp_path, **options)


def test_depth_options_are_refused_for_normals(tmp_path):
    build_normals_folder(tmp_path, count=1)
    with pytest.raises(vb.InvalidArgumentError, match="apply to depth; this folder holds normals"):
        Folder(tmp_path, max_depth=10.0)


def test_missing_root(tmp_path):
    with pytest.raises(vb.InvalidArgumentError, match=r"root: folder expects .* is not a folder"):
        Folder(tmp_path / "nowhere")


def test_a_corrupt_truth_file_fails_its_sample_and_the_run_goes_on(tmp_path):
    data = build_depth_folder(tmp_path / "set")
    (tmp_path / "set" / "depth" / "s0.npy").write_bytes(b"\x93NUMPY garbage")
    painter = Painter(data["pictures"])
    report = evaluate("folder", tmp_path / "set", painter.generator(), depth_scale=0.001)
    assert (report.samples, report.scored, report.failed) == (3, 2, 1)
    failure = report.failures[0]
    assert (failure.id, failure.stage) == ("s0", "truth")
    assert failure.error.startswith(("ValueError", "OSError", "EOFError"))
    preds = [decoded_depth(p) for p in data["pictures"][1:]]
    per_image, _ = depth_reference(preds, data["gts"][1:], data["valids"][1:])
    check(report.metrics, per_image)


def test_an_8_bit_depth_png_fails_its_sample_with_a_clear_message(tmp_path):
    data = build_depth_folder(tmp_path, count=2)
    Image.fromarray(np.full(SHAPE, 7, np.uint8)).save(tmp_path / "depth" / "s1.png")
    report = evaluate("folder", tmp_path, Painter(data["pictures"]).generator(), depth_scale=0.001)
    assert report.failures[0].id == "s1"
    assert "a depth PNG must be 16-bit single-channel, got uint8" in report.failures[0].error
