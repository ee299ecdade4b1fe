"""``turngym/GuessMyCity-v0``: find a hidden city by asking free-form questions about it.

LMRL-Gym's "Guess My City" (Abdulhai et al., 2023), with a rule-based oracle that answers in
words from the city table of :mod:`.cities` instead of an LLM oracle.

Protocol:
    * Observation at reset: a system message with the rules, a user message inviting the
      first question.
    * Each assistant turn is one question; the last sentence ending in ``?`` is used.
    * Open questions are answered from the table: "Which country is it in?" -> "It is in
      Japan.", "What is it famous for?", "What is the climate like?", "How many people live
      there?", "What language do people speak?", "Which continent?", "Which hemisphere?".
      The oracle never says the city's name.
    * Yes/no questions ("Is it in Europe?", "Is it a capital?", "Is it on the coast?", "Do
      they speak Spanish?", "Is it hot?", "Does it have more than 5 million people?") get
      ``Yes.`` or ``No.``; several conditions in one question are answered as a conjunction.
    * A guess is ``<guess>City</guess>`` or "Is it City?" (a capitalized name). A right guess
      ends the episode; a wrong one gets "No, it is not X." and the game goes on.
    * Anything else gets a reply listing what the oracle can answer.

Every turn uses one of ``max_questions``.

Reward: ``-question_cost`` on every turn, plus ``success_reward`` on the turn of the correct
guess (``terminated``, ``info["success"] = True``). Running out of questions ends the game
(``terminated``, success False).

What the oracle does NOT cover: history, food, sports, distances between cities, or any fact
not in the table; populations are coarse bands of rough figures.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from turngym.core.messages import Message
from turngym.envs.base import Task
from turngym.envs.games.cities import (
    CITIES,
    CLIMATE_ADJECTIVES,
    CLIMATES,
    City,
    population_band,
)
from turngym.envs.games.common import ItemSplits, extract_tag, fold, last_question
from turngym.envs.games.question_game import QuestionGameEnv

__all__ = ["CityReply", "GuessMyCityEnv", "answer_city_question"]

HELP = (
    "I can answer questions about the hidden city's country, continent, hemisphere, "
    "population, whether it is on the coast, whether it is a capital, the language people "
    "speak, a famous landmark and the climate. Guess with <guess>City</guess>."
)
NAME_REFUSAL = "I can't tell you its name: that is what you have to guess!"
LANDMARK_REFUSAL = "I won't say what it is famous for: that would give it away."

_COUNTRY_ALIASES: dict[str, str] = {
    "uk": "the United Kingdom", "u k": "the United Kingdom", "britain": "the United Kingdom",
    "great britain": "the United Kingdom", "england": "the United Kingdom",
    "holland": "the Netherlands", "czechia": "the Czech Republic",
    "uae": "the United Arab Emirates", "u a e": "the United Arab Emirates",
    "emirates": "the United Arab Emirates", "korea": "South Korea",
    "usa": "the United States", "u s a": "the United States", "u s": "the United States",
    "the us": "the United States", "america": "the United States",
    "the states": "the United States",
}  # fmt: skip
_CONTINENT_WORDS: dict[str, set[str]] = {
    "europe": {"Europe"}, "european": {"Europe"}, "asia": {"Asia"}, "asian": {"Asia"},
    "africa": {"Africa"}, "african": {"Africa"}, "north america": {"North America"},
    "north american": {"North America"}, "south america": {"South America"},
    "south american": {"South America"}, "oceania": {"Oceania"},
    "the americas": {"North America", "South America"},
    "americas": {"North America", "South America"},
}  # fmt: skip
_REGIONS: dict[str, set[str]] = {
    "latin america": {"Mexico", "Cuba", "Brazil", "Argentina", "Peru", "Colombia", "Chile"},
    "middle east": {"the United Arab Emirates", "Egypt"},
    "east asia": {"Japan", "China", "South Korea"},
    "southeast asia": {"Thailand", "Singapore", "Indonesia"},
    "south east asia": {"Thailand", "Singapore", "Indonesia"},
    "south asia": {"India"},
    "scandinavia": {"Sweden"},
    "nordic": {"Sweden", "Iceland"},
    "caribbean": {"Cuba"},
}
"""Regions below continent level, as sets of countries."""
_AUX_WORDS = {
    "is", "are", "does", "do", "can", "could", "would", "will", "has", "have", "was", "were",
    "should", "might", "may", "did", "isn", "aren", "doesn", "don", "am",
}  # fmt: skip
_GUESS_PREFIX = (
    r"(?:is it|is the city|is the hidden city|is your city|could it be|can it be|might it be|"
    r"would it be|is that|it is|it s|my guess is|i guess|i think it is|i think it s|guess|"
    r"the city is|the answer is)"
)
_NAME_QUESTION = re.compile(
    r"\b(?:its|the|city s|the city s) name\b|\bname of\b|\bcalled\b|"
    r"\b(?:what|which) city is (?:it|this)\b"
)
_ASK_TO_TELL = re.compile(
    r"^(?:can|could|would|will) you (?:tell|say|describe|give|share)\b|^do you know\b"
)
_GUESS = re.compile(rf"^{_GUESS_PREFIX}\s+(.+)$")
_RAW_GUESS = re.compile(
    r"^\s*(?i:is it|is the city|could it be|can it be|might it be|my guess is|i guess)\s+"
    r"([A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,2})\s*\??\s*$"
)


@dataclass(frozen=True)
class CityReply:
    """The oracle's answer to one message about one hidden city."""

    text: str
    """What the oracle says."""
    kind: str
    """``"guess"``, ``"yes_no"``, ``"open"`` (answered in words) or ``"help"``."""
    correct: bool = False
    """A guess that names the hidden city."""


def _alternation(words: Sequence[str]) -> re.Pattern[str]:
    return re.compile(
        r"\b(" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")\b"
    )


def _languages_of(cities: Sequence[City]) -> set[str]:
    return {w for c in cities for lang in c.languages for w in fold(lang).split()}


def _countries(cities: Sequence[City]) -> dict[str, str]:
    table = {fold(re.sub(r"^the ", "", c.country)): c.country for c in cities}
    table.update({fold(c.country): c.country for c in cities})
    table.update(_COUNTRY_ALIASES)
    return table


def _hemispheres(city: City) -> str:
    ns = "northern" if city.latitude >= 0 else "southern"
    ew = "eastern" if city.longitude >= 0 else "western"
    return f"the {ns} and {ew} hemispheres"


def _has_landmark(landmark: str) -> Callable[[City], bool]:
    return lambda c: c.landmark == landmark


def _in_hemisphere(
    *, north: bool | None = None, east: bool | None = None
) -> Callable[[City], bool]:
    if north is not None:
        return lambda c: (c.latitude >= 0) == north
    return lambda c: (c.longitude >= 0) == east


def _speaks(word: str) -> Callable[[City], bool]:
    return lambda c: any(word in fold(lang).split() for lang in c.languages)


def _climate_is(adjective: str) -> Callable[[City], bool]:
    adjective = "snowy" if adjective == "snow" else adjective
    return lambda c: adjective in CLIMATE_ADJECTIVES[c.climate]


class _CityOracle:
    """Parses questions against a city table; one instance per table."""

    def __init__(self, cities: Sequence[City], reveal_landmark: bool = True):
        self.cities = tuple(cities)
        self.reveal_landmark = reveal_landmark
        self.names = {fold(n): c.name for c in cities for n in c.names}
        self.countries = _countries(cities)
        self.region_re = _alternation([*self.countries, *_CONTINENT_WORDS, *_REGIONS])
        self.languages = _languages_of(cities)
        self.language_re = _alternation(sorted(self.languages))
        landmarks = {fold(re.sub(r"^the ", "", c.landmark)): c.landmark for c in cities}
        self.landmarks = landmarks
        self.landmark_re = _alternation(list(landmarks))
        adjectives = sorted({a for s in CLIMATE_ADJECTIVES.values() for a in s} | {"snow"})
        self.climate_re = _alternation(adjectives)

    # ---- yes/no predicates ----------------------------------------------------------------

    def yes_no_predicates(self, q: str) -> list[Callable[[City], bool]]:
        preds: list[Callable[[City], bool]] = []
        text = q

        def take(pattern: re.Pattern[str] | str, make: Callable[[re.Match[str]], Any]) -> None:
            nonlocal text
            regex = re.compile(pattern) if isinstance(pattern, str) else pattern
            for match in list(regex.finditer(text)):
                preds.append(make(match))
            text = regex.sub(" ", text)

        if self.reveal_landmark:
            take(self.landmark_re, lambda m: _has_landmark(self.landmarks[m.group(1)]))
        # countries and continents in one longest-first alternation: "south africa" is a
        # country, "north america" a continent, "america" alone the United States
        take(self.region_re, lambda m: self._region(m.group(1)))
        take(
            r"\b(north|south)(?:ern)? (?:hemisphere|of the equator)\b",
            lambda m: _in_hemisphere(north=m.group(1) == "north"),
        )
        take(
            r"\b(east|west)(?:ern)? hemisphere\b",
            lambda m: _in_hemisphere(east=m.group(1) == "east"),
        )
        take(
            r"\b(more than|over|above|at least|bigger than|larger than|greater than|fewer than|"
            r"less than|under|below|smaller than) (\d+(?:\s\d+)?) ?(million|m|thousand)\b",
            self._population_compare,
        )
        take(
            r"\b(?:megacity|metropolis|huge city|very big city|very large city)\b",
            lambda m: lambda c: c.population_m >= 10,
        )
        take(
            r"\b(?:big|large|major|populous) (?:city|place)\b|\b(?:big|large|populous)\b",
            lambda m: lambda c: c.population_m >= 5,
        )
        take(
            r"\b(?:small|little) (?:city|town|place)\b|\b(?:small|little)\b",
            lambda m: lambda c: c.population_m < 1,
        )
        take(r"\bcapital\w*\b", lambda m: lambda c: c.capital)
        take(
            r"\b(?:coast\w*|sea|ocean|beach\w*|seaside|port|harbou?r|by the water)\b",
            lambda m: lambda c: c.coastal,
        )
        take(r"\binland\b", lambda m: lambda c: not c.coastal)
        take(self.language_re, lambda m: _speaks(m.group(1)))
        take(self.climate_re, lambda m: _climate_is(m.group(1)))
        return preds

    def _region(self, word: str) -> Callable[[City], bool]:
        if word in _REGIONS:
            countries = _REGIONS[word]
            return lambda c: c.country in countries
        if word in _CONTINENT_WORDS:
            continents = _CONTINENT_WORDS[word]
            return lambda c: c.continent in continents
        country = self.countries[word]
        return lambda c: c.country == country

    @staticmethod
    def _population_compare(m: re.Match[str]) -> Callable[[City], bool]:
        value = float(m.group(2).replace(" ", "."))
        if m.group(3) == "thousand":
            value /= 1000
        more = m.group(1).split()[0] in {
            "more",
            "over",
            "above",
            "at",
            "bigger",
            "larger",
            "greater",
        }
        return lambda c: c.population_m > value if more else c.population_m < value

    # ---- open questions -------------------------------------------------------------------

    def open_answer(self, q: str, city: City) -> str | None:
        band = population_band(city.population_m)
        topics: tuple[tuple[str, Callable[[], str]], ...] = (
            (r"\b(?:country|nation)\b", lambda: self._country_answer(city)),
            (r"\bcontinent\b", lambda: f"It is in {city.continent}."),
            (
                r"^where\b|\bwhere is\b|\blocated\b|\blocation\b",
                lambda: self._country_answer(city, with_continent=True),
            ),
            (r"\bhemisphere|equator\b", lambda: f"It is in {_hemispheres(city)}."),
            (
                r"\b(?:population|how many people|inhabitants|residents|people live|how big|"
                r"how large|size)\b",
                lambda: f"Its population is {band}.",
            ),
            (
                r"\bcapital\b",
                lambda: (
                    "It is the capital of its country."
                    if city.capital
                    else "It is not a national capital."
                ),
            ),
            (
                r"\b(?:coast\w*|sea|ocean|beach\w*|water)\b",
                lambda: (
                    "It is on the coast." if city.coastal else "It is inland, not on a sea coast."
                ),
            ),
            (
                r"\b(?:language\w*|speak|spoken|speaking)\b",
                lambda: f"People there mainly speak {_join(city.languages)}.",
            ),
            (
                r"\b(?:famous|landmarks?|known for|sights?|attractions?|monuments?|tourists?|"
                r"visit|see there|buildings?)\b",
                lambda: (
                    f"It is famous for {city.landmark}."
                    if self.reveal_landmark
                    else LANDMARK_REFUSAL
                ),
            ),
            (
                r"\b(?:climate|weather|temperature\w*|hot|cold|warm|rain\w*|snow\w*)\b",
                lambda: f"Its climate: {CLIMATES[city.climate]}.",
            ),
        )
        for pattern, answer in topics:
            if re.search(pattern, q):
                return answer()
        return None

    @staticmethod
    def _country_answer(city: City, *, with_continent: bool = False) -> str:
        if fold(city.country) == fold(city.name):  # Singapore: naming the country names it
            return f"It is a city-state: a country of its own, in {city.continent}."
        if with_continent:
            return f"It is in {city.country}, in {city.continent}."
        return f"It is in {city.country}."

    # ---- one message ----------------------------------------------------------------------

    def reply(self, message: str, city: City) -> CityReply:
        correct_names = {fold(n) for n in city.names}
        tagged = extract_tag(message, "guess")
        if tagged is not None:
            return self._guess(fold(tagged), tagged.strip(), correct_names, city)
        raw = last_question(message)
        q = fold(raw)
        if not q:
            return CityReply(HELP, "help")
        guess = _GUESS.match(q)
        if q in self.names:
            return self._guess(q, self.names[q], correct_names, city)
        if guess and guess.group(1) in self.names:
            name = self.names[guess.group(1)]
            return self._guess(guess.group(1), name, correct_names, city)
        if re.search(_NAME_QUESTION, q):
            return CityReply(NAME_REFUSAL, "help")
        if q.split()[0] in _AUX_WORDS:
            if re.search(r"\bor\b", q):
                return CityReply(
                    "Please ask one yes/no question at a time, or ask an open question.", "help"
                )
            preds = self.yes_no_predicates(q)
            if preds:
                return CityReply("Yes." if all(p(city) for p in preds) else "No.", "yes_no")
            answer = self.open_answer(q, city) if _ASK_TO_TELL.search(q) else None
            if answer is not None:  # "Can you tell me the country?"
                return CityReply(answer, "open")
            raw_guess = _RAW_GUESS.match(raw)
            if raw_guess:  # a capitalized name the oracle does not know: never the city
                return self._guess(fold(raw_guess.group(1)), raw_guess.group(1), set(), city)
            return CityReply("I can't answer that. " + HELP, "help")
        answer = self.open_answer(q, city)
        if answer is not None:
            return CityReply(answer, "open")
        return CityReply(HELP, "help")

    def _guess(self, folded: str, shown: str, correct: set[str], city: City) -> CityReply:
        folded = re.sub(r"^(?:the )?city of ", "", folded)
        if folded in correct:
            return CityReply(f"Yes! It is {city.name}.", "guess", correct=True)
        return CityReply(f"No, it is not {shown}.", "guess")


_ORACLES: dict[tuple[tuple[City, ...], bool], _CityOracle] = {}


def _oracle(cities: Sequence[City], reveal_landmark: bool) -> _CityOracle:
    key = (tuple(cities), bool(reveal_landmark))
    if key not in _ORACLES:
        _ORACLES[key] = _CityOracle(*key)
    return _ORACLES[key]


def answer_city_question(
    message: str, city: City, cities: Sequence[City] = CITIES, *, reveal_landmark: bool = True
) -> CityReply:
    """The oracle's reply to one assistant message about the hidden ``city``.

    Args:
        message: The assistant's text (the last sentence ending in ``?`` is the question).
        city: The hidden city.
        cities: The table whose names, countries and languages the parser knows.
        reveal_landmark: Answer "What is it famous for?" (else refuse: a harder game).
    """
    return _oracle(cities, reveal_landmark).reply(message, city)


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ---- the env ------------------------------------------------------------------------------

_SYSTEM_PROMPT = (
    "Let's play Guess My City. I am thinking of a city somewhere in the world. Ask me "
    "questions about it, one per message: its country, continent, population, climate, "
    "language, whether it is on the coast or a capital, what it is famous for. I will not "
    "tell you its name. When you know, guess with <guess>City</guess>. You have "
    "{max_questions} questions in total, guesses included."
)


class GuessMyCityEnv(QuestionGameEnv):
    """Guess My City against a rule-based oracle over a 51-city table.

    See the module docstring for the protocol and reward. ``info`` of every step holds
    ``questions`` (turns used), ``wrong_guesses`` and ``not_understood``; the last step adds
    ``success`` and ``city``.

    Args:
        seed: Order of the cities inside each split.
        test_fraction: Share of the cities held out for the test split (by a hash of the name).
        max_questions: Turns before the game is lost.
        question_cost: Subtracted from the reward of every turn (>= 0).
        success_reward: Added on the turn of the correct guess.
        cities: The city table (defaults to :data:`~turngym.envs.games.cities.CITIES`).
        reveal_landmark: Whether the oracle says what the city is famous for. A landmark
            nearly names the city; ``False`` makes a harder game of deduction.
        render_mode: ``"ansi"`` or None.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        test_fraction: float = 0.2,
        max_questions: int = 20,
        question_cost: float = 0.0,
        success_reward: float = 1.0,
        cities: Sequence[City] = CITIES,
        reveal_landmark: bool = True,
        render_mode: str | None = None,
    ):
        super().__init__(
            max_questions=max_questions,
            question_cost=question_cost,
            success_reward=success_reward,
            render_mode=render_mode,
        )
        self.cities = tuple(cities)
        self._by_name = {c.name: c for c in self.cities}
        self.splits = ItemSplits(
            list(self._by_name), test_fraction=test_fraction, salt="guess-my-city", seed=seed
        )
        self.reveal_landmark = bool(reveal_landmark)
        self.hidden: City | None = None

    def get_task(self, index: int, split: str = "train") -> Task:
        name = self.splits.key_at(index, split)
        return {"id": f"city-{fold(name).replace(' ', '_')}", "city": name}

    def on_reset(self, task: Task) -> None:
        name = str(task.get("city", ""))
        if name not in self._by_name:
            raise ValueError(
                f"GuessMyCity task {task.get('id', '?')!r}: unknown city {name!r}; use a name "
                "from turngym.envs.games.cities.CITIES"
            )
        self.hidden = self._by_name[name]
        self.reset_counts()

    def initial_messages(self, task: Task) -> list[Message]:
        return [
            Message("system", _SYSTEM_PROMPT.format(max_questions=self.max_questions)),
            Message("user", "I have a city in mind. Ask your first question."),
        ]

    def answer(self, action: str) -> CityReply:
        assert self.hidden is not None
        return answer_city_question(
            action, self.hidden, self.cities, reveal_landmark=self.reveal_landmark
        )

    def final_info(self) -> dict[str, Any]:
        assert self.hidden is not None
        return {"city": self.hidden.name}

    def probe_actions(self) -> list[str]:
        return [
            "Which continent is it in?",
            "Is it a capital?",
            "What is it famous for?",
            "Is it Paris?",
            "<guess>Tokyo</guess>",
            "Tell me a joke.",
            "",
        ]
