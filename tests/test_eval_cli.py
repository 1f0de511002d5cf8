"""``vision-banana eval``: the listing, a run on the bundled example, errors, and a killed process
that resumes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from eval_support import Painter, build_depth_folder
from vision_banana.cli import main
from vision_banana.eval import benchmarks_table, evaluate, list_benchmarks

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "eval_folder"
ISSUE_BENCHMARKS = (
    "nyu",
    "ibims",
    "eth3d",
    "diode-indoor",
    "kitti",
    "nuscenes",
    "nyu-normals",
    "scannet-normals",
    "vkitti2-normals",
    "diode-indoor-normals",
    "cityscapes",
    "refcocog",
    "reasonseg",
    "saco-gold",
    "folder",
)
# The command the README's "Evaluate" section runs, from the repository root.
README_COMMAND = (
    "vision-banana eval folder --root examples/eval_folder --generator reference "
    "--truth examples/eval_folder/depth --degrade --seed 0 -o runs/example"
)


def test_list_shows_every_benchmark_with_task_samples_and_figure(capsys):
    assert main(["eval", "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["BENCHMARK", "TASK", "SAMPLES", "PAPER"]
    rows = {line.split()[0]: line for line in out[1:]}
    assert set(ISSUE_BENCHMARKS) <= set(rows)
    assert len(rows) == 15  # the paper's 14 benchmarks and folder
    for info in list_benchmarks():
        row = rows[info.name]
        assert info.task in row
        assert info.figure in row
        assert (str(info.size) if info.size is not None else " - ") in row
    assert rows["nyu"].split()[:3] == ["nyu", "depth", "654"]


def test_readme_lists_the_registry_and_runs_the_bundled_example():
    readme = (REPO / "README.md").read_text()
    assert benchmarks_table() in readme
    assert README_COMMAND in readme


def test_the_readme_example_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    argv = README_COMMAND.split()[1:]
    argv[argv.index("runs/example")] = str(tmp_path / "example")
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert first.startswith("folder: scored 4 of 4 queries, 0 failed, 4 generated; delta1 ")
    results = json.loads((tmp_path / "example" / "results.json").read_text())
    assert (results["benchmark"], results["task"], results["scored"]) == ("folder", "depth", 4)
    assert results["metrics"]["delta1"] > 0.99
    assert results["metrics"]["abs_rel"] < 0.01
    assert results["generator"]["degrade"] is not None
    assert len((tmp_path / "example" / "samples.jsonl").read_text().splitlines()) == 4
    assert main(argv) == 0
    assert ", 0 generated;" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "nope", "--root", ".", "--generator", "reference", "-o", "x"],
         "unknown benchmark 'nope'; known: cityscapes, diode-indoor, "),
        (["eval", "folder"], r"eval needs --root DIR, --generator SPEC, -o OUTDIR \(or --list"),
        (["eval", "folder", "--root", "{tmp}/none", "--generator", "reference", "-o", "x"],
         "root: folder expects a folder laid out as images/"),
        (["eval", "folder", "--root", "{set}", "--generator", "reference", "-o", "x"],
         r"depth_scale: .*s1.png is a 16-bit PNG; give its metres per unit \(--depth-scale"),
        (["eval", "folder", "--root", "{set}", "--depth-scale", "0.001", "--stride", "2",
          "--generator", "reference", "-o", "x"], "folder takes no option stride"),
        (["eval", "folder", "--root", "{set}", "--depth-scale", "0.001", "--generator",
          "reference", "-o", "x"], "--generator reference needs --truth DIR"),
        (["eval", "folder", "--root", "{set}", "--depth-scale", "0.001", "--generator",
          "magic", "-o", "x"], "--generator must be one of reference, callable, http"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_on_stderr(tmp_path, capsys, argv, message):
    build_depth_folder(tmp_path / "set", count=2)
    argv = [a.format(tmp=tmp_path, set=tmp_path / "set") for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("vision-banana: error: ")
    assert err.count("\n") == 1
    assert re.search(message, err), err


def test_nothing_scored_is_an_error(tmp_path, capsys, monkeypatch):
    build_depth_folder(tmp_path / "set", count=2)
    (tmp_path / "gen.py").write_text(
        "def refuse(image, prompt, seed):\n    raise OSError('down')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = ["eval", "folder", "--root", str(tmp_path / "set"), "--depth-scale", "0.001"]
    argv += ["--generator", "callable:gen:refuse", "-o", str(tmp_path / "out")]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert "scored 0 of 2 queries, 2 failed" in out
    assert "GeneratorError: generator callable:gen:refuse failed: OSError: down" in out
    assert err == "vision-banana: error: no query of 2 was scored\n"


KILLER = textwrap.dedent(
    """
    import os, signal
    from pathlib import Path
    import numpy as np

    HERE = Path(__file__).parent

    def generate(image, prompt, seed):
        # One line per call; the process is killed during the call numbered KILL_AT.
        with open(HERE / "calls.txt", "a") as calls:
            calls.write("call\\n")
        count = len((HERE / "calls.txt").read_text().splitlines())
        if str(count) == os.environ.get("KILL_AT"):
            os.kill(os.getpid(), signal.SIGKILL)
        index = round((float(np.asarray(image).mean()) - 20) / 40)
        return np.load(HERE / f"picture{index}.npy")
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_process_resumes_and_asks_only_the_unfinished_queries(tmp_path):
    data = build_depth_folder(tmp_path / "set", count=5)
    for i, picture in enumerate(data["pictures"]):
        np.save(tmp_path / f"picture{i}.npy", picture)
    (tmp_path / "killer.py").write_text(KILLER)
    command = [sys.executable, "-m", "vision_banana.cli", "eval", "folder"]
    command += ["--root", str(tmp_path / "set"), "--depth-scale", "0.001"]
    command += ["--generator", "callable:killer:generate", "-o", str(tmp_path / "out")]
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")

    killed = subprocess.run(command, env={**env, "KILL_AT": "3"}, capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    log = tmp_path / "out" / "samples.jsonl"
    assert [json.loads(line)["id"] for line in log.read_text().splitlines()] == ["s0", "s1"]

    resumed = subprocess.run(command, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "scored 5 of 5 queries, 0 failed, 3 generated" in resumed.stdout
    # Five queries, each generated once, plus the call the kill cut short.
    assert len((tmp_path / "calls.txt").read_text().splitlines()) == 6
    clean = evaluate(
        "folder", tmp_path / "set", Painter(data["pictures"]).generator(), depth_scale=0.001
    )
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["metrics"] == pytest.approx(clean.metrics, rel=1e-12)
    assert sorted(json.loads(line)["id"] for line in log.read_text().splitlines()) == [
        f"s{i}" for i in range(5)
    ]
