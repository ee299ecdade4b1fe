"""The policy-gradient loss (PPO/DAPO token-level or GSPO sequence-level clipping, optional
truncated importance sampling, KL penalty and entropy bonus) and the per-token quantities it
needs (log-probabilities, entropies).

Shapes: ``B`` sequences, ``T`` tokens, ``V`` vocabulary entries. ``mask_BT`` is 1 exactly on
tokens the policy sampled (the trajectory's loss mask, aligned with ``input_ids_BT``).

The log-probabilities involved, and the policies they come from:

- ``logprobs_BT``: the policy being trained, pi_theta, recomputed with gradient.
- ``old_logprobs_BT``: pi_old, the policy the PPO/GSPO ratio is taken against (the
  parameters before this update). Without TIS these are the sampler's log-probabilities.
- ``behaviour_logprobs_BT`` (TIS only): pi_behav, the policy that actually sampled the
  tokens (e.g. a vLLM engine, possibly a few steps stale or numerically different); then
  ``old_logprobs_BT`` must be pi_old recomputed by the trainer.
- ``ref_logprobs_BT``: the frozen reference policy of the KL penalty.

What this module does NOT cover: value losses, per-token advantages (one advantage per
sequence), or building the batch (padding and aligning trajectories is the trainer's job).
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

__all__ = [
    "KL_ESTIMATORS",
    "POLICY_LOSSES",
    "KLEstimator",
    "PolicyLossType",
    "kl_penalty",
    "policy_loss",
    "sequence_logprobs",
    "token_entropy",
]

KLEstimator = Literal["k1", "k2", "k3"]
"""Schulman's per-token KL estimators (see :func:`kl_penalty`)."""
KL_ESTIMATORS: tuple[str, ...] = get_args(KLEstimator)
PolicyLossType = Literal["ppo_clip", "gspo"]
"""Importance-ratio level of :func:`policy_loss`: per token (PPO/DAPO) or per sequence."""
POLICY_LOSSES: tuple[str, ...] = get_args(PolicyLossType)


def kl_penalty(
    logprobs_BT: Tensor, ref_logprobs_BT: Tensor, estimator: KLEstimator = "k3"
) -> Tensor:
    """Per-token estimate of KL(policy || reference) from samples of the policy.

    Schulman, *Approximating KL Divergence* (2020, http://joschu.net/blog/kl-approx.html):
    with ``log_r = ref - logp``,

    - ``k1 = -log_r = logp - ref``: unbiased, high variance, can be negative;
    - ``k2 = 0.5 * log_r**2``: biased but low variance, always >= 0; its gradient
      ``(logp - ref) * grad(logp)`` is, in expectation, the gradient of the reverse KL, which
      is why REINFORCE++ w/ Baseline (Hu et al. 2025, arXiv:2501.03262) uses it as a loss;
    - ``k3 = exp(log_r) - log_r - 1``: unbiased, low variance, always >= 0 (GRPO's choice,
      Shao et al. 2024, arXiv:2402.03300).

    Args:
        logprobs_BT: Log-probabilities of the sampled tokens under the policy.
        ref_logprobs_BT: Their log-probabilities under the reference policy.
        estimator: ``"k1"``, ``"k2"`` or ``"k3"``.

    Returns:
        The per-token estimate, shape ``(B, T)``.

    Raises:
        ValueError: On an unknown estimator.
    """
    log_ratio_BT = ref_logprobs_BT - logprobs_BT
    if estimator == "k1":
        return -log_ratio_BT
    if estimator == "k2":
        return 0.5 * log_ratio_BT.square()
    if estimator == "k3":
        return torch.exp(log_ratio_BT) - log_ratio_BT - 1.0
    raise ValueError(f"unknown KL estimator {estimator!r}; expected one of {KL_ESTIMATORS}")


def policy_loss(
    logprobs_BT: Tensor,
    old_logprobs_BT: Tensor,
    advantages_B: Tensor,
    mask_BT: Tensor,
    *,
    clip_eps: float,
    clip_eps_high: float | None = None,
    loss_type: PolicyLossType = "ppo_clip",
    loss_agg: Literal["token", "sequence"] = "token",
    token_normalizer: float | None = None,
    seq_normalizer: float | None = None,
    ref_logprobs_BT: Tensor | None = None,
    kl_coef: float = 0.0,
    kl_estimator: KLEstimator = "k3",
    behaviour_logprobs_BT: Tensor | None = None,
    tis_cap: float | None = None,
    entropy_BT: Tensor | None = None,
    entropy_coef: float = 0.0,
) -> tuple[Tensor, dict[str, float]]:
    """Clipped policy-gradient loss over the sampled tokens, with optional TIS, KL and entropy.

    Per token, with the sequence's advantage ``A`` and an importance ratio ``ratio``::

        loss_tok = -min(ratio * A, clip(ratio, 1 - clip_eps, 1 + clip_eps_high) * A) * w_tis
                   + kl_coef * kl_tok - entropy_coef * entropy_tok

    The ratio (``loss_type``):

    - ``"ppo_clip"``: ``ratio = exp(logprobs - old_logprobs)`` per token: PPO's clipped
      surrogate (Schulman et al. 2017, *Proximal Policy Optimization Algorithms*,
      arXiv:1707.06347), as used by GRPO. ``clip_eps_high > clip_eps`` is DAPO's decoupled
      "clip-higher" (Yu et al. 2025, *DAPO: An Open-Source LLM Reinforcement Learning System
      at Scale*, arXiv:2503.14476, Sec. 3.1), which leaves low-probability tokens room to grow.
    - ``"gspo"``: the sequence-level ratio of GSPO (Zheng et al. 2025, *Group Sequence Policy
      Optimization*, arXiv:2507.18071, Eq. 7):
      ``s_i = exp(mean over the sequence's masked tokens of (logprobs - old_logprobs))``,
      the length-normalised likelihood ratio, used for every token of sequence ``i``, so a
      whole sequence is clipped or not. With ``loss_agg="sequence"`` this is exactly the
      GSPO objective ``mean_i min(s_i A_i, clip(s_i) A_i)`` with gradient ``A_i grad s_i``
      (also GSPO-token's, since advantages are per sequence); with ``"token"`` each
      sequence's term is weighted by its number of tokens. GSPO's clip ranges are far
      smaller than PPO's (the paper uses 3e-4 below and 4e-4 above 1).

    ``w_tis`` (truncated importance sampling, only with ``behaviour_logprobs_BT`` and
    ``tis_cap``) is ``min(exp(old_logprobs - behaviour_logprobs), tis_cap)``, detached: it
    corrects for tokens sampled by a policy other than pi_old (an inference engine whose
    numerics differ from the trainer's, or a stale copy). Yao et al. 2025, *Your Efficient RL
    Framework Secretly Brings You Off-Policy RL Training*
    (https://fengyao.notion.site/off-policy-rl); following their implementation it
    multiplies the policy-gradient term only, not the KL or entropy terms.

    Aggregation over the masked tokens (the same for every term):

    - ``"token"``: ``sum(loss_tok * mask) / token_normalizer``; the default normalizer is this
      batch's ``mask.sum()``. Every token weighs the same (DAPO, Dr. GRPO).
    - ``"sequence"``: each sequence's mean over its masked tokens, summed and divided by
      ``seq_normalizer``; the default is the number of sequences with at least one masked
      token. Every sequence weighs the same (the original GRPO; GSPO).

    For gradient accumulation over micro-batches, pass the *whole* batch's totals as the
    normalizers (its mask sum, or its number of non-empty sequences): the micro-batch losses
    then sum to the full-batch loss, and their gradients to the full-batch gradient, exactly
    (GSPO's ratio only involves one sequence's own tokens, so this holds for it too, as long
    as a sequence is not split between micro-batches).

    Positions where the mask is 0 never influence the result, even if their log-probabilities
    or entropies are garbage (they are replaced by 0 before use).

    Args:
        logprobs_BT: Log-probabilities of the tokens under the policy being trained (with grad).
        old_logprobs_BT: Their log-probabilities under pi_old, the ratio's denominator (no
            grad needed): the sampler's, or, with TIS, the trainer's own recomputation.
        advantages_B: One advantage per sequence, broadcast over its tokens, or shape
            ``(B, T)``: one per token (GAE, GiGPO; see :mod:`turngym.trainer.credit`).
        mask_BT: 1 on tokens that carry loss, 0 elsewhere (bool, int or float).
        clip_eps: Clip range below 1.
        clip_eps_high: Clip range above 1; ``None`` uses ``clip_eps``.
        loss_type: ``"ppo_clip"`` (token ratio) or ``"gspo"`` (sequence ratio).
        loss_agg: ``"token"`` or ``"sequence"``.
        token_normalizer: Denominator of ``"token"`` aggregation (see above).
        seq_normalizer: Denominator of ``"sequence"`` aggregation (see above).
        ref_logprobs_BT: Reference-policy log-probabilities; enables the KL term and metric.
        kl_coef: Weight of the KL penalty (added per token, aggregated like the loss).
        kl_estimator: ``"k1"``, ``"k2"`` or ``"k3"`` (see :func:`kl_penalty`).
        behaviour_logprobs_BT: Log-probabilities under the policy that sampled the tokens
            (no grad); given together with ``tis_cap``, enables TIS.
        tis_cap: Truncation ``C > 0`` of the TIS weights; requires ``behaviour_logprobs_BT``.
        entropy_BT: Per-token entropy of the policy's next-token distribution, aligned with
            ``logprobs_BT`` (see :func:`token_entropy`), with grad for the bonus.
        entropy_coef: Weight of the entropy bonus (subtracted); > 0 requires ``entropy_BT``.

    Returns:
        ``(loss, metrics)``. ``loss`` is a scalar tensor to call ``backward()`` on. Metrics
        (plain floats, computed on this batch only, independent of the normalizers):

        - ``loss/total``: the value of ``loss`` (sums over micro-batches to the full loss).
        - ``loss/policy``: the clipped-surrogate term (times ``w_tis``) aggregated with the
          default normalizers.
        - ``loss/kl``: mean ``kl_tok`` over masked tokens (only with ``ref_logprobs_BT``).
        - ``loss/entropy``: mean entropy over masked tokens (only with ``entropy_BT``).
        - ``loss/clip_frac``: fraction of masked tokens whose gradient is cut by the clip
          (for GSPO: the tokens of clipped sequences).
        - ``loss/ratio_mean``: mean ratio (token or sequence ratio) over masked tokens.
        - ``loss/approx_kl``: mean k3 estimate of KL(old || new) over masked tokens (always
          from the per-token ratio).
        - ``loss/tis_weight_mean``, ``loss/tis_clip_frac``: mean TIS weight and the fraction
          of masked tokens whose weight was capped (only with TIS).
        - ``loss/tokens``: number of masked tokens (a weight for averaging the others).

    Raises:
        ValueError: On mismatched shapes, an unknown ``loss_type`` / ``loss_agg`` /
            ``kl_estimator``, ``tis_cap`` without ``behaviour_logprobs_BT`` (or the
            reverse), a ``tis_cap <= 0``, or ``entropy_coef > 0`` without ``entropy_BT``.
    """
    shape = logprobs_BT.shape
    if old_logprobs_BT.shape != shape or mask_BT.shape != shape:
        raise ValueError(
            f"policy_loss: logprobs {tuple(shape)}, old_logprobs "
            f"{tuple(old_logprobs_BT.shape)} and mask {tuple(mask_BT.shape)} must have one shape"
        )
    if logprobs_BT.dim() != 2 or advantages_B.shape not in (shape[:1], shape):
        raise ValueError(
            f"policy_loss: expected (B, T) log-probabilities and (B,) or (B, T) advantages, "
            f"got {tuple(shape)} and {tuple(advantages_B.shape)}"
        )
    for name, extra in (
        ("ref_logprobs", ref_logprobs_BT),
        ("behaviour_logprobs", behaviour_logprobs_BT),
        ("entropy", entropy_BT),
    ):
        if extra is not None and extra.shape != shape:
            raise ValueError(
                f"policy_loss: {name} {tuple(extra.shape)} must have shape {tuple(shape)}"
            )
    if loss_type not in POLICY_LOSSES:
        raise ValueError(f"unknown loss_type {loss_type!r}; expected one of {POLICY_LOSSES}")
    if loss_agg not in ("token", "sequence"):
        raise ValueError(f"unknown loss_agg {loss_agg!r}; expected 'token' or 'sequence'")
    if kl_estimator not in KL_ESTIMATORS:
        raise ValueError(f"unknown KL estimator {kl_estimator!r}; expected one of {KL_ESTIMATORS}")
    if (tis_cap is None) != (behaviour_logprobs_BT is None):
        raise ValueError(
            "policy_loss: truncated importance sampling needs both tis_cap and "
            "behaviour_logprobs_BT (pass both, or neither)"
        )
    if tis_cap is not None and not tis_cap > 0:
        raise ValueError(f"policy_loss: tis_cap must be > 0, got {tis_cap}")
    if entropy_coef != 0.0 and entropy_BT is None:
        raise ValueError("policy_loss: entropy_coef != 0 needs entropy_BT (see token_entropy)")
    eps_low = clip_eps
    eps_high = clip_eps if clip_eps_high is None else clip_eps_high

    dtype = logprobs_BT.dtype
    on_BT = mask_BT.bool()
    mask_f_BT = on_BT.to(dtype)
    zero = logprobs_BT.new_zeros(())
    old_BT = old_logprobs_BT.detach().to(dtype)
    log_ratio_BT = torch.where(on_BT, logprobs_BT - old_BT, zero)
    if loss_type == "gspo":
        tokens_B = mask_f_BT.sum(dim=1)
        seq_log_ratio_B = log_ratio_BT.sum(dim=1) / tokens_B.clamp(min=1.0)
        ratio_BT = torch.exp(seq_log_ratio_B)[:, None].expand_as(log_ratio_BT)
    else:
        ratio_BT = torch.exp(log_ratio_BT)
    adv = advantages_B.detach().to(dtype)
    adv_BT = adv if adv.dim() == 2 else adv[:, None].expand_as(ratio_BT)
    surrogate_BT = ratio_BT * adv_BT
    clipped_BT = torch.clamp(ratio_BT, 1.0 - eps_low, 1.0 + eps_high) * adv_BT
    pg_loss_BT = -torch.minimum(surrogate_BT, clipped_BT)

    tis_raw_BT: Tensor | None = None
    if behaviour_logprobs_BT is not None and tis_cap is not None:
        behav_BT = behaviour_logprobs_BT.detach().to(dtype)
        tis_raw_BT = torch.exp(torch.where(on_BT, old_BT - behav_BT, zero))
        pg_loss_BT = pg_loss_BT * tis_raw_BT.clamp(max=tis_cap)

    kl_BT: Tensor | None = None
    if ref_logprobs_BT is not None:
        ref_BT = ref_logprobs_BT.detach().to(dtype)
        kl_BT = kl_penalty(logprobs_BT, torch.where(on_BT, ref_BT, logprobs_BT), kl_estimator)
    loss_BT = pg_loss_BT if kl_BT is None or kl_coef == 0.0 else pg_loss_BT + kl_coef * kl_BT
    ent_BT: Tensor | None = None
    if entropy_BT is not None:
        ent_BT = torch.where(on_BT, entropy_BT.to(dtype), zero)
        if entropy_coef != 0.0:
            loss_BT = loss_BT - entropy_coef * ent_BT

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
        token_ratio_BT = torch.exp(log_ratio_BT)
        approx_kl_BT = (token_ratio_BT - 1.0) - log_ratio_BT
        metrics = {
            "loss/total": float(loss.detach()),
            "loss/policy": float(aggregate(pg_loss_BT.detach(), None, None)),
            "loss/clip_frac": float(clip_frac),
            "loss/ratio_mean": float((ratio_BT * mask_f_BT).sum() / denom),
            "loss/approx_kl": float((approx_kl_BT * mask_f_BT).sum() / denom),
            "loss/tokens": float(n_tokens),
        }
        if kl_BT is not None:
            metrics["loss/kl"] = float((kl_BT * mask_f_BT).sum() / denom)
        if ent_BT is not None:
            metrics["loss/entropy"] = float((ent_BT * mask_f_BT).sum() / denom)
        if tis_raw_BT is not None and tis_cap is not None:
            capped_BT = (tis_raw_BT > tis_cap) & on_BT
            weight_BT = tis_raw_BT.clamp(max=tis_cap) * mask_f_BT
            metrics["loss/tis_weight_mean"] = float(weight_BT.sum() / denom)
            metrics["loss/tis_clip_frac"] = float(capped_BT.sum() / denom)
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


def token_entropy(
    model_logits_BTV: Tensor,
    temperature: float = 1.0,
    *,
    chunk_size: int | None = None,
) -> Tensor:
    """Entropy of the next-token distribution each token was sampled from, aligned like
    :func:`sequence_logprobs`.

    ``entropy_BT[:, t] = H(softmax(logits[:, t - 1] / temperature))`` for ``t >= 1`` (the
    distribution token ``t`` was drawn from, so ``mask_BT`` selects the right entries);
    position 0 gets 0.0. Computed as ``-sum(p * log p)`` in float32 with ``0 * log 0 = 0``,
    so ``-inf`` logits (banned tokens) are fine, values and gradients. The result keeps the
    graph: it is meant for the entropy bonus of :func:`policy_loss` (an exploration
    regulariser as in A3C, Mnih et al. 2016, arXiv:1602.01783, and PPO, Schulman et al.
    2017, arXiv:1707.06347; its collapse in LLM RL is studied by Cui et al. 2025,
    *The Entropy Mechanism of Reinforcement Learning for Reasoning Language Models*,
    arXiv:2505.22617).

    Memory: with ``chunk_size``, ``chunk_size`` positions are upcast at a time and, when a
    gradient is needed, each chunk is recomputed in the backward pass
    (``torch.utils.checkpoint``), so the float32 ``(B, chunk, V)`` temporaries are never all
    alive together; only the scalar entropies are kept.

    Args:
        model_logits_BTV: Next-token logits of a causal LM, shape ``(B, T, V)``.
        temperature: Sampling temperature (> 0) the logits are divided by.
        chunk_size: Positions per chunk; ``None`` does all positions at once (no recompute).

    Returns:
        Float32 entropies in nats, shape ``(B, T)``.

    Raises:
        ValueError: On a non-3-D input, ``temperature <= 0`` or ``chunk_size <= 0``.
    """
    if model_logits_BTV.dim() != 3:
        raise ValueError(
            f"token_entropy: logits must be (B, T, V), got {tuple(model_logits_BTV.shape)}"
        )
    if temperature <= 0:
        raise ValueError(f"token_entropy: temperature must be > 0, got {temperature}")
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError(f"token_entropy: chunk_size must be > 0, got {chunk_size}")
    B, T, _ = model_logits_BTV.shape
    logits_BSV = model_logits_BTV[:, :-1]
    S = T - 1
    step = S if chunk_size is None else chunk_size
    recompute = chunk_size is not None and torch.is_grad_enabled() and logits_BSV.requires_grad
    pieces: list[Tensor] = [model_logits_BTV.new_zeros((B, 1), dtype=torch.float32)]
    for start in range(0, S, max(step, 1)):
        chunk_BCV = logits_BSV[:, start : start + step]
        if recompute:
            entropy_BC = checkpoint(_entropy_chunk, chunk_BCV, temperature, use_reentrant=False)
        else:
            entropy_BC = _entropy_chunk(chunk_BCV, temperature)
        pieces.append(entropy_BC)
    return torch.cat(pieces, dim=1)


def _entropy_chunk(logits_BCV: Tensor, temperature: float) -> Tensor:
    z_BCV = logits_BCV.float()
    if temperature != 1.0:
        z_BCV = z_BCV / temperature
    logp_BCV = torch.log_softmax(z_BCV, dim=-1)
    p_BCV = logp_BCV.exp()
    # 0 * log 0 = 0; masking log p (not the product) keeps the backward free of 0 * inf.
    return -(p_BCV * logp_BCV.masked_fill(p_BCV == 0, 0.0)).sum(dim=-1)
