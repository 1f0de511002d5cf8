"""The export read by what reads it: Hugging Face ``datasets`` (the real ImageFolder loader), each
trainer's sidecar checked field by field against what the trainer's own code reads (the
expectations are written from its source files, named at each test), a COCO instances source
(polygons, RLE, crowds) decoded back against pycocotools' own masks, a benchmark source, and the
command line."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import vision_banana as vb
from export_layouts import coco_set, depth_folder, instances_folder
from vision_banana.cli import main
from vision_banana.export import BENCHMARK_WARNING

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


@pytest.fixture(scope="module")
def depth_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    depth_folder(root / "src")
    report = vb.export_training_set("depth", root / "src", root / "out", depth_scale=0.001)
    return report


def _pairs(report):
    return [(s.id, s.prompt) for s in report.samples]


# --- datasets ---------------------------------------------------------------------------------


def test_datasets_imagefolder_loads_the_pairs_with_their_columns(depth_export):
    datasets = pytest.importorskip("datasets")
    out = depth_export.out
    loaded = datasets.load_dataset("imagefolder", data_dir=str(out), split="train")
    assert sorted(loaded.column_names) == ["control", "image", "prompt", "source_id", "task"]
    assert len(loaded) == len(depth_export.samples) == 2
    by_source = {row["source_id"]: row for row in loaded}
    for sample in depth_export.samples:
        row = by_source[sample.source_id]
        assert row["task"] == "depth"
        assert row["prompt"] == sample.prompt == vb.depth_prompt()
        np.testing.assert_array_equal(
            np.asarray(row["image"]), vb.read_image(out / "target" / f"{sample.id}.png")
        )
        np.testing.assert_array_equal(
            np.asarray(row["control"].convert("RGB")),
            vb.read_image(out / "control" / f"{sample.id}.png"),
        )
    # As diffusers' LoRA scripts load it: load_dataset(--dataset_name) on the folder itself.
    plain = datasets.load_dataset(str(out))
    assert {"image", "control", "prompt"} <= set(plain["train"].column_names)


def test_metadata_jsonl_is_the_only_metadata_file_with_relative_paths(depth_export):
    out = depth_export.out
    assert sorted(p.name for p in out.glob("metadata.*")) == ["metadata.jsonl"]
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert rows == [
        {
            "file_name": f"target/{s.id}.png",
            "control_file_name": f"control/{s.id}.png",
            "prompt": s.prompt,
            "task": "depth",
            "source_id": s.source_id,
        }
        for s in depth_export.samples
    ]


# --- the trainers' sidecars -------------------------------------------------------------------


def test_ai_toolkit_dataset_entry(depth_export):
    yaml = pytest.importorskip("yaml")
    out = depth_export.out
    (entry,) = yaml.safe_load((out / "ai-toolkit.yaml").read_text())["datasets"]
    # ostris/ai-toolkit toolkit/config_modules.py DatasetConfig reads these keys.
    assert set(entry) == {"folder_path", "control_path", "caption_ext", "resolution"}
    assert entry["folder_path"] == str(out / "target")
    assert entry["control_path"] == str(out / "control")
    assert entry["caption_ext"] == "txt"
    assert all(isinstance(r, int) for r in entry["resolution"])
    # toolkit/dataloader_mixins.py: the control of folder_path/<stem>.<ext> is
    # control_path/<stem> + one of img_ext_list; the caption is <path without ext> + caption_ext.
    images = sorted(Path(entry["folder_path"]).glob("*.png"))
    assert [p.stem for p in images] == [s.id for s in depth_export.samples]
    for image in images:
        controls = [Path(entry["control_path"]) / f"{image.stem}{ext}" for ext in
                    (".jpg", ".jpeg", ".png", ".webp")]  # fmt: skip
        assert [c.exists() for c in controls] == [False, False, True, False]
        assert image.with_suffix("." + entry["caption_ext"]).is_file()


def test_diffsynth_metadata_csv(depth_export):
    pandas = pytest.importorskip("pandas")
    out = depth_export.out
    # diffsynth/core/data/unified_dataset.py: pandas.read_csv, one dict per row; the file keys
    # (image, edit_image or kontext_images) are paths under --dataset_base_path.
    table = pandas.read_csv(out / "diffsynth_metadata.csv")
    rows = [table.iloc[i].to_dict() for i in range(len(table))]
    assert list(table.columns) == ["image", "prompt", "edit_image", "kontext_images"]
    for row, sample in zip(rows, depth_export.samples, strict=True):
        assert row["image"] == f"target/{sample.id}.png"
        assert row["edit_image"] == row["kontext_images"] == f"control/{sample.id}.png"
        assert row["prompt"] == sample.prompt
        assert (out / row["image"]).is_file()
        assert (out / row["edit_image"]).is_file()


def test_diffsynth_csv_keeps_prompts_with_quotes_and_commas(tmp_path):
    root = tmp_path / "src"
    instances_folder(root)
    report = vb.export_training_set("instances", root, tmp_path / "out", instance_class="box")
    with open(tmp_path / "out" / "diffsynth_metadata.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [r["prompt"] for r in rows] == [s.prompt for s in report.samples]


def test_musubi_dataset_config_and_jsonl(depth_export):
    out = depth_export.out
    config = tomllib.loads((out / "musubi_dataset.toml").read_text())
    # src/musubi_tuner/dataset/config_utils.py: the general and image dataset schema keys.
    assert set(config["general"]) <= {
        "resolution", "caption_extension", "batch_size", "num_repeats", "enable_bucket",
        "bucket_no_upscale",
    }  # fmt: skip
    assert config["general"]["resolution"] == [1024, 1024]
    (dataset,) = config["datasets"]
    assert set(dataset) == {"image_jsonl_file", "cache_directory", "num_repeats"}
    assert Path(dataset["image_jsonl_file"]) == out / "musubi_metadata.jsonl"
    # src/musubi_tuner/dataset/datasources.py ImageJsonlDatasource: image_path, control_path
    # (read as control_path_0) and caption; the paths are opened as written.
    lines = Path(dataset["image_jsonl_file"]).read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [set(r) for r in rows] == [{"image_path", "control_path", "caption"}] * 2
    for row, sample in zip(rows, depth_export.samples, strict=True):
        assert Path(row["image_path"]) == out / "target" / f"{sample.id}.png"
        assert Path(row["control_path"]) == out / "control" / f"{sample.id}.png"
        assert Path(row["image_path"]).is_absolute()
        assert Path(row["control_path"]).is_file()
        assert row["caption"] == sample.prompt


def test_simpletuner_backends_pair_the_target_with_its_conditioning(depth_export):
    out = depth_export.out
    backends = json.loads((out / "multidatabackend.json").read_text())
    by_id = {b["id"]: b for b in backends}
    # documentation/DATALOADER.md and quickstart/QWEN_EDIT.md: the image dataset names its
    # conditioning dataset(s) in conditioning_data; a conditioning dataset has dataset_type
    # conditioning, a conditioning_type, and source_dataset_id for reference_strict pairing.
    target = by_id["vision-banana-target"]
    control = by_id["vision-banana-control"]
    assert target["type"] == control["type"] == "local"
    assert target["caption_strategy"] == "textfile"
    assert target["conditioning_data"] == ["vision-banana-control"]
    assert control["dataset_type"] == "conditioning"
    assert control["conditioning_type"] == "reference_strict"
    assert control["source_dataset_id"] == "vision-banana-target"
    # Paired by file name, captions beside the target pictures ("textfile").
    targets = sorted(p.name for p in Path(target["instance_data_dir"]).glob("*.png"))
    controls = sorted(p.name for p in Path(control["instance_data_dir"]).glob("*.png"))
    assert targets == controls == [f"{s.id}.png" for s in depth_export.samples]
    for name in targets:
        assert (Path(target["instance_data_dir"]) / name).with_suffix(".txt").is_file()
    (embeds,) = [b for b in backends if b.get("dataset_type") == "text_embeds"]
    assert embeds["default"] is True
    assert embeds["cache_dir"]


def test_readme_gives_the_diffusers_command_with_the_columns(depth_export):
    text = (depth_export.out / "README.md").read_text()
    assert f"--dataset_name={depth_export.out}" in text
    assert "--image_column=image --cond_image_column=control --caption_column=prompt" in text
    assert "train_dreambooth_lora_flux_kontext.py" in text
    assert "train_dreambooth_lora_flux2_klein_img2img.py" in text


# --- COCO -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    pycocotools = pytest.importorskip("pycocotools.coco")
    root = tmp_path_factory.mktemp("coco")
    annotations = coco_set(root)
    return root, annotations, pycocotools.COCO(str(annotations))


def test_coco_instances_one_target_per_image_and_category(coco, tmp_path):
    root, annotations, api = coco
    out = tmp_path / "out"
    report = vb.export_training_set(
        "instances", root / "images", out, source="coco", annotations=annotations
    )
    assert [(s.id, s.source_id) for s in report.samples] == [
        ("1_1", "1/cat"), ("1_2", "1/dog"), ("2_2", "2/dog")
    ]  # fmt: skip
    (crowd,) = report.skipped
    assert crowd.source_id == "2/cat"
    assert crowd.reason.startswith("a crowd annotation (iscrowd=1) of 'cat'")
    for sample in report.samples:
        image_id, category = map(int, sample.id.split("_"))
        assert sample.prompt == vb.instance_prompt(api.cats[category]["name"])
        found = vb.extract_instances(vb.read_image(out / "target" / f"{sample.id}.png"))
        expected = [
            api.annToMask(a).astype(bool)
            for a in api.loadAnns(api.getAnnIds(imgIds=image_id, catIds=category))
        ]
        assert sorted(m.tobytes() for m in found.masks()) == sorted(m.tobytes() for m in expected)
    photo = vb.read_image(root / "images" / "one.jpg")
    np.testing.assert_array_equal(vb.read_image(out / "control" / "1_1.png"), photo)
    # Through datasets' ImageFolder, as a trainer gets them.
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset("imagefolder", data_dir=str(out), split="train")
    assert sorted(loaded["source_id"]) == ["1/cat", "1/dog", "2/dog"]
    for row in loaded:
        image_id, name = row["source_id"].split("/")
        anns = api.loadAnns(api.getAnnIds(imgIds=int(image_id), catIds=api.getCatIds([name])))
        found = vb.extract_instances(np.asarray(row["image"]))
        expected = sorted(api.annToMask(a).astype(bool).tobytes() for a in anns)
        assert sorted(m.tobytes() for m in found.masks()) == expected
        assert row["prompt"] == vb.instance_prompt(name)


def test_coco_semantic_labels_from_the_categories_smaller_on_top(coco, tmp_path):
    root, annotations, api = coco
    out = tmp_path / "out"
    report = vb.export_training_set(
        "semantic", root / "images", out, source="coco", annotations=annotations,
        prompt_style="sentences",
    )  # fmt: skip
    assert [s.id for s in report.samples] == ["1", "2"]  # image 3 has no annotations
    for sample in report.samples:
        image_id = int(sample.id)
        anns = api.loadAnns(api.getAnnIds(imgIds=image_id))
        present = sorted({a["category_id"] for a in anns})
        mapping = vb.parse_mapping(sample.prompt)
        assert list(mapping.classes) == [api.cats[c]["name"] for c in present]
        expected = np.full((48, 64), 255, np.uint8)
        for a in sorted(anns, key=lambda a: -a["area"]):  # the larger first, smaller on top
            expected[api.annToMask(a).astype(bool)] = present.index(a["category_id"])
        decoded = vb.decode_semantic(vb.read_image(out / "target" / f"{sample.id}.png"), mapping)
        np.testing.assert_array_equal(decoded, expected)
    # The small dog inside the cat region stays a dog.
    assert (
        vb.decode_semantic(
            vb.read_image(out / "target" / "1.png"), vb.parse_mapping(report.samples[0].prompt)
        )[12, 12]
        == 1
    )


def test_coco_refusals(coco, tmp_path):
    root, annotations, _ = coco
    with pytest.raises(vb.InvalidArgumentError, match="coco source gives instances or semantic"):
        vb.export_training_set(
            "depth", root / "images", tmp_path / "a", source="coco", annotations=annotations
        )
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": []}')
    with pytest.raises(vb.InvalidArgumentError, match="is not a COCO instances JSON"):
        vb.export_training_set(
            "instances", root / "images", tmp_path / "b", source="coco", annotations=bad
        )
    data = json.loads(annotations.read_text())
    data["annotations"][0]["category_id"] = 9
    bad.write_text(json.dumps(data))
    with pytest.raises(vb.InvalidArgumentError, match="names image 1 and category 9"):
        vb.export_training_set(
            "instances", root / "images", tmp_path / "c", source="coco", annotations=bad
        )


# --- benchmarks -------------------------------------------------------------------------------


def test_a_benchmark_is_refused_without_allow_benchmark_and_warned_with_it(tmp_path):
    from eval_layouts import build_diode

    written = build_diode(tmp_path / "diode", np.random.default_rng(0))
    with pytest.raises(vb.InvalidArgumentError, match="is a benchmark; training on a benchmark"):
        vb.export_training_set("depth", tmp_path / "diode", tmp_path / "a", source="diode-indoor")
    assert not (tmp_path / "a").exists()
    with pytest.warns(UserWarning, match="makes its scores meaningless"):
        report = vb.export_training_set(
            "depth", tmp_path / "diode", tmp_path / "b", source="diode-indoor",
            allow_benchmark=True, invalid="white",
        )  # fmt: skip
    assert [s.source_id for s in report.samples] == [w.id for w in written]
    assert report.samples[0].id == "val_indoors_scene_00019_scan_00183_00019_00183_indoors_000_010"
    with pytest.raises(vb.InvalidArgumentError, match="holds depth ground truth, not normals"):
        vb.export_training_set(
            "normals", tmp_path / "diode", tmp_path / "c", source="diode-indoor",
            allow_benchmark=True,
        )  # fmt: skip


# --- the command line -------------------------------------------------------------------------


def test_cli_exports_and_reports_skipped_samples(tmp_path, capsys):
    depth_folder(tmp_path / "src")
    argv = ["export-train", "depth", "--root", str(tmp_path / "src"), "-o", str(tmp_path / "out"),
            "--depth-scale", "0.001", "--colormap", "mix", "--seed", "3",
            "--workers", "2"]  # fmt: skip
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"depth from folder: 2 samples in {tmp_path / 'out'} (2 written, 0 already there), "
        "2 skipped"
    )
    assert lines[1:3] == [
        "  skipped orphan: depth/orphan.npy has no photo images/orphan.png|.jpg",
        "  skipped lost: no ground truth: expected depth/lost.npy|.png",
    ]
    python = vb.export_training_set(
        "depth", tmp_path / "src", tmp_path / "py", depth_scale=0.001, colormap="mix", seed=3
    )
    for sample in python.samples:
        for folder in ("control", "target"):
            assert (tmp_path / "out" / folder / f"{sample.id}.png").read_bytes() == (
                tmp_path / "py" / folder / f"{sample.id}.png"
            ).read_bytes()


def test_cli_errors_and_the_benchmark_warning(tmp_path, capsys):
    from eval_layouts import build_diode

    depth_folder(tmp_path / "src")
    assert main(["export-train", "depth", "--root", str(tmp_path / "src"), "-o",
                 str(tmp_path / "out")]) == 1  # fmt: skip
    assert "depth_scale: " in capsys.readouterr().err
    build_diode(tmp_path / "diode", np.random.default_rng(0))
    argv = ["export-train", "depth", "--source", "diode-indoor", "--root",
            str(tmp_path / "diode"), "-o", str(tmp_path / "b"), "--invalid", "white"]  # fmt: skip
    assert main(argv) == 1
    assert "--allow-benchmark" in capsys.readouterr().err
    assert main([*argv, "--allow-benchmark"]) == 0
    err = capsys.readouterr().err
    assert (
        f"vision-banana: warning: exporting the benchmark 'diode-indoor': {BENCHMARK_WARNING}"
        in err
    )


# The command the README's "Export training data" section runs, from the repository root.
README_COMMAND = (
    "vision-banana export-train depth --source folder --root examples/eval_folder -o train/depth "
    "--colormap mix --seed 0"
)
REPO = Path(__file__).resolve().parents[1]


def test_the_readme_example_runs_on_the_bundled_folder(tmp_path, capsys, monkeypatch):
    readme = (REPO / "README.md").read_text()
    assert README_COMMAND in readme.replace(" \\\n    ", " ")
    monkeypatch.chdir(REPO)
    argv = README_COMMAND.split()[1:]
    argv[argv.index("train/depth")] = str(tmp_path / "depth")
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(
        f"depth from folder: 4 samples in {tmp_path / 'depth'} (4 written, 0 already there), "
        "0 skipped\n"
    )
    truth = REPO / "examples" / "eval_folder" / "depth"
    for line in (tmp_path / "depth" / "metadata.jsonl").read_text().splitlines():
        row = json.loads(line)
        colormap = {vb.depth_prompt(c): c for c in vb.COLORMAPS}[row["prompt"]]
        decoded = vb.decode_depth(
            vb.read_image(tmp_path / "depth" / row["file_name"]), colormap=colormap
        )
        stored = np.load(truth / f"{row['source_id']}.npy")
        f_error = np.abs((1 + stored / 10.0) ** -2 - (1 + decoded / 10.0) ** -2)
        assert f_error.max() <= (0.5 / (7 * 255) if colormap == "cube_walk" else 1 / 255) * 1.01


def test_a_semantic_benchmark_exports_its_classes_and_labels(tmp_path):
    from eval_seg_layouts import build_cityscapes

    written = build_cityscapes(tmp_path / "cityscapes")
    with pytest.warns(UserWarning, match="makes its scores meaningless"):
        report = vb.export_training_set(
            "semantic", tmp_path / "cityscapes", tmp_path / "out", source="cityscapes",
            allow_benchmark=True,
        )  # fmt: skip
    assert [s.source_id for s in report.samples] == [w["id"] for w in written]
    for sample, truth in zip(report.samples, written, strict=True):
        mapping = vb.parse_mapping(sample.prompt)
        assert len(mapping.classes) == 19  # all 19 classes, present or not, as the paper
        target = vb.read_image(tmp_path / "out" / "target" / f"{sample.id}.png")
        np.testing.assert_array_equal(vb.decode_semantic(target, mapping), truth["train"])
