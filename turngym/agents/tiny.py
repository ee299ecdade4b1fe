"""Tiny randomly initialised models for tests and smoke runs (nothing is downloaded).

A tiny model shares the default model's tokenizer and chat template, so every code path
(rendering, sampling, masking, training) runs exactly as with a real model, in seconds.
"""

from __future__ import annotations

from pathlib import Path

from turngym.agents.models import DEFAULT_MODEL, resolve_model


def make_tiny_model(
    out_dir: str | Path,
    *,
    tokenizer_from: str = DEFAULT_MODEL,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    seed: int = 0,
) -> Path:
    """Write a tiny Llama-architecture model with a real tokenizer to ``out_dir``.

    Args:
        out_dir: Folder to create (reused if it already holds a model).
        tokenizer_from: Model name or folder whose tokenizer and chat template to copy.
        hidden_size: Width of the model.
        num_layers: Number of transformer blocks.
        num_heads: Attention heads (must divide ``hidden_size``).
        seed: Seed of the random initialisation.

    Returns:
        The folder, loadable with ``AutoModelForCausalLM.from_pretrained``.
    """
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    if (out / "config.json").exists() and any(out.glob("*.safetensors")):
        return out
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(tokenizer_from))
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
