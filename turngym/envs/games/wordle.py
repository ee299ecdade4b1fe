"""``turngym/Wordle-v0``: guess a hidden five-letter word in six tries, with per-letter feedback.

The Wordle task of LMRL-Gym (Abdulhai et al., 2023), on a bundled list of 519 common English
five-letter words (written here; no download).

Protocol:
    * Observation at reset: a system message with the rules and feedback legend, a user
      message asking for the first guess.
    * Each assistant turn is a guess: ``<guess>crane</guess>``, or a message that is a single
      word. Feedback comes back as ``CRANE: G X Y X X (5 guesses left)``: ``G`` green (right
      letter, right spot), ``Y`` yellow (in the word, elsewhere), ``X`` gray (not in the word,
      or no more copies of it). Repeated letters follow real Wordle: greens are marked first,
      then yellows left to right while unmatched copies remain in the answer.
    * A word that is not five letters or not in the word list, or a message without a guess,
      gets a message saying what was wrong. It uses up a guess only with
      ``count_invalid=True`` (the registered turn cap ends endless invalid guessing).

Reward: ``success_reward`` on the turn the word is found, minus ``guess_cost`` on every turn
that uses up a guess. Solving ends the episode (``terminated``, ``info["success"] = True``);
so does using the last guess (``terminated``, success False, ``info["answer"]`` reveals the
word).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from turngym.core.messages import Message
from turngym.envs.base import StepOutcome, Task, TextEnv
from turngym.envs.games.common import ItemSplits, extract_tag

__all__ = ["WORDS", "WordleEnv", "format_feedback", "wordle_feedback"]

# fmt: off
WORDS: tuple[str, ...] = tuple(["about", "above", "abuse", "actor", "acute", "admit", "adopt", "adult", "after", "again", "agent", "agree", "ahead", "alarm", "album", "alert", "alike", "alive", "allow", "alone", "along", "alter", "among", "anger", "angle", "angry", "apart", "apple", "apply", "arena", "argue", "arise", "array", "aside", "asset", "audio", "audit", "avoid", "award", "aware", "bacon", "badly", "baker", "bases", "basic", "basis", "beach", "began", "begin", "begun", "being", "below", "bench", "birth", "black", "blame", "blind", "block", "blood", "board", "boost", "booth", "bound", "brain", "brand", "bread", "break", "breed", "brief", "bring", "broad", "broke", "brown", "brush", "build", "built", "buyer", "cable", "camel", "candy", "carry", "catch", "cause", "chain", "chair", "chalk", "chart", "chase", "cheap", "check", "chest", "chief", "child", "chose", "civil", "claim", "class", "clean", "clear", "click", "clock", "close", "cloud", "coach", "coast", "could", "count", "court", "cover", "craft", "crane", "crash", "cream", "crime", "cross", "crowd", "crown", "curve", "cycle", "daily", "dance", "dated", "dealt", "death", "debut", "delay", "depth", "doing", "doubt", "dozen", "draft", "drama", "drawn", "dream", "dress", "drink", "drive", "drove", "dying", "eager", "eagle", "early", "earth", "eerie", "eight", "elite", "empty", "enemy", "enjoy", "enter", "entry", "equal", "error", "event", "every", "exact", "exist", "extra", "faith", "false", "fault", "fiber", "field", "fifth", "fifty", "fight", "final", "first", "fixed", "flame", "flash", "fleet", "floor", "fluid", "focus", "force", "forth", "forty", "forum", "found", "frame", "frank", "fraud", "fresh", "front", "frost", "fruit", "fully", "funny", "geese", "ghost", "giant", "given", "glass", "globe", "going", "grace", "grade", "grand", "grant", "grape", "grass", "great", "green", "gross", "group", "grown", "guard", "guess", "guest", "guide", "happy", "heart", "heavy", "hence", "honey", "horse", "hotel", "house", "human", "ideal", "image", "index", "inner", "input", "issue", "joint", "judge", "juice", "kitty", "knife", "known", "koala", "label", "large", "laser", "later", "laugh", "layer", "learn", "lease", "least", "leave", "legal", "lemon", "level", "light", "limit", "links", "lives", "llama", "local", "logic", "loose", "lower", "lucky", "lunch", "lying", "magic", "major", "maker", "march", "match", "maybe", "mayor", "meant", "media", "melon", "metal", "might", "minor", "minus", "mixed", "model", "money", "month", "moral", "motor", "mount", "mouse", "mouth", "movie", "music", "needs", "never", "newly", "night", "noise", "north", "noted", "novel", "nurse", "occur", "ocean", "offer", "often", "olive", "onion", "order", "other", "otter", "ought", "paint", "panel", "paper", "party", "pasta", "peace", "peach", "phase", "phone", "photo", "piece", "pilot", "pitch", "pizza", "place", "plain", "plane", "plant", "plate", "point", "pound", "power", "press", "price", "pride", "prime", "print", "prior", "prize", "proof", "proud", "prove", "puppy", "queen", "quick", "quiet", "quite", "radio", "raise", "range", "rapid", "ratio", "reach", "ready", "refer", "right", "rival", "river", "robot", "rough", "round", "route", "royal", "rural", "salad", "scale", "scene", "scope", "score", "sense", "serve", "seven", "shall", "shape", "share", "shark", "sharp", "sheet", "shelf", "shell", "shift", "shirt", "shock", "shoot", "short", "shown", "sight", "since", "sixty", "sized", "skill", "slate", "sleep", "slide", "small", "smart", "smile", "smoke", "snake", "solid", "solve", "sorry", "sound", "south", "space", "spare", "speak", "speed", "spend", "spent", "split", "spoke", "sport", "staff", "stage", "stake", "stand", "start", "state", "steam", "steel", "stick", "still", "stock", "stone", "stood", "store", "storm", "story", "strip", "stuck", "study", "stuff", "style", "sugar", "suite", "super", "sweet", "table", "taken", "taste", "taxes", "teach", "teeth", "thank", "theft", "their", "theme", "there", "these", "thick", "thing", "think", "third", "those", "three", "threw", "throw", "tiger", "tight", "times", "tired", "title", "toast", "today", "topic", "total", "touch", "tough", "tower", "track", "trade", "train", "treat", "trend", "trial", "tried", "tries", "truck", "truly", "trust", "truth", "twice", "under", "undue", "union", "unity", "until", "upper", "upset", "urban", "usage", "usual", "valid", "value", "video", "virus", "visit", "vital", "voice", "waste", "watch", "water", "whale", "wheel", "where", "which", "while", "white", "whole", "whose", "woman", "women", "world", "worry", "worse", "worst", "worth", "would", "wound", "write", "wrong", "wrote", "yield", "young", "youth", "zebra"])
# fmt: on
"""The bundled word list: answers and allowed guesses."""

GREEN, YELLOW, GRAY = "G", "Y", "X"
_WORD = re.compile(r"^[a-z]{5}$")


def wordle_feedback(guess: str, answer: str) -> tuple[str, ...]:
    """Per-letter feedback of ``guess`` against ``answer``, as real Wordle gives it.

    Greens are marked first; then, left to right, a letter is yellow while the answer still
    has copies of it that are neither green nor already matched by an earlier yellow, else
    gray. With answer ``ABBEY``, guess ``BABES`` gives ``Y Y G G X``; with answer ``HELLO``,
    guess ``LLAMA`` gives ``Y Y X X X`` (both L's yellow: HELLO has two unmatched L's); with
    answer ``ABIDE``, guess ``SPEED`` gives ``X X Y X Y`` (one E, so the second E is gray).

    Args:
        guess: A five-letter guess (any case).
        answer: The hidden word (any case).

    Returns:
        Five of ``"G"``, ``"Y"``, ``"X"``.

    Raises:
        ValueError: The words are not both five letters.
    """
    guess, answer = guess.lower(), answer.lower()
    if len(guess) != 5 or len(answer) != 5:
        raise ValueError(f"wordle_feedback needs two five-letter words, got {guess!r}, {answer!r}")
    # plain dict and index loops: the Wordle expert calls this ~270k times for its opening
    marks = [GRAY] * 5
    unmatched: dict[str, int] = {}
    for i in range(5):
        letter = answer[i]
        if guess[i] == letter:
            marks[i] = GREEN
        else:
            unmatched[letter] = unmatched.get(letter, 0) + 1
    for i in range(5):
        if marks[i] == GRAY:
            left = unmatched.get(guess[i], 0)
            if left:
                marks[i] = YELLOW
                unmatched[guess[i]] = left - 1
    return tuple(marks)


def format_feedback(guess: str, marks: Sequence[str]) -> str:
    """``"CRANE: G X Y X X"``: the line the env shows for one guess."""
    return f"{guess.upper()}: {' '.join(marks)}"


_SYSTEM_PROMPT = (
    "Let's play Wordle. Guess the hidden five-letter English word in {max_guesses} tries. "
    "Write each guess as <guess>word</guess>. After each guess you get one mark per letter: "
    "G = green (right letter, right spot), Y = yellow (the letter is in the word, in another "
    "spot), X = gray (the letter is not in the word, or not that many times). For example "
    "'CRANE: G X Y X X' means C is first, A is in the word elsewhere, and R, N, E are not in "
    "it. Only common English words are accepted."
)


class WordleEnv(TextEnv):
    """Wordle with real duplicate-letter rules over a bundled 519-word list.

    See the module docstring for the protocol and reward. ``info`` of every step holds
    ``guesses`` (counted guesses) and ``invalid_guesses``; the last step adds ``success`` and
    ``answer``.

    Args:
        seed: Order of the answers inside each split.
        test_fraction: Share of the answer words held out for the test split (by a hash).
        max_guesses: Counted guesses before the game is lost.
        success_reward: Added on the turn the word is found.
        guess_cost: Subtracted on every turn that uses up a guess (>= 0).
        count_invalid: Whether invalid words and messages without a guess use up a guess.
        words: Answer words (and allowed guesses), lower case, five letters each.
        extra_guesses: More words accepted as guesses but never answers.
        render_mode: ``"ansi"`` or None.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        test_fraction: float = 0.2,
        max_guesses: int = 6,
        success_reward: float = 1.0,
        guess_cost: float = 0.0,
        count_invalid: bool = False,
        words: Sequence[str] = WORDS,
        extra_guesses: Sequence[str] = (),
        render_mode: str | None = None,
    ):
        super().__init__(render_mode=render_mode)
        bad = [w for w in (*words, *extra_guesses) if not _WORD.match(w)]
        if bad:
            raise ValueError(
                f"Wordle words must be five lower-case letters a-z; bad entries: {bad[:5]}"
            )
        if max_guesses < 1:
            raise ValueError(f"max_guesses must be >= 1, got {max_guesses!r}")
        if guess_cost < 0:
            raise ValueError(f"guess_cost must be >= 0, got {guess_cost!r}")
        self.words = tuple(dict.fromkeys(words))
        self.allowed = frozenset(self.words) | frozenset(extra_guesses)
        self.splits = ItemSplits(
            list(self.words), test_fraction=test_fraction, salt="wordle", seed=seed
        )
        self.max_guesses = int(max_guesses)
        self.success_reward = float(success_reward)
        self.guess_cost = float(guess_cost)
        self.count_invalid = bool(count_invalid)
        self.answer = ""
        self._counts = self._zero_counts()

    def num_tasks(self, split: str = "train") -> int | None:
        return self.splits.num_tasks(split)

    def get_task(self, index: int, split: str = "train") -> Task:
        word = self.splits.key_at(index, split)
        return {"id": f"wordle-{word}", "answer": word}

    def on_reset(self, task: Task) -> None:
        answer = str(task.get("answer", "")).lower()
        if not _WORD.match(answer):
            raise ValueError(
                f"Wordle task {task.get('id', '?')!r}: answer must be five letters, got {answer!r}"
            )
        self.answer = answer
        self._counts = self._zero_counts()

    def initial_messages(self, task: Task) -> list[Message]:
        return [
            Message("system", _SYSTEM_PROMPT.format(max_guesses=self.max_guesses)),
            Message("user", "I have chosen a word. Make your first guess."),
        ]

    def on_action(self, action: str) -> StepOutcome:
        guess, problem = self._read_guess(action)
        if problem is not None:
            self._counts["invalid_guesses"] += 1
            return self._invalid(problem)
        assert guess is not None
        self._counts["guesses"] += 1
        marks = wordle_feedback(guess, self.answer)
        reward = 0.0 - self.guess_cost  # 0.0 - 0.0 is +0.0, not -0.0
        if guess == self.answer:
            return StepOutcome(
                reward=reward + self.success_reward,
                done=True,
                info={"success": True, "answer": self.answer},
            )
        left = self.max_guesses - self._counts["guesses"]
        if left <= 0:
            return StepOutcome(
                reward=reward, done=True, info={"success": False, "answer": self.answer}
            )
        text = f"{format_feedback(guess, marks)} ({left} guess{'es' if left != 1 else ''} left)"
        return StepOutcome(messages=[Message("user", text)], reward=reward)

    def _read_guess(self, action: str) -> tuple[str | None, str | None]:
        tagged = extract_tag(action, "guess")
        if tagged is None:
            tokens = action.strip().strip(".!").split()
            if len(tokens) != 1:
                return None, "No guess found. Write your guess as <guess>word</guess>."
            tagged = tokens[0]
        word = tagged.strip().strip(".!\"'").lower()
        if len(word) != 5 or not word.isalpha():
            return None, f"'{tagged}' is not a five-letter word. Guess a five-letter word."
        if word not in self.allowed:
            return None, f"'{word.upper()}' is not in my word list. Try another word."
        return word, None

    def _invalid(self, problem: str) -> StepOutcome:
        if not self.count_invalid:
            return StepOutcome(messages=[Message("user", f"{problem} (not counted)")])
        self._counts["guesses"] += 1
        left = self.max_guesses - self._counts["guesses"]
        if left <= 0:
            return StepOutcome(
                reward=0.0 - self.guess_cost,
                done=True,
                info={"success": False, "answer": self.answer},
            )
        text = f"{problem} (counted; {left} guess{'es' if left != 1 else ''} left)"
        return StepOutcome(messages=[Message("user", text)], reward=0.0 - self.guess_cost)

    def episode_info(self) -> dict[str, Any]:
        return dict(self._counts)

    def probe_actions(self) -> list[str]:
        return ["<guess>crane</guess>", "apple", "<guess>zzzzz</guess>", "<guess>cat</guess>", ""]

    @staticmethod
    def _zero_counts() -> dict[str, int]:
        return {"guesses": 0, "invalid_guesses": 0}
