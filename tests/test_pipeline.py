"""The pipeline end to end with the reference generator: numbers checked against the ground truth
it rendered from, exactly and through a real generator's degradations (SPEC.md section 6)."""

from __future__ import annotations

import json
import logging
import threading
import time

import numpy as np
import pytest
from PIL import Image

import vision_banana as vb
from vision_banana._preview import BAR_WIDTH
from vision_banana.backends import CallableGenerator, Degradation, ReferenceGenerator

H, W = 90, 120
PHOTO = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)
YY, XX = np.mgrid[:H, :W]
DEPTH = (0.8 + XX / 12 + YY / 30).astype(np.float32)
NORMALS = np.dstack([np.sin(XX / 40), np.cos(YY / 35) * 0.6, np.ones((H, W))]).astype(np.float32)
NORMALS /= np.linalg.norm(NORMALS, axis=-1, keepdims=True)
LABELS = np.zeros((H, W), np.int64)  # 0 road, 1 car, 2 tree
LABELS[20:60, 10:50] = 1
LABELS[40:80, 60:110] = 2
IDS = np.zeros((H, W), np.int64)
IDS[5:35, 5:40] = 1
IDS[45:85, 10:45] = 2
IDS[10:50, 60:100] = 3
BALL = (XX - 90) ** 2 + (YY - 30) ** 2 < 15**2

DEGRADED = Degradation(pixels=4 * H * W)  # twice each side, to keep the tests fast


def _generator(degrade):
    return ReferenceGenerator(
        depth=DEPTH,
        normals=NORMALS,
        labels=LABELS,
        classes=["road", "car", "tree"],
        masks={"the red ball": BALL},
        instances={"cup": IDS},
        degrade=degrade,
    )


def _away_from_borders(mask: np.ndarray) -> np.ndarray:
    """Pixels at least 2 px away from any label change."""
    from scipy.ndimage import binary_erosion

    keep = np.ones_like(mask, bool)
    for value in np.unique(mask):
        keep &= ~(binary_erosion(mask == value, iterations=2) ^ (mask == value))
    return keep


@pytest.fixture(params=[False, True], ids=["exact", "degraded"])
def vision(request):
    return vb.VisionBanana(_generator(DEGRADED if request.param else False), seed=0)


def test_depth(vision):
    result = vision.depth(PHOTO)
    assert result.depth.shape == (H, W)
    assert result.depth.dtype == np.float32
    relative = np.abs(result.depth - DEPTH) / DEPTH
    exact = vision.generator.degradation is None
    assert np.median(relative) < (0.002 if exact else 0.01)
    assert np.mean(relative) < (0.003 if exact else 0.02)
    assert result.prompt == vb.depth_prompt()
    assert set(result.timings) == {"generate", "decode"}
    assert result.generated.size == ((W, H) if exact else (2 * W // 16 * 16, 2 * H // 16 * 16))


def test_depth_at_a_megapixel():
    vision = vb.VisionBanana(ReferenceGenerator(depth=DEPTH, degrade=True))
    result = vision.depth(PHOTO)
    w, h = result.generated.size
    assert w % 16 == h % 16 == 0
    assert 0.9e6 < w * h < 1.2e6
    ratio = np.maximum(result.depth / DEPTH, DEPTH / result.depth)
    assert np.mean(ratio < 1.25) > 0.99  # delta1


def test_normals(vision):
    result = vision.normals(PHOTO)
    assert result.normals.shape == (H, W, 3)
    assert result.valid.all()
    cos = np.clip(np.sum(result.normals * NORMALS, axis=-1), -1, 1)
    angle = np.degrees(np.arccos(cos))
    exact = vision.generator.degradation is None
    assert np.mean(angle) < (0.5 if exact else 2.0)
    assert np.median(angle) < (0.5 if exact else 1.5)


def test_semantic(vision):
    result = vision.semantic(PHOTO, ["car", "tree"])
    assert result.classes == ("car", "tree")
    expected = np.where(LABELS == 0, 255, LABELS - 1)
    inside = _away_from_borders(LABELS)
    assert np.mean(result.labels[inside] == expected[inside]) > 0.999
    assert np.mean(result.labels == expected) > 0.97
    # a mapping and the ColorMapping read from a prompt give the same answer
    mapping = vb.parse_mapping(result.prompt)
    again = vision.semantic(PHOTO, mapping)
    np.testing.assert_array_equal(again.labels, result.labels)
    own = vision.semantic(PHOTO, prompt=vb.semantic_prompt({"tree": "yellow"}, style="sentences"))
    assert own.classes == ("tree",)
    assert np.mean(own.labels[inside] == np.where(LABELS == 2, 0, 255)[inside]) > 0.999


def test_referring(vision):
    result = vision.referring(PHOTO, "the red ball")
    assert result.task == "referring"
    assert result.masks.shape == (1, H, W)
    assert result.expressions == ("the red ball",)
    assert vb.mask_iou(result.masks[0], BALL) > 0.95


def test_old_task_name_refer_still_works_with_a_deprecation_warning(vision):
    expected = vision.referring(PHOTO, "the red ball").masks
    with pytest.warns(DeprecationWarning, match="'refer' is deprecated; use 'referring'"):
        result = vision.refer(PHOTO, "the red ball")
    np.testing.assert_array_equal(result.masks, expected)
    with pytest.warns(DeprecationWarning, match="'refer' is deprecated"):
        batch = vision.run_batch("refer", [PHOTO], "the red ball", progress=False)
    np.testing.assert_array_equal(batch.results[0].masks, expected)


def test_instances(vision):
    result = vision.instances(PHOTO, ["cup", "plate"])
    cups, plates = result.instances["cup"], result.instances["plate"]
    assert len(cups) == 3
    assert len(plates) == 0
    assert cups.ids.shape == (H, W)
    for truth_id in (1, 2, 3):
        truth = np.equal(IDS, truth_id)
        best = max(vb.mask_iou(mask, truth) for mask in cups.masks())
        assert best > 0.9
    ids, classes = result.ids()
    assert classes == ["cup"] * 3
    assert ids.max() == 3
    assert set(result.prompts) == {"cup", "plate"}
    assert len(result.pictures) == 2


def test_result_save_writes_arrays_preview_and_prompt(tmp_path):
    vision = vb.VisionBanana(_generator(False))
    result = vision.depth(PHOTO)
    written = result.save(tmp_path, "room")
    names = sorted(p.name for p in written)
    assert names == sorted(
        [
            "room.npy",
            "room.distance.npy",
            "room.generated.png",
            "room.preview.png",
            "room.prompt.txt",
        ]
    )
    np.testing.assert_array_equal(np.load(tmp_path / "room.npy"), result.depth)
    assert (tmp_path / "room.prompt.txt").read_text().strip() == vb.depth_prompt()
    preview = vb.read_image(tmp_path / "room.preview.png")
    assert preview.shape == (H, 2 * W + BAR_WIDTH, 3)
    np.testing.assert_array_equal(preview[:, :W], PHOTO)

    semantic = vision.semantic(PHOTO, {"car": "red", "tree": "lime"})
    semantic.save(tmp_path, "seg")
    assert json.loads((tmp_path / "seg.json").read_text())["classes"] == ["car", "tree"]
    assert isinstance(semantic.preview(), Image.Image)
    for task, args in [("normals", ()), ("referring", ("the red ball",)), ("instances", ("cup",))]:
        getattr(vision, task)(PHOTO, *args).save(tmp_path, task)
        assert (tmp_path / f"{task}.npy").exists()
        assert (tmp_path / f"{task}.preview.png").exists()


def test_batch_keeps_going_and_reports_failures_at_the_end(caplog):
    def truth(image, prompt):
        if np.asarray(image)[0, 0, 0] == 255:
            raise RuntimeError("no ground truth for this one")
        return {"depth": DEPTH}

    bad = PHOTO.copy()
    bad[0, 0] = 255
    good = PHOTO.copy()
    good[0, 0] = 0
    vision = vb.VisionBanana(ReferenceGenerator(truth=truth))
    with caplog.at_level(logging.WARNING, logger="vision_banana"):
        batch = vision.run_batch("depth", [good, bad, good, "/no/such/file.png"], progress=False)
    assert [r is None for r in batch.results] == [False, True, False, True]
    assert [i for i, _ in batch.failures] == [1, 3]
    assert isinstance(batch.failures[0][1], vb.GeneratorError)
    assert "no ground truth for this one" in str(batch.failures[0][1])
    assert "2 of 4 images failed" in batch.report()
    assert "2 of 4 images failed" in caplog.text
    with pytest.raises(vb.InvalidArgumentError, match="task must be one of"):
        vision.run_batch("colour", [good])


def test_batch_progress_bar_counts_the_images_on_stderr(capsys):
    pytest.importorskip("tqdm")
    vision = vb.VisionBanana(ReferenceGenerator(depth=DEPTH))
    batch = vision.run_batch("depth", [PHOTO, PHOTO, PHOTO])  # progress=True is the default
    assert batch.failures == []
    np.testing.assert_allclose(batch.results[2].depth, DEPTH, rtol=0.02)
    bar = capsys.readouterr().err
    assert "depth: 100%" in bar
    assert "3/3" in bar


def test_batch_with_workers_runs_images_at_once_in_input_order():
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def slow(image, prompt, seed):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.05)  # a remote generator waiting on the network
        with lock:
            state["now"] -= 1
        if np.asarray(image)[0, 0, 0] == 255:
            raise RuntimeError("refused")
        return vb.encode_depth(DEPTH * (1 + np.asarray(image)[0, 0, 1]))

    photos = [PHOTO.copy() for _ in range(6)]
    for index, photo in enumerate(photos):
        photo[0, 0] = (255 if index == 4 else 0, index, 0)
    batch = vb.VisionBanana(slow).run_batch("depth", photos, progress=False, workers=3)
    assert state["most"] == 3
    assert [i for i, _ in batch.failures] == [4]
    for index, result in enumerate(batch.results):
        if index != 4:
            np.testing.assert_allclose(result.depth, DEPTH * (1 + index), rtol=0.02)
    with pytest.raises(vb.InvalidArgumentError, match="workers must be a positive integer, got 0"):
        vb.VisionBanana(slow).run_batch("depth", photos, workers=0)


def test_a_function_is_a_generator_and_errors_name_what_is_wrong():
    vision = vb.VisionBanana(lambda image, prompt, seed: vb.encode_depth(DEPTH))
    assert isinstance(vision.generator, CallableGenerator)
    assert vision.depth(Image.fromarray(PHOTO)).depth.shape == (H, W)
    with pytest.raises(vb.InvalidTypeError, match="generator must be a Generator or a function"):
        vb.VisionBanana(3)
    with pytest.raises(vb.InvalidArgumentError, match="needs classes"):
        vision.semantic(PHOTO)
    with pytest.raises(vb.InvalidArgumentError, match="one text needs one class"):
        vision.instances(PHOTO, ["a", "b"], prompt="x")
    with pytest.raises(vb.InvalidTypeError, match="image must be a PIL image"):
        vision.depth(3)
