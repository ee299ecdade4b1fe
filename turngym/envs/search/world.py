"""A seeded fictional encyclopedia and multi-hop questions about it.

The world holds people, places (cities), organisations, works and events with linked facts
(a person was born in a city and belonged to an organisation; an organisation has a founder
and a home city; ...). Each entity becomes one prose passage of an encyclopedia. Because every
name is invented, a model cannot know an answer without searching.

Questions follow the two kinds of HotpotQA (Yang et al., 2018) and the longer chains of MuSiQue
(Trivedi et al., 2022):

* **bridge**, 1 to 4 hops: follow relations from a named entity, then ask for the last
  entity's name or a year, e.g. "In what year was the organisation that the creator of
  "The Amber Lantern" belonged to founded?" (3 hops: the work, the person, the organisation).
* **comparison**, 2 to 4 hops: compare years of two (possibly bridged) entities, e.g. "How many
  years passed between the founding of the Velmora Guild and the birth of the mayor of
  Oskaveth?", or "Who was born first: the creator of "X" or the founder of the Y Guild?".

``hops`` is the number of distinct passages needed (``gold_ids``). Answers are names or
numbers that never occur in the question. Train and test questions start from disjoint sets
of entities (a hash of the entity id decides), so no question, and no named starting entity,
is shared between the splits.

What this does NOT cover: questions that need a passage's absence (negation), temporal
reasoning beyond year arithmetic, or aliases and paraphrased names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from turngym.envs.base import SPLITS, Task, seeded_rng
from turngym.envs.search.scoring import normalize_answer
from turngym.tools.retrieval.base import Passage

__all__ = [
    "KINDS",
    "Entity",
    "QuestionGenerator",
    "World",
    "generate_world",
]

KINDS: tuple[str, ...] = ("bridge", "comparison")
"""Question kinds the generator knows."""

# Shares of entity types in a world (people are the most linked).
_TYPE_SHARES = {"person": 0.4, "place": 0.15, "organisation": 0.15, "work": 0.2, "event": 0.1}

# relation -> (source type, target type, noun phrase "the ... of {x}")
_RELATIONS: dict[str, tuple[str, str, str]] = {
    "born_in": ("person", "place", "the birthplace of {x}"),
    "member_of": ("person", "organisation", "the organisation that {x} belonged to"),
    "founder": ("organisation", "person", "the founder of {x}"),
    "based_in": ("organisation", "place", "the city where {x} is based"),
    "creator": ("work", "person", "the creator of {x}"),
    "set_in": ("work", "place", "the city where {x} is set"),
    "held_in": ("event", "place", "the city where {x} took place"),
    "organiser": ("event", "organisation", "the organiser of {x}"),
    "mayor": ("place", "person", "the mayor of {x}"),
}
_OUTGOING: dict[str, list[str]] = {}
for _rel, (_src, _, _) in _RELATIONS.items():
    _OUTGOING.setdefault(_src, []).append(_rel)

# The year attribute of each type: (question about it, the event phrase for comparisons)
_YEAR_QUESTIONS: dict[str, tuple[str, str]] = {
    "person": ("In what year was {x} born?", "the birth of {x}"),
    "place": ("In what year was {x} founded?", "the founding of {x}"),
    "organisation": ("In what year was {x} founded?", "the founding of {x}"),
    "work": ("In what year did {x} first appear?", "the first appearance of {x}"),
    "event": ("In what year did {x} take place?", "{x}"),
}
_NAME_QUESTIONS = {
    "person": "Who is {x}?",
    "place": "What is the name of {x}?",
    "organisation": "What is the name of {x}?",
}
_FIRST_QUESTIONS = {
    "person": "Who was born first: {a} or {b}?",
    "place": "Which city was founded first: {a} or {b}?",
    "organisation": "Which organisation was founded first: {a} or {b}?",
}

# ---- names -----------------------------------------------------------------------------

_ONSETS = [
    "b",
    "br",
    "c",
    "d",
    "dr",
    "f",
    "g",
    "gr",
    "h",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "st",
    "t",
    "th",
    "v",
    "z",
    "ch",
    "sh",
]
_VOWELS = ["a", "e", "i", "o", "u", "ae", "ia", "io", "ou", "ei"]
_CODAS = ["", "", "", "n", "r", "l", "s", "th", "nd", "m", "v", "sk"]
_ORG_KINDS = [
    "Guild",
    "Company",
    "Society",
    "Academy",
    "Order",
    "League",
    "Institute",
    "Trust",
    "Collective",
    "Brotherhood",
]
_EVENT_KINDS = [
    "Accord",
    "Games",
    "Fair",
    "Uprising",
    "Congress",
    "Expedition",
    "Summit",
    "Festival",
    "Flood",
    "Treaty",
]
_ADJECTIVES = [
    "Amber",
    "Silent",
    "Hollow",
    "Crimson",
    "Distant",
    "Broken",
    "Gilded",
    "Quiet",
    "Northern",
    "Wandering",
    "Pale",
    "Iron",
    "Last",
    "Velvet",
    "Burning",
    "Hidden",
    "Frozen",
    "Golden",
    "Salt",
    "Glass",
    "Shattered",
    "Restless",
    "Secret",
    "Lonely",
    "Scarlet",
]
_NOUNS = [
    "Lantern",
    "Harbor",
    "Garden",
    "Orchard",
    "Crown",
    "Tide",
    "Mirror",
    "Bridge",
    "Tower",
    "River",
    "Letter",
    "Mountain",
    "Song",
    "Archive",
    "Compass",
    "Lighthouse",
    "Forest",
    "Winter",
    "Orchestra",
    "Voyage",
    "Clockmaker",
    "Cartographer",
    "Heron",
    "Gate",
]
_WORK_FORMS = ["novel", "play", "opera", "painting", "symphony", "poem", "film", "chronicle"]
_OCCUPATIONS = [
    "painter",
    "engineer",
    "poet",
    "cartographer",
    "physician",
    "merchant",
    "astronomer",
    "sculptor",
    "architect",
    "composer",
    "diplomat",
    "botanist",
    "historian",
    "shipwright",
    "philosopher",
]
_REGIONS = ["Varnholt", "Esmira", "Calden", "Tuvaan", "Orlesse", "Brimwater", "Kestrand", "Halvory"]
_PLACE_TRAITS = [
    "It is known for its {} markets.",
    "Its old quarter is built around a {} square.",
    "The city is famous for {} bridges.",
    "Travellers remember it for its {} towers.",
]
_TRAIT_WORDS = ["copper", "salt", "glass", "stone", "timber", "silk", "spice", "lantern"]


def _syllable_name(rng: np.random.Generator, syllables: int) -> str:
    parts = []
    for i in range(syllables):
        coda = _CODAS[int(rng.integers(len(_CODAS)))] if i == syllables - 1 else ""
        parts.append(
            _ONSETS[int(rng.integers(len(_ONSETS)))]
            + _VOWELS[int(rng.integers(len(_VOWELS)))]
            + coda
        )
    return "".join(parts).capitalize()


# ---- the world -------------------------------------------------------------------------


@dataclass(frozen=True)
class Entity:
    """One thing of the fictional world; it has exactly one passage (same id)."""

    id: str
    """Unique id, also the id of its passage (e.g. ``"person-00012"``)."""
    type: str
    """``person``, ``place``, ``organisation``, ``work`` or ``event``."""
    name: str
    """Its name, without article or quotes (the title of its passage)."""
    year: int
    """Birth year (person), founding year (place, organisation), year of first appearance
    (work) or year it took place (event)."""
    links: dict[str, str] = field(default_factory=dict)
    """Relation name -> id of the linked entity (each relation has exactly one target)."""
    detail: str = ""
    """A fact that no question asks about: an occupation, a form, a region."""

    @property
    def mention(self) -> str:
        """How prose and questions refer to it (``the Velmora Guild``, ``"The Amber Lantern"``)."""
        if self.type in ("organisation", "event"):
            return f"the {self.name}"
        if self.type == "work":
            return f'"{self.name}"'
        return self.name


@dataclass(frozen=True)
class World:
    """A generated encyclopedia: entities, their passages, and the entity split."""

    seed: int
    """Seed it was generated from."""
    entities: dict[str, Entity]
    """All entities by id, in generation order."""
    passages: list[Passage]
    """One passage per entity, same order and ids."""
    test_ids: frozenset[str]
    """Entities that questions of the test split start from (the rest start train questions)."""

    def passage(self, entity_id: str) -> Passage:
        """The passage of an entity (its id is the entity's id)."""
        return self.passages_by_id[entity_id]

    @cached_property
    def passages_by_id(self) -> dict[str, Passage]:
        """Passages by id."""
        return {p.id: p for p in self.passages}

    def write_jsonl(self, path: str | Path) -> Path:
        """Write the passages as a ``{"id", "title", "text"}`` JSONL corpus (for servers)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            for p in self.passages:
                handle.write(json.dumps({"id": p.id, "title": p.title, "text": p.text}) + "\n")
        return path


def _hash_unit(text: str) -> float:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") / 2**64


@lru_cache(maxsize=4)
def generate_world(seed: int = 0, num_passages: int = 3000, test_fraction: float = 0.1) -> World:
    """Generate a fictional encyclopedia of ``num_passages`` entities (deterministic in the
    arguments; cached per process).

    Args:
        seed: Which world.
        num_passages: How many entities, hence passages (at least 50).
        test_fraction: Share of entities that start test questions.

    Raises:
        ValueError: ``num_passages`` below 50 or ``test_fraction`` outside ``(0, 1)``.
    """
    if num_passages < 50:
        raise ValueError(f"num_passages must be at least 50, got {num_passages}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    rng = seeded_rng("search-world", seed, num_passages)
    counts = {t: max(5, int(round(share * num_passages))) for t, share in _TYPE_SHARES.items()}
    counts["person"] += num_passages - sum(counts.values())
    used: set[str] = set()

    def unique(make: Callable[[], str]) -> str:
        for _ in range(1000):
            name = make()
            # A name must not be a word of another name: "Tavor" vs "Tavor Ilsen" would make
            # a 1-hop answer appear inside another entity's name in a question.
            words = set(name.split())
            if name not in used and not (words & used):
                used.add(name)
                used.update(w for w in name.split() if w not in _COMMON_WORDS)
                return name
        raise RuntimeError("name space exhausted; lower num_passages")

    def person_name() -> str:
        return f"{_syllable_name(rng, int(rng.integers(2, 4)))} {_syllable_name(rng, 2 + int(rng.integers(2)))}"

    def place_name() -> str:
        return _syllable_name(rng, int(rng.integers(2, 4)))

    def org_name() -> str:
        return f"{_syllable_name(rng, 2 + int(rng.integers(2)))} {_ORG_KINDS[int(rng.integers(len(_ORG_KINDS)))]}"

    def work_name() -> str:
        adjective = _ADJECTIVES[int(rng.integers(len(_ADJECTIVES)))]
        noun = _NOUNS[int(rng.integers(len(_NOUNS)))]
        return f"The {adjective} {noun} of {_syllable_name(rng, 2 + int(rng.integers(2)))}"

    def event_name() -> str:
        return f"{_syllable_name(rng, 2 + int(rng.integers(2)))} {_EVENT_KINDS[int(rng.integers(len(_EVENT_KINDS)))]}"

    makers = {
        "person": person_name,
        "place": place_name,
        "organisation": org_name,
        "work": work_name,
        "event": event_name,
    }
    ids: dict[str, list[str]] = {t: [] for t in _TYPE_SHARES}
    names: dict[str, str] = {}
    for type_, count in counts.items():
        for i in range(count):
            entity_id = f"{type_}-{i:05d}"
            ids[type_].append(entity_id)
            names[entity_id] = unique(makers[type_])

    def pick(type_: str, exclude: str = "") -> str:
        while True:
            choice = ids[type_][int(rng.integers(len(ids[type_])))]
            if choice != exclude:
                return choice

    links: dict[str, dict[str, str]] = {}
    for type_ in _TYPE_SHARES:
        for entity_id in ids[type_]:
            links[entity_id] = {
                rel: pick(_RELATIONS[rel][1], exclude=entity_id) for rel in _OUTGOING.get(type_, [])
            }
    # Years: people and places first, then what depends on them, so the dates are plausible
    # (and none lies after 2025).
    years: dict[str, int] = {}

    def after(base: int, low: int, high: int) -> int:
        return base + int(rng.integers(low, max(low + 1, min(high, 2026 - base))))

    for entity_id in ids["person"]:
        years[entity_id] = int(rng.integers(1550, 1960))
    for entity_id in ids["place"]:
        years[entity_id] = int(rng.integers(800, 1700))
    for entity_id in ids["organisation"]:
        years[entity_id] = after(years[links[entity_id]["founder"]], 20, 60)
    for entity_id in ids["work"]:
        years[entity_id] = after(years[links[entity_id]["creator"]], 18, 70)
    for entity_id in ids["event"]:
        years[entity_id] = after(years[links[entity_id]["organiser"]], 1, 120)
    details = {
        "person": _OCCUPATIONS,
        "place": _REGIONS,
        "organisation": _REGIONS,
        "work": _WORK_FORMS,
        "event": _TRAIT_WORDS,
    }
    entities: dict[str, Entity] = {}
    for type_ in _TYPE_SHARES:
        for entity_id in ids[type_]:
            options = details[type_]
            entities[entity_id] = Entity(
                id=entity_id,
                type=type_,
                name=names[entity_id],
                year=years[entity_id],
                links=links[entity_id],
                detail=options[int(rng.integers(len(options)))],
            )
    passages = [
        Passage(e.id, e.name, _prose(e, entities, seeded_rng("search-prose", seed, e.id)))
        for e in entities.values()
    ]
    test_ids = frozenset(
        e for e in entities if _hash_unit(f"search-split/{seed}/{e}") < test_fraction
    )
    return World(seed=seed, entities=entities, passages=passages, test_ids=test_ids)


# Words of generated names that many names share (kinds of organisations and works); they may
# repeat across names.
_COMMON_WORDS = frozenset({"The", "of", *_ORG_KINDS, *_EVENT_KINDS, *_ADJECTIVES, *_NOUNS})


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _prose(entity: Entity, entities: dict[str, Entity], rng: np.random.Generator) -> str:
    """The encyclopedia passage of ``entity``: its facts, in one of several phrasings."""

    def link(rel: str) -> str:
        return entities[entity.links[rel]].mention

    def choose(*variants: str) -> str:
        return variants[int(rng.integers(len(variants)))]

    me, year = entity.mention, entity.year
    if entity.type == "person":
        sentences = [
            choose(
                f"{me} (born {year}) was {_article(entity.detail)} {entity.detail} from {link('born_in')}.",
                f"{me} was {_article(entity.detail)} {entity.detail}, born in {link('born_in')} in {year}.",
            ),
            choose(
                f"{me} was a member of {link('member_of')}.",
                f"During their career, {me} belonged to {link('member_of')}.",
            ),
        ]
    elif entity.type == "place":
        trait = _PLACE_TRAITS[int(rng.integers(len(_PLACE_TRAITS)))].format(
            _TRAIT_WORDS[int(rng.integers(len(_TRAIT_WORDS)))]
        )
        sentences = [
            choose(
                f"{me} is a city in the region of {entity.detail}, founded in {year}.",
                f"Founded in {year}, {me} is a city of the {entity.detail} region.",
            ),
            f"The mayor of {me} is {link('mayor')}.",
            trait,
        ]
    elif entity.type == "organisation":
        sentences = [
            choose(
                f"{_cap(me)} is an organisation founded in {year} by {link('founder')}.",
                f"{_cap(link('founder'))} founded {me} in {year}.",
            ),
            choose(
                f"It is based in {link('based_in')}.",
                f"{_cap(me)} has its seat in {link('based_in')}.",
            ),
            f"Its members come mostly from the {entity.detail} region.",
        ]
    elif entity.type == "work":
        sentences = [
            choose(
                f"{me} is {_article(entity.detail)} {entity.detail} by {link('creator')}, first presented in {year}.",
                f"{_cap(link('creator'))} created the {entity.detail} {me}, which first "
                f"appeared in {year}.",
            ),
            f"The story of {me} is set in {link('set_in')}.",
        ]
    else:
        sentences = [
            choose(
                f"{_cap(me)} took place in {link('held_in')} in {year}.",
                f"In {year}, {me} was held in {link('held_in')}.",
            ),
            choose(
                f"It was organised by {link('organiser')}.",
                f"{_cap(link('organiser'))} organised {me}.",
            ),
            f"Records of it survive on {entity.detail} tablets.",
        ]
    return " ".join(sentences)


# ---- questions -------------------------------------------------------------------------


def _normalized_words(text: str) -> list[str]:
    return normalize_answer(text).split()


def _contains(question: str, answer: str) -> bool:
    words, sub = _normalized_words(question), _normalized_words(answer)
    n = len(sub)
    return n > 0 and any(words[i : i + n] == sub for i in range(len(words) - n + 1))


class QuestionGenerator:
    """Multi-hop questions about a :class:`World`, by index and split (deterministic).

    A task is ``{"id", "question", "answers", "hops", "kind", "gold_ids"}``; ``gold_ids`` are
    the passages needed, in the order a reader would follow them.

    Args:
        world: The encyclopedia.
        seed: Seed of the question draws (the world has its own).
        hops: Hop counts to draw from (each in 1..4).
        kinds: ``"bridge"`` and/or ``"comparison"``; comparison needs a hop count of 2 or more.
        comparison_share: Probability of a comparison when both kinds are allowed and the
            drawn hop count allows one.
        num_test_tasks: Size of the test split (the train split is unbounded).

    Raises:
        ValueError: A hop count outside 1..4, an unknown kind, or no (hops, kind) pair possible.
    """

    def __init__(
        self,
        world: World,
        *,
        seed: int = 0,
        hops: tuple[int, ...] | list[int] = (1, 2, 3, 4),
        kinds: tuple[str, ...] | list[str] = KINDS,
        comparison_share: float = 0.3,
        num_test_tasks: int = 200,
    ):
        self.world = world
        self.seed = seed
        self.hops = tuple(int(h) for h in hops)
        self.kinds = tuple(kinds)
        if not self.hops or any(h not in (1, 2, 3, 4) for h in self.hops):
            raise ValueError(f"hops must be a non-empty list of values in 1..4, got {hops!r}")
        unknown = set(self.kinds) - set(KINDS)
        if not self.kinds or unknown:
            raise ValueError(f"kinds must be a non-empty subset of {KINDS}, got {kinds!r}")
        if self.kinds == ("comparison",) and max(self.hops) < 2:
            raise ValueError("comparison questions need 2 or more hops; add 'bridge' or hops >= 2")
        if not 0.0 <= comparison_share <= 1.0:
            raise ValueError(f"comparison_share must be in [0, 1], got {comparison_share!r}")
        self.comparison_share = comparison_share
        self.num_test_tasks = num_test_tasks
        self._starts: dict[str, dict[str, list[str]]] = {}
        for split in SPLITS:
            by_type: dict[str, list[str]] = {}
            for e in world.entities.values():
                if (e.id in world.test_ids) == (split == "test"):
                    by_type.setdefault(e.type, []).append(e.id)
            self._starts[split] = by_type

    def num_tasks(self, split: str = "train") -> int | None:
        """None (unbounded) for train; ``num_test_tasks`` for test."""
        _check_split(split)
        return None if split == "train" else self.num_test_tasks

    def get_task(self, index: int, split: str = "train") -> Task:
        """The question at ``index`` of ``split``.

        Raises:
            IndexError: ``index`` is negative, or beyond the test split.
        """
        _check_split(split)
        if index < 0 or (split == "test" and index >= self.num_test_tasks):
            raise IndexError(
                f"task index {index} is out of range for the {split} split "
                f"({self.num_tasks(split) or 'unbounded'} tasks)"
            )
        rng = seeded_rng("search-question", self.world.seed, self.seed, split, index)
        # Hop count and kind are drawn once, and only the question is redrawn when a walk
        # fails: redrawing them too would favour the kinds that never fail (1-hop bridges).
        choices = self.hops if "bridge" in self.kinds else tuple(h for h in self.hops if h >= 2)
        hops = choices[int(rng.integers(len(choices)))]
        compare = (
            hops >= 2
            and "comparison" in self.kinds
            and ("bridge" not in self.kinds or rng.random() < self.comparison_share)
        )
        for _ in range(1000):
            draw = self._comparison if compare else self._bridge
            made = draw(rng, split, hops)
            if made is None:
                continue
            question, answer, gold, kind = made
            if _contains(question, answer):
                continue
            return {
                "id": f"search-{split}-{index}",
                "question": question,
                "answers": [answer],
                "hops": hops,
                "kind": kind,
                "gold_ids": gold,
            }
        raise RuntimeError(f"could not draw question {index} of {split}; the world is too small")

    # ---- question kinds ---------------------------------------------------------------

    def _walk(
        self, rng: np.random.Generator, start: str, steps: int
    ) -> tuple[list[str], str] | None:
        """Follow ``steps`` random relations from ``start``: (entity ids visited, noun phrase)."""
        entities = self.world.entities
        path = [start]
        phrase = entities[start].mention
        for _ in range(steps):
            options = _OUTGOING.get(entities[path[-1]].type, [])
            if not options:
                return None
            rel = options[int(rng.integers(len(options)))]
            target = entities[path[-1]].links[rel]
            if target in path:
                return None
            path.append(target)
            phrase = _RELATIONS[rel][2].format(x=phrase)
        return path, phrase

    def _start(self, rng: np.random.Generator, split: str, types: list[str] | None = None) -> str:
        pools = self._starts[split]
        types = [t for t in (types or list(pools)) if pools.get(t)]
        pool = pools[types[int(rng.integers(len(types)))]]
        return pool[int(rng.integers(len(pool)))]

    def _bridge(
        self, rng: np.random.Generator, split: str, hops: int
    ) -> tuple[str, str, list[str], str] | None:
        entities = self.world.entities
        start = self._start(rng, split)
        ask_name = rng.random() < 0.5
        if ask_name:
            # hops relations; the answer is the last entity's name, read in passage hops-1
            walked = self._walk(rng, start, hops)
            if walked is None:
                return None
            path, phrase = walked
            target = entities[path[-1]]
            question = _cap(_NAME_QUESTIONS[target.type].format(x=phrase))
            return question, target.name, path[:-1], "bridge"
        walked = self._walk(rng, start, hops - 1)
        if walked is None:
            return None
        path, phrase = walked
        target = entities[path[-1]]
        question = _cap(_YEAR_QUESTIONS[target.type][0].format(x=phrase))
        return question, str(target.year), path, "bridge"

    def _comparison(
        self, rng: np.random.Generator, split: str, hops: int
    ) -> tuple[str, str, list[str], str] | None:
        entities = self.world.entities
        # passages per side: (1, 1), (1, 2) or (2, 2); a side of 2 is a bridged entity
        steps_a, steps_b = {2: (0, 0), 3: (0, 1), 4: (1, 1)}[hops]
        if steps_a != steps_b and rng.random() < 0.5:
            steps_a, steps_b = steps_b, steps_a
        if hops == 4 and rng.random() < 0.5:
            return self._which_first(rng, split)
        walked_a = self._walk(rng, self._start(rng, split), steps_a)
        walked_b = self._walk(rng, self._start(rng, split), steps_b)
        if walked_a is None or walked_b is None:
            return None
        (path_a, phrase_a), (path_b, phrase_b) = walked_a, walked_b
        if set(path_a) & set(path_b):
            return None
        a, b = entities[path_a[-1]], entities[path_b[-1]]
        if a.year == b.year:
            return None
        event_a = _YEAR_QUESTIONS[a.type][1].format(x=phrase_a)
        event_b = _YEAR_QUESTIONS[b.type][1].format(x=phrase_b)
        question = f"How many years passed between {event_a} and {event_b}?"
        return question, str(abs(a.year - b.year)), path_a + path_b, "comparison"

    def _which_first(
        self, rng: np.random.Generator, split: str
    ) -> tuple[str, str, list[str], str] | None:
        entities = self.world.entities
        walked_a = self._walk(rng, self._start(rng, split), 1)
        if walked_a is None:
            return None
        target_type = entities[walked_a[0][-1]].type
        for _ in range(20):  # a second side whose target has the same type
            walked_b = self._walk(rng, self._start(rng, split), 1)
            if walked_b is not None and entities[walked_b[0][-1]].type == target_type:
                break
        else:
            return None
        (path_a, phrase_a), (path_b, phrase_b) = walked_a, walked_b
        if set(path_a) & set(path_b):
            return None
        a, b = entities[path_a[-1]], entities[path_b[-1]]
        if a.year == b.year or target_type not in _FIRST_QUESTIONS:
            return None
        first = a if a.year < b.year else b
        question = _FIRST_QUESTIONS[target_type].format(a=phrase_a, b=phrase_b)
        return question, first.name, path_a + path_b, "comparison"


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
