"""Tiny random-weight diffusers pipelines, built from configs, for the DiffusersGenerator tests.

One per preset's pipeline class (FLUX.2 klein, Qwen-Image-Edit-Plus, FLUX.1 Kontext,
InstructPix2Pix), with the same components as the real models at a few thousand parameters, so
that the real diffusers and transformers code runs on a CPU in a second. Nothing is downloaded:
the tokenizers are built in memory, byte-level (one token per byte, no merges), with the special
tokens and chat template each pipeline reads. The configs follow the ones diffusers' own fast
tests use, shrunk further.

Also here: `lora_adapter`, which saves a random LoRA adapter for a pipeline's denoiser the way a
fine-tuning script does, for the LoRA loading tests.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    AutoencoderKLFlux2,
    AutoencoderKLQwenImage,
    FlowMatchEulerDiscreteScheduler,
    Flux2KleinPipeline,
    Flux2Transformer2DModel,
    FluxKontextPipeline,
    FluxTransformer2DModel,
    PNDMScheduler,
    QwenImageEditPlusPipeline,
    QwenImageTransformer2DModel,
    StableDiffusionInstructPix2PixPipeline,
    UNet2DConditionModel,
)
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTokenizer,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2Tokenizer,
    Qwen2VLImageProcessor,
    Qwen2VLProcessor,
    Qwen2VLVideoProcessor,
    Qwen3Config,
    Qwen3ForCausalLM,
    T5Config,
    T5EncoderModel,
    T5Tokenizer,
)
from transformers.convert_slow_tokenizer import bytes_to_unicode

# Byte-level BPE alphabets: one symbol per byte value.
_BYTES = list(bytes_to_unicode().values())
_QWEN_SPECIAL = [
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
]
# What Qwen's chat template does for one user turn (Flux2KleinPipeline and the Qwen-VL
# processor apply it); enable_thinking is accepted and ignored.
_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Call arguments the tiny models need on top of a preset's: a text encoder of two layers has no
# layer 9, 18 or 27 to read; Kontext would otherwise resize the input to a megapixel first.
CALL_KWARGS = {
    "flux2-klein-4b": {"text_encoder_out_layers": (1,), "max_sequence_length": 64},
    "qwen-image-edit-2511": {"max_sequence_length": 64},
    "flux1-kontext-dev": {"max_sequence_length": 48, "_auto_resize": False},
    "instruct-pix2pix": {},
}


def _clip_tokenizer() -> CLIPTokenizer:
    vocab: dict[str, int] = {}
    for token in ["<|startoftext|>", "<|endoftext|>", *_BYTES, *(b + "</w>" for b in _BYTES)]:
        vocab.setdefault(token, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def _clip_text_encoder(tokenizer: CLIPTokenizer) -> CLIPTextModel:
    config = CLIPTextConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        hidden_size=32,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=len(tokenizer),
        projection_dim=32,
    )
    return CLIPTextModel(config)


def _qwen_tokenizer() -> Qwen2Tokenizer:
    vocab = {symbol: index for index, symbol in enumerate(dict.fromkeys(_BYTES))}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[])
    tokenizer.add_special_tokens({"additional_special_tokens": _QWEN_SPECIAL})
    tokenizer.chat_template = _CHAT_TEMPLATE
    return tokenizer


def flux2_klein() -> Flux2KleinPipeline:
    torch.manual_seed(0)
    transformer = Flux2Transformer2DModel(
        patch_size=1,
        in_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=16,
        timestep_guidance_channels=256,
        axes_dims_rope=[4, 4, 4, 4],
        guidance_embeds=False,
    )
    tokenizer = _qwen_tokenizer()
    text_encoder = Qwen3ForCausalLM(
        Qwen3Config(
            hidden_size=16,
            intermediate_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            vocab_size=len(tokenizer),
            max_position_embeddings=512,
            bos_token_id=None,
            eos_token_id=tokenizer.eos_token_id,
        )
    )
    vae = AutoencoderKLFlux2(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",),
        block_out_channels=(4,),
        layers_per_block=1,
        latent_channels=1,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
    )
    return Flux2KleinPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
    )


def qwen_image_edit() -> QwenImageEditPlusPipeline:
    torch.manual_seed(0)
    transformer = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=16,
        out_channels=4,
        num_layers=2,
        attention_head_dim=16,
        num_attention_heads=3,
        joint_attention_dim=16,
        guidance_embeds=False,
        axes_dims_rope=(8, 4, 4),
    )
    z_dim = 4
    vae = AutoencoderKLQwenImage(
        base_dim=z_dim * 6,
        z_dim=z_dim,
        dim_mult=[1, 2, 4],
        num_res_blocks=1,
        temperal_downsample=[False, True],
        latents_mean=[0.0] * z_dim,
        latents_std=[1.0] * z_dim,
    )
    tokenizer = _qwen_tokenizer()
    start, end, pad = tokenizer.convert_tokens_to_ids(_QWEN_SPECIAL[2:])
    config = Qwen2_5_VLConfig(
        text_config={
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
            "rope_scaling": {"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
            "rope_theta": 1e6,
            "vocab_size": len(tokenizer),
            "bos_token_id": None,
            "eos_token_id": tokenizer.eos_token_id,
        },
        vision_config={
            "depth": 2,
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_heads": 2,
            "out_hidden_size": 16,
        },
        vocab_size=len(tokenizer),
        vision_start_token_id=start,
        vision_end_token_id=end,
        image_token_id=pad,
        vision_token_id=pad,
    )
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(),
        video_processor=Qwen2VLVideoProcessor(),
        tokenizer=tokenizer,
        chat_template=_CHAT_TEMPLATE,
    )
    return QwenImageEditPlusPipeline(
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=Qwen2_5_VLForConditionalGeneration(config),
        tokenizer=tokenizer,
        processor=processor,
    )


def flux1_kontext() -> FluxKontextPipeline:
    torch.manual_seed(0)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        axes_dims_rope=[4, 4, 8],
    )
    tokenizer = _clip_tokenizer()
    # A unigram vocabulary of single characters, "▁" marking word starts, as sentencepiece's.
    pieces = "▁abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;'\"()-"
    tokenizer_2 = T5Tokenizer(
        vocab=[("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), *((p, -1.0) for p in pieces)],
        extra_ids=0,
        model_max_length=512,
    )
    text_encoder_2 = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer_2), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4
        )
    )
    vae = AutoencoderKL(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        block_out_channels=(4,),
        layers_per_block=1,
        latent_channels=1,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0609,
        scaling_factor=1.5035,
    )
    return FluxKontextPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=_clip_text_encoder(tokenizer),
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        transformer=transformer,
        vae=vae,
        image_encoder=None,
        feature_extractor=None,
    )


def instruct_pix2pix() -> StableDiffusionInstructPix2PixPipeline:
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=16,
        in_channels=8,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=4,
        norm_num_groups=4,
    )
    # Four blocks, as Stable Diffusion's VAE: latents at 1/8 of the picture's size.
    vae = AutoencoderKL(
        block_out_channels=[4, 4, 8, 8],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=4,
    )
    tokenizer = _clip_tokenizer()
    return StableDiffusionInstructPix2PixPipeline(
        unet=unet,
        scheduler=PNDMScheduler(skip_prk_steps=True),
        vae=vae,
        text_encoder=_clip_text_encoder(tokenizer),
        tokenizer=tokenizer,
        safety_checker=None,
        feature_extractor=None,
        image_encoder=None,
        requires_safety_checker=False,
    )


BUILDERS = {
    "flux2-klein-4b": flux2_klein,
    "qwen-image-edit-2511": qwen_image_edit,
    "flux1-kontext-dev": flux1_kontext,
    "instruct-pix2pix": instruct_pix2pix,
}


def lora_adapter(pipeline, directory: Path, *, rank: int = 4, seed: int = 0) -> Path:
    """Saves a LoRA adapter with random weights for the pipeline's denoiser (its transformer or
    UNet) into ``directory``, as ``save_lora_weights`` writes it after fine-tuning, and returns
    the directory. Both LoRA matrices are random, so the adapter changes the output."""
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    denoiser_name = "transformer" if hasattr(pipeline, "transformer") else "unet"
    denoiser = getattr(pipeline, denoiser_name)
    torch.manual_seed(seed)
    config = LoraConfig(
        r=rank,
        lora_alpha=rank,
        target_modules=["to_q", "to_k", "to_v", "to_out.0"],
        init_lora_weights=False,  # random B as well as A: a visible change
    )
    denoiser.add_adapter(config, adapter_name="trained")
    layers = get_peft_model_state_dict(denoiser, adapter_name="trained")
    type(pipeline).save_lora_weights(directory, **{f"{denoiser_name}_lora_layers": layers})
    denoiser.delete_adapters("trained")
    return directory
