"""Naive-Bayes posterior over conditions, information gain and Shapley attribution.

RESEARCH SIMULATION ONLY, NOT MEDICAL ADVICE.

The model is the simplest one that gives the interview a well-defined "how much did that
question help": conditions are mutually exclusive with prior ``P(c)`` (the table's
prevalences, normalised), and findings are independent given the condition, each present with
``P(f | c)`` from the table or with a small ``leak`` probability when the table does not list
it. The same model generates the cases (:mod:`turngym.envs.clinical.cases`), so the posterior
is calibrated for simulated patients by construction, and only for them.

Rewards built on it:

* **Information gain** of a question: the entropy (bits) of the posterior before the answer
  minus the entropy after it (realised, so it can be negative when an answer surprises).
  The expected gain (:meth:`NaiveBayesModel.expected_information_gain`) is what a greedy
  strong doctor maximises.
* **Shapley attribution** of the final outcome to the questions, as in ProMed (Ding et al.,
  2025, "ProMed: Shapley Information Gain Guided Reinforcement Learning for Proactive Medical
  LLMs"): the players are the questions, the value of a coalition ``S`` is the posterior
  probability of the true condition given the baseline findings (chief complaint) plus the
  findings revealed by the questions in ``S``. Exact over all subsets for a few questions,
  Monte Carlo over permutations otherwise; both satisfy efficiency
  (``sum(values) == v(all) - v(empty)``) exactly, because each permutation's marginal
  contributions telescope.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np

from turngym.envs.clinical.table import ConditionTable

__all__ = ["NaiveBayesModel", "Observations", "entropy_bits", "shapley_values"]

Observations = Mapping[str, bool]
"""Finding id -> present (True) or absent (False)."""


def entropy_bits(probs: np.ndarray) -> float:
    """Shannon entropy in bits of a probability vector (zeros contribute nothing)."""
    p = probs[probs > 0]
    return float(-(p * np.log2(p)).sum())


class NaiveBayesModel:
    """Posterior over a table's conditions given observed findings.

    Args:
        table: The condition table.
        leak: ``P(f | c)`` for findings the condition does not list (0 < leak < 1).
    """

    def __init__(self, table: ConditionTable, *, leak: float = 0.01):
        if not 0.0 < leak < 0.5:
            raise ValueError(f"leak must be in (0, 0.5), got {leak!r}")
        self.table = table
        self.leak = float(leak)
        self.condition_ids = tuple(c.id for c in table.conditions)
        self.finding_ids = tuple(f.id for f in table.findings)
        self._finding_index = {f: i for i, f in enumerate(self.finding_ids)}
        self._condition_index = {c: i for i, c in enumerate(self.condition_ids)}
        likelihood_CF = np.full((len(self.condition_ids), len(self.finding_ids)), self.leak)
        for ci, cond in enumerate(table.conditions):
            for fid, p in cond.findings.items():
                likelihood_CF[ci, self._finding_index[fid]] = p
        self.likelihood_CF = likelihood_CF
        self._log_present_CF = np.log(likelihood_CF)
        self._log_absent_CF = np.log1p(-likelihood_CF)
        prior_C = np.array([c.prevalence for c in table.conditions], dtype=float)
        self.prior_C = prior_C / prior_C.sum()
        self._log_prior_C = np.log(self.prior_C)

    def condition_index(self, condition_id: str) -> int:
        """Row of a condition (``KeyError`` naming it if unknown)."""
        try:
            return self._condition_index[condition_id]
        except KeyError:
            raise KeyError(f"unknown condition {condition_id!r}") from None

    def finding_index(self, finding_id: str) -> int:
        """Column of a finding (``KeyError`` naming it if unknown)."""
        try:
            return self._finding_index[finding_id]
        except KeyError:
            raise KeyError(f"unknown finding {finding_id!r}") from None

    def posterior(self, observations: Observations) -> np.ndarray:
        """``P(c | observations)`` as a vector over ``condition_ids``."""
        log_C = self._log_prior_C.copy()
        for fid, present in observations.items():
            j = self.finding_index(fid)
            log_C += self._log_present_CF[:, j] if present else self._log_absent_CF[:, j]
        log_C -= log_C.max()
        post_C = np.exp(log_C)
        return post_C / post_C.sum()

    def entropy(self, observations: Observations) -> float:
        """Entropy (bits) of the posterior."""
        return entropy_bits(self.posterior(observations))

    def information_gain(self, before: Observations, revealed: Observations) -> float:
        """Realised entropy reduction (bits) from adding ``revealed`` to ``before``."""
        after = {**before, **revealed}
        return self.entropy(before) - self.entropy(after)

    def expected_information_gain(self, observations: Observations) -> np.ndarray:
        """Expected entropy reduction (bits) of asking each single finding, vector over
        ``finding_ids``; already observed findings get 0."""
        post_C = self.posterior(observations)
        h_before = entropy_bits(post_C)
        p_present_F = post_C @ self.likelihood_CF
        joint_yes_CF = post_C[:, None] * self.likelihood_CF
        joint_no_CF = post_C[:, None] * (1.0 - self.likelihood_CF)
        post_yes_CF = joint_yes_CF / joint_yes_CF.sum(axis=0, keepdims=True)
        post_no_CF = joint_no_CF / joint_no_CF.sum(axis=0, keepdims=True)

        def _h(p: np.ndarray) -> np.ndarray:
            with np.errstate(divide="ignore", invalid="ignore"):
                terms = np.where(p > 0, -p * np.log2(p), 0.0)
            return terms.sum(axis=0)

        expected_after_F = p_present_F * _h(post_yes_CF) + (1 - p_present_F) * _h(post_no_CF)
        gain_F = h_before - expected_after_F
        for fid in observations:
            gain_F[self.finding_index(fid)] = 0.0
        return gain_F

    def probability_of(self, condition_id: str, observations: Observations) -> float:
        """``P(condition | observations)``."""
        return float(self.posterior(observations)[self.condition_index(condition_id)])

    def map_condition(self, observations: Observations) -> str:
        """The most probable condition id given the observations."""
        return self.condition_ids[int(np.argmax(self.posterior(observations)))]


def shapley_values(
    model: NaiveBayesModel,
    true_condition: str,
    baseline: Observations,
    question_reveals: Sequence[Observations],
    *,
    exact_max_questions: int = 8,
    num_permutations: int = 200,
    rng: np.random.Generator | None = None,
) -> list[float]:
    """Shapley value of each question for the posterior of the true condition (ProMed-style).

    The value of a set ``S`` of questions is ``P(true | baseline + findings revealed by S)``.
    Questions that revealed nothing are null players and get exactly 0.

    Args:
        model: The naive-Bayes model.
        true_condition: The condition whose posterior is attributed.
        baseline: Findings known before any question (the chief complaint).
        question_reveals: Per question, the findings its answer revealed.
        exact_max_questions: Up to this many informative questions, enumerate all subsets;
            above it, sample ``num_permutations`` permutations.
        num_permutations: Monte Carlo permutations (seeded by ``rng``).
        rng: Generator for the Monte Carlo path (default: seed 0, so results are repeatable).

    Returns:
        One value per question, summing to ``v(all) - v(empty)``.
    """
    if exact_max_questions < 0 or num_permutations < 1:
        raise ValueError("exact_max_questions must be >= 0 and num_permutations >= 1")
    model.condition_index(true_condition)  # fail early on an unknown condition
    players = [i for i, rev in enumerate(question_reveals) if rev]
    values = [0.0] * len(question_reveals)
    n = len(players)
    if n == 0:
        return values
    cache: dict[frozenset[int], float] = {}

    def v(coalition: frozenset[int]) -> float:
        if coalition not in cache:
            obs = dict(baseline)
            # later questions overwrite earlier ones on the same finding; with a consistent
            # patient they agree anyway
            for i in sorted(coalition):
                obs.update(question_reveals[i])
            cache[coalition] = model.probability_of(true_condition, obs)
        return cache[coalition]

    if n <= exact_max_questions:
        for k, player in enumerate(players):
            others = players[:k] + players[k + 1 :]
            total = 0.0
            for size in range(len(others) + 1):
                weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                for subset in itertools.combinations(others, size):
                    s = frozenset(subset)
                    total += weight * (v(s | {player}) - v(s))
            values[player] = total
        return values

    rng = rng if rng is not None else np.random.default_rng(0)
    sums = dict.fromkeys(players, 0.0)
    for _ in range(num_permutations):
        order = rng.permutation(players)
        coalition: frozenset[int] = frozenset()
        prev = v(coalition)
        for player in order:
            coalition = coalition | {int(player)}
            cur = v(coalition)
            sums[int(player)] += cur - prev
            prev = cur
    for player in players:
        values[player] = sums[player] / num_permutations
    return values
