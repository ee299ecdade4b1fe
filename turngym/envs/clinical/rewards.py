"""Rubric reward functions for ``turngym/ClinicalDialogue-v0`` (TRL-style, one per term).

RESEARCH SIMULATION ONLY, NOT MEDICAL ADVICE.

Each reads ``info["reward_totals"][term]`` from an episode's last ``info`` (the env's episode
sums), so a :class:`~turngym.trainer.rubric.Rubric` can log and weight the terms separately,
e.g. ``RewardTerm("diagnosis", diagnosis_reward, 1.0)`` with ``env_weight=0``. An episode whose
info lacks the totals (another env, or a failed episode) scores 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "diagnosis_reward",
    "information_gain_reward",
    "shapley_reward",
    "turn_cost_reward",
]


def _totals(
    term: str, completions: Sequence[str], infos: Sequence[dict[str, Any]] | None
) -> list[float]:
    if infos is None:
        raise TypeError(f"{term} reward needs infos= (the episodes' last info dicts)")
    if len(infos) != len(completions):
        raise ValueError(f"got {len(completions)} completions but {len(infos)} infos")
    return [float((info.get("reward_totals") or {}).get(term, 0.0)) for info in infos]


def diagnosis_reward(
    completions: Sequence[str], infos: Sequence[dict[str, Any]] | None = None, **kwargs: Any
) -> list[float]:
    """Diagnosis credit: 1 top-1 correct, partial lower in the differential, else 0."""
    return _totals("diagnosis", completions, infos)


def information_gain_reward(
    completions: Sequence[str], infos: Sequence[dict[str, Any]] | None = None, **kwargs: Any
) -> list[float]:
    """Total realised entropy reduction (bits) of the posterior over the questions."""
    return _totals("info_gain", completions, infos)


def shapley_reward(
    completions: Sequence[str], infos: Sequence[dict[str, Any]] | None = None, **kwargs: Any
) -> list[float]:
    """Sum of the questions' Shapley values (= posterior gain of the true condition)."""
    return _totals("shapley", completions, infos)


def turn_cost_reward(
    completions: Sequence[str], infos: Sequence[dict[str, Any]] | None = None, **kwargs: Any
) -> list[float]:
    """Minus the number of questions asked."""
    return _totals("turn_cost", completions, infos)
