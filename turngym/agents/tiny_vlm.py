"""Tiny randomly initialised vision-language models for tests and smoke runs.

Like :mod:`turngym.agents.tiny`, nothing is downloaded: the config is written here, the
tokenizer is the default model's with the family's image tokens added, and the processor is
the family's real ``transformers`` processor class with an image processor set to tiny sizes
(a 32x32 image becomes 4 image tokens). Every code path of a real VLM runs (template with
image placeholders, processor expansion, vision tower, multimodal RoPE, image tiling), in
seconds on a CPU.

Families:

- ``qwen2_vl``: ``Qwen2VLForConditionalGeneration``, patch 8, 2x2 patch merge, ChatML
  template of Qwen2-VL (``<|vision_start|><|image_pad|><|vision_end|>`` per image).
- ``qwen2_5_vl``: ``Qwen2_5_VLForConditionalGeneration`` (windowed vision attention), same
  processor layout and template.
- ``idefics3``: ``Idefics3ForConditionalGeneration`` (the SmolVLM-Instruct architecture),
  32x32 tiles of 4 tokens, images up to 64 px split into a 2x2 grid plus a global tile,
  a SmolVLM-style ``User:<image>...<end_of_utterance>`` template.

What it does NOT cover: SmolVLM2's ``smolvlm`` model type (it needs torchvision and
``num2words`` for its processor) and videos.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from turngym.agents.models import DEFAULT_MODEL, resolve_model

VLMFamily = Literal["qwen2_vl", "qwen2_5_vl", "idefics3"]
VLM_FAMILIES: tuple[str, ...] = ("qwen2_vl", "qwen2_5_vl", "idefics3")

QWEN2_VL_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""Qwen2-VL's chat template (ChatML; one vision block per image part)."""

IDEFICS3_TEMPLATE = (
    "<|im_start|>"
    "{% for message in messages %}"
    "{{ message['role'] | capitalize }}"
    "{% if message['role'] == 'assistant' or message['content'][0]['type'] == 'image' %}:"
    "{% else %}: {% endif %}"
    "{% for line in message['content'] %}"
    "{% if line['type'] == 'text' %}{{ line['text'] }}"
    "{% elif line['type'] == 'image' %}<image>{% endif %}"
    "{% endfor %}<end_of_utterance>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)
"""SmolVLM's chat template, except that an assistant turn is rendered right after
``Assistant:`` (SmolVLM's own adds a space there that the generation prompt lacks, so a
sampled reply would not be rendered verbatim and every turn would start a new segment)."""

_QWEN_TOKENS = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
_IDEFICS3_TOKENS = [
    "<fake_token_around_image>",
    "<image>",
    "<end_of_utterance>",
    "<global-img>",
    *(f"<row_{i + 1}_col_{j + 1}>" for i in range(6) for j in range(6)),
]


def make_tiny_vlm(
    out_dir: str | Path,
    family: VLMFamily = "qwen2_vl",
    *,
    tokenizer_from: str = DEFAULT_MODEL,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    vision_hidden_size: int = 32,
    seed: int = 0,
) -> Path:
    """Write a tiny random VLM, its processor and chat template to ``out_dir``.

    Args:
        out_dir: Folder to create (reused if it already holds a model).
        family: ``qwen2_vl``, ``qwen2_5_vl`` or ``idefics3``.
        tokenizer_from: Model name or folder whose tokenizer to extend with image tokens.
        hidden_size: Width of the language model.
        num_layers: Blocks of the language model (the vision tower has one).
        num_heads: Attention heads of the language model (``hidden_size / num_heads`` must
            be divisible by 8 for the Qwen families' multimodal RoPE sections).
        vision_hidden_size: Width of the vision tower.
        seed: Seed of the random initialisation.

    Returns:
        The folder: load the model with :func:`turngym.agents.vision.load_vision_model` and
        the processor with :func:`turngym.agents.vision.load_processor`.
    """
    if family not in VLM_FAMILIES:
        raise ValueError(f"family must be one of {VLM_FAMILIES}, got {family!r}")
    if hidden_size % num_heads:
        raise ValueError(f"num_heads ({num_heads}) must divide hidden_size ({hidden_size})")
    out = Path(out_dir)
    if (out / "config.json").exists() and any(out.glob("*.safetensors")):
        return out
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(tokenizer_from))
    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    if family == "idefics3":
        _write_idefics3(out, tokenizer, hidden_size, num_layers, num_heads, vision_hidden_size)
    else:
        _write_qwen(out, family, tokenizer, hidden_size, num_layers, num_heads, vision_hidden_size)
    return out


def _text_config(tokenizer: Any, hidden_size: int, num_layers: int, num_heads: int) -> dict:
    return {
        "vocab_size": len(tokenizer),
        "hidden_size": hidden_size,
        "intermediate_size": hidden_size * 2,
        "num_hidden_layers": num_layers,
        "num_attention_heads": num_heads,
        "num_key_value_heads": num_heads,
        "max_position_embeddings": 4096,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }


def _write_qwen(
    out: Path,
    family: str,
    tokenizer: Any,
    hidden_size: int,
    num_layers: int,
    num_heads: int,
    vision_hidden_size: int,
) -> None:
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    tokenizer.add_special_tokens({"additional_special_tokens": _QWEN_TOKENS})
    tokenizer.chat_template = QWEN2_VL_TEMPLATE
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in _QWEN_TOKENS}
    half_head = hidden_size // num_heads // 2
    if half_head % 4:
        raise ValueError(
            "hidden_size / num_heads must be a multiple of 8 for the multimodal RoPE sections"
        )
    # Multimodal RoPE splits each head's frequencies into temporal / height / width parts.
    section = [half_head // 4, 3 * half_head // 8, half_head - half_head // 4 - 3 * half_head // 8]
    text = _text_config(tokenizer, hidden_size, num_layers, num_heads)
    text["rope_parameters"] = {
        "rope_type": "default",
        "rope_theta": 10000.0,
        "mrope_section": section,
    }
    vision = {
        "depth": 1,
        "hidden_size": hidden_size,
        "num_heads": 2,
        "patch_size": 8,
        "temporal_patch_size": 2,
        "spatial_merge_size": 2,
        "in_channels": 3,
    }
    common = {
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
        "tie_word_embeddings": True,
    }
    if family == "qwen2_vl":
        from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

        vision |= {"embed_dim": vision_hidden_size, "mlp_ratio": 2}
        config = Qwen2VLConfig(text_config=text, vision_config=vision, **common)
        model = Qwen2VLForConditionalGeneration(config)
        processor_class = "Qwen2VLProcessor"
    else:
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

        vision |= {
            "hidden_size": vision_hidden_size,
            "out_hidden_size": hidden_size,
            "intermediate_size": vision_hidden_size * 2,
            "window_size": 32,
            "fullatt_block_indexes": [0],
        }
        config = Qwen2_5_VLConfig(text_config=text, vision_config=vision, **common)
        model = Qwen2_5_VLForConditionalGeneration(config)
        processor_class = "Qwen2_5_VLProcessor"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    # 16x16 .. 64x64 pixels: 1 to 16 image tokens per image (patch 8, 2x2 merge).
    Qwen2VLImageProcessorPil(
        patch_size=8,
        temporal_patch_size=2,
        merge_size=2,
        size={"shortest_edge": 16 * 16, "longest_edge": 64 * 64},
    ).save_pretrained(out)
    # Written by hand: saving the processor object needs its video processor (torchvision).
    (out / "processor_config.json").write_text(
        json.dumps({"processor_class": processor_class}, indent=2) + "\n"
    )


def _write_idefics3(
    out: Path,
    tokenizer: Any,
    hidden_size: int,
    num_layers: int,
    num_heads: int,
    vision_hidden_size: int,
) -> None:
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor
    from transformers.models.idefics3.image_processing_pil_idefics3 import (
        Idefics3ImageProcessorPil,
    )

    tokenizer.add_special_tokens({"additional_special_tokens": _IDEFICS3_TOKENS})
    image_processor = Idefics3ImageProcessorPil(
        size={"longest_edge": 64}, max_image_size={"longest_edge": 32}, do_image_splitting=True
    )
    # 32x32 tiles, 8x8 patches, pixel shuffle by 2: (32 / 8)^2 / 2^2 = 4 tokens per tile.
    processor = Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=4,
        chat_template=IDEFICS3_TEMPLATE,
    )
    text = _text_config(tokenizer, hidden_size, num_layers, num_heads)
    text |= {"model_type": "llama", "tie_word_embeddings": True}
    config = Idefics3Config(
        text_config=text,
        vision_config={
            "hidden_size": vision_hidden_size,
            "intermediate_size": vision_hidden_size * 2,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        scale_factor=2,
        image_token_id=processor.image_token_id,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Idefics3ForConditionalGeneration(config)
    model.save_pretrained(out)
    processor.save_pretrained(out)
