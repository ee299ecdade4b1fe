"""turngym/TwentyQuestions-v0: the object table, the rule-based oracle, rewards, splits."""

from __future__ import annotations

import pytest

import turngym
from turngym.envs.games.objects import OBJECTS, object_by_name
from turngym.envs.games.policies import (
    TwentyQuestionsExpert,
    play_episode,
    twenty_questions_bank,
)
from turngym.envs.games.twenty_questions import (
    EITHER_OR,
    HELP,
    TwentyQuestionsEnv,
    answer_question,
    parse_question,
)


def _ask(question: str, name: str) -> str:
    hidden = object_by_name(name)
    assert hidden is not None, name
    return answer_question(parse_question(question), hidden).text


# ---- the table ----------------------------------------------------------------------------


def test_table_has_enough_distinct_objects_with_attributes() -> None:
    assert len(OBJECTS) >= 60
    names = [n for o in OBJECTS for n in o.names]
    assert len(names) == len(set(names)), "a name or alias is used twice"
    assert len({o.category for o in OBJECTS}) >= 10
    for o in OBJECTS:
        assert o.size_cm > 0 and o.materials and o.colors and o.places, o.name
        assert o.name == o.name.lower()


# ---- the oracle: hand-made cases ---------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "name", "expected"),
    [
        ("Is it an animal?", "dog", "Yes."),
        ("Is it an animal?", "car", "No."),
        ("Is it a mammal?", "whale", "Yes."),
        ("Is it a bird?", "whale", "No."),
        ("Is it bigger than a car?", "elephant", "Yes."),
        ("Is it bigger than a car?", "cat", "No."),
        ("Is it bigger than a car?", "car", "About the same size."),
        ("Is it smaller than a person?", "cat", "Yes."),
        ("Is it larger than a breadbox?", "apple", "No."),
        ("Can you eat it?", "banana", "Yes."),
        ("Can you eat it?", "spoon", "No."),
        ("Can you eat with it?", "spoon", "Yes."),
        ("Does it have wheels?", "bicycle", "Yes."),
        ("Is it made of wood?", "guitar", "Yes."),
        ("Is it made of wood?", "trumpet", "No."),
        ("Is it found in the kitchen?", "kettle", "Yes."),
        ("Is it found in the living room?", "sofa", "Yes."),
        ("Is it a kitchen utensil?", "fork", "Yes."),
        ("Does it live in water?", "shark", "Yes."),
        ("Does it fit in your pocket?", "key", "Yes."),
        ("Does it fit in your pocket?", "laptop", "No."),
        ("Is it alive?", "oak tree", "Yes."),
        ("Is it man-made?", "oak tree", "No."),
        ("Is it electronic?", "laptop", "Yes."),
        ("Is it red?", "strawberry", "Yes."),
        ("Is it red?", "car", "It comes in many colors."),
        ("Is it a red fruit?", "banana", "No."),
        ("Is it a farm animal?", "cow", "Yes."),
        ("Can it fly?", "eagle", "Yes."),
        ("Hmm, I have a hunch. Can it fly?", "penguin", "No."),
    ],
)
def test_oracle_answers(question: str, name: str, expected: str) -> None:
    assert _ask(question, name) == expected


def test_guesses_and_unknown_questions() -> None:
    assert _ask("Is it a dog?", "dog") == "Yes! It is a dog."
    assert _ask("Is it a puppy?", "dog") == "Yes! It is a dog."  # aliases count
    assert _ask("<guess>Frying Pan</guess>", "frying pan").startswith("Yes!")
    assert _ask("Is it a cat?", "dog") == "No, it is not a cat."
    # an unknown noun after "Is it a": a wrong guess (the object is always in the table),
    # answered without claiming what the noun is ("Is it a predator?" is a trait question)
    assert _ask("Is it a unicorn?", "dog") == (
        "Nothing I know is called 'unicorn', so if that was a guess, it is wrong."
    )
    assert _ask("<guess>unicorn</guess>", "dog").startswith("Nothing I know")
    assert _ask("Is it a predator?", "lion") == "Yes."
    assert _ask("Is it taller than me?", "lion") == "Yes."
    assert _ask("What color is it?", "dog") == HELP
    assert _ask("Is it old?", "dog") == HELP  # no article: not a guess, not understood
    assert _ask("Is it an animal or a plant?", "dog") == EITHER_OR
    zorb = _ask("Is it bigger than a zorb?", "dog")
    assert "zorb" in zorb and "car" in zorb
    assert parse_question("Is it a dog?").kind == "guess"
    assert parse_question("Is it an animal?").kind == "query"


def test_every_expert_bank_question_is_understood() -> None:
    bank = twenty_questions_bank()
    assert len(bank) >= 60
    assert [q for q in bank if parse_question(q).kind != "query"] == []


# ---- the env ------------------------------------------------------------------------------


def test_check_env_and_turn_cap() -> None:
    turngym.check_env(turngym.make("turngym/TwentyQuestions-v0"))
    spec = turngym.spec("turngym/TwentyQuestions-v0")
    assert [w.kwargs for w in spec.additional_wrappers] == [{"max_turns": 30}]


def test_correct_guess_ends_with_reward_and_question_cost() -> None:
    env = TwentyQuestionsEnv(question_cost=0.05)
    obs, info = env.reset(options={"task": {"id": "t", "object": "bicycle"}})
    assert [m.role for m in obs] == ["system", "user"] and info["task_id"] == "t"
    obs, reward, terminated, _, info = env.step("Is it a vehicle?")
    assert obs[0].text == "Yes. (19 questions left)" and reward == pytest.approx(-0.05)
    assert not terminated and info["questions"] == 1
    _, reward, terminated, _, info = env.step("Is it a car?")
    assert not terminated and info["wrong_guesses"] == 1
    _, reward, terminated, truncated, info = env.step("Is it a bike?")
    assert terminated and not truncated and info["success"] is True
    assert reward == pytest.approx(1.0 - 0.05)
    assert info["stop_reason"] == "terminated" and info["object"] == "bicycle"


def test_running_out_of_questions_is_a_loss() -> None:
    env = TwentyQuestionsEnv(max_questions=3)
    env.reset(options={"task": {"id": "t", "object": "cat"}})
    total = 0.0
    for turn in range(3):
        obs, reward, terminated, _, info = env.step("Tell me about it.")
        total += reward
        assert terminated == (turn == 2)
    assert obs == () and info["success"] is False and info["not_understood"] == 3
    assert total == 0.0


def test_bad_arguments_are_clear_errors() -> None:
    env = TwentyQuestionsEnv()
    with pytest.raises(ValueError, match="unknown object 'dragon'"):
        env.reset(options={"task": {"id": "t", "object": "dragon"}})
    with pytest.raises(ValueError, match="max_questions"):
        TwentyQuestionsEnv(max_questions=0)
    with pytest.raises(ValueError, match="question_cost"):
        TwentyQuestionsEnv(question_cost=-1)
    with pytest.raises(ValueError, match="test_fraction"):
        TwentyQuestionsEnv(test_fraction=1.5)


def test_splits_are_disjoint_seeded_and_cover_the_table() -> None:
    env = TwentyQuestionsEnv(seed=0)
    train = [env.get_task(i, "train")["object"] for i in range(env.num_tasks("train"))]
    test = [env.get_task(i, "test")["object"] for i in range(env.num_tasks("test"))]
    assert not set(train) & set(test) and len(test) >= 10
    assert sorted(train + test) == sorted(o.name for o in OBJECTS)
    reordered = TwentyQuestionsEnv(seed=1)
    other = [reordered.get_task(i, "test")["object"] for i in range(len(test))]
    assert set(other) == set(test) and other != test  # same members, another order
    with pytest.raises(IndexError, match="out of range"):
        env.get_task(len(test), "test")


def test_expert_finds_every_object() -> None:
    env = TwentyQuestionsEnv()
    expert = TwentyQuestionsExpert()
    turns = []
    for o in OBJECTS:
        result = play_episode(env, expert, options={"task": {"id": o.name, "object": o.name}})
        assert result.success, o.name
        turns.append(result.turns)
    assert max(turns) <= 12
