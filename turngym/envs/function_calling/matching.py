"""Judging function calls and goal states: the rewards of ``turngym/FunctionCalling-v0``.

Two judges, both over structured data, never over transcript text:

* **Call matching** (BFCL-style AST matching, Patil et al. 2024, "Berkeley Function Calling
  Leaderboard"): a made call matches an expected call when the function name is equal, the
  arguments validate against the tool's JSON schema (required arguments present, no unknown
  ones, right types), every expected argument's value is one of its accepted alternatives, and
  every argument the expectation does not mention is left at its default. A turn's calls are
  matched to the expected calls as a set (order-insensitive, as BFCL's parallel categories):
  a maximum bipartite matching.
* **Goal assertions** (AppWorld-style state checks, Trivedi et al. 2024): predicates over the
  final world dict (see :mod:`.apps`), e.g. "the checking balance is 1200.00" or "a sent
  message to Bob Martin contains 'XJ7'".

Value comparison: numbers within 1e-6 (relative) or 0.005 absolute for money-sized values;
strings after case-folding, trimming, collapsing whitespace and dropping trailing ``.!?``;
lists element by element; objects key by key.

An expected call is ``{"name": str, "arguments": {arg: [accepted, values, ...]}}``; an argument
is optional when its tool default is among its accepted values (omitting it then matches).

An assertion is a dict with ``kind`` and ``path`` (a list of keys, or a dot-separated string):

* ``{"kind": "equals", "path": [...], "value": v}``
* ``{"kind": "exists" | "absent", "path": [...]}``
* ``{"kind": "contains" | "not_contains", "path": [...], "match": {field: spec}}``: some
  (no) item of the list at ``path`` matches every field; ``spec`` is a value, or
  ``{"contains": "text"}`` (case-insensitive substring), or ``{"one_of": [values]}``.
* ``{"kind": "count", "path": [...], "match": {...} (optional), "value": n}``

and an optional ``description`` shown in ``info``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from turngym.core.messages import ToolCall
from turngym.tools.base import ToolArgumentError, validate_arguments

__all__ = [
    "ASSERTION_KINDS",
    "AssertionResult",
    "CallMatch",
    "TurnMatch",
    "check_assertion",
    "check_assertions",
    "match_call",
    "match_turn",
    "validate_assertion",
    "validate_expected_call",
    "values_equal",
]

ASSERTION_KINDS = ("equals", "exists", "absent", "contains", "not_contains", "count")
_MISSING = object()


# ---- values ----------------------------------------------------------------------------


def _norm_text(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().casefold()).rstrip(".!?").strip()


def values_equal(made: Any, expected: Any) -> bool:
    """Whether two JSON values are equal under the lenient comparison of this module."""
    if isinstance(expected, bool) or isinstance(made, bool):
        return type(made) is type(expected) and made == expected
    if isinstance(expected, (int, float)) and isinstance(made, (int, float)):
        return math.isclose(made, expected, rel_tol=1e-6, abs_tol=5e-3)
    if isinstance(expected, str) and isinstance(made, str):
        return _norm_text(made) == _norm_text(expected)
    if isinstance(expected, (list, tuple)) and isinstance(made, (list, tuple)):
        return len(made) == len(expected) and all(
            values_equal(m, e) for m, e in zip(made, expected, strict=True)
        )
    if isinstance(expected, Mapping) and isinstance(made, Mapping):
        return set(made) == set(expected) and all(
            values_equal(made[k], expected[k]) for k in expected
        )
    return made is None and expected is None


# ---- call matching ---------------------------------------------------------------------


@dataclass(frozen=True)
class CallMatch:
    """The verdict on one made call against one expected call."""

    ok: bool
    """Whether the call matches."""
    reason: str
    """Why not (empty when it matches), e.g. "argument 'to_unit': got 'km', expected one of
    ['mi', 'miles']"."""


def validate_expected_call(spec: Any, where: str = "expected call") -> dict[str, Any]:
    """Check the shape of an expected call; return it as a plain dict.

    Raises:
        ValueError: ``spec`` is not ``{"name": str, "arguments": {arg: [values...]}}``.
    """
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise ValueError(f'{where} must be an object {{"name": str, "arguments": {{...}}}}')
    arguments = spec.get("arguments", {})
    if not isinstance(arguments, Mapping):
        raise ValueError(f"{where} ({spec['name']}): 'arguments' must be an object")
    for arg, accepted in arguments.items():
        if not isinstance(accepted, list) or not accepted:
            raise ValueError(
                f"{where} ({spec['name']}): argument {arg!r} must map to a non-empty list of "
                f"accepted values, e.g. [{accepted!r}]"
            )
    return {"name": spec["name"], "arguments": {k: list(v) for k, v in arguments.items()}}


def match_call(
    made: ToolCall, expected: Mapping[str, Any], parameters: Mapping[str, Any] | None
) -> CallMatch:
    """Judge one made call against one expected call.

    Args:
        made: The parsed call.
        expected: ``{"name", "arguments": {arg: [accepted values]}}``.
        parameters: JSON schema of the expected tool's arguments (its ``parameters``); None
            when the tool is not offered.
    """
    if made.name != expected["name"]:
        return CallMatch(
            False, f"wrong function: called {made.name!r}, expected {expected['name']!r}"
        )
    if parameters is None:
        return CallMatch(False, f"function {made.name!r} is not among the offered tools")
    try:
        arguments = validate_arguments(made.name, parameters, made.arguments)
    except ToolArgumentError as exc:
        return CallMatch(False, str(exc))
    properties = parameters.get("properties", {})
    accepted_by_arg: Mapping[str, list[Any]] = expected.get("arguments", {})
    for arg, accepted in accepted_by_arg.items():
        value = arguments.get(arg, properties.get(arg, {}).get("default", _MISSING))
        if value is _MISSING:
            return CallMatch(False, f"argument {arg!r} is missing")
        if not any(values_equal(value, option) for option in accepted):
            return CallMatch(
                False, f"argument {arg!r}: got {value!r}, expected one of {accepted!r}"
            )
    for arg, value in arguments.items():
        if arg in accepted_by_arg:
            continue
        default = properties.get(arg, {}).get("default", _MISSING)
        if default is _MISSING or not values_equal(value, default):
            return CallMatch(False, f"argument {arg!r}={value!r} was not asked for")
    return CallMatch(True, "")


@dataclass(frozen=True)
class TurnMatch:
    """The verdict on the calls of one turn against the expected set of calls."""

    score: float
    """1.0 for an exact match; with partial credit, matched / max(expected, made)."""
    matched: int
    """How many expected calls found a distinct matching made call."""
    details: tuple[dict[str, Any], ...]
    """Per expected call: ``{"expected": name, "matched": bool, "reason": str}``."""


def match_turn(
    made: Sequence[ToolCall],
    expected: Sequence[Mapping[str, Any]],
    parameters_by_name: Mapping[str, Mapping[str, Any]],
    *,
    partial_credit: bool = False,
) -> TurnMatch:
    """Match a turn's calls to the expected calls, ignoring order.

    Args:
        made: The calls the agent made in the judged turn.
        expected: The expected calls.
        parameters_by_name: JSON schema of each catalog tool's arguments, by tool name.
        partial_credit: Score ``matched / max(len(expected), len(made))`` instead of all or
            nothing (extra calls cost credit either way).
    """
    verdicts = [
        [match_call(m, e, parameters_by_name.get(e["name"])) for m in made] for e in expected
    ]
    owner: dict[int, int] = {}  # made index -> expected index (Kuhn's augmenting paths)

    def augment(e: int, seen: set[int]) -> bool:
        for m, verdict in enumerate(verdicts[e]):
            if verdict.ok and m not in seen:
                seen.add(m)
                if m not in owner or augment(owner[m], seen):
                    owner[m] = e
                    return True
        return False

    for e in range(len(expected)):
        augment(e, set())
    matched_expected = set(owner.values())
    details = []
    for e, spec in enumerate(expected):
        if e in matched_expected:
            details.append({"expected": spec["name"], "matched": True, "reason": ""})
            continue
        same_name = [
            v.reason for v, m in zip(verdicts[e], made, strict=True) if m.name == spec["name"]
        ]
        reason = same_name[0] if same_name else f"no call of {spec['name']!r}"
        details.append({"expected": spec["name"], "matched": False, "reason": reason})
    matched = len(matched_expected)
    denominator = max(len(expected), len(made))
    exact = matched == len(expected) == len(made)
    if partial_credit:
        score = 1.0 if denominator == 0 else matched / denominator
    else:
        score = 1.0 if exact else 0.0
    return TurnMatch(score=score, matched=matched, details=tuple(details))


# ---- goal assertions -------------------------------------------------------------------


@dataclass(frozen=True)
class AssertionResult:
    """The verdict on one goal assertion."""

    description: str
    """The assertion's description (or a generated one)."""
    passed: bool
    """Whether the final state satisfies it."""
    detail: str
    """What was found, when it failed."""


def _path(assertion: Mapping[str, Any]) -> list[str]:
    path = assertion["path"]
    return path.split(".") if isinstance(path, str) else [str(p) for p in path]


def validate_assertion(assertion: Any, where: str = "assertion") -> dict[str, Any]:
    """Check an assertion's shape; return it as a plain dict.

    Raises:
        ValueError: Unknown ``kind``, no ``path``, or a missing ``value`` / ``match``.
    """
    if not isinstance(assertion, Mapping):
        raise ValueError(f"{where} must be an object with 'kind' and 'path'")
    kind = assertion.get("kind")
    if kind not in ASSERTION_KINDS:
        raise ValueError(f"{where}: kind must be one of {list(ASSERTION_KINDS)}, got {kind!r}")
    path = assertion.get("path")
    if not (isinstance(path, str) and path) and not (
        isinstance(path, list) and path and all(isinstance(p, (str, int)) for p in path)
    ):
        raise ValueError(f"{where}: 'path' must be a non-empty list of keys or a dotted string")
    if kind in ("equals", "count") and "value" not in assertion:
        raise ValueError(f"{where}: kind {kind!r} needs a 'value'")
    if kind in ("contains", "not_contains") and not isinstance(assertion.get("match"), Mapping):
        raise ValueError(f"{where}: kind {kind!r} needs a 'match' object")
    return dict(assertion)


def _resolve(state: Any, path: list[str]) -> Any:
    node = state
    for key in path:
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif (
            isinstance(node, list)
            and key.lstrip("-").isdigit()
            and -len(node) <= int(key) < len(node)
        ):
            node = node[int(key)]
        else:
            return _MISSING
    return node


def _field_matches(value: Any, spec: Any) -> bool:
    if isinstance(spec, Mapping) and set(spec) == {"contains"}:
        return isinstance(value, str) and str(spec["contains"]).casefold() in value.casefold()
    if isinstance(spec, Mapping) and set(spec) == {"one_of"}:
        return any(values_equal(value, option) for option in spec["one_of"])
    return values_equal(value, spec)


def _item_matches(item: Any, match: Mapping[str, Any]) -> bool:
    if not isinstance(item, Mapping):
        return False
    return all(k in item and _field_matches(item[k], spec) for k, spec in match.items())


def check_assertion(state: Mapping[str, Any], assertion: Mapping[str, Any]) -> AssertionResult:
    """Check one assertion against a world dict."""
    kind, path = assertion["kind"], _path(assertion)
    description = str(assertion.get("description") or f"{kind} {'.'.join(path)}")
    node = _resolve(state, path)
    where = ".".join(path)
    if kind == "exists":
        passed, detail = node is not _MISSING, f"{where} does not exist"
    elif kind == "absent":
        passed, detail = node is _MISSING, f"{where} still exists"
    elif node is _MISSING:
        passed, detail = False, f"{where} does not exist"
    elif kind == "equals":
        passed, detail = values_equal(node, assertion["value"]), f"{where} is {node!r}"
    else:
        items = list(node.values()) if isinstance(node, Mapping) else node
        if not isinstance(items, list):
            return AssertionResult(description, False, f"{where} is not a list")
        match = assertion.get("match") or {}
        hits = sum(_item_matches(item, match) for item in items) if match else len(items)
        if kind == "contains":
            passed, detail = hits > 0, f"no item of {where} matches {dict(match)}"
        elif kind == "not_contains":
            passed, detail = hits == 0, f"{hits} item(s) of {where} match {dict(match)}"
        else:
            passed = hits == assertion["value"]
            detail = f"{hits} item(s) of {where} match, expected {assertion['value']}"
    return AssertionResult(description, passed, "" if passed else detail)


def check_assertions(
    state: Mapping[str, Any], assertions: Sequence[Mapping[str, Any]]
) -> list[AssertionResult]:
    """Check every assertion against a world dict, in order."""
    return [check_assertion(state, a) for a in assertions]
