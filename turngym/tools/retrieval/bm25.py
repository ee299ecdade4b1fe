"""BM25 retrieval with the ``bm25s`` package (Lù, 2024: "BM25S: Orders of magnitude faster
lexical search via eager sparse scoring"), the index built once per corpus and cached on disk.

The index is stored under ``cache_dir()/bm25/<corpus hash>-<params>/`` and reused by every
later process that searches the same corpus with the same parameters; a half-written index is
never read (it is written to a temporary folder and renamed into place).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from turngym.tools.retrieval.base import Passage, SearchHit, cache_dir, corpus_hash, tokenize

__all__ = ["BM25Retriever"]

_INDEX_VERSION = 1  # bump when tokenization or the stored layout changes


class BM25Retriever:
    """Okapi BM25 over a corpus of :class:`Passage` (title and text indexed together).

    Passages that share no term with the query are never returned, so a search may give fewer
    than ``k`` hits (none for a query of stopwords only).

    Args:
        passages: The corpus; ids must be unique.
        k1: BM25 term-frequency saturation.
        b: BM25 length normalization.
        cache: Whether to keep the index on disk (under ``index_dir``) and reuse it.
        index_dir: Where cached indexes live; defaults to ``cache_dir() / "bm25"``.

    Raises:
        ValueError: The corpus is empty or has a repeated id.
    """

    def __init__(
        self,
        passages: Sequence[Passage],
        *,
        k1: float = 1.5,
        b: float = 0.75,
        cache: bool = True,
        index_dir: str | Path | None = None,
    ):
        try:
            import bm25s
        except ImportError as exc:
            raise ImportError(
                "BM25Retriever needs the 'bm25s' package: pip install 'bm25s>=0.3'"
            ) from exc

        self.passages: list[Passage] = list(passages)
        """The corpus, in index order."""
        if not self.passages:
            raise ValueError("BM25Retriever needs at least one passage")
        ids = [p.id for p in self.passages]
        if len(set(ids)) != len(ids):
            raise ValueError("BM25Retriever: passage ids must be unique")
        self.k1, self.b = float(k1), float(b)
        self.corpus_hash = corpus_hash(self.passages)
        """Digest of the corpus; part of the cache key."""
        params = hashlib.sha256(f"{_INDEX_VERSION}/{self.k1}/{self.b}".encode()).hexdigest()[:8]
        root = Path(index_dir) if index_dir is not None else cache_dir() / "bm25"
        self.index_path: Path | None = root / f"{self.corpus_hash[:32]}-{params}" if cache else None
        """The cached index folder (None without caching)."""
        self.loaded_from_cache = False
        """Whether the index was read from disk instead of built."""
        # bm25s logs and shows progress bars by default; a library must stay quiet.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        if self.index_path is not None and (self.index_path / "params.index.json").is_file():
            self._model = bm25s.BM25.load(str(self.index_path), show_progress=False)
            self.loaded_from_cache = True
        else:
            self._model = bm25s.BM25(k1=self.k1, b=self.b)
            tokens = [tokenize(f"{p.title} {p.text}") for p in self.passages]
            self._model.index(tokens, show_progress=False)
            if self.index_path is not None:
                self._save(self.index_path)
        self._vocab: dict[str, int] = self._model.vocab_dict

    def _save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent))
        try:
            self._model.save(str(tmp), show_progress=False)
            try:
                os.rename(tmp, path)
            except OSError:  # another process saved the same index first: keep theirs
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def search(self, query: str, k: int = 5) -> list[SearchHit]:
        """At most ``k`` passages sharing a term with ``query``, by descending BM25 score.

        Raises:
            ValueError: ``k`` is not positive.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        terms = [t for t in tokenize(query) if t in self._vocab]
        if not terms:
            return []
        k = min(k, len(self.passages))
        docs, scores = self._model.retrieve(
            [terms], k=k, show_progress=False, n_threads=1, return_as="tuple"
        )
        hits = []
        for index, score in zip(np.asarray(docs)[0], np.asarray(scores)[0], strict=True):
            if score <= 0:
                continue
            passage = self.passages[int(index)]
            hits.append(SearchHit(passage.id, passage.title, passage.text, float(score)))
        return hits

    def __repr__(self) -> str:
        return f"BM25Retriever({len(self.passages)} passages, k1={self.k1}, b={self.b})"
