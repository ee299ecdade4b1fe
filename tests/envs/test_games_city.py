"""turngym/GuessMyCity-v0: the city table, the oracle's answers, guesses, rewards, splits."""

from __future__ import annotations

import re

import pytest

import turngym
from turngym.envs.games.cities import CITIES, CLIMATES, city_by_name, population_band
from turngym.envs.games.guess_my_city import (
    HELP,
    LANDMARK_REFUSAL,
    NAME_REFUSAL,
    GuessMyCityEnv,
    answer_city_question,
)
from turngym.envs.games.policies import CITY_BANK, GuessMyCityExpert, play_episode


def _ask(question: str, name: str) -> str:
    city = city_by_name(name)
    assert city is not None, name
    return answer_city_question(question, city).text


def test_table_has_enough_real_cities_with_all_fields() -> None:
    assert len(CITIES) >= 40
    assert len({c.continent for c in CITIES}) == 6
    names = [n.lower() for c in CITIES for n in c.names]
    assert len(names) == len(set(names))
    for c in CITIES:
        assert c.country and c.languages and c.landmark and c.climate in CLIMATES, c.name
        assert -90 <= c.latitude <= 90 and -180 <= c.longitude <= 180
    assert city_by_name("são paulo") is city_by_name("Sao Paulo") is not None


@pytest.mark.parametrize(
    ("question", "name", "expected"),
    [
        ("Which country is it in?", "Tokyo", "It is in Japan."),
        (
            "Which country is it in?",
            "Singapore",
            "It is a city-state: a country of its own, in Asia.",
        ),
        ("What continent is it on?", "Lima", "It is in South America."),
        ("Where is it?", "Nairobi", "It is in Kenya, in Africa."),
        ("What is it famous for?", "Paris", "It is famous for the Eiffel Tower."),
        (
            "What language do people speak there?",
            "Barcelona",
            "People there mainly speak Spanish and Catalan.",
        ),
        ("How many people live there?", "Reykjavik", "Its population is under 1 million."),
        ("How many people live there?", "Shanghai", "Its population is over 10 million."),
        (
            "What is the climate like?",
            "Dubai",
            "Its climate: hot and dry, a desert climate with little rain.",
        ),
        ("Which hemisphere is it in?", "Sydney", "It is in the southern and eastern hemispheres."),
        ("Can you tell me the country?", "Cairo", "It is in Egypt."),
        ("Is it in Europe?", "Vienna", "Yes."),
        ("Is it in Europe?", "Toronto", "No."),
        ("Is it in North America?", "Havana", "Yes."),
        ("Is it in America?", "Chicago", "Yes."),  # "America" alone: the United States
        ("Is it in America?", "Havana", "No."),
        ("Is it in South Africa?", "Cape Town", "Yes."),
        ("Is it in Africa?", "Cape Town", "Yes."),
        ("Is it in Latin America?", "Bogota", "Yes."),
        ("Is it a capital?", "Madrid", "Yes."),
        ("Is it a capital city?", "Barcelona", "No."),
        ("Is it on the coast?", "Lisbon", "Yes."),
        ("Is it by the sea?", "Chicago", "No."),  # a lake shore is not a sea coast
        ("Do they speak Spanish?", "Santiago", "Yes."),
        ("Do they speak Spanish?", "Sao Paulo", "No."),
        ("Is it hot?", "Singapore", "Yes."),
        ("Does it snow?", "Moscow", "Yes."),
        ("Is it in the southern hemisphere?", "Auckland", "Yes."),
        ("Does it have more than 5 million people?", "Berlin", "No."),
        ("Does it have more than 5 million people?", "Mumbai", "Yes."),
        ("Does it have over 10 million inhabitants?", "Tokyo", "Yes."),
        ("Is it in the Middle East?", "Dubai", "Yes."),
        ("Is it in East Asia?", "Bangkok", "No."),
        ("Is it in Southeast Asia?", "Bangkok", "Yes."),
        ("What is the city known for?", "Rome", "It is famous for the Colosseum."),
        ("Is it a coastal capital in Europe?", "Athens", "Yes."),  # conjunction
        ("Is it a coastal capital in Europe?", "Rome", "No."),
    ],
)
def test_oracle_answers_from_the_table(question: str, name: str, expected: str) -> None:
    assert _ask(question, name) == expected


def test_guesses_and_what_the_oracle_refuses() -> None:
    assert _ask("<guess>New York</guess>", "New York City") == "Yes! It is New York City."
    assert _ask("I think I know. Is it Rio?", "Rio de Janeiro").startswith("Yes!")
    assert _ask("Is it Paris?", "London") == "No, it is not Paris."
    assert _ask("Is it Springfield?", "London") == "No, it is not Springfield."
    assert _ask("What is the name of the city?", "London") == NAME_REFUSAL
    assert _ask("Tell me a joke.", "London") == HELP
    assert _ask("Is it old?", "London").startswith("I can't answer that.")
    assert _ask("Is it located on a river?", "London").startswith("I can't answer that.")
    assert "one yes/no question" in _ask("Is it in Europe or Asia?", "London")


def test_the_bank_never_reveals_the_name() -> None:
    for city in CITIES:
        for question in CITY_BANK:
            reply = answer_city_question(question, city).text
            named = [n for n in city.names if re.search(rf"\b{re.escape(n)}\b", reply, re.I)]
            assert not named, (
                city.name,
                question,
                reply,
            )


def test_population_bands() -> None:
    assert population_band(0.5) == "under 1 million"
    assert population_band(1.0) == "1 to 5 million"
    assert population_band(9.99) == "5 to 10 million"
    assert population_band(10.0) == "over 10 million"


def test_check_env_and_turn_cap() -> None:
    turngym.check_env(turngym.make("turngym/GuessMyCity-v0"))
    spec = turngym.spec("turngym/GuessMyCity-v0")
    assert [w.kwargs for w in spec.additional_wrappers] == [{"max_turns": 30}]


def test_episode_rewards_and_info() -> None:
    env = GuessMyCityEnv(question_cost=0.1, max_questions=4)
    env.reset(options={"task": {"id": "t", "city": "Osaka"}})
    obs, reward, terminated, _, info = env.step("Which country is it in?")
    assert obs[0].text == "It is in Japan. (3 questions left)" and reward == pytest.approx(-0.1)
    _, _, terminated, _, info = env.step("<guess>Tokyo</guess>")
    assert not terminated and info["wrong_guesses"] == 1
    _, reward, terminated, _, info = env.step("<guess>osaka</guess>")
    assert terminated and info["success"] is True and info["city"] == "Osaka"
    assert reward == pytest.approx(0.9)

    env.reset(options={"task": {"id": "t", "city": "Osaka"}})
    for turn in range(4):
        _, reward, terminated, _, info = env.step("<guess>Lima</guess>")
        assert terminated == (turn == 3)
    assert info["success"] is False and info["questions"] == 4


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown city 'Atlantis'"):
        GuessMyCityEnv().reset(options={"task": {"id": "t", "city": "Atlantis"}})
    with pytest.raises(ValueError, match="max_questions"):
        GuessMyCityEnv(max_questions=0)
    with pytest.raises(ValueError, match="split must be one of"):
        GuessMyCityEnv().get_task(0, "validation")


def test_splits_are_disjoint_and_cover_the_table() -> None:
    env = GuessMyCityEnv()
    train = {env.get_task(i, "train")["city"] for i in range(env.num_tasks("train"))}
    test = {env.get_task(i, "test")["city"] for i in range(env.num_tasks("test"))}
    assert not train & test and len(test) >= 5
    assert train | test == {c.name for c in CITIES}


@pytest.mark.parametrize(("reveal_landmark", "max_turns"), [(True, 3), (False, 10)])
def test_expert_finds_every_city(reveal_landmark: bool, max_turns: int) -> None:
    env = GuessMyCityEnv(reveal_landmark=reveal_landmark)
    expert = GuessMyCityExpert(reveal_landmark=reveal_landmark)
    for city in CITIES:
        result = play_episode(env, expert, options={"task": {"id": "t", "city": city.name}})
        assert result.success and result.turns <= max_turns, city.name


def test_landmark_can_be_withheld() -> None:
    env = GuessMyCityEnv(reveal_landmark=False)
    env.reset(options={"task": {"id": "t", "city": "Paris"}})
    obs, *_ = env.step("What is it famous for?")
    assert obs[0].text.startswith(LANDMARK_REFUSAL)
    obs, *_ = env.step("Does it have the Eiffel Tower?")
    assert obs[0].text.startswith("I can't answer that.")
