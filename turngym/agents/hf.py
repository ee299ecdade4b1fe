"""The transformers backend: batched sampling with a KV cache on CPU or CUDA.

Prompts are left-padded into one batch, prefilled once, then decoded token by token with the
model's cache. Three things keep the work to what sampling needs (docs/speed.md): identical
prompts (a GRPO group) are prefilled once and their cache copied; the prefill computes logits
for the last position only (``logits_to_keep=1``); and a row that has finished leaves the
batch and the cache, instead of decoding padding until the longest row is done. Logprobs are taken from ``log_softmax(logits / temperature)``, the same
quantity the trainer recomputes, so the importance ratio is 1 up to float noise on-policy.

Vision-language models sample the same way: pass each prompt's images
(:class:`~turngym.agents.vision.VisionInputs`) as ``vision=``; the prefill then gets the
pixels (and, for the Qwen2-VL family, multimodal RoPE positions) from
:func:`~turngym.agents.vision.vision_forward_kwargs`, the function the trainer uses too.

What it does NOT cover: continuous batching or paged attention (use the vLLM backend for fast
GPU rollouts), and speculative decoding. The CUDA path (bf16) is written for, but was not
exercised on, a GPU in this repository's CI.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from turngym.agents.backend import Generation, SamplingParams

if TYPE_CHECKING:
    from turngym.agents.vision import VisionInputs


def pick_device(device: str = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)  # raises on names torch does not know
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "CUDA was requested but this torch build or machine has no GPU; use 'cpu' or 'auto'"
        )
    return dev


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """``"auto"`` → bf16 on CUDA GPUs that support it, fp32 elsewhere (bf16 is slower on CPU)."""
    if dtype == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[
            dtype
        ]
    except KeyError:
        raise ValueError(
            f"dtype must be auto, float32, bfloat16 or float16, got {dtype!r}"
        ) from None


def filter_logits(logits_BV: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """Set logits outside the top-k / nucleus to -inf (for sampling only)."""
    if top_k > 0 and top_k < logits_BV.shape[-1]:
        kth = torch.topk(logits_BV, top_k, dim=-1).values[..., -1:]
        logits_BV = logits_BV.masked_fill(logits_BV < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(logits_BV, descending=True, dim=-1)
        cum = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        remove = cum - torch.softmax(sorted_logits, dim=-1) >= top_p  # keep the token reaching p
        sorted_logits = sorted_logits.masked_fill(remove, float("-inf"))
        logits_BV = torch.full_like(logits_BV, float("-inf")).scatter(-1, sorted_idx, sorted_logits)
    return logits_BV


class HFBackend:
    """Samples from a transformers causal LM.

    Args:
        model: A ``PreTrainedModel`` (or peft model) with a causal LM head.
        pad_token_id: Id used for left padding (masked out; any valid id works).
        batch_size: Most prompts decoded together; larger lists are split.
    """

    def __init__(self, model: Any, *, pad_token_id: int, batch_size: int = 32):
        self.model = model
        self.pad_token_id = pad_token_id
        self.batch_size = batch_size
        self._generator: torch.Generator | None = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def max_context(self) -> int | None:
        config = getattr(self.model, "config", None)
        # Composite (vision-language) configs keep the context length in their text config.
        if config is not None and hasattr(config, "get_text_config"):
            config = config.get_text_config()
        return getattr(config, "max_position_embeddings", None)

    def generate(
        self,
        prompts: Sequence[Sequence[int]],
        params: SamplingParams,
        max_new_tokens: Sequence[int] | None = None,
        *,
        vision: Sequence[VisionInputs | None] | None = None,
    ) -> list[Generation]:
        """Sample one continuation per prompt (see :class:`~turngym.agents.backend.Backend`).

        Args:
            vision: For a vision-language model, each prompt's images (None for a prompt
                without images), with spans relative to the prompt's first token.
        """
        if max_new_tokens is not None and len(max_new_tokens) != len(prompts):
            raise ValueError("max_new_tokens must have one entry per prompt")
        if vision is not None and len(vision) != len(prompts):
            raise ValueError("vision must have one entry (VisionInputs or None) per prompt")
        if any(len(p) == 0 for p in prompts):
            raise ValueError("every prompt needs at least one token")
        if params.seed is not None or self._generator is None:
            self._generator = torch.Generator(device=self.device)
            self._generator.manual_seed(params.seed if params.seed is not None else 0)
        caps = [
            min(params.max_new_tokens, m) if max_new_tokens is not None else params.max_new_tokens
            for m in (max_new_tokens or [params.max_new_tokens] * len(prompts))
        ]
        out: list[Generation] = []
        was_training = self.model.training
        self.model.eval()
        try:
            for start in range(0, len(prompts), self.batch_size):
                out.extend(
                    self._generate_batch(
                        prompts[start : start + self.batch_size],
                        caps[start : start + self.batch_size],
                        params,
                        vision[start : start + self.batch_size] if vision is not None else None,
                    )
                )
        finally:
            if was_training:
                self.model.train()
        return out

    @torch.inference_mode()
    def _generate_batch(
        self,
        prompts: Sequence[Sequence[int]],
        caps: Sequence[int],
        params: SamplingParams,
        vision: Sequence[VisionInputs | None] | None = None,
    ) -> list[Generation]:
        device = self.device
        B = len(prompts)
        L = max(len(p) for p in prompts)
        input_ids_BL = torch.full((B, L), self.pad_token_id, dtype=torch.long)
        attention_BL = torch.zeros((B, L), dtype=torch.long)
        for i, p in enumerate(prompts):
            input_ids_BL[i, L - len(p) :] = torch.tensor(list(p), dtype=torch.long)
            attention_BL[i, L - len(p) :] = 1
        input_ids_BL, attention_BL = input_ids_BL.to(device), attention_BL.to(device)
        position_BL = (attention_BL.cumsum(-1) - 1).clamp(min=0)

        from transformers import DynamicCache

        image_kwargs: dict[str, Any] = {}
        if vision is not None and any(v is not None and v.images for v in vision):
            from turngym.agents.vision import vision_forward_kwargs

            image_kwargs = vision_forward_kwargs(self.model, input_ids_BL, attention_BL, vision)
            # Multimodal RoPE positions are (3, B, L); decoding continues each row from its
            # last position, as for 1-D positions.
            position_BL = image_kwargs.pop("position_ids", position_BL)
        # Identical prompts (a GRPO group shares one) are prefilled once; the cache and the
        # last logits are then copied to every row that uses them.
        unique_rows: list[int] = []
        first_row: dict[tuple[int, ...], int] = {}
        source_B: list[int] = []
        for i, p in enumerate(prompts):
            key = tuple(p)
            if key not in first_row:
                first_row[key] = len(unique_rows)
                unique_rows.append(i)
            source_B.append(first_row[key])
        share = not image_kwargs and len(unique_rows) < B
        prefill_ids, prefill_attn, prefill_pos = input_ids_BL, attention_BL, position_BL
        if share:
            rows_U = torch.tensor(unique_rows, device=device)
            prefill_ids, prefill_attn = input_ids_BL[rows_U], attention_BL[rows_U]
            prefill_pos = position_BL[rows_U]
        cache = DynamicCache()
        # Only the last position's logits are needed: skip the LM head on the rest of the prompt.
        keep_last = {"logits_to_keep": 1} if _takes_logits_to_keep(self.model) else {}
        logits_BV = self.model(
            input_ids=prefill_ids,
            attention_mask=prefill_attn,
            position_ids=prefill_pos,
            past_key_values=cache,
            use_cache=True,
            **keep_last,
            **image_kwargs,
        ).logits[:, -1, :]
        if share:
            expand_B = torch.tensor(source_B, device=device)
            cache.batch_select_indices(expand_B)
            logits_BV = logits_BV[expand_B]
        tokens: list[list[int]] = [[] for _ in range(B)]
        logprobs: list[list[float]] = [[] for _ in range(B)]
        stopped = [False] * B
        stop_set = set(params.stop_token_ids)
        # rows_A[k] is the original index of the k-th row still decoding; finished rows leave
        # the batch (and the KV cache) instead of decoding padding until the longest is done.
        rows_A = list(range(B))
        caps_A = list(caps)
        position_A1 = position_BL[..., -1:]
        for t in range(max(caps)):
            logits_AV = logits_BV.float()
            if params.temperature == 0:
                logp_AV = torch.log_softmax(logits_AV, dim=-1)
                next_A = logits_AV.argmax(dim=-1)
            else:
                scaled_AV = logits_AV / params.temperature
                logp_AV = torch.log_softmax(scaled_AV, dim=-1)
                probs_AV = torch.softmax(
                    filter_logits(scaled_AV, params.top_k, params.top_p), dim=-1
                )
                next_A = torch.multinomial(probs_AV, 1, generator=self._generator).squeeze(-1)
            chosen_A = logp_AV.gather(-1, next_A[:, None]).squeeze(-1)
            next_list, chosen_list = next_A.tolist(), chosen_A.tolist()
            keep: list[int] = []
            for k, i in enumerate(rows_A):
                tokens[i].append(next_list[k])
                logprobs[i].append(chosen_list[k])
                if next_list[k] in stop_set:
                    stopped[i] = True
                elif caps_A[k] > t + 1:
                    keep.append(k)
            if not keep:
                break
            if len(keep) < len(rows_A):
                keep_A = torch.tensor(keep, device=device)
                cache.batch_select_indices(keep_A)
                attention_BL = attention_BL[keep_A]
                position_A1 = position_A1[..., keep_A, :]
                next_A = next_A[keep_A]
                rows_A = [rows_A[k] for k in keep]
                caps_A = [caps_A[k] for k in keep]
            attention_BL = torch.cat([attention_BL, attention_BL.new_ones((len(rows_A), 1))], dim=1)
            position_A1 = position_A1 + 1
            logits_BV = self.model(
                input_ids=next_A[:, None],
                attention_mask=attention_BL,
                position_ids=position_A1,
                past_key_values=cache,
                use_cache=True,
            ).logits[:, -1, :]
        return [
            Generation(
                token_ids=tuple(tokens[i]),
                logprobs=tuple(logprobs[i]),
                finish_reason="stop" if stopped[i] else "length",
            )
            for i in range(B)
        ]


def _takes_logits_to_keep(model: Any) -> bool:
    """Whether the (possibly peft-wrapped) model's forward accepts ``logits_to_keep``."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        return "logits_to_keep" in inspect.signature(base.forward).parameters
    except (TypeError, ValueError):
        return False
