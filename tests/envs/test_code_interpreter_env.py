"""turngym/CodeInterpreter-v0: conformance, oracle episodes, errors as observations."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

import turngym
from turngym.core import Message, StopReason
from turngym.envs.code_interpreter import CodeInterpreterEnv
from turngym.envs.math_tasks import TaskFileError

SQUARES = {"id": "squares", "question": "What is 1^2 + 2^2 + ... + 10^2?", "answer": "385"}
ORACLE_CODE = "```python\nprint(sum(k * k for k in range(1, 11)))\n```"


@pytest.fixture
def env() -> CodeInterpreterEnv:
    e = CodeInterpreterEnv(timeout_s=1.0)
    yield e
    e.close()


def _reset(env: CodeInterpreterEnv, task: dict[str, Any] = SQUARES) -> tuple[Message, ...]:
    obs, _ = env.reset(seed=0, options={"task": task})
    return obs


# ---- conformance -----------------------------------------------------------------------


@pytest.mark.parametrize("tool_format", ["python", "hermes"])
def test_check_env_passes(tool_format: str) -> None:
    env = turngym.make("turngym/CodeInterpreter-v0", tool_format=tool_format)
    turngym.check_env(env)  # includes gymnasium's own checker


def test_registered_with_turn_cap() -> None:
    spec = turngym.spec("turngym/CodeInterpreter-v0")
    assert [w.kwargs for w in spec.additional_wrappers] == [{"max_turns": 6}]


def test_first_observation(env: CodeInterpreterEnv) -> None:
    obs, info = env.reset(seed=1)
    assert [m.role for m in obs] == ["system", "user"]
    assert "```python" in obs[0].text and "\\boxed{" in obs[0].text
    assert obs[1].text == env.task["question"]
    assert info["tools"] == [] and info["task_id"] == env.task["id"]


def test_hermes_reports_the_tool_schema() -> None:
    env = CodeInterpreterEnv(tool_format="hermes")
    obs, info = env.reset(seed=0)
    assert [t["function"]["name"] for t in info["tools"]] == ["python"]
    assert "<tools>" in obs[0].text and "<tool_call>" in obs[0].text
    env.close()


def test_hermes_tools_in_prompt_can_be_left_to_the_template() -> None:
    env = CodeInterpreterEnv(tool_format="hermes", tools_in_prompt=False)
    obs, info = env.reset(seed=0)
    assert "<tools>" not in obs[0].text and "<tool_call>" in obs[0].text
    assert [t["function"]["name"] for t in info["tools"]] == ["python"]
    env.close()


def test_system_prompt_override() -> None:
    env = CodeInterpreterEnv(system_prompt="Be brief.")
    obs, _ = env.reset(seed=0)
    assert obs[0] == Message("system", "Be brief.")
    env.close()


def test_task_options_select_by_split_and_index(env: CodeInterpreterEnv) -> None:
    obs, info = env.reset(seed=0, options={"task_index": 3, "split": "test"})
    assert info["task_id"] == env.get_task(3, "test")["id"]
    assert obs[1].text == env.get_task(3, "test")["question"]


# ---- oracle episodes -------------------------------------------------------------------


def test_oracle_episode_gets_reward_one(env: CodeInterpreterEnv) -> None:
    _reset(env)
    obs, reward, terminated, truncated, info = env.step(ORACLE_CODE)
    assert obs == (Message("tool", "385", name="python"),)
    assert reward == 0.0 and not terminated and not truncated
    assert info["tool_calls"] == 1 and info["tool_errors"] == 0
    obs, reward, terminated, truncated, info = env.step("So the sum is \\boxed{385}.")
    assert obs == ()
    assert reward == 1.0 and terminated and not truncated
    assert info["answer"] == "385" and info["correct"] is True and info["success"] is True
    assert info["stop_reason"] == StopReason.TERMINATED.value
    assert info["turns"] == 2


def test_wrong_answer_scores_zero_and_ends(env: CodeInterpreterEnv) -> None:
    _reset(env)
    _, reward, terminated, _, info = env.step("\\boxed{384}")
    assert reward == 0.0 and terminated
    assert info["correct"] is False and info["success"] is False


def test_generated_task_oracle(env: CodeInterpreterEnv) -> None:
    for index in range(5):
        env.reset(seed=0, options={"task_index": index})
        answer = env.task["answer"]
        _, reward, terminated, _, _ = env.step(f"```python\nprint({answer!r})\n```")
        assert not terminated
        _, reward, terminated, _, _ = env.step(f"\\boxed{{{answer}}}")
        assert terminated and reward == 1.0


def test_format_reward() -> None:
    env = CodeInterpreterEnv(format_reward=0.1)
    _reset(env)
    assert env.step("\\boxed{385}")[1] == pytest.approx(1.1)
    _reset(env)
    assert env.step("\\boxed{384}")[1] == pytest.approx(0.1)
    _reset(env)
    assert env.step("\\boxed{no idea}")[1] == 0.0
    env.close()


def test_final_answer_wins_over_code(env: CodeInterpreterEnv, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    _reset(env)
    action = f"```python\nopen({str(marker)!r}, 'w')\n```\n\\boxed{{385}}"
    _, reward, terminated, _, info = env.step(action)
    assert terminated and reward == 1.0
    assert info["tool_calls"] == 0
    assert not marker.exists()


def test_boxed_inside_code_is_not_an_answer(env: CodeInterpreterEnv) -> None:
    _reset(env)
    obs, _, terminated, _, _ = env.step("```python\nprint('\\\\boxed{385}')\n```")
    assert not terminated
    assert obs[0].text == "\\boxed{385}"


def test_state_persists_across_turns_and_resets_between_episodes(env: CodeInterpreterEnv) -> None:
    _reset(env)
    env.step("```python\nn = 10\n```")
    obs, *_ = env.step("```python\nprint(sum(k * k for k in range(1, n + 1)))\n```")
    assert obs[0].text == "385"
    _reset(env)
    obs, *_, info = env.step("```python\nprint(n)\n```")
    assert "NameError" in obs[0].text
    assert info["tool_errors"] == 1


def test_several_blocks_run_in_order(env: CodeInterpreterEnv) -> None:
    _reset(env)
    obs, *_, info = env.step("```python\na = 2\nprint(a)\n```\nand\n```py\nprint(a * 3)\n```")
    assert [m.text for m in obs] == ["2", "6"]
    assert all(m.role == "tool" and m.name == "python" for m in obs)
    assert info["tool_calls"] == 2


def test_calls_beyond_the_per_turn_cap_are_skipped() -> None:
    env = CodeInterpreterEnv(max_calls_per_turn=2)
    _reset(env)
    obs, *_, info = env.step("\n".join(f"```python\nprint({i})\n```" for i in range(4)))
    assert [m.text for m in obs[:2]] == ["0", "1"]
    assert obs[2].role == "user" and "2 more were skipped" in obs[2].text
    assert info["tool_calls"] == 2
    env.close()


# ---- errors are observations -----------------------------------------------------------


def test_python_error_is_an_observation(env: CodeInterpreterEnv) -> None:
    _reset(env)
    obs, reward, terminated, truncated, info = env.step("```python\nprint(1 / 0)\n```")
    assert not terminated and not truncated and reward == 0.0
    assert obs[0].role == "tool" and "ZeroDivisionError" in obs[0].text
    assert info["tool_calls"] == 1 and info["tool_errors"] == 1


def test_infinite_loop_is_an_observation(env: CodeInterpreterEnv) -> None:
    _reset(env)
    start = time.monotonic()
    obs, _, terminated, _, info = env.step("```python\nwhile True:\n    pass\n```")
    assert time.monotonic() - start < 5.0
    assert not terminated
    assert obs[0].text == "[timed out after 1s]"
    assert info["tool_errors"] == 1


def test_malformed_call_is_an_observation(env: CodeInterpreterEnv) -> None:
    _reset(env)
    obs, _, terminated, _, info = env.step("```python\nprint('never closed')\n")
    assert not terminated
    assert len(obs) == 1 and obs[0].role == "user"
    assert "unclosed ```python block" in obs[0].text
    assert info["parse_errors"] == 1 and info["tool_calls"] == 0


def test_hermes_errors() -> None:
    env = CodeInterpreterEnv(tool_format="hermes")
    _reset(env)
    obs, _, _, _, info = env.step('<tool_call>{"name": "python", "arguments": </tool_call>')
    assert obs[0].role == "user" and "invalid JSON" in obs[0].text
    assert info["parse_errors"] == 1
    obs, _, _, _, info = env.step(
        '<tool_call>{"name": "shell", "arguments": {"cmd": "ls"}}</tool_call>'
    )
    assert obs[0] == Message(
        "tool", "Error: unknown tool 'shell'; the only tool is 'python'.", name="shell"
    )
    obs, _, _, _, info = env.step(
        '<tool_call>{"name": "python", "arguments": {"src": "1"}}</tool_call>'
    )
    assert "argument 'src' is not a parameter" in obs[0].text
    assert info["tool_calls"] == 2 and info["tool_errors"] == 2
    obs, *_ = env.step(
        '<tool_call>{"name": "python", "arguments": {"code": "print(385)"}}</tool_call>'
    )
    assert obs == (Message("tool", "385", name="python"),)
    env.close()


def test_void_turn_nudges(env: CodeInterpreterEnv) -> None:
    _reset(env)
    obs, reward, terminated, _, info = env.step("Let me think about it.")
    assert not terminated and reward == 0.0
    assert obs[0].role == "user" and "```python" in obs[0].text
    assert info["void_turns"] == 1


def test_turn_cap_truncates() -> None:
    env = turngym.make("turngym/CodeInterpreter-v0")
    env.reset(seed=0)
    for _ in range(5):
        assert env.step("hmm")[2:4] == (False, False)
    _, _, terminated, truncated, info = env.step("hmm")
    assert truncated and not terminated
    assert info["stop_reason"] == StopReason.TURN_LIMIT.value
    env.close()


def test_infos_are_deterministic_and_fresh(env: CodeInterpreterEnv) -> None:
    infos = []
    for _ in range(2):
        _reset(env)
        infos.append(env.step("```python\nimport time\nprint(1 / 0)\n```")[4])
    assert infos[0] == infos[1]
    assert infos[0] is not infos[1]
    assert all(isinstance(v, (int, bool, str)) for v in infos[0].values())


def test_close_is_idempotent_and_env_reusable() -> None:
    env = CodeInterpreterEnv()
    env.close()
    env.close()
    _reset(env)
    assert env.step(ORACLE_CODE)[0][0].text == "385"
    env.close()


def test_probe_actions_include_the_correct_answer(env: CodeInterpreterEnv) -> None:
    assert "\\boxed{0}" in env.probe_actions()
    _reset(env)
    assert "The answer is \\boxed{385}." in env.probe_actions()


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="unknown tool-call format"):
        CodeInterpreterEnv(tool_format="xml")
    with pytest.raises(ValueError, match="known backends"):
        CodeInterpreterEnv(sandbox_backend="nope")
    with pytest.raises(ValueError, match="levels"):
        CodeInterpreterEnv(levels=[7])
    with pytest.raises(ValueError, match="test_file needs tasks_file"):
        CodeInterpreterEnv(test_file="x.jsonl")
    env = CodeInterpreterEnv()
    with pytest.raises(ValueError, match="lacks"):
        env.reset(options={"task": {"question": "no answer"}})
    env.close()


# ---- task files ------------------------------------------------------------------------


def test_tasks_from_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    rows = [{"question": f"What is {i} + {i}?", "answer": 2 * i} for i in range(50)]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    env = CodeInterpreterEnv(tasks_file=path, test_fraction=0.2)
    assert env.num_tasks("train") + env.num_tasks("test") == 50
    obs, _ = env.reset(seed=0, options={"task_index": 0})
    question = obs[1].text
    i = int(question.split()[2])
    _, reward, terminated, _, _ = env.step(f"\\boxed{{{2 * i}}}")
    assert terminated and reward == 1.0
    env.close()


def test_bad_jsonl_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_text('{"question": "q", "answer": "1"}\n{"question": "q2"}\n')
    with pytest.raises(TaskFileError, match=r"tasks\.jsonl:2: \"answer\""):
        CodeInterpreterEnv(tasks_file=path)
