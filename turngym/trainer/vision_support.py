"""What the trainer needs to train a vision-language model (VLM) instead of a text model.

Two functions, so that ``trainer.py`` stays one readable file:

- :func:`load_policy` loads the model folder as a text model (``AutoModelForCausalLM`` with a
  :class:`~turngym.agents.chat.ChatRenderer`) or as a VLM (``AutoModelForImageTextToText``
  with a :class:`~turngym.agents.vision.VisionChatRenderer` over the model's processor),
  whichever the folder's config describes (:func:`~turngym.agents.vision.is_vision_model`).
- :func:`forward_kwargs` gives the extra keyword arguments of a training forward pass over a
  padded batch: the pixels of every image in the batch, and for the Qwen2-VL family the
  multimodal RoPE positions (Wang et al. 2024, "Qwen2-VL"). It is an empty dict for text, so
  every forward can take ``**forward_kwargs(...)`` unconditionally. Recomputed logprobs then
  match the sampler's, because the trainer feeds the model the same pixels and positions the
  sampler saw (the segment's :class:`~turngym.agents.vision.VisionInputs`).

What it does NOT cover: a separate critic model that sees images (the ``critic: model`` option
loads ``AutoModel`` from the folder, a text trunk), sequence packing of rows with images, and
LoRA target modules of VLMs (untested; the default ``q_proj``/``v_proj`` names match both the
language model and, for some families, the vision tower).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from turngym.agents.chat import ChatRenderer
from turngym.agents.vision import (
    VisionChatRenderer,
    VisionInputs,
    is_vision_model,
    load_processor,
    vision_forward_kwargs,
)


def load_policy(
    path: str | Path, dtype: torch.dtype, device: torch.device | str
) -> tuple[Any, Any, ChatRenderer]:
    """Load the policy of a local model folder: a text model or a VLM.

    Args:
        path: A model folder (``config.json``, safetensors weights, tokenizer or processor
            files), e.g. from :func:`turngym.agents.models.resolve_model`.
        dtype: The model's dtype (e.g. from :func:`turngym.agents.hf.pick_dtype`). A VLM's
            renderer keeps pixels in it too: the model casts pixels to its own dtype anyway, so
            a bf16 model's stored trajectories take half the memory and nothing changes.
        device: Where the model goes.

    Returns:
        ``(model, tokenizer_or_processor, renderer)``. For a text model: the
        ``AutoModelForCausalLM``, its tokenizer and a :class:`ChatRenderer`. For a VLM: the
        ``AutoModelForImageTextToText``, its processor (``save_pretrained`` writes what a
        checkpoint needs to be loaded as a VLM again) and a :class:`VisionChatRenderer`. The
        tokenizer is ``renderer.tokenizer`` in both cases (e.g. for ``pad_token_id``).

    Raises:
        ValueError: The folder has no ``config.json``.
        TypeError: ``dtype`` is not a floating torch dtype.
    """
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating torch.dtype (e.g. torch.bfloat16), got {dtype!r}; "
            "turngym.agents.hf.pick_dtype turns a config string into one"
        )
    if is_vision_model(path):
        from transformers import AutoModelForImageTextToText

        processor = load_processor(path)
        model = AutoModelForImageTextToText.from_pretrained(path, dtype=dtype).to(device)
        return model, processor, VisionChatRenderer(processor, pixel_dtype=dtype)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device)
    return model, tokenizer, ChatRenderer(tokenizer)


def forward_kwargs(
    model: Any,
    ids_BT: torch.Tensor,
    attn_BT: torch.Tensor,
    sequences_or_visions: Sequence[Any],
) -> dict[str, torch.Tensor]:
    """Extra keyword arguments of ``model(input_ids=ids_BT, attention_mask=attn_BT, ...)``.

    Args:
        model: The policy (or reference model: the same architecture).
        ids_BT: The padded batch, ``(B, T)`` (left or right padding).
        attn_BT: Its attention mask, 1 on real tokens.
        sequences_or_visions: One entry per row: anything with a ``vision`` attribute (a
            trainer ``Sequence``, a :class:`~turngym.core.trajectory.Segment`), or the
            ``VisionInputs`` itself, or None.

    Returns:
        ``{}`` when no row holds an image (text models, text-only batches); otherwise the
        pixels and, for the Qwen2-VL family, ``mm_token_type_ids`` and the multimodal RoPE
        ``position_ids`` (see :func:`turngym.agents.vision.vision_forward_kwargs`).

    Raises:
        ValueError: The list does not match the batch, or an image's span does not fit its
            row (the records belong to other sequences).
        TypeError: An entry is neither None, a ``VisionInputs`` nor has a ``vision``.
    """
    if len(sequences_or_visions) != ids_BT.shape[0]:
        raise ValueError(
            f"got {len(sequences_or_visions)} sequences for a batch of {ids_BT.shape[0]} rows; "
            "pass the chunk the batch was padded from"
        )
    visions = [_vision_of(item) for item in sequences_or_visions]
    if not any(v is not None and v.images for v in visions):
        return {}
    return vision_forward_kwargs(model, ids_BT, attn_BT, visions)


def _vision_of(item: Any) -> VisionInputs | None:
    if item is None or isinstance(item, VisionInputs):
        return item
    if not hasattr(item, "vision"):
        raise TypeError(
            "forward_kwargs takes sequences with a .vision attribute (trainer Sequence, "
            f"Segment), VisionInputs or None, got {type(item).__name__}"
        )
    vision = item.vision
    if vision is not None and not isinstance(vision, VisionInputs):
        raise TypeError(f".vision must be a VisionInputs or None, got {type(vision).__name__}")
    return vision
