"""vision_banana.ray_data on a local Ray (the session's `ray_local` fixture, root conftest.py):
decode_dataset against decode_files bit for bit, a Parquet round trip read back by pyarrow and
pycocotools, generate_dataset on an actor pool with a shared rate limit, rows that fail, the
errors a user meets, and ``vision-banana scale``.

These need the ray extra (``pip install ".[test,ray]"``). They are skipped where it is missing,
except when VISION_BANANA_REQUIRE_RAY=1 (set by .ci/run), where a missing ray fails the run.
"""

from __future__ import annotations

import functools
import io
import json
import os
import sys
import time

import numpy as np
import pytest

if os.environ.get("VISION_BANANA_REQUIRE_RAY") == "1":
    import ray
else:
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")

import pyarrow as pa
import pyarrow.parquet as pq
from pycocotools import mask as coco_mask

import ray_support
import vision_banana as vb
from vision_banana.cli import main
from vision_banana.errors import InvalidArgumentError, InvalidTypeError
from vision_banana.io import png_bytes
from vision_banana.ray_data import decode_batch, decode_dataset, generate_dataset

COUNT = 36  # pictures: a few dozen, small, so that the Ray tests stay fast


@pytest.fixture(scope="module")
def depth_pictures(tmp_path_factory):
    """36 depth PNGs of a few sizes with noisy depths, written to a folder."""
    folder = tmp_path_factory.mktemp("depth")
    rng = np.random.default_rng(7)
    paths = []
    for i in range(COUNT):
        h, w = 16 + 4 * (i % 3), 24 + 8 * (i % 4)
        depth = rng.uniform(0.3, 40.0, (h, w)).astype(np.float32)
        path = folder / f"{i:02d}.png"
        vb.write_image(path, vb.encode_depth(depth))
        paths.append(path)
    return paths


def _loaded(cell: bytes) -> np.ndarray:
    return np.load(io.BytesIO(cell), allow_pickle=False)


def _by_path(rows):
    return sorted(rows, key=lambda row: row["path"])


def test_decode_dataset_equals_decode_files_bit_for_bit(ray_local, depth_pictures):
    ds = ray.data.read_binary_files([str(p) for p in depth_pictures], include_paths=True)
    rows = _by_path(decode_dataset(ds, task="depth", column="bytes", batch_size=8).take_all())
    expected = list(vb.decode_files("depth", depth_pictures))
    assert len(rows) == COUNT
    for row, path, depth in zip(rows, depth_pictures, expected, strict=True):
        assert row["path"].endswith(path.name)
        assert row["error"] is None
        got = _loaded(row["result"])
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, depth)
        assert list(row["shape"]) == list(depth.shape)


def test_corrupt_row_gets_its_error_and_the_others_decode(ray_local, depth_pictures):
    pictures = [p.read_bytes() for p in depth_pictures[:12]]
    pictures[5] = pictures[5][: len(pictures[5]) // 2]  # cut short
    ds = ray.data.from_items([{"i": i, "picture": b} for i, b in enumerate(pictures)])
    rows = sorted(decode_dataset(ds, task="depth", batch_size=4).take_all(), key=lambda r: r["i"])
    assert [r["i"] for r in rows if r["error"] is not None] == [5]
    assert rows[5]["error"].startswith("ImageReadError: cannot read image <bytes in 'picture'>")
    assert "truncated" in rows[5]["error"]
    assert rows[5]["result"] is None
    assert rows[5]["shape"] is None
    for row in rows[:5] + rows[6:]:
        np.testing.assert_array_equal(
            _loaded(row["result"]), vb.decode_depth(vb.read_image(pictures[row["i"]]))
        )


def test_parquet_round_trip_of_masks_and_instances(ray_local, tmp_path):
    """Referring masks and instances written to Parquet and read back with pyarrow alone:
    the schema is the README's, and pycocotools decodes each RLE to the decoder's own masks."""
    rng = np.random.default_rng(3)
    ids = [np.zeros((20, 30), np.uint32) for _ in range(6)]
    for k, im in enumerate(ids):
        for n in range(1, 2 + k % 3):
            y, x = rng.integers(0, 14), rng.integers(0, 22)
            im[y : y + 6, x : x + 8] = n
    pictures = [png_bytes(vb.encode_instances(im)) for im in ids]
    prompt = vb.instance_prompt("box")
    ds = ray.data.from_items(
        [{"name": f"p{i}", "picture": b, "prompt": prompt} for i, b in enumerate(pictures)]
    )
    decode_dataset(ds, task="instances").write_parquet(str(tmp_path / "inst"))
    table = pq.read_table(tmp_path / "inst").sort_by("name")
    assert table.schema.field("result").type == pa.string()
    assert table.schema.field("shape").type == pa.list_(pa.int64())
    assert table.schema.field("error").type == pa.string()
    assert table.schema.field("picture").type == pa.binary()
    for row, picture in zip(table.to_pylist(), pictures, strict=True):
        found = vb.extract_instances(vb.read_image(picture))
        records = json.loads(row["result"])
        assert row["shape"] == [len(found), 20, 30]
        assert [r["id"] for r in records] == [i.id for i in found]
        assert [r["area"] for r in records] == [i.area for i in found]
        decoded = [coco_mask.decode(r["segmentation"]).astype(bool) for r in records]
        np.testing.assert_array_equal(np.array(decoded), found.masks())

    colours = [(255, 255, 0), (0, 128, 255)]
    masks = np.zeros((2, 24, 32), bool)
    masks[0, 2:10, 3:12], masks[1, 12:20, 8:30] = True, True
    labels = np.where(masks[0], 0, np.where(masks[1], 1, 2))
    picture = png_bytes(vb.encode_semantic(labels, colours, ignore_index=2))
    ds = ray.data.from_items([{"picture": picture}])
    decode_dataset(ds, task="referring", colors=colours).write_parquet(str(tmp_path / "ref"))
    (row,) = pq.read_table(tmp_path / "ref").to_pylist()
    assert row["shape"] == [2, 24, 32]
    rles = json.loads(row["result"])
    np.testing.assert_array_equal(np.array([coco_mask.decode(r) for r in rles], bool), masks)


def _photos(count: int) -> list[bytes]:
    rng = np.random.default_rng(11)
    return [png_bytes(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)) for _ in range(count)]


def test_generate_dataset_on_two_actors(ray_local, tmp_path):
    log = str(tmp_path / "calls.log")
    photos = _photos(8)
    items = [{"i": i, "image": p} for i, p in enumerate(photos)]
    ds = ray.data.from_items(items, override_num_blocks=8)
    factory = functools.partial(ray_support.logging_generator, log)
    rows = sorted(
        generate_dataset(ds, factory, task="depth", workers=2, num_cpus=0.5).take_all(),
        key=lambda r: r["i"],
    )
    assert len(ray_support.read_log(log)) == 8  # once per row (both actors: the next test)
    for row, photo in zip(rows, photos, strict=True):
        assert row["error"] is None
        assert row["prompt"] == vb.depth_prompt()
        depth = vb.decode_depth(vb.read_image(row["picture"]))
        expected = ray_support.depth_of(vb.read_image(photo))
        assert depth.shape == (12, 16)
        np.testing.assert_allclose(depth, expected, rtol=0.01)


def test_rate_limit_is_shared_by_the_actors(ray_local, tmp_path, monkeypatch):
    """10 rows at 5 a second over 2 actors take at least 1.8 s (9 intervals): a limit per
    actor would start them within 0.8 s."""
    # Both actors up before the first row moves, so that both take rows however slowly the
    # machine starts processes.
    monkeypatch.setattr(ray.data.DataContext.get_current(), "wait_for_min_actors_s", 60)
    log = str(tmp_path / "calls.log")
    ds = ray.data.from_items([{"image": p} for p in _photos(10)], override_num_blocks=10)
    factory = functools.partial(ray_support.logging_generator, log)
    start = time.perf_counter()
    out = generate_dataset(ds, factory, task="depth", workers=2, num_cpus=0.5, qps=5)
    out = out.materialize()
    took = time.perf_counter() - start
    calls = ray_support.read_log(log)
    assert out.count() == len(calls) == 10
    assert len({pid for pid, _ in calls}) == 2
    assert took >= 1.8
    # The spacing of the starts themselves (less a few ms of call latency between processes).
    assert calls[-1][1] - calls[0][1] >= 1.75


def test_generate_then_decode_reads_the_colours_from_the_prompt(ray_local):
    """A failed generation keeps its error through decoding; the semantic colours come from
    each row's prompt column."""
    photos = [*_photos(3), b"not a photo"]
    ds = ray.data.from_items([{"i": i, "image": p} for i, p in enumerate(photos)])
    mapping = {"wall": "red", "floor": "blue"}
    generated = generate_dataset(
        ds, "callable:ray_support:paint_depth", task="semantic", classes=mapping
    )
    rows = sorted(decode_dataset(generated, task="semantic").take_all(), key=lambda r: r["i"])
    assert rows[3]["error"].startswith("ImageReadError: cannot read image")
    assert rows[3]["picture"] is None
    assert rows[3]["result"] is None
    for row in rows[:3]:
        assert row["error"] is None
        assert (
            vb.parse_mapping(row["prompt"]).classes
            == vb.parse_mapping(vb.semantic_prompt(mapping)).classes
        )
        expected = vb.decode_semantic(
            vb.read_image(row["picture"]), vb.parse_mapping(row["prompt"])
        )
        np.testing.assert_array_equal(_loaded(row["result"]), expected)


# --- decode_batch without an engine -----------------------------------------------------------


def test_decode_batch_keeps_the_columns_and_names_bad_cells():
    picture = png_bytes(vb.encode_normals(np.tile([0.0, 0.0, 1.0], (4, 5, 1)).astype(np.float32)))
    batch = {
        "id": np.array([10, 11, 12]),
        "picture": np.array([picture, None, 3.5], dtype=object),
    }
    out = decode_batch(batch, task="normals")
    assert out["id"] is batch["id"]
    normals = _loaded(out["result"][0])
    np.testing.assert_array_equal(normals, vb.decode_normals(vb.read_image(picture))[0])
    assert list(out["shape"]) == [[4, 5, 3], None, None]
    assert out["error"][1] == (
        "InvalidTypeError: picture[1] must be the bytes of a PNG or JPEG file (or its path), got "
        "nothing (None)"
    )
    assert out["error"][2].endswith("got float")


def test_decode_batch_semantic_per_row_prompts():
    labels = np.array([[0, 1], [1, 0]])
    rows = [({"cat": "red", "dog": "blue"}, ["red", "blue"]), ({"sky": "green"}, ["green"])]
    pictures = [png_bytes(vb.encode_semantic(labels % len(c), c)) for _, c in rows]
    prompts = [vb.semantic_prompt(m) for m, _ in rows]
    batch = {"picture": np.array(pictures, object), "prompt": np.array(prompts, object)}
    out = decode_batch(batch, task="semantic")
    np.testing.assert_array_equal(_loaded(out["result"][0]), labels)
    np.testing.assert_array_equal(_loaded(out["result"][1]), labels % 1)


# --- bad input ------------------------------------------------------------------------------------


def test_missing_column_names_the_columns_present(ray_local):
    ds = ray.data.from_items([{"path": "a.png", "bytes": b"x"}])
    with pytest.raises(InvalidArgumentError, match=r"no column 'picture'.*columns are path, bytes"):
        decode_dataset(ds, task="depth")
    with pytest.raises(InvalidArgumentError, match=r"no column 'picture'.*columns are path, bytes"):
        decode_batch({"path": np.array(["a.png"]), "bytes": np.array([b"x"])}, task="depth")
    with pytest.raises(InvalidArgumentError, match=r"generate: no column 'image'.*are path, bytes"):
        generate_dataset(ds, "callable:ray_support:paint_depth", task="depth")


def test_a_task_the_column_cannot_serve(ray_local):
    numbers = ray.data.from_items([{"picture": 1.5}])
    with pytest.raises(InvalidArgumentError, match=r"column 'picture' holds double, not the enc"):
        decode_dataset(numbers, task="depth")
    pictures = ray.data.from_items([{"picture": b"x"}])
    with pytest.raises(InvalidArgumentError, match=r"'semantic' needs colors= or a 'prompt' col"):
        decode_dataset(pictures, task="semantic")
    with pytest.raises(InvalidArgumentError, match=r"task must be one of depth, normals"):
        decode_dataset(pictures, task="optical-flow")
    with pytest.raises(InvalidArgumentError, match=r"return_distance is not supported"):
        decode_dataset(pictures, task="depth", return_distance=True)
    with pytest.raises(InvalidTypeError, match=r"unknown option\(s\) tau; decode_depth takes"):
        decode_dataset(pictures, task="depth", tau=3)
    prompts = ray.data.from_items([{"picture": b"x", "prompt": "The cat is red."}])
    with pytest.raises(InvalidTypeError, match=r"unknown option\(s\) frame; decode_semantic"):
        decode_dataset(prompts, task="semantic", frame="opencv")


def test_a_generator_that_cannot_be_built_fails_before_any_data_moves(ray_local, tmp_path):
    log = tmp_path / "calls.log"
    ds = ray.data.from_items([{"image": p} for p in _photos(2)])
    with pytest.raises(InvalidArgumentError, match=r"callable:no_such_module:fn: No module"):
        generate_dataset(ds, "callable:no_such_module:fn", task="depth")
    with pytest.raises(InvalidArgumentError, match=r"reference needs --truth"):
        generate_dataset(ds, "reference", task="depth")
    with pytest.raises(InvalidArgumentError, match=r"--generator must be one of reference"):
        generate_dataset(ds, "dall-e", task="depth")
    with pytest.raises(InvalidTypeError, match=r"must take no arguments.*needs log"):
        generate_dataset(ds, ray_support.logging_generator, task="depth")
    with pytest.raises(InvalidTypeError, match=r"zero-argument function.*got CallableGenerator"):
        generate_dataset(ds, ray_support.logging_generator(str(log)), task="depth")
    with pytest.raises(InvalidArgumentError, match=r"instances asks one generation per class"):
        generate_dataset(
            ds, "callable:ray_support:paint_depth", task="instances", classes=["a", "b"]
        )
    with pytest.raises(InvalidArgumentError, match=r"qps must be a positive number"):
        generate_dataset(ds, "callable:ray_support:paint_depth", task="depth", qps=0)
    with pytest.warns(UserWarning, match=r"2 generator actors take 2 of the cluster's 2 CPUs"):
        generate_dataset(ds, "callable:ray_support:paint_depth", task="depth", workers=2)
    assert not log.exists()


# --- the command line -----------------------------------------------------------------------------


def test_scale_generate_then_decode_equals_scale_run(ray_local, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, photo in enumerate(_photos(4)):
        (photos / f"{i}.png").write_bytes(photo)
    (photos / "3.png").write_bytes(b"broken")
    common = ["--task", "depth", "--generator", "callable:ray_support:paint_depth"]
    generate = ["scale", "generate", "--input", str(photos), "-o", str(tmp_path / "gen")]
    # Two actors of half a CPU: the pool leaves a CPU of the two for reading the files.
    assert main([*generate, *common, "--workers", "2", "--num-cpus", "0.5"]) == 1  # one failed
    assert "wrote 4 rows" in capsys.readouterr().out
    decode = ["scale", "decode", "--input", str(tmp_path / "gen"), "-o", str(tmp_path / "dec")]
    assert main([*decode, "--task", "depth"]) == 1
    run = ["scale", "run", "--input", str(photos / "*.png"), "-o", str(tmp_path / "run")]
    assert main([*run, *common]) == 1
    decoded = pq.read_table(tmp_path / "dec").sort_by("path").to_pylist()
    ran = pq.read_table(tmp_path / "run").sort_by("path").to_pylist()
    assert [r["path"] for r in decoded] == [str(photos / f"{i}.png") for i in range(4)]
    assert decoded == ran
    assert ran[3]["error"].startswith("ImageReadError")
    assert ran[3]["result"] is None
    for row in ran[:3]:
        expected = ray_support.depth_of(vb.read_image(row["image"]))
        np.testing.assert_allclose(_loaded(row["result"]), expected, rtol=0.01)
    assert main([*decode, "--task", "depth"]) == 1  # the output exists now
    assert "--output" in capsys.readouterr().err


def test_without_ray_the_error_names_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    with pytest.raises(ImportError, match=r'needs Ray Data: pip install "vision-banana\[ray\]"'):
        decode_dataset(object(), task="depth")
    args = ["scale", "decode", "--input", str(tmp_path), "-o", str(tmp_path / "out")]
    assert main([*args, "--task", "depth"]) == 1
    assert 'pip install "vision-banana[ray]"' in capsys.readouterr().err
