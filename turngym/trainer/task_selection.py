"""Which tasks a step trains on: uniform, or MoPPS-style selection of informative tasks.

GRPO learns nothing from a group whose episodes all succeed or all fail. MoPPS (Model
Predictive Prompt Selection, Qu et al. 2025) keeps a Beta posterior of each task's success
rate, updated from earlier rollouts (with exponential forgetting, since the policy moves), and
each step draws candidate tasks, samples a success rate for each from its posterior (Thompson
sampling) and keeps the B whose sampled rate is closest to a target (0.5: most reward variance).

What it does NOT cover: tasks never seen get the prior; for an unbounded task generator the
candidates are fresh tasks, so selection only acts through the prior and is close to uniform.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


class MoppsSelector:
    """Bayesian per-task success estimates and Thompson-sampled selection.

    Args:
        target: Success rate to aim for (0.5 maximises the variance of 0/1 rewards).
        candidates_per_slot: Candidates drawn per selected task.
        decay: Forgetting factor applied to every posterior before each update (1: none).
        prior: ``(alpha, beta)`` of the Beta prior.
    """

    def __init__(
        self,
        *,
        target: float = 0.5,
        candidates_per_slot: int = 4,
        decay: float = 0.9,
        prior: tuple[float, float] = (1.0, 1.0),
    ):
        if not 0.0 < target < 1.0:
            raise ValueError(f"target must be in (0, 1), got {target}")
        if candidates_per_slot < 1:
            raise ValueError(f"candidates_per_slot must be >= 1, got {candidates_per_slot}")
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"decay must be in (0, 1], got {decay}")
        self.target = target
        self.candidates_per_slot = candidates_per_slot
        self.decay = decay
        self.prior = (float(prior[0]), float(prior[1]))
        self.posteriors: dict[int, tuple[float, float]] = {}

    def posterior(self, task: int) -> tuple[float, float]:
        """``(alpha, beta)`` of a task (the prior if never seen)."""
        return self.posteriors.get(task, self.prior)

    def select(
        self, draw_candidates: Callable[[int], Sequence[int]], count: int, rng: np.random.Generator
    ) -> list[int]:
        """Pick ``count`` tasks among ``count * candidates_per_slot`` candidates.

        Args:
            draw_candidates: Returns that many candidate task indices.
            count: Tasks to select.
            rng: Source of the Thompson samples (seed it per step for exact resume).
        """
        candidates = list(dict.fromkeys(draw_candidates(count * self.candidates_per_slot)))
        sampled = [rng.beta(*self.posterior(t)) for t in candidates]
        order = np.argsort([abs(p - self.target) for p in sampled], kind="stable")
        chosen = [candidates[i] for i in order[:count]]
        while len(chosen) < count:  # duplicates among the candidates: pad with the best again
            chosen.append(chosen[len(chosen) % max(1, len(candidates))])
        return chosen

    def update(self, task_success: dict[int, tuple[float, int]]) -> None:
        """Decay every posterior, then add ``(successes, episodes)`` observed per task."""
        a0, b0 = self.prior
        for task, (a, b) in list(self.posteriors.items()):
            self.posteriors[task] = (a0 + self.decay * (a - a0), b0 + self.decay * (b - b0))
        for task, (successes, episodes) in task_success.items():
            a, b = self.posterior(task)
            self.posteriors[task] = (a + successes, b + episodes - successes)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume (goes into the checkpoint)."""
        return {"posteriors": {str(k): list(v) for k, v in self.posteriors.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved."""
        self.posteriors = {
            int(k): (float(v[0]), float(v[1])) for k, v in state["posteriors"].items()
        }
