"""`ReferenceGenerator`: a stand-in for a model that renders ground truth. It is not a model.

It is given the ground truth up front (depth, normals, labels, masks, instance ids, or a callback
that looks them up), reads the task and the colours from the prompt, and answers with the exact
target picture the package's encoders make: the picture a perfect Vision Banana model would
draw. Optionally it degrades that picture the way real generators do (SPEC.md section 6): the
answer comes at about one megapixel with both sides multiples of 16, goes through JPEG, and
carries noise and a slight colour drift. Use it for tests, demos, and to measure how much of an
error budget the decoders themselves spend.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from ..depth import encode_depth
from ..errors import GeneratorError, InvalidArgumentError, InvalidTypeError, VisionBananaError
from ..instances import encode_instances
from ..normals import encode_normals
from ..prompts import parse_mapping
from ..resize import resize_depth, resize_labels, resize_normals
from ..resolution import generation_size
from .base import Generator, as_pil_image

__all__ = ["Degradation", "ReferenceGenerator", "generation_size"]

_SKY = (255, 0, 255)  # the colour the model paints where there is no surface (SPEC.md section 2)
_FAR = (255, 255, 255)  # infinitely far on the cube walk
_TRUTH_KEYS = ("depth", "normals", "labels", "classes", "masks", "instances")


@dataclass(frozen=True)
class Degradation:
    """How `ReferenceGenerator` spoils its exact target, in the order applied.

    Attributes:
        resample: render at `generation_size` of the ground truth (about ``pixels`` pixels,
            sides multiples of 16) instead of the ground truth's own size. The ground truth is
            resized (nearest for labels, bilinear for depth and normals) and then encoded, so
            the picture has crisp colours at the new size, as a model's answer has.
        pixels: the target pixel count when resampling.
        color_drift: each channel is offset by a value drawn uniformly in
            ``[-color_drift, color_drift]`` (8-bit units), the same over the whole picture.
        noise_sigma: standard deviation of per-pixel gaussian noise, 8-bit units.
        jpeg_quality: JPEG quality 1-95 of the final round trip; None: no JPEG.
    """

    resample: bool = True
    pixels: int = 1 << 20
    color_drift: float = 2.0
    noise_sigma: float = 1.5
    jpeg_quality: int | None = 92

    def __post_init__(self) -> None:
        for name in ("color_drift", "noise_sigma"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise InvalidArgumentError(f"{name} must be a number >= 0, got {value!r}")
        quality = self.jpeg_quality
        if quality is not None and (
            isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 95
        ):
            raise InvalidArgumentError(
                f"jpeg_quality must be an integer 1-95 or None, got {quality!r}"
            )
        if isinstance(self.pixels, bool) or not isinstance(self.pixels, int) or self.pixels < 256:
            raise InvalidArgumentError(f"pixels must be an integer >= 256, got {self.pixels!r}")


def _fingerprint(value: Any, digest: Any) -> None:
    """Feeds ground truth (arrays, names, mappings of them) into a hashlib digest."""
    if isinstance(value, Mapping):
        for key in sorted(value, key=str):
            digest.update(f"{key}:".encode())
            _fingerprint(value[key], digest)
    elif value is not None:
        array = np.ascontiguousarray(np.asarray(value))
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())


def _key(name: str) -> str:
    """Names compared the way prompts write them: case and a leading article do not matter."""
    return re.sub(r"^(?:the|an?)\s+", "", " ".join(name.lower().split()))


class ReferenceGenerator(Generator):
    """A stand-in generator that renders the ground truth it was given; **not a model**.

    It answers each prompt with the target picture the package's encoders make from the ground
    truth (what a perfect model would draw), optionally degraded like a real generator's answer
    (see `Degradation`). The input image is not looked at, except by ``truth``.

    The task is read from the prompt: the depth and normals prompts by the wording of
    `depth_prompt` and `normals_prompt` ("depth map", "surface normal"); segmentation prompts by
    `parse_mapping`, which gives the colours to paint: an instance prompt ("Each <class> is
    colored differently") paints ``instances[<class>]`` with `encode_instances`' distinct
    colours; any other mapping paints each named class (semantic) or expression (referring) in
    its colour on the prompt's background. A class the ground truth does not hold is absent from
    the picture, as it is from the scene.

    Args:
        depth: (H, W) planar depth in metres; non-finite pixels are painted white (infinitely far).
        normals: (H, W, 3) normals in the paper's camera frame; zero or non-finite vectors are
            painted sky magenta.
        labels: (H, W) integer label map, label i being ``classes[i]``; other values are
            background.
        classes: the class names of ``labels``.
        masks: {name: (H, W) bool mask} for classes or referring expressions.
        instances: {class: (H, W) integer id map, 0 = background}, or one id map used for every
            class.
        truth: instead of the above, a function ``truth(image, prompt)`` returning a mapping with
            any of those keys, for when the ground truth depends on the input image.
        degrade: False (the exact picture at the ground truth's size), True (the default
            `Degradation`) or a `Degradation`.
        seed: seed of the degradation's randomness when ``generate`` gets none.

    Example:
        >>> import numpy as np, vision_banana as vb
        >>> depth = np.full((48, 64), 2.0, np.float32)
        >>> gen = ReferenceGenerator(depth=depth)
        >>> picture = gen.generate(np.zeros((48, 64, 3), np.uint8), vb.depth_prompt())
        >>> float(vb.decode_depth(np.asarray(picture)).mean().round(2))
        2.0
    """

    name = "reference"

    def __init__(
        self,
        *,
        depth: Any = None,
        normals: Any = None,
        labels: Any = None,
        classes: Sequence[str] | None = None,
        masks: Mapping[str, Any] | None = None,
        instances: Mapping[str, Any] | Any = None,
        truth: Callable[[Image.Image, str], Mapping[str, Any]] | None = None,
        degrade: bool | Degradation | None = False,
        seed: int = 0,
    ):
        given = {
            "depth": depth,
            "normals": normals,
            "labels": labels,
            "classes": classes,
            "masks": masks,
            "instances": instances,
        }
        if truth is not None and any(v is not None for v in given.values()):
            raise InvalidArgumentError("pass either truth= or the ground truth arrays, not both")
        if truth is not None and not callable(truth):
            raise InvalidTypeError(f"truth must be callable, got {type(truth).__name__}")
        if truth is None and all(v is None for v in given.values()):
            raise InvalidArgumentError(
                "ReferenceGenerator needs ground truth: depth=, normals=, labels= with classes=, "
                "masks=, instances= or truth="
            )
        if (labels is None) != (classes is None):
            raise InvalidArgumentError("labels= and classes= go together: pass both or neither")
        if isinstance(degrade, Degradation) or degrade is None:
            self.degradation = degrade
        elif degrade is True or degrade is False:
            self.degradation = Degradation() if degrade else None
        else:
            raise InvalidTypeError(
                f"degrade must be True, False or a Degradation, got {type(degrade).__name__}"
            )
        self.seed = int(seed)
        self._truth = truth
        self._given = given

    def generate(self, image: Any, prompt: str, *, seed: int | None = None) -> Image.Image:
        if not isinstance(prompt, str):
            raise InvalidTypeError(f"prompt must be text, got {type(prompt).__name__}")
        picture = as_pil_image(image)
        if self._truth is not None:
            try:
                found = self._truth(picture, prompt)
            except VisionBananaError:
                raise
            except Exception as error:
                raise GeneratorError(
                    f"the reference generator's truth() failed: {type(error).__name__}: {error}"
                ) from error
            if not isinstance(found, Mapping):
                raise GeneratorError(
                    f"the reference generator's truth() must return a mapping, "
                    f"got {type(found).__name__}"
                )
            unknown = sorted(set(found) - set(_TRUTH_KEYS))
            if unknown:
                raise GeneratorError(
                    f"truth() returned unknown keys {unknown}; expected some of {_TRUTH_KEYS}"
                )
            truth = {k: found.get(k) for k in _TRUTH_KEYS}
        else:
            truth = self._given
        rng = np.random.default_rng(self.seed if seed is None else seed)
        target = self._render(truth, prompt)
        if self.degradation is not None:
            target = self._spoil(target, rng)
        return Image.fromarray(target, "RGB")

    def identity(self) -> dict[str, Any]:
        """The base identity plus the degradation, the seed and the ground truth: a digest of
        the arrays given, or the ``truth`` function's name (what it reads is not seen)."""
        if self._truth is not None:
            module = getattr(self._truth, "__module__", None) or type(self._truth).__module__
            name = getattr(self._truth, "__qualname__", type(self._truth).__qualname__)
            truth = f"{module}.{name}"
        else:
            digest = hashlib.sha256()
            _fingerprint(self._given, digest)
            truth = digest.hexdigest()
        degradation = self.degradation
        return {
            **super().identity(),
            "degrade": None if degradation is None else dataclasses.asdict(degradation),
            "seed": self.seed,
            "truth": truth,
        }

    # --- rendering ------------------------------------------------------------------------------

    def _size(self, height: int, width: int) -> tuple[int, int] | None:
        d = self.degradation
        if d is None or not d.resample:
            return None
        size = generation_size(height, width, pixels=d.pixels)
        return None if size == (height, width) else size

    def _render(self, truth: Mapping[str, Any], prompt: str) -> np.ndarray:
        lowered = prompt.lower()
        if "depth map" in lowered:
            return self._depth(self._need(truth, "depth", "a depth prompt"))
        if "surface normal" in lowered:
            return self._normals(self._need(truth, "normals", "a normals prompt"))
        try:
            mapping = parse_mapping(prompt)
        except InvalidArgumentError as error:
            raise GeneratorError(
                f"the reference generator cannot tell the task from the prompt: {error}"
            ) from error
        if mapping.instance_class is not None:
            return self._instances(truth, mapping.instance_class, mapping.background)
        return self._segments(truth, mapping.classes, mapping.background)

    @staticmethod
    def _need(truth: Mapping[str, Any], key: str, what: str) -> Any:
        value = truth.get(key)
        if value is None:
            raise GeneratorError(f"the reference generator got {what} but no {key}= ground truth")
        return value

    def _depth(self, depth: Any) -> np.ndarray:
        array = np.asarray(depth, dtype=np.float32)
        if array.ndim != 2:
            raise InvalidArgumentError(f"depth must have shape (H, W), got {array.shape}")
        size = self._size(*array.shape)
        if size is not None:
            array = resize_depth(array, size)
        return encode_depth(np.where(np.isfinite(array), array, np.inf), invalid=_FAR)

    def _normals(self, normals: Any) -> np.ndarray:
        array = np.asarray(normals, dtype=np.float32)
        if array.ndim != 3 or array.shape[-1] != 3:
            raise InvalidArgumentError(f"normals must have shape (H, W, 3), got {array.shape}")
        size = self._size(*array.shape[:2])
        if size is not None:
            valid = np.all(np.isfinite(array), axis=-1) & (np.abs(array).sum(axis=-1) > 0)
            array, _ = resize_normals(np.where(valid[..., None], array, 0), size, valid=valid)
        return encode_normals(array, invalid=_SKY)

    def _segments(
        self,
        truth: Mapping[str, Any],
        classes: Mapping[str, tuple[int, int, int]],
        background: tuple[int, int, int],
    ) -> np.ndarray:
        layers: dict[str, np.ndarray] = {}
        if truth.get("labels") is not None:
            labels = np.asarray(truth["labels"])
            if labels.ndim != 2 or labels.dtype.kind not in "iu":
                raise InvalidArgumentError(
                    f"labels must be an (H, W) integer array, got {labels.dtype} {labels.shape}"
                )
            for index, name in enumerate(truth["classes"]):
                layers[_key(name)] = labels == index
        for name, mask in (truth.get("masks") or {}).items():
            array = np.asarray(mask)
            if array.ndim != 2:
                raise InvalidArgumentError(f"masks[{name!r}] must be (H, W), got {array.shape}")
            layers[_key(name)] = array.astype(bool)
        if not layers:
            raise GeneratorError(
                "the reference generator got a segmentation prompt but no labels= or masks= "
                "ground truth"
            )
        shapes = {layer.shape for layer in layers.values()}
        if len(shapes) != 1:
            raise InvalidArgumentError(
                f"labels and masks must share one size, got {sorted(shapes)}"
            )
        height, width = shapes.pop()
        size = self._size(height, width) or (height, width)
        picture = np.empty((*size, 3), np.uint8)
        picture[...] = background
        for name, color in classes.items():
            layer = layers.get(_key(name))
            if layer is not None:
                picture[resize_labels(layer, size)] = color
        return picture

    def _instances(
        self, truth: Mapping[str, Any], name: str, background: tuple[int, int, int]
    ) -> np.ndarray:
        given = self._need(truth, "instances", f"an instance prompt for {name!r}")
        if isinstance(given, Mapping):
            by_key = {_key(k): v for k, v in given.items()}
            ids = by_key.get(_key(name))
            if ids is None:
                # No instance of this class in the scene: the model paints only background.
                shape = np.asarray(next(iter(given.values()))).shape if given else (16, 16)
                ids = np.zeros(shape, np.int32)
        else:
            ids = given
        array = np.asarray(ids)
        if array.ndim != 2 or array.dtype.kind not in "iu":
            raise InvalidArgumentError(
                f"instances must be (H, W) integer id maps, got {array.dtype} {array.shape}"
            )
        size = self._size(*array.shape)
        if size is not None:
            array = resize_labels(array, size)
        return encode_instances(array, background=background)

    def _spoil(self, picture: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        d = self.degradation
        assert d is not None
        values = picture.astype(np.float32)
        if d.color_drift:
            values += rng.uniform(-d.color_drift, d.color_drift, size=3).astype(np.float32)
        if d.noise_sigma:
            values += rng.normal(0.0, d.noise_sigma, size=values.shape).astype(np.float32)
        out = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        if d.jpeg_quality is not None:
            buffer = io.BytesIO()
            Image.fromarray(out, "RGB").save(buffer, format="JPEG", quality=d.jpeg_quality)
            with Image.open(buffer) as decoded:
                out = np.asarray(decoded.convert("RGB")).copy()
        return out
