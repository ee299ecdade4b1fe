"""The scripted game policies: experts beat random play on every game; shared helpers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import turngym
from turngym.envs.games.common import ItemSplits, extract_tag, fold, last_question
from turngym.envs.games.policies import (
    GamePolicy,
    GuessMyCityExpert,
    MazeExpert,
    RandomCityPolicy,
    RandomMazePolicy,
    RandomTwentyQuestionsPolicy,
    RandomWordlePolicy,
    TwentyQuestionsExpert,
    WordleExpert,
    play_episode,
)

EPISODES = 30

GAMES: dict[str, tuple[Callable[[], GamePolicy], Callable[[int], GamePolicy]]] = {
    "turngym/TwentyQuestions-v0": (TwentyQuestionsExpert, RandomTwentyQuestionsPolicy),
    "turngym/GuessMyCity-v0": (GuessMyCityExpert, RandomCityPolicy),
    "turngym/Wordle-v0": (WordleExpert, RandomWordlePolicy),
    "turngym/TextMaze-v0": (MazeExpert, RandomMazePolicy),
}


def _mean_return(env_id: str, policy: GamePolicy, split: str) -> tuple[float, float]:
    env = turngym.make(env_id)
    total = env.unwrapped.num_tasks(split)
    results = [
        play_episode(env, policy, seed=seed, options={"task_index": seed % total, "split": split})
        if total is not None
        else play_episode(env, policy, seed=seed, options={"task_index": seed, "split": split})
        for seed in range(EPISODES)
    ]
    env.close()
    return float(np.mean([r.total_reward for r in results])), float(
        np.mean([r.success for r in results])
    )


@pytest.mark.parametrize("env_id", sorted(GAMES))
def test_expert_clearly_beats_random_on_test_tasks(env_id: str) -> None:
    make_expert, make_random = GAMES[env_id]
    expert_return, expert_success = _mean_return(env_id, make_expert(), "test")
    random_return, random_success = _mean_return(env_id, make_random(0), "test")
    assert expert_success >= 0.9, (env_id, expert_success)
    assert random_success <= 0.3, (env_id, random_success)
    assert expert_return > random_return + 0.5, (env_id, expert_return, random_return)


def test_play_episode_stops_a_runaway_episode() -> None:
    env = turngym.envs.games.TextMazeEnv()  # built directly: no turn cap
    with pytest.raises(RuntimeError, match="did not end within 5 turns"):
        play_episode(env, RandomMazePolicy(seed=0), seed=0, max_turns=5)


def test_random_policy_rejects_bad_guess_probability() -> None:
    with pytest.raises(ValueError, match="guess_probability"):
        RandomCityPolicy(guess_probability=2.0)


# ---- shared helpers -----------------------------------------------------------------------


def test_item_splits() -> None:
    keys = [f"item{i}" for i in range(50)]
    splits = ItemSplits(keys, test_fraction=0.3, salt="s", seed=0)
    train, test = splits.keys("train"), splits.keys("test")
    assert sorted(train + test) == sorted(keys) and not set(train) & set(test)
    assert ItemSplits(keys, test_fraction=0.3, salt="s", seed=0).keys("test") == test
    assert splits.key_at(0, "test") == test[0]
    with pytest.raises(ValueError, match="unique"):
        ItemSplits(["a", "a"], test_fraction=0.5, salt="s")
    with pytest.raises(ValueError, match="leaves the"):
        ItemSplits(["a"], test_fraction=0.5, salt="s")
    with pytest.raises(ValueError, match="test_fraction"):
        ItemSplits(keys, test_fraction=0.0, salt="s")


def test_text_helpers() -> None:
    assert last_question("Let me think. Is it big? Hmm. Is it red?\nok") == "Is it red?"
    assert last_question("no question here") == "no question here"
    assert extract_tag("a <guess>x</guess> b <GUESS> Y </GUESS>", "guess") == "Y"
    assert extract_tag("none", "guess") is None
    assert fold("São  Paulo!") == "sao paulo" and fold("Washington D.C.") == "washington d c"
