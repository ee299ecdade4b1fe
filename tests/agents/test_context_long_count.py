"""``turngym/LongCount-v0``: the long-horizon env the context policies are tested on."""

from __future__ import annotations

import pytest

import turngym
from turngym.envs.long_horizon import LongCountEnv


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
    ],
)
def test_bad_kwargs_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LongCountEnv(**kwargs)
