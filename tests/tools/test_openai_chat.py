"""OpenAIChatClient: argument checks, retries against a closed port, and a real llama.cpp server.

The server tests use the ``llama_server`` fixture (tests/llama_server.py): they skip when
llama-cpp-python is not installed.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

pytest.importorskip("openai")

from tests.llama_server import PeakInFlight  # noqa: E402
from turngym.tools.openai_chat import (  # noqa: E402 - after the importorskip
    OpenAIChatClient,
    RetryPolicy,
    ServerResponseError,
    ServerUnreachableError,
    check_chat_messages,
    normalize_base_url,
)


def _closed_port() -> int:
    """A port nothing listens on (bound then released, so connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- without a server ----------------------------------------------------------------------


def test_base_url_gets_v1_when_it_has_no_path_and_bad_urls_are_refused() -> None:
    assert normalize_base_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert normalize_base_url("http://127.0.0.1:8000/v1/") == "http://127.0.0.1:8000/v1"
    assert normalize_base_url("https://api.example.com/openai/v1") == (
        "https://api.example.com/openai/v1"
    )
    with pytest.raises(ValueError, match="http://127.0.0.1:8000/v1"):
        normalize_base_url("127.0.0.1:8000")


def test_malformed_messages_are_refused_with_what_was_wrong() -> None:
    with pytest.raises(ValueError, match="empty"):
        check_chat_messages([])
    with pytest.raises(ValueError, match=r"messages\[1\]\['role'\].*'robot'"):
        check_chat_messages([{"role": "user", "content": "hi"}, {"role": "robot", "content": "x"}])
    with pytest.raises(TypeError, match=r"messages\[0\]\['content'\] must be a string"):
        check_chat_messages([{"role": "user", "content": 3}])
    with pytest.raises(TypeError, match="list of"):
        check_chat_messages("hello")
    assert check_chat_messages([{"role": "user", "content": "hi", "name": "x"}]) == [
        {"role": "user", "content": "hi"}
    ]


def test_bad_client_arguments_are_refused() -> None:
    url = "http://127.0.0.1:9/v1"
    with pytest.raises(ValueError, match="temperature"):
        OpenAIChatClient(url, "m", temperature=-1)
    with pytest.raises(ValueError, match="max_tokens"):
        OpenAIChatClient(url, "m", max_tokens=0)
    with pytest.raises(ValueError, match="max_concurrency"):
        OpenAIChatClient(url, "m", max_concurrency=0)
    with pytest.raises(ValueError, match="model"):
        OpenAIChatClient(url, "")
    with pytest.raises(TypeError, match="stop"):
        OpenAIChatClient(url, "m", stop="\n")


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(max_retries=5, backoff_s=0.5, max_backoff_s=3.0, jitter=0.0)
    assert [policy.delay(i) for i in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


def test_unreachable_server_fails_fast_naming_the_url_and_how_to_start_one() -> None:
    port = _closed_port()
    waits: list[float] = []
    client = OpenAIChatClient(
        f"http://127.0.0.1:{port}/v1", "m", timeout_s=2, max_retries=2, backoff_s=0.05
    )
    client.connection._sleep = waits.append  # record the backoff instead of sleeping
    t0 = time.monotonic()
    with pytest.raises(ServerUnreachableError) as info:
        client([{"role": "user", "content": "hi"}])
    assert time.monotonic() - t0 < 5
    message = str(info.value)
    assert f"http://127.0.0.1:{port}/v1" in message
    assert "3 attempts" in message
    assert "python -m llama_cpp.server" in message
    assert client.stats == {"requests": 3, "retries": 2, "failed": 1}
    assert len(waits) == 2 and waits[1] > waits[0]  # exponential backoff between attempts


# ---- against a real llama-cpp-python server ------------------------------------------------


def test_chat_round_trip_is_greedy_and_repeatable(llama_server) -> None:
    partner = OpenAIChatClient(llama_server.base_url, llama_server.model, max_tokens=16)
    messages = [{"role": "user", "content": "Reply with the word 'apple'."}]
    first = partner(messages)
    assert isinstance(first, str) and first.strip()
    assert partner(messages) == first
    assert partner.stats["retries"] == 0


def test_empty_reply_is_an_error_naming_what_came_back(llama_server) -> None:
    messages = [{"role": "user", "content": "Reply with the word 'apple'."}]
    reply = OpenAIChatClient(llama_server.base_url, llama_server.model, max_tokens=8)(messages)
    # Stopping on the reply's own first character makes the real server answer with nothing.
    stopper = OpenAIChatClient(
        llama_server.base_url, llama_server.model, max_tokens=8, stop=[reply[0]]
    )
    with pytest.raises(ServerResponseError, match="empty reply.*content=''"):
        stopper(messages)
    stopper.allow_empty = True
    assert stopper(messages) == ""


def test_wrong_api_path_is_a_404_with_a_hint(llama_server) -> None:
    root = llama_server.base_url.rsplit("/v1", 1)[0]
    client = OpenAIChatClient(root + "/nope", llama_server.model, max_retries=3)
    with pytest.raises(ServerResponseError, match="HTTP 404.*API root") as info:
        client([{"role": "user", "content": "hi"}])
    assert info.value.status_code == 404
    assert client.stats["retries"] == 0  # a 4xx is not retried


def test_concurrency_limit_bounds_requests_in_flight(llama_server) -> None:
    hooks = PeakInFlight()
    partner = OpenAIChatClient(
        llama_server.base_url,
        llama_server.model,
        max_tokens=4,
        max_concurrency=2,
        http_client=hooks.client(),
    )
    threads = [
        threading.Thread(target=partner, args=([{"role": "user", "content": f"Count to {i}."}],))
        for i in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert partner.stats["requests"] == 6 and partner.stats["failed"] == 0
    assert hooks.peak == 2  # two at once (the limit is reached), never more
