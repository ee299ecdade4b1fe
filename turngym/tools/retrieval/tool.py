"""The ``search`` tool: a :class:`~turngym.tools.Tool` over any :class:`Retriever`.

The model calls ``search(query, k)`` and reads the ranked passages with their ids, as in
Search-R1 (Jin et al., 2025: "Search-R1: Training LLMs to reason and leverage search engines
with reinforcement learning"), where retrieved passages are shown to the model between turns.
"""

from __future__ import annotations

from typing import Any

from turngym.tools.base import Tool, ToolArgumentError
from turngym.tools.retrieval.base import Retriever, SearchHit

__all__ = ["SearchTool", "format_hits"]


def format_hits(hits: list[SearchHit], *, max_passage_chars: int = 600) -> str:
    """Hits as the text the model reads: ``[rank] (id: ...) title`` then the passage."""
    if not hits:
        return "No passages found. Try other words, e.g. a name from the question."
    blocks = []
    for rank, hit in enumerate(hits, start=1):
        text = hit.text
        if len(text) > max_passage_chars:
            text = text[:max_passage_chars].rstrip() + " ..."
        blocks.append(f"[{rank}] (id: {hit.id}) {hit.title}\n{text}")
    return "\n\n".join(blocks)


class SearchTool(Tool):
    """``search(query, k)``: the ``k`` passages of a corpus that best match ``query``.

    Args:
        retriever: What ranks the passages.
        default_k: ``k`` when the call gives none (None: 3, or ``max_k`` when smaller).
        max_k: Largest ``k``; larger requests are cut to it (and the reply says so).
        max_passage_chars: Each passage is cut to this many characters in the reply.
        name: The tool's name.

    Raises:
        ValueError: ``default_k`` is not in ``[1, max_k]``.
    """

    def __init__(
        self,
        retriever: Retriever,
        *,
        default_k: int | None = None,
        max_k: int = 10,
        max_passage_chars: int = 600,
        name: str = "search",
    ):
        if max_k < 1:
            raise ValueError(f"max_k must be >= 1, got {max_k!r}")
        if default_k is None:
            default_k = min(3, max_k)
        if not 1 <= default_k <= max_k:
            raise ValueError(f"default_k must be in [1, max_k={max_k}], got {default_k!r}")
        self.retriever = retriever
        """What ranks the passages."""
        self.default_k = default_k
        self.max_k = max_k
        self.max_passage_chars = max_passage_chars
        self.name = name
        self.description = (
            "Search the encyclopedia. Returns the passages that best match the query, best "
            "first, each with its id and title."
        )
        self.parameters: dict[str, Any] = {
            "type": "object",
            "properties": {
                "query": {
                    "type": "string",
                    "description": "What to look for, e.g. a name or a short question.",
                },
                "k": {
                    "type": "integer",
                    "description": f"How many passages to return (1 to {max_k}).",
                    "default": default_k,
                },
            },
            "required": ["query"],
            "additionalProperties": False,
        }

    def validate(self, arguments: Any) -> dict[str, Any]:
        """Schema check, plus: ``query`` not blank, ``k`` at least 1.

        Raises:
            ToolArgumentError: Naming the argument that is wrong.
        """
        checked = super().validate(arguments)
        if not checked["query"].strip():
            raise ToolArgumentError(self.name, "query", "must not be empty")
        k = checked.setdefault("k", self.default_k)
        if k < 1:
            raise ToolArgumentError(self.name, "k", f"must be at least 1, got {k}")
        return checked

    def hits(self, query: str, k: int | None = None) -> list[SearchHit]:
        """The retriever's hits, ``k`` cut to ``max_k`` (``RetrieverError`` passes through)."""
        k = self.default_k if k is None else min(int(k), self.max_k)
        return self.retriever.search(query, k)

    def format(self, hits: list[SearchHit], requested_k: int | None = None) -> str:
        """The text shown to the model for ``hits``."""
        text = format_hits(hits, max_passage_chars=self.max_passage_chars)
        if requested_k is not None and requested_k > self.max_k:
            text += f"\n\n(k was cut to {self.max_k}, the most one search returns.)"
        return text

    def run(self, **kwargs: Any) -> str:
        query, k = kwargs["query"], kwargs.get("k", self.default_k)
        return self.format(self.hits(query, k), requested_k=k)
