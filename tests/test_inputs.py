"""What the decoders and metrics take besides numpy arrays: picture files as paths or bytes, and
arrays of other libraries through ``__array_interface__`` and ``__dlpack__``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vision_banana as vb
from vision_banana._arrays import as_array
from vision_banana.errors import ImageReadError, InvalidTypeError
from vision_banana.metrics import DepthMetric, SemanticMetric


def _picture() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (24, 31, 3), dtype=np.uint8)


class DLPackOnly:
    """An array of another library that speaks only DLPack (numpy's own, underneath)."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._array.__dlpack_device__()


class OnAccelerator:
    """An array whose memory numpy cannot read in place (as a CUDA tensor), with a method that
    copies it to the host, as torch's ``.cpu()``."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array
        self.copies = 0

    def __dlpack__(self, **kwargs: Any) -> Any:
        raise BufferError("the memory is on device cuda:0")

    def __dlpack_device__(self) -> tuple[int, int]:
        return (2, 0)  # kDLCUDA

    def cpu(self) -> np.ndarray:
        self.copies += 1
        return self._array.copy()


class ArrayInterfaceOnly:
    def __init__(self, array: np.ndarray) -> None:
        self.__array_interface__ = array.__array_interface__
        self._keep = array


# ----------------------------------------------------------------------------------- file inputs


@pytest.mark.parametrize("kind", ["path", "str", "bytes", "bytearray", "memoryview"])
def test_decoders_take_picture_files(tmp_path: Path, kind: str) -> None:
    picture = _picture()
    path = tmp_path / "p.png"
    vb.write_image(path, picture)
    data = path.read_bytes()
    source = {
        "path": path,
        "str": str(path),
        "bytes": data,
        "bytearray": bytearray(data),
        "memoryview": memoryview(data),
    }[kind]
    np.testing.assert_array_equal(vb.decode_depth(source), vb.decode_depth(picture))
    normals, valid = vb.decode_normals(source)
    expected_normals, expected_valid = vb.decode_normals(picture)
    np.testing.assert_array_equal(normals, expected_normals)
    np.testing.assert_array_equal(valid, expected_valid)
    colors = {"a": (250, 10, 10), "b": (10, 10, 250)}
    np.testing.assert_array_equal(
        vb.decode_semantic(source, colors), vb.decode_semantic(picture, colors)
    )
    np.testing.assert_array_equal(
        vb.decode_referring(source, ["red"]), vb.decode_referring(picture, ["red"])
    )
    np.testing.assert_array_equal(
        vb.extract_instances(source).ids, vb.extract_instances(picture).ids
    )


def test_jpeg_bytes_are_read_with_pillow(tmp_path: Path) -> None:
    path = tmp_path / "p.jpg"
    vb.write_image(path, _picture())
    expected = vb.decode_depth(vb.read_image(path))
    np.testing.assert_array_equal(vb.decode_depth(path.read_bytes()), expected)


def test_bad_bytes_are_an_image_read_error() -> None:
    with pytest.raises(ImageReadError, match=r"<bytes>.*not an image"):
        vb.decode_depth(b"certainly not a picture")


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        vb.decode_normals(tmp_path / "missing.png")


# ------------------------------------------------------------------------------ foreign arrays


def test_dlpack_arrays_are_read_in_place() -> None:
    picture = _picture()
    foreign = DLPackOnly(picture)
    array = as_array(foreign, "rgb")
    assert isinstance(array, np.ndarray)
    assert np.shares_memory(array, picture)
    np.testing.assert_array_equal(vb.decode_depth(foreign), vb.decode_depth(picture))
    np.testing.assert_array_equal(
        vb.decode_semantic(foreign, ["red", "blue"]), vb.decode_semantic(picture, ["red", "blue"])
    )


def test_array_interface_is_read_in_place() -> None:
    picture = _picture()
    foreign = ArrayInterfaceOnly(picture)
    assert np.shares_memory(as_array(foreign, "rgb"), picture)
    np.testing.assert_array_equal(vb.decode_normals(foreign)[0], vb.decode_normals(picture)[0])


def test_accelerator_memory_is_copied_to_the_host_once() -> None:
    picture = _picture()
    foreign = OnAccelerator(picture)
    np.testing.assert_array_equal(vb.decode_depth(foreign), vb.decode_depth(picture))
    assert foreign.copies == 1


def test_unreadable_foreign_array_names_the_argument() -> None:
    class Stuck(OnAccelerator):
        cpu = None  # type: ignore[assignment]

    with pytest.raises(InvalidTypeError, match="rgb is a Stuck whose memory numpy cannot read"):
        vb.decode_depth(Stuck(_picture()))


def _same_results(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_metrics_take_dlpack_arrays() -> None:
    rng = np.random.default_rng(5)
    pred = rng.integers(0, 19, (20, 30), dtype=np.uint8)
    gt = rng.integers(0, 19, (20, 30), dtype=np.uint8)
    ours, reference = SemanticMetric(num_classes=19), SemanticMetric(num_classes=19)
    ours.update(DLPackOnly(pred), DLPackOnly(gt))
    reference.update(pred, gt)
    _same_results(ours.compute(), reference.compute())

    depth_pred = rng.uniform(0.5, 10, (20, 30)).astype(np.float32)
    depth_gt = rng.uniform(0.5, 10, (20, 30)).astype(np.float32)
    ours_d, reference_d = DepthMetric(), DepthMetric()
    ours_d.update(DLPackOnly(depth_pred), OnAccelerator(depth_gt))
    reference_d.update(depth_pred, depth_gt)
    _same_results(ours_d.compute(), reference_d.compute())


def test_torch_tensors() -> None:
    torch = pytest.importorskip("torch")
    picture = _picture()
    tensor = torch.from_numpy(picture.copy())
    array = as_array(tensor, "rgb")
    assert np.shares_memory(array, tensor.numpy())  # CPU tensors: no copy
    np.testing.assert_array_equal(vb.decode_depth(tensor), vb.decode_depth(picture))
    floats = torch.from_numpy(picture / 255.0).requires_grad_(True)
    np.testing.assert_array_equal(vb.decode_depth(floats), vb.decode_depth(picture / 255.0))
    metric, reference = DepthMetric(), DepthMetric()
    depth = vb.decode_depth(picture)
    metric.update(torch.from_numpy(depth), torch.from_numpy(depth + 1))
    reference.update(depth, depth + 1)
    _same_results(metric.compute(), reference.compute())
    if torch.cuda.is_available():
        np.testing.assert_array_equal(vb.decode_depth(tensor.cuda()), vb.decode_depth(picture))
