"""Shared pieces of the dialogue games: hash splits of item tables, text parsing helpers.

Train and test never share an item: an item (an object, a city, a word, a maze layout)
belongs to the test split exactly when a hash of its key falls below ``test_fraction``
(:func:`turngym.envs.math_tasks.hash_unit`, the rule the math tasks use too).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from turngym.envs.base import SPLITS, seeded_rng
from turngym.envs.math_tasks import hash_unit

__all__ = [
    "ItemSplits",
    "check_split",
    "extract_tag",
    "fold",
    "last_question",
    "normalize",
    "split_of",
]

_TAG_CACHE: dict[str, re.Pattern[str]] = {}
_SPACES = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def check_split(split: str) -> None:
    """Raise a clear ``ValueError`` unless ``split`` is ``"train"`` or ``"test"``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def split_of(key: str, test_fraction: float, salt: str) -> str:
    """``"test"`` when the hash of ``salt/key`` falls below ``test_fraction``, else ``"train"``."""
    return "test" if hash_unit(f"{salt}/{key}") < test_fraction else "train"


class ItemSplits:
    """A finite table of items divided into train and test by a hash of each item's key.

    The order of each split is shuffled by ``seed`` (same seed, same order), so that task
    index ``i`` means the same item in every process.

    Args:
        keys: The items' unique keys (object names, city names, words).
        test_fraction: Share of the items reserved for the test split, in (0, 1).
        salt: Mixed into the hash so that different games split independently.
        seed: Order of the items inside each split.

    Raises:
        ValueError: Duplicate keys, a bad ``test_fraction``, or a split left empty.
    """

    def __init__(self, keys: Sequence[str], *, test_fraction: float, salt: str, seed: int = 0):
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
        if len(set(keys)) != len(keys):
            raise ValueError(f"{salt}: item keys must be unique")
        self.test_fraction = float(test_fraction)
        self.seed = int(seed)
        by_split: dict[str, list[str]] = {s: [] for s in SPLITS}
        for key in keys:
            by_split[split_of(key, test_fraction, salt)].append(key)
        for split, members in by_split.items():
            if not members:
                raise ValueError(
                    f"{salt}: test_fraction={test_fraction} leaves the {split} split empty; "
                    "choose a value nearer 0.5"
                )
            order = seeded_rng(salt, seed, split).permutation(len(members))
            by_split[split] = [members[i] for i in order]
        self._keys = by_split

    def keys(self, split: str = "train") -> list[str]:
        """The keys of ``split``, in task-index order."""
        check_split(split)
        return list(self._keys[split])

    def num_tasks(self, split: str = "train") -> int:
        """How many items ``split`` holds."""
        check_split(split)
        return len(self._keys[split])

    def key_at(self, index: int, split: str = "train") -> str:
        """The key at task ``index`` of ``split``."""
        check_split(split)
        members = self._keys[split]
        if not 0 <= index < len(members):
            raise IndexError(
                f"task index {index} is out of range for the {split} split ({len(members)} tasks)"
            )
        return members[index]


def normalize(text: str) -> str:
    """Lower-case, straight quotes, runs of whitespace collapsed, ends stripped of punctuation."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    text = _SPACES.sub(" ", text).strip()
    return text.strip(" .!?,;:\"'")


def fold(text: str) -> str:
    """A name folded for comparison: accents dropped, lower case, only letters and digits.

    ``fold("São Paulo") == fold("sao paulo") == "sao paulo"``; ``fold("D.C.") == "d c"``.
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return _SPACES.sub(" ", re.sub(r"[^a-z0-9]+", " ", text)).strip()


def last_question(text: str) -> str:
    """The last sentence of ``text`` that ends with ``?``; the whole text when none does.

    Agents often think aloud before asking; the question they mean is the last one.
    """
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]
    questions = [s for s in sentences if s.endswith("?")]
    if questions:
        return questions[-1]
    return text.strip()


def extract_tag(text: str, tag: str) -> str | None:
    """The content of the last ``<tag>...</tag>`` in ``text`` (stripped), or None."""
    pattern = _TAG_CACHE.get(tag)
    if pattern is None:
        pattern = re.compile(rf"<{tag}>(.*?)</{tag}>", re.IGNORECASE | re.DOTALL)
        _TAG_CACHE[tag] = pattern
    found = pattern.findall(text)
    return found[-1].strip() if found else None
