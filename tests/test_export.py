"""`vb.export_training_set` from a ``folder`` layout: every target decoded back with the package's
decoders and compared with the stored ground truth, the photos, the prompts and their variety,
determinism, resuming, and every refusal with its message."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import vision_banana as vb
from export_layouts import (
    depth_folder,
    instances_folder,
    normals_folder,
    semantic_folder,
)
from vision_banana.eval.benchmarks import DepthTruth
from vision_banana.export import MANIFEST
from vision_banana.export.targets import Augmentation, make_target

STEP_F = 0.5 / (7 * 255)  # half an 8-bit step along the cube walk, in f


def _f(depth):
    """The default power transform, written out: f = 1 - (1 + d / 10) ** -2."""
    return 1 - (1 + np.asarray(depth, np.float64) / 10) ** -2


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


# --- depth ------------------------------------------------------------------------------------


def test_depth_targets_decode_to_the_truth_within_the_8_bit_step(tmp_path):
    truth = depth_folder(tmp_path / "src")
    out = tmp_path / "out"
    report = vb.export_training_set(
        "depth", tmp_path / "src", out, depth_scale=0.001, progress=False
    )
    assert [s.id for s in report.samples] == ["far", "near"]
    assert (report.written, report.resumed) == (2, 0)
    for sample in report.samples:
        decoded = vb.decode_depth(vb.read_image(out / "target" / f"{sample.id}.png"))
        error = np.abs(_f(decoded) - _f(truth[sample.id]))
        assert error.max() <= STEP_F * 1.001
        assert (out / "target" / f"{sample.id}.txt").read_text() == vb.depth_prompt() + "\n"
        assert sample.prompt == vb.depth_prompt()
    # A PNG photo is copied byte for byte, a JPEG one decoded and stored as PNG.
    src = tmp_path / "src" / "images"
    assert (out / "control" / "near.png").read_bytes() == (src / "near.png").read_bytes()
    np.testing.assert_array_equal(
        vb.read_image(out / "control" / "far.png"), vb.read_image(src / "far.jpg")
    )
    # Missing ground truth and a truth without its photo are reported, skipped and counted.
    reasons = {s.source_id: s.reason for s in report.skipped}
    assert reasons == {
        "orphan": "depth/orphan.npy has no photo images/orphan.png|.jpg",
        "lost": "no ground truth: expected depth/lost.npy|.png",
    }
    assert sorted(p.name for p in (out / "target").iterdir()) == [
        "far.png", "far.txt", "near.png", "near.txt"
    ]  # fmt: skip


def test_depth_colormap_mix_draws_maps_that_decode_with_the_map_the_prompt_names():
    truth = np.linspace(0.3, 30, 48 * 64, dtype=np.float32).reshape(48, 64)
    maps = {vb.depth_prompt(name): name for name in vb.COLORMAPS}
    seen = set()
    for seed in range(30):
        whole = DepthTruth(truth, np.ones(truth.shape, bool))
        picture, prompt = make_target(whole, f"sample{seed}", Augmentation("mix", seed=seed))
        colormap = maps[prompt]
        seen.add(colormap)
        decoded = vb.decode_depth(picture, colormap=colormap)
        # The augmentation maps are 256-entry tables: one table step in f.
        step = STEP_F if colormap == "cube_walk" else 1 / 255
        assert np.abs(_f(decoded) - _f(truth)).max() <= step * 1.01, colormap
    assert seen == set(vb.COLORMAPS)


def test_depth_prompt_names_the_map_and_its_ends():
    assert vb.depth_prompt("inferno") == (
        "Generate a depth map visualization of this image in the inferno color map. Color each "
        "pixel by its distance from the camera, from nearest (black) to farthest (pale yellow)."
    )
    assert vb.depth_prompt("cube_walk") == vb.depth_prompt()
    assert len({vb.depth_prompt(name) for name in vb.COLORMAPS}) == len(vb.COLORMAPS)
    with pytest.raises(vb.InvalidArgumentError, match="colormap must be one of cube_walk, plasma"):
        vb.depth_prompt("jet")


def test_depth_without_valid_pixels_is_skipped_unless_painted(tmp_path):
    root = tmp_path / "src"
    depth_folder(root)
    holes = np.load(root / "depth" / "near.npy")
    holes[:5, :7] = 0
    np.save(root / "depth" / "near.npy", holes)
    report = vb.export_training_set("depth", root, tmp_path / "a", depth_scale=0.001)
    reasons = {s.source_id: s.reason for s in report.skipped}
    assert reasons["near"] == (
        "35 of 3072 pixels have no valid depth; pass invalid=COLOR (--invalid COLOR) to paint them"
    )
    report = vb.export_training_set(
        "depth", root, tmp_path / "b", depth_scale=0.001, invalid="magenta"
    )
    target = vb.read_image(tmp_path / "b" / "target" / "near.png")
    assert (target[:5, :7] == (255, 0, 255)).all()
    assert (target[5:] != (255, 0, 255)).any(axis=-1).all()


# --- semantic, instances, normals -------------------------------------------------------------


@pytest.mark.parametrize("style", ["json", "sentences", "mix"])
def test_semantic_targets_decode_to_the_labels_exactly(tmp_path, style):
    classes = ["road", "the car", "sky", "traffic sign"]
    labels = semantic_folder(tmp_path / "src", classes)
    out = tmp_path / "out"
    report = vb.export_training_set("semantic", tmp_path / "src", out, prompt_style=style)
    assert [s.id for s in report.samples] == ["bands", "blocks"]
    for sample in report.samples:
        mapping = vb.parse_mapping(sample.prompt)
        assert len(mapping.classes) == len(classes)
        decoded = vb.decode_semantic(vb.read_image(out / "target" / f"{sample.id}.png"), mapping)
        np.testing.assert_array_equal(decoded, labels[sample.id])
    (stray,) = report.skipped
    assert stray.source_id == "stray"
    assert stray.reason.startswith("a label outside the class list (4 classes, unlabelled 255)")
    assert "the first, at (10, 20), is 7" in stray.reason


def test_semantic_background_class_is_painted_black_and_named(tmp_path):
    labels = semantic_folder(tmp_path / "src", ["background", "cup", "plate"])
    out = tmp_path / "out"
    report = vb.export_training_set("semantic", tmp_path / "src", out)
    prompt = report.samples[0].prompt
    assert prompt.endswith('"background": "black"}.')
    mapping = vb.parse_mapping(prompt)
    assert list(mapping.classes) == ["cup", "plate"]
    target = vb.read_image(out / "target" / "bands.png")
    assert (target[labels["bands"] == 0] == 0).all()
    decoded = vb.decode_semantic(target, mapping)  # background -> 255, cup 0, plate 1
    expected = np.where(labels["bands"] == 0, 255, labels["bands"] - 1)
    np.testing.assert_array_equal(decoded, expected)


def test_semantic_prompt_mix_varies_style_format_and_colours(tmp_path):
    semantic_folder(tmp_path / "src", ["road", "car", "sky"])
    prompts = set()
    colours = set()
    for seed in range(8):
        report = vb.export_training_set(
            "semantic", tmp_path / "src", tmp_path / f"o{seed}", prompt_style="mix", seed=seed
        )
        for sample in report.samples:
            prompts.add(sample.prompt.split(" ")[0])  # "Generate" (JSON) or "This" (sentences)
            colours.add(tuple(vb.parse_mapping(sample.prompt).classes.values()))
    assert prompts == {"Generate", "This"}
    assert len(colours) > 3


def test_instance_targets_give_back_the_same_masks(tmp_path):
    truth = instances_folder(tmp_path / "src")
    out = tmp_path / "out"
    report = vb.export_training_set(
        "instances", tmp_path / "src", out, instance_class="box", seed=5
    )
    assert [s.id for s in report.samples] == ["shelf", "single"]
    palette = set(vb.distinct_palette(12))
    for sample in report.samples:
        assert sample.prompt == vb.instance_prompt("box")
        target = vb.read_image(out / "target" / f"{sample.id}.png")
        found = vb.extract_instances(target)
        ids = truth[sample.id]
        expected = sorted((ids == i).tobytes() for i in np.unique(ids[ids != 0]))
        assert sorted(m.tobytes() for m in found.masks()) == expected
        assert {tuple(int(c) for c in inst.color) for inst in found} <= palette
    # Colours are drawn per sample: the same map gets other colours under other seeds.
    picked = set()
    for seed in range(6):
        vb.export_training_set(
            "instances", tmp_path / "src", tmp_path / f"s{seed}", instance_class="box", seed=seed
        )
        target = vb.read_image(tmp_path / f"s{seed}" / "target" / "shelf.png")
        picked.add(tuple(map(tuple, target[[10, 10, 30], [10, 40, 20]])))
    assert len(picked) > 3


def test_instances_class_from_a_one_line_classes_txt_or_refused(tmp_path):
    root = tmp_path / "src"
    instances_folder(root)
    with pytest.raises(vb.InvalidArgumentError, match=r"classes\.txt"):
        vb.export_training_set("instances", root, tmp_path / "a")
    (root / "classes.txt").write_text("price tag\n")
    report = vb.export_training_set("instances", root, tmp_path / "b")
    assert report.samples[0].prompt == vb.instance_prompt("price tag")
    (root / "classes.txt").write_text("cup\nplate\n")
    with pytest.raises(vb.InvalidArgumentError, match="names 2 classes, not one"):
        vb.export_training_set("instances", root, tmp_path / "c")


def test_normal_targets_decode_to_the_truth(tmp_path):
    truth = normals_folder(tmp_path / "src")
    report = vb.export_training_set("normals", tmp_path / "src", tmp_path / "a")
    assert report.skipped[0].reason.startswith("144 of 3072 pixels have no valid normal")
    out = tmp_path / "b"
    report = vb.export_training_set("normals", tmp_path / "src", out, invalid="magenta")
    assert report.samples[0].prompt == vb.normals_prompt()
    decoded, valid = vb.decode_normals(vb.read_image(out / "target" / "room.png"), frame="opencv")
    stored_valid = np.any(truth != 0, axis=-1)
    np.testing.assert_array_equal(valid, stored_valid)  # magenta decodes as invalid (sky)
    cosine = np.sum(decoded[valid] * truth[valid], axis=-1)
    assert np.degrees(np.arccos(np.clip(cosine, -1, 1))).max() < 0.5


# --- determinism, resuming, the folder --------------------------------------------------------


def test_same_seed_same_bytes_with_any_workers_and_another_seed_differs(tmp_path):
    semantic_folder(tmp_path / "src", ["road", "car", "sky"])
    options = {"prompt_style": "mix", "seed": 7, "formats": "imagefolder"}
    vb.export_training_set("semantic", tmp_path / "src", tmp_path / "one", workers=1, **options)
    vb.export_training_set("semantic", tmp_path / "src", tmp_path / "four", workers=4, **options)
    one, four = _files(tmp_path / "one"), _files(tmp_path / "four")
    one.pop("README.md"), four.pop("README.md")  # they name their own folder
    one.pop(MANIFEST), four.pop(MANIFEST)
    assert one == four
    options["seed"] = 8
    vb.export_training_set("semantic", tmp_path / "src", tmp_path / "other", **options)
    other = _files(tmp_path / "other")
    assert other["metadata.jsonl"] != one["metadata.jsonl"]
    assert other["control/bands.png"] == one["control/bands.png"]


def test_a_rerun_resumes_without_rewriting_complete_files(tmp_path):
    depth_folder(tmp_path / "src")
    out = tmp_path / "out"
    vb.export_training_set("depth", tmp_path / "src", out, depth_scale=0.001, colormap="mix")
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    content = _files(out)
    report = vb.export_training_set(
        "depth", tmp_path / "src", out, depth_scale=0.001, colormap="mix", workers=2
    )
    assert (report.written, report.resumed, len(report.samples)) == (0, 2, 2)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before
    # A sample cut short (its target lost) is completed, the same as it was.
    (out / "target" / "near.png").unlink()
    (out / "target" / ".near.abc.tmp.png").write_bytes(b"half a file")  # a killed write
    report = vb.export_training_set(
        "depth", tmp_path / "src", out, depth_scale=0.001, colormap="mix"
    )
    assert (report.written, report.resumed) == (1, 1)
    assert _files(out) == content
    assert (out / "control" / "near.png").stat().st_mtime_ns == before[out / "control/near.png"]


def test_a_folder_with_another_export_or_other_files_is_refused_unless_overwrite(tmp_path):
    depth_folder(tmp_path / "src")
    out = tmp_path / "out"
    vb.export_training_set("depth", tmp_path / "src", out, depth_scale=0.001)
    with pytest.raises(vb.InvalidArgumentError, match=r"holds another export \(.*seed 0 -> 1"):
        vb.export_training_set("depth", tmp_path / "src", out, depth_scale=0.001, seed=1)
    (out / "target" / "stale.png").write_bytes(b"x")
    report = vb.export_training_set(
        "depth", tmp_path / "src", out, depth_scale=0.001, seed=1, overwrite=True
    )
    assert report.written == 2
    assert not (out / "target" / "stale.png").exists()
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["settings"]["seed"] == 1

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(vb.InvalidArgumentError, match="not empty and holds no vision-banana"):
        vb.export_training_set("depth", tmp_path / "src", foreign, depth_scale=0.001)
    vb.export_training_set("depth", tmp_path / "src", foreign, depth_scale=0.001, overwrite=True)
    assert (foreign / "notes.txt").read_text() == "mine"  # never deleted


def test_formats_choose_the_sidecars_and_drop_the_ones_no_longer_asked(tmp_path):
    depth_folder(tmp_path / "src")
    out = tmp_path / "out"
    report = vb.export_training_set("depth", tmp_path / "src", out, depth_scale=0.001)
    assert report.files == [
        "README.md", "ai-toolkit.yaml", "diffsynth_metadata.csv", "metadata.jsonl",
        "multidatabackend.json", "musubi_dataset.toml", "musubi_metadata.jsonl",
    ]  # fmt: skip
    report = vb.export_training_set(
        "depth", tmp_path / "src", out, depth_scale=0.001, formats=["imagefolder", "musubi"]
    )
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == [
        MANIFEST, "README.md", "metadata.jsonl", "musubi_dataset.toml", "musubi_metadata.jsonl",
    ]  # fmt: skip


def test_limit_exports_the_first_samples(tmp_path):
    semantic_folder(tmp_path / "src", ["a", "b", "c"])
    report = vb.export_training_set("semantic", tmp_path / "src", tmp_path / "out", limit=1)
    assert [s.id for s in report.samples] == ["bands"]
    lines = (tmp_path / "out" / "metadata.jsonl").read_text().splitlines()
    assert [json.loads(line)["source_id"] for line in lines] == ["bands"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"task": "edges"}, "task must be one of depth, normals, semantic, instances"),
        ({"seed": -1}, "seed must be an integer 0 or more, got -1"),
        ({"workers": 0}, "workers must be a positive integer, got 0"),
        ({"limit": 0}, "limit must be a positive integer, got 0"),
        ({"formats": ["kohya"]}, "formats must name some of all, imagefolder, ai-toolkit"),
        ({"colormap": "jet"}, "colormap must be one of cube_walk.* or mix, got 'jet'"),
        ({"prompt_style": "yaml"}, "prompt_style must be one of json, sentences, mix"),
        ({"invalid": "notacolour"}, "notacolour"),
        ({"task": "normals"}, r"normals from a folder needs .*normals/"),
        ({"depth_scale": None}, "depth_scale: .* holds 16-bit depth PNGs"),
        (
            {"source": "coco", "depth_scale": None},
            "annotations: the coco source needs the COCO instances JSON",
        ),
        ({"benchmark_options": {"split": "x"}}, "benchmark_options: the folder source takes no"),
        ({"source": "coco", "annotations": "a.json"}, "depth_scale: the coco source takes no"),
        ({"annotations": "a.json"}, "annotations: the folder source takes no such option"),
    ],
)
def test_bad_options_are_refused_before_anything_is_written(tmp_path, options, message):
    depth_folder(tmp_path / "src")
    arguments = {"task": "depth", "depth_scale": 0.001, **options}
    task = arguments.pop("task")
    with pytest.raises(vb.VisionBananaError, match=message):
        vb.export_training_set(task, tmp_path / "src", tmp_path / "out", **arguments)
    assert not (tmp_path / "out").exists()


def test_the_output_folder_may_not_hold_the_source_nor_another_metadata_file(tmp_path):
    depth_folder(tmp_path / "src")
    with pytest.raises(vb.InvalidArgumentError, match="holds the source"):
        vb.export_training_set("depth", tmp_path / "src", tmp_path, depth_scale=0.001)
    out = tmp_path / "out"
    out.mkdir()
    (out / "metadata.csv").write_text("file_name\n")
    with pytest.raises(vb.InvalidArgumentError, match=r"metadata\.csv would be read by datasets"):
        vb.export_training_set("depth", tmp_path / "src", out, depth_scale=0.001, overwrite=True)


def test_ground_truth_of_another_size_than_its_photo_is_skipped(tmp_path):
    depth_folder(tmp_path / "src")
    np.save(tmp_path / "src" / "depth" / "near.npy", np.ones((10, 12), np.float32))
    report = vb.export_training_set("depth", tmp_path / "src", tmp_path / "o", depth_scale=1e-3)
    reasons = {s.source_id: s.reason for s in report.skipped}
    assert reasons["near"] == (
        "the ground truth is (12, 10) (width, height) but the photo near.png is (64, 48)"
    )


def test_sources_are_never_modified(tmp_path):
    depth_folder(tmp_path / "src")
    before = _files(tmp_path / "src")
    vb.export_training_set("depth", tmp_path / "src", tmp_path / "out", depth_scale=0.001)
    vb.export_training_set(
        "depth", tmp_path / "src", tmp_path / "out", depth_scale=0.001, overwrite=True
    )
    assert _files(tmp_path / "src") == before
