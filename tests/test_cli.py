"""The command line, run in-process through `main` and once as the installed script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vision_banana as vb
from vision_banana.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_decode_depth_writes_npy_and_preview(tmp_path, capsys):
    picture = EXAMPLES / "room_depth_generated.png"
    assert main(["decode", "depth", str(picture), "-o", str(tmp_path / "out")]) == 0
    depth = np.load(tmp_path / "out" / "room_depth_generated.npy")
    np.testing.assert_array_equal(depth, vb.decode_depth(vb.read_image(picture)))
    preview = vb.read_image(tmp_path / "out" / "room_depth_generated.preview.png")
    assert preview.shape == (depth.shape[0], 2 * depth.shape[1], 3)
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
