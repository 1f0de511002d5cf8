"""The command line, run in-process through `main` and once as the installed script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vision_banana as vb
from vision_banana._preview import BAR_WIDTH, depth_bar
from vision_banana.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_decode_depth_writes_npy_and_preview(tmp_path, capsys):
    picture = EXAMPLES / "room_depth_generated.png"
    assert main(["decode", "depth", str(picture), "-o", str(tmp_path / "out")]) == 0
    depth = np.load(tmp_path / "out" / "room_depth_generated.npy")
    np.testing.assert_array_equal(depth, vb.decode_depth(vb.read_image(picture)))
    preview = vb.read_image(tmp_path / "out" / "room_depth_generated.preview.png")
    assert preview.shape == (depth.shape[0], 2 * depth.shape[1] + BAR_WIDTH, 3)
    printed = capsys.readouterr().out
    assert "1184x880 depth min" in printed
    assert "wrote" in printed


def test_decoded_example_matches_its_ground_truth(tmp_path):
    """The bundled picture decodes to the depth it was rendered from (after resizing back)."""
    from PIL import Image

    truth = np.load(EXAMPLES / "room_depth.npz")["depth"]
    depth = vb.decode_depth(vb.read_image(EXAMPLES / "room_depth_generated.png"))
    resized = np.asarray(
        Image.fromarray(depth).resize(truth.shape[::-1], Image.Resampling.BILINEAR)
    )
    ratio = np.maximum(resized / truth, truth / resized)
    assert np.mean(ratio < 1.25) > 0.99
    assert np.median(np.abs(resized - truth) / truth) < 0.005


def test_several_pictures_and_options(tmp_path):
    depth = np.linspace(0.5, 30, 64 * 48, dtype=np.float32).reshape(48, 64)
    for name, colormap in [("a", "cube_walk"), ("b", "viridis")]:
        vb.write_image(tmp_path / f"{name}.png", vb.encode_depth(depth, colormap=colormap))
    out = tmp_path / "out"
    assert main(["decode", "depth", str(tmp_path / "a.png"), "-o", str(out)]) == 0
    args = ["decode", "depth", str(tmp_path / "b.png"), "-o", str(out), "--colormap", "viridis"]
    assert main(args) == 0
    for name in "ab":
        np.testing.assert_allclose(np.load(out / f"{name}.npy"), depth, rtol=0.02)


def test_errors_are_one_line_and_a_nonzero_status(tmp_path, capsys):
    assert main(["decode", "depth", str(tmp_path / "missing.png"), "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("vision-banana: error:")
    assert "missing.png" in err
    assert "\n" not in err
    (tmp_path / "bad.png").write_bytes(b"not a picture")
    assert main(["decode", "depth", str(tmp_path / "bad.png"), "-o", str(tmp_path)]) == 1
    assert "bad.png" in capsys.readouterr().err
    picture = str(EXAMPLES / "room_depth_generated.png")
    assert main(["decode", "depth", picture, "-o", str(tmp_path), "--lam", "0"]) == 1
    assert "lam must be a finite number below -1" in capsys.readouterr().err


def test_usage_errors_exit_with_status_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["decode", "depth"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["decode", "depth", "x.png", "-o", "out", "--colormap", "jet"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'jet'" in capsys.readouterr().err


def test_the_installed_script_runs(tmp_path):
    # The script sits beside the interpreter in a virtual environment, else on PATH.
    beside = Path(sys.executable).parent / "vision-banana"
    script = str(beside) if beside.exists() else shutil.which("vision-banana")
    if script is None:
        pytest.skip("the package is not installed with its console script")
    result = subprocess.run(
        [
            script,
            "decode",
            "depth",
            str(EXAMPLES / "room_depth_generated.png"),
            "-o",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "room_depth_generated.npy").exists()
    help_text = subprocess.run(
        [script, "decode", "depth", "--help"], capture_output=True, text=True
    )
    assert "--max-depth" in help_text.stdout


# --- decode for the other tasks, and run -------------------------------------------------------

LABELS = np.zeros((40, 60), np.int64)
LABELS[5:20, 5:30] = 1
LABELS[22:38, 35:58] = 2


def _segmentation_picture(tmp_path, background=(0, 0, 0)):
    picture = vb.encode_semantic(LABELS, [background, (255, 0, 0), (0, 0, 255)], ignore_index=None)
    path = tmp_path / "seg.png"
    vb.write_image(path, picture)
    return path


@pytest.mark.parametrize(
    "colours",
    [
        ["--prompt", vb.semantic_prompt({"cat": "red", "dog": "blue"})],
        ["--mapping", '{"cat": "red", "dog": [0, 0, 255]}'],
    ],
    ids=["prompt", "mapping"],
)
def test_decode_semantic(tmp_path, capsys, colours):
    path = _segmentation_picture(tmp_path)
    assert main(["decode", "semantic", str(path), "-o", str(tmp_path / "out"), *colours]) == 0
    labels = np.load(tmp_path / "out" / "seg.npy")
    np.testing.assert_array_equal(labels, np.where(LABELS == 0, 255, LABELS - 1))
    assert (tmp_path / "out" / "seg.preview.png").is_file()
    assert "0 cat" in capsys.readouterr().out


def test_decode_semantic_with_another_background(tmp_path):
    path = _segmentation_picture(tmp_path, background=(255, 255, 0))
    args = ["--mapping", '{"cat": "red", "dog": "blue"}', "--background", "yellow"]
    assert main(["decode", "semantic", str(path), "-o", str(tmp_path / "out"), *args]) == 0
    labels = np.load(tmp_path / "out" / "seg.npy")
    np.testing.assert_array_equal(labels, np.where(LABELS == 0, 255, LABELS - 1))


@pytest.mark.parametrize(
    "colours",
    [
        ["--prompt", vb.referring_prompt(["the cat", "the dog"], colors=["red", "blue"])],
        ["--mapping", '{"the cat": "#ff0000", "the dog": "blue"}'],
    ],
    ids=["prompt", "mapping"],
)
def test_decode_referring(tmp_path, colours):
    path = _segmentation_picture(tmp_path)
    assert main(["decode", "referring", str(path), "-o", str(tmp_path / "out"), *colours]) == 0
    masks = np.load(tmp_path / "out" / "seg.npy")
    np.testing.assert_array_equal(masks, np.stack([LABELS == 1, LABELS == 2]))


@pytest.mark.parametrize(
    "colours", [[], ["--prompt", vb.instance_prompt("cup")], ["--background", "black"]]
)
def test_decode_instances(tmp_path, colours):
    path = _segmentation_picture(tmp_path)
    assert main(["decode", "instances", str(path), "-o", str(tmp_path / "out"), *colours]) == 0
    ids = np.load(tmp_path / "out" / "seg.npy")
    assert sorted(np.unique(ids).tolist()) == [0, 1, 2]
    for label in (1, 2):
        assert len(np.unique(ids[np.equal(LABELS, label)])) == 1


def test_decode_normals(tmp_path):
    normals = np.zeros((20, 30, 3), np.float32)
    normals[..., 2] = 1
    path = tmp_path / "n.png"
    vb.write_image(path, vb.encode_normals(normals))
    assert main(["decode", "normals", str(path), "-o", str(tmp_path / "out")]) == 0
    decoded = np.load(tmp_path / "out" / "n.npy")
    assert decoded.shape == (20, 30, 3)
    np.testing.assert_allclose(decoded, normals, atol=0.01)
    assert vb.read_image(tmp_path / "out" / "n.preview.png").shape == (20, 60, 3)


def test_run_with_the_reference_generator(tmp_path, capsys):
    photo = np.random.default_rng(1).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    vb.write_image(tmp_path / "photo.png", photo)
    truth = tmp_path / "truth"
    truth.mkdir()
    depth = np.linspace(1, 9, 40 * 60, dtype=np.float32).reshape(40, 60)
    np.save(truth / "photo.npy", depth)
    out = tmp_path / "out"
    args = ["run", "depth", str(tmp_path / "photo.png"), "-o", str(out)]
    assert main([*args, "--generator", "reference", "--truth", str(truth), "--degrade"]) == 0
    decoded = np.load(out / "photo.npy")
    assert decoded.shape == (40, 60)
    assert np.median(np.abs(decoded - depth) / depth) < 0.01
    for name in ("photo.preview.png", "photo.prompt.txt", "photo.generated.png"):
        assert (out / name).is_file()
    assert "wrote" in capsys.readouterr().out

    np.save(truth / "photo.npy", _labels(40, 60))
    args = ["run", "semantic", str(tmp_path / "photo.png"), "-o", str(out), "--classes"]
    assert main([*args, "road", "car", "--generator", "reference", "--truth", str(truth)]) == 0
    np.testing.assert_array_equal(np.load(out / "photo.npy"), _labels(40, 60))


def _labels(h, w):
    labels = np.zeros((h, w), np.uint8)
    labels[10:30, 20:50] = 1
    return labels


def test_run_with_a_callable_generator(tmp_path, monkeypatch):
    module = tmp_path / "my_model.py"
    module.write_text(
        "import numpy as np, vision_banana as vb\n"
        "def generate(image, prompt, seed):\n"
        "    return vb.encode_depth(np.full((64, 96), 3.0, np.float32))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    photo = np.zeros((32, 48, 3), np.uint8)
    photos = [str(tmp_path / f"p{i}.png") for i in range(3)]
    for path in photos:
        vb.write_image(path, photo)
    args = ["run", "depth", *photos, "-o", str(tmp_path / "out"), "--workers", "2"]
    assert main([*args, "--generator", "callable:my_model:generate"]) == 0
    for index in range(3):
        depth = np.load(tmp_path / "out" / f"p{index}.npy")
        assert depth.shape == (32, 48)
        np.testing.assert_allclose(depth, 3.0, rtol=0.01)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["decode", "semantic", "{pic}", "-o", "{out}", "--mapping", "[1, 2"], "JSON object"),
        (["decode", "semantic", "{pic}", "-o", "{out}", "--mapping", '{"cat": "nocolour"}'], ""),
        (["decode", "referring", "{pic}", "-o", "{out}", "--prompt", "hello"], "mapping"),
        (["run", "depth", "{pic}", "-o", "{out}", "--generator", "gemini2"], "--generator must"),
        (["run", "depth", "{pic}", "-o", "{out}", "--generator", "reference"], "--truth"),
        (["run", "semantic", "{pic}", "-o", "{out}", "--generator", "callable:nomodule:f"], ""),
        (["run", "depth", "{pic}", "-o", "{out}", "--generator", "http:http://127.0.0.1:1/"], ""),
    ],
)
def test_new_commands_fail_in_one_line(tmp_path, capsys, argv, message):
    picture = _segmentation_picture(tmp_path)
    argv = [a.replace("{pic}", str(picture)).replace("{out}", str(tmp_path / "out")) for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("vision-banana: error: ")
    assert err.count("\n") == 1
    assert message in err


def test_every_command_has_help(capsys):
    for argv in (["run"], ["decode", "normals"], ["decode", "semantic"], ["decode", "instances"]):
        with pytest.raises(SystemExit) as exit_:
            main([*argv, "--help"])
        assert exit_.value.code == 0
        assert "usage: vision-banana" in capsys.readouterr().out


def test_run_with_gemini_without_a_key_is_one_clear_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("google.genai")
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    photo = tmp_path / "photo.png"
    vb.write_image(photo, np.zeros((8, 8, 3), np.uint8))
    assert main(["run", "depth", str(photo), "-o", str(tmp_path), "--generator", "gemini"]) == 1
    err = capsys.readouterr().err.strip()
    assert "GOOGLE_API_KEY" in err
    assert "\n" not in err


# --- decode options reach the decoders ---------------------------------------------------------


def _depth_picture():
    depth = np.linspace(0.5, 30, 48 * 64, dtype=np.float32).reshape(48, 64)
    picture = vb.encode_depth(depth)
    picture[:4] = 255  # white: infinitely far, clamped to max_depth
    return picture


def _normals_picture():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(24, 32, 3))
    picture = vb.encode_normals(vectors)
    picture[:4] = (200, 50, 200)  # a unit vector 92 from the sky's magenta: sky only above 92
    picture[4:8] = (64, 128, 204)  # raw norm about 0.87: valid only for the default norm range
    return picture


def _semantic_picture():
    picture = vb.encode_semantic(LABELS, [(0, 0, 0), (255, 0, 0), (0, 0, 255)], ignore_index=None)
    picture[5:10, 5:30] = (215, 20, 0)  # 45 from red: unlabelled under --max-distance 30
    return picture


def _instances_picture():
    picture = np.zeros((96, 128, 3), np.uint8)
    for k in range(
        6
    ):  # same-colour blocks touching only at corners: one piece but with 4 neighbours
        picture[4 + 6 * k : 10 + 6 * k, 4 + 6 * k : 10 + 6 * k] = (200, 120, 255)
    picture[4:24, 60:80] = (220, 40, 40)  # two halves 20 apart: one instance only for tau >= 20
    picture[4:24, 80:100] = (240, 40, 40)
    picture[40:44, 60:64] = (40, 200, 60)  # 16 px: 0.13 % of the picture
    picture[60:63, 60:120] = (60, 60, 230)  # a 3 px bar: a third survives the 3x3 erosion
    picture[70:90, 60:70] = (230, 220, 50)  # two pieces of one colour, union box 3 x their boxes
    picture[70:90, 110:120] = (230, 220, 50)
    noise = np.random.default_rng(1).integers(-3, 4, picture.shape)
    return np.clip(picture.astype(int) + noise, 0, 255).astype(np.uint8)


def _instance_outputs(found):
    return found.ids, [
        {
            "id": item.id,
            "color": list(item.color),
            "area": item.area,
            "bbox": list(item.bbox),
            "score": item.score,
        }
        for item in found
    ]


MAPPING = {"cat": (255, 0, 0), "dog": (0, 0, 255)}
# (task, picture, CLI options, the decoder's keywords for them, the keywords without the option
# under test: its output must differ, so an option the CLI dropped would fail the test)
DECODE_OPTIONS = [
    ("depth", _depth_picture, ["--lam", "-2.5"], {"lam": -2.5}, {}),
    ("depth", _depth_picture, ["--c", "4"], {"c": 4.0}, {}),
    ("depth", _depth_picture, ["--max-depth", "50"], {"max_depth": 50.0}, {}),
    ("depth", _depth_picture, ["--colormap", "viridis"], {"colormap": "viridis"}, {}),
    ("normals", _normals_picture, ["--frame", "opencv"], {"frame": "opencv"}, {}),
    ("normals", _normals_picture, ["--frame", "camera"], {"frame": "camera"}, {"frame": "opencv"}),
    ("normals", _normals_picture, ["--sky-tolerance", "100"], {"sky_tolerance": 100.0}, {}),
    ("normals", _normals_picture, ["--norm-range", "0.9", "1.1"], {"norm_range": (0.9, 1.1)}, {}),
    ("semantic", _semantic_picture, ["--max-distance", "30"], {"max_distance": 30.0}, {}),
    ("semantic", _semantic_picture, ["--ignore-index", "300"], {"ignore_index": 300}, {}),
    ("referring", _semantic_picture, ["--max-distance", "30"], {"max_distance": 30.0}, {}),
    ("instances", _instances_picture, ["--tau", "30"], {"tau": 30.0}, {}),
    (
        "instances",
        _instances_picture,
        ["--connectivity", "4", "--merge-bbox-ratio", "0.5"],
        {"connectivity": 4, "merge_bbox_ratio": 0.5},
        {"merge_bbox_ratio": 0.5},
    ),
    (
        "instances",
        _instances_picture,
        ["--min-area-fraction", "0.01"],
        {"min_area_fraction": 0.01},
        {},
    ),
    ("instances", _instances_picture, ["--erosion-keep", "0.5"], {"erosion_keep": 0.5}, {}),
    ("instances", _instances_picture, ["--merge-bbox-ratio", "2"], {"merge_bbox_ratio": 2.0}, {}),
    (
        "instances",
        _instances_picture,
        ["--background", "white"],
        {"background": (255, 255, 255)},
        {},
    ),
]


def _decode_directly(task, picture, keywords):
    if task == "depth":
        return vb.decode_depth(picture, **keywords)
    if task == "normals":
        return vb.decode_normals(picture, **keywords)[0]
    if task == "semantic":
        return vb.decode_semantic(picture, MAPPING, **keywords)
    if task == "referring":
        return vb.decode_referring(picture, MAPPING, **keywords)
    return _instance_outputs(vb.extract_instances(picture, **keywords))


@pytest.mark.parametrize(
    ("task", "make", "argv", "keywords", "without"),
    DECODE_OPTIONS,
    ids=[f"{case[0]}{''.join(case[2])}" for case in DECODE_OPTIONS],
)
def test_each_decode_option_reaches_the_decoder(tmp_path, task, make, argv, keywords, without):
    picture = make()
    vb.write_image(tmp_path / "in.png", picture)
    colours = (
        ["--mapping", '{"cat": "red", "dog": "blue"}'] if task in ("semantic", "referring") else []
    )
    assert (
        main(["decode", task, str(tmp_path / "in.png"), "-o", str(tmp_path), *colours, *argv]) == 0
    )
    written = np.load(tmp_path / "in.npy")
    if task == "instances":
        records = json.loads((tmp_path / "in.instances.json").read_text())
        for record in records:
            del record["segmentation"]
        written = (written, records)
    expected = _decode_directly(task, picture, keywords)
    _assert_same(written, expected)
    with pytest.raises(AssertionError):
        _assert_same(expected, _decode_directly(task, picture, without))


def _assert_same(first, second):
    if isinstance(first, tuple):
        np.testing.assert_array_equal(first[0], second[0])
        assert first[1] == second[1]
    else:
        assert first.dtype == second.dtype
        np.testing.assert_array_equal(first, second)


def test_decode_instances_writes_coco_rle_that_pycocotools_reads(tmp_path):
    from pycocotools import mask as coco_mask

    picture = _instances_picture()
    vb.write_image(tmp_path / "inst.png", picture)
    assert main(["decode", "instances", str(tmp_path / "inst.png"), "-o", str(tmp_path)]) == 0
    ids = np.load(tmp_path / "inst.npy")
    records = json.loads((tmp_path / "inst.instances.json").read_text())
    found = vb.extract_instances(picture)
    assert len(records) == len(found) == 6
    for record, item in zip(records, found, strict=True):
        mask = coco_mask.decode(record["segmentation"])
        np.testing.assert_array_equal(mask.astype(bool), ids == record["id"])
        assert record["segmentation"]["size"] == [96, 128]
        assert record["area"] == int(coco_mask.area(record["segmentation"])) == item.area
        assert (
            record["bbox"] == coco_mask.toBbox(record["segmentation"]).tolist() == list(item.bbox)
        )
        assert record["color"] == list(item.color)
        assert record["score"] == item.score

    vb.write_image(tmp_path / "blank.png", np.zeros((8, 8, 3), np.uint8))
    assert main(["decode", "instances", str(tmp_path / "blank.png"), "-o", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "blank.instances.json").read_text()) == []


def test_decode_help_shows_the_decoders_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["decode", "instances", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--tau", "--connectivity", "--min-area-fraction", "--erosion-keep"):
        assert option in text
    assert "(default 14.0)" in text
    assert "(default 0.0002)" in text
    with pytest.raises(SystemExit):
        main(["decode", "normals", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "{camera,opencv}" in text
    assert "(default 0.75 1.25)" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["decode", "instances", "{pic}", "--tau", "-1"], "tau"),
        (
            ["decode", "semantic", "{pic}", "--mapping", '{"a": "red"}', "--ignore-index", "0"],
            "ignore_index",
        ),
        (["decode", "normals", "{pic}", "--norm-range", "1.2", "nan"], "norm_range must be finite"),
    ],
)
def test_bad_decode_options_fail_in_one_line_before_any_file(tmp_path, capsys, argv, message):
    """Options are checked once, before any picture is read (decode_files), so the message
    names the option; nothing is written."""
    vb.write_image(tmp_path / "pic.png", _semantic_picture())
    argv = [a.replace("{pic}", str(tmp_path / "pic.png")) for a in argv]
    assert main([*argv, "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"vision-banana: error: {message}")
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_bad_connectivity_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["decode", "instances", "x.png", "-o", "out", "--connectivity", "6"])
    assert exit_.value.code == 2
    assert "invalid choice: 6" in capsys.readouterr().err


def test_two_pictures_with_one_stem_are_refused_before_anything_is_written(tmp_path, capsys):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        vb.write_image(tmp_path / folder / "x.png", _depth_picture())
    argv = ["decode", "depth", str(tmp_path / "a" / "x.png"), str(tmp_path / "b" / "x.png")]
    assert main([*argv, "-o", str(tmp_path / "out")]) == 1
    assert "have the same stem 'x'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# --- the depth preview's colour bar ------------------------------------------------------------


def test_depth_preview_has_a_colour_bar_in_metres_with_the_shading_colours(tmp_path):
    truth = np.linspace(0.8, 40, 200 * 150, dtype=np.float32).reshape(200, 150)
    vb.write_image(tmp_path / "d.png", vb.encode_depth(truth))
    assert main(["decode", "depth", str(tmp_path / "d.png"), "-o", str(tmp_path)]) == 0
    depth = np.load(tmp_path / "d.npy")
    preview = vb.read_image(tmp_path / "d.preview.png")
    h, w = depth.shape
    assert preview.shape == (h, 2 * w + BAR_WIDTH, 3)

    # The shading, computed here: viridis of near / depth, near = the 1st percentile.
    near, far = float(np.percentile(depth, 1)), float(depth.max())

    def shade(d):
        return vb.walk(
            np.clip(near / np.asarray(d, np.float64), 0, 1), dtype=np.uint8, colormap="viridis"
        )

    np.testing.assert_array_equal(preview[:, w : 2 * w], shade(depth))
    panel = preview[:, 2 * w :]
    _, ticks = depth_bar(h, near, far)
    depths = [t for _, t in ticks]
    # Round depths, and the two ends of the range (as many as fit 200 rows of 10 px text).
    assert depths == [near, 2.0, 3.0, 5.0, 10.0, far]
    for row, tick in ticks:
        # Rows are linear in inverse depth, from near (top) to far (bottom).
        assert abs(row - (1 - near / tick) / (1 - near / far) * (h - 1)) <= 0.5
        np.testing.assert_array_equal(panel[row, 6:20], np.repeat(shade([tick]), 14, axis=0))
        assert (panel[row, 20:24] == 0).all()  # the tick mark
        label = panel[max(row - 6, 0) : row + 7, 28:]
        assert (label.max(axis=2) < 128).sum() >= 10  # the label's ink
    # Every row is the shading of its depth, rows linear in inverse depth (ticks exactly).
    rows = near / (1 - np.arange(h) / (h - 1) * (1 - near / far))
    for row, tick in ticks:
        rows[row] = tick
    np.testing.assert_array_equal(panel[:, 6:20], np.repeat(shade(rows)[:, None], 14, axis=1))


def test_depth_bar_on_pictures_too_short_for_a_label():
    panel, ticks = depth_bar(5, 0.5, 10.0)
    assert panel.shape == (5, BAR_WIDTH, 3)
    assert ticks == []
    panel, ticks = depth_bar(1, 2.0, 2.0)
    assert panel.shape == (1, BAR_WIDTH, 3)
    assert depth_bar(0, 2.0, 2.0)[0].shape == (0, BAR_WIDTH, 3)


# --- decoding folders and globs -------------------------------------------------------------------


def _folder_of_pictures(folder, count=3):
    """Depth pictures of flat scenes at 1, 2, 3... metres, and their depths."""
    folder.mkdir()
    depths = {}
    for i in range(count):
        depth = np.full((12, 17), 1.0 + i, np.float32)
        vb.write_image(folder / f"scene{i}.png", vb.encode_depth(depth))
        depths[f"scene{i}"] = vb.decode_depth(vb.encode_depth(depth))
    return depths


def test_decode_a_folder_skips_other_files_with_a_note(tmp_path, capsys):
    depths = _folder_of_pictures(tmp_path / "pictures")
    (tmp_path / "pictures" / "notes.txt").write_text("not a picture")
    out = tmp_path / "out"
    args = ["decode", "depth", str(tmp_path / "pictures"), "-o", str(out), "--workers", "2"]
    assert main(args) == 0
    for stem, depth in depths.items():
        np.testing.assert_array_equal(np.load(out / f"{stem}.npy"), depth)
        assert (out / f"{stem}.preview.png").is_file()
    captured = capsys.readouterr()
    assert "skipped 1 file(s)" in captured.err
    assert "notes.txt" in captured.err
    assert captured.out.count("17x12 depth") == 3


def test_decode_a_glob_into_npz_without_previews(tmp_path):
    depths = _folder_of_pictures(tmp_path / "pictures")
    out = tmp_path / "out"
    args = ["decode", "depth", str(tmp_path / "pictures" / "scene[01].png"), "-o", str(out)]
    assert main([*args, "--format", "npz", "--no-preview"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["scene0.npz", "scene1.npz"]
    with np.load(out / "scene1.npz") as saved:
        assert sorted(saved.files) == ["depth", "distance"]
        np.testing.assert_array_equal(saved["depth"], depths["scene1"])


def test_decode_instances_npz_holds_every_array(tmp_path):
    path = _segmentation_picture(tmp_path)
    out = tmp_path / "out"
    assert main(["decode", "instances", str(path), "-o", str(out), "--format", "npz"]) == 0
    expected = vb.extract_instances(vb.read_image(path))
    assert sorted(p.name for p in out.iterdir()) == [
        "seg.instances.json",
        "seg.npz",
        "seg.preview.png",
    ]
    with np.load(out / "seg.npz") as saved:
        for name in ("ids", "colors", "areas", "bboxes", "scores"):
            np.testing.assert_array_equal(saved[name], getattr(expected, name))


def test_failures_are_listed_the_rest_written_and_the_status_is_1(tmp_path, capsys):
    depths = _folder_of_pictures(tmp_path / "pictures", count=2)
    (tmp_path / "pictures" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    missing = tmp_path / "missing.png"
    out = tmp_path / "out"
    assert main(["decode", "depth", str(tmp_path / "pictures"), str(missing), "-o", str(out)]) == 1
    for stem in depths:
        assert (out / f"{stem}.npy").is_file()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3
    assert "broken.png" in err[0]
    assert "truncated" in err[0]
    assert "missing.png" in err[1]
    assert err[2] == f"vision-banana: 2 of 4 pictures failed; the others were written to {out}"


def test_an_empty_glob_is_a_clear_error(tmp_path, capsys):
    pattern = str(tmp_path / "*.png")
    assert main(["decode", "depth", pattern, "-o", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.strip() == f"vision-banana: error: no files match {pattern!r}"


def test_a_folder_without_pictures_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["decode", "normals", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 1
    assert "holds no pictures" in capsys.readouterr().err


def test_bad_workers_is_refused(tmp_path, capsys):
    _folder_of_pictures(tmp_path / "pictures", count=1)
    args = ["decode", "depth", str(tmp_path / "pictures"), "-o", str(tmp_path / "o")]
    assert main([*args, "--workers", "0"]) == 1
    assert "--workers must be 1 or more, got 0" in capsys.readouterr().err
