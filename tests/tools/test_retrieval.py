"""Retrieval: corpora from JSONL, BM25 (bm25s) with its on-disk cache, the search tool."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from turngym.tools.base import ToolArgumentError
from turngym.tools.retrieval import (
    BM25Retriever,
    CorpusFileError,
    Passage,
    Retriever,
    SearchHit,
    SearchTool,
    corpus_hash,
    load_corpus_jsonl,
    tokenize,
)

CORPUS = [
    Passage(
        "p1", "Velmora Guild", "The Velmora Guild is a society of glassmakers founded in 1712."
    ),
    Passage("p2", "Oskaveth", "Oskaveth is a river city whose mayor is Aric Tovel."),
    Passage("p3", "Aric Tovel", "Aric Tovel was a cartographer born in Oskaveth in 1688."),
    Passage("p4", "Amber Lantern", "The Amber Lantern is an opera set in a harbour town."),
]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURNGYM_CACHE", str(tmp_path / "cache"))


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---- corpora ---------------------------------------------------------------------------


def test_load_corpus_jsonl_reads_passages_and_skips_blank_lines(tmp_path: Path):
    rows = [json.dumps({"id": p.id, "title": p.title, "text": p.text}) for p in CORPUS]
    rows.insert(2, "")
    rows.append(json.dumps({"id": 7, "title": "", "text": "An untitled passage."}))
    passages = load_corpus_jsonl(write_jsonl(tmp_path / "c.jsonl", rows))
    assert passages[:4] == CORPUS
    assert passages[4] == Passage("7", "", "An untitled passage.")


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ('{"id": "x", "title": "T", "text": ', "not valid JSON"),
        ('["x", "T", "text"]', "expected a JSON object"),
        ('{"id": "x", "text": "no title"}', "missing field(s) ['title']"),
        ('{"id": null, "title": "T", "text": "t"}', '"id" must be a string or an integer'),
        ('{"id": "x", "title": "T", "text": 3}', '"title" and "text" must be strings'),
        ('{"id": "x", "title": "T", "text": "  "}', '"text" is empty'),
        ('{"id": "p1", "title": "T", "text": "again"}', "duplicate id 'p1' (first on line 1)"),
    ],
)
def test_malformed_corpus_lines_name_the_line(tmp_path: Path, bad_line: str, message: str):
    good = json.dumps({"id": "p1", "title": "A", "text": "a"})
    other = json.dumps({"id": "p2", "title": "B", "text": "b"})
    path = write_jsonl(tmp_path / "c.jsonl", [good, other, bad_line])
    with pytest.raises(CorpusFileError) as info:
        load_corpus_jsonl(path)
    assert f"{path}:3" in str(info.value) and message in str(info.value)


def test_missing_and_empty_corpus_files(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_corpus_jsonl(tmp_path / "nope.jsonl")
    with pytest.raises(CorpusFileError, match="holds no passages"):
        load_corpus_jsonl(write_jsonl(tmp_path / "e.jsonl", ["", ""]))


def test_corpus_hash_depends_on_every_field_and_the_order():
    base = corpus_hash(CORPUS)
    assert corpus_hash(list(CORPUS)) == base
    assert corpus_hash(CORPUS[::-1]) != base
    changed = [Passage("p1", "Velmora Guild", CORPUS[0].text + "!"), *CORPUS[1:]]
    assert corpus_hash(changed) != base
    # field boundaries count: moving a character from the title to the text changes the hash
    a = [Passage("x", "ab", "c")]
    b = [Passage("x", "a", "bc")]
    assert corpus_hash(a) != corpus_hash(b)


def test_tokenize_lowercases_and_drops_stopwords():
    assert tokenize("Who founded the Velmora Guild, in 1712?") == [
        "founded",
        "velmora",
        "guild",
        "1712",
    ]


# ---- BM25 ------------------------------------------------------------------------------


def test_bm25_ranks_the_matching_passage_first():
    retriever = BM25Retriever(CORPUS, cache=False)
    assert isinstance(retriever, Retriever)
    hits = retriever.search("Who founded the Velmora Guild?", k=2)
    assert hits and hits[0].id == "p1" and hits[0].title == "Velmora Guild"
    assert all(isinstance(h, SearchHit) for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # both passages naming Aric Tovel match; the one that is about him (title) wins
    tovel = retriever.search("Aric Tovel cartographer", k=5)
    assert [h.id for h in tovel][:2] == ["p3", "p2"]


def test_bm25_returns_only_passages_sharing_a_term():
    retriever = BM25Retriever(CORPUS, cache=False)
    assert retriever.search("zeppelin", k=3) == []
    assert retriever.search("the of who", k=3) == []  # stopwords only
    assert len(retriever.search("Oskaveth", k=10)) == 2  # k larger than the matches
    with pytest.raises(ValueError, match="k must be >= 1"):
        retriever.search("Oskaveth", k=0)


def test_bm25_rejects_empty_and_duplicate_corpora():
    with pytest.raises(ValueError, match="at least one passage"):
        BM25Retriever([], cache=False)
    with pytest.raises(ValueError, match="unique"):
        BM25Retriever([CORPUS[0], CORPUS[0]], cache=False)


def test_bm25_index_is_cached_on_disk_by_corpus_hash(tmp_path: Path):
    first = BM25Retriever(CORPUS, index_dir=tmp_path)
    assert not first.loaded_from_cache and first.index_path is not None
    assert first.index_path.is_dir() and first.corpus_hash[:32] in first.index_path.name
    second = BM25Retriever(CORPUS, index_dir=tmp_path)
    assert second.loaded_from_cache and second.index_path == first.index_path
    query = "Aric Tovel born in Oskaveth"
    assert second.search(query, 4) == first.search(query, 4)
    # another corpus gets another index, never the cached one
    other = BM25Retriever(CORPUS[:3], index_dir=tmp_path)
    assert not other.loaded_from_cache and other.index_path != first.index_path
    assert {h.id for h in other.search("Amber Lantern opera", 4)} <= {"p1", "p2", "p3"}
    # no stray temporary folders are left next to the indexes
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_bm25_default_cache_lives_under_turngym_cache(tmp_path: Path):
    retriever = BM25Retriever(CORPUS)
    assert retriever.index_path is not None
    assert retriever.index_path.is_relative_to(tmp_path / "cache" / "bm25")


# ---- the search tool -------------------------------------------------------------------


def test_search_tool_schema_and_output():
    tool = SearchTool(BM25Retriever(CORPUS, cache=False), default_k=2, max_k=3)
    schema = tool.schema()["function"]
    assert schema["name"] == "search"
    assert schema["parameters"]["required"] == ["query"]
    assert set(schema["parameters"]["properties"]) == {"query", "k"}
    text = tool(query="Velmora Guild glassmakers")
    assert text.startswith("[1] (id: p1) Velmora Guild\nThe Velmora Guild is a society")
    assert "[3]" not in text  # default_k = 2
    assert tool(query="zeppelin").startswith("No passages found")


def test_search_tool_cuts_k_and_long_passages():
    long = [Passage("long", "Long", "word " * 400), *CORPUS]
    tool = SearchTool(BM25Retriever(long, cache=False), max_k=2, max_passage_chars=50)
    text = tool(query="word Oskaveth Velmora", k=9)
    assert text.count("(id: ") == 2
    assert "(k was cut to 2" in text
    assert "word word" in text and text.split("\n")[1].endswith(" ...")
    assert len(text.split("\n")[1]) <= 50 + len(" ...")


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({}, "'query'"),
        ({"query": "  "}, "must not be empty"),
        ({"query": "x", "k": 0}, "at least 1"),
        ({"query": "x", "k": "three"}, "'k'"),
        ({"query": "x", "top": 3}, "'top'"),
    ],
)
def test_search_tool_rejects_bad_arguments(arguments: dict, message: str):
    tool = SearchTool(BM25Retriever(CORPUS, cache=False))
    with pytest.raises(ToolArgumentError) as info:
        tool.validate(arguments)
    assert message in str(info.value) and "search" in str(info.value)


def test_search_tool_rejects_a_default_k_above_max_k():
    with pytest.raises(ValueError, match="default_k"):
        SearchTool(BM25Retriever(CORPUS, cache=False), default_k=5, max_k=3)


def test_retrieval_package_import_does_not_import_torch():
    code = "import sys, turngym.tools.retrieval; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
