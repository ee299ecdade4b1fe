"""Retrieval: passages, the :class:`Retriever` protocol and its implementations, the search tool.

* :mod:`~turngym.tools.retrieval.base`: :class:`Passage`, :class:`SearchHit`, the
  :class:`Retriever` protocol, JSONL corpora (:func:`load_corpus_jsonl`), the on-disk cache.
* :class:`BM25Retriever` (``bm25s``; index cached per corpus hash).
* :class:`DenseRetriever` (bundled all-MiniLM-L6-v2; needs sentence-transformers, imported
  lazily: importing this package does not import torch).
* :class:`HttpRetriever` (a user's own server; JSON protocol in ``docs/search.md``) and
  :func:`serve_retriever` (serves any retriever with that protocol).
* :class:`SearchTool`: the ``search(query, k)`` tool.
"""

from turngym.tools.retrieval.base import (
    CorpusFileError,
    Passage,
    Retriever,
    RetrieverError,
    SearchHit,
    cache_dir,
    corpus_hash,
    load_corpus_jsonl,
    tokenize,
)
from turngym.tools.retrieval.bm25 import BM25Retriever
from turngym.tools.retrieval.dense import DenseRetriever, bundled_model_path
from turngym.tools.retrieval.http import HttpRetriever, RetrievalServer, serve_retriever
from turngym.tools.retrieval.tool import SearchTool, format_hits

__all__ = [
    "BM25Retriever",
    "CorpusFileError",
    "DenseRetriever",
    "HttpRetriever",
    "Passage",
    "RetrievalServer",
    "Retriever",
    "RetrieverError",
    "SearchHit",
    "SearchTool",
    "bundled_model_path",
    "cache_dir",
    "corpus_hash",
    "format_hits",
    "load_corpus_jsonl",
    "serve_retriever",
    "tokenize",
]
