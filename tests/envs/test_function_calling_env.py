"""turngym/FunctionCalling-v0: conformance, protocol, rewards per category, tasks, top-k."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import turngym
from turngym.core import Message, StopReason, ToolCall
from turngym.envs.function_calling import (
    CATEGORIES,
    FunctionCallingEnv,
    FunctionCallingTaskGenerator,
    reference_solution,
)
from turngym.envs.function_calling.apps import TOOL_DOMAINS
from turngym.envs.function_calling.tasks import TaskFileError, load_tasks_jsonl

ENV_ID = "turngym/FunctionCalling-v0"
HERMES = turngym.tools.get_format("hermes")

CONVERT_TASK = {
    "id": "convert",
    "category": "multiple",
    "request": "Convert 10 km to miles.",
    "tools": ["convert_units", "convert_currency", "lookup_capital"],
    "expected_calls": [
        {
            "name": "convert_units",
            "arguments": {"value": [10], "from_unit": ["km"], "to_unit": ["mi", "miles"]},
        }
    ],
}
PARALLEL_TASK = {
    "id": "capitals",
    "category": "parallel",
    "request": "What are the capitals of Peru and Japan?",
    "tools": ["lookup_capital"],
    "expected_calls": [
        {"name": "lookup_capital", "arguments": {"country": ["Peru"]}},
        {"name": "lookup_capital", "arguments": {"country": ["Japan"]}},
    ],
}
IRRELEVANT_TASK = {
    "id": "poem",
    "category": "irrelevance",
    "request": "Write a haiku about rain.",
    "tools": ["lookup_capital", "bank_pay"],
}
BILL_TASK = {
    "id": "bill",
    "category": "multi_turn",
    "request": "Pay the Acme Power bill in my inbox from checking.",
    "state": {
        "messages": {
            "inbox": [{"id": "msg-1", "sender": "Acme Power", "text": "Your bill is $80.25."}],
            "sent": [],
        },
        "bank": {"accounts": {"checking": 1000.0, "savings": 50.0}, "transactions": []},
    },
    "assertions": [
        {
            "kind": "equals",
            "path": ["bank", "accounts", "checking"],
            "value": 919.75,
            "description": "checking paid the bill",
        },
        {
            "kind": "contains",
            "path": ["bank", "transactions"],
            "match": {"counterparty": "Acme Power", "amount": -80.25},
            "description": "Acme Power was paid",
        },
        {
            "kind": "count",
            "path": ["bank", "transactions"],
            "value": 1,
            "description": "one payment",
        },
    ],
    "solution": [
        [{"name": "messages_list_inbox", "arguments": {"sender": "Acme"}}],
        [{"name": "bank_pay", "arguments": {"recipient": "Acme Power", "amount": 80.25}}],
    ],
}


def _render(*calls: tuple[str, dict[str, Any]]) -> str:
    return HERMES.render([ToolCall(name, args) for name, args in calls])


def _play(env: FunctionCallingEnv, task: dict[str, Any], *actions: str) -> tuple[float, dict]:
    env.reset(seed=0, options={"task": task})
    for action in actions:
        _, reward, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return reward, info
    raise AssertionError("episode did not end")


@pytest.fixture
def env() -> FunctionCallingEnv:
    return FunctionCallingEnv()


# ---- conformance -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"expose_all_tools": True, "tool_top_k": 5, "partial_credit": True},
        {"categories": ["multi_turn"], "tools_in_prompt": False},
        {"categories": ["irrelevance"]},
    ],
)
def test_check_env_passes(kwargs: dict[str, Any]) -> None:
    turngym.check_env(turngym.make(ENV_ID, **kwargs))


def test_registered_with_turn_cap_and_docstring() -> None:
    spec = turngym.spec(ENV_ID)
    assert [w.kwargs for w in spec.additional_wrappers] == [{"max_turns": 10}]
    doc = FunctionCallingEnv.__doc__ or ""
    assert "<tool_call>" in doc and "**Reward**" in doc and "irrelevance" in doc


def test_turn_cap_truncates_with_zero_reward() -> None:
    env = turngym.make(ENV_ID, max_turns=2)
    env.reset(seed=0, options={"task": BILL_TASK})
    call = _render(("messages_list_inbox", {}))
    env.step(call)
    _, reward, terminated, truncated, info = env.step(call)
    assert (reward, terminated, truncated) == (0.0, False, True)
    assert info["stop_reason"] == StopReason.TURN_LIMIT.value


def test_play_cli_session(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from turngym.cli import build_parser

    task_file_session = _render(("lookup_capital", {"country": "Peru"})) + "\n.\nLima.\n.\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(task_file_session))
    args = ["play", ENV_ID, "--kwargs", '{"categories": ["simple"]}', "--task-index", "0"]
    parsed = build_parser().parse_args(args)
    assert parsed.func(parsed) == 0
    out = capsys.readouterr().out
    assert "[tool/lookup_capital]" in out and "episode over: terminated" in out


# ---- first observation -----------------------------------------------------------------


def test_first_observation_offers_the_task_tools(env: FunctionCallingEnv) -> None:
    obs, info = env.reset(seed=0, options={"task": CONVERT_TASK})
    assert [m.role for m in obs] == ["system", "user"]
    assert obs[1].text == CONVERT_TASK["request"]
    assert [t["function"]["name"] for t in info["tools"]] == CONVERT_TASK["tools"]
    assert "<tools>" in obs[0].text and '"name": "convert_currency"' in obs[0].text
    assert '"name": "bank_pay"' not in obs[0].text


def test_prompt_options() -> None:
    obs, info = FunctionCallingEnv(tools_in_prompt=False).reset(
        seed=0, options={"task": CONVERT_TASK}
    )
    assert "<tools>" not in obs[0].text and "<tool_call>" in obs[0].text and info["tools"]
    obs, _ = FunctionCallingEnv(system_prompt="Be exact.").reset(seed=0)
    assert obs[0] == Message("system", "Be exact.")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tool_top_k": 0}, "tool_top_k"),
        ({"max_calls_per_turn": 0}, "max_calls_per_turn"),
        ({"test_file": "x.jsonl"}, "test_file needs tasks_file"),
        ({"categories": ["chitchat"]}, "categories must be"),
        ({"test_fraction": 1.5}, "test_fraction"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FunctionCallingEnv(**kwargs)


def test_bad_task_option_is_rejected(env: FunctionCallingEnv) -> None:
    bad = {**CONVERT_TASK, "tools": ["teleport"]}
    with pytest.raises(ValueError, match="unknown tools \\['teleport'\\]"):
        env.reset(seed=0, options={"task": bad})


# ---- protocol --------------------------------------------------------------------------


def test_tool_results_come_back_as_tool_messages(env: FunctionCallingEnv) -> None:
    env.reset(seed=0, options={"task": CONVERT_TASK})
    obs, reward, terminated, _, info = env.step(
        _render(("convert_units", {"value": 10, "from_unit": "km", "to_unit": "mi"}))
    )
    assert (reward, terminated) == (0.0, False)
    assert obs == (Message("tool", '{"value": 6.2137, "unit": "mi"}', name="convert_units"),)
    assert info["tool_calls"] == 1 and info["tool_errors"] == 0


def test_errors_are_tool_messages_and_the_episode_goes_on(env: FunctionCallingEnv) -> None:
    env.reset(seed=0, options={"task": CONVERT_TASK})
    obs, _, terminated, _, info = env.step(
        _render(
            ("bank_pay", {"recipient": "x", "amount": 1}),
            ("convert_units", {"value": "ten", "from_unit": "km", "to_unit": "mi"}),
            ("convert_units", {"value": 1, "from_unit": "km", "to_unit": "kg"}),
        )
    )
    assert not terminated and [m.role for m in obs] == ["tool"] * 3
    assert obs[0].text.startswith("Error: unknown tool 'bank_pay'")
    assert "'value' must be a number" in obs[1].text
    assert obs[2].text == "Error: cannot convert length (km) to mass (kg)"
    assert info["tool_errors"] == 3


def test_malformed_call_gets_feedback(env: FunctionCallingEnv) -> None:
    env.reset(seed=0, options={"task": CONVERT_TASK})
    obs, _, terminated, _, info = env.step('<tool_call>{"name": "convert_units", </tool_call>')
    assert not terminated and obs[-1].role == "user" and "malformed tool call" in obs[-1].text
    assert info["parse_errors"] == 1


def test_calls_beyond_the_per_turn_cap_are_skipped() -> None:
    env = FunctionCallingEnv(max_calls_per_turn=1)
    env.reset(seed=0, options={"task": PARALLEL_TASK})
    obs, *_ = env.step(
        _render(("lookup_capital", {"country": "Peru"}), ("lookup_capital", {"country": "Japan"}))
    )
    assert [m.role for m in obs] == ["tool", "user"] and "1 more were skipped" in obs[1].text


def test_text_reply_ends_the_episode_with_the_verdict(env: FunctionCallingEnv) -> None:
    call = _render(("convert_units", {"value": 10.0, "from_unit": "km", "to_unit": "miles"}))
    reward, info = _play(env, CONVERT_TASK, call, "10 km is about 6.21 miles.")
    assert reward == 1.0 and info["success"] is True and info["category"] == "multiple"
    assert info["stop_reason"] == StopReason.TERMINATED.value
    assert info["made_calls"] == [
        [
            {
                "name": "convert_units",
                "arguments": {"value": 10.0, "from_unit": "km", "to_unit": "miles"},
            }
        ]
    ]
    assert info["expected_calls"] == CONVERT_TASK["expected_calls"]
    assert info["call_matches"] == [{"expected": "convert_units", "matched": True, "reason": ""}]


def test_only_the_first_calling_turn_is_judged(env: FunctionCallingEnv) -> None:
    wrong = _render(
        ("convert_currency", {"amount": 10, "from_currency": "USD", "to_currency": "EUR"})
    )
    right = _render(("convert_units", {"value": 10, "from_unit": "km", "to_unit": "mi"}))
    reward, info = _play(env, CONVERT_TASK, wrong, right, "done")
    assert reward == 0.0 and len(info["made_calls"]) == 2
    assert info["call_matches"][0]["reason"] == "no call of 'convert_units'"


@pytest.mark.parametrize(
    "calls, reward",
    [
        ([("lookup_capital", {"country": "Japan"}), ("lookup_capital", {"country": "Peru"})], 1.0),
        ([("lookup_capital", {"country": "Peru"})], 0.0),
        ([("lookup_capital", {"country": "Peru"}), ("lookup_capital", {"country": "Chile"})], 0.0),
    ],
)
def test_parallel_judging(env: FunctionCallingEnv, calls: list, reward: float) -> None:
    assert _play(env, PARALLEL_TASK, _render(*calls), "ok")[0] == reward


def test_partial_credit_for_calls() -> None:
    env = FunctionCallingEnv(partial_credit=True)
    reward, info = _play(env, PARALLEL_TASK, _render(("lookup_capital", {"country": "Peru"})), "ok")
    assert reward == pytest.approx(0.5) and info["success"] is False


# ---- irrelevance -----------------------------------------------------------------------


def test_irrelevance_rewards_not_calling(env: FunctionCallingEnv) -> None:
    assert _play(env, IRRELEVANT_TASK, "Soft rain on the roof...")[0] == 1.0
    called = _render(("lookup_capital", {"country": "Peru"}))
    reward, info = _play(env, IRRELEVANT_TASK, called, "Here is a haiku.")
    assert reward == 0.0 and info["success"] is False and info["retrieval_recall"] is None
    malformed = '<tool_call>{"name": </tool_call>'
    assert _play(env, IRRELEVANT_TASK, malformed, "Here is a haiku.")[0] == 0.0


# ---- stateful goals --------------------------------------------------------------------


def test_stateful_goal_reached(env: FunctionCallingEnv) -> None:
    inbox = _render(("messages_list_inbox", {"sender": "Acme"}))
    pay = _render(("bank_pay", {"recipient": "acme power", "amount": 80.25}))
    reward, info = _play(env, BILL_TASK, inbox, pay, "Paid.")
    assert reward == 1.0 and info["success"] is True
    assert [a["passed"] for a in info["assertions"]] == [True, True, True]


def test_stateful_judged_on_state_not_text(env: FunctionCallingEnv) -> None:
    reward, info = _play(env, BILL_TASK, "I paid the Acme Power bill of $80.25 from checking.")
    assert reward == 0.0
    assert [a["passed"] for a in info["assertions"]] == [False, False, False]
    assert info["assertions"][0]["detail"] == "bank.accounts.checking is 1000.0"


def test_stateful_wrong_amount_and_double_payment() -> None:
    env = FunctionCallingEnv(partial_credit=True)
    wrong = _render(("bank_pay", {"recipient": "Acme Power", "amount": 80}))
    reward, info = _play(env, BILL_TASK, wrong, "done")
    assert [a["passed"] for a in info["assertions"]] == [False, False, True]
    assert reward == pytest.approx(1 / 3)
    twice = _render(("bank_pay", {"recipient": "Acme Power", "amount": 80.25}))
    reward, info = _play(env, BILL_TASK, twice, twice, "done")
    failed = [a["description"] for a in info["assertions"] if not a["passed"]]
    assert failed == ["checking paid the bill", "one payment"]
    strict = FunctionCallingEnv()
    assert _play(strict, BILL_TASK, twice, twice, "done")[0] == 0.0


def test_each_episode_starts_from_a_fresh_world(env: FunctionCallingEnv) -> None:
    pay = _render(("bank_pay", {"recipient": "Acme Power", "amount": 80.25}))
    _play(env, BILL_TASK, pay, "done")
    assert _play(env, BILL_TASK, pay, "done")[0] == 1.0


# ---- generated tasks -------------------------------------------------------------------


def test_generator_is_deterministic_and_seeded() -> None:
    a, b = FunctionCallingTaskGenerator(seed=3), FunctionCallingTaskGenerator(seed=3)
    tasks_a = [a.get_task(i) for i in range(24)]
    assert tasks_a == [b.get_task(i) for i in range(24)]
    other = [FunctionCallingTaskGenerator(seed=4).get_task(i) for i in range(24)]
    assert [t["request"] for t in other] != [t["request"] for t in tasks_a]
    assert [t["category"] for t in tasks_a[:6]] == list(CATEGORIES)
    json.dumps(tasks_a)  # tasks are plain JSON


def test_generator_splits_are_disjoint_and_sized() -> None:
    gen = FunctionCallingTaskGenerator(num_test_tasks=60)
    assert gen.num_tasks("test") == 60 and gen.num_tasks("train") is None
    test_requests = {gen.get_task(i, "test")["request"] for i in range(60)}
    train_requests = {gen.get_task(i, "train")["request"] for i in range(300)}
    assert not test_requests & train_requests
    with pytest.raises(IndexError, match="out of range"):
        gen.get_task(60, "test")


def test_category_filter() -> None:
    gen = FunctionCallingTaskGenerator(categories=["parallel", "irrelevance"])
    assert {gen.get_task(i)["category"] for i in range(10)} == {"parallel", "irrelevance"}


def test_generated_tasks_have_the_category_shape() -> None:
    gen = FunctionCallingTaskGenerator(seed=1)
    for i in range(60):
        task = gen.get_task(i)
        category = task["category"]
        expected = task.get("expected_calls", [])
        if category == "simple":
            assert len(expected) == 1 and task["tools"] == [expected[0]["name"]]
        elif category == "multiple":
            assert len(expected) == 1 and len(task["tools"]) >= 4
        elif category == "parallel":
            assert len(expected) >= 2 and len({e["name"] for e in expected}) == 1
        elif category == "parallel_multiple":
            assert len({e["name"] for e in expected}) >= 2
        elif category == "irrelevance":
            assert expected == [] and task["tools"]
        else:
            assert task["assertions"] and task["tools"] == list(TOOL_DOMAINS)
            assert len(task["solution"]) >= 2  # reading results between calls


# ---- scripted policies -----------------------------------------------------------------


def _oracle_episode(env: FunctionCallingEnv, index: int, split: str) -> tuple[str, float]:
    env.reset(seed=0, options={"task_index": index, "split": split})
    for turn in reference_solution(env.task):
        env.step(HERMES.render([ToolCall(c["name"], c["arguments"]) for c in turn]))
    _, reward, terminated, _, info = env.step("All done.")
    assert terminated
    return info["category"], reward


def _random_arguments(schema: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    out: dict[str, Any] = {}
    params = schema["function"]["parameters"]
    for arg in params["required"]:
        prop = params["properties"][arg]
        if "enum" in prop:
            out[arg] = prop["enum"][int(rng.integers(len(prop["enum"])))]
        else:
            out[arg] = {
                "string": "something",
                "integer": 3,
                "number": 2.5,
                "array": [],
                "boolean": False,
            }[prop["type"]]
    return out


def _random_episode(env: FunctionCallingEnv, index: int, seed: int) -> tuple[str, float]:
    rng = np.random.default_rng(seed)
    _, info = env.reset(seed=0, options={"task_index": index})
    tools = info["tools"]
    for _ in range(2):
        schema = tools[int(rng.integers(len(tools)))]
        env.step(_render((schema["function"]["name"], _random_arguments(schema, rng))))
    _, reward, terminated, _, info = env.step("Done.")
    assert terminated
    return info["category"], reward


def _mean_by_category(results: list[tuple[str, float]]) -> dict[str, float]:
    means = {}
    for category in CATEGORIES:
        rewards = [r for c, r in results if c == category]
        assert rewards, category
        means[category] = sum(rewards) / len(rewards)
    return means


@pytest.mark.parametrize("split", ["train", "test"])
def test_oracle_scores_one_on_every_category(split: str) -> None:
    env = FunctionCallingEnv()
    means = _mean_by_category([_oracle_episode(env, i, split) for i in range(60)])
    assert means == {c: 1.0 for c in CATEGORIES}


def test_oracle_with_partial_credit_also_scores_one() -> None:
    env = FunctionCallingEnv(partial_credit=True, seed=5)
    means = _mean_by_category([_oracle_episode(env, i, "train") for i in range(36)])
    assert all(m == 1.0 for m in means.values()), means


def test_baselines_score_low_on_every_category() -> None:
    env = FunctionCallingEnv()
    random_means = _mean_by_category([_random_episode(env, i, seed=i) for i in range(60)])
    silent = []
    for i in range(60):
        env.reset(seed=0, options={"task_index": i})
        _, reward, _, _, info = env.step("I can't help with that.")
        silent.append((info["category"], reward))
    silent_means = _mean_by_category(silent)
    for category in CATEGORIES:
        if category == "irrelevance":
            # Not calling is the right action here; calling anything is wrong.
            assert silent_means[category] == 1.0 and random_means[category] == 0.0
        else:
            assert silent_means[category] == 0.0
            assert random_means[category] < 0.2, (category, random_means)


# ---- top-k tool exposure ---------------------------------------------------------------


def test_top_k_offers_the_best_ranked_tools() -> None:
    env = FunctionCallingEnv(expose_all_tools=True, tool_top_k=3)
    obs, info = env.reset(seed=0, options={"task": CONVERT_TASK})
    names = [t["function"]["name"] for t in info["tools"]]
    assert len(names) == 3 and names[0] == "convert_units"
    assert "convert_currency" in obs[0].text and "shop_checkout" not in obs[0].text
    _, info2 = env.reset(seed=0, options={"task": {**CONVERT_TASK, "request": "Pay Bob $5."}})
    assert "bank_pay" in [t["function"]["name"] for t in info2["tools"]]
    assert "convert_units" not in [t["function"]["name"] for t in info2["tools"]]


def test_tools_outside_the_top_k_cannot_be_called() -> None:
    env = FunctionCallingEnv(expose_all_tools=True, tool_top_k=2)
    env.reset(seed=0, options={"task": CONVERT_TASK})
    obs, *_ = env.step(_render(("lookup_capital", {"country": "Peru"})))
    assert obs[0].text.startswith("Error: unknown tool 'lookup_capital'")
    _, reward, _, _, info = env.step("done")
    assert info["offered_tools"] == ["convert_units", "convert_currency"]
    assert info["retrieval_recall"] == 1.0


def test_expose_all_tools_and_recall_reporting() -> None:
    _, info = FunctionCallingEnv(expose_all_tools=True).reset(
        seed=0, options={"task": CONVERT_TASK}
    )
    assert len(info["tools"]) == len(TOOL_DOMAINS)
    env = FunctionCallingEnv(tool_top_k=1)
    env.reset(seed=0, options={"task": BILL_TASK})
    _, _, _, _, info = env.step("done")
    assert len(info["offered_tools"]) == 1 and info["retrieval_recall"] == 0.5


def test_top_k_keeps_recall_high_on_generated_tasks() -> None:
    env = FunctionCallingEnv(expose_all_tools=True, tool_top_k=8)
    recalls = []
    for i in range(60):
        env.reset(seed=0, options={"task_index": i})
        _, _, _, _, info = env.step("done")
        if info["retrieval_recall"] is not None:
            recalls.append(info["retrieval_recall"])
    assert sum(recalls) / len(recalls) > 0.95


# ---- task files ------------------------------------------------------------------------


def _write(path: Path, rows: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_jsonl_tasks_drive_the_env(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.jsonl", [CONVERT_TASK, PARALLEL_TASK, "", BILL_TASK])
    test = _write(tmp_path / "test.jsonl", [IRRELEVANT_TASK])
    env = FunctionCallingEnv(tasks_file=train, test_file=test)
    assert env.num_tasks("train") == 3 and env.num_tasks("test") == 1
    _, info = env.reset(seed=0, options={"task_index": 2})
    assert info["task_id"] == "bill"
    _, info = env.reset(seed=0, options={"task_index": 0, "split": "test"})
    assert info["task_id"] == "poem"
    turngym.check_env(FunctionCallingEnv(tasks_file=train, test_file=test))


def test_jsonl_default_ids_tools_and_hash_split(tmp_path: Path) -> None:
    row = {k: v for k, v in CONVERT_TASK.items() if k not in ("id", "tools")}
    rows = [{**row, "request": f"Convert {i} km to miles."} for i in range(40)]
    for r, i in zip(rows, range(40), strict=True):
        r["expected_calls"] = [{"name": "convert_units", "arguments": {"value": [i]}}]
    path = _write(tmp_path / "many.jsonl", rows)
    tasks = load_tasks_jsonl(path)
    assert tasks[0]["id"] == "many-1" and tasks[0]["tools"] == list(TOOL_DOMAINS)
    env = FunctionCallingEnv(tasks_file=path, test_fraction=0.25)
    assert env.num_tasks("train") + env.num_tasks("test") == 40 and env.num_tasks("test") > 0


@pytest.mark.parametrize(
    "bad_row, message",
    [
        ('{"category": "simple", ', "invalid JSON"),
        ('["a list"]', "must be a JSON object"),
        ({**CONVERT_TASK, "category": "chitchat"}, "'category' must be one of"),
        ({**CONVERT_TASK, "request": ""}, "'request' must be a non-empty string"),
        ({**CONVERT_TASK, "tools": ["teleport"]}, "unknown tools \\['teleport'\\]"),
        ({**CONVERT_TASK, "expected_calls": []}, "needs a non-empty 'expected_calls'"),
        ({**CONVERT_TASK, "tools": ["lookup_capital"]}, "which is not in 'tools'"),
        (
            {
                **CONVERT_TASK,
                "expected_calls": [{"name": "convert_units", "arguments": {"v": [1]}}],
            },
            "unknown arguments \\['v'\\]",
        ),
        (
            {
                **CONVERT_TASK,
                "expected_calls": [{"name": "convert_units", "arguments": {"value": 1}}],
            },
            "non-empty list of accepted values",
        ),
        ({**IRRELEVANT_TASK, "expected_calls": CONVERT_TASK["expected_calls"]}, "takes no"),
        ({**BILL_TASK, "assertions": []}, "needs a non-empty 'assertions'"),
        ({**BILL_TASK, "assertions": [{"kind": "near", "path": ["x"]}]}, "kind must be one of"),
        ({**BILL_TASK, "state": {"garage": {}}}, "unknown sections"),
        ({**BILL_TASK, "solution": [{"name": "x"}]}, "'solution' must be a list of turns"),
        ({**CONVERT_TASK, "assertions": BILL_TASK["assertions"]}, "only 'multi_turn'"),
    ],
)
def test_malformed_task_lines_name_the_line(tmp_path: Path, bad_row: Any, message: str) -> None:
    path = _write(tmp_path / "tasks.jsonl", [CONVERT_TASK, bad_row])
    with pytest.raises(TaskFileError, match=message) as excinfo:
        load_tasks_jsonl(path)
    assert f"{path}:2:" in str(excinfo.value)


def test_missing_or_empty_task_file(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="task file not found"):
        FunctionCallingEnv(tasks_file=tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(TaskFileError, match="no tasks in file"):
        load_tasks_jsonl(tmp_path / "empty.jsonl")


def test_the_documented_task_lines_load(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "function_calling.md").read_text()
    block = doc.split("```json\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "doc.jsonl"
    path.write_text(block)
    tasks = load_tasks_jsonl(path)
    assert [t["category"] for t in tasks] == ["multiple", "irrelevance", "multi_turn"]
    env = FunctionCallingEnv(tasks_file=path, test_fraction=0.0)
    env.reset(seed=0, options={"task_index": 2})
    env.step(_render(("bank_pay", {"recipient": "Acme Power", "amount": 80.25})))
    assert env.step("Paid.")[1] == 1.0
