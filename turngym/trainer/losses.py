"""The policy-gradient loss (PPO-clipped surrogate with an optional KL penalty) and the
per-token log-probabilities it needs.

Shapes: ``B`` sequences, ``T`` tokens, ``V`` vocabulary entries. ``mask_BT`` is 1 exactly on
tokens the policy sampled (the trajectory's loss mask, aligned with ``input_ids_BT``).

What this module does NOT cover: value losses, entropy bonuses, or building the batch (padding
and aligning trajectories is the trainer's job).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

__all__ = ["kl_penalty", "policy_loss", "sequence_logprobs"]


def kl_penalty(
    logprobs_BT: Tensor, ref_logprobs_BT: Tensor, estimator: Literal["k1", "k3"] = "k3"
) -> Tensor:
    """Per-token estimate of KL(policy || reference) from samples of the policy.

    Schulman, *Approximating KL Divergence* (2020): with ``log_r = ref - logp``,
    ``k1 = -log_r = logp - ref`` (unbiased, high variance, can be negative) and
    ``k3 = exp(log_r) - log_r - 1`` (unbiased, low variance, always >= 0).

    Args:
        logprobs_BT: Log-probabilities of the sampled tokens under the policy.
        ref_logprobs_BT: Their log-probabilities under the reference policy.
        estimator: ``"k1"`` or ``"k3"``.

    Returns:
        The per-token estimate, shape ``(B, T)``.
    """
    log_ratio_BT = ref_logprobs_BT - logprobs_BT
    if estimator == "k1":
        return -log_ratio_BT
    if estimator == "k3":
        return torch.exp(log_ratio_BT) - log_ratio_BT - 1.0
    raise ValueError(f"unknown KL estimator {estimator!r}; expected 'k1' or 'k3'")


def policy_loss(
    logprobs_BT: Tensor,
    old_logprobs_BT: Tensor,
    advantages_B: Tensor,
    mask_BT: Tensor,
    *,
    clip_eps: float,
    clip_eps_high: float | None = None,
    loss_agg: Literal["token", "sequence"] = "token",
    token_normalizer: float | None = None,
    seq_normalizer: float | None = None,
    ref_logprobs_BT: Tensor | None = None,
    kl_coef: float = 0.0,
    kl_estimator: Literal["k1", "k3"] = "k3",
) -> tuple[Tensor, dict[str, float]]:
    """PPO's clipped surrogate loss over the sampled tokens, plus an optional KL penalty.

    Per token, with ``ratio = exp(logprobs - old_logprobs)`` and the sequence's advantage A::

        loss_tok = -min(ratio * A, clip(ratio, 1 - clip_eps, 1 + clip_eps_high) * A)
                   + kl_coef * kl_tok

    Aggregation over the masked tokens:

    - ``"token"``: ``sum(loss_tok * mask) / token_normalizer``; the default normalizer is this
      batch's ``mask.sum()``. Every token weighs the same (DAPO, Dr. GRPO).
    - ``"sequence"``: each sequence's mean over its masked tokens, summed and divided by
      ``seq_normalizer``; the default is the number of sequences with at least one masked
      token. Every sequence weighs the same (the original GRPO).

    For gradient accumulation over micro-batches, pass the *whole* batch's totals as the
    normalizers (its mask sum, or its number of non-empty sequences): the micro-batch losses
    then sum to the full-batch loss, and their gradients to the full-batch gradient, exactly.

    Positions where the mask is 0 never influence the result, even if their log-probabilities
    are garbage (their log-ratio is replaced by 0 before exponentiating).

    Args:
        logprobs_BT: Log-probabilities of the tokens under the policy being trained (with grad).
        old_logprobs_BT: Their log-probabilities under the behaviour policy (no grad needed).
        advantages_B: One advantage per sequence, broadcast over its tokens.
        mask_BT: 1 on tokens that carry loss, 0 elsewhere (bool, int or float).
        clip_eps: Clip range below 1.
        clip_eps_high: Clip range above 1; ``None`` uses ``clip_eps``.
        loss_agg: ``"token"`` or ``"sequence"``.
        token_normalizer: Denominator of ``"token"`` aggregation (see above).
        seq_normalizer: Denominator of ``"sequence"`` aggregation (see above).
        ref_logprobs_BT: Reference-policy log-probabilities; enables the KL term and metric.
        kl_coef: Weight of the KL penalty (added per token, aggregated like the loss).
        kl_estimator: ``"k1"`` or ``"k3"`` (see :func:`kl_penalty`).

    Returns:
        ``(loss, metrics)``. ``loss`` is a scalar tensor to call ``backward()`` on. Metrics
        (plain floats, computed on this batch only, independent of the normalizers):

        - ``loss/total``: the value of ``loss`` (sums over micro-batches to the full loss).
        - ``loss/policy``: the clipped-surrogate term aggregated with the default normalizers.
        - ``loss/kl``: mean ``kl_tok`` over masked tokens (only with ``ref_logprobs_BT``).
        - ``loss/clip_frac``: fraction of masked tokens whose gradient is cut by the clip.
        - ``loss/ratio_mean``: mean ratio over masked tokens.
        - ``loss/approx_kl``: mean k3 estimate of KL(old || new) over masked tokens.
        - ``loss/tokens``: number of masked tokens (a weight for averaging the others).

    Raises:
        ValueError: On mismatched shapes or an unknown ``loss_agg`` / ``kl_estimator``.
    """
    if logprobs_BT.shape != old_logprobs_BT.shape or logprobs_BT.shape != mask_BT.shape:
        raise ValueError(
            f"policy_loss: logprobs {tuple(logprobs_BT.shape)}, old_logprobs "
            f"{tuple(old_logprobs_BT.shape)} and mask {tuple(mask_BT.shape)} must have one shape"
        )
    if logprobs_BT.dim() != 2 or advantages_B.shape != logprobs_BT.shape[:1]:
        raise ValueError(
            f"policy_loss: expected (B, T) log-probabilities and (B,) advantages, got "
            f"{tuple(logprobs_BT.shape)} and {tuple(advantages_B.shape)}"
        )
    if ref_logprobs_BT is not None and ref_logprobs_BT.shape != logprobs_BT.shape:
        raise ValueError(
            f"policy_loss: ref_logprobs {tuple(ref_logprobs_BT.shape)} must have shape "
            f"{tuple(logprobs_BT.shape)}"
        )
    if loss_agg not in ("token", "sequence"):
        raise ValueError(f"unknown loss_agg {loss_agg!r}; expected 'token' or 'sequence'")
    eps_low = clip_eps
    eps_high = clip_eps if clip_eps_high is None else clip_eps_high

    on_BT = mask_BT.bool()
    mask_f_BT = on_BT.to(logprobs_BT.dtype)
    zero = logprobs_BT.new_zeros(())
    old_BT = old_logprobs_BT.detach().to(logprobs_BT.dtype)
    log_ratio_BT = torch.where(on_BT, logprobs_BT - old_BT, zero)
    ratio_BT = torch.exp(log_ratio_BT)
    adv_BT = advantages_B.detach().to(logprobs_BT.dtype)[:, None].expand_as(ratio_BT)
    surrogate_BT = ratio_BT * adv_BT
    clipped_BT = torch.clamp(ratio_BT, 1.0 - eps_low, 1.0 + eps_high) * adv_BT
    pg_loss_BT = -torch.minimum(surrogate_BT, clipped_BT)

    kl_BT: Tensor | None = None
    if ref_logprobs_BT is not None:
        ref_BT = ref_logprobs_BT.detach().to(logprobs_BT.dtype)
        kl_BT = kl_penalty(logprobs_BT, torch.where(on_BT, ref_BT, logprobs_BT), kl_estimator)
    elif kl_estimator not in ("k1", "k3"):
        raise ValueError(f"unknown KL estimator {kl_estimator!r}; expected 'k1' or 'k3'")
    loss_BT = pg_loss_BT if kl_BT is None or kl_coef == 0.0 else pg_loss_BT + kl_coef * kl_BT

    def aggregate(values_BT: Tensor, tok_norm: float | None, seq_norm: float | None) -> Tensor:
        masked_BT = values_BT * mask_f_BT
        if loss_agg == "token":
            denom = tok_norm if tok_norm is not None else mask_f_BT.sum().clamp(min=1.0)
            return masked_BT.sum() / denom
        tokens_B = mask_f_BT.sum(dim=1)
        seq_mean_B = masked_BT.sum(dim=1) / tokens_B.clamp(min=1.0)
        denom = seq_norm if seq_norm is not None else (tokens_B > 0).sum().clamp(min=1)
        return seq_mean_B.sum() / denom

    loss = aggregate(loss_BT, token_normalizer, seq_normalizer)

    with torch.no_grad():
        n_tokens = mask_f_BT.sum()
        denom = n_tokens.clamp(min=1.0)
        clipped_low_BT = (ratio_BT < 1.0 - eps_low) & (adv_BT < 0)
        clipped_high_BT = (ratio_BT > 1.0 + eps_high) & (adv_BT > 0)
        clip_frac = ((clipped_low_BT | clipped_high_BT) & on_BT).sum() / denom
        metrics = {
            "loss/total": float(loss.detach()),
            "loss/policy": float(aggregate(pg_loss_BT.detach(), None, None)),
            "loss/clip_frac": float(clip_frac),
            "loss/ratio_mean": float((ratio_BT * mask_f_BT).sum() / denom),
            "loss/approx_kl": float((((ratio_BT - 1.0) - log_ratio_BT) * mask_f_BT).sum() / denom),
            "loss/tokens": float(n_tokens),
        }
        if kl_BT is not None:
            metrics["loss/kl"] = float((kl_BT * mask_f_BT).sum() / denom)
    return loss, metrics


def sequence_logprobs(
    model_logits_BTV: Tensor,
    input_ids_BT: Tensor,
    temperature: float = 1.0,
    *,
    chunk_size: int | None = None,
) -> Tensor:
    """Log-probability of each token given its prefix, aligned with ``input_ids_BT``.

    ``logprobs_BT[:, t] = log softmax(logits[:, t - 1] / temperature)[input_ids[:, t]]`` for
    ``t >= 1``; position 0 has no prefix and gets 0.0 (it is never a sampled token). Computed
    as ``gathered logit - logsumexp`` in float32 (bf16 logits are upcast per chunk), so no
    ``(B, T, V)`` log-softmax tensor is materialised in the logits' dtype.

    The temperature must match the one used for sampling, so that the behaviour log-probs
    and these agree on an unchanged policy.

    Args:
        model_logits_BTV: Next-token logits of a causal LM, shape ``(B, T, V)``.
        input_ids_BT: The token ids the logits were computed on, shape ``(B, T)``.
        temperature: Sampling temperature (> 0) the logits are divided by.
        chunk_size: Process this many positions at a time to bound the temporary memory of
            the float32 upcast; ``None`` does all positions at once.

    Returns:
        Float32 log-probabilities, shape ``(B, T)``.
    """
    if model_logits_BTV.dim() != 3 or model_logits_BTV.shape[:2] != input_ids_BT.shape:
        raise ValueError(
            f"sequence_logprobs: logits {tuple(model_logits_BTV.shape)} must be (B, T, V) with "
            f"(B, T) = input_ids {tuple(input_ids_BT.shape)}"
        )
    if temperature <= 0:
        raise ValueError(f"sequence_logprobs: temperature must be > 0, got {temperature}")
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError(f"sequence_logprobs: chunk_size must be > 0, got {chunk_size}")
    B, T, _ = model_logits_BTV.shape
    # logits at t predict token t + 1.
    logits_BSV = model_logits_BTV[:, :-1]
    targets_BS = input_ids_BT[:, 1:]
    S = T - 1
    step = S if chunk_size is None else chunk_size
    pieces: list[Tensor] = [model_logits_BTV.new_zeros((B, 1), dtype=torch.float32)]
    for start in range(0, S, max(step, 1)):
        chunk_BCV = logits_BSV[:, start : start + step].float()
        if temperature != 1.0:
            chunk_BCV = chunk_BCV / temperature
        target_BC = targets_BS[:, start : start + step]
        picked_BC = torch.gather(chunk_BCV, -1, target_BC.unsqueeze(-1)).squeeze(-1)
        pieces.append(picked_BC - torch.logsumexp(chunk_BCV, dim=-1))
    return torch.cat(pieces, dim=1)
