"""Parsing and scoring the doctor's final ``<diagnosis>...</diagnosis>``.

RESEARCH SIMULATION ONLY, NOT MEDICAL ADVICE.

The diagnosis may be one condition or a ranked differential, one item per line (numbered or
bulleted) or separated by semicolons or commas. Each item is mapped to a condition of the table
by its name, id or any alias (the longest matching alias wins, so "stomach flu" is
gastroenteritis, not influenza). Credit: 1.0 when the true condition is ranked first,
``decay ** (rank - 1)`` when it appears lower but within the first ``max_differential`` items,
else 0. Unrecognised items still take up their rank, so padding a differential costs credit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from turngym.envs.clinical.table import ConditionTable

__all__ = ["DiagnosisScore", "match_condition", "parse_diagnosis", "score_diagnosis"]

_TAG = re.compile(r"<diagnosis>(.*?)(?:</diagnosis>|$)", re.IGNORECASE | re.DOTALL)
_BULLET = re.compile(r"^\s*(?:#?\d+\s*[.):-]?|[-*\u2022])\s*")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _norm(text: str) -> str:
    return " ".join(w for w in _NON_WORD.split(text.lower().replace("'", "")) if w)


def parse_diagnosis(action: str) -> list[str] | None:
    """The ranked items inside ``<diagnosis>...</diagnosis>``, or None when there is no tag.

    An unclosed tag takes the rest of the message. An empty tag gives an empty list.
    """
    match = _TAG.search(action)
    if match is None:
        return None
    body = match.group(1).strip()
    lines = [ln for ln in body.splitlines() if ln.strip()]
    if len(lines) <= 1:
        lines = [p for p in re.split(r"[;,]", body) if p.strip()]
    items = []
    for line in lines:
        item = _BULLET.sub("", line).strip().strip(".")
        if item:
            items.append(item)
    return items


def match_condition(item: str, table: ConditionTable) -> str | None:
    """The condition id an item names (longest alias found as a whole phrase), or None."""
    text = f" {_norm(item)} "
    best: tuple[int, str] | None = None
    for cond in table.conditions:
        for alias in (cond.name, cond.id.replace("_", " "), *cond.aliases):
            phrase = _norm(alias)
            if phrase and f" {phrase} " in text and (best is None or len(phrase) > best[0]):
                best = (len(phrase), cond.id)
    return best[1] if best else None


@dataclass(frozen=True)
class DiagnosisScore:
    """How a diagnosis scored against the true condition."""

    score: float
    """1.0 top-1 correct, partial credit lower in the differential, else 0.0."""
    rank: int | None
    """1-based rank of the true condition in the differential, or None if absent."""
    items: tuple[str, ...]
    """The parsed items, as written."""
    matched: tuple[str | None, ...]
    """The condition id each item was mapped to (None: not recognised)."""


def score_diagnosis(
    items: list[str],
    true_condition: str,
    table: ConditionTable,
    *,
    decay: float = 0.5,
    max_differential: int = 5,
) -> DiagnosisScore:
    """Score a ranked differential against the true condition.

    Args:
        items: Ranked items (from :func:`parse_diagnosis`).
        true_condition: The case's condition id.
        table: The condition table (for names and aliases).
        decay: Credit factor per rank below the first (0 gives top-1 only).
        max_differential: Items after this many are ignored.

    Raises:
        ValueError: ``decay`` outside [0, 1] or ``max_differential`` < 1.
    """
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"decay must be in [0, 1], got {decay!r}")
    if max_differential < 1:
        raise ValueError(f"max_differential must be >= 1, got {max_differential!r}")
    considered = items[:max_differential]
    matched = tuple(match_condition(item, table) for item in considered)
    rank = None
    for i, cid in enumerate(matched):
        if cid == true_condition:
            rank = i + 1
            break
    score = 0.0 if rank is None else (1.0 if rank == 1 else decay ** (rank - 1))
    return DiagnosisScore(score, rank, tuple(considered), matched)
