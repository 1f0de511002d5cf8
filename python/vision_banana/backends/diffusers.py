"""`DiffusersGenerator`: open-weight instruction-editing models through diffusers, on a GPU.

Needs the ``diffusers`` extra (``pip install "vision-banana[diffusers]"``: torch, diffusers,
transformers, accelerate, peft). A Vision Banana style model is an image editor: it gets the photo
and the task prompt and paints the answer. Four presets carry each model's pipeline class and the
settings its model card recommends; any other model id (a hub id or a local folder) and any
pipeline already built are accepted too.

- ``flux2-klein-4b`` (default): black-forest-labs/FLUX.2-klein-4B, Flux2KleinPipeline, 4 steps,
  guidance 1.0 (step- and guidance-distilled).
- ``qwen-image-edit-2511``: Qwen/Qwen-Image-Edit-2511, QwenImageEditPlusPipeline, 40 steps, true
  classifier-free guidance 4.0.
- ``flux1-kontext-dev``: black-forest-labs/FLUX.1-Kontext-dev, FluxKontextPipeline, 28 steps,
  guidance 2.5.
- ``instruct-pix2pix``: timbrooks/instruct-pix2pix, StableDiffusionInstructPix2PixPipeline, 10
  steps, guidance 7.5, image guidance 1.0, 512 x 512 pixels.

What this module adds on top of diffusers, and why:

- The output size: about one megapixel at the input's aspect ratio, sides multiples of 16 (SPEC.md
  section 6), the size Vision Banana answers at, instead of each pipeline's own default (a square,
  or the input's size). The decoders work at that size and the pipeline resizes back.
- A user's instruction-tuned weights as a LoRA adapter (``lora=``), loaded once with the model.
- Seeds on a CPU ``torch.Generator``: the same seed gives the same noise on every device.
- The model loads on first use (or :meth:`DiffusersGenerator.load`), so building a generator is
  cheap and :meth:`~DiffusersGenerator.check` can fail early on a missing GPU or package.
- Every failure (a bad model id, an unreadable adapter, out of GPU memory, a pipeline error) is a
  `GeneratorError` that says what went wrong and what to try.

Example:
    >>> from vision_banana.backends.diffusers import DiffusersGenerator
    >>> gen = DiffusersGenerator("flux2-klein-4b", lora="my-vision-banana-lora")  # doctest: +SKIP
    >>> picture = gen.generate(Image.open("room.jpg"), vb.depth_prompt(), seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

from PIL import Image

from .._arrays import check_number, check_positive_int
from ..errors import GeneratorError, InvalidArgumentError, InvalidTypeError
from ..resolution import generation_size
from .base import Generator, as_pil_image, to_rgb_image

__all__ = ["DEFAULT_PRESET", "PRESETS", "DiffusersGenerator", "Preset"]

_INSTALL_HINT = 'pip install "vision-banana[diffusers]"'
_ADAPTER_NAME = "vision_banana"
_CPU_OFFLOAD = (False, True, "model", "sequential")


@dataclass(frozen=True)
class Preset:
    """How to load and call one open-weight editing model.

    Attributes:
        model_id: the Hugging Face hub id of the weights.
        pipeline_class: the diffusers pipeline class that runs them.
        steps: denoising steps (``num_inference_steps``).
        guidance: ``guidance_scale``, or None to leave it out (models without guidance
            embeddings warn when they get one).
        dtype: the torch dtype the weights are meant to run in on a GPU.
        pixels: about how many pixels the output has.
        multiple: both output sides are multiples of this.
        call_kwargs: further arguments the model card passes to the pipeline call.
    """

    model_id: str
    pipeline_class: str
    steps: int
    guidance: float | None
    dtype: str = "bfloat16"
    pixels: int = 1 << 20
    multiple: int = 16
    call_kwargs: Mapping[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    # Step- and guidance-distilled: 4 steps, no classifier-free guidance.
    "flux2-klein-4b": Preset("black-forest-labs/FLUX.2-klein-4B", "Flux2KleinPipeline", 4, 1.0),
    # Classifier-free guidance through true_cfg_scale, which needs a negative prompt.
    "qwen-image-edit-2511": Preset(
        "Qwen/Qwen-Image-Edit-2511",
        "QwenImageEditPlusPipeline",
        40,
        None,
        call_kwargs={"true_cfg_scale": 4.0, "negative_prompt": " "},
    ),
    "flux1-kontext-dev": Preset(
        "black-forest-labs/FLUX.1-Kontext-dev", "FluxKontextPipeline", 28, 2.5
    ),
    # Stable Diffusion 1.5 based: trained at 512 px, runs in float16.
    "instruct-pix2pix": Preset(
        "timbrooks/instruct-pix2pix",
        "StableDiffusionInstructPix2PixPipeline",
        10,
        7.5,
        dtype="float16",
        pixels=512 * 512,
        multiple=8,
        call_kwargs={"image_guidance_scale": 1.0},
    ),
}
DEFAULT_PRESET = "flux2-klein-4b"
"""FLUX.2 [klein] 4B: Apache-2.0 weights, four steps, fits a 24 GB GPU."""


def _import_torch_diffusers() -> tuple[ModuleType, ModuleType]:
    try:
        import diffusers
        import torch
    except ImportError as error:
        raise GeneratorError(
            f"DiffusersGenerator needs torch and diffusers ({error}): {_INSTALL_HINT}"
        ) from error
    return torch, diffusers


def _preset_for(model: str, pipeline: Any, preset: str | None) -> Preset | None:
    """The preset whose settings apply: the one named by ``preset``, else the one ``model`` names
    (by preset name or model id), else, for a built pipeline, the one whose model id it was
    loaded from. Never by pipeline class alone: other weights for the same class (FLUX.2 klein
    base, say) want other settings."""
    if preset is not None:
        if preset not in PRESETS:
            raise InvalidArgumentError(
                f"preset must be one of {', '.join(PRESETS)}, got {preset!r}"
            )
        return PRESETS[preset]
    name: object = model
    if pipeline is not None:
        config = getattr(pipeline, "config", None)
        name = getattr(config, "_name_or_path", None) if config is not None else None
    if isinstance(name, str) and name in PRESETS:
        return PRESETS[name]
    return next((p for p in PRESETS.values() if p.model_id == name), None)


class DiffusersGenerator(Generator):
    """An open-weight image-editing model run by diffusers, as a Vision Banana generator.

    Args:
        model: a preset name (``PRESETS``: ``"flux2-klein-4b"``, the default,
            ``"qwen-image-edit-2511"``, ``"flux1-kontext-dev"``, ``"instruct-pix2pix"``), or any
            hub id or local folder that ``diffusers.DiffusionPipeline.from_pretrained`` loads.
            A preset's model id picks up that preset's settings.
        preset: the preset whose settings (steps, guidance, size, call arguments) apply, for
            other weights of the same kind (a fine-tune saved elsewhere) or a built
            ``pipeline``; default: the one ``model`` names, else none (the pipeline's own
            defaults).
        pipeline: an already built diffusers pipeline to use instead of loading ``model``; it is
            used as it is (moved to ``device`` only when one is given).
        lora: a LoRA adapter (a folder, a ``.safetensors`` file or a hub id) to load into the
            pipeline, such as a user's instruction-tuned weights.
        lora_scale: how strongly the adapter applies (1.0: as trained).
        dtype: torch dtype (``torch.bfloat16`` or its name ``"bfloat16"``, ``"float16"``,
            ``"float32"``); default: the preset's on a GPU, float32 on the CPU.
        device: ``"cuda"``, ``"cuda:1"``, ``"cpu"``...; default: ``"cuda"`` for a loaded model
            (the CPU is possible but slow: ask for it explicitly), left as it is for ``pipeline``.
        cpu_offload: keep the weights in CPU memory and move each model to the GPU when it runs
            (True or ``"model"``: diffusers' ``enable_model_cpu_offload``), or each layer
            (``"sequential"``: least GPU memory, slowest). For GPUs too small for the model.
        steps: denoising steps; default: the preset's, else the pipeline's own default.
        guidance: ``guidance_scale``; default: the preset's, else the pipeline's own default.
        size: the output ``(height, width)``; ``"auto"`` (default): about the preset's pixel
            count (one megapixel) at the input's aspect ratio, sides multiples of 16; None: the
            pipeline's own choice. Pipelines without height and width arguments (InstructPix2Pix
            answers at the input's size) get the input resized to it.
        call_kwargs: further arguments for every pipeline call (over the preset's), e.g.
            ``{"negative_prompt": "blurry"}``.
        load_kwargs: further arguments for ``from_pretrained`` (``revision``, ``variant``,
            ``local_files_only``, ``token``...).

    Raises:
        InvalidArgumentError / InvalidTypeError: an argument is malformed (checked here, before
            anything loads).
    """

    def __init__(
        self,
        model: str = DEFAULT_PRESET,
        *,
        pipeline: Any = None,
        preset: str | None = None,
        lora: str | None = None,
        lora_scale: float = 1.0,
        dtype: Any = None,
        device: str | None = None,
        cpu_offload: bool | str = False,
        steps: int | None = None,
        guidance: float | None = None,
        size: str | tuple[int, int] | None = "auto",
        call_kwargs: Mapping[str, Any] | None = None,
        load_kwargs: Mapping[str, Any] | None = None,
    ):
        if not isinstance(model, str) or not model.strip():
            raise InvalidTypeError(f"model must be a preset name or a model id, got {model!r}")
        if lora is not None and not isinstance(lora, str):
            lora = _path_text(lora, "lora")
        if cpu_offload not in _CPU_OFFLOAD:
            raise InvalidArgumentError(
                f"cpu_offload must be False, True, 'model' or 'sequential', got {cpu_offload!r}"
            )
        if device is not None and not isinstance(device, str):
            device = str(device)  # a torch.device
        if steps is not None:
            steps = check_positive_int(steps, "steps")
        if guidance is not None and (
            isinstance(guidance, bool)
            or not isinstance(guidance, (int, float))
            or not guidance >= 0
        ):
            raise InvalidArgumentError(f"guidance must be a non-negative number, got {guidance!r}")
        self.preset = _preset_for(model, pipeline, preset)
        self.model = model if pipeline is None else type(pipeline).__name__
        self.model_id = PRESETS[model].model_id if model in PRESETS else model
        self.lora = lora
        self.lora_scale = check_number(lora_scale, "lora_scale")
        self.dtype = dtype
        self.device = device
        self.cpu_offload = cpu_offload
        self.steps = steps
        self.guidance = guidance
        self.size = _check_size(size)
        self.call_kwargs = dict(call_kwargs or {})
        self.load_kwargs = dict(load_kwargs or {})
        self.name = f"diffusers:{self.model}"
        self._pipeline = pipeline
        self._prepared = False
        self._lock = threading.Lock()

    # --- requirements -----------------------------------------------------------------------

    def _wants_cuda(self) -> bool:
        if self.device is not None:
            return self.device.startswith("cuda")
        return self._pipeline is None or bool(self.cpu_offload)

    def requirements(self) -> list[str]:
        needs = [f"torch and diffusers ({_INSTALL_HINT})"]
        if self._wants_cuda():
            needs.append("a CUDA GPU (or device='cpu', which is slow)")
        return needs

    def check(self) -> None:
        """Fails early, before any weights load, when torch or diffusers is missing, when the
        pipeline class the preset needs is not in the installed diffusers, or when no CUDA GPU is
        there for a model meant to run on one.

        Raises:
            GeneratorError: what is missing, and how to get it.
        """
        torch, diffusers = _import_torch_diffusers()
        if self.preset is not None and not hasattr(diffusers, self.preset.pipeline_class):
            raise GeneratorError(
                f"{self.model} needs diffusers' {self.preset.pipeline_class}, which diffusers "
                f"{diffusers.__version__} lacks: pip install -U diffusers"
            )
        if self._wants_cuda() and not torch.cuda.is_available():
            raise GeneratorError(
                f"{self.name} needs a CUDA GPU and torch sees none (torch {torch.__version__}); "
                "pass device='cpu' to run on the CPU, which takes minutes per picture"
            )
        if self.lora is not None:
            try:
                import peft  # noqa: F401  (diffusers loads LoRA adapters through peft)
            except ImportError as error:
                raise GeneratorError(
                    f"loading a LoRA adapter needs peft: {_INSTALL_HINT}"
                ) from error

    # --- loading ----------------------------------------------------------------------------

    @property
    def pipeline(self) -> Any:
        """The diffusers pipeline, loaded and prepared (device, offload, LoRA) on first use."""
        with self._lock:
            if not self._prepared:
                self._prepare()
            return self._pipeline

    def load(self) -> DiffusersGenerator:
        """Loads the model now rather than on the first `generate`; returns self."""
        self.pipeline  # noqa: B018  (the property loads)
        return self

    def _torch_dtype(self, torch: Any) -> Any:
        dtype = self.dtype
        if dtype is None:
            on_gpu = self._wants_cuda()
            dtype = self.preset.dtype if (self.preset and on_gpu) else "float32"
        if isinstance(dtype, str):
            resolved = getattr(torch, dtype.removeprefix("torch."), None)
            if not isinstance(resolved, torch.dtype):
                raise InvalidArgumentError(
                    f"dtype must be a torch dtype or its name ('bfloat16', 'float16', "
                    f"'float32'), got {dtype!r}"
                )
            return resolved
        if not isinstance(dtype, torch.dtype):
            raise InvalidTypeError(f"dtype must be a torch dtype or its name, got {dtype!r}")
        return dtype

    def _prepare(self) -> None:
        self.check()
        torch, diffusers = _import_torch_diffusers()
        dtype = self._torch_dtype(torch)
        if self._pipeline is None:
            self._pipeline = self._load_pipeline(diffusers, dtype)
        elif self.dtype is not None:
            self._pipeline.to(dtype=dtype)
        pipe = self._pipeline
        # Inference only: a pipeline built from components (not from_pretrained) is still in
        # training mode, where dropout would make a seed give a different picture each time.
        for component in pipe.components.values():
            if isinstance(component, torch.nn.Module):
                component.eval()
        if self.lora is not None:
            try:
                pipe.load_lora_weights(self.lora, adapter_name=_ADAPTER_NAME)
                pipe.set_adapters([_ADAPTER_NAME], adapter_weights=[self.lora_scale])
            except Exception as error:
                raise GeneratorError(
                    f"{self.name}: could not load the LoRA adapter {self.lora!r}: "
                    f"{type(error).__name__}: {error}"
                ) from error
        device = self.device or ("cuda" if self._wants_cuda() else None)
        try:
            if self.cpu_offload == "sequential":
                pipe.enable_sequential_cpu_offload(device=device)
            elif self.cpu_offload:
                pipe.enable_model_cpu_offload(device=device)
            elif device is not None:
                pipe.to(device)
        except Exception as error:
            raise GeneratorError(
                f"{self.name}: could not move the model to {device}: {type(error).__name__}: "
                f"{error}" + _memory_hint(torch, error)
            ) from error
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        self._prepared = True

    def _load_pipeline(self, diffusers: Any, dtype: Any) -> Any:
        loader = diffusers.DiffusionPipeline
        if self.preset is not None:
            loader = getattr(diffusers, self.preset.pipeline_class)
        from packaging.version import Version  # a dependency of diffusers

        # diffusers 0.40 renamed torch_dtype to dtype, and warns about the old name.
        modern = Version(diffusers.__version__) >= Version("0.40.0.dev0")
        options = {"dtype" if modern else "torch_dtype": dtype, **self.load_kwargs}
        try:
            return loader.from_pretrained(self.model_id, **options)
        except Exception as error:
            raise GeneratorError(
                f"{self.name}: could not load {self.model_id!r} with {loader.__name__}: "
                f"{type(error).__name__}: {error}"
            ) from error

    # --- generation -------------------------------------------------------------------------

    def call_arguments(self, image: Image.Image, prompt: str, seed: int | None) -> dict[str, Any]:
        """The keyword arguments one pipeline call gets for this image, prompt and seed (the
        input image possibly resized, see ``size``)."""
        torch, _ = _import_torch_diffusers()
        pipe = self.pipeline
        accepted = inspect.signature(pipe.__call__).parameters
        arguments: dict[str, Any] = {"prompt": prompt, "output_type": "pil"}
        steps, guidance = self._steps_and_guidance()
        if steps is not None:
            arguments["num_inference_steps"] = steps
        if guidance is not None:
            arguments["guidance_scale"] = guidance
        if seed is not None:
            arguments["generator"] = torch.Generator("cpu").manual_seed(int(seed))
        size = self.output_size(image.height, image.width)
        if size is not None:
            if "height" in accepted and "width" in accepted:
                arguments["height"], arguments["width"] = size
                if "max_area" in accepted:  # Kontext rescales height and width to max_area
                    arguments["max_area"] = size[0] * size[1]
            elif image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.Resampling.BICUBIC)
        arguments["image"] = image
        arguments.update(self._extra_arguments())
        return arguments

    def _steps_and_guidance(self) -> tuple[int | None, float | None]:
        """The steps and guidance of each call: ours, else the preset's, else None (the
        pipeline's own default)."""
        preset = self.preset
        steps = self.steps if self.steps is not None else (preset.steps if preset else None)
        guidance = (
            self.guidance if self.guidance is not None else (preset.guidance if preset else None)
        )
        return steps, guidance

    def _extra_arguments(self) -> dict[str, Any]:
        """The preset's call arguments overridden by ``call_kwargs``."""
        return {**(self.preset.call_kwargs if self.preset else {}), **self.call_kwargs}

    def output_size(self, height: int, width: int) -> tuple[int, int] | None:
        """The (height, width) asked of the model for an input of this size (see ``size``)."""
        if not isinstance(self.size, str):  # not "auto"
            return self.size
        pixels, multiple = (
            (self.preset.pixels, self.preset.multiple) if self.preset else (1 << 20, 16)
        )
        return generation_size(height, width, pixels=pixels, multiple=multiple)

    def generate(self, image: Any, prompt: str, *, seed: int | None = None) -> Image.Image:
        """Edit ``image`` as ``prompt`` says and return the picture.

        Args:
            image: the input photo (a PIL image, an array or a path: see `as_pil_image`).
            prompt: the task prompt, e.g. `vision_banana.depth_prompt()`.
            seed: the noise seed (the same seed, settings and device give the same picture);
                None: fresh noise.

        Raises:
            GeneratorError: loading or running the model failed (with the cause, and a hint
                about ``cpu_offload`` when the GPU ran out of memory).
        """
        if not isinstance(prompt, str):
            raise InvalidTypeError(f"prompt must be text, got {type(prompt).__name__}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise InvalidArgumentError(f"seed must be a non-negative integer, got {seed!r}")
        picture = as_pil_image(image)
        arguments = self.call_arguments(picture, prompt, seed)
        torch, _ = _import_torch_diffusers()
        with self._lock:  # one pipeline, one call at a time: its schedulers keep state
            try:
                output = self._pipeline(**arguments)
            except Exception as error:
                raise GeneratorError(
                    f"{self.name} failed: {type(error).__name__}: {error}"
                    + _memory_hint(torch, error)
                ) from error
        images = getattr(output, "images", None)
        if not images:
            raise GeneratorError(f"{self.name} answered without a picture")
        return to_rgb_image(images[0], f"generator {self.name}")

    def identity(self) -> dict[str, Any]:
        """The base identity plus the weights, the adapter, the steps, the guidance, the size and
        the extra call arguments (by ``repr``): the settings that change the answers."""
        steps, guidance = self._steps_and_guidance()
        return {
            **super().identity(),
            "model": self.model_id,
            "preset": None if self.preset is None else self.preset.model_id,
            "lora": self.lora,
            "lora_scale": self.lora_scale,
            "steps": steps,
            "guidance": guidance,
            "size": list(self.size) if isinstance(self.size, tuple) else self.size,
            "dtype": None if self.dtype is None else str(self.dtype),
            "call_kwargs": {k: repr(v) for k, v in self._extra_arguments().items()},
        }

    def __repr__(self) -> str:
        lora = f", lora={self.lora!r}" if self.lora else ""
        return f"DiffusersGenerator({self.model!r}{lora}, device={self.device!r})"


def _check_size(size: Any) -> Literal["auto"] | tuple[int, int] | None:
    if size is None:
        return None
    if size == "auto":
        return "auto"
    if (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 8 for v in size)
    ):
        return (size[0], size[1])
    raise InvalidArgumentError(
        f"size must be 'auto', None or (height, width) with sides of at least 8, got {size!r}"
    )


def _path_text(value: Any, name: str) -> str:
    path = os.fspath(value) if isinstance(value, os.PathLike) else None
    if isinstance(path, str):
        return path
    raise InvalidTypeError(f"{name} must be a path or a hub id, got {type(value).__name__}")


def _memory_hint(torch: Any, error: BaseException) -> str:
    out_of_memory = getattr(torch, "OutOfMemoryError", ())
    if isinstance(error, out_of_memory) or "out of memory" in str(error).lower():
        return " (the GPU ran out of memory: try cpu_offload=True, or a smaller size)"
    return ""
