"""DiffusersGenerator on tiny random-weight pipelines (tests/tiny_pipelines.py), one per preset's
pipeline class, run by the real diffusers code on the CPU; LoRA adapters saved and loaded as a
fine-tuning script would; a pipeline saved to disk and loaded by path; the errors a user meets.

These need torch and diffusers (``pip install ".[test,diffusers]"``). They are skipped where those
are missing, except when VISION_BANANA_REQUIRE_DIFFUSERS=1 (set by .ci/run), where a missing
package fails the run instead. The GPU tests at the end run only where CUDA is.
"""

from __future__ import annotations

import os
import re
import sys

import numpy as np
import pytest
from PIL import Image

if os.environ.get("VISION_BANANA_REQUIRE_DIFFUSERS") == "1":
    import diffusers
    import torch
else:
    torch = pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")

import tiny_pipelines
import vision_banana as vb
from vision_banana.backends.diffusers import DEFAULT_PRESET, PRESETS, DiffusersGenerator
from vision_banana.errors import GeneratorError, InvalidArgumentError, InvalidTypeError
from vision_banana.resolution import generation_size

NAMES = list(PRESETS)
SIZE = (32, 48)  # (height, width) asked of the tiny models: small, and not square


@pytest.fixture(autouse=True)
def _small_qwen_inputs(monkeypatch):
    # QwenImageEditPlusPipeline encodes its input at fixed sizes (a megapixel for the VAE,
    # 384 x 384 for the vision-language encoder), module constants that cost minutes in CPU
    # convolutions even for a tiny VAE; shrink them, everything else runs as shipped.
    from diffusers.pipelines.qwenimage import pipeline_qwenimage_edit_plus as qwen

    monkeypatch.setattr(qwen, "VAE_IMAGE_SIZE", 64 * 64)
    monkeypatch.setattr(qwen, "CONDITION_IMAGE_SIZE", 56 * 56)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)


def tiny_generator(name: str, **kwargs) -> DiffusersGenerator:
    options = {
        "device": "cpu",
        "steps": 2,
        "size": SIZE,
        "call_kwargs": tiny_pipelines.CALL_KWARGS[name],
        "preset": name,
    }
    options.update(kwargs)
    return DiffusersGenerator(pipeline=tiny_pipelines.BUILDERS[name](), **options)


def pixels(picture: Image.Image) -> np.ndarray:
    return np.asarray(picture)


# --- presets -----------------------------------------------------------------------------------


def test_presets_name_installed_pipeline_classes():
    assert DEFAULT_PRESET == "flux2-klein-4b"
    assert {p.model_id for p in PRESETS.values()} == {
        "black-forest-labs/FLUX.2-klein-4B",
        "Qwen/Qwen-Image-Edit-2511",
        "black-forest-labs/FLUX.1-Kontext-dev",
        "timbrooks/instruct-pix2pix",
    }
    for preset in PRESETS.values():
        assert hasattr(diffusers, preset.pipeline_class), preset.pipeline_class


@pytest.mark.parametrize("name", NAMES)
def test_preset_settings_follow_the_model_and_the_pipeline_class(name):
    by_name = DiffusersGenerator(name)
    by_id = DiffusersGenerator(PRESETS[name].model_id)
    named = DiffusersGenerator(pipeline=tiny_pipelines.BUILDERS[name](), preset=name)
    loaded = tiny_pipelines.BUILDERS[name]()
    loaded.register_to_config(_name_or_path=PRESETS[name].model_id)  # as from_pretrained does
    by_origin = DiffusersGenerator(pipeline=loaded)
    assert by_name.preset is by_id.preset is named.preset is by_origin.preset is PRESETS[name]
    assert by_name.model_id == by_id.model_id == PRESETS[name].model_id


def test_other_weights_get_no_preset_unless_asked():
    # Same pipeline class as a preset, other weights (FLUX.2 klein base wants 50 steps, not 4).
    assert DiffusersGenerator("black-forest-labs/FLUX.2-klein-base-4B").preset is None
    assert DiffusersGenerator(pipeline=tiny_pipelines.flux2_klein()).preset is None
    assert DiffusersGenerator("me/my-klein-finetune", preset="flux2-klein-4b").preset.steps == 4
    with pytest.raises(InvalidArgumentError, match="preset must be one of flux2-klein-4b, "):
        DiffusersGenerator(preset="flux3")


# --- generation with each pipeline class -------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_each_pipeline_class_answers_a_repeatable_picture(name, photo):
    generator = tiny_generator(name)
    first = generator.generate(photo, vb.depth_prompt(), seed=1)
    assert isinstance(first, Image.Image)
    assert first.mode == "RGB"
    assert (first.height, first.width) == SIZE
    again = generator.generate(photo, vb.depth_prompt(), seed=1)
    other = generator.generate(photo, vb.depth_prompt(), seed=2)
    np.testing.assert_array_equal(pixels(again), pixels(first))
    assert not np.array_equal(pixels(other), pixels(first))


def test_generate_batch_keeps_order_and_seeds(photo):
    generator = tiny_generator(DEFAULT_PRESET)
    flipped = photo[:, ::-1]
    batch = generator.generate_batch([photo, flipped], vb.depth_prompt(), seeds=[3, 4])
    assert len(batch) == 2
    np.testing.assert_array_equal(
        pixels(batch[1]), pixels(generator.generate(flipped, vb.depth_prompt(), seed=4))
    )


@pytest.mark.parametrize("name", NAMES)
def test_lora_adapter_is_loaded_and_scaled(name, photo, tmp_path):
    adapter = tiny_pipelines.lora_adapter(tiny_pipelines.BUILDERS[name](), tmp_path)
    plain = tiny_generator(name).generate(photo, "depth", seed=5)
    tuned = tiny_generator(name, lora=adapter).generate(photo, "depth", seed=5)
    muted = tiny_generator(name, lora=str(adapter), lora_scale=0.0).generate(photo, "depth", seed=5)
    assert not np.array_equal(pixels(tuned), pixels(plain))
    np.testing.assert_array_equal(pixels(muted), pixels(plain))


def test_loads_a_saved_pipeline_by_path(photo, tmp_path):
    pipeline = tiny_pipelines.flux2_klein()
    pipeline.save_pretrained(tmp_path)
    options = {"device": "cpu", "steps": 2, "size": SIZE}
    options["call_kwargs"] = tiny_pipelines.CALL_KWARGS["flux2-klein-4b"]
    from_disk = DiffusersGenerator(str(tmp_path), load_kwargs={"local_files_only": True}, **options)
    in_memory = DiffusersGenerator(pipeline=pipeline, **options)
    assert from_disk.preset is None
    assert type(from_disk.load().pipeline).__name__ == "Flux2KleinPipeline"
    # The same weights and noise: the same picture, up to float rounding (weights read from
    # disk may take other kernels than the ones built in memory).
    np.testing.assert_allclose(
        pixels(from_disk.generate(photo, "depth", seed=7)),
        pixels(in_memory.generate(photo, "depth", seed=7)),
        atol=1,
    )


def test_command_line_runs_a_saved_pipeline(photo, tmp_path):
    from vision_banana.cli import main

    tiny_pipelines.instruct_pix2pix().save_pretrained(tmp_path / "model")
    Image.fromarray(photo).save(tmp_path / "photo.png")
    arguments = ["run", "depth", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out")]
    arguments += ["--generator", f"diffusers:{tmp_path / 'model'}", "--device", "cpu"]
    arguments += ["--preset", "instruct-pix2pix"]  # 512 x 512 rather than a megapixel
    assert main([*arguments, "--steps", "2", "--seed", "0"]) == 0
    depth = np.load(tmp_path / "out" / "photo.npy")
    assert depth.shape == photo.shape[:2]
    assert (tmp_path / "out" / "photo.generated.png").exists()


def test_end_to_end_depth_through_the_pipeline(photo):
    result = vb.VisionBanana(tiny_generator(DEFAULT_PRESET)).depth(photo, seed=0)
    assert result.depth.shape == photo.shape[:2]
    assert result.generated.size == (SIZE[1], SIZE[0])
    assert np.isfinite(result.depth).all()


# --- what each call gets -----------------------------------------------------------------------


def test_auto_size_is_about_a_megapixel_at_the_input_aspect():
    photo = Image.new("RGB", (1440, 1051))
    klein = DiffusersGenerator(pipeline=tiny_pipelines.flux2_klein(), preset="flux2-klein-4b")
    arguments = klein.call_arguments(photo, "depth", seed=None)
    assert (arguments["height"], arguments["width"]) == (880, 1200)
    assert arguments["num_inference_steps"] == 4
    assert arguments["guidance_scale"] == 1.0
    assert "generator" not in arguments

    kontext = DiffusersGenerator(
        pipeline=tiny_pipelines.flux1_kontext(), preset="flux1-kontext-dev"
    )
    arguments = kontext.call_arguments(photo, "depth", seed=0)
    assert arguments["max_area"] == arguments["height"] * arguments["width"] == 880 * 1200

    # InstructPix2Pix answers at its input's size: the input is resized to the output size.
    pix2pix = DiffusersGenerator(
        pipeline=tiny_pipelines.instruct_pix2pix(), preset="instruct-pix2pix"
    )
    arguments = pix2pix.call_arguments(photo, "depth", seed=0)
    assert "height" not in arguments
    height, width = generation_size(1051, 1440, pixels=512 * 512, multiple=8)
    assert arguments["image"].size == (width, height)
    assert arguments["image_guidance_scale"] == 1.0


def test_user_settings_override_the_preset():
    qwen = DiffusersGenerator(
        pipeline=tiny_pipelines.qwen_image_edit(), preset="qwen-image-edit-2511"
    )
    arguments = qwen.call_arguments(Image.new("RGB", (64, 64)), "depth", seed=0)
    assert arguments["true_cfg_scale"] == 4.0
    assert arguments["negative_prompt"] == " "
    assert "guidance_scale" not in arguments  # Qwen-Image-Edit has no guidance embedding

    custom = DiffusersGenerator(
        pipeline=tiny_pipelines.qwen_image_edit(),
        preset="qwen-image-edit-2511",
        steps=3,
        guidance=2.0,
        size=None,
        call_kwargs={"true_cfg_scale": 1.5},
    )
    arguments = custom.call_arguments(Image.new("RGB", (64, 64)), "depth", seed=0)
    assert arguments["num_inference_steps"] == 3
    assert arguments["guidance_scale"] == 2.0
    assert arguments["true_cfg_scale"] == 1.5
    assert "height" not in arguments


def test_a_given_pipeline_is_put_in_eval_mode():
    pipeline = tiny_pipelines.flux1_kontext()
    assert pipeline.text_encoder_2.training  # built from components: training mode, dropout on
    DiffusersGenerator(pipeline=pipeline).load()
    assert not pipeline.text_encoder_2.training


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"model": ""}, InvalidTypeError, "model must be a preset name or a model id"),
        ({"cpu_offload": "always"}, InvalidArgumentError, "cpu_offload must be False, True"),
        ({"steps": 0}, InvalidArgumentError, "steps must be a positive integer, got 0"),
        ({"steps": 2.5}, InvalidArgumentError, "steps must be a positive integer"),
        ({"guidance": -1}, InvalidArgumentError, "guidance must be a non-negative number"),
        ({"guidance": float("nan")}, InvalidArgumentError, "guidance must be a non-negative"),
        ({"size": (0, 64)}, InvalidArgumentError, "size must be 'auto', None or (height, width)"),
        ({"size": "large"}, InvalidArgumentError, "size must be 'auto'"),
        ({"lora": 3}, InvalidTypeError, "lora must be a path or a hub id, got int"),
        ({"lora_scale": "high"}, InvalidTypeError, "lora_scale must be a number"),
        ({"lora_scale": float("nan")}, InvalidArgumentError, "lora_scale must be finite, got nan"),
    ],
)
def test_malformed_arguments_are_refused_at_once(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        DiffusersGenerator(**kwargs)


def test_bad_dtype_is_refused_when_loading(photo):
    generator = tiny_generator(DEFAULT_PRESET, dtype="float9")
    with pytest.raises(InvalidArgumentError, match="dtype must be a torch dtype or its name"):
        generator.generate(photo, "depth")


def test_bad_prompt_and_seed(photo):
    generator = tiny_generator(DEFAULT_PRESET)
    with pytest.raises(InvalidTypeError, match="prompt must be text, got list"):
        generator.generate(photo, ["depth"])
    with pytest.raises(InvalidArgumentError, match="seed must be a non-negative integer"):
        generator.generate(photo, "depth", seed=-1)


def test_unreadable_model_is_a_generator_error(tmp_path):
    generator = DiffusersGenerator(str(tmp_path / "no-such-model"), device="cpu")
    with pytest.raises(
        GeneratorError, match=r"could not load .*no-such-model.* with DiffusionPipeline"
    ):
        generator.load()


def test_unreadable_lora_is_a_generator_error(photo, tmp_path):
    (tmp_path / "adapter.safetensors").write_bytes(b"not a safetensors file")
    generator = tiny_generator(DEFAULT_PRESET, lora=tmp_path / "adapter.safetensors")
    with pytest.raises(
        GeneratorError, match=r"could not load the LoRA adapter .*adapter.safetensors"
    ):
        generator.generate(photo, "depth")


def test_a_failing_pipeline_call_is_a_generator_error(photo):
    generator = tiny_generator(DEFAULT_PRESET, call_kwargs={"no_such_argument": 1})
    with pytest.raises(GeneratorError, match="diffusers:Flux2KleinPipeline failed: TypeError"):
        generator.generate(photo, "depth")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine with no GPU")
def test_a_preset_needs_a_gpu_and_says_so():
    generator = DiffusersGenerator()
    assert "a CUDA GPU (or device='cpu', which is slow)" in generator.requirements()
    with pytest.raises(GeneratorError, match=r"needs a CUDA GPU and torch sees none.*device='cpu'"):
        generator.check()
    assert DiffusersGenerator(pipeline=tiny_pipelines.flux2_klein()).check() is None


def test_missing_packages_are_named_with_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)  # what `import diffusers` sees uninstalled
    with pytest.raises(GeneratorError, match=re.escape('pip install "vision-banana[diffusers]"')):
        DiffusersGenerator(device="cpu").check()


# --- on a GPU (the device check; skipped on machines without CUDA) -----------------------------

gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@gpu
@pytest.mark.parametrize("cpu_offload", [False, True])
def test_bf16_on_the_gpu(photo, cpu_offload):
    generator = tiny_generator(
        DEFAULT_PRESET,
        device="cuda",
        dtype="bfloat16",
        cpu_offload=cpu_offload,
    )
    first = generator.generate(photo, vb.depth_prompt(), seed=11)
    again = generator.generate(photo, vb.depth_prompt(), seed=11)
    assert (first.height, first.width) == SIZE
    np.testing.assert_array_equal(pixels(again), pixels(first))
    transformer = generator.pipeline.transformer
    assert next(transformer.parameters()).dtype == torch.bfloat16
