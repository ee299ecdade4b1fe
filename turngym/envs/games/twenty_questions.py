"""``turngym/TwentyQuestions-v0``: find a hidden object by asking yes/no questions.

The game of LMRL-Gym's "Twenty Questions" (Abdulhai et al., 2023, "LMRL Gym: Benchmarks for
Multi-Turn Reinforcement Learning with Language Models"), with a rule-based oracle instead of
an LLM one, so that answers are exact, fast and reproducible.

Protocol:
    * Observation at reset: a system message with the rules, a user message inviting the
      first question.
    * Each assistant turn is one question. When the message holds several sentences, the last
      one ending in ``?`` is the question (so agents may think aloud first).
    * A guess is ``Is it a <object>?`` (or ``<guess>object</guess>``) naming an object the
      oracle knows. ``Is it a <noun>?`` with a noun the oracle knows neither as an object nor
      as a category or trait counts as a wrong guess ("Nothing I know is called ...").
    * The oracle answers ``Yes.``, ``No.``, ``About the same size.``, ``It comes in many
      colors.``, or a message saying what it can answer when it does not understand.
      Questions mentioning several things are answered as a conjunction ("Is it a red fruit?"
      is yes only for red fruits).

Every turn (question, guess, or unparsable message) uses one of ``max_questions``.

Reward: ``-question_cost`` on every turn, plus ``success_reward`` on the turn of the correct
guess, which ends the episode (``terminated``, ``info["success"] = True``). Running out of
questions also ends it (``terminated``, success False): losing is a real ending of the game.

What the oracle does NOT cover: free-form (wh-) questions, negations ("isn't it ...?" is
answered as "is it ...?"), weights and shapes, or objects outside :mod:`.objects`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from turngym.core.messages import Message
from turngym.envs.base import Task
from turngym.envs.games.common import ItemSplits, extract_tag, last_question, normalize
from turngym.envs.games.objects import OBJECTS, GameObject
from turngym.envs.games.question_game import QuestionGameEnv

__all__ = [
    "OracleReply",
    "ParsedQuestion",
    "TwentyQuestionsEnv",
    "answer_question",
    "parse_question",
]

YES, NO, SAME, MANY_COLORS = "Yes.", "No.", "About the same size.", "It comes in many colors."
HELP = (
    "I can only answer yes/no questions about the hidden object: its category (animal, "
    "plant, food, vehicle, tool, furniture, electronics, clothing, instrument, kitchenware, "
    "household item, toy), its size (e.g. 'Is it bigger than a car?', 'Does it fit in your "
    "hand?'), material ('Is it made of wood?'), color, uses and traits ('Can you eat it?', "
    "'Does it have wheels?'), or where it is found ('Is it found in the kitchen?'). "
    "Guess with 'Is it a <object>?'."
)
EITHER_OR = "Please ask one yes/no question at a time; I can't answer either-or questions."

Verdict = str
Predicate = Callable[[GameObject], Verdict]

# ---- size ---------------------------------------------------------------------------------

_SIZE_REFERENCES: dict[str, float] = {
    **{n: o.size_cm for o in OBJECTS for n in o.names},
    "person": 170, "human": 170, "man": 170, "woman": 170, "adult": 170, "human being": 170,
    "child": 120, "kid": 120, "baby": 60, "house": 1000, "building": 2000, "room": 400,
    "hand": 18, "fist": 10, "finger": 8, "thumb": 6, "pen": 14, "shoebox": 30, "shoe box": 30,
    "breadbox": 40, "bread box": 40, "basketball": 24, "tennis ball": 7, "golf ball": 4,
    "me": 170, "you": 170, "i": 170, "truck": 800, "door": 200, "ruler": 30, "pea": 1, "grain of rice": 0.5, "rice": 0.5,
    "loaf of bread": 30, "toaster": 30, "box": 50, "desk": 140, "suitcase": 70,
}  # fmt: skip
_FIT_LIMITS: dict[str, float] = {
    "palm": 10, "hand": 20, "pocket": 15, "mouth": 5, "bag": 45, "backpack": 45, "box": 50,
    "shoebox": 30, "shoe box": 30, "car": 200, "room": 400, "house": 1000,
}  # fmt: skip
_SAME_SIZE_RATIO = 1.25  # within 25% counts as "about the same size"
_ARTICLE = r"(?:a |an |the |your |my |one |some )?"


def _compare(size: float, reference: float, bigger: bool) -> Verdict:
    if size > reference * _SAME_SIZE_RATIO:
        return YES if bigger else NO
    if size * _SAME_SIZE_RATIO < reference:
        return NO if bigger else YES
    return SAME


def _at_least(lo: float, hi: float = float("inf")) -> Predicate:
    return lambda o: YES if lo <= o.size_cm < hi else NO


# ---- places -------------------------------------------------------------------------------

_HOME = {"home", "kitchen", "bedroom", "bathroom", "living room", "garage", "wardrobe"}
_OUTDOORS = {
    "farm", "zoo", "forest", "jungle", "savanna", "ocean", "river", "pond", "garden", "street",
    "sky", "desert", "park", "beach", "mountain", "field",
}  # fmt: skip
_WILD = {"forest", "jungle", "savanna", "ocean", "river", "pond", "sky", "desert", "mountain"}
_PLACE_WORDS: dict[str, set[str]] = {
    "home": _HOME, "house": _HOME, "indoors": _HOME | {"office", "school", "library", "shop",
    "restaurant", "station", "airport", "stage", "workshop", "pocket"},
    "outdoors": _OUTDOORS, "outside": _OUTDOORS, "wild": _WILD, "nature": _WILD,
    "water": {"ocean", "river", "pond"}, "sea": {"ocean"}, "ocean": {"ocean"},
    "lake": {"pond"}, "pond": {"pond"}, "river": {"river"}, "woods": {"forest"},
    "forest": {"forest"}, "rainforest": {"jungle"}, "jungle": {"jungle"},
    "savanna": {"savanna"}, "savannah": {"savanna"}, "yard": {"garden"}, "garden": {"garden"},
    "road": {"street"}, "street": {"street"}, "city": {"street"}, "town": {"street"},
    "air": {"sky"}, "sky": {"sky"}, "store": {"shop"}, "shop": {"shop"},
    "supermarket": {"shop"}, "toolbox": {"workshop"}, "workshop": {"workshop"},
    "concert": {"stage"}, "stage": {"stage"}, "closet": {"wardrobe"}, "wardrobe": {"wardrobe"},
    "classroom": {"school"}, "school": {"school"}, "countryside": {"farm", "field"},
    "mountains": {"mountain"}, "mountain": {"mountain"}, "field": {"field"},
}  # fmt: skip
for _place in ("kitchen", "bedroom", "bathroom", "living room", "office", "farm", "zoo",
               "desert", "airport", "station", "park", "beach", "library", "restaurant",
               "garage", "pocket"):  # fmt: skip
    _PLACE_WORDS.setdefault(_place, {_place})


def _place(word: str) -> Predicate:
    where = _PLACE_WORDS[word]
    return lambda o: YES if where & set(o.places) else NO


# ---- materials and colors -----------------------------------------------------------------

_MATERIAL_WORDS = {
    "wood": "wood", "wooden": "wood", "metal": "metal", "metallic": "metal", "steel": "metal",
    "iron": "metal", "plastic": "plastic", "glass": "glass", "paper": "paper",
    "fabric": "fabric", "cloth": "fabric", "cotton": "fabric", "wool": "fabric",
    "leather": "leather", "rubber": "rubber", "ceramic": "ceramic", "porcelain": "ceramic",
    "clay": "ceramic", "wax": "wax", "stone": "stone",
}  # fmt: skip
_COLOR_WORDS = {
    "red": "red", "orange": "orange", "yellow": "yellow", "green": "green", "blue": "blue",
    "purple": "purple", "pink": "pink", "brown": "brown", "black": "black", "white": "white",
    "gray": "gray", "grey": "gray", "silver": "silver", "gold": "gold", "golden": "gold",
}  # fmt: skip


def _material(word: str) -> Predicate:
    material = _MATERIAL_WORDS[word]
    return lambda o: YES if material in o.materials else NO


def _color(word: str) -> Predicate:
    color = _COLOR_WORDS[word]
    return lambda o: MANY_COLORS if o.colors == ("any",) else (YES if color in o.colors else NO)


def _colorful(o: GameObject) -> Verdict:
    return YES if o.colors == ("any",) or len(o.colors) >= 3 else NO


# ---- categories and traits ----------------------------------------------------------------


def _category(name: str) -> Predicate:
    return lambda o: YES if o.category == name else NO


def _kind(name: str) -> Predicate:
    return lambda o: YES if o.kind == name else NO


def _tag(*names: str) -> Predicate:
    return lambda o: YES if o.tags.intersection(names) else NO


def _yes_if(test: Callable[[GameObject], bool]) -> Predicate:
    return lambda o: YES if test(o) else NO


# (pattern, predicate factory taking the match). Order matters: a rule consumes the text it
# matched, so specific phrases ("eat with", "living room", "kitchen utensil") come first.
_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], Predicate]]


def _r(pattern: str, make: Callable[[re.Match[str]], Predicate]) -> _Rule:
    return re.compile(pattern), make


def _const(predicate: Predicate) -> Callable[[re.Match[str]], Predicate]:
    return lambda _m: predicate


_RULES: tuple[_Rule, ...] = (
    # size
    _r(rf"\b(?:hold|carry) (?:it )?in {_ARTICLE}hand\b", _const(_at_least(0, 30))),
    _r(
        rf"\bfit (?:in|into|inside) {_ARTICLE}(palm|hand|pocket|mouth|bag|backpack|shoe ?box|box|car|room|house)\b",
        lambda m: _at_least(0, _FIT_LIMITS[m.group(1)] + 0.01),
    ),
    _r(r"\b(?:hold|carry|lift|pick (?:it )?up)\b", _const(_at_least(0, 60.01))),
    # categories (before places: "kitchen utensil" is a category, not a place)
    _r(r"\b(?:kitchenware|kitchen (?:utensil|tool|item)s?|utensils?|cutlery|cookware)\b",
       _const(_category("kitchenware"))),
    _r(r"\bhousehold(?: items?| objects?| things?)?\b", _const(_category("household item"))),
    _r(r"\b(?:animals?|creatures?|beasts?)\b", _const(_category("animal"))),
    _r(r"\bmammals?\b", _const(_kind("mammal"))),
    _r(r"\bbirds?\b", _const(_kind("bird"))),
    _r(r"\bfish(?:es)?\b", _const(_kind("fish"))),
    _r(r"\b(?:insects?|bugs?)\b", _const(_kind("insect"))),
    _r(r"\breptiles?\b", _const(_kind("reptile"))),
    _r(r"\bamphibians?\b", _const(_kind("amphibian"))),
    _r(r"\barachnids?\b", _const(_kind("arachnid"))),
    _r(r"\bplants?\b", _const(_category("plant"))),
    _r(r"\btrees?\b", _const(_kind("tree"))),
    _r(r"\bflowers?\b", _const(_kind("flower"))),
    _r(r"\bfruits?\b", _const(_kind("fruit"))),
    _r(r"\b(?:vegetables?|veggies?)\b", _const(_kind("vegetable"))),
    _r(r"\b(?:food|foods|snack|meal)\b", _const(_category("food"))),
    _r(r"\b(?:vehicles?|means of transport|transportation|transport)\b",
       _const(_category("vehicle"))),
    _r(r"\btools?\b", _const(_category("tool"))),
    _r(r"\bfurniture\b", _const(_category("furniture"))),
    _r(r"\b(?:electronic devices?|electronics|devices?|gadgets?|appliances?|machines?)\b",
       _const(_category("electronics"))),
    _r(r"\b(?:piece of clothing|clothing|clothes|garments?|apparel|outfit)\b",
       _const(_category("clothing"))),
    _r(r"\b(?:musical )?instruments?\b", _const(_category("instrument"))),
    _r(r"\b(?:toys?|plaything|children|child|kids?)\b", _const(_category("toy"))),
    # places ("living room" before "living")
    _r(
        r"\b(" + "|".join(sorted(map(re.escape, _PLACE_WORDS), key=len, reverse=True)) + r")\b",
        lambda m: _place(m.group(1)),
    ),
    # nature
    _r(r"\b(?:alive|living thing|living|organism|life)\b", _const(_yes_if(lambda o: o.living))),
    _r(
        r"\b(?:man[- ]made|artificial|manufactured|made by (?:people|humans|man)|human[- ]made|synthetic)\b",
        _const(_yes_if(lambda o: o.man_made)),
    ),
    _r(r"\bnatural\b", _const(_yes_if(lambda o: not o.man_made))),
    # uses and traits
    _r(r"\b(?:eat (?:with|from|off|using))\b", _const(_tag("eat_with"))),
    _r(r"\b(?:eat|eaten|edible|eating|tasty|delicious)\b", _const(_tag("edible"))),
    _r(r"\b(?:drink (?:from|out of)|hold (?:water|liquids?|drinks?)|liquids?|container)\b",
       _const(_tag("holds_liquid"))),
    _r(r"\bdrink\w*\b", _const(_tag("drinkable"))),
    _r(r"\b(?:ride|riding|drive|driving|driven|travel\w*|sit inside|get inside)\b",
       _const(_tag("rideable"))),
    _r(r"\b(?:wear|wearing|worn|wearable|put on|dress)\b", _const(_tag("wearable"))),
    _r(r"\b(?:sit|sitting|seat)\b", _const(_tag("sit"))),
    _r(r"\b(?:electric\w*|electronic|battery|batteries|plug|plugged|power|powered|charg\w*|turn (?:it )?on|switch)\b",
       _const(_tag("electric"))),
    _r(r"\bwheels?\b", _const(_tag("wheels"))),
    _r(r"\b(?:engines?|motors?|fuel|gas|petrol|diesel)\b", _const(_tag("engine"))),
    _r(r"\b(?:legs?|walk\w*)\b", _const(_tag("legs"))),
    _r(r"\b(?:fly|flies|flying|wings?|airborne)\b", _const(_tag("flies"))),
    _r(r"\bswim\w*\b", _const(_tag("swims"))),
    _r(r"\bfloat\w*\b", _const(_tag("floats", "swims"))),
    _r(r"\b(?:pets?|domestic\w*|tame)\b", _const(_tag("pet"))),
    _r(r"\b(?:predators?|carnivor\w*|hunts?|hunting|hunter)\b", _const(_tag("predator"))),
    _r(r"\b(?:dangerous|harmful|hurt|harm|bite|bites|sting\w*|poison\w*|venom\w*|deadly|kill)\b",
       _const(_tag("dangerous"))),
    _r(r"\b(?:sharp|pointy|pointed|blades?|thorns?|spiky|prickly)\b", _const(_tag("sharp"))),
    _r(r"\b(?:cut|cuts|cutting|slice\w*)\b", _const(_tag("cut"))),
    _r(r"\b(?:soft|fluffy|squishy|cuddly)\b", _const(_tag("soft"))),
    _r(r"\b(?:fur|furry|hair|hairy)\b", _const(_tag("fur"))),
    _r(r"\b(?:feathers?|feathered)\b", _const(_tag("feathers"))),
    _r(r"\b(?:music\w*|songs?|tunes?)\b", _const(_tag("music"))),
    _r(r"\bsports?\b", _const(_tag("sport"))),
    _r(r"\bplay\w*\b", _const(_yes_if(lambda o: o.category == "toy" or bool({"music", "sport"} & o.tags)))),
    _r(r"\b(?:write|writing|draw|drawing)\b", _const(_tag("write"))),
    _r(r"\bread\w*\b", _const(_tag("read"))),
    _r(r"\b(?:cook\w*|bake|baking|heat food|fry|frying)\b", _const(_tag("cook"))),
    _r(r"\b(?:cold|frozen|freez\w*)\b", _const(_tag("cold"))),
    _r(r"\b(?:(?:give|gives|make|makes|produce|produces|emit|emits) light|light up|illuminat\w*)\b",
       _const(_tag("light"))),
    _r(r"\b(?:tell|tells|show|shows|keep|keeps) (?:the )?time\b|\btime\b", _const(_tag("tell_time"))),
    _r(r"\b(?:clean\w*|wash\w*|brush\w*|hygiene)\b", _const(_tag("clean"))),
    _r(r"\b(?:unlock|lock|locks|open doors?|opens doors?)\b", _const(_tag("unlock"))),
    _r(r"\b(?:money|currency|pay|buy|cash)\b", _const(_tag("money"))),
    _r(r"\b(?:screens?|display)\b", _const(_tag("screen"))),
    _r(r"\b(?:sweet|sugary|sugar)\b", _const(_tag("sweet"))),
    _r(r"\b(?:rain|rainy|keep you dry)\b", _const(_tag("rain"))),
    # materials and colors
    _r(r"\b(" + "|".join(_MATERIAL_WORDS) + r")\b", lambda m: _material(m.group(1))),
    _r(r"\b(?:colou?rful|multicolou?red)\b", _const(_colorful)),
    _r(r"\b(" + "|".join(_COLOR_WORDS) + r")\b", lambda m: _color(m.group(1))),
    # plain size words (after "big" in comparisons has been consumed)
    _r(r"\b(?:huge|enormous|gigantic|giant|massive)\b", _const(_at_least(500))),
    _r(r"\b(?:big|large)\b", _const(_at_least(100))),
    _r(r"\b(?:tiny|minuscule)\b", _const(_at_least(0, 5))),
    _r(r"\bmedium[- ]sized?\b", _const(_at_least(30, 100))),
    _r(r"\b(?:small|little)\b", _const(_at_least(0, 30))),
)  # fmt: skip

_COMPARISON = re.compile(
    r"\b(bigger|larger|taller|longer|heavier|wider|smaller|shorter|tinier|littler|lighter)"
    rf"\s+than\s+{_ARTICLE}([a-z][a-z' -]*?)(?=$|,| and | or |\?)"
)
_SAME_SIZE = re.compile(rf"\b(?:the )?same size as\s+{_ARTICLE}([a-z][a-z' -]*?)(?=$|,| and |\?)")
_BIGGER_WORDS = {"bigger", "larger", "taller", "longer", "heavier", "wider"}
_AUX_WORDS = {
    "is", "are", "does", "do", "can", "could", "would", "will", "has", "have", "was", "were",
    "should", "might", "may", "did", "am", "isn't", "aren't", "doesn't", "don't", "can't",
    "couldn't", "wouldn't", "won't", "hasn't", "haven't", "wasn't",
}  # fmt: skip
_GUESS = re.compile(
    r"^(?:is it|is this|is the object|is the hidden object|could it be|can it be|might it be|"
    r"would it be|it is|it's|my guess is|i guess|i think it is|i think it's|guess:?)\s+"
    r"(a |an |the |some )?([a-z][a-z' -]*)$"
)
_TABLE_NAMES = frozenset(n for o in OBJECTS for n in o.names)
_VAGUE_NOUNS = {"thing", "object", "item", "something", "kind of thing", "type of thing"}


# ---- parsing and answering ----------------------------------------------------------------


@dataclass(frozen=True)
class ParsedQuestion:
    """What the oracle made of one assistant message."""

    kind: str
    """``"guess"``, ``"query"`` (yes/no predicates), or ``"help"`` (a fixed reply)."""
    guess: str | None = None
    """The guessed name (for ``"guess"``), normalized."""
    predicates: tuple[Predicate, ...] = ()
    """The conjunction to evaluate (for ``"query"``)."""
    reply: str | None = None
    """The fixed reply (for ``"help"``)."""
    known_name: bool = True
    """Whether a guess names an object of the table (else "Is it a <noun>?" with an unknown
    noun, answered as a wrong guess without claiming what the noun is)."""


@dataclass(frozen=True)
class OracleReply:
    """The oracle's answer to one message about one hidden object."""

    text: str
    """What the oracle says."""
    kind: str
    """``"guess"``, ``"query"`` or ``"help"`` (as in :class:`ParsedQuestion`)."""
    correct: bool = False
    """A guess that names the hidden object."""


def parse_question(message: str, names: Sequence[str] | None = None) -> ParsedQuestion:
    """Parse one assistant message into a guess, a conjunction of predicates, or help.

    Args:
        message: The assistant's text; the last sentence ending in ``?`` is used.
        names: Object names (and aliases) that count as guesses; defaults to the table's.

    Returns:
        The parsed question; it does not depend on the hidden object.
    """
    known = _TABLE_NAMES if names is None else frozenset(names)
    tagged = extract_tag(message, "guess")
    if tagged is not None:
        name = _strip_article(normalize(tagged))
        return ParsedQuestion("guess", guess=name, known_name=name in known)
    question = normalize(last_question(message))
    question = re.sub(r",? or not$", "", question)
    guess = _GUESS.match(question)
    if guess and guess.group(2).strip() in known:
        return ParsedQuestion("guess", guess=guess.group(2).strip())
    if not question or question.split()[0] not in _AUX_WORDS:
        return ParsedQuestion("help", reply=HELP)
    if re.search(r"\bor\b|\beither\b", question):
        return ParsedQuestion("help", reply=EITHER_OR)

    predicates: list[Predicate] = []
    text = question
    for pattern, bigger_or_same in ((_COMPARISON, True), (_SAME_SIZE, False)):
        for match in list(pattern.finditer(text)):
            ref_name = match.group(match.lastindex or 1).strip()
            reference = _SIZE_REFERENCES.get(ref_name)
            if reference is None:
                return ParsedQuestion(
                    "help",
                    reply=(
                        f"I don't know how big '{ref_name}' is. Compare with something common, "
                        "like a coin, a hand, a book, a chair, a person, a car or a house."
                    ),
                )
            if bigger_or_same:
                bigger = match.group(1) in _BIGGER_WORDS
                predicates.append(lambda o, r=reference, b=bigger: _compare(o.size_cm, r, b))
            else:
                predicates.append(
                    lambda o, r=reference: SAME if _compare(o.size_cm, r, True) == SAME else NO
                )
        text = pattern.sub(" ", text)
    for pattern, make in _RULES:
        for match in list(pattern.finditer(text)):
            predicates.append(make(match))
        text = pattern.sub(" ", text)
    if predicates:
        return ParsedQuestion("query", predicates=tuple(predicates))
    # "Is it a <noun>?" naming nothing the oracle knows: a wrong guess, since the hidden
    # object is always from the table (an article is required: "Is it old?" is no guess)
    if (
        guess
        and guess.group(1)
        and guess.group(2).strip() not in _VAGUE_NOUNS
        and len(guess.group(2).split()) <= 3
    ):
        return ParsedQuestion("guess", guess=guess.group(2).strip(), known_name=False)
    return ParsedQuestion("help", reply=HELP)


def answer_question(parsed: ParsedQuestion, hidden: GameObject) -> OracleReply:
    """The oracle's reply to a parsed question about ``hidden``."""
    if parsed.kind == "guess":
        assert parsed.guess is not None
        if parsed.guess in hidden.names:
            return OracleReply(f"Yes! It is {_a(hidden.name)}.", "guess", correct=True)
        if not parsed.known_name:
            return OracleReply(
                f"Nothing I know is called '{parsed.guess}', so if that was a guess, it is wrong.",
                "guess",
            )
        return OracleReply(f"No, it is not {_a(parsed.guess)}.", "guess")
    if parsed.kind == "help":
        return OracleReply(parsed.reply or HELP, "help")
    verdicts = {p(hidden) for p in parsed.predicates}
    if NO in verdicts:
        text = NO
    elif len(verdicts) == 1:
        text = verdicts.pop()
    else:  # e.g. "Is it a big red thing?" when it comes in many colors
        text = "Partly. Please ask about one thing at a time."
    return OracleReply(text, "query")


def _a(noun: str) -> str:
    vowel_sound = noun[:1] in "aeiou" and not noun.startswith(("uni", "use", "eu"))
    return f"{'an' if vowel_sound else 'a'} {noun}"


def _strip_article(text: str) -> str:
    return re.sub(r"^(?:a|an|the|some) ", "", text)


# ---- the env ------------------------------------------------------------------------------

_SYSTEM_PROMPT = (
    "Let's play Twenty Questions. I am thinking of an everyday object, animal, plant or food. "
    "Find it by asking yes/no questions, one per message, for example 'Is it an animal?', "
    "'Is it bigger than a car?', 'Can you eat it?' or 'Is it made of wood?'. When you know, "
    "guess with 'Is it a <object>?'. You have {max_questions} questions in total, guesses "
    "included."
)


class TwentyQuestionsEnv(QuestionGameEnv):
    """Twenty Questions against a rule-based oracle over a 102-object table.

    See the module docstring for the protocol and reward. ``info`` of every step holds
    ``questions`` (turns used), ``wrong_guesses`` and ``not_understood``; the last step adds
    ``success`` and ``object`` (the hidden object's name).

    Args:
        seed: Order of the objects inside each split (task index ``i`` is a fixed object).
        test_fraction: Share of the objects held out for the test split (by a hash of the name).
        max_questions: Turns before the game is lost.
        question_cost: Subtracted from the reward of every turn (>= 0).
        success_reward: Added on the turn of the correct guess.
        objects: The object table (defaults to :data:`~turngym.envs.games.objects.OBJECTS`).
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
        objects: Sequence[GameObject] = OBJECTS,
        render_mode: str | None = None,
    ):
        super().__init__(
            max_questions=max_questions,
            question_cost=question_cost,
            success_reward=success_reward,
            render_mode=render_mode,
        )
        self.objects = {o.name: o for o in objects}
        self.names = {n for o in objects for n in o.names}
        self.splits = ItemSplits(
            list(self.objects), test_fraction=test_fraction, salt="twenty-questions", seed=seed
        )
        self.hidden: GameObject | None = None

    def get_task(self, index: int, split: str = "train") -> Task:
        name = self.splits.key_at(index, split)
        return {"id": f"20q-{name.replace(' ', '_')}", "object": name}

    def on_reset(self, task: Task) -> None:
        name = str(task.get("object", "")).lower()
        if name not in self.objects:
            raise ValueError(
                f"TwentyQuestions task {task.get('id', '?')!r}: unknown object {name!r}; "
                "use a name from turngym.envs.games.objects.OBJECTS"
            )
        self.hidden = self.objects[name]
        self.reset_counts()

    def initial_messages(self, task: Task) -> list[Message]:
        return [
            Message("system", _SYSTEM_PROMPT.format(max_questions=self.max_questions)),
            Message("user", "I am thinking of something. Ask your first question."),
        ]

    def answer(self, action: str) -> OracleReply:
        assert self.hidden is not None
        return answer_question(parse_question(action, self.names), self.hidden)

    def final_info(self) -> dict[str, Any]:
        assert self.hidden is not None
        return {"object": self.hidden.name}

    def probe_actions(self) -> list[str]:
        return [
            "Is it an animal?",
            "Is it bigger than a car?",
            "Can you eat it?",
            "What color is it?",
            "Is it a dog?",
            "<guess>apple</guess>",
            "",
        ]
