"""The HTTP retriever against a real local server (http.server on 127.0.0.1) serving BM25."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import turngym
from turngym.core.messages import ToolCall
from turngym.tools.formats import HermesFormat
from turngym.tools.retrieval import (
    BM25Retriever,
    HttpRetriever,
    Passage,
    RetrieverError,
    serve_retriever,
)

CORPUS = [
    Passage(
        "p1", "Velmora Guild", "The Velmora Guild is a society of glassmakers founded in 1712."
    ),
    Passage("p2", "Oskaveth", "Oskaveth is a river city whose mayor is Aric Tovel."),
    Passage("p3", "Aric Tovel", "Aric Tovel was a cartographer born in Oskaveth in 1688."),
]


@pytest.fixture(scope="module")
def bm25() -> BM25Retriever:
    return BM25Retriever(CORPUS, cache=False)


@pytest.fixture
def server(bm25: BM25Retriever) -> Iterator[str]:
    with serve_retriever(bm25, host="127.0.0.1", port=0, max_k=5) as running:
        yield running.url


def test_http_retriever_gives_the_servers_bm25_hits(server: str, bm25: BM25Retriever):
    client = HttpRetriever(server, timeout_s=5)
    for query in ("Velmora Guild", "Aric Tovel Oskaveth", "cartographer born 1688"):
        remote = client.search(query, k=3)
        local = bm25.search(query, k=3)
        assert [h.id for h in remote] == [h.id for h in local] and remote
        assert [h.title for h in remote] == [h.title for h in local]
        assert [h.text for h in remote] == [h.text for h in local]
        assert [h.score for h in remote] == pytest.approx([h.score for h in local])
    assert client.search("zeppelin", k=2) == []


def test_http_retriever_reports_server_errors(server: str):
    client = HttpRetriever(server, timeout_s=5)
    with pytest.raises(RetrieverError, match=r'HTTP 400: "k" must be an integer from 1 to 5$'):
        client.search("Velmora", k=50)  # the server's max_k is 5


def test_http_retriever_reports_an_unreachable_server():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = HttpRetriever(f"http://127.0.0.1:{port}/search", timeout_s=2)
    with pytest.raises(RetrieverError, match="unreachable"):
        client.search("Velmora", k=2)


def _serve_raw(body: bytes) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/search"


@pytest.mark.parametrize(
    "body, message",
    [
        (b"not json", "invalid JSON"),
        (json.dumps({"results": []}).encode(), 'must reply {"hits"'),
        (json.dumps({"hits": [{"title": "no id"}]}).encode(), 'hit 0 needs an "id"'),
        (json.dumps({"hits": [{"id": "a", "text": 3}]}).encode(), "must be strings"),
        (json.dumps({"hits": [{"id": "a", "score": "high"}]}).encode(), '"score" must be a number'),
    ],
)
def test_http_retriever_rejects_replies_off_the_protocol(body: bytes, message: str):
    httpd, url = _serve_raw(body)
    try:
        with pytest.raises(RetrieverError, match="retrieval server") as info:
            HttpRetriever(url, timeout_s=5).search("x", k=2)
        assert message in str(info.value)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_http_retriever_accepts_minimal_hits_and_cuts_to_k():
    body = json.dumps({"hits": [{"id": 1}, {"id": "b", "title": "B", "score": 2}, {"id": "c"}]})
    httpd, url = _serve_raw(body.encode())
    try:
        hits = HttpRetriever(url).search("x", k=2)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert [(h.id, h.title, h.score) for h in hits] == [("1", "", 0.0), ("b", "B", 2.0)]


def test_http_retriever_validates_its_arguments():
    with pytest.raises(ValueError, match="http:// or https://"):
        HttpRetriever("127.0.0.1:8000/search")
    with pytest.raises(ValueError, match="timeout_s"):
        HttpRetriever("http://127.0.0.1:1/search", timeout_s=0)
    with pytest.raises(ValueError, match="k must be >= 1"):
        HttpRetriever("http://127.0.0.1:1/search").search("x", k=0)


def test_search_env_over_http_and_a_server_that_goes_away(tmp_path, monkeypatch):
    """The env searches through the server; once it is gone, the failure is an observation."""
    monkeypatch.setenv("TURNGYM_CACHE", str(tmp_path))
    env = turngym.make("turngym/Search-v0", num_passages=200)
    world_retriever = env.unwrapped.retriever
    running = serve_retriever(world_retriever)
    remote = turngym.make(
        "turngym/Search-v0", num_passages=200, retriever="http", retriever_url=running.url
    )
    _, info = remote.reset(seed=0, options={"task_index": 0, "split": "test"})
    task = remote.unwrapped.task
    assert isinstance(remote.unwrapped.retriever, HttpRetriever)
    gold_title = next(p.title for p in world_retriever.passages if p.id == task["gold_ids"][0])
    call = HermesFormat().render([ToolCall("search", {"query": gold_title, "k": 2})])
    obs, reward, terminated, _, info = remote.step(call)
    assert not terminated and reward == 0.0
    assert obs[0].role == "tool" and f"(id: {task['gold_ids'][0]})" in obs[0].text
    assert info["gold_retrieved"] is True and info["tool_errors"] == 0
    running.close()
    obs, _, terminated, _, info = remote.step(call)
    assert not terminated
    assert (
        obs[0].text.startswith("Error: search failed: retrieval server")
        and "unreachable" in obs[0].text
    )
    assert info["tool_errors"] == 1 and info["search_calls"] == 2
    remote.close()
    env.close()
