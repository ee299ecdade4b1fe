"""Sequence packing and sparse log-probabilities for the trainer's loss forward.

A GRPO batch is a few sequences of uneven length (a shared prompt, then completions of 5 to
``max_new_tokens`` tokens). Right-padding them to the longest one spends the transformer's
time on pad tokens, and computing ``(B, T, V)`` float32 logits spends the LM head's time (and
memory) on positions that carry no loss: the prompt, tool outputs, padding. This module removes
both wastes and returns exactly what the padded path returns, where it matters:

- :func:`pack_sequences` places sequences into rows of at most ``capacity`` tokens (first fit,
  longest first). Each sequence's ``position_ids`` restart at 0 and no attention mask is passed,
  so transformers (>= 4.53, its ``find_packed_sequence_indices``) builds a block-diagonal causal
  mask: a token attends only to earlier tokens of its own sequence, as in the padded batch. This
  is the packing of Krell et al. 2021, *Efficient Sequence Packing without Cross-contamination*
  (arXiv:2107.02027). Rows are capped at the longest sequence, so attention never costs more
  than in the padded batch.
- :func:`pack_shared_prefix` goes further: sequences with the same context before their first
  sampled token (the G completions of one GRPO prompt) store that context once, followed by
  each sequence's own tokens, under an explicit 4-D mask (a prefix tree). The prompt's forward
  and backward run once per group instead of G times; each sequence still sees exactly its own
  prefix, so values and gradients are unchanged. This is what the trainer uses.
- :func:`masked_logprobs` asks the model for the hidden states of the positions that predict a
  loss-carrying token only (``logits_to_keep`` as a boolean mask), applies the LM head there,
  and returns ``log p(token)`` (and optionally the entropy) scattered back into the padded
  ``(B, L)`` layout the loss functions use. As in TRL's ``selective_log_softmax``, no full
  ``(B, T, V)`` log-softmax is built.

Entries where the loss mask is 0 come back as 0.0: :func:`~turngym.trainer.losses.policy_loss`
never reads them (it replaces them before use), so the loss, its gradient and its metrics are
those of the padded path (checked in ``tests/trainer/test_packing.py``).

What it does NOT cover: models whose attention ignores ``position_ids`` boundaries (packing is
only used for the model types in :data:`PACKABLE_MODEL_TYPES`; others get ``logits_to_keep``
on the ordinary right-padded batch), vision inputs (multimodal RoPE positions and pixel
inputs are not laid out here: use the padded forward), and per-position hidden states for a
value head.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from turngym.trainer.losses import _entropy_chunk

__all__ = [
    "PACKABLE_MODEL_TYPES",
    "PackedBatch",
    "SharedPrefixBatch",
    "masked_logprobs",
    "pack_sequences",
    "pack_shared_prefix",
    "supports_logits_to_keep",
    "supports_packing",
]

PACKABLE_MODEL_TYPES: frozenset[str] = frozenset(
    {"llama", "mistral", "qwen2", "qwen3", "smollm3", "olmo2", "gemma", "phi3"}
)
"""Decoder families whose transformers implementation builds its mask with
``create_causal_mask`` and therefore honours packed ``position_ids`` (no attention mask)."""


@dataclass(frozen=True)
class PackedBatch:
    """Several sequences laid out in rows of at most ``capacity`` tokens."""

    input_ids_RC: Tensor
    """Token ids, ``(rows, capacity)``; the tail of a row is padding."""
    position_ids_RC: Tensor
    """Positions restarting at 0 for every sequence (and for the padding tail of a row)."""
    placement: tuple[tuple[int, int], ...]
    """``(row, column of its first token)`` for each input sequence, in input order."""
    lengths: tuple[int, ...]
    """Number of tokens of each input sequence."""

    @property
    def padding_fraction(self) -> float:
        """Share of the packed tensor's slots that hold padding."""
        total = self.input_ids_RC.numel()
        return 1.0 - sum(self.lengths) / total if total else 0.0


def pack_sequences(
    token_ids: Sequence[Sequence[int]], *, pad_id: int, capacity: int | None = None
) -> PackedBatch:
    """Pack sequences into rows (first fit, longest first), positions restarting per sequence.

    Args:
        token_ids: The sequences, each non-empty.
        pad_id: Token id written into the unused tail of a row (never attended to by a
            sequence, never read back).
        capacity: Most tokens in a row; ``None`` uses the longest sequence, so no row's
            attention is longer than in a right-padded batch.

    Returns:
        The packed batch.

    Raises:
        ValueError: On no sequences, an empty sequence, or a sequence longer than ``capacity``.
    """
    lengths = [len(t) for t in token_ids]
    if not lengths:
        raise ValueError("pack_sequences: no sequences to pack")
    if min(lengths) == 0:
        raise ValueError("pack_sequences: every sequence needs at least one token")
    cap = max(lengths) if capacity is None else capacity
    if max(lengths) > cap:
        raise ValueError(
            f"pack_sequences: a sequence of {max(lengths)} tokens does not fit rows of "
            f"capacity {cap}; raise capacity or leave it None"
        )
    free: list[int] = []  # tokens left in each row
    placement: list[tuple[int, int]] = [(0, 0)] * len(lengths)
    for i in sorted(range(len(lengths)), key=lambda j: -lengths[j]):
        n = lengths[i]
        row = next((r for r, left in enumerate(free) if left >= n), None)
        if row is None:
            free.append(cap)
            row = len(free) - 1
        placement[i] = (row, cap - free[row])
        free[row] -= n
    # Rows are no longer than their content (the longest row sets the width).
    width = max(cap - left for left in free)
    ids_RC = torch.full((len(free), width), pad_id, dtype=torch.long)
    pos_RC = torch.zeros((len(free), width), dtype=torch.long)
    for i, (row, col) in enumerate(placement):
        n = lengths[i]
        ids_RC[row, col : col + n] = torch.tensor(list(token_ids[i]), dtype=torch.long)
        pos_RC[row, col : col + n] = torch.arange(n)
    for row, left in enumerate(free):
        used = cap - left
        if used < width:  # the padding tail is its own "sequence": positions 0, 1, ...
            pos_RC[row, used:] = torch.arange(width - used)
    return PackedBatch(ids_RC, pos_RC, tuple(placement), tuple(lengths))


@dataclass(frozen=True)
class SharedPrefixBatch:
    """Sequences packed into rows, those with a common context stored once (a prefix tree)."""

    input_ids_RC: Tensor
    """Token ids, ``(rows, width)``."""
    position_ids_RC: Tensor
    """Each token's position inside its own sequence."""
    attention_R1CC: Tensor
    """Additive float mask (0 = attend, dtype min = not), ``(rows, 1, width, width)``: a token
    attends to the earlier tokens of its own sequence, shared prefix included."""
    slots: tuple[Tensor, ...]
    """For each sequence, the flat index (``row * width + column``) of each of its tokens."""
    shared_tokens: int
    """Tokens stored once instead of once per sequence."""

    @property
    def padding_fraction(self) -> float:
        """Share of the packed tensor's slots that hold padding."""
        used = sum(len(s) for s in self.slots) - self.shared_tokens
        return 1.0 - used / self.input_ids_RC.numel()


def pack_shared_prefix(
    token_ids: Sequence[Sequence[int]],
    loss_masks: Sequence[Sequence[float | int]],
    *,
    pad_id: int,
    dtype: torch.dtype = torch.float32,
    max_unit_tokens: int = 1024,
) -> SharedPrefixBatch:
    """Pack sequences, storing the context that sequences share once (GRPO's group prompt).

    Sequences whose tokens before their first loss-carrying token (less one: that token's
    logits are needed per sequence) are identical form a cluster: that prefix is laid out once,
    followed by each sequence's own remainder, with positions continuing from the prefix.
    The mask lets every remainder see the prefix and itself only, so each sequence gets the
    hidden states (and gradients) it would get alone, while the prefix is computed once, the
    prefix reuse of Zheng et al. 2024 (*SGLang*, RadixAttention, arXiv:2312.07104) applied to
    the training forward. Clusters (and lone sequences) are then packed into rows as in
    :func:`pack_sequences`.

    Args:
        token_ids: The sequences, each non-empty.
        loss_masks: Their loss masks, aligned with the tokens.
        pad_id: Token id of unused slots.
        dtype: Dtype of the additive mask (the model's).
        max_unit_tokens: Most tokens in one shared-prefix unit (at least the longest
            sequence); a larger cluster is split into several units, each with the prefix.

    Returns:
        The packed batch.

    Raises:
        ValueError: On no sequences, an empty sequence, or a mask not aligned with its tokens.
    """
    if not token_ids:
        raise ValueError("pack_shared_prefix: no sequences to pack")
    clusters: dict[tuple[int, ...], list[int]] = {}
    for i, (ids, mask) in enumerate(zip(token_ids, loss_masks, strict=True)):
        if len(ids) == 0:
            raise ValueError("pack_shared_prefix: every sequence needs at least one token")
        if len(ids) != len(mask):
            raise ValueError(
                f"pack_shared_prefix: sequence {i} has {len(ids)} tokens but a loss mask of "
                f"{len(mask)}; they must be aligned"
            )
        first = next((t for t, m in enumerate(mask) if t > 0 and float(m) != 0.0), len(ids))
        clusters.setdefault(tuple(ids[: first - 1]), []).append(i)
    # A unit is (shared prefix length, members); lone sequences share nothing. A unit grows
    # up to the longest sequence or ``max_unit_tokens``, whichever is larger, so its dense
    # (width x width) mask stays small however many sequences share one prompt.
    limit = max(max(len(t) for t in token_ids), max_unit_tokens)
    units: list[tuple[int, list[int]]] = []
    for prefix, members in clusters.items():
        shared = len(prefix)
        current: list[int] = []
        size = shared
        for i in members:
            if current and size + len(token_ids[i]) - shared > limit:
                units.append((shared, current) if len(current) > 1 else (0, current))
                current, size = [], shared
            current.append(i)
            size += len(token_ids[i]) - shared
        units.append((shared, current) if len(current) > 1 else (0, current))
    sizes = [shared + sum(len(token_ids[i]) - shared for i in members) for shared, members in units]
    cap = max(sizes)
    free: list[int] = []
    unit_place: list[tuple[int, int]] = [(0, 0)] * len(units)
    for u in sorted(range(len(units)), key=lambda k: -sizes[k]):
        row = next((r for r, left in enumerate(free) if left >= sizes[u]), None)
        if row is None:
            free.append(cap)
            row = len(free) - 1
        unit_place[u] = (row, cap - free[row])
        free[row] -= sizes[u]
    width = max(cap - left for left in free)
    R = len(free)
    ids_RC = torch.full((R, width), pad_id, dtype=torch.long)
    pos_RC = torch.zeros((R, width), dtype=torch.long)
    # (unit, branch) of every slot: a token sees earlier slots of its unit whose branch is its
    # own or -1 (the shared prefix). Padding slots get a unit of their own each.
    unit_RC = torch.arange(R * width, dtype=torch.long).view(R, width).neg() - 1
    branch_RC = torch.full((R, width), -1, dtype=torch.long)
    slots: list[Tensor] = [torch.zeros(0, dtype=torch.long)] * len(token_ids)
    shared_total = 0
    for u, (shared, members) in enumerate(units):
        row, col = unit_place[u]
        first_ids = torch.tensor(list(token_ids[members[0]][:shared]), dtype=torch.long)
        ids_RC[row, col : col + shared] = first_ids
        pos_RC[row, col : col + shared] = torch.arange(shared)
        unit_RC[row, col : col + sizes[u]] = u
        prefix_slots = row * width + col + torch.arange(shared)
        at = col + shared
        for b, i in enumerate(members):
            rest = len(token_ids[i]) - shared
            ids_RC[row, at : at + rest] = torch.tensor(list(token_ids[i][shared:]))
            pos_RC[row, at : at + rest] = torch.arange(shared, shared + rest)
            branch_RC[row, at : at + rest] = b
            slots[i] = torch.cat([prefix_slots, row * width + at + torch.arange(rest)])
            at += rest
        shared_total += shared * (len(members) - 1)
    same_unit = unit_RC[:, :, None] == unit_RC[:, None, :]
    causal = pos_RC[:, None, :] <= pos_RC[:, :, None]
    branch_ok = (branch_RC[:, None, :] == branch_RC[:, :, None]) | (branch_RC[:, None, :] == -1)
    allowed_RCC = same_unit & causal & branch_ok
    mask_R1CC = torch.zeros((R, 1, width, width), dtype=dtype)
    mask_R1CC.masked_fill_(~allowed_RCC[:, None], torch.finfo(dtype).min)
    return SharedPrefixBatch(ids_RC, pos_RC, mask_R1CC, tuple(slots), shared_total)


def _base_forward(model: Any) -> Any:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.forward


def supports_logits_to_keep(model: Any) -> bool:
    """Whether the (possibly peft-wrapped) causal LM's ``forward`` takes ``logits_to_keep``."""
    try:
        return "logits_to_keep" in inspect.signature(_base_forward(model)).parameters
    except (TypeError, ValueError):
        return False


def supports_packing(model: Any) -> bool:
    """Whether packed ``position_ids`` (no attention mask) keep sequences apart in ``model``."""
    config = getattr(model, "config", None)
    return (
        getattr(config, "model_type", None) in PACKABLE_MODEL_TYPES
        and supports_logits_to_keep(model)
        and getattr(config, "_attn_implementation", "sdpa") in ("sdpa", "eager")
    )


def masked_logprobs(
    model: Any,
    token_ids: Sequence[Sequence[int]],
    loss_masks: Sequence[Sequence[float | int]],
    *,
    pad_id: int,
    temperature: float = 1.0,
    entropy: bool = False,
    pack: bool = True,
    share_prefix: bool = True,
    device: torch.device | str = "cpu",
) -> tuple[Tensor, Tensor | None, dict[str, float]]:
    """``log p(token | prefix)`` (and entropy) at loss-carrying positions, padded layout.

    Runs ``model`` once, packed (``pack=True``) or right-padded, computing logits only for the
    positions that predict a token whose loss mask is 1. The result equals
    :func:`~turngym.trainer.losses.sequence_logprobs` (and
    :func:`~turngym.trainer.losses.token_entropy`) of the padded forward at those positions,
    and is 0.0 elsewhere. Gradients flow when grad mode is on.

    Args:
        model: A causal LM whose ``forward`` takes ``logits_to_keep`` (see
            :func:`supports_logits_to_keep`); for ``pack=True`` also see
            :func:`supports_packing`.
        token_ids: The sequences.
        loss_masks: One mask per sequence, aligned with its tokens.
        pad_id: Padding token id.
        temperature: Sampling temperature (> 0) the logits are divided by.
        entropy: Also return the entropy of each of those next-token distributions.
        pack: Pack the sequences (:func:`pack_sequences`) instead of right-padding them.
        share_prefix: When packing, store the context that sequences share once
            (:func:`pack_shared_prefix`).
        device: Where the model lives.

    Returns:
        ``(logprobs_BL, entropy_BL or None, stats)``: float32 ``(B, L)`` tensors with ``L`` the
        longest sequence, and ``stats`` with ``padding_fraction`` (of the tensor the model ran
        on), ``logit_positions`` (rows of logits computed) and ``shared_prefix_tokens``
        (tokens not recomputed thanks to prefix sharing).

    Raises:
        ValueError: On mismatched masks, an empty sequence, or ``temperature <= 0``.
    """
    if len(token_ids) != len(loss_masks):
        raise ValueError(
            f"masked_logprobs: {len(token_ids)} sequences but {len(loss_masks)} loss masks"
        )
    for i, (ids, mask) in enumerate(zip(token_ids, loss_masks, strict=True)):
        if len(ids) != len(mask):
            raise ValueError(
                f"masked_logprobs: sequence {i} has {len(ids)} tokens but a loss mask of "
                f"{len(mask)}; they must be aligned"
            )
    if temperature <= 0:
        raise ValueError(f"masked_logprobs: temperature must be > 0, got {temperature}")
    B = len(token_ids)
    L = max((len(t) for t in token_ids), default=0)
    kwargs: dict[str, Any] = {}
    if pack and share_prefix:
        dtype = next(model.parameters()).dtype
        tree = pack_shared_prefix(token_ids, loss_masks, pad_id=pad_id, dtype=dtype)
        ids_RC, slots, padding = tree.input_ids_RC, list(tree.slots), tree.padding_fraction
        kwargs["position_ids"] = tree.position_ids_RC.to(device)
        kwargs["attention_mask"] = tree.attention_R1CC.to(device)
        shared = float(tree.shared_tokens)
    elif pack:
        packed = pack_sequences(token_ids, pad_id=pad_id)
        ids_RC, padding = packed.input_ids_RC, packed.padding_fraction
        width = ids_RC.shape[1]
        slots = [
            row * width + col + torch.arange(n)
            for (row, col), n in zip(packed.placement, packed.lengths, strict=True)
        ]
        kwargs["position_ids"] = packed.position_ids_RC.to(device)  # no mask: block-diagonal
        shared = 0.0
    else:
        if any(len(t) == 0 for t in token_ids):
            raise ValueError("masked_logprobs: every sequence needs at least one token")
        ids_RC = torch.full((B, L), pad_id, dtype=torch.long)
        attn_RC = torch.zeros((B, L), dtype=torch.long)
        for i, ids in enumerate(token_ids):
            ids_RC[i, : len(ids)] = torch.tensor(list(ids), dtype=torch.long)
            attn_RC[i, : len(ids)] = 1
        slots = [i * L + torch.arange(len(ids)) for i, ids in enumerate(token_ids)]
        padding = 1.0 - sum(len(t) for t in token_ids) / max(B * L, 1)
        kwargs["attention_mask"] = attn_RC.to(device)
        shared = 0.0
    # keep marks a slot whose logits predict a loss-carrying token; dest is where that token's
    # log-probability goes in the flattened (B, L) output.
    keep_F = torch.zeros(ids_RC.numel(), dtype=torch.bool)
    dest_F = torch.zeros(ids_RC.numel(), dtype=torch.long)
    targets_F = torch.zeros(ids_RC.numel(), dtype=torch.long)
    for i, mask in enumerate(loss_masks):
        on_T = torch.tensor([float(m) != 0.0 for m in mask], dtype=torch.bool)
        on_T[0] = False  # the first token has no prefix (sequence_logprobs gives it 0.0)
        t_idx = torch.nonzero(on_T).flatten()
        if t_idx.numel() == 0:
            continue
        src = slots[i][t_idx - 1]
        keep_F[src] = True
        dest_F[src] = i * L + t_idx
        targets_F[src] = torch.tensor(list(token_ids[i]), dtype=torch.long)[t_idx]
    stats = {
        "padding_fraction": padding,
        "logit_positions": float(keep_F.sum()),
        "shared_prefix_tokens": shared,
    }
    logprobs_flat = torch.zeros(B * L, dtype=torch.float32, device=device)
    entropy_flat = torch.zeros(B * L, dtype=torch.float32, device=device) if entropy else None
    if not bool(keep_F.any()):
        return logprobs_flat.view(B, L), _view(entropy_flat, B, L), stats
    # use_cache=False matters: with a cache object transformers skips packed-sequence detection
    # and would let packed sequences attend to each other.
    keep_RC = keep_F.view(ids_RC.shape)
    kwargs.update(input_ids=ids_RC.to(device), logits_to_keep=keep_RC.to(device), use_cache=False)
    logits_NV = model(**kwargs).logits
    if logits_NV.dim() == 3:  # some versions keep a leading batch axis of 1
        logits_NV = logits_NV.reshape(-1, logits_NV.shape[-1])
    dest_N = dest_F[keep_F].to(device)
    target_N = targets_F[keep_F].to(device)
    z_NV = logits_NV.float()
    if temperature != 1.0:
        z_NV = z_NV / temperature
    picked_N = z_NV.gather(-1, target_N[:, None]).squeeze(-1)
    logprobs_N = picked_N - torch.logsumexp(z_NV, dim=-1)
    logprobs_flat = logprobs_flat.index_add(0, dest_N, logprobs_N)
    if entropy_flat is not None:
        entropy_flat = entropy_flat.index_add(0, dest_N, _entropy_chunk(logits_NV, temperature))
    return logprobs_flat.view(B, L), _view(entropy_flat, B, L), stats


def _view(flat: Tensor | None, B: int, L: int) -> Tensor | None:
    return None if flat is None else flat.view(B, L)
