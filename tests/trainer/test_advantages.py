"""grpo_advantages against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from turngym.trainer.advantages import grpo_advantages


def test_one_group_balanced_binary_rewards_use_population_std() -> None:
    # mean 0.5; population std 0.5 (the unbiased std would be 0.577 and give +-0.866).
    adv = grpo_advantages(torch.tensor([1.0, 0.0, 0.0, 1.0]), torch.tensor([0, 0, 0, 0]), eps=0.0)
    assert adv.tolist() == [1.0, -1.0, -1.0, 1.0]


def test_default_eps_is_added_to_the_std() -> None:
    adv = grpo_advantages(torch.tensor([1.0, 0.0, 0.0, 1.0]), torch.zeros(4, dtype=torch.long))
    expected = 0.5 / (0.5 + 1e-6)
    assert torch.allclose(
        adv, torch.tensor([expected, -expected, -expected, expected]), atol=0, rtol=1e-7
    )


def test_dr_grpo_only_centers() -> None:
    adv = grpo_advantages(
        torch.tensor([1.0, 0.0, 0.0, 1.0]), torch.zeros(4, dtype=torch.long), std_normalize=False
    )
    assert adv.tolist() == [0.5, -0.5, -0.5, 0.5]


def test_interleaved_non_contiguous_groups() -> None:
    rewards = torch.tensor([1.0, 2.0, 3.0, 10.0, 20.0])
    groups = torch.tensor([7, 3, 7, 3, 7])
    # group 7: [1, 3, 20], mean 8 -> [-7, -5, 12]; group 3: [2, 10], mean 6 -> [-4, 4]
    centered = grpo_advantages(rewards, groups, std_normalize=False)
    assert centered.tolist() == [-7.0, -4.0, -5.0, 4.0, 12.0]
    std7 = math.sqrt((49 + 25 + 144) / 3)
    std3 = 4.0
    expected = torch.tensor([-7 / std7, -4 / std3, -5 / std7, 4 / std3, 12 / std7])
    assert torch.allclose(grpo_advantages(rewards, groups, eps=0.0), expected, atol=1e-6)


def test_singleton_and_constant_groups_get_zero() -> None:
    adv = grpo_advantages(torch.tensor([5.0, 2.0, 2.0, 2.0]), torch.tensor([0, 1, 1, 1]))
    assert adv.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_integer_rewards_give_float32_and_bad_shapes_raise() -> None:
    adv = grpo_advantages(torch.tensor([1, 0]), torch.tensor([0, 0]), std_normalize=False)
    assert adv.dtype == torch.float32 and adv.tolist() == [0.5, -0.5]
    with pytest.raises(ValueError, match="equal length"):
        grpo_advantages(torch.tensor([1.0, 0.0]), torch.tensor([0]))
    assert grpo_advantages(torch.zeros(0), torch.zeros(0, dtype=torch.long)).shape == (0,)
