"""``vision-banana encode``: ground truth to training target pictures and their prompts, checked
against the encoders called directly and by decoding the targets back (encode -> decode)."""

from __future__ import annotations

import numpy as np
import pytest

import vision_banana as vb
from vision_banana.cli import main

H, W = 40, 60


def _run(*argv):
    assert main([str(a) for a in argv]) == 0


def _depth_step_bound(depth):
    """How far the decoded depth may be from ``depth`` after 8-bit rounding: half an 8-bit step
    along the walk (1 / (7 * 255) of f), on the far side where the step is larger, with the
    default transform f = 1 - (1 + d / 10) ** -2 written out here."""
    f = 1 - (1 + depth.astype(np.float64) / 10) ** -2
    upper = np.minimum(f + 0.5 / (7 * 255), 1 - 1e-9)
    return 10 * ((1 - upper) ** -0.5 - 1) - depth


def test_encode_depth_from_npy_round_trips_within_the_8_bit_step(tmp_path):
    depth = np.linspace(0, 50, H * W, dtype=np.float32).reshape(H, W)
    np.save(tmp_path / "room.npy", depth)
    _run("encode", "depth", tmp_path / "room.npy", "-o", tmp_path / "targets")
    target = vb.read_image(tmp_path / "targets" / "room.png")
    np.testing.assert_array_equal(target, vb.encode_depth(depth))
    prompt = (tmp_path / "targets" / "room.prompt.txt").read_text().strip()
    assert prompt == vb.depth_prompt()

    _run("decode", "depth", tmp_path / "targets" / "room.png", "-o", tmp_path / "decoded")
    decoded = np.load(tmp_path / "decoded" / "room.npy")
    error = np.abs(decoded.astype(np.float64) - depth)
    assert (error <= 1.01 * _depth_step_bound(depth) + 1e-5).all()
    assert error.max() > 0.01  # the bound is not vacuous: far depths do move


def test_encode_depth_from_a_millimetre_png_needs_scale(tmp_path, capsys):
    millimetres = np.arange(H * W, dtype=np.uint16).reshape(H, W) * 7 + 300
    vb.write_image(tmp_path / "kitti.png", millimetres)
    out = tmp_path / "targets"
    assert main(["encode", "depth", str(tmp_path / "kitti.png"), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "depth holds integers (uint16), not metres: pass --scale" in err
    assert "kitti.png" in err
    assert not out.exists()

    _run("encode", "depth", tmp_path / "kitti.png", "-o", out, "--scale", "0.001")
    metres = millimetres * 0.001
    np.testing.assert_array_equal(vb.read_image(out / "kitti.png"), vb.encode_depth(metres))
    _run("decode", "depth", out / "kitti.png", "-o", tmp_path / "decoded")
    decoded = np.load(tmp_path / "decoded" / "kitti.npy")
    assert (np.abs(decoded - metres) <= 1.01 * _depth_step_bound(metres) + 1e-5).all()


def test_encode_depth_zeros_as_missing(tmp_path):
    millimetres = np.full((H, W), 2500, np.uint16)
    millimetres[::3] = 0
    vb.write_image(tmp_path / "nyu.png", millimetres)
    argv = ["encode", "depth", tmp_path / "nyu.png", "-o", tmp_path / "out", "--scale", "0.001"]
    _run(*argv, "--zero-invalid", "--invalid", "magenta")
    target = vb.read_image(tmp_path / "out" / "nyu.png")
    np.testing.assert_array_equal(target[::3], np.full((len(target[::3]), W, 3), (255, 0, 255)))
    np.testing.assert_array_equal(
        target[1::3], vb.encode_depth(np.full((len(target[1::3]), W), 2.5))
    )


def test_encode_depth_options_reach_the_encoder(tmp_path):
    depth = np.linspace(0.2, 30, H * W).reshape(H, W)
    depth[0, :5] = np.nan
    np.save(tmp_path / "d.npy", depth)
    _run(
        "encode", "depth", tmp_path / "d.npy", "-o", tmp_path / "out", "--lam", "-2", "--c", "5",
        "--colormap", "viridis", "--bits", "16", "--invalid", "white",
    )  # fmt: skip
    expected = vb.encode_depth(
        depth, lam=-2, c=5, colormap="viridis", dtype=np.uint16, invalid=(65535,) * 3
    )
    target = vb.read_image(tmp_path / "out" / "d.png")
    assert target.dtype == np.uint16
    np.testing.assert_array_equal(target, expected)
    # The paper published a prompt for the cube walk only.
    assert not (tmp_path / "out" / "d.prompt.txt").exists()


def _unit_vectors(seed=0):
    vectors = np.random.default_rng(seed).normal(size=(H, W, 3))
    vectors[..., 2] = np.abs(vectors[..., 2]) + 0.1
    return (vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("bits", [8, 16])
def test_encode_normals_in_the_opencv_frame_round_trips(tmp_path, bits):
    opencv = _unit_vectors()
    np.save(tmp_path / "n.npy", opencv)
    argv = ["encode", "normals", tmp_path / "n.npy", "-o", tmp_path / "out", "--frame", "opencv"]
    _run(*argv, "--bits", bits)
    target = vb.read_image(tmp_path / "out" / "n.png")
    paper = opencv * np.array([1, -1, -1], np.float32)  # y down, z forward -> y up, z backward
    dtype = np.uint8 if bits == 8 else np.uint16
    np.testing.assert_array_equal(target, vb.encode_normals(paper, dtype=dtype))
    assert (tmp_path / "out" / "n.prompt.txt").read_text().strip() == vb.normals_prompt()

    _run(
        "decode", "normals", tmp_path / "out" / "n.png", "-o", tmp_path / "dec", "--frame", "opencv"
    )
    decoded = np.load(tmp_path / "dec" / "n.npy")
    # Half a step per channel is 1/255 (or 1/65535) of a component, before renormalising.
    np.testing.assert_allclose(decoded, opencv, atol=2.5 / (2**bits - 1))


LABELS = np.zeros((H, W), np.uint8)
LABELS[5:20, 5:30] = 1
LABELS[22:38, 35:58] = 2
LABELS[0:4] = 255


@pytest.mark.parametrize("suffix", [".npy", ".png"])
def test_encode_semantic_with_classes_round_trips_through_its_prompt(tmp_path, suffix):
    path = tmp_path / f"city{suffix}"
    np.save(path, LABELS) if suffix == ".npy" else vb.write_image(path, LABELS)
    _run("encode", "semantic", path, "-o", tmp_path / "out", "--classes", "road", "car", "sky")
    prompt = (tmp_path / "out" / "city.prompt.txt").read_text().strip()
    assert prompt == vb.semantic_prompt(["road", "car", "sky"])
    colours = vb.distinct_palette(3, avoid=[(0, 0, 0)])
    assert list(vb.parse_mapping(prompt).classes.values()) == colours
    target = vb.read_image(tmp_path / "out" / "city.png")
    painted = np.array([*colours, (0, 0, 0)], np.uint8)[np.where(LABELS == 255, 3, LABELS)]
    np.testing.assert_array_equal(target, painted)

    _run(
        "decode",
        "semantic",
        tmp_path / "out" / "city.png",
        "-o",
        tmp_path / "dec",
        "--prompt",
        prompt,
    )
    np.testing.assert_array_equal(np.load(tmp_path / "dec" / "city.npy"), LABELS)


def test_encode_semantic_with_a_mapping_a_background_and_a_16_bit_ignore_label(tmp_path):
    labels = LABELS.astype(np.uint16)
    labels[labels == 255] = 1000
    labels[labels == 2] = 0
    vb.write_image(tmp_path / "a.png", labels)
    mapping = '{"road": "gray", "car": [255, 0, 0]}'
    _run(
        "encode", "semantic", tmp_path / "a.png", "-o", tmp_path / "out", "--mapping", mapping,
        "--background", "yellow", "--ignore-index", "1000", "--style", "sentences",
        "--color-format", "tuple",
    )  # fmt: skip
    prompt = (tmp_path / "out" / "a.prompt.txt").read_text().strip()
    assert prompt == vb.semantic_prompt(
        {"road": "gray", "car": (255, 0, 0)},
        style="sentences",
        color_format="tuple",
        background="yellow",
    )
    target = vb.read_image(tmp_path / "out" / "a.png")
    painted = np.zeros((1001, 3), np.uint8)
    painted[[0, 1, 1000]] = [(128, 128, 128), (255, 0, 0), (255, 255, 0)]  # gray, red, yellow
    np.testing.assert_array_equal(target, painted[labels])
    _run(
        "decode", "semantic", tmp_path / "out" / "a.png", "-o", tmp_path / "dec", "--prompt",
        prompt, "--ignore-index", "1000",
    )  # fmt: skip
    decoded = np.load(tmp_path / "dec" / "a.npy")
    assert decoded.dtype == np.uint16
    np.testing.assert_array_equal(decoded, labels)


def _instance_ids():
    """Ids numbered in the raster order of each instance's first pixel, as the decoder numbers."""
    ids = np.zeros((H, W), np.uint16)
    ids[2:12, 3:20] = 1
    ids[4:30, 25:40] = 2
    ids[15:35, 5:18] = 3
    ids[32:39, 30:58] = 4
    return ids


@pytest.mark.parametrize("suffix", [".npy", ".png"])
def test_encode_instances_round_trips_exactly(tmp_path, suffix):
    ids = _instance_ids()
    path = tmp_path / f"shelf{suffix}"
    np.save(path, ids) if suffix == ".npy" else vb.write_image(path, ids)
    argv = ["encode", "instances", path, "-o", tmp_path / "out"]
    _run(*argv, "--class", "price tag", "--background", "white")
    target = vb.read_image(tmp_path / "out" / "shelf.png")
    np.testing.assert_array_equal(target, vb.encode_instances(ids, background=(255, 255, 255)))
    prompt = (tmp_path / "out" / "shelf.prompt.txt").read_text().strip()
    assert prompt == vb.instance_prompt("price tag", background="white")

    _run(
        "decode",
        "instances",
        tmp_path / "out" / "shelf.png",
        "-o",
        tmp_path / "dec",
        "--prompt",
        prompt,
    )
    np.testing.assert_array_equal(np.load(tmp_path / "dec" / "shelf.npy"), ids)


def test_encode_instances_without_a_class_writes_no_prompt(tmp_path):
    np.save(tmp_path / "x.npy", _instance_ids())
    _run("encode", "instances", tmp_path / "x.npy", "-o", tmp_path)
    assert (tmp_path / "x.png").is_file()
    assert not (tmp_path / "x.prompt.txt").exists()


def _write_inputs(tmp_path):
    np.save(tmp_path / "depth.npy", np.ones((H, W), np.float32))
    nan_depth = np.ones((H, W))
    nan_depth[3, 4] = np.nan
    np.save(tmp_path / "nan.npy", nan_depth)
    vb.write_image(tmp_path / "rgb.png", np.zeros((H, W, 3), np.uint8))
    np.save(tmp_path / "float_labels.npy", np.zeros((H, W)))
    np.save(tmp_path / "zero_normals.npy", np.zeros((H, W, 3), np.float32))
    np.save(tmp_path / "labels.npy", LABELS)
    bad = LABELS.copy()
    bad[7, 9] = 5
    np.save(tmp_path / "bad_labels.npy", bad)
    np.save(tmp_path / "negative.npy", -_instance_ids().astype(np.int32))
    with open(tmp_path / "objects.npy", "wb") as file:
        np.lib.format.write_array(file, np.array([{"a": 1}], dtype=object))
    (tmp_path / "notes.txt").write_text("depth")
    (tmp_path / "sub").mkdir()
    np.save(tmp_path / "sub" / "depth.npy", np.ones((2, 2)))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["depth", "depth.npy", "--scale", "0"], "--scale must be above 0, got 0"),
        (["depth", "depth.npy", "--scale", "inf"], "--scale must be finite"),
        (["depth", "depth.npy", "--zero-invalid"], "--zero-invalid needs --invalid COLOR"),
        (["depth", "nan.npy"], "nan.npy: depth has 1 value(s) that are NaN, infinite or negative"),
        (["depth", "nan.npy"], "Pass --invalid COLOR to paint them"),
        (["normals", "zero_normals.npy"], "Pass --invalid COLOR to paint them"),
        (
            ["depth", "rgb.png", "--scale", "1"],
            "depth must be one (H, W) map, got shape (40, 60, 3)",
        ),
        (["depth", "notes.txt"], "ground truth must be a .npy or .png file"),
        (["depth", "objects.npy"], "cannot read"),
        (["depth", "missing.npy"], "missing.npy"),
        (["depth", "depth.npy", "--invalid", "nocolour"], "nocolour"),
        (["normals", "rgb.png"], "normals must be one (H, W, 3) float array"),
        (["normals", "depth.npy"], "got shape (40, 60) and dtype float32"),
        (["semantic", "float_labels.npy", "--classes", "a"], "labels must hold integers"),
        (["semantic", "bad_labels.npy", "--classes", "a", "b", "c"], "the first, at (7, 9), is 5"),
        (
            ["semantic", "labels.npy", "--classes", "a", "b", "c", "--ignore-index", "2"],
            "ignore_index",
        ),
        (
            ["semantic", "labels.npy", "--prompt", "x", "--background", "red"],
            "--background cannot be used with --prompt",
        ),
        (["semantic", "labels.npy", "--prompt", "Draw it."], "could not read a class-to-colour"),
        (
            ["semantic", "labels.npy", "--prompt", vb.instance_prompt("cup")],
            "--prompt names no class with a colour",
        ),
        (["semantic", "labels.npy", "--mapping", "[1]"], "--mapping must be a JSON object"),
        (["instances", "negative.npy"], "instance_ids must be 0 or more"),
        (["instances", "labels.npy", "--class", "cup. The background is red"], "rename it"),
        (["depth", "depth.npy", "sub/depth.npy"], "have the same stem 'depth'"),
    ],
)
def test_encode_errors_are_one_clear_line(tmp_path, capsys, argv, message):
    _write_inputs(tmp_path)
    task, *rest = argv
    rest = [str(tmp_path / a) if a.endswith((".npy", ".png", ".txt")) else a for a in rest]
    assert main(["encode", task, *rest, "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vision-banana: error: ")
    assert err.count("\n") == 1
    assert message in err
    assert not (tmp_path / "out").exists()  # every error comes before the first file is written


def test_encode_never_overwrites_its_input(tmp_path, capsys):
    vb.write_image(tmp_path / "ids.png", _instance_ids())
    assert main(["encode", "instances", str(tmp_path / "ids.png"), "-o", str(tmp_path)]) == 1
    assert "would overwrite the input" in capsys.readouterr().err
    np.testing.assert_array_equal(vb.read_image(tmp_path / "ids.png", mode="keep"), _instance_ids())


def test_encode_usage_errors(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["encode", "semantic", "labels.npy", "-o", "out"])
    assert exit_.value.code == 2
    assert (
        "one of the arguments --prompt --mapping --classes is required" in capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as exit_:
        main(["encode", "depth", "d.npy", "-o", "out", "--bits", "12"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit) as exit_:
        main(["encode", "--help"])
    assert exit_.value.code == 0
    assert "Paint ground truth as the pictures" in capsys.readouterr().out
