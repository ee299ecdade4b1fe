"""Advantages: pure tensor functions from episode rewards to per-episode advantages.

Nothing here knows about models, tokens or trajectories; the trainer broadcasts an episode's
advantage over the episode's sampled tokens.

What this module does NOT cover: value baselines (PPO with a critic), per-turn credit
assignment or discounting. GRPO gives every sampled token of an episode the same advantage.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["grpo_advantages"]


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
    if rewards_N.dim() != 1 or group_ids_N.dim() != 1 or rewards_N.shape != group_ids_N.shape:
        raise ValueError(
            "grpo_advantages expects 1-D rewards and group ids of equal length, got shapes "
            f"{tuple(rewards_N.shape)} and {tuple(group_ids_N.shape)}"
        )
    dtype = rewards_N.dtype if rewards_N.is_floating_point() else torch.float32
    if rewards_N.numel() == 0:
        return torch.zeros(0, dtype=dtype, device=rewards_N.device)
    # Accumulate in float64: group sums of many rewards lose little precision that way.
    rewards = rewards_N.detach().to(torch.float64)
    _, group_index_N = torch.unique(group_ids_N, return_inverse=True)
    num_groups = int(group_index_N.max().item()) + 1
    count_G = torch.zeros(num_groups, dtype=torch.float64, device=rewards.device)
    count_G.scatter_add_(0, group_index_N, torch.ones_like(rewards))
    sum_G = torch.zeros_like(count_G).scatter_add_(0, group_index_N, rewards)
    mean_N = (sum_G / count_G)[group_index_N]
    centered_N = rewards - mean_N
    if std_normalize:
        sq_G = torch.zeros_like(count_G).scatter_add_(0, group_index_N, centered_N**2)
        std_N = (sq_G / count_G).sqrt()[group_index_N]
        centered_N = centered_N / (std_N + eps)
    return centered_N.to(dtype)
