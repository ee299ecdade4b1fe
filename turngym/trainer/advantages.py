"""Advantages: pure tensor functions from episode rewards to per-episode advantages.

Nothing here knows about models, tokens or trajectories; the trainer broadcasts an episode's
advantage over the episode's sampled tokens. :func:`compute_advantages` selects an estimator
by name (``AlgoConfig.advantage``):

========================== ===============================================================
``"grpo"``                 ``(r - mean_g) / (std_g + eps)``; Dr. GRPO without the std
``"rloo"``                 ``r_i - mean_{j != i, same group} r_j`` (leave-one-out)
``"reinforce_pp"``         ``(r - mean_batch) / (std_batch + eps)`` (REINFORCE++)
``"reinforce_pp_baseline"`` ``(r - mean_g) / (std_batch(r - mean_g) + eps)``
========================== ===============================================================

All standard deviations are population ones (divide by ``n``), computed in float64.

What this module does NOT cover: value baselines (PPO with a critic), per-turn credit
assignment or discounting, and KL penalties folded into the reward (REINFORCE++'s original
form; here the KL term stays in the loss, see :func:`turngym.trainer.losses.policy_loss`).
Every sampled token of an episode gets the same advantage. "Batch" statistics are over the
tensors passed in: with several processes, gather the rewards first.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import Tensor

__all__ = [
    "ADVANTAGE_ESTIMATORS",
    "AdvantageEstimator",
    "compute_advantages",
    "grpo_advantages",
    "reinforce_pp_advantages",
    "rloo_advantages",
]

AdvantageEstimator = Literal["grpo", "rloo", "reinforce_pp", "reinforce_pp_baseline"]
"""The names :func:`compute_advantages` accepts."""
ADVANTAGE_ESTIMATORS: tuple[str, ...] = get_args(AdvantageEstimator)


def _check(name: str, rewards_N: Tensor, group_ids_N: Tensor) -> torch.dtype:
    """Validate shapes; return the output dtype (float32 for integer rewards)."""
    if rewards_N.dim() != 1 or group_ids_N.dim() != 1 or rewards_N.shape != group_ids_N.shape:
        raise ValueError(
            f"{name} expects 1-D rewards and group ids of equal length, got shapes "
            f"{tuple(rewards_N.shape)} and {tuple(group_ids_N.shape)}"
        )
    return rewards_N.dtype if rewards_N.is_floating_point() else torch.float32


def _group_centered(rewards: Tensor, group_ids_N: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(r - mean_g, group index of each episode, group sizes)`` for float64 ``rewards``."""
    _, group_index_N = torch.unique(group_ids_N, return_inverse=True)
    num_groups = int(group_index_N.max().item()) + 1
    count_G = torch.zeros(num_groups, dtype=torch.float64, device=rewards.device)
    count_G.scatter_add_(0, group_index_N, torch.ones_like(rewards))
    sum_G = torch.zeros_like(count_G).scatter_add_(0, group_index_N, rewards)
    centered_N = rewards - (sum_G / count_G)[group_index_N]
    return centered_N, group_index_N, count_G


def grpo_advantages(
    rewards_N: Tensor,
    group_ids_N: Tensor,
    *,
    std_normalize: bool = True,
    eps: float = 1e-6,
) -> Tensor:
    """Group-relative advantages: each reward minus its group's mean, optionally over its std.

    GRPO (Shao et al. 2024, *DeepSeekMath*, arXiv:2402.03300) samples a group of episodes per
    task and uses ``(r - mean_g) / (std_g + eps)`` as the advantage. Dr. GRPO (Liu et al. 2025,
    *Understanding R1-Zero-Like Training: A Critical Perspective*, arXiv:2503.20783) shows the
    std division biases learning toward too-easy and too-hard tasks and drops it:
    ``std_normalize=False`` gives ``r - mean_g``.

    The std is the **population** std (``unbiased=False``, divide by the group size ``n``),
    so a group with rewards ``[1, 0, 0, 1]`` gets advantages ``[1, -1, -1, 1]`` (up to eps).
    A group of size 1 always gets advantage 0, and so does any group whose rewards are all
    equal (there is nothing to learn from it).

    Args:
        rewards_N: Episode rewards, shape ``(N,)``.
        group_ids_N: Group label of each episode, shape ``(N,)``, any integers (need not be
            contiguous or sorted).
        std_normalize: Divide by the group std plus ``eps`` (GRPO); False is Dr. GRPO.
        eps: Added to the std before dividing.

    Returns:
        Advantages, shape ``(N,)``, floating dtype of ``rewards_N`` (float32 for integer
        rewards), on the same device.

    Raises:
        ValueError: If the inputs are not 1-D tensors of the same length.
    """
    dtype = _check("grpo_advantages", rewards_N, group_ids_N)
    if rewards_N.numel() == 0:
        return torch.zeros(0, dtype=dtype, device=rewards_N.device)
    # Accumulate in float64: group sums of many rewards lose little precision that way.
    rewards = rewards_N.detach().to(torch.float64)
    centered_N, group_index_N, count_G = _group_centered(rewards, group_ids_N)
    if std_normalize:
        sq_G = torch.zeros_like(count_G).scatter_add_(0, group_index_N, centered_N**2)
        std_N = (sq_G / count_G).sqrt()[group_index_N]
        centered_N = centered_N / (std_N + eps)
    return centered_N.to(dtype)


def rloo_advantages(rewards_N: Tensor, group_ids_N: Tensor) -> Tensor:
    """REINFORCE Leave-One-Out: each reward minus the mean of the *other* rewards of its group.

    RLOO (Kool et al. 2019, *Buy 4 REINFORCE Samples, Get a Baseline for Free!*; applied to
    LLMs by Ahmadian et al. 2024, *Back to Basics: Revisiting REINFORCE Style Optimization for
    Learning from Human Feedback in LLMs*, arXiv:2402.14740, Eq. 4):
    ``A_i = r_i - 1/(n-1) * sum_{j != i} r_j``, which equals ``n/(n-1) * (r_i - mean_g)``.
    The baseline does not depend on ``r_i``, so the estimator is unbiased; there is no std
    division. Rewards ``[1, 0, 0, 1]`` give ``[2/3, -2/3, -2/3, 2/3]``. A group of size 1
    has no other sample to compare with and gets advantage 0.

    Args:
        rewards_N: Episode rewards, shape ``(N,)``.
        group_ids_N: Group label of each episode, shape ``(N,)``, any integers.

    Returns:
        Advantages, shape ``(N,)`` (dtype as in :func:`grpo_advantages`).

    Raises:
        ValueError: If the inputs are not 1-D tensors of the same length.
    """
    dtype = _check("rloo_advantages", rewards_N, group_ids_N)
    if rewards_N.numel() == 0:
        return torch.zeros(0, dtype=dtype, device=rewards_N.device)
    rewards = rewards_N.detach().to(torch.float64)
    centered_N, group_index_N, count_G = _group_centered(rewards, group_ids_N)
    n_N = count_G[group_index_N]
    scale_N = torch.where(n_N > 1, n_N / (n_N - 1).clamp(min=1.0), torch.zeros_like(n_N))
    return (centered_N * scale_N).to(dtype)


def reinforce_pp_advantages(
    rewards_N: Tensor,
    group_ids_N: Tensor | None = None,
    *,
    baseline: bool = False,
    std_normalize: bool = True,
    eps: float = 1e-6,
) -> Tensor:
    """REINFORCE++ advantages: rewards whitened with the statistics of the whole batch.

    Hu et al. 2025, *REINFORCE++: Stabilizing Critic-Free Policy Optimization with Global
    Advantage Normalization* (arXiv:2501.03262, Sec. 3), replace the per-prompt normalization
    of GRPO/RLOO with a *global* one over the training batch::

        A_norm = (A - mean_batch(A)) / std_batch(A)

    - ``baseline=False`` (REINFORCE++, meant for one or more samples per prompt): ``A = r``,
      so the advantage is ``(r - mean_batch(r)) / (std_batch(r) + eps)``; groups are ignored.
    - ``baseline=True`` (REINFORCE++ w/ Baseline, for several samples per prompt): first
      ``A = r - mean_g(r)`` (the group mean as baseline), then the global normalization. The
      batch mean of group-centred rewards is 0, so this is ``A / (std_batch(A) + eps)``:
      the same centring as Dr. GRPO, scaled by one batch-wide std instead of each group's.

    Differences from the paper, by design: the paper folds a per-token KL penalty into the
    reward (``r - beta * sum_{i>=t} KL_i``) and whitens per *token* (each episode weighted by
    its length, as OpenRLHF does); here rewards are per episode, each episode weighs the same,
    and the KL term is a loss term (``AlgoConfig.kl_coef``; the paper pairs the baseline
    variant with the k2 estimator). All stds are population stds.

    Args:
        rewards_N: Episode rewards, shape ``(N,)``.
        group_ids_N: Group label of each episode, shape ``(N,)``; required when ``baseline``.
        baseline: Subtract the group mean first (REINFORCE++ w/ Baseline).
        std_normalize: Divide by the batch std plus ``eps``; False only centres (like
            OpenRLHF's ``--no_advantage_std_norm``).
        eps: Added to the std before dividing.

    Returns:
        Advantages, shape ``(N,)`` (dtype as in :func:`grpo_advantages`). A batch whose
        (centred) rewards are all equal gets zeros.

    Raises:
        ValueError: On bad shapes, or ``baseline=True`` without ``group_ids_N``.
    """
    if group_ids_N is None:
        if baseline:
            raise ValueError("reinforce_pp_advantages(baseline=True) needs group_ids_N")
        group_ids_N = torch.zeros(rewards_N.shape[:1], dtype=torch.long, device=rewards_N.device)
    dtype = _check("reinforce_pp_advantages", rewards_N, group_ids_N)
    if rewards_N.numel() == 0:
        return torch.zeros(0, dtype=dtype, device=rewards_N.device)
    rewards = rewards_N.detach().to(torch.float64)
    adv_N = _group_centered(rewards, group_ids_N)[0] if baseline else rewards
    adv_N = adv_N - adv_N.mean()
    if std_normalize:
        adv_N = adv_N / (adv_N.pow(2).mean().sqrt() + eps)
    return adv_N.to(dtype)


def compute_advantages(
    rewards_N: Tensor,
    group_ids_N: Tensor,
    *,
    estimator: str = "grpo",
    std_normalize: bool = True,
    eps: float = 1e-6,
) -> Tensor:
    """Advantages by estimator name: the one entry point the trainer calls.

    Args:
        rewards_N: Episode rewards of the whole step's batch, shape ``(N,)``.
        group_ids_N: Group (task) label of each episode, shape ``(N,)``.
        estimator: One of :data:`ADVANTAGE_ESTIMATORS` (``AlgoConfig.advantage``):
            ``"grpo"`` (:func:`grpo_advantages`), ``"rloo"`` (:func:`rloo_advantages`),
            ``"reinforce_pp"`` and ``"reinforce_pp_baseline"``
            (:func:`reinforce_pp_advantages` without / with the group-mean baseline).
        std_normalize: For ``"grpo"``: group std (False is Dr. GRPO); for the REINFORCE++
            variants: batch std. RLOO never divides by a std and ignores it.
        eps: Added to the std before dividing.

    Returns:
        Advantages, shape ``(N,)``.

    Raises:
        ValueError: On an unknown estimator name or bad shapes.
    """
    if estimator == "grpo":
        return grpo_advantages(rewards_N, group_ids_N, std_normalize=std_normalize, eps=eps)
    if estimator == "rloo":
        return rloo_advantages(rewards_N, group_ids_N)
    if estimator in ("reinforce_pp", "reinforce_pp_baseline"):
        return reinforce_pp_advantages(
            rewards_N,
            group_ids_N,
            baseline=estimator == "reinforce_pp_baseline",
            std_normalize=std_normalize,
            eps=eps,
        )
    raise ValueError(
        f"unknown advantage estimator {estimator!r}; expected one of "
        f"{', '.join(repr(e) for e in ADVANTAGE_ESTIMATORS)}"
    )
