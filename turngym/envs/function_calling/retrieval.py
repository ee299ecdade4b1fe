"""Top-k tool retrieval: expose only the tools most related to the request.

With a large catalog, putting every schema in the prompt wastes context and makes the choice
harder; tool-retrieval pipelines (e.g. ToolLLM, Qin et al. 2023; Gorilla, Patil et al. 2023)
first retrieve a few candidate tools. This module does it with Okapi BM25 over each tool's
name (split on ``_``), description and argument names/descriptions: self-contained, no extra
dependencies, deterministic (ties break by catalog order).

What this does NOT cover: semantic (embedding) retrieval; synonyms the request and the tool
do not share are not found.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["rank_tools", "tokenize", "tool_document"]

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "do",
        "does",
        "for",
        "from",
        "get",
        "how",
        "i",
        "in",
        "is",
        "it",
        "many",
        "me",
        "much",
        "my",
        "of",
        "on",
        "or",
        "please",
        "the",
        "to",
        "what",
        "whats",
        "with",
        "you",
        "your",
    ]
)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens without stop words, with a light plural stemming (``-s``)."""
    tokens = []
    # Apostrophes go first so that "what's" is the stop word "whats", not "what" + "s".
    for word in re.split(r"[^a-z0-9]+", text.casefold().replace("'", "")):
        if not word or word in _STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        tokens.append(word)
    return tokens


def tool_document(schema: Mapping[str, Any]) -> list[str]:
    """The tokens a tool is indexed by: its name, description, argument names and docs."""
    function = schema["function"]
    parts = [function["name"].replace("_", " "), function.get("description", "")]
    for arg, prop in function.get("parameters", {}).get("properties", {}).items():
        parts += [arg.replace("_", " "), str(prop.get("description", ""))]
        # Enum values (currency codes, account names) are what requests often mention.
        parts += [str(v) for v in prop.get("enum", [])]
    return tokenize(" ".join(parts))


def rank_tools(
    query: str, schemas: Sequence[Mapping[str, Any]], *, k1: float = 1.2, b: float = 0.75
) -> list[tuple[str, float]]:
    """BM25 scores of ``schemas`` for ``query``, best first: ``[(tool name, score), ...]``.

    Args:
        query: The user's request.
        schemas: OpenAI-style tool schemas (the candidates).
        k1: BM25 term-frequency saturation.
        b: BM25 length normalization.
    """
    docs = [Counter(tool_document(s)) for s in schemas]
    if not docs:
        return []
    avg_len = sum(sum(d.values()) for d in docs) / len(docs) or 1.0
    doc_freq = Counter(term for d in docs for term in d)
    query_terms = set(tokenize(query))
    scored = []
    for order, (schema, doc) in enumerate(zip(schemas, docs, strict=True)):
        length = sum(doc.values())
        score = 0.0
        for term in query_terms:
            tf = doc.get(term, 0)
            if not tf:
                continue
            idf = math.log(1 + (len(docs) - doc_freq[term] + 0.5) / (doc_freq[term] + 0.5))
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg_len))
        scored.append((-score, order, schema["function"]["name"], score))
    scored.sort()
    return [(name, score) for _, _, name, score in scored]
