"""Multi-reward rubrics: several reward functions with weights, each logged separately.

A reward function follows TRL's convention, ``fn(completions, **kwargs) -> list[float]``:
``completions`` holds each episode's last assistant message, and the keyword arguments
``trajectories`` (the :class:`~turngym.core.Trajectory` objects), ``infos`` (each episode's
last ``info``) and ``messages`` (each conversation as a list of ``{"role", "content"}``
dicts). Functions should accept ``**kwargs`` and ignore what they do not use.

An episode's training reward is ``env_weight * env return + sum(weight_i * fn_i)``. A term
with weight 0 is computed and logged but not trained on.

What it does NOT cover: per-turn (dense) rubric rewards; a rubric scores whole episodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from turngym.agents.context import conversation_without_summaries
from turngym.core.trajectory import Trajectory
from turngym.trainer.config import load_callable

RewardFn = Callable[..., Sequence[float]]


class RubricError(ValueError):
    """A reward function could not be loaded or returned something unusable."""


@dataclass(frozen=True)
class RewardTerm:
    """One weighted reward function."""

    name: str
    """Metric name: logged as ``reward/<name>``."""
    fn: RewardFn
    """``fn(completions, **kwargs) -> list[float]``."""
    weight: float = 1.0
    """Weight in the training reward; 0 logs without training on it."""


def load_reward_fn(spec: str) -> RewardFn:
    """Import ``"package.module:function"``."""
    return load_callable(spec, "reward function", RubricError)


class Rubric:
    """Combines the env's return with weighted reward functions.

    Args:
        terms: The reward functions.
        env_weight: Weight of the env's own return (0 trains on the rubric alone).
    """

    def __init__(self, terms: Sequence[RewardTerm] = (), env_weight: float = 1.0):
        names = [t.name for t in terms]
        if len(set(names)) != len(names) or "env" in names:
            raise RubricError(f"reward term names must be unique and not 'env', got {names}")
        self.terms = list(terms)
        self.env_weight = float(env_weight)

    @property
    def is_trivial(self) -> bool:
        """Whether the rubric is just the env's return."""
        return not self.terms and self.env_weight == 1.0

    def score(self, trajectories: Sequence[Trajectory]) -> tuple[list[float], dict[str, float]]:
        """Training rewards of the episodes and ``reward/<term>`` means.

        Raises:
            RubricError: A function returned the wrong number of values or a non-finite one.
        """
        env = [t.reward for t in trajectories]
        totals = [self.env_weight * r for r in env]
        metrics: dict[str, float] = {}
        if trajectories:
            metrics["reward/env"] = sum(env) / len(env)
        if not self.terms or not trajectories:
            return totals, metrics
        kwargs: dict[str, Any] = {
            "trajectories": list(trajectories),
            "infos": [dict(t.info) for t in trajectories],
            "messages": [
                [{"role": m.role, "content": m.text} for m in conversation_without_summaries(t)]
                for t in trajectories
            ],
        }
        completions = [_last_assistant(t) for t in trajectories]
        for term in self.terms:
            values = [float(v) for v in term.fn(completions, **kwargs)]
            if len(values) != len(trajectories):
                raise RubricError(
                    f"reward {term.name!r} returned {len(values)} values for {len(trajectories)} episodes"
                )
            if not all(math.isfinite(v) for v in values):
                raise RubricError(f"reward {term.name!r} returned a non-finite value: {values}")
            metrics[f"reward/{term.name}"] = sum(values) / len(values)
            totals = [t + term.weight * v for t, v in zip(totals, values, strict=True)]
        return totals, metrics


def _last_assistant(trajectory: Trajectory) -> str:
    for m in reversed(conversation_without_summaries(trajectory)):
        if m.role == "assistant":
            return m.text
    return ""


# ---- a few reward functions users reach for ----------------------------------------------


def has_boxed_answer(completions: Sequence[str], **kwargs: Any) -> list[float]:
    r"""1.0 when the last reply holds a ``\boxed{...}`` answer (a format reward)."""
    return [1.0 if "\\boxed{" in c else 0.0 for c in completions]


def brevity(completions: Sequence[str], *, max_chars: int = 400, **kwargs: Any) -> list[float]:
    """1.0 for an empty last reply, falling linearly to 0.0 at ``max_chars`` characters."""
    return [max(0.0, 1.0 - len(c) / max_chars) for c in completions]
