"""Scoring short answers: SQuAD-style normalization, exact match, token F1, and the ternary
TruthRL reward.

* :func:`normalize_answer`: lower case, no punctuation, no articles (a, an, the), single
  spaces: the normalization of the SQuAD v1.1 evaluation script (Rajpurkar et al., 2016).
* :func:`exact_match` / :func:`token_f1`: the best score over all gold answers.
* :func:`ternary_reward`: TruthRL (Wei et al., 2025: "TruthRL: Incentivizing truthful LLMs via
  reinforcement learning"): a correct answer earns more than abstaining, which earns more than
  a wrong answer, so that a model learns to say "I don't know" rather than guess.
* :func:`answer_reward`: one entry point for the reward modes ``"em"``, ``"f1"``,
  ``"ternary"``.

These are plain functions, usable as rubric functions outside any env.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "REWARD_MODES",
    "AnswerScore",
    "answer_reward",
    "exact_match",
    "extract_tagged_answer",
    "is_abstention",
    "normalize_answer",
    "score_answer",
    "ternary_reward",
    "token_f1",
]

REWARD_MODES: tuple[str, ...] = ("em", "f1", "ternary")
"""Reward modes :func:`answer_reward` knows."""

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)


def normalize_answer(text: str) -> str:
    """SQuAD normalization: lower case, drop punctuation and articles, collapse whitespace."""
    text = text.lower().translate(_PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """1.0 when ``prediction`` equals some answer after normalization, else 0.0."""
    norm = normalize_answer(prediction)
    return float(any(norm == normalize_answer(a) for a in answers))


def _f1(prediction: str, answer: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(answer).split()
    if not pred_tokens or not gold_tokens:
        # SQuAD: two empty answers match; one empty one does not
        return float(pred_tokens == gold_tokens)
    common = Counter(pred_tokens) & Counter(gold_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(pred_tokens), overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, answers: Sequence[str]) -> float:
    """The best bag-of-tokens F1 between ``prediction`` and any answer (SQuAD-style)."""
    return max((_f1(prediction, a) for a in answers), default=0.0)


def extract_tagged_answer(text: str) -> str | None:
    """The content of the last ``<answer>...</answer>`` in ``text`` (stripped; None if absent)."""
    matches = _ANSWER_TAG.findall(text)
    return matches[-1].strip() if matches else None


def is_abstention(prediction: str, abstain_phrase: str = "I don't know") -> bool:
    """Whether ``prediction`` is the abstain phrase (compared after normalization)."""
    return normalize_answer(prediction) == normalize_answer(abstain_phrase)


def ternary_reward(
    correct: bool,
    abstained: bool,
    *,
    correct_reward: float = 1.0,
    abstain_reward: float = 0.0,
    wrong_reward: float = -1.0,
) -> float:
    """TruthRL's ternary reward: correct > abstain > wrong (by default 1 / 0 / -1)."""
    if abstained:
        return abstain_reward
    return correct_reward if correct else wrong_reward


@dataclass(frozen=True)
class AnswerScore:
    """How one final answer scores."""

    exact_match: float
    """1.0 or 0.0 (:func:`exact_match`)."""
    f1: float
    """Token F1 in [0, 1] (:func:`token_f1`)."""
    abstained: bool
    """The answer was the abstain phrase."""
    reward: float
    """The reward under the chosen mode."""


def score_answer(
    prediction: str,
    answers: Sequence[str],
    *,
    mode: str = "em",
    abstain_phrase: str = "I don't know",
    wrong_reward: float = -1.0,
) -> AnswerScore:
    """Score ``prediction`` against gold ``answers``.

    Modes: ``"em"`` (reward = exact match), ``"f1"`` (reward = token F1), ``"ternary"``
    (TruthRL: 1 for an exact match, 0 for the abstain phrase, ``wrong_reward`` otherwise). An
    abstention scores 0 in every mode.

    Raises:
        ValueError: ``mode`` is not one of :data:`REWARD_MODES`.
    """
    if mode not in REWARD_MODES:
        raise ValueError(f"reward mode must be one of {REWARD_MODES}, got {mode!r}")
    abstained = bool(abstain_phrase) and is_abstention(prediction, abstain_phrase)
    em = 0.0 if abstained else exact_match(prediction, answers)
    f1 = 0.0 if abstained else token_f1(prediction, answers)
    if mode == "em":
        reward = em
    elif mode == "f1":
        reward = f1
    else:
        reward = ternary_reward(em == 1.0, abstained, wrong_reward=wrong_reward)
    return AnswerScore(exact_match=em, f1=f1, abstained=abstained, reward=reward)


def answer_reward(
    completions: Sequence[str],
    answers: Sequence[Sequence[str]],
    *,
    mode: str = "em",
    abstain_phrase: str = "I don't know",
) -> list[float]:
    """Rubric-style reward ``fn(completions, **kwargs) -> list[float]``.

    Each completion's last ``<answer>`` is scored against its answers; a completion without
    one scores as a wrong answer (0, or -1 in ternary mode).
    """
    if len(completions) != len(answers):
        raise ValueError(
            f"got {len(completions)} completions but {len(answers)} answer lists; pass one each"
        )
    rewards = []
    for completion, gold in zip(completions, answers, strict=True):
        prediction = extract_tagged_answer(completion)
        if prediction is None:
            rewards.append(-1.0 if mode == "ternary" else 0.0)
        else:
            rewards.append(
                score_answer(prediction, gold, mode=mode, abstain_phrase=abstain_phrase).reward
            )
    return rewards
