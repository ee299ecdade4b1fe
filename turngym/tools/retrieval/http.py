"""A retriever behind HTTP: the client for a user's own retrieval server, and a tiny server.

The protocol (also in ``docs/search.md``) is one JSON request per search::

    POST <url>            Content-Type: application/json
    {"query": "who founded the Velmora Guild", "k": 3}

    200 OK                Content-Type: application/json
    {"hits": [{"id": "p17", "title": "Velmora Guild", "text": "...", "score": 12.5}, ...]}

Hits come best first, at most ``k`` of them; ``score`` may be omitted (it is then 0). Any
other status, or a body that is not of this shape, is a :class:`RetrieverError` whose message
names the server and what was wrong (an error reply may carry ``{"error": "message"}``, shown
as is). :func:`serve_retriever` serves any :class:`Retriever`
with this protocol (for tests, or to share one index between many rollout workers).

What this does NOT cover: authentication, batching several queries per request, TLS setup
(an ``https://`` URL works through the standard library, with its default certificates).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from turngym.tools.retrieval.base import Retriever, RetrieverError, SearchHit

__all__ = ["HttpRetriever", "RetrievalServer", "serve_retriever"]

_MAX_REPLY_BYTES = 16 * 1024 * 1024


class HttpRetriever:
    """Searches by POSTing ``{"query", "k"}`` to a retrieval server (protocol above).

    Args:
        url: The search endpoint, e.g. ``"http://127.0.0.1:8000/search"``.
        timeout_s: Seconds to wait for one reply.

    Raises:
        ValueError: ``url`` is not an http(s) URL, or ``timeout_s`` is not positive.
    """

    def __init__(self, url: str, *, timeout_s: float = 10.0):
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(
                f"retriever url must start with http:// or https://, got {url!r} "
                "(e.g. 'http://127.0.0.1:8000/search')"
            )
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")
        self.url = url
        """The search endpoint."""
        self.timeout_s = float(timeout_s)
        """Seconds to wait for one reply."""

    def search(self, query: str, k: int = 5) -> list[SearchHit]:
        """The server's hits for ``query`` (at most ``k``).

        Raises:
            ValueError: ``k`` is not positive.
            RetrieverError: The server is unreachable, answered an error status, or sent a
                reply that does not follow the protocol.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        body = json.dumps({"query": query, "k": int(k)}).encode("utf-8")
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                raw = reply.read(_MAX_REPLY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            detail = exc.read(2000).decode("utf-8", "replace").strip()
            try:  # our own server sends {"error": "..."}; show just the message
                detail = str(json.loads(detail)["error"])
            except (ValueError, KeyError, TypeError):
                detail = detail[:500]
            raise RetrieverError(
                f"retrieval server {self.url} answered HTTP {exc.code}"
                + (f": {detail}" if detail else "")
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RetrieverError(f"retrieval server {self.url} is unreachable: {reason}") from None
        if len(raw) > _MAX_REPLY_BYTES:
            raise RetrieverError(f"retrieval server {self.url} sent more than 16 MiB")
        return self._parse_reply(raw)[:k]

    def _parse_reply(self, raw: bytes) -> list[SearchHit]:
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RetrieverError(f"retrieval server {self.url} sent invalid JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("hits"), list):
            raise RetrieverError(
                f'retrieval server {self.url} must reply {{"hits": [...]}}, got {str(data)[:200]}'
            )
        hits = []
        for i, row in enumerate(data["hits"]):
            if not isinstance(row, dict) or not isinstance(row.get("id"), (str, int)):
                raise RetrieverError(
                    f'retrieval server {self.url}: hit {i} needs an "id", got {str(row)[:200]}'
                )
            title, text = row.get("title", ""), row.get("text", "")
            score = row.get("score", 0.0)
            if not isinstance(title, str) or not isinstance(text, str):
                raise RetrieverError(
                    f'retrieval server {self.url}: hit {i} "title" and "text" must be strings'
                )
            if not isinstance(score, (int, float)) or isinstance(score, bool):
                raise RetrieverError(
                    f'retrieval server {self.url}: hit {i} "score" must be a number'
                )
            hits.append(SearchHit(str(row["id"]), title, text, float(score)))
        return hits

    def __repr__(self) -> str:
        return f"HttpRetriever({self.url!r})"


class RetrievalServer:
    """A running :func:`serve_retriever` server; use as a context manager or call :meth:`close`."""

    def __init__(self, server: ThreadingHTTPServer, thread: threading.Thread):
        self._server = server
        self._thread = thread
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}/search"
        """The search endpoint to give :class:`HttpRetriever`."""

    def close(self) -> None:
        """Stop serving and release the port; safe to call more than once."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> RetrievalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_retriever(
    retriever: Retriever, *, host: str = "127.0.0.1", port: int = 0, max_k: int = 100
) -> RetrievalServer:
    """Serve ``retriever`` with the JSON protocol above, in a background thread.

    Args:
        retriever: What answers the searches.
        host: Interface to bind; the default accepts local connections only.
        port: TCP port; 0 picks a free one (read it from ``server.url``).
        max_k: Largest ``k`` accepted.

    Returns:
        The running server (its ``url`` is the endpoint).
    """

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
            try:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"null")
                query, k = _check_request(request, max_k)
            except ValueError as exc:
                self._reply(400, {"error": str(exc)})
                return
            try:
                hits = retriever.search(query, k)
            except Exception as exc:  # noqa: BLE001 - a failed search is the client's error
                self._reply(500, {"error": f"{type(exc).__name__}: {exc}"})
                return
            self._reply(200, {"hits": [hit.to_dict() for hit in hits]})

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
            pass  # no access log on stderr

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    # A short poll interval so that close() returns quickly (serve_forever checks for shutdown
    # once per interval).
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="retrieval-server",
        daemon=True,
    )
    thread.start()
    return RetrievalServer(server, thread)


def _check_request(request: Any, max_k: int) -> tuple[str, int]:
    if not isinstance(request, dict):
        raise ValueError('the request must be a JSON object {"query": str, "k": int}')
    query, k = request.get("query"), request.get("k", 5)
    if not isinstance(query, str):
        raise ValueError('"query" must be a string')
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= max_k:
        raise ValueError(f'"k" must be an integer from 1 to {max_k}')
    return query, k
