"""FunctionCalling-v0 judges: call matching, goal assertions, top-k tool retrieval."""

from __future__ import annotations

from typing import Any

import pytest

from turngym.core import ToolCall
from turngym.envs.function_calling.apps import Apps, tool_schemas
from turngym.envs.function_calling.matching import (
    check_assertion,
    check_assertions,
    match_call,
    match_turn,
    validate_assertion,
    validate_expected_call,
    values_equal,
)
from turngym.envs.function_calling.retrieval import rank_tools, tokenize

PARAMS = {name: s["function"]["parameters"] for name, s in tool_schemas().items()}
CONVERT = {
    "name": "convert_units",
    "arguments": {"value": [10.0], "from_unit": ["km", "kilometers"], "to_unit": ["mi", "miles"]},
}
WEATHER_PARIS = {"name": "weather_get_forecast", "arguments": {"city": ["Paris"], "day": ["today"]}}
WEATHER_LIMA = {"name": "weather_get_forecast", "arguments": {"city": ["Lima"], "day": ["today"]}}


def _match(name: str, arguments: dict[str, Any], expected: dict[str, Any] = CONVERT) -> Any:
    return match_call(ToolCall(name, arguments), expected, PARAMS.get(expected["name"]))


# ---- values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "made, expected, equal",
    [
        ("Paris.", "paris", True),
        ("  New   York ", "new york", True),
        ("Paris", "Lyon", False),
        (10, 10.0, True),
        (10.004, 10.0, True),
        (10.1, 10.0, False),
        (True, 1, False),
        (["a", "B"], ["A", "b"], True),
        (["a", "b"], ["b", "a"], False),
        ({"x": 1}, {"x": 1.0}, True),
        ({"x": 1}, {"x": 1, "y": 2}, False),
        (None, None, True),
        ("1", 1, False),
    ],
)
def test_values_equal(made: Any, expected: Any, equal: bool) -> None:
    assert values_equal(made, expected) is equal


# ---- single calls ----------------------------------------------------------------------


def test_exact_call_matches() -> None:
    verdict = _match("convert_units", {"value": 10.0, "from_unit": "km", "to_unit": "mi"})
    assert verdict.ok and verdict.reason == ""


def test_alternative_values_are_accepted() -> None:
    assert _match("convert_units", {"value": 10, "from_unit": "Kilometers", "to_unit": "miles"}).ok


def test_wrong_function_name() -> None:
    verdict = _match(
        "convert_currency", {"amount": 10, "from_currency": "USD", "to_currency": "EUR"}
    )
    assert not verdict.ok and "wrong function: called 'convert_currency'" in verdict.reason


def test_missing_required_argument() -> None:
    verdict = _match("convert_units", {"value": 10.0, "from_unit": "km"})
    assert not verdict.ok and "'to_unit' is required" in verdict.reason


def test_wrong_argument_type() -> None:
    verdict = _match("convert_units", {"value": "10", "from_unit": "km", "to_unit": "mi"})
    assert not verdict.ok and "'value' must be a number" in verdict.reason


def test_wrong_value() -> None:
    verdict = _match("convert_units", {"value": 10.0, "from_unit": "km", "to_unit": "yd"})
    assert not verdict.ok and "argument 'to_unit': got 'yd'" in verdict.reason


def test_unknown_argument() -> None:
    args = {"value": 10.0, "from_unit": "km", "to_unit": "mi", "precision": 2}
    verdict = _match("convert_units", args)
    assert not verdict.ok and "'precision' is not a parameter" in verdict.reason


def test_optional_argument_may_be_omitted_when_default_is_accepted() -> None:
    assert _match("weather_get_forecast", {"city": "Paris"}, WEATHER_PARIS).ok
    assert _match("weather_get_forecast", {"city": "Paris", "day": "today"}, WEATHER_PARIS).ok
    tomorrow = {
        "name": "weather_get_forecast",
        "arguments": {"city": ["Paris"], "day": ["tomorrow"]},
    }
    verdict = _match("weather_get_forecast", {"city": "Paris"}, tomorrow)
    assert not verdict.ok and "'day': got 'today'" in verdict.reason


def test_unrequested_argument_must_stay_at_its_default() -> None:
    expected = {"name": "bank_pay", "arguments": {"recipient": ["Bob"], "amount": [5]}}
    assert _match("bank_pay", {"recipient": "Bob", "amount": 5, "account": "checking"}, expected).ok
    verdict = _match("bank_pay", {"recipient": "Bob", "amount": 5, "memo": "rent"}, expected)
    assert not verdict.ok and "'memo'='rent' was not asked for" in verdict.reason


def test_tool_not_offered() -> None:
    verdict = match_call(ToolCall("convert_units", {"value": 1.0}), CONVERT, None)
    assert not verdict.ok and "not among the offered tools" in verdict.reason


# ---- turns -----------------------------------------------------------------------------


def _weather(city: str) -> ToolCall:
    return ToolCall("weather_get_forecast", {"city": city})


def test_parallel_calls_match_in_any_order() -> None:
    expected = [WEATHER_PARIS, WEATHER_LIMA]
    for made in ([_weather("Paris"), _weather("Lima")], [_weather("Lima"), _weather("Paris")]):
        verdict = match_turn(made, expected, PARAMS)
        assert verdict.score == 1.0 and verdict.matched == 2


def test_one_made_call_cannot_satisfy_two_expected_calls() -> None:
    verdict = match_turn(
        [_weather("Paris"), _weather("Paris")], [WEATHER_PARIS, WEATHER_LIMA], PARAMS
    )
    assert verdict.score == 0.0 and verdict.matched == 1
    assert [d["matched"] for d in verdict.details] == [True, False]
    assert "'city': got 'Paris'" in verdict.details[1]["reason"]


def test_matching_finds_the_assignment_a_greedy_pass_would_miss() -> None:
    # The first made call fits both expectations, the second only the first one.
    either = {"name": "weather_get_forecast", "arguments": {"city": ["Paris", "Lima"]}}
    expected = [either, WEATHER_PARIS]
    verdict = match_turn([_weather("Paris"), _weather("Lima")], expected, PARAMS)
    assert verdict.matched == 2 and verdict.score == 1.0


def test_extra_and_missing_calls() -> None:
    extra = match_turn([_weather("Paris"), _weather("Lima")], [WEATHER_PARIS], PARAMS)
    assert extra.score == 0.0 and extra.matched == 1
    missing = match_turn([_weather("Paris")], [WEATHER_PARIS, WEATHER_LIMA], PARAMS)
    assert missing.score == 0.0
    assert missing.details[1] == {
        "expected": "weather_get_forecast",
        "matched": False,
        "reason": "argument 'city': got 'Paris', expected one of ['Lima']",
    }
    none = match_turn([], [WEATHER_PARIS], PARAMS)
    assert none.score == 0.0 and none.details[0]["reason"] == "no call of 'weather_get_forecast'"


def test_partial_credit_counts_matches_over_the_larger_side() -> None:
    expected = [WEATHER_PARIS, WEATHER_LIMA]
    half = match_turn([_weather("Paris")], expected, PARAMS, partial_credit=True)
    assert half.score == pytest.approx(0.5)
    padded = [_weather("Paris"), _weather("Lima"), _weather("Tokyo"), _weather("Oslo")]
    assert match_turn(padded, expected, PARAMS, partial_credit=True).score == pytest.approx(0.5)


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"arguments": {}}, "must be an object"),
        ({"name": "f", "arguments": []}, "'arguments' must be an object"),
        ({"name": "f", "arguments": {"x": 3}}, "non-empty list of accepted values"),
        ({"name": "f", "arguments": {"x": []}}, "non-empty list"),
    ],
)
def test_malformed_expected_calls(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_expected_call(spec)


# ---- goal assertions -------------------------------------------------------------------


@pytest.fixture
def paid_state() -> dict[str, Any]:
    apps = Apps()
    apps.bank_pay("Acme Power", 120.5)
    apps.messages_send("Bob", "Door code 1234X")
    apps.files_move("/docs/todo.txt", "/archive/todo.txt")
    return apps.snapshot()


@pytest.mark.parametrize(
    "assertion, passed",
    [
        ({"kind": "equals", "path": ["bank", "accounts", "checking"], "value": 2329.5}, True),
        ({"kind": "equals", "path": "bank.accounts.checking", "value": 2450.0}, False),
        ({"kind": "exists", "path": ["files", "/archive/todo.txt"]}, True),
        ({"kind": "absent", "path": ["files", "/docs/todo.txt"]}, True),
        ({"kind": "absent", "path": ["files", "/archive/todo.txt"]}, False),
        (
            {
                "kind": "contains",
                "path": ["messages", "sent"],
                "match": {"recipient": "Bob Martin", "text": {"contains": "1234x"}},
            },
            True,
        ),
        (
            {
                "kind": "contains",
                "path": ["messages", "sent"],
                "match": {"recipient": "Alice Chen"},
            },
            False,
        ),
        (
            {
                "kind": "not_contains",
                "path": ["bank", "transactions"],
                "match": {"counterparty": {"one_of": ["Acme Power", "City Water"]}},
            },
            False,
        ),
        ({"kind": "count", "path": ["bank", "transactions"], "value": 1}, True),
        (
            {
                "kind": "count",
                "path": ["bank", "transactions"],
                "match": {"amount": -120.5},
                "value": 2,
            },
            False,
        ),
        ({"kind": "count", "path": ["files"], "value": 3}, True),
        ({"kind": "equals", "path": ["calendar", "events", "0", "id"], "value": "evt-1"}, True),
        ({"kind": "equals", "path": ["bank", "nothing"], "value": 1}, False),
    ],
)
def test_assertions(paid_state: dict[str, Any], assertion: dict[str, Any], passed: bool) -> None:
    result = check_assertion(paid_state, validate_assertion(assertion))
    assert result.passed is passed
    assert (result.detail == "") is passed


def test_assertion_results_keep_descriptions(paid_state: dict[str, Any]) -> None:
    results = check_assertions(
        paid_state,
        [
            {"kind": "count", "path": ["shop", "orders"], "value": 1, "description": "one order"},
            {"kind": "exists", "path": ["files", "/photos/readme.txt"]},
        ],
    )
    assert [(r.description, r.passed) for r in results] == [
        ("one order", False),
        ("exists files./photos/readme.txt", True),
    ]
    assert results[0].detail == "0 item(s) of shop.orders match, expected 1"


@pytest.mark.parametrize(
    "assertion, message",
    [
        ({"kind": "smaller", "path": ["x"]}, "kind must be one of"),
        ({"kind": "equals", "path": []}, "'path' must be"),
        ({"kind": "equals", "path": ["x"]}, "needs a 'value'"),
        ({"kind": "contains", "path": ["x"]}, "needs a 'match' object"),
        ("equals", "must be an object"),
    ],
)
def test_malformed_assertions(assertion: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_assertion(assertion)


# ---- retrieval -------------------------------------------------------------------------


def test_tokenize_drops_stopwords_and_plural_s() -> None:
    assert tokenize("What's the weather in Paris and the Capitals?") == [
        "weather",
        "pari",
        "capital",
    ]


@pytest.mark.parametrize(
    "request_text, best",
    [
        ("How much is 300 GBP in JPY?", "convert_currency"),
        ("Convert 12 miles to kilometers", "convert_units"),
        ("What is the capital of Peru?", "lookup_capital"),
        ("Delete the calendar event evt-2", "calendar_delete_event"),
        ("What's the weather forecast for Lima?", "weather_get_forecast"),
        ("Move the file /a.txt to /b/", "files_move"),
    ],
)
def test_rank_tools_puts_the_right_tool_first(request_text: str, best: str) -> None:
    ranked = rank_tools(request_text, list(tool_schemas().values()))
    assert ranked[0][0] == best, ranked[:3]
    assert len(ranked) == len(tool_schemas())


def test_rank_tools_is_deterministic_with_catalog_order_ties() -> None:
    schemas = list(tool_schemas().values())
    ranked = rank_tools("zzz nothing matches", schemas)
    assert [name for name, _ in ranked] == [s["function"]["name"] for s in schemas]
    assert all(score == 0.0 for _, score in ranked)
    assert rank_tools("anything", []) == []
