"""The shared helpers behind the task sets, the tool-using envs and the question games."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from turngym.core.messages import Message, ToolCall
from turngym.envs.base import Task
from turngym.envs.games.question_game import QuestionGameEnv
from turngym.envs.task_files import (
    FixedTaskSet,
    TaskFileError,
    check_generator_index,
    hash_split,
    iter_jsonl_rows,
    train_test_from_jsonl,
)
from turngym.tools.formats import ParseResult, ToolCallParseError
from turngym.tools.tool_turns import run_tool_calls


def _write(path: Path, rows: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def _load(path: str | Path) -> list[Task]:
    return [row for _, _, row in iter_jsonl_rows(Path(path))]


def _by_text(task: Task, fraction: float) -> str:
    return "test" if task["q"] < "b" and fraction > 0 else "train"


def test_jsonl_rows_skip_blank_lines_and_name_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.jsonl", [{"q": "a"}, "", {"q": "b"}])
    assert [(n, w) for n, w, _ in iter_jsonl_rows(path)] == [(1, f"{path}:1"), (3, f"{path}:3")]
    bad = _write(tmp_path / "bad.jsonl", [{"q": "a"}, '{"q": '])
    with pytest.raises(TaskFileError, match=f"{bad}:2: invalid JSON"):
        list(iter_jsonl_rows(bad))
    with pytest.raises(FileNotFoundError):
        list(iter_jsonl_rows(tmp_path / "missing.jsonl"))


def test_generator_index_errors_say_the_split_size() -> None:
    check_generator_index(10**6, "train", 5)  # the train split is unbounded
    check_generator_index(4, "test", 5)
    with pytest.raises(IndexError, match="5 tasks"):
        check_generator_index(5, "test", 5)
    with pytest.raises(IndexError, match="unbounded"):
        check_generator_index(-1, "train", 5)


def test_train_test_split_filter_and_empty_train(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.jsonl", [{"q": "a", "k": 1}, {"q": "c", "k": 1}, {"q": "d"}])
    train, test = train_test_from_jsonl(
        path, test_path=None, test_fraction=0.5, load=_load, split_of=_by_text
    )
    assert [t["q"] for t in train] == ["c", "d"] and [t["q"] for t in test] == ["a"]
    assert hash_split(_load(path), 0.5, _by_text) == (train, test)
    train, test = train_test_from_jsonl(
        path,
        test_path=None,
        test_fraction=0.5,
        load=_load,
        split_of=_by_text,
        keep=lambda t: "k" in t,
    )
    assert [t["q"] for t in train] == ["c"] and [t["q"] for t in test] == ["a"]
    with pytest.raises(TaskFileError, match="after the test split and level filter"):
        train_test_from_jsonl(
            path,
            test_path=None,
            test_fraction=0.5,
            load=_load,
            split_of=_by_text,
            keep=lambda t: False,
            filter_name="level filter",
        )
    with pytest.raises(ValueError, match="test_fraction must be in"):
        train_test_from_jsonl(
            path, test_path=None, test_fraction=1.0, load=_load, split_of=_by_text
        )
    other = _write(tmp_path / "test.jsonl", [{"q": "z"}])
    train, test = train_test_from_jsonl(
        path, test_path=other, test_fraction=1.0, load=_load, split_of=_by_text
    )
    assert len(train) == 3 and test == [{"q": "z"}]


def test_fixed_task_set_hands_out_copies() -> None:
    tasks = FixedTaskSet([{"id": "a", "n": 1}], [])
    assert tasks.num_tasks("train") == 1 and tasks.num_tasks("test") == 0
    first = tasks.get_task(0)
    first["n"] = 2
    assert tasks.get_task(0)["n"] == 1
    with pytest.raises(IndexError, match="out of range for the test split"):
        tasks.get_task(0, "test")
    with pytest.raises(ValueError, match="split must be one of"):
        tasks.num_tasks("dev")


def test_run_tool_calls_caps_notes_and_counts_parse_errors() -> None:
    counts = {"parse_errors": 0}
    parsed = ParseResult(
        calls=[ToolCall("f", {"i": i}) for i in range(3)],
        errors=[ToolCallParseError("bad JSON", "{")],
    )
    messages = run_tool_calls(
        parsed,
        lambda call: Message("tool", str(call.arguments["i"]), name=call.name),
        max_calls=2,
        skip_note="Only {limit} run; {skipped} more were skipped.",
        counts=counts,
    )
    assert [(m.role, m.text) for m in messages[:3]] == [
        ("tool", "0"),
        ("tool", "1"),
        ("user", "Only 2 run; 1 more were skipped."),
    ]
    assert messages[3].role == "user" and "- bad JSON" in messages[3].text
    assert counts["parse_errors"] == 1


class _Reply:
    def __init__(self, text: str, kind: str, correct: bool = False):
        self.text, self.kind, self.correct = text, kind, correct


class _EchoGame(QuestionGameEnv):
    """A question game whose oracle is scripted by the action text."""

    def answer(self, action: str) -> _Reply:
        if action == "win":
            return _Reply("Yes!", "guess", correct=True)
        if action == "miss":
            return _Reply("No.", "guess")
        return _Reply("?", "help")

    def final_info(self) -> dict[str, Any]:
        return {"item": "x"}


def test_question_game_counts_pays_and_ends() -> None:
    game = _EchoGame(max_questions=3, question_cost=0.5, success_reward=2.0)
    first = game.on_action("miss")
    assert first.messages[0].text == "No. (2 questions left)" and first.reward == -0.5
    game.on_action("huh")
    assert game.episode_info() == {"questions": 2, "wrong_guesses": 1, "not_understood": 1}
    last = game.on_action("win")
    assert last.done and last.reward == 1.5 and last.info == {"success": True, "item": "x"}
    game.reset_counts()
    assert game.episode_info()["questions"] == 0
    with pytest.raises(ValueError, match="max_questions"):
        _EchoGame(max_questions=0, question_cost=0.0, success_reward=1.0)
    with pytest.raises(NotImplementedError, match="answer"):
        QuestionGameEnv(max_questions=1, question_cost=0.0, success_reward=1.0).on_action("")
