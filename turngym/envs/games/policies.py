"""Scripted policies for the dialogue games: a strong expert and a random baseline for each.

They play from the observation text only (never ``env.task``), the way an LLM agent would,
using public knowledge: the object, city and word tables and the rules of each oracle. They
serve as reference points for rewards (an RL-trained agent should land between them), as
sanity checks that a game is solvable and that its reward separates good play from bad, and
as behaviour data for offline methods, as LMRL-Gym does with its scripted policies.

Experts:
    * :class:`TwentyQuestionsExpert`, :class:`GuessMyCityExpert`: keep the set of candidates
      consistent with every answer so far and ask the question from a fixed bank whose
      answers split the candidates most evenly (greatest entropy); guess when one remains.
    * :class:`WordleExpert`: keeps the words consistent with all feedback and guesses the
      candidate that splits the remaining candidates into the most feedback patterns.
    * :class:`MazeExpert`: depth-first exploration with a remembered map; steps onto the exit
      as soon as it is adjacent.

The random policies ask random bank questions and make random guesses, or move at random.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from turngym.core.messages import Message
from turngym.envs.games.cities import CITIES, City
from turngym.envs.games.guess_my_city import answer_city_question
from turngym.envs.games.objects import CATEGORIES, OBJECTS, GameObject
from turngym.envs.games.text_maze import DIRECTIONS
from turngym.envs.games.twenty_questions import answer_question, parse_question
from turngym.envs.games.wordle import WORDS, wordle_feedback

__all__ = [
    "EpisodeResult",
    "GamePolicy",
    "GuessMyCityExpert",
    "MazeExpert",
    "RandomCityPolicy",
    "RandomMazePolicy",
    "RandomTwentyQuestionsPolicy",
    "RandomWordlePolicy",
    "TwentyQuestionsExpert",
    "WordleExpert",
    "play_episode",
]

_LEFT_SUFFIX = re.compile(
    r"\s*\((?:\d+ (?:questions?|guess(?:es)?) left|not counted|counted[^)]*)\)\s*$"
)


class GamePolicy(Protocol):
    """A policy that plays one episode at a time from the observation text."""

    def reset(self) -> None:
        """Forget the previous episode."""
        ...

    def act(self, observation: Sequence[Message]) -> str:
        """The assistant's next message, given the newest observation."""
        ...


@dataclass(frozen=True)
class EpisodeResult:
    """How one scripted episode went."""

    total_reward: float
    """Sum of the step rewards."""
    turns: int
    """Assistant turns played."""
    success: bool
    """``info["success"]`` of the last step (False when absent)."""
    stop_reason: str
    """``info["stop_reason"]`` of the last step."""


def play_episode(
    env: gym.Env,
    policy: GamePolicy,
    *,
    seed: int | None = None,
    options: Mapping[str, Any] | None = None,
    max_turns: int = 200,
) -> EpisodeResult:
    """Play one episode of ``policy`` in ``env`` (from ``turngym.make`` or built directly).

    Args:
        env: A turngym text env.
        policy: The policy; it is reset first.
        seed: Passed to ``env.reset``.
        options: Passed to ``env.reset`` (e.g. ``{"task_index": 3, "split": "test"}``).
        max_turns: Safety cap for envs built without a turn limit.

    Raises:
        RuntimeError: The episode did not end within ``max_turns``.
    """
    policy.reset()
    obs, _ = env.reset(seed=seed, options=dict(options or {}))
    total = 0.0
    for turn in range(1, max_turns + 1):
        obs, reward, terminated, truncated, info = env.step(policy.act(obs))
        total += float(reward)
        if terminated or truncated:
            return EpisodeResult(
                total, turn, bool(info.get("success", False)), str(info.get("stop_reason"))
            )
    raise RuntimeError(f"episode did not end within {max_turns} turns; pass a larger max_turns")


def _last_user_text(observation: Sequence[Message]) -> str:
    texts = [m.text for m in observation if m.role == "user"]
    return _LEFT_SUFFIX.sub("", texts[-1]) if texts else ""


def _entropy(counts: Counter[str]) -> float:
    total = sum(counts.values())
    return -sum(c / total * math.log(c / total) for c in counts.values())


class _EliminationExpert:
    """Candidate elimination over a question bank with precomputed oracle replies."""

    def __init__(
        self,
        names: Sequence[str],
        bank: Sequence[str],
        reply: Callable[[str, str], str],
        guess_text: Callable[[str], str],
    ):
        self.names = list(names)
        self.bank = list(dict.fromkeys(bank))
        # replies[q][name]: what the oracle says to bank question q when name is hidden
        self.replies = [{n: reply(q, n) for n in self.names} for q in self.bank]
        self.guess_text = guess_text
        self.reset()

    def reset(self) -> None:
        self.candidates = list(self.names)
        self._pending: int | str | None = None  # a bank index, or the name just guessed

    def act(self, observation: Sequence[Message]) -> str:
        text = _last_user_text(observation)
        if isinstance(self._pending, int):
            table = self.replies[self._pending]
            self.candidates = [n for n in self.candidates if table[n] == text] or self.candidates
        elif isinstance(self._pending, str):
            self.candidates = [n for n in self.candidates if n != self._pending] or self.names
        if len(self.candidates) == 1:
            return self._guess(self.candidates[0])
        best, best_score = None, 0.0
        for i, table in enumerate(self.replies):
            score = _entropy(Counter(table[n] for n in self.candidates))
            if score > best_score + 1e-9:
                best, best_score = i, score
        if best is None:  # no question tells the rest apart
            return self._guess(self.candidates[0])
        self._pending = best
        return self.bank[best]

    def _guess(self, name: str) -> str:
        self._pending = name
        return self.guess_text(name)


class _RandomQuestioner:
    def __init__(
        self,
        names: Sequence[str],
        bank: Sequence[str],
        guess_text: Callable[[str], str],
        seed: int,
        guess_probability: float,
    ):
        if not 0.0 <= guess_probability <= 1.0:
            raise ValueError(f"guess_probability must be in [0, 1], got {guess_probability!r}")
        self.names, self.bank, self.guess_text = list(names), list(bank), guess_text
        self.guess_probability = guess_probability
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        """Episodes differ through the shared RNG stream; nothing else to forget."""

    def act(self, observation: Sequence[Message]) -> str:
        if self.rng.random() < self.guess_probability:
            return self.guess_text(self.names[int(self.rng.integers(len(self.names)))])
        return self.bank[int(self.rng.integers(len(self.bank)))]


# ---- Twenty Questions -------------------------------------------------------------------

_ASKABLE_KINDS = {
    "mammal", "bird", "fish", "insect", "reptile", "amphibian", "tree", "flower", "fruit",
    "vegetable",
}  # fmt: skip
_SIZE_REFERENCES = ("a coin", "a hand", "a book", "a chair", "a person", "a car", "a house")


def twenty_questions_bank(objects: Sequence[GameObject] = OBJECTS) -> list[str]:
    """Yes/no questions the Twenty Questions oracle understands, built from the table."""
    article = {c: "an" if c[0] in "aeiou" else "a" for c in CATEGORIES}
    bank = [f"Is it {article.get(c, 'a')} {c}?" for c in dict.fromkeys(o.category for o in objects)]
    kinds = dict.fromkeys(o.kind for o in objects)
    bank += [f"Is it {'an' if k[0] in 'aeiou' else 'a'} {k}?" for k in kinds if k in _ASKABLE_KINDS]
    bank += [f"Is it bigger than {r}?" for r in _SIZE_REFERENCES]
    bank += [
        "Is it alive?", "Is it man-made?", "Can you eat it?", "Can you ride it?",
        "Can you wear it?", "Can you sit on it?", "Does it use electricity?",
        "Does it have wheels?", "Does it have an engine?", "Does it have legs?", "Can it fly?",
        "Can it swim?", "Is it a pet?", "Is it dangerous?", "Is it sharp?", "Is it soft?",
        "Does it have fur?", "Does it have feathers?", "Does it make music?",
        "Is it used for sports?", "Can you write with it?", "Can you read it?",
        "Is it used for cooking?", "Is it sweet?", "Does it have a screen?",
        "Can you eat with it?", "Can it hold liquid?", "Is it used to cut things?",
        "Is it colorful?", "Does it fit in your pocket?",
    ]  # fmt: skip
    places = sorted({p for o in objects for p in o.places})
    bank += [f"Is it found in the {p}?" for p in places]
    materials = sorted({m for o in objects for m in o.materials} & {
        "wood", "metal", "plastic", "glass", "paper", "fabric", "leather", "rubber", "ceramic",
    })  # fmt: skip
    bank += [f"Is it made of {m}?" for m in materials]
    colors = sorted({c for o in objects for c in o.colors} - {"any"})
    bank += [f"Is it {c}?" for c in colors]
    return bank


def _object_guess(name: str) -> str:
    return f"Is it {'an' if name[0] in 'aeiou' else 'a'} {name}?"


@lru_cache(maxsize=4)
def _twenty_questions_tables(
    objects: tuple[GameObject, ...],
) -> tuple[list[str], list[dict[str, str]]]:
    bank = twenty_questions_bank(objects)
    names = [n for o in objects for n in o.names]
    by_name = {o.name: o for o in objects}
    tables = []
    for q in bank:
        parsed = parse_question(q, names)
        tables.append({o: answer_question(parsed, by_name[o]).text for o in by_name})
    return bank, tables


class TwentyQuestionsExpert(_EliminationExpert):
    """Entropy-greedy candidate elimination for Twenty Questions (see the module docstring).

    Args:
        objects: The object table the oracle uses.
    """

    def __init__(self, objects: Sequence[GameObject] = OBJECTS):
        bank, tables = _twenty_questions_tables(tuple(objects))
        lookup = {q: t for q, t in zip(bank, tables, strict=True)}
        super().__init__([o.name for o in objects], bank, lambda q, n: lookup[q][n], _object_guess)


class RandomTwentyQuestionsPolicy(_RandomQuestioner):
    """Random bank questions; with ``guess_probability`` a guess of a random object."""

    def __init__(
        self,
        seed: int = 0,
        guess_probability: float = 0.25,
        objects: Sequence[GameObject] = OBJECTS,
    ):
        super().__init__(
            [o.name for o in objects],
            twenty_questions_bank(objects),
            _object_guess,
            seed,
            guess_probability,
        )


# ---- Guess My City ----------------------------------------------------------------------

CITY_BANK: tuple[str, ...] = (
    "Which continent is it in?",
    "Which country is it in?",
    "Is it a capital?",
    "Is it on the coast?",
    "How many people live there?",
    "What language do people speak there?",
    "What is the climate like?",
    "Which hemisphere is it in?",
    "What is it famous for?",
)
"""The questions the scripted city policies ask."""


def _city_guess(name: str) -> str:
    return f"<guess>{name}</guess>"


class GuessMyCityExpert(_EliminationExpert):
    """Entropy-greedy candidate elimination for Guess My City.

    Args:
        cities: The city table the oracle uses.
        bank: Questions to choose from (default :data:`CITY_BANK`).
        reveal_landmark: The env's setting (it changes the oracle's replies).
    """

    def __init__(
        self,
        cities: Sequence[City] = CITIES,
        bank: Sequence[str] = CITY_BANK,
        *,
        reveal_landmark: bool = True,
    ):
        by_name = {c.name: c for c in cities}
        table = tuple(cities)

        def reply(question: str, name: str) -> str:
            hidden = by_name[name]
            return answer_city_question(
                question, hidden, table, reveal_landmark=reveal_landmark
            ).text

        super().__init__(list(by_name), bank, reply, _city_guess)


class RandomCityPolicy(_RandomQuestioner):
    """Random bank questions; with ``guess_probability`` a guess of a random city."""

    def __init__(
        self,
        seed: int = 0,
        guess_probability: float = 0.25,
        cities: Sequence[City] = CITIES,
    ):
        super().__init__([c.name for c in cities], CITY_BANK, _city_guess, seed, guess_probability)


# ---- Wordle -------------------------------------------------------------------------------

_FEEDBACK = re.compile(r"\b([A-Z]{5}): ([GYX](?: [GYX]){4})")


@lru_cache(maxsize=4)
def _best_opening(words: tuple[str, ...]) -> str:
    return _most_splitting(words, words)


def _most_splitting(guesses: Sequence[str], candidates: Sequence[str]) -> str:
    best, best_parts = guesses[0], 0
    for guess in guesses:
        parts = len({wordle_feedback(guess, c) for c in candidates})
        if parts > best_parts:
            best, best_parts = guess, parts
    return best


class WordleExpert:
    """Keeps the words consistent with all feedback; guesses the one splitting them most.

    Args:
        words: The word list (the env's answers and guesses).
    """

    def __init__(self, words: Sequence[str] = WORDS):
        self.words = tuple(words)
        self.reset()

    def reset(self) -> None:
        """Forget the previous episode."""
        self.candidates = list(self.words)

    def act(self, observation: Sequence[Message]) -> str:
        """Filter by the newest feedback line, then guess."""
        match = _FEEDBACK.search(_last_user_text(observation))
        if match:
            guess, marks = match.group(1).lower(), tuple(match.group(2).split())
            kept = [c for c in self.candidates if wordle_feedback(guess, c) == marks]
            self.candidates = kept or self.candidates
        if len(self.candidates) == len(self.words):
            choice = _best_opening(self.words)
        else:
            choice = _most_splitting(self.candidates, self.candidates)
        return f"<guess>{choice}</guess>"


class RandomWordlePolicy:
    """Guesses random words from the list (valid, never using the feedback)."""

    def __init__(self, seed: int = 0, words: Sequence[str] = WORDS):
        self.words = tuple(words)
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        """Nothing to forget."""

    def act(self, observation: Sequence[Message]) -> str:
        """A random word."""
        return f"<guess>{self.words[int(self.rng.integers(len(self.words)))]}</guess>"


# ---- TextMaze -----------------------------------------------------------------------------

_SURROUNDINGS = re.compile(r"\b(north|east|south|west): (wall|open|exit)\b")
_OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}


class MazeExpert:
    """Depth-first exploration from the text observations, with a remembered map.

    It tracks its own position relative to the start (moves into ``open`` cells always
    succeed), prefers unexplored openings, backtracks along its path otherwise, and steps onto
    the exit when it is adjacent. In a perfect maze of N cells it needs at most 2(N-1) moves.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the previous maze."""
        self.position = (0, 0)
        self.visited = {self.position}
        self.path: list[str] = []  # moves from the start to here, for backtracking

    def act(self, observation: Sequence[Message]) -> str:
        """The next move."""
        seen = dict(_SURROUNDINGS.findall(_last_user_text(observation)))
        for direction, what in seen.items():
            if what == "exit":
                return self._move(direction, forward=True)
        for direction in DIRECTIONS:
            if seen.get(direction) == "open" and self._next(direction) not in self.visited:
                return self._move(direction, forward=True)
        if self.path:
            return self._move(_OPPOSITE[self.path[-1]], forward=False)
        return "north"  # nothing left to explore: cannot happen in a connected maze

    def _next(self, direction: str) -> tuple[int, int]:
        dr, dc = DIRECTIONS[direction]
        return (self.position[0] + dr, self.position[1] + dc)

    def _move(self, direction: str, *, forward: bool) -> str:
        self.position = self._next(direction)
        self.visited.add(self.position)
        if forward:
            self.path.append(direction)
        else:
            self.path.pop()
        return direction


class RandomMazePolicy:
    """Moves in a uniformly random direction every turn."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        """Nothing to forget."""

    def act(self, observation: Sequence[Message]) -> str:
        """A random direction."""
        return list(DIRECTIONS)[int(self.rng.integers(4))]
