"""A micro Llama (random weights, tiny vocabulary) for tests of numerics, not of language."""

from __future__ import annotations

import torch


def micro_llama(
    vocab_size: int, *, seed: int = 0, attn_implementation: str | None = None
) -> torch.nn.Module:
    """A 2-layer, 32-wide Llama in eval mode, seeded."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
    if attn_implementation is not None:
        config._attn_implementation = attn_implementation
    return LlamaForCausalLM(config).eval()
