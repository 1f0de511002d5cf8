# Stubs of the Rust extension module. The public, checked API is in depth.py; these functions
# expect arrays already validated and shaped (N, H, W, C) / (N, H, W) by the Python layer.
from typing import Any, final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "FileDecoding",
    "coco_rle",
    "colormap_names",
    "confusion_matrix",
    "decode_depth",
    "decode_files",
    "decode_normals",
    "decode_semantic",
    "depth_sums",
    "encode_depth",
    "encode_normals",
    "extract_instances",
    "extract_instances_batch",
    "intersection_union",
    "mask_iou",
    "max_weight_matching",
    "normal_errors",
    "png_compression_names",
    "power_transform",
    "project",
    "read_png",
    "unit_range_defects",
    "write_png",
]

_Defects = tuple[int, int | None, float | None]

def decode_depth(
    rgb: NDArray[np.generic],
    lam: float,
    c: float,
    max_depth: float,
    colormap: str,
    return_distance: bool,
) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]: ...
def project(
    rgb: NDArray[np.generic], colormap: str, return_distance: bool
) -> tuple[NDArray[np.float64], NDArray[np.float32] | None]: ...
def unit_range_defects(rgb: NDArray[np.floating]) -> _Defects: ...
def encode_depth(
    depth: NDArray[np.floating],
    lam: float | None,
    c: float,
    colormap: str,
    dtype: str,
    invalid: list[float] | None,
) -> tuple[NDArray[np.generic], _Defects]: ...
def power_transform(
    x: NDArray[np.floating], lam: float, c: float, inverse: bool
) -> NDArray[np.floating]: ...
def colormap_names() -> list[str]: ...
def decode_normals(
    rgb: NDArray[np.generic],
    renormalize: bool,
    opencv: bool,
    sky: list[float],
    sky_tolerance: float,
    norm_range: tuple[float, float],
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]: ...
def encode_normals(
    normals: NDArray[np.floating], dtype: str, invalid: list[float] | None
) -> tuple[NDArray[np.generic], _Defects]: ...
def decode_semantic(
    rgb: NDArray[np.generic],
    colors: NDArray[np.float64],
    labels: NDArray[np.uint32],
    max_distance: float | None,
    ignore_index: int,
    return_distance: bool,
) -> tuple[NDArray[np.unsignedinteger], NDArray[np.float32] | None]: ...

_InstanceParams = tuple[list[float], float, int, float, float, float]
_InstanceArrays = tuple[
    NDArray[np.uint32],
    NDArray[np.float64],
    NDArray[np.uint64],
    NDArray[np.uint32],
    NDArray[np.float64],
]

def extract_instances(rgb: NDArray[np.generic], params: _InstanceParams) -> _InstanceArrays: ...
def extract_instances_batch(
    pictures: list[NDArray[np.generic]], params: _InstanceParams
) -> list[_InstanceArrays]: ...
def coco_rle(ids: NDArray[np.uint32], count: int) -> list[str]: ...

# Metrics (vision_banana.metrics): per-image sums and counts.
def confusion_matrix(
    pred: NDArray[np.integer],
    gt: NDArray[np.integer],
    valid: NDArray[np.bool_] | None,
    num_classes: int,
    ignore_index: int,
) -> tuple[NDArray[np.int64], _Defects]: ...
def intersection_union(
    pred: NDArray[np.uint8], gt: NDArray[np.uint8], valid: NDArray[np.bool_] | None
) -> NDArray[np.int64]: ...
def depth_sums(
    pred: NDArray[np.floating],
    gt: NDArray[np.floating],
    valid: NDArray[np.bool_] | None,
    min_depth: float,
    max_depth: float,
) -> NDArray[np.float64]: ...
def normal_errors(
    pred: NDArray[np.floating],
    gt: NDArray[np.floating],
    valid: NDArray[np.bool_] | None,
    histogram: NDArray[np.int64],
) -> NDArray[np.float64]: ...
def mask_iou(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> NDArray[np.float64]: ...
def max_weight_matching(
    weights: NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]: ...

# PNG files (vision_banana.io).
def read_png(
    data: bytes | bytearray, mode: str, max_pixels: int, label: str
) -> NDArray[np.uint8] | NDArray[np.uint16]: ...
def write_png(samples: NDArray[np.uint8] | NDArray[np.uint16], compression: str) -> bytes: ...
def png_compression_names() -> list[str]: ...

# Many files decoded on worker threads (vision_banana.files).
@final
class FileDecoding:
    """Per source, in input order: the decoder's arrays, an exception instance, or the bytes of
    data that is no PNG (for the Python readers)."""

    def __iter__(self) -> FileDecoding: ...
    def __next__(self) -> tuple[Any, ...] | BaseException | bytes: ...
    def __len__(self) -> int: ...

def decode_files(
    sources: list[str | bytes],
    labels: list[str],
    max_pixels: int,
    workers: int,
    *,
    depth: tuple[float, float, float, str, bool] | None = None,
    normals: tuple[bool, bool, list[float], float, tuple[float, float]] | None = None,
    semantic: tuple[NDArray[np.float64], NDArray[np.uint32], float | None, int, bool] | None = None,
    instances: _InstanceParams | None = None,
) -> FileDecoding: ...
