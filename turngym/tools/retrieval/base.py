"""The retrieval vocabulary: passages, ranked hits, the :class:`Retriever` protocol, corpora.

A retriever answers ``search(query, k)`` with at most ``k`` :class:`SearchHit`, best first.
Everything that searches (BM25, a dense model, a user's HTTP server) speaks this one protocol,
so that envs and tools never care which one they hold.

A corpus is a sequence of :class:`Passage`; users bring theirs as JSONL, one
``{"id", "title", "text"}`` object per line (:func:`load_corpus_jsonl`). A corpus is known by
:func:`corpus_hash`, which keys the on-disk caches of indexes and embeddings under
:func:`cache_dir`.

What this does NOT cover: chunking long documents into passages (bring passages), or
re-ranking.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = [
    "CorpusFileError",
    "Passage",
    "Retriever",
    "RetrieverError",
    "SearchHit",
    "cache_dir",
    "corpus_hash",
    "load_corpus_jsonl",
    "tokenize",
]


class RetrieverError(RuntimeError):
    """A search could not be answered (a server down, a bad reply); shown to the model as is."""


class CorpusFileError(ValueError):
    """A corpus or QA file has a bad line; the message names the file and the line number."""


@dataclass(frozen=True)
class Passage:
    """One retrievable unit of text."""

    id: str
    """Unique id within the corpus (what hits and gold labels refer to)."""
    title: str
    """Title of the passage (e.g. the encyclopedia entry's name); indexed with the text."""
    text: str
    """The passage's prose."""


@dataclass(frozen=True)
class SearchHit:
    """One ranked result of a search."""

    id: str
    """Id of the retrieved passage."""
    title: str
    """Title of the retrieved passage."""
    text: str
    """Text of the retrieved passage."""
    score: float
    """Retriever score; higher is better, comparable only within one search."""

    def to_dict(self) -> dict[str, str | float]:
        """The JSON form used by the HTTP protocol: ``{"id", "title", "text", "score"}``."""
        return {"id": self.id, "title": self.title, "text": self.text, "score": self.score}


@runtime_checkable
class Retriever(Protocol):
    """Anything that ranks passages for a query."""

    def search(self, query: str, k: int = 5) -> list[SearchHit]:
        """At most ``k`` hits for ``query``, best first (fewer when fewer passages match).

        Raises:
            RetrieverError: The search could not be done (e.g. a remote server failed).
        """
        ...


def cache_dir() -> Path:
    """turngym's cache: ``$TURNGYM_CACHE``, else ``$XDG_CACHE_HOME/turngym`` or ``~/.cache/turngym``.

    The same rule as the converted-model cache of ``turngym.agents.models``.
    """
    root = os.environ.get("TURNGYM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "turngym"
    )
    return Path(root)


def corpus_hash(passages: Sequence[Passage]) -> str:
    """A stable hex digest of a corpus (ids, titles, texts and their order)."""
    digest = hashlib.sha256()
    for passage in passages:
        for field in (passage.id, passage.title, passage.text):
            digest.update(field.encode("utf-8"))
            digest.update(b"\x1f")
        digest.update(b"\x1e")
    return digest.hexdigest()


# A small English stopword list: enough that "the" and "of" do not decide BM25 rankings.
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "she",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
    ]
)
_TOKEN_RE = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-cased alphanumeric words of ``text`` without common English stopwords."""
    return [t for t in _TOKEN_RE.findall(text.lower()) if t not in _STOPWORDS]


def load_corpus_jsonl(path: str | Path) -> list[Passage]:
    """Read a corpus: one JSON object ``{"id", "title", "text"}`` per line (blank lines skipped).

    Ids may be strings or integers (read as strings) and must be unique; ``title`` may be empty.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CorpusFileError: A line is not a JSON object with those fields, an id repeats, or the
            file holds no passage; the message names the file and the line number.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"corpus file {path} does not exist")
    passages: list[Passage] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{line_no}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusFileError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise CorpusFileError(
                    f'{where}: expected a JSON object {{"id", "title", "text"}}, '
                    f"got {type(row).__name__}"
                )
            missing = [key for key in ("id", "title", "text") if key not in row]
            if missing:
                raise CorpusFileError(
                    f'{where}: missing field(s) {missing}; each line needs "id", "title" and "text"'
                )
            if not isinstance(row["id"], (str, int)) or isinstance(row["id"], bool):
                raise CorpusFileError(f'{where}: "id" must be a string or an integer')
            if not isinstance(row["title"], str) or not isinstance(row["text"], str):
                raise CorpusFileError(f'{where}: "title" and "text" must be strings')
            passage_id = str(row["id"])
            if passage_id in seen:
                raise CorpusFileError(
                    f"{where}: duplicate id {passage_id!r} (first on line {seen[passage_id]})"
                )
            if not row["text"].strip():
                raise CorpusFileError(f'{where}: "text" is empty')
            seen[passage_id] = line_no
            passages.append(Passage(passage_id, row["title"], row["text"]))
    if not passages:
        raise CorpusFileError(f"{path}: the corpus holds no passages")
    return passages
