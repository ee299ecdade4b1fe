"""turngym/Wordle-v0: feedback with repeated letters, invalid words, rewards, word list."""

from __future__ import annotations

import pytest

import turngym
from turngym.envs.games.wordle import WORDS, WordleEnv, format_feedback, wordle_feedback

TASK = {"id": "t", "answer": "sleep"}


# ---- feedback: hand-checked against real Wordle's rules -----------------------------------


@pytest.mark.parametrize(
    ("guess", "answer", "expected"),
    [
        ("crane", "crane", "G G G G G"),
        ("crane", "mound", "X X X G X"),
        ("crane", "react", "Y Y G X Y"),
        # one E in the answer: only one E of the guess may be marked
        ("speed", "abide", "X X Y X Y"),
        ("geese", "those", "X X X G G"),  # the green E at the end uses the only E
        ("eerie", "those", "X X X X G"),
        # two E's in the answer, three in the guess: greens first, then one yellow, then gray
        ("eerie", "geese", "Y G X X G"),
        ("geese", "eerie", "X G Y X G"),
        # two L's in the answer, both out of place: both yellow
        ("llama", "hello", "Y Y X X X"),
        # repeated letter in the answer, single in the guess
        ("label", "hello", "Y X X Y Y"),
        ("babes", "abbey", "Y Y G G X"),
        ("kebab", "abbey", "X Y G Y Y"),
        ("apple", "paper", "Y Y G X Y"),
    ],
)
def test_feedback(guess: str, answer: str, expected: str) -> None:
    assert " ".join(wordle_feedback(guess, answer)) == expected


def test_feedback_rejects_wrong_lengths_and_formats() -> None:
    with pytest.raises(ValueError, match="five-letter"):
        wordle_feedback("cat", "crane")
    assert format_feedback("crane", ("G", "X", "Y", "X", "X")) == "CRANE: G X Y X X"


def test_word_list() -> None:
    assert len(WORDS) >= 300 and len(set(WORDS)) == len(WORDS)
    assert all(len(w) == 5 and w.isalpha() and w.islower() for w in WORDS)


# ---- the env ------------------------------------------------------------------------------


def test_check_env_and_turn_cap() -> None:
    turngym.check_env(turngym.make("turngym/Wordle-v0"))
    spec = turngym.spec("turngym/Wordle-v0")
    assert [w.kwargs for w in spec.additional_wrappers] == [{"max_turns": 12}]


def test_solving_gives_the_reward_and_guess_cost() -> None:
    env = WordleEnv(guess_cost=0.1)
    env.reset(options={"task": TASK})
    obs, reward, terminated, _, info = env.step("I'll start with <guess>steel</guess>")
    # S green, T absent, both E green, L yellow (SLEEP has an L elsewhere)
    assert obs[0].text == "STEEL: G X G G Y (5 guesses left)"
    assert reward == pytest.approx(-0.1) and not terminated and info["guesses"] == 1
    _, reward, terminated, _, info = env.step("sleep")  # a bare word counts as a guess
    assert terminated and info["success"] is True and reward == pytest.approx(0.9)


def test_invalid_guesses_are_not_counted_by_default() -> None:
    env = WordleEnv()
    env.reset(options={"task": TASK})
    for action, problem in [
        ("<guess>zzzzz</guess>", "not in my word list"),
        ("<guess>cat</guess>", "not a five-letter word"),
        ("I am thinking about it", "No guess found"),
    ]:
        obs, reward, terminated, _, info = env.step(action)
        assert problem in obs[0].text and "(not counted)" in obs[0].text
        assert reward == 0.0 and not terminated
    assert info["guesses"] == 0 and info["invalid_guesses"] == 3


def test_invalid_guesses_can_be_counted() -> None:
    env = WordleEnv(count_invalid=True, max_guesses=2, guess_cost=0.5)
    env.reset(options={"task": TASK})
    obs, reward, terminated, _, _ = env.step("<guess>qqqqq</guess>")
    assert "counted; 1 guess left" in obs[0].text and reward == pytest.approx(-0.5)
    _, _, terminated, _, info = env.step("<guess>qqqqq</guess>")
    assert terminated and info["success"] is False and info["answer"] == "sleep"


def test_six_wrong_guesses_lose_and_reveal_the_answer() -> None:
    env = WordleEnv()
    env.reset(options={"task": TASK})
    for turn in range(6):
        obs, reward, terminated, _, info = env.step("<guess>crane</guess>")
        assert terminated == (turn == 5) and reward == 0.0
    assert obs == () and info["success"] is False and info["answer"] == "sleep"


def test_extra_guesses_are_accepted_but_never_answers() -> None:
    env = WordleEnv(extra_guesses=("xylyl",))
    env.reset(options={"task": TASK})
    obs, *_ = env.step("<guess>xylyl</guess>")
    assert obs[0].text.startswith("XYLYL: ")
    answers = {
        env.get_task(i, s)["answer"] for s in ("train", "test") for i in range(env.num_tasks(s))
    }
    assert "xylyl" not in answers and answers == set(WORDS)


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="five lower-case letters"):
        WordleEnv(words=("apple", "Pear"))
    with pytest.raises(ValueError, match="max_guesses"):
        WordleEnv(max_guesses=0)
    with pytest.raises(ValueError, match="answer must be five letters"):
        WordleEnv().reset(options={"task": {"id": "t", "answer": "toolong"}})


def test_splits_are_disjoint() -> None:
    env = WordleEnv()
    train = {env.get_task(i, "train")["answer"] for i in range(env.num_tasks("train"))}
    test = {env.get_task(i, "test")["answer"] for i in range(env.num_tasks("test"))}
    assert not train & test and len(test) >= 50
