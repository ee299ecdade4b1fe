"""``turngym/LongCount-v0``: the long-horizon env the context policies are tested on."""

from __future__ import annotations

import pytest

import turngym
from turngym.envs.long_horizon import NOTE_REQUEST, LongCountEnv, answer


def play_oracle(env, answer_offset: int = 0) -> tuple[float, int, dict]:
    """Read every record, keep the total in the replies, answer (optionally wrong)."""
    obs, info = env.reset(seed=0, options={"task_index": 3, "split": "test"})
    total, turns, reward = 0, 0, 0.0
    action = "ready"
    while True:
        obs, reward, terminated, truncated, info = env.step(action)
        turns += 1
        if terminated or truncated:
            return reward, turns, info
        first = obs[0].text.splitlines()[0]
        total += int(first.split("value = ")[1])
        done = "last record" in obs[0].text
        action = f"\\boxed{{{total + answer_offset}}}" if done else f"total so far {total}"


def test_registered_env_passes_the_checker_and_plays_to_the_end():
    env = turngym.make("turngym/LongCount-v0")
    turngym.check_env(env)
    reward, turns, info = play_oracle(env)
    assert reward == 1.0 and info["success"] is True and info["stop_reason"] == "terminated"
    assert turns == 8 + 1 and info["records_shown"] == 8
    env.close()


def test_wrong_sum_scores_zero_and_tasks_are_deterministic():
    env = LongCountEnv(num_records=3, filler_lines=2)
    reward, turns, info = play_oracle(env, answer_offset=1)
    assert reward == 0.0 and info["success"] is False and turns == 4
    assert env.get_task(5) == LongCountEnv(num_records=3, filler_lines=2).get_task(5)
    assert env.get_task(5) != env.get_task(6)
    assert env.get_task(5, "train") != env.get_task(5, "test")
    assert len(env.get_task(0)["fillers"][0]) == 2
    assert env.num_tasks("train") == 1000 and env.num_tasks("test") == 250


def test_history_grows_with_filler_lines():
    short = LongCountEnv(num_records=2, filler_lines=0)
    long = LongCountEnv(num_records=2, filler_lines=20)
    lengths = []
    for env in (short, long):
        env.reset(seed=0, options={"task_index": 0})
        (msg,), *_ = env.step("ready")
        lengths.append(len(msg.text))
    assert lengths[1] > lengths[0] + 20 * 20


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_records": 0}, "num_records must be >= 1"),
        ({"filler_lines": -1}, "filler_lines must be >= 0"),
        ({"max_value": 0}, "max_value must be >= 1"),
        ({"num_train_tasks": 0}, "num_train_tasks must be >= 1"),
        ({"question": "median"}, "question must be one of"),
        ({"answer_format": "plain"}, "answer_format must be 'boxed' or 'first_line_number'"),
    ],
)
def test_bad_kwargs_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LongCountEnv(**kwargs)


def play_replies(env: LongCountEnv, final: str, index: int = 3) -> tuple[float, list[str], dict]:
    """Reply ``noted`` to every record and ``final`` to the question; return the prompts."""
    obs, _ = env.reset(seed=0, options={"task_index": index, "split": "test"})
    shown = [m.text for m in obs]
    action = "ready"
    while True:
        obs, reward, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return reward, shown, info
        shown.extend(m.text for m in obs)
        action = final if "last record" in obs[0].text else "noted"


@pytest.mark.parametrize("question", ["first", "max", "sum"])
def test_each_question_scores_its_own_answer(question):
    env = LongCountEnv(num_records=5, filler_lines=1, question=question)
    values = env.get_task(3, "test")["values"]
    right = {"first": values[0], "max": max(values), "sum": sum(values)}[question]
    assert answer(values, question) == right
    reward, shown, info = play_replies(env, f"\\boxed{{{right}}}")
    assert reward == 1.0 and info["success"] is True
    question_text = {"first": "value of record 1", "max": "largest", "sum": "sum of all 5"}
    assert question_text[question] in shown[-1]
    system_text = {"first": "value of record 1", "max": "largest value", "sum": "their sum"}
    assert system_text[question] in shown[0]  # the system prompt says what to keep
    # a value the question does not ask for scores 0 (the ledger has distinct candidates)
    wrong = next(v for v in (right + 1, right - 1) if v != right)
    reward, _, info = play_replies(
        LongCountEnv(num_records=5, filler_lines=1, question=question), f"\\boxed{{{wrong}}}"
    )
    assert reward == 0.0 and info["success"] is False


def test_first_line_number_accepts_a_plain_answer_and_ignores_copied_filler():
    values = LongCountEnv(num_records=4).get_task(3, "test")["values"]
    plain = f"Record 1: value = {values[0]}\n[0909] flush cache merge index"
    lenient = LongCountEnv(num_records=4, question="first", answer_format="first_line_number")
    assert play_replies(lenient, plain)[0] == 1.0
    assert play_replies(lenient, f"\n\nThe value of record 1 is {values[0]}.")[0] == 1.0
    # a boxed answer still wins over the first line, and must be right
    assert play_replies(lenient, f"{values[0]} \\boxed{{{values[0] + 1}}}")[0] == 0.0
    assert play_replies(lenient, f"Record 1: value = {values[0] + 1}\n{values[0]}")[0] == 0.0
    assert play_replies(lenient, "I do not know.")[0] == 0.0
    # the default format wants \boxed{}
    strict = LongCountEnv(num_records=4, question="first")
    assert play_replies(strict, plain)[0] == 0.0


def test_notes_mode_asks_for_a_note_after_every_record_but_the_last():
    env = LongCountEnv(num_records=3, filler_lines=1, ask_for_notes=True)
    _, shown, _ = play_replies(env, "\\boxed{0}")
    records = [t for t in shown if t.startswith("Record ")]
    assert len(records) == 3
    for i, text in enumerate(records[:-1], start=1):
        assert text.endswith(NOTE_REQUEST.format(index=i))
    assert "Reply with" not in records[-1] and "last record" in records[-1]
    assert "Record 0: value = 0" in shown[1]  # the kickoff shows the note form
    _, plain, _ = play_replies(LongCountEnv(num_records=3, filler_lines=1), "\\boxed{0}")
    assert not any("Reply with" in t for t in plain) and "Say 'ready'" in plain[1]
